//! A tiny demo family with every extra, checked against the hub cache layout rules, its truth
//! file, its extras, and for byte-identical output from the same spec.

use crate::common;
use mother::demo::mlp::Shape;
use mother::demo::train::Recipe;
use mother::demo::{Extras, FamilySpec, StoredDtype, build_demo, read_truth};
use mother::weights::FloatDtype;
use safetensors::SafeTensors;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn tiny_spec() -> FamilySpec {
    let quick = |steps| Recipe {
        steps,
        lr: 3e-3,
        batch: 16,
    };
    FamilySpec {
        full_trees: 1,
        lora_trees: 1,
        children: 2,
        depth: 2,
        lora_rank: 2,
        dtype: StoredDtype::Mixed,
        shape: Shape {
            vocab: 40,
            embed: 8,
            hidden: [16, 16, 16],
            classes: 4,
        },
        other_shape: Shape {
            vocab: 30,
            embed: 6,
            hidden: [12, 12, 12],
            classes: 3,
        },
        pretrain: quick(30),
        finetune: quick(5),
        lora_finetune: quick(5),
        extras: Extras::all(),
        ..FamilySpec::small()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    paths.sort();
    paths
}

/// Checks one `models--org--name` folder and returns its snapshot folder.
fn check_repo(repo: &Path) -> PathBuf {
    let commit = fs::read_to_string(repo.join("refs/main")).expect("refs/main");
    assert_eq!(
        commit.len(),
        40,
        "{}: refs/main is {commit:?}",
        repo.display()
    );
    assert!(
        commit
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let snapshots = entries(&repo.join("snapshots"));
    assert_eq!(snapshots, vec![repo.join("snapshots").join(&commit)]);
    for blob in entries(&repo.join("blobs")) {
        let name = blob
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        let bytes = fs::read(&blob).expect("blob");
        assert_eq!(name, sha256_hex(&bytes), "blob name is not its sha256");
    }
    let snapshot = repo.join("snapshots").join(&commit);
    for file in entries(&snapshot) {
        let target = fs::read_link(&file).expect("snapshot files are symlinks");
        assert!(target.is_relative(), "{}: absolute link", file.display());
        assert!(
            target.starts_with("../../blobs"),
            "{} -> {}",
            file.display(),
            target.display()
        );
        let resolved = file.canonicalize().expect("link resolves");
        assert_eq!(
            resolved.parent(),
            Some(repo.join("blobs").canonicalize().expect("blobs").as_path())
        );
    }
    snapshot
}

fn f32_values(file: &SafeTensors, name: &str) -> (Vec<usize>, Vec<f32>) {
    let view = file.tensor(name).expect(name);
    assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
    let values = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (view.shape().to_vec(), values)
}

#[test]
fn tiny_family_follows_the_hub_layout_and_truth() {
    let temp = tempfile::tempdir().expect("temp dir");
    let demo = build_demo(&tiny_spec(), temp.path(), &|_| {}).expect("build");
    let truth = read_truth(temp.path()).expect("truth");
    assert_eq!(truth.truth, demo.truth);

    // 7 full-tree models, 7 LoRA-tree models, 3 of the other architecture, duplicate,
    // quantised and cast copies, the merge, and the adapter. A merge has two parents: it is
    // listed apart from `truth`.
    assert_eq!(demo.models, 7 + 7 + 3 + 3 + 1);
    assert_eq!(demo.adapters, 1);
    assert_eq!(demo.merges, truth.merges);
    assert_eq!(demo.merges.len(), 1);
    assert_eq!(
        demo.truth.len() + demo.merges.len(),
        demo.models + demo.adapters
    );

    let repos: Vec<PathBuf> = entries(&demo.hub)
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(repos.len(), demo.truth.len() + demo.merges.len());
    for id in demo.truth.keys().chain(demo.merges.keys()) {
        let repo = common::repo_dir(&demo.hub, id);
        assert!(repos.contains(&repo), "no repo folder for {id}");
        check_repo(&repo);
    }

    // Roots have no parent; every parent is itself a repo of the family.
    for (id, parent) in &demo.truth {
        match parent {
            None => assert!(id.ends_with("-root"), "{id} has no parent"),
            Some(parent) => assert!(demo.truth.contains_key(parent), "{id} -> {parent}"),
        }
    }
    assert_eq!(
        demo.truth["mother-demo/full0-c1-g0"].as_deref(),
        Some("mother-demo/full0-c1")
    );
    assert_eq!(truth.regime["mother-demo/lora0-c0-g1"], "lora");
    assert_eq!(truth.regime["mother-demo/full0-root"], "pretrain");

    // Tensor names say nothing about the tree.
    let model = common::snapshot_file(&demo.hub, "mother-demo/full0-c1-g0", "model.safetensors");
    let file = SafeTensors::deserialize(&model).expect("safetensors");
    let mut names: Vec<String> = file.names().into_iter().map(str::to_owned).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "embed.weight",
            "layers.0.bias",
            "layers.0.weight",
            "layers.1.bias",
            "layers.1.weight",
            "layers.2.bias",
            "layers.2.weight",
            "layers.3.bias",
            "layers.3.weight"
        ]
    );

    // Mixed dtype: all three dtypes occur, and config.json says which.
    let mut dtypes = BTreeMap::new();
    for (id, regime) in &truth.regime {
        if regime == "adapter" {
            continue;
        }
        let model = common::snapshot_file(&demo.hub, id, "model.safetensors");
        let file = SafeTensors::deserialize(&model).expect("safetensors");
        let dtype = format!(
            "{:?}",
            file.tensor("layers.0.weight").expect("tensor").dtype()
        );
        let config: serde_json::Value =
            serde_json::from_slice(&common::snapshot_file(&demo.hub, id, "config.json"))
                .expect("json");
        let torch = config["torch_dtype"]
            .as_str()
            .expect("torch_dtype")
            .to_owned();
        let expected = match dtype.as_str() {
            "F32" => "float32",
            "F16" => "float16",
            "BF16" => "bfloat16",
            other => panic!("unexpected dtype {other}"),
        };
        assert_eq!(torch, expected, "{id}");
        *dtypes.entry(dtype).or_insert(0) += 1;
    }
    assert_eq!(dtypes.len(), 3, "{dtypes:?}");

    // Duplicate: the same bytes under another id.
    let (copy, source) = truth.extras.duplicate_of.iter().next().expect("duplicate");
    assert_eq!(
        common::snapshot_file(&demo.hub, copy, "model.safetensors"),
        common::snapshot_file(&demo.hub, source, "model.safetensors")
    );
    assert_eq!(demo.truth[copy].as_ref(), Some(source));
    assert_eq!(
        truth.extras.declared.get(copy),
        truth.extras.declared.get(source),
        "the copy's README declares what the source's does"
    );
    assert_eq!(
        common::snapshot_file(&demo.hub, copy, "README.md"),
        common::snapshot_file(&demo.hub, source, "README.md")
    );

    // Quantised copy: every 2-D weight row on its own int8 grid, close to the source.
    let (quantized, source) = truth
        .extras
        .quantized_from
        .iter()
        .next()
        .expect("quantized");
    let q_bytes = common::snapshot_file(&demo.hub, quantized, "model.safetensors");
    let q_file = SafeTensors::deserialize(&q_bytes).expect("safetensors");
    let readme =
        String::from_utf8(common::snapshot_file(&demo.hub, quantized, "README.md")).expect("utf-8");
    assert!(readme.starts_with(&format!(
        "---\nbase_model: {source}\nbase_model_relation: quantized\n"
    )));
    let (shape, values) = f32_values(&q_file, "layers.1.weight");
    for row in values.chunks(shape[1]) {
        let scale = row.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
        for v in row {
            let level = v / scale;
            assert!(
                (level - level.round()).abs() < 1e-3,
                "{v} is off the grid of {scale}"
            );
        }
    }
    assert_ne!(
        q_bytes,
        common::snapshot_file(&demo.hub, source, "model.safetensors")
    );

    // Cast copy: the source's stored values rounded to BF16, and nothing else.
    let (cast, source) = truth.extras.cast_from.iter().next().expect("cast");
    assert_eq!(truth.regime[cast], "cast");
    assert_eq!(demo.truth[cast].as_ref(), Some(source));
    let cast_bytes = common::snapshot_file(&demo.hub, cast, "model.safetensors");
    let source_bytes = common::snapshot_file(&demo.hub, source, "model.safetensors");
    let (cast_file, source_file) = (
        SafeTensors::deserialize(&cast_bytes).expect("safetensors"),
        SafeTensors::deserialize(&source_bytes).expect("safetensors"),
    );
    for name in source_file.names() {
        let (_, values) = f32_values(&source_file, name);
        let mut rounded = Vec::new();
        FloatDtype::BF16.encode_into(&values, &mut rounded);
        let view = cast_file.tensor(name).expect(name);
        assert_eq!(view.dtype(), safetensors::Dtype::BF16, "{name}");
        assert_eq!(view.data(), rounded.as_slice(), "{name}");
    }

    // Merge: 0.6 of the first source plus the rest of the second, of the values they store.
    let (merge, sources) = demo.merges.iter().next().expect("merge");
    assert_eq!(sources.len(), 2);
    let read = |id: &str| common::snapshot_file(&demo.hub, id, "model.safetensors");
    let (merge_bytes, first_bytes, second_bytes) =
        (read(merge), read(&sources[0]), read(&sources[1]));
    let merge_file = SafeTensors::deserialize(&merge_bytes).expect("safetensors");
    let first = SafeTensors::deserialize(&first_bytes).expect("safetensors");
    let second = SafeTensors::deserialize(&second_bytes).expect("safetensors");
    for name in merge_file.names() {
        let (_, merged) = f32_values(&merge_file, name);
        let (a, b) = (
            common::stored_values(&first.tensor(name).expect(name)),
            common::stored_values(&second.tensor(name).expect(name)),
        );
        let expected: Vec<f32> = a
            .iter()
            .zip(&b)
            .map(|(&x, &y)| 0.6 * x + (1.0 - 0.6) * y)
            .collect();
        assert_eq!(merged, expected, "{name}");
    }

    // Adapter: PEFT config and factors that, merged into the base, give the LoRA child.
    let (adapter_id, adapter) = truth.extras.adapters.iter().next().expect("adapter");
    let config: serde_json::Value = serde_json::from_slice(&common::snapshot_file(
        &demo.hub,
        adapter_id,
        "adapter_config.json",
    ))
    .expect("json");
    assert_eq!(config["base_model_name_or_path"], adapter.base.as_str());
    assert_eq!(config["peft_type"], "LORA");
    assert_eq!(config["r"], 2);
    let alpha = config["lora_alpha"].as_f64().expect("lora_alpha");
    let factors = common::snapshot_file(&demo.hub, adapter_id, "adapter_model.safetensors");
    let factors = SafeTensors::deserialize(&factors).expect("safetensors");
    let base_bytes = common::snapshot_file(&demo.hub, &adapter.base, "model.safetensors");
    let merged_bytes = common::snapshot_file(&demo.hub, &adapter.merged_as, "model.safetensors");
    let base = SafeTensors::deserialize(&base_bytes).expect("safetensors");
    let merged = SafeTensors::deserialize(&merged_bytes).expect("safetensors");
    for module in config["target_modules"].as_array().expect("target_modules") {
        let module = module.as_str().expect("module name");
        let (a_shape, a) = f32_values(
            &factors,
            &format!("base_model.model.{module}.lora_A.weight"),
        );
        let (b_shape, b) = f32_values(
            &factors,
            &format!("base_model.model.{module}.lora_B.weight"),
        );
        assert_eq!(a_shape[0], 2);
        assert_eq!(b_shape[1], 2);
        let weight = format!("{module}.weight");
        let to_f32 = |file: &SafeTensors, name: &str| -> Vec<f32> {
            let view = file.tensor(name).expect(name);
            match view.dtype() {
                safetensors::Dtype::F32 => f32_values(file, name).1,
                safetensors::Dtype::F16 => view
                    .data()
                    .chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                safetensors::Dtype::BF16 => view
                    .data()
                    .chunks_exact(2)
                    .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                other => panic!("unexpected dtype {other:?}"),
            }
        };
        let w0 = to_f32(&base, &weight);
        let w1 = to_f32(&merged, &weight);
        let (out, input, rank) = (b_shape[0], a_shape[1], a_shape[0]);
        let scale = (alpha / rank as f64) as f32;
        let mut worst = 0f32;
        let mut moved = 0f32;
        for i in 0..out {
            for j in 0..input {
                let delta: f32 = (0..rank).map(|k| b[i * rank + k] * a[k * input + j]).sum();
                let expected = w0[i * input + j] + scale * delta;
                worst = worst.max((expected - w1[i * input + j]).abs());
                moved = moved.max((scale * delta).abs());
            }
        }
        // Stored dtypes may be f16/bf16, so allow their rounding.
        let tolerance = 1e-2 * w1.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(worst <= tolerance, "{module}: merged weight off by {worst}");
        assert!(moved > 0.0, "{module}: the adapter never trained");
    }

    // Declared parents.
    let readme = String::from_utf8(common::snapshot_file(
        &demo.hub,
        "mother-demo/full0-c0",
        "README.md",
    ))
    .expect("utf-8");
    assert!(readme.contains("base_model: mother-demo/full0-root\nbase_model_relation: finetune\n"));
    assert_eq!(truth.extras.other_arch.len(), 3);
    let config: serde_json::Value = serde_json::from_slice(&common::snapshot_file(
        &demo.hub,
        &truth.extras.other_arch[0],
        "config.json",
    ))
    .expect("json");
    assert_eq!(config["architectures"][0], "ZipfMlpNarrow");
}

