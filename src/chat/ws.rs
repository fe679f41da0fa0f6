//! The youth chat socket (`GET /chat`): the handshake (`hello`, new or resumed
//! session), then each frame through the limits, the engine or the live handoff.
//! Sockets are sized for many idle connections; a youth's text is matched in memory
//! and never logged.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use super::session::{key_of, Outgoing, OUTBOX_LEN};
use crate::flow::engine::{self, Input, Output};
use crate::limits::{check_direct, check_keyed, frame_limiter, handoff_limiter, Client, ClientKey};
use crate::messages::{say, Text};
use crate::protocol::{
    decode_client_frame, ClientFrame, Control, DecodeError, ErrorCode, Event, Speaker,
};
use crate::server::AppState;
use crate::store::SessionKey;

/// Close codes.
const GOING_AWAY: u16 = 1001;
const POLICY: u16 = 1008;
const TRY_AGAIN: u16 = 1013;
const NORMAL: u16 = 1000;

pub async fn upgrade(
    State(app): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !super::origin_allowed(&headers, &app.config.console.chat_partner_origins) {
        return (StatusCode::FORBIDDEN, say("fr", Text::Forbidden)).into_response();
    }
    let limits = &app.config.limits;
    ws.read_buffer_size(limits.socket_read_buffer)
        .write_buffer_size(limits.socket_write_buffer)
        .max_write_buffer_size(limits.max_transport_bytes * 2)
        .max_message_size(limits.max_transport_bytes)
        .max_frame_size(limits.max_transport_bytes)
        .on_upgrade(move |socket| serve(socket, app, client))
}

async fn send_control(socket: &mut WebSocket, app: &AppState, control: &Control) -> bool {
    if let Control::Error { code, .. } = control {
        app.stats.metrics.error(*code);
    }
    socket
        .send(Message::Text(control.to_frame().into()))
        .await
        .is_ok()
}

async fn close(socket: &mut WebSocket, code: u16) {
    crate::chat::close_socket(socket, code).await;
}

fn error(lang: &str, code: ErrorCode, text: Text) -> Control {
    Control::error(code, say(lang, text))
}

fn decode_error(lang: &str, error: DecodeError) -> Control {
    let text = match error {
        DecodeError::NotJson => Text::BadJson,
        DecodeError::NotAnObject | DecodeError::NoType => Text::BadRequest,
        DecodeError::UnknownType => Text::UnknownType,
        DecodeError::MissingField => Text::MissingField,
    };
    error_frame(lang, ErrorCode::BadRequest, text)
}

fn error_frame(lang: &str, code: ErrorCode, text: Text) -> Control {
    error(lang, code, text)
}

/// What one incoming WebSocket message is, before the protocol reads it.
enum Incoming {
    Frame(ClientFrame),
    Refused(Control),
    Ignore,
    Gone,
}

fn read(message: Option<Result<Message, axum::Error>>, lang: &str, max_bytes: usize) -> Incoming {
    match message {
        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Incoming::Gone,
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Incoming::Ignore,
        Some(Ok(Message::Binary(_))) => {
            Incoming::Refused(error_frame(lang, ErrorCode::BadRequest, Text::BinaryFrame))
        }
        Some(Ok(Message::Text(text))) => {
            if text.len() > max_bytes {
                return Incoming::Refused(error_frame(lang, ErrorCode::TooLarge, Text::TooLarge));
            }
            match decode_client_frame(text.as_str()) {
                Ok(frame) => Incoming::Frame(frame),
                Err(e) => Incoming::Refused(decode_error(lang, e)),
            }
        }
    }
}

