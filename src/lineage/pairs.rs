//! Tensors matched across models by name and shape, and what each pair of models shares.
//!
//! A first pass over all pairs sums sketch dot products and norms over the matched tensors
//! (what relatedness needs). Only related pairs among each model's nearest neighbours become
//! candidates; for those a second pass keeps per-tensor facts (squared distance, norms,
//! kurtosis, and how the tensor changed: not at all once rounded, within storage noise, by a
//! low-rank update, or everywhere) so that every bootstrap resample can re-weigh the tensors
//! without touching a sketch again.
//!
//! Storage precision is not lineage. Every test of a change sits above the noise that storing
//! the two tensors adds ([`FloatDtype::rounding_energy`] of each coarse dtype), and a tensor
//! equal to the other's once rounded to the coarser dtype counts as unchanged.
//!
//! Two shortcuts keep a thousand models fast (README, "Performance": 28-32 s -> 1.6 s at
//! n = 1,000 with 64 x 64 sketches, same edges, together with a faster rank probe): the first
//! pass screens each pair on sketches folded to 8 x 8 before it reads the full ones, and the rank
//! of a pair's differences stops being probed once a few matrices are full-rank.
//!
//! The catalogue borrows the fingerprints' f32 sketches instead of keeping f64 copies (which
//! tripled the memory of recovery); every product widens to f64 first, so sums are unchanged.

use super::method::Method;
use super::names::{Matching, Naming};
use super::spectrum::{dot, energy_rank, participation};
use crate::measure::{Fingerprint, TensorFingerprint};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Matrices smaller than this on either side are too small for a rank to mean anything.
const MIN_RANK_SIDE: usize = 8;

/// Side of the folded sketch used to screen pairs: cell (i, j) of a sketch adds into
/// (i mod 8, j mod 8), which is again a linear sketch, 64 cells instead of up to 4,096.
const COARSE_SIDE: usize = 8;
/// Pairs whose folded cosine is below this skip the full-sketch comparison. Unrelated models
/// have cosine ~0 with a spread of about 1/8 per matrix on 64 cells; related ones are above
/// `Method::related_cosine` (0.5), fine-tunes above 0.9; 0.25 sits between with room for the
/// fold's noise.
const COARSE_COSINE: f64 = 0.25;
/// After this many differences spread over many directions a pair is a full fine-tune: the rest
/// of its matrices are counted as spread without a probe (the probe is the costliest step of
/// recovery). Only a bootstrap resample drawing none of these but some low-rank matrix could see
/// a difference.
const SPREAD_STOP: usize = 3;

/// A difference is low-rank when a quarter of its sketch's smaller side in directions leaves no
/// more than storage noise plus this share of the energy above the noise. LoRA differences leave
/// nothing (their rank is at most the adapter's); the full fine-tunes of real BERT models leave
/// far more, even when their numerical rank is low (README, "How it works", gives the rule).
const LOW_RANK_LEFTOVER: f64 = 0.02;

/// One 2-D tensor of one model, ready for pairing.
pub struct Entry<'a> {
    /// Index of the (canonical name, shape, sketch size) key shared by all models holding this
    /// tensor. Keys sort by name first.
    pub key: u32,
    /// Index of the canonical name alone, in the same order.
    pub name: u32,
    /// The key of the whole tensor: `key` itself, or for a head view (the first rows of a
    /// vocabulary-shaped matrix, `measure::sketch::head_rows`) the key of the matrix it is
    /// part of.
    pub main_key: u32,
    /// Whether this is a head view rather than a whole tensor.
    pub is_head: bool,
    /// Values the view covers.
    pub elements: usize,
    pub rows: usize,
    pub cols: usize,
    /// The fingerprint's row-major sketch.
    pub sketch: &'a [f32],
    pub sketch_sq: f64,
    pub sum_sq: f64,
    pub kurtosis: f64,
    /// The fingerprint, for its dtype and hashes.
    pub tensor: &'a TensorFingerprint,
    /// The sketch folded to [`COARSE_SIDE`] squared cells, for screening pairs.
    pub coarse: Vec<f64>,
    /// Squared norm of `coarse`, summed once rather than once per pair.
    pub coarse_sq: f64,
    /// Expected energy of the error storing these values in their dtype added.
    pub rounding: f64,
}

