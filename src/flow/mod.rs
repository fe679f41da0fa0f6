//! The script language of `flows/`: its parser, its checks, its pure engine, and the
//! library of loaded versions with live reload.
//!
//! Reading order: `model` (what a flow is), `parse` (one file), `load` (a whole
//! folder into a `FlowSet`, with `blocks` copied into the nodes that include them), `check` (problems across files), `engine` (a turn),
//! `library` (versions and reload).

pub mod blocks;
pub mod check;
pub mod corpus;
pub mod diagnostic;
pub mod engine;
pub mod essais;
pub mod format;
pub mod graph;
pub mod ids;
pub mod library;
pub mod load;
pub mod model;
pub mod parse;
pub mod play;
pub mod present;
pub mod rules;
pub mod text;
pub mod theme_corpus;
pub mod themes;
pub mod translate;
pub mod triggers;
pub mod walk;

pub use diagnostic::{Diagnostic, Hint, Problem, Severity};
pub use library::{FlowLibrary, ReloadOutcome};
pub use model::FlowSet;
