//! The choices inside the method that were settled by measurement on trained demo families:
//! how per-tensor kurtosis becomes one direction cue, how distance and direction are combined
//! into the cost of an arc, and which distance to use. [`Method::default`] is the measured best;
//! the others stay selectable so that the evaluation can keep comparing them.

/// How the per-tensor excess kurtosis of two models becomes one direction score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// Difference of the summed excess kurtosis over matched tensors, divided by the summed
    /// magnitudes (so the score lies in [-1, 1]); heavy-tailed tensors weigh most.
    Sum,
    /// Mean over tensors of the scale-free difference (k_a - k_b) / (|k_a| + |k_b| + eps):
    /// every tensor weighs the same.
    ScaleFree,
    /// Mean over tensors of the sign of k_a - k_b: a majority vote.
    Vote,
}

/// How distance and direction make the cost of an arc parent -> child.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Combine {
    /// The paper's rule: cost = D + lambda * mean(D) * T, with T = 1 when the child has the
    /// higher kurtosis.
    Penalty { lambda: f64 },
    /// cost = D + lambda * mean(D) * (1 - score) / 2: the paper's penalty graded by how
    /// strongly the kurtosis cue speaks, instead of all or nothing.
    Graded { lambda: f64 },
    /// cost = D - epsilon * mean(D) * score: the arborescence keeps the minimum-distance
    /// structure and the kurtosis votes of all its edges choose the root.
    TieBreak { epsilon: f64 },
    /// The tie-break's tree, re-rooted where the per-tensor kurtosis trends agree best along
    /// the edges, whatever their signs ([`super::consistency`]); the signed score decides ties.
    Consistency { epsilon: f64 },
    /// As [`Combine::Consistency`], then the per-tensor trends (sign and strength, per regime)
    /// are learned from the edges of all trees together, and every tree is re-rooted where its
    /// edges agree best with them.
    Learned { epsilon: f64 },
    /// The plain design to beat: an undirected minimum spanning tree over distance, rooted at
    /// the model with the highest summed kurtosis.
    Baseline,
}

/// Which distance orders the candidate parents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistanceKind {
    /// Relative L2 distance over the matched tensors.
    L2,
    /// Low-rank pairs first, by the rank of their difference summed over the touched tensors
    /// (the paper's LoRA distance); full-rank pairs after them; L2 breaks ties.
    RankThenL2,
}

/// The settings of the method beyond [`super::LineageOptions`].
#[derive(Debug, Clone, PartialEq)]
pub struct Method {
    pub aggregate: Aggregate,
    /// Read kurtosis only from tensors that differ between the two models.
    pub touched_only: bool,
    pub combine: Combine,
    pub distance: DistanceKind,
    /// Pairs whose cosine similarity is at or below this are never linked.
    pub related_cosine: f64,
    /// Candidate parents per model: its nearest related neighbours.
    pub neighbours: usize,
    /// Singular values below this share of the largest do not count toward the rank.
    pub rank_tolerance: f64,
}

impl Default for Method {
    fn default() -> Self {
        Self {
            aggregate: Aggregate::ScaleFree,
            touched_only: true,
            combine: Combine::Learned { epsilon: 1e-3 },
            distance: DistanceKind::RankThenL2,
            related_cosine: 0.5,
            neighbours: 10,
            rank_tolerance: 1e-3,
        }
    }
}
