//! The shape of each tree under one weighting of the tensors (all ones for the main answer,
//! bootstrap counts for the resamples), before any direction is chosen.
//!
//! Every candidate pair is summarised under the weights ([`PairView`]); related pairs become two
//! arcs (or one, when a quantised model may only be a leaf). The default and the plain design
//! give both arcs of a pair the same cost, the pair's distance (less the low-rank discount, and
//! for the default times its breadth to [`Method::breadth_power`]), so
//! the minimum arborescence is a minimum spanning tree whose direction is chosen afterwards
//! (`direction.rs`); the paper's recipe adds its kurtosis penalty to one of the two. The
//! connected groups of arcs are the trees: each gets its own minimum arborescence, with the root
//! left free by a virtual root whose arcs cost more than any sum of real arcs (the cost is
//! lexicographic, so "more" needs no tuned constant). A group whose arcs cannot span it from
//! one model (only possible through the quantised-leaf rule) splits.

use super::edmonds::{self, Arc, Cost};
use super::method::{Direction, Method};
use super::pairs::{Change, Pair, Relatedness};
use super::{DirectionMode, Regime};
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
    pub regime: Regime,
    /// The growth statistic oriented a -> b over the changed tensors: (||B||^2 - ||A||^2) /
    /// ||A - B||^2; `None` when nothing changed.
    pub growth: Option<f64>,
    /// Its standard deviation were the difference independent of the weights.
    pub growth_sigma: f64,
    /// The growth statistic with any uniform rescaling of the weights taken out (weight decay,
    /// or its opposite), and its standard deviation: `direction.rs` says why.
    pub rescaled_growth: Option<Rescaled>,
    /// Summed kurtosis of a minus b over the changed tensors, over their summed magnitudes: in
    /// [-1, 1], positive when the paper's cue says a is the parent.
    pub kurtosis_score: f64,
    /// Geometric mean over the changed tensors of how many directions each change spreads
    /// over (`PairTensor::log_breadth`); `None` when none tells.
    pub breadth: Option<f64>,
}

impl PairView {
    pub fn new(pair: &Pair, weights: &[u32], mode: DirectionMode, method: &Method) -> PairView {
        let (mut diff, mut na, mut nb) = (0.0, 0.0, 0.0);
        let mut relatedness = Relatedness::default();
        let (mut grown, mut changed_diff, mut cross_variance) = (0.0, 0.0, 0.0);
        let mut rescale = RescaleFit::default();
        let (mut kurtosis, mut kurtosis_size) = (0.0, 0.0);
        let (mut spread, mut low_rank) = (false, false);
        let (mut log_breadth, mut breadth_weight) = (0.0, 0.0);
        for t in &pair.tensors {
            let w = f64::from(weights[t.key as usize]);
            if w == 0.0 {
                continue;
            }
            relatedness.add(
                w,
                t.dot,
                t.sketch_sq_a,
                t.sketch_sq_b,
                method.related_cosine,
            );
            diff += w * t.diff_sq;
            na += w * t.sum_sq_a;
            nb += w * t.sum_sq_b;
            if !t.change.changed() {
                continue;
            }
            grown += w * (t.sum_sq_b - t.sum_sq_a);
            changed_diff += w * t.diff_sq;
            cross_variance += w * w * t.cross_variance;
            rescale.add(w, t);
            kurtosis += w * (t.kurtosis_a - t.kurtosis_b);
            kurtosis_size += w * (t.kurtosis_a.abs() + t.kurtosis_b.abs());
            if let Some(log) = t.log_breadth {
                log_breadth += w * log;
                breadth_weight += w;
            }
            match t.change {
                Change::Spread | Change::Unprobed => spread = true,
                Change::LowRank(_) => low_rank = true,
                Change::Unchanged | Change::Faint => {}
            }
        }
        let scale = (na + nb) / 2.0;
        let related = scale > 0.0 && relatedness.related(method.related_cosine);
        let kurtosis_score = if kurtosis_size > 0.0 {
            kurtosis / kurtosis_size
        } else {
            0.0
        };
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
            regime: if spread {
                Regime::Full
            } else if low_rank {
                Regime::LowRank
            } else {
                Regime::Faint
            },
            growth: (changed_diff > 0.0).then(|| grown / changed_diff),
            growth_sigma: if changed_diff > 0.0 {
                cross_variance.sqrt() / changed_diff
            } else {
                0.0
            },
            rescaled_growth: rescale.solve(),
            kurtosis_score: match mode {
                DirectionMode::Finetune => kurtosis_score,
                DirectionMode::Pretrain => -kurtosis_score,
            },
            breadth: (breadth_weight > 0.0).then(|| (log_breadth / breadth_weight).exp()),
        }
    }
}

