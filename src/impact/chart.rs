//! One kind of chart, drawn as SVG text with no script and no style attribute (so the
//! console can show it under its CSP): horizontal bars, this period's above the previous
//! one's, every label written in full on its own line, one scale from 0 for both, a solid
//! dark bar and a hatched light one that stay apart when printed in grey. A count that is
//! suppressed or hidden is not drawn and leaves no slot; the summary under the chart says
//! how many were left out, without naming them.

use std::fmt::Write;

use super::figures::{Shown, Table};
use super::words::{Lang, Word};

const WIDTH: f64 = 640.0;
const LEFT: f64 = 8.0;
const BARS: f64 = 520.0;
const ROW: f64 = 52.0;
const TOP: f64 = 50.0;

/// The chart of a table (its title is the figure's caption), or nothing when no count of
/// it can be drawn. `id` makes the element ids of the chart unique in the page.
pub(crate) fn bars(table: &Table, id: &str, lang: Lang, this: &str, before: &str) -> String {
    let rows: Vec<(&str, Option<u64>, Option<u64>)> = table
        .rows
        .iter()
        .map(|row| {
            (
                row.label.as_str(),
                row.current.exact(),
                row.previous.exact(),
            )
        })
        .filter(|(_, current, previous)| current.unwrap_or(0) > 0 || previous.unwrap_or(0) > 0)
        .collect();
    let left_out = table
        .rows
        .iter()
        .flat_map(|row| [row.current, row.previous])
        .filter(|shown| matches!(shown, Shown::Small | Shown::Masked))
        .count();
    let mut summary = String::new();
    let highest = rows
        .iter()
        .filter_map(|(label, current, _)| {
            current
                .filter(|value| *value > 0)
                .map(|value| (value, *label))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(a.1)));
    match highest {
        Some((value, label)) => {
            let _ = write!(
                summary,
                "{} : {label} ({}).",
                lang.t(Word::Highest),
                lang.number(value)
            );
            if lang == Lang::En {
                summary = summary.replacen(" : ", ": ", 1);
            }
        }
        None => summary.push_str(lang.t(Word::NothingToDraw)),
    }
    if left_out > 0 {
        let _ = write!(
            summary,
            " {} {}.",
            lang.number(left_out as u64),
            lang.t(Word::NotDrawn)
        );
    }
    let caption_id = format!("{id}-titre");
    let summary_id = format!("{id}-resume");
    let mut out = format!(
        "<figure class=\"chart\"><figcaption id=\"{caption_id}\">{}</figcaption>\n",
        escape(table.title)
    );
    if !rows.is_empty() {
        let max = rows
            .iter()
            .flat_map(|(_, current, previous)| [current.unwrap_or(0), previous.unwrap_or(0)])
            .max()
            .unwrap_or(1)
            .max(1);
        let scale = nice_ceiling(max);
        let height = TOP + ROW * rows.len() as f64 + 24.0;
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" role=\"img\" aria-labelledby=\"{caption_id} {summary_id}\" font-family=\"system-ui, sans-serif\" font-size=\"13\">\n<defs><pattern id=\"{id}-hachures\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#ffffff\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#555555\" stroke-width=\"2.5\"/></pattern></defs>"
        );
        // The legend: which bar is which period.
        let _ = writeln!(
            out,
            "<rect x=\"{LEFT}\" y=\"4\" width=\"14\" height=\"12\" fill=\"#1d3557\"/><text x=\"{}\" y=\"14\" fill=\"#111111\">{}</text>\
<rect x=\"{LEFT}\" y=\"22\" width=\"14\" height=\"12\" fill=\"url(#{id}-hachures)\" stroke=\"#555555\"/><text x=\"{}\" y=\"32\" fill=\"#111111\">{}</text>",
            LEFT + 20.0,
            escape(this),
            LEFT + 20.0,
            escape(before)
        );
        for (index, (label, current, previous)) in rows.iter().enumerate() {
            let y = TOP + ROW * index as f64;
            let _ = writeln!(
                out,
                "<text x=\"{LEFT}\" y=\"{}\" fill=\"#111111\">{}</text>",
                y + 12.0,
                escape(label)
            );
            for (offset, value, fill) in [
                (16.0, current, "#1d3557".to_string()),
                (31.0, previous, format!("url(#{id}-hachures)")),
            ] {
                let Some(value) = value else { continue };
                let width = BARS * *value as f64 / scale as f64;
                let _ = writeln!(
                    out,
                    "<rect x=\"{LEFT}\" y=\"{}\" width=\"{width:.1}\" height=\"12\" fill=\"{fill}\" stroke=\"#1d3557\" stroke-width=\"0.5\"/><text x=\"{:.1}\" y=\"{}\" fill=\"#111111\">{}</text>",
                    y + offset,
                    LEFT + width + 6.0,
                    y + offset + 10.5,
                    lang.number(*value)
                );
            }
        }
        // The scale, under the bars: 0, half and the top.
        let axis_y = TOP + ROW * rows.len() as f64 + 4.0;
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{axis_y}\" x2=\"{}\" y2=\"{axis_y}\" stroke=\"#555555\"/>",
            LEFT + BARS
        );
        for step in [0, scale / 2, scale] {
            let x = LEFT + BARS * step as f64 / scale as f64;
            let _ = write!(
                out,
                "<text x=\"{x:.1}\" y=\"{}\" fill=\"#333333\" text-anchor=\"middle\">{}</text>",
                axis_y + 16.0,
                lang.number(step)
            );
        }
        out.push_str("\n</svg>\n");
    }
    let _ = writeln!(
        out,
        "<p class=\"chart-summary\" id=\"{summary_id}\">{}</p></figure>",
        escape(&summary)
    );
    out
}

/// The smallest round number (1, 2 or 5 times a power of ten) at or above `value`.
fn nice_ceiling(value: u64) -> u64 {
    let mut power = 1u64;
    loop {
        for step in [1, 2, 5] {
            if step * power >= value {
                return step * power;
            }
        }
        power = power.saturating_mul(10);
    }
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
