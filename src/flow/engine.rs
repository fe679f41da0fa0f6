//! The flow engine. Pure: given a flow set, a session's state and an input, it
//! changes the state and returns what to say. No IO, no clock, no randomness, so the
//! same inputs always give the same conversation, in the server, in `flows try` and
//! in tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::model::{FlowSet, Item, Node, Pattern, ResourceCard, Target};
use super::text;
use super::triggers::{self, Level};
use crate::messages::{say, Text};

/// Special choice ids the engine offers by itself.
pub const CHOICE_TALK: &str = "relais:personne";
pub(crate) const CHOICE_RESTART: &str = "relais:recommencer";

/// At most this many jumps in one turn; past it the turn ends (a checked flow never
/// gets there).
const MAX_HOPS: usize = 64;

/// What the engine remembers of a conversation between two turns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    /// Where the flow waits; `None` once it has ended.
    pub node: Option<String>,
    pub vars: BTreeMap<String, String>,
    pub lang: String,
}

/// What a youth did.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    Start,
    Choose(&'a str),
    Text(&'a str),
    Restart,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceOut {
    pub id: String,
    pub label: Arc<str>,
}

/// One message of the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotMessage {
    pub line_id: String,
    pub text: Arc<str>,
    pub html: Arc<str>,
    pub choices: Vec<ChoiceOut>,
    pub asks_text: bool,
    pub resources: Vec<ResourceCard>,
}

/// A request for a human, as the script wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffRequest {
    pub urgent: bool,
    pub topic: String,
    pub resources: Vec<ResourceCard>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Bot(BotMessage),
    Handoff(HandoffRequest),
    End,
    /// A free-text answer to keep (in memory) as a field of the report being written.
    ReportField {
        field: String,
        value: String,
    },
    /// Show the report so far.
    ReportSummary,
    /// Store the report and give the receipt.
    ReportSubmit,
    /// The youth typed a receipt; the server looks it up and goes on at `found`
    /// or `missing`.
    ReceiptTyped {
        text: String,
        found: Target,
        missing: Target,
    },
    /// Text to add to the report the youth opened with a receipt.
    ReportAppend {
        text: String,
    },
    /// The youth said they are not in danger now: their urgent request for a
    /// person becomes a normal one.
    LowerUrgency,
}

/// Why the engine did what it did, for `flows try`, the preview and statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trace {
    Entered(String),
    UrgentTrigger(String),
    VerifyTrigger(String),
    HelpTrigger(String),
    Route(String),
    Otherwise,
    ChoiceByText(String),
    Set {
        var: String,
        value: String,
    },
    NotUnderstood,
    /// Free text nothing else took, recognised by a theme of `sujets.toml`:
    /// the theme's node and the phrase.
    Theme {
        node: String,
        phrase: String,
    },
    ResourceShown(String),
}

#[derive(Debug, Default)]
pub struct Step {
    pub outputs: Vec<Output>,
    pub trace: Vec<Trace>,
    /// For each trace, how many outputs there were when it happened (so a tool can
    /// write them in the order they happened).
    pub trace_at: Vec<usize>,
    /// The input was a choice not on offer: nothing changed.
    pub not_expected: bool,
}

impl Step {
    pub fn urgent_fired(&self) -> bool {
        self.trace
            .iter()
            .any(|t| matches!(t, Trace::UrgentTrigger(_)))
    }
}

/// Runs one turn.
pub fn step(set: &FlowSet, state: &mut State, input: Input<'_>) -> Step {
    let mut turn = Turn {
        set,
        state,
        step: Step::default(),
    };
    match input {
        Input::Start | Input::Restart => turn.restart(),
        Input::Choose(id) => turn.choose(id),
        Input::Text(text) => turn.text(text),
    }
    turn.step
}

/// Enters a node directly, as a jump would (the authors' tools start anywhere).
pub fn enter(set: &FlowSet, state: &mut State, node: &str) -> Step {
    let mut turn = Turn {
        set,
        state,
        step: Step::default(),
    };
    turn.enter(node);
    turn.step
}

