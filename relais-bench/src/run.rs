//! What each `relais-bench` command does, so the binary only reads its command line
//! and prints: find relais, the flows and the pages ([`Places`]), start a fresh server
//! for each phase, run it, stop it, and return the report; [`suite`] runs every phase
//! BENCHMARKS.md reports, in one go.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::floor::FloorOptions;
use super::peer::PeerSetup;
use super::process::{
    raise_open_file_limit, scratch_dir, start_floor, start_floor_in_process, start_relais,
    RelaisSetup, Server,
};
use super::scenario::{
    run_handoffs, run_idle, run_start, run_turns, run_urgent, HandoffPlan, HandoffReport,
    IdleReport, StartReport, TurnPlan, TurnReport, UrgentPlan, UrgentReport, URGENT_PHRASE,
};
use super::soak::{run_soak, SoakPlan, SoakReport, SoakSample};
use super::{BenchError, Target};

/// The password of every simulated intervenor (the accounts live in a scratch store).
pub const INTERVENOR_PASSWORD: &str = "bench-password-for-load-tests";

/// The choice of the shipped flows' first menu that asks for a person.
pub const ASK_FOR_A_PERSON: &str = "menu_parler";

/// What the command line may say about where things are; `None` takes the default.
#[derive(Debug, Clone, Default)]
pub struct Locations {
    /// The relais binary (default: `relais` beside this binary, same build profile).
    pub relais: Option<PathBuf>,
    /// The flows relais serves (default: the workspace's shipped `flows/`).
    pub flows_dir: Option<PathBuf>,
    /// The pages relais serves (default: the workspace's `web/`).
    pub web_dir: Option<PathBuf>,
    /// Where data folders are made (default: the temp dir).
    pub scratch_dir: Option<PathBuf>,
    /// The peer's folder (default: `../shared/peers/botkit/` beside the workspace).
    pub peer_dir: Option<PathBuf>,
}

/// How the floor is started.
#[derive(Debug, Clone)]
pub enum FloorLauncher {
    /// As a child process, `EXE floor …` (the `relais-bench` binary): its RSS and CPU
    /// time are its own. What the commands do.
    Binary(PathBuf),
    /// On a task of this process (see [`start_floor_in_process`]): for tests.
    InProcess,
}

/// Where relais, the flows and the pages are, and how the floor starts.
#[derive(Debug, Clone)]
pub struct Places {
    pub setup: RelaisSetup,
    pub floor: FloorLauncher,
    /// Where the peer is and where its install is cached.
    pub peer: PeerSetup,
    /// The soft open-file limit in force (raised to the hard one).
    pub open_files: u64,
}

/// The workspace this crate was built in (its `flows/` and `web/` are the defaults).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `../shared/peers/botkit/` beside the workspace.
pub fn default_peer_dir(workspace: &Path) -> PathBuf {
    workspace
        .parent()
        .unwrap_or(workspace)
        .join("shared")
        .join("peers")
        .join("botkit")
}

impl Places {
    /// From the command line's locations, for a bench of at most `most_sessions`
    /// sessions at once; the floor is this binary's `floor` command. Raises the
    /// open-file limit.
    pub fn find(locations: &Locations, most_sessions: usize) -> Result<Self, BenchError> {
        let bench_exe = std::env::current_exe()?;
        let relais = match &locations.relais {
            Some(path) => path.clone(),
            None => bench_exe.with_file_name("relais"),
        };
        if !relais.exists() {
            return Err(BenchError::Server(format!(
                "no relais binary at {} (build it: cargo build --release --bins, or pass --relais)",
                relais.display()
            )));
        }
        let workspace = workspace_root();
        let scratch_parent = locations
            .scratch_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        Ok(Self {
            setup: RelaisSetup {
                exe: relais,
                flows_dir: locations
                    .flows_dir
                    .clone()
                    .unwrap_or_else(|| workspace.join("flows")),
                web_dir: locations
                    .web_dir
                    .clone()
                    .unwrap_or_else(|| workspace.join("web")),
                scratch_parent: scratch_parent.clone(),
                most_sessions,
                intervenors: Vec::new(),
            },
            floor: FloorLauncher::Binary(bench_exe),
            peer: PeerSetup {
                source: locations
                    .peer_dir
                    .clone()
                    .unwrap_or_else(|| default_peer_dir(&workspace)),
                cache_parent: scratch_parent,
            },
            open_files: raise_open_file_limit()?,
        })
    }

