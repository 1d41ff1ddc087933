//! How the binary ends, as a script sees it: the exit status of each outcome (the table in
//! README and `--help`), and a clean, quiet exit when the reader of stdout goes away early
//! (`mother scan --json | head -c 10`), as ripgrep does.

use safetensors::tensor::{Dtype, TensorView};
use std::path::Path;
use std::process::{Command, Stdio};

/// Two small unrelated models in plain folders, `a/` and `b/`.
fn write_models(root: &Path) {
    for (name, seed) in [("a", 1.0f32), ("b", 2.0)] {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("model folder");
        let values: Vec<f32> = (0..64 * 64)
            .map(|i| ((i as f32 * 0.37 + seed).sin() * 1e3).fract())
            .collect();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let view = TensorView::new(Dtype::F32, vec![64, 64], &bytes).expect("tensor view");
        safetensors::serialize_to_file([("w", view)], None, &dir.join("model.safetensors"))
            .expect("write model.safetensors");
    }
}

fn mother() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mother"))
}

/// Runs `mother scan ROOT [extra]` with the read end of its stdout closed before it writes.
fn scan_into_a_closed_pipe(root: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let cache = tempfile::tempdir().expect("tempdir");
    let mut child = mother()
        .arg("scan")
        .arg(root)
        .args(extra)
        .arg("--cache-dir")
        .arg(cache.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mother");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait for mother");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_is_a_clean_quiet_exit() {
    let root = tempfile::tempdir().expect("tempdir");
    write_models(root.path());
    for extra in [&["--json"][..], &[]] {
        let (code, stderr) = scan_into_a_closed_pipe(root.path(), extra);
        assert_eq!(code, Some(0), "scan {extra:?} into a closed pipe: {stderr}");
        assert_eq!(
            stderr, "",
            "scan {extra:?} into a closed pipe said something"
        );
    }
}

#[test]
fn exit_status_is_0_when_all_read_and_3_when_something_was_skipped() {
    let root = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    write_models(root.path());
    let scan = |root: &Path| {
        mother()
            .arg("scan")
            .arg(root)
            .args(["--json", "--cache-dir"])
            .arg(cache.path())
            .output()
            .expect("run mother")
    };
    assert_eq!(scan(root.path()).status.code(), Some(0), "all read");
    std::fs::create_dir_all(root.path().join("c")).expect("model folder");
    std::fs::write(root.path().join("c/model.safetensors"), b"not safetensors")
        .expect("write a damaged file");
    let output = scan(root.path());
    assert_eq!(output.status.code(), Some(3), "finished, one skipped");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(json["skipped"].as_array().map(Vec::len), Some(1));
}

#[test]
fn exit_status_is_2_on_a_usage_error_and_1_on_a_failure() {
    let usage = mother()
        .args(["scan", "--no-such-option"])
        .output()
        .expect("run mother");
    assert_eq!(usage.status.code(), Some(2), "usage error");
    let missing = tempfile::tempdir().expect("tempdir").path().join("missing");
    let failure = mother()
        .arg("scan")
        .arg(&missing)
        .output()
        .expect("run mother");
    assert_eq!(failure.status.code(), Some(1), "a root that does not exist");
    let stderr = String::from_utf8_lossy(&failure.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");
}

#[test]
fn help_documents_the_exit_status() {
    for args in [&["--help"][..], &["scan", "--help"]] {
        let output = mother().args(args).output().expect("run mother");
        assert_eq!(output.status.code(), Some(0));
        let help = String::from_utf8_lossy(&output.stdout);
        for line in [
            "Exit status:",
            "2  usage error",
            "3  finished, but something was skipped",
        ] {
            assert!(help.contains(line), "{args:?}: no {line:?} in\n{help}");
        }
    }
}

/// `--bundle` is accepted after every command, but the demo shows only its own family: it
/// says so instead of training and leaving the bundle out without a word.
#[test]
fn the_demo_refuses_a_bundle_it_would_not_show() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = dir.path().join("demo");
    let output = mother()
        .args(["demo", "--no-tui", "--small", "--bundle", "part-1.mfb"])
        .arg(&demo)
        .output()
        .expect("run mother");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--bundle part-1.mfb: the demo shows its own family, not bundles"),
        "{stderr}"
    );
    assert!(!demo.exists(), "nothing is trained");
}
