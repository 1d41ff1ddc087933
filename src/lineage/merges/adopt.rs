//! Where a merge's fine-tunes go once the tree stands without the merges.
//!
//! A model fine-tuned from a merge is usually nearer the merge than anything else, and moves
//! under it ([`adopt`]), with its subtree. It stays where the tree put it when it is a source of
//! the merge, or a child of a source that carries too little of the merge's own step
//! ([`MIN_CARRIED`]: a fine-tune that undid part of its parent's training moves back towards
//! the grandparent, and so comes nearer a merge of its parent and a sibling; round 16).
//!
//! A model nearest a merge that the tree placed above the merge's sources is either their
//! ancestor (a parent of two merged siblings is often nearer the merge than either sibling) or
//! the merge's fine-tune, which sits where the merge sits and so became their hub. The direction
//! evidence of the edges below it decides where it can ([`evidence_below`]):
//! - an edge saying decisively that the model below is its parent: it is the merge's fine-tune;
//!   it is taken out of the tree, the tree is solved again, and it hangs under its merge with
//!   any model taken out for it (round 18); so it is when its own edge with the merge says the
//!   merge is its parent (it is shrunk from the merge), the merge's sources being no ancestor
//!   of each other in the tree (round 21: a middle checkpoint of one run is younger than a
//!   merge of the run's ends, and their ancestor); a model whose own edge with the merge says
//!   it is older than the merge is never adopted by it (round 22);
//! - above all the sources, an edge saying decisively that it is the parent: their ancestor,
//!   and it stays;
//! - otherwise distance cannot tell, and it stays as a named [`MergeHub`] whose edges are
//!   guesses (rounds 9 and 19).
//!
//! Before any of that, a model nearest a merge that lies between the merge's sources is kept
//! out of the tree from the start ([`between_sources`], round 23): it would take the place its
//! merge left, above the sources, whatever the edges around it say.

use super::{Distances, Merge, apart_in_the_tree, child_towards, is_ancestor, parents};
use crate::lineage::bootstrap::resample_weights;
use crate::lineage::direction::{DECISIVE, edge_evidence};
use crate::lineage::method::Direction;
use crate::lineage::pairs::{Catalog, Pair};
use crate::lineage::report::{edge_growth, median_rank, ratio};
use crate::lineage::structure::PairView;
use crate::lineage::{
    DirectionBasis, DirectionMode, Edge, EdgeKind, Method, Regime, RunnerUp, confidence,
};
use serde::Serialize;
use std::collections::HashMap;

/// A model nearest a merge that the tree built without the merges placed above some of the
/// merge's sources, or above all of them with no edge below it saying it is their parent: the
/// merge's fine-tune, made their hub (it sits where they meet), or their true ancestor, and
/// distance cannot tell which ([`adopt`]). It stays where the tree put it, and the edges listed
/// are guesses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeHub {
    pub model: usize,
    pub merge: usize,
    /// The edges capped for it, (parent, child): the one into it, and those from it down to
    /// the sources below it.
    pub edges: Vec<(usize, usize)>,
}

/// The least share of a merge's own step from a source (see [`carried_share`]) a child of that
/// source must carry to move under the merge. A fine-tune of a merge carries about all of it
/// (1.00–2.42 on `l3-merges`); a source's own children carry only what moving back towards the
/// source's parent brings along (−0.42–0.41 on the demo's merges, round 16).
const MIN_CARRIED: f64 = 0.5;

/// Seen from a model, the cosine between the directions to a merge's two heaviest sources at or
/// below which the model lies between them ([`between_sources`]). From a short fine-tune of a
/// merge of two siblings they lie on opposite sides (−0.75 to −0.95 over the merges measured
/// before round 19), from the siblings' parent at about a right angle or less (−0.01 to +0.32):
/// the bound is set between the two, nearer the fine-tunes', before any family of round 23 was
/// scored.
const OPPOSITE: f64 = -0.5;