    /// Refuses a phase of `sessions` sockets the open-file limit cannot hold.
    pub fn check_files(&self, sessions: usize) -> Result<(), BenchError> {
        if self.open_files < sessions as u64 + 100 {
            return Err(BenchError::Server(format!(
                "the open-file limit is {}, too low for {sessions} sessions: raise it \
                 (ulimit -n {}) or ask for fewer",
                self.open_files,
                sessions + 1000
            )));
        }
        Ok(())
    }
}

/// Starts a fresh server of `target` and waits until it serves.
pub async fn start(
    target: Target,
    places: &Places,
    floor: &FloorOptions,
) -> Result<Server, BenchError> {
    let server = match (target, &places.floor) {
        (Target::Relais, _) => start_relais(&places.setup).await?,
        (Target::Floor, FloorLauncher::Binary(exe)) => start_floor(exe, floor).await?,
        (Target::Floor, FloorLauncher::InProcess) => start_floor_in_process(floor).await?,
        (Target::Botkit, _) => {
            let dir = super::peer::prepare(&places.peer)
                .await
                .map_err(|skipped| BenchError::Server(format!("the peer cannot run: {skipped}")))?;
            super::peer::start(&dir).await?
        }
    };
    super::http::wait_serving(&server).await?;
    Ok(server)
}

/// One turns phase on a fresh server.
pub async fn turns(
    places: &Places,
    target: Target,
    plan: &TurnPlan,
    floor: &FloorOptions,
) -> Result<TurnReport, BenchError> {
    places.check_files(plan.sessions)?;
    let server = start(target, places, floor).await?;
    let report = run_turns(&server, plan).await;
    server.stop().await?;
    report
}

/// One idle phase on a fresh server.
pub async fn idle(
    places: &Places,
    target: Target,
    sessions: usize,
    floor: &FloorOptions,
) -> Result<IdleReport, BenchError> {
    places.check_files(sessions)?;
    let server = start(target, places, floor).await?;
    let report = run_idle(&server, sessions).await;
    server.stop().await?;
    report
}

/// One urgent phase on a fresh relais.
pub async fn urgent(places: &Places, plan: &UrgentPlan) -> Result<UrgentReport, BenchError> {
    let server = start(Target::Relais, places, &FloorOptions::default()).await?;
    let report = run_urgent(&server, plan).await;
    server.stop().await?;
    report
}

/// Requests for a person answered by `intervenors` simulated intervenors, on a fresh
/// relais whose accounts are made before it starts.
pub async fn handoffs(
    places: &Places,
    youths: usize,
    concurrency: usize,
    intervenors: usize,
) -> Result<HandoffReport, BenchError> {
    let accounts: Vec<(String, String)> = (1..=intervenors.max(1))
        .map(|n| (format!("bench{n}"), INTERVENOR_PASSWORD.to_string()))
        .collect();
    let setup = RelaisSetup {
        intervenors: accounts
            .iter()
            .map(|(login, password)| {
                (
                    login.clone(),
                    format!("Intervenant {login}"),
                    password.clone(),
                )
            })
            .collect(),
        ..places.setup.clone()
    };
    let server = start_relais(&setup).await?;
    super::http::wait_serving(&server).await?;
    let report = run_handoffs(
        &server,
        &HandoffPlan {
            youths,
            concurrency,
            intervenors: accounts,
            choice: ASK_FOR_A_PERSON.into(),
        },
    )
    .await;
    server.stop().await?;
    report
}

/// Start times with a generated folder of `files` script files (the shipped ones
/// plus generated ones).
pub async fn start_time(
    places: &Places,
    files: usize,
    repeats: usize,
) -> Result<StartReport, BenchError> {
    let scratch = scratch_dir(&places.setup.scratch_parent, "flows")?;
    let flows = scratch.path().join("flows");
    super::flows::generate(&places.setup.flows_dir, &flows, files)?;
    let setup = RelaisSetup {
        flows_dir: flows,
        ..places.setup.clone()
    };
    run_start(&setup, repeats).await
}

