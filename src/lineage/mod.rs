//! Recovering the model forest from fingerprints: exact copies (duplicates, casts), relatedness,
//! the tree structure from distances, the direction of every edge from the evidence the weights
//! hold, and a confidence for each edge that means what it says.
//!
//! The stages, and why:
//! - **Copies first.** Byte-identical models are duplicates (`copies.rs`); a model equal to
//!   another once that one is rounded to its coarser dtype is a *cast copy*. Both are reported
//!   beside the forest, never as parents: storage precision is not lineage. Adapters hang under
//!   their declared base (`adapters.rs`). A quantised model (most of its matrices on an int8
//!   grid) may only be a leaf (Model Atlas: 99.4% of documented quantised edges).
//! - **Merges** (`merges/`). A model on the line between two others (a linear merge, SLERP)
//!   or on the plane of three (a soup, task arithmetic) would become the hub of the family it
//!   was made from; it is reported beside the tree, and only its own fine-tunes hang under it.
//! - **Relatedness.** Two models are compared over the 2-D tensors they both hold under the same
//!   name and shape, and are related only when the cosine similarity of those weights is above
//!   0.5 ([`Method::related_cosine`]) and so is most matrices' own: models from different random
//!   initialisations are near orthogonal, fine-tunes keep cosine ~0.99, so the forest splits
//!   into trees by itself, and two families that share one large matrix (a copied embedding)
//!   and nothing else stay apart.
//! - **Structure.** Each tree is the minimum spanning tree of the relative L2 distances between
//!   related models (from the sketches: ||sketch(A) - sketch(B)||^2 estimates ||A - B||^2).
//!   A pair whose difference is low-rank (a LoRA-style update) costs 10% less, a tie-break
//!   that never passes over a clearly closer parent (`structure.rs`). Every distance is scaled
//!   by the difference's *breadth* (how many directions it spreads over, per matrix) to the
//!   power 0.35: one fine-tune's change follows one task, while the difference between two
//!   siblings, or between a grandparent and a grandchild, adds two runs' changes and spreads
//!   wider. That is what tells a parent from a sibling that moved the same way and ended up
//!   closer (README, "What the weights showed"). The tree reported is the
//!   spanning tree of the links the bootstrap resamples keep most often (`bootstrap.rs`): where
//!   two parents are nearly as close, the noise of one tensor's sketch no longer decides.
//! - **Direction.** Every tree is rooted where the evidence on its edges agrees best
//!   (`direction.rs`). The evidence is the growth statistic: how much the weights' energy grew
//!   from one model to the other, in units of the energy of their difference. An update
//!   independent of the weights (a merged LoRA, rounding) grows it by exactly its own energy;
//!   weight decay shrinks the child by more than that; neither can make a parent out of a
//!   child. Where no edge speaks, the tree's centre is the likelier root (a base model has many
//!   descendants). Kurtosis, the cue of the MoTHer paper, only breaks the last ties: on real
//!   short fine-tunes it moved either way (README, "How the method was chosen").
//! - **Confidence** (`confidence.rs`) joins the bootstrap over tensors, the gap to the runner-up
//!   parent and the margin of the direction into one calibrated probability: across the families
//!   measured, edges shown at >= 0.9 are right at least 95% of the time.
//! - Declared parents in metadata are not read: the forest comes from the weights alone, so it
//!   can be checked against what the metadata claims.

mod adapters;
#[cfg(target_arch = "x86_64")]
mod avx2;
mod bootstrap;
mod confidence;
mod copies;
mod direction;
pub mod edmonds;
mod merges;
mod method;
mod names;
mod pairs;
mod report;
pub mod spectrum;
mod structure;

pub use confidence::{Level, printed_confidence};
pub use merges::{MAX_OFF_LINE, Merge, MergeHub, UNDECIDED_LINK, Undecided};
pub use method::{Direction, Method};
pub use names::{Matching, Naming};

use crate::measure::Fingerprint;
use serde::Serialize;

