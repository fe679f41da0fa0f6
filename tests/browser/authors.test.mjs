// What this is for: the flow authors' preview page (web/authors.html, /auteurs) in
// headless Chromium against a real relais server: an author logs in and sees the graph
// (accueil, menu, urgence, the urgent handoff marked), plays from `accueil` in French by
// clicking a choice and by typing words a route recognizes, sees the variables and the
// transcript, switches the page and the conversation to English and plays from a node
// found with the search; the versions are listed with the serving one marked and the
// rollback command shown; an intervenor account is refused with a sentence; no request
// leaves for another host, no CSP violation, axe-core finds nothing serious; and a
// screenshot at 1280×800 is kept in artifacts/authors.png. Run with `node --test`.
//
// The flows' wording changes often: the test finds at run time (from the flow files
// and the graph API) a menu choice that sets a variable, and a word a route recognizes,
// and compares what the page shows with what the API answered. No sleeps: every wait
// is for a selector, a response or a condition in the page.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addIntervenor, artifactsDir, freshDataDir, launch } from './lib/server.mjs';
import { choicePath, choiceThatSetsVariable, copyOfFlows, readFlows, routeWord, startFlowsServer } from './lib/authors.mjs';
import { axeFindings } from './lib/axe.mjs';
import { assertStayedHome, watchedContext } from './lib/watch.mjs';

const AUTHOR = { login: 'aude', name: 'Aude Autrice', password: 'une phrase de passe assez longue', role: 'author' };
const INTERVENOR = { login: 'ines', name: 'Inès Intervenante', password: 'un autre mot de passe long', role: 'intervenor' };

let browser;
let server;
let dataDir;
let flows;
/** The version loaded first (then replaced), and the one the server serves. */
let oldVersion;
let currentVersion;
/** What the test leans on, found in the flows at run time. */
let graph;
let setter;
let route;

/** A call to the API from the test (Node's fetch), with a token or without. */
async function api(method, path, { token, body } = {}) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function servedVersion() {
  return (await api('GET', '/readyz')).body.flows;
}

before(async () => {
  browser = await launch();
  flows = await copyOfFlows();
  dataDir = await freshDataDir();
  await addIntervenor(dataDir, AUTHOR);
  await addIntervenor(dataDir, INTERVENOR);

  // An earlier version: the same flows with one comment more, served once, then the
  // current flows on the same data folder. The history then holds both.
  const accueil = join(flows, 'accueil.flow');
  const original = await readFile(accueil, 'utf8');
  await appendFile(accueil, '\n// Une ligne de plus : la version précédente, pour le test des versions.\n');
  server = await startFlowsServer({ flows, dataDir });
  oldVersion = await servedVersion();
  await server.stop();
  await writeFile(accueil, original);
  await server.start();
  currentVersion = await servedVersion();
  assert.notEqual(oldVersion, currentVersion, 'the two versions have the same hash');

  // What the test leans on: a choice that sets a variable, a word a route recognizes.
  const { body: login } = await api('POST', '/api/login', { body: { username: AUTHOR.login, password: AUTHOR.password } });
  graph = (await api('GET', '/api/flows/graph', { token: login.token })).body.graph;
  const files = await readFlows(flows);
  const order = [graph.start, ...graph.edges.map((e) => e.to)];
  for (const node of order) {
    setter = choiceThatSetsVariable(files, node);
    if (setter) {
      setter.node = node;
      break;
    }
  }
  assert.ok(setter, 'no choice in the flows sets a variable');
  route = routeWord(graph, ['urgen', 'danger', 'aide', 'help']);
  assert.ok(route, 'no free-text route in the flows');
  await api('POST', '/api/logout', { token: login.token });
});

after(async () => {
  await browser?.close();
  await server?.dispose();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  if (flows) await rm(flows, { recursive: true, force: true });
});

// ------------------------------------------------------------------ helpers

/** Opens /auteurs in a fresh 1280×800 context, watched (lib/watch.mjs): requests, errors and CSP. */
async function openAuthors({ bypassCSP = false, colorScheme = 'light', locale = 'fr-CA' } = {}) {
  const watched = await watchedContext(browser, server, { locale, bypassCSP, colorScheme, viewport: { width: 1280, height: 800 } });
  await watched.page.goto(`${server.url}/auteurs`);
  await watched.page.locator('#login-form').waitFor();
  return watched;
}

async function logIn(page, account) {
  await page.fill('#username', account.login);
  await page.fill('#password', account.password);
  await page.click('#login-submit');
}