/// Every file under `dir`, with symlinks as their target text, keyed by relative path.
fn tree_contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut contents = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = fs::symlink_metadata(&path).expect("metadata");
        let relative = path.strip_prefix(dir).expect("inside").to_path_buf();
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).expect("link");
            contents.insert(relative, target.to_string_lossy().as_bytes().to_vec());
        } else if meta.is_dir() {
            stack.extend(entries(&path));
        } else {
            contents.insert(relative, fs::read(&path).expect("file"));
        }
    }
    contents
}

#[test]
fn same_spec_gives_identical_bytes() {
    let first = tempfile::tempdir().expect("temp dir");
    let second = tempfile::tempdir().expect("temp dir");
    build_demo(&tiny_spec(), first.path(), &|_| {}).expect("first build");
    build_demo(&tiny_spec(), second.path(), &|_| {}).expect("second build");
    let a = tree_contents(first.path());
    let b = tree_contents(second.path());
    assert!(a.len() > 50, "only {} files", a.len());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(bytes == &b[path], "{} differs between runs", path.display());
    }

    let mut other_seed = tiny_spec();
    other_seed.seed += 1;
    let third = tempfile::tempdir().expect("temp dir");
    build_demo(&other_seed, third.path(), &|_| {}).expect("third build");
    assert_ne!(
        tree_contents(
            &first
                .path()
                .join("hub/models--mother-demo--full0-root/blobs")
        ),
        tree_contents(
            &third
                .path()
                .join("hub/models--mother-demo--full0-root/blobs")
        ),
        "another seed must give other weights"
    );
}

