//! The console's HTTP API under `/api` (section 2 of the contract): login, logout,
//! the queue, claim, release, close, on call. Every call but login needs a live
//! bearer token, and every action checks that this intervenor may do it.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::accounts::{Intervenor, LoginOutcome};
pub(crate) use crate::http::extract::{ApiJson, Authed};

use super::HandoffApp;
use super::HandoffError;
use crate::audit::Action;
use crate::error::ApiError;
use crate::limits::{check_direct, check_keyed, Client};
use crate::protocol::{
    AssignRequest, CannedReply, CloseRequest, ErrorCode, HandoffItem, ImpactQuery, IntervenorItem,
    LoginRequest, LoginResponse, OnCallRequest,
};

pub(crate) fn routes() -> Router<HandoffApp> {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/me/on_call", put(on_call))
        .route("/api/handoffs", get(list))
        .route("/api/handoffs/{id}/claim", post(claim))
        .route("/api/handoffs/{id}/release", post(release))
        .route("/api/handoffs/{id}/close", post(close))
        .route("/api/handoffs/{id}/assign", post(assign))
        .route("/api/reports", get(reports))
        .route("/api/impact", get(reports))
        .route("/api/canned", get(canned))
        .route("/api/intervenors", get(intervenors))
        .layer(axum::middleware::map_response(
            crate::error::json_rejections,
        ))
}

/// The file of canned replies an organisation edits, in the flows folder.
pub(crate) const CANNED_FILE: &str = "reponses-types.toml";

/// One entry of the canned replies' file (TOML, in French: `titre`, `fr`, `en`).
#[derive(Deserialize)]
struct CannedEntry {
    titre: String,
    fr: String,
    #[serde(default)]
    en: Option<String>,
}

#[derive(Deserialize)]
struct CannedFile {
    #[serde(default)]
    reponse: Vec<CannedEntry>,
}

/// Canned replies for the console (`flows/reponses-types.toml`), read at each call
/// so an edit shows at once: `[{title, fr, en}]`.
async fn canned(State(app): State<HandoffApp>, Authed(who): Authed) -> Result<Response, ApiError> {
    intervening(&who)?;
    let path = app.config.flows_dir.join(CANNED_FILE);
    let text = match tokio::fs::read_to_string(&path).await {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ApiError::Internal(e.to_string())),
    };
    let file: CannedFile = toml::from_str(&text).map_err(|e| ApiError::Internal(e.to_string()))?;
    let list: Vec<CannedReply> = file
        .reponse
        .into_iter()
        .map(|r| CannedReply {
            title: r.titre,
            fr: r.fr,
            en: r.en,
        })
        .collect();
    Ok(Json(list).into_response())
}

/// Accounts a supervisor can give a conversation to: `[{login, name, role, on_call}]`.
async fn intervenors(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
) -> Result<Response, ApiError> {
    if !who.is_supervisor() {
        return Err(ApiError::Forbidden);
    }
    let list: Vec<IntervenorItem> = app
        .accounts
        .list()?
        .into_iter()
        .map(|a| IntervenorItem {
            on_call: app.handoffs.is_on_call(&a.login),
            role: a.role.as_str().into(),
            login: a.login,
            name: a.name,
        })
        .collect();
    Ok(Json(list).into_response())
}

/// The impact report (supervisors only):
/// `?from=YYYY-MM-DD&to=…&period=month&format=json&lang=fr`. The range covers whole
/// periods; the previous period of the same length is beside each figure.
async fn reports(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    axum::extract::Query(query): axum::extract::Query<ImpactQuery>,
) -> Result<Response, ApiError> {
    use crate::impact::{Format, Report, Request};
    if !who.is_supervisor() {
        return Err(ApiError::Forbidden);
    }
    let request = Request {
        from: query.from.unwrap_or_else(|| query.to.clone()),
        to: query.to,
        unit: query.period.unwrap_or_else(|| "week".into()),
        format: query.format.unwrap_or_else(|| "json".into()),
        lang: query.lang.unwrap_or_else(|| "fr".into()),
    };
    let (range, format, lang) = request.parse().map_err(|_| ApiError::BadRequest)?;
    app.audit
        .record(&who.login, Action::StatsExport, "", &request.format);
    // Counters still in memory are written first, so the report is up to date.
    let stats = app.stats.clone();
    let store = app.store.clone();
    let report = tokio::task::spawn_blocking(move || {
        stats.flush(&store)?;
        Report::build(&store, range, lang)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let disposition = if matches!(format, Format::Html | Format::Csv | Format::Md) {
        format!("attachment; filename=\"{}\"", format.file_name(&report))
    } else {
        "inline".into()
    };
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        report.render(format),
    )
        .into_response())
}

