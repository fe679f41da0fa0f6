//! The embedded store (sled), typed: every tree, every key layout and every value
//! encoding is defined here and nowhere else.
//!
//! Trees ([`TREES`]; PRIVACY.md lists each, a test keeps the two in step):
//! - `sessions`: hash of a youth's token → [`SessionRecord`], sealed with the
//!   session's key;
//! - `frames`: hash of a token ++ seq (big-endian) → the frame as sent, sealed with
//!   the session's key (an intervenor's with the conversation's);
//! - `flow_versions`: version → when it was loaded (its sources are the files of
//!   `DATA/flow-versions/`);
//! - `accounts`, `tokens`: intervenor accounts, console logins (by token hash);
//! - `handoffs`, `transcripts`: requests for a person and their transcripts, sealed
//!   with the conversation's key;
//! - `reports`: anonymous reports, sealed with the report's key;
//!   `report_lookups`: a receipt's argon2id hash → the report's id;
//! - `meta`: settings made once (the salt of receipt hashes);
//! - `push_subscriptions`: SHA-256 of a push endpoint → an intervenor's device
//!   subscription (see `handoff::push`; no youth data).
//! - `stats`: `day \\0 metric \\0 label` → count for days that have ended; today's
//!   counts sit under [`OPEN_STATS`], sealed with a key renewed at every write.
//!
//! Everything that can tell what a youth did is sealed with a key in `DATA/keys/`
//! that `forget`, expiry and retention destroy. No value holds an IP address, a
//! user agent, a token in clear, or a youth's free text outside a live handoff.

pub mod handoffs;
pub mod keys;
pub mod records;
pub mod sealed;

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use records::{FlowVersionRecord, SessionHandoff, SessionRecord};
pub use sealed::{JsonTree, SealedTree};

/// Every sled tree the store opens (PRIVACY.md lists each one).
pub const TREES: &[&str] = &[
    "sessions",
    "frames",
    "flow_versions",
    "accounts",
    "tokens",
    "handoffs",
    "transcripts",
    "stats",
    "reports",
    "report_lookups",
    "meta",
    "push_subscriptions",
    "audit",
    "enrolments",
    "blocks",
];

/// The key, in the `stats` tree, of today's counts (sealed). It sorts after every
/// day, so ranges of days never meet it.
pub const OPEN_STATS: &[u8] = b"~open";

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
    #[error("store: a session has used every frame number")]
    SeqExhausted,
}

