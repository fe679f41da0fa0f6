//! Impact reports from the anonymous daily counters: by day, week or month, as
//! Markdown, CSV, JSON or one self-contained HTML file with SVG charts. Every count
//! below 5 is shown as "< 5" (small-cell suppression), in the charts too.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Local, NaiveDate};
use serde::Serialize;

use crate::store::{Store, StoreError};

/// Counts below this are never shown exactly.
pub const SUPPRESS_BELOW: u64 = 5;

/// The day of a moment, in the server's time zone, as `YYYY-MM-DD`.
pub fn day_of(unix_secs: u64) -> String {
    DateTime::from_timestamp(unix_secs as i64, 0)
        .map(|t| t.with_timezone(&Local).format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "day" | "jour" => Some(Period::Day),
            "week" | "semaine" => Some(Period::Week),
            "month" | "mois" => Some(Period::Month),
            _ => None,
        }
    }

    /// The period a day belongs to: the day, its ISO week (`2026-W48`), or its month.
    fn of(self, day: &str) -> String {
        let Ok(date) = NaiveDate::parse_from_str(day, "%Y-%m-%d") else {
            return day.to_string();
        };
        match self {
            Period::Day => day.to_string(),
            Period::Week => {
                let week = date.iso_week();
                format!("{}-W{:02}", week.year(), week.week())
            }
            Period::Month => format!("{}-{:02}", date.year(), date.month()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Md,
    Csv,
    Json,
    Html,
}

impl Format {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "md" | "markdown" => Some(Format::Md),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "html" => Some(Format::Html),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Md => "text/markdown; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Html => "text/html; charset=utf-8",
        }
    }
}

/// A count as shown: exact from 5 on, "< 5" below (0 stays 0: it names nobody).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown(pub u64);

impl Shown {
    pub fn suppressed(self) -> bool {
        self.0 > 0 && self.0 < SUPPRESS_BELOW
    }

    /// The value for a chart: none when suppressed.
    fn chart(self) -> Option<f32> {
        (!self.suppressed()).then_some(self.0 as f32)
    }
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.suppressed() {
            f.write_str("< 5")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl Serialize for Shown {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.suppressed() {
            serializer.serialize_str("< 5")
        } else {
            serializer.serialize_u64(self.0)
        }
    }
}

/// The figures of a range of days.
#[derive(Debug, Serialize)]
pub struct Report {
    pub from: String,
    pub to: String,
    pub period: Period,
    /// Every count by period, metric and label (the raw table).
    pub rows: Vec<Row>,
    /// Totals over the whole range, by metric and label.
    pub totals: Vec<Total>,
    /// Per node: how many reached it, and how many left the chat there.
    pub exits: Vec<Exit>,
}

#[derive(Debug, Serialize)]
pub struct Row {
    pub period: String,
    pub metric: String,
    pub label: String,
    pub count: Shown,
}

#[derive(Debug, Serialize)]
pub struct Total {
    pub metric: String,
    pub label: String,
    pub count: Shown,
}

#[derive(Debug, Serialize)]
pub struct Exit {
    pub node: String,
    pub reached: Shown,
    pub left_here: Shown,
}

impl Report {
    /// Reads the counters of the days `from..=to` (`YYYY-MM-DD`).
    pub fn build(store: &Store, from: &str, to: &str, period: Period) -> Result<Self, StoreError> {
        let mut by_period: BTreeMap<(String, String, String), u64> = BTreeMap::new();
        let mut totals: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (day, metric, label, count) in store.counts(from, to)? {
            *by_period
                .entry((period.of(&day), metric.clone(), label.clone()))
                .or_insert(0) += count;
            *totals.entry((metric, label)).or_insert(0) += count;
        }
        let mut continued: BTreeMap<&str, u64> = BTreeMap::new();
        for ((metric, label), count) in &totals {
            if metric == "transitions" {
                if let Some((from_node, _)) = label.split_once(" -> ") {
                    *continued.entry(from_node).or_insert(0) += count;
                }
            }
        }
        let exits = totals
            .iter()
            .filter(|((metric, _), _)| metric == "nodes_reached")
            .map(|((_, node), reached)| {
                let went_on = continued.get(node.as_str()).copied().unwrap_or(0);
                Exit {
                    node: node.clone(),
                    reached: Shown(*reached),
                    left_here: Shown(reached.saturating_sub(went_on)),
                }
            })
            .collect();
        Ok(Self {
            from: from.into(),
            to: to.into(),
            period,
            rows: by_period
                .into_iter()
                .map(|((period, metric, label), count)| Row {
                    period,
                    metric,
                    label,
                    count: Shown(count),
                })
                .collect(),
            totals: totals
                .into_iter()
                .map(|((metric, label), count)| Total {
                    metric,
                    label,
                    count: Shown(count),
                })
                .collect(),
            exits,
        })
    }

    fn total(&self, metric: &str, label: &str) -> Shown {
        Shown(
            self.totals
                .iter()
                .find(|t| t.metric == metric && t.label == label)
                .map_or(0, |t| t.count.0),
        )
    }

