//! The wire types, and the only ones: every frame of the youth chat and of the
//! intervenors' console, and the JSON bodies of the console API. The contract is
//! `docs/protocol.md`.

use serde::{Deserialize, Serialize};

use crate::flow::model::ResourceCard;

/// Error codes of section 3 of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    TooLarge,
    RateLimited,
    UnknownSession,
    NotExpected,
    Unauthorized,
    ServerBusy,
    Forbidden,
    NotFound,
    Conflict,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UnknownSession => "unknown_session",
            ErrorCode::NotExpected => "not_expected",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::ServerBusy => "server_busy",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Internal => "internal",
        }
    }
}

// ---------------------------------------------------------------- youth chat

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChoiceWire {
    pub id: String,
    pub label: String,
}

/// A resource card on the wire: `name`, `phone`, `text` (the number to text) and
/// `url` as in the contract; `key`, `text_body`, `hours` and `about` are additions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    None,
    Text,
    /// Free text that is a report's receipt: the page masks it on screen.
    Receipt,
}

/// A frame of the conversation; it gets its `seq` when it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Bot {
        text: String,
        html: String,
        choices: Vec<ChoiceWire>,
        input: InputKind,
        #[serde(skip_serializing_if = "Vec::is_empty")]
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
        #[serde(skip_serializing_if = "std::ops::Not::not")]
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
            input: if bot.asks_receipt {
                InputKind::Receipt
            } else if bot.asks_text {
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

    /// The frame as sent, with its seq.
    pub fn to_frame(&self, seq: u64) -> String {
        serde_json::to_string(&Sequenced { seq, event: self }).expect("frames always serialize")
    }
}

/// Frames that carry no seq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
        status: crate::store::records::ReportStatus,
        messages: Vec<ReporterMessage>,
    },
    /// An addition: the person holding the conversation is typing (no content, not
    /// logged, not replayed).
    Typing {},
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportFieldWire {
    pub field: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

// ---------------------------------------------------------------- console

#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// An addition: the current TOTP code, for accounts that have one.
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: u64,
    pub name: String,
    /// An addition: `intervenor` or `supervisor`.
    pub role: String,
    /// An addition: the account's login, so a page can tell its own claims.
    pub login: String,
}

#[derive(Debug, Deserialize)]
pub struct OnCallRequest {
    pub on_call: bool,
}

#[derive(Debug, Deserialize)]
pub struct CloseRequest {
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Resolved,
    Referred,
    EmergencyServices,
    YouthLeft,
    NoResponse,
    /// Pranks or abuse: the session is refused a person for a while (`crate::abuse`).
    Abusive,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Resolved => "resolved",
            Outcome::Referred => "referred",
            Outcome::EmergencyServices => "emergency_services",
            Outcome::YouthLeft => "youth_left",
            Outcome::NoResponse => "no_response",
            Outcome::Abusive => "abusive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoffItem {
    pub id: u64,
    pub urgent: bool,
    pub status: QueueStatus,
    /// Milliseconds since the epoch.
    pub waiting_since: u64,
    pub lang: String,
    pub topic: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    /// An addition: the display name of the holder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_by_name: Option<String>,
    /// An addition: 1 = next, for waiting requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    /// An addition: the youth's page is connected now.
    pub youth_online: bool,
    /// An addition: a claimed request whose holder has no console connected now.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub holder_away: bool,
    /// An addition: put back in the queue because its holder lost the connection
    /// (it goes first among requests of the same urgency).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub requeued: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueStatus {
    Waiting,
    Claimed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Bot,
    Youth,
    Agent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    pub seq: u64,
    pub from: Speaker,
    pub text: String,
    /// Milliseconds since the epoch.
    pub at: u64,
}

#[derive(Debug, Serialize)]
pub struct ClaimResponse {
    pub id: u64,
    pub transcript: Vec<TranscriptEntry>,
    /// Additions, so a console can show the request without another call.
    pub urgent: bool,
    pub lang: String,
    pub topic: String,
}

/// What a console sends on its socket (`typing`, an addition, carries no content).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConsoleClientFrame {
    Auth { token: String },
    Reply { handoff: u64, text: String },
    Claim { handoff: u64 },
    Release { handoff: u64 },
    Close { handoff: u64, outcome: Outcome },
    Typing { handoff: u64 },
}

/// What the server pushes to a console.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConsoleServerFrame {
    /// An addition: sent once after `auth`, with who is signed in.
    Ready {
        login: String,
        name: String,
        role: String,
        on_call: bool,
    },
    Queue {
        items: Vec<HandoffItem>,
    },
    Message {
        handoff: u64,
        seq: u64,
        from: Speaker,
        text: String,
        at: u64,
    },
    /// An addition: who is on call and connected.
    Roster {
        on_call: Vec<String>,
    },
    /// An addition: the answer to a claim sent on the socket.
    Claimed {
        handoff: u64,
        transcript: Vec<TranscriptEntry>,
        urgent: bool,
        lang: String,
        topic: String,
    },
    /// An addition: a conversation this console showed has ended (closed, or the
    /// youth left).
    Closed {
        handoff: u64,
        reason: String,
    },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        handoff: Option<u64>,
    },
    /// An addition: the anonymous reports changed (`items` as `GET /api/signalements`).
    Reports {
        items: Vec<ReportItem>,
    },
    /// An addition: a report says someone is in danger now (raise the urgent alert).
    ReportAlert {
        report: u64,
    },
    /// An addition: one report was made or changed (as an item of `reports`).
    ReportChanged {
        item: ReportItem,
    },
    /// An addition (supervision): a new line of a conversation this supervisor watches.
    MonitorMessage {
        handoff: u64,
        seq: u64,
        from: Speaker,
        text: String,
        at: u64,
    },
    /// An addition (supervision): a watched conversation ended.
    MonitorEnded {
        handoff: u64,
    },
    /// An addition (supervision): to the holder, who watches this conversation now.
    Watched {
        handoff: u64,
        by: Vec<String>,
    },
    /// An addition (supervision): a supervisor's word to the holder only.
    Whisper {
        handoff: u64,
        name: String,
        text: String,
        at: u64,
    },
    /// An addition: the youth of a conversation this intervenor holds is typing.
    Typing {
        handoff: u64,
    },
}

/// A report in the console's list: no content, only what a list needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportItem {
    pub id: u64,
    pub status: crate::store::records::ReportStatus,
    pub danger: bool,
    pub kind: String,
    pub lang: String,
    pub created_at: u64,
    pub updated_at: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
}

impl From<&crate::store::records::ReportRecord> for ReportItem {
    fn from(record: &crate::store::records::ReportRecord) -> Self {
        Self {
            id: record.id,
            status: record.status,
            danger: record.danger,
            kind: record.kind.clone(),
            lang: record.lang.clone(),
            created_at: record.created_ms,
            updated_at: record.updated_ms,
            assigned_to: record.assigned_to.clone(),
        }
    }
}

impl ConsoleServerFrame {
    pub fn to_frame(&self) -> String {
        serde_json::to_string(self).expect("frames always serialize")
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
