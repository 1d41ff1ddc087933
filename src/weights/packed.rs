//! Quantisations packed into the ordinary tensors of a checkpoint (safetensors, or a pickle):
//! one linear layer's matrix stored as integer codes beside the scales that turn them back into
//! values. Each recognised layer is rebuilt, row by row of the original `[out, in]` matrix, so
//! a quantised checkpoint is measured under the same name and shape as the model it was made
//! from and hangs under it as a quantised copy.
//!
//! The layouts, as the libraries that write them document and implement them:
//! - **GPTQ** (AutoGPTQ, GPTQModel, optimum): `P.qweight` I32 `[in * bits / 32, out]`, the codes
//!   of consecutive input rows packed from the low bits up; `P.qzeros` I32
//!   `[groups, out * bits / 32]`, packed the same way along the outputs and stored minus one;
//!   `P.scales` `[groups, out]`; `P.g_idx` I32 `[in]`, the group of every input row (rows in
//!   order when absent). Value = scale * (code - (zero + 1)). 2, 4 and 8 bits are read; 3-bit
//!   codes straddle words and are listed with the reason.
//! - **AWQ** (AutoAWQ, GEMM layout): `P.qweight` I32 `[in, out / 8]`, eight 4-bit output codes
//!   per word in the order 0, 2, 4, 6, 1, 3, 5, 7; `P.qzeros` I32 `[groups, out / 8]` likewise;
//!   `P.scales` `[groups, out]`. Value = scale * (code - zero).
//! - **bitsandbytes int8** (LLM.int8): `P.weight` I8 `[out, in]` and `P.SCB` F32 `[out]`, the
//!   absolute maximum of every row. Value = code * SCB / 127.
//! - **bitsandbytes 4-bit** (NF4, FP4): `P.weight` U8 `[n / 2, 1]`, two codes per byte, the
//!   first in the high nibble; `P.weight.absmax` one scale per block of `blocksize` values (or,
//!   with double quantisation, U8 codes into `P.weight.nested_quant_map` scaled per block of
//!   `nested_blocksize` by `P.weight.nested_absmax`, plus `nested_offset`);
//!   `P.weight.quant_map` the 16 code values; `P.weight.quant_state.bitsandbytes__nf4` (or
//!   `__fp4`) the JSON of shape, blocksize and dtype as U8 bytes. Value = quant_map[code] *
//!   absmax[block].
//!
//! Every size is checked against every other before a byte is read, and a matrix is read whole
//! into memory only up to [`MAX_PACKED_BYTES`] of stored parts (packed codes are 4 to 8 times
//! smaller than the values they stand for).

use super::dtype::{Dtype, FloatDtype};
use super::tensor::TensorInfo;
use std::collections::BTreeMap;

/// The most stored bytes one packed matrix may take (its codes, scales and zeros together):
/// 1 GiB holds a 4-bit matrix of two billion values, more than any layer of a released model.
pub const MAX_PACKED_BYTES: u64 = 1 << 30;

/// A packed quantisation scheme whose values mother rebuilds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum PackedScheme {
    Gptq2,
    Gptq4,
    Gptq8,
    Awq4,
    BnbInt8,
    BnbNf4,
    BnbFp4,
}

impl PackedScheme {
    pub const ALL: [PackedScheme; 7] = [
        Self::Gptq2,
        Self::Gptq4,
        Self::Gptq8,
        Self::Awq4,
        Self::BnbInt8,
        Self::BnbNf4,
        Self::BnbFp4,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Gptq2 => "GPTQ-2bit",
            Self::Gptq4 => "GPTQ-4bit",
            Self::Gptq8 => "GPTQ-8bit",
            Self::Awq4 => "AWQ-4bit",
            Self::BnbInt8 => "bnb-int8",
            Self::BnbNf4 => "bnb-nf4",
            Self::BnbFp4 => "bnb-fp4",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The family, for the format people see: `gptq`, `awq` or `bitsandbytes`.
    pub fn family(self) -> &'static str {
        match self {
            Self::Gptq2 | Self::Gptq4 | Self::Gptq8 => "gptq",
            Self::Awq4 => "awq",
            Self::BnbInt8 | Self::BnbNf4 | Self::BnbFp4 => "bitsandbytes",
        }
    }

    fn gptq(bits: usize) -> Option<Self> {
        match bits {
            2 => Some(Self::Gptq2),
            4 => Some(Self::Gptq4),
            8 => Some(Self::Gptq8),
            _ => None,
        }
    }

