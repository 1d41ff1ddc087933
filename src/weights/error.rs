//! The one error type of the weights layer: which file, what is wrong with it, what to do.
//! Shared by the three readers (safetensors, torch zip pickles, GGUF).

use std::path::PathBuf;

/// What kind of problem a weight file has, for callers (and tests) that branch on it.
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
    /// A torch file that is not a zip archive, or whose zip records are damaged.
    BadArchive,
    /// A zip entry the reader needs is compressed or encrypted (torch stores them plainly).
    Compressed,
    /// A zip entry name that could point outside the archive (`..`, an absolute path).
    UnsafeEntryName,
    /// A torch file in the legacy (pre-1.6, non-zip) layout.
    LegacyFormat,
    /// The pickle asks for something the restricted reader does not allow: a global outside the
    /// allowlist, an opcode it does not interpret, a call on something that is not an allowed
    /// callable, or a storage outside the archive. Nothing was run.
    Refused,
    /// The pickle or GGUF structure is malformed (a stack underflow, a wrong argument, a value
    /// cut off by the end of the data).
    Malformed,
    /// One of the reader's hard limits was reached; the file is refused before it can take
    /// unbounded memory or time.
    Limit(Limit),
    /// A tensor whose strides are not those of a contiguous row-major tensor.
    NonContiguous,
    /// A GGUF version other than 2 or 3.
    UnsupportedVersion,
    /// A GGUF file whose tensors do not follow each other as its alignment requires.
    BadLayout,
}

/// The hard limits of the pickle and GGUF readers, one per kind of breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Size of `data.pkl`.
    PickleBytes,
    /// Opcodes interpreted.
    Opcodes,
    /// Objects built while reading a pickle.
    Objects,
    /// Nested MARKs.
    MarkDepth,
    /// Items on the pickle stack.
    StackDepth,
    /// Memo entries, or a memo index above the limit.
    Memo,
    /// Length of one string (a pickle string, a GGUF key, value or tensor name).
    StringLength,
    /// Items of one tuple, list, dict or GGUF array.
    ContainerSize,
    /// Dimensions of one tensor.
    Dimensions,
    /// Tensors in one file.
    TensorCount,
    /// Key-value pairs in a GGUF header.
    KeyCount,
    /// Entries in a zip central directory, or its size.
    ZipEntries,
    /// Bytes the tensors of a file view, over the file's size.
    ViewedBytes,
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
