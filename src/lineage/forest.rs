//! One recovery of the forest from one weighting of the tensors (all ones for the main answer,
//! bootstrap counts for the resamples).
//!
//! Every candidate pair is summarised under the weights ([`PairView`]); related pairs become two
//! arcs (or one, when a quantised model may only be a leaf) whose cost combines distance and
//! direction as [`Method`] says. The connected groups of arcs are the trees: each gets its own
//! minimum arborescence, with the root left free by a virtual root whose arcs cost more than any
//! sum of real arcs (the cost is lexicographic, so "more" needs no tuned constant). A group whose
//! arcs cannot span it from one model (only possible through the quantised-leaf rule) splits.

use super::DirectionMode;
use super::consistency::{Evidence, best_root, learn_trends};
use super::direction;
use super::edmonds::{self, Arc, Cost};
use super::method::{Combine, DistanceKind, Method};
use super::pairs::{Pair, cosine};
use std::cmp::Ordering;
use std::ops::{Add, Sub};

/// A pair of models as one weighting of the tensors sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PairView {
    pub related: bool,
    /// Relative L2 distance, symmetric: ||A - B|| / sqrt((||A||^2 + ||B||^2) / 2).
    pub distance: f64,
    pub diff_sq: f64,
    pub sum_sq_a: f64,
    pub sum_sq_b: f64,
    /// Every touched matrix with a meaningful rank has a low-rank difference.
    pub low_rank: bool,
    /// Weighted sum of the ranks of the touched matrices (the paper's LoRA distance).
    pub rank_sum: f64,
    /// Weighted sum of the smaller sketch sides of the matched matrices: the most a rank sum can be.
    pub rank_cap: f64,
    /// Direction score in [-1, 1] that the pair's first model is the parent.
    pub score: f64,
}

impl PairView {
    pub fn new(pair: &Pair, weights: &[u32], method: &Method, mode: DirectionMode) -> PairView {
        let (mut dot, mut sa, mut sb, mut diff, mut na, mut nb) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        let (mut rank_sum, mut rank_cap) = (0.0, 0.0);
        let mut rank_readable = 0usize;
        let mut full_rank = false;
        for t in &pair.tensors {
            let w = f64::from(weights[t.key as usize]);
            if w == 0.0 {
                continue;
            }
            dot += w * t.dot;
            sa += w * t.sketch_sq_a;
            sb += w * t.sketch_sq_b;
            diff += w * t.diff_sq;
            na += w * t.sum_sq_a;
            nb += w * t.sum_sq_b;
            if let Some(side) = t.rank_side {
                rank_cap += w * f64::from(side);
                if t.touched {
                    rank_readable += 1;
                    match t.rank {
                        Some(r) => rank_sum += w * f64::from(r),
                        None => full_rank = true,
                    }
                }
            }
        }
        let scale = (na + nb) / 2.0;
        let related = scale > 0.0 && cosine(dot, sa, sb).is_some_and(|c| c > method.related_cosine);
        PairView {
            related,
            distance: if scale > 0.0 {
                (diff / scale).sqrt()
            } else {
                0.0
            },
            diff_sq: diff,
            sum_sq_a: na,
            sum_sq_b: nb,
            low_rank: rank_readable > 0 && !full_rank,
            rank_sum,
            rank_cap,
            score: direction::score(
                &pair.tensors,
                weights,
                method.aggregate,
                method.touched_only,
                mode,
            ),
        }
    }
}

/// Lexicographic arc cost: virtual-root arcs first, then the rank distance (zero when ranks
/// are not used), then distance plus the direction term.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ArcCost {
    pub virtual_root: f64,
    pub rank: f64,
    pub distance: f64,
}

impl ArcCost {
    /// How much more this cost is than `chosen`, relative to it, in the first part where they
    /// differ: rank units when the ranks differ, else the distance part.
    pub fn relative_gap(&self, chosen: &ArcCost) -> f64 {
        if self.rank != chosen.rank {
            (self.rank - chosen.rank) / chosen.rank.abs().max(1.0)
        } else {
            (self.distance - chosen.distance) / chosen.distance.abs().max(1e-12)
        }
    }
}

impl Add for ArcCost {
    type Output = ArcCost;
    fn add(self, o: ArcCost) -> ArcCost {
        ArcCost {
            virtual_root: self.virtual_root + o.virtual_root,
            rank: self.rank + o.rank,
            distance: self.distance + o.distance,
        }
    }
}

impl Sub for ArcCost {
    type Output = ArcCost;
    fn sub(self, o: ArcCost) -> ArcCost {
        ArcCost {
            virtual_root: self.virtual_root - o.virtual_root,
            rank: self.rank - o.rank,
            distance: self.distance - o.distance,
        }
    }
}

impl Cost for ArcCost {
    fn order(&self, o: &ArcCost) -> Ordering {
        self.virtual_root
            .total_cmp(&o.virtual_root)
            .then(self.rank.total_cmp(&o.rank))
            .then(self.distance.total_cmp(&o.distance))
    }
}

/// A candidate arc parent -> child through candidate pair `pair`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandidateArc {
    pub parent: usize,
    pub child: usize,
    pub pair: usize,
    pub cost: ArcCost,
}

