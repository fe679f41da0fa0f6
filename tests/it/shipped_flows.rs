//! Tests over the flows shipped in `flows/`, the ones an organisation deploys on day
//! one. They play the real files with the pure engine, in French and in English:
//!
//! - the folder builds with no error and no warning but the CAVAC number to verify;
//! - a breadth-first walk of every choice (and of every word a free-text question
//!   recognizes) from every reachable state: every path ends in help (a request for a
//!   person, or an end after a resource was shown), a person is never more than two
//!   taps away, every theme is at most two taps from the menu, every node is played;
//! - every urgent trigger phrase, in both languages, leads to an urgent handoff with
//!   911, from the menu, from a free-text question and after the end; everyday
//!   sentences do not; help words lead to a normal handoff;
//! - every line has a current English translation, no message is over 280
//!   characters, every resource key exists, and no phone number is written in a flow
//!   (numbers live only in `ressources.toml`);
//! - theme promises: the sextortion flow offers the urgent path, the First Nations
//!   and Inuit flow shows Hope for Wellness first, the welcome states anonymity and
//!   the limit of confidentiality.
//!
//! The rules an author can meet are the checker's own (`relais::flow::rules`, run by
//! `flows check` and the live reload); these tests call them, and walk the flows with
//! the checker's walk (`relais::flow::walk`), so the rules have one source and a
//! failure here reads like `flows check`.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use relais::flow::check::LONG_MESSAGE;
use relais::flow::engine::{
    default_handoff_resources, step, HandoffRequest, Input, Output, State, Trace, CHOICE_TALK,
};
use relais::flow::format::to_visible;
use relais::flow::load::{build, line_hash, lines_in_order, read_folder};
use relais::flow::model::{FlowSet, Item, Target};
use relais::flow::rules;
use relais::flow::walk::{self as flow_walk, acts, typed, Failure, Walk};
use relais::flow::Problem;

use crate::common::shipped::{flows, flows_dir, walks, LANGS, START};
/// The resource keys of `../shared/content/resources.md`.
const RESOURCE_KEYS: [&str; 10] = [
    "urgence",
    "tel_jeunes",
    "jeunesse_j_ecoute",
    "info_aide_violence_sexuelle",
    "info_social",
    "espoir_mieux_etre",
    "cyberaide",
    "aidez_moi_svp",
    "sextorsion",
    "cavac",
];

fn start(lang: &str) -> (State, Vec<Output>) {
    let mut state = State {
        node: None,
        vars: BTreeMap::new(),
        lang: lang.to_string(),
    };
    let turn = step(flows(), &mut state, Input::Start);
    (state, turn.outputs)
}

fn handoffs(outputs: &[Output]) -> Vec<&HandoffRequest> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Handoff(h) => Some(h),
            _ => None,
        })
        .collect()
}

fn shown_resources(outputs: &[Output]) -> Vec<&str> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Bot(bot) => Some(bot.resources.iter().map(|r| r.key.as_str())),
            _ => None,
        })
        .flatten()
        .collect()
}

fn entered(trace: &[Trace]) -> impl Iterator<Item = &str> {
    trace.iter().filter_map(|t| match t {
        Trace::Entered(node) => Some(node.as_str()),
        _ => None,
    })
}

fn taps_to_a_person(walk: &Walk) -> Vec<Option<usize>> {
    flow_walk::taps_to_a_person(walk)
}

/// The first node of each `.flow` file, by file: the door to its theme.
fn doors(set: &FlowSet) -> BTreeMap<&str, &str> {
    let mut first: BTreeMap<&str, (&str, u32)> = BTreeMap::new();
    for (name, node) in &set.nodes {
        let entry = first.entry(&node.pos.file).or_insert((name, node.pos.line));
        if node.pos.line < entry.1 {
            *entry = (name, node.pos.line);
        }
    }
    first
        .into_iter()
        .map(|(file, (door, _))| (file, door))
        .collect()
}

