//! The parser of `.flow` files. It reads line by line, never stops at the first
//! mistake and never panics: it returns every node it could build and every problem
//! it found, each with file, line and column.
//!
//! The language, in short (the guide for authors is `flows/README.md`):
//! ```text
//! // a comment
//! === node_name
//! A bot line, with **bold**, *italics* and [links](https://example.org). #id:line_id
//! {si ami = oui} A line shown only when the variable ami holds oui.
//! ? A question: the flow waits for free text.
//! @quand mot, "une phrase", début* -> other_node
//! @sinon -> fallback_node
//! * A choice's label -> other_node
//!   ~ ami = oui
//! ~ theme = sextorsion
//! @ressource tel_jeunes, jeunesse_j_ecoute
//! @personne urgent sujet=sextorsion ressources=urgence,tel_jeunes
//! -> next_node
//! @fin
//!
//! === @bloc boutons_fin
//! * Parler à une personne -> parler #id:bloc_parler
//! // in a node: the block's buttons go here
//! @inclure boutons_fin
//! ```

use super::diagnostic::{Diagnostic, Problem};
use super::model::{
    Assignment, Block, Choice, Condition, HandoffSpec, Include, Item, Node, Pos, Route, Target,
    TextLine, END_TARGETS,
};
use super::text;

/// What one file gave.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub nodes: Vec<Node>,
    /// The blocks of buttons (`=== @bloc nom`), not yet included anywhere.
    pub blocks: Vec<Block>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses one `.flow` file. `file` is the name used in diagnostics.
pub fn parse_file(file: &str, source: &str) -> ParsedFile {
    let mut parser = Parser {
        file,
        out: ParsedFile::default(),
        current: None,
        in_block: false,
        closed_at: None,
        last_attachable: Attachable::None,
    };
    for (index, raw_line) in source.lines().enumerate() {
        parser.line(index as u32 + 1, raw_line);
    }
    parser.finish_node();
    parser.out
}

/// The last choice or route written, so an indented `~ var = value` below it
/// belongs to it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attachable {
    None,
    Choice,
    Route,
    Otherwise,
}

struct Parser<'a> {
    file: &'a str,
    out: ParsedFile,
    current: Option<Node>,
    /// Whether `current` is a block (`=== @bloc nom`), which holds only buttons.
    in_block: bool,
    /// Where the current node was ended by a jump or `@fin`.
    closed_at: Option<u32>,
    last_attachable: Attachable,
}

