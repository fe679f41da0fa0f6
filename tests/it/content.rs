//! Content tests for issue 21: what a youth reads in the shipped flows (`flows/`),
//! checked the way a youth-helpline practitioner would before signing `REVIEW.md`.
//!
//! - a walk of every reachable state, in French and in English, over the themes
//!   added or rewritten here (sexual assault, "is it legal?", realities, tools, the
//!   First Nations and Inuit path, the closing): every path ends in help, a person is
//!   at most two taps away, every node of a theme file has a danger button;
//! - no line asks the youth for links, images, names or addresses;
//! - a resource marked `a_verifier` is never shown to a youth (and the check itself
//!   catches one when it is);
//! - every line has a current English translation and no message is over 280
//!   characters;
//! - the reading level of each theme (average words per sentence, share of long
//!   words), printed and held under what a 12-year-old reads;
//! - the nation names a youth would type reach the First Nations and Inuit path;
//! - the closing question's answers are distinct nodes, counted by the anonymous
//!   daily aggregates and shown in the impact report.

use std::collections::{BTreeMap, BTreeSet};

use relais::flow::engine::{default_handoff_resources, step, Input, Output, State};
use relais::flow::format::to_plain;
use relais::flow::load::{build, line_hash, lines_in_order, read_folder};
use relais::flow::model::{FlowSet, Item, Target};
use relais::flow::text::words;
use relais::flow::walk::Walk;
use relais::flow::Problem;

use crate::common::shipped::{self, LANGS, START};

const LONG_MESSAGE: usize = 280;

/// Files that are not themes: the welcome and menu, the person, the resources, the
/// report, the urgent path (issue 14) and the closing.
const NOT_THEMES: [&str; 6] = [
    "accueil.flow",
    "parler.flow",
    "ressources.flow",
    "signalement.flow",
    "urgence.flow",
    "fin.flow",
];

/// The files this issue added; each must be walked and read.
const NEW_FILES: [&str; 5] = [
    "agression.flow",
    "loi.flow",
    "realites.flow",
    "outils.flow",
    "fin.flow",
];

/// A 12-year-old reads short sentences and mostly short words: on average at most
/// this many words a sentence…
const MAX_WORDS_PER_SENTENCE: f64 = 14.0;
/// …and at most this share of words of 7 letters or more (the "long words" of the
/// LIX readability index; a LIX under 40 reads as easy, children's books sit near 30).
const MAX_LONG_WORD_SHARE: f64 = 0.30;
const MAX_LIX: f64 = 44.0;

fn sources() -> BTreeMap<String, String> {
    read_folder(&shipped::flows_dir()).expect("flows/ is readable")
}

fn built(sources: BTreeMap<String, String>) -> (FlowSet, Vec<Problem>) {
    let report = build(sources, START);
    let errors: Vec<_> = report.errors().map(|d| d.render("en")).collect();
    assert!(errors.is_empty(), "the flows have errors: {errors:#?}");
    let problems = report
        .diagnostics
        .iter()
        .map(|d| d.problem.clone())
        .collect();
    (report.flows.expect("no error, so a flow set"), problems)
}

fn flows() -> &'static FlowSet {
    shipped::flows()
}

fn start(set: &FlowSet, lang: &str) -> (State, Vec<Output>) {
    let mut state = State {
        node: None,
        vars: BTreeMap::new(),
        lang: lang.to_string(),
    };
    let turn = step(set, &mut state, Input::Start);
    (state, turn.outputs)
}

/// Every resource a turn shows: on a message, or offered with a request for a person.
fn resources_of(outputs: &[Output]) -> Vec<String> {
    let mut keys = Vec::new();
    for output in outputs {
        match output {
            Output::Bot(bot) => keys.extend(bot.resources.iter().map(|r| r.key.clone())),
            Output::Handoff(h) => keys.extend(h.resources.iter().map(|r| r.key.clone())),
            _ => {}
        }
    }
    keys
}

fn walks() -> &'static [(String, Walk)] {
    shipped::walks()
}

fn taps_to_a_person(walk: &Walk) -> Vec<Option<usize>> {
    relais::flow::walk::taps_to_a_person(walk)
}

