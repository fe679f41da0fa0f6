/* What this is for: the behaviour of the youth's chat page (web/index.html). It speaks
 * the wire contract of docs/protocol.md (section 1 and addition A) over the /chat
 * WebSocket: it shows the conversation, resumes it after a dropped connection with no
 * gap and no duplicate, switches between French and English, and runs the quick exit
 * (button, Escape, Shift three times) that blanks the page, erases the session on the
 * server and leaves for a neutral site.
 *
 * Anonymous reports (addition D of the contract): the summary before sending, the
 * receipt shown once (never stored, gone after a restart or a quick exit; a receipt
 * the youth types is masked on screen) and the report's status with the team's messages.
 *
 * What it keeps: the session token, the last seq seen and the chosen language, in
 * sessionStorage only (gone when the tab closes). No cookie, no localStorage, no request
 * to any other host. A youth's own words are only ever inserted as text; the only HTML
 * inserted is a bot frame's `html`, which the server has sanitized (drawn by
 * shared/bot.js, as the authors' preview draws it). */
import { dialable, element, link } from './shared/dom.js';
import { translator } from './shared/i18n.js';
import { asksReceipt, asksText, botBubble, choiceButtons, resourceList as resourceCards } from './shared/bot.js';

// ------------------------------------------------------------ the page's own words

// The French of the page's fixed parts (data-t) is index.html's own, read at start.
var STRINGS = {
  fr: {
    switchTo: 'English',
    switchShort: 'EN',
    placeholderAsked: 'Écris ta réponse ici',
    notSent: 'Pas encore envoyé : ça partira dès que la connexion revient.',
    bot: 'Réponse automatique',
    you: 'Toi',
    agentRole: 'intervenant·e',
    choices: 'Choix proposés',
    choicesCount: function (n) { return n === 1 ? '1 choix proposé.' : n + ' choix proposés.'; },
    connecting: 'Connexion…',
    reconnecting: 'La connexion a été coupée. Reconnexion…',
    offline: "Pas de connexion Internet. Tes messages partiront dès qu'elle revient.",
    reconnected: 'Reconnecté. La conversation continue.',
    takenOver: 'Cette conversation est ouverte dans une autre fenêtre.',
    continueHere: 'Continuer ici',
    newSession: "Ta conversation précédente n'est plus disponible. Une nouvelle conversation commence.",
    waiting: function (position) {
      if (position === 1) return 'Une personne formée va te répondre. Tu es la prochaine personne dans la file.';
      if (position > 1) return 'Une personne formée va te répondre. Tu es en position ' + position + ' dans la file.';
      return 'Une personne formée va te répondre bientôt.';
    },
    waitingShort: function (position) {
      return position > 0 ? 'En attente d’une personne · position ' + position : 'En attente d’une personne';
    },
    waitingRead: "Tu peux continuer à lire ou à écrire pendant l'attente.",
    connected: function (name) { return name + ' est là pour te parler. Tu peux écrire ici.'; },
    connectedShort: function (name) { return 'En conversation avec ' + name; },
    unavailable: "Personne n'est disponible pour le moment.",
    awayShort: function (name) { return (name || 'La personne') + ' est hors ligne · ta conversation est gardée'; },
    unavailableShort: 'Ta demande reste dans la file',
    typing: function (name) { return (name || 'La personne') + ' écrit…'; },
    nextMenu: 'Retour au menu',
    nextPerson: 'Parler encore à une personne',
    counter: function (n, max) { return n + ' / ' + max + ' caractères'; },
    counterOver: function (n, max) { return n + ' / ' + max + ' caractères : raccourcis un peu ou envoie en deux messages.'; },
    newer: '↓ Nouveau message',
    langConfirm: 'Changer de langue recommence la conversation depuis le début. Ce qui est affiché sera effacé.',
    langConfirmYes: 'Recommencer en anglais',
    langConfirmNo: 'Rester en français',
    langKept: 'La conversation continue en français.',
    langKeepsRequest: 'Ta demande pour parler à une personne reste dans la file.',
    copiedWarn: 'Code copié. Colle-le dans un endroit sûr. Attention : le presse-papiers de ton téléphone peut le garder en mémoire; efface-le après.',
    ended: 'La conversation avec la personne est terminée.',
    end: 'Fin de la conversation. Merci d’être passé·e.',
    restart: 'Recommencer',
    errorFallback: "Quelque chose n'a pas marché. Réessaie dans un instant.",
    erased: 'message effacé',
    summary: 'Ton signalement',
    f_danger: "Quelqu'un en danger maintenant",
    f_type: 'Genre de situation',
    f_ou: 'Où',
    f_qui: 'Qui',
    f_quand: 'Quand',
    f_autre: 'Autre chose',
    v_oui: 'Oui',
    v_non: 'Non',
    'v_peut-etre': 'Je ne sais pas',
    v_leurre: 'Leurre en ligne',
    v_images: 'Images intimes qui circulent',
    v_sextorsion: 'Chantage (sextorsion)',
    v_recrutement: 'Recrutement de jeunes',
    v_autre: 'Autre chose',
    receipt: 'Ton code de suivi',
    receiptSay: 'Écris-le maintenant, sur papier ou dans un endroit sûr : il ne sera plus jamais affiché. Sans ce code, personne ne peut retrouver ton signalement.',
    receiptShown: 'Ton code de suivi est affiché. Note-le maintenant.',
    copy: 'Copier le code',
    copied: 'Code copié. Colle-le dans un endroit sûr.',
    selected: 'Le code est sélectionné : copie-le ou écris-le.',
    hiddenCode: 'code de suivi, caché',
    state: 'État : ',
    s_new: 'reçu, pas encore lu par l’équipe',
    s_in_review: 'l’équipe s’en occupe',
    s_forwarded: 'transmis à un service qui peut agir',
    s_closed: 'fermé',
    noReply: "Pas encore de message de l'équipe.",
    team: 'équipe'
  },
  en: {
    title: 'Chat',
    skip: 'Skip to the message box',
    exit: 'Quick exit',
    switchTo: 'Français',
    switchShort: 'FR',
    safetySummary: 'Quick exit, or the Esc key, or Shift 3 times: the page closes and the conversation is erased.',
    safetyHistory: 'Your browser history is not erased. This page stays in it as “Chat”.',
    safetyTabs: 'Help websites open in a new tab: quick exit tries to close them too, check anyway. A call or a text stays in the phone’s history.',
    safetyPrivate: 'To leave no trace: open this page in a private window (Chrome: “New Incognito tab”; Safari: “Private”; Firefox: “New private window”), or clear your history afterwards.',
    conversation: 'Conversation',
    messageLabel: 'Your message',
    placeholder: 'Write here…',
    placeholderAsked: 'Write your answer here',
    send: 'Send',
    notSent: 'Not sent yet: it will go as soon as the connection is back.',
    bot: 'Automatic reply',
    you: 'You',
    agentRole: 'support worker',
    choices: 'Choices',
    choicesCount: function (n) { return n === 1 ? '1 choice offered.' : n + ' choices offered.'; },
    connecting: 'Connecting…',
    reconnecting: 'The connection dropped. Reconnecting…',
    offline: 'No Internet connection. Your messages will go as soon as it is back.',
    reconnected: 'Reconnected. The conversation goes on.',
    takenOver: 'This conversation is open in another window.',
    continueHere: 'Continue here',
    newSession: 'Your previous conversation is no longer available. A new conversation begins.',
    waiting: function (position) {
      if (position === 1) return 'A trained person will answer you. You are next in line.';
      if (position > 1) return 'A trained person will answer you. You are number ' + position + ' in line.';
      return 'A trained person will answer you soon.';
    },
    waitingShort: function (position) {
      return position > 0 ? 'Waiting for a person · position ' + position : 'Waiting for a person';
    },
    waitingRead: 'You can keep reading or writing while you wait.',
    connected: function (name) { return name + ' is here to talk with you. You can write here.'; },
    connectedShort: function (name) { return 'Talking with ' + name; },
    unavailable: 'Nobody is available right now.',
    awayShort: function (name) { return (name || 'The person') + ' is offline · your conversation is kept'; },
    unavailableShort: 'Your request stays in line',
    typing: function (name) { return (name || 'The person') + ' is typing…'; },
    nextMenu: 'Back to the menu',
    nextPerson: 'Talk to a person again',
    counter: function (n, max) { return n + ' / ' + max + ' characters'; },
    counterOver: function (n, max) { return n + ' / ' + max + ' characters: shorten it a little or send it in two messages.'; },
    newer: '↓ New message',
    langConfirm: 'Switching language starts the conversation again from the beginning. What is shown will be erased.',
    langConfirmYes: 'Start again in French',
    langConfirmNo: 'Stay in English',
    langKept: 'The conversation goes on in English.',
    langKeepsRequest: 'Your request to talk to a person stays in line.',
    copiedWarn: 'Code copied. Paste it somewhere safe. Careful: your phone’s clipboard may keep it; clear it afterwards.',
    ended: 'The conversation with the person has ended.',
    end: 'End of the conversation. Thank you for coming.',
    restart: 'Start again',
    errorFallback: 'Something did not work. Try again in a moment.',
    erased: 'message erased',
    summary: 'Your report',
    f_danger: 'Someone in danger now',
    f_type: 'Kind of situation',
    f_ou: 'Where',
    f_qui: 'Who',
    f_quand: 'When',
    f_autre: 'Anything else',
    v_oui: 'Yes',
    v_non: 'No',
    'v_peut-etre': "I don't know",
    v_leurre: 'Online luring',
    v_images: 'Intimate images going around',
    v_sextorsion: 'Blackmail (sextortion)',
    v_recrutement: 'Recruiting young people',
    v_autre: 'Something else',
    receipt: 'Your follow-up code',
    receiptSay: 'Write it down now, on paper or somewhere safe: it will never be shown again. Without this code, nobody can find your report.',
    receiptShown: 'Your follow-up code is shown. Write it down now.',
    copy: 'Copy the code',
    copied: 'Code copied. Paste it somewhere safe.',
    selected: 'The code is selected: copy it or write it down.',
    hiddenCode: 'follow-up code, hidden',
    state: 'Status: ',
    s_new: 'received, not read by the team yet',
    s_in_review: 'the team is on it',
    s_forwarded: 'passed on to a service that can act',
    s_closed: 'closed',
    noReply: 'No message from the team yet.',
    team: 'team'
  }
};

