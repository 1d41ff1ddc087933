//! Moments merged across chunks against a slow two-pass reference, and excess kurtosis against
//! values known by hand and by distribution.

use crate::reference;
use crate::simd_twin;

use mother::measure::Moments;
use mother::measure::moments::{ShiftedSums, sum_and_sum_sq, sum_and_sum_sq_portable};
use mother::measure::tensor::TensorAccumulator;
use mother::weights::FloatDtype;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal, Uniform};

/// Moments of `values` cut at `cuts` (sorted positions), merged.
fn chunked(values: &[f32], cuts: &[usize]) -> Moments {
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().map(|&c| c.min(values.len())));
    bounds.push(values.len());
    bounds.sort_unstable();
    bounds
        .windows(2)
        .map(|w| Moments::of(&values[w[0]..w[1]]))
        .fold(Moments::default(), |acc, m| acc.merge(&m))
}

/// |a - b| within `tol` of the scale of the sum (sum of |d|^p), since m3 may be near zero.
fn assert_close(name: &str, got: f64, want: f64, scale: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * scale.max(f64::MIN_POSITIVE),
        "{name}: {got} vs {want} (scale {scale})"
    );
}

/// How close a path must come to the two-pass f64 reference, relative to the scale of each
/// quantity.
struct Tolerance {
    mean: f64,
    m2: f64,
    m3_m4: f64,
    sum_sq: f64,
}

/// Two-pass f64 sums around the block's mean: rounding of f64 only.
const EXACT: Tolerance = Tolerance {
    mean: 1e-12,
    m2: 1e-9,
    m3_m4: 1e-8,
    sum_sq: 1e-12,
};

/// One-pass f32 partial sums around a shift within half a deviation of the mean (see
/// `ShiftedSums`): about 40 f32 roundings (2.4e-6) per sum, times the few-fold growth of the
/// absolute sums around the shift and of the binomial conversion.
const ONE_PASS: Tolerance = Tolerance {
    mean: 1e-5,
    m2: 3e-5,
    m3_m4: 1e-4,
    sum_sq: 1e-5,
};

fn check(values: &[f32], got: &Moments) {
    check_within(values, got, &EXACT);
}

fn check_within(values: &[f32], got: &Moments, tol: &Tolerance) {
    let want = reference::moments(values);
    assert_eq!(got.count, want.count);
    let abs_sum = |p: i32| {
        values
            .iter()
            .map(|&v| (v as f64 - want.mean).abs().powi(p))
            .sum::<f64>()
    };
    assert_close(
        "mean",
        got.mean,
        want.mean,
        want.mean.abs() + (want.m2 / want.count as f64).sqrt(),
        tol.mean,
    );
    assert_close("m2", got.m2, want.m2, abs_sum(2), tol.m2);
    assert_close("m3", got.m3, want.m3, abs_sum(3), tol.m3_m4);
    assert_close("m4", got.m4, want.m4, abs_sum(4), tol.m3_m4);
}

fn check_sum_sq(values: &[f32], got: f64, tol: &Tolerance) {
    let want: f64 = values.iter().map(|&v| v as f64 * v as f64).sum();
    assert!(
        (got - want).abs() <= tol.sum_sq * want,
        "sum of squares: {got} vs {want}"
    );
}

fn sample() -> impl Strategy<Value = Vec<f32>> {
    (
        prop_oneof![Just(0.0f32), Just(1e4f32), Just(-3.5f32)],
        prop_oneof![Just(1e-3f32), Just(1.0f32), Just(50.0f32)],
        prop::collection::vec(-1.0f32..1.0, 2..3000),
    )
        .prop_map(|(offset, spread, noise)| {
            noise.iter().map(|x| offset + spread * x * x * x).collect()
        })
}