    fn bits(self) -> usize {
        match self {
            Self::Gptq2 => 2,
            Self::Gptq8 | Self::BnbInt8 => 8,
            _ => 4,
        }
    }
}

/// One stored tensor of a packed matrix: the file (index into the model's files) and where.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedPart {
    pub file: usize,
    pub tensor: TensorInfo,
}

/// One matrix stored packed, and the stored tensors it is rebuilt from (in the order
/// [`PackedMatrix::decode`] takes their bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct PackedMatrix {
    /// The name of the matrix it stands for: `P.weight`.
    pub name: String,
    pub scheme: PackedScheme,
    pub parts: Vec<PackedPart>,
}

/// What the packed matrices of a model are, and what else it holds that looks packed.
#[derive(Debug, Default)]
pub struct PackedLayers {
    pub matrices: Vec<PackedMatrix>,
    /// `(file, name)` of every stored tensor that is part of a packed matrix.
    pub consumed: Vec<(usize, String)>,
}

/// A packed layer that cannot be read: the tensor and the reason, with what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedProblem {
    pub tensor: String,
    pub reason: String,
}

/// Finds the packed matrices among the tensors of a model's files (`files[i]` lists file i's).
/// A layer whose parts are inconsistent, or a packing mother does not read, is a problem: the
/// model cannot be measured without it.
pub fn find(files: &[&[TensorInfo]]) -> Result<PackedLayers, PackedProblem> {
    let mut by_name: BTreeMap<&str, (usize, &TensorInfo)> = BTreeMap::new();
    for (file, tensors) in files.iter().enumerate() {
        for t in tensors.iter() {
            by_name.insert(t.name.as_str(), (file, t));
        }
    }
    let part = |name: &str| {
        by_name.get(name).map(|&(file, t)| PackedPart {
            file,
            tensor: t.clone(),
        })
    };
    let mut layers = PackedLayers::default();
    for (&name, &(_, tensor)) in &by_name {
        if let Some(stem) = name.strip_suffix(".qweight") {
            let matrix = integer_packed(stem, tensor, &part)?;
            layers.matrices.push(matrix);
        } else if let Some(stem) = name.strip_suffix(".SCB")
            && let Some(weight) = part(&format!("{stem}.weight"))
            && weight.tensor.dtype
                == (Dtype::Other {
                    name: "I8",
                    bits: 8,
                })
        {
            let scb = part(name).expect("listed");
            check_int8(stem, &weight.tensor, &scb.tensor)?;
            layers.matrices.push(PackedMatrix {
                name: format!("{stem}.weight"),
                scheme: PackedScheme::BnbInt8,
                parts: vec![weight, scb],
            });
        } else if let Some((stem, kind)) = name
            .strip_suffix(".weight.quant_state.bitsandbytes__nf4")
            .map(|s| (s, PackedScheme::BnbNf4))
            .or_else(|| {
                name.strip_suffix(".weight.quant_state.bitsandbytes__fp4")
                    .map(|s| (s, PackedScheme::BnbFp4))
            })
        {
            layers.matrices.push(four_bit(stem, kind, &part)?);
        }
    }
    for matrix in &layers.matrices {
        for p in &matrix.parts {
            layers.consumed.push((p.file, p.tensor.name.clone()));
        }
    }
    // A `weight_format` scalar rides along with bitsandbytes int8 layers.
    for matrix in &layers.matrices {
        if matrix.scheme == PackedScheme::BnbInt8
            && let Some(stem) = matrix.name.strip_suffix(".weight")
            && let Some(&(file, t)) = by_name.get(format!("{stem}.weight_format").as_str())
        {
            layers.consumed.push((file, t.name.clone()));
        }
    }
    Ok(layers)
}

/// The integer dtype of a tensor, if it has one.
fn int_dtype(t: &TensorInfo) -> Option<&'static str> {
    match t.dtype {
        Dtype::Other { name, .. } if name.starts_with('I') || name.starts_with('U') => Some(name),
        _ => None,
    }
}

fn problem(tensor: &str, reason: impl Into<String>) -> PackedProblem {
    PackedProblem {
        tensor: tensor.to_string(),
        reason: reason.into(),
    }
}

