//! The flow authors' tools, through the real `relais` command: `flows check`,
//! `flows try` (a whole conversation from stdin, compared with an expected
//! transcript), `flows graph`, the translation round trip, and rollback of the
//! running server's flows.

use crate::common;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{choice_id, copy_dir, fixture_flows, repo_path, test_config, TestServer};

fn relais(args: &[&str], stdin: Option<&Path>) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relais"));
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.stdin(match stdin {
        Some(path) => Stdio::from(std::fs::File::open(path).unwrap()),
        None => Stdio::null(),
    });
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Compares with an expected file; `UPDATE_EXPECT=1` rewrites it.
fn expect(actual: &str, file: &str) {
    let path = repo_path(file);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "{file} differs (UPDATE_EXPECT=1 to accept)"
    );
}

fn fixtures() -> String {
    fixture_flows().display().to_string()
}

#[test]
fn flows_try_plays_a_whole_conversation_from_stdin() {
    let input = repo_path("tests/fixtures/try/walk_fr.input");
    let (ok, transcript, _) = relais(&["flows", "try", "--dir", &fixtures()], Some(&input));
    assert!(ok);
    expect(&transcript, "tests/fixtures/try/walk_fr.expected");
    // What an author needs to see is there: nodes, patterns, variables, triggers, handoffs.
    for needle in [
        "[images]",
        "réponse reconnue « photo* »",
        "pour_ami=oui",
        "déclencheur urgent",
        "=> personne URGENT",
    ] {
        assert!(transcript.contains(needle), "{needle} missing");
    }

    let input = repo_path("tests/fixtures/try/walk_en.input");
    let (ok, transcript, _) = relais(
        &["flows", "try", "--dir", &fixtures(), "--lang", "en"],
        Some(&input),
    );
    assert!(ok);
    expect(&transcript, "tests/fixtures/try/walk_en.expected");
    assert!(transcript.contains("help trigger"));

    let (ok, transcript, _) = relais(
        &["flows", "try", "--dir", &fixtures(), "--from", "ressources"],
        None,
    );
    assert!(ok);
    assert!(transcript.starts_with("[ressources]"), "{transcript}");
}

#[test]
fn flows_graph_draws_nodes_choices_routes_handoffs_and_resources() {
    let (ok, mermaid, _) = relais(&["flows", "graph", "--dir", &fixtures()], None);
    assert!(ok);
    expect(&mermaid, "tests/fixtures/try/graph.mmd");
    assert!(mermaid.contains("personne URGENT"));
    assert!(mermaid.contains("quand photo*"));
    let (ok, dot, _) = relais(
        &["flows", "graph", "--dir", &fixtures(), "--format", "dot"],
        None,
    );
    assert!(ok);
    expect(&dot, "tests/fixtures/try/graph.dot");
}

#[test]
fn flows_check_reports_in_french_english_and_json_with_an_exit_status() {
    let broken = tempfile::tempdir().unwrap();
    copy_dir(&fixture_flows(), broken.path());
    let file = broken.path().join("accueil.flow");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("-> menu\n", "-> menuu\n")).unwrap();
    let dir = broken.path().display().to_string();

    let (ok, out, _) = relais(&["flows", "check", &dir], None);
    assert!(!ok, "errors give a non-zero exit status");
    assert!(
        out.contains("accueil.flow:9:4: erreur: Le nœud « menuu » n'existe dans aucun fichier"),
        "{out}"
    );
    let (_, out, _) = relais(&["flows", "check", &dir, "--lang", "en"], None);
    assert!(
        out.contains("error: The node \"menuu\" does not exist in any file"),
        "{out}"
    );
    let (_, out, _) = relais(&["flows", "check", &dir, "--format", "json"], None);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let error = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["severity"] == "error")
        .unwrap();
    assert_eq!(error["code"], "unknown_target");
    assert_eq!(
        (error["line"].as_u64(), error["col"].as_u64()),
        (Some(9), Some(4))
    );

    let (ok, out, _) = relais(&["flows", "check", &fixtures()], None);
    assert!(ok, "{out}");
    assert!(out.contains("ok"));
}

