//! The server: its state, its router (`app`), and `run`, which serves on a listener
//! until told to stop, then closes sockets with 1001 and flushes the store. Tests
//! start the real thing with `run` on `127.0.0.1:0`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower_http::services::ServeFile;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::clock::Clock;
use crate::config::Config;
use crate::flow::library::{self, LibraryError};
use crate::flow::FlowLibrary;
use crate::handoff::accounts::Accounts;
use crate::handoff::Handoffs;
use crate::limits::Limits;
use crate::session::Sessions;
use crate::stats::Stats;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the store in {path}: {source}")]
    Store { path: String, source: StoreError },
    #[error("the flows in {path} cannot be loaded: {source}")]
    Flows { path: String, source: LibraryError },
    #[error(transparent)]
    Store2(#[from] StoreError),
    #[error("cannot watch the flows folder: {0}")]
    Watch(#[from] notify::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Oncall(#[from] crate::handoff::escalation::OncallError),
}

/// Everything the server holds; cheap to clone (handles only). Each field is also
/// a `FromRef` slice, so a feature's handlers take only what they use (the
/// features' own states, such as `authors::AuthorsState`, are made from it here).
#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    /// The configuration; written once at start.
    pub config: Arc<Config>,
    /// The store; every part writes its own trees through typed methods.
    pub store: Store,
    pub clock: Clock,
    /// Flow versions; written by the reload watcher, read by every turn.
    pub flows: Arc<FlowLibrary>,
    /// Youth sessions; written by the chat socket and the handoff.
    pub sessions: Arc<Sessions>,
    /// Intervenor accounts and console logins.
    pub accounts: Arc<Accounts>,
    /// The handoff queue, the roster and the consoles.
    pub handoffs: Arc<Handoffs>,
    /// Rate limits and client keys (memory only).
    pub limits: Arc<Limits>,
    /// Anonymous counters, written off the hot path.
    pub stats: Arc<Stats>,
    /// Anonymous reports with their receipts.
    pub reports: Arc<crate::reports::Reports>,
    /// Push, pager webhook and schedule (issue 15); made once at start.
    pub oncall: Arc<crate::handoff::escalation::Oncall>,
    /// Places for youth sockets; none left means `server_busy`.
    pub youth_sockets: Arc<Semaphore>,
    /// Turns true when the server stops; sockets close with 1001.
    pub shutdown: watch::Receiver<bool>,
    /// The staff audit trail.
    pub audit: Arc<crate::audit::Audit>,
    /// One-time enrolment codes (invitations, resets).
    pub enrolments: Arc<crate::handoff::staff::Enrolments>,
    /// Sessions refused a person after abuse.
    pub blocks: Arc<crate::abuse::Blocks>,
}

impl axum::extract::FromRef<AppState> for crate::handoff::HandoffApp {
    fn from_ref(app: &AppState) -> Self {
        Self {
            config: app.config.clone(),
            store: app.store.clone(),
            clock: app.clock,
            accounts: app.accounts.clone(),
            handoffs: app.handoffs.clone(),
            limits: app.limits.clone(),
            stats: app.stats.clone(),
            oncall: app.oncall.clone(),
            audit: app.audit.clone(),
            enrolments: app.enrolments.clone(),
            blocks: app.blocks.clone(),
            shutdown: app.shutdown.clone(),
        }
    }
}

impl axum::extract::FromRef<AppState> for crate::chat::ChatState {
    fn from_ref(app: &AppState) -> Self {
        Self {
            config: app.config.clone(),
            clock: app.clock,
            flows: app.flows.clone(),
            sessions: app.sessions.clone(),
            handoffs: app.handoffs.clone(),
            limits: app.limits.clone(),
            stats: app.stats.clone(),
            reports: app.reports.clone(),
            youth_sockets: app.youth_sockets.clone(),
            shutdown: app.shutdown.clone(),
            blocks: app.blocks.clone(),
        }
    }
}

