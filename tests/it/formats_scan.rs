//! A hub cache that holds one model in every format, end to end through discovery, the engine
//! and `mother scan --json`: safetensors, the same weights as sharded PyTorch pickles, Q8_0 and
//! F32 GGUF copies, a repo with both safetensors and pickles (safetensors is read, the pickle is
//! never opened), a GGUF in a quant type mother does not decode (skipped with the reason), and a
//! split GGUF set with a part missing.

use crate::common;

use common::formats::{f32_bytes, hub_repo, values, write_safetensors};
use common::gguf_writer::{F32, GgufTensor, IQ2_XS, Q8_0, Value, gguf_bytes};
use common::torch_writer::{PtTensor, torch_save};
use common::{options, run_scan};
use mother::discover::Format;
use std::fs;
use std::path::{Path, PathBuf};

/// A qwen2-like model of two 256-wide matrices and a norm (qwen2: no rope permutation).
struct Model {
    q: Vec<f32>,
    up: Vec<f32>,
    norm: Vec<f32>,
}

const HF_NAMES: [&str; 3] = [
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.0.mlp.up_proj.weight",
    "model.norm.weight",
];

impl Model {
    fn new() -> Self {
        Self {
            q: values(64 * 256, 1),
            up: values(128 * 256, 2),
            norm: values(256, 3),
        }
    }

    fn pickle_tensors(&self) -> Vec<PtTensor> {
        vec![
            PtTensor::f32(HF_NAMES[0], &[64, 256], &self.q),
            PtTensor::f32(HF_NAMES[1], &[128, 256], &self.up),
            PtTensor::f32(HF_NAMES[2], &[256], &self.norm),
        ]
    }

    fn gguf(&self, matrix_type: u32) -> Vec<u8> {
        let metadata = [("general.architecture", Value::Str("qwen2".into()))];
        let tensors = [
            GgufTensor::matrix("blk.0.attn_q.weight", 64, 256, &self.q, matrix_type),
            GgufTensor::matrix("blk.0.ffn_up.weight", 128, 256, &self.up, matrix_type),
            GgufTensor::vector("output_norm.weight", &self.norm),
        ];
        gguf_bytes(3, &metadata, &tensors)
    }

    fn safetensors(&self, dir: &Path) -> Vec<u8> {
        let path = dir.join("scratch.safetensors");
        let f32_entry = |name, shape: &[usize], v: &[f32]| {
            (name, safetensors::Dtype::F32, shape.to_vec(), f32_bytes(v))
        };
        write_safetensors(
            &path,
            &[
                f32_entry(HF_NAMES[0], &[64, 256], &self.q),
                f32_entry(HF_NAMES[1], &[128, 256], &self.up),
                f32_entry(HF_NAMES[2], &[256], &self.norm),
            ],
        );
        let bytes = fs::read(&path).unwrap();
        fs::remove_file(path).unwrap();
        bytes
    }
}

fn fifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

struct Cache {
    _dir: tempfile::TempDir,
    root: PathBuf,
    missing_split: PathBuf,
}

fn build_cache() -> Cache {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("hub");
    fs::create_dir_all(&cache).unwrap();
    let model = Model::new();
    hub_repo(
        &cache,
        "org",
        "base",
        &[("model.safetensors", model.safetensors(dir.path()))],
    );

    let tensors = model.pickle_tensors();
    let index = serde_json::json!({"weight_map": {
        HF_NAMES[0]: "pytorch_model-00001-of-00002.bin",
        HF_NAMES[1]: "pytorch_model-00002-of-00002.bin",
        HF_NAMES[2]: "pytorch_model-00002-of-00002.bin",
    }});
    hub_repo(
        &cache,
        "org",
        "base-pt",
        &[
            (
                "pytorch_model-00001-of-00002.bin",
                torch_save("pytorch_model-00001-of-00002", &tensors[..1]),
            ),
            (
                "pytorch_model-00002-of-00002.bin",
                torch_save("pytorch_model-00002-of-00002", &tensors[1..]),
            ),
            (
                "pytorch_model.bin.index.json",
                index.to_string().into_bytes(),
            ),
        ],
    );

    let both = hub_repo(
        &cache,
        "org",
        "both",
        &[("model.safetensors", model.safetensors(dir.path()))],
    );
    fifo(&both.join("pytorch_model.bin"));

    hub_repo(
        &cache,
        "org",
        "base-GGUF",
        &[
            ("base.Q8_0.gguf", model.gguf(Q8_0)),
            ("base.F32.gguf", model.gguf(F32)),
            ("README.md", b"---\nbase_model: org/base\n---\n".to_vec()),
        ],
    );

    let metadata = [("general.architecture", Value::Str("qwen2".into()))];
    let iq2 = [GgufTensor {
        name: "blk.0.ffn_up.weight".into(),
        dims: vec![256, 2],
        ggml_type: IQ2_XS,
        data: vec![0; 2 * 74],
    }];
    hub_repo(
        &cache,
        "org",
        "iq2-GGUF",
        &[("model.IQ2_XS.gguf", gguf_bytes(3, &metadata, &iq2))],
    );

    let snapshot = hub_repo(
        &cache,
        "org",
        "split-GGUF",
        &[("big-00001-of-00002.gguf", model.gguf(Q8_0))],
    );
    Cache {
        missing_split: snapshot.join("big-00001-of-00002.gguf"),
        root: cache,
        _dir: dir,
    }
}