#[test]
fn the_folder_builds_with_no_error_and_only_the_expected_warning() {
    let sources = read_folder(&flows_dir()).unwrap();
    let report = build(sources, START);
    let unexpected: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| !matches!(&d.problem, Problem::ResourceToCheck { key } if key == "cavac"))
        .map(|d| d.render("fr"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "`relais flows check flows` says:\n{}",
        unexpected.join("\n")
    );
    assert_eq!(flows().start, START);
    for node in ["accueil", "menu", "urgence", "parler"] {
        assert!(
            flows().nodes.contains_key(node),
            "the node {node} must exist"
        );
    }
    assert_eq!(flows().urgent.node, "urgence");
    assert_eq!(flows().help.node, "parler");
}

#[test]
fn every_path_ends_in_help_and_a_person_is_at_most_two_taps_away() {
    for (lang, walk) in walks() {
        let failures: Vec<String> = walk
            .failures
            .iter()
            .map(|failure| match failure {
                Failure::EndWithoutHelp { node, act } => format!(
                    "{lang}: at {node}, {act:?} ends the conversation with no resource or person offered: add a @ressource before « -> fin », or lead to « parler »"
                ),
                Failure::Refused { node, act } => {
                    format!("{lang}: at {node}, {act:?} was offered but refused")
                }
            })
            .collect();
        assert!(failures.is_empty(), "{failures:#?}");
        assert!(walk.states.len() > 20, "{lang}: the walk saw too little");
        let distance = taps_to_a_person(walk);
        for (index, (state, _)) in walk.states.iter().enumerate() {
            let node = state.node.as_deref().unwrap_or("-");
            match distance[index] {
                None => panic!(
                    "{lang}: from {node} ({:?}) no person is ever reached",
                    state.vars
                ),
                Some(taps) => assert!(
                    taps <= 2,
                    "{lang}: from {node} a person is {taps} taps away ({:?})",
                    state.vars
                ),
            }
        }
    }
}

#[test]
fn every_node_is_played_and_every_theme_is_two_taps_from_the_start() {
    let set = flows();
    for (lang, walk) in walks() {
        for name in set.nodes.keys() {
            // The nodes only a typed trigger leads to are played in tests/it/triggers.rs.
            if set.triggers.is_trigger_node(name) && name != &set.urgent.node {
                continue;
            }
            assert!(
                walk.first_entered.contains_key(name),
                "{lang}: the node {name} is never played"
            );
        }
        let doors = doors(set);
        assert!(
            doors.len() >= 11,
            "{lang}: only {} theme files",
            doors.len()
        );
        for (file, door) in doors {
            let taps = walk.first_entered[door];
            assert!(
                taps <= 2,
                "{lang}: {file} ({door}) is {taps} taps from the start"
            );
        }
    }
}

#[test]
fn every_theme_offers_a_person_in_one_tap() {
    let set = flows();
    for (file, door) in doors(set) {
        // Where the flow waits after the door: a door may jump on (the welcome).
        let mut waits = door;
        while let Some(Target::Node { name, .. }) = &set.nodes[waits].exit.jump {
            waits = name;
        }
        let node = &set.nodes[waits];
        if node.handoff().is_some() {
            continue;
        }
        let state = walks()[0]
            .1
            .states
            .iter()
            .map(|(s, _)| s)
            .find(|s| s.node.as_deref() == Some(waits))
            .unwrap_or_else(|| panic!("{file}: nobody ever waits at {waits}"));
        let reaches_person = acts(set, state).into_iter().any(|act| {
            let mut next = state.clone();
            let turn = step(set, &mut next, act.input());
            !handoffs(&turn.outputs).is_empty()
        });
        // A free-text question reaches a person through its default route's choices.
        assert!(
            reaches_person || node.asks_text(),
            "{file}: {waits} offers no way to a person in one tap"
        );
    }
}

#[test]
fn english_sessions_read_english() {
    let set = flows();
    for (lang, walk) in walks() {
        if lang != "en" {
            continue;
        }
        for (id, text) in &walk.shown {
            if id.starts_with("relais.") {
                continue;
            }
            let rendered = set
                .rendered
                .get("en")
                .and_then(|lines| lines.get(id))
                .unwrap_or_else(|| panic!("en: the line {id} is shown in French"));
            assert_eq!(&*rendered.text, text.as_str(), "en: {id}");
        }
    }
}

