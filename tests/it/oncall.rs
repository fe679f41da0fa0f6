//! Reaching the on-call intervenor who is not watching (issue 15), over real sockets:
//! Web Push end to end against a local push receiver (VAPID JWT checked, RFC 8291
//! payload decrypted, 404/410 and logout remove the subscription), the signed pager
//! webhook with retries, escalation and abandonment in virtual time, the "next
//! opening" sentence across a weekday, a holiday and a daylight-saving change, the
//! honest queue (caps never refuse urgent; refused youths told the truth; one address
//! holds only its share), and the words a youth types while waiting.

use crate::common;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{fixture_flows, settle, test_config, Api, Console, TestServer, Youth, PATIENCE};
use p256::ecdsa::signature::Verifier;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use relais::clock::Clock;
use relais::config::Config;
use relais::store::records::Role;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PASSWORD: &str = "un mot de passe assez long";
const SECRET: &str = "le secret partagé du webhook";

// ------------------------------------------------------------------ receivers

/// One request a local receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
    /// The server's clock when it arrived (virtual in paused tests).
    at_ms: u64,
    real: Instant,
}

#[derive(Clone)]
struct Receiver {
    tx: mpsc::UnboundedSender<Received>,
    /// The status answered to push requests.
    status: Arc<AtomicU16>,
    /// Webhook: attempts per delivery id; the first two of each get 500.
    attempts: Arc<Mutex<HashMap<String, u32>>>,
    clock: Clock,
}

async fn receive(
    State(receiver): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let path = uri.path().to_string();
    let status = if path.starts_with("/hook") {
        let id = headers
            .get("x-relais-delivery")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut attempts = receiver.attempts.lock().unwrap();
        let n = attempts.entry(id).or_insert(0);
        *n += 1;
        if *n <= 2 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    } else {
        StatusCode::from_u16(receiver.status.load(Ordering::SeqCst)).unwrap()
    };
    let _ = receiver.tx.send(Received {
        path,
        headers,
        body,
        at_ms: receiver.clock.now_ms(),
        real: Instant::now(),
    });
    status
}

/// A local HTTP receiver for push services and the webhook.
async fn start_receiver(clock: Clock) -> (String, Receiver, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let receiver = Receiver {
        tx,
        status: Arc::new(AtomicU16::new(201)),
        attempts: Arc::new(Mutex::new(HashMap::new())),
        clock,
    };
    let app = axum::Router::new()
        .fallback(axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, receiver, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("the receiver gets a request in time")
        .expect("the receiver is alive")
}

/// A device: its own P-256 key pair and auth secret, and an endpoint at the receiver.
struct Device {
    secret: p256::SecretKey,
    auth: [u8; 16],
    endpoint: String,
}

impl Device {
    fn new(base: &str, name: &str) -> Self {
        let secret = loop {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                break secret;
            }
        };
        let mut auth = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut auth);
        Self {
            secret,
            auth,
            endpoint: format!("{base}/push/{name}"),
        }
    }

    fn subscription(&self) -> Value {
        let public = self.secret.public_key().to_encoded_point(false);
        json!({
            "endpoint": self.endpoint,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(public.as_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            },
            "lang": "fr",
        })
    }

    /// Decrypts a push message (RFC 8291) to its JSON payload.
    fn open(&self, received: &Received) -> Value {
        assert_eq!(received.headers["content-encoding"], "aes128gcm");
        let plain = web_push_native::decrypt(
            received.body.to_vec(),
            &self.secret,
            &web_push_native::Auth::clone_from_slice(&self.auth),
        )
        .expect("the payload decrypts with the device's keys");
        serde_json::from_slice(&plain).expect("a JSON payload")
    }
}

