/* What this is for: a flow's bot message (the `bot` frame of docs/protocol.md), drawn
 * alike in the chat and in the authors' preview ("exactly as the chat sends it"). Its
 * server-sanitized `html` is the only HTML a page inserts; the rest goes in as text. */

import { dialable, element, link } from './dom.js';
import { translator } from './i18n.js';

/** The cards' words (French for a language without them). */
export const CARD_WORDS = {
  fr: {
    resources: "Ressources d'aide",
    hours: 'Heures',
    call: 'Appeler',
    textTo: 'Texto au',
    textWord: (word) => 'écris ' + word,
    website: 'Site web',
    newTab: '(nouvel onglet)',
  },
  en: {
    resources: 'Help resources',
    hours: 'Hours',
    call: 'Call',
    textTo: 'Text',
    textWord: (word) => 'write ' + word,
    website: 'Website',
    newTab: '(new tab)',
  },
};

/** Whether the frame waits for free text (a receipt is free text too). */
export function asksText(frame) {
  return frame.input === 'text' || frame.input === 'receipt';
}

/** Whether what is typed next is a report's receipt (the page masks it on screen). */
export function asksReceipt(frame) {
  return frame.input === 'receipt';
}

/** The bubble: the sanitized HTML, else the plain text; `newTab` for the preview's links. */
export function botBubble(frame, { newTab = false } = {}) {
  const bubble = element('div', 'bubble');
  bubble.innerHTML = typeof frame.html === 'string' ? frame.html : '';
  if (!bubble.textContent && frame.text) bubble.textContent = frame.text;
  if (newTab) {
    for (const a of bubble.querySelectorAll('a[href]')) {
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
    }
  }
  return bubble;
}

/** The message's choices as buttons in a labelled group; `onChoose(choice)` on a click. */
export function choiceButtons(choices, label, onChoose) {
  const group = element('div', 'choice-list');
  group.setAttribute('role', 'group');
  group.setAttribute('aria-label', label);
  for (const choice of choices) {
    const button = element('button', 'choice', choice.label);
    button.type = 'button';
    button.setAttribute('data-id', choice.id);
    button.addEventListener('click', () => onChoose(choice));
    group.appendChild(button);
  }
  return group;
}

/**
 * Resource cards in `lang` (call, text, site in a new tab). `onSite(event)` runs as a
 * site opens (the quick exit closes it); `keys` shows ressources.toml's keys (authors).
 */
export function resourceList(resources, lang, { onSite = null, keys = false } = {}) {
  const t = translator(CARD_WORDS, () => lang);
  const list = element('ul', 'cards');
  list.setAttribute('aria-label', t('resources'));
  for (const resource of resources) {
    if (!resource || !resource.name) continue;
    const card = element('li', 'card');
    const name = card.appendChild(element('h3', 'card-name', resource.name));
    if (keys && resource.key) name.appendChild(element('code', 'card-key', ' ' + resource.key));
    if (resource.about) card.appendChild(element('p', 'card-about', resource.about));
    if (resource.hours) {
      // The hours say their own lead-in; "Hours" is for screen readers.
      const hours = element('p', 'card-hours');
      hours.appendChild(element('span', 'visually-hidden', t('hours') + ' : '));
      hours.appendChild(document.createTextNode(resource.hours));
      card.appendChild(hours);
    }
    const actions = element('div', 'card-actions');
    if (resource.phone) {
      actions.appendChild(link('tel:' + dialable(resource.phone), t('call') + ' ' + resource.phone, 'act act-call'));
    }
    if (resource.text) {
      let href = 'sms:' + dialable(resource.text);
      let label = t('textTo') + ' ' + resource.text;
      if (resource.text_body) {
        href += '?body=' + encodeURIComponent(resource.text_body);
        label += ' (' + t('textWord', resource.text_body) + ')';
      }
      actions.appendChild(link(href, label, 'act act-text'));
    }
    if (resource.url && /^https?:\/\//i.test(resource.url)) {
      const site = link(resource.url, t('website') + ' ', 'act act-web');
      site.appendChild(element('span', 'visually-hidden', resource.name + ' '));
      site.appendChild(element('span', 'tab-note', t('newTab')));
      site.target = '_blank';
      site.rel = 'noopener noreferrer';
      if (onSite) site.addEventListener('click', onSite);
      actions.appendChild(site);
    }
    if (actions.childNodes.length) card.appendChild(actions);
    list.appendChild(card);
  }
  return list;
}
