//! Discovery on plain folder trees: nesting, shards, adapters, the three metadata sources, other
//! weight formats, and every kind of bad input the walk must survive without a panic or a hang.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use mother::discover::{DeclaredParent, DiscoverError, Discovery, Format, ModelKind, discover};

use crate::common;
use common::discovery::{ids, reason_for, safetensors_bytes};

/// Writes `files` (name -> content) into `dir`, creating folders as needed.
fn write(dir: &Path, files: &[(&str, &[u8])]) {
    for (name, content) in files {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
}

fn parent(found: &Discovery, id: &str) -> Option<DeclaredParent> {
    let model = found.models.iter().find(|model| model.id == id);
    model
        .unwrap_or_else(|| panic!("{id} not found"))
        .declared_parent
        .clone()
}

fn declared(id: &str, relation: Option<&str>, source: &str) -> Option<DeclaredParent> {
    Some(DeclaredParent {
        id: id.to_string(),
        relation: relation.map(str::to_string),
        source: source.to_string(),
    })
}

#[test]
fn nested_folders_are_models_named_by_their_relative_path() {
    let root = tempfile::tempdir().unwrap();
    let w = safetensors_bytes();
    write(
        root.path(),
        &[
            ("a/model.safetensors", &w),
            ("b/c/model.safetensors", &w),
            ("b/c/checkpoint-500/model.safetensors", &w),
            ("d/notes.txt", b"no weights here"),
            ("e/part-b.safetensors", &w),
            ("e/part-a.safetensors", &[1u8; 20]),
            ("e/notes.txt", b"x"),
        ],
    );

    let found = discover(root.path()).unwrap();

    assert_eq!(ids(&found), ["a", "b/c", "b/c/checkpoint-500", "e"]);
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    let e = &found.models[3];
    let names: Vec<&OsStr> = e
        .weight_files
        .iter()
        .map(|file| file.path.file_name().unwrap())
        .collect();
    assert_eq!(names, ["part-a.safetensors", "part-b.safetensors"]);
    assert_eq!(e.total_bytes, 20 + w.len() as u64);
    assert_eq!(e.dir, root.path().join("e"));
    assert_eq!(e.revision, None);
}

#[test]
fn a_root_that_is_itself_a_model_is_named_after_its_folder() {
    let root = tempfile::tempdir().unwrap();
    let model = root.path().join("tiny-bert");
    write(&model, &[("model.safetensors", &safetensors_bytes())]);

    let found = discover(&model).unwrap();

    assert_eq!(ids(&found), ["tiny-bert"]);
}

#[test]
fn shards_come_from_the_index_and_a_missing_shard_skips_the_model() {
    let root = tempfile::tempdir().unwrap();
    let w = safetensors_bytes();
    let index = r#"{"metadata": {"total_size": 32}, "weight_map": {
        "a": "model-00002-of-00002.safetensors",
        "b": "model-00001-of-00002.safetensors",
        "c": "model-00002-of-00002.safetensors"}}"#;
    write(
        root.path(),
        &[
            ("whole/model.safetensors.index.json", index.as_bytes()),
            ("whole/model-00001-of-00002.safetensors", &w),
            ("whole/model-00002-of-00002.safetensors", &w),
            ("whole/consolidated.safetensors", &w),
            ("broken/model.safetensors.index.json", index.as_bytes()),
            ("broken/model-00001-of-00002.safetensors", &w),
            ("garbled/model.safetensors.index.json", b"{\"weight_map\": "),
            ("garbled/model-00001-of-00002.safetensors", &w),
        ],
    );

    let found = discover(root.path()).unwrap();

    assert_eq!(ids(&found), ["whole"]);
    let shards: Vec<&OsStr> = found.models[0]
        .weight_files
        .iter()
        .map(|file| file.path.file_name().unwrap())
        .collect();
    assert_eq!(
        shards,
        [
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors"
        ]
    );
    assert_eq!(found.models[0].total_bytes, 2 * w.len() as u64);
    let missing = root.path().join("broken/model-00002-of-00002.safetensors");
    let reason = reason_for(&found, &missing);
    assert!(
        reason.contains("shard model-00002-of-00002.safetensors named in model.safetensors.index.json is missing"),
        "{reason}"
    );
    assert!(reason.contains("model broken skipped"), "{reason}");
    let reason = reason_for(
        &found,
        &root.path().join("garbled/model.safetensors.index.json"),
    );
    assert!(reason.contains("not valid JSON"), "{reason}");
    assert_eq!(found.skipped.len(), 2, "{:?}", found.skipped);
}

