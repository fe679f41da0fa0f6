//! What the chat and console sockets share: the origin check of an upgrade, and a
//! close that waits briefly for the client's answer.

use axum::http::{header, HeaderMap};

/// Whether an upgrade's `Origin` is this server (or one of `allowed`). A request
/// without `Origin` (not a browser) passes.
pub(crate) fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
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

/// Sends a close frame, then reads what the client still sends until it answers
/// the close (briefly), so the close code reaches it instead of a reset.
pub(crate) async fn close_socket(socket: &mut axum::extract::ws::WebSocket, code: u16) {
    use axum::extract::ws::{CloseFrame, Message};
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: "".into(),
        })))
        .await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}
