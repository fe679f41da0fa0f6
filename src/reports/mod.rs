//! Anonymous reports: a youth (or a worried friend) describes a situation, gets a
//! receipt — 16 digits, shown once — and comes back with it to read the answers and
//! add to the report. The receipt is the only key: it is stored only as an argon2id
//! hash (with a salt of the server's), never in clear and never recoverable. A
//! report's content is sealed with a key of its own (see `store::keys`) and erased
//! with it 90 days after its last activity.

pub(crate) mod youth;

use std::collections::BTreeMap;

use argon2::{Algorithm, Argon2, Params, Version};
use rand::{Rng, RngCore};

use crate::clock::Clock;
pub(crate) use crate::store::records::{ReportContent as Content, ReportMessage, ReportNote};
use crate::store::records::{ReportRecord, ReportStatus};
pub(crate) use crate::store::report_key;
use crate::store::{Store, StoreError};

pub(crate) mod api;

/// The flow variables a report is made of, as the scripts name them (`flows/`):
/// every `rapport_*` variable is an answer; two of them also sort the report.
pub(crate) mod flow_vars {
    /// "Is someone in danger now?": [`DANGER_YES`] puts the report at the top.
    pub(crate) const DANGER: &str = "rapport_danger";
    pub(crate) const DANGER_YES: &str = "oui";
    /// The kind of situation; [`KIND_OTHER`] when the flow did not ask.
    pub(crate) const KIND: &str = "rapport_type";
    pub(crate) const KIND_OTHER: &str = "autre";
}

/// Most messages a report holds (reporter's and team's together).
pub(crate) const MAX_MESSAGES: usize = 60;
/// Most bytes of text a report holds (answers, messages, notes): its status frame
/// stays well under the socket's write limit, and each change stays cheap.
pub(crate) const MAX_CONTENT_BYTES: usize = 64 * 1024;
/// Bytes of message text a `report_status` frame carries at most.
pub(crate) const STATUS_FRAME_TEXT_BYTES: usize = 96 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReportError {
    #[error("no such report")]
    NotFound,
    #[error("the report's key is gone")]
    Erased,
    #[error("the report is full")]
    Full,
    #[error("a receipt could not be hashed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Reports {
    store: Store,
    clock: Clock,
    retention_days: u64,
    /// The salt of receipt hashes (made once, kept in the store).
    salt: [u8; 16],
    /// Who is told that a report was made or changed (the consoles); set once at start.
    listener: std::sync::OnceLock<ChangeListener>,
}

/// Told a report's id, and whether it is new, after each change.
type ChangeListener = Box<dyn Fn(u64, bool) + Send + Sync>;

/// A new receipt: 16 digits in groups of 4.
pub(crate) fn new_receipt() -> String {
    let mut rng = rand::rng();
    let digits: String = (0..16)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
    digits
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The digits of what a youth typed as a receipt (spaces, dashes and dots ignored).
fn receipt_digits(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| c.is_ascii_digit()).collect();
    let only_separators = typed
        .chars()
        .all(|c| c.is_ascii_digit() || " -.".contains(c));
    (digits.len() == 16 && only_separators).then_some(digits)
}

impl Reports {
    /// Sets who is told of each change (once; a second call is ignored).
    pub(crate) fn on_change(&self, listener: impl Fn(u64, bool) + Send + Sync + 'static) {
        let _ = self.listener.set(Box::new(listener));
    }

    /// Tells the listener that report `id` was made (`new`) or changed.
    pub(crate) fn changed(&self, id: u64, new: bool) {
        if let Some(listener) = self.listener.get() {
            listener(id, new);
        }
    }

    pub(crate) fn open(
        store: Store,
        clock: Clock,
        retention_days: u64,
    ) -> Result<Self, StoreError> {
        let salt = match store.meta("receipt_salt")? {
            Some(bytes) if bytes.len() == 16 => bytes.try_into().unwrap_or([0; 16]),
            _ => {
                let mut salt = [0u8; 16];
                rand::rng().fill_bytes(&mut salt);
                store.set_meta("receipt_salt", &salt)?;
                salt
            }
        };
        let reports = Self {
            store,
            clock,
            retention_days,
            salt,
            listener: std::sync::OnceLock::new(),
        };
        // Reports from before the lookup index: index them once.
        reports.store.index_receipts_once()?;
        Ok(reports)
    }

