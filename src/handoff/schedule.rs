//! The on-call schedule: opening hours per weekday and dated exceptions (holidays,
//! closures, special hours), in the organisation's time zone (jiff, with the time-zone
//! database bundled, so it works without `/usr/share/zoneinfo`), and what it lets
//! relais say: the "next opening" sentence a youth reads when nobody is available,
//! the week the console shows, and when a shift starts or ends (auto on call).

use std::collections::BTreeMap;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::config::ScheduleConfig;
use crate::messages::{say, Text};

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("handoff.schedule.time_zone: unknown time zone \"{0}\"")]
    TimeZone(String),
    #[error("handoff.schedule.{field}: \"{value}\" is not hours like \"18:00-23:00\"")]
    Hours { field: String, value: String },
    #[error("handoff.schedule.exceptions: \"{0}\" is not like \"2026-12-25 closed\" or \"2026-12-24 12:00-16:00\"")]
    Exception(String),
}

/// Opening hours on one day, in minutes after midnight; an end at or before the
/// start runs past midnight into the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u16,
    pub end: u16,
}

/// An opening, as instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opening {
    pub start_ms: i64,
    pub end_ms: i64,
    /// The local date it starts on.
    date: Date,
}

/// A day (or a date) and its hours, in words.
pub(crate) type DayHours = (String, String);