#[test]
fn a_translation_round_trips_and_a_changed_line_turns_stale() {
    let flows = tempfile::tempdir().unwrap();
    copy_dir(&fixture_flows(), flows.path());
    let dir = flows.path().display().to_string();
    let csv_path = flows.path().join("en.csv");
    let csv_arg = csv_path.display().to_string();
    let (ok, _, _) = relais(
        &[
            "flows",
            "translations",
            "export",
            "--lang",
            "en",
            "--dir",
            &dir,
            "--out",
            &csv_arg,
        ],
        None,
    );
    assert!(ok);
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert!(csv.starts_with("id,source,translation,status,file,node,line"));
    assert!(
        csv.contains("comp_faute,It is **never** your fault.,ok")
            || csv.contains(
                "comp_faute,Ce n'est **jamais** de ta faute.,It is **never** your fault.,ok"
            ),
        "{csv}"
    );

    // A translator rewrites one line; the import keeps everything else.
    let edited = csv.replace(
        "It is **never** your fault.",
        "It is **never ever** your fault.",
    );
    std::fs::write(&csv_path, edited).unwrap();
    let before = std::fs::read_to_string(flows.path().join("traductions/en.txt")).unwrap();
    let (ok, out, _) = relais(
        &[
            "flows",
            "translations",
            "import",
            "--lang",
            "en",
            &csv_arg,
            "--dir",
            &dir,
        ],
        None,
    );
    assert!(ok, "{out}");
    assert!(out.contains("0 conflit"), "{out}");
    let after = std::fs::read_to_string(flows.path().join("traductions/en.txt")).unwrap();
    assert!(after.contains("It is **never ever** your fault."));
    assert_eq!(
        before.lines().count(),
        after.lines().count(),
        "nothing lost"
    );
    std::fs::remove_file(&csv_path).unwrap();
    let (ok, out, _) = relais(&["flows", "check", &dir], None);
    assert!(ok && !out.contains("traduction"), "{out}");

    // The French line changes: its translation is now stale, and says so.
    let file = flows.path().join("accueil.flow");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            "Ce n'est **jamais** de ta faute.",
            "Ce n'est **jamais** ta faute.",
        ),
    )
    .unwrap();
    let (ok, out, _) = relais(&["flows", "check", &dir], None);
    assert!(ok, "stale is a warning, not an error");
    assert!(
        out.contains("« comp_faute » a changé depuis sa traduction en « en »"),
        "{out}"
    );
    let (_, csv, _) = relais(
        &[
            "flows",
            "translations",
            "export",
            "--lang",
            "en",
            "--dir",
            &dir,
        ],
        None,
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("comp_faute,") && l.contains(",stale,")),
        "{csv}"
    );
}

