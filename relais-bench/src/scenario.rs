//! The phases of a bench, each against a server already started (see
//! [`super::process`]) and each returning a report:
//! - [`run_turns`]: N sessions take turns, flat out or at a total rate, for a while;
//! - [`run_idle`]: N sessions open and stay silent; the server's RSS before and after;
//! - [`run_urgent`]: youths write an urgent phrase; time to the `handoff` frame,
//!   which relais sends only once the request is flushed to disk;
//! - [`run_start`]: spawn to "listening" and to `/readyz` answering 200.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use relais::protocol::{Event, HandoffStatus};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::client::{Echo, Peer, Session, Tally, Youth};
use super::measure::{micros, Summary};
use super::process::{own_cpu_time, start_relais, RelaisSetup, Server};
use super::{BenchError, Target};

/// Handshakes in flight at once while sessions open.
pub const CONNECT_CONCURRENCY: usize = 128;

/// How a turns phase runs.
#[derive(Debug, Clone, Copy)]
pub struct TurnPlan {
    pub sessions: usize,
    pub duration: Duration,
    /// Turns per second for all sessions together; `None` is flat out (each
    /// session sends its next frame as soon as its turn is answered).
    pub rate: Option<f64>,
    /// Frames the floor sends back per frame (ignored for relais).
    pub echo_frames: usize,
}

/// What a turns phase measured.
#[derive(Debug, Clone)]
pub struct TurnReport {
    pub target: Target,
    pub sessions: usize,
    pub rate: Option<f64>,
    /// Turns answered in the phase.
    pub turns: u64,
    /// Turns never answered (a timeout or a closed socket): must be 0.
    pub unanswered: u64,
    /// The first reason a turn went unanswered, if one did.
    pub first_failure: Option<String>,
    /// The first `error` frame received, if one was.
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latency: Summary,
    pub tally: Tally,
    /// The server's CPU time over the phase (user + system, `/proc/PID/stat`).
    pub server_cpu: Duration,
    /// The server's CPU time over the phase, in cores (1.0 = one core busy).
    pub server_cores: f64,
    /// The bench's own CPU time over the phase, in cores.
    pub bench_cores: f64,
}