#[test]
fn every_format_is_discovered_and_fingerprinted_through_one_path() {
    let cache = build_cache();
    let (report, _) = run_scan(&options(&cache.root, None));

    let found: Vec<(&str, Format)> = report
        .models
        .iter()
        .map(|m| (m.entry.id.as_str(), m.entry.format))
        .collect();
    assert_eq!(
        found,
        [
            ("org/base", Format::Safetensors),
            ("org/base-GGUF/base.F32.gguf", Format::Gguf),
            ("org/base-GGUF/base.Q8_0.gguf", Format::Gguf),
            ("org/base-pt", Format::Pickle),
            ("org/both", Format::Safetensors),
        ]
    );
    let fingerprint = |id: &str| {
        &report
            .models
            .iter()
            .find(|m| m.entry.id == id)
            .unwrap()
            .fingerprint
    };
    // Sharded pickles and safetensors of the same weights: the same fingerprint, hashes too.
    assert_eq!(fingerprint("org/base-pt"), fingerprint("org/base"));
    // The F32 GGUF: the same statistics; its bytes are the same too, so are its hashes.
    assert_eq!(
        fingerprint("org/base-GGUF/base.F32.gguf"),
        fingerprint("org/base")
    );
    // The Q8_0 copy: the same names and shapes, dtype Q8_0, norms within the quantisation.
    let q8 = fingerprint("org/base-GGUF/base.Q8_0.gguf");
    assert_eq!(q8.dtype, "Q8_0");
    for (quant, exact) in q8.tensors.iter().zip(&fingerprint("org/base").tensors) {
        assert_eq!((&quant.name, &quant.shape), (&exact.name, &exact.shape));
        let relative = (quant.sum_sq.sqrt() - exact.sum_sq.sqrt()).abs() / exact.sum_sq.sqrt();
        assert!(relative < 0.01, "{}: norm off by {relative}", quant.name);
    }
    let declared = &report.models[2].entry.declared_parent;
    assert_eq!(declared.as_ref().map(|d| d.id.as_str()), Some("org/base"));

    for skipped in &report.skipped {
        println!("{}\n    {}", skipped.path.display(), skipped.reason);
    }
    let reason = |needle: &str| {
        report
            .skipped
            .iter()
            .find(|s| s.reason.contains(needle))
            .unwrap_or_else(|| panic!("nothing skipped for {needle}: {:#?}", report.skipped))
    };
    let iq2 = reason("quant type IQ2_XS is not read");
    assert!(iq2.reason.contains("model.IQ2_XS.gguf"), "{}", iq2.reason);
    assert!(iq2.reason.contains("model.layers.0.mlp.up_proj.weight"));
    let split = reason("big-00002-of-00002.gguf is missing");
    assert_eq!(split.path, cache.missing_split);
    assert_eq!(report.skipped.len(), 2, "{:#?}", report.skipped);
}

#[test]
fn scan_json_names_each_models_format() {
    let cache = build_cache();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mother"))
        .args(["scan", "--json", "--no-cache", "--bootstrap", "100"])
        .arg(&cache.root)
        .output()
        .expect("mother runs");
    assert_eq!(output.status.code(), Some(3), "finished, something skipped");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let formats: Vec<(&str, &str)> = json["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap(), m["format"].as_str().unwrap()))
        .collect();
    assert_eq!(
        formats,
        [
            ("org/base", "safetensors"),
            ("org/base-GGUF/base.F32.gguf", "gguf"),
            ("org/base-GGUF/base.Q8_0.gguf", "gguf"),
            ("org/base-pt", "pickle"),
            ("org/both", "safetensors"),
        ]
    );
}
