//! Running `engine::scan` under a watchdog, the forest of a report in model ids, and a digest of
//! a folder tree that proves a scan wrote nothing.

use mother::engine::{ScanEvent, ScanOptions, ScanReport, spawn_scan};
use mother::lineage::DirectionMode;
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest a test scan may take. A scan that opened a FIFO would block forever; the watchdog
/// turns that into a failure with a message instead of a hung test run.
const WATCHDOG: Duration = Duration::from_secs(60);

pub fn options(root: &Path, cache_dir: Option<&Path>) -> ScanOptions {
    ScanOptions {
        root: root.to_path_buf(),
        use_cache: cache_dir.is_some(),
        cache_dir: cache_dir.map(Path::to_path_buf),
        direction: DirectionMode::Finetune,
        bootstrap: 100,
        seed: 7,
    }
}

/// Scans `root` on the engine's background thread and returns the report.
pub fn run_scan(root: &Path, cache_dir: Option<&Path>) -> ScanReport {
    let handle = spawn_scan(options(root, cache_dir));
    loop {
        match handle.events.recv_timeout(WATCHDOG) {
            Ok(ScanEvent::Finished(report)) => return *report,
            Ok(_) => {}
            Err(error) => panic!(
                "scan of {} did not finish within {WATCHDOG:?} ({error}): did it open a FIFO?",
                root.display()
            ),
        }
    }
}

/// A forest in model ids, so that scans of different caches can be compared.
#[derive(Debug, Default, PartialEq)]
pub struct Forest {
    pub edges: Vec<(String, String)>,
    pub roots: Vec<String>,
    pub unrelated: Vec<String>,
    pub duplicates: Vec<(String, String)>,
}

pub fn forest(report: &ScanReport) -> Forest {
    let id = |index: usize| report.models[index].entry.id.clone();
    let recovery = &report.recovery;
    let mut forest = Forest {
        edges: recovery
            .edges
            .iter()
            .map(|e| (id(e.parent), id(e.child)))
            .collect(),
        roots: recovery.roots.iter().map(|&r| id(r)).collect(),
        unrelated: recovery.unrelated.iter().map(|&u| id(u)).collect(),
        duplicates: recovery
            .duplicates
            .iter()
            .map(|d| (id(d.original), id(d.copy)))
            .collect(),
    };
    forest.edges.sort();
    forest.roots.sort();
    forest.unrelated.sort();
    forest.duplicates.sort();
    forest
}

/// Everything a write would change, per entry of the tree (links not followed, FIFOs not
/// opened): kind, permissions, size, modification time, and the content hash of regular files
/// or the target of links.
pub fn tree_digest(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut digest = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = fs::symlink_metadata(&path).expect("stat a tree entry");
        let kind = meta.file_type();
        let detail = if kind.is_symlink() {
            format!(
                "link -> {}",
                fs::read_link(&path).expect("read link").display()
            )
        } else if kind.is_file() {
            format!("file {:016x}", content_hash(&path))
        } else if kind.is_dir() {
            let mut names: Vec<PathBuf> = fs::read_dir(&path)
                .expect("list a folder")
                .map(|entry| entry.expect("folder entry").path())
                .collect();
            names.sort();
            let listing = format!("dir {names:?}");
            pending.extend(names);
            listing
        } else {
            "other".to_string()
        };
        let line = format!(
            "{detail} mode {:o} size {} mtime {}.{}",
            meta.mode(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec()
        );
        digest.insert(path, line);
    }
    digest
}

/// xxh3 of a file's bytes, read in chunks (some fixtures are large sparse files).
fn content_hash(path: &Path) -> u64 {
    let mut file = fs::File::open(path).expect("open a tree file");
    let mut hasher = twox_hash::XxHash3_64::with_seed(0);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).expect("read a tree file");
        if n == 0 {
            return std::hash::Hasher::finish(&hasher);
        }
        std::hash::Hasher::write(&mut hasher, &buffer[..n]);
    }
}
