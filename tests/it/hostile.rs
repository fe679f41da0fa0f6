//! Hostile clients, while a well-behaved youth is served: floods of frames and of
//! sessions, huge and malformed frames, clients that never finish their handshake or
//! stop answering, guessed resume tokens, and fake requests for a human in bulk.
//! The server stays up, the limits hold, and every turn of the real youth is answered.

use crate::common;
use std::time::{Duration, Instant};

use common::{choice_id, fixture_flows, settle, test_config, TestServer, Youth, PATIENCE};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

/// A chat socket that claims to come from `address` (the server trusts the
/// loopback proxy in these tests), so each attacker is its own client key.
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

/// Reads until the server closes; returns the close code and every error code seen.
async fn drain(youth: &mut Youth) -> (Option<u16>, Vec<String>) {
    let mut codes = Vec::new();
    loop {
        match tokio::time::timeout(PATIENCE, youth.socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                if frame["type"] == "error" {
                    codes.push(frame["code"].as_str().unwrap().to_string());
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                return (frame.map(|f| u16::from(f.code)), codes)
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => return (None, codes),
            Err(_) => panic!("the server should have closed this socket"),
        }
    }
}

/// The well-behaved youth: one turn, timed; the menu and back.
struct Walker {
    youth: Youth,
    menu: Value,
    latencies: Vec<Duration>,
}

impl Walker {
    async fn start(server: &TestServer) -> Self {
        let mut youth = youth_from(server, "198.51.100.1").await;
        youth.hello("fr").await;
        let menu = youth.until_waiting().await.pop().unwrap();
        Self {
            youth,
            menu,
            latencies: Vec::new(),
        }
    }

    /// Picks "Comprendre", then the way back to the menu: two answered turns.
    async fn turn(&mut self) {
        let started = Instant::now();
        self.youth
            .choose(&choice_id(&self.menu, "Comprendre"))
            .await;
        let frames = self.youth.until_waiting().await;
        self.latencies.push(started.elapsed());
        assert!(
            frames[0]["text"].as_str().unwrap().contains("exploitation"),
            "{frames:?}"
        );
        let started = Instant::now();
        self.youth
            .choose(&choice_id(frames.last().unwrap(), "Retour au menu"))
            .await;
        self.menu = self.youth.until_waiting().await.pop().unwrap();
        self.latencies.push(started.elapsed());
    }
}

#[tokio::test]
async fn hostile_clients_do_not_stop_a_youth_from_being_served() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &fixture_flows());
    config.limits.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    config.limits.handshake_timeout_secs = 1;
    config.limits.max_queue = 10;
    let server = TestServer::start(config).await;
    let mut walker = Walker::start(&server).await;

    // 1. A flood of frames on one session: refused with retry_after_ms, then closed.
    let mut flooder = youth_from(&server, "203.0.113.1").await;
    flooder.hello("fr").await;
    flooder.until_waiting().await;
    for _ in 0..100 {
        flooder.text("spam spam spam").await;
    }
    let (code, errors) = drain(&mut flooder).await;
    assert!(errors.iter().any(|c| c == "rate_limited"), "{errors:?}");
    assert_eq!(code, Some(1008), "a flood that goes on is closed");
    walker.turn().await;

    // 2. A flood of new sessions from one client: the limit holds.
    let mut refused = 0;
    for _ in 0..30 {
        let mut attacker = youth_from(&server, "203.0.113.2").await;
        attacker.send(json!({"type": "hello"})).await;
        let first = attacker.recv().await;
        if first["type"] == "error" {
            assert_eq!(first["code"], "rate_limited");
            assert!(first["retry_after_ms"].as_u64().unwrap() > 0);
            refused += 1;
        }
    }
    assert_eq!(refused, 10, "20 new sessions a minute, then refused");
    walker.turn().await;

    // 3. A 1 MiB frame closes that socket (1009), binary frames and invalid UTF-8 are
    // refused, deeply nested JSON is a bad request.
    let mut huge = youth_from(&server, "203.0.113.3").await;
    huge.hello("fr").await;
    huge.send_raw(Message::Text("x".repeat(1024 * 1024).into()))
        .await;
    let (code, _) = drain(&mut huge).await;
    assert!(code == Some(1009) || code.is_none(), "{code:?}");

    let mut odd = youth_from(&server, "203.0.113.4").await;
    odd.hello("fr").await;
    odd.until_waiting().await;
    odd.send_raw(Message::Binary(vec![0xff; 64].into())).await;
    assert_eq!(odd.recv().await["code"], "bad_request");
    let deep = "[".repeat(4000) + &"]".repeat(4000);
    odd.send_raw(Message::Text(deep.into())).await;
    assert_eq!(odd.recv().await["code"], "bad_request");
    odd.send_raw(Message::Frame(Frame::message(
        vec![b'{', 0xc3, 0x28, b'}'],
        OpCode::Data(Data::Text),
        true,
    )))
    .await;
    let (code, _) = drain(&mut odd).await;
    assert_ne!(code, Some(1000), "invalid UTF-8 ends that socket only");
    walker.turn().await;

    // 4. A client that never finishes its HTTP request, and one that never says
    // hello: both are closed by the server.
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /chat HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 256];
    let read = tokio::time::timeout(PATIENCE, slow.read(&mut buffer))
        .await
        .expect("the server hangs up on a slow client");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "closed without an answer: {read:?}"
    );
    let mut silent = youth_from(&server, "203.0.113.5").await;
    let (code, _) = drain(&mut silent).await;
    assert_eq!(code, Some(1008), "no hello in time");
    walker.turn().await;

    // 6. Guessed resume tokens: none resumes anything.
    for attempt in 0..10 {
        let mut guesser = youth_from(&server, &format!("203.0.113.{}", 20 + attempt)).await;
        let guess = format!("{:032}", attempt);
        guesser
            .send(json!({"type": "hello", "resume": {"token": guess, "last_seq": 0}}))
            .await;
        assert_eq!(guesser.recv().await["code"], "unknown_session");
        assert_eq!(guesser.recv().await["resumed"], false);
    }
    walker.turn().await;

    // 7. Fake requests for a human in bulk, from many clients: the queue cap holds
    // and everyone beyond it is still answered with resources.
    let mut fakes = Vec::new();
    for n in 0..15 {
        let mut fake = youth_from(&server, &format!("192.0.2.{n}")).await;
        fake.hello("fr").await;
        fake.until_waiting().await;
        fake.choose("menu_parler").await;
        let (handoff, _) = fake.until("handoff").await;
        assert_eq!(handoff["status"], "unavailable");
        assert!(!handoff["resources"].as_array().unwrap().is_empty());
        fakes.push((fake, handoff));
    }
    let queued = fakes.iter().filter(|(_, h)| h["position"].is_u64()).count();
    assert_eq!(queued, 10, "the queue cap holds");
    assert_eq!(server.state.handoffs.list().len(), 10);
    walker.turn().await;

    // The real youth was answered every time; the server is up.
    assert_eq!(walker.latencies.len(), 12);
    let mut sorted = walker.latencies.clone();
    sorted.sort();
    println!(
        "well-behaved youth: {} turns under attack, median {:?}, max {:?}",
        sorted.len(),
        sorted[sorted.len() / 2],
        sorted.last().unwrap()
    );
    let health = reqwest::get(server.http_url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn sockets_per_client_and_origins_are_capped() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &fixture_flows());
    config.limits.sockets_per_client = 3;
    config.console.chat_partner_origins = vec!["https://partenaire.example".into()];
    let server = TestServer::start(config).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut youth = server.youth().await;
        youth.hello("fr").await;
        open.push(youth);
    }
    let mut fourth = server.youth().await;
    let busy = fourth.recv().await;
    assert_eq!(busy["code"], "server_busy", "{busy}");
    assert_eq!(fourth.closed().await, Some(1013));

    // A page from another site may not open the chat; a partner may.
    let with_origin = |origin: &str| {
        let mut request = server.ws_url("/chat").into_client_request().unwrap();
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        request
    };
    let refused = tokio_tungstenite::connect_async(with_origin("https://ailleurs.example")).await;
    assert!(refused.is_err(), "a foreign origin is refused");
    drop(open.pop());
    let (mut partner, _) =
        tokio_tungstenite::connect_async(with_origin("https://partenaire.example"))
            .await
            .expect("a partner origin is accepted");
    partner
        .send(Message::Text(json!({"type": "hello"}).to_string().into()))
        .await
        .unwrap();
    server.stop().await;
}

