//! Author tests (`flows/essais/*.toml`): a sentence a youth could write at a node,
//! and the node it must lead to. `flows check` runs them and so does `cargo test`,
//! so an author states what a route must do without writing Rust.
//!
//! ```toml
//! [[essai]]
//! depuis = "renc_raconter"   # the node where the question is asked
//! dire = "il a 25 ans"       # what the youth writes (or: choisir = "line_id")
//! attendu = "renc_avant"     # the first node it must lead to
//! langue = "en"              # optional, fr by default
//! ```

use std::path::Path;

use serde::Deserialize;

use super::diagnostic::{Diagnostic, Problem};
use super::engine::{self, Input, State, Trace};
use super::model::{FlowSet, Pos, SOURCE_LANG};

/// The folder of author tests, in the flows folder.
pub(crate) const ESSAIS_DIR: &str = "essais";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EssaiFile {
    #[serde(default)]
    essai: Vec<Essai>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Essai {
    pub depuis: String,
    pub dire: Option<String>,
    pub choisir: Option<String>,
    pub attendu: String,
    pub langue: Option<String>,
}

/// What an essai led to: the first node entered, `fin`, or `non compris`.
pub(crate) fn outcome(set: &FlowSet, essai: &Essai) -> Result<String, String> {
    if !set.nodes.contains_key(&essai.depuis) {
        return Err(format!(
            "le nœud « {} » n'existe pas (depuis).",
            essai.depuis
        ));
    }
    let lang = essai.langue.clone().unwrap_or_else(|| SOURCE_LANG.into());
    let mut state = State {
        lang: lang.clone(),
        ..Default::default()
    };
    state.vars.insert("langue".into(), lang);
    engine::enter(set, &mut state, &essai.depuis);
    let step = match (&essai.dire, &essai.choisir) {
        (Some(text), None) => engine::step(set, &mut state, Input::Text(text)),
        (None, Some(id)) => engine::step(set, &mut state, Input::Choose(id)),
        _ => return Err("écris « dire = … » ou « choisir = … », un des deux.".into()),
    };
    if step.not_expected {
        return Ok("choix non proposé".into());
    }
    let entered = step.trace.iter().find_map(|t| match t {
        Trace::Entered(node) => Some(node.clone()),
        _ => None,
    });
    Ok(entered.unwrap_or_else(|| {
        if state.node.is_none() {
            "fin".into()
        } else {
            "non compris".into()
        }
    }))
}

/// Runs one file of essais; a diagnostic for each that fails or is malformed.
pub(crate) fn run(set: &FlowSet, file: &str, content: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let parsed: EssaiFile = match toml::from_str(content) {
        Ok(parsed) => parsed,
        Err(error) => {
            let line = error
                .span()
                .map_or(1, |s| content[..s.start].matches('\n').count() as u32 + 1);
            out.push(Diagnostic::new(
                Pos {
                    file: file.into(),
                    line,
                    col: 1,
                },
                Problem::BadEssai {
                    detail: error.message().to_string(),
                },
            ));
            return out;
        }
    };
    let headers: Vec<u32> = content
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[essai]]")
        .map(|(i, _)| i as u32 + 1)
        .collect();
    for (index, essai) in parsed.essai.iter().enumerate() {
        let pos = Pos {
            file: file.into(),
            line: headers.get(index).copied().unwrap_or(1),
            col: 1,
        };
        match outcome(set, essai) {
            Ok(got) if got == essai.attendu => {}
            Ok(got) => out.push(Diagnostic::new(
                pos,
                Problem::EssaiFailed {
                    said: essai
                        .dire
                        .clone()
                        .or_else(|| essai.choisir.clone().map(|c| format!("#{c}")))
                        .unwrap_or_default(),
                    expected: essai.attendu.clone(),
                    got,
                },
            )),
            Err(detail) => out.push(Diagnostic::new(pos, Problem::BadEssai { detail })),
        }
    }
    out
}

/// Runs every `essais/*.toml` of a flows folder (none: nothing to run).
pub fn run_folder(dir: &Path, set: &FlowSet) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join(ESSAIS_DIR)) else {
        return out;
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let name = format!(
            "{ESSAIS_DIR}/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        match std::fs::read_to_string(&path) {
            Ok(content) => out.extend(run(set, &name, &content)),
            Err(error) => out.push(Diagnostic::new(
                Pos {
                    file: name,
                    line: 1,
                    col: 1,
                },
                Problem::UnreadableFile {
                    detail: error.kind().to_string(),
                },
            )),
        }
    }
    out
}
