//! The parsed form of the script language: nodes, lines, choices, routes, and the
//! loaded flow set with its resources, triggers and translations.
//!
//! These types are the engine's inner types: they are not serialized and stay free
//! to change. The text a youth reads is rendered once, when the flows are loaded.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The name of the source language. Every other language is a translation of it.
pub(crate) const SOURCE_LANG: &str = "fr";

/// The reserved target that ends a conversation (`-> fin`).
pub(crate) const END_TARGETS: [&str; 2] = ["fin", "end"];

/// A place in a source file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub file: String,
    pub line: u32,
    pub col: u32,
}

/// A condition on a variable, written `{si var = valeur}` before a line or choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Equals { var: String, value: String },
    NotEquals { var: String, value: String },
    IsSet { var: String },
    IsUnset { var: String },
}

impl Condition {
    /// Whether the condition holds for these variables.
    pub(crate) fn holds(&self, vars: &BTreeMap<String, String>) -> bool {
        match self {
            Condition::Equals { var, value } => vars.get(var) == Some(value),
            Condition::NotEquals { var, value } => vars.get(var) != Some(value),
            Condition::IsSet { var } => vars.get(var).is_some_and(|v| !v.is_empty()),
            Condition::IsUnset { var } => vars.get(var).is_none_or(|v| v.is_empty()),
        }
    }

    pub(crate) fn var(&self) -> &str {
        match self {
            Condition::Equals { var, .. }
            | Condition::NotEquals { var, .. }
            | Condition::IsSet { var }
            | Condition::IsUnset { var } => var,
        }
    }
}

/// `~ var = valeur`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub var: String,
    pub value: String,
    pub pos: Pos,
}

/// Where a choice, a route or a jump leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Node { name: String, pos: Pos },
    End { pos: Pos },
}

/// A line of text that a youth reads: a bot line, a question or a choice label.
#[derive(Debug, Clone)]
pub struct TextLine {
    /// The stable id that translations are keyed by (`#id:…`, or `node.N` when absent).
    pub id: String,
    /// Whether the author wrote the id (auto ids shift when lines move).
    pub explicit_id: bool,
    /// The French source text, with its light formatting.
    pub source: String,
    pub pos: Pos,
}

/// One of the things a node does, in order.
#[derive(Debug, Clone)]
pub enum Item {
    /// A bot line; `question` when written `? …` (the flow then waits for text).
    Say {
        line: TextLine,
        condition: Option<Condition>,
        question: bool,
    },
    Set(Assignment),
    Resources {
        keys: Vec<(String, Pos)>,
        pos: Pos,
    },
    Handoff(HandoffSpec),
    /// `@signalement champ=NOM`: free text answered at this node is kept (in memory)
    /// as the report's field NOM.
    ReportField {
        field: String,
        pos: Pos,
    },
    /// `@resume`: shows the youth the report so far, before they confirm.
    ReportSummary {
        pos: Pos,
    },
    /// `@envoyer_signalement`: stores the report and gives the youth its receipt.
    ReportSubmit {
        pos: Pos,
    },
    /// `@code_de_suivi trouve=NOEUD introuvable=NOEUD`: text typed here is a
    /// receipt; the flow goes on at one node or the other.
    ReceiptLookup {
        found: Target,
        missing: Target,
        pos: Pos,
    },
    /// `@ajout_signalement`: text typed here is added to the report the youth opened.
    ReportAppend {
        pos: Pos,
    },
}

/// `@personne [urgent] [sujet=…] [ressources=a,b]`.
#[derive(Debug, Clone)]
pub struct HandoffSpec {
    pub urgent: bool,
    pub topic: String,
    /// Resources shown when nobody is on call or the wait is long; the engine adds
    /// its defaults when this is empty.
    pub resources: Vec<(String, Pos)>,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub label: TextLine,
    pub condition: Option<Condition>,
    pub target: Target,
    pub sets: Vec<Assignment>,
    /// Where the choice is written (in its block, for a choice a block gives).
    pub pos: Pos,
    /// The block that gave this choice to the node, and where the node includes it.
    pub included: Option<Included>,
}

