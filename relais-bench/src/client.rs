//! One bench session over a real socket. A [`Youth`] speaks the youth protocol
//! (docs/protocol.md, section 1): `hello`, then turns that walk the shipped flows by
//! their choices, with some free text; every frame's `seq` is checked, so a frame
//! lost or repeated is counted. An [`Echo`] sends the same kind of frame to the
//! floor and checks the counter it carries comes back in order. A [`Peer`] speaks
//! Botkit's web adapter format to the peer. All are driven through [`Session`], so
//! the floor, relais and the peer are measured by the same loop.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use relais::protocol::{Control, Event, HandoffStatus, InputKind};

use super::{BenchError, PATIENCE};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Choice ids a bench youth never picks: they ask for a person (a handoff is its
/// own phase), lead to the urgent node, or to the anonymous reports and their
/// follow-up (hashed with argon2 on purpose, and limited per client). Others that
/// turn out to ask for a person are learned as youths walk (see `learned`).
const AVOIDED: [&str; 6] = ["parler", "personne", "urgence", "danger", "signal", "suivi"];

/// Free text that no trigger, route or label knows: always a valid turn, answered
/// by the "not understood" message with the choices again (or by the node's
/// `@sinon` where it asks for text).
pub const PLAIN_TEXT: &str = "bla bla bla";

/// Every how many turns a youth writes free text instead of choosing.
const TEXT_EVERY: u64 = 5;

/// Opens a WebSocket with small client buffers, so the bench's own memory does
/// not crowd the machine at 10,000 sessions.
pub async fn connect(url: &str) -> Result<Socket, BenchError> {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (socket, _) = tokio::time::timeout(
        PATIENCE,
        tokio_tungstenite::connect_async_with_config(url, Some(config), true),
    )
    .await
    .map_err(|_| BenchError::Timeout(format!("connecting to {url}")))??;
    Ok(socket)
}

/// A frame's framing: its `type`, and the `seq` relais puts beside a conversation
/// frame (the server's `Sequenced` wrapper only serializes, and is private), or the
/// echo's counter `n`. What the frame says is decoded with relais's own wire types
/// ([`Frame`]).
#[derive(Debug, Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    seq: Option<u64>,
    /// The echo's counter (the floor sends back what it got).
    #[serde(default)]
    n: Option<u64>,
}

/// A frame of relais's chat socket, in relais's own types (`relais::protocol`): a
/// conversation frame, or one that carries no seq.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Event(Event),
    Control(Control),
}

/// The `type`s of [`Event`]; every other frame is a [`Control`].
const EVENT_KINDS: [&str; 5] = ["bot", "handoff", "agent", "end", "youth"];

/// Decodes a chat frame with relais's wire types: its seq, and what it says. A frame
/// those types do not read is a protocol error (the bench and the server disagree).
pub fn decode(text: &str) -> Result<(Option<u64>, Frame), BenchError> {
    let head: Head<'_> = serde_json::from_str(text)
        .map_err(|e| BenchError::Protocol(format!("not a frame ({e}): {text}")))?;
    let frame = if EVENT_KINDS.contains(&head.kind.as_ref()) {
        serde_json::from_str::<Event>(text).map(Frame::Event)
    } else {
        serde_json::from_str::<Control>(text).map(Frame::Control)
    }
    .map_err(|e| BenchError::Protocol(format!("not a relais frame ({e}): {text}")))?;
    Ok((head.seq, frame))
}

/// A handoff status as on the wire (`waiting`, `unavailable`…).
pub fn status_name(status: HandoffStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// What a youth may do next, from the frame that ended the last turn.
#[derive(Debug, Clone)]
enum Waiting {
    Choices(Vec<String>),
    Text,
    Ended,
}

/// What a session counted about the frames it got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Frames whose seq (or counter) skipped ahead: that many frames never came.
    pub lost: u64,
    /// Frames whose seq (or counter) was already seen.
    pub duplicated: u64,
    /// `error` frames (rate limited, not expected…): a bench must see none.
    pub errors: u64,
    /// `handoff` frames during plain turns (a choice that asked for a person).
    pub handoffs: u64,
    /// Frames received in all.
    pub frames: u64,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.errors += other.errors;
        self.handoffs += other.handoffs;
        self.frames += other.frames;
    }
}