async fn serve(mut socket: WebSocket, app: AppState, client: ClientKey) {
    let Some(_place) = app.limits.open_socket(&client) else {
        send_control(
            &mut socket,
            &app,
            &error("fr", ErrorCode::ServerBusy, Text::ServerBusy),
        )
        .await;
        return close(&mut socket, TRY_AGAIN).await;
    };
    let Ok(_slot) = app.youth_sockets.clone().try_acquire_owned() else {
        send_control(
            &mut socket,
            &app,
            &error("fr", ErrorCode::ServerBusy, Text::ServerBusy),
        )
        .await;
        return close(&mut socket, TRY_AGAIN).await;
    };
    let limits = app.config.limits.clone();
    let handshake = Duration::from_secs(limits.handshake_timeout_secs);
    let mut shutdown = app.shutdown.clone();

    // The first frame must be `hello`.
    let (lang, resume) = loop {
        let next = tokio::select! {
            next = tokio::time::timeout(handshake, socket.recv()) => next,
            _ = shutdown.changed() => return close(&mut socket, GOING_AWAY).await,
        };
        let Ok(next) = next else {
            return close(&mut socket, POLICY).await;
        };
        match read(next, "fr", limits.max_frame_bytes) {
            Incoming::Gone => return,
            Incoming::Ignore => continue,
            Incoming::Refused(control) => {
                if !send_control(&mut socket, &app, &control).await {
                    return;
                }
            }
            Incoming::Frame(ClientFrame::Hello { lang, resume }) => break (lang, resume),
            Incoming::Frame(_) => {
                if !send_control(
                    &mut socket,
                    &app,
                    &error("fr", ErrorCode::BadRequest, Text::HelloFirst),
                )
                .await
                {
                    return;
                }
            }
        }
    };

    let flows = app.flows.current();
    let lang = lang
        .filter(|l| flows.has_language(l))
        .unwrap_or_else(|| crate::flow::model::SOURCE_LANG.to_string());
    let (tx, mut rx) = mpsc::channel::<Outgoing>(OUTBOX_LEN);

    let mut attached = None;
    if let Some(resume) = resume {
        let key = key_of(&resume.token);
        if app
            .sessions
            .resume_is_ahead(&key, resume.last_seq)
            .unwrap_or(false)
        {
            // More frames seen than the server ever sent: a client's number is not
            // trusted (it would renumber or overflow the log).
            send_control(
                &mut socket,
                &app,
                &error(&lang, ErrorCode::BadRequest, Text::ResumeAhead),
            )
            .await;
            return close(&mut socket, POLICY).await;
        }
        match app
            .sessions
            .attach(&key, &resume.token, true, resume.last_seq, tx.clone())
        {
            Ok(Some(connection)) => attached = Some((key, connection)),
            Ok(None) => {
                if !send_control(
                    &mut socket,
                    &app,
                    &error(&lang, ErrorCode::UnknownSession, Text::UnknownSession),
                )
                .await
                {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not resume a session");
                send_control(
                    &mut socket,
                    &app,
                    &error(&lang, ErrorCode::Internal, Text::Internal),
                )
                .await;
                return close(&mut socket, TRY_AGAIN).await;
            }
        }
    }
    let (key, connection) = match attached {
        Some(found) => found,
        None => {
            let limited = check_keyed(&app.limits.sessions, &client)
                .err()
                .or_else(|| check_direct(&app.limits.sessions_global));
            if let Some(wait) = limited {
                let control = Control::Error {
                    code: ErrorCode::RateLimited,
                    message: say(&lang, Text::RateLimited).into(),
                    retry_after_ms: Some(wait.as_millis() as u64),
                };
                send_control(&mut socket, &app, &control).await;
                return close(&mut socket, POLICY).await;
            }
            match start_session(&app, &lang, tx.clone()) {
                Ok(found) => found,
                Err(e) => {
                    tracing::error!(error = %e, "could not start a session");
                    send_control(
                        &mut socket,
                        &app,
                        &error(&lang, ErrorCode::Internal, Text::Internal),
                    )
                    .await;
                    return close(&mut socket, TRY_AGAIN).await;
                }
            }
        }
    };
    drop(tx);
    // Consoles holding or seeing this youth's request learn they are back.
    app.handoffs.youth_presence_changed(&key);

    // The limits belong to the session, not to this socket: a reconnect keeps them.
    let session_limits = app.sessions.limits(&key, || {
        (
            frame_limiter(&limits, app.clock),
            handoff_limiter(&limits, app.clock),
            crate::limits::session_report_limiter(&limits, app.clock),
        )
    });
    let frames = &session_limits.frames;
    let mut refusals_in_a_row = 0u32;
    let idle = Duration::from_secs(limits.idle_socket_secs.max(1));
    let mut pinged = false;
    loop {
        tokio::select! {
            incoming = tokio::time::timeout(idle / 2, socket.recv()) => {
                let Ok(incoming) = incoming else {
                    // Half the idle time in silence: ping; the whole of it: close.
                    if pinged {
                        close(&mut socket, GOING_AWAY).await;
                        break;
                    }
                    pinged = true;
                    if socket.send(Message::Ping(Default::default())).await.is_err() {
                        break;
                    }
                    continue;
                };
                pinged = false;
                let lang = session_lang(&app, &key);
                let frame = match read(incoming, &lang, limits.max_frame_bytes) {
                    Incoming::Gone => break,
                    Incoming::Ignore => continue,
                    Incoming::Refused(control) => {
                        if !send_control(&mut socket, &app, &control).await { break; }
                        continue;
                    }
                    Incoming::Frame(frame) => frame,
                };
                if let Some(wait) = check_direct(frames) {
                    refusals_in_a_row += 1;
                    if refusals_in_a_row > limits.flood_close_after {
                        close(&mut socket, POLICY).await;
                        break;
                    }
                    let control = Control::Error {
                        code: ErrorCode::RateLimited,
                        message: say(&lang, Text::RateLimited).into(),
                        retry_after_ms: Some(wait.as_millis().max(1) as u64),
                    };
                    if !send_control(&mut socket, &app, &control).await { break; }
                    continue;
                }
                refusals_in_a_row = 0;
                match handle(&app, &key, &client, frame, &lang, &session_limits).await {
                    Handled::Continue => {}
                    Handled::Reply(control) => {
                        if !send_control(&mut socket, &app, &control).await { break; }
                    }
                    Handled::Forgotten => {
                        // Frames still queued belong to an erased session: drop them.
                        while rx.try_recv().is_ok() {}
                        send_control(&mut socket, &app, &Control::Forgotten {}).await;
                        close(&mut socket, NORMAL).await;
                        return;
                    }
                }
            }
            outgoing = rx.recv() => {
                match outgoing {
                    Some(Outgoing::Frame(frame)) => {
                        if socket.send(Message::Text(frame.into())).await.is_err() { break; }
                    }
                    Some(Outgoing::Close(code)) => { close(&mut socket, code).await; break; }
                    None => { close(&mut socket, TRY_AGAIN).await; break; }
                }
            }
            _ = shutdown.changed() => {
                close(&mut socket, GOING_AWAY).await;
                break;
            }
        }
    }
    app.sessions.detach(&key, connection);
    app.handoffs.youth_presence_changed(&key);
}

fn session_lang(app: &AppState, key: &SessionKey) -> String {
    app.sessions
        .with(key, |ctx| ctx.record().lang.clone())
        .ok()
        .flatten()
        .unwrap_or_else(|| "fr".into())
}

/// Creates a session, attaches the socket, and runs the flow's first turn.
fn start_session(
    app: &AppState,
    lang: &str,
    tx: mpsc::Sender<Outgoing>,
) -> Result<(SessionKey, u64), crate::store::StoreError> {
    let flows = app.flows.current();
    let (token, key) = app.sessions.create(lang, &flows.version)?;
    let connection = app
        .sessions
        .attach(&key, &token, false, 0, tx)?
        .unwrap_or_default();
    app.stats.session_started(lang);
    // The first turn never asks for a human, so its outputs are only frames.
    let _ = turn(app, &key, Input::Start, None)?;
    Ok((key, connection))
}

enum Handled {
    Continue,
    Reply(Control),
    Forgotten,
}

async fn handle(
    app: &AppState,
    key: &SessionKey,
    client: &ClientKey,
    frame: ClientFrame,
    lang: &str,
    session_limits: &super::session::SessionLimits,
) -> Handled {
    let result = match frame {
        ClientFrame::Hello { .. } => {
            return Handled::Reply(error(lang, ErrorCode::BadRequest, Text::AlreadyStarted))
        }
        ClientFrame::Forget => {
            if let Err(e) = app.handoffs.youth_left(key).await {
                tracing::error!(error = %e, "could not close a handoff on forget");
            }
            return match app.sessions.forget(key) {
                Ok(()) => Handled::Forgotten,
                Err(e) => {
                    tracing::error!(error = %e, "could not forget a session");
                    Handled::Reply(error(lang, ErrorCode::Internal, Text::Internal))
                }
            };
        }
        ClientFrame::Text { text } => {
            if text.chars().count() > app.config.limits.max_text_chars {
                return Handled::Reply(error(lang, ErrorCode::TooLarge, Text::TextTooLong));
            }
            if connected(app, key) {
                return match app.handoffs.youth_message(key, &text).await {
                    Ok(_) => Handled::Continue,
                    Err(e) => {
                        tracing::error!(error = %e, "could not relay a youth message");
                        Handled::Reply(error(lang, ErrorCode::Internal, Text::Internal))
                    }
                };
            }
            // Words written while the request waits reach the intervenor too.
            if let Err(e) = app.handoffs.youth_waiting(key, &text).await {
                tracing::error!(error = %e, "could not keep a youth message for the queue");
            }
            turn(app, key, Input::Text(&text), None)
        }
        ClientFrame::Choose { id } => {
            if connected(app, key) {
                return Handled::Reply(error(lang, ErrorCode::NotExpected, Text::NotExpected));
            }
            turn(app, key, Input::Choose(&id), None)
        }
        ClientFrame::Restart { lang: new_lang } => {
            if connected(app, key) {
                return Handled::Reply(error(lang, ErrorCode::NotExpected, Text::NotExpected));
            }
            let result = turn(app, key, Input::Restart, new_lang.as_deref());
            if let Ok(Some(outcome)) = &result {
                // A request still in the queue follows the new language.
                if let Err(e) = app.handoffs.set_lang(key, &outcome.lang) {
                    tracing::error!(error = %e, "could not change a request's language");
                }
            }
            result
        }
        ClientFrame::Typing => {
            if connected(app, key) {
                if let Err(e) = app.handoffs.youth_typing(key) {
                    tracing::error!(error = %e, "could not relay typing");
                }
            }
            return Handled::Continue;
        }
        ClientFrame::Lang { lang: new_lang } => return switch_lang(app, key, &new_lang, lang),
    };
    let mut outcome = match result {
        Ok(Some(outcome)) => outcome,
        Ok(None) => {
            return Handled::Reply(error(lang, ErrorCode::UnknownSession, Text::UnknownSession))
        }
        Err(e) => {
            tracing::error!(error = %e, "a turn failed");
            return Handled::Reply(error(lang, ErrorCode::Internal, Text::Internal));
        }
    };
    if outcome.not_expected {
        return Handled::Reply(error(lang, ErrorCode::NotExpected, Text::NotExpected));
    }
    // What the turn left to do outside the session's lock, in order: the async
    // steps, and the frames that must come after them.
    while !outcome.deferred.is_empty() {
        let output = outcome.deferred.remove(0);
        let reply = match output {
            Output::Handoff(request) => {
                // An urgent request is never refused by a limit.
                if !request.urgent
                    && (check_direct(&session_limits.handoffs).is_some()
                        || check_direct(&app.limits.handoffs_global).is_some())
                {
                    Some(Control::Error {
                        code: ErrorCode::RateLimited,
                        message: say(lang, Text::RateLimited).into(),
                        retry_after_ms: Some(60_000),
                    })
                } else if !request.urgent && app.blocks.refuses(key, client) {
                    // Ended as abusive not long ago: the neutral answer (crate::abuse).
                    crate::abuse::refuse(app, key, &request, &outcome.lang)
                } else {
                    app.blocks.note_client(key, client);
                    app.stats.handoff_requested(request.urgent);
                    let request = with_theme(app, key, request);
                    match app
                        .handoffs
                        .request_from(
                            key,
                            crate::handoff::counted_client(
                                &app.limits,
                                app.clock.now_secs(),
                                client,
                            ),
                            &request,
                            &outcome.lang,
                            &outcome.flow_version,
                        )
                        .await
                    {
                        Ok(()) => None,
                        Err(e) => {
                            tracing::error!(error = %e, "a request for a human failed");
                            Some(error(lang, ErrorCode::Internal, Text::Internal))
                        }
                    }
                }
            }
            Output::LowerUrgency => match app.handoffs.lower_urgency(key).await {
                Ok(()) => None,
                Err(e) => {
                    tracing::error!(error = %e, "a request could not be made normal");
                    Some(error(lang, ErrorCode::Internal, Text::Internal))
                }
            },
            Output::ReportSubmit => {
                submit_report(app, key, client, session_limits, &outcome.lang).await
            }
            Output::ReportAppend { text } => append_to_report(app, key, text).await,
            Output::ReceiptTyped {
                text,
                found,
                missing,
            } => {
                match open_report(app, key, client, &text, &outcome.lang).await {
                    Ok(opened) => {
                        let target = if opened { found } else { missing };
                        match go_to(app, key, &target) {
                            Ok(Some(more)) => {
                                // The flow goes on from the chosen node; keep its own
                                // deferred steps before the rest.
                                let mut next = more.deferred;
                                next.append(&mut outcome.deferred);
                                outcome.deferred = next;
                                None
                            }
                            Ok(None) => {
                                Some(error(lang, ErrorCode::UnknownSession, Text::UnknownSession))
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "a turn failed");
                                Some(error(lang, ErrorCode::Internal, Text::Internal))
                            }
                        }
                    }
                    Err(control) => Some(control),
                }
            }
            other => {
                // Frames after an async step: sent now, in order.
                if let Err(e) = app.sessions.with(key, |ctx| push_output(app, ctx, other)) {
                    tracing::error!(error = %e, "could not send a frame");
                }
                None
            }
        };
        if let Some(control) = reply {
            return Handled::Reply(control);
        }
    }
    Handled::Continue
}

