// What this is for: helpers of the anonymous-report page tests (reports.test.mjs). A
// relais server on a data folder whose accounts exist before it starts (no two-factor
// login, so the console's form needs only a password), optionally on a copy of the
// flows changed by the test; a console page logged in by its form (watched by
// lib/watch.mjs, which this module re-exports).

import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { addIntervenor, flowsDir, freshDataDir, RelaisServer } from './server.mjs';
import { assertStayedHome, watchedContext } from './watch.mjs';

// The page watcher lives in watch.mjs; the report tests import it from here too.
export { assertStayedHome, watchedContext };

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