/// A GPTQ or AWQ layer from its `qweight` and the tensors beside it.
fn integer_packed(
    stem: &str,
    qweight: &TensorInfo,
    part: &dyn Fn(&str) -> Option<PackedPart>,
) -> Result<PackedMatrix, PackedProblem> {
    let name = &qweight.name;
    let need = |suffix: &str| {
        part(&format!("{stem}.{suffix}")).ok_or_else(|| {
            problem(
                name,
                format!(
                    "is packed (GPTQ or AWQ) but {stem}.{suffix} is missing — the checkpoint is incomplete; re-download it"
                ),
            )
        })
    };
    let (qzeros, scales) = (need("qzeros")?, need("scales")?);
    let g_idx = part(&format!("{stem}.g_idx"));
    let two_d = |t: &TensorInfo| (t.shape.len() == 2).then(|| (t.shape[0], t.shape[1]));
    let (Some((q_rows, q_cols)), Some((z_rows, z_cols)), Some((groups, out))) =
        (two_d(qweight), two_d(&qzeros.tensor), two_d(&scales.tensor))
    else {
        return Err(problem(
            name,
            "is packed but qweight, qzeros or scales is not a matrix — the file is damaged or in a packing mother does not read",
        ));
    };
    if int_dtype(qweight) != Some("I32") || int_dtype(&qzeros.tensor) != Some("I32") {
        return Err(problem(
            name,
            format!(
                "is packed in {} (qzeros {}), not the I32 words of GPTQ or AWQ — a packing mother does not read; keep the unquantised model beside it",
                qweight.dtype.name(),
                qzeros.tensor.dtype.name()
            ),
        ));
    }
    if scales.tensor.dtype.float().is_none() {
        return Err(problem(
            name,
            format!(
                "has scales in {}, not floats — a packing mother does not read",
                scales.tensor.dtype.name()
            ),
        ));
    }
    if groups == 0 || out == 0 || z_rows != groups {
        return Err(problem(
            name,
            format!(
                "has {groups} groups of scales but {z_rows} of zeros — the packed layer is inconsistent; re-download it"
            ),
        ));
    }
    let (scheme, rows_in) = if q_cols == out {
        // GPTQ: codes packed along the input rows, zeros along the outputs.
        let per_word = if z_cols > 0 && out.is_multiple_of(z_cols) {
            out / z_cols
        } else {
            0
        };
        let scheme = (per_word > 0 && 32 % per_word == 0)
            .then(|| PackedScheme::gptq(32 / per_word))
            .flatten();
        let Some(scheme) = scheme else {
            return Err(problem(
                name,
                format!(
                    "is GPTQ with {out} outputs in {z_cols} words of zeros per group ({:.2} bits a code): only 2-, 4- and 8-bit codes are read (3-bit codes straddle words) — keep the unquantised model beside it",
                    32.0 * z_cols as f64 / out as f64
                ),
            ));
        };
        (scheme, q_rows * per_word)
    } else if q_cols * 8 == out && z_cols * 8 == out {
        (PackedScheme::Awq4, q_rows)
    } else {
        return Err(problem(
            name,
            format!(
                "is packed as [{q_rows}, {q_cols}] with scales [{groups}, {out}], neither GPTQ's nor AWQ's layout — a packing mother does not read"
            ),
        ));
    };
    if rows_in == 0 || !rows_in.is_multiple_of(groups) {
        return Err(problem(
            name,
            format!("has {rows_in} inputs, not a whole number of its {groups} groups"),
        ));
    }
    let mut parts = vec![part(name).expect("listed"), qzeros, scales];
    if scheme != PackedScheme::Awq4
        && let Some(g_idx) = g_idx
    {
        if int_dtype(&g_idx.tensor) != Some("I32") || g_idx.tensor.numel() != rows_in as u64 {
            return Err(problem(
                name,
                format!(
                    "has a g_idx of {} {} for {rows_in} inputs — the packed layer is inconsistent; re-download it",
                    g_idx.tensor.numel(),
                    g_idx.tensor.dtype.name()
                ),
            ));
        }
        parts.push(g_idx);
    }
    Ok(PackedMatrix {
        name: format!("{stem}.weight"),
        scheme,
        parts,
    })
}

fn check_int8(stem: &str, weight: &TensorInfo, scb: &TensorInfo) -> Result<(), PackedProblem> {
    let rows = weight.shape.first().copied().unwrap_or(0);
    if weight.shape.len() != 2
        || weight.numel() == 0
        || scb.numel() != rows as u64
        || scb.dtype.float().is_none()
    {
        return Err(problem(
            &format!("{stem}.weight"),
            format!(
                "is bitsandbytes int8 of shape {:?} with {} {} row scales (SCB) — the layer is inconsistent; re-download it",
                weight.shape,
                scb.numel(),
                scb.dtype.name()
            ),
        ));
    }
    Ok(())
}

