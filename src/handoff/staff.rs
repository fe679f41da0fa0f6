//! Staff accounts from the console (supervisors only), under `/api/staff`: the list,
//! invitations, disable and enable, removal, password and TOTP resets, role changes;
//! the enrolment an invitee does with a one-time code (`/api/enrol/{code}`: their
//! own password and TOTP, the QR code drawn here as SVG from the `otpauth://` URI);
//! the audit trail (`/api/audit`) and the blocks after abuse (`/api/blocks`).
//!
//! Every change takes effect at once: the account's logins are ended and its
//! console sockets closed (4001), except for `enable`, which gives nothing back.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use rand::RngCore;

use super::accounts::{hash_password, valid_login, Intervenor};
use super::api::{ApiJson, Authed};
use super::HandoffApp;
use crate::audit::{Action, Filter};
use crate::error::ApiError;
use crate::limits::{check_keyed, Client};
use crate::protocol::{
    AuditEntry, AuditQuery, EnrolRequest, EnrolmentCode, EnrolmentPage, ErrorBody, ErrorCode,
    InviteRequest, PendingEnrolment, RoleRequest, StaffAccount, StaffList,
};
use crate::store::records::{AccountRecord, EnrolmentRecord, Role};
use crate::store::{Store, StoreError};

pub(crate) fn routes() -> Router<HandoffApp> {
    Router::new()
        .route("/api/staff", get(list))
        .route("/api/staff/invite", post(invite))
        .route("/api/staff/{login}", delete(remove))
        .route("/api/staff/{login}/disable", post(disable))
        .route("/api/staff/{login}/enable", post(enable))
        .route("/api/staff/{login}/reset_password", post(reset_password))
        .route("/api/staff/{login}/reset_totp", post(reset_totp))
        .route("/api/staff/{login}/role", put(change_role))
        .route("/api/enrol/{code}", get(enrol_page).post(enrol))
        .route("/api/audit", get(audit))
        .route("/api/blocks", get(blocks))
        .route("/api/blocks/{handoff}", delete(lift_block))
}

fn supervisor(who: &Intervenor) -> Result<(), ApiError> {
    if who.is_supervisor() {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// A 400 with a sentence of its own (the API's error shape).
fn refused(fr: &str, en: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(ErrorBody {
            error: ErrorCode::BadRequest,
            message: fr.into(),
            message_en: en.into(),
            retry_after_ms: None,
        }),
    )
        .into_response()
}

fn role_of(name: &str) -> Option<Role> {
    match name {
        "intervenor" => Some(Role::Intervenor),
        "supervisor" => Some(Role::Supervisor),
        "author" => Some(Role::Author),
        _ => None,
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The enrolment codes of a store (the `enrolments` tree, by SHA-256 of the code).
pub struct Enrolments {
    store: Store,
}

impl Enrolments {
    pub(crate) fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            store: store.clone(),
        })
    }

    /// Makes a code for a login, replacing any earlier one of that login.
    pub(crate) fn create(&self, mut record: EnrolmentRecord) -> Result<String, StoreError> {
        self.remove_of(&record.login)?;
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let code = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        record.totp_secret = None;
        self.store.put_enrolment(&code, &record)?;
        Ok(code)
    }

    pub(crate) fn get(
        &self,
        code: &str,
        now_ms: u64,
    ) -> Result<Option<EnrolmentRecord>, StoreError> {
        Ok(self
            .store
            .enrolment(code)?
            .filter(|record| record.expires_ms > now_ms))
    }

    fn put(&self, code: &str, record: &EnrolmentRecord) -> Result<(), StoreError> {
        self.store.put_enrolment(code, record)
    }

    fn remove(&self, code: &str) -> Result<(), StoreError> {
        self.store.remove_enrolment(code)
    }

    /// Removes every code of a login (a removed account, a new code).
    pub(crate) fn remove_of(&self, login: &str) -> Result<(), StoreError> {
        self.store
            .retain_enrolments(|record| record.login != login)?;
        Ok(())
    }

    /// The codes still valid (the pending invitations), and expired ones dropped.
    pub(crate) fn pending(&self, now_ms: u64) -> Result<Vec<EnrolmentRecord>, StoreError> {
        let mut out = self
            .store
            .retain_enrolments(|record| record.expires_ms > now_ms)?;
        out.sort_by(|a, b| a.login.cmp(&b.login));
        Ok(out)
    }
}

