//! The GGUF reader on files written by `common/gguf_writer.rs` (the published layout): Hugging
//! Face names and shapes, the dequantisers against a slow element-by-element reference, Llama's
//! rope permutation undone, F32/F16 copies that fingerprint exactly like safetensors, Q8_0 and
//! Q4_K copies within their quantisation error, and every header limit as its own error.

use crate::common;

use common::formats::{
    assert_same_statistics, f32_bytes, fingerprint_file, values, write_safetensors,
};
use common::gguf_writer::{
    F16, F32, GgufTensor, IQ2_XS, Q4_K, Q8_0, Value, gguf_bytes, llama_metadata, llama_permute,
};
use mother::weights::{
    Dtype, GgufFile, Limit, QuantType, RowOrder, TensorInfo, ValueDecoder, WeightsError,
    WeightsErrorKind,
};
use std::fs;
use std::path::{Path, PathBuf};

fn write(dir: &Path, bytes: &[u8]) -> PathBuf {
    let path = dir.join("model.gguf");
    fs::write(&path, bytes).unwrap();
    path
}

fn open(bytes: &[u8]) -> Result<GgufFile, WeightsError> {
    let dir = tempfile::tempdir().unwrap();
    GgufFile::open(&write(dir.path(), bytes))
}

/// The values of `tensor` as the measure layer sees them: decoded, in Hugging Face order.
fn decoded(file: &GgufFile, tensor: &TensorInfo) -> Vec<f32> {
    let mut decoder = ValueDecoder::new(tensor);
    let mut out = Vec::new();
    let mut buffer = Vec::new();
    file.for_each_chunk(tensor, &mut buffer, |chunk| -> Result<(), WeightsError> {
        decoder.push(chunk, &mut |v: &[f32]| out.extend_from_slice(v));
        Ok(())
    })
    .unwrap();
    decoder.finish(&mut |v: &[f32]| out.extend_from_slice(v));
    out
}

fn tensor<'f>(file: &'f GgufFile, name: &str) -> &'f TensorInfo {
    file.tensors()
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} not listed"))
}

/// One layer of a llama with grouped-query attention (4 query heads and 2 key-value heads of 64
/// values; rows of 256, one Q4_K block), its q and k permuted as llama.cpp's converter permutes
/// them.
struct Llama {
    q: Vec<f32>,
    k: Vec<f32>,
    up: Vec<f32>,
    embed: Vec<f32>,
}

const DIM: usize = 256;
const HEADS: usize = 4;
const KV_ROWS: usize = 128;
const FFN: usize = 512;

impl Llama {
    fn new() -> Self {
        Self {
            q: values(DIM * DIM, 1),
            k: values(KV_ROWS * DIM, 2),
            up: values(FFN * DIM, 3),
            embed: values(64 * DIM, 4),
        }
    }

    fn gguf(&self, matrix_type: u32) -> Vec<u8> {
        let tensors = vec![
            GgufTensor::matrix("token_embd.weight", 64, DIM, &self.embed, F16),
            GgufTensor::vector("blk.0.attn_norm.weight", &values(DIM, 5)),
            GgufTensor::matrix(
                "blk.0.attn_q.weight",
                DIM,
                DIM,
                &llama_permute(&self.q, DIM, DIM, HEADS),
                matrix_type,
            ),
            GgufTensor::matrix(
                "blk.0.attn_k.weight",
                KV_ROWS,
                DIM,
                &llama_permute(&self.k, KV_ROWS, DIM, 2),
                matrix_type,
            ),
            GgufTensor::matrix("blk.0.ffn_up.weight", FFN, DIM, &self.up, matrix_type),
            GgufTensor::vector("output_norm.weight", &values(DIM, 6)),
        ];
        gguf_bytes(3, &llama_metadata(HEADS as u32, 2), &tensors)
    }
}

