// What this is for: the console's reach beyond its tab (issue 15) in headless
// Chromium against a real relais server. The console registers its service worker
// (/intervenants-sw.js, scope /intervenants); a push message delivered through the
// DevTools protocol (ServiceWorker.deliverPushMessage, no push service needed) shows
// a notification with the queue's counts; a click on it brings the console back to
// its queue. The console also shows the schedule and who is on call.
//
// No sleeps: every wait is for a selector, a function or an event.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { addIntervenor, freshDataDir, launch, startServer } from './lib/server.mjs';

const PASSWORD = 'un mot de passe assez long';

let browser;
let server;
let dataDir;
before(async () => {
  browser = await launch();
  dataDir = await freshDataDir();
  await addIntervenor(dataDir, { login: 'sam', name: 'Sam', password: PASSWORD });
  server = await startServer({
    dataDir,
    env: {
      RELAIS_HANDOFF__SCHEDULE__MONDAY: '18:00-23:00',
      RELAIS_HANDOFF__SCHEDULE__SUNDAY: '13:00-17:00',
      RELAIS_HANDOFF__SCHEDULE__EXCEPTIONS: '["2099-12-25 closed"]',
    },
  });
});
after(async () => {
  await browser?.close();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Waits for the service worker of the console and returns it (a Playwright Worker). */
async function consoleWorker(context) {
  const found = context.serviceWorkers().find((w) => w.url().endsWith('/intervenants-sw.js'));
  if (found) return found;
  return context.waitForEvent('serviceworker', { predicate: (w) => w.url().endsWith('/intervenants-sw.js') });
}

describe('push notifications on the console', () => {
  test('the worker shows a pushed notification and a click opens the queue', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ locale: 'fr-CA' });
    await context.grantPermissions(['notifications'], { origin: server.url });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    const registrations = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: list }) => registrations.push(...list));
    await cdp.send('ServiceWorker.enable');

    await page.goto(`${server.url}/intervenants`);
    await page.waitForFunction(() => document.documentElement.dataset.serviceWorker === 'registered');
    const worker = await consoleWorker(context);
    const scope = await worker.evaluate(() => self.registration.scope);
    assert.equal(scope, `${server.url}/intervenants`);

    // Log in; the opt-in button and the schedule appear.
    await page.fill('#username', 'sam');
    await page.fill('#password', PASSWORD);
    await page.click('#login-submit');
    await page.locator('#console-view').waitFor();
    await page.locator('#push-toggle').waitFor();
    assert.equal(await page.getAttribute('#push-toggle', 'aria-pressed'), 'false');
    await page.waitForFunction(() => document.querySelector('#oncall-now')?.textContent.includes('Personne'));
    const week = await page.textContent('#oncall-week');
    assert.match(week, /lundi\s*de 18 h à 23 h/);
    assert.match(week, /dimanche\s*de 13 h à 17 h/);
    assert.match(await page.textContent('#oncall-panel'), /2099-12-25 : fermé/);
    await page.click('#on-call');
    await page.waitForFunction(() => document.querySelector('#oncall-now')?.textContent.includes('De garde : Sam'));

    // Elsewhere in the console when the notification comes.
    await page.click('#view-reports');
    await page.locator('#conversations-view').waitFor({ state: 'hidden' });

    // The push goes to the console's active worker: wait until it is active, and ask the
    // worker itself. (Under load the notification still fails to show about 1 run in 5;
    // the cause is not found yet.)
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    assert.equal(await worker.evaluate(() => self.registration.active?.state), 'activated');
    const registration = registrations.find((r) => r.scopeURL === `${server.url}/intervenants` && !r.isDeleted);
    assert.ok(registration, `a registration for the console: ${JSON.stringify(registrations)}`);
    const payload = {
      title: 'relais',
      body: 'Demande urgente en attente · 2 dans la file',
      url: '/intervenants#file',
      tag: 'relais-queue',
      urgent: true,
    };
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.url,
      registrationId: registration.registrationId,
      data: JSON.stringify(payload),
    });
    let shown = [];
    for (;;) {
      shown = await worker.evaluate(async () =>
        (await self.registration.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag })));
      if (shown.length) break;
    }
    assert.deepEqual(shown, [{ title: 'relais', body: payload.body, tag: 'relais-queue' }]);

    // A click on it: the console shows its queue.
    await worker.evaluate(async () => {
      const [notification] = await self.registration.getNotifications();
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification }));
    });
    await page.waitForFunction(() => document.documentElement.dataset.openedFrom === 'notification');
    await page.locator('#conversations-view').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'queue-title');
    const left = await worker.evaluate(async () => (await self.registration.getNotifications()).length);
    assert.equal(left, 0, 'the tapped notification is closed');
    await context.close();
  });
});