/// Ends an account's logins and closes its consoles at once.
fn cut_off(app: &HandoffApp, login: &str) -> Result<(), ApiError> {
    app.accounts.revoke_all(login)?;
    app.handoffs.close_consoles_of_login(login);
    Ok(())
}

/// The conversations a disabled or removed account held go back to the queue at their
/// place, so no youth waits on someone who can no longer answer.
async fn release_held(app: &HandoffApp, who: &Intervenor, login: &str) -> Result<(), ApiError> {
    let held: Vec<u64> = app
        .handoffs
        .list()
        .into_iter()
        .filter(|item| item.claimed_by.as_deref() == Some(login))
        .map(|item| item.id)
        .collect();
    for id in held {
        app.handoffs.release(id, who).await?;
        app.audit
            .record(&who.login, Action::Release, format!("handoff:{id}"), login);
    }
    Ok(())
}

async fn list(State(app): State<HandoffApp>, Authed(who): Authed) -> Result<Response, ApiError> {
    supervisor(&who)?;
    let accounts: Vec<StaffAccount> = app
        .accounts
        .list()?
        .into_iter()
        .map(|a| StaffAccount {
            connected: app.handoffs.is_connected(&a.login),
            disabled: a.disabled,
            on_call: app.handoffs.is_on_call(&a.login),
            role: a.role.as_str().into(),
            totp: a.totp_secret.is_some(),
            login: a.login,
            name: a.name,
        })
        .collect();
    let pending: Vec<PendingEnrolment> = app
        .enrolments
        .pending(app.clock.now_ms())?
        .into_iter()
        .map(|e| PendingEnrolment {
            expires_at: e.expires_ms,
            login: e.login,
            name: e.name,
            purpose: e.purpose,
            role: e.role.as_str().into(),
        })
        .collect();
    Ok(Json(StaffList { accounts, pending }).into_response())
}

/// A new enrolment code and the link that carries it (in the fragment, so it never
/// reaches a log or a referrer).
fn code_answer(app: &HandoffApp, login: &str, code: &str, expires_ms: u64) -> Response {
    (
        StatusCode::CREATED,
        Json(EnrolmentCode {
            code: code.into(),
            expires_at: expires_ms,
            link: format!("/intervenants#enrol={code}"),
            login: login.into(),
            valid_hours: app.config.operations.enrolment_hours,
        }),
    )
        .into_response()
}

fn new_code(
    app: &HandoffApp,
    who: &Intervenor,
    login: &str,
    name: &str,
    role: Role,
    purpose: &str,
) -> Result<(String, u64), ApiError> {
    let now = app.clock.now_ms();
    let expires_ms = now + app.config.operations.enrolment_hours.max(1) * 3_600_000;
    let code = app.enrolments.create(EnrolmentRecord {
        login: login.into(),
        name: name.into(),
        role,
        purpose: purpose.into(),
        created_ms: now,
        expires_ms,
        by: who.login.clone(),
        totp_secret: None,
    })?;
    Ok((code, expires_ms))
}