var PAGE_LANGUAGES = ['fr', 'en'];
var FALLBACK_EXIT_URL = 'https://meteo.gc.ca/';
var STORE_KEY = 'chat';
/** How long quick exit waits for the server's `forgotten` before leaving anyway. */
var FORGET_WAIT_MS = 800;
var SHIFT_PRESSES = 3;
var SHIFT_WINDOW_MS = 5000;
var ANNOUNCER_KEEP = 12;
/** The server's limit on free text (limits.max_text_chars), and where the count shows. */
var MAX_TEXT = 2000;
var COUNTER_FROM = 1800;

// ------------------------------------------------------------ state

var saved = readStore();
var state = {
  lang: saved.lang || preferredLanguage(),
  /** The session's secret, from `welcome`. */
  token: saved.token || null,
  /** The highest seq shown in this document; frames at or below it are ignored. */
  shownSeq: 0,
  /** Frames up to this seq are a replay of history after a reload: not announced. */
  quietUntil: 0,
  exitUrl: FALLBACK_EXIT_URL,
  languages: PAGE_LANGUAGES.slice(),
  socket: null,
  /** True between `welcome` and the socket's close. */
  ready: false,
  /** Frames the youth sent while the socket was down, sent after the next `welcome`. */
  outbox: [],
  attempts: 0,
  retryTimer: 0,
  retryNotBefore: 0,
  unknownSession: false,
  takenOver: false,
  exiting: false,
  /** The youth acted and is waiting for the answer: focus may follow it. */
  youthActed: false,
  /** Only the welcome so far: the youth has done nothing on this page yet (a choice, a
   *  message, a restart) and no history came back. */
  welcome: true,
  handoff: null,
  connection: { text: '', kind: 'problem' },
  attemptsBefore: 0,
  revealReplay: false,
  /** The last words sent, given back to the box if the server refuses them. */
  lastText: null,
  shiftPresses: [],
  /** The flow asks for a follow-up code: the words typed are masked on screen. */
  askingReceipt: false,
  /** The receipt just shown, kept in view until the youth acts (the element only). */
  receipt: null,
  /** Until when "… is typing" shows (the person's page said so; no words come). */
  typingUntil: 0,
  typingTimer: 0,
  /** When this page last said the youth is typing (at most one signal every 4 s). */
  typingSent: 0,
  /** Help sites opened from a card, closed by the quick exit. */
  opened: [],
  /** The page put a receipt in the clipboard: the quick exit overwrites it. */
  copiedReceipt: false,
  /** The reader had scrolled up when the latest items came: they stay where they read. */
  revealAway: false,
  /** The youth was at the end of the conversation at their last scroll. */
  atEnd: true
};

