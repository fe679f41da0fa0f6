//! The reports as the Markdown tables of BENCHMARKS.md, and the targets they are held
//! to (issue 10): each function returns text; the binary prints it.

use std::fmt::Write;
use std::time::Duration;

use super::measure::{ms, Summary};
use super::run::{SuitePlan, SuiteReport};
use super::scenario::{HandoffReport, IdleReport, StartReport, TurnReport, UrgentReport};
use super::soak::{SoakReport, SoakSample};
use super::Target;

/// Bot turns per second at the most sessions, flat out, against the floor's round trips.
pub const TARGET_THROUGHPUT_RATIO: f64 = 0.70;
/// p99 of a turn at the most sessions, at half the flat-out rate.
pub const TARGET_P99_AT_HALF: Duration = Duration::from_millis(5);
/// RSS per idle session, in KiB.
pub const TARGET_IDLE_KIB: f64 = 6.0;
/// p99 from an urgent text to its flushed `handoff` frame.
pub const TARGET_URGENT_P99: Duration = Duration::from_millis(20);
/// relais's turns per second flat out at the most sessions, against the peer's.
pub const TARGET_PEER_RATIO: f64 = 10.0;
/// Spawn to `/readyz` answering 200 with the generated script files, at worst.
pub const TARGET_START: Duration = Duration::from_secs(1);

/// Writing to a `String` cannot fail; this keeps the `writeln!`s below short.
macro_rules! line {
    ($out:expr, $($arg:tt)*) => {
        let _ = writeln!($out, $($arg)*);
    };
}

/// The machine the bench runs on: cores and CPU model.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown".into());
    format!("machine: {cores} cores, {model}\n")
}

/// The whole suite: every table, then the targets.
pub fn suite(report: &SuiteReport, plan: &SuitePlan) -> String {
    let mut out = String::new();
    line!(out, "\n### Turns\n");
    out.push_str(&turns_header());
    for turn in &report.turns {
        out.push_str(&turn_row(turn, throughput_ratio(turn, &report.turns)));
    }
    if let Some(skipped) = &report.peer_skipped {
        line!(out, "\nThe peer (Botkit) was skipped: {skipped}.");
    }
    line!(out, "\n### Idle sessions\n");
    out.push_str(&idle_header());
    let floor_idle = report
        .idle
        .iter()
        .find(|r| r.target == Target::Floor)
        .map(IdleReport::per_session);
    for idle in &report.idle {
        let ratio = match (idle.target, floor_idle) {
            (Target::Relais | Target::Botkit, Some(floor)) if floor > 0.0 => {
                Some(idle.per_session() / floor)
            }
            _ => None,
        };
        out.push_str(&idle_row(idle, ratio));
    }
    line!(out, "\n### Urgent requests\n");
    out.push_str(&urgent(&report.urgent, plan.urgent_concurrency));
    line!(
        out,
        "\n### Requests for a person, answered by simulated intervenors\n"
    );
    out.push_str(&handoffs(
        &report.handoffs,
        plan.intervenors,
        plan.handoff_concurrency,
    ));
    line!(out, "\n### Start\n");
    out.push_str(&start(&report.start));
    line!(out, "\n### Against the targets\n");
    out.push_str(&targets(report));
    out
}

/// relais's (or the peer's) turns per second as a share of the floor's round trips,
/// for a flat-out row whose floor row (same session count) is in `all`. At a rate
/// both sides send what they are told, so no ratio.
fn throughput_ratio(report: &TurnReport, all: &[TurnReport]) -> Option<f64> {
    if report.target == Target::Floor || report.rate.is_some() {
        return None;
    }
    let floor = all
        .iter()
        .find(|f| f.target == Target::Floor && f.sessions == report.sessions && f.rate.is_none())?;
    Some(report.turns_per_sec() / floor.turns_per_sec())
}