/// The language switch during a request for a person: the session and its request
/// take the new language (no restart, nothing cleared).
fn switch_lang(app: &AppState, key: &SessionKey, new_lang: &str, lang: &str) -> Handled {
    let flows = app.flows.current();
    if !flows.has_language(new_lang) {
        return Handled::Continue;
    }
    let changed = app.sessions.with(key, |ctx| {
        ctx.record().lang = new_lang.to_string();
    });
    match changed
        .map_err(crate::handoff::HandoffError::from)
        .and_then(|_| app.handoffs.set_lang(key, new_lang))
    {
        Ok(()) => Handled::Continue,
        Err(e) => {
            tracing::error!(error = %e, "could not switch a session's language");
            Handled::Reply(error(lang, ErrorCode::Internal, Text::Internal))
        }
    }
}

/// A request the flow files under the general topic takes the theme the youth came
/// through (`theme` variable, e.g. sextorsion), so the queue card says what it is about.
fn with_theme(
    app: &AppState,
    key: &SessionKey,
    request: crate::flow::engine::HandoffRequest,
) -> crate::flow::engine::HandoffRequest {
    if !(request.topic.is_empty() || request.topic == "general") {
        return request;
    }
    let theme = app
        .sessions
        .with(key, |ctx| ctx.record().vars.get("theme").cloned())
        .ok()
        .flatten()
        .flatten()
        .filter(|t| !t.is_empty());
    match theme {
        Some(topic) => crate::flow::engine::HandoffRequest { topic, ..request },
        None => request,
    }
}

