//! The on-disk fingerprint cache: one file per model, keyed by the weight files' resolved
//! paths, sizes and modification times, so a second scan of unchanged models reads no tensor
//! data and a changed file is read again.
//!
//! Entry layout: magic `MOTHERFP`, format version (u32), key length (u32), the key itself (so a
//! hash collision of file names is caught), payload length (u64), xxh3-64 of the payload, then
//! the payload (a compact binary encoding, `codec.rs`). An entry that is garbage, truncated, of
//! another version or for another key is a miss, and the next `put` replaces it. Writes go to a
//! uniquely named temporary file in the same directory and are renamed into place, so readers
//! never see half an entry and two processes writing the same key at once both leave a whole
//! one.

use super::{Fingerprint, MeasureError, codec};
use crate::discover::WeightFile;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;
use twox_hash::{XxHash3_64, XxHash3_128};

/// Bump when the fingerprint's content or encoding changes: older entries become misses.
pub const FORMAT_VERSION: u32 = 6;

const MAGIC: &[u8; 8] = b"MOTHERFP";

/// What identifies one model's weights on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    bytes: Vec<u8>,
}

impl CacheKey {
    /// From each file's resolved path, size and modification time (nanoseconds), and
    /// [`FORMAT_VERSION`].
    pub fn for_files(files: &[WeightFile]) -> Self {
        let mut bytes = b"mother-fingerprint".to_vec();
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        for file in files {
            let path = file.resolved.as_os_str().as_bytes();
            bytes.extend_from_slice(&(path.len() as u64).to_le_bytes());
            bytes.extend_from_slice(path);
            bytes.extend_from_slice(&file.bytes.to_le_bytes());
            let modified = file
                .modified
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(u128::MAX, |d| d.as_nanos());
            bytes.extend_from_slice(&modified.to_le_bytes());
        }
        Self { bytes }
    }

    /// The entry's file name: the hex hash of the key.
    pub fn file_name(&self) -> String {
        format!("{:032x}.fp", XxHash3_128::oneshot(&self.bytes))
    }
}

/// A directory of cached fingerprints.
#[derive(Debug, Clone)]
pub struct FingerprintCache {
    dir: PathBuf,
}

impl FingerprintCache {
    /// Uses `dir`, creating it when needed. It must not be inside a scanned tree.
    pub fn open(dir: &Path) -> Result<Self, MeasureError> {
        fs::create_dir_all(dir).map_err(|e| MeasureError::Cache {
            path: dir.to_path_buf(),
            reason: format!("cannot create the fingerprint cache directory: {e}; pass another cache directory or run without the cache"),
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The platform cache directory (`~/.cache/mother/fingerprints` on Linux).
    pub fn default_dir() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "mother").map(|d| d.cache_dir().join("fingerprints"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the entry for `key`.
    pub fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(key.file_name())
    }

    /// The cached fingerprint, or `None` when there is no whole, valid entry for `key`.
    pub fn get(&self, key: &CacheKey) -> Option<Fingerprint> {
        let bytes = fs::read(self.entry_path(key)).ok()?;
        let payload = unwrap_entry(&bytes, key)?;
        codec::decode(payload)
    }

    /// Stores `fingerprint` under `key`, replacing any entry.
    pub fn put(&self, key: &CacheKey, fingerprint: &Fingerprint) -> Result<(), MeasureError> {
        let payload = codec::encode(fingerprint);
        let mut entry = Vec::with_capacity(payload.len() + key.bytes.len() + 40);
        entry.extend_from_slice(MAGIC);
        entry.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        entry.extend_from_slice(&(key.bytes.len() as u32).to_le_bytes());
        entry.extend_from_slice(&key.bytes);
        entry.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        entry.extend_from_slice(&XxHash3_64::oneshot(&payload).to_le_bytes());
        entry.extend_from_slice(&payload);

        let target = self.entry_path(key);
        let temp = self
            .dir
            .join(format!("{}.{}.tmp", key.file_name(), unique_suffix()));
        let fail = |path: &Path, what: &str, e: std::io::Error| MeasureError::Cache {
            path: path.to_path_buf(),
            reason: format!(
                "cannot {what} a cache entry: {e}; check the cache directory's permissions and free space"
            ),
        };
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .and_then(|mut f| f.write_all(&entry));
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(fail(&temp, "write", e));
        }
        fs::rename(&temp, &target).map_err(|e| {
            let _ = fs::remove_file(&temp);
            fail(&target, "replace", e)
        })
    }
}

/// Process id, a per-process counter and the time: no two writers share a temporary name.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}-{count}-{nanos}", std::process::id())
}

/// The payload of a whole entry for `key`, or `None`.
fn unwrap_entry<'a>(bytes: &'a [u8], key: &CacheKey) -> Option<&'a [u8]> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (version, rest) = rest.split_at_checked(4)?;
    if u32::from_le_bytes(version.try_into().ok()?) != FORMAT_VERSION {
        return None;
    }
    let (key_len, rest) = rest.split_at_checked(4)?;
    let key_len = u32::from_le_bytes(key_len.try_into().ok()?) as usize;
    let (stored_key, rest) = rest.split_at_checked(key_len)?;
    if stored_key != key.bytes.as_slice() {
        return None;
    }
    let (payload_len, rest) = rest.split_at_checked(8)?;
    let (checksum, payload) = rest.split_at_checked(8)?;
    if u64::from_le_bytes(payload_len.try_into().ok()?) != payload.len() as u64 {
        return None;
    }
    (u64::from_le_bytes(checksum.try_into().ok()?) == XxHash3_64::oneshot(payload))
        .then_some(payload)
}
