//! The staff audit trail: every staff action (logins, claims, closes, reading a
//! transcript or a report, changing a report, exporting figures, account changes,
//! monitoring) with who did it, what, on which id, and when. Never a youth's words:
//! an entry holds a login, an action name, an id and at most one word of detail
//! (an outcome, a status, a role).
//!
//! Entries live in their own sled tree (`audit`), keyed by time then a unique
//! number, so a listing is in order and the retention purge cuts a prefix.

use serde::Serialize;

use crate::clock::Clock;
use crate::store::records::AuditRecord;
use crate::store::{Store, StoreError};

/// The most entries one listing returns.
pub(crate) const MAX_LIST: usize = 5_000;

/// What the trail records. The names are the `action` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Action {
    Login,
    LoginFailed,
    Logout,
    Claim,
    Release,
    Close,
    Assign,
    ReportRead,
    ReportStatus,
    ReportAssign,
    ReportNote,
    ReportMessage,
    ReportForwarded,
    StatsExport,
    AuditRead,
    AuditExport,
    AccountAdd,
    AccountInvite,
    AccountEnrol,
    AccountDisable,
    AccountEnable,
    AccountRemove,
    AccountResetPassword,
    AccountResetTotp,
    AccountRole,
    Monitor,
    Unmonitor,
    Whisper,
    BlockLift,
    Backup,
}

impl Action {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::LoginFailed => "login_failed",
            Action::Logout => "logout",
            Action::Claim => "claim",
            Action::Release => "release",
            Action::Close => "close",
            Action::Assign => "assign",
            Action::ReportRead => "report_read",
            Action::ReportStatus => "report_status",
            Action::ReportAssign => "report_assign",
            Action::ReportNote => "report_note",
            Action::ReportMessage => "report_message",
            Action::ReportForwarded => "report_forwarded",
            Action::StatsExport => "stats_export",
            Action::AuditRead => "audit_read",
            Action::AuditExport => "audit_export",
            Action::AccountAdd => "account_add",
            Action::AccountInvite => "account_invite",
            Action::AccountEnrol => "account_enrol",
            Action::AccountDisable => "account_disable",
            Action::AccountEnable => "account_enable",
            Action::AccountRemove => "account_remove",
            Action::AccountResetPassword => "account_reset_password",
            Action::AccountResetTotp => "account_reset_totp",
            Action::AccountRole => "account_role",
            Action::Monitor => "monitor",
            Action::Unmonitor => "unmonitor",
            Action::Whisper => "whisper",
            Action::BlockLift => "block_lift",
            Action::Backup => "backup",
        }
    }
}

/// Which entries a listing wants; empty fields match everything.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// A target such as `handoff:12`, or its kind (`handoff`).
    pub target: Option<String>,
    pub from_ms: Option<u64>,
    pub to_ms: Option<u64>,
}

impl Filter {
    fn matches(&self, record: &AuditRecord) -> bool {
        let target_ok = self
            .target
            .as_deref()
            .is_none_or(|t| record.target == t || record.target.split(':').next() == Some(t));
        self.actor.as_deref().is_none_or(|a| record.actor == a)
            && self.action.as_deref().is_none_or(|a| record.action == a)
            && target_ok
            && self.from_ms.is_none_or(|from| record.at >= from)
            && self.to_ms.is_none_or(|to| record.at <= to)
    }
}

/// The trail; cheap to share (its entries live in the store's `audit` tree).
pub struct Audit {
    store: Store,
    clock: Clock,
    retention_days: u64,
}

impl Audit {
    pub fn open(store: &Store, clock: Clock, retention_days: u64) -> Result<Self, StoreError> {
        Ok(Self {
            store: store.clone(),
            clock,
            retention_days,
        })
    }

    /// Records an action. A failure to write is logged, never shown to the user:
    /// the action itself already happened.
    pub(crate) fn record(
        &self,
        actor: &str,
        action: Action,
        target: impl Into<String>,
        detail: &str,
    ) {
        let record = AuditRecord {
            at: self.clock.now_ms(),
            actor: actor.to_string(),
            action: action.as_str().to_string(),
            target: target.into(),
            detail: detail.to_string(),
        };
        if let Err(e) = self.put(&record) {
            tracing::error!(error = %e, action = action.as_str(), "could not write the audit trail");
        }
    }

    fn put(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.store.append_audit(record)
    }

    /// Entries matching a filter, newest first, at most `limit`.
    pub fn list(&self, filter: &Filter, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let mut out = Vec::new();
        self.store.audit_newest_first(|record| {
            if filter.to_ms.is_some_and(|to| record.at > to) {
                return true;
            }
            if filter.from_ms.is_some_and(|from| record.at < from) {
                return false;
            }
            if filter.matches(&record) {
                out.push(record);
                if out.len() >= limit.min(MAX_LIST) {
                    return false;
                }
            }
            true
        })?;
        Ok(out)
    }

    /// Deletes entries older than the retention (blocking IO).
    pub(crate) fn purge(&self) -> Result<usize, StoreError> {
        let keep_ms = self.retention_days.saturating_mul(86_400_000);
        let cutoff = self.clock.now_ms().saturating_sub(keep_ms);
        self.store.purge_audit_before(cutoff)
    }
}

/// The entries as CSV (`at,actor,action,target,detail`, times in UTC, RFC 3339).
pub(crate) fn to_csv(records: &[AuditRecord]) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["at", "actor", "action", "target", "detail"])?;
    for record in records {
        let at = chrono::DateTime::from_timestamp_millis(record.at as i64)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        writer.write_record([
            at.as_str(),
            record.actor.as_str(),
            record.action.as_str(),
            record.target.as_str(),
            record.detail.as_str(),
        ])?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_list_newest_first_and_csv_quotes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let audit = Audit::open(&store, Clock::system(), 365).unwrap();
        audit.record("sam", Action::Claim, "handoff:1", "");
        audit.record("alex", Action::AccountDisable, "account:sam", "");
        audit.record("sam", Action::Close, "handoff:1", "resolved");
        let all = audit.list(&Filter::default(), 100).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].action, "close");
        let sam = Filter {
            actor: Some("sam".into()),
            ..Filter::default()
        };
        assert_eq!(audit.list(&sam, 100).unwrap().len(), 2);
        let handoffs = Filter {
            target: Some("handoff".into()),
            ..Filter::default()
        };
        assert_eq!(audit.list(&handoffs, 100).unwrap().len(), 2);
        let csv = to_csv(&all).unwrap();
        assert!(csv.starts_with("at,actor,action,target,detail\n"), "{csv}");
        assert!(csv.contains(",sam,close,handoff:1,resolved\n"), "{csv}");
        assert_eq!(audit.purge().unwrap(), 0);
    }
}
