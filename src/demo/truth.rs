//! `truth.json`, the answer key of a demo family: what it holds, how it is derived from the plan,
//! and how it is read back (also to tell whether a folder holds a complete family).
//!
//! Written last, so a family without it is incomplete:
//! ```json
//! {
//!   "format": 3,
//!   "spec": { ...the FamilySpec... },
//!   "truth":  { "mother-demo/full0-c0": "mother-demo/full0-root", "mother-demo/full0-root": null, ... },
//!   "regime": { "mother-demo/full0-c0": "full", ... },
//!   "extras": {
//!     "duplicate_of":   { "mother-mirror/full0-c0": "mother-demo/full0-c0" },
//!     "quantized_from": { "mother-demo/full0-c3-int8": "mother-demo/full0-c3" },
//!     "cast_from":      { "mother-demo/full0-c0-bf16": "mother-demo/full0-c0" },
//!     "adapters":       { "mother-demo/lora0-c0-adapter": { "base": "mother-demo/lora0-root",
//!                                                           "merged_as": "mother-demo/lora0-c0" } },
//!     "other_arch":     [ "mother-demo/narrow0-root", ... ],
//!     "declared":       { "mother-demo/full0-c0": "mother-demo/full0-root", ... }
//!   },
//!   "merges": { "mother-demo/full0-c2-merge": [ "mother-demo/full0-c2", "mother-demo/full0-c3" ] }
//! }
//! ```
//! `truth` maps every repo to its parent (`null` for roots). Regimes: `pretrain` (roots),
//! `full`, `lora`, `quantized` and `cast` (parent = the source), `duplicate` (an exact byte copy; its
//! `truth` entry is the model it copies, an edge whose direction the weights cannot show, so
//! score it undirected) and `adapter` (a PEFT adapter repo; parent = the adapter's base model).

use super::FORMAT;
use super::error::DemoError;
use super::family::{Arch, Plan};
use super::spec::FamilySpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// `truth.json`, as read back by [`read_truth`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub format: u32,
    /// The spec that made the family.
    pub spec: serde_json::Value,
    pub truth: BTreeMap<String, Option<String>>,
    pub regime: BTreeMap<String, String>,
    pub extras: TruthExtras,
    /// Every merge and its sources, the larger weight first; a merge has two parents, so it is
    /// not in `truth` (the convention of `../shared/tools/real-family`).
    #[serde(default)]
    pub merges: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TruthExtras {
    pub duplicate_of: BTreeMap<String, String>,
    pub quantized_from: BTreeMap<String, String>,
    #[serde(default)]
    pub cast_from: BTreeMap<String, String>,
    pub adapters: BTreeMap<String, AdapterTruth>,
    pub other_arch: Vec<String>,
    pub declared: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterTruth {
    pub base: String,
    pub merged_as: String,
}

/// The answer key of a planned family: every repo, its parent, how it was made, and the extras.
pub(super) fn truth_of(spec: &FamilySpec, plan: &Plan) -> Truth {
    let mut truth = BTreeMap::new();
    let mut regime = BTreeMap::new();
    let mut extras = TruthExtras::default();
    for node in &plan.nodes {
        truth.insert(
            node.id.clone(),
            node.parent.map(|p| plan.nodes[p].id.clone()),
        );
        regime.insert(node.id.clone(), node.how_made.label().to_owned());
        if node.arch == Arch::Other {
            extras.other_arch.push(node.id.clone());
        }
    }
    for &index in &plan.declared {
        if let Some(parent) = plan.nodes[index].parent {
            extras
                .declared
                .insert(plan.nodes[index].id.clone(), plan.nodes[parent].id.clone());
        }
    }
    if let Some((source_index, id)) = &plan.duplicate {
        // The copy carries the source's README too, so it declares the same parent.
        if let Some(declared) = extras.declared.get(&plan.nodes[*source_index].id) {
            extras.declared.insert(id.clone(), declared.clone());
        }
        let source = plan.nodes[*source_index].id.clone();
        truth.insert(id.clone(), Some(source.clone()));
        regime.insert(id.clone(), "duplicate".to_owned());
        extras.duplicate_of.insert(id.clone(), source);
    }
    if let Some((source, id)) = &plan.quantized {
        let source = plan.nodes[*source].id.clone();
        truth.insert(id.clone(), Some(source.clone()));
        regime.insert(id.clone(), "quantized".to_owned());
        if spec.extras.declared {
            extras.declared.insert(id.clone(), source.clone());
        }
        extras.quantized_from.insert(id.clone(), source);
    }
    if let Some((source, id)) = &plan.cast {
        let source = plan.nodes[*source].id.clone();
        truth.insert(id.clone(), Some(source.clone()));
        regime.insert(id.clone(), "cast".to_owned());
        extras.cast_from.insert(id.clone(), source);
    }
    if let Some((source, id)) = &plan.adapter
        && let Some(parent) = plan.nodes[*source].parent
    {
        let base = plan.nodes[parent].id.clone();
        truth.insert(id.clone(), Some(base.clone()));
        regime.insert(id.clone(), "adapter".to_owned());
        if spec.extras.declared {
            extras.declared.insert(id.clone(), base.clone());
        }
        extras.adapters.insert(
            id.clone(),
            AdapterTruth {
                base,
                merged_as: plan.nodes[*source].id.clone(),
            },
        );
    }
    let mut merges = BTreeMap::new();
    if let Some(([first, second], id)) = &plan.merge {
        merges.insert(
            id.clone(),
            vec![
                plan.nodes[*first].id.clone(),
                plan.nodes[*second].id.clone(),
            ],
        );
    }
    Truth {
        format: FORMAT,
        spec: serde_json::to_value(spec).unwrap_or_default(),
        truth,
        regime,
        extras,
        merges,
    }
}

/// Reads `truth.json` of a demo family.
pub fn read_truth(dir: &Path) -> Result<Truth, DemoError> {
    let path = dir.join("truth.json");
    let text = std::fs::read_to_string(&path).map_err(|e| DemoError::Truth {
        path: path.clone(),
        reason: format!("cannot read it ({e}); is this a folder written by `mother demo`?"),
    })?;
    serde_json::from_str(&text).map_err(|e| DemoError::Truth {
        path,
        reason: format!(
            "not a demo truth file ({e}); delete the folder and run `mother demo` again"
        ),
    })
}

/// True when `dir` holds a complete family made from `spec` by this version of the trainer.
pub fn is_complete(dir: &Path, spec: &FamilySpec) -> bool {
    match (read_truth(dir), serde_json::to_value(spec)) {
        (Ok(truth), Ok(wanted)) => truth.format == FORMAT && truth.spec == wanted,
        _ => false,
    }
}
