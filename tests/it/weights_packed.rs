//! Quantisations packed into safetensors, through the measure layer: each packing is rebuilt
//! as the matrix it stands for (name, shape, values within its quantisation error, the
//! quantisation named), sharded layers are put back together, and damaged or unknown packings
//! refuse the model with the tensor and the reason, never a panic.

use crate::common;

use common::formats::{values, weight_file, write_safetensors};
use common::packed_writer::{self, Entry};
use mother::measure::{Fingerprint, MeasureError, fingerprint_model};
use mother::weights::{Format, PackedScheme, Quantization};
use safetensors::Dtype;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

const OUT: usize = 64;
const IN: usize = 128;

fn weight() -> Vec<f32> {
    values(OUT * IN, 11).iter().map(|v| v * 0.2).collect()
}

fn write(dir: &Path, file: &str, entries: &[Entry]) -> PathBuf {
    let path = dir.join(file);
    let tensors: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = entries
        .iter()
        .map(|(n, d, s, b)| (n.as_str(), *d, s.clone(), b.clone()))
        .collect();
    write_safetensors(&path, &tensors);
    path
}

fn measure(paths: &[PathBuf]) -> Result<Fingerprint, MeasureError> {
    let files: Vec<_> = paths
        .iter()
        .map(|p| weight_file(p, Format::Safetensors))
        .collect();
    fingerprint_model(&files, &|_| {}, &AtomicBool::new(false))
}

/// Relative Frobenius distance between the rebuilt matrix and the original, from the
/// fingerprint's sketch (exact here: the matrix is smaller than the sketch).
fn relative_error(fp: &Fingerprint, original: &[f32]) -> f64 {
    let t = &fp.tensors[0];
    let reference = mother::measure::sketch::sketch_matrix(original, OUT, IN);
    let diff: f64 = t
        .sketch
        .values
        .iter()
        .zip(&reference.values)
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum();
    let norm: f64 = original.iter().map(|&v| f64::from(v).powi(2)).sum();
    (diff / norm).sqrt()
}

#[test]
fn every_packing_is_rebuilt_as_the_matrix_it_stands_for() {
    let dir = tempfile::tempdir().unwrap();
    let w = weight();
    let cases: [(&str, Vec<Entry>, PackedScheme, f64); 4] = [
        (
            "gptq",
            packed_writer::gptq4("l", &w, OUT, IN, 32),
            PackedScheme::Gptq4,
            0.15,
        ),
        (
            "awq",
            packed_writer::awq4("l", &w, OUT, IN, 64),
            PackedScheme::Awq4,
            0.15,
        ),
        (
            "int8",
            packed_writer::bnb_int8("l", &w, OUT, IN),
            PackedScheme::BnbInt8,
            0.02,
        ),
        (
            "nf4",
            packed_writer::bnb_nf4("l", &w, OUT, IN),
            PackedScheme::BnbNf4,
            0.15,
        ),
    ];
    for (file, entries, scheme, bound) in cases {
        let path = write(dir.path(), &format!("{file}.safetensors"), &entries);
        let fp = measure(&[path]).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            fp.tensors.len(),
            1,
            "{file}: one matrix, its parts consumed"
        );
        let t = &fp.tensors[0];
        assert_eq!(
            (t.name.as_str(), t.shape.as_slice()),
            ("l.weight", &[OUT, IN][..])
        );
        assert_eq!(t.quantized, Some(Quantization::Packed(scheme)));
        assert_eq!(fp.quantization(), Some(Quantization::Packed(scheme)));
        assert_eq!(
            fp.params,
            (OUT * IN) as u64,
            "{file}: counted as the matrix"
        );
        let error = relative_error(&fp, &w);
        assert!(error < bound && error > 0.0, "{file}: {error}");
    }
}

#[test]
fn a_layer_split_across_shards_is_put_back_together() {
    let dir = tempfile::tempdir().unwrap();
    let w = weight();
    let entries = packed_writer::gptq4("l", &w, OUT, IN, 32);
    let (first, second) = entries.split_at(2);
    let paths = [
        write(dir.path(), "model-00001-of-00002.safetensors", first),
        write(dir.path(), "model-00002-of-00002.safetensors", second),
    ];
    let whole = measure(&[write(dir.path(), "whole.safetensors", &entries)]).unwrap();
    let sharded = measure(&paths).unwrap();
    assert_eq!(sharded.tensors, whole.tensors);
}