#[test]
fn peft_adapters_carry_base_and_rank() {
    let root = tempfile::tempdir().unwrap();
    let config = r#"{"peft_type": "LORA", "base_model_name_or_path": "org/base", "r": 16,
                     "lora_alpha": 32, "target_modules": ["q", "v"]}"#;
    write(
        root.path(),
        &[
            ("lora/adapter_config.json", config.as_bytes()),
            ("lora/adapter_model.safetensors", &safetensors_bytes()),
            ("bare/adapter_model.safetensors", &safetensors_bytes()),
        ],
    );

    let found = discover(root.path()).unwrap();

    assert_eq!(ids(&found), ["bare", "lora"]);
    assert_eq!(
        found.models[1].kind,
        ModelKind::Adapter {
            base: Some("org/base".to_string()),
            rank: Some(16)
        }
    );
    assert_eq!(
        parent(&found, "lora"),
        declared("org/base", Some("adapter"), "adapter_config.json")
    );
    assert_eq!(
        found.models[0].kind,
        ModelKind::Adapter {
            base: None,
            rank: None
        }
    );
    assert_eq!(parent(&found, "bare"), None);
}

#[test]
fn each_metadata_source_names_the_parent() {
    let root = tempfile::tempdir().unwrap();
    let w = safetensors_bytes();
    let config = |name_or_path: &str| {
        format!(
            r#"{{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "dtype": "bfloat16", "_name_or_path": "{name_or_path}"}}"#
        )
    };
    let from_base = config("org/base");
    let from_itself = config("/home/me/out/selfsaved");
    let from_short_self = config("short");
    let from_local_parent = config("./runs/base");
    write(
        root.path(),
        &[
            ("string/model.safetensors", &w),
            (
                "string/README.md",
                b"---\nbase_model: \"org/quoted\" # parent\nbase_model_relation: quantized\n---\n",
            ),
            ("string/config.json", from_base.as_bytes()),
            ("list/model.safetensors", &w),
            (
                "list/README.md",
                b"---\nbase_model:\n  - org/first\n  - org/second\n---\n",
            ),
            ("config/model.safetensors", &w),
            ("config/config.json", from_base.as_bytes()),
            (
                "config/README.md",
                b"# No front matter\nbase_model: org/not-yaml\n",
            ),
            ("selfsaved/model.safetensors", &w),
            ("selfsaved/config.json", from_itself.as_bytes()),
            ("org/short/model.safetensors", &w),
            ("org/short/config.json", from_short_self.as_bytes()),
            ("local/model.safetensors", &w),
            ("local/config.json", from_local_parent.as_bytes()),
        ],
    );

    let found = discover(root.path()).unwrap();

    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    assert_eq!(
        parent(&found, "string"),
        declared("org/quoted", Some("quantized"), "README.md")
    );
    assert_eq!(
        parent(&found, "list"),
        declared("org/first", None, "README.md")
    );
    assert_eq!(
        parent(&found, "config"),
        declared("org/base", None, "config.json")
    );
    assert_eq!(parent(&found, "selfsaved"), None);
    assert_eq!(parent(&found, "org/short"), None);
    assert_eq!(
        parent(&found, "local"),
        declared("./runs/base", None, "config.json")
    );
    let config = &found
        .models
        .iter()
        .find(|m| m.id == "config")
        .unwrap()
        .config;
    assert_eq!(config.architecture.as_deref(), Some("LlamaForCausalLM"));
    assert_eq!(config.model_type.as_deref(), Some("llama"));
    assert_eq!(config.dtype.as_deref(), Some("bfloat16"));
}

