//! Small dense linear algebra for the rank of a difference of sketches (at most 64 x 64).
//!
//! A LoRA-style fine-tune changes a matrix by a product of two thin factors, so the difference
//! of the two sketches has low rank; a full fine-tune or quantisation noise spreads over every
//! direction. Finding that out needs singular values, but only the large ones: a column-pivoted
//! Gram-Schmidt pass stops as soon as what is left is negligible (cheap for a low-rank
//! difference) or as soon as the rank is already too high to be called low (cheap for a full
//! one), and only the small triangular factor it leaves goes through a Jacobi eigen solver.

/// Eigenvalues of a symmetric `n x n` matrix (row-major), largest first, by cyclic Jacobi
/// rotations. Only the upper triangle is read.
pub fn symmetric_eigenvalues(matrix: &[f64], n: usize) -> Vec<f64> {
    debug_assert_eq!(matrix.len(), n * n);
    let mut a = matrix.to_vec();
    for i in 0..n {
        for j in 0..i {
            a[i * n + j] = a[j * n + i];
        }
    }
    let scale: f64 = a.iter().map(|v| v * v).sum::<f64>().sqrt();
    if scale > 0.0 {
        for _sweep in 0..64 {
            let off: f64 = (0..n)
                .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
                .map(|(i, j)| a[i * n + j] * a[i * n + j])
                .sum();
            if off.sqrt() <= 1e-15 * scale {
                break;
            }
            for p in 0..n {
                for q in p + 1..n {
                    rotate(&mut a, n, p, q);
                }
            }
        }
    }
    let mut values: Vec<f64> = (0..n).map(|i| a[i * n + i]).collect();
    values.sort_by(|x, y| y.total_cmp(x));
    values
}

/// One Jacobi rotation that zeroes `a[p][q]` (and `a[q][p]`) of a full symmetric matrix.
fn rotate(a: &mut [f64], n: usize, p: usize, q: usize) {
    let apq = a[p * n + q];
    if apq == 0.0 {
        return;
    }
    let app = a[p * n + p];
    let aqq = a[q * n + q];
    let theta = (aqq - app) / (2.0 * apq);
    let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
    let t = if theta == 0.0 { 1.0 } else { t };
    let c = 1.0 / (t * t + 1.0).sqrt();
    let s = t * c;
    for k in 0..n {
        let akp = a[k * n + p];
        let akq = a[k * n + q];
        a[k * n + p] = c * akp - s * akq;
        a[k * n + q] = s * akp + c * akq;
    }
    for k in 0..n {
        let apk = a[p * n + k];
        let aqk = a[q * n + k];
        a[p * n + k] = c * apk - s * aqk;
        a[q * n + k] = s * apk + c * aqk;
    }
}

/// Singular values of a `rows x cols` matrix (row-major), largest first: square roots of the
/// eigenvalues of the smaller Gram matrix.
pub fn singular_values(matrix: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    debug_assert_eq!(matrix.len(), rows * cols);
    let (small, large, by_rows) = if rows <= cols {
        (rows, cols, true)
    } else {
        (cols, rows, false)
    };
    let at = |s: usize, l: usize| {
        if by_rows {
            matrix[s * cols + l]
        } else {
            matrix[l * cols + s]
        }
    };
    let mut gram = vec![0.0; small * small];
    for i in 0..small {
        for j in i..small {
            let dot: f64 = (0..large).map(|l| at(i, l) * at(j, l)).sum();
            gram[i * small + j] = dot;
            gram[j * small + i] = dot;
        }
    }
    symmetric_eigenvalues(&gram, small)
        .into_iter()
        .map(|v| v.max(0.0).sqrt())
        .collect()
}

/// The numerical rank of a matrix, or the news that it is above a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankProbe {
    /// The count of singular values above the tolerance.
    Rank(u32),
    /// More than the limit: the search stopped early.
    Above(u32),
}

/// What counts toward a numerical rank.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankRule {
    /// Singular values at or below this share of the largest do not count.
    pub tolerance: f64,
    /// Nor do those at or below this absolute level: the largest singular value that noise of
    /// known size (storage rounding) would produce.
    pub noise_floor: f64,
    /// Give up once more than this many directions are needed.
    pub limit: usize,
}