/// The tensors of every model taking part, sorted by key.
pub struct Catalog<'a> {
    pub keys: usize,
    pub models: Vec<Vec<Entry<'a>>>,
    /// Per model, the wrapper prefixes its names were read without (`names.rs`).
    pub naming: Vec<Naming>,
    /// Per model, what can be compared on shared rows with a model whose vocabulary differs:
    /// its head views and its whole vocabulary-shaped matrices of 2^k rows, sorted by key.
    pub row_views: Vec<Vec<Entry<'a>>>,
    /// Per model, its folded sketches end to end in key order, and their summed squared norm:
    /// two models holding the same keys are screened with one long dot product.
    pub coarse: Vec<(Vec<f64>, f64)>,
}

impl<'a> Catalog<'a> {
    /// Builds the catalogue; models not in `take_part` get no entries. Tensors whose sketch is
    /// missing or does not match its stated size cannot be compared and are left out.
    pub fn new(fingerprints: &[&'a Fingerprint], take_part: &[bool]) -> Catalog<'a> {
        type Key<'k> = (&'k str, &'k [usize], u32, u32);
        let usable = |t: &crate::measure::TensorFingerprint| {
            let len = t.sketch.rows as usize * t.sketch.cols as usize;
            len > 0 && t.sketch.values.len() == len
        };
        let naming: Vec<Naming> = fingerprints
            .iter()
            .zip(take_part)
            .map(|(fp, &take)| {
                if take {
                    Naming::of(fp)
                } else {
                    Naming::default()
                }
            })
            .collect();
        let mut ids: BTreeMap<Key<'_>, u32> = BTreeMap::new();
        let mut name_ids: BTreeMap<&str, u32> = BTreeMap::new();
        for ((fp, _), naming) in fingerprints
            .iter()
            .zip(take_part)
            .zip(&naming)
            .filter(|((_, take), _)| **take)
        {
            for t in fp.tensors.iter().filter(|t| usable(t)) {
                let name = naming.canonical(&t.name);
                ids.insert((name, &t.shape, t.sketch.rows, t.sketch.cols), 0);
                name_ids.insert(name, 0);
            }
        }
        // Head views take the key of a whole matrix of their shape: the head of a 32,005-row
        // embedding and a whole 16,384-row one are the same rows. Their shapes live here.
        let head_shapes: Vec<Vec<usize>> = fingerprints
            .iter()
            .zip(take_part)
            .filter(|(_, take)| **take)
            .flat_map(|(fp, _)| fp.tensors.iter())
            .filter_map(|t| Some(vec![t.head.as_ref()?.rows, *t.shape.get(1)?]))
            .collect();
        let mut head_index = 0;
        for ((fp, _), naming) in fingerprints
            .iter()
            .zip(take_part)
            .zip(&naming)
            .filter(|((_, take), _)| **take)
        {
            for t in fp.tensors.iter() {
                if let Some(head) = &t.head
                    && t.shape.len() == 2
                {
                    let name = naming.canonical(&t.name);
                    let shape = head_shapes[head_index].as_slice();
                    ids.insert((name, shape, head.sketch.rows, head.sketch.cols), 0);
                    head_index += 1;
                }
            }
        }
        for (i, id) in ids.values_mut().enumerate() {
            *id = i as u32;
        }
        for (i, id) in name_ids.values_mut().enumerate() {
            *id = i as u32;
        }
        let entry =
            |key: u32, name: u32, main_key: u32, t: &'a TensorFingerprint, view: View<'a>| {
                let coarse = fold(view.sketch, view.cols);
                Entry {
                    coarse_sq: dot(&coarse, &coarse),
                    coarse,
                    key,
                    name,
                    main_key,
                    is_head: view.is_head,
                    elements: view.elements,
                    rows: view.rows,
                    cols: view.cols,
                    sketch_sq: view
                        .sketch
                        .iter()
                        .map(|&v| f64::from(v) * f64::from(v))
                        .sum(),
                    sketch: view.sketch,
                    sum_sq: view.sum_sq,
                    kurtosis: view.kurtosis,
                    tensor: t,
                    rounding: t.dtype.rounding_energy(view.sum_sq),
                }
            };
        let mut models: Vec<Vec<Entry<'a>>> = Vec::with_capacity(fingerprints.len());
        let mut row_views: Vec<Vec<Entry<'a>>> = Vec::with_capacity(fingerprints.len());
        for ((fp, &take), naming) in fingerprints.iter().zip(take_part).zip(&naming) {
            let (mut entries, mut views) = (Vec::new(), Vec::new());
            if take {
                for t in fp.tensors.iter().filter(|t| usable(t)) {
                    let name = naming.canonical(&t.name);
                    let key = ids[&(name, t.shape.as_slice(), t.sketch.rows, t.sketch.cols)];
                    let whole = View::whole(t);
                    if t.head.is_none() && is_own_head(&t.shape) {
                        views.push(entry(key, name_ids[name], key, t, whole));
                    }
                    if let Some(head) = &t.head
                        && head.sketch.values.len()
                            == head.sketch.rows as usize * head.sketch.cols as usize
                    {
                        let shape = [head.rows, t.shape[1]];
                        let head_key = ids[&(name, &shape[..], head.sketch.rows, head.sketch.cols)];
                        views.push(entry(
                            head_key,
                            name_ids[name],
                            key,
                            t,
                            View::head(head, t.shape[1]),
                        ));
                    }
                    entries.push(entry(key, name_ids[name], key, t, whole));
                }
                entries.sort_by_key(|e| e.key);
                // A repeated name keeps its first tensor: two tensors cannot share one slot.
                entries.dedup_by_key(|e| e.key);
                views.sort_by_key(|e| e.key);
                views.dedup_by_key(|e| e.key);
            }
            models.push(entries);
            row_views.push(views);
        }
        let coarse = models
            .iter()
            .map(|entries| {
                let joined: Vec<f64> = entries
                    .iter()
                    .flat_map(|e| e.coarse.iter().copied())
                    .collect();
                let sq = entries.iter().map(|e| e.coarse_sq).sum();
                (joined, sq)
            })
            .collect();
        Catalog {
            keys: ids.len(),
            models,
            naming,
            row_views,
            coarse,
        }
    }

    /// The matched tensors of models `a` and `b`: every tensor both hold under one name and
    /// shape, then every vocabulary-shaped matrix they hold with different row counts, compared
    /// on the rows they share.
    pub fn matched<'c>(
        &'c self,
        a: usize,
        b: usize,
    ) -> impl Iterator<Item = (&'c Entry<'a>, &'c Entry<'a>)> {
        matched(&self.models[a], &self.models[b]).chain(
            matched(&self.row_views[a], &self.row_views[b])
                .filter(|(x, y)| x.main_key != y.main_key),
        )
    }

    /// How the matrices of models `a` and `b` match, with `a` as the parent.
    pub fn matching(&self, a: usize, b: usize) -> Matching {
        let (ea, eb) = (&self.models[a], &self.models[b]);
        let mut matching = Matching {
            parent_prefix: self.naming[a].prefix(),
            child_prefix: self.naming[b].prefix(),
            ..Matching::default()
        };
        let (mut i, mut j) = (0, 0);
        while i < ea.len() || j < eb.len() {
            let order = match (ea.get(i), eb.get(j)) {
                (Some(x), Some(y)) => x.name.cmp(&y.name),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Less => {
                    matching.parent_only += 1;
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    matching.child_only += 1;
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    // Every tensor of this name on either side (one, unless shapes repeat it).
                    let name = ea[i].name;
                    let (start_i, start_j) = (i, j);
                    while i < ea.len() && ea[i].name == name {
                        i += 1;
                    }
                    while j < eb.len() && eb[j].name == name {
                        j += 1;
                    }
                    let shared = matched(&ea[start_i..i], &eb[start_j..j]).count();
                    matching.shared += shared;
                    matching.resized += (i - start_i).max(j - start_j) - shared;
                }
            }
        }
        let on_shared_rows = matched(&self.row_views[a], &self.row_views[b])
            .filter(|(x, y)| x.main_key != y.main_key)
            .count();
        matching.shared_rows = on_shared_rows;
        matching.resized -= on_shared_rows.min(matching.resized);
        matching
    }
}

/// What an entry is made from: a whole matrix, or the head of one.
#[derive(Clone, Copy)]
struct View<'a> {
    sketch: &'a [f32],
    elements: usize,
    rows: usize,
    cols: usize,
    sum_sq: f64,
    kurtosis: f64,
    is_head: bool,
}

