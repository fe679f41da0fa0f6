//! The HTTP API's bodies (section 2 of the contract, and the additions it lists):
//! what `/api/*` takes and answers, including the errors' body, the anonymous
//! reports, staff administration and the authors' preview. Stored records never go
//! out as they are: each has its wire twin here, converted with `From`.
//!
//! Bodies that were once built with `serde_json::json!` keep their fields in
//! alphabetical order, as `json!` wrote them, so the bytes on the wire are the same.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ErrorCode, Event, Outcome, ResourceWire};
use crate::store::records;

// ---------------------------------------------------------------- errors

/// Every refusal of the API: a stable code and a sentence in French and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorCode,
    pub message: String,
    pub message_en: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

// ---------------------------------------------------------------- service

/// `GET /readyz` once the store is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The flow version serving.
    pub flows: String,
    pub ready: bool,
}

/// `GET /api/chat/config`: what the youth page needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatConfig {
    pub languages: Vec<String>,
    pub quick_exit_url: String,
}

// ---------------------------------------------------------------- console

#[derive(Debug, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// An addition: the current TOTP code, for accounts that have one.
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: u64,
    pub name: String,
    /// An addition: `intervenor` or `supervisor`.
    pub role: String,
    /// An addition: the account's login, so a page can tell its own claims.
    pub login: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct OnCallRequest {
    pub on_call: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CloseRequest {
    pub outcome: Outcome,
}

/// `POST /api/handoffs/{id}/assign` and `/api/signalements/{id}/assign`.
#[derive(Debug, Serialize, Deserialize)]
pub struct AssignRequest {
    pub login: String,
}

/// An account as `GET /api/me` and `GET /api/intervenors` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervenorItem {
    pub login: String,
    pub name: String,
    pub on_call: bool,
    pub role: String,
}

/// A canned reply (`GET /api/canned`); `en` is `null` when there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedReply {
    pub en: Option<String>,
    pub fr: String,
    pub title: String,
}

/// `GET /api/impact` (and its old name `/api/reports`).
#[derive(Debug, Serialize, Deserialize)]
pub struct ImpactQuery {
    #[serde(default)]
    pub from: Option<String>,
    pub to: String,
    #[serde(default)]
    pub period: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
}

// ---------------------------------------------------------------- reports

/// Where an anonymous report stands, as clients see it (the stored status is
/// `store::records::ReportStatus`; the two are converted, never shared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    New,
    InReview,
    Forwarded,
    Closed,
}

impl From<records::ReportStatus> for ReportStatus {
    fn from(status: records::ReportStatus) -> Self {
        match status {
            records::ReportStatus::New => Self::New,
            records::ReportStatus::InReview => Self::InReview,
            records::ReportStatus::Forwarded => Self::Forwarded,
            records::ReportStatus::Closed => Self::Closed,
        }
    }
}

impl From<ReportStatus> for records::ReportStatus {
    fn from(status: ReportStatus) -> Self {
        match status {
            ReportStatus::New => Self::New,
            ReportStatus::InReview => Self::InReview,
            ReportStatus::Forwarded => Self::Forwarded,
            ReportStatus::Closed => Self::Closed,
        }
    }
}

/// A report in the console's list: no content, only what a list needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportItem {
    pub id: u64,
    pub status: ReportStatus,
    pub danger: bool,
    pub kind: String,
    pub lang: String,
    pub created_at: u64,
    pub updated_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
}

impl From<&records::ReportRecord> for ReportItem {
    fn from(record: &records::ReportRecord) -> Self {
        Self {
            id: record.id,
            status: record.status.into(),
            danger: record.danger,
            kind: record.kind.clone(),
            lang: record.lang.clone(),
            created_at: record.created_ms,
            updated_at: record.updated_ms,
            assigned_to: record.assigned_to.clone(),
        }
    }
}

/// One answer of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportAnswer {
    pub field: String,
    pub value: String,
}

/// A message between the reporter and the team, as the console reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportMessageItem {
    pub at: u64,
    /// `reporter` or `intervenor`.
    pub from: String,
    pub name: Option<String>,
    pub text: String,
}

impl From<records::ReportMessage> for ReportMessageItem {
    fn from(m: records::ReportMessage) -> Self {
        Self {
            from: m.from,
            name: m.name,
            text: m.text,
            at: m.at,
        }
    }
}

/// A note of the team, or where the report was passed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportNoteItem {
    pub at: u64,
    pub by: String,
    pub text: String,
}

impl From<records::ReportNote> for ReportNoteItem {
    fn from(n: records::ReportNote) -> Self {
        Self {
            by: n.by,
            text: n.text,
            at: n.at,
        }
    }
}

/// `GET /api/signalements/{id}`: a report opened by an intervenor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDetail {
    pub answers: Vec<ReportAnswer>,
    pub forwarded: Vec<ReportNoteItem>,
    pub messages: Vec<ReportMessageItem>,
    pub notes: Vec<ReportNoteItem>,
    pub report: ReportItem,
}