/// Numerical rank of a `rows x cols` matrix (row-major) under `rule`, found by column-pivoted
/// Gram-Schmidt that stops when what is left cannot count, or gives up past the limit.
/// A zero matrix has rank 0.
pub fn numerical_rank(matrix: &[f64], rows: usize, cols: usize, rule: RankRule) -> RankProbe {
    debug_assert_eq!(matrix.len(), rows * cols);
    let total = norm_sq(matrix);
    if total == 0.0 || !total.is_finite() {
        return RankProbe::Rank(0);
    }
    // Column-major in one buffer: every step below walks whole columns, and contiguous columns
    // let the dot products and updates run in vector registers.
    let mut columns = vec![0.0; rows * cols];
    for (i, row) in matrix.chunks_exact(cols).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            columns[j * rows + i] = v;
        }
    }
    // Every singular value left out is at most the Frobenius norm of the residual, and
    // sigma_max >= ||M||_F / sqrt(min(rows, cols)): stopping below this keeps only values that
    // could still count.
    let smallest = rows.min(cols) as f64;
    let stop = (rule.tolerance * rule.tolerance / smallest) * total * 1e-2;
    let floor_sq = rule.noise_floor * rule.noise_floor;
    let mut basis: Vec<f64> = Vec::with_capacity(rows * rule.limit.min(cols));
    let mut remaining: Vec<usize> = (0..cols).collect();
    let mut norms: Vec<f64> = columns.chunks_exact(rows).map(norm_sq).collect();
    // Each column's squared norm when last summed in full: a downdated norm far below it has
    // lost its digits to cancellation and is summed again (as LAPACK's pivoted QR does).
    let mut exact = norms.clone();
    let mut q = vec![0.0; rows];
    let mut projections: Vec<f64> = Vec::with_capacity(cols);
    loop {
        let residual: f64 = remaining.iter().map(|&j| norms[j]).sum();
        if residual <= stop || residual <= floor_sq || remaining.is_empty() {
            break;
        }
        // Noise spread over a large matrix has a Frobenius norm above the floor while its
        // largest singular value is below it; when the residual is that small, ask the
        // spectrum (power iteration underestimates a little, hence the margin).
        if residual <= 4.0 * floor_sq
            && 1.2 * largest_singular_sq(&columns, rows, &remaining) <= floor_sq
        {
            break;
        }
        if basis.len() >= rule.limit * rows {
            return RankProbe::Above(rule.limit as u32);
        }
        let mut slot = 0;
        for s in 1..remaining.len() {
            if norms[remaining[s]] > norms[remaining[slot]] {
                slot = s;
            }
        }
        let pivot = remaining.swap_remove(slot);
        q.copy_from_slice(&columns[pivot * rows..(pivot + 1) * rows]);
        // A second pass of orthogonalisation keeps the basis orthogonal to working precision.
        for b in basis.chunks_exact(rows) {
            let d = dot(b, &q);
            axpy(-d, b, &mut q);
        }
        let n = norm_sq(&q).sqrt();
        if n == 0.0 {
            continue;
        }
        q.iter_mut().for_each(|x| *x /= n);
        // Two columns per pass over q: their sums are independent, so twice as many additions
        // are in flight, and each column's sum is the same as `dot` gives.
        projections.clear();
        for pair in remaining.chunks(2) {
            let column = |j: usize| &columns[j * rows..(j + 1) * rows];
            match *pair {
                [j, k] => {
                    let (dj, dk) = dot_pair(&q, column(j), column(k));
                    projections.extend([dj, dk]);
                }
                _ => projections.push(dot(&q, column(pair[0]))),
            }
        }
        for (&j, &d) in remaining.iter().zip(&projections) {
            let column = &mut columns[j * rows..(j + 1) * rows];
            axpy(-d, &q, column);
            // Removing the part along a unit vector takes d^2 off the squared norm.
            norms[j] -= d * d;
            if norms[j] <= RECOMPUTE_BELOW * exact[j] {
                norms[j] = norm_sq(column);
                exact[j] = norms[j];
            }
        }
        basis.extend_from_slice(&q);
    }
    // M ~ Q R with R = Q^T M (k x cols); the singular values of R are those of M that matter.
    let k = basis.len() / rows;
    let mut r = vec![0.0; k * cols];
    for (i, q) in basis.chunks_exact(rows).enumerate() {
        for j in 0..cols {
            r[i * cols + j] = (0..rows).map(|row| q[row] * matrix[row * cols + j]).sum();
        }
    }
    let values = singular_values(&r, k, cols);
    let top = values.first().copied().unwrap_or(0.0);
    let threshold = (rule.tolerance * top).max(rule.noise_floor);
    let rank = values.iter().filter(|&&v| v > threshold).count();
    RankProbe::Rank(rank as u32)
}

