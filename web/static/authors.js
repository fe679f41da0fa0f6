/* What this is for: the behaviour of the flow authors' preview page (web/authors.html,
 * served at /auteurs). It logs an author in (the API refuses other roles, and so does
 * the page, with a sentence), draws the current flows as an SVG graph with its own
 * small layered layout (rows by breadth-first depth from the start node, order within
 * a row by the parents' positions), lets the author filter by file, search a node,
 * zoom and pan, and plays a conversation from any node in either language through the
 * stateless player (/api/flows/play), showing the bot's messages, choices, resources,
 * handoffs and the end, with the variables and the transcript of what fired. It lists
 * the versions the server loaded with the command that rolls back. French first, with
 * an English switch. No framework, no outside request; no inline style (the CSP
 * forbids it): positions are SVG attributes, looks are classes in authors.css.
 * A bot message is drawn by shared/bot.js, the chat's own renderer; the login is
 * shared/login.js, the console's. */
import { clear, element } from './shared/dom.js';
import { pageLanguage, translator } from './shared/i18n.js';
import { asksText, botBubble, choiceButtons, resourceList as resourceCards } from './shared/bot.js';
import { letGo, prefsStore, sessionStore, submitLogin } from './shared/login.js';

// ------------------------------------------------------------------ texts

var TEXTS = {
  fr: {
    title: 'Aperçu des parcours · relais',
    skip: 'Aller au contenu',
    brand: 'Aperçu des parcours',
    appTitle: 'Aperçu des parcours',
    logout: 'Se déconnecter',
    loginTitle: 'Aperçu des parcours',
    loginIntro: 'Pour les personnes qui écrivent les parcours du clavardage : voir le graphe, essayer une conversation, retrouver les versions.',
    username: 'Identifiant',
    password: 'Mot de passe',
    totp: 'Code de vérification',
    totpHint: 'Seulement si votre compte utilise une application d’authentification (6 chiffres).',
    loginSubmit: 'Se connecter',
    loginBusy: 'Connexion…',
    loginMissing: 'Entrez votre identifiant et votre mot de passe.',
    refusedRole: function (name) {
      return 'Ce compte (' + name + ') n’a pas accès à l’aperçu des parcours : il est réservé aux comptes d’auteur·e et de superviseur·e. '
        + 'Demandez à la personne qui gère les comptes de vous donner le rôle d’auteur·e.';
    },
    refused: 'Ce compte n’a pas accès à l’aperçu des parcours : il est réservé aux comptes d’auteur·e et de superviseur·e.',
    expired: 'Votre session a pris fin. Connectez-vous de nouveau.',
    loggedOut: 'Vous êtes déconnecté·e.',
    offline: 'Le serveur ne répond pas. Vérifiez la connexion, puis réessayez.',
    httpError: function (status) { return 'Le serveur a répondu par une erreur (' + status + ').'; },
    rateLimited: function (seconds) { return 'Trop d’essais. Réessayez dans ' + seconds + ' s.'; },
    who: function (name, role) { return name + ' · ' + (role === 'supervisor' ? 'superviseur·e' : 'auteur·e'); },
    graphTitle: 'Le graphe des parcours',
    graphMeta: function (version, nodes, edges) { return 'Version ' + version + ' · ' + nodes + ' nœuds · ' + edges + ' liens'; },
    reload: 'Recharger',
    reloaded: 'Graphe et versions rechargés.',
    fileFilter: 'Fichier',
    allFiles: 'Tous les fichiers',
    search: 'Chercher',
    searchGo: 'Aller',
    searchPlaceholder: 'ex. menu',
    searchNone: function (q) { return 'Aucun nœud ne s’appelle « ' + q + ' ».'; },
    searchFound: function (id) { return 'Nœud « ' + id + ' » choisi.'; },
    searchMany: function (n) { return n + ' nœuds correspondent : les voici en surbrillance.'; },
    zoom: 'Zoom',
    zoomIn: 'Agrandir',
    zoomOut: 'Réduire',
    zoomFit: 'Tout voir',
    graphHelp: 'Clic, ou Tab puis Entrée : choisir un nœud · flèches : d’un nœud à l’autre · + − 0 : zoom',
    graphLabel: function (n) { return 'Graphe des parcours, ' + n + ' nœuds'; },
    legend: 'Légende',
    kinds: {
      node: 'message',
      start: 'départ',
      resource: 'ressources',
      handoff: 'vers une personne',
      urgent_handoff: 'URGENT · personne',
      end: 'fin',
      trigger: 'mots déclencheurs',
      missing: 'nœud introuvable',
    },
    kindLong: {
      node: 'Nœud de messages',
      start: 'Point de départ',
      resource: 'Nœud qui montre des ressources',
      handoff: 'Passe la conversation à une personne',
      urgent_handoff: 'Demande URGENTE d’une personne',
      end: 'Fin de la conversation',
      trigger: 'Mots déclencheurs : tapés à tout moment, ils mènent ici',
      missing: 'Nœud introuvable dans les fichiers',
    },
    legendItems: {
      start: 'Départ',
      node: 'Messages',
      resource: 'Ressources',
      handoff: 'Personne',
      urgent_handoff: 'URGENT',
      end: 'Fin',
      trigger: 'Mots déclencheurs',
      unreached: 'Non atteint',
      current: 'Où en est l’essai',
      forward: 'Choix, réponse',
      back: 'Retour (↩)',
    },
    unreached: 'non atteint',
    backTo: 'retours vers',
    showBack: 'Toutes les lignes de retour',
    ghost: 'autre fichier',
    here: 'ici',
    edgeOtherwise: 'sinon',
    detailNone: 'Aucun nœud choisi',
    detailHint: 'Choisissez un nœud dans le graphe pour voir ce qu’il dit et où il mène, puis jouez depuis ce nœud.',
    detailWhere: function (file, line) { return file ? file + ', ligne ' + line : 'fourni par le moteur'; },
    detailSays: 'Premier message',
    detailResources: 'Ressources',
    detailOut: 'Mène vers',
    detailIn: 'Arrive de',
    detailNothing: 'aucun',
    edgeKinds: { choice: 'choix', route: 'réponse reconnue', otherwise: 'sinon', jump: 'suite', trigger: 'déclencheur' },
    playFromHere: 'Jouer depuis ce nœud',
    noPlayEnd: 'La fin ne se joue pas seule : jouez un nœud qui y mène.',
    noPlayTrigger: 'Pour essayer ces mots, écrivez-les dans la conversation.',
    noPlayMissing: 'Ce nœud n’existe pas dans les fichiers.',
    playTitle: 'Essayer une conversation',
    playLang: 'Langue de la conversation :',
    playStart: 'Depuis le début',
    playNode: function (id) { return 'Depuis « ' + id + ' »'; },
    playNodeNone: 'Depuis le nœud choisi',
    restart: 'Recommencer',
    conversationTitle: 'Conversation',
    messageLabel: 'Écrire comme un·e jeune',
    messageHint: 'Les mots déclencheurs (urgence, aide) marchent à tout moment.',
    messageAsking: 'Le robot attend une réponse écrite.',
    send: 'Envoyer',
    playEmpty: 'Jouez depuis le début, ou choisissez un nœud du graphe puis « Jouer depuis ce nœud ».',
    started: function (from, lang) { return 'Départ depuis « ' + from + ' » en ' + lang; },
    startedAt: function (from) { return 'Conversation commencée depuis « ' + from + ' ».'; },
    theStart: 'le début',
    youChose: 'Choix',
    youWrote: 'Texte',
    bot: 'Robot',
    handoff: 'Ici, la conversation passerait à une personne.',
    handoffUrgent: 'URGENT : ici, une personne serait demandée en priorité.',
    topic: 'Sujet',
    ifNobody: 'Si personne n’est disponible, le ou la jeune verrait :',
    end: 'Fin de la conversation.',
    notExpected: 'Ce choix n’est pas proposé ici (rien n’a changé).',
    offered: 'Choix proposés',
    varsTitle: 'Variables',
    varsEmpty: 'Aucune variable pour l’instant.',
    varName: 'Nom',
    varValue: 'Valeur',
    varNew: 'nouvelle',
    varChanged: 'changée',
    varGone: 'effacée',
    traceTitle: 'Ce qui s’est passé',
    traceEmpty: 'Les nœuds traversés, les variables, les déclencheurs et les réponses reconnues s’affichent ici.',
    traceStart: function (from, lang) { return '> départ ' + (from ? 'depuis ' + from : 'au début') + ' (' + lang + ')'; },
    traceChoice: function (id) { return '> choix #' + id; },
    traceText: function (text) { return '> texte « ' + text + ' »'; },
    nodeRef: function (id) { return 'Voir le nœud ' + id + ' dans le graphe'; },
    versionsTitle: 'Versions chargées',
    versionsIntro: 'Chaque version des parcours que le serveur a chargée est gardée. Pour revenir à une version, lancez la commande indiquée sur le serveur : cette page ne change rien elle-même.',
    colVersion: 'Version',
    colLoaded: 'Chargée le',
    colFiles: 'Fichiers',
    colState: 'État',
    colRollback: 'Pour y revenir',
    serving: 'En service',
    archived: 'Gardée',
    servingNote: 'version actuelle',
    versionsEmpty: 'Aucune version gardée pour l’instant.',
    busy: 'Un instant…',
    languages: { fr: 'Français', en: 'English' },
    languageIn: { fr: 'français', en: 'anglais' },
  },
  en: {
    title: 'Flow preview · relais',
    skip: 'Skip to content',
    brand: 'Flow preview',
    appTitle: 'Flow preview',
    logout: 'Log out',
    loginTitle: 'Flow preview',
    loginIntro: 'For the people who write the chat’s flows: see the graph, try a conversation, find the versions.',
    username: 'Username',
    password: 'Password',
    totp: 'Verification code',
    totpHint: 'Only if your account uses an authenticator app (6 digits).',
    loginSubmit: 'Log in',
    loginBusy: 'Logging in…',
    loginMissing: 'Enter your username and your password.',
    refusedRole: function (name) {
      return 'This account (' + name + ') cannot use the flow preview: it is for author and supervisor accounts. '
        + 'Ask the person who manages accounts to give you the author role.';
    },
    refused: 'This account cannot use the flow preview: it is for author and supervisor accounts.',
    expired: 'Your session has ended. Please log in again.',
    loggedOut: 'You are logged out.',
    offline: 'The server does not answer. Check the connection, then try again.',
    httpError: function (status) { return 'The server answered with an error (' + status + ').'; },
    rateLimited: function (seconds) { return 'Too many tries. Try again in ' + seconds + ' s.'; },
    who: function (name, role) { return name + ' · ' + (role === 'supervisor' ? 'supervisor' : 'author'); },
    graphTitle: 'The flow graph',
    graphMeta: function (version, nodes, edges) { return 'Version ' + version + ' · ' + nodes + ' nodes · ' + edges + ' links'; },
    reload: 'Reload',
    reloaded: 'Graph and versions reloaded.',
    fileFilter: 'File',
    allFiles: 'All files',
    search: 'Find',
    searchGo: 'Go',
    searchPlaceholder: 'e.g. menu',
    searchNone: function (q) { return 'No node is called “' + q + '”.'; },
    searchFound: function (id) { return 'Node “' + id + '” selected.'; },
    searchMany: function (n) { return n + ' nodes match: they are highlighted.'; },
    zoom: 'Zoom',
    zoomIn: 'Zoom in',
    zoomOut: 'Zoom out',
    zoomFit: 'Fit',
    graphHelp: 'Click, or Tab then Enter: select a node · arrows: from node to node · + − 0: zoom',
    graphLabel: function (n) { return 'Flow graph, ' + n + ' nodes'; },
    legend: 'Legend',
    kinds: {
      node: 'messages',
      start: 'start',
      resource: 'resources',
      handoff: 'to a person',
      urgent_handoff: 'URGENT · person',
      end: 'end',
      trigger: 'trigger words',
      missing: 'missing node',
    },
    kindLong: {
      node: 'Node of messages',
      start: 'Starting point',
      resource: 'Node that shows resources',
      handoff: 'Hands the conversation to a person',
      urgent_handoff: 'URGENT request for a person',
      end: 'End of the conversation',
      trigger: 'Trigger words: typed at any moment, they lead here',
      missing: 'Node missing from the files',
    },
    legendItems: {
      start: 'Start',
      node: 'Messages',
      resource: 'Resources',
      handoff: 'Person',
      urgent_handoff: 'URGENT',
      end: 'End',
      trigger: 'Trigger words',
      unreached: 'Not reached',
      current: 'Where the test is',
      forward: 'Choice, answer',
      back: 'Going back (↩)',
    },
    unreached: 'not reached',
    backTo: 'goes back to',
    showBack: 'All lines going back',
    ghost: 'other file',
    here: 'here',
    edgeOtherwise: 'otherwise',
    detailNone: 'No node selected',
    detailHint: 'Pick a node in the graph to see what it says and where it leads, then play from it.',
    detailWhere: function (file, line) { return file ? file + ', line ' + line : 'provided by the engine'; },
    detailSays: 'First message',
    detailResources: 'Resources',
    detailOut: 'Leads to',
    detailIn: 'Comes from',
    detailNothing: 'none',
    edgeKinds: { choice: 'choice', route: 'matched answer', otherwise: 'otherwise', jump: 'next', trigger: 'trigger' },
    playFromHere: 'Play from this node',
    noPlayEnd: 'The end does not play alone: play a node that leads to it.',
    noPlayTrigger: 'To try these words, type them in the conversation.',
    noPlayMissing: 'This node is not in the files.',
    playTitle: 'Try a conversation',
    playLang: 'Language of the conversation:',
    playStart: 'From the start',
    playNode: function (id) { return 'From “' + id + '”'; },
    playNodeNone: 'From the selected node',
    restart: 'Start again',
    conversationTitle: 'Conversation',
    messageLabel: 'Write as a youth',
    messageHint: 'Trigger words (urgent, help) work at any moment.',
    messageAsking: 'The bot waits for a written answer.',
    send: 'Send',
    playEmpty: 'Play from the start, or pick a node in the graph, then “Play from this node”.',
    started: function (from, lang) { return 'Started from “' + from + '” in ' + lang; },
    startedAt: function (from) { return 'Conversation started from “' + from + '”.'; },
    theStart: 'the start',
    youChose: 'Choice',
    youWrote: 'Text',
    bot: 'Bot',
    handoff: 'Here, the conversation would go to a person.',
    handoffUrgent: 'URGENT: here, a person would be asked for first.',
    topic: 'Topic',
    ifNobody: 'If nobody is available, the youth would see:',
    end: 'End of the conversation.',
    notExpected: 'This choice is not offered here (nothing changed).',
    offered: 'Choices offered',
    varsTitle: 'Variables',
    varsEmpty: 'No variable yet.',
    varName: 'Name',
    varValue: 'Value',
    varNew: 'new',
    varChanged: 'changed',
    varGone: 'cleared',
    traceTitle: 'What happened',
    traceEmpty: 'The nodes crossed, the variables, the triggers and the matched answers show here.',
    traceStart: function (from, lang) { return '> start ' + (from ? 'from ' + from : 'at the beginning') + ' (' + lang + ')'; },
    traceChoice: function (id) { return '> choice #' + id; },
    traceText: function (text) { return '> text “' + text + '”'; },
    nodeRef: function (id) { return 'Show node ' + id + ' in the graph'; },
    versionsTitle: 'Loaded versions',
    versionsIntro: 'Every version of the flows the server loaded is kept. To go back to one, run the command shown on the server: this page changes nothing itself.',
    colVersion: 'Version',
    colLoaded: 'Loaded on',
    colFiles: 'Files',
    colState: 'State',
    colRollback: 'To go back to it',
    serving: 'Serving',
    archived: 'Kept',
    servingNote: 'current version',
    versionsEmpty: 'No version kept yet.',
    busy: 'One moment…',
    languages: { fr: 'Français', en: 'English' },
    languageIn: { fr: 'French', en: 'English' },
  },
};