proptest! {
    #[test]
    fn vector_sums_give_the_same_bits_as_the_portable_ones(values in sample()) {
        let wide: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        let (s, q) = sum_and_sum_sq(&wide);
        let (sp, qp) = sum_and_sum_sq_portable(&wide);
        prop_assert_eq!((s.to_bits(), q.to_bits()), (sp.to_bits(), qp.to_bits()));
        let mean = s / wide.len() as f64;
        prop_assert_eq!(Moments::around_mean(&wide, mean), Moments::around_mean_portable(&wide, mean));
    }

    #[test]
    fn vector_power_sums_give_the_same_bits_as_the_portable_ones(
        values in sample(),
        shift in -2.0f64..2.0,
    ) {
        let a = ShiftedSums::of(&values, shift);
        let b = ShiftedSums::of_portable(&values, shift);
        prop_assert_eq!(a.sums.map(f64::to_bits), b.sums.map(f64::to_bits));
    }

    /// The one-pass conversion, from any shift it accepts, matches the two-pass reference; a
    /// shift it declines is really far from the mean, or the values barely differ.
    #[test]
    fn shifted_sums_match_the_reference_or_decline(
        values in sample(),
        offset_in_deviations in -3.0f64..3.0,
    ) {
        let exact = reference::moments(&values);
        let sd = (exact.m2 / exact.count as f64).sqrt();
        let shift = exact.mean + offset_in_deviations * sd;
        let sums = ShiftedSums::of(&values, shift);
        match sums.to_moments() {
            Some(got) => {
                check_within(&values, &got, &ONE_PASS);
                check_sum_sq(&values, sums.sum_sq(), &ONE_PASS);
            }
            // The sums run around the shift rounded to f32, which for values that barely
            // differ (10000 and 9999.999) can sit a deviation away from the mean; values all
            // but equal (a spread below 1e-7) are declined whatever the shift.
            None => {
                let rounded = (f64::from(shift as f32) - exact.mean).abs();
                prop_assert!(rounded > 0.5 * sd || sd < 2e-7);
            }
        }
    }

    #[test]
    fn merged_chunks_match_the_two_pass_reference(
        values in sample(),
        cuts in prop::collection::vec(0usize..3000, 0..8),
    ) {
        check(&values, &chunked(&values, &cuts));
    }

    #[test]
    fn the_fused_pass_matches_the_reference(values in sample(), cut in 0usize..3000) {
        let cut = cut.min(values.len());
        let mut acc = TensorAccumulator::new(FloatDtype::F32, 1, values.len());
        acc.push_values(&values[..cut]);
        acc.push_values(&values[cut..]);
        let fp = acc.finish("t", &[1, values.len()]);
        // The first piece takes the two-pass way, the second (if any) the one-pass one.
        check_within(&values, &fp.moments, &ONE_PASS);
        check_sum_sq(&values, fp.sum_sq, &ONE_PASS);
    }
}

#[test]
fn kurtosis_of_small_vectors_computed_by_hand() {
    // [1, 2, 3, 4]: deviations ±0.5, ±1.5; m2 = 5, m4 = 10.25; 4 * 10.25 / 25 - 3 = -1.36.
    let m = Moments::of(&[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(
        (m.count, m.mean, m.m2, m.m3, m.m4),
        (4, 2.5, 5.0, 0.0, 10.25)
    );
    assert!((m.excess_kurtosis() + 1.36).abs() < 1e-12);
    assert!((m.variance() - 1.25).abs() < 1e-12);
    // [0, 0, 0, 0, 10]: deviations -2 (x4), 8; m2 = 80, m3 = 480, m4 = 4160; 5*4160/6400 - 3.
    let m = Moments::of(&[0.0, 0.0, 0.0, 0.0, 10.0]);
    assert_eq!((m.mean, m.m2, m.m3, m.m4), (2.0, 80.0, 480.0, 4160.0));
    assert!((m.excess_kurtosis() - 0.25).abs() < 1e-12);
    // The same, merged from two chunks.
    let merged = Moments::of(&[0.0, 0.0]).merge(&Moments::of(&[0.0, 0.0, 10.0]));
    assert!((merged.m4 - 4160.0).abs() < 1e-9 && (merged.m3 - 480.0).abs() < 1e-9);
}

#[test]
fn constant_and_empty_samples_have_zero_kurtosis() {
    assert_eq!(Moments::of(&[]).excess_kurtosis(), 0.0);
    assert_eq!(Moments::of(&[3.0; 100]).excess_kurtosis(), 0.0);
    let m = Moments::of(&[1.0, 2.0]);
    assert_eq!(m.merge(&Moments::default()), m);
    assert_eq!(Moments::default().merge(&m), m);
}

#[test]
fn uniform_and_gaussian_samples_have_their_known_kurtosis() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let uniform: Vec<f32> = Uniform::new(-1.0f32, 1.0)
        .unwrap()
        .sample_iter(&mut rng)
        .take(1_000_000)
        .collect();
    let k = chunked(&uniform, &[1 << 18, 1 << 19, 3 << 18]).excess_kurtosis();
    assert!((k + 1.2).abs() < 0.01, "uniform: {k}");
    let gaussian: Vec<f32> = Normal::new(1e4f32, 0.02)
        .unwrap()
        .sample_iter(&mut rng)
        .take(1_000_000)
        .collect();
    let k = chunked(&gaussian, &[1 << 18, 1 << 19]).excess_kurtosis();
    assert!(k.abs() < 0.05, "gaussian around 1e4: {k}");
    let laplace: Vec<f32> = uniform
        .chunks(2)
        .map(|p| (p[0].abs().max(1e-12)).ln() * p[1].signum())
        .collect();
    let k = Moments::of(&laplace).excess_kurtosis();
    assert!((k - 3.0).abs() < 0.1, "laplace: {k}");
}

/// The byte path (decoding compiled for AVX2, F16C for F16) and the value path give the same
/// fingerprint, and so does a run of both with every vector path off (`MOTHER_SIMD=off`, in a
/// child process).
#[test]
fn the_byte_and_value_paths_give_the_same_bits_with_the_vector_paths_on_and_off() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let (rows, cols) = (300, 250);
    let values: Vec<f32> = Normal::new(0.01f32, 0.3)
        .unwrap()
        .sample_iter(&mut rng)
        .take(rows * cols)
        .collect();
    let mut digest = Vec::new();
    for dtype in [FloatDtype::F32, FloatDtype::BF16, FloatDtype::F16] {
        let mut bytes = Vec::new();
        dtype.encode_into(&values, &mut bytes);
        let mut stored = Vec::new();
        dtype.decode_into(&bytes, &mut stored);
        let mut from_bytes = TensorAccumulator::new(dtype, rows, cols);
        for chunk in bytes.chunks(1 << 20) {
            from_bytes.push_bytes(chunk);
        }
        let mut from_values = TensorAccumulator::new(dtype, rows, cols);
        // The byte path decodes in blocks of 4096 values and hashes the stored bytes; feed the
        // same blocks and bytes.
        from_values.hash_stored(&bytes);
        for block in stored.chunks(4096) {
            from_values.push_values(block);
        }
        let (a, b) = (
            from_bytes.finish("t", &[rows, cols]),
            from_values.finish("t", &[rows, cols]),
        );
        assert_eq!(a, b, "{dtype:?}: the byte and value paths differ");
        assert_eq!(a.sum_sq.to_bits(), b.sum_sq.to_bits());
        digest.push(serde_json::to_string(&a).unwrap());
    }
    simd_twin::assert_same_without_simd(
        "measure_moments::the_byte_and_value_paths_give_the_same_bits_with_the_vector_paths_on_and_off",
        &digest.join(" "),
    );
}

