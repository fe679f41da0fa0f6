//! The intervenors' console socket (`/console`, section 2 of the contract): the
//! frames a console sends and is pushed, and the queue items and transcript
//! entries they carry (the HTTP API answers with the same items).

use serde::{Deserialize, Serialize};

use super::{ErrorCode, ReportItem};

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub holder_away: bool,
    /// An addition: put back in the queue because its holder lost the connection
    /// (it goes first among requests of the same urgency).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
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

#[derive(Debug, Serialize, Deserialize)]
pub struct ClaimResponse {
    pub id: u64,
    pub transcript: Vec<TranscriptEntry>,
    /// Additions, so a console can show the request without another call.
    pub urgent: bool,
    pub lang: String,
    pub topic: String,
}

/// What a console sends on its socket (`typing`, an addition, carries no content).
#[derive(Debug, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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

impl ConsoleServerFrame {
    pub fn to_frame(&self) -> String {
        serde_json::to_string(self).expect("frames always serialize")
    }
}

impl ConsoleClientFrame {
    /// Reads a console's frame; `None` for anything that is not one.
    pub fn decode(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}
