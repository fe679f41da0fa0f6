//! The wire types, and the only ones: every frame of the youth chat ([`chat`]), of
//! the intervenors' console socket ([`console`]), and every JSON body of the HTTP
//! API ([`api`]). They derive `Serialize` and `Deserialize`, so tests and the bench
//! read what the server sends with the real types. The contract is
//! `docs/protocol.md`; the JSON on the wire is exactly what it says.
//!
//! This module may depend on `flow` (the engine's messages become frames) and on
//! `store::records` (a stored record becomes its wire twin), never the other way.

pub mod api;
pub mod chat;
pub mod console;

pub use api::*;
pub use chat::*;
pub use console::*;

use serde::{Deserialize, Serialize};

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
