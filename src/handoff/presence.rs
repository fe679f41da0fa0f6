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

use super::queue::Queue;
use super::service::Core;
use super::{unhex, HandoffError, Handoffs};
use crate::messages::{say, Text};
use crate::protocol::{ConsoleServerFrame, Control, Event};
use crate::store::records::HandoffState;
use crate::store::SessionKey;

/// A holder whose last console went away.
struct Away {
    since_ms: u64,
    /// Requests whose youth was already told the person lost the connection.
    told: HashSet<u64>,
}

/// Who among the holders has no console now. Written by attach and detach of
/// consoles and by the presence check.
#[derive(Default)]
pub(crate) struct Presence {
    away: Mutex<HashMap<String, Away>>,
}

impl Presence {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Away>> {
        self.away.lock().expect("presence lock poisoned")
    }

    /// Whether this login's consoles are all gone (since a moment the check counts).
    pub(crate) fn is_away(&self, login: &str) -> bool {
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
pub(crate) fn spawn(handoffs: std::sync::Arc<Handoffs>) -> tokio::task::JoinHandle<()> {
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

impl Core {
    /// A console went: if it was the login's last one, the login is away from now.
    pub(super) fn console_gone(&self, login: &str) {
        if !self.hub.is_connected(login) {
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
        let view = self.view();
        for id in told {
            let Some(record) = view.get(id) else {
                continue;
            };
            let HandoffState::Claimed {
                login: holder,
                name,
            } = &record.state
            else {
                continue;
            };
            if holder == login {
                let event = Event::handoff_connected(
                    record.urgent,
                    name.clone(),
                    Some(say(&record.lang, Text::HolderBack).to_string()),
                );
                self.push_to_youth(record, &event, "holder back");
            }
        }
        if self.holds_any(login) {
            self.broadcast_queue();
        }
    }

    fn holds_any(&self, login: &str) -> bool {
        !self.view().held_by(login).is_empty()
    }

    fn broadcast_queue(&self) {
        self.hub
            .broadcast(&ConsoleServerFrame::Queue { items: self.list() });
    }

    /// Holders who never had a console since the server started (a restart): away
    /// from the first check, so their youths are not left alone either.
    fn note_holders_without_console(&self, queue: &Queue, now_ms: u64) {
        let holders: HashSet<String> = queue
            .records()
            .filter_map(|r| match &r.state {
                HandoffState::Claimed { login, .. } => Some(login.clone()),
                HandoffState::Waiting => None,
            })
            .collect();
        if holders.is_empty() {
            return;
        }
        let connected = self.hub.logins();
        for login in holders.difference(&connected) {
            self.presence.went_away(login, now_ms);
        }
    }

    /// The youth hears their person lost the connection (the task, for a holder
    /// away past the grace period).
    pub(super) fn tell_away(&self, queue: &Queue, id: u64) {
        let Some(record) = queue.get(id) else {
            return;
        };
        let HandoffState::Claimed { name, .. } = &record.state else {
            return;
        };
        let event = Event::handoff_away(
            record.urgent,
            name.clone(),
            say(&record.lang, Text::HolderAway).to_string(),
        );
        self.push_to_youth(record, &event, "holder away");
    }

    /// A request is back in the queue (released, or its holder lost): the youth is
    /// told why, where they stand, and, `with_resources`, what they can reach now.
    /// The frame is held until the task's flush releases the returned seq.
    pub(super) fn tell_back_in_queue(
        &self,
        queue: &mut Queue,
        id: u64,
        why: Text,
        with_resources: bool,
    ) -> Result<Option<(SessionKey, u64)>, HandoffError> {
        let available = self.available();
        let position = queue.tell_position(id, false);
        let Some(record) = queue.get(id) else {
            return Ok(None);
        };
        let Some(key) = unhex(&record.session) else {
            return Ok(None);
        };
        let mut message = say(&record.lang, why).to_string();
        if !available {
            message = format!("{message} {}", self.unavailable_message(&record.lang));
        }
        let event = Event::handoff_in_queue(
            available,
            record.urgent,
            position,
            (with_resources || !available).then(|| self.resources(record)),
            Some(message),
        );
        let seq = self.sessions.with(&key, |ctx| {
            if let Some(link) = ctx.record().handoff.as_mut() {
                link.connected = false;
            }
            ctx.push_durable(&event)
        })?;
        Ok(seq.map(|seq| (key, seq)))
    }

    /// The youth's page attached or detached: consoles see whether they are there.
    pub(crate) fn youth_presence_changed(&self, key: &SessionKey) {
        match self.link_of(key) {
            Ok(Some(_)) => self.broadcast_queue(),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "a youth's presence could not be read"),
        }
    }

    /// The youth is typing: the holder's consoles are told (no content).
    pub(crate) fn youth_typing(&self, key: &SessionKey) -> Result<(), HandoffError> {
        let Some(link) = self.link_of(key)? else {
            return Ok(());
        };
        if let Some(login) = self.view().holder_of(link.id) {
            self.send_to_login(login, &ConsoleServerFrame::Typing { handoff: link.id });
        }
        Ok(())
    }

    /// The holder is typing: the youth's page is told (no content, not logged).
    pub(crate) fn agent_typing(
        &self,
        id: u64,
        who: &super::accounts::Intervenor,
    ) -> Result<(), HandoffError> {
        let view = self.view();
        let record = view.get(id).ok_or(HandoffError::NotFound)?;
        if view.holder_of(id) != Some(who.login.as_str()) {
            return Err(HandoffError::Forbidden);
        }
        if let Some(key) = unhex(&record.session) {
            self.sessions
                .with(&key, |ctx| ctx.send_control(&Control::Typing {}))?;
        }
        Ok(())
    }
}

impl Handoffs {
    /// Tells youths whose person is away past the grace period, and puts back in the
    /// queue the requests of a person away past the longer one (the task does both).
    pub(crate) async fn check_presence(&self) -> Result<(), HandoffError> {
        let now = self.clock.now_ms();
        let view = self.view();
        self.note_holders_without_console(&view, now);
        let grace = self.config.holder_grace_secs * 1000;
        let requeue = self
            .config
            .holder_requeue_secs
            .max(self.config.holder_grace_secs)
            * 1000;
        let (to_tell, to_requeue) = {
            let mut away = self.presence.lock();
            let mut to_tell = Vec::new();
            let mut to_requeue = Vec::new();
            let mut done = Vec::new();
            for (login, who) in away.iter_mut() {
                let elapsed = now.saturating_sub(who.since_ms);
                if elapsed < grace {
                    continue;
                }
                let held = view.held_by(login);
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
        if to_tell.is_empty() && to_requeue.is_empty() {
            return Ok(());
        }
        self.apply_presence(to_tell, to_requeue).await
    }
}
