//! `relais-bench`: measures relais against the floor (a bare axum WebSocket echo
//! server with the same socket settings) on this machine, in the same run, and
//! prints the tables of BENCHMARKS.md. The load generator itself is in
//! `relais::bench`; this file only reads the command line and prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use relais::bench::floor::FloorOptions;
use relais::bench::measure::{ms, Summary};
use relais::bench::process::{
    raise_open_file_limit, start_floor, start_relais, RelaisSetup, ScratchDir, ServerChild,
};
use relais::bench::scenario::{
    run_handoffs, run_idle, run_start, run_turns, run_urgent, HandoffPlan, HandoffReport,
    IdleReport, StartReport, TurnPlan, TurnReport, UrgentPlan, UrgentReport,
};
use relais::bench::{BenchError, SocketSettings, Target};

#[derive(Parser)]
#[command(
    name = "relais-bench",
    version,
    about = "Load generator for relais: youth sessions over real sockets, measured against \
             a bare axum WebSocket echo server (the floor) in the same run.",
    long_about = "Load generator for relais.\n\n\
        It starts the relais binary (a child process on 127.0.0.1, a fresh data folder, the \
        shipped flows, the per-client limits lifted: every bench socket comes from one \
        address) and the floor (this binary's hidden `floor` command: a bare axum WebSocket \
        echo with relais's socket settings), drives both with the same client code, and \
        reports bot turns per second, turn latency (frame sent -> frame that ends the turn), \
        server RSS per idle session, server CPU, frames lost or repeated (must be 0), the \
        time to a flushed urgent `handoff`, and the start time with 100 script files.\n\n\
        Build first: cargo build --release --bins. Then, for everything BENCHMARKS.md \
        reports: cargo run --release --bin relais-bench -- suite\n\n\
        Traffic stays on the loopback; every phase is bounded in time."
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// The relais binary (default: `relais` beside this binary, same build profile).
    #[arg(long, global = true)]
    relais: Option<PathBuf>,
    /// The flows relais serves (default: the workspace's shipped `flows/`).
    #[arg(long, global = true)]
    flows_dir: Option<PathBuf>,
    /// The pages relais serves (default: the workspace's `web/`).
    #[arg(long, global = true)]
    web_dir: Option<PathBuf>,
    /// Where data folders are made (default: the temp dir). Use a real disk: the
    /// urgent phase measures a flush.
    #[arg(long, global = true)]
    scratch_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Everything BENCHMARKS.md reports, in one run (about 3 minutes).
    Suite(SuiteArgs),
    /// Turns on N sessions against relais or the floor, flat out or at a rate.
    Turns(TurnsArgs),
    /// N idle sessions: the server's RSS per session.
    Idle(IdleArgs),
    /// Urgent requests: time from the youth's text to the (flushed) handoff frame.
    Urgent(UrgentArgs),
    /// Requests for a person answered by simulated intervenors (login, console
    /// socket, claim, reply, close): request, claim and relay latencies.
    Handoffs(HandoffsArgs),
    /// Start time: spawn to "listening" and to /readyz, with N script files.
    Start(StartArgs),
    /// Runs the floor server (used by the other commands).
    #[command(hide = true)]
    Floor(FloorArgs),
}

#[derive(Args)]
struct SuiteArgs {
    /// Session counts for the turn phases.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    sessions: Vec<usize>,
    /// Seconds per turn phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Idle sessions for the RSS measurement.
    #[arg(long, default_value_t = 10_000)]
    idle: usize,
    /// Urgent requests.
    #[arg(long, default_value_t = 300)]
    urgent: usize,
    /// Youths writing urgent requests at once.
    #[arg(long, default_value_t = 10)]
    urgent_concurrency: usize,
    /// Script files for the start-time measurement.
    #[arg(long, default_value_t = 100)]
    start_files: usize,
    /// Youths asking for a person, answered by simulated intervenors.
    #[arg(long, default_value_t = 200)]
    handoffs: usize,
    /// Simulated intervenors.
    #[arg(long, default_value_t = 4)]
    intervenors: usize,
    /// Youths asking for a person at once.
    #[arg(long, default_value_t = 20)]
    handoff_concurrency: usize,
    /// Starts per start-time measurement.
    #[arg(long, default_value_t = 5)]
    start_repeats: usize,
    /// Frames the floor sends back per frame (1: a plain echo, as the issue asks).
    #[arg(long, default_value_t = 1)]
    echo_frames: usize,
}

