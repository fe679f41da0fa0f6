//! Urgent triggers recognised the way youths write them.
//!
//! A youth's message is first *normalised* (`Normaliser`): folded to lowercase words
//! without accents (`text::words`), letters repeated three times or more squeezed
//! ("aideeeez" → "aidez"), a number glued to its unit ("10 kms" → "10kms"), and the
//! texting contractions of Québec French and English expanded from a table authors
//! extend in `declencheurs.toml` (`jveux` → `je veux`, `chu` → `je suis`, `pu` →
//! `plus`, `im` → `i am`, `wanna` → `want to`…). Patterns are normalised the same
//! way, so an author writes `j'veux mourir` or `je veux mourir` and both forms meet.
//!
//! A pattern is words in order, a final `*` on a word for any ending, and a lone `*`
//! for a gap of up to three words (`il * dehors`). On the urgent lists, a word of six
//! letters or more also accepts one wrong, missing, extra or swapped letter, and a
//! doubled letter counts as single ("mourrir", "sucide", "myslef"). A match right
//! after a negation (`pas`, `rien`, `not`, `no`…, skipping little words such as "du
//! tout" or "really"), or with a negation inside its gap, does not fire — unless the
//! pattern starts with its subject ("il est dehors").
//!
//! Three levels: `urgent` (two paths: `[urgence]`, danger from someone else, and
//! `[urgence_suicide]`), `verifier` (ask "are you in danger now?") and nothing.
//! Everything here is pure and works in memory: nothing a youth wrote is kept.

use std::collections::BTreeMap;

// Word sets are looked up for every pattern of every message: FxHash, not SipHash
// (the keys are the words of one message or of the authors' lists, bounded in size).
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use serde::Deserialize;

use super::diagnostic::{Diagnostic, Problem, Severity};
use super::model::Pos;
use super::text;

/// The target a choice writes to go back where the youth was before a trigger.
pub(crate) const RETURN_TARGET: &str = "retour";
/// The variable that remembers where that is.
pub const RETURN_VAR: &str = "retour";
/// The file the triggers are written in.
const FILE: &str = "declencheurs.toml";
/// Most words a lone `*` stands for.
pub(crate) const GAP_MAX: usize = 3;
/// Letters a pattern word needs before one typo is accepted, unless the file says.
const FUZZY_MIN: usize = 6;
/// Passes of contraction expansion before giving up on a table that loops.
const MAX_PASSES: usize = 8;
/// Markers a written pattern carries through normalisation.
const GAP_MARK: &str = "x0gap0x";
const STAR_MARK: &str = "x0star0x";
const END_MARK: &str = "x0end0x";

/// How urgent a pattern is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Clear danger: the urgent path now.
    Urgent,
    /// Maybe danger: ask "are you in danger now?".
    Verify,
}

impl Level {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Level::Urgent => "urgent",
            Level::Verify => "verifier",
        }
    }
}

/// The problems `flows check` finds in the triggers file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerIssue {
    /// A `*` gap at the start or end of a pattern, or two in a row.
    GapAtEdge { written: String },
    /// The pattern does not fire on its own words (a negation in it, a word the
    /// normalisation changes…).
    NeverMatches { written: String },
    /// The pattern fires on an ordinary message of `exemples_benins`.
    MatchesBenign { written: String, example: String },
    /// A contraction whose expansion expands again without end.
    ContractionLoops { written: String },
    /// A `verifier` pattern an urgent pattern always overrides.
    Shadowed { written: String, by: String },
}

impl TriggerIssue {
    pub(crate) fn severity(&self) -> Severity {
        match self {
            TriggerIssue::GapAtEdge { .. } | TriggerIssue::ContractionLoops { .. } => {
                Severity::Error
            }
            _ => Severity::Warning,
        }
    }

    pub(crate) fn code(&self) -> &'static str {
        match self {
            TriggerIssue::GapAtEdge { .. } => "trigger_gap_at_edge",
            TriggerIssue::NeverMatches { .. } => "trigger_never_matches",
            TriggerIssue::MatchesBenign { .. } => "trigger_matches_benign",
            TriggerIssue::ContractionLoops { .. } => "trigger_contraction_loops",
            TriggerIssue::Shadowed { .. } => "trigger_shadowed",
        }
    }

    pub(crate) fn message(&self, fr: bool) -> String {
        match self {
            TriggerIssue::GapAtEdge { written } => {
                if fr {
                    format!("Dans « {written} », un « * » seul doit être entre deux mots (« il * dehors »), jamais au début, à la fin ou deux fois de suite.")
                } else {
                    format!("In \"{written}\", a lone \"*\" must sit between two words (\"il * dehors\"), never at the start, the end or twice in a row.")
                }
            }
            TriggerIssue::NeverMatches { written } => {
                if fr {
                    format!("« {written} » ne peut jamais être reconnu : même tapé tel quel, il ne déclenche rien (une négation au milieu?).")
                } else {
                    format!("\"{written}\" can never match: even typed as written it fires nothing (a negation inside?).")
                }
            }
            TriggerIssue::MatchesBenign { written, example } => {
                if fr {
                    format!("« {written} » se déclenche sur le message ordinaire « {example} » (exemples_benins) : précise-le.")
                } else {
                    format!("\"{written}\" fires on the ordinary message \"{example}\" (exemples_benins): make it narrower.")
                }
            }
            TriggerIssue::ContractionLoops { written } => {
                if fr {
                    format!("La contraction « {written} » se remplace elle-même sans fin : son remplacement ne doit pas contenir une autre contraction qui revient à elle.")
                } else {
                    format!("The contraction \"{written}\" replaces itself without end: its expansion must not lead back to it.")
                }
            }
            TriggerIssue::Shadowed { written, by } => {
                if fr {
                    format!("« {written} » (à vérifier) est toujours pris comme urgent à cause de « {by} ».")
                } else {
                    format!("\"{written}\" (verify) is always taken as urgent because of \"{by}\".")
                }
            }
        }
    }
}