#[test]
fn oversized_or_broken_metadata_is_noted_and_the_model_still_found() {
    let root = tempfile::tempdir().unwrap();
    let mut card = b"---\nbase_model: org/huge\n---\n".to_vec();
    card.resize(9 * 1024 * 1024, b'x');
    write(
        root.path(),
        &[
            ("m/model.safetensors", &safetensors_bytes()),
            ("m/README.md", &card),
            ("m/config.json", b"{not json"),
        ],
    );

    let found = discover(root.path()).unwrap();

    assert_eq!(ids(&found), ["m"]);
    assert_eq!(found.models[0].declared_parent, None);
    let reason = reason_for(&found, &root.path().join("m/README.md"));
    assert!(
        reason.contains("MB") && reason.contains("not read"),
        "{reason}"
    );
    let reason = reason_for(&found, &root.path().join("m/config.json"));
    assert!(reason.contains("not valid JSON"), "{reason}");
}

#[test]
fn other_formats_are_skipped_unopened_and_quiet_beside_safetensors_or_outside_models() {
    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        &[
            ("old/model.pt", b"pickle bytes"),
            ("old/training_args.bin", b"pickle bytes"),
            ("old/config.json", b"{}"),
            ("both/model.safetensors", &safetensors_bytes()),
            ("both/pytorch_model.bin", b"pickle bytes"),
            ("flax/flax_model.msgpack", b"msgpack"),
            ("onnx/model.onnx", b"onnx"),
            ("misc/tutor.pt", b"not a model"),
            ("misc/firmware.bin", b"not a model"),
            ("misc/paths.pth", b"not a model"),
        ],
    );
    let pt = root.path().join("old/model.pt");
    // Unreadable: proves the .pt is judged by its name, never opened.
    fs::set_permissions(&pt, fs::Permissions::from_mode(0o000)).unwrap();

    let found = discover(root.path()).unwrap();

    assert_eq!(ids(&found), ["both"]);
    assert_eq!(found.models[0].weight_files.len(), 1);
    assert_eq!(found.models[0].format, Format::Safetensors);
    assert_eq!(
        reason_for(&found, &pt),
        "model.pt: pickle weights are read only as pytorch_model.bin, adapter_model.bin or the shards of a *.bin.index.json — convert to safetensors"
    );
    assert!(reason_for(&found, &root.path().join("flax/flax_model.msgpack")).contains("msgpack"));
    assert!(reason_for(&found, &root.path().join("onnx/model.onnx")).contains("ONNX"));
    assert_eq!(found.skipped.len(), 3, "{:?}", found.skipped);
    fs::set_permissions(&pt, fs::Permissions::from_mode(0o644)).unwrap();
}

/// A Python environment beside the models (a venv, or a system's dist-packages) holds the
/// test files of installed packages; they are not walked, so they neither show up as models nor
/// flood the skipped list.
#[test]
fn python_package_folders_are_not_walked() {
    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        &[
            ("mine/model.safetensors", &safetensors_bytes()),
            ("venv/pyvenv.cfg", b"home = /usr/bin"),
            (
                "venv/lib/python3.12/site-packages/onnx/backend/test/data/model.onnx",
                b"onnx",
            ),
            (
                "venv/lib/python3.12/site-packages/pkg/tests/model.safetensors",
                &safetensors_bytes(),
            ),
            (
                "usr/lib/python3/dist-packages/pkg/data/pytorch_model.bin",
                b"pickle bytes",
            ),
        ],
    );
    let found = discover(root.path()).unwrap();
    assert_eq!(ids(&found), ["mine"]);
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
}

