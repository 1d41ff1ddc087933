//! Whether one folder holds models, which weight files make them up (safetensors, else PyTorch
//! pickles; GGUF files beside them are models of their own), and what the folder's metadata
//! says. Used for plain folders and for hub snapshot folders alike; weights are only looked at
//! through their directory entries and metadata, never opened. It also tells a hub repo folder
//! (laid out by the client) from a plain one, so the walk and the hub reader agree on which is which.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use super::links::{self, Unusable};
use super::metadata::{self, CardLineage, ConfigFacts};
use super::{DeclaredParent, ModelEntry, ModelKind, Skipped, WeightFile};
use crate::weights::Format;

/// The hub client's repo folders: `models--{org}--{name}`, and datasets and spaces beside them.
pub(super) const MODEL_REPO_PREFIX: &str = "models--";
const OTHER_REPO_PREFIXES: [&str; 2] = ["datasets--", "spaces--"];

/// Whether a folder name is a hub cache repo of any kind (model, dataset, space).
pub(super) fn is_hub_entry(name: &str) -> bool {
    name.starts_with(MODEL_REPO_PREFIX)
        || OTHER_REPO_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

/// Whether `dir`, named `name`, is a hub repo folder: the right prefix and the client's layout.
/// A user's own folder that happens to be called `models--x` is not.
pub(super) fn is_repo_dir(dir: &Path, name: &str) -> bool {
    is_hub_entry(name)
        && ["snapshots", "blobs", "refs"]
            .iter()
            .any(|part| dir.join(part).is_dir())
}

/// A file entry of a folder, as listed by the walker.
#[derive(Debug)]
pub(super) struct FileItem {
    pub name: OsString,
    pub path: PathBuf,
    /// Set when the entry is a link that cannot be followed.
    pub problem: Option<Unusable>,
}

/// Where the folder sits, which shapes its id and the fixes suggested for it.
pub(super) struct Place<'a> {
    /// The model's own id (without a revision suffix).
    pub id: &'a str,
    /// The hub repo (`org/name`) when the folder is in a hub snapshot.
    pub repo: Option<&'a str>,
    /// A folder above already holds weights: other formats here are exports of that model.
    pub inside_model: bool,
}

/// What one folder turned out to be.
pub(super) struct Assessment {
    pub models: Vec<ModelEntry>,
    /// The folder has weights (even if a model was skipped for a bad file).
    pub holds_weights: bool,
}

/// Looks at one folder's files and reports its models, the reasons they cannot be used, or
/// nothing.
pub(super) fn assess(
    dir: &Path,
    files: &[FileItem],
    place: &Place<'_>,
    skipped: &mut Vec<Skipped>,
) -> Assessment {
    let mut notes = Notes {
        place,
        skipped,
        reported: Vec::new(),
    };
    let main = choose_weights(dir, files, &mut notes);
    let ggufs = gguf_models(files, &mut notes);
    if matches!(main, Choice::Nothing) && ggufs.is_empty() {
        report_other_formats(files, &mut notes);
        notes.report_unusable_links(files);
        return Assessment {
            models: Vec::new(),
            holds_weights: false,
        };
    }
    // A folder of one model is that model; GGUF files beside other weights, or beside each
    // other, are named by their file.
    let gguf_alone = matches!(main, Choice::Nothing) && ggufs.len() == 1;
    let mut named_weights: Vec<(String, Weights)> = Vec::new();
    if let Choice::Weights(weights) = main {
        named_weights.push((place.id.to_string(), weights));
    }
    for weights in ggufs {
        let id = match &weights.label {
            Some(label) if !gguf_alone => format!("{}/{label}", place.id),
            _ => place.id.to_string(),
        };
        named_weights.push((id, weights));
    }
    let mut models = Vec::new();
    if !named_weights.is_empty() {
        let adapter = named_weights.iter().any(|(_, weights)| weights.adapter);
        let folder = FolderMetadata::read(files, adapter, &mut notes);
        for (id, weights) in named_weights {
            models.extend(build(dir, weights, &id, &folder, &mut notes));
        }
    }
    notes.report_unusable_links(files);
    Assessment {
        models,
        holds_weights: true,
    }
}

enum Choice {
    /// No safetensors or pickle weights here.
    Nothing,
    /// Weights are here but cannot be used; the reasons are already reported.
    Unusable,
    Weights(Weights),
}

/// The files of one model.
struct Weights {
    paths: Vec<PathBuf>,
    format: Format,
    adapter: bool,
    /// The file name that tells this model from others in the folder (GGUF files).
    label: Option<String>,
}

