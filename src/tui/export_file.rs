//! Writing the exported forest to a file the user named, refusing to overwrite without consent.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ExportFileError {
    #[error("{path} already exists")]
    Exists { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes `contents` to `path`. Without `overwrite`, an existing file is left untouched and
/// [`ExportFileError::Exists`] comes back; the check and the creation are one step
/// (`create_new`), so a file appearing in between is not clobbered either.
pub fn write_export(path: &Path, contents: &str, overwrite: bool) -> Result<(), ExportFileError> {
    let mut options = OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let io_error = |source: std::io::Error| ExportFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            ExportFileError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            io_error(source)
        }
    })?;
    file.write_all(contents.as_bytes()).map_err(io_error)?;
    file.flush().map_err(io_error)
}