/** Logs the author in and waits for the graph. */
async function logInAsAuthor(page) {
  await logIn(page, AUTHOR);
  await page.locator('#graph .node[data-id="accueil"]').waitFor();
}

/**
 * Runs `action` and waits for the player's answer to it and for the page to have drawn
 * it (the transcript counts the answers it drew); returns the API's JSON.
 */
async function played(page, action) {
  const drawn = Number(await page.getAttribute('#transcript', 'data-turns')) || 0;
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/flows/play') && r.request().method() === 'POST'),
    action(),
  ]);
  assert.equal(response.status(), 200, 'the player refused');
  const answer = await response.json();
  await page.waitForFunction((n) => Number(document.querySelector('#transcript').dataset.turns) > n, drawn);
  return answer;
}

/** The choice on offer with exactly this label. */
function offered(page, label) {
  return page.locator('#conversation .choices').getByRole('button', { name: label, exact: true });
}

/** The variables pane as {name: value}. */
function shownVars(page) {
  return page.$$eval('#vars tbody tr', (rows) => Object.fromEntries(rows
    .filter((row) => !row.classList.contains('var-gone'))
    .map((row) => [row.dataset.var, row.querySelector('.var-value').textContent])));
}

/** Nothing left for another host, nothing thrown, no CSP violation (lib/watch.mjs), and no inline style. */
async function assertStayedHomeUnstyled(page, watch) {
  await assertStayedHome(page, watch, server);
  // (Playwright's screenshots leave an empty style="" on inputs: only a style that says something counts.)
  const styled = await page.$$eval('[style]:not([style=""])', (els) => els.map((e) => e.outerHTML.slice(0, 120)));
  assert.deepEqual(styled, [], 'an element carries a style attribute');
}

// ------------------------------------------------------------------ the author

