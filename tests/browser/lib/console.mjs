// What this is for: helpers of the console page tests (console.test.mjs). Turning on
// two-factor login for an account with the command line and computing its TOTP codes
// (RFC 6238, HMAC-SHA1, 6 digits, 30-second steps) with node's crypto; and a youth
// driven by hand: a raw `/chat` WebSocket opened from a page of the server (Node 20 has
// no global WebSocket), whose frames the test reads and waits for.

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { flowsDir, relaisBinary, repoRoot } from './server.mjs';

// ------------------------------------------------------------------ TOTP

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Decodes RFC 4648 base32 (no padding needed, case-insensitive). */
export function base32Decode(text) {
  const clean = text.replace(/=+$/, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const bytes = [];
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

/** The code of one time step: HMAC-SHA1 over the 8-byte big-endian step, dynamic truncation. */
export function totpAtStep(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const digest = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const number = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(number % 1_000_000).padStart(6, '0');
}

/** The current time step (30 s). */
export function totpStep(nowMs = Date.now()) {
  return Math.floor(nowMs / 1000 / 30);
}

/** The code for now. */
export function totpNow(secret, nowMs = Date.now()) {
  return totpAtStep(secret, totpStep(nowMs));
}

/** The secret of an `otpauth://totp/…?secret=…` URI. */
export function secretFromUri(uri) {
  const secret = new URL(uri).searchParams.get('secret');
  if (!secret) throw new Error(`no secret in ${uri}`);
  return secret;
}

/**
 * `relais intervenor totp enable LOGIN` (the server must be stopped): returns the
 * secret read from the printed otpauth:// URI.
 */
export async function enableTotp(dataDir, login) {
  const args = ['intervenor', 'totp', 'enable', login, '--data-dir', dataDir, '--flows-dir', flowsDir];
  const child = spawn(relaisBinary, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const code = await new Promise((resolveExit) => child.once('exit', resolveExit));
  if (code !== 0) throw new Error(`relais intervenor totp enable ${login} failed (${code}): ${output}`);
  const uri = output.match(/otpauth:\/\/totp\/\S+/);
  if (!uri) throw new Error(`no otpauth:// URI in: ${output}`);
  return secretFromUri(uri[0]);
}

// ------------------------------------------------------------------ a youth by hand

/**
 * Opens a youth's chat socket from a page of the server (same origin, so the socket's
 * Origin check passes) and says hello. Every frame received is kept in the page's
 * `window.youthFrames`; the methods send frames and wait for them.
 */
export async function openYouth(browser, server, { lang = 'fr' } = {}) {
  const context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  await page.goto(`${server.url}/healthz`);
  // Opens the socket and says hello; with `resume`, picks the session up again
  // (`hello` with the session's token and the last seq received).
  const open = (resume) => page.evaluate(([language, again]) => new Promise((resolveOpen, rejectOpen) => {
    const socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/chat`);
    window.youthFrames = window.youthFrames || [];
    window.youthSocket = socket;
    window.youthClosed = null;
    socket.addEventListener('message', (event) => window.youthFrames.push(JSON.parse(event.data)));
    socket.addEventListener('close', (event) => { window.youthClosed = event.code; });
    socket.addEventListener('open', () => {
      const hello = { type: 'hello', lang: language };
      if (again) {
        const welcome = window.youthFrames.find((frame) => frame.type === 'welcome');
        const seqs = window.youthFrames.filter((frame) => typeof frame.seq === 'number').map((frame) => frame.seq);
        hello.resume = { token: welcome.token, last_seq: Math.max(0, ...seqs) };
      }
      socket.send(JSON.stringify(hello));
      resolveOpen();
    });
    socket.addEventListener('error', () => rejectOpen(new Error('the youth socket did not open')));
  }), [lang, resume]);
  await open(false);

  const youth = {
    context,
    page,
    /** Sends one frame. */
    send: (frame) => page.evaluate((text) => window.youthSocket.send(text), JSON.stringify(frame)),
    /** Every frame so far. */
    frames: () => page.evaluate(() => window.youthFrames),
    /**
     * Waits for a frame of `type` whose fields include `fields` (compared with ===),
     * received after the first `after` frames; returns it.
     */
    async waitFor(type, fields = {}, { after = 0, timeout } = {}) {
      const handle = await page.waitForFunction(
        ([wanted, match, skip]) => window.youthFrames.slice(skip).find(
          (frame) => frame.type === wanted && Object.entries(match).every(([key, value]) => frame[key] === value),
        ),
        [type, fields, after],
        timeout === undefined ? {} : { timeout },
      );
      return handle.jsonValue();
    },
    /** How many frames arrived so far (to wait only for later ones). */
    count: () => page.evaluate(() => window.youthFrames.length),
    /** Waits for the welcome menu, then asks for a person (`menu_parler`); returns the `handoff` frame. */
    async askForPerson() {
      await page.waitForFunction(() => window.youthFrames.some(
        (frame) => frame.type === 'bot' && frame.choices.some((choice) => choice.id === 'menu_parler'),
      ));
      const seen = await youth.count();
      await youth.send({ type: 'choose', id: 'menu_parler' });
      return youth.waitFor('handoff', {}, { after: seen });
    },
    /** Writes free text. */
    say: (text) => youth.send({ type: 'text', text }),
    /**
     * Proves the server has handled every frame sent so far: during a handoff a
     * `choose` is answered `not_expected`, after the frames before it.
     */
    async settled() {
      const seen = await youth.count();
      await youth.send({ type: 'choose', id: 'relais-test-marker' });
      await youth.waitFor('error', { code: 'not_expected' }, { after: seen });
    },
    /** After the server went away: waits for the close, then resumes the session. */
    async resume() {
      await page.waitForFunction(() => window.youthClosed !== null);
      const seen = await youth.count();
      await open(true);
      return youth.waitFor('welcome', { resumed: true }, { after: seen });
    },
    close: () => context.close(),
  };
  return youth;
}
