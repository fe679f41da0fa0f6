//! `relais ws URL`: a WebSocket client for the terminal, so that the README's walk (and
//! anyone trying the wire contract by hand) needs no other tool. Every line read on
//! standard input is sent as one text frame; every text frame received is printed on
//! its own line, as it came. At the end of the input it closes the socket and prints
//! what still arrives until the server closes it too.

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

/// Why the client stopped before the server closed the socket.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WsError {
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the connection was lost: {0}")]
    Lost(String),
    #[error("cannot read the input or write the output: {0}")]
    Io(#[from] std::io::Error),
}

/// Talks to `url` until the server closes the socket.
pub(crate) async fn run(url: &str) -> Result<(), WsError> {
    let (socket, _) =
        tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| WsError::Connect {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
    let (mut sink, mut stream) = socket.split();
    let mut input = BufReader::new(tokio::io::stdin()).lines();
    let mut output = tokio::io::stdout();
    let mut input_open = true;
    loop {
        tokio::select! {
            line = input.next_line(), if input_open => match line? {
                Some(line) if line.trim().is_empty() => {}
                Some(line) => sink
                    .send(Message::Text(line.into()))
                    .await
                    .map_err(|e| WsError::Lost(e.to_string()))?,
                None => {
                    input_open = false;
                    // The server answers with its own close; frames before it still print.
                    let _ = sink.send(Message::Close(None)).await;
                }
            },
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    output.write_all(text.as_bytes()).await?;
                    output.write_all(b"\n").await?;
                    output.flush().await?;
                }
                Some(Ok(Message::Close(frame))) => {
                    if let Some(frame) = frame.filter(|f| u16::from(f.code) != 1000) {
                        let reason = match frame.reason.as_str() {
                            "" => String::new(),
                            reason => format!(" ({reason})"),
                        };
                        let line = format!("closed by the server with code {}{reason}\n", u16::from(frame.code));
                        tokio::io::stderr().write_all(line.as_bytes()).await?;
                    }
                    return Ok(());
                }
                Some(Ok(_)) => {}
                // Once we closed, a server that hangs up without its own close is done too.
                Some(Err(_)) | None if !input_open => return Ok(()),
                Some(Err(e)) => return Err(WsError::Lost(e.to_string())),
                None => return Ok(()),
            },
        }
    }
}
