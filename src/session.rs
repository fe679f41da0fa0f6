//! Youth sessions: their records in the store, their frame logs for resume, and the
//! socket each one is attached to. Every change to a session goes through
//! [`Sessions::with`], which serializes it: a seq is given once, the frame is logged
//! before it is sent, and a frame pushed while the youth is away waits in the log.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use dashmap::DashMap;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::flow::engine::BotMessage;
use crate::protocol::{Control, Event, InputKind, Speaker};
use crate::reports::youth::YouthReports;
use crate::store::{FrameLog, SessionKey, SessionRecord, Store, StoreError};

/// How many transcript entries a session keeps in memory for a future handoff.
const TRANSCRIPT_LEN: usize = 100;
/// Bytes of text a session keeps in memory for a future handoff (oldest go first).
pub(crate) const TRANSCRIPT_BYTES: usize = 32 * 1024;
/// Bytes of such text kept by all sessions together; past it, new lines are not
/// remembered until some leave memory.
pub(crate) const TRANSCRIPT_BYTES_TOTAL: usize = 64 * 1024 * 1024;
/// How far a resuming client's `last_seq` may be ahead of the server's: frames a
/// crash took from the log before they were written (sled writes every 500 ms).
pub(crate) const RESUME_MARGIN: u64 = 64;
/// Seconds a session without a socket stays in memory (then it is read back from
/// the store when it returns).
pub(crate) const DETACHED_IN_MEMORY_SECS: u64 = 120;
/// The line id of the engine's "not understood" answer.
const NOT_UNDERSTOOD: &str = "relais.not_understood";
/// Frames waiting for a socket before it is judged too slow and closed (it resumes).
pub(crate) const OUTBOX_LEN: usize = 512;
/// The frame log is pruned when a session's seq crosses a multiple of this: one
/// range removal every so many frames, not one removal per frame.
const PRUNE_EVERY: u64 = 32;

/// What a session's socket task sends.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Frame(String),
    /// Close the socket with this code (the session stays, unless forgotten).
    Close(u16),
}

/// A session's outbox: what its socket task sends, in order, at most
/// [`OUTBOX_LEN`] waiting. Smaller than a channel for an idle youth: a queue that
/// allocates only while frames wait and gives its room back once drained.
pub(crate) fn outbox() -> (OutboxSender, OutboxReceiver) {
    let shared = Arc::new(OutboxShared {
        queue: std::sync::Mutex::new(OutboxQueue {
            waiting: VecDeque::new(),
            senders: 1,
        }),
        ready: tokio::sync::Notify::new(),
    });
    (OutboxSender(shared.clone()), OutboxReceiver(shared))
}

struct OutboxShared {
    queue: std::sync::Mutex<OutboxQueue>,
    ready: tokio::sync::Notify,
}

struct OutboxQueue {
    waiting: VecDeque<Outgoing>,
    /// Senders still there; none: the receiver gets `None` once drained.
    senders: usize,
}

impl OutboxShared {
    fn queue(&self) -> std::sync::MutexGuard<'_, OutboxQueue> {
        // Held for a push or a pop only: a poisoned lock still holds a valid queue.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The sending side of an outbox (kept by the session it is attached to).
pub(crate) struct OutboxSender(Arc<OutboxShared>);

impl OutboxSender {
    /// Queues a message; gives it back when the outbox is full.
    pub(crate) fn try_send(&self, message: Outgoing) -> Result<(), Outgoing> {
        let mut queue = self.0.queue();
        if queue.waiting.len() >= OUTBOX_LEN {
            return Err(message);
        }
        queue.waiting.push_back(message);
        drop(queue);
        self.0.ready.notify_one();
        Ok(())
    }
}

impl Clone for OutboxSender {
    fn clone(&self) -> Self {
        self.0.queue().senders += 1;
        Self(self.0.clone())
    }
}

impl Drop for OutboxSender {
    fn drop(&mut self) {
        let mut queue = self.0.queue();
        queue.senders = queue.senders.saturating_sub(1);
        let last = queue.senders == 0;
        drop(queue);
        if last {
            self.0.ready.notify_one();
        }
    }
}

/// The receiving side of an outbox (the socket task's).
pub(crate) struct OutboxReceiver(Arc<OutboxShared>);

impl OutboxReceiver {
    /// The next message; `None` once every sender is gone and nothing waits.
    pub(crate) async fn recv(&mut self) -> Option<Outgoing> {
        loop {
            {
                let mut queue = self.0.queue();
                if let Some(message) = take(&mut queue) {
                    return Some(message);
                }
                if queue.senders == 0 {
                    return None;
                }
            }
            self.0.ready.notified().await;
        }
    }

