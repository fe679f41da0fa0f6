//! The handoff service: one task owns the [`Queue`] and takes a closed set of
//! commands ([`Command`]) over a channel; [`Handoffs`] is the handle everyone else
//! holds, and sends them.
//!
//! The task takes every command waiting, applies each one to the queue and the store
//! (sled writes, which stay in memory until flushed), then flushes the store **once
//! for the whole batch**, and only then releases the frames the youths must not see
//! before they are on disk, sends the console frames that follow from them and
//! answers the callers. So one fsync serves every request waiting for it, and a
//! request for a person is acknowledged to the youth only after its flush.
//!
//! No lock is held across store IO here: the queue has no lock (the task owns it);
//! readers that need no answer from the task (the queue list, typing, supervision)
//! read the copy it publishes after each batch, behind a lock held only to clone an
//! `Arc`. The consoles' registry has its own short lock (`consoles`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use tokio::sync::{mpsc, oneshot};

use super::accounts::{Accounts, Intervenor};
use super::consoles::{ConsoleHub, ConsoleOut};
use super::presence::Presence;
use super::queue::Queue;
use super::schedule::Schedule;
use super::{check_holder, entry_of, hex, line_from, line_of, message_frame, unhex, HandoffError};
use crate::clock::Clock;
use crate::config::HandoffConfig;
use crate::flow::engine::HandoffRequest;
use crate::flow::FlowLibrary;
use crate::messages::{say, Text};
use crate::protocol::{
    ClaimResponse, ConsoleServerFrame, Control, ErrorCode, Event, HandoffItem, Outcome,
    QueueStatus, ResourceWire, Speaker, TranscriptEntry,
};
use crate::session::Sessions;
use crate::stats::Stats;
use crate::store::handoffs::TranscriptLine;
use crate::store::records::{HandoffRecord, HandoffState};
use crate::store::{SessionHandoff, SessionKey, Store, StoreError};

/// Most commands applied before one flush (the rest wait for the next batch).
const MAX_BATCH: usize = 256;

/// What the handoff service is built from.
pub(crate) struct HandoffParts {
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

/// What the handle and the task share: handles and small registries, never the
/// queue itself (the task's own).
pub struct Core {
    pub(super) store: Store,
    pub(super) clock: Clock,
    pub(super) config: HandoffConfig,
    max_queue: usize,
    pub(super) sessions: Arc<Sessions>,
    flows: Arc<FlowLibrary>,
    pub(super) accounts: Arc<Accounts>,
    pub(super) stats: Arc<Stats>,
    /// The queue as the task left it after its last batch. Written by the task only;
    /// read by the list, typing, supervision and the on-call follower.
    view: RwLock<Arc<Queue>>,
    /// Logins that set themselves on call (kept in their accounts too).
    pub(super) on_call: Mutex<HashSet<String>>,
    /// Consoles connected now.
    pub(super) hub: ConsoleHub,
    /// Woken at every change of the queue or the roster (the on-call follower).
    pub(crate) changed: tokio::sync::Notify,
    /// The on-call schedule (its "next opening" sentence).
    schedule: Option<Schedule>,
    /// Supervisors watching a conversation: handoff id → login → name (`supervision`).
    pub(super) monitors: Mutex<HashMap<u64, BTreeMap<String, String>>>,
    /// Holders whose consoles are all gone (see `presence`).
    pub(super) presence: Presence,
    /// Store flushes the task ran (one per batch that needed one).
    flushes: AtomicU64,
}

/// The handle on the handoff service: sends commands to its task, reads what the
/// task published. Shared behind an `Arc` by the server's state.
pub struct Handoffs {
    core: Arc<Core>,
    commands: mpsc::UnboundedSender<Command>,
}

/// The handle reads the shared part directly (registries, the published queue).
impl Deref for Handoffs {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

type Reply<T> = oneshot::Sender<Result<T, HandoffError>>;

/// Everything that changes the queue, each with where to answer when the caller
/// waits for it.
pub(super) enum Command {
    /// A youth asks for a person (`id`: the conversation's key made beforehand).
    Request {
        key: SessionKey,
        client: Option<String>,
        request: HandoffRequest,
        lang: String,
        flow_version: String,
        id: Option<u64>,
        reply: Reply<()>,
    },
    LowerUrgency {
        key: SessionKey,
        reply: Reply<()>,
    },
    YouthMessage {
        key: SessionKey,
        text: String,
        reply: Reply<bool>,
    },
    YouthWaiting {
        key: SessionKey,
        text: String,
        reply: Reply<bool>,
    },
    YouthLeft {
        key: SessionKey,
        reply: Reply<()>,
    },
    /// Requests whose session is gone (found by the purge).
    Orphaned {
        ids: Vec<u64>,
    },
    SetLang {
        key: SessionKey,
        lang: String,
    },
    Claim {
        id: u64,
        who: Intervenor,
        reply: Reply<ClaimResponse>,
    },
    Assign {
        id: u64,
        to: Intervenor,
        reply: Reply<()>,
    },
    Release {
        id: u64,
        who: Intervenor,
        reply: Reply<()>,
    },
    Close {
        id: u64,
        who: Intervenor,
        outcome: Outcome,
        reply: Reply<()>,
    },
    Reply {
        id: u64,
        who: Intervenor,
        text: String,
        reply: Reply<()>,
    },
    /// The long-wait notice, once per request.
    Tick,
    /// Someone came on call: every waiting youth hears where they stand.
    OnCall,
    /// Holders away past the grace period; requests to put back in the queue.
    Presence {
        to_tell: Vec<u64>,
        to_requeue: Vec<u64>,
        reply: Reply<()>,
    },
    /// A waiting request whose youth is gone leaves the queue.
    Abandoned {
        id: u64,
        reply: Reply<()>,
    },
}

/// Work left for after the flush (console frames that follow a durable change).
type After = Box<dyn FnOnce(&Core) + Send>;
/// An answer to a caller, given whether the batch's flush failed (and why).
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// What a batch of commands leaves to do once the store is flushed.
#[derive(Default)]
pub(super) struct Batch {
    /// Something written must reach the disk before the rest.
    flush: bool,
    /// Frames held back until the flush: released after it, in order.
    release: Vec<(SessionKey, u64)>,
    /// What follows a durable change (console frames), after the flush.
    after: Vec<After>,
    /// The callers' answers, last; a durable one fails if the flush did.
    replies: Vec<Answer>,
    /// The queue changed: consoles and waiting youths hear it.
    changed: bool,
    /// Every waiting youth hears their place again.
    forget_told: bool,
}

impl Batch {
    /// A frame pushed durably (held): released once the flush is done. The one path
    /// for "push durable, flush, release".
    pub(super) fn hold(&mut self, told: Option<(SessionKey, u64)>) {
        self.flush = true;
        if let Some(told) = told {
            self.release.push(told);
        }
    }