/// Which way continued training moves the weights, for the rare family where it is known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DirectionMode {
    /// Fine-tuning: a child's update is never aligned with its parent's weights (it adds energy
    /// independently, or decays them), and kurtosis falls.
    #[default]
    Finetune,
    /// Continued pre-training: weights grow along themselves and kurtosis rises, so a full-rank
    /// update that grew the weights by more than its own energy points the other way.
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
    /// For PEFT adapters: the id of the model their declared base names, when the scan holds
    /// one (adapters hang under it).
    pub adapter_base: Option<&'a str>,
    pub is_adapter: bool,
}

impl<'a> LineageInput<'a> {
    /// Full weights with nothing declared: the common case outside a hub cache.
    pub fn full(id: &'a str, fingerprint: &'a Fingerprint) -> Self {
        Self {
            id,
            fingerprint,
            adapter_base: None,
            is_adapter: false,
        }
    }
}

/// How the child's weights differ from the parent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Regime {
    /// The difference spreads over many directions: a full fine-tune.
    Full,
    /// The difference has low rank in the matrices it touches: a LoRA-style fine-tune.
    LowRank,
    /// The difference is within what storing the two in their dtypes explains: a fine-tune too
    /// small to characterise at this precision.
    Faint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    Finetune,
    /// The child is a quantised copy of the parent (its values sit on an int8 grid).
    Quantized,
    /// The child is the parent cast to a coarser dtype: equal once the parent is rounded.
    Cast,
    /// A PEFT adapter hung under its declared base.
    Adapter,
}

/// What decided the direction of an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DirectionBasis {
    /// A copy (quantised or cast) is always the child; an adapter hangs under its base.
    Copy,
    /// The edge's own growth statistic.
    Growth,
    /// Other edges of the tree: the growth evidence elsewhere placed the root on this side.
    Tree,
    /// Nothing in the weights: the tree's centre, then storage precision, then kurtosis.
    Prior,
    /// The parent is a merge of other models, and the child is none of them: the merge
    /// came first.
    Merge,
}

impl Regime {
    /// In words, for people.
    pub fn words(self) -> &'static str {
        match self {
            Regime::Full => "full fine-tune",
            Regime::LowRank => "low-rank (LoRA-style) update",
            Regime::Faint => "change within storage precision",
        }
    }
}

impl EdgeKind {
    /// In words, for people.
    pub fn words(self) -> &'static str {
        match self {
            EdgeKind::Finetune => "fine-tune",
            EdgeKind::Quantized => "quantised copy",
            EdgeKind::Cast => "cast copy",
            EdgeKind::Adapter => "adapter",
        }
    }
}

impl DirectionBasis {
    /// What decided the direction, in words.
    pub fn words(self) -> &'static str {
        match self {
            DirectionBasis::Copy => "a copy is always the child",
            DirectionBasis::Merge => "a merge's fine-tune comes after the merge",
            DirectionBasis::Growth => "this edge's growth statistic",
            DirectionBasis::Tree => "the growth of the other edges in its tree",
            DirectionBasis::Prior => {
                "a guess: the weights do not say; the tree's centre is the root"
            }
        }
    }
}

/// The best alternative parent for a child, and how it compares with the chosen one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunnerUp {
    pub parent: usize,
    /// Its link's cost minus the chosen link's, relative to the chosen one's: the margin the
    /// tree was decided by (distance scaled by breadth). Negative when the runner-up costs less
    /// and the bootstrap resamples chose the other.
    pub relative_gap: f64,
    /// Its distance to the child minus the chosen parent's, relative to the chosen parent's.
    pub distance_gap: f64,
    /// When the runner-up is a merge of the chosen parent, nearer than it, that the child was
    /// not moved under: the share of the merge's own step the child carries (a fine-tune of
    /// the merge carries about all of it; `merges::adopt::carried_share`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_step_carried: Option<f64>,
}