/// How the soak command runs: `rate` `None` probes flat out first and takes half.
#[derive(Debug, Clone, Copy)]
pub struct SoakCommand {
    pub sessions: usize,
    pub duration: Duration,
    pub rate: Option<f64>,
    pub every: Duration,
    /// Length of the flat-out probe (when no rate is given).
    pub probe: Duration,
}

/// The rate a soak runs at: the one asked for, or half of a short flat-out probe on
/// a fresh server (`progress` is told).
pub async fn soak_rate(
    places: &Places,
    command: &SoakCommand,
    mut progress: impl FnMut(String),
) -> Result<f64, BenchError> {
    if let Some(rate) = command.rate {
        return Ok(rate);
    }
    progress(format!(
        "relais: {} sessions flat out for {} s, to find half load",
        command.sessions,
        command.probe.as_secs()
    ));
    let probe = TurnPlan {
        sessions: command.sessions,
        duration: command.probe,
        rate: None,
        echo_frames: 1,
    };
    let report = turns(places, Target::Relais, &probe, &FloorOptions::default()).await?;
    check_clean(&report)?;
    Ok(report.turns_per_sec() / 2.0)
}

/// A soak on a fresh relais at `rate`; each sample is told to `sampled` as it comes.
pub async fn soak(
    places: &Places,
    command: &SoakCommand,
    rate: f64,
    sampled: impl FnMut(&SoakSample),
) -> Result<SoakReport, BenchError> {
    places.check_files(command.sessions)?;
    let server = start(Target::Relais, places, &FloorOptions::default()).await?;
    let plan = SoakPlan {
        sessions: command.sessions,
        duration: command.duration,
        rate,
        every: command.every,
    };
    let report = run_soak(&server, &plan, sampled).await;
    server.stop().await?;
    report
}

/// What [`suite`] runs.
#[derive(Debug, Clone)]
pub struct SuitePlan {
    /// Session counts for the turn phases.
    pub sessions: Vec<usize>,
    /// Length of each turn phase.
    pub duration: Duration,
    /// Idle sessions for the RSS measurement.
    pub idle: usize,
    /// Urgent requests, and how many youths write them at once.
    pub urgent: usize,
    pub urgent_concurrency: usize,
    /// Script files for the start-time measurement, and starts per measurement.
    pub start_files: usize,
    pub start_repeats: usize,
    /// Youths asking for a person, simulated intervenors, and youths at once.
    pub handoffs: usize,
    pub intervenors: usize,
    pub handoff_concurrency: usize,
    /// Frames the floor sends back per frame (1: a plain echo).
    pub echo_frames: usize,
    /// Measure the peer (Botkit) too, when Node is there.
    pub peer: bool,
}

/// Everything [`suite`] measured.
#[derive(Debug, Clone)]
pub struct SuiteReport {
    /// Floor then relais: flat out at each session count, then at half that rate;
    /// then the peer, flat out.
    pub turns: Vec<TurnReport>,
    /// Floor, relais, then the peer.
    pub idle: Vec<IdleReport>,
    /// Why the peer was not measured, if it was not.
    pub peer_skipped: Option<String>,
    pub urgent: UrgentReport,
    pub handoffs: HandoffReport,
    /// The shipped flows, then the generated folder of `start_files` files.
    pub start: Vec<StartReport>,
}

impl SuiteReport {
    /// The first turns phase of relais or the floor that lost, repeated, refused or
    /// left a turn unanswered (the peer's rows say what it did, but the bench's exit
    /// status is about relais).
    pub fn first_unclean(&self) -> Option<&TurnReport> {
        self.turns
            .iter()
            .find(|report| report.target != Target::Botkit && !report.clean())
    }
}