impl AppState {
    /// Opens the store and loads the flows.
    pub(crate) fn open(
        config: Config,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, StartError> {
        let store = Store::open(&config.data_dir).map_err(|source| StartError::Store {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        Self::with_store(config, store, Clock::system(), shutdown)
    }

    pub fn with_store(
        config: Config,
        store: Store,
        clock: Clock,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, StartError> {
        let flows = FlowLibrary::load(
            &config.flows_dir,
            &config.start_node,
            store.clone(),
            clock.now_secs(),
        )
        .map_err(|source| StartError::Flows {
            path: config.flows_dir.display().to_string(),
            source,
        })?;
        let flows = Arc::new(flows);
        let sessions = Arc::new(
            Sessions::new(store.clone(), clock, config.sessions.frame_log)
                .expiring_after(config.sessions.idle_expiry_secs),
        );
        let accounts = Arc::new(Accounts::new(store.clone(), clock, config.console.clone()));
        let stats = Arc::new(Stats::new(clock));
        let handoffs = Arc::new(Handoffs::load(crate::handoff::HandoffParts {
            store: store.clone(),
            clock,
            config: config.handoff.clone(),
            max_queue: config.limits.max_queue,
            sessions: sessions.clone(),
            flows: flows.clone(),
            accounts: accounts.clone(),
            stats: stats.clone(),
        })?);
        let reports = Arc::new(crate::reports::Reports::open(
            store.clone(),
            clock,
            config.reports.retention_days,
        )?);
        // The consoles hear of every report made or changed (weak handles: the
        // reports must not keep the queue alive, nor the other way round).
        let (hub, told) = (Arc::downgrade(&handoffs), Arc::downgrade(&reports));
        reports.on_change(move |id, new| {
            if let (Some(hub), Some(reports)) = (hub.upgrade(), told.upgrade()) {
                hub.report_changed(&reports, id, new);
            }
        });
        let oncall = Arc::new(crate::handoff::escalation::Oncall::open(
            &config, &store, clock,
        )?);
        let audit = Arc::new(crate::audit::Audit::open(
            &store,
            clock,
            config.operations.audit_retention_days,
        )?);
        let enrolments = Arc::new(crate::handoff::staff::Enrolments::open(&store)?);
        let blocks = Arc::new(crate::abuse::Blocks::open(
            &store,
            clock,
            config.operations.abuse_block_hours,
        )?);
        Ok(Self {
            oncall,
            audit,
            enrolments,
            blocks,
            reports,
            limits: Arc::new(Limits::new(config.limits.clone(), clock)),
            youth_sockets: Arc::new(Semaphore::new(config.limits.max_youth_sockets)),
            stats,
            config: Arc::new(config),
            store,
            clock,
            flows,
            sessions,
            accounts,
            handoffs,
            shutdown,
        })
    }
}

/// The router: pages, the chat and console sockets, the API, health.
pub fn app(state: AppState) -> Router {
    let web = &state.config.web_dir;
    let security = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    let handoff = crate::handoff::HandoffApp::from_ref(&state);
    let mut router = Router::new()
        .route("/chat", get(crate::chat::ws::upgrade))
        .route("/console", get(crate::handoff::console::upgrade))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/chat-config", get(chat_config))
        .merge(crate::handoff::api::routes().with_state(handoff.clone()))
        .merge(
            crate::reports::api::routes().with_state(crate::reports::api::ReportsApiState {
                reports: state.reports.clone(),
                audit: state.audit.clone(),
                stats: state.stats.clone(),
                accounts: state.accounts.clone(),
                limits: state.limits.clone(),
                config: state.config.clone(),
            }),
        )
        .merge(crate::handoff::staff::routes().with_state(handoff.clone()))
        .merge(crate::handoff::supervision::routes().with_state(handoff.clone()))
        .merge(
            crate::authors::routes().with_state(crate::authors::AuthorsState {
                flows: state.flows.clone(),
                config: state.config.clone(),
                accounts: state.accounts.clone(),
                limits: state.limits.clone(),
            }),
        )
        .merge(crate::handoff::push::routes().with_state(handoff))
        .route_layer(axum::middleware::from_fn(access_log))
        .route_service("/", ServeFile::new(web.join("index.html")))
        .route_service("/intervenants", ServeFile::new(web.join("console.html")))
        .route_service("/auteurs", ServeFile::new(web.join("authors.html")))
        // The console's service worker, at the root so that its scope can be
        // `/intervenants` (it never controls the youth page).
        .route_service(
            "/intervenants-sw.js",
            ServeFile::new(web.join("static/sw.js")),
        )
        .nest_service(
            "/static",
            tower_http::services::ServeDir::new(web.join("static")),
        )
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            state.config.limits.max_body_bytes,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.config.limits.http_timeout_secs.max(1)),
        ));
    for (name, value) in security {
        router = router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router.with_state(state)
}

/// The access log: method, route (the pattern, never the path's values) and
/// status. Nothing else: no address, no user agent, no query.
async fn access_log(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "-".into());
    let response = next.run(request).await;
    tracing::debug!(target: "relais::access", %method, %route, status = response.status().as_u16());
    response
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(app): State<AppState>) -> Response {
    if app.store.is_open() {
        Json(crate::protocol::Ready {
            flows: app.flows.current().version.clone(),
            ready: true,
        })
        .into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "store not open").into_response()
    }
}

