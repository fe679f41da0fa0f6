//! Reaching the on-call intervenor who is not watching: one task follows the queue
//! and, on the one clock (virtual in tests), does each step once per request:
//!
//! - a new urgent request is pushed at once to every on-call intervenor's devices; a
//!   normal one after `handoff.push.normal_delay_secs`;
//! - an urgent request unclaimed after `handoff.escalate_after_secs` is pushed again
//!   and sent to the supervisors and the backup list; the youth is told;
//! - unclaimed after `handoff.webhook_after_secs` (at once when nobody is on call),
//!   the webhook's `urgent_waiting` fires; the youth is told;
//! - any request waiting longer than `handoff.long_wait_mins`: `long_wait`;
//! - a request while nobody is on call: `nobody_on_call`, once until someone is;
//! - a waiting request whose youth has had no socket for
//!   `handoff.abandoned_after_secs` leaves the queue;
//! - with `handoff.schedule.auto_on_call`, those logins go on call when an opening
//!   starts and off when it ends.
//!
//! Each step is counted in the statistics (aggregates only). What was done lives in
//! memory: after a restart, steps already past are done again (a page too many,
//! never one too few).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use super::push::{Notice, Push, PushError};
use super::schedule::{Schedule, ScheduleError};
use super::webhook::{Webhook, WebhookEvent, WebhookKind};
use super::HandoffApp;
use super::{unhex, Handoffs};
use crate::clock::Clock;
use crate::config::Config;
use crate::messages::Text;
use crate::protocol::ConsoleServerFrame;
use crate::store::records::{HandoffState, Role};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum OncallError {
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error(transparent)]
    Push(#[from] PushError),
    #[error("handoff.urgent_webhook: \"{0}\" is not an http(s) address")]
    WebhookUrl(String),
    #[error("handoff.webhook_secret is needed when handoff.urgent_webhook is set")]
    WebhookSecret,
    #[error("the HTTP client could not be made: {0}")]
    Client(String),
}

/// Push, webhook and schedule, made once at start.
pub struct Oncall {
    /// `None` when `handoff.push.enabled` is false.
    pub push: Option<Arc<Push>>,
    /// `None` without `handoff.urgent_webhook`.
    pub webhook: Option<Webhook>,
    pub schedule: Schedule,
}

