//! Starts a real relais for integration tests — in this process on `127.0.0.1:0`
//! (`TestServer`), or as the `relais` binary (`ServerProcess`, with the bench's process
//! code from the `relais-bench` crate) for restarts and kills — and talks to it over
//! real sockets (`Youth`, `Console`, `Api`).

pub mod shipped;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use relais::clock::Clock;
use relais::config::Config;
use relais::server::AppState;
use relais::store::Store;
use relais_bench::process::{serve_command, Listening};

/// How long a test waits for a frame before it fails (a guard, not a timing).
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The stable flows the tests walk (the shipped ones change with the content).
pub fn fixture_flows() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flows")
}

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Lets the server's tasks run what is due now in a paused test (timers that
/// `advance` made due, a few round trips on loopback), without moving time.
pub async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

/// A configuration for tests: fixture flows, a data folder, port 0.
pub fn test_config(data_dir: &Path, flows_dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        flows_dir: flows_dir.to_path_buf(),
        web_dir: repo_path("web"),
        ..Config::default()
    }
}

/// A server's state on a store in `config.data_dir`, not serving: for calls through
/// the router alone ([`call_app`]).
pub fn app_state(config: Config, clock: Clock) -> AppState {
    let store = Store::open(&config.data_dir).expect("store opens");
    let (_stop, stopped) = watch::channel(false);
    AppState::with_store(config, store, clock, stopped).expect("state")
}

/// One request through `app()` with `oneshot`, no socket (so paused time cannot
/// disturb it): the status and the JSON body (null when there is none).
pub async fn call_app(
    state: &AppState,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (axum::http::StatusCode, Value) {
    let (status, _, body) = request_app(state, method, path, token, body).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// One request through `app()` with `oneshot`: status, headers and body bytes.
pub async fn request_app(
    state: &AppState,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (axum::http::StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string())),
        None => request.body(axum::body::Body::empty()),
    }
    .expect("a valid request");
    let response = relais::server::app(state.clone())
        .oneshot(request)
        .await
        .expect("the router answers");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .expect("a body that fits");
    (parts.status, parts.headers, bytes.to_vec())
}