impl Weights {
    fn full(paths: Vec<PathBuf>, format: Format) -> Choice {
        Choice::Weights(Self {
            paths,
            format,
            adapter: false,
            label: None,
        })
    }

    fn adapter(path: PathBuf, format: Format) -> Choice {
        Choice::Weights(Self {
            paths: vec![path],
            format,
            adapter: true,
            label: None,
        })
    }
}

/// Which files are the weights, in the order `transformers` and `peft` look for them, with
/// safetensors before pickles: `model.safetensors`, the shards of a safetensors index, a
/// safetensors adapter, every `*.safetensors` file (sorted); then `pytorch_model.bin`, the
/// shards of a `*.bin.index.json`, `adapter_model.bin`.
fn choose_weights(dir: &Path, files: &[FileItem], notes: &mut Notes<'_, '_>) -> Choice {
    if let Some(single) = named(files, "model.safetensors") {
        return Weights::full(vec![single.path.clone()], Format::Safetensors);
    }
    if let Some(index) = index_file(
        files,
        "model.safetensors.index.json",
        ".safetensors.index.json",
    ) {
        return sharded(dir, index, Format::Safetensors, notes);
    }
    if let Some(adapter) = named(files, "adapter_model.safetensors") {
        return Weights::adapter(adapter.path.clone(), Format::Safetensors);
    }
    let paths: Vec<PathBuf> = files
        .iter()
        .filter(|file| lower_name(&file.name).ends_with(".safetensors"))
        .map(|file| file.path.clone())
        .collect();
    if !paths.is_empty() {
        return Weights::full(paths, Format::Safetensors);
    }
    if let Some(single) = named(files, "pytorch_model.bin") {
        return Weights::full(vec![single.path.clone()], Format::Pickle);
    }
    if let Some(index) = index_file(files, "pytorch_model.bin.index.json", ".bin.index.json") {
        return sharded(dir, index, Format::Pickle, notes);
    }
    if let Some(adapter) = named(files, "adapter_model.bin") {
        return Weights::adapter(adapter.path.clone(), Format::Pickle);
    }
    Choice::Nothing
}

/// The index called `name`, else the first whose name ends with `suffix`.
fn index_file<'f>(files: &'f [FileItem], name: &str, suffix: &str) -> Option<&'f FileItem> {
    named(files, name).or_else(|| {
        files
            .iter()
            .find(|file| lower_name(&file.name).ends_with(suffix))
    })
}

fn sharded(dir: &Path, index: &FileItem, format: Format, notes: &mut Notes<'_, '_>) -> Choice {
    match shards(dir, index, notes) {
        Some(paths) => Weights::full(paths, format),
        None => Choice::Unusable,
    }
}

/// One model per `*.gguf` file, or per complete set of split files
/// (`name-00001-of-00003.gguf` ...), sorted by file name. An incomplete split set is reported.
fn gguf_models(files: &[FileItem], notes: &mut Notes<'_, '_>) -> Vec<Weights> {
    /// The parts found of one split set: its stem, its part count, `(part, file)`.
    struct Split<'f> {
        stem: String,
        count: u32,
        parts: Vec<(u32, &'f FileItem)>,
    }
    let mut singles = Vec::new();
    let mut splits: Vec<Split<'_>> = Vec::new();
    for file in files {
        let name = file.name.to_string_lossy();
        if !name.to_ascii_lowercase().ends_with(".gguf") {
            continue;
        }
        match split_part(&name) {
            Some((stem, part, count)) => {
                match splits
                    .iter_mut()
                    .find(|split| split.stem == stem && split.count == count)
                {
                    Some(split) => split.parts.push((part, file)),
                    None => splits.push(Split {
                        stem: stem.to_string(),
                        count,
                        parts: vec![(part, file)],
                    }),
                }
            }
            None => singles.push(Weights {
                paths: vec![file.path.clone()],
                format: Format::Gguf,
                adapter: false,
                label: Some(name.into_owned()),
            }),
        }
    }
    for Split {
        stem,
        count,
        mut parts,
    } in splits
    {
        parts.sort_by_key(|(part, _)| *part);
        let first = parts[0].1;
        let label = first.name.to_string_lossy().into_owned();
        let complete = parts.len() == count as usize
            && parts
                .iter()
                .zip(1..)
                .all(|((part, _), expected)| *part == expected);
        if !complete {
            let missing = (1..=count)
                .find(|n| parts.iter().all(|(part, _)| part != n))
                .unwrap_or(count);
            let reason = format!(
                "GGUF split {stem}-{missing:05}-of-{count:05}.gguf is missing — the split model {label} in {} is skipped; {}",
                notes.place.id,
                notes.redownload()
            );
            notes.skip(&first.path, reason);
            continue;
        }
        singles.push(Weights {
            paths: parts.iter().map(|(_, file)| file.path.clone()).collect(),
            format: Format::Gguf,
            adapter: false,
            label: Some(label),
        });
    }
    singles.sort_by(|a, b| a.label.cmp(&b.label));
    singles
}