fn refused(entries: &[Entry]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "model.safetensors", entries);
    match measure(&[path]) {
        Err(MeasureError::Packing { tensor, reason, .. }) => format!("{tensor}: {reason}"),
        other => panic!("expected a packing error, got {other:?}"),
    }
}

#[test]
fn damaged_and_unknown_packings_refuse_the_model_with_a_reason() {
    let w = weight();
    // A g_idx naming a group the scales do not have.
    let mut entries = packed_writer::gptq4("l", &w, OUT, IN, 32);
    let g_idx = entries.iter_mut().find(|e| e.0 == "l.g_idx").unwrap();
    g_idx.3[..4].copy_from_slice(&99u32.to_le_bytes());
    let reason = refused(&entries);
    assert!(reason.contains("group 99"), "{reason}");

    // Zeros missing.
    let entries: Vec<Entry> = packed_writer::gptq4("l", &w, OUT, IN, 32)
        .into_iter()
        .filter(|e| e.0 != "l.qzeros")
        .collect();
    let reason = refused(&entries);
    assert!(reason.contains("l.qzeros is missing"), "{reason}");

    // A quant state that is not JSON.
    let mut entries = packed_writer::bnb_nf4("l", &w, OUT, IN);
    let state = entries
        .iter_mut()
        .find(|e| e.0.ends_with("bitsandbytes__nf4"))
        .unwrap();
    state.3 = b"{not json".to_vec();
    state.2 = vec![state.3.len()];
    let reason = refused(&entries);
    assert!(reason.contains("not JSON"), "{reason}");

    // A packing mother does not read (compressed-tensors' pack-quantized layout): refused,
    // rather than measured on its scales alone.
    let entries: Vec<Entry> = vec![
        (
            "l.weight_packed".into(),
            Dtype::I32,
            vec![OUT, IN / 8],
            vec![0; OUT * IN / 2],
        ),
        (
            "l.weight_scale".into(),
            Dtype::F16,
            vec![OUT, 1],
            vec![0; OUT * 2],
        ),
    ];
    let reason = refused(&entries);
    assert!(
        reason.starts_with("l.weight_packed") && reason.contains("does not read"),
        "{reason}"
    );
}

/// Damaged packed layers, many of them: codes, zeros, scales, g_idx and quant states with
/// random bytes, and parts whose shapes were reshaped to other shapes of the same size. Every
/// one must measure or give a packing error, never panic.
#[test]
fn fuzzed_packed_layers_measure_or_give_an_error() {
    use rand::{Rng, SeedableRng};
    let dir = common::formats::scratch_dir();
    let w = weight();
    let layers = [
        packed_writer::gptq4("l", &w, OUT, IN, 32),
        packed_writer::awq4("l", &w, OUT, IN, 64),
        packed_writer::bnb_int8("l", &w, OUT, IN),
        packed_writer::bnb_nf4("l", &w, OUT, IN),
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let (mut tried, mut measured) = (0, 0);
    for case in 0..4000 {
        let mut entries = layers[case % layers.len()].clone();
        let target = rng.random_range(0..entries.len());
        let entry = &mut entries[target];
        if rng.random_bool(0.3) && entry.2.len() == 2 {
            // Another shape with the same number of elements.
            let numel = entry.2[0] * entry.2[1];
            let divisors: Vec<usize> = (1..=numel).filter(|&d| numel.is_multiple_of(d)).collect();
            let rows = divisors[rng.random_range(0..divisors.len())];
            entry.2 = vec![rows, numel / rows];
        } else if !entry.3.is_empty() {
            for _ in 0..rng.random_range(1..8) {
                let at = rng.random_range(0..entry.3.len());
                entry.3[at] = rng.random();
            }
        }
        let path = write(dir.path(), "model.safetensors", &entries);
        match measure(&[path]) {
            Ok(fp) => {
                measured += 1;
                assert!(fp.tensors.iter().all(|t| t.shape.len() == 2));
            }
            Err(MeasureError::Packing { reason, .. }) => assert!(!reason.is_empty()),
            Err(other) => panic!("case {case}: not a packing error: {other}"),
        }
        tried += 1;
    }
    eprintln!("{tried} damaged packed layers tried, {measured} measured");
}