    /// The next message if one waits now.
    pub(crate) fn try_recv(&mut self) -> Option<Outgoing> {
        take(&mut self.0.queue())
    }
}

/// Pops a message; an outbox drained after a burst gives its room back.
fn take(queue: &mut OutboxQueue) -> Option<Outgoing> {
    let message = queue.waiting.pop_front();
    if queue.waiting.is_empty() && queue.waiting.capacity() > 8 {
        queue.waiting = VecDeque::new();
    }
    message
}

/// A line of what happened before a handoff, kept in memory only.
#[derive(Debug, Clone)]
pub(crate) struct Remembered {
    pub from: Speaker,
    pub text: Arc<str>,
    pub at: u64,
}

struct Live {
    record: SessionRecord,
    /// What the bot said and what the youth chose or wrote, for the intervenor.
    transcript: VecDeque<Remembered>,
    /// The socket attached now, with its connection number.
    outbox: Option<(u64, OutboxSender)>,
    /// Frames logged but held back until the store is flushed (see `push_durable`),
    /// and the frames logged after them, so the socket sees every frame in order.
    held: VecDeque<Held>,
    /// Bytes of text in `transcript`.
    transcript_bytes: usize,
    /// When the socket went away (seconds), while none is attached.
    detached_at: Option<u64>,
    /// The last bot frame was the "not understood" answer: the next ones in a row
    /// are sent but not logged (they would fill the log with one repeated frame).
    not_understood_last: bool,
}

impl Live {
    fn new(record: SessionRecord) -> Self {
        Self {
            record,
            transcript: VecDeque::new(),
            outbox: None,
            held: VecDeque::new(),
            transcript_bytes: 0,
            detached_at: None,
            not_understood_last: false,
        }
    }
}

/// The limits of one session, kept across its sockets (a reconnect does not reset
/// them) until the session ends or has been quiet for an hour.
pub(crate) struct SessionLimits {
    pub frames: crate::limits::DirectLimiter,
    pub handoffs: crate::limits::DirectLimiter,
    pub reports: crate::limits::DirectLimiter,
    last_used: AtomicU64,
}

struct Held {
    seq: u64,
    frame: String,
    /// Waits for a flush before it may be sent.
    needs_flush: bool,
}

pub struct Sessions {
    store: Store,
    clock: Clock,
    frame_log: u64,
    /// Sessions in memory. Written by attach, detach, `with`, forget and purge.
    live: DashMap<SessionKey, Live>,
    next_connection: AtomicU64,
    /// Seconds without activity after which a session is gone.
    idle_expiry_secs: u64,
    /// Per-session limits. Written by `limits`, forget and purge.
    limits: DashMap<SessionKey, Arc<SessionLimits>>,
    /// Bytes of remembered text in memory, all sessions together.
    transcript_total: Arc<std::sync::atomic::AtomicUsize>,
    /// The youth side of reports (drafts, open reports, receipts not yet shown).
    /// Written by the chat's turns, attach, forget; outlives a session's memory.
    reports: YouthReports,
    /// How many times `with` ran (tests count the lock round trips of a frame).
    #[cfg(test)]
    with_calls: AtomicU64,
}

/// A socket just attached to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attached {
    /// The connection number (detach with it).
    pub connection: u64,
    /// The session's language (a resumed session keeps its own).
    pub lang: String,
}

