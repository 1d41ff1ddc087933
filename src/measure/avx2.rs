//! AVX2 versions of the lane sums of [`super::moments`]: the same eight lanes, each doing the
//! same operations in the same order, so the results are bit-for-bit those of the portable
//! code; only two registers of four f64 replace the eight scalars. The compiler's own
//! vectorisation of the portable loops shuffles lanes between registers and runs at half speed.

use std::arch::x86_64::{
    __m256, __m256d, _mm256_add_pd, _mm256_add_ps, _mm256_castps256_ps128, _mm256_cvtps_pd,
    _mm256_extractf128_ps, _mm256_fmadd_pd, _mm256_loadu_pd, _mm256_loadu_ps, _mm256_mul_pd,
    _mm256_mul_ps, _mm256_set1_pd, _mm256_setzero_pd, _mm256_storeu_pd, _mm256_storeu_ps,
    _mm256_sub_pd,
};

const LANES: usize = 8;

/// Loads lanes 0-3 and 4-7 of an 8-value block.
#[target_feature(enable = "avx2")]
fn load(block: &[f64]) -> (__m256d, __m256d) {
    assert!(block.len() >= LANES);
    // SAFETY: the block holds at least 8 f64 (checked above); both loads are unaligned reads of
    // 4 values inside it.
    unsafe {
        (
            _mm256_loadu_pd(block.as_ptr()),
            _mm256_loadu_pd(block.as_ptr().add(4)),
        )
    }
}

#[target_feature(enable = "avx2")]
fn store(low: __m256d, high: __m256d) -> [f64; LANES] {
    let mut lanes = [0.0f64; LANES];
    // SAFETY: `lanes` holds 8 f64; each store writes 4 of them.
    unsafe {
        _mm256_storeu_pd(lanes.as_mut_ptr(), low);
        _mm256_storeu_pd(lanes.as_mut_ptr().add(4), high);
    }
    lanes
}

/// Per-lane sums and sums of squares over the whole 8-value blocks of `values`.
#[target_feature(enable = "avx2")]
pub fn sum_and_sum_sq_lanes(values: &[f64]) -> ([f64; LANES], [f64; LANES]) {
    let (mut s0, mut s1) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let (mut q0, mut q1) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    for block in values.chunks_exact(LANES) {
        let (a, b) = load(block);
        s0 = _mm256_add_pd(s0, a);
        s1 = _mm256_add_pd(s1, b);
        q0 = _mm256_add_pd(q0, _mm256_mul_pd(a, a));
        q1 = _mm256_add_pd(q1, _mm256_mul_pd(b, b));
    }
    (store(s0, s1), store(q0, q1))
}

/// Per-lane sums of the 2nd, 3rd and 4th powers of deviations from `mean`, over the whole
/// 8-value blocks of `values`.
#[target_feature(enable = "avx2")]
pub fn central_lanes(values: &[f64], mean: f64) -> [[f64; LANES]; 3] {
    let m = _mm256_set1_pd(mean);
    let zero = _mm256_setzero_pd();
    let (mut m2a, mut m2b, mut m3a, mut m3b, mut m4a, mut m4b) =
        (zero, zero, zero, zero, zero, zero);
    for block in values.chunks_exact(LANES) {
        let (a, b) = load(block);
        let (da, db) = (_mm256_sub_pd(a, m), _mm256_sub_pd(b, m));
        let (d2a, d2b) = (_mm256_mul_pd(da, da), _mm256_mul_pd(db, db));
        m2a = _mm256_add_pd(m2a, d2a);
        m2b = _mm256_add_pd(m2b, d2b);
        m3a = _mm256_add_pd(m3a, _mm256_mul_pd(d2a, da));
        m3b = _mm256_add_pd(m3b, _mm256_mul_pd(d2b, db));
        m4a = _mm256_add_pd(m4a, _mm256_mul_pd(d2a, d2a));
        m4b = _mm256_add_pd(m4b, _mm256_mul_pd(d2b, d2b));
    }
    [store(m2a, m2b), store(m3a, m3b), store(m4a, m4b)]
}

/// Per-lane sums of d, d^2, d^3 and d^4 with d = x - `shift` (x widened to f64), over the whole
/// 8-value blocks of `values`. The cubes and fourth powers are fused multiply-adds, which puts
/// three operations on the multiply ports and three on the add ports per four values; the
/// portable code uses `mul_add` at the same places, so the bits still agree.
#[target_feature(enable = "avx2,fma")]
pub fn shifted_power_lanes(values: &[f32], shift: f64) -> [[f64; LANES]; 4] {
    let c = _mm256_set1_pd(shift);
    let zero = _mm256_setzero_pd();
    let mut low = [zero; 4];
    let mut high = [zero; 4];
    for block in values.chunks_exact(LANES) {
        // SAFETY: the block holds exactly 8 f32; the load is an unaligned read of them.
        let x = unsafe { _mm256_loadu_ps(block.as_ptr()) };
        let a = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(x)), c);
        let b = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps::<1>(x)), c);
        for (sums, d) in [(&mut low, a), (&mut high, b)] {
            let d2 = _mm256_mul_pd(d, d);
            sums[0] = _mm256_add_pd(sums[0], d);
            sums[1] = _mm256_add_pd(sums[1], d2);
            sums[2] = _mm256_fmadd_pd(d2, d, sums[2]);
            sums[3] = _mm256_fmadd_pd(d2, d2, sums[3]);
        }
    }
    [0, 1, 2, 3].map(|p| store(low[p], high[p]))
}

/// Folds whole runs of 64 columns into the 64 buckets of `fold`: fold[k] += v[k] * s[k] for
/// every run, in run order. The eight accumulators stay in registers for the whole loop (the
/// compiler keeps an array of them on the stack); each lane does the portable code's f32
/// multiply and add in the same order, so the bits agree.
#[target_feature(enable = "avx2")]
pub fn fold_runs(fold: &mut [f32; 64], values: &[f32], signs: &[f32]) {
    // SAFETY: every load reads 8 f32 inside `fold` or a 64-value run; stores likewise.
    unsafe {
        let mut acc: [__m256; 8] =
            std::array::from_fn(|k| _mm256_loadu_ps(fold.as_ptr().add(8 * k)));
        for (run, run_signs) in values.chunks_exact(64).zip(signs.chunks_exact(64)) {
            for (k, a) in acc.iter_mut().enumerate() {
                let v = _mm256_loadu_ps(run.as_ptr().add(8 * k));
                let s = _mm256_loadu_ps(run_signs.as_ptr().add(8 * k));
                *a = _mm256_add_ps(*a, _mm256_mul_ps(v, s));
            }
        }
        for (k, a) in acc.iter().enumerate() {
            _mm256_storeu_ps(fold.as_mut_ptr().add(8 * k), *a);
        }
    }
}