/// Goes to a target (a node or the end), as a choice would (after a receipt lookup).
pub fn go(set: &FlowSet, state: &mut State, target: &Target) -> Step {
    let mut turn = Turn {
        set,
        state,
        step: Step::default(),
    };
    turn.follow(target, &[]);
    turn.step
}

/// The choices a node shows with these variables.
pub fn visible_choices<'n>(
    node: &'n Node,
    vars: &'n BTreeMap<String, String>,
) -> impl Iterator<Item = &'n super::model::Choice> {
    node.exit
        .choices
        .iter()
        .filter(move |choice| choice.condition.as_ref().is_none_or(|c| c.holds(vars)))
}

struct Turn<'a> {
    set: &'a FlowSet,
    state: &'a mut State,
    step: Step,
}

impl<'a> Turn<'a> {
    fn note(&mut self, trace: Trace) {
        self.step.trace.push(trace);
        self.step.trace_at.push(self.step.outputs.len());
    }

    fn restart(&mut self) {
        self.state.vars.clear();
        self.state
            .vars
            .insert("langue".into(), self.state.lang.clone());
        let start = self.set.start.clone();
        self.enter(&start);
    }

    fn choose(&mut self, id: &str) {
        if id == CHOICE_RESTART && self.state.node.is_none() {
            return self.restart();
        }
        if id == CHOICE_TALK && self.set.nodes.contains_key(&self.set.help.node) {
            let help = self.set.help.node.clone();
            return self.enter(&help);
        }
        let chosen = self
            .current()
            .and_then(|node| visible_choices(node, &self.state.vars).find(|c| c.label.id == id))
            .map(|choice| (choice.target.clone(), choice.sets.clone()));
        match chosen {
            Some((target, sets)) => {
                if let Target::Node { name, .. } = &target {
                    if self.set.triggers.is_trigger_node(name) {
                        self.remember_return(None);
                    }
                }
                self.follow(&target, &sets)
            }
            None => self.step.not_expected = true,
        }
    }