/// Checks the VAPID header (RFC 8292): ES256 JWT for the receiver's origin, not
/// expired, at most 24 h, signed by the key the server publishes. Returns the claims.
fn check_vapid(received: &Received, origin: &str, public_key: &str, now_secs: u64) -> Value {
    let header = received.headers["authorization"].to_str().unwrap();
    let rest = header.strip_prefix("vapid ").expect("vapid scheme");
    let mut token = "";
    let mut key = "";
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(t) = part.strip_prefix("t=") {
            token = t;
        }
        if let Some(k) = part.strip_prefix("k=") {
            key = k;
        }
    }
    assert_eq!(key, public_key, "k= is the server's VAPID public key");
    let pieces: Vec<&str> = token.split('.').collect();
    assert_eq!(pieces.len(), 3, "a JWT");
    let jwt_header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(pieces[0]).unwrap()).unwrap();
    assert_eq!(jwt_header["alg"], "ES256");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(pieces[1]).unwrap()).unwrap();
    assert_eq!(
        claims["aud"], origin,
        "audience is the push service's origin"
    );
    let exp = claims["exp"].as_u64().unwrap();
    assert!(
        exp > now_secs && exp <= now_secs + 24 * 3600,
        "exp {exp} vs {now_secs}"
    );
    assert!(claims["sub"].as_str().unwrap().starts_with("mailto:"));
    let verifying =
        p256::ecdsa::VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(key).unwrap()).unwrap();
    let signature =
        p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(pieces[2]).unwrap()).unwrap();
    verifying
        .verify(
            format!("{}.{}", pieces[0], pieces[1]).as_bytes(),
            &signature,
        )
        .expect("the JWT signature verifies");
    claims
}

/// Checks a webhook call's signature like a receiver would.
fn check_signature(received: &Received) {
    let timestamp = received.headers["x-relais-timestamp"].to_str().unwrap();
    let signature = received.headers["x-relais-signature"].to_str().unwrap();
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&received.body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(signature, format!("sha256={hex}"), "the signature verifies");
}

// ------------------------------------------------------------------ servers and people

fn config(data: &std::path::Path) -> Config {
    let mut config = test_config(data, &fixture_flows());
    config.handoff.push.allow_insecure_endpoints = true;
    config.limits.sessions_per_minute = 10_000;
    config.limits.sockets_per_client = 10_000;
    config
}

async fn start(config: Config, clock: Clock) -> TestServer {
    TestServer::start_at(config, clock, |state| {
        state
            .accounts
            .add("sam", "Sam", Role::Intervenor, PASSWORD)
            .unwrap();
        state
            .accounts
            .add("alex", "Alex", Role::Supervisor, PASSWORD)
            .unwrap();
        state
            .accounts
            .add("bea", "Béa", Role::Intervenor, PASSWORD)
            .unwrap();
        state
            .accounts
            .add("noe", "Noé", Role::Intervenor, PASSWORD)
            .unwrap();
    })
    .await
}

async fn subscribe(api: &Api, device: &Device) {
    let (status, body) = api
        .call(
            Method::PUT,
            "/api/push/subscription",
            Some(device.subscription()),
        )
        .await;
    assert_eq!(status, 204, "{body}");
}

async fn public_key(api: &Api) -> String {
    let (status, body) = api.call(Method::GET, "/api/push", None).await;
    assert_eq!(status, 200);
    body["public_key"].as_str().unwrap().to_string()
}

/// A youth whose words trigger the urgent path.
async fn urgent_youth(server: &TestServer) -> (Youth, Value) {
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    youth.text("il me menace, j'ai peur").await;
    let (told, _) = youth.until("handoff").await;
    assert_eq!(told["urgent"], true, "{told}");
    (youth, told)
}

/// A youth who asks for a person from the menu, from a given address (the server
/// trusts 127.0.0.1 as a proxy in these tests).
async fn asking_from(server: &TestServer, address: &str) -> (Youth, Value) {
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
    youth.hello("fr").await;
    youth.until_waiting().await;
    youth.choose("menu_parler").await;
    let (told, _) = youth.until("handoff").await;
    (youth, told)
}

/// Reads until a handoff frame with this status.
async fn handoff_status(youth: &mut Youth, status: &str) -> Value {
    loop {
        let (told, _) = youth.until("handoff").await;
        if told["status"] == status {
            return told;
        }
    }
}