    fn then(&mut self, after: impl FnOnce(&Core) + Send + 'static) {
        self.after.push(Box::new(after));
    }

    /// Answers the caller at the end of the batch; with `durable`, an error if the
    /// flush failed.
    fn answer<T: Send + 'static>(
        &mut self,
        reply: Reply<T>,
        result: Result<T, HandoffError>,
        durable: bool,
    ) {
        self.replies.push(Box::new(move |flush_failed| {
            let result = match (flush_failed, result) {
                (Some(cause), Ok(_)) if durable => {
                    Err(HandoffError::Store(StoreError::Flush(cause.to_string())))
                }
                (_, result) => result,
            };
            let _ = reply.send(result);
        }));
    }
}

fn stopped() -> HandoffError {
    HandoffError::Store(StoreError::Flush("the handoff service has stopped".into()))
}

impl Handoffs {
    /// Loads the open requests and the on-call flags from the store, and starts the
    /// task that owns the queue (on the current runtime).
    pub(crate) fn load(parts: HandoffParts) -> Result<Self, StoreError> {
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
        let queue = Queue::new(store.open_requests()?);
        let on_call = accounts
            .list()?
            .into_iter()
            .filter(|a| a.on_call)
            .map(|a| a.login)
            .collect();
        let schedule = Schedule::from_config(&config.schedule)
            .ok()
            .filter(|s| !s.is_empty());
        let core = Arc::new(Core {
            view: RwLock::new(Arc::new(queue.clone())),
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
            on_call: Mutex::new(on_call),
            hub: ConsoleHub::default(),
            monitors: Mutex::new(HashMap::new()),
            presence: Presence::default(),
            flushes: AtomicU64::new(0),
        });
        let (commands, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(Arc::downgrade(&core), queue, receiver));
        Ok(Self { core, commands })
    }

