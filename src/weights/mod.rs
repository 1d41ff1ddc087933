//! safetensors headers, validation, streaming tensor reads in bounded memory, dtype decoding.
//! Files are read with positioned reads (never mapped), so a file truncated while it is read
//! gives an error rather than a SIGBUS.

mod dtype;
mod error;
mod header;
mod stream;

pub use dtype::{Dtype, FloatDtype};
pub use error::{WeightsError, WeightsErrorKind};
pub use header::{MAX_HEADER_BYTES, SafetensorsFile, TensorInfo, Unreadable, human_bytes};
pub use stream::CHUNK_BYTES;
