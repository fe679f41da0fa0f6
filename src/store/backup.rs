//! Raw access for backups (`crate::backup`): every tree as it is stored (sealed
//! values stay sealed), read while the server runs, and written back into an empty
//! store. The backup's file format is `crate::backup`'s; the trees are the store's.

use super::{Store, StoreError};

/// What [`Store::export_raw`] visits: a tree's name, then its entries (key, value).
pub enum RawEntry<'a> {
    Tree(&'a [u8]),
    Item(&'a [u8], &'a [u8]),
}

impl Store {
    /// The id counter's next value (a restored store never gives an id twice).
    pub(crate) fn next_id_raw(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()?)
    }

    /// Visits every tree sled holds, then each of its entries, as stored.
    pub fn export_raw<E: From<StoreError>>(
        &self,
        mut visit: impl FnMut(RawEntry<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        for name in self.db.tree_names() {
            let handle = self.db.open_tree(&name).map_err(StoreError::from)?;
            visit(RawEntry::Tree(&name))?;
            for entry in handle.iter() {
                let (key, value) = entry.map_err(StoreError::from)?;
                visit(RawEntry::Item(&key, &value))?;
            }
        }
        Ok(())
    }

    /// Writes one entry back, as it was stored, into the named tree.
    pub(crate) fn import_raw(
        &self,
        tree: &[u8],
        key: &[u8],
        value: &[u8],
    ) -> Result<(), StoreError> {
        self.db.open_tree(tree)?.insert(key, value)?;
        Ok(())
    }

    /// Moves the id counter past `ids`, then writes everything to disk.
    pub(crate) fn finish_import(&self, ids: u64) -> Result<(), StoreError> {
        while self.db.generate_id()? < ids {}
        self.db.flush()?;
        Ok(())
    }
}
