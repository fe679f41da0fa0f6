/* What this is for: the behaviour of the intervenors' console (web/console.html).
 * Login (username, password, TOTP code), the on-call switch and who else is on call,
 * the live queue from the console socket (urgent set apart, waiting time ticking, a
 * sound and a title change for urgent requests), the conversations this intervenor
 * holds (transcript, live messages, reply, canned replies, release, close with an
 * outcome, unread markers), reassignment for supervisors, reconnection with backoff
 * (held conversations are claimed again to fetch what was missed) and logout when the
 * token dies. The wire contract is docs/protocol.md, section 2 and addition B.
 *
 * The Signalements view: the anonymous reports by status and age (danger now at the
 * top, with the same alert as an urgent request), live from `reports` frames; one opened
 * with its answers, messages, internal notes and forwarding records; assign, change the
 * status, add a note, write to the reporter, record where it was passed on.
 *
 * Youth text, intervenor names and every server string are put in the page with
 * textContent only: nothing received is ever parsed as HTML. */

import { translator, pageLanguage } from './shared/i18n.js';
import { prefsStore, sessionStore, submitLogin } from './shared/login.js';

// ------------------------------------------------------------------ strings

const STRINGS = {
  fr: {
    skip: 'Aller au contenu',
    brand: 'Console des intervenant·es',
    pageTitle: 'Console · relais',
    urgentTitle: 'URGENT',
    onCall: 'De garde',
    rosterNobody: 'Personne n’est de garde en ce moment.',
    rosterSome: 'Disponibles : {names}',
    soundOn: 'Son : activé',
    soundOff: 'Son : coupé',
    soundUnlock: 'Autoriser le son',
    logout: 'Se déconnecter',
    logoutConfirm: 'Vous tenez encore {n} conversation(s). Cliquer de nouveau pour vous déconnecter quand même',
    supervisor: 'superviseur·e',
    loginTitle: 'Connexion',
    loginIntro: 'Réservé aux intervenant·es de garde.',
    username: 'Identifiant',
    password: 'Mot de passe',
    totp: 'Code de vérification',
    totpHint: 'Les 6 chiffres de votre application d’authentification, si votre compte en utilise une. Un code ne sert qu’une fois.',
    loginSubmit: 'Se connecter',
    loginBusy: 'Connexion…',
    loginMissing: 'Entrez votre identifiant et votre mot de passe.',
    loginRefused: 'Connexion refusée. Vérifiez l’identifiant, le mot de passe et le code. Un code déjà utilisé est refusé : attendez le suivant.',
    loginSlow: 'Trop d’essais. Réessayez dans {s} s.',
    loggedOut: 'Vous êtes déconnecté·e.',
    expired: 'Votre session a expiré. Reconnectez-vous.',
    networkError: 'Le serveur ne répond pas. Vérifiez votre connexion.',
    consoleTitle: 'Console',
    queueTitle: 'File d’attente',
    queueSummary: '{waiting} en attente, dont {urgent} urgente(s)',
    queueSummaryNone: 'Personne n’attend',
    offCallHint: 'Vous n’êtes pas de garde : les jeunes ne vous comptent pas comme disponible.',
    groupUrgent: 'Urgent',
    groupWaiting: 'En attente',
    groupTaken: 'En cours',
    groupTakenAll: 'Toutes les conversations en cours',
    queueEmpty: 'Personne n’attend.',
    urgentBadge: 'Urgent',
    position: 'n° {n}',
    waitingFor: 'attend depuis {t}',
    openFor: 'ouverte depuis {t}',
    takenBy: 'Prise par {name}',
    takenByYou: 'Vous la tenez',
    take: 'Prendre',
    open: 'Ouvrir',
    reassign: 'Réassigner…',
    reassignTo: 'Donner à',
    reassignConfirm: 'Donner',
    reassignSelf: '{name} (vous)',
    reassignOnCall: '{name} (de garde)',
    reassignDone: 'Demande {id} donnée à {name}.',
    cancel: 'Annuler',
    request: 'Demande {id}',
    workTitle: 'Mes conversations',
    nothingOpen: 'Aucune conversation ouverte.',
    nothingOpenHint: 'Prenez une demande dans la file pour commencer.',
    unread: '{n} non lu(s)',
    release: 'Remettre dans la file',
    end: 'Terminer…',
    dismiss: 'Fermer l’onglet',
    outcomeLegend: 'Comment la conversation s’est-elle terminée?',
    outcome_resolved: 'Résolue',
    outcome_referred: 'Orientée vers une ressource',
    outcome_emergency_services: 'Services d’urgence contactés',
    outcome_youth_left: 'Le ou la jeune est parti·e',
    outcome_no_response: 'Pas de réponse',
    outcome_abusive: 'Abusive (bloque une demande de personne pendant 24 h)',
    outcomeMissing: 'Choisissez comment la conversation s’est terminée.',
    closeConfirm: 'Fermer la conversation',
    canned: 'Réponses types',
    cannedNone: 'Aucune réponse type.',
    replyLabel: 'Votre réponse',
    replyHint: 'Entrée pour envoyer, Maj+Entrée pour aller à la ligne.',
    send: 'Envoyer',
    sending: 'envoi…',
    notSent: 'Non envoyé. Le texte est revenu dans la zone de réponse.',
    notConnected: 'Pas de connexion : le message n’est pas parti. Il reste dans la zone de réponse.',
    fromBot: 'Bot',
    fromYouth: 'Jeune',
    fromAgent: 'Intervenant·e',
    beforeHandoff: 'Avec le bot, avant la prise en charge',
    handedOver: 'Une personne a pris le relais',
    missed: 'Reçu pendant la coupure',
    lang_fr: 'français',
    lang_en: 'anglais',
    meta: 'En {lang} · prise à {time}',
    endedClosed: 'Conversation fermée.',
    endedYouthLeft: 'Le ou la jeune a quitté la conversation.',
    endedReassigned: 'Cette conversation a été donnée à une autre personne.',
    endedGone: 'Cette conversation n’existe plus (elle a été fermée ou le ou la jeune est parti·e).',
    endedTaken: 'Quelqu’un d’autre tient maintenant cette conversation.',
    endedReleased: 'Cette conversation a été remise dans la file.',
    given: 'On vous a donné la demande {id}.',
    takenAlready: 'Quelqu’un d’autre a déjà pris la demande {id}.',
    goneAlready: 'La demande {id} n’est plus dans la file.',
    released: 'Demande {id} remise dans la file.',
    closed: 'Demande {id} fermée.',
    connecting: 'Connexion à la console…',
    connected: 'Connecté·e.',
    reconnecting: 'Connexion perdue. Nouvel essai dans {s} s.',
    reconnectingNow: 'Connexion perdue. Nouvel essai…',
    reconnected: 'Reconnecté·e. {n} message(s) reçu(s) pendant la coupure.',
    notReachable: 'Vous êtes de garde, mais hors ligne : les jeunes ne peuvent pas vous joindre.',
    retryNow: 'Réessayer maintenant',
    announceUrgent: 'Nouvelle demande urgente dans la file.',
    announceNew: 'Nouvelle demande dans la file.',
    announceMessage: '{who}, demande {id} : {text}',
    error: 'Erreur : {message}',
    time_s: '{s} s',
    time_m: '{m} min {s} s',
    time_h: '{h} h {m} min',
    topic_general: 'Général',
    topic_urgence: 'Urgence',
    topic_autochtones: 'Jeunes autochtones',
    topic_sextorsion: 'Sextorsion',
    topic_recrutement: 'Recrutement',
    topic_leurre: 'Leurre',
    topic_images: 'Images intimes',
    topic_none: 'Sans sujet',
    topic_autre: 'Autre',
    topic_ami: 'Pour un·e ami·e',
    topic_comprendre: 'Comprendre',
    topic_signalement: 'Signalement',
    youthOnline: 'jeune en ligne',
    youthGone: 'jeune hors ligne',
    holderAway: '{name} hors ligne',
    requeuedNote: 'Revenue dans la file : la personne qui la tenait a perdu la connexion.',
    youthTyping: 'Le ou la jeune écrit…',
    counter: '{n} / {max} caractères',
    counterOver: '{n} / {max} caractères : trop long pour partir, raccourcissez ou coupez en deux.',
    toQueue: '← File d’attente',
    authorAccount: 'Ce compte est un compte d’auteur·e : la console est réservée aux intervenant·es. Les scripts se préparent sur la page /auteurs.',
    stillOnCall: 'Vous êtes encore de garde depuis votre dernière connexion. Le bouton « De garde » vous retire de la garde.',
    time_d: '{d} j {h} h',
    viewsLabel: 'Vues',
    viewConversations: 'File et conversations',
    viewReports: 'Signalements',
    reportsCount: '{n} nouveau(x)',
    reportsCountDanger: 'dont un avec danger maintenant',
    reportsTitle: 'Signalements',
    reportsSummary: '{open} ouvert(s), dont {new} nouveau(x)',
    reportsSummaryNone: 'Aucun signalement ouvert',
    reportsEmpty: 'Aucun signalement.',
    reportNone: 'Aucun signalement ouvert.',
    reportNoneHint: 'Choisissez un signalement dans la liste. Tout ce qu’il contient est le texte de la personne qui signale.',
    group_danger: 'Danger maintenant',
    group_new: 'Nouveaux',
    group_in_review: 'En examen',
    group_forwarded: 'Transmis',
    group_closed: 'Fermés ({n})',
    status_new: 'Nouveau',
    status_in_review: 'En examen',
    status_forwarded: 'Transmis',
    status_closed: 'Fermé',
    dangerBadge: 'Danger maintenant',
    report: 'Signalement {id}',
    receivedAgo: 'reçu il y a {t}',
    assignedTo: 'assigné à {name}',
    assignedNobody: 'personne n’est assigné',
    assignedYou: '{name} (vous)',
    reportMeta: 'Reçu le {date} · en {lang} · {status} · {assigned}',
    reportLoading: 'Chargement…',
    reportGone: 'Ce signalement n’existe plus (il a été effacé).',
    assignTo: 'Assigner à',
    assign: 'Assigner',
    assignMe: 'Me l’assigner',
    statusLabel: 'Statut',
    statusChange: 'Changer le statut',
    answersTitle: 'Ce qui a été signalé',
    answersNone: 'Aucune réponse.',
    messagesTitle: 'Messages avec la personne qui signale',
    messagesNone: 'Aucun message.',
    writeLabel: 'Écrire à la personne qui signale',
    writeHint: 'Elle le lira si elle revient avec son code de suivi. Pas de nom, de numéro ni de lien qui l’identifieraient.',
    writeSend: 'Envoyer à la personne',
    notesTitle: 'Notes internes',
    notesHint: 'Jamais montrées à la personne qui signale.',
    notesNone: 'Aucune note.',
    noteLabel: 'Ajouter une note',
    noteAdd: 'Ajouter la note',
    forwardedTitle: 'Transmis à',
    forwardedHint: 'relais ne contacte personne : notez ici à qui vous avez transmis ce signalement, une fois que vous l’avez fait.',
    forwardedNone: 'Pas encore transmis.',
    forwardTo: 'Transmis à',
    to_police: 'Police',
    to_cyberaide: 'Cyberaide.ca',
    to_dpj: 'DPJ (protection de la jeunesse)',
    to_other: 'Autre…',
    forwardOther: 'Autre (précisez)',
    forwardOtherMissing: 'Précisez à qui le signalement a été transmis.',
    forwardNote: 'Note (facultative)',
    forwardRecord: 'Noter la transmission',
    fromReporter: 'Personne qui signale',
    field_danger: 'Quelqu’un en danger maintenant',
    field_type: 'Genre de situation',
    field_ou: 'Où',
    field_qui: 'Qui',
    field_quand: 'Quand',
    field_autre: 'Autre chose',
    value_oui: 'Oui',
    value_non: 'Non',
    'value_peut-etre': 'Ne sait pas',
    doneStatus: 'Signalement {id} : statut « {status} ».',
    doneAssign: 'Signalement {id} assigné à {name}.',
    doneNote: 'Note ajoutée.',
    doneMessage: 'Message envoyé. La personne le lira avec son code de suivi.',
    doneForward: 'Transmission notée.',
    announceReportDanger: 'Nouveau signalement : quelqu’un est en danger maintenant.',
    announceReport: 'Nouveau signalement.',
    done: '{text}',
  },
  en: {
    skip: 'Skip to content',
    brand: 'Intervenors’ console',
    pageTitle: 'Console · relais',
    urgentTitle: 'URGENT',
    onCall: 'On call',
    rosterNobody: 'Nobody is on call right now.',
    rosterSome: 'Available: {names}',
    soundOn: 'Sound: on',
    soundOff: 'Sound: off',
    soundUnlock: 'Allow sound',
    logout: 'Log out',
    logoutConfirm: 'You still hold {n} conversation(s). Click again to log out anyway',
    supervisor: 'supervisor',
    loginTitle: 'Log in',
    loginIntro: 'For on-call intervenors only.',
    username: 'Username',
    password: 'Password',
    totp: 'Verification code',
    totpHint: 'The 6 digits from your authenticator app, if your account uses one. A code works only once.',
    loginSubmit: 'Log in',
    loginBusy: 'Logging in…',
    loginMissing: 'Enter your username and password.',
    loginRefused: 'Login refused. Check the username, the password and the code. A code already used is refused: wait for the next one.',
    loginSlow: 'Too many attempts. Try again in {s} s.',
    loggedOut: 'You are logged out.',
    expired: 'Your session expired. Please log in again.',
    networkError: 'The server does not answer. Check your connection.',
    consoleTitle: 'Console',
    queueTitle: 'Queue',
    queueSummary: '{waiting} waiting, {urgent} urgent',
    queueSummaryNone: 'Nobody is waiting',
    offCallHint: 'You are not on call: youths do not count you as available.',
    groupUrgent: 'Urgent',
    groupWaiting: 'Waiting',
    groupTaken: 'In progress',
    groupTakenAll: 'Every conversation in progress',
    queueEmpty: 'Nobody is waiting.',
    urgentBadge: 'Urgent',
    position: 'no. {n}',
    waitingFor: 'waiting for {t}',
    openFor: 'open for {t}',
    takenBy: 'Taken by {name}',
    takenByYou: 'You hold it',
    take: 'Take',
    open: 'Open',
    reassign: 'Reassign…',
    reassignTo: 'Give to',
    reassignConfirm: 'Give',
    reassignSelf: '{name} (you)',
    reassignOnCall: '{name} (on call)',
    reassignDone: 'Request {id} given to {name}.',
    cancel: 'Cancel',
    request: 'Request {id}',
    workTitle: 'My conversations',
    nothingOpen: 'No conversation open.',
    nothingOpenHint: 'Take a request from the queue to begin.',
    unread: '{n} unread',
    release: 'Put back in the queue',
    end: 'End…',
    dismiss: 'Close the tab',
    outcomeLegend: 'How did the conversation end?',
    outcome_resolved: 'Resolved',
    outcome_referred: 'Referred to a resource',
    outcome_emergency_services: 'Emergency services contacted',
    outcome_youth_left: 'The youth left',
    outcome_no_response: 'No response',
    outcome_abusive: 'Abusive (blocks asking for a person for 24 h)',
    outcomeMissing: 'Choose how the conversation ended.',
    closeConfirm: 'Close the conversation',
    canned: 'Canned replies',
    cannedNone: 'No canned reply.',
    replyLabel: 'Your reply',
    replyHint: 'Enter to send, Shift+Enter for a new line.',
    send: 'Send',
    sending: 'sending…',
    notSent: 'Not sent. The text is back in the reply box.',
    notConnected: 'Not connected: the message did not leave. It stays in the reply box.',
    fromBot: 'Bot',
    fromYouth: 'Youth',
    fromAgent: 'Intervenor',
    beforeHandoff: 'With the bot, before a person took over',
    handedOver: 'A person took over',
    missed: 'Received while disconnected',
    lang_fr: 'French',
    lang_en: 'English',
    meta: 'In {lang} · taken at {time}',
    endedClosed: 'Conversation closed.',
    endedYouthLeft: 'The youth left the conversation.',
    endedReassigned: 'This conversation was given to someone else.',
    endedGone: 'This conversation no longer exists (it was closed or the youth left).',
    endedTaken: 'Someone else holds this conversation now.',
    endedReleased: 'This conversation was put back in the queue.',
    given: 'Request {id} was given to you.',
    takenAlready: 'Someone else already took request {id}.',
    goneAlready: 'Request {id} is no longer in the queue.',
    released: 'Request {id} put back in the queue.',
    closed: 'Request {id} closed.',
    connecting: 'Connecting to the console…',
    connected: 'Connected.',
    reconnecting: 'Connection lost. Trying again in {s} s.',
    reconnectingNow: 'Connection lost. Trying again…',
    reconnected: 'Reconnected. {n} message(s) received while disconnected.',
    notReachable: 'You are on call but offline: youths cannot reach you.',
    retryNow: 'Try again now',
    announceUrgent: 'New urgent request in the queue.',
    announceNew: 'New request in the queue.',
    announceMessage: '{who}, request {id}: {text}',
    error: 'Error: {message}',
    time_s: '{s} s',
    time_m: '{m} min {s} s',
    time_h: '{h} h {m} min',
    topic_general: 'General',
    topic_urgence: 'Emergency',
    topic_autochtones: 'Indigenous youth',
    topic_sextorsion: 'Sextortion',
    topic_recrutement: 'Recruitment',
    topic_leurre: 'Luring',
    topic_images: 'Intimate images',
    topic_none: 'No topic',
    topic_autre: 'Other',
    topic_ami: 'For a friend',
    topic_comprendre: 'Understanding',
    topic_signalement: 'Report',
    youthOnline: 'youth online',
    youthGone: 'youth offline',
    holderAway: '{name} offline',
    requeuedNote: 'Back in the queue: the person holding it lost their connection.',
    youthTyping: 'The young person is typing…',
    counter: '{n} / {max} characters',
    counterOver: '{n} / {max} characters: too long to send, shorten it or split it in two.',
    toQueue: '← Queue',
    authorAccount: 'This is an author’s account: the console is for support workers only. Scripts are prepared on the /auteurs page.',
    stillOnCall: 'You are still on call from your last login. The “On call” button takes you off call.',
    time_d: '{d} d {h} h',
    viewsLabel: 'Views',
    viewConversations: 'Queue and conversations',
    viewReports: 'Reports',
    reportsCount: '{n} new',
    reportsCountDanger: 'one with danger now',
    reportsTitle: 'Reports',
    reportsSummary: '{open} open, {new} new',
    reportsSummaryNone: 'No open report',
    reportsEmpty: 'No report.',
    reportNone: 'No report open.',
    reportNoneHint: 'Choose a report in the list. Everything in it is the reporter’s own text.',
    group_danger: 'Danger now',
    group_new: 'New',
    group_in_review: 'In review',
    group_forwarded: 'Forwarded',
    group_closed: 'Closed ({n})',
    status_new: 'New',
    status_in_review: 'In review',
    status_forwarded: 'Forwarded',
    status_closed: 'Closed',
    dangerBadge: 'Danger now',
    report: 'Report {id}',
    receivedAgo: 'received {t} ago',
    assignedTo: 'assigned to {name}',
    assignedNobody: 'nobody assigned',
    assignedYou: '{name} (you)',
    reportMeta: 'Received {date} · in {lang} · {status} · {assigned}',
    reportLoading: 'Loading…',
    reportGone: 'This report no longer exists (it was erased).',
    assignTo: 'Assign to',
    assign: 'Assign',
    assignMe: 'Assign to me',
    statusLabel: 'Status',
    statusChange: 'Change the status',
    answersTitle: 'What was reported',
    answersNone: 'No answer.',
    messagesTitle: 'Messages with the reporter',
    messagesNone: 'No message.',
    writeLabel: 'Write to the reporter',
    writeHint: 'They will read it if they come back with their follow-up code. No name, number or link that would identify them.',
    writeSend: 'Send to the reporter',
    notesTitle: 'Internal notes',
    notesHint: 'Never shown to the reporter.',
    notesNone: 'No note.',
    noteLabel: 'Add a note',
    noteAdd: 'Add the note',
    forwardedTitle: 'Forwarded to',
    forwardedHint: 'relais contacts nobody: record here where you passed this report on, once you have done it.',
    forwardedNone: 'Not forwarded yet.',
    forwardTo: 'Forwarded to',
    to_police: 'Police',
    to_cyberaide: 'Cybertip.ca',
    to_dpj: 'DPJ (youth protection)',
    to_other: 'Other…',
    forwardOther: 'Other (say which)',
    forwardOtherMissing: 'Say where the report was forwarded.',
    forwardNote: 'Note (optional)',
    forwardRecord: 'Record the forwarding',
    fromReporter: 'Reporter',
    field_danger: 'Someone in danger now',
    field_type: 'Kind of situation',
    field_ou: 'Where',
    field_qui: 'Who',
    field_quand: 'When',
    field_autre: 'Anything else',
    value_oui: 'Yes',
    value_non: 'No',
    'value_peut-etre': 'Does not know',
    doneStatus: 'Report {id}: status “{status}”.',
    doneAssign: 'Report {id} assigned to {name}.',
    doneNote: 'Note added.',
    doneMessage: 'Message sent. The reporter will read it with their follow-up code.',
    doneForward: 'Forwarding recorded.',
    announceReportDanger: 'New report: someone is in danger now.',
    announceReport: 'New report.',
    done: '{text}',
  },
};