/// A youth's chat socket, after `hello` and the welcome's first turn.
pub struct Youth {
    socket: Socket,
    pub token: String,
    pub last_seq: u64,
    pub tally: Tally,
    /// The first `error` frame received, whole, to say what went wrong.
    pub first_error: Option<String>,
    waiting: Waiting,
    /// The choice sent in the last turn and the one before it: a `handoff` frame
    /// comes after the frame that ends its turn, so it is read in the next turn.
    last_choice: Option<String>,
    previous_choice: Option<String>,
    turns: u64,
    random: u64,
}

/// What one urgent request measured.
#[derive(Debug, Clone)]
pub struct UrgentTiming {
    /// From the text to the first bot frame of the urgent node.
    pub first_reply: Duration,
    /// From the text to the `handoff` frame (sent only after the store is flushed).
    pub handoff: Duration,
    /// The `status` of that frame (`waiting`, or `unavailable` with nobody on call).
    pub status: String,
}

impl Youth {
    /// Connects, says hello, reads the welcome and the first turn. `seed` varies
    /// the walk from one youth to the next.
    pub async fn open(url: &str, lang: &str, seed: u64) -> Result<Self, BenchError> {
        let socket = connect(url).await?;
        let mut youth = Self {
            socket,
            token: String::new(),
            last_seq: 0,
            tally: Tally::default(),
            first_error: None,
            waiting: Waiting::Ended,
            last_choice: None,
            previous_choice: None,
            turns: 0,
            random: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        };
        youth
            .send(&serde_json::json!({"type": "hello", "lang": lang}).to_string())
            .await?;
        youth.read_turn().await?;
        if youth.token.is_empty() {
            return Err(BenchError::Protocol(
                "no welcome before the first turn".into(),
            ));
        }
        Ok(youth)
    }

    /// One turn: picks what to send from the last frame, sends it, and reads until
    /// the frame that ends the turn (see `read_turn`). Returns the time from send to
    /// that frame.
    pub async fn turn(&mut self) -> Result<Duration, BenchError> {
        let frame = self.next_action();
        let sent = Instant::now();
        self.send(&frame).await?;
        self.read_turn().await?;
        Ok(sent.elapsed())
    }

    /// Writes an urgent phrase and waits for the `handoff` frame.
    pub async fn urgent(&mut self, phrase: &str) -> Result<UrgentTiming, BenchError> {
        let frame = serde_json::json!({"type": "text", "text": phrase}).to_string();
        let sent = Instant::now();
        self.send(&frame).await?;
        let mut first_reply = None;
        loop {
            let text = self.recv_text().await?;
            let frame = self.check(text.as_str())?;
            let at = sent.elapsed();
            match frame {
                Frame::Event(Event::Bot { .. }) => {
                    first_reply.get_or_insert(at);
                }
                Frame::Event(Event::Handoff { status, .. }) => {
                    return Ok(UrgentTiming {
                        first_reply: first_reply.unwrap_or(at),
                        handoff: at,
                        status: status_name(status),
                    });
                }
                Frame::Control(Control::Error { code, .. }) => {
                    return Err(BenchError::Protocol(format!(
                        "error {} instead of a handoff",
                        code.as_str()
                    )))
                }
                _ => {}
            }
        }
    }

    /// Sends a frame as it is.
    pub async fn send_frame(&mut self, frame: &str) -> Result<(), BenchError> {
        self.send(frame).await
    }

    /// Reads frames (checking their seq) until a conversation frame that `accept`s.
    pub async fn until(&mut self, accept: impl Fn(&Event) -> bool) -> Result<Event, BenchError> {
        loop {
            let text = self.recv_text().await?;
            if let Frame::Event(event) = self.check(text.as_str())? {
                if accept(&event) {
                    return Ok(event);
                }
            }
        }
    }

