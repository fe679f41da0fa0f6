//! Backups: `relais backup --out FILE` while the server runs (through the admin
//! socket) or while it is stopped, and `relais restore FILE --data-dir DIR` into an
//! empty folder.
//!
//! What a backup holds: every sled tree, read while the server runs, then the
//! per-conversation keys (`DATA/keys/`) and the archived flow versions. The trees are
//! read first and the keys after, so every conversation in the copy has its key
//! (a conversation opened in between has a key and no record: harmless; one closed
//! in between has its record but not its key: it reads as erased, as it should).
//! sled has no cross-tree snapshot; each tree is read as it stands, which for
//! relais's records (each one whole under its key) restores a working store.
//!
//! A backup carries the keys of the conversations it holds, so it would undo
//! crypto-shredding if kept forever: it is always encrypted with a passphrase the
//! operator gives (argon2id → a 256-bit key → ChaCha20-Poly1305 in 64 KiB chunks,
//! each bound to its place and to the header, the last one marked, so a cut or
//! reordered file is refused). PRIVACY.md says how long to keep one.

use std::io::{Read, Write};
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use rand::RngCore;

use crate::store::{RawEntry, Store, StoreError};

const MAGIC: &[u8; 8] = b"RELAISBK";
const FORMAT: u8 = 1;
const CHUNK: usize = 64 * 1024;
/// argon2id for the passphrase: 64 MiB, 3 passes (a backup is made rarely).
const KDF_MEMORY_KIB: u32 = 64 * 1024;
const KDF_PASSES: u32 = 3;

// The plain payload, inside the encryption: records of a tag and length-prefixed fields.
const TAG_END: u8 = 0;
const TAG_TREE: u8 = 1;
const TAG_ITEM: u8 = 2;
const TAG_KEY_FILE: u8 = 3;
const TAG_VERSION_FILE: u8 = 4;
const TAG_IDS: u8 = 5;
const PAYLOAD_MAGIC: &[u8] = b"relais-backup-payload-1\n";

#[derive(Debug, thiserror::Error)]
pub(crate) enum BackupError {
    #[error("the passphrase is empty or shorter than 12 characters")]
    WeakPassphrase,
    #[error("this is not a relais backup, or a newer format")]
    NotABackup,
    #[error("the passphrase is wrong, or the backup was altered or cut short")]
    Decrypt,
    #[error(
        "the server stopped sending the backup before its end: nothing was kept (see its log)"
    )]
    Incomplete,
    #[error("the folder {0} is not empty: restore goes into an empty folder")]
    NotEmpty(String),
    #[error("reading or writing the backup failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn field(out: &mut (impl Write + ?Sized), bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(&(bytes.len() as u32).to_be_bytes())?;
    out.write_all(bytes)
}

fn read_field(input: &mut impl Read) -> Result<Vec<u8>, BackupError> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > 256 * 1024 * 1024 {
        return Err(BackupError::NotABackup);
    }
    let mut bytes = vec![0u8; len];
    input.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Writes the plain payload of a store: trees, then keys and flow versions (blocking).
pub(crate) fn write_payload(
    store: &Store,
    data_dir: &Path,
    out: &mut (impl Write + ?Sized),
) -> Result<(), BackupError> {
    out.write_all(PAYLOAD_MAGIC)?;
    // The id counter: a restored store never gives an id twice.
    out.write_all(&[TAG_IDS])?;
    field(out, &store.next_id_raw()?.to_be_bytes())?;
    store.export_raw(|entry| -> Result<(), BackupError> {
        match entry {
            RawEntry::Tree(name) => {
                out.write_all(&[TAG_TREE])?;
                field(out, name)?;
            }
            RawEntry::Item(key, value) => {
                out.write_all(&[TAG_ITEM])?;
                field(out, key)?;
                field(out, value)?;
            }
        }
        Ok(())
    })?;
    for (tag, folder) in [
        (TAG_KEY_FILE, "keys"),
        (TAG_VERSION_FILE, crate::store::VERSIONS_DIR),
    ] {
        let dir = data_dir.join(folder);
        if !dir.is_dir() {
            continue;
        }
        let mut names: Vec<_> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name())
            .collect();
        names.sort();
        for name in names {
            let Some(text) = name.to_str() else { continue };
            if text.ends_with(".tmp") {
                continue;
            }
            // A key destroyed while we list is simply not in the copy.
            let Ok(bytes) = std::fs::read(dir.join(&name)) else {
                continue;
            };
            out.write_all(&[tag])?;
            field(out, text.as_bytes())?;
            field(out, &bytes)?;
        }
    }
    out.write_all(&[TAG_END])?;
    out.write_all(PAYLOAD_END)?;
    out.flush()?;
    Ok(())
}

