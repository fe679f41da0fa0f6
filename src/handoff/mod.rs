//! Handoff to on-call intervenors: the queue (urgent first, then oldest), atomic
//! claims, the live relay between a youth and an intervenor, release, close, the
//! on-call roster and the consoles connected now.
//!
//! Every request, claim and transcript entry is in the store; a request is flushed
//! to disk before the youth is told it is waiting. The queue's state sits behind one
//! short std mutex, never held across an `.await`: a claim checks and takes under it,
//! so among concurrent claims exactly one wins.

pub mod api;
pub mod console;
pub mod escalation;
pub mod presence;
pub mod push;
mod report_frames;
pub mod schedule;
pub mod staff;
pub mod supervision;
pub mod webhook;

pub use crate::auth::{accounts, totp};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::chat::session::Sessions;
use crate::clock::Clock;
use crate::config::HandoffConfig;
use crate::flow::engine::HandoffRequest;
use crate::flow::FlowLibrary;
use crate::messages::{say, Text};
use crate::protocol::{
    ClaimResponse, ConsoleServerFrame, Event, HandoffItem, HandoffStatus, Outcome, QueueStatus,
    ResourceWire, Speaker, TranscriptEntry,
};
use crate::stats::Stats;
use crate::store::keys::handoff_key;
use crate::store::records::{HandoffRecord, HandoffState};
use crate::store::{get_json, put_json, SessionHandoff, SessionKey, Store, StoreError};
use accounts::{Accounts, Intervenor};

#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    #[error("no such request")]
    NotFound,
    #[error("someone else holds this request")]
    Conflict,
    #[error("not allowed")]
    Forbidden,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a console's socket task sends.
#[derive(Debug)]
pub enum ConsoleOut {
    Frame(String),
    Close(u16),
}

struct Console {
    who: Intervenor,
    tx: mpsc::Sender<ConsoleOut>,
}

#[derive(Default)]
struct QueueState {
    /// Open requests (waiting or claimed), by id.
    requests: BTreeMap<u64, HandoffRecord>,
    /// The position each waiting youth was last told.
    told: HashMap<u64, usize>,
    /// The client key (salted hash of the address, memory only) of each open request.
    clients: HashMap<u64, String>,
}

pub struct Handoffs {
    store: Store,
    clock: Clock,
    config: HandoffConfig,
    max_queue: usize,
    sessions: Arc<Sessions>,
    flows: Arc<FlowLibrary>,
    accounts: Arc<Accounts>,
    stats: Arc<Stats>,
    /// The queue. Written by request, claim, release, close, youth_left, tick.
    state: Mutex<QueueState>,
    /// Logins that set themselves on call (kept in their accounts too).
    on_call: Mutex<HashSet<String>>,
    /// Consoles connected now, by connection number.
    consoles: Mutex<HashMap<u64, Console>>,
    next_console: AtomicU64,
    /// Woken at every change of the queue or the roster (the on-call follower).
    pub(crate) changed: tokio::sync::Notify,
    /// The on-call schedule (checked at start by `escalation::Oncall`).
    schedule: Option<schedule::Schedule>,
    /// Supervisors watching a conversation: handoff id → login → name (`supervision`).
    monitors: Mutex<HashMap<u64, BTreeMap<String, String>>>,
    /// Holders whose consoles are all gone (see `presence`).
    presence: presence::Presence,
}

/// What the handoff service is built from.
pub struct HandoffParts {
    pub store: Store,
    pub clock: Clock,
    pub config: HandoffConfig,
    /// Most requests waiting at once (`limits.max_queue`).
    pub max_queue: usize,
    pub sessions: Arc<Sessions>,
    pub flows: Arc<FlowLibrary>,
    pub accounts: Arc<Accounts>,
    pub stats: Arc<Stats>,
}

