//! Discovery on Hugging Face hub caches built in temp folders the way the official client lays
//! them out: `models--org--name/{blobs,refs,snapshots}` with snapshot files as relative links.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use mother::discover::{DeclaredParent, Discovery, Format, ModelKind, discover};

use crate::common;
use common::discovery::{ids, reason_for, safetensors_bytes};

const C1: &str = "1111111111111111111111111111111111111111";
const C2: &str = "2222222222222222222222222222222222222222";
const C3: &str = "3333333333333333333333333333333333333333";

/// A `models--…` repo folder with its three subfolders.
fn repo(cache: &Path, folder: &str) -> PathBuf {
    let repo = cache.join(folder);
    for sub in ["blobs", "refs", "snapshots"] {
        fs::create_dir_all(repo.join(sub)).unwrap();
    }
    repo
}

/// Writes `bytes` as blob `etag` and links `snapshots/<commit>/<file>` to it, relatively.
fn linked_file(repo: &Path, commit: &str, file: &str, etag: &str, bytes: &[u8]) -> PathBuf {
    fs::write(repo.join("blobs").join(etag), bytes).unwrap();
    dangling_link(repo, commit, file, etag)
}

/// Links `snapshots/<commit>/<file>` to blob `etag` without writing the blob.
fn dangling_link(repo: &Path, commit: &str, file: &str, etag: &str) -> PathBuf {
    let link = repo.join("snapshots").join(commit).join(file);
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    let ups = 1 + Path::new(file).components().count();
    let target = format!("{}blobs/{etag}", "../".repeat(ups));
    symlink(target, &link).unwrap();
    link
}

fn set_ref(repo: &Path, name: &str, content: &str) -> PathBuf {
    let path = repo.join("refs").join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, content).unwrap();
    path
}

#[test]
fn snapshot_links_resolve_to_blobs_and_metadata_is_read() {
    let cache = tempfile::tempdir().unwrap();
    let bert = repo(cache.path(), "models--org--bert-tuned");
    let weights = linked_file(
        &bert,
        C1,
        "model.safetensors",
        "etag-w",
        &safetensors_bytes(),
    );
    let config = r#"{"architectures": ["BertModel"], "model_type": "bert", "torch_dtype": "float32",
                     "_name_or_path": "org/bert-tuned", "hidden_size": 8}"#;
    linked_file(&bert, C1, "config.json", "etag-c", config.as_bytes());
    let card = "---\nlicense: mit\nbase_model:\n- org/bert-base\n- org/other\nbase_model_relation: finetune\n---\n# Card\n";
    linked_file(&bert, C1, "README.md", "etag-r", card.as_bytes());
    set_ref(&bert, "main", C1);
    let gpt2 = repo(cache.path(), "models--gpt2");
    linked_file(
        &gpt2,
        C2,
        "model.safetensors",
        "etag-g",
        &safetensors_bytes(),
    );

    let found = discover(cache.path()).unwrap();

    assert_eq!(ids(&found), ["gpt2", "org/bert-tuned"]);
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    let model = &found.models[1];
    assert_eq!(model.dir, bert.join("snapshots").join(C1));
    assert_eq!(model.revision.as_deref(), Some(C1));
    assert_eq!(model.kind, ModelKind::Full);
    assert_eq!(model.weight_files.len(), 1);
    let file = &model.weight_files[0];
    assert_eq!(file.path, weights);
    assert_eq!(
        file.resolved,
        fs::canonicalize(bert.join("blobs/etag-w")).unwrap()
    );
    assert_eq!(file.bytes, safetensors_bytes().len() as u64);
    assert_eq!(model.total_bytes, file.bytes);
    assert_eq!(
        file.modified,
        Some(
            fs::metadata(bert.join("blobs/etag-w"))
                .unwrap()
                .modified()
                .unwrap()
        )
    );
    assert!(model.last_accessed.is_some());
    assert_eq!(model.config.architecture.as_deref(), Some("BertModel"));
    assert_eq!(model.config.model_type.as_deref(), Some("bert"));
    assert_eq!(model.config.dtype.as_deref(), Some("float32"));
    assert_eq!(
        model.declared_parent,
        Some(DeclaredParent {
            id: "org/bert-base".to_string(),
            relation: Some("finetune".to_string()),
            source: "README.md".to_string(),
        })
    );
    // `_name_or_path` naming the repo itself is not a parent.
    assert_eq!(found.models[0].declared_parent, None);
}

