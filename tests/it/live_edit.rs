//! Live edits of the flows: a broken edit is refused and the last good version
//! keeps serving; a fixed one is picked up without a restart; a conversation
//! already running finishes on the version it started with.

use crate::common;
use common::{choice_id, copy_dir, fixture_flows, test_config, TestServer};
use relais::flow::ReloadOutcome;
use tokio::sync::watch;

/// Waits for the next reload that satisfies `done` (the watcher reports each one).
async fn reload_where(
    reloads: &mut watch::Receiver<ReloadOutcome>,
    done: impl Fn(&ReloadOutcome) -> bool,
) -> ReloadOutcome {
    tokio::time::timeout(common::PATIENCE, reloads.wait_for(|o| done(o)))
        .await
        .expect("the watcher reloads in time")
        .unwrap()
        .clone()
}

#[tokio::test]
async fn broken_edits_are_refused_and_fixed_ones_taken_without_restart() {
    let data = tempfile::tempdir().unwrap();
    let flows = tempfile::tempdir().unwrap();
    copy_dir(&fixture_flows(), flows.path());
    let server = TestServer::start(test_config(data.path(), flows.path())).await;
    let mut reloads = server.state.flows.subscribe();
    let first_version = server.state.flows.current().version.clone();

    // A conversation starts on the first version.
    let mut early = server.youth().await;
    early.hello("fr").await;
    let menu = early.until_waiting().await.pop().unwrap();

    // A broken edit: a jump to a node that does not exist.
    let file = flows.path().join("accueil.flow");
    let original = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, original.replace("-> menu\n", "-> menuu\n")).unwrap();
    let refused = reload_where(&mut reloads, |o| o.refused_errors.is_some()).await;
    assert_eq!(refused.refused_errors, Some(1));
    assert_eq!(
        refused.serving, first_version,
        "the last good version keeps serving"
    );
    let mut during = server.youth().await;
    during.hello("fr").await;
    let frames = during.until_waiting().await;
    assert!(frames[0]["text"].as_str().unwrap().starts_with("Salut!"));

    // The fix, with new words in the welcome and in the "comprendre" node.
    let fixed = original.replace("Salut! Ici,", "Bonjour! Ici,").replace(
        "Ce n'est **jamais** de ta faute.",
        "Ce n'est **jamais, jamais** de ta faute.",
    );
    std::fs::write(&file, fixed).unwrap();
    let taken = reload_where(&mut reloads, |o| {
        o.refused_errors.is_none() && o.serving != first_version
    })
    .await;
    let mut late = server.youth().await;
    late.hello("fr").await;
    let frames = late.until_waiting().await;
    assert!(
        frames[0]["text"].as_str().unwrap().starts_with("Bonjour!"),
        "{frames:?}"
    );
    assert_ne!(taken.serving, first_version);

    // The early conversation is not disturbed: it goes on with its version's words.
    early.choose(&choice_id(&menu, "Comprendre")).await;
    let frames = early.until_waiting().await;
    let said: Vec<&str> = frames.iter().map(|f| f["text"].as_str().unwrap()).collect();
    assert!(said.contains(&"Ce n'est jamais de ta faute."), "{said:?}");
    server.stop().await;
}
