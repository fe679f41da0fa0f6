//! The security and privacy review (issue 16), one test per finding, over real
//! sockets: a quick exit leaves nothing of the path on disk; reports, sessions and
//! logins are limited per client network, per account and for everyone; a
//! client's numbers are not trusted; limits hold across reconnects; bad requests
//! on `/api` get the JSON error; `/metrics` is off unless given its own address;
//! PRIVACY.md names every tree the store opens and every file of the data folder.

use crate::common;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{
    choice_id, files, fixture_flows, repo_path, test_config, Api, TestServer, Youth, PATIENCE,
};
use relais::store::records::Role;
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PASSWORD: &str = "un mot de passe assez long";

async fn youth_from(server: &TestServer, address: &str) -> Youth {
    let mut request = server.ws_url("/chat").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", address.parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    Youth {
        socket,
        token: String::new(),
        last_seq: 0,
    }
}

/// Every file of a folder but the archived flows (the scripts' own words, public).
fn data_files(dir: &Path) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|f| !f.starts_with(dir.join(relais::store::VERSIONS_DIR)))
        .collect()
}

fn found(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for file in data_files(dir) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        for needle in needles {
            if bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
            {
                hits.push(format!("{needle:?} in {}", file.display()));
            }
        }
    }
    hits
}

/// M3: after the quick exit and a shutdown, a byte search of the whole data folder
/// finds neither the node names of the path taken nor the bot's words on it.
#[tokio::test]
async fn a_quick_exit_leaves_nothing_of_the_path_on_disk() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(data.path(), &fixture_flows())).await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    let menu = youth.until_waiting().await.pop().unwrap();
    youth.choose(&choice_id(&menu, "pression")).await;
    youth.until_waiting().await;
    youth.text("il veut que je paye sinon il montre tout").await;
    let shown = youth.until_waiting().await;
    assert!(
        shown
            .iter()
            .any(|f| f["text"].as_str().unwrap_or("").contains("ne paie pas")),
        "the path reached the sextortion advice: {shown:?}"
    );
    server.state.store.flush().await.unwrap();
    // While the session lives, its record and frames are sealed already.
    let needles = [
        "sextorsion",
        "\"node\":\"pression\"",
        "ne paie pas",
        "garde les preuves",
        "sex_conseil",
        "menu_pression",
    ];
    let live = found(data.path(), &needles);
    assert!(live.is_empty(), "readable while live: {live:#?}");

    youth.send(json!({"type": "forget"})).await;
    let (forgotten, _) = youth.until("forgotten").await;
    assert_eq!(forgotten["type"], "forgotten");
    server.stop().await;
    let left = found(data.path(), &needles);
    assert!(left.is_empty(), "readable after the quick exit: {left:#?}");
    let keys = files(&data.path().join("keys"));
    assert!(
        keys.iter()
            .all(|k| !k.display().to_string().contains("session-")),
        "the session's key is destroyed: {keys:?}"
    );
}

/// PRIVACY.md (L11) lists every tree the store opens, and every entry of the
/// data folder a running server writes.
#[tokio::test]
async fn privacy_md_lists_every_tree_and_every_file_of_the_data_folder() {
    let privacy = std::fs::read_to_string(repo_path("PRIVACY.md")).unwrap();
    for tree in relais::store::TREES {
        assert!(
            privacy.contains(&format!("| `{tree}` |")),
            "PRIVACY.md has no row for the tree `{tree}`"
        );
    }
    // The trees sled really has (its own default tree aside).
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(data.path(), &fixture_flows())).await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    server.state.stats.add("sessions_started", "fr", 1);
    let stats = server.state.clone();
    tokio::task::spawn_blocking(move || stats.stats.flush(&stats.store))
        .await
        .unwrap()
        .unwrap();
    for name in server.state.store.tree_names() {
        assert!(
            relais::store::TREES.contains(&name.as_str()),
            "the store opens `{name}`, not in store::TREES"
        );
    }
    server.stop().await;
    // Every folder and kind of file in the data folder has its line.
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let listed = if entry.path().is_dir() {
            format!("`data/{name}/`")
        } else {
            format!("`data/{name}`")
        };
        assert!(
            privacy.contains(&listed),
            "PRIVACY.md does not describe {listed}"
        );
    }
    for key in files(&data.path().join("keys")) {
        let name = key.file_name().unwrap().to_string_lossy().into_owned();
        let kind = name.split('-').next().unwrap();
        assert!(
            privacy.contains(&format!("`data/keys/{kind}-")),
            "PRIVACY.md does not describe the key file {name}"
        );
    }
}

