//! The requests for a person and their transcripts: the `handoffs` tree (id,
//! big-endian → [`HandoffRecord`], sealed with the conversation's key) and the
//! `transcripts` tree (id ++ seq, big-endian → one [`TranscriptLine`], sealed with
//! the same key). The conversation's key is made here when a request is made and
//! destroyed here when it ends: once it is gone, every line reads as nothing.
//!
//! These are the only functions that know those trees, their keys and encodings.

use serde::{Deserialize, Serialize};

use super::keys::handoff_key;
use super::records::HandoffRecord;
use super::{get_json, put_json, Store, StoreError};

/// One line of a conversation with a person, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TranscriptLine {
    pub seq: u64,
    pub from: LineFrom,
    pub text: String,
    /// Milliseconds since the epoch.
    pub at: u64,
}

/// Who wrote a stored line (the same names as on the wire, so older lines read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LineFrom {
    Bot,
    Youth,
    Agent,
}

impl Store {
    /// Makes the key of a new conversation, synced by the next flush (which syncs
    /// keys before sled, so a request is never durable without its key). Small
    /// blocking IO: a write and a rename, no fsync.
    pub(crate) fn create_conversation_key(&self, id: u64) -> Result<(), StoreError> {
        match self.keys.create_unsynced(&handoff_key(id))? {
            Some(_) => Ok(()),
            None => Err(StoreError::Keys(std::io::Error::other(
                "the conversation's key is being destroyed",
            ))),
        }
    }

    /// Destroys a conversation's key: unusable at once, its file overwritten and
    /// removed off the async runtime. Everything it sealed reads as erased.
    pub(crate) fn destroy_conversation_key(&self, id: u64) {
        self.keys.destroy_soon(&handoff_key(id));
    }

    /// Every request not closed yet (read once at start).
    pub(crate) fn open_requests(&self) -> Result<Vec<HandoffRecord>, StoreError> {
        let mut open = Vec::new();
        for record in self.requests() {
            let record = record?;
            if record.closed_ms.is_none() {
                open.push(record);
            }
        }
        Ok(open)
    }

    /// The closed conversations kept for continuity of care whose retention ended
    /// at `now_ms` (`keep_ms` after they closed).
    pub(crate) fn expired_requests(
        &self,
        now_ms: u64,
        keep_ms: u64,
    ) -> Result<Vec<u64>, StoreError> {
        let mut expired = Vec::new();
        for record in self.requests() {
            let record = record?;
            if record
                .closed_ms
                .is_some_and(|closed| closed.saturating_add(keep_ms) <= now_ms)
            {
                expired.push(record.id);
            }
        }
        Ok(expired)
    }

    fn requests(&self) -> impl Iterator<Item = Result<HandoffRecord, StoreError>> + '_ {
        self.handoffs.iter().map(|entry| {
            let (_, value) = entry?;
            Ok(serde_json::from_slice(&value)?)
        })
    }

    /// A request by id (open or kept after its close).
    pub(crate) fn request(&self, id: u64) -> Result<Option<HandoffRecord>, StoreError> {
        get_json(&self.handoffs, id.to_be_bytes())
    }

    /// Writes a request (its key must exist).
    pub(crate) fn put_request(&self, record: &HandoffRecord) -> Result<(), StoreError> {
        put_json(&self.handoffs, record.id.to_be_bytes(), record)
    }

    /// Writes a line of a conversation, sealed with its key.
    pub(crate) fn put_transcript_line(
        &self,
        id: u64,
        line: &TranscriptLine,
    ) -> Result<(), StoreError> {
        let secret = self.keys.get(&handoff_key(id)).ok_or_else(|| {
            StoreError::Keys(std::io::Error::other("the conversation's key is gone"))
        })?;
        self.transcripts.insert(
            transcript_key(id, line.seq),
            secret.seal(&serde_json::to_vec(line)?),
        )?;
        Ok(())
    }

    /// A conversation's lines in order, opened with its key (none once erased).
    pub(crate) fn transcript(&self, id: u64) -> Result<Vec<TranscriptLine>, StoreError> {
        let Some(secret) = self.keys.get(&handoff_key(id)) else {
            return Ok(Vec::new());
        };
        let mut lines = Vec::new();
        for entry in self.transcripts.scan_prefix(id.to_be_bytes()) {
            let (_, value) = entry?;
            if let Some(plain) = secret.open(&value) {
                lines.push(serde_json::from_slice(&plain)?);
            }
        }
        Ok(lines)
    }

    /// Deletes a request and every line of its transcript (its key is apart:
    /// [`Store::destroy_conversation_key`]).
    pub(crate) fn delete_request(&self, id: u64) -> Result<(), StoreError> {
        self.handoffs.remove(id.to_be_bytes())?;
        let mut batch = sled::Batch::default();
        for entry in self.transcripts.scan_prefix(id.to_be_bytes()) {
            let (key, _) = entry?;
            batch.remove(key);
        }
        self.transcripts.apply_batch(batch)?;
        Ok(())
    }
}

fn transcript_key(id: u64, seq: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&id.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::HandoffState;

    fn record(id: u64, closed_ms: Option<u64>) -> HandoffRecord {
        HandoffRecord {
            id,
            session: String::new(),
            urgent: false,
            topic: String::new(),
            lang: "fr".into(),
            flow_version: String::new(),
            created_ms: 1,
            state: HandoffState::Waiting,
            resources: Vec::new(),
            timeout_told: false,
            last_entry: 0,
            last_claim_ms: None,
            closed_ms,
            requeued: false,
        }
    }

    #[test]
    fn a_conversation_reads_back_until_its_key_is_destroyed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_conversation_key(7).unwrap();
        store.put_request(&record(7, None)).unwrap();
        let line = TranscriptLine {
            seq: 1,
            from: LineFrom::Youth,
            text: "bonjour".into(),
            at: 3,
        };
        store.put_transcript_line(7, &line).unwrap();
        assert_eq!(store.transcript(7).unwrap(), [line]);
        assert_eq!(store.open_requests().unwrap().len(), 1);
        store.destroy_conversation_key(7);
        assert!(store.transcript(7).unwrap().is_empty());
        assert_eq!(store.request(7).unwrap(), None);
        store.delete_request(7).unwrap();
        assert!(store.open_requests().unwrap().is_empty());
    }

    #[test]
    fn only_closed_requests_past_their_retention_expire() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (id, closed) in [(1, None), (2, Some(100)), (3, Some(900))] {
            store.create_conversation_key(id).unwrap();
            store.put_request(&record(id, closed)).unwrap();
        }
        assert_eq!(store.expired_requests(1000, 500).unwrap(), [2]);
        assert_eq!(store.open_requests().unwrap().len(), 1);
    }
}
