//! Where the models are: the Hugging Face hub cache layout, plain folders of weights
//! (safetensors, PyTorch pickles, GGUF), sharded checkpoints, PEFT adapters, and the lineage
//! metadata that sits beside the weights.
//!
//! Discovery only reads directory entries, symlinks and small metadata files (`config.json`,
//! `README.md`, `adapter_config.json`, `*.index.json`); it never opens weights and never writes.
//! It names each model's [`Format`] from its file names; the weights layer checks the contents.

mod env;
mod folder;
mod hub;
mod ids;
mod links;
mod metadata;
mod model_dir;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use crate::weights::Format;
pub use env::{hub_cache_from, hub_cache_variable};

/// One model found on disk, ready to be fingerprinted.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelEntry {
    /// Unique within one scan. `org/name` for hub repos (`org/name@abcd1234` when several
    /// revisions are present), the folder path relative to the scanned root for plain folders;
    /// an id that more than one model would get is qualified with where each was found,
    /// `gentle1001/hub:org/name` (see `ids.rs`).
    pub id: String,
    /// Where the model was found, relative to the scanned root, as it qualifies a repeated id:
    /// the hub cache that holds its repo (`gentle1001/hub`), or `.` when its id is relative to
    /// the root itself (a plain folder tree, one hub cache or one repo named directly). Empty in
    /// bundles written before it was recorded.
    #[serde(default)]
    pub found_in: String,
    /// The id before it was qualified to be unique (`org/name` for `gentle1001/hub:org/name`);
    /// `None` when `id` is that already, as for every model of a single hub cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unqualified_id: Option<String>,
    /// The folder that holds the model's files (a hub snapshot folder or a plain folder).
    pub dir: PathBuf,
    /// The files that make up the weights, in a stable order (shards sorted by name).
    pub weight_files: Vec<WeightFile>,
    /// The format of the weight files (all files of a model share it).
    pub format: Format,
    /// Full weights or a PEFT adapter.
    pub kind: ModelKind,
    /// What the model's own metadata says its parent is, if anything.
    pub declared_parent: Option<DeclaredParent>,
    /// Facts from `config.json`, when present.
    pub config: ModelConfig,
    /// Sum of the weight files' sizes in bytes.
    pub total_bytes: u64,
    /// Hub revision (commit hash) for hub repos.
    pub revision: Option<String>,
    /// Access time of the newest weight file, recorded before anything is read.
    pub last_accessed: Option<SystemTime>,
}

impl ModelEntry {
    /// The id the model's own location gives it, before ids were made unique: the name metadata
    /// (a model card's `base_model`, an adapter's base) knows it by.
    pub fn bare_id(&self) -> &str {
        self.unqualified_id.as_deref().unwrap_or(&self.id)
    }

    /// The place that qualifies the id, with its colon (`gentle1001/hub:` of
    /// `gentle1001/hub:org/name`); `None` for an id as its location gave it, or one numbered
    /// `#2` to stay unique.
    pub fn qualifier(&self) -> Option<&str> {
        let bare = self.unqualified_id.as_deref()?;
        self.id
            .strip_suffix(bare)
            .filter(|qualifier| !qualifier.is_empty())
    }
}

/// One weight file of a model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WeightFile {
    /// Path as the user would see it (inside the snapshot folder for hub repos).
    pub path: PathBuf,
    /// The path after following symlinks (the blob for hub repos); this is the file that is read.
    pub resolved: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// Modification time, part of the fingerprint cache key.
    pub modified: Option<SystemTime>,
    /// Which reader opens it.
    pub format: Format,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ModelKind {
    /// Complete weights (`model.safetensors`, `pytorch_model.bin`, shards, a GGUF file).
    Full,
    /// A PEFT adapter (`adapter_config.json` + `adapter_model.safetensors` or `.bin`).
    Adapter {
        /// `base_model_name_or_path` from `adapter_config.json`.
        base: Option<String>,
        /// LoRA rank `r`.
        rank: Option<u32>,
    },
}

/// A parent named in metadata.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeclaredParent {
    /// The parent's id as written (`org/name`, or a path).
    pub id: String,
    /// `base_model_relation` when given: `adapter`, `merge`, `quantized`, `finetune`.
    pub relation: Option<String>,
    /// The file it came from: `README.md`, `adapter_config.json` or `config.json`.
    pub source: String,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelConfig {
    /// First entry of `architectures`.
    pub architecture: Option<String>,
    pub model_type: Option<String>,
    /// `torch_dtype` or `dtype`.
    pub dtype: Option<String>,
}

