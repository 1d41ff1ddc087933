//! Writers of the quantisations that checkpoints pack into safetensors, following the layouts
//! their libraries document (the same ones `weights::packed` reads): GPTQ and AWQ 4-bit with
//! round-to-nearest group quantisation, bitsandbytes LLM.int8 and NF4 with double quantisation.
//! Each really quantises the values it is given; GPTQ's error-compensating search changes which
//! codes are chosen, not how they are stored.

use safetensors::Dtype;

/// A tensor for `write_safetensors`: name, dtype, shape, bytes.
pub type Entry = (String, Dtype, Vec<usize>, Vec<u8>);

fn u32_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn f16_bytes(values: &[f32]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
        .collect()
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Asymmetric 4-bit round-to-nearest codes of `w` (`[out, in]`, row-major) in groups of `group`
/// inputs: per (group, output) a scale and an integer zero point in 1..=15, and the codes.
struct Rtn4 {
    scales: Vec<f32>,
    zeros: Vec<u32>,
    codes: Vec<u32>,
}

fn rtn4(w: &[f32], out: usize, inputs: usize, group: usize) -> Rtn4 {
    let groups = inputs / group;
    let mut scales = vec![0.0f32; groups * out];
    let mut zeros = vec![0u32; groups * out];
    let mut codes = vec![0u32; out * inputs];
    for j in 0..out {
        for g in 0..groups {
            let span = &w[j * inputs + g * group..j * inputs + (g + 1) * group];
            let lo = span.iter().copied().fold(0.0f32, f32::min);
            let hi = span.iter().copied().fold(0.0f32, f32::max);
            // Stored in F16, as the libraries store scales.
            let scale = half::f16::from_f32(((hi - lo) / 15.0).max(1e-6)).to_f32();
            // GPTQ stores zero - 1 in four bits: keep the zero point at 1 or above.
            let zero = (-lo / scale).round().clamp(1.0, 15.0);
            scales[g * out + j] = scale;
            zeros[g * out + j] = zero as u32;
            for (k, &v) in span.iter().enumerate() {
                codes[j * inputs + g * group + k] =
                    (v / scale + zero).round().clamp(0.0, 15.0) as u32;
            }
        }
    }
    Rtn4 {
        scales,
        zeros,
        codes,
    }
}

/// GPTQ (4-bit, v1 zeros) of the linear layer `stem` with weight `w` `[out, in]`.
pub fn gptq4(stem: &str, w: &[f32], out: usize, inputs: usize, group: usize) -> Vec<Entry> {
    let q = rtn4(w, out, inputs, group);
    let groups = inputs / group;
    let mut qweight = vec![0u32; inputs / 8 * out];
    for j in 0..out {
        for i in 0..inputs {
            qweight[(i / 8) * out + j] |= q.codes[j * inputs + i] << (4 * (i % 8));
        }
    }
    let mut qzeros = vec![0u32; groups * out / 8];
    for g in 0..groups {
        for j in 0..out {
            qzeros[g * out / 8 + j / 8] |= (q.zeros[g * out + j] - 1) << (4 * (j % 8));
        }
    }
    let g_idx: Vec<u32> = (0..inputs).map(|i| (i / group) as u32).collect();
    let mut entries = integer_layer(
        stem,
        (vec![inputs / 8, out], &qweight),
        (groups, out),
        &qzeros,
        &q.scales,
    );
    entries.push((
        format!("{stem}.g_idx"),
        Dtype::I32,
        vec![inputs],
        u32_bytes(&g_idx),
    ));
    entries
}

/// The tensors GPTQ and AWQ share: the packed codes (their shape and words), the zeros packed
/// eight outputs a word and the F16 scales, one per (group, output).
fn integer_layer(
    stem: &str,
    (qweight_shape, qweight): (Vec<usize>, &[u32]),
    (groups, out): (usize, usize),
    qzeros: &[u32],
    scales: &[f32],
) -> Vec<Entry> {
    vec![
        (
            format!("{stem}.qweight"),
            Dtype::I32,
            qweight_shape,
            u32_bytes(qweight),
        ),
        (
            format!("{stem}.qzeros"),
            Dtype::I32,
            vec![groups, out / 8],
            u32_bytes(qzeros),
        ),
        (
            format!("{stem}.scales"),
            Dtype::F16,
            vec![groups, out],
            f16_bytes(scales),
        ),
    ]
}

/// AWQ (GEMM layout, 4-bit) of the linear layer `stem` with weight `w` `[out, in]`.
pub fn awq4(stem: &str, w: &[f32], out: usize, inputs: usize, group: usize) -> Vec<Entry> {
    const ORDER: [usize; 8] = [0, 2, 4, 6, 1, 3, 5, 7];
    let q = rtn4(w, out, inputs, group);
    let groups = inputs / group;
    let pack = |code: &dyn Fn(usize) -> u32, column: usize| {
        (0..8).fold(0u32, |word, slot| {
            word | (code(column * 8 + ORDER[slot]) << (4 * slot))
        })
    };
    let mut qweight = Vec::with_capacity(inputs * out / 8);
    for i in 0..inputs {
        for c in 0..out / 8 {
            qweight.push(pack(&|j| q.codes[j * inputs + i], c));
        }
    }
    let mut qzeros = Vec::with_capacity(groups * out / 8);
    for g in 0..groups {
        for c in 0..out / 8 {
            qzeros.push(pack(&|j| q.zeros[g * out + j], c));
        }
    }
    integer_layer(
        stem,
        (vec![inputs, out / 8], &qweight),
        (groups, out),
        &qzeros,
        &q.scales,
    )
}

/// bitsandbytes LLM.int8 of the linear layer `stem`: per-row absolute maximum and codes.
pub fn bnb_int8(stem: &str, w: &[f32], out: usize, inputs: usize) -> Vec<Entry> {
    let mut scb = vec![0.0f32; out];
    let mut codes = vec![0u8; out * inputs];
    for j in 0..out {
        let row = &w[j * inputs..(j + 1) * inputs];
        let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
        scb[j] = max;
        for (c, &v) in codes[j * inputs..].iter_mut().zip(row) {
            *c = ((v * 127.0 / max).round().clamp(-127.0, 127.0) as i8) as u8;
        }
    }
    vec![
        (
            format!("{stem}.weight"),
            Dtype::I8,
            vec![out, inputs],
            codes,
        ),
        (
            format!("{stem}.SCB"),
            Dtype::F32,
            vec![out],
            f32_bytes(&scb),
        ),
    ]
}

/// The 16 values of the NF4 data type (QLoRA, Dettmers et al. 2023, appendix E).
pub const NF4: [f32; 16] = [
    -1.0,
    -0.696_192_8,
    -0.525_073_05,
    -0.394_917_5,
    -0.284_441_38,
    -0.184_773_43,
    -0.091_050_036,
    0.0,
    0.079_580_3,
    0.160_930_2,
    0.246_112_3,
    0.337_915_24,
    0.440_709_83,
    0.562_617,
    0.722_956_84,
    1.0,
];

fn nearest(map: &[f32], x: f32) -> usize {
    (0..map.len())
        .min_by(|&a, &b| (map[a] - x).abs().total_cmp(&(map[b] - x).abs()))
        .expect("a non-empty map")
}

/// bitsandbytes NF4 of the linear layer `stem` with double quantisation: blocks of 64 values
/// scaled by their absolute maximum, and those maxima quantised again to 8 bits in blocks of 256
/// around their mean (with a linear 256-value map, stored in the file like bitsandbytes' own).
pub fn bnb_nf4(stem: &str, w: &[f32], out: usize, inputs: usize) -> Vec<Entry> {
    const BLOCK: usize = 64;
    const NESTED_BLOCK: usize = 256;
    let n = out * inputs;
    let absmax: Vec<f32> = w
        .chunks(BLOCK)
        .map(|b| b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12))
        .collect();
    let offset = absmax.iter().sum::<f32>() / absmax.len() as f32;
    let nested_map: Vec<f32> = (0..256).map(|c| -1.0 + 2.0 * c as f32 / 255.0).collect();
    let nested_absmax: Vec<f32> = absmax
        .chunks(NESTED_BLOCK)
        .map(|b| {
            b.iter()
                .fold(0.0f32, |m, v| m.max((v - offset).abs()))
                .max(1e-12)
        })
        .collect();
    let absmax_codes: Vec<u8> = absmax
        .iter()
        .enumerate()
        .map(|(b, &a)| nearest(&nested_map, (a - offset) / nested_absmax[b / NESTED_BLOCK]) as u8)
        .collect();
    // The codes are chosen against the scales as the reader will rebuild them.
    let rebuilt: Vec<f32> = absmax_codes
        .iter()
        .enumerate()
        .map(|(b, &c)| nested_map[usize::from(c)] * nested_absmax[b / NESTED_BLOCK] + offset)
        .collect();
    let mut packed = vec![0u8; n.div_ceil(2)];
    for (k, &v) in w.iter().enumerate() {
        let code = nearest(&NF4, v / rebuilt[k / BLOCK]) as u8;
        packed[k / 2] |= if k % 2 == 0 { code << 4 } else { code };
    }
    let state = serde_json::json!({
        "quant_type": "nf4",
        "blocksize": BLOCK,
        "dtype": "float16",
        "shape": [out, inputs],
        "nested_blocksize": NESTED_BLOCK,
        "nested_dtype": "float32",
        "nested_offset": offset,
    })
    .to_string()
    .into_bytes();
    let weight = format!("{stem}.weight");
    vec![
        (weight.clone(), Dtype::U8, vec![n.div_ceil(2), 1], packed),
        (
            format!("{weight}.absmax"),
            Dtype::U8,
            vec![absmax_codes.len()],
            absmax_codes,
        ),
        (
            format!("{weight}.nested_absmax"),
            Dtype::F32,
            vec![nested_absmax.len()],
            f32_bytes(&nested_absmax),
        ),
        (
            format!("{weight}.nested_quant_map"),
            Dtype::F32,
            vec![256],
            f32_bytes(&nested_map),
        ),
        (
            format!("{weight}.quant_map"),
            Dtype::F32,
            vec![16],
            f32_bytes(&NF4),
        ),
        (
            format!("{weight}.quant_state.bitsandbytes__nf4"),
            Dtype::U8,
            vec![state.len()],
            state,
        ),
    ]
}
