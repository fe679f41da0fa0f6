//! The conversation as both people live it (issue 23), over real sockets: the youth's
//! own lines come back on resume during a conversation with a person (once, in order,
//! sealed on disk) and nothing typed outside one is kept; the holder's presence (the
//! youth is told after the grace period, the request goes back to the queue first
//! among its peers after the longer one, in virtual time); typing signals both ways;
//! a language switch that the request follows; no second offer of a person while
//! waiting.

use crate::common;
use std::time::Duration;

use common::{files, fixture_flows, markers_in, test_config, Api, Console, TestServer, Youth};
use relais::store::records::Role;
use serde_json::{json, Value};

const PASSWORD: &str = "un mot de passe assez long";
const GRACE: u64 = 30;
const REQUEUE: u64 = 120;

async fn server() -> (TestServer, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &fixture_flows());
    config.handoff.holder_grace_secs = GRACE;
    config.handoff.holder_requeue_secs = REQUEUE;
    // Virtual time jumps minutes: the test's sockets must not be closed as silent.
    config.limits.idle_socket_secs = 24 * 3600;
    let server = TestServer::start_with(config, |state| {
        for (login, name) in [("sam", "Sam"), ("kim", "Kim")] {
            state
                .accounts
                .add(login, name, Role::Intervenor, PASSWORD)
                .unwrap();
        }
    })
    .await;
    (server, data)
}

async fn on_call(server: &TestServer, login: &str) -> (Api, Console) {
    let api = Api::login(&server.http_url(""), login, PASSWORD).await;
    let mut console = Console::connect(&server.ws_url("/console"), &api.token).await;
    api.on_call(true).await;
    console.until("roster").await;
    (api, console)
}

/// A youth at the menu who asks for a person; returns them after the `waiting` frame.
async fn asking(server: &TestServer, before: Option<&str>) -> Youth {
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    if let Some(words) = before {
        youth.text(words).await;
        youth.until_waiting().await;
    }
    youth.choose("menu_parler").await;
    let (waiting, _) = youth.until("handoff").await;
    assert_eq!(waiting["status"], "waiting", "{waiting}");
    youth
}

async fn waiting_id(console: &mut Console, skip: &[u64]) -> u64 {
    let items = console
        .queue_where(|items| {
            items
                .iter()
                .any(|i| i["status"] == "waiting" && !skip.contains(&i["id"].as_u64().unwrap_or(0)))
        })
        .await;
    items
        .iter()
        .find(|i| i["status"] == "waiting" && !skip.contains(&i["id"].as_u64().unwrap()))
        .unwrap()["id"]
        .as_u64()
        .unwrap()
}

/// Frames of a resumed session, up to `last_seq`.
async fn replay(server: &TestServer, token: &str, last_seq: u64) -> Vec<Value> {
    let mut back = Youth::connect(&server.ws_url("/chat")).await;
    back.send(json!({"type": "hello", "resume": {"token": token, "last_seq": 0}}))
        .await;
    let welcome = back.recv().await;
    assert_eq!(welcome["resumed"], true, "{welcome}");
    let mut frames = Vec::new();
    while back.last_seq < last_seq {
        frames.push(back.recv().await);
    }
    frames
}

