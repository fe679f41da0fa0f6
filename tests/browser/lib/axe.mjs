// The one axe-core run of the page tests: WCAG 2.x A and AA and best practices, on a page
// at rest. Messages and panels arrive with a short animation (a fade and a 6 px slide);
// measured mid-animation, a button is still moving and semi-transparent, and axe's
// `target-size` and `color-contrast` checks judge a frame nobody sees for long; the same for
// a smooth scroll still under way, during which a button can pass under the sticky message
// box. So the run waits until every CSS animation and transition has finished, the fonts
// are loaded, and the page has stopped scrolling and moving its controls.
import { createRequire } from 'node:module';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** The serious and critical axe findings of `page` (five places each at most), once its animations are over. */
export async function axeFindings(page) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.addScriptTag({ path: axePath });
  await page.evaluate(() => Promise.all(document.getAnimations().map((animation) => animation.finished.catch(() => {}))));
  await page.evaluate(() => document.fonts.ready.then(() => true));
  await page.evaluate(() => new Promise((settled) => {
    // At rest: the same scroll position and the same place for every control (a frame
    // that just arrived, a sticky box resized, a late font all move them) for three
    // frames in a row.
    const layout = () => [window.scrollY, document.documentElement.scrollHeight,
      ...Array.from(document.querySelectorAll('button, a, input, textarea, select, .composer'), (node) => {
        const box = node.getBoundingClientRect();
        return `${box.x},${box.y},${box.width},${box.height}`;
      })].join(';');
    let last = '';
    let still = 0;
    (function watch() {
      const now = layout();
      still = now === last ? still + 1 : 0;
      last = now;
      if (still >= 3) settled();
      else window.requestAnimationFrame(watch);
    })();
  }));
  const results = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
  }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join(', ')}`);
}
