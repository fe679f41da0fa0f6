//! Handoff to on-call intervenors over real sockets: the live relay, atomic claims,
//! queue order and positions, nobody on call, logins and permissions, and hostile
//! youth text that must arrive as plain text.

use crate::common;
use tokio::time::Instant;

use common::{choice_id, fixture_flows, test_config, Api, Console, TestServer, Youth};
use relais::store::records::Role;
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "un mot de passe assez long";

/// A server with accounts: `sam` (intervenor), `alex` (supervisor), and `extra` more.
async fn server_with_accounts(extra: usize) -> (TestServer, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(test_config(data.path(), &fixture_flows()), |state| {
        state
            .accounts
            .add("sam", "Sam", Role::Intervenor, PASSWORD)
            .unwrap();
        state
            .accounts
            .add("alex", "Alex", Role::Supervisor, PASSWORD)
            .unwrap();
        for i in 0..extra {
            state
                .accounts
                .add(
                    &format!("i{i}"),
                    &format!("Intervenant {i}"),
                    Role::Intervenor,
                    PASSWORD,
                )
                .unwrap();
        }
    })
    .await;
    (server, data)
}

/// An intervenor signed in, with a console socket, on call.
async fn on_call(server: &TestServer, login: &str) -> (Api, Console) {
    let api = Api::login(&server.http_url(""), login, PASSWORD).await;
    let mut console = Console::connect(&server.ws_url("/console"), &api.token).await;
    api.on_call(true).await;
    console.until("roster").await;
    (api, console)
}

/// A youth who walked to the menu and asked for a person.
async fn youth_asking(server: &TestServer, lang: &str) -> (Youth, Value) {
    let mut youth = server.youth().await;
    youth.hello(lang).await;
    let menu = youth.until_waiting().await.pop().unwrap();
    youth.choose("menu_parler").await;
    let _ = menu;
    let (handoff, _) = youth.until("handoff").await;
    (youth, handoff)
}

#[tokio::test]
async fn a_whole_handoff_relays_both_ways_and_mutes_the_flow() {
    let (server, _data) = server_with_accounts(0).await;
    let (api, mut console) = on_call(&server, "sam").await;

    let mut youth = server.youth().await;
    youth.hello("fr").await;
    let menu = youth.until_waiting().await.pop().unwrap();
    youth.choose(&choice_id(&menu, "Comprendre")).await;
    youth.until_waiting().await;
    youth.text("j'ai une question").await;
    youth.recv().await; // the gentle answer
    youth.choose("relais:personne").await;
    let (waiting, _) = youth.until("handoff").await;
    assert_eq!(waiting["status"], "waiting", "{waiting}");
    assert_eq!(waiting["position"], 1);
    assert_eq!(waiting["urgent"], false);

    let items = console.queue_where(|items| !items.is_empty()).await;
    let id = items[0]["id"].as_u64().unwrap();
    assert_eq!(items[0]["lang"], "fr");
    assert_eq!(items[0]["topic"], "general");
    assert_eq!(items[0]["status"], "waiting");

    let (status, claimed) = api.claim(id).await;
    assert_eq!(status, 200, "{claimed}");
    let transcript = claimed["transcript"].as_array().unwrap();
    let said: Vec<(&str, &str)> = transcript
        .iter()
        .map(|e| (e["from"].as_str().unwrap(), e["text"].as_str().unwrap()))
        .collect();
    assert!(said.contains(&("youth", "j'ai une question")), "{said:?}");
    assert!(
        said.contains(&("youth", "Comprendre l'exploitation")),
        "{said:?}"
    );
    assert!(said
        .iter()
        .any(|(from, text)| *from == "bot" && text.starts_with("Salut!")));
    let seqs: Vec<u64> = transcript
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());

    let (connected, _) = youth.until("handoff").await;
    assert_eq!(connected["status"], "connected");
    assert_eq!(connected["name"], "Sam");

    youth.text("bonjour, il me fait peur").await;
    // The youth's own line comes back as a frame of their log (replayed on resume).
    let own = youth.recv().await;
    assert_eq!(own["type"], "youth", "{own}");
    assert_eq!(own["text"], "bonjour, il me fait peur");
    let (message, _) = console.until("message").await;
    assert_eq!(message["handoff"], id);
    assert_eq!(message["from"], "youth");
    assert_eq!(message["text"], "bonjour, il me fait peur");

    console
        .send(json!({"type": "reply", "handoff": id, "text": "Je suis là. Tu es en sécurité maintenant?"}))
        .await;
    let agent = youth.recv().await;
    assert_eq!(
        agent["type"], "agent",
        "only the intervenor speaks: {agent}"
    );
    assert_eq!(agent["name"], "Sam");
    assert_eq!(agent["text"], "Je suis là. Tu es en sécurité maintenant?");
    let (echo, _) = console.until("message").await;
    assert_eq!(echo["from"], "agent");

    // The flow is muted: an urgent word goes to the intervenor, a choice is refused.
    youth.text("je veux mourir").await;
    let (message, _) = console.until("message").await;
    assert_eq!(message["text"], "je veux mourir");
    let own = youth.recv().await;
    assert_eq!(own["type"], "youth", "{own}");
    youth.choose(&choice_id(&menu, "Comprendre")).await;
    let refused = youth.recv().await;
    assert_eq!(refused["code"], "not_expected");

    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/handoffs/{id}/close"),
            Some(json!({"outcome": "resolved"})),
        )
        .await;
    assert_eq!(status, 204);
    let ended = youth.recv().await;
    assert_eq!(
        ended["type"], "handoff",
        "no bot frame came in between: {ended}"
    );
    assert_eq!(ended["status"], "ended");
    assert!(!ended["resources"].as_array().unwrap().is_empty());
    assert!(api.queue().await.is_empty());

    // Afterwards the youth may start again.
    youth.send(json!({"type": "restart"})).await;
    let frames = youth.until_waiting().await;
    assert!(frames[0]["text"].as_str().unwrap().starts_with("Salut!"));
    server.stop().await;
}

