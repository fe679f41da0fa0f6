//! A report written out: Markdown, CSV (the axes' tables, `;`-separated in French as
//! French Excel expects, with a byte-order mark so accents survive), JSON (stable English
//! keys), one self-contained HTML file (charts, tables, print styles), or the HTML
//! report's body alone for the console's Statistiques view.

use std::fmt::Write;

use super::chart::{bars, escape};
use super::figures::{Report, Shown};
use super::words::{Lang, Word};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Md,
    Csv,
    Json,
    Html,
    /// The HTML report's body, without its page and styles (the console shows it).
    Fragment,
}

impl Format {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "md" | "markdown" => Some(Format::Md),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "html" => Some(Format::Html),
            "fragment" => Some(Format::Fragment),
            _ => None,
        }
    }

    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Md => "text/markdown; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Html | Format::Fragment => "text/html; charset=utf-8",
        }
    }

    /// The file name a download gets.
    pub(crate) fn file_name(self, report: &Report) -> String {
        let extension = match self {
            Format::Md => "md",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Html | Format::Fragment => "html",
        };
        let stem = match report.lang {
            Lang::Fr => "relais-rapport",
            Lang::En => "relais-report",
        };
        format!("{stem}-{}-{}.{extension}", report.from, report.to)
    }
}

impl Report {
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Md => self.markdown(),
            Format::Csv => self.csv(),
            Format::Json => crate::protocol::to_pretty(self),
            Format::Html => self.html(),
            Format::Fragment => self.body(),
        }
    }

    fn notes(&self) -> [&'static str; 4] {
        let lang = self.lang;
        [
            lang.t(Word::Intro),
            lang.t(Word::Suppression),
            lang.t(Word::Masked),
            lang.t(Word::Crash),
        ]
    }

    /// "Période : du … au … (par mois)" and "Période précédente : du … au …".
    fn heading(&self) -> (String, String) {
        let lang = self.lang;
        let unit = lang.t(self.range.unit.word());
        match lang {
            Lang::Fr => (
                format!(
                    "{} : {} (par {unit})",
                    lang.t(Word::Period),
                    self.range_text
                ),
                format!("{} : {}", lang.t(Word::Previous), self.previous_text),
            ),
            Lang::En => (
                format!("{}: {} (by {unit})", lang.t(Word::Period), self.range_text),
                format!("{}: {}", lang.t(Word::Previous), self.previous_text),
            ),
        }
    }

    fn markdown(&self) -> String {
        let lang = self.lang;
        let mut out = format!("# {}\n\n", lang.t(Word::Title));
        let (period, previous) = self.heading();
        let _ = write!(out, "**{period}**  \n{previous}\n\n");
        for note in self.notes() {
            let _ = writeln!(out, "> {note}");
        }
        let columns = format!(
            "| {} | {} | {} |\n",
            lang.t(Word::Current),
            lang.t(Word::PreviousShort),
            lang.t(Word::Change)
        );
        for axis in &self.axes {
            let _ = writeln!(out, "\n## {}\n\n{}", axis.title, axis.about);
            if !axis.figures.is_empty() {
                let _ = writeln!(
                    out,
                    "\n| {} {}|---|---:|---:|---:|",
                    lang.t(Word::Figure),
                    columns
                );
                for figure in &axis.figures {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} |",
                        figure.title,
                        figure.current.text(lang),
                        figure.previous.text(lang),
                        change_text(lang, figure.change)
                    );
                }
            }
            for table in &axis.tables {
                let _ = write!(out, "\n### {}\n\n", table.title);
                if table.rows.is_empty() {
                    let _ = writeln!(out, "{}", lang.t(Word::NothingToDraw));
                    continue;
                }
                let _ = writeln!(
                    out,
                    "| {} {}|---|---:|---:|---:|",
                    lang.t(Word::Label),
                    columns
                );
                for row in &table.rows {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} |",
                        row.label,
                        row.current.text(lang),
                        row.previous.text(lang),
                        change_text(lang, row.change)
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "\n## {}\n\n| {} | {} | {} |\n|---|---:|---:|",
            lang.t(Word::ByPeriod),
            lang.t(Word::Period),
            lang.t(Word::Conversations),
            lang.t(Word::Requests)
        );
        for row in &self.by_period {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                row.name,
                row.conversations.text(lang),
                row.requests.text(lang)
            );
        }
        if !self.exits.is_empty() {
            let _ = writeln!(
                out,
                "\n## {}\n\n| {} | {} | {} |\n|---|---:|---:|",
                lang.t(Word::Exits),
                lang.t(Word::Node),
                lang.t(Word::Reached),
                lang.t(Word::LeftHere)
            );
            for exit in &self.exits {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    exit.node,
                    exit.reached.text(lang),
                    exit.left_here.text(lang)
                );
            }
        }
        out
    }

    /// The axes' tables, one line a figure: what a coordinator opens in a spreadsheet.
    fn csv(&self) -> String {
        let lang = self.lang;
        let delimiter = if lang == Lang::Fr { b';' } else { b',' };
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(Vec::new());
        let mut line = |cells: [&str; 6]| {
            let _ = writer.write_record(cells);
        };
        line([
            lang.t(Word::Axis),
            lang.t(Word::Figure),
            lang.t(Word::Label),
            lang.t(Word::Current),
            lang.t(Word::PreviousShort),
            lang.t(Word::Change),
        ]);
        for axis in &self.axes {
            for figure in &axis.figures {
                line([
                    axis.title,
                    figure.title,
                    "",
                    &figure.current.text(lang),
                    &figure.previous.text(lang),
                    &change_text(lang, figure.change),
                ]);
            }
            for table in &axis.tables {
                for row in &table.rows {
                    line([
                        axis.title,
                        table.title,
                        &row.label,
                        &row.current.text(lang),
                        &row.previous.text(lang),
                        &change_text(lang, row.change),
                    ]);
                }
            }
        }
        for row in &self.by_period {
            for (title, count) in [
                (lang.t(Word::Conversations), row.conversations),
                (lang.t(Word::Requests), row.requests),
            ] {
                line([
                    lang.t(Word::ByPeriod),
                    title,
                    &row.name,
                    &count.text(lang),
                    "",
                    "",
                ]);
            }
        }
        let bytes = writer.into_inner().unwrap_or_default();
        format!("\u{feff}{}", String::from_utf8_lossy(&bytes))
    }

    /// The report's body: headings, notes, and per axis its figures, then each table as
    /// a chart followed by its data.
    fn body(&self) -> String {
        let lang = self.lang;
        let (period, previous) = self.heading();
        let this = format!("{} ({})", lang.t(Word::Current), self.range_text);
        let before = format!("{} ({})", lang.t(Word::Previous), self.previous_text);
        let mut out = format!(
            "<div class=\"impact-report\" lang=\"{}\">\n<p class=\"impact-period\"><strong>{}</strong><br>{}</p>\n",
            lang.code(),
            escape(&period),
            escape(&previous)
        );
        out.push_str("<ul class=\"impact-notes\">");
        for note in self.notes() {
            let _ = write!(out, "<li>{}</li>", escape(note));
        }
        out.push_str("</ul>\n");
        let head = |first: &str| {
            format!(
                "<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>",
                escape(first),
                lang.t(Word::Current),
                lang.t(Word::PreviousShort),
                lang.t(Word::Change)
            )
        };
        for axis in &self.axes {
            let _ = writeln!(
                out,
                "<section class=\"impact-axis\" aria-labelledby=\"axe-{key}\"><h2 id=\"axe-{key}\">{}</h2><p>{}</p>",
                escape(axis.title),
                escape(axis.about),
                key = axis.key
            );
            if !axis.figures.is_empty() {
                let _ = write!(
                    out,
                    "<table class=\"impact-figures\">{}<tbody>",
                    head(lang.t(Word::Figure))
                );
                for figure in &axis.figures {
                    let _ = write!(
                        out,
                        "<tr><th scope=\"row\">{}</th>{}</tr>",
                        escape(figure.title),
                        cells(lang, figure.current, figure.previous, figure.change)
                    );
                }
                out.push_str("</tbody></table>\n");
            }
            for table in &axis.tables {
                out.push_str(&bars(
                    table,
                    &format!("graphique-{}", table.key),
                    lang,
                    &this,
                    &before,
                ));
                if table.rows.is_empty() {
                    continue;
                }
                let _ = write!(
                    out,
                    "<table class=\"impact-table\"><caption>{}</caption>{}<tbody>",
                    escape(table.title),
                    head(lang.t(Word::Label))
                );
                for row in &table.rows {
                    let _ = write!(
                        out,
                        "<tr><th scope=\"row\">{}</th>{}</tr>",
                        escape(&row.label),
                        cells(lang, row.current, row.previous, row.change)
                    );
                }
                out.push_str("</tbody></table>\n");
            }
            out.push_str("</section>\n");
        }
        let _ = write!(
            out,
            "<section class=\"impact-axis\" aria-labelledby=\"axe-periodes\"><h2 id=\"axe-periodes\">{}</h2><table class=\"impact-table\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            lang.t(Word::ByPeriod),
            lang.t(Word::Period),
            lang.t(Word::Conversations),
            lang.t(Word::Requests)
        );
        for row in &self.by_period {
            let _ = write!(
                out,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>",
                escape(&row.name),
                row.conversations.text(lang),
                row.requests.text(lang)
            );
        }
        out.push_str("</tbody></table></section>\n");
        if !self.exits.is_empty() {
            let _ = write!(
                out,
                "<section class=\"impact-axis\" aria-labelledby=\"axe-sorties\"><h2 id=\"axe-sorties\">{}</h2><table class=\"impact-table\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
                lang.t(Word::Exits),
                lang.t(Word::Node),
                lang.t(Word::Reached),
                lang.t(Word::LeftHere)
            );
            for exit in &self.exits {
                let _ = write!(
                    out,
                    "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>",
                    escape(&exit.node),
                    exit.reached.text(lang),
                    exit.left_here.text(lang)
                );
            }
            out.push_str("</tbody></table></section>\n");
        }
        out.push_str("</div>\n");
        out
    }

    /// One file to keep, mail or print to PDF: no script, nothing fetched.
    fn html(&self) -> String {
        let lang = self.lang;
        format!(
            "<!doctype html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title} — {range}</title>\n<style>{STYLE}</style></head>\n<body><main><h1>{title}</h1>\n{body}</main></body></html>\n",
            code = lang.code(),
            title = escape(lang.t(Word::Title)),
            range = escape(&self.range_text),
            body = self.body(),
        )
    }
}

