//! Building a [`FlowSet`] from the files of a flows folder: the `.flow` scripts, the
//! resources file, the triggers file and the translation tables. `read_folder` does
//! the IO; `build` is pure, so the same sources always give the same version.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::check;
use super::diagnostic::{Diagnostic, Problem};
use super::format;
use super::model::{
    FlowSet, Item, Node, Pos, Rendered, ResourceCard, Translation, TriggerSet, SOURCE_LANG,
};
use super::parse;
use super::text;

/// The resources file, in the flows folder.
pub(crate) const RESOURCES_FILE: &str = "ressources.toml";
/// The urgent and help triggers file, in the flows folder.
pub(crate) const TRIGGERS_FILE: &str = "declencheurs.toml";
/// The folder of translation tables (`en.txt`, `iu.txt`, …), in the flows folder.
pub(crate) const TRANSLATIONS_DIR: &str = "traductions";

/// What building a flow set gave: the set when there is no error, and every
/// diagnostic (errors and warnings) either way.
#[derive(Debug)]
pub struct LoadReport {
    pub flows: Option<FlowSet>,
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadReport {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}

/// Reads every file the flows need, by path relative to `dir` (with `/`).
pub fn read_folder(dir: &Path) -> Result<BTreeMap<String, String>, Diagnostic> {
    let mut sources = BTreeMap::new();
    let unreadable = |path: &Path, error: std::io::Error| {
        // A sentence an author reads, not the system's English.
        let detail = match error.kind() {
            std::io::ErrorKind::NotFound => {
                "il n'existe pas (vérifie le chemin du dossier)".to_string()
            }
            std::io::ErrorKind::PermissionDenied => "accès refusé".to_string(),
            std::io::ErrorKind::InvalidData => {
                "il n'est pas en UTF-8 (enregistre-le en UTF-8)".to_string()
            }
            _ => error.to_string(),
        };
        Diagnostic::new(
            Pos {
                file: path.display().to_string(),
                line: 1,
                col: 1,
            },
            Problem::UnreadableFile { detail },
        )
    };
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| unreadable(dir, e))?.path();
        paths.push(path);
    }
    let translations = dir.join(TRANSLATIONS_DIR);
    if translations.is_dir() {
        for entry in std::fs::read_dir(&translations).map_err(|e| unreadable(&translations, e))? {
            paths.push(entry.map_err(|e| unreadable(&translations, e))?.path());
        }
    }
    for path in paths {
        let Ok(relative) = path.strip_prefix(dir) else {
            continue;
        };
        let name = relative.to_string_lossy().replace('\\', "/");
        if is_flow_input(&name) {
            let content = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
            sources.insert(name, content);
        }
    }
    Ok(sources)
}

/// Whether a path (relative to the flows folder) is one the flows are built from.
pub(crate) fn is_flow_input(name: &str) -> bool {
    name.ends_with(".flow") && !name.contains('/') && !name.starts_with('.')
        || name == RESOURCES_FILE
        || name == TRIGGERS_FILE
        || name == super::themes::THEMES_FILE
        || (name.starts_with(&format!("{TRANSLATIONS_DIR}/")) && name.ends_with(".txt"))
}

/// The version of a set of sources: a short hash of every file's name and content.
pub(crate) fn version_of(sources: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (name, content) in sources {
        hasher.update((name.len() as u64).to_be_bytes());
        hasher.update(name.as_bytes());
        hasher.update((content.len() as u64).to_be_bytes());
        hasher.update(content.as_bytes());
    }
    hex(&hasher.finalize()[..8])
}

