//! Whether one folder holds a model, which safetensors files make it up, and what its metadata
//! says. Used for plain folders and for hub snapshot folders alike; weights are only looked at
//! through their directory entries and metadata, never opened.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use super::links::{self, Unusable};
use super::metadata::{self, CardLineage};
use super::{DeclaredParent, ModelEntry, ModelKind, Skipped, WeightFile};

/// The smallest possible safetensors file: the 8-byte header length alone.
const MIN_SAFETENSORS_BYTES: u64 = 8;

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
    pub model: Option<ModelEntry>,
    /// The folder has safetensors weights (even if the model was skipped for a bad file).
    pub holds_weights: bool,
}

/// Looks at one folder's files and reports a model, the reasons it cannot be used, or nothing.
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
    let model = match choose_weights(dir, files, &mut notes) {
        Choice::Nothing => {
            report_other_formats(files, &mut notes);
            notes.report_unusable_links(files);
            return Assessment {
                model: None,
                holds_weights: false,
            };
        }
        Choice::Unusable => None,
        Choice::Weights { paths, adapter } => build(dir, files, paths, adapter, &mut notes),
    };
    notes.report_unusable_links(files);
    Assessment {
        model,
        holds_weights: true,
    }
}

enum Choice {
    /// No safetensors weights here.
    Nothing,
    /// Weights are here but cannot be used; the reasons are already reported.
    Unusable,
    Weights {
        paths: Vec<PathBuf>,
        adapter: bool,
    },
}

/// Which files are the weights: `model.safetensors`, else the shards of an index, else an
/// adapter, else every `*.safetensors` file (sorted). This is the order `transformers` and
/// `peft` look for them.
fn choose_weights(dir: &Path, files: &[FileItem], notes: &mut Notes<'_, '_>) -> Choice {
    if let Some(single) = named(files, "model.safetensors") {
        return Choice::Weights {
            paths: vec![single.path.clone()],
            adapter: false,
        };
    }
    let index = named(files, "model.safetensors.index.json").or_else(|| {
        files
            .iter()
            .find(|file| lower_name(&file.name).ends_with(".safetensors.index.json"))
    });
    if let Some(index) = index {
        return match shards(dir, index, notes) {
            Some(paths) => Choice::Weights {
                paths,
                adapter: false,
            },
            None => Choice::Unusable,
        };
    }
    if let Some(adapter) = named(files, "adapter_model.safetensors") {
        return Choice::Weights {
            paths: vec![adapter.path.clone()],
            adapter: true,
        };
    }
    let paths: Vec<PathBuf> = files
        .iter()
        .filter(|file| lower_name(&file.name).ends_with(".safetensors"))
        .map(|file| file.path.clone())
        .collect();
    if paths.is_empty() {
        Choice::Nothing
    } else {
        Choice::Weights {
            paths,
            adapter: false,
        }
    }
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

/// Stats the weight files and reads the metadata; `None` when a weight file is unusable.
fn build(
    dir: &Path,
    files: &[FileItem],
    paths: Vec<PathBuf>,
    adapter: bool,
    notes: &mut Notes<'_, '_>,
) -> Option<ModelEntry> {
    let mut weight_files = Vec::with_capacity(paths.len());
    let mut last_accessed: Option<SystemTime> = None;
    let mut complete = true;
    for path in paths {
        let problem = match links::follow(&path) {
            Ok(meta) if !meta.is_file() => {
                "is not a regular file — replace it with the weights file".to_string()
            }
            Ok(meta) if meta.len() == 0 => format!("is empty (0 bytes) — {}", notes.redownload()),
            Ok(meta) if meta.len() < MIN_SAFETENSORS_BYTES => format!(
                "is {} bytes, too small to be safetensors — {}",
                meta.len(),
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
                    path,
                });
                continue;
            }
            Err(unusable) => unusable.reason(notes.place.repo),
        };
        let reason = format!("{problem}; model {} skipped", notes.place.id);
        notes.skip(&path, reason);
        complete = false;
    }
    if !complete {
        return None;
    }

    let card = named(files, "README.md")
        .and_then(|readme| notes.read(readme))
        .map(|bytes| metadata::card_lineage(&String::from_utf8_lossy(&bytes)))
        .unwrap_or_default();
    let config_facts = named(files, "config.json")
        .and_then(|config| notes.parse(config, metadata::parse_config))
        .unwrap_or_default();
    let kind = if adapter {
        let facts = named(files, "adapter_config.json")
            .and_then(|config| notes.parse(config, metadata::parse_adapter_config))
            .unwrap_or_default();
        ModelKind::Adapter {
            base: facts.base,
            rank: facts.rank,
        }
    } else {
        ModelKind::Full
    };
    let declared_parent = declared_parent(
        card,
        &kind,
        config_facts.name_or_path.as_deref(),
        dir,
        notes.place,
    );
    Some(ModelEntry {
        id: notes.place.id.to_string(),
        dir: dir.to_path_buf(),
        total_bytes: weight_files.iter().map(|file| file.bytes).sum(),
        weight_files,
        kind,
        declared_parent,
        config: config_facts.config,
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

/// Other weight formats, which are reported so the user knows why a model is missing.
/// `.bin`, `.pt`, `.pth`, `.h5` and `.msgpack` are also everyday extensions (firmware, Python
/// path files, build caches), so such a file counts only in a folder with a model's config or
/// under a name the Hugging Face libraries write; `.gguf`, `.onnx` and `.ckpt` always count.
/// Trainer state files (`optimizer.pt`, `training_args.bin`, ...) are not weights.
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
        let (format, always) = match extension {
            "bin" | "pt" | "pth" => ("pickle format is not read (it can run code)", false),
            "ckpt" => ("pickle format is not read (it can run code)", true),
            "gguf" => ("GGUF format is not read", true),
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