/// The merges' fine-tunes that sit between the merge's sources, to be kept out of the tree from
/// the start, each as `(model, merge)` (round 23): a model that is no merge and no merge's
/// source, from which the merge's two heaviest sources lie on opposite sides
/// ([`lies_between`]), whose nearest model is the merge once the other models between those
/// sources are set aside (a fine-tune of a fine-tune of the merge may be nearer its parent, or
/// its child, than the merge), and whose own edge with the merge does not say that it is the
/// older of the two (round 22). In model order.
///
/// With the merges out of the tree, such a model is the one nearest where they sat: nearer each
/// source than the sources' own parent is, it becomes their hub, and takes the family's middle
/// (`l3-kin4`, round 20); so does a fine-tune of it, once it is out (`l3-kin5`). Rounds 18 and
/// 21 take it out once the tree stands, when the edges around it say so; this reads where it
/// lies, before the tree is built. A parent of the sources is near the merge too, but sees them
/// apart at a right angle or less.
pub fn between_sources(adoption: &Adoption, pairs: &[Pair]) -> Vec<(usize, usize)> {
    let merged = adoption.merged;
    let n = merged.len();
    if merged.iter().all(Option::is_none) {
        return Vec::new();
    }
    let adopter = Adopter::new(adoption, &[], pairs);
    let is_source = |m: usize| {
        merged
            .iter()
            .flatten()
            .any(|merge| merge.sources.contains(&m))
    };
    let candidates: Vec<usize> = (0..n)
        .filter(|&m| merged[m].is_none() && !is_source(m))
        .collect();
    // Per merge, the models that lie between its sources, of those that could bear on the
    // choice: the merge's candidate neighbours (only they can have it nearest) and theirs.
    let neighbours = |m: usize| adopter.of_model[m].iter().map(move |p| other_of(p, m));
    let between: Vec<(&Merge, Vec<usize>)> = merged
        .iter()
        .flatten()
        .map(|merge| {
            let mut near: Vec<usize> = neighbours(merge.model)
                .flat_map(|x| std::iter::once(x).chain(neighbours(x)))
                .filter(|m| candidates.binary_search(m).is_ok())
                .collect();
            near.sort_unstable();
            near.dedup();
            near.retain(|&m| lies_between(adoption.catalog, m, merge));
            (merge, near)
        })
        .collect();
    candidates
        .iter()
        .filter_map(|&model| {
            between
                .iter()
                .filter(|(_, inside)| inside.contains(&model))
                .filter_map(|&(merge, ref inside)| {
                    let list: Vec<&Pair> = adopter.of_model[model]
                        .iter()
                        .copied()
                        .filter(|p| !inside.contains(&other_of(p, model)))
                        .collect();
                    let &(distance, best) = adopter.nearest(&list, &adopter.all).first()?;
                    let kept = other_of(list[best], model) == merge.model
                        && !adopter.younger_than(merge.model, model);
                    kept.then_some((distance, merge.model))
                })
                .min_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)))
                .map(|(_, merge)| (model, merge))
        })
        .collect()
}

/// Whether, seen from `model`, the two heaviest sources of `merge` (of those it takes a positive
/// weight from) lie on opposite sides ([`OPPOSITE`]), by the squared sketch distances alone.
fn lies_between(catalog: &Catalog, model: usize, merge: &Merge) -> bool {
    let mut heaviest: Vec<(f64, usize)> = merge
        .weights
        .iter()
        .zip(&merge.sources)
        .filter(|&(&w, _)| w > 0.0)
        .map(|(&w, &s)| (w, s))
        .collect();
    heaviest.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    let [(_, s1), (_, s2), ..] = heaviest[..] else {
        return false;
    };
    let d = squared_distances(catalog, &[model, s1, s2]);
    let (d1, d2, d12) = (d(model, s1), d(model, s2), d(s1, s2));
    // The law of cosines, at `model`.
    let cosine = (d1 + d2 - d12) / (2.0 * (d1 * d2).sqrt()).max(f64::MIN_POSITIVE);
    cosine <= OPPOSITE
}

/// What [`adopt`] gives.
pub struct Adopted {
    /// The edges from merges (and models taken out for them) to their fine-tunes.
    pub edges: Vec<Edge>,
    /// Models nearest a merge that stay above some of its sources, with the edges whose link is
    /// a guess because of it, in model order.
    pub hubs: Vec<MergeHub>,
    /// Children of a source that are nearest its merge but carry too little of the merge's own
    /// step to be its fine-tunes: they stay under the source, with the merge as runner-up.
    pub declined: Vec<(usize, RunnerUp)>,
    /// Models nearest a merge (or a model taken out for it) that the tree placed above some of
    /// its sources against the evidence of the edge below them ([`contradicted`]): the merge's
    /// fine-tunes, made the sources' hub. Each is `(model, merge)`; the tree is to be solved
    /// again without them (round 18).
    pub taken_out: Vec<(usize, usize)>,
}

