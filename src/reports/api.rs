//! The anonymous reports as the console sees them (`/api/signalements`): the list,
//! a report opened (its answers, messages, notes and where it was forwarded), and
//! what the team does with it (status, who handles it, notes, a message to the
//! reporter, where it was passed on). Every change is audited and told to the
//! consoles.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::{Content, ReportMessage, ReportNote};
use crate::audit::Action;
use crate::auth::Intervenor;
use crate::error::ApiError;
use crate::http::{ApiJson, Authed};
use crate::protocol::{
    AssignRequest, ForwardRequest, ReportDetail, ReportItem, ReportStatusRequest, TextRequest,
};
use crate::store::records::{ReportRecord, ReportStatus};

/// What the reports' console API uses of the server.
#[derive(Clone, axum::extract::FromRef)]
pub(crate) struct ReportsApiState {
    /// The reports; each change is told to the consoles through `Reports::changed`.
    pub reports: Arc<super::Reports>,
    pub audit: Arc<crate::audit::Audit>,
    pub stats: Arc<crate::stats::Stats>,
    pub accounts: Arc<crate::auth::Accounts>,
    pub limits: Arc<crate::limits::Limits>,
    pub config: Arc<crate::config::Config>,
}

/// Authors write flows; they take no conversation and see no report.
fn intervening(who: &Intervenor) -> Result<(), ApiError> {
    if who.takes_conversations() {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

pub(crate) fn routes() -> Router<ReportsApiState> {
    Router::new()
        .route("/api/signalements", get(report_list))
        .route("/api/signalements/{id}", get(report_detail))
        .route("/api/signalements/{id}/status", post(report_status))
        .route("/api/signalements/{id}/assign", post(report_assign))
        .route("/api/signalements/{id}/notes", post(report_note))
        .route("/api/signalements/{id}/messages", post(report_message))
        .route("/api/signalements/{id}/forwarded", post(report_forwarded))
        .layer(axum::middleware::map_response(
            crate::error::json_rejections,
        ))
}

async fn report_list(
    State(app): State<ReportsApiState>,
    Authed(who): Authed,
) -> Result<Response, ApiError> {
    intervening(&who)?;
    let list = app.reports.list()?;
    let items: Vec<ReportItem> = list.iter().map(Into::into).collect();
    Ok(Json(items).into_response())
}

/// A report opened by an intervenor: its answers, messages, notes and where it was
/// forwarded. Everything in it is the reporter's text: a page shows it as text.
async fn report_detail(
    State(app): State<ReportsApiState>,
    Authed(who): Authed,
    Path(id): Path<u64>,
) -> Result<Response, ApiError> {
    intervening(&who)?;
    let record = app.reports.record(id)?;
    let content = app.reports.content(&record)?;
    app.audit
        .record(&who.login, Action::ReportRead, format!("report:{id}"), "");
    Ok(Json(ReportDetail::new(&record, content)).into_response())
}

async fn report_status(
    State(app): State<ReportsApiState>,
    Authed(who): Authed,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<ReportStatusRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    let status: ReportStatus = body.status.into();
    let done = (Action::ReportStatus, status.as_str());
    change_report(&app, &who, id, done, move |record, _, _| {
        record.status = status
    })
    .await?;
    app.stats.add("reports", status.as_str(), 1);
    Ok(StatusCode::NO_CONTENT)
}

async fn report_assign(
    State(app): State<ReportsApiState>,
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
    let done = (Action::ReportAssign, login.clone());
    change_report(&app, &who, id, done, move |record, _, _| {
        record.assigned_to = Some(login)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs a change of a report (its record or its sealed content) off the runtime;
/// once it is written, records it in the audit trail as `done` (the action and its
/// detail) and tells the consoles.
async fn change_report(
    app: &ReportsApiState,
    who: &Intervenor,
    id: u64,
    done: (Action, impl AsRef<str>),
    change: impl FnOnce(&mut ReportRecord, &mut Content, u64) + Send + 'static,
) -> Result<(), ApiError> {
    let reports = app.reports.clone();
    tokio::task::spawn_blocking(move || {
        let now = reports.now_ms();
        reports.change(id, |record, content| change(record, content, now))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let (action, detail) = done;
    app.audit
        .record(&who.login, action, format!("report:{id}"), detail.as_ref());
    app.reports.changed(id, false);
    Ok(())
}

fn bounded(text: &str, app: &ReportsApiState) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > app.config.limits.max_text_chars {
        return Err(ApiError::BadRequest);
    }
    Ok(text.to_string())
}

async fn report_note(
    State(app): State<ReportsApiState>,
    Authed(who): Authed,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<TextRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    let text = bounded(&body.text, &app)?;
    let by = who.name.clone();
    change_report(
        &app,
        &who,
        id,
        (Action::ReportNote, ""),
        move |_, content, at| content.notes.push(ReportNote { by, text, at }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A message to the reporter, read when they come back with their receipt.
async fn report_message(
    State(app): State<ReportsApiState>,
    Authed(who): Authed,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<TextRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    let text = bounded(&body.text, &app)?;
    let name = who.name.clone();
    let done = (Action::ReportMessage, "");
    change_report(&app, &who, id, done, move |record, content, at| {
        if record.status == ReportStatus::New {
            record.status = ReportStatus::InReview;
        }
        content.messages.push(ReportMessage {
            from: "intervenor".into(),
            name: Some(name),
            text,
            at,
        })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records where the report was passed on; relais itself contacts no one.
async fn report_forwarded(
    State(app): State<ReportsApiState>,
    Authed(who): Authed,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<ForwardRequest>,
) -> Result<StatusCode, ApiError> {
    intervening(&who)?;
    let to = bounded(&body.to, &app)?;
    let note = body.note.unwrap_or_default();
    let by = who.name.clone();
    let done = (Action::ReportForwarded, "");
    change_report(&app, &who, id, done, move |record, content, at| {
        record.status = ReportStatus::Forwarded;
        let text = if note.trim().is_empty() {
            to
        } else {
            format!("{to} — {}", note.trim())
        };
        content.forwarded.push(ReportNote { by, text, at })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

impl From<super::ReportError> for ApiError {
    fn from(error: super::ReportError) -> Self {
        match error {
            super::ReportError::NotFound | super::ReportError::Erased => ApiError::NotFound,
            super::ReportError::Full => ApiError::ReportFull,
            super::ReportError::Hash(cause) => ApiError::Internal(cause),
            super::ReportError::Store(error) => error.into(),
        }
    }
}
