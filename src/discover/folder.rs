//! The bounded walk over a folder tree: lists each folder once, asks [`model_dir`] whether it is
//! a model, and goes down into subfolders. Directory links are followed only when they lead out
//! of the tree (inside it the real folder is walked anyway) and never twice, so link loops end;
//! depth is capped. Hub repos met on the way (`models--*` laid out by the client) are handed back
//! to be read as hub repos, so a scan of `~/.cache` finds the hub cache inside it.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use super::links;
use super::model_dir::{self, FileItem, MODEL_REPO_PREFIX, Place};
use super::{Discovery, MAKE_FOLDER_READABLE, ModelEntry, Skipped};

/// Deeper than any real layout (a hub snapshot subfolder is 4 levels below the cache).
const MAX_DEPTH: usize = 24;

/// Folders that never hold the user's models and can be large. Python's package folders (a
/// virtual environment beside a cache, as `make.sh` and most projects keep one) hold the test
/// files of installed packages: hundreds of ONNX, pickle and weight files that are nobody's
/// fine-tune, each of which would be listed as skipped or read.
const IGNORED_DIRS: [&str; 6] = [
    ".git",
    "node_modules",
    "__pycache__",
    ".no_exist",
    "site-packages",
    "dist-packages",
];

/// How the ids of the models a walk finds are written.
enum Naming<'a> {
    /// A plain tree: the top folder is called `top_name`, the others by their path below it.
    Plain { top_name: String },
    /// A hub snapshot of `repo`: the top folder is `repo`, the others `repo/<path>`.
    Snapshot { repo: &'a str },
}

/// Walks a plain folder tree, adding what it finds to `out`, and returns the hub model repos met
/// on the way for the caller to read (the hub reader walks their snapshots with this walker).
pub(super) fn scan_tree(root: &Path, out: &mut Discovery) -> Vec<PathBuf> {
    let top_name = fs::canonicalize(root)
        .ok()
        .and_then(|real| {
            real.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| root.display().to_string());
    let mut walk = Walk::new(root, Naming::Plain { top_name }, &mut out.skipped);
    walk.run(root);
    out.models.extend(walk.models);
    walk.hub_repos
}

/// Walks one hub snapshot folder and returns its models (ids without a revision suffix).
pub(super) fn scan_snapshot(
    snapshot: &Path,
    repo: &str,
    skipped: &mut Vec<Skipped>,
) -> Vec<ModelEntry> {
    let mut walk = Walk::new(snapshot, Naming::Snapshot { repo }, skipped);
    walk.run(snapshot);
    walk.models
}

struct Walk<'a> {
    naming: Naming<'a>,
    /// Canonical path of the top folder; links that lead inside it are not followed.
    top_real: PathBuf,
    /// Canonical paths of the folders entered through links.
    entered: HashSet<PathBuf>,
    models: Vec<ModelEntry>,
    /// `models--…` folders laid out by the hub client, met in a plain tree.
    hub_repos: Vec<PathBuf>,
    skipped: &'a mut Vec<Skipped>,
}

/// One folder's entries, sorted by name.
struct Listing {
    files: Vec<FileItem>,
    dirs: Vec<DirItem>,
}

struct DirItem {
    name: OsString,
    path: PathBuf,
    through_link: bool,
}

impl<'a> Walk<'a> {
    fn new(top: &Path, naming: Naming<'a>, skipped: &'a mut Vec<Skipped>) -> Self {
        Walk {
            naming,
            top_real: fs::canonicalize(top).unwrap_or_else(|_| top.to_path_buf()),
            entered: HashSet::new(),
            models: Vec::new(),
            hub_repos: Vec::new(),
            skipped,
        }
    }

    fn run(&mut self, top: &Path) {
        let real = self.top_real.clone();
        self.visit(top, &real, "", 0, false);
    }