#[test]
fn every_line_has_a_current_english_translation() {
    let set = flows();
    let table = set.translations.get("en").expect("traductions/en.txt");
    let lines = lines_in_order(set);
    assert!(lines.len() > 100, "only {} lines", lines.len());
    for (node, line) in lines {
        assert!(
            line.explicit_id,
            "{}:{}: write a #id: on this line",
            line.pos.file, line.pos.line
        );
        let translation = table
            .get(&line.id)
            .unwrap_or_else(|| panic!("{} ({}): no English translation", line.id, node.name));
        assert_eq!(
            translation.source_hash,
            line_hash(&line.source),
            "{}: the English translation is stale",
            line.id
        );
        assert!(!translation.text.trim().is_empty(), "{}", line.id);
    }
    let ids: HashSet<_> = lines_in_order(set)
        .into_iter()
        .map(|(_, l)| l.id.clone())
        .collect();
    for id in table.keys() {
        assert!(
            ids.contains(id),
            "en.txt translates {id}, which no longer exists"
        );
    }
}

#[test]
fn no_message_is_over_280_characters() {
    let set = flows();
    let table = &set.translations["en"];
    for (_, line) in lines_in_order(set) {
        let french = to_visible(&line.source).chars().count();
        assert!(french <= LONG_MESSAGE, "{}: {french} characters", line.id);
        if let Some(english) = table.get(&line.id) {
            let english = to_visible(&english.text).chars().count();
            assert!(
                english <= LONG_MESSAGE,
                "{} (en): {english} characters",
                line.id
            );
        }
    }
    for (_, walk) in walks() {
        for (id, text) in &walk.shown {
            assert!(text.chars().count() <= LONG_MESSAGE, "{id} as shown");
        }
    }
}

#[test]
fn every_resource_key_exists_and_every_resource_is_offered() {
    let set = flows();
    let mut used: BTreeSet<String> = BTreeSet::new();
    for node in set.nodes.values() {
        for item in &node.items {
            let keys: Vec<&String> = match item {
                Item::Resources { keys, .. } => keys.iter().map(|(k, _)| k).collect(),
                Item::Handoff(spec) => spec.resources.iter().map(|(k, _)| k).collect(),
                _ => continue,
            };
            for key in keys {
                assert!(
                    set.resources.contains_key(key),
                    "{}: the resource {key} is not in ressources.toml",
                    node.name
                );
                used.insert(key.clone());
            }
        }
    }
    for urgent in [false, true] {
        for key in default_handoff_resources(urgent) {
            assert!(set.resources.contains_key(*key), "engine default {key}");
            used.insert(key.to_string());
        }
    }
    for key in RESOURCE_KEYS {
        let by_lang = set
            .resources
            .get(key)
            .unwrap_or_else(|| panic!("ressources.toml lost the key {key}"));
        for lang in LANGS {
            let card = set.resource(lang, key).unwrap();
            assert!(
                card.phone.is_some() || card.text.is_some() || card.url.is_some(),
                "{key} ({lang}) has no way to reach it"
            );
        }
        assert!(by_lang.contains_key("en"), "{key} has no English card");
        assert!(used.contains(key), "the resource {key} is offered nowhere");
    }
}

#[test]
fn no_phone_number_is_written_in_a_flow() {
    let set = flows();
    let table = &set.translations["en"];
    for (_, line) in lines_in_order(set) {
        let english = table.get(&line.id).map(|t| t.text.as_str()).unwrap_or("");
        for (lang, text) in [("fr", line.source.as_str()), ("en", english)] {
            assert!(
                !rules::has_phone_number(&relais::flow::format::to_plain(text)),
                "{}:{} ({}): {}\n{text}",
                line.pos.file,
                line.pos.line,
                line.id,
                Problem::PhoneNumberInFlow { lang: lang.into() }.message("fr")
            );
        }
    }
}

