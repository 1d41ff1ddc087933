//! ggml's tensor types: the size of every type a GGUF file may hold (so the file's layout can
//! be checked whatever it holds), and the dequantisers for the block types mother reads. Block
//! layouts follow ggml's published ones (`ggml-common.h`: `block_q8_0`, `block_q4_K`, ...);
//! every scale is a little-endian f16.

use crate::weights::dtype::{Dtype, FloatDtype};

/// Values in one super-block of the k-quants.
const QK_K: usize = 256;

/// The block-quantised ggml types whose values mother decodes.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum QuantType {
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q4_K,
    Q5_K,
    Q6_K,
}

/// What a ggml type id stands for.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct GgmlType {
    pub name: &'static str,
    /// Values per block (1 for plain element types).
    pub block_len: u64,
    /// Bytes per block.
    pub block_bytes: u64,
    /// How mother treats it; `None` for a known type it does not decode.
    pub dtype: Option<Dtype>,
}

/// Every ggml type id in use (ids 4, 5, 31-33 and 36-38 were removed from ggml and are not
/// valid in a file): name, values per block, bytes per block. Checked against `gguf-py`'s
/// `GGML_QUANT_SIZES`, except Q8_1, which ggml's `block_q8_1` makes 36 bytes (gguf-py still
/// says 40; no file stores it).
const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
    (41, "Q1_0", 128, 18),
];

impl GgmlType {
    /// The type with ggml id `id`, `None` for an id ggml does not define.
    pub fn from_id(id: u32) -> Option<Self> {
        let &(_, name, block_len, block_bytes) = GGML_TYPES.iter().find(|t| t.0 == id)?;
        let dtype = match name {
            "F32" => Some(Dtype::Float(FloatDtype::F32)),
            "F16" => Some(Dtype::Float(FloatDtype::F16)),
            "BF16" => Some(Dtype::Float(FloatDtype::BF16)),
            "F64" => Some(Dtype::Float(FloatDtype::F64)),
            "I8" | "I16" | "I32" | "I64" => Dtype::parse(name),
            _ => QuantType::from_name(name).map(Dtype::Quantized),
        };
        Some(Self {
            name,
            block_len,
            block_bytes,
            dtype,
        })
    }
}

impl QuantType {
    pub const ALL: [QuantType; 8] = [
        Self::Q4_0,
        Self::Q4_1,
        Self::Q5_0,
        Self::Q5_1,
        Self::Q8_0,
        Self::Q4_K,
        Self::Q5_K,
        Self::Q6_K,
    ];

    /// The type named `name` (`"Q4_K"`), `None` for any other name: also tells whether a
    /// fingerprint's dtype is a quantised one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Q4_0 => "Q4_0",
            Self::Q4_1 => "Q4_1",
            Self::Q5_0 => "Q5_0",
            Self::Q5_1 => "Q5_1",
            Self::Q8_0 => "Q8_0",
            Self::Q4_K => "Q4_K",
            Self::Q5_K => "Q5_K",
            Self::Q6_K => "Q6_K",
        }
    }

    /// Values per block.
    pub fn block_len(self) -> usize {
        match self {
            Self::Q4_0 | Self::Q4_1 | Self::Q5_0 | Self::Q5_1 | Self::Q8_0 => 32,
            Self::Q4_K | Self::Q5_K | Self::Q6_K => QK_K,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q5_0 => 22,
            Self::Q5_1 => 24,
            Self::Q8_0 => 34,
            Self::Q4_K => 144,
            Self::Q5_K => 176,
            Self::Q6_K => 210,
        }
    }

    /// Decodes the whole blocks in `bytes` into `out` (cleared first); a trailing partial block
    /// is ignored, the caller hands whole blocks.
    pub fn dequantize_into(self, bytes: &[u8], out: &mut Vec<f32>) {
        out.clear();
        let blocks = bytes.chunks_exact(self.block_bytes());
        out.resize(blocks.len() * self.block_len(), 0.0);
        for (block, values) in blocks.zip(out.chunks_exact_mut(self.block_len())) {
            match self {
                Self::Q4_0 => q4_0(block, values),
                Self::Q4_1 => q4_1(block, values),
                Self::Q5_0 => q5_0(block, values),
                Self::Q5_1 => q5_1(block, values),
                Self::Q8_0 => q8_0(block, values),
                Self::Q4_K => q4_k(block, values),
                Self::Q5_K => q5_k(block, values),
                Self::Q6_K => q6_k(block, values),
            }
        }
    }
}