/// Handles on the open store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    sessions: SealedTree,
    frames: sled::Tree,
    flow_versions: sled::Tree,
    pub(crate) accounts: sled::Tree,
    pub(crate) tokens: sled::Tree,
    handoffs: SealedTree,
    transcripts: sled::Tree,
    stats: sled::Tree,
    pub(crate) reports: SealedTree,
    pub(crate) report_lookups: sled::Tree,
    meta: sled::Tree,
    pub(crate) push_subscriptions: sled::Tree,
    /// Today's counts as last written, and the name of the key that sealed them.
    open_stats: Arc<std::sync::Mutex<OpenStats>>,
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
        let db = open_sled(&path.join("db"))?;
        let keys = Arc::new(keys::Keys::open(&path.join("keys"))?);
        let stats = db.open_tree("stats")?;
        let open_stats = OpenStats::read(&stats, &keys);
        Self {
            sessions: SealedTree::new(
                db.open_tree("sessions")?,
                keys.clone(),
                sealed::session_name,
                true,
            ),
            frames: db.open_tree("frames")?,
            flow_versions: db.open_tree("flow_versions")?,
            accounts: db.open_tree("accounts")?,
            tokens: db.open_tree("tokens")?,
            handoffs: SealedTree::new(
                db.open_tree("handoffs")?,
                keys.clone(),
                sealed::handoff_name,
                false,
            ),
            transcripts: db.open_tree("transcripts")?,
            stats,
            reports: SealedTree::new(
                db.open_tree("reports")?,
                keys.clone(),
                sealed::report_name,
                false,
            ),
            report_lookups: db.open_tree("report_lookups")?,
            meta: db.open_tree("meta")?,
            push_subscriptions: db.open_tree("push_subscriptions")?,
            open_stats: Arc::new(std::sync::Mutex::new(open_stats)),
            keys,
            flusher: Arc::new(std::sync::OnceLock::new()),
            versions_dir: {
                let dir = path.join(VERSIONS_DIR);
                std::fs::create_dir_all(&dir)?;
                dir
            },
            db,
        }
        .reseal_legacy()
    }

    /// Seals what an older version wrote in clear (sessions, requests, reports).
    fn reseal_legacy(self) -> Result<Self, StoreError> {
        let resealed = self.sessions.reseal_legacy()?
            + self.handoffs.reseal_legacy()?
            + self.reports.reseal_legacy()?;
        if resealed > 0 {
            self.flush_blocking()?;
            tracing::info!(
                resealed,
                "records written in clear by an older version are sealed"
            );
        }
        Ok(self)
    }

    /// Writes everything to disk; awaited before acknowledging what must survive a
    /// crash. Flushes are coalesced by one flusher task, so that at most one runs at a
    /// time: sled 0.34's `flush_async` deadlocks when seven run at once (its IO pool
    /// waits on itself; see BENCHMARKS.md). A caller waits for a flush that started
    /// after its own writes.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let flusher = self.flusher.get_or_init(spawn_flusher);
        if flusher
            .send((self.db.clone(), self.keys.clone(), done))
            .is_err()
        {
            // The flusher's runtime is gone (a tool, a test): flush here.
            return self.flush_off_runtime().await;
        }
        match result.await {
            Ok(outcome) => outcome.map_err(StoreError::Flush),
            Err(_) => self.flush_off_runtime().await,
        }
    }

    async fn flush_off_runtime(&self) -> Result<(), StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.flush_blocking())
            .await
            .map_err(|e| StoreError::Flush(e.to_string()))??;
        Ok(())
    }

    /// Writes everything to disk, blocking; for shutdown and tools. The keys made
    /// since the last flush are synced first: a record is never durable without
    /// the key that opens it.
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.keys.sync_pending()?;
        self.db.flush()?;
        Ok(())
    }

    /// A new unique id (for handoff requests).
    pub fn generate_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()? + 1)
    }

    /// The names of the trees sled holds (its own default tree aside).
    pub fn tree_names(&self) -> Vec<String> {
        self.db
            .tree_names()
            .into_iter()
            .map(|name| String::from_utf8_lossy(&name).into_owned())
            .filter(|name| name != "__sled__default")
            .collect()
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
            if let Some(frame) = self.open_frame(key, seq, &v) {
                frames.push((seq, frame));
            }
        }
        Ok(frames)
    }

    fn open_frame(&self, session: &SessionKey, seq: u64, value: &[u8]) -> Option<String> {
        Some(match value.split_first() {
            Some((&FRAME_SESSION, rest)) => {
                let plain = self.keys.get(&keys::session_key(session))?.open(rest)?;
                String::from_utf8_lossy(&plain).into_owned()
            }
            Some((&FRAME_SEALED, rest)) if rest.len() > 8 => {
                let id = u64::from_be_bytes(rest[..8].try_into().unwrap_or_default());
                self.keys
                    .get(&keys::handoff_key(id))
                    .and_then(|secret| secret.open(&rest[8..]))
                    .map(|plain| String::from_utf8_lossy(&plain).into_owned())
                    .unwrap_or_else(|| crate::protocol::Event::erased_agent_message().to_frame(seq))
            }
            Some((_, rest)) => String::from_utf8_lossy(rest).into_owned(),
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
            let key: SessionKey = k.as_ref().try_into().unwrap_or([0; 32]);
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

    // ---- server settings made once ----

    pub fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(name)?.map(|v| v.to_vec()))
    }

    pub fn set_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta.insert(name, value)?;
        Ok(())
    }

    // ---- statistics ----

    /// Adds a batch of counts (blocking IO: off the runtime). Today's go into the
    /// sealed open counts, written under a new key each time while the previous
    /// key is destroyed, so the versions sled keeps cannot be differenced into
    /// what each batch held. Days that have ended are written in clear, once.
    pub fn add_counts(&self, batch: Vec<Count>, today: &str) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut open = self.open_stats.lock().expect("stats lock poisoned");
        for (day, metric, label, count) in batch {
            *open.counts.entry((day, metric, label)).or_insert(0) += count;
        }
        let ended: Vec<(String, String, String)> = open
            .counts
            .keys()
            .filter(|(day, _, _)| day.as_str() < today)
            .cloned()
            .collect();
        for counter in ended {
            if let Some(count) = open.counts.remove(&counter) {
                self.add_count(&counter.0, &counter.1, &counter.2, count)?;
            }
        }
        let previous = open.key.take();
        open.serial += 1;
        let name = format!("stats-{}", open.serial);
        let secret = self.keys.create(&name)?;
        let rows: Vec<(&String, &String, &String, u64)> = open
            .counts
            .iter()
            .map(|((d, m, l), c)| (d, m, l, *c))
            .collect();
        let mut value = vec![name.len() as u8];
        value.extend(name.as_bytes());
        value.extend(secret.seal(&serde_json::to_vec(&rows)?));
        self.stats.insert(OPEN_STATS, value)?;
        open.key = Some(name);
        self.flush_blocking()?;
        if let Some(previous) = previous {
            self.keys.destroy(&previous)?;
        }
        Ok(())
    }

    /// Adds to a daily counter. Keys are `day \0 metric \0 label`; values a u64.
    fn add_count(
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
        let open = self.open_stats.lock().expect("stats lock poisoned");
        for ((day, metric, label), count) in &open.counts {
            if day.as_str() >= from && day.as_str() <= to {
                out.push((day.clone(), metric.clone(), label.clone(), *count));
            }
        }
        Ok(out)
    }

    // ---- flow versions ----

    /// A flow version with its sources (read from its file in `flow-versions/`).
    pub fn flow_version(&self, version: &str) -> Result<Option<FlowVersionRecord>, StoreError> {
        let Some(mut record) =
            get_json::<FlowVersionRecord>(&self.flow_versions, version.as_bytes())?
        else {
            return Ok(None);
        };
        if record.sources.is_empty() {
            let file = self.versions_dir.join(format!("{version}.json"));
            if let Ok(bytes) = std::fs::read(file) {
                record = serde_json::from_slice(&bytes)?;
            }
        }
        Ok(Some(record))
    }

    /// Archives a flow version: its sources in a file of `flow-versions/`, only its
    /// time in sled (the scripts' words are not repeated in the database).
    pub fn put_flow_version(&self, record: &FlowVersionRecord) -> Result<(), StoreError> {
        if self.flow_versions.contains_key(record.version.as_bytes())? {
            return Ok(());
        }
        let file = self.versions_dir.join(format!("{}.json", record.version));
        std::fs::write(file, serde_json::to_vec_pretty(record)?)?;
        let bare = FlowVersionRecord {
            sources: Default::default(),
            ..record.clone()
        };
        put_json(&self.flow_versions, record.version.as_bytes(), &bare)
    }

    pub fn flow_versions(&self) -> Result<Vec<FlowVersionRecord>, StoreError> {
        let mut versions = Vec::new();
        for entry in self.flow_versions.iter() {
            let (_, v) = entry?;
            let record = serde_json::from_slice::<FlowVersionRecord>(&v)?;
            versions.push(match self.flow_version(&record.version)? {
                Some(full) => full,
                None => record,
            });
        }
        versions.sort_by_key(|v| v.loaded_at);
        Ok(versions)
    }
}