pub fn turns_header() -> String {
    "| target | sessions | mode | turns/s | ratio to floor | p50 ms | p95 ms | p99 ms | max ms \
     | frames/turn | server CPU (cores) | server CPU µs/turn | bench CPU (cores) | lost | dup | errors | unanswered | handoffs |\n\
     |---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        .to_string()
}

pub fn turn_row(report: &TurnReport, ratio: Option<f64>) -> String {
    let mode = match report.rate {
        Some(rate) => format!("at {rate:.0}/s"),
        None => "flat out".to_string(),
    };
    let latency: &Summary = &report.latency;
    let frames_per_turn = report.tally.frames as f64 / report.turns.max(1) as f64;
    format!(
        "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.1} | {:.2} | {} | {} | {} | {} | {} |\n",
        report.target.name(),
        report.sessions,
        mode,
        report.turns_per_sec(),
        ratio.map_or("".into(), |r| format!("{:.0} %", r * 100.0)),
        ms(latency.p50),
        ms(latency.p95),
        ms(latency.p99),
        ms(latency.max),
        frames_per_turn,
        report.server_cores,
        report.server_cpu_per_turn().as_secs_f64() * 1e6,
        report.bench_cores,
        report.tally.lost,
        report.tally.duplicated,
        report.tally.errors,
        report.unanswered,
        report.tally.handoffs
    )
}

pub fn idle_header() -> String {
    "| target | idle sessions | RSS before (MiB) | RSS after (MiB) | per session (KiB) | ratio to floor | time to open (s) | lost | dup |\n\
     |---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        .to_string()
}

pub fn idle_row(report: &IdleReport, ratio: Option<f64>) -> String {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    format!(
        "| {} | {} | {:.1} | {:.1} | {:.2} | {} | {:.1} | {} | {} |\n",
        report.target.name(),
        report.sessions,
        mib(report.rss_before),
        mib(report.rss_after),
        report.per_session() / 1024.0,
        ratio.map_or("".into(), |r| format!("{r:.2}×")),
        report.open_time.as_secs_f64(),
        report.tally.lost,
        report.tally.duplicated
    )
}

pub fn urgent(report: &UrgentReport, concurrency: usize) -> String {
    let mut out = String::new();
    line!(
        out,
        "| measure | requests | youths at once | p50 ms | p95 ms | p99 ms | max ms |"
    );
    line!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for (name, summary) in [
        ("text → handoff (flushed)", &report.handoff),
        ("text → first bot frame", &report.first_reply),
    ] {
        line!(
            out,
            "| {name} | {} | {concurrency} | {} | {} | {} | {} |",
            summary.count,
            ms(summary.p50),
            ms(summary.p95),
            ms(summary.p99),
            ms(summary.max)
        );
    }
    line!(
        out,
        "\nhandoff statuses: {:?}; failures: {}{}; lost {}, duplicated {}",
        report.statuses,
        report.failures,
        first(&report.first_failure),
        report.tally.lost,
        report.tally.duplicated
    );
    out
}

pub fn handoffs(report: &HandoffReport, intervenors: usize, concurrency: usize) -> String {
    let mut out = String::new();
    line!(
        out,
        "{} conversations completed with {intervenors} intervenors, {concurrency} youths at once; \
         failures: {}{}; console errors: {}{}; lost {}, duplicated {}\n",
        report.completed,
        report.failures,
        first(&report.first_failure),
        report.console_errors,
        first(&report.first_console_error),
        report.tally.lost,
        report.tally.duplicated
    );
    line!(
        out,
        "| measure | samples | p50 ms | p95 ms | p99 ms | max ms |"
    );
    line!(out, "|---|---:|---:|---:|---:|---:|");
    for (name, summary) in [
        (
            "youth `choose` → `handoff` waiting (flushed)",
            &report.request,
        ),
        ("console `claim` → `claimed`", &report.claim),
        (
            "console `reply` → youth's `agent` frame (flushed)",
            &report.reply,
        ),
        (
            "youth `text` → console `message` (flushed)",
            &report.youth_message,
        ),
    ] {
        line!(
            out,
            "| {name} | {} | {} | {} | {} | {} |",
            summary.count,
            ms(summary.p50),
            ms(summary.p95),
            ms(summary.p99),
            ms(summary.max)
        );
    }
    out
}

