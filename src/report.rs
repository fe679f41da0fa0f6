//! Impact reports from the anonymous daily counters.

use chrono::{DateTime, Local};

/// The day of a moment, in the server's time zone, as `YYYY-MM-DD`.
pub fn day_of(unix_secs: u64) -> String {
    DateTime::from_timestamp(unix_secs as i64, 0)
        .map(|t| t.with_timezone(&Local).format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".into())
}
