//! A writer of GGUF files (version 3 unless asked otherwise) following the published format:
//! the header, key-value metadata, tensor infos with dimensions innermost first, the data
//! section at the file's alignment with each tensor padded to it. Quantisers for Q8_0 and Q4_K
//! follow ggml's block layouts (`block_q8_0`, `block_q4_K`); the Q4_K one is simpler than
//! llama.cpp's (no search for the best scales) but writes valid blocks. `llama_permute` is the
//! row permutation llama.cpp's converter applies to Llama's q and k projections.

/// A metadata value.
#[derive(Debug, Clone)]
pub enum Value {
    U32(u32),
    U64(u64),
    F32(f32),
    Bool(bool),
    Str(String),
    StrArray(Vec<String>),
    I32Array(Vec<i32>),
}

impl Value {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::U32(v) => {
                out.extend(4u32.to_le_bytes());
                out.extend(v.to_le_bytes());
            }
            Self::U64(v) => {
                out.extend(10u32.to_le_bytes());
                out.extend(v.to_le_bytes());
            }
            Self::F32(v) => {
                out.extend(6u32.to_le_bytes());
                out.extend(v.to_le_bytes());
            }
            Self::Bool(v) => {
                out.extend(7u32.to_le_bytes());
                out.push(u8::from(*v));
            }
            Self::Str(s) => {
                out.extend(8u32.to_le_bytes());
                string(out, s);
            }
            Self::StrArray(items) => {
                out.extend(9u32.to_le_bytes());
                out.extend(8u32.to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                for item in items {
                    string(out, item);
                }
            }
            Self::I32Array(items) => {
                out.extend(9u32.to_le_bytes());
                out.extend(5u32.to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                for item in items {
                    out.extend(item.to_le_bytes());
                }
            }
        }
    }
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

/// ggml type ids.
pub const F32: u32 = 0;
pub const F16: u32 = 1;
pub const Q4_0: u32 = 2;
pub const Q8_0: u32 = 8;
pub const Q4_K: u32 = 12;
pub const Q6_K: u32 = 14;
pub const IQ2_XS: u32 = 17;

/// One tensor: its GGUF name, dimensions innermost first (`[cols, rows]` for a matrix), ggml
/// type and stored bytes.
#[derive(Debug, Clone)]
pub struct GgufTensor {
    pub name: String,
    pub dims: Vec<u64>,
    pub ggml_type: u32,
    pub data: Vec<u8>,
}

impl GgufTensor {
    /// A matrix of `rows` x `cols` row-major `values`, stored as `ggml_type` (F32, F16, Q8_0,
    /// Q4_K).
    pub fn matrix(name: &str, rows: usize, cols: usize, values: &[f32], ggml_type: u32) -> Self {
        assert_eq!(values.len(), rows * cols);
        let data = match ggml_type {
            F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            F16 => values
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
            Q8_0 => quantize_q8_0(values),
            Q4_K => quantize_q4_k(values),
            other => panic!("the writer does not quantise ggml type {other}"),
        };
        Self {
            name: name.to_string(),
            dims: vec![cols as u64, rows as u64],
            ggml_type,
            data,
        }
    }