#[derive(Debug, Clone)]
pub struct Schedule {
    tz: TimeZone,
    /// Monday first.
    week: [Vec<Span>; 7],
    exceptions: BTreeMap<Date, Vec<Span>>,
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl Schedule {
    pub(crate) fn from_config(config: &ScheduleConfig) -> Result<Self, ScheduleError> {
        let tz = TimeZone::get(&config.time_zone)
            .map_err(|_| ScheduleError::TimeZone(config.time_zone.clone()))?;
        let texts = [
            &config.monday,
            &config.tuesday,
            &config.wednesday,
            &config.thursday,
            &config.friday,
            &config.saturday,
            &config.sunday,
        ];
        let mut week: [Vec<Span>; 7] = Default::default();
        for (index, text) in texts.iter().enumerate() {
            week[index] = parse_spans(text).ok_or_else(|| ScheduleError::Hours {
                field: DAYS[index].into(),
                value: text.to_string(),
            })?;
        }
        let mut exceptions = BTreeMap::new();
        for text in &config.exceptions {
            let bad = || ScheduleError::Exception(text.clone());
            let (date, rest) = text.trim().split_once(' ').ok_or_else(bad)?;
            let date: Date = date.parse().map_err(|_| bad())?;
            let rest = rest.trim();
            let spans = if rest.eq_ignore_ascii_case("closed") || rest == "fermé" {
                Vec::new()
            } else {
                parse_spans(rest)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(bad)?
            };
            exceptions.insert(date, spans);
        }
        Ok(Self {
            tz,
            week,
            exceptions,
        })
    }

    /// No hours at all: relais then says only the free-text usual hours, if any.
    pub(crate) fn is_empty(&self) -> bool {
        self.week.iter().all(Vec::is_empty) && self.exceptions.values().all(Vec::is_empty)
    }

    fn spans_on(&self, date: Date) -> &[Span] {
        match self.exceptions.get(&date) {
            Some(spans) => spans,
            None => &self.week[weekday_index(date.weekday())],
        }
    }

    fn local_date(&self, now_ms: i64) -> Date {
        Timestamp::from_millisecond(now_ms)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned_datetime(self.tz.clone())
            .date()
    }

    /// The instant a local time on a date is (a time a daylight-saving change skips
    /// moves forward, as the clocks do).
    fn instant(&self, date: Date, minutes: u16) -> i64 {
        let (day, minutes) = if minutes >= 24 * 60 {
            (date.tomorrow().unwrap_or(date), minutes - 24 * 60)
        } else {
            (date, minutes)
        };
        let time = Time::new((minutes / 60) as i8, (minutes % 60) as i8, 0, 0).unwrap_or(Time::MIN);
        day.to_datetime(time)
            .to_zoned_datetime(self.tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(0)
    }

    /// Openings starting from the day before `now` to `days` days after it, in order.
    pub(crate) fn openings(&self, now_ms: i64, days: i64) -> Vec<Opening> {
        let today = self.local_date(now_ms);
        let mut date = today.yesterday().unwrap_or(today);
        let mut openings = Vec::new();
        for _ in 0..days + 2 {
            for span in self.spans_on(date) {
                let end = if span.end <= span.start {
                    span.end + 24 * 60
                } else {
                    span.end
                };
                openings.push(Opening {
                    start_ms: self.instant(date, span.start),
                    end_ms: self.instant(date, end),
                    date,
                });
            }
            let Ok(next) = date.tomorrow() else { break };
            date = next;
        }
        openings.sort_by_key(|o| o.start_ms);
        openings
    }

    pub(crate) fn open_at(&self, now_ms: i64) -> bool {
        self.openings(now_ms, 1)
            .iter()
            .any(|o| o.start_ms <= now_ms && now_ms < o.end_ms)
    }

    /// The next opening that starts after `now`, within three weeks.
    pub(crate) fn next_opening(&self, now_ms: i64) -> Option<Opening> {
        self.openings(now_ms, 21)
            .into_iter()
            .find(|o| o.start_ms > now_ms)
    }

    /// Starts (`true`) and ends (`false`) of openings in `(from, to]`, in order.
    pub(crate) fn changes_between(&self, from_ms: i64, to_ms: i64) -> Vec<(i64, bool)> {
        let mut changes: Vec<(i64, bool)> = self
            .openings(from_ms, 2)
            .iter()
            .flat_map(|o| [(o.start_ms, true), (o.end_ms, false)])
            .filter(|(at, _)| *at > from_ms && *at <= to_ms)
            .collect();
        changes.sort();
        changes
    }

    /// What a youth reads when nobody is available: when a person is usually here
    /// and when the next opening is. `None` without a schedule.
    pub(crate) fn sentence(&self, lang: &str, now_ms: i64) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        if self.open_at(now_ms) {
            return Some(say(lang, Text::UsuallyHereNow).to_string());
        }
        let next = self.next_opening(now_ms)?;
        let hours = self.hours_words(lang, self.spans_on(next.date));
        let today = self.local_date(now_ms);
        let start = self.local_minutes(next.start_ms);
        let when = format!(
            "{} {}",
            day_words(lang, today, next.date),
            at_words(lang, start)
        );
        let sentence = format!(
            "{} {}",
            say(lang, Text::UsualHours).replace("{hours}", &hours),
            say(lang, Text::NextOpening).replace("{when}", &when)
        );
        // "6 p.m." ends a sentence with its own period.
        Some(sentence.replace("m..", "m."))
    }

    fn local_minutes(&self, ms: i64) -> u16 {
        let time = Timestamp::from_millisecond(ms)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned_datetime(self.tz.clone())
            .time();
        time.hour() as u16 * 60 + time.minute() as u16
    }

    fn hours_words(&self, lang: &str, spans: &[Span]) -> String {
        let parts: Vec<String> = spans
            .iter()
            .map(|s| {
                if lang == "en" {
                    format!("from {} to {}", clock_en(s.start), clock_en(s.end))
                } else {
                    format!("de {} à {}", clock_fr(s.start), clock_fr(s.end))
                }
            })
            .collect();
        parts.join(if lang == "en" { " and " } else { " et " })
    }

    /// The week as the console shows it: (day, hours) in the language, Monday first,
    /// then the exceptions to come.
    pub(crate) fn describe(&self, lang: &str, now_ms: i64) -> (Vec<DayHours>, Vec<DayHours>) {
        let week = (0..7)
            .map(|i| {
                let spans = &self.week[i];
                let hours = if spans.is_empty() {
                    closed_word(lang).to_string()
                } else {
                    self.hours_words(lang, spans)
                };
                (weekday_name(lang, i).to_string(), hours)
            })
            .collect();
        let today = self.local_date(now_ms);
        let exceptions = self
            .exceptions
            .iter()
            .filter(|(date, _)| **date >= today)
            .map(|(date, spans)| {
                let hours = if spans.is_empty() {
                    closed_word(lang).to_string()
                } else {
                    self.hours_words(lang, spans)
                };
                (date.to_string(), hours)
            })
            .collect();
        (week, exceptions)
    }

    pub(crate) fn time_zone(&self) -> &str {
        self.tz.iana_name().unwrap_or("UTC")
    }
}

fn parse_spans(text: &str) -> Option<Vec<Span>> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',')
        .map(|part| {
            let (start, end) = part.trim().split_once('-')?;
            Some(Span {
                start: parse_minutes(start)?,
                end: parse_minutes(end)?,
            })
        })
        .collect()
}

