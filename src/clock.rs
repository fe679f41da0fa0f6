//! The one clock of the server. It follows tokio's clock, so tests that pause and
//! advance time (`tokio::time::pause`) move expiry and queue timeouts without sleeping.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Wall-clock time derived from tokio's monotonic clock; cheap to clone.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_unix_ms: u64,
    base_instant: Instant,
}

impl Clock {
    /// A clock that starts at the system's current time.
    pub fn system() -> Self {
        let base_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as u64;
        Self {
            base_unix_ms,
            base_instant: Instant::now(),
        }
    }

    /// A clock that starts at a given time (tests: a schedule at a known hour).
    pub fn starting_at(unix_ms: u64) -> Self {
        Self {
            base_unix_ms: unix_ms,
            base_instant: Instant::now(),
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.base_unix_ms + self.base_instant.elapsed().as_millis() as u64
    }

    /// Seconds since the Unix epoch.
    pub fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }
}
