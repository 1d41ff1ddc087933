//! fingerprint_model on real safetensors files: totals, per-tensor statistics against a slow
//! reference, sharded models, progress, cancellation and damaged values.

use crate::reference;

use mother::discover::WeightFile;
use mother::measure::sketch::sketch_matrix;
use mother::measure::{Fingerprint, MeasureError, fingerprint_model};
use mother::weights::FloatDtype;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, serialize_to_file};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

fn weight_file(path: &Path) -> WeightFile {
    let meta = std::fs::metadata(path).expect("fixture exists");
    WeightFile {
        path: path.to_path_buf(),
        resolved: path.to_path_buf(),
        bytes: meta.len(),
        modified: meta.modified().ok(),
        format: mother::weights::Format::Safetensors,
    }
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Deterministic, non-Gaussian-looking values (a cubic of a hashed index) for fixtures.
fn values(count: usize, seed: u64) -> Vec<f32> {
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

fn write(path: &Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, dtype, shape, data)| {
            let view = TensorView::new(*dtype, shape.clone(), data).expect("consistent fixture");
            (name.to_string(), view)
        })
        .collect();
    serialize_to_file(views, None, path).expect("write fixture");
}

fn run(files: &[WeightFile]) -> (Result<Fingerprint, MeasureError>, u64) {
    let done = AtomicU64::new(0);
    let on_bytes = |n: u64| {
        done.fetch_add(n, Ordering::Relaxed);
    };
    let result = fingerprint_model(files, &on_bytes, &AtomicBool::new(false));
    (result, done.load(Ordering::Relaxed))
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn single_file_totals_and_statistics_match_a_slow_reference() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    // 500 x 1100 F32 (2.2 MB) spans several 1 MiB chunks that split rows mid-way.
    let big = values(500 * 1100, 1);
    let small = values(10 * 20, 2);
    let bias = values(1100, 3);
    write(
        &path,
        &[
            (
                "layer.big.weight",
                Dtype::F32,
                vec![500, 1100],
                f32_bytes(&big),
            ),
            ("layer.bias", Dtype::F32, vec![1100], f32_bytes(&bias)),
            (
                "a.small.weight",
                Dtype::F32,
                vec![10, 20],
                f32_bytes(&small),
            ),
        ],
    );
    let (result, reported) = run(&[weight_file(&path)]);
    let fp = result.expect("valid model");
    assert_eq!(fp.params, (500 * 1100 + 1100 + 200) as u64);
    assert_eq!(fp.bytes, fp.params * 4);
    assert_eq!(reported, fp.bytes, "progress adds up to all tensor bytes");
    assert_eq!(fp.dtype, "F32");
    let names: Vec<&str> = fp.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["a.small.weight", "layer.big.weight"],
        "2-D only, sorted"
    );

    for (t, data, shape) in [
        (&fp.tensors[0], &small, (10, 20)),
        (&fp.tensors[1], &big, (500, 1100)),
    ] {
        // Blocks after a tensor's first take the one-pass f32 partial sums (see
        // `measure::moments::ShiftedSums`), good to a few parts in 1e6.
        let reference = reference::moments(data);
        assert_eq!(t.moments.count, reference.count);
        assert!(close(t.moments.mean, reference.mean, 1e-6));
        assert!(close(t.moments.m2, reference.m2, 1e-5));
        assert!(close(t.moments.m3, reference.m3, 1e-5));
        assert!(close(t.moments.m4, reference.m4, 1e-5));
        let sum_sq: f64 = data.iter().map(|&v| (v as f64) * (v as f64)).sum();
        assert!(close(t.sum_sq, sum_sq, 1e-5));
        assert_eq!(t.non_finite, 0);
        assert!(!t.on_int8_grid, "cubed noise is not on an int8 grid");
        let expected = sketch_matrix(data, shape.0, shape.1);
        assert_eq!(t.sketch.rows, expected.rows);
        assert_eq!(t.sketch.cols, expected.cols);
        for (a, b) in t.sketch.values.iter().zip(&expected.values) {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
        }
        assert_eq!(
            t.content_hash,
            twox_hash::XxHash3_64::oneshot(&f32_bytes(data))
        );
    }
    assert_eq!(
        (fp.tensors[1].sketch.rows, fp.tensors[1].sketch.cols),
        (64, 64)
    );
    assert_eq!(
        (fp.tensors[0].sketch.rows, fp.tensors[0].sketch.cols),
        (10, 20)
    );
}