/** The server's limit on a message (limits.max_text_chars), and where the count shows. */
const MAX_TEXT = 2000;
const COUNTER_FROM = 1800;
const OUTCOMES = ['resolved', 'referred', 'emergency_services', 'youth_left', 'no_response', 'abusive'];
const SESSION_KEY = 'relais.console.session';
const PREFS_KEY = 'relais.console.prefs';
const preferences = prefsStore(PREFS_KEY);
const sessions = sessionStore(SESSION_KEY);
const translate = translator(STRINGS, () => state.lang, { missing: (key) => key });
/** Reconnection delays grow 1, 2, 4, 8 s… up to this, with some jitter. */
const MAX_BACKOFF_MS = 10_000;
/** The token is kept alive while the person works or is on call (server idle timeout). */
const KEEPALIVE_MS = 4 * 60_000;

// ------------------------------------------------------------------ state

const prefs = loadPrefs();

const state = {
  /** The page's language: the one chosen before, else the browser's if English, else French. */
  lang: pageLanguage(prefs.lang),
  muted: Boolean(prefs.muted),
  /** {token, expires_at, login, name, role} once logged in. */
  session: null,
  onCall: false,
  roster: [],
  queue: [],
  /** Held conversations by handoff id, in tab order. */
  conversations: new Map(),
  active: null,
  /** Claims on their way (a second claim of the same id waits for the first), and
   * those to show once their answer is in. */
  claiming: new Set(),
  showWhenClaimed: new Set(),
  /** Message frames for a conversation whose claim answer has not arrived yet. */
  early: new Map(),
  /** Requests already seen in the queue, and urgent ones already announced. */
  seen: new Set(),
  alerted: new Set(),
  firstQueue: true,
  canned: [],
  intervenors: [],
  socket: null,
  connected: false,
  backoff: 0,
  reconnectTimer: null,
  reconnectCountdown: null,
  /** Set once the socket was up: a later `ready` is a reconnection. */
  hadSocket: false,
  /** Local clock minus the server's (from the Date header), for waiting times. */
  skewMs: 0,
  lastActivity: Date.now(),
  lastKeepalive: Date.now(),
  expiryTimer: null,
  /** The request whose reassignment form is open, and the person chosen in it. */
  reassignOpen: null,
  reassignChoice: null,
  logoutArmed: false,
  /** Which view shows: 'conversations' or 'reports'. */
  view: 'conversations',
  /** The reports' list (as `GET /api/signalements`), null before the first load. */
  reports: null,
  /** False when this account may not see reports (403). */
  reportsAllowed: true,
  /** Reports already seen in the list, and "danger now" ones already alerted. */
  reportsSeen: new Set(),
  reportsAlerted: new Set(),
  /** Alerted reports the list does not have yet (the list follows the alert). */
  reportsAwaited: new Set(),
  /** The report open: {id, detail, gone}; `load` counts fetches so a late answer is dropped. */
  report: null,
  reportLoad: 0,
  /** How many `reports` frames came (a list fetched meanwhile is older). */
  reportFrames: 0,
  /** The closed reports' group is folded unless the person opened it. */
  closedOpen: false,
};