/// Walks the shipped report flow up to "Envoyer"; the frame that answers it.
async fn send_a_report(youth: &mut Youth) -> Value {
    youth.choose("menu_signaler").await;
    youth.until_waiting().await;
    youth.choose("sig_danger_non").await;
    youth.until_waiting().await;
    youth.choose("sig_type_leurre").await;
    loop {
        let question = youth.until_waiting().await.pop().unwrap();
        if question["input"] == "text" {
            if question["choices"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["id"] == "sig_autre_passer"))
            {
                youth.choose("sig_autre_passer").await;
                break;
            }
            youth.text("un compte qui insiste").await;
        } else {
            panic!("unexpected question {question}");
        }
    }
    youth.until("report_summary").await;
    youth.until_waiting().await;
    youth.choose("sig_envoyer").await;
    loop {
        let frame = youth.recv().await;
        if frame["type"] == "report_receipt" || frame["type"] == "error" {
            return frame;
        }
    }
}

async fn report_server(
    tweak: impl FnOnce(&mut relais::config::Config),
) -> (TestServer, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &repo_path("flows"));
    config.limits.frames_per_sec = 1000;
    config.limits.frames_burst = 1000;
    config.limits.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    tweak(&mut config);
    (TestServer::start(config).await, data)
}

/// H2: twenty reports from one client key: three go in, the rest are refused
/// with a sentence, and no key file is made for them.
#[tokio::test]
async fn twenty_reports_from_one_client_are_limited() {
    let (server, data) = report_server(|_| {}).await;
    let mut sent = 0;
    let mut refused = 0;
    for attempt in 0..20 {
        // A new session each time, from the same address.
        let mut youth = youth_from(&server, "198.51.100.7").await;
        youth.hello("fr").await;
        youth.until_waiting().await;
        let answer = send_a_report(&mut youth).await;
        if answer["type"] == "report_receipt" {
            sent += 1;
        } else {
            assert_eq!(answer["code"], "rate_limited", "{attempt}: {answer}");
            assert!(answer["message"].as_str().unwrap().contains("signalement"));
            refused += 1;
        }
    }
    assert_eq!((sent, refused), (3, 17));
    let reports = files(&data.path().join("keys"))
        .iter()
        .filter(|k| k.display().to_string().contains("report-"))
        .count();
    assert_eq!(reports, 3);
    // And for everyone together: another address is refused by the global ceiling.
    server.stop().await;
    let (server, _data) = report_server(|c| c.limits.reports_per_hour_all = 2).await;
    let mut answers = Vec::new();
    for address in ["198.51.100.8", "198.51.100.9", "198.51.100.10"] {
        let mut youth = youth_from(&server, address).await;
        youth.hello("fr").await;
        youth.until_waiting().await;
        answers.push(send_a_report(&mut youth).await["type"].clone());
    }
    assert_eq!(answers, ["report_receipt", "report_receipt", "error"]);
    server.stop().await;
}