/// "18:00", "18h", "18 h 30", "24:00".
fn parse_minutes(text: &str) -> Option<u16> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (hours, minutes) = match text.split_once([':', 'h']) {
        Some((h, m)) => (h, if m.is_empty() { "0" } else { m }),
        None => (text.as_str(), "0"),
    };
    let hours: u16 = hours.parse().ok()?;
    let minutes: u16 = minutes.parse().ok()?;
    (hours < 24 && minutes < 60 || hours == 24 && minutes == 0).then_some(hours * 60 + minutes)
}

fn weekday_index(day: Weekday) -> usize {
    day.to_monday_zero_offset() as usize
}

fn weekday_name(lang: &str, index: usize) -> &'static str {
    const FR: [&str; 7] = [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    ];
    const EN: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    if lang == "en" {
        EN[index % 7]
    } else {
        FR[index % 7]
    }
}

fn month_name(lang: &str, month: i8) -> &'static str {
    const FR: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let index = (month.clamp(1, 12) - 1) as usize;
    if lang == "en" {
        EN[index]
    } else {
        FR[index]
    }
}

fn closed_word(lang: &str) -> &'static str {
    if lang == "en" {
        "closed"
    } else {
        "fermé"
    }
}

/// "aujourd'hui", "demain", "lundi" (this week), "le 26 décembre".
fn day_words(lang: &str, today: Date, date: Date) -> String {
    let days = (date - today).get_days();
    let en = lang == "en";
    match days {
        0 => (if en { "today" } else { "aujourd'hui" }).to_string(),
        1 => (if en { "tomorrow" } else { "demain" }).to_string(),
        2..=6 => weekday_name(lang, weekday_index(date.weekday())).to_string(),
        _ if en => format!("{} {}", month_name(lang, date.month()), date.day()),
        _ => {
            let day = if date.day() == 1 {
                "1er".to_string()
            } else {
                date.day().to_string()
            };
            format!("le {day} {}", month_name(lang, date.month()))
        }
    }
}

fn at_words(lang: &str, minutes: u16) -> String {
    if lang == "en" {
        format!("at {}", clock_en(minutes))
    } else {
        format!("à {}", clock_fr(minutes))
    }
}

/// 18 h, 18 h 30.
fn clock_fr(minutes: u16) -> String {
    let (h, m) = ((minutes / 60) % 24, minutes % 60);
    if m == 0 {
        format!("{h} h")
    } else {
        format!("{h} h {m:02}")
    }
}

