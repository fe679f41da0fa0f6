//! The `relais` process itself: a session resumes after the server is restarted on
//! the same data folder, and a live handoff survives `kill -9` with nothing lost or
//! duplicated on either side.

use crate::common;
use common::{add_intervenor, choice_id, fixture_flows, Api, Console, ServerProcess, Youth};
use reqwest::Method;
use serde_json::json;

const PASSWORD: &str = "un mot de passe assez long";

#[tokio::test]
async fn a_session_resumes_after_the_process_restarts() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), &fixture_flows()).await;
    let mut youth = Youth::connect(&server.ws_url("/chat")).await;
    youth.hello("fr").await;
    let menu = youth.until_waiting().await.pop().unwrap();
    let seen = youth.last_seq;
    youth.choose(&choice_id(&menu, "Comprendre")).await;
    let answer = youth.until_waiting().await;
    let token = youth.token.clone();
    assert!(
        server.terminate().await.success(),
        "SIGTERM stops it cleanly"
    );

    let server = ServerProcess::start(data.path(), &fixture_flows()).await;
    let mut again = Youth::connect(&server.ws_url("/chat")).await;
    again
        .send(json!({"type": "hello", "resume": {"token": token, "last_seq": seen}}))
        .await;
    let welcome = again.recv().await;
    assert_eq!(welcome["resumed"], true, "{welcome}");
    let mut replayed = Vec::new();
    for _ in 0..answer.len() {
        replayed.push(again.recv().await);
    }
    assert_eq!(
        replayed, answer,
        "the frames after last_seq, once, in order"
    );
    // The conversation goes on from there.
    again
        .choose(&choice_id(answer.last().unwrap(), "Retour au menu"))
        .await;
    let next = again.recv().await;
    assert_eq!(
        next["seq"].as_u64().unwrap(),
        answer.last().unwrap()["seq"].as_u64().unwrap() + 1
    );
    server.terminate().await;
}

#[tokio::test]
async fn a_live_handoff_survives_kill_9() {
    let data = tempfile::tempdir().unwrap();
    add_intervenor(data.path(), "sam", "Sam", false, PASSWORD);
    let server = ServerProcess::start(data.path(), &fixture_flows()).await;
    let base = server.http_url("");
    let api = Api::login(&base, "sam", PASSWORD).await;
    let mut console = Console::connect(&server.ws_url("/console"), &api.token).await;
    api.on_call(true).await;

    let mut youth = Youth::connect(&server.ws_url("/chat")).await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    youth.choose("menu_parler").await;
    let (waiting, _) = youth.until("handoff").await;
    assert_eq!(waiting["status"], "waiting");
    let id = api.queue().await[0]["id"].as_u64().unwrap();
    assert_eq!(api.claim(id).await.0, 200);
    youth.until("handoff").await;

    let mut exchanged = Vec::new();
    for n in 0..3 {
        let from_youth = format!("message {n} de la jeune personne");
        youth.text(&from_youth).await;
        let message = loop {
            let (message, _) = console.until("message").await;
            if message["from"] == "youth" {
                break message;
            }
        };
        assert_eq!(message["text"], from_youth.as_str());
        let from_agent = format!("réponse {n}");
        console
            .send(json!({"type": "reply", "handoff": id, "text": from_agent}))
            .await;
        // The youth's own line comes back first, as a `youth` frame of their log.
        let (agent, _) = youth.until("agent").await;
        assert_eq!(agent["text"], from_agent.as_str());
        exchanged.push(from_youth);
        exchanged.push(from_agent);
    }
    let (token, seen) = (youth.token.clone(), youth.last_seq);
    server.kill().await;

    let server = ServerProcess::start(data.path(), &fixture_flows()).await;
    let base = server.http_url("");
    // The intervenor signs in again and finds the conversation, held by them.
    let api = Api::login(&base, "sam", PASSWORD).await;
    let queue = api.queue().await;
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(queue[0]["id"], id);
    assert_eq!(queue[0]["claimed_by"], "sam");
    let (status, claimed) = api.claim(id).await;
    assert_eq!(status, 200);
    let live: Vec<String> = claimed["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["from"] != "bot")
        .map(|e| e["text"].as_str().unwrap().to_string())
        .filter(|t| t.starts_with("message") || t.starts_with("réponse"))
        .collect();
    assert_eq!(live, exchanged, "every message once, in order");

    // The youth resumes: nothing was missed, nothing comes twice.
    let mut youth = Youth::connect(&server.ws_url("/chat")).await;
    youth
        .send(json!({"type": "hello", "resume": {"token": token, "last_seq": seen}}))
        .await;
    let welcome = youth.recv().await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(
        welcome["last_seq"].as_u64().unwrap(),
        seen,
        "the server has every frame the youth saw"
    );
    let mut console = Console::connect(&server.ws_url("/console"), &api.token).await;
    console
        .send(json!({"type": "reply", "handoff": id, "text": "toujours là"}))
        .await;
    let agent = youth.recv().await;
    assert_eq!(agent["type"], "agent");
    assert_eq!(agent["seq"].as_u64().unwrap(), seen + 1);
    assert_eq!(agent["text"], "toujours là");
    // And the conversation still works both ways.
    youth.text("merci").await;
    loop {
        let (message, _) = console.until("message").await;
        if message["from"] == "youth" {
            assert_eq!(message["text"], "merci");
            break;
        }
    }
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/handoffs/{id}/close"),
            Some(json!({"outcome": "resolved"})),
        )
        .await;
    assert_eq!(status, 204);
    server.kill().await;
}

/// sled 0.34 deadlocks with seven `flush_async` at once; relais coalesces its
/// flushes. Forty urgent requests at the same moment are all acknowledged.
#[tokio::test]
async fn many_urgent_requests_at_once_are_all_acknowledged() {
    let data = tempfile::tempdir().unwrap();
    let mut config = common::test_config(data.path(), &fixture_flows());
    config.limits.sockets_per_client = 100;
    config.limits.sessions_per_minute = 100;
    let server = common::TestServer::start(config).await;
    let mut youths = Vec::new();
    for _ in 0..40 {
        let mut youth = server.youth().await;
        youth.hello("fr").await;
        youth.until_waiting().await;
        youths.push(youth);
    }
    for youth in &mut youths {
        youth.text("je veux mourir").await;
    }
    for youth in &mut youths {
        let (handoff, _) = youth.until("handoff").await;
        assert_eq!(handoff["urgent"], true);
    }
    server.stop().await;
}