const $ = (id) => document.getElementById(id);
const view = {
  shift: $('shift'),
  onCall: $('on-call'),
  roster: $('roster'),
  mute: $('mute'),
  soundUnlock: $('sound-unlock'),
  lang: $('lang'),
  who: $('who'),
  logout: $('logout'),
  connection: $('connection'),
  connectionText: $('connection-text'),
  retry: $('retry'),
  main: $('main'),
  loginView: $('login-view'),
  loginForm: $('login-form'),
  loginNotice: $('login-notice'),
  loginError: $('login-error'),
  loginSubmit: $('login-submit'),
  username: $('username'),
  password: $('password'),
  totp: $('totp'),
  consoleView: $('console-view'),
  queueTitle: $('queue-title'),
  queueSummary: $('queue-summary'),
  offCallHint: $('off-call-hint'),
  groupUrgent: $('group-urgent'),
  groupTaken: $('group-taken'),
  takenTitle: $('taken-title'),
  listUrgent: $('queue-urgent'),
  listWaiting: $('queue-waiting'),
  listTaken: $('queue-taken'),
  queueEmpty: $('queue-empty'),
  tabs: $('tabs'),
  panels: $('panels'),
  nothingOpen: $('nothing-open'),
  announcer: $('announcer'),
  alerter: $('alerter'),
  template: $('conversation-template'),
  viewConversations: $('view-conversations'),
  viewReports: $('view-reports'),
  reportsCount: $('reports-count'),
  conversationsView: $('conversations-view'),
  reportsView: $('reports-view'),
  reportsTitle: $('reports-title'),
  reportsSummary: $('reports-summary'),
  reportGroups: $('report-groups'),
  reportsEmpty: $('reports-empty'),
  reportNone: $('report-none'),
  reportOpen: $('report-open'),
  reportTitle: $('report-title'),
  reportMeta: $('report-meta'),
  reportNotice: $('report-notice'),
  reportAnswers: $('report-answers'),
  reportMessages: $('report-messages'),
  reportNotes: $('report-notes'),
  reportForwarded: $('report-forwarded'),
  assignForm: $('report-assign'),
  assignTo: $('assign-to'),
  assignMe: $('assign-me'),
  statusForm: $('report-status'),
  statusTo: $('status-to'),
  writeForm: $('report-write'),
  writeText: $('write-text'),
  noteForm: $('report-note'),
  noteText: $('note-text'),
  forwardForm: $('report-forward'),
  forwardTo: $('forward-to'),
  forwardOther: $('forward-other'),
  forwardNote: $('forward-note'),
};

// ------------------------------------------------------------------ small helpers

function t(key, params = {}) {
  return translate(key, params);
}

/** Builds an element; `text` always goes in as textContent. */
function el(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === false || value === null || value === undefined) continue;
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function loadPrefs() {
  return preferences.load();
}

function savePrefs() {
  preferences.save({ lang: state.lang, muted: state.muted });
}

function serverNow() {
  return Date.now() - state.skewMs;
}

function noteServerClock(response) {
  const date = Date.parse(response.headers.get('Date') || '');
  if (Number.isFinite(date)) {
    // The Date header has a precision of one second: ignore smaller differences.
    const skew = Date.now() - date;
    state.skewMs = Math.abs(skew) > 2000 ? skew : 0;
  }
}

function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h >= 48) return t('time_d', { d: Math.floor(h / 24), h: h % 24 });
  if (h > 0) return t('time_h', { h, m: String(m).padStart(2, '0') });
  if (m > 0) return t('time_m', { m, s: String(s).padStart(2, '0') });
  return t('time_s', { s });
}

function formatClock(ms) {
  return new Date(ms).toLocaleTimeString(state.lang === 'en' ? 'en-CA' : 'fr-CA', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

function topicLabel(topic) {
  if (!topic) return t('topic_none');
  const key = `topic_${topic}`;
  return key in STRINGS.fr ? t(key) : topic;
}

function langLabel(lang) {
  const key = `lang_${lang}`;
  return key in STRINGS.fr ? t(key) : String(lang || '').toUpperCase();
}

function announce(text, { urgent = false } = {}) {
  const region = urgent ? view.alerter : view.announcer;
  region.textContent = '';
  // A new node each time, so screen readers speak a repeated sentence again.
  region.append(el('p', { text }));
}

function isMine(item) {
  return Boolean(state.session) && item.claimed_by === state.session.login;
}

function isSupervisor() {
  return state.session?.role === 'supervisor';
}

// ------------------------------------------------------------------ language

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);
  for (const node of document.querySelectorAll('[data-t-aria-label]')) {
    node.setAttribute('aria-label', t(node.dataset.tAriaLabel));
  }
  const other = state.lang === 'fr' ? 'en' : 'fr';
  view.lang.textContent = other === 'en' ? 'English' : 'Français';
  if (window.relaisStaff) window.relaisStaff.onLang(state.lang);
  view.lang.lang = other;
  renderMute();
  renderWho();
  renderRoster();
  renderQueue();
  for (const conv of state.conversations.values()) translateConversation(conv);
  renderTabs();
  renderConnection();
  renderReports();
  renderReport();
  updateTitle();
}

view.lang.addEventListener('click', () => {
  state.lang = state.lang === 'fr' ? 'en' : 'fr';
  savePrefs();
  applyLanguage();
});

// ------------------------------------------------------------------ sound

let audio = null;
/** A pointer is pressed (the page does not change its layout under it meanwhile). */
let pointerHeld = false;

/** The audio context is made during a click or key press (browsers' autoplay rule). */
function unlockAudio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  if (!audio) {
    audio = new Context();
    audio.addEventListener('statechange', renderMute);
  }
  if (audio.state === 'suspended') audio.resume().catch(() => {});
  renderMute();
}

/** A soft chime made with oscillators: no sound file, nothing fetched. */
function chime(urgent) {
  if (state.muted || !audio) {
    renderMute();
    return;
  }
  if (audio.state === 'suspended') audio.resume().catch(() => {});
  const notes = urgent ? [659.25, 880, 659.25, 880] : [523.25];
  let at = audio.currentTime + 0.02;
  for (const frequency of notes) {
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.type = 'sine';
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(urgent ? 0.3 : 0.15, at + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.4);
    oscillator.connect(gain);
    gain.connect(audio.destination);
    oscillator.start(at);
    oscillator.stop(at + 0.45);
    at += 0.45;
  }
}

/** Sound on, but the browser has not let the page make any yet (no click since a reload). */
function soundBlocked() {
  return Boolean(!state.muted && state.session && (!audio || audio.state !== 'running'));
}

function renderMute() {
  view.mute.textContent = state.muted ? t('soundOff') : t('soundOn');
  view.mute.setAttribute('aria-pressed', String(state.muted));
  view.mute.classList.toggle('is-off', state.muted);
  // "Allow sound" goes once the press that allowed it is over: gone at pointerdown, it
  // moved the page under the pointer and the click landed elsewhere (a tab, say).
  if (soundBlocked()) view.soundUnlock.hidden = false;
  else if (!pointerHeld) view.soundUnlock.hidden = true;
}

view.mute.addEventListener('click', () => {
  state.muted = !state.muted;
  savePrefs();
  renderMute();
});

// Any click lets sound play (the capture listener below); this button says so.
view.soundUnlock.addEventListener('click', () => {
  unlockAudio();
  view.mute.focus();
});

document.addEventListener('pointerdown', () => {
  pointerHeld = true;
  state.lastActivity = Date.now();
  if (state.session) unlockAudio();
}, { capture: true });
for (const type of ['pointerup', 'pointercancel']) {
  document.addEventListener(type, () => {
    if (!pointerHeld) return;
    pointerHeld = false;
    // After the click this press makes (dispatched in the same task).
    setTimeout(renderMute, 0);
  }, { capture: true });
}
document.addEventListener('keydown', () => {
  state.lastActivity = Date.now();
  if (state.session) unlockAudio();
}, { capture: true });

// ------------------------------------------------------------------ title

function updateTitle() {
  let unread = 0;
  for (const conv of state.conversations.values()) unread += conv.unread;
  const urgentWaiting = state.session && (state.queue.some((item) => item.urgent && item.status === 'waiting') || dangerWaiting());
  let title = t('pageTitle');
  if (unread > 0) title = `(${unread}) ${title}`;
  const badge = $('conversations-count');
  if (badge) {
    badge.hidden = unread === 0;
    badge.textContent = unread ? t('unread', { n: unread }) : '';
  }
  if (urgentWaiting) title = `⚠ ${t('urgentTitle')} · ${title}`;
  document.title = title;
}

// ------------------------------------------------------------------ the API

class ApiError extends Error {
  constructor(status, code, message, retryAfterMs) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const session = state.session;
  if (session) headers.Authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, 'network', t('networkError'));
  }
  noteServerClock(response);
  if (!response.ok) {
    let answer = {};
    try {
      answer = await response.json();
    } catch {
      answer = {};
    }
    const message = (state.lang === 'en' ? answer.message_en : answer.message) || answer.message || `HTTP ${response.status}`;
    const error = new ApiError(response.status, answer.error || 'http', message, answer.retry_after_ms);
    // A dead token (expired, or logged out elsewhere) sends the page back to login.
    if (response.status === 401 && path !== '/api/login' && session && state.session === session) {
      expire();
    }
    throw error;
  }
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

// ------------------------------------------------------------------ login and logout

function saveSession() {
  sessions.save(state.session);
}

function storedSession() {
  return sessions.read();
}

function showLoginError(text) {
  view.loginError.textContent = text;
  view.loginError.hidden = !text;
}

view.loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  unlockAudio();
  view.loginNotice.hidden = true;
  submitLogin(
    { form: view.loginForm, username: view.username, password: view.password, totp: view.totp, submit: view.loginSubmit },
    {
      t,
      request: (body) => api('POST', '/api/login', body),
      // An author's account: said plainly (not "session expired").
      allowed: (role) => role !== 'author',
      refused: () => t('authorAccount'),
      failure: (error) => {
        if (error.status === 401) return t('loginRefused');
        if (error.status === 429) return t('loginSlow', { s: Math.ceil((error.retryAfterMs || 1000) / 1000) });
        return error.status ? t('error', { message: error.message }) : t('networkError');
      },
      showError: showLoginError,
      onSession: (session) => {
        state.freshLogin = true;
        startSession(session);
      },
    },
  );
});

function startSession(session) {
  state.session = session;
  saveSession();
  state.firstQueue = true;
  view.loginView.hidden = true;
  view.consoleView.hidden = false;
  view.shift.hidden = false;
  view.mute.hidden = false;
  view.who.hidden = false;
  view.logout.hidden = false;
  renderWho();
  renderMute();
  renderOnCall();
  scheduleExpiry();
  connect();
  loadCanned();
  if (isSupervisor()) loadIntervenors();
  view.onCall.focus();
}

/** Forgets everything of the session: conversations, queue, token. */
function endSession(noticeKey) {
  if (window.relaisStaff) window.relaisStaff.onEnd();
  const socket = state.socket;
  state.session = null;
  state.socket = null;
  state.connected = false;
  state.hadSocket = false;
  if (socket) {
    socket.onclose = null;
    try {
      socket.close(1000);
    } catch {
      // Already closed.
    }
  }
  clearTimeout(state.reconnectTimer);
  clearInterval(state.reconnectCountdown);
  clearTimeout(state.expiryTimer);
  state.backoff = 0;
  state.queue = [];
  state.roster = [];
  state.onCall = false;
  state.conversations.clear();
  state.early.clear();
  state.claiming.clear();
  state.showWhenClaimed.clear();
  state.seen.clear();
  state.alerted.clear();
  state.active = null;
  state.canned = [];
  state.intervenors = [];
  state.reassignOpen = null;
  state.logoutArmed = false;
  state.reports = null;
  state.reportsAllowed = true;
  state.reportsSeen.clear();
  state.reportsAlerted.clear();
  state.reportsAwaited.clear();
  state.report = null;
  clearReportForms();
  showView('conversations');
  renderReports();
  renderReport();
  saveSession();
  view.panels.replaceChildren();
  view.tabs.replaceChildren();
  renderQueue();
  renderTabs();
  view.consoleView.hidden = true;
  view.shift.hidden = true;
  view.mute.hidden = true;
  view.soundUnlock.hidden = true;
  view.who.hidden = true;
  view.logout.hidden = true;
  view.connection.hidden = true;
  view.loginView.hidden = false;
  view.loginNotice.textContent = noticeKey ? t(noticeKey) : '';
  view.loginNotice.hidden = !noticeKey;
  view.loginSubmit.disabled = false;
  updateTitle();
  view.username.focus();
}

