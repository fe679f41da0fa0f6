/* What this is for: logging a person in, the same way on every staff page (the console
 * at /intervenants and the authors' preview at /auteurs): the form with username,
 * password and TOTP code, the session kept in sessionStorage (gone with the tab), the
 * page's preferences in localStorage, and the token let go on the server when the page
 * does not keep it. The API is docs/protocol.md's `POST /api/login` and `/api/logout`. */

/** The session a page keeps under `key` in sessionStorage: {read(), save(session or null)}. */
export function sessionStore(key) {
  return {
    read() {
      try {
        const session = JSON.parse(sessionStorage.getItem(key) || 'null');
        if (session && typeof session.token === 'string' && !(session.expires_at <= Date.now())) return session;
      } catch {
        // Unreadable: log in again.
      }
      return null;
    },
    save(session) {
      try {
        if (session) sessionStorage.setItem(key, JSON.stringify(session));
        else sessionStorage.removeItem(key);
      } catch {
        // Without sessionStorage a reload asks to log in again; nothing else changes.
      }
    },
  };
}

/** The preferences a page keeps under `key` in localStorage: {load(), save(prefs)}. */
export function prefsStore(key) {
  return {
    load() {
      try {
        return JSON.parse(localStorage.getItem(key) || '{}') || {};
      } catch {
        return {};
      }
    },
    save(prefs) {
      try {
        localStorage.setItem(key, JSON.stringify(prefs));
      } catch {
        // Private windows may refuse storage: the preferences then last for the page only.
      }
    },
  };
}

/** Ends a token on the server, without waiting and without a word if it fails. */
export function letGo(token) {
  if (!token) return;
  fetch('/api/logout', { method: 'POST', headers: { Authorization: `Bearer ${token}` }, credentials: 'omit', cache: 'no-store' }).catch(() => {});
}

/**
 * Sends the login form. `fields` are its elements {form, username, password, totp,
 * submit}. The page says how: `t` (knows loginMissing, loginBusy, loginSubmit),
 * `request(body)` (its API call, resolving with the server's answer), `allowed(role)`,
 * `refused(answer, username)` (the sentence for an account the page is not for; its
 * token is let go), `failure(error)` (the sentence for a refused login), `showError(text)`
 * ('' hides it) and `onSession(session)`. Focus goes where the person has to act.
 */
export async function submitLogin(fields, { t, request, allowed, refused, failure, showError, onSession }) {
  const username = fields.username.value.trim();
  const password = fields.password.value;
  const code = fields.totp.value.replace(/\s+/g, '');
  showError('');
  if (!username || !password) {
    showError(t('loginMissing'));
    (username ? fields.password : fields.username).focus();
    return;
  }
  fields.submit.disabled = true;
  fields.submit.textContent = t('loginBusy');
  fields.form.setAttribute('aria-busy', 'true');
  try {
    const body = { username, password };
    if (code) body.totp = code;
    const answer = await request(body);
    fields.password.value = '';
    fields.totp.value = '';
    if (!allowed(answer.role)) {
      // The page is not for this account: said plainly, and its token let go.
      letGo(answer.token);
      showError(refused(answer, username));
      fields.username.focus();
      return;
    }
    onSession({
      token: answer.token,
      expires_at: answer.expires_at,
      login: answer.login || username,
      name: answer.name,
      role: answer.role || 'intervenor',
    });
  } catch (error) {
    showError(failure(error));
    fields.totp.value = '';
    (error && error.status === 401 && code ? fields.totp : fields.password).focus();
  } finally {
    fields.submit.disabled = false;
    fields.submit.textContent = t('loginSubmit');
    fields.form.removeAttribute('aria-busy');
  }
}
