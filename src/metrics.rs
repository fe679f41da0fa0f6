//! Operational metrics for `/metrics`, in Prometheus's text format: counters, one
//! histogram, and a few gauges read at scrape time. No label names anyone: labels
//! are error codes, urgency and fixed buckets only.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::protocol::ErrorCode;

/// Upper bounds (seconds) of the handoff wait histogram.
const WAIT_BUCKETS: [u64; 7] = [10, 30, 60, 300, 900, 1800, 3600];

const CODES: [ErrorCode; 11] = [
    ErrorCode::BadRequest,
    ErrorCode::TooLarge,
    ErrorCode::RateLimited,
    ErrorCode::UnknownSession,
    ErrorCode::NotExpected,
    ErrorCode::Unauthorized,
    ErrorCode::ServerBusy,
    ErrorCode::Forbidden,
    ErrorCode::NotFound,
    ErrorCode::Conflict,
    ErrorCode::Internal,
];

#[derive(Default)]
pub struct Metrics {
    sessions_started: AtomicU64,
    turns: AtomicU64,
    errors: [AtomicU64; 11],
    rate_limited: AtomicU64,
    handoffs_requested: AtomicU64,
    /// Wait histogram: one counter per bucket (not cumulative), then +Inf.
    wait_buckets: [AtomicU64; 8],
    wait_sum_ms: AtomicU64,
    wait_count: AtomicU64,
}

/// What is read at scrape time.
pub(crate) struct Gauges {
    pub youth_sockets: u64,
    pub consoles: u64,
    pub queue_urgent: u64,
    pub queue_normal: u64,
    pub claimed: u64,
}

impl Metrics {
    pub(crate) fn session_started(&self) {
        self.sessions_started.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn turn(&self) {
        self.turns.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn handoff_requested(&self) {
        self.handoffs_requested.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn error(&self, code: ErrorCode) {
        if let Some(index) = CODES.iter().position(|c| *c == code) {
            self.errors[index].fetch_add(1, Ordering::Relaxed);
        }
        if code == ErrorCode::RateLimited {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn waited(&self, waited_ms: u64) {
        let seconds = waited_ms / 1000;
        let index = WAIT_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(WAIT_BUCKETS.len());
        self.wait_buckets[index].fetch_add(1, Ordering::Relaxed);
        self.wait_sum_ms.fetch_add(waited_ms, Ordering::Relaxed);
        self.wait_count.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition.
    pub(crate) fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            &mut out,
            "relais_sessions_started_total",
            "Youth sessions started.",
            load(&self.sessions_started),
        );
        counter(
            &mut out,
            "relais_turns_total",
            "Youth inputs answered by the flow engine.",
            load(&self.turns),
        );
        counter(
            &mut out,
            "relais_rate_limited_total",
            "Refusals by a rate limit.",
            load(&self.rate_limited),
        );
        counter(
            &mut out,
            "relais_handoffs_requested_total",
            "Requests for a human.",
            load(&self.handoffs_requested),
        );
        let _ = writeln!(out, "# HELP relais_errors_total Error frames sent, by code.\n# TYPE relais_errors_total counter");
        for (code, count) in CODES.iter().zip(&self.errors) {
            let _ = writeln!(
                out,
                "relais_errors_total{{code=\"{}\"}} {}",
                code.as_str(),
                load(count)
            );
        }
        gauge(
            &mut out,
            "relais_youth_sockets",
            "Youth sockets open now.",
            gauges.youth_sockets,
        );
        gauge(
            &mut out,
            "relais_console_sockets",
            "Console sockets open now.",
            gauges.consoles,
        );
        let _ = writeln!(out, "# HELP relais_queue_waiting Requests waiting for a human now.\n# TYPE relais_queue_waiting gauge");
        let _ = writeln!(
            out,
            "relais_queue_waiting{{urgency=\"urgent\"}} {}",
            gauges.queue_urgent
        );
        let _ = writeln!(
            out,
            "relais_queue_waiting{{urgency=\"normal\"}} {}",
            gauges.queue_normal
        );
        gauge(
            &mut out,
            "relais_conversations_live",
            "Conversations held by an intervenor now.",
            gauges.claimed,
        );
        let _ = writeln!(out, "# HELP relais_handoff_wait_seconds Time from a request to its claim.\n# TYPE relais_handoff_wait_seconds histogram");
        let mut cumulative = 0;
        for (bound, count) in WAIT_BUCKETS.iter().zip(&self.wait_buckets) {
            cumulative += load(count);
            let _ = writeln!(
                out,
                "relais_handoff_wait_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += load(&self.wait_buckets[WAIT_BUCKETS.len()]);
        let _ = writeln!(
            out,
            "relais_handoff_wait_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let _ = writeln!(
            out,
            "relais_handoff_wait_seconds_sum {:.3}",
            load(&self.wait_sum_ms) as f64 / 1000.0
        );
        let _ = writeln!(
            out,
            "relais_handoff_wait_seconds_count {}",
            load(&self.wait_count)
        );
        out
    }
}
