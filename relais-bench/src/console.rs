//! A simulated intervenor (docs/protocol.md, section 2): logs in over HTTP, goes on
//! call, opens the console socket, and answers every waiting request: `claim`, a
//! `reply`, and `close` once the youth has answered. The texts carry the time they
//! were sent (microseconds since a base instant shared with the youths), so the
//! other side can time the relay.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
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

#[derive(Deserialize)]
struct LoginAnswer {
    token: String,
}

#[derive(Deserialize)]
struct ConsoleFrame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    items: Vec<QueueItem>,
    #[serde(default)]
    handoff: Option<u64>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

#[derive(Deserialize)]
struct QueueItem {
    id: u64,
    status: String,
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
    let body = serde_json::json!({"username": login, "password": password}).to_string();
    let (status, answer) = http::request(addr, "POST", "/api/login", None, Some(&body)).await?;
    if status != 200 {
        return Err(BenchError::Server(format!("login of {login}: {status}")));
    }
    let token = serde_json::from_str::<LoginAnswer>(&answer)
        .map_err(|e| BenchError::Protocol(format!("login answer: {e}")))?
        .token;
    let on_call = r#"{"on_call":true}"#;
    let (status, _) =
        http::request(addr, "PUT", "/api/me/on_call", Some(&token), Some(on_call)).await?;
    if status != 204 {
        return Err(BenchError::Server(format!("on call for {login}: {status}")));
    }
    let mut socket = connect(&format!("ws://{addr}/console")).await?;
    let auth = serde_json::json!({"type": "auth", "token": token}).to_string();
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
        let frame: ConsoleFrame = serde_json::from_str(text.as_str())
            .map_err(|e| BenchError::Protocol(format!("console frame ({e}): {text}")))?;
        let mut replies = Vec::new();
        match frame.kind.as_str() {
            "ready" => {
                let _ = ready.send(()).await;
            }
            "queue" => {
                for item in frame.items {
                    if item.status == "waiting" && !claimed_at.contains_key(&item.id) {
                        claimed_at.insert(item.id, Instant::now());
                        replies.push(serde_json::json!({"type": "claim", "handoff": item.id}));
                    }
                }
            }
            "claimed" => {
                let id = frame.handoff.unwrap_or_default();
                if let Some(sent) = claimed_at.get(&id) {
                    timings.claims.push(micros(sent.elapsed()));
                }
                replies.push(
                    serde_json::json!({"type": "reply", "handoff": id, "text": stamped(base)}),
                );
            }
            "message" if frame.from.as_deref() == Some("youth") => {
                let text = frame.text.unwrap_or_default();
                if let Some(age) = age_of(&text, base) {
                    timings.youth_messages.push(micros(age));
                    let id = frame.handoff.unwrap_or_default();
                    replies.push(
                        serde_json::json!({"type": "close", "handoff": id, "outcome": "resolved"}),
                    );
                    timings.closed += 1;
                }
            }
            // `conflict` and `not_found` answer a claim that another intervenor won.
            "error" if !matches!(frame.code.as_deref(), Some("conflict" | "not_found")) => {
                timings.errors += 1;
                timings.first_error.get_or_insert_with(|| text.to_string());
            }
            _ => {}
        }
        for reply in replies {
            tokio::time::timeout(
                PATIENCE,
                socket.send(Message::Text(reply.to_string().into())),
            )
            .await
            .map_err(|_| BenchError::Timeout(format!("{login}: sending")))??;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.close(None)).await;
    Ok(timings)
}
