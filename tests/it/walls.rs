//! The walls of ARCHITECTURE.md's "Invariants", checked by reading `src/`: no two
//! top-level modules depend on each other, no `sled` outside `src/store/`, no
//! `serde_json` outside `src/store/` and `src/protocol/`, and the flow engine
//! imports nothing outside `flow` but `messages`. Test code (`#[cfg(test)]`
//! modules) and comments do not count.
//!
//! A dependency is any path into another top-level module: `crate::a::…`,
//! `use crate::{a, …}`, and `super::…` that climbs to the crate root. Each path is
//! collapsed to its top-level module (`crate::handoff::api::Authed` is `handoff`).
//!
//! The lists of exceptions below are what other parts of the work still have to
//! move (each with who takes it); they must shrink, never grow: an exception that
//! is no longer needed fails the test too, so the lists stay true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Two-way dependencies that remain, as (a, b) with a < b.
const KNOWN_CYCLES: &[(&str, &str)] = &[];

/// Files outside `src/store/` that still touch sled.
const SLED_EXCEPTIONS: &[&str] = &[];

/// Files outside `src/store/` and `src/protocol/` that still use serde_json.
const SERDE_JSON_EXCEPTIONS: &[&str] = &[];

/// Every `.rs` file under `src/`, as (path relative to `src/`, text).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
}