/// The states a trigger is tried from: the menu, a free-text question, and a
/// conversation that has ended.
fn trigger_starts(lang: &str) -> Vec<(&'static str, State)> {
    let set = flows();
    let (menu, _) = start(lang);
    assert_eq!(
        menu.node.as_deref(),
        Some("menu"),
        "{lang}: the welcome leads to the menu"
    );
    let question = walks()
        .iter()
        .find(|(l, _)| l == lang)
        .and_then(|(_, walk)| {
            walk.states
                .iter()
                .map(|(s, _)| s)
                .find(|s| s.node.as_deref().is_some_and(|n| set.nodes[n].asks_text()))
        })
        .expect("a free-text question")
        .clone();
    let mut ended = menu.clone();
    let turn = step(set, &mut ended, Input::Choose("menu_ressources"));
    assert!(turn.outputs.iter().all(|o| !matches!(o, Output::End)));
    let finish = acts(set, &ended)
        .into_iter()
        .find_map(|act| {
            let mut probe = ended.clone();
            let turn = step(set, &mut probe, act.input());
            turn.outputs
                .iter()
                .any(|o| matches!(o, Output::End))
                .then_some(probe)
        })
        .expect("the resources offer a way to finish");
    vec![("menu", menu), ("question", question), ("ended", finish)]
}

fn assert_urgent(set: &FlowSet, from: &State, text: &str, context: &str) {
    let mut state = from.clone();
    let turn = step(set, &mut state, Input::Text(text));
    assert!(
        turn.urgent_fired(),
        "{context}: « {text} » is not taken as urgent"
    );
    let requests = handoffs(&turn.outputs);
    assert!(
        requests.iter().any(|h| h.urgent),
        "{context}: « {text} » gives no urgent handoff: {:?}",
        turn.outputs
    );
    let with_911 = requests
        .iter()
        .any(|h| h.resources.iter().any(|r| r.key == "urgence"))
        || shown_resources(&turn.outputs).contains(&"urgence");
    assert!(with_911, "{context}: « {text} » does not show 911");
}

#[test]
fn every_urgent_trigger_in_both_languages_reaches_the_urgent_path() {
    let set = flows();
    for lang in LANGS {
        let phrases = set.urgent.patterns.get(lang).expect("urgent triggers");
        assert!(
            phrases.len() >= 30,
            "{lang}: only {} urgent triggers",
            phrases.len()
        );
    }
    for session_lang in LANGS {
        for (where_, from) in trigger_starts(session_lang) {
            for (trigger_lang, patterns) in &set.urgent.patterns {
                for pattern in patterns {
                    let text = typed(&pattern.written);
                    let context = format!("{session_lang} session, {where_}, {trigger_lang} list");
                    assert_urgent(set, &from, &text, &context);
                    // Inside a sentence, in capitals.
                    let sentence = format!("euh... {} svp", text.to_uppercase());
                    assert_urgent(set, &from, &sentence, &context);
                }
            }
        }
    }
}

#[test]
fn common_ways_of_saying_it_are_urgent() {
    let set = flows();
    let (menu, _) = start("fr");
    for text in [
        "je veux mourir",
        "Jveux mourir",
        "je pense au suicide",
        "j'ai envie de me suicider",
        "je vais me tuer",
        "j’ai envie de me faire du mal",
        "je me coupe encore",
        "il est dehors",
        "Il est DEHORS!!",
        "il m'attend devant l'école",
        "il me menace de venir chez moi",
        "on me retient ici",
        "je suis enfermée dans sa chambre",
        "il me laisse pas partir",
        "je suis en danger",
        "chu en danger",
        "ils vont me tuer",
        "au secours",
        "i want to die",
        "I wanna die",
        "gonna kms",
        "he's outside my house",
        "hes outside",
        "he is outside right now",
        "he threatened to hurt me",
        "I'm in danger",
        "he won't let me leave",
        "i'm trapped",
        "i've been cutting myself",
        "I don't want to live anymore",
    ] {
        assert_urgent(set, &menu, text, "menu");
    }
    // A threat with no danger named is a question first: "are you in danger now?"
    // (issue 14: the `verifier` level).
    for text in ["Il m’a menacé", "il ma menacer", "they're threatening me"] {
        let mut state = menu.clone();
        let turn = step(set, &mut state, Input::Text(text));
        assert!(
            turn.trace
                .iter()
                .any(|t| matches!(t, Trace::VerifyTrigger(_))),
            "« {text} » is not checked: {:?}",
            turn.trace
        );
    }
}

