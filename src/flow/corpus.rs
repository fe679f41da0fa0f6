//! The trigger corpus: realistic messages, one a line with the level they should
//! get, and the scores `relais flows triggers test` prints (urgent recall and
//! benign false alarms, per language and category) and CI holds to.
//!
//! A corpus file is named for its language (`fr.txt`, `en.txt`); each line is
//! `level category | message`, where level is `urgent`, `verifier` or `benin`;
//! `#` starts a comment.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::triggers::{Level, Matcher};

/// Urgent messages that must fire as urgent, at least (per language).
pub const MIN_URGENT_RECALL: f64 = 0.98;
/// Ordinary messages that may fire anything, at most (per language).
pub const MAX_FALSE_ALARMS: f64 = 0.03;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expected {
    Urgent,
    Verify,
    Benign,
}

impl Expected {
    fn name(self) -> &'static str {
        match self {
            Expected::Urgent => "urgent",
            Expected::Verify => "verifier",
            Expected::Benign => "benin",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Line {
    pub lang: String,
    pub expected: Expected,
    pub category: String,
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
        let bad = || format!("line {}: write « level category | message »", index + 1);
        let (head, text) = trimmed.split_once('|').ok_or_else(bad)?;
        let mut head = head.split_whitespace();
        let expected = match head.next() {
            Some("urgent") => Expected::Urgent,
            Some("verifier") => Expected::Verify,
            Some("benin") => Expected::Benign,
            _ => return Err(bad()),
        };
        let category = head.next().unwrap_or("-").to_string();
        lines.push(Line {
            lang: lang.to_string(),
            expected,
            category,
            text: text.trim().to_string(),
            line: index + 1,
        });
    }
    Ok(lines)
}

/// What one message got.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub line: Line,
    pub got: Option<Level>,
    pub pattern: Option<String>,
}

impl Outcome {
    /// Whether the message got what it should: urgent at least for urgent, a
    /// trigger for verify, nothing for benign.
    pub(crate) fn ok(&self) -> bool {
        match self.line.expected {
            Expected::Urgent => self.got == Some(Level::Urgent),
            Expected::Verify => self.got.is_some(),
            Expected::Benign => self.got.is_none(),
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Count {
    pub total: usize,
    pub ok: usize,
}

impl Count {
    pub fn rate(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.ok as f64 / self.total as f64
        }
    }
}

/// Every outcome, and the counts per language, level and category.
#[derive(Debug, Default)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
}

impl Report {
    pub fn run(matcher: &Matcher, lines: Vec<Line>) -> Report {
        let outcomes = lines
            .into_iter()
            .map(|line| {
                let hit = matcher.classify(&line.text);
                Outcome {
                    got: hit.as_ref().map(|h| h.section.level),
                    pattern: hit.map(|h| h.pattern.written.clone()),
                    line,
                }
            })
            .collect();
        Report { outcomes }
    }

    pub(crate) fn count(&self, lang: &str, expected: Expected, category: Option<&str>) -> Count {
        let mut count = Count::default();
        for outcome in &self.outcomes {
            if outcome.line.lang == lang
                && outcome.line.expected == expected
                && category.is_none_or(|c| c == outcome.line.category)
            {
                count.total += 1;
                count.ok += usize::from(outcome.ok());
            }
        }
        count
    }

    pub fn languages(&self) -> Vec<String> {
        let mut langs: Vec<String> = self.outcomes.iter().map(|o| o.line.lang.clone()).collect();
        langs.sort();
        langs.dedup();
        langs
    }

    /// Urgent recall per language.
    pub fn urgent_recall(&self, lang: &str) -> Count {
        self.count(lang, Expected::Urgent, None)
    }

    /// Benign false alarms per language: (fired, total).
    pub fn false_alarms(&self, lang: &str) -> (usize, usize) {
        let count = self.count(lang, Expected::Benign, None);
        (count.total - count.ok, count.total)
    }

