//! The youth chat over real sockets: walking flows by choices and by free text,
//! urgent phrases, resume, forget, and bad input that gets a clear answer.

use crate::common;
use common::{choice_id, fixture_flows, test_config, TestServer};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

async fn server() -> (TestServer, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(data.path(), &fixture_flows())).await;
    (server, data)
}

#[tokio::test]
async fn a_whole_flow_walked_by_choices() {
    let (server, _data) = server().await;
    let mut youth = server.youth().await;
    let welcome = youth.hello("fr").await;
    assert_eq!(welcome["resumed"], false);
    assert_eq!(welcome["lang"], "fr");
    assert!(
        welcome["token"].as_str().unwrap().len() >= 22,
        "at least 128 bits"
    );

    let frames = youth.until_waiting().await;
    let seqs: Vec<u64> = frames.iter().map(|f| f["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=frames.len() as u64).collect::<Vec<_>>(),
        "seq counts from 1"
    );
    assert!(frames[0]["text"].as_str().unwrap().starts_with("Salut!"));
    assert!(frames[1]["html"]
        .as_str()
        .unwrap()
        .contains("<strong>anonyme</strong>"));
    let menu = frames.last().unwrap();
    assert_eq!(menu["input"], "none");

    youth.choose(&choice_id(menu, "Voir les ressources")).await;
    let frames = youth.until_waiting().await;
    let resources = frames[0]["resources"].as_array().unwrap();
    let tel_jeunes = resources.iter().find(|r| r["key"] == "tel_jeunes").unwrap();
    assert_eq!(tel_jeunes["phone"], "1 800 263-2266");
    assert_eq!(tel_jeunes["text"], "514 600-1002");

    youth
        .choose(&choice_id(frames.last().unwrap(), "Terminer"))
        .await;
    let end = youth.recv().await;
    assert_eq!(end["type"], "end");

    // After the end, restart begins again from the welcome.
    youth.send(json!({"type": "restart"})).await;
    let frames = youth.until_waiting().await;
    assert!(frames[0]["text"].as_str().unwrap().starts_with("Salut!"));
    server.stop().await;
}

#[tokio::test]
async fn free_text_is_routed_by_patterns() {
    let (server, _data) = server().await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    let menu = youth.until_waiting().await.pop().unwrap();
    youth.choose(&choice_id(&menu, "pression")).await;
    let question = youth.until_waiting().await.pop().unwrap();
    assert_eq!(question["input"], "text");

    youth
        .text("Il veut que je lui envoie des PHOTOS de moi")
        .await;
    let frames = youth.until_waiting().await;
    assert!(
        frames[0]["text"]
            .as_str()
            .unwrap()
            .contains("pas en trouble"),
        "{frames:?}"
    );
    let keys: Vec<_> = frames[0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].clone())
        .collect();
    assert_eq!(keys, ["aidez_moi_svp", "cyberaide"]);

    // Words the flow does not know get the gentle answer, with a way to a person.
    youth
        .choose(&choice_id(frames.last().unwrap(), "Retour au menu"))
        .await;
    let menu = youth.until_waiting().await.pop().unwrap();
    youth.text("bla bla").await;
    let gentle = youth.recv().await;
    assert!(
        gentle["text"]
            .as_str()
            .unwrap()
            .contains("pas bien compris"),
        "{gentle}"
    );
    let labels: Vec<_> = gentle["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].clone())
        .collect();
    assert_eq!(labels.len(), menu["choices"].as_array().unwrap().len() + 1);
    assert_eq!(labels.last().unwrap(), "Parler à une personne");

    // A choice's label typed as text counts as that choice.
    youth.text("voir les ressources d'aide").await;
    let frames = youth.until_waiting().await;
    assert!(frames[0]["resources"].is_array(), "{frames:?}");
    server.stop().await;
}

async fn urgent_path(lang: &str, phrase: &str) {
    let (server, _data) = server().await;
    let mut youth = server.youth().await;
    youth.hello(lang).await;
    let menu = youth.until_waiting().await.pop().unwrap();
    // Mid-flow: in the middle of a menu.
    let first = menu["choices"][0]["id"].as_str().unwrap().to_string();
    youth.choose(&first).await;
    youth.until_waiting().await;
    youth.text(phrase).await;
    let (handoff, before) = youth.until("handoff").await;
    assert_eq!(handoff["urgent"], true, "{handoff}");
    assert_eq!(
        handoff["status"], "unavailable",
        "nobody is on call: {handoff}"
    );
    let keys: Vec<_> = handoff["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].clone())
        .collect();
    assert_eq!(keys.first().unwrap(), "urgence", "911 first when urgent");
    assert_eq!(handoff["resources"][0]["phone"], "911");
    let said: String = before
        .iter()
        .map(|f| f["text"].as_str().unwrap_or(""))
        .collect();
    assert!(said.contains("911"), "{said}");
    server.stop().await;
}

#[tokio::test]
async fn an_urgent_phrase_mid_flow_takes_the_urgent_path_in_french() {
    urgent_path("fr", "j'ai PEUR il me menace de tout publier").await;
}

#[tokio::test]
async fn an_urgent_phrase_mid_flow_takes_the_urgent_path_in_english() {
    urgent_path("en", "please he's outside my house").await;
}

#[tokio::test]
async fn english_sessions_read_the_translation() {
    let (server, _data) = server().await;
    let mut youth = server.youth().await;
    let welcome = youth.hello("en").await;
    assert_eq!(welcome["lang"], "en");
    let frames = youth.until_waiting().await;
    assert!(frames[0]["text"].as_str().unwrap().starts_with("Hi!"));
    assert!(frames[1]["html"]
        .as_str()
        .unwrap()
        .contains("<strong>anonymous</strong>"));
    let menu = frames.last().unwrap();
    assert!(menu["choices"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["label"] == "Talk to a person"));

    // An unknown language falls back to French.
    let mut other = server.youth().await;
    assert_eq!(other.hello("xx").await["lang"], "fr");

    // restart with lang switches language.
    youth.send(json!({"type": "restart", "lang": "fr"})).await;
    let frames = youth.until_waiting().await;
    assert!(frames[0]["text"].as_str().unwrap().starts_with("Salut!"));
    server.stop().await;
}

#[tokio::test]
async fn resume_replays_missed_frames_once_in_order() {
    let (server, _data) = server().await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    let frames = youth.until_waiting().await;
    let seen = youth.last_seq;
    let menu = frames.last().unwrap().clone();
    let token = youth.token.clone();

    // The youth chooses, then the socket drops before the answer is read.
    youth.choose(&choice_id(&menu, "Comprendre")).await;
    drop(youth);

    let mut again = server.youth().await;
    again
        .send(json!({"type": "hello", "resume": {"token": token, "last_seq": seen}}))
        .await;
    let welcome = again.recv().await;
    assert_eq!(welcome["resumed"], true);
    let last = welcome["last_seq"].as_u64().unwrap();
    assert!(
        last > seen,
        "the answer was logged while the youth was away"
    );
    let mut replayed = Vec::new();
    for _ in seen..last {
        replayed.push(again.recv().await);
    }
    let seqs: Vec<u64> = replayed
        .iter()
        .map(|f| f["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        ((seen + 1)..=last).collect::<Vec<_>>(),
        "no gap, no duplicate"
    );
    assert!(replayed[0]["text"]
        .as_str()
        .unwrap()
        .contains("exploitation sexuelle"));

    // Nothing more is replayed: the next frame is the answer to a new choice.
    again
        .choose(&choice_id(replayed.last().unwrap(), "Retour au menu"))
        .await;
    let next = again.recv().await;
    assert_eq!(next["seq"].as_u64().unwrap(), last + 1);
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_token_gets_unknown_session_and_a_fresh_session() {
    let (server, _data) = server().await;
    let mut youth = server.youth().await;
    youth
        .send(json!({"type": "hello", "resume": {"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "last_seq": 3}}))
        .await;
    let error = youth.recv().await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["code"], "unknown_session");
    let welcome = youth.recv().await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["resumed"], false);
    assert_eq!(youth.recv().await["seq"], 1);
    server.stop().await;
}

#[tokio::test]
async fn forget_leaves_nothing_of_the_session_in_the_store() {
    let (server, _data) = server().await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    let menu = youth.until_waiting().await.pop().unwrap();
    youth.choose(&choice_id(&menu, "Comprendre")).await;
    youth.until_waiting().await;
    let key = relais::session::key_of(&youth.token);
    let store = server.state.store.clone();
    assert!(
        store.keys_of_session(&key).unwrap() > 1,
        "the session and its frames are stored"
    );

    youth.send(json!({"type": "forget"})).await;
    let forgotten = youth.recv().await;
    assert_eq!(forgotten["type"], "forgotten");
    assert_eq!(youth.closed().await, Some(1000));
    assert_eq!(store.keys_of_session(&key).unwrap(), 0);

    let mut back = server.youth().await;
    back.send(json!({"type": "hello", "resume": {"token": youth.token, "last_seq": 0}}))
        .await;
    assert_eq!(back.recv().await["code"], "unknown_session");
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_the_right_error_and_the_socket_keeps_working() {
    let (server, _data) = server().await;
    let mut youth = server.youth().await;

    // Before hello: anything else is refused, and the socket stays.
    youth.send(json!({"type": "text", "text": "allo"})).await;
    assert_eq!(youth.recv().await["code"], "bad_request");
    youth.hello("fr").await;
    let menu = youth.until_waiting().await.pop().unwrap();

    let cases: Vec<(Message, &str)> = vec![
        (Message::Text("pas du json".into()), "bad_request"),
        (Message::Text(r#"{"type":"danser"}"#.into()), "bad_request"),
        (Message::Text(r#"{"no_type":1}"#.into()), "bad_request"),
        (Message::Text(r#"{"type":"choose"}"#.into()), "bad_request"),
        (Message::Binary(vec![1, 2, 3].into()), "bad_request"),
        (Message::Text("x".repeat(100 * 1024).into()), "too_large"),
        (
            Message::Text(
                json!({"type": "text", "text": "é".repeat(2001)})
                    .to_string()
                    .into(),
            ),
            "too_large",
        ),
        (
            Message::Text(r#"{"type":"choose","id":"pas_offert"}"#.into()),
            "not_expected",
        ),
    ];
    for (message, code) in cases {
        youth.send_raw(message).await;
        let error = youth.recv().await;
        assert_eq!(error["type"], "error", "{error}");
        assert_eq!(error["code"], code, "{error}");
        assert!(
            error["message"].as_str().unwrap().len() > 10,
            "a sentence: {error}"
        );
        assert!(error.get("seq").is_none());
    }
    // The socket still works, and the conversation is where it was.
    youth.choose(&choice_id(&menu, "Comprendre")).await;
    let frames = youth.until_waiting().await;
    assert!(frames[0]["text"]
        .as_str()
        .unwrap()
        .contains("exploitation sexuelle"));
    server.stop().await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    // Through the router alone (`app()` with `oneshot`): no socket is needed.
    let data = tempfile::tempdir().unwrap();
    let state = common::app_state(
        test_config(data.path(), &fixture_flows()),
        relais::clock::Clock::system(),
    );
    for path in ["/", "/healthz", "/readyz", "/api/handoffs", "/pas-une-page"] {
        let (_, headers, _) = common::request_app(&state, "GET", path, None, None).await;
        assert_eq!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap(),
            "default-src 'self'",
            "{path}"
        );
        assert!(headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(headers["permissions-policy"]
            .to_str()
            .unwrap()
            .contains("camera=()"));
    }
    let (ready, _) = common::call_app(&state, "GET", "/readyz", None, None).await;
    assert_eq!(ready, 200);
}

#[tokio::test]
async fn stopping_closes_sockets_with_1001_and_the_session_resumes() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(data.path(), &fixture_flows())).await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    let (token, seen) = (youth.token.clone(), youth.last_seq);
    let stopping = tokio::spawn(server.stop());
    assert_eq!(youth.closed().await, Some(1001));
    stopping.await.unwrap();

    let server = TestServer::start(test_config(data.path(), &fixture_flows())).await;
    let mut again = server.youth().await;
    again
        .send(json!({"type": "hello", "resume": {"token": token, "last_seq": seen}}))
        .await;
    let welcome = again.recv().await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(welcome["last_seq"].as_u64().unwrap(), seen);
    server.stop().await;
}