/// Operational metrics, Prometheus text format.
async fn metrics(State(app): State<AppState>) -> Response {
    let queue = app.handoffs.list();
    let waiting = |urgent: bool| {
        queue
            .iter()
            .filter(|i| i.urgent == urgent && i.status == crate::protocol::QueueStatus::Waiting)
            .count() as u64
    };
    let gauges = crate::metrics::Gauges {
        youth_sockets: (app.config.limits.max_youth_sockets - app.youth_sockets.available_permits())
            as u64,
        consoles: app.handoffs.consoles() as u64,
        queue_urgent: waiting(true),
        queue_normal: waiting(false),
        claimed: queue
            .iter()
            .filter(|i| i.status == crate::protocol::QueueStatus::Claimed)
            .count() as u64,
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.stats.metrics.render(&gauges),
    )
        .into_response()
}

/// What the youth page needs to know: languages and where quick exit goes.
async fn chat_config(State(app): State<AppState>) -> Response {
    Json(crate::protocol::ChatConfig {
        languages: app.flows.current().languages(),
        quick_exit_url: app.config.quick_exit_url.clone(),
    })
    .into_response()
}

/// Serves until `shutdown` completes; then closes every socket with 1001, waits a
/// little for them, writes the counters and flushes the store.
pub(crate) async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let state = AppState::open(config, stop_rx)?;
    serve(listener, state, stop_tx, shutdown).await
}

/// Serves a prepared state (tests use it with a temporary store or a paused clock).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    stop_tx: watch::Sender<bool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let (watcher, watching) = library::watch_folder(state.flows.clone(), state.clock)?;
    let background = spawn_background(state.clone());
    let following = crate::handoff::escalation::spawn(crate::handoff::HandoffApp::from_ref(&state));
    let metrics_server = match state.config.metrics_listen {
        Some(address) => Some(serve_metrics(address, state.clone(), stop_tx.subscribe()).await?),
        None => None,
    };
    let presence = crate::handoff::presence::spawn(state.handoffs.clone());
    let address = listener.local_addr()?;
    // Without the admin socket (a data folder path too long for one, say) the server
    // still serves; the command line then says the store is in use.
    let admin = crate::admin::listen(crate::handoff::HandoffApp::from_ref(&state))
        .map_err(|e| tracing::warn!(error = %e, "no admin socket in the data folder"))
        .ok();
    // "listening" is said once the admin socket is there too: a command run right
    // after it reaches the server, not a locked store.
    tracing::info!(%address, "relais listening");
    let router = app(state.clone());
    let header_timeout = Duration::from_secs(state.config.limits.handshake_timeout_secs.max(1));
    let mut stopped = stop_tx.subscribe();
    // Connections at once: every youth socket, and room for consoles and pages.
    let connections = Arc::new(Semaphore::new(
        state.config.limits.max_youth_sockets + crate::limits::MAX_CONSOLE_SOCKETS + 1024,
    ));
    let accepting = tokio::spawn(accept_loop(
        listener,
        router,
        stop_tx.subscribe(),
        header_timeout,
        connections,
    ));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let _ = stopped.wait_for(|stop| *stop).await;
    // Sockets close with 1001; give them a moment, then flush.
    let max = state.config.limits.max_youth_sockets;
    for _ in 0..50 {
        if state.youth_sockets.available_permits() == max {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(3), accepting).await;
    background.abort();
    following.abort();
    presence.abort();
    watching.abort();
    if let Some(metrics_server) = metrics_server {
        let _ = tokio::time::timeout(Duration::from_secs(3), metrics_server).await;
    }
    if let Some(admin) = admin {
        admin.stop();
    }
    drop(watcher);
    // Wait for both to be gone: they hold the store, which a restart reopens.
    let _ = background.await;
    let _ = following.await;
    let _ = presence.await;
    let _ = watching.await;
    if let Err(e) = state.stats.flush(&state.store) {
        tracing::error!(error = %e, "could not write the counters at shutdown");
    }
    state.store.flush().await?;
    tracing::info!("relais stopped");
    Ok(())
}