/// A normalised message: its words, and the clause each word is in (a clause ends
/// at `.`, `,`, `!`, `?`, `;` or a new line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalised {
    pub words: Vec<String>,
    pub clauses: Vec<usize>,
    /// Each word with its doubled letters made single ("appelle" → "apele").
    squeezed: Vec<String>,
    /// Each word's letters, for the typo tolerance.
    chars: Vec<Vec<char>>,
    /// Every word and every squeezed word, to skip patterns quickly.
    present: HashSet<String>,
}

impl Normalised {
    /// The words as text, clauses ended by ". ": normalising it again gives the
    /// same words and clauses (normalisation is idempotent).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, word) in self.words.iter().enumerate() {
            if i > 0 {
                out.push_str(if self.clauses[i] != self.clauses[i - 1] {
                    ". "
                } else {
                    " "
                });
            }
            out.push_str(word);
        }
        out
    }
}

/// The normalisation table: contractions, glued elisions, units.
#[derive(Debug, Clone, Default)]
pub struct Normaliser {
    contractions: HashMap<Vec<String>, Vec<String>>,
    longest: usize,
    /// `j` → `je`: a word starting with `j` and a consonant is `j'` glued to a word.
    glued: Vec<(String, Vec<String>)>,
    units: HashSet<String>,
}

impl Normaliser {
    /// Words of a message, normalised.
    pub fn normalise(&self, text: &str) -> Normalised {
        let mut words = Vec::new();
        let mut clauses = Vec::new();
        for (clause, piece) in text
            .split(['.', ',', '!', '?', ';', ':', '\n', '…', '(', ')', '$'])
            .enumerate()
        {
            for word in text::words(piece) {
                let word = squeeze_runs(&word);
                let glued_unit = self.units.contains(&word)
                    && clauses.last() == Some(&clause)
                    && words
                        .last()
                        .is_some_and(|w: &String| w.chars().all(|c| c.is_ascii_digit()));
                if glued_unit {
                    if let Some(last) = words.last_mut() {
                        last.push_str(&word);
                    }
                    continue;
                }
                words.push(word);
                clauses.push(clause);
            }
        }
        for _ in 0..MAX_PASSES {
            let (next, next_clauses, changed) = self.expand_once(&words, &clauses);
            words = next;
            clauses = next_clauses;
            if !changed {
                break;
            }
        }
        let squeezed = words.iter().map(|w| squeeze_doubles(w)).collect();
        let chars = words.iter().map(|w| w.chars().collect()).collect();
        let present = words.iter().chain(&squeezed).cloned().collect();
        Normalised {
            words,
            clauses,
            squeezed,
            chars,
            present,
        }
    }

    /// Normalised words joined by one space (for tests).
    #[cfg(test)]
    pub(crate) fn normalise_text(&self, text: &str) -> String {
        self.normalise(text).words.join(" ")
    }

    fn expand_once(&self, words: &[String], clauses: &[usize]) -> (Vec<String>, Vec<usize>, bool) {
        let mut out = Vec::with_capacity(words.len() + 4);
        let mut out_clauses = Vec::with_capacity(words.len() + 4);
        let mut changed = false;
        let mut i = 0;
        'words: while i < words.len() {
            for len in (1..=self.longest.min(words.len() - i)).rev() {
                let same_clause = clauses[i..i + len].iter().all(|c| *c == clauses[i]);
                if !same_clause {
                    continue;
                }
                if let Some(replacement) = self.contractions.get(&words[i..i + len]) {
                    for word in replacement {
                        out.push(word.clone());
                        out_clauses.push(clauses[i]);
                    }
                    changed = true;
                    i += len;
                    continue 'words;
                }
            }
            let word = &words[i];
            for (prefix, replacement) in &self.glued {
                if let Some(rest) = word.strip_prefix(prefix.as_str()) {
                    if rest.chars().next().is_some_and(is_consonant) && rest.chars().count() > 1 {
                        for part in replacement {
                            out.push(part.clone());
                            out_clauses.push(clauses[i]);
                        }
                        out.push(rest.to_string());
                        out_clauses.push(clauses[i]);
                        changed = true;
                        i += 1;
                        continue 'words;
                    }
                }
            }
            out.push(word.clone());
            out_clauses.push(clauses[i]);
            i += 1;
        }
        (out, out_clauses, changed)
    }
}