impl Handoffs {
    /// Loads the open requests and the on-call flags from the store.
    pub fn load(parts: HandoffParts) -> Result<Self, StoreError> {
        let HandoffParts {
            store,
            clock,
            config,
            max_queue,
            sessions,
            flows,
            accounts,
            stats,
        } = parts;
        let mut state = QueueState::default();
        for entry in store.handoffs.iter() {
            let (_, value) = entry?;
            let record: HandoffRecord = serde_json::from_slice(&value)?;
            if record.closed_ms.is_none() {
                state.requests.insert(record.id, record);
            }
        }
        let on_call = accounts
            .list()?
            .into_iter()
            .filter(|a| a.on_call)
            .map(|a| a.login)
            .collect();
        let schedule = schedule::Schedule::from_config(&config.schedule)
            .ok()
            .filter(|s| !s.is_empty());
        Ok(Self {
            schedule,
            changed: tokio::sync::Notify::new(),
            store,
            clock,
            config,
            max_queue,
            sessions,
            flows,
            accounts,
            stats,
            state: Mutex::new(state),
            on_call: Mutex::new(on_call),
            consoles: Mutex::new(HashMap::new()),
            next_console: AtomicU64::new(1),
            monitors: Mutex::new(HashMap::new()),
            presence: presence::Presence::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().expect("queue lock poisoned")
    }

    // ------------------------------------------------------------ the youth side

    /// A youth asks for a human. Stored and flushed before the youth hears back.
    pub async fn request(
        &self,
        key: &SessionKey,
        request: &HandoffRequest,
        lang: &str,
        flow_version: &str,
    ) -> Result<(), HandoffError> {
        self.request_from(key, None, request, lang, flow_version)
            .await
    }

    /// `request`, counting the open requests of the youth's client key: beyond
    /// `handoff.max_open_per_client` a normal request is refused (told so, with
    /// resources). An urgent request is never refused, by this cap or the queue's.
    pub async fn request_from(
        &self,
        key: &SessionKey,
        client: Option<&crate::limits::ClientKey>,
        request: &HandoffRequest,
        lang: &str,
        flow_version: &str,
    ) -> Result<(), HandoffError> {
        let existing = self
            .sessions
            .with(key, |ctx| ctx.record().handoff.clone())?
            .flatten();
        if let Some(link) = existing {
            let known = {
                let mut state = self.lock();
                match state.requests.get_mut(&link.id) {
                    Some(record) => {
                        if request.urgent && !record.urgent {
                            record.urgent = true;
                            // The urgent path's resources (911 first) replace the others.
                            record.resources =
                                request.resources.iter().map(|r| r.key.clone()).collect();
                            put_json(&self.store.handoffs, link.id.to_be_bytes(), &*record)?;
                        }
                        true
                    }
                    None => false,
                }
            };
            if known {
                self.tell_status_durably(link.id).await?;
                self.after_change();
                return Ok(());
            }
        }
        let keys: Vec<String> = request.resources.iter().map(|r| r.key.clone()).collect();
        let (waiting, from_client) = {
            let state = self.lock();
            let waiting = state
                .requests
                .values()
                .filter(|r| r.state == HandoffState::Waiting)
                .count();
            let from_client = client.map_or(0, |c| {
                state
                    .clients
                    .iter()
                    .filter(|(id, k)| **k == c.0 && state.requests.contains_key(id))
                    .count()
            });
            (waiting, from_client)
        };
        let refusal = if request.urgent {
            None
        } else if waiting >= self.max_queue {
            Some(("queue_full", Text::QueueFull))
        } else if client.is_some() && from_client >= self.config.max_open_per_client {
            Some(("client_cap", Text::TooManyFromHere))
        } else {
            None
        };
        if let Some((label, text)) = refusal {
            self.stats
                .handoff_event("handoffs_unavailable", request.urgent);
            self.stats.add("handoffs_refused", label, 1);
            let resources = request.resources.iter().map(ResourceWire::from).collect();
            self.sessions.with(key, |ctx| {
                ctx.push(&Event::Handoff {
                    status: HandoffStatus::Unavailable,
                    urgent: request.urgent,
                    position: None,
                    resources: Some(resources),
                    name: None,
                    message: Some(say(lang, text).to_string()),
                });
            })?;
            return Ok(());
        }
        let id = self.store.generate_id()?;
        let key_store = self.store.keys.clone();
        tokio::task::spawn_blocking(move || key_store.create(&handoff_key(id)))
            .await
            .map_err(|e| StoreError::Keys(std::io::Error::other(e)))?
            .map_err(StoreError::Keys)?;
        let remembered = self
            .sessions
            .with(key, |ctx| ctx.transcript())?
            .unwrap_or_default();
        for (index, line) in remembered.iter().enumerate() {
            self.put_entry(
                id,
                &TranscriptEntry {
                    seq: index as u64 + 1,
                    from: line.from,
                    text: line.text.to_string(),
                    at: line.at,
                },
            )?;
        }
        let record = HandoffRecord {
            id,
            session: hex(key),
            urgent: request.urgent,
            topic: request.topic.clone(),
            lang: lang.to_string(),
            flow_version: flow_version.to_string(),
            created_ms: self.clock.now_ms(),
            state: HandoffState::Waiting,
            resources: keys,
            timeout_told: false,
            last_entry: remembered.len() as u64,
            last_claim_ms: None,
            closed_ms: None,
            requeued: false,
        };
        put_json(&self.store.handoffs, id.to_be_bytes(), &record)?;
        {
            let mut state = self.lock();
            state.requests.insert(id, record);
            if let Some(client) = client {
                state.clients.insert(id, client.0.clone());
            }
        }
        self.sessions.with(key, |ctx| {
            ctx.record().handoff = Some(SessionHandoff {
                id,
                urgent: request.urgent,
                connected: false,
            });
        })?;
        if !self.available() {
            self.stats
                .handoff_event("handoffs_unavailable", request.urgent);
        }
        self.tell_status_durably(id).await?;
        self.after_change();
        Ok(())
    }

    /// The youth said they are not in danger now: their urgent request becomes a
    /// normal one (stored, then every console gets the queue). Nothing when there is
    /// no request or it is not urgent.
    pub async fn lower_urgency(&self, key: &SessionKey) -> Result<(), HandoffError> {
        let Some(link) = self.link_of(key)? else {
            return Ok(());
        };
        let lowered = {
            let mut state = self.lock();
            match state.requests.get_mut(&link.id) {
                Some(record) if record.urgent => {
                    record.urgent = false;
                    put_json(&self.store.handoffs, link.id.to_be_bytes(), &*record)?;
                    true
                }
                _ => false,
            }
        };
        if lowered {
            self.tell_status_durably(link.id).await?;
            self.after_change();
        }
        Ok(())
    }

    /// The youth writes while an intervenor holds the conversation.
    /// Written and flushed before the intervenor sees it.
    pub async fn youth_message(&self, key: &SessionKey, text: &str) -> Result<bool, HandoffError> {
        let Some(link) = self.link_of(key)? else {
            return Ok(false);
        };
        let (login, entry) = {
            let mut state = self.lock();
            let Some(record) = state.requests.get_mut(&link.id) else {
                return Ok(false);
            };
            let HandoffState::Claimed { login, .. } = &record.state else {
                return Ok(false);
            };
            let login = login.clone();
            (login, self.append(record, Speaker::Youth, text)?)
        };
        // The youth's own line joins their frame log, sealed like the intervenor's, so
        // a resumed page shows the whole conversation (erased with the key).
        let echoed = self.sessions.with(key, |ctx| {
            ctx.push_durable_sealed(
                &Event::Youth {
                    text: text.to_string(),
                    at: entry.at,
                },
                Some(link.id),
            )
        })?;
        self.store.flush().await?;
        if let Some(seq) = echoed {
            self.sessions.release(key, seq);
        }
        self.send_to_login(&login, &message_frame(link.id, &entry));
        self.to_monitors(link.id, &entry);
        Ok(true)
    }

    /// The youth writes while the request waits (nobody holds it yet): the words are
    /// added to the sealed transcript, so whoever claims it reads them, and every
    /// console sees them arrive. Returns whether a waiting request took them.
    pub async fn youth_waiting(&self, key: &SessionKey, text: &str) -> Result<bool, HandoffError> {
        let Some(link) = self.link_of(key)? else {
            return Ok(false);
        };
        let entry = {
            let mut state = self.lock();
            let Some(record) = state.requests.get_mut(&link.id) else {
                return Ok(false);
            };
            if record.state != HandoffState::Waiting {
                return Ok(false);
            }
            self.append(record, Speaker::Youth, text)?
        };
        self.broadcast(&message_frame(link.id, &entry));
        Ok(true)
    }

    /// The youth left (forget or expiry): the request goes, the holder is told, its
    /// key is destroyed.
    pub async fn youth_left(&self, key: &SessionKey) -> Result<(), HandoffError> {
        let Some(link) = self.link_of(key)? else {
            return Ok(());
        };
        let removed = {
            let mut state = self.lock();
            state.clients.remove(&link.id);
            state.requests.remove(&link.id)
        };
        if let Some(record) = removed {
            if let HandoffState::Claimed { login, .. } = &record.state {
                self.send_to_login(
                    login,
                    &ConsoleServerFrame::Closed {
                        handoff: record.id,
                        reason: "youth_left".into(),
                    },
                );
            }
            self.delete(record.id)?;
            self.end_monitoring(record.id);
            self.stats.add("outcomes", "youth_left", 1);
            self.destroy_key(record.id).await?;
            self.after_change();
        }
        Ok(())
    }

    async fn destroy_key(&self, id: u64) -> Result<(), StoreError> {
        let keys = self.store.keys.clone();
        tokio::task::spawn_blocking(move || keys.destroy(&handoff_key(id)))
            .await
            .map_err(|e| StoreError::Keys(std::io::Error::other(e)))?
            .map_err(StoreError::Keys)
    }

    /// Requests whose session is gone (expired while the server was down) are dropped.
    pub fn drop_orphans(&self) -> Result<(), HandoffError> {
        let ids: Vec<(u64, String)> = self
            .lock()
            .requests
            .values()
            .map(|r| (r.id, r.session.clone()))
            .collect();
        for (id, session) in ids {
            let alive = unhex(&session)
                .map(|key| self.sessions.store().session(&key))
                .transpose()?
                .flatten()
                .is_some();
            if !alive {
                if let Some(record) = self.lock().requests.remove(&id) {
                    if let HandoffState::Claimed { login, .. } = &record.state {
                        self.send_to_login(
                            login,
                            &ConsoleServerFrame::Closed {
                                handoff: id,
                                reason: "youth_left".into(),
                            },
                        );
                    }
                }
                self.delete(id)?;
                self.store
                    .keys
                    .destroy(&handoff_key(id))
                    .map_err(StoreError::Keys)?;
            }
        }
        self.after_change();
        Ok(())
    }

    /// Deletes closed conversations kept past their retention (blocking IO).
    pub fn purge_closed(&self) -> Result<(), HandoffError> {
        let keep_ms = self.config.transcript_retention_days.min(30) * 86_400_000;
        let now = self.clock.now_ms();
        let mut expired = Vec::new();
        for entry in self.store.handoffs.iter() {
            let (_, value) = entry.map_err(StoreError::from)?;
            let record: HandoffRecord = serde_json::from_slice(&value).map_err(StoreError::from)?;
            if record
                .closed_ms
                .is_some_and(|closed| closed + keep_ms <= now)
            {
                expired.push(record.id);
            }
        }
        for id in expired {
            self.delete(id)?;
            self.store
                .keys
                .destroy(&handoff_key(id))
                .map_err(StoreError::Keys)?;
        }
        Ok(())
    }

    fn link_of(&self, key: &SessionKey) -> Result<Option<SessionHandoff>, StoreError> {
        Ok(self
            .sessions
            .with(key, |ctx| ctx.record().handoff.clone())?
            .flatten())
    }

    // ------------------------------------------------------- the intervenor side

    /// The queue as a console shows it: urgent first, then oldest.
    pub fn list(&self) -> Vec<HandoffItem> {
        let mut items = self.list_records();
        for item in &mut items {
            if let Some(holder) = &item.claimed_by {
                item.holder_away = self.presence.is_away(holder);
            }
        }
        items
    }

    fn list_records(&self) -> Vec<HandoffItem> {
        let state = self.lock();
        let mut items: Vec<&HandoffRecord> = state.requests.values().collect();
        items.sort_by_key(|r| queue_order(r));
        let mut position = 0;
        items
            .into_iter()
            .map(|r| {
                let (status, claimed_by, claimed_by_name, position) = match &r.state {
                    HandoffState::Waiting => {
                        position += 1;
                        (QueueStatus::Waiting, None, None, Some(position))
                    }
                    HandoffState::Claimed { login, name } => (
                        QueueStatus::Claimed,
                        Some(login.clone()),
                        Some(name.clone()),
                        None,
                    ),
                };
                HandoffItem {
                    id: r.id,
                    urgent: r.urgent,
                    status,
                    waiting_since: r.created_ms,
                    lang: r.lang.clone(),
                    topic: r.topic.clone(),
                    claimed_by,
                    claimed_by_name,
                    position,
                    youth_online: unhex(&r.session)
                        .is_some_and(|key| self.sessions.is_attached(&key)),
                    holder_away: false,
                    requeued: r.requeued,
                }
            })
            .collect()
    }

    /// Takes a request. Exactly one of several concurrent claims wins; the holder
    /// claiming again gets the transcript again (a console that reconnected).
    pub async fn claim(&self, id: u64, who: &Intervenor) -> Result<ClaimResponse, HandoffError> {
        let record = {
            let mut state = self.lock();
            let record = state.requests.get_mut(&id).ok_or(HandoffError::NotFound)?;
            if let HandoffState::Claimed { login, .. } = &record.state {
                if *login != who.login {
                    return Err(HandoffError::Conflict);
                }
            } else if record.closed_ms.is_none() && record.last_claim_ms.is_none() {
                let waited = self.clock.now_ms().saturating_sub(record.created_ms);
                self.stats.handoff_event("handoffs_answered", record.urgent);
                self.stats.wait_time(record.urgent, waited);
                record.last_claim_ms = Some(self.clock.now_ms());
            }
            record.state = HandoffState::Claimed {
                login: who.login.clone(),
                name: who.name.clone(),
            };
            record.requeued = false;
            put_json(&self.store.handoffs, id.to_be_bytes(), &*record)?;
            state.told.remove(&id);
            state
                .requests
                .get(&id)
                .cloned()
                .ok_or(HandoffError::NotFound)?
        };
        let mut told = None;
        if let Some(key) = unhex(&record.session) {
            told = self
                .sessions
                .with(&key, |ctx| {
                    let link = ctx.record().handoff.as_mut();
                    let newly = link.as_ref().is_some_and(|l| !l.connected);
                    if let Some(link) = link {
                        link.connected = true;
                    }
                    newly.then(|| {
                        ctx.push_durable(&Event::Handoff {
                            status: HandoffStatus::Connected,
                            urgent: record.urgent,
                            position: None,
                            resources: None,
                            name: Some(who.name.clone()),
                            message: None,
                        })
                    })
                })?
                .flatten()
                .map(|seq| (key, seq));
        }
        self.store.flush().await?;
        if let Some((key, seq)) = told {
            self.sessions.release(&key, seq);
        }
        self.after_change();
        Ok(ClaimResponse {
            id,
            transcript: self.transcript(id)?,
            urgent: record.urgent,
            lang: record.lang,
            topic: record.topic,
        })
    }

    /// Gives a request to another intervenor (supervisors only).
    pub fn assign(&self, id: u64, who: &Intervenor, to: &Intervenor) -> Result<(), HandoffError> {
        if !who.is_supervisor() {
            return Err(HandoffError::Forbidden);
        }
        let previous = {
            let mut state = self.lock();
            let record = state.requests.get_mut(&id).ok_or(HandoffError::NotFound)?;
            let previous = record.state.clone();
            record.state = HandoffState::Claimed {
                login: to.login.clone(),
                name: to.name.clone(),
            };
            put_json(&self.store.handoffs, id.to_be_bytes(), &*record)?;
            previous
        };
        if let HandoffState::Claimed { login, .. } = previous {
            if login != to.login {
                self.send_to_login(
                    &login,
                    &ConsoleServerFrame::Closed {
                        handoff: id,
                        reason: "reassigned".into(),
                    },
                );
            }
        }
        self.tell_status(id, true);
        self.after_change();
        Ok(())
    }

    /// Puts a request back in the queue at its original place.
    pub async fn release(&self, id: u64, who: &Intervenor) -> Result<(), HandoffError> {
        {
            let mut state = self.lock();
            let record = state.requests.get_mut(&id).ok_or(HandoffError::NotFound)?;
            check_holder(record, who)?;
            record.state = HandoffState::Waiting;
            put_json(&self.store.handoffs, id.to_be_bytes(), &*record)?;
            if let Some(key) = unhex(&record.session) {
                self.sessions.with(&key, |ctx| {
                    if let Some(link) = ctx.record().handoff.as_mut() {
                        link.connected = false;
                    }
                })?;
            }
        }
        // The youth hears that their person handed over, and keeps their place.
        let told = self.tell_back_in_queue(id, Text::Released, false)?;
        self.store.flush().await?;
        if let Some((key, seq)) = told {
            self.sessions.release(&key, seq);
        }
        self.after_change();
        Ok(())
    }

    /// Ends a conversation with an outcome; the youth gets `ended` with resources.
    pub async fn close(
        &self,
        id: u64,
        who: &Intervenor,
        outcome: Outcome,
    ) -> Result<(), HandoffError> {
        let record = {
            let mut state = self.lock();
            let record = state.requests.get(&id).ok_or(HandoffError::NotFound)?;
            check_holder(record, who)?;
            state.told.remove(&id);
            state.clients.remove(&id);
            state.requests.remove(&id).ok_or(HandoffError::NotFound)?
        };
        self.stats.add("outcomes", outcome.as_str(), 1);
        self.end_monitoring(id);
        let retained = self.config.transcript_retention_days > 0;
        if retained {
            // Kept (sealed) for continuity of care, without its link to the session,
            // then purged when the retention ends.
            let kept = HandoffRecord {
                closed_ms: Some(self.clock.now_ms()),
                session: String::new(),
                ..record.clone()
            };
            put_json(&self.store.handoffs, id.to_be_bytes(), &kept)?;
        } else {
            self.delete(id)?;
        }
        let mut told = None;
        if let Some(key) = unhex(&record.session) {
            let resources = self.resources(&record);
            told = self
                .sessions
                .with(&key, |ctx| {
                    ctx.record().handoff = None;
                    // The next intervenor never sees words from this conversation.
                    ctx.clear_transcript();
                    ctx.push_durable(&Event::Handoff {
                        status: HandoffStatus::Ended,
                        urgent: record.urgent,
                        position: None,
                        resources: Some(resources),
                        name: None,
                        message: Some(say(&record.lang, Text::HandoffEnded).to_string()),
                    })
                })?
                .map(|seq| (key, seq));
        }
        self.store.flush().await?;
        if let Some((key, seq)) = told {
            self.sessions.release(&key, seq);
        }
        if !retained {
            self.destroy_key(id).await?;
        }
        self.after_change();
        Ok(())
    }

    /// Written and flushed before either side sees it.
    pub async fn reply(&self, id: u64, who: &Intervenor, text: &str) -> Result<(), HandoffError> {
        let (entry, session, holder) = {
            let mut state = self.lock();
            let record = state.requests.get_mut(&id).ok_or(HandoffError::NotFound)?;
            let HandoffState::Claimed { login, .. } = &record.state else {
                return Err(HandoffError::Forbidden);
            };
            if *login != who.login && !who.is_supervisor() {
                return Err(HandoffError::Forbidden);
            }
            let holder = login.clone();
            let entry = self.append(record, Speaker::Agent, text)?;
            (entry, record.session.clone(), holder)
        };
        let mut told = None;
        if let Some(key) = unhex(&session) {
            told = self
                .sessions
                .with(&key, |ctx| {
                    ctx.push_durable_sealed(
                        &Event::Agent {
                            text: text.to_string(),
                            name: who.name.clone(),
                            erased: false,
                            at: Some(entry.at),
                        },
                        Some(id),
                    )
                })?
                .map(|seq| (key, seq));
        }
        self.store.flush().await?;
        if let Some((key, seq)) = told {
            self.sessions.release(&key, seq);
        }
        let frame = message_frame(id, &entry);
        self.to_monitors(id, &entry);
        self.send_to_login(&holder, &frame);
        if holder != who.login {
            self.send_to_login(&who.login, &frame);
        }
        Ok(())
    }

    /// The transcript, opened with the conversation's key (empty once erased).
    pub fn transcript(&self, id: u64) -> Result<Vec<TranscriptEntry>, StoreError> {
        let Some(secret) = self.store.keys.get(&handoff_key(id)) else {
            return Ok(Vec::new());
        };
        let mut entries = Vec::new();
        for entry in self.store.transcripts.scan_prefix(id.to_be_bytes()) {
            let (_, value) = entry?;
            if let Some(plain) = secret.open(&value) {
                entries.push(serde_json::from_slice(&plain)?);
            }
        }
        Ok(entries)
    }

    /// Tells youths whose wait is longer than the configured time, once each.
    pub fn tick(&self) -> Result<(), HandoffError> {
        let now = self.clock.now_ms();
        let due: Vec<u64> = {
            let mut state = self.lock();
            let mut due = Vec::new();
            for record in state.requests.values_mut() {
                if record.state == HandoffState::Waiting
                    && !record.timeout_told
                    && record.created_ms + self.config.timeout_secs * 1000 <= now
                {
                    record.timeout_told = true;
                    self.stats
                        .handoff_event("handoffs_timed_out", record.urgent);
                    put_json(&self.store.handoffs, record.id.to_be_bytes(), &*record)?;
                    due.push(record.id);
                }
            }
            due
        };
        for id in due {
            self.tell_timeout(id);
        }
        Ok(())
    }

    // ------------------------------------------------------------ on call

    pub fn set_on_call(&self, who: &Intervenor, on_call: bool) -> Result<(), HandoffError> {
        self.accounts.set_on_call(&who.login, on_call)?;
        let before = self.available();
        {
            let mut set = self.on_call.lock().expect("roster lock poisoned");
            if on_call {
                set.insert(who.login.clone());
            } else {
                set.remove(&who.login);
            }
        }
        self.roster_changed(before);
        Ok(())
    }

    pub fn is_on_call(&self, login: &str) -> bool {
        self.on_call
            .lock()
            .expect("roster lock poisoned")
            .contains(login)
    }

    /// Who is on call and connected.
    pub fn roster(&self) -> Vec<String> {
        let on_call = self.on_call.lock().expect("roster lock poisoned").clone();
        let consoles = self.consoles.lock().expect("console lock poisoned");
        let mut names: Vec<String> = consoles
            .values()
            .filter(|c| on_call.contains(&c.who.login))
            .map(|c| c.who.name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Whether someone is on call and connected now.
    pub fn available(&self) -> bool {
        !self.roster().is_empty()
    }

    fn roster_changed(&self, was_available: bool) {
        self.changed.notify_one();
        let frame = ConsoleServerFrame::Roster {
            on_call: self.roster(),
        };
        self.broadcast(&frame);
        if !was_available && self.available() {
            // Someone came on call: every waiting youth hears where they stand.
            self.lock().told.clear();
            self.after_change();
        }
    }

    // ------------------------------------------------------------ consoles

    /// Registers a console socket and sends it where things stand.
    pub fn attach_console(&self, who: Intervenor, tx: mpsc::Sender<ConsoleOut>) -> u64 {
        let id = self.next_console.fetch_add(1, Ordering::Relaxed);
        let before = self.available();
        let ready = ConsoleServerFrame::Ready {
            login: who.login.clone(),
            name: who.name.clone(),
            role: who.role.as_str().into(),
            on_call: self.is_on_call(&who.login),
        };
        let _ = tx.try_send(ConsoleOut::Frame(ready.to_frame()));
        let _ = tx.try_send(ConsoleOut::Frame(
            ConsoleServerFrame::Queue { items: self.list() }.to_frame(),
        ));
        self.consoles.lock().expect("console lock poisoned").insert(
            id,
            Console {
                who: who.clone(),
                tx,
            },
        );
        self.roster_changed(before);
        self.console_back(&who.login);
        id
    }

    /// The reports changed: every console gets the list; with `alert`, a report that
    /// says someone is in danger now raises the urgent alert.
    pub fn reports_changed(&self, reports: &crate::reports::Reports, alert: Option<u64>) {
        let Ok(list) = reports.list() else {
            return;
        };
        if let Some(id) = alert {
            if list.iter().any(|r| r.id == id && r.danger) {
                self.broadcast(&ConsoleServerFrame::ReportAlert { report: id });
            }
        }
        let items = list.iter().map(crate::protocol::ReportItem::from).collect();
        self.broadcast(&ConsoleServerFrame::Reports { items });
    }

    /// Console sockets open now.
    pub fn consoles(&self) -> usize {
        self.consoles.lock().expect("console lock poisoned").len()
    }

    pub fn detach_console(&self, id: u64) {
        let before = self.available();
        let gone = self
            .consoles
            .lock()
            .expect("console lock poisoned")
            .remove(&id);
        if let Some(console) = &gone {
            self.watcher_left(&console.who.login);
        }
        self.roster_changed(before);
        if let Some(console) = gone {
            self.console_gone(&console.who.login);
        }
    }

    /// Closes the consoles signed in with a token (logout).
    pub fn close_consoles_of_token(&self, token_key: &[u8; 32]) {
        let consoles = self.consoles.lock().expect("console lock poisoned");
        for console in consoles.values() {
            if console.who.token_key == *token_key {
                let _ = console.tx.try_send(ConsoleOut::Close(4001));
            }
        }
    }

    /// Closes the consoles whose token expired.
    pub fn close_expired_consoles(&self) {
        let consoles = self.consoles.lock().expect("console lock poisoned");
        for console in consoles.values() {
            if !self.accounts.token_alive(&console.who.token_key) {
                let _ = console.tx.try_send(ConsoleOut::Close(4001));
            }
        }
    }

    fn broadcast(&self, frame: &ConsoleServerFrame) {
        let text = frame.to_frame();
        for console in self
            .consoles
            .lock()
            .expect("console lock poisoned")
            .values()
        {
            let _ = console.tx.try_send(ConsoleOut::Frame(text.clone()));
        }
    }

    fn send_to_login(&self, login: &str, frame: &ConsoleServerFrame) {
        let text = frame.to_frame();
        for console in self
            .consoles
            .lock()
            .expect("console lock poisoned")
            .values()
        {
            if console.who.login == login {
                let _ = console.tx.try_send(ConsoleOut::Frame(text.clone()));
            }
        }
    }

    // ------------------------------------------------------------ inner

    /// After any change: consoles get the queue, waiting youths their new position.
    fn after_change(&self) {
        self.changed.notify_one();
        self.broadcast(&ConsoleServerFrame::Queue { items: self.list() });
        if !self.available() {
            return;
        }
        let moved: Vec<u64> = {
            let state = self.lock();
            let mut waiting: Vec<&HandoffRecord> = state
                .requests
                .values()
                .filter(|r| r.state == HandoffState::Waiting)
                .collect();
            waiting.sort_by_key(|r| queue_order(r));
            let positions: Vec<(u64, usize)> = waiting
                .iter()
                .enumerate()
                .map(|(index, r)| (r.id, index + 1))
                .collect();
            let mut moved = Vec::new();
            for (id, position) in positions {
                if state.told.get(&id) != Some(&position) {
                    moved.push(id);
                }
            }
            moved
        };
        for id in moved {
            self.tell_status(id, false);
        }
    }

    fn position(&self, state: &QueueState, id: u64) -> Option<usize> {
        let mut waiting: Vec<&HandoffRecord> = state
            .requests
            .values()
            .filter(|r| r.state == HandoffState::Waiting)
            .collect();
        waiting.sort_by_key(|r| queue_order(r));
        waiting.iter().position(|r| r.id == id).map(|p| p + 1)
    }

    /// Tells a youth where their request stands, and makes it durable before the
    /// youth sees it.
    async fn tell_status_durably(&self, id: u64) -> Result<(), HandoffError> {
        let told = self.tell(id, true, true);
        self.store.flush().await?;
        if let Some((key, seq)) = told {
            self.sessions.release(&key, seq);
        }
        Ok(())
    }

    /// Tells a youth where their request stands: waiting with a position, or
    /// unavailable with resources when nobody is on call (once, unless `always`).
    fn tell_status(&self, id: u64, always: bool) {
        self.tell(id, always, false);
    }

    /// Pushes the status frame; with `durable`, holds it back and returns what to
    /// release after a flush.
    fn tell(&self, id: u64, always: bool, durable: bool) -> Option<(SessionKey, u64)> {
        let available = self.available();
        let mut state = self.lock();
        let record = state.requests.get(&id).cloned()?;
        let position = self.position(&state, id);
        if let Some(p) = position {
            if !always && state.told.get(&id) == Some(&p) {
                return None;
            }
            state.told.insert(id, p);
        }
        let event = match &record.state {
            HandoffState::Claimed { name, .. } => Event::Handoff {
                status: HandoffStatus::Connected,
                urgent: record.urgent,
                position: None,
                resources: None,
                name: Some(name.clone()),
                message: None,
            },
            HandoffState::Waiting if available => Event::Handoff {
                status: HandoffStatus::Waiting,
                urgent: record.urgent,
                position,
                resources: None,
                name: None,
                message: None,
            },
            HandoffState::Waiting => Event::Handoff {
                status: HandoffStatus::Unavailable,
                urgent: record.urgent,
                position,
                resources: Some(self.resources(&record)),
                name: None,
                message: Some(self.unavailable_message(&record.lang)),
            },
        };
        let key = unhex(&record.session)?;
        let claimed = matches!(record.state, HandoffState::Claimed { .. });
        let seq = self
            .sessions
            .with(&key, |ctx| {
                if let Some(link) = ctx.record().handoff.as_mut() {
                    link.urgent = record.urgent;
                    link.connected = claimed;
                }
                if durable {
                    ctx.push_durable(&event)
                } else {
                    ctx.push(&event)
                }
            })
            .ok()
            .flatten()?;
        Some((key, seq))
    }

    fn tell_timeout(&self, id: u64) {
        let available = self.available();
        let state = self.lock();
        let Some(record) = state.requests.get(&id).cloned() else {
            return;
        };
        let position = self.position(&state, id);
        let event = Event::Handoff {
            status: if available {
                HandoffStatus::Waiting
            } else {
                HandoffStatus::Unavailable
            },
            urgent: record.urgent,
            position,
            resources: Some(self.resources(&record)),
            name: None,
            message: Some(say(&record.lang, Text::HandoffTimeout).to_string()),
        };
        if let Some(key) = unhex(&record.session) {
            let _ = self.sessions.with(&key, |ctx| ctx.push(&event));
        }
    }

    fn unavailable_message(&self, lang: &str) -> String {
        let base = say(lang, Text::HandoffUnavailable);
        if let Some(next) = self
            .schedule
            .as_ref()
            .and_then(|s| s.sentence(lang, self.clock.now_ms() as i64))
        {
            return format!(
                "{} {next} {}",
                say(lang, Text::StillQueued),
                say(lang, Text::ReachNow)
            );
        }
        let hours = if lang == "en" {
            &self.config.usual_hours_en
        } else {
            &self.config.usual_hours_fr
        };
        match hours {
            Some(hours) => format!("{base} ({hours})"),
            None => base.to_string(),
        }
    }

    fn resources(&self, record: &HandoffRecord) -> Vec<ResourceWire> {
        let flows = self
            .flows
            .version(&record.flow_version)
            .unwrap_or_else(|| self.flows.current());
        record
            .resources
            .iter()
            .filter_map(|key| flows.resource(&record.lang, key))
            .map(ResourceWire::from)
            .collect()
    }

    fn append(
        &self,
        record: &mut HandoffRecord,
        from: Speaker,
        text: &str,
    ) -> Result<TranscriptEntry, StoreError> {
        record.last_entry += 1;
        let entry = TranscriptEntry {
            seq: record.last_entry,
            from,
            text: text.to_string(),
            at: self.clock.now_ms(),
        };
        self.put_entry(record.id, &entry)?;
        put_json(&self.store.handoffs, record.id.to_be_bytes(), &*record)?;
        Ok(entry)
    }

    /// Writes a transcript entry, sealed with the conversation's key.
    fn put_entry(&self, id: u64, entry: &TranscriptEntry) -> Result<(), StoreError> {
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&id.to_be_bytes());
        key[8..].copy_from_slice(&entry.seq.to_be_bytes());
        let secret = self.store.keys.get(&handoff_key(id)).ok_or_else(|| {
            StoreError::Keys(std::io::Error::other("the conversation's key is gone"))
        })?;
        self.store
            .transcripts
            .insert(key, secret.seal(&serde_json::to_vec(entry)?))?;
        Ok(())
    }

    /// Deletes a request and its transcript.
    fn delete(&self, id: u64) -> Result<(), StoreError> {
        self.store.handoffs.remove(id.to_be_bytes())?;
        let mut batch = sled::Batch::default();
        for entry in self.store.transcripts.scan_prefix(id.to_be_bytes()) {
            let (key, _) = entry?;
            batch.remove(key);
        }
        self.store.transcripts.apply_batch(batch)?;
        Ok(())
    }

    /// A request by id (for tests and tools).
    pub fn record(&self, id: u64) -> Result<Option<HandoffRecord>, StoreError> {
        get_json(&self.store.handoffs, id.to_be_bytes())
    }
}

/// The client key a request counts against, for `handoff.max_open_per_client`: none
/// for a loopback peer (a reverse proxy not declared in `limits.trusted_proxies`,
/// where every youth would share one key and a cap would refuse nearly everyone).
pub fn counted_client<'a>(
    limits: &crate::limits::Limits,
    now_secs: u64,
    client: &'a crate::limits::ClientKey,
) -> Option<&'a crate::limits::ClientKey> {
    let loopback = [
        std::net::IpAddr::from([127, 0, 0, 1]),
        std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
    ];
    let shared = loopback
        .into_iter()
        .any(|address| limits.client_key(address, now_secs) == *client);
    (!shared).then_some(client)
}

fn check_holder(record: &HandoffRecord, who: &Intervenor) -> Result<(), HandoffError> {
    match &record.state {
        HandoffState::Claimed { login, .. } if *login == who.login || who.is_supervisor() => Ok(()),
        HandoffState::Waiting if who.is_supervisor() => Ok(()),
        _ => Err(HandoffError::Forbidden),
    }
}

/// Urgent first, then put back after a lost holder, then oldest, then by id.
fn queue_order(record: &HandoffRecord) -> (bool, bool, u64, u64) {
    (
        !record.urgent,
        !record.requeued,
        record.created_ms,
        record.id,
    )
}

fn message_frame(id: u64, entry: &TranscriptEntry) -> ConsoleServerFrame {
    ConsoleServerFrame::Message {
        handoff: id,
        seq: entry.seq,
        from: entry.from,
        text: entry.text.clone(),
        at: entry.at,
    }
}

fn hex(key: &SessionKey) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(text: &str) -> Option<SessionKey> {
    if text.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(key)
}
