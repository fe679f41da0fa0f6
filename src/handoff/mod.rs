//! Handoff to on-call intervenors: the queue (urgent first, then oldest), atomic
//! claims, the live relay between a youth and an intervenor, release, close, the
//! on-call roster and the consoles connected now.
//!
//! - `queue.rs`: the queue as data (order, positions, what each youth was told);
//! - `service.rs`: the task that owns it and takes commands, writing through
//!   `store::handoffs` and flushing once per batch; `Handoffs` is its handle;
//! - `consoles.rs`: the consoles connected now and what they are sent.
//!
//! Every request, claim and transcript entry is in the store; a request is flushed
//! to disk before the youth is told it is waiting. Claims are taken one at a time by
//! the task, so among concurrent claims exactly one wins.

pub(crate) mod api;
pub(crate) mod console;
pub(crate) mod consoles;
pub(crate) mod escalation;
pub(crate) mod presence;
pub(crate) mod push;
pub(crate) mod queue;
pub(crate) mod schedule;
pub(crate) mod service;
pub(crate) mod staff;
pub(crate) mod supervision;
pub(crate) mod webhook;

pub use crate::auth::{accounts, totp};
pub(crate) use consoles::ConsoleOut;
pub(crate) use service::{HandoffParts, Handoffs};

use std::sync::Arc;

/// What the handoff's handlers and tasks use of the server: the console socket and
/// API, staff administration, supervision, push and escalation. The server makes it
/// from its own state (`FromRef`), so nothing here depends on `server`.
#[derive(Clone, axum::extract::FromRef)]
pub(crate) struct HandoffApp {
    pub config: Arc<crate::config::Config>,
    pub store: crate::store::Store,
    pub clock: crate::clock::Clock,
    pub accounts: Arc<accounts::Accounts>,
    pub handoffs: Arc<Handoffs>,
    pub limits: Arc<crate::limits::Limits>,
    pub stats: Arc<crate::stats::Stats>,
    pub oncall: Arc<escalation::Oncall>,
    pub audit: Arc<crate::audit::Audit>,
    pub enrolments: Arc<staff::Enrolments>,
    pub blocks: Arc<crate::abuse::Blocks>,
    /// Turns true when the server stops; console sockets close with 1001.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// Ends a conversation (API or console socket); `abusive` also blocks its session.
pub(crate) async fn close(
    app: &HandoffApp,
    id: u64,
    who: &Intervenor,
    outcome: crate::protocol::Outcome,
) -> Result<(), HandoffError> {
    let session = if outcome == crate::protocol::Outcome::Abusive {
        app.handoffs.record(id)?.and_then(|r| unhex(&r.session))
    } else {
        None
    };
    // Blocked before the youth hears the end, so a request right after is refused.
    if let Some(key) = &session {
        app.blocks.block(key, id, &who.login)?;
    }
    if let Err(e) = app.handoffs.close(id, who, outcome).await {
        if session.is_some() {
            app.blocks.lift(id)?;
        }
        return Err(e);
    }
    app.audit.record(
        &who.login,
        crate::audit::Action::Close,
        format!("handoff:{id}"),
        outcome.as_str(),
    );
    Ok(())
}

use crate::protocol::{ConsoleServerFrame, Speaker, TranscriptEntry};
use crate::store::handoffs::{LineFrom, TranscriptLine};
use crate::store::records::{HandoffRecord, HandoffState};
use crate::store::{SessionKey, StoreError};
use accounts::Intervenor;

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

/// The client key a request counts against, for `handoff.max_open_per_client`: none
/// for a loopback peer (a reverse proxy not declared in `limits.trusted_proxies`,
/// where every youth would share one key and a cap would refuse nearly everyone).
pub(crate) fn counted_client<'a>(
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

pub(crate) fn check_holder(record: &HandoffRecord, who: &Intervenor) -> Result<(), HandoffError> {
    match &record.state {
        HandoffState::Claimed { login, .. } if *login == who.login || who.is_supervisor() => Ok(()),
        HandoffState::Waiting if who.is_supervisor() => Ok(()),
        _ => Err(HandoffError::Forbidden),
    }
}

pub(crate) fn message_frame(id: u64, entry: &TranscriptEntry) -> ConsoleServerFrame {
    ConsoleServerFrame::Message {
        handoff: id,
        seq: entry.seq,
        from: entry.from,
        text: entry.text.clone(),
        at: entry.at,
    }
}

pub(crate) fn hex(key: &SessionKey) -> String {
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

/// A transcript line as stored, from the line as shown.
pub(crate) fn line_of(entry: &TranscriptEntry) -> TranscriptLine {
    TranscriptLine {
        seq: entry.seq,
        from: line_from(entry.from),
        text: entry.text.clone(),
        at: entry.at,
    }
}

/// A stored transcript line, as consoles are shown it.
pub(crate) fn entry_of(line: TranscriptLine) -> TranscriptEntry {
    TranscriptEntry {
        seq: line.seq,
        from: match line.from {
            LineFrom::Bot => Speaker::Bot,
            LineFrom::Youth => Speaker::Youth,
            LineFrom::Agent => Speaker::Agent,
        },
        text: line.text,
        at: line.at,
    }
}

pub(crate) fn line_from(from: Speaker) -> LineFrom {
    match from {
        Speaker::Bot => LineFrom::Bot,
        Speaker::Youth => LineFrom::Youth,
        Speaker::Agent => LineFrom::Agent,
    }
}
