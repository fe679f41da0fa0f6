//! Intervenor accounts and console logins: argon2id passwords, random tokens stored
//! hashed with idle and absolute timeouts, and a growing delay after repeated
//! failures that slows a guesser without locking the real person out. Attempts on
//! one account take turns (whatever their address), so the delay bounds the rate
//! of guesses, not only their latency; repeated two-factor failures lock the
//! account for a while and are logged for the supervisors.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::config::ConsoleConfig;
use crate::store::records::{AccountRecord, Role, TokenRecord};
use crate::store::{Store, StoreError};

/// Failures allowed before each attempt is delayed.
pub(crate) const FREE_FAILURES: u32 = 5;
/// Failures older than this are forgotten.
const FAILURE_MEMORY_MS: u64 = 15 * 60 * 1000;
/// Wrong two-factor codes (after a right password) that lock an account.
pub(crate) const TOTP_FAILURES_TO_LOCK: u32 = 5;
/// How long such a lock lasts.
pub(crate) const TOTP_LOCK_MS: u64 = 15 * 60 * 1000;
/// Attempts on one account waiting for their turn; more are told to wait.
const MAX_WAITING: usize = 32;
/// The longest an attempt waits for its turn before it is told to come back.
const MAX_TURN_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the account {0} already exists")]
    Exists(String),
    #[error("there is no account {0}")]
    Missing(String),
    #[error("a login is 2 to 64 lowercase letters, digits, '.', '_' or '-'")]
    BadLogin,
    #[error("a password needs at least 12 characters")]
    WeakPassword,
    #[error("password hashing failed")]
    Hash,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who is signed in on a console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intervenor {
    pub login: String,
    pub name: String,
    pub role: Role,
    /// The SHA-256 of the console token, so logout can find its sockets.
    pub token_key: [u8; 32],
}

impl Intervenor {
    pub(crate) fn is_supervisor(&self) -> bool {
        self.role == Role::Supervisor
    }

    /// Intervenors and supervisors take conversations; authors do not.
    pub(crate) fn takes_conversations(&self) -> bool {
        self.role != Role::Author
    }

    /// Authors and supervisors may preview and inspect flows.
    pub(crate) fn writes_flows(&self) -> bool {
        matches!(self.role, Role::Author | Role::Supervisor)
    }
}

/// The argon2id settings: 19 MiB, 2 passes, 1 lane (OWASP's minimum).
fn hasher() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters"),
    )
}

/// Hashes a password to a PHC string. Slow on purpose: call it off the runtime.
pub(crate) fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|_| AccountError::Hash)?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AccountError::Hash)
}

/// Checks a password against a PHC string. Slow on purpose: call it off the runtime.
pub(crate) fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to check against when the account does not exist, so a wrong login
/// costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("relais-dummy-password").unwrap_or_default())
}

fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[derive(Default)]
struct Failures {
    count: u32,
    last_ms: u64,
}

pub struct Accounts {
    store: Store,
    clock: Clock,
    config: ConsoleConfig,
    /// Recent failures per account and per client key, in memory only.
    failures: Mutex<HashMap<String, Failures>>,
    /// One turn at a time per login tried. Written by `login`.
    turns: Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    /// Wrong two-factor codes per account, and accounts locked until (ms).
    totp_failures: Mutex<HashMap<String, Failures>>,
    locked_until: Mutex<HashMap<String, u64>>,
}

/// What a login gave.
pub(crate) enum LoginOutcome {
    Success {
        token: String,
        expires_at: u64,
        account: AccountRecord,
    },
    Refused,
    /// Too many attempts on this account are waiting: come back after this.
    Wait(Duration),
}

impl Accounts {
    pub(crate) fn new(store: Store, clock: Clock, config: ConsoleConfig) -> Self {
        Self {
            store,
            clock,
            config,
            failures: Mutex::new(HashMap::new()),
            turns: Mutex::new(HashMap::new()),
            totp_failures: Mutex::new(HashMap::new()),
            locked_until: Mutex::new(HashMap::new()),
        }
    }

    /// The turn of a login: attempts on one account run one after the other.
    fn turn(&self, login: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        let mut turns = self.turns.lock().expect("turns lock poisoned");
        turns.retain(|_, turn| std::sync::Arc::strong_count(turn) > 1);
        turns.entry(login.to_string()).or_default().clone()
    }

    fn locked(&self, login: &str) -> bool {
        let now = self.clock.now_ms();
        let mut locked = self.locked_until.lock().expect("lock table poisoned");
        locked.retain(|_, until| *until > now);
        locked.contains_key(login)
    }

