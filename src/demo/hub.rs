//! Writes repos in the Hugging Face hub cache layout:
//! `models--{org}--{name}/blobs/<sha256 of the file>`, `refs/main` holding the commit hash (no
//! newline), and `snapshots/<commit>/<file>` as relative symlinks `../../blobs/<sha256>`.
//!
//! The commit hash is the first 40 hex digits of a SHA-256 over the repo id and its files' names
//! and hashes, so the same content always lands at the same path.

use super::DemoError;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

/// One file of a repo snapshot.
#[derive(Debug, Clone)]
pub enum RepoFile {
    /// Small text or binary content held in memory.
    Bytes { name: String, bytes: Vec<u8> },
    /// A file already written under the repo's `blobs/` folder (a temporary name), moved into
    /// place under its hash.
    Staged { name: String, path: PathBuf },
}

impl RepoFile {
    fn name(&self) -> &str {
        match self {
            RepoFile::Bytes { name, .. } | RepoFile::Staged { name, .. } => name,
        }
    }
}

/// The folder of a model repo inside the cache: `models--{org}--{name}`.
pub fn repo_dir(cache: &Path, repo_id: &str) -> PathBuf {
    cache.join(format!("models--{}", repo_id.replace('/', "--")))
}

/// Where a large file (weights) should be written before [`write_repo`] moves it into place.
pub fn staging_path(cache: &Path, repo_id: &str, name: &str) -> PathBuf {
    repo_dir(cache, repo_id)
        .join("blobs")
        .join(format!("{name}.incomplete"))
}

/// Removes every repo of the given organisations from the cache, so a rebuilt family leaves no
/// models of an older one behind. Repos of other organisations are left alone.
pub fn remove_repos_of(cache: &Path, orgs: &[&str]) -> Result<(), DemoError> {
    let listing = match fs::read_dir(cache) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(DemoError::io(cache, "list the folder", e)),
    };
    for entry in listing {
        let entry = entry.map_err(|e| DemoError::io(cache, "list the folder", e))?;
        let name = entry.file_name();
        let ours = orgs.iter().any(|org| {
            name.to_str()
                .is_some_and(|n| n.starts_with(&format!("models--{org}--")))
        });
        if ours {
            let path = entry.path();
            fs::remove_dir_all(&path)
                .map_err(|e| DemoError::io(&path, "remove the old repo", e))?;
        }
    }
    Ok(())
}

/// Creates the repo's `blobs/` folder, so weights can be staged in it.
pub fn prepare_repo(cache: &Path, repo_id: &str) -> Result<(), DemoError> {
    let dir = repo_dir(cache, repo_id);
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| DemoError::io(&dir, "remove the old repo", e))?;
    }
    let blobs = dir.join("blobs");
    fs::create_dir_all(&blobs).map_err(|e| DemoError::io(&blobs, "create the folder", e))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Moves every file into `blobs/` under its SHA-256, links it from the snapshot, and writes
/// `refs/main`. Returns the commit hash. Call [`prepare_repo`] first.
pub fn write_repo(cache: &Path, repo_id: &str, files: &[RepoFile]) -> Result<String, DemoError> {
    let dir = repo_dir(cache, repo_id);
    let blobs = dir.join("blobs");
    let mut placed = Vec::with_capacity(files.len());
    for file in files {
        let hash = match file {
            RepoFile::Bytes { bytes, .. } => {
                let hash = sha256_hex(bytes);
                let blob = blobs.join(&hash);
                fs::write(&blob, bytes).map_err(|e| DemoError::io(&blob, "write", e))?;
                hash
            }
            RepoFile::Staged { path, .. } => {
                let bytes = fs::read(path).map_err(|e| DemoError::io(path, "read back", e))?;
                let hash = sha256_hex(&bytes);
                let blob = blobs.join(&hash);
                fs::rename(path, &blob).map_err(|e| DemoError::io(&blob, "move into place", e))?;
                hash
            }
        };
        placed.push((file.name().to_owned(), hash));
    }
    let mut commit_hasher = Sha256::new();
    commit_hasher.update(repo_id.as_bytes());
    for (name, hash) in &placed {
        commit_hasher.update([0]);
        commit_hasher.update(name.as_bytes());
        commit_hasher.update([0]);
        commit_hasher.update(hash.as_bytes());
    }
    let commit = hex(&commit_hasher.finalize()[..20]);

    let snapshot = dir.join("snapshots").join(&commit);
    fs::create_dir_all(&snapshot).map_err(|e| DemoError::io(&snapshot, "create the folder", e))?;
    for (name, hash) in &placed {
        let link = snapshot.join(name);
        link_blob(&blobs.join(hash), hash, &link)?;
    }
    let refs = dir.join("refs");
    fs::create_dir_all(&refs).map_err(|e| DemoError::io(&refs, "create the folder", e))?;
    let main = refs.join("main");
    fs::write(&main, commit.as_bytes()).map_err(|e| DemoError::io(&main, "write", e))?;
    Ok(commit)
}

/// Snapshot files sit two levels below the repo folder, so the link is `../../blobs/<hash>`.
#[cfg(unix)]
fn link_blob(_blob: &Path, hash: &str, link: &Path) -> Result<(), DemoError> {
    let target = Path::new("..").join("..").join("blobs").join(hash);
    std::os::unix::fs::symlink(&target, link)
        .map_err(|e| DemoError::io(link, "create the symlink", e))
}

/// Without symlinks the hub client stores real copies in the snapshot; so do we.
#[cfg(not(unix))]
fn link_blob(blob: &Path, _hash: &str, link: &Path) -> Result<(), DemoError> {
    fs::copy(blob, link)
        .map(|_| ())
        .map_err(|e| DemoError::io(link, "copy the blob", e))
}