/// `("name", 2, 3)` for `name-00002-of-00003.gguf`, llama.cpp's split naming.
fn split_part(file_name: &str) -> Option<(&str, u32, u32)> {
    let stem = &file_name[..file_name.len().checked_sub(5)?];
    let (rest, count) = stem.rsplit_once("-of-")?;
    let (prefix, part) = rest.rsplit_once('-')?;
    let number = |text: &str| {
        (text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u32>().ok())
            .flatten()
    };
    let (part, count) = (number(part)?, number(count)?);
    (part >= 1 && part <= count).then_some((prefix, part, count))
}

/// The shard files an index names, or `None` (with the reason reported) when the index cannot
/// be read or names a shard that is not there.
fn shards(dir: &Path, index: &FileItem, notes: &mut Notes<'_, '_>) -> Option<Vec<PathBuf>> {
    let index_name = index.name.to_string_lossy().into_owned();
    let bytes = notes.read(index)?;
    let shard_names = match metadata::parse_index(&bytes) {
        Ok(names) => names,
        Err(reason) => {
            let reason = format!(
                "{reason} — cannot tell which shards make up the model; model {} skipped, {}",
                notes.place.id,
                notes.redownload()
            );
            notes.skip(&index.path, reason);
            return None;
        }
    };
    let mut paths = Vec::with_capacity(shard_names.len());
    let mut complete = true;
    for shard in shard_names {
        let relative = Path::new(&shard);
        if !relative
            .components()
            .all(|part| matches!(part, Component::Normal(_)))
        {
            let reason = format!(
                "{index_name} names shard {shard:?}, which is outside the model's folder — model {} skipped; fix the index",
                notes.place.id
            );
            notes.skip(&index.path, reason);
            complete = false;
            continue;
        }
        let path = dir.join(relative);
        if fs::symlink_metadata(&path).is_err() {
            let reason = format!(
                "shard {shard} named in {index_name} is missing — model {} skipped; {}",
                notes.place.id,
                notes.redownload()
            );
            notes.skip(&path, reason);
            complete = false;
            continue;
        }
        paths.push(path);
    }
    complete.then_some(paths)
}

/// What the folder's metadata files say, read once for all its models.
struct FolderMetadata {
    card: CardLineage,
    config: ConfigFacts,
    adapter: metadata::AdapterFacts,
}

impl FolderMetadata {
    /// `adapter`: the folder holds an adapter, whose `adapter_config.json` is read too.
    fn read(files: &[FileItem], adapter: bool, notes: &mut Notes<'_, '_>) -> Self {
        let card = named(files, "README.md")
            .and_then(|readme| notes.read(readme))
            .map(|bytes| metadata::card_lineage(&String::from_utf8_lossy(&bytes)))
            .unwrap_or_default();
        let config = named(files, "config.json")
            .and_then(|config| notes.parse(config, metadata::parse_config))
            .unwrap_or_default();
        let adapter = named(files, "adapter_config.json")
            .filter(|_| adapter)
            .and_then(|config| notes.parse(config, metadata::parse_adapter_config))
            .unwrap_or_default();
        Self {
            card,
            config,
            adapter,
        }
    }
}