/// What [`adopt`] reads besides the pairs.
pub struct Adoption<'a> {
    pub catalog: &'a Catalog<'a>,
    pub merged: &'a [Option<Merge>],
    /// The tree built without the merges.
    pub edges: &'a [Edge],
    pub summary: &'a [f64],
    pub mode: DirectionMode,
    pub method: &'a Method,
    pub resamples: usize,
    pub seed: u64,
    /// Models kept out of the tree as a merge's fine-tune (round 18), with that merge: each
    /// moves under its merge, and a model nearest it moves under it.
    pub taken_out: &'a [Option<usize>],
}

/// The fine-tunes of merges: every model whose nearest model is a merge (or a model taken out
/// for one), that is no merge itself, no source of that merge and no ancestor of a source in
/// the tree, gets an edge from it; the models taken out for a merge hang under it. A link's
/// confidence is the share of bootstrap resamples (over tensors) that keep the parent nearest,
/// lowered as usual when the runner-up is close; its direction is certain. `merge_pairs` are the
/// candidate pairs that hold a merge or a model taken out, `pairs` the others.
pub fn adopt(adoption: &Adoption, merge_pairs: &[Pair], pairs: &[Pair]) -> Adopted {
    let mut adopted = Adopted {
        edges: Vec::new(),
        hubs: Vec::new(),
        declined: Vec::new(),
        taken_out: Vec::new(),
    };
    if merge_pairs.is_empty() {
        return adopted;
    }
    let adopter = Adopter::new(adoption, merge_pairs, pairs);
    for child in 0..adoption.merged.len() {
        match adopter.place(child) {
            Placement::Stays => {}
            Placement::Adopted(edge) => adopted.edges.push(*edge),
            Placement::Hub(hub) => adopted.hubs.push(hub),
            Placement::Declined(runner_up) => adopted.declined.push((child, runner_up)),
            Placement::TakenOut(merge) => adopted.taken_out.push((child, merge)),
        }
    }
    let mut merges_of_taken: Vec<usize> = adoption.taken_out.iter().flatten().copied().collect();
    merges_of_taken.sort_unstable();
    merges_of_taken.dedup();
    for merge in merges_of_taken {
        adopted.edges.extend(adopter.hang_taken_out(merge));
    }
    adopted
}

/// What [`Adopter::place`] decides for one model.
enum Placement {
    /// Not a merge's fine-tune, or not one distance can place: the tree's edge stands.
    Stays,
    Adopted(Box<Edge>),
    Hub(MergeHub),
    Declined(RunnerUp),
    /// The merge's fine-tune made the sources' hub: out of the tree, under this merge.
    TakenOut(usize),
}

/// The tree and the candidate pairs, indexed for [`adopt`].
struct Adopter<'a> {
    adoption: &'a Adoption<'a>,
    /// Each model's parent in the tree built without the merges.
    parent: Vec<Option<usize>>,
    /// Each model's candidate pairs, merges' included.
    of_model: Vec<Vec<&'a Pair>>,
    /// Every key once: the weights of the full sample.
    all: Vec<u32>,
}

impl<'a> Adopter<'a> {
    fn new(adoption: &'a Adoption<'a>, merge_pairs: &'a [Pair], pairs: &'a [Pair]) -> Self {
        let n = adoption.merged.len();
        let parent = parents(n, adoption.edges);
        let mut of_model: Vec<Vec<&Pair>> = vec![Vec::new(); n];
        for p in merge_pairs.iter().chain(pairs) {
            of_model[p.a].push(p);
            of_model[p.b].push(p);
        }
        Self {
            adoption,
            parent,
            of_model,
            all: vec![1; adoption.catalog.keys],
        }
    }

    fn view(&self, pair: &Pair, weights: &[u32]) -> PairView {
        let adoption = self.adoption;
        PairView::new(pair, weights, adoption.mode, adoption.method)
    }

    /// The related pairs of `list` with a finite distance under `weights`, as (distance, index
    /// in `list`), nearest first.
    fn nearest(&self, list: &[&Pair], weights: &[u32]) -> Vec<(f64, usize)> {
        let mut ranked: Vec<(f64, usize)> = list
            .iter()
            .enumerate()
            .map(|(i, &p)| (self.view(p, weights), i))
            .filter(|(v, _)| v.related && v.distance.is_finite())
            .map(|(v, i)| (v.distance, i))
            .collect();
        ranked.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        ranked
    }

