//! The flow as a graph, for authors: nodes, choices, free-text routes, handoffs
//! (urgent marked), resources and ends, as Mermaid or Graphviz dot text, and as the
//! JSON the authors' page draws. All three come from one `Graph`.

use serde::Serialize;

use super::model::{FlowSet, Item, Target};

#[derive(Debug, Clone, Serialize)]
pub struct Graph {
    pub start: String,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GraphNode {
    pub id: String,
    pub file: String,
    pub line: u32,
    /// `node`, `handoff`, `urgent_handoff`, `resource` or `end`.
    pub kind: &'static str,
    /// The first line the node says (French), for a tooltip.
    pub says: String,
    pub resources: Vec<String>,
    /// Exits to hidden nodes (`--hide menu,parler`), shown as badges (`↩ menu`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hidden_exits: Vec<String>,
    /// Blocks of buttons folded (`--hide boutons_fin`), shown as badges (`+ boutons_fin`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hidden_blocks: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GraphEdge {
    pub from: String,
    pub to: String,
    /// `choice`, `route`, `otherwise`, `jump`, `trigger`.
    pub kind: &'static str,
    pub label: String,
    /// For a choice a block gives (`@inclure nom`): the block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
}

const END: &str = "fin";

impl Graph {
    pub(crate) fn of(set: &FlowSet) -> Self {
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        let mut ends = false;
        let target = |t: &Target, ends: &mut bool| match t {
            Target::Node { name, .. } => name.clone(),
            Target::End { .. } => {
                *ends = true;
                END.to_string()
            }
        };
        for name in &set.order {
            let Some(node) = set.nodes.get(name) else {
                continue;
            };
            let handoff = node.handoff();
            let resources: Vec<String> = node
                .items
                .iter()
                .flat_map(|item| match item {
                    Item::Resources { keys, .. } => keys.iter().map(|(k, _)| k.clone()).collect(),
                    _ => Vec::new(),
                })
                .collect();
            let kind = match handoff {
                Some(spec) if spec.urgent => "urgent_handoff",
                Some(_) => "handoff",
                None if !resources.is_empty() => "resource",
                None => "node",
            };
            let says = node
                .items
                .iter()
                .find_map(|item| match item {
                    Item::Say { line, .. } => Some(super::format::to_plain(&line.source)),
                    _ => None,
                })
                .unwrap_or_default();
            nodes.push(GraphNode {
                id: name.clone(),
                file: node.pos.file.clone(),
                line: node.pos.line,
                kind,
                says,
                resources,
                hidden_exits: Vec::new(),
                hidden_blocks: Vec::new(),
            });
            for choice in &node.exit.choices {
                edges.push(GraphEdge {
                    from: name.clone(),
                    to: target(&choice.target, &mut ends),
                    kind: "choice",
                    label: choice.label.source.clone(),
                    block: choice.included.as_ref().map(|i| i.block.clone()),
                });
            }
            for route in &node.exit.routes {
                edges.push(GraphEdge {
                    from: name.clone(),
                    to: target(&route.target, &mut ends),
                    kind: "route",
                    label: route
                        .patterns
                        .iter()
                        .map(|p| p.written.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                    block: None,
                });
            }
            if let Some((otherwise, _, _)) = &node.exit.otherwise {
                edges.push(GraphEdge {
                    from: name.clone(),
                    to: target(otherwise, &mut ends),
                    kind: "otherwise",
                    label: "sinon".into(),
                    block: None,
                });
            }
            if let Some(jump) = &node.exit.jump {
                edges.push(GraphEdge {
                    from: name.clone(),
                    to: target(jump, &mut ends),
                    kind: "jump",
                    label: String::new(),
                    block: None,
                });
            }
        }
        for (label, triggers) in [("urgence", &set.urgent), ("aide", &set.help)] {
            if set.nodes.contains_key(&triggers.node) {
                edges.push(GraphEdge {
                    from: format!("*{label}"),
                    to: triggers.node.clone(),
                    kind: "trigger",
                    label: label.into(),
                    block: None,
                });
            }
        }
        if ends {
            nodes.push(GraphNode {
                id: END.into(),
                file: String::new(),
                line: 0,
                kind: "end",
                says: String::new(),
                resources: Vec::new(),
                hidden_exits: Vec::new(),
                hidden_blocks: Vec::new(),
            });
        }
        Self {
            start: set.start.clone(),
            nodes,
            edges,
        }
    }

    /// A part of the graph, for a reader: the nodes of one file, those within
    /// `depth` links of a node, and exits to hidden nodes folded into badges. A
    /// name in `hide` may also be a block: the buttons it gives become one badge.
    pub(crate) fn filtered(
        &self,
        file: Option<&str>,
        from: Option<&str>,
        depth: usize,
        hide: &[String],
    ) -> Graph {
        use std::collections::{HashSet, VecDeque};
        let hidden_block = |edge: &GraphEdge| edge.block.as_ref().is_some_and(|b| hide.contains(b));
        let mut keep: HashSet<&str> = self
            .nodes
            .iter()
            .filter(|n| file.is_none_or(|f| n.file == f || n.kind == "end"))
            .map(|n| n.id.as_str())
            .collect();
        if let Some(from) = from {
            let mut near = HashSet::new();
            let mut queue = VecDeque::from([(from, 0)]);
            while let Some((id, d)) = queue.pop_front() {
                if !near.insert(id) || d >= depth {
                    continue;
                }
                for edge in self.edges.iter().filter(|e| e.from == id) {
                    if !hide.contains(&edge.to) && !hidden_block(edge) {
                        queue.push_back((edge.to.as_str(), d + 1));
                    }
                }
            }
            keep.retain(|id| near.contains(id));
        }
        for id in hide.iter().filter(|id| Some(id.as_str()) != from) {
            keep.remove(id.as_str());
        }
        let mut nodes: Vec<GraphNode> = self
            .nodes
            .iter()
            .filter(|n| keep.contains(n.id.as_str()))
            .cloned()
            .collect();
        let mut edges = Vec::new();
        for edge in &self.edges {
            if !keep.contains(edge.from.as_str()) {
                continue;
            }
            if let Some(block) = edge.block.as_ref().filter(|_| hidden_block(edge)) {
                if let Some(node) = nodes.iter_mut().find(|n| n.id == edge.from) {
                    if !node.hidden_blocks.contains(block) {
                        node.hidden_blocks.push(block.clone());
                    }
                }
            } else if hide.contains(&edge.to) {
                if let Some(node) = nodes.iter_mut().find(|n| n.id == edge.from) {
                    if !node.hidden_exits.contains(&edge.to) {
                        node.hidden_exits.push(edge.to.clone());
                    }
                }
            } else if keep.contains(edge.to.as_str()) {
                edges.push(edge.clone());
            }
        }
        Graph {
            start: self.start.clone(),
            nodes,
            edges,
        }
    }

    pub(crate) fn mermaid_with(&self, detailed: bool) -> String {
        let mut out = String::from("flowchart TD\n");
        for node in &self.nodes {
            let id = mermaid_id(&node.id);
            let mut name = node.id.clone();
            if detailed && !node.says.is_empty() {
                let says: String = node.says.chars().take(48).collect();
                let more = if node.says.chars().count() > 48 {
                    "…"
                } else {
                    ""
                };
                name = format!("{name}<br/><small>{}{more}</small>", quote(&says));
            }
            if !node.hidden_exits.is_empty() || !node.hidden_blocks.is_empty() {
                let badges: Vec<String> = node
                    .hidden_blocks
                    .iter()
                    .map(|b| format!("+ {b}"))
                    .chain(node.hidden_exits.iter().map(|e| format!("↩ {e}")))
                    .collect();
                name = format!("{name}<br/>{}", badges.join(" · "));
            }
            let line = match node.kind {
                "urgent_handoff" => format!("  {id}[[\"{name} · personne URGENT\"]]\n"),
                "handoff" => format!("  {id}[[\"{name} · personne\"]]\n"),
                "end" => format!("  {id}((\"fin\"))\n"),
                _ if node.id == self.start => format!("  {id}([\"{name}\"])\n"),
                _ => format!("  {id}[\"{name}\"]\n"),
            };
            out.push_str(&line);
            for resource in &node.resources {
                out.push_str(&format!(
                    "  {id} -.-> res_{}[/\"{}{}\"/]\n",
                    mermaid_id(resource),
                    if detailed { "📇 " } else { "" },
                    resource
                ));
            }
        }
        for edge in &self.edges {
            let from = if edge.kind == "trigger" {
                let id = format!("trigger_{}", mermaid_id(edge.from.trim_start_matches('*')));
                out.push_str(&format!("  {id}{{{{\"déclencheur {}\"}}}}\n", edge.label));
                id
            } else {
                mermaid_id(&edge.from)
            };
            let to = mermaid_id(&edge.to);
            let label = match edge.kind {
                "choice" => format!("|\"{}\"|", quote(&edge.label)),
                "route" => format!("|\"quand {}\"|", quote(&edge.label)),
                "otherwise" => "|\"sinon\"|".to_string(),
                _ => String::new(),
            };
            let arrow = if edge.kind == "jump" { "==>" } else { "-->" };
            out.push_str(&format!("  {from} {arrow}{label} {to}\n"));
        }
        out
    }

    pub(crate) fn dot(&self) -> String {
        let mut out =
            String::from("digraph flows {\n  rankdir=TB;\n  node [fontname=\"sans-serif\"];\n");
        for node in &self.nodes {
            let attributes = match node.kind {
                "urgent_handoff" => format!("label=\"{} · personne URGENT\", shape=box, style=\"filled,bold\", fillcolor=\"#f8d7da\"", node.id),
                "handoff" => format!("label=\"{} · personne\", shape=box, style=filled, fillcolor=\"#d1e7dd\"", node.id),
                "end" => "label=\"fin\", shape=doublecircle".to_string(),
                _ if node.id == self.start => format!("label=\"{}\", shape=box, style=rounded, penwidth=2", node.id),
                _ => format!("label=\"{}\", shape=box", node.id),
            };
            out.push_str(&format!("  \"{}\" [{attributes}];\n", node.id));
            for resource in &node.resources {
                out.push_str(&format!(
                    "  \"res:{resource}\" [label=\"{resource}\", shape=note];\n  \"{}\" -> \"res:{resource}\" [style=dotted];\n",
                    node.id
                ));
            }
        }
        for edge in &self.edges {
            let (from, extra) = if edge.kind == "trigger" {
                let id = format!("déclencheur {}", edge.label);
                out.push_str(&format!("  \"{id}\" [shape=hexagon];\n"));
                (id, String::new())
            } else {
                (edge.from.clone(), String::new())
            };
            let label = match edge.kind {
                "choice" => format!(" [label=\"{}\"]", quote(&edge.label)),
                "route" => format!(" [label=\"quand {}\", style=dashed]", quote(&edge.label)),
                "otherwise" => " [label=\"sinon\", style=dashed]".to_string(),
                _ => extra,
            };
            out.push_str(&format!("  \"{from}\" -> \"{}\"{label};\n", edge.to));
        }
        out.push_str("}\n");
        out
    }
}

fn mermaid_id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn quote(text: &str) -> String {
    text.replace('"', "'")
}
