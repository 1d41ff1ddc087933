//! Merged models: weights made by mixing two others (mergekit's linear merge, SLERP between
//! two fine-tunes, task arithmetic on two task vectors).
//!
//! A merge of A and B sits between them, and, when they are siblings, about as close to their
//! parent as to either of them. A spanning tree makes such a model the hub that A, B and their
//! parent hang from, and rewires the family around it (METHOD.md). So merges are found before
//! the tree is built and kept out of it: no edge leads into a merge (it has two parents), and
//! only its own fine-tunes hang under it.
//!
//! The test is exact geometry on the sketches, which are linear: the sketch of t A + (1 - t) B
//! is t sketch(A) + (1 - t) sketch(B). Over the tensors M, A and B share, M is projected on the
//! line through A and B, from the three pairwise squared distances alone (no weights are read
//! again). A merge leaves nothing off the line but its own storage rounding; any other model
//! leaves a large share. For a chain P -> C -> G with independent steps, C's distance from the
//! line P-G is at least half its squared distance to the nearer of the two; two siblings place
//! their parent on their line only when they moved in nearly opposite directions (cosine below
//! -0.9 for the share to fall under 0.05).
//!
//! TIES and DARE merges (sparsified task vectors) are not on the line and are not found; they
//! stay in the tree as ordinary models (README, "Merged models").
//!
//! A model fine-tuned from a merge is usually nearer the merge than anything else. Once the
//! tree is built without the merges, such a model is moved under its merge ([`adopt`]), unless
//! it is a source of the merge or an ancestor of one (a parent of two merged siblings is often
//! nearer the merge than either sibling). A fine-tune that moved on towards one of the merge's
//! sources is nearer that source, and stays where distance puts it (README, "Merged models").

use super::bootstrap::resample_weights;
use super::pairs::{Catalog, Pair};
use super::report::{edge_growth, median_rank, ratio};
use super::structure::PairView;
use super::{DirectionBasis, DirectionMode, Edge, EdgeKind, Method, Regime, RunnerUp, confidence};
use serde::Serialize;
use std::collections::HashMap;

/// Squared distance from the line, above the merge's own storage noise, as a share of its
/// squared distance to the nearer source: at most this for a merge.
pub const MAX_OFF_LINE: f64 = 0.05;

/// The weight of either source: a merge takes at least this much from each (an end point of
/// the line is a copy or a fine-tune of that source, not a merge).
const MIN_WEIGHT: f64 = 0.05;

/// The nearer source must be farther than this many times the model's own storage noise: what
/// is left off the line is read after that noise is taken out, and within it every model would
/// lie on every line. (The sources' noise needs no such guard: a merge is made of what they
/// store, so their rounding lies on the line, and for any other model it only adds to what is
/// off it.)
const MIN_SIGNAL: f64 = 16.0;

/// The first source is one of the model's this many nearest candidates (a merge is nearest the
/// source it takes more from); the second may be any candidate. A SLERP that takes 0.6 of one
/// fine-tune and 0.4 of a far one (`l3-merges`, round 7) sits nearer the base and its other
/// descendants than the far source, which was 12th.
const NEAREST: usize = 6;

/// A model found to be a merge of two others.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Merge {
    pub model: usize,
    /// The two sources, the one with the larger weight first.
    pub sources: [usize; 2],
    /// The weight of each source (they add up to 1).
    pub weights: [f64; 2],
    /// Squared distance from the sources' line (above storage noise) as a share of the squared
    /// distance to the nearer source.
    pub off_line: f64,
}

/// Per model, what its matched tensors' squared differences are with each candidate partner.
struct Distances {
    /// (a, b) with a < b -> key -> squared sketch difference.
    by_pair: HashMap<(usize, usize), HashMap<u32, f64>>,
}

impl Distances {
    fn new(pairs: &[Pair]) -> Self {
        let by_pair = pairs
            .iter()
            .map(|p| {
                let per_key = p.tensors.iter().map(|t| (t.key, t.diff_sq)).collect();
                ((p.a, p.b), per_key)
            })
            .collect();
        Self { by_pair }
    }

    fn get(&self, x: usize, y: usize) -> Option<&HashMap<u32, f64>> {
        self.by_pair.get(&(x.min(y), x.max(y)))
    }
}

/// The squared sketch differences of `x` and `y` per key, from the catalogue (for two sources
/// that are not a candidate pair).
fn direct(catalog: &Catalog, x: usize, y: usize) -> HashMap<u32, f64> {
    catalog
        .matched(x, y)
        .map(|(p, q)| {
            let d: f64 = p
                .sketch
                .iter()
                .zip(q.sketch)
                .map(|(&u, &v)| {
                    let e = f64::from(u) - f64::from(v);
                    e * e
                })
                .sum();
            (p.key, d)
        })
        .collect()
}

