//! One youth's conversation, frame by frame, below the socket: a frame read by the
//! transport (`chat::ws`) comes here and goes to the engine, the live handoff or
//! the reports. A frame takes the session's lock once (`Sessions::with`): that one
//! look says whether an intervenor holds the conversation and, when none does, runs
//! the engine's turn and sends its frames. What the turn leaves for outside the lock
//! (a request for a person, a report, a follow-up code) follows, in order.
//!
//! Store errors never change what happens silently: each is logged with its cause
//! (never an identity or a text) and the youth gets one sentence saying what did not
//! happen.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::ChatState;
use crate::flow::engine::{self, HandoffRequest, Input, Output};
use crate::flow::model::{FlowSet, Target, SOURCE_LANG};
use crate::limits::{check_direct, check_keyed, frame_limiter, handoff_limiter, ClientKey};
use crate::messages::{say, Text};
use crate::protocol::{Control, ErrorCode, Event, InputKind, Resume, Speaker};
use crate::reports::youth;
use crate::reports::ReportError;
use crate::session::{key_of, OutboxSender, SessionCtx, SessionLimits};
use crate::store::{SessionKey, StoreError};

/// Close codes the conversation may ask the transport for.
pub(crate) const POLICY: u16 = 1008;
pub(crate) const TRY_AGAIN: u16 = 1013;

/// Requests for a person refused by their limit try again after this.
const HANDOFF_RETRY: Duration = Duration::from_secs(60);

/// What the transport does after a frame.
#[derive(Debug)]
pub(crate) enum Handled {
    Continue,
    /// Send this frame (no seq) on the socket.
    Reply(Control),
    /// The session is erased: say `forgotten` and close.
    Forgotten,
}

/// A conversation that could not begin: the frames to send, then the close code.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub frames: Vec<Control>,
    pub close: u16,
}

/// A conversation that began, with the frames to send before its own (an unknown
/// session's notice comes before the new session's `welcome`).
pub(crate) struct Begun {
    pub conversation: Conversation,
    pub before: Vec<Control>,
}

/// One session seen from its socket.
pub(crate) struct Conversation {
    app: Arc<ChatState>,
    key: SessionKey,
    client: ClientKey,
    connection: u64,
    /// The limits of the session (kept across its sockets).
    limits: Arc<SessionLimits>,
    /// The session's language, as of its last frame (for error sentences).
    lang: String,
}

/// What a turn left to do outside the session's lock.
struct TurnOutcome {
    not_expected: bool,
    /// From the first output that needs async work (a handoff, a report), every
    /// output still to handle, in order.
    deferred: Vec<Output>,
    lang: String,
    flow_version: String,
    /// The `theme` variable after the turn (a general request takes it as topic).
    theme: Option<String>,
    /// The conversation waits at a receipt lookup (its question asks for a code).
    at_receipt: bool,
}

/// What one look at the session, under its lock, found and did.
enum Looked {
    /// An intervenor holds the conversation: the flow is muted, nothing ran.
    Live,
    /// The engine ran (or refused the input as not expected).
    Turned {
        /// A request for a person exists (waiting or held).
        had_request: bool,
        outcome: TurnOutcome,
    },
}

/// How the engine moves in a turn.
#[derive(Clone, Copy)]
enum Move<'a> {
    /// What the youth did, with a new language for a `restart`.
    Input(Input<'a>, Option<&'a str>),
    /// Continue at a node (after a receipt lookup).
    GoTo(&'a Target),
}

/// Why a look at the session under its lock failed.
#[derive(Debug, PartialEq, Eq)]
enum LookFailed {
    /// The session is forgotten or expired.
    Gone,
    /// The store could not give the session: nothing ran.
    Unreadable,
    /// The turn ran but its frames or the session could not be saved.
    NotSaved,
    /// The conversation's flow version could not be read: nothing ran.
    FlowUnreadable,
}

impl LookFailed {
    /// What the youth is told.
    fn reply(&self, lang: &str) -> Control {
        match self {
            LookFailed::Gone => {
                Control::said(lang, ErrorCode::UnknownSession, Text::UnknownSession)
            }
            LookFailed::Unreadable => Control::internal(lang, Text::SessionUnreadable),
            LookFailed::NotSaved => Control::internal(lang, Text::NotSaved),
            LookFailed::FlowUnreadable => Control::internal(lang, Text::FlowUnavailable),
        }
    }
}