async fn invite(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    ApiJson(body): ApiJson<InviteRequest>,
) -> Result<Response, ApiError> {
    supervisor(&who)?;
    let role = role_of(body.role.as_deref().unwrap_or("intervenor")).ok_or(ApiError::BadRequest)?;
    let name = body.name.trim();
    if !valid_login(&body.login) {
        return Ok(refused(
            "Un identifiant a de 2 à 64 caractères : lettres minuscules, chiffres, « . », « _ » ou « - ».",
            "A login is 2 to 64 lowercase letters, digits, '.', '_' or '-'.",
        ));
    }
    if name.is_empty() || name.chars().count() > 80 {
        return Ok(refused(
            "Donnez un nom (80 caractères au plus).",
            "Give a name (80 characters at most).",
        ));
    }
    if app.accounts.get(&body.login)?.is_some() {
        return Err(ApiError::Conflict);
    }
    let (code, expires_ms) = new_code(&app, &who, &body.login, name, role, "invite")?;
    app.audit.record(
        &who.login,
        Action::AccountInvite,
        format!("account:{}", body.login),
        role.as_str(),
    );
    Ok(code_answer(&app, &body.login, &code, expires_ms))
}

fn account(app: &HandoffApp, login: &str) -> Result<AccountRecord, ApiError> {
    app.accounts.get(login)?.ok_or(ApiError::NotFound)
}

/// A supervisor does not lock themselves out (disable, remove, demote).
fn not_self(who: &Intervenor, login: &str) -> Result<(), ApiError> {
    if who.login == login {
        Err(ApiError::Conflict)
    } else {
        Ok(())
    }
}

async fn disable(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(login): Path<String>,
) -> Result<StatusCode, ApiError> {
    supervisor(&who)?;
    not_self(&who, &login)?;
    let mut record = account(&app, &login)?;
    record.disabled = true;
    app.accounts.put(&record)?;
    if app.handoffs.is_on_call(&login) {
        app.handoffs.set_on_call(&as_intervenor(&record), false)?;
    }
    cut_off(&app, &login)?;
    release_held(&app, &who, &login).await?;
    app.store.flush().await?;
    app.audit.record(
        &who.login,
        Action::AccountDisable,
        format!("account:{login}"),
        "",
    );
    Ok(StatusCode::NO_CONTENT)
}

fn as_intervenor(record: &AccountRecord) -> Intervenor {
    Intervenor {
        login: record.login.clone(),
        name: record.name.clone(),
        role: record.role,
        token_key: [0; 32],
    }
}

async fn enable(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(login): Path<String>,
) -> Result<StatusCode, ApiError> {
    supervisor(&who)?;
    let mut record = account(&app, &login)?;
    record.disabled = false;
    app.accounts.put(&record)?;
    app.store.flush().await?;
    app.audit.record(
        &who.login,
        Action::AccountEnable,
        format!("account:{login}"),
        "",
    );
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(login): Path<String>,
) -> Result<StatusCode, ApiError> {
    supervisor(&who)?;
    not_self(&who, &login)?;
    let record = match app.accounts.get(&login)? {
        Some(record) => record,
        None => {
            // A pending invitation is withdrawn the same way.
            let had = app
                .enrolments
                .pending(app.clock.now_ms())?
                .iter()
                .any(|e| e.login == login);
            if !had {
                return Err(ApiError::NotFound);
            }
            app.enrolments.remove_of(&login)?;
            app.audit.record(
                &who.login,
                Action::AccountRemove,
                format!("account:{login}"),
                "invite",
            );
            return Ok(StatusCode::NO_CONTENT);
        }
    };
    if app.handoffs.is_on_call(&login) {
        app.handoffs.set_on_call(&as_intervenor(&record), false)?;
    }
    let accounts = app.accounts.clone();
    let removing = login.clone();
    blocking(move || accounts.remove(&removing))
        .await?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    app.enrolments.remove_of(&login)?;
    app.handoffs.close_consoles_of_login(&login);
    release_held(&app, &who, &login).await?;
    app.audit.record(
        &who.login,
        Action::AccountRemove,
        format!("account:{login}"),
        "",
    );
    Ok(StatusCode::NO_CONTENT)
}