    /// Sends `forget` and waits for `forgotten` (the session and its request go).
    pub async fn forget(mut self) -> Result<Tally, BenchError> {
        self.send(r#"{"type":"forget"}"#).await?;
        loop {
            let text = self.recv_text().await?;
            if let Frame::Control(Control::Forgotten {}) = self.check(text.as_str())? {
                return Ok(self.tally);
            }
        }
    }

    fn next_action(&mut self) -> String {
        self.turns += 1;
        self.previous_choice = self.last_choice.take();
        let choices = match &self.waiting {
            Waiting::Ended => return r#"{"type":"restart"}"#.to_string(),
            Waiting::Text => return plain_text_frame(),
            Waiting::Choices(choices) => choices,
        };
        if self.turns.is_multiple_of(TEXT_EVERY) {
            return plain_text_frame();
        }
        let allowed: Vec<&String> = choices
            .iter()
            .filter(|id| !AVOIDED.iter().any(|avoided| id.contains(avoided)))
            .filter(|id| !learned_to_avoid(id))
            .collect();
        if allowed.is_empty() {
            return r#"{"type":"restart"}"#.to_string();
        }
        // xorshift: a cheap, reproducible walk.
        self.random ^= self.random << 13;
        self.random ^= self.random >> 7;
        self.random ^= self.random << 17;
        let id = allowed[(self.random % allowed.len() as u64) as usize].clone();
        let frame = serde_json::json!({"type": "choose", "id": id}).to_string();
        self.last_choice = Some(id);
        frame
    }

    /// Reads frames until one ends the turn (a bot frame that offers choices or asks
    /// for text, `end`, or an `error`); remembers what it offers. A `handoff` frame
    /// never ends a turn: it trails the turn that asked for a person, whose choice
    /// is then avoided.
    async fn read_turn(&mut self) -> Result<(), BenchError> {
        loop {
            let text = self.recv_text().await?;
            match self.check(text.as_str())? {
                Frame::Event(Event::Bot { choices, input, .. }) => {
                    if !choices.is_empty() {
                        self.waiting =
                            Waiting::Choices(choices.into_iter().map(|c| c.id).collect());
                        return Ok(());
                    }
                    if input != InputKind::None {
                        self.waiting = Waiting::Text;
                        return Ok(());
                    }
                }
                Frame::Event(Event::End {}) => {
                    self.waiting = Waiting::Ended;
                    return Ok(());
                }
                Frame::Event(Event::Handoff { .. }) => {
                    if let Some(choice) = self.previous_choice.take() {
                        avoid_from_now_on(choice);
                    }
                }
                Frame::Control(Control::Error { .. }) => return Ok(()),
                _ => {}
            }
        }
    }

    /// Decodes a frame, checks its seq and counts it.
    fn check(&mut self, text: &str) -> Result<Frame, BenchError> {
        let (seq, frame) = decode(text)?;
        self.tally.frames += 1;
        if let Some(seq) = seq {
            if seq <= self.last_seq {
                self.tally.duplicated += 1;
            } else {
                self.tally.lost += seq - self.last_seq - 1;
                self.last_seq = seq;
            }
        }
        match &frame {
            Frame::Control(Control::Welcome { token, .. }) => self.token.clone_from(token),
            Frame::Control(Control::Error { .. }) => {
                self.tally.errors += 1;
                self.first_error.get_or_insert_with(|| text.to_string());
            }
            Frame::Event(Event::Handoff { .. }) => self.tally.handoffs += 1,
            _ => {}
        }
        Ok(frame)
    }

    async fn send(&mut self, frame: &str) -> Result<(), BenchError> {
        send_text(&mut self.socket, frame).await
    }

    async fn recv_text(&mut self) -> Result<Utf8Bytes, BenchError> {
        recv_text(&mut self.socket).await
    }

    /// Closes the socket politely (bounded).
    pub async fn close(mut self) -> Tally {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.socket.close(None)).await;
        self.tally
    }
}

/// Choices found to ask for a person, shared by every youth of this process, so
/// each costs one handoff per run rather than one per youth.
fn learned() -> &'static Mutex<HashSet<String>> {
    static LEARNED: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    LEARNED.get_or_init(Default::default)
}

fn learned_to_avoid(id: &str) -> bool {
    learned().lock().is_ok_and(|set| set.contains(id))
}

fn avoid_from_now_on(id: String) {
    if let Ok(mut set) = learned().lock() {
        set.insert(id);
    }
}

fn plain_text_frame() -> String {
    serde_json::json!({"type": "text", "text": PLAIN_TEXT}).to_string()
}

/// A client of the echo floor: each turn sends a frame shaped like a youth's
/// `choose`, numbered, and waits for `echo_frames` copies of it.
pub struct Echo {
    socket: Socket,
    next: u64,
    echo_frames: usize,
    pub tally: Tally,
}

impl Echo {
    /// Connects and makes one round trip, so the socket is as used as a youth's.
    pub async fn open(url: &str, echo_frames: usize) -> Result<Self, BenchError> {
        let socket = connect(url).await?;
        let mut echo = Self {
            socket,
            next: 0,
            echo_frames: echo_frames.max(1),
            tally: Tally::default(),
        };
        echo.turn().await?;
        Ok(echo)
    }