/// M8: a report takes a bounded number of messages; past it, a clear refusal,
/// and its reporter can still open it.
#[tokio::test]
async fn a_report_is_bounded_and_stays_readable() {
    let (server, _data) = report_server(|_| {}).await;
    server
        .state
        .accounts
        .add("sam", "Sam", Role::Intervenor, PASSWORD)
        .unwrap();
    let mut youth = youth_from(&server, "198.51.100.20").await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    let receipt = send_a_report(&mut youth).await;
    assert_eq!(receipt["type"], "report_receipt");
    let api = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let (_, list) = api.call(Method::GET, "/api/signalements", None).await;
    let id = list[0]["id"].as_u64().unwrap();
    let long = "€".repeat(2000);
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let (status, body) = api
            .call(
                Method::POST,
                &format!("/api/signalements/{id}/messages"),
                Some(json!({"text": long})),
            )
            .await;
        statuses.push(status);
        if status != 204 {
            assert_eq!(body["error"], "too_large", "{body}");
        }
    }
    assert!(
        statuses.contains(&413),
        "the report filled up: {statuses:?}"
    );
    let (status, detail) = api
        .call(Method::GET, &format!("/api/signalements/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(detail.to_string().len() < 128 * 1024);
    server.stop().await;
}

/// L1: a resume with `last_seq = u64::MAX` gets a clear error; the server goes on,
/// and a small lead (frames a crash took) still resumes, numbered after it.
#[tokio::test]
async fn a_resume_ahead_of_the_server_is_refused_clearly() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(data.path(), &fixture_flows())).await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    let (token, seen) = (youth.token.clone(), youth.last_seq);

    let mut back = server.youth().await;
    back.send(json!({"type": "hello", "resume": {"token": token, "last_seq": u64::MAX}}))
        .await;
    let refused = back.recv().await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "bad_request");
    assert!(refused["message"].as_str().unwrap().contains("reprendre"));
    assert_eq!(back.closed().await, Some(1008));

    // A lead of three frames: resumed, and the next frame comes after them.
    let mut again = server.youth().await;
    again
        .send(json!({"type": "hello", "resume": {"token": token, "last_seq": seen + 3}}))
        .await;
    let welcome = again.recv().await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(welcome["last_seq"], seen + 3);
    again.choose("menu_comprendre").await;
    let next = again.recv().await;
    assert_eq!(next["seq"], seen + 4, "{next}");
    // The server still serves everyone.
    let mut other = server.youth().await;
    assert_eq!(other.hello("fr").await["type"], "welcome");
    server.stop().await;
}

/// L4: the limit on requests for a person is the session's: a new socket on the
/// same session does not reset it.
#[tokio::test]
async fn limits_hold_across_reconnects() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &fixture_flows());
    config.limits.handoffs_per_hour = 1;
    let server = TestServer::start(config).await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    youth.choose("menu_parler").await;
    youth.until("handoff").await;
    youth.send(json!({"type": "restart"})).await;
    youth.until_waiting().await;
    youth.choose("menu_parler").await;
    let (limited, _) = youth.until("error").await;
    assert_eq!(limited["code"], "rate_limited");
    let (token, seen) = (youth.token.clone(), youth.last_seq);
    drop(youth);

    let mut back = server.youth().await;
    back.send(json!({"type": "hello", "resume": {"token": token, "last_seq": seen}}))
        .await;
    assert_eq!(back.recv().await["resumed"], true);
    back.send(json!({"type": "restart"})).await;
    back.until_waiting().await;
    back.choose("menu_parler").await;
    let (limited, _) = back.until("error").await;
    assert_eq!(limited["code"], "rate_limited", "{limited}");
    server.stop().await;
}

/// M1: the addresses of one IPv6 /64 are one client; another /64 is another.
#[tokio::test]
async fn an_ipv6_network_is_one_client() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &fixture_flows());
    config.limits.sessions_per_minute = 2;
    config.limits.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let server = TestServer::start(config).await;
    let mut answers = Vec::new();
    for address in [
        "2001:db8:1:2::1",
        "2001:db8:1:2::2",
        "2001:db8:1:2:ffff::3",
        "2001:db8:1:3::1",
    ] {
        let mut youth = youth_from(&server, address).await;
        youth.send(json!({"type": "hello", "lang": "fr"})).await;
        answers.push(youth.recv().await["type"].clone());
    }
    assert_eq!(answers, ["welcome", "welcome", "error", "welcome"]);
    server.stop().await;
}

