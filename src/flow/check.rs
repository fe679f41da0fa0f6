//! The checks that need the whole flow set: targets that exist, resources that
//! exist, nodes nothing reaches, dead ends, loops of jumps, triggers for every
//! language, translations missing or stale, and messages too long for a phone.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use super::diagnostic::{Diagnostic, Hint, Problem};
use super::load::line_hash;
use super::model::{FlowSet, Item, Pos, Target, SOURCE_LANG};
use super::text;

/// Above this many characters a message is hard to read on a phone.
pub const LONG_MESSAGE: usize = 280;
/// Above this many visible characters a button overflows on a phone.
pub(crate) const LONG_BUTTON: usize = 60;

pub(crate) fn check(set: &FlowSet) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let exists =
        |name: &str| set.nodes.contains_key(name) || name == super::triggers::RETURN_TARGET;

    if !set.nodes.is_empty() && !exists(&set.start) {
        let pos = set
            .order
            .first()
            .and_then(|n| set.nodes.get(n))
            .map(|n| n.pos.clone())
            .unwrap_or_default();
        out.push(Diagnostic::new(
            pos,
            Problem::StartNodeMissing {
                name: set.start.clone(),
            },
        ));
    }

    let mut first_line_id: HashMap<&str, &Pos> = HashMap::new();
    for name in &set.order {
        let Some(node) = set.nodes.get(name) else {
            continue;
        };
        for target in node.targets() {
            if let Target::Node { name, pos } = target {
                if !exists(name) {
                    out.push(
                        Diagnostic::new(pos.clone(), Problem::UnknownTarget { name: name.clone() })
                            .with_hint(super::rules::unknown_node_hint(set, name)),
                    );
                }
            }
        }
        let mut shows_text = false;
        for item in &node.items {
            match item {
                Item::Resources { keys, .. } => {
                    for (key, pos) in keys {
                        check_resource(set, key, pos, &mut out);
                    }
                }
                Item::Handoff(spec) => {
                    for (key, pos) in &spec.resources {
                        check_resource(set, key, pos, &mut out);
                    }
                }
                Item::Say { .. } => shows_text = true,
                Item::Set(_)
                | Item::ReportField { .. }
                | Item::ReportSummary { .. }
                | Item::ReportSubmit { .. }
                | Item::ReceiptLookup { .. }
                | Item::ReportAppend { .. } => {}
            }
        }
        for line in node.text_lines() {
            if let Some(first) = first_line_id.get(line.id.as_str()) {
                if **first == line.pos {
                    // A block's line, in another node that includes it.
                    continue;
                }
                out.push(Diagnostic::new(
                    line.pos.clone(),
                    Problem::DuplicateLineId {
                        id: line.id.clone(),
                        first: (*first).clone(),
                    },
                ));
            } else {
                first_line_id.insert(&line.id, &line.pos);
            }
            let chars = super::format::to_visible(&line.source).chars().count();
            if chars > LONG_MESSAGE {
                out.push(Diagnostic::new(
                    line.pos.clone(),
                    Problem::LongMessage { chars },
                ));
            }
        }
        let mut labels: HashMap<_, &Pos> = HashMap::new();
        let headers = super::rules::forgotten_headers(set, node);
        for choice in &node.exit.choices {
            // Choices shown under different conditions may share a label.
            let place = choice.place();
            let segment = headers.iter().filter(|l| **l < place.line).count();
            let key = (
                text::fold(&choice.label.source),
                choice.condition.as_ref().map(|c| format!("{c:?}")),
                segment,
            );
            if let Some(first) = labels.get(&key) {
                out.push(
                    Diagnostic::new(
                        place.clone(),
                        Problem::DuplicateChoiceLabel {
                            label: choice.label.source.clone(),
                        },
                    )
                    .with_hint(Some(Hint::FirstAt {
                        node: node.name.clone(),
                        at: (*first).clone(),
                    })),
                );
            } else {
                labels.insert(key, place);
            }
        }
        let has_exit = !node.exit.choices.is_empty()
            || node.exit.jump.is_some()
            || node.asks_text()
            || node.handoff().is_some()
            || node.shows_resource();
        let is_empty = !shows_text && node.exit.jump.is_none() && node.handoff().is_none();
        if !has_exit && !is_empty {
            out.push(Diagnostic::new(
                node.pos.clone(),
                Problem::DeadEnd {
                    name: node.name.clone(),
                },
            ));
        }
        if is_empty {
            out.push(Diagnostic::new(
                node.pos.clone(),
                Problem::EmptyNode {
                    name: node.name.clone(),
                },
            ));
        }
        if !node.exit.routes.is_empty()
            && !node
                .items
                .iter()
                .any(|item| matches!(item, Item::Say { question: true, .. }))
        {
            out.push(Diagnostic::new(
                node.exit.routes[0].pos.clone(),
                Problem::RoutesWithoutQuestion,
            ));
        }
    }

    check_jump_loops(set, &mut out);
    check_reachable(set, &mut out);
    check_triggers(set, &mut out);
    set.triggers.check(
        &|name| set.nodes.contains_key(name) || set.nodes.is_empty(),
        &mut out,
    );
    super::themes::check(
        &set.themes,
        &set.triggers,
        &|name| set.nodes.contains_key(name) || set.nodes.is_empty(),
        &mut out,
    );
    check_translations(set, &mut out);
    super::rules::check_content(set, &mut out);
    out
}

