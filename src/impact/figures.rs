//! The figures of a report, computed from the daily counters of the store: the plan's
//! axes for a range and the one before it, the breakdown by unit, where youths leave, and
//! the raw table. Every number goes through one disclosure check: counts from 1 to 4 are
//! shown as "< 5", and wherever a total is published, enough other counts are hidden
//! ("x") that no small count can be found again by subtracting the shown ones from it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::range::{Range, Unit};
use super::words::{Lang, Word};
use super::SUPPRESS_BELOW;
use crate::store::{Store, StoreError};

/// A count as a report shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// 0, or 5 and more.
    Exact(u64),
    /// From 1 to 4: "< 5".
    Small,
    /// Hidden so that a small count cannot be found by subtraction: "x".
    Masked,
}

impl Shown {
    pub(crate) fn exact(self) -> Option<u64> {
        match self {
            Shown::Exact(value) => Some(value),
            _ => None,
        }
    }

    pub(crate) fn text(self, lang: Lang) -> String {
        match self {
            Shown::Exact(value) => lang.number(value),
            Shown::Small => "< 5".into(),
            Shown::Masked => "x".into(),
        }
    }
}

impl Serialize for Shown {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Shown::Exact(value) => serializer.serialize_u64(*value),
            Shown::Small => serializer.serialize_str("< 5"),
            Shown::Masked => serializer.serialize_str("x"),
        }
    }
}

/// The change from the previous period, when both counts are shown exactly.
pub(crate) fn change(current: Shown, previous: Shown) -> Option<i64> {
    Some(current.exact()? as i64 - previous.exact()? as i64)
}

/// Metrics whose labels add up to a meaningful total that the report publishes.
const SUMMED: &[&str] = &[
    "sessions_started",
    "handoffs_requested",
    "handoffs_answered",
    "handoffs_unavailable",
    "handoffs_timed_out",
    "wait_time",
    "outcomes",
    "resources_shown",
    "urgent_triggers",
    "handoffs_escalated",
    "handoffs_paged",
    "handoffs_refused",
];

/// The theme the First Nations and Inuit path sets, and the resources made for them.
const INDIGENOUS_THEME: &str = "autochtones";
const INDIGENOUS_RESOURCES: &[&str] = &["espoir_mieux_etre"];

/// The nodes a youth reaches by answering "Est-ce que ça t'a aidé ?", in the order shown.
pub(crate) const FEEDBACK_NODES: &[&str] = &["fin_aide_oui", "fin_aide_un_peu", "fin_aide_non"];

/// The whole report, in one language. JSON keys are stable English words (documented in
/// docs/protocol.md); titles are in the report's language.
#[derive(Debug, Serialize)]
pub struct Report {
    pub lang: Lang,
    pub unit: Unit,
    pub from: String,
    pub to: String,
    pub previous_from: String,
    pub previous_to: String,
    /// "du 1er oct. 2026 au 31 déc. 2026".
    pub range_text: String,
    pub previous_text: String,
    pub axes: Vec<Axis>,
    pub by_period: Vec<PeriodRow>,
    pub exits: Vec<Exit>,
    /// Every counter over the range, by metric and label.
    pub totals: Vec<Total>,
    /// Every counter by unit (the unit's first day), metric and label.
    pub rows: Vec<Row>,
    #[serde(skip)]
    pub range: Range,
}

#[derive(Debug, Serialize)]
pub struct Axis {
    pub key: &'static str,
    pub title: &'static str,
    pub about: &'static str,
    pub figures: Vec<Figure>,
    pub tables: Vec<Table>,
}

