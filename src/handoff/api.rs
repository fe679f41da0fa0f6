//! The console's HTTP API under `/api` (section 2 of the contract): login, logout,
//! the queue, claim, release, close, on call. Every call but login needs a live
//! bearer token, and every action checks that this intervenor may do it.

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::accounts::{Intervenor, LoginOutcome};
use crate::audit::Action;
use crate::error::ApiError;
use crate::limits::{check_direct, check_keyed, Client};
use crate::protocol::{CloseRequest, HandoffItem, LoginRequest, LoginResponse, OnCallRequest};
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
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
        .route("/api/signalements", get(report_list))
        .route("/api/signalements/{id}", get(report_detail))
        .route("/api/signalements/{id}/status", post(report_status))
        .route("/api/signalements/{id}/assign", post(report_assign))
        .route("/api/signalements/{id}/notes", post(report_note))
        .route("/api/signalements/{id}/messages", post(report_message))
        .route("/api/signalements/{id}/forwarded", post(report_forwarded))
        .route("/api/intervenors", get(intervenors))
        .layer(axum::middleware::map_response(
            crate::error::json_rejections,
        ))
}

/// The file of canned replies an organisation edits, in the flows folder.
pub const CANNED_FILE: &str = "reponses-types.toml";

#[derive(Deserialize, serde::Serialize)]
struct CannedReply {
    titre: String,
    fr: String,
    #[serde(default)]
    en: Option<String>,
}

#[derive(Deserialize)]
struct CannedFile {
    #[serde(default)]
    reponse: Vec<CannedReply>,
}

/// Canned replies for the console (`flows/reponses-types.toml`), read at each call
/// so an edit shows at once: `[{title, fr, en}]`.
async fn canned(State(app): State<AppState>, Authed(who): Authed) -> Result<Response, ApiError> {
    intervening(&who)?;
    let path = app.config.flows_dir.join(CANNED_FILE);
    let text = match tokio::fs::read_to_string(&path).await {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ApiError::Internal(e.to_string())),
    };
    let file: CannedFile = toml::from_str(&text).map_err(|e| ApiError::Internal(e.to_string()))?;
    let list: Vec<serde_json::Value> = file
        .reponse
        .into_iter()
        .map(|r| serde_json::json!({"title": r.titre, "fr": r.fr, "en": r.en}))
        .collect();
    Ok(Json(list).into_response())
}

/// Accounts a supervisor can give a conversation to: `[{login, name, role, on_call}]`.
async fn intervenors(
    State(app): State<AppState>,
    Authed(who): Authed,
) -> Result<Response, ApiError> {
    if !who.is_supervisor() {
        return Err(ApiError::Forbidden);
    }
    let list: Vec<serde_json::Value> = app
        .accounts
        .list()?
        .into_iter()
        .map(|a| {
            serde_json::json!({
                "login": a.login,
                "name": a.name,
                "role": a.role.as_str(),
                "on_call": app.handoffs.is_on_call(&a.login),
            })
        })
        .collect();
    Ok(Json(list).into_response())
}

#[derive(Deserialize)]
struct ReportQuery {
    #[serde(default)]
    from: Option<String>,
    to: String,
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

/// The impact report (supervisors only):
/// `?from=YYYY-MM-DD&to=…&period=month&format=json&lang=fr`. The range covers whole
/// periods; the previous period of the same length is beside each figure.
async fn reports(
    State(app): State<AppState>,
    Authed(who): Authed,
    axum::extract::Query(query): axum::extract::Query<ReportQuery>,
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
fn intervening(who: &Intervenor) -> Result<(), ApiError> {
    if who.takes_conversations() {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// A JSON body whose mistakes answer `400 bad_request`, not axum's plain text.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| ApiJson(value))
            .map_err(|_| ApiError::BadRequest)
    }
}

/// The intervenor behind the bearer token.
pub struct Authed(pub Intervenor);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        let who = app
            .accounts
            .authenticate(token.trim())?
            .ok_or(ApiError::Unauthorized)?;
        if let Err(wait) = check_keyed(&app.limits.api_calls, &who.token_key) {
            return Err(ApiError::RateLimited {
                retry_after_ms: wait.as_millis() as u64,
            });
        }
        Ok(Authed(who))
    }
}

