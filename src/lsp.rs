//! `relais flows lsp`: a language server for `.flow` files over stdin/stdout, so
//! any editor (the VS Code extension in `editors/vscode/`, or any LSP client) shows
//! the `flows check` diagnostics as the author types, completes node names,
//! resource keys, block names, variables and their values, jumps from a target to
//! its node (or from an `@inclure` to its block), and shows a node's first line (or
//! a block's buttons) on hover.
//!
//! Built on `lsp-server` + `lsp-types` (rust-analyzer's own crates): synchronous,
//! no async runtime needed, and the checker is pure and fast, so each change simply
//! rebuilds the whole folder with the open buffers laid over the files on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::protocol::lsp;
use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionOptions, Diagnostic as LspDiagnostic,
    DiagnosticSeverity, GotoDefinitionResponse, Hover, HoverContents, HoverProviderCapability,
    InitializeParams, Location, MarkupContent, MarkupKind, OneOf, Position,
    PublishDiagnosticsParams, Range, ServerCapabilities, TextDocumentSyncCapability,
    TextDocumentSyncKind, Uri,
};

use crate::flow::diagnostic::{Diagnostic, Severity};
use crate::flow::load::{self, RESOURCES_FILE};
use crate::flow::model::{Block, Item, Node};
use crate::flow::parse;

#[derive(Debug, thiserror::Error)]
pub(crate) enum LspError {
    #[error("the editor connection failed: {0}")]
    Protocol(#[from] lsp_server::ProtocolError),
    #[error("the editor's first message could not be read")]
    Initialize,
    #[error("the editor connection closed: {0}")]
    Closed(String),
}

/// Runs the server until the editor says `exit`.
pub(crate) fn run(dir: Option<PathBuf>) -> Result<(), LspError> {
    let (connection, threads) = Connection::stdio();
    serve(&connection, dir)?;
    drop(connection);
    threads
        .join()
        .map_err(|e| LspError::Closed(e.to_string()))?;
    Ok(())
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![">".into(), " ".into(), "=".into(), ",".into()]),
            ..Default::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        ..Default::default()
    }
}