impl<'a> View<'a> {
    fn whole(t: &'a TensorFingerprint) -> Self {
        View {
            elements: t.shape.iter().product(),
            sketch: &t.sketch.values,
            rows: t.sketch.rows as usize,
            cols: t.sketch.cols as usize,
            sum_sq: t.sum_sq,
            kurtosis: t.moments.excess_kurtosis(),
            is_head: false,
        }
    }

    fn head(head: &'a crate::measure::TensorHead, cols: usize) -> Self {
        View {
            elements: head.rows * cols,
            sketch: &head.sketch.values,
            rows: head.sketch.rows as usize,
            cols: head.sketch.cols as usize,
            sum_sq: head.sum_sq,
            kurtosis: head.moments.excess_kurtosis(),
            is_head: true,
        }
    }
}

/// A vocabulary-shaped matrix of 2^k rows is its own head: a model that grew it keeps a head
/// sketch of exactly these rows.
fn is_own_head(shape: &[usize]) -> bool {
    match shape {
        [rows, cols] => {
            rows.is_power_of_two()
                && crate::measure::sketch::head_rows(rows + 1, *cols) == Some(*rows)
        }
        _ => false,
    }
}

/// A row-major sketch with `cols` columns folded to [`COARSE_SIDE`] x [`COARSE_SIDE`] cells.
fn fold(sketch: &[f32], cols: usize) -> Vec<f64> {
    let mut coarse = vec![0.0; COARSE_SIDE * COARSE_SIDE];
    for (i, &v) in sketch.iter().enumerate() {
        coarse[(i / cols) % COARSE_SIDE * COARSE_SIDE + (i % cols) % COARSE_SIDE] += f64::from(v);
    }
    coarse
}