    /// Sends a command and waits for its answer.
    async fn ask<T>(&self, command: impl FnOnce(Reply<T>) -> Command) -> Result<T, HandoffError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(command(reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Sends a command nobody waits for.
    fn tell_task(&self, command: Command) -> Result<(), HandoffError> {
        self.commands.send(command).map_err(|_| stopped())
    }

    // ------------------------------------------------------------ the youth side

    /// A youth asks for a human (stored and flushed before the youth hears back),
    /// counting the open requests of the youth's client key: beyond
    /// `handoff.max_open_per_client` a normal request is refused (told so, with
    /// resources). An urgent request is never refused, by this cap or the queue's.
    pub(crate) async fn request_from(
        &self,
        key: &SessionKey,
        client: Option<&crate::limits::ClientKey>,
        request: &HandoffRequest,
        lang: &str,
        flow_version: &str,
    ) -> Result<(), HandoffError> {
        // A new request's key is made here, off the runtime and off the task (which
        // destroys it if the request turns out to exist already or is refused).
        let id = match self.link_of(key)? {
            Some(_) => None,
            None => {
                let store = self.store.clone();
                let made = tokio::task::spawn_blocking(move || {
                    let id = store.generate_id()?;
                    store.create_conversation_key(id)?;
                    Ok::<_, StoreError>(id)
                })
                .await
                .map_err(|e| StoreError::Keys(std::io::Error::other(e)))??;
                Some(made)
            }
        };
        self.ask(|reply| Command::Request {
            key: *key,
            client: client.map(|c| c.0.clone()),
            request: request.clone(),
            lang: lang.to_string(),
            flow_version: flow_version.to_string(),
            id,
            reply,
        })
        .await
    }

    /// The youth said they are not in danger now: their urgent request becomes a
    /// normal one. Nothing when there is no request or it is not urgent.
    pub(crate) async fn lower_urgency(&self, key: &SessionKey) -> Result<(), HandoffError> {
        self.ask(|reply| Command::LowerUrgency { key: *key, reply })
            .await
    }

    /// The youth writes while an intervenor holds the conversation. Written and
    /// flushed before the intervenor sees it. `false` when nobody holds it.
    pub(crate) async fn youth_message(
        &self,
        key: &SessionKey,
        text: &str,
    ) -> Result<bool, HandoffError> {
        self.ask(|reply| Command::YouthMessage {
            key: *key,
            text: text.to_string(),
            reply,
        })
        .await
    }

    /// The youth writes while the request waits: the words join the sealed
    /// transcript, and every console sees them. Whether a waiting request took them.
    pub(crate) async fn youth_waiting(
        &self,
        key: &SessionKey,
        text: &str,
    ) -> Result<bool, HandoffError> {
        self.ask(|reply| Command::YouthWaiting {
            key: *key,
            text: text.to_string(),
            reply,
        })
        .await
    }

    /// The youth left (forget or expiry): the request goes, the holder is told, its
    /// key is destroyed.
    pub(crate) async fn youth_left(&self, key: &SessionKey) -> Result<(), HandoffError> {
        self.ask(|reply| Command::YouthLeft { key: *key, reply })
            .await
    }

    /// Requests whose session is gone (expired while the server was down) are
    /// dropped. Blocking store reads: called off the runtime (the purge).
    pub(crate) fn drop_orphans(&self) -> Result<(), HandoffError> {
        let view = self.view();
        let mut ids = Vec::new();
        for record in view.records() {
            let alive = match unhex(&record.session) {
                Some(key) => self.sessions.store().session(&key)?.is_some(),
                None => false,
            };
            if !alive {
                ids.push(record.id);
            }
        }
        if ids.is_empty() {
            return Ok(());
        }
        self.tell_task(Command::Orphaned { ids })
    }

    /// The youth switched language: their request (and what they are told about it
    /// from now on: notices, resources) follows.
    pub(crate) fn set_lang(&self, key: &SessionKey, lang: &str) -> Result<(), HandoffError> {
        if self.link_of(key)?.is_none() {
            return Ok(());
        }
        self.tell_task(Command::SetLang {
            key: *key,
            lang: lang.to_string(),
        })
    }

    // ------------------------------------------------------- the intervenor side

    /// Takes a request. Exactly one of several concurrent claims wins (the task
    /// takes them one at a time); the holder claiming again gets the transcript
    /// again (a console that reconnected).
    pub(crate) async fn claim(
        &self,
        id: u64,
        who: &Intervenor,
    ) -> Result<ClaimResponse, HandoffError> {
        self.ask(|reply| Command::Claim {
            id,
            who: who.clone(),
            reply,
        })
        .await
    }

    /// Gives a request to another intervenor (supervisors only).
    pub(crate) async fn assign(
        &self,
        id: u64,
        who: &Intervenor,
        to: &Intervenor,
    ) -> Result<(), HandoffError> {
        if !who.is_supervisor() {
            return Err(HandoffError::Forbidden);
        }
        self.ask(|reply| Command::Assign {
            id,
            to: to.clone(),
            reply,
        })
        .await
    }

    /// Puts a request back in the queue at its original place.
    pub(crate) async fn release(&self, id: u64, who: &Intervenor) -> Result<(), HandoffError> {
        self.ask(|reply| Command::Release {
            id,
            who: who.clone(),
            reply,
        })
        .await
    }

    /// Ends a conversation with an outcome; the youth gets `ended` with resources.
    pub(crate) async fn close(
        &self,
        id: u64,
        who: &Intervenor,
        outcome: Outcome,
    ) -> Result<(), HandoffError> {
        self.ask(|reply| Command::Close {
            id,
            who: who.clone(),
            outcome,
            reply,
        })
        .await
    }

    /// Written and flushed before either side sees it.
    pub(crate) async fn reply(
        &self,
        id: u64,
        who: &Intervenor,
        text: &str,
    ) -> Result<(), HandoffError> {
        self.ask(|reply| Command::Reply {
            id,
            who: who.clone(),
            text: text.to_string(),
            reply,
        })
        .await
    }

    /// Tells youths whose wait is longer than the configured time, once each (the
    /// task does it; its errors are logged there).
    pub(crate) fn tick(&self) -> Result<(), HandoffError> {
        self.tell_task(Command::Tick)
    }

    /// Holders away: `to_tell` hear it, `to_requeue` go back to the queue.
    pub(super) async fn apply_presence(
        &self,
        to_tell: Vec<u64>,
        to_requeue: Vec<u64>,
    ) -> Result<(), HandoffError> {
        self.ask(|reply| Command::Presence {
            to_tell,
            to_requeue,
            reply,
        })
        .await
    }

    /// A waiting request whose youth is gone leaves the queue.
    pub(super) async fn drop_abandoned(&self, id: u64) -> Result<(), HandoffError> {
        self.ask(|reply| Command::Abandoned { id, reply }).await
    }

    // ------------------------------------------------------------ on call

    pub(crate) fn set_on_call(&self, who: &Intervenor, on_call: bool) -> Result<(), HandoffError> {
        self.set_on_call_login_unchecked(&who.login, on_call)
    }

    /// Puts a login on or off call by name (the schedule's automatic shifts).
    pub(crate) fn set_on_call_login(&self, login: &str, on_call: bool) -> Result<(), HandoffError> {
        if self.accounts.get(login)?.is_none() {
            return Ok(());
        }
        self.set_on_call_login_unchecked(login, on_call)
    }

    fn set_on_call_login_unchecked(&self, login: &str, on_call: bool) -> Result<(), HandoffError> {
        self.accounts.set_on_call(login, on_call)?;
        let before = self.available();
        {
            let mut set = self.on_call.lock().expect("roster lock poisoned");
            if on_call {
                set.insert(login.to_string());
            } else {
                set.remove(login);
            }
        }
        self.roster_changed(before);
        Ok(())
    }

    pub(super) fn roster_changed(&self, was_available: bool) {
        self.changed.notify_one();
        self.hub.broadcast(&ConsoleServerFrame::Roster {
            on_call: self.roster(),
        });
        if !was_available && self.available() {
            if let Err(e) = self.tell_task(Command::OnCall) {
                tracing::error!(error = %e, "waiting youths could not hear someone came on call");
            }
        }
    }

    // ------------------------------------------------------------ consoles

    /// Registers a console socket and sends it where things stand.
    pub(crate) fn attach_console(&self, who: Intervenor, tx: mpsc::Sender<ConsoleOut>) -> u64 {
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
        let login = who.login.clone();
        let id = self.hub.attach(who, tx);
        self.roster_changed(before);
        self.console_back(&login);
        id
    }

    pub(crate) fn detach_console(&self, id: u64) {
        let before = self.available();
        let gone = self.hub.detach(id);
        if let Some(who) = &gone {
            self.watcher_left(&who.login);
        }
        self.roster_changed(before);
        if let Some(who) = gone {
            self.console_gone(&who.login);
        }
    }

    /// How many store flushes the task ran (one per batch that needed one).
    pub fn store_flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }
}

impl Core {
    /// The queue as the task last published it.
    pub(super) fn view(&self) -> Arc<Queue> {
        self.view.read().expect("queue view lock poisoned").clone()
    }

