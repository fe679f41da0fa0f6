// What this is for: helpers of the anonymous-report page tests (reports.test.mjs). A
// relais server on a data folder whose accounts exist before it starts (no two-factor
// login, so the console's form needs only a password), optionally on a copy of the
// flows changed by the test; a console page logged in by its form; and a page watcher
// (requests to other hosts refused, page errors, CSP violations) shared by the youth's
// page and the console.

import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { addIntervenor, flowsDir, freshDataDir, RelaisServer } from './server.mjs';

export const PASSWORD = 'un mot de passe assez long';

/**
 * A copy of the repository's flows in a temporary folder, with `edit(name, text)`
 * applied to each .flow file's text (return it changed, or as it was).
 */
export async function editedFlows(edit) {
  const dir = await mkdtemp(join(tmpdir(), 'relais-flows-'));
  await cp(flowsDir, dir, { recursive: true });
  const { readdir } = await import('node:fs/promises');
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.flow')) continue;
    const path = join(dir, name);
    const before = await readFile(path, 'utf8');
    const after = edit(name, before);
    if (after !== before) await writeFile(path, after);
  }
  return dir;
}

/**
 * A relais server like the shared harness's, but on a flows folder of the test's
 * choosing (the harness always serves flows/ and is left as it is).
 */
export class FlowsDirServer extends RelaisServer {
  constructor({ flows, ...options }) {
    super({ ...options, flows });
  }
}

/**
 * A fresh server whose accounts (`people`: {login, name, role?}) exist before it
 * starts; on `flows` when given. Returns {server, dispose}.
 */
export async function serverWith(people, { flows } = {}) {
  const dataDir = await freshDataDir();
  for (const person of people) await addIntervenor(dataDir, { password: PASSWORD, ...person });
  const env = { RELAIS_LIMITS__SESSIONS_PER_MINUTE: '200' };
  const server = flows ? new FlowsDirServer({ flows, dataDir, env }) : new RelaisServer({ dataDir, env });
  await server.start();
  return {
    server,
    async dispose() {
      await server.dispose();
      await rm(dataDir, { recursive: true, force: true });
      if (flows) await rm(flows, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh browser context watched for what must never happen: a request to another
 * host (refused), a page error, a CSP violation. `window.__cspViolations` is filled
 * from the start of every page.
 */
export async function watchedContext(browser, server, options = {}) {
  const context = await browser.newContext({ reducedMotion: 'reduce', serviceWorkers: 'block', ...options });
  context.setDefaultTimeout(15_000);
  const watch = { requests: [], outside: [], consoleErrors: [], pageErrors: [] };
  const origin = new URL(server.url).origin;
  await context.route((url) => url.origin !== origin, async (route) => {
    watch.outside.push(route.request().url());
    await route.abort();
  });
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
    window.__tones = 0;
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function countedStart(...args) {
      window.__tones += 1;
      return start.apply(this, args);
    };
  });
  const page = await context.newPage();
  page.on('request', (request) => watch.requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') watch.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => watch.pageErrors.push(String(error)));
  return { context, page, watch };
}

/** No request left for another host, nothing thrown, no CSP violation. */
export async function assertStayedHome(page, watch, server) {
  const origin = new URL(server.url).origin;
  assert.deepEqual(watch.requests.filter((url) => !url.startsWith(origin)), [], 'the page asked another host for something');
  assert.deepEqual(watch.outside, [], 'a request left for another host');
  assert.deepEqual(watch.pageErrors, [], 'the page threw');
  const csp = watch.consoleErrors.filter((text) => /Content.Security.Policy|Refused to/i.test(text));
  assert.deepEqual(csp, [], 'the console reported a CSP violation');
  if (!page.isClosed() && page.url().startsWith(origin)) {
    assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'a CSP violation happened');
  }
}

/** Opens the console, logs in with the form (password only) and waits for its socket. */
export async function openConsole(browser, server, { login, locale = 'fr-CA', colorScheme = 'dark', viewport, bypassCSP = false } = {}) {
  const watched = await watchedContext(browser, server, { locale, colorScheme, bypassCSP, viewport: viewport ?? { width: 1280, height: 800 } });
  const { page } = watched;
  await page.goto(`${server.url}/intervenants`);
  await page.fill('#username', login);
  await page.fill('#password', PASSWORD);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/login')),
    page.click('#login-submit'),
  ]);
  assert.equal(response.status(), 200, `login of ${login}`);
  await page.locator('#console-view').waitFor();
  await page.locator('#roster:not(:empty)').waitFor();
  return watched;
}

/** Logs in over HTTP (for acting on the server as another person would). */
export async function apiAs(server, login) {
  const call = async (method, path, token, body) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.ok(response.ok, `${method} ${path} answered ${response.status}`);
    return response.status === 204 ? null : response.json();
  };
  const { token } = await call('POST', '/api/login', null, { username: login, password: PASSWORD });
  return (method, path, body) => call(method, path, token, body);
}