/// Stats the weight files and assembles the model `id`; `None` when a weight file is unusable.
fn build(
    dir: &Path,
    weights: Weights,
    id: &str,
    folder: &FolderMetadata,
    notes: &mut Notes<'_, '_>,
) -> Option<ModelEntry> {
    let format = weights.format;
    let mut weight_files = Vec::with_capacity(weights.paths.len());
    let mut last_accessed: Option<SystemTime> = None;
    let mut complete = true;
    for path in weights.paths {
        let problem = match links::follow(&path) {
            Ok(meta) if !meta.is_file() => {
                "is not a regular file — replace it with the weights file".to_string()
            }
            Ok(meta) if meta.len() == 0 => format!("is empty (0 bytes) — {}", notes.redownload()),
            Ok(meta) if meta.len() < format.min_bytes() => format!(
                "is {} bytes, too small to be {} — {}",
                meta.len(),
                format.name(),
                notes.redownload()
            ),
            Ok(meta) => {
                if let Ok(accessed) = meta.accessed() {
                    last_accessed = last_accessed.max(Some(accessed));
                }
                weight_files.push(WeightFile {
                    resolved: fs::canonicalize(&path).unwrap_or_else(|_| path.clone()),
                    bytes: meta.len(),
                    modified: meta.modified().ok(),
                    format,
                    path,
                });
                continue;
            }
            Err(unusable) => unusable.reason(notes.place.repo),
        };
        let reason = format!("{problem}; model {id} skipped");
        notes.skip(&path, reason);
        complete = false;
    }
    if !complete {
        return None;
    }

    let kind = if weights.adapter {
        ModelKind::Adapter {
            base: folder.adapter.base.clone(),
            rank: folder.adapter.rank,
        }
    } else {
        ModelKind::Full
    };
    let declared_parent = declared_parent(
        folder.card.clone(),
        &kind,
        folder.config.name_or_path.as_deref(),
        dir,
        notes.place,
    );
    Some(ModelEntry {
        id: id.to_string(),
        // Both set once the whole scan is known (`discover`, `ids.rs`).
        found_in: String::new(),
        unqualified_id: None,
        dir: dir.to_path_buf(),
        total_bytes: weight_files.iter().map(|file| file.bytes).sum(),
        weight_files,
        format,
        kind,
        declared_parent,
        config: folder.config.config.clone(),
        revision: None,
        last_accessed,
    })
}

/// The parent the metadata names: the model card first (it is what the hub shows), then the
/// adapter's base, then `config.json`'s `_name_or_path`.
fn declared_parent(
    card: CardLineage,
    kind: &ModelKind,
    name_or_path: Option<&str>,
    dir: &Path,
    place: &Place<'_>,
) -> Option<DeclaredParent> {
    if let Some(id) = card.base_model {
        return Some(DeclaredParent {
            id,
            relation: card.relation,
            source: "README.md".to_string(),
        });
    }
    if let ModelKind::Adapter {
        base: Some(base), ..
    } = kind
    {
        return Some(DeclaredParent {
            id: base.clone(),
            relation: card.relation.or_else(|| Some("adapter".to_string())),
            source: "adapter_config.json".to_string(),
        });
    }
    let name = name_or_path?;
    names_another_model(name, dir, place).then(|| DeclaredParent {
        id: name.to_string(),
        relation: card.relation,
        source: "config.json".to_string(),
    })
}

/// `_name_or_path` is where `from_pretrained` loaded the weights from before they were saved
/// here. It names the parent unless it names the model itself: its own id or repo, the
/// un-prefixed legacy form of its id (`gpt2` for `openai-community/gpt2`), or a local path whose
/// last part is this model's folder or name (a model saved and reloaded in place).
fn names_another_model(name: &str, dir: &Path, place: &Place<'_>) -> bool {
    let own_ids = [Some(place.id), place.repo];
    if own_ids
        .into_iter()
        .flatten()
        .any(|own| own == name || own.ends_with(&format!("/{name}")))
    {
        return false;
    }
    let looks_local = name.starts_with(['/', '.', '~']) || name.contains('\\');
    if looks_local {
        let last = name
            .trim_end_matches(['/', '\\'])
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default();
        let folder = dir.file_name().map(OsStr::to_string_lossy);
        let own_last = place.id.rsplit('/').next();
        if folder.as_deref() == Some(last) || own_last == Some(last) {
            return false;
        }
    }
    true
}

/// Weight files that are not read, reported so the user knows why a model is missing: other
/// formats, and pickles under names `transformers` does not load as weights. `.bin`, `.pt`,
/// `.pth`, `.h5` and `.msgpack` are also everyday extensions (firmware, Python path files,
/// build caches), so such a file counts only in a folder with a model's config or under a name
/// the Hugging Face libraries write; `.onnx` and `.ckpt` always count. Trainer state files
/// (`optimizer.pt`, `training_args.bin`, ...) are not weights.
fn report_other_formats(files: &[FileItem], notes: &mut Notes<'_, '_>) {
    if notes.place.inside_model {
        return;
    }
    let model_folder = ["config.json", "adapter_config.json", "model_index.json"]
        .iter()
        .any(|name| named(files, name).is_some());
    for file in files {
        let name = lower_name(&file.name);
        if is_trainer_state(&name) {
            continue;
        }
        let Some((stem, extension)) = name.rsplit_once('.') else {
            continue;
        };
        const PICKLE: &str = "pickle weights are read only as pytorch_model.bin, adapter_model.bin or the shards of a *.bin.index.json";
        let (format, always) = match extension {
            "bin" | "pt" | "pth" => (PICKLE, false),
            "ckpt" => (PICKLE, true),
            "onnx" => ("ONNX format is not read", true),
            "h5" => ("Keras/TensorFlow HDF5 format is not read", false),
            "msgpack" => ("Flax msgpack format is not read", false),
            _ => continue,
        };
        if !(always || model_folder || is_library_weight_name(stem)) {
            continue;
        }
        let reason = format!(
            "{}: {format} — convert to safetensors",
            file.name.to_string_lossy()
        );
        notes.skip(&file.path, reason);
    }
}

