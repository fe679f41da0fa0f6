//! The impact report as a coordinator hands it to a funder: the scripted day of the
//! privacy tests, written in French and in English and compared with the expected files
//! in `tests/data/impact/` (`UPDATE_EXPECT=1 cargo test --test it impact::` rewrites them); no
//! English word in the French report; a small count that appears nowhere, not in a chart,
//! a table, a difference or by subtraction; and the supervisors' API.

use crate::common;
use std::path::{Path, PathBuf};

use common::{fixture_flows, repo_path, scripted_day, test_config, Api, TestServer};
use relais::impact::{Format, Lang, Range, Report, Unit};
use relais::store::records::Role;
use relais::store::Store;
use reqwest::Method;
use serde_json::Value;

const PASSWORD: &str = "un mot de passe assez long";

/// The day the scripted figures are filed under, so the expected files do not move.
const DAY: &str = "2026-11-12";

fn date(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// November 2026 by month: the scripted day, with October before it.
fn november() -> Range {
    Range::covering(Unit::Month, date(DAY), date(DAY))
}

/// A store holding the scripted day's counters on `DAY`, and a made-up October so that
/// every figure has a previous period beside it.
async fn scripted_store(dir: &Path) -> Store {
    let live = tempfile::tempdir().unwrap();
    scripted_day(live.path(), PASSWORD).await;
    let counted = Store::open(live.path()).unwrap();
    let counts = counted.counts("0000-00-00", "9999-99-99").unwrap();
    assert!(counts.len() > 10, "the scripted day was counted");
    drop(counted);
    let store = Store::open(dir).unwrap();
    for (_, metric, label, count) in counts {
        add(&store, DAY, &metric, &label, count);
    }
    for (metric, label, count) in [
        ("sessions_started", "fr", 14),
        ("sessions_started", "en", 6),
        ("handoffs_requested", "normal", 9),
        ("handoffs_requested", "urgent", 5),
        ("handoffs_answered", "normal", 8),
        ("handoffs_answered", "urgent", 5),
        ("handoffs_unavailable", "normal", 1),
        ("themes", "sextorsion", 7),
        ("themes", "autochtones", 5),
        ("resources_shown", "espoir_mieux_etre", 5),
        ("resources_shown", "tel_jeunes", 11),
        ("outcomes", "resolved", 13),
    ] {
        add(&store, "2026-10-05", metric, label, count);
    }
    store
}

/// Files a count under a day that has ended (written in clear, as the store does once a
/// day is over).
fn add(store: &Store, day: &str, metric: &str, label: &str, count: u64) {
    store
        .add_counts(
            vec![(day.into(), metric.into(), label.into(), count)],
            "9999-12-31",
        )
        .unwrap();
}

fn expected_file(name: &str) -> PathBuf {
    repo_path("tests/data/impact").join(name)
}

/// Compares `actual` with the expected file, or writes it with `UPDATE_EXPECT=1`.
fn expect(name: &str, actual: &str) {
    let path = expected_file(name);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run UPDATE_EXPECT=1 cargo test --test it impact::",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{name} differs from the expected file (UPDATE_EXPECT=1 rewrites it after a review):\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

/// The words a person reads in a rendering: HTML tags and the SVG's attributes left out.
fn visible_words(text: &str) -> Vec<String> {
    let mut visible = String::new();
    let mut in_tag = false;
    let mut in_style = false;
    for (index, c) in text.char_indices() {
        if text[index..].starts_with("<style") {
            in_style = true;
        }
        if text[index..].starts_with("</style") {
            in_style = false;
        }
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                visible.push(' ');
            }
            _ if !in_tag && !in_style => visible.push(c),
            _ => {}
        }
    }
    visible
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[tokio::test]
async fn the_scripted_day_is_written_in_french_and_in_english_as_expected() {
    let dir = tempfile::tempdir().unwrap();
    let store = scripted_store(dir.path()).await;
    for lang in [Lang::Fr, Lang::En] {
        let report = Report::build(&store, november(), lang).unwrap();
        let code = lang.code();
        expect(
            &format!("scripted-day.{code}.md"),
            &report.render(Format::Md),
        );
        expect(
            &format!("scripted-day.{code}.csv"),
            &report.render(Format::Csv),
        );
        expect(
            &format!("scripted-day.{code}.html"),
            &report.render(Format::Html),
        );
        let json: Value = serde_json::from_str(&report.render(Format::Json)).unwrap();
        expect(
            &format!("scripted-day.{code}.json"),
            &format!("{}\n", serde_json::to_string_pretty(&json).unwrap()),
        );
    }

    // What a coordinator reads first, checked by sense and not only by file.
    let report = Report::build(&store, november(), Lang::Fr).unwrap();
    let markdown = report.render(Format::Md);
    assert!(
        markdown.contains("Période : du 1er nov. 2026 au 30 nov. 2026 (par mois)"),
        "{markdown}"
    );
    assert!(
        markdown.contains("Période précédente : du 1er oct. 2026 au 31 oct. 2026"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| Conversations commencées | 10 | 20 | \u{2212}10 |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| Demandes pour parler à une personne | 7 | 14 | \u{2212}7 |"),
        "{markdown}"
    );
    // 3 conversations in English: "< 5"; and French masked, or 10 − 7 would give the 3.
    assert!(markdown.contains("| anglais | < 5 | 6 | — |"), "{markdown}");
    assert!(markdown.contains("| français | x | 14 | — |"), "{markdown}");
    let html = report.render(Format::Html);
    assert!(html.starts_with("<!doctype html>\n<html lang=\"fr\">"));
    for outside in ["<script", "src=", "href=", "url(http", "@import", "<link"] {
        assert!(!html.contains(outside), "{outside} in the HTML report");
    }
    assert_eq!(
        html.matches("<svg").count(),
        html.matches("role=\"img\" aria-labelledby=").count(),
        "every chart has its text alternative"
    );
}

#[tokio::test]
async fn the_french_report_has_no_english_word() {
    let dir = tempfile::tempdir().unwrap();
    let store = scripted_store(dir.path()).await;
    let report = Report::build(&store, november(), Lang::Fr).unwrap();
    const ENGLISH: &[&str] = &[
        "the",
        "and",
        "of",
        "to",
        "by",
        "with",
        "from",
        "in",
        "on",
        "for",
        "report",
        "period",
        "previous",
        "change",
        "count",
        "counts",
        "started",
        "requests",
        "request",
        "answered",
        "nobody",
        "call",
        "waits",
        "wait",
        "time",
        "reach",
        "person",
        "youths",
        "youth",
        "resources",
        "shown",
        "help",
        "themes",
        "theme",
        "urgent",
        "outcomes",
        "resolved",
        "referred",
        "left",
        "where",
        "reached",
        "week",
        "month",
        "quarter",
        "year",
        "language",
        "french",
        "english",
        "highest",
        "nothing",
        "drawn",
        "hidden",
        "under",
        "this",
        "label",
        "indicator",
        "axis",
        "awareness",
        "prevention",
        "victims",
        "indigenous",
        "first",
        "did",
        "answers",
        "made",
        "reports",
        "anonymous",
        "figures",
        "luring",
        "sextortion",
        "recruitment",
        "friend",
        "emergency",
        "minutes",
        "over",
        "passed",
        "review",
        "closed",
        "not",
    ];
    for format in [Format::Md, Format::Csv, Format::Html, Format::Fragment] {
        let text = report.render(format);
        let words = visible_words(&text);
        // Node names are the flows' own ids (French slugs), not words of the report.
        let node_ids: Vec<String> = report
            .exits
            .iter()
            .map(|exit| exit.node.to_lowercase())
            .collect();
        let english: Vec<&String> = words
            .iter()
            .filter(|word| ENGLISH.contains(&word.as_str()))
            .filter(|word| {
                !node_ids
                    .iter()
                    .any(|node| node.split('_').any(|part| part == word.as_str()))
            })
            .collect();
        assert!(
            english.is_empty(),
            "English in the French report ({format:?}): {english:?}\n{text}"
        );
    }
}

/// A store with 3 conversations about sextortion this month, beside larger themes.
fn small_theme_store(dir: &Path) -> Store {
    let store = Store::open(dir).unwrap();
    for (day, metric, label, count) in [
        ("2026-11-03", "themes", "sextorsion", 2),
        ("2026-11-20", "themes", "sextorsion", 1),
        ("2026-11-04", "themes", "leurre", 9),
        ("2026-11-05", "themes", "images", 12),
        ("2026-11-05", "sessions_started", "fr", 24),
        ("2026-11-06", "sessions_started", "en", 3),
        ("2026-10-10", "themes", "leurre", 6),
        ("2026-10-10", "sessions_started", "fr", 8),
    ] {
        add(&store, day, metric, label, count);
    }
    store
}

#[test]
fn a_theme_with_three_conversations_appears_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let store = small_theme_store(dir.path());
    for lang in [Lang::Fr, Lang::En] {
        let report = Report::build(&store, november(), lang).unwrap();
        let sextortion = lang.label("themes", "sextorsion");
        // Tables: "< 5", and no difference with October.
        let markdown = report.render(Format::Md);
        let row = markdown
            .lines()
            .find(|line| line.starts_with(&format!("| {sextortion} |")))
            .unwrap_or_else(|| panic!("a row for the theme: {markdown}"));
        assert_eq!(row, format!("| {sextortion} | < 5 | 0 | — |"));
        // Charts: no bar, no slot, no label.
        let html = report.render(Format::Html);
        for svg in html.split("<svg").skip(1) {
            let svg = svg.split("</svg>").next().unwrap();
            assert!(
                !svg.contains(&sextortion),
                "{sextortion} drawn in a chart: {svg}"
            );
        }
        assert!(html.contains("leurre") || html.contains("luring"));
        // JSON: never the 3, nor the 2 and the 1 of its days.
        let json: Value = serde_json::from_str(&report.render(Format::Json)).unwrap();
        let mut found = Vec::new();
        find_counts(&json, "sextorsion", &mut found);
        assert!(!found.is_empty());
        assert!(
            found
                .iter()
                .all(|count| count == "< 5" || count == "x" || count == "0"),
            "{found:?}"
        );
        // By subtraction: 24 French and 3 English make 27 conversations; French is hidden.
        assert!(
            markdown.contains(&format!(
                "| {} | x | 8 | — |",
                lang.label("sessions_started", "fr")
            )),
            "{markdown}"
        );
        assert!(
            !markdown.contains("| 24 |") && !markdown.contains(" 24 "),
            "{markdown}"
        );
        let csv = report.render(Format::Csv);
        assert!(
            !csv.contains(";3;")
                && !csv.contains(",3,")
                && !csv.contains(";24;")
                && !csv.contains(",24,"),
            "{csv}"
        );
    }
}

/// Every count in `json` that sits beside `label` (a row or total of that label).
fn find_counts(json: &Value, label: &str, found: &mut Vec<String>) {
    match json {
        Value::Object(map) => {
            let mine = map.get("label").and_then(Value::as_str) == Some(label)
                || map.get("key").and_then(Value::as_str) == Some(label);
            for (key, value) in map {
                if mine && ["count", "current", "previous", "change"].contains(&key.as_str()) {
                    found.push(match value {
                        Value::String(text) => text.clone(),
                        Value::Null => "0".into(),
                        other => other.to_string(),
                    });
                }
                find_counts(value, label, found);
            }
        }
        Value::Array(list) => list.iter().for_each(|item| find_counts(item, label, found)),
        _ => {}
    }
}

#[tokio::test]
async fn supervisors_get_the_report_from_the_running_server_in_their_language() {
    let data = tempfile::tempdir().unwrap();
    drop(small_theme_store(data.path()));
    let server = TestServer::start_with(test_config(data.path(), &fixture_flows()), |state| {
        state
            .accounts
            .add("alex", "Alex", Role::Supervisor, PASSWORD)
            .unwrap();
        state
            .accounts
            .add("sam", "Sam", Role::Intervenor, PASSWORD)
            .unwrap();
    })
    .await;
    let supervisor = Api::login(&server.http_url(""), "alex", PASSWORD).await;
    let (status, body) = supervisor
        .call(
            Method::GET,
            "/api/impact?from=2026-11-10&to=2026-11-10&period=month&lang=en",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["from"], "2026-11-01",
        "the range covers the whole month"
    );
    assert_eq!(body["to"], "2026-11-30");
    assert_eq!(body["previous_from"], "2026-10-01");
    assert_eq!(body["lang"], "en");
    assert_eq!(body["axes"][0]["title"], "Awareness and prevention");
    assert_eq!(body["axes"][0]["figures"][0]["current"], 27);
    assert_eq!(body["axes"][0]["figures"][0]["previous"], 8);
    assert_eq!(body["axes"][0]["figures"][0]["change"], 19);

    let response = reqwest::Client::new()
        .get(server.http_url("/api/impact?from=2026-11-01&to=2026-11-30&period=month&format=html"))
        .bearer_auth(&supervisor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        disposition,
        "attachment; filename=\"relais-rapport-2026-11-01-2026-11-30.html\""
    );
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Sensibilisation et prévention"));

    let (status, body) = supervisor
        .call(
            Method::GET,
            "/api/impact?from=2026-13-01&to=2026-11-30",
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let intervenor = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let (status, _) = intervenor
        .call(
            Method::GET,
            "/api/impact?from=2026-11-01&to=2026-11-30",
            None,
        )
        .await;
    assert_eq!(status, 403);
    server.stop().await;
}

#[test]
fn relais_report_writes_french_by_default_and_english_when_asked() {
    let data = tempfile::tempdir().unwrap();
    drop(small_theme_store(data.path()));
    let report = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_relais"))
            .arg("report")
            .arg("--data-dir")
            .arg(data.path())
            .args(args)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, french, _) = report(&["--from", "2026-11-12", "--to", "2026-11-12"]);
    assert!(ok);
    assert!(
        french.starts_with("# relais — rapport d’impact"),
        "{french}"
    );
    assert!(
        french.contains("| Conversations commencées | 27 | 8 | +19 |"),
        "{french}"
    );
    let (ok, english, _) = report(&[
        "--from",
        "2026-11-12",
        "--to",
        "2026-11-12",
        "--lang",
        "en",
        "--format",
        "csv",
    ]);
    assert!(ok);
    assert!(
        english.contains("Awareness and prevention,Conversations started,,27,8,+19"),
        "{english}"
    );
    let (ok, _, error) = report(&["--from", "2026-11-31", "--to", "2026-12-01"]);
    assert!(!ok);
    assert!(
        error.contains("« 2026-11-31 » n’est pas une date"),
        "{error}"
    );
    assert!(
        !error.contains("RequestError"),
        "a sentence, not a debug dump: {error}"
    );
}
