//! Who a staff member is: accounts with argon2id passwords, console logins (random
//! tokens stored as their SHA-256, with idle and absolute timeouts, and a growing
//! delay after failures), and two-factor codes (RFC 6238). Used by the
//! intervenors' console (`handoff`), the staff administration and the authors'
//! preview alike; it knows nothing of conversations.

pub mod accounts;
pub mod totp;

pub(crate) use accounts::{Accounts, Intervenor};