#[test]
fn a_llama_gguf_lists_hugging_face_names_shapes_and_rope_order() {
    let file = open(&Llama::new().gguf(F32)).expect("opens");
    assert_eq!(file.version(), 3);
    assert_eq!(file.architecture(), Some("llama"));
    assert!(!file.is_quantized());
    let listed: Vec<(&str, &[usize], &str)> = file
        .tensors()
        .iter()
        .map(|t| (t.name.as_str(), t.shape.as_slice(), t.dtype.name()))
        .collect();
    assert_eq!(
        listed,
        [
            ("model.embed_tokens.weight", &[64, DIM][..], "F16"),
            ("model.layers.0.input_layernorm.weight", &[DIM][..], "F32"),
            ("model.layers.0.mlp.up_proj.weight", &[FFN, DIM][..], "F32"),
            (
                "model.layers.0.self_attn.k_proj.weight",
                &[KV_ROWS, DIM][..],
                "F32"
            ),
            (
                "model.layers.0.self_attn.q_proj.weight",
                &[DIM, DIM][..],
                "F32"
            ),
            ("model.norm.weight", &[DIM][..], "F32"),
        ]
    );
    let q = tensor(&file, "model.layers.0.self_attn.q_proj.weight");
    let k = tensor(&file, "model.layers.0.self_attn.k_proj.weight");
    assert_eq!(q.row_order, RowOrder::RopeInterleaved { heads: HEADS });
    assert_eq!(k.row_order, RowOrder::RopeInterleaved { heads: 2 });
    assert_eq!(
        tensor(&file, "model.layers.0.mlp.up_proj.weight").row_order,
        RowOrder::AsStored
    );
}

#[test]
fn the_rope_permutation_is_undone_on_a_known_example() {
    // One head of four rows [r0, r1, r2, r3]: the converter stores [r0, r2, r1, r3].
    let rows: Vec<f32> = (0..4 * 32).map(|i| (i / 32) as f32).collect();
    let stored = llama_permute(&rows, 4, 32, 1);
    let order: Vec<f32> = stored.chunks(32).map(|r| r[0]).collect();
    assert_eq!(order, [0.0, 2.0, 1.0, 3.0]);
    let tensors = [GgufTensor::matrix(
        "blk.0.attn_q.weight",
        4,
        32,
        &stored,
        F32,
    )];
    let file = open(&gguf_bytes(3, &llama_metadata(1, 1), &tensors)).unwrap();
    let q = &file.tensors()[0];
    assert_eq!(decoded(&file, q), rows);

    // Not a llama: the same rows are not touched.
    let metadata = [("general.architecture", Value::Str("qwen2".into()))];
    let file = open(&gguf_bytes(3, &metadata, &tensors)).unwrap();
    assert_eq!(
        file.tensors()[0].name,
        "model.layers.0.self_attn.q_proj.weight"
    );
    assert_eq!(decoded(&file, &file.tensors()[0]), stored);
}

#[test]
fn f32_and_f16_copies_fingerprint_exactly_like_safetensors_with_the_rope_undone() {
    let dir = tempfile::tempdir().unwrap();
    let llama = Llama::new();
    let gguf = dir.path().join("model.gguf");
    fs::write(&gguf, llama.gguf(F32)).unwrap();
    let twin = dir.path().join("model.safetensors");
    let f32_entry = |name: &str, shape: Vec<usize>, v: &[f32]| {
        (
            name.to_string(),
            safetensors::Dtype::F32,
            shape,
            f32_bytes(v),
        )
    };
    let entries = [
        f32_entry(
            "model.layers.0.self_attn.q_proj.weight",
            vec![DIM, DIM],
            &llama.q,
        ),
        f32_entry(
            "model.layers.0.self_attn.k_proj.weight",
            vec![KV_ROWS, DIM],
            &llama.k,
        ),
        f32_entry(
            "model.layers.0.mlp.up_proj.weight",
            vec![FFN, DIM],
            &llama.up,
        ),
        (
            "model.embed_tokens.weight".to_string(),
            safetensors::Dtype::F16,
            vec![64, DIM],
            llama
                .embed
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
        ),
    ];
    let borrowed: Vec<_> = entries
        .iter()
        .map(|(n, d, s, b)| (n.as_str(), *d, s.clone(), b.clone()))
        .collect();
    write_safetensors(&twin, &borrowed);

    let from_gguf = fingerprint_file(&gguf, mother::weights::Format::Gguf);
    let from_safetensors = fingerprint_file(&twin, mother::weights::Format::Safetensors);
    assert_eq!(from_gguf.tensors.len(), 4);
    for (a, b) in from_gguf.tensors.iter().zip(&from_safetensors.tensors) {
        assert_same_statistics(a, b);
        assert_eq!(a.dtype, b.dtype);
    }
    // The q and k bytes are stored permuted, so only the unpermuted tensors hash alike.
    let hashes_equal: Vec<bool> = from_gguf
        .tensors
        .iter()
        .zip(&from_safetensors.tensors)
        .map(|(a, b)| a.content_hash == b.content_hash)
        .collect();
    assert_eq!(hashes_equal, [true, true, false, false]);
}