var SESSION_KEY = 'relais.authors.session';
var PREFS_KEY = 'relais.authors.prefs';
var AUTHOR_ROLES = ['author', 'supervisor'];
var SVG = 'http://www.w3.org/2000/svg';

// The layout's measures, in SVG units (1 unit = 1 CSS pixel at 100 %).
var NODE_W = 158;
var NODE_H = 46;
var GAP_X = 30;
var GAP_Y = 96;
var SUBROW_GAP = 50;
var MARGIN = 36;
var MAX_PER_ROW = 9;
var ID_CHARS = 16;
var LABEL_CHARS = 22;
var SCALES = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.15, 1.3, 1.5, 1.75, 2];

var turnsDrawn = 0;

var state = {
  lang: 'fr',
  session: null,
  data: null,      // the answer of /api/flows/graph
  model: null,     // nodes, edges, files, adjacency, reachability
  layout: null,    // positions of the nodes drawn
  file: '',
  scale: 1,
  selected: null,
  focused: null,
  showBack: false,
  matches: [],
  versions: [],
  play: freshPlay('fr'),
};

function freshPlay(lang) {
  return {
    lang: lang,
    active: false,
    from: null,       // the node played from (null: the start)
    state: null,      // {node, vars} from the last answer
    turns: [],        // [{echo, frames, notExpected}]
    trace: [],        // [{input line, transcript text}]
    vars: {},
    previousVars: {},
    visited: {},
    ended: false,
    asking: false,
    busy: false,
  };
}

// The page's words in its language, French where a word is missing (shared/i18n.js).
var t = translator(TEXTS, function () { return state.lang; });

function $(id) {
  return document.getElementById(id);
}

function svg(tag, attributes, className) {
  var node = document.createElementNS(SVG, tag);
  if (className) node.setAttribute('class', className);
  if (attributes) {
    Object.keys(attributes).forEach(function (name) {
      node.setAttribute(name, String(attributes[name]));
    });
  }
  return node;
}

function short(text, max) {
  var value = String(text || '');
  return value.length > max ? value.slice(0, max - 1) + '…' : value;
}

// ------------------------------------------------------------------ preferences and session

// Kept as the console keeps them (shared/login.js): the language in localStorage, the session in sessionStorage.
var preferences = prefsStore(PREFS_KEY);
var sessions = sessionStore(SESSION_KEY);

function loadPrefs() {
  return preferences.load();
}

function savePrefs() {
  preferences.save({ lang: state.lang });
}

function saveSession() {
  sessions.save(state.session);
}

function readSession() {
  return sessions.read();
}

// ------------------------------------------------------------------ the API

function ApiError(status, message, code) {
  this.status = status;
  this.message = message;
  this.code = code;
}

function api(method, path, body, token) {
  var headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  var bearer = token || (state.session && state.session.token);
  if (bearer) headers.authorization = 'Bearer ' + bearer;
  return fetch(path, {
    method: method,
    headers: headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  }).then(function (response) {
    if (response.status === 204) return null;
    return response.json().catch(function () { return null; }).then(function (data) {
      if (response.ok) return data;
      var message = data && (state.lang === 'en' ? data.message_en : data.message);
      if (response.status === 429) {
        var wait = Number(data && data.retry_after_ms) || Number(response.headers.get('retry-after')) * 1000 || 1000;
        message = t('rateLimited', Math.max(1, Math.ceil(wait / 1000)));
      }
      throw new ApiError(response.status, message || t('httpError', response.status), data && data.error);
    });
  }, function () {
    throw new ApiError(0, t('offline'), 'offline');
  });
}

