// What this is for: the intervenors' console (web/console.html at /intervenants) in
// headless Chromium against a real relais server. Accounts are made and given a TOTP
// secret with the command line before the server starts; the tests compute the codes
// themselves (RFC 6238). Youths are raw `/chat` sockets opened from another browser
// page. Covered: a whole shift (login with a code, on call, a request appears, claim,
// transcript, canned reply edited then sent, close with an outcome); hostile youth text
// shown as text with no CSP violation; wrong and replayed codes refused; two consoles
// seeing an urgent request, with sound and title, one taking it;
// several conversations with unread markers; reconnection that shows what was missed;
// a dead token sending the page back to login; supervisors reassigning; accessibility
// (axe) and screenshots kept in artifacts/.
//
// No sleeps: every wait is for a selector, a frame, a response or an event.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { addIntervenor, artifactsDir, freshDataDir, launch, startServer } from './lib/server.mjs';
import { enableTotp, openYouth, totpAtStep, totpNow, totpStep } from './lib/console.mjs';
import { axeFindings } from './lib/axe.mjs';
import { assertStayedHome, watchedContext } from './lib/watch.mjs';

const PASSWORD = 'un mot de passe assez long';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// ------------------------------------------------------------------ helpers

/**
 * A fresh server whose accounts exist before it starts, each with TOTP turned on.
 * `people` is a list of {login, name, role?}; returns the server, the secrets by
 * login, and `dispose()`.
 */
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

/**
 * Opens the console in a fresh laptop-sized context and watches it (lib/watch.mjs:
 * requests to any other host refused, console errors, page errors, CSP violations,
 * and every tone the page starts counted in `window.__tones`).
 */
async function openConsole(server, { colorScheme = 'dark', locale = 'fr-CA', bypassCSP = false, viewport } = {}) {
  const watched = await watchedContext(browser, server, { locale, colorScheme, bypassCSP, viewport: viewport ?? { width: 1280, height: 800 } });
  await watched.page.goto(`${server.url}/intervenants`);
  await watched.page.locator('#login-form').waitFor();
  return watched;
}

/** Fills the login form and sends it; resolves with the status of the login call. */
async function submitLogin(page, { login, code, password = PASSWORD }) {
  await page.fill('#username', login);
  await page.fill('#password', password);
  await page.fill('#totp', code ?? '');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/login')),
    page.click('#login-submit'),
  ]);
  return response.status();
}

/** Logs in and waits until the console socket is up (its first roster frame is shown). */
async function logIn(page, { login, secret }) {
  const status = await submitLogin(page, { login, code: totpNow(secret) });
  assert.equal(status, 200, `login of ${login}`);
  await page.locator('#console-view').waitFor();
  await page.locator('#roster:not(:empty)').waitFor();
}

/** Turns the on-call switch on and waits until the roster names this person. */
async function goOnCall(page, name) {
  await page.click('#on-call');
  await page.locator('#on-call[aria-checked="true"]').waitFor();
  await page.waitForFunction((who) => document.querySelector('#roster').textContent.includes(who), name);
}

/** A code that is none of the codes the server accepts now (the window is one step each side). */
function wrongCode(secret) {
  const step = totpStep();
  const valid = new Set([-1, 0, 1, 2].map((d) => totpAtStep(secret, step + d)));
  for (let n = 0; ; n += 1) {
    const candidate = String((123456 + n * 7919) % 1_000_000).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

/** The page's session token (to act on the server from outside, as another tab would). */
function tokenOf(page) {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem('relais.console.session')).token);
}

/** The texts of the transcript entries of the open conversation, by speaker. */
function shownTexts(page, from) {
  return page.$$eval(`.conversation:not([hidden]) .entry-${from}:not(.is-pending) .entry-text`, (nodes) => nodes.map((node) => node.textContent));
}

/** The queue item of the one request in a list ('urgent', 'waiting' or 'taken'). */
function itemIn(page, list) {
  return page.locator(`#queue-${list} .queue-item`);
}

// ------------------------------------------------------------------ a whole shift

