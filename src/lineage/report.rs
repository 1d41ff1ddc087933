//! Turns the main forest into reported edges: distance to the parent, regime and rank, growth,
//! the runner-up parent, and the confidence (`confidence.rs`) from the bootstrap tally, the gap
//! to the best replacement link and the direction margin.

use super::bootstrap::{Solved, Tally};
use super::confidence;
use super::names::Matching;
use super::pairs::{Change, Pair};
use super::structure::{CandidateArc, PairView};
use super::{DirectionBasis, Edge, EdgeKind, Regime, RunnerUp};

/// The main forest with everything its edges are reported from.
pub struct Report<'a> {
    pub pairs: &'a [Pair],
    pub solved: &'a Solved,
    pub tally: &'a Tally,
    pub quantized: &'a [bool],
    pub summary: &'a [f64],
}

impl Report<'_> {
    /// One edge per model that has a parent, in child order.
    pub fn edges(&self) -> Vec<Edge> {
        let replacement = self.replacement_costs();
        self.solved
            .parent_arc
            .iter()
            .enumerate()
            .filter_map(|(child, chosen)| {
                let arc = &self.solved.arcs[(*chosen)?];
                Some(self.edge(child, arc, replacement[child]))
            })
            .collect()
    }

    fn edge(&self, child: usize, arc: &CandidateArc, replacement: Option<f64>) -> Edge {
        let parent = arc.parent;
        let pair = &self.pairs[arc.pair];
        let view = &self.solved.views[arc.pair];
        let way = usize::from(parent != pair.a);
        let counts = self.tally.directed[arc.pair];
        let resamples = self.tally.resamples as f64;
        let linked = f64::from(counts[0] + counts[1]);
        let parent_sum_sq = if way == 0 {
            view.sum_sq_a
        } else {
            view.sum_sq_b
        };
        let quantized = self.quantized[child] && !self.quantized[parent];
        let oriented = self.solved.oriented[child];
        let gap = replacement.map(|cost| (cost - arc.cost) / arc.cost.max(1e-12));
        let link_confidence = confidence::link(ratio(linked, resamples), gap);
        let direction_confidence = if quantized {
            1.0
        } else {
            confidence::direction(
                oriented.map(|o| o.margin),
                ratio(f64::from(counts[way]), linked),
            )
        };
        let regime = if quantized { Regime::Full } else { view.regime };
        Edge {
            parent,
            child,
            kind: if quantized {
                EdgeKind::Quantized
            } else {
                EdgeKind::Finetune
            },
            distance: ratio(view.diff_sq, parent_sum_sq).sqrt(),
            confidence: link_confidence * direction_confidence,
            link_confidence,
            direction_confidence,
            direction_basis: if quantized {
                DirectionBasis::Copy
            } else {
                oriented.map_or(DirectionBasis::Prior, |o| o.basis)
            },
            growth: edge_growth(view).map(|(g, _)| if way == 0 { g } else { -g }),
            growth_sigma: edge_growth(view).map(|(_, sigma)| sigma),
            shrink: match (view.regime, view.rescaled_growth) {
                (Regime::Full, Some(r)) => {
                    Some((if way == 0 { r.shrink } else { -r.shrink }, r.shrink_sigma))
                }
                _ => None,
            },
            regime,
            rank: if regime == Regime::LowRank {
                median_rank(pair)
            } else {
                None
            },
            kurtosis_drop: self.summary[parent] - self.summary[child],
            breadth: view.breadth.filter(|_| !quantized),
            runner_up: self.runner_up(child, arc),
            matching: Matching::default(),
        }
    }

    /// For every model with a parent, the cost of the cheapest other related pair that would
    /// reconnect its tree if the link to its parent were cut: every pair outside the tree
    /// covers the tree path between its two models (a quantised model's pairs, only its own
    /// link: it may not become a parent).
    fn replacement_costs(&self) -> Vec<Option<f64>> {
        let parent_arc = &self.solved.parent_arc;
        let arcs = &self.solved.arcs;
        let n = parent_arc.len();
        let parent_of = |v: usize| parent_arc[v].map(|i| arcs[i].parent);
        let mut depth = vec![usize::MAX; n];
        for v in 0..n {
            // Depths by walking up to a known depth (or the root), then back down.
            let mut path = vec![v];
            let mut at = v;
            while depth[at] == usize::MAX {
                match parent_of(at) {
                    Some(p) => {
                        path.push(p);
                        at = p;
                    }
                    None => {
                        depth[at] = 0;
                        break;
                    }
                }
                if path.len() > n {
                    break;
                }
            }
            for &u in path.iter().rev() {
                if depth[u] == usize::MAX {
                    depth[u] = parent_of(u).map_or(0, |p| depth[p].saturating_add(1));
                }
            }
        }
        let in_tree: Vec<bool> = {
            let mut used = vec![false; self.pairs.len()];
            for i in parent_arc.iter().flatten() {
                used[arcs[*i].pair] = true;
            }
            used
        };
        let mut cheapest: Vec<Option<f64>> = vec![None; self.pairs.len()];
        for arc in arcs {
            keep_min(&mut cheapest[arc.pair], arc.cost);
        }
        let mut replacement: Vec<Option<f64>> = vec![None; n];
        for (p, cost) in cheapest.into_iter().enumerate() {
            let Some(cost) = cost else { continue };
            if in_tree[p] {
                continue;
            }
            let (mut x, mut y) = (self.pairs[p].a, self.pairs[p].b);
            // A quantised model stays a leaf: its pairs can only replace its own link.
            match (self.quantized[x], self.quantized[y]) {
                (false, false) => {}
                (true, true) => continue,
                (true, false) | (false, true) => {
                    let leaf = if self.quantized[x] { x } else { y };
                    if parent_of(leaf).is_some() {
                        keep_min(&mut replacement[leaf], cost);
                    }
                    continue;
                }
            }
            for _ in 0..2 * n {
                if x == y {
                    break;
                }
                let deeper = if depth[x] >= depth[y] { &mut x } else { &mut y };
                let Some(up) = parent_of(*deeper) else { break };
                keep_min(&mut replacement[*deeper], cost);
                *deeper = up;
            }
        }
        replacement
    }

    /// The cheapest other parent for `child`. Only a parent outside the child's own subtree
    /// could replace the chosen one.
    fn runner_up(&self, child: usize, chosen: &CandidateArc) -> Option<RunnerUp> {
        let best = self
            .solved
            .arcs
            .iter()
            .filter(|a| a.child == child && a.parent != chosen.parent)
            .filter(|a| !self.descends_from(a.parent, child))
            .min_by(|x, y| x.cost.total_cmp(&y.cost))?;
        let distance = |arc: &CandidateArc| self.solved.views[arc.pair].distance;
        Some(RunnerUp {
            parent: best.parent,
            relative_gap: (best.cost - chosen.cost) / chosen.cost.abs().max(1e-12),
            distance_gap: (distance(best) - distance(chosen)) / distance(chosen).max(1e-12),
            merge_step_carried: None,
        })
    }

    /// Whether `node` is `ancestor` or lies below it in the main forest.
    fn descends_from(&self, node: usize, ancestor: usize) -> bool {
        let mut v = node;
        for _ in 0..self.solved.parent_arc.len() {
            if v == ancestor {
                return true;
            }
            match self.solved.parent_arc[v] {
                Some(i) => v = self.solved.arcs[i].parent,
                None => return false,
            }
        }
        false
    }
}

/// Keeps the smaller of `slot` and `cost` in `slot`.
fn keep_min(slot: &mut Option<f64>, cost: f64) {
    *slot = Some(slot.map_or(cost, |c| c.min(cost)));
}

/// The growth statistic, a -> b, and its noise.
pub(super) fn edge_growth(view: &PairView) -> Option<(f64, f64)> {
    view.growth.map(|g| (g, view.growth_sigma))
}

/// `x / y`, or 0 when `y` is not positive.
pub(super) fn ratio(x: f64, y: f64) -> f64 {
    if y > 0.0 { x / y } else { 0.0 }
}

/// Median rank over the matrices whose change is low-rank.
pub(super) fn median_rank(pair: &Pair) -> Option<u32> {
    let mut ranks: Vec<u32> = pair
        .tensors
        .iter()
        .filter_map(|t| match t.change {
            Change::LowRank(rank) => Some(rank),
            _ => None,
        })
        .collect();
    ranks.sort_unstable();
    ranks.get(ranks.len() / 2).copied()
}