async fn counted(server: &TestServer, metric: &str, label: &str) -> u64 {
    server.state.stats.flush(&server.state.store).unwrap();
    server
        .state
        .store
        .counts("0000-00-00", "9999-99-99")
        .unwrap()
        .into_iter()
        .filter(|(_, m, l, _)| m == metric && l == label)
        .map(|(_, _, _, n)| n)
        .sum()
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn an_urgent_request_is_pushed_encrypted_and_signed_within_a_second() {
    let data = tempfile::tempdir().unwrap();
    let clock = Clock::system();
    let (base, receiver, mut rx) = start_receiver(clock).await;
    let server = start(config(data.path()), clock).await;
    let sam = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    sam.on_call(true).await;
    let key = public_key(&sam).await;
    let phone = Device::new(&base, "phone");
    subscribe(&sam, &phone).await;

    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    // From the urgent words leaving the youth's socket to the push service's receipt.
    let asked = Instant::now();
    youth.text("il me menace, j'ai peur").await;
    let pushed = next(&mut rx).await;
    let latency = pushed.real - asked;
    println!(
        "push latency (urgent words sent -> push received): {} ms",
        latency.as_millis()
    );
    let (told, _) = youth.until("handoff").await;
    assert_eq!(told["urgent"], true);
    assert!(latency < Duration::from_secs(1), "pushed in {latency:?}");
    assert_eq!(pushed.path, "/push/phone");
    assert_eq!(pushed.headers["urgency"], "high");
    assert!(pushed.headers.contains_key("ttl"));
    check_vapid(&pushed, &base, &key, clock.now_secs());
    let payload = phone.open(&pushed);
    assert_eq!(
        payload["body"],
        "Demande urgente en attente · 1 dans la file"
    );
    assert_eq!(payload["url"], "/intervenants#file");
    let text = payload.to_string();
    assert!(!text.contains("menace") && !text.contains("peur"), "{text}");

    // Words typed while waiting never go into a notification either.
    youth.text("SECRET-MARKER il est devant ma porte").await;
    receiver.status.store(410, Ordering::SeqCst);
    let (status, body) = sam.call(Method::POST, "/api/push/test", None).await;
    assert_eq!((status, body["devices"].as_u64()), (200, Some(1)));
    let gone = next(&mut rx).await;
    assert!(!phone.open(&gone).to_string().contains("SECRET-MARKER"));
    // 410: the subscription is removed.
    let mut devices = 1;
    for _ in 0..100 {
        devices = server
            .state
            .oncall
            .push
            .as_ref()
            .unwrap()
            .all()
            .unwrap()
            .len();
        if devices == 0 {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(devices, 0, "a 410 removes the subscription");

    // 404 too; and a logout removes this device's subscription.
    receiver.status.store(404, Ordering::SeqCst);
    subscribe(&sam, &phone).await;
    let (_, body) = sam.call(Method::POST, "/api/push/test", None).await;
    assert_eq!(body["devices"], 1);
    next(&mut rx).await;
    let push = server.state.oncall.push.clone().unwrap();
    for _ in 0..100 {
        if push.all().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        push.all().unwrap().is_empty(),
        "a 404 removes the subscription"
    );
    subscribe(&sam, &phone).await;
    assert_eq!(push.all().unwrap().len(), 1);
    let (status, _) = sam.call(Method::POST, "/api/logout", None).await;
    assert_eq!(status, 204);
    assert!(push.all().unwrap().is_empty(), "logout removes it");

    // A subscription must be a real one.
    let sam = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let (status, _) = sam
        .call(
            Method::PUT,
            "/api/push/subscription",
            Some(json!({"endpoint": "ftp://x", "keys": {"p256dh": "AA", "auth": "AA"}})),
        )
        .await;
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn the_vapid_key_is_made_once_and_kept() {
    let data = tempfile::tempdir().unwrap();
    let server = start(config(data.path()), Clock::system()).await;
    let sam = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let first = public_key(&sam).await;
    server.stop().await;
    assert!(data.path().join("vapid.key").exists());
    let store = relais::store::Store::open(data.path()).unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let state =
        relais::server::AppState::with_store(config(data.path()), store, Clock::system(), rx)
            .unwrap();
    assert_eq!(state.oncall.push.as_ref().unwrap().public_key(), first);
}

#[tokio::test(start_paused = true)]
async fn the_webhook_is_signed_retried_and_delivered_once_per_event() {
    let data = tempfile::tempdir().unwrap();
    let clock = Clock::system();
    let (base, receiver, mut rx) = start_receiver(clock).await;
    let mut config = config(data.path());
    config.handoff.urgent_webhook = Some(format!("{base}/hook"));
    config.handoff.webhook_secret = Some(SECRET.into());
    config.handoff.long_wait_mins = 0;
    let server = start(config, clock).await;

    // Nobody on call: an urgent request pages at once, and says nobody is on call.
    let (_youth, told) = urgent_youth(&server).await;
    assert_eq!(told["status"], "unavailable");
    let mut delivered: HashMap<String, Value> = HashMap::new();
    let mut attempts = 0;
    while delivered.len() < 2 {
        let got = next(&mut rx).await;
        attempts += 1;
        check_signature(&got);
        let body: Value = serde_json::from_slice(&got.body).unwrap();
        assert!(!body.to_string().contains("menace"), "{body}");
        let id = body["id"].as_str().unwrap().to_string();
        let tries = receiver.attempts.lock().unwrap()[&id];
        if tries == 3 {
            assert!(
                delivered.insert(id, body).is_none(),
                "one delivery per event"
            );
        }
    }
    assert_eq!(attempts, 6, "two refusals then one success, for each event");
    let mut kinds: Vec<&str> = delivered
        .values()
        .map(|b| b["event"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["nobody_on_call", "urgent_waiting"]);
    let urgent = delivered
        .values()
        .find(|b| b["event"] == "urgent_waiting")
        .unwrap();
    assert_eq!(
        (
            urgent["urgent"].as_bool(),
            urgent["urgent_waiting"].as_u64()
        ),
        (Some(true), Some(1))
    );

    // Nothing more comes for these events, however long we wait.
    tokio::time::advance(Duration::from_secs(600)).await;
    tokio::task::yield_now().await;
    assert!(rx.try_recv().is_err(), "no delivery after success");
    server.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_unclaimed_urgent_request_escalates_on_time() {
    let data = tempfile::tempdir().unwrap();
    let clock = Clock::system();
    let (base, _receiver, mut rx) = start_receiver(clock).await;
    let mut config = config(data.path());
    config.handoff.backup_logins = vec!["bea".into()];
    config.handoff.urgent_webhook = Some(format!("{base}/hook"));
    config.handoff.webhook_secret = Some(SECRET.into());
    config.handoff.long_wait_mins = 0;
    // The test's youth reads only when it must; its socket stays open meanwhile.
    config.limits.idle_socket_secs = 100_000;
    let server = start(config, clock).await;
    let sam = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let _console = Console::connect(&server.ws_url("/console"), &sam.token).await;
    sam.on_call(true).await;
    let mut devices = HashMap::new();
    for login in ["sam", "alex", "bea", "noe"] {
        let api = if login == "sam" {
            Api::login(&server.http_url(""), "sam", PASSWORD).await
        } else {
            Api::login(&server.http_url(""), login, PASSWORD).await
        };
        let device = Device::new(&base, login);
        subscribe(&api, &device).await;
        devices.insert(format!("/push/{login}"), device);
    }

    let asked_ms = clock.now_ms();
    let (mut youth, told) = urgent_youth(&server).await;
    assert_eq!(told["status"], "waiting");
    let first = next(&mut rx).await;
    assert_eq!(first.path, "/push/sam", "at once, to whoever is on call");
    assert!(first.at_ms - asked_ms < 1000);

    // Nothing more before 60 s; then pushed again to sam, and to the supervisor and
    // the backup list. (Virtual time moves only when the test says so.)
    tokio::time::advance(Duration::from_secs(59)).await;
    settle().await;
    assert!(rx.try_recv().is_err(), "nothing before 60 s");
    tokio::time::advance(Duration::from_secs(1)).await;
    let mut escalated = Vec::new();
    while escalated.len() < 3 {
        let got = next(&mut rx).await;
        assert!(
            got.path.starts_with("/push/"),
            "no webhook before 180 s: {}",
            got.path
        );
        let waited = got.at_ms - asked_ms;
        assert!(
            (60_000..61_000).contains(&waited),
            "escalated after {waited} ms"
        );
        let payload = devices[&got.path].open(&got);
        assert_eq!(
            payload["body"],
            "Toujours sans réponse : demande urgente · 1 dans la file"
        );
        escalated.push(got.path);
    }
    escalated.sort();
    assert_eq!(escalated, ["/push/alex", "/push/bea", "/push/sam"]);
    let (told, _) = youth.until("handoff").await;
    assert!(
        told["message"]
            .as_str()
            .unwrap()
            .contains("d'autres membres de l'équipe"),
        "{told}"
    );
    assert_eq!(told["position"], 1);

    // 180 s: the webhook.
    tokio::time::advance(Duration::from_secs(119)).await;
    settle().await;
    assert!(rx.try_recv().is_err(), "no webhook before 180 s");
    tokio::time::advance(Duration::from_secs(1)).await;
    let hook = loop {
        let got = next(&mut rx).await;
        if got.path.starts_with("/hook") {
            break got;
        }
    };
    let waited = hook.at_ms - asked_ms;
    assert!(
        (180_000..181_000).contains(&waited),
        "paged after {waited} ms"
    );
    let body: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(body["event"], "urgent_waiting");
    let (told, _) = youth.until("handoff").await;
    assert!(
        told["message"]
            .as_str()
            .unwrap()
            .contains("alerte à l'équipe de garde"),
        "{told}"
    );
    assert_eq!(counted(&server, "handoffs_escalated", "urgent").await, 1);
    assert_eq!(counted(&server, "handoffs_paged", "urgent").await, 1);
    assert_eq!(counted(&server, "handoffs_pushed", "urgent").await, 1);
    server.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_request_whose_youth_left_leaves_the_queue() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    config.handoff.abandoned_after_secs = 600;
    let server = start(config, Clock::system()).await;
    let sam = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let (mut youth, _) = asking_from(&server, "20.1.0.1").await;
    let token = youth.token.clone();
    let seen = youth.last_seq;
    youth.socket.close(None).await.unwrap();
    assert_eq!(sam.queue().await.len(), 1);
    let start = tokio::time::Instant::now();
    while !sam.queue().await.is_empty() {
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(start.elapsed() < Duration::from_secs(700), "still queued");
    }
    assert!(
        start.elapsed() >= Duration::from_secs(600),
        "not before its time"
    );
    // The youth comes back and reads why, with resources.
    let mut back = server.youth().await;
    back.send(json!({"type": "hello", "resume": {"token": token, "last_seq": seen}}))
        .await;
    let ended = handoff_status(&mut back, "ended").await;
    assert!(ended["message"]
        .as_str()
        .unwrap()
        .contains("quitté la file"));
    assert!(!ended["resources"].as_array().unwrap().is_empty());
    assert_eq!(counted(&server, "outcomes", "abandoned").await, 1);
    server.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_next_opening_is_told_across_a_holiday_and_a_daylight_saving_change() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    let s = &mut config.handoff.schedule;
    for day in [
        &mut s.monday,
        &mut s.tuesday,
        &mut s.wednesday,
        &mut s.thursday,
        &mut s.friday,
    ] {
        *day = "18:00-23:00".into();
    }
    s.sunday = "13:00-17:00".into();
    s.exceptions = vec!["2026-03-09 closed".into()];
    // Saturday 7 March 2026, 23:00 in Montréal (EST, UTC-5).
    let saturday = 1_772_942_400_000;
    let server = start(config, Clock::starting_at(saturday)).await;
    let (_a, told) = asking_from(&server, "20.2.0.1").await;
    assert_eq!(told["status"], "unavailable");
    let message = told["message"].as_str().unwrap();
    assert!(
        message.contains(
            "Une personne est habituellement là de 13 h à 17 h. Prochaine ouverture : demain à 13 h."
        ),
        "{message}"
    );
    // 24 hours later the clocks have gone forward: it is Monday 0:00 (EDT), a holiday.
    tokio::time::advance(Duration::from_secs(24 * 3600)).await;
    let (_b, told) = asking_from(&server, "20.3.0.1").await;
    let message = told["message"].as_str().unwrap();
    assert!(
        message.contains(
            "Une personne est habituellement là de 18 h à 23 h. Prochaine ouverture : demain à 18 h."
        ),
        "{message}"
    );
    assert!(message.ends_with("tout de suite :"), "{message}");
    server.stop().await;
}

#[tokio::test]
async fn the_queue_never_refuses_urgent_and_tells_the_refused_the_truth() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    config.limits.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    // 250 requests in a few seconds: above the ceiling for everyone (security review
    // M1), which this test is not about.
    config.limits.handoffs_per_minute_all = 1000;
    let server = start(config, Clock::system()).await;
    let sam = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let mut console = Console::connect(&server.ws_url("/console"), &sam.token).await;
    sam.on_call(true).await;
    console.until("roster").await;

    let mut queued = 0;
    let mut refused = Vec::new();
    for i in 0..250 {
        let address = format!("{}.{}.0.1", 20 + i / 100, i % 100);
        let (mut youth, told) = asking_from(&server, &address).await;
        match told["position"].as_u64() {
            Some(_) => {
                assert_eq!(told["status"], "waiting");
                queued += 1;
            }
            None => refused.push(told),
        }
        youth.socket.close(None).await.unwrap();
    }
    assert_eq!(queued, 200, "the queue holds its 200");
    assert_eq!(refused.len(), 50);
    for told in &refused {
        assert_eq!(told["status"], "unavailable");
        let message = told["message"].as_str().unwrap();
        assert!(message.contains("file d'attente est pleine"), "{message}");
        assert!(!message.contains("reste dans la file"), "{message}");
        assert!(!told["resources"].as_array().unwrap().is_empty());
    }
    let (_urgent, told) = urgent_youth(&server).await;
    assert_eq!(told["status"], "waiting");
    assert_eq!(told["position"], 1, "urgent is queued, first: {told}");
    let queue = sam.queue().await;
    assert_eq!(queue.len(), 201);
    assert_eq!(queue[0]["urgent"], true);
    server.stop().await;
}

#[tokio::test]
async fn one_address_holds_only_its_share_of_the_queue() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    config.limits.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let server = start(config, Clock::system()).await;
    let sam = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let _console = Console::connect(&server.ws_url("/console"), &sam.token).await;
    sam.on_call(true).await;
    let mut youths = Vec::new();
    for _ in 0..3 {
        let (youth, told) = asking_from(&server, "30.0.0.7").await;
        assert_eq!(told["status"], "waiting", "{told}");
        youths.push(youth);
    }
    let (_fourth, told) = asking_from(&server, "30.0.0.7").await;
    assert_eq!(told["status"], "unavailable");
    assert!(told["position"].is_null());
    assert!(
        told["message"]
            .as_str()
            .unwrap()
            .contains("viennent déjà de ta connexion"),
        "{told}"
    );
    // Another address is not held back, and urgent never is.
    let (_other, told) = asking_from(&server, "31.0.0.8").await;
    assert_eq!(told["status"], "waiting");
    assert_eq!(sam.queue().await.len(), 4);
    assert_eq!(counted(&server, "handoffs_refused", "client_cap").await, 1);
    server.stop().await;
}

#[tokio::test]
async fn words_typed_while_waiting_reach_the_console_and_the_claim() {
    let data = tempfile::tempdir().unwrap();
    let server = start(config(data.path()), Clock::system()).await;
    let sam = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let mut console = Console::connect(&server.ws_url("/console"), &sam.token).await;
    sam.on_call(true).await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    youth.text("FIRSTCONV-MARKER mon nom est Zorblax").await;
    youth.until_waiting().await;
    youth.choose("relais:personne").await;
    youth.until("handoff").await;
    let id = console.queue_where(|items| items.len() == 1).await[0]["id"]
        .as_u64()
        .unwrap();
    youth
        .text("WHILE-WAITING il est devant ma porte maintenant")
        .await;
    let (live, _) = console.until("message").await;
    assert_eq!(live["handoff"], id);
    assert_eq!(live["from"], "youth");
    assert_eq!(
        live["text"],
        "WHILE-WAITING il est devant ma porte maintenant"
    );
    let (status, claimed) = sam.claim(id).await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = claimed["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["from"] == "youth")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(
        lines.contains(&"WHILE-WAITING il est devant ma porte maintenant"),
        "{lines:?}"
    );
    // Closed: the next conversation starts with none of these words.
    let (status, _) = sam
        .call(
            Method::POST,
            &format!("/api/handoffs/{id}/close"),
            Some(json!({"outcome": "resolved"})),
        )
        .await;
    assert_eq!(status, 204, "close");
    handoff_status(&mut youth, "ended").await;
    youth.text("SECOND-MARKER bonjour").await;
    youth.until_waiting().await;
    youth.choose("relais:personne").await;
    handoff_status(&mut youth, "waiting").await;
    let queue = sam.queue().await;
    let second = queue[0]["id"].as_u64().unwrap();
    let (_, claimed) = sam.claim(second).await;
    let text = claimed["transcript"].to_string();
    assert!(text.contains("SECOND-MARKER"), "{text}");
    assert!(!text.contains("FIRSTCONV-MARKER"), "{text}");
    assert!(!text.contains("WHILE-WAITING"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn the_address_cap_does_not_count_an_undeclared_local_proxy() {
    // Every youth behind a reverse proxy that is not in limits.trusted_proxies shares
    // its loopback address: a per-address cap would refuse nearly everyone.
    let data = tempfile::tempdir().unwrap();
    let server = start(config(data.path()), Clock::system()).await;
    let sam = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let _console = Console::connect(&server.ws_url("/console"), &sam.token).await;
    sam.on_call(true).await;
    let mut youths = Vec::new();
    for _ in 0..5 {
        let (youth, told) = asking_from(&server, "30.0.0.7").await;
        assert_eq!(told["status"], "waiting", "{told}");
        youths.push(youth);
    }
    assert_eq!(sam.queue().await.len(), 5);
    server.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_schedule_puts_people_on_call_for_their_shift() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    config.handoff.schedule.monday = "18:00-23:00".into();
    config.handoff.schedule.auto_on_call = vec!["sam".into()];
    // Monday 30 November 2026, 17:59 in Montréal.
    let server = start(config, Clock::starting_at(1_796_079_540_000)).await;
    let handoffs = server.state.handoffs.clone();
    settle().await;
    assert!(!handoffs.is_on_call("sam"), "not before the shift");
    tokio::time::advance(Duration::from_secs(61)).await;
    settle().await;
    assert!(handoffs.is_on_call("sam"), "on call at 18:00");
    let sam = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let (status, oncall) = sam.call(Method::GET, "/api/oncall", None).await;
    assert_eq!(status, 200);
    assert_eq!(oncall["on_call"], json!(["Sam"]));
    assert_eq!(oncall["open_now"], true);
    tokio::time::advance(Duration::from_secs(5 * 3600)).await;
    settle().await;
    assert!(!handoffs.is_on_call("sam"), "off call at 23:00");
    server.stop().await;
}

#[tokio::test]
async fn a_webhook_without_a_secret_is_refused_at_start() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    config.handoff.urgent_webhook = Some("https://pager.example.org/relais".into());
    let store = relais::store::Store::open(data.path()).unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let error = relais::server::AppState::with_store(config, store, Clock::system(), rx)
        .err()
        .expect("refused");
    assert!(
        error.to_string().contains("handoff.webhook_secret"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_normal_request_is_pushed_after_its_delay() {
    let data = tempfile::tempdir().unwrap();
    let clock = Clock::system();
    let (base, _receiver, mut rx) = start_receiver(clock).await;
    let mut config = config(data.path());
    config.limits.idle_socket_secs = 100_000;
    let server = start(config, clock).await;
    let sam = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    sam.on_call(true).await;
    let laptop = Device::new(&base, "laptop");
    subscribe(&sam, &laptop).await;
    let asked_ms = clock.now_ms();
    let (_youth, _) = asking_from(&server, "40.0.0.1").await;
    tokio::time::advance(Duration::from_secs(119)).await;
    settle().await;
    assert!(rx.try_recv().is_err(), "not before two minutes");
    tokio::time::advance(Duration::from_secs(1)).await;
    let pushed = next(&mut rx).await;
    let waited = pushed.at_ms - asked_ms;
    assert!(
        (120_000..121_000).contains(&waited),
        "pushed after {waited} ms"
    );
    assert_eq!(pushed.headers["urgency"], "normal");
    assert_eq!(
        laptop.open(&pushed)["body"],
        "Demande en attente · 1 dans la file"
    );
    server.stop().await;
}
