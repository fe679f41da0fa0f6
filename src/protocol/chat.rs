//! The youth chat's frames (section 1 of the contract): what a youth's page sends,
//! decoded by hand so every mistake gets its error code, and what it is sent: the
//! conversation's frames ([`Event`], logged with a `seq`) and the ones that carry
//! none ([`Control`]).

use serde::{Deserialize, Serialize};

use super::ErrorCode;
use crate::flow::model::ResourceCard;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    pub token: String,
    #[serde(default)]
    pub last_seq: u64,
}

/// What a youth's page sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    Hello {
        lang: Option<String>,
        resume: Option<Resume>,
    },
    Choose {
        id: String,
    },
    Text {
        text: String,
    },
    /// Back to the start; `lang` (an extension) switches the language too.
    Restart {
        lang: Option<String>,
    },
    Forget,
    /// An addition: the youth is typing (no content); relayed to the holder only.
    Typing,
    /// An addition: switch the session's language without restarting (during a
    /// request for a person, so later notices come in that language).
    Lang {
        lang: String,
    },
}

/// Why a client frame could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    NotJson,
    NotAnObject,
    NoType,
    UnknownType,
    MissingField,
}

#[derive(Deserialize)]
struct HelloFields {
    lang: Option<String>,
    resume: Option<Resume>,
}

#[derive(Deserialize)]
struct ChooseFields {
    id: String,
}

#[derive(Deserialize)]
struct TextFields {
    text: String,
}

#[derive(Deserialize)]
struct LangFields {
    lang: String,
}

#[derive(Deserialize)]
struct RestartFields {
    lang: Option<String>,
}

/// Reads a youth's frame. Never panics; unknown fields are ignored. serde_json bounds
/// the nesting depth (128), so a deeply nested frame is refused, not followed.
pub fn decode_client_frame(text: &str) -> Result<ClientFrame, DecodeError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| DecodeError::NotJson)?;
    let object = value.as_object().ok_or(DecodeError::NotAnObject)?;
    let kind = object
        .get("type")
        .and_then(|t| t.as_str())
        .ok_or(DecodeError::NoType)?;
    let fields = || serde_json::Value::Object(object.clone());
    let missing = |_| DecodeError::MissingField;
    match kind {
        "hello" => {
            let f: HelloFields = serde_json::from_value(fields()).map_err(missing)?;
            Ok(ClientFrame::Hello {
                lang: f.lang,
                resume: f.resume,
            })
        }
        "choose" => {
            let f: ChooseFields = serde_json::from_value(fields()).map_err(missing)?;
            Ok(ClientFrame::Choose { id: f.id })
        }
        "text" => {
            let f: TextFields = serde_json::from_value(fields()).map_err(missing)?;
            Ok(ClientFrame::Text { text: f.text })
        }
        "restart" => {
            let f: RestartFields =
                serde_json::from_value(fields()).unwrap_or(RestartFields { lang: None });
            Ok(ClientFrame::Restart { lang: f.lang })
        }
        "forget" => Ok(ClientFrame::Forget),
        "typing" => Ok(ClientFrame::Typing),
        "lang" => {
            let f: LangFields = serde_json::from_value(fields()).map_err(missing)?;
            Ok(ClientFrame::Lang { lang: f.lang })
        }
        _ => Err(DecodeError::UnknownType),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceWire {
    pub id: String,
    pub label: String,
}

/// A resource card on the wire: `name`, `phone`, `text` (the number to text) and
/// `url` as in the contract; `key`, `text_body`, `hours` and `about` are additions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceWire {
    pub key: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
}

impl From<&ResourceCard> for ResourceWire {
    fn from(card: &ResourceCard) -> Self {
        Self {
            key: card.key.clone(),
            name: card.name.clone(),
            phone: card.phone.clone(),
            text: card.text.clone(),
            text_body: card.text_body.clone(),
            url: card.url.clone(),
            hours: card.hours.clone(),
            about: card.about.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffStatus {
    Waiting,
    Connected,
    Ended,
    Unavailable,
    /// An addition: the person holding the conversation lost their connection; the
    /// conversation is kept (what the youth writes waits for them).
    Away,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    None,
    Text,
    /// An addition: the text asked for is a report's follow-up code (a page masks it
    /// and keeps it out of its history); set when the node is a receipt lookup.
    Receipt,
}

/// A frame of the conversation; it gets its `seq` when it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Bot {
        text: String,
        html: String,
        choices: Vec<ChoiceWire>,
        input: InputKind,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        resources: Vec<ResourceWire>,
    },
    Handoff {
        status: HandoffStatus,
        urgent: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        position: Option<usize>,
        #[serde(skip_serializing_if = "Option::is_none")]
        resources: Option<Vec<ResourceWire>>,
        /// An addition: the intervenor's display name once connected.
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// An addition: a sentence to show with the status (unavailable, timeout, ended).
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    Agent {
        text: String,
        name: String,
        /// An addition: the message belonged to a conversation now closed and
        /// erased; `text` and `name` are empty.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        erased: bool,
        /// An addition: when it was written (ms since the epoch), for the page's times.
        #[serde(skip_serializing_if = "Option::is_none")]
        at: Option<u64>,
    },
    End {},
    /// An addition: the youth's own line during a conversation with a person, logged
    /// (sealed with the conversation's key) so a resumed page shows it again.
    Youth {
        text: String,
        /// When it was written (ms since the epoch).
        at: u64,
    },
}

impl From<&crate::flow::engine::BotMessage> for Event {
    fn from(bot: &crate::flow::engine::BotMessage) -> Self {
        Event::Bot {
            text: bot.text.to_string(),
            html: bot.html.to_string(),
            choices: bot
                .choices
                .iter()
                .map(|c| ChoiceWire {
                    id: c.id.clone(),
                    label: c.label.to_string(),
                })
                .collect(),
            input: if bot.asks_text {
                InputKind::Text
            } else {
                InputKind::None
            },
            resources: bot.resources.iter().map(ResourceWire::from).collect(),
        }
    }
}

#[derive(Serialize)]
struct Sequenced<'a> {
    seq: u64,
    #[serde(flatten)]
    event: &'a Event,
}

impl Event {
    /// What an intervenor's message of an erased conversation replays as.
    pub fn erased_agent_message() -> Self {
        Event::Agent {
            text: String::new(),
            name: String::new(),
            erased: true,
            at: None,
        }
    }