/// A store error under the lock, told apart by whether the closure ran.
fn failed_look(error: &StoreError, ran: bool) -> LookFailed {
    if ran {
        tracing::error!(error = %error, "a turn's frames or session could not be saved");
        LookFailed::NotSaved
    } else {
        tracing::error!(error = %error, "a session could not be read");
        LookFailed::Unreadable
    }
}

/// Opens the conversation a `hello` asks for: resumes the session, or makes a new
/// one (limited per client and for everyone) and runs its first turn, whose
/// deferred steps are handled like every other turn's.
pub(crate) async fn begin(
    app: &Arc<ChatState>,
    client: ClientKey,
    lang: Option<String>,
    resume: Option<Resume>,
    tx: OutboxSender,
) -> Result<Begun, Refusal> {
    let flows = app.flows.current();
    let lang = lang
        .filter(|l| flows.has_language(l))
        .unwrap_or_else(|| SOURCE_LANG.to_string());
    let refuse = |frames: Vec<Control>, close: u16| Refusal { frames, close };
    let mut before = Vec::new();
    let mut attached = None;
    if let Some(resume) = resume {
        let key = key_of(&resume.token);
        match app.sessions.resume_is_ahead(&key, resume.last_seq) {
            Ok(false) => {}
            Ok(true) => {
                // More frames seen than the server ever sent: a client's number is
                // not trusted (it would renumber or overflow the log).
                let control = Control::said(&lang, ErrorCode::BadRequest, Text::ResumeAhead);
                return Err(refuse(vec![control], POLICY));
            }
            Err(e) => {
                tracing::error!(error = %e, "could not read a session to resume");
                return Err(refuse(
                    vec![Control::internal(&lang, Text::Internal)],
                    TRY_AGAIN,
                ));
            }
        }
        match app
            .sessions
            .attach(&key, &resume.token, true, resume.last_seq, tx.clone())
        {
            Ok(Some(found)) => attached = Some((key, found)),
            Ok(None) => before.push(Control::said(
                &lang,
                ErrorCode::UnknownSession,
                Text::UnknownSession,
            )),
            Err(e) => {
                tracing::error!(error = %e, "could not resume a session");
                return Err(refuse(
                    vec![Control::internal(&lang, Text::Internal)],
                    TRY_AGAIN,
                ));
            }
        }
    }
    let (key, attached, first) = match attached {
        Some((key, found)) => (key, found, None),
        None => {
            let limited = check_keyed(&app.limits.sessions, &client)
                .err()
                .or_else(|| check_direct(&app.limits.sessions_global));
            if let Some(wait) = limited {
                before.push(Control::rate_limited(&lang, wait));
                return Err(refuse(before, POLICY));
            }
            match start(app, &lang, tx) {
                Ok((key, found, first)) => (key, found, Some(first)),
                Err(e) => {
                    tracing::error!(error = %e, "could not start a session");
                    before.push(Control::internal(&lang, Text::Internal));
                    return Err(refuse(before, TRY_AGAIN));
                }
            }
        }
    };
    // Consoles holding or seeing this youth's request learn they are back.
    app.handoffs.youth_presence_changed(&key);
    let config = &app.config.limits;
    // The limits belong to the session, not to this socket: a reconnect keeps them.
    let limits = app.sessions.limits(&key, || {
        (
            frame_limiter(config, app.clock),
            handoff_limiter(config, app.clock),
            crate::limits::session_report_limiter(config, app.clock),
        )
    });
    let mut conversation = Conversation {
        app: app.clone(),
        key,
        client,
        connection: attached.connection,
        limits,
        lang: attached.lang,
    };
    if let Some(first) = first {
        match first {
            Ok(outcome) => {
                conversation.lang = outcome.lang.clone();
                if let Handled::Reply(control) = conversation.after_turn(outcome).await {
                    // After the welcome and the first frames, in the session's order.
                    conversation.send_in_order(&control);
                }
            }
            Err(failed) => conversation.send_in_order(&failed.reply(&conversation.lang)),
        }
    }
    Ok(Begun {
        conversation,
        before,
    })
}

