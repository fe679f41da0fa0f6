//! Supervision of live conversations: a supervisor watches one read-only (its
//! transcript, then every new line as `monitor_message`) and sends whispers that
//! only the intervenor holding it sees; the holder's console is told who watches
//! (`watched`). The youth's side is untouched: nothing here reaches a chat socket.
//! Whispers are not stored: they are staff words of the moment, not the transcript.
//!
//! Also the helpers that act on every console of an account (a disabled or removed
//! account's sockets are closed at once).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::accounts::Intervenor;
use super::api::{ApiJson, Authed};
use super::service::Core;
use super::HandoffApp;
use super::HandoffError;
use crate::audit::Action;
use crate::error::ApiError;
use crate::protocol::{ConsoleServerFrame, TranscriptEntry};

pub(crate) fn routes() -> Router<HandoffApp> {
    Router::new()
        .route(
            "/api/handoffs/{id}/monitor",
            post(monitor).delete(unmonitor),
        )
        .route("/api/handoffs/{id}/whisper", post(whisper))
}

impl Core {
    /// Closes every console of an account (disabled, removed, its role changed).
    pub(crate) fn close_consoles_of_login(&self, login: &str) {
        self.hub.close_login(login);
    }

    /// Whether an account has a console open now.
    pub(crate) fn is_connected(&self, login: &str) -> bool {
        self.hub.is_connected(login)
    }

    fn holder_of(&self, id: u64) -> Result<Option<String>, HandoffError> {
        let view = self.view();
        view.get(id).ok_or(HandoffError::NotFound)?;
        Ok(view.holder_of(id).map(str::to_string))
    }

    /// A supervisor starts watching: the transcript so far; new lines follow.
    pub(crate) fn monitor(
        &self,
        id: u64,
        who: &Intervenor,
    ) -> Result<(Vec<TranscriptEntry>, Option<String>), HandoffError> {
        if !who.is_supervisor() {
            return Err(HandoffError::Forbidden);
        }
        let holder = self.holder_of(id)?;
        self.monitors
            .lock()
            .expect("monitor lock poisoned")
            .entry(id)
            .or_default()
            .insert(who.login.clone(), who.name.clone());
        self.tell_watched(id, holder.as_deref());
        Ok((self.transcript(id)?, holder))
    }

    pub(crate) fn unmonitor(&self, id: u64, who: &Intervenor) -> Result<(), HandoffError> {
        {
            let mut monitors = self.monitors.lock().expect("monitor lock poisoned");
            if let Some(set) = monitors.get_mut(&id) {
                set.remove(&who.login);
                if set.is_empty() {
                    monitors.remove(&id);
                }
            }
        }
        if let Ok(holder) = self.holder_of(id) {
            self.tell_watched(id, holder.as_deref());
        }
        Ok(())
    }

    /// A word for the holder only; how many of the holder's consoles got it.
    pub(crate) fn whisper(
        &self,
        id: u64,
        who: &Intervenor,
        text: &str,
    ) -> Result<usize, HandoffError> {
        if !who.is_supervisor() {
            return Err(HandoffError::Forbidden);
        }
        let Some(holder) = self.holder_of(id)? else {
            return Err(HandoffError::Conflict);
        };
        let frame = ConsoleServerFrame::Whisper {
            handoff: id,
            name: who.name.clone(),
            text: text.to_string(),
            at: self.clock.now_ms(),
        };
        Ok(self.hub.send_to_login(&holder, &frame))
    }

    /// Tells the holder who watches (an empty list when nobody does any more).
    fn tell_watched(&self, id: u64, holder: Option<&str>) {
        let Some(holder) = holder else {
            return;
        };
        let by: Vec<String> = self
            .monitors
            .lock()
            .expect("monitor lock poisoned")
            .get(&id)
            .map(|set| set.values().cloned().collect())
            .unwrap_or_default();
        self.send_to_login(holder, &ConsoleServerFrame::Watched { handoff: id, by });
    }

    /// A new line of a watched conversation goes to its watchers.
    pub(super) fn to_monitors(&self, id: u64, entry: &TranscriptEntry) {
        let logins: Vec<String> = self
            .monitors
            .lock()
            .expect("monitor lock poisoned")
            .get(&id)
            .map(|set| set.keys().cloned().collect())
            .unwrap_or_default();
        if logins.is_empty() {
            return;
        }
        let frame = ConsoleServerFrame::MonitorMessage {
            handoff: id,
            seq: entry.seq,
            from: entry.from,
            text: entry.text.clone(),
            at: entry.at,
        };
        for login in logins {
            self.send_to_login(&login, &frame);
        }
    }

    /// A supervisor's last console closed: they watch nothing any more, and the
    /// holders are told (a "watched" notice is never stale).
    pub(super) fn watcher_left(&self, login: &str) {
        if self.is_connected(login) {
            return;
        }
        let left: Vec<u64> = {
            let mut monitors = self.monitors.lock().expect("monitor lock poisoned");
            let ids: Vec<u64> = monitors
                .iter()
                .filter(|(_, set)| set.contains_key(login))
                .map(|(id, _)| *id)
                .collect();
            for id in &ids {
                if let Some(set) = monitors.get_mut(id) {
                    set.remove(login);
                    if set.is_empty() {
                        monitors.remove(id);
                    }
                }
            }
            ids
        };
        for id in left {
            if let Ok(holder) = self.holder_of(id) {
                self.tell_watched(id, holder.as_deref());
            }
        }
    }

    /// The conversation ended: its watchers are told, and stop watching.
    pub(super) fn end_monitoring(&self, id: u64) {
        let watchers = self
            .monitors
            .lock()
            .expect("monitor lock poisoned")
            .remove(&id);
        for login in watchers.into_iter().flat_map(|set| set.into_keys()) {
            self.send_to_login(&login, &ConsoleServerFrame::MonitorEnded { handoff: id });
        }
    }
}

async fn monitor(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(id): Path<u64>,
) -> Result<Response, ApiError> {
    let (transcript, holder) = app.handoffs.monitor(id, &who)?;
    app.audit
        .record(&who.login, Action::Monitor, format!("handoff:{id}"), "");
    Ok(Json(crate::protocol::MonitorView {
        handoff: id,
        holder,
        transcript,
    })
    .into_response())
}

async fn unmonitor(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    app.handoffs.unmonitor(id, &who)?;
    app.audit
        .record(&who.login, Action::Unmonitor, format!("handoff:{id}"), "");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct WhisperRequest {
    text: String,
}

async fn whisper(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<WhisperRequest>,
) -> Result<Response, ApiError> {
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > app.config.limits.max_text_chars {
        return Err(ApiError::BadRequest);
    }
    let delivered = app.handoffs.whisper(id, &who, text)?;
    app.audit
        .record(&who.login, Action::Whisper, format!("handoff:{id}"), "");
    Ok(Json(crate::protocol::Whispered { delivered }).into_response())
}
