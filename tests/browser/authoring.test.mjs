// What this is for: issue 22's preview that tells, in headless Chromium against a real
// relais server on a copy of the flows. An author has /auteurs open; a broken edit of
// a flow file is refused by the live reload, and the page shows, without a click, that
// it was refused with the checker's diagnostics in French (file:line:col and the "did
// you mean"); the fix is then saved and the page says the edit was accepted. No
// sleeps: every wait is for a selector or a condition in the page.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addIntervenor, freshDataDir, launch } from './lib/server.mjs';
import { copyOfFlows, startFlowsServer } from './lib/authors.mjs';

const AUTHOR = { login: 'aude', name: 'Aude Autrice', password: 'une phrase de passe assez longue', role: 'author' };

let browser;
let server;
let dataDir;
let flows;

before(async () => {
  browser = await launch();
  flows = await copyOfFlows();
  dataDir = await freshDataDir();
  await addIntervenor(dataDir, AUTHOR);
  server = await startFlowsServer({ flows, dataDir });
});

after(async () => {
  await browser?.close();
  await server?.dispose();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  if (flows) await rm(flows, { recursive: true, force: true });
});

/**
 * How long an edit may take to show: the server reloads and checks the whole folder
 * (about 1.2 s of CPU in the debug build, measured at 5 s of wall time on a machine
 * with a load of 14 on 2 cores, and more under more load), then the page asks every
 * 2 s. Twenty seconds was not always enough there.
 */
const EDIT_SHOWN = { timeout: 60_000 };

describe('the authors’ page tells what happened to an edit', () => {
  test('a refused edit shows its diagnostics, then the accepted fix', { timeout: 180_000 }, async () => {
    const context = await browser.newContext({ locale: 'fr-CA', viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await page.goto(`${server.url}/auteurs`);
    await page.fill('#username', AUTHOR.login);
    await page.fill('#password', AUTHOR.password);
    await page.click('#login-submit');
    await page.locator('#graph .node[data-id="accueil"]').waitFor();
    assert.equal(await page.locator('#edit-banner').isHidden(), true, 'no edit yet, no banner');

    // The author breaks a link: `-> menu` becomes `-> menuu`.
    const file = join(flows, 'accueil.flow');
    const original = await readFile(file, 'utf8');
    assert.ok(original.includes('-> menu\n'));
    await writeFile(file, original.replace('-> menu\n', '-> menuu\n'));
    const refused = page.locator('#edit-banner.refused');
    await refused.waitFor(EDIT_SHOWN);
    const text = await refused.textContent();
    assert.match(text, /Ta dernière modification \(\d\d:\d\d\) a été refusée/);
    assert.match(text, /accueil\.flow:\d+:\d+: erreur: Le nœud « menuu » n'existe dans aucun fichier/);
    assert.match(text, /Voulais-tu dire « menu » \(accueil\.flow:\d+\) \?/);
    assert.equal(await refused.getAttribute('role'), 'status');

    // The fix brings back the version already served: the page says it was taken.
    await writeFile(file, original);
    const accepted = page.locator('#edit-banner.accepted');
    await accepted.waitFor(EDIT_SHOWN);
    assert.match(await accepted.textContent(), /Ta dernière modification \(\d\d:\d\d\) a été acceptée : retour à la version déjà servie\./);
    assert.equal(await page.locator('#edit-banner li').count(), 0, 'no error left on the page');
    assert.deepEqual(pageErrors, [], 'the page threw');
    await context.close();
  });
});
