//! Anonymous statistics: counts per day, never a per-session trail. The hot path
//! only increments counters in memory; a background task writes them to the store
//! in batches. No session id, token, address, exact time or free text is counted.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Clock;
use crate::flow::engine::{Step, Trace};
use crate::store::{Store, StoreError};

/// A counter: what is counted, and the label it is counted under.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Counter {
    pub day: String,
    pub metric: &'static str,
    pub label: String,
}

pub struct Stats {
    /// The operational counters of `/metrics` (memory only, since start).
    pub metrics: crate::metrics::Metrics,
    clock: Clock,
    /// Counts not yet written. Written by the hot path, drained by `flush`.
    pending: Mutex<HashMap<Counter, u64>>,
    /// Held by `flush` from the drain to the write, so a report that flushes first
    /// reads what a concurrent periodic flush had already drained (blocking code only).
    writing: Mutex<()>,
}

impl Stats {
    pub fn new(clock: Clock) -> Self {
        Self {
            metrics: Default::default(),
            clock,
            pending: Mutex::new(HashMap::new()),
            writing: Mutex::new(()),
        }
    }

    fn day(&self) -> String {
        crate::impact::day_of(self.clock.now_secs())
    }

    pub fn add(&self, metric: &'static str, label: impl Into<String>, count: u64) {
        let counter = Counter {
            day: self.day(),
            metric,
            label: label.into(),
        };
        *self
            .pending
            .lock()
            .expect("stats lock poisoned")
            .entry(counter)
            .or_insert(0) += count;
    }

    pub(crate) fn session_started(&self, lang: &str) {
        self.metrics.session_started();
        self.add("sessions_started", lang, 1);
    }

    pub(crate) fn handoff_requested(&self, urgent: bool) {
        self.metrics.handoff_requested();
        self.add("handoffs_requested", urgency(urgent), 1);
    }

    /// A handoff step by urgency. The on-call steps (issue 15) are `handoffs_pushed`,
    /// `handoffs_escalated`, `handoffs_paged`, `handoffs_long_wait`; with other labels:
    /// `handoffs_refused` (`queue_full`, `client_cap`), `handoffs_nobody_on_call`
    /// (`all`), `webhook_sent` (the event), and `outcomes` `abandoned`.
    pub(crate) fn handoff_event(&self, metric: &'static str, urgent: bool) {
        self.add(metric, urgency(urgent), 1);
    }

    /// Counts a wait for a person in a coarse bucket (never the exact time).
    pub(crate) fn wait_time(&self, urgent: bool, waited_ms: u64) {
        self.metrics.waited(waited_ms);
        let minutes = waited_ms / 60_000;
        let bucket = match minutes {
            0 => "<1 min",
            1..=4 => "1-5 min",
            5..=14 => "5-15 min",
            15..=59 => "15-60 min",
            _ => ">60 min",
        };
        self.add("wait_time", format!("{}|{bucket}", urgency(urgent)), 1);
    }

    /// Counts what a turn did: nodes reached, transitions (from where the flow
    /// waited), themes, resources, triggers.
    pub fn turn(&self, from: Option<&str>, step: &Step) {
        self.metrics.turn();
        let mut previous: Option<&str> = from;
        for trace in &step.trace {
            match trace {
                Trace::Entered(node) => {
                    self.add("nodes_reached", node.as_str(), 1);
                    if let Some(from) = previous {
                        self.add("transitions", format!("{from} -> {node}"), 1);
                    }
                    previous = Some(node);
                }
                Trace::ResourceShown(key) => self.add("resources_shown", key.as_str(), 1),
                Trace::UrgentTrigger(_) => self.add("urgent_triggers", "all", 1),
                Trace::Theme { node, .. } => self.add("themes_by_text", node.as_str(), 1),
                Trace::Set { var, value } if var == "theme" => {
                    self.add("themes", value.as_str(), 1)
                }
                _ => {}
            }
        }
    }

    /// Writes pending counts to the store (called periodically and at shutdown;
    /// blocking IO). Today's counts are sealed (see `Store::add_counts`).
    pub fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let _writing = self.writing.lock().expect("stats flush lock poisoned");
        let pending = std::mem::take(&mut *self.pending.lock().expect("stats lock poisoned"));
        let batch = pending
            .into_iter()
            .map(|(c, count)| (c.day, c.metric.to_string(), c.label, count))
            .collect();
        store.add_counts(batch, &self.day())
    }
}

fn urgency(urgent: bool) -> &'static str {
    if urgent {
        "urgent"
    } else {
        "normal"
    }
}