/// Stems of the weight files `transformers`, `diffusers` and `peft` write in other formats
/// (`pytorch_model-00001-of-00002.bin`, `tf_model.h5`, `flax_model.msgpack`, ...).
fn is_library_weight_name(lower_stem: &str) -> bool {
    const PREFIXES: [&str; 5] = [
        "pytorch_model",
        "diffusion_pytorch_model",
        "adapter_model",
        "tf_model",
        "flax_model",
    ];
    PREFIXES.iter().any(|prefix| lower_stem.starts_with(prefix))
}

fn is_trainer_state(lower_name: &str) -> bool {
    matches!(
        lower_name,
        "training_args.bin"
            | "optimizer.pt"
            | "optimizer.bin"
            | "scheduler.pt"
            | "scheduler.bin"
            | "scaler.pt"
    ) || lower_name.starts_with("rng_state")
}

fn named<'f>(files: &'f [FileItem], name: &str) -> Option<&'f FileItem> {
    files.iter().find(|file| file.name == name)
}

fn lower_name(name: &OsStr) -> String {
    name.to_string_lossy().to_ascii_lowercase()
}

/// Collects what was skipped in this folder, so that each path is reported once.
struct Notes<'p, 's> {
    place: &'p Place<'p>,
    skipped: &'s mut Vec<Skipped>,
    reported: Vec<PathBuf>,
}

impl Notes<'_, '_> {
    fn skip(&mut self, path: &Path, reason: String) {
        self.reported.push(path.to_path_buf());
        self.skipped.push(Skipped {
            path: path.to_path_buf(),
            reason,
        });
    }

    fn redownload(&self) -> String {
        match self.place.repo {
            Some(repo) => format!("half-downloaded? re-download {repo}"),
            None => "copy or download the model again".to_string(),
        }
    }

    /// A metadata file's bytes, or `None` with the reason reported.
    fn read(&mut self, file: &FileItem) -> Option<Vec<u8>> {
        let outcome = match &file.problem {
            Some(problem) => Err(problem.reason(self.place.repo)),
            None => match links::follow(&file.path) {
                Ok(meta) if meta.is_file() => metadata::read_small(&file.path),
                Ok(_) => Err("is not a regular file — its metadata is ignored".to_string()),
                Err(problem) => Err(problem.reason(self.place.repo)),
            },
        };
        outcome.map_err(|reason| self.skip(&file.path, reason)).ok()
    }

    /// A parsed metadata file, or `None` with the reason reported.
    fn parse<T>(
        &mut self,
        file: &FileItem,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Option<T> {
        let bytes = self.read(file)?;
        parse(&bytes)
            .map_err(|reason| {
                let reason = format!("{reason} — fix or delete it; its metadata is ignored");
                self.skip(&file.path, reason);
            })
            .ok()
    }

    /// Links that cannot be followed and were not reported yet: every one in a hub snapshot
    /// (each is a file of the repo), only model-related ones in plain folders.
    fn report_unusable_links(&mut self, files: &[FileItem]) {
        for file in files {
            let Some(problem) = &file.problem else {
                continue;
            };
            if self.reported.contains(&file.path) {
                continue;
            }
            if self.place.repo.is_none() && !is_model_related(&lower_name(&file.name)) {
                continue;
            }
            let reason = problem.reason(self.place.repo);
            self.skip(&file.path, reason);
        }
    }
}

fn is_model_related(lower_name: &str) -> bool {
    const EXTENSIONS: [&str; 9] = [
        ".safetensors",
        ".json",
        ".bin",
        ".pt",
        ".pth",
        ".ckpt",
        ".gguf",
        ".onnx",
        ".msgpack",
    ];
    lower_name == "readme.md" || EXTENSIONS.iter().any(|ext| lower_name.ends_with(ext))
}
