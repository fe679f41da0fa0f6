/* What this is for: the console's Statistiques view (web/console.html, supervisors only).
 * A period is chosen ("le dernier trimestre" by default, or dates); the server's impact
 * report for it, in the console's language, is shown as it renders it (the figures of the
 * plan's axes beside the previous period's, each chart with its text summary and its
 * data table), and can be downloaded as HTML or CSV or printed to PDF. Nothing is drawn
 * here and no chart library is loaded: the server's report is the one rendering, for the
 * console, the files and `relais report` alike.
 *
 * It stands beside console.js without touching its state: the session (token, role) is
 * read from sessionStorage where console.js keeps it, the language from <html lang>,
 * and the view is shown and hidden next to console.js's two views. */

'use strict';

(() => {
  const SESSION_KEY = 'relais.console.session';

  const STRINGS = {
    fr: {
      view: 'Statistiques',
      title: 'Statistiques',
      about: 'Les chiffres anonymes du plan d’action, pour la période choisie et celle d’avant. Un nombre de 1 à 4 est écrit « < 5 ».',
      preset: 'Période',
      lastQuarter: 'Le dernier trimestre',
      thisQuarter: 'Ce trimestre',
      lastMonth: 'Le mois dernier',
      thisMonth: 'Ce mois-ci',
      lastYear: 'L’année dernière',
      custom: 'Autre période…',
      from: 'Du',
      to: 'Au',
      unit: 'Par',
      week: 'semaine',
      month: 'mois',
      quarter: 'trimestre',
      show: 'Afficher',
      downloadHtml: 'Télécharger (HTML)',
      downloadCsv: 'Télécharger (CSV)',
      print: 'Imprimer ou enregistrer en PDF',
      loading: 'Chargement des chiffres…',
      loaded: 'Chiffres affichés.',
      failed: 'Les chiffres n’ont pas pu être chargés. Réessayez dans un moment.',
      forbidden: 'Seules les personnes qui supervisent voient les statistiques.',
      badDates: 'Choisissez une date de début et une date de fin.',
    },
    en: {
      view: 'Statistics',
      title: 'Statistics',
      about: 'The action plan’s anonymous figures, for the chosen period and the one before. A count from 1 to 4 is written "< 5".',
      preset: 'Period',
      lastQuarter: 'Last quarter',
      thisQuarter: 'This quarter',
      lastMonth: 'Last month',
      thisMonth: 'This month',
      lastYear: 'Last year',
      custom: 'Other period…',
      from: 'From',
      to: 'To',
      unit: 'By',
      week: 'week',
      month: 'month',
      quarter: 'quarter',
      show: 'Show',
      downloadHtml: 'Download (HTML)',
      downloadCsv: 'Download (CSV)',
      print: 'Print or save as PDF',
      loading: 'Loading the figures…',
      loaded: 'Figures shown.',
      failed: 'The figures could not be loaded. Try again in a moment.',
      forbidden: 'Only supervisors see the statistics.',
      badDates: 'Choose a first and a last day.',
    },
  };

  const $ = (id) => document.getElementById(id);
  const button = $('view-stats');
  const statsView = $('stats-view');
  if (!button || !statsView) return;
  const otherViews = ['conversations-view', 'reports-view'].map($).filter(Boolean);
  const otherButtons = ['view-conversations', 'view-reports'].map($).filter(Boolean);
  const form = $('stats-form');
  const preset = $('stats-preset');
  const custom = $('stats-custom');
  const from = $('stats-from');
  const to = $('stats-to');
  const unit = $('stats-unit');
  const status = $('stats-status');
  const report = $('stats-report');

  let shown = false;
  let loaded = null;

  function lang() {
    return document.documentElement.lang === 'en' ? 'en' : 'fr';
  }

  function t(key) {
    return STRINGS[lang()][key] || STRINGS.fr[key] || key;
  }

  function session() {
    try {
      return JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    } catch {
      return null;
    }
  }

  function translate() {
    for (const node of statsView.querySelectorAll('[data-s]')) node.textContent = t(node.dataset.s);
    button.textContent = t('view');
  }

  // ------------------------------------------------------------------ the view

  function show() {
    shown = true;
    for (const other of otherViews) other.hidden = true;
    for (const other of otherButtons) other.setAttribute('aria-current', 'false');
    statsView.hidden = false;
    button.setAttribute('aria-current', 'true');
    if (!loaded || loaded.lang !== lang()) load();
  }

  function hide() {
    shown = false;
    statsView.hidden = true;
    button.setAttribute('aria-current', 'false');
  }

  button.addEventListener('click', show);
  // console.js shows its own views (a click, or an urgent report that opens its view):
  // this one steps aside when it does.
  const stepAside = new MutationObserver(() => {
    if (shown && otherViews.some((other) => !other.hidden)) hide();
  });
  for (const other of otherViews) stepAside.observe(other, { attributes: true, attributeFilter: ['hidden'] });

  /** The button is there for supervisors only, once logged in. */
  function followSession() {
    const console = $('console-view');
    const supervisor = !console.hidden && session()?.role === 'supervisor';
    button.hidden = !supervisor;
    if (!supervisor && shown) {
      hide();
      if (otherButtons[0]) otherButtons[0].click();
    }
  }

  new MutationObserver(followSession).observe($('console-view'), { attributes: true, attributeFilter: ['hidden'] });
  new MutationObserver(() => {
    translate();
    if (shown && loaded && loaded.lang !== lang()) load();
  }).observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });

  // ------------------------------------------------------------------ periods

  function iso(date) {
    const pad = (n) => String(n).padStart(2, '0');
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  }

  /** {from, to, period} of the chosen preset, in the browser's days. */
  function chosen() {
    const today = new Date();
    const year = today.getFullYear();
    const month = today.getMonth();
    const quarter = Math.floor(month / 3) * 3;
    const day = (y, m, d) => iso(new Date(y, m, d));
    switch (preset.value) {
      case 'this-quarter':
        return { from: day(year, quarter, 1), to: day(year, quarter + 3, 0), period: 'month' };
      case 'last-month':
        return { from: day(year, month - 1, 1), to: day(year, month, 0), period: 'month' };
      case 'this-month':
        return { from: day(year, month, 1), to: day(year, month + 1, 0), period: 'month' };
      case 'last-year':
        return { from: day(year - 1, 0, 1), to: day(year - 1, 11, 31), period: 'quarter' };
      case 'custom':
        if (!from.value || !to.value) return null;
        return { from: from.value, to: to.value, period: unit.value };
      default:
        return { from: day(year, quarter - 3, 1), to: day(year, quarter, 0), period: 'month' };
    }
  }

  preset.addEventListener('change', () => {
    custom.hidden = preset.value !== 'custom';
  });

  function query(format) {
    const range = chosen();
    if (!range) return null;
    const params = new URLSearchParams({ ...range, format, lang: lang() });
    return `/api/impact?${params}`;
  }

  async function fetchReport(format) {
    const path = query(format);
    if (!path) throw Object.assign(new Error('dates'), { reason: 'badDates' });
    const token = session()?.token;
    const response = await fetch(path, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      cache: 'no-store',
      credentials: 'omit',
    });
    if (!response.ok) throw Object.assign(new Error(String(response.status)), { reason: response.status === 403 ? 'forbidden' : 'failed' });
    return response;
  }

  // ------------------------------------------------------------------ the report

  // Each load is numbered: only the latest one is shown, so a slow answer to an
  // earlier question (the default period, the other language) never replaces it.
  let loads = 0;

  async function load() {
    const mine = ++loads;
    const asked = lang();
    status.textContent = t('loading');
    report.setAttribute('aria-busy', 'true');
    try {
      const response = await fetchReport('fragment');
      const html = await response.text();
      if (mine !== loads) return;
      // The server's own rendering (every value escaped there), parsed, never executed.
      const parsed = new DOMParser().parseFromString(html, 'text/html');
      report.replaceChildren(...Array.from(parsed.body.childNodes).map((node) => document.adoptNode(node)));
      loaded = { lang: asked };
      status.textContent = t('loaded');
    } catch (error) {
      if (mine === loads) status.textContent = t(error.reason || 'failed');
    } finally {
      if (mine === loads) report.removeAttribute('aria-busy');
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });

  async function download(format) {
    try {
      const response = await fetchReport(format);
      const blob = await response.blob();
      const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') || '')?.[1] || `relais.${format}`;
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (error) {
      status.textContent = t(error.reason || 'failed');
    }
  }

  $('stats-html').addEventListener('click', () => download('html'));
  $('stats-csv').addEventListener('click', () => download('csv'));
  $('stats-print').addEventListener('click', () => window.print());

  translate();
  followSession();
})();
