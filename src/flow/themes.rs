//! The themes free text leads to (`flows/sujets.toml`): a phrase list per theme,
//! written like the urgent triggers and read with the same normalisation. When a
//! youth types words that are not urgent and that the node they are at does not
//! expect, the first theme whose phrase is in the message takes them to its node,
//! instead of "not understood".

use std::collections::BTreeMap;

use serde::Deserialize;

use super::diagnostic::Diagnostic;
use super::model::Pos;
use super::triggers::Matcher;

/// The themes file, in the flows folder.
pub(crate) const THEMES_FILE: &str = "sujets.toml";

#[derive(Debug, Deserialize)]
struct Entry {
    noeud: String,
    #[serde(flatten)]
    languages: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    sujet: Vec<Entry>,
}

fn pos(source: &str, at: usize) -> Pos {
    let before = &source[..at.min(source.len())];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    Pos {
        file: THEMES_FILE.into(),
        line,
        col,
    }
}

/// Reads `sujets.toml` into a matcher that shares the triggers' normalisation.
/// The lists are tried in the file's order: the most precise first.
pub(crate) fn from_toml(triggers: &Matcher, source: &str) -> Result<Matcher, toml::de::Error> {
    let file: File = toml::from_str(source)?;
    let starts: Vec<usize> = source
        .match_indices("[[sujet]]")
        .map(|(at, _)| at)
        .collect();
    let mut lists = Vec::new();
    for (index, entry) in file.sujet.into_iter().enumerate() {
        let offset = starts.get(index).copied().unwrap_or(0);
        let node_at = source[offset..]
            .find(&format!("\"{}\"", entry.noeud))
            .map_or(offset, |at| offset + at);
        let mut phrases = Vec::new();
        for (lang, list) in entry.languages {
            let mut cursor = source[offset..]
                .find(&format!("\n{lang} ="))
                .map_or(offset, |at| offset + at);
            for written in list {
                let (next, mut at) = Matcher::find_phrase(source, cursor, &written);
                cursor = next;
                at.file = THEMES_FILE.into();
                phrases.push((lang.clone(), written, at));
            }
        }
        lists.push((
            format!("sujet:{}", entry.noeud),
            entry.noeud,
            pos(source, node_at),
            phrases,
        ));
    }
    Ok(triggers.sibling(lists))
}

/// The checks `flows check` runs on the themes: a target node that does not
/// exist, a phrase that never matches, a phrase the urgent triggers always take.
pub(crate) fn check(
    themes: &Matcher,
    triggers: &Matcher,
    node_exists: &dyn Fn(&str) -> bool,
    out: &mut Vec<Diagnostic>,
) {
    themes.check(node_exists, out);
    for section in &themes.sections {
        for pattern in &section.patterns {
            let typed = super::triggers::typed_form(&pattern.written);
            if let Some(hit) = triggers.classify(&typed) {
                out.push(Diagnostic::new(
                    pattern.pos.clone(),
                    super::diagnostic::Problem::Trigger(super::triggers::TriggerIssue::Shadowed {
                        written: pattern.written.clone(),
                        by: hit.pattern.written.clone(),
                    }),
                ));
            }
        }
    }
}