/// A session being changed, inside [`Sessions::with`].
pub(crate) struct SessionCtx<'a> {
    key: &'a SessionKey,
    live: &'a mut Live,
    store: &'a Store,
    clock: Clock,
    failure: Option<StoreError>,
    transcript_total: &'a std::sync::atomic::AtomicUsize,
    reports: &'a YouthReports,
    /// The frames logged by this change, written with the record when it ends.
    log: FrameLog,
    /// What the socket gets once they are written, in order.
    out: Vec<Outgoing>,
}

impl<'a> SessionCtx<'a> {
    /// The youth side of reports (its own map, locked after this session's).
    pub(crate) fn reports(&self) -> &'a YouthReports {
        self.reports
    }
}

impl SessionCtx<'_> {
    pub(crate) fn record(&mut self) -> &mut SessionRecord {
        &mut self.live.record
    }

    pub(crate) fn key(&self) -> &SessionKey {
        self.key
    }

    /// Gives the event its seq, logs it, and sends it if a socket is attached (after
    /// any frame still held back, to keep the order).
    pub(crate) fn push(&mut self, event: &Event) -> u64 {
        let (seq, frame) = self.log(event, None);
        if self.failure.is_some() {
            // Not logged (or a frame before it was not): never sent, so the youth
            // sees no frame a resume could not give again. `with` reports it.
            return seq;
        }
        self.send_or_hold(seq, frame);
        seq
    }

    /// Logs the event but holds it back: the caller flushes the store, then calls
    /// [`Sessions::release`] with the returned seq. A frame the youth saw is then
    /// always on disk, even if the server is killed right after.
    pub(crate) fn push_durable(&mut self, event: &Event) -> u64 {
        self.push_durable_sealed(event, None)
    }

    /// `push_durable`, the logged copy encrypted with a handoff's key.
    pub(crate) fn push_durable_sealed(&mut self, event: &Event, sealed_by: Option<u64>) -> u64 {
        let (seq, frame) = self.log(event, sealed_by);
        if self.failure.is_some() {
            return seq;
        }
        self.live.held.push_back(Held {
            seq,
            frame,
            needs_flush: true,
        });
        seq
    }

    /// Gives the event its seq and adds it to this change's log (written when the
    /// change ends, before anything of it reaches the socket).
    fn log(&mut self, event: &Event, sealed_by: Option<u64>) -> (u64, String) {
        let Some(seq) = self.live.record.last_seq.checked_add(1) else {
            self.failure.get_or_insert(StoreError::SeqExhausted);
            return (
                self.live.record.last_seq,
                event.to_frame(self.live.record.last_seq),
            );
        };
        self.live.record.last_seq = seq;
        let frame = event.to_frame(seq);
        self.log.push(seq, &frame, sealed_by);
        (seq, frame)
    }

    /// Writes the frames logged so far and sends what waits for them (the record
    /// is written when the change ends).
    fn write_now(&mut self) {
        if self.failure.is_some() {
            return;
        }
        if !self.log.is_empty() {
            let log = std::mem::take(&mut self.log);
            if let Err(error) = self.store.write_turn(self.key, &log, None, None) {
                self.failure = Some(error);
                return;
            }
        }
        for message in self.out.drain(..) {
            send(&mut self.live.outbox, message);
        }
    }

    /// Sends a bot message and remembers it for a future handoff. `receipt`: the
    /// text it asks for is a follow-up code (`input: "receipt"`).
    pub(crate) fn push_bot(&mut self, bot: &BotMessage, receipt: bool) -> u64 {
        let mut event = Event::from(bot);
        if let Event::Bot { input, .. } = &mut event {
            if receipt && *input == InputKind::Text {
                *input = InputKind::Receipt;
            }
        }
        let not_understood = bot.line_id == NOT_UNDERSTOOD;
        if not_understood && self.live.not_understood_last {
            return self.push_unlogged(&event);
        }
        self.live.not_understood_last = not_understood;
        if !bot.text.is_empty() {
            self.remember(Speaker::Bot, bot.text.clone());
        }
        self.push(&event)
    }

    /// Sends a frame at once, or behind the frames held for a flush (so none overtakes
    /// a durable frame before it).
    fn send_or_hold(&mut self, seq: u64, frame: String) {
        if self.live.held.is_empty() {
            self.deliver(Outgoing::Frame(frame));
        } else {
            self.live.held.push_back(Held {
                seq,
                frame,
                needs_flush: false,
            });
        }
    }

    /// Gives the event its seq and sends it, without logging it: a resume does not
    /// replay it (the youth has the same answer just above).
    fn push_unlogged(&mut self, event: &Event) -> u64 {
        let Some(seq) = self.live.record.last_seq.checked_add(1) else {
            self.failure.get_or_insert(StoreError::SeqExhausted);
            return self.live.record.last_seq;
        };
        self.live.record.last_seq = seq;
        let frame = event.to_frame(seq);
        if self.failure.is_some() {
            return seq;
        }
        self.send_or_hold(seq, frame);
        seq
    }

    /// Keeps a line for the intervenor who may take this conversation, within
    /// the byte caps of the session and of the server (oldest lines go first).
    pub(crate) fn remember(&mut self, from: Speaker, text: Arc<str>) {
        use std::sync::atomic::Ordering::Relaxed;
        let size = text.len().min(TRANSCRIPT_BYTES);
        if self.transcript_total.load(Relaxed) + size > TRANSCRIPT_BYTES_TOTAL {
            return;
        }
        let live = &mut *self.live;
        while !live.transcript.is_empty()
            && (live.transcript.len() >= TRANSCRIPT_LEN
                || live.transcript_bytes + size > TRANSCRIPT_BYTES)
        {
            if let Some(old) = live.transcript.pop_front() {
                live.transcript_bytes -= old.text.len().min(TRANSCRIPT_BYTES);
                self.transcript_total
                    .fetch_sub(old.text.len().min(TRANSCRIPT_BYTES), Relaxed);
            }
        }
        live.transcript_bytes += size;
        self.transcript_total.fetch_add(size, Relaxed);
        live.transcript.push_back(Remembered {
            from,
            text,
            at: self.clock.now_ms(),
        });
    }

    pub(crate) fn transcript(&self) -> Vec<Remembered> {
        self.live.transcript.iter().cloned().collect()
    }

    /// Forgets the lines kept in memory (a conversation closed: the next
    /// intervenor must not see them).
    pub(crate) fn clear_transcript(&mut self) {
        self.live.transcript.clear();
    }

    /// The flow variables, to read.
    pub(crate) fn vars(&self) -> &std::collections::BTreeMap<String, String> {
        &self.live.record.vars
    }

    /// Sends the receipt waiting for this session, if any and if a socket can take
    /// it now; otherwise it keeps waiting (never on disk). Whether it went.
    pub(crate) fn deliver_pending_receipt(&mut self) -> bool {
        // What this change logged goes first (written, then sent).
        self.write_now();
        if self.failure.is_some() {
            return false;
        }
        let Some(receipt) = self.reports.take_receipt(self.key) else {
            return false;
        };
        let frame = Control::ReportReceipt {
            receipt: receipt.clone(),
        }
        .to_frame();
        let delivered = match &self.live.outbox {
            Some((_, tx)) => tx.try_send(Outgoing::Frame(frame)).is_ok(),
            None => false,
        };
        if !delivered {
            self.live.outbox = None;
            self.reports.keep_receipt(self.key, receipt);
        }
        delivered
    }

    /// Sends a frame without a seq (an error); not logged.
    pub(crate) fn send_control(&mut self, control: &Control) {
        self.deliver(Outgoing::Frame(control.to_frame()));
    }

    /// Queues a message for the socket: sent when the change ends, once its frames
    /// are written.
    fn deliver(&mut self, message: Outgoing) {
        if self.live.outbox.is_some() {
            self.out.push(message);
        }
    }
}