impl TurnReport {
    pub fn turns_per_sec(&self) -> f64 {
        self.turns as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The server's CPU time per turn answered.
    pub fn server_cpu_per_turn(&self) -> Duration {
        self.server_cpu / u32::try_from(self.turns.max(1)).unwrap_or(u32::MAX)
    }

    /// Nothing lost, repeated, refused or left unanswered.
    pub fn clean(&self) -> bool {
        self.unanswered == 0
            && self.tally.lost == 0
            && self.tally.duplicated == 0
            && self.tally.errors == 0
    }
}

/// Opens `count` sessions on the server (youths on relais, echo clients on the
/// floor, users of the peer on Botkit), `CONNECT_CONCURRENCY` at a time.
pub async fn open_sessions(
    server: &Server,
    count: usize,
    echo_frames: usize,
) -> Result<Vec<Session>, BenchError> {
    let url = server.ws_url("/chat");
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut opening = JoinSet::new();
    for index in 0..count {
        let url = url.clone();
        let gate = gate.clone();
        let target = server.target;
        opening.spawn(async move {
            let _permit = gate
                .acquire_owned()
                .await
                .map_err(|_| BenchError::Protocol("connection gate closed".into()))?;
            let session = match target {
                Target::Relais => Session::Youth(Youth::open(&url, "fr", index as u64 + 1).await?),
                Target::Floor => Session::Echo(Echo::open(&url, echo_frames).await?),
                Target::Botkit => Session::Peer(Peer::open(&url, index as u64 + 1).await?),
            };
            Ok::<_, BenchError>((index, session))
        });
    }
    let mut sessions: Vec<Option<Session>> = (0..count).map(|_| None).collect();
    while let Some(joined) = opening.join_next().await {
        let (index, session) =
            joined.map_err(|e| BenchError::Protocol(format!("a session task failed: {e}")))??;
        sessions[index] = Some(session);
    }
    Ok(sessions.into_iter().flatten().collect())
}

/// Runs turns on `plan.sessions` fresh sessions for `plan.duration`.
pub async fn run_turns(server: &Server, plan: &TurnPlan) -> Result<TurnReport, BenchError> {
    let sessions = open_sessions(server, plan.sessions, plan.echo_frames).await?;
    let count = sessions.len().max(1);
    let interval = plan
        .rate
        .filter(|rate| *rate > 0.0)
        .map(|rate| Duration::from_secs_f64(count as f64 / rate));
    let server_before = server.cpu_time()?;
    let bench_before = own_cpu_time()?;
    let start = Instant::now();
    let deadline = start + plan.duration;
    // The first unanswered turn is said at once, with the server's pid, so a
    // watcher can take the server's stacks while it is stuck.
    let said = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pid = server.pid;
    let mut running = JoinSet::new();
    for (index, mut session) in sessions.into_iter().enumerate() {
        let said = said.clone();
        running.spawn(async move {
            let mut latencies = Vec::new();
            let pace = Pace {
                start,
                deadline,
                interval,
                index,
                count,
            };
            let failure = drive(&mut session, pace, |latency| latencies.push(latency)).await;
            if let Some(error) = &failure {
                if !said.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    eprintln!(
                        "relais-bench: unanswered turn on server pid {pid}, {:.1} s in: {error}",
                        start.elapsed().as_secs_f64()
                    );
                }
            }
            (session, latencies, failure.map(|e| e.to_string()))
        });
    }
    let mut all = Vec::new();
    let mut outcomes = Outcomes::default();
    while let Some(joined) = running.join_next().await {
        let (session, latencies, failure) =
            joined.map_err(|e| BenchError::Protocol(format!("a session task failed: {e}")))?;
        all.extend(latencies);
        outcomes.add(session, failure);
    }
    let elapsed = start.elapsed();
    let server_cpu = server.cpu_time()?.saturating_sub(server_before);
    let server_cores = server_cpu.as_secs_f64() / elapsed.as_secs_f64();
    let bench_cores = (own_cpu_time()? - bench_before).as_secs_f64() / elapsed.as_secs_f64();
    // Sockets close as they drop; the server sees them go.
    drop(outcomes.sessions);
    Ok(TurnReport {
        target: server.target,
        sessions: count,
        rate: plan.rate,
        turns: all.len() as u64,
        unanswered: outcomes.unanswered,
        first_failure: outcomes.first_failure,
        first_error: outcomes.first_error,
        elapsed,
        latency: Summary::of_micros(all),
        tally: outcomes.tally,
        server_cpu,
        server_cores,
        bench_cores,
    })
}

/// What the sessions of a phase came back with, gathered as they finish.
#[derive(Default)]
pub struct Outcomes {
    pub tally: Tally,
    /// Sessions that stopped at an unanswered turn, and the first reason.
    pub unanswered: u64,
    pub first_failure: Option<String>,
    /// The first `error` frame a session received.
    pub first_error: Option<String>,
    /// The sessions, still open (they close when dropped).
    pub sessions: Vec<Session>,
}

impl Outcomes {
    pub fn add(&mut self, session: Session, failure: Option<String>) {
        self.tally.add(&session.tally());
        if self.first_error.is_none() {
            self.first_error = session.first_error().map(str::to_string);
        }
        if let Some(failure) = failure {
            self.unanswered += 1;
            self.first_failure.get_or_insert(failure);
        }
        self.sessions.push(session);
    }
}

/// When one session of a phase sends: from `start` until `deadline`, flat out, or
/// every `interval` (at a rate), the `index`-th of `count` sessions shifted by its
/// share of one interval so the sessions are spread evenly.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub start: Instant,
    pub deadline: Instant,
    pub interval: Option<Duration>,
    pub index: usize,
    pub count: usize,
}