/// A server running in this process.
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(config: Config) -> Self {
        Self::start_with(config, |_| {}).await
    }

    /// Starts with a temporary in-memory store.
    pub async fn start_with(config: Config, tweak: impl FnOnce(&mut AppState)) -> Self {
        Self::start_at(config, Clock::system(), tweak).await
    }

    /// Starts with a clock of the test's choosing (a schedule at a known hour).
    pub async fn start_at(config: Config, clock: Clock, tweak: impl FnOnce(&mut AppState)) -> Self {
        let store = Store::open(&config.data_dir).expect("store opens");
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut state = AppState::with_store(config, store, clock, stop_rx).expect("state");
        tweak(&mut state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        let handle = tokio::spawn(async move {
            relais::server::serve(listener, serving, stop_tx, async move {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        // The listener is bound already; this waits until the server accepts, which
        // is after the flows watcher is set up.
        let health = reqwest::get(format!("http://{addr}/healthz"))
            .await
            .expect("the server answers");
        assert_eq!(health.status(), 200);
        Self {
            addr,
            state,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn youth(&self) -> Youth {
        Youth::connect(&self.ws_url("/chat")).await
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = tokio::time::timeout(PATIENCE, handle).await;
        }
    }
}

/// The `relais` binary, started on port 0 with a data folder: spawned, read and stopped
/// by the bench's own process code (`relais_bench::process`), so there is one way to
/// do it.
pub struct ServerProcess {
    pub addr: String,
    process: Listening,
}

impl ServerProcess {
    pub async fn start(data_dir: &Path, flows_dir: &Path) -> Self {
        Self::start_with(data_dir, flows_dir, &[("RELAIS_LOG", "warn")], None).await
    }

    /// Starts with extra environment variables, its log written to `log` if given.
    pub async fn start_with(
        data_dir: &Path,
        flows_dir: &Path,
        env: &[(&str, &str)],
        log: Option<std::fs::File>,
    ) -> Self {
        let mut command = serve_command(
            Path::new(env!("CARGO_BIN_EXE_relais")),
            data_dir,
            flows_dir,
            &repo_path("web"),
        );
        command
            .envs(env.iter().copied())
            .stderr(log.map_or_else(Stdio::inherit, Stdio::from));
        let process = Listening::spawn(command, "relais")
            .await
            .expect("relais starts and says where it listens");
        Self {
            addr: process.addr.to_string(),
            process,
        }
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Ends the process at once (SIGKILL): nothing is flushed on the way out.
    pub async fn kill(mut self) {
        self.process.kill().await.unwrap();
    }

    /// Asks the process to stop (SIGTERM) and waits for it.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        self.process
            .terminate()
            .await
            .expect("stops within a few seconds")
    }
}

/// Adds an intervenor account with the binary (the server must be stopped).
pub fn add_intervenor(data_dir: &Path, login: &str, name: &str, supervisor: bool, password: &str) {
    relais_bench::process::add_intervenor(
        Path::new(env!("CARGO_BIN_EXE_relais")),
        data_dir,
        login,
        name,
        supervisor.then_some("supervisor"),
        password,
    )
    .expect("intervenor add succeeds");
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A youth's chat socket.
pub struct Youth {
    pub socket: Socket,
    pub token: String,
    pub last_seq: u64,
}

impl Youth {
    pub async fn connect(url: &str) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("chat socket opens");
        Self {
            socket,
            token: String::new(),
            last_seq: 0,
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("frame sent");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.expect("frame sent");
    }

    /// The next frame, parsed; tracks `seq` and the token.
    pub async fn recv(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a frame arrives in time")
                .expect("the socket is open")
                .expect("a valid frame");
            match message {
                Message::Text(text) => {
                    let frame: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
                    if let Some(seq) = frame["seq"].as_u64() {
                        self.last_seq = seq;
                    }
                    if frame["type"] == "welcome" {
                        self.token = frame["token"].as_str().unwrap().to_string();
                    }
                    return frame;
                }
                Message::Close(frame) => panic!("closed unexpectedly: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The close code, once the server closes.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("closes in time")
            {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Receives until a frame of `kind` arrives; returns it and what came before.
    pub async fn until(&mut self, kind: &str) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let frame = self.recv().await;
            if frame["type"] == kind {
                return (frame, before);
            }
            before.push(frame);
        }
    }

    /// Receives until a bot frame that offers choices or asks for text: the flow waits.
    pub async fn until_waiting(&mut self) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let frame = self.recv().await;
            let waits = frame["type"] == "bot"
                && (frame["choices"].as_array().is_some_and(|c| !c.is_empty())
                    || frame["input"] == "text");
            let ends = frame["type"] == "end" || frame["type"] == "handoff";
            frames.push(frame);
            if waits || ends {
                return frames;
            }
        }
    }

    /// Says hello and reads the welcome.
    pub async fn hello(&mut self, lang: &str) -> Value {
        self.send(json!({"type": "hello", "lang": lang})).await;
        let welcome = self.recv().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        welcome
    }

    pub async fn choose(&mut self, id: &str) {
        self.send(json!({"type": "choose", "id": id})).await;
    }

    pub async fn text(&mut self, text: &str) {
        self.send(json!({"type": "text", "text": text})).await;
    }
}

/// The labels of a bot frame's choices, and their ids.
pub fn choice_id(frame: &Value, label_part: &str) -> String {
    frame["choices"]
        .as_array()
        .expect("choices")
        .iter()
        .find(|c| c["label"].as_str().unwrap().contains(label_part))
        .unwrap_or_else(|| panic!("no choice with {label_part:?} in {frame}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The console's HTTP API.
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
    pub token: String,
}

impl Api {
    pub async fn login(base: &str, username: &str, password: &str) -> Self {
        let client = reqwest::Client::new();
        let response = client
            .post(format!("{base}/api/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "login of {username}");
        let body: Value = response.json().await.unwrap();
        Self {
            base: base.to_string(),
            client,
            token: body["token"].as_str().unwrap().to_string(),
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn on_call(&self, on: bool) {
        let (status, _) = self
            .call(
                reqwest::Method::PUT,
                "/api/me/on_call",
                Some(json!({"on_call": on})),
            )
            .await;
        assert_eq!(status, 204);
    }

    pub async fn queue(&self) -> Vec<Value> {
        let (status, body) = self.call(reqwest::Method::GET, "/api/handoffs", None).await;
        assert_eq!(status, 200);
        body.as_array().unwrap().clone()
    }

    pub async fn claim(&self, id: u64) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            &format!("/api/handoffs/{id}/claim"),
            None,
        )
        .await
    }
}

/// An intervenor's console socket.
pub struct Console {
    pub socket: Socket,
}

impl Console {
    pub async fn connect(url: &str, token: &str) -> Self {
        let (mut socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("console socket opens");
        socket
            .send(Message::Text(
                json!({"type": "auth", "token": token}).to_string().into(),
            ))
            .await
            .unwrap();
        let mut console = Self { socket };
        let (ready, _) = console.until("ready").await;
        assert_eq!(ready["type"], "ready");
        console
    }

    pub async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::Text(frame.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn recv(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a console frame arrives in time")?;
            match message {
                Ok(Message::Text(text)) => {
                    return Some(serde_json::from_str(text.as_str()).unwrap())
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    pub async fn until(&mut self, kind: &str) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let frame = self
                .recv()
                .await
                .unwrap_or_else(|| panic!("console closed before {kind}"));
            if frame["type"] == kind {
                return (frame, before);
            }
            before.push(frame);
        }
    }

    /// Waits for a queue frame that satisfies `test`.
    pub async fn queue_where(&mut self, test: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        loop {
            let (frame, _) = self.until("queue").await;
            let items = frame["items"].as_array().unwrap().clone();
            if test(&items) {
                return items;
            }
        }
    }
}

/// Copies a folder, recursively (tests edit a copy of the flows).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every regular file under a folder, recursively.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if path.is_file() {
            // Regular files only: the running server's admin socket is no file to read.
            out.push(path);
        }
    }
    out
}

/// Which of these markers appear, byte for byte, in which of these files.
pub fn markers_in(paths: &[PathBuf], markers: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).unwrap();
        for marker in markers {
            if bytes.windows(marker.len()).any(|w| w == marker.as_bytes()) {
                found.push(format!("{marker} in {}", path.display()));
            }
        }
    }
    found
}

/// Scripted day: 7 French and 3 English conversations; 6 normal requests and 1
/// urgent; 5 closed as resolved, 1 referred. Returns the youths' tokens. The privacy
/// tests look for them in the counters; the impact tests render the day's figures.
pub async fn scripted_day(data: &Path, password: &str) -> Vec<String> {
    let server = TestServer::start_with(test_config(data, &fixture_flows()), |state| {
        state
            .accounts
            .add(
                "sam",
                "Sam",
                relais::store::records::Role::Intervenor,
                password,
            )
            .unwrap();
    })
    .await;
    let api = Api::login(&server.http_url(""), "sam", password).await;
    let mut console = Console::connect(&server.ws_url("/console"), &api.token).await;
    api.on_call(true).await;
    let mut tokens = Vec::new();
    let mut youths = Vec::new();
    for n in 0..10 {
        let lang = if n < 7 { "fr" } else { "en" };
        let mut youth = server.youth().await;
        youth.hello(lang).await;
        youth.until_waiting().await;
        if n < 6 {
            youth.choose("menu_parler").await;
            youth.until("handoff").await;
        } else if n == 6 {
            youth.text("je veux mourir").await;
            youth.until("handoff").await;
        }
        tokens.push(youth.token.clone());
        youths.push(youth);
    }
    let items = console.queue_where(|items| items.len() == 7).await;
    for (index, item) in items.iter().take(6).enumerate() {
        let id = item["id"].as_u64().unwrap();
        assert_eq!(api.claim(id).await.0, 200);
        let outcome = if index < 5 { "resolved" } else { "referred" };
        let (status, _) = api
            .call(
                reqwest::Method::POST,
                &format!("/api/handoffs/{id}/close"),
                Some(json!({"outcome": outcome})),
            )
            .await;
        assert_eq!(status, 204);
    }
    server.stop().await;
    tokens
}