/// The matched tensors of two models, as index pairs into their entries, in key order.
fn matched<'c, 'a>(
    a: &'c [Entry<'a>],
    b: &'c [Entry<'a>],
) -> impl Iterator<Item = (&'c Entry<'a>, &'c Entry<'a>)> {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        while i < a.len() && j < b.len() {
            match a[i].key.cmp(&b[j].key) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    i += 1;
                    j += 1;
                    return Some((&a[i - 1], &b[j - 1]));
                }
            }
        }
        None
    })
}

/// How one tensor changed between two models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Equal once both are rounded to the coarser of their dtypes.
    Unchanged,
    /// Different, but by no more than their storage rounding explains.
    Faint,
    /// Changed along this many directions (a low-rank update).
    LowRank(u32),
    /// Changed along many directions (a full fine-tune, quantisation).
    Spread,
    /// Changed, in a matrix too small (or not probed) for its rank to tell anything.
    Unprobed,
}

impl Change {
    pub fn changed(self) -> bool {
        self != Change::Unchanged
    }
}

/// What one matched tensor says about a pair of models.
#[derive(Debug, Clone)]
pub struct PairTensor {
    pub key: u32,
    /// Sketch dot product and the two sketch norms (for the cosine).
    pub dot: f64,
    pub sketch_sq_a: f64,
    pub sketch_sq_b: f64,
    /// ||sketch(A - B)||^2, an unbiased estimate of ||A - B||^2.
    pub diff_sq: f64,
    /// Exact squared norms.
    pub sum_sq_a: f64,
    pub sum_sq_b: f64,
    pub kurtosis_a: f64,
    pub kurtosis_b: f64,
    /// Variance of 2<A, B - A> were the difference drawn independently of the weights: each
    /// element adds A_i^2 (B_i - A_i)^2, about ||A||^2 ||B - A||^2 / elements in all. It sets the
    /// noise of the growth statistic (`direction.rs`).
    pub cross_variance: f64,
    pub change: Change,
    /// The logarithm of how many directions the change spreads over, above storage noise
    /// ([`participation`] of the difference's sketch; a logarithm because every resample
    /// averages it so); `None` when unchanged, within noise, quantised, or in a matrix too
    /// small to tell.
    pub log_breadth: Option<f64>,
}