#[test]
fn q8_0_and_q4_k_copies_dequantise_within_their_error() {
    let dir = tempfile::tempdir().unwrap();
    let llama = Llama::new();
    // Values lie in (-1, 1). Q8_0 errs by half a step of max|x| / 127 and by 127 times the f16
    // rounding of that step (2^-11 of it); Q4_K by half a step of (range / 15) per sub-block,
    // with its 6-bit scales rounded up.
    let q8_bound = (0.5 + 127.0 / 2048.0) / 127.0;
    for (ggml_type, name, bound) in [(Q8_0, "Q8_0", q8_bound), (Q4_K, "Q4_K", 0.08)] {
        let path = write(dir.path(), &llama.gguf(ggml_type));
        let file = GgufFile::open(&path).unwrap();
        assert!(file.is_quantized());
        let checks = [
            ("model.layers.0.self_attn.q_proj.weight", &llama.q),
            ("model.layers.0.self_attn.k_proj.weight", &llama.k),
            ("model.layers.0.mlp.up_proj.weight", &llama.up),
        ];
        for (tensor_name, original) in checks {
            let info = tensor(&file, tensor_name);
            assert_eq!(
                info.dtype,
                Dtype::Quantized(QuantType::from_name(name).unwrap())
            );
            let got = decoded(&file, info);
            let worst = got
                .iter()
                .zip(original.iter())
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst <= bound, "{name} {tensor_name}: worst error {worst}");
        }

        let fingerprint = fingerprint_file(&path, mother::weights::Format::Gguf);
        let up = fingerprint
            .tensors
            .iter()
            .find(|t| t.name == "model.layers.0.mlp.up_proj.weight")
            .unwrap();
        assert_eq!(up.quantized.map(|q| q.name()), Some(name));
        let exact: f64 = llama.up.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        let relative = (up.sum_sq - exact).abs() / exact;
        assert!(relative < 0.05, "{name}: squared norm off by {relative}");
        assert_eq!(
            fingerprint.dtype, name,
            "the quant type holds most parameters"
        );
    }
}

/// A slow, element-by-element reading of ggml's block layouts, to hold the dequantisers to.
fn reference_value(quant: QuantType, block: &[u8], i: usize) -> f32 {
    let f16 =
        |at: usize| half::f16::from_bits(u16::from_le_bytes([block[at], block[at + 1]])).to_f32();
    let nibble = |qs: &[u8], i: usize| {
        let byte = qs[i % 16];
        if i < 16 { byte & 0x0f } else { byte >> 4 }
    };
    let k4 = |scales: &[u8], j: usize| -> (f32, f32) {
        let (s, m) = if j < 4 {
            (scales[j] & 63, scales[j + 4] & 63)
        } else {
            (
                (scales[j + 4] & 15) | ((scales[j - 4] >> 6) << 4),
                (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4),
            )
        };
        (f32::from(s), f32::from(m))
    };
    match quant {
        QuantType::Q8_0 => f32::from(block[2 + i] as i8) * f16(0),
        QuantType::Q4_0 => (i32::from(nibble(&block[2..], i)) - 8) as f32 * f16(0),
        QuantType::Q4_1 => f32::from(nibble(&block[4..], i)) * f16(0) + f16(2),
        QuantType::Q5_0 | QuantType::Q5_1 => {
            let base = if quant == QuantType::Q5_0 { 2 } else { 4 };
            let qh = u32::from_le_bytes(block[base..base + 4].try_into().unwrap());
            let q = nibble(&block[base + 4..], i) | ((((qh >> i) & 1) as u8) << 4);
            if quant == QuantType::Q5_0 {
                (i32::from(q) - 16) as f32 * f16(0)
            } else {
                f32::from(q) * f16(0) + f16(2)
            }
        }
        QuantType::Q4_K | QuantType::Q5_K => {
            let (j, l) = (i / 32, i % 32);
            let qs = if quant == QuantType::Q4_K {
                &block[16..]
            } else {
                &block[48..]
            };
            let byte = qs[32 * (j / 2) + l];
            let mut q = if j % 2 == 0 { byte & 0x0f } else { byte >> 4 };
            if quant == QuantType::Q5_K {
                q += ((block[16 + l] >> j) & 1) * 16;
            }
            let (scale, min) = k4(&block[4..16], j);
            f16(0) * scale * f32::from(q) - f16(2) * min
        }
        QuantType::Q6_K => {
            let (half, r) = (i / 128, i % 128);
            let (k, l) = (r / 32, r % 32);
            let low = block[64 * half + l + 32 * (k % 2)];
            let low = if k < 2 { low & 0x0f } else { low >> 4 };
            let high = (block[128 + 32 * half + l] >> (2 * k)) & 3;
            let q = i32::from(low | (high << 4)) - 32;
            let scale = f32::from(block[192 + 8 * half + l / 16 + 2 * k] as i8);
            f16(208) * scale * q as f32
        }
    }
}

