//! The linear sketch S_r W S_c^T of a matrix, built while its values stream past.
//!
//! Row i of the m x n matrix is added, times a sign s_r(i), into bucket i mod k_r; column j,
//! times s_c(j), into bucket j mod k_c, with k_r = min(m, 64) and k_c = min(n, 64). The signs
//! are pseudo-random ±1 from a fixed hash of (n, axis, index): every model holding a tensor
//! of that shape uses the same signs, so their sketches can be subtracted. The row count is left
//! out of the hash on purpose: the sketch of a matrix's first r rows (r >= 64) is then the same
//! whatever rows follow, so a model whose vocabulary was extended with new rows can still be
//! compared with its parent on the rows they share (the *head* sketch, [`head_rows`]).
//!
//! Why it measures differences: the sketch is linear, so sketch(A) - sketch(B) = sketch(A - B).
//! Each sketch entry is a signed sum of the entries of D = A - B that fall in its bucket pair;
//! squaring it gives the squares of those entries plus cross terms d_x d_y s_x s_y. Over random
//! signs the cross terms have mean zero, so E ||sketch(D)||_F^2 = ||D||_F^2: the sketch norm is an
//! unbiased estimate of the Frobenius distance. And since sketch(D) = S_r D S_c^T is a product
//! with D in the middle, rank(sketch(D)) <= rank(D): a low-rank (LoRA) difference stays low-rank
//! in the sketch. When m <= 64 and n <= 64 each bucket holds one row or column: the sketch is D
//! itself up to signs.

use super::Sketch;

/// Largest number of buckets per axis.
pub const MAX_BUCKETS: usize = 64;

/// The ±1 sign of row (`axis` 0) or column (`axis` 1) `index` of a matrix of `cols` columns.
pub fn sign(cols: usize, axis: u64, index: usize) -> f32 {
    let mut x = 0x9e37_79b9_7f4a_7c15u64
        .wrapping_add((cols as u64).wrapping_mul(0xc2b2_ae3d_27d4_eb4f))
        .wrapping_add(axis.wrapping_mul(0x1656_67b1_9e37_79f9))
        .wrapping_add(index as u64);
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    if x & 1 == 0 { 1.0 } else { -1.0 }
}

/// Folds whole runs of 64 columns into the 64 buckets of `fold`: `fold[k] += v[k] * s[k]` for
/// every run of `values` and `signs`, in run order (AVX2 when the CPU has it, same bits). A
/// partial run at the end is left out.
#[inline(always)]
#[allow(unsafe_code)] // the AVX2 version, after the run-time check
pub fn fold_runs(fold: &mut [f32; MAX_BUCKETS], values: &[f32], signs: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::avx2() {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { super::avx2::fold_runs(fold, values, signs) };
        return;
    }
    fold_runs_portable(fold, values, signs);
}

/// [`fold_runs`] without vector instructions: the reference the AVX2 code must match.
pub fn fold_runs_portable(fold: &mut [f32; MAX_BUCKETS], values: &[f32], signs: &[f32]) {
    let runs = values
        .chunks_exact(MAX_BUCKETS)
        .zip(signs.chunks_exact(MAX_BUCKETS));
    for (run, run_signs) in runs {
        for ((acc, &v), &s) in fold.iter_mut().zip(run).zip(run_signs) {
            *acc += v * s;
        }
    }
}

/// The rows a head sketch covers for a `rows` x `cols` matrix, if it gets one: matrices with
/// at least three times more rows than columns (embeddings and output layers, whose rows are a
/// vocabulary) get a sketch of their first 2^k rows, the largest power of two below their row
/// count. Two vocabularies of 32,000 and 32,005 tokens share a head of 16,384 rows; one grown
/// past a power of two (32,000 -> 32,768) shares none, and that tensor is not compared.
pub fn head_rows(rows: usize, cols: usize) -> Option<usize> {
    if rows < 3 * cols || rows <= MAX_BUCKETS {
        return None;
    }
    let head = 1usize << (usize::BITS - 1 - rows.leading_zeros());
    (head < rows && head >= MAX_BUCKETS).then_some(head)
}