    pub fn vector(name: &str, values: &[f32]) -> Self {
        Self {
            name: name.to_string(),
            dims: vec![values.len() as u64],
            ggml_type: F32,
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
}

/// A GGUF file of `version` with `metadata` and `tensors`, aligned to `general.alignment` when
/// the metadata sets it (as a u32), else 32.
pub fn gguf_bytes(version: u32, metadata: &[(&str, Value)], tensors: &[GgufTensor]) -> Vec<u8> {
    let alignment = metadata
        .iter()
        .find_map(|(key, value)| match (key, value) {
            (&"general.alignment", Value::U32(a)) => Some(*a as usize),
            _ => None,
        })
        .unwrap_or(32);
    let mut out = b"GGUF".to_vec();
    out.extend(version.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((metadata.len() as u64).to_le_bytes());
    for (key, value) in metadata {
        string(&mut out, key);
        value.write(&mut out);
    }
    let mut offset = 0usize;
    for tensor in tensors {
        string(&mut out, &tensor.name);
        out.extend((tensor.dims.len() as u32).to_le_bytes());
        for dim in &tensor.dims {
            out.extend(dim.to_le_bytes());
        }
        out.extend(tensor.ggml_type.to_le_bytes());
        out.extend((offset as u64).to_le_bytes());
        offset += tensor.data.len().next_multiple_of(alignment);
    }
    out.resize(out.len().next_multiple_of(alignment), 0);
    for tensor in tensors {
        out.extend(&tensor.data);
        out.resize(out.len().next_multiple_of(alignment), 0);
    }
    out
}

/// The metadata of a small llama model, as llama.cpp's converter writes its core keys.
pub fn llama_metadata(heads: u32, kv_heads: u32) -> Vec<(&'static str, Value)> {
    vec![
        ("general.architecture", Value::Str("llama".into())),
        ("general.name", Value::Str("tiny".into())),
        ("general.file_type", Value::U32(7)),
        ("llama.attention.head_count", Value::U32(heads)),
        ("llama.attention.head_count_kv", Value::U32(kv_heads)),
        ("llama.rope.freq_base", Value::F32(10000.0)),
        (
            "tokenizer.ggml.tokens",
            Value::StrArray(vec!["<s>".into(), "</s>".into(), "hi".into()]),
        ),
        ("tokenizer.ggml.token_type", Value::I32Array(vec![3, 3, 1])),
        ("tokenizer.ggml.add_bos_token", Value::Bool(true)),
    ]
}

fn f16_bytes(value: f32) -> [u8; 2] {
    half::f16::from_f32(value).to_le_bytes()
}

/// Q8_0: blocks of 32 values as `d: f16` (max |x| / 127) and 32 signed bytes round(x / d).
pub fn quantize_q8_0(values: &[f32]) -> Vec<u8> {
    assert_eq!(values.len() % 32, 0);
    let mut out = Vec::with_capacity(values.len() / 32 * 34);
    for block in values.chunks_exact(32) {
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let inverse = if d > 0.0 { 1.0 / d } else { 0.0 };
        out.extend(f16_bytes(d));
        out.extend(block.iter().map(|v| (v * inverse).round() as i8 as u8));
    }
    out
}

/// Q4_K: super-blocks of 256 values in eight sub-blocks of 32, each value
/// `d * scale_j * q - dmin * min_j` with 4-bit `q`, 6-bit `scale_j` and `min_j`, and the
/// super-block's `d` and `dmin` as f16.
pub fn quantize_q4_k(values: &[f32]) -> Vec<u8> {
    assert_eq!(values.len() % 256, 0);
    let mut out = Vec::with_capacity(values.len() / 256 * 144);
    for block in values.chunks_exact(256) {
        // Per sub-block: the offset that makes every value non-negative, and the step.
        let subs: Vec<(f32, f32)> = block
            .chunks_exact(32)
            .map(|sub| {
                let low = sub.iter().fold(f32::INFINITY, |m, &v| m.min(v)).min(0.0);
                let high = sub.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                ((high - low) / 15.0, -low)
            })
            .collect();
        let max_step = subs.iter().fold(0f32, |m, s| m.max(s.0));
        let max_min = subs.iter().fold(0f32, |m, s| m.max(s.1));
        let d = half::f16::from_f32(max_step / 63.0).to_f32();
        let dmin = half::f16::from_f32(max_min / 63.0).to_f32();
        let quantized: Vec<(u8, u8)> = subs
            .iter()
            .map(|&(step, min)| {
                let scale = if d > 0.0 {
                    (step / d).ceil().min(63.0)
                } else {
                    0.0
                };
                let min = if dmin > 0.0 {
                    (min / dmin).ceil().min(63.0)
                } else {
                    0.0
                };
                (scale as u8, min as u8)
            })
            .collect();
        let mut scales = [0u8; 12];
        for (j, &(scale, min)) in quantized.iter().enumerate() {
            if j < 4 {
                scales[j] |= scale;
                scales[j + 4] |= min;
            } else {
                scales[j + 4] = (scale & 0x0f) | ((min & 0x0f) << 4);
                scales[j - 4] |= (scale >> 4) << 6;
                scales[j] |= (min >> 4) << 6;
            }
        }
        let q: Vec<u8> = block
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let (scale, min) = quantized[i / 32];
                let step = d * f32::from(scale);
                if step == 0.0 {
                    return 0;
                }
                ((v + dmin * f32::from(min)) / step)
                    .round()
                    .clamp(0.0, 15.0) as u8
            })
            .collect();
        out.extend(f16_bytes(d));
        out.extend(f16_bytes(dmin));
        out.extend(scales);
        for pair in 0..4 {
            for l in 0..32 {
                out.push(q[64 * pair + l] | (q[64 * pair + 32 + l] << 4));
            }
        }
    }
    out
}

/// The permutation llama.cpp's converter applies to a Llama q or k weight of `rows` x `cols`
/// with `heads` heads: `w.reshape(heads, 2, rows / heads / 2, cols).swapaxes(1, 2)`, so row
/// `h * D + s * D / 2 + i` of the original (head dim D) is stored as row `h * D + 2i + s`.
pub fn llama_permute(values: &[f32], rows: usize, cols: usize, heads: usize) -> Vec<f32> {
    let head_dim = rows / heads;
    let half = head_dim / 2;
    let mut out = vec![0.0; values.len()];
    for h in 0..heads {
        for s in 0..2 {
            for i in 0..half {
                let original = h * head_dim + s * half + i;
                let stored = h * head_dim + 2 * i + s;
                out[stored * cols..(stored + 1) * cols]
                    .copy_from_slice(&values[original * cols..(original + 1) * cols]);
            }
        }
    }
    out
}