#[test]
fn every_dequantiser_matches_a_slow_reference_on_random_blocks() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut random = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for quant in QuantType::ALL {
        let blocks = 16;
        let mut bytes: Vec<u8> = (0..blocks * quant.block_bytes())
            .map(|_| random() as u8)
            .collect();
        // Finite scales: f16 bit patterns with a small exponent, at each type's scale fields.
        let scale_at: &[usize] = match quant {
            QuantType::Q4_0 | QuantType::Q5_0 | QuantType::Q8_0 => &[0],
            QuantType::Q6_K => &[208],
            _ => &[0, 2],
        };
        for block in bytes.chunks_exact_mut(quant.block_bytes()) {
            for &at in scale_at {
                let bits = 0x2000 | (random() as u16 & 0x0fff);
                block[at..at + 2].copy_from_slice(&bits.to_le_bytes());
            }
        }
        let mut out = Vec::new();
        quant.dequantize_into(&bytes, &mut out);
        assert_eq!(out.len(), blocks * quant.block_len());
        for (b, block) in bytes.chunks_exact(quant.block_bytes()).enumerate() {
            for i in 0..quant.block_len() {
                let expected = reference_value(quant, block, i);
                let got = out[b * quant.block_len() + i];
                assert_eq!(
                    got.to_bits(),
                    expected.to_bits(),
                    "{quant:?} block {b} value {i}"
                );
            }
        }
    }
}

#[test]
fn a_quant_type_without_a_decoder_is_listed_as_unreadable_with_the_reason() {
    let tensors = [
        GgufTensor::vector("blk.0.attn_norm.weight", &values(256, 1)),
        GgufTensor {
            name: "blk.0.ffn_up.weight".into(),
            dims: vec![256, 2],
            ggml_type: IQ2_XS,
            data: vec![0; 2 * 74],
        },
    ];
    let file = open(&gguf_bytes(3, &llama_metadata(1, 1), &tensors)).unwrap();
    assert_eq!(file.tensors().len(), 1);
    let [unreadable] = file.unreadable() else {
        panic!("{:?}", file.unreadable())
    };
    assert_eq!(unreadable.name, "model.layers.0.mlp.up_proj.weight");
    assert!(
        unreadable.reason.contains("quant type IQ2_XS is not read"),
        "{}",
        unreadable.reason
    );
    assert!(file.is_quantized());
}

#[test]
fn version_2_is_read_and_other_versions_are_refused() {
    let tensors = [GgufTensor::vector("output_norm.weight", &values(8, 1))];
    let metadata = [("general.architecture", Value::Str("llama".into()))];
    let file = open(&gguf_bytes(2, &metadata, &tensors)).expect("v2 opens");
    assert_eq!(file.version(), 2);
    assert_eq!(file.tensors()[0].name, "model.norm.weight");
    for version in [1u32, 4, 0x0300_0000] {
        let error = open(&gguf_bytes(version, &metadata, &tensors)).expect_err("refused");
        println!("{error}");
        assert_eq!(error.kind, WeightsErrorKind::UnsupportedVersion);
    }
}

/// A valid file's bytes with `patch` applied to its header.
fn patched(patch: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let tensors = [
        GgufTensor::matrix("blk.0.attn_v.weight", 2, 32, &values(64, 1), F32),
        GgufTensor::vector("output_norm.weight", &values(8, 2)),
    ];
    let mut bytes = gguf_bytes(
        3,
        &[("general.architecture", Value::Str("qwen2".into()))],
        &tensors,
    );
    patch(&mut bytes);
    bytes
}

fn error_of(bytes: &[u8]) -> WeightsError {
    let error = open(bytes).expect_err("refused");
    println!("{error}");
    error
}

/// Builds a header by hand: magic, version 3, the counts, then `rest`.
fn header(tensors: u64, keys: u64, rest: &[u8]) -> Vec<u8> {
    let mut bytes = b"GGUF".to_vec();
    bytes.extend(3u32.to_le_bytes());
    bytes.extend(tensors.to_le_bytes());
    bytes.extend(keys.to_le_bytes());
    bytes.extend(rest);
    bytes.resize(bytes.len() + 64, 0);
    bytes
}

fn gguf_string(text: &[u8]) -> Vec<u8> {
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text);
    out
}

