//! The binary where there is no terminal, or nothing to show: every such run says what is wrong
//! and what to run instead in one plain line, exits non-zero with the documented status, and
//! never writes an escape code (a script's log or a pipe must not fill with `\e[?1006l`).

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn mother() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mother"));
    // Stdin and stdout are not terminals: stdin is empty, stdout is captured through a pipe.
    command.stdin(Stdio::null());
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_no_escape_codes(output: &Output, what: &str) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        assert!(
            !bytes.contains(&0x1b),
            "{what}: escape codes on {stream}: {:?}",
            text(bytes)
        );
    }
}

/// A folder holding nothing a model could be made of: the hub client's bookkeeping only.
fn empty_cache() -> tempfile::TempDir {
    let cache = tempfile::tempdir().expect("tempdir");
    std::fs::write(cache.path().join("version.txt"), "1").expect("write version.txt");
    std::fs::create_dir(cache.path().join(".locks")).expect("create .locks");
    cache
}

/// A folder holding one small model, so that only the missing terminal can stop the explorer.
fn one_model(root: &Path) {
    let dir = root.join("model");
    std::fs::create_dir_all(&dir).expect("model folder");
    let bytes: Vec<u8> = (0..16 * 16)
        .flat_map(|i| ((i as f32 * 0.37).sin()).to_le_bytes())
        .collect();
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![16, 16], &bytes)
        .expect("tensor view");
    safetensors::serialize_to_file([("w", view)], None, &dir.join("model.safetensors"))
        .expect("write model.safetensors");
}

#[test]
fn the_explorer_without_a_terminal_names_the_headless_command() {
    let root = tempfile::tempdir().expect("tempdir");
    one_model(root.path());
    let cases: [(&str, Vec<&std::ffi::OsStr>); 3] = [
        ("a folder", vec![root.path().as_os_str()]),
        ("the demo", vec!["demo".as_ref()]),
        ("the default cache", vec![]),
    ];
    for (what, args) in cases {
        let output = mother()
            .args(&args)
            .env("HF_HUB_CACHE", root.path())
            .output()
            .expect("run mother");
        assert_eq!(output.status.code(), Some(1), "{what}: {output:?}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.starts_with("mother: no terminal:"),
            "{what}: {stderr}"
        );
        let fix = if what == "the demo" {
            "mother demo --no-tui"
        } else {
            "mother scan"
        };
        assert!(stderr.contains(fix), "{what}: no {fix:?} in {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(
            output.stdout.is_empty(),
            "{what}: {:?}",
            text(&output.stdout)
        );
        assert_no_escape_codes(&output, what);
    }
}

#[test]
fn a_missing_folder_is_named_before_the_terminal_is_touched() {
    let missing = tempfile::tempdir().expect("tempdir").path().join("missing");
    for args in [
        vec![missing.as_os_str()],
        vec!["scan".as_ref(), missing.as_os_str()],
    ] {
        let output = mother().args(&args).output().expect("run mother");
        assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains("does not exist — check the path"),
            "{stderr}"
        );
        assert_no_escape_codes(&output, "a missing folder");
    }
}

#[test]
fn an_empty_folder_says_no_models_and_exits_4() {
    let cache = empty_cache();
    let scratch = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&std::ffi::OsStr]| {
        mother()
            .args(args)
            .arg("--cache-dir")
            .arg(scratch.path())
            .output()
            .expect("run mother")
    };
    let path = cache.path().as_os_str();
    for args in [vec![path], vec!["scan".as_ref(), path]] {
        let output = run(&args);
        assert_eq!(output.status.code(), Some(4), "{args:?}: {output:?}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!("no models found in {}", cache.path().display())),
            "{stderr}"
        );
        assert!(
            stderr.contains("a folder of safetensors/pickle/GGUF models"),
            "{stderr}"
        );
        assert!(output.stdout.is_empty(), "{:?}", text(&output.stdout));
        assert_no_escape_codes(&output, "an empty folder");
    }
    // Scripts that parse the document still get a valid, empty one.
    let output = run(&["scan".as_ref(), path, "--json".as_ref()]);
    assert_eq!(output.status.code(), Some(4));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(json["models"], serde_json::json!([]));
    assert_eq!(json["skipped"], serde_json::json!([]));
}

#[test]
fn help_documents_the_no_models_status() {
    for args in [&["--help"][..], &["scan", "--help"]] {
        let output = mother().args(args).output().expect("run mother");
        let help = text(&output.stdout);
        assert!(
            help.contains("4  finished, but no models were found"),
            "{help}"
        );
    }
}

/// `mother scan` with no PATH scans the hub cache the environment names, and says so: the text
/// names the folder and the JSON's `root` is it, as when the path is given (only bundles alone
/// have no folder).
#[test]
fn a_scan_of_the_default_cache_names_it() {
    let root = tempfile::tempdir().expect("tempdir");
    one_model(root.path());
    let fingerprints = tempfile::tempdir().expect("tempdir");
    let scan = |extra: &[&str]| {
        let output = mother()
            .arg("scan")
            .args(extra)
            .arg("--cache-dir")
            .arg(fingerprints.path())
            .env("HF_HUB_CACHE", root.path())
            .output()
            .expect("run mother");
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        text(&output.stdout)
    };
    let first = scan(&[]);
    let expected = format!("1 model in {}:", root.path().display());
    assert!(first.starts_with(&expected), "{first}");
    let json: serde_json::Value = serde_json::from_str(&scan(&["--json"])).expect("JSON");
    assert_eq!(json["root"], root.path().to_str().expect("a UTF-8 path"));
}
