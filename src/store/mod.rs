//! The embedded store (sled), typed. Every tree is a private field of [`Store`] and
//! has its own file here, which owns its key layout and its value encoding; the
//! rest of the crate calls typed methods and never sees a `sled::Tree` (a test,
//! `tests/it/walls.rs`, keeps it so). The store builds no wire frame and knows no
//! conversation logic. (Exception until engineer Q's `store/handoffs.rs` lands:
//! `handoffs` and `transcripts` are still laid out by `handoff/mod.rs`.)
//!
//! Trees ([`TREES`]; PRIVACY.md lists each, a test keeps the two in step):
//! - `sessions`, `frames` (`sessions.rs`): hash of a youth's token → [`SessionRecord`],
//!   sealed with the session's key; hash ++ seq (big-endian) → the frame as sent,
//!   sealed with the session's key (an intervenor's with the conversation's);
//! - `flow_versions` (`flow_versions.rs`): version → when it was loaded (its sources
//!   are the files of `DATA/flow-versions/`);
//! - `accounts`, `tokens` (`accounts.rs`): intervenor accounts, console logins (by
//!   token hash);
//! - `handoffs`, `transcripts`: requests for a person and their transcripts, sealed
//!   with the conversation's key;
//! - `reports`, `report_lookups` (`reports.rs`): anonymous reports, sealed with the
//!   report's key; a receipt's argon2id hash → the report's id;
//! - `meta`: settings made once (the salt of receipt hashes);
//! - `push_subscriptions` (`push.rs`): SHA-256 of a push endpoint → an intervenor's
//!   device subscription (no youth data);
//! - `stats` (`stats.rs`): `day \0 metric \0 label` → count for days that have
//!   ended; today's counts sit under [`OPEN_STATS`], sealed with a key renewed at
//!   every write;
//! - `audit` (`audit.rs`), `enrolments` (`enrolments.rs`), `blocks` (`blocks.rs`):
//!   the staff audit trail, one-time enrolment codes, blocks after abuse.
//!
//! Everything that can tell what a youth did is sealed with a key in `DATA/keys/`
//! that `forget`, expiry and retention destroy. No value holds an IP address, a
//! user agent, a token in clear, or a youth's free text outside a live handoff.

mod accounts;
mod audit;
mod backup;
mod blocks;
mod enrolments;
mod flow_versions;
pub(crate) mod handoffs;
pub(crate) mod keys;
mod push;
pub mod records;
mod reports;
pub(crate) mod sealed;
mod sessions;
mod stats;

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use backup::RawEntry;
pub use flow_versions::{archived_flow_versions, VERSIONS_DIR};
pub(crate) use records::{FlowVersionRecord, SessionHandoff, SessionRecord};
pub(crate) use reports::report_key;
pub(crate) use sealed::{JsonTree, SealedTree};
pub(crate) use sessions::{FrameLog, StoredFrame};

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

/// A session's key in the store: the SHA-256 of its token. The token itself is
/// never stored.
pub(crate) type SessionKey = [u8; 32];

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
    #[error("store: a key of the `{0}` tree is malformed")]
    MalformedKey(&'static str),
}

/// Handles on the open store; cheap to clone. Every tree is private: each has its
/// own file in `store/`, which owns its key layout and its value encoding.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    sessions: SealedTree,
    frames: sled::Tree,
    flow_versions: sled::Tree,
    accounts: sled::Tree,
    tokens: sled::Tree,
    handoffs: SealedTree,
    transcripts: sled::Tree,
    stats: sled::Tree,
    reports: SealedTree,
    report_lookups: sled::Tree,
    meta: sled::Tree,
    push_subscriptions: sled::Tree,
    audit: sled::Tree,
    enrolments: sled::Tree,
    blocks: sled::Tree,
    /// Today's counts as last written, and the name of the key that sealed them.
    open_stats: Arc<std::sync::Mutex<stats::OpenStats>>,
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
        let open_stats = stats::OpenStats::read(&stats, &keys);
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
            audit: db.open_tree("audit")?,
            enrolments: db.open_tree("enrolments")?,
            blocks: db.open_tree("blocks")?,
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
    pub(crate) fn flush_blocking(&self) -> Result<(), StoreError> {
        self.keys.sync_pending()?;
        self.db.flush()?;
        Ok(())
    }

    /// A new unique id (for handoff requests).
    pub(crate) fn generate_id(&self) -> Result<u64, StoreError> {
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

    pub(crate) fn is_open(&self) -> bool {
        self.db.was_recovered() || self.db.size_on_disk().is_ok()
    }

    // ---- server settings made once (`meta`) ----

    pub(crate) fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(name)?.map(|v| v.to_vec()))
    }

    pub(crate) fn set_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta.insert(name, value)?;
        Ok(())
    }
}

type FlushRequest = (
    sled::Db,
    Arc<keys::Keys>,
    tokio::sync::oneshot::Sender<Result<(), String>>,
);

/// The one task that flushes: it takes every request waiting, runs one blocking
/// flush for all of them off the runtime, and answers them all. It holds the
/// database only while flushing, so a closed store is really closed.
/// Opens sled, waiting up to a second for the lock a store dropped a moment ago in this
/// process still holds: sled's IO threads release it shortly after the drop (a restore,
/// or a test reopening its store). A lock held by another process stays an error.
fn open_sled(path: &Path) -> Result<sled::Db, StoreError> {
    let config = sled::Config::new()
        .path(path)
        .cache_capacity(16 * 1024 * 1024)
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
