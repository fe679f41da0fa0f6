//! The load generator behind `relais-bench`, a crate of its own so the server ships
//! none of it; a library so the smoke test (`tests/it/bench_smoke.rs`, in the server's
//! integration tests) runs the very code the benchmarks run, and so those tests start
//! the `relais` binary with the same code the bench does ([`process`]).
//!
//! In reading order:
//! - [`process`]: the servers under test as child processes (relais, and the echo
//!   floor), and what `/proc` says about them (RSS, CPU time); also what the
//!   integration tests use to start and stop the binary;
//! - [`floor`]: the floor, a bare axum WebSocket echo server with relais's socket
//!   settings (`relais-bench floor`, a hidden subcommand);
//! - [`peer`]: the peer, Botkit 4.15 with its WebSocket adapter, installed once with
//!   `npm ci` into a cache and started with Node (`--target botkit`);
//! - [`client`]: one session over a real socket: a youth walking the shipped flows, an
//!   echo client, or a user of the peer; the first two check `seq` (or the echo's
//!   counter) for lost and repeated frames;
//! - [`console`]: a simulated intervenor on the console (login, claim, reply, close);
//! - [`scenario`]: the phases: turns (flat out or at a rate), idle sessions, urgent
//!   requests, requests answered by intervenors, start time; each returns a report;
//! - [`soak`]: minutes at half load on one server, sampling RSS, descriptors and
//!   sled's size on disk, and whether they kept growing;
//! - [`run`]: what the commands do: where relais and the flows are, a fresh server per
//!   phase, and the whole suite;
//! - [`render`]: the reports as the Markdown tables of BENCHMARKS.md, and the targets;
//! - [`measure`]: latency summaries;
//! - [`flows`]: generated flow folders for the start-time test;
//! - [`http`]: a tiny HTTP/1.1 client for `/readyz` and the console's JSON calls.
//!
//! Everything is bounded: every wait has a deadline, every loop a count or an end.

pub mod client;
pub mod console;
pub mod floor;
pub mod flows;
pub mod http;
pub mod measure;
pub mod peer;
pub mod process;
pub mod render;
pub mod run;
pub mod scenario;
pub mod soak;

use std::time::Duration;

/// How long any single wait (a frame, a line, a connection) may take before the
/// bench gives up on it: a guard, not a timing.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// What can go wrong while benchmarking.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("input/output: {0}")]
    Io(#[from] std::io::Error),
    #[error("WebSocket: {0}")]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("unexpected frame: {0}")]
    Protocol(String),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("server: {0}")]
    Server(String),
}

/// Which server a phase drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The relais binary with the shipped flows.
    Relais,
    /// The bare echo server.
    Floor,
    /// The peer: Botkit 4.15 with its WebSocket adapter (`../shared/peers/botkit/`,
    /// needs Node).
    Botkit,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Relais => "relais",
            Target::Floor => "floor",
            Target::Botkit => "botkit",
        }
    }
}

/// The WebSocket settings both servers use, taken from relais's defaults so the
/// floor is sized like a youth socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketSettings {
    pub read_buffer: usize,
    pub write_buffer: usize,
    pub max_message: usize,
}

impl Default for SocketSettings {
    fn default() -> Self {
        let limits = relais::config::LimitsConfig::default();
        Self {
            read_buffer: limits.socket_read_buffer,
            write_buffer: limits.socket_write_buffer,
            max_message: limits.max_transport_bytes,
        }
    }
}
