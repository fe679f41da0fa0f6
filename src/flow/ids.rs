//! `relais flows ids --add`: writes the `#id:` every line needs, so a translation
//! stays with its line when lines move. The id written is the one the line already
//! has implicitly (`node.N`), so existing translations keep matching.

use std::collections::BTreeMap;

use super::parse;

/// For each `.flow` file with lines lacking an id: its new content and how many ids
/// were added.
pub(crate) fn add_ids(sources: &BTreeMap<String, String>) -> Vec<(String, String, usize)> {
    let mut changes = Vec::new();
    for (name, content) in sources {
        if !name.ends_with(".flow") {
            continue;
        }
        let parsed = parse::parse_file(name, content);
        let mut missing: BTreeMap<u32, String> = BTreeMap::new();
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
            if !line.explicit_id {
                missing.insert(line.pos.line, line.id.clone());
            }
        }
        if missing.is_empty() {
            continue;
        }
        let mut out = String::with_capacity(content.len() + missing.len() * 16);
        for (index, raw) in content.split_inclusive('\n').enumerate() {
            match missing.get(&(index as u32 + 1)) {
                Some(id) => {
                    let body = raw.trim_end_matches(['\n', '\r']);
                    let ending = &raw[body.len()..];
                    out.push_str(body.trim_end());
                    out.push_str(" #id:");
                    out.push_str(id);
                    out.push_str(ending);
                }
                None => out.push_str(raw),
            }
        }
        changes.push((name.clone(), out, missing.len()));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ids_are_written_with_the_id_the_line_had() {
        let sources = BTreeMap::from([(
            "a.flow".to_string(),
            "=== a\r\nBonjour.\r\n* Oui -> a #id:a_oui\r\n* Non -> a\r\n".to_string(),
        )]);
        let changes = add_ids(&sources);
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].1,
            "=== a\r\nBonjour. #id:a.1\r\n* Oui -> a #id:a_oui\r\n* Non -> a #id:a.3\r\n"
        );
        assert_eq!(changes[0].2, 2);
        let again = BTreeMap::from([("a.flow".to_string(), changes[0].1.clone())]);
        assert!(add_ids(&again).is_empty());
    }
}
