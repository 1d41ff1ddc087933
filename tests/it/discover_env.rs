//! Where the hub cache is, by the same precedence as the official client, checked with made-up
//! environments, and once through the binary given an environment of its own (this process's
//! environment is never touched).

use std::ffi::OsString;
use std::path::PathBuf;

use mother::discover::hub_cache_from;

fn cache(pairs: &[(&str, &str)]) -> Option<PathBuf> {
    hub_cache_from(|name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| OsString::from(value))
    })
}

const ALL: [(&str, &str); 5] = [
    ("HF_HUB_CACHE", "/a/hub-cache"),
    ("HUGGINGFACE_HUB_CACHE", "/b/legacy"),
    ("HF_HOME", "/c/hf-home"),
    ("XDG_CACHE_HOME", "/d/xdg"),
    ("HOME", "/e/home"),
];

#[test]
fn each_variable_wins_over_the_ones_after_it() {
    let expected = [
        "/a/hub-cache",
        "/b/legacy",
        "/c/hf-home/hub",
        "/d/xdg/huggingface/hub",
        "/e/home/.cache/huggingface/hub",
    ];
    for (dropped, expected) in expected.iter().enumerate() {
        assert_eq!(
            cache(&ALL[dropped..]),
            Some(PathBuf::from(expected)),
            "with {:?}",
            &ALL[dropped..]
        );
    }
}

#[test]
fn empty_values_count_as_unset() {
    let env = [("HF_HUB_CACHE", ""), ("HF_HOME", "/h"), ("HOME", "/e")];
    assert_eq!(cache(&env), Some(PathBuf::from("/h/hub")));
}

#[test]
fn tilde_and_variables_are_expanded() {
    let env = [("HF_HOME", "~/hf"), ("HOME", "/home/me")];
    assert_eq!(cache(&env), Some(PathBuf::from("/home/me/hf/hub")));
    let env = [
        ("HF_HUB_CACHE", "$SCRATCH/${USER}/hub"),
        ("SCRATCH", "/scratch"),
        ("USER", "me"),
    ];
    assert_eq!(cache(&env), Some(PathBuf::from("/scratch/me/hub")));
    let env = [("XDG_CACHE_HOME", "$NOT_SET/cache")];
    assert_eq!(
        cache(&env),
        Some(PathBuf::from("$NOT_SET/cache/huggingface/hub"))
    );
    let env = [("HUGGINGFACE_HUB_CACHE", "~"), ("HOME", "/home/me")];
    assert_eq!(cache(&env), Some(PathBuf::from("/home/me")));
}

/// The binary reads the process environment itself: with `HF_HOME` pointing at a Hugging Face
/// home whose `hub/` holds one model, `mother scan` without a path finds that model.
#[test]
fn the_binary_finds_the_hub_cache_through_the_process_environment() {
    let home = tempfile::tempdir().expect("tempdir");
    let repo = home.path().join("hub/models--org--name");
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let snapshot = repo.join("snapshots").join(commit);
    std::fs::create_dir_all(&snapshot).expect("snapshot folder");
    std::fs::create_dir_all(repo.join("refs")).expect("refs folder");
    std::fs::write(repo.join("refs/main"), commit).expect("ref");
    let bytes: Vec<u8> = (0..16 * 16)
        .flat_map(|i| ((i as f32 * 0.37).sin()).to_le_bytes())
        .collect();
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![16, 16], &bytes)
        .expect("tensor view");
    safetensors::serialize_to_file([("w", view)], None, &snapshot.join("model.safetensors"))
        .expect("write the model");

    let cache = tempfile::tempdir().expect("tempdir");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mother"))
        .args(["scan", "--json", "--cache-dir"])
        .arg(cache.path())
        .env_remove("HF_HUB_CACHE")
        .env_remove("HUGGINGFACE_HUB_CACHE")
        .env("HF_HOME", home.path())
        .output()
        .expect("run mother");
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["models"][0]["id"], "org/name", "{json}");
    assert_eq!(json["models"].as_array().map(Vec::len), Some(1));
}

/// A hub cache the environment names but that is not there: the message says which variable
/// named it, so that the user knows what to change.
#[test]
fn a_missing_hub_cache_names_the_variable_that_chose_it() {
    let home = tempfile::tempdir().expect("tempdir");
    let missing = home.path().join("nowhere");
    for (variable, shown) in [
        ("HF_HUB_CACHE", missing.clone()),
        ("HF_HOME", missing.join("hub")),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_mother"))
            .args(["scan", "--no-cache"])
            .env_remove("HF_HUB_CACHE")
            .env_remove("HUGGINGFACE_HUB_CACHE")
            .env_remove("HF_HOME")
            .env(variable, &missing)
            .output()
            .expect("run mother");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        let expected = format!(
            "{}: no Hugging Face hub cache there (set by {variable}) — pass a folder: mother scan PATH",
            shown.display()
        );
        assert!(stderr.contains(&expected), "{stderr}");
    }
}