fn is_consonant(c: char) -> bool {
    c.is_ascii_alphabetic() && !matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

/// Letters repeated three times or more become one ("nooooon" → "non"); digits stay.
fn squeeze_runs(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut j = i;
        while j < chars.len() && chars[j] == c {
            j += 1;
        }
        let run = j - i;
        if run >= 3 && c.is_alphabetic() {
            out.push(c);
        } else {
            out.extend(&chars[i..j]);
        }
        i = j;
    }
    out
}

/// Doubled letters made single ("appelle" → "apele"), for comparing spellings.
fn squeeze_doubles(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut last = None;
    for c in word.chars() {
        if Some(c) != last || !c.is_alphabetic() {
            out.push(c);
        }
        last = Some(c);
    }
    out
}

/// Whether two words are at most one edit apart: a letter changed, added, removed,
/// or two neighbours swapped.
fn within_one(a: &[char], b: &[char]) -> bool {
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => {
            let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) else {
                return true;
            };
            a[i + 1..] == b[i + 1..]
                || (i + 1 < a.len()
                    && a[i] == b[i + 1]
                    && a[i + 1] == b[i]
                    && a[i + 2..] == b[i + 2..])
        }
        1 => {
            let i = (0..short.len())
                .find(|&i| short[i] != long[i])
                .unwrap_or(short.len());
            short[i..] == long[i + 1..]
        }
        _ => false,
    }
}

#[derive(Debug, Clone)]
enum Part {
    Word {
        word: String,
        chars: Vec<char>,
        squeezed: String,
        prefix: bool,
    },
    Gap,
    /// `$`: the message or its clause ends here.
    End,
}

/// A phrase list for `Matcher::sibling`: name, node, node's place, and each
/// phrase with its language and place.
pub(crate) type SiblingList = (String, String, Pos, Vec<(String, String, Pos)>);

/// One written pattern of a trigger list.
#[derive(Debug, Clone)]
pub struct TriggerPattern {
    pub written: String,
    pub lang: String,
    pub pos: Pos,
    parts: Vec<Part>,
    /// `pattern | exception | …`: words that, right after the match, cancel it.
    except: Vec<Vec<String>>,
}

/// One list of `declencheurs.toml`: `[urgence]`, `[urgence_suicide]`, `[verifier]`.
#[derive(Debug, Clone)]
pub struct Section {
    pub name: String,
    pub node: String,
    pub node_pos: Pos,
    pub level: Level,
    pub patterns: Vec<TriggerPattern>,
}

/// What fired, and where in the normalised words.
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    pub section: &'a Section,
    pub pattern: &'a TriggerPattern,
    pub start: usize,
    pub end: usize,
    /// Held back by a negation just before it (only in `explain`).
    pub negated: bool,
}

/// The words the negation guard uses.
#[derive(Debug, Clone, Default)]
struct Negation {
    words: HashSet<String>,
    fillers: HashSet<String>,
    subjects: HashSet<String>,
    cuts: HashSet<String>,
    /// Words that, right after a match, make it a figure of speech ("de honte").
    after: Vec<Vec<String>>,
    /// A negation right after the verb ("il me frappe pas"), unless the next word
    /// makes it something else ("pas mal" is "a lot").
    after_words: HashSet<String>,
    after_unless: HashSet<String>,
}

/// The compiled triggers of a flow set.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    pub normaliser: Normaliser,
    /// In the order they are tried: danger from someone else first, then suicide,
    /// then the lists to verify.
    pub sections: Vec<Section>,
    negation: Negation,
    fuzzy_min: usize,
    exact_words: HashSet<String>,
    /// Ordinary messages no pattern may fire on, with their place.
    pub benign: Vec<(String, Pos)>,
    contraction_pos: Vec<(String, Pos)>,
    /// Built at the first message: which patterns can fire given the words present.
    index: std::sync::OnceLock<Vec<SectionIndex>>,
}

/// One section's patterns by the first word they cannot do without (and its squeezed
/// form): a message is tried only against the patterns whose word it holds, and the
/// patterns with no such word (all prefixes or typo-tolerant words).
#[derive(Debug, Clone, Default)]
struct SectionIndex {
    by_word: HashMap<String, Vec<usize>>,
    always: Vec<usize>,
}