    /// Where `child` goes: under the merge (or the model taken out for one) it is nearest, or
    /// not, and why.
    fn place(&self, child: usize) -> Placement {
        let adoption = self.adoption;
        let merged = adoption.merged;
        // Models taken out for a merge are hung under it by `hang_taken_out`.
        if merged[child].is_some()
            || adoption.taken_out[child].is_some()
            || self.of_model[child].is_empty()
        {
            return Placement::Stays;
        }
        // Its own descendants are no candidates: a fine-tune's child is as near as its parent.
        let list: Vec<&Pair> = self.of_model[child]
            .iter()
            .copied()
            .filter(|p| !is_ancestor(&self.parent, child, other_of(p, child)))
            .collect();
        let ranked = self.nearest(&list, &self.all);
        let Some(&(best_distance, best)) = ranked.first() else {
            return Placement::Stays;
        };
        let other = other_of(list[best], child);
        // A merge adopts its fine-tunes; a fine-tune taken out of the tree as a merge's adopts
        // its own, under the same guards (its sources are its merge's).
        let Some(merge) = merged[other]
            .as_ref()
            .or_else(|| adoption.taken_out[other].and_then(|m| merged[m].as_ref()))
        else {
            return Placement::Stays;
        };
        if merge.sources.contains(&child) {
            return Placement::Stays;
        }
        let above: Vec<usize> = merge
            .sources
            .iter()
            .copied()
            .filter(|&s| is_ancestor(&self.parent, child, s))
            .collect();
        // Above a source, against the evidence of the edge below it, or younger than a merge of
        // two models apart in the tree: the merge's fine-tune (or a fine-tune of one), made the
        // sources' hub (rounds 18 and 21).
        let evidence = self.evidence_below(child, &above);
        if contradicted(&evidence)
            || (!above.is_empty()
                && apart_in_the_tree(&self.parent, &merge.sources)
                && self.younger_than(child, other))
        {
            return Placement::TakenOut(merge.model);
        }
        // A source is older than its merge, and so is the ancestor all sources share, when its
        // edges say so.
        if above.len() == merge.sources.len() && attested(&evidence) {
            return Placement::Stays;
        }
        // So is any model the pair's own evidence shows is older than the merge (grown relative
        // to it): it cannot be the merge's fine-tune, wherever the tree put it (round 22).
        if self.younger_than(other, child) {
            return Placement::Stays;
        }
        // A child of a source that moved back towards the source's own parent comes nearer a
        // merge of the source and its sibling without carrying anything of that sibling; a
        // fine-tune of the merge carries the merge's whole step (round 16).
        if let Some(source) = self.parent[child].filter(|s| merge.sources.contains(s)) {
            let catalog = adoption.catalog;
            let carried = carried_share(catalog, child, other, source, self.parent[source]);
            if let Some(share) = carried.filter(|&share| share < MIN_CARRIED) {
                let to_source = ranked
                    .iter()
                    .find(|&&(_, i)| other_of(list[i], child) == source);
                return match to_source {
                    Some(&(source_distance, _)) => {
                        let gap = (best_distance - source_distance) / source_distance.max(1e-12);
                        Placement::Declined(RunnerUp {
                            parent: other,
                            relative_gap: gap,
                            distance_gap: gap,
                            merge_step_carried: Some(share),
                        })
                    }
                    None => Placement::Stays,
                };
            }
        }
        if !above.is_empty() {
            // Nearest the merge, yet above some of its sources in the tree (or above all, and
            // no edge says it is their parent): a fine-tune of a soup of siblings sits where
            // they meet, and the tree made it their hub (l3-soups2, round 9); or it is truly
            // their ancestor. Distance cannot tell, so its own edge and the edges down to those
            // sources are guesses.
            return Placement::Hub(MergeHub {
                model: child,
                merge: other,
                edges: self.edges_down(child, &above),
            });
        }
        Placement::Adopted(Box::new(self.edge(child, &list, &ranked)))
    }

    /// The edge into `model` and the tree's edges from it down to each of `sources`.
    fn edges_down(&self, model: usize, sources: &[usize]) -> Vec<(usize, usize)> {
        let mut edges: Vec<(usize, usize)> =
            self.parent[model].map(|p| (p, model)).into_iter().collect();
        for &source in sources {
            let mut at = source;
            while let Some(p) = self.parent[at] {
                if !edges.contains(&(p, at)) {
                    edges.push((p, at));
                }
                if p == model {
                    break;
                }
                at = p;
            }
        }
        edges
    }

