//! Fingerprint bundles: the fingerprinted models of one scan in one file, so that reading a
//! large cache can be split between machines and one forest recovered from all of it.
//!
//! `mother export PATH --out FILE --shard K/N` reads shard K of N of the models (through the
//! fingerprint cache as usual) and writes them here; `mother scan --bundle FILE ...` recovers the
//! forest of every bundle (and of PATH, when one is given) without touching a weight file.
//! Reading the weights is the costly stage (every byte of every model); a bundle holds only
//! sketches and moments, a few hundred KB per model, and lineage never needs more.
//!
//! Layout: magic `MOTHERBN`, bundle version (u32), header length (u64), the header (JSON: the
//! exporting machine's label, the scanned root, the fingerprint encoding's version, each
//! model's discovery entry, what was skipped), then per model a length (u64) and its fingerprint
//! in the cache's encoding (`measure::codec`), and last an xxh3-64 of everything before it.
//! Every length is checked against the bytes left, so a truncated or corrupt bundle is an error
//! that says so, never a crash or an allocation the file cannot back.

use super::ScannedModel;
use crate::discover::{ModelEntry, Skipped};
use crate::measure::cache::FORMAT_VERSION;
use crate::measure::codec;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use twox_hash::XxHash3_64;

const MAGIC: &[u8; 8] = b"MOTHERBN";

/// Bump when the layout or the header changes.
pub const BUNDLE_VERSION: u32 = 1;

/// Models fingerprinted on one machine, ready to be recovered on another.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Where it was made (the host name), to tell apart two models of one id from two machines.
    pub label: String,
    /// The folder that was scanned there.
    pub root: PathBuf,
    pub models: Vec<ScannedModel>,
    pub skipped: Vec<Skipped>,
}

/// Where the models of one bundle came from, as the JSON of a scan lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BundleSource {
    /// The bundle file read here.
    pub path: PathBuf,
    /// The machine that wrote it ([`Bundle::label`]).
    pub host: String,
    /// The folder it scanned there.
    pub root: PathBuf,
    /// How many models it holds.
    pub models: usize,
}

impl Bundle {
    /// This bundle, read from `path`, as a scan's report names it.
    pub fn source(&self, path: &Path) -> BundleSource {
        BundleSource {
            path: path.to_path_buf(),
            host: self.label.clone(),
            root: self.root.clone(),
            models: self.models.len(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    label: String,
    root: PathBuf,
    /// The fingerprint encoding's version: another one would decode to wrong numbers.
    fingerprint_version: u32,
    models: Vec<ModelEntry>,
    skipped: Vec<Skipped>,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path}: {source} — check the path and that it is readable")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: cannot write the bundle: {source} — pass --out a writable place")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: not a mother fingerprint bundle (it does not start with MOTHERBN) — pass a file \
         written by `mother export`"
    )]
    NotABundle { path: PathBuf },
    #[error(
        "{path}: bundle format {found}, and this mother reads format {expected} — export it again \
         with this version of mother"
    )]
    Version {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "{path}: the bundle is cut short or damaged ({what}) — copy it again, or export it again"
    )]
    Damaged { path: PathBuf, what: String },
}

impl BundleError {
    /// The message without the file's path, for a list that names the file already.
    pub fn reason(&self) -> String {
        let path = match self {
            Self::Read { path, .. }
            | Self::Write { path, .. }
            | Self::NotABundle { path }
            | Self::Version { path, .. }
            | Self::Damaged { path, .. } => path,
        };
        let message = self.to_string();
        let prefix = format!("{}: ", path.display());
        message
            .strip_prefix(&prefix)
            .map_or(message.clone(), str::to_string)
    }
}

/// The bytes of `bundle`.
pub fn encode(bundle: &Bundle) -> Vec<u8> {
    let header = Header {
        label: bundle.label.clone(),
        root: bundle.root.clone(),
        fingerprint_version: FORMAT_VERSION,
        models: bundle.models.iter().map(|m| m.entry.clone()).collect(),
        skipped: bundle.skipped.clone(),
    };
    let header = serde_json::to_vec(&header).expect("the header is plain data");
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&BUNDLE_VERSION.to_le_bytes());
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    for model in &bundle.models {
        let payload = codec::encode(&model.fingerprint);
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&payload);
    }
    let checksum = XxHash3_64::oneshot(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    out
}