#[test]
fn pickles_pickle_adapters_and_gguf_files_are_models_of_their_format() {
    let root = tempfile::tempdir().unwrap();
    let bytes = [7u8; 64];
    write(
        root.path(),
        &[
            ("pt/pytorch_model.bin", &bytes),
            ("pt/config.json", br#"{"model_type": "llama"}"#),
            ("pt-lora/adapter_model.bin", &bytes),
            (
                "pt-lora/adapter_config.json",
                br#"{"r": 8, "base_model_name_or_path": "pt"}"#,
            ),
            ("mixed/model.safetensors", &safetensors_bytes()),
            ("mixed/model-Q8_0.gguf", &bytes),
            ("one/tiny.gguf", &bytes),
            ("split/m-00002-of-00002.gguf", &bytes),
            ("split/m-00001-of-00002.gguf", &bytes),
            ("split/notes-Q4_K.gguf", &bytes),
        ],
    );

    let found = discover(root.path()).unwrap();

    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    let models: Vec<(&str, Format, usize)> = found
        .models
        .iter()
        .map(|m| (m.id.as_str(), m.format, m.weight_files.len()))
        .collect();
    assert_eq!(
        models,
        [
            ("mixed", Format::Safetensors, 1),
            ("mixed/model-Q8_0.gguf", Format::Gguf, 1),
            ("one", Format::Gguf, 1),
            ("pt", Format::Pickle, 1),
            ("pt-lora", Format::Pickle, 1),
            ("split/m-00001-of-00002.gguf", Format::Gguf, 2),
            ("split/notes-Q4_K.gguf", Format::Gguf, 1),
        ]
    );
    let lora = &found.models[4];
    assert_eq!(
        lora.kind,
        ModelKind::Adapter {
            base: Some("pt".into()),
            rank: Some(8)
        }
    );
    let split = &found.models[5];
    assert!(
        split.weight_files[0]
            .path
            .ends_with("m-00001-of-00002.gguf")
    );
    assert!(
        split.weight_files[1]
            .path
            .ends_with("m-00002-of-00002.gguf")
    );
    assert!(split.weight_files.iter().all(|f| f.format == Format::Gguf));
}

#[test]
fn zero_byte_and_broken_weights_skip_the_model_with_the_file_named() {
    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        &[
            ("empty/model.safetensors", b""),
            ("tiny/model.safetensors", b"abc"),
            ("ok/model.safetensors", &safetensors_bytes()),
        ],
    );
    let broken_dir = root.path().join("broken");
    fs::create_dir(&broken_dir).unwrap();
    symlink(
        "../gone/model.safetensors",
        broken_dir.join("model.safetensors"),
    )
    .unwrap();

    let found = discover(root.path()).unwrap();

    assert_eq!(ids(&found), ["ok"]);
    let reason = reason_for(&found, &root.path().join("empty/model.safetensors"));
    assert!(reason.starts_with("is empty (0 bytes)"), "{reason}");
    assert!(reason.contains("model empty skipped"), "{reason}");
    let reason = reason_for(&found, &root.path().join("tiny/model.safetensors"));
    assert!(reason.contains("too small to be safetensors"), "{reason}");
    let reason = reason_for(&found, &broken_dir.join("model.safetensors"));
    assert!(reason.starts_with("points to missing"), "{reason}");
    assert!(reason.contains("gone/model.safetensors"), "{reason}");
}

#[test]
fn symlink_loops_end_and_are_reported() {
    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        &[("m/model.safetensors", &safetensors_bytes())],
    );
    symlink("..", root.path().join("m/up")).unwrap();
    let looped = root.path().join("looped");
    fs::create_dir(&looped).unwrap();
    symlink("b.safetensors", looped.join("a.safetensors")).unwrap();
    symlink("a.safetensors", looped.join("b.safetensors")).unwrap();

    let found = discover(root.path()).unwrap();

    assert_eq!(ids(&found), ["m"]);
    assert!(reason_for(&found, &root.path().join("m/up")).contains("symlink loop"));
    let reason = reason_for(&found, &looped.join("a.safetensors"));
    assert!(reason.contains("symlink loop"), "{reason}");
    assert!(reason_for(&found, &looped.join("b.safetensors")).contains("symlink loop"));
}

