//! The choices inside the method, kept selectable so that the evaluation can compare the default
//! with the designs it must beat (`cargo run --release --example evaluate`, README "How the
//! method was chosen"):
//!
//! - [`Direction::MaxKurtosis`] with no low-rank discount is the plain design: the minimum
//!   spanning tree of L2 distances, rooted at the model of highest summed kurtosis.
//! - [`Direction::KurtosisPenalty`] is the MoTHer paper's recipe: an arborescence over
//!   D + lambda * mean(D) * T, with T = 1 when the child has the higher summed kurtosis.
//! - [`Direction::Evidence`] is the default: every tree rooted where the growth statistic of its
//!   edges agrees best, the tree's centre as the prior (`direction.rs`), on the links the
//!   bootstrap resamples keep most often ([`Method::bagged_structure`]), with distances scaled
//!   by the breadth of each difference ([`Method::breadth_power`]).

/// How each tree gets its direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Direction {
    /// Root each tree at its model of highest summed excess kurtosis.
    MaxKurtosis,
    /// The paper: add `lambda * mean distance` to every arc whose child has the higher summed
    /// kurtosis, and take the minimum arborescence.
    KurtosisPenalty { lambda: f64 },
    /// Root each tree where the evidence of its edges, plus `centre_prior` (in log-odds) for
    /// the tree's centre, is highest. Without `growth` the edges say nothing and the prior
    /// decides (an ablation).
    Evidence { centre_prior: f64, growth: bool },
}

/// The settings of the method beyond [`super::LineageOptions`].
#[derive(Debug, Clone, PartialEq)]
pub struct Method {
    pub direction: Direction,
    /// Share taken off the distance of a pair whose difference is low-rank: a LoRA child's
    /// difference from its parent is low-rank, from anything else it is not, so among nearly
    /// equal distances the low-rank pair is the likelier edge. 0.1 settles such ties without
    /// ever passing over a parent more than 10% closer.
    pub low_rank_discount: f64,
    /// Pairs whose cosine similarity is at or below this are never linked.
    pub related_cosine: f64,
    /// Candidate parents per model: its nearest related neighbours.
    pub neighbours: usize,
    /// Take each tree's links from the bootstrap: the spanning tree of the links the resamples
    /// keep most often (equal counts: the nearer pair), instead of the one tree all tensors
    /// give. A near tie lets the noise of one tensor's sketch pick the link; averaging the
    /// choice over resamples (bagging, Breiman 1996) steadies it. Off in the plain designs.
    pub bagged_structure: bool,
    /// A link's cost is its distance times its breadth (how many directions the difference
    /// spreads over, `PairView::breadth`) to this power. One fine-tune's change follows one
    /// task; the difference between two siblings, or between a grandparent and a grandchild,
    /// sums two runs and spreads wider. 0 leaves the distance alone. 0.35 got the most directed
    /// edges right over the 28 families it was chosen on (of 1,312: 1,298 at 0.25, 1,305 at
    /// 0.35, 1,300 at 0.4, 1,303 at 0.5; README, protocol round 5). 0.5 places more gentle demo
    /// siblings but costs real fine-tunes (`l3-mix` 11 -> 9 of 11 when looked at again, round
    /// 15), so it stays.
    pub breadth_power: f64,
    /// Find merges (a model on the line between two others or the plane of three,
    /// `merges.rs`) and keep them out of the tree. Off in the plain designs, which take every
    /// model as a tree node.
    pub merges: bool,
    /// Keep out of the tree from the start, with its merge, a model nearest a merge that lies
    /// between the merge's sources (`merges::between_sources`, round 23). Only read with
    /// `merges`.
    pub between_sources: bool,
}

impl Method {
    /// The plain design the default must never fall below.
    pub fn baseline() -> Self {
        Self {
            direction: Direction::MaxKurtosis,
            low_rank_discount: 0.0,
            bagged_structure: false,
            breadth_power: 0.0,
            merges: false,
            ..Self::default()
        }
    }

    /// The MoTHer paper's recipe on all 2-D matrices.
    pub fn paper() -> Self {
        Self {
            direction: Direction::KurtosisPenalty { lambda: 0.3 },
            low_rank_discount: 0.0,
            bagged_structure: false,
            breadth_power: 0.0,
            merges: false,
            ..Self::default()
        }
    }
}

impl Default for Method {
    fn default() -> Self {
        Self {
            direction: Direction::Evidence {
                centre_prior: 0.5,
                growth: true,
            },
            low_rank_discount: 0.1,
            related_cosine: 0.5,
            neighbours: 10,
            bagged_structure: true,
            breadth_power: 0.35,
            merges: true,
            between_sources: true,
        }
    }
}
