//! Web Push to the intervenors' devices: RFC 8030 (push), RFC 8291 (message
//! encryption, done by the `web-push-native` crate) and RFC 8292 (VAPID: an ES256
//! JWT signed with `p256`, whose audience is the push service's origin, port
//! included). The VAPID key pair is made on first start and kept in the data folder
//! (`DATA/vapid.key`, readable by the server only).
//!
//! A device opts in from the console; its subscription (endpoint and keys) is kept
//! with the account in the `push_subscriptions` tree, and removed at logout, when the
//! account is gone, or when the push service answers 404 or 410. A notification says
//! only how the queue stands ("Demande urgente en attente · 2 dans la file"), never
//! anything a youth wrote; a tap opens the console at the queue.
//!
//! The HTTP API is here too: `GET /api/push`, `PUT` and `DELETE /api/push/subscription`,
//! `POST /api/push/test`, and `GET /api/oncall` (the schedule and who is on call).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde::Deserialize;

use super::api::{ApiJson, Authed};
use super::HandoffApp;
use crate::clock::Clock;
use crate::config::PushConfig;
use crate::error::ApiError;
use crate::messages::{say, Text};
use crate::store::{Store, StoreError};

/// Where a tap on a notification leads: the console's queue.
pub(crate) const QUEUE_URL: &str = "/intervenants#file";
/// Devices one account may have subscribed (the oldest goes beyond).
const PER_ACCOUNT: usize = 10;
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("the VAPID key in {path} cannot be read or made: {source}")]
    Key {
        path: String,
        source: std::io::Error,
    },
    #[error("the VAPID key in {0} is not a P-256 key")]
    BadKey(String),
    #[error("not a valid push subscription")]
    BadSubscription,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) use crate::store::records::PushSubscription;

/// What the console sends to subscribe (the browser's `PushSubscription.toJSON()`).
#[derive(Debug, Deserialize)]
pub(crate) struct SubscribeRequest {
    pub endpoint: String,
    pub keys: SubscribeKeys,
    #[serde(default)]
    pub lang: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SubscribeKeys {
    pub p256dh: String,
    pub auth: String,
}

#[derive(Debug, Deserialize)]
struct UnsubscribeRequest {
    endpoint: String,
}

/// What a notification says, before it is put in each device's language.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Notice {
    pub text: Text,
    pub waiting: usize,
    pub urgent: bool,
}

/// What a push service answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    Delivered,
    /// 404 or 410: the subscription is gone and was removed.
    Gone,
    Failed,
}

pub struct Push {
    secret: p256::SecretKey,
    public_b64: String,
    client: reqwest::Client,
    store: Store,
    config: PushConfig,
    clock: Clock,
}

impl Push {
    /// Opens the subscriptions and the VAPID key (made on first start).
    pub(crate) fn open(
        data_dir: &Path,
        store: Store,
        config: PushConfig,
        client: reqwest::Client,
        clock: Clock,
    ) -> Result<Self, PushError> {
        let path = data_dir.join("vapid.key");
        let secret = load_or_make_key(&path)?;
        let public = secret.public_key().to_encoded_point(false);
        Ok(Self {
            public_b64: URL_SAFE_NO_PAD.encode(public.as_bytes()),
            secret,
            client,
            store,
            config,
            clock,
        })
    }

    /// The VAPID public key, base64url, for `pushManager.subscribe`.
    pub fn public_key(&self) -> &str {
        &self.public_b64
    }

