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
pub(crate) struct Key(Arc<ChaCha20Poly1305>);

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
    pub(crate) fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
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
    pub(crate) fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
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
    /// Keys written without a sync (sessions'): synced by the next store flush, so
    /// a key is on disk before anything acknowledged that it opens.
    unsynced: Mutex<Vec<String>>,
    /// Keys being destroyed in the background: never read back meanwhile.
    doomed: Mutex<std::collections::HashSet<String>>,
}

impl Keys {
    pub(crate) fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            cache: Mutex::new(HashMap::new()),
            unsynced: Mutex::new(Vec::new()),
            doomed: Mutex::new(Default::default()),
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    /// Makes a key and writes it durably (blocking IO: call it off the runtime).
    pub(crate) fn create(&self, name: &str) -> std::io::Result<Key> {
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

    /// Makes a key without syncing it (cheap enough for the hot path: one small
    /// write and a rename, no fsync). [`Keys::sync_pending`], run by every store
    /// flush, makes it durable. `None` when the name is being destroyed.
    pub(crate) fn create_unsynced(&self, name: &str) -> std::io::Result<Option<Key>> {
        if self
            .doomed
            .lock()
            .expect("key lock poisoned")
            .contains(name)
        {
            return Ok(None);
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let temporary = self.dir.join(format!("{name}.key.tmp"));
        std::fs::write(&temporary, bytes)?;
        std::fs::rename(&temporary, self.path(name))?;
        let key = Key::from_bytes(&bytes);
        self.cache
            .lock()
            .expect("key cache poisoned")
            .insert(name.to_string(), key.clone());
        self.unsynced
            .lock()
            .expect("key lock poisoned")
            .push(name.to_string());
        Ok(Some(key))
    }

    /// Syncs the keys made by `create_unsynced` since the last call, and the folder
    /// (blocking IO).
    pub(crate) fn sync_pending(&self) -> std::io::Result<()> {
        let pending = std::mem::take(&mut *self.unsynced.lock().expect("key lock poisoned"));
        if pending.is_empty() {
            return Ok(());
        }
        // Synced from a few threads at once: the file system commits concurrent
        // syncs together (fifty urgent requests cost a few journal commits, not
        // a hundred in a row).
        let threads = pending.len().clamp(1, 8);
        let per_thread = pending.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let running: Vec<_> = pending
                .chunks(per_thread)
                .map(|names| {
                    scope.spawn(move || -> std::io::Result<()> {
                        for name in names {
                            if let Ok(file) = std::fs::File::open(self.path(name)) {
                                file.sync_all()?;
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            running.into_iter().try_for_each(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("a key sync panicked")))
            })
        })?;
        std::fs::File::open(&self.dir)?.sync_all()
    }

    /// Destroys a key: unusable at once, its file overwritten and removed off the
    /// async runtime when there is one (inline otherwise).
    pub(crate) fn destroy_soon(self: &Arc<Self>, name: &str) {
        self.doomed
            .lock()
            .expect("key lock poisoned")
            .insert(name.to_string());
        self.cache.lock().expect("key cache poisoned").remove(name);
        let keys = self.clone();
        let name = name.to_string();
        let work = move || {
            if let Err(e) = keys.destroy(&name) {
                tracing::error!(error = %e, "a key could not be destroyed");
            }
            keys.doomed.lock().expect("key lock poisoned").remove(&name);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(work);
            }
            Err(_) => work(),
        }
    }

    /// Whether a key surely no longer exists (its file is absent, not merely
    /// unreadable now): only then is what it sealed deleted.
    pub(crate) fn is_gone(&self, name: &str) -> bool {
        !self
            .cache
            .lock()
            .expect("key cache poisoned")
            .contains_key(name)
            && matches!(self.path(name).try_exists(), Ok(false))
    }

    /// Forgets a key from memory only (its file stays; read again when needed).
    pub(crate) fn uncache(&self, name: &str) {
        self.cache.lock().expect("key cache poisoned").remove(name);
    }

    /// A key by name, from memory or from its file; `None` once destroyed.
    pub(crate) fn get(&self, name: &str) -> Option<Key> {
        if let Some(key) = self.cache.lock().expect("key cache poisoned").get(name) {
            return Some(key.clone());
        }
        if self
            .doomed
            .lock()
            .expect("key lock poisoned")
            .contains(name)
        {
            return None;
        }
        let bytes: [u8; 32] = std::fs::read(self.path(name)).ok()?.try_into().ok()?;
        if bytes == [0u8; 32]
            || self
                .doomed
                .lock()
                .expect("key lock poisoned")
                .contains(name)
        {
            return None;
        }
        let key = Key::from_bytes(&bytes);
        self.cache
            .lock()
            .expect("key cache poisoned")
            .insert(name.to_string(), key.clone());
        Some(key)
    }

    /// Overwrites the key's file with zeros, then removes it (blocking IO).
    pub(crate) fn destroy(&self, name: &str) -> std::io::Result<()> {
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

/// The name of a session's key (the hex of its token's hash).
pub(crate) fn session_key(key: &[u8; 32]) -> String {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    format!("session-{hex}")
}

/// The name of a handoff's key.
pub(crate) fn handoff_key(id: u64) -> String {
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
