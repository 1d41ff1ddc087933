//! Element types of stored tensors: their sizes and precisions, decoding of the floating-point
//! ones into f32, and rounding f32 values into them (nearest, ties to even, as torch and numpy
//! cast). The names are the safetensors ones (`F32`, `BF16`, `I64`, ...); the torch and GGUF
//! readers map their own types onto them, and GGUF's block-quantised types get a variant of
//! their own.

use super::gguf::QuantType;
use super::packed::PackedScheme;

/// A stored element type that mother knows the size of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// A floating-point dtype whose values are read for statistics.
    Float(FloatDtype),
    /// A GGUF block-quantised type whose values are dequantised for statistics. Never parsed
    /// from a safetensors header.
    Quantized(QuantType),
    /// Any other known dtype (integers, BOOL, 8-bit and smaller floats): counted, never decoded.
    Other { name: &'static str, bits: u64 },
}

/// The floating-point dtypes that are decoded.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum FloatDtype {
    F64,
    F32,
    F16,
    BF16,
}

/// Known dtypes that are not decoded, with their width in bits.
const OTHER_DTYPES: &[(&str, u64)] = &[
    ("BOOL", 8),
    ("U8", 8),
    ("I8", 8),
    ("F8_E4M3", 8),
    ("F8_E5M2", 8),
    ("F8_E8M0", 8),
    ("I16", 16),
    ("U16", 16),
    ("I32", 32),
    ("U32", 32),
    ("I64", 64),
    ("U64", 64),
    ("C64", 64),
    ("F4", 4),
    ("F6_E2M3", 6),
    ("F6_E3M2", 6),
];

impl Dtype {
    /// The dtype for a header's `dtype` string, `None` when it is not a known one.
    pub fn parse(name: &str) -> Option<Self> {
        let float = match name {
            "F64" => Some(FloatDtype::F64),
            "F32" => Some(FloatDtype::F32),
            "F16" => Some(FloatDtype::F16),
            "BF16" => Some(FloatDtype::BF16),
            _ => None,
        };
        if let Some(float) = float {
            return Some(Self::Float(float));
        }
        OTHER_DTYPES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|&(name, bits)| Self::Other { name, bits })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Float(float) => float.name(),
            Self::Quantized(quant) => quant.name(),
            Self::Other { name, .. } => name,
        }
    }

    /// Bits that `numel` elements take (sub-byte dtypes such as F4 pack several per byte);
    /// `None` when that overflows, or for a block type when `numel` is not whole blocks.
    pub fn bits_for(&self, numel: u64) -> Option<u64> {
        match self {
            Self::Float(float) => numel.checked_mul(float.size() as u64 * 8),
            Self::Quantized(quant) => {
                let block = quant.block_len() as u64;
                numel
                    .is_multiple_of(block)
                    .then(|| (numel / block).checked_mul(quant.block_bytes() as u64 * 8))
                    .flatten()
            }
            Self::Other { bits, .. } => numel.checked_mul(*bits),
        }
    }

    /// Stored floats, read as they are.
    pub fn float(&self) -> Option<FloatDtype> {
        match self {
            Self::Float(float) => Some(*float),
            Self::Quantized(_) | Self::Other { .. } => None,
        }
    }

    /// The precision of the values once decoded, for the types whose values are read: the
    /// stored float type, or F32 for block-quantised types (dequantised in f32).
    pub fn value_dtype(&self) -> Option<FloatDtype> {
        match self {
            Self::Float(float) => Some(*float),
            Self::Quantized(_) => Some(FloatDtype::F32),
            Self::Other { .. } => None,
        }
    }

    /// Bytes that hold a whole number of elements (or blocks): streamed chunks are a multiple.
    pub fn chunk_unit(&self) -> usize {
        match self {
            Self::Quantized(quant) => quant.block_bytes(),
            Self::Float(_) | Self::Other { .. } => 1,
        }
    }
}

/// How a matrix's values were quantised before mother rebuilt them: a GGUF block type, or a
/// quantisation packed into a checkpoint's tensors (GPTQ, AWQ, bitsandbytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Quantization {
    Block(QuantType),
    Packed(PackedScheme),
}

impl Quantization {
    /// `Q8_0`, `GPTQ-4bit`, `bnb-nf4`, ...
    pub fn name(self) -> &'static str {
        match self {
            Self::Block(quant) => quant.name(),
            Self::Packed(scheme) => scheme.name(),
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        QuantType::from_name(name)
            .map(Self::Block)
            .or_else(|| PackedScheme::from_name(name).map(Self::Packed))
    }
}

