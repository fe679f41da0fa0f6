//! The `reports` and `report_lookups` trees: an anonymous report (JSON, sealed with
//! the report's own key, its content sealed again inside) under its id
//! (big-endian), and the receipt index: a receipt's argon2id hash (hex) → the
//! report's id, so a receipt opens its report without reading every report.

use super::keys::Key;
use super::records::{ReportContent, ReportRecord};
use super::{get_json, put_json, Store, StoreError};

/// The name of a report's key.
pub(crate) fn report_key(id: u64) -> String {
    format!("report-{id}")
}

impl Store {
    pub(crate) fn report(&self, id: u64) -> Result<Option<ReportRecord>, StoreError> {
        get_json(&self.reports, id.to_be_bytes())
    }

    pub(crate) fn put_report(&self, record: &ReportRecord) -> Result<(), StoreError> {
        put_json(&self.reports, record.id.to_be_bytes(), record)
    }

    /// Every readable report, in id order.
    pub(crate) fn list_reports(&self) -> Result<Vec<ReportRecord>, StoreError> {
        let mut list = Vec::new();
        for entry in self.reports.iter() {
            let (_, value) = entry?;
            list.push(serde_json::from_slice::<ReportRecord>(&value)?);
        }
        Ok(list)
    }

    /// Indexes a receipt's lookup hash to its report.
    pub(crate) fn index_receipt(&self, lookup: &str, id: u64) -> Result<(), StoreError> {
        self.report_lookups
            .insert(lookup.as_bytes(), &id.to_be_bytes())?;
        Ok(())
    }

    /// The report a receipt's lookup hash opens, if any.
    pub(crate) fn report_of_receipt(&self, lookup: &str) -> Result<Option<u64>, StoreError> {
        match self.report_lookups.get(lookup.as_bytes())? {
            None => Ok(None),
            Some(id) => {
                let bytes: [u8; 8] = id
                    .as_ref()
                    .try_into()
                    .map_err(|_| StoreError::MalformedKey("report_lookups"))?;
                Ok(Some(u64::from_be_bytes(bytes)))
            }
        }
    }

    /// Reports from before the receipt index are indexed once (at open).
    pub(crate) fn index_receipts_once(&self) -> Result<(), StoreError> {
        if self.report_lookups.is_empty() && !self.reports.is_empty() {
            for record in self.list_reports()? {
                self.index_receipt(&record.lookup, record.id)?;
            }
        }
        Ok(())
    }

    /// Erases a report: its record, its receipt's index entry and its key.
    pub(crate) fn delete_report(&self, record: &ReportRecord) -> Result<(), StoreError> {
        self.reports.remove(record.id.to_be_bytes())?;
        self.report_lookups.remove(record.lookup.as_bytes())?;
        self.keys.destroy(&report_key(record.id))?;
        Ok(())
    }

    /// A report's content sealed with its key.
    pub(crate) fn seal_report_content(
        key: &Key,
        content: &ReportContent,
    ) -> Result<Vec<u8>, StoreError> {
        Ok(key.seal(&serde_json::to_vec(content)?))
    }

    /// A report's content; `None` once its key is destroyed.
    pub(crate) fn report_content(
        &self,
        record: &ReportRecord,
    ) -> Result<Option<ReportContent>, StoreError> {
        let Some(key) = self.keys.get(&report_key(record.id)) else {
            return Ok(None);
        };
        let Some(plain) = key.open(&record.sealed) else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_slice(&plain)?))
    }
}
