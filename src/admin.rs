//! The local admin socket: while the server runs, `relais intervenor …`,
//! `relais report` and `relais backup` talk to it instead of opening the store
//! (which the running server locks). It is a Unix socket in the data folder
//! (`DATA/admin.sock`, mode 0600: the server's own user only); anyone who can open
//! it could also read the data folder.
//!
//! The exchange is local and private (not part of `docs/protocol.md`'s public
//! contract): one JSON line asks (`Request`), one JSON line answers (`Answer`);
//! a backup's answer line is followed by the plain payload, which the command line
//! encrypts itself, so the passphrase never reaches the server.
//!
//! When no server answers, the same `Request` is carried out on the store opened
//! by the command itself (`run_local`): one code path, the same output.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::audit::{Action, Audit};
use crate::config::Config;
use crate::handoff::accounts::{AccountError, Accounts};
use crate::handoff::Handoffs;
use crate::store::{Store, StoreError};

/// The socket's name in the data folder.
pub(crate) const SOCKET: &str = "admin.sock";
/// The longest request line.
const MAX_LINE: u64 = 64 * 1024;

pub(crate) use crate::protocol::admin::{Answer, Request};

#[derive(Debug, thiserror::Error)]
pub(crate) enum AdminError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("there is no account {0}")]
    Missing(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the admin socket: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
}

/// What a request is carried out with: the server's parts, or the command's own.
pub(crate) struct Context<'a> {
    pub store: &'a Store,
    pub data_dir: &'a Path,
    pub accounts: &'a Accounts,
    pub audit: &'a Audit,
    /// The running server's handoffs (its consoles); `None` from the command line.
    pub handoffs: Option<&'a Handoffs>,
    /// Counters still in memory are written before a report.
    pub stats: Option<&'a crate::stats::Stats>,
}

/// Carries out a request (blocking: hashes passwords, reads the store). A backup
/// writes its payload to `out`.
pub(crate) fn execute(
    ctx: &Context<'_>,
    request: Request,
    out: &mut dyn Write,
) -> Result<String, AdminError> {
    let actor = "cli";
    let audit = |action: Action, login: &str, detail: &str| {
        ctx.audit
            .record(actor, action, format!("account:{login}"), detail)
    };
    let cut_off = |login: &str| {
        if let Some(handoffs) = ctx.handoffs {
            handoffs.close_consoles_of_login(login);
        }
    };
    Ok(match request {
        Request::Ping => "ok\n".into(),
        Request::IntervenorAdd {
            login,
            name,
            role,
            password,
        } => {
            ctx.accounts.add(&login, &name, role, &password)?;
            audit(Action::AccountAdd, &login, role.as_str());
            format!("account {login} created ({})\n", role.as_str())
        }
        Request::IntervenorList => {
            let mut text = String::new();
            for account in ctx.accounts.list()? {
                text.push_str(&format!(
                    "{}\t{}\t{}\t{}{}\n",
                    account.login,
                    account.role.as_str(),
                    if account.totp_secret.is_some() {
                        "totp"
                    } else {
                        "-"
                    },
                    account.name,
                    if account.disabled { "\t(disabled)" } else { "" },
                ));
            }
            text
        }
        Request::IntervenorRemove { login } => {
            if let Some(handoffs) = ctx.handoffs {
                if handoffs.is_on_call(&login) {
                    if let Some(record) = ctx.accounts.get(&login)? {
                        let who = crate::handoff::accounts::Intervenor {
                            login: record.login,
                            name: record.name,
                            role: record.role,
                            token_key: [0; 32],
                        };
                        let _ = handoffs.set_on_call(&who, false);
                    }
                }
            }
            ctx.accounts.remove(&login)?;
            cut_off(&login);
            audit(Action::AccountRemove, &login, "");
            format!("account {login} removed\n")
        }
        Request::IntervenorResetPassword { login, password } => {
            ctx.accounts.reset_password(&login, &password)?;
            cut_off(&login);
            audit(Action::AccountResetPassword, &login, "");
            format!("password of {login} changed; its logins are ended\n")
        }
        Request::TotpEnable { login } => {
            let mut account = ctx
                .accounts
                .get(&login)?
                .ok_or_else(|| AdminError::Missing(login.clone()))?;
            let secret = crate::handoff::totp::new_secret();
            account.totp_secret = Some(secret.clone());
            account.totp_last_step = 0;
            ctx.accounts.put(&account)?;
            ctx.store.flush_blocking()?;
            audit(Action::AccountResetTotp, &login, "enable");
            format!("{}\n", crate::handoff::totp::uri(&secret, &login))
        }
        Request::TotpDisable { login } => {
            let mut account = ctx
                .accounts
                .get(&login)?
                .ok_or_else(|| AdminError::Missing(login.clone()))?;
            account.totp_secret = None;
            ctx.accounts.put(&account)?;
            ctx.store.flush_blocking()?;
            audit(Action::AccountResetTotp, &login, "disable");
            format!("TOTP turned off for {login}\n")
        }
        Request::Report {
            from,
            to,
            period,
            format,
            lang,
            last,
        } => {
            let request = crate::impact::Request {
                from,
                to,
                unit: period,
                format,
                lang,
            };
            let (mut range, format, lang) = request
                .parse()
                .map_err(|error| AdminError::Invalid(error.to_string()))?;
            if last {
                range = range.previous();
            }
            if let Some(stats) = ctx.stats {
                stats.flush(ctx.store)?;
            }
            let report = crate::impact::Report::build(ctx.store, range, lang)?;
            ctx.audit.record(actor, Action::StatsExport, "", "report");
            report.render(format)
        }
        Request::Backup => {
            ctx.audit.record(actor, Action::Backup, "", "");
            crate::backup::write_payload(ctx.store, ctx.data_dir, out)?;
            String::new()
        }
    })
}

