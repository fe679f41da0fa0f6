//! Per-conversation encryption keys, kept outside sled so that erasing one really
//! erases it. sled keeps old versions of values in its log segments until it reuses
//! them; a deleted transcript could stay readable there. So every sensitive value
//! (a handoff's transcript, an intervenor's messages in a youth's frame log, a
//! report's answers) is sealed with a key of its own, kept in one small file in
//! `DATA/keys/`; erasing the conversation overwrites and removes that file, and what
//! is left in sled's segments is ciphertext nobody can open (crypto-shredding).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use rand::RngCore;

/// A 256-bit key for ChaCha20-Poly1305.
#[derive(Clone)]
pub struct Key(Arc<ChaCha20Poly1305>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

impl Key {
    fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(Arc::new(ChaCha20Poly1305::new(bytes.into())))
    }

    /// Encrypts: a random 96-bit nonce, then the ciphertext with its tag.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend(
            self.0
                .encrypt(Nonce::from_slice(&nonce), plaintext)
                .expect("encryption of a bounded value does not fail"),
        );
        out
    }

    /// Decrypts what `seal` made; `None` if it was altered or sealed by another key.
    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 12 {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(12);
        self.0.decrypt(Nonce::from_slice(nonce), ciphertext).ok()
    }
}

/// The keys folder, with the keys in use cached in memory.
pub struct Keys {
    dir: PathBuf,
    /// Keys read or made since start. Written by create, get, destroy.
    cache: Mutex<HashMap<String, Key>>,
}

impl Keys {
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    /// Makes a key and writes it durably (blocking IO: call it off the runtime).
    pub fn create(&self, name: &str) -> std::io::Result<Key> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let temporary = self.dir.join(format!("{name}.key.tmp"));
        {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
        }
        std::fs::rename(&temporary, self.path(name))?;
        std::fs::File::open(&self.dir)?.sync_all()?;
        let key = Key::from_bytes(&bytes);
        self.cache
            .lock()
            .expect("key cache poisoned")
            .insert(name.to_string(), key.clone());
        Ok(key)
    }

    /// A key by name, from memory or from its file; `None` once destroyed.
    pub fn get(&self, name: &str) -> Option<Key> {
        if let Some(key) = self.cache.lock().expect("key cache poisoned").get(name) {
            return Some(key.clone());
        }
        let bytes: [u8; 32] = std::fs::read(self.path(name)).ok()?.try_into().ok()?;
        let key = Key::from_bytes(&bytes);
        self.cache
            .lock()
            .expect("key cache poisoned")
            .insert(name.to_string(), key.clone());
        Some(key)
    }

    /// Overwrites the key's file with zeros, then removes it (blocking IO).
    pub fn destroy(&self, name: &str) -> std::io::Result<()> {
        self.cache.lock().expect("key cache poisoned").remove(name);
        let path = self.path(name);
        match std::fs::OpenOptions::new().write(true).open(&path) {
            Ok(mut file) => {
                file.write_all(&[0u8; 32])?;
                file.sync_all()?;
                std::fs::remove_file(&path)?;
                std::fs::File::open(&self.dir)?.sync_all()?;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The name of a handoff's key.
pub fn handoff_key(id: u64) -> String {
    format!("handoff-{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_until_the_key_is_destroyed() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::open(dir.path()).unwrap();
        let key = keys.create("k").unwrap();
        let sealed = key.seal(b"514 555-0199");
        assert!(!sealed.windows(3).any(|w| w == b"514"));
        assert_eq!(key.open(&sealed).unwrap(), b"514 555-0199");
        let again = Keys::open(dir.path()).unwrap().get("k").unwrap();
        assert_eq!(again.open(&sealed).unwrap(), b"514 555-0199");
        keys.destroy("k").unwrap();
        assert!(keys.get("k").is_none());
        assert!(Keys::open(dir.path()).unwrap().get("k").is_none());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
