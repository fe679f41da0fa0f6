//! relais: an anonymous help chat for youths facing sexual exploitation.
//!
//! A bird's-eye view, in reading order:
//! - [`config`]: the one `Config`, from defaults, a TOML file, `RELAIS_*` variables and flags;
//! - [`flow`]: the script language of `flows/` (parser, checks, pure engine, versions);
//! - [`protocol`]: every wire type of the chat, the console and the API, and only here;
//! - [`chat`]: youth sessions, their frame logs, and the chat socket;
//! - [`auth`]: staff accounts, console logins (tokens) and TOTP, for consoles and authors;
//! - [`handoff`]: the queue, claims, the live relay, the console;
//! - [`store`]: the sled trees, typed;
//! - [`limits`]: client keys and rate limits, in memory only;
//! - [`reports`]: anonymous reports with a receipt, and their console API;
//! - [`stats`] and [`impact`]: anonymous daily counters, and the impact report made of them;
//! - [`authors`]: the authors' preview API (graph, player, versions);
//! - [`http`]: the API's extractors and the sockets' helpers, shared by the features;
//! - [`server`]: `app(state) -> Router` and `run(listener, config, shutdown)`;
//! - [`cli`]: the `relais` command;
//! - [`admin`], [`audit`], [`backup`], [`abuse`]: running it without stopping it (the
//!   admin socket, the staff audit trail, backups, blocks after abuse);
//! - [`messages`], [`error`], [`clock`]: what relais says, API errors, the one clock.
//!
//! The load generator, `relais-bench`, is a crate of its own in the workspace
//! (`relais-bench/`); it depends on this one, never the other way.

pub mod abuse;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod authors;
pub mod backup;
pub mod chat;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod flow;
pub mod handoff;
pub mod http;
pub mod impact;
pub mod limits;
pub mod logs;
pub mod lsp;
pub mod messages;
pub mod metrics;
pub mod protocol;
pub mod reports;
pub mod server;
pub mod session;
pub mod stats;
pub mod store;
