//! The `push_subscriptions` tree: SHA-256 of a push endpoint → an intervenor's
//! device subscription (JSON; no youth data).

use sha2::{Digest, Sha256};

use super::records::PushSubscription;
use super::{get_json, put_json, Store, StoreError};

fn endpoint_key(endpoint: &str) -> [u8; 32] {
    Sha256::digest(endpoint.as_bytes()).into()
}

impl Store {
    /// Stores a subscription, replacing one of the same endpoint.
    pub(crate) fn put_push_subscription(
        &self,
        record: &PushSubscription,
    ) -> Result<(), StoreError> {
        put_json(
            &self.push_subscriptions,
            endpoint_key(&record.endpoint),
            record,
        )
    }

    pub(crate) fn push_subscription(
        &self,
        endpoint: &str,
    ) -> Result<Option<PushSubscription>, StoreError> {
        get_json(&self.push_subscriptions, endpoint_key(endpoint))
    }

    pub(crate) fn remove_push_subscription(&self, endpoint: &str) -> Result<(), StoreError> {
        self.push_subscriptions.remove(endpoint_key(endpoint))?;
        Ok(())
    }

    /// Every subscription; one that cannot be read is logged and left out.
    pub(crate) fn push_subscriptions(&self) -> Result<Vec<PushSubscription>, StoreError> {
        let mut list = Vec::new();
        for entry in self.push_subscriptions.iter() {
            let (_, value) = entry?;
            match serde_json::from_slice(&value) {
                Ok(record) => list.push(record),
                Err(e) => {
                    tracing::error!(error = %e, "a push subscription cannot be read; it is skipped")
                }
            }
        }
        Ok(list)
    }
}
