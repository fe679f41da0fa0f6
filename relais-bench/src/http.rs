//! A tiny HTTP/1.1 client over a plain `TcpStream`, enough for `GET /readyz` and a
//! JSON `POST` (one request per connection, `Connection: close`). The bench needs no
//! more, and a full client would add to what it measures.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{BenchError, PATIENCE};

/// Sends one request; returns the status code and the body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    json_body: Option<&str>,
) -> Result<(u16, String), BenchError> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        if let Some(token) = bearer {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        let body = json_body.unwrap_or("");
        if json_body.is_some() {
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, BenchError>(answer)
    };
    let answer = tokio::time::timeout(PATIENCE, exchange)
        .await
        .map_err(|_| BenchError::Timeout(format!("{method} {path}")))??;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| BenchError::Protocol(format!("not an HTTP answer to {path}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Asks `/readyz` until it answers 200 (relais answers once its store is open and
/// its flows are loaded); returns how long that took from `since`.
pub async fn wait_ready(addr: SocketAddr, since: Instant) -> Result<Duration, BenchError> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok((200, _)) = request(addr, "GET", "/readyz", None, None).await {
            return Ok(since.elapsed());
        }
        if Instant::now() > deadline {
            return Err(BenchError::Timeout("/readyz never answered 200".into()));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Waits until a freshly started server serves: relais once `/readyz` says so, the
/// floor at once (it serves as soon as it listens).
pub async fn wait_serving(server: &super::process::Server) -> Result<(), BenchError> {
    if server.target == super::Target::Relais {
        wait_ready(server.addr, server.spawned_at).await?;
    }
    Ok(())
}