#[test]
fn several_revisions_with_weights_get_short_commit_suffixes() {
    let cache = tempfile::tempdir().unwrap();
    let many = repo(cache.path(), "models--org--many");
    linked_file(&many, C1, "model.safetensors", "w1", &safetensors_bytes());
    linked_file(&many, C2, "model.safetensors", "w2", &safetensors_bytes());
    linked_file(&many, C3, "config.json", "c3", b"{}");
    set_ref(&many, "main", &format!("{C2}\n"));
    set_ref(&many, "pr/1", C1);
    let one = repo(cache.path(), "models--org--one");
    linked_file(&one, C1, "model.safetensors", "w1", &safetensors_bytes());
    linked_file(&one, C2, "config.json", "c2", b"{}");

    let found = discover(cache.path()).unwrap();

    assert_eq!(
        ids(&found),
        ["org/many@11111111", "org/many@22222222", "org/one"]
    );
    assert_eq!(found.models[0].revision.as_deref(), Some(C1));
    assert_eq!(found.models[1].revision.as_deref(), Some(C2));
    assert_eq!(found.models[2].revision.as_deref(), Some(C1));
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
}

#[test]
fn real_files_instead_of_links_are_their_own_resolved_path() {
    let cache = tempfile::tempdir().unwrap();
    let plain = repo(cache.path(), "models--org--nolinks");
    let snapshot = plain.join("snapshots").join(C1);
    fs::create_dir_all(&snapshot).unwrap();
    fs::write(snapshot.join("model.safetensors"), safetensors_bytes()).unwrap();

    let found = discover(cache.path()).unwrap();

    assert_eq!(ids(&found), ["org/nolinks"]);
    let file = &found.models[0].weight_files[0];
    assert_eq!(file.path, snapshot.join("model.safetensors"));
    assert_eq!(
        file.resolved,
        fs::canonicalize(snapshot.join("model.safetensors")).unwrap()
    );
}