fn theme_nodes(set: &FlowSet) -> Vec<&str> {
    let mut nodes: Vec<&str> = set
        .nodes
        .iter()
        .filter(|(_, n)| !NOT_THEMES.contains(&n.pos.file.as_str()))
        .map(|(name, _)| name.as_str())
        .collect();
    nodes.sort();
    nodes
}

#[test]
fn the_new_themes_are_walked_end_in_help_and_keep_a_person_two_taps_away() {
    let set = flows();
    let files: BTreeSet<&str> = set.nodes.values().map(|n| n.pos.file.as_str()).collect();
    for file in NEW_FILES {
        assert!(files.contains(file), "{file} is missing");
    }
    for (lang, walk) in walks() {
        assert!(walk.failures.is_empty(), "{:#?}", walk.failures);
        for (name, node) in &set.nodes {
            // The nodes only a typed trigger leads to are played in tests/it/triggers.rs.
            if set.triggers.is_trigger_node(name) && name != &set.urgent.node {
                continue;
            }
            assert!(
                walk.first_entered.contains_key(name),
                "{lang}: {name} ({}) is never reached",
                node.pos.file
            );
        }
        let distance = taps_to_a_person(walk);
        for (i, (state, _)) in walk.states.iter().enumerate() {
            let node = state.node.as_deref().unwrap_or("-");
            let taps = distance[i].unwrap_or_else(|| panic!("{lang}: no person from {node}"));
            assert!(taps <= 2, "{lang}: a person is {taps} taps from {node}");
        }
        // Each new theme's door is at most two taps from the welcome.
        for door in ["agression", "loi", "realites", "outils", "fin_conv"] {
            assert!(walk.first_entered[door] <= 2, "{lang}: {door} is too deep");
        }
    }
}

#[test]
fn every_theme_node_has_a_danger_button_and_the_menu_puts_it_first() {
    let set = flows();
    let nodes = theme_nodes(set);
    assert!(nodes.len() > 50, "only {} theme nodes", nodes.len());
    for name in nodes {
        let node = &set.nodes[name];
        let danger = node.exit.choices.iter().any(|c| {
            c.condition.is_none()
                && matches!(&c.target, Target::Node { name, .. } if name == "urgence")
        });
        assert!(
            danger,
            "{}: the node {name} has no danger button (a choice -> urgence)",
            node.pos.file
        );
    }
    for menu in ["menu", "situation"] {
        let first = &set.nodes[menu].exit.choices[0];
        assert!(
            matches!(&first.target, Target::Node { name, .. } if name == "urgence"),
            "{menu}: the danger button is not first"
        );
    }
}

/// Words that name what a chat must never collect from a youth.
const FORBIDDEN: [&str; 16] = [
    "lien", "liens", "link", "links", "url", "image", "images", "photo", "photos", "nom", "noms",
    "name", "names", "adresse", "adresses", "address",
];
/// Words that make a sentence a request to the youth (imperatives and the like).
const ASKING: [&str; 19] = [
    "envoie", "envoies", "ecris", "donne", "donnes", "colle", "partage", "indique", "tape",
    "ajoute", "decris", "send", "write", "give", "paste", "share", "type", "enter", "add",
];
/// A verb after these is not a request to the youth: « on t'envoie », « il m'écrit ».
const NOT_IMPERATIVE_AFTER: [&str; 8] = ["t", "m", "on", "il", "elle", "ils", "qu", "l"];
const NEGATION: [&str; 11] = [
    "pas", "ni", "jamais", "aucun", "aucune", "not", "don", "dont", "never", "no", "besoin",
];

