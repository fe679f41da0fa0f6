//! Presence, both ways, during a conversation with a person.
//!
//! The holder's side: the server knows whether the intervenor holding a conversation
//! has a console connected. When their last console goes, the time is noted; after
//! `handoff.holder_grace_secs` the youth is told, in their language, that the person
//! lost the connection and that the conversation is kept (`handoff` `away`); after
//! `handoff.holder_requeue_secs` the request goes back to the queue, first among the
//! requests of the same urgency, and the youth is told so, with resources. A console
//! that comes back in time takes the conversation up again (the youth hears it).
//!
//! The youth's side: queue items say whether the youth's page is connected now
//! (`youth_online`), and consoles get the queue again when that changes.
//!
//! Also here: the typing signals (no content) both ways, the notice of a request put
//! back in the queue (release or lost holder), and the language switch of a session
//! that has a request. Times come from the one clock (`crate::clock`), so tests move
//! them with `tokio::time::pause` and `advance`.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use super::{unhex, HandoffError, Handoffs};
use crate::messages::{say, Text};
use crate::protocol::{ConsoleServerFrame, Control, Event, HandoffStatus};
use crate::store::records::HandoffState;
use crate::store::{put_json, SessionKey};

/// A holder whose last console went away.
struct Away {
    since_ms: u64,
    /// Requests whose youth was already told the person lost the connection.
    told: HashSet<u64>,
}

/// Who among the holders has no console now. Written by attach and detach of
/// consoles and by the presence check.
#[derive(Default)]
pub struct Presence {
    away: Mutex<HashMap<String, Away>>,
}

impl Presence {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Away>> {
        self.away.lock().expect("presence lock poisoned")
    }

    /// Whether this login's consoles are all gone (since a moment the check counts).
    pub fn is_away(&self, login: &str) -> bool {
        self.lock().contains_key(login)
    }

    pub(super) fn went_away(&self, login: &str, now_ms: u64) {
        self.lock().entry(login.to_string()).or_insert(Away {
            since_ms: now_ms,
            told: HashSet::new(),
        });
    }

    /// The login is back; returns the requests whose youth had been told it was away.
    pub(super) fn came_back(&self, login: &str) -> Option<HashSet<u64>> {
        self.lock().remove(login).map(|away| away.told)
    }
}

/// Runs the presence check every second until the server stops.
pub fn spawn(handoffs: std::sync::Arc<Handoffs>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            if let Err(e) = handoffs.check_presence().await {
                tracing::error!(error = %e, "presence check failed");
            }
        }
    })
}

impl Handoffs {
    /// A console went: if it was the login's last one, the login is away from now.
    pub(super) fn console_gone(&self, login: &str) {
        let still_here = self
            .consoles
            .lock()
            .expect("console lock poisoned")
            .values()
            .any(|c| c.who.login == login);
        if !still_here {
            self.presence.went_away(login, self.clock.now_ms());
            if self.holds_any(login) {
                self.broadcast_queue();
            }
        }
    }

    /// A console came: youths told their person was away hear they are back.
    pub(super) fn console_back(&self, login: &str) {
        let Some(told) = self.presence.came_back(login) else {
            return;
        };
        for id in told {
            let still_held = {
                let state = self.lock();
                state.requests.get(&id).and_then(|r| match &r.state {
                    HandoffState::Claimed {
                        login: holder,
                        name,
                    } if holder == login => {
                        Some((r.session.clone(), r.urgent, name.clone(), r.lang.clone()))
                    }
                    _ => None,
                })
            };
            if let Some((session, urgent, name, lang)) = still_held {
                let event = Event::Handoff {
                    status: HandoffStatus::Connected,
                    urgent,
                    position: None,
                    resources: None,
                    name: Some(name),
                    message: Some(say(&lang, Text::HolderBack).to_string()),
                };
                if let Some(key) = unhex(&session) {
                    let _ = self.sessions.with(&key, |ctx| ctx.push(&event));
                }
            }
        }
        if self.holds_any(login) {
            self.broadcast_queue();
        }
    }