impl Parser<'_> {
    fn pos(&self, line: u32, col: usize) -> Pos {
        Pos {
            file: self.file.to_string(),
            line,
            col: col as u32,
        }
    }

    fn report(&mut self, pos: Pos, problem: Problem) {
        self.out.diagnostics.push(Diagnostic::new(pos, problem));
    }

    fn finish_node(&mut self) {
        if let Some(node) = self.current.take() {
            if self.in_block {
                self.out.blocks.push(Block {
                    name: node.name,
                    pos: node.pos,
                    choices: node.exit.choices,
                    includes: node.includes,
                });
            } else {
                self.out.nodes.push(node);
            }
        }
        self.in_block = false;
        self.closed_at = None;
        self.last_attachable = Attachable::None;
    }

    fn line(&mut self, number: u32, raw: &str) {
        let raw = raw.trim_end_matches('\r');
        let content = raw.trim_start();
        if content.is_empty() || content.starts_with("//") {
            return;
        }
        let indent = raw.chars().count() - content.chars().count();
        let col = indent + 1;
        let content = content.trim_end();

        if let Some(rest) = content.strip_prefix("===") {
            self.node_header(number, col, rest);
            return;
        }
        // `== nom` or `= nom`: a header with too few `=`. Read it as a header, so the
        // mistake gives one sentence, not a cascade.
        if let Some(rest) = content.strip_prefix('=') {
            let name = rest.trim_start_matches('=').trim();
            if valid_name(name) {
                self.report(
                    self.pos(number, col),
                    Problem::MissingHeader {
                        name: name.to_string(),
                    },
                );
                self.node_header(number, col, name);
                return;
            }
        }
        if self.current.is_none() {
            let problem = if content.starts_with('~') {
                Problem::AssignmentOutsideNode
            } else {
                Problem::TextOutsideNode
            };
            self.report(self.pos(number, col), problem);
            return;
        }
        let indented_assignment = indent > 0 && content.starts_with('~');
        if self.in_block {
            let include = content.starts_with("@inclure") || content.starts_with("@include");
            let choice = content.starts_with('*') && !content.starts_with("**");
            if !(choice || include || indented_assignment) {
                self.report(self.pos(number, col), Problem::BlockContent);
                return;
            }
        }
        if let Some(closed) = self.closed_at {
            if !indented_assignment || self.last_attachable == Attachable::None {
                let _ = closed;
                self.report(self.pos(number, col), Problem::ItemAfterJump);
                return;
            }
        }
        if let Some(rest) = content.strip_prefix('~') {
            self.assignment(number, col, rest, indent > 0);
        } else if let Some(rest) = content.strip_prefix("->") {
            self.last_attachable = Attachable::None;
            let target = self.target(number, col + 2, rest);
            if let Some(target) = target {
                self.set_jump(number, col, target);
            }
        } else if let Some(rest) = content
            .strip_prefix('*')
            .filter(|_| !content.starts_with("**"))
        {
            // `**bold**` at the start of a line is text, not a choice.
            self.choice(number, col, rest);
        } else if let Some(rest) = content.strip_prefix('@') {
            self.instruction(number, col, rest);
        } else if let Some(rest) = content.strip_prefix('?') {
            self.last_attachable = Attachable::None;
            self.say(number, col, rest.trim_start(), true);
        } else {
            self.last_attachable = Attachable::None;
            self.say(number, col, content, false);
        }
    }

    fn node_header(&mut self, number: u32, col: usize, rest: &str) {
        self.finish_node();
        let name = rest.trim().trim_end_matches('=').trim();
        let pos = self.pos(number, col);
        if let Some(block) = name
            .strip_prefix("@bloc")
            .or_else(|| name.strip_prefix("@block"))
            .filter(|after| after.is_empty() || after.starts_with(char::is_whitespace))
        {
            return self.block_header(pos, block.trim());
        }
        if name.is_empty() {
            self.report(pos.clone(), Problem::EmptyNodeName);
        } else if !valid_name(name) {
            let folded = super::rules::fold_name(name);
            let hint = valid_name(&folded).then_some(super::diagnostic::Hint::DidYouMean {
                name: folded,
                at: None,
            });
            self.out.diagnostics.push(
                Diagnostic::new(
                    pos.clone(),
                    Problem::BadNodeName {
                        name: name.to_string(),
                    },
                )
                .with_hint(hint),
            );
        }
        self.current = Some(Node {
            name: name.to_string(),
            pos,
            items: Vec::new(),
            exit: Default::default(),
            includes: Vec::new(),
        });
    }

    /// `=== @bloc nom`: what follows, up to the next `===`, is buttons to include.
    fn block_header(&mut self, pos: Pos, name: &str) {
        if name.is_empty() || !valid_name(name) {
            let folded = super::rules::fold_name(name);
            let hint = (!name.is_empty() && valid_name(&folded)).then_some(
                super::diagnostic::Hint::DidYouMean {
                    name: folded,
                    at: None,
                },
            );
            self.out.diagnostics.push(
                Diagnostic::new(
                    pos.clone(),
                    Problem::BadBlockName {
                        name: name.to_string(),
                    },
                )
                .with_hint(hint),
            );
        }
        self.in_block = true;
        self.current = Some(Node {
            name: name.to_string(),
            pos,
            items: Vec::new(),
            exit: Default::default(),
            includes: Vec::new(),
        });
    }

    /// `@inclure nom`: the buttons of the block `nom` go here.
    fn include(&mut self, number: u32, col: usize, args_col: usize, args: &str) {
        let name = args.trim();
        if name.is_empty() {
            self.report(self.pos(number, col), Problem::IncludeWithoutName);
            return;
        }
        let name_col = args_col + (args.len() - args.trim_start().len());
        let pos = self.pos(number, name_col);
        if self.node().exit.jump.is_some() {
            self.report(self.pos(number, col), Problem::JumpAndChoices);
        }
        let node = self.node();
        let at = node.exit.choices.len();
        node.includes.push(Include {
            block: name.to_string(),
            pos,
            at,
        });
    }

    fn node(&mut self) -> &mut Node {
        self.current.as_mut().expect("checked by the caller")
    }

    /// A bot line or a question, with its optional condition and id.
    fn say(&mut self, number: u32, col: usize, content: &str, question: bool) {
        let (condition, after_condition, text_col) = self.condition(number, col, content);
        let Some(line) = self.text_line(number, text_col, after_condition) else {
            return;
        };
        self.node().items.push(Item::Say {
            line,
            condition,
            question,
        });
    }

    /// Splits a leading `{si …}` from a line.
    fn condition<'s>(
        &mut self,
        number: u32,
        col: usize,
        content: &'s str,
    ) -> (Option<Condition>, &'s str, usize) {
        let Some(inner_start) = content.strip_prefix('{') else {
            return (None, content, col);
        };
        let Some(close) = inner_start.find('}') else {
            self.report(self.pos(number, col), Problem::UnclosedCondition);
            return (None, "", col);
        };
        let inner = &inner_start[..close];
        let rest = &inner_start[close + 1..];
        let rest_trimmed = rest.trim_start();
        let text_col = col + 1 + inner.chars().count() + 1 + (rest.len() - rest_trimmed.len());
        match parse_condition(inner) {
            Some(condition) => (Some(condition), rest_trimmed, text_col),
            None => {
                self.report(
                    self.pos(number, col),
                    Problem::BadCondition {
                        written: inner.to_string(),
                    },
                );
                (None, rest_trimmed, text_col)
            }
        }
    }

    /// A text with an optional trailing `#id:…`; the id defaults to `node.N`.
    fn text_line(&mut self, number: u32, col: usize, content: &str) -> Option<TextLine> {
        if let Some((at, id)) = malformed_id(content) {
            // `#id x`, `#ID:x`, `# id:x`: the youth would read it. Say so, and take the
            // id anyway so nothing else cascades from it.
            self.report(
                self.pos(number, col + content[..at].chars().count()),
                Problem::MalformedLineId {
                    written: content[at..].trim().to_string(),
                },
            );
            let content = format!("{} #id:{id}", content[..at].trim_end());
            return self.text_line(number, col, &content);
        }
        let (text, id) = match content.rfind("#id:") {
            Some(at) => {
                let id = content[at + 4..].trim();
                if !valid_id(id) {
                    let id_col = col + content[..at].chars().count();
                    self.report(
                        self.pos(number, id_col),
                        Problem::BadLineId { id: id.to_string() },
                    );
                }
                (content[..at].trim_end(), Some(id.to_string()))
            }
            None => (content.trim_end(), None),
        };
        let explicit_id = id.is_some();
        let in_block = self.in_block;
        let node = self.current.as_mut().expect("checked by the caller");
        let id = id.unwrap_or_else(|| {
            let count = node.text_lines().count() + 1;
            if in_block {
                format!("bloc.{}.{count}", node.name)
            } else {
                format!("{}.{count}", node.name)
            }
        });
        Some(TextLine {
            id,
            explicit_id,
            source: text.to_string(),
            pos: Pos {
                file: self.file.to_string(),
                line: number,
                col: col as u32,
            },
        })
    }

    fn assignment(&mut self, number: u32, col: usize, rest: &str, indented: bool) {
        let pos = self.pos(number, col);
        let Some((var, value)) = rest.split_once('=') else {
            self.report(pos, Problem::BadAssignment);
            return;
        };
        let (var, value) = (var.trim(), value.trim().trim_matches('"'));
        if !valid_name(var) {
            self.report(pos, Problem::BadAssignment);
            return;
        }
        let assignment = Assignment {
            var: var.to_string(),
            value: value.to_string(),
            pos,
        };
        let attach = if indented {
            self.last_attachable
        } else {
            if self.last_attachable == Attachable::Choice {
                self.report(
                    assignment.pos.clone(),
                    Problem::UnindentedAssignment {
                        var: var.to_string(),
                    },
                );
            }
            Attachable::None
        };
        let node = self.node();
        match attach {
            Attachable::Choice => node
                .exit
                .choices
                .last_mut()
                .map(|c| c.sets.push(assignment)),
            Attachable::Route => node.exit.routes.last_mut().map(|r| r.sets.push(assignment)),
            Attachable::Otherwise => node.exit.otherwise.as_mut().map(|o| o.1.push(assignment)),
            Attachable::None => {
                node.items.push(Item::Set(assignment));
                Some(())
            }
        };
    }

    /// A target after `->`: a node name, or `fin` / `end`.
    fn target(&mut self, number: u32, col: usize, rest: &str) -> Option<Target> {
        let trimmed = rest.trim();
        let target_col = col + (rest.len() - rest.trim_start().len());
        let pos = self.pos(number, target_col);
        if trimmed.is_empty() {
            self.report(pos, Problem::EmptyTarget);
            return None;
        }
        if END_TARGETS.contains(&trimmed) {
            return Some(Target::End { pos });
        }
        if !valid_name(trimmed) {
            self.report(
                pos,
                Problem::BadNodeName {
                    name: trimmed.to_string(),
                },
            );
            return None;
        }
        Some(Target::Node {
            name: trimmed.to_string(),
            pos,
        })
    }

    fn set_jump(&mut self, number: u32, col: usize, target: Target) {
        let node = self.node();
        let conflicting = !node.exit.choices.is_empty()
            || !node.includes.is_empty()
            || !node.exit.routes.is_empty()
            || node.exit.otherwise.is_some();
        node.exit.jump = Some(target);
        self.closed_at = Some(number);
        if conflicting {
            self.report(self.pos(number, col), Problem::JumpAndChoices);
        }
    }

    fn choice(&mut self, number: u32, col: usize, rest: &str) {
        let body_col = col + 1 + (rest.len() - rest.trim_start().len());
        let (condition, body, body_col) = self.condition(number, body_col, rest.trim_start());
        let Some(arrow) = body.rfind("->") else {
            self.report(self.pos(number, col), Problem::ChoiceWithoutTarget);
            return;
        };
        let (label_part, after_arrow) = (&body[..arrow], &body[arrow + 2..]);
        // An id may stand after the target: `* Label -> node #id:x`.
        let (target_part, id_part) = match after_arrow.find("#id:") {
            Some(at) => (&after_arrow[..at], &after_arrow[at..]),
            None => (after_arrow, ""),
        };
        let arrow_col = body_col + body[..arrow].chars().count();
        let target = self.target(number, arrow_col + 2, target_part);
        let label_text = format!("{} {id_part}", label_part.trim());
        if label_part.trim().is_empty() {
            self.report(self.pos(number, col), Problem::ChoiceWithoutLabel);
            return;
        }
        let Some(label) = self.text_line(number, body_col, label_text.trim()) else {
            return;
        };
        let Some(target) = target else {
            return;
        };
        let pos = self.pos(number, col);
        if self.node().exit.jump.is_some() {
            self.report(pos.clone(), Problem::JumpAndChoices);
        }
        self.node().exit.choices.push(Choice {
            label,
            condition,
            target,
            sets: Vec::new(),
            pos,
            included: None,
        });
        self.last_attachable = Attachable::Choice;
    }

    fn instruction(&mut self, number: u32, col: usize, rest: &str) {
        let word_end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        let (word, args) = (&rest[..word_end], &rest[word_end..]);
        let args_col = col + 1 + word.chars().count();
        self.last_attachable = Attachable::None;
        match word {
            "ressource" | "ressources" | "resource" | "resources" => {
                self.resources(number, col, args_col, args)
            }
            "personne" | "handoff" => self.handoff(number, col, args),
            "quand" | "when" => self.route(number, col, args_col, args),
            "sinon" | "else" | "otherwise" => self.otherwise(number, col, args_col, args),
            "signalement" | "report" => {
                let field = args
                    .trim()
                    .strip_prefix("champ=")
                    .or_else(|| args.trim().strip_prefix("field="))
                    .unwrap_or("");
                if !valid_name(field) {
                    self.report(
                        self.pos(number, col),
                        Problem::BadReportOption {
                            option: args.trim().to_string(),
                        },
                    );
                    return;
                }
                let pos = self.pos(number, col);
                self.node().items.push(Item::ReportField {
                    field: field.to_string(),
                    pos,
                });
            }
            "resume" | "résumé" | "summary" => {
                let pos = self.pos(number, col);
                self.node().items.push(Item::ReportSummary { pos });
            }
            "envoyer_signalement" | "submit_report" => {
                let pos = self.pos(number, col);
                self.node().items.push(Item::ReportSubmit { pos });
            }
            "ajout_signalement" | "append_report" => {
                let pos = self.pos(number, col);
                self.node().items.push(Item::ReportAppend { pos });
            }
            "code_de_suivi" | "receipt" => self.receipt(number, col, args_col, args),
            "inclure" | "include" => self.include(number, col, args_col, args),
            "fin" | "end" => {
                let pos = self.pos(number, col);
                self.set_jump(number, col, Target::End { pos });
            }
            _ => self.report(
                self.pos(number, col),
                Problem::UnknownInstruction {
                    word: word.to_string(),
                },
            ),
        }
    }

    /// `@code_de_suivi trouve=NOEUD introuvable=NOEUD`.
    fn receipt(&mut self, number: u32, col: usize, args_col: usize, args: &str) {
        let mut found = None;
        let mut missing = None;
        for (start, word) in handoff_words(args) {
            let word_col = args_col + args[..start].chars().count();
            if let Some(node) = word
                .strip_prefix("trouve=")
                .or_else(|| word.strip_prefix("found="))
            {
                found = self.target(number, word_col + word.len() - node.len(), node);
            } else if let Some(node) = word
                .strip_prefix("introuvable=")
                .or_else(|| word.strip_prefix("missing="))
            {
                missing = self.target(number, word_col + word.len() - node.len(), node);
            } else {
                self.report(
                    self.pos(number, word_col),
                    Problem::BadReportOption { option: word },
                );
            }
        }
        let pos = self.pos(number, col);
        match (found, missing) {
            (Some(found), Some(missing)) => self.node().items.push(Item::ReceiptLookup {
                found,
                missing,
                pos,
            }),
            _ => self.report(
                pos,
                Problem::BadReportOption {
                    option: args.trim().to_string(),
                },
            ),
        }
    }

    fn resources(&mut self, number: u32, col: usize, args_col: usize, args: &str) {
        let keys = self.key_list(number, args_col, args);
        if keys.is_empty() {
            self.report(self.pos(number, col), Problem::ResourceWithoutKey);
            return;
        }
        let pos = self.pos(number, col);
        self.node().items.push(Item::Resources { keys, pos });
    }

    /// A comma-separated list of resource keys, each with its column.
    fn key_list(&self, number: u32, start_col: usize, list: &str) -> Vec<(String, Pos)> {
        let mut keys = Vec::new();
        let mut offset = 0;
        for part in list.split(',') {
            let trimmed = part.trim();
            if !trimmed.is_empty() {
                let lead = part.len() - part.trim_start().len();
                let col = start_col + list[..offset + lead].chars().count();
                keys.push((trimmed.to_string(), self.pos(number, col)));
            }
            offset += part.len() + 1;
        }
        keys
    }

    fn handoff(&mut self, number: u32, col: usize, args: &str) {
        let mut spec = HandoffSpec {
            urgent: false,
            topic: String::new(),
            resources: Vec::new(),
            pos: self.pos(number, col),
        };
        for (start, word) in handoff_words(args) {
            let word_col = col + 1 + "personne".len() + args[..start].chars().count();
            if word == "urgent" {
                spec.urgent = true;
            } else if let Some(topic) = word
                .strip_prefix("sujet=")
                .or_else(|| word.strip_prefix("topic="))
            {
                spec.topic = topic.to_string();
            } else if let Some(list) = word
                .strip_prefix("ressources=")
                .or_else(|| word.strip_prefix("resources="))
            {
                let list_col = word_col + word.len() - list.len();
                spec.resources = self.key_list(number, list_col, list);
            } else {
                self.report(
                    self.pos(number, word_col),
                    Problem::BadHandoffOption {
                        option: word.to_string(),
                    },
                );
            }
        }
        self.node().items.push(Item::Handoff(spec));
    }

    fn route(&mut self, number: u32, col: usize, args_col: usize, args: &str) {
        let Some(arrow) = args.rfind("->") else {
            self.report(self.pos(number, col), Problem::RouteWithoutTarget);
            return;
        };
        let target_col = args_col + args[..arrow].chars().count() + 2;
        let target = self.target(number, target_col, &args[arrow + 2..]);
        let mut patterns = Vec::new();
        let mut empty_words = 0;
        for written in split_patterns(&args[..arrow]) {
            match text::pattern(&written) {
                Some(pattern) => patterns.push(pattern),
                None => empty_words += 1,
            }
        }
        if empty_words > 0 && !patterns.is_empty() {
            self.report(self.pos(number, args_col), Problem::EmptyWord);
        }
        if patterns.is_empty() {
            self.report(self.pos(number, col), Problem::RouteWithoutWords);
            return;
        }
        let Some(target) = target else { return };
        let pos = self.pos(number, col);
        if self.node().exit.jump.is_some() {
            self.report(pos.clone(), Problem::JumpAndChoices);
        }
        self.node().exit.routes.push(Route {
            patterns,
            target,
            sets: Vec::new(),
            pos,
        });
        self.last_attachable = Attachable::Route;
    }

    fn otherwise(&mut self, number: u32, col: usize, args_col: usize, args: &str) {
        let Some(rest) = args.trim_start().strip_prefix("->") else {
            self.report(self.pos(number, col), Problem::RouteWithoutTarget);
            return;
        };
        let arrow_col = args_col + (args.len() - args.trim_start().len());
        let Some(target) = self.target(number, arrow_col + 2, rest) else {
            return;
        };
        let pos = self.pos(number, col);
        if self.node().exit.otherwise.is_some() {
            self.report(pos, Problem::SecondOtherwise);
            return;
        }
        self.node().exit.otherwise = Some((target, Vec::new(), pos));
        self.last_attachable = Attachable::Otherwise;
    }
}

