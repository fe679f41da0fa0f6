//! The translation workflow: export a language's lines to a CSV a translator fills
//! (id, source, translation, status, file, node, line, old_source), and import it
//! back into `traductions/LANG.txt` with the hash of each source line, reporting
//! conflicts. It cannot lose work: an older CSV never replaces a translation of the
//! current French, and French-locale Excel files (`;`, Windows-1252) are read as
//! they are. The words of each `@quand` are rows too (`node.quand.N`), so routes
//! understand a youth in every language.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::load::{self, line_hash, TRANSLATIONS_DIR};
use super::model::FlowSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Row {
    pub id: String,
    pub source: String,
    pub translation: String,
    /// `missing`, `stale` or `ok` at export time.
    pub status: String,
    pub file: String,
    pub node: String,
    pub line: u32,
    /// For a stale row, the French the translation was made from (when the flow
    /// history still has it).
    #[serde(default)]
    pub old_source: String,
}

/// A line a translator translates: a text line, or the words of a route.
pub(crate) struct Source<'s> {
    pub id: String,
    pub text: String,
    pub file: &'s str,
    /// The node, or `@bloc name` for a block's button (translated once).
    pub node: String,
    pub line: u32,
}

/// Every translatable line of a set, in source order: text lines, then the words
/// of each `@quand` (`node.quand.N`).
pub(crate) fn sources(set: &FlowSet) -> Vec<Source<'_>> {
    let block_of: HashMap<&super::model::Pos, &str> = set
        .blocks
        .values()
        .flat_map(|b| b.choices.iter().map(|c| (&c.label.pos, b.name.as_str())))
        .collect();
    let mut out: Vec<Source<'_>> = load::lines_in_order(set)
        .into_iter()
        .map(|(node, line)| Source {
            id: line.id.clone(),
            text: line.source.clone(),
            file: &line.pos.file,
            node: match block_of.get(&line.pos) {
                Some(block) => format!("@bloc {block}"),
                None => node.name.clone(),
            },
            line: line.pos.line,
        })
        .collect();
    for name in &set.order {
        let Some(node) = set.nodes.get(name) else {
            continue;
        };
        for (index, route) in node.exit.routes.iter().enumerate() {
            out.push(Source {
                id: route_id(name, index),
                text: route_words(set, route),
                file: &route.pos.file,
                node: node.name.clone(),
                line: route.pos.line,
            });
        }
    }
    out.sort_by(|a, b| (a.file, a.line).cmp(&(b.file, b.line)));
    out
}

/// The id of a route's words: `node.quand.N`, from 1.
pub(crate) fn route_id(node: &str, index: usize) -> String {
    format!("{node}.quand.{}", index + 1)
}

/// A route's words as the author wrote them in the `.flow` file (the words its
/// translations add at load time are not in the file).
pub(crate) fn route_words(set: &FlowSet, route: &super::model::Route) -> String {
    let line = set
        .sources
        .get(&route.pos.file)
        .and_then(|text| text.lines().nth(route.pos.line.saturating_sub(1) as usize))
        .unwrap_or("");
    let args = line
        .trim()
        .split_once(char::is_whitespace)
        .map_or("", |(_, rest)| rest);
    args.rsplit_once("->")
        .map_or(args, |(words, _)| words)
        .trim()
        .to_string()
}