/// A tensor whose second half sits far from its first: the running mean is a poor shift for the
/// blocks after the jump, so they must take the two-pass way, and the result still matches.
#[test]
fn a_tensor_whose_mean_jumps_still_matches_the_reference() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let noise = Normal::new(0.0f32, 0.01).unwrap();
    let values: Vec<f32> = (0..40_000)
        .map(|i| noise.sample(&mut rng) + if i < 20_000 { 0.0 } else { 1e3 })
        .collect();
    let mut acc = TensorAccumulator::new(FloatDtype::F32, 40, 1000);
    for block in values.chunks(4096) {
        acc.push_values(block);
    }
    let fp = acc.finish("t", &[40, 1000]);
    check_within(&values, &fp.moments, &ONE_PASS);
}

/// Values at 1000 with a spread of 0.01, summed around 0: the binomial conversion would cancel
/// away all but a few digits of m2, so it declines; around their own mean it accepts.
#[test]
fn a_shift_far_from_the_mean_is_declined() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
    let noise = Normal::new(1e3f32, 0.01).unwrap();
    let values: Vec<f32> = (0..4096).map(|_| noise.sample(&mut rng)).collect();
    assert_eq!(ShiftedSums::of(&values, 0.0).to_moments(), None);
    let mean = reference::moments(&values).mean;
    let near = ShiftedSums::of(&values, mean + 0.001).to_moments();
    check_within(
        &values,
        &near.expect("a shift a tenth of a deviation away is accepted"),
        &ONE_PASS,
    );
}

/// Weights of size 1e-9: their fourth powers (1e-36) sit near the bottom of f32, so the
/// one-pass sums decline and every block takes the exact way.
#[test]
fn a_tiny_spread_takes_the_exact_way() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    let noise = Normal::new(0.0f32, 1e-9).unwrap();
    let values: Vec<f32> = (0..3 * 4096).map(|_| noise.sample(&mut rng)).collect();
    assert_eq!(ShiftedSums::of(&values, 0.0).to_moments(), None);
    let mut acc = TensorAccumulator::new(FloatDtype::F32, 3, 4096);
    for block in values.chunks(4096) {
        acc.push_values(block);
    }
    check(&values, &acc.finish("t", &[3, 4096]).moments);
}

/// What the lineage reads: the excess kurtosis of a large heavy-tailed matrix through the
/// streaming pass agrees with the f64 reference to 1e-6.
#[test]
fn streamed_kurtosis_of_a_large_matrix_matches_the_reference() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let uniform = Uniform::new(-1.0f32, 1.0).unwrap();
    let values: Vec<f32> = (0..1 << 21)
        .map(|_| {
            let (a, b): (f32, f32) = (uniform.sample(&mut rng), uniform.sample(&mut rng));
            0.02 * a.abs().max(1e-12).ln() * b.signum() + 1e-3
        })
        .collect();
    let mut acc = TensorAccumulator::new(FloatDtype::F32, 1024, 2048);
    for block in values.chunks(4096) {
        acc.push_values(block);
    }
    let got = acc.finish("t", &[1024, 2048]).moments.excess_kurtosis();
    let want = reference::moments(&values).excess_kurtosis();
    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
}
