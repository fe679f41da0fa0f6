//! Impact figures an organisation hands to its funder, from the anonymous daily counters
//! of [`crate::stats`]: organised by the axes of Québec's 2026-2029 action plan, each
//! figure beside the previous period's, in French (the default) or English, with no
//! count under 5 recoverable from what is shown.
//!
//! - [`range`]: the whole days, weeks, months, quarters or years a report covers;
//! - [`figures`]: the figures, and the one disclosure check every number goes through;
//! - [`render`]: Markdown, CSV, JSON, HTML and the console's HTML fragment;
//! - [`chart`]: the SVG bar chart; [`words`]: the report's words, numbers and dates.

mod chart;
pub(crate) mod figures;
pub(crate) mod range;
pub(crate) mod render;
pub(crate) mod words;

pub use figures::{Report, Shown};
pub use range::{Range, Unit};
pub use render::Format;
pub use words::Lang;

use chrono::{DateTime, Local, NaiveDate};

/// Counts below this are never shown exactly.
pub(crate) const SUPPRESS_BELOW: u64 = 5;

/// The day of a moment, in the server's time zone, as `YYYY-MM-DD` (how counters are keyed).
pub fn day_of(unix_secs: u64) -> String {
    DateTime::from_timestamp(unix_secs as i64, 0)
        .map(|t| t.with_timezone(&Local).format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".into())
}

/// What a caller asks for, as the CLI and the API take it (text, checked here).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub from: String,
    pub to: String,
    pub unit: String,
    pub format: String,
    pub lang: String,
}

/// Why a request cannot be answered: each a sentence for the person who asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum RequestError {
    #[error("« {0} » n’est pas une date (AAAA-MM-JJ) / is not a date (YYYY-MM-DD)")]
    Date(String),
    #[error("la période est day, week, month, quarter ou year / the period is day, week, month, quarter or year")]
    Unit,
    #[error("le format est md, csv, json, html ou fragment / the format is md, csv, json, html or fragment")]
    Format,
    #[error("la langue est fr ou en / the language is fr or en")]
    Lang,
}

impl Request {
    /// The range, format and language asked for, or the first thing wrong with it.
    pub(crate) fn parse(&self) -> Result<(Range, Format, Lang), RequestError> {
        let date = |text: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| RequestError::Date(text.into()))
        };
        let unit = Unit::parse(&self.unit).ok_or(RequestError::Unit)?;
        let format = Format::parse(&self.format).ok_or(RequestError::Format)?;
        let lang = Lang::parse(&self.lang).ok_or(RequestError::Lang)?;
        Ok((
            Range::covering(unit, date(&self.from)?, date(&self.to)?),
            format,
            lang,
        ))
    }
}
