//! The urgent triggers of the shipped flows, the way youths write them:
//!
//! - the corpus of `tests/data/triggers/` holds the thresholds in each language
//!   (urgent recall ≥ 98 %, benign false alarms ≤ 3 %), the same scores
//!   `relais flows triggers test` prints;
//! - every example of the content review's §P1-1 fires, and its §P1-2 false
//!   alarms do not (the few kept on purpose are listed here, with the level they get);
//! - the three levels in the pure engine: urgent goes to the right urgent node with a
//!   person, verify asks and goes back where the youth was, the off-ramp lowers the
//!   request, a trigger inside a report keeps what the youth typed;
//! - properties: the matcher never panics, normalisation is idempotent.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use relais::flow::corpus::{self, Report, MAX_FALSE_ALARMS, MIN_URGENT_RECALL};
use relais::flow::engine::{step, Input, Output, State, Trace};
use relais::flow::load::{build, read_folder};
use relais::flow::model::FlowSet;
use relais::flow::triggers::Level;

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

fn level(text: &str) -> Option<Level> {
    flows().triggers.classify(text).map(|hit| hit.section.level)
}

#[test]
fn the_corpus_holds_the_thresholds_in_each_language() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/triggers");
    let lines = corpus::read(&dir).expect("the corpus reads");
    let count =
        |expected: corpus::Expected| lines.iter().filter(|l| l.expected == expected).count();
    assert!(
        count(corpus::Expected::Urgent) >= 300,
        "at least 300 urgent"
    );
    assert!(
        count(corpus::Expected::Verify) >= 150,
        "at least 150 to verify"
    );
    assert!(
        count(corpus::Expected::Benign) >= 300,
        "at least 300 ordinary"
    );
    let report = Report::run(&flows().triggers, lines);
    let table = report.table();
    assert_eq!(report.languages(), ["en", "fr"], "{table}");
    for lang in report.languages() {
        let recall = report.urgent_recall(&lang);
        assert!(
            recall.rate() >= MIN_URGENT_RECALL,
            "{lang}: urgent recall {:.3} below {MIN_URGENT_RECALL}\n{table}",
            recall.rate()
        );
        let (alarms, benign) = report.false_alarms(&lang);
        assert!(
            alarms as f64 / benign as f64 <= MAX_FALSE_ALARMS,
            "{lang}: {alarms}/{benign} false alarms\n{table}"
        );
    }
    assert!(report.passes());
}

