//! Stored bytes to values in the original row-major order, for the tensors that are not plain
//! floats stored in order: GGUF block types are dequantised, and the rows llama.cpp interleaved
//! for its rope are put back in place (one head of rows is held at a time). Plain float tensors
//! do not need this: the measure layer decodes them in its own fused pass.
//!
//! Values come out in pieces of [`PIECE_VALUES`] counted from the start of the tensor (the last
//! one shorter), the same pieces the fused pass cuts stored floats into, so a re-ordered F32
//! tensor sums in the same order, to the same bits, as the same values stored in order.

use super::dtype::Dtype;
use super::tensor::{RowOrder, TensorInfo};

/// Values handed on at a time: 16 KB of f32, a whole number of blocks of every block type.
pub const PIECE_VALUES: usize = 4096;

/// Decodes one tensor's stored bytes, chunk after chunk.
pub struct ValueDecoder {
    dtype: Dtype,
    heads: Option<HeadRows>,
    /// The values of the stored piece being decoded.
    values: Vec<f32>,
    /// Values waiting to fill the next output piece.
    piece: Vec<f32>,
}

/// One head of interleaved rows, filled and then emitted in the original order.
struct HeadRows {
    rows: usize,
    cols: usize,
    buffer: Vec<f32>,
    filled: usize,
}

impl ValueDecoder {
    /// A decoder for `tensor`; a tensor whose values are not read (integers) gives none.
    pub fn new(tensor: &TensorInfo) -> Self {
        let heads = match tensor.row_order {
            RowOrder::RopeInterleaved { heads } if tensor.shape.len() == 2 && heads > 0 => {
                let rows = tensor.shape[0] / heads;
                let cols = tensor.shape[1];
                Some(HeadRows {
                    rows,
                    cols,
                    buffer: vec![0.0; rows * cols],
                    filled: 0,
                })
            }
            _ => None,
        };
        Self {
            dtype: tensor.dtype.clone(),
            heads,
            values: Vec::with_capacity(PIECE_VALUES),
            piece: Vec::with_capacity(PIECE_VALUES),
        }
    }

    /// Decodes `stored` (whole elements or blocks, the next bytes of the tensor) and hands the
    /// values to `each` in the original order, in whole pieces; [`Self::finish`] hands on the
    /// rest.
    pub fn push(&mut self, stored: &[u8], each: &mut impl FnMut(&[f32])) {
        let piece_bytes = match &self.dtype {
            Dtype::Quantized(quant) => PIECE_VALUES / quant.block_len() * quant.block_bytes(),
            other => PIECE_VALUES * other.value_dtype().map_or(4, |f| f.size()),
        };
        for piece in stored.chunks(piece_bytes) {
            match &self.dtype {
                Dtype::Float(float) => float.decode_into(piece, &mut self.values),
                Dtype::Quantized(quant) => quant.dequantize_into(piece, &mut self.values),
                Dtype::Other { .. } => self.values.clear(),
            }
            let piece = &mut self.piece;
            let mut emit = |values: &[f32]| fill_pieces(piece, values, each);
            match &mut self.heads {
                None => emit(&self.values),
                Some(heads) => heads.push(&self.values, &mut emit),
            }
        }
    }

    /// Hands on the values still waiting (the tensor's last, shorter piece).
    pub fn finish(&mut self, each: &mut impl FnMut(&[f32])) {
        if !self.piece.is_empty() {
            each(&self.piece);
            self.piece.clear();
        }
    }
}

/// Appends `values` to `piece`, handing on every piece that fills up.
fn fill_pieces(piece: &mut Vec<f32>, mut values: &[f32], each: &mut impl FnMut(&[f32])) {
    while !values.is_empty() {
        if piece.is_empty() && values.len() >= PIECE_VALUES {
            each(&values[..PIECE_VALUES]);
            values = &values[PIECE_VALUES..];
            continue;
        }
        let taken = (PIECE_VALUES - piece.len()).min(values.len());
        piece.extend_from_slice(&values[..taken]);
        values = &values[taken..];
        if piece.len() == PIECE_VALUES {
            each(piece);
            piece.clear();
        }
    }
}

impl HeadRows {
    fn push(&mut self, mut values: &[f32], each: &mut impl FnMut(&[f32])) {
        while !values.is_empty() {
            let room = self.buffer.len() - self.filled;
            let taken = room.min(values.len());
            self.buffer[self.filled..self.filled + taken].copy_from_slice(&values[..taken]);
            self.filled += taken;
            values = &values[taken..];
            if self.filled == self.buffer.len() {
                self.emit(each);
            }
        }
    }

    /// Original row `s * rows / 2 + i` of a head was stored as row `2i + s`.
    fn emit(&mut self, each: &mut impl FnMut(&[f32])) {
        let half = self.rows / 2;
        for row in 0..self.rows {
            let stored = 2 * (row % half) + row / half;
            each(&self.buffer[stored * self.cols..(stored + 1) * self.cols]);
        }
        self.filled = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::FloatDtype;

    fn f32_tensor(shape: Vec<usize>, row_order: RowOrder) -> TensorInfo {
        TensorInfo {
            name: "t".into(),
            dtype: Dtype::Float(FloatDtype::F32),
            start: 0,
            end: (shape.iter().product::<usize>() * 4) as u64,
            shape,
            row_order,
        }
    }

    fn bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn interleaved_rows_come_back_in_the_original_order() {
        // Two heads of four rows of one value: llama.cpp stores head rows [0, 2, 1, 3].
        let tensor = f32_tensor(vec![8, 1], RowOrder::RopeInterleaved { heads: 2 });
        let stored = [0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0];
        let mut decoder = ValueDecoder::new(&tensor);
        let mut out = Vec::new();
        // Fed a value at a time, so heads are completed across calls.
        for value in stored {
            decoder.push(&bytes(&[value]), &mut |v: &[f32]| out.extend_from_slice(v));
        }
        decoder.finish(&mut |v: &[f32]| out.extend_from_slice(v));
        assert_eq!(out, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
    }

    #[test]
    fn rows_in_order_pass_through() {
        let tensor = f32_tensor(vec![2, 3], RowOrder::AsStored);
        let values = [1.0, -2.0, 3.5, 0.25, 8.0, -1.0];
        let mut decoder = ValueDecoder::new(&tensor);
        let mut out = Vec::new();
        decoder.push(&bytes(&values), &mut |v: &[f32]| out.extend_from_slice(v));
        decoder.finish(&mut |v: &[f32]| out.extend_from_slice(v));
        assert_eq!(out, values);
    }
}

#[cfg(test)]
mod piece_tests {
    use super::*;

    #[test]
    fn pieces_are_cut_from_the_start_of_the_tensor_whatever_the_input_sizes() {
        let mut piece = Vec::new();
        let mut sizes = Vec::new();
        let mut each = |v: &[f32]| sizes.push(v.len());
        for len in [1000, 5000, 3, PIECE_VALUES * 2, 7] {
            fill_pieces(&mut piece, &vec![0.0; len], &mut each);
        }
        let total = 1000 + 5000 + 3 + PIECE_VALUES * 2 + 7;
        assert!(sizes.iter().all(|&s| s == PIECE_VALUES));
        assert_eq!(sizes.len(), total / PIECE_VALUES);
        assert_eq!(piece.len(), total % PIECE_VALUES);
    }
}