    fn sum(&self, metric: &str) -> Shown {
        Shown(
            self.totals
                .iter()
                .filter(|t| t.metric == metric)
                .map(|t| t.count.0)
                .sum(),
        )
    }

    fn of_metric(&self, metric: &str) -> Vec<&Total> {
        let mut list: Vec<&Total> = self.totals.iter().filter(|t| t.metric == metric).collect();
        list.sort_by(|a, b| b.count.0.cmp(&a.count.0).then(a.label.cmp(&b.label)));
        list
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Md => self.markdown(),
            Format::Csv => self.csv(),
            Format::Json => serde_json::to_string_pretty(self).expect("reports serialize"),
            Format::Html => self.html(),
        }
    }

    /// The summary a manager can paste into a quarterly report.
    fn summary_lines(&self) -> Vec<String> {
        vec![
            format!(
                "{} conversations started ({} in French, {} in English).",
                self.sum("sessions_started"),
                self.total("sessions_started", "fr"),
                self.total("sessions_started", "en")
            ),
            format!(
                "{} requests for a person ({} urgent); {} answered by an intervenor; {} told nobody was on call at once; {} waited past the long-wait notice.",
                self.sum("handoffs_requested"),
                self.total("handoffs_requested", "urgent"),
                self.sum("handoffs_answered"),
                self.sum("handoffs_unavailable"),
                self.sum("handoffs_timed_out")
            ),
            format!(
                "{} urgent messages recognized (danger, threats, self-harm); {} help resources shown.",
                self.sum("urgent_triggers"),
                self.sum("resources_shown")
            ),
        ]
    }

    fn markdown(&self) -> String {
        let mut out = format!("# relais — impact report, {} to {}\n\n", self.from, self.to);
        out.push_str(&format!(
            "Counts below {SUPPRESS_BELOW} are shown as \"< 5\" so that no one can be singled out. Figures are anonymous daily aggregates; relais keeps no per-conversation record.\n\n## Summary\n\n"
        ));
        for line in self.summary_lines() {
            out.push_str(&format!("- {line}\n"));
        }
        let table = |out: &mut String, title: &str, header: &str, rows: Vec<(String, Shown)>| {
            if rows.is_empty() {
                return;
            }
            out.push_str(&format!(
                "\n## {title}\n\n| {header} | count |\n|---|---:|\n"
            ));
            for (label, count) in rows {
                out.push_str(&format!("| {label} | {count} |\n"));
            }
        };
        let by_label = |metric: &str| -> Vec<(String, Shown)> {
            self.of_metric(metric)
                .into_iter()
                .map(|t| (t.label.clone(), t.count))
                .collect()
        };
        table(
            &mut out,
            "Conversations by language",
            "language",
            by_label("sessions_started"),
        );
        table(
            &mut out,
            "Requests for a person",
            "urgency",
            by_label("handoffs_requested"),
        );
        table(
            &mut out,
            "Answered by an intervenor",
            "urgency",
            by_label("handoffs_answered"),
        );
        table(
            &mut out,
            "Nobody on call at once",
            "urgency",
            by_label("handoffs_unavailable"),
        );
        table(
            &mut out,
            "Long waits",
            "urgency",
            by_label("handoffs_timed_out"),
        );
        table(
            &mut out,
            "Time to reach a person",
            "urgency | wait",
            by_label("wait_time"),
        );
        table(&mut out, "Outcomes", "outcome", by_label("outcomes"));
        table(
            &mut out,
            "Requests for a person refused after an abusive conversation",
            "reason",
            by_label("handoffs_refused"),
        );
        table(&mut out, "Themes reached", "theme", by_label("themes"));
        table(
            &mut out,
            "Resources shown",
            "resource",
            by_label("resources_shown"),
        );
        if !self.exits.is_empty() {
            out.push_str("\n## Where youths leave\n\n| node | reached | left the chat there |\n|---|---:|---:|\n");
            for exit in &self.exits {
                out.push_str(&format!(
                    "| {} | {} | {} |\n",
                    exit.node, exit.reached, exit.left_here
                ));
            }
        }
        let periods = self.periods();
        if !periods.is_empty() {
            out.push_str(&format!(
                "\n## By {}\n\n| period | conversations | requests for a person | urgent |\n|---|---:|---:|---:|\n",
                match self.period {
                    Period::Day => "day",
                    Period::Week => "week",
                    Period::Month => "month",
                }
            ));
            for period in periods {
                out.push_str(&format!(
                    "| {period} | {} | {} | {} |\n",
                    self.in_period(&period, "sessions_started", None),
                    self.in_period(&period, "handoffs_requested", None),
                    self.in_period(&period, "handoffs_requested", Some("urgent"))
                ));
            }
        }
        out
    }

    fn periods(&self) -> Vec<String> {
        let mut periods: Vec<String> = self.rows.iter().map(|r| r.period.clone()).collect();
        periods.dedup();
        periods.sort();
        periods.dedup();
        periods
    }

