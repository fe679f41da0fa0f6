//! Anonymous reports over real sockets, on the shipped flows: a youth reports a
//! situation in French and in English and gets a receipt; an intervenor reads it
//! and answers; the youth comes back with the receipt from a new session, reads the
//! answer and adds to it. Wrong receipts reveal nothing and guessing is throttled;
//! "someone is in danger now" takes the urgent path at once; the report's words are
//! sealed on disk and gone after its retention.

use crate::common;
use std::path::Path;

use common::{files, markers_in, repo_path, test_config, Api, TestServer, Youth};
use relais::store::records::Role;
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PASSWORD: &str = "un mot de passe assez long";
const WHERE: &str = "sur InstaSnap, compte @canari_relais_77";
const WHO: &str = "lien https://exemple.invalid/canari-relais";

async fn server(
    tweak: impl FnOnce(&mut relais::config::Config),
) -> (TestServer, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &repo_path("flows"));
    config.limits.frames_per_sec = 1000;
    config.limits.frames_burst = 1000;
    config.limits.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    tweak(&mut config);
    let server = TestServer::start_with(config, |state| {
        state
            .accounts
            .add("sam", "Sam", Role::Intervenor, PASSWORD)
            .unwrap();
    })
    .await;
    (server, data)
}

async fn youth_from(server: &TestServer, address: &str, lang: &str) -> Youth {
    let mut request = server.ws_url("/chat").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", address.parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut youth = Youth {
        socket,
        token: String::new(),
        last_seq: 0,
    };
    youth.hello(lang).await;
    youth.until_waiting().await;
    youth
}

/// Walks the report flow and returns (the summary frame, the receipt).
async fn report(youth: &mut Youth, answers: [&str; 3]) -> (Value, String) {
    youth.choose("menu_signaler").await;
    youth.until_waiting().await;
    youth.choose("sig_danger_non").await;
    youth.until_waiting().await;
    youth.choose("sig_type_leurre").await;
    for answer in answers {
        let question = youth.until_waiting().await.pop().unwrap();
        assert_eq!(question["input"], "text", "{question}");
        youth.text(answer).await;
    }
    let question = youth.until_waiting().await.pop().unwrap();
    assert_eq!(question["input"], "text");
    youth.choose("sig_autre_passer").await;
    let (summary, _) = youth.until("report_summary").await;
    assert!(summary.get("seq").is_none(), "the summary is not logged");
    youth.until_waiting().await;
    youth.choose("sig_envoyer").await;
    let (receipt, _) = youth.until("report_receipt").await;
    assert!(receipt.get("seq").is_none(), "the receipt is not logged");
    let receipt = receipt["receipt"].as_str().unwrap().to_string();
    let after = youth.until_waiting().await;
    assert!(
        after
            .iter()
            .any(|f| f["text"].as_str().unwrap_or("").contains("code")),
        "{after:?}"
    );
    (summary, receipt)
}

