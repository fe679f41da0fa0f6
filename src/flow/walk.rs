//! A breadth-first walk of every state a youth can reach by tapping every choice and
//! typing every word a free-text question knows, with the pure engine. `flows check`
//! uses it for the rules no single node shows (every path ends in help, a person is
//! never more than two taps away), and the shipped-flow tests walk with it too, so
//! the rules have one source.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::engine::{self, step, visible_choices, Input, Output, State, Step, Trace};
use super::model::FlowSet;

/// A bound on the walk, far above what real flows need; past it the walk stops.
pub(crate) const MAX_STATES: usize = 200_000;

/// What the youth does where the flow waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// A choice, by line id.
    Choose(String),
    /// Free text.
    Text(String),
}

impl Act {
    pub fn input(&self) -> Input<'_> {
        match self {
            Act::Choose(id) => Input::Choose(id),
            Act::Text(text) => Input::Text(text),
        }
    }
}

/// Text a youth could type so that a written pattern matches: `suicid*` → `suicid`.
pub fn typed(pattern: &str) -> String {
    pattern.replace('*', "")
}

/// A sentence no route knows, to follow `@sinon`.
pub(crate) const UNKNOWN_WORDS: &str = "xyzzy plugh";

/// Every visible choice and, at a free-text question, every pattern of its routes
/// and a sentence no route knows.
pub fn acts(set: &FlowSet, state: &State) -> Vec<Act> {
    let Some(node) = state.node.as_deref().and_then(|n| set.nodes.get(n)) else {
        return Vec::new();
    };
    let mut acts: Vec<Act> = visible_choices(node, &state.vars)
        .map(|c| Act::Choose(c.label.id.clone()))
        .collect();
    if node.asks_text() {
        for route in &node.exit.routes {
            for pattern in &route.patterns {
                acts.push(Act::Text(typed(&pattern.written)));
            }
        }
        acts.push(Act::Text(UNKNOWN_WORDS.into()));
    }
    acts
}

/// A move of the walk: from a state, to a state (`None`: the conversation ended).
#[derive(Debug, Clone)]
pub struct Edge {
    pub from: usize,
    pub to: Option<usize>,
    /// The move requested a person.
    pub handoff: bool,
}

/// Something a youth would meet on the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// An act that ends the conversation before any resource or person was offered.
    EndWithoutHelp { node: String, act: Act },
    /// A choice was offered but the engine refused it.
    Refused { node: String, act: Act },
}

#[derive(Debug, Default)]
pub struct Walk {
    /// Every state, with whether help (a resource or a person) was offered on the way.
    pub states: Vec<(State, bool)>,
    /// Taps from the start to each state.
    pub depth: Vec<usize>,
    pub edges: Vec<Edge>,
    /// The fewest taps from the start after which each node was entered.
    pub first_entered: HashMap<String, usize>,
    /// Every line id of a bot message shown, with its text.
    pub shown: Vec<(String, String)>,
    /// Every resource key shown on a message or offered with a request for a person.
    pub resources: BTreeSet<String>,
    pub failures: Vec<Failure>,
    /// The walk stopped at `MAX_STATES`.
    pub truncated: bool,
}

type Key = (Option<String>, BTreeMap<String, String>, bool);

pub(crate) fn handoff_requested(outputs: &[Output]) -> bool {
    outputs.iter().any(|o| matches!(o, Output::Handoff(_)))
}

pub(crate) fn resources_shown(outputs: &[Output]) -> bool {
    outputs
        .iter()
        .any(|o| matches!(o, Output::Bot(bot) if !bot.resources.is_empty()))
}

fn entered(trace: &[Trace]) -> impl Iterator<Item = &str> {
    trace.iter().filter_map(|t| match t {
        Trace::Entered(node) => Some(node.as_str()),
        _ => None,
    })
}