/** The token died (expiry, logout elsewhere): back to the login form. */
function expire() {
  if (state.session) endSession('expired');
}

function scheduleExpiry() {
  clearTimeout(state.expiryTimer);
  const left = state.session.expires_at - serverNow();
  // setTimeout cannot wait longer than about 24 days; tokens live 12 h by default.
  if (left < 2 ** 31) state.expiryTimer = setTimeout(expire, Math.max(0, left));
}

view.logout.addEventListener('click', async () => {
  const held = [...state.conversations.values()].filter((conv) => !conv.ended).length;
  if (held > 0 && !state.logoutArmed) {
    state.logoutArmed = true;
    view.logout.textContent = t('logoutConfirm', { n: held });
    view.logout.classList.add('is-armed');
    return;
  }
  try {
    await api('POST', '/api/logout');
  } catch {
    // The token is forgotten here anyway.
  }
  endSession('loggedOut');
});

function disarmLogout() {
  if (!state.logoutArmed) return;
  state.logoutArmed = false;
  view.logout.textContent = t('logout');
  view.logout.classList.remove('is-armed');
}
view.logout.addEventListener('blur', disarmLogout);

function renderWho() {
  if (!state.session) {
    view.who.textContent = '';
    return;
  }
  view.who.textContent = isSupervisor() ? `${state.session.name} · ${t('supervisor')}` : state.session.name;
}

/** Keeps the token alive while the person works or is on call (see KEEPALIVE_MS). */
setInterval(() => {
  if (!state.session) return;
  const now = Date.now();
  if (now - state.lastKeepalive < KEEPALIVE_MS) return;
  const recentlyActive = now - state.lastActivity < KEEPALIVE_MS;
  if (!recentlyActive && !state.onCall) return;
  state.lastKeepalive = now;
  api('GET', '/api/me').then((me) => {
    if (me && typeof me.on_call === 'boolean' && me.on_call !== state.onCall) {
      state.onCall = me.on_call;
      renderOnCall();
    }
  }).catch(() => {});
}, 30_000);

// ------------------------------------------------------------------ on call and roster

function renderOnCall() {
  view.onCall.setAttribute('aria-checked', String(state.onCall));
  view.onCall.classList.toggle('is-on', state.onCall);
  view.offCallHint.hidden = !state.session || state.onCall;
  renderConnection();
}

view.onCall.addEventListener('click', async () => {
  const wanted = !state.onCall;
  view.onCall.disabled = true;
  try {
    await api('PUT', '/api/me/on_call', { on_call: wanted });
    state.onCall = wanted;
    state.lastKeepalive = Date.now();
  } catch (error) {
    if (error.status !== 401) showConnectionMessage('error', { message: error.message });
  } finally {
    view.onCall.disabled = false;
    renderOnCall();
    if (state.session) view.onCall.focus();
  }
});

function renderRoster() {
  if (!state.session) {
    view.roster.textContent = '';
    return;
  }
  const names = state.roster;
  view.roster.textContent = names.length ? t('rosterSome', { names: names.join(', ') }) : t('rosterNobody');
  view.roster.classList.toggle('is-empty', names.length === 0);
}

// ------------------------------------------------------------------ the socket

function socketUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/console`;
}

function connect() {
  if (!state.session) return;
  clearTimeout(state.reconnectTimer);
  clearInterval(state.reconnectCountdown);
  const session = state.session;
  let socket;
  try {
    socket = new WebSocket(socketUrl());
  } catch {
    scheduleReconnect();
    return;
  }
  state.socket = socket;
  if (!state.hadSocket) showConnectionMessage('connecting', {});
  socket.onopen = () => socket.send(JSON.stringify({ type: 'auth', token: session.token }));
  socket.onmessage = (event) => {
    if (state.socket !== socket) return;
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    onFrame(frame);
  };
  socket.onclose = (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    const wasConnected = state.connected;
    state.connected = false;
    // 4001: logged out or expired; 1008: the token was refused at `auth`.
    if (event.code === 4001 || event.code === 1008) {
      expire();
      return;
    }
    if (wasConnected) renderConnection();
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  if (!state.session) return;
  const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** state.backoff) * (0.8 + Math.random() * 0.4);
  state.backoff = Math.min(state.backoff + 1, 10);
  const at = Date.now() + delay;
  const tick = () => {
    const seconds = Math.max(1, Math.ceil((at - Date.now()) / 1000));
    showConnectionMessage('reconnecting', { s: seconds }, { retry: true, problem: true });
  };
  tick();
  clearInterval(state.reconnectCountdown);
  state.reconnectCountdown = setInterval(tick, 1000);
  clearTimeout(state.reconnectTimer);
  state.reconnectTimer = setTimeout(() => {
    clearInterval(state.reconnectCountdown);
    showConnectionMessage('reconnectingNow', {}, { problem: true });
    connect();
  }, delay);
}

view.retry.addEventListener('click', () => {
  if (!state.session || state.socket) return;
  connect();
});

// The network is back (a laptop waking up, Wi-Fi again): no need to wait for the backoff.
window.addEventListener('online', () => {
  if (!state.session || state.socket) return;
  state.backoff = 0;
  connect();
});

/** What the connection line says: a string key and its parameters (so a language switch redraws it). */
let connectionMessage = { key: null, params: {}, retry: false, problem: false };
let connectionHideTimer = null;

function showConnectionMessage(key, params = {}, { retry = false, problem = false, fade = false } = {}) {
  connectionMessage = { key, params, retry, problem };
  clearTimeout(connectionHideTimer);
  if (fade) {
    connectionHideTimer = setTimeout(() => {
      connectionMessage = { key: null, params: {}, retry: false, problem: false };
      renderConnection();
    }, 8000);
  }
  renderConnection();
}

function renderConnection() {
  if (!state.session) {
    view.connection.hidden = true;
    return;
  }
  let text = connectionMessage.key ? t(connectionMessage.key, connectionMessage.params) : '';
  let problem = connectionMessage.problem;
  if (!state.connected && state.onCall && state.hadSocket) {
    text = text ? `${text} ${t('notReachable')}` : t('notReachable');
    problem = true;
  }
  view.connectionText.textContent = text;
  view.connection.hidden = !text;
  view.connection.classList.toggle('is-problem', problem);
  view.retry.hidden = !connectionMessage.retry || state.connected;
}

function send(frame) {
  if (!state.socket || !state.connected || state.socket.readyState !== WebSocket.OPEN) return false;
  state.socket.send(JSON.stringify(frame));
  return true;
}

function onFrame(frame) {
  // The staff, audit and supervision views (console-staff.js) see every frame.
  if (window.relaisStaff) window.relaisStaff.onFrame(frame);
  switch (frame.type) {
    case 'ready':
      onReady(frame);
      break;
    case 'queue':
      onQueue(Array.isArray(frame.items) ? frame.items : []);
      break;
    case 'roster':
      state.roster = Array.isArray(frame.on_call) ? frame.on_call.map(String) : [];
      renderRoster();
      break;
    case 'message':
      onMessage(frame);
      break;
    case 'claimed':
      onClaimed(frame.handoff, frame);
      break;
    case 'closed':
      onClosed(frame.handoff, frame.reason);
      break;
    case 'error':
      onError(frame);
      break;
    case 'reports':
      state.reportFrames += 1;
      onReports(Array.isArray(frame.items) ? frame.items : []);
      break;
    case 'report_alert':
      onReportAlert(frame.report);
      break;
    case 'report_changed':
      // One report made or changed: merged into the list (before the list is
      // loaded, the load brings it).
      state.reportFrames += 1;
      if (frame.item && state.reports !== null) onReports(withReport(state.reports, frame.item));
      break;
    case 'typing':
      onTyping(frame.handoff);
      break;
    default:
      break;
  }
}

function onReady(frame) {
  const reconnection = state.hadSocket;
  state.connected = true;
  state.hadSocket = true;
  state.backoff = 0;
  state.onCall = Boolean(frame.on_call);
  if (state.session) {
    state.session.name = frame.name || state.session.name;
    state.session.role = frame.role || state.session.role;
    saveSession();
  }
  renderWho();
  renderOnCall();
  // The reports changed while the socket was down, or were never loaded.
  loadReports();
  if (reconnection) {
    // Claiming again what one holds answers the transcript: what was missed shows.
    const held = [...state.conversations.values()].filter((conv) => !conv.ended);
    Promise.all(held.map((conv) => claim(conv.id, { reconnect: true }))).then((counts) => {
      const missed = counts.reduce((sum, n) => sum + (n || 0), 0);
      showConnectionMessage('reconnected', { n: missed }, { fade: true });
    });
  } else if (state.freshLogin && frame.on_call) {
    // On call was kept from an earlier login: said plainly, so the first click is not a surprise.
    showConnectionMessage('stillOnCall');
  } else {
    showConnectionMessage('connected', {}, { fade: true });
  }
  state.freshLogin = false;
}

function onError(frame) {
  if (frame.code === 'unauthorized') {
    expire();
    return;
  }
  const conv = frame.handoff !== undefined ? state.conversations.get(frame.handoff) : null;
  if (conv) {
    failPending(conv);
    if (frame.code === 'forbidden' || frame.code === 'not_found') {
      markEnded(conv, frame.code === 'not_found' ? 'endedGone' : 'endedTaken');
    }
    return;
  }
  if (frame.message) showConnectionMessage('error', { message: frame.message }, { fade: true });
}

// ------------------------------------------------------------------ the queue

function onQueue(items) {
  state.queue = items;
  const initial = state.firstQueue;
  let newUrgent = false;
  let newRequest = false;
  for (const item of items) {
    if (item.status === 'waiting' && item.urgent && !state.alerted.has(item.id)) {
      state.alerted.add(item.id);
      newUrgent = true;
    }
    if (item.status === 'waiting' && !state.seen.has(item.id) && !state.firstQueue) newRequest = true;
    state.seen.add(item.id);
  }
  state.firstQueue = false;
  if (newUrgent) {
    chime(true);
    announce(t('announceUrgent'), { urgent: true });
  } else if (newRequest && state.onCall) {
    chime(false);
    announce(t('announceNew'));
  }
  // Conversations this intervenor holds but has not opened: a reload, or a
  // supervisor gave one. Claiming again answers the transcript.
  for (const item of items) {
    if (isMine(item) && !state.conversations.has(item.id)) claim(item.id, { adopt: true, given: !initial });
  }
  // Held conversations that left the queue without a word (closed by a supervisor)
  // or that someone else holds now.
  for (const conv of state.conversations.values()) {
    if (conv.ended || conv.busy || state.claiming.has(conv.id)) continue;
    const item = items.find((candidate) => candidate.id === conv.id);
    if (!item) {
      markEnded(conv, 'endedGone');
    } else if (item.status === 'claimed' && !isMine(item)) {
      markEnded(conv, 'endedTaken');
    } else if (item.status === 'waiting') {
      markEnded(conv, 'endedReleased');
    } else if (item.urgent !== conv.urgent) {
      conv.urgent = item.urgent;
      renderConversationHead(conv);
      renderTabs();
    }
    if (item && (item.youth_online !== conv.youthOnline || (item.lang && item.lang !== conv.lang))) {
      // The youth came or went, or switched language (canned replies follow).
      conv.youthOnline = item.youth_online;
      if (item.lang && item.lang !== conv.lang) {
        conv.lang = item.lang;
        renderCanned(conv);
      }
      renderConversationHead(conv);
    }
  }
  renderQueue();
  updateTitle();
}

/** The queue, drawn again from `state.queue`; focus stays on the same control. */
function renderQueue() {
  const focused = document.activeElement;
  const focusKey = focused && focused.closest && focused.closest('.queue') ? focusKeyOf(focused) : null;

  const urgent = [];
  const waiting = [];
  const taken = [];
  for (const item of state.queue) {
    if (item.status === 'waiting') (item.urgent ? urgent : waiting).push(item);
    else taken.push(item);
  }
  view.listUrgent.replaceChildren(...urgent.map(queueItem));
  view.listWaiting.replaceChildren(...waiting.map(queueItem));
  view.listTaken.replaceChildren(...taken.map(queueItem));
  view.groupUrgent.hidden = urgent.length === 0;
  // No empty "Waiting" heading when only urgent requests wait.
  $('group-waiting').hidden = waiting.length === 0 && urgent.length > 0;
  view.groupTaken.hidden = taken.length === 0;
  view.queueEmpty.hidden = urgent.length + waiting.length > 0;
  view.takenTitle.textContent = isSupervisor() ? t('groupTakenAll') : t('groupTaken');
  const count = urgent.length + waiting.length;
  view.queueSummary.textContent = count ? t('queueSummary', { waiting: count, urgent: urgent.length }) : t('queueSummaryNone');
  tickWaiting();

  if (focusKey) {
    const again = view.consoleView.querySelector(`.queue [data-focus-key="${CSS.escape(focusKey)}"]`);
    if (again) again.focus();
    else view.queueTitle.focus();
  }
}

function focusKeyOf(node) {
  const keyed = node.closest('[data-focus-key]');
  return keyed ? keyed.dataset.focusKey : null;
}

function queueItem(item) {
  const mine = isMine(item);
  const classes = ['queue-item'];
  if (item.urgent) classes.push('is-urgent');
  if (item.status !== 'waiting') classes.push('is-taken');
  if (mine) classes.push('is-mine');
  const li = el('li', { className: classes.join(' '), attrs: { 'data-id': item.id, 'data-status': item.status } });

  const head = el('div', { className: 'item-head' });
  if (item.urgent) head.append(el('span', { className: 'badge badge-urgent', text: t('urgentBadge') }));
  head.append(el('span', { className: 'item-topic', text: topicLabel(item.topic) }));
  head.append(el('span', { className: 'badge badge-lang', text: String(item.lang || '').toUpperCase(), attrs: { title: langLabel(item.lang) } }));
  if (item.position) head.append(el('span', { className: 'item-position', text: t('position', { n: item.position }) }));
  li.append(head);

  const meta = el('div', { className: 'item-meta' });
  meta.append(el('span', {
    className: 'item-wait',
    attrs: { 'data-since': item.waiting_since, 'data-since-key': item.status === 'waiting' ? 'waitingFor' : 'openFor' },
  }));
  if (item.status !== 'waiting') {
    meta.append(el('span', {
      className: 'item-holder',
      text: mine ? t('takenByYou') : t('takenBy', { name: item.claimed_by_name || item.claimed_by || '?' }),
    }));
  }
  if (item.youth_online !== undefined) {
    meta.append(el('span', {
      className: `item-presence ${item.youth_online ? 'is-online' : 'is-offline'}`,
      text: item.youth_online ? t('youthOnline') : t('youthGone'),
    }));
  }
  if (item.holder_away) {
    meta.append(el('span', { className: 'item-away', text: t('holderAway', { name: item.claimed_by_name || item.claimed_by || '?' }) }));
  }
  li.append(meta);
  if (item.requeued && item.status === 'waiting') li.append(el('p', { className: 'item-note', text: t('requeuedNote') }));

  const actions = el('div', { className: 'item-actions' });
  const label = `${t('request', { id: item.id })}, ${topicLabel(item.topic)}${item.urgent ? `, ${t('urgentBadge')}` : ''}`;
  if (item.status === 'waiting') {
    const take = el('button', {
      className: item.urgent ? 'primary take take-urgent' : 'primary take',
      text: t('take'),
      attrs: { type: 'button', 'data-focus-key': `take-${item.id}`, 'aria-label': `${t('take')}, ${label}` },
    });
    take.addEventListener('click', () => claim(item.id));
    actions.append(take);
  } else if (mine) {
    const open = el('button', {
      className: 'secondary open',
      text: t('open'),
      attrs: { type: 'button', 'data-focus-key': `open-${item.id}`, 'aria-label': `${t('open')}, ${label}` },
    });
    open.addEventListener('click', () => {
      if (state.conversations.has(item.id)) activate(item.id, { focus: 'reply' });
      else claim(item.id);
    });
    actions.append(open);
  }
  if (isSupervisor()) {
    const toggle = el('button', {
      className: 'secondary reassign',
      text: t('reassign'),
      attrs: {
        type: 'button',
        'data-focus-key': `reassign-${item.id}`,
        'aria-expanded': String(state.reassignOpen === item.id),
        'aria-label': `${t('reassign')} ${label}`,
      },
    });
    toggle.addEventListener('click', () => {
      state.reassignOpen = state.reassignOpen === item.id ? null : item.id;
      if (state.reassignOpen !== null) loadIntervenors().then(renderQueue);
      renderQueue();
    });
    actions.append(toggle);
  }
  li.append(actions);
  if (isSupervisor() && state.reassignOpen === item.id) li.append(reassignForm(item));
  return li;
}

function reassignForm(item) {
  const form = el('form', { className: 'reassign-form' });
  const selectId = `reassign-to-${item.id}`;
  form.append(el('label', { text: t('reassignTo'), attrs: { for: selectId } }));
  const select = el('select', { attrs: { id: selectId, 'data-focus-key': `reassign-to-${item.id}` } });
  for (const person of state.intervenors) {
    if (person.login === item.claimed_by) continue;
    let text = person.name;
    if (state.session && person.login === state.session.login) text = t('reassignSelf', { name: person.name });
    else if (person.on_call) text = t('reassignOnCall', { name: person.name });
    select.append(el('option', { text, attrs: { value: person.login } }));
  }
  if (state.reassignChoice && [...select.options].some((o) => o.value === state.reassignChoice)) {
    select.value = state.reassignChoice;
  }
  select.addEventListener('change', () => { state.reassignChoice = select.value; });
  form.append(select);
  form.append(el('button', {
    className: 'primary',
    text: t('reassignConfirm'),
    attrs: { type: 'submit', 'data-focus-key': `reassign-confirm-${item.id}` },
  }));
  const cancel = el('button', { className: 'secondary', text: t('cancel'), attrs: { type: 'button', 'data-focus-key': `reassign-cancel-${item.id}` } });
  cancel.addEventListener('click', () => {
    state.reassignOpen = null;
    renderQueue();
  });
  form.append(cancel);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const login = select.value;
    if (!login) return;
    const person = state.intervenors.find((p) => p.login === login);
    try {
      await api('POST', `/api/handoffs/${item.id}/assign`, { login });
      state.reassignOpen = null;
      state.reassignChoice = null;
      announce(t('reassignDone', { id: item.id, name: person ? person.name : login }));
      showConnectionMessage('reassignDone', { id: item.id, name: person ? person.name : login }, { fade: true });
      if (state.session && login === state.session.login) claim(item.id);
      renderQueue();
    } catch (error) {
      if (error.status !== 401) showConnectionMessage('error', { message: error.message }, { fade: true });
    }
  });
  return form;
}

async function loadIntervenors() {
  if (!isSupervisor()) return;
  try {
    const list = await api('GET', '/api/intervenors');
    state.intervenors = Array.isArray(list) ? list : [];
  } catch {
    // The reassignment list stays as it was.
  }
}

async function loadCanned() {
  try {
    const list = await api('GET', '/api/canned');
    state.canned = Array.isArray(list) ? list : [];
  } catch {
    state.canned = [];
  }
  for (const conv of state.conversations.values()) renderCanned(conv);
}

/** Waiting times, every second. */
function tickWaiting() {
  const now = serverNow();
  for (const node of document.querySelectorAll('[data-since]')) {
    node.textContent = t(node.dataset.sinceKey || 'waitingFor', { t: formatDuration(now - Number(node.dataset.since)) });
  }
}
setInterval(tickWaiting, 1000);

// ------------------------------------------------------------------ conversations

/**
 * Claims a request (or claims again one already held: the answer carries the
 * transcript). Returns how many entries were new to the page (on reconnection:
 * what was missed).
 */
async function claim(id, { adopt = false, reconnect = false, given = false } = {}) {
  if (state.claiming.has(id)) {
    if (!adopt && !reconnect) state.showWhenClaimed.add(id);
    return 0;
  }
  state.claiming.add(id);
  try {
    const answer = await api('POST', `/api/handoffs/${id}/claim`);
    if (!state.session) return 0;
    const added = onClaimed(id, answer, { adopt, reconnect });
    if ((!adopt && !reconnect) || state.showWhenClaimed.has(id)) activate(id, { focus: 'reply' });
    else if (given) {
      // A supervisor gave this conversation: it shows as unread until opened.
      const conv = state.conversations.get(id);
      if (conv && state.active !== id) bumpUnread(conv, 1);
      announce(t('given', { id }));
    }
    return added;
  } catch (error) {
    const conv = state.conversations.get(id);
    if (error.status === 409) {
      if (conv) markEnded(conv, 'endedTaken');
      else showConnectionMessage('takenAlready', { id }, { fade: true });
    } else if (error.status === 404) {
      if (conv) markEnded(conv, 'endedGone');
      else showConnectionMessage('goneAlready', { id }, { fade: true });
    } else if (error.status !== 401) {
      showConnectionMessage('error', { message: error.message }, { fade: true });
    }
    if (conv && reconnect) failPending(conv);
    return 0;
  } finally {
    state.claiming.delete(id);
    state.showWhenClaimed.delete(id);
  }
}

/** A claim's answer (HTTP or `claimed` frame): the conversation and its transcript. */
function onClaimed(id, answer, { reconnect = false } = {}) {
  let conv = state.conversations.get(id);
  const isNew = !conv;
  if (!conv) conv = createConversation(id, answer);
  conv.urgent = Boolean(answer.urgent);
  conv.lang = answer.lang || conv.lang;
  conv.topic = answer.topic ?? conv.topic;
  if (conv.ended) reopen(conv);
  const transcript = Array.isArray(answer.transcript) ? answer.transcript : [];
  const known = conv.lastSeq;
  // On reconnection, what the youth wrote meanwhile is marked, after one divider.
  const missed = reconnect
    ? transcript.filter((entry) => entry.from === 'youth' && entry.seq > known && !conv.entries.has(entry.seq))
    : [];
  if (missed.length && conv.missedDivider) {
    conv.missedDivider.remove();
    conv.missedDivider = null;
  }
  for (const entry of transcript) {
    addEntry(conv, entry, { missed: missed.includes(entry) });
  }
  if (missed.length) bumpUnread(conv, missed.length);
  const early = state.early.get(id) || [];
  state.early.delete(id);
  for (const frame of early) onMessage(frame);
  if (reconnect) reconcilePending(conv, known);
  renderConversationHead(conv);
  if (isNew) renderTabs();
  return missed.length;
}

function createConversation(id, answer) {
  const panel = view.template.content.firstElementChild.cloneNode(true);
  const conv = {
    id,
    urgent: Boolean(answer.urgent),
    lang: answer.lang || 'fr',
    topic: answer.topic || '',
    openedAt: Date.now(),
    entries: new Map(),
    lastSeq: 0,
    unread: 0,
    pending: [],
    ended: null,
    panel,
    tab: null,
    title: panel.querySelector('.conv-title'),
    meta: panel.querySelector('.conv-meta'),
    notice: panel.querySelector('.conv-notice'),
    transcript: panel.querySelector('.transcript'),
    replyForm: panel.querySelector('.reply'),
    reply: panel.querySelector('.reply-text'),
    closeForm: panel.querySelector('.close-form'),
    endButton: panel.querySelector('.end'),
    releaseButton: panel.querySelector('.release'),
    dismissButton: panel.querySelector('.dismiss'),
    cannedList: panel.querySelector('.canned-list'),
    boundary: null,
    missedDivider: null,
  };
  panel.id = `conversation-${id}`;
  panel.dataset.id = id;
  panel.hidden = true;
  panel.setAttribute('aria-labelledby', `tab-${id}`);
  conv.title.id = `conversation-title-${id}`;
  const replyId = `reply-${id}`;
  conv.reply.id = replyId;
  panel.querySelector('.reply-label').setAttribute('for', replyId);
  conv.reply.setAttribute('aria-describedby', `reply-hint-${id}`);
  panel.querySelector('.reply-hint').id = `reply-hint-${id}`;
  conv.transcript.setAttribute('aria-labelledby', conv.title.id);

  const outcomes = panel.querySelector('.outcomes');
  for (const outcome of OUTCOMES) {
    const input = el('input', { attrs: { type: 'radio', name: `outcome-${id}`, value: outcome } });
    const label = el('label', { className: 'outcome' }, [input, el('span', { attrs: { 'data-t': `outcome_${outcome}` } })]);
    outcomes.append(label);
  }
  for (const node of panel.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);

  conv.typing = el('p', { className: 'typing-note', attrs: { 'aria-live': 'polite' } });
  conv.replyForm.before(conv.typing);
  conv.counter = el('p', { className: 'hint counter', attrs: { 'aria-live': 'polite', hidden: true } });
  panel.querySelector('.reply-row').after(conv.counter);
  const known = state.queue.find((item) => item.id === id);
  if (known) conv.youthOnline = known.youth_online;
  wireConversation(conv);
  state.conversations.set(id, conv);
  view.panels.append(panel);
  renderCanned(conv);
  renderConversationHead(conv);
  return conv;
}

function wireConversation(conv) {
  conv.replyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    sendReply(conv);
  });
  conv.reply.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendReply(conv);
    }
  });
  conv.reply.addEventListener('input', () => {
    renderCounter(conv);
    // The youth sees "… is typing" (no words), at most every 4 s.
    const now = Date.now();
    if (conv.reply.value.trim() && now - (conv.typingSent || 0) > 4000 && send({ type: 'typing', handoff: conv.id })) conv.typingSent = now;
  });
  conv.releaseButton.addEventListener('click', () => release(conv));
  conv.endButton.addEventListener('click', () => {
    const open = conv.closeForm.hidden;
    conv.closeForm.hidden = !open;
    conv.endButton.setAttribute('aria-expanded', String(open));
    if (open) conv.closeForm.querySelector('input').focus();
  });
  conv.closeForm.querySelector('.cancel-close').addEventListener('click', () => {
    conv.closeForm.hidden = true;
    conv.endButton.setAttribute('aria-expanded', 'false');
    conv.endButton.focus();
  });
  conv.closeForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = conv.closeForm.querySelector('input[type="radio"]:checked');
    if (!chosen) {
      showNotice(conv, t('outcomeMissing'));
      conv.closeForm.querySelector('input').focus();
      return;
    }
    closeConversation(conv, chosen.value);
  });
  conv.dismissButton.addEventListener('click', () => dismiss(conv));
  // The transcript stays at its newest line while the person has not scrolled up,
  // also when the space around it changes (canned replies opened, window resized).
  conv.stuck = true;
  conv.transcript.addEventListener('scroll', () => {
    conv.stuck = atBottom(conv.transcript);
    if (conv.stuck) clearUnread(conv);
  });
  if (typeof ResizeObserver === 'function') {
    new ResizeObserver(() => {
      if (conv.stuck) scrollToEnd(conv);
    }).observe(conv.transcript);
  }
}

function renderCanned(conv) {
  const items = state.canned.map((canned) => {
    const text = (conv.lang === 'en' ? canned.en : canned.fr) || canned.fr || canned.en || '';
    // The title only: the whole text lands in the reply box, where it is read and edited.
    const button = el('button', { className: 'canned-item', text: canned.title || text.slice(0, 40), attrs: { type: 'button', title: text } });
    button.addEventListener('click', () => insertCanned(conv, text));
    return el('li', {}, [button]);
  });
  if (items.length === 0) items.push(el('li', { className: 'hint', text: t('cannedNone') }));
  conv.cannedList.replaceChildren(...items);
}

/** Puts a canned reply at the caret (or in place of the selection), to edit before sending. */
function insertCanned(conv, text) {
  const box = conv.reply;
  const start = box.selectionStart ?? box.value.length;
  const end = box.selectionEnd ?? box.value.length;
  const before = box.value.slice(0, start);
  const after = box.value.slice(end);
  const spacer = before && !/\s$/.test(before) ? ' ' : '';
  box.value = `${before}${spacer}${text}${after}`;
  const caret = before.length + spacer.length + text.length;
  box.focus();
  box.setSelectionRange(caret, caret);
  conv.panel.querySelector('.canned').open = false;
}

function renderConversationHead(conv) {
  const title = `${t('request', { id: conv.id })} · ${topicLabel(conv.topic)}`;
  conv.title.replaceChildren();
  if (conv.urgent) conv.title.append(el('span', { className: 'badge badge-urgent', text: t('urgentBadge') }), ' ');
  conv.title.append(title);
  conv.meta.textContent = t('meta', { lang: langLabel(conv.lang), time: formatClock(conv.openedAt) });
  if (conv.youthOnline !== undefined) conv.meta.textContent += ` · ${conv.youthOnline ? t('youthOnline') : t('youthGone')}`;
  conv.panel.classList.toggle('is-urgent', conv.urgent);
  conv.reply.lang = conv.lang;
}

/** The page's own words in a conversation, again in the current language. */
function translateConversation(conv) {
  renderConversationHead(conv);
  for (const node of conv.panel.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);
  for (const node of conv.transcript.querySelectorAll('[data-from]')) node.textContent = speaker(node.dataset.from);
  for (const node of conv.transcript.querySelectorAll('[data-divider]')) node.textContent = t(node.dataset.divider);
  for (const node of conv.transcript.querySelectorAll('time[datetime]')) node.textContent = formatClock(Date.parse(node.getAttribute('datetime')));
  for (const node of conv.transcript.querySelectorAll('.pending-note')) {
    node.textContent = node.closest('.is-failed') ? t('notSent') : t('sending');
  }
  if (conv.ended) conv.notice.textContent = t(conv.ended);
  renderCanned(conv);
}

function speaker(from) {
  if (from === 'youth') return t('fromYouth');
  if (from === 'agent') return t('fromAgent');
  return t('fromBot');
}

/** Puts one entry in its place by seq; false if the page already has it. */
function addEntry(conv, entry, { missed = false } = {}) {
  const seq = Number(entry.seq);
  if (!Number.isFinite(seq) || conv.entries.has(seq)) return false;
  const from = entry.from === 'youth' || entry.from === 'agent' ? entry.from : 'bot';
  const li = el('li', { className: `entry entry-${from}`, attrs: { 'data-seq': seq } }, [
    el('div', { className: 'entry-head' }, [
      el('span', { className: 'entry-from', text: speaker(from), attrs: { 'data-from': from } }),
      el('time', { className: 'entry-time', text: entry.at ? formatClock(entry.at) : '', attrs: { datetime: entry.at ? new Date(entry.at).toISOString() : false } }),
    ]),
    // The words themselves: textContent, never HTML.
    el('p', { className: 'entry-text', text: String(entry.text ?? '') }),
  ]);
  if (missed) li.classList.add('is-missed');
  conv.entries.set(seq, { seq, from, text: String(entry.text ?? ''), li });

  const stick = atBottom(conv.transcript);
  const later = [...conv.entries.keys()].filter((other) => other > seq).sort((a, b) => a - b)[0];
  if (later !== undefined) conv.transcript.insertBefore(li, conv.entries.get(later).li);
  else conv.transcript.insertBefore(li, firstPending(conv));
  conv.lastSeq = Math.max(conv.lastSeq, seq);
  if (missed && !conv.missedDivider) {
    conv.missedDivider = divider('missed', 'divider-missed');
    conv.transcript.insertBefore(conv.missedDivider, li);
  }
  placeBoundary(conv);
  if (stick) scrollToEnd(conv);
  return true;
}

function firstPending(conv) {
  return conv.pending.length ? conv.pending[0].li : null;
}

function divider(key, className) {
  return el('li', { className: `divider ${className}`, text: t(key), attrs: { 'data-divider': key } });
}

/** The flow's part and the person's part: a line after the last bot entry. */
function placeBoundary(conv) {
  const bots = [...conv.entries.values()].filter((entry) => entry.from === 'bot');
  if (bots.length === 0) return;
  const lastBot = bots.reduce((a, b) => (a.seq > b.seq ? a : b));
  if (!conv.boundary) {
    conv.boundary = divider('handedOver', 'divider-handover');
    conv.intro = divider('beforeHandoff', 'divider-intro');
  }
  if (conv.boundary.previousSibling !== lastBot.li) lastBot.li.after(conv.boundary);
  if (conv.transcript.firstChild !== conv.intro) conv.transcript.prepend(conv.intro);
  for (const entry of conv.entries.values()) entry.li.classList.toggle('is-before', entry.seq <= lastBot.seq);
}

function atBottom(node) {
  return node.scrollHeight - node.scrollTop - node.clientHeight < 40;
}

function scrollToEnd(conv) {
  conv.transcript.scrollTop = conv.transcript.scrollHeight;
}

function onMessage(frame) {
  const id = frame.handoff;
  const conv = state.conversations.get(id);
  if (!conv) {
    // The claim's answer is on its way: keep the frame for it.
    if (!state.early.has(id)) state.early.set(id, []);
    state.early.get(id).push(frame);
    if (!state.claiming.has(id)) {
      const item = state.queue.find((candidate) => candidate.id === id);
      if (!item || isMine(item)) claim(id, { adopt: true });
    }
    return;
  }
  if (!addEntry(conv, frame)) return;
  if (frame.from === 'agent') resolvePending(conv, String(frame.text ?? ''));
  if (frame.from === 'youth') {
    clearTimeout(conv.typingTimer);
    conv.typing.textContent = '';
    // Not looking at it (another view, tab, window, or scrolled up): counted, and a soft chime.
    if (bumpUnread(conv, 1)) chime(false);
    announce(t('announceMessage', { who: t('fromYouth'), id, text: String(frame.text ?? '') }));
  }
}

/** Counts messages the person has not seen: another tab, a hidden window, or scrolled up. */
function bumpUnread(conv, count) {
  const looking = state.view === 'conversations' && state.active === conv.id && !document.hidden && atBottom(conv.transcript);
  if (looking) return false;
  conv.unread += count;
  renderTabs();
  updateTitle();
  return true;
}

function clearUnread(conv) {
  if (conv.unread === 0) return;
  conv.unread = 0;
  renderTabs();
  updateTitle();
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && state.active !== null) {
    const conv = state.conversations.get(state.active);
    if (conv && atBottom(conv.transcript)) clearUnread(conv);
  }
});

// ------------------------------------------------------------------ replies

/** The count near the limit; over it, nothing is sent (nothing is ever cut). */
function renderCounter(conv) {
  const n = [...conv.reply.value].length;
  const over = n > MAX_TEXT;
  conv.counter.hidden = n < COUNTER_FROM;
  conv.counter.textContent = t(over ? 'counterOver' : 'counter', { n, max: MAX_TEXT });
  conv.counter.classList.toggle('is-over', over);
  conv.reply.setAttribute('aria-invalid', String(over));
  return over;
}

/** The youth is typing: said under the transcript for a few seconds. */
function onTyping(id) {
  const conv = state.conversations.get(id);
  if (!conv || conv.ended) return;
  conv.typing.textContent = t('youthTyping');
  clearTimeout(conv.typingTimer);
  conv.typingTimer = setTimeout(() => { conv.typing.textContent = ''; }, 6000);
}

function sendReply(conv) {
  const text = conv.reply.value;
  if (!text.trim() || conv.ended) return;
  if (renderCounter(conv)) {
    conv.reply.focus();
    return;
  }
  const sent = send({ type: 'reply', handoff: conv.id, text });
  if (!sent) {
    showNotice(conv, t('notConnected'));
    return;
  }
  hideNotice(conv);
  conv.reply.value = '';
  renderCounter(conv);
  const li = el('li', { className: 'entry entry-agent is-pending' }, [
    el('div', { className: 'entry-head' }, [
      el('span', { className: 'entry-from', text: speaker('agent'), attrs: { 'data-from': 'agent' } }),
      el('span', { className: 'pending-note', text: t('sending') }),
    ]),
    el('p', { className: 'entry-text', text }),
  ]);
  conv.transcript.append(li);
  conv.pending.push({ text, li });
  scrollToEnd(conv);
  state.lastActivity = Date.now();
}

function resolvePending(conv, text) {
  const index = conv.pending.findIndex((pending) => pending.text === text);
  if (index < 0) return;
  const [pending] = conv.pending.splice(index, 1);
  pending.li.remove();
}

/** The server refused a reply: the oldest one waiting goes back to the reply box. */
function failPending(conv) {
  const pending = conv.pending.find((candidate) => !candidate.failed);
  if (!pending) return;
  pending.failed = true;
  pending.li.classList.add('is-failed');
  pending.li.querySelector('.pending-note').textContent = t('notSent');
  if (!conv.reply.value.trim()) conv.reply.value = pending.text;
  showNotice(conv, t('notSent'));
}

/** After a reconnection: replies the transcript now has are done, the others go back. */
function reconcilePending(conv, known) {
  for (const pending of [...conv.pending]) {
    const arrived = [...conv.entries.values()].some((entry) => entry.from === 'agent' && entry.seq > known && entry.text === pending.text);
    if (arrived) resolvePending(conv, pending.text);
    else if (!pending.failed) failPending(conv);
  }
}

function showNotice(conv, text) {
  conv.notice.textContent = text;
  conv.notice.hidden = false;
}

function hideNotice(conv) {
  if (conv.ended) return;
  conv.notice.hidden = true;
}

// ------------------------------------------------------------------ release, close, end

async function release(conv) {
  conv.releaseButton.disabled = true;
  conv.busy = true;
  try {
    await api('POST', `/api/handoffs/${conv.id}/release`);
    announce(t('released', { id: conv.id }));
    showConnectionMessage('released', { id: conv.id }, { fade: true });
    removeConversation(conv);
  } catch (error) {
    if (error.status === 404) markEnded(conv, 'endedGone');
    else if (error.status === 403) markEnded(conv, 'endedTaken');
    else if (error.status !== 401) showNotice(conv, t('error', { message: error.message }));
  } finally {
    conv.releaseButton.disabled = false;
    conv.busy = false;
  }
}

async function closeConversation(conv, outcome) {
  const submit = conv.closeForm.querySelector('button[type="submit"]');
  submit.disabled = true;
  conv.busy = true;
  try {
    await api('POST', `/api/handoffs/${conv.id}/close`, { outcome });
    announce(t('closed', { id: conv.id }));
    showConnectionMessage('closed', { id: conv.id }, { fade: true });
    removeConversation(conv);
  } catch (error) {
    if (error.status === 404) markEnded(conv, 'endedGone');
    else if (error.status === 403) markEnded(conv, 'endedTaken');
    else if (error.status !== 401) showNotice(conv, t('error', { message: error.message }));
  } finally {
    submit.disabled = false;
    conv.busy = false;
  }
}

function onClosed(id, reason) {
  const conv = state.conversations.get(id);
  if (!conv) return;
  markEnded(conv, reason === 'reassigned' ? 'endedReassigned' : reason === 'youth_left' ? 'endedYouthLeft' : 'endedClosed');
}

/** The conversation ended without this page closing it: it stays readable until dismissed. */
function markEnded(conv, key) {
  if (conv.ended === key) return;
  conv.ended = key;
  conv.panel.classList.add('is-ended');
  conv.notice.textContent = t(key);
  conv.notice.hidden = false;
  conv.replyForm.hidden = true;
  conv.closeForm.hidden = true;
  conv.releaseButton.hidden = true;
  conv.endButton.hidden = true;
  conv.dismissButton.hidden = false;
  for (const pending of [...conv.pending]) pending.li.remove();
  conv.pending = [];
  if (state.active !== conv.id) conv.unread = Math.max(conv.unread, 1);
  announce(t(key));
  renderTabs();
  updateTitle();
}

function reopen(conv) {
  conv.ended = null;
  conv.panel.classList.remove('is-ended');
  conv.notice.hidden = true;
  conv.replyForm.hidden = false;
  conv.releaseButton.hidden = false;
  conv.endButton.hidden = false;
  conv.dismissButton.hidden = true;
}

function dismiss(conv) {
  removeConversation(conv);
}

function removeConversation(conv) {
  const ids = [...state.conversations.keys()];
  const index = ids.indexOf(conv.id);
  state.conversations.delete(conv.id);
  conv.panel.remove();
  if (state.active === conv.id) {
    state.active = null;
    const rest = [...state.conversations.keys()];
    const next = rest[Math.min(index, rest.length - 1)];
    if (next !== undefined) activate(next, { focus: 'tab' });
    else {
      view.conversationsView.classList.remove('show-work');
      view.queueTitle.focus();
    }
  }
  renderTabs();
  updateTitle();
}

// ------------------------------------------------------------------ tabs

function activate(id, { focus } = {}) {
  const conv = state.conversations.get(id);
  if (!conv) return;
  state.active = id;
  // On a phone the conversation takes the screen; "← Queue" comes back.
  view.conversationsView.classList.add('show-work');
  for (const other of state.conversations.values()) other.panel.hidden = other.id !== id;
  renderTabs();
  scrollToEnd(conv);
  clearUnread(conv);
  if (focus === 'reply' && !conv.ended) conv.reply.focus();
  else if (focus === 'tab' && conv.tab) conv.tab.focus();
  else if (focus === 'title') conv.title.focus();
}

function renderTabs() {
  const convs = [...state.conversations.values()];
  if (state.active === null && convs.length > 0) {
    state.active = convs[0].id;
    for (const conv of convs) conv.panel.hidden = conv.id !== state.active;
  }
  const focusedTab = document.activeElement && document.activeElement.closest && document.activeElement.closest('#tabs [role="tab"]');
  const focusedId = focusedTab ? Number(focusedTab.dataset.id) : null;
  const tabs = convs.map((conv) => {
    const selected = conv.id === state.active;
    const parts = [];
    if (conv.urgent) parts.push(el('span', { className: 'tab-urgent', text: '!', attrs: { 'aria-hidden': 'true' } }));
    parts.push(el('span', { className: 'tab-label', text: `${t('request', { id: conv.id })} · ${topicLabel(conv.topic)}` }));
    if (conv.unread > 0) {
      parts.push(el('span', { className: 'unread', text: String(conv.unread), attrs: { 'aria-hidden': 'true' } }));
      parts.push(el('span', { className: 'visually-hidden', text: `, ${t('unread', { n: conv.unread })}` }));
    }
    if (conv.urgent) parts.push(el('span', { className: 'visually-hidden', text: `, ${t('urgentBadge')}` }));
    const tab = el('button', {
      className: ['tab', selected ? 'is-selected' : '', conv.unread ? 'has-unread' : '', conv.ended ? 'is-ended' : '', conv.urgent ? 'is-urgent' : ''].filter(Boolean).join(' '),
      attrs: {
        type: 'button',
        role: 'tab',
        id: `tab-${conv.id}`,
        'aria-selected': String(selected),
        'aria-controls': conv.panel.id,
        tabindex: selected ? '0' : '-1',
        'data-id': conv.id,
      },
    }, parts);
    tab.addEventListener('click', () => activate(conv.id, { focus: 'reply' }));
    tab.addEventListener('keydown', (event) => onTabKey(event, conv.id));
    conv.tab = tab;
    return tab;
  });
  view.tabs.replaceChildren(...tabs);
  view.tabs.hidden = convs.length === 0;
  view.nothingOpen.hidden = convs.length > 0;
  if (focusedId !== null) {
    const again = state.conversations.get(focusedId);
    if (again && again.tab) again.tab.focus();
  }
}

function onTabKey(event, id) {
  const ids = [...state.conversations.keys()];
  const index = ids.indexOf(id);
  let next = null;
  if (event.key === 'ArrowRight') next = ids[(index + 1) % ids.length];
  else if (event.key === 'ArrowLeft') next = ids[(index - 1 + ids.length) % ids.length];
  else if (event.key === 'Home') next = ids[0];
  else if (event.key === 'End') next = ids[ids.length - 1];
  if (next === null || next === undefined) return;
  event.preventDefault();
  activate(next, { focus: 'tab' });
}

// ------------------------------------------------------------------ reports (Signalements)

const REPORT_STATUSES = ['new', 'in_review', 'forwarded', 'closed'];
const FORWARD_PLACES = ['police', 'cyberaide', 'dpj'];

/** A report still waiting for someone while a person may be in danger now. */
function dangerWaiting() {
  return state.reportsAwaited.size > 0 || (state.reports || []).some((item) => item.danger && item.status === 'new');
}

function showView(name) {
  state.view = name;
  const reports = name === 'reports';
  view.reportsView.hidden = !reports;
  view.conversationsView.hidden = reports;
  view.viewReports.setAttribute('aria-current', String(reports));
  view.viewConversations.setAttribute('aria-current', String(!reports));
  const active = !reports && state.active !== null ? state.conversations.get(state.active) : null;
  if (active && atBottom(active.transcript)) clearUnread(active);
  if (reports && state.session && state.reports === null) loadReports();
}

view.viewConversations.addEventListener('click', () => showView('conversations'));
$('to-queue').addEventListener('click', () => {
  view.conversationsView.classList.remove('show-work');
  view.queueTitle.focus();
});
view.viewReports.addEventListener('click', () => showView('reports'));

async function loadReports() {
  if (!state.session || !state.reportsAllowed) return;
  const frames = state.reportFrames;
  try {
    const list = await api('GET', '/api/signalements');
    // A `reports` frame that came meanwhile is newer than this answer.
    if (state.session && frames === state.reportFrames) onReports(Array.isArray(list) ? list : []);
  } catch (error) {
    if (error.status === 403) {
      state.reportsAllowed = false;
      renderReports();
    }
  }
}

/** The list with one report added or replaced, in the server's order: danger now
 * (not closed) first, then the latest activity. */
function withReport(items, item) {
  const list = items.filter((candidate) => candidate.id !== item.id);
  list.push(item);
  const urgent = (r) => (r.danger && r.status !== 'closed' ? 0 : 1);
  return list.sort((a, b) => urgent(a) - urgent(b) || b.updated_at - a.updated_at);
}

/** The list changed (a `reports` frame, or the first load). */
function onReports(items) {
  const first = state.reports === null;
  state.reports = items;
  state.reportsAwaited.clear();
  let fresh = false;
  for (const item of items) {
    if (!state.reportsSeen.has(item.id) && !first) fresh = true;
    state.reportsSeen.add(item.id);
  }
  if (fresh) announce(t('announceReport'));
  // Danger now and still new (also at login, as urgent requests already waiting): the alert.
  for (const item of items) {
    if (item.danger && item.status === 'new' && !state.reportsAlerted.has(item.id)) onReportAlert(item.id);
  }
  renderReports();
  const open = state.report;
  if (open) {
    const item = items.find((candidate) => candidate.id === open.id);
    if (!item) {
      open.gone = true;
      renderReport();
    } else if (!open.detail || open.detail.report.updated_at !== item.updated_at) {
      loadReport(open.id);
    }
  }
  updateTitle();
}

/** A new report says someone is in danger now: the same alert as an urgent request. */
function onReportAlert(id) {
  if (state.reportsAlerted.has(id) || !state.reportsAllowed) return;
  state.reportsAlerted.add(id);
  // Until the list that carries it arrives, the report counts as danger now and new.
  if (!(state.reports || []).some((item) => item.id === id)) state.reportsAwaited.add(id);
  renderReports();
  chime(true);
  announce(t('announceReportDanger'), { urgent: true });
  updateTitle();
}

function kindLabel(kind) {
  return topicLabel(kind || 'autre');
}

function statusLabel(status) {
  return REPORT_STATUSES.includes(status) ? t(`status_${status}`) : String(status);
}

/** A login as a name: "you", the name from the intervenors' list, else the login. */
function personName(login) {
  if (state.session && login === state.session.login) return t('assignedYou', { name: state.session.name });
  const person = state.intervenors.find((p) => p.login === login);
  return person ? person.name : String(login);
}

function formatDate(ms) {
  return new Date(ms).toLocaleString(state.lang === 'en' ? 'en-CA' : 'fr-CA', { dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' });
}

function renderReports() {
  const items = state.reports || [];
  view.viewReports.hidden = !state.reportsAllowed;
  const fresh = items.filter((item) => item.status === 'new').length;
  const danger = items.some((item) => item.danger && item.status !== 'closed');
  view.reportsCount.hidden = fresh === 0;
  view.reportsCount.replaceChildren(
    el('span', { text: String(fresh), attrs: { 'aria-hidden': 'true' } }),
    el('span', { className: 'visually-hidden', text: `, ${t('reportsCount', { n: fresh })}${danger ? `, ${t('reportsCountDanger')}` : ''}` }),
  );
  view.viewReports.classList.toggle('is-urgent', dangerWaiting());

  const focused = document.activeElement;
  const focusKey = focused && focused.closest && focused.closest('#report-groups') ? focusKeyOf(focused) : null;
  const groups = { danger: [], new: [], in_review: [], forwarded: [], closed: [] };
  for (const item of items) {
    if (item.danger && item.status !== 'closed') groups.danger.push(item);
    else (groups[item.status] || groups.new).push(item);
  }
  // The oldest first where someone has to act; the latest activity first once closed.
  for (const [name, list] of Object.entries(groups)) {
    if (name === 'closed') list.sort((a, b) => b.updated_at - a.updated_at);
    else list.sort((a, b) => a.created_at - b.created_at);
  }
  const sections = [];
  for (const [name, list] of Object.entries(groups)) {
    if (list.length === 0) continue;
    const heading = el('h3', { text: t(`group_${name}`, { n: list.length }) });
    const ul = el('ul', { className: 'queue-list' }, list.map(reportItem));
    if (name === 'closed') {
      const details = el('details', { className: 'queue-group report-group-closed' }, [el('summary', { attrs: { 'data-focus-key': 'reports-closed' } }, [heading]), ul]);
      details.open = state.closedOpen === true;
      details.addEventListener('toggle', () => { state.closedOpen = details.open; });
      sections.push(details);
    } else {
      sections.push(el('div', { className: `queue-group${name === 'danger' ? ' queue-group-urgent' : ''}` }, [heading, ul]));
    }
  }
  view.reportGroups.replaceChildren(...sections);
  view.reportsEmpty.hidden = items.length > 0;
  const open = items.filter((item) => item.status !== 'closed').length;
  view.reportsSummary.textContent = open ? t('reportsSummary', { open, new: fresh }) : t('reportsSummaryNone');
  tickWaiting();
  if (focusKey) {
    const again = view.reportGroups.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`);
    if (again) again.focus();
    else view.reportsTitle.focus();
  }
}