    /// A wrong two-factor code after a right password: at the Nth in a row, the
    /// account is locked for a while and the supervisors are told (the log).
    fn record_totp_failure(&self, login: &str) {
        let now = self.clock.now_ms();
        let count = {
            let mut failures = self.totp_failures.lock().expect("failures lock poisoned");
            let entry = failures.entry(login.to_string()).or_default();
            if now.saturating_sub(entry.last_ms) >= FAILURE_MEMORY_MS {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last_ms = now;
            entry.count
        };
        if count >= TOTP_FAILURES_TO_LOCK {
            self.totp_failures
                .lock()
                .expect("failures lock poisoned")
                .remove(login);
            self.locked_until
                .lock()
                .expect("lock table poisoned")
                .insert(login.to_string(), now + TOTP_LOCK_MS);
            tracing::warn!(
                target: "relais::security",
                account = %login,
                minutes = TOTP_LOCK_MS / 60_000,
                "an account is locked after repeated wrong two-factor codes with its right password: its password is known to someone; a supervisor should reset it"
            );
        }
    }

    /// Takes a two-factor step for an account, atomically: among concurrent logins
    /// with one code exactly one wins (see `Store::take_totp_step`).
    fn consume_step(&self, login: &str, step: u64) -> Result<bool, StoreError> {
        self.store.take_totp_step(login, step)
    }

    pub fn get(&self, login: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.store.account(login)
    }

    pub fn put(&self, account: &AccountRecord) -> Result<(), StoreError> {
        self.store.put_account(account)
    }

    pub(crate) fn list(&self) -> Result<Vec<AccountRecord>, StoreError> {
        self.store.list_accounts()
    }

    /// Creates an account (blocking: hashes the password).
    pub fn add(
        &self,
        login: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<(), AccountError> {
        if !valid_login(login) {
            return Err(AccountError::BadLogin);
        }
        if password.chars().count() < 12 {
            return Err(AccountError::WeakPassword);
        }
        if self.get(login)?.is_some() {
            return Err(AccountError::Exists(login.into()));
        }
        let account = AccountRecord {
            login: login.into(),
            name: name.into(),
            role,
            password: hash_password(password)?,
            totp_secret: None,
            totp_last_step: 0,
            on_call: false,
            disabled: false,
        };
        self.put(&account)?;
        self.store.flush_blocking()?;
        Ok(())
    }

    pub(crate) fn remove(&self, login: &str) -> Result<(), AccountError> {
        if !self.store.remove_account(login)? {
            return Err(AccountError::Missing(login.into()));
        }
        self.revoke_all(login)?;
        self.store.flush_blocking()?;
        Ok(())
    }

    /// Sets a new password and ends every open login of the account (blocking).
    pub(crate) fn reset_password(&self, login: &str, password: &str) -> Result<(), AccountError> {
        if password.chars().count() < 12 {
            return Err(AccountError::WeakPassword);
        }
        let mut account = self
            .get(login)?
            .ok_or_else(|| AccountError::Missing(login.into()))?;
        account.password = hash_password(password)?;
        self.put(&account)?;
        self.revoke_all(login)?;
        self.store.flush_blocking()?;
        Ok(())
    }

    /// Ends every open login of an account (its consoles are closed by the caller).
    pub(crate) fn revoke_all(&self, login: &str) -> Result<(), StoreError> {
        self.store
            .remove_tokens_where(|record| record.login == login)?;
        Ok(())
    }

    /// How long to wait before answering a login for this account from this client.
    pub(crate) fn delay_for(&self, login: &str, client: &str) -> Duration {
        let now = self.clock.now_ms();
        let failures = self.failures.lock().expect("failures lock poisoned");
        let count = [format!("a:{login}"), format!("c:{client}")]
            .iter()
            .filter_map(|k| failures.get(k))
            .filter(|f| now.saturating_sub(f.last_ms) < FAILURE_MEMORY_MS)
            .map(|f| f.count)
            .max()
            .unwrap_or(0);
        if count < FREE_FAILURES {
            return Duration::ZERO;
        }
        let doubling = (count - FREE_FAILURES).min(3);
        Duration::from_millis(self.config.login_delay_ms) * 2u32.pow(doubling)
    }

    fn record_failure(&self, login: &str, client: &str) {
        let now = self.clock.now_ms();
        let mut failures = self.failures.lock().expect("failures lock poisoned");
        for key in [format!("a:{login}"), format!("c:{client}")] {
            let entry = failures.entry(key).or_default();
            if now.saturating_sub(entry.last_ms) >= FAILURE_MEMORY_MS {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last_ms = now;
        }
        failures.retain(|_, f| now.saturating_sub(f.last_ms) < FAILURE_MEMORY_MS);
    }

    fn clear_failures(&self, login: &str) {
        self.failures
            .lock()
            .expect("failures lock poisoned")
            .remove(&format!("a:{login}"));
    }

    /// Checks a login, in the account's turn: it waits for the attempts before it
    /// on the same account, then for `delay_for`. The same answer whatever was
    /// wrong; the password check runs even for an unknown account.
    pub(crate) async fn login(
        &self,
        login: &str,
        password: &str,
        totp: Option<&str>,
        client: &str,
    ) -> Result<LoginOutcome, StoreError> {
        let turn = self.turn(login);
        let waiting = std::sync::Arc::strong_count(&turn).saturating_sub(2);
        let delay = self.delay_for(login, client);
        let expected = delay.max(Duration::from_millis(100)) * (waiting as u32 + 1);
        if waiting >= MAX_WAITING || (waiting > 0 && expected > MAX_TURN_WAIT) {
            return Ok(LoginOutcome::Wait(expected));
        }
        let _turn = turn.lock().await;
        // The delay is counted again in the turn: the attempts before may have failed.
        let delay = self.delay_for(login, client);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if self.locked(login) {
            self.record_failure(login, client);
            return Ok(LoginOutcome::Refused);
        }
        let account = self.get(login)?;
        let phc = account
            .as_ref()
            .map(|a| a.password.clone())
            .unwrap_or_else(|| dummy_hash().to_string());
        let password = password.to_string();
        let permit = crate::limits::argon2_permit().await;
        let password_ok = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify_password(&password, &phc)
        })
        .await
        .unwrap_or(false);
        let Some(account) = account.filter(|a| password_ok && !a.disabled) else {
            self.record_failure(login, client);
            return Ok(LoginOutcome::Refused);
        };
        let needs_totp = account.totp_secret.is_some()
            || self.config.require_totp
            || (self.config.require_totp_supervisors && account.role == Role::Supervisor);
        if needs_totp {
            let accepted = match (&account.totp_secret, totp) {
                (Some(secret), Some(code)) => {
                    super::totp::accept(secret, code, self.clock.now_secs(), account.totp_last_step)
                }
                _ => None,
            };
            let taken = match accepted {
                Some(step) => self.consume_step(login, step)?,
                None => false,
            };
            if !taken {
                self.record_failure(login, client);
                if totp.is_some() {
                    self.record_totp_failure(login);
                }
                return Ok(LoginOutcome::Refused);
            }
        }
        self.clear_failures(login);
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        let now = self.clock.now_ms();
        self.store.put_token(
            &token_key(&token),
            &TokenRecord {
                login: account.login.clone(),
                created_ms: now,
                last_seen_ms: now,
            },
        )?;
        Ok(LoginOutcome::Success {
            token,
            expires_at: now + self.config.absolute_timeout_secs * 1000,
            account,
        })
    }

    /// The intervenor behind a token, if it is alive; refreshes its idle timer.
    pub(crate) fn authenticate(&self, token: &str) -> Result<Option<Intervenor>, StoreError> {
        self.authenticate_by_key(token_key(token))
    }

    /// Whether a token (by its key) is alive; refreshes its idle timer.
    pub(crate) fn authenticate_key(&self, key: &[u8; 32]) -> Result<bool, StoreError> {
        Ok(self.authenticate_by_key(*key)?.is_some())
    }

    fn authenticate_by_key(&self, key: [u8; 32]) -> Result<Option<Intervenor>, StoreError> {
        let Some(mut record) = self.store.token(&key)? else {
            return Ok(None);
        };
        let now = self.clock.now_ms();
        if self.expired(&record, now) {
            self.store.remove_token(&key)?;
            return Ok(None);
        }
        let Some(account) = self.get(&record.login)?.filter(|a| !a.disabled) else {
            return Ok(None);
        };
        // Refresh at most every few seconds: a token is not rewritten on every call.
        if now.saturating_sub(record.last_seen_ms) > 5_000 {
            record.last_seen_ms = now;
            self.store.put_token(&key, &record)?;
        }
        Ok(Some(Intervenor {
            login: account.login,
            name: account.name,
            role: account.role,
            token_key: key,
        }))
    }

    /// Whether a token (by its key) is still alive, without refreshing it.
    pub(crate) fn token_alive(&self, key: &[u8; 32]) -> bool {
        match self.store.token(key) {
            Ok(Some(record)) => !self.expired(&record, self.clock.now_ms()),
            _ => false,
        }
    }

    fn expired(&self, record: &TokenRecord, now: u64) -> bool {
        now.saturating_sub(record.last_seen_ms) >= self.config.idle_timeout_secs * 1000
            || now.saturating_sub(record.created_ms) >= self.config.absolute_timeout_secs * 1000
    }

    pub(crate) fn logout(&self, key: &[u8; 32]) -> Result<(), StoreError> {
        self.store.remove_token(key)
    }

    /// Deletes expired tokens.
    pub(crate) fn purge_tokens(&self) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        self.store
            .remove_tokens_where(|record| self.expired(record, now))?;
        Ok(())
    }

    pub(crate) fn set_on_call(&self, login: &str, on_call: bool) -> Result<(), StoreError> {
        if let Some(mut account) = self.get(login)? {
            account.on_call = on_call;
            self.put(&account)?;
        }
        Ok(())
    }
}

pub(crate) fn valid_login(login: &str) -> bool {
    (2..=64).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2id_phc_and_verify() {
        let phc = hash_password("un mot de passe long").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("un mot de passe long", &phc));
        assert!(!verify_password("un autre mot de passe", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }
}
