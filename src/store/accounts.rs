//! The `accounts` and `tokens` trees: a staff account (JSON) under its login, and a
//! console login (JSON) under the SHA-256 of its token (the token is never stored).

use super::records::{AccountRecord, TokenRecord};
use super::{get_json, put_json, Store, StoreError};

impl Store {
    pub(crate) fn account(&self, login: &str) -> Result<Option<AccountRecord>, StoreError> {
        get_json(&self.accounts, login.as_bytes())
    }

    pub(crate) fn put_account(&self, account: &AccountRecord) -> Result<(), StoreError> {
        put_json(&self.accounts, account.login.as_bytes(), account)
    }

    /// Every account, in login order.
    pub(crate) fn list_accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        let mut accounts = Vec::new();
        for entry in self.accounts.iter() {
            let (_, value) = entry?;
            accounts.push(serde_json::from_slice(&value)?);
        }
        Ok(accounts)
    }

    /// Removes an account; whether there was one.
    pub(crate) fn remove_account(&self, login: &str) -> Result<bool, StoreError> {
        Ok(self.accounts.remove(login.as_bytes())?.is_some())
    }

    /// Takes a two-factor time step for an account, atomically (compare-and-swap on
    /// the stored record): among concurrent logins with one code exactly one wins,
    /// and nothing else in the record is overwritten. False when the step (or a
    /// later one) was already taken, or when there is no such account.
    pub(crate) fn take_totp_step(&self, login: &str, step: u64) -> Result<bool, StoreError> {
        loop {
            let Some(current) = self.accounts.get(login.as_bytes())? else {
                return Ok(false);
            };
            let mut account: AccountRecord = serde_json::from_slice(&current)?;
            if account.totp_last_step >= step {
                return Ok(false);
            }
            account.totp_last_step = step;
            let swapped = self.accounts.compare_and_swap(
                login.as_bytes(),
                Some(current),
                Some(serde_json::to_vec(&account)?),
            )?;
            if swapped.is_ok() {
                return Ok(true);
            }
        }
    }

    /// The console login behind a token's SHA-256.
    pub(crate) fn token(&self, key: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        get_json(&self.tokens, key)
    }

    pub(crate) fn put_token(&self, key: &[u8; 32], record: &TokenRecord) -> Result<(), StoreError> {
        put_json(&self.tokens, key, record)
    }

    pub(crate) fn remove_token(&self, key: &[u8; 32]) -> Result<(), StoreError> {
        self.tokens.remove(key)?;
        Ok(())
    }

    /// Removes every console login for which `test` holds; how many.
    pub(crate) fn remove_tokens_where(
        &self,
        test: impl Fn(&TokenRecord) -> bool,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.tokens.iter() {
            let (key, value) = entry?;
            let record: TokenRecord = serde_json::from_slice(&value)?;
            if test(&record) {
                self.tokens.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