var dom = {
  html: document.documentElement,
  transcript: document.getElementById('transcript'),
  announcer: document.getElementById('announcer'),
  composer: document.getElementById('composer'),
  message: document.getElementById('message'),
  status: document.getElementById('status'),
  lang: document.getElementById('lang'),
  exit: document.getElementById('exit'),
  skip: document.getElementById('skip'),
  handoff: document.getElementById('handoff-status'),
  counter: document.getElementById('counter'),
  newer: document.getElementById('newer'),
  bar: document.querySelector('.bar-inner')
};
var fixed = document.querySelectorAll('[data-t]');
for (var f = 0; f < fixed.length; f++) STRINGS.fr[fixed[f].getAttribute('data-t')] = fixed[f].textContent;
STRINGS.fr.placeholder = dom.message.placeholder;

// The page's words in its language, French where a word is missing (shared/i18n.js).
var t = translator(STRINGS, function () { return state.lang; });

// ------------------------------------------------------------ sessionStorage only

function readStore() {
  try {
    var raw = window.sessionStorage.getItem(STORE_KEY);
    var value = raw ? JSON.parse(raw) : null;
    return value && typeof value === 'object' ? value : {};
  } catch (e) {
    return {};
  }
}

function writeStore() {
  if (state.exiting) return;
  try {
    window.sessionStorage.setItem(STORE_KEY, JSON.stringify({
      token: state.token,
      last_seq: state.shownSeq,
      lang: state.lang
    }));
  } catch (e) {
    // Storage refused (private mode, full): the chat still works, it just cannot resume.
  }
}

function preferredLanguage() {
  var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'fr'];
  for (var i = 0; i < wanted.length; i++) {
    var base = String(wanted[i]).slice(0, 2).toLowerCase();
    if (PAGE_LANGUAGES.indexOf(base) >= 0) return base;
  }
  return 'fr';
}

// ------------------------------------------------------------ language

function applyLanguage(lang) {
  if (!STRINGS[lang]) lang = 'fr';
  state.lang = lang;
  dom.html.lang = lang;
  document.title = t('title');
  var labelled = document.querySelectorAll('[data-t]');
  for (var i = 0; i < labelled.length; i++) {
    var value = t(labelled[i].getAttribute('data-t'));
    if (typeof value === 'string') labelled[i].textContent = value;
  }
  dom.message.placeholder = dom.composer.classList.contains('asking') ? t('placeholderAsked') : t('placeholder');
  var other = lang === 'fr' ? 'en' : 'fr';
  // The button speaks the other language, in that language: "EN English" / "FR Français"
  // (the short or the long form shows, depending on the width; both are in its name).
  dom.lang.textContent = '';
  dom.lang.appendChild(element('span', 'short', t('switchShort')));
  dom.lang.appendChild(document.createTextNode(' '));
  dom.lang.appendChild(element('span', 'long', t('switchTo')));
  dom.lang.lang = other;
  dom.lang.hidden = state.languages.indexOf(other) < 0;
  renderStatus();
}

function switchLanguage() {
  var next = state.lang === 'fr' ? 'en' : 'fr';
  var asked = dom.transcript.querySelector('.notice-confirm');
  if (asked) asked.remove();
  if (requestOpen()) {
    // A request for a person is open: nothing is cleared; the session and the request
    // switch, so what is said from now on (notices, resources) is in the new language.
    applyLanguage(next);
    writeStore();
    send({ type: 'lang', lang: next });
    announce(t('langKept'));
    return;
  }
  if (!dom.transcript.querySelector('.msg-youth, .notice-handoff, .report, .receipt')) {
    // Nothing of the youth's would be lost: switch at once.
    restartIn(next);
    return;
  }
  // The conversation would start again: ask first, in the current language.
  var item = element('li', 'notice notice-confirm');
  item.appendChild(element('p', null, t('langConfirm')));
  if (state.handoff && state.handoff.status !== 'ended') item.appendChild(element('p', null, t('langKeepsRequest')));
  var buttons = item.appendChild(element('div', 'confirm-actions'));
  var yes = buttons.appendChild(element('button', 'choice choice-restart', t('langConfirmYes')));
  yes.type = 'button';
  yes.lang = next;
  var no = buttons.appendChild(element('button', 'choice', t('langConfirmNo')));
  no.type = 'button';
  yes.addEventListener('click', function () { item.remove(); restartIn(next); });
  no.addEventListener('click', function () { item.remove(); dom.lang.focus(); });
  appendItem(item);
  revealLatest();
  yes.focus({ preventScroll: true });
}

/** A person holds the conversation (a restart is not possible; the language still follows). */
function requestOpen() {
  var h = state.handoff;
  return !!h && (h.status === 'connected' || h.status === 'away');
}

function restartIn(next) {
  applyLanguage(next);
  writeStore();
  // The conversation starts again in the other language (addition A of the contract).
  clearTranscript();
  state.youthActed = true;
  state.welcome = false;
  send({ type: 'restart', lang: next });
}

// ------------------------------------------------------------ the socket

function socketUrl() {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat';
}

function connect() {
  window.clearTimeout(state.retryTimer);
  state.retryTimer = 0;
  if (state.exiting || state.socket) return;
  var socket;
  try {
    socket = new WebSocket(socketUrl());
  } catch (e) {
    scheduleReconnect();
    return;
  }
  state.socket = socket;
  state.ready = false;
  socket.onopen = function () {
    if (socket !== state.socket) return;
    var hello = { type: 'hello', lang: state.lang };
    // After a reload this document shows nothing yet: ask for the whole log (seq 0).
    if (state.token) hello.resume = { token: state.token, last_seq: state.shownSeq };
    socket.send(JSON.stringify(hello));
  };
  socket.onmessage = function (event) {
    if (socket !== state.socket) return;
    var frame;
    try {
      frame = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (frame && typeof frame === 'object') receive(frame);
  };
  socket.onclose = function (event) {
    if (socket !== state.socket) return;
    state.socket = null;
    state.ready = false;
    closed(event.code);
  };
}

function closed(code) {
  if (state.exiting) return;
  if (code === 4000) {
    // Another window resumed this session and took it over: do not fight it.
    state.takenOver = true;
    setConnection(t('takenOver'), 'takenOver');
    return;
  }
  setConnection(navigator.onLine === false ? t('offline') : t('reconnecting'));
  scheduleReconnect();
}

function scheduleReconnect() {
  if (state.exiting || state.takenOver || state.retryTimer) return;
  var delay = Math.min(15000, 400 * Math.pow(2, state.attempts));
  delay = delay / 2 + Math.random() * delay / 2;
  delay = Math.max(delay, state.retryNotBefore - Date.now());
  state.attempts += 1;
  state.retryTimer = window.setTimeout(connect, delay);
}

/** Connects at once (the youth is doing something, or the network is back), unless told to wait. */
function reconnectNow() {
  if (state.exiting || state.takenOver || state.socket) return;
  if (state.retryNotBefore > Date.now()) {
    scheduleReconnect();
    return;
  }
  connect();
}

/** Sends a frame now (true), or after the next `welcome` when the socket is down (false). */
function send(frame) {
  if (state.ready && state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(frame));
    return true;
  }
  state.outbox.push(frame);
  reconnectNow();
  return false;
}

