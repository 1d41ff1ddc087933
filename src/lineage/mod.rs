//! Recovering the model forest from fingerprints: relatedness (distances over tensors matched by
//! name and shape), duplicates, the regime of each difference (full or low-rank), the direction
//! cue (excess kurtosis), the minimum spanning arborescence (Chu-Liu/Edmonds), and per-edge
//! confidence from a bootstrap over tensors.

use crate::measure::Fingerprint;
use serde::Serialize;

/// Which way the kurtosis cue points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DirectionMode {
    /// Fine-tuning lowers excess kurtosis: the parent has the higher kurtosis.
    #[default]
    Finetune,
    /// Continued pre-training raises it: the parent has the lower kurtosis.
    Pretrain,
}

#[derive(Debug, Clone)]
pub struct LineageOptions {
    pub direction: DirectionMode,
    /// Bootstrap resamples over tensors for the confidences (at least 100).
    pub bootstrap: usize,
    pub seed: u64,
}

impl Default for LineageOptions {
    fn default() -> Self {
        Self {
            direction: DirectionMode::Finetune,
            bootstrap: 200,
            seed: 0x6d6f74686572,
        }
    }
}

/// One model as lineage sees it.
#[derive(Debug, Clone)]
pub struct LineageInput<'a> {
    pub id: &'a str,
    pub fingerprint: &'a Fingerprint,
    /// Parent id declared in metadata, if any.
    pub declared_parent: Option<&'a str>,
    /// For PEFT adapters: the declared base id (adapters hang under it when it is present).
    pub adapter_base: Option<&'a str>,
    pub is_adapter: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Regime {
    /// The difference spreads over many directions: a full fine-tune.
    Full,
    /// The difference has low rank in the matrices it touches: a LoRA-style fine-tune.
    LowRank,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    Finetune,
    /// The child is a quantised copy of the parent (its values sit on an int8 grid).
    Quantized,
    /// A PEFT adapter hung under its declared base.
    Adapter,
}

/// The best alternative parent for a child, and how much more it cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunnerUp {
    pub parent: usize,
    /// Cost of the runner-up edge minus cost of the chosen edge, relative to the chosen cost.
    pub relative_gap: f64,
}

/// A recovered parent -> child edge. Indices point into the input slice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    pub parent: usize,
    pub child: usize,
    pub kind: EdgeKind,
    /// Relative distance ||W_child - W_parent|| / ||W_parent|| over matched 2-D tensors.
    pub distance: f64,
    /// Share of bootstrap resamples whose recovered forest contains this directed edge.
    pub confidence: f64,
    /// Share of bootstrap resamples that orient this pair this way (among those linking it).
    pub direction_confidence: f64,
    pub regime: Regime,
    /// Estimated rank of the difference (median over the touched matrices) for low-rank edges.
    pub rank: Option<u32>,
    /// Summary kurtosis of parent minus child (positive when the cue agrees with fine-tuning).
    pub kurtosis_drop: f64,
    pub runner_up: Option<RunnerUp>,
}

/// Two models with identical weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Duplicate {
    /// The model kept in the forest.
    pub original: usize,
    /// The identical copy.
    pub copy: usize,
}

/// The recovered forest.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Recovery {
    pub edges: Vec<Edge>,
    /// Roots of trees with at least one edge.
    pub roots: Vec<usize>,
    /// Models linked to nothing.
    pub unrelated: Vec<usize>,
    pub duplicates: Vec<Duplicate>,
    /// The summary kurtosis used for direction, per model (index = input index).
    pub summary_kurtosis: Vec<f64>,
}

/// Recovers the forest. Deterministic for a given input and options.
pub fn recover(models: &[LineageInput<'_>], options: &LineageOptions) -> Recovery {
    let _ = (models, options);
    unimplemented!("recover: issue #2")
}
