//! Time-based one-time codes (RFC 6238): 6 digits, 30-second steps, HMAC-SHA1, one
//! step of drift either way, and never the same step twice for an account.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

/// Seconds per step.
pub const STEP: u64 = 30;
/// Steps accepted before and after the current one.
const WINDOW: u64 = 1;

/// A new random secret (160 bits), base32 as authenticator apps expect.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    BASE32_NOPAD.encode(&bytes)
}

/// The `otpauth://` URI an authenticator app reads (often as a QR code).
pub(crate) fn uri(secret: &str, login: &str) -> String {
    format!("otpauth://totp/relais:{login}?secret={secret}&issuer=relais&algorithm=SHA1&digits=6&period={STEP}")
}

/// The code of a time step.
pub fn code_at(secret: &str, step: u64) -> Option<String> {
    let key = BASE32_NOPAD.decode(secret.as_bytes()).ok()?;
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).ok()?;
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let number = u32::from_be_bytes(digest[offset..offset + 4].try_into().ok()?) & 0x7fff_ffff;
    Some(format!("{:06}", number % 1_000_000))
}

/// Accepts a code at `now_secs` if it matches a step within the window that is
/// newer than `last_step`; returns the step to remember.
pub(crate) fn accept(secret: &str, code: &str, now_secs: u64, last_step: u64) -> Option<u64> {
    let code = code.trim().replace(' ', "");
    let current = now_secs / STEP;
    (current.saturating_sub(WINDOW)..=current + WINDOW)
        .filter(|&step| step > last_step)
        .find(|&step| code_at(secret, step).is_some_and(|expected| expected == code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vector_and_no_replay() {
        // RFC 6238, SHA-1, T = 59 s: 94287082 (8 digits), so 287082 for 6.
        let secret = BASE32_NOPAD.encode(b"12345678901234567890");
        assert_eq!(code_at(&secret, 59 / STEP).unwrap(), "287082");
        let step = accept(&secret, "287082", 59, 0).unwrap();
        assert_eq!(accept(&secret, "287082", 59, step), None);
        assert_eq!(accept(&secret, "000000", 59, 0), None);
    }
}