    /// The models taken out for `merge` hang from it, grown outwards from it: each in turn from
    /// the nearest of those already placed (Prim's order), so that none of them can become the
    /// parent of its own parent.
    fn hang_taken_out(&self, merge: usize) -> Vec<Edge> {
        let taken_out = self.adoption.taken_out;
        let mut placed = vec![merge];
        let mut waiting: Vec<usize> = (0..taken_out.len())
            .filter(|&m| taken_out[m] == Some(merge))
            .collect();
        let mut edges = Vec::new();
        while !waiting.is_empty() {
            // The waiting model nearest any placed one goes next, under it; each one's
            // candidates leave out the others still waiting.
            let next = waiting
                .iter()
                .filter_map(|&c| {
                    let list: Vec<&Pair> = self.of_model[c]
                        .iter()
                        .copied()
                        .filter(|p| !waiting.contains(&other_of(p, c)))
                        .collect();
                    let ranked = self.nearest(&list, &self.all);
                    let at = ranked
                        .iter()
                        .position(|&(_, i)| placed.contains(&other_of(list[i], c)))?;
                    Some((ranked[at].0, c, at, list, ranked))
                })
                .min_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            let Some((_, child, at, list, mut ranked)) = next else {
                break;
            };
            // Its edge is scored as if the placed parent were its nearest: any model nearer is
            // its runner-up, with a negative gap.
            let chosen = ranked.remove(at);
            ranked.insert(0, chosen);
            edges.push(self.edge(child, &list, &ranked));
            placed.push(child);
            waiting.retain(|&w| w != child);
        }
        edges
    }

    /// Whether the pair's own direction evidence says decisively that `merge` (or a model
    /// taken out for one) is the parent of `model`.
    fn younger_than(&self, model: usize, merge: usize) -> bool {
        self.parent_evidence(model, merge) >= DECISIVE
    }

    /// Whether the method reads the direction evidence of growth (weight decay) at all.
    fn reads_growth(&self) -> bool {
        matches!(
            self.adoption.method.direction,
            Direction::Evidence { growth: true, .. }
        )
    }

    /// The log-odds, from the direction evidence of the pair `model`–`other` alone, that
    /// `other` is the parent of `model`: 0 when the method reads no such evidence or the pair
    /// is not held.
    fn parent_evidence(&self, model: usize, other: usize) -> f64 {
        if !self.reads_growth() {
            return 0.0;
        }
        self.of_model[model]
            .iter()
            .find(|p| other_of(p, model) == other)
            .map_or(0.0, |&pair| {
                let view = self.view(pair, &self.all);
                edge_evidence(&view, pair.a == other, self.adoption.mode)
            })
    }

    /// The edge into `child` from the first of `ranked` (its candidate parents in `list`,
    /// nearest first by default).
    fn edge(&self, child: usize, list: &[&Pair], ranked: &[(f64, usize)]) -> Edge {
        let adoption = self.adoption;
        let (best_distance, best) = ranked[0];
        let pair = list[best];
        let parent = other_of(pair, child);
        let kept = (0..adoption.resamples)
            .filter(|&r| {
                let weights = resample_weights(adoption.catalog.keys, adoption.seed, r as u64);
                self.nearest(list, &weights).first().map(|&(_, i)| i) == Some(best)
            })
            .count();
        let support = ratio(kept as f64, adoption.resamples as f64);
        let runner_up = ranked.get(1).map(|&(distance, i)| {
            let gap = (distance - best_distance) / best_distance.max(1e-12);
            RunnerUp {
                parent: other_of(list[i], child),
                relative_gap: gap,
                distance_gap: gap,
                merge_step_carried: None,
            }
        });
        let link = confidence::link(support, runner_up.as_ref().map(|r| r.relative_gap));
        let v = self.view(pair, &self.all);
        let way = usize::from(parent != pair.a);
        let parent_sum_sq = if way == 0 { v.sum_sq_a } else { v.sum_sq_b };
        Edge {
            parent,
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
            kurtosis_drop: adoption.summary[parent] - adoption.summary[child],
            breadth: v.breadth,
            runner_up,
            matching: Default::default(),
        }
    }