/// A bitsandbytes 4-bit layer from its quant state and the tensors beside it.
fn four_bit(
    stem: &str,
    scheme: PackedScheme,
    part: &dyn Fn(&str) -> Option<PackedPart>,
) -> Result<PackedMatrix, PackedProblem> {
    let weight_name = format!("{stem}.weight");
    let need = |suffix: &str| {
        part(&format!("{weight_name}{suffix}")).ok_or_else(|| {
            problem(
                &weight_name,
                format!(
                    "is bitsandbytes 4-bit but {weight_name}{suffix} is missing — the checkpoint is incomplete; re-download it"
                ),
            )
        })
    };
    let weight = need("")?;
    let state = need(&format!(
        ".quant_state.bitsandbytes__{}",
        if scheme == PackedScheme::BnbNf4 {
            "nf4"
        } else {
            "fp4"
        }
    ))?;
    let mut parts = vec![weight, state, need(".absmax")?, need(".quant_map")?];
    if let (Some(nested_absmax), Some(nested_map)) = (
        part(&format!("{weight_name}.nested_absmax")),
        part(&format!("{weight_name}.nested_quant_map")),
    ) {
        parts.push(nested_absmax);
        parts.push(nested_map);
    }
    if parts[1].tensor.numel() > 1 << 16 {
        return Err(problem(
            &weight_name,
            "has a quant state over 64 KiB — not what bitsandbytes writes; the file is damaged",
        ));
    }
    Ok(PackedMatrix {
        name: weight_name,
        scheme,
        parts,
    })
}

/// A packed matrix with its stored bytes, ready to give its values row by row.
pub struct Decoded<'a> {
    pub rows: usize,
    pub cols: usize,
    /// The precision the layer computes in (its scales' dtype).
    pub dtype: FloatDtype,
    layout: Layout<'a>,
}

enum Layout<'a> {
    Gptq {
        bits: usize,
        qweight: &'a [u8],
        qzeros: &'a [u8],
        scales: Vec<f32>,
        g_idx: Option<Vec<usize>>,
        groups: usize,
    },
    Awq {
        qweight: &'a [u8],
        qzeros: &'a [u8],
        scales: Vec<f32>,
        groups: usize,
    },
    Int8 {
        codes: &'a [u8],
        row_scales: Vec<f32>,
    },
    FourBit {
        codes: &'a [u8],
        absmax: Vec<f32>,
        quant_map: Vec<f32>,
        blocksize: usize,
    },
}

/// Output rows rebuilt at a time for the packings whose codes run along the inputs: the
/// codes of 64 neighbouring outputs lie side by side in memory.
const ROW_BLOCK: usize = 64;