/// Something found that is not a readable model, with a reason a person can act on.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// Everything discovery found under one root.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Discovery {
    pub models: Vec<ModelEntry>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{path}: {reason}")]
    Root { path: PathBuf, reason: String },
}

/// Finds every model under `root`: a hub cache (holds `models--*`), a Hugging Face home (holds
/// `hub/`), or any folder tree of models. Models come back sorted by id, each id once (see
/// `ids.rs`), skipped things sorted by path. Nothing is written and no weight file is opened.
pub fn discover(root: &Path) -> Result<Discovery, DiscoverError> {
    let root_error = |reason: String| DiscoverError::Root {
        path: root.to_path_buf(),
        reason,
    };
    let meta = fs::metadata(root).map_err(|error| {
        root_error(match error.kind() {
            io::ErrorKind::NotFound => "does not exist — check the path".to_string(),
            _ => format!("cannot be opened: {error} — check the path and its permissions"),
        })
    })?;
    if !meta.is_dir() {
        return Err(root_error(
            "is not a folder — point mother at a folder of models or a Hugging Face cache"
                .to_string(),
        ));
    }
    let names = entry_names(root)
        .map_err(|error| root_error(format!("cannot be read: {error} — {MAKE_FOLDER_READABLE}")))?;

    let mut found = Discovery::default();
    if let Some(repo) = hub_repo_of(root) {
        // One repo folder, or one of its snapshots, named directly: read as that repo, so its
        // model is `org/name` as in a scan of the whole cache, not a path inside the repo.
        match repo {
            RepoRoot::Repo(dir) => hub::scan_repo(&dir, &mut found.models, &mut found.skipped),
            RepoRoot::Snapshot { repo, snapshot } => {
                hub::scan_one_snapshot(&repo, &snapshot, &mut found.models, &mut found.skipped)
            }
        }
        return Ok(unique_and_sorted(found, |_| ROOT_PLACE.to_string()));
    }
    let holds_model_repos = names.iter().any(|name| {
        name.starts_with(model_dir::MODEL_REPO_PREFIX)
            && model_dir::is_repo_dir(&root.join(name), name)
    });
    if holds_model_repos {
        hub::scan_cache(root, &mut found);
        return Ok(unique_and_sorted(found, |_| ROOT_PLACE.to_string()));
    }
    if names.iter().any(|name| name == "hub") && is_hub_cache(&root.join("hub")) {
        let cache = root.join("hub");
        hub::scan_cache(&cache, &mut found);
        return Ok(unique_and_sorted(found, |_| place_of(root, &cache)));
    }
    // A folder tree: plain models are named by their path below the root; each hub repo met
    // on the way by its repo id, relative to the hub cache (the folder) that holds it.
    let repos = folder::scan_tree(root, &mut found);
    let mut places = vec![ROOT_PLACE.to_string(); found.models.len()];
    for repo in repos {
        hub::scan_repo(&repo, &mut found.models, &mut found.skipped);
        let place = repo
            .parent()
            .map_or_else(|| ROOT_PLACE.to_string(), |cache| place_of(root, cache));
        // The models this repo just added.
        places.resize(found.models.len(), place);
    }
    Ok(unique_and_sorted(found, |index| places[index].clone()))
}

/// What to do about a folder that cannot be listed, as every such message says it.
const MAKE_FOLDER_READABLE: &str =
    "make it readable to your user (its owner can run chmod a+rx on it)";

/// How the scanned root itself is written as a place: ids relative to it are qualified `.:id`.
const ROOT_PLACE: &str = ".";

/// `folder` as a place in ids: its path relative to `root` (`gentle1001/hub`), `.` for the root
/// itself, the whole path when it is not below the root.
fn place_of(root: &Path, folder: &Path) -> String {
    match folder.strip_prefix(root) {
        Ok(relative) if relative.as_os_str().is_empty() => ROOT_PLACE.to_string(),
        Ok(relative) => relative.to_string_lossy().into_owned(),
        Err(_) => folder.to_string_lossy().into_owned(),
    }
}

