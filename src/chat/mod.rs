//! The youth chat: sessions (records, frame logs, attached sockets) and the socket
//! that speaks the contract's section 1.

pub mod session;
pub mod ws;

use axum::http::{header, HeaderMap};

/// Whether a WebSocket upgrade's `Origin` may open a socket: no `Origin` (not a
/// browser), the server's own origin, or one of `allowed`.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if allowed.iter().any(|a| a.trim_end_matches('/') == origin) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    origin == format!("http://{host}") || origin == format!("https://{host}")
}