#[test]
fn folder_links_out_of_the_tree_are_followed_once() {
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        &[("shared/model.safetensors", &safetensors_bytes())],
    );
    let root = tempfile::tempdir().unwrap();
    symlink(outside.path().join("shared"), root.path().join("first")).unwrap();
    symlink(outside.path().join("shared"), root.path().join("second")).unwrap();
    write(
        root.path(),
        &[("real/model.safetensors", &safetensors_bytes())],
    );
    symlink(root.path().join("real"), root.path().join("alias")).unwrap();

    let found = discover(root.path()).unwrap();

    assert_eq!(ids(&found), ["first", "real"]);
    assert_eq!(
        found.models[0].weight_files[0].resolved,
        fs::canonicalize(outside.path().join("shared/model.safetensors")).unwrap()
    );
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
}

#[test]
fn an_unreadable_folder_is_reported_and_the_rest_goes_on() {
    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        &[
            ("locked/model.safetensors", &safetensors_bytes()),
            ("open/model.safetensors", &safetensors_bytes()),
        ],
    );
    let locked = root.path().join("locked");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    // Root (as in CI containers) reads any folder whatever its mode; then the only honest check
    // is that the locked folder is scanned like any other.
    let privileged = fs::read_dir(&locked).is_ok();

    let found = discover(root.path());
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    let found = found.unwrap();

    if privileged {
        assert_eq!(ids(&found), ["locked", "open"]);
        assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    } else {
        assert_eq!(ids(&found), ["open"]);
        let reason = reason_for(&found, &locked);
        assert!(reason.contains("cannot read this folder"), "{reason}");
        assert!(reason.contains("chmod"), "{reason}");
    }
}

#[test]
fn non_utf8_names_keep_their_real_path() {
    let root = tempfile::tempdir().unwrap();
    let name = OsStr::from_bytes(b"caf\xff");
    let dir = root.path().join(name);
    write(&dir, &[("model.safetensors", &safetensors_bytes())]);
    let odd_file = root
        .path()
        .join("odd")
        .join(OsStr::from_bytes(b"w\xfe.safetensors"));
    write(root.path(), &[("odd/x", b"")]);
    fs::write(&odd_file, safetensors_bytes()).unwrap();
    let odd_bin = root.path().join("bin").join(OsStr::from_bytes(b"\xfe.bin"));
    write(root.path(), &[("bin/config.json", b"{}")]);
    fs::write(&odd_bin, b"pickle").unwrap();

    let found = discover(root.path()).unwrap();

    assert_eq!(ids(&found), ["caf\u{FFFD}", "odd"]);
    assert_eq!(found.models[0].dir, dir);
    assert_eq!(
        found.models[0].weight_files[0].path,
        dir.join("model.safetensors")
    );
    assert_eq!(found.models[1].weight_files[0].path, odd_file);
    assert!(
        reason_for(&found, &odd_bin).starts_with("\u{FFFD}.bin: pickle weights are read only as")
    );
}

#[test]
fn ten_thousand_small_files_are_listed_without_trouble() {
    let root = tempfile::tempdir().unwrap();
    let crowd = root.path().join("crowd");
    fs::create_dir(&crowd).unwrap();
    for i in 0..10_000 {
        fs::write(crowd.join(format!("sample-{i:05}.txt")), b"x").unwrap();
    }
    write(
        root.path(),
        &[
            ("crowd/model.safetensors", &safetensors_bytes()),
            ("crowd/sub/model.safetensors", &safetensors_bytes()),
        ],
    );

    let started = std::time::Instant::now();
    let found = discover(root.path()).unwrap();
    eprintln!("10k files scanned in {:?}", started.elapsed());

    assert_eq!(ids(&found), ["crowd", "crowd/sub"]);
    assert_eq!(found.models[0].weight_files.len(), 1);
    assert!(found.skipped.is_empty());
}

#[test]
fn a_missing_root_or_a_file_root_is_a_clear_error() {
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("nope");
    let DiscoverError::Root { path, reason } = discover(&missing).unwrap_err();
    assert_eq!(path, missing);
    assert!(reason.starts_with("does not exist"), "{reason}");

    let file = root.path().join("model.safetensors");
    fs::write(&file, safetensors_bytes()).unwrap();
    let error = discover(&file).unwrap_err();
    assert!(error.to_string().contains("is not a folder"), "{error}");
    assert!(error.to_string().contains("model.safetensors"), "{error}");
}

