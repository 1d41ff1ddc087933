//! A bounded fuzzer for the GGUF reader, run in CI like `fuzz_header.rs`: random bytes behind a
//! valid magic and version, and files written by `common/gguf_writer.rs` (llama metadata, F32,
//! F16, Q8_0 and Q4_K tensors, permuted q and k) with random damage. Every input must give `Ok`
//! or a specific error, never a panic, and whatever opens must stream and decode every tensor.
//! Each test prints how many inputs it tried.

use crate::common;

use common::formats::{scratch_dir, values};
use common::gguf_writer::{F16, F32, GgufTensor, Q4_K, Q8_0, Value, gguf_bytes, llama_metadata};
use mother::weights::{GgufFile, ValueDecoder, WeightsError};
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

const CASES: u32 = 20_000;

fn fuzz<S: Strategy>(strategy: S, cases: u32, mut check: impl FnMut(S::Value)) -> u32
where
    S::Value: std::fmt::Debug,
{
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let tried = AtomicU32::new(0);
    let check = std::cell::RefCell::new(&mut check);
    runner
        .run(&strategy, |value| {
            (check.borrow_mut())(value);
            tried.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .unwrap();
    tried.load(Ordering::Relaxed)
}

/// Opens `bytes` as a GGUF file, then streams and decodes every tensor it lists, checking that
/// each yields exactly its element count.
fn try_open(path: &Path, bytes: &[u8]) -> bool {
    std::fs::write(path, bytes).unwrap();
    let Ok(file) = GgufFile::open(path) else {
        return false;
    };
    let mut buffer = Vec::new();
    for tensor in file.tensors() {
        let mut decoder = ValueDecoder::new(tensor);
        let mut count = 0u64;
        let mut each = |values: &[f32]| count += values.len() as u64;
        let result =
            file.for_each_chunk(tensor, &mut buffer, |chunk| -> Result<(), WeightsError> {
                decoder.push(chunk, &mut each);
                Ok(())
            });
        decoder.finish(&mut each);
        if result.is_ok() && tensor.dtype.value_dtype().is_some() {
            assert_eq!(count, tensor.numel(), "{}", tensor.name);
        }
    }
    true
}

#[test]
fn random_bytes_behind_a_valid_magic_never_crash() {
    let dir = scratch_dir();
    let path = dir.path().join("model.gguf");
    let strategy = (
        prop::sample::select(vec![2u32, 3]),
        prop::collection::vec(any::<u8>(), 0..512),
    );
    let tried = fuzz(strategy, CASES, |(version, rest)| {
        let bytes = [b"GGUF".as_slice(), &version.to_le_bytes(), &rest].concat();
        try_open(&path, &bytes);
    });
    eprintln!("fuzz_gguf: {tried} random headers read without a crash");
    assert_eq!(tried, CASES);
}

/// A small valid file: llama metadata and up to four tensors of assorted types.
fn valid_file() -> impl Strategy<Value = Vec<u8>> {
    let tensor = prop::sample::select(vec![
        ("blk.0.attn_q.weight", F32),
        ("blk.0.attn_k.weight", F16),
        ("blk.0.attn_v.weight", Q8_0),
        ("blk.0.ffn_up.weight", Q4_K),
        ("output_norm.weight", F32),
    ]);
    (prop::collection::vec(tensor, 1..5), any::<bool>()).prop_map(|(picked, aligned)| {
        let mut tensors: Vec<GgufTensor> = Vec::new();
        for (i, (name, ggml_type)) in picked.into_iter().enumerate() {
            if tensors.iter().any(|t| t.name == name) {
                continue;
            }
            tensors.push(if name == "output_norm.weight" {
                GgufTensor::vector(name, &values(8, i as u64))
            } else {
                GgufTensor::matrix(name, 4, 256, &values(1024, i as u64), ggml_type)
            });
        }
        let mut metadata = llama_metadata(2, 1);
        if aligned {
            metadata.push(("general.alignment", Value::U32(64)));
        }
        gguf_bytes(3, &metadata, &tensors)
    })
}

#[derive(Debug, Clone)]
enum Damage {
    Flip {
        at: usize,
        value: u8,
    },
    Truncate {
        keep: usize,
    },
    /// A little-endian integer written over the bytes at `at` (counts, lengths, offsets).
    Word {
        at: usize,
        value: u64,
    },
}

fn damage() -> impl Strategy<Value = Damage> {
    let interesting = prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::MAX),
        Just(1 << 32),
        Just(1 << 40),
        0u64..300,
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Damage::Flip { at, value }),
        any::<usize>().prop_map(|keep| Damage::Truncate { keep }),
        // Mostly inside the header, where the counts and lengths are.
        (0usize..600, interesting).prop_map(|(at, value)| Damage::Word { at, value }),
    ]
}

fn apply(mut bytes: Vec<u8>, damages: &[Damage]) -> Vec<u8> {
    for d in damages {
        match d {
            Damage::Flip { at, value } if !bytes.is_empty() => {
                let at = at % bytes.len();
                bytes[at] = *value;
            }
            Damage::Truncate { keep } => bytes.truncate(keep % (bytes.len() + 1)),
            Damage::Word { at, value } if *at + 8 <= bytes.len() => {
                bytes[*at..*at + 8].copy_from_slice(&value.to_le_bytes());
            }
            _ => {}
        }
    }
    bytes
}

#[test]
fn damaged_files_never_crash() {
    let dir = scratch_dir();
    let path = dir.path().join("model.gguf");
    let strategy = (valid_file(), prop::collection::vec(damage(), 1..4));
    let mut opened = 0;
    let tried = fuzz(strategy, CASES, |(file, damages)| {
        if try_open(&path, &apply(file, &damages)) {
            opened += 1;
        }
    });
    eprintln!("fuzz_gguf: {tried} damaged files read without a crash ({opened} opened)");
    assert_eq!(tried, CASES);
}

#[test]
fn valid_files_open() {
    let dir = scratch_dir();
    let path = dir.path().join("model.gguf");
    fuzz(valid_file(), 200, |bytes| {
        if !try_open(&path, &bytes) {
            panic!(
                "a valid file was refused: {:?}",
                GgufFile::open(&path).err()
            );
        }
    });
}