// ------------------------------------------------------------ frames from the server

function receive(frame) {
  if (state.exiting) {
    if (frame.type === 'forgotten') leave();
    return;
  }
  switch (frame.type) {
    case 'welcome': return welcome(frame);
    case 'error': return serverError(frame);
    case 'forgotten': return leave();
    // Shown once, never logged nor replayed (no seq): the page keeps them nowhere else.
    case 'report_summary': return showSummary(frame);
    case 'report_receipt': return showReceipt(frame);
    case 'report_status': return showReportStatus(frame);
    // The person is typing: a few seconds of "… is typing", no words.
    case 'typing': return showTyping();
  }
  if (typeof frame.seq !== 'number') return;
  // Resume replays frames after the seq we gave; anything already shown is skipped.
  if (frame.seq <= state.shownSeq) return;
  state.shownSeq = frame.seq;
  state.lastText = null;
  writeStore();
  var quiet = frame.seq <= state.quietUntil;
  if (quiet) state.revealReplay = true;
  currentSeq = frame.seq;
  switch (frame.type) {
    case 'bot': showBot(frame, quiet); break;
    case 'handoff': showHandoff(frame, quiet); break;
    case 'agent': showAgent(frame, quiet); break;
    case 'youth': showYouthFrame(frame, quiet); break;
    case 'end': showEnd(quiet); break;
  }
  currentSeq = 0;
  revealLatest();
}

function welcome(frame) {
  var hadConversation = state.shownSeq > 0 || state.unknownSession;
  if (!frame.resumed) {
    if (hadConversation) {
      // The old session is gone (expired, or the server forgot it): say so plainly.
      removeChoices();
      appendNotice(t('newSession'), 'notice-new');
      announce(t('newSession'));
      // Choices queued for the old conversation mean nothing in the new one; words still count.
      state.outbox = state.outbox.filter(function (queued) { return queued.type === 'text'; });
    }
    state.shownSeq = 0;
    state.quietUntil = 0;
    state.handoff = null;
  } else if (state.shownSeq === 0) {
    state.quietUntil = Number(frame.last_seq) || 0;
  }
  state.unknownSession = false;
  state.token = frame.token;
  state.ready = true;
  state.attemptsBefore = state.attempts;
  state.attempts = 0;
  // The session's language wins, unless the youth switched while the socket was down.
  var switching = state.outbox.some(function (queued) { return queued.type === 'restart' && queued.lang; });
  if (frame.lang && frame.lang !== state.lang && !switching) applyLanguage(frame.lang);
  writeStore();
  var wasReconnecting = state.attemptsBefore > 0;
  setConnection(wasReconnecting ? t('reconnected') : '', 'ok');
  if (wasReconnecting) {
    window.setTimeout(function () {
      if (state.connection.kind === 'ok') setConnection('');
    }, 4000);
  }
  var waiting = state.outbox;
  state.outbox = [];
  for (var i = 0; i < waiting.length; i++) send(waiting[i]);
  markAllSent();
}

function serverError(frame) {
  var code = frame.code;
  if (code === 'unknown_session') {
    // A fresh session follows at once (welcome with resumed: false).
    state.unknownSession = true;
    state.token = null;
    return;
  }
  if (code === 'rate_limited' && frame.retry_after_ms) {
    state.retryNotBefore = Date.now() + Number(frame.retry_after_ms);
  }
  // Words the server refused (too long, too fast) go back in the box, to send again.
  if ((code === 'too_large' || code === 'rate_limited') && state.lastText && !dom.message.value) {
    dom.message.value = state.lastText;
  }
  state.lastText = null;
  var text = typeof frame.message === 'string' && frame.message ? frame.message : t('errorFallback');
  var notice = appendNotice(text, 'notice-error');
  announce(text);
  revealLatest();
  if (state.youthActed && lostFocus()) focusItem(notice);
  state.youthActed = false;
}

// ------------------------------------------------------------ rendering

var pendingReveal = [];
var currentSeq = 0;

function appendItem(item) {
  // Measured before the item goes in: a reader who scrolled up to read stays there.
  if (!pendingReveal.length) state.revealAway = !state.atEnd && readerAway() && !state.youthActed;
  // Which frame an item shows (the tests check for gaps and duplicates with it).
  if (currentSeq && (item.classList.contains('msg') || item.classList.contains('notice'))) item.setAttribute('data-seq', String(currentSeq));
  // Choices on offer stay last, nearest the thumb: what comes meanwhile (a request's
  // state, a person's words, an error) goes above them.
  // A receipt just given stays below the flow's words that go with it, above the choices.
  var offered = state.receipt && item.classList.contains('msg') ? state.receipt : dom.transcript.querySelector('.choices, .restart');
  var isOffer = item.classList.contains('choices') || item.classList.contains('restart');
  if (offered && !isOffer) dom.transcript.insertBefore(item, offered);
  else dom.transcript.appendChild(item);
  pendingReveal.push(item);
  return item;
}

function messageItem(kind, who, continued) {
  var item = element('li', 'msg msg-' + kind);
  var offered = dom.transcript.querySelector('.choices, .restart');
  var previous = offered ? offered.previousElementSibling : dom.transcript.lastElementChild;
  if (continued && previous && previous.classList.contains('msg-' + kind)) item.classList.add('msg-cont');
  item.appendChild(element('p', 'who', who));
  return item;
}

function showBot(frame, quiet) {
  removeChoices();
  var item = messageItem('bot', t('bot'), true);
  // The server sanitized this HTML (bold, italics, links, line breaks); nothing else goes in as HTML.
  var bubble = botBubble(frame);
  item.appendChild(bubble);
  if (Array.isArray(frame.resources) && frame.resources.length) item.appendChild(resourceList(frame.resources));
  appendItem(item);

  var choices = Array.isArray(frame.choices) ? frame.choices : [];
  var group = null;
  if (choices.length) {
    group = choiceGroup(choices);
    appendItem(group);
  }
  var asking = asksText(frame);
  askForText(asking);
  // The question that asks for a follow-up code (the protocol says so): what is typed there is masked on screen.
  state.askingReceipt = asksReceipt(frame);
  if (quiet) return;
  var spoken = frame.text || bubble.textContent;
  if (choices.length) spoken += ' ' + t('choicesCount', choices.length);
  announce(spoken);
  if (state.youthActed) {
    if (asking) {
      dom.message.focus({ preventScroll: true });
      state.youthActed = false;
    } else if (group && lostFocus()) {
      group.querySelector('button').focus({ preventScroll: true });
      state.youthActed = false;
    }
  }
}