    pub async fn turn(&mut self) -> Result<Duration, BenchError> {
        self.next += 1;
        let frame = format!(
            r#"{{"type":"choose","id":"menu_comprendre","n":{}}}"#,
            self.next
        );
        let sent = Instant::now();
        send_text(&mut self.socket, &frame).await?;
        for _ in 0..self.echo_frames {
            let text = recv_text(&mut self.socket).await?;
            let frame: Head<'_> = serde_json::from_str(text.as_str())
                .map_err(|e| BenchError::Protocol(format!("not an echo ({e}): {text}")))?;
            self.tally.frames += 1;
            match frame.n {
                Some(n) if n == self.next => {}
                Some(n) if n < self.next => self.tally.duplicated += 1,
                Some(n) => self.tally.lost += n - self.next,
                None => return Err(BenchError::Protocol(format!("echo without n: {text}"))),
            }
        }
        Ok(sent.elapsed())
    }

    pub async fn close(mut self) -> Tally {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.socket.close(None)).await;
        self.tally
    }
}

/// A user of the peer (Botkit's web adapter, `../shared/peers/botkit/README.md`):
/// `hello` with a user id of its own, then `message` frames whose `text` is a quick
/// reply's `payload` or, every fifth turn and wherever no quick reply is offered,
/// free text. Each turn is answered by exactly one `message` frame. The peer's frames
/// carry no `seq`: a frame that never comes is an unanswered turn; a surplus one
/// cannot be told from the next turn's answer.
pub struct Peer {
    socket: Socket,
    user: String,
    replies: Vec<String>,
    turns: u64,
    random: u64,
    pub tally: Tally,
}

/// The fields of a peer frame the bench looks at.
#[derive(Debug, Deserialize)]
struct PeerFrame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    quick_replies: Vec<QuickReply>,
}

#[derive(Debug, Deserialize)]
struct QuickReply {
    payload: String,
}

impl Peer {
    /// Connects, says hello as a user no other connection has, and reads the welcome.
    pub async fn open(url: &str, seed: u64) -> Result<Self, BenchError> {
        static USERS: AtomicU64 = AtomicU64::new(0);
        let socket = connect(url).await?;
        let user = format!(
            "bench-{}-{}",
            std::process::id(),
            USERS.fetch_add(1, Ordering::Relaxed)
        );
        let mut peer = Self {
            socket,
            user,
            replies: Vec::new(),
            turns: 0,
            random: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            tally: Tally::default(),
        };
        let hello = serde_json::json!({
            "type": "hello", "user": peer.user, "channel": "socket", "user_profile": null
        })
        .to_string();
        send_text(&mut peer.socket, &hello).await?;
        peer.read_answer().await?;
        Ok(peer)
    }

    pub async fn turn(&mut self) -> Result<Duration, BenchError> {
        self.turns += 1;
        let text = if self.replies.is_empty() || self.turns.is_multiple_of(TEXT_EVERY) {
            PLAIN_TEXT.to_string()
        } else {
            self.random ^= self.random << 13;
            self.random ^= self.random >> 7;
            self.random ^= self.random << 17;
            self.replies[(self.random % self.replies.len() as u64) as usize].clone()
        };
        let frame = serde_json::json!({
            "type": "message", "text": text, "user": self.user, "channel": "websocket"
        })
        .to_string();
        let sent = Instant::now();
        send_text(&mut self.socket, &frame).await?;
        self.read_answer().await?;
        Ok(sent.elapsed())
    }

    /// The one `message` frame that answers a turn; remembers its quick replies.
    async fn read_answer(&mut self) -> Result<(), BenchError> {
        loop {
            let text = recv_text(&mut self.socket).await?;
            let frame: PeerFrame = serde_json::from_str(text.as_str())
                .map_err(|e| BenchError::Protocol(format!("not a peer frame ({e}): {text}")))?;
            self.tally.frames += 1;
            if frame.kind == "message" {
                self.replies = frame.quick_replies.into_iter().map(|q| q.payload).collect();
                return Ok(());
            }
        }
    }

    pub async fn close(mut self) -> Tally {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.socket.close(None)).await;
        self.tally
    }
}

/// A youth, an echo client or a user of the peer, driven by the same loop.
pub enum Session {
    Youth(Youth),
    Echo(Echo),
    Peer(Peer),
}

