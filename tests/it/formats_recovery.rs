//! Conversions of really trained demo models are recovered identically.
//!
//! The small demo family (full fine-tunes and merged LoRA fine-tunes, stored F32, BF16 and F16)
//! is written a second time, every model converted with the project's own writers the way
//! people convert checkpoints: as a `torch.save` zip pickle in its own dtypes, as a pickle cast
//! to F16, as a pickle sharded in two with its index, as a task model's safetensors (every name
//! under `bert.` or `model.`, with a new task head), and as itself. Beside them sit quantised
//! copies of three models: GGUF in Q8_0 and in Q4_K (following ggml's block layouts), and
//! safetensors packed as GPTQ, AWQ, bitsandbytes int8 and NF4 (`common::packed_writer`). The
//! forest recovered from the converted cache must have the same edges as the forest of the
//! originals, and every quantised copy must hang under its source as a quantised copy. A
//! stranger's hostile `pytorch_model.bin` in the same cache is refused with its reason, and the
//! marker file its payload would create never appears.

use crate::common;

use common::formats::{hub_repo, values, write_safetensors};
use common::gguf_writer::{GgufTensor, Q4_K, Q8_0, Value, gguf_bytes};
use common::packed_writer::{self, Entry};
use common::torch_writer::{PtTensor, torch_records, torch_save, zip_archive};
use common::{options, run_scan, small_family};
use mother::discover::Format;
use mother::engine::ScanReport;
use mother::lineage::EdgeKind;
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// One stored tensor, decoded.
struct Stored {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    values: Vec<f32>,
}

/// The demo repos of the family: (org, name, the safetensors file of its snapshot).
fn demo_repos(hub: &Path) -> Vec<(String, String, PathBuf)> {
    let mut repos: Vec<(String, String, PathBuf)> = fs::read_dir(hub)
        .unwrap()
        .filter_map(|entry| {
            let folder = entry.unwrap().file_name().into_string().unwrap();
            let rest = folder.strip_prefix("models--")?;
            let (org, name) = rest.split_once("--")?;
            let snapshots = hub.join(&folder).join("snapshots");
            let snapshot = fs::read_dir(snapshots).unwrap().next()?.unwrap().path();
            Some((
                org.to_string(),
                name.to_string(),
                snapshot.join("model.safetensors"),
            ))
        })
        .collect();
    repos.sort();
    repos
}

fn read_model(path: &Path) -> Vec<Stored> {
    let bytes = fs::read(path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<Stored> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let data = view.data();
            let values = match view.dtype() {
                Dtype::F32 => data
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect(),
                Dtype::BF16 => data
                    .chunks_exact(2)
                    .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                Dtype::F16 => data
                    .chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                other => panic!("the demo does not store {other:?}"),
            };
            Stored {
                name,
                dtype: view.dtype(),
                shape: view.shape().to_vec(),
                values,
            }
        })
        .collect();
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    tensors
}

/// The tensor as `torch.save` would store it in its own dtype, or cast to F16.
fn pt_tensor(t: &Stored, name: &str, cast_f16: bool) -> PtTensor {
    match (t.dtype, cast_f16) {
        (_, true) | (Dtype::F16, _) => PtTensor::f16(name, &t.shape, &t.values),
        (Dtype::BF16, _) => PtTensor::bf16(name, &t.shape, &t.values),
        _ => PtTensor::f32(name, &t.shape, &t.values),
    }
}

fn stored_bytes(t: &Stored) -> Vec<u8> {
    match t.dtype {
        Dtype::F32 => t.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        Dtype::BF16 => t
            .values
            .iter()
            .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
            .collect(),
        Dtype::F16 => t
            .values
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect(),
        other => panic!("the demo does not store {other:?}"),
    }
}

/// The bytes of a safetensors file of `entries`, written through `scratch`.
fn safetensors_bytes(entries: &[Entry], scratch: &Path) -> Vec<u8> {
    let path = scratch.join("scratch.safetensors");
    let tensors: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = entries
        .iter()
        .map(|(name, dtype, shape, data)| (name.as_str(), *dtype, shape.clone(), data.clone()))
        .collect();
    write_safetensors(&path, &tensors);
    let bytes = fs::read(&path).unwrap();
    fs::remove_file(path).unwrap();
    bytes
}