describe('the authors’ preview page', () => {
  test('an author sees the graph, plays in French and in English, with variables and transcript', { timeout: 90_000 }, async () => {
    const { context, page, watch } = await openAuthors();
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    await logInAsAuthor(page);
    assert.equal(await page.locator('#login-view').isHidden(), true);
    assert.match(await page.textContent('#who'), /Aude Autrice/);

    // The graph: the start, the menu and the urgent handoff, marked as urgent in words too.
    for (const id of ['accueil', 'menu', 'urgence']) {
      assert.equal(await page.locator(`#graph .node[data-id="${id}"]`).count(), 1, `no node ${id} in the graph`);
    }
    const urgent = page.locator('#graph .node[data-id="urgence"]');
    assert.equal(await urgent.getAttribute('data-kind'), 'urgent_handoff');
    assert.match(await urgent.getAttribute('class'), /\bkind-urgent_handoff\b/);
    assert.match(await urgent.textContent(), /URGENT/);
    assert.match(await urgent.getAttribute('aria-description'), /URGENT/);
    await page.getByRole('button', { name: /^urgence URGENT/ }).waitFor();
    assert.match(await page.getAttribute('#graph .node[data-id="accueil"]', 'class'), /\bstart\b/);
    assert.equal(await page.locator('#graph .node.kind-urgent_handoff').count(),
      graph.nodes.filter((n) => n.kind === 'urgent_handoff').length);
    assert.equal(await page.locator('#graph .node[data-id]').count(),
      new Set([...graph.nodes.map((n) => n.id), ...graph.edges.flatMap((e) => [e.from, e.to])]).size,
      'the graph does not draw every node');
    assert.ok(await page.locator('#graph path.edge').count() > 0, 'no link drawn');
    assert.match(await page.textContent('#legend'), /URGENT/);
    assert.match(await page.textContent('#graph-meta'), new RegExp(currentVersion));

    // The versions: the serving one marked, the earlier one with its rollback command.
    const serving = page.locator(`#versions-body tr[data-version="${currentVersion}"]`);
    assert.match(await serving.getAttribute('class'), /\bserving\b/);
    assert.match(await serving.textContent(), /En service/);
    const earlier = page.locator(`#versions-body tr[data-version="${oldVersion}"]`);
    assert.equal((await earlier.locator('code.command').textContent()).trim(), `relais flows rollback ${oldVersion}`);
    assert.doesNotMatch(await earlier.textContent(), /En service/);
    assert.equal(await page.locator('#versions-body code.command').count(), 1, 'not one rollback command for the one earlier version');

    // Keyboard: Tab reaches the graph at its start, the arrows go from node to node,
    // Enter selects; the focus ring shows.
    await page.locator('#show-back').focus();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-id')), graph.start);
    await page.keyboard.press('ArrowDown');
    const below = await page.evaluate(() => document.activeElement?.getAttribute('data-id'));
    assert.ok(graph.edges.some((e) => e.from === graph.start && e.to === below),
      `ArrowDown went to ${below}, not to a node the start leads to`);
    await page.keyboard.press('Enter');
    await page.locator(`#graph .node.selected[data-id="${below}"]`).waitFor();
    assert.equal(await page.locator('#graph .node[tabindex="0"]').count(), 1, 'more than one node in the Tab order');
    assert.equal(await page.getAttribute(`#graph .node[data-id="${below}"]`, 'aria-pressed'), 'true');
    assert.ok((await page.textContent('#detail-title')).includes(below));
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-id')), below);
    assert.equal(await page.evaluate(() => getComputedStyle(document.activeElement.querySelector('.ring')).visibility), 'visible',
      'the focused node shows no focus ring');

    // Play from accueil, in French: click the node, then "play from this node".
    await page.locator('#graph .node[data-id="accueil"]').click();
    await page.locator('#graph .node.selected[data-id="accueil"]').waitFor();
    const start = await played(page, () => page.click('#detail-play'));
    assert.equal(start.not_expected, false);
    const transcript = await page.textContent('#transcript');
    assert.match(transcript, /\[accueil\]/);
    assert.match(transcript, /\[menu\]/);
    assert.ok(await page.locator('#conversation .msg-bot').count() >= 1, 'no bot message shown');
    assert.equal(await page.locator('#conversation .msg-bot strong').count() > 0, start.frames.some((f) => f.html?.includes('<strong>')),
      'the bot’s HTML is not shown as HTML');
    assert.match(await page.getAttribute(`#graph .node[data-id="${start.state.node}"]`, 'class'), /\bcurrent\b/,
      'the current node is not highlighted');
    assert.match(await page.textContent(`#graph .node[data-id="${start.state.node}"]`), /\bici\b/);

    // Free text a route recognizes: walk by choices to the question, then type.
    const path = choicePath(graph, start.state.node, route.from);
    assert.ok(path, `no way by choices from ${start.state.node} to ${route.from}`);
    for (const edge of path) {
      await played(page, () => offered(page, edge.label).click());
      await page.locator(`#graph .node.current[data-id="${edge.to}"]`).waitFor();
    }
    assert.match(await page.getAttribute('#composer', 'class'), /\basking\b/, 'the question does not ask for text');
    const typed = await played(page, async () => {
      await page.fill('#message', `euh ${route.word} je pense`);
      await page.press('#message', 'Enter');
    });
    assert.equal(typed.state.node, route.to, `typing “${route.word}” did not lead to ${route.to}`);
    await page.locator('#conversation .msg-author', { hasText: route.word }).waitFor();
    await page.locator(`#graph .node.current[data-id="${route.to}"]`).waitFor();
    const afterRoute = await page.textContent('#transcript');
    assert.match(afterRoute, /réponse reconnue/);
    assert.ok(afterRoute.includes(`[${route.to}]`), 'the transcript does not name the node the route led to');

    // Start again, then the choice that sets a variable: the variables pane shows it.
    await played(page, () => page.click('#play-restart'));
    await page.locator(`#conversation .choice[data-id="${setter.choiceId}"]`).waitFor();
    const chosen = await played(page, () => page.click(`#conversation .choice[data-id="${setter.choiceId}"]`));
    assert.equal(chosen.state.node, setter.target);
    assert.equal(chosen.state.vars[setter.name], setter.value);
    assert.deepEqual(await shownVars(page), chosen.state.vars, 'the variables pane differs from the player’s state');
    const row = page.locator(`#vars tr[data-var="${setter.name}"]`);
    assert.match(await row.getAttribute('class'), /\bvar-new\b/, 'a variable just set is not marked');
    assert.ok((await page.textContent('#transcript')).includes(`[${setter.target}]`));
    await page.locator(`#graph .node.current[data-id="${setter.target}"]`).waitFor();

    await mkdir(artifactsDir, { recursive: true });
    await page.screenshot({ path: join(artifactsDir, 'authors.png') });

    // English: the page, then the conversation, from a node found with the search.
    await page.click('#lang');
    await page.locator('html[lang="en"]').waitFor();
    assert.equal(await page.textContent('#graph-title'), 'The flow graph');
    assert.equal(await page.title(), 'Flow preview · relais');
    await played(page, () => page.check('#play-lang-en'));
    await page.fill('#node-search', setter.target);
    await page.press('#node-search', 'Enter');
    await page.locator(`#graph .node.selected[data-id="${setter.target}"]`).waitFor();
    assert.equal((await page.textContent('#play-node')).trim(), `From “${setter.target}”`);
    const english = await played(page, () => page.click('#play-node'));
    const expected = await (async () => {
      const { body: session } = await api('POST', '/api/login', { body: { username: AUTHOR.login, password: AUTHOR.password } });
      const { body } = await api('POST', '/api/flows/play', { token: session.token, body: { lang: 'en', from: setter.target } });
      await api('POST', '/api/logout', { token: session.token });
      return body;
    })();
    assert.deepEqual(english.frames, expected.frames, 'the page did not ask for the node in English');
    const firstBot = expected.frames.find((f) => f.type === 'bot');
    await page.locator('#conversation .msg-bot .bubble', { hasText: firstBot.text.slice(0, 30) }).first().waitFor();
    assert.equal((await shownVars(page)).langue ?? 'en', 'en');
    assert.equal((await shownVars(page))[setter.name], setter.value);
    const englishTrace = await page.textContent('#transcript');
    assert.ok(englishTrace.includes(`> start from ${setter.target} (en)`), 'the transcript does not say where the conversation started');
    assert.ok(englishTrace.includes(`[${setter.target}]`));
    // A choice in English goes on from there.
    const englishChoice = expected.frames.flatMap((f) => f.choices ?? [])[0];
    if (englishChoice) {
      await page.locator(`#conversation .choice[data-id="${englishChoice.id}"]`, { hasText: englishChoice.label }).waitFor();
      const next = await played(page, () => page.click(`#conversation .choice[data-id="${englishChoice.id}"]`));
      assert.equal(next.not_expected, false);
      await page.locator('#conversation .msg-author', { hasText: englishChoice.label }).waitFor();
    }

    await assertStayedHomeUnstyled(page, watch);
    await context.close();
  });

  test('an intervenor account is refused with a sentence, and its session is closed', { timeout: 60_000 }, async () => {
    const { context, page, watch } = await openAuthors();
    const loggedOut = page.waitForResponse((r) => r.url().endsWith('/api/logout'));
    const [loginResponse] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/login')),
      logIn(page, INTERVENOR),
    ]);
    const { token } = await loginResponse.json();
    const error = page.locator('#login-error');
    await error.waitFor();
    const sentence = await error.textContent();
    assert.match(sentence, /Inès Intervenante/);
    assert.match(sentence, /auteur·e/);
    assert.equal(await page.getAttribute('#login-error', 'role'), 'alert');
    assert.equal(await page.locator('#app-view').isHidden(), true);
    assert.equal(await page.locator('#graph .node').count(), 0);
    // The API refuses it too, and the page closed the session it was given.
    await loggedOut;
    assert.equal((await api('GET', '/api/flows/graph', { token })).status, 401, 'the refused session is still open');
    const { body: fresh } = await api('POST', '/api/login', { body: { username: INTERVENOR.login, password: INTERVENOR.password } });
    assert.equal((await api('GET', '/api/flows/graph', { token: fresh.token })).status, 403);
    assert.equal((await api('POST', '/api/flows/play', { token: fresh.token, body: { lang: 'fr' } })).status, 403);
    await api('POST', '/api/logout', { token: fresh.token });

    // A wrong password gets the server's sentence.
    await page.fill('#username', 'personne');
    await page.fill('#password', 'pas le bon mot de passe');
    await page.click('#login-submit');
    await page.locator('#login-error', { hasText: 'incorrect' }).waitFor();
    await assertStayedHomeUnstyled(page, watch);
    await context.close();
  });

  // ------------------------------------------------------------------ accessibility

  for (const colorScheme of ['light', 'dark']) {
    test(`axe finds nothing serious (${colorScheme})`, { timeout: 60_000 }, async () => {
      // bypassCSP only here: axe is injected as a script the page's CSP would refuse.
      const { context, page } = await openAuthors({ bypassCSP: true, colorScheme });
      assert.deepEqual(await axeFindings(page), [], 'on the login form');
      await logIn(page, INTERVENOR);
      await page.locator('#login-error').waitFor();
      assert.deepEqual(await axeFindings(page), [], 'with the refusal shown');
      await logInAsAuthor(page);
      await page.locator('#graph .node[data-id="urgence"]').click();
      await played(page, () => page.click('#detail-play'));
      await page.locator('#conversation .notice-handoff.urgent').waitFor();
      assert.deepEqual(await axeFindings(page), [], 'with an urgent handoff played');
      await page.click('#lang');
      await page.locator('html[lang="en"]').waitFor();
      await played(page, () => page.click('#play-start'));
      assert.deepEqual(await axeFindings(page), [], 'in English');
      await context.close();
    });
  }
});
