//! The `enrolments` tree: SHA-256 of a one-time enrolment code → its record (JSON).

use sha2::{Digest, Sha256};

use super::records::EnrolmentRecord;
use super::{get_json, put_json, Store, StoreError};

fn code_key(code: &str) -> [u8; 32] {
    Sha256::digest(code.as_bytes()).into()
}

impl Store {
    pub(crate) fn enrolment(&self, code: &str) -> Result<Option<EnrolmentRecord>, StoreError> {
        get_json(&self.enrolments, code_key(code))
    }

    pub(crate) fn put_enrolment(
        &self,
        code: &str,
        record: &EnrolmentRecord,
    ) -> Result<(), StoreError> {
        put_json(&self.enrolments, code_key(code), record)
    }

    pub(crate) fn remove_enrolment(&self, code: &str) -> Result<(), StoreError> {
        self.enrolments.remove(code_key(code))?;
        Ok(())
    }

    /// Every code's record for which `keep` holds; the others are deleted.
    pub(crate) fn retain_enrolments(
        &self,
        keep: impl Fn(&EnrolmentRecord) -> bool,
    ) -> Result<Vec<EnrolmentRecord>, StoreError> {
        let mut kept = Vec::new();
        for entry in self.enrolments.iter() {
            let (key, value) = entry?;
            let record: EnrolmentRecord = serde_json::from_slice(&value)?;
            if keep(&record) {
                kept.push(record);
            } else {
                self.enrolments.remove(key)?;
            }
        }
        Ok(kept)
    }
}