/// A task model's safetensors: every tensor under `prefix`, plus a freshly initialised head.
fn task_model(tensors: &[Stored], prefix: &str, head: &str, scratch: &Path) -> Vec<u8> {
    let classes = 4;
    let width = tensors
        .iter()
        .find(|t| t.name == "layers.3.weight")
        .map_or(16, |t| t.shape[0]);
    // A new head starts small and random, as `nn.Linear` initialises it; it is not compared.
    let head_values: Vec<f32> = values(classes * width, 99)
        .iter()
        .map(|v| v * 0.1)
        .collect();
    let mut entries: Vec<Entry> = tensors
        .iter()
        .map(|t| {
            (
                format!("{prefix}{}", t.name),
                t.dtype,
                t.shape.clone(),
                stored_bytes(t),
            )
        })
        .collect();
    entries.push((
        head.to_string(),
        Dtype::F32,
        vec![classes, width],
        head_values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    ));
    safetensors_bytes(&entries, scratch)
}

/// The model with eight tokens added to its vocabulary, as `resize_token_embeddings` adds
/// them: new embedding rows drawn around the mean of the old ones. Only the rows both share are
/// compared.
fn grown_vocabulary(tensors: &[Stored], scratch: &Path) -> Vec<u8> {
    let mut entries: Vec<Entry> = Vec::new();
    for t in tensors {
        let (shape, values) = if t.name == "embed.weight" {
            let (rows, cols) = (t.shape[0], t.shape[1]);
            let mean: Vec<f32> = (0..cols)
                .map(|c| (0..rows).map(|r| t.values[r * cols + c]).sum::<f32>() / rows as f32)
                .collect();
            let noise = values(8 * cols, 5);
            let mut grown = t.values.clone();
            grown.extend((0..8 * cols).map(|k| mean[k % cols] + 0.02 * noise[k]));
            (vec![rows + 8, cols], grown)
        } else {
            (t.shape.clone(), t.values.clone())
        };
        let stored = Stored {
            name: t.name.clone(),
            dtype: t.dtype,
            shape: shape.clone(),
            values,
        };
        entries.push((t.name.clone(), t.dtype, shape, stored_bytes(&stored)));
    }
    safetensors_bytes(&entries, scratch)
}

/// A GGUF copy: matrices in `matrix_type` where their rows fit its blocks (Q4_K needs 256
/// values a block), else Q8_0, as llama.cpp falls back; vectors in F32.
fn gguf_copy(tensors: &[Stored], matrix_type: u32) -> Vec<u8> {
    let block = if matrix_type == Q4_K { 256 } else { 32 };
    let gguf: Vec<GgufTensor> = tensors
        .iter()
        .map(|t| match t.shape.as_slice() {
            [rows, cols] => {
                let ggml_type = if cols % block == 0 { matrix_type } else { Q8_0 };
                GgufTensor::matrix(&t.name, *rows, *cols, &t.values, ggml_type)
            }
            _ => GgufTensor::vector(&t.name, &t.values),
        })
        .collect();
    let metadata = [("general.architecture", Value::Str("mother-mlp".into()))];
    gguf_bytes(3, &metadata, &gguf)
}

/// A quantiser of one linear layer: (stem, weight `[out, in]`, out, in) to stored tensors.
type Pack<'a> = &'a dyn Fn(&str, &[f32], usize, usize) -> Vec<Entry>;

/// A quantised safetensors copy: every linear layer packed by `pack` (stem, weight, out, in),
/// the embedding and the biases kept in F16, as the quantisers leave them.
fn packed_copy(tensors: &[Stored], scratch: &Path, pack: Pack<'_>) -> Vec<u8> {
    let mut entries: Vec<Entry> = Vec::new();
    for t in tensors {
        match (t.name.strip_suffix(".weight"), t.shape.as_slice()) {
            (Some(stem), [out, inputs]) if t.name != "embed.weight" => {
                entries.extend(pack(stem, &t.values, *out, *inputs));
            }
            _ => entries.push((
                t.name.clone(),
                Dtype::F16,
                t.shape.clone(),
                t.values
                    .iter()
                    .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                    .collect(),
            )),
        }
    }
    safetensors_bytes(&entries, scratch)
}

