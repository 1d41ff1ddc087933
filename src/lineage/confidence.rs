//! What an edge's confidence is made of, and what the words for it mean.
//!
//! An edge is right when its two models are linked (the link) and the link points the right way
//! (the direction); its confidence is the product of the two probabilities.
//! - **Link.** The share of bootstrap resamples over tensors that keep the link measures how much
//!   it hangs on a few tensors. It misses what no resampling of tensors shows: that another
//!   model is nearly as close. Siblings fine-tuned toward the same objective move the same way,
//!   and one of them can end up a little closer than their true parent. So the share is scaled
//!   by how clearly the link beats the best replacement (the cheapest other pair that would
//!   reconnect the tree without it): a replacement within a few percent halves it, one more
//!   than [`GAP_SCALE`] x 3 farther away leaves it nearly whole.
//! - **Direction.** The margin (log-odds) by which the chosen root beats the best root on the far
//!   side of the edge (`direction.rs`), as a probability, and never more than the share of
//!   resamples that orient the link this way.
//!
//! The constants were set on the families the method was chosen on and checked on the others
//! (README, "Confidence"): across all of them, edges at >= 0.9 were right at least 95% of the
//! time.

use serde::Serialize;

/// The relative gap to the replacement link at which the link's doubt has fallen by e.
const GAP_SCALE: f64 = 0.05;

/// The confidence of an edge in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Below [`Level::MEDIUM`]: a guess.
    Low,
    Medium,
    /// At least [`Level::HIGH`]: right at least 95% of the time on the families measured.
    High,
}

impl Level {
    pub const HIGH: f64 = 0.9;
    pub const MEDIUM: f64 = 0.6;

    pub fn of(confidence: f64) -> Self {
        if confidence >= Self::HIGH {
            Level::High
        } else if confidence >= Self::MEDIUM {
            Level::Medium
        } else {
            Level::Low
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }
}

/// A confidence as every output prints it, rounded down to hundredths: a printed `1.00` is never
/// a 0.996, and since the level thresholds are whole hundredths the printed number always reads
/// at the level [`Level::of`] gives. JSON keeps the exact value.
pub fn printed_confidence(confidence: f64) -> String {
    // The nudge keeps 0.29 (stored as 0.28999…) from printing as 0.28.
    let floored = ((confidence * 100.0) + 1e-9).floor() / 100.0;
    format!("{:.2}", floored.clamp(0.0, 1.0))
}

/// The probability that a link is right, from the share of resamples that keep it and its
/// relative gap to the best replacement (`None`: nothing could replace it).
pub fn link(support: f64, replacement_gap: Option<f64>) -> f64 {
    let doubt = replacement_gap.map_or(0.0, |gap| 0.5 * (-gap.max(0.0) / GAP_SCALE).exp());
    (support * (1.0 - doubt)).clamp(0.0, 1.0)
}

/// The probability that a link's direction is right, from its margin in log-odds (`None`: the
/// method gives none, so the resamples alone speak) and the share of resamples that orient it
/// this way.
pub fn direction(margin: Option<f64>, agreement: f64) -> f64 {
    let from_margin = margin.map_or(1.0, |m| 1.0 / (1.0 + (-m).exp()));
    from_margin.min(agreement).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_thresholds() {
        assert_eq!(Level::of(0.95), Level::High);
        assert_eq!(Level::of(0.9), Level::High);
        assert_eq!(Level::of(0.89), Level::Medium);
        assert_eq!(Level::of(0.6), Level::Medium);
        assert_eq!(Level::of(0.59), Level::Low);
    }

    #[test]
    fn a_close_replacement_halves_the_link_and_a_far_one_leaves_it() {
        assert!((link(1.0, Some(0.0)) - 0.5).abs() < 1e-12);
        assert!(link(1.0, Some(0.5)) > 0.99);
        assert_eq!(link(0.8, None), 0.8);
        assert!(link(1.0, Some(0.05)) < link(1.0, Some(0.1)));
    }

    #[test]
    fn the_direction_is_never_surer_than_the_resamples() {
        assert!((direction(Some(0.0), 1.0) - 0.5).abs() < 1e-12);
        assert!(direction(Some(3.0), 1.0) > 0.95);
        assert_eq!(direction(Some(10.0), 0.7), 0.7);
        assert_eq!(direction(None, 0.8), 0.8);
        assert_eq!(direction(Some(f64::INFINITY), 1.0), 1.0);
    }
}
