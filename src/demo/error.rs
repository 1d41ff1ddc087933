//! The demo's one error type: every failure names the file or the spec option at fault.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    #[error("{}: cannot write safetensors: {reason}", path.display())]
    Safetensors { path: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    Truth { path: PathBuf, reason: String },
    #[error("invalid demo family: {0}")]
    Spec(String),
}

impl DemoError {
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        DemoError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    }

    pub(crate) fn safetensors(path: &Path, error: impl std::fmt::Display) -> Self {
        DemoError::Safetensors {
            path: path.to_owned(),
            reason: error.to_string(),
        }
    }
}