#[derive(Debug, Serialize)]
pub struct Figure {
    pub key: &'static str,
    pub title: &'static str,
    pub current: Shown,
    pub previous: Shown,
    pub change: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct Table {
    pub key: &'static str,
    pub title: &'static str,
    pub rows: Vec<TableRow>,
}

#[derive(Debug, Serialize)]
pub struct TableRow {
    /// The counter's label as stored (a theme, a resource key…).
    pub key: String,
    /// Its name in the report's language.
    pub label: String,
    pub current: Shown,
    pub previous: Shown,
    pub change: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct PeriodRow {
    pub period: String,
    pub name: String,
    pub conversations: Shown,
    pub requests: Shown,
}

#[derive(Debug, Serialize)]
pub struct Exit {
    pub node: String,
    pub reached: Shown,
    pub left_here: Shown,
}

#[derive(Debug, Serialize)]
pub struct Total {
    pub metric: String,
    pub label: String,
    pub count: Shown,
}

#[derive(Debug, Serialize)]
pub struct Row {
    pub period: String,
    pub metric: String,
    pub label: String,
    pub count: Shown,
}

impl Report {
    /// Reads the counters of `range` and of the period before it.
    pub fn build(store: &Store, range: Range, lang: Lang) -> Result<Self, StoreError> {
        let now = Side::read(store, range)?;
        let before = Side::read(store, range.previous())?;
        let previous = range.previous();
        let axes = axes(&now, &before, lang);
        let units = range.units();
        let by_period = units
            .iter()
            .enumerate()
            .map(|(index, (first, _))| PeriodRow {
                period: Range::key(*first),
                name: range.unit_name(*first, lang),
                conversations: now.unit_sum(index, "sessions_started"),
                requests: now.unit_sum(index, "handoffs_requested"),
            })
            .collect();
        Ok(Self {
            lang,
            unit: range.unit,
            from: Range::key(range.first),
            to: Range::key(range.last),
            previous_from: Range::key(previous.first),
            previous_to: Range::key(previous.last),
            range_text: range.describe(lang),
            previous_text: previous.describe(lang),
            axes,
            by_period,
            exits: now.exits(),
            totals: now
                .labels()
                .map(|(metric, label)| Total {
                    metric: metric.clone(),
                    label: label.clone(),
                    count: now.total(metric, label),
                })
                .collect(),
            rows: now.rows(&units),
            range,
        })
    }
}

fn axes(now: &Side, before: &Side, lang: Lang) -> Vec<Axis> {
    let figure = |key: &'static str, word: Word, current: Shown, previous: Shown| Figure {
        key,
        title: lang.t(word),
        current,
        previous,
        change: change(current, previous),
    };
    let sum = |key: &'static str, word: Word, metric: &str| {
        figure(key, word, now.sum(metric), before.sum(metric))
    };
    let table = |key: &'static str, word: Word, metric: &str, only: Option<&[&str]>| {
        // The labels given, in their order; or every label either period counted.
        let labels: Vec<String> = match only {
            Some(only) => only.iter().map(|label| label.to_string()).collect(),
            None => now
                .labels_of(metric)
                .chain(before.labels_of(metric))
                .collect::<BTreeSet<String>>()
                .into_iter()
                .collect(),
        };
        let mut rows: Vec<TableRow> = labels
            .into_iter()
            .map(|label| {
                let current = now.total(metric, &label);
                let previous = before.total(metric, &label);
                TableRow {
                    label: lang.label(metric, &label),
                    key: label,
                    current,
                    previous,
                    change: change(current, previous),
                }
            })
            .filter(|row| {
                only.is_some() || row.current != Shown::Exact(0) || row.previous != Shown::Exact(0)
            })
            .collect();
        if only.is_none() {
            // Largest first; hidden counts after the shown ones, in label order.
            rows.sort_by(|a, b| {
                let rank = |s: Shown| s.exact().map_or(0, |v| v + 1);
                rank(b.current)
                    .cmp(&rank(a.current))
                    .then(a.label.cmp(&b.label))
            });
        }
        Table {
            key,
            title: lang.t(word),
            rows,
        }
    };
    vec![
        Axis {
            key: "awareness",
            title: lang.t(Word::AxisAwareness),
            about: lang.t(Word::AxisAwarenessAbout),
            figures: vec![
                sum("conversations", Word::Conversations, "sessions_started"),
                sum("resources_shown", Word::ResourcesShown, "resources_shown"),
                sum(
                    "urgent_recognised",
                    Word::UrgentRecognised,
                    "urgent_triggers",
                ),
            ],
            tables: vec![
                table(
                    "conversations_by_language",
                    Word::ConversationsByLanguage,
                    "sessions_started",
                    None,
                ),
                table("themes", Word::ThemesReached, "themes", None),
                table("resources", Word::ResourcesShown, "resources_shown", None),
            ],
        },
        Axis {
            key: "help",
            title: lang.t(Word::AxisHelp),
            about: lang.t(Word::AxisHelpAbout),
            figures: vec![
                sum("requests", Word::Requests, "handoffs_requested"),
                sum("answered", Word::Answered, "handoffs_answered"),
                sum("unavailable", Word::Unavailable, "handoffs_unavailable"),
                sum("long_waits", Word::LongWaits, "handoffs_timed_out"),
                sum("escalated", Word::Escalated, "handoffs_escalated"),
                sum("paged", Word::Paged, "handoffs_paged"),
                figure(
                    "reports_made",
                    Word::ReportsMade,
                    now.total("reports", "submitted"),
                    before.total("reports", "submitted"),
                ),
            ],
            tables: vec![
                table(
                    "requests_by_urgency",
                    Word::RequestsByUrgency,
                    "handoffs_requested",
                    Some(&["urgent", "normal"]),
                ),
                table("wait_times", Word::WaitTimes, "wait_time", None),
                table("outcomes", Word::Outcomes, "outcomes", None),
                table(
                    "refused",
                    Word::Refused,
                    "handoffs_refused",
                    Some(&["queue_full", "client_cap", "abusive"]),
                ),
                table(
                    "reports_followed_up",
                    Word::ReportsFollowedUp,
                    "reports",
                    Some(&["in_review", "forwarded", "closed"]),
                ),
            ],
        },
        Axis {
            key: "indigenous",
            title: lang.t(Word::AxisIndigenous),
            about: lang.t(Word::AxisIndigenousAbout),
            figures: vec![figure(
                "indigenous_reach",
                Word::IndigenousReach,
                now.total("themes", INDIGENOUS_THEME),
                before.total("themes", INDIGENOUS_THEME),
            )],
            tables: vec![table(
                "indigenous_resources",
                Word::IndigenousResources,
                "resources_shown",
                Some(INDIGENOUS_RESOURCES),
            )],
        },
        Axis {
            key: "feedback",
            title: lang.t(Word::AxisFeedback),
            about: lang.t(Word::AxisFeedbackAbout),
            figures: Vec::new(),
            tables: vec![table(
                "feedback",
                Word::FeedbackAnswers,
                "nodes_reached",
                Some(FEEDBACK_NODES),
            )],
        },
    ]
}

