// What this is for: the console's operations views (issue 19) in headless Chromium
// against a real relais server: a supervisor's team page (invite, the enrolment
// link, disable, the accounts table) and audit view (filter, entries), both axe
// clean; the invitee's enrolment page, whose QR code is decoded back (jsQR) to the
// otpauth:// URI the page names, then a login with the new password and TOTP;
// supervision (watch, whisper) seen from the holder's console.
//
// No sleeps: every wait is for a selector, a response or a function of the page.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { addIntervenor, artifactsDir, freshDataDir, launch, startServer } from './lib/server.mjs';
import { enableTotp, openYouth, totpAtStep, totpNow, totpStep } from './lib/console.mjs';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const jsqrPath = require.resolve('jsqr/dist/jsQR.js');

const PASSWORD = 'un mot de passe assez long';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function serverWith(people) {
  const dataDir = await freshDataDir();
  const secrets = {};
  for (const person of people) {
    await addIntervenor(dataDir, { password: PASSWORD, ...person });
    secrets[person.login] = await enableTotp(dataDir, person.login);
  }
  const server = await startServer({ dataDir, env: { RELAIS_LIMITS__SESSIONS_PER_MINUTE: '200' } });
  return {
    server,
    secrets,
    async dispose() {
      await server.dispose();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A page in its own context; requests elsewhere are refused and counted. */
async function openPage(server, path, { bypassCSP = false } = {}) {
  const context = await browser.newContext({ locale: 'fr-CA', bypassCSP, reducedMotion: 'reduce', serviceWorkers: 'block', viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(15_000);
  const watch = { outside: [], pageErrors: [] };
  const origin = new URL(server.url).origin;
  await context.route((url) => url.origin !== origin, async (route) => {
    watch.outside.push(route.request().url());
    await route.abort();
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => watch.pageErrors.push(String(error)));
  await page.goto(`${server.url}${path}`);
  return { context, page, watch };
}

async function logIn(page, login, code, password = PASSWORD) {
  await page.locator('#login-form').waitFor();
  await page.fill('#username', login);
  await page.fill('#password', password);
  await page.fill('#totp', code);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/login')),
    page.click('#login-submit'),
  ]);
  assert.equal(response.status(), 200, `login of ${login}`);
  await page.locator('#console-view').waitFor();
  await page.locator('#roster:not(:empty)').waitFor();
}

async function axeFindings(page) {
  await page.addScriptTag({ path: axePath });
  const results = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
  }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Draws the page's QR SVG on a canvas and decodes it with jsQR. */
async function decodeQr(page) {
  await page.addScriptTag({ path: jsqrPath });
  return page.evaluate(async () => {
    const svg = document.querySelector('#enrol-qr');
    const text = new XMLSerializer().serializeToString(svg);
    const image = new Image();
    image.src = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = 400;
    canvas.height = 400;
    const context = canvas.getContext('2d');
    context.fillStyle = '#fff';
    context.fillRect(0, 0, 400, 400);
    context.drawImage(image, 0, 0, 400, 400);
    const data = context.getImageData(0, 0, 400, 400);
    const found = window.jsQR(data.data, 400, 400);
    return found ? found.data : null;
  });
}

describe('operations views', () => {
  test('a supervisor invites, the invitee enrols with the QR code and logs in, the team and audit views are axe clean', { timeout: 120_000 }, async () => {
    const { server, secrets, dispose } = await serverWith([{ login: 'alex', name: 'Alex Gagnon', role: 'supervisor' }]);
    try {
      const { context, page, watch } = await openPage(server, '/intervenants', { bypassCSP: true });
      await logIn(page, 'alex', totpNow(secrets.alex));
      await page.click('#view-staff');
      await page.locator('#staff-view:not([hidden]) table').waitFor();
      assert.equal(await page.isHidden('#conversations-view'), true);
      assert.match(await page.textContent('#staff-accounts'), /alex/);

      await page.fill('#invite-login', 'nour');
      await page.fill('#invite-name', 'Nour Tremblay');
      await page.click('#invite-form button[type="submit"]');
      const link = await page.locator('#staff-link-url').inputValue();
      assert.match(link, /\/intervenants#enrol=[A-Za-z0-9_-]+$/);
      await page.locator('#staff-pending li', { hasText: 'nour' }).waitFor();
      await mkdir(artifactsDir, { recursive: true });
      await page.screenshot({ path: join(artifactsDir, 'console-staff.png'), fullPage: true });
      assert.deepEqual(await axeFindings(page), [], 'the team view');

      // The invitee's page: the QR code reads back as the URI, the key is the same.
      const invitee = await openPage(server, new URL(link).pathname + new URL(link).hash, { bypassCSP: true });
      await invitee.page.locator('#enrol-qr').waitFor();
      assert.equal(await invitee.page.isHidden('#login-view'), true);
      const uri = await invitee.page.getAttribute('#enrol-uri', 'href');
      assert.match(uri, /^otpauth:\/\/totp\/relais:nour\?secret=/);
      const secret = (await invitee.page.textContent('#enrol-secret')).replace(/\s/g, '');
      assert.equal(new URL(uri).searchParams.get('secret'), secret);
      assert.equal(await decodeQr(invitee.page), uri, 'the QR code is the URI');
      await invitee.page.screenshot({ path: join(artifactsDir, 'console-enrol.png'), fullPage: true });
      assert.deepEqual(await axeFindings(invitee.page), [], 'the enrolment page');

      // Two different passwords are caught on the page; then the real enrolment.
      await invitee.page.fill('#enrol-password', 'un nouveau mot de passe');
      await invitee.page.fill('#enrol-password-again', 'un autre mot de passe!');
      await invitee.page.fill('#enrol-code', totpNow(secret));
      await invitee.page.click('#enrol-form button[type="submit"]');
      await invitee.page.locator('#enrol-error:not([hidden])').waitFor();
      await invitee.page.fill('#enrol-password-again', 'un nouveau mot de passe');
      await invitee.page.click('#enrol-form button[type="submit"]');
      await invitee.page.locator('#enrol-done').waitFor();
      await invitee.page.click('#enrol-go');
      assert.equal(await invitee.page.inputValue('#username'), 'nour');
      await logIn(invitee.page, 'nour', totpAtStep(secret, totpStep() + 1), 'un nouveau mot de passe');
      assert.equal(await invitee.page.isHidden('#view-staff'), true, 'no team view for an intervenor');

      // The audit view lists what happened; filtered by action.
      await page.click('#view-audit');
      await page.locator('#audit-entries table').waitFor();
      const trail = await page.textContent('#audit-entries');
      for (const action of ['login', 'account_invite', 'account_enrol']) assert.match(trail, new RegExp(action));
      await page.selectOption('#audit-action', 'account_enrol');
      await Promise.all([
        page.waitForResponse((r) => r.url().includes('/api/audit?') && r.url().includes('action=account_enrol')),
        page.click('#audit-form button[type="submit"]'),
      ]);
      await page.waitForFunction(() => document.querySelectorAll('#audit-entries tbody tr').length === 1);
      await page.screenshot({ path: join(artifactsDir, 'console-audit.png'), fullPage: true });
      assert.deepEqual(await axeFindings(page), [], 'the audit view');

      // Disabling closes the invitee's console: back to the login form.
      await page.click('#view-staff');
      page.once('dialog', (dialog) => dialog.accept());
      await page.locator('#staff-accounts tr', { hasText: 'nour' }).getByRole('button', { name: 'Désactiver' }).click();
      await invitee.page.locator('#login-form').waitFor();
      await page.locator('#staff-accounts tr', { hasText: 'Désactivé' }).waitFor();

      assert.deepEqual(watch.outside, [], 'no request leaves the server');
      assert.deepEqual(invitee.watch.outside, []);
      assert.deepEqual([...watch.pageErrors, ...invitee.watch.pageErrors], []);
      await invitee.context.close();
      await context.close();
    } finally {
      await dispose();
    }
  });

  test('a supervisor watches a conversation and whispers; the holder sees both, the youth neither', { timeout: 120_000 }, async () => {
    const { server, secrets, dispose } = await serverWith([
      { login: 'alex', name: 'Alex Gagnon', role: 'supervisor' },
      { login: 'sam', name: 'Sam Roy' },
    ]);
    try {
      const holder = await openPage(server, '/intervenants');
      await logIn(holder.page, 'sam', totpNow(secrets.sam));
      await holder.page.click('#on-call');
      await holder.page.locator('#on-call[aria-checked="true"]').waitFor();
      const youth = await openYouth(browser, server);
      await youth.askForPerson();
      await holder.page.locator('#queue-waiting li').getByRole('button', { name: /Prendre/ }).click();
      await youth.waitFor('handoff', { status: 'connected' });
      await youth.say('bonjour');

      const supervisor = await openPage(server, '/intervenants', { bypassCSP: true });
      await logIn(supervisor.page, 'alex', totpNow(secrets.alex));
      await supervisor.page.click('#view-watch');
      await supervisor.page.locator('#watch-list li', { hasText: 'Sam Roy' }).getByRole('button', { name: 'Observer' }).click();
      await supervisor.page.locator('.watch-panel li', { hasText: 'bonjour' }).waitFor();
      await holder.page.locator('.watched-notice', { hasText: 'Alex Gagnon' }).waitFor();

      await youth.say('tu es là ?');
      await supervisor.page.locator('.watch-panel li', { hasText: 'tu es là ?' }).waitFor();
      await supervisor.page.fill('.whisper-form textarea', 'MURMURE-7Q : demande-lui si elle est en sécurité.');
      await supervisor.page.click('.whisper-form button');
      await holder.page.locator('.whispers li', { hasText: 'MURMURE-7Q : demande-lui si elle est en sécurité.' }).waitFor();
      assert.deepEqual(await axeFindings(supervisor.page), [], 'the supervision view');

      // The youth's next frame is the holder's reply: nothing of the whisper.
      await holder.page.fill('.conversation:not([hidden]) .reply-text', 'Je suis là.');
      await holder.page.press('.conversation:not([hidden]) .reply-text', 'Enter');
      const reply = await youth.waitFor('agent');
      assert.equal(reply.text, 'Je suis là.');
      assert.ok(!JSON.stringify(await youth.frames()).includes('MURMURE-7Q'), 'the youth got no whisper');
      await supervisor.page.locator('.watch-panel li', { hasText: 'Je suis là.' }).waitFor();
      await holder.context.close();
      await supervisor.context.close();
    } finally {
      await dispose();
    }
  });
});
