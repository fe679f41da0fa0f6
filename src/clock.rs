//! The one clock of the server. Every part that asks the time (expiry, queue
//! timeouts, token lifetimes, retention, the schedule) asks a [`Clock`], and the rate
//! limiters read it too ([`governor::clock::Clock`] is implemented for it). It reads
//! tokio's monotonic clock, so a test that pauses and advances tokio's time
//! (`tokio::time::pause`, `advance`, `#[tokio::test(start_paused = true)]`) moves all
//! of them together without sleeping. Only the starting point comes from the system:
//! the wall-clock time is that point plus tokio's elapsed time, so a change of the
//! system's clock while the server runs is not seen.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Wall-clock time derived from tokio's monotonic clock; cheap to copy.
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

    /// Time since this clock started, on tokio's monotonic clock.
    fn elapsed(&self) -> Duration {
        self.base_instant.elapsed()
    }
}

/// The rate limiters' view of the clock: the time since it started (governor only
/// compares readings of one limiter's clock, never with the wall clock).
impl governor::clock::Clock for Clock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.elapsed()
    }
}

/// It runs like real time (only faster in paused tests), so governor's waiting
/// helpers may use it too.
impl governor::clock::ReasonablyRealtime for Clock {}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::Clock as _;

    #[tokio::test(start_paused = true)]
    async fn the_wall_clock_and_the_limiters_reading_move_with_tokios_time() {
        let clock = Clock::starting_at(1_000_000);
        let before = clock.now();
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now_ms(), 1_090_000);
        assert_eq!(clock.now_secs(), 1_090);
        assert_eq!(clock.now() - before, Duration::from_secs(90));
    }
}