/// A `pytorch_model.bin` whose pickle would run `touch MARKER` if Python unpickled it.
fn hostile_pickle(marker: &Path) -> Vec<u8> {
    let command = format!("touch {}", marker.display());
    let pickle = [
        b"\x80\x02cposix\nsystem\nX".as_slice(),
        &(command.len() as u32).to_le_bytes(),
        command.as_bytes(),
        b"\x85R.",
    ]
    .concat();
    zip_archive(
        &torch_records("archive", pickle, &[("0".into(), vec![0u8; 64])]),
        false,
    )
}

/// Writes the converted cache; returns it with the ids of the quantised copies and their
/// sources.
fn converted_cache(originals: &Path, out: &Path) -> (PathBuf, Vec<(String, String)>) {
    let hub = out.join("hub");
    fs::create_dir_all(&hub).unwrap();
    let mut gguf_copies = Vec::new();
    for (i, (org, name, file)) in demo_repos(originals).iter().enumerate() {
        let tensors = read_model(file);
        let pickle = |cast_f16: bool| -> Vec<(&str, Vec<u8>)> {
            let pt: Vec<PtTensor> = tensors
                .iter()
                .map(|t| pt_tensor(t, &t.name, cast_f16))
                .collect();
            vec![("pytorch_model.bin", torch_save("pytorch_model", &pt))]
        };
        let files: Vec<(&str, Vec<u8>)> = match i % 7 {
            0 => pickle(false),
            1 => pickle(true),
            2 => {
                let pt: Vec<PtTensor> = tensors
                    .iter()
                    .map(|t| pt_tensor(t, &t.name, false))
                    .collect();
                let (first, second) = pt.split_at(pt.len() / 2);
                let shard = |k: usize| format!("pytorch_model-0000{k}-of-00002");
                let weight_map: serde_json::Map<String, serde_json::Value> = pt
                    .iter()
                    .enumerate()
                    .map(|(j, t)| {
                        let k = if j < first.len() { 1 } else { 2 };
                        (t.name.clone(), format!("{}.bin", shard(k)).into())
                    })
                    .collect();
                let index = serde_json::json!({ "weight_map": weight_map });
                vec![
                    (
                        "pytorch_model-00001-of-00002.bin",
                        torch_save(&shard(1), first),
                    ),
                    (
                        "pytorch_model-00002-of-00002.bin",
                        torch_save(&shard(2), second),
                    ),
                    (
                        "pytorch_model.bin.index.json",
                        index.to_string().into_bytes(),
                    ),
                ]
            }
            3 => vec![(
                "model.safetensors",
                task_model(&tensors, "bert.", "classifier.weight", out),
            )],
            4 => vec![(
                "model.safetensors",
                task_model(&tensors, "model.", "score.weight", out),
            )],
            5 => vec![("model.safetensors", grown_vocabulary(&tensors, out))],
            _ => vec![("model.safetensors", fs::read(file).unwrap())],
        };
        hub_repo(&hub, org, name, &files);
        if name.ends_with("-root") || name == "full0-c1" {
            let copies = [
                (format!("{name}.Q8_0.gguf"), gguf_copy(&tensors, Q8_0)),
                (format!("{name}.Q4_K.gguf"), gguf_copy(&tensors, Q4_K)),
            ];
            let files: Vec<(&str, Vec<u8>)> = copies
                .iter()
                .map(|(f, b)| (f.as_str(), b.clone()))
                .collect();
            hub_repo(&hub, org, &format!("{name}-GGUF"), &files);
            for (file, _) in &copies {
                gguf_copies.push((format!("{org}/{name}-GGUF/{file}"), format!("{org}/{name}")));
            }
            let packings: [(&str, Pack<'_>); 4] = [
                ("GPTQ", &|s, w, o, i| packed_writer::gptq4(s, w, o, i, 32)),
                ("AWQ", &|s, w, o, i| packed_writer::awq4(s, w, o, i, 32)),
                ("bnb-8bit", &packed_writer::bnb_int8),
                ("bnb-4bit", &packed_writer::bnb_nf4),
            ];
            for (suffix, pack) in packings {
                let copy = format!("{name}-{suffix}");
                let bytes = packed_copy(&tensors, out, pack);
                hub_repo(&hub, org, &copy, &[("model.safetensors", bytes)]);
                gguf_copies.push((format!("{org}/{copy}"), format!("{org}/{name}")));
            }
        }
    }
    hub_repo(
        &hub,
        "stranger",
        "hostile",
        &[("pytorch_model.bin", hostile_pickle(&out.join("MARKER")))],
    );
    (hub, gguf_copies)
}

/// Every (parent id, child id) edge of the recovered forest.
fn edges(report: &ScanReport) -> BTreeSet<(String, String, &'static str)> {
    let id = |i: usize| report.models[i].entry.id.clone();
    report
        .recovery
        .edges
        .iter()
        .map(|e| (id(e.parent), id(e.child), e.kind.words()))
        .collect()
}

#[test]
fn converted_demo_models_recover_the_same_forest_and_gguf_copies_hang_under_their_sources() {
    let family = small_family();
    let originals = family.join("hub");
    let scratch = tempfile::tempdir().unwrap();
    let (converted, gguf_copies) = converted_cache(&originals, scratch.path());

    let (original_report, _) = run_scan(&options(&originals, None));
    let (converted_report, _) = run_scan(&options(&converted, None));
    // Everything is read but the hostile pickle, which is refused, and nothing ran.
    let skipped: Vec<String> = converted_report
        .skipped
        .iter()
        .map(|s| s.reason.clone())
        .collect();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(
        skipped[0].contains("pickle calls posix.system — refused; nothing was run"),
        "{skipped:?}"
    );
    assert!(!scratch.path().join("MARKER").exists());
    let formats: BTreeSet<&str> = converted_report
        .models
        .iter()
        .map(|m| m.format_name())
        .collect();
    let all = [
        Format::Safetensors.name(),
        Format::Pickle.name(),
        Format::Gguf.name(),
    ];
    let packings = ["gptq", "awq", "bitsandbytes"];
    assert_eq!(formats, all.into_iter().chain(packings).collect());

    let expected = edges(&original_report);
    let copies: BTreeSet<&str> = gguf_copies.iter().map(|(c, _)| c.as_str()).collect();
    let (recovered_copies, recovered): (BTreeSet<_>, BTreeSet<_>) = edges(&converted_report)
        .into_iter()
        .partition(|(_, child, _)| copies.contains(child.as_str()));
    assert_eq!(
        recovered, expected,
        "the converted models recover the originals' forest"
    );
    let want_copies: BTreeSet<(String, String, &str)> = gguf_copies
        .iter()
        .map(|(copy, source)| (source.clone(), copy.clone(), EdgeKind::Quantized.words()))
        .collect();
    assert_eq!(recovered_copies, want_copies);
    // Rebuilt right, every quantised matrix is as far from its source's as its quantisation
    // noise: under 1% for 8 bits, 5 to 15% for 4-bit groups on these heavy-tailed weights.
    // Rebuilt wrong, it would be as far as the whole matrix (100% or more).
    let by_id = |id: &str| {
        converted_report
            .models
            .iter()
            .find(|m| m.entry.id == id)
            .unwrap()
    };
    for (copy, source) in &gguf_copies {
        let (copy, source) = (by_id(copy), by_id(source));
        for t in copy
            .fingerprint
            .tensors
            .iter()
            .filter(|t| t.quantized.is_some())
        {
            let s = source
                .fingerprint
                .tensors
                .iter()
                // The source may be a converted task model, its names under a prefix.
                .find(|s| s.name == t.name || s.name.ends_with(&format!(".{}", t.name)))
                .unwrap();
            let diff: f64 = t
                .sketch
                .values
                .iter()
                .zip(&s.sketch.values)
                .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                .sum();
            let relative = (diff / s.sum_sq).sqrt();
            let bound = if copy.entry.id.contains("8bit") || copy.entry.id.contains("Q8_0") {
                0.02
            } else {
                0.25
            };
            assert!(
                relative < bound && t.shape == s.shape,
                "{} {}: {relative:.3} of its norm from the source's",
                copy.entry.id,
                t.name
            );
        }
    }

    // The task models' edges say how their tensors were matched.
    let recovery = &converted_report.recovery;
    let task = |prefix: &str| {
        recovery
            .edges
            .iter()
            .filter(|e| e.matching.child_prefix == prefix || e.matching.parent_prefix == prefix)
            .count()
    };
    assert!(task("bert.") > 0 && task("model.") > 0);
    let grown = recovery
        .edges
        .iter()
        .filter(|e| e.matching.shared_rows == 1)
        .count();
    assert!(
        grown > 0,
        "the grown vocabulary is compared on its shared rows"
    );
    for edge in &recovery.edges {
        if edge.matching.child_prefix == "bert." {
            assert_eq!(edge.matching.child_only, 1, "{:?}", edge.matching);
        }
    }
}
