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
}

#[derive(Debug, Clone, Serialize)]
pub struct GraphEdge {
    pub from: String,
    pub to: String,
    /// `choice`, `route`, `otherwise`, `jump`, `trigger`.
    pub kind: &'static str,
    pub label: String,
}

const END: &str = "fin";

impl Graph {
    pub fn of(set: &FlowSet) -> Self {
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
            });
            for choice in &node.exit.choices {
                edges.push(GraphEdge {
                    from: name.clone(),
                    to: target(&choice.target, &mut ends),
                    kind: "choice",
                    label: choice.label.source.clone(),
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
                });
            }
            if let Some((otherwise, _, _)) = &node.exit.otherwise {
                edges.push(GraphEdge {
                    from: name.clone(),
                    to: target(otherwise, &mut ends),
                    kind: "otherwise",
                    label: "sinon".into(),
                });
            }
            if let Some(jump) = &node.exit.jump {
                edges.push(GraphEdge {
                    from: name.clone(),
                    to: target(jump, &mut ends),
                    kind: "jump",
                    label: String::new(),
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
            });
        }
        Self {
            start: set.start.clone(),
            nodes,
            edges,
        }
    }

    pub fn mermaid(&self) -> String {
        let mut out = String::from("flowchart TD\n");
        for node in &self.nodes {
            let id = mermaid_id(&node.id);
            let line = match node.kind {
                "urgent_handoff" => format!("  {id}[[\"{} · personne URGENT\"]]\n", node.id),
                "handoff" => format!("  {id}[[\"{} · personne\"]]\n", node.id),
                "end" => format!("  {id}((\"fin\"))\n"),
                _ if node.id == self.start => format!("  {id}([\"{}\"])\n", node.id),
                _ => format!("  {id}[\"{}\"]\n", node.id),
            };
            out.push_str(&line);
            for resource in &node.resources {
                out.push_str(&format!(
                    "  {id} -.-> res_{}[/\"{}\"/]\n",
                    mermaid_id(resource),
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

    pub fn dot(&self) -> String {
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
