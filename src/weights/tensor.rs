//! What every reader reports about a tensor: its name, dtype, shape and where its stored bytes
//! lie in the file, whatever the file's format.

use super::dtype::Dtype;

/// One tensor of a file, with absolute byte offsets into the file.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// The Hugging Face name (GGUF names are mapped back to it).
    pub name: String,
    pub dtype: Dtype,
    /// Outermost dimension first, as in PyTorch: a 2-D weight is `[rows, cols]`.
    pub shape: Vec<usize>,
    /// First byte of the tensor's data, counted from the start of the file.
    pub start: u64,
    /// One past the last byte, counted from the start of the file.
    pub end: u64,
    /// The order of the stored rows.
    pub row_order: RowOrder,
}

/// How a 2-D tensor's stored rows relate to the rows of the original model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOrder {
    /// Row-major, rows in their original order.
    AsStored,
    /// llama.cpp's converter interleaved the two halves of every head of `heads` heads (its
    /// rope works on neighbouring pairs, Hugging Face's on halves): stored row `2i + s` of a
    /// head is original row `s * head_dim / 2 + i`.
    RopeInterleaved { heads: usize },
}

impl TensorInfo {
    pub fn byte_len(&self) -> u64 {
        self.end - self.start
    }

    /// Number of elements (1 for a scalar, 0 when a dimension is 0).
    pub fn numel(&self) -> u64 {
        self.shape.iter().map(|&d| d as u64).product()
    }
}

/// A tensor the reader can list but whose values mother cannot read (an unknown safetensors
/// dtype, a GGUF quant type without a decoder): the measure layer refuses a model that holds
/// one, because a fingerprint without it would describe only part of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub name: String,
    /// What is wrong and what to do, to follow the tensor's name in a sentence.
    pub reason: String,
}
