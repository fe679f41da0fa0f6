//! The translation workflow: export a language's lines to a CSV a translator fills
//! (id, source, translation, status, file, node, line), and import it back into
//! `traductions/LANG.txt` with the hash of each source line, reporting conflicts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::load::{self, line_hash, TRANSLATIONS_DIR};
use super::model::FlowSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub id: String,
    pub source: String,
    pub translation: String,
    /// `missing`, `stale` or `ok` at export time.
    pub status: String,
    pub file: String,
    pub node: String,
    pub line: u32,
}

/// The rows of every line of a set for a language.
pub fn export(set: &FlowSet, lang: &str) -> Vec<Row> {
    let table = set.translations.get(lang);
    load::lines_in_order(set)
        .into_iter()
        .map(|(node, line)| {
            let existing = table.and_then(|t| t.get(&line.id));
            let status = match existing {
                None => "missing",
                Some(t) if t.source_hash != line_hash(&line.source) => "stale",
                Some(_) => "ok",
            };
            Row {
                id: line.id.clone(),
                source: line.source.clone(),
                translation: existing.map(|t| t.text.clone()).unwrap_or_default(),
                status: status.into(),
                file: line.pos.file.clone(),
                node: node.name.clone(),
                line: line.pos.line,
            }
        })
        .collect()
}

pub fn to_csv(rows: &[Row]) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row)?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub fn from_csv(text: &str) -> Result<Vec<Row>, csv::Error> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect()
}

/// A row that could not be taken as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The id is not a line of the flows any more.
    UnknownId { id: String },
    /// The French line changed since the CSV was exported: the translation is kept
    /// but stays stale until reviewed against the new source.
    SourceChanged { id: String },
}

impl Conflict {
    pub fn message(&self, lang: &str) -> String {
        match (self, lang) {
            (Conflict::UnknownId { id }, "fr") => format!("{id} : cette ligne n'existe plus dans les flux; traduction ignorée."),
            (Conflict::UnknownId { id }, _) => format!("{id}: this line no longer exists in the flows; translation ignored."),
            (Conflict::SourceChanged { id }, "fr") => format!("{id} : le texte français a changé depuis l'export; la traduction reste « à revoir »."),
            (Conflict::SourceChanged { id }, _) => format!("{id}: the French text changed since the export; the translation stays stale."),
        }
    }
}

/// The new content of `traductions/LANG.txt` from filled rows, with conflicts.
pub fn import(set: &FlowSet, lang: &str, rows: &[Row]) -> (String, Vec<Conflict>) {
    let mut current: BTreeMap<&str, &str> = BTreeMap::new();
    let mut order = Vec::new();
    for (_, line) in load::lines_in_order(set) {
        current.insert(&line.id, &line.source);
        order.push(line.id.as_str());
    }
    let mut conflicts = Vec::new();
    let mut taken: BTreeMap<String, (String, String)> = BTreeMap::new();
    // Keep what the table already holds, then apply the rows.
    if let Some(table) = set.translations.get(lang) {
        for (id, t) in table {
            taken.insert(id.clone(), (t.source_hash.clone(), t.text.clone()));
        }
    }
    for row in rows {
        let translation = row.translation.trim();
        if translation.is_empty() {
            continue;
        }
        let Some(source) = current.get(row.id.as_str()) else {
            conflicts.push(Conflict::UnknownId { id: row.id.clone() });
            continue;
        };
        let hash = if source.trim() == row.source.trim() {
            line_hash(source)
        } else {
            conflicts.push(Conflict::SourceChanged { id: row.id.clone() });
            line_hash(&row.source)
        };
        taken.insert(row.id.clone(), (hash, translation.replace('\n', " ")));
    }
    let mut out = format!(
        "// Traductions « {lang} » : une ligne par phrase, « identifiant [empreinte] texte ».\n\
         // L'empreinte est celle de la phrase française traduite : si le français change,\n\
         // la traduction devient « à revoir ». Produit par `relais flows translations import`.\n"
    );
    for id in order {
        if let Some((hash, text)) = taken.get(id) {
            out.push_str(&format!("{id} [{hash}] {text}\n"));
        }
    }
    (out, conflicts)
}

/// The path of a language's table, relative to the flows folder.
pub fn table_path(lang: &str) -> String {
    format!("{TRANSLATIONS_DIR}/{lang}.txt")
}
