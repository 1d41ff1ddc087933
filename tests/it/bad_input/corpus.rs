//! Builds hub caches on disk for the bad-input tests: safetensors bytes (well-formed or
//! hand-damaged), hub repos with blobs, refs and relative snapshot symlinks, and the small
//! family of good models that every corpus holds.
//!
//! The good models are random matrices from a seeded ChaCha generator: these fixtures test
//! robustness (what is skipped, what is kept, that the forest over the kept models does not
//! move), not the accuracy of the recovered lineage, so random values are enough.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::Normal;
use serde_json::{Map, Value, json};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// One tensor to write: its header entry and its raw little-endian bytes.
pub struct Tensor {
    pub name: String,
    pub dtype: &'static str,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

impl Tensor {
    pub fn f32(name: &str, shape: &[usize], values: &[f32]) -> Self {
        Self {
            name: name.to_string(),
            dtype: "F32",
            shape: shape.to_vec(),
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
}

/// A well-formed safetensors file holding `tensors` back to back in the given order.
pub fn safetensors(tensors: &[Tensor]) -> Vec<u8> {
    let mut header = Map::new();
    let mut offset = 0usize;
    for tensor in tensors {
        let end = offset + tensor.bytes.len();
        header.insert(
            tensor.name.clone(),
            json!({"dtype": tensor.dtype, "shape": tensor.shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let data: Vec<u8> = tensors.iter().flat_map(|t| t.bytes.clone()).collect();
    raw(&Value::Object(header).to_string(), &data)
}

/// A file made of a header text and a data section, with the header length field set to the
/// header's true length (the header is padded with spaces to a multiple of 8, as writers do).
pub fn raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut header = header.as_bytes().to_vec();
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    with_length_field(header.len() as u64, &header, data)
}

/// A file whose 8-byte header length field says `length`, whatever follows.
pub fn with_length_field(length: u64, header: &[u8], data: &[u8]) -> Vec<u8> {
    let mut bytes = length.to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(data);
    bytes
}

/// `rows x cols` values drawn from N(0, 0.02^2).
pub fn random_matrix(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> Vec<f32> {
    let normal = Normal::new(0.0f32, 0.02).expect("a valid normal distribution");
    (0..rows * cols).map(|_| rng.sample(normal)).collect()
}

/// The matrix names and side of every good model.
pub const MATRICES: [&str; 4] = ["layer0.q", "layer0.k", "layer0.v", "layer0.o"];
pub const SIDE: usize = 48;

/// Four random square matrices.
pub fn random_model(seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    MATRICES
        .iter()
        .map(|_| random_matrix(&mut rng, SIDE, SIDE))
        .collect()
}

/// `parent` plus small random steps: a stand-in for a fine-tune.
pub fn nudged(parent: &[Vec<f32>], seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let step = Normal::new(0.0f32, 0.001).expect("a valid normal distribution");
    parent
        .iter()
        .map(|m| m.iter().map(|v| v + rng.sample(step)).collect())
        .collect()
}

/// The safetensors tensors of a model made of `matrices` (named after [`MATRICES`]).
pub fn matrix_tensors(matrices: &[Vec<f32>]) -> Vec<Tensor> {
    MATRICES
        .iter()
        .zip(matrices)
        .map(|(name, values)| Tensor::f32(name, &[SIDE, SIDE], values))
        .collect()
}

/// A good model as (org, name, files as (name in the snapshot, bytes)).
pub type GoodModel = (&'static str, &'static str, Vec<(String, Vec<u8>)>);

/// The good models. A root with two fine-tunes, one of which also holds a
/// zero-size tensor, a scalar and a 1-D tensor (legal, and they must not break the model), and
/// one unrelated model.
pub fn good_models() -> Vec<GoodModel> {
    let base = random_model(1);
    let tuned_a = nudged(&base, 2);
    let tuned_b = nudged(&base, 3);
    let solo = random_model(4);
    let mut with_odd_shapes = matrix_tensors(&tuned_b);
    with_odd_shapes.push(Tensor::f32("empty", &[0, SIDE], &[]));
    with_odd_shapes.push(Tensor::f32("scale", &[], &[0.5]));
    with_odd_shapes.push(Tensor::f32("bias", &[SIDE], &[0.01; SIDE]));
    let file =
        |tensors: Vec<Tensor>| vec![("model.safetensors".to_string(), safetensors(&tensors))];
    vec![
        ("fam", "base", file(matrix_tensors(&base))),
        ("fam", "tuned-a", file(matrix_tensors(&tuned_a))),
        ("fam", "tuned-b", file(with_odd_shapes)),
        ("solo", "other", file(matrix_tensors(&solo))),
    ]
}

/// A hub repo `models--{org}--{name}` in `cache`, one snapshot holding `files` as relative
/// symlinks into `blobs/`, and `refs/main` naming the snapshot. Returns the snapshot folder.
pub fn hub_repo(cache: &Path, org: &str, name: &str, files: &[(String, Vec<u8>)]) -> PathBuf {
    let repo = repo_dir(cache, org, name);
    let commit = commit_of(org, name);
    let snapshot = repo.join("snapshots").join(&commit);
    fs::create_dir_all(repo.join("blobs")).expect("create blobs");
    fs::create_dir_all(&snapshot).expect("create snapshot");
    fs::create_dir_all(repo.join("refs")).expect("create refs");
    fs::write(repo.join("refs/main"), &commit).expect("write ref");
    for (file, bytes) in files {
        let blob = format!("{:032x}", twox_hash::XxHash3_128::oneshot(bytes));
        fs::write(repo.join("blobs").join(&blob), bytes).expect("write blob");
        link_into_blobs(&snapshot, file, &blob);
    }
    snapshot
}

/// Links `snapshot/file` to `blobs/blob` the way the hub client does (relative, through `..`).
pub fn link_into_blobs(snapshot: &Path, file: &str, blob: &str) {
    let depth = file.matches('/').count();
    let mut target = PathBuf::from("../..");
    for _ in 0..depth {
        target.push("..");
    }
    target.push("blobs");
    target.push(blob);
    let link = snapshot.join(file);
    if let Some(parent) = link.parent() {
        fs::create_dir_all(parent).expect("create snapshot subfolder");
    }
    symlink(target, link).expect("create snapshot link");
}

pub fn repo_dir(cache: &Path, org: &str, name: &str) -> PathBuf {
    cache.join(format!("models--{org}--{name}"))
}

/// A stable 40-hex-digit commit per repo.
pub fn commit_of(org: &str, name: &str) -> String {
    let hash = twox_hash::XxHash3_128::oneshot(format!("{org}/{name}").as_bytes());
    format!("{hash:032x}{:08x}", hash as u32)
}

/// Writes every good model into `cache`.
pub fn write_good_models(cache: &Path) {
    for (org, name, files) in good_models() {
        hub_repo(cache, org, name, &files);
    }
}

/// Makes a named pipe: opening it for reading blocks until a writer comes, so a scan that
/// opened it would hang, and one that only looks at its name goes on.
pub fn fifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {} failed", path.display());
}
