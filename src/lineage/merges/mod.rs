//! Merged models: weights made by mixing others (mergekit's linear merge of two or three
//! models, SLERP between two fine-tunes, task arithmetic on two task vectors).
//!
//! A merge of A and B sits between them, and, when they are siblings, about as close to their
//! parent as to either of them. A spanning tree makes such a model the hub that A, B and their
//! parent hang from, and rewires the family around it (METHOD.md). So merges are found before
//! the tree is built and kept out of it: no edge leads into a merge (it has several parents),
//! and only its own fine-tunes hang under it.
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
//! Three sources span a plane, and the same projection (six distances) finds a soup of three
//! models (weights all positive) and task arithmetic, base + l1 (A - base) + l2 (B - base),
//! whose base takes 1 - l1 - l2 (negative when l1 + l2 > 1). A third source always takes a
//! little more off, so a model is a merge of three only when the plane leaves a small share of
//! what its best line leaves ([`PLANE_GAIN`]). Four models on one plane each lie on the plane of
//! the other three; the weight rules ([`is_mix`]) leave only the merge.
//!
//! Steps that are not independent bring a chain near its line: continued training on one corpus
//! moves nearly straight, and a middle checkpoint of a slow run lies within 1% of the plane of
//! its neighbours. When a fit that is not exact ([`EXACT_FIT`]) takes positive weights from a
//! model and that model's own descendant in the tree built without the merges, the model is a
//! checkpoint between them or their merge, and distance cannot say which: it goes back into the
//! tree as a checkpoint, and the links among them are guesses ([`along_descent`]).
//!
//! TIES and DARE merges (sparsified task vectors) are on no line or plane and are not found; they
//! stay in the tree as ordinary models (README, "Merged models").
//!
//! A model fine-tuned from a merge is usually nearer the merge than anything else. Once the
//! tree is built without the merges, such a model is moved under its merge, unless it is a
//! source, a child of a source that carries too little of the merge's own step, or an ancestor
//! of the sources by the evidence of its edges; a merge's fine-tune that the tree made the
//! sources' hub is taken out and the tree solved again (`adopt.rs`; README, "Merged models").

mod adopt;

pub use adopt::{Adopted, Adoption, MergeHub, adopt, between_sources};

use super::Edge;
use super::pairs::{Catalog, Pair};
use serde::Serialize;
use std::collections::HashMap;

/// Squared distance from the line, above the merge's own storage noise, as a share of its
/// squared distance to the nearer source: at most this for a merge.
///
/// A linear merge leaves nothing but its rounding (measured after it is taken out: at most
/// 0.12%, most below 1e-9). SLERP is not linear: between two models at angle w it bulges off
/// their chord by about w^2 / 16 of this share, 0.15% for `l3-merges`' SLERP, and 1% allows w
/// up to 0.4 rad (cosine 0.92; merged fine-tunes of one base are nearer). A model in the
/// middle of one run of training also lies near the line between the run's start and its
/// continuation on the same data, and 1% is what tells the two apart: such a middle model was
/// 3.4% off (`l3-twins`, round 10, where 5% took it for a merge of its parent and its child).
pub const MAX_OFF_LINE: f64 = 0.01;

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

/// The lowest weight a task-arithmetic merge gives its base: base + l1 (A - base) + l2 (B -
/// base) with l1 + l2 up to 2 (mergekit's weights are at most 1 each in common recipes).
const MIN_BASE_WEIGHT: f64 = -1.0;

/// A model is taken as a merge of three only when their plane leaves at most this share of what
/// its best line leaves: a third source always takes a little more off (it has one more
/// direction to spend on noise), so it must explain most of what two could not.
const PLANE_GAIN: f64 = 0.25;

/// The largest weight a merge gives one source: as at the ends of a line, a model that takes
/// nearly all of one source is no merge of it.
const MAX_WEIGHT: f64 = 1.0 - MIN_WEIGHT;

/// Up to this weight a fit on a plane makes its four models undecided: task arithmetic at
/// l = 1, M = A + B - base, puts them at the corners of a parallelogram, where each is the
/// others' merge with weights 1, 1, -1 (A = M + base - B), and no distance says which one was
/// made from the others. Beyond it, at l below 1 - [`MIN_WEIGHT`] or above 1 + [`MIN_WEIGHT`],
/// only one of the four fits with weights of at most [`MAX_WEIGHT`].
const UNDECIDED_WEIGHT: f64 = 1.0 + MIN_WEIGHT;

