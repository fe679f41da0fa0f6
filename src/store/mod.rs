//! The embedded store (sled), typed: every tree, every key layout and every value
//! encoding is defined here and nowhere else.
//!
//! Trees:
//! - `sessions`: hash of a youth's token → [`SessionRecord`];
//! - `frames`: hash of a token ++ seq (big-endian) → the frame as sent (JSON);
//! - `flow_versions`: version → [`FlowVersionRecord`] (every flow set ever loaded);
//! - `accounts`, `tokens`, `handoffs`, `transcripts`: intervenor accounts, console
//!   logins (by token hash), open requests for a human and their live transcripts;
//! - `reports`: anonymous reports (status, kind, times; their content sealed);
//! - `meta`: settings made once (the salt of receipt hashes);
//! - `stats`: `day \\0 metric \\0 label` → count (aggregates only).
//!
//! No value here holds an IP address, a user agent, a token in clear, or a youth's
//! free text outside a live handoff.

pub mod keys;
pub mod records;

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use records::{FlowVersionRecord, SessionHandoff, SessionRecord};

/// A session's key in the store: the SHA-256 of its token. The token itself is
/// never stored.
pub type SessionKey = [u8; 32];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store: a record could not be decoded: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("store: keys folder: {0}")]
    Keys(#[from] std::io::Error),
    #[error("store: flush failed: {0}")]
    Flush(String),
}

/// Handles on the open store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    sessions: sled::Tree,
    frames: sled::Tree,
    flow_versions: sled::Tree,
    pub(crate) accounts: sled::Tree,
    pub(crate) tokens: sled::Tree,
    pub(crate) handoffs: sled::Tree,
    pub(crate) transcripts: sled::Tree,
    stats: sled::Tree,
    pub(crate) reports: sled::Tree,
    meta: sled::Tree,
    /// Per-conversation keys, outside sled (see `keys`).
    pub keys: Arc<keys::Keys>,
    /// The flusher task's queue, started at the first flush.
    flusher: Arc<std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<FlushRequest>>>,
    /// Every flow version loaded, one JSON file each (`DATA/flow-versions/`), so
    /// authors' tools read the history without opening sled.
    versions_dir: std::path::PathBuf,
}

