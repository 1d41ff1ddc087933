//! Throughput of the fused per-tensor kernel (in memory), of its moments step alone on one
//! L1-resident block, and of `fingerprint_model` on a ~256 MB file in the page cache, next to
//! plain positioned reads of the same file.
//! Run with `cargo bench --bench fingerprint`.

use divan::Bencher;
use divan::counter::BytesCount;
use mother::discover::WeightFile;
use mother::measure::fingerprint_model;
use mother::measure::tensor::TensorAccumulator;
use mother::weights::{CHUNK_BYTES, FloatDtype};
use safetensors::tensor::TensorView;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;

fn main() {
    divan::main();
}

/// Heavy-tailed pseudo-random values, stored as `dtype`.
fn stored_values(count: usize, dtype: FloatDtype, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(count * dtype.size());
    for _ in 0..count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let u = (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
        let v = 0.02 * u * u * u;
        match dtype {
            FloatDtype::F32 => out.extend_from_slice(&v.to_le_bytes()),
            FloatDtype::BF16 => out.extend_from_slice(&half::bf16::from_f32(v).to_le_bytes()),
            FloatDtype::F16 => out.extend_from_slice(&half::f16::from_f32(v).to_le_bytes()),
            FloatDtype::F64 => out.extend_from_slice(&(v as f64).to_le_bytes()),
        }
    }
    out
}

const SIDE: usize = 4096;

fn matrix(dtype: FloatDtype) -> &'static [u8] {
    static F32: OnceLock<Vec<u8>> = OnceLock::new();
    static BF16: OnceLock<Vec<u8>> = OnceLock::new();
    static F16: OnceLock<Vec<u8>> = OnceLock::new();
    let cell = match dtype {
        FloatDtype::F32 => &F32,
        FloatDtype::F16 => &F16,
        _ => &BF16,
    };
    cell.get_or_init(|| stored_values(SIDE * SIDE, dtype, 7))
}

#[divan::bench(args = [FloatDtype::F32, FloatDtype::BF16, FloatDtype::F16], sample_count = 10, sample_size = 1)]
fn kernel_4096x4096(bencher: Bencher, dtype: FloatDtype) {
    let bytes = matrix(dtype);
    bencher.counter(BytesCount::new(bytes.len())).bench(|| {
        let mut acc = TensorAccumulator::new(dtype, SIDE, SIDE);
        for chunk in bytes.chunks(CHUNK_BYTES) {
            acc.push_bytes(chunk);
        }
        acc.finish("w", &[SIDE, SIDE])
    });
}

/// A ~256 MB model file of 4096 x 1024 matrices, written once per run.
fn model_file(dtype: FloatDtype) -> &'static (tempfile::TempDir, PathBuf, u64) {
    static F32: OnceLock<(tempfile::TempDir, PathBuf, u64)> = OnceLock::new();
    static BF16: OnceLock<(tempfile::TempDir, PathBuf, u64)> = OnceLock::new();
    let cell = if dtype == FloatDtype::F32 {
        &F32
    } else {
        &BF16
    };
    cell.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("model.safetensors");
        let (rows, cols) = (4096, 1024);
        let count = 256_000_000 / (rows * cols * dtype.size());
        let data: Vec<Vec<u8>> = (0..count)
            .map(|k| stored_values(rows * cols, dtype, k as u64 + 1))
            .collect();
        let st_dtype = match dtype {
            FloatDtype::F32 => safetensors::Dtype::F32,
            _ => safetensors::Dtype::BF16,
        };
        let views = data.iter().enumerate().map(|(k, d)| {
            let view = TensorView::new(st_dtype, vec![rows, cols], d).expect("consistent");
            (format!("layers.{k:02}.weight"), view)
        });
        safetensors::serialize_to_file(views, None, &path).expect("write model");
        let len = std::fs::metadata(&path).expect("written").len();
        (dir, path, len)
    })
}

fn weight_files(dtype: FloatDtype) -> (Vec<WeightFile>, u64) {
    let (_, path, len) = model_file(dtype);
    let file = WeightFile {
        path: path.clone(),
        resolved: path.clone(),
        bytes: *len,
        modified: None,
        format: mother::weights::Format::Safetensors,
    };
    (vec![file], *len)
}

#[divan::bench(args = [FloatDtype::F32, FloatDtype::BF16], sample_count = 10, sample_size = 1)]
fn fingerprint_model_256mb(bencher: Bencher, dtype: FloatDtype) {
    let (files, len) = weight_files(dtype);
    let cancel = AtomicBool::new(false);
    bencher
        .counter(BytesCount::new(len))
        .bench(|| fingerprint_model(&files, &|_| {}, &cancel).expect("valid model"));
}

/// The `cat` equivalent: positioned reads of the whole file into one reused 1 MiB buffer.
#[divan::bench(args = [FloatDtype::F32, FloatDtype::BF16], sample_count = 10, sample_size = 1)]
fn plain_read_256mb(bencher: Bencher, dtype: FloatDtype) {
    let (files, len) = weight_files(dtype);
    bencher.counter(BytesCount::new(len)).bench(|| {
        let file = std::fs::File::open(&files[0].resolved).expect("open");
        let mut buffer = vec![0u8; CHUNK_BYTES];
        let mut offset = 0;
        while offset < len {
            let n = (len - offset).min(CHUNK_BYTES as u64) as usize;
            file.read_exact_at(&mut buffer[..n], offset).expect("read");
            offset += n as u64;
        }
        buffer[0]
    });
}

/// The moments step alone on one L1-resident block of 4096 values: the one-pass power sums.
#[divan::bench(sample_count = 200, sample_size = 100)]
fn power_sums_4096(bencher: Bencher) {
    let values: Vec<f32> = stored_values(4096, FloatDtype::F32, 3)
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    bencher
        .counter(divan::counter::ItemsCount::new(values.len()))
        .bench(|| mother::measure::moments::ShiftedSums::of(divan::black_box(&values), 1e-4));
}
