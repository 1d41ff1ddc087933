//! One weight file, whatever its format: the tensors it lists and their stored bytes, streamed
//! the same way for every format, so the measure layer reads safetensors, PyTorch pickles and
//! GGUF through one path.

use super::error::WeightsError;
use super::gguf::GgufFile;
use super::header::SafetensorsFile;
use super::tensor::{TensorInfo, Unreadable};
use super::torch::TorchFile;
use std::path::Path;

/// The format of a weight file, as discovery names it from the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Format {
    /// `*.safetensors`
    Safetensors,
    /// PyTorch's zip pickles (`pytorch_model.bin`), read without running them.
    Pickle,
    /// llama.cpp's GGUF (`*.gguf`), usually a quantised copy of a model.
    Gguf,
}

impl Format {
    /// `safetensors`, `pickle` or `gguf`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Safetensors => "safetensors",
            Self::Pickle => "pickle",
            Self::Gguf => "gguf",
        }
    }

    /// The smallest file that can hold this format: the 8-byte header length of safetensors,
    /// the 22-byte end record of a zip archive, GGUF's magic, version and two counts.
    pub fn min_bytes(self) -> u64 {
        match self {
            Self::Safetensors => 8,
            Self::Pickle => 22,
            Self::Gguf => 24,
        }
    }
}

/// An open, validated weight file of any format.
#[derive(Debug)]
pub enum WeightSource {
    Safetensors(SafetensorsFile),
    Pickle(TorchFile),
    Gguf(GgufFile),
}

impl WeightSource {
    /// Opens `path` with the reader for `format`; reads only what lists the tensors.
    pub fn open(path: &Path, format: Format) -> Result<Self, WeightsError> {
        Ok(match format {
            Format::Safetensors => Self::Safetensors(SafetensorsFile::open(path)?),
            Format::Pickle => Self::Pickle(TorchFile::open(path)?),
            Format::Gguf => Self::Gguf(GgufFile::open(path)?),
        })
    }

    /// Tensors of known dtype, sorted by (Hugging Face) name.
    pub fn tensors(&self) -> &[TensorInfo] {
        match self {
            Self::Safetensors(file) => file.tensors(),
            Self::Pickle(file) => file.tensors(),
            Self::Gguf(file) => file.tensors(),
        }
    }

    /// Tensors listed but not readable (see [`Unreadable`]).
    pub fn unreadable(&self) -> &[Unreadable] {
        match self {
            Self::Safetensors(file) => file.unreadable(),
            Self::Pickle(_) => &[],
            Self::Gguf(file) => file.unreadable(),
        }
    }

    /// Calls `each` with consecutive chunks of `tensor`'s stored bytes (at most
    /// [`super::CHUNK_BYTES`], whole elements or blocks), reading into `buffer`; a file that got
    /// shorter gives [`super::WeightsErrorKind::Shrank`].
    pub fn for_each_chunk<E: From<WeightsError>>(
        &self,
        tensor: &TensorInfo,
        buffer: &mut Vec<u8>,
        each: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Self::Safetensors(file) => file.for_each_chunk(tensor, buffer, each),
            Self::Pickle(file) => file.for_each_chunk(tensor, buffer, each),
            Self::Gguf(file) => file.for_each_chunk(tensor, buffer, each),
        }
    }
}