    /// Stores a device's subscription for an account (replacing the same endpoint).
    pub(crate) fn subscribe(
        &self,
        login: &str,
        token_key: &[u8; 32],
        request: SubscribeRequest,
    ) -> Result<(), PushError> {
        let url: reqwest::Url = request
            .endpoint
            .parse()
            .map_err(|_| PushError::BadSubscription)?;
        let secure = url.scheme() == "https"
            || (url.scheme() == "http" && self.config.allow_insecure_endpoints);
        if !secure || url.host_str().is_none() || request.endpoint.len() > 1024 {
            return Err(PushError::BadSubscription);
        }
        let p256dh = URL_SAFE_NO_PAD
            .decode(request.keys.p256dh.trim_end_matches('='))
            .map_err(|_| PushError::BadSubscription)?;
        p256::PublicKey::from_sec1_bytes(&p256dh).map_err(|_| PushError::BadSubscription)?;
        let auth = URL_SAFE_NO_PAD
            .decode(request.keys.auth.trim_end_matches('='))
            .map_err(|_| PushError::BadSubscription)?;
        if auth.len() != 16 {
            return Err(PushError::BadSubscription);
        }
        let lang = match request.lang.as_deref() {
            Some("en") => "en",
            _ => "fr",
        };
        let record = PushSubscription {
            login: login.to_string(),
            endpoint: request.endpoint.clone(),
            p256dh: URL_SAFE_NO_PAD.encode(&p256dh),
            auth: URL_SAFE_NO_PAD.encode(&auth),
            lang: lang.into(),
            token_key: hex(token_key),
            created_ms: self.clock.now_ms(),
        };
        self.store.put_push_subscription(&record)?;
        let mut mine: Vec<PushSubscription> = self
            .all()?
            .into_iter()
            .filter(|s| s.login == login)
            .collect();
        if mine.len() > PER_ACCOUNT {
            mine.sort_by_key(|s| s.created_ms);
            for old in &mine[..mine.len() - PER_ACCOUNT] {
                self.store.remove_push_subscription(&old.endpoint)?;
            }
        }
        Ok(())
    }

    /// Removes one device's subscription (an account removes only its own).
    pub(crate) fn unsubscribe(&self, login: &str, endpoint: &str) -> Result<bool, PushError> {
        let Some(record) = self.store.push_subscription(endpoint)? else {
            return Ok(false);
        };
        if record.login != login {
            return Ok(false);
        }
        self.store.remove_push_subscription(endpoint)?;
        Ok(true)
    }

    /// Removes the subscriptions made with a console login (logout).
    pub(crate) fn forget_token(&self, token_key: &[u8; 32]) -> Result<usize, PushError> {
        let token = hex(token_key);
        self.remove_where(|s| s.token_key == token)
    }

    /// Removes the subscriptions of accounts that no longer exist.
    pub(crate) fn forget_accounts_except(
        &self,
        logins: &HashSet<String>,
    ) -> Result<usize, PushError> {
        self.remove_where(|s| !logins.contains(&s.login))
    }