/// A candidate pair of models (a < b) and its matched tensors.
#[derive(Debug, Clone)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
    pub tensors: Vec<PairTensor>,
}

/// Cosine similarity of two models over their matched tensors, in sketch space; `None` without
/// matched tensors or with a zero model.
pub fn cosine(dot: f64, sq_a: f64, sq_b: f64) -> Option<f64> {
    (sq_a > 0.0 && sq_b > 0.0).then(|| dot / (sq_a * sq_b).sqrt())
}

/// Whether two models are related, from their matched matrices (in sketch space), each added
/// with the weight a bootstrap resample gives it. A model descends from another as a whole: a
/// fine-tune keeps every matrix near its parent's. So the pooled cosine must be above
/// `Method::related_cosine`, and so must most matrices' own: two families that only share one
/// large matrix (an embedding both copied from a common ancestor, as the MiniLM sentence
/// encoders share BERT's) can pass the pooled cosine on it alone, and one such link joins
/// their trees and reroots them. The one rule for the candidate screen and every pair view.
#[derive(Debug, Default, Clone, Copy)]
pub struct Relatedness {
    pub dot: f64,
    pub sq_a: f64,
    pub sq_b: f64,
    /// Weight of the matrices related on their own, of those whose cosine is defined.
    agreeing: f64,
    voting: f64,
}

impl Relatedness {
    pub fn add(&mut self, weight: f64, dot: f64, sq_a: f64, sq_b: f64, threshold: f64) {
        self.dot += weight * dot;
        self.sq_a += weight * sq_a;
        self.sq_b += weight * sq_b;
        if let Some(c) = cosine(dot, sq_a, sq_b) {
            self.voting += weight;
            if c > threshold {
                self.agreeing += weight;
            }
        }
    }

    pub fn related(&self, threshold: f64) -> bool {
        2.0 * self.agreeing > self.voting
            && cosine(self.dot, self.sq_a, self.sq_b).is_some_and(|c| c > threshold)
    }
}

