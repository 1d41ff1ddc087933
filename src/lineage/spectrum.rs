//! Small dense linear algebra for the shape of a difference of sketches (at most 64 x 64).
//!
//! A LoRA-style fine-tune changes a matrix by a product of two thin factors, so the difference
//! of the two sketches has low rank; a full fine-tune, quantisation or storage rounding spreads
//! energy over every direction. [`energy_rank`] asks how many directions hold all but a given
//! energy: a column-pivoted Gram-Schmidt pass takes the column with most energy left at each
//! step and stops as soon as what is left is small enough (cheap for a low-rank difference) or
//! the count passes a limit (cheap for a full one). Energy, not singular values, is the measure,
//! because the noise that storage rounding adds is known in energy (`FloatDtype::rounding_energy`).

/// How many directions a `rows x cols` matrix (row-major) needs before the energy left (the
/// squared Frobenius norm of what they do not explain) is at most `floor`; `None` when more than
/// `limit` are needed. Column-pivoted Gram-Schmidt: each step takes the column with most energy
/// left as the next direction. It may need a few more directions than the singular value
/// decomposition would for the same energy, never fewer, so a low count is trustworthy. A matrix
/// whose whole energy is within the floor needs none.
pub fn energy_rank(
    matrix: &[f64],
    rows: usize,
    cols: usize,
    floor: f64,
    limit: usize,
) -> Option<u32> {
    debug_assert_eq!(matrix.len(), rows * cols);
    let total = norm_sq(matrix);
    if !total.is_finite() || total <= floor {
        return Some(0);
    }
    // Column-major in one buffer: every step walks whole columns, and contiguous columns let the
    // dot products and updates run in vector registers.
    let mut columns = vec![0.0; rows * cols];
    for (i, row) in matrix.chunks_exact(cols).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            columns[j * rows + i] = v;
        }
    }
    let mut remaining: Vec<usize> = (0..cols).collect();
    let mut norms: Vec<f64> = columns.chunks_exact(rows).map(norm_sq).collect();
    // Each column's squared norm when last summed in full: a downdated norm far below it has
    // lost its digits to cancellation and is summed again (as LAPACK's pivoted QR does).
    let mut exact = norms.clone();
    let mut basis: Vec<f64> = Vec::with_capacity(rows * limit.min(cols));
    let mut q = vec![0.0; rows];
    let mut projections: Vec<f64> = Vec::with_capacity(cols);
    let mut directions = 0u32;
    loop {
        let residual: f64 = remaining.iter().map(|&j| norms[j]).sum();
        if residual <= floor || remaining.is_empty() {
            return Some(directions);
        }
        if directions as usize >= limit {
            return None;
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
        directions += 1;
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
}

/// How many directions a `rows x cols` matrix (row-major) spreads its energy over: the
/// participation ratio (sum s^2)^2 / sum s^4 of its singular values s, with `energy` standing in
/// for sum s^2 (the caller takes storage noise out of it). One direction gives 1, k equal ones
/// give k. sum s^4 is the squared Frobenius norm of the Gram matrix over the shorter side, so no
/// decomposition is needed; and isotropic noise of small energy barely adds to it, which is why
/// this ratio rather than an entropy of the spectrum. `None` for a zero matrix.
pub fn participation(matrix: &[f64], rows: usize, cols: usize, energy: f64) -> Option<f64> {
    debug_assert_eq!(matrix.len(), rows * cols);
    let quartic = gram_quartic(matrix, rows, cols);
    (quartic > 0.0 && quartic.is_finite() && energy > 0.0)
        .then(|| (energy * energy / quartic).clamp(1.0, rows.min(cols) as f64))
}

/// Rows and columns of the Gram blocks [`gram_quartic`] computes at a time.
pub(super) const BLOCK: usize = 4;
pub(super) const BLOCK_COLS: usize = 16;

/// The squared Frobenius norm of the Gram matrix of a `rows x cols` matrix over its shorter
/// side, which is the sum of the fourth powers of its singular values.
///
/// The values are first laid out long side by (padded) short side, so that the Gram entries
/// (i, j) of a 4 x 16 block are 64 running sums over one contiguous row per step: 20 loads feed
/// 64 multiply-adds, where a dot product per entry needs 2 loads for each (the breadth is computed
/// for every changed matrix of every candidate pair, and this kept recovery of 1,000 models
/// near its old time).
fn gram_quartic(matrix: &[f64], rows: usize, cols: usize) -> f64 {
    let (short, long) = (rows.min(cols), rows.max(cols));
    let width = short.div_ceil(BLOCK_COLS) * BLOCK_COLS;
    // In f32, twice the lanes per register: a ratio of energies needs no more than its six
    // digits (the sketches themselves are stored in f32).
    let mut laid = vec![0.0f32; long * width];
    if cols <= rows {
        for (line, row) in laid.chunks_exact_mut(width).zip(matrix.chunks_exact(cols)) {
            line.iter_mut()
                .zip(row)
                .for_each(|(out, &v)| *out = v as f32);
        }
    } else {
        for (r, row) in matrix.chunks_exact(cols).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                laid[c * width + r] = v as f32;
            }
        }
    }
    let (mut below, mut diagonal) = (0.0f64, 0.0f64);
    for bi in (0..short).step_by(BLOCK) {
        // Column blocks up to the diagonal; the entries above it are skipped below.
        for bj in (0..=bi).step_by(BLOCK_COLS) {
            let acc = gram_block(&laid, width, bi, bj);
            for (p, row) in acc.iter().enumerate() {
                // Entries left of the diagonal stand for themselves and their mirrors.
                let left = (bi + p).saturating_sub(bj).min(BLOCK_COLS);
                below += row[..left]
                    .iter()
                    .map(|&g| f64::from(g) * f64::from(g))
                    .sum::<f64>();
                if left < BLOCK_COLS {
                    diagonal += f64::from(row[left]) * f64::from(row[left]);
                }
            }
        }
    }
    2.0 * below + diagonal
}