/// The short hash of a source line that its translations carry.
pub fn line_hash(source: &str) -> String {
    hex(&Sha256::digest(source.trim().as_bytes())[..4])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds and checks a flow set. Pure: no IO, no clock.
pub fn build(sources: BTreeMap<String, String>, start: &str) -> LoadReport {
    let mut diagnostics = Vec::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut blocks = Vec::new();
    for (name, content) in &sources {
        if name.ends_with(".flow") {
            let parsed = parse::parse_file(name, content);
            diagnostics.extend(parsed.diagnostics);
            nodes.extend(parsed.nodes);
            blocks.extend(parsed.blocks);
        }
    }
    if nodes.is_empty() && !diagnostics.iter().any(Diagnostic::is_error) {
        diagnostics.push(Diagnostic::new(
            Pos {
                file: ".".into(),
                line: 1,
                col: 1,
            },
            Problem::NoFlowFiles,
        ));
    }
    let resources = match sources.get(RESOURCES_FILE) {
        Some(content) => parse_resources(content, &mut diagnostics),
        None => BTreeMap::new(),
    };
    let triggers = sources
        .get(TRIGGERS_FILE)
        .map(|content| super::triggers::Matcher::from_toml(content))
        .unwrap_or_default();
    // The themes free text leads to, read with the triggers' normalisation.
    let themes = match sources.get(super::themes::THEMES_FILE) {
        Some(content) => super::themes::from_toml(&triggers, content).unwrap_or_else(|error| {
            diagnostics.push(toml_problem(super::themes::THEMES_FILE, content, error));
            Default::default()
        }),
        None => Default::default(),
    };
    let (urgent, help) = match sources.get(TRIGGERS_FILE) {
        Some(content) => parse_triggers(content, &mut diagnostics),
        None => {
            diagnostics.push(Diagnostic::new(
                Pos {
                    file: TRIGGERS_FILE.into(),
                    line: 1,
                    col: 1,
                },
                Problem::TriggerFileMissing,
            ));
            Default::default()
        }
    };
    let mut translations = BTreeMap::new();
    for (name, content) in &sources {
        if let Some(lang) = name
            .strip_prefix(&format!("{TRANSLATIONS_DIR}/"))
            .and_then(|file| file.strip_suffix(".txt"))
        {
            translations.insert(
                lang.to_string(),
                parse_translations(name, content, &mut diagnostics),
            );
        }
    }

    let order: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
    let mut by_name: HashMap<String, Node> = HashMap::new();
    let mut first_seen: HashMap<String, Pos> = HashMap::new();
    for node in nodes {
        if let Some(first) = first_seen.get(&node.name) {
            diagnostics.push(Diagnostic::new(
                node.pos.clone(),
                Problem::DuplicateNode {
                    name: node.name.clone(),
                    first: first.clone(),
                },
            ));
            continue;
        }
        first_seen.insert(node.name.clone(), node.pos.clone());
        by_name.insert(node.name.clone(), node);
    }
    let mut order_unique = Vec::new();
    for name in order {
        if !order_unique.contains(&name) {
            order_unique.push(name);
        }
    }
    // The blocks' buttons become ordinary choices of the nodes that include them.
    let blocks = super::blocks::collect(blocks, &mut diagnostics);
    super::blocks::expand(&mut by_name, &blocks, &mut diagnostics);

    // The translated words of each route (`node.quand.N` in a table) are words that
    // route also knows: a youth is understood in every language.
    for node in by_name.values_mut() {
        for (index, route) in node.exit.routes.iter_mut().enumerate() {
            let id = super::translate::route_id(&node.name, index);
            for table in translations.values() {
                if let Some(words) = table.get(&id) {
                    route.patterns.extend(parse::route_patterns(&words.text));
                }
            }
        }
    }

    let mut set = FlowSet {
        version: version_of(&sources),
        start: start.to_string(),
        nodes: by_name,
        order: order_unique,
        resources,
        urgent,
        help,
        triggers,
        themes,
        blocks,
        translations,
        rendered: HashMap::new(),
        sources,
    };
    diagnostics.extend(check::check(&set));
    let diagnostics = sorted_unique(diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return LoadReport {
            flows: None,
            diagnostics,
        };
    }
    set.rendered = render_all(&set);
    LoadReport {
        flows: Some(set),
        diagnostics,
    }
}

/// Diagnostics by place, each once: a block's line is checked in every node that
/// includes it, and its problem is said once.
fn sorted_unique(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diagnostics.sort_by(|a, b| a.pos.cmp(&b.pos));
    let mut unique: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len());
    for diagnostic in diagnostics {
        let seen = unique
            .iter()
            .rev()
            .take_while(|d| d.pos == diagnostic.pos)
            .any(|d| *d == diagnostic);
        if !seen {
            unique.push(diagnostic);
        }
    }
    unique
}

