//! Central moments of a chunk of values, and the exact merge of two sets of moments
//! (Chan et al. 1979 for m2, Pébay 2008 for m3 and m4), all in f64.
//!
//! Each chunk is summed around its own mean, so a large common offset (weights near 1e4) does
//! not cancel the small deviations; merging chunks is exact algebra, not an approximation.

use super::Moments;

/// Independent accumulators per sum, so the additions do not wait on each other and the
/// compiler can keep them in vector registers.
const LANES: usize = 8;

/// Sum and sum of squares of `values`, in lanes (AVX2 when the CPU has it, same bits).
#[inline(always)]
#[allow(unsafe_code)] // the AVX2 lanes, after the run-time check
pub fn sum_and_sum_sq(values: &[f64]) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::avx2() {
        // SAFETY: the CPU supports AVX2, checked just above.
        let (sum, sum_sq) = unsafe { super::avx2::sum_and_sum_sq_lanes(values) };
        return finish_sums(values, sum, sum_sq);
    }
    sum_and_sum_sq_portable(values)
}

/// [`sum_and_sum_sq`] without vector instructions: the reference the AVX2 code must match.
pub fn sum_and_sum_sq_portable(values: &[f64]) -> (f64, f64) {
    let mut sum = [0.0f64; LANES];
    let mut sum_sq = [0.0f64; LANES];
    for block in values.chunks_exact(LANES) {
        for lane in 0..LANES {
            sum[lane] += block[lane];
            sum_sq[lane] += block[lane] * block[lane];
        }
    }
    finish_sums(values, sum, sum_sq)
}

/// Adds the values after the last whole block to the lanes, then the lanes together.
#[inline(always)]
fn finish_sums(values: &[f64], mut sum: [f64; LANES], mut sum_sq: [f64; LANES]) -> (f64, f64) {
    for (lane, &x) in values.chunks_exact(LANES).remainder().iter().enumerate() {
        sum[lane] += x;
        sum_sq[lane] += x * x;
    }
    (sum.iter().sum(), sum_sq.iter().sum())
}

/// Lanes of the one-pass power sums: two AVX2 registers of eight f32.
pub const POWER_LANES: usize = 16;

/// Values each lane adds in f32 before its partial sums go into the f64 totals.
const RUN_PER_LANE: usize = 32;

/// Sums of the first four powers of the deviations from a `shift`, over a block of values: the
/// one-pass way to the moments. A block is read once (no pass for its mean first);
/// [`ShiftedSums::to_moments`] then turns the sums into central moments with the binomial
/// identities, which is exact algebra but loses digits when the shift is far from the block's
/// mean, so it declines unless the shift is within about half a standard deviation.
///
/// Precision, traded for speed on purpose: the deviations and their powers are computed in f32
/// (the values themselves are f32, so d = x - shift is exact or off by one rounding), and each
/// lane adds at most 32 of them (`RUN_PER_LANE`) in f32 before the partial sums are added into
/// f64 totals. Each sum is then within about 40 roundings of f32 (2.4e-6) of the sum of the
/// absolute terms; measured errors are near 1e-8. Eight f32 lanes per register instead of
/// four f64 halve the cost of the most expensive step of fingerprinting. Kurtosis differences
/// that the lineage reads are of order 1e-2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShiftedSums {
    pub count: u64,
    /// The shift actually used: the requested one rounded to f32.
    pub shift: f64,
    /// Sums of (x - shift)^p for p = 1, 2, 3, 4.
    pub sums: [f64; 4],
}

/// Partial f32 sums of the four powers, per lane.
pub type PartialPowers = [[f32; POWER_LANES]; 4];

