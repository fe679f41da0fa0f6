//! The themes corpus: opening messages youths really write, one a line with the
//! node the menu should lead them to, and the score `relais flows themes test`
//! prints (the share routed right, per language) and CI holds to.
//!
//! A corpus file is named for its language (`fr.txt`, `en.txt`); each line is
//! `node | message`, where node is where the message should land when typed at
//! the menu, or `-` when it should stay "not understood"; `#` starts a comment.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::engine::{self, Input, State, Trace};
use super::model::FlowSet;

/// The share of messages that must land right, at least (per language).
pub const MIN_ROUTED_RIGHT: f64 = 0.85;

/// What a message should get when nothing fits.
pub(crate) const NOT_UNDERSTOOD: &str = "-";

#[derive(Debug, Clone)]
pub struct Line {
    pub lang: String,
    pub expected: String,
    pub text: String,
    pub line: usize,
}

/// Reads one corpus file; a line it cannot read is an error with its number.
pub(crate) fn parse(lang: &str, content: &str) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    for (index, raw) in content.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (node, text) = trimmed
            .split_once('|')
            .filter(|(node, text)| !node.trim().is_empty() && !text.trim().is_empty())
            .ok_or_else(|| format!("line {}: write « node | message »", index + 1))?;
        lines.push(Line {
            lang: lang.to_string(),
            expected: node.trim().to_string(),
            text: text.trim().to_string(),
            line: index + 1,
        });
    }
    Ok(lines)
}

/// Reads a corpus file, or every `*.txt` of a folder.
pub fn read(path: &std::path::Path) -> Result<Vec<Line>, String> {
    super::corpus::read_with(path, parse)
}

/// Where a message typed at the menu lands: the first node entered, or `-`.
pub(crate) fn landing(set: &FlowSet, lang: &str, text: &str) -> String {
    let mut state = State {
        lang: lang.to_string(),
        ..State::default()
    };
    engine::step(set, &mut state, Input::Start);
    engine::enter(set, &mut state, "menu");
    let step = engine::step(set, &mut state, Input::Text(text));
    step.trace
        .iter()
        .find_map(|trace| match trace {
            Trace::Entered(node) => Some(node.clone()),
            Trace::NotUnderstood => Some(NOT_UNDERSTOOD.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| NOT_UNDERSTOOD.to_string())
}

#[derive(Debug, Clone)]
pub struct Miss {
    pub line: Line,
    pub got: String,
}

/// The scores of a corpus.
#[derive(Debug, Default)]
pub struct Report {
    /// Per language: messages, messages routed right.
    pub langs: BTreeMap<String, (usize, usize)>,
    pub misses: Vec<Miss>,
}

impl Report {
    pub fn run(set: &FlowSet, lines: Vec<Line>) -> Report {
        let mut report = Report::default();
        for line in lines {
            let lang = if set.has_language(&line.lang) {
                line.lang.clone()
            } else {
                super::model::SOURCE_LANG.to_string()
            };
            let got = landing(set, &lang, &line.text);
            let entry = report.langs.entry(line.lang.clone()).or_default();
            entry.0 += 1;
            if got == line.expected {
                entry.1 += 1;
            } else {
                report.misses.push(Miss { line, got });
            }
        }
        report
    }

    /// The share routed right in a language (1 when it has no message).
    pub fn share(&self, lang: &str) -> f64 {
        self.langs
            .get(lang)
            .map_or(1.0, |(total, right)| *right as f64 / (*total).max(1) as f64)
    }

    pub fn passes(&self) -> bool {
        !self.langs.is_empty()
            && self
                .langs
                .keys()
                .all(|lang| self.share(lang) >= MIN_ROUTED_RIGHT)
    }

    /// The table `relais flows themes test` prints, then every miss.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "lang  messages  routed right  share   (min {:.0} %)",
            MIN_ROUTED_RIGHT * 100.0
        );
        for (lang, (total, right)) in &self.langs {
            let _ = writeln!(
                out,
                "{lang:<5} {total:>8}  {right:>12}  {:>5.1} %{}",
                self.share(lang) * 100.0,
                if self.share(lang) < MIN_ROUTED_RIGHT {
                    "  BELOW"
                } else {
                    ""
                }
            );
        }
        if !self.misses.is_empty() {
            let _ = writeln!(out, "misses:");
        }
        for miss in &self.misses {
            let _ = writeln!(
                out,
                "  {}.txt:{}  expected {}, got {}: {}",
                miss.line.lang, miss.line.line, miss.line.expected, miss.got, miss.line.text
            );
        }
        out
    }
}