/// Where a count sits: over the range, or in one unit of it; one label, or all of a metric's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Cell {
    Total(String, String),
    Sum(String),
    Unit(usize, String, String),
    UnitSum(usize, String),
}

/// The counters of one range, each with how it may be shown.
struct Side {
    values: BTreeMap<Cell, u64>,
    shown: HashMap<Cell, Shown>,
}

impl Side {
    fn read(store: &Store, range: Range) -> Result<Self, StoreError> {
        let units = range.units();
        let unit_of = |day: &str| -> Option<usize> {
            let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
            units
                .iter()
                .position(|(first, last)| *first <= date && date <= *last)
        };
        let mut values: BTreeMap<Cell, u64> = BTreeMap::new();
        for (day, metric, label, count) in
            store.counts(&Range::key(range.first), &Range::key(range.last))?
        {
            let Some(unit) = unit_of(&day) else { continue };
            let summed = SUMMED.contains(&metric.as_str());
            *values
                .entry(Cell::Total(metric.clone(), label.clone()))
                .or_insert(0) += count;
            *values
                .entry(Cell::Unit(unit, metric.clone(), label.clone()))
                .or_insert(0) += count;
            if summed {
                *values.entry(Cell::Sum(metric.clone())).or_insert(0) += count;
                *values
                    .entry(Cell::UnitSum(unit, metric.clone()))
                    .or_insert(0) += count;
            }
        }
        // Published unit sums exist for every unit (a unit with nothing is a shown 0).
        for metric in ["sessions_started", "handoffs_requested"] {
            for unit in 0..units.len() {
                values
                    .entry(Cell::UnitSum(unit, metric.into()))
                    .or_insert(0);
            }
        }
        let shown = protect(&values);
        Ok(Self { values, shown })
    }

    fn get(&self, cell: Cell) -> Shown {
        self.shown.get(&cell).copied().unwrap_or(Shown::Exact(0))
    }

    fn total(&self, metric: &str, label: &str) -> Shown {
        self.get(Cell::Total(metric.into(), label.into()))
    }

    fn sum(&self, metric: &str) -> Shown {
        self.get(Cell::Sum(metric.into()))
    }

    fn unit_sum(&self, unit: usize, metric: &str) -> Shown {
        self.get(Cell::UnitSum(unit, metric.into()))
    }

    fn labels(&self) -> impl Iterator<Item = (&String, &String)> {
        self.values.keys().filter_map(|cell| match cell {
            Cell::Total(metric, label) => Some((metric, label)),
            _ => None,
        })
    }

    fn labels_of<'a>(&'a self, metric: &'a str) -> impl Iterator<Item = String> + 'a {
        self.labels()
            .filter(move |(m, _)| m.as_str() == metric)
            .map(|(_, label)| label.clone())
    }

