//! The youth's side of anonymous reports: the report being written, the report a
//! follow-up code opened, the receipt not yet shown, and the blocking work a chat
//! turn asks for (store a report, look a receipt up, add to a report, the reporter's
//! view of it). Everything here is memory only; nothing a youth wrote reaches a log.
//!
//! The chat calls it (`chat::conversation`); it knows nothing of sessions or sockets,
//! so `reports` never depends on `chat`. Its map has its own lifetime: a session
//! leaving memory (`Sessions::evict_detached`, the purge) takes its draft and open
//! report along but never a receipt not yet shown, which waits here until the
//! session attaches again, is forgotten, or expires.

use std::collections::BTreeMap;
use std::sync::Arc;

use dashmap::DashMap;

use super::{ReportError, ReportMessage, Reports};
use crate::protocol::{Control, ReportFieldWire, ReporterMessage};
use crate::store::SessionKey;

/// The prefix of the flow variables that are a report's choices (`rapport_danger`,
/// `rapport_type`…): they become fields of the report and leave the session with it.
pub(crate) const REPORT_VAR_PREFIX: &str = "rapport_";

/// What went wrong with a youth's report step; the cause is for the log only.
#[derive(Debug, thiserror::Error)]
pub(crate) enum YouthReportError {
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("a report task stopped: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// One session's report business, in memory.
#[derive(Debug, Default)]
struct Desk {
    /// The report being written: (field, answer).
    draft: Vec<(String, String)>,
    /// The report this youth opened with its code (or just sent).
    open: Option<u64>,
    /// A receipt not yet delivered (the socket was down): sent once at the next
    /// attach, then forgotten.
    pending_receipt: Option<String>,
}

impl Desk {
    fn is_empty(&self) -> bool {
        self.draft.is_empty() && self.open.is_none() && self.pending_receipt.is_none()
    }
}

/// Every session's report business. Locked after a session (inside
/// `Sessions::with` or `attach`), never before one.
#[derive(Debug, Default)]
pub struct YouthReports {
    desks: DashMap<SessionKey, Desk>,
}

impl YouthReports {
    /// Keeps an answer of the report being written (one per field, the last wins).
    pub(crate) fn add_answer(&self, key: &SessionKey, field: String, value: String) {
        let mut desk = self.desks.entry(*key).or_default();
        desk.draft.retain(|(f, _)| *f != field);
        desk.draft.push((field, value));
    }

    /// The report so far, as the youth sees it before confirming.
    pub(crate) fn summary(
        &self,
        key: &SessionKey,
        vars: &BTreeMap<String, String>,
    ) -> Vec<ReportFieldWire> {
        self.fields(key, vars)
            .into_iter()
            .map(|(field, value)| ReportFieldWire { field, value })
            .collect()
    }

    /// The report's fields: the `rapport_*` choices (without the prefix), then the
    /// answers. The draft stays until [`Self::clear_draft`] (a report that could
    /// not be stored can be sent again).
    pub(crate) fn fields(
        &self,
        key: &SessionKey,
        vars: &BTreeMap<String, String>,
    ) -> Vec<(String, String)> {
        let draft = self
            .desks
            .get(key)
            .map(|desk| desk.draft.clone())
            .unwrap_or_default();
        vars.iter()
            .filter_map(|(name, value)| {
                Some((
                    name.strip_prefix(REPORT_VAR_PREFIX)?.to_string(),
                    value.clone(),
                ))
            })
            .chain(draft)
            .collect()
    }

    /// The report is stored: its answers, and its choices in `vars`, leave the
    /// session.
    pub(crate) fn clear_draft(&self, key: &SessionKey, vars: &mut BTreeMap<String, String>) {
        if let Some(mut desk) = self.desks.get_mut(key) {
            desk.draft.clear();
        }
        vars.retain(|name, _| !name.starts_with(REPORT_VAR_PREFIX));
    }

    /// The report this youth has open now.
    pub(crate) fn set_open(&self, key: &SessionKey, id: u64) {
        self.desks.entry(*key).or_default().open = Some(id);
    }

    pub(crate) fn opened(&self, key: &SessionKey) -> Option<u64> {
        self.desks.get(key).and_then(|desk| desk.open)
    }

    /// Keeps a receipt until a socket takes it.
    pub(crate) fn keep_receipt(&self, key: &SessionKey, receipt: String) {
        self.desks.entry(*key).or_default().pending_receipt = Some(receipt);
    }

    /// The receipt waiting for this session, taken (it is shown once).
    pub(crate) fn take_receipt(&self, key: &SessionKey) -> Option<String> {
        let mut desk = self.desks.get_mut(key)?;
        desk.pending_receipt.take()
    }

    /// The session left memory: its draft and open report go with it; a receipt
    /// not yet shown stays.
    pub(crate) fn session_left_memory(&self, key: &SessionKey) {
        self.desks.remove_if_mut(key, |_, desk| {
            desk.draft.clear();
            desk.open = None;
            desk.is_empty()
        });
    }

    /// The session is erased or expired: everything goes, a pending receipt too (no
    /// socket can ever take it).
    pub(crate) fn forget(&self, key: &SessionKey) {
        self.desks.remove(key);
    }
}

/// Stores a report off the runtime (argon2id, a key file, a flush); returns its id
/// and receipt.
pub(crate) async fn submit(
    reports: Arc<Reports>,
    answers: Vec<(String, String)>,
    vars: BTreeMap<String, String>,
    lang: String,
) -> Result<(u64, String), YouthReportError> {
    let permit = crate::limits::argon2_permit().await;
    let submitted = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        reports.submit(answers, &vars, &lang)
    })
    .await??;
    Ok(submitted)
}