#[test]
fn datasets_spaces_and_client_bookkeeping_are_not_models() {
    let cache = tempfile::tempdir().unwrap();
    for other in ["datasets--org--data", "spaces--org--app"] {
        let other = repo(cache.path(), other);
        linked_file(&other, C1, "model.safetensors", "w", &safetensors_bytes());
    }
    fs::create_dir_all(cache.path().join(".locks/models--org--m")).unwrap();
    fs::write(
        cache.path().join("CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55",
    )
    .unwrap();
    fs::write(cache.path().join("version.txt"), "1").unwrap();
    let model = repo(cache.path(), "models--org--m");
    linked_file(&model, C1, "model.safetensors", "w", &safetensors_bytes());

    let found = discover(cache.path()).unwrap();

    assert_eq!(ids(&found), ["org/m"]);
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
}

#[test]
fn a_hugging_face_home_is_scanned_through_its_hub_folder() {
    let home = tempfile::tempdir().unwrap();
    fs::write(home.path().join("token"), "not-a-real-token").unwrap();
    let hub = home.path().join("hub");
    let model = repo(&hub, "models--org--m");
    linked_file(&model, C1, "model.safetensors", "w", &safetensors_bytes());

    let found = discover(home.path()).unwrap();

    assert_eq!(ids(&found), ["org/m"]);
    assert_eq!(
        found.models[0].dir,
        hub.join("models--org--m/snapshots").join(C1)
    );
}

#[test]
fn a_hub_folder_of_a_plain_tree_is_walked_as_folders() {
    let root = tempfile::tempdir().unwrap();
    let model = root.path().join("hub/my-model");
    fs::create_dir_all(&model).unwrap();
    fs::write(model.join("model.safetensors"), safetensors_bytes()).unwrap();

    let found = discover(root.path()).unwrap();

    assert_eq!(ids(&found), ["hub/my-model"]);
}

#[test]
fn half_downloads_broken_links_and_dangling_refs_are_reported_per_file() {
    let cache = tempfile::tempdir().unwrap();
    let half = repo(cache.path(), "models--org--half");
    let incomplete = half.join("blobs/0a1b2c.incomplete");
    fs::write(&incomplete, b"partial").unwrap();
    let broken = dangling_link(&half, C1, "model.safetensors", "deadbeef");
    linked_file(&half, C1, "config.json", "c", b"{}");
    let broken_readme = dangling_link(&half, C1, "README.md", "cafe");
    let dangling = set_ref(&half, "main", C2);
    let fine = repo(cache.path(), "models--org--fine");
    linked_file(&fine, C1, "model.safetensors", "w", &safetensors_bytes());

    let found = discover(cache.path()).unwrap();

    assert_eq!(ids(&found), ["org/fine"]);
    assert_eq!(
        reason_for(&found, &incomplete),
        "download in progress or interrupted — re-run the download of org/half"
    );
    let reason = reason_for(&found, &broken);
    assert!(
        reason
            .starts_with("points to missing blob deadbeef — half-downloaded? re-download org/half"),
        "{reason}"
    );
    assert!(reason_for(&found, &broken_readme).contains("missing blob cafe"));
    let reason = reason_for(&found, &dangling);
    assert!(
        reason.contains(C2) && reason.contains("no snapshot folder"),
        "{reason}"
    );
    assert_eq!(found.skipped.len(), 4, "{:?}", found.skipped);
    let mut paths: Vec<&Path> = found.skipped.iter().map(|s| s.path.as_path()).collect();
    let sorted = {
        let mut sorted = paths.clone();
        sorted.sort();
        sorted
    };
    assert_eq!(paths, sorted, "skipped must come sorted by path");
    paths.dedup();
    assert_eq!(paths.len(), 4);
}

#[test]
fn an_empty_cache_is_fine() {
    let cache = tempfile::tempdir().unwrap();
    fs::create_dir(cache.path().join(".locks")).unwrap();
    fs::write(cache.path().join("version.txt"), "1").unwrap();
    assert_eq!(discover(cache.path()).unwrap(), Discovery::default());

    let home = tempfile::tempdir().unwrap();
    fs::create_dir(home.path().join("hub")).unwrap();
    assert_eq!(discover(home.path()).unwrap(), Discovery::default());

    let nothing = tempfile::tempdir().unwrap();
    assert_eq!(discover(nothing.path()).unwrap(), Discovery::default());
}

#[test]
fn snapshot_subfolders_are_models_of_their_own_and_exports_stay_quiet() {
    let cache = tempfile::tempdir().unwrap();
    let sd = repo(cache.path(), "models--org--sd");
    let bytes = safetensors_bytes();
    linked_file(
        &sd,
        C1,
        "unet/diffusion_pytorch_model.safetensors",
        "u",
        &bytes,
    );
    linked_file(&sd, C1, "text_encoder/model.safetensors", "t", &bytes);
    linked_file(&sd, C1, "model_index.json", "i", b"{}");
    let st = repo(cache.path(), "models--org--st");
    linked_file(&st, C1, "model.safetensors", "w", &bytes);
    linked_file(&st, C1, "onnx/model.onnx", "o", b"onnx bytes");
    linked_file(&st, C1, "pytorch_model.bin", "p", b"pickle bytes");

    let found = discover(cache.path()).unwrap();

    assert_eq!(
        ids(&found),
        ["org/sd/text_encoder", "org/sd/unet", "org/st"]
    );
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    assert_eq!(found.models[2].weight_files.len(), 1);
}

#[test]
fn pickle_and_gguf_snapshots_are_models_of_their_format() {
    let cache = tempfile::tempdir().unwrap();
    let old = repo(cache.path(), "models--org--old");
    let bin = linked_file(&old, C1, "pytorch_model.bin", "p", &[b'P'; 64]);
    linked_file(&old, C1, "config.json", "c", b"{}");
    let quant = repo(cache.path(), "models--org--quant-GGUF");
    let gguf = linked_file(&quant, C1, "model.Q8_0.gguf", "g", &[b'G'; 64]);
    linked_file(
        &quant,
        C1,
        "README.md",
        "r",
        b"---\nbase_model: org/old\n---\n",
    );

    let found = discover(cache.path()).unwrap();

    assert_eq!(ids(&found), ["org/old", "org/quant-GGUF"]);
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    assert_eq!(found.models[0].format, Format::Pickle);
    assert_eq!(found.models[0].weight_files[0].path, bin);
    assert_eq!(found.models[0].weight_files[0].format, Format::Pickle);
    assert_eq!(found.models[1].format, Format::Gguf);
    assert_eq!(found.models[1].weight_files[0].path, gguf);
    assert_eq!(
        found.models[1]
            .declared_parent
            .as_ref()
            .map(|d| d.id.as_str()),
        Some("org/old")
    );
}

#[test]
fn a_hub_cache_inside_a_plain_tree_is_read_as_a_hub() {
    let root = tempfile::tempdir().unwrap();
    let hub = root.path().join(".cache/huggingface/hub");
    let model = repo(&hub, "models--org--m");
    linked_file(&model, C1, "model.safetensors", "w", &safetensors_bytes());
    let data = repo(&hub, "datasets--org--d");
    linked_file(&data, C1, "model.safetensors", "w", &safetensors_bytes());
    let mine = root.path().join("models--mine");
    fs::create_dir_all(&mine).unwrap();
    fs::write(mine.join("model.safetensors"), safetensors_bytes()).unwrap();

    let found = discover(root.path()).unwrap();

    assert_eq!(ids(&found), ["models--mine", "org/m"]);
    assert_eq!(found.models[1].revision.as_deref(), Some(C1));
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
}

#[test]
fn a_repo_in_two_hub_caches_gets_an_id_that_names_each_cache() {
    let root = tempfile::tempdir().unwrap();
    for family in ["gentle1001", "gentle1002"] {
        let model = repo(&root.path().join(family).join("hub"), "models--org--m");
        linked_file(&model, C1, "model.safetensors", "w", &safetensors_bytes());
    }
    let only = repo(&root.path().join("gentle1002/hub"), "models--org--only");
    linked_file(&only, C1, "model.safetensors", "w", &safetensors_bytes());
    // A plain folder that spells the same repo id, relative to the root itself.
    fs::create_dir_all(root.path().join("org/m")).unwrap();
    fs::write(
        root.path().join("org/m/model.safetensors"),
        safetensors_bytes(),
    )
    .unwrap();

    let found = discover(root.path()).unwrap();

    // Only the ids that would repeat are qualified, with the folder (relative to PATH) that
    // holds each; the model that is alone keeps its plain repo id.
    assert_eq!(
        ids(&found),
        [
            ".:org/m",
            "gentle1001/hub:org/m",
            "gentle1002/hub:org/m",
            "org/only"
        ]
    );
    assert!(
        found
            .models
            .iter()
            .all(|m| m.bare_id() != m.id || m.id == "org/only")
    );
    assert_eq!(
        discover(root.path()).unwrap(),
        found,
        "ids are the same on every scan"
    );

    // One of the caches scanned alone keeps the ids it always had.
    let alone = discover(&root.path().join("gentle1001/hub")).unwrap();
    assert_eq!(ids(&alone), ["org/m"]);
}