/// Every phase BENCHMARKS.md reports, each on a fresh server; `progress` is told
/// what starts (the binary writes it on standard error).
pub async fn suite(
    places: &Places,
    plan: &SuitePlan,
    mut progress: impl FnMut(String),
) -> Result<SuiteReport, BenchError> {
    places.check_files(plan.idle)?;
    let floor_options = FloorOptions {
        echo_frames: plan.echo_frames,
        ..FloorOptions::default()
    };

    let mut idle_reports = Vec::new();
    let mut turn_reports: Vec<TurnReport> = Vec::new();
    for target in [Target::Floor, Target::Relais] {
        progress(format!("{}: {} idle sessions", target.name(), plan.idle));
        idle_reports.push(idle(places, target, plan.idle, &floor_options).await?);

        // Each turns phase gets a fresh server, so no phase pays for the state
        // (sessions, store) an earlier one left behind.
        let mut flat = Vec::new();
        for &sessions in &plan.sessions {
            progress(format!("{}: {sessions} sessions flat out", target.name()));
            let phase = TurnPlan {
                sessions,
                duration: plan.duration,
                rate: None,
                echo_frames: plan.echo_frames,
            };
            let report = turns(places, target, &phase, &floor_options).await?;
            flat.push(report.turns_per_sec());
            turn_reports.push(report);
        }
        for (&sessions, max) in plan.sessions.iter().zip(flat) {
            progress(format!(
                "{}: {sessions} sessions at half of {max:.0}/s",
                target.name()
            ));
            let phase = TurnPlan {
                sessions,
                duration: plan.duration,
                rate: Some(max / 2.0),
                echo_frames: plan.echo_frames,
            };
            turn_reports.push(turns(places, target, &phase, &floor_options).await?);
        }
    }

    // The peer last: its install (the first time) takes a while, and a peer that
    // cannot run only costs its rows.
    let peer_skipped = if plan.peer {
        progress("botkit: preparing the peer (npm ci, the first time)".to_string());
        match super::peer::prepare(&places.peer).await {
            Ok(_) => {
                // A peer that fails midway costs its remaining rows, not the suite.
                let measured = async {
                    progress(format!("botkit: {} idle sessions", plan.idle));
                    idle_reports
                        .push(idle(places, Target::Botkit, plan.idle, &floor_options).await?);
                    for &sessions in &plan.sessions {
                        progress(format!("botkit: {sessions} sessions flat out"));
                        let phase = TurnPlan {
                            sessions,
                            duration: plan.duration,
                            rate: None,
                            echo_frames: plan.echo_frames,
                        };
                        turn_reports
                            .push(turns(places, Target::Botkit, &phase, &floor_options).await?);
                    }
                    Ok::<_, BenchError>(())
                };
                match measured.await {
                    Ok(()) => None,
                    Err(error) => {
                        progress(format!("botkit: stopped: {error}"));
                        Some(format!("the peer failed midway ({error})"))
                    }
                }
            }
            Err(skipped) => {
                progress(format!("botkit: skipped: {skipped}"));
                Some(skipped.to_string())
            }
        }
    } else {
        Some("not asked for (--no-peer)".to_string())
    };

    progress(format!("relais: {} urgent requests", plan.urgent));
    let urgent_report = urgent(
        places,
        &UrgentPlan {
            count: plan.urgent,
            concurrency: plan.urgent_concurrency,
            phrase: URGENT_PHRASE.into(),
        },
    )
    .await?;

    progress(format!(
        "relais: {} requests for a person, {} intervenors",
        plan.handoffs, plan.intervenors
    ));
    let handoff_report = handoffs(
        places,
        plan.handoffs,
        plan.handoff_concurrency,
        plan.intervenors,
    )
    .await?;

    progress("relais: start time".to_string());
    let shipped = run_start(&places.setup, plan.start_repeats).await?;
    let many = start_time(places, plan.start_files, plan.start_repeats).await?;

    Ok(SuiteReport {
        turns: turn_reports,
        idle: idle_reports,
        peer_skipped,
        urgent: urgent_report,
        handoffs: handoff_report,
        start: vec![shipped, many],
    })
}

/// An error unless the phase lost, repeated, refused or left unanswered nothing.
pub fn check_clean(report: &TurnReport) -> Result<(), BenchError> {
    if report.clean() {
        return Ok(());
    }
    Err(BenchError::Protocol(format!(
        "{} at {} sessions: {} unanswered ({:?}), {} lost, {} duplicated, {} errors (first: {:?})",
        report.target.name(),
        report.sessions,
        report.unanswered,
        report.first_failure,
        report.tally.lost,
        report.tally.duplicated,
        report.tally.errors,
        report.first_error
    )))
}
