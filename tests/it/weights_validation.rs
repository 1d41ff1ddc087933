//! Every reason a safetensors file is refused, the tensors it is not refused for, dtype
//! decoding, and a file that shrinks between open and read.

use mother::discover::WeightFile;
use mother::measure::{MeasureError, fingerprint_model};
use mother::weights::{Dtype, FloatDtype, SafetensorsFile, WeightsError, WeightsErrorKind as Kind};
use safetensors::tensor::TensorView;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// A file made of an 8-byte length, `header` and `data`, written by hand.
fn raw_file(dir: &Path, header: &[u8], data: &[u8]) -> PathBuf {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(data);
    let path = dir.join("model.safetensors");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn open_raw(header: &str, data_len: usize) -> Result<SafetensorsFile, WeightsError> {
    let dir = tempfile::tempdir().unwrap();
    let path = raw_file(dir.path(), header.as_bytes(), &vec![0u8; data_len]);
    SafetensorsFile::open(&path)
}

fn refused(header: &str, data_len: usize, kind: Kind, words: &[&str]) {
    let err = open_raw(header, data_len).expect_err(header);
    assert_eq!(err.kind, kind, "{err}");
    let message = err.to_string();
    assert!(
        message.contains("model.safetensors: "),
        "names the file: {message}"
    );
    for word in words {
        assert!(
            message.contains(word),
            "{message:?} should mention {word:?}"
        );
    }
}

#[test]
fn a_file_too_short_for_the_length_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    std::fs::write(&path, [1u8, 2, 3]).unwrap();
    let err = SafetensorsFile::open(&path).unwrap_err();
    assert_eq!(err.kind, Kind::TooShort);
    assert!(err.to_string().contains("3 bytes"), "{err}");
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = SafetensorsFile::open(Path::new("/nonexistent/model.safetensors")).unwrap_err();
    assert_eq!(err.kind, Kind::Io);
    assert!(
        err.to_string()
            .starts_with("/nonexistent/model.safetensors: cannot open"),
        "{err}"
    );
}

#[test]
fn a_header_length_past_the_end_of_the_file_says_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let mut bytes = 9_000_000_000_000u64.to_le_bytes().to_vec();
    bytes.resize(90_000_000 / 1_000_000, 0);
    std::fs::write(&path, &bytes).unwrap();
    let err = SafetensorsFile::open(&path).unwrap_err();
    assert_eq!(err.kind, Kind::HeaderBeyondFile);
    let message = err.to_string();
    assert!(
        message.contains("header claims 9.0 TB, file is 90 B"),
        "{message}"
    );
    assert!(
        message.contains("truncated download? re-download it"),
        "{message}"
    );
}

#[test]
fn a_header_length_above_100_mb_is_refused_even_when_the_file_is_larger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let file = std::fs::File::create(&path).unwrap();
    // Sparse: takes no disk space.
    file.set_len(300_000_000).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &200_000_000u64.to_le_bytes(), 0).unwrap();
    let err = SafetensorsFile::open(&path).unwrap_err();
    assert_eq!(err.kind, Kind::HeaderTooLarge);
    assert!(
        err.to_string()
            .contains("header claims 200.0 MB, above the 100.0 MB limit"),
        "{err}"
    );
}

#[test]
fn header_text_must_be_utf8_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw_file(dir.path(), &[b'{', 0xff, 0xfe, b'}'], &[]);
    let err = SafetensorsFile::open(&path).unwrap_err();
    assert_eq!(err.kind, Kind::NotUtf8);
    assert!(err.to_string().contains("not UTF-8"), "{err}");

    refused("{\"w\": ", 0, Kind::NotJson, &["not valid JSON"]);
    refused("[1, 2]", 0, Kind::NotObject, &["an array", "object"]);
    refused("\"text\"", 0, Kind::NotObject, &["a string"]);
}

