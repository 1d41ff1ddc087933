//! Recovering the model forest from fingerprints: relatedness (distances over tensors matched by
//! name and shape), duplicates, the regime of each difference (full or low-rank), the direction
//! cue (excess kurtosis), the minimum spanning arborescence (Chu-Liu/Edmonds), and per-edge
//! confidence from a bootstrap over tensors.
//!
//! The rules, and why:
//! - Two models are compared over the 2-D tensors they both hold under the same name and shape.
//!   They are related only when the cosine similarity of those weights (sketch dot products
//!   over sketch norms) is above 0.5 ([`Method::related_cosine`]). Models from different random
//!   initialisations are near orthogonal (cosine ~0, relative distance ~sqrt(2)); fine-tunes
//!   keep cosine ~0.99 (relative distance 0.01-0.1). 0.5 (relative distance ~1) sits far from
//!   both, so the forest splits into trees by itself without being told how many there are.
//! - Distances come from the sketches: ||sketch(A) - sketch(B)||^2 estimates ||A - B||^2
//!   without bias, over the exact norms. Each model's candidate parents are its
//!   [`Method::neighbours`] nearest related models, which keeps a thousand models fast.
//! - Exact duplicates are reported, not linked (`duplicates.rs`); adapters hang under their
//!   declared base (`adapters.rs`).
//! - A quantised model (most of its matrices on an int8 grid) is a leaf: it may be the child of
//!   a model that is not quantised ([`EdgeKind::Quantized`]), never a parent (Model Atlas: 99.4%
//!   of documented quantised edges).
//! - A difference whose sketch has numerical rank at most half its smaller side in every matrix
//!   it touches is low-rank (LoRA-style); [`DistanceKind::RankThenL2`] orders such pairs by the
//!   summed rank of their difference (the paper's LoRA distance) before any full-rank pair.
//! - Direction from excess kurtosis (`direction.rs`), combined with distance as [`Method`] says;
//!   the default was chosen by measurement on trained demo families (see `Method::default`).
//! - Each tree is a minimum arborescence with a free root (`forest.rs`); confidences come from a
//!   bootstrap over tensors (`bootstrap.rs`); the main forest uses all tensors, not a vote.
//! - Declared parents in metadata are not read: the forest comes from the weights alone, so it
//!   can be checked against what the metadata claims.

mod adapters;
mod bootstrap;
mod consistency;
mod direction;
mod duplicates;
pub mod edmonds;
mod forest;
mod method;
mod pairs;
mod report;
pub mod spectrum;

pub use method::{Aggregate, Combine, DistanceKind, Method};

use crate::measure::Fingerprint;
use serde::Serialize;

/// Which way the kurtosis cue points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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

impl<'a> LineageInput<'a> {
    /// Full weights with nothing declared: the common case outside a hub cache.
    pub fn full(id: &'a str, fingerprint: &'a Fingerprint) -> Self {
        Self {
            id,
            fingerprint,
            declared_parent: None,
            adapter_base: None,
            is_adapter: false,
        }
    }
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
    recover_with(models, options, &Method::default())
}

/// The fewest bootstrap resamples behind a confidence.
const MIN_RESAMPLES: usize = 100;

/// Recovers the forest with explicit method choices (for evaluating the alternatives).
pub fn recover_with(
    models: &[LineageInput<'_>],
    options: &LineageOptions,
    method: &Method,
) -> Recovery {
    let n = models.len();
    let (duplicates, stands_for) = duplicates::find(models);
    let fingerprints: Vec<&Fingerprint> = models.iter().map(|m| m.fingerprint).collect();
    let take_part: Vec<bool> = (0..n)
        .map(|i| !models[i].is_adapter && stands_for[i] == i)
        .collect();
    let catalog = pairs::Catalog::new(&fingerprints, &take_part);
    let candidate_pairs = pairs::candidates(&catalog, method);
    let quantized: Vec<bool> = fingerprints.iter().map(|fp| is_quantized(fp)).collect();
    let summary: Vec<f64> = fingerprints
        .iter()
        .map(|fp| direction::summary_kurtosis(fp))
        .collect();

    let problem = bootstrap::Problem {
        nodes: n,
        keys: catalog.keys,
        pairs: &candidate_pairs,
        quantized: &quantized,
        summary: &summary,
        method,
        mode: options.direction,
    };
    let (views, arcs, parents) = problem.solve(&vec![1; catalog.keys]);
    let tally = problem.tally(options.bootstrap.max(MIN_RESAMPLES), options.seed);

    let mut edges = report::Solved {
        pairs: &candidate_pairs,
        views,
        arcs,
        parents,
        tally,
        quantized: &quantized,
        summary: &summary,
    }
    .edges();
    edges.extend(adapters::edges(models, &stands_for));
    edges.sort_by_key(|e| (e.parent, e.child));

    let mut has_parent = vec![false; n];
    let mut has_child = vec![false; n];
    for e in &edges {
        has_parent[e.child] = true;
        has_child[e.parent] = true;
    }
    let roots = (0..n).filter(|&i| has_child[i] && !has_parent[i]).collect();
    let unrelated = (0..n)
        .filter(|&i| stands_for[i] == i && !has_child[i] && !has_parent[i])
        .collect();
    Recovery {
        edges,
        roots,
        unrelated,
        duplicates,
        summary_kurtosis: summary,
    }
}

/// A model is quantised when most of its matrices sit on an int8 grid (some quantisation
/// schemes keep a few layers in float).
fn is_quantized(fingerprint: &Fingerprint) -> bool {
    let on_grid = fingerprint
        .tensors
        .iter()
        .filter(|t| t.on_int8_grid)
        .count();
    on_grid * 2 > fingerprint.tensors.len()
}