/// The code of a file without its comments, string literals and `#[cfg(test)]` items.
fn code_of(text: &str) -> String {
    // Comments and strings out first, keeping line breaks.
    let bytes: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < bytes.len() && bytes[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < bytes.len() && !(bytes[i] == '*' && bytes[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_is_ident(&bytes, i)
        {
            // A raw string: r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while bytes.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if bytes.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= bytes.len() {
                    break;
                }
                if bytes[j] == '"' && (0..hashes).all(|h| bytes.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < bytes.len() && bytes[i] != '"' {
                if bytes[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && bytes.get(i + 2) == Some(&'\'') {
            // A char literal such as '{' (not a lifetime).
            out.push_str("' '");
            i += 3;
        } else if c == '\'' && next == Some('\\') {
            let mut j = i + 2;
            while j < bytes.len() && bytes[j] != '\'' {
                j += 1;
            }
            out.push_str("' '");
            i = j + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    // Then every item marked #[cfg(test)]: the attribute to the end of its block.
    while let Some(at) = out.find("#[cfg(test)]") {
        let rest = &out[at..];
        let end = match (rest.find('{'), rest.find(';')) {
            (Some(open), semi) if semi.is_none_or(|s| open < s) => {
                let mut depth = 0;
                let mut end = rest.len();
                for (k, ch) in rest[open..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = open + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (_, Some(semi)) => semi + 1,
            _ => rest.len(),
        };
        out.replace_range(at..at + end, "");
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// The top-level module of a file (`handoff/api.rs` → `handoff`), and how deep it
/// sits (`a.rs`, `a/mod.rs` → 1; `a/b.rs` → 2), or `None` for the crate roots.
fn module_of(rel: &str) -> Option<(String, usize)> {
    let parts: Vec<&str> = rel.trim_end_matches(".rs").split('/').collect();
    if parts[0] == "bin" || (parts.len() == 1 && matches!(parts[0], "lib" | "main")) {
        return None;
    }
    let depth = parts.len() - usize::from(parts.last() == Some(&"mod"));
    Some((parts[0].to_string(), depth))
}

fn ident_at(text: &str) -> Option<&str> {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    (end > 0).then(|| &text[..end])
}

/// The top-level modules a file's code names, each with the line it does first.
fn dependencies(code: &str, depth: usize) -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut note = |name: &str, at: usize| {
        found.entry(name.to_string()).or_insert(line_of(at));
    };
    // `crate::a` and `super::…::a` climbing to the root.
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().last();
        if before.is_some_and(|c| c == '$' || c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(name) = ident_at(rest) {
            note(name, at);
        } else if rest.starts_with('{') {
            for name in group_heads(rest) {
                note(&name, at);
            }
        }
    }
    let mut at = 0;
    while let Some(found_at) = code[at..].find("super::") {
        let start = at + found_at;
        at = start + 1;
        if start > 0 && code[..start].ends_with("::") {
            continue; // counted from the first `super`
        }
        let mut rest = &code[start..];
        let mut climbs = 0;
        while let Some(after) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = after;
        }
        if climbs < depth {
            continue;
        }
        if let Some(name) = ident_at(rest) {
            note(name, start);
        } else if rest.starts_with('{') {
            for name in group_heads(rest) {
                note(&name, start);
            }
        }
    }
    found
}

/// The first names of a `{a, b::c, d::{e, f}}` group.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expecting = true;
    for (k, c) in group.char_indices() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    expecting = true;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => expecting = true,
            c if depth == 1 && expecting && (c.is_alphanumeric() || c == '_') => {
                if let Some(name) = ident_at(&group[k..]) {
                    heads.push(name.to_string());
                }
                expecting = false;
            }
            _ => {}
        }
    }
    heads
}

struct Crate {
    /// Top-level module → the modules it depends on, each with where.
    edges: BTreeMap<String, BTreeMap<String, String>>,
    /// Path relative to `src/` → code without comments, strings and tests.
    code: BTreeMap<String, String>,
}

fn read_crate() -> Crate {
    let files = sources();
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|(rel, _)| module_of(rel).map(|(m, _)| m))
        .collect();
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut code = BTreeMap::new();
    for (rel, text) in &files {
        let stripped = code_of(text);
        if let Some((module, depth)) = module_of(rel) {
            for (target, line) in dependencies(&stripped, depth) {
                if target != module && modules.contains(&target) {
                    edges
                        .entry(module.clone())
                        .or_default()
                        .entry(target)
                        .or_insert(format!("src/{rel}:{line}"));
                }
            }
        }
        code.insert(rel.clone(), stripped);
    }
    Crate { edges, code }
}

#[test]
fn no_two_top_level_modules_depend_on_each_other() {
    let krate = read_crate();
    let mut cycles = BTreeMap::new();
    for (a, targets) in &krate.edges {
        for (b, at_a) in targets {
            if a < b {
                if let Some(at_b) = krate.edges.get(b).and_then(|t| t.get(a)) {
                    cycles.insert(
                        (a.clone(), b.clone()),
                        format!("{a} → {b} at {at_a}, {b} → {a} at {at_b}"),
                    );
                }
            }
        }
    }
    let known: BTreeSet<(String, String)> = KNOWN_CYCLES
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let new: Vec<&String> = cycles
        .iter()
        .filter(|(pair, _)| !known.contains(*pair))
        .map(|(_, why)| why)
        .collect();
    assert!(
        new.is_empty(),
        "two-way dependencies between top-level modules:\n{}",
        new.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let gone: Vec<_> = known
        .iter()
        .filter(|pair| !cycles.contains_key(*pair))
        .collect();
    assert!(
        gone.is_empty(),
        "these cycles are gone: take them off KNOWN_CYCLES: {gone:?}"
    );
}

/// Files, outside the allowed folders, whose code names `word`.
fn files_naming(krate: &Crate, word: &str, allowed: &[&str]) -> BTreeSet<String> {
    krate
        .code
        .iter()
        .filter(|(rel, _)| !allowed.iter().any(|dir| rel.starts_with(dir)))
        .filter(|(_, code)| {
            code.match_indices(word).any(|(at, _)| {
                let before = code[..at].chars().last();
                let after = code[at + word.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
        .map(|(rel, _)| rel.clone())
        .collect()
}

fn check_exceptions(word: &str, found: BTreeSet<String>, exceptions: &[&str]) {
    let exceptions: BTreeSet<String> = exceptions.iter().map(|s| s.to_string()).collect();
    let new: Vec<_> = found.difference(&exceptions).collect();
    assert!(
        new.is_empty(),
        "`{word}` is used outside its walls in {new:?}"
    );
    let gone: Vec<_> = exceptions.difference(&found).collect();
    assert!(
        gone.is_empty(),
        "these files no longer use `{word}`: take them off the exceptions: {gone:?}"
    );
}

#[test]
fn sled_is_used_only_in_the_store() {
    let krate = read_crate();
    check_exceptions(
        "sled",
        files_naming(&krate, "sled", &["store/"]),
        SLED_EXCEPTIONS,
    );
}

#[test]
fn serde_json_is_used_only_in_the_store_and_the_protocol() {
    let krate = read_crate();
    check_exceptions(
        "serde_json",
        files_naming(&krate, "serde_json", &["store/", "protocol/"]),
        SERDE_JSON_EXCEPTIONS,
    );
}

#[test]
fn the_flow_engine_imports_nothing_outside_flow_but_messages() {
    let krate = read_crate();
    let code = &krate.code["flow/engine.rs"];
    // From flow/engine.rs, `super::` is `flow` and `super::super::` the crate root.
    let outside: Vec<String> = dependencies(code, 2)
        .into_iter()
        .filter(|(module, _)| module != "flow" && module != "messages")
        .map(|(module, line)| format!("{module} (line {line})"))
        .collect();
    assert!(outside.is_empty(), "flow::engine imports {outside:?}");
}

#[test]
fn the_walls_reader_sees_what_it_should() {
    // The reader itself: a path in a comment, a string or a test module is not a
    // dependency; a grouped `use` and a `super::` to the root are.
    let code = code_of(
        "use crate::{a::X, b};\n// crate::c\nlet s = \"crate::d\";\nfn f() { super::e::y() }\n#[cfg(test)]\nmod tests { use crate::g; }\n",
    );
    let found: Vec<String> = dependencies(&code, 1).into_keys().collect();
    assert_eq!(found, ["a", "b", "e"]);
    assert!(dependencies(&code_of("fn f() { super::e::y() }"), 2).is_empty());
}
