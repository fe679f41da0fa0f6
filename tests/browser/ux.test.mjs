// What this is for: the conversation as both people live it (issue 23), in headless
// Chromium on a phone profile (360×740, touch), against a real relais with a short
// holder grace (2 s) and requeue (4 s): a reload during a live conversation shows the
// youth's own lines back, in order, once; the intervenor's browser closed while holding
// a conversation → the youth is told, then the request is back in another console's
// queue, first; an on-screen keyboard (the viewport shrunk) leaves the message box in
// view when a message comes; 200 % text at 320 px scrolls nowhere sideways; the
// console at 360×740 claims, reads, replies and closes without sideways scroll; the
// topic on the queue card; unread badge and a chime on the reports view; typing both
// ways; the language switch asks first; axe-core in each state. Screenshots go to
// /work/wt/g-ux-shots/ when that folder's parent exists (outside the repository).
//
// No sleeps: every wait is for a selector, a function or an event.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { axeFindings } from './lib/axe.mjs';
import { addIntervenor, freshDataDir, launch, RelaisServer, repoRoot } from './lib/server.mjs';

const PASSWORD = 'un mot de passe assez long';
const PHONE = { width: 360, height: 740 };
const SHOTS = resolve(repoRoot, '../g-ux-shots');
const require = createRequire(import.meta.url);
// Evaluated through the DevTools protocol, so the page's CSP stays on.
const axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');

let browser;
/** The server of the test running now (each test has its own: no request left over). */
let server;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A fresh server with Sam and Kim, a 2 s holder grace and a 4 s requeue. */
async function serve() {
  const dataDir = await freshDataDir();
  await addIntervenor(dataDir, { login: 'sam', name: 'Sam', password: PASSWORD });
  await addIntervenor(dataDir, { login: 'kim', name: 'Kim', password: PASSWORD });
  server = new RelaisServer({
    dataDir,
    env: { RELAIS_HANDOFF__HOLDER_GRACE_SECS: '2', RELAIS_HANDOFF__HOLDER_REQUEUE_SECS: '4' },
  });
  server.ownsDataDir = true;
  await server.start();
}

// ------------------------------------------------------------------ helpers

async function phoneContext(extra = {}) {
  const context = await browser.newContext({
    viewport: PHONE,
    isMobile: true,
    hasTouch: true,
    locale: 'fr-CA',
    reducedMotion: 'reduce',
    serviceWorkers: 'block',
    ...extra,
  });
  context.setDefaultTimeout(15_000);
  // Nothing leaves for another host.
  const origin = new URL(server.url).origin;
  await context.route((url) => url.origin !== origin, (route) => route.abort());
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => window.__cspViolations.push(event.violatedDirective));
    window.__tones = 0;
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function counted(...args) {
      window.__tones += 1;
      return start.apply(this, args);
    };
  });
  return context;
}

function watch(page) {
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  return errors;
}

async function openYouthPage() {
  const context = await phoneContext();
  const page = await context.newPage();
  const errors = watch(page);
  await page.goto(`${server.url}/`);
  await page.locator('button.choice[data-id="menu_parler"]').waitFor();
  return { context, page, errors };
}

async function openConsole(login, name) {
  const context = await phoneContext();
  const page = await context.newPage();
  const errors = watch(page);
  await page.goto(`${server.url}/intervenants`);
  await page.fill('#username', login);
  await page.fill('#password', PASSWORD);
  await page.click('#login-submit');
  await page.locator('#console-view').waitFor();
  await page.locator('#roster:not(:empty)').waitFor();
  if ((await page.getAttribute('#on-call', 'aria-checked')) !== 'true') {
    await page.click('#on-call');
    await page.locator('#on-call[aria-checked="true"]').waitFor();
  }
  await page.waitForFunction((who) => document.querySelector('#roster').textContent.includes(who), name);
  return { context, page, errors };
}

/** axe-core on the page at rest (the one helper: it waits for animations and scrolling). */
async function axe(page, when) {
  await page.evaluate(axeSource);
  assert.deepEqual(await axeFindings(page), [], `axe, ${when}`);
}

/** The page scrolls nowhere sideways. */
async function noSideways(page, when) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client, `${when}: scrollWidth ${scroll} > clientWidth ${client}`);
}

