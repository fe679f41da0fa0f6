//! The content rules of `flows check` (issue 22): what used to be seen only by the
//! shipped-flow tests, which an author never runs. No phone number outside
//! `ressources.toml`, a menu a youth can pick from by number, a danger button on
//! every theme node, every path ending in help, a person within two taps, buttons
//! short enough for a phone, and the silent mistakes (a question with no `@sinon`,
//! a condition value nothing sets, a line with no id). Also the "did you mean"
//! helpers the other checks use.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use super::diagnostic::{Diagnostic, Hint, Problem};
use super::model::{Condition, FlowSet, Item, Node, Pos, Target, SOURCE_LANG};

/// At most this many choices in the menu: youths also pick by number.
pub const MENU_MAX: usize = 9;
/// Two taps at most to a person, from anywhere.
pub(crate) const PERSON_MAX_TAPS: usize = 2;

/// The closest name: an edit distance of 2 at most (a swap counts 1), or the same
/// name once accents and case are removed.
pub(crate) fn nearest<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let folded = fold_name(name);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let distance = if fold_name(candidate) == folded {
            0
        } else {
            strsim::osa_distance(name, candidate)
        };
        if distance <= 2 && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// A name as it should have been written: lowercase, no accents, `_` for spaces.
pub(crate) fn fold_name(name: &str) -> String {
    name.split(['_', ' '])
        .map(super::text::fold)
        .collect::<Vec<_>>()
        .join("_")
        .replace(' ', "_")
}

/// The hint for a target that names no node: its `===` is missing (a text line says
/// exactly its name), or the closest node.
pub(crate) fn unknown_node_hint(set: &FlowSet, name: &str) -> Option<Hint> {
    if let Some(pos) = header_written_as_text(set, name) {
        return Some(Hint::HeaderMissingAt { at: pos });
    }
    let near = nearest(name, set.order.iter().map(String::as_str))?;
    Some(Hint::DidYouMean {
        name: near.to_string(),
        at: set.nodes.get(near).map(|n| n.pos.clone()),
    })
}

fn header_written_as_text(set: &FlowSet, name: &str) -> Option<Pos> {
    set.order.iter().find_map(|node| {
        set.nodes[node].items.iter().find_map(|item| match item {
            Item::Say { line, .. } if line.source.trim() == name => Some(line.pos.clone()),
            _ => None,
        })
    })
}

/// The lines of a node written as a node name its `===` forgot: the choices after
/// one belong to that other node, so they are not duplicates of the ones above.
pub(crate) fn forgotten_headers(set: &FlowSet, node: &Node) -> Vec<u32> {
    node.items
        .iter()
        .filter_map(|item| match item {
            Item::Say { line, .. }
                if super::parse::valid_name(line.source.trim())
                    && !set.nodes.contains_key(line.source.trim()) =>
            {
                Some(line.pos.line)
            }
            _ => None,
        })
        .collect()
}

/// The ids of the route words a translator translates: `node.quand.N`.
pub(crate) fn route_ids(set: &FlowSet) -> Vec<String> {
    set.nodes
        .values()
        .flat_map(|node| {
            (0..node.exit.routes.len()).map(|i| super::translate::route_id(&node.name, i))
        })
        .collect()
}

/// The node the welcome leads to, following its jumps: the menu.
pub(crate) fn menu(set: &FlowSet) -> Option<&Node> {
    let mut node = set.nodes.get(&set.start)?;
    let mut hops = 0;
    while let Some(Target::Node { name, .. }) = &node.exit.jump {
        node = set.nodes.get(name)?;
        hops += 1;
        if hops > 64 {
            return None;
        }
    }
    Some(node)
}

/// Whether a text holds a phone number: seven digits or more in a row, spaces,
/// dashes, dots and brackets allowed between them (911 and 811 are short enough).
pub fn has_phone_number(text: &str) -> bool {
    let mut digits = 0;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits += 1;
            if digits >= 7 {
                return true;
            }
        } else if !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}' | '\u{202f}') {
            digits = 0;
        }
    }
    false
}

