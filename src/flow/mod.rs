//! The script language of `flows/`: its parser, its checks, its pure engine, and the
//! library of loaded versions with live reload.
//!
//! Reading order: `model` (what a flow is), `parse` (one file), `load` (a whole
//! folder into a `FlowSet`, with `blocks` copied into the nodes that include them), `check` (problems across files), `engine` (a turn),
//! `library` (versions and reload).

pub(crate) mod blocks;
pub mod check;
pub mod corpus;
pub(crate) mod diagnostic;
pub mod engine;
pub mod essais;
pub mod format;
pub(crate) mod graph;
pub(crate) mod ids;
pub(crate) mod library;
pub mod load;
pub mod model;
pub mod parse;
pub(crate) mod play;
pub(crate) mod present;
pub mod rules;
pub mod text;
pub mod theme_corpus;
pub(crate) mod themes;
pub(crate) mod translate;
pub mod triggers;
pub mod walk;

pub use diagnostic::{Diagnostic, Hint, Problem, Severity};
pub use library::{FlowLibrary, ReloadOutcome};
pub(crate) use model::FlowSet;
