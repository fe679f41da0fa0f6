//! A simulated intervenor (docs/protocol.md, section 2): logs in over HTTP, goes on
//! call, opens the console socket, and answers every waiting request: `claim`, a
//! `reply`, and `close` once the youth has answered. The texts carry the time they
//! were sent (microseconds since a base instant shared with the youths), so the
//! other side can time the relay.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use relais::protocol::{
    ConsoleClientFrame, ConsoleServerFrame, ErrorCode, LoginRequest, LoginResponse, OnCallRequest,
    Outcome, QueueStatus, Speaker,
};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::client::connect;
use super::measure::micros;
use super::{http, BenchError, PATIENCE};

/// The prefix of every timed text, followed by the send time in microseconds.
pub const STAMP: &str = "bench-stamp ";

/// A text that says when it was sent.
pub fn stamped(base: Instant) -> String {
    format!("{STAMP}{}", base.elapsed().as_micros())
}

/// How long ago a stamped text was sent, if it is one.
pub fn age_of(text: &str, base: Instant) -> Option<Duration> {
    let sent = text.strip_prefix(STAMP)?.trim().parse::<u64>().ok()?;
    Some(base.elapsed().saturating_sub(Duration::from_micros(sent)))
}

/// What one intervenor measured, in microseconds.
#[derive(Debug, Default)]
pub struct IntervenorTimings {
    /// `claim` sent → `claimed` received.
    pub claims: Vec<u32>,
    /// The youth's stamped text → its `message` frame on the console.
    pub youth_messages: Vec<u32>,
    /// Conversations closed.
    pub closed: u64,
    /// `error` frames other than `conflict` and `not_found` (another intervenor
    /// claimed, or already closed, the request first).
    pub errors: u64,
    pub first_error: Option<String>,
}

/// Runs one intervenor until `done` turns true (or `limit` passes); says on `ready`
/// when its console is signed in and on call.
pub async fn intervenor(
    addr: SocketAddr,
    (login, password): (&str, &str),
    base: Instant,
    ready: mpsc::Sender<()>,
    mut done: watch::Receiver<bool>,
    limit: Duration,
) -> Result<IntervenorTimings, BenchError> {
    let body = to_json(&LoginRequest {
        username: login.to_string(),
        password: password.to_string(),
        totp: None,
    })?;
    let (status, answer) = http::request(addr, "POST", "/api/login", None, Some(&body)).await?;
    if status != 200 {
        return Err(BenchError::Server(format!("login of {login}: {status}")));
    }
    let token = serde_json::from_str::<LoginResponse>(&answer)
        .map_err(|e| BenchError::Protocol(format!("login answer: {e}")))?
        .token;
    let on_call = to_json(&OnCallRequest { on_call: true })?;
    let (status, _) =
        http::request(addr, "PUT", "/api/me/on_call", Some(&token), Some(&on_call)).await?;
    if status != 204 {
        return Err(BenchError::Server(format!("on call for {login}: {status}")));
    }
    let mut socket = connect(&format!("ws://{addr}/console")).await?;
    let auth = to_json(&ConsoleClientFrame::Auth { token })?;
    socket.send(Message::Text(auth.into())).await?;

    let mut timings = IntervenorTimings::default();
    let mut claimed_at: HashMap<u64, Instant> = HashMap::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout_at(deadline, socket.next()) => next,
            _ = done.wait_for(|finished| *finished) => break,
        };
        let message = next
            .map_err(|_| BenchError::Timeout(format!("{login}: the handoff phase")))?
            .ok_or_else(|| BenchError::Protocol(format!("{login}: console closed")))??;
        let Message::Text(text) = message else {
            continue;
        };
        let frame: ConsoleServerFrame = serde_json::from_str(text.as_str())
            .map_err(|e| BenchError::Protocol(format!("console frame ({e}): {text}")))?;
        let mut replies = Vec::new();
        match frame {
            ConsoleServerFrame::Ready { .. } => {
                let _ = ready.send(()).await;
            }
            ConsoleServerFrame::Queue { items } => {
                for item in items {
                    if item.status == QueueStatus::Waiting && !claimed_at.contains_key(&item.id) {
                        claimed_at.insert(item.id, Instant::now());
                        replies.push(ConsoleClientFrame::Claim { handoff: item.id });
                    }
                }
            }
            ConsoleServerFrame::Claimed { handoff, .. } => {
                if let Some(sent) = claimed_at.get(&handoff) {
                    timings.claims.push(micros(sent.elapsed()));
                }
                replies.push(ConsoleClientFrame::Reply {
                    handoff,
                    text: stamped(base),
                });
            }
            ConsoleServerFrame::Message {
                handoff,
                from: Speaker::Youth,
                text,
                ..
            } => {
                if let Some(age) = age_of(&text, base) {
                    timings.youth_messages.push(micros(age));
                    replies.push(ConsoleClientFrame::Close {
                        handoff,
                        outcome: Outcome::Resolved,
                    });
                    timings.closed += 1;
                }
            }
            // `conflict` and `not_found` answer a claim that another intervenor won.
            ConsoleServerFrame::Error { code, .. }
                if !matches!(code, ErrorCode::Conflict | ErrorCode::NotFound) =>
            {
                timings.errors += 1;
                timings.first_error.get_or_insert_with(|| text.to_string());
            }
            _ => {}
        }
        for reply in replies {
            let reply = to_json(&reply)?;
            tokio::time::timeout(PATIENCE, socket.send(Message::Text(reply.into())))
                .await
                .map_err(|_| BenchError::Timeout(format!("{login}: sending")))??;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.close(None)).await;
    Ok(timings)
}

/// A frame or body as JSON; relais's wire types always serialize.
fn to_json(value: &impl serde::Serialize) -> Result<String, BenchError> {
    serde_json::to_string(value).map_err(|e| BenchError::Protocol(format!("cannot encode: {e}")))
}
