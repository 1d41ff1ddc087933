//! The demo issue's acceptance, through the binary as a person would run it:
//! `mother demo --no-tui DIR` then `mother scan DIR --json`, scored against `truth.json`.

use std::collections::BTreeMap;
use std::process::Command;

#[test]
fn demo_then_scan_recovers_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mother = env!("CARGO_BIN_EXE_mother");
    // Three trees (2 full, 1 LoRA) of 1 + 3 + 9 models: the quick family with one more child.
    let demo = Command::new(mother)
        .args(["demo", "--no-tui", "--small", "--children", "3"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );

    let scan = Command::new(mother)
        .arg("scan")
        .arg(dir.path())
        .arg("--json")
        .arg("--cache-dir")
        .arg(cache.path())
        .output()
        .unwrap();
    assert_eq!(
        scan.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("truth.json")).unwrap())
            .unwrap();

    let recovered: BTreeMap<&str, &str> = report["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["child"].as_str().unwrap(), e["parent"].as_str().unwrap()))
        .collect();
    let mut per_regime: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (child, parent) in truth["truth"].as_object().unwrap() {
        let Some(parent) = parent.as_str() else {
            assert!(!recovered.contains_key(child.as_str()), "{child} is a root");
            continue;
        };
        let regime = truth["regime"][child].as_str().unwrap();
        let slot = per_regime.entry(regime).or_default();
        slot.0 += usize::from(recovered.get(child.as_str()) == Some(&parent));
        slot.1 += 1;
    }
    eprintln!("directed edges right per regime: {per_regime:?}");
    for (regime, (right, total)) in &per_regime {
        assert!(*total >= 12, "{regime}: only {total} edges");
        assert!(
            right * 100 >= total * 95,
            "{regime}: {right} of {total} right"
        );
    }
    assert_eq!(report["models"].as_array().unwrap().len(), 39);
    assert_eq!(report["roots"].as_array().unwrap().len(), 3);
}