type FlushRequest = (
    sled::Db,
    Arc<keys::Keys>,
    tokio::sync::oneshot::Sender<Result<(), String>>,
);

/// A counter row: day, metric, label, count.
pub type Count = (String, String, String, u64);

/// Today's counts, as last written under [`OPEN_STATS`].
#[derive(Default)]
struct OpenStats {
    /// The key that sealed them (`stats-N`).
    key: Option<String>,
    serial: u64,
    counts: std::collections::BTreeMap<(String, String, String), u64>,
}

impl OpenStats {
    fn read(tree: &sled::Tree, keys: &keys::Keys) -> Self {
        let mut open = Self::default();
        let Ok(Some(value)) = tree.get(OPEN_STATS) else {
            return open;
        };
        let Some((&length, rest)) = value.split_first() else {
            return open;
        };
        let Some((name, sealed)) =
            (rest.len() >= length as usize).then(|| rest.split_at(length as usize))
        else {
            return open;
        };
        let name = String::from_utf8_lossy(name).into_owned();
        open.serial = name
            .strip_prefix("stats-")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let rows: Vec<Count> = keys
            .get(&name)
            .and_then(|key| key.open(sealed))
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .unwrap_or_default();
        for (day, metric, label, count) in rows {
            open.counts.insert((day, metric, label), count);
        }
        open.key = Some(name);
        open
    }
}

/// The one task that flushes: it takes every request waiting, runs one blocking
/// flush for all of them off the runtime, and answers them all. It holds the
/// database only while flushing, so a closed store is really closed.
/// Opens sled, waiting up to a second for the lock a store dropped a moment ago in this
/// process still holds: sled's IO threads release it shortly after the drop (a restore,
/// or a test reopening its store). A lock held by another process stays an error.
fn open_sled(path: &Path) -> Result<sled::Db, StoreError> {
    let config = sled::Config::new()
        .path(path)
        .cache_capacity(64 * 1024 * 1024)
        .flush_every_ms(Some(500));
    let mut tries = 0;
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock") && tries < 50 =>
            {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}

fn spawn_flusher() -> tokio::sync::mpsc::UnboundedSender<FlushRequest> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<FlushRequest>();
    tokio::spawn(async move {
        while let Some((db, keys, first)) = rx.recv().await {
            let mut waiting = vec![first];
            while let Ok((_, _, more)) = rx.try_recv() {
                waiting.push(more);
            }
            let outcome = tokio::task::spawn_blocking(move || {
                keys.sync_pending().map_err(|e| e.to_string())?;
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

pub(crate) fn get_json<T: DeserializeOwned>(
    tree: &impl JsonTree,
    key: impl AsRef<[u8]>,
) -> Result<Option<T>, StoreError> {
    match tree.get_value(key.as_ref())? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

pub(crate) fn put_json<T: Serialize>(
    tree: &impl JsonTree,
    key: impl AsRef<[u8]>,
    value: &T,
) -> Result<(), StoreError> {
    tree.put_value(key.as_ref(), &serde_json::to_vec(value)?)
}