/// One block of the Gram matrix: `acc[p][q]` sums `line[bi + p] * line[bj + q]` over the lines
/// (AVX2 when the CPU has it, same bits).
#[allow(unsafe_code)] // the AVX2 version, after the run-time check
fn gram_block(laid: &[f32], width: usize, bi: usize, bj: usize) -> [[f32; BLOCK_COLS]; BLOCK] {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::avx2() {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { super::avx2::gram_block(laid, width, bi, bj) };
    }
    gram_block_portable(laid, width, bi, bj)
}

/// [`gram_block`] without vector instructions: the reference the AVX2 code must match.
pub fn gram_block_portable(
    laid: &[f32],
    width: usize,
    bi: usize,
    bj: usize,
) -> [[f32; BLOCK_COLS]; BLOCK] {
    let mut acc = [[0.0f32; BLOCK_COLS]; BLOCK];
    for line in laid.chunks_exact(width) {
        let (a, b) = (&line[bi..bi + BLOCK], &line[bj..bj + BLOCK_COLS]);
        for p in 0..BLOCK {
            for q in 0..BLOCK_COLS {
                acc[p][q] += a[p] * b[q];
            }
        }
    }
    acc
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

    /// A random `rows x cols` matrix of rank `inner`: the product of two random thin factors.
    fn random_low_rank(rng: &mut ChaCha8Rng, rows: usize, inner: usize, cols: usize) -> Vec<f64> {
        let (a, b) = (
            random_matrix(rng, rows, inner),
            random_matrix(rng, inner, cols),
        );
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
                "len {len}"
            );
        }
    }

    #[test]
    fn products_of_thin_factors_need_their_width() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (rows, cols, width) in [(64, 64, 1), (64, 64, 8), (40, 64, 5), (64, 17, 3)] {
            let m = random_low_rank(&mut rng, rows, width, cols);
            let floor = 1e-9 * norm_sq(&m);
            assert_eq!(energy_rank(&m, rows, cols, floor, 32), Some(width as u32));
            assert_eq!(energy_rank(&m, rows, cols, floor, width - 1), None);
        }
    }

    #[test]
    fn noise_within_the_floor_needs_no_direction() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let noise = random_matrix(&mut rng, 64, 64);
        let energy = norm_sq(&noise);
        assert_eq!(energy_rank(&noise, 64, 64, energy * 1.01, 16), Some(0));
        assert_eq!(energy_rank(&noise, 64, 64, energy * 0.5, 16), None);
        // A rank-2 signal on top of noise: two directions leave the noise and a little of the
        // signal (a pivot column carries its share of the noise, so it misses the signal's
        // direction slightly).
        let signal = random_low_rank(&mut rng, 64, 2, 64);
        let scaled: Vec<f64> = signal
            .iter()
            .zip(&noise)
            .map(|(s, n)| 30.0 * s + n)
            .collect();
        let signal_energy = 900.0 * norm_sq(&signal);
        assert_eq!(
            energy_rank(&scaled, 64, 64, energy + 0.02 * signal_energy, 16),
            Some(2)
        );
    }

    #[test]
    fn degenerate_matrices_need_no_direction_or_one() {
        assert_eq!(energy_rank(&[0.0; 12], 3, 4, 0.0, 2), Some(0));
        assert_eq!(energy_rank(&[f64::NAN; 4], 2, 2, 0.0, 2), Some(0));
        let mut one = vec![0.0; 16];
        one[5] = 2.0;
        assert_eq!(energy_rank(&one, 4, 4, 0.0, 2), Some(1));
    }

    /// `m` transposed, row-major.
    fn transposed(m: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        (0..cols)
            .flat_map(|j| (0..rows).map(move |i| m[i * cols + j]))
            .collect()
    }

    #[test]
    fn participation_counts_equal_directions_and_reads_either_side() {
        // k orthogonal directions of equal energy: e_i e_i^T for i < k.
        for k in [1usize, 3, 16] {
            let mut m = vec![0.0; 32 * 24];
            for i in 0..k {
                m[i * 24 + i] = 2.0;
            }
            let energy = norm_sq(&m);
            let ratio = participation(&m, 32, 24, energy).unwrap();
            assert!((ratio - k as f64).abs() < 1e-9, "k = {k}: {ratio}");
        }
        // The same ratio from the short side and the long side.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let m = random_low_rank(&mut rng, 40, 3, 16);
        let energy = norm_sq(&m);
        let tall = participation(&m, 40, 16, energy).unwrap();
        let wide = participation(&transposed(&m, 40, 16), 16, 40, energy).unwrap();
        assert!((tall - wide).abs() < 1e-9 * tall);
        assert!((1.0..=3.0).contains(&tall));
        assert_eq!(participation(&[0.0; 16], 4, 4, 0.0), None);
    }

    #[test]
    fn a_sum_of_two_independent_changes_spreads_wider_than_either() {
        // Why a link's cost grows with breadth: the difference between two siblings is the sum
        // of two runs' changes, which share no directions.
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let mut change = || random_low_rank(&mut rng, 64, 4, 64);
        let (a, b) = (change(), change());
        let sum: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        let ratio = |m: &[f64]| participation(m, 64, 64, norm_sq(m)).unwrap();
        assert!(ratio(&sum) > 1.5 * ratio(&a).max(ratio(&b)));
    }

    #[test]
    fn storage_noise_taken_out_of_the_energy_leaves_the_ratio_nearly_alone() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let signal = random_low_rank(&mut rng, 64, 2, 64);
        let noise: Vec<f64> = random_matrix(&mut rng, 64, 64)
            .iter()
            .map(|v| 0.3 * v)
            .collect();
        let noisy: Vec<f64> = signal.iter().zip(&noise).map(|(s, n)| s + n).collect();
        let clean = participation(&signal, 64, 64, norm_sq(&signal)).unwrap();
        let corrected = participation(&noisy, 64, 64, norm_sq(&noisy) - norm_sq(&noise)).unwrap();
        let uncorrected = participation(&noisy, 64, 64, norm_sq(&noisy)).unwrap();
        assert!(
            (corrected - clean).abs() < 0.1 * clean,
            "{corrected} vs {clean}"
        );
        assert!(uncorrected > corrected);
    }

    #[test]
    fn the_vector_gram_block_gives_the_portable_bits() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        let (lines, width) = (37, 32);
        let laid: Vec<f32> = random_matrix(&mut rng, lines, width)
            .iter()
            .map(|&v| v as f32)
            .collect();
        for (bi, bj) in [(0, 0), (4, 0), (20, 16), (16, 16)] {
            let portable = gram_block_portable(&laid, width, bi, bj);
            assert_eq!(gram_block(&laid, width, bi, bj), portable);
            let expected: f64 = (0..lines)
                .map(|k| f64::from(laid[k * width + bi + 1] * laid[k * width + bj + 2]))
                .sum();
            let got = f64::from(portable[1][2]);
            assert!((got - expected).abs() < 1e-5 * expected.abs().max(1.0));
        }
    }
}