    fn rows(&self, units: &[(chrono::NaiveDate, chrono::NaiveDate)]) -> Vec<Row> {
        self.values
            .keys()
            .filter_map(|cell| match cell {
                Cell::Unit(unit, metric, label) => Some(Row {
                    period: Range::key(units[*unit].0),
                    metric: metric.clone(),
                    label: label.clone(),
                    count: self.get(cell.clone()),
                }),
                _ => None,
            })
            .collect()
    }

    /// Per node: how many reached it, and how many went no further (reached, less the
    /// transitions out of it), each shown with small counts suppressed.
    fn exits(&self) -> Vec<Exit> {
        let mut continued: BTreeMap<&str, u64> = BTreeMap::new();
        for (cell, count) in &self.values {
            if let Cell::Total(metric, label) = cell {
                if metric == "transitions" {
                    if let Some((from, _)) = label.split_once(" -> ") {
                        *continued.entry(from).or_insert(0) += count;
                    }
                }
            }
        }
        let mut exits: Vec<Exit> = self
            .values
            .iter()
            .filter_map(|(cell, reached)| match cell {
                Cell::Total(metric, node) if metric == "nodes_reached" => {
                    let left =
                        reached.saturating_sub(continued.get(node.as_str()).copied().unwrap_or(0));
                    Some(Exit {
                        node: node.clone(),
                        reached: self.get(cell.clone()),
                        left_here: primary(left),
                    })
                }
                _ => None,
            })
            .collect();
        exits.sort_by(|a, b| {
            let rank = |s: Shown| s.exact().map_or(0, |v| v + 1);
            rank(b.left_here)
                .cmp(&rank(a.left_here))
                .then(a.node.cmp(&b.node))
        });
        exits
    }
}

/// A count on its own: "< 5" from 1 to 4.
fn primary(value: u64) -> Shown {
    if value > 0 && value < SUPPRESS_BELOW {
        Shown::Small
    } else {
        Shown::Exact(value)
    }
}