    fn text(&mut self, input: &str) {
        let words = text::words(input);
        let hit = self.set.triggers.classify(input).filter(|hit| {
            // "Maybe danger" yields to a free-text question that knows these words
            // (its theme offers the urgent path); clear danger never does.
            hit.section.level == Level::Urgent
                || !self.current().is_some_and(|node| {
                    node.asks_text()
                        && node
                            .exit
                            .routes
                            .iter()
                            .any(|route| route.patterns.iter().any(|p| p.matches(&words)))
                })
        });
        if let Some(hit) = hit {
            let written = hit.pattern.written.clone();
            let node = hit.section.node.clone();
            self.note(match hit.section.level {
                Level::Urgent => Trace::UrgentTrigger(written),
                Level::Verify => Trace::VerifyTrigger(written),
            });
            self.remember_return(Some(input));
            return self.enter(&node);
        }
        if let Some(node) = self.current() {
            if let Some((found, missing)) = node.receipt_lookup() {
                // A receipt: never routed, never matched, only looked up.
                self.step.outputs.push(Output::ReceiptTyped {
                    text: input.to_string(),
                    found: found.clone(),
                    missing: missing.clone(),
                });
                return;
            }
            if let Some(field) = node.report_field() {
                self.step.outputs.push(Output::ReportField {
                    field: field.to_string(),
                    value: input.to_string(),
                });
            }
            if node.appends_to_report() {
                self.step.outputs.push(Output::ReportAppend {
                    text: input.to_string(),
                });
            }
            if node.asks_text() {
                let routed = node.exit.routes.iter().find_map(|route| {
                    route
                        .patterns
                        .iter()
                        .find(|p| p.matches(&words))
                        .map(|p| (p.written.clone(), route.target.clone(), route.sets.clone()))
                });
                if let Some((written, target, sets)) = routed {
                    self.note(Trace::Route(written));
                    return self.follow(&target, &sets);
                }
                if let Some((target, sets, _)) = node.exit.otherwise.clone() {
                    self.note(Trace::Otherwise);
                    return self.follow(&target, &sets);
                }
            }
            let folded = words.join(" ");
            let visible: Vec<_> = visible_choices(node, &self.state.vars).collect();
            let by_label = visible
                .iter()
                .position(|c| {
                    text::fold(&c.label.source) == folded || self.label_in_lang(c) == folded
                })
                .or_else(|| {
                    folded
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=visible.len()).contains(n))
                        .map(|n| n - 1)
                });
            if let Some(index) = by_label {
                let choice = visible[index];
                let (target, sets) = (choice.target.clone(), choice.sets.clone());
                self.step
                    .trace
                    .push(Trace::ChoiceByText(choice.label.id.clone()));
                return self.follow(&target, &sets);
            }
        }
        if let Some(pattern) = first_match(&self.set.help.patterns, &words) {
            if self.set.nodes.contains_key(&self.set.help.node) {
                self.note(Trace::HelpTrigger(pattern));
                let node = self.set.help.node.clone();
                return self.enter(&node);
            }
        }
        if self.theme(input) {
            return;
        }
        self.not_understood();
    }

    /// Free text nothing else took: the first theme of `sujets.toml` whose phrase
    /// is in it leads to its node. Whether it did.
    fn theme(&mut self, input: &str) -> bool {
        let Some(hit) = self.set.themes.classify(input) else {
            return false;
        };
        if !self.set.nodes.contains_key(&hit.section.node) {
            return false;
        }
        let node = hit.section.node.clone();
        self.note(Trace::Theme {
            node: node.clone(),
            phrase: hit.pattern.written.clone(),
        });
        self.enter(&node);
        true
    }

    /// Before a trigger's node: remembers where the youth was (`retour`), unless
    /// they already are on a trigger's node. Text typed at a report question is
    /// kept as its answer, and the way back is the report's next question.
    fn remember_return(&mut self, typed: Option<&str>) {
        let Some(node) = self.current() else {
            return;
        };
        if self.set.triggers.is_trigger_node(&node.name) {
            return;
        }
        let mut back = node.name.clone();
        if let Some(typed) = typed {
            if let Some(field) = node.report_field() {
                self.step.outputs.push(Output::ReportField {
                    field: field.to_string(),
                    value: typed.to_string(),
                });
                if let Some((Target::Node { name, .. }, _, _)) = &node.exit.otherwise {
                    back = name.clone();
                }
            }
            if node.appends_to_report() {
                self.step.outputs.push(Output::ReportAppend {
                    text: typed.to_string(),
                });
            }
        }
        // Kept quietly: where to come back is the engine's, not the author's.
        self.state
            .vars
            .insert(triggers::RETURN_VAR.to_string(), back);
    }

    fn label_in_lang(&self, choice: &super::model::Choice) -> String {
        self.set
            .line(&self.state.lang, &choice.label.id)
            .map(|r| text::fold(&r.text))
            .unwrap_or_default()
    }

    /// The gentle answer to words the flow did not expect: the choices again, and a
    /// way to a person.
    fn not_understood(&mut self) {
        self.note(Trace::NotUnderstood);
        let lang = self.state.lang.clone();
        let mut choices = match self.current() {
            Some(node) => self.choices_out(node),
            None => vec![builtin_choice(&lang, CHOICE_RESTART, Text::StartAgain)],
        };
        if self.set.nodes.contains_key(&self.set.help.node) {
            choices.push(builtin_choice(&lang, CHOICE_TALK, Text::TalkToSomeone));
        }
        let asks_text = self.current().is_some_and(Node::asks_text);
        let mut message = builtin_message(&lang, "relais.not_understood", Text::NotUnderstood);
        message.choices = choices;
        message.asks_text = asks_text;
        self.step.outputs.push(Output::Bot(message));
    }

    fn current(&self) -> Option<&'a Node> {
        self.state
            .node
            .as_deref()
            .and_then(|name| self.set.nodes.get(name))
    }

    fn follow(&mut self, target: &Target, sets: &[super::model::Assignment]) {
        for set in sets {
            self.assign(&set.var, &set.value);
        }
        match target {
            Target::Node { name, .. } => self.enter(name),
            Target::End { .. } => self.end(),
        }
    }

    fn assign(&mut self, var: &str, value: &str) {
        let previous = self.state.vars.insert(var.to_string(), value.to_string());
        // `~ urgence = non` after `urgence = oui`: the off-ramp of the urgent path.
        if var == "urgence" && value == "non" && previous.as_deref() == Some("oui") {
            self.step.outputs.push(Output::LowerUrgency);
        }
        if var == "langue" && self.set.has_language(value) {
            self.state.lang = value.to_string();
        }
        self.note(Trace::Set {
            var: var.into(),
            value: value.into(),
        });
    }

    fn end(&mut self) {
        self.state.node = None;
        self.step.outputs.push(Output::End);
    }

    fn choices_out(&self, node: &Node) -> Vec<ChoiceOut> {
        visible_choices(node, &self.state.vars)
            .map(|choice| ChoiceOut {
                id: choice.label.id.clone(),
                label: self
                    .set
                    .line(&self.state.lang, &choice.label.id)
                    .map(|r| r.text.clone())
                    .unwrap_or_else(|| Arc::from(choice.label.source.as_str())),
            })
            .collect()
    }

    fn cards(&mut self, keys: impl Iterator<Item = String>) -> Vec<ResourceCard> {
        let mut cards = Vec::new();
        for key in keys {
            if let Some(card) = self.set.resource(&self.state.lang, &key) {
                self.note(Trace::ResourceShown(key));
                cards.push(card.clone());
            }
        }
        cards
    }

    /// Enters a node and follows its jumps until the flow waits or ends.
    fn enter(&mut self, first: &str) {
        let mut name = first.to_string();
        for _ in 0..MAX_HOPS {
            if name == triggers::RETURN_TARGET && !self.set.nodes.contains_key(&name) {
                // Back where the youth was before the urgent detour.
                name = self
                    .state
                    .vars
                    .get(triggers::RETURN_VAR)
                    .filter(|back| self.set.nodes.contains_key(back.as_str()))
                    .cloned()
                    .unwrap_or_else(|| self.set.start.clone());
            }
            let Some(node) = self.set.nodes.get(&name) else {
                return self.end();
            };
            self.state.node = Some(name.clone());
            self.note(Trace::Entered(name.clone()));
            let first_output = self.step.outputs.len();
            let mut pending: Vec<ResourceCard> = Vec::new();
            for item in &node.items {
                match item {
                    Item::Say {
                        line, condition, ..
                    } => {
                        if condition.as_ref().is_none_or(|c| c.holds(&self.state.vars)) {
                            let rendered = self.set.line(&self.state.lang, &line.id);
                            let (text, html) = match rendered {
                                Some(r) => (r.text.clone(), r.html.clone()),
                                None => (Arc::from(line.source.as_str()), Arc::from("")),
                            };
                            self.step.outputs.push(Output::Bot(BotMessage {
                                line_id: line.id.clone(),
                                text,
                                html,
                                choices: Vec::new(),
                                asks_text: false,
                                resources: std::mem::take(&mut pending),
                            }));
                        }
                    }
                    Item::Set(assignment) => self.assign(&assignment.var, &assignment.value),
                    Item::ReportSummary { .. } => self.step.outputs.push(Output::ReportSummary),
                    Item::ReportSubmit { .. } => self.step.outputs.push(Output::ReportSubmit),
                    Item::ReportField { .. }
                    | Item::ReceiptLookup { .. }
                    | Item::ReportAppend { .. } => {}
                    Item::Resources { keys, .. } => {
                        let cards = self.cards(keys.iter().map(|(k, _)| k.clone()));
                        match self.last_bot_since(first_output) {
                            Some(bot) => bot.resources.extend(cards),
                            None => pending.extend(cards),
                        }
                    }
                    Item::Handoff(spec) => {
                        let keys: Vec<String> = if spec.resources.is_empty() {
                            default_handoff_resources(spec.urgent)
                                .iter()
                                .map(|k| k.to_string())
                                .collect()
                        } else {
                            let mut keys: Vec<String> =
                                spec.resources.iter().map(|(k, _)| k.clone()).collect();
                            if spec.urgent && !keys.iter().any(|k| k == "urgence") {
                                keys.insert(0, "urgence".into());
                            }
                            keys
                        };
                        let resources = self.cards(keys.into_iter());
                        self.step.outputs.push(Output::Handoff(HandoffRequest {
                            urgent: spec.urgent,
                            topic: spec.topic.clone(),
                            resources,
                        }));
                    }
                }
            }
            if !pending.is_empty() {
                let lang = self.state.lang.clone();
                let mut message = builtin_message(&lang, "relais.resources", Text::ResourcesBelow);
                message.resources = pending;
                self.step.outputs.push(Output::Bot(message));
            }
            match &node.exit.jump {
                Some(Target::End { .. }) => return self.end(),
                Some(Target::Node { name: next, .. }) => {
                    name = next.clone();
                    continue;
                }
                None => {}
            }
            if !self.set.triggers.is_trigger_node(&name) {
                // The youth is back on their way: the urgent detour is over.
                self.state.vars.remove(triggers::RETURN_VAR);
            }
            let choices = self.choices_out(node);
            let asks_text = node.asks_text();
            if choices.is_empty() && !asks_text {
                if node.handoff().is_none() {
                    self.end();
                }
                return;
            }
            let lang = self.state.lang.clone();
            match self.last_bot_since(0) {
                Some(bot) => {
                    bot.choices = choices;
                    bot.asks_text = asks_text;
                }
                None => {
                    let mut message = builtin_message(&lang, "relais.choose", Text::ChooseBelow);
                    message.choices = choices;
                    message.asks_text = asks_text;
                    self.step.outputs.push(Output::Bot(message));
                }
            }
            return;
        }
        self.end();
    }

    fn last_bot_since(&mut self, from: usize) -> Option<&mut BotMessage> {
        let is_last_bot = matches!(self.step.outputs.last(), Some(Output::Bot(_)));
        if !is_last_bot || self.step.outputs.len() <= from {
            return None;
        }
        match self.step.outputs.last_mut() {
            Some(Output::Bot(bot)) => Some(bot),
            _ => None,
        }
    }
}

/// The resources a handoff offers when its script names none.
pub fn default_handoff_resources(urgent: bool) -> &'static [&'static str] {
    if urgent {
        &["urgence", "tel_jeunes", "info_social"]
    } else {
        &["tel_jeunes", "jeunesse_j_ecoute"]
    }
}

fn first_match(patterns: &BTreeMap<String, Vec<Pattern>>, words: &[String]) -> Option<String> {
    patterns
        .values()
        .flatten()
        .find(|p| p.matches(words))
        .map(|p| p.written.clone())
}

fn builtin_choice(lang: &str, id: &str, text: Text) -> ChoiceOut {
    ChoiceOut {
        id: id.into(),
        label: Arc::from(say(lang, text)),
    }
}

/// A message in relais's own words; its text holds nothing that needs escaping
/// beyond what `escape_text` does.
pub(crate) fn builtin_message(lang: &str, line_id: &str, text: Text) -> BotMessage {
    let plain = say(lang, text);
    BotMessage {
        line_id: line_id.into(),
        text: Arc::from(plain),
        html: Arc::from(escape_text(plain)),
        choices: Vec::new(),
        asks_text: false,
        resources: Vec::new(),
    }
}

/// Escapes text for HTML.
pub(crate) fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
