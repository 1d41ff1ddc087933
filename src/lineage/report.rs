//! Turns the chosen arcs of the main forest into reported edges: distance to the parent,
//! regime and rank, bootstrap confidences, kurtosis drop, and the runner-up parent.

use super::bootstrap::Tally;
use super::edmonds::Cost;
use super::forest::{CandidateArc, PairView};
use super::pairs::Pair;
use super::{Edge, EdgeKind, Regime, RunnerUp};

/// The main forest with everything its edges are reported from.
pub struct Solved<'a> {
    pub pairs: &'a [Pair],
    pub views: Vec<PairView>,
    pub arcs: Vec<CandidateArc>,
    /// For every model, the index of its parent arc.
    pub parents: Vec<Option<usize>>,
    pub tally: Tally,
    pub quantized: &'a [bool],
    pub summary: &'a [f64],
}

impl Solved<'_> {
    /// One edge per model that has a parent, in child order.
    pub fn edges(&self) -> Vec<Edge> {
        self.parents
            .iter()
            .enumerate()
            .filter_map(|(child, chosen)| Some(self.edge(child, &self.arcs[(*chosen)?])))
            .collect()
    }

    fn edge(&self, child: usize, arc: &CandidateArc) -> Edge {
        let parent = arc.parent;
        let pair = &self.pairs[arc.pair];
        let view = &self.views[arc.pair];
        let way = usize::from(parent != pair.a);
        let counts = self.tally.directed[arc.pair];
        let linked = counts[0] + counts[1];
        let parent_sum_sq = if way == 0 {
            view.sum_sq_a
        } else {
            view.sum_sq_b
        };
        let quantized = self.quantized[child] && !self.quantized[parent];
        let low_rank = view.low_rank && !quantized;
        Edge {
            parent,
            child,
            kind: if quantized {
                EdgeKind::Quantized
            } else {
                EdgeKind::Finetune
            },
            distance: ratio(view.diff_sq, parent_sum_sq).sqrt(),
            confidence: ratio(f64::from(counts[way]), self.tally.resamples as f64),
            direction_confidence: ratio(f64::from(counts[way]), f64::from(linked)),
            regime: if low_rank {
                Regime::LowRank
            } else {
                Regime::Full
            },
            rank: if low_rank { median_rank(pair) } else { None },
            kurtosis_drop: self.summary[parent] - self.summary[child],
            runner_up: self.runner_up(child, arc),
        }
    }

    /// The cheapest other parent for `child`. Only a parent outside the child's own subtree
    /// could replace the chosen one; among those the chosen arc is the cheapest (else the
    /// arborescence was not minimal), so the gap is never negative.
    fn runner_up(&self, child: usize, chosen: &CandidateArc) -> Option<RunnerUp> {
        let best = self
            .arcs
            .iter()
            .filter(|a| a.child == child && a.parent != chosen.parent)
            .filter(|a| !self.descends_from(a.parent, child))
            .min_by(|x, y| x.cost.order(&y.cost))?;
        Some(RunnerUp {
            parent: best.parent,
            relative_gap: best.cost.relative_gap(&chosen.cost),
        })
    }

    /// Whether `node` is `ancestor` or lies below it in the main forest.
    fn descends_from(&self, node: usize, ancestor: usize) -> bool {
        let mut v = node;
        for _ in 0..self.parents.len() {
            if v == ancestor {
                return true;
            }
            match self.parents[v] {
                Some(i) => v = self.arcs[i].parent,
                None => return false,
            }
        }
        false
    }
}

/// `x / y`, or 0 when `y` is not positive.
fn ratio(x: f64, y: f64) -> f64 {
    if y > 0.0 { x / y } else { 0.0 }
}

/// Median rank of the difference over the touched matrices that have one.
fn median_rank(pair: &Pair) -> Option<u32> {
    let mut ranks: Vec<u32> = pair
        .tensors
        .iter()
        .filter(|t| t.touched)
        .filter_map(|t| t.rank)
        .collect();
    ranks.sort_unstable();
    ranks.get(ranks.len() / 2).copied()
}