fn f16_at(bytes: &[u8], at: usize) -> f32 {
    half::f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]])).to_f32()
}

/// `d: f16, qs: [i8; 32]`: value = d * q.
fn q8_0(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    for (value, &q) in out.iter_mut().zip(&block[2..34]) {
        *value = d * f32::from(q as i8);
    }
}

/// `d: f16, qs: [u8; 16]`: value j is the low nibble of byte j, value j + 16 the high one,
/// each minus 8, times d.
fn q4_0(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    for (j, &byte) in block[2..18].iter().enumerate() {
        out[j] = d * (i32::from(byte & 0x0f) - 8) as f32;
        out[j + 16] = d * (i32::from(byte >> 4) - 8) as f32;
    }
}

/// `d: f16, m: f16, qs: [u8; 16]`: value = d * nibble + m.
fn q4_1(block: &[u8], out: &mut [f32]) {
    let (d, m) = (f16_at(block, 0), f16_at(block, 2));
    for (j, &byte) in block[4..20].iter().enumerate() {
        out[j] = d * f32::from(byte & 0x0f) + m;
        out[j + 16] = d * f32::from(byte >> 4) + m;
    }
}

/// The fifth bits of a Q5 block: bit j of `qh` for value j, bit j + 16 for value j + 16.
fn fifth_bits(qh: u32, j: usize) -> (u8, u8) {
    (
        ((qh >> j) & 1) as u8 * 16,
        ((qh >> (j + 16)) & 1) as u8 * 16,
    )
}

/// `d: f16, qh: u32, qs: [u8; 16]`: value = d * (nibble | fifth bit << 4) - 16 * d.
fn q5_0(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    let qh = u32::from_le_bytes([block[2], block[3], block[4], block[5]]);
    for (j, &byte) in block[6..22].iter().enumerate() {
        let (high0, high1) = fifth_bits(qh, j);
        out[j] = d * (i32::from((byte & 0x0f) | high0) - 16) as f32;
        out[j + 16] = d * (i32::from((byte >> 4) | high1) - 16) as f32;
    }
}

/// `d: f16, m: f16, qh: u32, qs: [u8; 16]`: value = d * (nibble | fifth bit << 4) + m.
fn q5_1(block: &[u8], out: &mut [f32]) {
    let (d, m) = (f16_at(block, 0), f16_at(block, 2));
    let qh = u32::from_le_bytes([block[4], block[5], block[6], block[7]]);
    for (j, &byte) in block[8..24].iter().enumerate() {
        let (high0, high1) = fifth_bits(qh, j);
        out[j] = d * f32::from((byte & 0x0f) | high0) + m;
        out[j + 16] = d * f32::from((byte >> 4) | high1) + m;
    }
}

/// The 6-bit scale and min of sub-block `j` (0..8) of a Q4_K or Q5_K block, packed in 12
/// bytes: sub-blocks 0-3 in the low six bits of bytes 0-3 (scales) and 4-7 (mins); sub-blocks
/// 4-7 in the nibbles of bytes 8-11 with their top two bits in the top bits of bytes 0-7.
fn scale_min_k4(j: usize, scales: &[u8]) -> (f32, f32) {
    let (scale, min) = if j < 4 {
        (scales[j] & 63, scales[j + 4] & 63)
    } else {
        (
            (scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4),
            (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4),
        )
    };
    (f32::from(scale), f32::from(min))
}

/// `d: f16, dmin: f16, scales: [u8; 12], qs: [u8; 128]`: eight sub-blocks of 32; each run of
/// 32 bytes of `qs` holds two sub-blocks (low nibbles, then high nibbles);
/// value = d * scale * q - dmin * min.
fn q4_k(block: &[u8], out: &mut [f32]) {
    let (d, dmin) = (f16_at(block, 0), f16_at(block, 2));
    let scales = &block[4..16];
    let qs = &block[16..144];
    for pair in 0..4 {
        let (scale_lo, min_lo) = scale_min_k4(2 * pair, scales);
        let (scale_hi, min_hi) = scale_min_k4(2 * pair + 1, scales);
        let (d_lo, m_lo) = (d * scale_lo, dmin * min_lo);
        let (d_hi, m_hi) = (d * scale_hi, dmin * min_hi);
        let bytes = &qs[32 * pair..32 * pair + 32];
        let values = &mut out[64 * pair..64 * pair + 64];
        for (l, &byte) in bytes.iter().enumerate() {
            values[l] = d_lo * f32::from(byte & 0x0f) - m_lo;
            values[l + 32] = d_hi * f32::from(byte >> 4) - m_hi;
        }
    }
}