#[test]
fn malformed_entries_name_the_tensor_and_what_is_wrong() {
    refused(
        r#"{"w": 5}"#,
        0,
        Kind::BadEntry,
        &["\"w\"", "not an object"],
    );
    refused(
        r#"{"w": {"shape": [1], "data_offsets": [0, 4]}}"#,
        4,
        Kind::BadEntry,
        &["dtype"],
    );
    refused(
        r#"{"w": {"dtype": "F32", "data_offsets": [0, 4]}}"#,
        4,
        Kind::BadEntry,
        &["shape"],
    );
    refused(
        r#"{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#,
        4,
        Kind::BadEntry,
        &["-1"],
    );
    refused(
        r#"{"w": {"dtype": "F32", "shape": [1]}}"#,
        4,
        Kind::BadEntry,
        &["data_offsets"],
    );
    refused(
        r#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#,
        4,
        Kind::BadEntry,
        &["end before they begin"],
    );
    refused(
        r#"{"__metadata__": {"format": 1}}"#,
        0,
        Kind::BadMetadata,
        &["\"format\""],
    );
    refused(
        r#"{"__metadata__": []}"#,
        0,
        Kind::BadMetadata,
        &["strings"],
    );
}

#[test]
fn shape_times_dtype_size_must_equal_the_byte_length() {
    refused(
        r#"{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#,
        8,
        Kind::SizeMismatch,
        &["\"w\"", "F32 [3]", "needs 12 bytes", "span 8 bytes"],
    );
    refused(
        r#"{"w": {"dtype": "BF16", "shape": [4294967296, 4294967296, 4], "data_offsets": [0, 8]}}"#,
        8,
        Kind::SizeMismatch,
        &["64 bits"],
    );
}

#[test]
fn offsets_must_tile_the_data_section_exactly() {
    let two = |a: [u64; 2], b: [u64; 2]| {
        format!(
            r#"{{"a": {{"dtype": "F32", "shape": [2], "data_offsets": {a:?}}},
                "b": {{"dtype": "F32", "shape": [2], "data_offsets": {b:?}}}}}"#
        )
    };
    refused(
        &two([0, 8], [4, 12]),
        12,
        Kind::Overlap,
        &["\"a\"", "\"b\"", "share bytes 4..8"],
    );
    refused(
        &two([0, 8], [12, 20]),
        20,
        Kind::Gap,
        &["bytes 8..12", "\"b\""],
    );
    refused(&two([4, 12], [12, 20]), 20, Kind::Gap, &["bytes 0..4"]);
    refused(
        &two([0, 8], [8, 16]),
        12,
        Kind::OutOfRange,
        &["\"b\"", "ends at byte 16", "only 12 bytes"],
    );
    refused(
        &two([0, 8], [8, 16]),
        20,
        Kind::TrailingData,
        &["4 bytes after the last tensor"],
    );
}

#[test]
fn unknown_dtypes_are_listed_as_unreadable_not_fatal() {
    let header = r#"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "q": {"dtype": "Q4_K", "shape": [32], "data_offsets": [8, 26]},
        "i": {"dtype": "I8", "shape": [2, 3], "data_offsets": [26, 32]},
        "__metadata__": {"format": "pt"}}"#;
    let file = open_raw(header, 32).expect("unknown dtype is not fatal");
    let names: Vec<&str> = file.tensors().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["i", "w"]);
    assert_eq!(file.tensors()[0].dtype, Dtype::parse("I8").unwrap());
    assert_eq!(file.tensors()[0].dtype.float(), None);
    assert_eq!(file.unreadable().len(), 1);
    assert_eq!(file.unreadable()[0].name, "q");
    assert!(file.unreadable()[0].reason.contains("Q4_K"));
    assert_eq!(
        file.metadata().get("format").map(String::as_str),
        Some("pt")
    );
}

