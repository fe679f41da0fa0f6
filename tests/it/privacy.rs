//! Anonymity, checked as an abuser with the server's disk would check it: marker
//! phone numbers, emails, names, addresses and user agents go through a whole
//! conversation with a person, and afterwards no byte of them is left in the data
//! folder or in the logs. The statistics hold nothing that points to a session (the
//! impact report made of them is tested in impact.rs).

use crate::common;
use common::{
    add_intervenor, choice_id, files, fixture_flows, markers_in, scripted_day, test_config, Api,
    Console, ServerProcess, TestServer, Youth,
};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PASSWORD: &str = "un mot de passe assez long";
const PHONE: &str = "514-555-0199";
const EMAIL: &str = "canari.relais@example.org";
const NAME: &str = "Zébulon Canarinet";
const ADDRESS: &str = "203.0.113.77";
const AGENT: &str = "CanaryAgent/7.7";
const AGENT_SAYS: &str = "Merci Zébulon Canarinet, je note 514-555-0199";

async fn youth_with_markers(server: &ServerProcess) -> Youth {
    let mut request = server.ws_url("/chat").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", ADDRESS.parse().unwrap());
    request
        .headers_mut()
        .insert("user-agent", AGENT.parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut youth = Youth {
        socket,
        token: String::new(),
        last_seq: 0,
    };
    youth.hello("fr").await;
    let menu = youth.until_waiting().await.pop().unwrap();
    youth.choose(&choice_id(&menu, "pression")).await;
    youth.until_waiting().await;
    youth
        .text(&format!(
            "je m'appelle {NAME}, mon numéro {PHONE}, mon courriel {EMAIL}"
        ))
        .await;
    youth.until_waiting().await;
    youth.choose("relais:personne").await;
    youth.until("handoff").await;
    youth
}

/// Claims the youth's request, and both sides speak with the markers.
async fn talk(api: &Api, console: &mut Console, youth: &mut Youth) -> u64 {
    let id = console
        .queue_where(|items| items.iter().any(|i| i["status"] == "waiting"))
        .await;
    let id = id.iter().find(|i| i["status"] == "waiting").unwrap()["id"]
        .as_u64()
        .unwrap();
    let (status, claimed) = api.claim(id).await;
    assert_eq!(status, 200);
    assert!(
        claimed.to_string().contains(PHONE),
        "the intervenor does see it while live"
    );
    youth.until("handoff").await;
    youth
        .text(&format!("c'est {NAME}, écris-moi à {EMAIL}"))
        .await;
    loop {
        let (message, _) = console.until("message").await;
        if message["from"] == "youth" {
            break;
        }
    }
    console
        .send(json!({"type": "reply", "handoff": id, "text": AGENT_SAYS}))
        .await;
    // The youth's own line comes first (a `youth` frame of their log).
    let (agent, _) = youth.until("agent").await;
    assert_eq!(agent["text"], AGENT_SAYS);
    id
}

#[tokio::test]
async fn no_marker_is_left_on_disk_or_in_the_logs() {
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    add_intervenor(data.path(), "sam", "Sam", false, PASSWORD);
    let log_file = logs.path().join("relais.log");
    let env = [
        ("RELAIS_LOG", "trace"),
        ("RELAIS_LIMITS__TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
    ];
    let server = ServerProcess::start_with(
        data.path(),
        &fixture_flows(),
        &env,
        Some(std::fs::File::create(&log_file).unwrap()),
    )
    .await;
    let api = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let mut console = Console::connect(&server.ws_url("/console"), &api.token).await;
    api.on_call(true).await;

    // A conversation that ends with a close.
    let mut first = youth_with_markers(&server).await;
    let id = talk(&api, &mut console, &mut first).await;
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/handoffs/{id}/close"),
            Some(json!({"outcome": "resolved"})),
        )
        .await;
    assert_eq!(status, 204);
    let (ended, _) = first.until("handoff").await;
    assert_eq!(ended["status"], "ended");

    // A conversation the youth leaves with the quick exit, while it is live.
    let mut second = youth_with_markers(&server).await;
    talk(&api, &mut console, &mut second).await;
    second.send(json!({"type": "forget"})).await;
    let (forgotten, _) = second.until("forgotten").await;
    assert_eq!(forgotten["type"], "forgotten");
    let (closed, _) = console.until("closed").await;
    assert_eq!(closed["reason"], "youth_left");

    // Resuming the first session shows the intervenor's words as erased.
    let mut back = Youth::connect(&server.ws_url("/chat")).await;
    back.send(json!({"type": "hello", "resume": {"token": first.token, "last_seq": 0}}))
        .await;
    let mut replayed: Vec<Value> = Vec::new();
    assert_eq!(back.recv().await["resumed"], true);
    while replayed
        .last()
        .is_none_or(|f| f["seq"].as_u64() != Some(first.last_seq))
    {
        replayed.push(back.recv().await);
    }
    let agent = replayed.iter().find(|f| f["type"] == "agent").unwrap();
    assert_eq!(agent["erased"], true, "{agent}");
    assert_eq!(agent["text"], "");
    drop(back);

    assert!(server.terminate().await.success());
    let mut everything = files(data.path());
    everything.push(log_file.clone());
    assert!(
        std::fs::metadata(&log_file).unwrap().len() > 0,
        "debug logs were written"
    );
    let found = markers_in(
        &everything,
        &[PHONE, EMAIL, NAME, "Canarinet", ADDRESS, AGENT],
    );
    assert!(found.is_empty(), "markers left behind: {found:#?}");
}

#[tokio::test]
async fn the_statistics_hold_no_session_id() {
    let data = tempfile::tempdir().unwrap();
    let tokens = scripted_day(data.path(), PASSWORD).await;
    let store = relais::store::Store::open(data.path()).unwrap();
    let keys: Vec<String> = tokens
        .iter()
        .map(|t| {
            relais::session::key_of(t)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
        .collect();
    let metrics = [
        "sessions_started",
        "nodes_reached",
        "transitions",
        "themes",
        "resources_shown",
        "urgent_triggers",
        "handoffs_requested",
        "handoffs_answered",
        "handoffs_unavailable",
        "handoffs_timed_out",
        "outcomes",
        "wait_time",
        // On-call reach (issue 15).
        "handoffs_pushed",
        "handoffs_escalated",
        "handoffs_paged",
        "handoffs_long_wait",
        "handoffs_refused",
        "handoffs_nobody_on_call",
        "webhook_sent",
    ];
    let records = store.counts("0000-00-00", "9999-99-99").unwrap();
    assert!(records.len() > 10, "the scenario was counted");
    for (day, metric, label, count) in records {
        assert!(
            chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").is_ok(),
            "a day, no time: {day}"
        );
        assert!(
            metrics.contains(&metric.as_str()),
            "a known metric: {metric}"
        );
        assert!(count > 0);
        assert!(label.len() < 80, "{label}");
        for token in &tokens {
            assert!(!label.contains(token.as_str()), "{label}");
        }
        for key in &keys {
            assert!(!label.contains(&key[..16]), "{label}");
        }
        assert!(
            !label.chars().any(|c| c.is_ascii_digit()) || metric == "wait_time",
            "no number that could be an id: {metric} {label}"
        );
    }
}

#[tokio::test]
async fn metrics_are_counters_with_no_identifying_label() {
    let data = tempfile::tempdir().unwrap();
    // `/metrics` is served only on an address of its own.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics = free.local_addr().unwrap();
    drop(free);
    let mut config = test_config(data.path(), &fixture_flows());
    config.metrics_listen = Some(metrics);
    let server = TestServer::start(config).await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    youth.choose("pas_offert").await;
    assert_eq!(youth.recv().await["code"], "not_expected");
    youth.choose("menu_parler").await;
    youth.until("handoff").await;
    let text = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    assert_eq!(value("relais_sessions_started_total"), 1.0);
    assert!(value("relais_turns_total") >= 2.0);
    assert_eq!(value("relais_errors_total{code=\"not_expected\"}"), 1.0);
    assert_eq!(value("relais_queue_waiting{urgency=\"normal\"}"), 1.0);
    assert_eq!(value("relais_youth_sockets"), 1.0);
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some((_, labels)) = line.split_once('{') {
            let name = labels.split('=').next().unwrap();
            assert!(["code", "urgency", "le"].contains(&name), "{line}");
        }
    }
    server.stop().await;
}