impl PackedMatrix {
    /// Checks the stored bytes of every part (in `self.parts` order) against each other and
    /// gets ready to rebuild the matrix.
    pub fn decode<'a>(&self, bytes: &'a [Vec<u8>]) -> Result<Decoded<'a>, PackedProblem> {
        let bad = |reason: String| problem(&self.name, reason);
        let shape = |i: usize| &self.parts[i].tensor.shape;
        match self.scheme {
            PackedScheme::Gptq2 | PackedScheme::Gptq4 | PackedScheme::Gptq8 => {
                let bits = self.scheme.bits();
                let (groups, out) = (shape(2)[0], shape(2)[1]);
                let rows_in = shape(0)[0] * (32 / bits);
                let g_idx = match bytes.get(3) {
                    Some(raw) => {
                        let g: Vec<usize> = raw
                            .chunks_exact(4)
                            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                            .map(|g| usize::try_from(g).unwrap_or(usize::MAX))
                            .collect();
                        if let Some(bad_group) = g.iter().find(|&&g| g >= groups) {
                            return Err(bad(format!(
                                "has g_idx naming group {} of {groups} — the packed layer is damaged; re-download it",
                                *bad_group as i64
                            )));
                        }
                        Some(g)
                    }
                    None => None,
                };
                Ok(Decoded {
                    rows: out,
                    cols: rows_in,
                    dtype: self.parts[2]
                        .tensor
                        .dtype
                        .float()
                        .unwrap_or(FloatDtype::F16),
                    layout: Layout::Gptq {
                        bits,
                        qweight: &bytes[0],
                        qzeros: &bytes[1],
                        scales: self.floats(bytes, 2)?,
                        g_idx,
                        groups,
                    },
                })
            }
            PackedScheme::Awq4 => {
                let (groups, out) = (shape(2)[0], shape(2)[1]);
                Ok(Decoded {
                    rows: out,
                    cols: shape(0)[0],
                    dtype: self.parts[2]
                        .tensor
                        .dtype
                        .float()
                        .unwrap_or(FloatDtype::F16),
                    layout: Layout::Awq {
                        qweight: &bytes[0],
                        qzeros: &bytes[1],
                        scales: self.floats(bytes, 2)?,
                        groups,
                    },
                })
            }
            PackedScheme::BnbInt8 => Ok(Decoded {
                rows: shape(0)[0],
                cols: shape(0)[1],
                dtype: FloatDtype::F16,
                layout: Layout::Int8 {
                    codes: &bytes[0],
                    row_scales: self.floats(bytes, 1)?,
                },
            }),
            PackedScheme::BnbNf4 | PackedScheme::BnbFp4 => self.decode_four_bit(bytes),
        }
    }

    fn decode_four_bit<'a>(&self, bytes: &'a [Vec<u8>]) -> Result<Decoded<'a>, PackedProblem> {
        let bad = |reason: String| problem(&self.name, reason);
        let state: serde_json::Value = serde_json::from_slice(&bytes[1]).map_err(|e| {
            bad(format!(
                "has a quant state that is not JSON ({e}) — the file is damaged; re-download it"
            ))
        })?;
        let shape: Vec<usize> = state
            .get("shape")
            .and_then(|s| s.as_array())
            .and_then(|dims| {
                dims.iter()
                    .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
                    .collect::<Option<Vec<usize>>>()
            })
            .filter(|dims| dims.len() == 2)
            .ok_or_else(|| bad("has a quant state without a 2-D shape".to_string()))?;
        let (rows, cols) = (shape[0], shape[1]);
        let count = rows
            .checked_mul(cols)
            .filter(|&n| n > 0)
            .ok_or_else(|| bad(format!("has a quant state of shape {shape:?}")))?;
        let blocksize = state
            .get("blocksize")
            .and_then(|b| b.as_u64())
            .and_then(|b| usize::try_from(b).ok())
            .filter(|&b| b > 0)
            .ok_or_else(|| bad("has a quant state without a blocksize".to_string()))?;
        if bytes[0].len() != count.div_ceil(2) {
            return Err(bad(format!(
                "holds {} bytes of 4-bit codes for {count} values — the layer is inconsistent; re-download it",
                bytes[0].len()
            )));
        }
        let quant_map = self.floats(bytes, 3)?;
        if quant_map.len() != 16 {
            return Err(bad(format!(
                "has a quant map of {} values, not 16",
                quant_map.len()
            )));
        }
        let blocks = count.div_ceil(blocksize);
        let absmax = if self.parts.len() == 6 {
            // Double quantisation: the block scales are themselves 8-bit codes.
            let codes = &bytes[2];
            let nested_absmax = self.floats(bytes, 4)?;
            let nested_map = self.floats(bytes, 5)?;
            let nested_blocksize = state
                .get("nested_blocksize")
                .and_then(|b| b.as_u64())
                .and_then(|b| usize::try_from(b).ok())
                .filter(|&b| b > 0)
                .ok_or_else(|| bad("has nested scales without a nested_blocksize".to_string()))?;
            let offset = state
                .get("nested_offset")
                .and_then(|o| o.as_f64())
                .unwrap_or(0.0) as f32;
            if codes.len() != blocks
                || nested_map.len() != 256
                || nested_absmax.len() != blocks.div_ceil(nested_blocksize)
            {
                return Err(bad(format!(
                    "has {} nested scale codes, a nested map of {} and {} nested scales for {blocks} blocks — the layer is inconsistent",
                    codes.len(),
                    nested_map.len(),
                    nested_absmax.len()
                )));
            }
            codes
                .iter()
                .enumerate()
                .map(|(b, &code)| {
                    nested_map[usize::from(code)] * nested_absmax[b / nested_blocksize] + offset
                })
                .collect()
        } else {
            self.floats(bytes, 2)?
        };
        if absmax.len() != blocks {
            return Err(bad(format!(
                "has {} block scales for {blocks} blocks of {blocksize}",
                absmax.len()
            )));
        }
        let dtype = match state.get("dtype").and_then(|d| d.as_str()) {
            Some("bfloat16" | "torch.bfloat16") => FloatDtype::BF16,
            Some("float32" | "torch.float32") => FloatDtype::F32,
            _ => FloatDtype::F16,
        };
        Ok(Decoded {
            rows,
            cols,
            dtype,
            layout: Layout::FourBit {
                codes: &bytes[0],
                absmax,
                quant_map,
                blocksize,
            },
        })
    }

    fn floats(&self, bytes: &[Vec<u8>], i: usize) -> Result<Vec<f32>, PackedProblem> {
        let t = &self.parts[i].tensor;
        let dtype = t.dtype.float().ok_or_else(|| {
            problem(
                &self.name,
                format!("has {} in {}, not floats", t.name, t.dtype.name()),
            )
        })?;
        let mut values = Vec::new();
        dtype.decode_into(&bytes[i], &mut values);
        Ok(values)
    }
}