    /// Whether every language holds the thresholds.
    pub fn passes(&self) -> bool {
        self.languages().iter().all(|lang| {
            let (alarms, benign) = self.false_alarms(lang);
            self.urgent_recall(lang).rate() >= MIN_URGENT_RECALL
                && (benign == 0 || alarms as f64 / benign as f64 <= MAX_FALSE_ALARMS)
        })
    }

    /// The table: per language and category, then every miss.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<5} {:<9} {:<14} {:>5} {:>5}  measure",
            "lang", "level", "category", "ok", "total"
        );
        for lang in self.languages() {
            for expected in [Expected::Urgent, Expected::Verify, Expected::Benign] {
                let mut categories: BTreeMap<&str, ()> = BTreeMap::new();
                for outcome in &self.outcomes {
                    if outcome.line.lang == lang && outcome.line.expected == expected {
                        categories.insert(&outcome.line.category, ());
                    }
                }
                for category in categories.keys() {
                    let count = self.count(&lang, expected, Some(category));
                    let _ = writeln!(
                        out,
                        "{lang:<5} {:<9} {category:<14} {:>5} {:>5}  {}",
                        expected.name(),
                        count.ok,
                        count.total,
                        measure(expected, count)
                    );
                }
                let count = self.count(&lang, expected, None);
                if count.total > 0 {
                    let _ = writeln!(
                        out,
                        "{lang:<5} {:<9} {:<14} {:>5} {:>5}  {}",
                        expected.name(),
                        "ALL",
                        count.ok,
                        count.total,
                        measure(expected, count)
                    );
                }
            }
        }
        let misses: Vec<&Outcome> = self.outcomes.iter().filter(|o| !o.ok()).collect();
        let _ = writeln!(out, "\n{} miss(es):", misses.len());
        for miss in misses {
            let _ = writeln!(
                out,
                "  {}:{} expected {} {}, got {}{}: {}",
                miss.line.lang,
                miss.line.line,
                miss.line.expected.name(),
                miss.line.category,
                miss.got.map_or("nothing", Level::name),
                miss.pattern
                    .as_ref()
                    .map(|p| format!(" (« {p} »)"))
                    .unwrap_or_default(),
                miss.line.text
            );
        }
        for lang in self.languages() {
            let recall = self.urgent_recall(&lang);
            let (alarms, benign) = self.false_alarms(&lang);
            let _ = writeln!(
                out,
                "{lang}: urgent recall {:.1} % ({}/{}), benign false alarms {:.1} % ({alarms}/{benign})",
                recall.rate() * 100.0,
                recall.ok,
                recall.total,
                if benign == 0 {
                    0.0
                } else {
                    alarms as f64 * 100.0 / benign as f64
                }
            );
        }
        out
    }
}

fn measure(expected: Expected, count: Count) -> String {
    match expected {
        Expected::Urgent => format!("recall {:.1} %", count.rate() * 100.0),
        Expected::Verify => format!("fired {:.1} %", count.rate() * 100.0),
        Expected::Benign => format!("false alarms {:.1} %", (1.0 - count.rate()) * 100.0),
    }
}

/// Reads a corpus file or every `*.txt` of a folder; the language is the file's
/// name (`fr.txt`).
pub fn read(path: &std::path::Path) -> Result<Vec<Line>, String> {
    read_with(path, parse)
}

/// Reads a corpus file or every `*.txt` of a folder with `parse(lang, text)`, the
/// language being each file's name; the urgent and the theme corpora share it.
pub(crate) fn read_with<T>(
    path: &std::path::Path,
    parse: impl Fn(&str, &str) -> Result<Vec<T>, String>,
) -> Result<Vec<T>, String> {
    let mut files = Vec::new();
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for entry in entries {
            let file = entry.map_err(|e| e.to_string())?.path();
            if file.extension().is_some_and(|e| e == "txt") {
                files.push(file);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut lines = Vec::new();
    for file in files {
        let lang = file
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let content =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        lines.extend(parse(&lang, &content).map_err(|e| format!("{}: {e}", file.display()))?);
    }
    Ok(lines)
}