/// The words of `@personne`'s options with their byte offsets; a list written
/// `ressources=a, b` stays one word (spaces after a comma are dropped).
fn handoff_words(args: &str) -> Vec<(usize, String)> {
    let mut words: Vec<(usize, String)> = Vec::new();
    let mut continues = false;
    let mut offset = 0;
    for piece in args.split(' ') {
        let start = offset;
        offset += piece.len() + 1;
        if piece.is_empty() {
            continue;
        }
        match words.last_mut() {
            Some((_, word)) if continues => word.push_str(piece),
            _ => words.push((start, piece.to_string())),
        }
        continues = piece.ends_with(',');
    }
    words
}

/// The patterns of a list of route words (`mot, "une phrase", début*`), as a
/// translation of a route's words gives them.
pub(crate) fn route_patterns(list: &str) -> Vec<super::model::Pattern> {
    split_patterns(list)
        .iter()
        .filter_map(|w| text::pattern(w))
        .collect()
}

/// Splits `mot, "une, phrase", autre*` at commas outside quotes.
fn split_patterns(list: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in list.chars() {
        match c {
            '"' | '«' | '»' | '“' | '”' => quoted = !quoted && c != '»' && c != '”',
            ',' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|part| part.trim().to_string())
        .collect()
}

fn parse_condition(inner: &str) -> Option<Condition> {
    let inner = inner.trim();
    let body = inner
        .strip_prefix("si ")
        .or_else(|| inner.strip_prefix("if "))?
        .trim();
    if let Some((var, value)) = body.split_once("!=") {
        let (var, value) = (var.trim(), value.trim().trim_matches('"'));
        return valid_name(var).then(|| Condition::NotEquals {
            var: var.into(),
            value: value.into(),
        });
    }
    if let Some((var, value)) = body.split_once('=') {
        let (var, value) = (var.trim(), value.trim().trim_matches('"'));
        return valid_name(var).then(|| Condition::Equals {
            var: var.into(),
            value: value.into(),
        });
    }
    if let Some(var) = body
        .strip_prefix("non ")
        .or_else(|| body.strip_prefix("not "))
    {
        let var = var.trim();
        return valid_name(var).then(|| Condition::IsUnset { var: var.into() });
    }
    valid_name(body).then(|| Condition::IsSet { var: body.into() })
}

/// A line ending that looks like an id but is not written `#id:name`: its byte
/// offset and the id it meant.
fn malformed_id(content: &str) -> Option<(usize, String)> {
    let at = content.rfind('#')?;
    let after = &content[at + 1..];
    if after.starts_with("id:") {
        return None;
    }
    let trimmed = after.trim_start();
    let word = trimmed.get(..2)?;
    if !word.eq_ignore_ascii_case("id") {
        return None;
    }
    let rest = &trimmed[2..];
    if rest.starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    let id = rest.trim_start_matches([':', ' ', '=']).trim();
    (!id.is_empty() && !id.contains(char::is_whitespace)).then(|| (at, id.to_string()))
}

/// Node and variable names: lowercase ASCII letters, digits, `_` and `-`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Line ids: ASCII letters, digits, `_`, `-` and `.`.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_with_every_construct() {
        let source = "=== menu\nBonjour **toi**. #id:m1\n{si ami = oui} Pour ton ami. #id:m2\n* Info -> info #id:m3\n  ~ vu = oui\n@ressource tel_jeunes, urgence\n";
        let parsed = parse_file("t.flow", source);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let node = &parsed.nodes[0];
        assert_eq!(node.name, "menu");
        assert_eq!(node.items.len(), 3);
        assert_eq!(node.exit.choices[0].label.id, "m3");
        assert_eq!(node.exit.choices[0].label.source, "Info");
        assert_eq!(node.exit.choices[0].sets[0].var, "vu");
        match &node.items[2] {
            Item::Resources { keys, .. } => {
                assert_eq!(keys[1].0, "urgence");
                assert_eq!(keys[1].1.col, 24);
            }
            other => panic!("unexpected item {other:?}"),
        }
    }

    #[test]
    fn mistakes_are_all_reported_with_their_place() {
        let source = "Bonjour\n=== Mauvais Nom\n* sans cible\n@inconnu\n{si} x\n";
        let parsed = parse_file("b.flow", source);
        let places: Vec<_> = parsed
            .diagnostics
            .iter()
            .map(|d| (d.pos.line, d.pos.col, d.problem.code()))
            .collect();
        assert_eq!(
            places,
            [
                (1, 1, "text_outside_node"),
                (2, 1, "bad_node_name"),
                (3, 1, "choice_without_target"),
                (4, 1, "unknown_instruction"),
                (5, 1, "bad_condition"),
            ]
        );
    }
}