/// Whether `model` lies on the line through `a` and `b`, and where; `rounding` is the storage
/// noise of each of the model's tensors, by key.
fn fit(
    (model, rounding): (usize, &HashMap<u32, f64>),
    (a, ma): (usize, &HashMap<u32, f64>),
    (b, mb): (usize, &HashMap<u32, f64>),
    ab: &HashMap<u32, f64>,
) -> Option<Merge> {
    let (mut d_ma, mut d_mb, mut d_ab, mut noise) = (0.0, 0.0, 0.0, 0.0);
    // Key order, so that the sums do not depend on hashing.
    let mut keys: Vec<u32> = ma.keys().copied().collect();
    keys.sort_unstable();
    for key in &keys {
        let x = ma[key];
        let (Some(&y), Some(&z)) = (mb.get(key), ab.get(key)) else {
            continue;
        };
        d_ma += x;
        d_mb += y;
        d_ab += z;
        noise += rounding.get(key).copied().unwrap_or(0.0);
    }
    if d_ab <= 0.0 {
        return None;
    }
    // M - B = t (A - B) + off-line part, with <M - B, A - B> from the three distances.
    let t = (d_mb + d_ab - d_ma) / (2.0 * d_ab);
    let off = (d_mb - t * t * d_ab).max(0.0);
    let nearer = d_ma.min(d_mb);
    if !(MIN_WEIGHT..=1.0 - MIN_WEIGHT).contains(&t) || nearer <= MIN_SIGNAL * noise {
        return None;
    }
    let off_line = (off - noise).max(0.0) / nearer;
    let (sources, weights) = if t >= 0.5 {
        ([a, b], [t, 1.0 - t])
    } else {
        ([b, a], [1.0 - t, t])
    };
    Some(Merge {
        model,
        sources,
        weights,
        off_line,
    })
}

/// For every model, its fits as a merge of two of its candidates (the first among its
/// [`NEAREST`]), whatever their share off the line.
fn all_fits(catalog: &Catalog, pairs: &[Pair], in_forest: &[bool]) -> Vec<Vec<Merge>> {
    let n = catalog.models.len();
    let distances = Distances::new(pairs);
    let mut near: Vec<Vec<(f64, usize)>> = vec![Vec::new(); n];
    for p in pairs {
        let d: f64 = p.tensors.iter().map(|t| t.diff_sq).sum();
        near[p.a].push((d, p.b));
        near[p.b].push((d, p.a));
    }
    let mut out = vec![Vec::new(); n];
    for (model, list) in near.iter_mut().enumerate() {
        if !in_forest[model] {
            continue;
        }
        list.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        let rounding: HashMap<u32, f64> = catalog.models[model]
            .iter()
            .map(|e| (e.key, e.rounding))
            .collect();
        for (i, &(_, a)) in list.iter().enumerate().take(NEAREST) {
            for &(_, b) in &list[i + 1..] {
                let (Some(ma), Some(mb)) = (distances.get(model, a), distances.get(model, b))
                else {
                    continue;
                };
                let owned;
                let ab = match distances.get(a, b) {
                    Some(ab) => ab,
                    None => {
                        owned = direct(catalog, a, b);
                        &owned
                    }
                };
                out[model].extend(fit((model, &rounding), (a, ma), (b, mb), ab));
            }
        }
    }
    out
}

/// For every model, its best fit as a merge (the least off the line), for measuring how far
/// models that are not merges stay from every line.
pub fn best_fits(catalog: &Catalog, pairs: &[Pair], in_forest: &[bool]) -> Vec<Option<Merge>> {
    all_fits(catalog, pairs, in_forest)
        .into_iter()
        .map(|fits| {
            fits.into_iter()
                .min_by(|x, y| x.off_line.total_cmp(&y.off_line))
        })
        .collect()
}

/// The merges among the models: fits within [`MAX_OFF_LINE`], taken closest to the line first;
/// a model already taken as a source is not also a merge, and a merge is no source (of two
/// merges on one line, the nearer to it is the merge, the other is made from the sources).
pub fn find(catalog: &Catalog, pairs: &[Pair], in_forest: &[bool]) -> Vec<Option<Merge>> {
    let n = catalog.models.len();
    let mut fits: Vec<Merge> = all_fits(catalog, pairs, in_forest)
        .into_iter()
        .flatten()
        .filter(|m| m.off_line <= MAX_OFF_LINE)
        .collect();
    fits.sort_by(|x, y| {
        x.off_line
            .total_cmp(&y.off_line)
            .then(x.model.cmp(&y.model))
            .then(x.sources.cmp(&y.sources))
    });
    let mut out: Vec<Option<Merge>> = vec![None; n];
    let mut is_source = vec![false; n];
    for fit in fits {
        let taken = out[fit.model].is_some() || is_source[fit.model];
        if taken || fit.sources.iter().any(|&s| out[s].is_some()) {
            continue;
        }
        for &s in &fit.sources {
            is_source[s] = true;
        }
        let model = fit.model;
        out[model] = Some(fit);
    }
    out
}

