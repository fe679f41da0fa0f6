//! The records kept in the store, as they are encoded on disk. They never go on the
//! wire: `protocol` has its own types (and `From` conversions) for what a client
//! sees, so the stored layout can change without changing the contract.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A youth's session, between two turns. Small on purpose: no text the youth typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The flow version the conversation started on; it finishes on it.
    pub flow_version: String,
    /// Where the flow waits; `None` once it has ended.
    pub node: Option<String>,
    pub vars: BTreeMap<String, String>,
    pub lang: String,
    /// The seq of the last frame sent (0 before the first).
    pub last_seq: u64,
    /// When the youth last did something, in seconds since the epoch (for expiry).
    pub last_active: u64,
    /// The request for a human, while there is one.
    #[serde(default)]
    pub handoff: Option<SessionHandoff>,
}

/// The link from a session to its request for a human.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionHandoff {
    pub id: u64,
    pub urgent: bool,
    /// An intervenor holds the conversation: the flow is muted.
    pub connected: bool,
}

/// A flow version the server loaded: its sources, so a conversation started on it
/// can finish on it after a restart, and so an author can roll back to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowVersionRecord {
    pub version: String,
    /// When it was first loaded, in seconds since the epoch.
    pub loaded_at: u64,
    pub sources: BTreeMap<String, String>,
}

/// The three roles of a staff account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Intervenor,
    Supervisor,
    /// Writes and previews flows; takes no conversation.
    Author,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Intervenor => "intervenor",
            Role::Supervisor => "supervisor",
            Role::Author => "author",
        }
    }
}

/// An intervenor's account. The password is an argon2id PHC string.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountRecord {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub password: String,
    /// The TOTP secret (base32), when two-factor login is on for this account.
    #[serde(default)]
    pub totp_secret: Option<String>,
    /// The last TOTP time step accepted, so a code is never taken twice.
    #[serde(default)]
    pub totp_last_step: u64,
    /// On call: takes handoffs while connected.
    #[serde(default)]
    pub on_call: bool,
    /// Disabled by a supervisor: cannot log in, its logins are ended.
    #[serde(default)]
    pub disabled: bool,
}

/// A console login. Stored under the SHA-256 of the token; the token is never stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TokenRecord {
    pub login: String,
    pub created_ms: u64,
    pub last_seen_ms: u64,
}

/// Where a request for a human stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HandoffState {
    Waiting,
    Claimed { login: String, name: String },
}

/// A request for a human, from the moment it is acknowledged until it is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffRecord {
    pub id: u64,
    /// The session's key, hex (the link is deleted with the request).
    pub session: String,
    pub urgent: bool,
    pub topic: String,
    pub lang: String,
    pub flow_version: String,
    /// When it was asked, in ms since the epoch: its place in the queue.
    pub created_ms: u64,
    pub state: HandoffState,
    /// Resource keys to show when nobody is on call, on timeout and at the end.
    pub resources: Vec<String>,
    /// The youth was told the wait is long.
    #[serde(default)]
    pub timeout_told: bool,
    /// The seq of the last transcript entry.
    pub last_entry: u64,
    /// When it was first claimed (for the wait-time statistics).
    #[serde(default)]
    pub last_claim_ms: Option<u64>,
    /// Closed and kept for continuity of care until the retention ends.
    #[serde(default)]
    pub closed_ms: Option<u64>,
    /// Put back in the queue because its holder lost the connection: first among
    /// the requests of the same urgency (cleared when claimed again).
    #[serde(default)]
    pub requeued: bool,
}

/// Where an anonymous report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    New,
    InReview,
    Forwarded,
    Closed,
}

impl ReportStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ReportStatus::New => "new",
            ReportStatus::InReview => "in_review",
            ReportStatus::Forwarded => "forwarded",
            ReportStatus::Closed => "closed",
        }
    }
}

/// An anonymous report. Only what a list needs is in clear (status, kind, danger,
/// times, who handles it); the answers, messages, notes and where it was
/// forwarded are sealed with the report's own key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportRecord {
    pub id: u64,
    /// argon2id of the receipt with the server's salt (hex): finds the report.
    pub lookup: String,
    pub status: ReportStatus,
    /// The reporter said someone is in danger now.
    pub danger: bool,
    /// The kind of situation, from the flow's choices (`rapport_type`).
    pub kind: String,
    pub lang: String,
    pub created_ms: u64,
    /// Last activity: retention counts from here.
    pub updated_ms: u64,
    pub assigned_to: Option<String>,
    /// The sealed `reports::Content` (base64 in the record, itself sealed).
    #[serde(with = "bytes_as_base64")]
    pub sealed: Vec<u8>,
}

/// Bytes as one base64 string (an array of numbers, as older records have, is
/// still read).
mod bytes_as_base64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Numbers(Vec<u8>),
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        match Either::deserialize(deserializer)? {
            Either::Text(text) => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(serde::de::Error::custom),
            Either::Numbers(bytes) => Ok(bytes),
        }
    }
}

/// One staff action in the audit trail (see `crate::audit`): who, what, on which
/// conversation, report or account, and when. Never a youth's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Milliseconds since the epoch.
    pub at: u64,
    /// The staff login, `cli` for the command line, `-` for an unknown login.
    pub actor: String,
    /// What was done (`login`, `claim`, `report_read`, `account_disable`, …).
    pub action: String,
    /// What it was done to: `handoff:12`, `report:3`, `account:sam`, or empty.
    #[serde(default)]
    pub target: String,
    /// A word more where it helps (an outcome, a status, a role); never free text.
    #[serde(default)]
    pub detail: String,
}

/// A one-time enrolment code (invite, password reset, TOTP reset), stored under the
/// SHA-256 of the code; the code itself is shown once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EnrolmentRecord {
    pub login: String,
    pub name: String,
    pub role: Role,
    /// `invite`, `password` or `totp`.
    pub purpose: String,
    pub created_ms: u64,
    pub expires_ms: u64,
    /// Who made it.
    pub by: String,
    /// The TOTP secret offered on the enrolment page, once it was opened.
    #[serde(default)]
    pub totp_secret: Option<String>,
}

/// A session refused a person for a while after a conversation ended as abusive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BlockRecord {
    /// The conversation that was ended as abusive (how a supervisor names the block).
    pub handoff: u64,
    pub since_ms: u64,
    pub until_ms: u64,
    pub by: String,
}

/// What a report holds, sealed with the report's key inside [`ReportRecord::sealed`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReportContent {
    /// The answers, in the order they were given: (field, value).
    pub answers: Vec<(String, String)>,
    /// Messages between the reporter and the intervenors.
    pub messages: Vec<ReportMessage>,
    /// Internal notes, never shown to the reporter.
    pub notes: Vec<ReportNote>,
    /// Where the report was passed on (police, Cyberaide.ca, the DPJ…), by whom, when.
    pub forwarded: Vec<ReportNote>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReportMessage {
    /// `reporter` or `intervenor`.
    pub from: String,
    /// The intervenor's display name (never for the reporter).
    #[serde(default)]
    pub name: Option<String>,
    pub text: String,
    pub at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReportNote {
    pub by: String,
    pub text: String,
    pub at: u64,
}

/// A device's push subscription, as stored. No youth data; the token is its
/// SHA-256 (the key the tokens tree uses), kept to remove the subscription at logout.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushSubscription {
    pub login: String,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub lang: String,
    pub token_key: String,
    pub created_ms: u64,
}