impl Session {
    pub async fn turn(&mut self) -> Result<Duration, BenchError> {
        match self {
            Session::Youth(youth) => youth.turn().await,
            Session::Echo(echo) => echo.turn().await,
            Session::Peer(peer) => peer.turn().await,
        }
    }

    pub fn tally(&self) -> Tally {
        match self {
            Session::Youth(youth) => youth.tally,
            Session::Echo(echo) => echo.tally,
            Session::Peer(peer) => peer.tally,
        }
    }

    /// The first `error` frame a youth received (the floor sends none).
    pub fn first_error(&self) -> Option<&str> {
        match self {
            Session::Youth(youth) => youth.first_error.as_deref(),
            Session::Echo(_) | Session::Peer(_) => None,
        }
    }

    pub async fn close(self) -> Tally {
        match self {
            Session::Youth(youth) => youth.close().await,
            Session::Echo(echo) => echo.close().await,
            Session::Peer(peer) => peer.close().await,
        }
    }
}

async fn send_text(socket: &mut Socket, frame: &str) -> Result<(), BenchError> {
    tokio::time::timeout(PATIENCE, socket.send(Message::Text(frame.into())))
        .await
        .map_err(|_| BenchError::Timeout("sending a frame".into()))??;
    Ok(())
}

/// The next text frame; pings are answered by tungstenite as it reads.
async fn recv_text(socket: &mut Socket) -> Result<Utf8Bytes, BenchError> {
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .map_err(|_| BenchError::Timeout("waiting for a frame".into()))?
            .ok_or_else(|| BenchError::Protocol("the server closed the socket".into()))??;
        match message {
            Message::Text(text) => return Ok(text),
            Message::Close(close) => {
                return Err(BenchError::Protocol(format!(
                    "closed by the server: {close:?}"
                )))
            }
            _ => continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A stand-in for Botkit's web adapter: a welcome with two quick replies after
    /// `hello`, then one frame per `message`; free text at a menu gets a prompt with
    /// no quick replies (as the real dialog's question). It keeps what it was sent.
    async fn fake_peer(seen: Arc<Mutex<Vec<serde_json::Value>>>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
                    let mut prompted = false;
                    while let Some(Ok(Message::Text(text))) = ws.next().await {
                        let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
                        let free = frame["type"] == "message" && frame["text"] == PLAIN_TEXT;
                        seen.lock().unwrap().push(frame);
                        // Free text at a menu gets the prompt; the answer to the
                        // prompt, the menu again.
                        prompted = free && !prompted;
                        let answer = if prompted {
                            serde_json::json!({"type": "message", "text": "Please type"})
                        } else {
                            serde_json::json!({"type": "message", "text": "Menu",
                                "quick_replies": [{"title": "A", "payload": "alcohol"},
                                                  {"title": "D", "payload": "drugs"}]})
                        };
                        ws.send(Message::Text(answer.to_string().into()))
                            .await
                            .unwrap();
                    }
                });
            }
        });
        format!("ws://{addr}/")
    }

    #[tokio::test]
    async fn a_peer_user_says_hello_as_itself_and_answers_with_quick_replies() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let url = fake_peer(seen.clone()).await;
        let mut first = Peer::open(&url, 1).await.unwrap();
        let mut second = Peer::open(&url, 2).await.unwrap();
        for _ in 0..12 {
            first.turn().await.unwrap();
            second.turn().await.unwrap();
        }
        // One frame per turn, plus the welcome.
        assert_eq!(first.tally.frames, 13);
        let seen = seen.lock().unwrap();
        let hellos: Vec<&serde_json::Value> =
            seen.iter().filter(|f| f["type"] == "hello").collect();
        assert_eq!(hellos.len(), 2);
        assert_ne!(hellos[0]["user"], hellos[1]["user"]);
        let mut free = 0;
        for frame in seen.iter().filter(|f| f["type"] == "message") {
            assert!(
                hellos.iter().any(|h| h["user"] == frame["user"]),
                "a message from a user that never said hello: {frame}"
            );
            match frame["text"].as_str().unwrap() {
                "alcohol" | "drugs" => {}
                PLAIN_TEXT => free += 1,
                other => panic!("neither a quick reply nor free text: {other}"),
            }
        }
        // Every fifth turn, and the turn after each (the prompt offers no reply).
        assert_eq!(free, 2 * 2 * 2, "{seen:#?}");
    }
}
