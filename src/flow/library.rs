//! The flow versions the server knows: the current one, every one a conversation
//! still runs on, and the live reload when a script changes on disk. A broken edit is
//! refused with its diagnostics logged, and the last good version keeps serving.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

use super::diagnostic::Diagnostic;
use super::load::{self, LoadReport};
use super::model::FlowSet;
use crate::store::{FlowVersionRecord, Store, StoreError};

/// The result of the last reload, for whoever waits on it (tests, `/readyz`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadOutcome {
    /// Counts every reload attempt.
    pub generation: u64,
    /// The version serving now.
    pub serving: String,
    /// How many errors the refused edit had; `None` when the edit was taken.
    pub refused_errors: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("the flows have {} error(s)", .0.iter().filter(|d| d.is_error()).count())]
    Invalid(Vec<Diagnostic>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the flows folder: {0}")]
    Io(#[from] std::io::Error),
}

/// What happened to the last edit of the folder, for the authors' page: taken, or
/// refused with its diagnostics (in French, the checker's language).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EditNote {
    pub at_secs: u64,
    pub accepted: bool,
    /// The version serving after this edit.
    pub serving: String,
    /// The edit brought back the version already served (a fix of a refused edit).
    pub back_to_served: bool,
    /// The errors of a refused edit, `file:line:col: erreur: …`.
    pub errors: Vec<String>,
}

pub struct FlowLibrary {
    /// The last reload's outcome for the authors' page; `None` before any edit.
    last_edit: Mutex<Option<EditNote>>,
    dir: PathBuf,
    start: String,
    store: Store,
    /// The version new conversations start on. Written by `reload`, read by every new session.
    current: RwLock<Arc<FlowSet>>,
    /// Every version loaded since start, by version. Written by `reload` and `version`.
    versions: Mutex<HashMap<String, Arc<FlowSet>>>,
    /// Told after each reload attempt.
    reloads: watch::Sender<ReloadOutcome>,
}

impl FlowLibrary {
    /// Loads the flows folder; fails when it has errors (the server cannot start on a
    /// broken set: there is no last good version yet).
    pub(crate) fn load(
        dir: &Path,
        start: &str,
        store: Store,
        now_secs: u64,
    ) -> Result<Self, LibraryError> {
        let report = read_and_build(dir, start);
        let Some(flows) = report.flows else {
            return Err(LibraryError::Invalid(report.diagnostics));
        };
        for warning in &report.diagnostics {
            tracing::debug!(target: "relais::flows", "{}", warning.render("en"));
        }
        let flows = Arc::new(flows);
        remember(&store, &flows, now_secs)?;
        let (reloads, _) = watch::channel(ReloadOutcome {
            generation: 0,
            serving: flows.version.clone(),
            refused_errors: None,
        });
        Ok(Self {
            last_edit: Mutex::new(None),
            dir: dir.to_path_buf(),
            start: start.to_string(),
            store,
            versions: Mutex::new(HashMap::from([(flows.version.clone(), flows.clone())])),
            current: RwLock::new(flows),
            reloads,
        })
    }

    pub fn current(&self) -> Arc<FlowSet> {
        self.current.read().expect("flow lock poisoned").clone()
    }

    /// A version by its hash: from memory, else rebuilt from the sources in the store.
    pub(crate) fn version(&self, version: &str) -> Option<Arc<FlowSet>> {
        self.find_version(version).ok().flatten()
    }

    /// [`Self::version`], telling a store that could not answer (`Err`) from a
    /// version it does not hold (`Ok(None)`): a conversation must not move to
    /// another version because a read failed.
    pub(crate) fn find_version(&self, version: &str) -> Result<Option<Arc<FlowSet>>, StoreError> {
        if let Some(found) = self
            .versions
            .lock()
            .expect("flow lock poisoned")
            .get(version)
        {
            return Ok(Some(found.clone()));
        }
        let Some(record) = self.store.flow_version(version)? else {
            return Ok(None);
        };
        let Some(flows) = load::build(record.sources, &self.start).flows else {
            return Ok(None);
        };
        let flows = Arc::new(flows);
        self.versions
            .lock()
            .expect("flow lock poisoned")
            .insert(version.to_string(), flows.clone());
        Ok(Some(flows))
    }

    /// Reads the folder again; takes the new version only when it has no error.
    /// Blocking IO: call it from `spawn_blocking` in the server.
    pub(crate) fn reload(&self, now_secs: u64) -> ReloadOutcome {
        let report = read_and_build(&self.dir, &self.start);
        self.take(report, now_secs)
    }