/// Sends to the attached socket, if any; a socket too slow or gone is dropped (the
/// youth resumes from the log).
fn send(outbox: &mut Option<(u64, OutboxSender)>, message: Outgoing) {
    if let Some((_, tx)) = outbox {
        if tx.try_send(message).is_err() {
            *outbox = None;
        }
    }
}

impl Sessions {
    pub(crate) fn new(store: Store, clock: Clock, frame_log: u64) -> Self {
        Self {
            store,
            clock,
            frame_log: frame_log.max(1),
            live: DashMap::new(),
            next_connection: AtomicU64::new(1),
            idle_expiry_secs: u64::MAX,
            limits: DashMap::new(),
            transcript_total: Default::default(),
            reports: YouthReports::default(),
            #[cfg(test)]
            with_calls: AtomicU64::new(0),
        }
    }

    /// Sessions idle this long are gone, even before the purge removes them.
    pub(crate) fn expiring_after(mut self, idle_secs: u64) -> Self {
        self.idle_expiry_secs = idle_secs;
        self
    }

    fn expired(&self, record: &SessionRecord) -> bool {
        record.last_active.saturating_add(self.idle_expiry_secs) <= self.clock.now_secs()
    }

    /// The limits of a session, made at first use from the configured quotas.
    pub(crate) fn limits(
        &self,
        key: &SessionKey,
        make: impl FnOnce() -> (
            crate::limits::DirectLimiter,
            crate::limits::DirectLimiter,
            crate::limits::DirectLimiter,
        ),
    ) -> Arc<SessionLimits> {
        let limits = self
            .limits
            .entry(*key)
            .or_insert_with(|| {
                let (frames, handoffs, reports) = make();
                Arc::new(SessionLimits {
                    frames,
                    handoffs,
                    reports,
                    last_used: AtomicU64::new(0),
                })
            })
            .clone();
        limits
            .last_used
            .store(self.clock.now_secs(), Ordering::Relaxed);
        limits
    }

