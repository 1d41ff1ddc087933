//! The sketch: exact for small matrices, linear, an estimate of the Frobenius norm on average,
//! and never of higher rank than the matrix.

use mother::measure::Sketch;
use mother::measure::sketch::{
    MAX_BUCKETS, SketchBuilder, fold_runs, fold_runs_portable, head_rows, sign, sketch_matrix,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

fn gaussian(count: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect()
}

fn norm_sq(values: &[f32]) -> f64 {
    values.iter().map(|&v| v as f64 * v as f64).sum()
}

/// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations.
fn symmetric_eigenvalues(mut a: Vec<f64>, n: usize) -> Vec<f64> {
    for _ in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        let diag: f64 = (0..n).map(|i| a[i * n + i].powi(2)).sum();
        if off <= 1e-30 * diag {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[i * n + i]).collect()
}

/// Number of singular values above 1e-5 of the largest.
fn numerical_rank(sketch: &Sketch) -> usize {
    let (r, c) = (sketch.rows as usize, sketch.cols as usize);
    let mut gram = vec![0.0f64; c * c];
    for i in 0..c {
        for j in 0..c {
            gram[i * c + j] = (0..r)
                .map(|k| sketch.values[k * c + i] as f64 * sketch.values[k * c + j] as f64)
                .sum();
        }
    }
    let eig = symmetric_eigenvalues(gram, c);
    let max = eig.iter().fold(0.0f64, |m, &e| m.max(e));
    eig.iter().filter(|&&e| e > 1e-10 * max).count()
}

fn low_rank(m: usize, n: usize, rank: usize, seed: u64) -> Vec<f32> {
    let u = gaussian(m * rank, seed);
    let v = gaussian(n * rank, seed + 1);
    (0..m * n)
        .map(|idx| {
            let (i, j) = (idx / n, idx % n);
            (0..rank).map(|k| u[i * rank + k] * v[j * rank + k]).sum()
        })
        .collect()
}

#[test]
fn small_matrices_are_kept_exactly_up_to_signs() {
    let (m, n) = (17, 64);
    let a = gaussian(m * n, 1);
    let s = sketch_matrix(&a, m, n);
    assert_eq!((s.rows, s.cols), (17, 64));
    for i in 0..m {
        for j in 0..n {
            let expected = sign(n, 0, i) * sign(n, 1, j) * a[i * n + j];
            assert_eq!(s.values[i * n + j], expected);
        }
    }
}

#[test]
fn signs_depend_on_the_columns_and_are_balanced() {
    let plus = (0..10_000).filter(|&j| sign(4096, 1, j) > 0.0).count();
    assert!((4_800..5_200).contains(&plus), "{plus}");
    let same = (0..1000)
        .filter(|&j| sign(4096, 1, j) == sign(1024, 1, j))
        .count();
    assert!((400..600).contains(&same), "{same}");
    let rows_and_columns = (0..1000)
        .filter(|&j| sign(4096, 0, j) == sign(4096, 1, j))
        .count();
    assert!((400..600).contains(&rows_and_columns), "{rows_and_columns}");
}

#[test]
fn the_head_sketch_of_a_grown_vocabulary_is_the_sketch_of_the_shared_rows() {
    // 200 x 16 grows to 205 x 16: both share a head of 128 rows.
    let (cols, rows, grown) = (16, 200, 205);
    assert_eq!(head_rows(rows, cols), Some(128));
    assert_eq!(head_rows(grown, cols), Some(128));
    assert_eq!(head_rows(256, cols), None, "a power of two is its own head");
    assert_eq!(head_rows(200, 100), None, "not vocabulary-shaped");
    let a = gaussian(rows * cols, 3);
    let mut b = a.clone();
    b.extend(gaussian((grown - rows) * cols, 4));
    let head = |values: &[f32], rows: usize| {
        let mut builder = SketchBuilder::new(rows, cols);
        builder.push(values);
        builder.finish_with_head().1.expect("a head")
    };
    let shared = sketch_matrix(&a[..128 * cols], 128, cols);
    assert_eq!(head(&a, rows), shared);
    assert_eq!(head(&b, grown), shared);
}

proptest! {
    /// The row fold (AVX2 when the CPU has it) against its portable twin, bit for bit, over
    /// values of any magnitude and a partial run at the end, which both leave out.
    #[test]
    fn the_row_fold_gives_the_same_bits_as_its_portable_twin(
        start in prop::collection::vec(-1e3f32..1e3, MAX_BUCKETS),
        values in prop::collection::vec(
            prop_oneof![-1.0f32..1.0, -1e6f32..1e6, -1e-6f32..1e-6],
            0..8 * MAX_BUCKETS + 20,
        ),
        seed in any::<u64>(),
    ) {
        let signs: Vec<f32> = (0..values.len())
            .map(|j| sign(seed as usize % 4096 + 1, 1, j))
            .collect();
        let mut vector: [f32; MAX_BUCKETS] = start.clone().try_into().unwrap();
        let mut portable = vector;
        fold_runs(&mut vector, &values, &signs);
        fold_runs_portable(&mut portable, &values, &signs);
        prop_assert_eq!(vector.map(f32::to_bits), portable.map(f32::to_bits));
        if values.len() < MAX_BUCKETS {
            prop_assert_eq!(portable.to_vec(), start);
        }
    }

    #[test]
    fn sketch_is_linear(m in 1usize..150, n in 1usize..150, seed in 0u64..1000) {
        let a = gaussian(m * n, seed);
        let b = gaussian(m * n, seed + 7);
        let diff: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
        let (sa, sb, sd) = (sketch_matrix(&a, m, n), sketch_matrix(&b, m, n), sketch_matrix(&diff, m, n));
        for ((x, y), d) in sa.values.iter().zip(&sb.values).zip(&sd.values) {
            prop_assert!((x - y - d).abs() <= 1e-4 * (1.0 + d.abs()), "{} - {} vs {}", x, y, d);
        }
    }

    #[test]
    fn pieces_of_any_size_give_the_same_sketch(
        m in 1usize..100, n in 1usize..200, seed in 0u64..1000,
        cuts in prop::collection::vec(0usize..20_000, 0..6),
    ) {
        let a = gaussian(m * n, seed);
        let mut bounds: Vec<usize> = cuts.iter().map(|&c| c % (m * n + 1)).collect();
        bounds.extend([0, m * n]);
        bounds.sort_unstable();
        let mut builder = SketchBuilder::new(m, n);
        for w in bounds.windows(2) {
            builder.push(&a[w[0]..w[1]]);
        }
        prop_assert_eq!(builder.finish(), sketch_matrix(&a, m, n));
    }
}

#[test]
fn sketch_norm_estimates_the_frobenius_norm_on_average() {
    let shapes = [
        (200, 300),
        (256, 256),
        (1000, 100),
        (97, 513),
        (300, 70),
        (4096 / 8, 1024 / 8),
    ];
    let mut ratios = Vec::new();
    for (seed, &(m, n)) in shapes.iter().enumerate() {
        for kind in 0..2 {
            let a = if kind == 0 {
                gaussian(m * n, seed as u64)
            } else {
                low_rank(m, n, 3, seed as u64 + 50)
            };
            let ratio = norm_sq(&sketch_matrix(&a, m, n).values) / norm_sq(&a);
            assert!((0.5..1.6).contains(&ratio), "{m}x{n} kind {kind}: {ratio}");
            ratios.push(ratio);
        }
    }
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    // Stated tolerance: the average of ||sketch||^2 / ||A||^2 over these matrices is within 15% of 1.
    assert!(
        (mean - 1.0).abs() < 0.15,
        "mean ratio {mean} from {ratios:?}"
    );
    let gaussian_only: Vec<f64> = ratios.iter().step_by(2).copied().collect();
    let mean = gaussian_only.iter().sum::<f64>() / gaussian_only.len() as f64;
    assert!(
        (mean - 1.0).abs() < 0.03,
        "dense gaussian mean ratio {mean}"
    );
}

#[test]
fn low_rank_matrices_give_low_rank_sketches() {
    for (rank, m, n) in [(1, 300, 200), (2, 128, 1000), (4, 500, 500), (8, 70, 90)] {
        let a = low_rank(m, n, rank, rank as u64);
        let sketch = sketch_matrix(&a, m, n);
        assert_eq!(numerical_rank(&sketch), rank, "{m}x{n} rank {rank}");
    }
    let full = sketch_matrix(&gaussian(300 * 200, 3), 300, 200);
    assert_eq!(numerical_rank(&full), 64, "a dense matrix fills the sketch");
}