impl ReportDetail {
    pub fn new(record: &records::ReportRecord, content: records::ReportContent) -> Self {
        Self {
            report: record.into(),
            answers: content
                .answers
                .into_iter()
                .map(|(field, value)| ReportAnswer { field, value })
                .collect(),
            messages: content.messages.into_iter().map(Into::into).collect(),
            notes: content.notes.into_iter().map(Into::into).collect(),
            forwarded: content.forwarded.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReportStatusRequest {
    pub status: ReportStatus,
}

/// A note, or a message to the reporter.
#[derive(Debug, Serialize, Deserialize)]
pub struct TextRequest {
    pub text: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ForwardRequest {
    /// `police`, `cyberaide`, `dpj` or anything else the team names.
    pub to: String,
    #[serde(default)]
    pub note: Option<String>,
}

// ---------------------------------------------------------------- staff

/// `GET /api/staff`: the accounts and the pending enrolments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffList {
    pub accounts: Vec<StaffAccount>,
    pub pending: Vec<PendingEnrolment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccount {
    pub connected: bool,
    pub disabled: bool,
    pub login: String,
    pub name: String,
    pub on_call: bool,
    pub role: String,
    pub totp: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEnrolment {
    pub expires_at: u64,
    pub login: String,
    pub name: String,
    pub purpose: String,
    pub role: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct InviteRequest {
    pub login: String,
    pub name: String,
    #[serde(default)]
    pub role: Option<String>,
}

/// A new enrolment code and the link that carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentCode {
    pub code: String,
    pub expires_at: u64,
    pub link: String,
    pub login: String,
    pub valid_hours: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RoleRequest {
    pub role: String,
}

/// `GET /api/enrol/{code}`: what the enrolment page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentPage {
    pub expires_at: u64,
    pub login: String,
    pub name: String,
    pub needs_password: bool,
    pub purpose: String,
    pub qr_svg: Option<String>,
    pub role: String,
    pub totp_secret: String,
    pub totp_uri: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EnrolRequest {
    #[serde(default)]
    pub password: Option<String>,
    pub totp: String,
}

/// `GET /api/audit` query.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub target: Option<String>,
    /// YYYY-MM-DD, inclusive.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
    /// `json` (default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
}

/// One entry of the audit trail, as `GET /api/audit` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: u64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

impl From<records::AuditRecord> for AuditEntry {
    fn from(r: records::AuditRecord) -> Self {
        Self {
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            detail: r.detail,
        }
    }
}

/// A block as a supervisor sees it: no key, only the conversation that caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockItem {
    pub handoff: u64,
    pub since: u64,
    pub until: u64,
    pub by: String,
}

// ---------------------------------------------------------------- authors

/// `GET /api/flows/graph`. The graph and the last edit's note are the flow
/// module's own types (`flow::graph`, `flow::library`): serialized as they are.
#[derive(Debug, Serialize)]
pub struct GraphResponse {
    pub graph: crate::flow::graph::Graph,
    pub languages: Vec<String>,
    pub last_edit: Option<crate::flow::library::EditNote>,
    pub version: String,
}

/// `GET /api/flows/status`.
#[derive(Debug, Serialize)]
pub struct FlowStatus {
    pub last_edit: Option<crate::flow::library::EditNote>,
    pub version: String,
}

/// One archived flow version (`GET /api/flows/versions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionItem {
    pub files: usize,
    pub loaded_at: u64,
    pub serving: bool,
    pub version: String,
}

/// Where a preview conversation stands; the page sends it back with each input.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PlayState {
    pub node: Option<String>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlayInput {
    Choose { id: String },
    Text { text: String },
    Restart,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PlayRequest {
    #[serde(default = "french")]
    pub lang: String,
    /// Start here (a fresh conversation) when there is no state.
    pub from: Option<String>,
    pub state: Option<PlayState>,
    pub input: Option<PlayInput>,
}

fn french() -> String {
    "fr".into()
}

/// A frame of a preview: a bot message exactly as the chat sends it (without
/// `seq`), or what would happen instead of a real handoff or report.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PlayFrame {
    Chat(Event),
    Preview(PreviewFrame),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PreviewFrame {
    Handoff {
        urgent: bool,
        topic: String,
        resources: Vec<ResourceWire>,
    },
    End,
    /// A report step (kept, summary, submitted, receipt checked), as the transcript says.
    Report,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PlayResponse {
    pub frames: Vec<PlayFrame>,
    pub state: PlayState,
    /// What happened, as `relais flows try` writes it.
    pub transcript: String,
    pub not_expected: bool,
}

// ---------------------------------------------------------------- on call and supervision

/// `GET /api/push`: whether push is on, and this account's devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<usize>,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// `POST /api/push/test`: how many devices were sent the test notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushTested {
    pub devices: usize,
}

/// One day of the week in the on-call schedule, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleDay {
    pub day: String,
    pub hours: String,
}

/// One exception to the weekly schedule (a holiday, a special opening).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleException {
    pub date: String,
    pub hours: String,
}

/// `GET /api/oncall`: the schedule and who is on call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OncallView {
    pub auto_on_call: bool,
    pub exceptions: Vec<ScheduleException>,
    /// The next opening, in a sentence, when closed now.
    pub next: Option<String>,
    pub on_call: Vec<String>,
    pub open_now: bool,
    pub scheduled: bool,
    pub time_zone: String,
    pub week: Vec<ScheduleDay>,
}

/// `POST /api/handoffs/{id}/monitor`: a supervisor watches a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorView {
    pub handoff: u64,
    pub holder: Option<String>,
    pub transcript: Vec<super::TranscriptEntry>,
}

/// `POST /api/handoffs/{id}/whisper`: how many of the holder's consoles got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whispered {
    pub delivered: usize,
}

/// The body of a Web Push notification, read by the console's service worker
/// (encrypted before it leaves; no youth content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushPayload {
    pub title: String,
    pub body: String,
    pub url: String,
    pub tag: String,
    pub urgent: bool,
}

/// The claims of a VAPID token (RFC 8292).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VapidClaims {
    pub aud: String,
    pub exp: u64,
    pub sub: String,
}