/// With tokio's clock paused, the server's idle timers run in virtual time: no
/// real waiting, and the socket never reads (so it never answers a ping).
#[tokio::test(start_paused = true)]
async fn a_half_open_socket_is_closed_and_stays_resumable() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(data.path(), &fixture_flows())).await;
    let mut half_open = server.youth().await;
    half_open.hello("fr").await;
    half_open.until_waiting().await;
    let token = half_open.token.clone();
    // It reads the first turn, then stops reading: no pong goes back. The server detaches it after a silent minute.
    let sessions = server.state.sessions.clone();
    // Time moves in the server's steps: a ping after 30 s, the close at 60 s.
    tokio::time::advance(Duration::from_secs(30)).await;
    settle().await;
    tokio::time::advance(Duration::from_secs(29)).await;
    settle().await;
    assert_eq!(sessions.attached(), 1, "not closed before a silent minute");
    tokio::time::advance(Duration::from_secs(2)).await;
    settle().await;
    let (code, _) = drain(&mut half_open).await;
    assert_eq!(code, Some(1001));
    let mut back = server.youth().await;
    back.send(json!({"type": "hello", "resume": {"token": token, "last_seq": 0}}))
        .await;
    assert_eq!(back.recv().await["resumed"], true);
    server.stop().await;
}
