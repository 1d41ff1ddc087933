//! Per-tensor statistics and the per-model fingerprint.
//!
//! A fingerprint holds, for every 2-D tensor of a model, its central moments (for excess
//! kurtosis), its squared norm, a content hash (for exact duplicates) and a small linear sketch
//! (for distances and the rank of differences between models). It is all that [`crate::lineage`]
//! needs, so a second scan of an unchanged cache never reads tensor data again.
//!
//! [`fingerprint_model`] (in `model`) streams every 2-D tensor through the fused pass of
//! [`tensor`], which feeds [`moments`], [`grid`] and [`sketch`]; [`cache`] keeps the results.

#[cfg(target_arch = "x86_64")]
mod avx2;
pub mod cache;
mod codec;
mod error;
pub mod grid;
mod model;
pub mod moments;
pub mod sketch;
pub mod tensor;

pub use cache::{CacheKey, FingerprintCache};
pub use error::MeasureError;
pub use model::fingerprint_model;

use serde::{Deserialize, Serialize};

/// Central moments of a sample, merged exactly across chunks (Chan / Pébay update), in f64.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    pub count: u64,
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
    /// Sum of cubed deviations.
    pub m3: f64,
    /// Sum of fourth-power deviations.
    pub m4: f64,
}

impl Moments {
    /// Excess kurtosis with biased moments, as scipy's default: n*m4/m2^2 - 3.
    /// Zero for an empty or constant sample.
    pub fn excess_kurtosis(&self) -> f64 {
        if self.count == 0 || self.m2 <= 0.0 {
            return 0.0;
        }
        let n = self.count as f64;
        n * self.m4 / (self.m2 * self.m2) - 3.0
    }

    /// Biased variance m2 / n.
    pub fn variance(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.m2 / self.count as f64
        }
    }
}

/// A linear sketch of a matrix W (m x n): S_r W S_c^T, with S_r folding rows into `rows`
/// buckets and S_c folding columns into `cols` buckets, each with pseudo-random signs that
/// depend only on the shape (so every model holding a tensor of that shape uses the same sketch).
/// Being linear, sketch(A) - sketch(B) = sketch(A - B): the Frobenius norm of the difference of
/// two sketches estimates ||A - B||_F, and its singular values reveal a low-rank difference.
/// When m <= rows and n <= cols the sketch is exact up to signs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sketch {
    pub rows: u32,
    pub cols: u32,
    /// Row-major `rows * cols` values.
    pub values: Vec<f32>,
}

/// What is known about one 2-D tensor of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorFingerprint {
    pub name: String,
    pub shape: Vec<usize>,
    /// Stored dtype, with safetensors' names (`F32`, `BF16`, ...; a PyTorch `HalfStorage` is
    /// `F16`) or ggml's for block-quantised GGUF tensors (`Q8_0`, `Q4_K`, ...).
    pub dtype: String,
    pub moments: Moments,
    /// Sum of squares of the values (||W||_F^2).
    pub sum_sq: f64,
    /// Hash of the raw stored bytes (xxh3), for exact duplicates. A PyTorch checkpoint stores a
    /// contiguous tensor as safetensors does, so both give the same hash; a GGUF tensor hashes
    /// its own (quantised, possibly row-permuted) bytes.
    pub content_hash: u64,
    /// True when every sampled row lies on an int8 grid (values = k * scale, |k| <= 127):
    /// the mark of a quantised-then-dequantised copy.
    pub on_int8_grid: bool,
    /// Count of NaN or infinite values (those are left out of the moments and the sketch).
    pub non_finite: u64,
    pub sketch: Sketch,
}

/// Everything mother keeps about one model's weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// 2-D tensors, sorted by name.
    pub tensors: Vec<TensorFingerprint>,
    /// Total parameter count over all tensors (not only 2-D ones).
    pub params: u64,
    /// Total bytes of tensor data read.
    pub bytes: u64,
    /// The dtype holding most parameters.
    pub dtype: String,
}
