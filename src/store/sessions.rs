//! The `sessions` and `frames` trees: a youth's session record (sealed with the
//! session's key) under the SHA-256 of its token, and its frame log, keyed by that
//! hash ++ seq (big-endian), each frame sealed with the session's key or, for an
//! intervenor's, with the conversation's.

use super::{get_json, keys, put_json, SessionKey, SessionRecord, Store, StoreError};

/// A logged frame as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredFrame {
    /// The frame's JSON, exactly as it was sent.
    Json(String),
    /// An intervenor's message whose conversation's key is destroyed: its words are
    /// gone for good; only its place in the log remains.
    Erased { seq: u64 },
}

impl Store {
    pub fn session(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        get_json(&self.sessions, key)
    }

    pub fn put_session(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        put_json(&self.sessions, key, record)
    }

    /// Appends a frame to a session's log and drops the frame `keep` places behind.
    /// Every frame is sealed (one AEAD operation): with the session's key, or with
    /// `sealed_by`, that handoff's key, so that once the conversation is closed and
    /// its key destroyed, it reads as erased.
    pub fn append_frame(
        &self,
        key: &SessionKey,
        seq: u64,
        frame: &str,
        keep: u64,
        sealed_by: Option<u64>,
    ) -> Result<(), StoreError> {
        let value =
            match sealed_by.and_then(|id| Some((id, self.keys.get(&keys::handoff_key(id))?))) {
                Some((id, secret)) => {
                    let mut value = vec![FRAME_SEALED];
                    value.extend(id.to_be_bytes());
                    value.extend(secret.seal(frame.as_bytes()));
                    value
                }
                None => {
                    let secret = self.keys.get(&keys::session_key(key)).ok_or_else(|| {
                        StoreError::Keys(std::io::Error::other("the session's key is gone"))
                    })?;
                    let mut value = vec![FRAME_SESSION];
                    value.extend(secret.seal(frame.as_bytes()));
                    value
                }
            };
        self.frames.insert(frame_key(key, seq), value)?;
        if seq > keep {
            self.frames.remove(frame_key(key, seq - keep))?;
        }
        Ok(())
    }

    /// The frames of a session after `last_seq`, in order: each as it was sent, or
    /// [`StoredFrame::Erased`] where the conversation's key that sealed it is gone
    /// (the chat says so in the youth's words; the store builds no frame).
    pub fn frames_after(
        &self,
        key: &SessionKey,
        last_seq: u64,
    ) -> Result<Vec<(u64, StoredFrame)>, StoreError> {
        let start = frame_key(key, last_seq.saturating_add(1));
        let end = frame_key(key, u64::MAX);
        let mut frames = Vec::new();
        for entry in self.frames.range(start..=end) {
            let (k, v) = entry?;
            let Some(seq) = k
                .get(32..40)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
            else {
                tracing::error!("a logged frame has a malformed key; it is skipped");
                continue;
            };
            if let Some(frame) = self.open_frame(key, seq, &v) {
                frames.push((seq, frame));
            }
        }
        Ok(frames)
    }

    fn open_frame(&self, session: &SessionKey, seq: u64, value: &[u8]) -> Option<StoredFrame> {
        Some(match value.split_first() {
            Some((&FRAME_SESSION, rest)) => {
                let plain = self.keys.get(&keys::session_key(session))?.open(rest)?;
                StoredFrame::Json(String::from_utf8_lossy(&plain).into_owned())
            }
            Some((&FRAME_SEALED, rest)) if rest.len() > 8 => {
                let id = u64::from_be_bytes(rest[..8].try_into().ok()?);
                self.keys
                    .get(&keys::handoff_key(id))
                    .and_then(|secret| secret.open(&rest[8..]))
                    .map(|plain| StoredFrame::Json(String::from_utf8_lossy(&plain).into_owned()))
                    .unwrap_or(StoredFrame::Erased { seq })
            }
            Some((_, rest)) => StoredFrame::Json(String::from_utf8_lossy(rest).into_owned()),
            None => return None,
        })
    }

    /// Erases a session: its key (so every version sled keeps reads as nothing),
    /// its record and every frame of its log.
    pub fn delete_session(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.keys.destroy_soon(&keys::session_key(key));
        self.sessions.remove(key)?;
        let mut batch = sled::Batch::default();
        for entry in self.frames.scan_prefix(key) {
            let (k, _) = entry?;
            batch.remove(k);
        }
        self.frames.apply_batch(batch)?;
        Ok(())
    }

    /// Every session with its record (for the purge task).
    pub fn sessions(
        &self,
    ) -> impl Iterator<Item = Result<(SessionKey, SessionRecord), StoreError>> + '_ {
        self.sessions.iter().map(|entry| {
            let (k, v) = entry?;
            let key: SessionKey = k
                .as_ref()
                .try_into()
                .map_err(|_| StoreError::MalformedKey("sessions"))?;
            Ok((key, serde_json::from_slice(&v)?))
        })
    }

    /// Records whose key is gone (erased, or never synced before a crash): their
    /// ciphertext is deleted (a session's with its frames). Returns how many.
    pub fn drop_unreadable_sessions(&self) -> Result<usize, StoreError> {
        let gone = self.sessions.unreadable()?;
        for key in &gone {
            if let Ok(key) = <SessionKey>::try_from(key.as_ref()) {
                self.delete_session(&key)?;
            }
        }
        let mut count = gone.len();
        for tree in [&self.handoffs, &self.reports] {
            for key in tree.unreadable()? {
                tree.remove(key)?;
                count += 1;
            }
        }
        Ok(count)
    }

    /// How many keys a session has in the store (tests check `forget` with it).
    pub fn keys_of_session(&self, key: &SessionKey) -> Result<usize, StoreError> {
        let mut count = usize::from(self.sessions.contains_key(key)?);
        for entry in self.frames.scan_prefix(key) {
            entry?;
            count += 1;
        }
        Ok(count)
    }
}

/// The first byte of a logged frame: sealed with a handoff's key or with the
/// session's (0, plain JSON, is only read, from before sealing).
const FRAME_SEALED: u8 = 1;
const FRAME_SESSION: u8 = 2;

fn frame_key(key: &SessionKey, seq: u64) -> [u8; 40] {
    let mut out = [0u8; 40];
    out[..32].copy_from_slice(key);
    out[32..].copy_from_slice(&seq.to_be_bytes());
    out
}
