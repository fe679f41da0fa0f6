//! The local admin socket's exchange (`DATA/admin.sock`): one JSON line asks
//! ([`Request`]), one JSON line answers ([`Answer`]); a backup's answer line is
//! followed by the plain payload. It is private to one machine and not part of the
//! public contract; `crate::admin` serves it and the command line speaks it.

use serde::{Deserialize, Serialize};

use crate::store::records::Role;

/// What the command line asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    Ping,
    IntervenorAdd {
        login: String,
        name: String,
        role: Role,
        password: String,
    },
    IntervenorList,
    IntervenorRemove {
        login: String,
    },
    IntervenorResetPassword {
        login: String,
        password: String,
    },
    TotpEnable {
        login: String,
    },
    TotpDisable {
        login: String,
    },
    Report {
        from: String,
        to: String,
        period: String,
        format: String,
        lang: String,
        /// The whole period before the one that holds `to` (`relais report --last`).
        last: bool,
    },
    Backup,
}

/// What the server answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    pub ok: bool,
    /// What the command prints (standard output).
    #[serde(default)]
    pub output: String,
    /// The sentence of a failure (standard error).
    #[serde(default)]
    pub error: String,
}

impl Request {
    /// The request as one line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        super::line_of(self)
    }

    /// Reads a request line; `None` when it is not one.
    pub fn from_line(line: &str) -> Option<Self> {
        serde_json::from_str(line).ok()
    }
}

impl Answer {
    /// The answer as one line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        super::line_of(self)
    }

    /// Reads an answer line; `None` when it is not one.
    pub fn from_line(line: &str) -> Option<Self> {
        serde_json::from_str(line).ok()
    }
}