/// The last bytes of a whole payload: a copy cut short (the server failed midway)
/// does not end with them.
const PAYLOAD_END: &[u8] = b"\nrelais-backup-end\n";

/// Reads through, remembering the last bytes, to tell a whole payload from a cut one.
pub(crate) struct Whole<R> {
    inner: R,
    tail: Vec<u8>,
}

impl<R: Read> Whole<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            tail: Vec::new(),
        }
    }

    /// Whether what was read ends like a whole payload.
    pub(crate) fn is_whole(&self) -> bool {
        self.tail.ends_with(PAYLOAD_END)
    }
}

impl<R: Read> Read for Whole<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tail.extend_from_slice(&buf[..n]);
        let keep = PAYLOAD_END.len();
        if self.tail.len() > keep {
            self.tail.drain(..self.tail.len() - keep);
        }
        Ok(n)
    }
}

fn derive(
    passphrase: &str,
    salt: &[u8],
    memory: u32,
    passes: u32,
) -> Result<ChaCha20Poly1305, BackupError> {
    let params = Params::new(memory, passes, 1, Some(32)).map_err(|_| BackupError::NotABackup)?;
    let mut key = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|_| BackupError::NotABackup)?;
    Ok(ChaCha20Poly1305::new((&key).into()))
}

fn nonce(counter: u64, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

/// Encrypts everything `input` gives into `out` with a passphrase.
pub(crate) fn encrypt(
    passphrase: &str,
    input: &mut impl Read,
    out: &mut impl Write,
) -> Result<(), BackupError> {
    if passphrase.chars().count() < 12 {
        return Err(BackupError::WeakPassphrase);
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let mut header = Vec::new();
    header.extend_from_slice(MAGIC);
    header.push(FORMAT);
    header.extend_from_slice(&KDF_MEMORY_KIB.to_be_bytes());
    header.extend_from_slice(&KDF_PASSES.to_be_bytes());
    header.extend_from_slice(&salt);
    let cipher = derive(passphrase, &salt, KDF_MEMORY_KIB, KDF_PASSES)?;
    out.write_all(&header)?;
    let mut counter = 0u64;
    let mut current = read_chunk(input)?;
    loop {
        let next = if current.len() == CHUNK {
            read_chunk(input)?
        } else {
            Vec::new()
        };
        let last = next.is_empty();
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce(counter, last)),
                Payload {
                    msg: &current,
                    aad: &header,
                },
            )
            .map_err(|_| BackupError::Decrypt)?;
        field(out, &sealed)?;
        if last {
            break;
        }
        counter += 1;
        current = next;
    }
    out.flush()?;
    Ok(())
}

fn read_chunk(input: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut chunk = Vec::with_capacity(CHUNK);
    input.take(CHUNK as u64).read_to_end(&mut chunk)?;
    Ok(chunk)
}

/// Decrypts a backup whole into memory, checking every chunk and the end.
pub(crate) fn decrypt(passphrase: &str, input: &mut impl Read) -> Result<Vec<u8>, BackupError> {
    let mut header = [0u8; 8 + 1 + 4 + 4 + 16];
    input
        .read_exact(&mut header)
        .map_err(|_| BackupError::NotABackup)?;
    if &header[..8] != MAGIC || header[8] != FORMAT {
        return Err(BackupError::NotABackup);
    }
    let memory = u32::from_be_bytes(header[9..13].try_into().unwrap_or_default());
    let passes = u32::from_be_bytes(header[13..17].try_into().unwrap_or_default());
    if memory > 1024 * 1024 || passes > 16 {
        return Err(BackupError::NotABackup);
    }
    let cipher = derive(passphrase, &header[17..], memory, passes)?;
    let mut plain = Vec::new();
    let mut counter = 0u64;
    loop {
        let sealed = read_field(input).map_err(|_| BackupError::Decrypt)?;
        let payload = Payload {
            msg: &sealed,
            aad: &header,
        };
        if let Ok(chunk) = cipher.decrypt(Nonce::from_slice(&nonce(counter, true)), payload) {
            plain.extend(chunk);
            return Ok(plain);
        }
        let chunk = cipher
            .decrypt(
                Nonce::from_slice(&nonce(counter, false)),
                Payload {
                    msg: &sealed,
                    aad: &header,
                },
            )
            .map_err(|_| BackupError::Decrypt)?;
        plain.extend(chunk);
        counter += 1;
    }
}

