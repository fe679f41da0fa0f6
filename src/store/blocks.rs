//! The `blocks` tree: a session's key (the SHA-256 of its token) → the block an
//! abusive conversation caused (JSON).

use super::records::BlockRecord;
use super::{get_json, put_json, SessionKey, Store, StoreError};

impl Store {
    pub(crate) fn block(&self, session: &SessionKey) -> Result<Option<BlockRecord>, StoreError> {
        get_json(&self.blocks, session)
    }

    pub(crate) fn put_block(
        &self,
        session: &SessionKey,
        record: &BlockRecord,
    ) -> Result<(), StoreError> {
        put_json(&self.blocks, session, record)
    }

    /// Every block for which `keep` holds; the others are deleted.
    pub(crate) fn retain_blocks(
        &self,
        keep: impl Fn(&BlockRecord) -> bool,
    ) -> Result<Vec<BlockRecord>, StoreError> {
        let mut kept = Vec::new();
        for entry in self.blocks.iter() {
            let (key, value) = entry?;
            let record: BlockRecord = serde_json::from_slice(&value)?;
            if keep(&record) {
                kept.push(record);
            } else {
                self.blocks.remove(key)?;
            }
        }
        Ok(kept)
    }

    /// Removes the blocks a conversation caused; whether there was one.
    pub(crate) fn remove_blocks_of(&self, handoff: u64) -> Result<bool, StoreError> {
        let mut found = false;
        for entry in self.blocks.iter() {
            let (key, value) = entry?;
            let record: BlockRecord = serde_json::from_slice(&value)?;
            if record.handoff == handoff {
                self.blocks.remove(key)?;
                found = true;
            }
        }
        Ok(found)
    }
}
