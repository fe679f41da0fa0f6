//! A sled tree whose values are sealed, each with the key of the thing it belongs
//! to (a session, a request for a person, a report), kept in `DATA/keys/`. Once that
//! key is destroyed, every version of the value sled still holds in its segments is
//! ciphertext nobody can open: the record reads as absent.
//!
//! A stored value is `SEALED` (one byte) then what [`Key::seal`] made. A value that
//! starts with `{` is a record from before sealing (plain JSON): read as is, sealed
//! at its next write.

use std::sync::Arc;

use super::keys::{Key, Keys};
use super::StoreError;

const SEALED: u8 = 1;

/// The name of the key that seals a value, from the value's key in the tree.
pub(crate) type KeyName = fn(&[u8]) -> Option<String>;

#[derive(Clone)]
pub(crate) struct SealedTree {
    tree: sled::Tree,
    keys: Arc<Keys>,
    name: KeyName,
    /// Make the key at the first write when it does not exist (sessions).
    create: bool,
}

impl SealedTree {
    pub(crate) fn new(tree: sled::Tree, keys: Arc<Keys>, name: KeyName, create: bool) -> Self {
        Self {
            tree,
            keys,
            name,
            create,
        }
    }

    fn key_for(&self, tree_key: &[u8], create: bool) -> Result<Option<Key>, StoreError> {
        let Some(name) = (self.name)(tree_key) else {
            return Ok(None);
        };
        if let Some(key) = self.keys.get(&name) {
            return Ok(Some(key));
        }
        // Made only when surely absent: a key file unreadable just now is never
        // replaced (what it sealed would be lost).
        if create && self.keys.is_gone(&name) {
            return Ok(self.keys.create_unsynced(&name)?);
        }
        Ok(None)
    }

    fn open(&self, tree_key: &[u8], value: &[u8]) -> Option<Vec<u8>> {
        match value.split_first() {
            Some((&SEALED, sealed)) => self.key_for(tree_key, false).ok()??.open(sealed),
            Some((b'{', _)) => Some(value.to_vec()),
            _ => None,
        }
    }

    /// The value in clear; `None` when absent or when its key is gone.
    pub(crate) fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>, sled::Error> {
        let key = key.as_ref();
        Ok(self.tree.get(key)?.and_then(|v| self.open(key, &v)))
    }

    /// Seals and writes a value. Refused when its key is gone: nothing is ever
    /// written in clear.
    pub(crate) fn insert(&self, key: impl AsRef<[u8]>, plain: &[u8]) -> Result<(), StoreError> {
        let key = key.as_ref();
        let secret = self
            .key_for(key, self.create)?
            .ok_or_else(|| StoreError::Keys(std::io::Error::other("the record's key is gone")))?;
        let mut value = Vec::with_capacity(plain.len() + 29);
        value.push(SEALED);
        value.extend(secret.seal(plain));
        self.tree.insert(key, value)?;
        Ok(())
    }

    pub(crate) fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<sled::IVec>, sled::Error> {
        self.tree.remove(key)
    }

    pub(crate) fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool, sled::Error> {
        self.tree.contains_key(key)
    }

    /// Every readable value in clear, in key order (values whose key is gone are
    /// left out; see [`SealedTree::unreadable`]).
    pub(crate) fn iter(
        &self,
    ) -> impl Iterator<Item = Result<(sled::IVec, Vec<u8>), sled::Error>> + '_ {
        self.tree.iter().filter_map(|entry| match entry {
            Ok((k, v)) => self.open(&k, &v).map(|plain| Ok((k, plain))),
            Err(e) => Some(Err(e)),
        })
    }

    /// The tree keys whose value can no longer be opened because their key was
    /// destroyed (a key file that cannot be read just now does not count).
    pub(crate) fn unreadable(&self) -> Result<Vec<sled::IVec>, sled::Error> {
        let mut gone = Vec::new();
        for entry in self.tree.iter() {
            let (k, v) = entry?;
            let destroyed = (self.name)(&k).is_some_and(|name| self.keys.is_gone(&name));
            if destroyed && self.open(&k, &v).is_none() {
                gone.push(k);
            }
        }
        Ok(gone)
    }

    /// Seals the values written in clear before sealing existed (at open).
    /// Returns how many.
    pub(crate) fn reseal_legacy(&self) -> Result<usize, StoreError> {
        let mut count = 0;
        for entry in self.tree.iter() {
            let (k, v) = entry?;
            if v.first() == Some(&b'{') && self.key_for(&k, self.create)?.is_some() {
                self.insert(&k, &v)?;
                count += 1;
            }
        }
        Ok(count)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }
}

/// Reads and writes JSON values, in clear (`sled::Tree`) or sealed.
pub(crate) trait JsonTree {
    fn get_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    fn put_value(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
}

impl JsonTree for sled::Tree {
    fn get_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get(key)?.map(|v| v.to_vec()))
    }

    fn put_value(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.insert(key, value)?;
        Ok(())
    }
}

impl JsonTree for SealedTree {
    fn get_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get(key)?)
    }

    fn put_value(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.insert(key, value)
    }
}

/// The key of a value keyed by a u64 id (big-endian): `prefix-ID`.
pub(crate) fn by_id(prefix: &str, tree_key: &[u8]) -> Option<String> {
    let id = u64::from_be_bytes(tree_key.get(..8)?.try_into().ok()?);
    Some(format!("{prefix}-{id}"))
}

pub(crate) fn handoff_name(tree_key: &[u8]) -> Option<String> {
    by_id("handoff", tree_key)
}

pub(crate) fn report_name(tree_key: &[u8]) -> Option<String> {
    by_id("report", tree_key)
}

pub(crate) fn session_name(tree_key: &[u8]) -> Option<String> {
    let key: [u8; 32] = tree_key.get(..32)?.try_into().ok()?;
    Some(super::keys::session_key(&key))
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[test]
    fn clear_records_of_an_older_version_are_sealed_at_open_and_erased_with_their_key() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.keys.create("handoff-5").unwrap();
            store
                .handoffs
                .tree
                .insert(5u64.to_be_bytes(), &b"{\"topic\":\"sextorsion\"}"[..])
                .unwrap();
            store.flush_blocking().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let raw = store
            .handoffs
            .tree
            .get(5u64.to_be_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(raw[0], super::SEALED);
        assert!(!raw.windows(10).any(|w| w == b"sextorsion"));
        assert_eq!(
            store.handoffs.get(5u64.to_be_bytes()).unwrap().unwrap(),
            b"{\"topic\":\"sextorsion\"}"
        );
        store.keys.destroy("handoff-5").unwrap();
        assert_eq!(store.handoffs.get(5u64.to_be_bytes()).unwrap(), None);
        assert_eq!(store.handoffs.unreadable().unwrap().len(), 1);
        assert!(store.handoffs.insert(5u64.to_be_bytes(), b"{}").is_err());
    }
}
