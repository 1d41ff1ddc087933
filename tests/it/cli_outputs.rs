//! Where the command line writes: an output it cannot write (`--dot`, `export --out`) or a
//! fingerprint cache that is a file fails at once, naming the flag and the fix, before a single
//! weight is read (a scan of a large cache takes hours and should not end in "cannot write").

use safetensors::tensor::{Dtype, TensorView};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// One small model in a plain folder, `a/`.
fn write_model(root: &Path) {
    let dir = root.join("a");
    std::fs::create_dir_all(&dir).expect("model folder");
    let values: Vec<f32> = (0..64 * 64).map(|i| (i as f32 * 0.37).sin()).collect();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = TensorView::new(Dtype::F32, vec![64, 64], &bytes).expect("tensor view");
    safetensors::serialize_to_file([("w", view)], None, &dir.join("model.safetensors"))
        .expect("write model.safetensors");
}

fn mother(args: &[&str], root: &Path, cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mother"))
        .args(&args[..1])
        .arg(root)
        .args(&args[1..])
        .arg("--cache-dir")
        .arg(cache)
        .stdin(Stdio::null())
        .output()
        .expect("mother runs")
}

#[test]
fn an_output_that_cannot_be_written_fails_before_any_weight_is_read() {
    let work = tempfile::tempdir().expect("tempdir");
    let root = work.path().join("models");
    write_model(&root);
    let cache = work.path().join("fingerprints");
    let missing = work.path().join("no-such-folder/forest.dot");
    let missing = missing.to_str().expect("a UTF-8 path");
    let folder = work.path().to_str().expect("a UTF-8 path");
    let bundle = work.path().join("no-such-folder/part.mfb");
    let bundle = bundle.to_str().expect("a UTF-8 path");
    for (args, said) in [
        (
            vec!["scan", "--dot", missing],
            "--dot {missing}: the folder",
        ),
        (vec!["scan", "--dot", folder], "--dot {folder}: is a folder"),
        (
            vec!["export", "--out", bundle],
            "--out {bundle}: the folder",
        ),
    ] {
        let run = mother(&args, &root, &cache);
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        assert_eq!(run.status.code(), Some(1), "{args:?}: {stderr}");
        let said = said
            .replace("{missing}", missing)
            .replace("{folder}", folder)
            .replace("{bundle}", bundle);
        assert!(stderr.contains(&said), "{args:?}: {stderr}");
        assert!(run.stdout.is_empty(), "{args:?} printed a forest");
        // Nothing was fingerprinted: the cache holds no entry.
        let entries = std::fs::read_dir(&cache).map_or(0, |dir| dir.count());
        assert_eq!(entries, 0, "{args:?} read the models first");
    }
    // The check leaves nothing behind in a folder it could write.
    let dot = work.path().join("forest.dot");
    let run = mother(&["scan", "--dot", dot.to_str().unwrap()], &root, &cache);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(work.path())
        .expect("list the work folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["fingerprints", "forest.dot", "models"]);
}

#[test]
fn a_fingerprint_cache_that_is_a_file_is_an_error_naming_the_fix() {
    let work = tempfile::tempdir().expect("tempdir");
    let root = work.path().join("models");
    write_model(&root);
    let file = work.path().join("cache-file");
    std::fs::write(&file, b"not a folder").expect("write a file");
    let run = mother(&["scan"], &root, &file);
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is a file, not a folder — pass a folder for the fingerprint cache"),
        "{stderr}"
    );
    // Without the cache, the file is no concern.
    let run = mother(&["scan", "--no-cache"], &root, &file);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn nothing_is_written_inside_the_folder_being_scanned() {
    let work = tempfile::tempdir().expect("tempdir");
    let root = work.path().join("models");
    write_model(&root);
    let outside = work.path().join("fingerprints");
    let inside_dot = root.join("forest.dot");
    let inside_cache = root.join("a/fingerprints");
    let inside_bundle = root.join("part.mfb");
    let run = |args: &[&str], cache: &Path| {
        let run = mother(args, &root, cache);
        (
            run.status.code(),
            String::from_utf8_lossy(&run.stderr).into_owned(),
        )
    };
    for (args, cache, flag) in [
        (
            vec!["scan", "--dot", inside_dot.to_str().unwrap()],
            &outside,
            "--dot",
        ),
        (vec!["scan"], &inside_cache, "--cache-dir"),
        (
            vec!["export", "--out", inside_bundle.to_str().unwrap()],
            &outside,
            "--out",
        ),
    ] {
        let (code, stderr) = run(&args, cache);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{flag} ")) && stderr.contains("mother never writes there"),
            "{args:?}: {stderr}"
        );
    }
    // The model folder holds what it held: one model file, nothing mother made.
    let mut names: Vec<String> = walk(&root);
    names.sort();
    assert_eq!(names, ["a", "a/model.safetensors"]);
}

/// Every path below `dir`, relative to it.
fn walk(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list a folder") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        names.push(name.clone());
        if path.is_dir() {
            names.extend(
                walk(&path)
                    .into_iter()
                    .map(|inner| format!("{name}/{inner}")),
            );
        }
    }
    names
}