    /// Whether a resuming client claims more frames than the server ever sent,
    /// beyond the margin a crash can explain. `false` for an unknown session.
    pub(crate) fn resume_is_ahead(
        &self,
        key: &SessionKey,
        last_seq: u64,
    ) -> Result<bool, StoreError> {
        let Some(live) = self.load(key)? else {
            return Ok(false);
        };
        Ok(last_seq > live.record.last_seq.saturating_add(RESUME_MARGIN))
    }

    /// Makes a new session; returns its token (given to the youth once) and its key.
    pub(crate) fn create(
        &self,
        lang: &str,
        flow_version: &str,
    ) -> Result<(String, SessionKey), StoreError> {
        let mut secret = [0u8; 24];
        rand::rng().fill_bytes(&mut secret);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        let key = key_of(&token);
        let record = SessionRecord {
            flow_version: flow_version.to_string(),
            node: None,
            vars: Default::default(),
            lang: lang.to_string(),
            last_seq: 0,
            last_active: self.clock.now_secs(),
            handoff: None,
        };
        self.store.put_session(&key, &record)?;
        self.live.insert(key, Live::new(record));
        Ok((token, key))
    }

    /// Attaches a socket: under the session's lock, sends `welcome` and then every
    /// logged frame after `last_seq`, so nothing pushed meanwhile can slip between.
    /// Returns the connection number, or `None` when the session does not exist.
    pub(crate) fn attach(
        &self,
        key: &SessionKey,
        token: &str,
        resumed: bool,
        last_seq: u64,
        tx: OutboxSender,
    ) -> Result<Option<Attached>, StoreError> {
        let Some(mut live) = self.load(key)? else {
            return Ok(None);
        };
        let connection = self.next_connection.fetch_add(1, Ordering::Relaxed);
        if let Some((_, previous)) = live.outbox.take() {
            // The same session opened elsewhere: the older socket gives way.
            let _ = previous.try_send(Outgoing::Close(4000));
        }
        live.record.last_active = self.clock.now_secs();
        live.detached_at = None;
        if last_seq > live.record.last_seq
            && last_seq <= live.record.last_seq.saturating_add(RESUME_MARGIN)
        {
            // The youth saw frames a crash took from the store: number the next ones
            // after what they saw, so none is mistaken for one already shown.
            live.record.last_seq = last_seq;
            self.store.put_session(key, &live.record)?;
        }
        let welcome = Control::Welcome {
            token: token.to_string(),
            resumed,
            lang: live.record.lang.clone(),
            last_seq: live.record.last_seq,
        };
        let _ = tx.try_send(Outgoing::Frame(welcome.to_frame()));
        // Frames still held back are sent when released, not here.
        let held_from = live.held.front().map_or(u64::MAX, |h| h.seq);
        for (seq, frame) in self.store.frames_after(key, last_seq)? {
            if seq >= held_from {
                break;
            }
            let frame = match frame {
                crate::store::StoredFrame::Json(frame) => frame,
                crate::store::StoredFrame::Erased { seq } => {
                    Event::erased_agent_message().to_frame(seq)
                }
            };
            let _ = tx.try_send(Outgoing::Frame(frame));
        }
        if let Some(receipt) = self.reports.take_receipt(key) {
            let frame = Control::ReportReceipt {
                receipt: receipt.clone(),
            }
            .to_frame();
            if tx.try_send(Outgoing::Frame(frame)).is_err() {
                // The new socket is already full: the receipt waits for the next.
                self.reports.keep_receipt(key, receipt);
            }
        }
        let lang = live.record.lang.clone();
        live.outbox = Some((connection, tx));
        Ok(Some(Attached { connection, lang }))
    }

