//! The one error type of the weights layer: which file, what is wrong with it, what to do.

use std::path::PathBuf;

/// What kind of problem a safetensors file has, for callers (and tests) that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsErrorKind {
    /// The file could not be opened or read.
    Io,
    /// Fewer than 8 bytes: no room for the header length.
    TooShort,
    /// The header length is above the 100 MB limit.
    HeaderTooLarge,
    /// The header length runs past the end of the file.
    HeaderBeyondFile,
    NotUtf8,
    NotJson,
    /// The header is JSON but not an object.
    NotObject,
    /// A tensor entry is malformed (missing or mistyped `dtype`, `shape`, `data_offsets`).
    BadEntry,
    /// `__metadata__` is not a map of strings.
    BadMetadata,
    /// shape x dtype size differs from the tensor's byte length.
    SizeMismatch,
    /// Two tensors share bytes.
    Overlap,
    /// Bytes between two tensors (or before the first) belong to no tensor.
    Gap,
    /// A tensor ends past the end of the data section.
    OutOfRange,
    /// The data section holds bytes after the last tensor.
    TrailingData,
    /// The file got shorter between opening and reading.
    Shrank,
}

/// A safetensors file that cannot be used, with the reason and the fix in one sentence.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct WeightsError {
    pub path: PathBuf,
    pub kind: WeightsErrorKind,
    pub reason: String,
}

impl WeightsError {
    pub(crate) fn new(
        path: impl Into<PathBuf>,
        kind: WeightsErrorKind,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            kind,
            reason: reason.into(),
        }
    }
}
