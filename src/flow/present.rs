//! How `flows check` prints its diagnostics for a person: errors first, then the
//! warnings, the ones that come by the dozen (missing translations, missing line
//! ids) grouped per file with the command that fixes them all, then a summary.

use std::collections::BTreeMap;

use super::diagnostic::{Diagnostic, Problem};

/// More than this many of a kind in one file are said in one line.
const GROUP_FROM: usize = 4;

/// The text `flows check` prints.
pub(crate) fn present(diagnostics: &[Diagnostic], lang: &str, errors_only: bool) -> String {
    let fr = lang == "fr";
    let mut out = String::new();
    let mut errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
    errors.sort_by(|a, b| a.pos.cmp(&b.pos));
    for diagnostic in &errors {
        out.push_str(&diagnostic.render(lang));
        out.push('\n');
    }
    let warnings: Vec<&Diagnostic> = diagnostics.iter().filter(|d| !d.is_error()).collect();
    if !errors_only {
        // (kind, file, language) → count, for the kinds that come by the dozen.
        let mut groups: BTreeMap<(&str, String, String), usize> = BTreeMap::new();
        for warning in &warnings {
            if let Some(key) = group_key(warning) {
                *groups.entry(key).or_default() += 1;
            }
        }
        for warning in &warnings {
            match group_key(warning) {
                Some(key) if groups[&key] >= GROUP_FROM => continue,
                _ => {
                    out.push_str(&warning.render(lang));
                    out.push('\n');
                }
            }
        }
        for ((kind, file, target), count) in &groups {
            if *count < GROUP_FROM {
                continue;
            }
            let line = match (*kind, fr) {
                ("translation_missing", true) => format!("{file}: avertissement: {count} lignes ne sont pas traduites en « {target} » : lance « relais flows translations export --lang {target} --only missing »."),
                ("translation_missing", false) => format!("{file}: warning: {count} lines are not translated into \"{target}\": run \"relais flows translations export --lang {target} --only missing\"."),
                ("translation_stale", true) => format!("{file}: avertissement: {count} lignes ont changé depuis leur traduction en « {target} » : lance « relais flows translations export --lang {target} --only stale »."),
                ("translation_stale", false) => format!("{file}: warning: {count} lines changed since their translation into \"{target}\": run \"relais flows translations export --lang {target} --only stale\"."),
                (_, true) => format!("{file}: avertissement: {count} lignes n'ont pas de « #id:… » : lance « relais flows ids --add »."),
                (_, false) => format!("{file}: warning: {count} lines have no \"#id:…\": run \"relais flows ids --add\"."),
            };
            out.push_str(&line);
            out.push('\n');
        }
    }
    let (e, w) = (errors.len(), warnings.len());
    let essais_only = e > 0 && errors.iter().all(|d| d.pos.file.starts_with("essais/"));
    if essais_only {
        out.push_str(&if fr {
            format!("{e} essai(s) raté(s), {w} avertissement(s) : les flux se chargent, mais ne font pas ce que les essais attendent\n")
        } else {
            format!("{e} failed test(s), {w} warning(s): the flows load, but do not do what the tests expect\n")
        });
        return out;
    }
    out.push_str(&match (e, fr) {
        (0, true) => format!("ok : aucune erreur, {w} avertissement(s)\n"),
        (0, false) => format!("ok: no error, {w} warning(s)\n"),
        (n, true) => {
            format!("{n} erreur(s), {w} avertissement(s) : ces flux ne seront pas chargés\n")
        }
        (n, false) => format!("{n} error(s), {w} warning(s): these flows will not be loaded\n"),
    });
    out
}

fn group_key(diagnostic: &Diagnostic) -> Option<(&'static str, String, String)> {
    match &diagnostic.problem {
        // A stale translation sits in the table; say the flow file its line is in.
        Problem::TranslationMissing { lang, .. } => Some((
            "translation_missing",
            diagnostic.pos.file.clone(),
            lang.clone(),
        )),
        Problem::MissingLineId => Some((
            "missing_line_id",
            diagnostic.pos.file.clone(),
            String::new(),
        )),
        _ => None,
    }
}