#[tokio::test]
async fn rollback_restores_the_earlier_behaviour_of_the_running_server() {
    let data = tempfile::tempdir().unwrap();
    let flows = tempfile::tempdir().unwrap();
    copy_dir(&fixture_flows(), flows.path());
    let server = TestServer::start(test_config(data.path(), flows.path())).await;
    let mut reloads = server.state.flows.subscribe();
    let first = server.state.flows.current().version.clone();

    let file = flows.path().join("accueil.flow");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("Salut! Ici,", "Allô! Ici,")).unwrap();
    let second = tokio::time::timeout(common::PATIENCE, reloads.wait_for(|o| o.serving != first))
        .await
        .unwrap()
        .unwrap()
        .serving
        .clone();
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    let frames = youth.until_waiting().await;
    assert!(frames[0]["text"].as_str().unwrap().starts_with("Allô!"));
    let menu = frames.last().unwrap().clone();

    // History lists both versions; rollback puts the first one back.
    let data_arg = data.path().display().to_string();
    let flows_arg = flows.path().display().to_string();
    let (ok, history, _) = relais(
        &[
            "flows",
            "history",
            "--data-dir",
            &data_arg,
            "--flows-dir",
            &flows_arg,
        ],
        None,
    );
    assert!(ok);
    assert!(
        history.contains(&first) && history.contains(&second),
        "{history}"
    );
    assert!(
        history
            .lines()
            .any(|l| l.starts_with(&second) && l.contains("<-")),
        "{history}"
    );
    let (ok, out, err) = relais(
        &[
            "flows",
            "rollback",
            &first[..8],
            "--data-dir",
            &data_arg,
            "--flows-dir",
            &flows_arg,
        ],
        None,
    );
    assert!(ok, "{out}{err}");
    tokio::time::timeout(common::PATIENCE, reloads.wait_for(|o| o.serving == first))
        .await
        .expect("the server reloads the rolled-back version")
        .unwrap();
    let mut again = server.youth().await;
    again.hello("fr").await;
    let frames = again.until_waiting().await;
    assert!(frames[0]["text"].as_str().unwrap().starts_with("Salut!"));
    // The conversation started on the second version goes on with it.
    youth.choose(&choice_id(&menu, "Comprendre")).await;
    let frames = youth.until_waiting().await;
    assert!(frames[0]["text"]
        .as_str()
        .unwrap()
        .contains("exploitation sexuelle"));
    server.stop().await;
}

#[tokio::test]
async fn the_authors_api_plays_any_node_in_either_language_and_is_for_authors_only() {
    use relais::store::records::Role;
    use reqwest::Method;
    use serde_json::json;
    const PASSWORD: &str = "un mot de passe assez long";
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(test_config(data.path(), &fixture_flows()), |state| {
        state
            .accounts
            .add("plume", "Plume", Role::Author, PASSWORD)
            .unwrap();
        state
            .accounts
            .add("sam", "Sam", Role::Intervenor, PASSWORD)
            .unwrap();
    })
    .await;
    let author = common::Api::login(&server.http_url(""), "plume", PASSWORD).await;
    let (status, graph) = author.call(Method::GET, "/api/flows/graph", None).await;
    assert_eq!(status, 200);
    let nodes = graph["graph"]["nodes"].as_array().unwrap();
    assert!(nodes
        .iter()
        .any(|n| n["id"] == "urgence" && n["kind"] == "urgent_handoff"));
    assert!(graph["graph"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "route"));

    // Start anywhere, in English; the variables come back with each turn.
    let (status, first) = author
        .call(
            Method::POST,
            "/api/flows/play",
            Some(json!({"lang": "en", "from": "pression"})),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["state"]["node"], "pression");
    assert_eq!(first["frames"][0]["input"], "text");
    let (_, second) = author
        .call(
            Method::POST,
            "/api/flows/play",
            Some(json!({"lang": "en", "state": first["state"], "input": {"type": "text", "text": "he wants money"}})),
        )
        .await;
    assert_eq!(second["state"]["node"], "sextorsion", "{second}");
    assert!(second["transcript"]
        .as_str()
        .unwrap()
        .contains("route matched"));
    let (_, third) = author
        .call(
            Method::POST,
            "/api/flows/play",
            Some(json!({"lang": "fr", "state": {"node": "menu", "vars": {}}, "input": {"type": "choose", "id": "menu_ami"}})),
        )
        .await;
    assert_eq!(third["state"]["vars"]["pour_ami"], "oui", "{third}");

    let (status, versions) = author.call(Method::GET, "/api/flows/versions", None).await;
    assert_eq!(status, 200);
    assert_eq!(versions[0]["serving"], true);

    // An author takes no conversation; an intervenor does not preview flows.
    assert_eq!(author.call(Method::GET, "/api/handoffs", None).await.0, 403);
    let intervenor = common::Api::login(&server.http_url(""), "sam", PASSWORD).await;
    assert_eq!(
        intervenor
            .call(Method::GET, "/api/flows/graph", None)
            .await
            .0,
        403
    );
    server.stop().await;
}
