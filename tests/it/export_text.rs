//! `mother scan` without `--json`, as a person reads it: counts in the header agree with their
//! nouns (`1 model` is never `1 models`), and each edge carries its confidence in words.

use safetensors::tensor::{Dtype, TensorView};
use std::path::Path;
use std::process::Command;

/// Deterministic values in (-1, 1), different for each seed.
fn values(seed: f32, count: usize) -> Vec<f32> {
    (0..count)
        .map(|i| ((i as f32 * 0.37 + seed).sin() * 1e3).fract())
        .collect()
}

/// Writes a model of four 48x48 matrices into `root/name`.
fn write_model(root: &Path, name: &str, matrices: &[Vec<f32>]) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("model folder");
    let bytes: Vec<Vec<u8>> = matrices
        .iter()
        .map(|m| m.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let view = TensorView::new(Dtype::F32, vec![48, 48], b).expect("tensor view");
            (format!("layers.{i}.weight"), view)
        })
        .collect();
    safetensors::serialize_to_file(views, None, &dir.join("model.safetensors"))
        .expect("write model.safetensors");
}

fn scan_text(root: &Path) -> String {
    let cache = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_mother"))
        .arg("scan")
        .arg(root)
        .arg("--cache-dir")
        .arg(cache.path())
        .output()
        .expect("run mother");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    String::from_utf8(output.stdout).expect("UTF-8 text")
}

#[test]
fn one_tree_and_one_duplicate_are_counted_in_the_singular() {
    let root = tempfile::tempdir().expect("tempdir");
    let base: Vec<Vec<f32>> = (0..4).map(|i| values(i as f32, 48 * 48)).collect();
    let tuned: Vec<Vec<f32>> = base
        .iter()
        .zip(4..)
        .map(|(m, seed)| {
            m.iter()
                .zip(values(seed as f32, m.len()))
                .map(|(w, noise)| 0.98 * w + 0.05 * noise)
                .collect()
        })
        .collect();
    write_model(root.path(), "base", &base);
    write_model(root.path(), "copy", &base);
    write_model(root.path(), "tuned", &tuned);
    let text = scan_text(root.path());
    let header = text.lines().next().expect("a header line");
    assert!(
        header.ends_with(": 1 tree, 0 unrelated, 1 duplicate copy, 0 skipped"),
        "{text}"
    );
    assert!(header.starts_with("3 models in "), "{text}");
    let edge = text
        .lines()
        .find(|line| line.contains("tuned"))
        .expect("the tuned model's line");
    assert!(
        ["high", "medium", "low (a guess)"]
            .iter()
            .any(|word| edge.contains(&format!(" {word},"))),
        "no level word beside the confidence: {edge}"
    );
}

#[test]
fn one_model_is_one_model() {
    let root = tempfile::tempdir().expect("tempdir");
    write_model(root.path(), "alone", &[values(1.0, 48 * 48)]);
    let text = scan_text(root.path());
    assert!(
        text.starts_with("1 model in ")
            && text.lines().next().is_some_and(
                |h| h.ends_with(": 0 trees, 1 unrelated, 0 duplicate copies, 0 skipped")
            ),
        "{text}"
    );
}

#[test]
fn a_scan_of_several_caches_reads_cache_by_cache() {
    let report = crate::tui_fixture::two_cache_report();
    let text = mother::export::to_text(&report);
    let a = text
        .find("── team-a/hub: 1 tree, 6 models ──")
        .expect(&text);
    let b = text
        .find("── team-b/hub: 1 tree, 6 models ──")
        .expect(&text);
    let tree_a = text.find("\nteam-a/hub:acme/base-mini").expect(&text);
    let tree_b = text.find("\nteam-b/hub:acme/base-mini").expect(&text);
    assert!(a < tree_a && tree_a < b && b < tree_b, "{text}");
    // A model listed under another cache's heading says where it was found.
    let mut moved = report.clone();
    let code = moved
        .models
        .iter()
        .position(|m| m.entry.id == "team-a/hub:acme/code-mini")
        .expect("the fixture's model");
    moved.models[code].entry.found_in = "team-c/hub".to_string();
    let text = mother::export::to_text(&moved);
    assert!(text.contains("found in team-c/hub]"), "{text}");
    assert_eq!(text.matches("found in").count(), 1, "{text}");
    // One cache needs no heading.
    let alone = mother::export::to_text(&crate::tui_fixture::report());
    assert!(
        !alone.lines().any(|line| line.starts_with("── ")),
        "{alone}"
    );

    // DOT draws each cache's models in a box named after it; inside it a label leaves the
    // cache out, and the node's name keeps the whole id.
    let dot = mother::export::to_dot(&report);
    assert_eq!(dot.matches("subgraph cluster_place_").count(), 2, "{dot}");
    assert!(dot.contains("label=\"team-b/hub\""), "{dot}");
    assert!(
        dot.contains("\"team-b/hub:acme/chat-mini\" [label=\"acme/chat-mini\\n"),
        "{dot}"
    );
    let alone = mother::export::to_dot(&crate::tui_fixture::report());
    assert!(!alone.contains("cluster_place"), "{alone}");
}