function choiceGroup(choices) {
  var item = element('li', 'choices');
  item.appendChild(choiceButtons(choices, t('choices'), choose));
  return item;
}

function removeChoices() {
  var groups = dom.transcript.querySelectorAll('.choices, .restart');
  for (var i = 0; i < groups.length; i++) groups[i].remove();
}

/** The youth's own words, as text; marked "not sent yet" while the socket is down. */
function showYouth(text, sent, masked) {
  var item = messageItem('youth', t('you'), true);
  var bubble = item.appendChild(element('p', 'bubble', masked ? '•••• •••• •••• ••••' : text));
  if (masked) bubble.appendChild(element('span', 'visually-hidden', ' ' + t('hiddenCode')));
  if (!sent) {
    item.classList.add('msg-pending');
    item.appendChild(element('p', 'pending-note', t('notSent')));
  }
  appendItem(item);
  revealLatest();
  return item;
}

/**
 * The youth's own line, as the server logged it during a conversation with a person.
 * The line this page just showed is matched (given its seq and time), so it shows
 * once; after a reload or from another window, it is shown again, in its place.
 */
function showYouthFrame(frame, quiet) {
  var text = String(frame.text || '');
  if (!quiet) {
    var mine = dom.transcript.querySelectorAll('.msg-youth:not([data-seq])');
    for (var i = 0; i < mine.length; i++) {
      var bubble = mine[i].querySelector('.bubble');
      if (bubble && bubble.textContent === text) {
        mine[i].setAttribute('data-seq', String(frame.seq));
        showTime(mine[i], frame.at);
        return;
      }
    }
  }
  showTime(showYouth(text, true), frame.at);
}

/** "21:04" under a message of the live conversation. */
function showTime(item, at) {
  if (!item || !at || item.querySelector('.time')) return;
  var date = new Date(Number(at));
  if (isNaN(date.getTime())) return;
  var time = element('time', 'time', date.toLocaleTimeString(state.lang + '-CA', { hour: '2-digit', minute: '2-digit' }));
  time.dateTime = date.toISOString();
  item.appendChild(time);
}

function showTyping() {
  if (!state.handoff || state.handoff.status !== 'connected') return;
  state.typingUntil = Date.now() + 6000;
  window.clearTimeout(state.typingTimer);
  state.typingTimer = window.setTimeout(function () {
    state.typingUntil = 0;
    renderStatus();
  }, 6000);
  renderStatus();
}

/** Tells the person the youth is typing (no words), at most every 4 s, only live. */
function onMessageInput() {
  renderCounter();
  var h = state.handoff;
  if (!h || h.status !== 'connected' || !dom.message.value.trim()) return;
  var now = Date.now();
  if (now - state.typingSent < 4000) return;
  if (state.ready && state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.typingSent = now;
    state.socket.send('{"type":"typing"}');
  }
}

/** The count shows near the limit (nothing is ever cut: too long is not sent). */
function renderCounter() {
  var max = MAX_TEXT;
  var n = Array.from(dom.message.value).length;
  var over = n > max;
  dom.counter.hidden = n < COUNTER_FROM;
  dom.counter.textContent = over ? t('counterOver', n, max) : t('counter', n, max);
  dom.counter.classList.toggle('counter-over', over);
  dom.message.setAttribute('aria-invalid', over ? 'true' : 'false');
  return over;
}

function markAllSent() {
  var pending = dom.transcript.querySelectorAll('.msg-pending');
  for (var i = 0; i < pending.length; i++) {
    pending[i].classList.remove('msg-pending');
    var note = pending[i].querySelector('.pending-note');
    if (note) note.remove();
  }
}

/** Something from the person while the youth is in another app: "(1) Clavardage", nothing more. */
var unseen = 0;
function markUnseen(quiet) {
  if (quiet || !document.hidden || state.exiting) return;
  unseen += 1;
  document.title = '(' + unseen + ') ' + t('title');
}

function showAgent(frame, quiet) {
  var name = frame.name || '';
  // A message of a conversation closed and erased since: its words are gone.
  var text = frame.erased ? t('erased') : frame.text;
  var item = messageItem('agent', (name ? name + ' · ' : '') + t('agentRole'), true);
  item.appendChild(element('p', frame.erased ? 'bubble erased' : 'bubble', text));
  showTime(item, frame.at);
  appendItem(item);
  markUnseen(quiet);
  if (state.typingUntil) {
    state.typingUntil = 0;
    renderStatus();
  }
  if (!quiet) announce((name || t('agentRole')) + ' : ' + (text || ''));
}

// ------------------------------------------------------------ anonymous reports

/** The report before it is sent: the youth's answers as text, with readable labels. */
function showSummary(frame) {
  var item = element('li', 'notice report');
  var list = element('dl');
  var spoken = [t('summary')];
  (Array.isArray(frame.fields) ? frame.fields : []).forEach(function (f) {
    var label = t('f_' + f.field) || f.field;
    // Two fields hold the flow's codes (danger, type); the others the youth's words.
    var value = /^(danger|type)$/.test(f.field) && t('v_' + f.value) || String(f.value);
    list.appendChild(element('dt', null, label));
    list.appendChild(element('dd', null, value));
    spoken.push(label + ' : ' + value);
  });
  item.appendChild(element('h3', 'report-title', spoken[0]));
  item.appendChild(list);
  appendItem(item);
  announce(spoken.join('. '));
  revealLatest();
}

/**
 * The receipt, once: big, easy to copy, and plainly said to be written down now.
 * Kept only in this item (no storage); a restart or a quick exit removes it.
 */
function showReceipt(frame) {
  var receipt = String(frame.receipt || '');
  var item = element('li', 'notice receipt');
  item.appendChild(element('h3', 'report-title', t('receipt')));
  // Halves that never break inside: "1234 5678" over "9012 3456" on a narrow phone.
  var code = item.appendChild(element('p', 'receipt-code'));
  code.setAttribute('translate', 'no');
  receipt.replace(/^(\S+ \S+) (.*)$/, '$1\n$2').split('\n').forEach(function (half, i) {
    if (i) code.appendChild(document.createTextNode(' '));
    code.appendChild(element('span', null, half));
  });
  item.appendChild(element('p', null, t('receiptSay')));
  var copy = item.appendChild(element('button', 'copy', t('copy')));
  copy.type = 'button';
  var said = item.appendChild(element('p', 'copy-note'));
  said.setAttribute('role', 'status');
  copy.addEventListener('click', function () {
    var select = function () {
      window.getSelection().selectAllChildren(code);
      said.textContent = t('selected');
    };
    var clipboard = navigator.clipboard;
    if (clipboard && clipboard.writeText) {
      clipboard.writeText(receipt).then(function () {
        state.copiedReceipt = true;
        said.textContent = t('copiedWarn');
      }, select);
    }
    else select();
  });
  appendItem(item);
  state.receipt = item;
  announce(t('receiptShown'));
  revealLatest();
  // Focus on the code itself: a screen reader reads it; no keyboard opens on a phone.
  focusItem(code);
}