/// Restores a decrypted payload into an empty (or absent) data folder (blocking).
pub(crate) fn restore_payload(
    payload: &[u8],
    data_dir: &Path,
) -> Result<RestoreSummary, BackupError> {
    if data_dir.exists() && std::fs::read_dir(data_dir)?.next().is_some() {
        return Err(BackupError::NotEmpty(data_dir.display().to_string()));
    }
    let mut input = payload;
    let mut magic = vec![0u8; PAYLOAD_MAGIC.len()];
    input
        .read_exact(&mut magic)
        .map_err(|_| BackupError::NotABackup)?;
    if magic != PAYLOAD_MAGIC {
        return Err(BackupError::NotABackup);
    }
    std::fs::create_dir_all(data_dir)?;
    let store = Store::open(data_dir)?;
    let mut tree: Option<Vec<u8>> = None;
    let mut summary = RestoreSummary::default();
    let mut ids = 0u64;
    loop {
        let mut tag = [0u8; 1];
        input.read_exact(&mut tag)?;
        match tag[0] {
            TAG_END => break,
            TAG_IDS => {
                let bytes = read_field(&mut input)?;
                ids = u64::from_be_bytes(bytes.try_into().map_err(|_| BackupError::NotABackup)?);
            }
            TAG_TREE => {
                let name = read_field(&mut input)?;
                tree = Some(name);
                summary.trees += 1;
            }
            TAG_ITEM => {
                let key = read_field(&mut input)?;
                let value = read_field(&mut input)?;
                store.import_raw(
                    tree.as_deref().ok_or(BackupError::NotABackup)?,
                    &key,
                    &value,
                )?;
                summary.records += 1;
            }
            TAG_KEY_FILE | TAG_VERSION_FILE => {
                let name = String::from_utf8(read_field(&mut input)?)
                    .map_err(|_| BackupError::NotABackup)?;
                let bytes = read_field(&mut input)?;
                if name.contains('/') || name.contains('\\') || name.starts_with('.') {
                    return Err(BackupError::NotABackup);
                }
                let folder = if tag[0] == TAG_KEY_FILE {
                    summary.keys += 1;
                    "keys"
                } else {
                    crate::store::VERSIONS_DIR
                };
                write_private(&data_dir.join(folder).join(name), &bytes)?;
            }
            _ => return Err(BackupError::NotABackup),
        }
    }
    // Ids given from now on are past every id the copy holds.
    store.finish_import(ids)?;
    Ok(summary)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// What a restore put back.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct RestoreSummary {
    pub trees: usize,
    pub records: usize,
    pub keys: usize,
}

/// Restores a backup file into an empty data folder.
pub(crate) fn restore_file(
    file: &Path,
    passphrase: &str,
    data_dir: &Path,
) -> Result<RestoreSummary, BackupError> {
    let mut input = std::io::BufReader::new(std::fs::File::open(file)?);
    let payload = decrypt(passphrase, &mut input)?;
    restore_payload(&payload, data_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_round_trips_and_refuses_a_wrong_passphrase_or_a_cut() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a")).unwrap();
        store.set_meta("salt", &[7u8; 100_000]).unwrap();
        store.keys.create("handoff-1").unwrap();
        let mut payload = Vec::new();
        write_payload(&store, &dir.path().join("a"), &mut payload).unwrap();
        let mut whole = Whole::new(payload.as_slice());
        std::io::copy(&mut whole, &mut std::io::sink()).unwrap();
        assert!(whole.is_whole());
        let mut cut = Whole::new(&payload[..payload.len() - 1]);
        std::io::copy(&mut cut, &mut std::io::sink()).unwrap();
        assert!(!cut.is_whole());
        let mut sealed = Vec::new();
        encrypt(
            "une phrase assez longue",
            &mut payload.as_slice(),
            &mut sealed,
        )
        .unwrap();
        assert!(!sealed.windows(8).any(|w| w == [7u8; 8]));
        let plain = decrypt("une phrase assez longue", &mut sealed.as_slice()).unwrap();
        assert_eq!(plain, payload);
        assert!(matches!(
            decrypt("une autre phrase longue", &mut sealed.as_slice()),
            Err(BackupError::Decrypt)
        ));
        let cut = &sealed[..sealed.len() - 10];
        assert!(decrypt("une phrase assez longue", &mut &cut[..]).is_err());
        let summary = restore_payload(&plain, &dir.path().join("b")).unwrap();
        assert_eq!(summary.keys, 1);
        let restored = Store::open(&dir.path().join("b")).unwrap();
        assert_eq!(restored.meta("salt").unwrap().unwrap().len(), 100_000);
        assert!(restored.keys.get("handoff-1").is_some());
        assert!(matches!(
            restore_payload(&plain, &dir.path().join("b")),
            Err(BackupError::NotEmpty(_))
        ));
    }
}