/// Creates a session, attaches the socket (which sends `welcome`), and runs the
/// flow's first turn.
#[allow(clippy::type_complexity)]
fn start(
    app: &ChatState,
    lang: &str,
    tx: OutboxSender,
) -> Result<
    (
        SessionKey,
        crate::session::Attached,
        Result<TurnOutcome, LookFailed>,
    ),
    StoreError,
> {
    let flows = app.flows.current();
    let (token, key) = app.sessions.create(lang, &flows.version)?;
    let attached = app
        .sessions
        .attach(&key, &token, false, 0, tx)?
        .unwrap_or_else(|| crate::session::Attached {
            connection: 0,
            lang: lang.to_string(),
        });
    app.stats.session_started(lang);
    let first =
        look(app, &key, Move::Input(Input::Start, None), false).and_then(|looked| match looked {
            Looked::Turned { outcome, .. } => Ok(outcome),
            Looked::Live => Err(LookFailed::Gone),
        });
    Ok((key, attached, first))
}

impl Conversation {
    /// The session's language, for the transport's own error frames.
    pub(crate) fn lang(&self) -> &str {
        &self.lang
    }

    /// The session's limits (the transport checks the frame rate).
    pub(crate) fn limits(&self) -> &SessionLimits {
        &self.limits
    }

    /// The socket went away: the session stays, resumable.
    pub(crate) fn end(self) {
        self.app.sessions.detach(&self.key, self.connection);
        self.app.handoffs.youth_presence_changed(&self.key);
    }

    /// Handles one frame of the youth's.
    pub(crate) async fn handle(&mut self, frame: crate::protocol::ClientFrame) -> Handled {
        use crate::protocol::ClientFrame;
        let lang = self.lang.clone();
        match frame {
            ClientFrame::Hello { .. } => Handled::Reply(Control::said(
                &lang,
                ErrorCode::BadRequest,
                Text::AlreadyStarted,
            )),
            ClientFrame::Forget => self.forget().await,
            ClientFrame::Text { text } => {
                if text.chars().count() > self.app.config.limits.max_text_chars {
                    return Handled::Reply(Control::said(
                        &lang,
                        ErrorCode::TooLarge,
                        Text::TextTooLong,
                    ));
                }
                self.text(text).await
            }
            ClientFrame::Choose { id } => self.muted_when_live(Input::Choose(&id), None).await,
            ClientFrame::Restart { lang: new_lang } => {
                self.muted_when_live(Input::Restart, new_lang.as_deref())
                    .await
            }
            ClientFrame::Typing => {
                self.typing();
                Handled::Continue
            }
            ClientFrame::Lang { lang: new_lang } => self.switch_lang(&new_lang),
        }
    }

    async fn forget(&mut self) -> Handled {
        if let Err(e) = self.app.handoffs.youth_left(&self.key).await {
            tracing::error!(error = %e, "could not close a handoff on forget");
        }
        match self.app.sessions.forget(&self.key) {
            Ok(()) => Handled::Forgotten,
            Err(e) => {
                tracing::error!(error = %e, "could not forget a session");
                Handled::Reply(Control::internal(&self.lang, Text::Internal))
            }
        }
    }

    /// Free text: to the intervenor holding the conversation, else to the engine
    /// (and to the waiting request's transcript). One look at the session decides
    /// and runs the turn.
    async fn text(&mut self, text: String) -> Handled {
        let looked = match self.look(Move::Input(Input::Text(&text), None), true) {
            Ok(looked) => looked,
            Err(failed) => return Handled::Reply(failed.reply(&self.lang)),
        };
        let (had_request, outcome) = match looked {
            Looked::Live => {
                return match self.app.handoffs.youth_message(&self.key, &text).await {
                    Ok(_) => Handled::Continue,
                    Err(e) => {
                        tracing::error!(error = %e, "could not relay a youth message");
                        Handled::Reply(Control::internal(&self.lang, Text::Internal))
                    }
                };
            }
            Looked::Turned {
                had_request,
                outcome,
            } => (had_request, outcome),
        };
        if had_request {
            // Words written while the request waits reach the intervenor too.
            if let Err(e) = self.app.handoffs.youth_waiting(&self.key, &text).await {
                tracing::error!(error = %e, "could not keep a youth message for the queue");
            }
        }
        self.after_turn(outcome).await
    }

