//! The `flow_versions` tree (version → when it was first loaded) and the archive
//! of each version's sources, one JSON file each in `DATA/flow-versions/`.

use std::path::Path;

use super::{get_json, put_json, FlowVersionRecord, Store, StoreError};

impl Store {
    /// A flow version with its sources (read from its file in `flow-versions/`).
    pub(crate) fn flow_version(
        &self,
        version: &str,
    ) -> Result<Option<FlowVersionRecord>, StoreError> {
        let Some(mut record) =
            get_json::<FlowVersionRecord>(&self.flow_versions, version.as_bytes())?
        else {
            return Ok(None);
        };
        if record.sources.is_empty() {
            let file = self.versions_dir.join(format!("{version}.json"));
            if let Ok(bytes) = std::fs::read(file) {
                record = serde_json::from_slice(&bytes)?;
            }
        }
        Ok(Some(record))
    }

    /// Archives a flow version: its sources in a file of `flow-versions/`, only its
    /// time in sled (the scripts' words are not repeated in the database).
    pub(crate) fn put_flow_version(&self, record: &FlowVersionRecord) -> Result<(), StoreError> {
        if self.flow_versions.contains_key(record.version.as_bytes())? {
            return Ok(());
        }
        let file = self.versions_dir.join(format!("{}.json", record.version));
        std::fs::write(file, serde_json::to_vec_pretty(record)?)?;
        let bare = FlowVersionRecord {
            sources: Default::default(),
            ..record.clone()
        };
        put_json(&self.flow_versions, record.version.as_bytes(), &bare)
    }
}

/// The folder of archived flow versions, in the data folder.
pub const VERSIONS_DIR: &str = "flow-versions";

/// The archived flow versions of a data folder, oldest first, read without sled
/// (the running server keeps sled locked).
pub fn archived_flow_versions(data_dir: &Path) -> Result<Vec<FlowVersionRecord>, StoreError> {
    let dir = data_dir.join(VERSIONS_DIR);
    let mut versions = Vec::new();
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                versions.push(serde_json::from_slice::<FlowVersionRecord>(
                    &std::fs::read(path)?,
                )?);
            }
        }
    }
    versions.sort_by(|a, b| {
        a.loaded_at
            .cmp(&b.loaded_at)
            .then(a.version.cmp(&b.version))
    });
    Ok(versions)
}