/// The link confidence of an edge between two models of one undecided plane: a guess.
pub const UNDECIDED_LINK: f64 = 0.5;

/// A model found to be a merge of others.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Merge {
    pub model: usize,
    /// The sources (two or three), the one with the largest weight first.
    pub sources: Vec<usize>,
    /// The weight of each source; they add up to 1. A task-arithmetic merge, base + l1 (A -
    /// base) + l2 (B - base), gives its base 1 - l1 - l2, which is negative when l1 + l2 > 1.
    pub weights: Vec<f64>,
    /// Squared distance from the sources' line (or plane, for three), above storage noise, as a
    /// share of the squared distance to the nearest source.
    pub off_line: f64,
}

/// Four models on one plane, each the merge of the other three with weights near 1, -1 (task
/// arithmetic at l = 1, a parallelogram): one of them was made from the others, and the weights
/// cannot say which. None is taken out of the tree, and an edge between two of them is a guess.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Undecided {
    /// The four models, in index order.
    pub models: Vec<usize>,
    /// The least share off the plane among their fits.
    pub off_plane: f64,
}

/// Off the line (or plane) by no more than this share, a fit is as exact as a merge's, whatever
/// its sources: a linear merge leaves only its storage rounding (once that is taken out, 11 of
/// the 13 merges measured left below 1e-4, a BF16 task-arithmetic merge 0.12%) and a SLERP its
/// bulge of about w^2 / 16 (0.15% for `l3-merges`' SLERP). A checkpoint of a run is never
/// exactly on the line: training bends.
const EXACT_FIT: f64 = 0.0025;

/// The merges of `merged` that lie along one line of descent: two of the sources it takes a
/// positive weight from are ancestor and descendant in the tree `edges` (built without the
/// merges), and the fit is not exact ([`EXACT_FIT`]). Such a model sits between a model and
/// that model's own descendant. It may be a checkpoint of one training run between them (a
/// run on one corpus moves nearly straight: a middle checkpoint of a slow run lies within 1% of
/// a plane of its neighbours), or their merge (WiSE-FT mixes a model and its fine-tune); the
/// distances cannot tell which. Exact fits stay merges: the tree around a merge is the least
/// sure part of it, and may put one source above another that is none of its descendants
/// (`l3-merges`). In model order.
pub fn along_descent(merged: &[Option<Merge>], edges: &[Edge]) -> Vec<usize> {
    let parent = parents(merged.len(), edges);
    merged
        .iter()
        .flatten()
        .filter(|merge| merge.off_line > EXACT_FIT)
        .filter(|merge| {
            let positive: Vec<usize> = merge
                .sources
                .iter()
                .zip(&merge.weights)
                .filter(|&(_, &w)| w > 0.0)
                .map(|(&s, _)| s)
                .collect();
            positive.iter().any(|&a| {
                positive
                    .iter()
                    .any(|&b| a != b && is_ancestor(&parent, a, b))
            })
        })
        .map(|merge| merge.model)
        .collect()
}

/// Of the models kept out of the tree as lying between their merge's sources (`kept`, each
/// `(model, merge)`, [`between_sources`]), those whose merge has two sources that the tree
/// built without them joins by an edge: they go back into the tree (round 23). A middle
/// checkpoint of a run lies between the run's ends, and is nearest their WiSE-FT merge, as a
/// fine-tune of the merge would be, and as far off their line (6% of its squared distance to
/// the nearer end on `l3-ckpts`, 3–23% for fine-tunes of merges); kept out, it leaves the run's
/// ends nearest each other, and the tree joins them. Siblings are joined through their parent.
pub fn between_joined(
    kept: &[(usize, usize)],
    merged: &[Option<Merge>],
    edges: &[Edge],
) -> Vec<usize> {
    let parent = parents(merged.len(), edges);
    kept.iter()
        .filter(|&&(_, merge)| {
            merged[merge].as_ref().is_some_and(|merge| {
                merge
                    .sources
                    .iter()
                    .any(|&s| parent[s].is_some_and(|p| merge.sources.contains(&p)))
            })
        })
        .map(|&(model, _)| model)
        .collect()
}

/// Each model's parent in the tree of `edges`.
pub(super) fn parents(models: usize, edges: &[Edge]) -> Vec<Option<usize>> {
    let mut parent = vec![None; models];
    for edge in edges {
        parent[edge.child] = Some(edge.parent);
    }
    parent
}

