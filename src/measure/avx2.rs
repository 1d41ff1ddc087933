//! AVX2 versions of the lane loops of [`super::moments`] and [`super::sketch`]: the same lanes,
//! each doing the same operations in the same order as the portable code, so the results are
//! bit-for-bit equal; only registers of four f64 or eight f32 replace the scalars. The
//! compiler's own vectorisation of the portable loops shuffles lanes between registers (or
//! keeps accumulators on the stack) and runs at half speed.
//!
//! The one module of `measure` allowed `unsafe`: the intrinsics need it. Every block says why it
//! is sound, and every caller checks [`crate::simd`] first.

#![allow(unsafe_code)]

use super::moments::{POWER_LANES, PartialPowers};
use std::arch::x86_64::{
    __m256, __m256d, _mm256_add_pd, _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_pd,
    _mm256_loadu_ps, _mm256_mul_pd, _mm256_mul_ps, _mm256_set1_pd, _mm256_set1_ps,
    _mm256_setzero_pd, _mm256_setzero_ps, _mm256_storeu_pd, _mm256_storeu_ps, _mm256_sub_pd,
    _mm256_sub_ps,
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

/// Per-lane f32 sums of d, d^2, d^3 and d^4 with d = x - `shift`, over `values` (whole
/// 16-value blocks): two registers of eight lanes per power, so that each register waits on
/// its previous multiply-add only every other step. Each lane does the portable code's f32
/// operations in the same order (`mul_add` where this uses a fused multiply-add), so the bits
/// agree.
#[target_feature(enable = "avx2,fma")]
pub fn power_run(values: &[f32], shift: f32) -> PartialPowers {
    let c = _mm256_set1_ps(shift);
    let mut sums = [[_mm256_setzero_ps(); 4]; 2];
    for block in values.chunks_exact(POWER_LANES) {
        for (half, sums) in sums.iter_mut().enumerate() {
            // SAFETY: the block holds exactly 16 f32; the load reads 8 of them.
            let x = unsafe { _mm256_loadu_ps(block.as_ptr().add(8 * half)) };
            let d = _mm256_sub_ps(x, c);
            let d2 = _mm256_mul_ps(d, d);
            sums[0] = _mm256_add_ps(sums[0], d);
            sums[1] = _mm256_add_ps(sums[1], d2);
            sums[2] = _mm256_fmadd_ps(d2, d, sums[2]);
            sums[3] = _mm256_fmadd_ps(d2, d2, sums[3]);
        }
    }
    let mut partial = [[0.0f32; POWER_LANES]; 4];
    for (half, half_sums) in sums.iter().enumerate() {
        for (power, sum) in half_sums.iter().enumerate() {
            // SAFETY: lanes 8*half .. 8*half + 8 lie inside the 16 of this power.
            unsafe { _mm256_storeu_ps(partial[power].as_mut_ptr().add(8 * half), *sum) };
        }
    }
    partial
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