impl Store {
    /// Opens (or creates) the store in a folder: sled in `db/`, keys in `keys/`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(path.join("db"))
            .cache_capacity(64 * 1024 * 1024)
            .flush_every_ms(Some(500))
            .open()?;
        Ok(Self {
            sessions: db.open_tree("sessions")?,
            frames: db.open_tree("frames")?,
            flow_versions: db.open_tree("flow_versions")?,
            accounts: db.open_tree("accounts")?,
            tokens: db.open_tree("tokens")?,
            handoffs: db.open_tree("handoffs")?,
            transcripts: db.open_tree("transcripts")?,
            stats: db.open_tree("stats")?,
            reports: db.open_tree("reports")?,
            meta: db.open_tree("meta")?,
            keys: Arc::new(keys::Keys::open(&path.join("keys"))?),
            flusher: Arc::new(std::sync::OnceLock::new()),
            versions_dir: {
                let dir = path.join(VERSIONS_DIR);
                std::fs::create_dir_all(&dir)?;
                dir
            },
            db,
        })
    }

    /// Writes everything to disk; awaited before acknowledging what must survive a
    /// crash. Flushes are coalesced by one flusher task, so that at most one runs at a
    /// time: sled 0.34's `flush_async` deadlocks when seven run at once (its IO pool
    /// waits on itself; see BENCHMARKS.md). A caller waits for a flush that started
    /// after its own writes.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let flusher = self.flusher.get_or_init(spawn_flusher);
        if flusher.send((self.db.clone(), done)).is_err() {
            // The flusher's runtime is gone (a tool, a test): flush here.
            return self.flush_off_runtime().await;
        }
        match result.await {
            Ok(outcome) => outcome.map_err(StoreError::Flush),
            Err(_) => self.flush_off_runtime().await,
        }
    }

    async fn flush_off_runtime(&self) -> Result<(), StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush().map(|_| ()))
            .await
            .map_err(|e| StoreError::Flush(e.to_string()))??;
        Ok(())
    }

    /// Writes everything to disk, blocking; for shutdown and tools.
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// A new unique id (for handoff requests).
    pub fn generate_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()? + 1)
    }

    /// A tree of another part's own (audit trail, staff enrolments, blocks): opened
    /// by name, so those parts keep their layout in their own modules.
    pub fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(name)?)
    }

    /// The sled database itself, for backups (export while running, import).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    pub fn is_open(&self) -> bool {
        self.db.was_recovered() || self.db.size_on_disk().is_ok()
    }

    // ---- sessions ----

    pub fn session(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        get_json(&self.sessions, key)
    }

    pub fn put_session(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        put_json(&self.sessions, key, record)
    }

    /// Appends a frame to a session's log and drops the frame `keep` places behind.
    /// With `sealed_by`, the frame is encrypted with that handoff's key: once the
    /// conversation is closed and its key destroyed, it reads as erased.
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
                    let mut value = vec![FRAME_PLAIN];
                    value.extend(frame.as_bytes());
                    value
                }
            };
        self.frames.insert(frame_key(key, seq), value)?;
        if seq > keep {
            self.frames.remove(frame_key(key, seq - keep))?;
        }
        Ok(())
    }

    /// The frames of a session after `last_seq`, in order.
    pub fn frames_after(
        &self,
        key: &SessionKey,
        last_seq: u64,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let start = frame_key(key, last_seq.saturating_add(1));
        let end = frame_key(key, u64::MAX);
        let mut frames = Vec::new();
        for entry in self.frames.range(start..=end) {
            let (k, v) = entry?;
            let seq = u64::from_be_bytes(k[32..40].try_into().unwrap_or_default());
            frames.push((seq, self.open_frame(seq, &v)));
        }
        Ok(frames)
    }

    fn open_frame(&self, seq: u64, value: &[u8]) -> String {
        match value.split_first() {
            Some((&FRAME_SEALED, rest)) if rest.len() > 8 => {
                let id = u64::from_be_bytes(rest[..8].try_into().unwrap_or_default());
                self.keys
                    .get(&keys::handoff_key(id))
                    .and_then(|secret| secret.open(&rest[8..]))
                    .map(|plain| String::from_utf8_lossy(&plain).into_owned())
                    .unwrap_or_else(|| crate::protocol::Event::erased_agent_message().to_frame(seq))
            }
            Some((_, rest)) => String::from_utf8_lossy(rest).into_owned(),
            None => String::new(),
        }
    }

    /// Erases a session: its record and every frame of its log.
    pub fn delete_session(&self, key: &SessionKey) -> Result<(), StoreError> {
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
            let key: SessionKey = k.as_ref().try_into().unwrap_or([0; 32]);
            Ok((key, serde_json::from_slice(&v)?))
        })
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

    // ---- server settings made once ----

    pub fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(name)?.map(|v| v.to_vec()))
    }

    pub fn set_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta.insert(name, value)?;
        Ok(())
    }

    // ---- statistics ----

    /// Adds to a daily counter. Keys are `day \0 metric \0 label`; values a u64.
    pub fn add_count(
        &self,
        day: &str,
        metric: &str,
        label: &str,
        count: u64,
    ) -> Result<(), StoreError> {
        let key = format!("{day}\0{metric}\0{label}");
        self.stats.update_and_fetch(key.as_bytes(), |old| {
            let before = old
                .and_then(|bytes| bytes.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            Some((before + count).to_be_bytes().to_vec())
        })?;
        Ok(())
    }

    /// Every counter between two days (inclusive, `YYYY-MM-DD`).
    pub fn counts(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String, String, u64)>, StoreError> {
        let mut out = Vec::new();
        let end = format!("{to}\u{1}");
        for entry in self.stats.range(from.as_bytes()..end.as_bytes()) {
            let (key, value) = entry?;
            let key = String::from_utf8_lossy(&key).into_owned();
            let mut parts = key.splitn(3, '\0');
            let (Some(day), Some(metric), Some(label)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let count = value
                .as_ref()
                .try_into()
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            out.push((
                day.to_string(),
                metric.to_string(),
                label.to_string(),
                count,
            ));
        }
        Ok(out)
    }

    // ---- flow versions ----

    pub fn flow_version(&self, version: &str) -> Result<Option<FlowVersionRecord>, StoreError> {
        get_json(&self.flow_versions, version.as_bytes())
    }

    pub fn put_flow_version(&self, record: &FlowVersionRecord) -> Result<(), StoreError> {
        if self.flow_versions.contains_key(record.version.as_bytes())? {
            return Ok(());
        }
        let file = self.versions_dir.join(format!("{}.json", record.version));
        std::fs::write(file, serde_json::to_vec_pretty(record)?)?;
        put_json(&self.flow_versions, record.version.as_bytes(), record)
    }

    pub fn flow_versions(&self) -> Result<Vec<FlowVersionRecord>, StoreError> {
        let mut versions = Vec::new();
        for entry in self.flow_versions.iter() {
            let (_, v) = entry?;
            versions.push(serde_json::from_slice::<FlowVersionRecord>(&v)?);
        }
        versions.sort_by_key(|v| v.loaded_at);
        Ok(versions)
    }
}

type FlushRequest = (sled::Db, tokio::sync::oneshot::Sender<Result<(), String>>);

/// The one task that flushes: it takes every request waiting, runs one blocking
/// flush for all of them off the runtime, and answers them all. It holds the
/// database only while flushing, so a closed store is really closed.
fn spawn_flusher() -> tokio::sync::mpsc::UnboundedSender<FlushRequest> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<FlushRequest>();
    tokio::spawn(async move {
        while let Some((db, first)) = rx.recv().await {
            let mut waiting = vec![first];
            while let Ok((_, more)) = rx.try_recv() {
                waiting.push(more);
            }
            let outcome = tokio::task::spawn_blocking(move || {
                db.flush().map(|_| ()).map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
            for done in waiting {
                let _ = done.send(outcome.clone());
            }
        }
    });
    tx
}

/// The folder of archived flow versions, in the data folder.
pub const VERSIONS_DIR: &str = "flow-versions";

/// The archived flow versions of a data folder, oldest first, read without sled
/// (the running server keeps sled locked).
pub fn archived_flow_versions(data_dir: &Path) -> Result<Vec<FlowVersionRecord>, StoreError> {
    let dir = data_dir.join(VERSIONS_DIR);
    let mut versions = Vec::new();
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                versions.push(serde_json::from_slice::<FlowVersionRecord>(
                    &std::fs::read(path)?,
                )?);
            }
        }
    }
    versions.sort_by(|a, b| {
        a.loaded_at
            .cmp(&b.loaded_at)
            .then(a.version.cmp(&b.version))
    });
    Ok(versions)
}

/// The first byte of a logged frame: plain JSON, or sealed with a handoff's key.
const FRAME_PLAIN: u8 = 0;
const FRAME_SEALED: u8 = 1;

fn frame_key(key: &SessionKey, seq: u64) -> [u8; 40] {
    let mut out = [0u8; 40];
    out[..32].copy_from_slice(key);
    out[32..].copy_from_slice(&seq.to_be_bytes());
    out
}

pub(crate) fn get_json<T: DeserializeOwned>(
    tree: &sled::Tree,
    key: impl AsRef<[u8]>,
) -> Result<Option<T>, StoreError> {
    match tree.get(key)? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

pub(crate) fn put_json<T: Serialize>(
    tree: &sled::Tree,
    key: impl AsRef<[u8]>,
    value: &T,
) -> Result<(), StoreError> {
    tree.insert(key.as_ref(), serde_json::to_vec(value)?)?;
    Ok(())
}