    /// The lookup key of a receipt: argon2id with the server's salt (slow on
    /// purpose; blocking). A failure is an error, never an all-zero key that would
    /// make every failed receipt open the same report.
    fn lookup_key(&self, digits: &str) -> Result<String, ReportError> {
        let mut out = [0u8; 32];
        let hasher = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(19 * 1024, 2, 1, Some(32)).expect("valid argon2 parameters"),
        );
        hasher
            .hash_password_into(digits.as_bytes(), &self.salt, &mut out)
            .map_err(|e| ReportError::Hash(e.to_string()))?;
        Ok(data_encoding::HEXLOWER.encode(&out))
    }

    /// Stores a report; returns its id and the receipt (to show once). Blocking.
    pub(crate) fn submit(
        &self,
        answers: Vec<(String, String)>,
        vars: &BTreeMap<String, String>,
        lang: &str,
    ) -> Result<(u64, String), ReportError> {
        let id = self.store.generate_id()?;
        let receipt = new_receipt();
        let digits = receipt_digits(&receipt).unwrap_or_default();
        let key = self
            .store
            .keys
            .create(&report_key(id))
            .map_err(StoreError::Keys)?;
        let content = Content {
            answers,
            ..Default::default()
        };
        let now = self.clock.now_ms();
        let mut content = content;
        content.answers.truncate(64);
        let mut room = MAX_CONTENT_BYTES / 2;
        for (_, value) in content.answers.iter_mut() {
            let mut end = value.len().min(room);
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value.truncate(end);
            room -= end;
        }
        let lookup = self.lookup_key(&digits)?;
        self.store.index_receipt(&lookup, id)?;
        let record = ReportRecord {
            id,
            lookup,
            status: ReportStatus::New,
            danger: vars
                .get(flow_vars::DANGER)
                .is_some_and(|v| v == flow_vars::DANGER_YES),
            kind: vars
                .get(flow_vars::KIND)
                .cloned()
                .unwrap_or_else(|| flow_vars::KIND_OTHER.into()),
            lang: lang.to_string(),
            created_ms: now,
            updated_ms: now,
            assigned_to: None,
            sealed: Store::seal_report_content(&key, &content)?,
        };
        self.put(&record)?;
        self.store.flush_blocking()?;
        Ok((id, receipt))
    }

    /// The report a receipt opens; `None` for a wrong one and a missing one alike
    /// (the same work is done either way). Blocking.
    pub(crate) fn lookup(&self, typed: &str) -> Result<Option<u64>, ReportError> {
        // A malformed receipt costs the same hash as a well-formed one.
        let digits = receipt_digits(typed).unwrap_or_else(|| "x".repeat(16));
        let lookup = self.lookup_key(&digits)?;
        if receipt_digits(typed).is_none() {
            return Ok(None);
        }
        let found = self.store.report_of_receipt(&lookup)?;
        Ok(found.filter(|id| self.record(*id).is_ok()))
    }

    pub(crate) fn record(&self, id: u64) -> Result<ReportRecord, ReportError> {
        self.store.report(id)?.ok_or(ReportError::NotFound)
    }

    fn put(&self, record: &ReportRecord) -> Result<(), StoreError> {
        self.store.put_report(record)
    }

    pub(crate) fn content(&self, record: &ReportRecord) -> Result<Content, ReportError> {
        self.store
            .report_content(record)?
            .ok_or(ReportError::Erased)
    }

    /// Changes a report's content and metadata, resealed; counts as activity.
    pub(crate) fn change(
        &self,
        id: u64,
        change: impl FnOnce(&mut ReportRecord, &mut Content),
    ) -> Result<ReportRecord, ReportError> {
        let mut record = self.record(id)?;
        let mut content = self.content(&record)?;
        let before = content.clone();
        change(&mut record, &mut content);
        if content != before
            && (content.messages.len() > MAX_MESSAGES || text_bytes(&content) > MAX_CONTENT_BYTES)
        {
            return Err(ReportError::Full);
        }
        let key = self
            .store
            .keys
            .get(&report_key(id))
            .ok_or(ReportError::Erased)?;
        record.sealed = Store::seal_report_content(&key, &content)?;
        record.updated_ms = self.clock.now_ms();
        self.put(&record)?;
        Ok(record)
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Every report, newest activity first, "danger now" at the top.
    pub(crate) fn list(&self) -> Result<Vec<ReportRecord>, ReportError> {
        let mut list = self.store.list_reports()?;
        list.sort_by_key(|r| {
            (
                !(r.danger && r.status != ReportStatus::Closed),
                std::cmp::Reverse(r.updated_ms),
            )
        });
        Ok(list)
    }

    /// Erases reports without activity for the retention period (blocking).
    pub(crate) fn purge(&self) -> Result<usize, ReportError> {
        let keep = self.retention_days * 86_400_000;
        let now = self.clock.now_ms();
        let mut erased = 0;
        for record in self.list()? {
            if record.updated_ms + keep <= now {
                self.store.delete_report(&record)?;
                erased += 1;
            }
        }
        Ok(erased)
    }
}

/// The bytes of text a report holds.
fn text_bytes(content: &Content) -> usize {
    content
        .answers
        .iter()
        .map(|(f, v)| f.len() + v.len())
        .chain(content.messages.iter().map(|m| m.text.len()))
        .chain(content.notes.iter().map(|n| n.text.len()))
        .chain(content.forwarded.iter().map(|n| n.text.len()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_are_sixteen_digits_in_groups_of_four() {
        let receipt = new_receipt();
        assert_eq!(receipt.len(), 19);
        assert_eq!(receipt.split(' ').count(), 4);
        assert_eq!(receipt_digits(&receipt).unwrap().len(), 16);
        assert_eq!(
            receipt_digits("1234-5678-9012-3456").unwrap(),
            "1234567890123456"
        );
        assert!(receipt_digits("1234 5678").is_none());
        assert!(receipt_digits("1234 5678 9012 345a6").is_none());
    }
}