/// The square of the largest singular value of the chosen columns (of a column-major buffer
/// with `rows` rows), by power iteration from their norms (a start that is never orthogonal to
/// the top direction of a nonzero matrix).
fn largest_singular_sq(columns: &[f64], rows: usize, chosen: &[usize]) -> f64 {
    let column = |j: usize| &columns[j * rows..(j + 1) * rows];
    let mut v: Vec<f64> = chosen.iter().map(|&j| norm_sq(column(j)).sqrt()).collect();
    let mut estimate = 0.0;
    for _ in 0..12 {
        let scale = norm_sq(&v).sqrt();
        if scale == 0.0 {
            return 0.0;
        }
        v.iter_mut().for_each(|x| *x /= scale);
        let mut u = vec![0.0; rows];
        for (&j, &weight) in chosen.iter().zip(&v) {
            axpy(weight, column(j), &mut u);
        }
        estimate = norm_sq(&u);
        v = chosen.iter().map(|&j| dot(column(j), &u)).collect();
    }
    estimate
}

/// A downdated squared norm below this share of the last one summed in full keeps too few
/// correct digits (about half of f64's are left at the square root of its epsilon).
const RECOMPUTE_BELOW: f64 = 1.5e-8;

/// Lanes of independent partial sums: a single running sum is a chain the compiler may not
/// reorder, four of them fill a vector register.
const LANES: usize = 4;

/// Dot product, summed in four interleaved partial sums, in f64: f32 values (the sketches as
/// fingerprints store them) are widened before they are multiplied, so the sum has the bits it
/// would have on widened copies.
pub fn dot<T: Copy + Into<f64>>(a: &[T], b: &[T]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut sums = [0.0; LANES];
    let (a_body, a_tail) = a.split_at(a.len() - a.len() % LANES);
    let (b_body, b_tail) = b.split_at(a_body.len());
    for (x, y) in a_body.chunks_exact(LANES).zip(b_body.chunks_exact(LANES)) {
        for lane in 0..LANES {
            sums[lane] += x[lane].into() * y[lane].into();
        }
    }
    let tail: f64 = a_tail
        .iter()
        .zip(b_tail)
        .map(|(&x, &y)| x.into() * y.into())
        .sum();
    (sums[0] + sums[1]) + (sums[2] + sums[3]) + tail
}

/// `(dot(q, a), dot(q, b))` in one pass, each summed exactly as [`dot`] sums it.
fn dot_pair(q: &[f64], a: &[f64], b: &[f64]) -> (f64, f64) {
    debug_assert!(q.len() == a.len() && q.len() == b.len());
    let body = q.len() - q.len() % LANES;
    let (mut sa, mut sb) = ([0.0; LANES], [0.0; LANES]);
    for ((x, y), z) in q[..body]
        .chunks_exact(LANES)
        .zip(a[..body].chunks_exact(LANES))
        .zip(b[..body].chunks_exact(LANES))
    {
        for lane in 0..LANES {
            sa[lane] += x[lane] * y[lane];
            sb[lane] += x[lane] * z[lane];
        }
    }
    let tail_a: f64 = q[body..].iter().zip(&a[body..]).map(|(x, y)| x * y).sum();
    let tail_b: f64 = q[body..].iter().zip(&b[body..]).map(|(x, y)| x * y).sum();
    (
        (sa[0] + sa[1]) + (sa[2] + sa[3]) + tail_a,
        (sb[0] + sb[1]) + (sb[2] + sb[3]) + tail_b,
    )
}

fn norm_sq(a: &[f64]) -> f64 {
    dot(a, a)
}