/// The weighted least-squares fit, over the changed tensors t of a pair, of
/// 2<A_t, B_t - A_t> = -2 lambda ||A_t||^2 + 2 rho ||B_t - A_t||^2: a uniform rescaling of every
/// tensor (lambda: weight decay when positive) and a part that follows how much each tensor
/// moved (rho). The rescaled growth is 1 + 2 rho.
#[derive(Debug, Default)]
struct RescaleFit {
    /// Normal equations in the regressors (-2 ||A_t||^2, 2 ||B_t - A_t||^2), each divided by
    /// its noise variance; the answer is what matters, so the scale of the terms does not.
    aa: f64,
    ad: f64,
    dd: f64,
    ay: f64,
    dy: f64,
    tensors: usize,
    /// The weights' and the differences' energies over the fitted tensors.
    energy: f64,
    moved: f64,
}

/// The sketch's estimate of a difference's energy errs by this share at most, roughly.
const SKETCH_ERROR: f64 = 0.05;

impl RescaleFit {
    fn add(&mut self, weight: f64, t: &super::pairs::PairTensor) {
        let variance = t.cross_variance + (SKETCH_ERROR * t.diff_sq).powi(2);
        if variance <= 0.0 || !variance.is_finite() {
            return;
        }
        // Regressors in units of the tensor's own energy keep the sums well scaled.
        let scale = t.sum_sq_a.max(f64::MIN_POSITIVE);
        let (x1, x2) = (-2.0 * t.sum_sq_a / scale, 2.0 * t.diff_sq / scale);
        let y = (t.sum_sq_b - t.sum_sq_a - t.diff_sq) / scale;
        let w = weight / (variance / (scale * scale));
        self.aa += w * x1 * x1;
        self.ad += w * x1 * x2;
        self.dd += w * x2 * x2;
        self.ay += w * x1 * y;
        self.dy += w * x2 * y;
        self.tensors += 1;
        self.energy += weight * t.sum_sq_a;
        self.moved += weight * t.diff_sq;
    }

    /// The fit; `None` when the tensors cannot tell a rescaling from a move (fewer than three,
    /// or moves in proportion to their size).
    fn solve(&self) -> Option<Rescaled> {
        let det = self.aa * self.dd - self.ad * self.ad;
        if self.tensors < 3 || det <= 1e-9 * self.aa * self.dd {
            return None;
        }
        let rho = (self.aa * self.dy - self.ad * self.ay) / det;
        let lambda = (self.dd * self.ay - self.ad * self.dy) / det;
        // The shrink's energy in units of the update's: lambda ||A||^2 / ||D||^2.
        let per_update = self.energy / self.moved.max(f64::MIN_POSITIVE);
        Some(Rescaled {
            growth: 1.0 + 2.0 * rho,
            sigma: 2.0 * (self.aa / det).sqrt(),
            shrink: lambda * per_update,
            shrink_sigma: (self.dd / det).sqrt() * per_update,
        })
    }
}

/// The growth statistic of a pair with its uniform rescaling taken out, oriented a -> b.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rescaled {
    /// 1 + 2 rho: about +1 for an update independent of the weights, whatever the decay.
    pub growth: f64,
    pub sigma: f64,
    /// The uniform shrink, as energy taken from a's weights in units of the update's energy
    /// (positive: b is a shrunk copy of a plus the update), and its standard deviation.
    pub shrink: f64,
    pub shrink_sigma: f64,
}

