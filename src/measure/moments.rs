//! Central moments of a chunk of values, and the exact merge of two sets of moments
//! (Chan et al. 1979 for m2, Pébay 2008 for m3 and m4), all in f64.
//!
//! Each chunk is summed around its own mean, so a large common offset (weights near 1e4) does
//! not cancel the small deviations; merging chunks is exact algebra, not an approximation.

use super::Moments;

/// Independent accumulators per sum, so the additions do not wait on each other and the
/// compiler can keep them in vector registers.
const LANES: usize = 8;

/// Sum and sum of squares of `values`, in f64 lanes.
#[inline]
pub fn sum_and_sum_sq(values: &[f32]) -> (f64, f64) {
    let mut sum = [0.0f64; LANES];
    let mut sum_sq = [0.0f64; LANES];
    let blocks = values.chunks_exact(LANES);
    let rest = blocks.remainder();
    for block in blocks {
        for lane in 0..LANES {
            let x = block[lane] as f64;
            sum[lane] += x;
            sum_sq[lane] += x * x;
        }
    }
    for (lane, &x) in rest.iter().enumerate() {
        let x = x as f64;
        sum[lane] += x;
        sum_sq[lane] += x * x;
    }
    (sum.iter().sum(), sum_sq.iter().sum())
}

impl Moments {
    /// Moments of `values` around `mean`, which must be their mean (the caller already summed
    /// them in [`sum_and_sum_sq`], so the chunk is read once for the mean and once here).
    #[inline]
    pub fn around_mean(values: &[f32], mean: f64) -> Self {
        let mut m2 = [0.0f64; LANES];
        let mut m3 = [0.0f64; LANES];
        let mut m4 = [0.0f64; LANES];
        let blocks = values.chunks_exact(LANES);
        let rest = blocks.remainder();
        for block in blocks {
            for lane in 0..LANES {
                let d = block[lane] as f64 - mean;
                let d2 = d * d;
                m2[lane] += d2;
                m3[lane] += d2 * d;
                m4[lane] += d2 * d2;
            }
        }
        for (lane, &x) in rest.iter().enumerate() {
            let d = x as f64 - mean;
            let d2 = d * d;
            m2[lane] += d2;
            m3[lane] += d2 * d;
            m4[lane] += d2 * d2;
        }
        Self {
            count: values.len() as u64,
            mean,
            m2: m2.iter().sum(),
            m3: m3.iter().sum(),
            m4: m4.iter().sum(),
        }
    }

    /// Moments of `values` (all must be finite).
    pub fn of(values: &[f32]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        let (sum, _) = sum_and_sum_sq(values);
        Self::around_mean(values, sum / values.len() as f64)
    }

    /// The moments of the union of the two samples.
    pub fn merge(&self, other: &Self) -> Self {
        if self.count == 0 {
            return *other;
        }
        if other.count == 0 {
            return *self;
        }
        let na = self.count as f64;
        let nb = other.count as f64;
        let n = na + nb;
        let delta = other.mean - self.mean;
        let delta_n = delta / n;
        let mean = self.mean + delta_n * nb;
        let m2 = self.m2 + other.m2 + delta * delta_n * na * nb;
        let m3 = self.m3
            + other.m3
            + delta * delta_n * delta_n * na * nb * (na - nb)
            + 3.0 * delta_n * (na * other.m2 - nb * self.m2);
        let m4 = self.m4
            + other.m4
            + delta * delta_n * delta_n * delta_n * na * nb * (na * na - na * nb + nb * nb)
            + 6.0 * delta_n * delta_n * (na * na * other.m2 + nb * nb * self.m2)
            + 4.0 * delta_n * (na * other.m3 - nb * self.m3);
        Self {
            count: self.count + other.count,
            mean,
            m2,
            m3,
            m4,
        }
    }
}