#[test]
fn a_fifo_named_like_metadata_does_not_hang_the_scan() {
    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        &[("m/model.safetensors", &safetensors_bytes())],
    );
    let fifo = root.path().join("m/config.json");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|status| status.success()) {
        eprintln!("mkfifo not available; nothing to check");
        return;
    }
    symlink("config.json", root.path().join("m/README.md")).unwrap();

    let found = discover(root.path()).unwrap();

    assert_eq!(ids(&found), ["m"]);
    assert_eq!(found.models[0].config, Default::default());
}

/// Every entry under `dir` (not following links): kind, link target or content hash.
fn tree_state(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut state = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode();
            let what = if meta.file_type().is_symlink() {
                format!("link {}", fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                pending.push(path.clone());
                format!("dir {mode:o}")
            } else {
                let bytes = fs::read(&path).unwrap();
                let hash = twox_hash::XxHash3_64::oneshot(&bytes);
                format!(
                    "file {mode:o} {} {hash:016x} {:?}",
                    bytes.len(),
                    meta.modified().unwrap()
                )
            };
            state.push((path, what));
        }
    }
    state.sort();
    state
}

#[test]
fn scanning_changes_nothing_on_disk() {
    let root = tempfile::tempdir().unwrap();
    let w = safetensors_bytes();
    let index = br#"{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}"#;
    write(
        root.path(),
        &[
            ("plain/model.safetensors", &w),
            ("plain/config.json", br#"{"_name_or_path": "org/base"}"#),
            ("plain/README.md", b"---\nbase_model: org/base\n---\n"),
            ("sharded/model.safetensors.index.json", index),
            ("sharded/s1.safetensors", &w),
            ("lora/adapter_model.safetensors", &w),
            ("lora/adapter_config.json", br#"{"r": 4}"#),
            ("old/pytorch_model.bin", b"pickle"),
            ("empty/model.safetensors", b""),
        ],
    );
    symlink(
        "missing.safetensors",
        root.path().join("plain/extra.safetensors"),
    )
    .unwrap();
    symlink("..", root.path().join("plain/up")).unwrap();
    let before = tree_state(root.path());

    let found = discover(root.path()).unwrap();
    let again = discover(root.path()).unwrap();

    assert_eq!(tree_state(root.path()), before);
    assert_eq!(found, again);
    assert_eq!(ids(&found), ["lora", "plain"]);
    assert_eq!(found.skipped.len(), 5, "{:?}", found.skipped);
}

#[test]
fn an_index_naming_a_shard_outside_the_folder_skips_the_model() {
    let root = tempfile::tempdir().unwrap();
    let index = br#"{"weight_map": {"a": "../stolen.safetensors"}}"#;
    write(
        root.path(),
        &[
            ("m/model.safetensors.index.json", index),
            ("stolen.safetensors", &safetensors_bytes()),
        ],
    );

    let found = discover(root.path()).unwrap();

    assert_eq!(
        ids(&found),
        [root.path().file_name().unwrap().to_str().unwrap()]
    );
    let reason = reason_for(&found, &root.path().join("m/model.safetensors.index.json"));
    assert!(reason.contains("outside the model's folder"), "{reason}");
}

#[test]
fn the_walk_stops_at_a_depth_limit_and_says_where() {
    let root = tempfile::tempdir().unwrap();
    let mut deep = root.path().to_path_buf();
    for level in 0..30 {
        deep.push(format!("d{level}"));
    }
    write(&deep, &[("model.safetensors", &safetensors_bytes())]);
    write(
        root.path(),
        &[("d0/d1/model.safetensors", &safetensors_bytes())],
    );

    let found = discover(root.path()).unwrap();

    assert_eq!(ids(&found), ["d0/d1"]);
    assert_eq!(found.skipped.len(), 1, "{:?}", found.skipped);
    assert!(found.skipped[0].reason.contains("folders deep"));
    assert!(deep.starts_with(&found.skipped[0].path));
}
