//! The direction of every edge: each tree is rooted where the evidence of its edges agrees best.
//!
//! **The growth statistic.** For related models A and B, with D = B - A over the tensors that
//! changed (exact norms from the full pass, the difference's energy from the sketches),
//! ||B||^2 - ||A||^2 = 2<A, D> + ||D||^2. If B was made from A by adding an update that does
//! not depend on A's weights, <A, D> ~ 0 and g = (||B||^2 - ||A||^2) / ||D||^2 ~ +1; read the
//! other way round, A = B - D and g' = -g ~ -1. Whether a child's update is independent of its
//! parent is the question the rest answers:
//! - A **low-rank** difference (a merged LoRA) is an independent update on a frozen base: g > 0
//!   says A is the parent (on every true LoRA edge of the families the method was chosen on,
//!   trained here and on real BERT checkpoints, stored F32, BF16 or F16). Storage rounding is
//!   one more independent update.
//! - A **full** fine-tune may also rescale its parent: weight decay shrinks every tensor by
//!   the same factor, and without decay some objectives grow them along themselves, so g
//!   itself says little. A rescaling moves each tensor's energy in proportion to that energy,
//!   the update in proportion to how far the tensor moved, so a least-squares fit over the
//!   changed tensors, 2<A_t, D_t> = -2 lambda ||A_t||^2 + 2 rho ||D_t||^2, separates them. The
//!   rescaling, kappa = lambda ||A||^2 / ||D||^2 (the energy it took, in units of the update's),
//!   is the reading: weight decay took up to four of them, while no fine-tune without decay
//!   grew the weights by more than half of one, so a kappa beyond [`SHRINK_UNSEEN`] names the
//!   shrunk model as the child, by its excess in standard deviations. What is left of the
//!   update (1 + 2 rho, the analogue of g) pointed the wrong way on whole families at once
//!   (masked-language-model fine-tunes; README, round 2 of "How the method was chosen"), so it
//!   is not read.
//!
//!   README ("How the method was chosen") gives the measured ranges of these readings.
//! - A **faint** difference (within storage noise) says nothing.
//!
//! **The prior.** Where the edges say little, the tree's centre (the model whose removal leaves
//! the smallest largest part) is the likelier root: a base model has many descendants, each
//! lineage growing away from it. Exact ties fall to the finer storage dtype (a cast loses
//! precision), then to the higher summed kurtosis (the MoTHer paper's cue, which real short
//! fine-tunes moved either way, so it only settles what nothing else does), then the index.
//!
//! Scores are log-odds: an edge's evidence is capped at [`CAP`], and the margin by which the
//! chosen root beats the best root on the far side of an edge is what its direction confidence
//! is read from (`confidence.rs`). Rerooting changes one edge at a time, so every root is
//! scored in one walk of the tree.

use super::pairs::Pair;
use super::structure::{CandidateArc, PairView, reroot};
use super::{DirectionBasis, DirectionMode, Regime};

/// Largest log-odds one edge can carry (about 20 to 1).
pub const CAP: f64 = 3.0;
/// Where the growth statistic of a true low-rank edge sits, and how far real updates stray
/// from that beyond the measurement noise (README gives the measured range).
const LOW_RANK_CENTRE: f64 = 1.0;
const LOW_RANK_SPREAD: f64 = 0.3;
/// The most a uniform rescaling may say about a full edge (about 7 to 1).
const FULL_CAP: f64 = 2.0;
/// A uniform rescaling larger than this (in units of the update's energy) is one no fine-tune
/// without weight decay showed (growth along the weights reached 0.43 of it).
const SHRINK_UNSEEN: f64 = 0.6;
/// An edge's own evidence at least this strong makes it the basis of its direction.
pub const DECISIVE: f64 = 1.0;