    fn take(&self, report: LoadReport, now_secs: u64) -> ReloadOutcome {
        let generation = self.reloads.borrow().generation + 1;
        let outcome = match report.flows {
            Some(flows) => {
                let flows = Arc::new(flows);
                if let Err(error) = remember(&self.store, &flows, now_secs) {
                    tracing::error!(target: "relais::flows", %error, "could not record the flow version");
                }
                let changed = flows.version != self.current().version;
                self.versions
                    .lock()
                    .expect("flow lock poisoned")
                    .insert(flows.version.clone(), flows.clone());
                let after_refusal = self.last_edit().is_some_and(|note| !note.accepted);
                if changed {
                    tracing::info!(target: "relais::flows", version = %flows.version, "modification acceptée : flux rechargés");
                } else if after_refusal {
                    tracing::info!(target: "relais::flows", version = %flows.version, "modification acceptée : retour à la version servie");
                }
                if changed || after_refusal {
                    self.note_edit(EditNote {
                        at_secs: now_secs,
                        accepted: true,
                        serving: flows.version.clone(),
                        back_to_served: !changed,
                        errors: Vec::new(),
                    });
                }
                *self.current.write().expect("flow lock poisoned") = flows.clone();
                ReloadOutcome {
                    generation,
                    serving: flows.version.clone(),
                    refused_errors: None,
                }
            }
            None => {
                let errors: Vec<_> = report.errors().collect();
                tracing::warn!(
                    target: "relais::flows",
                    errors = errors.len(),
                    "modification refusée : la dernière bonne version reste servie"
                );
                for diagnostic in &errors {
                    tracing::warn!(target: "relais::flows", "{}", diagnostic.render("fr"));
                }
                self.note_edit(EditNote {
                    at_secs: now_secs,
                    accepted: false,
                    serving: self.current().version.clone(),
                    back_to_served: false,
                    errors: errors.iter().map(|d| d.render("fr")).collect(),
                });
                ReloadOutcome {
                    generation,
                    serving: self.current().version.clone(),
                    refused_errors: Some(errors.len()),
                }
            }
        };
        self.reloads.send_replace(outcome.clone());
        outcome
    }

    /// What happened to the last edit (accepted or refused), if any since start.
    pub(crate) fn last_edit(&self) -> Option<EditNote> {
        self.last_edit
            .lock()
            .expect("edit note lock poisoned")
            .clone()
    }

    fn note_edit(&self, note: EditNote) {
        *self.last_edit.lock().expect("edit note lock poisoned") = Some(note);
    }

    pub fn subscribe(&self) -> watch::Receiver<ReloadOutcome> {
        self.reloads.subscribe()
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Writes a version's sources back into the flows folder (the running server's
/// watcher then reloads it). Refused, with the diagnostics, if the version does not
/// pass the checks. Files the version does not have are removed.
pub(crate) fn rollback(
    flows_dir: &Path,
    start: &str,
    record: &FlowVersionRecord,
) -> Result<(), LibraryError> {
    let report = load::build(record.sources.clone(), start);
    if report.flows.is_none() {
        return Err(LibraryError::Invalid(report.diagnostics));
    }
    if let Ok(current) = load::read_folder(flows_dir) {
        for name in current.keys() {
            if !record.sources.contains_key(name) {
                std::fs::remove_file(flows_dir.join(name))?;
            }
        }
    }
    for (name, content) in &record.sources {
        let path = flows_dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Write aside, then rename: the watcher never sees a half-written file.
        let temporary = path.with_extension("rollback-tmp");
        std::fs::write(&temporary, content)?;
        std::fs::rename(&temporary, &path)?;
    }
    Ok(())
}

fn read_and_build(dir: &Path, start: &str) -> LoadReport {
    match load::read_folder(dir) {
        Ok(sources) => load::build(sources, start),
        Err(diagnostic) => LoadReport {
            flows: None,
            diagnostics: vec![diagnostic],
        },
    }
}

fn remember(store: &Store, flows: &FlowSet, now_secs: u64) -> Result<(), StoreError> {
    store.put_flow_version(&FlowVersionRecord {
        version: flows.version.clone(),
        loaded_at: now_secs,
        sources: flows.sources.clone(),
    })
}

/// Watches the flows folder and reloads after each burst of changes. Keep the
/// watcher alive; abort the task to stop.
pub(crate) fn watch_folder(
    library: Arc<FlowLibrary>,
    clock: crate::clock::Clock,
) -> notify::Result<(notify::RecommendedWatcher, tokio::task::JoinHandle<()>)> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(library.dir(), RecursiveMode::Recursive)?;
    let task = tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Let an editor finish writing: wait for a quiet moment.
            while let Ok(Some(())) =
                tokio::time::timeout(Duration::from_millis(150), rx.recv()).await
            {}
            let library = library.clone();
            let now = clock.now_secs();
            let _ = tokio::task::spawn_blocking(move || library.reload(now)).await;
        }
    });
    Ok((watcher, task))
}