#[test]
fn identical_files_give_identical_fingerprints_and_changed_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let data = values(64 * 96, 7);
    let mut changed = data.clone();
    changed[1000] += 0.5;
    let tensors = |d: &[f32]| vec![("w", Dtype::F32, vec![64usize, 96], f32_bytes(d))];
    for (name, d) in [("a", &data), ("b", &data), ("c", &changed)] {
        write(&dir.path().join(name), &tensors(d));
    }
    let fp = |name: &str| run(&[weight_file(&dir.path().join(name))]).0.unwrap();
    let (a, b, c) = (fp("a"), fp("b"), fp("c"));
    assert_eq!(a, b);
    assert_ne!(a.tensors[0].content_hash, c.tensors[0].content_hash);
    assert_ne!(a.tensors[0].sketch, c.tensors[0].sketch);
}

#[test]
fn shards_are_merged_and_duplicate_names_across_shards_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("model-00001-of-00002.safetensors");
    let two = dir.path().join("model-00002-of-00002.safetensors");
    let bf16: Vec<u8> = values(32 * 32, 9)
        .iter()
        .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
        .collect();
    write(
        &one,
        &[(
            "z.weight",
            Dtype::F32,
            vec![16, 16],
            f32_bytes(&values(256, 8)),
        )],
    );
    write(&two, &[("a.weight", Dtype::BF16, vec![32, 32], bf16)]);
    let fp = run(&[weight_file(&one), weight_file(&two)])
        .0
        .expect("two valid shards");
    let names: Vec<&str> = fp.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a.weight", "z.weight"]);
    assert_eq!(fp.dtype, "BF16", "BF16 holds 1024 of 1280 params");
    assert_eq!(fp.tensors[0].dtype, FloatDtype::BF16);

    let three = dir.path().join("stale.safetensors");
    write(
        &three,
        &[(
            "z.weight",
            Dtype::F32,
            vec![4, 4],
            f32_bytes(&values(16, 1)),
        )],
    );
    let err = run(&[weight_file(&one), weight_file(&three)])
        .0
        .unwrap_err();
    assert!(matches!(&err, MeasureError::DuplicateTensor { name, .. } if name == "z.weight"));
    assert!(err.to_string().contains("stale.safetensors"), "{err}");
}

#[test]
fn cancel_stops_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    write(
        &path,
        &[(
            "w",
            Dtype::F32,
            vec![512, 1024],
            f32_bytes(&values(512 * 1024, 4)),
        )],
    );
    let cancel = AtomicBool::new(true);
    let err = fingerprint_model(&[weight_file(&path)], &|_| {}, &cancel).unwrap_err();
    assert!(matches!(err, MeasureError::Cancelled));
}

#[test]
fn non_finite_values_are_counted_and_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let clean = values(8 * 8, 5);
    let mut damaged = clean.clone();
    damaged[3] = f32::NAN;
    damaged[40] = f32::INFINITY;
    write(&path, &[("w", Dtype::F32, vec![8, 8], f32_bytes(&damaged))]);
    let fp = run(&[weight_file(&path)]).0.unwrap();
    let t = &fp.tensors[0];
    assert_eq!(t.non_finite, 2);
    let finite: Vec<f32> = damaged.iter().copied().filter(|v| v.is_finite()).collect();
    let reference = reference::moments(&finite);
    assert_eq!(t.moments.count, 62);
    assert!(close(t.moments.m4, reference.m4, 1e-10));
    assert!(t.sketch.values.iter().all(|v| v.is_finite()));
    let mut zeroed = clean;
    zeroed[3] = 0.0;
    zeroed[40] = 0.0;
    let expected = sketch_matrix(&zeroed, 8, 8);
    assert_eq!(t.sketch, expected);
}

#[test]
fn dequantised_int8_rows_are_on_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let (rows, cols) = (40, 50);
    let original = values(rows * cols, 11);
    let mut dequantised = Vec::with_capacity(original.len());
    for row in original.chunks(cols) {
        let scale = row.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0;
        dequantised.extend(row.iter().map(|v| (v / scale).round() * scale));
    }
    write(
        &path,
        &[
            ("q", Dtype::F32, vec![rows, cols], f32_bytes(&dequantised)),
            ("r", Dtype::F32, vec![rows, cols], f32_bytes(&original)),
            ("zero", Dtype::F32, vec![3, 3], f32_bytes(&[0.0; 9])),
        ],
    );
    let fp = run(&[weight_file(&path)]).0.unwrap();
    let grid: Vec<bool> = fp.tensors.iter().map(|t| t.on_int8_grid).collect();
    assert_eq!(grid, [true, false, true]);
}
