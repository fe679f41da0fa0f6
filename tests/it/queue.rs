//! The handoff queue under a rush: many youths asking for a person at the same
//! moment are each acknowledged (after their request is on disk), and one flush of
//! the store serves many of them instead of one flush each.

use crate::common;
use common::{repo_path, test_config, TestServer};

/// Fifty youths write an urgent phrase at once, with nobody on call: every one of
/// them hears at once that nobody can answer, with the urgent resources, and the
/// queue shows all fifty, urgent, while the store was flushed fewer times than that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_urgent_requests_at_once_share_their_flushes() {
    const YOUTHS: usize = 50;
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &repo_path("flows"));
    config.limits.sessions_per_minute = 10_000;
    config.limits.sockets_per_client = 10_000;
    let server = TestServer::start(config).await;
    let mut youths = Vec::new();
    for _ in 0..YOUTHS {
        let mut youth = server.youth().await;
        youth.hello("fr").await;
        youth.until_waiting().await;
        youths.push(youth);
    }
    let flushes_before = server.state.handoffs.store_flushes();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(YOUTHS));
    let mut asking = tokio::task::JoinSet::new();
    for mut youth in youths {
        let start = start.clone();
        asking.spawn(async move {
            start.wait().await;
            youth.text("je veux mourir").await;
            let (handoff, _) = youth.until("handoff").await;
            handoff
        });
    }
    let mut answers = Vec::new();
    while let Some(answer) = asking.join_next().await {
        answers.push(answer.unwrap());
    }
    assert_eq!(answers.len(), YOUTHS);
    for handoff in &answers {
        assert_eq!(handoff["status"], "unavailable", "{handoff}");
        assert_eq!(handoff["urgent"], true, "{handoff}");
        let resources = handoff["resources"].as_array().cloned().unwrap_or_default();
        assert!(!resources.is_empty(), "with resources: {handoff}");
    }
    let queue = server.state.handoffs.list();
    assert_eq!(queue.len(), YOUTHS);
    assert!(queue.iter().all(|item| item.urgent));
    let flushes = server.state.handoffs.store_flushes() - flushes_before;
    assert!(
        flushes >= 1,
        "each request is flushed before it is acknowledged"
    );
    assert!(
        flushes < YOUTHS as u64,
        "{flushes} flushes for {YOUTHS} requests: one flush should serve several"
    );
    server.stop().await;
}
