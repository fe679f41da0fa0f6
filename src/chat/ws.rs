//! The youth chat socket (`GET /chat`): the handshake (`hello`, new or resumed
//! session), then each frame through the limits, the engine or the live handoff.
//! Sockets are sized for many idle connections; a youth's text is matched in memory
//! and never logged.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
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

/// Sends a close frame, then reads what the client still sends until it answers
/// the close (briefly), so the close code reaches it instead of a reset.
async fn close(socket: &mut WebSocket, code: u16) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: "".into(),
        })))
        .await;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
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
            if let Err(wait) = check_keyed(&app.limits.sessions, &client) {
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

    let frames = frame_limiter(&limits);
    let handoff_requests = handoff_limiter(&limits);
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
                if let Some(wait) = check_direct(&frames) {
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
                match handle(&app, &key, frame, &lang, &handoff_requests).await {
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
    frame: ClientFrame,
    lang: &str,
    handoff_requests: &governor::DefaultDirectRateLimiter,
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
            turn(app, key, Input::Restart, new_lang.as_deref())
        }
    };
    let outcome = match result {
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
    for request in outcome.handoffs {
        // An urgent request is never refused by the per-session limit.
        if !request.urgent && check_direct(handoff_requests).is_some() {
            return Handled::Reply(Control::Error {
                code: ErrorCode::RateLimited,
                message: say(lang, Text::RateLimited).into(),
                retry_after_ms: Some(60_000),
            });
        }
        app.stats.handoff_requested(request.urgent);
        if let Err(e) = app
            .handoffs
            .request(key, &request, &outcome.lang, &outcome.flow_version)
            .await
        {
            tracing::error!(error = %e, "a request for a human failed");
            return Handled::Reply(error(lang, ErrorCode::Internal, Text::Internal));
        }
    }
    Handled::Continue
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
    handoffs: Vec<engine::HandoffRequest>,
    lang: String,
    flow_version: String,
}

/// Runs the engine on a session, under its lock: frames are logged and sent in
/// order; requests for a human are returned to be made outside the lock.
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
        let remembered: Option<std::sync::Arc<str>> = match input {
            Input::Text(text) => Some(text.into()),
            Input::Choose(id) => Some(
                flows
                    .line(&state.lang, id)
                    .map(|r| r.text.clone())
                    .unwrap_or_else(|| id.into()),
            ),
            Input::Start | Input::Restart => None,
        };
        let step = engine::step(&flows, &mut state, input);
        if step.not_expected {
            return TurnOutcome {
                not_expected: true,
                handoffs: Vec::new(),
                lang: state.lang,
                flow_version: flows.version.clone(),
            };
        }
        if let Some(said) = remembered {
            ctx.remember(Speaker::Youth, said);
        }
        app.stats.turn(ctx.record().node.as_deref(), &step);
        let record = ctx.record();
        record.node = state.node;
        record.vars = state.vars;
        record.lang = state.lang.clone();
        let mut handoffs = Vec::new();
        for output in step.outputs {
            match output {
                Output::Bot(bot) => {
                    ctx.push_bot(&bot);
                }
                Output::End => {
                    ctx.push(&Event::End {});
                }
                Output::Handoff(request) => handoffs.push(request),
            }
        }
        TurnOutcome {
            not_expected: false,
            handoffs,
            lang: state.lang,
            flow_version: flows.version.clone(),
        }
    })
}