/// The candidate pairs: related (cosine above the threshold) and among the `neighbours`
/// nearest of at least one of the two, sorted by (a, b).
pub fn candidates(catalog: &Catalog, method: &Method) -> Vec<Pair> {
    let n = catalog.models.len();
    // Row a holds (b, relative distance) for every related b > a.
    let rows: Vec<Vec<(usize, f64)>> = (0..n)
        .into_par_iter()
        .map(|a| {
            let ea = &catalog.models[a];
            if ea.is_empty() {
                return Vec::new();
            }
            (a + 1..n)
                .filter_map(|b| {
                    let eb = &catalog.models[b];
                    let (mut cd, mut ca, mut cb) = (0.0, 0.0, 0.0);
                    if ea.iter().map(|e| e.key).eq(eb.iter().map(|e| e.key)) {
                        let ((joined_a, sq_a), (joined_b, sq_b)) =
                            (&catalog.coarse[a], &catalog.coarse[b]);
                        (cd, ca, cb) = (dot(joined_a, joined_b), *sq_a, *sq_b);
                    } else {
                        for (x, y) in catalog.matched(a, b) {
                            cd += dot(&x.coarse, &y.coarse);
                            ca += x.coarse_sq;
                            cb += y.coarse_sq;
                        }
                    }
                    if cosine(cd, ca, cb).is_none_or(|c| c < COARSE_COSINE) {
                        return None;
                    }
                    let threshold = method.related_cosine;
                    let mut relatedness = Relatedness::default();
                    let (mut na, mut nb) = (0.0, 0.0);
                    for (x, y) in catalog.matched(a, b) {
                        let sketch_dot = dot(x.sketch, y.sketch);
                        relatedness.add(1.0, sketch_dot, x.sketch_sq, y.sketch_sq, threshold);
                        na += x.sum_sq;
                        nb += y.sum_sq;
                    }
                    let related = relatedness.related(threshold);
                    let Relatedness {
                        dot: d,
                        sq_a: sa,
                        sq_b: sb,
                        ..
                    } = relatedness;
                    let scale = (na + nb) / 2.0;
                    (related && scale > 0.0)
                        .then(|| (b, ((sa + sb - 2.0 * d).max(0.0) / scale).sqrt()))
                })
                .collect()
        })
        .collect();

    let mut near: Vec<Vec<(f64, usize)>> = vec![Vec::new(); n];
    for (a, row) in rows.iter().enumerate() {
        for &(b, distance) in row {
            near[a].push((distance, b));
            near[b].push((distance, a));
        }
    }
    let mut chosen: Vec<(usize, usize)> = Vec::new();
    for (a, list) in near.iter_mut().enumerate() {
        list.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        chosen.extend(
            list.iter()
                .take(method.neighbours.max(1))
                .map(|&(_, b)| (a.min(b), a.max(b))),
        );
    }
    chosen.sort_unstable();
    chosen.dedup();

    chosen
        .into_par_iter()
        .map(|(a, b)| Pair {
            a,
            b,
            tensors: {
                let mut spread = 0;
                catalog
                    .matched(a, b)
                    .map(|(x, y)| {
                        let t = pair_tensor(x, y, spread < SPREAD_STOP);
                        spread += usize::from(t.change == Change::Spread);
                        t
                    })
                    .collect()
            },
        })
        .collect()
}

/// What one matched tensor says about a pair; without `probe` a changed matrix counts as
/// spread without a look at its rank.
fn pair_tensor(x: &Entry, y: &Entry, probe: bool) -> PairTensor {
    let diff: Vec<f64> = x
        .sketch
        .iter()
        .zip(y.sketch)
        .map(|(&p, &q)| f64::from(p) - f64::from(q))
        .collect();
    let diff_sq = dot(&diff, &diff);
    // A sketch preserves energy in expectation, noise's included.
    let noise = x.rounding + y.rounding;
    let side = x.rows.min(x.cols);
    // A head view's hashes are its whole matrix's, which differ: only the values can tell.
    let same_stored = !x.is_head && !y.is_head && x.tensor.same_when_rounded(y.tensor);
    let change = if same_stored || diff_sq == 0.0 {
        Change::Unchanged
    } else if diff_sq <= 2.0 * noise {
        Change::Faint
    } else if side < MIN_RANK_SIDE {
        Change::Unprobed
    } else if !probe {
        Change::Spread
    } else {
        // Noise spreads over every direction, so all of it may stay behind; on top of it, only
        // a sliver of what the change itself put in.
        let floor = noise + LOW_RANK_LEFTOVER * (diff_sq - noise);
        match energy_rank(&diff, x.rows, x.cols, floor, (side / 4).max(1)) {
            Some(rank) => Change::LowRank(rank),
            None => Change::Spread,
        }
    };
    // A quantisation grid's error spreads over every direction: across it, breadth says
    // nothing about training.
    let log_breadth = match change {
        Change::LowRank(_) | Change::Spread
            if !x.tensor.is_quantized() && !y.tensor.is_quantized() =>
        {
            participation(&diff, x.rows, x.cols, diff_sq - noise).map(f64::ln)
        }
        _ => None,
    };
    PairTensor {
        key: x.key,
        dot: dot(x.sketch, y.sketch),
        sketch_sq_a: x.sketch_sq,
        sketch_sq_b: y.sketch_sq,
        diff_sq,
        sum_sq_a: x.sum_sq,
        sum_sq_b: y.sum_sq,
        kurtosis_a: x.kurtosis,
        kurtosis_b: y.kurtosis,
        cross_variance: 4.0 * (x.sum_sq + y.sum_sq) / 2.0 * diff_sq / (x.elements.max(1) as f64),
        change,
        log_breadth,
    }
}