/// Whether no two of `models` are ancestor and descendant in the tree given by each model's
/// `parent`.
pub(super) fn apart_in_the_tree(parent: &[Option<usize>], models: &[usize]) -> bool {
    models
        .iter()
        .all(|&m| models.iter().all(|&a| !is_ancestor(parent, a, m)))
}

/// Whether `a` is an ancestor of `b` in the tree given by each model's `parent`. Bounded, so
/// that a cycle (there is none in a tree) could not hang it.
pub(super) fn is_ancestor(parent: &[Option<usize>], a: usize, b: usize) -> bool {
    child_towards(parent, a, b).is_some()
}

/// The child of `model` on the tree's path down to its descendant `descendant` (which may be
/// that child itself), or `None` when `descendant` is not below `model`. Bounded like
/// [`is_ancestor`].
pub(super) fn child_towards(
    parent: &[Option<usize>],
    model: usize,
    descendant: usize,
) -> Option<usize> {
    let mut at = descendant;
    for _ in 0..parent.len() {
        match parent[at] {
            Some(p) if p == model => return Some(at),
            Some(p) => at = p,
            None => return None,
        }
    }
    None
}

/// What [`find`] finds.
pub struct Found {
    /// Per model, its merge when it is one.
    pub merges: Vec<Option<Merge>>,
    pub undecided: Vec<Undecided>,
}

impl Merge {
    /// Whether `model` is this merge or one of its sources.
    pub fn involves(&self, model: usize) -> bool {
        self.model == model || self.sources.contains(&model)
    }

    /// Whether its weights make it the merge, and not one corner of an undecided plane.
    fn is_decided(&self) -> bool {
        is_mix(&self.weights, MAX_WEIGHT)
    }

    /// The base of a task-arithmetic merge: the source with a negative weight.
    pub fn base(&self) -> Option<usize> {
        self.sources
            .iter()
            .zip(&self.weights)
            .find(|(_, w)| **w < 0.0)
            .map(|(&s, _)| s)
    }

    /// The merge as a weighted sum, largest weight first: `0.60 x A + 0.40 x B`, or
    /// `0.60 x A + 0.60 x B - 0.20 x C`.
    pub fn formula(&self, id: impl Fn(usize) -> String) -> String {
        let mut out = String::new();
        for (i, (&s, &w)) in self.sources.iter().zip(&self.weights).enumerate() {
            let sign = match (i, w < 0.0) {
                (0, false) => "",
                (0, true) => "-",
                (_, false) => " + ",
                (_, true) => " - ",
            };
            out.push_str(&format!("{sign}{:.2} x {}", w.abs(), id(s)));
        }
        out
    }

