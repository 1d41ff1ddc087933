//! A bounded fuzzer for the PyTorch reader, run in CI like `fuzz_header.rs`: random bytes,
//! random opcode programs and damaged state-dict pickles through the restricted pickle reader,
//! and checkpoints written as torch.save writes them with random damage (byte flips,
//! truncation, spliced opcodes) through the whole reader. Every input must give `Ok` or a specific error, never a panic, and whatever
//! opens must stream all its tensors. Each test prints how many inputs it tried.

use crate::common;

use common::formats::{scratch_dir, values};
use common::torch_writer::{PtTensor, state_dict_pickle, torch_save};
use mother::weights::torch::read_state_dict;
use mother::weights::{TorchFile, WeightsError};
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use std::sync::atomic::{AtomicU32, Ordering};

const CASES: u32 = 20_000;

/// Runs `cases` inputs from `strategy` through `check`, from a fixed seed so CI is repeatable,
/// and returns how many were tried.
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

fn only_storage_zero(key: &str) -> bool {
    key == "0"
}

#[test]
fn random_bytes_never_crash_the_pickle_reader() {
    let strategy = prop::collection::vec(any::<u8>(), 0..512);
    let tried = fuzz(strategy, CASES, |bytes| {
        let _ = read_state_dict(&bytes, &only_storage_zero);
    });
    eprintln!("fuzz_pickle: {tried} random byte strings read without a crash");
    assert_eq!(tried, CASES);
}

fn unicode(text: &str) -> Vec<u8> {
    [
        b"X".as_slice(),
        &(text.len() as u32).to_le_bytes(),
        text.as_bytes(),
    ]
    .concat()
}

/// Snippets of the opcodes the reader interprets (and a few it refuses), with arguments.
fn opcode() -> impl Strategy<Value = Vec<u8>> {
    let fixed: Vec<Vec<u8>> = vec![
        b"\x80\x02".to_vec(),
        b"\x80\x04".to_vec(),
        b"\x95\x08\0\0\0\0\0\0\0".to_vec(),
        b"(".to_vec(),
        b"}".to_vec(),
        b"]".to_vec(),
        b")".to_vec(),
        unicode("storage"),
        unicode("0"),
        unicode("cpu"),
        unicode("w"),
        b"\x8c\x01w".to_vec(),
        b"N".to_vec(),
        b"\x88".to_vec(),
        b"\x89".to_vec(),
        b"J\xff\xff\xff\xff".to_vec(),
        b"M\x00\x01".to_vec(),
        b"\x8a\x02\x00\x80".to_vec(),
        b"\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09".to_vec(),
        b"G\x3f\xf0\0\0\0\0\0\0".to_vec(),
        b"\x85".to_vec(),
        b"\x86".to_vec(),
        b"\x87".to_vec(),
        b"t".to_vec(),
        b"s".to_vec(),
        b"u".to_vec(),
        b"a".to_vec(),
        b"e".to_vec(),
        b"\x94".to_vec(),
        b"r\x05\0\0\0".to_vec(),
        b"j\x05\0\0\0".to_vec(),
        b"ccollections\nOrderedDict\n".to_vec(),
        b"ctorch._utils\n_rebuild_tensor_v2\n".to_vec(),
        b"ctorch._utils\n_rebuild_tensor\n".to_vec(),
        b"ctorch._utils\n_rebuild_parameter\n".to_vec(),
        b"ctorch\nFloatStorage\n".to_vec(),
        b"ctorch\nHalfStorage\n".to_vec(),
        b"\x93".to_vec(),
        b"R".to_vec(),
        b"b".to_vec(),
        b"Q".to_vec(),
        b".".to_vec(),
        b"0".to_vec(),
        b"cposix\nsystem\n".to_vec(),
    ];
    prop_oneof![
        8 => prop::sample::select(fixed),
        2 => (0u8..8).prop_map(|k| vec![b'K', k]),
        2 => (0u8..8).prop_map(|k| vec![b'q', k]),
        2 => (0u8..8).prop_map(|k| vec![b'h', k]),
    ]
}

#[test]
fn random_opcode_programs_never_crash_the_pickle_reader() {
    let strategy = prop::collection::vec(opcode(), 0..60).prop_map(|ops| ops.concat());
    let mut opened = 0;
    let tried = fuzz(strategy, CASES, |program| {
        if read_state_dict(&program, &only_storage_zero).is_ok() {
            opened += 1;
        }
    });
    eprintln!(
        "fuzz_pickle: {tried} random opcode programs read without a crash ({opened} read as a state dict)"
    );
    assert_eq!(tried, CASES);
}