/// Log-odds from one pair alone that its model `a` is the parent (`forward`) or `b` is.
///
/// Low-rank: g is modelled as Normal(+centre, spread) the right way round and Normal(-centre,
/// spread) the wrong way, its measurement noise added to the spread, which gives log-odds of
/// 2 centre g / (sigma^2 + spread^2). Full: the uniform rescaling beyond what any fine-tune
/// without decay showed, in standard deviations.
pub fn edge_evidence(view: &PairView, forward: bool, mode: DirectionMode) -> f64 {
    let oriented = |value: f64| if forward { value } else { -value };
    match view.regime {
        Regime::LowRank => view.growth.map_or(0.0, |growth| {
            let variance = view.growth_sigma.powi(2) + LOW_RANK_SPREAD.powi(2);
            (2.0 * LOW_RANK_CENTRE * oriented(growth) / variance).clamp(-CAP, CAP)
        }),
        Regime::Full => view.rescaled_growth.map_or(0.0, |r| {
            // Continued pre-training grows weights along themselves: the reading flips.
            let shrink = match mode {
                DirectionMode::Finetune => oriented(r.shrink),
                DirectionMode::Pretrain => -oriented(r.shrink),
            };
            let beyond = (shrink.abs() - SHRINK_UNSEEN) / r.shrink_sigma.max(f64::MIN_POSITIVE);
            shrink.signum() * beyond.clamp(0.0, FULL_CAP)
        }),
        Regime::Faint => 0.0,
    }
}

/// What the root choice reads besides the tree.
pub struct Context<'a> {
    pub pairs: &'a [Pair],
    pub views: &'a [PairView],
    pub arcs: &'a [CandidateArc],
    pub quantized: &'a [bool],
    pub summary: &'a [f64],
    pub finest_bits: &'a [u32],
    pub mode: DirectionMode,
    /// Log-odds for the tree's centre.
    pub centre_prior: f64,
    /// Read the growth statistic (off only in an ablation).
    pub growth: bool,
}

impl Context<'_> {
    /// The evidence of arc `i` as oriented.
    fn evidence(&self, i: usize) -> f64 {
        if !self.growth {
            return 0.0;
        }
        let arc = &self.arcs[i];
        let forward = arc.parent == self.pairs[arc.pair].a;
        edge_evidence(&self.views[arc.pair], forward, self.mode)
    }

    /// The evidence of arc `i` read the other way round.
    fn evidence_reversed(&self, i: usize) -> f64 {
        if !self.growth {
            return 0.0;
        }
        let arc = &self.arcs[i];
        let forward = arc.parent == self.pairs[arc.pair].a;
        edge_evidence(&self.views[arc.pair], !forward, self.mode)
    }
}

/// For every child of a rooted tree: the log-odds margin of its direction and what decided it.
#[derive(Debug, Clone, Copy)]
pub struct Oriented {
    pub margin: f64,
    pub basis: DirectionBasis,
}