impl FloatDtype {
    pub fn name(self) -> &'static str {
        match self {
            Self::F64 => "F64",
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::BF16 => "BF16",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::F64 => 8,
            Self::F32 => 4,
            Self::F16 | Self::BF16 => 2,
        }
    }

    /// Stored mantissa bits: the one table every precision rule derives from. F64 counts as
    /// F32, because its values are decoded to f32 before anything is measured.
    pub fn mantissa_bits(self) -> i32 {
        match self {
            Self::F64 | Self::F32 => 23,
            Self::F16 => 10,
            Self::BF16 => 7,
        }
    }

    /// The dtype of the two that keeps fewer mantissa bits: two tensors are compared at this
    /// precision, because rounding to it is all a cast between them can do.
    pub fn coarser(self, other: FloatDtype) -> FloatDtype {
        if other.mantissa_bits() < self.mantissa_bits() {
            other
        } else {
            self
        }
    }

    /// Spacing of neighbouring values relative to the leading power of two (2^-mantissa bits).
    pub fn spacing(self) -> f64 {
        f64::powi(2.0, -self.mantissa_bits())
    }

    /// Twice the spacing between neighbouring values relative to their size: how far a value
    /// computed as `k * scale` may land from that product once stored in this dtype and read
    /// back as f32.
    pub fn relative_precision(self) -> f32 {
        2.0 * self.spacing() as f32
    }

    /// Expected energy (sum of squares) of the error that rounding values of energy `sum_sq`
    /// into this dtype adds. A value in [2^e, 2^(e+1)) errs uniformly within half a spacing
    /// 2^(e - m), variance spacing^2 / 12; over mantissas spread as real weights are, the
    /// energy-weighted mean of (spacing / value)^2 is about 2^-2m / 2, hence 2^-2m / 24 of the
    /// energy (on real BERT matrices BF16 rounding measured 1.66e-3 relative RMS; this gives
    /// 1.6e-3). Zero for F32 and F64, whose rounding lies far below any fine-tune.
    pub fn rounding_energy(self, sum_sq: f64) -> f64 {
        match self {
            Self::F64 | Self::F32 => 0.0,
            Self::F16 | Self::BF16 => sum_sq * self.spacing().powi(2) / 24.0,
        }
    }

    /// Decodes little-endian stored values into `out` (cleared first). F64 values are rounded to
    /// f32, which is ample for weight statistics; a trailing partial element is ignored, the
    /// caller hands whole elements.
    #[inline(always)]
    #[allow(unsafe_code)] // the F16C decoder, after the run-time check
    pub fn decode_into(self, bytes: &[u8], out: &mut Vec<f32>) {
        out.clear();
        match self {
            Self::F32 => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            ),
            Self::BF16 => out.extend(
                bytes
                    .chunks_exact(2)
                    .map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16)),
            ),
            Self::F16 => {
                #[cfg(target_arch = "x86_64")]
                if crate::simd::f16c() {
                    // SAFETY: the CPU supports F16C, checked just above.
                    unsafe { decode_f16_f16c(bytes, out) };
                    return;
                }
                extend_f16(bytes, out);
            }
            Self::F64 => out.extend(bytes.chunks_exact(8).map(|b| {
                f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
            })),
        }
    }
}

impl FloatDtype {
    /// Appends `values` rounded to this dtype as little-endian stored bytes: the bytes a cast
    /// to this dtype would write (nearest, ties to even; NaN stays NaN). F64 widens exactly.
    #[inline(always)]
    #[allow(unsafe_code)] // the F16C encoder, after the run-time check
    pub fn encode_into(self, values: &[f32], out: &mut Vec<u8>) {
        match self {
            Self::F32 => out.extend(values.iter().flat_map(|v| v.to_le_bytes())),
            Self::F64 => out.extend(values.iter().flat_map(|&v| f64::from(v).to_le_bytes())),
            Self::BF16 => {
                // Sized first and written in place: a loop the compiler turns into vector code
                // (an iterator chain through `extend` was half the fingerprint pass of an F32
                // model).
                let start = out.len();
                out.resize(start + 2 * values.len(), 0);
                for (pair, &v) in out[start..].chunks_exact_mut(2).zip(values) {
                    let bits = bf16_bits(v);
                    pair[0] = bits as u8;
                    pair[1] = (bits >> 8) as u8;
                }
            }
            Self::F16 => {
                #[cfg(target_arch = "x86_64")]
                if crate::simd::f16c() {
                    // SAFETY: the CPU supports F16C, checked just above.
                    unsafe { encode_f16_f16c(values, out) };
                    return;
                }
                encode_f16(values, out);
            }
        }
    }
}

impl FloatDtype {
    /// Writes `values` rounded to this 16-bit dtype as bit patterns into `out` (one per value):
    /// the in-place form of [`FloatDtype::encode_into`] for the fingerprint pass, which hashes
    /// them as little-endian bytes. `None` for F32 and F64.
    #[inline(always)]
    #[allow(unsafe_code)] // the F16C rounding, after the run-time check
    pub fn round_to_half(self, values: &[f32], out: &mut [u16]) -> Option<()> {
        debug_assert_eq!(values.len(), out.len());
        match self {
            Self::BF16 => {
                for (o, &v) in out.iter_mut().zip(values) {
                    *o = bf16_bits(v);
                }
            }
            Self::F16 => {
                #[cfg(target_arch = "x86_64")]
                if crate::simd::f16c() {
                    // SAFETY: the CPU supports F16C, checked just above.
                    unsafe { round_f16_f16c(values, out) };
                    return Some(());
                }
                for (o, &v) in out.iter_mut().zip(values) {
                    *o = half::f16::from_f32(v).to_bits();
                }
            }
            Self::F32 | Self::F64 => return None,
        }
        Some(())
    }
}