/// Decides how each count is shown. First every count from 1 to 4 is "< 5". Then, for
/// every group of counts whose total the report shows (a metric's labels and its total;
/// one label's units and its total over the range; a metric's units and its total),
/// while a single count of the group is hidden, or the hidden ones add up to less than
/// 5, the smallest shown count of the group is hidden too (or, when none is left, the
/// total). Hiding only grows, so this ends; it repeats until no group changes, because
/// a cell sits in two groups.
fn protect(values: &BTreeMap<Cell, u64>) -> HashMap<Cell, Shown> {
    let mut shown: HashMap<Cell, Shown> = values
        .iter()
        .map(|(cell, value)| (cell.clone(), primary(*value)))
        .collect();
    // Keyed by the total the group adds up to, and which of its groups this is.
    let mut groups: BTreeMap<(Cell, u8), Vec<Cell>> = BTreeMap::new();
    for cell in values.keys() {
        match cell {
            Cell::Total(metric, _) if SUMMED.contains(&metric.as_str()) => {
                groups
                    .entry((Cell::Sum(metric.clone()), 0))
                    .or_default()
                    .push(cell.clone());
            }
            Cell::Unit(unit, metric, label) => {
                groups
                    .entry((Cell::Total(metric.clone(), label.clone()), 0))
                    .or_default()
                    .push(cell.clone());
                if SUMMED.contains(&metric.as_str()) {
                    groups
                        .entry((Cell::UnitSum(*unit, metric.clone()), 0))
                        .or_default()
                        .push(cell.clone());
                }
            }
            Cell::UnitSum(_, metric) => {
                groups
                    .entry((Cell::Sum(metric.clone()), 1))
                    .or_default()
                    .push(cell.clone());
            }
            _ => {}
        }
    }
    loop {
        let mut changed = false;
        for ((total, _), members) in &groups {
            // A total that is itself hidden tells nothing to subtract from.
            if !matches!(shown.get(total), Some(Shown::Exact(_))) {
                continue;
            }
            loop {
                let hidden: Vec<u64> = members
                    .iter()
                    .filter(|cell| !matches!(shown[*cell], Shown::Exact(_)))
                    .map(|cell| values[cell])
                    .collect();
                let hidden_sum: u64 = hidden.iter().sum();
                let exposed = hidden.len() == 1 || (hidden_sum > 0 && hidden_sum < SUPPRESS_BELOW);
                if !exposed {
                    break;
                }
                let smallest = members
                    .iter()
                    .filter(|cell| matches!(shown[*cell], Shown::Exact(v) if v > 0))
                    .min_by_key(|cell| (values[*cell], (*cell).clone()));
                let Some(smallest) = smallest else {
                    // Nothing left to hide beside them: the total itself would tell.
                    shown.insert(total.clone(), Shown::Masked);
                    changed = true;
                    break;
                };
                shown.insert(smallest.clone(), Shown::Masked);
                changed = true;
            }
        }
        if !changed {
            return shown;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(list: &[(Cell, u64)]) -> BTreeMap<Cell, u64> {
        list.iter().cloned().collect()
    }

    #[test]
    fn a_lone_small_count_takes_another_with_it() {
        let t = |l: &str| Cell::Total("sessions_started".into(), l.into());
        let values = cells(&[
            (t("fr"), 7),
            (t("en"), 3),
            (Cell::Sum("sessions_started".into()), 10),
        ]);
        let shown = protect(&values);
        assert_eq!(shown[&t("en")], Shown::Small);
        assert_eq!(shown[&t("fr")], Shown::Masked, "10 − 7 would give the 3");
        assert_eq!(
            shown[&Cell::Sum("sessions_started".into())],
            Shown::Exact(10)
        );
    }

    #[test]
    fn two_small_counts_that_add_up_to_five_or_more_need_nothing_more() {
        let t = |l: &str| Cell::Total("outcomes".into(), l.into());
        let values = cells(&[
            (t("resolved"), 9),
            (t("referred"), 3),
            (t("youth_left"), 4),
            (Cell::Sum("outcomes".into()), 16),
        ]);
        let shown = protect(&values);
        assert_eq!(shown[&t("resolved")], Shown::Exact(9));
        assert_eq!(shown[&t("referred")], Shown::Small);
        assert_eq!(shown[&t("youth_left")], Shown::Small);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Whatever the counts of three labels over three units, no hidden count can be
        /// found again from the shown ones: in every group whose total is shown, the
        /// hidden counts are none, or at least two that add up to 5 or more.
        #[test]
        fn no_hidden_count_is_left_alone_in_a_group(counts in proptest::collection::vec(0u64..12, 9)) {
            let metric = "sessions_started".to_string();
            let mut values = BTreeMap::new();
            for (index, count) in counts.iter().enumerate() {
                let (unit, label) = (index / 3, format!("l{}", index % 3));
                if *count == 0 {
                    continue;
                }
                values.insert(Cell::Unit(unit, metric.clone(), label.clone()), *count);
                *values.entry(Cell::Total(metric.clone(), label)).or_insert(0) += count;
                *values.entry(Cell::UnitSum(unit, metric.clone())).or_insert(0) += count;
                *values.entry(Cell::Sum(metric.clone())).or_insert(0) += count;
            }
            let shown = protect(&values);
            let groups: Vec<(Cell, Vec<Cell>)> = {
                let mut groups: Vec<(Cell, Vec<Cell>)> = Vec::new();
                let members = |test: &dyn Fn(&Cell) -> bool| values.keys().filter(|c| test(c)).cloned().collect::<Vec<_>>();
                groups.push((Cell::Sum(metric.clone()), members(&|c| matches!(c, Cell::Total(..)))));
                groups.push((Cell::Sum(metric.clone()), members(&|c| matches!(c, Cell::UnitSum(..)))));
                for unit in 0..3 {
                    groups.push((Cell::UnitSum(unit, metric.clone()), members(&|c| matches!(c, Cell::Unit(u, ..) if *u == unit))));
                }
                for label in 0..3 {
                    let label = format!("l{label}");
                    groups.push((Cell::Total(metric.clone(), label.clone()), members(&|c| matches!(c, Cell::Unit(_, _, l) if *l == label))));
                }
                groups
            };
            for (total, members) in groups {
                if !matches!(shown.get(&total), Some(Shown::Exact(_))) {
                    continue;
                }
                let hidden: Vec<u64> = members.iter().filter(|c| !matches!(shown[*c], Shown::Exact(_))).map(|c| values[c]).collect();
                prop_assert!(hidden.len() != 1, "one hidden count in the group of {total:?}: {hidden:?}");
                let sum: u64 = hidden.iter().sum();
                prop_assert!(sum == 0 || sum >= SUPPRESS_BELOW, "hidden counts adding up to {sum} in {total:?}");
            }
            for (cell, value) in &values {
                if *value > 0 && *value < SUPPRESS_BELOW {
                    prop_assert_ne!(shown[cell], Shown::Exact(*value));
                }
            }
        }
    }
}
