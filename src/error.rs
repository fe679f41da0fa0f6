//! The errors the HTTP API answers with, and the only `IntoResponse` for them: a
//! stable code and a sentence, in French and English. Internal causes go to the log,
//! never to a client.

use crate::messages::{say, Text};
use crate::protocol::{ErrorBody, ErrorCode};
use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("unauthorized")]
    Unauthorized,
    #[error("login failed")]
    LoginFailed,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("conflict")]
    Conflict,
    #[error("bad request")]
    BadRequest,
    #[error("rate limited")]
    RateLimited { retry_after_ms: u64 },
    #[error("the report is full")]
    ReportFull,
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// The stable code a client sees for this error.
    pub(crate) fn code(&self) -> ErrorCode {
        self.parts().1
    }

    fn parts(&self) -> (StatusCode, ErrorCode, Text) {
        match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                Text::Unauthorized,
            ),
            ApiError::LoginFailed => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                Text::LoginFailed,
            ),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, ErrorCode::Forbidden, Text::Forbidden),
            ApiError::NotFound => (StatusCode::NOT_FOUND, ErrorCode::NotFound, Text::NotFound),
            ApiError::Conflict => (StatusCode::CONFLICT, ErrorCode::Conflict, Text::Conflict),
            ApiError::BadRequest => (
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                Text::BadRequest,
            ),
            ApiError::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                Text::RateLimited,
            ),
            ApiError::ReportFull => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::TooLarge,
                Text::ReportFull,
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                Text::Internal,
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error in the API");
        }
        let (status, code, text) = self.parts();
        let retry_after_ms = match self {
            ApiError::RateLimited { retry_after_ms } => Some(retry_after_ms),
            _ => None,
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: code,
                message: say("fr", text).into(),
                message_en: say("en", text).into(),
                retry_after_ms,
            }),
        )
            .into_response();
        if let Some(ms) = retry_after_ms {
            if let Ok(value) = HeaderValue::from_str(&ms.div_ceil(1000).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::Internal(error.to_string())
    }
}

/// Any refusal on `/api` that is not already the JSON error body (axum's own
/// plain-text rejections of a bad path, query or body, a wrong method) becomes it,
/// with the same status.
pub(crate) async fn json_rejections(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let error = match status {
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
        StatusCode::FORBIDDEN => ApiError::Forbidden,
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::CONFLICT => ApiError::Conflict,
        StatusCode::TOO_MANY_REQUESTS => ApiError::RateLimited {
            retry_after_ms: 1000,
        },
        s if s.is_server_error() => ApiError::Internal(format!("status {s}")),
        _ => ApiError::BadRequest,
    };
    let mut json = error.into_response();
    *json.status_mut() = status;
    json
}
