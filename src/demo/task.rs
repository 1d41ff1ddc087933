//! The training data: bags of tokens drawn from a Zipf distribution, labelled by a sparse
//! random teacher.
//!
//! Frequent tokens appear in almost every batch while rare ones show up seldom; a teacher gives
//! only a few tokens a strong say in the label. Learning such a task under Adam pushes a few
//! weights far out while most stay near their start, which is what makes the trained weights
//! heavy-tailed (the excess kurtosis the lineage method reads).

use super::mlp::Batch;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Samples token ids with probability proportional to 1 / (rank + 1)^exponent.
#[derive(Debug, Clone)]
pub struct Zipf {
    /// Cumulative probabilities, last entry 1.
    cumulative: Vec<f64>,
}

impl Zipf {
    pub fn new(vocab: usize, exponent: f64) -> Self {
        let weights: Vec<f64> = (0..vocab)
            .map(|rank| 1.0 / ((rank + 1) as f64).powf(exponent))
            .collect();
        let total: f64 = weights.iter().sum();
        let mut running = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                running += w / total;
                running
            })
            .collect();
        Zipf { cumulative }
    }

    pub fn sample(&self, rng: &mut impl Rng) -> u32 {
        let u: f64 = rng.random();
        let index = self.cumulative.partition_point(|&c| c < u);
        index.min(self.cumulative.len() - 1) as u32
    }
}

/// A labelling rule: each token carries a score per class, nonzero for a few (token, class)
/// pairs; an example's label is the class with the highest summed score over its tokens.
#[derive(Debug, Clone)]
pub struct Teacher {
    classes: usize,
    /// Row-major `[vocab, classes]`.
    scores: Vec<f32>,
}

impl Teacher {
    /// `density` is the share of (token, class) pairs with a strong score; the rest get a faint
    /// one so that every example has a well-defined label.
    pub fn new(vocab: usize, classes: usize, density: f64, rng: &mut impl Rng) -> Self {
        let scores = (0..vocab * classes)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                let strong = rng.random_bool(density);
                (if strong { 3.0 * z } else { 0.05 * z }) as f32
            })
            .collect();
        Teacher { classes, scores }
    }

    pub fn label(&self, tokens: &[u32]) -> usize {
        let mut sums = vec![0f32; self.classes];
        for &token in tokens {
            let row = &self.scores[token as usize * self.classes..][..self.classes];
            for (sum, score) in sums.iter_mut().zip(row) {
                *sum += score;
            }
        }
        let mut best = 0;
        for (class, &sum) in sums.iter().enumerate() {
            if sum > sums[best] {
                best = class;
            }
        }
        best
    }

    /// `rows` fresh examples of `context` tokens each.
    pub fn batch(&self, zipf: &Zipf, rows: usize, context: usize, rng: &mut impl Rng) -> Batch {
        let tokens: Vec<u32> = (0..rows * context).map(|_| zipf.sample(rng)).collect();
        let labels = tokens
            .chunks_exact(context)
            .map(|example| self.label(example))
            .collect();
        Batch {
            context,
            tokens,
            labels,
        }
    }
}
