//! Following a file to what it really is, and saying why it cannot be used when the link is
//! broken, loops, or cannot be inspected. Hub snapshots are made of such links into `blobs/`.

use std::collections::HashSet;
use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};

/// Hops after which a chain of links is treated as a loop (Linux gives up after 40 too).
const MAX_HOPS: usize = 40;

/// Why a file cannot be used.
#[derive(Debug)]
pub(super) enum Unusable {
    /// The link (or the chain of links) ends at nothing.
    Missing { target: PathBuf },
    /// The chain of links comes back to itself.
    Loop,
    /// Anything else, most often missing permissions.
    Other(io::Error),
}

/// Metadata of the file `path` leads to, following links.
pub(super) fn follow(path: &Path) -> Result<Metadata, Unusable> {
    fs::metadata(path).map_err(|error| classify(path, error))
}

fn classify(path: &Path, error: io::Error) -> Unusable {
    let mut seen = HashSet::new();
    let mut current = path.to_path_buf();
    for _ in 0..MAX_HOPS {
        let Ok(target) = fs::read_link(&current) else {
            return if error.kind() == io::ErrorKind::NotFound && current != path {
                Unusable::Missing { target: current }
            } else {
                Unusable::Other(error)
            };
        };
        let next = match current.parent() {
            Some(parent) if target.is_relative() => parent.join(&target),
            _ => target,
        };
        if !seen.insert(next.clone()) {
            return Unusable::Loop;
        }
        current = next;
    }
    Unusable::Loop
}

impl Unusable {
    /// A reason a person can act on. `repo` is the hub repo the file belongs to, if any.
    pub(super) fn reason(&self, repo: Option<&str>) -> String {
        match (self, repo) {
            (Unusable::Missing { target }, Some(repo)) => {
                let blob = target.file_name().map_or_else(
                    || target.display().to_string(),
                    |name| name.to_string_lossy().into_owned(),
                );
                format!("points to missing blob {blob} — half-downloaded? re-download {repo}")
            }
            (Unusable::Missing { target }, None) => format!(
                "points to missing {} — restore the file or remove the link",
                target.display()
            ),
            (Unusable::Loop, _) => {
                "is a symlink loop (the links lead back to themselves) — fix or remove the link"
                    .to_string()
            }
            (Unusable::Other(error), _) => {
                format!("cannot be inspected: {error} — check its permissions")
            }
        }
    }
}