/// Renders every line in every language once, so a turn never formats or sanitizes.
fn render_all(set: &FlowSet) -> HashMap<String, HashMap<String, Rendered>> {
    let render = |source: &str| Rendered {
        text: Arc::from(format::to_plain(source)),
        html: Arc::from(format::to_html(source)),
    };
    let mut rendered: HashMap<String, HashMap<String, Rendered>> = HashMap::new();
    let french = rendered.entry(SOURCE_LANG.to_string()).or_default();
    let mut lines = Vec::new();
    for node in set.nodes.values() {
        for line in node.text_lines() {
            french.insert(line.id.clone(), render(&line.source));
            lines.push(line);
        }
    }
    for (lang, table) in &set.translations {
        let target = rendered.entry(lang.clone()).or_default();
        for line in &lines {
            if let Some(translation) = table.get(&line.id) {
                if translation.source_hash == line_hash(&line.source) {
                    target.insert(line.id.clone(), render(&translation.text));
                }
            }
        }
    }
    rendered
}

/// The 1-based line and column of a byte offset.
fn line_col(source: &str, offset: usize) -> (u32, u32) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    (line, col)
}

fn toml_problem(file: &str, source: &str, error: toml::de::Error) -> Diagnostic {
    let (line, col) = error
        .span()
        .map_or((1, 1), |span| line_col(source, span.start));
    Diagnostic::new(
        Pos {
            file: file.into(),
            line,
            col,
        },
        Problem::BadDataFile {
            detail: error.message().to_string(),
        },
    )
}