fn cells(lang: Lang, current: Shown, previous: Shown, change: Option<i64>) -> String {
    format!(
        "<td>{}</td><td>{}</td><td>{}</td>",
        current.text(lang),
        previous.text(lang),
        change_text(lang, change)
    )
}

/// The change column: a signed number, or a dash when one side is not shown exactly.
fn change_text(lang: Lang, change: Option<i64>) -> String {
    change.map_or_else(|| "—".to_string(), |value| lang.change(value))
}

/// The standalone report's look: readable on screen, black on white when printed, tables
/// that break between rows, charts that keep their hatching in grey.
const STYLE: &str = "body{font-family:system-ui,sans-serif;color:#111;background:#fff;margin:0}main{max-width:52rem;margin:2rem auto;padding:0 1rem}h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:2px solid #1d3557;padding-bottom:.2rem}table{border-collapse:collapse;margin:1rem 0;width:100%}caption{text-align:left;font-weight:600;padding:.3rem 0}th,td{border:1px solid #888;padding:.3rem .6rem;text-align:left}thead th:not(:first-child){width:1%;white-space:nowrap}td{text-align:right;font-variant-numeric:tabular-nums}figure{margin:1.5rem 0}figcaption{font-weight:600}.chart-summary{font-size:.9rem}.impact-notes{font-size:.9rem;color:#333}@media print{main{margin:0;max-width:none}section{break-inside:auto}tr,figure{break-inside:avoid}h2{break-after:avoid}}";
