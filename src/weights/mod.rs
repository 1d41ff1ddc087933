//! Weight files: safetensors, PyTorch zip pickles and GGUF, each validated before it is
//! trusted, listed as the same [`TensorInfo`]s and streamed the same way through
//! [`WeightSource`]. Files are read with positioned reads in bounded chunks (never mapped), so a
//! file truncated while it is read gives an error rather than a SIGBUS. Pickles are never run:
//! a restricted reader interprets the few opcodes and allowlisted names tensor checkpoints use.
//!
//! - `header`: safetensors headers and their checks
//! - `torch`: the zip layout of `torch.save` and the restricted pickle reader
//! - `gguf`: GGUF headers, ggml block types, llama.cpp's names mapped back to Hugging Face's
//! - `decode`: dequantising and re-ordering values for the tensors that need it
//! - `packed`: GPTQ, AWQ and bitsandbytes layers packed into a checkpoint's tensors, rebuilt
//! - `dtype`, `tensor`, `stream`, `source`: what every reader shares

mod decode;
mod dtype;
mod error;
pub mod gguf;
mod header;
pub mod packed;
mod source;
mod stream;
mod tensor;
pub mod torch;

pub use decode::ValueDecoder;
pub use dtype::{Dtype, FloatDtype, Quantization};
pub use error::{Limit, WeightsError, WeightsErrorKind};
pub use gguf::{GgufFile, QuantType};
pub use header::{MAX_HEADER_BYTES, SafetensorsFile};
pub use packed::{PackedMatrix, PackedScheme};
pub use source::{Format, WeightSource};
pub use stream::CHUNK_BYTES;
pub use tensor::{RowOrder, TensorInfo, Unreadable};
pub use torch::TorchFile;