describe('a shift', () => {
  test('log in with a code, go on call, claim, read the transcript, reply with an edited canned reply, close', { timeout: 90_000 }, async () => {
    const { server, secrets, dispose } = await serverWith([{ login: 'alice', name: 'Alice Tremblay' }]);
    try {
      const { context, page, watch } = await openConsole(server);

      // Login with the keyboard only: the username field has focus at load.
      await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'username');
      await page.keyboard.type('alice');
      await page.keyboard.press('Tab');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Tab');
      await page.keyboard.type(totpNow(secrets.alice));
      const [login] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/login')),
        page.keyboard.press('Enter'),
      ]);
      assert.equal(login.status(), 200);
      await page.locator('#console-view').waitFor();
      assert.match(await page.textContent('#who'), /Alice Tremblay/);
      await page.locator('#roster:not(:empty)').waitFor();
      assert.match(await page.textContent('#roster'), /Personne/, 'nobody is on call yet');
      assert.equal(await page.isVisible('#off-call-hint'), true);

      // The on-call switch has focus after login; Space turns it on, and the focus ring shows.
      await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'on-call');
      assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'none', 'visible focus');
      await page.keyboard.press('Space');
      await page.locator('#on-call[aria-checked="true"]').waitFor();
      await page.waitForFunction(() => document.querySelector('#roster').textContent.includes('Alice Tremblay'));
      assert.equal(await page.isVisible('#off-call-hint'), false);

      // A youth asks for a person: waiting (someone is on call), and it shows in the queue.
      const youth = await openYouth(browser, server);
      const waiting = await youth.askForPerson();
      assert.equal(waiting.status, 'waiting');
      assert.equal(waiting.position, 1);
      const item = itemIn(page, 'waiting');
      await item.waitFor();
      const itemText = await item.textContent();
      assert.match(itemText, /Général/);
      assert.match(itemText, /FR/);
      assert.match(itemText, /n° 1/);
      assert.match(itemText, /attend depuis \d+ s/);
      // The waiting time ticks.
      const firstWait = await item.locator('.item-wait').textContent();
      await page.waitForFunction((before) => document.querySelector('#queue-waiting .item-wait').textContent !== before, firstWait);

      // Claim: the tab opens with the transcript of the flow, the youth hears who took it.
      await item.getByRole('button', { name: /Prendre/ }).click();
      await page.locator('.conversation:not([hidden])').waitFor();
      const connected = await youth.waitFor('handoff', { status: 'connected' });
      assert.equal(connected.name, 'Alice Tremblay');
      const botSaid = (await youth.frames()).filter((f) => f.type === 'bot').map((f) => f.text);
      const shownBot = await shownTexts(page, 'bot');
      assert.ok(shownBot.length > 0, 'the transcript shows the flow');
      assert.deepEqual(shownBot, botSaid.slice(0, shownBot.length), 'what the bot said, in order');
      assert.deepEqual(await shownTexts(page, 'youth'), ['Parler à une personne'], 'what the youth chose');
      await page.locator('.conversation:not([hidden]) .divider-handover').waitFor();
      await page.waitForFunction(() => document.activeElement && document.activeElement.classList.contains('reply-text'));
      assert.equal(await itemIn(page, 'taken').count(), 1);
      assert.match(await itemIn(page, 'taken').textContent(), /Vous la tenez/);

      // Live: the youth writes, the console shows it.
      await youth.say('Bonjour, j’ai besoin d’aide.');
      await page.waitForFunction(() => [...document.querySelectorAll('.entry-youth .entry-text')].some((n) => n.textContent === 'Bonjour, j’ai besoin d’aide.'));

      // A canned reply goes into the box, is edited there, then sent.
      await page.click('.conversation:not([hidden]) .canned summary');
      await page.locator('.conversation:not([hidden]) .canned-item', { hasText: 'Accueil' }).click();
      const box = page.locator('.conversation:not([hidden]) .reply-text');
      const inserted = await box.inputValue();
      assert.match(inserted, /^Bonjour, je suis là pour t'écouter/);
      await page.waitForFunction(() => document.activeElement && document.activeElement.classList.contains('reply-text'));
      await page.keyboard.type(' Je m’appelle Alice.');
      const sent = `${inserted} Je m’appelle Alice.`;
      await page.keyboard.press('Enter');
      const agent = await youth.waitFor('agent', { text: sent });
      assert.equal(agent.name, 'Alice Tremblay', 'the display name, never the login');
      await page.waitForFunction((text) => [...document.querySelectorAll('.entry-agent:not(.is-pending) .entry-text')].some((n) => n.textContent === text), sent);
      assert.equal(await box.inputValue(), '');

      // Close with an outcome: the youth hears `ended`, the tab goes, the queue is empty.
      await page.click('.conversation:not([hidden]) .end');
      await page.getByRole('radio', { name: 'Orientée vers une ressource' }).check();
      const [closing] = await Promise.all([
        page.waitForResponse((r) => /\/api\/handoffs\/\d+\/close$/.test(r.url())),
        page.getByRole('button', { name: 'Fermer la conversation' }).click(),
      ]);
      assert.equal(closing.status(), 204);
      assert.deepEqual(JSON.parse(closing.request().postData()), { outcome: 'referred' });
      const ended = await youth.waitFor('handoff', { status: 'ended' });
      assert.ok(ended.resources.length > 0);
      await page.locator('#nothing-open').waitFor();
      assert.equal(await page.locator('.conversation').count(), 0);
      await page.locator('#queue-empty').waitFor();

      await assertStayedHome(page, watch, server);
      await youth.close();
      await context.close();
    } finally {
      await dispose();
    }
  });
});