function reportItem(item) {
  const urgent = item.danger && item.status !== 'closed';
  const classes = ['queue-item', 'report-item'];
  if (urgent) classes.push('is-urgent');
  if (item.status === 'closed') classes.push('is-taken');
  if (state.report && state.report.id === item.id) classes.push('is-open');
  const li = el('li', { className: classes.join(' '), attrs: { 'data-id': item.id, 'data-status': item.status } });
  const head = el('div', { className: 'item-head' });
  if (urgent) head.append(el('span', { className: 'badge badge-urgent', text: t('dangerBadge') }));
  head.append(el('span', { className: 'item-topic', text: `${t('report', { id: item.id })} · ${kindLabel(item.kind)}` }));
  if (item.lang) head.append(el('span', { className: 'badge badge-lang', text: String(item.lang).toUpperCase(), attrs: { title: langLabel(item.lang) } }));
  li.append(head);
  li.append(el('div', { className: 'item-meta' }, [
    el('span', { className: 'item-wait', attrs: { 'data-since': item.created_at, 'data-since-key': 'receivedAgo' } }),
    el('span', { className: 'item-holder', text: item.assigned_to ? t('assignedTo', { name: personName(item.assigned_to) }) : t('assignedNobody') }),
  ]));
  const label = `${t('open')}, ${t('report', { id: item.id })}, ${kindLabel(item.kind)}, ${statusLabel(item.status)}${urgent ? `, ${t('dangerBadge')}` : ''}`;
  const open = el('button', {
    className: urgent ? 'primary take take-urgent' : 'secondary open',
    text: t('open'),
    attrs: { type: 'button', 'data-focus-key': `report-${item.id}`, 'aria-label': label, 'aria-current': state.report && state.report.id === item.id ? 'true' : false },
  });
  open.addEventListener('click', () => openReport(item.id));
  li.append(el('div', { className: 'item-actions' }, [open]));
  return li;
}