    /// What kind of merge this is, in words: `merge of A and B`, `merge of A, B and C`, or
    /// `task arithmetic on C: 0.60 of A's change and 0.60 of B's`.
    pub fn summary(&self, id: impl Fn(usize) -> String) -> String {
        if let Some(base) = self.base() {
            let changes: Vec<String> = self
                .sources
                .iter()
                .zip(&self.weights)
                .filter(|(s, _)| **s != base)
                .map(|(&s, &w)| format!("{w:.2} of {}'s change", id(s)))
                .collect();
            return format!("task arithmetic on {}: {}", id(base), changes.join(" and "));
        }
        let names: Vec<String> = self.sources.iter().map(|&s| id(s)).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => {
                format!("merge of {} and {last}", rest.join(", "))
            }
            _ => format!("merge of {}", names.join("")),
        }
    }
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

    /// The pair's differences per key: from the candidate pairs, or else summed from the
    /// catalogue once and kept (two sources need not be a candidate pair).
    fn get_or_direct(&mut self, catalog: &Catalog, x: usize, y: usize) -> &HashMap<u32, f64> {
        self.by_pair
            .entry((x.min(y), x.max(y)))
            .or_insert_with(|| direct(catalog, x, y))
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

/// The most sources a merge is fitted with.
const MAX_SOURCES: usize = 3;

/// The point of the sources' affine hull nearest the model, from squared distances alone:
/// `to_model[i]` is |M - S_i|^2 and `between(i, j)` is |S_i - S_j|^2 (two or three sources).
/// With S_0 as origin, M - S_0 = sum t_i (S_i - S_0) + rest, where the Gram matrix
/// H_ij = <S_i - S_0, S_j - S_0> and b_i = <M - S_0, S_i - S_0> both follow from the distances
/// (polarisation), H t = b, and |rest|^2 = |M - S_0|^2 - t.b. Returns each source's weight
/// (S_0 takes 1 - sum t) and |rest|^2, or `None` when the sources are (nearly) affinely
/// dependent. Fixed-size arrays: this runs for every triple of candidates of every model.
fn project(
    to_model: &[f64],
    between: impl Fn(usize, usize) -> f64,
) -> Option<([f64; MAX_SOURCES], f64)> {
    let k = to_model.len() - 1;
    debug_assert!((1..MAX_SOURCES).contains(&k));
    let gram = |i: usize, j: usize| {
        let ij = if i == j { 0.0 } else { between(i, j) };
        (between(0, i) + between(0, j) - ij) / 2.0
    };
    let b = |i: usize| (to_model[0] + between(0, i) - to_model[i]) / 2.0;
    let mut t = [0.0; MAX_SOURCES - 1];
    let scale = (1..=k).map(|i| gram(i, i)).fold(0.0, f64::max);
    if scale <= 0.0 {
        return None;
    }
    let rest = if k == 1 {
        t[0] = b(1) / scale;
        to_model[0] - t[0] * b(1)
    } else {
        let (h11, h12, h22) = (gram(1, 1), gram(1, 2), gram(2, 2));
        let det = h11 * h22 - h12 * h12;
        if det <= 1e-9 * scale * scale {
            return None;
        }
        let (b1, b2) = (b(1), b(2));
        t[0] = (h22 * b1 - h12 * b2) / det;
        t[1] = (h11 * b2 - h12 * b1) / det;
        to_model[0] - t[0] * b1 - t[1] * b2
    };
    let mut weights = [0.0; MAX_SOURCES];
    weights[0] = 1.0 - t[..k].iter().sum::<f64>();
    weights[1..=k].copy_from_slice(&t[..k]);
    Some((weights, rest.max(0.0)))
}

/// Whether these weights make a merge: every source takes at least [`MIN_WEIGHT`] either way
/// (less, and the model is a merge of fewer); two sources both take a positive share (beyond
/// the end points the line holds fine-tunes that kept going); of three, at most one, the base
/// of a task-arithmetic merge, may take a negative share, no lower than [`MIN_BASE_WEIGHT`],
/// and none more than `max` (below 1). Four models on one plane each lie on the plane of the
/// other three; only the merge does with such weights (a source of a task-arithmetic merge
/// M = 0.6 A + 0.6 B - 0.2 base is A = 1.67 M - B + 0.33 base). Near 1 the four are alike
/// (M = A + B - base, A = M + base - B): [`UNDECIDED_WEIGHT`].
fn is_mix(weights: &[f64], max: f64) -> bool {
    let negative = weights.iter().filter(|&&w| w < 0.0).count();
    weights.iter().all(|w| w.abs() >= MIN_WEIGHT && *w <= max)
        && match weights.len() {
            2 => negative == 0,
            _ => negative <= 1 && weights.iter().all(|&w| w >= MIN_BASE_WEIGHT),
        }
}

/// The fit of `model` as a merge of `sources`, from the squared distances summed over the keys
/// they all share (`to_model[i]` to source i, `between(i, j)` between sources) and the model's
/// storage noise over those keys.
fn fit(
    model: usize,
    sources: &[usize],
    to_model: &[f64],
    between: impl Fn(usize, usize) -> f64,
    noise: f64,
) -> Option<Merge> {
    let (weights, off) = project(to_model, between)?;
    let weights = &weights[..sources.len()];
    let nearest = to_model.iter().copied().fold(f64::INFINITY, f64::min);
    if !is_mix(weights, UNDECIDED_WEIGHT) || nearest <= MIN_SIGNAL * noise {
        return None;
    }
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by(|&x, &y| weights[y].total_cmp(&weights[x]).then(x.cmp(&y)));
    Some(Merge {
        model,
        sources: order.iter().map(|&i| sources[i]).collect(),
        weights: order.iter().map(|&i| weights[i]).collect(),
        off_line: (off - noise).max(0.0) / nearest,
    })
}

/// The fit of `model` on the line through `a` and `b`, summed over the keys all three share;
/// `rounding` is the storage noise of each of the model's tensors, by key.
fn fit_line(
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
    fit(model, &[a, b], &[d_ma, d_mb], |_, _| d_ab, noise)
}

/// For every model, its fits as a merge of two of its candidates (the first among its
/// [`NEAREST`]) and of three (the nearest of them among its [`NEAREST`]), whatever their share
/// off the line or plane. Three sources are tried among the candidates that hold every tensor
/// of the model, so that all six distances sum over the same tensors.
fn all_fits(catalog: &Catalog, pairs: &[Pair], in_forest: &[bool]) -> Vec<Vec<Merge>> {
    let n = catalog.models.len();
    let mut distances = Distances::new(pairs);
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
                distances.get_or_direct(catalog, a, b);
                let (Some(ma), Some(mb), Some(ab)) = (
                    distances.get(model, a),
                    distances.get(model, b),
                    distances.get(a, b),
                ) else {
                    continue;
                };
                out[model].extend(fit_line((model, &rounding), (a, ma), (b, mb), ab));
            }
        }
        out[model].extend(plane_fits(catalog, &mut distances, model, list));
    }
    out
}

