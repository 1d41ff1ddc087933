//! One hub repo named directly — its `models--org--name` folder, one of its snapshot folders, or
//! `.` inside either — is read as that repo: the model is `org/name`, as in a scan of the whole
//! cache, and not a path inside the repo.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use mother::discover::discover;

use crate::common;
use common::discovery::{ids, safetensors_bytes};

const C1: &str = "1111111111111111111111111111111111111111";
const C2: &str = "2222222222222222222222222222222222222222";

/// `cache/models--org--name` with a snapshot per commit, each linking `model.safetensors` to a
/// blob, and `refs/main` at the last commit.
fn hub_repo(cache: &Path, commits: &[&str]) -> PathBuf {
    let repo = cache.join("models--org--name");
    for sub in ["blobs", "refs", "snapshots"] {
        fs::create_dir_all(repo.join(sub)).expect("repo folders");
    }
    for (index, commit) in commits.iter().enumerate() {
        let etag = format!("blob{index}");
        fs::write(repo.join("blobs").join(&etag), safetensors_bytes()).expect("blob");
        let snapshot = repo.join("snapshots").join(commit);
        fs::create_dir_all(&snapshot).expect("snapshot");
        symlink(
            Path::new("../../blobs").join(&etag),
            snapshot.join("model.safetensors"),
        )
        .expect("link");
        fs::write(repo.join("refs/main"), commit).expect("ref");
    }
    repo
}

#[test]
fn a_repo_folder_is_its_model() {
    let cache = tempfile::tempdir().expect("tempdir");
    let repo = hub_repo(cache.path(), &[C1]);
    let found = discover(&repo).expect("discover");
    assert_eq!(ids(&found), ["org/name"]);
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    assert_eq!(found.models[0].revision.as_deref(), Some(C1));
    assert_eq!(found.models[0].dir, repo.join("snapshots").join(C1));
}

#[test]
fn a_repo_folder_with_two_revisions_names_both_as_a_cache_scan_does() {
    let cache = tempfile::tempdir().expect("tempdir");
    let repo = hub_repo(cache.path(), &[C1, C2]);
    let alone = discover(&repo).expect("discover the repo");
    let in_cache = discover(cache.path()).expect("discover the cache");
    assert_eq!(ids(&alone), ["org/name@11111111", "org/name@22222222"]);
    assert_eq!(alone, in_cache);
}

#[test]
fn a_snapshot_folder_is_that_revision_of_the_repo() {
    let cache = tempfile::tempdir().expect("tempdir");
    let repo = hub_repo(cache.path(), &[C1, C2]);
    let snapshot = repo.join("snapshots").join(C2);
    let found = discover(&snapshot).expect("discover");
    assert_eq!(ids(&found), ["org/name"]);
    assert_eq!(found.models[0].revision.as_deref(), Some(C2));
    assert_eq!(found.models[0].dir, snapshot);
}

#[test]
fn a_trailing_slash_or_a_dot_path_names_the_repo_too() {
    let cache = tempfile::tempdir().expect("tempdir");
    let repo = hub_repo(cache.path(), &[C1]);
    let slashed = PathBuf::from(format!("{}/", repo.display()));
    assert_eq!(ids(&discover(&slashed).expect("discover")), ["org/name"]);
    let dotted = repo.join("snapshots").join(C1).join(".");
    assert_eq!(ids(&discover(&dotted).expect("discover")), ["org/name"]);
}

#[test]
fn a_plain_folder_called_models_dash_dash_is_still_a_plain_folder() {
    let root = tempfile::tempdir().expect("tempdir");
    let folder = root.path().join("models--mine");
    fs::create_dir_all(&folder).expect("folder");
    fs::write(folder.join("model.safetensors"), safetensors_bytes()).expect("weights");
    assert_eq!(ids(&discover(&folder).expect("discover")), ["models--mine"]);
}
