//! Helpers shared by the tests of the weight formats: deterministic values, safetensors twins
//! of a model, weight files and fingerprints.

use mother::discover::WeightFile;
use mother::measure::{Fingerprint, TensorFingerprint, fingerprint_model};
use mother::weights::Format;
use safetensors::tensor::TensorView;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// The commit every test hub repo's `refs/main` names.
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// Writes `files` into a hub repo `models--{org}--{name}` under `cache` as the Hugging Face
/// client lays them out (content in `blobs/`, relative symlinks in the snapshot) and returns the
/// snapshot folder.
pub fn hub_repo(cache: &Path, org: &str, name: &str, files: &[(&str, Vec<u8>)]) -> PathBuf {
    let repo = cache.join(format!("models--{org}--{name}"));
    let snapshot = repo.join("snapshots").join(COMMIT);
    fs::create_dir_all(repo.join("blobs")).unwrap();
    fs::create_dir_all(repo.join("refs")).unwrap();
    fs::write(repo.join("refs/main"), COMMIT).unwrap();
    fs::create_dir_all(&snapshot).unwrap();
    for (i, (file, bytes)) in files.iter().enumerate() {
        let etag = format!("{name}-{i}");
        fs::write(repo.join("blobs").join(&etag), bytes).unwrap();
        std::os::unix::fs::symlink(format!("../../blobs/{etag}"), snapshot.join(file)).unwrap();
    }
    snapshot
}

/// A temporary folder in memory (`/dev/shm`) when there is one: the fuzzers write tens of
/// thousands of small files, which takes milliseconds there and seconds on a busy disk.
pub fn scratch_dir() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("a temporary folder")
}

/// Deterministic heavy-tailed values in (-1, 1): a cubic of a hashed index.
pub fn values(count: usize, seed: u64) -> Vec<f32> {
    (0..count as u64)
        .map(|i| {
            let mut x = (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed;
            x ^= x >> 29;
            x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            x ^= x >> 32;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            (u * u * u) as f32
        })
        .collect()
}

pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Writes a safetensors file of `(name, dtype, shape, bytes)`.
pub fn write_safetensors(path: &Path, tensors: &[(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, dtype, shape, data)| {
            let view = TensorView::new(*dtype, shape.clone(), data).expect("consistent fixture");
            (name.to_string(), view)
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).expect("write fixture");
}

pub fn weight_file(path: &Path, format: Format) -> WeightFile {
    let meta = std::fs::metadata(path).expect("fixture exists");
    WeightFile {
        path: path.to_path_buf(),
        resolved: path.to_path_buf(),
        bytes: meta.len(),
        modified: meta.modified().ok(),
        format,
    }
}

/// The fingerprint of the model made of `files`.
pub fn fingerprint(files: &[WeightFile]) -> Fingerprint {
    fingerprint_model(files, &|_| {}, &AtomicBool::new(false)).expect("fingerprint")
}

/// The fingerprint of one file.
pub fn fingerprint_file(path: &Path, format: Format) -> Fingerprint {
    fingerprint(&[weight_file(path, format)])
}

/// Everything two fingerprints of the same values must share, whatever the stored format:
/// moments, norm, sketch, grid flag, shape (not the stored dtype name, not the content hash).
pub fn assert_same_statistics(a: &TensorFingerprint, b: &TensorFingerprint) {
    assert_eq!(a.name, b.name);
    assert_eq!(a.shape, b.shape, "{}", a.name);
    assert_eq!(a.moments, b.moments, "{}", a.name);
    assert_eq!(a.sum_sq, b.sum_sq, "{}", a.name);
    assert_eq!(a.sketch, b.sketch, "{}", a.name);
    assert_eq!(a.on_int8_grid, b.on_int8_grid, "{}", a.name);
    assert_eq!(a.non_finite, b.non_finite, "{}", a.name);
}