// ------------------------------------------------------------ the server side

/// The listening socket; removed when the server stops.
pub(crate) struct AdminSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl AdminSocket {
    pub(crate) fn stop(self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Opens `DATA/admin.sock` (mode 0600) and serves it. A socket file left by a
/// server that died is replaced: the store is locked, so no other server runs here.
pub(crate) fn listen(state: crate::handoff::HandoffApp) -> std::io::Result<AdminSocket> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let path = state.config.data_dir.join(SOCKET);
    let _ = std::fs::remove_file(&path);
    // Made in a private folder, set to 0600, then moved into place: nobody else can
    // connect in between, whatever the umask and the data folder's mode.
    let private = state
        .config
        .data_dir
        .join(format!(".admin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&private);
    std::fs::DirBuilder::new().mode(0o700).create(&private)?;
    let staged = private.join(SOCKET);
    let bound = tokio::net::UnixListener::bind(&staged).and_then(|listener| {
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&staged, &path)?;
        Ok(listener)
    });
    let _ = std::fs::remove_dir_all(&private);
    let listener = bound?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let Ok(stream) = stream.into_std() else {
                    return;
                };
                let _ = tokio::task::spawn_blocking(move || serve_one(&state, stream)).await;
            });
        }
    });
    Ok(AdminSocket { path, task })
}

fn serve_one(
    state: &crate::handoff::HandoffApp,
    stream: std::os::unix::net::UnixStream,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    let mut reader = BufReader::new((&stream).take(MAX_LINE));
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut writer = std::io::BufWriter::new(&stream);
    let request = match Request::from_line(&line) {
        Some(request) => request,
        None => {
            return answer(
                &mut writer,
                Err(AdminError::Invalid("the request is not understood".into())),
            )
        }
    };
    let ctx = Context {
        store: &state.store,
        data_dir: &state.config.data_dir,
        accounts: &state.accounts,
        audit: &state.audit,
        handoffs: Some(&state.handoffs),
        stats: Some(&state.stats),
    };
    if matches!(request, Request::Backup) {
        // The answer line first, then the payload.
        answer(&mut writer, Ok(String::new()))?;
        let result = execute(&ctx, request, &mut writer);
        if let Err(e) = &result {
            tracing::error!(error = %e, "a backup through the admin socket failed");
        }
        return writer.flush();
    }
    let result = execute(&ctx, request, &mut std::io::sink());
    answer(&mut writer, result)
}

fn answer(out: &mut impl Write, result: Result<String, AdminError>) -> std::io::Result<()> {
    let answer = match result {
        Ok(output) => Answer {
            ok: true,
            output,
            error: String::new(),
        },
        Err(e) => Answer {
            ok: false,
            output: String::new(),
            error: e.to_string(),
        },
    };
    out.write_all(&answer.to_line())?;
    out.flush()
}

// ------------------------------------------------------------ the command side

/// The running server's admin socket, if one answers.
pub(crate) fn connect(data_dir: &Path) -> Option<std::os::unix::net::UnixStream> {
    std::os::unix::net::UnixStream::connect(data_dir.join(SOCKET)).ok()
}

/// Sends a request to a running server; `None` when no server runs there.
/// A backup's payload is copied into `out`.
pub(crate) fn send(
    data_dir: &Path,
    request: &Request,
    out: &mut dyn Write,
) -> Option<Result<Answer, AdminError>> {
    let stream = connect(data_dir)?;
    Some((|| {
        (&stream).write_all(&request.to_line())?;
        let mut reader = BufReader::new(&stream);
        let mut first = String::new();
        reader.read_line(&mut first)?;
        let answer = Answer::from_line(&first)
            .ok_or_else(|| AdminError::Invalid("the server's answer is not understood".into()))?;
        if answer.ok && matches!(request, Request::Backup) {
            std::io::copy(&mut reader, out)?;
        }
        Ok(answer)
    })())
}

/// Carries a request out on the store opened here (no server runs).
pub(crate) fn run_local(
    config: &Config,
    request: Request,
    out: &mut dyn Write,
) -> Result<String, AdminError> {
    let store = Store::open(&config.data_dir)?;
    let accounts = Accounts::new(
        store.clone(),
        crate::clock::Clock::system(),
        config.console.clone(),
    );
    let audit = Audit::open(
        &store,
        crate::clock::Clock::system(),
        config.operations.audit_retention_days,
    )?;
    let ctx = Context {
        store: &store,
        data_dir: &config.data_dir,
        accounts: &accounts,
        audit: &audit,
        handoffs: None,
        stats: None,
    };
    let output = execute(&ctx, request, out)?;
    store.flush_blocking()?;
    Ok(output)
}

/// Through the running server if there is one, else on the store directly.
pub(crate) fn run(
    config: &Config,
    request: Request,
    out: &mut dyn Write,
) -> anyhow::Result<String> {
    match send(&config.data_dir, &request, out) {
        Some(Ok(answer)) if answer.ok => Ok(answer.output),
        Some(Ok(answer)) => anyhow::bail!("{}", answer.error),
        Some(Err(e)) => Err(e.into()),
        None => run_local(config, request, out).map_err(|e| match e {
            AdminError::Store(StoreError::Sled(_)) => anyhow::anyhow!(
                "cannot open the store in {} (a server may be starting or its admin socket is gone; try again)",
                config.data_dir.display()
            ),
            other => other.into(),
        }),
    }
}