fn check_resource(set: &FlowSet, key: &str, pos: &Pos, out: &mut Vec<Diagnostic>) {
    if !set.resources.contains_key(key) {
        let keys: Vec<&str> = set.resources.keys().map(String::as_str).collect();
        let hint = match super::rules::nearest(key, keys.iter().copied()) {
            Some(near) => Hint::DidYouMean {
                name: near.to_string(),
                at: None,
            },
            None => Hint::Known {
                names: keys.iter().map(|k| k.to_string()).collect(),
            },
        };
        out.push(
            Diagnostic::new(pos.clone(), Problem::UnknownResource { key: key.into() })
                .with_hint(Some(hint)),
        );
    }
}

/// A chain of plain jumps that comes back on itself would never stop.
fn check_jump_loops(set: &FlowSet, out: &mut Vec<Diagnostic>) {
    let mut reported = HashSet::new();
    for name in &set.order {
        let mut seen = Vec::new();
        let mut current = name.as_str();
        while let Some(node) = set.nodes.get(current) {
            if seen.contains(&current) {
                if reported.insert(current.to_string()) && current == name {
                    out.push(Diagnostic::new(
                        node.pos.clone(),
                        Problem::JumpLoop {
                            name: current.to_string(),
                        },
                    ));
                }
                break;
            }
            seen.push(current);
            match &node.exit.jump {
                Some(Target::Node { name, .. })
                    if node.exit.choices.is_empty() && !node.asks_text() =>
                {
                    current = name
                }
                _ => break,
            }
        }
    }
}

fn check_reachable(set: &FlowSet, out: &mut Vec<Diagnostic>) {
    let mut reached: BTreeSet<&str> = BTreeSet::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    let roots = [&set.start, &set.urgent.node, &set.help.node];
    for root in roots
        .into_iter()
        .map(String::as_str)
        .chain(set.triggers.nodes())
    {
        if set.nodes.contains_key(root) {
            queue.push_back(root);
        }
    }
    while let Some(name) = queue.pop_front() {
        if !reached.insert(name) {
            continue;
        }
        if let Some(node) = set.nodes.get(name) {
            for target in node.targets() {
                if let Target::Node { name, .. } = target {
                    if set.nodes.contains_key(name.as_str()) {
                        queue.push_back(name);
                    }
                }
            }
        }
    }
    // Report an unreachable node only at its root: the nodes reached only through
    // it are counted in its sentence.
    let unreached: Vec<&str> = set
        .order
        .iter()
        .map(String::as_str)
        .filter(|name| !reached.contains(name))
        .collect();
    let mut has_parent: HashSet<&str> = HashSet::new();
    for name in &unreached {
        if let Some(node) = set.nodes.get(*name) {
            for target in node.targets() {
                if let Target::Node { name: to, .. } = target {
                    if to != name {
                        has_parent.insert(to.as_str());
                    }
                }
            }
        }
    }
    let mut covered: HashSet<&str> = HashSet::new();
    let roots_first = unreached
        .iter()
        .filter(|n| !has_parent.contains(*n))
        .chain(unreached.iter());
    for root in roots_first {
        if covered.contains(root) {
            continue;
        }
        let mut count = 0;
        let mut queue = VecDeque::from([*root]);
        while let Some(name) = queue.pop_front() {
            if reached.contains(name) || !covered.insert(name) {
                continue;
            }
            count += 1;
            if let Some(node) = set.nodes.get(name) {
                for target in node.targets() {
                    if let Target::Node { name: to, .. } = target {
                        if set.nodes.contains_key(to.as_str()) {
                            queue.push_back(to);
                        }
                    }
                }
            }
        }
        if let Some(node) = set.nodes.get(*root) {
            let hint = (count > 1).then_some(Hint::AlsoUnreachable { count: count - 1 });
            out.push(
                Diagnostic::new(
                    node.pos.clone(),
                    Problem::UnreachableNode {
                        name: root.to_string(),
                    },
                )
                .with_hint(hint),
            );
        }
    }
}

