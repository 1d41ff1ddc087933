//! Scoring a recovered forest against a truth-labelled cache: the families `mother demo` trains,
//! and any other cache with a `truth.json` beside its `hub/` (the real-root families of
//! `benches/tools/bert_family.py` and `../shared/tools/real-family`). The accuracy tests and
//! `cargo run --release --example evaluate` both score through here, so README's figures and
//! CI's assertions are the same computation.
//!
//! `truth.json` holds `"truth": {child: parent | null}`; the regime of each child comes from
//! `"regime": {child: "full" | "lora" | "cast" | "quantized" | "duplicate" | "adapter" |
//! "pretrain"}` when present, else from a `"log"` list whose entries name a LoRA rank (`"lora"`
//! above zero), else it is `full`.

use crate::lineage::{Edge, Recovery};
use anyhow::Context;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A family's answer key.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// Every model's true parent (`None` for roots).
    pub parent: BTreeMap<String, Option<String>>,
    /// How every non-root model came from its parent.
    pub regime: BTreeMap<String, String>,
    /// Merged models and their sources (`"merges"`; not in `parent`: a merge has two).
    pub merges: BTreeMap<String, Vec<String>>,
}

impl Truth {
    /// Reads `dir/truth.json`.
    pub fn read(dir: &Path) -> anyhow::Result<Truth> {
        let path = dir.join("truth.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read the answer key", path.display()))?;
        let json: Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        Truth::from_json(&json).with_context(|| format!("{}: no \"truth\" map", path.display()))
    }

    fn from_json(json: &Value) -> Option<Truth> {
        let parent: BTreeMap<String, Option<String>> = json
            .get("truth")?
            .as_object()?
            .iter()
            .map(|(child, parent)| (child.clone(), parent.as_str().map(str::to_owned)))
            .collect();
        let mut regime: BTreeMap<String, String> = BTreeMap::new();
        if let Some(map) = json.get("regime").and_then(Value::as_object) {
            for (child, r) in map {
                if let Some(r) = r.as_str() {
                    regime.insert(child.clone(), r.to_owned());
                }
            }
        }
        if let Some(log) = json.get("log").and_then(Value::as_array) {
            for entry in log {
                let Some(id) = entry.get("id").and_then(Value::as_str) else {
                    continue;
                };
                let lora = entry.get("lora").and_then(Value::as_u64).unwrap_or(0) > 0;
                regime
                    .entry(id.to_owned())
                    .or_insert_with(|| if lora { "lora" } else { "full" }.to_owned());
            }
        }
        for (child, p) in &parent {
            let default = if p.is_some() { "full" } else { "pretrain" };
            regime
                .entry(child.clone())
                .or_insert_with(|| default.to_owned());
        }
        let merges = json
            .get("merges")
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .map(|(merged, sources)| {
                        let sources = sources.as_array().map_or(Vec::new(), |list| {
                            list.iter()
                                .filter_map(|s| s.as_str().map(str::to_owned))
                                .collect()
                        });
                        (merged.clone(), sources)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Truth {
            parent,
            regime,
            merges,
        })
    }

    /// The regime of `id` (`full` when unknown).
    pub fn regime_of(&self, id: &str) -> &str {
        self.regime.get(id).map_or("full", String::as_str)
    }

    /// The root of `id`'s true tree; a merge belongs to the tree of its first source.
    fn root_of<'a>(&'a self, mut id: &'a str) -> &'a str {
        for _ in 0..self.parent.len() + self.merges.len() {
            match (self.parent.get(id), self.merges.get(id)) {
                (Some(Some(p)), _) => id = p,
                (None, Some(sources)) if !sources.is_empty() => id = &sources[0],
                _ => break,
            }
        }
        id
    }

    /// Whether the truth knows `id`: a model of its trees, or a merge.
    fn knows(&self, id: &str) -> bool {
        self.parent.contains_key(id) || self.merges.contains_key(id)
    }
}

/// One reported edge, judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub parent: String,
    pub child: String,
    /// The edge as recovered.
    pub edge: Edge,
    /// The truth names this parent for this child.
    pub right: bool,
    /// The truth links the two, the other way round.
    pub reversed: bool,
    /// The runner-up parent's id, if the edge has one.
    pub runner_up: Option<String>,
    /// The parent the truth names for this child.
    pub truth_parent: Option<String>,
}