    fn repo(&self) -> Option<&'a str> {
        match self.naming {
            Naming::Plain { .. } => None,
            Naming::Snapshot { repo } => Some(repo),
        }
    }

    fn id(&self, relative: &str) -> String {
        match (&self.naming, relative.is_empty()) {
            (Naming::Plain { top_name }, true) => top_name.clone(),
            (Naming::Plain { .. }, false) => relative.to_string(),
            (Naming::Snapshot { repo }, true) => repo.to_string(),
            (Naming::Snapshot { repo }, false) => format!("{repo}/{relative}"),
        }
    }

    fn skip(&mut self, path: &Path, reason: String) {
        self.skipped.push(Skipped {
            path: path.to_path_buf(),
            reason,
        });
    }

    /// `real` is the canonical path of `dir`; `relative` its path below the top, `/`-separated.
    fn visit(&mut self, dir: &Path, real: &Path, relative: &str, depth: usize, inside_model: bool) {
        let listing = match self.list(dir) {
            Ok(listing) => listing,
            Err(error) => {
                let reason = format!(
                    "cannot read this folder: {error} — {MAKE_FOLDER_READABLE}; models in it are not listed"
                );
                self.skip(dir, reason);
                return;
            }
        };
        let id = self.id(relative);
        let place = Place {
            id: &id,
            repo: self.repo(),
            inside_model,
        };
        let assessment = model_dir::assess(dir, &listing.files, &place, self.skipped);
        self.models.extend(assessment.models);
        let inside_model = inside_model || assessment.holds_weights;

        for sub in listing.dirs {
            let name = sub.name.to_string_lossy();
            if IGNORED_DIRS.contains(&name.as_ref()) {
                continue;
            }
            if matches!(self.naming, Naming::Plain { .. })
                && model_dir::is_repo_dir(&sub.path, &name)
            {
                if name.starts_with(MODEL_REPO_PREFIX) {
                    self.hub_repos.push(sub.path.clone());
                }
                continue;
            }
            if depth + 1 > MAX_DEPTH {
                let reason = format!(
                    "is more than {MAX_DEPTH} folders deep — not scanned; point mother at it directly"
                );
                self.skip(&sub.path, reason);
                continue;
            }
            let sub_real = if sub.through_link {
                match self.enter_link(&sub.path, real) {
                    Some(target) => target,
                    None => continue,
                }
            } else {
                real.join(&sub.name)
            };
            let sub_relative = if relative.is_empty() {
                name.into_owned()
            } else {
                format!("{relative}/{name}")
            };
            self.visit(&sub.path, &sub_real, &sub_relative, depth + 1, inside_model);
        }
    }

    /// The canonical target of a directory link when it should be walked: it leads out of the
    /// tree and has not been walked yet. Loops are reported; other aliases are passed silently
    /// because their real folder is walked anyway.
    fn enter_link(&mut self, link: &Path, parent_real: &Path) -> Option<PathBuf> {
        let target = match fs::canonicalize(link) {
            Ok(target) => target,
            Err(error) => {
                let reason = format!("cannot follow this link: {error} — fix or remove it");
                self.skip(link, reason);
                return None;
            }
        };
        if parent_real.starts_with(&target) {
            let reason = format!(
                "is a symlink loop: it leads back to {}, a folder above it — not followed",
                target.display()
            );
            self.skip(link, reason);
            return None;
        }
        if target.starts_with(&self.top_real) || !self.entered.insert(target.clone()) {
            return None;
        }
        Some(target)
    }

    fn list(&mut self, dir: &Path) -> std::io::Result<Listing> {
        let mut listing = Listing {
            files: Vec::new(),
            dirs: Vec::new(),
        };
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name();
            let file_type = match entry.file_type() {
                Ok(file_type) => file_type,
                Err(error) => {
                    let reason = format!("cannot be inspected: {error} — check its permissions");
                    self.skip(&path, reason);
                    continue;
                }
            };
            if file_type.is_dir() {
                listing.dirs.push(DirItem {
                    name,
                    path,
                    through_link: false,
                });
            } else if file_type.is_symlink() {
                match links::follow(&path) {
                    Ok(meta) if meta.is_dir() => listing.dirs.push(DirItem {
                        name,
                        path,
                        through_link: true,
                    }),
                    Ok(_) => listing.files.push(FileItem {
                        name,
                        path,
                        problem: None,
                    }),
                    Err(problem) => listing.files.push(FileItem {
                        name,
                        path,
                        problem: Some(problem),
                    }),
                }
            } else {
                // Special files (FIFOs, sockets, devices) are listed too, by name only, so that
                // one in the place of weights is reported; nothing opens a file that is not a
                // regular one.
                listing.files.push(FileItem {
                    name,
                    path,
                    problem: None,
                });
            }
        }
        listing.files.sort_by(|a, b| a.name.cmp(&b.name));
        listing.dirs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listing)
    }
}