/// Lexicographic arc cost: virtual-root arcs first, then distance (with any direction term).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ArcCost {
    pub virtual_root: f64,
    pub distance: f64,
}

impl Add for ArcCost {
    type Output = ArcCost;
    fn add(self, o: ArcCost) -> ArcCost {
        ArcCost {
            virtual_root: self.virtual_root + o.virtual_root,
            distance: self.distance + o.distance,
        }
    }
}

impl Sub for ArcCost {
    type Output = ArcCost;
    fn sub(self, o: ArcCost) -> ArcCost {
        ArcCost {
            virtual_root: self.virtual_root - o.virtual_root,
            distance: self.distance - o.distance,
        }
    }
}

impl Cost for ArcCost {
    fn order(&self, o: &ArcCost) -> Ordering {
        self.virtual_root
            .total_cmp(&o.virtual_root)
            .then(self.distance.total_cmp(&o.distance))
    }
}

/// A candidate arc parent -> child through candidate pair `pair`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandidateArc {
    pub parent: usize,
    pub child: usize,
    pub pair: usize,
    pub cost: f64,
}

/// The arcs the method allows under one weighting, in (pair, direction) order: a pair's two
/// arcs sit side by side.
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
    let leaf_rule = method.direction != Direction::MaxKurtosis;
    let mut out = Vec::with_capacity(related.len() * 2);
    for p in related {
        let (pair, view) = (&pairs[p], &views[p]);
        let discount = if view.regime == Regime::LowRank {
            method.low_rank_discount
        } else {
            0.0
        };
        let breadth = view.breadth.map_or(1.0, |b| b.powf(method.breadth_power));
        let base = view.distance * (1.0 - discount) * breadth;
        for (parent, child, score) in [
            (pair.a, pair.b, view.kurtosis_score),
            (pair.b, pair.a, -view.kurtosis_score),
        ] {
            if leaf_rule && quantized[parent] {
                continue;
            }
            let penalty = match method.direction {
                Direction::KurtosisPenalty { lambda } if score < 0.0 => lambda * mean_distance,
                _ => 0.0,
            };
            out.push(CandidateArc {
                parent,
                child,
                pair: p,
                cost: base + penalty,
            });
        }
    }
    out
}

/// The trees under one weighting: for every model the arc (index into `arcs`) that makes its
/// parent, as the minimum arborescence of each connected group chose it, and the groups.
pub struct Trees {
    pub parent_arc: Vec<Option<usize>>,
    /// The members of every group of two or more models.
    pub groups: Vec<Vec<usize>>,
}

/// A minimum arborescence per connected group of arcs, root left free.
pub fn spanning_trees(nodes: usize, arcs: &[CandidateArc]) -> Trees {
    let mut union = UnionFind::new(nodes);
    for arc in arcs {
        union.join(arc.parent, arc.child);
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); nodes];
    for v in 0..nodes {
        members[union.find(v)].push(v);
    }
    let mut arcs_of: Vec<Vec<usize>> = vec![Vec::new(); nodes];
    for (i, arc) in arcs.iter().enumerate() {
        arcs_of[union.find(arc.parent)].push(i);
    }

    let mut parent_arc = vec![None; nodes];
    let mut local = vec![usize::MAX; nodes];
    let mut groups = Vec::new();
    for (group, list) in members.into_iter().enumerate() {
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
                cost: ArcCost {
                    virtual_root: 0.0,
                    distance: arcs[i].cost,
                },
            })
            .collect();
        let root_cost = ArcCost {
            virtual_root: 1.0,
            distance: 0.0,
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
        groups.push(list);
    }
    Trees { parent_arc, groups }
}

/// Re-orients the tree holding `root` so that `root` is its root, using for each flipped edge
/// the arc of the same pair in the other direction.
pub fn reroot(root: usize, arcs: &[CandidateArc], parent_arc: &mut [Option<usize>]) {
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
pub fn reverse(arcs: &[CandidateArc], i: usize) -> Option<usize> {
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