    fn holds_any(&self, login: &str) -> bool {
        self.lock().requests.values().any(
            |r| matches!(&r.state, HandoffState::Claimed { login: holder, .. } if holder == login),
        )
    }

    fn broadcast_queue(&self) {
        self.broadcast(&ConsoleServerFrame::Queue { items: self.list() });
    }

    /// Tells youths whose person is away past the grace period, and puts back in the
    /// queue the requests of a person away past the longer one.
    pub async fn check_presence(&self) -> Result<(), HandoffError> {
        let now = self.clock.now_ms();
        self.note_holders_without_console(now);
        let grace = self.config.holder_grace_secs * 1000;
        let requeue = self
            .config
            .holder_requeue_secs
            .max(self.config.holder_grace_secs)
            * 1000;
        let (to_tell, to_requeue) = {
            let mut away = self.presence.lock();
            let state = self.lock();
            let mut to_tell = Vec::new();
            let mut to_requeue = Vec::new();
            let mut done = Vec::new();
            for (login, who) in away.iter_mut() {
                let elapsed = now.saturating_sub(who.since_ms);
                if elapsed < grace {
                    continue;
                }
                let held: Vec<u64> = state
                    .requests
                    .values()
                    .filter(|r| {
                        matches!(&r.state, HandoffState::Claimed { login: holder, .. } if holder == login)
                    })
                    .map(|r| r.id)
                    .collect();
                if elapsed >= requeue {
                    to_requeue.extend(held);
                    done.push(login.clone());
                } else {
                    for id in held {
                        if who.told.insert(id) {
                            to_tell.push(id);
                        }
                    }
                }
            }
            for login in done {
                away.remove(&login);
            }
            (to_tell, to_requeue)
        };
        for id in to_tell {
            self.tell_away(id);
        }
        if to_requeue.is_empty() {
            return Ok(());
        }
        let mut released = Vec::new();
        for id in to_requeue {
            {
                let mut state = self.lock();
                let Some(record) = state.requests.get_mut(&id) else {
                    continue;
                };
                record.state = HandoffState::Waiting;
                record.requeued = true;
                put_json(&self.store.handoffs, id.to_be_bytes(), &*record)?;
            }
            self.stats.add("outcomes", "requeued_holder_away", 1);
            if let Some(told) = self.tell_back_in_queue(id, Text::HolderGone, true)? {
                released.push(told);
            }
        }
        self.store.flush().await?;
        for (key, seq) in released {
            self.sessions.release(&key, seq);
        }
        self.after_change();
        Ok(())
    }

    /// Holders who never had a console since the server started (a restart): away
    /// from the first check, so their youths are not left alone either.
    fn note_holders_without_console(&self, now_ms: u64) {
        let holders: HashSet<String> = self
            .lock()
            .requests
            .values()
            .filter_map(|r| match &r.state {
                HandoffState::Claimed { login, .. } => Some(login.clone()),
                HandoffState::Waiting => None,
            })
            .collect();
        if holders.is_empty() {
            return;
        }
        let connected: HashSet<String> = self
            .consoles
            .lock()
            .expect("console lock poisoned")
            .values()
            .map(|c| c.who.login.clone())
            .collect();
        for login in holders.difference(&connected) {
            self.presence.went_away(login, now_ms);
        }
    }

    fn tell_away(&self, id: u64) {
        let Some(record) = self.lock().requests.get(&id).cloned() else {
            return;
        };
        let HandoffState::Claimed { name, .. } = &record.state else {
            return;
        };
        let event = Event::Handoff {
            status: HandoffStatus::Away,
            urgent: record.urgent,
            position: None,
            resources: None,
            name: Some(name.clone()),
            message: Some(say(&record.lang, Text::HolderAway).to_string()),
        };
        if let Some(key) = unhex(&record.session) {
            let _ = self.sessions.with(&key, |ctx| ctx.push(&event));
        }
    }

