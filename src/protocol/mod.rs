//! The wire types, and the only ones: every frame of the youth chat ([`chat`]), of
//! the intervenors' console socket ([`console`]), every JSON body of the HTTP
//! API ([`api`]), the local admin socket's lines ([`admin`]) and the language
//! server's JSON-RPC conversions ([`lsp`]). Outside the store, JSON is encoded
//! and decoded here only. They derive `Serialize` and `Deserialize`, so tests and the bench
//! read what the server sends with the real types. The contract is
//! `docs/protocol.md`; the JSON on the wire is exactly what it says.
//!
//! This module may depend on `flow` (the engine's messages become frames) and on
//! `store::records` (a stored record becomes its wire twin), never the other way.

pub mod admin;
pub mod api;
pub mod chat;
pub mod console;
pub mod lsp;

pub use api::*;
pub use chat::*;
pub use console::*;

use serde::{Deserialize, Serialize};

/// A body as JSON bytes: push and webhook bodies, token claims. The types here and
/// the records in the store serialize infallibly (string keys, no custom `Serialize`
/// that can fail), so an error cannot happen; it would give `null`.
pub fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec())
}

/// A body as indented JSON text, for a file or a terminal (the impact report's JSON
/// format, `flows check --format json`).
pub fn to_pretty<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into())
}

/// A body as one line of JSON, newline included (the admin socket).
fn line_of<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut line = to_bytes(value);
    line.push(b'\n');
    line
}

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