#[derive(Debug, Deserialize)]
struct FileEntry {
    noeud: String,
    #[serde(flatten)]
    languages: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
struct NormalisationEntry {
    #[serde(default)]
    collees: BTreeMap<String, String>,
    #[serde(default)]
    unites: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
struct NegationEntry {
    #[serde(default)]
    mots: Vec<String>,
    #[serde(default)]
    remplissage: Vec<String>,
    #[serde(default)]
    sujets: Vec<String>,
    #[serde(default)]
    coupures: Vec<String>,
    #[serde(default)]
    apres: Vec<String>,
    #[serde(default)]
    choses: Vec<String>,
    #[serde(default)]
    apres_mots: Vec<String>,
    #[serde(default)]
    sauf_apres: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
struct ToleranceEntry {
    min_lettres: Option<usize>,
    #[serde(default)]
    mots_exacts: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct File {
    urgence: Option<FileEntry>,
    urgence_suicide: Option<FileEntry>,
    verifier: Option<FileEntry>,
    #[serde(default)]
    contractions: BTreeMap<String, String>,
    #[serde(default)]
    normalisation: NormalisationEntry,
    #[serde(default)]
    negation: NegationEntry,
    #[serde(default)]
    tolerance: ToleranceEntry,
    #[serde(default)]
    exemples_benins: BTreeMap<String, Vec<String>>,
}

/// The sections with a level, in the order they are tried.
const SECTIONS: [(&str, Level); 3] = [
    ("urgence", Level::Urgent),
    ("urgence_suicide", Level::Urgent),
    ("verifier", Level::Verify),
];

/// 1-based line and column of a byte offset.
fn line_col(source: &str, offset: usize) -> (u32, u32) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    (line, col)
}

/// Where a quoted string first appears after a byte offset (for positions).
fn find_quoted(source: &str, from: usize, value: &str) -> (usize, Pos) {
    let needle = format!("\"{value}\"");
    let found = source
        .get(from..)
        .and_then(|rest| rest.find(&needle))
        .map(|at| from + at);
    let at = found.unwrap_or(from);
    let (line, col) = line_col(source, at);
    (
        found.map_or(from, |at| at + needle.len()),
        Pos {
            file: FILE.into(),
            line,
            col,
        },
    )
}

fn section_offset(source: &str, name: &str) -> usize {
    let header = format!("[{name}]");
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        if line.trim() == header {
            return offset;
        }
        offset += line.len();
    }
    0
}

impl Matcher {
    /// Reads the triggers from `declencheurs.toml`. A file that does not parse gives
    /// an empty matcher: `load` reports the TOML problem itself.
    pub(crate) fn from_toml(source: &str) -> Matcher {
        let Ok(file) = toml::from_str::<File>(source) else {
            return Matcher::default();
        };
        let mut matcher = Matcher {
            fuzzy_min: file.tolerance.min_lettres.unwrap_or(FUZZY_MIN),
            ..Matcher::default()
        };
        // The normalisation first: patterns are normalised with it.
        let plain = Normaliser::default();
        let key_words = |text: &str| -> Vec<String> { plain.normalise(text).words };
        let contractions_at = section_offset(source, "contractions");
        let mut cursor = contractions_at;
        for (typed, meant) in &file.contractions {
            let key = key_words(typed);
            if key.is_empty() {
                continue;
            }
            let (next, pos) = find_quoted(source, contractions_at, typed);
            cursor = cursor.max(next);
            matcher.contraction_pos.push((typed.clone(), pos));
            matcher.normaliser.longest = matcher.normaliser.longest.max(key.len());
            matcher
                .normaliser
                .contractions
                .insert(key, key_words(meant));
        }
        for (prefix, meant) in &file.normalisation.collees {
            matcher
                .normaliser
                .glued
                .push((text::fold(prefix), key_words(meant)));
        }
        matcher.normaliser.units = file
            .normalisation
            .unites
            .iter()
            .map(|u| text::fold(u))
            .collect();
        let fold_all = |list: &[String]| -> HashSet<String> {
            list.iter()
                .flat_map(|w| matcher.normaliser.normalise(w).words)
                .collect()
        };
        let mut negation_words = fold_all(&file.negation.mots);
        negation_words.extend(fold_all(&file.negation.choses));
        matcher.negation = Negation {
            words: negation_words,
            fillers: fold_all(&file.negation.remplissage),
            subjects: fold_all(&file.negation.sujets),
            cuts: fold_all(&file.negation.coupures),
            after_words: fold_all(&file.negation.apres_mots),
            after_unless: fold_all(&file.negation.sauf_apres),
            after: file
                .negation
                .apres
                .iter()
                .map(|w| matcher.normaliser.normalise(w).words)
                .filter(|w| !w.is_empty())
                .collect(),
        };
        matcher.exact_words = fold_all(&file.tolerance.mots_exacts);

        let entries = [file.urgence, file.urgence_suicide, file.verifier];
        for ((name, level), entry) in SECTIONS.iter().zip(entries) {
            let Some(entry) = entry else { continue };
            let offset = section_offset(source, name);
            let (_, node_pos) = find_quoted(source, offset, &entry.noeud);
            let mut patterns = Vec::new();
            for (lang, phrases) in entry.languages {
                let lang_at = source[offset..]
                    .find(&format!("\n{lang} ="))
                    .map_or(offset, |at| offset + at);
                let mut cursor = lang_at;
                for written in phrases {
                    let (next, pos) = find_quoted(source, cursor, &written);
                    cursor = next;
                    patterns.push(matcher.compile(&written, &lang, pos));
                }
            }
            matcher.sections.push(Section {
                name: name.to_string(),
                node: entry.noeud,
                node_pos,
                level: *level,
                patterns,
            });
        }
        let benign_at = section_offset(source, "exemples_benins");
        let mut cursor = benign_at;
        for examples in file.exemples_benins.values() {
            for example in examples {
                let (next, pos) = find_quoted(source, cursor, example);
                cursor = next;
                matcher.benign.push((example.clone(), pos));
            }
        }
        matcher
    }

