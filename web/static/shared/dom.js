/* What this is for: the pages' small DOM helpers (ES modules, no build step, served
 * under /static/shared/). Text goes in as textContent, never parsed as HTML. */

/** A new element with a class and a text (as textContent), each optional. */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** A link with its address, text and class. */
export function link(href, text, className) {
  const a = element('a', className, text);
  a.href = href;
  return a;
}

/** Empties a node. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** "1 800 263-2266" → "18002632266"; keeps a leading + and digits only. */
export function dialable(number) {
  const text = String(number).trim();
  return (text.charAt(0) === '+' ? '+' : '') + text.replace(/[^0-9]/g, '');
}
