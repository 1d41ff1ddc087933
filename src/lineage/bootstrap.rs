//! Confidence by bootstrap over tensors: each resample draws as many tensor keys as there are,
//! with replacement, recovers the whole forest from that weighting, and records which directed
//! edges it holds. An edge that many resamples keep does not hang on a few tensors.
//!
//! Resample `i` draws from its own ChaCha stream (seed from the options, stream `i`), so the
//! counts do not depend on how rayon splits the work: same input and seed, same confidences.

use super::DirectionMode;
use super::consistency::Evidence;
use super::forest::{self, PairView};
use super::method::Method;
use super::pairs::Pair;
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
    pub method: &'a Method,
    pub mode: DirectionMode,
}

impl Problem<'_> {
    /// The views, arcs and chosen parent arcs under one weighting.
    pub fn solve(
        &self,
        weights: &[u32],
    ) -> (Vec<PairView>, Vec<forest::CandidateArc>, Vec<Option<usize>>) {
        let views: Vec<PairView> = self
            .pairs
            .iter()
            .map(|p| PairView::new(p, weights, self.method, self.mode))
            .collect();
        let arcs = forest::arcs(self.pairs, &views, self.quantized, self.method);
        let evidence = Evidence {
            pairs: self.pairs,
            views: &views,
            weights,
            quantized: self.quantized,
            keys: self.keys,
            norms: self.method.norm_trends,
        };
        let parents = forest::parents(self.nodes, &arcs, self.summary, self.method, &evidence);
        (views, arcs, parents)
    }

    /// Runs `resamples` bootstrap recoveries in parallel and counts the directed edges.
    pub fn tally(&self, resamples: usize, seed: u64) -> Tally {
        let empty = || vec![[0u32; 2]; self.pairs.len()];
        let directed = if self.keys == 0 || self.pairs.is_empty() {
            empty()
        } else {
            (0..resamples)
                .into_par_iter()
                .fold(empty, |mut counts, index| {
                    let weights = resample_weights(self.keys, seed, index as u64);
                    let (_, arcs, parents) = self.solve(&weights);
                    for arc in parents.into_iter().flatten().map(|i| arcs[i]) {
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
}