/** A failed call after login: an expired session goes back to the login form. */
function failed(error, where) {
  if (error && error.status === 401) {
    endSession(t('expired'));
    return;
  }
  if (error && error.status === 403) {
    endSession(t('refused'), true);
    return;
  }
  var status = where || $('play-status');
  status.textContent = (error && error.message) || t('offline');
  status.classList.add('error');
}

// ------------------------------------------------------------------ language of the page

function applyTexts() {
  document.documentElement.lang = state.lang;
  document.title = t('title');
  Array.prototype.forEach.call(document.querySelectorAll('[data-t]'), function (node) {
    var value = t(node.getAttribute('data-t'));
    if (typeof value === 'string') node.textContent = value;
  });
  Array.prototype.forEach.call(document.querySelectorAll('[data-t-label]'), function (node) {
    node.setAttribute('aria-label', t(node.getAttribute('data-t-label')));
  });
  var other = state.lang === 'fr' ? 'en' : 'fr';
  var toggle = $('lang');
  toggle.textContent = TEXTS[other].languages[other];
  toggle.setAttribute('lang', other);
  $('legend').setAttribute('aria-label', t('legend'));
  $('node-search').setAttribute('placeholder', t('searchPlaceholder'));
  if (state.session) $('who').textContent = t('who', state.session.name, state.session.role);
}

function switchLanguage() {
  state.lang = state.lang === 'fr' ? 'en' : 'fr';
  savePrefs();
  applyTexts();
  if (state.session && state.model) {
    renderMeta();
    renderEditBanner(state.data && state.data.last_edit);
    renderFileFilter();
    renderLegend();
    drawGraph(false);
    renderDetail();
    renderPlayControls();
    renderConversation(false);
    renderVars();
    renderTranscript();
    renderVersions();
  }
}

// ------------------------------------------------------------------ login

function showLogin(notice, isError) {
  $('app-view').hidden = true;
  $('login-view').hidden = false;
  $('logout').hidden = true;
  $('who').hidden = true;
  var error = $('login-error');
  var info = $('login-notice');
  error.hidden = true;
  info.hidden = true;
  if (notice) {
    var target = isError ? error : info;
    target.textContent = notice;
    target.hidden = false;
  }
}

function login(event) {
  event.preventDefault();
  var error = $('login-error');
  $('login-notice').hidden = true;
  submitLogin(
    { form: $('login-form'), username: $('username'), password: $('password'), totp: $('totp'), submit: $('login-submit') },
    {
      t: t,
      request: function (body) { return api('POST', '/api/login', body, null); },
      // The page is not for this account: said so, and its session not kept.
      allowed: function (role) { return AUTHOR_ROLES.indexOf(role) >= 0; },
      refused: function (answer, username) { return t('refusedRole', answer.name || answer.login || username); },
      failure: function (failure) { return failure.message; },
      showError: function (text) {
        error.textContent = text;
        error.hidden = !text;
      },
      onSession: function (session) {
        state.session = session;
        saveSession();
        enterApp(true);
      },
    }
  );
}

function logout() {
  var token = state.session && state.session.token;
  letGo(token);
  endSession(t('loggedOut'));
}

function endSession(notice, isError) {
  state.session = null;
  state.data = null;
  state.model = null;
  state.selected = null;
  state.play = freshPlay(state.play.lang);
  saveSession();
  showLogin(notice, isError);
  $('username').focus();
}

function enterApp(focus) {
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  $('logout').hidden = false;
  var who = $('who');
  who.hidden = false;
  who.textContent = t('who', state.session.name, state.session.role);
  state.play = freshPlay(state.play.lang || state.lang);
  renderPlayControls();
  renderConversation(false);
  renderVars();
  renderTranscript();
  return loadAll().then(function () {
    if (focus && state.session) $('graph-title').focus();
  });
}

function loadAll() {
  var status = $('search-status');
  return Promise.all([
    api('GET', '/api/flows/graph'),
    api('GET', '/api/flows/versions'),
  ]).then(function (answers) {
    state.data = answers[0];
    state.model = buildModel(answers[0]);
    state.versions = Array.isArray(answers[1]) ? answers[1] : [];
    renderEditBanner(answers[0] && answers[0].last_edit);
    lastEditSeen = JSON.stringify(answers[0] && answers[0].last_edit);
    watchEdits();
    if (state.selected && !state.model.nodes[state.selected]) state.selected = null;
    if (state.file && state.model.files.indexOf(state.file) < 0) state.file = '';
    var languages = state.model.languages;
    if (languages.indexOf(state.play.lang) < 0) state.play.lang = languages.indexOf(state.lang) >= 0 ? state.lang : languages[0];
    renderMeta();
    renderFileFilter();
    renderSearchList();
    renderLegend();
    drawGraph(true);
    renderDetail();
    renderPlayControls();
    renderVersions();
    status.classList.remove('error');
  }, function (error) {
    failed(error, status);
  });
}

// Every few seconds, ask what happened to the last edit: a refused edit shows at
// once, an accepted one redraws the graph.
var statusTimer = null;
var lastEditSeen = null;
function watchEdits() {
  if (statusTimer) return;
  statusTimer = setInterval(function () {
    if (!state.session || document.hidden) return;
    api('GET', '/api/flows/status').then(function (status) {
      var key = JSON.stringify(status && status.last_edit);
      if (key === lastEditSeen) return;
      lastEditSeen = key;
      if (state.data && status && status.version !== state.data.version) {
        loadAll();
      } else {
        renderEditBanner(status && status.last_edit);
      }
    }, function () { /* the next tick tries again */ });
  }, 2000);
}

// The last edit of the flows folder: refused (with the checker's diagnostics, in
// French as the checker writes them) or accepted.
function renderEditBanner(edit) {
  var banner = $('edit-banner');
  if (!banner) return;
  banner.textContent = '';
  if (!edit) {
    banner.hidden = true;
    return;
  }
  var when = new Date(edit.at_secs * 1000);
  var hhmm = String(when.getHours()).padStart(2, '0') + ':' + String(when.getMinutes()).padStart(2, '0');
  var en = state.lang === 'en';
  var head = document.createElement('p');
  head.className = 'edit-banner-head';
  if (edit.accepted) {
    banner.className = 'edit-banner accepted';
    head.textContent = en
      ? 'Your last edit (' + hhmm + ') was accepted' + (edit.back_to_served ? ': back to the version already served.' : '.')
      : 'Ta dernière modification (' + hhmm + ') a été acceptée' + (edit.back_to_served ? ' : retour à la version déjà servie.' : '.');
  } else {
    banner.className = 'edit-banner refused';
    head.textContent = en
      ? 'Your last edit (' + hhmm + ') was refused; the previous version keeps serving. Fix these errors and save again:'
      : 'Ta dernière modification (' + hhmm + ') a été refusée; la version précédente reste servie. Corrige ces erreurs et enregistre de nouveau :';
  }
  banner.appendChild(head);
  if (!edit.accepted && Array.isArray(edit.errors) && edit.errors.length) {
    var list = document.createElement('ul');
    edit.errors.forEach(function (line) {
      var item = document.createElement('li');
      item.textContent = line;
      list.appendChild(item);
    });
    banner.appendChild(list);
  }
  banner.hidden = false;
}

// ------------------------------------------------------------------ the graph's model

function buildModel(data) {
  var graph = (data && data.graph) || { nodes: [], edges: [] };
  var nodes = {};
  var order = [];
  function add(node, pseudo) {
    if (nodes[node.id]) return;
    nodes[node.id] = {
      id: node.id,
      file: node.file || '',
      line: node.line || 0,
      kind: node.kind || 'node',
      says: node.says || '',
      resources: Array.isArray(node.resources) ? node.resources : [],
      pseudo: !!pseudo,
      index: order.length,
      out: [],
      in: [],
    };
    order.push(node.id);
  }
  (graph.nodes || []).forEach(function (node) { add(node, false); });
  var edges = [];
  (graph.edges || []).forEach(function (edge, index) {
    [edge.from, edge.to].forEach(function (end) {
      if (!nodes[end]) add({ id: end, kind: end.charAt(0) === '*' ? 'trigger' : 'missing' }, true);
    });
    var item = { index: index, from: edge.from, to: edge.to, kind: edge.kind, label: edge.label || '' };
    edges.push(item);
    nodes[edge.from].out.push(item);
    nodes[edge.to].in.push(item);
  });
  var files = [];
  order.forEach(function (id) {
    var file = nodes[id].file;
    if (file && files.indexOf(file) < 0) files.push(file);
  });
  files.sort();
  var start = graph.start && nodes[graph.start] ? graph.start : order[0];
  // Entry points: the start, then the trigger words (reached from anywhere).
  var roots = [start].concat(order.filter(function (id) { return nodes[id].kind === 'trigger'; }));
  var reached = {};
  var queue = roots.filter(Boolean);
  queue.forEach(function (id) { reached[id] = true; });
  while (queue.length) {
    var id = queue.shift();
    nodes[id].out.forEach(function (edge) {
      if (!reached[edge.to]) {
        reached[edge.to] = true;
        queue.push(edge.to);
      }
    });
  }
  return {
    version: data && data.version,
    languages: Array.isArray(data && data.languages) && data.languages.length ? data.languages : ['fr', 'en'],
    start: start,
    nodes: nodes,
    order: order,
    edges: edges,
    files: files,
    roots: roots,
    reached: reached,
  };
}

