//! The direction cue: which of two related models looks like the parent.
//!
//! Fine-tuning lowers the excess kurtosis of weights (MoTHer), so under
//! [`DirectionMode::Finetune`] the model with the higher kurtosis looks like the parent;
//! continued pre-training raises it, and [`DirectionMode::Pretrain`] flips the sign. The score
//! of "a is the parent of b" lies in [-1, 1]; how per-tensor kurtosis is aggregated is a
//! measured choice ([`Aggregate`]).

use super::DirectionMode;
use super::method::Aggregate;
use super::pairs::PairTensor;

/// Keeps the scale-free difference finite for two Gaussian tensors (kurtosis near zero).
const SCALE_FREE_EPS: f64 = 1e-3;

/// Score in [-1, 1] that `a` (the pair's first model) is the parent of `b`, from the tensors
/// with their bootstrap weights; zero when no tensor has a say.
pub fn score(
    tensors: &[PairTensor],
    weights: &[u32],
    aggregate: Aggregate,
    touched_only: bool,
    mode: DirectionMode,
) -> f64 {
    let mut numerator = 0.0;
    let mut denominator = 0.0;
    for t in tensors.iter().filter(|t| t.touched || !touched_only) {
        let w = f64::from(weights[t.key as usize]);
        if w == 0.0 {
            continue;
        }
        let (ka, kb) = (t.kurtosis_a, t.kurtosis_b);
        match aggregate {
            Aggregate::Sum => {
                numerator += w * (ka - kb);
                denominator += w * (ka.abs() + kb.abs());
            }
            Aggregate::ScaleFree => {
                numerator += w * (ka - kb) / (ka.abs() + kb.abs() + SCALE_FREE_EPS);
                denominator += w;
            }
            Aggregate::Vote => {
                numerator += w * sign(ka - kb);
                denominator += w;
            }
        }
    }
    let score = if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    };
    match mode {
        DirectionMode::Finetune => score,
        DirectionMode::Pretrain => -score,
    }
}

fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The summary kurtosis of one model: the sum of excess kurtosis over its 2-D tensors.
pub fn summary_kurtosis(fingerprint: &crate::measure::Fingerprint) -> f64 {
    fingerprint
        .tensors
        .iter()
        .map(|t| t.moments.excess_kurtosis())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(key: u32, ka: f64, kb: f64, touched: bool) -> PairTensor {
        PairTensor {
            key,
            dot: 1.0,
            sketch_sq_a: 1.0,
            sketch_sq_b: 1.0,
            diff_sq: 0.0,
            sum_sq_a: 1.0,
            sum_sq_b: 1.0,
            kurtosis_a: ka,
            kurtosis_b: kb,
            touched,
            rank_side: None,
            rank: None,
        }
    }

    #[test]
    fn aggregates_disagree_where_they_should() {
        // One heavy-tailed tensor says "a is the parent" by a lot; two near-Gaussian tensors say
        // the opposite by a little.
        let tensors = [
            tensor(0, 8.9, 8.4, true),
            tensor(1, 0.01, 0.02, true),
            tensor(2, 0.0, 0.01, true),
        ];
        let w = [1, 1, 1];
        let fine = DirectionMode::Finetune;
        assert!(score(&tensors, &w, Aggregate::Sum, true, fine) > 0.0);
        assert!(score(&tensors, &w, Aggregate::Vote, true, fine) < 0.0);
        assert!(score(&tensors, &w, Aggregate::ScaleFree, true, fine) < 0.0);
        assert_eq!(
            score(&tensors, &w, Aggregate::Sum, true, DirectionMode::Pretrain),
            -score(&tensors, &w, Aggregate::Sum, true, fine)
        );
    }

    #[test]
    fn weights_and_untouched_tensors_are_respected() {
        let tensors = [tensor(0, 3.0, 1.0, true), tensor(1, 0.0, 9.0, false)];
        let fine = DirectionMode::Finetune;
        assert!(score(&tensors, &[1, 1], Aggregate::Sum, true, fine) > 0.0);
        assert!(score(&tensors, &[1, 1], Aggregate::Sum, false, fine) < 0.0);
        assert_eq!(score(&tensors, &[0, 1], Aggregate::Sum, true, fine), 0.0);
        assert_eq!(score(&[], &[], Aggregate::Vote, true, fine), 0.0);
    }

    #[test]
    fn scores_stay_in_range() {
        let tensors = [tensor(0, -2.0, 7.0, true), tensor(1, 5.0, -1.0, true)];
        for aggregate in [Aggregate::Sum, Aggregate::ScaleFree, Aggregate::Vote] {
            let s = score(&tensors, &[3, 1], aggregate, true, DirectionMode::Finetune);
            assert!((-1.0..=1.0).contains(&s), "{aggregate:?}: {s}");
        }
    }
}