    fn in_period(&self, period: &str, metric: &str, label: Option<&str>) -> Shown {
        Shown(
            self.rows
                .iter()
                .filter(|r| {
                    r.period == period && r.metric == metric && label.is_none_or(|l| r.label == l)
                })
                .map(|r| r.count.0)
                .sum(),
        )
    }

    fn csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let _ = writer.write_record(["period", "metric", "label", "count"]);
        for row in &self.rows {
            let _ = writer.write_record([
                row.period.as_str(),
                row.metric.as_str(),
                row.label.as_str(),
                &row.count.to_string(),
            ]);
        }
        String::from_utf8_lossy(&writer.into_inner().unwrap_or_default()).into_owned()
    }

    fn html(&self) -> String {
        let markdown_free = self
            .summary_lines()
            .iter()
            .map(|l| format!("<li>{}</li>", escape(l)))
            .collect::<String>();
        let periods = self.periods();
        let langs: Vec<String> = self
            .of_metric("sessions_started")
            .iter()
            .map(|t| t.label.clone())
            .collect();
        let series: Vec<(String, Vec<Shown>)> = langs
            .iter()
            .map(|lang| {
                (
                    lang.clone(),
                    periods
                        .iter()
                        .map(|p| self.in_period(p, "sessions_started", Some(lang)))
                        .collect(),
                )
            })
            .collect();
        let top = |metric: &str| -> (Vec<String>, Vec<(String, Vec<Shown>)>) {
            let list = self.of_metric(metric);
            let labels: Vec<String> = list.iter().take(12).map(|t| t.label.clone()).collect();
            let values: Vec<Shown> = list.iter().take(12).map(|t| t.count).collect();
            (labels, vec![(metric.to_string(), values)])
        };
        let (theme_labels, theme_series) = top("themes");
        let (wait_labels, wait_series) = top("wait_time");
        let mut exits: Vec<&Exit> = self.exits.iter().collect();
        exits.sort_by_key(|e| std::cmp::Reverse(e.left_here.0));
        let exit_labels: Vec<String> = exits.iter().take(12).map(|e| e.node.clone()).collect();
        let exit_series = vec![(
            "left the chat there".to_string(),
            exits.iter().take(12).map(|e| e.left_here).collect(),
        )];
        let charts = [
            chart("Conversations by period and language", periods, series),
            chart("Themes reached", theme_labels, theme_series),
            chart("Time to reach a person", wait_labels, wait_series),
            chart("Where youths leave the chat", exit_labels, exit_series),
        ]
        .concat();
        let body = markdown_to_tables(&self.markdown());
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>relais — impact report {from} to {to}</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}}figure{{margin:2rem 0}}figcaption{{font-weight:600}}</style></head>\n<body><h1>relais — impact report, {from} to {to}</h1>\n<p>Counts below 5 are shown as \"&lt; 5\" and left out of the charts, so that no one can be singled out.</p>\n<ul>{markdown_free}</ul>\n{charts}\n{body}\n</body></html>\n",
            from = escape(&self.from),
            to = escape(&self.to),
        )
    }
}

/// One SVG bar chart; suppressed values are gaps, named in a note under it.
fn chart(title: &str, labels: Vec<String>, series: Vec<(String, Vec<Shown>)>) -> String {
    if labels.is_empty() || series.is_empty() {
        return String::new();
    }
    let suppressed: Vec<String> = series
        .iter()
        .flat_map(|(name, values)| {
            values
                .iter()
                .zip(&labels)
                .filter(|(v, _)| v.suppressed())
                .map(move |(_, label)| format!("{label} ({name})"))
        })
        .collect();
    let list = series
        .into_iter()
        .map(|(name, values)| {
            charts_rs::Series::new_nullable(name, values.into_iter().map(Shown::chart).collect())
        })
        .collect();
    let mut bar = charts_rs::BarChart::new(list, labels);
    bar.width = 760.0;
    bar.height = 360.0;
    bar.title.text = title.to_string();
    let svg = bar.svg().unwrap_or_default();
    let note = if suppressed.is_empty() {
        String::new()
    } else {
        format!(
            "<p>&lt; 5, not drawn: {}</p>",
            escape(&suppressed.join(", "))
        )
    };
    format!(
        "<figure><figcaption>{}</figcaption>{svg}{note}</figure>\n",
        escape(title)
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The Markdown report's tables and headings as HTML (the only Markdown it has).
fn markdown_to_tables(markdown: &str) -> String {
    let mut html = String::new();
    let mut in_table = false;
    for line in markdown.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            html.push_str(&format!("<h2>{}</h2>\n", escape(heading)));
        } else if line.starts_with('|') {
            if line.starts_with("|---") {
                continue;
            }
            if !in_table {
                html.push_str("<table>\n");
                in_table = true;
            }
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            html.push_str("<tr>");
            for cell in cells {
                html.push_str(&format!("<td>{}</td>", escape(cell)));
            }
            html.push_str("</tr>\n");
            continue;
        }
        if in_table && !line.starts_with('|') {
            html.push_str("</table>\n");
            in_table = false;
        }
    }
    if in_table {
        html.push_str("</table>\n");
    }
    html
}