#[test]
fn zero_size_and_scalar_tensors_are_valid() {
    let header = r#"{"empty": {"dtype": "F32", "shape": [0, 4], "data_offsets": [0, 0]},
        "also_empty": {"dtype": "F16", "shape": [3, 0], "data_offsets": [0, 0]},
        "scalar": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}     "#;
    let file = open_raw(header, 4).expect("valid");
    let scalar = file.tensors().iter().find(|t| t.name == "scalar").unwrap();
    assert_eq!(scalar.numel(), 1);
    assert_eq!(scalar.start, file.data_start());
    let empty = file.tensors().iter().find(|t| t.name == "empty").unwrap();
    assert_eq!(empty.numel(), 0);
    let mut chunks = 0;
    file.for_each_chunk::<WeightsError>(empty, &mut Vec::new(), |_| {
        chunks += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(chunks, 0);
}

/// Writes one tensor with the safetensors crate and reads it back decoded.
fn round_trip(dtype: safetensors::Dtype, bytes: &[u8], count: usize) -> (FloatDtype, Vec<f32>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.safetensors");
    let view = TensorView::new(dtype, vec![count], bytes).unwrap();
    safetensors::serialize_to_file([("t", view)], Some(HashMap::new()), &path).unwrap();
    let file = SafetensorsFile::open(&path).unwrap();
    let tensor = &file.tensors()[0];
    assert_eq!(tensor.end, file.file_len(), "absolute offsets");
    let float = tensor.dtype.float().expect("a float dtype");
    let mut decoded = Vec::new();
    file.for_each_chunk::<WeightsError>(tensor, &mut Vec::new(), |chunk| {
        let mut part = Vec::new();
        float.decode_into(chunk, &mut part);
        decoded.extend(part);
        Ok(())
    })
    .unwrap();
    (float, decoded)
}

#[test]
fn f16_bf16_f64_decode_exactly() {
    let f16_bits: [u16; 5] = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001];
    let bytes: Vec<u8> = f16_bits.iter().flat_map(|b| b.to_le_bytes()).collect();
    let (dtype, values) = round_trip(safetensors::Dtype::F16, &bytes, 5);
    assert_eq!(dtype, FloatDtype::F16);
    assert_eq!(values, [1.0, -2.0, 0.5, 65504.0, 2.0f32.powi(-24)]);

    let bf16_bits: [u16; 4] = [0x3f80, 0xc020, 0x4049, 0x0000];
    let bytes: Vec<u8> = bf16_bits.iter().flat_map(|b| b.to_le_bytes()).collect();
    let (dtype, values) = round_trip(safetensors::Dtype::BF16, &bytes, 4);
    assert_eq!(dtype, FloatDtype::BF16);
    assert_eq!(values, [1.0, -2.5, 3.140625, 0.0]);

    let f64s = [1.5f64, -0.25, 1e10, 0.0];
    let bytes: Vec<u8> = f64s.iter().flat_map(|v| v.to_le_bytes()).collect();
    let (dtype, values) = round_trip(safetensors::Dtype::F64, &bytes, 4);
    assert_eq!(dtype, FloatDtype::F64);
    assert_eq!(values, [1.5, -0.25, 1e10, 0.0]);

    let f32s = [1.0f32, -3.75, f32::MIN_POSITIVE, 1e30];
    let bytes: Vec<u8> = f32s.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(round_trip(safetensors::Dtype::F32, &bytes, 4).1, f32s);
}

fn big_f32_file(dir: &Path) -> PathBuf {
    let path = dir.join("model.safetensors");
    let data: Vec<u8> = (0..1024 * 1024)
        .flat_map(|i| (i as f32).to_le_bytes())
        .collect();
    let bias = [0u8; 16];
    let views = [
        (
            "bias",
            TensorView::new(safetensors::Dtype::F32, vec![4], &bias).unwrap(),
        ),
        (
            "w",
            TensorView::new(safetensors::Dtype::F32, vec![1024, 1024], &data).unwrap(),
        ),
    ];
    safetensors::serialize_to_file(views, None, &path).unwrap();
    path
}

#[test]
fn truncating_between_open_and_read_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = big_f32_file(dir.path());
    let file = SafetensorsFile::open(&path).unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let tensor = file.tensors().iter().find(|t| t.name == "w").unwrap();
    let mut chunks = 0;
    let err = file
        .for_each_chunk::<WeightsError>(tensor, &mut Vec::new(), |_| {
            chunks += 1;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.kind, Kind::Shrank);
    assert!(
        err.to_string().contains("file shrank while being read"),
        "{err}"
    );
    assert!(chunks >= 1, "the first half was still readable");
}

