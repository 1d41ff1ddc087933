//! The AVX2 version of the Gram block of [`super::spectrum`]: every entry is the same running sum
//! of f32 products in the same order as in the portable code (a multiply, then an add: no fused
//! multiply-add), so the results are bit-for-bit equal; only registers of eight f32 (two for a
//! block row's 16 columns) replace the scalars.
//!
//! The one module of `lineage` allowed `unsafe`: the intrinsics need it. Every block says why it
//! is sound, and the caller checks [`crate::simd`] first.

#![allow(unsafe_code)]

use super::spectrum::{BLOCK, BLOCK_COLS};
use std::arch::x86_64::{
    _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps,
    _mm256_storeu_ps,
};

/// `acc[p][q] = sum over lines of line[bi + p] * line[bj + q]`, lines of `width` values.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn gram_block(
    laid: &[f32],
    width: usize,
    bi: usize,
    bj: usize,
) -> [[f32; BLOCK_COLS]; BLOCK] {
    assert!(bi + BLOCK <= width && bj + BLOCK_COLS <= width);
    let mut low = [_mm256_setzero_ps(); BLOCK];
    let mut high = [_mm256_setzero_ps(); BLOCK];
    for line in laid.chunks_exact(width) {
        // SAFETY: bj + 16 <= width = line.len() (asserted), so the loads read 16 values of
        // `line`.
        let (b_low, b_high) = unsafe {
            (
                _mm256_loadu_ps(line.as_ptr().add(bj)),
                _mm256_loadu_ps(line.as_ptr().add(bj + 8)),
            )
        };
        for p in 0..BLOCK {
            let a = _mm256_set1_ps(line[bi + p]);
            low[p] = _mm256_add_ps(low[p], _mm256_mul_ps(a, b_low));
            high[p] = _mm256_add_ps(high[p], _mm256_mul_ps(a, b_high));
        }
    }
    let mut out = [[0.0; BLOCK_COLS]; BLOCK];
    for (row, (l, h)) in out.iter_mut().zip(low.into_iter().zip(high)) {
        // SAFETY: `row` holds 16 f32; the two stores write its two halves.
        unsafe {
            _mm256_storeu_ps(row.as_mut_ptr(), l);
            _mm256_storeu_ps(row.as_mut_ptr().add(8), h);
        }
    }
    out
}
