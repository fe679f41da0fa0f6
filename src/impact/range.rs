//! The days a report covers: whole days, ISO weeks, months, quarters or years, the
//! same number of them just before (the previous period), and their names.
//!
//! A range always covers whole units of its breakdown: asked for 3 to 17 November by
//! month, it covers November. So two reports can only differ by whole units, each of
//! which the report itself shows with its small counts suppressed.

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

use super::words::{Lang, Word};

/// The unit a report breaks its range into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "day" | "jour" => Some(Unit::Day),
            "week" | "semaine" => Some(Unit::Week),
            "month" | "mois" => Some(Unit::Month),
            "quarter" | "trimestre" => Some(Unit::Quarter),
            "year" | "annee" | "année" => Some(Unit::Year),
            _ => None,
        }
    }

    pub(crate) fn word(self) -> Word {
        match self {
            Unit::Day => Word::Day,
            Unit::Week => Word::Week,
            Unit::Month => Word::Month,
            Unit::Quarter => Word::Quarter,
            Unit::Year => Word::Year,
        }
    }

    /// The first day of the unit that holds `day`.
    fn start_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Unit::Day => day,
            Unit::Week => day - Duration::days(day.weekday().num_days_from_monday() as i64),
            Unit::Month => first_of_month(day.year(), day.month()),
            Unit::Quarter => first_of_month(day.year(), (day.month() - 1) / 3 * 3 + 1),
            Unit::Year => first_of_month(day.year(), 1),
        }
    }

    /// The first day of the unit after the one that starts on `start`.
    fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Unit::Day => start + Duration::days(1),
            Unit::Week => start + Duration::days(7),
            Unit::Month => add_months(start, 1),
            Unit::Quarter => add_months(start, 3),
            Unit::Year => add_months(start, 12),
        }
    }

    /// The first day of the unit before the one that starts on `start`.
    fn previous(self, start: NaiveDate) -> NaiveDate {
        match self {
            Unit::Day => start - Duration::days(1),
            Unit::Week => start - Duration::days(7),
            Unit::Month => add_months(start, -1),
            Unit::Quarter => add_months(start, -3),
            Unit::Year => add_months(start, -12),
        }
    }
}

/// Whole units of days, first to last inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub unit: Unit,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Range {
    /// The smallest range of whole `unit`s that holds `from..=to` (in either order).
    pub fn covering(unit: Unit, from: NaiveDate, to: NaiveDate) -> Self {
        let (from, to) = if from <= to { (from, to) } else { (to, from) };
        let first = unit.start_of(from);
        let last = unit.next(unit.start_of(to)) - Duration::days(1);
        Self { unit, first, last }
    }

    /// As many units just before this range.
    pub(crate) fn previous(&self) -> Self {
        let count = self.units().len();
        let mut first = self.first;
        for _ in 0..count {
            first = self.unit.previous(first);
        }
        Self {
            unit: self.unit,
            first,
            last: self.first - Duration::days(1),
        }
    }

    /// The units of the range: (first day, last day) of each.
    pub(crate) fn units(&self) -> Vec<(NaiveDate, NaiveDate)> {
        let mut out = Vec::new();
        let mut start = self.first;
        while start <= self.last && out.len() < 4000 {
            let next = self.unit.next(start);
            out.push((start, next - Duration::days(1)));
            start = next;
        }
        out
    }

    /// The `YYYY-MM-DD` key of a day, as the counters store it.
    pub(crate) fn key(day: NaiveDate) -> String {
        day.format("%Y-%m-%d").to_string()
    }

    /// "du 1er oct. 2026 au 31 déc. 2026" / "Oct 1, 2026 to Dec 31, 2026".
    pub(crate) fn describe(&self, lang: Lang) -> String {
        if self.first == self.last {
            return lang.date(self.first);
        }
        match lang {
            Lang::Fr => format!("du {} au {}", lang.date(self.first), lang.date(self.last)),
            Lang::En => format!("{} to {}", lang.date(self.first), lang.date(self.last)),
        }
    }

    /// The name of one unit starting on `first`: "1er déc.", "sem. du 30 nov.",
    /// "oct. 2026", "T4 2026", "2026".
    pub(crate) fn unit_name(&self, first: NaiveDate, lang: Lang) -> String {
        match self.unit {
            Unit::Day => lang.day_month(first),
            Unit::Week => match lang {
                Lang::Fr => format!("sem. du {}", lang.day_month(first)),
                Lang::En => format!("week of {}", lang.day_month(first)),
            },
            Unit::Month => format!("{} {}", lang.month_short(first.month()), first.year()),
            Unit::Quarter => {
                let quarter = (first.month() - 1) / 3 + 1;
                match lang {
                    Lang::Fr => format!("T{quarter} {}", first.year()),
                    Lang::En => format!("Q{quarter} {}", first.year()),
                }
            }
            Unit::Year => first.year().to_string(),
        }
    }
}

fn first_of_month(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN)
}

fn add_months(start: NaiveDate, months: i32) -> NaiveDate {
    let index = start.year() * 12 + start.month0() as i32 + months;
    first_of_month(index.div_euclid(12), index.rem_euclid(12) as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_range_covers_whole_units_and_the_previous_one_as_many() {
        let quarter = Range::covering(Unit::Month, day("2026-10-14"), day("2026-12-02"));
        assert_eq!(
            (quarter.first, quarter.last),
            (day("2026-10-01"), day("2026-12-31"))
        );
        let before = quarter.previous();
        assert_eq!(
            (before.first, before.last),
            (day("2026-07-01"), day("2026-09-30"))
        );
        let week = Range::covering(Unit::Week, day("2026-12-02"), day("2026-12-02"));
        assert_eq!(
            (week.first, week.last),
            (day("2026-11-30"), day("2026-12-06"))
        );
        let q1 = Range::covering(Unit::Quarter, day("2027-02-10"), day("2027-02-10"));
        assert_eq!((q1.first, q1.last), (day("2027-01-01"), day("2027-03-31")));
        assert_eq!(q1.previous().first, day("2026-10-01"));
        assert_eq!(q1.unit_name(q1.first, Lang::Fr), "T1 2027");
        assert_eq!(
            quarter.describe(Lang::Fr),
            "du 1er oct. 2026 au 31 déc. 2026"
        );
    }
}