async function shot(page, name) {
  if (!existsSync(resolve(SHOTS, '..'))) return;
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** The live conversation's lines on the youth page, in order: [who, text]. */
function liveLines(page) {
  return page.$$eval('#transcript .msg-youth[data-seq], #transcript .msg-agent', (nodes) => nodes.map((node) => [
    node.classList.contains('msg-youth') ? 'youth' : 'agent',
    node.querySelector('.bubble').textContent,
  ]));
}

async function youthSays(page, text) {
  await page.fill('#message', text);
  await page.press('#message', 'Enter');
  // The server's `youth` frame gives the bubble its seq: it is in the log.
  await page.waitForFunction((said) => [...document.querySelectorAll('#transcript .msg-youth[data-seq] .bubble')].some((b) => b.textContent === said), text);
}

async function consoleSays(page, text) {
  const box = page.locator('.conversation:not([hidden]) .reply-text');
  await box.fill(text);
  await box.press('Enter');
  await page.waitForFunction((said) => [...document.querySelectorAll('.conversation:not([hidden]) .entry-agent:not(.is-pending) .entry-text')].some((e) => e.textContent === said), text);
}

/** The youth walks to the sextortion theme and asks for a person from there. */
async function askFromSextortion(page) {
  await page.click('button.choice[data-id="menu_situation"]');
  await page.click('button.choice[data-id="sit_sextorsion"]');
  await page.click('button.choice[data-id="sext_parler"]');
  await page.locator('.notice-handoff').first().waitFor();
}

// ------------------------------------------------------------------ the tests

describe('a live conversation on two phones', () => {
  test('reload, keyboard, large text, the console at 360 px, the end and its next steps', { timeout: 120_000 }, async () => {
    await serve();
    const sam = await openConsole('sam', 'Sam');
    const youth = await openYouthPage();
    await shot(youth.page, '01-youth-welcome');
    await axe(youth.page, 'youth at the welcome');

    await askFromSextortion(youth.page);
    // The queue card names the theme the youth came through, and says they are there.
    const card = sam.page.locator('#queue-waiting .queue-item').first();
    await card.waitFor();
    assert.match(await card.textContent(), /Sextorsion/);
    assert.match(await card.textContent(), /jeune en ligne/);
    await noSideways(sam.page, 'console, queue');
    await shot(sam.page, '10-console-phone-queue');
    await axe(sam.page, 'console with a waiting request');

    await card.locator('button.take').click();
    await sam.page.locator('.conversation:not([hidden]) .reply-text').waitFor();
    await youth.page.locator('.notice-connected').waitFor();
    await noSideways(sam.page, 'console, conversation');

    // Typing both ways, no words.
    await youth.page.fill('#message', 'j');
    await youth.page.type('#message', 'e');
    await sam.page.locator('.conversation:not([hidden]) .typing-note:not(:empty)').waitFor();
    await sam.page.locator('.conversation:not([hidden]) .reply-text').type('Bon');
    await youth.page.waitForFunction(() => /écrit/.test(document.querySelector('#handoff-status').textContent));
    await sam.page.fill('.conversation:not([hidden]) .reply-text', '');

    await youthSays(youth.page, 'Premier message');
    await youthSays(youth.page, 'Deuxième message');
    await consoleSays(sam.page, 'Je suis là.');
    await youth.page.locator('.msg-agent').waitFor();
    await youthSays(youth.page, 'Troisième message');
    const before = await liveLines(youth.page);
    // Times show under the live lines.
    assert.ok(await youth.page.locator('.msg-agent .time').count() > 0, 'the person\'s message has its time');

    // Reload: the youth's own lines come back, in order, once.
    await youth.page.reload();
    await youth.page.waitForFunction(() => document.querySelectorAll('#transcript .msg-youth[data-seq]').length >= 3);
    const after = await liveLines(youth.page);
    const expected = [
      ['youth', 'Premier message'],
      ['youth', 'Deuxième message'],
      ['agent', 'Je suis là.'],
      ['youth', 'Troisième message'],
    ];
    assert.deepEqual(before, expected);
    assert.deepEqual(after, expected, 'after the reload');
    await shot(youth.page, '02-youth-after-reload');
    await axe(youth.page, 'youth after a reload, live');

    // The keyboard opens (the viewport shrinks) while the youth is typing; a message comes.
    await youth.page.focus('#message');
    await youth.page.fill('#message', 'Ben en fait y\'a un gars sur snap qui');
    await youth.page.setViewportSize({ width: 360, height: 420 });
    await consoleSays(sam.page, 'Prends ton temps, je lis tout.');
    await youth.page.waitForFunction(() => [...document.querySelectorAll('.msg-agent .bubble')].some((b) => b.textContent.startsWith('Prends')));
    await youth.page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    const box = await youth.page.locator('#message').boundingBox();
    assert.ok(box.y >= 0 && box.y + box.height <= 420, `the message box is in view: ${JSON.stringify(box)}`);
    assert.equal(await youth.page.inputValue('#message'), 'Ben en fait y\'a un gars sur snap qui');
    await shot(youth.page, '03-youth-keyboard-open');
    await axe(youth.page, 'youth with the keyboard open');

    // 200 % text on a 320 px screen: nothing scrolls sideways, the box is wide enough to write.
    await youth.page.setViewportSize({ width: 320, height: 740 });
    await youth.page.evaluate(() => { document.documentElement.style.fontSize = '200%'; });
    await youth.page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    await noSideways(youth.page, 'youth at 200 % text, 320 px');
    const wide = await youth.page.locator('#message').boundingBox();
    assert.ok(wide.width >= 200, `the message box is ${wide.width} px wide`);
    const exit = await youth.page.locator('#exit').boundingBox();
    assert.ok(exit.y < 120, `Sortir vite stays at the top: ${exit.y}`);
    const bar = await youth.page.locator('.bar').boundingBox();
    assert.ok(bar.height < 740 * 0.25, `the bar takes ${bar.height} px of 740`);
    await shot(youth.page, '04-youth-200-percent');
    await axe(youth.page, 'youth at 200 % text');
    await youth.page.evaluate(() => { document.documentElement.style.fontSize = ''; });
    await youth.page.setViewportSize(PHONE);

    // The console reads the line, closes with an outcome; no sideways scroll on the way.
    await youthSays(youth.page, 'Ok merci');
    await sam.page.waitForFunction(() => [...document.querySelectorAll('.conversation:not([hidden]) .entry-youth .entry-text')].some((e) => e.textContent === 'Ok merci'));
    await noSideways(sam.page, 'console, reading');
    await shot(sam.page, '11-console-phone-conversation');
    await axe(sam.page, 'console in a conversation');
    await sam.page.click('.conversation:not([hidden]) button.end');
    await sam.page.check('.conversation:not([hidden]) input[value="resolved"]');
    await noSideways(sam.page, 'console, close form');
    await sam.page.click('.conversation:not([hidden]) .close-form button[type="submit"]');
    await sam.page.locator('#queue-title').waitFor();
    await noSideways(sam.page, 'console, after the close');

    // The youth is told, with resources, and offered the next steps.
    await youth.page.locator('.notice-ended').waitFor();
    await youth.page.locator('.next-steps button[data-next="nextMenu"]').waitFor();
    assert.equal(await youth.page.locator('.next-steps button[data-next="nextPerson"]').count(), 1);
    await shot(youth.page, '05-youth-ended-next-steps');
    await axe(youth.page, 'youth after the end');

    assert.deepEqual(youth.errors, []);
    assert.deepEqual(sam.errors, []);
    assert.deepEqual(await youth.page.evaluate(() => window.__cspViolations), []);
    await youth.context.close();
    await sam.context.close();
    await server.dispose();
  });
});

describe('presence', () => {
  test('the holder\'s browser closes: the youth is told within the grace, then the request is first in another queue', { timeout: 60_000 }, async () => {
    await serve();
    const kim = await openConsole('kim', 'Kim');
    const sam = await openConsole('sam', 'Sam');
    const older = await openYouthPage();
    await older.page.click('button.choice[data-id="menu_parler"]');
    await kim.page.locator('#queue-waiting .queue-item').first().waitFor();
    const youth = await openYouthPage();
    await youth.page.click('button.choice[data-id="menu_parler"]');
    await sam.page.waitForFunction(() => document.querySelectorAll('#queue-waiting .queue-item').length === 2);
    // Sam takes the newer one.
    await sam.page.locator('#queue-waiting .queue-item').nth(1).locator('button.take').click();
    await youth.page.locator('.notice-connected').waitFor();
    const id = Number(await sam.page.getAttribute('.conversation:not([hidden])', 'data-id'));

    const closedAt = Date.now();
    await sam.context.close();
    // Within the grace (2 s, and the check runs every second): the youth hears it.
    await youth.page.locator('.notice-away').waitFor({ timeout: 30_000 });
    const toldAfter = Date.now() - closedAt;
    assert.ok(toldAfter >= 1_500, `told after ${toldAfter} ms, before the grace`);
    assert.match(await youth.page.textContent('#handoff-status'), /hors ligne/);
    await shot(youth.page, '06-youth-person-away');
    await axe(youth.page, 'youth whose person is away');

    // Then (4 s) the request is back in Kim's queue, first, with the reason; resources for the youth.
    const card = kim.page.locator(`#queue-waiting .queue-item[data-id="${id}"]`);
    await card.waitFor({ timeout: 30_000 });
    const first = await kim.page.getAttribute('#queue-waiting .queue-item >> nth=0', 'data-id');
    assert.equal(Number(first), id, 'first among its peers');
    assert.match(await card.textContent(), /perdu la connexion/);
    await youth.page.waitForFunction(() => /n'a pas pu revenir/.test(document.querySelector('#transcript').textContent));
    assert.ok(await youth.page.locator('.notice-waiting .card').count() > 0, 'resources came with it');
    await shot(kim.page, '12-console-requeued');
    await axe(kim.page, 'console with a requeued request');

    assert.deepEqual(youth.errors, []);
    assert.deepEqual(kim.errors, []);
    await youth.context.close();
    await older.context.close();
    await kim.context.close();
    await server.dispose();
  });
});

describe('the console tells', () => {
  test('a youth\'s message on the reports view: badge, title and a chime, not when muted', { timeout: 60_000 }, async () => {
    await serve();
    const sam = await openConsole('sam', 'Sam');
    const youth = await openYouthPage();
    await youth.page.click('button.choice[data-id="menu_parler"]');
    await sam.page.locator('#queue-waiting .queue-item button.take').first().click();
    await youth.page.locator('.notice-connected').waitFor();
    await sam.page.click('#view-reports');
    const tonesBefore = await sam.page.evaluate(() => window.__tones);
    await youthSays(youth.page, 'allo?');
    await sam.page.locator('#conversations-count:not([hidden])').waitFor();
    assert.match(await sam.page.title(), /^\(1\)/);
    await sam.page.waitForFunction((n) => window.__tones > n, tonesBefore);
    // Muted: counted, silent.
    await sam.page.click('#mute');
    const tonesMuted = await sam.page.evaluate(() => window.__tones);
    await youthSays(youth.page, 'allo??');
    await sam.page.waitForFunction(() => document.title.startsWith('(2)'));
    assert.equal(await sam.page.evaluate(() => window.__tones), tonesMuted);
    await sam.page.click('#mute');
    // Back on the conversations view: read.
    await sam.page.click('#view-conversations');
    await sam.page.locator('#conversations-count[hidden]').waitFor({ state: 'attached' });
    await sam.page.click('.conversation:not([hidden]) button.end');
    await sam.page.check('.conversation:not([hidden]) input[value="resolved"]');
    await sam.page.click('.conversation:not([hidden]) .close-form button[type="submit"]');
    await youth.page.locator('.notice-ended').waitFor();
    await youth.context.close();
    await sam.context.close();
    await server.dispose();
  });
});

describe('language', () => {
  test('the switch asks before clearing, and a request follows the new language', { timeout: 60_000 }, async () => {
    await serve();
    const kim = await openConsole('kim', 'Kim');
    const youth = await openYouthPage();
    await youth.page.click('button.choice[data-id="menu_ressources"]');
    await youth.page.locator('.msg-youth').waitFor();
    await youth.page.click('#lang');
    await youth.page.locator('.notice-confirm').waitFor();
    assert.equal(await youth.page.locator('.msg-youth').count(), 1, 'nothing cleared before asking');
    assert.ok(await youth.page.locator('.msg-bot').count() > 1, 'the bot\'s words are still there');
    assert.equal(await youth.page.getAttribute('html', 'lang'), 'fr', 'not switched yet');
    await axe(youth.page, 'youth asked to confirm the switch');
    await youth.page.click('.notice-confirm button:not(.choice-restart)');
    assert.equal(await youth.page.locator('.msg-youth').count(), 1, 'staying keeps everything');
    await youth.page.click('#lang');
    await youth.page.click('.notice-confirm .choice-restart');
    await youth.page.waitForFunction(() => document.documentElement.lang === 'en' && document.querySelector('button.choice[data-id="menu_parler"]'));
    assert.equal(await youth.page.locator('.msg-youth').count(), 0);

    // Asks in English, switches to French while waiting: asked first, the request stays
    // in the queue and follows (the card says FR).
    await youth.page.click('button.choice[data-id="menu_parler"]');
    await youth.page.locator('.notice-handoff').waitFor();
    await kim.page.locator('#queue-waiting .queue-item .badge-lang', { hasText: 'EN' }).waitFor();
    await youth.page.click('#lang');
    assert.match(await youth.page.textContent('.notice-confirm'), /stays in line/);
    await youth.page.click('.notice-confirm .choice-restart');
    await kim.page.locator('#queue-waiting .queue-item .badge-lang', { hasText: 'FR' }).waitFor();
    await youth.page.locator('html[lang="fr"]').waitFor();
    // The person who takes it: the notice comes, the page speaks French.
    await kim.page.locator('#queue-waiting .queue-item button.take').first().click();
    await youth.page.locator('.notice-connected').waitFor();
    assert.match(await youth.page.textContent('.notice-connected'), /est là pour te parler/);
    await kim.page.click('.conversation:not([hidden]) button.release');
    await youth.page.waitForFunction(() => /passer le relais/.test(document.querySelector('#transcript').textContent));
    assert.deepEqual(youth.errors, []);
    await youth.context.close();
    await kim.context.close();
    await server.dispose();
  });
});