    /// A choice or a restart: `not_expected` while an intervenor holds the
    /// conversation, else the engine's turn.
    async fn muted_when_live(&mut self, input: Input<'_>, new_lang: Option<&str>) -> Handled {
        let (had_request, outcome) = match self.look(Move::Input(input, new_lang), true) {
            Ok(Looked::Turned {
                had_request,
                outcome,
            }) => (had_request, outcome),
            Ok(Looked::Live) => {
                return Handled::Reply(Control::said(
                    &self.lang,
                    ErrorCode::NotExpected,
                    Text::NotExpected,
                ))
            }
            Err(failed) => return Handled::Reply(failed.reply(&self.lang)),
        };
        if matches!(input, Input::Restart) && had_request && !outcome.not_expected {
            // A request still in the queue follows the new language.
            if let Err(e) = self.app.handoffs.set_lang(&self.key, &outcome.lang) {
                tracing::error!(error = %e, "could not change a request's language");
            }
        }
        self.after_turn(outcome).await
    }

    /// The youth is typing: relayed to the holder only.
    fn typing(&self) {
        let live = self.app.sessions.with(&self.key, |ctx| {
            ctx.record().handoff.as_ref().is_some_and(|h| h.connected)
        });
        match live {
            Ok(Some(true)) => {
                if let Err(e) = self.app.handoffs.youth_typing(&self.key) {
                    tracing::error!(error = %e, "could not relay typing");
                }
            }
            Ok(_) => {}
            // A signal without content: nothing to tell the youth, but not hidden.
            Err(e) => tracing::error!(error = %e, "could not read a session for typing"),
        }
    }

    /// The language switch during a request for a person: the session and its
    /// request take the new language (no restart, nothing cleared).
    fn switch_lang(&mut self, new_lang: &str) -> Handled {
        if !self.app.flows.current().has_language(new_lang) {
            return Handled::Continue;
        }
        let changed = self.app.sessions.with(&self.key, |ctx| {
            ctx.record().lang = new_lang.to_string();
        });
        match changed
            .map_err(crate::handoff::HandoffError::from)
            .and_then(|_| self.app.handoffs.set_lang(&self.key, new_lang))
        {
            Ok(()) => {
                self.lang = new_lang.to_string();
                Handled::Continue
            }
            Err(e) => {
                tracing::error!(error = %e, "could not switch a session's language");
                Handled::Reply(Control::internal(&self.lang, Text::Internal))
            }
        }
    }

    /// One look at the session under its lock (see [`look`]); keeps its language.
    fn look(&mut self, step: Move<'_>, muted_when_live: bool) -> Result<Looked, LookFailed> {
        let looked = look(&self.app, &self.key, step, muted_when_live)?;
        if let Looked::Turned { outcome, .. } = &looked {
            self.lang = outcome.lang.clone();
        }
        Ok(looked)
    }

    /// Sends a frame after those already on their way to the socket (through the
    /// session's outbox, so it keeps the session's order).
    fn send_in_order(&self, control: &Control) {
        if let Err(e) = self
            .app
            .sessions
            .with(&self.key, |ctx| ctx.send_control(control))
        {
            tracing::error!(error = %e, "could not send an error frame in order");
        }
    }