    /// A request is back in the queue (released, or its holder lost): the youth is
    /// told why, where they stand, and, `with_resources`, what they can reach now.
    /// The frame is held until the caller flushes and releases the returned seq.
    pub(super) fn tell_back_in_queue(
        &self,
        id: u64,
        why: Text,
        with_resources: bool,
    ) -> Result<Option<(SessionKey, u64)>, HandoffError> {
        let available = self.available();
        let (record, position) = {
            let mut state = self.lock();
            let Some(record) = state.requests.get(&id).cloned() else {
                return Ok(None);
            };
            let position = self.position(&state, id);
            if let Some(p) = position {
                state.told.insert(id, p);
            }
            (record, position)
        };
        let Some(key) = unhex(&record.session) else {
            return Ok(None);
        };
        let mut message = say(&record.lang, why).to_string();
        if !available {
            message = format!("{message} {}", self.unavailable_message(&record.lang));
        }
        let event = Event::Handoff {
            status: if available {
                HandoffStatus::Waiting
            } else {
                HandoffStatus::Unavailable
            },
            urgent: record.urgent,
            position,
            resources: (with_resources || !available).then(|| self.resources(&record)),
            name: None,
            message: Some(message),
        };
        let seq = self.sessions.with(&key, |ctx| {
            if let Some(link) = ctx.record().handoff.as_mut() {
                link.connected = false;
            }
            ctx.push_durable(&event)
        })?;
        Ok(seq.map(|seq| (key, seq)))
    }

    /// The youth's page attached or detached: consoles see whether they are there.
    pub fn youth_presence_changed(&self, key: &SessionKey) {
        let has_request = self
            .sessions
            .with(key, |ctx| ctx.record().handoff.is_some())
            .ok()
            .flatten()
            .unwrap_or(false);
        if has_request {
            self.broadcast_queue();
        }
    }

    /// The youth is typing: the holder's consoles are told (no content).
    pub fn youth_typing(&self, key: &SessionKey) -> Result<(), HandoffError> {
        let Some(link) = self.link_of(key)? else {
            return Ok(());
        };
        let holder = self
            .lock()
            .requests
            .get(&link.id)
            .and_then(|r| match &r.state {
                HandoffState::Claimed { login, .. } => Some(login.clone()),
                HandoffState::Waiting => None,
            });
        if let Some(login) = holder {
            self.send_to_login(&login, &ConsoleServerFrame::Typing { handoff: link.id });
        }
        Ok(())
    }

    /// The holder is typing: the youth's page is told (no content, not logged).
    pub fn agent_typing(
        &self,
        id: u64,
        who: &super::accounts::Intervenor,
    ) -> Result<(), HandoffError> {
        let session = {
            let state = self.lock();
            let record = state.requests.get(&id).ok_or(HandoffError::NotFound)?;
            match &record.state {
                HandoffState::Claimed { login, .. } if *login == who.login => {
                    record.session.clone()
                }
                _ => return Err(HandoffError::Forbidden),
            }
        };
        if let Some(key) = unhex(&session) {
            self.sessions
                .with(&key, |ctx| ctx.send_control(&Control::Typing {}))?;
        }
        Ok(())
    }

    /// The youth switched language: their request (and what they are told about it
    /// from now on: notices, resources) follows.
    pub fn set_lang(&self, key: &SessionKey, lang: &str) -> Result<(), HandoffError> {
        let Some(link) = self.link_of(key)? else {
            return Ok(());
        };
        let changed = {
            let mut state = self.lock();
            match state.requests.get_mut(&link.id) {
                Some(record) if record.lang != lang => {
                    record.lang = lang.to_string();
                    put_json(&self.store.handoffs, link.id.to_be_bytes(), &*record)?;
                    true
                }
                _ => false,
            }
        };
        if changed {
            self.broadcast_queue();
        }
        Ok(())
    }
}