    /// Compiles a written pattern with this matcher's normalisation.
    fn compile(&self, written: &str, lang: &str, pos: Pos) -> TriggerPattern {
        let mut pieces = written.split('|');
        let main = pieces.next().unwrap_or_default();
        let except = pieces
            .map(|piece| self.normaliser.normalise(piece).words)
            .filter(|words| !words.is_empty())
            .collect();
        let marked: Vec<String> = main
            .split_whitespace()
            .map(|raw| {
                if raw == "*" {
                    GAP_MARK.to_string()
                } else if raw == "$" {
                    END_MARK.to_string()
                } else if let Some(stem) = raw.strip_suffix('*') {
                    format!("{stem}{STAR_MARK}")
                } else {
                    raw.to_string()
                }
            })
            .collect();
        let words = self.normaliser.normalise(&marked.join(" ")).words;
        let parts = words
            .into_iter()
            .map(|word| {
                if word == GAP_MARK {
                    return Part::Gap;
                }
                if word == END_MARK {
                    return Part::End;
                }
                let (word, prefix) = match word.strip_suffix(STAR_MARK) {
                    Some(stem) => (stem.to_string(), true),
                    None => (word, false),
                };
                Part::Word {
                    chars: word.chars().collect(),
                    squeezed: squeeze_doubles(&word),
                    word,
                    prefix,
                }
            })
            .filter(|part| !matches!(part, Part::Word { word, .. } if word.is_empty()))
            .collect();
        TriggerPattern {
            written: written.to_string(),
            lang: lang.to_string(),
            pos,
            parts,
            except,
        }
    }

    /// A matcher for other phrase lists (the themes of `sujets.toml`) that reads
    /// messages exactly as the urgent triggers do: same contractions, same
    /// normalisation, same negation guard, no typo tolerance. Each list is
    /// `(name, node, node's place, [(language, phrase, place)])`; its sections
    /// take the `Verify` level only so that they are matched without typo
    /// tolerance ("messages" is one letter from "massages"): the caller decides
    /// what a hit means.
    pub(crate) fn sibling(&self, lists: Vec<SiblingList>) -> Matcher {
        let mut out = Matcher {
            normaliser: self.normaliser.clone(),
            // No negation guard: it is there to hold back a false alarm ("ce jeu va
            // me tuer"), and "sans mon accord" or "is this confidential" name a
            // theme all the same.
            fuzzy_min: self.fuzzy_min,
            exact_words: self.exact_words.clone(),
            ..Matcher::default()
        };
        for (name, node, node_pos, phrases) in lists {
            let patterns = phrases
                .iter()
                .map(|(lang, written, pos)| out.compile(written, lang, pos.clone()))
                .collect();
            out.sections.push(Section {
                name,
                node,
                node_pos,
                level: Level::Verify,
                patterns,
            });
        }
        out
    }

    /// Where a quoted phrase is in a file, searching from a byte offset (for
    /// files other than `declencheurs.toml`, whose name the caller sets).
    pub(crate) fn find_phrase(source: &str, from: usize, value: &str) -> (usize, Pos) {
        find_quoted(source, from, value)
    }

    /// The node of every section (for reachability).
    pub(crate) fn nodes(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().map(|s| s.node.as_str())
    }

    /// Whether a node is where a trigger leads.
    pub fn is_trigger_node(&self, node: &str) -> bool {
        self.sections.iter().any(|s| s.node == node)
    }

    /// The first trigger that fires on a message, in section order.
    pub fn classify(&self, text: &str) -> Option<Hit<'_>> {
        let normalised = self.normaliser.normalise(text);
        self.first_hit(&normalised)
    }

    fn first_hit(&self, normalised: &Normalised) -> Option<Hit<'_>> {
        let index = self.index.get_or_init(|| self.build_index());
        for (section, index) in self.sections.iter().zip(index) {
            // Only the patterns whose required first word is present can pass
            // `could_match`; tried in their written order, as before.
            let mut candidates = index.always.clone();
            for word in &normalised.present {
                if let Some(ids) = index.by_word.get(word) {
                    candidates.extend(ids);
                }
            }
            candidates.sort_unstable();
            candidates.dedup();
            for i in candidates {
                if let Some(hit) = self.hit(section, &section.patterns[i], normalised, false) {
                    return Some(hit);
                }
            }
        }
        None
    }