impl Oncall {
    pub(crate) fn open(config: &Config, store: &Store, clock: Clock) -> Result<Self, OncallError> {
        let handoff = &config.handoff;
        let schedule = Schedule::from_config(&handoff.schedule)?;
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OncallError::Client(e.to_string()))?;
        let webhook = match &handoff.urgent_webhook {
            None => None,
            Some(url) if url.trim().is_empty() => None,
            Some(url) => {
                let parsed: reqwest::Url = url
                    .parse()
                    .map_err(|_| OncallError::WebhookUrl(url.clone()))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(OncallError::WebhookUrl(url.clone()));
                }
                let secret = handoff
                    .webhook_secret
                    .clone()
                    .filter(|s| !s.is_empty())
                    .ok_or(OncallError::WebhookSecret)?;
                Some(Webhook::new(parsed, secret, client.clone(), clock))
            }
        };
        let push = if handoff.push.enabled {
            let push = Push::open(
                &config.data_dir,
                store.clone(),
                handoff.push.clone(),
                client,
                clock,
            )?;
            Some(Arc::new(push))
        } else {
            None
        };
        Ok(Self {
            push,
            webhook,
            schedule,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Step {
    Push,
    Escalate,
    Page,
    LongWait,
}

/// A waiting request, as the follower sees it.
struct Waiting {
    id: u64,
    urgent: bool,
    created_ms: u64,
    session: String,
}

impl Handoffs {
    fn waiting_now(&self) -> Vec<Waiting> {
        self.view()
            .records()
            .filter(|r| r.state == HandoffState::Waiting)
            .map(|r| Waiting {
                id: r.id,
                urgent: r.urgent,
                created_ms: r.created_ms,
                session: r.session.clone(),
            })
            .collect()
    }

    /// Logins on call now (whether or not a console is open).
    pub(crate) fn on_call_logins(&self) -> HashSet<String> {
        self.on_call.lock().expect("roster lock poisoned").clone()
    }

    /// Names of those on call, for the console.
    pub(crate) fn on_call_names(&self) -> Result<Vec<String>, StoreError> {
        let logins = self.on_call_logins();
        let mut names: Vec<String> = self
            .accounts
            .list()?
            .into_iter()
            .filter(|a| logins.contains(&a.login))
            .map(|a| a.name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// Tells a waiting youth where things stand, with a sentence and resources.
    fn tell_step(&self, id: u64, text: Text) {
        self.tell_step_of(&self.view(), id, text);
    }

    fn is_attached(&self, session: &str) -> bool {
        unhex(session).is_some_and(|key| self.sessions.is_attached(&key))
    }
}

/// Starts the follower; it runs until aborted.
pub(crate) fn spawn(state: HandoffApp) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut follower = Follower::new(state);
        loop {
            let wait = follower.run_once().await;
            tokio::select! {
                _ = follower.state.handoffs.changed.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    })
}

struct Follower {
    state: HandoffApp,
    done: HashSet<(u64, Step)>,
    gone_since: HashMap<u64, u64>,
    /// `nobody_on_call` was sent and nobody came on call since.
    nobody_told: bool,
    /// When the schedule was last looked at, for the automatic shifts.
    checked_ms: i64,
    /// Logins the schedule put on call.
    auto_on: HashSet<String>,
    /// The first look at the schedule is still to come.
    first: bool,
}

/// Longest the follower sleeps (it checks who is still attached).
const MAX_WAIT: Duration = Duration::from_secs(5);

impl Follower {
    fn new(state: HandoffApp) -> Self {
        let checked_ms = state.clock.now_ms() as i64;
        Self {
            state,
            done: HashSet::new(),
            gone_since: HashMap::new(),
            nobody_told: false,
            checked_ms,
            auto_on: HashSet::new(),
            first: true,
        }
    }

    /// Does what is due; returns how long to wait before the next thing.
    async fn run_once(&mut self) -> Duration {
        let app = self.state.clone();
        let handoffs = &app.handoffs;
        let config = &app.config.handoff;
        let now = app.clock.now_ms();
        self.shifts(now as i64);
        let waiting = handoffs.waiting_now();
        let ids: HashSet<u64> = waiting.iter().map(|w| w.id).collect();
        self.done.retain(|(id, _)| ids.contains(id));
        self.gone_since.retain(|id, _| ids.contains(id));
        let on_call = handoffs.on_call_logins();
        let mut next = now + MAX_WAIT.as_millis() as u64;

        if on_call.is_empty() && !waiting.is_empty() {
            if !self.nobody_told {
                self.nobody_told = true;
                app.stats.add("handoffs_nobody_on_call", "all", 1);
                self.page(WebhookKind::NobodyOnCall, None, &waiting, now);
            }
        } else if !on_call.is_empty() {
            self.nobody_told = false;
        }

        let mut abandoned = Vec::new();
        for request in &waiting {
            let waited = now.saturating_sub(request.created_ms);
            let mut steps = vec![(
                Step::Push,
                if request.urgent {
                    0
                } else {
                    config.push.normal_delay_secs * 1000
                },
            )];
            if request.urgent {
                steps.push((Step::Escalate, config.escalate_after_secs * 1000));
                let page_after = if on_call.is_empty() {
                    0
                } else {
                    config.webhook_after_secs * 1000
                };
                steps.push((Step::Page, page_after));
            }
            if config.long_wait_mins > 0 {
                steps.push((Step::LongWait, config.long_wait_mins * 60_000));
            }
            for (step, after) in steps {
                if self.done.contains(&(request.id, step)) {
                    continue;
                }
                if waited >= after {
                    self.done.insert((request.id, step));
                    self.act(step, request, &waiting, &on_call, now);
                } else {
                    next = next.min(request.created_ms + after);
                }
            }
            if handoffs.is_attached(&request.session) {
                self.gone_since.remove(&request.id);
            } else {
                let since = *self.gone_since.entry(request.id).or_insert(now);
                let due = since + config.abandoned_after_secs * 1000;
                if due <= now {
                    abandoned.push(request.id);
                } else {
                    next = next.min(due);
                }
            }
        }
        for id in abandoned {
            if let Err(e) = handoffs.drop_abandoned(id).await {
                tracing::error!(error = %e, "an abandoned request could not be dropped");
            }
        }
        if let Some(change) = self.next_shift_change(now as i64) {
            next = next.min(change);
        }
        Duration::from_millis(next.saturating_sub(app.clock.now_ms()).max(1))
    }

    fn act(
        &mut self,
        step: Step,
        request: &Waiting,
        waiting: &[Waiting],
        on_call: &HashSet<String>,
        now: u64,
    ) {
        let app = &self.state;
        let count = waiting.len();
        match step {
            Step::Push => {
                let text = if request.urgent {
                    Text::PushUrgent
                } else {
                    Text::PushNormal
                };
                if self.push_to(on_call, text, count, request.urgent) > 0 {
                    app.stats.handoff_event("handoffs_pushed", request.urgent);
                }
            }
            Step::Escalate => {
                let mut targets = on_call.clone();
                if let Ok(accounts) = app.accounts.list() {
                    targets.extend(
                        accounts
                            .into_iter()
                            .filter(|a| a.role == Role::Supervisor)
                            .map(|a| a.login),
                    );
                }
                targets.extend(app.config.handoff.backup_logins.iter().cloned());
                let devices = self.push_to(&targets, Text::PushEscalated, count, true);
                app.handoffs.broadcast(&ConsoleServerFrame::Queue {
                    items: app.handoffs.list(),
                });
                // Told only when someone was really alerted.
                if devices > 0 {
                    app.handoffs.tell_step(request.id, Text::HandoffEscalated);
                }
                app.stats.handoff_event("handoffs_escalated", true);
            }
            Step::Page => {
                if self.page(WebhookKind::UrgentWaiting, Some(request), waiting, now) {
                    app.handoffs.tell_step(request.id, Text::HandoffPaged);
                    app.stats.handoff_event("handoffs_paged", true);
                }
            }
            Step::LongWait => {
                if self.page(WebhookKind::LongWait, Some(request), waiting, now) {
                    app.stats
                        .handoff_event("handoffs_long_wait", request.urgent);
                }
            }
        }
    }

    /// Pushes to these accounts' devices; returns how many devices were sent to.
    fn push_to(&self, logins: &HashSet<String>, text: Text, waiting: usize, urgent: bool) -> usize {
        let Some(push) = &self.state.oncall.push else {
            return 0;
        };
        // Accounts removed since they subscribed lose their subscriptions here.
        if let Ok(accounts) = self.state.accounts.list() {
            let known: HashSet<String> = accounts.into_iter().map(|a| a.login).collect();
            let _ = push.forget_accounts_except(&known);
        }
        push.notify(
            logins,
            Notice {
                text,
                waiting,
                urgent,
            },
        )
    }

    /// Sends a webhook event; false without a webhook.
    fn page(
        &self,
        kind: WebhookKind,
        request: Option<&Waiting>,
        waiting: &[Waiting],
        now: u64,
    ) -> bool {
        let app = &self.state;
        let Some(webhook) = &app.oncall.webhook else {
            return false;
        };
        let mut event = WebhookEvent::new(kind, &app.clock);
        event.handoff = request.map(|r| r.id);
        event.urgent = request.is_some_and(|r| r.urgent);
        event.waited_secs = request.map(|r| now.saturating_sub(r.created_ms) / 1000);
        event.waiting = waiting.len();
        event.urgent_waiting = waiting.iter().filter(|w| w.urgent).count();
        event.on_call = app.handoffs.on_call_logins().len();
        webhook.send(event);
        app.stats.add("webhook_sent", kind.as_str(), 1);
        true
    }

    /// Automatic shifts: the listed logins go on call when an opening starts and
    /// off when it ends (only those the schedule put on).
    fn shifts(&mut self, now: i64) {
        let logins = &self.state.config.handoff.schedule.auto_on_call;
        if logins.is_empty() {
            self.checked_ms = now;
            return;
        }
        let schedule = &self.state.oncall.schedule;
        let mut changes = schedule.changes_between(self.checked_ms, now);
        if std::mem::take(&mut self.first) && schedule.open_at(now) {
            // Started inside an opening: the shift has begun.
            changes.push((now, true));
        }
        self.checked_ms = now;
        let Some(&(_, starts)) = changes.last() else {
            return;
        };
        for login in logins {
            let result = if starts {
                if self.state.handoffs.is_on_call(login) {
                    continue;
                }
                self.auto_on.insert(login.clone());
                self.state.handoffs.set_on_call_login(login, true)
            } else {
                if !self.auto_on.remove(login) {
                    continue;
                }
                self.state.handoffs.set_on_call_login(login, false)
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "an automatic shift change failed");
            }
        }
    }

    fn next_shift_change(&self, now: i64) -> Option<u64> {
        if self.state.config.handoff.schedule.auto_on_call.is_empty() {
            return None;
        }
        self.state
            .oncall
            .schedule
            .changes_between(now, now + 2 * 86_400_000)
            .first()
            .map(|(at, _)| *at as u64)
    }
}