fn connected(app: &AppState, key: &SessionKey) -> bool {
    app.sessions
        .with(key, |ctx| {
            ctx.record().handoff.as_ref().is_some_and(|h| h.connected)
        })
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// What a turn left to do outside the session's lock.
struct TurnOutcome {
    not_expected: bool,
    /// From the first output that needs async work (a handoff, a report), every
    /// output still to handle, in order.
    deferred: Vec<Output>,
    lang: String,
    flow_version: String,
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

/// Sends one output that needs no async work, inside the session's lock.
fn push_output(app: &AppState, ctx: &mut super::session::SessionCtx<'_>, output: Output) {
    match output {
        Output::Bot(mut bot) => {
            if bot.line_id == "relais.not_understood" && ctx.record().handoff.is_some() {
                // Already waiting for a person: no second offer of one, and say so.
                let plain = crate::messages::say(&ctx.record().lang, Text::NotUnderstoodWaiting);
                bot.text = plain.into();
                bot.html = engine::escape_text(plain).into();
                bot.choices.retain(|c| c.id != engine::CHOICE_TALK);
            }
            ctx.push_bot(&bot);
        }
        Output::End => {
            ctx.push(&Event::End {});
        }
        Output::ReportField { field, value } => ctx.add_report_answer(field, value),
        Output::ReportSummary => {
            let fields = ctx.report_summary();
            // Shown once, never logged: the youth's own words stay off the disk.
            ctx.send_control(&Control::ReportSummary { fields });
        }
        other => {
            let _ = (app, other);
        }
    }
}

/// Runs the engine on a session, under its lock: frames are logged and sent in
/// order until an output needs async work; that one and the rest are returned.
fn turn(
    app: &AppState,
    key: &SessionKey,
    input: Input<'_>,
    new_lang: Option<&str>,
) -> Result<Option<TurnOutcome>, crate::store::StoreError> {
    let now = app.clock.now_secs();
    app.sessions.with(key, |ctx| {
        let record = ctx.record();
        record.last_active = now;
        let flows = app
            .flows
            .version(&record.flow_version)
            .unwrap_or_else(|| app.flows.current());
        if let Some(lang) = new_lang.filter(|l| flows.has_language(l)) {
            record.lang = lang.to_string();
        }
        let mut state = engine::State {
            node: record.node.clone(),
            vars: record.vars.clone(),
            lang: record.lang.clone(),
        };
        let step = engine::step(&flows, &mut state, input);
        if step.not_expected {
            return TurnOutcome {
                not_expected: true,
                deferred: Vec::new(),
                lang: state.lang,
                flow_version: flows.version.clone(),
            };
        }
        // What the youth did, for a future intervenor (never a receipt).
        let typed_receipt = step
            .outputs
            .iter()
            .any(|o| matches!(o, Output::ReceiptTyped { .. }));
        let remembered: Option<std::sync::Arc<str>> = match input {
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
        app.stats.turn(ctx.record().node.as_deref(), &step);
        apply_state(ctx, state.clone());
        let deferred = push_until_async(app, ctx, step.outputs);
        TurnOutcome {
            not_expected: false,
            deferred,
            lang: state.lang,
            flow_version: flows.version.clone(),
        }
    })
}

fn apply_state(ctx: &mut super::session::SessionCtx<'_>, state: engine::State) {
    let record = ctx.record();
    record.node = state.node;
    record.vars = state.vars;
    record.lang = state.lang;
}

/// Pushes outputs until one needs async work; returns that one and the rest.
fn push_until_async(
    app: &AppState,
    ctx: &mut super::session::SessionCtx<'_>,
    outputs: Vec<Output>,
) -> Vec<Output> {
    let mut outputs = outputs.into_iter();
    for output in outputs.by_ref() {
        if is_async(&output) {
            let mut deferred = vec![output];
            deferred.extend(outputs);
            return deferred;
        }
        push_output(app, ctx, output);
    }
    Vec::new()
}

/// Continues the flow at a node (after a receipt lookup).
fn go_to(
    app: &AppState,
    key: &SessionKey,
    target: &crate::flow::model::Target,
) -> Result<Option<TurnOutcome>, crate::store::StoreError> {
    app.sessions.with(key, |ctx| {
        let record = ctx.record();
        let flows = app
            .flows
            .version(&record.flow_version)
            .unwrap_or_else(|| app.flows.current());
        let mut state = engine::State {
            node: record.node.clone(),
            vars: record.vars.clone(),
            lang: record.lang.clone(),
        };
        let step = engine::go(&flows, &mut state, target);
        app.stats.turn(ctx.record().node.as_deref(), &step);
        apply_state(ctx, state.clone());
        let deferred = push_until_async(app, ctx, step.outputs);
        TurnOutcome {
            not_expected: false,
            deferred,
            lang: state.lang,
            flow_version: flows.version.clone(),
        }
    })
}

/// Stores the report written so far and shows its receipt, once. Limited per
/// session, per client key and for everyone together: each report costs an
/// argon2id hash, a key file and 90 days of someone's attention.
async fn submit_report(
    app: &AppState,
    key: &SessionKey,
    client: &ClientKey,
    session_limits: &super::session::SessionLimits,
    lang: &str,
) -> Option<Control> {
    let limited = check_direct(&session_limits.reports)
        .or_else(|| check_keyed(&app.limits.reports, client).err())
        .or_else(|| check_direct(&app.limits.reports_global));
    if let Some(wait) = limited {
        return Some(Control::Error {
            code: ErrorCode::RateLimited,
            message: say(lang, Text::ReportsLimited).into(),
            retry_after_ms: Some(wait.as_millis().max(1) as u64),
        });
    }
    let draft = app
        .sessions
        .with(key, |ctx| {
            let answers = ctx.take_report_draft();
            let vars = ctx.record().vars.clone();
            // The report's choices leave the session with it.
            ctx.record()
                .vars
                .retain(|name, _| !name.starts_with("rapport_"));
            (answers, vars)
        })
        .ok()
        .flatten()?;
    let reports = app.reports.clone();
    let lang_owned = lang.to_string();
    let permit = crate::limits::argon2_permit().await;
    let submitted = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        reports.submit(draft.0, &draft.1, &lang_owned)
    })
    .await;
    match submitted {
        Ok(Ok((id, receipt))) => {
            app.stats.add("reports", "submitted", 1);
            app.handoffs.report_changed(&app.reports, id, true);
            let _ = app.sessions.with(key, |ctx| {
                ctx.set_report_open(Some(id));
                ctx.send_receipt(receipt);
            });
            None
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "a report could not be stored");
            Some(error(lang, ErrorCode::Internal, Text::Internal))
        }
        Err(e) => {
            tracing::error!(error = %e, "a report could not be stored");
            Some(error(lang, ErrorCode::Internal, Text::Internal))
        }
    }
}