/** The nodes drawn: all, or a file's nodes with the nodes they link to or come from. */
function visibleSet() {
  var model = state.model;
  var shown = {};
  var ghosts = {};
  if (!state.file) {
    model.order.forEach(function (id) { shown[id] = true; });
    return { shown: shown, ghosts: ghosts, roots: model.roots };
  }
  model.order.forEach(function (id) {
    if (model.nodes[id].file === state.file) shown[id] = true;
  });
  model.edges.forEach(function (edge) {
    if (shown[edge.from] && !shown[edge.to]) ghosts[edge.to] = true;
    if (shown[edge.to] && !shown[edge.from]) ghosts[edge.from] = true;
  });
  Object.keys(ghosts).forEach(function (id) { shown[id] = true; });
  // Rows start from what leads into the file, then the file's own first node.
  var roots = model.order.filter(function (id) {
    return ghosts[id] && model.nodes[id].out.some(function (edge) { return shown[edge.to] && !ghosts[edge.to]; });
  });
  model.order.forEach(function (id) {
    if (shown[id] && !ghosts[id] && roots.length === 0) roots.push(id);
  });
  return { shown: shown, ghosts: ghosts, roots: roots };
}

// ------------------------------------------------------------------ the layout

/**
 * Rows by breadth-first depth from the roots (what no root reaches goes in rows of
 * its own below); within a row, nodes are ordered by the mean position of their
 * parents above, then of their children below; a row of more than MAX_PER_ROW
 * nodes wraps into sub-rows.
 */
function computeLayout(set) {
  var model = state.model;
  var depth = {};
  var queue = [];
  function visit(roots, base) {
    roots.forEach(function (id) {
      if (set.shown[id] && depth[id] === undefined) {
        depth[id] = base;
        queue.push(id);
      }
    });
    while (queue.length) {
      var id = queue.shift();
      model.nodes[id].out.forEach(function (edge) {
        if (set.shown[edge.to] && depth[edge.to] === undefined) {
          depth[edge.to] = depth[id] + 1;
          queue.push(edge.to);
        }
      });
    }
  }
  visit(set.roots, 0);
  // Whatever the roots do not reach: its own rows below, in file order.
  var deepest = 0;
  Object.keys(depth).forEach(function (id) { deepest = Math.max(deepest, depth[id]); });
  model.order.forEach(function (id) {
    if (set.shown[id] && depth[id] === undefined) visit([id], deepest + 1);
  });

  var layers = [];
  model.order.forEach(function (id) {
    if (!set.shown[id]) return;
    var d = depth[id];
    (layers[d] = layers[d] || []).push(id);
  });
  layers = layers.filter(Boolean);

  // Order within rows: barycentres of the parents (down), then of the children (up).
  var position = {};
  function number(layer) {
    layer.forEach(function (id, i) { position[id] = i - (layer.length - 1) / 2; });
  }
  layers.forEach(number);
  var layerOf = {};
  layers.forEach(function (layer, i) { layer.forEach(function (id) { layerOf[id] = i; }); });
  function sweep(layer, i, useParents) {
    var keyed = layer.map(function (id, k) {
      var node = model.nodes[id];
      var near = (useParents ? node.in : node.out).map(function (edge) { return useParents ? edge.from : edge.to; })
        .filter(function (other) {
          return set.shown[other] && (useParents ? layerOf[other] < i : layerOf[other] > i);
        });
      var key = near.length
        ? near.reduce(function (sum, other) { return sum + position[other]; }, 0) / near.length
        : position[id];
      return { id: id, key: key, k: k };
    });
    keyed.sort(function (a, b) { return a.key - b.key || a.k - b.k; });
    layers[i] = keyed.map(function (item) { return item.id; });
    number(layers[i]);
  }
  for (var pass = 0; pass < 2; pass += 1) {
    for (var down = 1; down < layers.length; down += 1) sweep(layers[down], down, true);
    for (var up = layers.length - 2; up >= 0; up -= 1) sweep(layers[up], up, false);
  }
  for (var last = 1; last < layers.length; last += 1) sweep(layers[last], last, true);

  // Rows (a wide layer wraps), then coordinates.
  var rows = [];
  layers.forEach(function (layer, i) {
    for (var from = 0; from < layer.length; from += MAX_PER_ROW) {
      rows.push({ layer: i, ids: layer.slice(from, from + MAX_PER_ROW), first: from === 0 });
    }
  });
  var widest = rows.reduce(function (max, row) { return Math.max(max, row.ids.length); }, 1);
  var contentWidth = widest * NODE_W + (widest - 1) * GAP_X;
  var positions = {};
  var y = MARGIN;
  rows.forEach(function (row, r) {
    if (r > 0) y += row.first ? GAP_Y : SUBROW_GAP;
    var rowWidth = row.ids.length * NODE_W + (row.ids.length - 1) * GAP_X;
    var x = MARGIN + (contentWidth - rowWidth) / 2;
    row.ids.forEach(function (id, k) {
      positions[id] = { x: x + k * (NODE_W + GAP_X), y: y, w: NODE_W, h: NODE_H, row: r, layer: row.layer };
    });
    y += NODE_H;
  });
  return {
    positions: positions,
    depth: depth,
    layerOf: layerOf,
    width: contentWidth + 2 * MARGIN,
    height: y + MARGIN,
    set: set,
  };
}

// ------------------------------------------------------------------ drawing

function kindOf(node) {
  if (node.id === state.model.start && node.kind === 'node') return 'start';
  return node.kind;
}

function nodeClasses(node) {
  var set = state.layout.set;
  var classes = ['node', 'kind-' + node.kind];
  if (node.id === state.model.start) classes.push('start');
  if (!state.model.reached[node.id]) classes.push('unreached');
  if (set.ghosts[node.id]) classes.push('ghost');
  if (state.selected === node.id) classes.push('selected');
  if (state.play.active && state.play.state && state.play.state.node === node.id) classes.push('current');
  if (state.play.visited[node.id]) classes.push('visited');
  if (state.matches.indexOf(node.id) >= 0) classes.push('match');
  return classes.join(' ');
}

function nodeTag(node) {
  var kinds = t('kinds');
  var tag = kinds[kindOf(node)] || node.kind;
  if (node.kind === 'resource' && node.resources.length) tag += ' · ' + node.resources.length;
  if (!state.model.reached[node.id] && node.kind !== 'trigger') tag += ' · ' + t('unreached');
  else if (state.layout.set.ghosts[node.id]) tag += ' · ' + (node.file || t('ghost'));
  return tag;
}

function nodeLabel(node) {
  var parts = [node.id, t('kindLong')[kindOf(node)] || node.kind];
  if (node.file) parts.push(t('detailWhere', node.file, node.line));
  if (!state.model.reached[node.id] && node.kind !== 'trigger') parts.push(t('unreached'));
  return parts.join(', ');
}

function edgeText(edge) {
  if (edge.kind === 'choice') return short(edge.label, LABEL_CHARS);
  if (edge.kind === 'route') {
    var words = edge.label.split(',').map(function (word) { return word.trim(); }).filter(Boolean);
    return '≈ ' + short(words.slice(0, 2).join(', ') + (words.length > 2 ? ', …' : ''), LABEL_CHARS - 2);
  }
  if (edge.kind === 'otherwise') return t('edgeOtherwise');
  return '';
}

/** A point of the cubic Bézier p0 p1 p2 p3 at t. */
function bezier(p, s) {
  var u = 1 - s;
  return {
    x: u * u * u * p[0].x + 3 * u * u * s * p[1].x + 3 * u * s * s * p[2].x + s * s * s * p[3].x,
    y: u * u * u * p[0].y + 3 * u * u * s * p[1].y + 3 * u * s * s * p[2].y + s * s * s * p[3].y,
  };
}