function clearReportForms() {
  // A draft never follows the person to another report: it would reach the wrong reporter.
  view.writeText.value = '';
  view.noteText.value = '';
  view.forwardOther.value = '';
  view.forwardNote.value = '';
  view.forwardTo.value = FORWARD_PLACES[0];
  toggleForwardOther();
}

function openReport(id) {
  if (!state.report || state.report.id !== id) {
    clearReportForms();
    state.report = { id, detail: null, gone: false };
    view.reportNotice.hidden = true;
  }
  if (isSupervisor() && state.intervenors.length === 0) loadIntervenors().then(renderReport);
  renderReports();
  renderReport();
  loadReport(id, { focus: true });
}

async function loadReport(id, { focus = false } = {}) {
  const load = ++state.reportLoad;
  try {
    const detail = await api('GET', `/api/signalements/${id}`);
    if (load !== state.reportLoad || !state.report || state.report.id !== id) return;
    state.report.detail = detail;
    state.report.gone = false;
    renderReport();
    if (focus) view.reportTitle.focus();
  } catch (error) {
    if (load !== state.reportLoad || !state.report || state.report.id !== id) return;
    if (error.status === 404) {
      state.report.gone = true;
      renderReport();
    } else if (error.status !== 401) {
      showReportNotice(t('error', { message: error.message }));
    }
  }
}