/// Writes `bundle` to `path` whole or not at all (a uniquely named temporary file beside it,
/// renamed into place), so that a machine reading it never sees half a bundle.
pub fn write(path: &Path, bundle: &Bundle) -> Result<(), BundleError> {
    let failed = |source| BundleError::Write {
        path: path.to_path_buf(),
        source,
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = fs::File::create_new(&temporary)
        .and_then(|mut file| {
            file.write_all(&encode(bundle))?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temporary, path));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written.map_err(failed)
}

/// Reads the bundle at `path`.
pub fn read(path: &Path) -> Result<Bundle, BundleError> {
    let bytes = fs::read(path).map_err(|source| BundleError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    decode(path, &bytes)
}

/// The bundle in `bytes`; `path` names it in errors.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Bundle, BundleError> {
    let damaged = |what: &str| BundleError::Damaged {
        path: path.to_path_buf(),
        what: what.to_string(),
    };
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(BundleError::NotABundle {
            path: path.to_path_buf(),
        });
    }
    let mut rest = &bytes[MAGIC.len()..];
    let version = take_u32(&mut rest).ok_or_else(|| damaged("no version"))?;
    if version != BUNDLE_VERSION {
        return Err(BundleError::Version {
            path: path.to_path_buf(),
            found: version.to_string(),
            expected: BUNDLE_VERSION.to_string(),
        });
    }
    // The checksum covers everything before it; checked before anything is decoded.
    let Some(body_len) = bytes.len().checked_sub(8) else {
        return Err(damaged("no checksum"));
    };
    if body_len < MAGIC.len() + 4 {
        return Err(damaged("no checksum"));
    }
    let stored = u64::from_le_bytes(bytes[body_len..].try_into().expect("8 bytes"));
    if XxHash3_64::oneshot(&bytes[..body_len]) != stored {
        return Err(damaged("its checksum does not match its contents"));
    }
    rest = &bytes[MAGIC.len() + 4..body_len];
    let header = take_block(&mut rest).ok_or_else(|| damaged("the header is cut short"))?;
    let header: Header = serde_json::from_slice(header)
        .map_err(|e| damaged(&format!("the header does not parse: {e}")))?;
    if header.fingerprint_version != FORMAT_VERSION {
        return Err(BundleError::Version {
            path: path.to_path_buf(),
            found: format!(
                "{version} with fingerprints v{}",
                header.fingerprint_version
            ),
            expected: format!("{BUNDLE_VERSION} with fingerprints v{FORMAT_VERSION}"),
        });
    }
    let mut models = Vec::with_capacity(header.models.len().min(rest.len() / 8));
    for entry in header.models {
        let payload = take_block(&mut rest)
            .ok_or_else(|| damaged(&format!("the fingerprint of {} is cut short", entry.id)))?;
        let fingerprint = codec::decode(payload)
            .ok_or_else(|| damaged(&format!("the fingerprint of {} does not decode", entry.id)))?;
        models.push(ScannedModel {
            entry,
            fingerprint,
            from_cache: true,
        });
    }
    if !rest.is_empty() {
        return Err(damaged("bytes follow the last fingerprint"));
    }
    Ok(Bundle {
        label: header.label,
        root: header.root,
        models,
        skipped: header.skipped,
    })
}

fn take_u32(rest: &mut &[u8]) -> Option<u32> {
    let (head, tail) = rest.split_first_chunk::<4>()?;
    *rest = tail;
    Some(u32::from_le_bytes(*head))
}

/// A block prefixed by its u64 length, when the bytes left hold all of it.
fn take_block<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (head, tail) = rest.split_first_chunk::<8>()?;
    let len = usize::try_from(u64::from_le_bytes(*head)).ok()?;
    if len > tail.len() {
        return None;
    }
    let (block, tail) = tail.split_at(len);
    *rest = tail;
    Some(block)
}

/// This machine's name, for a bundle's label: the kernel's host name, else `unknown-host`.
pub fn host_label() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// One part of N of a cache's models, `K/N` on the command line (1 <= K <= N). A model belongs
/// to the part its id hashes to, so the parts stay the same on every machine that sees the same
/// ids, whatever order discovery lists them in, and a model added later moves no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based.
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub fn holds(&self, id: &str) -> bool {
        XxHash3_64::oneshot(id.as_bytes()) % self.count == self.index
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = || {
            format!("`{text}` is no shard: write K/N, part K of N (1 <= K <= N), as in --shard 2/4")
        };
        let (k, n) = text.split_once('/').ok_or_else(usage)?;
        let (k, n): (u64, u64) = (
            k.trim().parse().map_err(|_| usage())?,
            n.trim().parse().map_err(|_| usage())?,
        );
        if n == 0 || k == 0 || k > n {
            return Err(usage());
        }
        Ok(Self {
            index: k - 1,
            count: n,
        })
    }
}

/// The models of `bundles`, each with the label of the bundle it came from, and the skipped
/// entries of every bundle under that label.
pub fn unpack(bundles: Vec<Bundle>) -> (Vec<(ScannedModel, String)>, Vec<Skipped>) {
    let mut models = Vec::new();
    let mut skipped = Vec::new();
    for bundle in bundles {
        let label = bundle.label;
        skipped.extend(bundle.skipped.into_iter().map(|s| Skipped {
            path: PathBuf::from(format!("{label}:{}", s.path.display())),
            reason: s.reason,
        }));
        models.extend(bundle.models.into_iter().map(|m| (m, label.clone())));
    }
    (models, skipped)
}