/// The report a typed code opens; `Ok(None)` for a wrong or a missing code alike,
/// `Err` when the store could not answer (which is not "no such report").
pub(crate) async fn lookup(
    reports: Arc<Reports>,
    typed: String,
) -> Result<Option<u64>, YouthReportError> {
    let permit = crate::limits::argon2_permit().await;
    let found = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        reports.lookup(&typed)
    })
    .await??;
    Ok(found)
}

/// Adds what the reporter wrote to their report (`ReportError::Full` past its caps).
pub(crate) async fn append(
    reports: Arc<Reports>,
    id: u64,
    text: String,
) -> Result<(), YouthReportError> {
    tokio::task::spawn_blocking(move || {
        let at = reports.now_ms();
        reports.change(id, |_, content| {
            content.messages.push(ReportMessage {
                from: "reporter".into(),
                name: None,
                text,
                at,
            })
        })
    })
    .await??;
    Ok(())
}

/// The reporter's view of a report: its status and the messages (no notes), the
/// newest that fit in one frame (the socket refuses larger ones; a report's caps
/// keep them all in it, this is the guard).
pub(crate) fn status_frame(reports: &Reports, id: u64) -> Result<Control, ReportError> {
    let record = reports.record(id)?;
    let content = reports.content(&record)?;
    let mut room = super::STATUS_FRAME_TEXT_BYTES;
    let mut messages: Vec<_> = content
        .messages
        .into_iter()
        .rev()
        .take_while(|m| match room.checked_sub(m.text.len() + 64) {
            Some(left) => {
                room = left;
                true
            }
            None => false,
        })
        .collect();
    messages.reverse();
    Ok(Control::ReportStatus {
        status: record.status.into(),
        messages: messages
            .into_iter()
            .map(|m| ReporterMessage {
                from: m.from,
                name: m.name,
                text: m.text,
                at: m.at,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: SessionKey = [7; 32];

    #[test]
    fn a_pending_receipt_outlives_the_session_leaving_memory() {
        let desks = YouthReports::default();
        desks.add_answer(&KEY, "ou".into(), "en ligne".into());
        desks.set_open(&KEY, 3);
        desks.keep_receipt(&KEY, "1234 5678 9012 3456".into());
        desks.session_left_memory(&KEY);
        assert_eq!(
            desks.opened(&KEY),
            None,
            "the open report leaves with the session"
        );
        assert!(desks.summary(&KEY, &BTreeMap::new()).is_empty());
        assert_eq!(
            desks.take_receipt(&KEY).as_deref(),
            Some("1234 5678 9012 3456")
        );
        assert_eq!(desks.take_receipt(&KEY), None, "a receipt is shown once");
    }

    #[test]
    fn a_forgotten_session_takes_its_receipt_along() {
        let desks = YouthReports::default();
        desks.keep_receipt(&KEY, "1234 5678 9012 3456".into());
        desks.forget(&KEY);
        assert_eq!(
            desks.take_receipt(&KEY),
            None,
            "the receipt left with the session"
        );
    }

    #[test]
    fn a_stored_draft_takes_the_report_choices_out_of_the_session() {
        let desks = YouthReports::default();
        let mut vars = BTreeMap::from([
            ("rapport_danger".to_string(), "oui".to_string()),
            ("theme".to_string(), "sextorsion".to_string()),
        ]);
        desks.add_answer(&KEY, "qui".into(), "un inconnu".into());
        desks.add_answer(&KEY, "qui".into(), "un adulte".into());
        let expected = vec![
            ("danger".to_string(), "oui".to_string()),
            ("qui".to_string(), "un adulte".to_string()),
        ];
        assert_eq!(desks.fields(&KEY, &vars), expected);
        assert_eq!(desks.fields(&KEY, &vars), expected, "kept until stored");
        desks.clear_draft(&KEY, &mut vars);
        assert_eq!(vars.keys().collect::<Vec<_>>(), vec!["theme"]);
        assert!(desks.fields(&KEY, &vars).is_empty());
    }
}
