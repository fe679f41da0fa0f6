//! The youth chat socket (`GET /chat`), the transport only: the upgrade (sockets
//! sized for many idle connections), the handshake (`hello` first, in time), the
//! idle ping, the per-frame rate limit and the error frames. What a frame means is
//! `chat::conversation`'s business. The loop is generic over any
//! `Sink<Message> + Stream<Item = Result<Message, E>>` (axum's `testing-websockets`
//! pattern), so a test drives it with channels and a paused clock.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt, Stream, StreamExt};

use super::conversation::{self, Handled, POLICY, TRY_AGAIN};
use super::ChatState;
use crate::limits::{check_direct, Client, ClientKey};
use crate::messages::{say, Text};
use crate::protocol::{decode_client_frame, ClientFrame, Control, ErrorCode};
use crate::session::{outbox, OutboxReceiver, Outgoing};

/// Close codes.
const GOING_AWAY: u16 = 1001;
const NORMAL: u16 = 1000;

pub(crate) async fn upgrade(
    State(app): State<ChatState>,
    Client(client): Client,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !super::origin_allowed(&headers, &app.config.console.chat_partner_origins) {
        return (StatusCode::FORBIDDEN, say("fr", Text::Forbidden)).into_response();
    }
    let limits = &app.config.limits;
    ws.read_buffer_size(limits.socket_read_buffer)
        .write_buffer_size(limits.socket_write_buffer)
        .max_write_buffer_size(limits.max_transport_bytes * 2)
        .max_message_size(limits.max_transport_bytes)
        .max_frame_size(limits.max_transport_bytes)
        .on_upgrade(move |socket| serve(socket, app, client))
}

/// Sends a frame without a seq; counts error codes. Whether the socket took it.
async fn send_control<S>(socket: &mut S, app: &ChatState, control: &Control) -> bool
where
    S: Sink<Message> + Unpin,
{
    if let Control::Error { code, .. } = control {
        app.stats.metrics.error(*code);
    }
    socket
        .send(Message::Text(control.to_frame().into()))
        .await
        .is_ok()
}

/// Sends a close frame, then reads what the client still sends until it answers
/// the close (briefly), so the close code reaches it instead of a reset.
async fn close<S, E>(socket: &mut S, code: u16)
where
    S: Sink<Message> + Stream<Item = Result<Message, E>> + Unpin,
{
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: "".into(),
        })))
        .await;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
}

/// Sends what the session's outbox holds: this message and every frame already
/// waiting behind it, fed and then flushed once (one write for a turn's frames).
/// `None`: the socket goes on; `Some(Some(code))`: close it with that code;
/// `Some(None)`: it is gone.
async fn forward<S>(
    socket: &mut S,
    first: Option<Outgoing>,
    rx: &mut OutboxReceiver,
) -> Option<Option<u16>>
where
    S: Sink<Message> + Unpin,
{
    let mut next = first;
    let mut end = None;
    loop {
        match next {
            Some(Outgoing::Frame(frame)) => {
                if socket.feed(Message::Text(frame.into())).await.is_err() {
                    return Some(None);
                }
            }
            Some(Outgoing::Close(code)) => {
                end = Some(Some(code));
                break;
            }
            None => {
                end = Some(Some(TRY_AGAIN));
                break;
            }
        }
        match rx.try_recv() {
            Some(more) => next = Some(more),
            None => break,
        }
    }
    if socket.flush().await.is_err() {
        return Some(None);
    }
    end
}

/// What one incoming WebSocket message is, before the protocol reads it.
enum Incoming {
    Frame(ClientFrame),
    Refused(Control),
    Ignore,
    Gone,
}

fn read<E>(message: Option<Result<Message, E>>, lang: &str, max_bytes: usize) -> Incoming {
    match message {
        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Incoming::Gone,
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Incoming::Ignore,
        Some(Ok(Message::Binary(_))) => Incoming::Refused(Control::said(
            lang,
            ErrorCode::BadRequest,
            Text::BinaryFrame,
        )),
        Some(Ok(Message::Text(text))) => {
            if text.len() > max_bytes {
                return Incoming::Refused(Control::said(lang, ErrorCode::TooLarge, Text::TooLarge));
            }
            match decode_client_frame(text.as_str()) {
                Ok(frame) => Incoming::Frame(frame),
                Err(e) => Incoming::Refused(Control::unreadable(lang, e)),
            }
        }
    }
}

