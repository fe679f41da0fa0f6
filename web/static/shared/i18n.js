/* What this is for: a page's words by language ({fr: {...}, en: {...}}), French the
 * fallback of each missing word. A word is a string, one with {name} placeholders
 * filled from an object, or a function of its arguments. */

/** The first languages of relais: the page's choice when nothing else says. */
export const PAGE_LANGUAGES = ['fr', 'en'];

/** `t(key, ...args)` in the language `language()` returns; `missing(key)` for a word no table has. */
export function translator(tables, language, { missing = () => undefined } = {}) {
  return function t(key, ...args) {
    const table = tables[language()] || tables.fr;
    let value = table[key];
    if (value === undefined) value = tables.fr[key];
    if (value === undefined) return missing(key);
    if (typeof value === 'function') return value(...args);
    const params = args[0];
    if (typeof value === 'string' && params && typeof params === 'object') {
      return value.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
    }
    return value;
  };
}

/** The language chosen before if the page has it, else the browser's if English, else French. */
export function pageLanguage(chosen, languages = PAGE_LANGUAGES) {
  if (languages.indexOf(chosen) >= 0) return chosen;
  return (navigator.language || 'fr').toLowerCase().startsWith('en') ? 'en' : 'fr';
}
