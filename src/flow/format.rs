//! The light formatting of bot lines: `**bold**`, `*italics*` (or `_italics_`) and
//! `[label](url)`. Each line is rendered once, at load time, to plain text and to
//! HTML that ammonia then cleans with a strict allow-list.

use std::collections::HashSet;
use std::sync::OnceLock;

/// Link schemes a bot line may use.
const SCHEMES: [&str; 4] = ["http", "https", "tel", "sms"];

/// The sanitizer: only `strong`, `em`, `a` and `br`; links only http, https, tel and
/// sms, always with `rel="noopener noreferrer"`; no image, no style, no script.
fn cleaner() -> &'static ammonia::Builder<'static> {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let mut builder = ammonia::Builder::empty();
        builder
            .tags(HashSet::from(["strong", "em", "a", "br"]))
            .add_tag_attributes("a", ["href"])
            .url_schemes(HashSet::from(SCHEMES))
            .link_rel(Some("noopener noreferrer"))
            .url_relative(ammonia::UrlRelative::Deny);
        builder
    })
}

/// Cleans any HTML with the project's allow-list.
pub(crate) fn sanitize(html: &str) -> String {
    cleaner().clean(html).to_string()
}

/// A span of a formatted line.
enum Span<'a> {
    Text(&'a str),
    Bold(&'a str),
    Italic(&'a str),
    Link { label: &'a str, url: &'a str },
}

fn spans(source: &str) -> Vec<Span<'_>> {
    let mut spans = Vec::new();
    let mut rest = source;
    while !rest.is_empty() {
        let next = rest.find(['*', '_', '[']);
        let Some(at) = next else {
            spans.push(Span::Text(rest));
            break;
        };
        let (before, from) = rest.split_at(at);
        let parsed = if let Some(inner) = from.strip_prefix("**") {
            inner
                .find("**")
                .map(|end| (Span::Bold(&inner[..end]), &inner[end + 2..]))
        } else if from.starts_with('[') {
            link(from)
        } else {
            let marker = &from[..1];
            let inner = &from[1..];
            // `_` inside a word (a_b) is not formatting.
            let word_inside =
                marker == "_" && before.chars().last().is_some_and(|c| c.is_alphanumeric());
            inner
                .find(marker)
                .filter(|&end| end > 0 && !word_inside)
                .map(|end| (Span::Italic(&inner[..end]), &inner[end + 1..]))
        };
        if !before.is_empty() {
            spans.push(Span::Text(before));
        }
        match parsed {
            Some((span, after)) => {
                spans.push(span);
                rest = after;
            }
            None => {
                let marker_len = if from.starts_with("**") { 2 } else { 1 };
                spans.push(Span::Text(&from[..marker_len]));
                rest = &from[marker_len..];
            }
        }
    }
    spans
}

fn link(from: &str) -> Option<(Span<'_>, &str)> {
    let close = from.find("](")?;
    let end = from[close..].find(')')? + close;
    let label = &from[1..close];
    let url = from[close + 2..end].trim();
    Some((Span::Link { label, url }, &from[end + 1..]))
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// The HTML of a line, escaped then cleaned.
pub(crate) fn to_html(source: &str) -> String {
    let mut html = String::with_capacity(source.len() + 16);
    for span in spans(source) {
        match span {
            Span::Text(text) => escape(text, &mut html),
            Span::Bold(text) => {
                html.push_str("<strong>");
                escape(text, &mut html);
                html.push_str("</strong>");
            }
            Span::Italic(text) => {
                html.push_str("<em>");
                escape(text, &mut html);
                html.push_str("</em>");
            }
            Span::Link { label, url } => {
                html.push_str("<a href=\"");
                escape(url, &mut html);
                html.push_str("\">");
                escape(label, &mut html);
                html.push_str("</a>");
            }
        }
    }
    sanitize(&html)
}

/// The plain text of a line: markers removed, a link written `label (url)`.
pub fn to_plain(source: &str) -> String {
    let mut plain = String::with_capacity(source.len());
    for span in spans(source) {
        match span {
            Span::Text(text) | Span::Bold(text) | Span::Italic(text) => plain.push_str(text),
            Span::Link { label, url } => {
                plain.push_str(label);
                let shown = url
                    .strip_prefix("tel:")
                    .or_else(|| url.strip_prefix("sms:"))
                    .unwrap_or(url);
                if shown != label {
                    plain.push_str(" (");
                    plain.push_str(shown);
                    plain.push(')');
                }
            }
        }
    }
    plain
}

/// The text a youth sees on the screen: markers removed, a link counted by its
/// label only (its address is not shown). For length rules.
pub fn to_visible(source: &str) -> String {
    let mut visible = String::with_capacity(source.len());
    for span in spans(source) {
        match span {
            Span::Text(text) | Span::Bold(text) | Span::Italic(text) => visible.push_str(text),
            Span::Link { label, .. } => visible.push_str(label),
        }
    }
    visible
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_bold_italics_and_links() {
        let source =
            "Tu n'es **pas** seul·e, *vraiment*. [Appelle](tel:911) ou [lis](https://example.org).";
        assert_eq!(
            to_html(source),
            "Tu n'es <strong>pas</strong> seul·e, <em>vraiment</em>. <a href=\"tel:911\" rel=\"noopener noreferrer\">Appelle</a> ou <a href=\"https://example.org\" rel=\"noopener noreferrer\">lis</a>."
        );
        assert_eq!(
            to_plain(source),
            "Tu n'es pas seul·e, vraiment. Appelle (911) ou lis (https://example.org)."
        );
    }

    #[test]
    fn hostile_markup_is_escaped_and_bad_links_dropped() {
        let html = to_html("<script>x</script> [a](javascript:alert(1)) <img src=x>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn unmatched_markers_stay_as_text() {
        assert_eq!(to_plain("2 * 3 et un_mot_long"), "2 * 3 et un_mot_long");
        assert_eq!(to_html("un **gras"), "un **gras");
    }
}