    /// For each source below `model` in the tree (`above`), the log-odds, read from the
    /// direction evidence of the first edge on the way down to it alone, that the model below is
    /// the parent of `model` (positive) or its child (negative). Empty when the method reads no
    /// such evidence.
    ///
    /// A merge has two parents, and so has its fine-tune, through it: with the merge kept out
    /// of the tree, its fine-tune sits between the sources and their parent, and the tree makes
    /// it their hub (`l3-kin`, round 17). Weight decay shrank it from both of its neighbours, so
    /// one edge below it says it is the child ([`contradicted`], round 18). The sources' true
    /// parent shows it is theirs, by the same evidence, wherever they were trained with decay.
    fn evidence_below(&self, model: usize, above: &[usize]) -> Vec<f64> {
        if !self.reads_growth() {
            return Vec::new();
        }
        above
            .iter()
            .map(|&source| {
                child_towards(&self.parent, model, source)
                    .map_or(0.0, |below| self.parent_evidence(model, below))
            })
            .collect()
    }
}

/// The other model of a pair that holds `model`.
fn other_of(pair: &Pair, model: usize) -> usize {
    if pair.a == model { pair.b } else { pair.a }
}

/// Whether an edge below a model on the way to a source says decisively that it runs the other
/// way: the model is no ancestor of that source, but the merge's fine-tune made their hub.
fn contradicted(evidence: &[f64]) -> bool {
    evidence.iter().any(|&e| e >= DECISIVE)
}

/// Whether an edge below a model on the way to a source says decisively that the model is the
/// parent (and, [`contradicted`] having been ruled out, none says otherwise): only then is a
/// model nearest a merge, above all its sources, taken for their ancestor. Where every such
/// edge is silent (no weight decay, or a merge's fine-tune with the sources' own decay in it),
/// distance cannot tell the ancestor from the merge's fine-tune (`l3-kin2`, round 18), and its
/// edges are guesses.
fn attested(evidence: &[f64]) -> bool {
    evidence.iter().any(|&e| e <= -DECISIVE)
}

/// How much of `merge`'s own step away from `source` the model `child` carries, from squared
/// sketch distances alone (over the tensors all of them share). With the source as origin, the
/// merge's step is m = M − S; its part along the source's own parent (p = P − S) is taken out,
/// u = m − (⟨m, p⟩ / |p|²) p, since a child that undid some of its parent's training moves that
/// way whatever was merged; the share is ⟨Y − S, u⟩ / |u|². `None` when there is no step left
/// to carry.
fn carried_share(
    catalog: &Catalog,
    child: usize,
    merge: usize,
    source: usize,
    source_parent: Option<usize>,
) -> Option<f64> {
    let mut models = vec![child, merge, source];
    models.extend(source_parent);
    let d = squared_distances(catalog, &models);
    let (d_cs, d_cm, d_sm) = (d(child, source), d(child, merge), d(source, merge));
    // Inner products with the source as origin (polarisation).
    let ym = (d_cs + d_sm - d_cm) / 2.0;
    let mm = d_sm;
    let (yu, uu) = match source_parent {
        Some(p) => {
            let (d_cp, d_sp, d_mp) = (d(child, p), d(source, p), d(merge, p));
            if d_sp <= 0.0 {
                (ym, mm)
            } else {
                let yp = (d_cs + d_sp - d_cp) / 2.0;
                let mp = (d_sm + d_sp - d_mp) / 2.0;
                (ym - mp / d_sp * yp, mm - mp * mp / d_sp)
            }
        }
        None => (ym, mm),
    };
    (uu > 1e-12 * mm.max(f64::MIN_POSITIVE)).then(|| yu / uu)
}

/// The squared sketch distance between every two of `models`, summed over the keys all their
/// pairs share (in key order, so that sums do not depend on hashing); 0 for a pair with none.
fn squared_distances(catalog: &Catalog, models: &[usize]) -> impl Fn(usize, usize) -> f64 + use<> {
    let mut distances = Distances::new(&[]);
    for (i, &x) in models.iter().enumerate() {
        for &y in &models[i + 1..] {
            distances.get_or_direct(catalog, x, y);
        }
    }
    let by_pair: Vec<&HashMap<u32, f64>> = distances.by_pair.values().collect();
    let mut keys: Vec<u32> = by_pair
        .first()
        .map(|first| {
            first
                .keys()
                .copied()
                .filter(|k| by_pair.iter().all(|d| d.contains_key(k)))
                .collect()
        })
        .unwrap_or_default();
    keys.sort_unstable();
    let summed: HashMap<(usize, usize), f64> = distances
        .by_pair
        .iter()
        .map(|(&pair, per_key)| (pair, keys.iter().map(|k| per_key[k]).sum()))
        .collect();
    move |x: usize, y: usize| summed.get(&(x.min(y), x.max(y))).copied().unwrap_or(0.0)
}