/// Takes turns on one session as `pace` says, telling `record` each answered turn's
/// latency (microseconds); stops at the deadline or at the first unanswered turn,
/// which it returns.
pub async fn drive(
    session: &mut Session,
    pace: Pace,
    mut record: impl FnMut(u32),
) -> Option<BenchError> {
    let mut next = pace.start
        + pace.interval.map_or(Duration::ZERO, |i| {
            i.mul_f64(pace.index as f64 / pace.count.max(1) as f64)
        });
    loop {
        match pace.interval {
            Some(interval) => {
                // A session that fell behind its schedule stops at the deadline
                // too, rather than catch up on turns past it.
                if next >= pace.deadline || Instant::now() >= pace.deadline {
                    return None;
                }
                tokio::time::sleep_until(next.into()).await;
                next += interval;
            }
            None => {
                if Instant::now() >= pace.deadline {
                    return None;
                }
            }
        }
        match session.turn().await {
            Ok(latency) => record(micros(latency)),
            Err(error) => return Some(error),
        }
    }
}

/// What an idle phase measured.
#[derive(Debug, Clone)]
pub struct IdleReport {
    pub target: Target,
    pub sessions: usize,
    pub rss_before: u64,
    pub rss_after: u64,
    /// How long it took to open them all.
    pub open_time: Duration,
    pub tally: Tally,
}

impl IdleReport {
    /// RSS per idle session, in bytes (negative growth counts as zero).
    pub fn per_session(&self) -> f64 {
        self.rss_after.saturating_sub(self.rss_before) as f64 / self.sessions.max(1) as f64
    }
}

/// Opens `sessions` sessions that then stay silent, and reads the server's RSS
/// before and after (after a short settle each time).
pub async fn run_idle(server: &Server, sessions: usize) -> Result<IdleReport, BenchError> {
    let settle = Duration::from_secs(1);
    tokio::time::sleep(settle).await;
    let rss_before = server.rss_bytes()?;
    let opened = Instant::now();
    let open = open_sessions(server, sessions, 1).await?;
    let open_time = opened.elapsed();
    tokio::time::sleep(settle * 2).await;
    let rss_after = server.rss_bytes()?;
    let mut tally = Tally::default();
    for session in &open {
        tally.add(&session.tally());
    }
    let count = open.len();
    drop(open);
    Ok(IdleReport {
        target: server.target,
        sessions: count,
        rss_before,
        rss_after,
        open_time,
        tally,
    })
}

/// What the bench's youths write to ask for help urgently: an urgent trigger of the
/// shipped `flows/declencheurs.toml`.
pub const URGENT_PHRASE: &str = "je veux mourir";

/// How an urgent phase runs.
#[derive(Debug, Clone)]
pub struct UrgentPlan {
    /// Urgent requests in all, each from a fresh youth who then forgets the session.
    pub count: usize,
    /// Youths at once.
    pub concurrency: usize,
    /// What they write (an urgent trigger of flows/declencheurs.toml).
    pub phrase: String,
}

/// What an urgent phase measured.
#[derive(Debug, Clone)]
pub struct UrgentReport {
    /// Text sent → `handoff` frame (flushed before it is sent).
    pub handoff: Summary,
    /// Text sent → first bot frame of the urgent node.
    pub first_reply: Summary,
    /// How many `handoff` frames came with each status.
    pub statuses: BTreeMap<String, u64>,
    pub failures: u64,
    pub first_failure: Option<String>,
    pub tally: Tally,
}