pub fn start(reports: &[StartReport]) -> String {
    let mut out = String::new();
    line!(out, "| script files | starts | spawn → listening line, p50 / max ms | spawn → /readyz 200, p50 / max ms |");
    line!(out, "|---:|---:|---:|---:|");
    for report in reports {
        line!(
            out,
            "| {} | {} | {} / {} | {} / {} |",
            report.flow_files,
            report.ready.count,
            ms(report.listening.p50),
            ms(report.listening.max),
            ms(report.ready.p50),
            ms(report.ready.max)
        );
    }
    out
}

/// Each target of issue 10, met or missed, from the suite's reports.
pub fn targets(report: &SuiteReport) -> String {
    let mut out = String::new();
    let turns = &report.turns;
    let find = |target: Target, sessions: usize, flat: bool| {
        turns
            .iter()
            .find(|r| r.target == target && r.sessions == sessions && r.rate.is_none() == flat)
    };
    let biggest = turns.iter().map(|r| r.sessions).max().unwrap_or(0);
    if let (Some(relais), Some(floor)) = (
        find(Target::Relais, biggest, true),
        find(Target::Floor, biggest, true),
    ) {
        let ratio = relais.turns_per_sec() / floor.turns_per_sec();
        line!(
            out,
            "- throughput at {biggest} sessions: {:.0} turns/s = {:.0} % of the floor's {:.0} round trips/s (target ≥ {:.0} %): {}",
            relais.turns_per_sec(),
            ratio * 100.0,
            floor.turns_per_sec(),
            TARGET_THROUGHPUT_RATIO * 100.0,
            verdict(ratio >= TARGET_THROUGHPUT_RATIO)
        );
    }
    match (
        find(Target::Relais, biggest, true),
        find(Target::Botkit, biggest, true),
    ) {
        (Some(relais), Some(peer)) => {
            let ratio = relais.turns_per_sec() / peer.turns_per_sec().max(1e-9);
            line!(
                out,
                "- against the peer at {biggest} sessions: {:.0} turns/s = {ratio:.1}× Botkit's {:.0} (target ≥ {TARGET_PEER_RATIO:.0}×): {}; server CPU per turn {:.1} µs against {:.1} µs",
                relais.turns_per_sec(),
                peer.turns_per_sec(),
                verdict(ratio >= TARGET_PEER_RATIO),
                relais.server_cpu_per_turn().as_secs_f64() * 1e6,
                peer.server_cpu_per_turn().as_secs_f64() * 1e6
            );
        }
        _ => {
            line!(
                out,
                "- against the peer: not measured ({})",
                report.peer_skipped.as_deref().unwrap_or("no peer row")
            );
        }
    }
    if let Some(half) = find(Target::Relais, biggest, false) {
        line!(
            out,
            "- p99 at {biggest} sessions at half the max throughput: {} ms (target ≤ {} ms): {}",
            ms(half.latency.p99),
            TARGET_P99_AT_HALF.as_millis(),
            verdict(half.latency.p99 <= TARGET_P99_AT_HALF)
        );
    }
    if let Some(relais) = report.idle.iter().find(|r| r.target == Target::Relais) {
        let kib = relais.per_session() / 1024.0;
        line!(
            out,
            "- idle session at {} sessions: {kib:.2} KiB (target ≤ {TARGET_IDLE_KIB} KiB): {}",
            relais.sessions,
            verdict(kib <= TARGET_IDLE_KIB)
        );
    }
    let urgent = &report.urgent;
    line!(
        out,
        "- urgent request p99: {} ms (target ≤ {} ms): {}",
        ms(urgent.handoff.p99),
        TARGET_URGENT_P99.as_millis(),
        verdict(urgent.handoff.count > 0 && urgent.handoff.p99 <= TARGET_URGENT_P99)
    );
    if let Some(start) = report.start.last() {
        line!(
            out,
            "- start with {} script files: {} ms to /readyz at worst (target < {} s): {}",
            start.flow_files,
            ms(start.ready.max),
            TARGET_START.as_secs(),
            verdict(start.ready.max < TARGET_START)
        );
    }
    out
}