#[tokio::test]
async fn youth_lines_come_back_on_resume_during_a_handoff_and_are_not_kept_outside_one() {
    let (server, data) = server().await;
    let (api, mut console) = on_call(&server, "sam").await;
    let mut youth = asking(&server, Some("AVANT-LA-PERSONNE quelque chose")).await;
    let id = waiting_id(&mut console, &[]).await;
    let (status, _) = api.claim(id).await;
    assert_eq!(status, 200);
    youth.until("handoff").await;

    youth.text("LIGNE-UNE il m'écrit encore").await;
    let (own, _) = youth.until("youth").await;
    assert_eq!(own["text"], "LIGNE-UNE il m'écrit encore");
    console.until("message").await;
    console
        .send(json!({"type": "reply", "handoff": id, "text": "Je suis là."}))
        .await;
    youth.until("agent").await;
    youth.text("LIGNE-DEUX merci").await;
    youth.until("youth").await;
    let last = youth.last_seq;

    // The typing signals carry no words, both ways.
    youth.send(json!({"type": "typing"})).await;
    let (typing, _) = console.until("typing").await;
    assert_eq!(typing, json!({"type": "typing", "handoff": id}));
    console.send(json!({"type": "typing", "handoff": id})).await;
    let (typing, _) = youth.until("typing").await;
    assert_eq!(typing, json!({"type": "typing"}));

    // The page reloads: everything comes back, the youth's lines once each, in order.
    let frames = replay(&server, &youth.token, last).await;
    let spoken: Vec<(String, String)> = frames
        .iter()
        .filter(|f| f["type"] == "youth" || f["type"] == "agent")
        .map(|f| {
            (
                f["type"].as_str().unwrap().to_string(),
                f["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        spoken,
        vec![
            ("youth".into(), "LIGNE-UNE il m'écrit encore".into()),
            ("agent".into(), "Je suis là.".into()),
            ("youth".into(), "LIGNE-DEUX merci".into()),
        ]
    );
    // Outside the conversation with a person, nothing the youth typed is a frame.
    assert!(
        !frames
            .iter()
            .any(|f| f.to_string().contains("AVANT-LA-PERSONNE")),
        "{frames:?}"
    );
    // And on disk, the lines are sealed: no byte of them in clear.
    let found = markers_in(
        &files(data.path()),
        &["LIGNE-UNE", "LIGNE-DEUX", "AVANT-LA-PERSONNE"],
    );
    assert!(found.is_empty(), "in clear on disk: {found:?}");

    server.stop().await;
}

#[tokio::test]
async fn a_lost_holder_is_told_after_the_grace_then_the_request_goes_back_first() {
    let (server, _data) = server().await;
    let (sam, sam_console) = on_call(&server, "sam").await;
    let (_kim, mut kim_console) = on_call(&server, "kim").await;
    // An older request waits; the second one is the one Sam takes.
    let mut older = asking(&server, None).await;
    let older_id = waiting_id(&mut kim_console, &[]).await;
    let mut youth = asking(&server, None).await;
    let id = waiting_id(&mut kim_console, &[older_id]).await;
    let (status, _) = sam.claim(id).await;
    assert_eq!(status, 200);
    let (connected, _) = youth.until("handoff").await;
    assert_eq!(connected["status"], "connected");

    // Sam's console drops (a phone that lost the network); the queue says so.
    drop(sam_console);
    let items = kim_console
        .queue_where(|items| {
            items
                .iter()
                .any(|i| i["id"] == id && i["holder_away"] == true)
        })
        .await;
    let item = items.iter().find(|i| i["id"] == id).unwrap();
    assert_eq!(item["youth_online"], true, "{item}");

    tokio::time::pause();
    let start = tokio::time::Instant::now();
    tokio::time::advance(Duration::from_secs(GRACE - 2)).await;
    let (away, _) = youth.until("handoff").await;
    let told_after = start.elapsed();
    assert_eq!(away["status"], "away", "{away}");
    assert_eq!(away["name"], "Sam");
    assert!(away["message"]
        .as_str()
        .unwrap()
        .contains("perdu la connexion"));
    assert!(
        told_after >= Duration::from_secs(GRACE - 1)
            && told_after <= Duration::from_secs(GRACE + 2),
        "told after {told_after:?}, grace {GRACE} s"
    );

    // Meanwhile the youth may write: it waits for whoever takes the conversation.
    youth.text("t'es encore là?").await;
    youth.until("youth").await;

    tokio::time::advance(Duration::from_secs(REQUEUE - GRACE - 2)).await;
    let (back, _) = youth.until("handoff").await;
    let requeued_after = start.elapsed();
    assert!(
        requeued_after >= Duration::from_secs(REQUEUE - 1),
        "requeued after {requeued_after:?}"
    );
    assert_eq!(back["status"], "waiting", "{back}");
    assert_eq!(back["position"], 1, "first among its peers: {back}");
    assert!(!back["resources"].as_array().unwrap().is_empty(), "{back}");

    let items = kim_console
        .queue_where(|items| {
            items
                .iter()
                .any(|i| i["id"] == id && i["status"] == "waiting")
        })
        .await;
    let first = &items[0];
    assert_eq!(first["id"], id, "{items:?}");
    assert_eq!(first["requeued"], true);
    assert_eq!(first["position"], 1);
    let (older_frame, _) = older.until("handoff").await;
    assert_eq!(older_frame["position"], 2, "{older_frame}");

    // Kim takes it and reads what the youth wrote while alone.
    kim_console
        .send(json!({"type": "claim", "handoff": id}))
        .await;
    let (claimed, _) = kim_console.until("claimed").await;
    assert!(
        claimed["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["from"] == "youth" && e["text"] == "t'es encore là?"),
        "{claimed}"
    );
    let (connected, _) = youth.until("handoff").await;
    assert_eq!(connected["status"], "connected");
    assert_eq!(connected["name"], "Kim");
    server.stop().await;
}

#[tokio::test]
async fn a_holder_back_within_the_grace_keeps_the_conversation_and_release_says_so() {
    let (server, _data) = server().await;
    let (sam, sam_console) = on_call(&server, "sam").await;
    let (_kim, mut kim_console) = on_call(&server, "kim").await;
    let mut youth = asking(&server, None).await;
    let id = waiting_id(&mut kim_console, &[]).await;
    sam.claim(id).await;
    youth.until("handoff").await;
    drop(sam_console);
    kim_console
        .queue_where(|items| items.iter().any(|i| i["holder_away"] == true))
        .await;
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(GRACE + 1)).await;
    let (away, _) = youth.until("handoff").await;
    assert_eq!(away["status"], "away");
    tokio::time::resume();

    // Sam is back: the youth hears it, and the queue no longer says away.
    let mut sam_console = Console::connect(&server.ws_url("/console"), &sam.token).await;
    let (again, _) = youth.until("handoff").await;
    assert_eq!(again["status"], "connected", "{again}");
    assert!(again["message"].as_str().unwrap().contains("de retour"));
    sam_console
        .queue_where(|items| {
            items
                .iter()
                .any(|i| i["id"] == id && i["holder_away"] != true)
        })
        .await;

    // Releasing says the person handed over, and the place is kept.
    sam_console
        .send(json!({"type": "release", "handoff": id}))
        .await;
    let (released, _) = youth.until("handoff").await;
    assert_eq!(released["status"], "waiting", "{released}");
    assert!(
        released["message"]
            .as_str()
            .unwrap()
            .contains("passer le relais"),
        "{released}"
    );
    server.stop().await;
}

#[tokio::test]
async fn waiting_youth_is_not_offered_a_person_again_and_a_switch_of_language_follows() {
    let (server, _data) = server().await;
    let (_sam, mut console) = on_call(&server, "sam").await;
    let mut youth = asking(&server, None).await;
    console
        .queue_where(|items| items.iter().any(|i| i["lang"] == "fr"))
        .await;

    youth.text("blablabla zorglub").await;
    let (answer, _) = youth.until("bot").await;
    let choices: Vec<&str> = answer["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(!choices.contains(&"relais:personne"), "{answer}");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("toujours dans la file"),
        "{answer}"
    );

    // The switch to English restarts the flow; the request stays and follows it.
    youth.send(json!({"type": "restart", "lang": "en"})).await;
    let items = console
        .queue_where(|items| items.iter().any(|i| i["lang"] == "en"))
        .await;
    assert_eq!(items.len(), 1);
    server.stop().await;
}