/// Roots the tree of `members` (given by `parent_arc`) where the evidence is best, re-orienting
/// it in place, and records for each member with a parent how firmly its edge is oriented.
pub fn root_by_evidence(
    members: &[usize],
    parent_arc: &mut [Option<usize>],
    context: &Context<'_>,
    oriented: &mut [Option<Oriented>],
) {
    let Some(start) = members.iter().copied().find(|&v| parent_arc[v].is_none()) else {
        return;
    };
    let walk = Walk::new(start, members, parent_arc, context.arcs);
    // Growth evidence of every root, by moving the root one edge at a time.
    let mut growth = vec![0.0; parent_arc.len()];
    growth[start] = walk
        .order
        .iter()
        .filter_map(|&v| parent_arc[v])
        .map(|i| context.evidence(i))
        .sum();
    for &v in &walk.order[1..] {
        let Some(i) = parent_arc[v] else { continue };
        let p = context.arcs[i].parent;
        growth[v] = growth[p] - context.evidence(i) + context.evidence_reversed(i);
    }
    let centres = walk.centres(members.len());
    let total = |v: usize| {
        growth[v]
            + if centres.contains(&v) {
                context.centre_prior
            } else {
                0.0
            }
    };
    let key = |v: usize| {
        let kurtosis = match context.mode {
            DirectionMode::Finetune => context.summary[v],
            DirectionMode::Pretrain => -context.summary[v],
        };
        (
            total(v),
            context.finest_bits[v],
            kurtosis,
            std::cmp::Reverse(v),
        )
    };
    let best = walk
        .order
        .iter()
        .copied()
        .filter(|&v| !context.quantized[v])
        .max_by(|&x, &y| {
            let (kx, ky) = (key(x), key(y));
            kx.0.total_cmp(&ky.0)
                .then(kx.1.cmp(&ky.1))
                .then(kx.2.total_cmp(&ky.2))
                .then(kx.3.cmp(&ky.3))
        });
    let Some(root) = best else { return };
    reroot(root, context.arcs, parent_arc);

    // Margins: the chosen root against the best possible root below each edge.
    let walk = Walk::new(root, members, parent_arc, context.arcs);
    let n = parent_arc.len();
    let mut best_below = vec![f64::NEG_INFINITY; n];
    let mut growth_below = vec![f64::NEG_INFINITY; n];
    for &v in walk.order.iter().rev() {
        if !context.quantized[v] {
            best_below[v] = best_below[v].max(total(v));
            growth_below[v] = growth_below[v].max(growth[v]);
        }
        if let Some(i) = parent_arc[v] {
            let p = context.arcs[i].parent;
            best_below[p] = best_below[p].max(best_below[v]);
            growth_below[p] = growth_below[p].max(growth_below[v]);
        }
    }
    let best_growth = growth_below[root];
    for &v in &walk.order[1..] {
        let Some(i) = parent_arc[v] else { continue };
        let margin = total(root) - best_below[v];
        let basis = if margin.is_infinite() {
            DirectionBasis::Copy
        } else if context.evidence(i) >= DECISIVE {
            DirectionBasis::Growth
        } else if growth_below[v] <= best_growth - DECISIVE {
            DirectionBasis::Tree
        } else {
            DirectionBasis::Prior
        };
        oriented[v] = Some(Oriented { margin, basis });
    }
}

/// Roots the tree of `members` at its model of highest summed kurtosis (the plain design).
pub fn root_by_kurtosis(
    members: &[usize],
    parent_arc: &mut [Option<usize>],
    arcs: &[CandidateArc],
    summary: &[f64],
    mode: DirectionMode,
) {
    let signed = |v: usize| match mode {
        DirectionMode::Finetune => summary[v],
        DirectionMode::Pretrain => -summary[v],
    };
    if let Some(root) = members
        .iter()
        .copied()
        .max_by(|&x, &y| signed(x).total_cmp(&signed(y)).then(y.cmp(&x)))
    {
        reroot(root, arcs, parent_arc);
    }
}

/// A tree walked from its root: members in an order where parents come before children.
struct Walk {
    order: Vec<usize>,
    /// Children of every node (by node index).
    children: Vec<Vec<usize>>,
}

impl Walk {
    fn new(
        root: usize,
        members: &[usize],
        parent_arc: &[Option<usize>],
        arcs: &[CandidateArc],
    ) -> Walk {
        let mut children = vec![Vec::new(); parent_arc.len()];
        for &v in members {
            if let Some(i) = parent_arc[v] {
                children[arcs[i].parent].push(v);
            }
        }
        let mut order = Vec::with_capacity(members.len());
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            order.push(v);
            stack.extend(children[v].iter().rev());
        }
        Walk { order, children }
    }

    /// The centre (or the two centres) of the tree: the members whose removal leaves the
    /// smallest largest part.
    fn centres(&self, size: usize) -> Vec<usize> {
        let n = self.children.len();
        let mut below = vec![1usize; n];
        for &v in self.order.iter().rev() {
            for &c in &self.children[v] {
                below[v] += below[c];
            }
        }
        let largest_part = |v: usize| {
            let up = size - below[v];
            self.children[v]
                .iter()
                .map(|&c| below[c])
                .max()
                .unwrap_or(0)
                .max(up)
        };
        let least = self
            .order
            .iter()
            .map(|&v| largest_part(v))
            .min()
            .unwrap_or(0);
        self.order
            .iter()
            .copied()
            .filter(|&v| largest_part(v) == least)
            .collect()
    }
}