/// Walks every reachable state of a language from the start node.
pub fn walk(set: &FlowSet, lang: &str) -> Walk {
    let mut walk = Walk::default();
    let mut first = State {
        node: None,
        vars: BTreeMap::new(),
        lang: lang.to_string(),
    };
    let turn = step(set, &mut first, Input::Start);
    if first.node.is_none() {
        return walk;
    }
    for node in entered(&turn.trace) {
        walk.first_entered.entry(node.to_string()).or_insert(0);
    }
    record_shown(&mut walk, &turn.outputs);
    let seen = resources_shown(&turn.outputs) || handoff_requested(&turn.outputs);
    let mut index: rustc_hash::FxHashMap<Key, usize> = Default::default();
    let mut queue = VecDeque::new();
    index.insert((first.node.clone(), first.vars.clone(), seen), 0);
    walk.states.push((first, seen));
    walk.depth.push(0);
    queue.push_back(0);

    while let Some(from) = queue.pop_front() {
        if walk.states.len() >= MAX_STATES {
            walk.truncated = true;
            break;
        }
        let (state, seen) = walk.states[from].clone();
        let depth = walk.depth[from];
        let here = state.node.clone().unwrap_or_default();
        for act in acts(set, &state) {
            let mut next = state.clone();
            let turn = step(set, &mut next, act.input());
            if turn.not_expected {
                walk.failures.push(Failure::Refused {
                    node: here.clone(),
                    act,
                });
                continue;
            }
            // Text typed where a receipt is asked: the server goes on at the node for
            // a receipt found, or the one for a receipt not found. Walk both.
            let receipt = turn.outputs.iter().find_map(|o| match o {
                Output::ReceiptTyped { found, missing, .. } => {
                    Some([found.clone(), missing.clone()])
                }
                _ => None,
            });
            let branches: Vec<(State, Step)> = match receipt {
                Some(targets) => targets
                    .iter()
                    .map(|target| {
                        let mut branch = next.clone();
                        let turn = engine::go(set, &mut branch, target);
                        (branch, turn)
                    })
                    .collect(),
                None => vec![(next, turn)],
            };
            for (next, turn) in branches {
                for node in entered(&turn.trace) {
                    let best = walk
                        .first_entered
                        .entry(node.to_string())
                        .or_insert(depth + 1);
                    *best = (*best).min(depth + 1);
                }
                record_shown(&mut walk, &turn.outputs);
                let handoff = handoff_requested(&turn.outputs);
                let seen_now = seen || handoff || resources_shown(&turn.outputs);
                let ended = turn.outputs.iter().any(|o| matches!(o, Output::End));
                if ended && !seen_now {
                    let failure = Failure::EndWithoutHelp {
                        node: here.clone(),
                        act: act.clone(),
                    };
                    if !walk.failures.contains(&failure) {
                        walk.failures.push(failure);
                    }
                }
                let to = if next.node.is_none() {
                    None
                } else {
                    // Where an urgent detour comes back to (`retour`) is left out of
                    // the state: with it, every urgent node is walked once per node it
                    // can be reached from, times every other variable (past 50,000
                    // states). The way back itself is played in tests/it/urgent.rs.
                    let mut vars = next.vars.clone();
                    vars.remove(super::triggers::RETURN_VAR);
                    let key: Key = (next.node.clone(), vars, seen_now);
                    Some(*index.entry(key).or_insert_with(|| {
                        walk.states.push((next.clone(), seen_now));
                        walk.depth.push(depth + 1);
                        queue.push_back(walk.states.len() - 1);
                        walk.states.len() - 1
                    }))
                };
                walk.edges.push(Edge { from, to, handoff });
            }
        }
    }
    walk
}

fn record_shown(walk: &mut Walk, outputs: &[Output]) {
    for output in outputs {
        match output {
            Output::Bot(bot) => {
                walk.shown.push((bot.line_id.clone(), bot.text.to_string()));
                walk.resources
                    .extend(bot.resources.iter().map(|r| r.key.clone()));
            }
            Output::Handoff(request) => walk
                .resources
                .extend(request.resources.iter().map(|r| r.key.clone())),
            _ => {}
        }
    }
}

/// For each state, the fewest taps to a request for a person (`None`: never).
pub fn taps_to_a_person(walk: &Walk) -> Vec<Option<usize>> {
    let mut predecessors: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut distance = vec![None; walk.states.len()];
    let mut queue = VecDeque::new();
    for edge in &walk.edges {
        if edge.handoff && distance[edge.from].is_none() {
            distance[edge.from] = Some(1);
            queue.push_back(edge.from);
        }
        if let Some(to) = edge.to {
            predecessors.entry(to).or_default().push(edge.from);
        }
    }
    while let Some(state) = queue.pop_front() {
        let next = distance[state].map(|d| d + 1);
        for &before in predecessors.get(&state).into_iter().flatten() {
            if distance[before].is_none() {
                distance[before] = next;
                queue.push_back(before);
            }
        }
    }
    distance
}
