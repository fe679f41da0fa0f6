//! The integration tests, one crate so the server links once: each module is one
//! capability, driven through real sockets (a server on port 0, or the binary started
//! and killed), the real browser tests live in `tests/browser/`.
//! Run one part with `cargo test --test it <module>::`.

mod authoring;
mod authors;
mod bench_smoke;
mod chat;
mod common;
mod config;
mod content;
mod handoff;
mod hostile;
mod impact;
mod live_edit;
mod oncall;
mod operations;
mod privacy;
mod properties;
mod queue;
mod readme;
mod reports;
mod restart;
mod scripts;
mod security;
mod shipped_flows;
mod themes;
mod timers;
mod triggers;
mod urgent;
mod ux;
mod walls;
