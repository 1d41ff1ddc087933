//! Bundles: `mother export --shard K/N` on each part of a cache, then `mother scan --bundle` on
//! all parts, recovers the very forest a scan of the whole cache gives; damaged bundles are
//! skipped with their reason and hide nothing else; the cache itself is never written to.

use crate::common;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn mother(args: &[&str], cache_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mother"))
        .args(args)
        .arg("--cache-dir")
        .arg(cache_dir)
        .stdin(Stdio::null())
        .output()
        .expect("mother runs")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}",
            String::from_utf8_lossy(&output.stderr).into_owned()
        )
    })
}

/// Everything the forest is made of, without the root it was scanned from.
fn forest(report: &Value) -> Vec<Value> {
    let ids: Vec<Value> = report["models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    let mut out = vec![Value::Array(ids)];
    for key in ["edges", "roots", "unrelated", "duplicates", "merges"] {
        out.push(report[key].clone());
    }
    out
}

#[test]
fn three_shards_exported_apart_give_the_forest_of_the_whole_cache() {
    let family = common::small_family();
    let hub = family.join("hub");
    let hub = hub.to_str().expect("a UTF-8 path");
    let work = tempfile::tempdir().expect("tempdir");
    let cache = work.path().join("fingerprints");
    let mut bundles = Vec::new();
    let mut exported = 0;
    for k in 1..=3 {
        let out = work.path().join(format!("part-{k}.mfb"));
        let shard = format!("{k}/3");
        let run = mother(
            &[
                "export",
                hub,
                "--shard",
                &shard,
                "--out",
                out.to_str().unwrap(),
            ],
            &cache,
        );
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(run.status.success(), "{stderr}");
        let count: usize = stderr
            .split_whitespace()
            .nth(2)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{stderr}"));
        assert!(stderr.contains(&format!("(shard {k}/3 of")), "{stderr}");
        exported += count;
        bundles.push(out);
    }

    let whole = mother(&["scan", hub, "--json"], &cache);
    assert!(whole.status.success());
    let whole = json(&whole);
    assert_eq!(exported, whole["models"].as_array().unwrap().len());

    // In any order of the bundles.
    let mut args = vec!["scan", "--json"];
    for bundle in bundles.iter().rev() {
        args.extend(["--bundle", bundle.to_str().unwrap()]);
    }
    let joined = mother(&args, &cache);
    assert!(
        joined.status.success(),
        "{}",
        String::from_utf8_lossy(&joined.stderr)
    );
    let joined = json(&joined);
    assert_eq!(forest(&joined), forest(&whole));

    // The JSON says where the models came from: no folder here, and each bundle with the host
    // that wrote it, the folder it scanned and its count, in the order given.
    assert!(joined["root"].is_null(), "{}", joined["root"]);
    assert!(whole["bundles"].as_array().is_some_and(Vec::is_empty));
    let sources = joined["bundles"].as_array().expect("bundles");
    assert_eq!(sources.len(), 3);
    let mut counted = 0;
    for (source, path) in sources.iter().zip(bundles.iter().rev()) {
        assert_eq!(source["path"], path.to_str().unwrap());
        assert_eq!(source["root"], hub);
        assert!(source["host"].as_str().is_some_and(|h| !h.is_empty()));
        counted += source["models"].as_u64().expect("a count") as usize;
    }
    assert_eq!(counted, exported);

    // The text's first line names the bundles it read, not a folder.
    let text = mother(
        &args[..1]
            .iter()
            .chain(&args[2..])
            .copied()
            .collect::<Vec<_>>(),
        &cache,
    );
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    let first = text.lines().next().unwrap_or_default();
    let expected = format!(
        "{exported} models in 3 bundles ({}, {}, {}):",
        bundles[2].display(),
        bundles[1].display(),
        bundles[0].display()
    );
    assert!(first.starts_with(&expected), "{first}");
}

#[test]
fn a_damaged_bundle_is_skipped_with_its_reason_and_hides_no_other() {
    let family = common::small_family();
    let hub = family.join("hub");
    let work = tempfile::tempdir().expect("tempdir");
    let cache = work.path().join("fingerprints");
    let good = work.path().join("good.mfb");
    let run = mother(
        &[
            "export",
            hub.to_str().unwrap(),
            "--out",
            good.to_str().unwrap(),
        ],
        &cache,
    );
    assert!(run.status.success());
    let bytes = std::fs::read(&good).expect("the bundle");
    let cut = work.path().join("cut.mfb");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let other = work.path().join("model.safetensors");
    std::fs::write(&other, common::discovery::safetensors_bytes()).unwrap();

    let run = mother(
        &[
            "scan",
            "--json",
            "--bundle",
            cut.to_str().unwrap(),
            "--bundle",
            good.to_str().unwrap(),
            "--bundle",
            other.to_str().unwrap(),
            "--bundle",
            work.path().join("missing.mfb").to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(run.status.code(), Some(3), "something was skipped");
    let report = json(&run);
    let whole = json(&mother(&["scan", hub.to_str().unwrap(), "--json"], &cache));
    assert_eq!(forest(&report), forest(&whole));
    let reasons: Vec<String> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["path"], s["reason"]))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    let expected = [
        ("cut.mfb", "cut short or damaged"),
        ("missing.mfb", "check the path"),
        ("model.safetensors", "not a mother fingerprint bundle"),
    ];
    for (file, reason) in expected {
        assert!(
            reasons
                .iter()
                .any(|r| r.contains(file) && r.contains(reason)),
            "{file}: {reasons:?}"
        );
    }
}

#[test]
fn export_never_writes_inside_the_cache_it_reads() {
    let family = common::small_family();
    let hub = family.join("hub");
    let work = tempfile::tempdir().expect("tempdir");
    let out = hub.join("bundle.mfb");
    let run = mother(
        &[
            "export",
            hub.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &work.path().join("fingerprints"),
    );
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("never writes there"), "{stderr}");
    assert!(!out.exists());
    let bad = mother(
        &[
            "export",
            hub.to_str().unwrap(),
            "--shard",
            "4/3",
            "--out",
            "x",
        ],
        work.path(),
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("write K/N"));
}

/// The summary line says how much was really read: a second export of an unchanged cache takes
/// every fingerprint from the cache and reads no weight.
#[test]
fn export_says_what_it_read_and_what_the_cache_gave() {
    let family = common::small_family();
    let hub = family.join("hub");
    let work = tempfile::tempdir().expect("tempdir");
    let cache = work.path().join("fingerprints");
    let out = work.path().join("all.mfb");
    let export = || {
        let run = mother(
            &[
                "export",
                hub.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            &cache,
        );
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(run.status.success(), "{stderr}");
        stderr
    };
    let first = export();
    assert!(first.contains(" of weights read, 0 skipped"), "{first}");
    assert!(!first.contains("fingerprint cache"), "{first}");
    let second = export();
    assert!(
        second.contains(" of weights (0B read, ")
            && second.contains(" from the fingerprint cache), 0 skipped"),
        "{second}"
    );
}

/// A bundle of a folder without models is no folder of the user's: the message says the
/// bundles hold no model, not that their file "looks like no model weights".
#[test]
fn bundles_without_models_say_so_and_exit_4() {
    let work = tempfile::tempdir().expect("tempdir");
    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).expect("create a folder");
    let out = work.path().join("empty.mfb");
    let cache = work.path().join("fingerprints");
    let export = mother(
        &[
            "export",
            empty.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(export.status.code(), Some(4));
    let scan = mother(&["scan", "--bundle", out.to_str().unwrap()], &cache);
    assert_eq!(scan.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&scan.stderr);
    assert!(
        stderr.contains(&format!(
            "no models found in {}: the bundles hold none",
            out.display()
        )),
        "{stderr}"
    );
}
