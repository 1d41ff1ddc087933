//! Shared test fixtures: demo families trained once per spec and reused by every test binary
//! (they live under cargo's target tmp dir; `build_demo` writes `truth.json` last, so a family
//! with a truth file is complete).

#![allow(dead_code)]

pub mod discovery;
pub mod formats;
pub mod gguf_writer;
pub mod torch_writer;

use mother::demo::{FamilySpec, build_demo};
use mother::engine::{ScanEvent, ScanOptions, ScanReport, scan};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// A trained demo family for `spec`, built on first use under `name`.
pub fn family(name: &str, spec: &FamilySpec) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fixtures")
        .join(name);
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if !dir.join("truth.json").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        build_demo(spec, &dir, &|_| {}).expect("training the demo family");
    }
    dir
}

/// The small family the accuracy tests use: full fine-tune and LoRA trees.
pub fn small_family() -> PathBuf {
    family("small", &FamilySpec::small())
}

/// Options for scanning `root` with the fingerprint cache in `cache_dir` (or no cache).
pub fn options(root: &Path, cache_dir: Option<&Path>) -> ScanOptions {
    ScanOptions {
        root: root.to_path_buf(),
        use_cache: cache_dir.is_some(),
        cache_dir: cache_dir.map(Path::to_path_buf),
        direction: mother::lineage::DirectionMode::Finetune,
        bootstrap: 100,
        seed: 7,
    }
}

/// Runs a scan to the end and returns its report and every event it sent.
pub fn run_scan(options: &ScanOptions) -> (ScanReport, Vec<ScanEvent>) {
    let (sender, receiver) = crossbeam_channel::unbounded();
    let report = scan(options, &sender, &AtomicBool::new(false))
        .expect("scan failed")
        .expect("scan was not cancelled");
    drop(sender);
    (report, receiver.iter().collect())
}