/// The sentences of a line that ask for a link, an image, a name or an address. A
/// sentence of a question the youth answers in words counts as asking; elsewhere a
/// sentence asks when it holds a request verb. A negation ("n'envoie pas", "no need")
/// makes it a warning instead, which is allowed.
fn asks_for_forbidden(text: &str, is_question: bool) -> Vec<String> {
    let plain = to_plain(text);
    plain
        .split(['.', '?', '!', ':', ';'])
        .filter(|sentence| {
            let w = words(sentence);
            let has = |list: &[&str]| w.iter().any(|x| list.contains(&x.as_str()));
            let asks = w.iter().enumerate().any(|(i, x)| {
                ASKING.contains(&x.as_str())
                    && (i == 0 || !NOT_IMPERATIVE_AFTER.contains(&w[i - 1].as_str()))
            });
            has(&FORBIDDEN) && (is_question || asks) && !has(&NEGATION)
        })
        .map(|s| s.trim().to_string())
        .collect()
}

#[test]
fn no_line_asks_for_links_images_names_or_addresses() {
    // The check catches the line the review flagged (P1-6), and lets its fix through.
    assert!(!asks_for_forbidden(
        "Qui est impliqué? Des noms d'utilisateur, des liens ou une description.",
        true
    )
    .is_empty());
    assert!(!asks_for_forbidden("Send me the link to the picture.", false).is_empty());
    assert!(asks_for_forbidden("N'envoie pas d'image ni de lien.", true).is_empty());
    assert!(asks_for_forbidden("Des images qu'on t'envoie.", false).is_empty());

    let set = flows();
    let english = &set.translations["en"];
    let mut found = Vec::new();
    let questions: BTreeSet<&str> = set
        .nodes
        .values()
        .flat_map(|n| &n.items)
        .filter_map(|item| match item {
            Item::Say {
                line,
                question: true,
                ..
            } => Some(line.id.as_str()),
            _ => None,
        })
        .collect();
    assert!(questions.contains("sig_qui_q") && questions.contains("rac_question"));
    for (node, line) in lines_in_order(set) {
        let question = questions.contains(line.id.as_str());
        let mut texts = vec![line.source.clone()];
        if let Some(t) = english.get(&line.id) {
            texts.push(t.text.clone());
        }
        for text in texts {
            for sentence in asks_for_forbidden(&text, question) {
                found.push(format!("{} ({}): {sentence}", line.id, node.name));
            }
        }
    }
    assert!(
        found.is_empty(),
        "lines that ask for what a chat must not collect: {found:#?}"
    );
}

/// The resources a youth can see (on a message or with a request for a person) that
/// the resources file marks `a_verifier`. `seen` is what the walks showed; the nodes
/// they entered add what those nodes name (a resource line has no condition), and a
/// request for a person with no list of its own shows the engine's defaults.
fn unverified_reachable(set: &FlowSet, problems: &[Problem]) -> Vec<String> {
    let unverified: BTreeSet<&str> = problems
        .iter()
        .filter_map(|p| match p {
            Problem::ResourceToCheck { key } => Some(key.as_str()),
            _ => None,
        })
        .collect();
    let mut reachable = BTreeSet::new();
    for (_, walk) in walks() {
        reachable.extend(walk.resources.iter().cloned());
        for name in walk.first_entered.keys() {
            for item in &set.nodes[name].items {
                match item {
                    Item::Resources { keys, .. } => {
                        reachable.extend(keys.iter().map(|(k, _)| k.clone()))
                    }
                    Item::Handoff(spec) if spec.resources.is_empty() => reachable.extend(
                        default_handoff_resources(spec.urgent)
                            .iter()
                            .map(|k| k.to_string()),
                    ),
                    Item::Handoff(spec) => {
                        reachable.extend(spec.resources.iter().map(|(k, _)| k.clone()))
                    }
                    _ => {}
                }
            }
        }
    }
    reachable
        .into_iter()
        .filter(|key| unverified.contains(key.as_str()))
        .collect()
}

#[test]
fn no_resource_marked_unverified_reaches_a_youth() {
    let (set, problems) = built(sources());
    let shown = unverified_reachable(&set, &problems);
    assert!(
        shown.is_empty(),
        "unverified resources shown to youths: {shown:?}"
    );

    // The check is real: mark a resource the paths show, and it is caught. (The same
    // flows, so the same nodes are reached.)
    let mut marked = sources();
    let file = marked.get_mut("ressources.toml").unwrap();
    *file = file.replacen("[tel_jeunes]\n", "[tel_jeunes]\na_verifier = true\n", 1);
    let (set, problems) = built(marked);
    assert_eq!(unverified_reachable(&set, &problems), vec!["tel_jeunes"]);
}

