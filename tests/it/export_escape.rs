//! Ids with quotes, backslashes, line breaks and non-ASCII text survive DOT and JSON export.

use mother::discover::{DeclaredParent, ModelConfig, ModelEntry, ModelKind};
use mother::engine::{ScanReport, ScannedModel};
use mother::export::{to_dot, to_json, to_text};
use mother::lineage::{DirectionBasis, Edge, EdgeKind, Recovery, Regime};
use mother::measure::Fingerprint;
use std::path::PathBuf;

const IDS: [&str; 3] = [
    "org/plain",
    "we\"ird\\id\nwith break",
    "日本/モデル {x} -> y;",
];

fn report() -> ScanReport {
    let models = IDS
        .iter()
        .map(|id| ScannedModel {
            entry: ModelEntry {
                id: id.to_string(),
                found_in: ".".to_string(),
                unqualified_id: None,
                dir: PathBuf::from(format!("/models/{id}")),
                weight_files: Vec::new(),
                format: mother::weights::Format::Safetensors,
                kind: ModelKind::Full,
                declared_parent: Some(DeclaredParent {
                    id: IDS[0].to_string(),
                    relation: None,
                    source: "README.md".into(),
                }),
                config: ModelConfig::default(),
                total_bytes: 10,
                revision: None,
                last_accessed: None,
            },
            fingerprint: Fingerprint {
                tensors: Vec::new(),
                params: 1,
                bytes: 4,
                dtype: "F32".into(),
            },
            from_cache: false,
        })
        .collect();
    let edge = |parent, child| Edge {
        parent,
        child,
        kind: EdgeKind::Finetune,
        distance: 0.01,
        confidence: 0.9,
        link_confidence: 1.0,
        direction_confidence: 0.9,
        direction_basis: DirectionBasis::Growth,
        growth: Some(-2.0),
        growth_sigma: Some(0.2),
        shrink: None,
        regime: Regime::Full,
        rank: None,
        kurtosis_drop: 0.1,
        breadth: None,
        runner_up: None,
        matching: Default::default(),
    };
    ScanReport {
        root: PathBuf::from("/models"),
        bundles: Vec::new(),
        models,
        skipped: Vec::new(),
        recovery: Recovery {
            edges: vec![edge(0, 1), edge(1, 2)],
            roots: vec![0],
            unrelated: Vec::new(),
            duplicates: Vec::new(),
            merges: Vec::new(),
            undecided_merges: Vec::new(),
            checkpoints_or_merges: Vec::new(),
            merge_hubs: Vec::new(),
            summary_kurtosis: vec![3.0, 2.9, 2.8],
        },
    }
}

#[test]
fn json_round_trips_every_id() {
    let report = report();
    let text = serde_json::to_string(&to_json(&report)).unwrap();
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<&str> = back["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, IDS);
    assert_eq!(back["edges"][1]["child"], IDS[2]);
    assert_eq!(back["edges"][0]["declared_agrees"], true);
    assert_eq!(back["edges"][1]["declared_agrees"], false);
}

#[test]
fn dot_escapes_every_id() {
    let dot = to_dot(&report());
    assert!(dot.contains(r#""we\"ird\\id\nwith break""#), "{dot}");
    assert!(dot.contains("\"日本/モデル {x} -> y;\""));
    // No raw line break may sit inside a quoted string.
    for line in dot.lines() {
        let unescaped_quotes = line.replace("\\\\", "").replace("\\\"", "");
        assert_eq!(
            unescaped_quotes.matches('"').count() % 2,
            0,
            "unbalanced quotes: {line}"
        );
    }
    if let Ok(output) = std::process::Command::new("dot")
        .arg("-Tplain")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(dot.as_bytes())?;
            child.wait_with_output()
        })
    {
        assert!(output.status.success(), "graphviz rejected the DOT");
        let plain = String::from_utf8_lossy(&output.stdout);
        // The legend's sample nodes and edges are named `legend:…`; the forest is the rest.
        let forest = |kind: &str| {
            plain
                .lines()
                .filter(|l| l.starts_with(kind) && !l.contains("legend:"))
                .count()
        };
        assert_eq!(forest("node "), 3);
        assert_eq!(forest("edge "), 2);
    }
}

#[test]
fn text_tree_shows_the_chain() {
    let text = to_text(&report());
    assert!(text.contains("└── we\"ird"), "{text}");
    assert!(text.contains("metadata DISAGREES"));
}

/// A model the tree may have made a merge's hub is listed, by id, in JSON with its guessed
/// edges and in the text output with the merge it is nearest.
#[test]
fn a_possible_merge_hub_is_listed_in_json_and_text() {
    let mut report = report();
    report.recovery.merge_hubs = vec![mother::lineage::MergeHub {
        model: 1,
        merge: 2,
        edges: vec![(0, 1), (1, 2)],
    }];
    let json = to_json(&report);
    let hubs = json["merge_hubs"].as_array().expect("a merge_hubs list");
    assert_eq!(hubs.len(), 1);
    assert_eq!(hubs[0]["model"], IDS[1]);
    assert_eq!(hubs[0]["merge"], IDS[2]);
    assert_eq!(hubs[0]["edges"][1], serde_json::json!([IDS[1], IDS[2]]));
    let text = to_text(&report);
    assert!(
        text.contains("Nearest a merge, above its sources"),
        "{text}"
    );
    assert!(text.contains(&format!("(nearest {})", IDS[2])), "{text}");
    assert!(!to_text(&self::report()).contains("Nearest a merge"));
}