/// The theme nodes: the nodes a youth reaches from a menu choice without going back
/// through the menu, that show buttons, and that are neither the urgent node, the
/// help node, a request for a person nor a step of a report.
pub(crate) fn theme_nodes(set: &FlowSet) -> Vec<&Node> {
    let Some(menu) = menu(set) else {
        return Vec::new();
    };
    let stop: HashSet<&str> = [
        set.start.as_str(),
        menu.name.as_str(),
        set.urgent.node.as_str(),
        set.help.node.as_str(),
    ]
    .into_iter()
    .collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut queue: VecDeque<&str> = menu
        .exit
        .choices
        .iter()
        .filter_map(|c| match &c.target {
            Target::Node { name, .. } => Some(name.as_str()),
            Target::End { .. } => None,
        })
        .collect();
    let mut themes = Vec::new();
    while let Some(name) = queue.pop_front() {
        if stop.contains(name) || !seen.insert(name) {
            continue;
        }
        let Some(node) = set.nodes.get(name) else {
            continue;
        };
        let report_step = node.items.iter().any(|item| {
            matches!(
                item,
                Item::ReportField { .. }
                    | Item::ReportSummary { .. }
                    | Item::ReportSubmit { .. }
                    | Item::ReceiptLookup { .. }
                    | Item::ReportAppend { .. }
            )
        });
        if report_step {
            continue;
        }
        if !node.exit.choices.is_empty() && node.handoff().is_none() {
            themes.push(node);
        }
        for target in node.targets() {
            if let Target::Node { name, .. } = target {
                queue.push_back(name);
            }
        }
    }
    themes.sort_by(|a, b| a.pos.cmp(&b.pos));
    themes
}

/// Every value each variable can take: what `~ var = value` sets anywhere, and the
/// languages for `langue`.
pub(crate) fn known_values(set: &FlowSet) -> BTreeMap<String, BTreeSet<String>> {
    values_set_by(set.nodes.values(), &set.languages())
}

/// The values these nodes give each variable, and `langue` its languages.
pub(crate) fn values_set_by<'n>(
    nodes: impl Iterator<Item = &'n Node>,
    languages: &[String],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut known: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    known
        .entry("langue".into())
        .or_default()
        .extend(languages.iter().cloned());
    for node in nodes {
        let sets = node
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Set(a) => Some(a),
                _ => None,
            })
            .chain(node.exit.choices.iter().flat_map(|c| &c.sets))
            .chain(node.exit.routes.iter().flat_map(|r| &r.sets))
            .chain(node.exit.otherwise.iter().flat_map(|o| &o.1));
        for assignment in sets {
            known
                .entry(assignment.var.clone())
                .or_default()
                .insert(assignment.value.clone());
        }
    }
    known
}

pub(crate) fn check_content(set: &FlowSet, out: &mut Vec<Diagnostic>) {
    let structural_errors = out.iter().any(Diagnostic::is_error);
    check_lines(set, out);
    check_menu(set, out);
    check_conditions(set, out);
    for node in theme_nodes(set) {
        let danger = node.exit.choices.iter().any(
            |c| matches!(&c.target, Target::Node { name, .. } if leads_to_urgent_help(set, name)),
        );
        if !danger && set.nodes.contains_key(&set.urgent.node) {
            out.push(Diagnostic::new(
                node.pos.clone(),
                Problem::ThemeWithoutDangerButton {
                    name: node.name.clone(),
                },
            ));
        }
    }
    // The walk plays the flows: only on a set whose links all hold.
    if !structural_errors && set.nodes.contains_key(&set.start) {
        check_walk(set, out);
    }
}

/// A danger button's target: the urgent node, a node that asks for a person urgently,
/// or a "danger now" node that shows the 911 card (`urgence`) and is one tap from
/// either.
fn leads_to_urgent_help(set: &FlowSet, name: &str) -> bool {
    let urgent_here = |name: &str| {
        name == set.urgent.node
            || set
                .nodes
                .get(name)
                .and_then(Node::handoff)
                .is_some_and(|spec| spec.urgent)
    };
    urgent_here(name)
        || set.nodes.get(name).is_some_and(|node| {
            let shows_911 = node.items.iter().any(
                |item| matches!(item, Item::Resources { keys, .. } if keys.iter().any(|(k, _)| k == "urgence")),
            );
            shows_911
                && node.exit.choices.iter().any(
                    |c| matches!(&c.target, Target::Node { name, .. } if urgent_here(name)),
                )
        })
}

