//! The `audit` tree: time (ms, big-endian) ++ a unique number → one staff action
//! (JSON), so the trail reads in time order and is purged by range.

use super::records::AuditRecord;
use super::{Store, StoreError};

impl Store {
    /// Appends an entry to the trail.
    pub(crate) fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let id = self.generate_id()?;
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&record.at.to_be_bytes());
        key[8..].copy_from_slice(&id.to_be_bytes());
        self.audit.insert(key, serde_json::to_vec(record)?)?;
        Ok(())
    }

    /// The trail newest first, for as long as `visit` answers true.
    pub(crate) fn audit_newest_first(
        &self,
        mut visit: impl FnMut(AuditRecord) -> bool,
    ) -> Result<(), StoreError> {
        for entry in self.audit.iter().rev() {
            let (_, value) = entry?;
            if !visit(serde_json::from_slice(&value)?) {
                break;
            }
        }
        Ok(())
    }

    /// Deletes the entries made before `cutoff_ms`; how many.
    pub(crate) fn purge_audit_before(&self, cutoff_ms: u64) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut count = 0;
        for entry in self.audit.range(..cutoff_ms.to_be_bytes().to_vec()) {
            let (key, _) = entry?;
            batch.remove(key);
            count += 1;
        }
        self.audit.apply_batch(batch)?;
        Ok(count)
    }
}