    fn build_index(&self) -> Vec<SectionIndex> {
        self.sections
            .iter()
            .map(|section| {
                let fuzzy = section.level == Level::Urgent;
                let mut index = SectionIndex::default();
                for (i, pattern) in section.patterns.iter().enumerate() {
                    let required = pattern.parts.iter().find_map(|part| match part {
                        Part::Word {
                            word,
                            chars,
                            squeezed,
                            prefix: false,
                        } if !(fuzzy && chars.len() >= self.fuzzy_min) => {
                            Some((word, chars.len() >= 4, squeezed))
                        }
                        _ => None,
                    });
                    match required {
                        Some((word, squeezable, squeezed)) => {
                            index.by_word.entry(word.clone()).or_default().push(i);
                            if squeezable && squeezed != word {
                                index.by_word.entry(squeezed.clone()).or_default().push(i);
                            }
                        }
                        None => index.always.push(i),
                    }
                }
                index
            })
            .collect()
    }

    /// Every pattern that matches, negated or not, and the normalised words: what
    /// `relais flows triggers why` prints.
    pub fn explain(&self, text: &str) -> (Normalised, Vec<Hit<'_>>) {
        let normalised = self.normaliser.normalise(text);
        let mut hits = Vec::new();
        for section in &self.sections {
            for pattern in &section.patterns {
                if let Some(hit) = self.hit(section, pattern, &normalised, true) {
                    hits.push(hit);
                }
            }
        }
        (normalised, hits)
    }