/// The arcs the method allows under one weighting, in (pair, direction) order.
pub fn arcs(
    pairs: &[Pair],
    views: &[PairView],
    quantized: &[bool],
    method: &Method,
) -> Vec<CandidateArc> {
    let related: Vec<usize> = (0..pairs.len()).filter(|&p| views[p].related).collect();
    let mean_distance = if related.is_empty() {
        0.0
    } else {
        related.iter().map(|&p| views[p].distance).sum::<f64>() / related.len() as f64
    };
    let mut out = Vec::with_capacity(related.len() * 2);
    for p in related {
        let (pair, view) = (&pairs[p], &views[p]);
        for (parent, child, score) in [(pair.a, pair.b, view.score), (pair.b, pair.a, -view.score)]
        {
            let baseline = method.combine == Combine::Baseline;
            if quantized[parent] && !baseline {
                continue;
            }
            let rank = match method.distance {
                DistanceKind::L2 => 0.0,
                DistanceKind::RankThenL2 if baseline => 0.0,
                DistanceKind::RankThenL2 if view.low_rank => view.rank_sum,
                DistanceKind::RankThenL2 => view.rank_cap,
            };
            let direction_term = match method.combine {
                Combine::Penalty { lambda } if score < 0.0 => lambda * mean_distance,
                Combine::Penalty { .. } | Combine::Baseline => 0.0,
                Combine::Graded { lambda } => lambda * mean_distance * (1.0 - score) / 2.0,
                Combine::TieBreak { epsilon }
                | Combine::Consistency { epsilon }
                | Combine::Learned { epsilon } => -epsilon * mean_distance * score,
            };
            out.push(CandidateArc {
                parent,
                child,
                pair: p,
                cost: ArcCost {
                    virtual_root: 0.0,
                    rank,
                    distance: view.distance + direction_term,
                },
            });
        }
    }
    out
}

/// For every model, the arc (index into `arcs`) that makes its parent, if any: a minimum
/// arborescence per connected group of arcs, root left free. Under [`Combine::Baseline`] each
/// tree is then re-rooted at its model of highest summary kurtosis.
pub fn parents(
    nodes: usize,
    arcs: &[CandidateArc],
    summary: &[f64],
    method: &Method,
    evidence: &Evidence<'_>,
) -> Vec<Option<usize>> {
    let mut groups = UnionFind::new(nodes);
    for arc in arcs {
        groups.join(arc.parent, arc.child);
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); nodes];
    for v in 0..nodes {
        members[groups.find(v)].push(v);
    }
    let mut arcs_of: Vec<Vec<usize>> = vec![Vec::new(); nodes];
    for (i, arc) in arcs.iter().enumerate() {
        arcs_of[groups.find(arc.parent)].push(i);
    }

    let mut parent_arc = vec![None; nodes];
    let mut local = vec![usize::MAX; nodes];
    for (group, list) in members.iter().enumerate() {
        if list.len() < 2 {
            continue;
        }
        for (i, &v) in list.iter().enumerate() {
            local[v] = i;
        }
        let virtual_root = list.len();
        let mut local_arcs: Vec<Arc<ArcCost>> = arcs_of[group]
            .iter()
            .map(|&i| Arc {
                from: local[arcs[i].parent],
                to: local[arcs[i].child],
                cost: arcs[i].cost,
            })
            .collect();
        let root_cost = ArcCost {
            virtual_root: 1.0,
            ..ArcCost::default()
        };
        local_arcs.extend((0..list.len()).map(|to| Arc {
            from: virtual_root,
            to,
            cost: root_cost,
        }));
        // Every node has the virtual root as a possible parent, so an arborescence exists.
        let Some(chosen) = edmonds::min_arborescence(list.len() + 1, virtual_root, &local_arcs)
        else {
            continue;
        };
        let real = arcs_of[group].len();
        for c in chosen.into_iter().filter(|&c| c < real) {
            let i = arcs_of[group][c];
            parent_arc[arcs[i].child] = Some(i);
        }
        let new_root = match method.combine {
            Combine::Baseline => list
                .iter()
                .copied()
                .max_by(|&x, &y| summary[x].total_cmp(&summary[y]).then(y.cmp(&x))),
            Combine::Consistency { .. } | Combine::Learned { .. } => {
                best_root(list, arcs, &parent_arc, evidence, None)
            }
            _ => None,
        };
        if let Some(root) = new_root {
            reroot(root, arcs, &mut parent_arc);
        }
    }
    if let Combine::Learned { .. } = method.combine {
        let learned = learn_trends(&parent_arc, arcs, evidence);
        for list in members.iter().filter(|list| list.len() >= 2) {
            if let Some(root) = best_root(list, arcs, &parent_arc, evidence, Some(&learned)) {
                reroot(root, arcs, &mut parent_arc);
            }
        }
    }
    parent_arc
}

/// Re-orients the tree holding `root` so that `root` is its root, using for each flipped edge
/// the arc of the same pair in the other direction.
fn reroot(root: usize, arcs: &[CandidateArc], parent_arc: &mut [Option<usize>]) {
    // Walk from the new root up to the old one, flipping each edge on the way.
    let mut path = vec![root];
    let mut v = root;
    while let Some(i) = parent_arc[v] {
        v = arcs[i].parent;
        path.push(v);
    }
    for step in (1..path.len()).rev() {
        let (upper, lower) = (path[step], path[step - 1]);
        parent_arc[upper] = parent_arc[lower].and_then(|i| reverse(arcs, i));
    }
    parent_arc[root] = None;
}

/// The arc of the same pair in the other direction: `arcs` lists a pair's two arcs side by
/// side.
fn reverse(arcs: &[CandidateArc], i: usize) -> Option<usize> {
    let arc = &arcs[i];
    [i.wrapping_sub(1), i + 1]
        .into_iter()
        .filter(|&j| j < arcs.len())
        .find(|&j| arcs[j].pair == arc.pair && arcs[j].parent == arc.child)
}

/// Disjoint sets with path halving; the smaller index represents each set.
struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut v: usize) -> usize {
        while self.parent[v] != v {
            self.parent[v] = self.parent[self.parent[v]];
            v = self.parent[v];
        }
        v
    }

    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }
}
