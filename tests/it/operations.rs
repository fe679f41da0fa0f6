//! Running relais without stopping it (issue 19), over real sockets: staff accounts
//! from the console (invite, enrolment with password and TOTP, disable closing the
//! console at once, 403 for intervenors), the command line through the admin socket
//! and without a server, the audit trail (each action once, never a youth's words),
//! supervision (monitor, whisper), blocks after abuse, backup while 100 sessions run
//! and restore, and the deploy files.

use crate::common;
use std::path::Path;

use common::{fixture_flows, test_config, Api, Console, TestServer, Youth, PATIENCE};
use relais::config::Config;
use relais::store::records::Role;
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "un mot de passe assez long";

fn config(data: &Path) -> Config {
    let mut config = test_config(data, &fixture_flows());
    // Every test youth comes from 127.0.0.1: one client key for all of them.
    config.limits.sessions_per_minute = 1000;
    config.limits.sockets_per_client = 1000;
    config
}

/// A server with `sam` (intervenor) and `alex` (supervisor).
async fn server(data: &Path) -> TestServer {
    TestServer::start_with(config(data), |state| {
        state
            .accounts
            .add("sam", "Sam", Role::Intervenor, PASSWORD)
            .unwrap();
        state
            .accounts
            .add("alex", "Alex", Role::Supervisor, PASSWORD)
            .unwrap();
    })
    .await
}

async fn on_call(server: &TestServer, api: &Api) -> Console {
    let mut console = Console::connect(&server.ws_url("/console"), &api.token).await;
    api.on_call(true).await;
    console.until("roster").await;
    console
}

/// A youth who asked for a person from the menu.
async fn youth_asking(server: &TestServer) -> (Youth, Value) {
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    youth.choose("menu_parler").await;
    let (handoff, _) = youth.until("handoff").await;
    (youth, handoff)
}

async fn waiting_id(console: &mut Console) -> u64 {
    let items = console
        .queue_where(|items| items.iter().any(|i| i["status"] == "waiting"))
        .await;
    items.iter().find(|i| i["status"] == "waiting").unwrap()["id"]
        .as_u64()
        .unwrap()
}

fn totp_now(secret: &str, ahead: u64) -> String {
    let step = relais::clock::Clock::system().now_secs() / relais::handoff::totp::STEP;
    relais::handoff::totp::code_at(secret, step + ahead).unwrap()
}