/// The server over any connection (stdio in use, memory in tests).
pub(crate) fn serve(connection: &Connection, dir: Option<PathBuf>) -> Result<(), LspError> {
    let params = connection.initialize(lsp::value(&capabilities()))?;
    let params: InitializeParams = lsp::params(params).ok_or(LspError::Initialize)?;
    #[allow(deprecated)]
    let root = dir.or_else(|| {
        params
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .map(|f| uri_to_path(&f.uri))
            .or_else(|| params.root_uri.as_ref().map(uri_to_path))
    });
    let mut server = Server {
        root,
        open: BTreeMap::new(),
        published: BTreeSet::new(),
    };
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    return Ok(());
                }
                let response = server.request(request);
                connection
                    .sender
                    .send(Message::Response(response))
                    .map_err(|e| LspError::Closed(e.to_string()))?;
            }
            Message::Notification(notification) => {
                for out in server.notification(notification) {
                    connection
                        .sender
                        .send(Message::Notification(out))
                        .map_err(|e| LspError::Closed(e.to_string()))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

struct Server {
    /// The flows folder, when the editor or `--dir` named one.
    root: Option<PathBuf>,
    /// Open buffers, by path.
    open: BTreeMap<PathBuf, String>,
    /// Files that were given diagnostics, so they are cleared when fixed.
    published: BTreeSet<PathBuf>,
}

/// What the open folder holds, read even when it has errors (for completion).
struct Index {
    dir: PathBuf,
    sources: BTreeMap<String, String>,
    nodes: Vec<Node>,
    blocks: Vec<Block>,
}

impl Index {
    fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    fn block(&self, name: &str) -> Option<&Block> {
        self.blocks.iter().find(|b| b.name == name)
    }

    fn resource_keys(&self) -> Vec<String> {
        self.sources
            .get(RESOURCES_FILE)
            .and_then(|text| text.parse::<toml::Table>().ok())
            .map(|table| table.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn variables(&self) -> BTreeMap<String, BTreeSet<String>> {
        crate::flow::rules::values_set_by(self.nodes.iter(), &[])
    }
}

impl Server {
    /// The flows folder of a file: `--dir`, else the file's own folder.
    fn folder_of(&self, path: &Path) -> PathBuf {
        match &self.root {
            Some(root) if path.starts_with(root) && path.parent() == Some(root.as_path()) => {
                root.clone()
            }
            _ => path.parent().map(Path::to_path_buf).unwrap_or_default(),
        }
    }

    fn index(&self, path: &Path) -> Index {
        let dir = self.folder_of(path);
        let mut sources = load::read_folder(&dir).unwrap_or_default();
        for (open, text) in &self.open {
            if open.parent() == Some(dir.as_path()) {
                if let Some(name) = open.file_name() {
                    sources.insert(name.to_string_lossy().into_owned(), text.clone());
                }
            }
        }
        let (mut nodes, mut blocks) = (Vec::new(), Vec::new());
        for (name, text) in sources.iter().filter(|(name, _)| name.ends_with(".flow")) {
            let parsed = parse::parse_file(name, text);
            nodes.extend(parsed.nodes);
            blocks.extend(parsed.blocks);
        }
        Index {
            dir,
            sources,
            nodes,
            blocks,
        }
    }

    fn notification(&mut self, notification: Notification) -> Vec<Notification> {
        let params = notification.params;
        let changed = match notification.method.as_str() {
            "textDocument/didOpen" => {
                let Some(p) = lsp::params::<lsp_types::DidOpenTextDocumentParams>(params) else {
                    return Vec::new();
                };
                let path = uri_to_path(&p.text_document.uri);
                self.open.insert(path.clone(), p.text_document.text);
                path
            }
            "textDocument/didChange" => {
                let Some(p) = lsp::params::<lsp_types::DidChangeTextDocumentParams>(params) else {
                    return Vec::new();
                };
                let path = uri_to_path(&p.text_document.uri);
                if let Some(change) = p.content_changes.into_iter().last() {
                    self.open.insert(path.clone(), change.text);
                }
                path
            }
            "textDocument/didSave" => {
                let Some(p) = lsp::params::<lsp_types::DidSaveTextDocumentParams>(params) else {
                    return Vec::new();
                };
                uri_to_path(&p.text_document.uri)
            }
            "textDocument/didClose" => {
                let Some(p) = lsp::params::<lsp_types::DidCloseTextDocumentParams>(params) else {
                    return Vec::new();
                };
                let path = uri_to_path(&p.text_document.uri);
                self.open.remove(&path);
                path
            }
            _ => return Vec::new(),
        };
        self.diagnose(&changed)
    }

    /// Checks the folder of a file and publishes the diagnostics of each file.
    fn diagnose(&mut self, path: &Path) -> Vec<Notification> {
        let index = self.index(path);
        let report = load::build(index.sources.clone(), "accueil");
        let mut by_file: BTreeMap<PathBuf, Vec<LspDiagnostic>> = BTreeMap::new();
        for file in self.published.iter().filter(|p| p.starts_with(&index.dir)) {
            by_file.entry(file.clone()).or_default();
        }
        for (open, _) in self.open.iter().filter(|(p, _)| p.starts_with(&index.dir)) {
            by_file.entry(open.clone()).or_default();
        }
        for diagnostic in &report.diagnostics {
            let file = index.dir.join(&diagnostic.pos.file);
            let text = index
                .sources
                .get(&diagnostic.pos.file)
                .map(String::as_str)
                .unwrap_or("");
            by_file
                .entry(file)
                .or_default()
                .push(to_lsp(diagnostic, text));
        }
        let mut out = Vec::new();
        for (file, diagnostics) in by_file {
            let Some(uri) = path_to_uri(&file) else {
                continue;
            };
            if diagnostics.is_empty() {
                self.published.remove(&file);
            } else {
                self.published.insert(file.clone());
            }
            let params = PublishDiagnosticsParams {
                uri,
                diagnostics,
                version: None,
            };
            out.push(Notification::new(
                "textDocument/publishDiagnostics".into(),
                params,
            ));
        }
        out
    }

    fn request(&self, request: Request) -> Response {
        let id = request.id.clone();
        let result = match request.method.as_str() {
            "textDocument/completion" => {
                lsp::params(request.params).map(|p: lsp_types::CompletionParams| {
                    let at = p.text_document_position;
                    lsp::value(&self.complete(&uri_to_path(&at.text_document.uri), at.position))
                })
            }
            "textDocument/definition" => {
                lsp::params(request.params).map(|p: lsp_types::GotoDefinitionParams| {
                    let at = p.text_document_position_params;
                    lsp::value(&self.definition(&uri_to_path(&at.text_document.uri), at.position))
                })
            }
            "textDocument/hover" => lsp::params(request.params).map(|p: lsp_types::HoverParams| {
                let at = p.text_document_position_params;
                lsp::value(&self.hover(&uri_to_path(&at.text_document.uri), at.position))
            }),
            _ => {
                return Response::new_err(
                    id,
                    lsp_server::ErrorCode::MethodNotFound as i32,
                    format!("unknown method {}", request.method),
                )
            }
        };
        match result {
            Some(value) => Response::new_ok(id, value),
            _ => Response::new_err(
                id,
                lsp_server::ErrorCode::InvalidParams as i32,
                "invalid parameters".into(),
            ),
        }
    }

    fn text_of(&self, path: &Path) -> String {
        self.open
            .get(path)
            .cloned()
            .or_else(|| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    }

    fn complete(&self, path: &Path, position: Position) -> Vec<CompletionItem> {
        let text = self.text_of(path);
        let line = text.lines().nth(position.line as usize).unwrap_or("");
        let before = prefix_utf16(line, position.character);
        let index = self.index(path);
        let item = |label: String, kind, detail: Option<String>| CompletionItem {
            label,
            kind: Some(kind),
            detail,
            ..Default::default()
        };
        if let Some(after) = before.rsplit("->").next().filter(|_| before.contains("->")) {
            if after.chars().all(|c| c == ' ' || is_name_char(c)) {
                let mut items: Vec<CompletionItem> = index
                    .nodes
                    .iter()
                    .map(|n| item(n.name.clone(), CompletionItemKind::MODULE, first_line(n)))
                    .collect();
                items.push(item("fin".into(), CompletionItemKind::KEYWORD, None));
                return items;
            }
        }
        let trimmed = before.trim_start();
        if is_include(trimmed) {
            return index
                .blocks
                .iter()
                .map(|b| item(b.name.clone(), CompletionItemKind::SNIPPET, buttons(b)))
                .collect();
        }
        if trimmed.starts_with("@ressource")
            || trimmed.starts_with("@resource")
            || before.contains("ressources=")
            || before.contains("resources=")
        {
            return index
                .resource_keys()
                .into_iter()
                .map(|k| item(k, CompletionItemKind::CONSTANT, None))
                .collect();
        }
        let variables = index.variables();
        // `{si var = …` or `~ var = …`: the values that variable takes.
        let condition = before.rfind("{si ").map(|at| &before[at + 4..]);
        let assignment = trimmed.strip_prefix('~');
        if let Some(inside) = condition.or(assignment) {
            if let Some((var, _)) = inside.split_once('=') {
                let var = var.trim().trim_end_matches('!').trim();
                return variables
                    .get(var)
                    .into_iter()
                    .flatten()
                    .map(|v| item(v.clone(), CompletionItemKind::VALUE, None))
                    .collect();
            }
            return variables
                .keys()
                .map(|v| item(v.clone(), CompletionItemKind::VARIABLE, None))
                .collect();
        }
        Vec::new()
    }

    fn word_at(&self, path: &Path, position: Position) -> Option<String> {
        let text = self.text_of(path);
        let line = text.lines().nth(position.line as usize)?;
        let chars: Vec<char> = line.chars().collect();
        let at = char_index(line, position.character);
        let mut start = at.min(chars.len());
        while start > 0 && is_name_char(chars[start - 1]) {
            start -= 1;
        }
        let mut end = at.min(chars.len());
        while end < chars.len() && is_name_char(chars[end]) {
            end += 1;
        }
        (start < end).then(|| chars[start..end].iter().collect())
    }

    /// Whether the cursor's line names a block (`@inclure nom`, `=== @bloc nom`).
    fn on_block_line(&self, path: &Path, position: Position) -> bool {
        let text = self.text_of(path);
        let line = text
            .lines()
            .nth(position.line as usize)
            .unwrap_or("")
            .trim();
        is_include(line)
            || line
                .trim_start_matches('=')
                .trim_start()
                .starts_with("@bloc")
    }

    fn definition(&self, path: &Path, position: Position) -> Option<GotoDefinitionResponse> {
        let word = self.word_at(path, position)?;
        let index = self.index(path);
        let pos = if self.on_block_line(path, position) {
            &index.block(&word)?.pos
        } else {
            &index.node(&word)?.pos
        };
        let uri = path_to_uri(&index.dir.join(&pos.file))?;
        let start = Position::new(pos.line.saturating_sub(1), 0);
        Some(GotoDefinitionResponse::Scalar(Location {
            uri,
            range: Range::new(start, start),
        }))
    }

    fn hover(&self, path: &Path, position: Position) -> Option<Hover> {
        let word = self.word_at(path, position)?;
        let index = self.index(path);
        if self.on_block_line(path, position) {
            let block = index.block(&word)?;
            let mut value = format!(
                "**@bloc {}** ({}:{})",
                block.name, block.pos.file, block.pos.line
            );
            if let Some(buttons) = buttons(block) {
                value.push_str("\n\n");
                value.push_str(&buttons);
            }
            return Some(Hover {
                contents: HoverContents::Markup(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value,
                }),
                range: None,
            });
        }
        let node = index.node(&word)?;
        let mut value = format!("**{}** ({}:{})", node.name, node.pos.file, node.pos.line);
        if let Some(line) = first_line(node) {
            value.push_str("\n\n");
            value.push_str(&line);
        }
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            }),
            range: None,
        })
    }
}

