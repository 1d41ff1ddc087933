//! Detecting an int8-quantised-then-dequantised copy: sampled rows whose values all sit on
//! the grid k * scale, with scale = max|row| / 127 and integer |k| <= 127 (symmetric per-row
//! absmax quantisation, the common scheme).
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

/// Collects up to [`SAMPLE_ROWS`] evenly spaced rows of a row-major matrix as it streams past.
pub struct GridSampler {
    cols: usize,
    /// Sampled row indices, increasing.
    rows: Vec<usize>,
    /// Values of the sampled rows, in order, `cols` per row.
    values: Vec<f32>,
}

impl GridSampler {
    pub fn new(rows: usize, cols: usize) -> Self {
        let count = rows.min(SAMPLE_ROWS);
        Self {
            cols,
            rows: (0..count).map(|k| k * rows / count).collect(),
            values: Vec::with_capacity(count * cols),
        }
    }

    /// Takes the sampled values among `values`, which start at flat index `start`.
    pub fn push(&mut self, start: usize, values: &[f32]) {
        let end = start + values.len();
        for &row in &self.rows {
            let lo = (row * self.cols).max(start);
            let hi = ((row + 1) * self.cols).min(end);
            if lo < hi {
                self.values
                    .extend_from_slice(&values[lo - start..hi - start]);
            }
        }
    }

    /// True when every sampled row lies on its int8 grid.
    pub fn on_grid(&self, dtype: FloatDtype) -> bool {
        if self.cols == 0 {
            return true;
        }
        self.values
            .chunks(self.cols)
            .all(|row| row_on_int8_grid(row, dtype.relative_precision()))
    }
}

/// True when `row` lies on its int8 grid (see the module docs for the tolerance).
pub fn row_on_int8_grid(row: &[f32], relative_precision: f32) -> bool {
    let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if !max.is_finite() || row.iter().any(|v| !v.is_finite()) {
        return false;
    }
    if max == 0.0 {
        return true;
    }
    let scale = max / 127.0;
    row.iter().all(|&v| {
        let k = (v / scale).round();
        k.abs() <= 127.0 && (v - k * scale).abs() <= 1e-3 * scale + relative_precision * v.abs()
    })
}
