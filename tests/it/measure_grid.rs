//! The int8-grid test on long rows, pieces of any size, and BF16 storage.

use mother::measure::grid::GridSampler;
use mother::weights::FloatDtype;

fn noise(count: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * 0.05
        })
        .collect()
}

/// Symmetric per-row absmax int8 quantisation, then back to f32.
fn dequantised(row: &[f32]) -> Vec<f32> {
    let scale = row.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0;
    row.iter().map(|v| (v / scale).round() * scale).collect()
}

fn on_grid(values: &[f32], rows: usize, cols: usize, piece: usize, dtype: FloatDtype) -> bool {
    let mut sampler = GridSampler::new(rows, cols);
    for (k, chunk) in values.chunks(piece).enumerate() {
        sampler.push(k * piece, chunk);
    }
    sampler.on_grid(dtype)
}

#[test]
fn a_long_row_uses_its_whole_maximum_for_the_scale() {
    let cols = 100_000;
    let mut row = noise(cols, 1);
    // The largest value sits far past the part of the row that is kept for the test.
    row[90_000] = 0.2;
    let q = dequantised(&row);
    assert!(on_grid(&q, 1, cols, 7_777, FloatDtype::F32));
    assert!(!on_grid(&row, 1, cols, 7_777, FloatDtype::F32));
    let mut nudged = q.clone();
    nudged[10] += 0.3 * 0.2 / 127.0;
    assert!(!on_grid(&nudged, 1, cols, 4096, FloatDtype::F32));
}

#[test]
fn many_rows_sampled_evenly_and_one_bad_sampled_row_fails() {
    let (rows, cols) = (1000, 300);
    let values = noise(rows * cols, 2);
    let q: Vec<f32> = values.chunks(cols).flat_map(dequantised).collect();
    assert!(on_grid(&q, rows, cols, 4096, FloatDtype::F32));
    // Row 0 is always sampled: replace it with unquantised values.
    let mut mixed = q.clone();
    mixed[..cols].copy_from_slice(&values[..cols]);
    assert!(!on_grid(&mixed, rows, cols, 4096, FloatDtype::F32));
    let mut damaged = q;
    damaged[5] = f32::NAN;
    assert!(!on_grid(&damaged, rows, cols, 4096, FloatDtype::F32));
}

#[test]
fn bf16_storage_of_a_dequantised_row_stays_on_the_grid() {
    let (rows, cols) = (64, 512);
    let values = noise(rows * cols, 3);
    let to_bf16 = |v: &f32| half::bf16::from_f32(*v).to_f32();
    let q: Vec<f32> = values
        .chunks(cols)
        .flat_map(dequantised)
        .map(|v| to_bf16(&v))
        .collect();
    assert!(on_grid(&q, rows, cols, 4096, FloatDtype::BF16));
    let raw: Vec<f32> = values.iter().map(to_bf16).collect();
    assert!(!on_grid(&raw, rows, cols, 4096, FloatDtype::BF16));
}