fn first_line(node: &Node) -> Option<String> {
    node.items.iter().find_map(|item| match item {
        Item::Say { line, .. } => Some(crate::flow::format::to_plain(&line.source)),
        _ => None,
    })
}

/// A block's buttons, one a line (`* label -> target`), and the blocks it includes.
fn buttons(block: &Block) -> Option<String> {
    let mut lines: Vec<String> = block
        .choices
        .iter()
        .map(|c| {
            let target = match &c.target {
                crate::flow::model::Target::Node { name, .. } => name.as_str(),
                crate::flow::model::Target::End { .. } => "fin",
            };
            format!(
                "* {} -> {target}",
                crate::flow::format::to_plain(&c.label.source)
            )
        })
        .collect();
    lines.extend(
        block
            .includes
            .iter()
            .map(|i| format!("@inclure {}", i.block)),
    );
    (!lines.is_empty()).then(|| lines.join("  \n"))
}

fn is_include(line: &str) -> bool {
    line.starts_with("@inclure") || line.starts_with("@include")
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
}

/// A diagnostic for the editor: its range covers the name at its column (or the
/// rest of the line), in UTF-16 units as LSP counts them.
pub(crate) fn to_lsp(diagnostic: &Diagnostic, source: &str) -> LspDiagnostic {
    let line_index = diagnostic.pos.line.saturating_sub(1);
    let line = source.lines().nth(line_index as usize).unwrap_or("");
    let chars: Vec<char> = line.chars().collect();
    let start = (diagnostic.pos.col.saturating_sub(1) as usize).min(chars.len());
    let mut end = start;
    while end < chars.len() && is_name_char(chars[end]) {
        end += 1;
    }
    if end == start {
        end = chars.len();
    }
    let utf16 = |n: usize| chars[..n].iter().map(|c| c.len_utf16() as u32).sum::<u32>();
    LspDiagnostic {
        range: Range::new(
            Position::new(line_index, utf16(start)),
            Position::new(line_index, utf16(end)),
        ),
        severity: Some(match diagnostic.severity() {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(lsp_types::NumberOrString::String(
            diagnostic.problem.code().into(),
        )),
        source: Some("relais".into()),
        message: diagnostic.message("fr"),
        ..Default::default()
    }
}

/// The char index of a UTF-16 column.
fn char_index(line: &str, utf16: u32) -> usize {
    let mut units = 0;
    for (index, c) in line.chars().enumerate() {
        if units >= utf16 {
            return index;
        }
        units += c.len_utf16() as u32;
    }
    line.chars().count()
}

fn prefix_utf16(line: &str, utf16: u32) -> String {
    line.chars().take(char_index(line, utf16)).collect()
}

fn uri_to_path(uri: &Uri) -> PathBuf {
    let text = uri.as_str();
    let path = text.strip_prefix("file://").unwrap_or(text);
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&path[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(String::from_utf8_lossy(&out).into_owned())
}

fn path_to_uri(path: &Path) -> Option<Uri> {
    let mut text = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            text.push(byte as char);
        } else {
            text.push_str(&format!("%{byte:02X}"));
        }
    }
    Uri::from_str(&text).ok()
}
