// What this is for: the console's service worker, served at /intervenants-sw.js with
// the scope /intervenants (it never controls the youth page). It shows the push
// notifications relais sends to an intervenor's device ("Demande urgente en attente ·
// 2 dans la file": counts only, never a youth's words) and, on a tap, brings the
// console to the front at its queue. It caches nothing and intercepts no request.
'use strict';

const QUEUE_PATH = '/intervenants';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (_) {
    data = {};
  }
  const title = typeof data.title === 'string' ? data.title : 'relais';
  const body = typeof data.body === 'string' ? data.body : 'Demande en attente';
  const shown = self.registration.showNotification(title, {
    body,
    tag: 'relais-queue',
    renotify: true,
    requireInteraction: data.urgent === true,
    icon: '/static/icon.svg',
    lang: 'fr',
    data: { urgent: data.urgent === true },
  });
  event.waitUntil(shown);
});

/** Focuses an open console and tells it to show the queue, or opens one. */
async function openQueue() {
  const target = new URL(`${QUEUE_PATH}#file`, self.location.origin).href;
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).pathname === QUEUE_PATH) {
      client.postMessage({ type: 'relais-open-queue' });
      try {
        await client.focus();
      } catch (_) {
        // Focus needs the tap's user activation; the console shows the queue anyway.
      }
      return;
    }
  }
  await self.clients.openWindow(target);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const work = openQueue().catch(() => {});
  try {
    event.waitUntil(work);
  } catch (_) {
    // An event not sent by the browser cannot be extended; the work runs anyway.
  }
});