#[derive(Args)]
struct TurnsArgs {
    /// `relais` or `floor`.
    #[arg(long, default_value = "relais")]
    target: String,
    #[arg(long, default_value_t = 100)]
    sessions: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Turns per second for all sessions together (default: flat out).
    #[arg(long)]
    rate: Option<f64>,
    /// Frames the floor sends back per frame.
    #[arg(long, default_value_t = 1)]
    echo_frames: usize,
    /// The floor leaves Nagle's algorithm on (relais sets TCP_NODELAY, and so does
    /// the floor by default).
    #[arg(long)]
    nagle: bool,
}

#[derive(Args)]
struct IdleArgs {
    #[arg(long, default_value = "relais")]
    target: String,
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
}

#[derive(Args)]
struct UrgentArgs {
    #[arg(long, default_value_t = 300)]
    count: usize,
    #[arg(long, default_value_t = 10)]
    concurrency: usize,
    /// The phrase (an urgent trigger of flows/declencheurs.toml).
    #[arg(long, default_value = "je veux mourir")]
    phrase: String,
}

#[derive(Args)]
struct HandoffsArgs {
    /// Youths asking for a person, in all.
    #[arg(long, default_value_t = 200)]
    youths: usize,
    /// Youths at once.
    #[arg(long, default_value_t = 20)]
    concurrency: usize,
    /// Simulated intervenors (accounts made before the server starts).
    #[arg(long, default_value_t = 4)]
    intervenors: usize,
}

#[derive(Args)]
struct StartArgs {
    /// Script files in the generated flows folder (the shipped ones included).
    #[arg(long, default_value_t = 100)]
    files: usize,
    #[arg(long, default_value_t = 5)]
    repeats: usize,
}