function drawGraph(resetView) {
  var model = state.model;
  if (!model) return;
  var set = visibleSet();
  var layout = computeLayout(set);
  state.layout = layout;
  var root = $('graph');
  clear(root);
  root.setAttribute('viewBox', '0 0 ' + layout.width + ' ' + layout.height);
  root.setAttribute('aria-label', t('graphLabel', Object.keys(layout.positions).length));

  var defs = svg('defs');
  ['plain', 'back', 'hot', 'in', 'urgent'].forEach(function (name) {
    var marker = svg('marker', {
      id: 'arrow-' + name,
      viewBox: '0 0 10 10',
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: 'auto-start-reverse',
    }, 'arrow arrow-' + name);
    marker.appendChild(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z' }));
    defs.appendChild(marker);
  });
  root.appendChild(defs);

  var edgesLayer = svg('g', { 'aria-hidden': 'true' }, 'edges');
  var labelsLayer = svg('g', { 'aria-hidden': 'true' }, 'edge-labels');
  var nodesLayer = svg('g', null, 'nodes');
  var positions = layout.positions;
  var drawn = model.edges.filter(function (edge) { return positions[edge.from] && positions[edge.to]; });

  // Ports: each node's edges leave and arrive spread along its top and bottom sides,
  // ordered by where the other end is, so lines from one node do not cross at once.
  var ports = {};
  function port(id, side) {
    var key = id + '|' + side;
    return (ports[key] = ports[key] || []);
  }
  var selected = state.selected;
  // Links back (to a row above or the same row) are many ("back to the menu", "talk
  // to a person"): each node lists them under itself ("↩ menu, parler"); they are
  // drawn as lines only for the selected node, or when the author asks for all.
  var stubs = {};
  var shapes = [];
  drawn.forEach(function (edge) {
    var a = positions[edge.from];
    var b = positions[edge.to];
    var shape = { edge: edge, a: a, b: b };
    if (edge.from === edge.to) shape.type = 'self';
    else if (b.y > a.y) shape.type = 'down';
    else if (b.y < a.y) shape.type = 'up';
    else shape.type = 'side';
    shape.back = edge.kind !== 'trigger' && (layout.depth[edge.to] <= layout.depth[edge.from]);
    shape.touches = !!selected && (edge.from === selected || edge.to === selected);
    if (shape.back) {
      var list = (stubs[edge.from] = stubs[edge.from] || []);
      if (list.indexOf(edge.to) < 0) list.push(edge.to);
      if (!state.showBack && !shape.touches) return;
    }
    shapes.push(shape);
    if (shape.type === 'down') {
      port(edge.from, 'bottom').push({ shape: shape, end: 'from', other: b.x });
      port(edge.to, 'top').push({ shape: shape, end: 'to', other: a.x });
    } else if (shape.type === 'up') {
      port(edge.from, 'top').push({ shape: shape, end: 'from', other: b.x });
      port(edge.to, 'bottom').push({ shape: shape, end: 'to', other: a.x });
    } else if (shape.type === 'side') {
      port(edge.from, 'top').push({ shape: shape, end: 'from', other: b.x });
      port(edge.to, 'top').push({ shape: shape, end: 'to', other: a.x });
    }
  });
  Object.keys(ports).forEach(function (key) {
    var list = ports[key];
    var id = key.slice(0, key.lastIndexOf('|'));
    var side = key.slice(key.lastIndexOf('|') + 1);
    var box = positions[id];
    list.sort(function (p, q) { return p.other - q.other; });
    list.forEach(function (item, i) {
      var x = box.x + 14 + ((box.w - 28) * (i + 1)) / (list.length + 1);
      var y = side === 'top' ? box.y : box.y + box.h;
      item.shape[item.end] = { x: x, y: y };
    });
  });

  shapes.forEach(function (shape) {
    var edge = shape.edge;
    var p0 = shape.from;
    var p3 = shape.to;
    var points;
    if (shape.type === 'self') {
      var box = shape.a;
      p0 = { x: box.x + box.w, y: box.y + box.h * 0.3 };
      p3 = { x: box.x + box.w, y: box.y + box.h * 0.7 };
      points = [p0, { x: p0.x + 36, y: p0.y - 18 }, { x: p3.x + 36, y: p3.y + 18 }, p3];
    } else if (shape.type === 'down') {
      var bend = Math.max(30, (p3.y - p0.y) * 0.45);
      points = [p0, { x: p0.x, y: p0.y + bend }, { x: p3.x, y: p3.y - bend }, p3];
    } else if (shape.type === 'up') {
      var lift = Math.max(40, (p0.y - p3.y) * 0.3);
      points = [p0, { x: p0.x, y: p0.y - lift }, { x: p3.x, y: p3.y + lift }, p3];
    } else {
      var arc = 28 + Math.min(60, Math.abs(p3.x - p0.x) * 0.12);
      points = [p0, { x: p0.x, y: p0.y - arc }, { x: p3.x, y: p3.y - arc }, p3];
    }
    var touches = shape.touches;
    var urgent = state.model.nodes[edge.to].kind === 'urgent_handoff';
    var classes = ['edge', 'edge-' + edge.kind, shape.back ? 'back' : 'forward'];
    if (urgent) classes.push('to-urgent');
    var outgoing = touches && edge.from === selected;
    if (outgoing) classes.push('hot');
    else if (touches) classes.push('hot-in');
    else if (selected) classes.push('dim');
    if (set.ghosts[edge.from] || set.ghosts[edge.to]) classes.push('ghost');
    var marker = outgoing ? 'hot' : touches ? 'in' : urgent && !shape.back ? 'urgent' : shape.back ? 'back' : 'plain';
    var d = 'M ' + round(points[0].x) + ' ' + round(points[0].y)
      + ' C ' + round(points[1].x) + ' ' + round(points[1].y)
      + ' ' + round(points[2].x) + ' ' + round(points[2].y)
      + ' ' + round(points[3].x) + ' ' + round(points[3].y);
    var path = svg('path', { d: d, 'marker-end': 'url(#arrow-' + marker + ')', 'data-from': edge.from, 'data-to': edge.to }, classes.join(' '));
    edgesLayer.appendChild(path);

    // Short labels: on the links that go forward (faded when another node is
    // selected), and on the selected node's own links.
    var text = edgeText(edge);
    if (text && (outgoing || !shape.back)) {
      var at = bezier(points, shape.type === 'down' ? 0.7 : 0.5);
      var label = svg('text', { x: round(at.x), y: round(at.y + 4), 'text-anchor': 'middle' }, 'edge-label edge-label-' + edge.kind + (outgoing ? ' hot' : selected && !touches ? ' dim' : ''));
      label.textContent = text;
      labelsLayer.appendChild(label);
    }
  });

  var anchor = [state.focused, state.selected, state.play.active && state.play.state && state.play.state.node, model.start]
    .filter(function (id) { return id && positions[id]; })[0] || Object.keys(positions)[0];
  model.order.forEach(function (id) {
    var box = positions[id];
    if (!box) return;
    var node = model.nodes[id];
    var group = svg('g', {
      transform: 'translate(' + round(box.x) + ' ' + round(box.y) + ')',
      // One node is in the Tab order (the selected one, or where the test is, or the
      // start); the arrow keys move between nodes.
      tabindex: id === anchor ? 0 : -1,
      role: 'button',
      'aria-pressed': state.selected === id ? 'true' : 'false',
      'data-id': id,
      'data-kind': node.kind,
    }, nodeClasses(node));
    group.appendChild(svg('rect', { x: -10, y: -10, width: box.w + 20, height: box.h + 20, rx: 16 }, 'ring'));
    group.appendChild(svg('rect', { x: -5, y: -5, width: box.w + 10, height: box.h + 10, rx: 13 }, 'halo'));
    var radius = node.kind === 'end' ? box.h / 2 : node.kind === 'trigger' ? 4 : 9;
    group.appendChild(svg('rect', { x: 0, y: 0, width: box.w, height: box.h, rx: radius }, 'box'));
    if (node.kind === 'handoff' || node.kind === 'urgent_handoff') {
      group.appendChild(svg('rect', { x: 4, y: 4, width: box.w - 8, height: box.h - 8, rx: 6 }, 'inner'));
    }
    if (node.kind === 'resource') {
      group.appendChild(svg('rect', { x: 0, y: 0, width: 8, height: box.h, rx: 3 }, 'stripe'));
    }
    var name = svg('text', { x: 14, y: 19 }, 'node-id');
    name.textContent = short(id, node.kind === 'urgent_handoff' ? ID_CHARS - 3 : ID_CHARS);
    group.appendChild(name);
    var tag = svg('text', { x: 14, y: 36 }, 'node-tag');
    tag.textContent = short(nodeTag(node), 22);
    group.appendChild(tag);
    if (node.kind === 'urgent_handoff') {
      group.appendChild(svg('circle', { cx: box.w - 16, cy: 16, r: 10 }, 'badge'));
      var mark = svg('text', { x: box.w - 16, y: 21, 'text-anchor': 'middle' }, 'badge-text');
      mark.textContent = '!';
      group.appendChild(mark);
    }
    if (stubs[id]) {
      var back = svg('text', { x: 6, y: box.h + 14 }, 'stub');
      back.textContent = '↩ ' + short(stubs[id].join(', '), 24);
      group.appendChild(back);
    }
    if (state.play.active && state.play.state && state.play.state.node === id) {
      var pin = svg('g', { transform: 'translate(' + (box.w - 30) + ' -14)' }, 'pin');
      pin.appendChild(svg('rect', { x: 0, y: 0, width: 34, height: 18, rx: 9 }));
      var here = svg('text', { x: 17, y: 13, 'text-anchor': 'middle' });
      here.textContent = t('here');
      pin.appendChild(here);
      group.appendChild(pin);
    }
    // The button's name is the words drawn (so voice control finds them); each drawn
    // text ends with a space SVG does not draw, so that read together they stay apart.
    // The whole id, the kind, the file and line and where it goes back to are its
    // description.
    Array.prototype.forEach.call(group.querySelectorAll('text'), function (text) { text.textContent += ' '; });
    group.setAttribute('aria-description', nodeLabel(node)
      + (stubs[id] ? ', ' + t('backTo') + ' ' + stubs[id].join(', ') : ''));
    nodesLayer.appendChild(group);
  });

  root.appendChild(edgesLayer);
  root.appendChild(labelsLayer);
  root.appendChild(nodesLayer);
  applyScale(resetView ? initialScale(layout) : state.scale, resetView ? 'start' : null);
}

function round(value) {
  return Math.round(value * 10) / 10;
}

// ------------------------------------------------------------------ zoom and scroll

function initialScale(layout) {
  var viewport = $('graph-viewport');
  var fit = Math.min(viewport.clientWidth / layout.width, viewport.clientHeight / layout.height);
  // Readable first: never smaller than 70 %, never larger than 100 %.
  return nearestScale(Math.max(0.7, Math.min(1, fit)));
}

function nearestScale(value) {
  var best = SCALES[0];
  SCALES.forEach(function (scale) {
    if (Math.abs(scale - value) < Math.abs(best - value)) best = scale;
  });
  return best;
}

/** Sizes the SVG (the viewBox stays in layout units) and keeps a point in view. */
function applyScale(scale, focus) {
  var viewport = $('graph-viewport');
  var root = $('graph');
  var layout = state.layout;
  if (!layout) return;
  var before = state.scale || 1;
  var centre = {
    x: (viewport.scrollLeft + viewport.clientWidth / 2) / before,
    y: (viewport.scrollTop + viewport.clientHeight / 2) / before,
  };
  state.scale = scale;
  root.setAttribute('width', String(Math.round(layout.width * scale)));
  root.setAttribute('height', String(Math.round(layout.height * scale)));
  $('zoom-level').textContent = Math.round(scale * 100) + ' %';
  $('zoom-in').disabled = scale >= SCALES[SCALES.length - 1];
  $('zoom-out').disabled = scale <= 0.2 || (scale <= SCALES[0] && scale >= SCALES[0] - 0.001);
  if (focus === 'start') {
    var start = layout.positions[state.selected] || layout.positions[state.model.start] || null;
    if (start) scrollToBox(start, true);
    else viewport.scrollLeft = viewport.scrollTop = 0;
  } else if (focus !== 'none') {
    viewport.scrollLeft = centre.x * scale - viewport.clientWidth / 2;
    viewport.scrollTop = centre.y * scale - viewport.clientHeight / 2;
  }
}

function zoomBy(step) {
  var next = state.scale;
  if (step > 0) next = SCALES.filter(function (value) { return value > state.scale + 0.001; })[0];
  else next = SCALES.filter(function (value) { return value < state.scale - 0.001; }).pop();
  if (next) applyScale(next);
}

function zoomFit() {
  var viewport = $('graph-viewport');
  var layout = state.layout;
  if (!layout) return;
  var fit = Math.min((viewport.clientWidth - 4) / layout.width, (viewport.clientHeight - 4) / layout.height);
  var scale = Math.max(0.2, Math.min(1, Math.floor(fit * 100) / 100));
  applyScale(scale, 'none');
  viewport.scrollLeft = 0;
  viewport.scrollTop = 0;
}

/** Scrolls the graph (only the graph) so a node is in view; `centre` puts it in the middle. */
function scrollToBox(box, centre) {
  var viewport = $('graph-viewport');
  var scale = state.scale;
  var left = box.x * scale;
  var top = box.y * scale;
  var right = (box.x + box.w) * scale;
  var bottom = (box.y + box.h) * scale;
  var pad = 40;
  if (centre) {
    viewport.scrollLeft = (left + right) / 2 - viewport.clientWidth / 2;
    viewport.scrollTop = Math.max(0, top - pad);
    return;
  }
  if (left - pad < viewport.scrollLeft) viewport.scrollLeft = left - pad;
  else if (right + pad > viewport.scrollLeft + viewport.clientWidth) viewport.scrollLeft = right + pad - viewport.clientWidth;
  if (top - pad < viewport.scrollTop) viewport.scrollTop = top - pad;
  else if (bottom + pad > viewport.scrollTop + viewport.clientHeight) viewport.scrollTop = bottom + pad - viewport.clientHeight;
}

function graphKeys(event) {
  if (event.target && (event.target.tagName === 'INPUT' || event.target.tagName === 'SELECT')) return;
  if (event.key === '+' || event.key === '=') {
    zoomBy(1);
    event.preventDefault();
  } else if (event.key === '-' || event.key === '_') {
    zoomBy(-1);
    event.preventDefault();
  } else if (event.key === '0') {
    applyScale(1);
    event.preventDefault();
  } else if (/^Arrow/.test(event.key) && event.target.getAttribute && event.target.getAttribute('data-id')) {
    var next = neighbour(event.target.getAttribute('data-id'), event.key);
    if (next) focusNode(next);
    event.preventDefault();
  } else if ((event.key === 'Enter' || event.key === ' ') && event.target.getAttribute && event.target.getAttribute('data-id')) {
    event.preventDefault();
    select(event.target.getAttribute('data-id'), { keepFocus: true });
  }
}

/** The nearest node drawn in the direction of an arrow key, or null. */
function neighbour(id, key) {
  var positions = state.layout.positions;
  var from = positions[id];
  if (!from) return null;
  var best = null;
  var bestScore = Infinity;
  Object.keys(positions).forEach(function (other) {
    if (other === id) return;
    var box = positions[other];
    var dx = box.x - from.x;
    var dy = box.y - from.y;
    var along;
    var across;
    if (key === 'ArrowRight') { along = dx; across = dy; }
    else if (key === 'ArrowLeft') { along = -dx; across = dy; }
    else if (key === 'ArrowDown') { along = dy; across = dx; }
    else { along = -dy; across = dx; }
    if (along <= 0) return;
    var score = along + 2 * Math.abs(across);
    if (score < bestScore) {
      bestScore = score;
      best = other;
    }
  });
  return best;
}

/** Moves the keyboard focus (and the one Tab stop) to a node, scrolling it into view. */
function focusNode(id) {
  var root = $('graph');
  var group = root.querySelector('[data-id="' + cssEscape(id) + '"]');
  if (!group) return;
  Array.prototype.forEach.call(root.querySelectorAll('.node[tabindex="0"]'), function (node) { node.setAttribute('tabindex', '-1'); });
  group.setAttribute('tabindex', '0');
  state.focused = id;
  scrollToBox(state.layout.positions[id], false);
  group.focus({ preventScroll: true });
}

function graphClick(event) {
  var target = event.target;
  while (target && target !== event.currentTarget && !(target.getAttribute && target.getAttribute('data-id'))) target = target.parentNode;
  if (target && target !== event.currentTarget) select(target.getAttribute('data-id'), { keepFocus: true });
}

// ------------------------------------------------------------------ selection and details

function select(id, options) {
  var opts = options || {};
  if (!state.model || !state.model.nodes[id]) return;
  state.selected = id;
  if (!state.layout.positions[id]) {
    // Filtered out: show every file again.
    state.file = '';
    $('file-filter').value = '';
  }
  drawGraph(false);
  var box = state.layout.positions[id];
  if (box) scrollToBox(box, false);
  renderDetail();
  renderPlayControls();
  if (opts.keepFocus || opts.focusNode) focusNode(id);
}

function cssEscape(value) {
  return window.CSS && CSS.escape ? CSS.escape(value) : String(value).replace(/["\\]/g, '\\$&');
}

function renderDetail() {
  var title = $('detail-title');
  var body = $('detail-body');
  clear(body);
  var model = state.model;
  var node = model && state.selected && model.nodes[state.selected];
  if (!node) {
    title.textContent = t('detailNone');
    body.appendChild(element('p', 'hint', t('detailHint')));
    return;
  }
  clear(title);
  title.appendChild(element('code', 'detail-id', node.id));
  title.appendChild(document.createTextNode(' '));
  title.appendChild(element('span', 'kind-chip kind-chip-' + node.kind, t('kinds')[kindOf(node)] || node.kind));

  var meta = element('p', 'detail-where', t('detailWhere', node.file, node.line) + ' · ' + (t('kindLong')[kindOf(node)] || ''));
  if (!model.reached[node.id] && node.kind !== 'trigger') meta.appendChild(element('strong', 'warn-text', ' · ' + t('unreached')));
  body.appendChild(meta);

  if (node.says) {
    var says = element('blockquote', 'detail-says');
    says.appendChild(element('span', 'visually-hidden', t('detailSays') + ' : '));
    says.appendChild(document.createTextNode(node.says));
    body.appendChild(says);
  }
  if (node.resources.length) {
    var resources = element('p', 'detail-line');
    resources.appendChild(element('strong', null, t('detailResources') + ' : '));
    resources.appendChild(document.createTextNode(node.resources.join(', ')));
    body.appendChild(resources);
  }
  body.appendChild(linkList(t('detailOut'), node.out, 'to'));
  body.appendChild(sourceList(t('detailIn'), node.in));

  var actions = element('div', 'detail-actions');
  var play = element('button', 'primary', t('playFromHere'));
  play.type = 'button';
  play.id = 'detail-play';
  var reason = null;
  if (node.kind === 'end') reason = t('noPlayEnd');
  else if (node.kind === 'trigger') reason = t('noPlayTrigger');
  else if (node.kind === 'missing') reason = t('noPlayMissing');
  if (reason) {
    play.disabled = true;
    actions.appendChild(play);
    actions.appendChild(element('span', 'hint', reason));
  } else {
    play.addEventListener('click', function () { startPlay(node.id, true); });
    actions.appendChild(play);
  }
  // First after the heading, as it is drawn (beside it).
  body.insertBefore(actions, body.firstChild);
}

function linkList(heading, edges, end) {
  var wrap = element('div', 'detail-links');
  wrap.appendChild(element('strong', null, heading + ' : '));
  if (!edges.length) {
    wrap.appendChild(document.createTextNode(t('detailNothing')));
    return wrap;
  }
  var list = element('ul', 'link-list');
  edges.forEach(function (edge) {
    var other = edge[end];
    var item = element('li');
    var button = element('button', 'link-button', other);
    button.type = 'button';
    button.addEventListener('click', function () { select(other, { focusNode: true }); });
    item.appendChild(button);
    var kinds = t('edgeKinds');
    var words = edge.kind === 'choice' || edge.kind === 'route' ? ' (' + kinds[edge.kind] + ' : ' + short(edge.label, 60) + ')' : ' (' + (kinds[edge.kind] || edge.kind) + ')';
    item.appendChild(element('span', 'link-why', words));
    list.appendChild(item);
  });
  wrap.appendChild(list);
  return wrap;
}

/** Where a node is reached from: each node once, by id. */
function sourceList(heading, edges) {
  var wrap = element('div', 'detail-links');
  var sources = [];
  edges.forEach(function (edge) { if (sources.indexOf(edge.from) < 0) sources.push(edge.from); });
  wrap.appendChild(element('strong', null, heading + ' (' + sources.length + ') : '));
  if (!sources.length) {
    wrap.appendChild(document.createTextNode(t('detailNothing')));
    return wrap;
  }
  var list = element('ul', 'link-list');
  sources.forEach(function (id) {
    var item = element('li');
    var button = element('button', 'link-button', id);
    button.type = 'button';
    button.addEventListener('click', function () { select(id, { focusNode: true }); });
    item.appendChild(button);
    list.appendChild(item);
  });
  wrap.appendChild(list);
  return wrap;
}

function renderMeta() {
  var model = state.model;
  $('graph-meta').textContent = model ? t('graphMeta', model.version || '?', model.order.filter(function (id) { return !model.nodes[id].pseudo; }).length, model.edges.length) : '';
}

function renderFileFilter() {
  var select = $('file-filter');
  clear(select);
  var all = element('option', null, t('allFiles'));
  all.value = '';
  select.appendChild(all);
  state.model.files.forEach(function (file) {
    var option = element('option', null, file);
    option.value = file;
    select.appendChild(option);
  });
  select.value = state.file;
}

function renderSearchList() {
  var list = $('node-ids');
  clear(list);
  state.model.order.forEach(function (id) {
    var option = document.createElement('option');
    option.value = id;
    list.appendChild(option);
  });
}

function renderLegend() {
  var legend = $('legend');
  clear(legend);
  var items = t('legendItems');
  ['start', 'node', 'resource', 'handoff', 'urgent_handoff', 'end', 'trigger', 'unreached', 'current'].forEach(function (kind) {
    var li = element('li', 'legend-item');
    var swatch = svg('svg', { width: 30, height: 20, viewBox: '0 0 30 20', 'aria-hidden': 'true', focusable: 'false' }, 'swatch');
    var classes = 'node kind-' + (kind === 'start' || kind === 'unreached' || kind === 'current' ? 'node' : kind);
    if (kind === 'start') classes += ' start';
    if (kind === 'unreached') classes += ' unreached';
    if (kind === 'current') classes += ' current';
    var g = svg('g', null, classes);
    g.appendChild(svg('rect', { x: 2, y: 2, width: 26, height: 16, rx: kind === 'end' ? 8 : 4 }, 'box'));
    if (kind === 'handoff' || kind === 'urgent_handoff') g.appendChild(svg('rect', { x: 5, y: 5, width: 20, height: 10, rx: 2 }, 'inner'));
    if (kind === 'resource') g.appendChild(svg('rect', { x: 2, y: 2, width: 5, height: 16, rx: 2 }, 'stripe'));
    if (kind === 'urgent_handoff') {
      var bang = svg('text', { x: 15, y: 14, 'text-anchor': 'middle' }, 'badge-text legend-bang');
      bang.textContent = '!';
      g.appendChild(bang);
    }
    swatch.appendChild(g);
    li.appendChild(swatch);
    li.appendChild(element('span', null, items[kind]));
    legend.appendChild(li);
  });
  [['forward', 'edge forward'], ['back', 'edge back']].forEach(function (pair) {
    var li = element('li', 'legend-item');
    var swatch = svg('svg', { width: 30, height: 20, viewBox: '0 0 30 20', 'aria-hidden': 'true', focusable: 'false' }, 'swatch');
    swatch.appendChild(svg('path', { d: 'M 2 10 L 28 10' }, pair[1]));
    li.appendChild(swatch);
    li.appendChild(element('span', null, items[pair[0]]));
    legend.appendChild(li);
  });
}

function search(event) {
  event.preventDefault();
  var status = $('search-status');
  status.classList.remove('error');
  var query = $('node-search').value.trim();
  if (!state.model) return;
  if (!query) {
    state.matches = [];
    status.textContent = '';
    drawGraph(false);
    return;
  }
  var ids = state.model.order;
  var lower = query.toLowerCase();
  var exact = ids.filter(function (id) { return id.toLowerCase() === lower; });
  var partial = ids.filter(function (id) { return id.toLowerCase().indexOf(lower) >= 0; });
  if (exact.length || partial.length === 1) {
    var id = exact[0] || partial[0];
    state.matches = [];
    status.textContent = t('searchFound', id);
    select(id, { focusNode: true });
  } else if (partial.length) {
    state.matches = partial;
    status.textContent = t('searchMany', partial.length);
    if (partial.some(function (match) { return !state.layout.positions[match]; })) {
      state.file = '';
      $('file-filter').value = '';
    }
    drawGraph(false);
    var first = state.layout.positions[partial[0]];
    if (first) scrollToBox(first, false);
  } else {
    state.matches = [];
    status.textContent = t('searchNone', query);
    status.classList.add('error');
    drawGraph(false);
  }
}

// ------------------------------------------------------------------ the player

function renderPlayControls() {
  var options = $('play-lang-options');
  clear(options);
  var languages = state.model ? state.model.languages : ['fr', 'en'];
  languages.forEach(function (code) {
    var label = element('label', 'radio');
    var input = document.createElement('input');
    input.type = 'radio';
    input.name = 'play-lang';
    input.value = code;
    input.id = 'play-lang-' + code;
    input.checked = state.play.lang === code;
    input.addEventListener('change', function () { changePlayLang(code); });
    label.appendChild(input);
    var name = element('span', null, TEXTS.fr.languages[code] ? (TEXTS[code] || TEXTS.fr).languages[code] : code);
    name.setAttribute('lang', code);
    label.appendChild(name);
    options.appendChild(label);
  });
  var fromNode = $('play-node');
  var node = state.model && state.selected && state.model.nodes[state.selected];
  var playable = node && ['end', 'trigger', 'missing'].indexOf(node.kind) < 0;
  fromNode.textContent = node ? t('playNode', node.id) : t('playNodeNone');
  fromNode.disabled = !playable || state.play.busy;
  $('play-start').disabled = state.play.busy || !state.model;
  $('play-restart').disabled = !state.play.active || state.play.busy;
  var canWrite = state.play.active && !state.play.ended && !state.play.busy;
  $('message').disabled = !canWrite;
  $('send').disabled = !canWrite;
  $('composer').classList.toggle('asking', state.play.active && state.play.asking && !state.play.ended);
  $('message-hint').textContent = state.play.asking && !state.play.ended ? t('messageAsking') : t('messageHint');
}

function changePlayLang(code) {
  if (state.play.lang === code) return;
  state.play.lang = code;
  // A conversation going on starts again from the same place in the other language.
  if (state.play.active) startPlay(state.play.from, false);
}

function startPlay(from, moveFocus) {
  var play = freshPlay(state.play.lang);
  play.active = true;
  play.from = from || null;
  play.busy = true;
  state.play = play;
  renderPlayControls();
  var status = $('play-status');
  status.classList.remove('error');
  status.textContent = t('busy');
  var body = { lang: play.lang };
  if (from) body.from = from;
  return api('POST', '/api/flows/play', body).then(function (answer) {
    if (state.play !== play) return;
    play.busy = false;
    status.textContent = t('startedAt', from || t('theStart'));
    record(play, answer, { kind: 'start', from: from, lang: play.lang });
    afterTurn(moveFocus);
  }, function (error) {
    if (state.play !== play) return;
    play.busy = false;
    play.active = false;
    renderPlayControls();
    failed(error, status);
  });
}

function send(input, echo) {
  var play = state.play;
  if (!play.active || play.busy || !play.state) return Promise.resolve();
  play.busy = true;
  renderPlayControls();
  var status = $('play-status');
  status.classList.remove('error');
  return api('POST', '/api/flows/play', { lang: play.lang, state: play.state, input: input }).then(function (answer) {
    if (state.play !== play) return;
    play.busy = false;
    status.textContent = '';
    record(play, answer, echo);
    afterTurn(true);
  }, function (error) {
    if (state.play !== play) return;
    play.busy = false;
    renderPlayControls();
    failed(error, status);
  });
}

function record(play, answer, echo) {
  // A counter of answers drawn since the page loaded (the tests wait on it).
  turnsDrawn += 1;
  var frames = Array.isArray(answer.frames) ? answer.frames : [];
  play.turns.push({ echo: echo, frames: frames, notExpected: !!answer.not_expected });
  play.trace.push({ echo: echo, text: String(answer.transcript || '') });
  play.previousVars = play.vars;
  play.state = answer.state || { node: null, vars: {} };
  play.vars = play.state.vars || {};
  String(answer.transcript || '').split('\n').forEach(function (line) {
    var entered = line.match(/^\[([^\]]+)\]$/);
    if (entered) play.visited[entered[1]] = true;
  });
  if (play.state.node) play.visited[play.state.node] = true;
  if (!answer.not_expected) {
    play.ended = frames.some(function (frame) { return frame.type === 'end'; });
    var lastBot = null;
    frames.forEach(function (frame) { if (frame.type === 'bot') lastBot = frame; });
    play.asking = !!(lastBot && asksText(lastBot));
  }
}

function afterTurn(moveFocus) {
  renderPlayControls();
  renderConversation(moveFocus);
  renderVars();
  renderTranscript();
  drawGraph(false);
  var node = state.play.state && state.play.state.node;
  var box = node && state.layout.positions[node];
  if (box) scrollToBox(box, false);
}

function restart() {
  if (!state.play.active) return;
  startPlay(state.play.from, true);
}

/** The choices of the last bot message of the last turn, when the conversation goes on. */
function offeredChoices() {
  var play = state.play;
  if (!play.active || play.ended || !play.turns.length) return [];
  for (var i = play.turns.length - 1; i >= 0; i -= 1) {
    var turn = play.turns[i];
    if (turn.notExpected) continue;
    for (var k = turn.frames.length - 1; k >= 0; k -= 1) {
      var frame = turn.frames[k];
      if (frame.type === 'bot') return Array.isArray(frame.choices) ? frame.choices : [];
    }
    return [];
  }
  return [];
}

function renderConversation(moveFocus) {
  var list = $('conversation');
  clear(list);
  var play = state.play;
  if (!play.active && !play.turns.length) {
    list.appendChild(element('p', 'empty', t('playEmpty')));
    return;
  }
  play.turns.forEach(function (turn) {
    var echo = turn.echo || {};
    if (echo.kind === 'start') {
      var divider = element('div', 'divider');
      divider.appendChild(element('span', null, t('started', echo.from || t('theStart'), (t('languageIn')[echo.lang] || echo.lang))));
      list.appendChild(divider);
    } else if (echo.kind === 'choice' || echo.kind === 'text') {
      var mine = element('div', 'msg msg-author' + (echo.kind === 'choice' ? ' msg-choice' : ''));
      mine.appendChild(element('p', 'who', echo.kind === 'choice' ? t('youChose') : t('youWrote')));
      mine.appendChild(element('div', 'bubble', echo.text));
      list.appendChild(mine);
    }
    if (turn.notExpected) {
      list.appendChild(element('div', 'notice notice-unexpected', t('notExpected')));
      return;
    }
    turn.frames.forEach(function (frame) { list.appendChild(frameItem(frame)); });
  });
  var choices = offeredChoices();
  if (choices.length) {
    var item = element('div', 'choices');
    // The chat's own buttons (shared/bot.js), held while an answer is on its way.
    var group = choiceButtons(choices, t('offered'), function (choice) {
      send({ type: 'choose', id: choice.id }, { kind: 'choice', text: choice.label, id: choice.id });
    });
    group.querySelectorAll('.choice').forEach(function (button) { button.disabled = play.busy; });
    item.appendChild(group);
    list.appendChild(item);
  }
  if (play.ended) {
    var again = element('div', 'restart');
    var button = element('button', 'tool', t('restart'));
    button.type = 'button';
    button.addEventListener('click', restart);
    again.appendChild(button);
    list.appendChild(again);
  }
  list.scrollTop = list.scrollHeight;
  if (moveFocus) {
    var next = list.querySelector('.choice') || (!$('message').disabled && play.asking ? $('message') : null) || list.querySelector('.restart button');
    if (next) next.focus({ preventScroll: true });
  }
}

function frameItem(frame) {
  if (frame.type === 'bot') {
    var item = element('div', 'msg msg-bot');
    item.appendChild(element('p', 'who', t('bot')));
    // The chat's own renderer (shared/bot.js); links open in a new tab, so the preview stays.
    item.appendChild(botBubble(frame, { newTab: true }));
    if (Array.isArray(frame.resources) && frame.resources.length) item.appendChild(resourceList(frame.resources));
    return item;
  }
  if (frame.type === 'handoff') {
    var notice = element('div', 'notice notice-handoff' + (frame.urgent ? ' urgent' : ''));
    notice.appendChild(element('p', 'notice-title', frame.urgent ? t('handoffUrgent') : t('handoff')));
    if (frame.topic) notice.appendChild(element('p', 'notice-topic', t('topic') + ' : ' + frame.topic));
    if (Array.isArray(frame.resources) && frame.resources.length) {
      notice.appendChild(element('p', 'notice-topic', t('ifNobody')));
      notice.appendChild(resourceList(frame.resources));
    }
    return notice;
  }
  if (frame.type === 'end') return element('div', 'notice notice-end', t('end'));
  return element('div', 'notice', String(frame.type));
}

/** The resource cards as the chat shows them, in the conversation's language, with each resource's key. */
function resourceList(resources) {
  return resourceCards(resources, state.play.lang || state.lang, { keys: true });
}

function submitText(event) {
  event.preventDefault();
  var input = $('message');
  var text = input.value.trim();
  if (!text || input.disabled) return;
  input.value = '';
  send({ type: 'text', text: text }, { kind: 'text', text: text });
}

function renderVars() {
  var holder = $('vars');
  clear(holder);
  var play = state.play;
  var now = play.vars || {};
  var before = play.previousVars || {};
  var names = Object.keys(now);
  Object.keys(before).forEach(function (name) { if (names.indexOf(name) < 0 && play.turns.length > 1) names.push(name); });
  names.sort();
  if (!names.length) {
    holder.appendChild(element('p', 'hint', t('varsEmpty')));
    return;
  }
  var table = element('table', 'vars-table');
  var head = element('thead');
  var headRow = element('tr');
  var th1 = element('th', null, t('varName'));
  th1.scope = 'col';
  var th2 = element('th', null, t('varValue'));
  th2.scope = 'col';
  headRow.appendChild(th1);
  headRow.appendChild(th2);
  head.appendChild(headRow);
  table.appendChild(head);
  var body = element('tbody');
  names.forEach(function (name) {
    var row = element('tr');
    row.setAttribute('data-var', name);
    var key = element('th', null);
    key.scope = 'row';
    key.appendChild(element('code', null, name));
    var value = element('td');
    var change = null;
    if (!(name in now)) {
      change = 'gone';
      value.appendChild(element('del', null, before[name]));
    } else {
      value.appendChild(element('code', 'var-value', now[name]));
      if (play.turns.length > 1 || play.from) {
        if (!(name in before)) change = 'new';
        else if (before[name] !== now[name]) change = 'changed';
      }
    }
    if (change) {
      row.classList.add('var-' + change);
      value.appendChild(element('span', 'var-change', ' ' + t(change === 'new' ? 'varNew' : change === 'changed' ? 'varChanged' : 'varGone')));
    }
    row.appendChild(key);
    row.appendChild(value);
    body.appendChild(row);
  });
  table.appendChild(body);
  holder.appendChild(table);
}

function renderTranscript() {
  var pre = $('transcript');
  clear(pre);
  pre.setAttribute('data-turns', String(turnsDrawn));
  var play = state.play;
  if (!play.trace.length) {
    pre.appendChild(element('span', 'hint', t('traceEmpty')));
    return;
  }
  play.trace.forEach(function (entry, index) {
    var echo = entry.echo || {};
    var head;
    if (echo.kind === 'start') head = t('traceStart', echo.from, echo.lang);
    else if (echo.kind === 'choice') head = t('traceChoice', echo.id);
    else head = t('traceText', echo.text);
    var turn = element('span', 'trace-turn' + (index === play.trace.length - 1 ? ' latest' : ''));
    turn.appendChild(element('span', 'trace-input', head + '\n'));
    entry.text.replace(/\n$/, '').split('\n').forEach(function (line) {
      var entered = line.match(/^\[([^\]]+)\]$/);
      if (entered && state.model && state.model.nodes[entered[1]]) {
        var ref = element('button', 'node-ref', line);
        ref.type = 'button';
        ref.setAttribute('aria-label', t('nodeRef', entered[1]));
        ref.addEventListener('click', function () { select(entered[1], { focusNode: true }); });
        turn.appendChild(ref);
        turn.appendChild(document.createTextNode('\n'));
      } else {
        var kind = /^\s+!/.test(line) ? 'trace-trigger' : /^\s+~/.test(line) ? 'trace-route' : /^\s+=>/.test(line) ? 'trace-handoff' : /^\s+\{.*\}$/.test(line) ? 'trace-vars' : '';
        turn.appendChild(element('span', kind || null, line + '\n'));
      }
    });
    pre.appendChild(turn);
  });
  pre.scrollTop = pre.scrollHeight;
}

// ------------------------------------------------------------------ versions

function renderVersions() {
  var body = $('versions-body');
  clear(body);
  var list = state.versions.slice().sort(function (a, b) { return (b.loaded_at || 0) - (a.loaded_at || 0); });
  if (!list.length) {
    var row = element('tr');
    var cell = element('td', 'hint', t('versionsEmpty'));
    cell.colSpan = 5;
    row.appendChild(cell);
    body.appendChild(row);
    return;
  }
  var format;
  try {
    format = new Intl.DateTimeFormat(state.lang === 'en' ? 'en-CA' : 'fr-CA', { dateStyle: 'medium', timeStyle: 'short' });
  } catch (error) {
    format = { format: function (date) { return date.toLocaleString(); } };
  }
  list.forEach(function (version) {
    var row = element('tr', version.serving ? 'serving' : null);
    row.setAttribute('data-version', version.version);
    var id = element('td');
    id.appendChild(element('code', null, version.version));
    var loaded = element('td', null, version.loaded_at ? format.format(new Date(version.loaded_at * 1000)) : '—');
    var files = element('td', 'num', version.files);
    var status = element('td');
    status.appendChild(element('span', version.serving ? 'badge badge-serving' : 'badge', version.serving ? t('serving') : t('archived')));
    var command = element('td');
    if (version.serving) command.appendChild(element('span', 'hint', t('servingNote')));
    else command.appendChild(element('code', 'command', 'relais flows rollback ' + version.version));
    [id, loaded, files, status, command].forEach(function (cell) { row.appendChild(cell); });
    body.appendChild(row);
  });
}

// ------------------------------------------------------------------ start

function init() {
  var prefs = loadPrefs();
  state.lang = pageLanguage(prefs.lang);
  state.play = freshPlay(state.lang);
  applyTexts();

  $('lang').addEventListener('click', switchLanguage);
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('reload').addEventListener('click', function () {
    loadAll().then(function () {
      if (state.model) $('search-status').textContent = t('reloaded');
    });
  });
  $('file-filter').addEventListener('change', function (event) {
    state.file = event.target.value;
    drawGraph(true);
  });
  $('search-form').addEventListener('submit', search);
  $('zoom-in').addEventListener('click', function () { zoomBy(1); });
  $('zoom-out').addEventListener('click', function () { zoomBy(-1); });
  $('zoom-fit').addEventListener('click', zoomFit);
  $('show-back').addEventListener('change', function (event) {
    state.showBack = event.target.checked;
    drawGraph(false);
  });
  var viewport = $('graph-viewport');
  viewport.addEventListener('keydown', graphKeys);
  $('graph').addEventListener('click', graphClick);
  $('play-start').addEventListener('click', function () { startPlay(null, true); });
  $('play-node').addEventListener('click', function () {
    if (state.selected) startPlay(state.selected, true);
  });
  $('play-restart').addEventListener('click', restart);
  $('composer').addEventListener('submit', submitText);

  renderPlayControls();
  renderConversation(false);
  renderVars();
  renderTranscript();

  var session = readSession();
  if (session) {
    state.session = session;
    api('GET', '/api/me').then(function (me) {
      if (AUTHOR_ROLES.indexOf(me.role) < 0) {
        endSession(t('refused'), true);
        return;
      }
      state.session.name = me.name;
      state.session.role = me.role;
      enterApp(false);
    }, function (error) {
      if (error.status === 401 || error.status === 403) endSession(error.status === 401 ? t('expired') : t('refused'), error.status === 403);
      else enterApp(false);
    });
  } else {
    showLogin();
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
