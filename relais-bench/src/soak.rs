//! The soak: youths take turns at a steady rate (half of what relais answers flat
//! out) for minutes on one server, and every few seconds the bench writes down what
//! could grow without bound: the server's RSS, its open descriptors
//! (`/proc/PID/fd`), the size of its data folder on disk (sled), and the window's
//! turns per second and p99. At the end, [`Verdict`]s compare the last third of the
//! samples with the middle third (the first third is the warm-up).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::client::Tally;
use super::measure::Summary;
use super::process::Server;
use super::scenario::{drive, open_sessions, Outcomes, Pace};
use super::BenchError;

/// How a soak runs.
#[derive(Debug, Clone, Copy)]
pub struct SoakPlan {
    pub sessions: usize,
    pub duration: Duration,
    /// Turns per second for all sessions together.
    pub rate: f64,
    /// Time between two samples.
    pub every: Duration,
}

/// One sample of the server, over the window since the one before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoakSample {
    /// Since the soak started.
    pub at: Duration,
    pub rss: u64,
    /// Open descriptors (entries of `/proc/PID/fd`).
    pub descriptors: u64,
    /// Bytes in the data folder (every file under it).
    pub disk: u64,
    /// Turns answered in the window, per second.
    pub turns_per_sec: f64,
    /// p99 of the window's turns.
    pub p99: Duration,
}

/// What a soak measured.
#[derive(Debug, Clone)]
pub struct SoakReport {
    pub sessions: usize,
    pub rate: f64,
    pub samples: Vec<SoakSample>,
    /// Turns answered in all, and their latencies.
    pub turns: u64,
    pub latency: Summary,
    /// Turns never answered: must be 0.
    pub unanswered: u64,
    pub first_failure: Option<String>,
    pub first_error: Option<String>,
    pub tally: Tally,
}

impl SoakReport {
    /// Nothing lost, repeated, refused or left unanswered.
    pub fn clean(&self) -> bool {
        self.unanswered == 0
            && self.tally.lost == 0
            && self.tally.duplicated == 0
            && self.tally.errors == 0
    }

    /// RSS, descriptors and size on disk, each judged.
    pub fn verdicts(&self) -> [Verdict; 3] {
        let of = |pick: fn(&SoakSample) -> u64| -> Vec<(Duration, f64)> {
            self.samples
                .iter()
                .map(|s| (s.at, pick(s) as f64))
                .collect()
        };
        [
            Verdict::judge("RSS", "MiB", MIB, &of(|s| s.rss), 1.0),
            Verdict::judge("descriptors", "", 1.0, &of(|s| s.descriptors), 2.0),
            Verdict::judge("sled on disk", "MiB", MIB, &of(|s| s.disk), 1.0),
        ]
    }
}

const MIB: f64 = 1024.0 * 1024.0;

/// Whether one measure kept growing after the warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub measure: &'static str,
    pub unit: &'static str,
    /// Means of the middle and last thirds, in `unit`.
    pub middle: f64,
    pub last: f64,
    /// (last − middle) per minute between the two thirds' middles, in `unit`.
    pub slope_per_minute: f64,
    /// `None`: too few samples to say.
    pub grows: Option<bool>,
}

impl Verdict {
    /// Grows when the last third's mean is over the middle third's by more than
    /// 5 % and more than `floor` (in `unit`): a few pages or one descriptor come
    /// and go with the load.
    fn judge(
        measure: &'static str,
        unit: &'static str,
        scale: f64,
        samples: &[(Duration, f64)],
        floor: f64,
    ) -> Self {
        let third = samples.len() / 3;
        if third == 0 {
            return Self {
                measure,
                unit,
                middle: 0.0,
                last: 0.0,
                slope_per_minute: 0.0,
                grows: None,
            };
        }
        let middle = &samples[samples.len() - 2 * third..samples.len() - third];
        let last = &samples[samples.len() - third..];
        let mean = |part: &[(Duration, f64)]| {
            part.iter().map(|(_, v)| v / scale).sum::<f64>() / part.len() as f64
        };
        let centre = |part: &[(Duration, f64)]| {
            part.iter().map(|(at, _)| at.as_secs_f64()).sum::<f64>() / part.len() as f64
        };
        let (m, l) = (mean(middle), mean(last));
        let minutes = ((centre(last) - centre(middle)) / 60.0).max(1e-9);
        let growth = l - m;
        Self {
            measure,
            unit,
            middle: m,
            last: l,
            slope_per_minute: growth / minutes,
            grows: Some(growth > floor && growth > 0.05 * m.abs()),
        }
    }
}