    /// Sends the held frames up to `seq` (now flushed) and those after them that
    /// need no flush, in order.
    pub(crate) fn release(&self, key: &SessionKey, seq: u64) {
        let Some(mut live) = self.live.get_mut(key) else {
            return;
        };
        for held in live.held.iter_mut() {
            if held.seq <= seq {
                held.needs_flush = false;
            }
        }
        while live.held.front().is_some_and(|h| !h.needs_flush) {
            let Some(held) = live.held.pop_front() else {
                break;
            };
            if let Some((_, tx)) = &live.outbox {
                if tx.try_send(Outgoing::Frame(held.frame)).is_err() {
                    live.outbox = None;
                }
            }
        }
    }

    /// Detaches a socket, if it is still the one attached.
    pub(crate) fn detach(&self, key: &SessionKey, connection: u64) {
        if let Some(mut live) = self.live.get_mut(key) {
            if live.outbox.as_ref().is_some_and(|(c, _)| *c == connection) {
                live.outbox = None;
                live.detached_at = Some(self.clock.now_secs());
            }
        }
    }

    /// Runs `change` on a session under its lock, then saves it. `None` when the
    /// session does not exist (forgotten or expired).
    pub(crate) fn with<R>(
        &self,
        key: &SessionKey,
        change: impl FnOnce(&mut SessionCtx<'_>) -> R,
    ) -> Result<Option<R>, StoreError> {
        #[cfg(test)]
        self.with_calls.fetch_add(1, Ordering::Relaxed);
        let Some(mut live) = self.load(key)? else {
            return Ok(None);
        };
        let before = live.record.clone();
        let mut ctx = SessionCtx {
            key,
            live: &mut live,
            store: &self.store,
            clock: self.clock,
            failure: None,
            transcript_total: &self.transcript_total,
            reports: &self.reports,
            log: FrameLog::default(),
            out: Vec::new(),
        };
        let result = change(&mut ctx);
        let (log, out) = (std::mem::take(&mut ctx.log), std::mem::take(&mut ctx.out));
        let failure = ctx.failure.take();
        // Frames this change held back are sent only if they are written.
        let unwritten = |live: &mut Live| live.held.retain(|h| h.seq <= before.last_seq);
        if let Some(error) = failure {
            unwritten(&mut live);
            return Err(error);
        }
        let changed = live.record != before;
        if changed || !log.is_empty() {
            // The log is pruned by range when the seq crosses a multiple of
            // `PRUNE_EVERY`: the `frame_log` last frames (at least) stay.
            let seq = live.record.last_seq;
            let keep_from = (seq / PRUNE_EVERY != before.last_seq / PRUNE_EVERY
                && seq > self.frame_log)
                .then(|| seq - self.frame_log + 1);
            if let Err(error) =
                self.store
                    .write_turn(key, &log, changed.then_some(&live.record), keep_from)
            {
                unwritten(&mut live);
                return Err(error);
            }
        }
        for message in out {
            send(&mut live.outbox, message);
        }
        Ok(Some(result))
    }

    /// The session in memory, loaded from the store when it is not.
    fn load(
        &self,
        key: &SessionKey,
    ) -> Result<Option<dashmap::mapref::one::RefMut<'_, SessionKey, Live>>, StoreError> {
        if let Some(live) = self.live.get_mut(key) {
            if live.outbox.is_none() && self.expired(&live.record) {
                return Ok(None);
            }
            return Ok(Some(live));
        }
        let Some(mut record) = self.store.session(key)? else {
            return Ok(None);
        };
        // Frames a crash kept while it took the record's last count: numbered after.
        record.last_seq = record.last_seq.max(self.store.last_logged_seq(key)?);
        if self.expired(&record) {
            // Idle past its expiry: gone, even if the purge has not run yet.
            return Ok(None);
        }
        let entry = self.live.entry(*key).or_insert(Live::new(record));
        Ok(Some(entry))
    }