/// L10: a session idle past its expiry does not resume, even before the purge.
#[tokio::test]
async fn an_expired_session_does_not_resume() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &fixture_flows());
    config.sessions.idle_expiry_secs = 60;
    config.sessions.purge_every_secs = 1_000_000;
    let server = TestServer::start(config).await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    let (token, seen) = (youth.token.clone(), youth.last_seq);
    drop(youth);
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(61)).await;
    tokio::time::resume();
    let mut back = server.youth().await;
    back.send(json!({"type": "hello", "resume": {"token": token, "last_seq": seen}}))
        .await;
    let answer = back.recv().await;
    assert_eq!(answer["code"], "unknown_session", "{answer}");
    server.stop().await;
}

async fn login_status(
    base: &str,
    login: &str,
    password: &str,
    totp: Option<&str>,
    from: &str,
) -> u16 {
    let client = reqwest::Client::new();
    let mut body = json!({"username": login, "password": password});
    if let Some(code) = totp {
        body["totp"] = json!(code);
    }
    client
        .post(format!("{base}/api/login"))
        .header("x-forwarded-for", from)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The delays the server owes 20 failures in a row on one account: none for the
/// first five, then 1, 2, 4, then 8 times `login_delay_ms`.
fn owed(failures: u32, base_ms: u64) -> Duration {
    (0..failures)
        .map(|k| match k {
            0..=4 => 0,
            k => base_ms << (k - 5).min(3),
        })
        .map(Duration::from_millis)
        .sum()
}

/// M2: twenty wrong passwords for one account sent at once, each from its own
/// address, take at least as long as twenty in a row: attempts on one account
/// take turns, so the delays bound the rate of guesses, not only their latency.
#[tokio::test]
async fn parallel_wrong_logins_take_as_long_as_in_a_row() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &fixture_flows());
    config.console.login_delay_ms = 40;
    config.limits.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let server = TestServer::start_with(config, |state| {
        for login in ["alex", "robin"] {
            state
                .accounts
                .add(login, "Quelqu'un", Role::Intervenor, PASSWORD)
                .unwrap();
        }
    })
    .await;
    let base = server.http_url("");
    let owed = owed(20, 40);

    let started = Instant::now();
    for n in 0..20 {
        let status = login_status(
            &base,
            "alex",
            "mauvais mot de passe",
            None,
            &format!("192.0.2.{n}"),
        )
        .await;
        assert_eq!(status, 401);
    }
    let in_a_row = started.elapsed();
    assert!(in_a_row >= owed, "{in_a_row:?} < {owed:?}");

    let started = Instant::now();
    let attempts: Vec<_> = (0..20)
        .map(|n| {
            let base = base.clone();
            tokio::spawn(async move {
                let status = login_status(
                    &base,
                    "robin",
                    "mauvais mot de passe",
                    None,
                    &format!("198.18.0.{n}"),
                )
                .await;
                (status, Instant::now())
            })
        })
        .collect();
    let mut answered = Vec::new();
    for attempt in attempts {
        answered.push(attempt.await.unwrap());
    }
    let at_once = started.elapsed();
    assert!(
        answered.iter().all(|(status, _)| *status == 401),
        "{answered:?}"
    );
    assert!(
        at_once >= owed,
        "at once {at_once:?}, owed {owed:?}, in a row {in_a_row:?}"
    );
    // In order: each answer after a failure past the fifth waits its own delay.
    answered.sort_by_key(|(_, at)| *at);
    let last_gap = answered[19].1 - answered[18].1;
    assert!(last_gap >= Duration::from_millis(8 * 40), "{last_gap:?}");
    server.stop().await;
}