/// Records where each model was found (`place` of its index in discovery order), makes the ids
/// unique, and sorts.
fn unique_and_sorted(mut found: Discovery, place: impl Fn(usize) -> String) -> Discovery {
    for (index, model) in found.models.iter_mut().enumerate() {
        model.found_in = place(index);
    }
    ids::make_unique(&mut found.models);
    sorted(found)
}

/// Models by id, skipped things by path, each reported once.
fn sorted(mut found: Discovery) -> Discovery {
    found.models.sort_by(|a, b| a.id.cmp(&b.id));
    found
        .skipped
        .sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.reason.cmp(&b.reason)));
    found.skipped.dedup();
    found
}

/// A scan root that is part of one hub repo.
enum RepoRoot {
    /// The `models--{org}--{name}` folder itself.
    Repo(PathBuf),
    /// One folder under its `snapshots/`.
    Snapshot { repo: PathBuf, snapshot: PathBuf },
}

/// Whether `root` is a hub model repo folder or one of its snapshot folders. The name is taken
/// from the real path, so that `.` inside a repo is recognised too; the path handed on is the
/// one the user gave when it already carries the name, so that the paths shown are theirs.
fn hub_repo_of(root: &Path) -> Option<RepoRoot> {
    let real = fs::canonicalize(root).ok()?;
    let named = |path: &Path, real: &Path| {
        if path.file_name() == real.file_name() {
            path.to_path_buf()
        } else {
            real.to_path_buf()
        }
    };
    let is_model_repo = |dir: &Path| {
        dir.file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| {
                name.starts_with(model_dir::MODEL_REPO_PREFIX) && model_dir::is_repo_dir(dir, name)
            })
    };
    if is_model_repo(&real) {
        return Some(RepoRoot::Repo(named(root, &real)));
    }
    let snapshots = real.parent()?;
    let repo = snapshots.parent()?;
    (snapshots.file_name()? == "snapshots" && is_model_repo(repo)).then(|| RepoRoot::Snapshot {
        repo: repo.to_path_buf(),
        snapshot: named(root, &real),
    })
}

/// The Hub repo id (`org/name`) of a model folder inside a hub cache's `models--org--name`
/// folder, for messages that tell the user what to download again; `None` outside a hub cache.
pub fn hub_repo_of_dir(dir: &Path) -> Option<String> {
    dir.ancestors()
        .filter_map(|folder| folder.file_name()?.to_str())
        .find_map(hub::repo_id)
}

/// Whether `target` (a file or folder, which need not exist yet: its nearest existing folder
/// decides) lies inside the folder of models `root`. mother writes nothing there: a file in a
/// model cache is one the hub client does not know, and a later scan would meet it. A `root`
/// that is not a folder (a bundle file) holds nothing.
pub fn lies_inside(target: &Path, root: &Path) -> bool {
    let absolute = match std::env::current_dir() {
        _ if target.is_absolute() => target.to_path_buf(),
        Ok(current) => current.join(target),
        Err(_) => return false,
    };
    let existing = absolute.ancestors().find(|path| path.exists());
    match (existing.map(Path::canonicalize), root.canonicalize()) {
        (Some(Ok(existing)), Ok(root)) => root.is_dir() && existing.starts_with(&root),
        _ => false,
    }
}

/// How a heading names a place models were found in ([`ModelEntry::found_in`]): as ids are
/// qualified with it (`gentle1001/hub`), `./` for the scanned folder itself.
pub fn place_label(found_in: &str) -> &str {
    match found_in {
        ROOT_PLACE => "./",
        "" => "(folder not recorded)",
        place => place,
    }
}

/// A short name for something found at `path` under the scanned `root`, for lists that have
/// no room for whole paths: inside a hub repo, the repo id and the path within the repo with
/// `snapshots/<commit>` left out (`org/name/model.safetensors`, `org/name/refs/pr1`, `org/name`
/// for a snapshot folder), qualified with the cache's place when the cache lies below the root
/// (`gentle1001/hub:org/name`, as ids are); elsewhere the path relative to `root`, or the whole
/// path when it is not below it.
pub fn name_under_root(root: &Path, path: &Path) -> String {
    let names: Vec<&std::ffi::OsStr> = path.iter().collect();
    let repo = (0..names.len())
        .rev()
        .find_map(|index| Some((index, hub::repo_id(names[index].to_str()?)?)));
    let Some((repo, id)) = repo else {
        return match path.strip_prefix(root) {
            Ok(relative) if !relative.as_os_str().is_empty() => relative.display().to_string(),
            _ => path.display().to_string(),
        };
    };
    let mut within = &names[repo + 1..];
    if within.first().is_some_and(|name| *name == "snapshots") {
        within = within.get(2..).unwrap_or_default();
    }
    let cache: PathBuf = names[..repo].iter().collect();
    let place = match cache.strip_prefix(root) {
        Ok(relative) if !relative.as_os_str().is_empty() => {
            format!("{}:", relative.display())
        }
        _ => String::new(),
    };
    let mut name = format!("{place}{id}");
    for part in within {
        name.push('/');
        name.push_str(&part.to_string_lossy());
    }
    name
}