/// Looks a receipt up (rate limited per client and for everyone), and shows the
/// report's status and messages when it opens one. `Ok(false)` for a wrong or a
/// missing receipt alike.
async fn open_report(
    app: &AppState,
    key: &SessionKey,
    client: &ClientKey,
    typed: &str,
    lang: &str,
) -> Result<bool, Control> {
    if let Some(wait) = app.limits.check_receipt(client) {
        return Err(Control::Error {
            code: ErrorCode::RateLimited,
            message: say(lang, Text::RateLimited).into(),
            retry_after_ms: Some(wait.as_millis().max(1) as u64),
        });
    }
    let reports = app.reports.clone();
    let typed = typed.to_string();
    let permit = crate::limits::argon2_permit().await;
    let found = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        reports.lookup(&typed)
    })
    .await
    .ok()
    .and_then(Result::ok)
    .flatten();
    let Some(id) = found else {
        return Ok(false);
    };
    let status = report_status_frame(app, id);
    let _ = app.sessions.with(key, |ctx| {
        ctx.set_report_open(Some(id));
        if let Some(status) = &status {
            ctx.send_control(status);
        }
    });
    Ok(status.is_some())
}

/// The reporter's view of a report: its status and the messages (no notes).
pub fn report_status_frame(app: &AppState, id: u64) -> Option<Control> {
    let record = app.reports.record(id).ok()?;
    let content = app.reports.content(&record).ok()?;
    // The newest messages that fit in the frame (the socket refuses larger ones);
    // a report's caps keep them all in it, this is the guard.
    let mut room = crate::reports::STATUS_FRAME_TEXT_BYTES;
    let mut messages: Vec<_> = content
        .messages
        .into_iter()
        .rev()
        .take_while(|m| match room.checked_sub(m.text.len() + 64) {
            Some(left) => {
                room = left;
                true
            }
            None => false,
        })
        .collect();
    messages.reverse();
    Some(Control::ReportStatus {
        status: record.status,
        messages: messages
            .into_iter()
            .map(|m| crate::protocol::ReporterMessage {
                from: m.from,
                name: m.name,
                text: m.text,
                at: m.at,
            })
            .collect(),
    })
}

/// Adds what the youth wrote to the report they opened, then shows it again.
async fn append_to_report(app: &AppState, key: &SessionKey, text: String) -> Option<Control> {
    let open = app
        .sessions
        .with(key, |ctx| ctx.report_open())
        .ok()
        .flatten()
        .flatten()?;
    let reports = app.reports.clone();
    let changed = tokio::task::spawn_blocking(move || {
        let at = reports.now_ms();
        reports.change(open, |_, content| {
            content.messages.push(crate::reports::ReportMessage {
                from: "reporter".into(),
                name: None,
                text,
                at,
            })
        })
    })
    .await;
    match changed {
        Ok(Ok(_)) => {
            app.handoffs.report_changed(&app.reports, open, false);
            let status = report_status_frame(app, open);
            let _ = app.sessions.with(key, |ctx| {
                if let Some(status) = &status {
                    ctx.send_control(status);
                }
            });
            None
        }
        Ok(Err(crate::reports::ReportError::Full)) => {
            let lang = session_lang(app, key);
            Some(error(&lang, ErrorCode::TooLarge, Text::ReportFull))
        }
        _ => None,
    }
}