#[test]
fn every_line_is_translated_and_no_message_is_over_280_characters() {
    let set = flows();
    let english = &set.translations["en"];
    for (node, line) in lines_in_order(set) {
        assert!(
            line.explicit_id,
            "{}:{}: no #id:",
            line.pos.file, line.pos.line
        );
        let t = english
            .get(&line.id)
            .unwrap_or_else(|| panic!("{} ({}): not translated", line.id, node.name));
        assert_eq!(t.source_hash, line_hash(&line.source), "{}: stale", line.id);
        for (lang, text) in [("fr", &line.source), ("en", &t.text)] {
            let n = to_plain(text).chars().count();
            assert!(n <= LONG_MESSAGE, "{} ({lang}): {n} characters", line.id);
        }
    }
}

/// Words and sentences of a text, for the reading level.
fn counts(text: &str) -> (usize, usize, usize) {
    let plain = to_plain(text);
    let sentences = plain
        .split(['.', '?', '!', ':', ';', '…'])
        .filter(|s| s.chars().any(char::is_alphabetic))
        .count();
    let all: Vec<String> = plain
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’' && c != '-')
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
        .filter(|w| w.chars().any(char::is_alphabetic))
        .collect();
    let long = all.iter().filter(|w| w.chars().count() >= 7).count();
    (all.len(), sentences, long)
}

#[test]
fn each_theme_reads_at_a_twelve_year_olds_level() {
    let set = flows();
    let english = &set.translations["en"];
    let mut by_file: BTreeMap<(String, &str), (usize, usize, usize)> = BTreeMap::new();
    for (node, line) in lines_in_order(set) {
        // Button labels are not sentences; the messages are what is read.
        let is_message = !node.exit.choices.iter().any(|c| c.label.id == line.id);
        if !is_message {
            continue;
        }
        let theme = node.pos.file.trim_end_matches(".flow").to_string();
        let texts = [
            ("fr", line.source.as_str()),
            ("en", english.get(&line.id).map_or("", |t| t.text.as_str())),
        ];
        for (lang, text) in texts {
            let (w, s, l) = counts(text);
            let entry = by_file.entry((theme.clone(), lang)).or_default();
            entry.0 += w;
            entry.1 += s;
            entry.2 += l;
        }
    }
    println!("theme | lang | words/sentence | long words | LIX");
    let mut too_hard = Vec::new();
    for ((theme, lang), (w, s, l)) in &by_file {
        let per_sentence = *w as f64 / (*s).max(1) as f64;
        let long = *l as f64 / (*w).max(1) as f64;
        let lix = per_sentence + 100.0 * long;
        println!(
            "{theme} | {lang} | {per_sentence:.1} | {:.0}% | {lix:.0}",
            long * 100.0
        );
        if per_sentence > MAX_WORDS_PER_SENTENCE || long > MAX_LONG_WORD_SHARE || lix > MAX_LIX {
            too_hard.push(format!("{theme} ({lang}): {per_sentence:.1} words/sentence, {:.0}% long words, LIX {lix:.0}", long * 100.0));
        }
    }
    assert!(
        by_file.len() >= 2 * 15,
        "only {} themes measured",
        by_file.len()
    );
    assert!(
        too_hard.is_empty(),
        "too hard for a 12-year-old: {too_hard:#?}"
    );
}