/** The report opened with a receipt: its state in words and the messages, as text. */
function showReportStatus(frame) {
  forgetReport('.report-status');
  var item = element('li', 'notice report report-status');
  var status = t('s_' + frame.status) || frame.status;
  var spoken = [t('state') + status];
  item.appendChild(element('h3', 'report-title', t('summary')));
  item.appendChild(element('p', 'report-state', spoken[0]));
  var list = item.appendChild(element('ol', 'report-messages'));
  (Array.isArray(frame.messages) ? frame.messages : []).forEach(function (m) {
    var mine = m.from === 'reporter';
    var who = mine ? t('you') : (m.name ? m.name + ' · ' : '') + t('team');
    var entry = list.appendChild(element('li', mine ? 'from-me' : 'from-team'));
    entry.appendChild(element('p', 'who', m.at ? who + ' · ' + new Date(m.at).toLocaleString(state.lang + '-CA', { dateStyle: 'medium', timeStyle: 'short' }) : who));
    entry.appendChild(element('p', 'bubble', m.text));
    spoken.push(who + ' : ' + m.text);
  });
  if (!list.firstChild) item.appendChild(element('p', null, t('noReply')));
  appendItem(item);
  announce(spoken.join('. '));
  revealLatest();
}

/** A restart leaves nothing of a report on screen (the receipt above all). */
function forgetReport(which) {
  var shown = dom.transcript.querySelectorAll(which || '.report, .receipt');
  for (var i = 0; i < shown.length; i++) shown[i].remove();
  if (!which) {
    dom.announcer.textContent = '';
    state.receipt = null;
  }
}

function showHandoff(frame, quiet) {
  state.handoff = { status: frame.status, position: frame.position, name: frame.name };
  state.typingUntil = 0;
  renderStatus();
  var item = element('li', 'notice notice-handoff notice-' + frame.status + (frame.urgent ? ' notice-urgent' : ''));
  var lines = [];
  if (frame.message) lines.push(frame.message);
  if (frame.status === 'waiting') {
    // A message (long wait, released, back in line) says how things stand; the place follows.
    lines.push(frame.message ? t('waitingShort', frame.position) + '.' : t('waiting', frame.position));
    if (!frame.message) lines.push(t('waitingRead'));
  } else if (frame.status === 'connected') {
    // With a message (the person is back), the message says it all.
    if (!frame.message) lines.push(t('connected', frame.name || ''));
  } else if (frame.status === 'away') {
    if (!frame.message) lines.push(t('awayShort', frame.name || ''));
  } else if (!frame.message) {
    lines.push(frame.status === 'ended' ? t('ended') : t('unavailable'));
  }
  lines.forEach(function (line) { item.appendChild(element('p', null, line)); });
  if (Array.isArray(frame.resources) && frame.resources.length) item.appendChild(resourceList(frame.resources));
  appendItem(item);
  if (frame.status === 'connected' || frame.status === 'away') markUnseen(quiet);
  if (frame.status === 'connected' || frame.status === 'ended') removeChoices();
  if (frame.status === 'ended') {
    askForText(false);
    offerNextSteps();
  }
  if (quiet) return;
  announce(lines.join(' '));
  if (frame.status === 'connected') {
    askForText(true);
    // A person is here: the message box, unless the youth is busy elsewhere (the bar's buttons).
    if (lostFocus() || state.youthActed || dom.transcript.contains(document.activeElement)) dom.message.focus({ preventScroll: true });
  } else if (lostFocus()) {
    // Not the message box: on a phone its keyboard would hide the resources.
    focusItem(item);
  }
  state.youthActed = false;
}

/** After a conversation with a person: the menu again, or a person again (the resources came with it). */
function offerNextSteps() {
  var item = element('li', 'restart next-steps');
  var group = item.appendChild(element('div', 'choice-list'));
  group.setAttribute('role', 'group');
  group.setAttribute('aria-label', t('choices'));
  [['nextMenu', { type: 'restart' }], ['nextPerson', { type: 'choose', id: 'relais:personne' }]].forEach(function (next) {
    var button = group.appendChild(element('button', 'choice', t(next[0])));
    button.type = 'button';
    button.setAttribute('data-next', next[0]);
    button.addEventListener('click', function () {
      removeChoices();
      state.youthActed = true;
      state.welcome = false;
      state.handoff = null;
      renderStatus();
      if (next[1].type === 'restart') forgetReport();
      else showYouth(t(next[0]), true);
      send(next[1]);
    });
  });
  appendItem(item);
}

function showEnd(quiet) {
  removeChoices();
  askForText(false);
  var item = element('li', 'notice notice-end');
  item.appendChild(element('p', null, t('end')));
  appendItem(item);
  var again = element('li', 'restart');
  var button = element('button', 'choice choice-restart', t('restart'));
  button.type = 'button';
  button.addEventListener('click', function () {
    removeChoices();
    forgetReport();
    state.youthActed = true;
    state.welcome = false;
    send({ type: 'restart' });
  });
  again.appendChild(button);
  appendItem(again);
  if (quiet) return;
  announce(t('end'));
  if (state.youthActed || lostFocus()) button.focus({ preventScroll: true });
  state.youthActed = false;
}

/** The resource cards, in the conversation's language (shared/bot.js); the help sites they open close with the quick exit. */
function resourceList(resources) {
  return resourceCards(resources, state.lang, { onSite: openSite });
}

/**
 * Opens a help site in a new tab this page keeps a handle on (its `opener` cut, as
 * noopener would), so the quick exit can close it too. If the browser refuses, the
 * link opens by itself.
 */
function openSite(event) {
  var url = event.currentTarget.href;
  var opened = null;
  try { opened = window.open('', '_blank'); } catch (e) { opened = null; }
  if (!opened) return;
  event.preventDefault();
  try { opened.opener = null; } catch (e) { /* cross-origin already */ }
  opened.location.href = url;
  state.opened.push(opened);
}

function appendNotice(text, className) {
  var item = element('li', 'notice ' + (className || ''));
  item.appendChild(element('p', null, text));
  appendItem(item);
  return item;
}

