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
pub mod codec;
mod error;
pub mod grid;
mod model;
pub mod moments;
pub mod sketch;
pub mod tensor;

pub use cache::{CacheKey, FingerprintCache};
pub use error::MeasureError;
pub use model::fingerprint_model;
pub use tensor::TensorAccumulator;

use crate::weights::{FloatDtype, Quantization};
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

/// Hashes of a tensor's values rounded to the storage precisions coarser than its own, each the
/// xxh3 of the bytes a cast to that dtype would store: equal to another tensor's content hash
/// (or its own rounded hash) exactly when the two hold the same values at that precision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundedHashes {
    /// At BF16, for F64, F32 and F16 tensors.
    pub bf16: Option<u64>,
    /// At F16, for F64 and F32 tensors.
    pub f16: Option<u64>,
}

/// What is known about one 2-D tensor of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorFingerprint {
    pub name: String,
    pub shape: Vec<usize>,
    /// The precision of the values the statistics were taken from: the stored dtype (with
    /// safetensors' names; a PyTorch `HalfStorage` is `F16`), or F32 for a block-quantised GGUF
    /// tensor, which [`Self::quantized`] names.
    pub dtype: FloatDtype,
    /// The quantisation the values were rebuilt from, if any: a GGUF block type, or a packing
    /// such as GPTQ.
    pub quantized: Option<Quantization>,
    pub moments: Moments,
    /// Sum of squares of the values (||W||_F^2).
    pub sum_sq: f64,
    /// Hash of the raw stored bytes (xxh3), for exact duplicates. A PyTorch checkpoint stores a
    /// contiguous tensor as safetensors does, so both give the same hash; a GGUF tensor hashes
    /// its own (quantised, possibly row-permuted) bytes.
    pub content_hash: u64,
    /// Hashes of the values rounded to coarser dtypes, for cast copies and for telling which
    /// tensors a fine-tune left as they were when parent and child are stored differently.
    pub rounded: RoundedHashes,
    /// True when every sampled row lies on an int8 grid (values = k * scale, |k| <= 127):
    /// the mark of a quantised-then-dequantised copy.
    pub on_int8_grid: bool,
    /// Count of NaN or infinite values (those are left out of the moments and the sketch).
    pub non_finite: u64,
    pub sketch: Sketch,
    /// For a matrix whose rows are a vocabulary, its first rows on their own, to compare it with
    /// a model whose vocabulary was extended (`sketch::head_rows`).
    pub head: Option<TensorHead>,
}

/// The statistics of the first `rows` rows of a matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorHead {
    pub rows: usize,
    pub moments: Moments,
    pub sum_sq: f64,
    pub sketch: Sketch,
}

impl TensorFingerprint {
    /// Whether the values were stored quantised: rebuilt from a quantisation, or on an int8
    /// grid (a quantised-then-dequantised copy).
    pub fn is_quantized(&self) -> bool {
        self.on_int8_grid || self.quantized.is_some()
    }

    /// The hash of this tensor's values at `precision`: its content hash at its own dtype, a
    /// rounded hash at a coarser one, `None` where it has none (a finer dtype).
    pub fn hash_at(&self, precision: FloatDtype) -> Option<u64> {
        if precision == self.dtype {
            return Some(self.content_hash);
        }
        match precision {
            FloatDtype::BF16 => self.rounded.bf16,
            FloatDtype::F16 => self.rounded.f16,
            FloatDtype::F32 | FloatDtype::F64 => None,
        }
    }

    /// Whether the matrix is too small for its kurtosis to be more than sampling noise (a
    /// 2×384 token-type embedding): fewer than [`SMALL_VALUES`] values or a side under
    /// [`SMALL_SIDE`].
    pub fn is_small(&self) -> bool {
        let values: usize = self.shape.iter().product();
        values < SMALL_VALUES || self.shape.iter().any(|&side| side < SMALL_SIDE)
    }

    /// Whether the two tensors hold the same values once both are rounded to the coarser of
    /// their dtypes: what a cast between them (or a fine-tune that left this tensor alone,
    /// stored at another precision) produces.
    pub fn same_when_rounded(&self, other: &TensorFingerprint) -> bool {
        let precision = self.dtype.coarser(other.dtype);
        match (self.hash_at(precision), other.hash_at(precision)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }
}

/// Matrices with fewer values than this are too small for their kurtosis to mean much.
pub const SMALL_VALUES: usize = 4096;
/// Matrices with a side shorter than this are too small too (a 2-row embedding).
pub const SMALL_SIDE: usize = 8;

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

impl Fingerprint {
    /// The median excess kurtosis over the matrices that are not small (over all of them when
    /// every one is small). A summary comparable across models of different sizes: unlike the
    /// sum, it does not grow with the number of layers, and one outlier matrix cannot move it
    /// far. The explorer, the text output and DOT show it.
    pub fn median_kurtosis(&self) -> Option<f64> {
        let kurtosis = |tensor: &TensorFingerprint| tensor.moments.excess_kurtosis();
        let mut values: Vec<f64> = self
            .tensors
            .iter()
            .filter(|tensor| !tensor.is_small())
            .map(kurtosis)
            .collect();
        if values.is_empty() {
            values = self.tensors.iter().map(kurtosis).collect();
        }
        values.retain(|value| value.is_finite());
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        Some(if values.len().is_multiple_of(2) {
            (values[middle - 1] + values[middle]) / 2.0
        } else {
            values[middle]
        })
    }

    /// The quantisation most of the model's matrices were rebuilt from (a GGUF block type, a
    /// GPTQ/AWQ/bitsandbytes packing), if most were quantised.
    pub fn quantization(&self) -> Option<Quantization> {
        let mut counts: Vec<(Quantization, usize)> = Vec::new();
        for q in self.tensors.iter().filter_map(|t| t.quantized) {
            match counts.iter_mut().find(|(seen, _)| *seen == q) {
                Some((_, count)) => *count += 1,
                None => counts.push((q, 1)),
            }
        }
        let quantized: usize = counts.iter().map(|(_, c)| c).sum();
        (quantized * 2 > self.tensors.len())
            .then(|| counts.into_iter().max_by_key(|&(_, c)| c).map(|(q, _)| q))
            .flatten()
    }
}
