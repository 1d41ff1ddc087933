//! Shared test fixtures: demo families trained once per spec and reused by every test
//! (they live under cargo's target tmp dir). A file lock serialises the builds across test
//! binaries, processes and the test threads of one binary (each call opens the lock file anew,
//! and a `flock` lock belongs to the open file), and a family is reused only when its
//! `truth.json` names the same spec and trainer format (`build_demo` writes it last), so a
//! trainer change never reuses stale weights.

#![allow(dead_code)]

pub mod discovery;
pub mod formats;
pub mod gguf_writer;
pub mod packed_writer;
pub mod torch_writer;

use mother::demo::{FamilySpec, build_demo, is_complete};
use mother::engine::{ScanEvent, ScanOptions, ScanReport, scan};
use mother::weights::FloatDtype;
use safetensors::tensor::TensorView;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// A hub repo's folder in `hub`: `models--org--name`.
pub fn repo_dir(hub: &Path, id: &str) -> PathBuf {
    hub.join(format!("models--{}", id.replace('/', "--")))
}

/// The file `name` of a hub repo's current snapshot (the commit `refs/main` names).
pub fn snapshot_file(hub: &Path, id: &str, name: &str) -> Vec<u8> {
    let repo = repo_dir(hub, id);
    let commit = std::fs::read_to_string(repo.join("refs/main")).expect("refs/main");
    std::fs::read(repo.join("snapshots").join(commit.trim()).join(name))
        .unwrap_or_else(|e| panic!("{id}/{name}: {e}"))
}

/// A tensor's values in whatever float dtype the demo stored it (F32, F16 or BF16).
pub fn stored_values(view: &TensorView<'_>) -> Vec<f32> {
    let dtype = match view.dtype() {
        safetensors::Dtype::F32 => FloatDtype::F32,
        safetensors::Dtype::F16 => FloatDtype::F16,
        safetensors::Dtype::BF16 => FloatDtype::BF16,
        other => panic!("{other:?} is no float dtype of the demo"),
    };
    let mut values = Vec::new();
    dtype.decode_into(view.data(), &mut values);
    values
}

/// A trained demo family for `spec`, built on first use under `name`.
pub fn family(name: &str, spec: &FamilySpec) -> PathBuf {
    let fixtures = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixtures");
    std::fs::create_dir_all(&fixtures).expect("fixtures folder");
    let dir = fixtures.join(name);
    let lock = std::fs::File::create(fixtures.join(format!("{name}.lock"))).expect("lock file");
    // Held until the function returns; another process waits here while a build runs.
    lock.lock().expect("lock the fixture");
    if !is_complete(&dir, spec) {
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