#[test]
fn everyday_sentences_are_not_urgent() {
    let set = flows();
    for lang in LANGS {
        let (menu, _) = start(lang);
        for text in [
            "aide",
            "j'ai besoin d'aide",
            "aidez-moi svp",
            "c'est quoi la sextorsion?",
            "il me suit sur insta",
            "je peux pas sortir ce soir",
            "mon ami a partagé une photo",
            "j'ai peur",
            "ce qui me retient c'est la gêne",
            "je veux parler à quelqu'un",
            "il est la seule personne qui me comprend",
            "help",
            "I need help",
            "can you help me",
            "what is grooming",
            "he follows me on tiktok",
            "my friend sent a pic",
            "someone is holding me back",
            "he locked me out of my account",
        ] {
            let mut state = menu.clone();
            let turn = step(set, &mut state, Input::Text(text));
            assert!(
                !turn.urgent_fired(),
                "{lang}: « {text} » is taken as urgent: {:?}",
                turn.trace
            );
            assert!(
                handoffs(&turn.outputs).iter().all(|h| !h.urgent),
                "{lang}: {text}"
            );
        }
    }
}

#[test]
fn help_words_lead_to_a_normal_handoff() {
    let set = flows();
    for lang in LANGS {
        let (menu, _) = start(lang);
        for patterns in set.help.patterns.values() {
            for pattern in patterns {
                let text = typed(&pattern.written);
                let mut state = menu.clone();
                let turn = step(set, &mut state, Input::Text(&text));
                let requests = handoffs(&turn.outputs);
                assert!(
                    requests.len() == 1 && !requests[0].urgent,
                    "{lang}: « {text} » gives {:?}",
                    turn.outputs
                );
                assert!(
                    entered(&turn.trace).any(|n| n == "parler"),
                    "{lang}: {text}"
                );
            }
        }
    }
}

#[test]
fn words_the_flow_does_not_know_get_the_choices_again_and_a_person() {
    let set = flows();
    for lang in LANGS {
        let (menu, _) = start(lang);
        let mut state = menu.clone();
        let turn = step(set, &mut state, Input::Text("xyzzy plugh"));
        assert_eq!(state, menu, "{lang}: an unknown word moves nothing");
        let Some(Output::Bot(answer)) = turn.outputs.last() else {
            panic!("{lang}: no answer to an unknown word");
        };
        assert!(answer.choices.iter().any(|c| c.id == CHOICE_TALK), "{lang}");
        assert!(
            answer.choices.iter().any(|c| c.id == "menu_parler"),
            "{lang}"
        );
    }
}