    /// What a turn left to do outside the session's lock, in order: the async
    /// steps, and the frames that must come after them.
    async fn after_turn(&mut self, mut outcome: TurnOutcome) -> Handled {
        if outcome.not_expected {
            return Handled::Reply(Control::said(
                &self.lang,
                ErrorCode::NotExpected,
                Text::NotExpected,
            ));
        }
        let mut deferred: VecDeque<Output> = std::mem::take(&mut outcome.deferred).into();
        while let Some(output) = deferred.pop_front() {
            let reply = match output {
                Output::Handoff(request) => self.ask_for_a_person(request, &outcome).await,
                Output::LowerUrgency => match self.app.handoffs.lower_urgency(&self.key).await {
                    Ok(()) => None,
                    Err(e) => {
                        tracing::error!(error = %e, "a request could not be made normal");
                        Some(Control::internal(&self.lang, Text::Internal))
                    }
                },
                Output::ReportSubmit => self.submit_report(&outcome.lang).await,
                Output::ReportAppend { text } => self.append_to_report(text).await,
                Output::ReceiptTyped {
                    text,
                    found,
                    missing,
                } => match self.open_report(text, &outcome.lang).await {
                    Ok(opened) => {
                        let target = if opened { found } else { missing };
                        match self.look(Move::GoTo(&target), false) {
                            Ok(Looked::Turned { outcome: more, .. }) => {
                                // The flow goes on from the chosen node; its own
                                // deferred steps come before the rest.
                                for output in more.deferred.into_iter().rev() {
                                    deferred.push_front(output);
                                }
                                outcome.lang = more.lang;
                                outcome.theme = more.theme;
                                outcome.at_receipt = more.at_receipt;
                                None
                            }
                            Ok(Looked::Live) => None,
                            Err(failed) => Some(failed.reply(&self.lang)),
                        }
                    }
                    Err(control) => Some(control),
                },
                other => {
                    // Frames after an async step: sent now, in order, up to the next
                    // async step, under one lock.
                    deferred.push_front(other);
                    let outputs: Vec<Output> = deferred.drain(..).collect();
                    let at_receipt = outcome.at_receipt;
                    let app = &self.app;
                    let mut ran = false;
                    match app.sessions.with(&self.key, |ctx| {
                        ran = true;
                        push_until_async(ctx, outputs, at_receipt)
                    }) {
                        Ok(Some(left)) => {
                            deferred = left.into();
                            None
                        }
                        Ok(None) => Some(LookFailed::Gone.reply(&self.lang)),
                        Err(e) => Some(failed_look(&e, ran).reply(&self.lang)),
                    }
                }
            };
            if let Some(control) = reply {
                return Handled::Reply(control);
            }
        }
        Handled::Continue
    }

    /// A request for a person: limited unless urgent, refused neutrally after
    /// abuse, else queued (written and flushed before the youth is told).
    async fn ask_for_a_person(
        &self,
        request: HandoffRequest,
        outcome: &TurnOutcome,
    ) -> Option<Control> {
        let app = &self.app;
        // An urgent request is never refused by a limit.
        if !request.urgent
            && (check_direct(&self.limits.handoffs).is_some()
                || check_direct(&app.limits.handoffs_global).is_some())
        {
            return Some(Control::rate_limited(&self.lang, HANDOFF_RETRY));
        }
        if !request.urgent && app.blocks.refuses(&self.key, &self.client) {
            // Ended as abusive not long ago: the neutral answer (crate::abuse).
            return crate::abuse::refuse(
                &app.stats,
                &app.sessions,
                &self.key,
                &request,
                &outcome.lang,
            );
        }
        app.blocks.note_client(&self.key, &self.client);
        app.stats.handoff_requested(request.urgent);
        let request = with_theme(request, outcome.theme.as_deref());
        let counted =
            crate::handoff::counted_client(&app.limits, app.clock.now_secs(), &self.client);
        match app
            .handoffs
            .request_from(
                &self.key,
                counted,
                &request,
                &outcome.lang,
                &outcome.flow_version,
            )
            .await
        {
            Ok(()) => None,
            Err(e) => {
                tracing::error!(error = %e, "a request for a human failed");
                Some(Control::internal(&self.lang, Text::Internal))
            }
        }
    }