/// Runs a soak on `server` (relais, freshly started): opens the sessions, takes
/// turns at `plan.rate` for `plan.duration`, and samples every `plan.every`,
/// telling `sampled` each sample as it is taken.
pub async fn run_soak(
    server: &Server,
    plan: &SoakPlan,
    mut sampled: impl FnMut(&SoakSample),
) -> Result<SoakReport, BenchError> {
    let sessions = open_sessions(server, plan.sessions, 1).await?;
    let count = sessions.len().max(1);
    let interval = (plan.rate > 0.0).then(|| Duration::from_secs_f64(count as f64 / plan.rate));
    let window: Arc<Mutex<Vec<u32>>> = Arc::default();
    let start = Instant::now();
    let deadline = start + plan.duration;
    let mut running = JoinSet::new();
    for (index, mut session) in sessions.into_iter().enumerate() {
        let window = window.clone();
        running.spawn(async move {
            let pace = Pace {
                start,
                deadline,
                interval,
                index,
                count,
            };
            let failure = drive(&mut session, pace, |latency| {
                if let Ok(mut window) = window.lock() {
                    window.push(latency);
                }
            })
            .await;
            (session, failure.map(|e| e.to_string()))
        });
    }

    let every = plan.every.max(Duration::from_millis(100));
    let mut samples = Vec::new();
    let mut all = Vec::new();
    let mut window_start = Instant::now();
    let mut next = start + every;
    loop {
        let last = next >= deadline;
        tokio::time::sleep_until(next.min(deadline).into()).await;
        let latencies = window
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default();
        let seconds = window_start.elapsed().as_secs_f64().max(1e-9);
        window_start = Instant::now();
        let sample = sample_server(server, start, &latencies, seconds).await?;
        sampled(&sample);
        samples.push(sample);
        all.extend(latencies);
        if last {
            break;
        }
        next += every;
    }

    let mut outcomes = Outcomes::default();
    while let Some(joined) = running.join_next().await {
        let (session, failure) =
            joined.map_err(|e| BenchError::Protocol(format!("a session task failed: {e}")))?;
        outcomes.add(session, failure);
    }
    // Turns that ended between the last sample and the sessions' stop.
    if let Ok(mut rest) = window.lock() {
        all.append(&mut rest);
    }
    drop(outcomes.sessions);
    Ok(SoakReport {
        sessions: count,
        rate: plan.rate,
        samples,
        turns: all.len() as u64,
        latency: Summary::of_micros(all),
        unanswered: outcomes.unanswered,
        first_failure: outcomes.first_failure,
        first_error: outcomes.first_error,
        tally: outcomes.tally,
    })
}

async fn sample_server(
    server: &Server,
    start: Instant,
    latencies: &[u32],
    seconds: f64,
) -> Result<SoakSample, BenchError> {
    let pid = server.pid;
    let data_dir = server.data_dir.clone();
    let (rss, descriptors, disk) = tokio::task::spawn_blocking(move || {
        let rss = super::process::rss_bytes(pid)?;
        let descriptors = std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64;
        let disk = match &data_dir {
            Some(dir) => size_on_disk(dir)?,
            None => 0,
        };
        Ok::<_, std::io::Error>((rss, descriptors, disk))
    })
    .await
    .map_err(|e| BenchError::Server(format!("sampling the server: {e}")))??;
    let summary = Summary::of_micros(latencies.to_vec());
    Ok(SoakSample {
        at: start.elapsed(),
        rss,
        descriptors,
        disk,
        turns_per_sec: latencies.len() as f64 / seconds,
        p99: summary.p99,
    })
}

/// The bytes of every file under `dir` (a file removed while walking is skipped:
/// sled removes old segments as it goes).
pub fn size_on_disk(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => pending.push(entry.path()),
                Ok(meta) => total += meta.len(),
                Err(_) => {}
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Vec<(Duration, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (Duration::from_secs(60 * i as u64), *v))
            .collect()
    }

    #[test]
    fn a_measure_that_settles_is_flat_and_one_that_climbs_grows() {
        // Warm-up, then flat: the first third does not count.
        let flat = Verdict::judge(
            "x",
            "",
            1.0,
            &series(&[1.0, 50.0, 100.0, 100.0, 101.0, 100.0]),
            2.0,
        );
        assert_eq!(flat.grows, Some(false), "{flat:?}");
        let climbing = Verdict::judge(
            "x",
            "",
            1.0,
            &series(&[10.0, 20.0, 30.0, 40.0, 50.0, 60.0]),
            2.0,
        );
        assert_eq!(climbing.grows, Some(true), "{climbing:?}");
        // Middle third 35, last 55, two minutes apart: 10 a minute.
        assert!(
            (climbing.slope_per_minute - 10.0).abs() < 1e-9,
            "{climbing:?}"
        );
        assert_eq!(
            Verdict::judge("x", "", 1.0, &series(&[1.0, 2.0]), 2.0).grows,
            None
        );
    }

    #[test]
    fn the_size_on_disk_counts_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), [0u8; 100]).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub").join("b"), [0u8; 23]).unwrap();
        assert_eq!(size_on_disk(dir.path()).unwrap(), 123);
        assert_eq!(size_on_disk(&dir.path().join("none")).unwrap(), 0);
    }
}