function showReportNotice(text) {
  view.reportNotice.textContent = text;
  view.reportNotice.hidden = !text;
}

/** One line of a report's history: who, when, and the words (as text). */
function reportEntry(who, at, text, className) {
  return el('li', { className: `entry ${className}` }, [
    el('div', { className: 'entry-head' }, [
      el('span', { className: 'entry-from', text: who }),
      el('time', { className: 'entry-time', text: at ? formatDate(at) : '', attrs: { datetime: at ? new Date(at).toISOString() : false } }),
    ]),
    el('p', { className: 'entry-text', text: String(text ?? '') }),
  ]);
}

function entries(list, node, noneKey, build) {
  const items = Array.isArray(list) ? list.map(build) : [];
  node.replaceChildren(...(items.length ? items : [el('li', { className: 'hint', text: t(noneKey) })]));
}

/** "police — note" → "Police — note": the places the page offers, in words. */
function forwardedText(text) {
  const value = String(text ?? '');
  const [place, ...rest] = value.split(' — ');
  if (!FORWARD_PLACES.includes(place)) return value;
  return [t(`to_${place}`), ...rest].join(' — ');
}

function answerValue(field, value) {
  if (field === 'type') return kindLabel(value);
  if (field === 'danger' && `value_${value}` in STRINGS.fr) return t(`value_${value}`);
  return String(value ?? '');
}

function renderReport() {
  const open = state.report;
  view.reportNone.hidden = Boolean(open);
  view.reportOpen.hidden = !open;
  if (!open) return;
  const detail = open.detail;
  const item = detail ? detail.report : (state.reports || []).find((candidate) => candidate.id === open.id);
  const urgent = Boolean(item && item.danger && item.status !== 'closed');
  view.reportOpen.classList.toggle('is-urgent', urgent);
  view.reportTitle.replaceChildren();
  if (urgent) view.reportTitle.append(el('span', { className: 'badge badge-urgent', text: t('dangerBadge') }), ' ');
  view.reportTitle.append(`${t('report', { id: open.id })} · ${kindLabel(item && item.kind)}`);
  view.reportOpen.querySelector('.report-body').hidden = !detail || open.gone;
  if (open.gone) {
    view.reportMeta.textContent = '';
    showReportNotice(t('reportGone'));
    return;
  }
  if (!detail) {
    view.reportMeta.textContent = t('reportLoading');
    return;
  }
  const report = detail.report;
  view.reportMeta.textContent = t('reportMeta', {
    date: formatDate(report.created_at),
    lang: langLabel(report.lang),
    status: statusLabel(report.status),
    assigned: report.assigned_to ? t('assignedTo', { name: personName(report.assigned_to) }) : t('assignedNobody'),
  });
  if (document.activeElement !== view.statusTo) view.statusTo.value = report.status;

  // Assigning: to oneself; supervisors also to anyone.
  const mine = state.session && report.assigned_to === state.session.login;
  view.assignMe.hidden = Boolean(mine);
  const supervisor = isSupervisor();
  for (const node of view.assignForm.querySelectorAll('label, select, button[type="submit"]')) node.hidden = !supervisor;
  if (supervisor && document.activeElement !== view.assignTo) {
    const chosen = view.assignTo.value;
    view.assignTo.replaceChildren(...state.intervenors.map((person) => el('option', {
      text: person.login === state.session.login ? t('assignedYou', { name: person.name }) : person.name,
      attrs: { value: person.login },
    })));
    view.assignTo.value = chosen || report.assigned_to || '';
    if (!view.assignTo.value && view.assignTo.options.length) view.assignTo.selectedIndex = 0;
  }

  view.reportAnswers.replaceChildren();
  const answers = Array.isArray(detail.answers) ? detail.answers : [];
  for (const answer of answers) {
    const key = `field_${answer.field}`;
    view.reportAnswers.append(
      el('dt', { text: key in STRINGS.fr ? t(key) : String(answer.field) }),
      // The reporter's words: textContent, never HTML.
      el('dd', { text: answerValue(answer.field, answer.value) }),
    );
  }
  if (answers.length === 0) view.reportAnswers.append(el('dt', { className: 'hint', text: t('answersNone') }), el('dd'));
  entries(detail.messages, view.reportMessages, 'messagesNone', (m) => (m.from === 'reporter'
    ? reportEntry(t('fromReporter'), m.at, m.text, 'entry-youth')
    : reportEntry(m.name || t('fromAgent'), m.at, m.text, 'entry-agent')));
  entries(detail.notes, view.reportNotes, 'notesNone', (n) => reportEntry(n.by, n.at, n.text, 'entry-note'));
  entries(detail.forwarded, view.reportForwarded, 'forwardedNone', (f) => reportEntry(f.by, f.at, forwardedText(f.text), 'entry-note'));
}

/** Runs an action on the open report, then shows the report as the server has it. */
async function reportAction(path, body, done, form, sent = () => {}) {
  const open = state.report;
  if (!open) return false;
  const buttons = form ? [...form.querySelectorAll('button')] : [];
  for (const button of buttons) button.disabled = true;
  try {
    await api('POST', `/api/signalements/${open.id}/${path}`, body);
    // Taken: what was written leaves its box at once, before the report is shown again.
    sent();
    showReportNotice('');
    announce(done);
    showConnectionMessage('done', { text: done }, { fade: true });
    await loadReport(open.id);
    return true;
  } catch (error) {
    if (error.status === 404) {
      open.gone = true;
      renderReport();
    } else if (error.status !== 401) {
      showReportNotice(t('error', { message: error.message }));
    }
    return false;
  } finally {
    for (const button of buttons) button.disabled = false;
    state.lastActivity = Date.now();
    // A button disabled while it had focus lost it: back to the form, not to the page's top.
    const active = document.activeElement;
    if (form && (!active || active === document.body)) form.querySelector('textarea, select, button:not([hidden])').focus();
  }
}

view.assignMe.addEventListener('click', () => {
  const { login, name } = state.session;
  reportAction('assign', { login }, t('doneAssign', { id: state.report.id, name }), view.assignForm);
});

view.assignForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const login = view.assignTo.value;
  if (!login) return;
  reportAction('assign', { login }, t('doneAssign', { id: state.report.id, name: personName(login) }), view.assignForm);
});

view.statusForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const status = view.statusTo.value;
  reportAction('status', { status }, t('doneStatus', { id: state.report.id, status: statusLabel(status) }), view.statusForm);
});

/** A text form: sends its words, empties the box only once the server has them. */
function textForm(form, box, path, doneKey) {
  const submit = async () => {
    const text = box.value.trim();
    if (!text) {
      box.focus();
      return;
    }
    const id = state.report && state.report.id;
    await reportAction(path, { text }, t(doneKey), form, () => {
      if (state.report && state.report.id === id && box.value.trim() === text) box.value = '';
    });
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
}
textForm(view.writeForm, view.writeText, 'messages', 'doneMessage');
textForm(view.noteForm, view.noteText, 'notes', 'doneNote');

function toggleForwardOther() {
  const other = view.forwardTo.value === '';
  view.forwardOther.hidden = !other;
  view.forwardForm.querySelector('label[for="forward-other"]').hidden = !other;
}
view.forwardTo.addEventListener('change', () => {
  toggleForwardOther();
  if (view.forwardTo.value === '') view.forwardOther.focus();
});

view.forwardForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const to = view.forwardTo.value || view.forwardOther.value.trim();
  if (!to) {
    showReportNotice(t('forwardOtherMissing'));
    view.forwardOther.focus();
    return;
  }
  const body = { to };
  const note = view.forwardNote.value.trim();
  if (note) body.note = note;
  if (await reportAction('forwarded', body, t('doneForward'), view.forwardForm)) {
    view.forwardOther.value = '';
    view.forwardNote.value = '';
  }
});

// ------------------------------------------------------------------ start

// What console-staff.js may use: the session, the API helper, the language, views.
window.relaisConsole = {
  session: () => state.session,
  lang: () => state.lang,
  api,
  showView,
};
applyLanguage();
const resumed = storedSession();
if (resumed) {
  startSession(resumed);
} else {
  view.loginView.hidden = false;
  view.username.focus();
}
