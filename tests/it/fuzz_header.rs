//! A bounded fuzzer for the safetensors header parser and validator, run in CI: random bytes,
//! and valid files with random damage (byte flips, truncation, a forged header length, spliced
//! JSON). Every input must give `Ok` or a specific error — never a panic — and whatever opens
//! must stream all its tensors without panicking. Each test prints how many inputs it tried.
//! The same inputs also go through the reference reader (the `safetensors` crate): mother
//! refuses whatever it refuses, and reads what both read the same way.

use crate::header_differential;

use header_differential::{Stricter, Verdict};
use mother::weights::SafetensorsFile;
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

const CASES: u32 = 20_000;

fn try_open(bytes: &[u8]) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    file.flush().unwrap();
    if let Ok(opened) = SafetensorsFile::open(file.path()) {
        let mut buffer = Vec::new();
        for tensor in opened.tensors() {
            let mut seen = 0u64;
            let result: Result<(), mother::weights::WeightsError> =
                opened.for_each_chunk(tensor, &mut buffer, |chunk| {
                    seen += chunk.len() as u64;
                    Ok(())
                });
            if result.is_ok() {
                assert_eq!(seen, tensor.byte_len());
            }
        }
    }
}

/// A valid file with up to four small tensors of assorted dtypes and shapes.
fn valid_file() -> impl Strategy<Value = Vec<u8>> {
    let tensor = (
        prop::sample::select(vec!["F32", "F16", "BF16", "F64", "I8", "U8", "BOOL"]),
        prop::collection::vec(0usize..5, 0..3),
    );
    prop::collection::vec(tensor, 0..4).prop_map(|tensors| {
        let mut header = serde_json::Map::new();
        let mut offset = 0usize;
        for (index, (dtype, shape)) in tensors.iter().enumerate() {
            let size = match *dtype {
                "F64" => 8,
                "F32" => 4,
                "F16" | "BF16" => 2,
                _ => 1,
            };
            let len = shape.iter().product::<usize>() * size;
            header.insert(
                format!("t{index}"),
                serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len]}),
            );
            offset += len;
        }
        header.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
        let json = serde_json::to_vec(&header).unwrap();
        let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&json);
        bytes.extend((0..offset).map(|i| (i * 37 % 251) as u8));
        bytes
    })
}

#[derive(Debug, Clone)]
enum Damage {
    Flip { at: usize, value: u8 },
    Truncate { keep: usize },
    HeaderLength(u64),
    Splice { at: usize, text: String },
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Damage::Flip { at, value }),
        any::<usize>().prop_map(|keep| Damage::Truncate { keep }),
        prop_oneof![Just(u64::MAX), Just(100_000_001), 0u64..4096].prop_map(Damage::HeaderLength),
        (
            any::<usize>(),
            prop::sample::select(vec![
                "}",
                "{",
                "\"",
                "[-1]",
                "1e400",
                "\u{0}",
                "\u{fffd}",
                ",\"x\":{}",
                "null",
                "[0,18446744073709551615]",
            ]),
        )
            .prop_map(|(at, text)| Damage::Splice {
                at,
                text: text.to_string()
            }),
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
            Damage::HeaderLength(len) if bytes.len() >= 8 => {
                bytes[..8].copy_from_slice(&len.to_le_bytes());
            }
            Damage::Splice { at, text } => {
                let at = if bytes.is_empty() {
                    0
                } else {
                    at % bytes.len()
                };
                bytes.splice(at..at, text.bytes());
            }
            _ => {}
        }
    }
    bytes
}

/// Runs `cases` inputs from `strategy` through `check`, from a fixed seed so CI is repeatable,
/// and returns how many were tried.
fn fuzz<S: Strategy>(strategy: S, cases: u32, check: impl Fn(S::Value)) -> u32
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
    runner
        .run(&strategy, |value| {
            check(value);
            tried.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .unwrap();
    tried.load(Ordering::Relaxed)
}

#[test]
fn random_bytes_never_crash() {
    let strategy = prop::collection::vec(any::<u8>(), 0..512);
    let tried = fuzz(strategy, CASES, |bytes| try_open(&bytes));
    eprintln!("fuzz_header: {tried} random inputs tried without a crash");
    assert_eq!(tried, CASES);
}

#[test]
fn damaged_files_never_crash() {
    let strategy = (valid_file(), prop::collection::vec(damage(), 1..4));
    let tried = fuzz(strategy, CASES, |(file, damages)| {
        try_open(&apply(file, &damages))
    });
    eprintln!("fuzz_header: {tried} damaged files tried without a crash");
    assert_eq!(tried, CASES);
}

#[test]
fn valid_files_open() {
    fuzz(valid_file(), 200, |bytes| {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&bytes).unwrap();
        file.flush().unwrap();
        let opened = SafetensorsFile::open(file.path());
        assert!(
            opened.is_ok(),
            "a valid file was refused: {:?}",
            opened.err()
        );
    });
}

/// The fuzz corpus against the reference reader: valid files, and valid files with up to
/// three kinds of damage. Both outcomes must be common, or the comparison proves little.
#[test]
fn mother_refuses_whatever_the_reference_reader_refuses() {
    let verdicts = Mutex::new(BTreeMap::<Verdict, u32>::new());
    let strategy = (valid_file(), prop::collection::vec(damage(), 0..4));
    fuzz(strategy, CASES, |(file, damages)| {
        let mut written = tempfile::NamedTempFile::new().unwrap();
        written.write_all(&apply(file, &damages)).unwrap();
        written.flush().unwrap();
        let verdict = header_differential::compare(written.path());
        *verdicts.lock().unwrap().entry(verdict).or_default() += 1;
    });
    let verdicts = verdicts.into_inner().unwrap();
    eprintln!("fuzz_header: against the reference reader {verdicts:?}");
    assert!(verdicts.get(&Verdict::BothRead).is_some_and(|&n| n > 1000));
    assert!(
        verdicts
            .get(&Verdict::BothRefuse)
            .is_some_and(|&n| n > 1000)
    );
}

/// The two places where mother is knowingly stricter than the reference, each pinned by a file.
#[test]
fn mother_is_stricter_only_where_it_says_why() {
    let file = |header: &str, data: &[u8]| {
        let mut written = tempfile::NamedTempFile::new().unwrap();
        written
            .write_all(&(header.len() as u64).to_le_bytes())
            .unwrap();
        written.write_all(header.as_bytes()).unwrap();
        written.write_all(data).unwrap();
        written.flush().unwrap();
        written
    };
    let fnuz = file(
        r#"{"w":{"dtype":"F8_E4M3FNUZ","shape":[2],"data_offsets":[0,2]}}"#,
        &[0, 0],
    );
    assert_eq!(
        header_differential::compare(fnuz.path()),
        Verdict::MotherStricter(Stricter::UnknownDtype)
    );
    let null = file(
        r#"{"__metadata__":null,"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        &[0; 4],
    );
    assert_eq!(
        header_differential::compare(null.path()),
        Verdict::MotherStricter(Stricter::NullMetadata)
    );
}