/// `kept` (the models read here) and then every imported model, each once: one that is already
/// there with the same fingerprint (two exports of one shared cache, or a bundle of the cache
/// also scanned) is dropped; the same id with other weights (one repo id, two revisions on two
/// machines) is kept as `id@label`.
pub fn join(
    mut kept: Vec<ScannedModel>,
    imported: Vec<(ScannedModel, String)>,
) -> Vec<ScannedModel> {
    for (mut model, label) in imported {
        match kept.iter().find(|m| m.entry.id == model.entry.id) {
            Some(same) if same.fingerprint == model.fingerprint => continue,
            Some(_) => {
                let base = format!("{}@{label}", model.entry.id);
                let mut id = base.clone();
                let mut n = 2;
                while kept.iter().any(|m| m.entry.id == id) {
                    id = format!("{base}-{n}");
                    n += 1;
                }
                model.entry.id = id;
            }
            None => {}
        }
        kept.push(model);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(id: &str, params: u64) -> ScannedModel {
        ScannedModel {
            entry: ModelEntry {
                id: id.to_string(),
                found_in: ".".to_string(),
                unqualified_id: None,
                dir: PathBuf::from(id),
                weight_files: Vec::new(),
                format: crate::weights::Format::Safetensors,
                kind: crate::discover::ModelKind::Full,
                declared_parent: None,
                config: Default::default(),
                total_bytes: 0,
                revision: None,
                last_accessed: None,
            },
            fingerprint: crate::measure::Fingerprint {
                tensors: Vec::new(),
                params,
                bytes: 0,
                dtype: "F32".into(),
            },
            from_cache: true,
        }
    }

    #[test]
    fn a_model_already_there_is_joined_once_and_another_of_its_id_is_renamed() {
        let kept = vec![scanned("org/a", 1), scanned("org/b", 2)];
        let imported = vec![
            (scanned("org/a", 1), "node1".to_string()),
            (scanned("org/b", 3), "node1".to_string()),
            (scanned("org/b", 4), "node1".to_string()),
            (scanned("org/c", 5), "node2".to_string()),
        ];
        let ids: Vec<String> = join(kept, imported)
            .into_iter()
            .map(|m| m.entry.id)
            .collect();
        assert_eq!(
            ids,
            ["org/a", "org/b", "org/b@node1", "org/b@node1-2", "org/c"]
        );
    }

    #[test]
    fn shards_parse_and_split_ids_between_them() {
        let shards: Vec<Shard> = (1..=3).map(|k| format!("{k}/3").parse().unwrap()).collect();
        for id in ["a/b", "org/model", "x", "mother-demo/full0-root"] {
            assert_eq!(shards.iter().filter(|s| s.holds(id)).count(), 1, "{id}");
        }
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "1/"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(" 2 / 4 ".trim().parse::<Shard>().map(|s| s.index), Ok(1));
    }

    #[test]
    fn garbage_truncation_and_other_versions_are_errors_that_say_so() {
        let bundle = Bundle {
            label: "host".into(),
            root: "/cache".into(),
            models: Vec::new(),
            skipped: vec![Skipped {
                path: "/cache/broken".into(),
                reason: "cut short".into(),
            }],
        };
        let bytes = encode(&bundle);
        let path = Path::new("b.mfb");
        let back = decode(path, &bytes).expect("reads back");
        assert_eq!((back.label.as_str(), back.skipped.len()), ("host", 1));
        let err = |bytes: &[u8]| decode(path, bytes).unwrap_err().to_string();
        assert!(err(b"PK\x03\x04 zip").contains("not a mother fingerprint bundle"));
        for cut in [8, 12, 20, bytes.len() - 1] {
            assert!(err(&bytes[..cut]).contains("cut short or damaged"), "{cut}");
        }
        let mut flipped = bytes.clone();
        flipped[30] ^= 1;
        assert!(err(&flipped).contains("checksum"));
        let mut newer = bytes.clone();
        newer[8..12].copy_from_slice(&9u32.to_le_bytes());
        assert!(err(&newer).contains("export it again"));
        // A header length far beyond the file is damage, not an allocation.
        let mut bomb = bytes[..12].to_vec();
        bomb.extend_from_slice(&u64::MAX.to_le_bytes());
        let checksum = XxHash3_64::oneshot(&bomb);
        bomb.extend_from_slice(&checksum.to_le_bytes());
        assert!(err(&bomb).contains("header is cut short"));
    }
}