/// How a recovery scores against the truth.
#[derive(Debug, Clone, Default)]
pub struct Score {
    /// Per truth regime: (true edges recovered with the right parent, true edges).
    pub directed: BTreeMap<String, (usize, usize)>,
    /// Per truth regime: (true edges recovered in either direction, true edges).
    pub undirected: BTreeMap<String, (usize, usize)>,
    /// Every reported edge between scored models, judged (adapters and copies included).
    pub edges: Vec<Judged>,
    /// Recovered edges joining models of different true trees.
    pub cross_tree: usize,
}

impl Score {
    /// Scores `recovery`, whose indices point into `ids`. Models the truth does not know are
    /// left out.
    pub fn of(truth: &Truth, ids: &[String], recovery: &Recovery) -> Score {
        let mut score = Score::default();
        let index: BTreeMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let duplicate_linked = |p: usize, c: usize| {
            recovery
                .duplicates
                .iter()
                .any(|d| (d.original, d.copy) == (p, c) || (d.original, d.copy) == (c, p))
        };
        // A cast to the dtype its source is already stored in changes no byte: the recovery
        // finds the two identical, and it is a duplicate.
        let identical = |id: &str, original: &str| match (index.get(id), index.get(original)) {
            (Some(&c), Some(&p)) => duplicate_linked(p, c),
            _ => false,
        };
        let is_duplicate = |id: &str| match (truth.regime_of(id), truth.parent.get(id)) {
            ("duplicate", Some(Some(_))) => true,
            ("cast", Some(Some(original))) => identical(id, original),
            _ => false,
        };
        // Exact duplicates are one model: whichever of them the forest keeps stands for all.
        let canonical = |id: &str| -> String {
            match truth.parent.get(id) {
                Some(Some(original)) if is_duplicate(id) => original.clone(),
                _ => id.to_owned(),
            }
        };
        let recovered: Vec<(String, String)> = recovery
            .edges
            .iter()
            .map(|e| (canonical(&ids[e.parent]), canonical(&ids[e.child])))
            .collect();
        for (child, parent) in &truth.parent {
            let Some(parent) = parent else { continue };
            let (Some(&c), Some(&p)) = (index.get(child.as_str()), index.get(parent.as_str()))
            else {
                continue;
            };
            let regime = truth.regime_of(child).to_owned();
            let (cp, cc) = (canonical(parent), canonical(child));
            let directed = recovered.iter().any(|(a, b)| (a, b) == (&cp, &cc));
            let linked = directed || recovered.iter().any(|(a, b)| (a, b) == (&cc, &cp));
            // A duplicate's direction cannot be seen in the weights: it counts when linked.
            let (right, linked) = if is_duplicate(child) {
                let found = duplicate_linked(p, c);
                (found, found)
            } else {
                (directed, linked)
            };
            let slot = score.directed.entry(regime.clone()).or_default();
            slot.0 += usize::from(right);
            slot.1 += 1;
            let slot = score.undirected.entry(regime).or_default();
            slot.0 += usize::from(linked);
            slot.1 += 1;
        }
        let truth_parent = |c: &str| {
            truth
                .parent
                .get(c)
                .cloned()
                .flatten()
                .map(|p| canonical(&p))
        };
        for e in &recovery.edges {
            let (parent, child) = (&ids[e.parent], &ids[e.child]);
            // Edges from a merge to its fine-tunes are judged; no edge should lead into one.
            if !truth.knows(parent) || !truth.parent.contains_key(child) {
                continue;
            }
            let (cp, cc) = (canonical(parent), canonical(child));
            let named = truth_parent(&cc);
            score.edges.push(Judged {
                parent: parent.clone(),
                child: child.clone(),
                edge: e.clone(),
                right: named.as_deref() == Some(cp.as_str()),
                reversed: truth_parent(&cp).as_deref() == Some(cc.as_str()),
                runner_up: e.runner_up.as_ref().map(|r| ids[r.parent].clone()),
                truth_parent: named,
            });
            if truth.root_of(parent) != truth.root_of(child) {
                score.cross_tree += 1;
            }
        }
        score
    }