/// What [`adopt`] reads besides the pairs.
pub struct Adoption<'a> {
    pub merged: &'a [Option<Merge>],
    /// The tree built without the merges.
    pub edges: &'a [Edge],
    pub keys: usize,
    pub summary: &'a [f64],
    pub mode: DirectionMode,
    pub method: &'a Method,
    pub resamples: usize,
    pub seed: u64,
}

/// The fine-tunes of merges: every model whose nearest model is a merge, that is no merge
/// itself, no source of that merge and no ancestor of a source in the tree, gets an edge from
/// the merge. Its link confidence is the share of bootstrap resamples (over tensors) that keep
/// the merge nearest, lowered as usual when the runner-up is close; its direction is certain.
/// `merge_pairs` are the candidate pairs that hold a merge, `pairs` the others.
pub fn adopt(adoption: &Adoption, merge_pairs: &[Pair], pairs: &[Pair]) -> Vec<Edge> {
    let merged = adoption.merged;
    let n = merged.len();
    if merge_pairs.is_empty() {
        return Vec::new();
    }
    let mut parent = vec![None; n];
    for e in adoption.edges {
        parent[e.child] = Some(e.parent);
    }
    let ancestors_of = |v: usize| {
        let mut out = Vec::new();
        let mut at = v;
        while let Some(p) = parent[at] {
            if out.contains(&p) || out.len() > n {
                break;
            }
            out.push(p);
            at = p;
        }
        out
    };
    let mut of_model: Vec<Vec<&Pair>> = vec![Vec::new(); n];
    for p in merge_pairs.iter().chain(pairs) {
        of_model[p.a].push(p);
        of_model[p.b].push(p);
    }
    let all = vec![1u32; adoption.keys];
    let view =
        |p: &Pair, weights: &[u32]| PairView::new(p, weights, adoption.mode, adoption.method);
    let nearest = |list: &[&Pair], weights: &[u32]| -> Vec<(f64, usize)> {
        let mut ranked: Vec<(f64, usize)> = list
            .iter()
            .enumerate()
            .map(|(i, &p)| (view(p, weights), i))
            .filter(|(v, _)| v.related && v.distance.is_finite())
            .map(|(v, i)| (v.distance, i))
            .collect();
        ranked.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        ranked
    };
    let mut out = Vec::new();
    for child in 0..n {
        if merged[child].is_some() || of_model[child].is_empty() {
            continue;
        }
        // Its own descendants are no candidates: a fine-tune's child is as near as its parent.
        let list: Vec<&Pair> = of_model[child]
            .iter()
            .copied()
            .filter(|p| {
                let other = if p.a == child { p.b } else { p.a };
                !ancestors_of(other).contains(&child)
            })
            .collect();
        let list = &list;
        let ranked = nearest(list, &all);
        let Some(&(best_distance, best)) = ranked.first() else {
            continue;
        };
        let pair = list[best];
        let other = if pair.a == child { pair.b } else { pair.a };

        let Some(merge) = &merged[other] else {
            continue;
        };
        let is_older = merge
            .sources
            .iter()
            .any(|&s| s == child || ancestors_of(s).contains(&child));
        if is_older {
            continue;
        }
        let kept = (0..adoption.resamples)
            .filter(|&r| {
                let weights = resample_weights(adoption.keys, adoption.seed, r as u64);
                nearest(list, &weights).first().map(|&(_, i)| i) == Some(best)
            })
            .count();
        let support = ratio(kept as f64, adoption.resamples as f64);
        let runner_up = ranked.get(1).map(|&(distance, i)| {
            let p = list[i];
            let gap = (distance - best_distance) / best_distance.max(1e-12);
            RunnerUp {
                parent: if p.a == child { p.b } else { p.a },
                relative_gap: gap,
                distance_gap: gap,
            }
        });
        let link = confidence::link(support, runner_up.as_ref().map(|r| r.relative_gap));
        let v = view(pair, &all);
        let way = usize::from(other != pair.a);
        let parent_sum_sq = if way == 0 { v.sum_sq_a } else { v.sum_sq_b };
        out.push(Edge {
            parent: other,
            child,
            kind: EdgeKind::Finetune,
            distance: ratio(v.diff_sq, parent_sum_sq).sqrt(),
            confidence: link,
            link_confidence: link,
            direction_confidence: 1.0,
            direction_basis: DirectionBasis::Merge,
            growth: edge_growth(&v).map(|(g, _)| if way == 0 { g } else { -g }),
            growth_sigma: edge_growth(&v).map(|(_, sigma)| sigma),
            shrink: match (v.regime, v.rescaled_growth) {
                (Regime::Full, Some(r)) => {
                    Some((if way == 0 { r.shrink } else { -r.shrink }, r.shrink_sigma))
                }
                _ => None,
            },
            regime: v.regime,
            rank: if v.regime == Regime::LowRank {
                median_rank(pair)
            } else {
                None
            },
            kurtosis_drop: adoption.summary[other] - adoption.summary[child],
            breadth: v.breadth,
            runner_up,
            matching: Default::default(),
        });
    }
    out
}