#[test]
fn fingerprint_model_reports_a_file_truncated_during_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let path = big_f32_file(dir.path());
    let len = std::fs::metadata(&path).unwrap().len();
    let files = [WeightFile {
        path: path.clone(),
        resolved: path.clone(),
        bytes: len,
        modified: None,
        format: mother::weights::Format::Safetensors,
    }];
    // The 1-D bias is reported done before any data is read: truncate the file right then.
    let truncate = |_: u64| {
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(len - 100).unwrap();
    };
    let err = fingerprint_model(&files, &truncate, &AtomicBool::new(false)).unwrap_err();
    match err {
        MeasureError::Weights(w) => {
            assert_eq!(w.kind, Kind::Shrank);
            assert_eq!(w.path, path);
        }
        other => panic!("expected a weights error, got {other}"),
    }
}

/// Every one of the 65,536 F16 bit patterns, through `decode_into` (eight at a time with F16C
/// where the CPU has it) from an odd byte offset, against `half`'s one-at-a-time conversion.
#[test]
fn every_f16_bit_pattern_decodes_like_half() {
    let mut bytes = vec![0u8];
    bytes.extend((0..=u16::MAX).flat_map(u16::to_le_bytes));
    let mut decoded = Vec::new();
    FloatDtype::F16.decode_into(&bytes[1..], &mut decoded);
    assert_eq!(decoded.len(), 1 << 16);
    for (bits, got) in (0..=u16::MAX).zip(decoded) {
        let want = half::f16::from_bits(bits).to_f32();
        assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
            "{bits:#06x}: {got} vs {want}"
        );
    }
}

/// Rounding f32 to BF16 and F16, as casts do (nearest, ties to even), agrees with `half` on
/// every kind of value: a sweep of 2^20 bit patterns across all exponents (ties, subnormals,
/// overflow to infinity, both signs), with `encode_into` (appending bytes) and `round_to_half`
/// (the fingerprint pass's form, F16C where the CPU has it) giving the same bits.
#[test]
fn rounding_to_16_bits_matches_half_on_every_kind_of_value() {
    let values: Vec<f32> = (0..1u32 << 20)
        .map(|i| f32::from_bits(i.wrapping_mul(0x9E37_79B9) ^ (i << 12)))
        .chain([
            0.0,
            -0.0,
            1.0,
            65504.0,
            65520.0,
            1e-8,
            f32::INFINITY,
            f32::MAX,
        ])
        .filter(|v| !v.is_nan())
        .collect();
    for (dtype, reference) in [
        (
            FloatDtype::BF16,
            (|v: f32| half::bf16::from_f32(v).to_bits()) as fn(f32) -> u16,
        ),
        (FloatDtype::F16, |v: f32| half::f16::from_f32(v).to_bits()),
    ] {
        let mut halves = vec![0u16; values.len()];
        dtype
            .round_to_half(&values, &mut halves)
            .expect("a 16-bit dtype");
        let mut bytes = vec![7u8];
        dtype.encode_into(&values, &mut bytes);
        assert_eq!(bytes.len(), 1 + 2 * values.len());
        for ((v, got), pair) in values.iter().zip(&halves).zip(bytes[1..].chunks_exact(2)) {
            assert_eq!(
                *got,
                reference(*v),
                "{dtype:?} {v:e} ({:#010x})",
                v.to_bits()
            );
            assert_eq!(
                u16::from_le_bytes([pair[0], pair[1]]),
                *got,
                "{dtype:?} {v:e}"
            );
        }
    }
    // NaN stays NaN, whatever its payload.
    let nan = [f32::NAN, -f32::NAN, f32::from_bits(0x7f80_0001)];
    let mut halves = [0u16; 3];
    FloatDtype::BF16.round_to_half(&nan, &mut halves);
    assert!(halves.iter().all(|&h| half::bf16::from_bits(h).is_nan()));
}
