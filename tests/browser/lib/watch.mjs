//! What this is for: the one page watcher of the page tests. A fresh browser context
//! in which what must never happen is recorded: a request to another host (refused), a
//! page error, a console error, a CSP violation (`window.__cspViolations`, filled from
//! the start of every page); every tone the page starts is counted in
//! `window.__tones` (Web Audio oscillators). `assertStayedHome` then checks the record.

import assert from 'node:assert/strict';

/**
 * A fresh browser context and page, watched (see above). `options` go to
 * `browser.newContext` (locale, colorScheme, viewport, bypassCSP…); motion is reduced
 * and service workers blocked unless they say otherwise. Returns {context, page, watch}.
 */
export async function watchedContext(browser, server, options = {}) {
  const context = await browser.newContext({ reducedMotion: 'reduce', serviceWorkers: 'block', ...options });
  context.setDefaultTimeout(15_000);
  const watch = { requests: [], outside: [], consoleErrors: [], pageErrors: [] };
  const origin = new URL(server.url).origin;
  await context.route((url) => url.origin !== origin, async (route) => {
    watch.outside.push(route.request().url());
    await route.abort();
  });
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
    window.__tones = 0;
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function countedStart(...args) {
      window.__tones += 1;
      return start.apply(this, args);
    };
  });
  const page = await context.newPage();
  page.on('request', (request) => watch.requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') watch.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => watch.pageErrors.push(String(error)));
  return { context, page, watch };
}

/** No request left for another host, nothing thrown, no CSP violation. */
export async function assertStayedHome(page, watch, server) {
  const origin = new URL(server.url).origin;
  assert.deepEqual(watch.requests.filter((url) => !url.startsWith(origin)), [], 'the page asked another host for something');
  assert.deepEqual(watch.outside, [], 'a request left for another host');
  assert.deepEqual(watch.pageErrors, [], 'the page threw');
  const csp = watch.consoleErrors.filter((text) => /Content.Security.Policy|Refused to/i.test(text));
  assert.deepEqual(csp, [], 'the console reported a CSP violation');
  if (!page.isClosed() && page.url().startsWith(origin)) {
    assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'a CSP violation happened');
  }
}
