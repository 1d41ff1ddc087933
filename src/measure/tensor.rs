//! The fused per-tensor pass: every chunk of stored bytes is hashed, decoded once, and then
//! feeds the moments, the sum of squares, the int8-grid sample and the sketch while it is
//! still in cache.
//!
//! NaN and infinite values are counted in `non_finite` and left out of the moments, the sum of
//! squares and the sketch (they enter the sketch as zeros), so one bad value does not turn every
//! statistic of the tensor into NaN; the count tells the user the tensor is damaged.

use super::grid::GridSampler;
use super::moments::{ShiftedSums, sum_and_sum_sq};
use super::sketch::{SketchBuilder, head_rows};
use super::{Moments, RoundedHashes, TensorFingerprint, TensorHead};
use crate::weights::{FloatDtype, Quantization};
use std::hash::Hasher;
use twox_hash::XxHash3_64;

/// Values decoded and summed at a time: 16 KB of f32, so every pass over a block runs in the
/// core's L1 cache.
const BLOCK_VALUES: usize = 4096;

/// 16-bit patterns as the little-endian bytes a file stores them as.
#[cfg(target_endian = "little")]
fn little_endian_bytes(halves: &[u16]) -> &[u8] {
    bytemuck::cast_slice(halves)
}

#[cfg(target_endian = "big")]
fn little_endian_bytes(halves: &[u16]) -> &[u8] {
    compile_error!("mother reads little-endian files on little-endian machines only")
}

/// Accumulates the fingerprint of one 2-D tensor from its chunks, in order.
pub struct TensorAccumulator {
    dtype: FloatDtype,
    /// The quantisation the values were rebuilt from ([`Self::quantized_from`]).
    quantized: Option<Quantization>,
    moments: Moments,
    sum_sq: f64,
    non_finite: u64,
    hasher: XxHash3_64,
    /// Hash the values as casts to BF16 and F16 would store them (for dtypes finer than those).
    bf16_hasher: Option<XxHash3_64>,
    f16_hasher: Option<XxHash3_64>,
    /// The current block as bit patterns of a coarser precision, for those hashes.
    halves: Vec<u16>,
    grid: GridSampler,
    sketch: SketchBuilder,
    /// Flat index of the next value.
    position: usize,
    /// Decoded values of the current block.
    values: Vec<f32>,
    /// The current block widened to f64, for the moments.
    wide: Vec<f64>,
    /// The current block with non-finite values replaced by zeros (only when it has some).
    zeroed: Vec<f32>,
    /// Rows of the head ([`head_rows`]) and the flat index where it ends; the moments and sum
    /// of squares once the values reach it.
    head: Option<(usize, usize)>,
    head_stats: Option<(Moments, f64)>,
}

impl TensorAccumulator {
    pub fn new(dtype: FloatDtype, rows: usize, cols: usize) -> Self {
        Self {
            dtype,
            quantized: None,
            moments: Moments::default(),
            sum_sq: 0.0,
            non_finite: 0,
            hasher: XxHash3_64::with_seed(0),
            bf16_hasher: (dtype.mantissa_bits() > FloatDtype::BF16.mantissa_bits())
                .then(|| XxHash3_64::with_seed(0)),
            f16_hasher: (dtype.mantissa_bits() > FloatDtype::F16.mantissa_bits())
                .then(|| XxHash3_64::with_seed(0)),
            halves: Vec::new(),
            grid: GridSampler::new(rows, cols),
            sketch: SketchBuilder::new(rows, cols),
            position: 0,
            values: Vec::new(),
            wide: Vec::new(),
            zeroed: Vec::new(),
            head: head_rows(rows, cols).map(|head| (head, head * cols)),
            head_stats: None,
        }
    }

    /// For values dequantised elsewhere (a GGUF block type, a packed layer): the fingerprint
    /// names the quantisation. Feed such a tensor with [`Self::hash_stored`] and
    /// [`Self::push_values`].
    pub fn quantized_from(mut self, quantized: Quantization) -> Self {
        self.quantized = Some(quantized);
        self
    }

    /// Adds the next chunk of stored bytes to the content hash only (the values come through
    /// [`Self::push_values`]). The hash is always of the stored bytes, whatever the format.
    pub fn hash_stored(&mut self, bytes: &[u8]) {
        self.hasher.write(bytes);
    }