/// The hub cache the official client would use, from the environment:
/// `HF_HUB_CACHE`, `HUGGINGFACE_HUB_CACHE`, `HF_HOME/hub`, `XDG_CACHE_HOME/huggingface/hub`,
/// `~/.cache/huggingface/hub`.
pub fn default_hub_cache() -> Option<PathBuf> {
    hub_cache_from(|name| std::env::var_os(name))
}

/// Names in a folder, lossily decoded (only used to recognise the layout).
fn entry_names(dir: &Path) -> io::Result<Vec<String>> {
    fs::read_dir(dir)?
        .map(|entry| entry.map(|entry| entry.file_name().to_string_lossy().into_owned()))
        .collect()
}

/// A `hub/` folder of a Hugging Face home: it holds hub repos or the client's bookkeeping, or
/// is still empty. A `hub/` subfolder of someone's model tree is walked as a plain folder.
fn is_hub_cache(dir: &Path) -> bool {
    const MARKERS: [&str; 3] = [".locks", "CACHEDIR.TAG", "version.txt"];
    match entry_names(dir) {
        Ok(names) => {
            names.is_empty()
                || names
                    .iter()
                    .any(|name| model_dir::is_hub_entry(name) || MARKERS.contains(&name.as_str()))
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::name_under_root;
    use std::path::Path;

    fn name(root: &str, path: &str) -> String {
        name_under_root(Path::new(root), Path::new(path))
    }

    #[test]
    fn hub_files_are_named_by_their_repo() {
        let hub = "/home/ada/.cache/huggingface/hub";
        let repo = format!("{hub}/models--acme--chat-mini");
        let snapshot = format!("{repo}/snapshots/0ba3a8d3e8d6443be412f3b2d10441e50f619590");
        assert_eq!(name(hub, &snapshot), "acme/chat-mini");
        assert_eq!(
            name(hub, &format!("{snapshot}/model.safetensors")),
            "acme/chat-mini/model.safetensors"
        );
        assert_eq!(
            name(hub, &format!("{snapshot}/text/model.safetensors")),
            "acme/chat-mini/text/model.safetensors"
        );
        assert_eq!(
            name(hub, &format!("{repo}/blobs/deadbeef.incomplete")),
            "acme/chat-mini/blobs/deadbeef.incomplete"
        );
        assert_eq!(
            name(hub, &format!("{repo}/refs/pr/1")),
            "acme/chat-mini/refs/pr/1"
        );
        assert_eq!(name(hub, &format!("{hub}/models--gpt2")), "gpt2");
        // A repo or snapshot scanned on its own: the repo id, no place.
        assert_eq!(
            name(&repo, &format!("{snapshot}/x.bin")),
            "acme/chat-mini/x.bin"
        );
        assert_eq!(name(&snapshot, &snapshot), "acme/chat-mini");
    }

    #[test]
    fn a_cache_below_the_root_qualifies_the_repo_as_ids_do() {
        assert_eq!(
            name(
                "/data",
                "/data/gentle1001/hub/models--acme--chat/snapshots/abc/model.safetensors"
            ),
            "gentle1001/hub:acme/chat/model.safetensors"
        );
    }

    #[test]
    fn other_paths_are_relative_to_the_root() {
        assert_eq!(
            name("/models", "/models/team/bert/model.safetensors"),
            "team/bert/model.safetensors"
        );
        assert_eq!(name("/models", "/elsewhere/x.bin"), "/elsewhere/x.bin");
        assert_eq!(name("/models", "/models"), "/models");
        assert_eq!(
            name("/hub", "broken/model.safetensors"),
            "broken/model.safetensors"
        );
    }
}