/// 6 p.m., 6:30 p.m., midnight, noon.
fn clock_en(minutes: u16) -> String {
    let (h, m) = ((minutes / 60) % 24, minutes % 60);
    match (h, m) {
        (0, 0) => "midnight".into(),
        (12, 0) => "noon".into(),
        _ => {
            let suffix = if h < 12 { "a.m." } else { "p.m." };
            let h12 = if h % 12 == 0 { 12 } else { h % 12 };
            if m == 0 {
                format!("{h12} {suffix}")
            } else {
                format!("{h12}:{m:02} {suffix}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        text.parse::<jiff::ZonedDateTime>()
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    fn evenings() -> Schedule {
        Schedule::from_config(&ScheduleConfig {
            monday: "18:00-23:00".into(),
            tuesday: "18:00-23:00".into(),
            wednesday: "18:00-23:00".into(),
            thursday: "18:00-23:00".into(),
            friday: "18:00-23:00".into(),
            saturday: "".into(),
            sunday: "13:00-17:00".into(),
            exceptions: vec!["2026-12-25 closed".into(), "2026-12-24 12:00-16:00".into()],
            ..ScheduleConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn the_next_opening_is_said_in_french_and_english() {
        let s = evenings();
        // Tuesday 1 December 2026, 9:00 in Montréal.
        let now = at("2026-12-01T09:00[America/Toronto]");
        assert_eq!(
            s.sentence("fr", now).unwrap(),
            "Une personne est habituellement là de 18 h à 23 h. Prochaine ouverture : aujourd'hui à 18 h."
        );
        assert_eq!(
            s.sentence("en", now).unwrap(),
            "A person is usually here from 6 p.m. to 11 p.m. Next opening: today at 6 p.m."
        );
        // Friday 23:30: Saturday is closed, Sunday opens at 13 h.
        let friday_night = at("2026-12-04T23:30[America/Toronto]");
        assert_eq!(
            s.sentence("fr", friday_night).unwrap(),
            "Une personne est habituellement là de 13 h à 17 h. Prochaine ouverture : dimanche à 13 h."
        );
        let inside = at("2026-12-01T19:00[America/Toronto]");
        assert!(s.open_at(inside));
        assert_eq!(
            s.sentence("fr", inside).unwrap(),
            say("fr", Text::UsuallyHereNow)
        );
    }

    #[test]
    fn a_holiday_and_a_special_day_change_the_next_opening() {
        let s = evenings();
        // Thursday 24 December: special hours 12-16; Friday 25 closed; Saturday closed.
        let morning = at("2026-12-24T08:00[America/Toronto]");
        assert_eq!(
            s.sentence("fr", morning).unwrap(),
            "Une personne est habituellement là de 12 h à 16 h. Prochaine ouverture : aujourd'hui à 12 h."
        );
        let evening = at("2026-12-24T17:00[America/Toronto]");
        assert_eq!(
            s.sentence("en", evening).unwrap(),
            "A person is usually here from 1 p.m. to 5 p.m. Next opening: Sunday at 1 p.m."
        );
    }

    #[test]
    fn a_daylight_saving_change_keeps_local_hours() {
        let s = evenings();
        // Saturday 7 March 2026, 23:00 EST; clocks go forward on Sunday 8 March.
        let before = at("2026-03-07T23:00[America/Toronto]");
        let next = s.next_opening(before).unwrap();
        // Sunday 13:00 EDT is 17:00 UTC (it would be 18:00 UTC in winter).
        assert_eq!(next.start_ms, at("2026-03-08T17:00:00Z[UTC]"));
        assert_eq!(
            s.sentence("fr", before).unwrap(),
            "Une personne est habituellement là de 13 h à 17 h. Prochaine ouverture : demain à 13 h."
        );
        // And back in November: Monday 2 November 18:00 EST is 23:00 UTC.
        let sunday = at("2026-11-01T20:00[America/Toronto]");
        assert_eq!(
            s.next_opening(sunday).unwrap().start_ms,
            at("2026-11-02T23:00:00Z[UTC]")
        );
    }

    #[test]
    fn overnight_hours_and_far_openings() {
        let s = Schedule::from_config(&ScheduleConfig {
            friday: "22:00-02:00".into(),
            exceptions: vec!["2026-12-04 closed".into()],
            ..ScheduleConfig::default()
        })
        .unwrap();
        let saturday_one_am = at("2026-11-28T01:00[America/Toronto]");
        assert!(s.open_at(saturday_one_am));
        // Friday 4 December is closed: the next is Friday 11 December.
        let after = at("2026-11-28T03:00[America/Toronto]");
        assert_eq!(
            s.sentence("fr", after).unwrap(),
            "Une personne est habituellement là de 22 h à 2 h. Prochaine ouverture : le 11 décembre à 22 h."
        );
        assert!(Schedule::from_config(&ScheduleConfig {
            monday: "18-23".into(),
            ..ScheduleConfig::default()
        })
        .is_ok());
        assert!(Schedule::from_config(&ScheduleConfig {
            monday: "le soir".into(),
            ..ScheduleConfig::default()
        })
        .is_err());
        assert!(Schedule::from_config(&ScheduleConfig {
            time_zone: "Mars/Olympus".into(),
            ..ScheduleConfig::default()
        })
        .is_err());
    }
}