/// One entry of `ressources.toml`, in French, with per-language overrides.
#[derive(Debug, Deserialize)]
struct ResourceEntry {
    nom: String,
    telephone: Option<String>,
    texto: Option<String>,
    texto_mot: Option<String>,
    site: Option<String>,
    heures: Option<String>,
    description: Option<String>,
    #[serde(default)]
    a_verifier: bool,
    #[serde(flatten)]
    languages: BTreeMap<String, ResourceOverride>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceOverride {
    nom: Option<String>,
    texto_mot: Option<String>,
    site: Option<String>,
    heures: Option<String>,
    description: Option<String>,
}

fn parse_resources(
    content: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> BTreeMap<String, BTreeMap<String, ResourceCard>> {
    let entries: BTreeMap<String, ResourceEntry> = match toml::from_str(content) {
        Ok(entries) => entries,
        Err(error) => {
            diagnostics.push(toml_problem(RESOURCES_FILE, content, error));
            return BTreeMap::new();
        }
    };
    let mut resources = BTreeMap::new();
    for (key, entry) in entries {
        let pos = Pos {
            file: RESOURCES_FILE.into(),
            line: content
                .lines()
                .position(|l| l.trim() == format!("[{key}]"))
                .map_or(1, |i| i as u32 + 1),
            col: 1,
        };
        if entry.a_verifier {
            diagnostics.push(Diagnostic::new(
                pos.clone(),
                Problem::ResourceToCheck { key: key.clone() },
            ));
        }
        if entry.telephone.is_none() && entry.texto.is_none() && entry.site.is_none() {
            diagnostics.push(Diagnostic::new(
                pos,
                Problem::ResourceWithoutContact { key: key.clone() },
            ));
        }
        let french = ResourceCard {
            key: key.clone(),
            name: entry.nom.clone(),
            phone: entry.telephone.clone(),
            text: entry.texto.clone(),
            text_body: entry.texto_mot.clone(),
            url: entry.site.clone(),
            hours: entry.heures.clone(),
            about: entry.description.clone(),
        };
        let mut by_lang = BTreeMap::new();
        for (lang, over) in &entry.languages {
            let mut card = french.clone();
            card.name = over.nom.clone().unwrap_or(card.name);
            card.text_body = over.texto_mot.clone().or(card.text_body);
            card.url = over.site.clone().or(card.url);
            card.hours = over.heures.clone().or(card.hours);
            card.about = over.description.clone().or(card.about);
            by_lang.insert(lang.clone(), card);
        }
        by_lang.insert(SOURCE_LANG.to_string(), french);
        resources.insert(key, by_lang);
    }
    resources
}

/// One kind of trigger in `declencheurs.toml`: the node it leads to, and phrases
/// per language.
#[derive(Debug, Deserialize)]
struct TriggerEntry {
    noeud: String,
    #[serde(flatten)]
    languages: BTreeMap<String, Vec<String>>,
}

// The normalisation sections are only named here (a typo in a section name is
// still refused); `triggers::Matcher::from_toml` reads them.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerFile {
    urgence: TriggerEntry,
    aide: Option<TriggerEntry>,
    // Read by `triggers::Matcher::from_toml`; the suicide list also counts as urgent.
    urgence_suicide: Option<TriggerEntry>,
    verifier: Option<TriggerEntry>,
    contractions: Option<toml::Value>,
    normalisation: Option<toml::Value>,
    negation: Option<toml::Value>,
    tolerance: Option<toml::Value>,
    exemples_benins: Option<toml::Value>,
}

fn parse_triggers(content: &str, diagnostics: &mut Vec<Diagnostic>) -> (TriggerSet, TriggerSet) {
    let file: TriggerFile = match toml::from_str(content) {
        Ok(file) => file,
        Err(error) => {
            diagnostics.push(toml_problem(TRIGGERS_FILE, content, error));
            return Default::default();
        }
    };
    let convert = |entry: TriggerEntry, section: &str, diagnostics: &mut Vec<Diagnostic>| {
        let line = content
            .lines()
            .position(|l| l.trim() == format!("[{section}]"))
            .map_or(1, |i| i as u32 + 1);
        let node_line = content
            .lines()
            .enumerate()
            .skip(line as usize)
            .find(|(_, l)| l.trim_start().starts_with("noeud"))
            .map_or(line, |(i, _)| i as u32 + 1);
        let mut patterns = BTreeMap::new();
        for (lang, phrases) in entry.languages {
            let mut list = Vec::new();
            for phrase in phrases {
                // `phrase | exception…`: the tools see the phrase itself.
                let phrase = phrase.split('|').next().unwrap_or_default().trim();
                match text::pattern(phrase) {
                    Some(pattern) => list.push(pattern),
                    None => diagnostics.push(Diagnostic::new(
                        Pos {
                            file: TRIGGERS_FILE.into(),
                            line,
                            col: 1,
                        },
                        Problem::EmptyWord,
                    )),
                }
            }
            patterns.insert(lang, list);
        }
        TriggerSet {
            node: entry.noeud,
            node_pos: Pos {
                file: TRIGGERS_FILE.into(),
                line: node_line,
                col: 1,
            },
            patterns,
        }
    };
    let mut urgent = convert(file.urgence, "urgence", diagnostics);
    if let Some(suicide) = file.urgence_suicide {
        for (lang, list) in convert(suicide, "urgence_suicide", diagnostics).patterns {
            urgent.patterns.entry(lang).or_default().extend(list);
        }
    }
    if let Some(verify) = file.verifier {
        // Checked here for empty words; matched by `triggers`.
        convert(verify, "verifier", diagnostics);
    }
    let help = file
        .aide
        .map(|entry| convert(entry, "aide", diagnostics))
        .unwrap_or_default();
    (urgent, help)
}

/// A translation table: `id [hash] text` a line, `//` comments.
fn parse_translations(
    file: &str,
    content: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> HashMap<String, Translation> {
    let mut table = HashMap::new();
    for (index, raw) in content.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let pos = Pos {
            file: file.into(),
            line: index as u32 + 1,
            col: 1,
        };
        let parsed = line.split_once(' ').and_then(|(id, rest)| {
            let rest = rest.trim_start().strip_prefix('[')?;
            let (hash, text) = rest.split_once(']')?;
            Some((id, hash.trim(), text.trim()))
        });
        match parsed {
            Some((id, hash, text)) if parse::valid_id(id) && !text.is_empty() => {
                table.insert(
                    id.to_string(),
                    Translation {
                        source_hash: hash.to_string(),
                        text: text.to_string(),
                        pos,
                    },
                );
            }
            _ => diagnostics.push(Diagnostic::new(pos, Problem::BadTranslationLine)),
        }
    }
    table
}

/// Every text line of a set with its node, in source order (for tools), each once: a
/// block's line comes with the first node that includes it.
pub fn lines_in_order(set: &FlowSet) -> Vec<(&Node, &super::model::TextLine)> {
    let mut lines = Vec::new();
    for name in &set.order {
        if let Some(node) = set.nodes.get(name) {
            for item in &node.items {
                if let Item::Say { line, .. } = item {
                    lines.push((node, line));
                }
            }
            for choice in &node.exit.choices {
                lines.push((node, &choice.label));
            }
        }
    }
    lines.sort_by(|a, b| a.1.pos.cmp(&b.1.pos));
    lines.dedup_by(|a, b| a.1.pos == b.1.pos && a.1.id == b.1.id);
    lines
}