    pub(super) fn link_of(&self, key: &SessionKey) -> Result<Option<SessionHandoff>, StoreError> {
        Ok(self
            .sessions
            .with(key, |ctx| ctx.record().handoff.clone())?
            .flatten())
    }

    /// The queue as a console shows it: urgent first, then oldest.
    pub fn list(&self) -> Vec<HandoffItem> {
        self.list_of(&self.view())
    }

    fn list_of(&self, queue: &Queue) -> Vec<HandoffItem> {
        queue
            .ordered()
            .map(|r| {
                let (status, claimed_by, claimed_by_name) = match &r.state {
                    HandoffState::Waiting => (QueueStatus::Waiting, None, None),
                    HandoffState::Claimed { login, name } => (
                        QueueStatus::Claimed,
                        Some(login.clone()),
                        Some(name.clone()),
                    ),
                };
                HandoffItem {
                    id: r.id,
                    urgent: r.urgent,
                    status,
                    waiting_since: r.created_ms,
                    lang: r.lang.clone(),
                    topic: r.topic.clone(),
                    holder_away: claimed_by
                        .as_deref()
                        .is_some_and(|holder| self.presence.is_away(holder)),
                    claimed_by,
                    claimed_by_name,
                    position: queue.position(r.id),
                    youth_online: unhex(&r.session)
                        .is_some_and(|key| self.sessions.is_attached(&key)),
                    requeued: r.requeued,
                }
            })
            .collect()
    }

    /// The transcript, opened with the conversation's key (empty once erased).
    pub(crate) fn transcript(&self, id: u64) -> Result<Vec<TranscriptEntry>, StoreError> {
        Ok(self
            .store
            .transcript(id)?
            .into_iter()
            .map(entry_of)
            .collect())
    }

    /// A request by id (open, or kept after its close).
    pub(crate) fn record(&self, id: u64) -> Result<Option<HandoffRecord>, StoreError> {
        self.store.request(id)
    }

    /// Deletes closed conversations kept past their retention (blocking IO).
    pub(crate) fn purge_closed(&self) -> Result<(), HandoffError> {
        let keep_ms = self.config.transcript_retention_days.min(30) * 86_400_000;
        for id in self.store.expired_requests(self.clock.now_ms(), keep_ms)? {
            self.erase(id)?;
        }
        Ok(())
    }

    pub fn is_on_call(&self, login: &str) -> bool {
        self.on_call
            .lock()
            .expect("roster lock poisoned")
            .contains(login)
    }

    /// Who is on call and connected.
    pub(crate) fn roster(&self) -> Vec<String> {
        let on_call = self.on_call.lock().expect("roster lock poisoned").clone();
        self.hub.names_among(&on_call)
    }

    /// Whether someone is on call and connected now.
    pub(crate) fn available(&self) -> bool {
        !self.roster().is_empty()
    }

    /// Console sockets open now.
    pub(crate) fn consoles(&self) -> usize {
        self.hub.len()
    }

    /// Closes the consoles signed in with a token (logout).
    pub(crate) fn close_consoles_of_token(&self, token_key: &[u8; 32]) {
        self.hub.close_token(token_key);
    }

    /// Closes the consoles whose token expired.
    pub(crate) fn close_expired_consoles(&self) {
        self.hub
            .close_where(|who| !self.accounts.token_alive(&who.token_key));
    }

    /// A report was made or changed: the consoles hear it (see `ConsoleHub`).
    pub(crate) fn report_changed(&self, reports: &crate::reports::Reports, id: u64, new: bool) {
        self.hub.report_changed(reports, id, new);
    }

    pub(crate) fn broadcast(&self, frame: &ConsoleServerFrame) {
        self.hub.broadcast(frame);
    }

    pub(super) fn send_to_login(&self, login: &str, frame: &ConsoleServerFrame) {
        self.hub.send_to_login(login, frame);
    }

    /// Tells the holder a conversation they showed has ended (the one path).
    fn tell_holder_closed(&self, record: &HandoffRecord, reason: &'static str) {
        if let HandoffState::Claimed { login, .. } = &record.state {
            self.tell_closed(login, record.id, reason);
        }
    }

    fn tell_closed(&self, login: &str, id: u64, reason: &'static str) {
        self.send_to_login(
            login,
            &ConsoleServerFrame::Closed {
                handoff: id,
                reason: reason.into(),
            },
        );
    }

    /// Deletes a request with its transcript and destroys its key (the one path).
    fn erase(&self, id: u64) -> Result<(), StoreError> {
        self.store.delete_request(id)?;
        self.store.destroy_conversation_key(id);
        Ok(())
    }

    /// Tells a youth, in one sentence, that something failed on our side (after the
    /// cause was logged): their page never just goes quiet.
    pub(super) fn tell_youth_failed(&self, key: &SessionKey, lang: &str) {
        let frame = Control::Error {
            code: ErrorCode::Internal,
            message: say(lang, Text::Internal).into(),
            retry_after_ms: None,
        };
        if let Err(e) = self.sessions.with(key, |ctx| ctx.send_control(&frame)) {
            tracing::error!(error = %e, "a youth could not be told of a failure");
        }
    }

    /// Pushes a frame (not held) to a request's youth, logging a store error with
    /// its cause and telling the youth something failed.
    pub(super) fn push_to_youth(&self, record: &HandoffRecord, event: &Event, what: &'static str) {
        let Some(key) = unhex(&record.session) else {
            return;
        };
        if let Err(e) = self.sessions.with(&key, |ctx| ctx.push(event)) {
            tracing::error!(error = %e, what, "a handoff frame could not be logged");
            self.tell_youth_failed(&key, &record.lang);
        }
    }

