//! The Hugging Face hub cache: `models--{org}--{name}` repos, each with `blobs/` (the files, by
//! etag), `refs/` (branch or PR name -> commit) and `snapshots/<commit>/` (the repo's files as
//! links into `blobs/`). Each snapshot that holds weights is one revision of the model.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::folder;
use super::model_dir::MODEL_REPO_PREFIX;
use super::{Discovery, MAKE_FOLDER_READABLE, ModelEntry, Skipped};

/// A commit hash is 40 hex digits; anything much longer in a ref file is not a ref.
const MAX_REF_BYTES: u64 = 1024;
/// `refs/pr/1` is two levels; deeper nesting is not something the client writes.
const MAX_REF_DEPTH: usize = 8;
/// Revision ids carry this many leading characters of the commit, as `git` shows them.
const SHORT_COMMIT: usize = 8;

/// The repo id of a `models--…` folder: `org/name` (split at the first `--`) or just `name`.
pub(super) fn repo_id(folder_name: &str) -> Option<String> {
    let rest = folder_name.strip_prefix(MODEL_REPO_PREFIX)?;
    match rest.split_once("--") {
        Some((org, name)) if !org.is_empty() && !name.is_empty() => Some(format!("{org}/{name}")),
        Some(_) => None,
        None if rest.is_empty() => None,
        None => Some(rest.to_string()),
    }
}

/// Reads every model repo of a hub cache. Datasets, spaces, `.locks`, `CACHEDIR.TAG` and
/// `version.txt` are not models and are passed over.
pub(super) fn scan_cache(cache: &Path, out: &mut Discovery) {
    let mut repos: Vec<PathBuf> = match fs::read_dir(cache) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(MODEL_REPO_PREFIX)
            })
            .map(|entry| entry.path())
            .collect(),
        Err(error) => {
            out.skipped.push(Skipped {
                path: cache.to_path_buf(),
                reason: format!("cannot read the hub cache: {error} — {MAKE_FOLDER_READABLE}"),
            });
            return;
        }
    };
    repos.sort();
    for repo in repos {
        if repo.is_dir() {
            scan_repo(&repo, &mut out.models, &mut out.skipped);
        }
    }
}

/// Reads one `models--…` repo folder: its snapshots (one model per snapshot, or several when a
/// snapshot has model subfolders), downloads in progress, and refs that lead nowhere.
pub(super) fn scan_repo(repo_dir: &Path, models: &mut Vec<ModelEntry>, skipped: &mut Vec<Skipped>) {
    let Some(folder_name) = repo_dir.file_name().and_then(|name| name.to_str()) else {
        skipped.push(Skipped {
            path: repo_dir.to_path_buf(),
            reason: "hub repo folder name is not valid UTF-8 (the hub's names are ASCII) — \
                     rename it to models--{org}--{name} or remove it"
                .to_string(),
        });
        return;
    };
    let Some(repo) = repo_id(folder_name) else {
        skipped.push(Skipped {
            path: repo_dir.to_path_buf(),
            reason: "is not a hub repo folder (models--{org}--{name}) — rename or remove it"
                .to_string(),
        });
        return;
    };
    report_incomplete_blobs(&repo_dir.join("blobs"), &repo, skipped);

    let mut revisions: Vec<(String, Vec<ModelEntry>)> = Vec::new();
    for (commit, snapshot) in snapshot_folders(&repo_dir.join("snapshots"), skipped) {
        let mut found = folder::scan_snapshot(&snapshot, &repo, skipped);
        for model in &mut found {
            model.revision = Some(commit.clone());
        }
        revisions.push((commit, found));
    }

    let commits: HashSet<&str> = revisions
        .iter()
        .map(|(commit, _)| commit.as_str())
        .collect();
    for (name, path, commit) in refs(&repo_dir.join("refs"), skipped) {
        if !commits.contains(commit.as_str()) {
            skipped.push(Skipped {
                path,
                reason: format!(
                    "ref {name} points to commit {commit}, which has no snapshot folder — re-run the download of {repo}"
                ),
            });
        }
    }

    let with_weights = revisions
        .iter()
        .filter(|(_, found)| !found.is_empty())
        .count();
    for (commit, found) in revisions {
        for mut model in found {
            if with_weights > 1 {
                let short: String = commit.chars().take(SHORT_COMMIT).collect();
                model.id = format!("{}@{short}", model.id);
            }
            models.push(model);
        }
    }
}

