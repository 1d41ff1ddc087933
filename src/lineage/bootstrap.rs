//! One recovery of the forest under a weighting of the tensors ([`Problem::solve`]), and the
//! bootstrap over tensors: each resample draws as many tensor keys as there are, with
//! replacement, recovers the whole forest from that weighting, and records which pairs it links
//! and which way. A link that many resamples keep does not hang on a few tensors; that is one
//! part of an edge's confidence (`confidence.rs` adds the others).
//!
//! Resample `i` draws from its own ChaCha stream (seed from the options, stream `i`), so the
//! counts do not depend on how rayon splits the work: same input and seed, same confidences.

use super::DirectionMode;
use super::direction::{self, Context, Oriented};
use super::method::{Direction, Method};
use super::pairs::Pair;
use super::structure::{self, CandidateArc, PairView};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// How often a key was drawn in resample `index`: `keys` draws, uniform, with replacement.
pub fn resample_weights(keys: usize, seed: u64, index: u64) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    let mut weights = vec![0u32; keys];
    for _ in 0..keys {
        weights[rng.random_range(0..keys)] += 1;
    }
    weights
}

/// What the resamples agree on, per candidate pair: how many linked it `a -> b` and `b -> a`.
pub struct Tally {
    pub resamples: usize,
    pub directed: Vec<[u32; 2]>,
}

/// Everything one forest recovery needs besides the weights.
pub struct Problem<'a> {
    pub nodes: usize,
    pub keys: usize,
    pub pairs: &'a [Pair],
    pub quantized: &'a [bool],
    pub summary: &'a [f64],
    pub finest_bits: &'a [u32],
    pub method: &'a Method,
    pub mode: DirectionMode,
}

/// The forest under one weighting.
pub struct Solved {
    pub views: Vec<PairView>,
    pub arcs: Vec<CandidateArc>,
    /// For every model, the index of the arc from its parent.
    pub parent_arc: Vec<Option<usize>>,
    /// For every model with a parent, how firmly its edge is oriented (the default method only).
    pub oriented: Vec<Option<Oriented>>,
}

impl Problem<'_> {
    /// The forest under one weighting of the tensors.
    pub fn solve(&self, weights: &[u32]) -> Solved {
        self.solve_on(weights, None)
    }

    /// The forest of all tensors on the links the resamples of `tally` keep most often: each
    /// tree is the spanning tree of the highest link counts, equal counts going to the nearer
    /// pair ([`Method::bagged_structure`]). Distances, growth and everything reported stay
    /// those of all tensors.
    pub fn solve_bagged(&self, tally: &Tally) -> Solved {
        let linked: Vec<u32> = tally.directed.iter().map(|c| c[0] + c[1]).collect();
        self.solve_on(&vec![1; self.keys], Some((&linked, tally.resamples)))
    }

    /// `links`: when given, per pair how many of how many resamples linked it, which then
    /// decides the shape instead of the distance.
    fn solve_on(&self, weights: &[u32], links: Option<(&[u32], usize)>) -> Solved {
        let views: Vec<PairView> = self
            .pairs
            .iter()
            .map(|p| PairView::new(p, weights, self.mode, self.method))
            .collect();
        let arcs = structure::arcs(self.pairs, &views, self.quantized, self.method);
        let trees = match links {
            None => structure::spanning_trees(self.nodes, &arcs),
            Some((linked, resamples)) => {
                structure::spanning_trees(self.nodes, &by_link_count(&arcs, linked, resamples))
            }
        };
        let mut parent_arc = trees.parent_arc;
        let mut oriented = vec![None; self.nodes];
        match self.method.direction {
            Direction::KurtosisPenalty { .. } => {}
            Direction::MaxKurtosis => {
                for members in &trees.groups {
                    direction::root_by_kurtosis(
                        members,
                        &mut parent_arc,
                        &arcs,
                        self.summary,
                        self.mode,
                    );
                }
            }
            Direction::Evidence {
                centre_prior,
                growth,
            } => {
                let context = Context {
                    pairs: self.pairs,
                    views: &views,
                    arcs: &arcs,
                    quantized: self.quantized,
                    summary: self.summary,
                    finest_bits: self.finest_bits,
                    mode: self.mode,
                    centre_prior,
                    growth,
                };
                for members in &trees.groups {
                    direction::root_by_evidence(members, &mut parent_arc, &context, &mut oriented);
                }
            }
        }
        Solved {
            views,
            arcs,
            parent_arc,
            oriented,
        }
    }

    /// Runs `resamples` bootstrap recoveries in parallel and counts the directed links.
    pub fn tally(&self, resamples: usize, seed: u64) -> Tally {
        let empty = || vec![[0u32; 2]; self.pairs.len()];
        let directed = if self.keys == 0 || self.pairs.is_empty() {
            empty()
        } else {
            (0..resamples)
                .into_par_iter()
                .fold(empty, |mut counts, index| {
                    let weights = resample_weights(self.keys, seed, index as u64);
                    let solved = self.solve(&weights);
                    for arc in solved
                        .parent_arc
                        .into_iter()
                        .flatten()
                        .map(|i| solved.arcs[i])
                    {
                        let way = usize::from(arc.parent != self.pairs[arc.pair].a);
                        counts[arc.pair][way] += 1;
                    }
                    counts
                })
                .reduce(empty, |mut x, y| {
                    x.iter_mut().zip(&y).for_each(|(a, b)| {
                        a[0] += b[0];
                        a[1] += b[1];
                    });
                    x
                })
        };
        Tally {
            resamples,
            directed,
        }
    }
}

/// `arcs` with the cost of each set to the share of resamples that did not link its pair, plus
/// its distance scaled below one resample's share so that it only orders equal counts.
fn by_link_count(arcs: &[CandidateArc], linked: &[u32], resamples: usize) -> Vec<CandidateArc> {
    let resamples = resamples.max(1) as f64;
    // Relative distances of related models are below 2 (cosine > 0.5 keeps them under 1).
    let tie_scale = 0.25 / resamples;
    arcs.iter()
        .map(|arc| CandidateArc {
            cost: 1.0 - f64::from(linked[arc.pair]) / resamples + tie_scale * arc.cost,
            ..*arc
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_repeatable_and_sum_to_the_number_of_keys() {
        let a = resample_weights(50, 9, 3);
        assert_eq!(a, resample_weights(50, 9, 3));
        assert_ne!(a, resample_weights(50, 9, 4));
        assert_ne!(a, resample_weights(50, 10, 3));
        assert_eq!(a.iter().sum::<u32>(), 50);
        assert!(resample_weights(0, 1, 1).is_empty());
    }

    #[test]
    fn link_counts_order_arcs_and_distance_only_breaks_equal_counts() {
        let arc = |pair, cost| CandidateArc {
            parent: 0,
            child: 1,
            pair,
            cost,
        };
        let arcs = [arc(0, 0.010), arc(1, 0.011), arc(2, 0.5), arc(3, 1.9)];
        let costs: Vec<f64> = by_link_count(&arcs, &[90, 110, 110, 0], 200)
            .iter()
            .map(|a| a.cost)
            .collect();
        // The nearer pair linked less often costs more; equal counts keep the distance order;
        // even the farthest related pair never passes one resample's share.
        assert!(costs[0] > costs[1]);
        assert!(costs[1] < costs[2]);
        assert!(costs[2] < costs[0]);
        assert!(costs[3] > 1.0 && costs[3] < 1.0 + 1.0 / 200.0);
    }
}
