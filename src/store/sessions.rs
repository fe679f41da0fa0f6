//! The `sessions` and `frames` trees: a youth's session record (sealed with the
//! session's key) under the SHA-256 of its token, and its frame log, keyed by that
//! hash ++ the first seq (big-endian) of each entry: a run of frames one change of
//! the session logged, sealed with the session's key, or an intervenor's frame alone,
//! sealed with the conversation's. An entry covers the seqs up to the next one's.

use super::{get_json, keys, put_json, SessionKey, SessionRecord, Store, StoreError};

/// A logged frame as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoredFrame {
    /// The frame's JSON, exactly as it was sent.
    Json(String),
    /// An intervenor's message whose conversation's key is destroyed: its words are
    /// gone for good; only its place in the log remains.
    Erased { seq: u64 },
}

impl Store {
    pub(crate) fn session(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        get_json(&self.sessions, key)
    }

    pub(crate) fn put_session(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
    ) -> Result<(), StoreError> {
        put_json(&self.sessions, key, record)
    }

    /// Writes what one change of a session left: its frames (a run of frames
    /// sealed with the session's key is one entry, one AEAD operation; an
    /// intervenor's frame is an entry of its own, sealed with its conversation's
    /// key, so that once that key is destroyed it reads as erased), the log
    /// pruned below `keep_from` when given (by range: every entry wholly below it
    /// goes), then the record: two sled inserts for a turn.
    ///
    /// Plain inserts, not a `sled::Batch`: sled 0.34 applies a batch under a lock
    /// that stops every other operation of the database and seals its log buffer
    /// (measured: turns/s halved). sled writes its log in order, so after a crash
    /// the record is never ahead of the frames written before it.
    pub(crate) fn write_turn(
        &self,
        key: &SessionKey,
        log: &FrameLog,
        record: Option<&SessionRecord>,
        keep_from: Option<u64>,
    ) -> Result<(), StoreError> {
        for entry in &log.entries {
            let (seq, value) = self.seal_entry(key, entry)?;
            self.frames.insert(&frame_key(key, seq)[..], value)?;
        }
        if let Some(first_kept) = keep_from {
            // An entry covers the seqs up to the next entry's first: the last
            // entry starting at or below `first_kept` may hold kept frames.
            let mut below = self
                .frames
                .range(frame_key(key, 0)..=frame_key(key, first_kept))
                .keys()
                .collect::<Result<Vec<_>, _>>()?;
            below.pop();
            for old in below {
                self.frames.remove(old)?;
            }
        }
        if let Some(record) = record {
            self.put_session(key, record)?;
        }
        Ok(())
    }

    fn seal_entry(&self, key: &SessionKey, entry: &LogEntry) -> Result<(u64, Vec<u8>), StoreError> {
        let session_secret = || {
            self.keys
                .get(&keys::session_key(key))
                .ok_or_else(|| StoreError::Keys(std::io::Error::other("the session's key is gone")))
        };
        Ok(match entry {
            LogEntry::Run { first, plain } => {
                let mut value = vec![FRAME_RUN];
                value.extend(session_secret()?.seal(plain));
                (*first, value)
            }
            LogEntry::Sealed {
                seq,
                handoff,
                frame,
            } => match self.keys.get(&keys::handoff_key(*handoff)) {
                Some(secret) => {
                    let mut value = vec![FRAME_SEALED];
                    value.extend(handoff.to_be_bytes());
                    value.extend(secret.seal(frame.as_bytes()));
                    (*seq, value)
                }
                None => {
                    let mut value = vec![FRAME_SESSION];
                    value.extend(session_secret()?.seal(frame.as_bytes()));
                    (*seq, value)
                }
            },
        })
    }

    /// The frames of a session after `last_seq`, in order: each as it was sent, or
    /// [`StoredFrame::Erased`] where the conversation's key that sealed it is gone
    /// (the chat says so in the youth's words; the store builds no frame).
    pub(crate) fn frames_after(
        &self,
        key: &SessionKey,
        last_seq: u64,
    ) -> Result<Vec<(u64, StoredFrame)>, StoreError> {
        let wanted = last_seq.saturating_add(1);
        // The entry holding `wanted` may start before it (a run of frames).
        let start = self
            .frames
            .range(frame_key(key, 0)..=frame_key(key, wanted))
            .keys()
            .next_back()
            .transpose()?
            .map_or_else(|| frame_key(key, wanted).to_vec(), |k| k.to_vec());
        let end = frame_key(key, u64::MAX);
        let mut frames = Vec::new();
        for entry in self.frames.range(start.as_slice()..=&end[..]) {
            let (k, v) = entry?;
            let Some(seq) = k
                .get(32..40)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
            else {
                tracing::error!("a logged frame has a malformed key; it is skipped");
                continue;
            };
            if v.first() == Some(&FRAME_RUN) {
                let Some(plain) = self
                    .keys
                    .get(&keys::session_key(key))
                    .and_then(|secret| secret.open(&v[1..]))
                else {
                    continue;
                };
                for (seq, frame) in run_frames(&plain) {
                    if seq >= wanted {
                        frames.push((seq, StoredFrame::Json(frame)));
                    }
                }
                continue;
            }
            if seq < wanted {
                continue;
            }
            if let Some(frame) = self.open_frame(key, seq, &v) {
                frames.push((seq, frame));
            }
        }
        Ok(frames)
    }