/// Authors write flows; they take no conversation and see no queue.
pub(crate) fn intervening(who: &Intervenor) -> Result<(), ApiError> {
    if who.takes_conversations() {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

async fn login(
    State(app): State<HandoffApp>,
    Client(client): Client,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let limited = check_keyed(&app.limits.logins, &client)
        .err()
        .or_else(|| check_direct(&app.limits.logins_global));
    if let Some(wait) = limited {
        return Err(ApiError::RateLimited {
            retry_after_ms: wait.as_millis() as u64,
        });
    }
    // The attempt waits for its turn on the account, and the delay, in `login`.
    match app
        .accounts
        .login(
            &body.username,
            &body.password,
            body.totp.as_deref(),
            &client.0,
        )
        .await?
    {
        LoginOutcome::Success {
            token,
            expires_at,
            account,
        } => {
            app.audit.record(&account.login, Action::Login, "", "");
            Ok(Json(LoginResponse {
                token,
                expires_at,
                name: account.name,
                role: account.role.as_str().into(),
                login: account.login,
            }))
        }
        LoginOutcome::Refused => {
            // The login typed is named only if it is an account: a password typed in
            // the wrong field stays out of the trail.
            let known = matches!(app.accounts.get(&body.username), Ok(Some(_)));
            let actor = if known { body.username.as_str() } else { "-" };
            app.audit.record(actor, Action::LoginFailed, "", "");
            Err(ApiError::LoginFailed)
        }
        LoginOutcome::Wait(wait) => Err(ApiError::RateLimited {
            retry_after_ms: wait.as_millis().max(1) as u64,
        }),
    }
}

async fn logout(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
) -> Result<StatusCode, ApiError> {
    app.accounts.logout(&who.token_key)?;
    app.handoffs.close_consoles_of_token(&who.token_key);
    // This device's push subscription goes with its login.
    if let Some(push) = &app.oncall.push {
        if let Err(e) = push.forget_token(&who.token_key) {
            tracing::error!(error = %e, "push subscriptions could not be removed at logout");
        }
    }
    app.audit.record(&who.login, Action::Logout, "", "");
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(app): State<HandoffApp>, Authed(who): Authed) -> Response {
    Json(IntervenorItem {
        on_call: app.handoffs.is_on_call(&who.login),
        role: who.role.as_str().into(),
        login: who.login,
        name: who.name,
    })
    .into_response()
}

async fn on_call(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    ApiJson(body): ApiJson<OnCallRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    app.handoffs.set_on_call(&who, body.on_call)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
) -> Result<Json<Vec<HandoffItem>>, ApiError> {
    intervening(&who)?;
    Ok(Json(app.handoffs.list()))
}

async fn claim(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(id): Path<u64>,
) -> Result<Response, ApiError> {
    intervening(&who)?;
    let claimed = app.handoffs.claim(id, &who).await?;
    app.audit
        .record(&who.login, Action::Claim, format!("handoff:{id}"), "");
    Ok(Json(claimed).into_response())
}

async fn release(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    app.handoffs.release(id, &who).await?;
    app.audit
        .record(&who.login, Action::Release, format!("handoff:{id}"), "");
    Ok(StatusCode::NO_CONTENT)
}

async fn close(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<CloseRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    super::close(&app, id, &who, body.outcome).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn assign(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<AssignRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    let account = app.accounts.get(&body.login)?.ok_or(ApiError::NotFound)?;
    let to = Intervenor {
        login: account.login,
        name: account.name,
        role: account.role,
        token_key: [0; 32],
    };
    if !to.takes_conversations() {
        // An author's account cannot answer a youth.
        return Err(ApiError::BadRequest);
    }
    app.handoffs.assign(id, &who, &to).await?;
    app.audit.record(
        &who.login,
        Action::Assign,
        format!("handoff:{id}"),
        &to.login,
    );
    Ok(StatusCode::NO_CONTENT)
}

impl From<HandoffError> for ApiError {
    fn from(error: HandoffError) -> Self {
        match error {
            HandoffError::NotFound => ApiError::NotFound,
            HandoffError::Conflict => ApiError::Conflict,
            HandoffError::Forbidden => ApiError::Forbidden,
            HandoffError::Store(error) => error.into(),
        }
    }
}

impl From<HandoffError> for ErrorCode {
    fn from(error: HandoffError) -> Self {
        ApiError::from(error).code()
    }
}