#[test]
fn every_limit_and_layout_breach_is_its_own_error() {
    let limit = |bytes: &[u8]| match error_of(bytes).kind {
        WeightsErrorKind::Limit(which) => which,
        other => panic!("not a limit: {other:?}"),
    };
    assert_eq!(limit(&header(1 << 40, 0, &[])), Limit::TensorCount);
    assert_eq!(limit(&header(0, 1 << 40, &[])), Limit::KeyCount);
    let long_key = [(1u64 << 20).to_le_bytes().as_slice(), b"x"].concat();
    assert_eq!(limit(&header(0, 1, &long_key)), Limit::StringLength);
    let mut long_value = gguf_string(b"general.name");
    long_value.extend(8u32.to_le_bytes());
    long_value.extend((1u64 << 40).to_le_bytes());
    assert_eq!(limit(&header(0, 1, &long_value)), Limit::StringLength);
    let mut huge_array = gguf_string(b"tokenizer.ggml.tokens");
    huge_array.extend(9u32.to_le_bytes());
    huge_array.extend(8u32.to_le_bytes());
    huge_array.extend((1u64 << 40).to_le_bytes());
    assert_eq!(limit(&header(0, 1, &huge_array)), Limit::ContainerSize);
    let mut five_dims = gguf_string(b"t");
    five_dims.extend(5u32.to_le_bytes());
    assert_eq!(limit(&header(1, 0, &five_dims)), Limit::Dimensions);
    let long_name = gguf_string(&[b'n'; 64]);
    assert_eq!(limit(&header(1, 0, &long_name)), Limit::StringLength);

    let kind = |bytes: &[u8]| error_of(bytes).kind;
    // A tensor whose offset leaves a gap after the one before it.
    let gap = patched(|bytes| {
        let at = find(bytes, b"output_norm.weight") + 18 + 4 + 8 + 4;
        bytes[at..at + 8].copy_from_slice(&4096u64.to_le_bytes());
    });
    assert_eq!(kind(&gap), WeightsErrorKind::BadLayout);
    let cut = patched(|bytes| bytes.truncate(bytes.len() - 40));
    assert_eq!(kind(&cut), WeightsErrorKind::OutOfRange);
    let unknown_type = patched(|bytes| {
        let at = find(bytes, b"attn_v.weight") + 13 + 4 + 16;
        bytes[at..at + 4].copy_from_slice(&4u32.to_le_bytes());
    });
    assert!(error_of(&unknown_type).reason.contains("ggml type 4"));
    let partial_block = patched(|bytes| {
        let at = find(bytes, b"attn_v.weight") + 13 + 4 + 16;
        bytes[at..at + 4].copy_from_slice(&Q8_0.to_le_bytes());
        bytes[at - 16..at - 8].copy_from_slice(&31u64.to_le_bytes());
    });
    assert!(
        error_of(&partial_block)
            .reason
            .contains("not a multiple of its block of 32")
    );

    let mut nested = gguf_string(b"a");
    nested.extend(9u32.to_le_bytes());
    nested.extend(9u32.to_le_bytes());
    nested.extend(1u64.to_le_bytes());
    assert_eq!(kind(&header(0, 1, &nested)), WeightsErrorKind::Malformed);
    let mut duplicate = Vec::new();
    for _ in 0..2 {
        duplicate.extend(gguf_string(b"general.file_type"));
        duplicate.extend(4u32.to_le_bytes());
        duplicate.extend(1u32.to_le_bytes());
    }
    assert!(
        error_of(&header(0, 2, &duplicate))
            .reason
            .contains("repeats")
    );
    let mut alignment = gguf_string(b"general.alignment");
    alignment.extend(4u32.to_le_bytes());
    alignment.extend(48u32.to_le_bytes());
    assert!(
        error_of(&header(0, 1, &alignment))
            .reason
            .contains("power of 2")
    );
    assert_eq!(kind(b"GGUF\x03\0\0\0"), WeightsErrorKind::TooShort);
    assert_eq!(
        kind(&[b"GGML".as_slice(), &[0; 40]].concat()),
        WeightsErrorKind::Malformed
    );
}

#[test]
fn a_head_count_that_does_not_divide_the_rows_is_refused() {
    let tensors = [GgufTensor::matrix(
        "blk.0.attn_q.weight",
        6,
        32,
        &values(192, 1),
        F32,
    )];
    let error = error_of(&gguf_bytes(3, &llama_metadata(4, 4), &tensors));
    assert_eq!(error.kind, WeightsErrorKind::BadLayout);
    let no_heads = [("general.architecture", Value::Str("llama".into()))];
    let error = error_of(&gguf_bytes(3, &no_heads, &tensors));
    assert!(error.reason.contains("head_count"), "{error}");
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("present")
}