#[tokio::test]
async fn a_report_goes_in_with_a_receipt_and_the_answer_comes_back_with_it() {
    let (server, _data) = server(|_| {}).await;
    let mut youth = youth_from(&server, "198.51.100.10", "fr").await;
    let (summary, receipt) = report(&mut youth, [WHERE, WHO, "depuis lundi"]).await;
    let fields: Vec<(String, String)> = summary["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().into(),
                f["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(fields.contains(&("ou".into(), WHERE.into())), "{fields:?}");
    assert!(
        fields.contains(&("type".into(), "leurre".into())),
        "{fields:?}"
    );
    assert!(fields.contains(&("danger".into(), "non".into())));
    let digits: String = receipt.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(digits.len(), 16, "{receipt}");
    assert_eq!(receipt.split(' ').count(), 4);
    drop(youth);

    let mut english = youth_from(&server, "198.51.100.11", "en").await;
    let (_, english_receipt) =
        report(&mut english, ["a game chat", "user canari_en", "yesterday"]).await;
    assert_ne!(english_receipt, receipt);

    // An intervenor sees both, opens the French one, answers it.
    let api = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let (status, list) = api.call(Method::GET, "/api/signalements", None).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["lang"] == "fr")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    assert_eq!(list[0]["status"], "new");
    let (_, detail) = api
        .call(Method::GET, &format!("/api/signalements/{id}"), None)
        .await;
    assert!(
        detail["answers"].to_string().contains("@canari_relais_77"),
        "{detail}"
    );
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/signalements/{id}/messages"),
            Some(json!({"text": "Merci pour ton signalement. Nous l'avons transmis."})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/signalements/{id}/notes"),
            Some(json!({"text": "note interne"})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/signalements/{id}/forwarded"),
            Some(json!({"to": "cyberaide"})),
        )
        .await;
    assert_eq!(status, 204);

    // The youth comes back from a new session, with the receipt.
    let mut back = youth_from(&server, "198.51.100.12", "fr").await;
    back.choose("menu_suivi").await;
    back.until_waiting().await;
    back.text(&receipt).await;
    let (status_frame, _) = back.until("report_status").await;
    assert_eq!(status_frame["status"], "forwarded");
    let messages = status_frame["messages"].as_array().unwrap();
    assert_eq!(
        messages.len(),
        1,
        "the reporter reads messages, not internal notes"
    );
    assert_eq!(
        messages[0]["text"],
        "Merci pour ton signalement. Nous l'avons transmis."
    );
    assert_eq!(messages[0]["name"], "Sam");
    back.until_waiting().await;
    back.choose("suivi_ajouter").await;
    back.until_waiting().await;
    back.text("J'ajoute : il a aussi écrit à ma cousine.").await;
    let (again, _) = back.until("report_status").await;
    assert_eq!(again["messages"].as_array().unwrap().len(), 2);
    let (_, detail) = api
        .call(Method::GET, &format!("/api/signalements/{id}"), None)
        .await;
    let texts: Vec<&str> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.contains(&"J'ajoute : il a aussi écrit à ma cousine."),
        "{texts:?}"
    );
    server.stop().await;
}

/// In virtual time: the limiters run on the server's clock, so the global bound
/// below is exact (the seconds that passed are tokio's, not the machine's).
#[tokio::test(start_paused = true)]
async fn a_wrong_receipt_reveals_nothing_and_guessing_is_throttled() {
    let (server, _data) = server(|_| {}).await;
    let started = tokio::time::Instant::now();
    let mut reporter = youth_from(&server, "198.51.100.20", "fr").await;
    let (_, receipt) = report(&mut reporter, ["ici", "lui", "hier"]).await;

    // A wrong receipt (right shape) and a missing one (wrong shape) answer alike.
    let mut seen = Vec::new();
    for (n, typed) in ["1234 5678 9012 3456", "pas un code"].iter().enumerate() {
        let mut youth = youth_from(&server, &format!("198.51.100.{}", 30 + n), "fr").await;
        youth.choose("menu_suivi").await;
        youth.until_waiting().await;
        youth.text(typed).await;
        let frames = youth.until_waiting().await;
        let shape: Vec<(String, String)> = frames
            .iter()
            .map(|f| {
                (
                    f["type"].as_str().unwrap().into(),
                    f["text"].as_str().unwrap_or("").into(),
                )
            })
            .collect();
        assert!(
            shape.iter().all(|(kind, _)| kind != "report_status"),
            "{shape:?}"
        );
        seen.push(shape);
    }
    assert_eq!(seen[0], seen[1], "indistinguishable");
    assert!(
        seen[0][0].1.contains("ne correspond à aucun"),
        "{:?}",
        seen[0]
    );

    // 1,000 guesses from one client: a handful are checked, the rest refused.
    let mut guesser = youth_from(&server, "203.0.113.99", "fr").await;
    guesser.choose("menu_suivi").await;
    guesser.until_waiting().await;
    let (mut refused, mut checked) = (0, 0);
    for n in 0..1000u64 {
        guesser
            .text(&format!("{:016}", 4_000_000_000_000_000u64 + n))
            .await;
        let frame = guesser.recv().await;
        if frame["type"] == "error" {
            assert_eq!(frame["code"], "rate_limited");
            assert!(frame["retry_after_ms"].as_u64().unwrap() > 0);
            refused += 1;
        } else {
            checked += 1;
            let back = waiting_from(&mut guesser, frame).await;
            let retry = back["choices"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"] == "suivi_reessayer");
            assert!(retry, "{back}");
            guesser.choose("suivi_reessayer").await;
            guesser.until_waiting().await;
        }
    }
    assert!(checked <= 5, "{checked} guesses were checked");
    assert_eq!(refused + checked, 1000);

    // Everyone together is throttled too: new clients cannot go past the global cap.
    let mut checked_globally = checked;
    for n in 0..20 {
        let mut youth = youth_from(&server, &format!("192.0.2.{n}"), "fr").await;
        youth.choose("menu_suivi").await;
        youth.until_waiting().await;
        for attempt in 0..5u64 {
            youth
                .text(&format!("{:016}", 5_000_000_000_000_000u64 + attempt))
                .await;
            let frame = youth.recv().await;
            if frame["type"] == "error" {
                continue;
            }
            checked_globally += 1;
            waiting_from(&mut youth, frame).await;
            youth.choose("suivi_reessayer").await;
            youth.until_waiting().await;
        }
    }
    // 60 a minute: a burst of 60, then one a second.
    let allowed = 60 + started.elapsed().as_secs() + 1;
    assert!(
        checked_globally <= allowed,
        "{checked_globally} lookups, {allowed} allowed"
    );

    // The real receipt still works (from a client that did not guess).
    let mut owner = youth_from(&server, "198.51.100.21", "fr").await;
    owner.choose("menu_suivi").await;
    owner.until_waiting().await;
    owner.text(&receipt).await;
    let frame = owner.recv().await;
    assert!(
        frame["type"] == "report_status" || frame["code"] == "rate_limited",
        "{frame}"
    );
    server.stop().await;
}

#[tokio::test]
async fn someone_in_danger_now_takes_the_urgent_path_at_once() {
    let (server, _data) = server(|_| {}).await;
    let mut youth = youth_from(&server, "198.51.100.40", "fr").await;
    youth.choose("menu_signaler").await;
    youth.until_waiting().await;
    youth.choose("sig_danger_oui").await;
    let (handoff, before) = youth.until("handoff").await;
    assert_eq!(handoff["urgent"], true);
    assert!(
        before
            .iter()
            .any(|f| f["text"].as_str().unwrap_or("").contains("911")),
        "{before:?}"
    );
    server.stop().await;
}

/// The frame the flow waits on: `first` if it is one, else the next one that is.
async fn waiting_from(youth: &mut Youth, first: Value) -> Value {
    if first["choices"].as_array().is_some_and(|c| !c.is_empty()) {
        return first;
    }
    youth.until_waiting().await.pop().unwrap()
}

fn found_in(dir: &Path, markers: &[&str]) -> Vec<String> {
    markers_in(&files(dir), markers)
}

/// Retention is one day here, and the day passes in virtual time: no purge (the one
/// at start included) can take the report before the test has looked at it.
#[tokio::test]
async fn a_reports_words_are_sealed_on_disk_and_gone_after_retention() {
    let (server, data) = server(|config| config.reports.retention_days = 1).await;
    let mut youth = youth_from(&server, "198.51.100.50", "fr").await;
    report(&mut youth, [WHERE, WHO, "depuis lundi"]).await;
    let api = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let (_, list) = api.call(Method::GET, "/api/signalements", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    server.state.store.flush().await.unwrap();
    let markers = [
        "canari_relais_77",
        "exemple.invalid/canari-relais",
        "InstaSnap",
    ];
    let found = found_in(data.path(), &markers);
    assert!(found.is_empty(), "readable on disk: {found:#?}");

    // Kept until its retention ends, erased with its key once it has.
    let state = server.state.clone();
    tokio::task::spawn_blocking(move || relais::server::purge(&state))
        .await
        .unwrap();
    let (_, list) = api.call(Method::GET, "/api/signalements", None).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "kept within its retention"
    );
    tokio::time::pause();
    tokio::time::advance(std::time::Duration::from_secs(86_400)).await;
    let state = server.state.clone();
    tokio::task::spawn_blocking(move || relais::server::purge(&state))
        .await
        .unwrap();
    // A console token lives 12 hours at most: a day later, sign in again.
    let api = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let (_, list) = api.call(Method::GET, "/api/signalements", None).await;
    assert!(list.as_array().unwrap().is_empty());
    let keys: Vec<_> = files(&data.path().join("keys"));
    assert!(
        keys.iter()
            .all(|k| !k.display().to_string().contains("report-")),
        "{keys:?}"
    );
    server.stop().await;
    assert!(found_in(data.path(), &markers).is_empty());
}

#[tokio::test]
async fn a_report_of_danger_now_is_sent_after_the_urgent_path_and_comes_first() {
    let (server, _data) = server(|_| {}).await;
    let api = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let mut console = common::Console::connect(&server.ws_url("/console"), &api.token).await;
    let mut calm = youth_from(&server, "198.51.100.60", "fr").await;
    report(&mut calm, ["ici", "lui", "hier"]).await;

    let mut youth = youth_from(&server, "198.51.100.61", "fr").await;
    youth.choose("menu_signaler").await;
    youth.until_waiting().await;
    youth.choose("sig_danger_oui").await;
    let (handoff, _) = youth.until("handoff").await;
    assert_eq!(handoff["urgent"], true);
    let offer = youth.until_waiting().await.pop().unwrap();
    assert!(
        offer["choices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "urg_signalement"),
        "{offer}"
    );
    youth.choose("urg_signalement").await;
    youth.until_waiting().await;
    youth.choose("sig_type_recrutement").await;
    for _ in 0..3 {
        let question = youth.until_waiting().await.pop().unwrap();
        let skip = question["choices"][0]["id"].as_str().unwrap().to_string();
        youth.choose(&skip).await;
    }
    youth.until_waiting().await;
    youth.choose("sig_autre_passer").await;
    youth.until("report_summary").await;
    youth.until_waiting().await;
    youth.choose("sig_envoyer").await;
    youth.until("report_receipt").await;

    let (alert, _) = console.until("report_alert").await;
    let (_, list) = api.call(Method::GET, "/api/signalements", None).await;
    assert_eq!(list[0]["id"], alert["report"], "danger now comes first");
    assert_eq!(list[0]["danger"], true);
    assert_eq!(list[0]["kind"], "recrutement");
    assert_eq!(list[1]["danger"], false);
    server.stop().await;
}

#[tokio::test]
async fn the_follow_up_code_question_asks_for_a_receipt_and_an_addition_for_text() {
    let (server, _data) = server(|_| {}).await;
    let mut reporter = youth_from(&server, "198.51.100.60", "fr").await;
    let (_, receipt) = report(&mut reporter, ["ici", "lui", "hier"]).await;

    let mut back = youth_from(&server, "198.51.100.61", "fr").await;
    back.choose("menu_suivi").await;
    let question = back.until_waiting().await.pop().unwrap();
    assert_eq!(
        question["input"], "receipt",
        "the page masks what is typed here: {question}"
    );
    back.text(&receipt).await;
    back.until("report_status").await;
    back.until_waiting().await;
    back.choose("suivi_ajouter").await;
    let question = back.until_waiting().await.pop().unwrap();
    assert_eq!(
        question["input"], "text",
        "an addition to a report is not a receipt: {question}"
    );
    server.stop().await;
}