impl RunnerUp {
    /// The gap in words: `4.2% farther`; `1.3% nearer, but their difference spreads wider`
    /// (breadth decided); `1.3% nearer, but fewer resamples link it` (the resamples did); or,
    /// for a merge of the chosen parent that the child was not moved under, why not.
    pub fn gap_words(&self) -> String {
        let percent = self.distance_gap.abs() * 100.0;
        if let Some(share) = self.merge_step_carried {
            format!(
                "{percent:.1}% nearer, but a merge of this parent, and only {share:.2} of the \
                 merge's own step is carried (a fine-tune of it carries about 1)"
            )
        } else if self.distance_gap >= 0.0 {
            format!("{percent:.1}% farther")
        } else if self.relative_gap >= 0.0 {
            format!("{percent:.1}% nearer, but their difference spreads wider")
        } else {
            format!("{percent:.1}% nearer, but fewer resamples link it")
        }
    }

    /// [`Self::gap_words`], followed by the link's cost margin when it differs from the
    /// distance's by a tenth of a point or more (`15.8% farther, link cost +6.2%`): the cost is
    /// what the tree minimised and what a near tie is judged by, so a note that calls the
    /// runner-up a near tie shows it.
    pub fn gap_and_cost_words(&self) -> String {
        let mut words = self.gap_words();
        if (self.relative_gap - self.distance_gap).abs() >= 0.001 {
            words.push_str(&format!(", link cost {:+.1}%", self.relative_gap * 100.0));
        }
        words
    }
}

/// A recovered parent -> child edge. Indices point into the input slice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    pub parent: usize,
    pub child: usize,
    pub kind: EdgeKind,
    /// Relative distance ||W_child - W_parent|| / ||W_parent|| over matched 2-D tensors.
    pub distance: f64,
    /// Probability that this edge is right (parent and direction), calibrated on the measured
    /// families (README, "Confidence").
    pub confidence: f64,
    /// Probability that the two models are linked at all (either direction).
    pub link_confidence: f64,
    /// Probability that the direction is right, given the link.
    pub direction_confidence: f64,
    pub direction_basis: DirectionBasis,
    /// The growth statistic of this edge, oriented parent -> child: (||child||^2 - ||parent||^2)
    /// over ||child - parent||^2 on the changed tensors. About +1 for an update independent of
    /// the parent (LoRA); far below when weight decay shrank the child.
    pub growth: Option<f64>,
    /// The noise of the growth statistic (its standard deviation were the update independent).
    pub growth_sigma: Option<f64>,
    /// For full fine-tunes: the energy a uniform rescaling took from the parent's weights, in
    /// units of the update's energy (weight decay takes 1 to 4 of them; negative: the weights
    /// grew along themselves), and its standard deviation.
    pub shrink: Option<(f64, f64)>,
    pub regime: Regime,
    /// Directions the difference needs (median over the low-rank matrices) for low-rank edges.
    pub rank: Option<u32>,
    /// Summary kurtosis of parent minus child (positive when the paper's cue agrees).
    pub kurtosis_drop: f64,
    /// How many directions the difference spreads over per changed matrix (geometric mean of
    /// the participation ratios); `None` for copies and where no matrix could tell.
    pub breadth: Option<f64>,
    pub runner_up: Option<RunnerUp>,
    /// How the two models' matrices were matched: prefixes dropped, heads only one holds.
    pub matching: Matching,
}

impl Edge {
    /// The confidence in words: high, medium or low (a guess).
    pub fn level(&self) -> Level {
        Level::of(self.confidence)
    }
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
    /// Models found to be merges of two or three others, in model order. No edge leads into a
    /// merge (`merges/`): it has several parents, and in the tree it would become the hub of
    /// the family it was made from. Edges may lead out of one, to its own fine-tunes.
    pub merges: Vec<Merge>,
    /// Planes of four models any one of which may be the merge of the other three (`merges/`,
    /// [`Undecided`]); they stay in the tree, and the edges between them are guesses.
    pub undecided_merges: Vec<Undecided>,
    /// Models on the line (or plane) of others, two of which are ancestor and descendant in the
    /// tree: each is a checkpoint of one training run between them or their merge (WiSE-FT),
    /// and distance cannot tell which (`merges::along_descent`). They stay in the tree as
    /// checkpoints, and the edges among each one's models are guesses. In model order.
    pub checkpoints_or_merges: Vec<Merge>,
    /// Models nearest a merge that the tree placed above some of its sources (or above all,
    /// with no edge saying it is their parent): the merge's fine-tune made their hub, or their
    /// ancestor ([`MergeHub`]). In model order.
    pub merge_hubs: Vec<MergeHub>,
    /// The summary kurtosis (sum of excess kurtosis over 2-D tensors), per model.
    pub summary_kurtosis: Vec<f64>,
}