    /// True edges of these regimes recovered with the right parent, and their count.
    pub fn directed_of(&self, regimes: &[&str]) -> (usize, usize) {
        sum(&self.directed, regimes)
    }

    /// True edges of these regimes recovered in either direction, and their count.
    pub fn undirected_of(&self, regimes: &[&str]) -> (usize, usize) {
        sum(&self.undirected, regimes)
    }

    /// The fine-tune edges (full and LoRA): right with direction, and their count.
    pub fn finetunes(&self) -> (usize, usize) {
        self.directed_of(&["full", "lora"])
    }

    /// Reported fine-tune edges at or above `confidence` that are wrong.
    pub fn wrong_at(&self, confidence: f64) -> Vec<&Judged> {
        self.edges
            .iter()
            .filter(|e| !e.right && e.edge.confidence >= confidence)
            .collect()
    }
}

fn sum(map: &BTreeMap<String, (usize, usize)>, regimes: &[&str]) -> (usize, usize) {
    regimes
        .iter()
        .filter_map(|r| map.get(*r))
        .fold((0, 0), |(a, b), (x, y)| (a + x, b + y))
}

/// The confidence bins of the reliability table: edges are counted in the first bin whose lower
/// bound they reach, from the top.
pub const BINS: [f64; 6] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.0];

/// Reported edges per confidence bin (of [`BINS`]): (right, total).
pub fn reliability<'a>(edges: impl IntoIterator<Item = &'a Judged>) -> [(usize, usize); 6] {
    let mut bins = [(0, 0); 6];
    for e in edges {
        let slot = BINS
            .iter()
            .position(|&low| e.edge.confidence >= low)
            .unwrap_or(BINS.len() - 1);
        bins[slot].0 += usize::from(e.right);
        bins[slot].1 += 1;
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lineage::{DirectionBasis, EdgeKind, Regime};
    use serde_json::json;

    #[test]
    fn regimes_come_from_the_map_then_the_log_then_full() {
        let truth = Truth::from_json(&json!({
            "truth": {"r": null, "a": "r", "b": "r", "c": "a"},
            "regime": {"a": "cast"},
            "log": [{"id": "b", "lora": 8}, {"id": "a", "lora": 0}],
        }))
        .expect("a truth");
        assert_eq!(truth.regime_of("a"), "cast");
        assert_eq!(truth.regime_of("b"), "lora");
        assert_eq!(truth.regime_of("c"), "full");
        assert_eq!(truth.regime_of("r"), "pretrain");
        assert_eq!(truth.root_of("c"), "r");
    }

    #[test]
    fn merges_are_read_apart_and_belong_to_their_first_source_tree() {
        let truth = Truth::from_json(&json!({
            "truth": {"r": null, "a": "r", "b": "r", "f": "m"},
            "merges": {"m": ["a", "b"]},
        }))
        .expect("a truth");
        assert_eq!(truth.merges["m"], ["a", "b"]);
        assert!(!truth.parent.contains_key("m"));
        assert!(truth.knows("m") && truth.knows("f") && !truth.knows("x"));
        assert_eq!(truth.root_of("m"), "r");
        assert_eq!(truth.root_of("f"), "r");
    }

    #[test]
    fn bins_take_the_highest_bound_reached() {
        let judged = |confidence: f64, right: bool| Judged {
            parent: String::new(),
            child: String::new(),
            edge: Edge {
                parent: 0,
                child: 1,
                kind: EdgeKind::Finetune,
                distance: 0.01,
                confidence,
                link_confidence: confidence,
                direction_confidence: 1.0,
                direction_basis: DirectionBasis::Growth,
                growth: None,
                growth_sigma: None,
                shrink: None,
                regime: Regime::Full,
                rank: None,
                kurtosis_drop: 0.0,
                breadth: None,
                runner_up: None,
                matching: Default::default(),
            },
            right,
            reversed: false,
            runner_up: None,
            truth_parent: None,
        };
        let edges = [
            judged(1.0, true),
            judged(0.9, false),
            judged(0.65, true),
            judged(0.1, true),
        ];
        let bins = reliability(&edges);
        assert_eq!(bins[0], (1, 2));
        assert_eq!(bins[3], (1, 1));
        assert_eq!(bins[5], (1, 1));
    }
}
