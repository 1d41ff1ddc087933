//! Opening a weight file and streaming a tensor's bytes in bounded chunks with positioned reads
//! into a reused buffer. Shared by every reader: a file cut short while it is read gives
//! [`WeightsErrorKind::Shrank`], never a crash.

use super::error::{WeightsError, WeightsErrorKind};
use super::header::SafetensorsFile;
use super::tensor::TensorInfo;
use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Bytes per read. A multiple of every element size (1, 2, 4, 8), so chunks hold whole
/// elements; small enough that the decoded values of a chunk stay in the core's cache. Block
/// types read the largest whole number of blocks that fits.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Opens `path` for positioned reads and returns it with its length.
pub(super) fn open_file(path: &Path) -> Result<(File, u64), WeightsError> {
    let file = File::open(path).map_err(|e| {
        let fix = match e.kind() {
            ErrorKind::PermissionDenied => {
                "make it readable to your user (its owner can run chmod a+r on it)"
            }
            _ => "check that it is still there and readable",
        };
        WeightsError::new(
            path,
            WeightsErrorKind::Io,
            format!("cannot open: {e} — {fix}"),
        )
    })?;
    let len = file
        .metadata()
        .map_err(|e| {
            WeightsError::new(
                path,
                WeightsErrorKind::Io,
                format!("cannot read file size: {e}"),
            )
        })?
        .len();
    Ok((file, len))
}

/// Fills `buffer` from `offset`; `what` names the part being read for the error message.
pub(super) fn read_exact_at(
    file: &File,
    path: &Path,
    buffer: &mut [u8],
    offset: u64,
    what: &str,
) -> Result<(), WeightsError> {
    file.read_exact_at(buffer, offset)
        .map_err(|e| read_error(path, what, e))
}

fn read_error(path: &Path, what: &str, error: std::io::Error) -> WeightsError {
    if error.kind() == ErrorKind::UnexpectedEof {
        WeightsError::new(
            path,
            WeightsErrorKind::Shrank,
            format!(
                "file shrank while being read ({what}) — is a download or another program rewriting it? re-run once it is complete"
            ),
        )
    } else {
        WeightsError::new(
            path,
            WeightsErrorKind::Io,
            format!("cannot read {what}: {error}"),
        )
    }
}

/// Calls `each` with consecutive chunks of `tensor`'s stored bytes (at most [`CHUNK_BYTES`]
/// each, whole elements or blocks), reading `file` into `buffer`. Stops at the first error from
/// `each` or from the file.
pub(super) fn for_each_chunk<E: From<WeightsError>>(
    file: &File,
    path: &Path,
    tensor: &TensorInfo,
    buffer: &mut Vec<u8>,
    mut each: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let unit = tensor.dtype.chunk_unit();
    let chunk = (CHUNK_BYTES / unit).max(1) * unit;
    let mut offset = tensor.start;
    while offset < tensor.end {
        let len = (tensor.end - offset).min(chunk as u64) as usize;
        buffer.resize(len, 0);
        read_exact_at(
            file,
            path,
            &mut buffer[..len],
            offset,
            &format!("tensor {:?}", tensor.name),
        )?;
        each(&buffer[..len])?;
        offset += len as u64;
    }
    Ok(())
}

impl SafetensorsFile {
    /// Calls `each` with consecutive chunks of `tensor`'s stored bytes (at most [`CHUNK_BYTES`]
    /// each, whole elements), reading into `buffer`. Stops at the first error from `each` or
    /// from the file; a file that got shorter gives [`WeightsErrorKind::Shrank`].
    pub fn for_each_chunk<E: From<WeightsError>>(
        &self,
        tensor: &TensorInfo,
        buffer: &mut Vec<u8>,
        each: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        for_each_chunk(&self.file, &self.path, tensor, buffer, each)
    }
}