/// L2: four logins at once with one valid two-factor code: exactly one gets in.
/// M2: then five wrong codes with the right password lock the account.
#[tokio::test]
async fn one_totp_code_opens_one_login_and_wrong_codes_lock() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &fixture_flows());
    config.limits.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let secret = relais::handoff::totp::new_secret();
    let kept = secret.clone();
    let server = TestServer::start_with(config, move |state| {
        state
            .accounts
            .add("alex", "Alex", Role::Intervenor, PASSWORD)
            .unwrap();
        let mut account = state.accounts.get("alex").unwrap().unwrap();
        account.totp_secret = Some(kept);
        state.accounts.put(&account).unwrap();
    })
    .await;
    let base = server.http_url("");
    let step = server.state.clock.now_secs() / relais::handoff::totp::STEP;
    let code = relais::handoff::totp::code_at(&secret, step).unwrap();
    let logins: Vec<_> = (0..4)
        .map(|n| {
            let (base, code) = (base.clone(), code.clone());
            tokio::spawn(async move {
                login_status(
                    &base,
                    "alex",
                    PASSWORD,
                    Some(&code),
                    &format!("192.0.2.{n}"),
                )
                .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for login in logins {
        statuses.push(login.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [200, 401, 401, 401]);

    // Five wrong codes: locked; the right code of the next step is refused too.
    for n in 0..5 {
        let status = login_status(
            &base,
            "alex",
            PASSWORD,
            Some("000000"),
            &format!("203.0.113.{n}"),
        )
        .await;
        assert_eq!(status, 401);
    }
    let next = relais::handoff::totp::code_at(&secret, step + 1).unwrap();
    assert_eq!(
        login_status(&base, "alex", PASSWORD, Some(&next), "203.0.113.99").await,
        401,
        "locked for a while"
    );
    server.stop().await;
}

/// L5: a conversation cannot be given to an author's account.
#[tokio::test]
async fn a_conversation_goes_only_to_who_takes_conversations() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(test_config(data.path(), &fixture_flows()), |state| {
        state
            .accounts
            .add("sup", "Sup", Role::Supervisor, PASSWORD)
            .unwrap();
        state
            .accounts
            .add("auteur", "Au Teur", Role::Author, PASSWORD)
            .unwrap();
    })
    .await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    youth.choose("menu_parler").await;
    youth.until("handoff").await;
    let api = Api::login(&server.http_url(""), "sup", PASSWORD).await;
    let queue = api.queue().await;
    let id = queue[0]["id"].as_u64().unwrap();
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/handoffs/{id}/assign"),
            Some(json!({"login": "auteur"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "bad_request");
    assert_eq!(api.queue().await[0]["status"], "waiting");
    server.stop().await;
}

/// L7: a bad path or query parameter on `/api` gets the documented JSON error.
#[tokio::test]
async fn bad_path_and_query_on_the_api_get_the_json_error() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(test_config(data.path(), &fixture_flows()), |state| {
        state
            .accounts
            .add("sup", "Sup", Role::Supervisor, PASSWORD)
            .unwrap();
    })
    .await;
    let api = Api::login(&server.http_url(""), "sup", PASSWORD).await;
    for (method, path) in [
        (Method::POST, "/api/handoffs/abc/claim"),
        (Method::GET, "/api/reports"),
        (Method::GET, "/api/signalements/x"),
    ] {
        let response = api
            .client
            .request(method, server.http_url(path))
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "bad_request", "{path}: {body}");
        assert!(body["message"].is_string() && body["message_en"].is_string());
    }
    server.stop().await;
}

/// L12: `/metrics` is not on the public address; given one of its own, it is there.
#[tokio::test]
async fn metrics_are_off_unless_given_their_own_address() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(data.path(), &fixture_flows())).await;
    let public = reqwest::get(server.http_url("/metrics")).await.unwrap();
    assert_eq!(public.status(), 404);
    server.stop().await;

    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let private = free.local_addr().unwrap();
    drop(free);
    let mut config = test_config(data.path(), &fixture_flows());
    config.metrics_listen = Some(private);
    let server = TestServer::start(config).await;
    assert_eq!(
        reqwest::get(server.http_url("/metrics"))
            .await
            .unwrap()
            .status(),
        404
    );
    let text = tokio::time::timeout(PATIENCE, async {
        reqwest::get(format!("http://{private}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    })
    .await
    .unwrap();
    assert!(text.contains("relais_console_sockets"), "{text}");
    server.stop().await;
}

/// M7: repeated "not understood" answers are sent but logged once: a resume
/// replays one, not twenty.
#[tokio::test]
async fn repeated_not_understood_answers_are_logged_once() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &fixture_flows());
    config.limits.frames_per_sec = 1000;
    config.limits.frames_burst = 1000;
    let server = TestServer::start(config).await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    let start = youth.last_seq;
    for _ in 0..20 {
        youth.text("blablabla").await;
        let answer = youth.recv().await;
        assert!(answer["text"].is_string(), "{answer}");
    }
    let token = youth.token.clone();
    drop(youth);
    let mut back = server.youth().await;
    back.send(json!({"type": "hello", "resume": {"token": token, "last_seq": start}}))
        .await;
    assert_eq!(back.recv().await["resumed"], true);
    let replayed = back.until_waiting().await;
    assert_eq!(replayed.len(), 1, "{replayed:?}");
    // The next frame answers the next choice: nothing more was replayed before it.
    back.choose("menu_comprendre").await;
    let next = back.recv().await;
    assert!(
        next["text"]
            .as_str()
            .unwrap()
            .contains("L'exploitation sexuelle"),
        "{next}"
    );
    server.stop().await;
}

/// L9: within a report, no count shown as "< 5" can be found by subtracting the shown
/// ones from a shown total (the complement is hidden as "x"), and a report covers whole
/// periods whatever days were asked. (The impact tests check the same on the scripted
/// day and by property; PRIVACY.md says what remains across reports of nested periods.)
#[tokio::test]
async fn no_hidden_count_is_found_by_subtraction() {
    use relais::impact::{Format, Lang, Range, Report, Unit};
    let data = tempfile::tempdir().unwrap();
    let store = relais::store::Store::open(data.path()).unwrap();
    let rows = |day: &str, fr: u64, en: u64| {
        vec![
            (
                day.to_string(),
                "sessions_started".to_string(),
                "fr".to_string(),
                fr,
            ),
            (
                day.to_string(),
                "sessions_started".to_string(),
                "en".to_string(),
                en,
            ),
        ]
    };
    let mut batch = rows("2026-11-02", 10, 6);
    batch.extend(rows("2026-11-03", 7, 3));
    store.add_counts(batch, "2026-12-01").unwrap();
    let day = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let report = |from: &str, to: &str, unit: Unit| {
        Report::build(&store, Range::covering(unit, day(from), day(to)), Lang::En).unwrap()
    };
    // The 3rd alone: 10 conversations, 3 in English; French is hidden too, or 10 − 7
    // would give the 3.
    let markdown = report("2026-11-03", "2026-11-03", Unit::Day).render(Format::Md);
    assert!(
        markdown.contains("| Conversations started | 10 |"),
        "{markdown}"
    );
    assert!(markdown.contains("| English | < 5 |"), "{markdown}");
    assert!(markdown.contains("| French | x |"), "{markdown}");
    // Both days by day: the 3 is "< 5" in its day's row, and the English total of 9 is
    // shown, so the 6 of the 2nd is hidden beside it.
    let both: Value =
        serde_json::from_str(&report("2026-11-02", "2026-11-03", Unit::Day).render(Format::Json))
            .unwrap();
    let row = |period: &str, label: &str| -> Value {
        both["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["period"] == period && r["label"] == label)
            .map(|r| r["count"].clone())
            .unwrap()
    };
    assert_eq!(row("2026-11-03", "en"), "< 5");
    assert_eq!(row("2026-11-02", "en"), "x");
    // A week's report covers the whole week, whatever days were asked.
    let week = report("2026-11-03", "2026-11-03", Unit::Week);
    assert_eq!(
        (week.from.as_str(), week.to.as_str()),
        ("2026-11-02", "2026-11-08")
    );
}
