//! The shipped flows (`flows/`, or `RELAIS_SHIPPED_FLOWS` to try the tests on an
//! edited copy), built once, and the checker's walk of every state a youth can reach
//! in each language (`relais::flow::walk`), walked once for every test module that
//! reads it (the content and shipped-flow tests): the walks are the slow part.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use relais::flow::load::{build, read_folder};
use relais::flow::model::FlowSet;
use relais::flow::walk::{self, Walk};

/// The start node the server uses by default.
pub const START: &str = "accueil";
/// The languages the shipped flows speak.
pub const LANGS: [&str; 2] = ["fr", "en"];

/// The folder under test.
pub fn flows_dir() -> PathBuf {
    match std::env::var_os("RELAIS_SHIPPED_FLOWS") {
        Some(dir) => dir.into(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("flows"),
    }
}

/// The shipped flows, built once; they must have no error.
pub fn flows() -> &'static FlowSet {
    static SET: OnceLock<FlowSet> = OnceLock::new();
    SET.get_or_init(|| {
        let sources = read_folder(&flows_dir()).expect("flows/ is readable");
        let report = build(sources, START);
        let errors: Vec<_> = report.errors().map(|d| d.render("en")).collect();
        assert!(
            errors.is_empty(),
            "the shipped flows have errors: {errors:#?}"
        );
        report.flows.expect("no error, so a flow set")
    })
}

/// The walk of every reachable state, per language, walked once.
pub fn walks() -> &'static [(String, Walk)] {
    static WALKS: OnceLock<Vec<(String, Walk)>> = OnceLock::new();
    WALKS.get_or_init(|| {
        LANGS
            .iter()
            .map(|lang| {
                let walk = walk::walk(flows(), lang);
                assert!(!walk.states.is_empty(), "{lang}: the welcome ends at once");
                assert!(!walk.truncated, "{lang}: the walk does not end");
                (lang.to_string(), walk)
            })
            .collect()
    })
}
