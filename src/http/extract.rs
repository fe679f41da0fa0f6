//! The API's extractors: [`ApiJson`], a JSON body whose mistakes answer the API's
//! `400 bad_request` (not axum's plain text), and [`Authed`], the staff member
//! behind a live bearer token, counted against the per-token call limit. Both work
//! with any state that gives the accounts and the limits through `FromRef`.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::Json;
use serde::de::DeserializeOwned;

use crate::auth::{Accounts, Intervenor};
use crate::error::ApiError;
use crate::limits::{check_keyed, Limits};

/// A JSON body whose mistakes answer `400 bad_request`, not axum's plain text.
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| ApiJson(value))
            .map_err(|_| ApiError::BadRequest)
    }
}

/// The staff member behind the bearer token.
pub(crate) struct Authed(pub Intervenor);

impl<S> FromRequestParts<S> for Authed
where
    S: Send + Sync,
    Arc<Accounts>: FromRef<S>,
    Arc<Limits>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        let who = Arc::<Accounts>::from_ref(state)
            .authenticate(token.trim())?
            .ok_or(ApiError::Unauthorized)?;
        if let Err(wait) = check_keyed(&Arc::<Limits>::from_ref(state).api_calls, &who.token_key) {
            return Err(ApiError::RateLimited {
                retry_after_ms: wait.as_millis() as u64,
            });
        }
        Ok(Authed(who))
    }
}
