/* What this is for: the console's operations views (issue 19), kept apart from
 * console.js, which calls window.relaisStaff.onFrame/onEnd/onLang and gives
 * window.relaisConsole (session, api, lang).
 *
 * - Enrolment (/intervenants#enrol=CODE, no login): the invitee sets a password and
 *   a TOTP app; the QR code is the SVG the server drew from the otpauth:// URI.
 * - Équipe (supervisors): invite, disable/enable, remove, reset password or TOTP,
 *   change role; pending invitations; blocks after abuse, and lifting one.
 * - Journal (supervisors): the audit trail, filtered, exported as CSV.
 * - Supervision (supervisors): watch a conversation read-only, whisper to its holder.
 * - For the holder: a notice that a supervisor watches, and the whispers.
 *
 * Everything received is put in the page as text; the QR code is parsed as SVG
 * (XML, never HTML) and only its <svg>, <rect> and <path> elements are kept. */

'use strict';

(() => {
  const STRINGS = {
    fr: {
      viewStaff: 'Équipe',
      viewAudit: 'Journal',
      viewWatch: 'Supervision',
      staffTitle: 'Équipe',
      inviteTitle: 'Inviter une personne',
      login: 'Identifiant',
      name: 'Nom affiché',
      role: 'Rôle',
      role_intervenor: 'Intervenant·e',
      role_supervisor: 'Superviseur·e',
      role_author: 'Auteur·e de contenus',
      invite: 'Créer le lien d’inscription',
      linkFor: 'Lien d’inscription pour {login}, valable {hours} h. Donnez-le en main propre ou par un canal sûr; il ne sert qu’une fois.',
      linkLabel: 'Lien d’inscription',
      copy: 'Copier',
      copied: 'Lien copié.',
      accountsTitle: 'Comptes',
      pendingTitle: 'Invitations en attente',
      noPending: 'Aucune invitation en attente.',
      status: 'État',
      actions: 'Actions',
      active: 'Actif',
      disabled: 'Désactivé',
      totpOn: 'TOTP',
      totpOff: 'sans TOTP',
      connected: 'connecté·e',
      disable: 'Désactiver',
      enable: 'Réactiver',
      resetPassword: 'Nouveau mot de passe',
      resetTotp: 'Nouveau TOTP',
      remove: 'Supprimer',
      withdraw: 'Retirer',
      confirmRemove: 'Supprimer le compte {login}? Ses connexions sont fermées tout de suite.',
      confirmDisable: 'Désactiver {login}? Sa console se ferme tout de suite.',
      changeRole: 'Changer le rôle de {login}',
      done: 'C’est fait.',
      expires: 'expire {when}',
      blocksTitle: 'Blocages après abus',
      blocksHint: 'Une conversation fermée comme abusive empêche cette session de demander une personne pendant 24 h (les contenus et l’aide urgente restent ouverts).',
      noBlocks: 'Aucun blocage en cours.',
      blockLine: 'Conversation n° {id}, par {by}, jusqu’à {until}',
      lift: 'Lever le blocage',
      auditTitle: 'Journal des actions',
      auditHint: 'Qui a fait quoi, sur quelle conversation ou quel signalement, et quand. Jamais les mots d’un·e jeune.',
      actor: 'Personne',
      action: 'Action',
      anyAction: 'Toutes',
      target: 'Sur',
      from: 'Du',
      to: 'Au',
      filter: 'Filtrer',
      exportCsv: 'Exporter en CSV',
      when: 'Quand',
      detail: 'Détail',
      noEntries: 'Aucune entrée.',
      entries: '{n} entrée(s)',
      watchTitle: 'Supervision',
      watchHint: 'Observez une conversation en lecture seule; un murmure n’est vu que par l’intervenant·e, jamais par le ou la jeune.',
      noClaimed: 'Aucune conversation en cours.',
      watch: 'Observer',
      stopWatching: 'Arrêter d’observer',
      heldBy: 'Conversation n° {id}, avec {name}',
      whisperLabel: 'Murmure à l’intervenant·e',
      whisperSend: 'Murmurer',
      whisperSent: 'Murmure envoyé.',
      ended: 'Cette conversation est terminée.',
      youth: 'Jeune',
      agent: 'Intervenant·e',
      system: 'Système',
      watchedBy: '{names} observe cette conversation (lecture seule).',
      whisperFrom: 'Murmure de {name}',
      enrolTitle: 'Créer votre accès',
      enrolIntro: 'Bonjour {name}. Votre identifiant est {login}.',
      enrolTotpOnly: 'Bonjour {name}. Enregistrez votre nouvelle application d’authentification.',
      password: 'Mot de passe (12 caractères ou plus)',
      passwordAgain: 'Le même mot de passe',
      scan: 'Scannez ce code avec votre application d’authentification (par exemple Aegis, FreeOTP, Google Authenticator).',
      qrLabel: 'Code QR de votre application d’authentification',
      manual: 'Sans appareil photo : entrez cette clé à la main',
      code: 'Code à 6 chiffres affiché par l’application',
      enrolSubmit: 'Terminer',
      enrolDone: 'C’est prêt. Connectez-vous avec votre identifiant, votre mot de passe et un code de l’application.',
      goLogin: 'Aller à la connexion',
      enrolGone: 'Ce lien ne marche plus (déjà utilisé ou expiré). Demandez-en un nouveau à votre superviseur·e.',
      mismatch: 'Les deux mots de passe diffèrent.',
      networkError: 'Le serveur ne répond pas. Réessayez.',
    },
    en: {
      viewStaff: 'Team',
      viewAudit: 'Audit trail',
      viewWatch: 'Supervision',
      staffTitle: 'Team',
      inviteTitle: 'Invite someone',
      login: 'Login',
      name: 'Display name',
      role: 'Role',
      role_intervenor: 'Intervenor',
      role_supervisor: 'Supervisor',
      role_author: 'Content author',
      invite: 'Make the enrolment link',
      linkFor: 'Enrolment link for {login}, valid {hours} h. Give it in person or over a safe channel; it works once.',
      linkLabel: 'Enrolment link',
      copy: 'Copy',
      copied: 'Link copied.',
      accountsTitle: 'Accounts',
      pendingTitle: 'Pending invitations',
      noPending: 'No pending invitation.',
      status: 'Status',
      actions: 'Actions',
      active: 'Active',
      disabled: 'Disabled',
      totpOn: 'TOTP',
      totpOff: 'no TOTP',
      connected: 'connected',
      disable: 'Disable',
      enable: 'Enable',
      resetPassword: 'New password',
      resetTotp: 'New TOTP',
      remove: 'Remove',
      withdraw: 'Withdraw',
      confirmRemove: 'Remove the account {login}? Its logins end at once.',
      confirmDisable: 'Disable {login}? Their console closes at once.',
      changeRole: 'Change the role of {login}',
      done: 'Done.',
      expires: 'expires {when}',
      blocksTitle: 'Blocks after abuse',
      blocksHint: 'A conversation closed as abusive stops that session asking for a person for 24 h (content and urgent help stay open).',
      noBlocks: 'No block in force.',
      blockLine: 'Conversation #{id}, by {by}, until {until}',
      lift: 'Lift the block',
      auditTitle: 'Audit trail',
      auditHint: 'Who did what, on which conversation or report, and when. Never a youth’s words.',
      actor: 'Person',
      action: 'Action',
      anyAction: 'All',
      target: 'On',
      from: 'From',
      to: 'To',
      filter: 'Filter',
      exportCsv: 'Export as CSV',
      when: 'When',
      detail: 'Detail',
      noEntries: 'No entry.',
      entries: '{n} entr(ies)',
      watchTitle: 'Supervision',
      watchHint: 'Watch a conversation read-only; a whisper is seen by the intervenor only, never by the youth.',
      noClaimed: 'No conversation under way.',
      watch: 'Watch',
      stopWatching: 'Stop watching',
      heldBy: 'Conversation #{id}, with {name}',
      whisperLabel: 'Whisper to the intervenor',
      whisperSend: 'Whisper',
      whisperSent: 'Whisper sent.',
      ended: 'This conversation has ended.',
      youth: 'Youth',
      agent: 'Intervenor',
      system: 'System',
      watchedBy: '{names} is watching this conversation (read-only).',
      whisperFrom: 'Whisper from {name}',
      enrolTitle: 'Set up your access',
      enrolIntro: 'Hello {name}. Your login is {login}.',
      enrolTotpOnly: 'Hello {name}. Register your new authenticator app.',
      password: 'Password (12 characters or more)',
      passwordAgain: 'The same password',
      scan: 'Scan this code with your authenticator app (for instance Aegis, FreeOTP, Google Authenticator).',
      qrLabel: 'QR code for your authenticator app',
      manual: 'No camera: type this key by hand',
      code: '6-digit code shown by the app',
      enrolSubmit: 'Finish',
      enrolDone: 'All set. Log in with your login, your password and a code from the app.',
      goLogin: 'Go to login',
      enrolGone: 'This link no longer works (used already or expired). Ask your supervisor for a new one.',
      mismatch: 'The two passwords differ.',
      networkError: 'The server does not answer. Try again.',
    },
  };

  const ACTIONS = [
    'login', 'login_failed', 'logout', 'claim', 'release', 'close', 'assign',
    'report_read', 'report_status', 'report_assign', 'report_note', 'report_message',
    'report_forwarded', 'stats_export', 'audit_read', 'audit_export', 'account_add', 'account_invite',
    'account_enrol', 'account_disable', 'account_enable', 'account_remove',
    'account_reset_password', 'account_reset_totp', 'account_role', 'monitor', 'unmonitor',
    'whisper', 'block_lift', 'backup',
  ];
  const ROLES = ['intervenor', 'supervisor', 'author'];

  const state = {
    lang: 'fr',
    role: null,
    built: false,
    queue: [],
    /** handoff id → {panel, list, ended} for the conversations watched here. */
    watching: new Map(),
    buttons: {},
    views: {},
  };

  function t(key, params = {}) {
    const text = (STRINGS[state.lang] || STRINGS.fr)[key] || STRINGS.fr[key] || key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (params[name] === undefined ? '' : String(params[name])));
  }

  function el(tag, { className, text, attrs } = {}, children = []) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    for (const child of children) if (child) node.append(child);
    return node;
  }

  /** A label and its input, joined by id. */
  function field(id, labelKey, attrs = {}) {
    const input = el('input', { attrs: { id, name: id, ...attrs } });
    return [el('label', { text: t(labelKey), attrs: { for: id, 'data-s': labelKey } }), input];
  }

  function when(ms) {
    return new Date(ms).toLocaleString(state.lang === 'en' ? 'en-CA' : 'fr-CA', { dateStyle: 'short', timeStyle: 'short' });
  }

  function api(method, path, body) {
    return window.relaisConsole.api(method, path, body);
  }

  function retranslate(root = document) {
    for (const node of root.querySelectorAll('[data-s]')) node.textContent = t(node.dataset.s);
  }

  // ------------------------------------------------------------------ views

  function build() {
    if (state.built) return;
    state.built = true;
    const nav = document.querySelector('nav.views');
    const console = document.getElementById('console-view');
    for (const name of ['staff', 'audit', 'watch']) {
      const key = `view${name[0].toUpperCase()}${name.slice(1)}`;
      const button = el('button', {
        className: 'view staff-view-button',
        text: t(key),
        attrs: { type: 'button', id: `view-${name}`, 'aria-controls': `${name}-view`, 'aria-current': 'false', 'data-s': key },
      });
      button.addEventListener('click', () => show(name));
      nav.append(button);
      state.buttons[name] = button;
      const section = el('section', { className: 'desk staff-desk', attrs: { id: `${name}-view`, 'aria-labelledby': `${name}-title` } });
      section.hidden = true;
      console.append(section);
      state.views[name] = section;
    }
    for (const id of ['view-conversations', 'view-reports']) {
      document.getElementById(id).addEventListener('click', hideMine);
    }
    buildStaff();
    buildAudit();
    buildWatch();
  }

  function hideMine() {
    for (const [name, section] of Object.entries(state.views)) {
      section.hidden = true;
      state.buttons[name].setAttribute('aria-current', 'false');
    }
  }

  function show(name) {
    document.getElementById('conversations-view').hidden = true;
    document.getElementById('reports-view').hidden = true;
    document.getElementById('view-conversations').setAttribute('aria-current', 'false');
    document.getElementById('view-reports').setAttribute('aria-current', 'false');
    hideMine();
    state.views[name].hidden = false;
    state.buttons[name].setAttribute('aria-current', 'true');
    const title = document.getElementById(`${name}-title`);
    if (title) title.focus();
    if (name === 'staff') loadStaff();
    if (name === 'audit') loadAudit();
    if (name === 'watch') renderWatchList();
  }

  function notice(section) {
    return section.querySelector('.staff-notice');
  }

  function say(section, text, { error = false } = {}) {
    const node = notice(section);
    node.textContent = text;
    node.classList.toggle('form-error', error);
    node.hidden = false;
  }

  // ------------------------------------------------------------------ team

  function buildStaff() {
    const section = state.views.staff;
    const role = el('select', { attrs: { id: 'invite-role', name: 'invite-role' } });
    for (const name of ROLES) role.append(el('option', { text: t(`role_${name}`), attrs: { value: name, 'data-s': `role_${name}` } }));
    const form = el('form', { className: 'staff-form', attrs: { id: 'invite-form', 'aria-labelledby': 'invite-title' } }, [
      el('h3', { text: t('inviteTitle'), attrs: { id: 'invite-title', 'data-s': 'inviteTitle' } }),
      ...field('invite-login', 'login', { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: '' }),
      ...field('invite-name', 'name', { autocomplete: 'off', required: '', maxlength: '80' }),
      el('label', { text: t('role'), attrs: { for: 'invite-role', 'data-s': 'role' } }),
      role,
      el('button', { className: 'primary', text: t('invite'), attrs: { type: 'submit', 'data-s': 'invite' } }),
    ]);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = {
        login: form.querySelector('#invite-login').value.trim(),
        name: form.querySelector('#invite-name').value.trim(),
        role: role.value,
      };
      try {
        const answer = await api('POST', '/api/staff/invite', body);
        showLink(answer);
        form.reset();
        loadStaff();
      } catch (error) {
        say(section, error.message, { error: true });
      }
    });
    section.append(
      el('h2', { text: t('staffTitle'), attrs: { id: 'staff-title', tabindex: '-1', 'data-s': 'staffTitle' } }),
      el('p', { className: 'staff-notice', attrs: { role: 'status' } }),
      form,
      el('div', { className: 'staff-link', attrs: { id: 'staff-link' } }),
      el('h3', { text: t('accountsTitle'), attrs: { 'data-s': 'accountsTitle' } }),
      el('div', { attrs: { id: 'staff-accounts' } }),
      el('h3', { text: t('pendingTitle'), attrs: { 'data-s': 'pendingTitle' } }),
      el('ul', { className: 'staff-list', attrs: { id: 'staff-pending' } }),
      el('h3', { text: t('blocksTitle'), attrs: { 'data-s': 'blocksTitle' } }),
      el('p', { className: 'hint', text: t('blocksHint'), attrs: { 'data-s': 'blocksHint' } }),
      el('ul', { className: 'staff-list', attrs: { id: 'staff-blocks' } }),
    );
    notice(section).hidden = true;
  }

  function showLink(answer) {
    const box = document.getElementById('staff-link');
    box.replaceChildren();
    const url = `${location.origin}${answer.link}`;
    const input = el('input', { attrs: { id: 'staff-link-url', readonly: '', value: url } });
    const copy = el('button', { className: 'secondary', text: t('copy'), attrs: { type: 'button' } });
    copy.addEventListener('click', async () => {
      input.select();
      try {
        await navigator.clipboard.writeText(url);
      } catch {
        document.execCommand('copy');
      }
      say(state.views.staff, t('copied'));
    });
    box.append(
      el('p', { text: t('linkFor', { login: answer.login, hours: answer.valid_hours }) }),
      el('label', { text: t('linkLabel'), attrs: { for: 'staff-link-url' } }),
      el('div', { className: 'staff-row' }, [input, copy]),
    );
    input.focus();
    input.select();
  }

  async function staffAction(method, path, body, { link = false } = {}) {
    try {
      const answer = await api(method, path, body);
      if (link && answer) showLink(answer);
      else say(state.views.staff, t('done'));
      loadStaff();
    } catch (error) {
      say(state.views.staff, error.message, { error: true });
    }
  }

  function accountRow(account) {
    const me = (window.relaisConsole.session() || {}).login === account.login;
    const login = encodeURIComponent(account.login);
    const roleSelect = el('select', { attrs: { 'aria-label': t('changeRole', { login: account.login }) } });
    for (const name of ROLES) {
      const option = el('option', { text: t(`role_${name}`), attrs: { value: name } });
      if (name === account.role) option.selected = true;
      roleSelect.append(option);
    }
    roleSelect.disabled = me;
    roleSelect.addEventListener('change', () => staffAction('PUT', `/api/staff/${login}/role`, { role: roleSelect.value }));
    const status = [account.disabled ? t('disabled') : t('active'), account.totp ? t('totpOn') : t('totpOff')];
    if (account.connected) status.push(t('connected'));
    const buttons = el('div', { className: 'staff-actions' });
    const button = (key, handler, disabled = false) => {
      const node = el('button', { className: 'secondary', text: t(key), attrs: { type: 'button' } });
      node.disabled = disabled;
      node.addEventListener('click', handler);
      buttons.append(node);
    };
    if (account.disabled) {
      button('enable', () => staffAction('POST', `/api/staff/${login}/enable`));
    } else {
      button('disable', () => {
        if (window.confirm(t('confirmDisable', { login: account.login }))) staffAction('POST', `/api/staff/${login}/disable`);
      }, me);
    }
    button('resetPassword', () => staffAction('POST', `/api/staff/${login}/reset_password`, undefined, { link: true }));
    button('resetTotp', () => staffAction('POST', `/api/staff/${login}/reset_totp`, undefined, { link: true }));
    button('remove', () => {
      if (window.confirm(t('confirmRemove', { login: account.login }))) staffAction('DELETE', `/api/staff/${login}`);
    }, me);
    return el('tr', {}, [
      el('th', { text: account.login, attrs: { scope: 'row' } }),
      el('td', { text: account.name }),
      el('td', {}, [roleSelect]),
      el('td', { text: status.join(' · ') }),
      el('td', {}, [buttons]),
    ]);
  }

  async function loadStaff() {
    const section = state.views.staff;
    let list;
    let blocks;
    try {
      [list, blocks] = await Promise.all([api('GET', '/api/staff'), api('GET', '/api/blocks')]);
    } catch (error) {
      say(section, error.message, { error: true });
      return;
    }
    const table = el('table', { className: 'staff-table' }, [
      el('caption', { className: 'visually-hidden', text: t('accountsTitle') }),
      el('thead', {}, [el('tr', {}, ['login', 'name', 'role', 'status', 'actions'].map((key) => el('th', { text: t(key), attrs: { scope: 'col' } })))]),
      el('tbody', {}, list.accounts.map(accountRow)),
    ]);
    document.getElementById('staff-accounts').replaceChildren(table);
    const pending = document.getElementById('staff-pending');
    pending.replaceChildren();
    for (const item of list.pending) {
      const withdraw = el('button', { className: 'secondary', text: t('withdraw'), attrs: { type: 'button' } });
      withdraw.addEventListener('click', () => staffAction('DELETE', `/api/staff/${encodeURIComponent(item.login)}`));
      pending.append(el('li', {}, [
        el('span', { text: `${item.login} · ${item.name} · ${t(`role_${item.role}`)} · ${t('expires', { when: when(item.expires_at) })}` }),
        item.purpose === 'invite' ? withdraw : null,
      ]));
    }
    if (!list.pending.length) pending.append(el('li', { text: t('noPending') }));
    const blockList = document.getElementById('staff-blocks');
    blockList.replaceChildren();
    for (const block of blocks) {
      const lift = el('button', { className: 'secondary', text: t('lift'), attrs: { type: 'button' } });
      lift.addEventListener('click', () => staffAction('DELETE', `/api/blocks/${block.handoff}`));
      blockList.append(el('li', {}, [el('span', { text: t('blockLine', { id: block.handoff, by: block.by, until: when(block.until) }) }), lift]));
    }
    if (!blocks.length) blockList.append(el('li', { text: t('noBlocks') }));
  }

  // ------------------------------------------------------------------ audit

  function buildAudit() {
    const section = state.views.audit;
    const action = el('select', { attrs: { id: 'audit-action', name: 'action' } }, [el('option', { text: t('anyAction'), attrs: { value: '', 'data-s': 'anyAction' } })]);
    for (const name of ACTIONS) action.append(el('option', { text: name, attrs: { value: name } }));
    const form = el('form', { className: 'staff-form audit-filter', attrs: { id: 'audit-form', role: 'search', 'aria-labelledby': 'audit-title' } }, [
      ...field('audit-actor', 'actor', { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' }),
      el('label', { text: t('action'), attrs: { for: 'audit-action', 'data-s': 'action' } }),
      action,
      ...field('audit-target', 'target', { autocomplete: 'off', placeholder: 'handoff:12' }),
      ...field('audit-from', 'from', { type: 'date' }),
      ...field('audit-to', 'to', { type: 'date' }),
      el('button', { className: 'primary', text: t('filter'), attrs: { type: 'submit', 'data-s': 'filter' } }),
      el('button', { className: 'secondary', text: t('exportCsv'), attrs: { type: 'button', id: 'audit-export', 'data-s': 'exportCsv' } }),
    ]);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      loadAudit();
    });
    form.querySelector('#audit-export').addEventListener('click', exportAudit);
    section.append(
      el('h2', { text: t('auditTitle'), attrs: { id: 'audit-title', tabindex: '-1', 'data-s': 'auditTitle' } }),
      el('p', { className: 'hint', text: t('auditHint'), attrs: { 'data-s': 'auditHint' } }),
      el('p', { className: 'staff-notice', attrs: { role: 'status' } }),
      form,
      el('div', { attrs: { id: 'audit-entries' } }),
    );
    notice(section).hidden = true;
  }

  function auditQuery(extra = {}) {
    const params = new URLSearchParams();
    const pairs = { actor: 'audit-actor', action: 'audit-action', target: 'audit-target', from: 'audit-from', to: 'audit-to' };
    for (const [name, id] of Object.entries(pairs)) {
      const value = document.getElementById(id).value.trim();
      if (value) params.set(name, value);
    }
    for (const [name, value] of Object.entries(extra)) params.set(name, value);
    return params.toString();
  }

  async function loadAudit() {
    const section = state.views.audit;
    let entries;
    try {
      entries = await api('GET', `/api/audit?${auditQuery({ limit: 500 })}`);
    } catch (error) {
      say(section, error.message, { error: true });
      return;
    }
    const box = document.getElementById('audit-entries');
    if (!entries.length) {
      box.replaceChildren(el('p', { text: t('noEntries') }));
      return;
    }
    const table = el('table', { className: 'staff-table audit-table' }, [
      el('caption', { text: t('entries', { n: entries.length }) }),
      el('thead', {}, [el('tr', {}, ['when', 'actor', 'action', 'target', 'detail'].map((key) => el('th', { text: t(key), attrs: { scope: 'col' } })))]),
      el('tbody', {}, entries.map((entry) => el('tr', {}, [
        el('td', { text: when(entry.at) }),
        el('td', { text: entry.actor }),
        el('td', { text: entry.action }),
        el('td', { text: entry.target }),
        el('td', { text: entry.detail }),
      ]))),
    ]);
    box.replaceChildren(table);
  }

  async function exportAudit() {
    const session = window.relaisConsole.session();
    if (!session) return;
    try {
      const response = await fetch(`/api/audit?${auditQuery({ format: 'csv', limit: 5000 })}`, {
        headers: { Authorization: `Bearer ${session.token}` },
        cache: 'no-store',
        credentials: 'omit',
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const blob = await response.blob();
      const link = el('a', { attrs: { href: URL.createObjectURL(blob), download: 'relais-audit.csv' } });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch {
      say(state.views.audit, t('networkError'), { error: true });
    }
  }

  // ------------------------------------------------------------------ supervision

  function buildWatch() {
    const section = state.views.watch;
    section.append(
      el('h2', { text: t('watchTitle'), attrs: { id: 'watch-title', tabindex: '-1', 'data-s': 'watchTitle' } }),
      el('p', { className: 'hint', text: t('watchHint'), attrs: { 'data-s': 'watchHint' } }),
      el('p', { className: 'staff-notice', attrs: { role: 'status' } }),
      el('ul', { className: 'staff-list', attrs: { id: 'watch-list' } }),
      el('div', { attrs: { id: 'watch-panels' } }),
    );
    notice(section).hidden = true;
  }

  function renderWatchList() {
    const list = document.getElementById('watch-list');
    if (!list) return;
    list.replaceChildren();
    const claimed = state.queue.filter((item) => item.status === 'claimed');
    for (const item of claimed) {
      const watching = state.watching.has(item.id);
      const button = el('button', { className: 'secondary', text: t(watching ? 'stopWatching' : 'watch'), attrs: { type: 'button' } });
      button.addEventListener('click', () => (watching ? unwatch(item.id) : watch(item.id)));
      list.append(el('li', {}, [el('span', { text: t('heldBy', { id: item.id, name: item.claimed_by_name || item.claimed_by }) }), button]));
    }
    if (!claimed.length) list.append(el('li', { text: t('noClaimed') }));
  }

  function line(list, entry) {
    const who = t(entry.from === 'youth' ? 'youth' : entry.from === 'agent' ? 'agent' : 'system');
    list.append(el('li', { className: `watch-line from-${entry.from}` }, [el('strong', { text: `${who} · ${when(entry.at)}` }), el('p', { text: entry.text })]));
  }

  async function watch(id) {
    const section = state.views.watch;
    let answer;
    try {
      answer = await api('POST', `/api/handoffs/${id}/monitor`);
    } catch (error) {
      say(section, error.message, { error: true });
      return;
    }
    const list = el('ol', { className: 'transcript watch-transcript', attrs: { tabindex: '0', 'aria-label': t('heldBy', { id, name: answer.holder || '' }) } });
    for (const entry of answer.transcript || []) line(list, entry);
    const whisperId = `whisper-${id}`;
    const text = el('textarea', { attrs: { id: whisperId, rows: '2', maxlength: '2000' } });
    const form = el('form', { className: 'staff-form whisper-form' }, [
      el('label', { text: t('whisperLabel'), attrs: { for: whisperId } }),
      text,
      el('button', { className: 'primary', text: t('whisperSend'), attrs: { type: 'submit' } }),
    ]);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const value = text.value.trim();
      if (!value) return;
      try {
        await api('POST', `/api/handoffs/${id}/whisper`, { text: value });
        text.value = '';
        say(section, t('whisperSent'));
      } catch (error) {
        say(section, error.message, { error: true });
      }
    });
    const stop = el('button', { className: 'secondary', text: t('stopWatching'), attrs: { type: 'button' } });
    stop.addEventListener('click', () => unwatch(id));
    const panel = el('article', { className: 'watch-panel', attrs: { id: `watch-${id}`, 'aria-labelledby': `watch-title-${id}` } }, [
      el('h3', { text: t('heldBy', { id, name: answer.holder || '' }), attrs: { id: `watch-title-${id}` } }),
      list,
      form,
      stop,
    ]);
    document.getElementById('watch-panels').append(panel);
    state.watching.set(id, { panel, list, form });
    renderWatchList();
  }

  async function unwatch(id) {
    const watched = state.watching.get(id);
    state.watching.delete(id);
    if (watched) watched.panel.remove();
    renderWatchList();
    try {
      await api('DELETE', `/api/handoffs/${id}/monitor`);
    } catch {
      // Already gone (ended): nothing to undo.
    }
  }

  // ------------------------------------------------------------------ the holder's side

  function holderPanel(id) {
    return document.getElementById(`conversation-${id}`);
  }

  function onWatched(frame) {
    const panel = holderPanel(frame.handoff);
    if (!panel) return;
    let node = panel.querySelector('.watched-notice');
    if (!node) {
      node = el('p', { className: 'watched-notice', attrs: { role: 'status' } });
      panel.prepend(node);
    }
    const names = (frame.by || []).map(String);
    node.hidden = names.length === 0;
    node.textContent = names.length ? t('watchedBy', { names: names.join(', ') }) : '';
  }

  function onWhisper(frame) {
    const panel = holderPanel(frame.handoff);
    if (!panel) return;
    let box = panel.querySelector('.whispers');
    if (!box) {
      box = el('ol', { className: 'whispers', attrs: { 'aria-live': 'polite' } });
      const reply = panel.querySelector('form.reply');
      panel.insertBefore(box, reply || null);
    }
    box.append(el('li', { className: 'whisper' }, [el('strong', { text: `${t('whisperFrom', { name: frame.name })} · ${when(frame.at)}` }), el('p', { text: frame.text })]));
  }

  // ------------------------------------------------------------------ enrolment

  /** Keeps only <svg>, <rect> and <path> (and their drawing attributes) of the QR code. */
  function safeSvg(text) {
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const root = doc.documentElement;
    if (!root || root.localName !== 'svg' || doc.querySelector('parsererror')) return null;
    const allowed = new Set(['svg', 'rect', 'path']);
    const attrs = new Set(['width', 'height', 'viewBox', 'x', 'y', 'fill', 'd', 'shape-rendering', 'xmlns', 'version']);
    const copy = (node) => {
      if (!allowed.has(node.localName)) return null;
      const out = document.createElementNS('http://www.w3.org/2000/svg', node.localName);
      for (const attr of node.attributes) if (attrs.has(attr.name)) out.setAttribute(attr.name, attr.value);
      for (const child of node.children) {
        const kept = copy(child);
        if (kept) out.append(kept);
      }
      return out;
    };
    return copy(root);
  }

  async function enrolment(code) {
    const main = document.getElementById('main');
    document.getElementById('login-view').hidden = true;
    const section = el('section', { className: 'login enrol', attrs: { id: 'enrol-view', 'aria-labelledby': 'enrol-title' } });
    const form = el('form', { className: 'login-form', attrs: { id: 'enrol-form', novalidate: '' } }, [
      el('h1', { text: t('enrolTitle'), attrs: { id: 'enrol-title', tabindex: '-1' } }),
    ]);
    section.append(form);
    main.append(section);
    const error = el('p', { className: 'form-error', attrs: { role: 'alert', id: 'enrol-error' } });
    error.hidden = true;
    let page;
    try {
      const response = await fetch(`/api/enrol/${encodeURIComponent(code)}`, { cache: 'no-store', credentials: 'omit' });
      if (!response.ok) throw new Error(String(response.status));
      page = await response.json();
    } catch {
      form.append(el('p', { text: t('enrolGone'), attrs: { role: 'alert' } }));
      return;
    }
    form.append(el('p', { text: page.needs_password ? t('enrolIntro', { name: page.name, login: page.login }) : t('enrolTotpOnly', { name: page.name }) }));
    if (page.needs_password) {
      form.append(
        ...field('enrol-password', 'password', { type: 'password', autocomplete: 'new-password', minlength: '12', required: '' }),
        ...field('enrol-password-again', 'passwordAgain', { type: 'password', autocomplete: 'new-password', minlength: '12', required: '' }),
      );
    }
    const qr = el('figure', { className: 'enrol-qr' });
    const svg = page.qr_svg ? safeSvg(page.qr_svg) : null;
    if (svg) {
      svg.setAttribute('role', 'img');
      svg.setAttribute('aria-label', t('qrLabel'));
      svg.setAttribute('id', 'enrol-qr');
      qr.append(svg);
    }
    const uri = el('a', { text: t('manual'), attrs: { href: page.totp_uri, id: 'enrol-uri' } });
    form.append(
      el('p', { text: t('scan') }),
      qr,
      el('p', {}, [uri]),
      el('p', {}, [el('code', { className: 'enrol-secret', text: page.totp_secret.replace(/(.{4})/g, '$1 ').trim(), attrs: { id: 'enrol-secret' } })]),
      ...field('enrol-code', 'code', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '7', required: '' }),
      error,
      el('button', { className: 'primary', text: t('enrolSubmit'), attrs: { type: 'submit' } }),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hidden = true;
      const body = { totp: form.querySelector('#enrol-code').value.trim() };
      if (page.needs_password) {
        const first = form.querySelector('#enrol-password').value;
        if (first !== form.querySelector('#enrol-password-again').value) {
          error.textContent = t('mismatch');
          error.hidden = false;
          return;
        }
        body.password = first;
      }
      let response;
      try {
        response = await fetch(`/api/enrol/${encodeURIComponent(code)}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
          cache: 'no-store',
          credentials: 'omit',
        });
      } catch {
        error.textContent = t('networkError');
        error.hidden = false;
        return;
      }
      if (!response.ok) {
        let answer = {};
        try {
          answer = await response.json();
        } catch {
          answer = {};
        }
        error.textContent = (state.lang === 'en' ? answer.message_en : answer.message) || t('enrolGone');
        error.hidden = false;
        return;
      }
      const go = el('button', { className: 'primary', text: t('goLogin'), attrs: { type: 'button', id: 'enrol-go' } });
      go.addEventListener('click', () => {
        history.replaceState(null, '', location.pathname);
        section.remove();
        document.getElementById('login-view').hidden = false;
        document.getElementById('username').value = page.login;
        document.getElementById('password').focus();
      });
      form.replaceChildren(
        el('h1', { text: t('enrolTitle'), attrs: { id: 'enrol-title', tabindex: '-1' } }),
        el('p', { text: t('enrolDone'), attrs: { role: 'status', id: 'enrol-done' } }),
        go,
      );
      go.focus();
    });
    form.querySelector('h1').focus();
  }

  // ------------------------------------------------------------------ hooks

  window.relaisStaff = {
    onFrame(frame) {
      switch (frame.type) {
        case 'ready':
          state.role = frame.role;
          if (frame.role === 'supervisor') build();
          for (const button of Object.values(state.buttons)) button.hidden = frame.role !== 'supervisor';
          break;
        case 'queue':
          state.queue = Array.isArray(frame.items) ? frame.items : [];
          renderWatchList();
          break;
        case 'monitor_message': {
          const watched = state.watching.get(frame.handoff);
          if (watched) line(watched.list, frame);
          break;
        }
        case 'monitor_ended': {
          const watched = state.watching.get(frame.handoff);
          if (watched) {
            watched.form.remove();
            watched.list.after(el('p', { className: 'conv-notice', text: t('ended'), attrs: { role: 'status' } }));
          }
          break;
        }
        case 'watched':
          onWatched(frame);
          break;
        case 'whisper':
          onWhisper(frame);
          break;
        default:
          break;
      }
    },
    onEnd() {
      for (const watched of state.watching.values()) watched.panel.remove();
      state.watching.clear();
      state.queue = [];
      hideMine();
      for (const button of Object.values(state.buttons)) button.hidden = true;
    },
    onLang(lang) {
      state.lang = lang === 'en' ? 'en' : 'fr';
      retranslate();
    },
  };

  document.addEventListener('DOMContentLoaded', () => {
    const match = /^#enrol=([A-Za-z0-9_-]+)$/.exec(location.hash);
    if (match) enrolment(match[1]);
  });
})();