impl Choice {
    /// Where the choice stands in its node: its own line, or the node's `@inclure`.
    pub(crate) fn place(&self) -> &Pos {
        self.included.as_ref().map_or(&self.pos, |i| &i.at)
    }
}

/// A choice a node has from a block: the block named in the node's `@inclure`,
/// and the place of that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Included {
    pub block: String,
    pub at: Pos,
}

/// `@inclure nom`, in a node or a block: the buttons of the block go there.
#[derive(Debug, Clone)]
pub struct Include {
    pub block: String,
    /// The place of the block's name on the line.
    pub pos: Pos,
    /// How many choices were written before it (where its buttons go).
    pub at: usize,
}

/// `=== @bloc nom`: buttons written (and translated) once, that many nodes include
/// with `@inclure nom`. The loader copies them into each node, so the engine only
/// ever sees ordinary choices.
#[derive(Debug, Clone)]
pub struct Block {
    pub name: String,
    pub pos: Pos,
    pub choices: Vec<Choice>,
    pub includes: Vec<Include>,
}

/// One word of a route pattern, normalized; `prefix` when written with a final `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternWord {
    pub word: String,
    pub prefix: bool,
}

/// A word or phrase of a route or a trigger: a sequence of words that must appear
/// together in the youth's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub words: Vec<PatternWord>,
    pub written: String,
}

/// `@quand mot, "une phrase", début* -> cible`.
#[derive(Debug, Clone)]
pub struct Route {
    pub patterns: Vec<Pattern>,
    pub target: Target,
    pub sets: Vec<Assignment>,
    pub pos: Pos,
}

/// How a node continues once its items are done.
#[derive(Debug, Clone, Default)]
pub struct Exit {
    pub choices: Vec<Choice>,
    pub routes: Vec<Route>,
    /// `@sinon -> cible`: where free text goes when no route matched.
    pub otherwise: Option<(Target, Vec<Assignment>, Pos)>,
    /// `-> cible` or `-> fin` / `@fin`.
    pub jump: Option<Target>,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub pos: Pos,
    pub items: Vec<Item>,
    pub exit: Exit,
    /// The blocks this node includes (their choices are already in `exit.choices`
    /// once loaded; kept for the authors' tools).
    pub includes: Vec<Include>,
}

impl Node {
    /// Whether the flow waits for free text at this node.
    pub fn asks_text(&self) -> bool {
        self.receipt_lookup().is_some()
            || !self.exit.routes.is_empty()
            || self.exit.otherwise.is_some()
            || self
                .items
                .iter()
                .any(|item| matches!(item, Item::Say { question: true, .. }))
    }

    pub fn handoff(&self) -> Option<&HandoffSpec> {
        self.items.iter().find_map(|item| match item {
            Item::Handoff(spec) => Some(spec),
            _ => None,
        })
    }

    pub(crate) fn shows_resource(&self) -> bool {
        self.items
            .iter()
            .any(|item| matches!(item, Item::Resources { .. }))
    }

    /// Every text line of the node, bot lines and choice labels, in source order.
    pub(crate) fn text_lines(&self) -> impl Iterator<Item = &TextLine> {
        self.items
            .iter()
            .filter_map(|item| match item {
                Item::Say { line, .. } => Some(line),
                _ => None,
            })
            .chain(self.exit.choices.iter().map(|choice| &choice.label))
    }

    /// The report field free text answers at this node, if any.
    pub(crate) fn report_field(&self) -> Option<&str> {
        self.items.iter().find_map(|item| match item {
            Item::ReportField { field, .. } => Some(field.as_str()),
            _ => None,
        })
    }

    /// Whether text typed at this node is a receipt, or an addition to a report.
    pub(crate) fn receipt_lookup(&self) -> Option<(&Target, &Target)> {
        self.items.iter().find_map(|item| match item {
            Item::ReceiptLookup { found, missing, .. } => Some((found, missing)),
            _ => None,
        })
    }

