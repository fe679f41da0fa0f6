//! The intervenors' console socket (`GET /console`): `auth` first, then the queue,
//! the roster and the messages of held conversations are pushed; replies, claims,
//! releases and closes come back by the same rules as the HTTP API.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use super::accounts::Intervenor;
use super::ConsoleOut;
use super::HandoffApp;
use crate::messages::{say, Text};
use crate::protocol::{ConsoleClientFrame, ConsoleServerFrame, ErrorCode};

const AUTH_TIMEOUT: Duration = Duration::from_secs(15);

pub(crate) async fn upgrade(
    State(app): State<HandoffApp>,
    crate::limits::Client(client): crate::limits::Client,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !crate::http::ws_util::origin_allowed(&headers, &app.config.console.allowed_origins) {
        return (StatusCode::FORBIDDEN, say("fr", Text::Forbidden)).into_response();
    }
    let limits = &app.config.limits;
    ws.read_buffer_size(limits.socket_read_buffer.max(4096))
        .write_buffer_size(0)
        .max_message_size(limits.max_transport_bytes)
        .max_frame_size(limits.max_transport_bytes)
        .on_upgrade(move |socket| serve(socket, app, client))
}

async fn send(socket: &mut WebSocket, frame: &ConsoleServerFrame) -> bool {
    socket
        .send(Message::Text(frame.to_frame().into()))
        .await
        .is_ok()
}

async fn close(socket: &mut WebSocket, code: u16) {
    crate::http::ws_util::close_socket(socket, code).await;
}

fn error(code: ErrorCode, text: Text, handoff: Option<u64>) -> ConsoleServerFrame {
    ConsoleServerFrame::Error {
        code,
        message: say("fr", text).into(),
        handoff,
    }
}

async fn authenticate(socket: &mut WebSocket, app: &HandoffApp) -> Option<Intervenor> {
    let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(AUTH_TIMEOUT, socket.recv()).await
    else {
        return None;
    };
    let Some(ConsoleClientFrame::Auth { token }) = ConsoleClientFrame::decode(text.as_str()) else {
        return None;
    };
    app.accounts.authenticate(&token).ok().flatten()
}

async fn serve(mut socket: WebSocket, app: HandoffApp, client: crate::limits::ClientKey) {
    // A place per client key (counted apart from youth sockets) and for everyone:
    // an unauthenticated socket is held up to the auth timeout.
    let console_key = crate::limits::ClientKey(format!("console:{}", client.0));
    let place = app.limits.open_socket(&console_key);
    let slot = app.limits.console_sockets.clone().try_acquire_owned();
    let (Some(_place), Ok(_slot)) = (place, slot) else {
        send(
            &mut socket,
            &error(ErrorCode::ServerBusy, Text::ServerBusy, None),
        )
        .await;
        return close(&mut socket, 1013).await;
    };
    let who = authenticate(&mut socket, &app)
        .await
        .filter(|who| who.takes_conversations());
    let Some(who) = who else {
        send(
            &mut socket,
            &error(ErrorCode::Unauthorized, Text::Unauthorized, None),
        )
        .await;
        return close(&mut socket, 1008).await;
    };
    let (tx, mut rx) = mpsc::channel(1024);
    let connection = app.handoffs.attach_console(who.clone(), tx);
    let mut shutdown = app.shutdown.clone();
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let text = match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        if !send(&mut socket, &error(ErrorCode::BadRequest, Text::BinaryFrame, None)).await { break; }
                        continue;
                    }
                    Some(Ok(_)) => continue,
                };
                // Every action checks the token again: logout and expiry take effect at once.
                if !matches!(app.accounts.authenticate_key(&who.token_key), Ok(true)) {
                    send(&mut socket, &error(ErrorCode::Unauthorized, Text::Unauthorized, None)).await;
                    close(&mut socket, 4001).await;
                    break;
                }
                let reply = match ConsoleClientFrame::decode(text.as_str()) {
                    Some(frame) => act(&app, &who, frame).await,
                    None => Some(error(ErrorCode::BadRequest, Text::BadRequest, None)),
                };
                if let Some(reply) = reply {
                    if !send(&mut socket, &reply).await { break; }
                }
            }
            outgoing = rx.recv() => match outgoing {
                Some(ConsoleOut::Frame(frame)) => {
                    if socket.send(Message::Text(frame.into())).await.is_err() { break; }
                }
                Some(ConsoleOut::Close(code)) => {
                    send(&mut socket, &error(ErrorCode::Unauthorized, Text::Unauthorized, None)).await;
                    close(&mut socket, code).await;
                    break;
                }
                None => break,
            },
            _ = shutdown.changed() => {
                close(&mut socket, 1001).await;
                break;
            }
        }
    }
    app.handoffs.detach_console(connection);
}

/// Carries out a console frame; returns what to answer, if anything.
async fn act(
    app: &HandoffApp,
    who: &Intervenor,
    frame: ConsoleClientFrame,
) -> Option<ConsoleServerFrame> {
    let failed = |handoff: u64, e: super::HandoffError| {
        let code = ErrorCode::from(e);
        let text = match code {
            ErrorCode::Conflict => Text::Conflict,
            ErrorCode::NotFound => Text::NotFound,
            ErrorCode::Forbidden => Text::Forbidden,
            _ => Text::Internal,
        };
        Some(error(code, text, Some(handoff)))
    };
    match frame {
        ConsoleClientFrame::Auth { .. } => None,
        ConsoleClientFrame::Reply { handoff, text } => {
            if text.trim().is_empty() || text.chars().count() > app.config.limits.max_text_chars {
                return Some(error(ErrorCode::TooLarge, Text::TooLarge, Some(handoff)));
            }
            app.handoffs
                .reply(handoff, who, &text)
                .await
                .err()
                .and_then(|e| failed(handoff, e))
        }
        ConsoleClientFrame::Claim { handoff } => match app.handoffs.claim(handoff, who).await {
            Ok(claimed) => {
                app.audit.record(
                    &who.login,
                    crate::audit::Action::Claim,
                    format!("handoff:{handoff}"),
                    "",
                );
                Some(ConsoleServerFrame::Claimed {
                    handoff,
                    transcript: claimed.transcript,
                    urgent: claimed.urgent,
                    lang: claimed.lang,
                    topic: claimed.topic,
                })
            }
            Err(e) => failed(handoff, e),
        },
        ConsoleClientFrame::Release { handoff } => match app.handoffs.release(handoff, who).await {
            Ok(()) => {
                app.audit.record(
                    &who.login,
                    crate::audit::Action::Release,
                    format!("handoff:{handoff}"),
                    "",
                );
                None
            }
            Err(e) => failed(handoff, e),
        },
        ConsoleClientFrame::Typing { handoff } => app
            .handoffs
            .agent_typing(handoff, who)
            .err()
            .and_then(|e| failed(handoff, e)),
        ConsoleClientFrame::Close { handoff, outcome } => super::close(app, handoff, who, outcome)
            .await
            .err()
            .and_then(|e| failed(handoff, e)),
    }
}