/// f32 to F16 bit patterns eight at a time with F16C, nearest with ties to even.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
#[allow(unsafe_code)] // F16C intrinsics; callers check crate::simd::f16c first
fn round_f16_f16c(values: &[f32], out: &mut [u16]) {
    use std::arch::x86_64::{
        _MM_FROUND_TO_NEAREST_INT, _mm_storeu_si128, _mm256_cvtps_ph, _mm256_loadu_ps,
    };
    let blocks = values.chunks_exact(8);
    let tail = blocks.remainder();
    let whole = values.len() - tail.len();
    for (eight, halves) in blocks.zip(out.chunks_exact_mut(8)) {
        // SAFETY: `eight` holds eight f32 and `halves` eight u16, both accessed unaligned.
        unsafe {
            let narrow =
                _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_loadu_ps(eight.as_ptr()));
            _mm_storeu_si128(halves.as_mut_ptr().cast(), narrow);
        }
    }
    for (o, &v) in out[whole..].iter_mut().zip(tail) {
        *o = half::f16::from_f32(v).to_bits();
    }
}

/// The bf16 bit pattern nearest to `value`, ties to even (what `half::bf16::from_f32`, torch and
/// numpy's ml_dtypes give), written as integer steps so that the loop vectorises.
#[inline(always)]
pub fn bf16_bits(value: f32) -> u16 {
    let bits = value.to_bits();
    let rounded = (bits.wrapping_add(0x7fff + ((bits >> 16) & 1))) >> 16;
    // NaN keeps its sign and a mantissa bit that survives the shift; a select, not a branch.
    let quiet = (bits >> 16) | 0x0040;
    let nan = (bits & 0x7fff_ffff) > 0x7f80_0000;
    (if nan { quiet } else { rounded }) as u16
}

/// Appends F16 encodings of `values`, one at a time (the portable twin of the F16C path).
pub fn encode_f16(values: &[f32], out: &mut Vec<u8>) {
    out.extend(
        values
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_bits().to_le_bytes()),
    );
}

/// f32 to F16 eight values at a time with F16C, rounding to nearest even: the same bits as
/// `half::f16::from_f32`, which a test checks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
#[allow(unsafe_code)] // F16C intrinsics; callers check crate::simd::f16c first
fn encode_f16_f16c(values: &[f32], out: &mut Vec<u8>) {
    use std::arch::x86_64::{
        _MM_FROUND_TO_NEAREST_INT, _mm_storeu_si128, _mm256_cvtps_ph, _mm256_loadu_ps,
    };
    let blocks = values.chunks_exact(8);
    let tail = blocks.remainder();
    let start = out.len();
    out.resize(start + 2 * (values.len() - tail.len()), 0);
    for (eight, halves) in blocks.zip(out[start..].chunks_exact_mut(16)) {
        // SAFETY: `eight` holds eight f32, read unaligned; `halves` is 16 bytes of `out`, room
        // for eight halves, written unaligned.
        unsafe {
            let wide = _mm256_loadu_ps(eight.as_ptr());
            let narrow = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(wide);
            _mm_storeu_si128(halves.as_mut_ptr().cast(), narrow);
        }
    }
    encode_f16(tail, out);
}

/// F16 to f32 eight values at a time with the F16C instruction (`half` converts one value per
/// call and checks the CPU each time: six times slower than the rest of the pass). Widening a
/// half is exact, so this gives the same values as the portable path.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
#[allow(unsafe_code)] // F16C intrinsics; callers check crate::simd::f16c first
fn decode_f16_f16c(bytes: &[u8], out: &mut Vec<f32>) {
    use std::arch::x86_64::{_mm_loadu_si128, _mm256_cvtph_ps, _mm256_storeu_ps};
    let blocks = bytes.chunks_exact(16);
    let tail = blocks.remainder();
    let whole = bytes.len() / 16 * 8;
    out.reserve(bytes.len() / 2);
    let spare = &mut out.spare_capacity_mut()[..whole];
    for (block, eight) in blocks.zip(spare.chunks_exact_mut(8)) {
        // SAFETY: the block holds 16 bytes (eight halves), read unaligned; `eight` is room for
        // eight f32 in `out`'s spare capacity, written unaligned.
        unsafe {
            let halves = _mm_loadu_si128(block.as_ptr().cast());
            _mm256_storeu_ps(eight.as_mut_ptr().cast(), _mm256_cvtph_ps(halves));
        }
    }
    // SAFETY: the loop above initialised the first `whole` values of the spare capacity.
    unsafe { out.set_len(out.len() + whole) };
    extend_f16(tail, out);
}

/// Appends the F16 values stored in `bytes`, one at a time.
fn extend_f16(bytes: &[u8], out: &mut Vec<f32>) {
    out.extend(
        bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32()),
    );
}
