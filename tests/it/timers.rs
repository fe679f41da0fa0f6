//! The server's timers in virtual time (`start_paused`, `tokio::time::advance`),
//! never waiting for real: the long-wait notice of a request nobody takes, a console
//! token's idle and absolute lifetimes, a session's idle expiry taking its request
//! out of the queue, and the per-session frame limit that refuses a burst and lets
//! the youth write again once its time has passed. Where no socket is needed the
//! router is called directly (`app()` with `oneshot`), which paused time cannot
//! disturb. The escalation timers (push again at 60 s, webhook at 180 s, abandoned
//! requests) are tested the same way in `oncall.rs`, the holder's grace in `ux.rs`,
//! the refused resume of an expired session in `security.rs`.

use crate::common;
use std::time::Duration;

use axum::http::StatusCode;
use common::{call_app, fixture_flows, settle, test_config, Api, TestServer, Youth};
use futures_util::{FutureExt, StreamExt};
use relais::clock::Clock;
use relais::server::AppState;
use relais::store::records::Role;
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "un mot de passe assez long";

/// A server's state (not serving) with one intervenor, `sam`.
fn with_sam(data: &tempfile::TempDir) -> AppState {
    let state = common::app_state(test_config(data.path(), &fixture_flows()), Clock::system());
    state
        .accounts
        .add("sam", "Sam", Role::Intervenor, PASSWORD)
        .unwrap();
    state
}

