//! The one error type of the measure layer.

use crate::weights::WeightsError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// A weight file is unreadable or invalid.
    #[error(transparent)]
    Weights(#[from] WeightsError),
    /// Two shards of one model hold a tensor of the same name.
    #[error(
        "{}: tensor {name:?} is also in {} — the shards overlap; delete the stale shard or re-download the model",
        second.display(),
        first.display()
    )]
    DuplicateTensor {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
    /// A tensor's dtype is not one mother reads. Its bytes cannot be interpreted, and a
    /// fingerprint without it would describe only part of the model, so the model is refused.
    /// The reason (from the reader) says what to do.
    #[error("{}: tensor {tensor:?} {reason}", path.display())]
    UnknownDtype {
        path: PathBuf,
        tensor: String,
        reason: String,
    },
    /// A layer packed by a quantisation (GPTQ, AWQ, bitsandbytes) whose parts are inconsistent,
    /// or a packing mother does not read. The reason says which and what to do.
    #[error("{}: tensor {tensor:?} {reason}", path.display())]
    Packing {
        path: PathBuf,
        tensor: String,
        reason: String,
    },
    /// The caller asked to stop.
    #[error("fingerprinting was cancelled")]
    Cancelled,
    /// The fingerprint cache directory cannot be used.
    #[error("{}: {reason}", path.display())]
    Cache { path: PathBuf, reason: String },
}