/// `d: f16, dmin: f16, scales: [u8; 12], qh: [u8; 32], qs: [u8; 128]`: as Q4_K, with a fifth
/// bit per value from `qh` (bit 2k of byte l for the low nibbles of pair k, bit 2k + 1 for the
/// high ones).
fn q5_k(block: &[u8], out: &mut [f32]) {
    let (d, dmin) = (f16_at(block, 0), f16_at(block, 2));
    let scales = &block[4..16];
    let qh = &block[16..48];
    let qs = &block[48..176];
    for pair in 0..4 {
        let (scale_lo, min_lo) = scale_min_k4(2 * pair, scales);
        let (scale_hi, min_hi) = scale_min_k4(2 * pair + 1, scales);
        let (d_lo, m_lo) = (d * scale_lo, dmin * min_lo);
        let (d_hi, m_hi) = (d * scale_hi, dmin * min_hi);
        let bytes = &qs[32 * pair..32 * pair + 32];
        let values = &mut out[64 * pair..64 * pair + 64];
        for (l, &byte) in bytes.iter().enumerate() {
            let high_lo = ((qh[l] >> (2 * pair)) & 1) * 16;
            let high_hi = ((qh[l] >> (2 * pair + 1)) & 1) * 16;
            values[l] = d_lo * f32::from((byte & 0x0f) + high_lo) - m_lo;
            values[l + 32] = d_hi * f32::from((byte >> 4) + high_hi) - m_hi;
        }
    }
}

/// `ql: [u8; 128], qh: [u8; 64], scales: [i8; 16], d: f16`: two halves of 128 values; in each,
/// value l + 32k (k = 0..4) takes its low four bits from `ql` (byte l or l + 32, low or high
/// nibble) and its top two bits from bits 2k..2k+2 of `qh[l]`, minus 32, times d and the
/// scale of its run of 16.
fn q6_k(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 208);
    for half in 0..2 {
        let ql = &block[64 * half..64 * half + 64];
        let qh = &block[128 + 32 * half..128 + 32 * half + 32];
        let scales = &block[192 + 8 * half..192 + 8 * half + 8];
        let values = &mut out[128 * half..128 * half + 128];
        for l in 0..32 {
            let run = l / 16;
            let quants = [
                (ql[l] & 0x0f) | ((qh[l] & 3) << 4),
                (ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4),
                (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4),
                (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4),
            ];
            for (k, q) in quants.into_iter().enumerate() {
                let scale = f32::from(scales[run + 2 * k] as i8);
                values[l + 32 * k] = d * scale * (i32::from(q) - 32) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_table_agrees_with_the_decoders() {
        for quant in QuantType::ALL {
            let id = GGML_TYPES
                .iter()
                .find(|t| t.1 == quant.name())
                .expect("listed")
                .0;
            let ggml = GgmlType::from_id(id).expect("known");
            assert_eq!(ggml.block_len, quant.block_len() as u64);
            assert_eq!(ggml.block_bytes, quant.block_bytes() as u64);
            assert_eq!(ggml.dtype, Some(Dtype::Quantized(quant)));
        }
        assert_eq!(GgmlType::from_id(4), None, "Q4_2 was removed from ggml");
        assert_eq!(GgmlType::from_id(42), None);
        assert_eq!(GgmlType::from_id(16).expect("IQ2_XXS").dtype, None);
    }

    #[test]
    fn k_quant_scales_unpack_as_packed() {
        // Sub-block j < 4: low six bits of bytes j (scale) and j + 4 (min). Sub-block j >= 4:
        // nibbles of byte j + 4, top bits from bytes j - 4 (scale) and j (min).
        let mut scales = [0u8; 12];
        for j in 0..8 {
            let (scale, min) = (j as u8 * 7 + 1, 63 - j as u8 * 5);
            if j < 4 {
                scales[j] |= scale;
                scales[j + 4] |= min;
            } else {
                scales[j + 4] = (scale & 0x0f) | ((min & 0x0f) << 4);
                scales[j - 4] |= (scale >> 4) << 6;
                scales[j] |= (min >> 4) << 6;
            }
        }
        for j in 0..8 {
            let expected = (f32::from(j as u8 * 7 + 1), f32::from(63 - j as u8 * 5));
            assert_eq!(scale_min_k4(j, &scales), expected, "sub-block {j}");
        }
    }
}