/// Phone numbers, line ids, button length, questions with no `@sinon`, a node name
/// written as a message (its `===` forgotten).
fn check_lines(set: &FlowSet, out: &mut Vec<Diagnostic>) {
    let missing_targets: HashSet<&str> = set
        .nodes
        .values()
        .flat_map(|n| n.targets())
        .filter_map(|t| match t {
            Target::Node { name, .. } if !set.nodes.contains_key(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    for name in &set.order {
        let node = &set.nodes[name];
        let mut headers = HashSet::new();
        for item in &node.items {
            if let Item::Say { line, .. } = item {
                if missing_targets.contains(line.source.trim()) {
                    headers.insert(line.pos.line);
                    out.push(Diagnostic::new(
                        line.pos.clone(),
                        Problem::MissingHeader {
                            name: line.source.trim().to_string(),
                        },
                    ));
                }
            }
        }
        for line in node.text_lines() {
            if has_phone_number(&super::format::to_plain(&line.source)) {
                out.push(Diagnostic::new(
                    line.pos.clone(),
                    Problem::PhoneNumberInFlow {
                        lang: SOURCE_LANG.into(),
                    },
                ));
            }
            if !line.explicit_id && !headers.contains(&line.pos.line) {
                out.push(Diagnostic::new(line.pos.clone(), Problem::MissingLineId));
            }
            for (lang, table) in &set.translations {
                if let Some(translation) = table.get(&line.id) {
                    if has_phone_number(&super::format::to_plain(&translation.text)) {
                        out.push(Diagnostic::new(
                            translation.pos.clone(),
                            Problem::PhoneNumberInFlow { lang: lang.clone() },
                        ));
                    }
                }
            }
        }
        for choice in &node.exit.choices {
            let chars = super::format::to_visible(&choice.label.source)
                .chars()
                .count();
            if chars > super::check::LONG_BUTTON {
                out.push(Diagnostic::new(
                    choice.label.pos.clone(),
                    Problem::LongButton { chars },
                ));
            }
        }
        let takes_text_elsewhere = node.receipt_lookup().is_some()
            || node.report_field().is_some()
            || node.appends_to_report();
        if node.asks_text() && node.exit.otherwise.is_none() && !takes_text_elsewhere {
            let pos = node
                .items
                .iter()
                .find_map(|item| match item {
                    Item::Say {
                        line,
                        question: true,
                        ..
                    } => Some(line.pos.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| node.pos.clone());
            out.push(Diagnostic::new(pos, Problem::QuestionWithoutOtherwise));
        }
    }
}

fn check_menu(set: &FlowSet, out: &mut Vec<Diagnostic>) {
    if let Some(menu) = menu(set) {
        let count = menu.exit.choices.len();
        if count > MENU_MAX {
            out.push(Diagnostic::new(
                menu.exit.choices[MENU_MAX].place().clone(),
                Problem::MenuTooLong { count },
            ));
        }
    }
}

/// `{si var = valeur}` where nothing ever sets that value, or that variable.
fn check_conditions(set: &FlowSet, out: &mut Vec<Diagnostic>) {
    let known = known_values(set);
    for name in &set.order {
        let node = &set.nodes[name];
        let conditions = node
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Say {
                    line,
                    condition: Some(c),
                    ..
                } => Some((c, &line.pos)),
                _ => None,
            })
            .chain(
                node.exit
                    .choices
                    .iter()
                    .filter_map(|c| c.condition.as_ref().map(|cond| (cond, &c.pos))),
            );
        for (condition, pos) in conditions {
            let var = condition.var();
            let Some(values) = known.get(var) else {
                let hint =
                    nearest(var, known.keys().map(String::as_str)).map(|near| Hint::DidYouMean {
                        name: near.to_string(),
                        at: None,
                    });
                out.push(
                    Diagnostic::new(
                        pos.clone(),
                        Problem::UnknownConditionVar { var: var.into() },
                    )
                    .with_hint(hint),
                );
                continue;
            };
            let value = match condition {
                Condition::Equals { value, .. } | Condition::NotEquals { value, .. } => value,
                Condition::IsSet { .. } | Condition::IsUnset { .. } => continue,
            };
            if !values.contains(value) {
                let hint = nearest(value, values.iter().map(String::as_str)).map(|near| {
                    Hint::DidYouMean {
                        name: near.to_string(),
                        at: None,
                    }
                });
                out.push(
                    Diagnostic::new(
                        pos.clone(),
                        Problem::UnknownConditionValue {
                            var: var.into(),
                            value: value.clone(),
                            known: values.iter().cloned().collect(),
                        },
                    )
                    .with_hint(hint),
                );
            }
        }
    }
}

/// Where entering a node leads once its jumps are followed: the node the flow waits
/// at (`None`: the conversation ends), and whether help (a resource or a person) was
/// offered on the way.
fn settle<'s>(set: &'s FlowSet, first: &'s str) -> (Option<&'s str>, bool, bool) {
    let mut name = first;
    let (mut help, mut person) = (false, false);
    for _ in 0..64 {
        let Some(node) = set.nodes.get(name) else {
            return (None, help, person);
        };
        person |= node.handoff().is_some();
        help |= person || node.shows_resource();
        match &node.exit.jump {
            Some(Target::Node { name: next, .. }) => name = next,
            Some(Target::End { .. }) => return (None, help, person),
            None => {
                let waits = !node.exit.choices.is_empty() || node.asks_text();
                let stays = waits || node.handoff().is_some();
                return (stays.then_some(name), help, person);
            }
        }
    }
    (None, help, person)
}

/// The moves a youth makes where the flow waits: a tap on a choice or an answer
/// typed (a route or `@sinon`), each with its label and place.
fn moves(node: &Node) -> Vec<(&Target, String, &Pos)> {
    let mut moves: Vec<(&Target, String, &Pos)> = node
        .exit
        .choices
        .iter()
        .map(|c| (&c.target, c.label.source.clone(), &c.pos))
        .collect();
    for route in &node.exit.routes {
        let written = route.patterns.first().map(|p| p.written.clone());
        moves.push((&route.target, written.unwrap_or_default(), &route.pos));
    }
    if let Some((target, _, pos)) = &node.exit.otherwise {
        moves.push((target, "@sinon".into(), pos));
    }
    if let Some((found, missing)) = node.receipt_lookup() {
        moves.push((found, "@code_de_suivi".into(), &node.pos));
        moves.push((missing, "@code_de_suivi".into(), &node.pos));
    }
    moves
}

/// Every path from the start, on the graph of nodes (conditions are not weighed: a
/// path a condition hides is still checked): an end before any help, and a person
/// more than two taps away.
fn check_walk(set: &FlowSet, out: &mut Vec<Diagnostic>) {
    let (first, help, _) = settle(set, &set.start);
    let Some(first) = first else {
        return;
    };
    let mut seen: HashSet<(&str, bool)> = HashSet::new();
    let mut queue = VecDeque::from([(first, help)]);
    let mut reported: HashSet<(String, u32)> = HashSet::new();
    let mut waiting: Vec<&str> = Vec::new();
    // Which waiting node leads to which, and whether that move reaches a person.
    let mut edges: Vec<(&str, Option<&str>, bool)> = Vec::new();
    while let Some((name, help)) = queue.pop_front() {
        if !seen.insert((name, help)) {
            continue;
        }
        if !waiting.contains(&name) {
            waiting.push(name);
        }
        let node = &set.nodes[name];
        for (target, label, pos) in moves(node) {
            let (next, help_now, person) = match target {
                Target::End { .. } => (None, help, false),
                Target::Node { name, .. } => {
                    let (next, got, person) = settle(set, name);
                    (next, help || got, person)
                }
            };
            edges.push((name, next, person));
            match next {
                None if !help_now && reported.insert((pos.file.clone(), pos.line)) => {
                    out.push(Diagnostic::new(
                        pos.clone(),
                        Problem::EndWithoutHelp { choice: label },
                    ));
                }
                None => {}
                Some(next) => queue.push_back((next, help_now)),
            }
        }
    }
    // Fewest taps to a person, backwards from the moves that reach one.
    let mut taps: HashMap<&str, usize> = HashMap::new();
    let mut changed = true;
    while changed {
        changed = false;
        for (from, to, person) in &edges {
            let via = if *person {
                Some(1)
            } else {
                to.and_then(|t| taps.get(t)).map(|d| d + 1)
            };
            if let Some(via) = via {
                if taps.get(from).is_none_or(|d| via < *d) {
                    taps.insert(from, via);
                    changed = true;
                }
            }
        }
    }
    for name in waiting {
        let node = &set.nodes[name];
        if node.handoff().is_some() || name == set.urgent.node || name == set.help.node {
            continue;
        }
        let found = taps.get(name).copied();
        if found.is_none_or(|t| t > PERSON_MAX_TAPS) {
            out.push(Diagnostic::new(
                node.pos.clone(),
                Problem::PersonTooFar {
                    name: name.to_string(),
                    taps: found,
                },
            ));
        }
    }
}
