// What this is for: the console's Statistiques view (issue 24) in headless Chromium
// against a real relais server. Youths open conversations (real chat sockets, from a
// page); a supervisor opens Statistiques, chooses a period, and reads the plan's figures
// beside the previous period's: the figures shown are the API's, in French and then in
// English, each chart has its text summary and data table, axe finds nothing serious in
// either colour scheme, and the HTML download is the report for that period. An
// intervenor has no Statistiques button. No sleeps: every wait is for a selector or a
// response.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactsDir, launch } from './lib/server.mjs';
import { assertStayedHome, openConsole, serverWith } from './lib/reports.mjs';
import { axeFindings } from './lib/axe.mjs';

let browser;
before(async () => {
  browser = await launch();
  await mkdir(artifactsDir, { recursive: true });
});
after(async () => {
  await browser?.close();
});

/**
 * `count` youths say hello on the chat socket, from a page of the server's origin, and
 * pick the menu's `choice` (a theme: it is counted among the themes reached).
 */
async function conversations(server, count, lang, choice) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/healthz`);
  const walked = await page.evaluate(({ count, lang, choice }) => Promise.all(Array.from({ length: count }, () => new Promise((resolve, reject) => {
    const socket = new WebSocket(`${location.origin.replace('http', 'ws')}/chat`);
    let chose = false;
    socket.onopen = () => socket.send(JSON.stringify({ type: 'hello', lang }));
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type !== 'bot') return;
      if (chose) {
        socket.close();
        resolve(true);
      } else if ((frame.choices || []).some((offered) => offered.id === choice)) {
        chose = true;
        socket.send(JSON.stringify({ type: 'choose', id: choice }));
      }
    };
    socket.onerror = () => reject(new Error('chat socket failed'));
  }))), { count, lang, choice });
  assert.equal(walked.length, count);
  await context.close();
}

/** The first figure row of the first axis, as the console shows it: [title, current]. */
async function firstFigure(page) {
  const row = page.locator('#stats-report .impact-figures tbody tr').first();
  return [await row.locator('th').textContent(), await row.locator('td').first().textContent()];
}

describe('the console’s Statistiques view', () => {
  for (const colorScheme of ['light', 'dark']) {
    test(`a supervisor reads this month's figures, as the API gives them, in French and English (${colorScheme})`, { timeout: 120_000 }, async () => {
      const { server, dispose } = await serverWith([
        { login: 'sonia', name: 'Sonia', role: 'supervisor' },
        { login: 'ines', name: 'Inès' },
      ]);
      try {
        await conversations(server, 6, 'fr', 'menu_comprendre');
        await conversations(server, 2, 'en', 'menu_ressources');

        const intervenor = await openConsole(browser, server, { login: 'ines', colorScheme });
        assert.equal(await intervenor.page.locator('#view-stats').isVisible(), false, 'an intervenor has no Statistiques');
        await intervenor.context.close();

        const { context, page, watch } = await openConsole(browser, server, { login: 'sonia', colorScheme, bypassCSP: true });
        await page.locator('#view-stats').click();
        assert.equal(await page.locator('#conversations-view').isVisible(), false);
        await page.selectOption('#stats-preset', 'this-month');
        const [answer] = await Promise.all([
          page.waitForResponse((r) => r.url().includes('/api/impact') && r.url().includes('format=fragment')),
          page.click('#stats-form button[type="submit"]'),
        ]);
        assert.equal(answer.status(), 200);
        // The answer is read and shown once the report is no longer busy (the default
        // period's report, shown when the view opened, is on screen until then).
        await page.locator('#stats-report:not([aria-busy]) .impact-report[lang="fr"]').waitFor();

        // The figures on screen are the API's for the same period.
        const api = await page.evaluate(async () => {
          const { token } = JSON.parse(sessionStorage.getItem('relais.console.session'));
          const today = new Date();
          const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
          const from = iso(new Date(today.getFullYear(), today.getMonth(), 1));
          const to = iso(new Date(today.getFullYear(), today.getMonth() + 1, 0));
          const response = await fetch(`/api/impact?from=${from}&to=${to}&period=month&format=json&lang=fr`, { headers: { Authorization: `Bearer ${token}` } });
          return response.json();
        });
        assert.equal(api.axes[0].figures[0].current, 8, 'eight conversations this month');
        assert.deepEqual(await firstFigure(page), [api.axes[0].figures[0].title, String(api.axes[0].figures[0].current)]);
        const languages = api.axes[0].tables[0].rows.map((row) => [row.label, String(row.current)]);
        const shownLanguages = await page.locator('#stats-report .impact-table').first().locator('tbody tr').evaluateAll(
          (rows) => rows.map((row) => [row.querySelector('th').textContent, row.querySelector('td').textContent]),
        );
        assert.deepEqual(shownLanguages, languages);
        // 2 English: "< 5"; so French is hidden too, or 8 − 6 would give the 2.
        assert.deepEqual(languages, [['anglais', '< 5'], ['français', 'x']]);

        // Each chart says what it shows in words, and is followed by its data.
        const charts = await page.locator('#stats-report svg[role="img"]').evaluateAll((svgs) => svgs.map((svg) => {
          const ids = svg.getAttribute('aria-labelledby').split(' ');
          return ids.map((id) => document.getElementById(id)?.textContent.trim() || '');
        }));
        assert.ok(charts.length >= 1, `charts drawn: ${charts.length}`);
        for (const [caption, summary] of charts) {
          assert.ok(caption.length > 3 && summary.length > 3, `a chart without words: ${caption} / ${summary}`);
        }
        assert.deepEqual(await axeFindings(page), [], `the Statistiques view, French, ${colorScheme}`);
        await page.screenshot({ path: join(artifactsDir, `console-1280x800-statistiques-${colorScheme}.png`), fullPage: true });

        // In English, the view and the report follow the console's language.
        await Promise.all([
          page.waitForResponse((r) => r.url().includes('/api/impact') && r.url().includes('lang=en')),
          page.click('#lang'),
        ]);
        await page.locator('#stats-report:not([aria-busy]) .impact-report[lang="en"]').waitFor();
        assert.equal(await page.locator('#stats-title').textContent(), 'Statistics');
        assert.match((await firstFigure(page))[0], /Conversations started/);
        assert.deepEqual(await axeFindings(page), [], `the Statistiques view, English, ${colorScheme}`);

        // The download is the report of that period, to keep or print.
        const [download] = await Promise.all([page.waitForEvent('download'), page.click('#stats-html')]);
        assert.match(download.suggestedFilename(), /^relais-report-\d{4}-\d{2}-01-\d{4}-\d{2}-\d{2}\.html$/);
        await page.locator('#view-conversations').click();
        assert.equal(await page.locator('#stats-view').isVisible(), false, 'the view steps aside');
        await assertStayedHome(page, watch, server);
        await context.close();
      } finally {
        await dispose();
      }
    });
  }
});