    /// Adds the next chunk of stored bytes (whole elements).
    #[allow(unsafe_code)] // the AVX2 build of the same code, after the run-time check
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        self.hash_stored(bytes);
        #[cfg(target_arch = "x86_64")]
        if crate::simd::avx2() {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { self.push_stored_avx2(bytes) };
            return;
        }
        self.push_stored(bytes);
    }

    /// The same code as [`Self::push_stored`], compiled for AVX2 (4 f64 per register instead
    /// of 2). Rust never fuses multiply-adds on its own, and the lanes fix the order of every
    /// sum, so both versions give the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn push_stored_avx2(&mut self, bytes: &[u8]) {
        self.push_stored(bytes);
    }

    /// Decodes `bytes` block by block and feeds each block to every statistic.
    #[inline(always)]
    fn push_stored(&mut self, bytes: &[u8]) {
        let mut values = std::mem::take(&mut self.values);
        for block in bytes.chunks(BLOCK_VALUES * self.dtype.size()) {
            self.dtype.decode_into(block, &mut values);
            self.push_values(&values);
        }
        self.values = values;
    }

    /// Adds the next decoded values.
    ///
    /// Moments: one pass of power sums around the running mean ([`ShiftedSums`]), which for
    /// weights is always close to the new block's mean. The first block of a tensor, a block
    /// whose mean has moved away (a tensor whose halves differ a lot), and a block holding NaN or
    /// infinity take the two-pass way around the block's own mean instead.
    #[inline(always)]
    pub fn push_values(&mut self, values: &[f32]) {
        let Some((_, end)) = self.head else {
            self.push_block(values);
            return;
        };
        if self.position < end && self.position + values.len() > end {
            // The head ends inside this piece: its statistics are taken at the boundary.
            let (first, rest) = values.split_at(end - self.position);
            self.push_values(first);
            self.push_values(rest);
            return;
        }
        self.push_block(values);
        if self.position == end && self.head_stats.is_none() {
            self.head_stats = Some((self.moments, self.sum_sq));
        }
    }

    #[inline(always)]
    fn push_block(&mut self, values: &[f32]) {
        if values.is_empty() {
            return;
        }
        self.grid.push(self.position, values);
        self.position += values.len();
        for (hasher, precision) in [
            (&mut self.bf16_hasher, FloatDtype::BF16),
            (&mut self.f16_hasher, FloatDtype::F16),
        ] {
            if let Some(hasher) = hasher {
                // Resized, never cleared: a block of the usual size costs no zeroing.
                self.halves.resize(values.len(), 0);
                precision.round_to_half(values, &mut self.halves);
                hasher.write(little_endian_bytes(&self.halves));
            }
        }
        if self.moments.count > 0 {
            let sums = ShiftedSums::of(values, self.moments.mean);
            if let Some(chunk) = sums.to_moments() {
                self.moments = self.moments.merge(&chunk);
                self.sum_sq += sums.sum_sq();
                self.sketch.push(values);
                return;
            }
        }
        let mut wide = std::mem::take(&mut self.wide);
        wide.clear();
        wide.extend(values.iter().map(|&v| v as f64));
        let (sum, sum_sq) = sum_and_sum_sq(&wide);
        if sum.is_finite() && sum_sq.is_finite() {
            let chunk = Moments::around_mean(&wide, sum / wide.len() as f64);
            self.moments = self.moments.merge(&chunk);
            self.sum_sq += sum_sq;
            self.sketch.push(values);
        } else {
            self.push_with_non_finite(values, &mut wide);
        }
        self.wide = wide;
    }

    /// The rare path: a block holding NaN or infinity. `wide` is scratch space.
    fn push_with_non_finite(&mut self, values: &[f32], wide: &mut Vec<f64>) {
        wide.clear();
        wide.extend(values.iter().filter(|v| v.is_finite()).map(|&v| v as f64));
        self.non_finite += (values.len() - wide.len()) as u64;
        if !wide.is_empty() {
            let (sum, sum_sq) = sum_and_sum_sq(wide);
            let chunk = Moments::around_mean(wide, sum / wide.len() as f64);
            self.moments = self.moments.merge(&chunk);
            self.sum_sq += sum_sq;
        }
        let mut zeroed = std::mem::take(&mut self.zeroed);
        zeroed.clear();
        zeroed.extend(values.iter().map(|&v| if v.is_finite() { v } else { 0.0 }));
        self.sketch.push(&zeroed);
        self.zeroed = zeroed;
    }

    pub fn finish(self, name: &str, shape: &[usize]) -> TensorFingerprint {
        let (sketch, head_sketch) = self.sketch.finish_with_head();
        let head = match (self.head, self.head_stats, head_sketch) {
            (Some((rows, _)), Some((moments, sum_sq)), Some(sketch)) => Some(TensorHead {
                rows,
                moments,
                sum_sq,
                sketch,
            }),
            _ => None,
        };
        TensorFingerprint {
            name: name.to_string(),
            shape: shape.to_vec(),
            dtype: self.dtype,
            quantized: self.quantized,
            moments: self.moments,
            sum_sq: self.sum_sq,
            content_hash: self.hasher.finish(),
            rounded: RoundedHashes {
                bf16: self.bf16_hasher.map(|h| h.finish()),
                f16: self.f16_hasher.map(|h| h.finish()),
            },
            on_int8_grid: self.grid.on_grid(self.dtype),
            non_finite: self.non_finite,
            sketch,
            head,
        }
    }
}