impl ShiftedSums {
    /// The sums over `values` around `shift` rounded to f32, in lanes (AVX2 and FMA when the
    /// CPU has them, same bits).
    #[inline(always)]
    #[allow(unsafe_code)] // the AVX2 and FMA version, after the run-time check
    pub fn of(values: &[f32], shift: f64) -> Self {
        #[cfg(target_arch = "x86_64")]
        if crate::simd::avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { Self::of_avx2(values, shift) };
        }
        Self::of_portable(values, shift)
    }

    /// [`Self::in_runs`] with [`super::avx2::power_run`], compiled for AVX2 and FMA as a whole:
    /// the run loop and the f64 flushes take a quarter longer when only `power_run` is.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn of_avx2(values: &[f32], shift: f64) -> Self {
        Self::in_runs(values, shift, |run, c| super::avx2::power_run(run, c))
    }

    /// [`Self::of`] without vector instructions: the reference the AVX2 code must match. On an
    /// x86 CPU without FMA (made before 2013) `mul_add` is done in software, several times slower.
    pub fn of_portable(values: &[f32], shift: f64) -> Self {
        Self::in_runs(values, shift, power_run_portable)
    }

    /// Sums `values` in runs of [`RUN_PER_LANE`] values per lane: `whole_blocks` adds a run's
    /// whole 16-value blocks into fresh f32 partial sums, the values after the last whole block
    /// go into the same lanes here, and the run's partial sums are added into the f64 totals.
    #[inline(always)]
    fn in_runs(
        values: &[f32],
        shift: f64,
        whole_blocks: impl Fn(&[f32], f32) -> PartialPowers,
    ) -> Self {
        let shift = shift as f32;
        let mut totals = [[0.0f64; POWER_LANES]; 4];
        for run in values.chunks(POWER_LANES * RUN_PER_LANE) {
            let whole = run.len() / POWER_LANES * POWER_LANES;
            let mut partial = whole_blocks(&run[..whole], shift);
            for (lane, &x) in run[whole..].iter().enumerate() {
                add_powers(&mut partial, lane, x - shift);
            }
            add_partial(&mut totals, &partial);
        }
        Self::finish(values.len(), shift, &totals)
    }

    fn finish(count: usize, shift: f32, totals: &[[f64; POWER_LANES]; 4]) -> Self {
        Self {
            count: count as u64,
            shift: shift as f64,
            sums: totals.map(|l| l.iter().sum()),
        }
    }

    /// Central moments of the block, or `None` when
    /// - a sum is not finite (the block holds NaN or infinity, or a fourth power overflowed f32),
    /// - the spread is so small (variance under 1e-14) that fourth powers near the f32 underflow
    ///   would lose digits, or
    /// - the shift is too far from the mean for the conversion to keep its digits: with
    ///   delta = mean - shift, it requires n delta^2 <= S2 / 4. Then every correction term is a
    ///   small multiple of S2 or S4, so at most a few bits are lost.
    ///
    /// The caller then takes the exact two-pass way in f64.
    pub fn to_moments(&self) -> Option<Moments> {
        let [s1, s2, s3, s4] = self.sums;
        if self.count == 0 || !self.sums.iter().all(|s| s.is_finite()) {
            return None;
        }
        let n = self.count as f64;
        if s2 < n * 1e-14 || 4.0 * s1 * s1 > n * s2 {
            return None;
        }
        let delta = s1 / n;
        let delta2 = delta * delta;
        Some(Moments {
            count: self.count,
            mean: self.shift + delta,
            m2: s2 - s1 * delta,
            m3: s3 - 3.0 * delta * s2 + 2.0 * n * delta2 * delta,
            m4: s4 - 4.0 * delta * s3 + 6.0 * delta2 * s2 - 3.0 * n * delta2 * delta2,
        })
    }

    /// Sum of the squared values themselves: (d + shift)^2 summed.
    pub fn sum_sq(&self) -> f64 {
        let [s1, s2, ..] = self.sums;
        s2 + 2.0 * self.shift * s1 + self.count as f64 * self.shift * self.shift
    }
}

/// The portable counterpart of [`super::avx2::power_run`]: partial sums over whole 16-value
/// blocks, lane by lane.
fn power_run_portable(values: &[f32], shift: f32) -> PartialPowers {
    let mut partial = [[0.0f32; POWER_LANES]; 4];
    for block in values.chunks_exact(POWER_LANES) {
        for (lane, &x) in block.iter().enumerate() {
            add_powers(&mut partial, lane, x - shift);
        }
    }
    partial
}

/// Adds d, d^2, d^3 and d^4 to lane `lane`, with the f32 operations the AVX2 code uses.
#[inline(always)]
fn add_powers(partial: &mut PartialPowers, lane: usize, d: f32) {
    let d2 = d * d;
    partial[0][lane] += d;
    partial[1][lane] += d2;
    partial[2][lane] = d2.mul_add(d, partial[2][lane]);
    partial[3][lane] = d2.mul_add(d2, partial[3][lane]);
}

/// Adds a run's f32 partial sums into the f64 totals, lane by lane.
#[inline(always)]
fn add_partial(totals: &mut [[f64; POWER_LANES]; 4], partial: &PartialPowers) {
    for (total, part) in totals.iter_mut().zip(partial) {
        for (t, &p) in total.iter_mut().zip(part) {
            *t += p as f64;
        }
    }
}

impl Moments {
    /// Moments of `values` around `mean`, which must be their mean (the caller already summed
    /// them in [`sum_and_sum_sq`], so the block is read once for the mean and once here).
    /// AVX2 when the CPU has it, same bits.
    #[inline(always)]
    #[allow(unsafe_code)] // the AVX2 lanes, after the run-time check
    pub fn around_mean(values: &[f64], mean: f64) -> Self {
        #[cfg(target_arch = "x86_64")]
        if crate::simd::avx2() {
            // SAFETY: the CPU supports AVX2, checked just above.
            let lanes = unsafe { super::avx2::central_lanes(values, mean) };
            return Self::finish_central(values, mean, lanes);
        }
        Self::around_mean_portable(values, mean)
    }

    /// [`Self::around_mean`] without vector instructions: the reference the AVX2 code must match.
    pub fn around_mean_portable(values: &[f64], mean: f64) -> Self {
        let mut lanes = [[0.0f64; LANES]; 3];
        for block in values.chunks_exact(LANES) {
            for lane in 0..LANES {
                let d = block[lane] - mean;
                let d2 = d * d;
                lanes[0][lane] += d2;
                lanes[1][lane] += d2 * d;
                lanes[2][lane] += d2 * d2;
            }
        }
        Self::finish_central(values, mean, lanes)
    }

    /// Adds the values after the last whole block to the lanes, then the lanes together.
    #[inline(always)]
    fn finish_central(values: &[f64], mean: f64, mut lanes: [[f64; LANES]; 3]) -> Self {
        for (lane, &x) in values.chunks_exact(LANES).remainder().iter().enumerate() {
            let d = x - mean;
            let d2 = d * d;
            lanes[0][lane] += d2;
            lanes[1][lane] += d2 * d;
            lanes[2][lane] += d2 * d2;
        }
        let [m2, m3, m4] = lanes.map(|l| l.iter().sum());
        Self {
            count: values.len() as u64,
            mean,
            m2,
            m3,
            m4,
        }
    }

    /// Moments of `values` (all must be finite).
    pub fn of(values: &[f32]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        let wide: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        let (sum, _) = sum_and_sum_sq(&wide);
        Self::around_mean(&wide, sum / wide.len() as f64)
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