#[derive(Args)]
struct FloorArgs {
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    #[arg(long)]
    read_buffer: Option<usize>,
    #[arg(long)]
    write_buffer: Option<usize>,
    #[arg(long)]
    max_message: Option<usize>,
    #[arg(long, default_value_t = 1)]
    echo_frames: usize,
    #[arg(long)]
    nagle: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("relais-bench: cannot start tokio: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("relais-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Where relais, the flows and the pages are, from the flags or the workspace.
struct Places {
    setup: RelaisSetup,
    bench_exe: PathBuf,
}

fn places(common: &Common, most_sessions: usize) -> Result<Places, BenchError> {
    let bench_exe = std::env::current_exe()?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let relais = match &common.relais {
        Some(path) => path.clone(),
        None => bench_exe.with_file_name("relais"),
    };
    if !relais.exists() {
        return Err(BenchError::Server(format!(
            "no relais binary at {} (build it: cargo build --release --bins, or pass --relais)",
            relais.display()
        )));
    }
    Ok(Places {
        setup: RelaisSetup {
            exe: relais,
            flows_dir: common
                .flows_dir
                .clone()
                .unwrap_or_else(|| workspace.join("flows")),
            web_dir: common
                .web_dir
                .clone()
                .unwrap_or_else(|| workspace.join("web")),
            scratch_parent: common
                .scratch_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir),
            most_sessions,
            intervenors: Vec::new(),
        },
        bench_exe,
    })
}

fn target_of(name: &str) -> Result<Target, BenchError> {
    match name {
        "relais" => Ok(Target::Relais),
        "floor" => Ok(Target::Floor),
        other => Err(BenchError::Server(format!(
            "unknown target {other:?} (relais or floor)"
        ))),
    }
}

async fn start(
    target: Target,
    places: &Places,
    floor: &FloorOptions,
) -> Result<ServerChild, BenchError> {
    let server = match target {
        Target::Relais => start_relais(&places.setup).await?,
        Target::Floor => start_floor(&places.bench_exe, floor).await?,
    };
    relais::bench::http::wait_serving(&server).await?;
    Ok(server)
}

async fn run(cli: Cli) -> Result<(), BenchError> {
    if let Command::Floor(args) = &cli.command {
        return floor(args).await;
    }
    let files = raise_open_file_limit()?;
    match cli.command {
        Command::Floor(_) => Ok(()),
        Command::Turns(args) => {
            let places = places(&cli.common, args.sessions)?;
            let floor = FloorOptions {
                echo_frames: args.echo_frames,
                nodelay: !args.nagle,
                ..FloorOptions::default()
            };
            let server = start(target_of(&args.target)?, &places, &floor).await?;
            let report = run_turns(
                &server,
                &TurnPlan {
                    sessions: args.sessions,
                    duration: Duration::from_secs(args.seconds),
                    rate: args.rate,
                    echo_frames: args.echo_frames,
                },
            )
            .await?;
            server.stop().await?;
            print_turns_header();
            print_turn(&report, None);
            check_clean(&report)
        }
        Command::Idle(args) => {
            check_files(files, args.sessions)?;
            let places = places(&cli.common, args.sessions)?;
            let server = start(target_of(&args.target)?, &places, &FloorOptions::default()).await?;
            let report = run_idle(&server, args.sessions).await?;
            server.stop().await?;
            print_idle_header();
            print_idle(&report, None);
            Ok(())
        }
        Command::Urgent(args) => {
            let places = places(&cli.common, args.concurrency)?;
            let server = start(Target::Relais, &places, &FloorOptions::default()).await?;
            let report = run_urgent(
                &server,
                &UrgentPlan {
                    count: args.count,
                    concurrency: args.concurrency,
                    phrase: args.phrase,
                },
            )
            .await?;
            server.stop().await?;
            print_urgent(&report, args.concurrency);
            Ok(())
        }
        Command::Handoffs(args) => {
            let places = places(&cli.common, args.concurrency)?;
            let report = handoffs(&places, args.youths, args.concurrency, args.intervenors).await?;
            print_handoffs(&report, args.intervenors, args.concurrency);
            Ok(())
        }
        Command::Start(args) => {
            let places = places(&cli.common, 100)?;
            let report = start_time(&places, args.files, args.repeats).await?;
            print_start(&[report]);
            Ok(())
        }
        Command::Suite(args) => suite(&cli.common, args, files).await,
    }
}

async fn floor(args: &FloorArgs) -> Result<(), BenchError> {
    let defaults = SocketSettings::default();
    let options = FloorOptions {
        socket: SocketSettings {
            read_buffer: args.read_buffer.unwrap_or(defaults.read_buffer),
            write_buffer: args.write_buffer.unwrap_or(defaults.write_buffer),
            max_message: args.max_message.unwrap_or(defaults.max_message),
        },
        echo_frames: args.echo_frames,
        nodelay: !args.nagle,
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    // relais-bench reads this line to learn the port, as the tests do with relais.
    println!("floor listening on http://{}", listener.local_addr()?);
    let shutdown = async {
        if let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            terminate.recv().await;
        }
    };
    relais::bench::floor::serve(listener, options, shutdown).await?;
    Ok(())
}

fn check_files(limit: u64, sessions: usize) -> Result<(), BenchError> {
    if limit < sessions as u64 + 100 {
        return Err(BenchError::Server(format!(
            "the open-file limit is {limit}, too low for {sessions} sessions: raise it \
             (ulimit -n {}) or ask for fewer",
            sessions + 1000
        )));
    }
    Ok(())
}

fn check_clean(report: &TurnReport) -> Result<(), BenchError> {
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

/// The password of every simulated intervenor (the accounts live in a scratch store).
const INTERVENOR_PASSWORD: &str = "bench-password-for-load-tests";

async fn handoffs(
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
    relais::bench::http::wait_serving(&server).await?;
    let report = run_handoffs(
        &server,
        &HandoffPlan {
            youths,
            concurrency,
            intervenors: accounts,
            choice: "menu_parler".into(),
        },
    )
    .await?;
    server.stop().await?;
    Ok(report)
}

fn print_handoffs(report: &HandoffReport, intervenors: usize, concurrency: usize) {
    println!(
        "{} conversations completed with {intervenors} intervenors, {concurrency} youths at once; \
         failures: {}{}; console errors: {}{}; lost {}, duplicated {}\n",
        report.completed,
        report.failures,
        report
            .first_failure
            .as_ref()
            .map_or(String::new(), |f| format!(" (first: {f})")),
        report.console_errors,
        report
            .first_console_error
            .as_ref()
            .map_or(String::new(), |f| format!(" (first: {f})")),
        report.tally.lost,
        report.tally.duplicated
    );
    println!("| measure | samples | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, summary) in [
        (
            "youth `choose` → `handoff` waiting (flushed)",
            &report.request,
        ),
        ("console `claim` → `claimed`", &report.claim),
        (
            "console `reply` → youth's `agent` frame (flushed)",
            &report.reply,
        ),
        (
            "youth `text` → console `message` (flushed)",
            &report.youth_message,
        ),
    ] {
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            summary.count,
            ms(summary.p50),
            ms(summary.p95),
            ms(summary.p99),
            ms(summary.max)
        );
    }
}

async fn start_time(
    places: &Places,
    files: usize,
    repeats: usize,
) -> Result<StartReport, BenchError> {
    let scratch = ScratchDir::new(&places.setup.scratch_parent, "flows")?;
    let flows = scratch.path().join("flows");
    relais::bench::flows::generate(&places.setup.flows_dir, &flows, files)?;
    let setup = RelaisSetup {
        flows_dir: flows,
        ..places.setup.clone()
    };
    run_start(&setup, repeats).await
}

async fn suite(common: &Common, args: SuiteArgs, files: u64) -> Result<(), BenchError> {
    check_files(files, args.idle)?;
    let most = args
        .sessions
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(args.idle);
    let places = places(common, most)?;
    let floor_options = FloorOptions {
        echo_frames: args.echo_frames,
        ..FloorOptions::default()
    };
    let seconds = Duration::from_secs(args.seconds);
    print_machine();

    let mut idle = Vec::new();
    let mut turns: Vec<TurnReport> = Vec::new();
    for target in [Target::Floor, Target::Relais] {
        eprintln!("-- {}: {} idle sessions", target.name(), args.idle);
        let server = start(target, &places, &floor_options).await?;
        idle.push(run_idle(&server, args.idle).await?);
        server.stop().await?;

        // Each turns phase gets a fresh server, so no phase pays for the state
        // (sessions, store) an earlier one left behind.
        let mut flat = Vec::new();
        for &sessions in &args.sessions {
            eprintln!("-- {}: {sessions} sessions flat out", target.name());
            let plan = TurnPlan {
                sessions,
                duration: seconds,
                rate: None,
                echo_frames: args.echo_frames,
            };
            let server = start(target, &places, &floor_options).await?;
            let report = run_turns(&server, &plan).await?;
            server.stop().await?;
            flat.push(report.turns_per_sec());
            turns.push(report);
        }
        for (&sessions, max) in args.sessions.iter().zip(flat) {
            eprintln!(
                "-- {}: {sessions} sessions at half of {max:.0}/s",
                target.name()
            );
            let plan = TurnPlan {
                sessions,
                duration: seconds,
                rate: Some(max / 2.0),
                echo_frames: args.echo_frames,
            };
            let server = start(target, &places, &floor_options).await?;
            turns.push(run_turns(&server, &plan).await?);
            server.stop().await?;
        }
    }

    eprintln!("-- relais: {} urgent requests", args.urgent);
    let server = start(Target::Relais, &places, &floor_options).await?;
    let urgent = run_urgent(
        &server,
        &UrgentPlan {
            count: args.urgent,
            concurrency: args.urgent_concurrency,
            phrase: "je veux mourir".into(),
        },
    )
    .await?;
    server.stop().await?;

    eprintln!(
        "-- relais: {} requests for a person, {} intervenors",
        args.handoffs, args.intervenors
    );
    let handoff_report = handoffs(
        &places,
        args.handoffs,
        args.handoff_concurrency,
        args.intervenors,
    )
    .await?;

    eprintln!("-- relais: start time");
    let shipped = run_start(&places.setup, args.start_repeats).await?;
    let many = start_time(&places, args.start_files, args.start_repeats).await?;

    println!("\n### Turns\n");
    print_turns_header();
    for report in &turns {
        let floor = turns.iter().find(|f| {
            f.target == Target::Floor
                && f.sessions == report.sessions
                && f.rate.is_some() == report.rate.is_some()
        });
        // A ratio of throughputs means something flat out only: at a rate, both
        // sides send what they are told.
        let ratio = match (report.target, floor, report.rate) {
            (Target::Relais, Some(floor), None) => {
                Some(report.turns_per_sec() / floor.turns_per_sec())
            }
            _ => None,
        };
        print_turn(report, ratio);
    }
    println!("\n### Idle sessions\n");
    print_idle_header();
    let floor_idle = idle
        .iter()
        .find(|r| r.target == Target::Floor)
        .map(IdleReport::per_session);
    for report in &idle {
        let ratio = match (report.target, floor_idle) {
            (Target::Relais, Some(floor)) if floor > 0.0 => Some(report.per_session() / floor),
            _ => None,
        };
        print_idle(report, ratio);
    }
    println!("\n### Urgent requests\n");
    print_urgent(&urgent, args.urgent_concurrency);
    println!("\n### Requests for a person, answered by simulated intervenors\n");
    print_handoffs(&handoff_report, args.intervenors, args.handoff_concurrency);
    println!("\n### Start\n");
    print_start(&[shipped, many.clone()]);
    println!("\n### Against the targets\n");
    print_targets(&turns, &idle, &urgent, &many);
    let mut unclean = turns.iter().filter(|r| !r.clean());
    if let Some(report) = unclean.next() {
        return check_clean(report);
    }
    Ok(())
}

fn print_machine() {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown".into());
    println!("machine: {cores} cores, {model}");
}

fn print_turns_header() {
    println!(
        "| target | sessions | mode | turns/s | ratio to floor | p50 ms | p95 ms | p99 ms | max ms \
         | frames/turn | server CPU (cores) | bench CPU (cores) | lost | dup | errors | unanswered | handoffs |"
    );
    println!(
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
}

fn print_turn(report: &TurnReport, ratio: Option<f64>) {
    let mode = match report.rate {
        Some(rate) => format!("at {rate:.0}/s"),
        None => "flat out".to_string(),
    };
    let latency: &Summary = &report.latency;
    let frames_per_turn = report.tally.frames as f64 / report.turns.max(1) as f64;
    println!(
        "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
        report.target.name(),
        report.sessions,
        mode,
        report.turns_per_sec(),
        ratio.map_or("".into(), |r| format!("{:.0} %", r * 100.0)),
        ms(latency.p50),
        ms(latency.p95),
        ms(latency.p99),
        ms(latency.max),
        frames_per_turn,
        report.server_cores,
        report.bench_cores,
        report.tally.lost,
        report.tally.duplicated,
        report.tally.errors,
        report.unanswered,
        report.tally.handoffs
    );
}

fn print_idle_header() {
    println!("| target | idle sessions | RSS before (MiB) | RSS after (MiB) | per session (KiB) | ratio to floor | time to open (s) | lost | dup |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
}

fn print_idle(report: &IdleReport, ratio: Option<f64>) {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "| {} | {} | {:.1} | {:.1} | {:.2} | {} | {:.1} | {} | {} |",
        report.target.name(),
        report.sessions,
        mib(report.rss_before),
        mib(report.rss_after),
        report.per_session() / 1024.0,
        ratio.map_or("".into(), |r| format!("{r:.2}×")),
        report.open_time.as_secs_f64(),
        report.tally.lost,
        report.tally.duplicated
    );
}

fn print_urgent(report: &UrgentReport, concurrency: usize) {
    println!("| measure | requests | youths at once | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, summary) in [
        ("text → handoff (flushed)", &report.handoff),
        ("text → first bot frame", &report.first_reply),
    ] {
        println!(
            "| {name} | {} | {concurrency} | {} | {} | {} | {} |",
            summary.count,
            ms(summary.p50),
            ms(summary.p95),
            ms(summary.p99),
            ms(summary.max)
        );
    }
    println!(
        "\nhandoff statuses: {:?}; failures: {}{}; lost {}, duplicated {}",
        report.statuses,
        report.failures,
        report
            .first_failure
            .as_ref()
            .map_or(String::new(), |f| format!(" (first: {f})")),
        report.tally.lost,
        report.tally.duplicated
    );
}

fn print_start(reports: &[StartReport]) {
    println!("| script files | starts | spawn → listening line, p50 / max ms | spawn → /readyz 200, p50 / max ms |");
    println!("|---:|---:|---:|---:|");
    for report in reports {
        println!(
            "| {} | {} | {} / {} | {} / {} |",
            report.flow_files,
            report.ready.count,
            ms(report.listening.p50),
            ms(report.listening.max),
            ms(report.ready.p50),
            ms(report.ready.max)
        );
    }
}

fn print_targets(
    turns: &[TurnReport],
    idle: &[IdleReport],
    urgent: &UrgentReport,
    start: &StartReport,
) {
    let find = |target: Target, sessions: usize, flat: bool| {
        turns
            .iter()
            .find(|r| r.target == target && r.sessions == sessions && r.rate.is_none() == flat)
    };
    let biggest = turns.iter().map(|r| r.sessions).max().unwrap_or(0);
    if let (Some(relais), Some(floor)) = (
        find(Target::Relais, biggest, true),
        find(Target::Floor, biggest, true),
    ) {
        let ratio = relais.turns_per_sec() / floor.turns_per_sec();
        println!(
            "- throughput at {biggest} sessions: {:.0} turns/s = {:.0} % of the floor's {:.0} round trips/s (target ≥ 70 %): {}",
            relais.turns_per_sec(),
            ratio * 100.0,
            floor.turns_per_sec(),
            verdict(ratio >= 0.70)
        );
    }
    if let Some(half) = find(Target::Relais, biggest, false) {
        println!(
            "- p99 at {biggest} sessions at half the max throughput: {} ms (target ≤ 5 ms): {}",
            ms(half.latency.p99),
            verdict(half.latency.p99 <= Duration::from_millis(5))
        );
    }
    if let Some(relais) = idle.iter().find(|r| r.target == Target::Relais) {
        let kib = relais.per_session() / 1024.0;
        println!(
            "- idle session at {} sessions: {kib:.2} KiB (target ≤ 6 KiB): {}",
            relais.sessions,
            verdict(kib <= 6.0)
        );
    }
    println!(
        "- urgent request p99: {} ms (target ≤ 20 ms): {}",
        ms(urgent.handoff.p99),
        verdict(urgent.handoff.count > 0 && urgent.handoff.p99 <= Duration::from_millis(20))
    );
    println!(
        "- start with {} script files: {} ms to /readyz at worst (target < 1 s): {}",
        start.flow_files,
        ms(start.ready.max),
        verdict(start.ready.max < Duration::from_secs(1))
    );
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}