/// Reads one snapshot folder of the repo in `repo_dir`, named on its own: one revision, so the
/// ids carry no `@commit`. The repo's other snapshots, refs and blobs are not looked at.
pub(super) fn scan_one_snapshot(
    repo_dir: &Path,
    snapshot: &Path,
    models: &mut Vec<ModelEntry>,
    skipped: &mut Vec<Skipped>,
) {
    let Some(repo) = repo_dir
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(repo_id)
    else {
        return;
    };
    let commit = snapshot
        .file_name()
        .map(|name| name.to_string_lossy().into_owned());
    for mut model in folder::scan_snapshot(snapshot, &repo, skipped) {
        model.revision = commit.clone();
        models.push(model);
    }
}

/// `(commit, folder)` for each folder under `snapshots/`, sorted by commit.
fn snapshot_folders(snapshots: &Path, skipped: &mut Vec<Skipped>) -> Vec<(String, PathBuf)> {
    let entries = match fs::read_dir(snapshots) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(error) => {
            skipped.push(Skipped {
                path: snapshots.to_path_buf(),
                reason: format!("cannot read the snapshots: {error} — {MAKE_FOLDER_READABLE}"),
            });
            return Vec::new();
        }
    };
    let mut folders: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .filter_map(|path| {
            let commit = path.file_name()?.to_string_lossy().into_owned();
            Some((commit, path))
        })
        .collect();
    folders.sort();
    folders
}

/// Blobs still being written: the download was interrupted or is running now.
fn report_incomplete_blobs(blobs: &Path, repo: &str, skipped: &mut Vec<Skipped>) {
    let Ok(entries) = fs::read_dir(blobs) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if entry.file_name().to_string_lossy().ends_with(".incomplete") {
            skipped.push(Skipped {
                path: entry.path(),
                reason: format!(
                    "download in progress or interrupted — re-run the download of {repo}"
                ),
            });
        }
    }
}

/// `(name, file, commit)` for every ref, nested ones (`pr/1`) included.
fn refs(refs_dir: &Path, skipped: &mut Vec<Skipped>) -> Vec<(String, PathBuf, String)> {
    let mut found = Vec::new();
    collect_refs(refs_dir, "", 0, &mut found, skipped);
    found.sort();
    found
}

fn collect_refs(
    dir: &Path,
    prefix: &str,
    depth: usize,
    found: &mut Vec<(String, PathBuf, String)>,
    skipped: &mut Vec<Skipped>,
) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            if depth < MAX_REF_DEPTH {
                collect_refs(&path, &format!("{name}/"), depth + 1, found, skipped);
            }
            continue;
        }
        match read_ref(&path) {
            Ok(commit) => found.push((name, path, commit)),
            Err(reason) => skipped.push(Skipped {
                path,
                reason: format!("ref {name} {reason}"),
            }),
        }
    }
}

fn read_ref(path: &Path) -> Result<String, String> {
    let meta = fs::metadata(path).map_err(|error| format!("cannot be read: {error}"))?;
    if !meta.is_file() || meta.len() > MAX_REF_BYTES {
        return Err("is not a ref file (a commit hash) — remove it".to_string());
    }
    let text = fs::read(path).map_err(|error| format!("cannot be read: {error}"))?;
    let commit = String::from_utf8_lossy(&text).trim().to_string();
    if commit.is_empty() {
        return Err("is empty — re-run the download of the repo".to_string());
    }
    Ok(commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_split_at_the_first_double_dash() {
        assert_eq!(repo_id("models--org--name").as_deref(), Some("org/name"));
        assert_eq!(repo_id("models--gpt2").as_deref(), Some("gpt2"));
        assert_eq!(
            repo_id("models--org--name--x").as_deref(),
            Some("org/name--x")
        );
        assert_eq!(repo_id("models--"), None);
        assert_eq!(repo_id("models--org--"), None);
        assert_eq!(repo_id("datasets--org--name"), None);
    }
}
