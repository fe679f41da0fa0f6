//! The `stats` tree: `day \0 metric \0 label` → count (a big-endian u64) for days
//! that have ended, and today's counts under [`OPEN_STATS`], sealed with a key
//! renewed at every write.

use super::{keys, Store, StoreError};

/// The key, in the `stats` tree, of today's counts (sealed). It sorts after every
/// day, so ranges of days never meet it.
pub(crate) const OPEN_STATS: &[u8] = b"~open";

impl Store {
    /// Adds a batch of counts (blocking IO: off the runtime). Today's go into the
    /// sealed open counts, written under a new key each time while the previous
    /// key is destroyed, so the versions sled keeps cannot be differenced into
    /// what each batch held. Days that have ended are written in clear, once.
    pub fn add_counts(&self, batch: Vec<Count>, today: &str) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut open = self.open_stats.lock().expect("stats lock poisoned");
        for (day, metric, label, count) in batch {
            *open.counts.entry((day, metric, label)).or_insert(0) += count;
        }
        let ended: Vec<(String, String, String)> = open
            .counts
            .keys()
            .filter(|(day, _, _)| day.as_str() < today)
            .cloned()
            .collect();
        for counter in ended {
            if let Some(count) = open.counts.remove(&counter) {
                self.add_count(&counter.0, &counter.1, &counter.2, count)?;
            }
        }
        let previous = open.key.take();
        open.serial += 1;
        let name = format!("stats-{}", open.serial);
        let secret = self.keys.create(&name)?;
        let rows: Vec<(&String, &String, &String, u64)> = open
            .counts
            .iter()
            .map(|((d, m, l), c)| (d, m, l, *c))
            .collect();
        let mut value = vec![name.len() as u8];
        value.extend(name.as_bytes());
        value.extend(secret.seal(&serde_json::to_vec(&rows)?));
        self.stats.insert(OPEN_STATS, value)?;
        open.key = Some(name);
        self.flush_blocking()?;
        if let Some(previous) = previous {
            self.keys.destroy(&previous)?;
        }
        Ok(())
    }

    /// Adds to a daily counter. Keys are `day \0 metric \0 label`; values a u64.
    fn add_count(
        &self,
        day: &str,
        metric: &str,
        label: &str,
        count: u64,
    ) -> Result<(), StoreError> {
        let key = format!("{day}\0{metric}\0{label}");
        self.stats.update_and_fetch(key.as_bytes(), |old| {
            let before = old
                .and_then(|bytes| bytes.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            Some((before + count).to_be_bytes().to_vec())
        })?;
        Ok(())
    }

    /// Every counter between two days (inclusive, `YYYY-MM-DD`).
    pub fn counts(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String, String, u64)>, StoreError> {
        let mut out = Vec::new();
        let end = format!("{to}\u{1}");
        for entry in self.stats.range(from.as_bytes()..end.as_bytes()) {
            let (key, value) = entry?;
            let key = String::from_utf8_lossy(&key).into_owned();
            let mut parts = key.splitn(3, '\0');
            let (Some(day), Some(metric), Some(label)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let count = value
                .as_ref()
                .try_into()
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            out.push((
                day.to_string(),
                metric.to_string(),
                label.to_string(),
                count,
            ));
        }
        let open = self.open_stats.lock().expect("stats lock poisoned");
        for ((day, metric, label), count) in &open.counts {
            if day.as_str() >= from && day.as_str() <= to {
                out.push((day.clone(), metric.clone(), label.clone(), *count));
            }
        }
        Ok(out)
    }
}

/// A counter row: day, metric, label, count.
pub(crate) type Count = (String, String, String, u64);

/// Today's counts, as last written under [`OPEN_STATS`].
#[derive(Default)]
pub(super) struct OpenStats {
    /// The key that sealed them (`stats-N`).
    key: Option<String>,
    serial: u64,
    counts: std::collections::BTreeMap<(String, String, String), u64>,
}

impl OpenStats {
    pub(super) fn read(tree: &sled::Tree, keys: &keys::Keys) -> Self {
        let mut open = Self::default();
        let Ok(Some(value)) = tree.get(OPEN_STATS) else {
            return open;
        };
        let Some((&length, rest)) = value.split_first() else {
            return open;
        };
        let Some((name, sealed)) =
            (rest.len() >= length as usize).then(|| rest.split_at(length as usize))
        else {
            return open;
        };
        let name = String::from_utf8_lossy(name).into_owned();
        open.serial = name
            .strip_prefix("stats-")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let rows: Vec<Count> = keys
            .get(&name)
            .and_then(|key| key.open(sealed))
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .unwrap_or_default();
        for (day, metric, label, count) in rows {
            open.counts.insert((day, metric, label), count);
        }
        open.key = Some(name);
        open
    }
}