/// Builds a sketch from the values of a row-major matrix fed in order, in pieces of any size.
pub struct SketchBuilder {
    cols: usize,
    row_buckets: usize,
    col_buckets: usize,
    col_signs: Vec<f32>,
    /// The current row folded into column buckets (signs applied), not yet added to `sums`.
    /// f32 on purpose: a bucket gathers only cols / 64 values of one row, so single precision
    /// loses nothing the stored f32 sketch keeps, and eight lanes per register make this the
    /// cheapest step of the pass; rows are added into `sums` in f64.
    row_fold: Vec<f32>,
    /// Position of the next value: its row and column.
    row: usize,
    col: usize,
    sums: Vec<f64>,
    /// Rows of the head sketch ([`head_rows`]), and the sums once that many rows are in.
    head_rows: Option<usize>,
    head: Option<Vec<f64>>,
}

impl SketchBuilder {
    pub fn new(rows: usize, cols: usize) -> Self {
        let row_buckets = rows.min(MAX_BUCKETS);
        let col_buckets = cols.min(MAX_BUCKETS);
        Self {
            cols,
            row_buckets,
            col_buckets,
            col_signs: (0..cols).map(|j| sign(cols, 1, j)).collect(),
            row_fold: vec![0.0; col_buckets],
            row: 0,
            col: 0,
            sums: vec![0.0; row_buckets * col_buckets],
            head_rows: head_rows(rows, cols),
            head: None,
        }
    }

    /// Adds the next `values` of the matrix (row-major order continues from the last call).
    #[inline(always)]
    pub fn push(&mut self, mut values: &[f32]) {
        while !values.is_empty() {
            let take = values.len().min(self.cols - self.col);
            self.fold_into_row(&values[..take]);
            values = &values[take..];
            if self.col == self.cols {
                self.finish_row();
            }
        }
    }

    /// Folds a piece of the current row, starting at column `self.col`, into `row_fold`.
    #[inline(always)]
    fn fold_into_row(&mut self, piece: &[f32]) {
        let mut col = self.col;
        let mut piece = piece;
        while !piece.is_empty() {
            let bucket = col % self.col_buckets;
            // Whole runs of 64 columns at once (the fold in AVX2 registers when the CPU has
            // them); each bucket adds the same products in the same order as the loop below,
            // so the bits agree.
            if bucket == 0 && self.col_buckets == MAX_BUCKETS && piece.len() >= MAX_BUCKETS {
                let whole = piece.len() / MAX_BUCKETS * MAX_BUCKETS;
                let fold: &mut [f32; MAX_BUCKETS] = self
                    .row_fold
                    .as_mut_slice()
                    .try_into()
                    .expect("a full-width row fold");
                fold_runs(fold, &piece[..whole], &self.col_signs[col..col + whole]);
                col += whole;
                piece = &piece[whole..];
                continue;
            }
            let take = piece.len().min(self.col_buckets - bucket);
            let fold = &mut self.row_fold[bucket..bucket + take];
            let signs = &self.col_signs[col..col + take];
            for ((acc, &v), &s) in fold.iter_mut().zip(&piece[..take]).zip(signs) {
                *acc += v * s;
            }
            col += take;
            piece = &piece[take..];
        }
        self.col = col;
    }

    #[inline(always)]
    fn finish_row(&mut self) {
        let s = sign(self.cols, 0, self.row) as f64;
        let bucket = self.row % self.row_buckets;
        let target = &mut self.sums[bucket * self.col_buckets..(bucket + 1) * self.col_buckets];
        for (t, f) in target.iter_mut().zip(self.row_fold.iter_mut()) {
            *t += s * *f as f64;
            *f = 0.0;
        }
        self.row += 1;
        self.col = 0;
        if Some(self.row) == self.head_rows {
            self.head = Some(self.sums.clone());
        }
    }

    pub fn finish(self) -> Sketch {
        self.finish_with_head().0
    }

    /// The sketch, and the head sketch when the matrix has one.
    pub fn finish_with_head(self) -> (Sketch, Option<Sketch>) {
        let sketch = |sums: &[f64]| Sketch {
            rows: self.row_buckets as u32,
            cols: self.col_buckets as u32,
            values: sums.iter().map(|&v| v as f32).collect(),
        };
        (sketch(&self.sums), self.head.as_deref().map(sketch))
    }
}

/// The sketch of a whole row-major `rows` x `cols` matrix.
pub fn sketch_matrix(values: &[f32], rows: usize, cols: usize) -> Sketch {
    let mut builder = SketchBuilder::new(rows, cols);
    builder.push(values);
    builder.finish()
}