/// The rows of every line of a set for a language. `history` gives, for a line id
/// and the hash its translation was made from, the French of that time.
pub(crate) fn export(
    set: &FlowSet,
    lang: &str,
    history: &HashMap<(String, String), String>,
) -> Vec<Row> {
    let table = set.translations.get(lang);
    let sources = sources(set);
    // French already translated, for suggestions: source text → translation.
    let mut known: HashMap<&str, &str> = HashMap::new();
    if let Some(table) = table {
        for source in &sources {
            if let Some(t) = table.get(&source.id) {
                if t.source_hash == line_hash(&source.text) {
                    known.entry(source.text.trim()).or_insert(&t.text);
                }
            }
        }
    }
    sources
        .iter()
        .map(|source| {
            let existing = table.and_then(|t| t.get(&source.id));
            let (status, translation, old_source) = match existing {
                None => match known.get(source.text.trim()) {
                    Some(suggested) => ("suggested", suggested.to_string(), String::new()),
                    None => ("missing", String::new(), String::new()),
                },
                Some(t) if t.source_hash != line_hash(&source.text) => (
                    "stale",
                    t.text.clone(),
                    history
                        .get(&(source.id.clone(), t.source_hash.clone()))
                        .cloned()
                        .unwrap_or_default(),
                ),
                Some(t) => ("ok", t.text.clone(), String::new()),
            };
            Row {
                id: source.id.clone(),
                source: source.text.clone(),
                translation,
                status: status.into(),
                file: source.file.to_string(),
                node: source.node.to_string(),
                line: source.line,
                old_source,
            }
        })
        .collect()
}

/// The French of earlier versions by (line id, hash), from the flow history, so a
/// stale row can show what changed.
pub(crate) fn history_of<'a>(
    versions: impl Iterator<Item = &'a BTreeMap<String, String>>,
) -> HashMap<(String, String), String> {
    let mut out = HashMap::new();
    for sources in versions {
        for (name, content) in sources {
            if !name.ends_with(".flow") {
                continue;
            }
            let parsed = super::parse::parse_file(name, content);
            let block_lines = parsed
                .blocks
                .iter()
                .flat_map(|b| b.choices.iter().map(|c| &c.label));
            for line in parsed
                .nodes
                .iter()
                .flat_map(|n| n.text_lines())
                .chain(block_lines)
            {
                out.insert(
                    (line.id.clone(), line_hash(&line.source)),
                    line.source.clone(),
                );
            }
        }
    }
    out
}

pub(crate) fn to_csv(rows: &[Row]) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row)?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// What reading a translator's file found.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CsvError {
    #[error("{0}")]
    Invalid(String),
}

impl CsvError {
    pub(crate) fn message(&self, lang: &str) -> String {
        let CsvError::Invalid(detail) = self;
        if lang == "fr" {
            format!("Je n'arrive pas à lire ce CSV ({detail}). Dans Excel, enregistre-le en « CSV UTF-8 (délimité par des virgules) », avec la première ligne id,source,translation,….")
        } else {
            format!("I cannot read this CSV ({detail}). In Excel, save it as \"CSV UTF-8 (Comma delimited)\", with the first line id,source,translation,….")
        }
    }
}

/// How a translator's file was read, to tell them.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub text: String,
    /// It was Windows-1252 (older Excel), converted.
    pub windows_1252: bool,
    /// Its columns are separated by `;` (French-locale Excel).
    pub semicolons: bool,
}

/// Reads a CSV file's bytes as Excel may have saved them: UTF-8 with or without a
/// BOM, or Windows-1252; commas or semicolons.
pub(crate) fn decode(bytes: &[u8]) -> Decoded {
    let (text, windows_1252) = match std::str::from_utf8(bytes) {
        Ok(text) => (text.trim_start_matches('\u{feff}').to_string(), false),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (text.into_owned(), true)
        }
    };
    let header = text.lines().next().unwrap_or("");
    let semicolons = header.matches(';').count() > header.matches(',').count();
    Decoded {
        text,
        windows_1252,
        semicolons,
    }
}

/// The rows of a decoded file.
pub(crate) fn rows_of(decoded: &Decoded) -> Result<Vec<Row>, CsvError> {
    csv::ReaderBuilder::new()
        .delimiter(if decoded.semicolons { b';' } else { b',' })
        .from_reader(decoded.text.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|e: csv::Error| {
            CsvError::Invalid(match e.position() {
                Some(p) => format!("ligne {}", p.line()),
                None => "en-tête".into(),
            })
        })
}