    /// The last seq a session's log holds (0 for none): after a crash, frames may be
    /// on disk while the record that counted them is not; the next seq follows them.
    pub(crate) fn last_logged_seq(&self, key: &SessionKey) -> Result<u64, StoreError> {
        let Some((k, v)) = self
            .frames
            .range(frame_key(key, 0)..=frame_key(key, u64::MAX))
            .next_back()
            .transpose()?
        else {
            return Ok(0);
        };
        let first = k
            .get(32..40)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_be_bytes);
        if v.first() != Some(&FRAME_RUN) {
            return Ok(first);
        }
        let last = self
            .keys
            .get(&keys::session_key(key))
            .and_then(|secret| secret.open(&v[1..]))
            .and_then(|plain| run_frames(&plain).last().map(|(seq, _)| *seq));
        Ok(last.unwrap_or(first).max(first))
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
    pub(crate) fn delete_session(&self, key: &SessionKey) -> Result<(), StoreError> {
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
    pub(crate) fn sessions(
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
    pub(crate) fn drop_unreadable_sessions(&self) -> Result<usize, StoreError> {
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

/// The first byte of a log entry: one frame sealed with a handoff's key or with the
/// session's, or a run of frames sealed with the session's (0, plain JSON, is only
/// read, from before sealing).
const FRAME_SEALED: u8 = 1;
const FRAME_SESSION: u8 = 2;
const FRAME_RUN: u8 = 3;

/// The frames one change of a session logs, in order, not yet written: consecutive
/// frames sealed with the session's key make one entry (their plain text is
/// `seq (u64 BE) ++ length (u32 BE) ++ frame`, repeated), an intervenor's frame
/// one entry of its own.
#[derive(Debug, Default)]
pub(crate) struct FrameLog {
    entries: Vec<LogEntry>,
}

#[derive(Debug)]
enum LogEntry {
    Run {
        first: u64,
        plain: Vec<u8>,
    },
    Sealed {
        seq: u64,
        handoff: u64,
        frame: String,
    },
}

impl FrameLog {
    /// Adds a frame; `sealed_by`: the handoff whose key seals it.
    pub(crate) fn push(&mut self, seq: u64, frame: &str, sealed_by: Option<u64>) {
        if let Some(handoff) = sealed_by {
            self.entries.push(LogEntry::Sealed {
                seq,
                handoff,
                frame: frame.to_string(),
            });
            return;
        }
        if !matches!(self.entries.last(), Some(LogEntry::Run { .. })) {
            self.entries.push(LogEntry::Run {
                first: seq,
                plain: Vec::with_capacity(frame.len() + 12),
            });
        }
        if let Some(LogEntry::Run { plain, .. }) = self.entries.last_mut() {
            plain.extend_from_slice(&seq.to_be_bytes());
            plain.extend_from_slice(&(frame.len() as u32).to_be_bytes());
            plain.extend_from_slice(frame.as_bytes());
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The frames of a run, as written by [`FrameLog::push`] (a truncated tail is
/// dropped).
fn run_frames(mut plain: &[u8]) -> Vec<(u64, String)> {
    let mut frames = Vec::new();
    while plain.len() >= 12 {
        let seq = u64::from_be_bytes(plain[..8].try_into().unwrap_or_default());
        let len = u32::from_be_bytes(plain[8..12].try_into().unwrap_or_default()) as usize;
        let Some(frame) = plain.get(12..12 + len) else {
            break;
        };
        frames.push((seq, String::from_utf8_lossy(frame).into_owned()));
        plain = &plain[12 + len..];
    }
    frames
}

fn frame_key(key: &SessionKey, seq: u64) -> [u8; 40] {
    let mut out = [0u8; 40];
    out[..32].copy_from_slice(key);
    out[32..].copy_from_slice(&seq.to_be_bytes());
    out
}