/// Recovers the forest. Deterministic for a given input and options.
pub fn recover(models: &[LineageInput<'_>], options: &LineageOptions) -> Recovery {
    recover_with(models, options, &Method::default())
}

/// The fewest bootstrap resamples behind a confidence.
const MIN_RESAMPLES: usize = 100;

/// What every recovery starts from: the exact copies, the models that take part in the tree
/// (neither adapters nor copies), their tensors catalogued, and the candidate pairs.
struct Compared<'a> {
    copies: copies::Copies,
    in_forest: Vec<bool>,
    catalog: pairs::Catalog<'a>,
    pairs: Vec<pairs::Pair>,
}

impl<'a> Compared<'a> {
    fn new(models: &[LineageInput<'a>], method: &Method) -> Self {
        let copies = copies::find(models);
        let fingerprints: Vec<&'a Fingerprint> = models.iter().map(|m| m.fingerprint).collect();
        let in_forest: Vec<bool> = models
            .iter()
            .zip(&copies.source)
            .map(|(model, source)| !model.is_adapter && source.is_none())
            .collect();
        let catalog = pairs::Catalog::new(&fingerprints, &in_forest);
        let pairs = pairs::candidates(&catalog, method);
        Self {
            copies,
            in_forest,
            catalog,
            pairs,
        }
    }
}

/// Recovers the forest with explicit method choices (for evaluating the alternatives).
pub fn recover_with(
    models: &[LineageInput<'_>],
    options: &LineageOptions,
    method: &Method,
) -> Recovery {
    let n = models.len();
    let Compared {
        copies,
        in_forest,
        catalog,
        pairs: candidate_pairs,
    } = Compared::new(models, method);
    let fingerprints: Vec<&Fingerprint> = models.iter().map(|m| m.fingerprint).collect();
    // Merges stay out of the tree: their pairs are set apart, so none can become a hub; they
    // serve only to hang a merge's own fine-tunes under it, once the tree stands.
    let merges::Found {
        merges: mut merged,
        undecided,
    } = if method.merges {
        merges::find(&catalog, &candidate_pairs, &in_forest)
    } else {
        merges::Found {
            merges: vec![None; n],
            undecided: Vec::new(),
        }
    };
    let quantized: Vec<bool> = fingerprints.iter().map(|fp| is_quantized(fp)).collect();
    let summary: Vec<f64> = fingerprints.iter().map(|fp| summary_kurtosis(fp)).collect();
    let finest: Vec<u32> = fingerprints.iter().map(|fp| finest_bits(fp)).collect();
    // The tree of the models that are no merges. A merge that turns out to lie along one line
    // of descent of that tree (a checkpoint between a model and its descendant, or their
    // merge: `merges::along_descent`) goes back into it, and the tree is solved once more; so
    // it is when the tree made a merge's fine-tune the hub of its sources against the evidence
    // of its edges (`merges::adopt::contradicted`): that fine-tune is kept out as well (round 18).
    // A merge's fine-tune that lies between the merge's sources is kept out from the start,
    // and goes back in when the tree then joins two of those sources by an edge (a middle
    // checkpoint of a run between them: `merges::between_sources`, `merges::between_joined`,
    // round 23).
    let mut along_descent: Vec<Merge> = Vec::new();
    let mut taken_out: Vec<Option<usize>> = vec![None; n];
    let mut between: Vec<(usize, usize)> = Vec::new();
    if method.between_sources {
        between = merges::between_sources(
            &merges::Adoption {
                catalog: &catalog,
                merged: &merged,
                edges: &[],
                summary: &summary,
                mode: options.direction,
                method,
                resamples: 0,
                seed: options.seed,
                taken_out: &taken_out,
            },
            &candidate_pairs,
        );
        for &(model, merge) in &between {
            taken_out[model] = Some(merge);
        }
    }
    let mut all_pairs = candidate_pairs;
    let (mut edges, adopted) = loop {
        let set_apart = |i: usize| merged[i].is_some() || taken_out[i].is_some();
        let (merge_pairs, tree_pairs): (Vec<pairs::Pair>, Vec<pairs::Pair>) = all_pairs
            .into_iter()
            .partition(|p| set_apart(p.a) || set_apart(p.b));
        let problem = bootstrap::Problem {
            nodes: n,
            keys: catalog.keys,
            pairs: &tree_pairs,
            quantized: &quantized,
            summary: &summary,
            finest_bits: &finest,
            method,
            mode: options.direction,
        };
        let tally = problem.tally(options.bootstrap.max(MIN_RESAMPLES), options.seed);
        let solved = if method.bagged_structure {
            problem.solve_bagged(&tally)
        } else {
            problem.solve(&vec![1; catalog.keys])
        };
        let edges = report::Report {
            pairs: &tree_pairs,
            solved: &solved,
            tally: &tally,
            quantized: &quantized,
            summary: &summary,
        }
        .edges();
        let back = merges::along_descent(&merged, &edges);
        let joined = merges::between_joined(&between, &merged, &edges);
        if !joined.is_empty() {
            for &model in &joined {
                taken_out[model] = None;
            }
            between.retain(|(model, _)| !joined.contains(model));
        } else if back.is_empty() {
            // A fine-tune of a merge moves under it, with its subtree.
            let adopted = merges::adopt(
                &merges::Adoption {
                    catalog: &catalog,
                    merged: &merged,
                    edges: &edges,
                    summary: &summary,
                    mode: options.direction,
                    method,
                    resamples: options.bootstrap.max(MIN_RESAMPLES),
                    seed: options.seed,
                    taken_out: &taken_out,
                },
                &merge_pairs,
                &tree_pairs,
            );
            if adopted.taken_out.is_empty() {
                break (edges, adopted);
            }
            for &(model, merge) in &adopted.taken_out {
                taken_out[model] = Some(merge);
            }
        } else {
            for m in back {
                along_descent.extend(merged[m].take());
                // Its fine-tunes go back with it.
                for slot in &mut taken_out {
                    if *slot == Some(m) {
                        *slot = None;
                    }
                }
            }
            between.retain(|&(_, merge)| merged[merge].is_some());
        }
        all_pairs = merge_pairs.into_iter().chain(tree_pairs).collect();
        all_pairs.sort_by_key(|p| (p.a, p.b));
    };
    along_descent.sort_by_key(|m| m.model);
    let merges::Adopted {
        edges: adopted,
        hubs,
        declined,
        ..
    } = adopted;
    edges.retain(|e| !adopted.iter().any(|a| a.child == e.child));
    edges.extend(adopted);
    for (child, runner_up) in declined {
        if let Some(edge) = edges.iter_mut().find(|e| e.child == child) {
            edge.runner_up = Some(runner_up);
        }
    }
    // Between two corners of an undecided plane the link is a guess, whatever the bootstrap
    // says: one of the four was made from the others, and distance cannot say which.
    // So is an edge into a model that is nearest a merge but above some of its sources, and on
    // from it down to them (`merges::adopt`).
    for edge in &mut edges {
        let shared = undecided
            .iter()
            .any(|p| p.models.contains(&edge.parent) && p.models.contains(&edge.child))
            || along_descent
                .iter()
                .any(|m| m.involves(edge.parent) && m.involves(edge.child));
        let doubted = hubs
            .iter()
            .any(|h| h.edges.contains(&(edge.parent, edge.child)));
        if (shared || doubted) && edge.link_confidence > UNDECIDED_LINK {
            edge.link_confidence = UNDECIDED_LINK;
            edge.confidence = edge.link_confidence * edge.direction_confidence;
        }
    }
    for edge in &mut edges {
        edge.matching = catalog.matching(edge.parent, edge.child);
    }
    edges.extend(copies.edges(models, &summary));
    edges.extend(adapters::edges(models, &copies.stands_for()));
    edges.sort_by_key(|e| (e.parent, e.child));

    let mut has_parent = vec![false; n];
    let mut has_child = vec![false; n];
    for e in &edges {
        has_parent[e.child] = true;
        has_child[e.parent] = true;
    }
    // A merge with fine-tunes of its own hangs under its sources, not at the top of a tree.
    let roots = (0..n)
        .filter(|&i| has_child[i] && !has_parent[i] && merged[i].is_none())
        .collect();
    let duplicates = copies.duplicates();
    let is_duplicate: Vec<bool> = (0..n)
        .map(|i| duplicates.iter().any(|d| d.copy == i))
        .collect();
    let unrelated = (0..n)
        .filter(|&i| !is_duplicate[i] && merged[i].is_none() && !has_child[i] && !has_parent[i])
        .collect();
    Recovery {
        edges,
        roots,
        unrelated,
        duplicates,
        merges: merged.into_iter().flatten().collect(),
        undecided_merges: undecided,
        checkpoints_or_merges: along_descent,
        merge_hubs: hubs,
        summary_kurtosis: summary,
    }
}

/// For every model, the line between two other models it lies nearest (its best fit as a merge,
/// `merges.rs`), whatever its share off that line: what `evaluate` reads to show how far the
/// models that are not merges stay from [`MAX_OFF_LINE`].
pub fn nearest_lines(models: &[LineageInput<'_>], method: &Method) -> Vec<Option<Merge>> {
    let compared = Compared::new(models, method);
    merges::best_fits(&compared.catalog, &compared.pairs, &compared.in_forest)
}

/// A model is quantised when most of its matrices were stored block-quantised (GGUF) or sit on
/// an int8 grid (some quantisation schemes keep a few layers in float).
fn is_quantized(fingerprint: &Fingerprint) -> bool {
    let quantized = fingerprint
        .tensors
        .iter()
        .filter(|t| t.is_quantized())
        .count();
    quantized * 2 > fingerprint.tensors.len()
}

/// The summary kurtosis of one model: the sum of excess kurtosis over its 2-D tensors.
pub fn summary_kurtosis(fingerprint: &Fingerprint) -> f64 {
    fingerprint
        .tensors
        .iter()
        .map(|t| t.moments.excess_kurtosis())
        .sum()
}

/// Mantissa bits of the finest dtype the model stores a matrix in.
fn finest_bits(fingerprint: &Fingerprint) -> u32 {
    fingerprint
        .tensors
        .iter()
        .map(|t| t.dtype.mantissa_bits() as u32)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::RunnerUp;

    #[test]
    fn a_runner_up_reads_as_farther_or_says_why_the_nearer_one_lost_and_gives_the_cost_margin() {
        let words = |relative_gap, distance_gap| {
            RunnerUp {
                parent: 1,
                relative_gap,
                distance_gap,
                merge_step_carried: None,
            }
            .gap_and_cost_words()
        };
        assert_eq!(words(0.042, 0.042), "4.2% farther");
        assert_eq!(
            words(0.02, -0.013),
            "1.3% nearer, but their difference spreads wider, link cost +2.0%"
        );
        assert_eq!(
            words(-0.01, -0.013),
            "1.3% nearer, but fewer resamples link it, link cost -1.0%"
        );
        assert_eq!(words(-0.01, 0.05), "5.0% farther, link cost -1.0%");
        assert_eq!(words(0.062, 0.158), "15.8% farther, link cost +6.2%");
        let merge = RunnerUp {
            parent: 1,
            relative_gap: -0.026,
            distance_gap: -0.026,
            merge_step_carried: Some(0.15),
        };
        assert_eq!(
            merge.gap_and_cost_words(),
            "2.6% nearer, but a merge of this parent, and only 0.15 of the merge's own step is \
             carried (a fine-tune of it carries about 1)"
        );
    }
}