#[test]
fn damaged_state_dict_pickles_never_crash_the_pickle_reader() {
    let model = [
        PtTensor::f32("a", &[2, 3], &values(6, 1)),
        PtTensor::f16("b", &[3], &values(3, 2)),
    ];
    let (pickle, _) = state_dict_pickle(&model);
    let strategy = prop::collection::vec(damage(), 1..4);
    let mut opened = 0;
    let tried = fuzz(strategy, CASES, |damages| {
        let damaged = apply(pickle.clone(), &damages);
        if read_state_dict(&damaged, &|key| key == "0" || key == "1").is_ok() {
            opened += 1;
        }
    });
    eprintln!(
        "fuzz_pickle: {tried} damaged state-dict pickles read without a crash ({opened} read)"
    );
    assert_eq!(tried, CASES);
}

/// A checkpoint of up to three small tensors, some of them views of one shared storage.
fn valid_checkpoint() -> impl Strategy<Value = Vec<u8>> {
    let tensor = (
        prop::sample::select(vec!["f32", "f16", "bf16", "long"]),
        prop::collection::vec(0usize..5, 0..3),
        any::<bool>(),
    );
    prop::collection::vec(tensor, 1..4).prop_map(|tensors| {
        let model: Vec<PtTensor> = tensors
            .iter()
            .enumerate()
            .map(|(i, (dtype, shape, tied))| {
                let n: usize = shape.iter().product();
                let v = values(n, i as u64);
                let name = format!("t{i}");
                let mut t = match *dtype {
                    "f32" => PtTensor::f32(&name, shape, &v),
                    "f16" => PtTensor::f16(&name, shape, &v),
                    "bf16" => PtTensor::bf16(&name, shape, &v),
                    _ => PtTensor::raw(
                        &name,
                        "LongStorage",
                        shape,
                        (0..n as i64).flat_map(|x| x.to_le_bytes()).collect(),
                    ),
                };
                if *tied && *dtype == "f32" {
                    // Views of one storage of 16 values (every shape here has at most 16).
                    t.bytes = values(16, 99)
                        .iter()
                        .flat_map(|v| v.to_le_bytes())
                        .collect();
                    t.storage = Some("shared");
                }
                t
            })
            .collect();
        torch_save("archive", &model)
    })
}

#[derive(Debug, Clone)]
enum Damage {
    Flip { at: usize, value: u8 },
    Truncate { keep: usize },
    Splice { at: usize, bytes: Vec<u8> },
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Damage::Flip { at, value }),
        any::<usize>().prop_map(|keep| Damage::Truncate { keep }),
        (any::<usize>(), opcode()).prop_map(|(at, bytes)| Damage::Splice { at, bytes }),
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
            Damage::Splice { at, bytes: spliced } => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, spliced.iter().copied());
            }
            _ => {}
        }
    }
    bytes
}

/// Opens `bytes` as a checkpoint and streams every tensor it lists.
fn try_open(path: &std::path::Path, bytes: &[u8]) -> bool {
    std::fs::write(path, bytes).unwrap();
    let Ok(file) = TorchFile::open(path) else {
        return false;
    };
    let mut buffer = Vec::new();
    for tensor in file.tensors() {
        let mut seen = 0u64;
        let result =
            file.for_each_chunk(tensor, &mut buffer, |chunk| -> Result<(), WeightsError> {
                seen += chunk.len() as u64;
                Ok(())
            });
        if result.is_ok() {
            assert_eq!(seen, tensor.byte_len());
        }
    }
    true
}

#[test]
fn damaged_checkpoints_never_crash_the_reader() {
    let dir = scratch_dir();
    let path = dir.path().join("pytorch_model.bin");
    let strategy = (valid_checkpoint(), prop::collection::vec(damage(), 1..4));
    let mut opened = 0;
    let tried = fuzz(strategy, CASES, |(file, damages)| {
        if try_open(&path, &apply(file, &damages)) {
            opened += 1;
        }
    });
    eprintln!("fuzz_pickle: {tried} damaged checkpoints read without a crash ({opened} opened)");
    assert_eq!(tried, CASES);
}

#[test]
fn valid_checkpoints_open() {
    let dir = scratch_dir();
    let path = dir.path().join("pytorch_model.bin");
    fuzz(valid_checkpoint(), 200, |bytes| {
        if !try_open(&path, &bytes) {
            panic!(
                "a valid checkpoint was refused: {:?}",
                TorchFile::open(&path).err()
            );
        }
    });
}