    fn hit<'m>(
        &'m self,
        section: &'m Section,
        pattern: &'m TriggerPattern,
        normalised: &Normalised,
        keep_negated: bool,
    ) -> Option<Hit<'m>> {
        let fuzzy = section.level == Level::Urgent;
        if !self.could_match(pattern, normalised, fuzzy) {
            return None;
        }
        let mut negated_hit = None;
        for start in 0..normalised.words.len() {
            let mut gaps = Vec::new();
            if let Some(end) = self.match_at(&pattern.parts, normalised, start, fuzzy, &mut gaps) {
                let negated = self.negated(pattern, normalised, start, &gaps)
                    || self.negated_after(normalised, end)
                    || self.followed_by(normalised, end, &self.negation.after)
                    || self.followed_by(normalised, end, &pattern.except);
                let hit = Hit {
                    section,
                    pattern,
                    start,
                    end,
                    negated,
                };
                if !negated {
                    return Some(hit);
                }
                negated_hit.get_or_insert(hit);
            }
        }
        negated_hit.filter(|_| keep_negated)
    }

    /// A quick test: every whole word of the pattern that accepts no typo is in the
    /// message (as itself, or with its doubled letters made single).
    fn could_match(&self, pattern: &TriggerPattern, normalised: &Normalised, fuzzy: bool) -> bool {
        pattern.parts.iter().all(|part| match part {
            Part::Word {
                word,
                chars,
                squeezed,
                prefix: false,
            } if !(fuzzy && chars.len() >= self.fuzzy_min) => {
                normalised.present.contains(word)
                    || (chars.len() >= 4 && normalised.present.contains(squeezed))
            }
            _ => true,
        })
    }

    /// Matches parts from a word; the end (exclusive) and the gap words' indexes.
    fn match_at(
        &self,
        parts: &[Part],
        normalised: &Normalised,
        at: usize,
        fuzzy: bool,
        gaps: &mut Vec<usize>,
    ) -> Option<usize> {
        let Some((first, rest)) = parts.split_first() else {
            return Some(at);
        };
        match first {
            Part::Word { .. } => {
                if at < normalised.words.len() && self.word_matches(first, normalised, at, fuzzy) {
                    self.match_at(rest, normalised, at + 1, fuzzy, gaps)
                } else {
                    None
                }
            }
            Part::End => {
                let ends = at == normalised.words.len()
                    || (at > 0 && normalised.clauses[at] != normalised.clauses[at - 1]);
                if ends {
                    self.match_at(rest, normalised, at, fuzzy, gaps)
                } else {
                    None
                }
            }
            Part::Gap => {
                for skip in 0..=GAP_MAX {
                    if at + skip > normalised.words.len() {
                        break;
                    }
                    let before = gaps.len();
                    gaps.extend(at..at + skip);
                    if let Some(end) = self.match_at(rest, normalised, at + skip, fuzzy, gaps) {
                        return Some(end);
                    }
                    gaps.truncate(before);
                }
                None
            }
        }
    }

    fn word_matches(&self, part: &Part, normalised: &Normalised, at: usize, fuzzy: bool) -> bool {
        let Part::Word {
            word,
            chars,
            squeezed,
            prefix,
        } = part
        else {
            return false;
        };
        let typed = &normalised.words[at];
        let typed_squeezed = &normalised.squeezed[at];
        let long = chars.len() >= 4;
        if *prefix {
            if typed.starts_with(word.as_str())
                || (long && typed_squeezed.starts_with(squeezed.as_str()))
            {
                return true;
            }
            if !fuzzy || chars.len() < self.fuzzy_min || self.exact_words.contains(typed) {
                return false;
            }
            let typed_chars = &normalised.chars[at];
            let n = chars.len();
            return (n.saturating_sub(1)..=n + 1)
                .filter(|&k| k <= typed_chars.len() && k > 0)
                .any(|k| within_one(chars, &typed_chars[..k]));
        }
        if typed == word || (long && typed_squeezed == squeezed) {
            return true;
        }
        if !fuzzy || chars.len() < self.fuzzy_min || self.exact_words.contains(typed) {
            return false;
        }
        let typed_chars = &normalised.chars[at];
        within_one(chars, typed_chars)
    }

    /// A negation just before the match (little words skipped, same clause), or in
    /// one of its gaps, holds it back; a pattern that starts with its subject is
    /// negated inside itself, never from before.
    fn negated(
        &self,
        pattern: &TriggerPattern,
        normalised: &Normalised,
        start: usize,
        gaps: &[usize],
    ) -> bool {
        if gaps
            .iter()
            .any(|&i| self.negation.words.contains(&normalised.words[i]))
        {
            return true;
        }
        let starts_with_subject = matches!(
            pattern.parts.first(),
            Some(Part::Word { word, .. }) if self.negation.subjects.contains(word)
        );
        if starts_with_subject {
            return false;
        }
        let clause = normalised.clauses[start];
        for i in (0..start).rev() {
            let word = &normalised.words[i];
            if normalised.clauses[i] != clause || self.negation.cuts.contains(word) {
                return false;
            }
            if self.negation.fillers.contains(word) {
                continue;
            }
            return self.negation.words.contains(word);
        }
        false
    }

    /// "il me frappe pas": a negation right after the match, in its clause.
    fn negated_after(&self, normalised: &Normalised, end: usize) -> bool {
        let same_clause = |i: usize| {
            i < normalised.words.len()
                && end > 0
                && normalised.clauses[i] == normalised.clauses[end - 1]
        };
        same_clause(end)
            && self.negation.after_words.contains(&normalised.words[end])
            && !(same_clause(end + 1)
                && self
                    .negation
                    .after_unless
                    .contains(&normalised.words[end + 1]))
    }

    /// Whether the words after a match start with one of these phrases, little
    /// words skipped ("je vais mourir de honte", "il me bat toujours à Fortnite").
    fn followed_by(&self, normalised: &Normalised, end: usize, phrases: &[Vec<String>]) -> bool {
        if phrases.is_empty() {
            return false;
        }
        let mut at = end;
        loop {
            let rest = &normalised.words[at.min(normalised.words.len())..];
            if phrases.iter().any(|phrase| rest.starts_with(phrase)) {
                return true;
            }
            match rest.first() {
                Some(word)
                    if self.negation.fillers.contains(word)
                        || word.chars().all(|c| c.is_ascii_digit()) =>
                {
                    at += 1
                }
                _ => return false,
            }
        }
    }

    /// The checks `flows check` runs on the triggers file.
    pub(crate) fn check(&self, node_exists: &dyn Fn(&str) -> bool, out: &mut Vec<Diagnostic>) {
        let issue =
            |pos: &Pos, issue: TriggerIssue| Diagnostic::new(pos.clone(), Problem::Trigger(issue));
        for section in &self.sections {
            // `load` already checks the `[urgence]` node.
            if section.name != "urgence" && !node_exists(&section.node) {
                out.push(Diagnostic::new(
                    section.node_pos.clone(),
                    Problem::UnknownTarget {
                        name: section.node.clone(),
                    },
                ));
            }
            for pattern in &section.patterns {
                let gap_edge = matches!(pattern.parts.first(), Some(Part::Gap | Part::End))
                    || matches!(pattern.parts.last(), Some(Part::Gap))
                    || pattern
                        .parts
                        .windows(2)
                        .any(|w| matches!(w, [Part::Gap, Part::Gap]));
                if pattern.parts.is_empty() {
                    out.push(Diagnostic::new(pattern.pos.clone(), Problem::EmptyWord));
                    continue;
                }
                if gap_edge {
                    out.push(issue(
                        &pattern.pos,
                        TriggerIssue::GapAtEdge {
                            written: pattern.written.clone(),
                        },
                    ));
                    continue;
                }
                let typed = typed_form(&pattern.written);
                let normalised = self.normaliser.normalise(&typed);
                if self.hit(section, pattern, &normalised, false).is_none() {
                    out.push(issue(
                        &pattern.pos,
                        TriggerIssue::NeverMatches {
                            written: pattern.written.clone(),
                        },
                    ));
                    continue;
                }
                if section.level == Level::Verify {
                    if let Some(hit) = self.first_hit(&normalised) {
                        if hit.section.level == Level::Urgent {
                            out.push(issue(
                                &pattern.pos,
                                TriggerIssue::Shadowed {
                                    written: pattern.written.clone(),
                                    by: hit.pattern.written.clone(),
                                },
                            ));
                        }
                    }
                }
                for (example, _) in &self.benign {
                    let normalised = self.normaliser.normalise(example);
                    if self.hit(section, pattern, &normalised, false).is_some() {
                        out.push(issue(
                            &pattern.pos,
                            TriggerIssue::MatchesBenign {
                                written: pattern.written.clone(),
                                example: example.clone(),
                            },
                        ));
                    }
                }
            }
        }
        for (typed, pos) in &self.contraction_pos {
            let once = self.normaliser.normalise(typed).words;
            let twice = self.normaliser.normalise(&once.join(" ")).words;
            if once != twice {
                out.push(issue(
                    pos,
                    TriggerIssue::ContractionLoops {
                        written: typed.clone(),
                    },
                ));
            }
        }
    }
}