/// Urgent requests, `concurrency` youths at a time.
pub async fn run_urgent(server: &Server, plan: &UrgentPlan) -> Result<UrgentReport, BenchError> {
    let url = server.ws_url("/chat");
    let workers = plan.concurrency.clamp(1, plan.count.max(1));
    let mut running = JoinSet::new();
    for worker in 0..workers {
        let url = url.clone();
        let phrase = plan.phrase.clone();
        let share = plan.count / workers + usize::from(worker < plan.count % workers);
        running.spawn(async move {
            let mut timings = Vec::new();
            let mut tally = Tally::default();
            let mut failures = Vec::new();
            for round in 0..share {
                let seed = (worker * 1_000_003 + round) as u64;
                let attempt = async {
                    let mut youth = Youth::open(&url, "fr", seed).await?;
                    let timing = youth.urgent(&phrase).await?;
                    let seen = youth.forget().await?;
                    Ok::<_, BenchError>((timing, seen))
                };
                match attempt.await {
                    Ok((timing, seen)) => {
                        timings.push(timing);
                        tally.add(&seen);
                    }
                    Err(error) => failures.push(error.to_string()),
                }
            }
            (timings, tally, failures)
        });
    }
    let mut handoff = Vec::new();
    let mut first_reply = Vec::new();
    let mut statuses = BTreeMap::new();
    let mut tally = Tally::default();
    let mut failures = 0;
    let mut first_failure = None;
    while let Some(joined) = running.join_next().await {
        let (timings, seen, failed) =
            joined.map_err(|e| BenchError::Protocol(format!("an urgent task failed: {e}")))?;
        for timing in timings {
            handoff.push(micros(timing.handoff));
            first_reply.push(micros(timing.first_reply));
            *statuses.entry(timing.status).or_insert(0) += 1;
        }
        tally.add(&seen);
        failures += failed.len() as u64;
        if first_failure.is_none() {
            first_failure = failed.into_iter().next();
        }
    }
    Ok(UrgentReport {
        handoff: Summary::of_micros(handoff),
        first_reply: Summary::of_micros(first_reply),
        statuses,
        failures,
        first_failure,
        tally,
    })
}

/// What a start-time phase measured.
#[derive(Debug, Clone)]
pub struct StartReport {
    pub flow_files: usize,
    /// Spawn → "relais listening on …" (printed before the flows load).
    pub listening: Summary,
    /// Spawn → `/readyz` answers 200 (store open, flows loaded, serving).
    pub ready: Summary,
}

/// Starts relais `repeats` times on `setup.flows_dir`, each with a fresh data folder.
pub async fn run_start(setup: &RelaisSetup, repeats: usize) -> Result<StartReport, BenchError> {
    let flow_files = count_flow_files(&setup.flows_dir)?;
    let mut listening = Vec::new();
    let mut ready = Vec::new();
    for _ in 0..repeats.max(1) {
        let server = start_relais(setup).await?;
        listening.push(micros(server.listening_after));
        let since = server.spawned_at;
        ready.push(micros(super::http::wait_ready(server.addr, since).await?));
        server.stop().await?;
    }
    Ok(StartReport {
        flow_files,
        listening: Summary::of_micros(listening),
        ready: Summary::of_micros(ready),
    })
}

fn count_flow_files(dir: &std::path::Path) -> std::io::Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(dir)? {
        if entry?.path().extension().is_some_and(|e| e == "flow") {
            count += 1;
        }
    }
    Ok(count)
}

/// How a handoff phase runs: youths ask for a person, simulated intervenors answer.
#[derive(Debug, Clone)]
pub struct HandoffPlan {
    /// Youths in all; each asks once, reads the reply, answers, and is closed.
    pub youths: usize,
    /// Youths at once.
    pub concurrency: usize,
    /// The intervenors' (login, password): accounts made before the server started
    /// (see [`RelaisSetup::intervenors`]).
    pub intervenors: Vec<(String, String)>,
    /// The choice that asks for a person, on the first menu.
    pub choice: String,
}

/// What a handoff phase measured.
#[derive(Debug, Clone)]
pub struct HandoffReport {
    /// `choose` → the `handoff` frame (`waiting`), stored and flushed first.
    pub request: Summary,
    /// Console `claim` → `claimed`.
    pub claim: Summary,
    /// Console `reply` → the youth's `agent` frame (flushed first).
    pub reply: Summary,
    /// Youth `text` → the console's `message` frame (flushed first).
    pub youth_message: Summary,
    /// Conversations that went the whole way (asked, answered, closed).
    pub completed: u64,
    pub failures: u64,
    pub first_failure: Option<String>,
    /// Console `error` frames other than lost claim races.
    pub console_errors: u64,
    pub first_console_error: Option<String>,
    pub tally: Tally,
}

