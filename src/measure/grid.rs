//! Detecting an int8-quantised-then-dequantised copy: sampled rows whose values all sit on
//! the grid k * scale, with scale = max|row| / 127 and integer |k| <= 127 (symmetric per-row
//! absmax quantisation, the common scheme). Up to 16 evenly spaced rows are sampled, and of each
//! the first [`KEPT_PER_ROW`] values are tested, so memory stays small for any shape.
//!
//! Tolerance: a value v passes when |v - k*scale| <= 1e-3 * scale + p * |v|, where p is twice
//! the relative spacing of the stored dtype ([`FloatDtype::relative_precision`]): the product
//! k*scale was rounded once when stored, and scale itself comes from a rounded maximum. For F32
//! the test is sharp; for BF16 (8-bit mantissa) the largest values always pass, and the test
//! rests on the smaller values of the row, which an unquantised row almost never puts that close
//! to the grid.

use crate::weights::FloatDtype;

/// Most rows sampled per tensor.
pub const SAMPLE_ROWS: usize = 16;

/// Most values kept per sampled row for the grid test: memory stays bounded however long the
/// rows are. The row's maximum (hence the scale) is still taken over the whole row.
pub const KEPT_PER_ROW: usize = 16 * 1024;

const SIGN_BIT: u32 = 1 << 31;

/// Follows up to [`SAMPLE_ROWS`] evenly spaced rows of a row-major matrix as it streams past.
pub struct GridSampler {
    cols: usize,
    rows: Vec<SampledRow>,
}

struct SampledRow {
    index: usize,
    /// Largest bit pattern of |v| seen: for non-negative floats the bit patterns order like
    /// the values, with infinity and NaN above every finite value, so an integer maximum (which
    /// vectorises, unlike `f32::max`) gives both the largest magnitude and whether any value
    /// was not finite.
    max_abs_bits: u32,
    /// The first [`KEPT_PER_ROW`] values of the row.
    kept: Vec<f32>,
}

impl GridSampler {
    pub fn new(rows: usize, cols: usize) -> Self {
        let count = rows.min(SAMPLE_ROWS);
        Self {
            cols,
            rows: (0..count)
                .map(|k| SampledRow {
                    index: k * rows / count,
                    max_abs_bits: 0,
                    kept: Vec::new(),
                })
                .collect(),
        }
    }

    /// Takes the sampled values among `values`, which start at flat index `start`.
    #[inline(always)]
    pub fn push(&mut self, start: usize, values: &[f32]) {
        let end = start + values.len();
        for row in &mut self.rows {
            let row_start = row.index * self.cols;
            let lo = row_start.max(start);
            let hi = (row_start + self.cols).min(end);
            if lo >= hi {
                continue;
            }
            let piece = &values[lo - start..hi - start];
            let piece_max = piece.iter().map(|v| v.to_bits() & !SIGN_BIT).max();
            row.max_abs_bits = row.max_abs_bits.max(piece_max.unwrap_or(0));
            let room = KEPT_PER_ROW.saturating_sub(lo - row_start);
            row.kept.extend_from_slice(&piece[..piece.len().min(room)]);
        }
    }

    /// True when every sampled row lies on its int8 grid.
    pub fn on_grid(&self, dtype: FloatDtype) -> bool {
        self.rows.iter().all(|row| {
            let max_abs = f32::from_bits(row.max_abs_bits);
            max_abs.is_finite()
                && values_on_int8_grid(&row.kept, max_abs, dtype.relative_precision())
        })
    }
}

/// True when every one of `values` lies on the grid k * max_abs / 127 (see the module docs for
/// the tolerance). A row of zeros is on the grid.
pub fn values_on_int8_grid(values: &[f32], max_abs: f32, relative_precision: f32) -> bool {
    if !max_abs.is_finite() {
        return false;
    }
    if max_abs == 0.0 {
        return true;
    }
    let scale = max_abs / 127.0;
    values.iter().all(|&v| {
        let k = (v / scale).round();
        k.abs() <= 127.0 && (v - k * scale).abs() <= 1e-3 * scale + relative_precision * v.abs()
    })
}
