//! The engine end to end on a trained demo family: the fingerprint cache, determinism of the
//! outputs, and that scanning never writes inside the scanned tree.

use crate::common;

use mother::engine::{Phase, ScanEvent};
use mother::export::{to_dot, to_json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every entry under `root` with what it is: file contents hash, symlink target, or directory;
/// plus the modification time, so any write shows up.
fn tree_state(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut state = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                stack.push(path.clone());
                "dir".to_string()
            } else {
                let bytes = std::fs::read(&path).unwrap();
                format!("file {:x}", twox_hash::XxHash3_64::oneshot(&bytes))
            };
            state.insert(path, format!("{what} {:?}", meta.modified().unwrap()));
        }
    }
    state
}

fn phases(events: &[ScanEvent]) -> Vec<Phase> {
    events
        .iter()
        .filter_map(|e| match e {
            ScanEvent::Phase { phase, .. } => Some(phase.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn second_scan_reads_nothing_and_gives_identical_output() {
    let family = common::small_family();
    let cache = tempfile::tempdir().unwrap();
    let before = tree_state(&family);

    let options = common::options(&family, Some(cache.path()));
    let (first, first_events) = common::run_scan(&options);
    assert!(
        first.models.len() >= 21,
        "the small family has several trees"
    );
    assert!(phases(&first_events).contains(&Phase::Reading));
    assert!(first.models.iter().all(|m| !m.from_cache));

    let (second, second_events) = common::run_scan(&options);
    let second_phases = phases(&second_events);
    assert!(
        !second_phases.contains(&Phase::Reading),
        "a cached scan read tensor data"
    );
    assert_eq!(
        second_phases
            .iter()
            .filter(|p| **p == Phase::FromCache)
            .count(),
        second.models.len()
    );
    assert!(second.models.iter().all(|m| m.from_cache));

    let (uncached, _) = common::run_scan(&common::options(&family, None));
    let json = |r| serde_json::to_string_pretty(&to_json(r)).unwrap();
    assert_eq!(json(&first), json(&second), "cached scan changed the JSON");
    assert_eq!(json(&first), json(&uncached), "--no-cache changed the JSON");
    assert_eq!(to_dot(&first), to_dot(&second));

    assert_eq!(
        before,
        tree_state(&family),
        "scanning wrote inside the scanned tree"
    );
}

#[test]
fn a_changed_file_is_read_again() {
    let family = common::small_family();
    let copy = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&family)
        .arg(copy.path().join("cache"))
        .status()
        .unwrap();
    assert!(status.success());
    let root = copy.path().join("cache");
    let cache = tempfile::tempdir().unwrap();
    let options = common::options(&root, Some(cache.path()));
    let (first, _) = common::run_scan(&options);

    let changed = &first.models[0].entry;
    let file = &changed.weight_files[0].resolved;
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(later)
        .unwrap();

    let (second, events) = common::run_scan(&options);
    let reread: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ScanEvent::Phase {
                model,
                phase: Phase::Reading,
            } => Some(*model),
            _ => None,
        })
        .map(|i| second.models[i].entry.id.as_str())
        .collect();
    // Every model whose files include the touched blob is read again (a duplicate shares it).
    assert!(
        reread.contains(&changed.id.as_str()),
        "the changed model was not re-read"
    );
    let sharing = second
        .models
        .iter()
        .filter(|m| m.entry.weight_files.iter().any(|w| &w.resolved == file))
        .count();
    assert_eq!(
        reread.len(),
        sharing,
        "unchanged models were re-read: {reread:?}"
    );
}

#[test]
fn dot_output_is_well_formed() {
    let family = common::small_family();
    let (report, _) = common::run_scan(&common::options(&family, None));
    let dot = to_dot(&report);
    assert!(dot.starts_with("digraph mother {\n") && dot.ends_with("}\n"));
    // The legend's sample edges join `legend:` nodes, never models.
    let edges = dot
        .lines()
        .filter(|l| l.contains(" -> ") && !l.contains("\"legend:"))
        .count();
    assert_eq!(
        edges,
        report.recovery.edges.len() + report.recovery.duplicates.len()
    );
    for model in &report.models {
        assert!(
            dot.contains(&format!("\"{}\"", model.entry.id)),
            "{} missing",
            model.entry.id
        );
    }
    // Graphviz itself, when the machine has it, must accept the file.
    if let Ok(mut child) = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(dot.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "dot rejected the file");
    }
}

/// `assets/demo-forest.dot` is what `mother scan DEMO --dot FILE` writes for the default demo
/// family; it must not drift from what mother now produces.
#[test]
fn shipped_sample_dot_is_current() {
    let family = common::family("default", &mother::demo::FamilySpec::default_family());
    let options = mother::engine::ScanOptions {
        bootstrap: 200,
        seed: mother::lineage::LineageOptions::default().seed,
        ..common::options(&family, None)
    };
    let (report, _) = common::run_scan(&options);
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-forest.dot"),
    )
    .unwrap();
    let now = to_dot(&report);
    // Name the first line that differs rather than print both files whole.
    if let Some((line, (a, b))) = now
        .lines()
        .zip(shipped.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        panic!(
            "assets/demo-forest.dot line {} is stale:\n  now:     {a}\n  shipped: {b}\nregenerate with: mother scan DEMO --dot assets/demo-forest.dot",
            line + 1
        );
    }
    assert_eq!(
        now.lines().count(),
        shipped.lines().count(),
        "regenerate with: mother scan DEMO --dot assets/demo-forest.dot"
    );
}

/// A merge has two parents, so `--json` lists it apart: under `merges`, with both sources and
/// their weights, and no edge leads into it.
#[test]
fn the_json_lists_the_merge_apart_from_the_edges() {
    let family = common::family("default", &mother::demo::FamilySpec::default_family());
    let truth = mother::demo::read_truth(&family).expect("truth.json");
    let (report, _) = common::run_scan(&common::options(&family, None));
    let json = to_json(&report);
    let merges = json["merges"].as_array().expect("a merges list");
    assert_eq!(merges.len(), 1, "{merges:?}");
    let (id, sources) = truth.merges.iter().next().expect("the demo's merge");
    assert_eq!(merges[0]["model"], serde_json::json!(id));
    assert_eq!(merges[0]["sources"], serde_json::json!(sources));
    let weights: Vec<f64> = merges[0]["weights"]
        .as_array()
        .expect("weights")
        .iter()
        .map(|w| w.as_f64().expect("a number"))
        .collect();
    assert!(
        (weights[0] - 0.6).abs() < 0.01 && (weights[1] - 0.4).abs() < 0.01,
        "{weights:?}"
    );
    let edges = json["edges"].as_array().expect("edges");
    assert!(edges.iter().all(|e| e["child"] != serde_json::json!(id)));
}