/// One youth socket, from its upgrade to its close.
async fn serve<S, E>(mut socket: S, app: ChatState, client: ClientKey)
where
    S: Sink<Message> + Stream<Item = Result<Message, E>> + Unpin,
{
    // One copy of the handles for the socket task and its conversation.
    let app = std::sync::Arc::new(app);
    let Some(_place) = app.limits.open_socket(&client) else {
        send_control(&mut socket, &app, &Control::server_busy()).await;
        return close(&mut socket, TRY_AGAIN).await;
    };
    let Ok(_slot) = app.youth_sockets.clone().try_acquire_owned() else {
        send_control(&mut socket, &app, &Control::server_busy()).await;
        return close(&mut socket, TRY_AGAIN).await;
    };
    // The shared settings, not a copy of them in every socket task.
    let config = app.config.clone();
    let limits = &config.limits;
    let handshake = Duration::from_secs(limits.handshake_timeout_secs);
    let mut shutdown = app.shutdown.clone();

    // The first frame must be `hello`.
    let (lang, resume) = loop {
        let next = tokio::select! {
            next = tokio::time::timeout(handshake, socket.next()) => next,
            _ = shutdown.changed() => return close(&mut socket, GOING_AWAY).await,
        };
        let Ok(next) = next else {
            return close(&mut socket, POLICY).await;
        };
        let refusal = match read(next, "fr", limits.max_frame_bytes) {
            Incoming::Gone => return,
            Incoming::Ignore => continue,
            Incoming::Frame(ClientFrame::Hello { lang, resume }) => break (lang, resume),
            Incoming::Refused(control) => control,
            Incoming::Frame(_) => Control::said("fr", ErrorCode::BadRequest, Text::HelloFirst),
        };
        if !send_control(&mut socket, &app, &refusal).await {
            return;
        }
    };

    let (tx, mut rx) = outbox();
    // Boxed, like a turn: what only the first frame needs is not kept in the
    // socket task of every idle youth.
    let begun = match Box::pin(conversation::begin(&app, client, lang, resume, tx)).await {
        Ok(begun) => begun,
        Err(refusal) => {
            for control in &refusal.frames {
                if !send_control(&mut socket, &app, control).await {
                    return;
                }
            }
            return close(&mut socket, refusal.close).await;
        }
    };
    let mut conversation = begun.conversation;
    for control in &begun.before {
        if !send_control(&mut socket, &app, control).await {
            return conversation.end();
        }
    }

    let mut refusals_in_a_row = 0u32;
    let idle = Duration::from_secs(limits.idle_socket_secs.max(1));
    let mut pinged = false;
    loop {
        tokio::select! {
            incoming = tokio::time::timeout(idle / 2, socket.next()) => {
                let Ok(incoming) = incoming else {
                    // Half the idle time in silence: ping; the whole of it: close.
                    if pinged {
                        close(&mut socket, GOING_AWAY).await;
                        break;
                    }
                    pinged = true;
                    if socket.send(Message::Ping(Default::default())).await.is_err() {
                        break;
                    }
                    continue;
                };
                pinged = false;
                let frame = match read(incoming, conversation.lang(), limits.max_frame_bytes) {
                    Incoming::Gone => break,
                    Incoming::Ignore => continue,
                    Incoming::Refused(control) => {
                        if !send_control(&mut socket, &app, &control).await { break; }
                        continue;
                    }
                    Incoming::Frame(frame) => frame,
                };
                if let Some(wait) = check_direct(&conversation.limits().frames) {
                    refusals_in_a_row += 1;
                    if refusals_in_a_row > limits.flood_close_after {
                        close(&mut socket, POLICY).await;
                        break;
                    }
                    let control = Control::rate_limited(conversation.lang(), wait);
                    if !send_control(&mut socket, &app, &control).await { break; }
                    continue;
                }
                refusals_in_a_row = 0;
                // What the turn pushes goes out while it runs: an urgent node's bot
                // lines are on the socket before the request's flush returns. The
                // turn is boxed: the socket task of an idle youth stays small.
                let mut handling = Box::pin(conversation.handle(frame));
                let mut gone = None;
                let handled = loop {
                    tokio::select! {
                        biased;
                        handled = &mut handling => break handled,
                        outgoing = rx.recv(), if gone.is_none() => {
                            gone = forward(&mut socket, outgoing, &mut rx).await;
                        }
                    }
                };
                drop(handling);
                if let Some(end) = gone {
                    if let Some(code) = end { close(&mut socket, code).await; }
                    break;
                }
                match handled {
                    Handled::Continue => {}
                    Handled::Reply(control) => {
                        if !send_control(&mut socket, &app, &control).await { break; }
                    }
                    Handled::Forgotten => {
                        // Frames still queued belong to an erased session: drop them.
                        while rx.try_recv().is_some() {}
                        send_control(&mut socket, &app, &Control::Forgotten {}).await;
                        close(&mut socket, NORMAL).await;
                        return;
                    }
                }
            }
            outgoing = rx.recv() => {
                if let Some(end) = forward(&mut socket, outgoing, &mut rx).await {
                    if let Some(code) = end { close(&mut socket, code).await; }
                    break;
                }
            }
            _ = shutdown.changed() => {
                close(&mut socket, GOING_AWAY).await;
                break;
            }
        }
    }
    conversation.end();
}