/// The code at bit `shift` (under `mask`) of word `word` of a little-endian array of 32-bit
/// words.
#[inline(always)]
fn code(words: &[u8], word: usize, shift: usize, mask: u32) -> i32 {
    let b = &words[word * 4..word * 4 + 4];
    ((u32::from_le_bytes([b[0], b[1], b[2], b[3]]) >> shift) & mask) as i32
}

impl Decoded<'_> {
    /// Calls `emit` with the values of the `[rows, cols]` matrix in row-major order, in pieces.
    pub fn for_each_piece(&self, emit: &mut dyn FnMut(&[f32])) {
        let (rows, cols) = (self.rows, self.cols);
        match &self.layout {
            Layout::Gptq {
                bits,
                qweight,
                qzeros,
                scales,
                g_idx,
                groups,
            } => {
                let per_word = 32 / bits;
                let mask = (1u32 << bits) - 1;
                let group_len = cols / groups;
                let zero_words = rows / per_word;
                let mut block = vec![0.0f32; ROW_BLOCK * cols];
                for first in (0..rows).step_by(ROW_BLOCK) {
                    let take = ROW_BLOCK.min(rows - first);
                    for i in 0..cols {
                        let g = g_idx.as_ref().map_or(i / group_len, |g| g[i]);
                        let word_row = i / per_word;
                        let shift = bits * (i % per_word);
                        for r in 0..take {
                            let j = first + r;
                            let q = code(qweight, word_row * rows + j, shift, mask);
                            let zero = code(
                                qzeros,
                                g * zero_words + j / per_word,
                                bits * (j % per_word),
                                mask,
                            ) + 1;
                            block[r * cols + i] = scales[g * rows + j] * (q - zero) as f32;
                        }
                    }
                    emit(&block[..take * cols]);
                }
            }
            Layout::Awq {
                qweight,
                qzeros,
                scales,
                groups,
            } => {
                // Position in its word of output j % 8's code: the inverse of 0,2,4,6,1,3,5,7.
                const SLOT: [usize; 8] = [0, 4, 1, 5, 2, 6, 3, 7];
                let group_len = cols / groups;
                let words = rows / 8;
                let mut block = vec![0.0f32; ROW_BLOCK * cols];
                for first in (0..rows).step_by(ROW_BLOCK) {
                    let take = ROW_BLOCK.min(rows - first);
                    for i in 0..cols {
                        let g = i / group_len;
                        for r in 0..take {
                            let j = first + r;
                            let shift = 4 * SLOT[j % 8];
                            let q = code(qweight, i * words + j / 8, shift, 0xF);
                            let zero = code(qzeros, g * words + j / 8, shift, 0xF);
                            block[r * cols + i] = scales[g * rows + j] * (q - zero) as f32;
                        }
                    }
                    emit(&block[..take * cols]);
                }
            }
            Layout::Int8 { codes, row_scales } => {
                let mut row = vec![0.0f32; cols];
                for (j, stored) in codes.chunks_exact(cols).enumerate().take(rows) {
                    let scale = row_scales[j] / 127.0;
                    for (value, &c) in row.iter_mut().zip(stored) {
                        *value = f32::from(c as i8) * scale;
                    }
                    emit(&row);
                }
            }
            Layout::FourBit {
                codes,
                absmax,
                quant_map,
                blocksize,
            } => {
                let count = rows * cols;
                let piece_len = 8192;
                let mut piece = Vec::with_capacity(piece_len);
                for k in 0..count {
                    let byte = codes[k / 2];
                    let nibble = if k % 2 == 0 { byte >> 4 } else { byte & 0xF };
                    piece.push(quant_map[usize::from(nibble)] * absmax[k / blocksize]);
                    if piece.len() == piece_len {
                        emit(&piece);
                        piece.clear();
                    }
                }
                if !piece.is_empty() {
                    emit(&piece);
                }
            }
        }
    }
}