    /// Stores the report written so far and shows its receipt, once. Limited per
    /// session, per client key and for everyone together: each report costs an
    /// argon2id hash, a key file and 90 days of someone's attention.
    async fn submit_report(&self, lang: &str) -> Option<Control> {
        let app = &self.app;
        let limited = check_direct(&self.limits.reports)
            .or_else(|| check_keyed(&app.limits.reports, &self.client).err())
            .or_else(|| check_direct(&app.limits.reports_global));
        if let Some(wait) = limited {
            return Some(Control::reports_limited(lang, wait));
        }
        let desks = app.sessions.reports();
        let vars = match app.sessions.with(&self.key, |ctx| ctx.vars().clone()) {
            Ok(Some(vars)) => vars,
            Ok(None) => return Some(LookFailed::Gone.reply(lang)),
            Err(e) => {
                tracing::error!(error = %e, "a report's session could not be read");
                return Some(Control::internal(lang, Text::ReportNotSaved));
            }
        };
        let answers = desks.fields(&self.key, &vars);
        let (id, receipt) =
            match youth::submit(app.reports.clone(), answers, vars, lang.to_string()).await {
                Ok(stored) => stored,
                Err(e) => {
                    tracing::error!(error = %e, "a report could not be stored");
                    return Some(Control::internal(lang, Text::ReportNotSaved));
                }
            };
        app.stats.add("reports", "submitted", 1);
        app.reports.changed(id, true);
        desks.set_open(&self.key, id);
        // Kept first: whatever fails next, the receipt waits for a socket.
        desks.keep_receipt(&self.key, receipt);
        let mut delivered = false;
        let shown = app.sessions.with(&self.key, |ctx| {
            let key = *ctx.key();
            ctx.reports().clear_draft(&key, &mut ctx.record().vars);
            delivered = ctx.deliver_pending_receipt();
        });
        match shown {
            Ok(Some(())) => None,
            Ok(None) => {
                // Forgotten meanwhile: no socket will ever take it.
                desks.forget(&self.key);
                None
            }
            Err(e) => {
                tracing::error!(error = %e, "a stored report's session could not be saved");
                (!delivered).then(|| Control::internal(lang, Text::ReceiptLater))
            }
        }
    }