#[cfg(test)]
mod tests {
    //! The transport driven through channels instead of a socket, on a paused
    //! clock: the idle ping is how a test knows the server has said all it had to.

    use std::path::Path;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use serde_json::Value;
    use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

    use super::*;

    /// A socket made of two channels.
    struct Channels {
        incoming: UnboundedReceiver<Result<Message, std::convert::Infallible>>,
        outgoing: UnboundedSender<Message>,
    }

    impl Stream for Channels {
        type Item = Result<Message, std::convert::Infallible>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.incoming.poll_recv(cx)
        }
    }

    impl Sink<Message> for Channels {
        type Error = ();
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), ()> {
            self.outgoing.send(item).map_err(|_| ())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
    }

    struct Youth {
        to_server: UnboundedSender<Result<Message, std::convert::Infallible>>,
        from_server: UnboundedReceiver<Message>,
    }

    impl Youth {
        fn send(&self, text: &str) {
            self.to_server
                .send(Ok(Message::Text(text.to_string().into())))
                .unwrap();
        }

        /// Every text frame until the server, silent, pings.
        async fn until_ping(&mut self) -> Vec<Value> {
            let mut frames = Vec::new();
            loop {
                match self.from_server.recv().await.expect("the server is there") {
                    Message::Ping(_) => return frames,
                    Message::Text(text) => {
                        frames.push(serde_json::from_str(text.as_str()).unwrap())
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    }

    fn app(data: &Path) -> (ChatState, tokio::sync::watch::Sender<bool>) {
        let config = crate::config::Config {
            data_dir: data.to_path_buf(),
            flows_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flows"),
            ..crate::config::Config::default()
        };
        let store = crate::store::Store::open(&config.data_dir).unwrap();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let app = crate::server::AppState::with_store(
            config,
            store,
            crate::clock::Clock::system(),
            shutdown,
        )
        .unwrap();
        let app = <ChatState as axum::extract::FromRef<_>>::from_ref(&app);
        (app, stop)
    }

    #[tokio::test(start_paused = true)]
    async fn the_transport_runs_a_conversation_over_channels() {
        let data = tempfile::tempdir().unwrap();
        let (app, _stop) = app(data.path());
        let (to_server, incoming) = unbounded_channel();
        let (outgoing, from_server) = unbounded_channel();
        let socket = Channels { incoming, outgoing };
        let server = tokio::spawn(serve(socket, app.clone(), ClientKey("test".into())));
        let mut youth = Youth {
            to_server,
            from_server,
        };

        // A start: welcome, then the flow's first frames, numbered from 1.
        youth.send(r#"{"type":"hello","lang":"fr"}"#);
        let start = youth.until_ping().await;
        assert_eq!(start[0]["type"], "welcome", "{start:?}");
        assert_eq!(start[1]["type"], "bot", "{start:?}");
        assert_eq!(start[1]["seq"], 1);
        let last_seq = start.last().unwrap()["seq"].as_u64().unwrap();

        // A turn: free text answered by the flow, under one session lock.
        let locks = app.sessions.with_calls();
        youth.send(r#"{"type":"text","text":"je sais pas trop"}"#);
        let turn = youth.until_ping().await;
        assert_eq!(
            app.sessions.with_calls() - locks,
            1,
            "a text frame takes the session's lock once"
        );
        assert!(!turn.is_empty());
        assert!(turn.iter().all(|f| f["type"] == "bot"), "{turn:?}");
        assert_eq!(turn[0]["seq"].as_u64(), Some(last_seq + 1));

        // A bad frame: an error frame in the session's language, no seq, still open.
        youth.send("pas du json");
        let refused = youth.until_ping().await;
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(refused[0]["type"], "error");
        assert_eq!(refused[0]["code"], "bad_request");
        assert_eq!(refused[0]["message"], say("fr", Text::BadJson));
        assert!(refused[0].get("seq").is_none());

        // Silence after the ping: closed as going away (the session stays).
        match youth.from_server.recv().await {
            Some(Message::Close(Some(frame))) => assert_eq!(frame.code, GOING_AWAY),
            other => panic!("expected a close, got {other:?}"),
        }
        drop(youth);
        server.await.unwrap();
        assert_eq!(app.sessions.attached(), 0, "the socket is detached");
    }
}