/// Checks that the stored bytes of each part have the length its header gave: a file that
/// changed while it was read would otherwise index past the codes.
pub fn check_lengths(matrix: &PackedMatrix, bytes: &[Vec<u8>]) -> Result<(), PackedProblem> {
    for (p, b) in matrix.parts.iter().zip(bytes) {
        if b.len() as u64 != p.tensor.byte_len() {
            return Err(problem(
                &matrix.name,
                format!(
                    "part {} holds {} bytes, its header says {} — the file changed while it was read; scan again",
                    p.tensor.name,
                    b.len(),
                    p.tensor.byte_len()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::RowOrder;

    fn info(name: &str, dtype: &str, shape: &[usize]) -> TensorInfo {
        let dtype = Dtype::parse(dtype).unwrap();
        let len = dtype
            .bits_for(shape.iter().product::<usize>() as u64)
            .unwrap()
            / 8;
        TensorInfo {
            name: name.to_string(),
            dtype,
            shape: shape.to_vec(),
            start: 0,
            end: len,
            row_order: RowOrder::AsStored,
        }
    }

    fn words(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn f32s(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn rebuild(matrix: &PackedMatrix, bytes: &[Vec<u8>]) -> (usize, usize, Vec<f32>) {
        let decoded = matrix.decode(bytes).unwrap();
        let mut values = Vec::new();
        decoded.for_each_piece(&mut |piece| values.extend_from_slice(piece));
        (decoded.rows, decoded.cols, values)
    }

    #[test]
    fn gptq_4bit_codes_run_along_the_inputs_and_zeros_are_stored_minus_one() {
        // 8 inputs x 8 outputs, one group: code of input i, output j = (i + j) % 16.
        let mut qweight = vec![0u32; 8];
        for (j, word) in qweight.iter_mut().enumerate() {
            for i in 0..8 {
                *word |= (((i + j) % 16) as u32) << (4 * i);
            }
        }
        // Zero 7 for every output, stored as 6.
        let qzeros = [0x6666_6666u32];
        let scales: Vec<f32> = (0..8).map(|j| 0.5 + j as f32).collect();
        let tensors = [
            info("l.qweight", "I32", &[1, 8]),
            info("l.qzeros", "I32", &[1, 1]),
            info("l.scales", "F32", &[1, 8]),
        ];
        let found = find(&[&tensors]).unwrap();
        assert_eq!(found.matrices.len(), 1);
        let matrix = &found.matrices[0];
        assert_eq!(
            (matrix.name.as_str(), matrix.scheme),
            ("l.weight", PackedScheme::Gptq4)
        );
        let bytes = [words(&qweight), words(&qzeros), f32s(&scales)];
        let (rows, cols, values) = rebuild(matrix, &bytes);
        assert_eq!((rows, cols), (8, 8));
        for j in 0..8 {
            for i in 0..8 {
                let want = scales[j] * (((i + j) % 16) as f32 - 7.0);
                assert_eq!(values[j * 8 + i], want, "output {j}, input {i}");
            }
        }
    }

    #[test]
    fn awq_codes_run_along_the_outputs_in_its_interleaved_order() {
        // 2 inputs x 8 outputs: code of output j is j (input 0) and 15 - j (input 1).
        let order = [0, 2, 4, 6, 1, 3, 5, 7];
        let pack = |code: &dyn Fn(usize) -> u32| {
            (0..8).fold(0u32, |word, slot| word | (code(order[slot]) << (4 * slot)))
        };
        let qweight = [pack(&|j| j as u32), pack(&|j| 15 - j as u32)];
        let qzeros = [pack(&|_| 8)];
        let scales = [2.0f32; 8];
        let tensors = [
            info("l.qweight", "I32", &[2, 1]),
            info("l.qzeros", "I32", &[1, 1]),
            info("l.scales", "F32", &[1, 8]),
        ];
        let found = find(&[&tensors]).unwrap();
        assert_eq!(found.matrices[0].scheme, PackedScheme::Awq4);
        let bytes = [words(&qweight), words(&qzeros), f32s(&scales)];
        let (rows, cols, values) = rebuild(&found.matrices[0], &bytes);
        assert_eq!((rows, cols), (8, 2));
        for j in 0..8 {
            assert_eq!(values[j * 2], 2.0 * (j as f32 - 8.0));
            assert_eq!(values[j * 2 + 1], 2.0 * (7.0 - j as f32));
        }
    }

    #[test]
    fn bitsandbytes_int8_rows_scale_by_their_absolute_maximum() {
        let tensors = [
            info("l.SCB", "F32", &[2]),
            info("l.weight", "I8", &[2, 2]),
            info("l.weight_format", "U8", &[]),
        ];
        let found = find(&[&tensors]).unwrap();
        assert_eq!(found.consumed.len(), 3);
        let codes = vec![127u8, (-127i8) as u8, 0, 64];
        let bytes = [codes, f32s(&[0.5, 2.0])];
        let (_, _, values) = rebuild(&found.matrices[0], &bytes);
        assert_eq!(values, [0.5, -0.5, 0.0, 64.0 * 2.0 / 127.0]);
    }

    #[test]
    fn bitsandbytes_nf4_takes_the_high_nibble_first_and_nested_scales() {
        let state = br#"{"quant_type":"nf4","blocksize":2,"dtype":"bfloat16","shape":[2,2],"nested_blocksize":256,"nested_offset":0.25}"#.to_vec();
        let tensors = [
            info("l.weight", "U8", &[2, 1]),
            info("l.weight.absmax", "U8", &[2]),
            info("l.weight.nested_absmax", "F32", &[1]),
            info("l.weight.nested_quant_map", "F32", &[256]),
            info("l.weight.quant_map", "F32", &[16]),
            info(
                "l.weight.quant_state.bitsandbytes__nf4",
                "U8",
                &[state.len()],
            ),
        ];
        let found = find(&[&tensors]).unwrap();
        assert_eq!(found.matrices[0].scheme, PackedScheme::BnbNf4);
        assert_eq!(found.consumed.len(), 6);
        let quant_map: Vec<f32> = (0..16).map(|c| c as f32 / 15.0).collect();
        let nested_map: Vec<f32> = (0..256).map(|c| c as f32 / 255.0).collect();
        let bytes = [
            vec![0xF0, 0x3C], // codes 15, 0 | 3, 12
            state,
            vec![255, 51], // block scales 1.0 and 0.2, times 2, plus 0.25
            f32s(&[2.0]),
            f32s(&nested_map),
            f32s(&quant_map),
        ];
        // Parts are in the order `find` gives: weight, state, absmax, quant_map, nested.
        let order = |name: &str| {
            found.matrices[0]
                .parts
                .iter()
                .position(|p| p.tensor.name == name)
                .unwrap()
        };
        let mut ordered = vec![Vec::new(); 6];
        for (name, b) in [
            "l.weight",
            "l.weight.quant_state.bitsandbytes__nf4",
            "l.weight.absmax",
            "l.weight.nested_absmax",
            "l.weight.nested_quant_map",
            "l.weight.quant_map",
        ]
        .iter()
        .zip(bytes)
        {
            ordered[order(name)] = b;
        }
        let (rows, cols, values) = rebuild(&found.matrices[0], &ordered);
        assert_eq!((rows, cols), (2, 2));
        let (first, second) = (2.0 + 0.25, 51.0 / 255.0 * 2.0 + 0.25);
        let want = [1.0 * first, 0.0, 3.0 / 15.0 * second, 12.0 / 15.0 * second];
        for (got, want) in values.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{values:?}");
        }
    }

    #[test]
    fn inconsistent_or_unknown_packings_are_problems_with_reasons() {
        let missing = [info("l.qweight", "I32", &[1, 8])];
        let err = find(&[&missing]).unwrap_err();
        assert!(err.reason.contains("l.qzeros is missing"), "{}", err.reason);

        let three_bit = [
            info("l.qweight", "I32", &[3, 32]),
            info("l.qzeros", "I32", &[1, 3]),
            info("l.scales", "F16", &[1, 32]),
        ];
        let err = find(&[&three_bit]).unwrap_err();
        assert!(err.reason.contains("3-bit"), "{}", err.reason);

        let odd = [
            info("l.qweight", "I32", &[4, 5]),
            info("l.qzeros", "I32", &[1, 1]),
            info("l.scales", "F16", &[1, 8]),
        ];
        let err = find(&[&odd]).unwrap_err();
        assert!(
            err.reason.contains("neither GPTQ's nor AWQ's"),
            "{}",
            err.reason
        );
    }
}