    /// Looks a follow-up code up (limited per client and for everyone), and shows
    /// the report's status and messages when it opens one. `Ok(false)` for a wrong
    /// or a missing code alike; a store that cannot answer is not "no such report".
    async fn open_report(&self, typed: String, lang: &str) -> Result<bool, Control> {
        let app = &self.app;
        if let Some(wait) = app.limits.check_receipt(&self.client) {
            return Err(Control::rate_limited(lang, wait));
        }
        let found = youth::lookup(app.reports.clone(), typed)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "a follow-up code could not be checked");
                Control::internal(lang, Text::ReceiptCheckFailed)
            })?;
        let Some(id) = found else {
            return Ok(false);
        };
        let status = match youth::status_frame(&app.reports, id) {
            Ok(status) => status,
            // Erased since (retention): no such report any more.
            Err(ReportError::NotFound | ReportError::Erased) => return Ok(false),
            Err(e) => {
                tracing::error!(error = %e, "a report could not be read for its reporter");
                return Err(Control::internal(lang, Text::ReceiptCheckFailed));
            }
        };
        app.sessions.reports().set_open(&self.key, id);
        match app
            .sessions
            .with(&self.key, |ctx| ctx.send_control(&status))
        {
            Ok(Some(())) => Ok(true),
            Ok(None) => Err(LookFailed::Gone.reply(lang)),
            Err(e) => {
                tracing::error!(error = %e, "a session could not be read to show a report");
                Err(Control::internal(lang, Text::Internal))
            }
        }
    }

    /// Adds what the youth wrote to the report they opened, then shows it again.
    async fn append_to_report(&self, text: String) -> Option<Control> {
        let app = &self.app;
        let Some(id) = app.sessions.reports().opened(&self.key) else {
            return Some(Control::said(
                &self.lang,
                ErrorCode::NotExpected,
                Text::ReportNotOpen,
            ));
        };
        match youth::append(app.reports.clone(), id, text).await {
            Ok(()) => {}
            Err(youth::YouthReportError::Report(ReportError::Full)) => {
                return Some(Control::said(
                    &self.lang,
                    ErrorCode::TooLarge,
                    Text::ReportFull,
                ))
            }
            Err(e) => {
                tracing::error!(error = %e, "a reporter's message could not be added");
                return Some(Control::internal(&self.lang, Text::ReportAddFailed));
            }
        }
        app.reports.changed(id, false);
        let shown = youth::status_frame(&app.reports, id)
            .map_err(|e| e.to_string())
            .and_then(|status| {
                app.sessions
                    .with(&self.key, |ctx| ctx.send_control(&status))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = shown {
            // The message is in the report; only the refreshed view is missing (the
            // flow's next line says it was added).
            tracing::error!(error = %e, "a report could not be shown again after an addition");
        }
        None
    }
}

/// A request the flow files under the general topic takes the theme the youth came
/// through (`theme` variable, e.g. sextorsion), so the queue card says what it is about.
fn with_theme(request: HandoffRequest, theme: Option<&str>) -> HandoffRequest {
    match theme {
        Some(topic) if request.topic.is_empty() || request.topic == "general" => HandoffRequest {
            topic: topic.to_string(),
            ..request
        },
        _ => request,
    }
}

/// One look at a session under its lock: whether an intervenor holds it (then,
/// with `muted_when_live`, nothing runs), else the engine's move and its frames.
fn look(
    app: &ChatState,
    key: &SessionKey,
    step: Move<'_>,
    muted_when_live: bool,
) -> Result<Looked, LookFailed> {
    let mut ran = false;
    let looked = app.sessions.with(key, |ctx| -> Result<Looked, StoreError> {
        ran = true;
        let handoff = ctx.record().handoff.clone();
        if muted_when_live && handoff.as_ref().is_some_and(|h| h.connected) {
            return Ok(Looked::Live);
        }
        let outcome = run(app, ctx, step)?;
        Ok(Looked::Turned {
            had_request: handoff.is_some(),
            outcome,
        })
    });
    match looked {
        Ok(Some(Ok(looked))) => Ok(looked),
        Ok(Some(Err(e))) => {
            tracing::error!(error = %e, "a conversation's flow version could not be read");
            Err(LookFailed::FlowUnreadable)
        }
        Ok(None) => Err(LookFailed::Gone),
        Err(e) => Err(failed_look(&e, ran)),
    }
}

/// The flow version a conversation runs on. A version the store does not hold any
/// more: the conversation goes on with the current one, says so, and keeps it; a
/// store that cannot answer: an error, and the conversation does not move.
fn flows_of(app: &ChatState, ctx: &mut SessionCtx<'_>) -> Result<Arc<FlowSet>, StoreError> {
    let version = ctx.record().flow_version.clone();
    if let Some(flows) = app.flows.find_version(&version)? {
        return Ok(flows);
    }
    let current = app.flows.current();
    tracing::warn!(
        version = %version,
        current = %current.version,
        "a conversation's flow version is gone; it goes on with the current one"
    );
    ctx.record().flow_version = current.version.clone();
    let said = say(&ctx.record().lang, Text::FlowUpdated);
    ctx.push(&Event::Bot {
        text: said.to_string(),
        html: engine::escape_text(said),
        choices: Vec::new(),
        input: InputKind::None,
        resources: Vec::new(),
    });
    Ok(current)
}

/// Runs the engine on a session, under its lock: frames are logged and sent in
/// order until an output needs async work; that one and the rest are returned.
/// A turn and a jump after a receipt lookup share all of it.
fn run(
    app: &ChatState,
    ctx: &mut SessionCtx<'_>,
    step: Move<'_>,
) -> Result<TurnOutcome, StoreError> {
    let flows = flows_of(app, ctx)?;
    let record = ctx.record();
    if let Move::Input(_, new_lang) = step {
        record.last_active = app.clock.now_secs();
        if let Some(lang) = new_lang.filter(|l| flows.has_language(l)) {
            record.lang = lang.to_string();
        }
    }
    let mut state = engine::State {
        node: record.node.clone(),
        vars: record.vars.clone(),
        lang: record.lang.clone(),
    };
    let stepped = match step {
        Move::Input(input, _) => engine::step(&flows, &mut state, input),
        Move::GoTo(target) => engine::go(&flows, &mut state, target),
    };
    if stepped.not_expected {
        return Ok(TurnOutcome {
            not_expected: true,
            deferred: Vec::new(),
            lang: state.lang,
            flow_version: flows.version.clone(),
            theme: None,
            at_receipt: false,
        });
    }
    if let Move::Input(input, _) = step {
        // What the youth did, for a future intervenor (never a receipt).
        let typed_receipt = stepped
            .outputs
            .iter()
            .any(|o| matches!(o, Output::ReceiptTyped { .. }));
        let remembered: Option<Arc<str>> = match input {
            Input::Text(text) if !typed_receipt => Some(text.into()),
            Input::Choose(id) => Some(
                flows
                    .line(&state.lang, id)
                    .map(|r| r.text.clone())
                    .unwrap_or_else(|| id.into()),
            ),
            _ => None,
        };
        if let Some(said) = remembered {
            ctx.remember(Speaker::Youth, said);
        }
    }
    app.stats.turn(ctx.record().node.as_deref(), &stepped);
    let at_receipt = state
        .node
        .as_deref()
        .and_then(|node| flows.nodes.get(node))
        .is_some_and(|node| node.receipt_lookup().is_some());
    let record = ctx.record();
    record.node = state.node;
    record.vars = state.vars;
    record.lang = state.lang;
    let deferred = push_until_async(ctx, stepped.outputs, at_receipt);
    let record = ctx.record();
    Ok(TurnOutcome {
        not_expected: false,
        deferred,
        lang: record.lang.clone(),
        flow_version: flows.version.clone(),
        theme: record.vars.get("theme").filter(|t| !t.is_empty()).cloned(),
        at_receipt,
    })
}

/// Whether an output needs work outside the session's lock.
fn is_async(output: &Output) -> bool {
    matches!(
        output,
        Output::Handoff(_)
            | Output::ReportSubmit
            | Output::ReportAppend { .. }
            | Output::ReceiptTyped { .. }
            | Output::LowerUrgency
    )
}

/// Pushes outputs until one needs async work; returns that one and the rest.
fn push_until_async(
    ctx: &mut SessionCtx<'_>,
    outputs: Vec<Output>,
    at_receipt: bool,
) -> Vec<Output> {
    let mut outputs = outputs.into_iter();
    for output in outputs.by_ref() {
        if is_async(&output) {
            let mut deferred = vec![output];
            deferred.extend(outputs);
            return deferred;
        }
        push_output(ctx, output, at_receipt);
    }
    Vec::new()
}

/// Sends one output that needs no async work, inside the session's lock.
fn push_output(ctx: &mut SessionCtx<'_>, output: Output, at_receipt: bool) {
    match output {
        Output::Bot(mut bot) => {
            if bot.line_id == "relais.not_understood" && ctx.record().handoff.is_some() {
                // Already waiting for a person: no second offer of one, and say so.
                let plain = say(&ctx.record().lang, Text::NotUnderstoodWaiting);
                bot.text = plain.into();
                bot.html = engine::escape_text(plain).into();
                bot.choices.retain(|c| c.id != engine::CHOICE_TALK);
            }
            ctx.push_bot(&bot, at_receipt);
        }
        Output::End => {
            ctx.push(&Event::End {});
        }
        Output::ReportField { field, value } => {
            let key = *ctx.key();
            ctx.reports().add_answer(&key, field, value);
        }
        Output::ReportSummary => {
            let key = *ctx.key();
            let fields = ctx.reports().summary(&key, ctx.vars());
            // Shown once, never logged: the youth's own words stay off the disk.
            ctx.send_control(&Control::ReportSummary { fields });
        }
        // The async outputs never come here (`is_async`).
        Output::Handoff(_)
        | Output::ReportSubmit
        | Output::ReportAppend { .. }
        | Output::ReceiptTyped { .. }
        | Output::LowerUrgency => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_general_request_takes_the_theme_and_a_named_one_keeps_its_topic() {
        let request = |topic: &str| HandoffRequest {
            urgent: false,
            topic: topic.into(),
            resources: Vec::new(),
        };
        assert_eq!(
            with_theme(request("general"), Some("sextorsion")).topic,
            "sextorsion"
        );
        assert_eq!(with_theme(request(""), Some("leurre")).topic, "leurre");
        assert_eq!(with_theme(request("loi"), Some("sextorsion")).topic, "loi");
        assert_eq!(with_theme(request("general"), None).topic, "general");
    }

    #[test]
    fn a_store_error_under_the_lock_is_told_by_what_did_not_happen() {
        let error = StoreError::SeqExhausted;
        assert_eq!(failed_look(&error, false), LookFailed::Unreadable);
        assert_eq!(failed_look(&error, true), LookFailed::NotSaved);
        let said = |failed: LookFailed| match failed.reply("fr") {
            Control::Error { code, message, .. } => (code, message),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            said(LookFailed::Unreadable),
            (
                ErrorCode::Internal,
                say("fr", Text::SessionUnreadable).to_string()
            ),
            "a message whose session could not be read is not answered by the flow"
        );
        assert_eq!(
            said(LookFailed::FlowUnreadable),
            (
                ErrorCode::Internal,
                say("fr", Text::FlowUnavailable).to_string()
            )
        );
        assert_eq!(said(LookFailed::Gone).0, ErrorCode::UnknownSession);
    }
}