// ------------------------------------------------------------------ hostile text

describe('youth text is only text', () => {
  test('HTML, script, javascript: links and SVG from a youth show as typed and run nothing', { timeout: 90_000 }, async () => {
    const { server, secrets, dispose } = await serverWith([{ login: 'erin', name: 'Erin' }]);
    const payloads = [
      '<img src=x onerror="window.__pwned=1">',
      '<script>window.__pwned=1</script>',
      '<a href="javascript:window.__pwned=1">clique ici</a> javascript:window.__pwned=1',
      '<svg onload="window.__pwned=1"><circle r="5"/></svg>',
      '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    ];
    try {
      const { context, page, watch } = await openConsole(server);
      await logIn(page, { login: 'erin', secret: secrets.erin });
      await goOnCall(page, 'Erin');

      // One payload before the request, so it travels in the transcript too.
      const youth = await openYouth(browser, server);
      await youth.waitFor('bot');
      await youth.say(payloads[0]);
      await youth.askForPerson();
      await itemIn(page, 'waiting').getByRole('button', { name: /Prendre/ }).click();
      await page.locator('.conversation:not([hidden])').waitFor();
      await youth.waitFor('handoff', { status: 'connected' });
      assert.ok((await shownTexts(page, 'youth')).includes(payloads[0]), 'the transcript shows the text as typed');

      // The others live, as messages.
      for (const text of payloads.slice(1)) await youth.say(text);
      await page.waitForFunction((last) => [...document.querySelectorAll('.entry-youth .entry-text')].some((n) => n.textContent === last), payloads.at(-1));
      const shown = await shownTexts(page, 'youth');
      for (const text of payloads) assert.ok(shown.includes(text), `shown as text: ${text}`);

      // The intervenor's own words are text too.
      await page.fill('.conversation:not([hidden]) .reply-text', '<b>en gras?</b>');
      await page.press('.conversation:not([hidden]) .reply-text', 'Enter');
      await youth.waitFor('agent', { text: '<b>en gras?</b>' });
      await page.waitForFunction(() => [...document.querySelectorAll('.entry-agent:not(.is-pending) .entry-text')].some((n) => n.textContent === '<b>en gras?</b>'));

      // Nothing became an element; hovering and clicking the text does nothing either.
      const elements = await page.$$eval('.transcript img, .transcript script, .transcript svg, .transcript a, .transcript iframe, .transcript b', (nodes) => nodes.length);
      assert.equal(elements, 0, 'no element was made from received text');
      const last = page.locator('.entry-youth .entry-text', { hasText: 'clique ici' });
      await last.hover();
      await last.click();
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
      assert.equal(await page.evaluate(() => document.querySelectorAll('[onerror], [onload]').length), 0);
      assert.match(await page.title(), /Console/);

      // The youth leaves (quick exit): the console says so and the reply box goes.
      await youth.send({ type: 'forget' });
      await page.waitForFunction(() => /quitté/.test(document.querySelector('.conversation:not([hidden]) .conv-notice').textContent));
      assert.equal(await page.isVisible('.conversation:not([hidden]) .reply'), false);

      await assertStayedHome(page, watch, server);
      await youth.close();
      await context.close();
    } finally {
      await dispose();
    }
  });
});

// ------------------------------------------------------------------ two-factor login

describe('two-factor login', () => {
  test('a wrong code, a missing code and a replayed code are refused', { timeout: 60_000 }, async () => {
    const { server, secrets, dispose } = await serverWith([{ login: 'dave', name: 'Dave' }]);
    try {
      const { context, page, watch } = await openConsole(server);
      const error = page.locator('#login-error');

      assert.equal(await submitLogin(page, { login: 'dave', code: wrongCode(secrets.dave) }), 401);
      await error.waitFor();
      assert.match(await error.textContent(), /Connexion refusée/);
      assert.equal(await page.isVisible('#console-view'), false);

      assert.equal(await submitLogin(page, { login: 'dave', code: '' }), 401, 'the account needs a code');
      await error.waitFor();
      assert.equal(await page.isVisible('#console-view'), false);

      // The right code works once…
      const code = totpNow(secrets.dave);
      assert.equal(await submitLogin(page, { login: 'dave', code }), 200);
      await page.locator('#console-view').waitFor();
      await page.locator('#roster:not(:empty)').waitFor();
      await page.click('#logout');
      await page.locator('#login-view').waitFor();
      assert.match(await page.textContent('#login-notice'), /déconnecté/);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('relais.console.session')), null);

      // …and the same code right after is refused.
      assert.equal(await submitLogin(page, { login: 'dave', code }), 401, 'a replayed code');
      await error.waitFor();
      assert.match(await error.textContent(), /Connexion refusée/);
      assert.equal(await page.isVisible('#console-view'), false);
      assert.equal(await page.inputValue('#totp'), '', 'the used code is cleared');

      await assertStayedHome(page, watch, server);
      await context.close();
    } finally {
      await dispose();
    }
  });
});