/// A row that could not be taken as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// The id is not a line of the flows any more.
    UnknownId { id: String },
    /// The French line changed since the CSV was exported: the translation is kept
    /// but stays stale until reviewed against the new source.
    SourceChanged { id: String },
    /// The table already holds a translation of the current French; the CSV's,
    /// made from older French, is not taken.
    NewerKept { id: String },
}

impl Conflict {
    pub(crate) fn message(&self, lang: &str) -> String {
        match (self, lang) {
            (Conflict::UnknownId { id }, "fr") => format!("{id} : cette ligne n'existe plus dans les flux; traduction ignorée."),
            (Conflict::UnknownId { id }, _) => format!("{id}: this line no longer exists in the flows; translation ignored."),
            (Conflict::SourceChanged { id }, "fr") => format!("{id} : le texte français a changé depuis l'export; la traduction reste « à revoir »."),
            (Conflict::SourceChanged { id }, _) => format!("{id}: the French text changed since the export; the translation stays stale."),
            (Conflict::NewerKept { id }, "fr") => format!("{id} : traduction plus récente gardée (ce CSV traduit une version plus ancienne du français)."),
            (Conflict::NewerKept { id }, _) => format!("{id}: newer translation kept (this CSV translates an older version of the French)."),
        }
    }
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Imported {
    /// The new content of `traductions/LANG.txt`.
    pub table: String,
    pub conflicts: Vec<Conflict>,
    /// Lines translated that were not before.
    pub added: usize,
    /// Lines whose translation changed.
    pub changed: usize,
}

/// The new content of `traductions/LANG.txt` from filled rows, with conflicts.
pub(crate) fn import(set: &FlowSet, lang: &str, rows: &[Row]) -> Imported {
    let sources = sources(set);
    let current: BTreeMap<&str, &str> = sources
        .iter()
        .map(|s| (s.id.as_str(), s.text.as_str()))
        .collect();
    let mut imported = Imported::default();
    let mut taken: BTreeMap<String, (String, String)> = BTreeMap::new();
    // Keep what the table already holds, then apply the rows.
    if let Some(table) = set.translations.get(lang) {
        for (id, t) in table {
            taken.insert(id.clone(), (t.source_hash.clone(), t.text.clone()));
        }
    }
    for row in rows {
        let translation = row.translation.trim().replace('\n', " ");
        if translation.is_empty() {
            continue;
        }
        let Some(source) = current.get(row.id.as_str()) else {
            imported
                .conflicts
                .push(Conflict::UnknownId { id: row.id.clone() });
            continue;
        };
        let current_hash = line_hash(source);
        let before = taken.get(&row.id).cloned();
        let hash = if source.trim() == row.source.trim() {
            current_hash
        } else if before.as_ref().is_some_and(|(h, _)| *h == current_hash) {
            // Never replace a translation of today's French with one of older French.
            imported
                .conflicts
                .push(Conflict::NewerKept { id: row.id.clone() });
            continue;
        } else {
            imported
                .conflicts
                .push(Conflict::SourceChanged { id: row.id.clone() });
            line_hash(&row.source)
        };
        match &before {
            None => imported.added += 1,
            Some((h, t)) if *h != hash || *t != translation => imported.changed += 1,
            Some(_) => {}
        }
        taken.insert(row.id.clone(), (hash, translation));
    }
    let mut out = format!(
        "// Traductions « {lang} » : une ligne par phrase, « identifiant [empreinte] texte ».\n\
         // L'empreinte est celle de la phrase française traduite : si le français change,\n\
         // la traduction devient « à revoir ». Produit par `relais flows translations import`.\n"
    );
    for source in &sources {
        if let Some((hash, text)) = taken.get(&source.id) {
            out.push_str(&format!("{} [{hash}] {text}\n", source.id));
        }
    }
    imported.table = out;
    imported
}

/// The path of a language's table, relative to the flows folder.
pub(crate) fn table_path(lang: &str) -> String {
    format!("{TRANSLATIONS_DIR}/{lang}.txt")
}