/// What a youth could type for a pattern: `*` endings dropped, a gap one word.
pub(crate) fn typed_form(written: &str) -> String {
    written
        .split('|')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .filter(|raw| *raw != "$")
        .map(|raw| {
            if raw == "*" {
                "x"
            } else {
                raw.trim_end_matches('*')
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[urgence]
noeud = "urgence"
fr = ["il * dehors", "me a frapp*", "en danger", "veux mourir", "suicid*"]
en = ["kill myself", "in danger"]

[verifier]
noeud = "verifier_danger"
fr = ["me menace"]

[contractions]
"jveux" = "je veux"
"ma" = "me a"
"m" = "me"
"im" = "i am"
"y" = "il"
"pu" = "plus"

[normalisation]
collees = { j = "je" }
unites = ["km", "kms"]

[negation]
mots = ["pas", "rien", "not", "no"]
remplissage = ["du", "tout", "really", "de"]
sujets = ["il", "je", "i"]

[tolerance]
mots_exacts = ["prendre"]

[exemples_benins]
fr = ["je suis pas en danger"]
"#;

    fn matcher() -> Matcher {
        Matcher::from_toml(FILE)
    }

    fn level(text: &str) -> Option<Level> {
        matcher().classify(text).map(|h| h.section.level)
    }

    #[test]
    fn normalises_case_accents_runs_and_contractions() {
        let m = matcher();
        assert_eq!(
            m.normaliser.normalise_text("JVEUX mourirrrr"),
            "je veux mourir"
        );
        assert_eq!(m.normaliser.normalise_text("jsuis là"), "je suis la");
        assert_eq!(
            m.normaliser.normalise_text("y ma frappée"),
            "il me a frappee"
        );
        assert_eq!(
            m.normaliser.normalise_text("il habite à 10 kms"),
            "il habite a 10kms"
        );
    }

    #[test]
    fn gaps_typos_and_negation() {
        assert_eq!(level("yé encore dehors"), None, "ye is not in this table");
        assert_eq!(level("y est encore dehors"), Some(Level::Urgent));
        assert_eq!(level("il est pas dehors"), None, "a negation in the gap");
        assert_eq!(level("jveux mourrir"), Some(Level::Urgent));
        assert_eq!(level("je pense au sucide"), Some(Level::Urgent));
        assert_eq!(level("i want to kill myslef"), Some(Level::Urgent));
        assert_eq!(level("je suis pas du tout en danger"), None);
        assert_eq!(level("im not really in danger"), None);
        assert_eq!(level("j'ai peur, je suis en danger"), Some(Level::Urgent));
        assert_eq!(level("il me menace"), Some(Level::Verify));
        assert_eq!(level("ma mère m'a frappée"), Some(Level::Urgent));
    }

    #[test]
    fn one_edit() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(within_one(&c("myself"), &c("myslef")));
        assert!(within_one(&c("mourir"), &c("mourrir")));
        assert!(within_one(&c("suicide"), &c("sucide")));
        assert!(!within_one(&c("suicide"), &c("sucid")));
        assert!(within_one(&c("abc"), &c("abd")));
    }

    #[test]
    fn check_finds_benign_and_never_matching_patterns() {
        let file = FILE.replace("\"veux mourir\"", "\"veux mourir\", \"* mourir\"");
        let m = Matcher::from_toml(&file);
        let mut out = Vec::new();
        m.check(&|_| true, &mut out);
        let codes: Vec<_> = out.iter().map(|d| d.problem.code()).collect();
        assert!(codes.contains(&"trigger_gap_at_edge"), "{codes:?}");
        assert!(!codes.contains(&"trigger_matches_benign"), "{codes:?}");
        let benign = Matcher::from_toml(&FILE.replace("\"en danger\"", "\"danger\""));
        let mut out = Vec::new();
        benign.check(&|_| true, &mut out);
        let found = out
            .iter()
            .find(|d| d.problem.code() == "trigger_matches_benign")
            .expect("a benign match");
        assert_eq!(found.pos.line, 4, "{found:?}");
    }
}