/// A new password link: the old password stops working at once (it may be known to
/// someone else), and the account's logins end.
async fn reset_password(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(login): Path<String>,
) -> Result<Response, ApiError> {
    supervisor(&who)?;
    let mut record = account(&app, &login)?;
    let mut unknown = [0u8; 32];
    rand::rng().fill_bytes(&mut unknown);
    let unknown = base64::engine::general_purpose::STANDARD.encode(unknown);
    record.password = blocking(move || hash_password(&unknown))
        .await?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    app.accounts.put(&record)?;
    cut_off(&app, &login)?;
    let (code, expires_ms) = new_code(&app, &who, &login, &record.name, record.role, "password")?;
    app.store.flush().await?;
    app.audit.record(
        &who.login,
        Action::AccountResetPassword,
        format!("account:{login}"),
        "",
    );
    Ok(code_answer(&app, &login, &code, expires_ms))
}

/// A lost phone: the TOTP secret is erased at once, the logins end, and a link lets
/// the person enrol a new app.
async fn reset_totp(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(login): Path<String>,
) -> Result<Response, ApiError> {
    supervisor(&who)?;
    let mut record = account(&app, &login)?;
    record.totp_secret = None;
    app.accounts.put(&record)?;
    cut_off(&app, &login)?;
    let (code, expires_ms) = new_code(&app, &who, &login, &record.name, record.role, "totp")?;
    app.store.flush().await?;
    app.audit.record(
        &who.login,
        Action::AccountResetTotp,
        format!("account:{login}"),
        "",
    );
    Ok(code_answer(&app, &login, &code, expires_ms))
}