function clearTranscript() {
  state.receipt = null;
  dom.transcript.textContent = '';
  dom.announcer.textContent = '';
  pendingReveal = [];
}

function askForText(asked) {
  dom.composer.classList.toggle('asking', !!asked);
  dom.message.placeholder = asked ? t('placeholderAsked') : t('placeholder');
}

function announce(text) {
  if (!text) return;
  dom.announcer.appendChild(element('p', null, text));
  while (dom.announcer.childNodes.length > ANNOUNCER_KEEP) dom.announcer.removeChild(dom.announcer.firstChild);
}

/** The line above the message box: the connection's trouble first, else the handoff's state. */
function setConnection(text, kind) {
  state.connection = { text: text || '', kind: kind || 'problem' };
  renderStatus();
}

function renderStatus() {
  var connection = state.connection;
  dom.status.textContent = connection.text;
  dom.status.className = 'status' + (connection.text ? ' status-' + connection.kind : '');
  if (connection.kind === 'takenOver') {
    var button = element('button', 'status-action', t('continueHere'));
    button.type = 'button';
    button.addEventListener('click', function () {
      state.takenOver = false;
      setConnection(t('connecting'));
      connect();
    });
    dom.status.appendChild(document.createTextNode(' '));
    dom.status.appendChild(button);
  }
  var h = state.handoff;
  var text = '';
  if (h && h.status === 'waiting') text = t('waitingShort', h.position);
  else if (h && h.status === 'connected' && state.typingUntil > Date.now()) text = t('typing', h.name || '');
  else if (h && h.status === 'connected') text = t('connectedShort', h.name || '');
  else if (h && h.status === 'away') text = t('awayShort', h.name || '');
  else if (h && h.status === 'unavailable') text = t('unavailableShort');
  dom.handoff.textContent = text;
  dom.handoff.hidden = !text;
}

/** Moves focus to a message (for the keyboard's next Tab), without scrolling. */
function focusItem(item) {
  item.setAttribute('tabindex', '-1');
  item.focus({ preventScroll: true });
}

function lostFocus() {
  var active = document.activeElement;
  return !active || active === document.body || !document.contains(active);
}

/** The page is scrolled up from its end by more than a few lines. */
function readerAway() {
  var root = document.documentElement;
  return root.scrollHeight - (window.scrollY + window.innerHeight) > 160;
}

/** Scrolls so the youth sees what just arrived, from its start if it is long. */
var revealScheduled = false;
function revealLatest() {
  if (revealScheduled) return;
  revealScheduled = true;
  window.requestAnimationFrame(function () {
    revealScheduled = false;
    var items = pendingReveal.filter(function (node) { return node.isConnected; });
    var replay = state.revealReplay;
    pendingReveal = [];
    state.revealReplay = false;
    if (!items.length || state.exiting) return;
    var smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    if (state.receipt && state.receipt.isConnected) {
      // Until the youth does something, the receipt stays in view.
      state.receipt.scrollIntoView({ behavior: smooth ? 'smooth' : 'auto', block: 'end' });
      return;
    }
    var first = items[0];
    var last = items[items.length - 1];
    var offered = dom.transcript.querySelector('.choices, .restart');
    if (offered && (last.compareDocumentPosition(offered) & Node.DOCUMENT_POSITION_FOLLOWING)) last = offered;
    if (replay) {
      // The history came back after a reload: show where the conversation is now.
      state.welcome = false;
      last.scrollIntoView({ block: 'end' });
      return;
    }
    if (state.revealAway) {
      // The youth is reading further up: nothing moves; a button leads to what came.
      state.atEnd = !readerAway();
      dom.newer.hidden = false;
      return;
    }
    // The conversation's first messages: the top of the page (and its safety note) stays
    // in view, however many frames the welcome comes in, until the youth does something.
    if (first === dom.transcript.firstElementChild || state.welcome) {
      // Nothing moves, so whether the reader is still at the end is measured here: a
      // box that resizes later must not take them to the end of what just arrived.
      state.atEnd = !readerAway();
      return;
    }
    var room = window.innerHeight - dom.composer.offsetHeight - 80;
    var height = last.getBoundingClientRect().bottom - first.getBoundingClientRect().top;
    var options = { behavior: smooth ? 'smooth' : 'auto', block: height > room ? 'start' : 'end' };
    (height > room ? first : last).scrollIntoView(options);
  });
}

// ------------------------------------------------------------ what the youth does

function choose(choice) {
  state.receipt = null;
  removeChoices();
  state.youthActed = true;
  state.welcome = false;
  state.lastText = null;
  showYouth(choice.label, send({ type: 'choose', id: choice.id }));
}

function submitText(event) {
  event.preventDefault();
  var text = dom.message.value.trim();
  if (!text) {
    dom.message.focus();
    return;
  }
  if (renderCounter()) {
    // Too long: nothing is cut and nothing is sent; the count says what to do.
    announce(dom.counter.textContent);
    dom.message.focus();
    return;
  }
  dom.message.value = '';
  renderCounter();
  state.receipt = null;
  state.youthActed = true;
  state.welcome = false;
  state.lastText = text;
  // A follow-up code never shows on screen: asked for, or 16 digits typed anywhere.
  var masked = state.askingReceipt || /^\D*(\d\D*){16}$/.test(text);
  showYouth(text, send({ type: 'text', text: text }), masked);
  dom.message.focus({ preventScroll: true });
}

function onMessageKey(event) {
  // Enter sends; Shift+Enter makes a new line.
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    submitText(event);
  }
}

// ------------------------------------------------------------ quick exit

/** Blanks the page at once, erases the session on the server, leaves for a neutral site. */
function quickExit(event) {
  if (event) event.preventDefault();
  if (state.exiting) return;
  state.exiting = true;
  closeOpened();
  dom.html.classList.add('leaving');
  document.body.textContent = '';
  document.title = '';
  window.clearTimeout(state.retryTimer);
  var token = state.token;
  state.outbox = [];
  try { window.sessionStorage.clear(); } catch (e) { /* nothing to clear */ }
  window.setTimeout(leave, FORGET_WAIT_MS);

  var socket = state.socket;
  if (socket && socket.readyState === WebSocket.OPEN) {
    // The hello went out on open; the server reads frames in order.
    socket.send('{"type":"forget"}');
  } else if (socket && socket.readyState === WebSocket.CONNECTING && token) {
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: 'hello', resume: { token: token, last_seq: 0 } }));
      socket.send('{"type":"forget"}');
    };
  } else if (token) {
    forgetOnNewSocket(token);
  } else {
    leave();
  }
}

