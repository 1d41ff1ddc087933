//! Streaming a tensor's bytes in bounded chunks with positioned reads into a reused buffer.

use super::error::{WeightsError, WeightsErrorKind};
use super::header::{SafetensorsFile, TensorInfo};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;

/// Bytes per read. A multiple of every element size (1, 2, 4, 8), so chunks hold whole
/// elements; small enough that the decoded values of a chunk stay in the core's cache.
pub const CHUNK_BYTES: usize = 1 << 20;

impl SafetensorsFile {
    /// Calls `each` with consecutive chunks of `tensor`'s stored bytes (at most [`CHUNK_BYTES`]
    /// each, whole elements), reading into `buffer`. Stops at the first error from `each` or
    /// from the file; a file that got shorter gives [`WeightsErrorKind::Shrank`].
    pub fn for_each_chunk<E: From<WeightsError>>(
        &self,
        tensor: &TensorInfo,
        buffer: &mut Vec<u8>,
        mut each: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut offset = tensor.start;
        while offset < tensor.end {
            let len = (tensor.end - offset).min(CHUNK_BYTES as u64) as usize;
            buffer.resize(len, 0);
            self.file
                .read_exact_at(&mut buffer[..len], offset)
                .map_err(|e| self.read_error(&tensor.name, e))?;
            each(&buffer[..len])?;
            offset += len as u64;
        }
        Ok(())
    }

    fn read_error(&self, tensor: &str, error: std::io::Error) -> WeightsError {
        if error.kind() == ErrorKind::UnexpectedEof {
            WeightsError::new(
                &self.path,
                WeightsErrorKind::Shrank,
                format!(
                    "file shrank while being read (tensor {tensor:?}) — is a download or another program rewriting it? re-run once it is complete"
                ),
            )
        } else {
            WeightsError::new(
                &self.path,
                WeightsErrorKind::Io,
                format!("cannot read tensor {tensor:?}: {error}"),
            )
        }
    }
}
