//! `relais-bench`: measures relais against the floor (a bare axum WebSocket echo
//! server with the same socket settings) on this machine, in the same run, and
//! prints the tables of BENCHMARKS.md. What each command does is in the library
//! (`relais_bench::run`, tables in `relais_bench::render`); this file only reads the
//! command line and prints.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use relais_bench::floor::FloorOptions;
use relais_bench::run::{self, Locations, Places, SuitePlan};
use relais_bench::scenario::{TurnPlan, UrgentPlan, URGENT_PHRASE};
use relais_bench::{render, BenchError, SocketSettings, Target};

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
        echo with relais's socket settings) and, when Node is there, the peer (Botkit 4.15 \
        with its WebSocket adapter, from ../shared/peers/botkit, installed once with npm ci), \
        drives them with the same client code, and \
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
    /// The peer's folder, Botkit (default: ../shared/peers/botkit beside the workspace).
    #[arg(long, global = true)]
    peer_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Everything BENCHMARKS.md reports, in one run (about 3 minutes).
    Suite(SuiteArgs),
    /// Turns on N sessions against relais, the floor or the peer, flat out or at a rate.
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
    /// Minutes at half load on one relais: RSS, open descriptors, sled's size on
    /// disk, turns/s and p99 every few seconds, then whether anything kept growing.
    Soak(SoakArgs),
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
    /// Leave the peer (Botkit) out, even when Node is there.
    #[arg(long)]
    no_peer: bool,
}

#[derive(Args)]
struct TurnsArgs {
    #[arg(long, value_enum, default_value_t = Target::Relais)]
    target: Target,
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
    #[arg(long, value_enum, default_value_t = Target::Relais)]
    target: Target,
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
    #[arg(long, default_value = URGENT_PHRASE)]
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
struct SoakArgs {
    /// Length of the soak in minutes.
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// Length in seconds instead (a quick try); wins over --minutes.
    #[arg(long)]
    seconds: Option<u64>,
    #[arg(long, default_value_t = 1000)]
    sessions: usize,
    /// Turns per second for all sessions together (default: half of a flat-out
    /// probe of --probe-seconds on a fresh server).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds between two samples (default: a twentieth of the soak, 2 to 30).
    #[arg(long)]
    every: Option<u64>,
    /// Length of the flat-out probe, in seconds.
    #[arg(long, default_value_t = 5)]
    probe_seconds: u64,
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
    match runtime.block_on(command(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("relais-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

impl Common {
    fn places(&self, most_sessions: usize) -> Result<Places, BenchError> {
        let locations = Locations {
            relais: self.relais.clone(),
            flows_dir: self.flows_dir.clone(),
            web_dir: self.web_dir.clone(),
            scratch_dir: self.scratch_dir.clone(),
            peer_dir: self.peer_dir.clone(),
        };
        Places::find(&locations, most_sessions)
    }
}

async fn command(cli: Cli) -> Result<(), BenchError> {
    match cli.command {
        Command::Floor(args) => {
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
            Ok(relais_bench::floor::run(args.listen, options).await?)
        }
        Command::Turns(args) => {
            let places = cli.common.places(args.sessions)?;
            let floor = FloorOptions {
                echo_frames: args.echo_frames,
                nodelay: !args.nagle,
                ..FloorOptions::default()
            };
            let plan = TurnPlan {
                sessions: args.sessions,
                duration: Duration::from_secs(args.seconds),
                rate: args.rate,
                echo_frames: args.echo_frames,
            };
            let report = run::turns(&places, args.target, &plan, &floor).await?;
            print!("{}", render::turns_header());
            print!("{}", render::turn_row(&report, None));
            run::check_clean(&report)
        }
        Command::Idle(args) => {
            let places = cli.common.places(args.sessions)?;
            let report = run::idle(
                &places,
                args.target,
                args.sessions,
                &FloorOptions::default(),
            )
            .await?;
            print!("{}", render::idle_header());
            print!("{}", render::idle_row(&report, None));
            Ok(())
        }
        Command::Urgent(args) => {
            let places = cli.common.places(args.concurrency)?;
            let plan = UrgentPlan {
                count: args.count,
                concurrency: args.concurrency,
                phrase: args.phrase,
            };
            let report = run::urgent(&places, &plan).await?;
            print!("{}", render::urgent(&report, args.concurrency));
            Ok(())
        }
        Command::Handoffs(args) => {
            let places = cli.common.places(args.concurrency)?;
            let report =
                run::handoffs(&places, args.youths, args.concurrency, args.intervenors).await?;
            print!(
                "{}",
                render::handoffs(&report, args.intervenors, args.concurrency)
            );
            Ok(())
        }
        Command::Start(args) => {
            let places = cli.common.places(100)?;
            let report = run::start_time(&places, args.files, args.repeats).await?;
            print!("{}", render::start(&[report]));
            Ok(())
        }
        Command::Soak(args) => {
            let places = cli.common.places(args.sessions)?;
            let duration = Duration::from_secs(args.seconds.unwrap_or(args.minutes * 60));
            let every = args
                .every
                .unwrap_or((duration.as_secs() / 20).clamp(2, 30))
                .max(1);
            let soak = run::SoakCommand {
                sessions: args.sessions,
                duration,
                rate: args.rate,
                every: Duration::from_secs(every),
                probe: Duration::from_secs(args.probe_seconds.max(1)),
            };
            print!("{}", render::machine());
            let rate = run::soak_rate(&places, &soak, |line| eprintln!("-- {line}")).await?;
            print!("{}", render::soak_header(soak.sessions, rate, soak.every));
            let report = run::soak(&places, &soak, rate, |sample| {
                print!("{}", render::soak_row(sample));
            })
            .await?;
            print!("{}", render::soak_verdict(&report));
            if report.clean() {
                Ok(())
            } else {
                Err(BenchError::Protocol(format!(
                    "the soak lost {}, repeated {}, refused {} and left {} unanswered (first: {:?}, first error: {:?})",
                    report.tally.lost,
                    report.tally.duplicated,
                    report.tally.errors,
                    report.unanswered,
                    report.first_failure,
                    report.first_error
                )))
            }
        }
        Command::Suite(args) => {
            let most = args
                .sessions
                .iter()
                .copied()
                .max()
                .unwrap_or(0)
                .max(args.idle);
            let places = cli.common.places(most)?;
            let plan = SuitePlan {
                sessions: args.sessions,
                duration: Duration::from_secs(args.seconds),
                idle: args.idle,
                urgent: args.urgent,
                urgent_concurrency: args.urgent_concurrency,
                start_files: args.start_files,
                start_repeats: args.start_repeats,
                handoffs: args.handoffs,
                intervenors: args.intervenors,
                handoff_concurrency: args.handoff_concurrency,
                echo_frames: args.echo_frames,
                peer: !args.no_peer,
            };
            print!("{}", render::machine());
            let report = run::suite(&places, &plan, |line| eprintln!("-- {line}")).await?;
            print!("{}", render::suite(&report, &plan));
            match report.first_unclean() {
                Some(unclean) => run::check_clean(unclean),
                None => Ok(()),
            }
        }
    }
}