/** Help sites this page opened, and a receipt it put in the clipboard, go too. */
function closeOpened() {
  state.opened.forEach(function (opened) {
    try { opened.close(); } catch (e) { /* already closed */ }
  });
  state.opened = [];
  if (state.copiedReceipt && navigator.clipboard && navigator.clipboard.writeText) {
    state.copiedReceipt = false;
    navigator.clipboard.writeText(' ').catch(function () { /* the warning said to clear it */ });
  }
}

function forgetOnNewSocket(token) {
  var socket;
  try {
    socket = new WebSocket(socketUrl());
  } catch (e) {
    leave();
    return;
  }
  state.socket = socket;
  socket.onopen = function () {
    socket.send(JSON.stringify({ type: 'hello', resume: { token: token, last_seq: 0 } }));
    socket.send('{"type":"forget"}');
  };
  socket.onmessage = function (event) {
    if (String(event.data).indexOf('"forgotten"') >= 0) leave();
  };
  socket.onerror = leave;
  socket.onclose = leave;
}

var left = false;
function leave() {
  if (!state.exiting || left) return;
  left = true;
  try { window.sessionStorage.clear(); } catch (e) { /* nothing to clear */ }
  // replace(): the chat's entry in the history is overwritten, so Back does not return.
  window.location.replace(state.exitUrl);
}

function onKeyDown(event) {
  if (state.exiting) return;
  if (event.key === 'Escape' && !event.isComposing) {
    quickExit(event);
    return;
  }
  if (event.key === 'Shift') {
    if (event.repeat) return;
    var now = Date.now();
    state.shiftPresses = state.shiftPresses.filter(function (at) { return now - at < SHIFT_WINDOW_MS; });
    state.shiftPresses.push(now);
    if (state.shiftPresses.length >= SHIFT_PRESSES) quickExit(event);
    return;
  }
  // Only Shift pressed on its own counts: typing capitals does not add up to an exit.
  state.shiftPresses = [];
}

// ------------------------------------------------------------ phones and large text

/**
 * Keeps the message box in view above an on-screen keyboard that only shrinks the
 * visual viewport (iOS Safari; elsewhere `interactive-widget=resizes-content` resizes
 * the page itself), keeps what scrolls into view clear of the box, and makes the top
 * bar compact when its words would wrap (large text).
 */
function fitScreen() {
  var root = dom.html;
  var viewport = window.visualViewport;
  // The measures go in a rule of chat.css itself (CSSOM): no style attribute, no inline style.
  var sizes = measuresRule();
  var place = function () {
    if (!sizes) return;
    var hidden = viewport ? Math.max(0, window.innerHeight - viewport.height - viewport.offsetTop) : 0;
    sizes.setProperty('--keyboard', Math.round(hidden) + 'px');
    sizes.setProperty('--composer', dom.composer.offsetHeight + 'px');
    sizes.setProperty('--bar', dom.bar.offsetHeight + 'px');
    // A keyboard that opened (or a turned phone) keeps a reader at the end there.
    if (state.atEnd && readerAway()) window.scrollTo(0, document.documentElement.scrollHeight);
  };
  if (viewport) {
    viewport.addEventListener('resize', place);
    viewport.addEventListener('scroll', place);
  }
  window.addEventListener('resize', place);
  var tighten = function () {
    // Measured without the compact look: compact only when the full one would wrap.
    root.classList.remove('bar-tight');
    var row = dom.exit.offsetHeight * 1.6;
    if (dom.bar.offsetHeight - 16 > row) root.classList.add('bar-tight');
    place();
  };
  if (typeof ResizeObserver === 'function') {
    var measured = '';
    new ResizeObserver(function (entries) {
      // Again only when the width or the text size changed (not for its own change).
      var now = entries[0].contentRect.width + ' ' + window.getComputedStyle(root).fontSize;
      if (now !== measured) {
        measured = now;
        tighten();
      }
    }).observe(dom.bar);
    new ResizeObserver(place).observe(dom.composer);
  }
  tighten();
}

/** The style of chat.css's `:root.measured` rule (added once at its end), or null. */
function measuresRule() {
  try {
    var sheet = null;
    for (var i = 0; i < document.styleSheets.length; i++) {
      if (/\/static\/chat\.css$/.test(document.styleSheets[i].href || '')) sheet = document.styleSheets[i];
    }
    if (!sheet) return null;
    var index = sheet.insertRule(':root.measured {}', sheet.cssRules.length);
    dom.html.classList.add('measured');
    return sheet.cssRules[index].style;
  } catch (e) {
    return null;
  }
}

// ------------------------------------------------------------ start

function loadConfig() {
  if (!window.fetch) return;
  window.fetch('/api/chat-config', { credentials: 'omit', cache: 'no-store' })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (config) {
      if (!config) return;
      if (typeof config.quick_exit_url === 'string' && /^https?:\/\//i.test(config.quick_exit_url)) {
        state.exitUrl = config.quick_exit_url;
        if (!state.exiting) dom.exit.href = state.exitUrl;
      }
      if (Array.isArray(config.languages) && config.languages.length) {
        state.languages = config.languages;
        if (!state.exiting) applyLanguage(state.lang);
      }
    })
    .catch(function () { /* the fallback exit and both languages stay */ });
}

function start() {
  dom.exit.addEventListener('click', quickExit);
  document.addEventListener('keydown', onKeyDown, true);
  dom.lang.addEventListener('click', switchLanguage);
  dom.composer.addEventListener('submit', submitText);
  dom.message.addEventListener('keydown', onMessageKey);
  dom.message.addEventListener('input', onMessageInput);
  dom.newer.addEventListener('click', function () {
    dom.newer.hidden = true;
    var last = dom.transcript.lastElementChild;
    if (last) last.scrollIntoView({ block: 'end' });
  });
  window.addEventListener('scroll', function () {
    state.atEnd = !readerAway();
    if (!dom.newer.hidden && state.atEnd) dom.newer.hidden = true;
  }, { passive: true });
  fitScreen();
  window.addEventListener('online', reconnectNow);
  window.addEventListener('offline', function () {
    if (!state.ready) setConnection(t('offline'));
  });
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState !== 'visible') return;
    if (unseen && !state.exiting) {
      unseen = 0;
      document.title = t('title');
    }
    reconnectNow();
  });
  window.addEventListener('pageshow', function (event) {
    // A page restored from the back-forward cache after an exit leaves again.
    if (event.persisted && state.exiting) window.location.replace(state.exitUrl);
  });
  dom.skip.addEventListener('click', function (event) {
    // One URL for the whole conversation: the skip link moves focus, never the address.
    event.preventDefault();
    dom.message.focus();
  });
  applyLanguage(state.lang);
  setConnection(t('connecting'));
  loadConfig();
  connect();
}

start();
