//! Blocks of buttons: `=== @bloc nom` writes buttons once (and they are translated
//! once, one id a line), `@inclure nom` puts them in a node. The loader copies a
//! block's choices into every node that includes it, so the engine, the walk and
//! the player only ever see ordinary choices; each copy remembers its block and the
//! `@inclure` line, for the checker's places and the authors' tools.
//!
//! Checked here: a block named twice, an `@inclure` of a block that does not exist
//! ("Voulais-tu dire …"), blocks that include each other in a circle, a block
//! included nowhere, a block with no button.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::diagnostic::{Diagnostic, Hint, Problem};
use super::model::{Block, Choice, Include, Included, Node, Pos};

/// The blocks of every file by name; a second block of the same name is refused.
pub(crate) fn collect(blocks: Vec<Block>, out: &mut Vec<Diagnostic>) -> BTreeMap<String, Block> {
    let mut by_name: BTreeMap<String, Block> = BTreeMap::new();
    for block in blocks {
        if let Some(first) = by_name.get(&block.name) {
            out.push(Diagnostic::new(
                block.pos.clone(),
                Problem::DuplicateBlock {
                    name: block.name.clone(),
                    first: first.pos.clone(),
                },
            ));
            continue;
        }
        by_name.insert(block.name.clone(), block);
    }
    by_name
}

/// Copies the blocks' buttons into the nodes that include them, and reports what is
/// wrong with the blocks and the includes.
pub(crate) fn expand(
    nodes: &mut HashMap<String, Node>,
    blocks: &BTreeMap<String, Block>,
    out: &mut Vec<Diagnostic>,
) {
    let cyclic = check_cycles(blocks, out);
    let mut used: BTreeSet<String> = BTreeSet::new();
    for block in blocks.values() {
        for include in &block.includes {
            used.insert(include.block.clone());
            if !blocks.contains_key(&include.block) {
                out.push(unknown(blocks, include));
            }
        }
    }
    let mut names: Vec<&String> = nodes.keys().collect();
    names.sort();
    let names: Vec<String> = names.into_iter().cloned().collect();
    for name in names {
        let Some(node) = nodes.get_mut(&name) else {
            continue;
        };
        for include in node.includes.iter().rev() {
            used.insert(include.block.clone());
            if !blocks.contains_key(&include.block) {
                out.push(unknown(blocks, include));
                continue;
            }
            let mut stack = Vec::new();
            let mut buttons = buttons(blocks, &include.block, &cyclic, &mut stack);
            for choice in &mut buttons {
                choice.included = Some(Included {
                    block: include.block.clone(),
                    at: include.pos.clone(),
                });
            }
            let at = include.at.min(node.exit.choices.len());
            node.exit.choices.splice(at..at, buttons);
        }
    }
    for block in blocks.values() {
        if !used.contains(&block.name) {
            out.push(Diagnostic::new(
                block.pos.clone(),
                Problem::UnusedBlock {
                    name: block.name.clone(),
                },
            ));
        }
        if block.choices.is_empty() && block.includes.is_empty() {
            out.push(Diagnostic::new(
                block.pos.clone(),
                Problem::EmptyBlock {
                    name: block.name.clone(),
                },
            ));
        }
    }
}

/// The nearest block's name, or the list of blocks.
pub(crate) fn unknown_block_hint(blocks: &BTreeMap<String, Block>, name: &str) -> Hint {
    match super::rules::nearest(name, blocks.keys().map(String::as_str)) {
        Some(near) => Hint::DidYouMean {
            name: near.to_string(),
            at: blocks.get(near).map(|b| b.pos.clone()),
        },
        None => Hint::KnownBlocks {
            names: blocks.keys().cloned().collect(),
        },
    }
}

fn unknown(blocks: &BTreeMap<String, Block>, include: &Include) -> Diagnostic {
    Diagnostic::new(
        include.pos.clone(),
        Problem::UnknownBlock {
            name: include.block.clone(),
        },
    )
    .with_hint(Some(unknown_block_hint(blocks, &include.block)))
}

/// A block's buttons with the blocks it includes, in order. An include that closes a
/// circle (reported once by `check_cycles`) gives nothing.
fn buttons(
    blocks: &BTreeMap<String, Block>,
    name: &str,
    cyclic: &BTreeSet<Pos>,
    stack: &mut Vec<String>,
) -> Vec<Choice> {
    let Some(block) = blocks.get(name) else {
        return Vec::new();
    };
    if stack.iter().any(|s| s == name) {
        return Vec::new();
    }
    stack.push(name.to_string());
    let mut choices = block.choices.clone();
    for include in block.includes.iter().rev() {
        if cyclic.contains(&include.pos) {
            continue;
        }
        let inner = buttons(blocks, &include.block, cyclic, stack);
        let at = include.at.min(choices.len());
        choices.splice(at..at, inner);
    }
    stack.pop();
    choices
}