#[tokio::test]
async fn twenty_intervenors_claim_at_once_and_exactly_one_wins() {
    let (server, _data) = server_with_accounts(20).await;
    let (_sam, _console) = on_call(&server, "sam").await;
    let (_youth, _) = youth_asking(&server, "fr").await;
    let mut apis = Vec::new();
    for i in 0..20 {
        apis.push(Api::login(&server.http_url(""), &format!("i{i}"), PASSWORD).await);
    }
    let id = apis[0].queue().await[0]["id"].as_u64().unwrap();
    let claims = apis.iter().map(|api| api.claim(id));
    let statuses: Vec<u16> = futures_util::future::join_all(claims)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn urgent_first_then_oldest_with_positions_told() {
    let (server, _data) = server_with_accounts(0).await;
    let (api, _console) = on_call(&server, "sam").await;

    let (mut first, told) = youth_asking(&server, "fr").await;
    assert_eq!(
        (told["status"].as_str(), told["position"].as_u64()),
        (Some("waiting"), Some(1))
    );
    let (mut second, told) = youth_asking(&server, "en").await;
    assert_eq!(told["position"], 2);

    let mut urgent = server.youth().await;
    urgent.hello("fr").await;
    urgent.until_waiting().await;
    urgent.text("il me menace, j'ai peur").await;
    let (told, _) = urgent.until("handoff").await;
    assert_eq!(told["urgent"], true);
    assert_eq!(told["position"], 1, "urgent goes first: {told}");

    // The others move back by one and are told.
    let (moved, _) = first.until("handoff").await;
    assert_eq!(moved["position"], 2);
    let (moved, _) = second.until("handoff").await;
    assert_eq!(moved["position"], 3);

    let queue = api.queue().await;
    let order: Vec<(bool, &str)> = queue
        .iter()
        .map(|i| (i["urgent"].as_bool().unwrap(), i["lang"].as_str().unwrap()))
        .collect();
    assert_eq!(order, [(true, "fr"), (false, "fr"), (false, "en")]);
    let since: Vec<u64> = queue[1..]
        .iter()
        .map(|i| i["waiting_since"].as_u64().unwrap())
        .collect();
    assert!(since[0] <= since[1], "oldest first among normal requests");

    // Released requests go back to their own place.
    let urgent_id = queue[0]["id"].as_u64().unwrap();
    assert_eq!(api.claim(urgent_id).await.0, 200);
    let (moved, _) = first.until("handoff").await;
    assert_eq!(moved["position"], 1);
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/handoffs/{urgent_id}/release"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (back, _) = urgent.until("handoff").await;
    assert!(back["status"] == "connected" || back["status"] == "waiting");
    let queue = api.queue().await;
    assert_eq!(queue[0]["id"], urgent_id, "back at its original place");
    assert_eq!(queue[0]["status"], "waiting");
    server.stop().await;
}

#[tokio::test]
async fn nobody_on_call_answers_unavailable_at_once_and_keeps_the_request() {
    let (server, _data) = server_with_accounts(0).await;
    let (youth, told) = youth_asking(&server, "fr").await;
    assert_eq!(told["status"], "unavailable", "{told}");
    let keys: Vec<_> = told["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].clone())
        .collect();
    assert!(keys.contains(&json!("tel_jeunes")), "{keys:?}");
    assert!(
        !keys.contains(&json!("urgence")),
        "911 only when urgent: {keys:?}"
    );
    assert!(told["message"].as_str().unwrap().contains("file"), "{told}");

    // The request stays for whoever comes on call, and the youth hears it.
    let api = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    assert_eq!(api.queue().await.len(), 1);
    let mut youth = youth;
    let mut console = Console::connect(&server.ws_url("/console"), &api.token).await;
    api.on_call(true).await;
    let (now_waiting, _) = youth.until("handoff").await;
    assert_eq!(now_waiting["status"], "waiting");
    assert_eq!(now_waiting["position"], 1);
    loop {
        let (roster, _) = console.until("roster").await;
        if roster["on_call"] == json!(["Sam"]) {
            break;
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn logins_permissions_and_logout() {
    let (server, _data) = server_with_accounts(1).await;
    let base = server.http_url("");
    let client = reqwest::Client::new();
    let login = |username: &'static str, password: &'static str| {
        let client = client.clone();
        let url = format!("{base}/api/login");
        async move {
            let response = client
                .post(url)
                .json(&json!({"username": username, "password": password}))
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let wrong_password = login("sam", "pas le bon mot de passe").await;
    let unknown_user = login("personne", "pas le bon mot de passe").await;
    assert_eq!(wrong_password.0, 401);
    assert_eq!(wrong_password, unknown_user, "identical answers");

    // No token, a bad token: 401.
    let response = client
        .get(format!("{base}/api/handoffs"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = client
        .get(format!("{base}/api/handoffs"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // Only the holder (or a supervisor) may reply or close.
    let (sam, mut sam_console) = on_call(&server, "sam").await;
    let other = Api::login(&base, "i0", PASSWORD).await;
    let mut other_console = Console::connect(&server.ws_url("/console"), &other.token).await;
    let (_youth, _) = youth_asking(&server, "fr").await;
    let id = sam.queue().await[0]["id"].as_u64().unwrap();
    assert_eq!(sam.claim(id).await.0, 200);
    assert_eq!(other.claim(id).await.0, 409);
    let (status, _) = other
        .call(
            Method::POST,
            &format!("/api/handoffs/{id}/close"),
            Some(json!({"outcome": "resolved"})),
        )
        .await;
    assert_eq!(status, 403);
    other_console
        .send(json!({"type": "reply", "handoff": id, "text": "je ne suis pas censé parler"}))
        .await;
    let (error, _) = other_console.until("error").await;
    assert_eq!(error["code"], "forbidden");
    let supervisor = Api::login(&base, "alex", PASSWORD).await;
    let (status, _) = supervisor
        .call(Method::POST, &format!("/api/handoffs/{id}/release"), None)
        .await;
    assert_eq!(status, 204, "a supervisor may");

    // Logout kills the token and closes the console socket.
    let (status, _) = sam.call(Method::POST, "/api/logout", None).await;
    assert_eq!(status, 204);
    loop {
        match sam_console.recv().await {
            None => break,
            Some(frame) if frame["type"] == "error" => assert_eq!(frame["code"], "unauthorized"),
            Some(_) => continue,
        }
    }
    assert_eq!(sam.call(Method::GET, "/api/handoffs", None).await.0, 401);
    server.stop().await;
}

/// In virtual time: the server's one-second wait passes without waiting a second.
#[tokio::test(start_paused = true)]
async fn the_sixth_rapid_failure_is_delayed() {
    let (server, _data) = server_with_accounts(0).await;
    let client = reqwest::Client::new();
    let url = server.http_url("/api/login");
    let attempt = || {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let started = Instant::now();
            let status = client
                .post(url)
                .json(&json!({"username": "sam", "password": "mauvais mot de passe"}))
                .send()
                .await
                .unwrap()
                .status();
            (status.as_u16(), started.elapsed())
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt().await.0, 401);
    }
    let (status, sixth) = attempt().await;
    assert_eq!(status, 401);
    assert!(
        sixth.as_millis() >= 1000,
        "the sixth failure waited {sixth:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn hostile_youth_text_reaches_the_console_exactly_as_typed() {
    let (server, _data) = server_with_accounts(0).await;
    let (api, mut console) = on_call(&server, "sam").await;
    let payloads = [
        "<img src=x onerror=\"window.__pwned=1\">",
        "<script>window.__pwned=1</script>",
        "[clique](javascript:alert(1)) <a href=\"javascript:alert(1)\">x</a>",
        "<svg onload=alert(1)><circle r=1 /></svg>",
    ];
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    let menu = youth.until_waiting().await.pop().unwrap();
    youth.choose(&choice_id(&menu, "pression")).await;
    youth.until_waiting().await;
    youth.text(payloads[0]).await;
    youth.until_waiting().await;
    youth.choose("relais:personne").await;
    youth.until("handoff").await;
    let id = console.queue_where(|items| !items.is_empty()).await[0]["id"]
        .as_u64()
        .unwrap();
    let (_, claimed) = api.claim(id).await;
    let in_transcript: Vec<&str> = claimed["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["from"] == "youth")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(in_transcript.contains(&payloads[0]), "{in_transcript:?}");
    youth.until("handoff").await;
    for payload in &payloads[1..] {
        youth.text(payload).await;
        let (message, _) = console.until("message").await;
        assert_eq!(message["text"], *payload);
    }
    let (_, claimed) = api.claim(id).await;
    let texts: Vec<&str> = claimed["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    for payload in payloads {
        assert!(texts.contains(&payload), "{payload} kept as typed");
    }
    server.stop().await;
}