    pub(super) fn unavailable_message(&self, lang: &str) -> String {
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

    pub(super) fn resources(&self, record: &HandoffRecord) -> Vec<ResourceWire> {
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

    /// Where a waiting request stands, with a sentence and resources (a step of
    /// the on-call follower, or the long wait): `waiting`, or `unavailable` while
    /// nobody is on call.
    pub(super) fn tell_step_of(&self, queue: &Queue, id: u64, text: Text) {
        let Some(record) = queue.get(id) else {
            return;
        };
        let event = Event::handoff_in_queue(
            self.available(),
            record.urgent,
            queue.position(id),
            Some(self.resources(record)),
            Some(say(&record.lang, text).to_string()),
        );
        self.push_to_youth(record, &event, "step");
    }

    // ------------------------------------------------------------ the task

    fn handle(&self, queue: &mut Queue, command: Command, batch: &mut Batch) {
        match command {
            Command::Request {
                key,
                client,
                request,
                lang,
                flow_version,
                id,
                reply,
            } => {
                let result = self.on_request(
                    queue,
                    batch,
                    &key,
                    client,
                    &request,
                    &lang,
                    &flow_version,
                    id,
                );
                batch.answer(reply, result, true);
            }
            Command::LowerUrgency { key, reply } => {
                let result = self.on_lower_urgency(queue, batch, &key);
                batch.answer(reply, result, true);
            }
            Command::YouthMessage { key, text, reply } => {
                let result = self.on_youth_message(queue, batch, &key, &text);
                batch.answer(reply, result, true);
            }
            Command::YouthWaiting { key, text, reply } => {
                let result = self.on_youth_waiting(queue, &key, &text);
                batch.answer(reply, result, false);
            }
            Command::YouthLeft { key, reply } => {
                let result = self.on_youth_left(queue, batch, &key);
                batch.answer(reply, result, false);
            }
            Command::Orphaned { ids } => {
                for id in ids {
                    if let Some(record) = queue.remove(id) {
                        self.tell_holder_closed(&record, "youth_left");
                        batch.changed = true;
                    }
                    if let Err(e) = self.erase(id) {
                        tracing::error!(error = %e, "a request of an expired session could not be erased");
                    }
                }
            }
            Command::SetLang { key, lang } => {
                if let Err(e) = self.on_set_lang(queue, batch, &key, &lang) {
                    tracing::error!(error = %e, "could not change a request's language");
                }
            }
            Command::Claim { id, who, reply } => {
                let result = self.on_claim(queue, batch, id, &who);
                batch.answer(reply, result, true);
            }
            Command::Assign { id, to, reply } => {
                let result = self.on_assign(queue, batch, id, &to);
                batch.answer(reply, result, false);
            }
            Command::Release { id, who, reply } => {
                let result = self.on_release(queue, batch, id, &who);
                batch.answer(reply, result, true);
            }
            Command::Close {
                id,
                who,
                outcome,
                reply,
            } => {
                let result = self.on_close(queue, batch, id, &who, outcome);
                batch.answer(reply, result, true);
            }
            Command::Reply {
                id,
                who,
                text,
                reply,
            } => {
                let result = self.on_reply(queue, batch, id, &who, &text);
                batch.answer(reply, result, true);
            }
            Command::Tick => {
                if let Err(e) = self.on_tick(queue) {
                    tracing::error!(error = %e, "queue timeout check failed");
                }
            }
            Command::OnCall => {
                batch.forget_told = true;
                batch.changed = true;
            }
            Command::Presence {
                to_tell,
                to_requeue,
                reply,
            } => {
                let result = self.on_presence(queue, batch, &to_tell, &to_requeue);
                batch.answer(reply, result, true);
            }
            Command::Abandoned { id, reply } => {
                let result = self.on_abandoned(queue, batch, id);
                batch.answer(reply, result, false);
            }
        }
    }

    /// The end of a batch: one flush, then the held frames, the console frames, the
    /// published queue, the news of the change, and the answers.
    async fn finish(&self, queue: &mut Queue, batch: Batch) {
        let flush_failed = if batch.flush {
            self.flushes.fetch_add(1, Ordering::Relaxed);
            match self.store.flush().await {
                Ok(()) => None,
                Err(e) => {
                    tracing::error!(error = %e, "the handoff queue's flush failed");
                    Some(e.to_string())
                }
            }
        } else {
            None
        };
        if flush_failed.is_none() {
            for (key, seq) in batch.release {
                self.sessions.release(&key, seq);
            }
            for after in batch.after {
                after(self);
            }
        }
        if batch.forget_told {
            queue.forget_all_told();
        }
        *self.view.write().expect("queue view lock poisoned") = Arc::new(queue.clone());
        if batch.changed {
            self.after_change(queue);
        }
        for reply in batch.replies {
            reply(flush_failed.as_deref());
        }
    }

    /// After any change: consoles get the queue, waiting youths their new position.
    fn after_change(&self, queue: &mut Queue) {
        self.changed.notify_one();
        self.hub.broadcast(&ConsoleServerFrame::Queue {
            items: self.list_of(queue),
        });
        if !self.available() {
            return;
        }
        for id in queue.moved() {
            self.tell(queue, id, false, false);
        }
    }

    /// Tells a youth where their request stands: waiting with a position, connected,
    /// or unavailable with resources when nobody is on call (once per position,
    /// unless `always`). With `durable`, the frame is held: returns what to release
    /// after the flush.
    fn tell(
        &self,
        queue: &mut Queue,
        id: u64,
        always: bool,
        durable: bool,
    ) -> Option<(SessionKey, u64)> {
        let available = self.available();
        let position = queue.position(id);
        if position.is_some() && queue.tell_position(id, !always).is_none() {
            return None;
        }
        let record = queue.get(id)?;
        let event = match &record.state {
            HandoffState::Claimed { name, .. } => {
                Event::handoff_connected(record.urgent, name.clone(), None)
            }
            HandoffState::Waiting if available => {
                Event::handoff_in_queue(true, record.urgent, position, None, None)
            }
            HandoffState::Waiting => Event::handoff_in_queue(
                false,
                record.urgent,
                position,
                Some(self.resources(record)),
                Some(self.unavailable_message(&record.lang)),
            ),
        };
        let key = unhex(&record.session)?;
        let claimed = matches!(record.state, HandoffState::Claimed { .. });
        let urgent = record.urgent;
        let told = self.sessions.with(&key, |ctx| {
            if let Some(link) = ctx.record().handoff.as_mut() {
                link.urgent = urgent;
                link.connected = claimed;
            }
            if durable {
                ctx.push_durable(&event)
            } else {
                ctx.push(&event)
            }
        });
        match told {
            Ok(seq) => seq.map(|seq| (key, seq)),
            Err(e) => {
                tracing::error!(error = %e, "a youth's place in the queue could not be logged");
                self.tell_youth_failed(&key, &record.lang);
                None
            }
        }
    }

    /// Adds a line to a conversation's transcript (and its count to the request).
    fn append(
        &self,
        queue: &mut Queue,
        id: u64,
        from: Speaker,
        text: &str,
    ) -> Result<TranscriptEntry, StoreError> {
        let at = self.clock.now_ms();
        let Some(record) = queue.update(id, |r| {
            r.last_entry += 1;
            r.clone()
        }) else {
            return Err(StoreError::Flush("the request is gone".into()));
        };
        let entry = TranscriptEntry {
            seq: record.last_entry,
            from,
            text: text.to_string(),
            at,
        };
        self.store.put_transcript_line(id, &line_of(&entry))?;
        self.store.put_request(&record)?;
        Ok(entry)
    }

    #[allow(clippy::too_many_arguments)]
    fn on_request(
        &self,
        queue: &mut Queue,
        batch: &mut Batch,
        key: &SessionKey,
        client: Option<String>,
        request: &HandoffRequest,
        lang: &str,
        flow_version: &str,
        id: Option<u64>,
    ) -> Result<(), HandoffError> {
        // A request made beforehand but not used: its key goes.
        let unused = |id: Option<u64>| {
            if let Some(id) = id {
                self.store.destroy_conversation_key(id);
            }
        };
        if let Some(link) = self.link_of(key)? {
            if let Some(record) = queue.get(link.id) {
                if request.urgent && !record.urgent {
                    let record = queue
                        .update(link.id, |record| {
                            record.urgent = true;
                            // The urgent path's resources (911 first) replace the others.
                            record.resources =
                                request.resources.iter().map(|r| r.key.clone()).collect();
                            record.clone()
                        })
                        .ok_or(HandoffError::NotFound)?;
                    self.store.put_request(&record)?;
                }
                unused(id);
                let told = self.tell(queue, link.id, true, true);
                batch.hold(told);
                batch.changed = true;
                return Ok(());
            }
        }
        let refusal = if request.urgent {
            None
        } else if queue.waiting_count() >= self.max_queue {
            Some(("queue_full", Text::QueueFull))
        } else if client
            .as_deref()
            .is_some_and(|c| queue.open_from_client(c) >= self.config.max_open_per_client)
        {
            Some(("client_cap", Text::TooManyFromHere))
        } else {
            None
        };
        if let Some((label, text)) = refusal {
            unused(id);
            self.stats
                .handoff_event("handoffs_unavailable", request.urgent);
            self.stats.add("handoffs_refused", label, 1);
            let resources = request.resources.iter().map(ResourceWire::from).collect();
            let event = Event::handoff_in_queue(
                false,
                request.urgent,
                None,
                Some(resources),
                Some(say(lang, text).to_string()),
            );
            self.sessions.with(key, |ctx| ctx.push(&event))?;
            return Ok(());
        }
        let id = match id {
            Some(id) => id,
            None => {
                // A link to a request no longer open: a new one, with a new key.
                let id = self.store.generate_id()?;
                self.store.create_conversation_key(id)?;
                id
            }
        };
        let remembered = self
            .sessions
            .with(key, |ctx| ctx.transcript())?
            .unwrap_or_default();
        for (index, line) in remembered.iter().enumerate() {
            self.store.put_transcript_line(
                id,
                &TranscriptLine {
                    seq: index as u64 + 1,
                    from: line_from(line.from),
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
            resources: request.resources.iter().map(|r| r.key.clone()).collect(),
            timeout_told: false,
            last_entry: remembered.len() as u64,
            last_claim_ms: None,
            closed_ms: None,
            requeued: false,
        };
        self.store.put_request(&record)?;
        queue.insert(record, client);
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
        let told = self.tell(queue, id, true, true);
        batch.hold(told);
        batch.changed = true;
        Ok(())
    }

    fn on_lower_urgency(
        &self,
        queue: &mut Queue,
        batch: &mut Batch,
        key: &SessionKey,
    ) -> Result<(), HandoffError> {
        let Some(link) = self.link_of(key)? else {
            return Ok(());
        };
        if !queue.get(link.id).is_some_and(|r| r.urgent) {
            return Ok(());
        }
        let record = queue
            .update(link.id, |r| {
                r.urgent = false;
                r.clone()
            })
            .ok_or(HandoffError::NotFound)?;
        self.store.put_request(&record)?;
        let told = self.tell(queue, link.id, true, true);
        batch.hold(told);
        batch.changed = true;
        Ok(())
    }

    fn on_youth_message(
        &self,
        queue: &mut Queue,
        batch: &mut Batch,
        key: &SessionKey,
        text: &str,
    ) -> Result<bool, HandoffError> {
        let Some(link) = self.link_of(key)? else {
            return Ok(false);
        };
        let Some(login) = queue.holder_of(link.id).map(str::to_string) else {
            return Ok(false);
        };
        let entry = self.append(queue, link.id, Speaker::Youth, text)?;
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
        batch.hold(echoed.map(|seq| (*key, seq)));
        let id = link.id;
        batch.then(move |core| {
            core.send_to_login(&login, &message_frame(id, &entry));
            core.to_monitors(id, &entry);
        });
        Ok(true)
    }

    fn on_youth_waiting(
        &self,
        queue: &mut Queue,
        key: &SessionKey,
        text: &str,
    ) -> Result<bool, HandoffError> {
        let Some(link) = self.link_of(key)? else {
            return Ok(false);
        };
        if !queue
            .get(link.id)
            .is_some_and(|r| r.state == HandoffState::Waiting)
        {
            return Ok(false);
        }
        let entry = self.append(queue, link.id, Speaker::Youth, text)?;
        self.hub.broadcast(&message_frame(link.id, &entry));
        Ok(true)
    }

    fn on_youth_left(
        &self,
        queue: &mut Queue,
        batch: &mut Batch,
        key: &SessionKey,
    ) -> Result<(), HandoffError> {
        let Some(link) = self.link_of(key)? else {
            return Ok(());
        };
        if let Some(record) = queue.remove(link.id) {
            self.tell_holder_closed(&record, "youth_left");
            self.end_monitoring(record.id);
            self.stats.add("outcomes", "youth_left", 1);
            self.erase(record.id)?;
            batch.changed = true;
        }
        Ok(())
    }

    fn on_set_lang(
        &self,
        queue: &mut Queue,
        batch: &mut Batch,
        key: &SessionKey,
        lang: &str,
    ) -> Result<(), HandoffError> {
        let Some(link) = self.link_of(key)? else {
            return Ok(());
        };
        if queue.get(link.id).is_none_or(|r| r.lang == lang) {
            return Ok(());
        }
        let record = queue
            .update(link.id, |r| {
                r.lang = lang.to_string();
                r.clone()
            })
            .ok_or(HandoffError::NotFound)?;
        self.store.put_request(&record)?;
        batch.changed = true;
        Ok(())
    }

    fn on_claim(
        &self,
        queue: &mut Queue,
        batch: &mut Batch,
        id: u64,
        who: &Intervenor,
    ) -> Result<ClaimResponse, HandoffError> {
        let current = queue.get(id).ok_or(HandoffError::NotFound)?;
        if let HandoffState::Claimed { login, .. } = &current.state {
            if *login != who.login {
                return Err(HandoffError::Conflict);
            }
        }
        let now = self.clock.now_ms();
        let stats = &self.stats;
        let record = queue
            .update(id, |record| {
                if record.state == HandoffState::Waiting
                    && record.closed_ms.is_none()
                    && record.last_claim_ms.is_none()
                {
                    let waited = now.saturating_sub(record.created_ms);
                    stats.handoff_event("handoffs_answered", record.urgent);
                    stats.wait_time(record.urgent, waited);
                    record.last_claim_ms = Some(now);
                }
                record.state = HandoffState::Claimed {
                    login: who.login.clone(),
                    name: who.name.clone(),
                };
                record.requeued = false;
                record.clone()
            })
            .ok_or(HandoffError::NotFound)?;
        self.store.put_request(&record)?;
        queue.forget_told(id);
        if let Some(key) = unhex(&record.session) {
            let event = Event::handoff_connected(record.urgent, who.name.clone(), None);
            let told = self
                .sessions
                .with(&key, |ctx| {
                    let link = ctx.record().handoff.as_mut();
                    let newly = link.as_ref().is_some_and(|l| !l.connected);
                    if let Some(link) = link {
                        link.connected = true;
                    }
                    newly.then(|| ctx.push_durable(&event))
                })?
                .flatten()
                .map(|seq| (key, seq));
            batch.hold(told);
        } else {
            batch.hold(None);
        }
        batch.changed = true;
        Ok(ClaimResponse {
            id,
            transcript: self.transcript(id)?,
            urgent: record.urgent,
            lang: record.lang,
            topic: record.topic,
        })
    }

    fn on_assign(
        &self,
        queue: &mut Queue,
        batch: &mut Batch,
        id: u64,
        to: &Intervenor,
    ) -> Result<(), HandoffError> {
        let (previous, record) = queue
            .update(id, |record| {
                let previous = record.state.clone();
                record.state = HandoffState::Claimed {
                    login: to.login.clone(),
                    name: to.name.clone(),
                };
                (previous, record.clone())
            })
            .ok_or(HandoffError::NotFound)?;
        self.store.put_request(&record)?;
        if let HandoffState::Claimed { login, .. } = previous {
            if login != to.login {
                self.tell_closed(&login, id, "reassigned");
            }
        }
        self.tell(queue, id, true, false);
        batch.changed = true;
        Ok(())
    }

    fn on_release(
        &self,
        queue: &mut Queue,
        batch: &mut Batch,
        id: u64,
        who: &Intervenor,
    ) -> Result<(), HandoffError> {
        check_holder(queue.get(id).ok_or(HandoffError::NotFound)?, who)?;
        let record = queue
            .update(id, |record| {
                record.state = HandoffState::Waiting;
                record.clone()
            })
            .ok_or(HandoffError::NotFound)?;
        self.store.put_request(&record)?;
        // The youth hears that their person handed over, and keeps their place.
        let told = self.tell_back_in_queue(queue, id, Text::Released, false)?;
        batch.hold(told);
        batch.changed = true;
        Ok(())
    }

    fn on_close(
        &self,
        queue: &mut Queue,
        batch: &mut Batch,
        id: u64,
        who: &Intervenor,
        outcome: Outcome,
    ) -> Result<(), HandoffError> {
        check_holder(queue.get(id).ok_or(HandoffError::NotFound)?, who)?;
        let record = queue.remove(id).ok_or(HandoffError::NotFound)?;
        self.stats.add("outcomes", outcome.as_str(), 1);
        self.end_monitoring(id);
        if self.config.transcript_retention_days > 0 {
            // Kept (sealed) for continuity of care, without its link to the session,
            // then purged when the retention ends.
            self.store.put_request(&HandoffRecord {
                closed_ms: Some(self.clock.now_ms()),
                session: String::new(),
                ..record.clone()
            })?;
        } else {
            self.erase(id)?;
        }
        let mut told = None;
        if let Some(key) = unhex(&record.session) {
            let event = Event::handoff_ended(
                record.urgent,
                self.resources(&record),
                say(&record.lang, Text::HandoffEnded).to_string(),
            );
            told = self
                .sessions
                .with(&key, |ctx| {
                    ctx.record().handoff = None;
                    // The next intervenor never sees words from this conversation.
                    ctx.clear_transcript();
                    ctx.push_durable(&event)
                })?
                .map(|seq| (key, seq));
        }
        batch.hold(told);
        batch.changed = true;
        Ok(())
    }

    fn on_reply(
        &self,
        queue: &mut Queue,
        batch: &mut Batch,
        id: u64,
        who: &Intervenor,
        text: &str,
    ) -> Result<(), HandoffError> {
        let record = queue.get(id).ok_or(HandoffError::NotFound)?;
        let Some(holder) = queue.holder_of(id).map(str::to_string) else {
            return Err(HandoffError::Forbidden);
        };
        if holder != who.login && !who.is_supervisor() {
            return Err(HandoffError::Forbidden);
        }
        let session = record.session.clone();
        let entry = self.append(queue, id, Speaker::Agent, text)?;
        let mut told = None;
        if let Some(key) = unhex(&session) {
            let event = Event::Agent {
                text: text.to_string(),
                name: who.name.clone(),
                erased: false,
                at: Some(entry.at),
            };
            told = self
                .sessions
                .with(&key, |ctx| ctx.push_durable_sealed(&event, Some(id)))?
                .map(|seq| (key, seq));
        }
        batch.hold(told);
        let writer = who.login.clone();
        batch.then(move |core| {
            let frame = message_frame(id, &entry);
            core.to_monitors(id, &entry);
            core.send_to_login(&holder, &frame);
            if holder != writer {
                core.send_to_login(&writer, &frame);
            }
        });
        Ok(())
    }

    fn on_tick(&self, queue: &mut Queue) -> Result<(), StoreError> {
        let due_ms = self.config.timeout_secs * 1000;
        let now = self.clock.now_ms();
        let stats = &self.stats;
        let due = queue.update_all(|record| {
            let due = record.state == HandoffState::Waiting
                && !record.timeout_told
                && record.created_ms + due_ms <= now;
            if due {
                record.timeout_told = true;
                stats.handoff_event("handoffs_timed_out", record.urgent);
            }
            due
        });
        let mut failed = None;
        for id in due {
            if let Some(record) = queue.get(id) {
                if let Err(e) = self.store.put_request(record) {
                    failed.get_or_insert(e);
                }
            }
            self.tell_step_of(queue, id, Text::HandoffTimeout);
        }
        failed.map_or(Ok(()), Err)
    }

    fn on_presence(
        &self,
        queue: &mut Queue,
        batch: &mut Batch,
        to_tell: &[u64],
        to_requeue: &[u64],
    ) -> Result<(), HandoffError> {
        for id in to_tell {
            self.tell_away(queue, *id);
        }
        for id in to_requeue {
            let Some(record) = queue.update(*id, |record| {
                record.state = HandoffState::Waiting;
                record.requeued = true;
                record.clone()
            }) else {
                continue;
            };
            self.store.put_request(&record)?;
            self.stats.add("outcomes", "requeued_holder_away", 1);
            let told = self.tell_back_in_queue(queue, *id, Text::HolderGone, true)?;
            batch.hold(told);
            batch.changed = true;
        }
        Ok(())
    }

    fn on_abandoned(
        &self,
        queue: &mut Queue,
        batch: &mut Batch,
        id: u64,
    ) -> Result<(), HandoffError> {
        if !queue
            .get(id)
            .is_some_and(|r| r.state == HandoffState::Waiting)
        {
            return Ok(());
        }
        let Some(record) = queue.remove(id) else {
            return Ok(());
        };
        self.erase(id)?;
        if let Some(key) = unhex(&record.session) {
            let event = Event::handoff_ended(
                record.urgent,
                self.resources(&record),
                say(&record.lang, Text::HandoffAbandoned).to_string(),
            );
            self.sessions.with(&key, |ctx| {
                ctx.record().handoff = None;
                ctx.clear_transcript();
                ctx.push(&event);
            })?;
        }
        self.stats.add("outcomes", "abandoned", 1);
        batch.changed = true;
        Ok(())
    }
}

/// The task: takes every command waiting (up to [`MAX_BATCH`]), applies them, then
/// finishes the batch with one flush. It holds the shared part only during a batch,
/// so when the last handle goes the store closes at once (a restart in the same
/// process reopens it); the task ends with the channel.
async fn run(core: Weak<Core>, mut queue: Queue, mut commands: mpsc::UnboundedReceiver<Command>) {
    while let Some(first) = commands.recv().await {
        let Some(core) = core.upgrade() else {
            break;
        };
        let mut batch = Batch::default();
        core.handle(&mut queue, first, &mut batch);
        for _ in 1..MAX_BATCH {
            match commands.try_recv() {
                Ok(command) => core.handle(&mut queue, command, &mut batch),
                Err(_) => break,
            }
        }
        core.finish(&mut queue, batch).await;
    }
}