/// Serves `/metrics` alone on its own address until told to stop.
async fn serve_metrics(
    address: std::net::SocketAddr,
    state: AppState,
    mut stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let listener = TcpListener::bind(address).await?;
    tracing::info!(address = %listener.local_addr()?, "metrics listening");
    let router = Router::new()
        .route("/metrics", get(metrics))
        .with_state(state);
    Ok(tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stop| *stop).await;
            })
            .await;
    }))
}

/// Accepts connections until told to stop. A client has `header_timeout` to send
/// its request head (a slow client cannot hold a connection open without speaking);
/// WebSocket upgrades are served; the peer address reaches the limits (and nothing
/// else) as `ConnectInfo`.
async fn accept_loop(
    listener: TcpListener,
    router: Router,
    mut stop: watch::Receiver<bool>,
    header_timeout: Duration,
    connections: Arc<Semaphore>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::Service;

    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let builder = builder.http1_only();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    if *stop.borrow_and_update() {
        return;
    }
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow_and_update() {
                    break;
                }
                continue;
            }
        };
        // Past the ceiling a connection is closed at once (the file descriptors of
        // the process are not for one client to take).
        let Ok(place) = connections.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                router.clone().call(request)
            },
        );
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(place);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(3), graceful.shutdown()).await;
}

/// The periodic tasks: purge, queue timeouts, expired consoles, counters, limiter keys.
fn spawn_background(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let purge_every = state.config.sessions.purge_every_secs.max(1);
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let mut ticks: u64 = 0;
        // Counters are written every 30 s, and at once when the day changes, so a day's
        // figures are complete on disk soon after midnight.
        let mut counted_day = crate::impact::day_of(state.clock.now_secs());
        loop {
            tick.tick().await;
            if let Err(e) = state.handoffs.tick() {
                tracing::error!(error = %e, "queue timeout check failed");
            }
            let today = crate::impact::day_of(state.clock.now_secs());
            if ticks.is_multiple_of(6) || today != counted_day {
                counted_day = today;
                state.handoffs.close_expired_consoles();
                state.sessions.evict_detached();
                let flushing = state.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    if let Err(e) = flushing.stats.flush(&flushing.store) {
                        tracing::error!(error = %e, "could not write the counters");
                    }
                })
                .await;
            }
            if ticks.is_multiple_of((purge_every / 5).max(1)) {
                let purging = state.clone();
                let _ = tokio::task::spawn_blocking(move || purge(&purging)).await;
            }
            ticks += 1;
        }
    })
}

/// Deletes expired sessions (telling any intervenor holding one), expired console
/// logins, and forgets old limiter keys.
pub fn purge(state: &AppState) {
    let idle = state.config.sessions.idle_expiry_secs;
    match state.sessions.purge_expired(idle) {
        Ok(_) => {
            if let Err(e) = state.handoffs.drop_orphans() {
                tracing::error!(error = %e, "could not drop requests of expired sessions");
            }
        }
        Err(e) => tracing::error!(error = %e, "session purge failed"),
    }
    if let Err(e) = state.reports.purge() {
        tracing::error!(error = %e, "purge of old reports failed");
    }
    if let Err(e) = state.handoffs.purge_closed() {
        tracing::error!(error = %e, "purge of closed conversations failed");
    }
    if let Err(e) = state.audit.purge() {
        tracing::error!(error = %e, "purge of the old audit trail failed");
    }
    if let Err(e) = state.accounts.purge_tokens() {
        tracing::error!(error = %e, "token purge failed");
    }
    state.limits.evict_old_keys();
}
