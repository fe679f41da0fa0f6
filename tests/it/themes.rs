//! Free text understood (issue 23): what a youth writes in their own words leads to
//! its theme, from the phrase lists of `flows/sujets.toml`.
//!
//! - the corpus of `tests/data/themes/` (opening messages typed at the menu) lands
//!   right at least 85 % of the time in each language, the same score
//!   `relais flows themes test` prints;
//! - in the pure engine: urgent words still win, a node's own routes keep priority,
//!   a theme hit is traced (so statistics count it), words nothing knows stay
//!   "not understood";
//! - through a real socket: an opening message typed at the menu reaches its theme.

use std::path::Path;
use std::sync::OnceLock;

use relais::flow::engine::{enter, step, Input, Output, State, Trace};
use relais::flow::load::{build, read_folder};
use relais::flow::model::FlowSet;
use relais::flow::theme_corpus::{self, Report, MIN_ROUTED_RIGHT};

use crate::common;
use common::{repo_path, test_config, TestServer};

fn flows() -> &'static FlowSet {
    static SET: OnceLock<FlowSet> = OnceLock::new();
    SET.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows");
        let report = build(read_folder(&dir).expect("flows/ is readable"), "accueil");
        let errors: Vec<_> = report.errors().map(|d| d.render("en")).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        report.flows.expect("no error, so a flow set")
    })
}

#[test]
fn the_corpus_lands_right_in_each_language() {
    let lines = theme_corpus::read(&repo_path("tests/data/themes")).expect("corpus reads");
    assert!(lines.len() >= 300, "{} messages", lines.len());
    let report = Report::run(flows(), lines);
    for lang in ["fr", "en"] {
        assert!(
            report.share(lang) >= MIN_ROUTED_RIGHT,
            "{lang}: {:.1} %\n{}",
            report.share(lang) * 100.0,
            report.table()
        );
    }
    assert!(report.passes(), "{}", report.table());
}

fn at(node: &str, lang: &str, text: &str) -> (State, relais::flow::engine::Step) {
    let mut state = State {
        lang: lang.into(),
        ..State::default()
    };
    step(flows(), &mut state, Input::Start);
    enter(flows(), &mut state, node);
    let turn = step(flows(), &mut state, Input::Text(text));
    (state, turn)
}

#[test]
fn the_review_examples_reach_their_theme_from_the_menu_and_from_a_theme() {
    for (node, lang, text, theme) in [
        (
            "menu",
            "fr",
            "il veut que je lui envoie des nudes",
            "leurre",
        ),
        (
            "menu",
            "fr",
            "mon chum veut que je fasse des affaires avec ses amis pour de l'argent",
            "recrutement",
        ),
        (
            "sextorsion",
            "fr",
            "il dit qu'il va les mettre sur insta si je paye pas",
            "sextorsion",
        ),
        (
            "menu",
            "en",
            "someone wants money or he will post my pics",
            "sextorsion",
        ),
        ("leurre", "fr", "mes nudes circulent a l'ecole", "images"),
        ("menu", "fr", "bonjour", "menu"),
    ] {
        let (state, turn) = at(node, lang, text);
        assert!(
            turn.trace
                .iter()
                .any(|t| matches!(t, Trace::Theme { node, .. } if node == theme)),
            "{text}: {:?}",
            turn.trace
        );
        assert!(!turn.trace.contains(&Trace::NotUnderstood), "{text}");
        let entered = turn.trace.iter().find_map(|t| match t {
            Trace::Entered(node) => Some(node.as_str()),
            _ => None,
        });
        assert_eq!(entered, Some(theme), "{text}");
        assert!(state.node.is_some(), "{text}: the flow waits at the theme");
    }
}

#[test]
fn urgent_words_win_and_unknown_words_stay_not_understood() {
    // "mes photos" names a theme, but danger comes first.
    let (state, turn) = at(
        "menu",
        "fr",
        "il va me tuer si je lui envoie pas mes photos",
    );
    assert!(turn.urgent_fired(), "{:?}", turn.trace);
    assert_eq!(state.node.as_deref(), Some("urgence"));
    assert!(!turn.trace.iter().any(|t| matches!(t, Trace::Theme { .. })));

    let (_, turn) = at("menu", "fr", "as-tu faim");
    assert!(
        turn.trace.contains(&Trace::NotUnderstood),
        "{:?}",
        turn.trace
    );
    assert!(turn
        .outputs
        .iter()
        .any(|o| matches!(o, Output::Bot(b) if b.line_id == "relais.not_understood")));
}

#[test]
fn a_node_routes_keep_priority_and_a_report_answer_is_never_routed() {
    // `raconter` sends "dpj" to its own route, whatever the themes say.
    let (state, turn) = at("raconter", "fr", "j'ai peur de la dpj");
    assert!(
        turn.trace.iter().any(|t| matches!(t, Trace::Route(_))),
        "{:?}",
        turn.trace
    );
    assert_eq!(state.node.as_deref(), Some("confidentialite"));
    // A report question keeps what the youth typed as the answer.
    let (_, turn) = at("sig_qui", "fr", "un gars sur snap qui demande des nudes");
    assert!(
        !turn.trace.iter().any(|t| matches!(t, Trace::Theme { .. })),
        "{:?}",
        turn.trace
    );
    assert!(turn
        .outputs
        .iter()
        .any(|o| matches!(o, Output::ReportField { .. })));
}

#[tokio::test]
async fn an_opening_message_typed_at_the_menu_lands_on_its_theme() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path(), &repo_path("flows"));
    config.limits.frames_per_sec = 1000;
    config.limits.frames_burst = 1000;
    let server = TestServer::start(config).await;
    for (lang, typed, expected) in [
        (
            "fr",
            "il veut que je lui envoie des nudes",
            "Le leurre, c'est",
        ),
        (
            "fr",
            "y dit qu'il va mettre mes photos sur insta si jpaye pas",
            "c'est de la sextorsion",
        ),
    ] {
        let mut youth = server.youth().await;
        youth.hello(lang).await;
        youth.until_waiting().await;
        youth.text(typed).await;
        let frames = youth.until_waiting().await;
        let texts: Vec<&str> = frames
            .iter()
            .filter(|f| f["type"] == "bot")
            .filter_map(|f| f["text"].as_str())
            .collect();
        assert!(
            texts.iter().any(|t| t.contains(expected)),
            "{typed}: {texts:#?}"
        );
        assert!(
            !texts.iter().any(|t| t.contains("pas bien compris")),
            "{texts:#?}"
        );
    }
    server.stop().await;
}