#[test]
fn every_free_text_route_is_reachable_and_goes_where_it_says() {
    let set = flows();
    for (lang, walk) in walks() {
        let mut checked = 0;
        for name in &set.order {
            let node = &set.nodes[name];
            if node.exit.routes.is_empty() {
                continue;
            }
            let state = walk
                .states
                .iter()
                .map(|(s, _)| s)
                .find(|s| s.node.as_deref() == Some(name.as_str()))
                .unwrap_or_else(|| panic!("{lang}: the question {name} is never asked"));
            for route in &node.exit.routes {
                let Target::Node { name: target, .. } = &route.target else {
                    continue;
                };
                for pattern in &route.patterns {
                    let text = typed(&pattern.written);
                    let mut next = state.clone();
                    let turn = step(set, &mut next, Input::Text(&text));
                    assert!(
                        !turn.urgent_fired(),
                        "{lang}: the route word « {text} » is urgent"
                    );
                    let first = entered(&turn.trace).next();
                    assert_eq!(
                        first,
                        Some(target.as_str()),
                        "{lang}: at {name}, « {text} » should lead to {target}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 20, "{lang}: only {checked} route words");
    }
}

#[test]
fn the_menu_keeps_the_ids_the_page_uses() {
    let set = flows();
    for lang in LANGS {
        let (menu, _) = start(lang);
        let mut talk = menu.clone();
        let turn = step(set, &mut talk, Input::Choose("menu_parler"));
        let requests = handoffs(&turn.outputs);
        assert!(
            requests.len() == 1 && !requests[0].urgent,
            "{lang}: {:?}",
            turn.outputs
        );
        let mut resources = menu.clone();
        let turn = step(set, &mut resources, Input::Choose("menu_ressources"));
        assert!(shown_resources(&turn.outputs).len() >= 4, "{lang}");
        let mut danger = menu.clone();
        let turn = step(set, &mut danger, Input::Choose("menu_urgence"));
        assert!(handoffs(&turn.outputs).iter().any(|h| h.urgent), "{lang}");
    }
}

#[test]
fn the_welcome_states_anonymity_the_limit_and_the_quick_exit() {
    for lang in LANGS {
        let (state, outputs) = start(lang);
        let ids: Vec<&str> = outputs
            .iter()
            .filter_map(|o| match o {
                Output::Bot(bot) => Some(bot.line_id.as_str()),
                _ => None,
            })
            .collect();
        for id in [
            "acc_anonyme",
            "acc_limite",
            "acc_choix",
            "acc_sortie",
            "acc_911",
        ] {
            assert!(ids.contains(&id), "{lang}: the welcome lacks {id}");
        }
        assert_eq!(state.node.as_deref(), Some("menu"));
        let Some(Output::Bot(last)) = outputs.last() else {
            panic!("{lang}: the welcome ends without the menu");
        };
        let count = last.choices.len();
        assert!(
            (5..=rules::MENU_MAX).contains(&count),
            "{lang}: the menu has {count} choices; keep 5 to {} (youths also pick by number). {}",
            rules::MENU_MAX,
            Problem::MenuTooLong { count }.message("fr")
        );
    }
}

#[test]
fn the_sextortion_flow_offers_the_urgent_path() {
    let set = flows();
    for (lang, walk) in walks() {
        let nodes: Vec<&str> = set
            .nodes
            .iter()
            .filter(|(_, n)| n.pos.file == "sextorsion.flow")
            .map(|(name, _)| name.as_str())
            .collect();
        assert!(!nodes.is_empty());
        for node in nodes {
            let state = walk
                .states
                .iter()
                .map(|(s, _)| s)
                .find(|s| s.node.as_deref() == Some(node))
                .unwrap_or_else(|| panic!("{lang}: {node} is never reached"));
            let urgent = acts(set, state).into_iter().any(|act| {
                let mut next = state.clone();
                let turn = step(set, &mut next, act.input());
                handoffs(&turn.outputs).iter().any(|h| h.urgent)
            });
            assert!(urgent, "{lang}: {node} offers no urgent path in one tap");
        }
    }
}

#[test]
fn the_first_nations_and_inuit_flow_offers_hope_for_wellness_first() {
    let set = flows();
    for lang in LANGS {
        let (menu, _) = start(lang);
        let mut state = menu.clone();
        let turn = step(set, &mut state, Input::Choose("menu_autochtones"));
        let shown = shown_resources(&turn.outputs);
        assert_eq!(
            shown.first(),
            Some(&"espoir_mieux_etre"),
            "{lang}: {shown:?}"
        );
        // Its own way to a person keeps Hope for Wellness first when nobody is on call.
        let person = acts(set, &state).into_iter().find_map(|act| {
            let mut next = state.clone();
            let turn = step(set, &mut next, act.input());
            handoffs(&turn.outputs).first().map(|h| (*h).clone())
        });
        let person = person.expect("a way to a person from the First Nations and Inuit flow");
        assert_eq!(
            person.resources.first().map(|r| r.key.as_str()),
            Some("espoir_mieux_etre")
        );
        assert!(!person.urgent);
        // The general resources list it too.
        let mut resources = menu.clone();
        let turn = step(set, &mut resources, Input::Choose("menu_ressources"));
        assert!(
            shown_resources(&turn.outputs).contains(&"espoir_mieux_etre"),
            "{lang}"
        );
    }
}

#[test]
fn the_friend_flow_remembers_it_is_for_a_friend() {
    let set = flows();
    let (menu, _) = start("fr");
    let mut state = menu.clone();
    step(set, &mut state, Input::Choose("menu_ami"));
    assert_eq!(state.vars.get("pour_ami").map(String::as_str), Some("oui"));
    // The images theme then speaks of the friend's picture; it does not otherwise.
    let images_lines = |state: &State| -> Vec<String> {
        let mut state = state.clone();
        state.node = Some("situation".into());
        let turn = step(set, &mut state, Input::Choose("sit_images"));
        turn.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Bot(bot) => Some(bot.line_id.clone()),
                _ => None,
            })
            .collect()
    };
    assert!(images_lines(&state).contains(&"img_ami".to_string()));
    assert!(!images_lines(&menu).contains(&"img_ami".to_string()));
}
