//! Timing of `lineage::recover` (bootstrap included) on synthetic fingerprints: families of 20
//! models made by a random walk in sketch space (what a fine-tune looks like through a linear
//! sketch), four sketches per model standing in for their matrices: 8 x 8 for the scale runs,
//! 64 x 64 (the largest sketch measure makes) for the rank probe's cost.
//! Run with `cargo bench --bench lineage`.

use mother::lineage::{LineageInput, LineageOptions, recover};
use mother::measure::{Fingerprint, Moments, RoundedHashes, Sketch, TensorFingerprint};
use mother::weights::FloatDtype;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    divan::main();
}

const FAMILY: usize = 20;
const TENSORS: usize = 4;

fn tensor(index: usize, values: Vec<f32>, side: u32) -> TensorFingerprint {
    TensorFingerprint {
        name: format!("layer{index}.weight"),
        shape: vec![512, 512],
        dtype: FloatDtype::F32,
        quantized: None,
        moments: Moments::of(&values),
        sum_sq: values.iter().map(|&v| f64::from(v) * f64::from(v)).sum(),
        content_hash: values.iter().fold(index as u64, |h, v| {
            h.rotate_left(7) ^ u64::from(v.to_bits())
        }),
        rounded: RoundedHashes::default(),
        on_int8_grid: false,
        non_finite: 0,
        sketch: Sketch {
            rows: side,
            cols: side,
            values,
        },
        head: None,
    }
}

/// `models` fingerprints in families of [`FAMILY`]: each child is an earlier member of its
/// family plus a small random step.
fn zoo(models: usize, side: u32) -> Vec<Fingerprint> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let cells = (side * side) as usize;
    let mut out: Vec<Vec<Vec<f32>>> = Vec::with_capacity(models);
    for i in 0..models {
        let member = i % FAMILY;
        let model = if member == 0 {
            (0..TENSORS)
                .map(|_| (0..cells).map(|_| rng.random_range(-1.0..1.0)).collect())
                .collect()
        } else {
            let parent = i - member + rng.random_range(0..member);
            out[parent]
                .iter()
                .map(|t| {
                    t.iter()
                        .map(|v| v + rng.random_range(-0.03..0.03))
                        .collect()
                })
                .collect()
        };
        out.push(model);
    }
    out.into_iter()
        .map(|tensors| Fingerprint {
            tensors: tensors
                .into_iter()
                .enumerate()
                .map(|(i, v)| tensor(i, v, side))
                .collect(),
            params: (TENSORS * 512 * 512) as u64,
            bytes: 0,
            dtype: "F32".into(),
        })
        .collect()
}

#[divan::bench(args = [100, 300, 1000], sample_count = 5, sample_size = 1)]
fn recover_with_bootstrap(bencher: divan::Bencher, models: usize) {
    run(bencher, models, 8);
}

#[divan::bench(args = [100], sample_count = 5, sample_size = 1)]
fn recover_with_64x64_sketches(bencher: divan::Bencher, models: usize) {
    run(bencher, models, 64);
}

fn run(bencher: divan::Bencher, models: usize, side: u32) {
    let fingerprints = zoo(models, side);
    let ids: Vec<String> = (0..models).map(|i| format!("m{i}")).collect();
    let inputs: Vec<LineageInput<'_>> = fingerprints
        .iter()
        .zip(&ids)
        .map(|(fingerprint, id)| LineageInput::full(id, fingerprint))
        .collect();
    let options = LineageOptions::default();
    bencher.bench(|| recover(divan::black_box(&inputs), &options));
}