    /// `handoff` for a request in the queue: `waiting` with its position while
    /// someone is on call, `unavailable` (with resources) while nobody is.
    pub fn handoff_in_queue(
        available: bool,
        urgent: bool,
        position: Option<usize>,
        resources: Option<Vec<ResourceWire>>,
        message: Option<String>,
    ) -> Self {
        Event::Handoff {
            status: if available {
                HandoffStatus::Waiting
            } else {
                HandoffStatus::Unavailable
            },
            urgent,
            position,
            resources,
            name: None,
            message,
        }
    }

    /// `handoff` `connected`: a person holds the conversation.
    pub fn handoff_connected(urgent: bool, name: String, message: Option<String>) -> Self {
        Event::Handoff {
            status: HandoffStatus::Connected,
            urgent,
            position: None,
            resources: None,
            name: Some(name),
            message,
        }
    }

    /// `handoff` `away`: the person holding the conversation lost their connection.
    pub fn handoff_away(urgent: bool, name: String, message: String) -> Self {
        Event::Handoff {
            status: HandoffStatus::Away,
            urgent,
            position: None,
            resources: None,
            name: Some(name),
            message: Some(message),
        }
    }

    /// `handoff` `ended`, with what the youth can still reach.
    pub fn handoff_ended(urgent: bool, resources: Vec<ResourceWire>, message: String) -> Self {
        Event::Handoff {
            status: HandoffStatus::Ended,
            urgent,
            position: None,
            resources: Some(resources),
            name: None,
            message: Some(message),
        }
    }

    /// The frame as sent, with its seq.
    pub fn to_frame(&self, seq: u64) -> String {
        serde_json::to_string(&Sequenced { seq, event: self }).expect("frames always serialize")
    }
}

/// Frames that carry no seq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Control {
    Welcome {
        token: String,
        resumed: bool,
        lang: String,
        last_seq: u64,
    },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    Forgotten {},
    /// An addition: the report written so far, shown once before the youth confirms
    /// (not logged, not replayed).
    ReportSummary {
        fields: Vec<ReportFieldWire>,
    },
    /// An addition: the receipt of a report just stored, shown once (not logged,
    /// not replayed, never recoverable).
    ReportReceipt {
        receipt: String,
    },
    /// An addition: a report opened with its receipt: its status and the messages
    /// between the reporter and the intervenors (not logged, not replayed).
    ReportStatus {
        status: super::ReportStatus,
        messages: Vec<ReporterMessage>,
    },
    /// An addition: the person holding the conversation is typing (no content, not
    /// logged, not replayed).
    Typing {},
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFieldWire {
    pub field: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReporterMessage {
    /// `reporter` or `intervenor`.
    pub from: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub text: String,
    pub at: u64,
}

impl Control {
    pub fn to_frame(&self) -> String {
        serde_json::to_string(self).expect("frames always serialize")
    }

    pub fn error(code: ErrorCode, message: &str) -> Self {
        Control::Error {
            code,
            message: message.to_string(),
            retry_after_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_client_frame_and_classifies_mistakes() {
        assert_eq!(
            decode_client_frame(r#"{"type":"choose","id":"a","extra":1}"#),
            Ok(ClientFrame::Choose { id: "a".into() })
        );
        assert_eq!(decode_client_frame("nope"), Err(DecodeError::NotJson));
        assert_eq!(decode_client_frame("[1]"), Err(DecodeError::NotAnObject));
        assert_eq!(decode_client_frame("{}"), Err(DecodeError::NoType));
        assert_eq!(
            decode_client_frame(r#"{"type":"dance"}"#),
            Err(DecodeError::UnknownType)
        );
        assert_eq!(
            decode_client_frame(r#"{"type":"text"}"#),
            Err(DecodeError::MissingField)
        );
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(decode_client_frame(&deep), Err(DecodeError::NotJson));
    }

    #[test]
    fn sequenced_frames_carry_seq_and_type() {
        let frame = Event::End {}.to_frame(7);
        assert_eq!(frame, r#"{"seq":7,"type":"end"}"#);
    }
}