    /// Erases a session at once, in memory and in the store; closes its socket.
    pub(crate) fn forget(&self, key: &SessionKey) -> Result<(), StoreError> {
        if let Some((_, live)) = self.live.remove(key) {
            self.transcript_total
                .fetch_sub(live.transcript_bytes, Ordering::Relaxed);
            if let Some((_, tx)) = live.outbox {
                let _ = tx.try_send(Outgoing::Close(1000));
            }
        }
        self.limits.remove(key);
        self.reports.forget(key);
        self.store.delete_session(key)
    }

    /// Sessions without a socket for a while leave memory (their text for a
    /// future intervenor with them); a receipt not yet shown waits outside them
    /// (`YouthReports`) and stays.
    pub(crate) fn evict_detached(&self) {
        let now = self.clock.now_secs();
        let total = &self.transcript_total;
        let keys = &self.store.keys;
        let reports = &self.reports;
        self.live.retain(|key, live| {
            let keep = live.outbox.is_some()
                || !live.held.is_empty()
                || live
                    .detached_at
                    .is_none_or(|at| now.saturating_sub(at) < DETACHED_IN_MEMORY_SECS);
            if !keep {
                total.fetch_sub(live.transcript_bytes, Ordering::Relaxed);
                keys.uncache(&crate::store::keys::session_key(key));
                reports.session_left_memory(key);
            }
            keep
        });
        self.limits
            .retain(|_, l| now.saturating_sub(l.last_used.load(Ordering::Relaxed)) < 3600);
    }

    /// Deletes sessions idle for longer than `idle_secs`; returns their keys.
    pub(crate) fn purge_expired(&self, idle_secs: u64) -> Result<Vec<SessionKey>, StoreError> {
        let now = self.clock.now_secs();
        let mut expired = Vec::new();
        for entry in self.store.sessions() {
            let (key, record) = entry?;
            let attached = self
                .live
                .get(&key)
                .is_some_and(|live| live.outbox.is_some());
            if !attached && record.last_active + idle_secs <= now {
                expired.push(key);
            }
        }
        for key in &expired {
            self.forget(key)?;
        }
        self.store.drop_unreadable_sessions()?;
        // Sessions nobody is attached to need not stay in memory.
        let total = &self.transcript_total;
        let reports = &self.reports;
        self.live.retain(|key, live| {
            let keep = live.outbox.is_some() || !live.held.is_empty();
            if !keep {
                total.fetch_sub(live.transcript_bytes, Ordering::Relaxed);
                reports.session_left_memory(key);
            }
            keep
        });
        Ok(expired)
    }

    /// Whether a socket is attached to this session now.
    pub(crate) fn is_attached(&self, key: &SessionKey) -> bool {
        self.live.get(key).is_some_and(|live| live.outbox.is_some())
    }

    /// How many sockets are attached now.
    pub fn attached(&self) -> usize {
        self.live.iter().filter(|l| l.outbox.is_some()).count()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The youth side of reports.
    pub(crate) fn reports(&self) -> &YouthReports {
        &self.reports
    }

    /// How many times `with` ran so far.
    #[cfg(test)]
    pub(crate) fn with_calls(&self) -> u64 {
        self.with_calls.load(Ordering::Relaxed)
    }
}

/// A session's key: the SHA-256 of its token.
pub fn key_of(token: &str) -> SessionKey {
    Sha256::digest(token.as_bytes()).into()
}
