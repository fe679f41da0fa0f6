// What this is for: the console's reach beyond its open tab (issue 15). It registers
// the service worker (/intervenants-sw.js, scope /intervenants), lets an intervenor
// turn push notifications on or off for this device (a button in the top bar; the
// subscription goes to PUT /api/push/subscription and is removed at logout), shows
// the queue when a notification is tapped (#file, or a message from the worker), and
// shows the on-call schedule and who is on call (GET /api/oncall) above the queue.
// It reads the console's login from sessionStorage (console.js keeps it there) and
// adds its own elements, so console.js and console.html stay as they are.
'use strict';

(() => {
  const SESSION_KEY = 'relais.console.session';
  const PREFS_KEY = 'relais.console.prefs';
  const SCOPE = '/intervenants';

  const TEXT = {
    fr: {
      pushOff: 'Notifications : non',
      pushOn: 'Notifications : oui',
      pushTitle: 'Être averti·e sur cet appareil quand une demande attend, même la console fermée',
      pushUnsupported: 'Ce navigateur ne permet pas les notifications.',
      pushDenied: 'Les notifications sont bloquées pour ce site dans le navigateur.',
      pushFailed: "L'abonnement aux notifications n'a pas fonctionné. Réessayez.",
      pushReady: 'Cet appareil recevra les demandes en attente.',
      schedule: 'Horaire et garde',
      onCallNow: 'De garde : {names}',
      nobodyOnCall: 'Personne n’est de garde en ce moment.',
      noSchedule: 'Aucun horaire n’est configuré.',
      exceptions: 'Exceptions',
      auto: 'Mise en garde automatique au début de l’horaire.',
      zone: 'Fuseau : {zone}',
    },
    en: {
      pushOff: 'Notifications: off',
      pushOn: 'Notifications: on',
      pushTitle: 'Be told on this device when a request waits, even with the console closed',
      pushUnsupported: 'This browser does not allow notifications.',
      pushDenied: 'Notifications are blocked for this site in the browser.',
      pushFailed: 'Subscribing to notifications did not work. Try again.',
      pushReady: 'This device will get waiting requests.',
      schedule: 'Schedule and on call',
      onCallNow: 'On call: {names}',
      nobodyOnCall: 'Nobody is on call right now.',
      noSchedule: 'No schedule is set.',
      exceptions: 'Exceptions',
      auto: 'Put on call automatically when the schedule starts.',
      zone: 'Time zone: {zone}',
    },
  };

  const supported = 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  let registration = null;
  let subscribed = false;
  let button = null;
  let note = null;
  let panel = null;

  /** The console's language: console.js sets it on <html>; the saved choice otherwise. */
  function lang() {
    if (document.documentElement.lang) return document.documentElement.lang === 'en' ? 'en' : 'fr';
    try {
      return (JSON.parse(localStorage.getItem(PREFS_KEY) || '{}') || {}).lang === 'en' ? 'en' : 'fr';
    } catch (_) {
      return 'fr';
    }
  }

  function t(key, params = {}) {
    const text = TEXT[lang()][key] || TEXT.fr[key] || key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ''));
  }

  function session() {
    try {
      const value = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
      return value && typeof value.token === 'string' ? value : null;
    } catch (_) {
      return null;
    }
  }

  async function api(method, path, body) {
    const current = session();
    if (!current) throw new Error('not logged in');
    const response = await fetch(path, {
      method,
      headers: {
        Authorization: `Bearer ${current.token}`,
        ...(body ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.status === 204 ? null : response.json();
  }

  function base64UrlToBytes(text) {
    const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  // ---------------------------------------------------------------- the queue on a tap

  function showQueue() {
    const conversations = document.getElementById('view-conversations');
    if (conversations && conversations.getAttribute('aria-current') !== 'true') conversations.click();
    const title = document.getElementById('queue-title');
    if (title) title.focus();
    document.documentElement.dataset.openedFrom = 'notification';
  }

  // ---------------------------------------------------------------- the button

  function say(text) {
    if (!note) return;
    note.textContent = text;
    note.hidden = !text;
  }

  function render() {
    if (!button) return;
    button.textContent = subscribed ? t('pushOn') : t('pushOff');
    button.setAttribute('aria-pressed', subscribed ? 'true' : 'false');
    button.title = t('pushTitle');
    button.classList.toggle('is-off', !subscribed);
    if (panel) renderSchedule(panel.lastData);
  }

  async function turnOn() {
    if (!supported || !registration) return say(t('pushUnsupported'));
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') return say(t('pushDenied'));
    try {
      const status = await api('GET', '/api/push');
      if (!status.enabled) return say(t('pushUnsupported'));
      let subscription = await registration.pushManager.getSubscription();
      if (!subscription) {
        subscription = await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: base64UrlToBytes(status.public_key),
        });
      }
      await api('PUT', '/api/push/subscription', { ...subscription.toJSON(), lang: lang() });
      subscribed = true;
      say(t('pushReady'));
    } catch (_) {
      say(t('pushFailed'));
    }
    render();
  }

  async function turnOff() {
    const subscription = registration ? await registration.pushManager.getSubscription() : null;
    if (subscription) {
      try {
        await api('DELETE', '/api/push/subscription', { endpoint: subscription.endpoint });
      } catch (_) {
        // Logged out already: the server removed it with the login.
      }
      await subscription.unsubscribe().catch(() => {});
    }
    subscribed = false;
    say('');
    render();
  }

  function makeButton() {
    const tools = document.querySelector('.bar-tools');
    if (!tools || button) return;
    button = document.createElement('button');
    button.type = 'button';
    button.id = 'push-toggle';
    button.className = 'tool';
    button.hidden = true;
    button.addEventListener('click', () => (subscribed ? turnOff() : turnOn()));
    note = document.createElement('p');
    note.id = 'push-note';
    note.className = 'queue-summary';
    note.setAttribute('role', 'status');
    note.hidden = true;
    tools.insertBefore(button, document.getElementById('lang'));
    const queueHead = document.getElementById('queue-summary');
    if (queueHead) queueHead.insertAdjacentElement('afterend', note);
    render();
  }

  // ---------------------------------------------------------------- schedule and on call

  function makePanel() {
    const queueHead = document.getElementById('queue-summary');
    if (!queueHead || panel) return;
    panel = document.createElement('details');
    panel.id = 'oncall-panel';
    panel.className = 'oncall-panel';
    queueHead.insertAdjacentElement('afterend', panel);
  }

  function renderSchedule(data) {
    if (!panel) return;
    panel.lastData = data;
    panel.replaceChildren();
    const summary = document.createElement('summary');
    summary.textContent = t('schedule');
    panel.append(summary);
    if (!data) return;
    const who = document.createElement('p');
    who.id = 'oncall-now';
    who.textContent = data.on_call.length ? t('onCallNow', { names: data.on_call.join(', ') }) : t('nobodyOnCall');
    panel.append(who);
    if (!data.scheduled) {
      const none = document.createElement('p');
      none.textContent = t('noSchedule');
      panel.append(none);
      return;
    }
    const week = document.createElement('dl');
    week.id = 'oncall-week';
    for (const { day, hours } of data.week) {
      const dt = document.createElement('dt');
      dt.textContent = day;
      const dd = document.createElement('dd');
      dd.textContent = hours;
      week.append(dt, dd);
    }
    panel.append(week);
    if (data.exceptions.length) {
      const title = document.createElement('p');
      title.textContent = t('exceptions');
      const list = document.createElement('ul');
      for (const { date, hours } of data.exceptions) {
        const item = document.createElement('li');
        item.textContent = `${date} : ${hours}`;
        list.append(item);
      }
      panel.append(title, list);
    }
    if (data.next) {
      const next = document.createElement('p');
      next.textContent = data.next;
      panel.append(next);
    }
    const zone = document.createElement('p');
    zone.textContent = t('zone', { zone: data.time_zone }) + (data.auto_on_call ? ` · ${t('auto')}` : '');
    panel.append(zone);
  }

  async function refreshSchedule() {
    if (!session()) return;
    try {
      renderSchedule(await api('GET', `/api/oncall?lang=${lang()}`));
    } catch (_) {
      // The next refresh tries again.
    }
  }

  // ---------------------------------------------------------------- logged in or out

  function loggedIn() {
    const logout = document.getElementById('logout');
    return Boolean(logout && !logout.hidden && session());
  }

  async function onLoginChange() {
    const inside = loggedIn();
    if (button) button.hidden = !inside;
    if (panel) panel.hidden = !inside;
    if (!inside) return;
    if (registration) {
      const subscription = await registration.pushManager.getSubscription();
      subscribed = Boolean(subscription) && Notification.permission === 'granted';
      if (subscribed) {
        // The server may have dropped it (a logout elsewhere): tell it again.
        api('PUT', '/api/push/subscription', { ...subscription.toJSON(), lang: lang() }).catch(() => {});
      }
    }
    render();
    refreshSchedule();
    if (location.hash === '#file') showQueue();
  }

  async function start() {
    makeButton();
    makePanel();
    renderSchedule(null);
    if (supported) {
      navigator.serviceWorker.addEventListener('message', (event) => {
        if (event.data && event.data.type === 'relais-open-queue') showQueue();
      });
      try {
        registration = await navigator.serviceWorker.register('/intervenants-sw.js', { scope: SCOPE });
        document.documentElement.dataset.serviceWorker = 'registered';
      } catch (_) {
        registration = null;
      }
    }
    const logout = document.getElementById('logout');
    if (logout) {
      new MutationObserver(onLoginChange).observe(logout, { attributes: true, attributeFilter: ['hidden'] });
      // Logging out turns this device's notifications off (the server forgets them too).
      logout.addEventListener('click', () => {
        if (registration) registration.pushManager.getSubscription().then((s) => s && s.unsubscribe()).catch(() => {});
        subscribed = false;
      });
    }
    const langButton = document.getElementById('lang');
    if (langButton) langButton.addEventListener('click', () => queueMicrotask(() => { render(); refreshSchedule(); }));
    const roster = document.getElementById('roster');
    if (roster) new MutationObserver(refreshSchedule).observe(roster, { childList: true, characterData: true, subtree: true });
    window.addEventListener('hashchange', () => location.hash === '#file' && showQueue());
    onLoginChange();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