    fn remove_where(&self, test: impl Fn(&PushSubscription) -> bool) -> Result<usize, PushError> {
        let mut removed = 0;
        for subscription in self.all()? {
            if test(&subscription) {
                self.store
                    .remove_push_subscription(&subscription.endpoint)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    pub fn all(&self) -> Result<Vec<PushSubscription>, PushError> {
        Ok(self.store.push_subscriptions()?)
    }

    /// Devices subscribed for an account.
    pub(crate) fn devices_of(&self, login: &str) -> usize {
        self.all()
            .map(|all| all.iter().filter(|s| s.login == login).count())
            .unwrap_or(0)
    }

    /// Sends a notice to every device of these accounts, each in its own task.
    pub(crate) fn notify(self: &Arc<Self>, logins: &HashSet<String>, notice: Notice) -> usize {
        let targets: Vec<PushSubscription> = match self.all() {
            Ok(all) => all
                .into_iter()
                .filter(|s| logins.contains(&s.login))
                .collect(),
            Err(e) => {
                tracing::error!(error = %e, "push subscriptions could not be read");
                return 0;
            }
        };
        let count = targets.len();
        for subscription in targets {
            let push = self.clone();
            tokio::spawn(async move {
                push.send(&subscription, notice).await;
            });
        }
        count
    }

    /// Encrypts, signs and posts one notification; removes the subscription on
    /// 404 or 410.
    pub(crate) async fn send(&self, subscription: &PushSubscription, notice: Notice) -> Sent {
        let Some(request) = self.build(subscription, notice) else {
            return Sent::Failed;
        };
        match request.send().await {
            Ok(response) if response.status().is_success() => Sent::Delivered,
            Ok(response)
                if matches!(
                    response.status(),
                    reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::GONE
                ) =>
            {
                if let Err(e) = self.store.remove_push_subscription(&subscription.endpoint) {
                    tracing::error!(error = %e, "a gone push subscription could not be removed");
                }
                Sent::Gone
            }
            Ok(response) => {
                tracing::warn!(
                    status = response.status().as_u16(),
                    "a push service refused a notification"
                );
                Sent::Failed
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "a push service could not be reached");
                Sent::Failed
            }
        }
    }

    fn build(
        &self,
        subscription: &PushSubscription,
        notice: Notice,
    ) -> Option<reqwest::RequestBuilder> {
        let url: reqwest::Url = subscription.endpoint.parse().ok()?;
        let public = URL_SAFE_NO_PAD.decode(&subscription.p256dh).ok()?;
        let public = web_push_native::p256::PublicKey::from_sec1_bytes(&public).ok()?;
        let auth = URL_SAFE_NO_PAD.decode(&subscription.auth).ok()?;
        if auth.len() != 16 {
            return None;
        }
        let auth = web_push_native::Auth::clone_from_slice(&auth);
        let lang = subscription.lang.as_str();
        let payload = crate::protocol::PushPayload {
            title: "relais".into(),
            body: say(lang, notice.text).replace("{n}", &notice.waiting.to_string()),
            url: QUEUE_URL.into(),
            tag: "relais-queue".into(),
            urgent: notice.urgent,
        };
        let body = crate::protocol::to_bytes(&payload);
        let encrypted = web_push_native::encrypt(body, &public, &auth).ok()?;
        let jwt = self.vapid_jwt(&url)?;
        Some(
            self.client
                .post(url)
                .timeout(SEND_TIMEOUT)
                .header("TTL", self.config.ttl_secs.to_string())
                .header("Urgency", if notice.urgent { "high" } else { "normal" })
                .header("Topic", "relais-queue")
                .header(reqwest::header::CONTENT_ENCODING, "aes128gcm")
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .header(
                    reqwest::header::AUTHORIZATION,
                    format!("vapid t={jwt}, k={}", self.public_b64),
                )
                .body(encrypted),
        )
    }

    /// The VAPID JWT (RFC 8292): audience the push service's origin, 12 h expiry.
    fn vapid_jwt(&self, endpoint: &reqwest::Url) -> Option<String> {
        let origin = endpoint.origin().ascii_serialization();
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = crate::protocol::VapidClaims {
            aud: origin,
            exp: self.clock.now_secs() + 12 * 3600,
            sub: self.config.contact.clone(),
        };
        let claims = URL_SAFE_NO_PAD.encode(crate::protocol::to_bytes(&claims));
        let signing = format!("{header}.{claims}");
        let key = p256::ecdsa::SigningKey::from(&self.secret);
        let signature: p256::ecdsa::Signature = key.sign(signing.as_bytes());
        Some(format!(
            "{signing}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        ))
    }
}

fn load_or_make_key(path: &Path) -> Result<p256::SecretKey, PushError> {
    let failed = |source| PushError::Key {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = URL_SAFE_NO_PAD
                .decode(text.trim())
                .map_err(|_| PushError::BadKey(path.display().to_string()))?;
            p256::SecretKey::from_slice(&bytes)
                .map_err(|_| PushError::BadKey(path.display().to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = loop {
                let mut bytes = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
                if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                    break secret;
                }
            };
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(failed)?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            use std::io::Write;
            let mut file = options.open(path).map_err(failed)?;
            file.write_all(URL_SAFE_NO_PAD.encode(secret.to_bytes()).as_bytes())
                .map_err(failed)?;
            file.sync_all().map_err(failed)?;
            Ok(secret)
        }
        Err(e) => Err(failed(e)),
    }
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

// ---------------------------------------------------------------- the API

pub(crate) fn routes() -> Router<HandoffApp> {
    Router::new()
        .route("/api/push", get(status))
        .route("/api/push/subscription", put(subscribe).delete(unsubscribe))
        .route("/api/push/test", post(test))
        .route("/api/oncall", get(oncall))
}

fn push_of(app: &HandoffApp) -> Result<&Arc<Push>, ApiError> {
    app.oncall.push.as_ref().ok_or(ApiError::NotFound)
}

/// `{enabled, public_key, devices}`: whether push is on and this account's devices.
async fn status(State(app): State<HandoffApp>, Authed(who): Authed) -> Response {
    match app.oncall.push.as_ref() {
        Some(push) => Json(crate::protocol::PushStatus {
            devices: Some(push.devices_of(&who.login)),
            enabled: true,
            public_key: Some(push.public_key().to_owned()),
        })
        .into_response(),
        None => Json(crate::protocol::PushStatus {
            devices: None,
            enabled: false,
            public_key: None,
        })
        .into_response(),
    }
}

async fn subscribe(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    ApiJson(body): ApiJson<SubscribeRequest>,
) -> Result<StatusCode, ApiError> {
    if !who.takes_conversations() {
        return Err(ApiError::Forbidden);
    }
    let push = push_of(&app)?.clone();
    let login = who.login.clone();
    let token_key = who.token_key;
    tokio::task::spawn_blocking(move || push.subscribe(&login, &token_key, body))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| match e {
            PushError::BadSubscription => ApiError::BadRequest,
            other => ApiError::Internal(other.to_string()),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unsubscribe(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    ApiJson(body): ApiJson<UnsubscribeRequest>,
) -> Result<StatusCode, ApiError> {
    let push = push_of(&app)?;
    push.unsubscribe(&who.login, &body.endpoint)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test notification to this account's devices: `{devices}`.
async fn test(State(app): State<HandoffApp>, Authed(who): Authed) -> Result<Response, ApiError> {
    let push = push_of(&app)?;
    let waiting = app
        .handoffs
        .list()
        .iter()
        .filter(|i| i.status == crate::protocol::QueueStatus::Waiting)
        .count();
    let devices = push.notify(
        &HashSet::from([who.login.clone()]),
        Notice {
            text: Text::PushNormal,
            waiting,
            urgent: false,
        },
    );
    Ok(Json(crate::protocol::PushTested { devices }).into_response())
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    #[serde(default)]
    lang: Option<String>,
}

/// The schedule and who is on call, for the console (`?lang=en` for English):
/// `{time_zone, open_now, next, week: [{day, hours}], exceptions: [{date, hours}], on_call: [name], auto_on_call}`.
async fn oncall(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    axum::extract::Query(query): axum::extract::Query<LangQuery>,
) -> Result<Response, ApiError> {
    if !who.takes_conversations() {
        return Err(ApiError::Forbidden);
    }
    let lang = if query.lang.as_deref() == Some("en") {
        "en"
    } else {
        "fr"
    };
    let now = app.clock.now_ms() as i64;
    let schedule = &app.oncall.schedule;
    let (week, exceptions) = schedule.describe(lang, now);
    let on_call = app.handoffs.on_call_names()?;
    Ok(Json(crate::protocol::OncallView {
        auto_on_call: !app.config.handoff.schedule.auto_on_call.is_empty(),
        exceptions: exceptions
            .into_iter()
            .map(|(date, hours)| crate::protocol::ScheduleException { date, hours })
            .collect(),
        next: (!schedule.open_at(now))
            .then(|| schedule.sentence(lang, now))
            .flatten(),
        on_call,
        open_now: schedule.open_at(now),
        scheduled: !schedule.is_empty(),
        time_zone: schedule.time_zone().to_owned(),
        week: week
            .into_iter()
            .map(|(day, hours)| crate::protocol::ScheduleDay { day, hours })
            .collect(),
    })
    .into_response())
}