async fn change_role(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(login): Path<String>,
    ApiJson(body): ApiJson<RoleRequest>,
) -> Result<StatusCode, ApiError> {
    supervisor(&who)?;
    not_self(&who, &login)?;
    let role = role_of(&body.role).ok_or(ApiError::BadRequest)?;
    let mut record = account(&app, &login)?;
    record.role = role;
    app.accounts.put(&record)?;
    // Open consoles hold the old role: they sign in again.
    cut_off(&app, &login)?;
    app.store.flush().await?;
    app.audit.record(
        &who.login,
        Action::AccountRole,
        format!("account:{login}"),
        role.as_str(),
    );
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------ enrolment

/// The QR code of a URI, as an SVG document.
pub(crate) fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

fn enrol_limited(app: &HandoffApp, client: &crate::limits::ClientKey) -> Result<(), ApiError> {
    check_keyed(&app.limits.logins, client).map_err(|wait| ApiError::RateLimited {
        retry_after_ms: wait.as_millis() as u64,
    })
}

/// What the enrolment page shows: who, what to set, and the TOTP to scan.
async fn enrol_page(
    State(app): State<HandoffApp>,
    Client(client): Client,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    enrol_limited(&app, &client)?;
    let mut record = app
        .enrolments
        .get(&code, app.clock.now_ms())?
        .ok_or(ApiError::NotFound)?;
    let secret = match &record.totp_secret {
        Some(secret) => secret.clone(),
        None => {
            let secret = super::totp::new_secret();
            record.totp_secret = Some(secret.clone());
            app.enrolments.put(&code, &record)?;
            secret
        }
    };
    let uri = super::totp::uri(&secret, &record.login);
    Ok(Json(EnrolmentPage {
        expires_at: record.expires_ms,
        needs_password: record.purpose != "totp",
        qr_svg: qr_svg(&uri),
        role: record.role.as_str().into(),
        login: record.login,
        name: record.name,
        purpose: record.purpose,
        totp_secret: secret,
        totp_uri: uri,
    })
    .into_response())
}

/// Sets the password (invite, password reset) and the TOTP the person just scanned,
/// proven by a code; the enrolment code is then spent.
async fn enrol(
    State(app): State<HandoffApp>,
    Client(client): Client,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<EnrolRequest>,
) -> Result<Response, ApiError> {
    enrol_limited(&app, &client)?;
    let record = app
        .enrolments
        .get(&code, app.clock.now_ms())?
        .ok_or(ApiError::NotFound)?;
    let Some(secret) = record.totp_secret.clone() else {
        return Err(ApiError::Conflict);
    };
    let needs_password = record.purpose != "totp";
    let password = body.password.unwrap_or_default();
    if needs_password && password.chars().count() < 12 {
        return Ok(refused(
            "Le mot de passe doit avoir au moins 12 caractères.",
            "The password needs at least 12 characters.",
        ));
    }
    let Some(step) = super::totp::accept(&secret, &body.totp, app.clock.now_secs(), 0) else {
        return Ok(refused(
            "Ce code ne correspond pas. Vérifiez l'heure du téléphone et entrez le code affiché maintenant.",
            "This code does not match. Check the phone's time and type the code shown now.",
        ));
    };
    let hashed = if needs_password {
        Some(
            blocking(move || hash_password(&password))
                .await?
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        )
    } else {
        None
    };
    let existing = app.accounts.get(&record.login)?;
    let account = match (record.purpose.as_str(), existing) {
        ("invite", None) => AccountRecord {
            login: record.login.clone(),
            name: record.name.clone(),
            role: record.role,
            password: hashed.unwrap_or_default(),
            totp_secret: Some(secret),
            totp_last_step: step,
            on_call: false,
            disabled: false,
        },
        ("invite", Some(_)) | (_, None) => return Err(ApiError::Conflict),
        (_, Some(mut account)) => {
            if let Some(hashed) = hashed {
                account.password = hashed;
            }
            account.totp_secret = Some(secret);
            account.totp_last_step = step;
            account
        }
    };
    app.accounts.put(&account)?;
    app.enrolments.remove(&code)?;
    app.store.flush().await?;
    app.audit.record(
        &record.login,
        Action::AccountEnrol,
        format!("account:{}", record.login),
        &record.purpose,
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ------------------------------------------------------------ audit trail

fn day_start_ms(day: &str) -> Result<u64, ApiError> {
    let date =
        chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| ApiError::BadRequest)?;
    let start = date.and_hms_opt(0, 0, 0).ok_or(ApiError::BadRequest)?;
    Ok(start.and_utc().timestamp_millis().max(0) as u64)
}

fn nonempty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

async fn audit(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Query(query): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    supervisor(&who)?;
    let filter = Filter {
        actor: nonempty(query.actor),
        action: nonempty(query.action),
        target: nonempty(query.target),
        from_ms: nonempty(query.from).map(|d| day_start_ms(&d)).transpose()?,
        to_ms: nonempty(query.to)
            .map(|d| day_start_ms(&d).map(|start| start + 86_399_999))
            .transpose()?,
    };
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::BadRequest),
    };
    let limit = query.limit.unwrap_or(500);
    let audit = app.audit.clone();
    let records = blocking(move || audit.list(&filter, limit)).await??;
    if csv {
        app.audit.record(
            &who.login,
            Action::AuditExport,
            "",
            &records.len().to_string(),
        );
        let text = crate::audit::to_csv(&records).map_err(|e| ApiError::Internal(e.to_string()))?;
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"relais-audit.csv\"",
                ),
            ],
            text,
        )
            .into_response());
    }
    // Reading the trail is itself recorded (after the read, so it is not in this answer).
    app.audit.record(
        &who.login,
        Action::AuditRead,
        "",
        &records.len().to_string(),
    );
    let entries: Vec<AuditEntry> = records.into_iter().map(Into::into).collect();
    Ok(Json(entries).into_response())
}

// ------------------------------------------------------------ blocks

async fn blocks(State(app): State<HandoffApp>, Authed(who): Authed) -> Result<Response, ApiError> {
    supervisor(&who)?;
    Ok(Json(app.blocks.list()?).into_response())
}

async fn lift_block(
    State(app): State<HandoffApp>,
    Authed(who): Authed,
    Path(handoff): Path<u64>,
) -> Result<StatusCode, ApiError> {
    supervisor(&who)?;
    if !app.blocks.lift(handoff)? {
        return Err(ApiError::NotFound);
    }
    app.audit.record(
        &who.login,
        Action::BlockLift,
        format!("handoff:{handoff}"),
        "",
    );
    Ok(StatusCode::NO_CONTENT)
}
