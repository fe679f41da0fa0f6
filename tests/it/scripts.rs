//! Scripts that must parse and scripts that must fail, each failing one with its
//! expected diagnostics (file:line:col and sentence) in a `.expected` file beside it,
//! all behind one `check` helper. `UPDATE_EXPECT=1 cargo test --test it scripts::`
//! rewrites the expected files after a deliberate change. Every shipped flow is
//! checked too.

use std::collections::BTreeMap;
use std::path::Path;

use relais::flow::load;

/// Builds one script with the support files and returns its diagnostics, rendered
/// in French, one a line.
fn diagnostics_of(script: &Path) -> String {
    let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/support");
    let mut sources = BTreeMap::new();
    for name in ["ressources.toml", "declencheurs.toml", "support.flow"] {
        sources.insert(
            name.to_string(),
            std::fs::read_to_string(support.join(name)).unwrap(),
        );
    }
    let name = script.file_name().unwrap().to_string_lossy().into_owned();
    sources.insert(name, std::fs::read_to_string(script).unwrap());
    let report = load::build(sources, "accueil");
    report
        .diagnostics
        .iter()
        .map(|d| d.render("fr") + "\n")
        .collect()
}

/// Checks every script of a folder against its `.expected` file (none = no
/// diagnostic at all).
fn check(folder: &str) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scripts")
        .join(folder);
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut checked = 0;
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    paths.sort();
    for script in paths {
        let actual = diagnostics_of(&script);
        let expected_path = script.with_extension("expected");
        if update {
            if actual.is_empty() {
                let _ = std::fs::remove_file(&expected_path);
            } else {
                std::fs::write(&expected_path, &actual).unwrap();
            }
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        assert_eq!(
            actual,
            expected,
            "diagnostics of {} differ (UPDATE_EXPECT=1 to accept)",
            script.display()
        );
        checked += 1;
    }
    checked
}

#[test]
fn valid_scripts_give_no_diagnostic() {
    assert!(check("ok") >= 2);
    let ok = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/ok");
    for entry in std::fs::read_dir(ok).unwrap() {
        let path = entry.unwrap().path();
        assert!(
            path.extension().is_some_and(|e| e == "flow"),
            "a valid script has no expected diagnostics: {}",
            path.display()
        );
    }
}

#[test]
fn broken_scripts_give_their_expected_diagnostics() {
    assert!(check("broken") >= 4);
    let broken = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/broken");
    for entry in std::fs::read_dir(broken).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "flow") {
            let expected =
                std::fs::read_to_string(path.with_extension("expected")).unwrap_or_default();
            assert!(
                !expected.is_empty(),
                "{} must give a diagnostic",
                path.display()
            );
        }
    }
}

#[test]
fn every_shipped_flow_loads_without_error() {
    for folder in ["flows", "tests/fixtures/flows"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
        let sources = load::read_folder(&dir).unwrap();
        assert!(sources.keys().any(|k| k.ends_with(".flow")));
        let report = load::build(sources, "accueil");
        let errors: Vec<_> = report.errors().map(|d| d.render("en")).collect();
        assert!(errors.is_empty(), "{folder}: {errors:#?}");
        assert!(report.flows.is_some());
    }
}

#[test]
fn the_parser_survives_any_bytes() {
    // A few hostile inputs; the property tests cover the rest.
    for source in [
        "\u{0}\u{0}",
        "=== a\n* -> \n@quand , , -> b",
        "{si",
        "=== \u{202e}x",
        "~",
        "#id:",
    ] {
        let _ = relais::flow::parse::parse_file("x.flow", source);
    }
}