async fn login(
    State(app): State<AppState>,
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

async fn logout(State(app): State<AppState>, Authed(who): Authed) -> Result<StatusCode, ApiError> {
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

async fn me(State(app): State<AppState>, Authed(who): Authed) -> Response {
    Json(serde_json::json!({
        "login": who.login,
        "name": who.name,
        "role": who.role.as_str(),
        "on_call": app.handoffs.is_on_call(&who.login),
    }))
    .into_response()
}

async fn on_call(
    State(app): State<AppState>,
    Authed(who): Authed,
    ApiJson(body): ApiJson<OnCallRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    app.handoffs.set_on_call(&who, body.on_call)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list(
    State(app): State<AppState>,
    Authed(who): Authed,
) -> Result<Json<Vec<HandoffItem>>, ApiError> {
    intervening(&who)?;
    Ok(Json(app.handoffs.list()))
}

async fn claim(
    State(app): State<AppState>,
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
    State(app): State<AppState>,
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
    State(app): State<AppState>,
    Authed(who): Authed,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<CloseRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    crate::abuse::close(&app, id, &who, body.outcome).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct AssignRequest {
    login: String,
}

async fn assign(
    State(app): State<AppState>,
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

// ---------------------------------------------------------------- reports

async fn report_list(
    State(app): State<AppState>,
    Authed(who): Authed,
) -> Result<Response, ApiError> {
    intervening(&who)?;
    let list = app.reports.list()?;
    let items: Vec<crate::protocol::ReportItem> = list.iter().map(Into::into).collect();
    Ok(Json(items).into_response())
}

/// A report opened by an intervenor: its answers, messages, notes and where it was
/// forwarded. Everything in it is the reporter's text: a page shows it as text.
async fn report_detail(
    State(app): State<AppState>,
    Authed(who): Authed,
    Path(id): Path<u64>,
) -> Result<Response, ApiError> {
    intervening(&who)?;
    let record = app.reports.record(id)?;
    let content = app.reports.content(&record)?;
    app.audit
        .record(&who.login, Action::ReportRead, format!("report:{id}"), "");
    Ok(Json(serde_json::json!({
        "report": crate::protocol::ReportItem::from(&record),
        "answers": content.answers.iter().map(|(field, value)| serde_json::json!({"field": field, "value": value})).collect::<Vec<_>>(),
        "messages": content.messages,
        "notes": content.notes,
        "forwarded": content.forwarded,
    }))
    .into_response())
}

#[derive(Deserialize)]
struct StatusRequest {
    status: crate::store::records::ReportStatus,
}

async fn report_status(
    State(app): State<AppState>,
    Authed(who): Authed,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<StatusRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    let status = body.status;
    change_content(&app, id, move |record, _, _| record.status = status).await?;
    app.stats.add("reports", status.as_str(), 1);
    app.audit.record(
        &who.login,
        Action::ReportStatus,
        format!("report:{id}"),
        status.as_str(),
    );
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct TextRequest {
    text: String,
}

#[derive(Deserialize)]
struct ForwardRequest {
    /// `police`, `cyberaide`, `dpj` or anything else the team names.
    to: String,
    #[serde(default)]
    note: Option<String>,
}

async fn report_assign(
    State(app): State<AppState>,
    Authed(who): Authed,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<AssignRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    // An intervenor takes a report for themselves; a supervisor gives it to anyone.
    if body.login != who.login && !who.is_supervisor() {
        return Err(ApiError::Forbidden);
    }
    app.accounts.get(&body.login)?.ok_or(ApiError::NotFound)?;
    let login = body.login;
    app.audit.record(
        &who.login,
        Action::ReportAssign,
        format!("report:{id}"),
        &login,
    );
    change_content(&app, id, move |record, _, _| {
        record.assigned_to = Some(login)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs a change of a report (its record or its sealed content) off the runtime,
/// then tells the consoles.
async fn change_content(
    app: &AppState,
    id: u64,
    change: impl FnOnce(&mut crate::store::records::ReportRecord, &mut crate::reports::Content, u64)
        + Send
        + 'static,
) -> Result<(), ApiError> {
    let reports = app.reports.clone();
    tokio::task::spawn_blocking(move || {
        let now = reports.now_ms();
        reports.change(id, |record, content| change(record, content, now))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    app.handoffs.report_changed(&app.reports, id, false);
    Ok(())
}

fn bounded(text: &str, app: &AppState) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > app.config.limits.max_text_chars {
        return Err(ApiError::BadRequest);
    }
    Ok(text.to_string())
}

async fn report_note(
    State(app): State<AppState>,
    Authed(who): Authed,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<TextRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    let text = bounded(&body.text, &app)?;
    let by = who.name.clone();
    change_content(&app, id, move |_, content, at| {
        content
            .notes
            .push(crate::reports::ReportNote { by, text, at })
    })
    .await?;
    app.audit
        .record(&who.login, Action::ReportNote, format!("report:{id}"), "");
    Ok(StatusCode::NO_CONTENT)
}

/// A message to the reporter, read when they come back with their receipt.
async fn report_message(
    State(app): State<AppState>,
    Authed(who): Authed,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<TextRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    let text = bounded(&body.text, &app)?;
    let name = who.name.clone();
    change_content(&app, id, move |record, content, at| {
        if record.status == crate::store::records::ReportStatus::New {
            record.status = crate::store::records::ReportStatus::InReview;
        }
        content.messages.push(crate::reports::ReportMessage {
            from: "intervenor".into(),
            name: Some(name),
            text,
            at,
        })
    })
    .await?;
    app.audit.record(
        &who.login,
        Action::ReportMessage,
        format!("report:{id}"),
        "",
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Records where the report was passed on; relais itself contacts no one.
async fn report_forwarded(
    State(app): State<AppState>,
    Authed(who): Authed,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<ForwardRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    let to = bounded(&body.to, &app)?;
    let note = body.note.unwrap_or_default();
    let by = who.name.clone();
    change_content(&app, id, move |record, content, at| {
        record.status = crate::store::records::ReportStatus::Forwarded;
        let text = if note.trim().is_empty() {
            to
        } else {
            format!("{to} — {}", note.trim())
        };
        content
            .forwarded
            .push(crate::reports::ReportNote { by, text, at })
    })
    .await?;
    app.audit.record(
        &who.login,
        Action::ReportForwarded,
        format!("report:{id}"),
        "",
    );
    Ok(StatusCode::NO_CONTENT)
}