// ------------------------------------------------------------------ two consoles

describe('two consoles', () => {
  test('an urgent request shows in both, with sound and title; one takes it, the other sees it taken', { timeout: 90_000 }, async () => {
    const { server, secrets, dispose } = await serverWith([
      { login: 'bob', name: 'Bob' },
      { login: 'carol', name: 'Carol' },
    ]);
    try {
      const bob = await openConsole(server);
      const carol = await openConsole(server, { colorScheme: 'light' });
      await logIn(bob.page, { login: 'bob', secret: secrets.bob });
      await logIn(carol.page, { login: 'carol', secret: secrets.carol });
      await goOnCall(bob.page, 'Bob');
      await goOnCall(carol.page, 'Carol');
      for (const { page } of [bob, carol]) {
        await page.waitForFunction(() => /Bob/.test(document.querySelector('#roster').textContent) && /Carol/.test(document.querySelector('#roster').textContent));
      }
      // Carol mutes her sound; Bob keeps his.
      await carol.page.click('#mute');
      await carol.page.locator('#mute[aria-pressed="true"]').waitFor();
      const tonesBefore = await bob.page.evaluate(() => window.__tones);

      const youth = await openYouth(browser, server);
      await youth.waitFor('bot');
      await youth.say('je veux mourir');
      // Both consoles show it (how fast is measured by relais-bench, not asserted here:
      // a timed check fails on a loaded machine and proves nothing on a quiet one).
      await Promise.all([bob, carol].map(({ page }) => itemIn(page, 'urgent').waitFor()));
      const urgent = await youth.waitFor('handoff');
      assert.equal(urgent.urgent, true);
      assert.equal(urgent.status, 'waiting');

      for (const { page } of [bob, carol]) {
        assert.match(await itemIn(page, 'urgent').textContent(), /Urgent/i);
        assert.match(await page.title(), /URGENT/);
        assert.match(await page.textContent('#alerter'), /urgente/);
      }
      await bob.page.waitForFunction((n) => window.__tones > n, tonesBefore);
      assert.equal(await carol.page.evaluate(() => window.__tones), 0, 'muted: no sound');

      // Bob takes it.
      await itemIn(bob.page, 'urgent').getByRole('button', { name: /Prendre/ }).click();
      await bob.page.locator('.conversation:not([hidden]).is-urgent').waitFor();
      assert.equal((await youth.waitFor('handoff', { status: 'connected' })).name, 'Bob');

      // Carol sees it taken by Bob, with nothing to take, and the urgent title is gone.
      const taken = itemIn(carol.page, 'taken');
      await taken.waitFor();
      assert.match(await taken.textContent(), /Prise par Bob/);
      assert.equal(await taken.getByRole('button', { name: /Prendre/ }).count(), 0);
      assert.equal(await itemIn(carol.page, 'urgent').count(), 0);
      await carol.page.waitForFunction(() => !document.title.includes('URGENT'));
      assert.equal(await carol.page.locator('.conversation').count(), 0);

      for (const { page, watch } of [bob, carol]) await assertStayedHome(page, watch, server);
      await youth.close();
      await bob.context.close();
      await carol.context.close();
    } finally {
      await dispose();
    }
  });
});

