//! A smoke run of the bench (issue 10): the same code `relais-bench` runs (the
//! `relais-bench` crate, a dev-dependency), on a few dozen sessions for a few seconds,
//! against the relais binary and the floor. It checks that nothing is lost, repeated,
//! refused or left unanswered, not speed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use relais_bench::floor::FloorOptions;
use relais_bench::http::wait_serving;
use relais_bench::process::{scratch_dir, start_floor_in_process, start_relais, RelaisSetup};
use relais_bench::run::ASK_FOR_A_PERSON;
use relais_bench::scenario::{
    run_handoffs, run_idle, run_start, run_turns, run_urgent, HandoffPlan, TurnPlan, UrgentPlan,
    URGENT_PHRASE,
};
use relais_bench::soak::{run_soak, SoakPlan};

const SESSIONS: usize = 30;

fn workspace(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn setup(flows_dir: PathBuf) -> RelaisSetup {
    RelaisSetup {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_relais")),
        flows_dir,
        web_dir: workspace("web"),
        scratch_parent: std::env::temp_dir(),
        most_sessions: SESSIONS * 2,
        intervenors: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relais_answers_every_turn_in_order() {
    let server = start_relais(&setup(workspace("flows"))).await.unwrap();
    wait_serving(&server).await.unwrap();

    let flat = TurnPlan {
        sessions: SESSIONS,
        duration: Duration::from_secs(2),
        rate: None,
        echo_frames: 1,
    };
    let report = run_turns(&server, &flat).await.unwrap();
    assert!(report.clean(), "{report:#?}");
    assert!(report.turns >= SESSIONS as u64, "{report:#?}");
    assert!(report.tally.frames >= report.turns, "{report:#?}");

    let paced = TurnPlan {
        rate: Some(60.0),
        duration: Duration::from_secs(1),
        ..flat
    };
    let report = run_turns(&server, &paced).await.unwrap();
    assert!(report.clean(), "{report:#?}");
    assert!(report.turns >= 30, "{report:#?}");

    let idle = run_idle(&server, SESSIONS).await.unwrap();
    assert_eq!(idle.sessions, SESSIONS);
    assert_eq!(
        (idle.tally.lost, idle.tally.duplicated),
        (0, 0),
        "{idle:#?}"
    );
    assert!(idle.rss_after > 0);

    let urgent = run_urgent(
        &server,
        &UrgentPlan {
            count: 6,
            concurrency: 2,
            phrase: URGENT_PHRASE.into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(urgent.failures, 0, "{urgent:#?}");
    assert_eq!(urgent.handoff.count, 6, "{urgent:#?}");
    assert_eq!((urgent.tally.lost, urgent.tally.duplicated), (0, 0));
    assert!(urgent.handoff.p99 >= urgent.first_reply.p50);

    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floor_echoes_every_frame_in_order() {
    let options = FloorOptions {
        echo_frames: 2,
        ..FloorOptions::default()
    };
    // In this process: the `relais-bench` binary belongs to another package, so this
    // crate cannot spawn it; `relais-bench floor` runs the same `floor::serve`.
    let floor = start_floor_in_process(&options).await.unwrap();
    let report = run_turns(
        &floor,
        &TurnPlan {
            sessions: SESSIONS,
            duration: Duration::from_secs(1),
            rate: None,
            echo_frames: 2,
        },
    )
    .await
    .unwrap();
    assert!(report.clean(), "{report:#?}");
    assert_eq!(report.tally.frames, (report.turns + SESSIONS as u64) * 2);
    let idle = run_idle(&floor, SESSIONS).await.unwrap();
    assert_eq!(idle.sessions, SESSIONS);
    floor.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_generated_scripts_check_clean_and_start() {
    let scratch = scratch_dir(&std::env::temp_dir(), "smoke-flows").unwrap();
    let flows = scratch.path().join("flows");
    let generated = relais_bench::flows::generate(&workspace("flows"), &flows, 100).unwrap();
    assert!(generated > 0);
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["flows", "check"])
        .arg(&flows)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let report = run_start(&setup(flows), 1).await.unwrap();
    assert_eq!(report.flow_files, 100);
    assert_eq!(report.ready.count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intervenor_answers_every_request() {
    let password = "smoke-password-for-the-bench";
    let setup = RelaisSetup {
        intervenors: vec![("smoke".into(), "Smoke".into(), password.into())],
        ..setup(workspace("flows"))
    };
    let server = start_relais(&setup).await.unwrap();
    wait_serving(&server).await.unwrap();
    let report = run_handoffs(
        &server,
        &HandoffPlan {
            youths: 4,
            concurrency: 2,
            intervenors: vec![("smoke".into(), password.into())],
            choice: ASK_FOR_A_PERSON.into(),
        },
    )
    .await
    .unwrap();
    assert_eq!((report.completed, report.failures), (4, 0), "{report:#?}");
    assert_eq!(report.console_errors, 0, "{report:#?}");
    assert_eq!((report.claim.count, report.youth_message.count), (4, 4));
    assert_eq!((report.tally.lost, report.tally.duplicated), (0, 0));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_samples_the_server_and_answers_every_turn() {
    let server = start_relais(&setup(workspace("flows"))).await.unwrap();
    wait_serving(&server).await.unwrap();
    let mut streamed = 0;
    let report = run_soak(
        &server,
        &SoakPlan {
            sessions: 10,
            duration: Duration::from_secs(3),
            rate: 40.0,
            every: Duration::from_secs(1),
        },
        |_| streamed += 1,
    )
    .await
    .unwrap();
    server.stop().await.unwrap();
    assert!(report.clean(), "{report:#?}");
    assert!(report.turns >= 10, "{report:#?}");
    assert_eq!(streamed, report.samples.len());
    assert!(report.samples.len() >= 3, "{report:#?}");
    for sample in &report.samples {
        // The server's memory, its listening socket and youths' sockets, its store.
        assert!(sample.rss > 0, "{sample:?}");
        assert!(sample.descriptors >= 10, "{sample:?}");
        assert!(sample.disk > 0, "{sample:?}");
    }
    assert!(report.verdicts().iter().all(|v| v.grows.is_some()));
}