async fn login(state: &AppState) -> String {
    let (status, body) = call_app(
        state,
        "POST",
        "/api/login",
        None,
        Some(json!({"username": "sam", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_string()
}

#[tokio::test(start_paused = true)]
async fn a_console_token_dies_after_half_an_hour_idle() {
    let data = tempfile::tempdir().unwrap();
    let state = with_sam(&data);
    let token = login(&state).await;
    // Used every 29 minutes, it lives well past 30 minutes after login.
    for _ in 0..3 {
        tokio::time::advance(Duration::from_secs(29 * 60)).await;
        let (status, _) = call_app(&state, "GET", "/api/handoffs", Some(&token), None).await;
        assert_eq!(status, StatusCode::OK, "used within its idle time");
    }
    // Half an hour without a call: gone.
    tokio::time::advance(Duration::from_secs(30 * 60)).await;
    let (status, _) = call_app(&state, "GET", "/api/handoffs", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "idle for 30 minutes");
}

#[tokio::test(start_paused = true)]
async fn a_console_token_dies_twelve_hours_after_login_however_used() {
    let data = tempfile::tempdir().unwrap();
    let state = with_sam(&data);
    let token = login(&state).await;
    let started = Instant::now();
    while started.elapsed() + Duration::from_secs(20 * 60) < Duration::from_secs(12 * 3600) {
        tokio::time::advance(Duration::from_secs(20 * 60)).await;
        let (status, _) = call_app(&state, "GET", "/api/handoffs", Some(&token), None).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "alive after {:?}",
            started.elapsed()
        );
    }
    tokio::time::advance(Duration::from_secs(12 * 3600) - started.elapsed()).await;
    let (status, _) = call_app(&state, "GET", "/api/handoffs", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "twelve hours after login");
    // A new login gives a new token.
    let again = login(&state).await;
    let (status, _) = call_app(&state, "GET", "/api/handoffs", Some(&again), None).await;
    assert_eq!(status, StatusCode::OK);
}

/// Every frame the socket holds now, without waiting.
fn frames_ready(youth: &mut Youth) -> Vec<Value> {
    let mut frames = Vec::new();
    while let Some(Some(Ok(message))) = youth.socket.next().now_or_never() {
        if let Message::Text(text) = message {
            frames.push(serde_json::from_str(text.as_str()).unwrap());
        }
    }
    frames
}

/// A youth who walked to the menu and asked for a person (nobody is on call).
async fn asking(server: &TestServer) -> Youth {
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    youth.choose("menu_parler").await;
    youth.until("handoff").await;
    youth
}

#[tokio::test(start_paused = true)]
async fn a_request_nobody_takes_is_told_about_the_wait_after_five_minutes() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &fixture_flows());
    // The youth reads only when the test says so; its socket stays open meanwhile.
    config.limits.idle_socket_secs = 100_000;
    let server = TestServer::start(config).await;
    let mut youth = asking(&server).await;
    let asked = Instant::now();
    let long_wait = |frames: &[Value]| {
        frames.iter().any(|f| {
            f["type"] == "handoff"
                && f["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("désolé pour l'attente"))
        })
    };

    tokio::time::advance(Duration::from_secs(295)).await;
    settle().await;
    assert!(
        !long_wait(&frames_ready(&mut youth)),
        "nothing before 5 min"
    );

    tokio::time::advance(Duration::from_secs(10)).await;
    let (told, _) = youth.until("handoff").await;
    let waited = asked.elapsed();
    assert!(long_wait(std::slice::from_ref(&told)), "{told}");
    assert!(
        (Duration::from_secs(300)..=Duration::from_secs(306)).contains(&waited),
        "told after {waited:?}"
    );
    assert!(
        !told["resources"].as_array().unwrap().is_empty(),
        "with resources"
    );

    // Once: however long it waits after that, it is not told again.
    tokio::time::advance(Duration::from_secs(600)).await;
    settle().await;
    assert!(!long_wait(&frames_ready(&mut youth)), "told once");
    server.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_session_gone_quiet_past_its_expiry_takes_its_request_out_of_the_queue() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &fixture_flows());
    config.sessions.idle_expiry_secs = 600;
    config.sessions.purge_every_secs = 60;
    config.handoff.abandoned_after_secs = 100_000;
    let server = TestServer::start_with(config, |state| {
        state
            .accounts
            .add("sam", "Sam", Role::Intervenor, PASSWORD)
            .unwrap();
    })
    .await;
    let sam = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    // Virtual time also moves on its own while a round trip on loopback waits (the
    // runtime is idle, so the paused clock jumps to the next timer): elapsed time is
    // read from the clock, not added up from the advances. The session's last
    // activity is after `asked`.
    let asked = tokio::time::Instant::now();
    let mut youth = asking(&server).await;
    youth.socket.close(None).await.unwrap();
    assert_eq!(sam.queue().await.len(), 1);

    tokio::time::advance(Duration::from_secs(540).saturating_sub(asked.elapsed())).await;
    settle().await;
    assert_eq!(sam.queue().await.len(), 1, "kept while the session lives");
    assert!(
        asked.elapsed() < Duration::from_secs(600),
        "the check above ran before the expiry ({:?})",
        asked.elapsed()
    );

    // Past the expiry, the next purge (every minute here) drops the request.
    let mut queue = sam.queue().await;
    while !queue.is_empty() && asked.elapsed() < Duration::from_secs(600 + 180) {
        tokio::time::advance(Duration::from_secs(5)).await;
        settle().await;
        queue = sam.queue().await;
    }
    assert!(
        queue.is_empty(),
        "dropped within three minutes of the expiry: {queue:?}"
    );
    server.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_frames_is_refused_and_the_youth_writes_again_a_moment_later() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &fixture_flows());
    config.limits.frames_per_sec = 1;
    config.limits.frames_burst = 3;
    let server = TestServer::start(config).await;
    let mut youth = server.youth().await;
    youth.hello("fr").await;
    youth.until_waiting().await;
    for _ in 0..4 {
        youth.text("allo").await;
    }
    let (refused, _) = youth.until("error").await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
    let wait = refused["retry_after_ms"].as_u64().unwrap();
    assert!((1..=1000).contains(&wait), "one frame a second: {wait} ms");

    tokio::time::advance(Duration::from_millis(wait)).await;
    youth.text("allo").await;
    let answer = youth.until_waiting().await;
    assert!(
        answer.iter().all(|f| f["type"] != "error"),
        "accepted once the wait is over: {answer:?}"
    );
    server.stop().await;
}