    pub(crate) fn appends_to_report(&self) -> bool {
        self.items
            .iter()
            .any(|item| matches!(item, Item::ReportAppend { .. }))
    }

    /// Every target this node can lead to.
    pub(crate) fn targets(&self) -> impl Iterator<Item = &Target> {
        self.items
            .iter()
            .flat_map(|item| match item {
                Item::ReceiptLookup { found, missing, .. } => vec![found, missing],
                _ => Vec::new(),
            })
            .chain(self.exit.choices.iter().map(|c| &c.target))
            .chain(self.exit.routes.iter().map(|r| &r.target))
            .chain(self.exit.otherwise.iter().map(|(t, _, _)| t))
            .chain(self.exit.jump.iter())
    }
}

/// A help resource from `flows/ressources.toml`, in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceCard {
    pub key: String,
    pub name: String,
    pub phone: Option<String>,
    /// The number to send a text message to.
    pub text: Option<String>,
    /// The word to write in that text message, if the line asks for one.
    pub text_body: Option<String>,
    pub url: Option<String>,
    pub hours: Option<String>,
    pub about: Option<String>,
}

/// The urgent and help triggers of one kind.
#[derive(Debug, Clone, Default)]
pub struct TriggerSet {
    /// The node the trigger leads to.
    pub node: String,
    pub node_pos: Pos,
    /// Patterns per language.
    pub patterns: BTreeMap<String, Vec<Pattern>>,
}

/// A translated line: its text and the short hash of the source it translates.
#[derive(Debug, Clone)]
pub struct Translation {
    pub source_hash: String,
    pub text: String,
    pub pos: Pos,
}

/// A line as it is sent: plain text and sanitized HTML, rendered at load time.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub text: Arc<str>,
    pub html: Arc<str>,
}

/// Everything loaded from a flows folder, identified by the hash of its content.
/// Immutable once built: a new version is a new `FlowSet`.
#[derive(Debug)]
pub struct FlowSet {
    pub version: String,
    pub start: String,
    pub nodes: HashMap<String, Node>,
    /// Node names in source order (files sorted by name), for listings and graphs.
    pub order: Vec<String>,
    /// Resources per key, then per language.
    pub resources: BTreeMap<String, BTreeMap<String, ResourceCard>>,
    pub urgent: TriggerSet,
    pub help: TriggerSet,
    /// The urgent and verify triggers, compiled with their normalisation.
    pub triggers: super::triggers::Matcher,
    /// The themes free text leads to (`sujets.toml`), read the same way.
    pub themes: super::triggers::Matcher,
    /// The blocks of buttons (`=== @bloc nom`), by name.
    pub blocks: BTreeMap<String, Block>,
    /// Translations per language, then per line id.
    pub translations: BTreeMap<String, HashMap<String, Translation>>,
    /// Rendered text per language, then per line id (only for usable lines).
    pub rendered: HashMap<String, HashMap<String, Rendered>>,
    /// The source files, by path relative to the flows folder.
    pub sources: BTreeMap<String, String>,
}

impl FlowSet {
    /// The languages a session may choose: the source and every translated one.
    pub(crate) fn languages(&self) -> Vec<String> {
        let mut langs = vec![SOURCE_LANG.to_string()];
        langs.extend(self.translations.keys().cloned());
        langs
    }

    pub(crate) fn has_language(&self, lang: &str) -> bool {
        lang == SOURCE_LANG || self.translations.contains_key(lang)
    }

    /// The rendered text of a line in a language, falling back to French when the
    /// translation is missing or stale.
    pub(crate) fn line(&self, lang: &str, id: &str) -> Option<&Rendered> {
        self.rendered
            .get(lang)
            .and_then(|lines| lines.get(id))
            .or_else(|| self.rendered.get(SOURCE_LANG)?.get(id))
    }

    /// A resource card in a language, falling back to French.
    pub fn resource(&self, lang: &str, key: &str) -> Option<&ResourceCard> {
        let by_lang = self.resources.get(key)?;
        by_lang.get(lang).or_else(|| by_lang.get(SOURCE_LANG))
    }
}