/// Logs in with a TOTP code; the token.
async fn login_totp(base: &str, login: &str, password: &str, totp: &str) -> (u16, Option<Api>) {
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/api/login"))
        .json(&json!({"username": login, "password": password, "totp": totp}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let api = body["token"].as_str().map(|token| Api {
        base: base.to_string(),
        client,
        token: token.to_string(),
    });
    (status, api)
}

/// The `relais` binary with arguments and a line of stdin: (success, stdout, stderr).
async fn relais(args: Vec<String>, stdin: &str) -> (bool, String, String) {
    let stdin = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_relais"))
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{stdin}").unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

fn args(list: &[&str], data: &Path) -> Vec<String> {
    let mut out: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    out.push("--data-dir".into());
    out.push(data.display().to_string());
    out
}

#[tokio::test]
async fn a_supervisor_invites_the_invitee_enrols_claims_and_disabling_closes_their_console() {
    let data = tempfile::tempdir().unwrap();
    let server = server(data.path()).await;
    let base = server.http_url("");
    let alex = Api::login(&base, "alex", PASSWORD).await;

    let (status, invite) = alex
        .call(
            Method::POST,
            "/api/staff/invite",
            Some(json!({"login": "nour", "name": "Nour", "role": "intervenor"})),
        )
        .await;
    assert_eq!(status, 201, "{invite}");
    let code = invite["code"].as_str().unwrap().to_string();
    assert_eq!(invite["link"], format!("/intervenants#enrol={code}"));
    let (_, list) = alex.call(Method::GET, "/api/staff", None).await;
    assert_eq!(list["pending"][0]["login"], "nour", "{list}");

    // The invitee opens the link: no login, a TOTP to scan, drawn as a QR code.
    let anonymous = Api {
        base: base.clone(),
        client: reqwest::Client::new(),
        token: String::new(),
    };
    let (status, page) = anonymous
        .call(Method::GET, &format!("/api/enrol/{code}"), None)
        .await;
    assert_eq!(status, 200, "{page}");
    let secret = page["totp_secret"].as_str().unwrap().to_string();
    let uri = page["totp_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/relais:nour?secret="),
        "{uri}"
    );
    assert!(uri.contains(&secret));
    let svg = page["qr_svg"].as_str().unwrap();
    assert!(svg.contains("<svg") && svg.contains("<path"), "{svg}");
    // Opened again, the same secret (a reload does not change what was scanned).
    let (_, again) = anonymous
        .call(Method::GET, &format!("/api/enrol/{code}"), None)
        .await;
    assert_eq!(again["totp_secret"], secret.as_str());

    // A short password and a wrong code are refused with a sentence.
    let (status, body) = anonymous
        .call(
            Method::POST,
            &format!("/api/enrol/{code}"),
            Some(json!({"password": "court", "totp": totp_now(&secret, 0)})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("12 caractères"));
    let (status, _) = anonymous
        .call(
            Method::POST,
            &format!("/api/enrol/{code}"),
            Some(json!({"password": PASSWORD, "totp": "000000x"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, body) = anonymous
        .call(
            Method::POST,
            &format!("/api/enrol/{code}"),
            Some(json!({"password": PASSWORD, "totp": totp_now(&secret, 0)})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    // The code is spent.
    let (status, _) = anonymous
        .call(Method::GET, &format!("/api/enrol/{code}"), None)
        .await;
    assert_eq!(status, 404);

    // Without the TOTP code the login fails; with it, it works.
    let (status, _) = login_totp(&base, "nour", PASSWORD, "").await;
    assert_eq!(status, 401);
    let (status, nour) = login_totp(&base, "nour", PASSWORD, &totp_now(&secret, 1)).await;
    assert_eq!(status, 200);
    let nour = nour.unwrap();
    let mut console = on_call(&server, &nour).await;
    let (mut youth, _) = youth_asking(&server).await;
    let id = waiting_id(&mut console).await;
    let (status, _) = nour.claim(id).await;
    assert_eq!(status, 200);

    // Disabled: the console socket is closed at once, the token is dead, no login.
    let (status, _) = alex
        .call(Method::POST, "/api/staff/nour/disable", None)
        .await;
    assert_eq!(status, 204);
    loop {
        match console.recv().await {
            None => break,
            Some(frame) if frame["type"] == "error" => {
                assert_eq!(frame["code"], "unauthorized", "{frame}")
            }
            Some(_) => continue,
        }
    }
    let (status, _) = nour.call(Method::GET, "/api/me", None).await;
    assert_eq!(status, 401);
    // What they held is back in the queue, and the youth is told they wait again.
    let (connected, _) = youth.until("handoff").await;
    assert_eq!(connected["status"], "connected");
    let (again, _) = youth.until("handoff").await;
    assert_eq!(
        again["status"], "unavailable",
        "nobody else on call: {again}"
    );
    let queue = alex.queue().await;
    assert_eq!(queue[0]["status"], "waiting");
    let (status, _) = login_totp(&base, "nour", PASSWORD, &totp_now(&secret, 1)).await;
    assert_eq!(status, 401, "a disabled account cannot log in");
    let (_, list) = alex.call(Method::GET, "/api/staff", None).await;
    let row = list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["login"] == "nour")
        .unwrap()
        .clone();
    assert_eq!(row["disabled"], true);
    assert_eq!(row["on_call"], false, "off call once disabled: {row}");

    // Enabled again (its TOTP steps of this minute are spent: the list tells).
    let (status, _) = alex
        .call(Method::POST, "/api/staff/nour/enable", None)
        .await;
    assert_eq!(status, 204);
    let (_, list) = alex.call(Method::GET, "/api/staff", None).await;
    assert!(list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["login"] == "nour" && a["disabled"] == false));

    // A supervisor does not lock themselves out.
    let (status, _) = alex
        .call(Method::POST, "/api/staff/alex/disable", None)
        .await;
    assert_eq!(status, 409);
    server.stop().await;
}

#[tokio::test]
async fn password_and_totp_resets_end_logins_and_give_a_new_link() {
    let data = tempfile::tempdir().unwrap();
    let server = server(data.path()).await;
    let base = server.http_url("");
    let alex = Api::login(&base, "alex", PASSWORD).await;
    let sam = Api::login(&base, "sam", PASSWORD).await;
    let mut console = Console::connect(&server.ws_url("/console"), &sam.token).await;

    let (status, reset) = alex
        .call(Method::POST, "/api/staff/sam/reset_password", None)
        .await;
    assert_eq!(status, 201, "{reset}");
    while console.recv().await.is_some() {}
    let (status, _) = sam.call(Method::GET, "/api/me", None).await;
    assert_eq!(status, 401);
    let client = reqwest::Client::new();
    let old = client
        .post(format!("{base}/api/login"))
        .json(&json!({"username": "sam", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401, "the old password stops at once");

    let code = reset["code"].as_str().unwrap();
    let page: Value = client
        .get(format!("{base}/api/enrol/{code}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["purpose"], "password");
    assert_eq!(page["needs_password"], true);
    let secret = page["totp_secret"].as_str().unwrap();
    let new_password = "un tout nouveau mot de passe";
    let done = client
        .post(format!("{base}/api/enrol/{code}"))
        .json(&json!({"password": new_password, "totp": totp_now(secret, 0)}))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 204);
    let (status, _) = login_totp(&base, "sam", new_password, &totp_now(secret, 1)).await;
    assert_eq!(status, 200);

    // Reset TOTP: the old secret is gone; the link enrols a new app, password kept.
    let (status, reset) = alex
        .call(Method::POST, "/api/staff/sam/reset_totp", None)
        .await;
    assert_eq!(status, 201);
    let code = reset["code"].as_str().unwrap();
    let page: Value = client
        .get(format!("{base}/api/enrol/{code}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["needs_password"], false);
    let fresh = page["totp_secret"].as_str().unwrap();
    assert_ne!(fresh, secret);
    let done = client
        .post(format!("{base}/api/enrol/{code}"))
        .json(&json!({"totp": totp_now(fresh, 0)}))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 204);
    let (status, _) = login_totp(&base, "sam", new_password, &totp_now(fresh, 1)).await;
    assert_eq!(status, 200);

    // Role change: the account signs in again with its new role.
    let (status, _) = alex
        .call(
            Method::PUT,
            "/api/staff/sam/role",
            Some(json!({"role": "supervisor"})),
        )
        .await;
    assert_eq!(status, 204);
    let (_, list) = alex.call(Method::GET, "/api/staff", None).await;
    assert!(list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["login"] == "sam" && a["role"] == "supervisor" && a["totp"] == true));
    let (status, _) = alex.call(Method::DELETE, "/api/staff/sam", None).await;
    assert_eq!(status, 204);
    let (status, _) = login_totp(&base, "sam", new_password, &totp_now(fresh, 0)).await;
    assert_eq!(status, 401);
    server.stop().await;
}

#[tokio::test]
async fn an_intervenor_gets_403_on_every_account_route() {
    let data = tempfile::tempdir().unwrap();
    let server = server(data.path()).await;
    let sam = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let routes: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, "/api/staff", None),
        (
            Method::POST,
            "/api/staff/invite",
            Some(json!({"login": "zed", "name": "Zed"})),
        ),
        (Method::DELETE, "/api/staff/alex", None),
        (Method::POST, "/api/staff/alex/disable", None),
        (Method::POST, "/api/staff/alex/enable", None),
        (Method::POST, "/api/staff/alex/reset_password", None),
        (Method::POST, "/api/staff/alex/reset_totp", None),
        (
            Method::PUT,
            "/api/staff/alex/role",
            Some(json!({"role": "intervenor"})),
        ),
        (Method::GET, "/api/audit", None),
        (Method::GET, "/api/audit?format=csv", None),
        (Method::GET, "/api/blocks", None),
        (Method::DELETE, "/api/blocks/1", None),
        (Method::POST, "/api/handoffs/1/monitor", None),
        (
            Method::POST,
            "/api/handoffs/1/whisper",
            Some(json!({"text": "x"})),
        ),
    ];
    for (method, path, body) in routes {
        let (status, answer) = sam.call(method.clone(), path, body).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert!(answer["message"].is_string(), "a sentence: {answer}");
    }
    // Without a token: 401.
    let status = reqwest::get(server.http_url("/api/staff"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    server.stop().await;
}

#[tokio::test]
async fn the_command_line_works_with_the_server_running_and_stopped() {
    let data = tempfile::tempdir().unwrap();
    let server = server(data.path()).await;
    let socket = data.path().join("admin.sock");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "owner only");
    }
    let (ok, out, err) = relais(
        args(
            &["intervenor", "add", "nour", "--name", "Nour"],
            data.path(),
        ),
        PASSWORD,
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out, "account nour created (intervenor)\n");
    // The running server knows the account at once.
    Api::login(&server.http_url(""), "nour", PASSWORD).await;
    let (ok, out, err) = relais(
        args(
            &["report", "--from", "2020-01-01", "--format", "json"],
            data.path(),
        ),
        "",
    )
    .await;
    assert!(ok, "{err}");
    serde_json::from_str::<Value>(&out).expect("a JSON report");
    let (ok, _, err) = relais(
        args(
            &["intervenor", "add", "nour", "--name", "Nour"],
            data.path(),
        ),
        PASSWORD,
    )
    .await;
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    let (ok, _, _) = relais(args(&["intervenor", "remove", "sam"], data.path()), "").await;
    assert!(ok);
    server.stop().await;
    assert!(!socket.exists(), "the socket goes with the server");

    // Stopped: the same commands open the store.
    let (ok, out, err) = relais(
        args(
            &[
                "intervenor",
                "add",
                "lou",
                "--name",
                "Lou",
                "--role",
                "supervisor",
            ],
            data.path(),
        ),
        PASSWORD,
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out, "account lou created (supervisor)\n");
    let (ok, out, _) = relais(args(&["intervenor", "list"], data.path()), "").await;
    assert!(ok);
    let logins: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(logins, ["alex", "lou", "nour"]);
    let (ok, out, err) = relais(
        args(
            &["report", "--from", "2020-01-01", "--format", "csv"],
            data.path(),
        ),
        "",
    )
    .await;
    assert!(ok, "{err}");
    assert!(!out.is_empty());

    // Both ways are in the audit trail, as the command line.
    let store = relais::store::Store::open(data.path()).unwrap();
    let audit = relais::audit::Audit::open(&store, relais::clock::Clock::system(), 365).unwrap();
    let entries = audit.list(&relais::audit::Filter::default(), 100).unwrap();
    let adds: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "account_add")
        .map(|e| (e.actor.as_str(), e.target.as_str()))
        .collect();
    assert_eq!(adds, [("cli", "account:lou"), ("cli", "account:nour")]);
}

#[tokio::test]
async fn the_audit_trail_records_each_action_once_and_never_a_youths_words() {
    const CANARY: &str = "CANARI-AUDIT-7Q3Z";
    let data = tempfile::tempdir().unwrap();
    let server = server(data.path()).await;
    let base = server.http_url("");
    // A failed login, for a real account and for a login that is none.
    let client = reqwest::Client::new();
    for username in ["sam", CANARY] {
        let response = client
            .post(format!("{base}/api/login"))
            .json(&json!({"username": username, "password": "pas le bon mot de passe"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let sam = Api::login(&base, "sam", PASSWORD).await;
    let alex = Api::login(&base, "alex", PASSWORD).await;
    let mut console = on_call(&server, &sam).await;
    let (mut youth, _) = youth_asking(&server).await;
    let id = waiting_id(&mut console).await;
    assert_eq!(sam.claim(id).await.0, 200);
    youth.text(CANARY).await;
    console.until("message").await;
    let (status, _) = sam
        .call(Method::POST, &format!("/api/handoffs/{id}/release"), None)
        .await;
    assert_eq!(status, 204);
    console.send(json!({"type": "claim", "handoff": id})).await;
    console.until("claimed").await;
    let (status, _) = alex
        .call(Method::POST, &format!("/api/handoffs/{id}/monitor"), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = alex
        .call(
            Method::GET,
            "/api/reports?from=2020-01-01&to=2030-01-01&format=csv",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = sam
        .call(
            Method::POST,
            &format!("/api/handoffs/{id}/close"),
            Some(json!({"outcome": "resolved"})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = alex
        .call(
            Method::POST,
            "/api/staff/invite",
            Some(json!({"login": "nour", "name": "Nour"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = sam.call(Method::POST, "/api/logout", None).await;
    assert_eq!(status, 204);

    let (status, entries) = alex.call(Method::GET, "/api/audit?limit=1000", None).await;
    assert_eq!(status, 200);
    let entries = entries.as_array().unwrap();
    let count = |actor: &str, action: &str| {
        entries
            .iter()
            .filter(|e| e["actor"] == actor && e["action"] == action)
            .count()
    };
    let target = format!("handoff:{id}");
    for (actor, action) in [
        ("sam", "login_failed"),
        ("-", "login_failed"),
        ("sam", "login"),
        ("alex", "login"),
        ("sam", "release"),
        ("sam", "close"),
        ("alex", "monitor"),
        ("alex", "stats_export"),
        ("alex", "account_invite"),
        ("sam", "logout"),
    ] {
        assert_eq!(
            count(actor, action),
            1,
            "{actor} {action} once: {entries:?}"
        );
    }
    assert_eq!(count("sam", "claim"), 2, "claimed twice (API, then socket)");
    let close = entries.iter().find(|e| e["action"] == "close").unwrap();
    assert_eq!(close["target"], target.as_str());
    assert_eq!(close["detail"], "resolved");
    assert!(close["at"].as_u64().unwrap() > 0);

    // Filtered and exported; the export is itself recorded.
    let (_, only_sam) = alex
        .call(Method::GET, "/api/audit?actor=sam&action=claim", None)
        .await;
    assert_eq!(only_sam.as_array().unwrap().len(), 2);
    let csv = client
        .get(format!("{base}/api/audit?format=csv&target={target}"))
        .bearer_auth(&alex.token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "at,actor,action,target,detail");
    assert!(lines[1..].iter().all(|l| l.contains(&target)), "{csv}");
    let (_, exports) = alex
        .call(Method::GET, "/api/audit?action=audit_export", None)
        .await;
    assert_eq!(exports.as_array().unwrap().len(), 1);

    // The canary is nowhere in the trail, neither through the API nor on disk.
    let (_, all) = alex.call(Method::GET, "/api/audit?limit=5000", None).await;
    assert!(!all.to_string().contains(CANARY));
    assert!(!csv.contains(CANARY));
    // Every tree as stored, the audit trail's among them.
    server
        .state
        .store
        .export_raw(|entry| -> Result<(), relais::store::StoreError> {
            if let relais::store::RawEntry::Item(_, value) = entry {
                assert!(!String::from_utf8_lossy(value).contains(CANARY));
            }
            Ok(())
        })
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_supervisor_watches_and_whispers_the_youth_sees_nothing_of_it() {
    let data = tempfile::tempdir().unwrap();
    let server = server(data.path()).await;
    let base = server.http_url("");
    let sam = Api::login(&base, "sam", PASSWORD).await;
    let alex = Api::login(&base, "alex", PASSWORD).await;
    let mut console = on_call(&server, &sam).await;
    let mut watcher = Console::connect(&server.ws_url("/console"), &alex.token).await;
    let (mut youth, _) = youth_asking(&server).await;
    let id = waiting_id(&mut console).await;
    assert_eq!(sam.claim(id).await.0, 200);
    let (connected, _) = youth.until("handoff").await;
    assert_eq!(connected["status"], "connected");
    youth.text("bonjour").await;
    console.until("message").await;

    let (status, watching) = alex
        .call(Method::POST, &format!("/api/handoffs/{id}/monitor"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(watching["holder"], "sam");
    assert!(watching["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["text"] == "bonjour"));
    let (watched, _) = console.until("watched").await;
    assert_eq!(watched["by"], json!(["Alex"]));

    // New lines reach the watcher, read-only.
    youth.text("tu es là ?").await;
    let (line, _) = watcher.until("monitor_message").await;
    assert_eq!(line["text"], "tu es là ?");
    assert_eq!(line["from"], "youth");

    let (status, body) = alex
        .call(
            Method::POST,
            &format!("/api/handoffs/{id}/whisper"),
            Some(json!({"text": "MURMURE: demande-lui s'il est en sécurité"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["delivered"], 1);
    let (whisper, _) = console.until("whisper").await;
    assert_eq!(whisper["name"], "Alex");
    assert!(whisper["text"].as_str().unwrap().starts_with("MURMURE"));

    // The youth's next frame is the intervenor's reply: nothing of the watching.
    console
        .send(json!({"type": "reply", "handoff": id, "text": "je suis là"}))
        .await;
    // (The youth's own lines come back to their page as `youth` frames: skipped here.)
    let mut next = youth.recv().await;
    while next["type"] == "youth" {
        next = youth.recv().await;
    }
    assert_eq!(next["type"], "agent", "{next}");
    assert_eq!(next["text"], "je suis là");
    let (echo, _) = watcher.until("monitor_message").await;
    assert_eq!(echo["from"], "agent");

    let (status, _) = alex
        .call(Method::DELETE, &format!("/api/handoffs/{id}/monitor"), None)
        .await;
    assert_eq!(status, 204);
    let (watched, _) = console.until("watched").await;
    assert_eq!(watched["by"], json!([]));
    let (status, _) = alex
        .call(Method::POST, &format!("/api/handoffs/{id}/monitor"), None)
        .await;
    assert_eq!(status, 200);
    let (watched, _) = console.until("watched").await;
    assert_eq!(watched["by"], json!(["Alex"]));
    // The supervisor's last console closes: the holder is told nobody watches.
    watcher.socket.close(None).await.unwrap();
    let (watched, _) = console.until("watched").await;
    assert_eq!(watched["by"], json!([]));

    let mut watcher = Console::connect(&server.ws_url("/console"), &alex.token).await;
    let (status, _) = alex
        .call(Method::POST, &format!("/api/handoffs/{id}/monitor"), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = sam
        .call(
            Method::POST,
            &format!("/api/handoffs/{id}/close"),
            Some(json!({"outcome": "resolved"})),
        )
        .await;
    assert_eq!(status, 204);
    let (ended, _) = watcher.until("monitor_ended").await;
    assert_eq!(ended["handoff"], id);
    let (_, trail) = alex
        .call(
            Method::GET,
            &format!("/api/audit?target=handoff:{id}"),
            None,
        )
        .await;
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "alex")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["monitor", "monitor", "unmonitor", "whisper", "monitor"],
        "newest first"
    );
    assert!(!trail.to_string().contains("MURMURE"));
    server.stop().await;
}

#[tokio::test]
async fn a_conversation_ended_as_abusive_blocks_a_person_but_not_the_flows_or_urgent_help() {
    let data = tempfile::tempdir().unwrap();
    let server = server(data.path()).await;
    let base = server.http_url("");
    let sam = Api::login(&base, "sam", PASSWORD).await;
    let alex = Api::login(&base, "alex", PASSWORD).await;
    let mut console = on_call(&server, &sam).await;
    let (mut youth, _) = youth_asking(&server).await;
    let id = waiting_id(&mut console).await;
    assert_eq!(sam.claim(id).await.0, 200);
    youth.until("handoff").await;
    console
        .send(json!({"type": "close", "handoff": id, "outcome": "abusive"}))
        .await;
    let (ended, _) = youth.until("handoff").await;
    assert_eq!(ended["status"], "ended");

    // The same session asks again: the neutral answer with resources, no request.
    youth.choose("relais:personne").await;
    let (refused, _) = youth.until("handoff").await;
    assert_eq!(refused["status"], "unavailable", "{refused}");
    assert!(!refused["resources"].as_array().unwrap().is_empty());
    assert!(sam.queue().await.is_empty(), "no request made");
    // A new session from the same client key too.
    let mut other = server.youth().await;
    other.hello("fr").await;
    other.until_waiting().await;
    other.choose("menu_parler").await;
    let (refused, _) = other.until("handoff").await;
    assert_eq!(refused["status"], "unavailable");
    // The flows stay open.
    other.send(json!({"type": "restart"})).await;
    let menu = other.until_waiting().await;
    assert!(!menu.is_empty());

    // Urgent help is never refused, blocked or not.
    other.text("il me menace, j'ai peur").await;
    let (urgent, _) = other.until("handoff").await;
    assert_eq!(urgent["urgent"], true);
    assert_eq!(urgent["status"], "waiting", "{urgent}");
    assert_eq!(sam.queue().await.len(), 1);

    // A supervisor sees the block and lifts it; the next request is queued.
    let (_, blocks) = alex.call(Method::GET, "/api/blocks", None).await;
    assert_eq!(blocks[0]["handoff"], id, "{blocks}");
    assert_eq!(blocks[0]["by"], "sam");
    let hours =
        (blocks[0]["until"].as_u64().unwrap() - blocks[0]["since"].as_u64().unwrap()) / 3_600_000;
    assert_eq!(hours, 24);
    let (status, _) = alex
        .call(Method::DELETE, &format!("/api/blocks/{id}"), None)
        .await;
    assert_eq!(status, 204);
    youth.choose("relais:personne").await;
    let (queued, _) = youth.until("handoff").await;
    assert_eq!(queued["status"], "waiting", "{queued}");
    let (_, stats) = alex
        .call(
            Method::GET,
            "/api/reports?from=2020-01-01&to=2030-01-01&format=json",
            None,
        )
        .await;
    assert!(stats.to_string().contains("abusive"), "{stats}");
    assert!(stats.to_string().contains("handoffs_refused"), "{stats}");
    server.stop().await;
}

#[tokio::test]
async fn a_backup_made_while_100_sessions_run_restores_a_session_and_the_queue() {
    let data = tempfile::tempdir().unwrap();
    let server = server(data.path()).await;
    let mut youths = Vec::new();
    for _ in 0..100 {
        let mut youth = server.youth().await;
        youth.hello("fr").await;
        youths.push(youth);
    }
    for youth in youths.iter_mut() {
        youth.until_waiting().await;
    }
    // One walks on (its frames will be resumed); one asks for a person.
    let seen = youths[0].last_seq;
    youths[0].choose("menu_comprendre").await;
    let answer = youths[0].until_waiting().await;
    let token = youths[0].token.clone();
    youths[1].choose("menu_parler").await;
    youths[1].until("handoff").await;
    let waiting = server.state.handoffs.list();
    assert_eq!(waiting.len(), 1);

    let passphrase = data.path().join("../passphrase");
    let keep = tempfile::tempdir().unwrap();
    let passphrase_file = keep.path().join("passphrase");
    std::fs::write(&passphrase_file, "une phrase de passe assez longue\n").unwrap();
    let _ = passphrase;
    let backup = keep.path().join("relais.backup");
    let (ok, out, err) = relais(
        args(
            &[
                "backup",
                "--out",
                backup.to_str().unwrap(),
                "--passphrase-file",
                passphrase_file.to_str().unwrap(),
            ],
            data.path(),
        ),
        "",
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("backup written"), "{out}");
    // The running server went on serving: another turn works.
    youths[2].choose("menu_comprendre").await;
    youths[2].until_waiting().await;
    let bytes = std::fs::read(&backup).unwrap();
    assert!(bytes.starts_with(b"RELAISBK"));
    assert!(
        !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
        "encrypted"
    );
    drop(youths);
    server.stop().await;

    // A wrong passphrase is refused; the right one restores into a new folder.
    let restored = tempfile::tempdir().unwrap();
    let wrong = keep.path().join("wrong");
    std::fs::write(&wrong, "pas la bonne phrase de passe\n").unwrap();
    let (ok, _, err) = relais(
        vec![
            "restore".into(),
            backup.display().to_string(),
            "--data-dir".into(),
            restored.path().display().to_string(),
            "--passphrase-file".into(),
            wrong.display().to_string(),
        ],
        "",
    )
    .await;
    assert!(!ok);
    assert!(err.contains("passphrase is wrong"), "{err}");
    let (ok, _, err) = relais(
        vec![
            "restore".into(),
            backup.display().to_string(),
            "--data-dir".into(),
            restored.path().display().to_string(),
            "--passphrase-file".into(),
            passphrase_file.display().to_string(),
        ],
        "",
    )
    .await;
    assert!(ok, "{err}");

    let server = TestServer::start(config(restored.path())).await;
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
    let alex = Api::login(&server.http_url(""), "alex", PASSWORD).await;
    let queue = alex.queue().await;
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(queue[0]["id"], waiting[0].id);
    assert_eq!(queue[0]["status"], "waiting");
    // New ids never collide with restored ones.
    let (mut newcomer, _) = youth_asking(&server).await;
    let _ = newcomer.socket.close(None).await;
    let queue = alex.queue().await;
    assert_eq!(queue.len(), 2);
    assert!(queue[1]["id"].as_u64().unwrap() > waiting[0].id);
    tokio::time::timeout(PATIENCE, server.stop()).await.unwrap();
}

#[test]
fn the_systemd_unit_is_hardened_and_runs_the_real_command() {
    let unit = std::fs::read_to_string(common::repo_path("deploy/relais.service")).unwrap();
    let value = |key: &str| -> Vec<String> {
        unit.lines()
            .filter_map(|l| l.trim().strip_prefix(&format!("{key}=")))
            .map(str::to_string)
            .collect()
    };
    for (key, expected) in [
        ("User", "relais"),
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("StateDirectory", "relais"),
        ("StateDirectoryMode", "0700"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("UMask", "0077"),
    ] {
        assert_eq!(value(key), [expected], "{key}");
    }
    // ExecStart is a command the CLI accepts.
    let exec = value("ExecStart").pop().unwrap();
    let words: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(words[0], "/usr/local/bin/relais");
    let parsed = std::process::Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(&words[1..])
        .arg("--help")
        .output()
        .unwrap();
    assert!(parsed.status.success(), "{exec}: {parsed:?}");
    assert!(words.contains(&"--data-dir") && words.contains(&"/var/lib/relais"));
    // systemd itself checks the unit where it is installed (the CI image has it):
    // `verify` with ExecStart pointed at the built binary, and the offline security
    // score, which names every setting it cannot parse.
    if Path::new("/usr/bin/systemd-analyze").exists() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("relais.service");
        std::fs::write(
            &local,
            unit.replace("/usr/local/bin/relais", env!("CARGO_BIN_EXE_relais")),
        )
        .unwrap();
        let verify = std::process::Command::new("systemd-analyze")
            .arg("verify")
            .arg(&local)
            .output()
            .unwrap();
        assert!(verify.status.success(), "{verify:?}");
        assert_eq!(
            String::from_utf8_lossy(&verify.stderr),
            "",
            "verify is clean"
        );
        let security = std::process::Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(&local)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&security.stdout).into_owned()
            + &String::from_utf8_lossy(&security.stderr);
        assert!(!report.contains("Failed to parse"), "{report}");
        let level: f64 = report
            .split("Overall exposure level for relais.service: ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level in {report}"));
        assert!(level <= 2.0, "exposure {level}: {report}");
    } else {
        eprintln!("systemd-analyze is not installed here: only the keys were checked");
    }
    let container = std::fs::read_to_string(common::repo_path("deploy/Containerfile")).unwrap();
    assert!(container.matches("FROM ").count() >= 2, "multi-stage");
    assert!(container.contains("USER relais") || container.contains("USER 10001"));
    let proxy = std::fs::read_to_string(common::repo_path("deploy/Caddyfile")).unwrap();
    assert!(proxy.contains("reverse_proxy"));
}

#[tokio::test]
async fn supervisors_can_be_required_to_use_totp() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    config.console.require_totp_supervisors = true;
    let server = TestServer::start_with(config, |state| {
        state
            .accounts
            .add("sam", "Sam", Role::Intervenor, PASSWORD)
            .unwrap();
        state
            .accounts
            .add("alex", "Alex", Role::Supervisor, PASSWORD)
            .unwrap();
    })
    .await;
    let base = server.http_url("");
    let (status, _) = login_totp(&base, "alex", PASSWORD, "").await;
    assert_eq!(status, 401, "a supervisor without TOTP is refused");
    let (status, _) = login_totp(&base, "sam", PASSWORD, "").await;
    assert_eq!(status, 200, "an intervenor is not");
    server.stop().await;
}