/// Youths ask for a person; the intervenors claim, reply and close.
pub async fn run_handoffs(
    server: &Server,
    plan: &HandoffPlan,
) -> Result<HandoffReport, BenchError> {
    use super::console::{age_of, intervenor, stamped};
    let base = Instant::now();
    let limit = super::PATIENCE * 4 + Duration::from_millis(plan.youths as u64 * 20);
    let (done_tx, done) = tokio::sync::watch::channel(false);
    let (ready_tx, mut ready) = tokio::sync::mpsc::channel(plan.intervenors.len().max(1));
    let mut consoles = JoinSet::new();
    for (login, password) in plan.intervenors.clone() {
        let (addr, ready, done) = (server.addr, ready_tx.clone(), done.clone());
        consoles.spawn(async move {
            intervenor(addr, (&login, &password), base, ready, done, limit).await
        });
    }
    drop(ready_tx);
    for _ in 0..plan.intervenors.len() {
        tokio::time::timeout(super::PATIENCE, ready.recv())
            .await
            .map_err(|_| BenchError::Timeout("an intervenor never got ready".into()))?;
    }

    let url = server.ws_url("/chat");
    let gate = Arc::new(Semaphore::new(plan.concurrency.max(1)));
    let mut youths = JoinSet::new();
    for index in 0..plan.youths {
        let (url, gate, choice) = (url.clone(), gate.clone(), plan.choice.clone());
        youths.spawn(async move {
            let _permit = gate
                .acquire_owned()
                .await
                .map_err(|_| BenchError::Protocol("youth gate closed".into()))?;
            let mut youth = Youth::open(&url, "fr", 7_000_000 + index as u64).await?;
            let asked = Instant::now();
            let frame = serde_json::json!({"type": "choose", "id": choice}).to_string();
            youth.send_frame(&frame).await?;
            youth
                .until(|e| {
                    matches!(
                        e,
                        Event::Handoff {
                            status: HandoffStatus::Waiting | HandoffStatus::Unavailable,
                            ..
                        }
                    )
                })
                .await?;
            let request = asked.elapsed();
            let agent = youth.until(|e| matches!(e, Event::Agent { .. })).await?;
            let reply = match &agent {
                Event::Agent { text, .. } => age_of(text, base),
                _ => None,
            }
            .ok_or_else(|| BenchError::Protocol(format!("agent frame not stamped: {agent:?}")))?;
            let text = serde_json::json!({"type": "text", "text": stamped(base)}).to_string();
            youth.send_frame(&text).await?;
            youth
                .until(|e| {
                    matches!(
                        e,
                        Event::Handoff {
                            status: HandoffStatus::Ended,
                            ..
                        }
                    )
                })
                .await?;
            Ok::<_, BenchError>((request, reply, youth.close().await))
        });
    }
    let (mut request, mut reply) = (Vec::new(), Vec::new());
    let mut tally = Tally::default();
    let (mut completed, mut failures, mut first_failure) = (0, 0, None);
    while let Some(joined) = youths.join_next().await {
        match joined.map_err(|e| BenchError::Protocol(format!("a youth task failed: {e}")))? {
            Ok((asked, answered, seen)) => {
                request.push(micros(asked));
                reply.push(micros(answered));
                tally.add(&seen);
                completed += 1;
            }
            Err(error) => {
                failures += 1;
                first_failure.get_or_insert(error.to_string());
            }
        }
    }
    let _ = done_tx.send(true);
    let (mut claim, mut youth_message) = (Vec::new(), Vec::new());
    let (mut console_errors, mut first_console_error) = (0, None);
    while let Some(joined) = consoles.join_next().await {
        let timings = joined
            .map_err(|e| BenchError::Protocol(format!("an intervenor task failed: {e}")))??;
        claim.extend(timings.claims);
        youth_message.extend(timings.youth_messages);
        console_errors += timings.errors;
        if first_console_error.is_none() {
            first_console_error = timings.first_error;
        }
    }
    Ok(HandoffReport {
        request: Summary::of_micros(request),
        claim: Summary::of_micros(claim),
        reply: Summary::of_micros(reply),
        youth_message: Summary::of_micros(youth_message),
        completed,
        failures,
        first_failure,
        console_errors,
        first_console_error,
        tally,
    })
}