/// The model's fits as a merge of three of its candidates (`near`, nearest first).
fn plane_fits(
    catalog: &Catalog,
    distances: &mut Distances,
    model: usize,
    near: &[(f64, usize)],
) -> Vec<Merge> {
    let mut keys: Vec<u32> = catalog.models[model].iter().map(|e| e.key).collect();
    keys.sort_unstable();
    let noise: f64 = catalog.models[model].iter().map(|e| e.rounding).sum();
    let total = |map: &HashMap<u32, f64>| -> Option<f64> {
        keys.iter()
            .map(|k| map.get(k).copied())
            .sum::<Option<f64>>()
    };
    // The candidates that hold every tensor of the model, and their squared distance to it.
    let (holding, to_model): (Vec<usize>, Vec<f64>) = near
        .iter()
        .filter_map(|&(_, x)| Some((x, total(distances.get(model, x)?)?)))
        .unzip();
    let m = holding.len();
    let mut between = vec![vec![None; m]; m];
    for i in 0..m {
        for j in i + 1..m {
            let d = total(distances.get_or_direct(catalog, holding[i], holding[j]));
            between[i][j] = d;
            between[j][i] = d;
        }
    }
    let mut out = Vec::new();
    for i in 0..m.min(NEAREST) {
        for j in i + 1..m {
            for l in j + 1..m {
                let idx = [i, j, l];
                let (Some(_), Some(_), Some(_)) = (between[i][j], between[i][l], between[j][l])
                else {
                    continue;
                };
                let sources = idx.map(|x| holding[x]);
                let to = idx.map(|x| to_model[x]);
                let gap = |x: usize, y: usize| between[idx[x]][idx[y]].unwrap_or(0.0);
                out.extend(fit(model, &sources, &to, gap, noise));
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
                .filter(Merge::is_decided)
                .min_by(|x, y| x.off_line.total_cmp(&y.off_line))
        })
        .collect()
}

/// The merges among the models: fits within [`MAX_OFF_LINE`] (of each model, those with the
/// fewest sources that explain it, [`fewest_sources`]), taken closest to their line first;
/// a model already taken as a source is not also a merge, and a merge is no source (of two
/// merges on one line, the nearer to it is the merge, the other is made from the sources).
pub fn find(catalog: &Catalog, pairs: &[Pair], in_forest: &[bool]) -> Found {
    let n = catalog.models.len();
    let (mut fits, undecided): (Vec<Merge>, Vec<Merge>) = all_fits(catalog, pairs, in_forest)
        .into_iter()
        .flat_map(fewest_sources)
        .filter(|m| m.off_line <= MAX_OFF_LINE)
        .partition(Merge::is_decided);
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
    // The corners of an undecided plane, each set once; none of them a merge found above.
    let mut planes: Vec<Undecided> = Vec::new();
    for fit in undecided {
        let mut models = fit.sources.clone();
        models.push(fit.model);
        models.sort_unstable();
        if models.iter().any(|&m| out[m].is_some()) {
            continue;
        }
        match planes.iter_mut().find(|p| p.models == models) {
            Some(plane) => plane.off_plane = plane.off_plane.min(fit.off_line),
            None => planes.push(Undecided {
                models,
                off_plane: fit.off_line,
            }),
        }
    }
    planes.sort_by(|x, y| x.models.cmp(&y.models));
    Found {
        merges: out,
        undecided: planes,
    }
}

/// One model's fits with as few sources as explain it: its planes only when the best of them
/// leaves no more than [`PLANE_GAIN`] of what its best line leaves (and is itself within
/// [`MAX_OFF_LINE`]); otherwise its lines.
fn fewest_sources(fits: Vec<Merge>) -> Vec<Merge> {
    let best = |k: usize| {
        fits.iter()
            .filter(|m| m.sources.len() == k)
            .map(|m| m.off_line)
            .fold(f64::INFINITY, f64::min)
    };
    let (line, plane) = (best(2), best(3));
    let sources = if plane <= MAX_OFF_LINE && plane < PLANE_GAIN * line {
        3
    } else {
        2
    };
    fits.into_iter()
        .filter(|m| m.sources.len() == sources)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sq(x: &[f64], y: &[f64]) -> f64 {
        x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum()
    }

    /// The fit of `m` on the hull of `sources`, from their squared distances alone.
    fn project_points(m: &[f64], sources: &[&[f64]]) -> Option<(Vec<f64>, f64)> {
        let to: Vec<f64> = sources.iter().map(|s| sq(m, s)).collect();
        let (w, rest) = project(&to, |i, j| sq(sources[i], sources[j]))?;
        Some((w[..sources.len()].to_vec(), rest))
    }

    const BASE: [f64; 4] = [1.0, 0.0, 0.0, 0.5];
    const A: [f64; 4] = [1.3, 0.4, 0.0, 0.5];
    const B: [f64; 4] = [0.9, 0.1, 0.5, 0.5];

    /// 0.6 A + 0.6 B - 0.2 base, as task arithmetic with l = 0.6 makes it.
    fn task() -> Vec<f64> {
        (0..4)
            .map(|i| 0.6 * A[i] + 0.6 * B[i] - 0.2 * BASE[i])
            .collect()
    }

    #[test]
    fn a_point_on_the_plane_is_found_with_its_weights_and_nothing_left_off() {
        let (w, rest) = project_points(&task(), &[&A, &B, &BASE]).expect("a plane");
        for (got, want) in w.iter().zip([0.6, 0.6, -0.2]) {
            assert!((got - want).abs() < 1e-9, "{w:?}");
        }
        assert!(rest < 1e-12);
        assert!(is_mix(&w, MAX_WEIGHT));
        // Off the plane, the projection leaves exactly the distance to it.
        let mut off = task();
        off[3] += 0.1;
        let (_, rest) = project_points(&off, &[&A, &B, &BASE]).expect("a plane");
        assert!((rest - 0.01).abs() < 1e-9, "{rest}");
    }

    #[test]
    fn of_four_models_on_one_plane_only_the_merge_has_the_weights_of_one() {
        let merge = task();
        let others: [(&[f64], [&[f64]; 3]); 3] = [
            (&A, [&merge, &B, &BASE]),
            (&B, [&merge, &A, &BASE]),
            (&BASE, [&merge, &A, &B]),
        ];
        for (model, sources) in others {
            let (w, rest) = project_points(model, &sources).expect("a plane");
            assert!(rest < 1e-12);
            assert!(!is_mix(&w, UNDECIDED_WEIGHT), "{model:?} from {w:?}");
        }
    }

    #[test]
    fn collinear_sources_span_no_plane() {
        let mid: Vec<f64> = (0..4).map(|i| 0.5 * (A[i] + BASE[i])).collect();
        assert!(project_points(&B, &[&A, &BASE, &mid]).is_none());
    }

    #[test]
    fn a_merge_is_written_as_its_sum_and_named_for_its_kind() {
        let id = |s: usize| ["a", "b", "base"][s].to_owned();
        let task = Merge {
            model: 3,
            sources: vec![0, 1, 2],
            weights: vec![0.6, 0.6, -0.2],
            off_line: 0.0,
        };
        assert_eq!(task.base(), Some(2));
        assert_eq!(task.formula(id), "0.60 x a + 0.60 x b - 0.20 x base");
        assert_eq!(
            task.summary(id),
            "task arithmetic on base: 0.60 of a's change and 0.60 of b's change"
        );
        let soup = Merge {
            weights: vec![0.4, 0.3, 0.3],
            ..task.clone()
        };
        assert_eq!(soup.base(), None);
        assert_eq!(soup.summary(id), "merge of a, b and base");
        let pair = Merge {
            sources: vec![0, 1],
            weights: vec![0.7, 0.3],
            ..task
        };
        assert_eq!(pair.summary(id), "merge of a and b");
    }
}