/// Reports each circle of `@inclure` once, at the include that closes it; returns
/// the places of those includes.
fn check_cycles(blocks: &BTreeMap<String, Block>, out: &mut Vec<Diagnostic>) -> BTreeSet<Pos> {
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        Open,
        Done,
    }
    fn visit(
        blocks: &BTreeMap<String, Block>,
        name: &str,
        seen: &mut HashMap<String, Seen>,
        path: &mut Vec<String>,
        closing: &mut BTreeSet<Pos>,
        out: &mut Vec<Diagnostic>,
    ) {
        let Some(block) = blocks.get(name) else {
            return;
        };
        seen.insert(name.to_string(), Seen::Open);
        path.push(name.to_string());
        for include in &block.includes {
            match seen.get(&include.block) {
                Some(Seen::Open) => {
                    let from = path.iter().position(|p| *p == include.block).unwrap_or(0);
                    let mut chain = path[from..].to_vec();
                    chain.push(include.block.clone());
                    closing.insert(include.pos.clone());
                    out.push(Diagnostic::new(
                        include.pos.clone(),
                        Problem::BlockCycle { chain },
                    ));
                }
                Some(Seen::Done) => {}
                None => visit(blocks, &include.block, seen, path, closing, out),
            }
        }
        path.pop();
        seen.insert(name.to_string(), Seen::Done);
    }
    let mut seen = HashMap::new();
    let mut closing = BTreeSet::new();
    for name in blocks.keys() {
        if !seen.contains_key(name) {
            visit(blocks, name, &mut seen, &mut Vec::new(), &mut closing, out);
        }
    }
    closing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::parse::parse_file;

    fn expanded(source: &str) -> (HashMap<String, Node>, Vec<Diagnostic>) {
        let parsed = parse_file("b.flow", source);
        let mut out = parsed.diagnostics;
        let blocks = collect(parsed.blocks, &mut out);
        let mut nodes: HashMap<String, Node> = parsed
            .nodes
            .into_iter()
            .map(|n| (n.name.clone(), n))
            .collect();
        expand(&mut nodes, &blocks, &mut out);
        (nodes, out)
    }

    #[test]
    fn a_block_gives_its_buttons_where_it_is_included_with_its_own_ids() {
        let (nodes, out) = expanded(
            "=== a\nBonjour. #id:a1\n* Avant -> a #id:a2\n@inclure fin\n* Après -> a #id:a3\n\n=== @bloc fin\n* Parler -> a #id:b_parler\n  ~ vu = oui\n@inclure menu\n\n=== @bloc menu\n* Menu -> a #id:b_menu\n",
        );
        assert!(out.is_empty(), "{out:?}");
        let labels: Vec<&str> = nodes["a"]
            .exit
            .choices
            .iter()
            .map(|c| c.label.id.as_str())
            .collect();
        assert_eq!(labels, ["a2", "b_parler", "b_menu", "a3"]);
        let parler = &nodes["a"].exit.choices[1];
        assert_eq!(parler.sets[0].var, "vu");
        assert_eq!(parler.pos.line, 8);
        assert_eq!(parler.place().line, 4);
        assert_eq!(parler.included.as_ref().unwrap().block, "fin");
    }

    #[test]
    fn unknown_unused_cyclic_and_empty_blocks_are_reported() {
        let (nodes, out) = expanded(
            "=== a\nBonjour. #id:a1\n@inclure fni\n@inclure un\n\n=== @bloc fin\n* X -> a #id:x\n\n=== @bloc un\n@inclure deux\n\n=== @bloc deux\n@inclure un\n\n=== @bloc vide\n",
        );
        let codes: Vec<_> = out.iter().map(|d| (d.pos.line, d.problem.code())).collect();
        assert!(codes.contains(&(3, "unknown_block")), "{codes:?}");
        assert!(codes.contains(&(10, "block_cycle")), "{codes:?}");
        assert!(codes.contains(&(15, "unused_block")), "{codes:?}");
        assert!(codes.contains(&(15, "empty_block")), "{codes:?}");
        assert_eq!(
            out.iter()
                .filter(|d| d.problem.code() == "block_cycle")
                .count(),
            1
        );
        let hint = out[codes.iter().position(|c| c.1 == "unknown_block").unwrap()].message("fr");
        assert!(
            hint.contains("Voulais-tu dire « fin » (b.flow:6)"),
            "{hint}"
        );
        assert!(nodes["a"].exit.choices.is_empty());
    }
}