fn check_triggers(set: &FlowSet, out: &mut Vec<Diagnostic>) {
    for (kind, triggers) in [("urgence", &set.urgent), ("aide", &set.help)] {
        if triggers.node.is_empty() {
            continue;
        }
        if !set.nodes.contains_key(&triggers.node) && !set.nodes.is_empty() {
            out.push(Diagnostic::new(
                triggers.node_pos.clone(),
                Problem::UnknownTarget {
                    name: triggers.node.clone(),
                },
            ));
        }
        if kind == "urgence" {
            for lang in set.languages() {
                if triggers.patterns.get(&lang).is_none_or(Vec::is_empty) {
                    out.push(Diagnostic::new(
                        triggers.node_pos.clone(),
                        Problem::TriggerLanguageMissing {
                            kind: kind.into(),
                            lang,
                        },
                    ));
                }
            }
        }
    }
}

fn check_translations(set: &FlowSet, out: &mut Vec<Diagnostic>) {
    let mut all_ids = HashSet::new();
    let lines = super::load::lines_in_order(set);
    for (_, line) in &lines {
        all_ids.insert(line.id.as_str());
    }
    let route_ids = super::rules::route_ids(set);
    for id in &route_ids {
        all_ids.insert(id.as_str());
    }
    let written_ids: HashSet<String> = set
        .sources
        .iter()
        .filter(|(name, _)| name.ends_with(".flow"))
        .flat_map(|(_, source)| source.split("#id:").skip(1))
        .filter_map(|after| after.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let written_ids: HashSet<&str> = written_ids.iter().map(String::as_str).collect();
    for (lang, table) in &set.translations {
        if lang == SOURCE_LANG {
            continue;
        }
        for (_, line) in &lines {
            match table.get(&line.id) {
                None => out.push(Diagnostic::new(
                    line.pos.clone(),
                    Problem::TranslationMissing {
                        id: line.id.clone(),
                        lang: lang.clone(),
                    },
                )),
                Some(translation) if translation.source_hash != line_hash(&line.source) => out
                    .push(
                        Diagnostic::new(
                            translation.pos.clone(),
                            Problem::TranslationStale {
                                id: line.id.clone(),
                                lang: lang.clone(),
                            },
                        )
                        .with_hint(Some(Hint::FrenchAt {
                            at: line.pos.clone(),
                        })),
                    ),
                Some(translation) => {
                    let chars = super::format::to_visible(&translation.text).chars().count();
                    if chars > LONG_MESSAGE {
                        out.push(Diagnostic::new(
                            translation.pos.clone(),
                            Problem::LongMessage { chars },
                        ));
                    }
                }
            }
        }
        for (id, translation) in table {
            // A line the parser refused still exists: no follow-on warning for it.
            if !all_ids.contains(id.as_str()) && !written_ids.contains(id.as_str()) {
                out.push(Diagnostic::new(
                    translation.pos.clone(),
                    Problem::TranslationUnknownId { id: id.clone() },
                ));
            }
        }
    }
}