#[test]
fn rebuilding_over_an_old_family_replaces_it() {
    let temp = tempfile::tempdir().expect("temp dir");
    build_demo(&tiny_spec(), temp.path(), &|_| {}).expect("first build");
    let mut smaller = tiny_spec();
    smaller.children = 1;
    smaller.extras = Extras::none();
    let demo = build_demo(&smaller, temp.path(), &|_| {}).expect("second build");
    assert_eq!(read_truth(temp.path()).expect("truth").truth, demo.truth);
    let repos: Vec<PathBuf> = entries(&demo.hub)
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    let expected: Vec<PathBuf> = demo
        .truth
        .keys()
        .map(|id| common::repo_dir(&demo.hub, id))
        .collect();
    assert_eq!(repos, expected, "repos of the old family are left over");
    for repo in &repos {
        check_repo(repo);
    }
}

#[test]
fn impossible_specs_are_refused_with_the_fix() {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut spec = tiny_spec();
    spec.lora_trees = 0;
    let error = build_demo(&spec, temp.path(), &|_| {}).expect_err("adapter without LoRA tree");
    assert!(error.to_string().contains("adapter"), "{error}");
    let mut spec = tiny_spec();
    spec.lora_rank = 100;
    let error = build_demo(&spec, temp.path(), &|_| {}).expect_err("rank too large");
    assert!(error.to_string().contains("rank 100"), "{error}");
    assert!(read_truth(temp.path()).is_err());
}

#[test]
fn demo_options_shape_the_spec() {
    use clap::Parser;
    use mother::cli::{Cli, Command};
    let cli = Cli::try_parse_from([
        "mother",
        "demo",
        "/tmp/somewhere",
        "--small",
        "--lora-trees",
        "2",
        "--depth",
        "1",
        "--lora-rank",
        "4",
        "--dtype",
        "bf16",
        "--no-extras",
    ])
    .expect("valid options");
    let Some(Command::Demo(args)) = cli.command else {
        panic!("not the demo command");
    };
    let spec = args.spec();
    assert_eq!(spec.full_trees, FamilySpec::small().full_trees);
    assert_eq!((spec.lora_trees, spec.depth, spec.lora_rank), (2, 1, 4));
    assert_eq!(spec.dtype, StoredDtype::Bf16);
    assert_eq!(spec.extras, Extras::none());
    assert_eq!(args.dir.as_deref(), Some(Path::new("/tmp/somewhere")));
    assert!(Cli::try_parse_from(["mother", "demo", "--dtype", "f8"]).is_err());
}