// ------------------------------------------------------------------ several conversations, drops

describe('several conversations and lost connections', () => {
  test('two conversations at once with unread markers; after a drop the console reconnects and shows what it missed', { timeout: 120_000 }, async () => {
    const { server, secrets, dispose } = await serverWith([{ login: 'frank', name: 'Frank' }]);
    try {
      const { context, page, watch } = await openConsole(server);
      // The console's socket passes through the test, which can cut it and refuse new ones.
      const gate = { open: true, routes: [] };
      await page.routeWebSocket(/\/console$/, (ws) => {
        if (!gate.open) {
          ws.close({ code: 1011, reason: 'refused by the test' });
          return;
        }
        ws.connectToServer();
        gate.routes.push(ws);
      });
      await logIn(page, { login: 'frank', secret: secrets.frank });
      await goOnCall(page, 'Frank');

      const first = await openYouth(browser, server);
      await first.askForPerson();
      await itemIn(page, 'waiting').waitFor();
      await itemIn(page, 'waiting').getByRole('button', { name: /Prendre/ }).click();
      await first.waitFor('handoff', { status: 'connected' });
      const second = await openYouth(browser, server);
      await second.askForPerson();
      await itemIn(page, 'waiting').waitFor();
      await itemIn(page, 'waiting').getByRole('button', { name: /Prendre/ }).click();
      await second.waitFor('handoff', { status: 'connected' });
      const tabs = page.getByRole('tab');
      await page.waitForFunction(() => document.querySelectorAll('[role="tab"]').length === 2);
      assert.equal(await tabs.nth(1).getAttribute('aria-selected'), 'true', 'the last one taken is open');

      // The first youth writes while the second conversation is open: an unread marker.
      await first.say('tu es là?');
      const firstTab = tabs.nth(0);
      await firstTab.locator('.unread').waitFor();
      assert.equal(await firstTab.locator('.unread').textContent(), '1');
      assert.match(await page.title(), /^\(1\)/);
      // The arrow keys move between tabs; opening it clears the marker.
      await tabs.nth(1).focus();
      await page.keyboard.press('ArrowLeft');
      await page.locator('[role="tab"][aria-selected="true"]').first().waitFor();
      assert.equal(await firstTab.getAttribute('aria-selected'), 'true');
      await page.waitForFunction(() => !document.querySelector('[role="tab"] .unread'));
      assert.ok(!(await page.title()).startsWith('('));
      assert.deepEqual((await shownTexts(page, 'youth')).slice(-1), ['tu es là?']);

      // The connection drops and new ones are refused for now.
      gate.open = false;
      for (const ws of gate.routes.splice(0)) await ws.close({ code: 1001, reason: 'dropped by the test' });
      await page.locator('#connection.is-problem').waitFor();
      assert.match(await page.textContent('#connection'), /Connexion perdue/);
      assert.match(await page.textContent('#connection'), /hors ligne/, 'on call but unreachable is said');

      // Meanwhile the youth writes; the server has it before the console comes back.
      await first.say('allo? je suis encore là');
      await first.settled();

      // Back: the console reconnects, claims its conversations again, shows what it missed.
      // "Try again now" (if the page is not already trying by itself).
      gate.open = true;
      await page.evaluate(() => {
        const retry = document.querySelector('#retry');
        if (!retry.hidden) retry.click();
      });
      await page.waitForFunction(() => /Reconnecté/.test(document.querySelector('#connection').textContent));
      assert.match(await page.textContent('#connection'), /1 message/);
      const missed = page.locator('.conversation:not([hidden]) .entry-youth.is-missed .entry-text');
      await missed.waitFor();
      assert.equal(await missed.textContent(), 'allo? je suis encore là');
      await page.locator('.conversation:not([hidden]) .divider-missed').waitFor();
      const texts = await shownTexts(page, 'youth');
      assert.equal(texts.filter((t) => t === 'allo? je suis encore là').length, 1, 'shown once');
      assert.equal(await page.getByRole('tab').count(), 2, 'both conversations kept');

      // Replies flow again.
      await page.fill('.conversation:not([hidden]) .reply-text', 'Oui, je suis là.');
      await page.press('.conversation:not([hidden]) .reply-text', 'Enter');
      await first.waitFor('agent', { text: 'Oui, je suis là.' });

      // A real server restart: the page finds the server again by itself.
      await server.restart();
      await page.locator('#connection.is-problem').waitFor();
      await first.resume();
      await second.resume();
      await page.waitForFunction(() => /Reconnecté/.test(document.querySelector('#connection').textContent), null, { timeout: 30_000 });
      await first.say('merci');
      await page.waitForFunction(() => [...document.querySelectorAll('.entry-youth .entry-text')].some((n) => n.textContent === 'merci'));
      assert.equal(await page.getByRole('tab').count(), 2);

      // A reload keeps the shift: the held conversations come back with their transcripts.
      await page.reload();
      await page.locator('#console-view').waitFor();
      await page.waitForFunction(() => document.querySelectorAll('[role="tab"]').length === 2);
      await page.waitForFunction(() => [...document.querySelectorAll('.entry-youth .entry-text')].some((n) => n.textContent === 'merci'));

      // Release the second one: back in the queue for anyone, the youth waits again.
      const secondId = await page.$$eval('.conversation', (panels) => panels.find(
        (panel) => ![...panel.querySelectorAll('.entry-youth .entry-text')].some((n) => n.textContent === 'merci'),
      ).dataset.id);
      await page.click(`#tab-${secondId}`);
      if (process.env.DEBUG_RELEASE) console.log('RELEASE', secondId, await page.$$eval('.conversation', (ps) => ps.map((p) => [p.dataset.id, p.hidden, p.className, p.querySelector('.release')?.hidden, p.querySelector('.release')?.disabled, p.querySelector('.notice')?.textContent])));
      const seen = await second.count();
      const [released] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith(`/api/handoffs/${secondId}/release`)),
        page.click(`#conversation-${secondId} .release`),
      ]);
      assert.equal(released.status(), 204);
      await second.waitFor('handoff', { status: 'waiting' }, { after: seen });
      await page.waitForFunction(() => document.querySelectorAll('[role="tab"]').length === 1);
      await itemIn(page, 'waiting').getByRole('button', { name: /Prendre/ }).waitFor();

      await assertStayedHome(page, watch, server);
      await first.close();
      await second.close();
      await context.close();
    } finally {
      await dispose();
    }
  });

  test('a dead token sends the page back to the login form, with nothing of the shift left', { timeout: 60_000 }, async () => {
    const { server, secrets, dispose } = await serverWith([{ login: 'henry', name: 'Henry' }]);
    try {
      const { context, page, watch } = await openConsole(server);
      await logIn(page, { login: 'henry', secret: secrets.henry });
      await goOnCall(page, 'Henry');
      const youth = await openYouth(browser, server);
      await youth.askForPerson();
      await itemIn(page, 'waiting').getByRole('button', { name: /Prendre/ }).click();
      await page.locator('.conversation:not([hidden])').waitFor();

      // The token dies elsewhere (as at expiry): the server closes the socket with 4001.
      const token = await tokenOf(page);
      const logout = await fetch(`${server.url}/api/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(logout.status, 204);
      await page.locator('#login-view').waitFor();
      assert.match(await page.textContent('#login-notice'), /expiré/);
      assert.equal(await page.locator('.conversation').count(), 0, 'no transcript left in the page');
      assert.equal(await page.locator('.queue-item').count(), 0);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('relais.console.session')), null);
      await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'username');

      await assertStayedHome(page, watch, server);
      await youth.close();
      await context.close();
    } finally {
      await dispose();
    }
  });
});

// ------------------------------------------------------------------ supervisors

describe('supervisors', () => {
  test('see every conversation and who holds it, and reassign one', { timeout: 90_000 }, async () => {
    const { server, secrets, dispose } = await serverWith([
      { login: 'ivy', name: 'Ivy' },
      { login: 'sam', name: 'Sam', role: 'supervisor' },
    ]);
    try {
      const ivy = await openConsole(server);
      const sam = await openConsole(server);
      await logIn(ivy.page, { login: 'ivy', secret: secrets.ivy });
      await logIn(sam.page, { login: 'sam', secret: secrets.sam });
      assert.match(await sam.page.textContent('#who'), /superviseur/);
      await goOnCall(ivy.page, 'Ivy');

      const youth = await openYouth(browser, server);
      await youth.askForPerson();
      await itemIn(ivy.page, 'waiting').getByRole('button', { name: /Prendre/ }).click();
      await youth.waitFor('handoff', { status: 'connected' });
      assert.equal(await ivy.page.locator('.reassign').count(), 0, 'not for intervenors');

      // The supervisor sees the conversation, its holder, and can give it to someone.
      const held = itemIn(sam.page, 'taken');
      await held.waitFor();
      assert.match(await sam.page.textContent('#taken-title'), /Toutes les conversations/);
      assert.match(await held.textContent(), /Prise par Ivy/);
      await held.getByRole('button', { name: /Réassigner/ }).click();
      const select = held.locator('select');
      await select.locator('option[value="sam"]').waitFor({ state: 'attached' });
      assert.equal(await select.locator('option[value="ivy"]').count(), 0, 'not to its holder');
      await select.selectOption('sam');
      await held.getByRole('button', { name: 'Donner', exact: true }).click();

      // Ivy is told; Sam holds it, with the transcript, and talks with the youth.
      await ivy.page.waitForFunction(() => /donnée à une autre personne/.test(document.querySelector('.conversation .conv-notice').textContent));
      assert.equal(await ivy.page.isVisible('.conversation .reply'), false);
      await sam.page.locator('.conversation:not([hidden])').waitFor();
      assert.ok((await shownTexts(sam.page, 'youth')).includes('Parler à une personne'));
      await youth.say('qui est là?');
      await sam.page.waitForFunction(() => [...document.querySelectorAll('.entry-youth .entry-text')].some((n) => n.textContent === 'qui est là?'));
      await sam.page.fill('.conversation:not([hidden]) .reply-text', 'Bonjour, je prends le relais.');
      await sam.page.press('.conversation:not([hidden]) .reply-text', 'Enter');
      assert.equal((await youth.waitFor('agent', { text: 'Bonjour, je prends le relais.' })).name, 'Sam');
      await ivy.page.click('.conversation .dismiss');
      await ivy.page.locator('#nothing-open').waitFor();

      for (const { page, watch } of [ivy, sam]) await assertStayedHome(page, watch, server);
      await youth.close();
      await ivy.context.close();
      await sam.context.close();
    } finally {
      await dispose();
    }
  });
});

// ------------------------------------------------------------------ look and accessibility

describe('look and accessibility', () => {

  test('a working console at 2 a.m.: screenshots, axe in both modes, both languages', { timeout: 120_000 }, async () => {
    const { server, secrets, dispose } = await serverWith([{ login: 'alex', name: 'Alex Gagnon' }]);
    try {
      // bypassCSP only here: axe is injected as a script the page's CSP would refuse.
      const { context, page } = await openConsole(server, { bypassCSP: true });
      await mkdir(artifactsDir, { recursive: true });
      await page.screenshot({ path: join(artifactsDir, 'console-login.png') });
      assert.deepEqual(await axeFindings(page), [], 'the login form');
      await logIn(page, { login: 'alex', secret: secrets.alex });
      await goOnCall(page, 'Alex Gagnon');

      // One conversation held, one urgent and one ordinary request waiting.
      const held = await openYouth(browser, server);
      await held.askForPerson();
      await itemIn(page, 'waiting').getByRole('button', { name: /Prendre/ }).click();
      await held.waitFor('handoff', { status: 'connected' });
      await held.say('Quelqu’un me demande des photos et menace de tout publier si je ne paie pas.');
      await page.fill('.conversation:not([hidden]) .reply-text', 'Merci de me l’écrire. Tu as bien fait. Ne paie pas : on va regarder ensemble quoi faire.');
      await page.press('.conversation:not([hidden]) .reply-text', 'Enter');
      await held.waitFor('agent');
      await held.say('ok… j’ai peur');
      const waiting = await openYouth(browser, server);
      await waiting.askForPerson();
      const urgent = await openYouth(browser, server);
      await urgent.waitFor('bot');
      await urgent.say('je veux mourir');
      await itemIn(page, 'urgent').waitFor();
      await itemIn(page, 'waiting').waitFor();
      await page.waitForFunction(() => [...document.querySelectorAll('.entry-youth .entry-text')].some((n) => n.textContent === 'ok… j’ai peur'));
      await page.click('.conversation:not([hidden]) .canned summary');
      await page.locator('.conversation:not([hidden]) .entry-agent:not(.is-pending)').waitFor();

      await page.screenshot({ path: join(artifactsDir, 'console.png') });
      assert.deepEqual(await axeFindings(page), [], 'working, dark');

      await page.emulateMedia({ colorScheme: 'light' });
      await page.screenshot({ path: join(artifactsDir, 'console-light.png') });
      assert.deepEqual(await axeFindings(page), [], 'working, light');

      // English: the page's words change, the youth's do not.
      await page.click('#lang');
      await page.locator('html[lang="en"]').waitFor();
      assert.equal(await page.textContent('#queue-title'), 'Queue');
      assert.match(await page.textContent('#on-call'), /On call/);
      assert.match(await itemIn(page, 'urgent').textContent(), /waiting for/);
      assert.ok((await shownTexts(page, 'youth')).includes('ok… j’ai peur'));
      assert.match(await page.textContent('.conversation:not([hidden]) .divider-handover'), /A person took over/);
      assert.deepEqual(await axeFindings(page), [], 'in English');
      await page.screenshot({ path: join(artifactsDir, 'console-en.png') });
      await page.click('#lang');
      await page.locator('html[lang="fr"]').waitFor();

      for (const youth of [held, waiting, urgent]) await youth.close();
      await context.close();
    } finally {
      await dispose();
    }
  });
});