/// Review §P1-1 (and §C): danger that did not trigger before. Each must fire now,
/// urgent or "verify" (the ones the review itself says may be a question first are
/// at the verify level: `verify` below).
#[test]
fn every_example_of_the_review_fires() {
    let urgent = [
        "jveux pu vivre",
        "jveux en finir",
        "jvais en finir",
        "jpeux pas partir",
        "jveu mourir",
        "jve mourir",
        "jvx mourir",
        "je veux mourrir",
        "sucide",
        "i want to kill my self",
        "kill myslef",
        "j'ai pu le goût de vivre",
        "j'ai plus le goût de vivre",
        "j'ai le goût de mourir",
        "chu tanné de vivre",
        "je veux pu être là",
        "je veux pu exister",
        "personne va s'ennuyer de moi",
        "je vais me crisser en l'air",
        "jvais me câlisser en lair",
        "me sacrer en l'air",
        "je vais sauter d'un pont",
        "me jeter en bas du pont",
        "me tirer une balle",
        "j'ai avalé toutes mes pilules",
        "i swallowed a bunch of pills",
        "je me blesse exprès",
        "ive been self harming",
        "i've been cutting again",
        "il m'a frappé",
        "y m'a frappée",
        "il ma battu",
        "j'ai été agressée",
        "i was sexually assaulted",
        "il me force",
        "on me force à le suivre",
        "il m'a drogué",
        "he forced me",
        "he's forcing me to send pics",
        "he drugged me",
        "he's waiting outside",
        "yé dehors",
        "y'é dehors",
        "j'ai peur pour ma vie",
        "j'ai peur qu'il me tue",
        "je peux plus partir",
        "il veut pas me laisser partir",
        "i dont wanna live anymore",
        "don't wanna be alive",
        "i want to end it",
        "i wanna end myself",
        "i dont want to be here anymore",
        "sewerslide",
        "he said he'll kill me",
        "hell kill me",
        // Review §C: rightly triggered before, still urgent.
        "je veux mourir",
        "jveux mourir",
        "jvais me tuer",
        "jpense a me tuer",
        "je suis suicidaire",
        "il va me tuer",
        "y va me tuer",
        "il est devant chez nous",
        "y me laisse pas partir",
        "jsuis enfermée",
        "je me suis fait violer",
        "chu en danger",
        "jme sens pas en securite",
        "im gonna kms",
        "he is outside my house",
        "i got raped",
        "he wont let me leave",
        "i'm scared for my life",
        "j'ai peur, c'est urgent",
    ];
    let verify = [
        "j'ai pris des pilules",
        "je me fais mal",
        "je me suis coupée",
        "jme coupe",
        "il arrive chez moi",
        "il sait où j'habite",
        "il sait ou jreste",
        "he's coming to my house",
        "he knows where i live",
        "i want to disappear",
        "il me fait chanter",
        "il me suit depuis l'école",
        "il a pris mon cell pis mes papiers",
        "il me menace de publier mes photos",
        "he's threatening to post my nudes",
    ];
    let mut failures = Vec::new();
    for text in urgent {
        if level(text) != Some(Level::Urgent) {
            failures.push(format!(
                "« {text} » should be urgent, got {:?}",
                level(text)
            ));
        }
    }
    for text in verify {
        if level(text).is_none() {
            failures.push(format!("« {text} » should fire, got nothing"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Review §P1-2: ordinary messages that fired before. None fires now, except the
/// ones kept on purpose, which only ask "are you in danger now?".
#[test]
fn the_false_alarms_of_the_review_do_not_fire() {
    let benign = [
        "c'est pas urgent mais j'ai une question",
        "je suis pas en danger, je veux juste des infos",
        "im not in danger i just have a question",
        "am i in danger of getting in trouble for sending a pic",
        "i was in danger before but now im ok",
        "les espèces en danger",
        "my mom is threatening to take my phone",
        "il me bat toujours à Fortnite",
        "he keeps beating me at fortnite",
        "il a violé ma vie privée",
        "à l'aide de mon ami j'ai bloqué le compte",
        "il me suit partout sur insta",
        "i can't leave the house, i'm grounded",
        "i cant leave him i love him",
        "he's here in my class",
        "je peux pas sortir de chez nous je suis punie",
        "je suis enfermé dehors lol",
        "il habite à 10 kms",
        "ma chum m'a menacée de plus me parler",
        "il menace de me bloquer",
        "rien d'urgent",
        "no emergency",
        "not in danger",
        "pas en danger",
        "ma mère va me tuer si elle voit mes notes",
        "je vais mourir de honte",
        "omg im going to die of embarrassment",
        "ce jeu va me tuer",
    ];
    let mut failures = Vec::new();
    for text in benign {
        if let Some(hit) = flows().triggers.classify(text) {
            failures.push(format!("« {text} » fires « {} »", hit.pattern.written));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // Kept on purpose (REVIEW.md §5): a question first, never the urgent path.
    for text in [
        "my parents are gonna kill me",
        "c'est une urgence?",
        "est-ce que je devrais appeler le 911",
    ] {
        assert_eq!(level(text), Some(Level::Verify), "{text}");
    }
}

fn start(lang: &str) -> State {
    let mut state = State {
        node: None,
        vars: BTreeMap::new(),
        lang: lang.into(),
    };
    step(flows(), &mut state, Input::Start);
    state
}

fn entered(turn: &relais::flow::engine::Step) -> Vec<&str> {
    turn.trace
        .iter()
        .filter_map(|t| match t {
            Trace::Entered(node) => Some(node.as_str()),
            _ => None,
        })
        .collect()
}

fn urgent_handoff(turn: &relais::flow::engine::Step) -> Option<Vec<&str>> {
    turn.outputs.iter().find_map(|o| match o {
        Output::Handoff(h) if h.urgent => {
            Some(h.resources.iter().map(|r| r.key.as_str()).collect())
        }
        _ => None,
    })
}

fn first_resource(turn: &relais::flow::engine::Step) -> Option<&str> {
    turn.outputs.iter().find_map(|o| match o {
        Output::Bot(bot) => bot.resources.first().map(|r| r.key.as_str()),
        _ => None,
    })
}

#[test]
fn suicide_goes_to_the_suicide_line_first_and_danger_to_911_first() {
    for (lang, text) in [("fr", "jveux pu vivre"), ("en", "i want to kill myself")] {
        let mut state = start(lang);
        let turn = step(flows(), &mut state, Input::Text(text));
        assert_eq!(state.node.as_deref(), Some("urgence_suicide"), "{text}");
        assert_eq!(first_resource(&turn), Some("prevention_suicide"), "{text}");
        let keys = urgent_handoff(&turn).expect("an urgent request for a person");
        assert_eq!(keys.first(), Some(&"prevention_suicide"));
        assert!(keys.contains(&"urgence"), "911 too: {keys:?}");
        let said: String = turn
            .outputs
            .iter()
            .filter_map(|o| match o {
                Output::Bot(b) => Some(b.text.to_string()),
                _ => None,
            })
            .collect();
        assert!(said.contains("911"), "{said}");
        assert!(said.contains(if lang == "fr" {
            "Premières Nations"
        } else {
            "First Nations"
        }));
    }
    for (lang, text) in [("fr", "y'é dehors"), ("en", "he's waiting outside")] {
        let mut state = start(lang);
        let turn = step(flows(), &mut state, Input::Text(text));
        assert_eq!(state.node.as_deref(), Some("urgence"), "{text}");
        assert_eq!(first_resource(&turn), Some("urgence"), "{text}");
        assert_eq!(urgent_handoff(&turn).unwrap().first(), Some(&"urgence"));
    }
}

#[test]
fn verify_asks_then_yes_is_urgent_and_no_goes_back_with_the_theme() {
    let set = flows();
    let mut state = start("fr");
    step(set, &mut state, Input::Choose("menu_situation"));
    step(set, &mut state, Input::Choose("sit_sextorsion"));
    let theme_node = state.node.clone().expect("the sextortion theme waits");
    assert_eq!(
        state.vars.get("theme").map(String::as_str),
        Some("sextorsion")
    );
    let turn = step(set, &mut state, Input::Text("il sait ou jreste"));
    assert!(turn
        .trace
        .iter()
        .any(|t| matches!(t, Trace::VerifyTrigger(_))));
    assert!(!turn.urgent_fired());
    assert_eq!(state.node.as_deref(), Some("verifier_danger"));
    assert!(
        urgent_handoff(&turn).is_none(),
        "no urgent request before the answer"
    );

    let mut yes = state.clone();
    let turn = step(set, &mut yes, Input::Choose("ver_oui"));
    assert_eq!(yes.node.as_deref(), Some("urgence"));
    assert!(urgent_handoff(&turn).is_some());

    let mut no = state.clone();
    let turn = step(set, &mut no, Input::Choose("ver_non"));
    assert_eq!(entered(&turn), [theme_node.as_str()]);
    assert_eq!(no.node.as_deref(), Some(theme_node.as_str()));
    assert_eq!(no.vars.get("theme").map(String::as_str), Some("sextorsion"));
    assert!(turn
        .outputs
        .iter()
        .all(|o| !matches!(o, Output::Handoff(_))));
}

#[test]
fn the_off_ramp_lowers_the_request_and_goes_back() {
    let set = flows();
    let mut state = start("en");
    step(set, &mut state, Input::Choose("menu_situation"));
    step(set, &mut state, Input::Choose("sit_sextorsion"));
    let theme_node = state.node.clone().unwrap();
    step(set, &mut state, Input::Text("he said he'll kill me"));
    assert_eq!(state.node.as_deref(), Some("urgence"));
    // A sextortion story that fired still reaches the sextortion steps (§P1-4).
    let mut steps = state.clone();
    let turn = step(set, &mut steps, Input::Choose("urg_sextorsion"));
    assert!(entered(&turn).contains(&"sext_etapes"));

    let turn = step(set, &mut state, Input::Choose("urg_pas_danger"));
    assert!(
        turn.outputs
            .iter()
            .any(|o| matches!(o, Output::LowerUrgency)),
        "{:?}",
        turn.outputs
    );
    assert_eq!(state.node.as_deref(), Some(theme_node.as_str()));
    assert_eq!(state.vars.get("urgence").map(String::as_str), Some("non"));
}

#[test]
fn a_trigger_inside_a_report_keeps_the_text_and_comes_back_to_the_report() {
    let set = flows();
    let mut state = start("fr");
    step(set, &mut state, Input::Choose("menu_signaler"));
    for choice in ["sig_danger_non", "sig_type_leurre"] {
        let turn = step(set, &mut state, Input::Choose(choice));
        assert!(!turn.not_expected, "{choice} at {:?}", state.node);
    }
    assert_eq!(state.node.as_deref(), Some("sig_ou"));
    let typed = "sur snap, il la menace de publier ses photos";
    let turn = step(set, &mut state, Input::Text(typed));
    assert!(
        turn.outputs.iter().any(|o| matches!(o,
            Output::ReportField { field, value } if field == "ou" && value == typed)),
        "{:?}",
        turn.outputs
    );
    assert_eq!(state.node.as_deref(), Some("verifier_danger"));
    let turn = step(set, &mut state, Input::Choose("ver_non"));
    assert_eq!(
        entered(&turn),
        ["sig_qui"],
        "the report goes on at its next question"
    );
    // From the urgent node too: "Continue my report" goes back to it.
    let turn = step(set, &mut state, Input::Text("il est dehors"));
    assert!(turn.urgent_fired());
    let turn = step(set, &mut state, Input::Choose("urg_reprendre"));
    assert_eq!(entered(&turn), ["sig_quand"]);
}

proptest! {
    #[test]
    fn the_matcher_never_panics(text in "\\PC{0,200}") {
        let _ = flows().triggers.classify(&text);
        let _ = flows().triggers.explain(&text);
    }

    #[test]
    fn the_matcher_never_panics_on_texting(words in prop::collection::vec(
        prop::sample::select(vec![
            "j", "jveux", "y'é", "chu", "pu", "im", "he'll", "hell", "kill", "*", "$", "|",
            "pas", "not", "no", "de", "honte", "10", "kms", "aideeeez", "mourrir", "sucide",
            "il", "est", "dehors", "’", "!!", "?", ",", "😭", "ÉÉÉ", "İ", "ß", "ǅ",
        ]), 0..12)) {
        let text = words.join(" ");
        let _ = flows().triggers.classify(&text);
        let glued = words.concat();
        let _ = flows().triggers.classify(&glued);
    }

    #[test]
    fn normalisation_is_idempotent(text in "\\PC{0,120}") {
        let normaliser = &flows().triggers.normaliser;
        let once = normaliser.normalise(&text);
        let twice = normaliser.normalise(&once.text());
        prop_assert_eq!(once.text(), twice.text());
    }

    #[test]
    fn normalisation_is_idempotent_on_texting(words in prop::collection::vec(
        prop::sample::select(vec![
            "j", "jveux", "y", "e", "é", "chu", "pu", "im", "i", "m", "he", "ll", "don", "t",
            "a", "va", "ma", "jjvais", "jpp", "10", "km", "kms", ".", ",", "aaaah", "AIDEEEZ",
            "c'est", "qu'il", "jmenferme", "hell", "kill",
        ]), 0..16)) {
        let normaliser = &flows().triggers.normaliser;
        for text in [words.join(" "), words.concat()] {
            let once = normaliser.normalise(&text);
            let twice = normaliser.normalise(&once.text());
            prop_assert_eq!(once.text(), twice.text());
        }
    }
}
