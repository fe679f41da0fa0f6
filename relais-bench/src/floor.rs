//! The floor: a bare axum WebSocket echo server, with the same socket settings as
//! relais's youth socket (read buffer, write buffer, largest message, TCP_NODELAY),
//! on a multi-threaded tokio runtime like relais's. It answers each text
//! frame with `echo_frames` copies of it, so a turn of several bot frames can be
//! compared with an echo of as many frames.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;

use super::SocketSettings;

/// How the floor serves.
#[derive(Debug, Clone, Copy)]
pub struct FloorOptions {
    pub socket: SocketSettings,
    /// Frames sent back for each frame received (1 = a plain echo).
    pub echo_frames: usize,
    /// Sets TCP_NODELAY on accepted sockets, as relais's accept loop does.
    pub nodelay: bool,
}

impl Default for FloorOptions {
    fn default() -> Self {
        Self {
            socket: SocketSettings::default(),
            echo_frames: 1,
            nodelay: true,
        }
    }
}

/// The floor's router: `GET /chat` upgrades to the echo socket.
pub fn app(options: FloorOptions) -> Router {
    Router::new()
        .route("/chat", get(upgrade))
        .with_state(options)
}

/// Serves the floor on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    options: FloorOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app(options);
    if options.nodelay {
        let listener = listener.tap_io(|tcp| {
            // Best effort, as axum's own example does: a socket that refuses keeps Nagle.
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    } else {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

async fn upgrade(State(options): State<FloorOptions>, ws: WebSocketUpgrade) -> Response {
    let socket = options.socket;
    ws.read_buffer_size(socket.read_buffer)
        .write_buffer_size(socket.write_buffer)
        .max_write_buffer_size(socket.max_message * 2)
        .max_message_size(socket.max_message)
        .max_frame_size(socket.max_message)
        .on_upgrade(move |socket| echo(socket, options.echo_frames.max(1)))
}

async fn echo(mut socket: WebSocket, copies: usize) {
    while let Some(Ok(message)) = socket.recv().await {
        match message {
            Message::Text(text) => {
                for _ in 0..copies {
                    if socket.send(Message::Text(text.clone())).await.is_err() {
                        return;
                    }
                }
            }
            Message::Binary(bytes) => {
                if socket.send(Message::Binary(bytes)).await.is_err() {
                    return;
                }
            }
            Message::Close(_) => return,
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
}

/// `relais-bench floor`: binds `listen`, says where on standard output (the line
/// [`super::process::Listening`] reads, as the tests read relais's), and serves until
/// SIGTERM.
pub async fn run(listen: std::net::SocketAddr, options: FloorOptions) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    println!("floor listening on http://{}", listener.local_addr()?);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    serve(listener, options, async move {
        terminate.recv().await;
    })
    .await
}
