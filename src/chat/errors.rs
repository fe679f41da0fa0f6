//! The error frames the chat sends, each built in one place, with its sentence in
//! the youth's language (`messages`). The transport and the conversation both use
//! these; neither builds a `Control::Error` by hand.

use std::time::Duration;

use crate::messages::{say, Text};
use crate::protocol::{Control, DecodeError, ErrorCode};

impl Control {
    /// An error frame: `code`, and the sentence for `text` in `lang`.
    pub(crate) fn said(lang: &str, code: ErrorCode, text: Text) -> Self {
        Control::error(code, say(lang, text))
    }

    /// Something failed on the server; `text` says what, for the youth.
    pub(crate) fn internal(lang: &str, text: Text) -> Self {
        Self::said(lang, ErrorCode::Internal, text)
    }

    /// Too many frames, sessions, requests for a person or look-ups: wait `wait`.
    pub(crate) fn rate_limited(lang: &str, wait: Duration) -> Self {
        Self::limited(lang, Text::RateLimited, wait)
    }

    /// Too many reports: wait `wait`.
    pub(crate) fn reports_limited(lang: &str, wait: Duration) -> Self {
        Self::limited(lang, Text::ReportsLimited, wait)
    }

    /// No room for one more socket (said before `hello`, so in French).
    pub(crate) fn server_busy() -> Self {
        Self::said(
            crate::flow::model::SOURCE_LANG,
            ErrorCode::ServerBusy,
            Text::ServerBusy,
        )
    }

    /// A frame the protocol could not read.
    pub(crate) fn unreadable(lang: &str, error: DecodeError) -> Self {
        let text = match error {
            DecodeError::NotJson => Text::BadJson,
            DecodeError::NotAnObject | DecodeError::NoType => Text::BadRequest,
            DecodeError::UnknownType => Text::UnknownType,
            DecodeError::MissingField => Text::MissingField,
        };
        Self::said(lang, ErrorCode::BadRequest, text)
    }

    fn limited(lang: &str, text: Text, wait: Duration) -> Self {
        Control::Error {
            code: ErrorCode::RateLimited,
            message: say(lang, text).into(),
            retry_after_ms: Some(wait.as_millis().max(1) as u64),
        }
    }
}