/// The soak's table header; its rows come one by one as the samples are taken.
pub fn soak_header(sessions: usize, rate: f64, every: Duration) -> String {
    format!(
        "\n### Soak\n\n{sessions} sessions at {rate:.0} turns/s, a sample every {} s\n\n\
         | at (s) | RSS (MiB) | descriptors | sled on disk (MiB) | turns/s | p99 ms |\n\
         |---:|---:|---:|---:|---:|---:|\n",
        every.as_secs_f64()
    )
}

pub fn soak_row(sample: &SoakSample) -> String {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    format!(
        "| {:.0} | {:.1} | {} | {:.2} | {:.0} | {} |\n",
        sample.at.as_secs_f64(),
        mib(sample.rss),
        sample.descriptors,
        mib(sample.disk),
        sample.turns_per_sec,
        ms(sample.p99)
    )
}

/// The soak's end: every turn accounted for, and each measure flat or growing.
pub fn soak_verdict(report: &SoakReport) -> String {
    let mut out = String::new();
    line!(
        out,
        "\n{} turns answered (p50 {} ms, p99 {} ms, max {} ms); lost {}, duplicated {}, errors {}, unanswered {}{}\n",
        report.turns,
        ms(report.latency.p50),
        ms(report.latency.p99),
        ms(report.latency.max),
        report.tally.lost,
        report.tally.duplicated,
        report.tally.errors,
        report.unanswered,
        first(&report.first_failure)
    );
    line!(
        out,
        "| measure | middle third | last third | slope per minute | verdict |"
    );
    line!(out, "|---|---:|---:|---:|---|");
    let verdicts = report.verdicts();
    for v in &verdicts {
        let unit = if v.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", v.unit)
        };
        line!(
            out,
            "| {} | {:.2}{unit} | {:.2}{unit} | {:+.3}{unit} | {} |",
            v.measure,
            v.middle,
            v.last,
            v.slope_per_minute,
            match v.grows {
                None => "too few samples",
                Some(true) => "grows",
                Some(false) => "flat",
            }
        );
    }
    let growing: Vec<String> = verdicts
        .iter()
        .filter(|v| v.grows == Some(true))
        .map(|v| format!("{} {:+.3} {}/min", v.measure, v.slope_per_minute, v.unit))
        .collect();
    let verdict = if verdicts.iter().any(|v| v.grows.is_none()) {
        "too short to say (fewer than 3 samples)".to_string()
    } else if growing.is_empty() {
        "flat after warm-up".to_string()
    } else {
        format!("grows: {}", growing.join(", "))
    };
    line!(
        out,
        "\nverdict (last third against the middle third): **{verdict}**"
    );
    let third = report.samples.len() / 3;
    if third > 0 {
        let last = &report.samples[report.samples.len() - third..];
        let kept = last.iter().map(|s| s.turns_per_sec).sum::<f64>() / last.len() as f64;
        line!(
            out,
            "\nturns/s in the last third: {kept:.0} for {:.0} asked{}",
            report.rate,
            if kept < 0.9 * report.rate {
                " (the server fell behind the rate)"
            } else {
                ""
            }
        );
    }
    out
}

fn first(failure: &Option<String>) -> String {
    failure
        .as_ref()
        .map_or(String::new(), |f| format!(" (first: {f})"))
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}