#[test]
fn nation_names_a_youth_types_reach_the_first_nations_and_inuit_path() {
    let set = flows();
    for lang in LANGS {
        let (menu, _) = start(set, lang);
        for sentence in [
            "je suis innu",
            "chu atikamekw pis j'ai peur",
            "je suis crie",
            "im cree and someone is messaging me",
            "I'm Cree",
            "je viens d'Eeyou Istchee",
            "je suis inuk",
            "we are Inuit from Nunavik",
            "je suis mohawk",
            "je suis Kanien'kehá:ka de Kahnawake",
            "anishinabe",
            "je suis wendat",
            "je suis mi'gmaq",
            "naskapi",
            "abénakis",
            "Wolastoqiyik",
            "je suis malécite",
            "je vis sur la réserve",
        ] {
            let mut state = menu.clone();
            step(set, &mut state, Input::Choose("menu_situation"));
            step(set, &mut state, Input::Choose("sit_raconter"));
            assert_eq!(state.node.as_deref(), Some("raconter"), "{lang}");
            let turn = step(set, &mut state, Input::Text(sentence));
            assert!(!turn.urgent_fired(), "{lang}: « {sentence} » is urgent");
            assert_eq!(
                state.node.as_deref(),
                Some("autochtones"),
                "{lang}: « {sentence} » goes to {:?}",
                state.node
            );
            let shown = resources_of(&turn.outputs);
            assert_eq!(shown.first().map(String::as_str), Some("espoir_mieux_etre"));
        }
        // Words that look like a nation name but are not.
        for sentence in [
            "il a créé un faux compte",
            "je suis réservée",
            "un instant stp",
        ] {
            let mut state = menu.clone();
            step(set, &mut state, Input::Choose("menu_situation"));
            step(set, &mut state, Input::Choose("sit_raconter"));
            step(set, &mut state, Input::Text(sentence));
            assert_ne!(
                state.node.as_deref(),
                Some("autochtones"),
                "{lang}: « {sentence} »"
            );
        }
    }
}

#[tokio::test]
async fn the_closing_question_is_counted_only_in_the_daily_aggregates() {
    use relais::impact::{Format, Lang, Range, Report, Unit};
    let set = flows();
    let data = tempfile::tempdir().unwrap();
    let store = relais::store::Store::open(data.path()).unwrap();
    let stats = relais::stats::Stats::new(relais::clock::Clock::system());
    let answers = ["fin_oui", "fin_un_peu", "fin_non"];
    let mut reached = BTreeSet::new();
    for (i, answer) in answers.iter().enumerate() {
        let (mut state, _) = start(set, LANGS[i % 2]);
        for choice in ["menu_ressources", "res_conclure"] {
            let from = state.node.clone();
            let turn = step(set, &mut state, Input::Choose(choice));
            stats.turn(from.as_deref(), &turn);
        }
        assert_eq!(state.node.as_deref(), Some("fin_conv"));
        let from = state.node.clone();
        let turn = step(set, &mut state, Input::Choose(answer));
        stats.turn(from.as_deref(), &turn);
        // Each answer is its own node, so the node count tells them apart.
        reached.insert(state.node.clone().expect("an answer does not end the chat"));
        assert!(turn
            .outputs
            .iter()
            .all(|o| !matches!(o, Output::Handoff(_))));
    }
    assert_eq!(reached.len(), answers.len(), "{reached:?}");
    stats.flush(&store).unwrap();
    let counted: BTreeMap<String, u64> = store
        .counts("0000-00-00", "9999-99-99")
        .unwrap()
        .into_iter()
        .filter(|(_, metric, _, _)| metric == "nodes_reached")
        .map(|(_, _, label, count)| (label, count))
        .collect();
    for node in &reached {
        assert_eq!(
            counted.get(node),
            Some(&1),
            "{node} not counted: {counted:?}"
        );
    }
    let today = chrono::NaiveDate::parse_from_str(
        &relais::impact::day_of(relais::clock::Clock::system().now_secs()),
        "%Y-%m-%d",
    )
    .unwrap();
    let report =
        Report::build(&store, Range::covering(Unit::Month, today, today), Lang::Fr).unwrap();
    let markdown = report.render(Format::Md);
    for node in &reached {
        assert!(
            markdown.contains(&format!("| {node} |")),
            "{node} not in the report"
        );
    }
    // And the impact report's "did this help?" table has a row for each answer.
    let feedback = report
        .axes
        .iter()
        .find(|axis| axis.key == "feedback")
        .expect("the feedback axis");
    let rows: BTreeSet<String> = feedback.tables[0]
        .rows
        .iter()
        .map(|row| row.key.clone())
        .collect();
    assert_eq!(
        rows, reached,
        "the closing's answers are the report's feedback rows"
    );
}