/// `y += alpha * x`.
fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += alpha * x);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_matrix(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> Vec<f64> {
        (0..rows * cols)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect()
    }

    #[test]
    fn dot_of_f32_gives_the_bits_of_dot_on_widened_copies() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for len in [0, 1, 3, 4, 7, 64, 4095, 4096] {
            let a: Vec<f32> = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
            let b: Vec<f32> = (0..len).map(|_| rng.random_range(-1e3..1e3)).collect();
            let wide = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
            assert_eq!(
                dot(&a, &b).to_bits(),
                dot(&wide(&a), &wide(&b)).to_bits(),
                "length {len}"
            );
        }
    }

    fn product(a: &[f64], b: &[f64], rows: usize, inner: usize, cols: usize) -> Vec<f64> {
        let mut out = vec![0.0; rows * cols];
        for i in 0..rows {
            for k in 0..inner {
                for j in 0..cols {
                    out[i * cols + j] += a[i * inner + k] * b[k * cols + j];
                }
            }
        }
        out
    }

    fn rule(tolerance: f64, limit: usize) -> RankRule {
        RankRule {
            tolerance,
            noise_floor: 0.0,
            limit,
        }
    }

    #[test]
    fn noise_below_the_floor_does_not_count_but_counts_without_it() {
        // A rank-3 signal plus noise of 1% of its entries' size: full rank by the relative rule
        // alone, rank 3 once the noise floor (3 x the noise's largest singular value) applies.
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let a = random_matrix(&mut rng, 64, 3);
        let b = random_matrix(&mut rng, 3, 64);
        let mut m = product(&a, &b, 64, 3, 64);
        let sigma = 0.01;
        m.iter_mut()
            .for_each(|v| *v += sigma * rng.random_range(-1.0..1.0) * 3f64.sqrt());
        assert_eq!(
            numerical_rank(&m, 64, 64, rule(1e-3, 32)),
            RankProbe::Above(32)
        );
        let floor = 3.0 * sigma * (8.0 + 8.0);
        let with_floor = RankRule {
            tolerance: 1e-3,
            noise_floor: floor,
            limit: 32,
        };
        assert_eq!(numerical_rank(&m, 64, 64, with_floor), RankProbe::Rank(3));
    }

    #[test]
    fn eigenvalues_of_a_diagonal_matrix_are_its_diagonal_sorted() {
        let m = [3.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 7.0];
        assert_eq!(symmetric_eigenvalues(&m, 3), vec![7.0, 3.0, -1.0]);
    }

    #[test]
    fn eigenvalues_of_a_known_two_by_two() {
        // [[2, 1], [1, 2]] has eigenvalues 3 and 1.
        let values = symmetric_eigenvalues(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((values[0] - 3.0).abs() < 1e-12 && (values[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn eigenvalues_keep_trace_and_frobenius_norm() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 20;
        let b = random_matrix(&mut rng, n, n);
        let mut s = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                s[i * n + j] = b[i * n + j] + b[j * n + i];
            }
        }
        let values = symmetric_eigenvalues(&s, n);
        let trace: f64 = (0..n).map(|i| s[i * n + i]).sum();
        let frob: f64 = s.iter().map(|v| v * v).sum();
        assert!((values.iter().sum::<f64>() - trace).abs() < 1e-9);
        assert!((values.iter().map(|v| v * v).sum::<f64>() - frob).abs() < 1e-8 * frob);
    }

    #[test]
    fn singular_values_of_a_scaled_permutation() {
        // Rows scaled by 5 and 2 of a 2 x 3 selection: singular values 5 and 2.
        let m = [0.0, 5.0, 0.0, 0.0, 0.0, -2.0];
        let values = singular_values(&m, 2, 3);
        assert!((values[0] - 5.0).abs() < 1e-12 && (values[1] - 2.0).abs() < 1e-12);
        let tall = singular_values(&[0.0, 0.0, 5.0, 0.0, 0.0, -2.0], 3, 2);
        assert!((tall[0] - 5.0).abs() < 1e-12 && (tall[1] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn rank_of_products_of_thin_factors_is_their_width() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for width in [1usize, 3, 8, 16] {
            let a = random_matrix(&mut rng, 64, width);
            let b = random_matrix(&mut rng, width, 48);
            let m = product(&a, &b, 64, width, 48);
            assert_eq!(
                numerical_rank(&m, 64, 48, rule(1e-6, 24)),
                RankProbe::Rank(width as u32)
            );
        }
    }

    #[test]
    fn a_full_random_matrix_is_above_the_limit() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let m = random_matrix(&mut rng, 64, 64);
        assert_eq!(
            numerical_rank(&m, 64, 64, rule(1e-6, 32)),
            RankProbe::Above(32)
        );
        assert_eq!(
            numerical_rank(&m, 64, 64, rule(1e-6, 64)),
            RankProbe::Rank(64)
        );
    }

    #[test]
    fn tiny_noise_below_the_tolerance_does_not_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let a = random_matrix(&mut rng, 32, 4);
        let b = random_matrix(&mut rng, 4, 32);
        let mut m = product(&a, &b, 32, 4, 32);
        m.iter_mut()
            .for_each(|v| *v += rng.random_range(-1e-9..1e-9));
        assert_eq!(
            numerical_rank(&m, 32, 32, rule(1e-4, 16)),
            RankProbe::Rank(4)
        );
    }

    #[test]
    fn degenerate_matrices_have_rank_zero_or_one() {
        assert_eq!(
            numerical_rank(&[0.0; 16], 4, 4, rule(1e-6, 4)),
            RankProbe::Rank(0)
        );
        assert_eq!(
            numerical_rank(&[2.5], 1, 1, rule(1e-6, 1)),
            RankProbe::Rank(1)
        );
        assert_eq!(singular_values(&[], 0, 0), Vec::<f64>::new());
    }
}
