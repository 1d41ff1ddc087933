//! The demo zoo: model families made by real training, written as a Hugging Face hub cache.
//!
//! Every model is trained here, in Rust, from a seeded random init: roots are pre-trained on a
//! Zipf bag-of-tokens task ([`task`]), which makes their weights heavy-tailed; children are
//! fine-tuned from their parent on a new teacher, either fully or with LoRA ([`train`]). The
//! family's shape and extras are in [`family`], the hub layout in [`hub`]. The same
//! [`FamilySpec`] always gives byte-identical files.
//!
//! Regimes: a full fine-tune trains every tensor; a LoRA fine-tune trains rank-`r` factors on
//! `lora_targets` (by default all four linear layers, `layers.0`..`layers.3`) with the
//! embedding and biases frozen, and stores the merged `W + (alpha / r) B A`. Measured on these
//! families: full fine-tunes lower the summed excess kurtosis of the 2-D tensors on 85% (default
//! family) to 92% (`small`) of edges, while LoRA fine-tunes mostly raise it (it falls on 38% and
//! 0% of edges: a low-rank update is itself heavy-tailed), so the direction cue depends on the
//! regime here.
//!
//! ## Layout
//! `DIR` is laid out as a Hugging Face home: the models are a hub cache in `DIR/hub`
//! (`models--mother-demo--full0-root/...`), and the answer key is `DIR/truth.json`. The key
//! sits outside the cache because the official cache scanner warns about any stray file there.
//!
//! ## `truth.json`
//! Written last, so a family without it is incomplete:
//! ```json
//! {
//!   "format": 1,
//!   "spec": { ...the FamilySpec... },
//!   "truth":  { "mother-demo/full0-c0": "mother-demo/full0-root", "mother-demo/full0-root": null, ... },
//!   "regime": { "mother-demo/full0-c0": "full", ... },
//!   "extras": {
//!     "duplicate_of":   { "mother-mirror/full0-c0": "mother-demo/full0-c0" },
//!     "quantized_from": { "mother-demo/full0-c3-int8": "mother-demo/full0-c3" },
//!     "cast_from":      { "mother-demo/full0-c0-bf16": "mother-demo/full0-c0" },
//!     "adapters":       { "mother-demo/lora0-c0-adapter": { "base": "mother-demo/lora0-root",
//!                                                           "merged_as": "mother-demo/lora0-c0" } },
//!     "other_arch":     [ "mother-demo/narrow0-root", ... ],
//!     "declared":       { "mother-demo/full0-c0": "mother-demo/full0-root", ... }
//!   }
//! }
//! ```
//! `truth` maps every repo to its parent (`null` for roots). Regimes: `pretrain` (roots),
//! `full`, `lora`, `quantized` and `cast` (parent = the source), `duplicate` (an exact byte copy; its
//! `truth` entry is the model it copies, an edge whose direction the weights cannot show, so
//! score it undirected) and `adapter` (a PEFT adapter repo; parent = the adapter's base model).

pub mod adam;
pub mod family;
pub mod files;
pub mod hub;
pub mod mlp;
pub mod task;
pub mod train;

use family::{Arch, Plan, Regime};
use files::NamedTensors;
pub use files::StoredDtype;
use mlp::{Mlp, Shape};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use train::{LoraAdapter, Recipe, TaskSpec};

/// Bumped whenever the same spec would produce different files, so old demos are not reused.
const FORMAT: u32 = 2;

/// Which of the optional extras a family carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Extras {
    /// An exact byte copy of one fine-tuned model under another repo id.
    pub duplicate: bool,
    /// A copy of one model with every 2-D weight rounded to an int8 grid per row.
    pub quantized: bool,
    /// A copy of one F32-stored fine-tune cast to BF16.
    pub cast: bool,
    /// A PEFT adapter repo holding the trained factors of one LoRA fine-tune.
    pub adapter: bool,
    /// One small tree (root + 2 children) of a narrower architecture.
    pub other_arch: bool,
    /// `README.md` front matter naming the parent, for the children of the first full tree.
    pub declared: bool,
}

impl Extras {
    pub fn all() -> Self {
        Extras {
            duplicate: true,
            quantized: true,
            cast: true,
            adapter: true,
            other_arch: true,
            declared: true,
        }
    }

    pub fn none() -> Self {
        Extras {
            duplicate: false,
            quantized: false,
            cast: false,
            adapter: false,
            other_arch: false,
            declared: false,
        }
    }
}

/// Everything that decides a demo family's files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FamilySpec {
    pub seed: u64,
    /// Trees whose descendants are fully fine-tuned.
    pub full_trees: usize,
    /// Trees whose descendants are LoRA fine-tunes, merged.
    pub lora_trees: usize,
    /// Fine-tunes of every model above the last generation.
    pub children: usize,
    /// Generations below each root.
    pub depth: usize,
    pub lora_rank: usize,
    pub lora_alpha: f64,
    /// Indices of the linear layers LoRA trains (`layers.{i}.weight`); the rest is frozen.
    pub lora_targets: Vec<usize>,
    pub dtype: StoredDtype,
    pub shape: Shape,
    /// The architecture of the `other_arch` extra.
    pub other_shape: Shape,
    pub task: TaskSpec,
    pub pretrain: Recipe,
    pub finetune: Recipe,
    pub lora_finetune: Recipe,
    pub extras: Extras,
}

impl FamilySpec {
    /// The showcase: 3 fully fine-tuned trees and 2 LoRA trees of 1 + 4 + 16 models stored in
    /// mixed dtypes (F32 roots; F32, BF16 and F16 below), with every extra.
    pub fn default_family() -> Self {
        FamilySpec {
            seed: 2024,
            full_trees: 3,
            lora_trees: 2,
            children: 4,
            depth: 2,
            lora_rank: 8,
            lora_alpha: 16.0,
            lora_targets: vec![0, 1, 2, 3],
            dtype: StoredDtype::Mixed,
            shape: Shape {
                vocab: 2000,
                embed: 64,
                hidden: [256, 256, 256],
                classes: 16,
            },
            other_shape: Shape {
                vocab: 1000,
                embed: 32,
                hidden: [96, 96, 96],
                classes: 8,
            },
            task: TaskSpec {
                context: 12,
                zipf_exponent: 1.0,
                teacher_density: 0.05,
                pretrain_teachers: 8,
            },
            pretrain: Recipe {
                steps: 2000,
                lr: 3e-3,
                batch: 128,
            },
            // Small noisy batches: the Adam noise a fine-tune spreads over every weight is
            // what lowers the kurtosis; gentler fine-tunes (lr 1e-4, or batches of 128) let
            // the new task's structure win and raise it. lr 6e-4 and 1e-3 did no better.
            finetune: Recipe {
                steps: 600,
                lr: 3e-4,
                batch: 64,
            },
            lora_finetune: Recipe {
                steps: 600,
                lr: 1e-3,
                batch: 64,
            },
            extras: Extras::all(),
        }
    }

    /// A quick family for tests: 2 full trees and 1 LoRA tree of 1 + 2 + 4 models, half the
    /// pre-training, no extras.
    pub fn small() -> Self {
        FamilySpec {
            full_trees: 2,
            lora_trees: 1,
            children: 2,
            pretrain: Recipe {
                steps: 1000,
                ..FamilySpec::default_family().pretrain
            },
            extras: Extras::none(),
            ..FamilySpec::default_family()
        }
    }

    /// Rejects specs that cannot be trained, with the option to change.
    pub fn validate(&self) -> Result<(), DemoError> {
        let fail = |reason: String| Err(DemoError::Spec(reason));
        if self.full_trees + self.lora_trees == 0 {
            return fail("no trees: ask for at least one full or LoRA tree".to_owned());
        }
        if self.depth > 4 {
            return fail(format!("depth {} is too deep: use at most 4", self.depth));
        }
        let models = (self.full_trees + self.lora_trees) * tree_size(self.children, self.depth);
        if models > 2000 {
            return fail(format!(
                "{models} models are too many: lower the trees, children or depth"
            ));
        }
        for shape in [&self.shape, &self.other_shape] {
            if shape.vocab == 0
                || shape.embed == 0
                || shape.classes < 2
                || shape.hidden.contains(&0)
            {
                return fail(format!(
                    "every size must be positive and classes >= 2: {shape:?}"
                ));
            }
        }
        let layers = self.shape.layer_dims();
        if self.lora_trees > 0 {
            if self.lora_targets.is_empty() {
                return fail("LoRA trees need at least one target layer".to_owned());
            }
            for &target in &self.lora_targets {
                let Some(&(out, input)) = layers.get(target) else {
                    return fail(format!(
                        "LoRA target layer {target} does not exist (layers 0..{})",
                        layers.len()
                    ));
                };
                if self.lora_rank == 0 || self.lora_rank > out.min(input) {
                    return fail(format!(
                        "LoRA rank {} does not fit layer {target} ({out} x {input}): use 1..={}",
                        self.lora_rank,
                        out.min(input)
                    ));
                }
            }
        }
        if self.task.context == 0 || self.task.pretrain_teachers == 0 {
            return fail("context and pre-training teachers must be at least 1".to_owned());
        }
        for recipe in [&self.pretrain, &self.finetune, &self.lora_finetune] {
            if recipe.batch == 0 || !recipe.lr.is_finite() || recipe.lr <= 0.0 {
                return fail(format!(
                    "batch and learning rate must be positive: {recipe:?}"
                ));
            }
        }
        Ok(())
    }

    /// A short stable hash of the spec, naming its default folder.
    pub fn fingerprint(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        let hash = twox_hash::XxHash3_64::oneshot(format!("{FORMAT}:{text}").as_bytes());
        format!("{hash:016x}")
    }
}

fn tree_size(children: usize, depth: usize) -> usize {
    (0..=depth).map(|level| children.pow(level as u32)).sum()
}

/// Progress of [`build_demo`].
#[derive(Debug, Clone, PartialEq)]
pub enum DemoProgress {
    /// `model` just finished training.
    Training {
        done: usize,
        total: usize,
        model: String,
    },
    Writing {
        done: usize,
        total: usize,
    },
}

/// A family written to disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Demo {
    /// The family's folder: a Hugging Face home holding `hub/` and `truth.json`.
    pub dir: PathBuf,
    /// The hub cache inside it, `dir/hub`.
    pub hub: PathBuf,
    /// Every repo id and its parent (`None` for roots).
    pub truth: BTreeMap<String, Option<String>>,
    /// Repos holding full weights (`model.safetensors`), copies included.
    pub models: usize,
    /// Repos holding a PEFT adapter.
    pub adapters: usize,
}

/// `truth.json`, as read back by [`read_truth`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub format: u32,
    /// The spec that made the family.
    pub spec: serde_json::Value,
    pub truth: BTreeMap<String, Option<String>>,
    pub regime: BTreeMap<String, String>,
    pub extras: TruthExtras,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TruthExtras {
    pub duplicate_of: BTreeMap<String, String>,
    pub quantized_from: BTreeMap<String, String>,
    #[serde(default)]
    pub cast_from: BTreeMap<String, String>,
    pub adapters: BTreeMap<String, AdapterTruth>,
    pub other_arch: Vec<String>,
    pub declared: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterTruth {
    pub base: String,
    pub merged_as: String,
}

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

/// A trained model and, for LoRA fine-tunes, its factors.
struct Trained {
    model: Mlp<f32>,
    adapter: Option<LoraAdapter>,
}

/// Trains the family `spec` describes and writes it to `dir` (created if needed) as a hub cache
/// in `dir/hub`, replacing the repos of any family built there before. `dir/truth.json` is removed first and
/// written last, so an interrupted build never looks complete.
pub fn build_demo(
    spec: &FamilySpec,
    dir: &Path,
    progress: &(dyn Fn(DemoProgress) + Sync),
) -> Result<Demo, DemoError> {
    let plan = family::plan(spec)?;
    std::fs::create_dir_all(dir).map_err(|e| DemoError::io(dir, "create the folder", e))?;
    let truth_path = dir.join("truth.json");
    if truth_path.exists() {
        std::fs::remove_file(&truth_path)
            .map_err(|e| DemoError::io(&truth_path, "remove the old truth", e))?;
    }

    let hub = dir.join("hub");
    hub::remove_repos_of(&hub, &[family::ORG, family::MIRROR_ORG])?;
    std::fs::create_dir_all(&hub).map_err(|e| DemoError::io(&hub, "create the folder", e))?;

    let trained = train_family(spec, &plan, progress);
    let repos = repo_contents(spec, &plan, &trained);
    let total = repos.len();
    let written = AtomicUsize::new(0);
    progress(DemoProgress::Writing { done: 0, total });
    repos.par_iter().try_for_each(|repo| {
        write_one(&hub, repo)?;
        let done = written.fetch_add(1, Ordering::Relaxed) + 1;
        progress(DemoProgress::Writing { done, total });
        Ok::<(), DemoError>(())
    })?;

    let truth = truth_of(spec, &plan);
    let text = serde_json::to_string_pretty(&truth).map_err(|e| DemoError::Truth {
        path: truth_path.clone(),
        reason: e.to_string(),
    })?;
    let tag = hub.join("CACHEDIR.TAG");
    std::fs::write(
        &tag,
        "Signature: 8a477f597d28d172789f06886806bc55\n# A model family trained by `mother demo`.\n",
    )
    .map_err(|e| DemoError::io(&tag, "write", e))?;
    // Written under another name and renamed, so `truth.json` is either absent or whole.
    let staged = dir.join("truth.json.incomplete");
    std::fs::write(&staged, text + "\n").map_err(|e| DemoError::io(&staged, "write", e))?;
    std::fs::rename(&staged, &truth_path)
        .map_err(|e| DemoError::io(&truth_path, "move into place", e))?;
    Ok(Demo {
        dir: dir.to_owned(),
        hub,
        truth: truth.truth,
        models: repos.iter().filter(|r| !r.is_adapter).count(),
        adapters: repos.iter().filter(|r| r.is_adapter).count(),
    })
}

/// Trains the plan generation by generation; the models of a generation train in parallel.
/// Returns the models in plan order.
fn train_family(
    spec: &FamilySpec,
    plan: &Plan,
    progress: &(dyn Fn(DemoProgress) + Sync),
) -> Vec<Trained> {
    let total = plan.nodes.len();
    let done = AtomicUsize::new(0);
    let mut trained: Vec<Option<Trained>> = (0..total).map(|_| None).collect();
    let max_depth = plan.nodes.iter().map(|n| n.depth).max().unwrap_or(0);
    for depth in 0..=max_depth {
        let generation: Vec<usize> = (0..total)
            .filter(|&i| plan.nodes[i].depth == depth)
            .collect();
        let results: Vec<(usize, Trained)> = generation
            .par_iter()
            .map(|&index| {
                let node = &plan.nodes[index];
                let shape = match node.arch {
                    Arch::Main => &spec.shape,
                    Arch::Other => &spec.other_shape,
                };
                // Parents belong to earlier generations, which are complete.
                let parent = node
                    .parent
                    .and_then(|p| trained[p].as_ref())
                    .map(|t| &t.model);
                let model = match (parent, node.regime) {
                    (None, _) => Trained {
                        model: train::pretrain(shape, &spec.task, &spec.pretrain, node.seed),
                        adapter: None,
                    },
                    (Some(parent), Regime::Lora) => {
                        let (model, adapter) = train::finetune_lora(
                            parent,
                            shape,
                            &spec.task,
                            &spec.lora_finetune,
                            &spec.lora_targets,
                            spec.lora_rank,
                            spec.lora_alpha,
                            node.seed,
                        );
                        Trained {
                            model,
                            adapter: Some(adapter),
                        }
                    }
                    (Some(parent), _) => Trained {
                        model: train::finetune_full(
                            parent,
                            shape,
                            &spec.task,
                            &spec.finetune,
                            node.seed,
                        ),
                        adapter: None,
                    },
                };
                // Children start from the published file, as they would after a download.
                let mut model = model;
                store(&mut model.model, node.dtype(spec.dtype));
                let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(DemoProgress::Training {
                    done: finished,
                    total,
                    model: node.id.clone(),
                });
                (index, model)
            })
            .collect();
        for (index, model) in results {
            trained[index] = Some(model);
        }
    }
    trained.into_iter().flatten().collect()
}

/// Rounds every parameter of `model` to what storing it as `dtype` keeps.
fn store(model: &mut Mlp<f32>, dtype: StoredDtype) {
    let flat = |values: &mut [f32]| dtype.round(values);
    if let Some(values) = model.embed.as_slice_memory_order_mut() {
        flat(values);
    }
    for layer in &mut model.layers {
        if let Some(values) = layer.weight.as_slice_memory_order_mut() {
            flat(values);
        }
        if let Some(values) = layer.bias.as_slice_memory_order_mut() {
            flat(values);
        }
    }
}

/// What one repo holds, before it is written.
struct RepoContent {
    id: String,
    is_adapter: bool,
    /// File name, tensors and dtype of the weights file.
    weights: (&'static str, NamedTensors, StoredDtype),
    texts: Vec<(&'static str, String)>,
}

fn repo_contents(spec: &FamilySpec, plan: &Plan, trained: &[Trained]) -> Vec<RepoContent> {
    let mut repos = Vec::new();
    for (index, (node, model)) in plan.nodes.iter().zip(trained).enumerate() {
        let shape = match node.arch {
            Arch::Main => &spec.shape,
            Arch::Other => &spec.other_shape,
        };
        let dtype = node.dtype(spec.dtype);
        let mut texts = vec![("config.json", files::config_json(node.arch, shape, dtype))];
        if plan.declared.contains(&index)
            && let Some(parent) = node.parent
        {
            texts.push((
                "README.md",
                files::readme(&node.id, &plan.nodes[parent].id, "finetune"),
            ));
        }
        repos.push(RepoContent {
            id: node.id.clone(),
            is_adapter: false,
            weights: (
                "model.safetensors",
                files::model_tensors(&model.model),
                dtype,
            ),
            texts,
        });
    }
    if let Some((source, id)) = &plan.duplicate {
        let original = &repos[*source];
        repos.push(RepoContent {
            id: id.clone(),
            is_adapter: false,
            weights: original.weights.clone(),
            texts: original.texts.clone(),
        });
    }
    if let Some((source, id)) = &plan.quantized {
        let node = &plan.nodes[*source];
        let mut texts = vec![(
            "config.json",
            files::config_json(node.arch, &spec.shape, StoredDtype::F32),
        )];
        if spec.extras.declared {
            texts.push(("README.md", files::readme(id, &node.id, "quantized")));
        }
        repos.push(RepoContent {
            id: id.clone(),
            is_adapter: false,
            weights: (
                "model.safetensors",
                files::quantize_int8(&files::model_tensors(&trained[*source].model)),
                StoredDtype::F32,
            ),
            texts,
        });
    }
    if let Some((source, id)) = &plan.cast {
        let node = &plan.nodes[*source];
        repos.push(RepoContent {
            id: id.clone(),
            is_adapter: false,
            weights: (
                "model.safetensors",
                files::model_tensors(&trained[*source].model),
                StoredDtype::Bf16,
            ),
            texts: vec![(
                "config.json",
                files::config_json(node.arch, &spec.shape, StoredDtype::Bf16),
            )],
        });
    }
    if let Some((source, id)) = &plan.adapter {
        let node = &plan.nodes[*source];
        if let (Some(adapter), Some(parent)) = (&trained[*source].adapter, node.parent) {
            let base = &plan.nodes[parent].id;
            let mut texts = vec![(
                "adapter_config.json",
                files::adapter_config_json(adapter, base),
            )];
            if spec.extras.declared {
                texts.push(("README.md", files::readme(id, base, "adapter")));
            }
            repos.push(RepoContent {
                id: id.clone(),
                is_adapter: true,
                weights: (
                    "adapter_model.safetensors",
                    files::adapter_tensors(adapter),
                    StoredDtype::F32,
                ),
                texts,
            });
        }
    }
    repos
}

fn write_one(cache: &Path, repo: &RepoContent) -> Result<(), DemoError> {
    hub::prepare_repo(cache, &repo.id)?;
    let (name, tensors, dtype) = &repo.weights;
    let staged = hub::staging_path(cache, &repo.id, name);
    files::write_safetensors(tensors, *dtype, &staged)?;
    let mut contents = vec![hub::RepoFile::Staged {
        name: (*name).to_owned(),
        path: staged,
    }];
    for (name, text) in &repo.texts {
        contents.push(hub::RepoFile::Bytes {
            name: (*name).to_owned(),
            bytes: text.clone().into_bytes(),
        });
    }
    hub::write_repo(cache, &repo.id, &contents)?;
    Ok(())
}

fn truth_of(spec: &FamilySpec, plan: &Plan) -> Truth {
    let mut truth = BTreeMap::new();
    let mut regime = BTreeMap::new();
    let mut extras = TruthExtras::default();
    for node in &plan.nodes {
        truth.insert(
            node.id.clone(),
            node.parent.map(|p| plan.nodes[p].id.clone()),
        );
        regime.insert(node.id.clone(), node.regime.label().to_owned());
        if node.arch == Arch::Other {
            extras.other_arch.push(node.id.clone());
        }
    }
    for &index in &plan.declared {
        if let Some(parent) = plan.nodes[index].parent {
            extras
                .declared
                .insert(plan.nodes[index].id.clone(), plan.nodes[parent].id.clone());
        }
    }
    if let Some((source_index, id)) = &plan.duplicate {
        // The copy carries the source's README too, so it declares the same parent.
        if let Some(declared) = extras.declared.get(&plan.nodes[*source_index].id) {
            extras.declared.insert(id.clone(), declared.clone());
        }
        let source = plan.nodes[*source_index].id.clone();
        truth.insert(id.clone(), Some(source.clone()));
        regime.insert(id.clone(), "duplicate".to_owned());
        extras.duplicate_of.insert(id.clone(), source);
    }
    if let Some((source, id)) = &plan.quantized {
        let source = plan.nodes[*source].id.clone();
        truth.insert(id.clone(), Some(source.clone()));
        regime.insert(id.clone(), "quantized".to_owned());
        if spec.extras.declared {
            extras.declared.insert(id.clone(), source.clone());
        }
        extras.quantized_from.insert(id.clone(), source);
    }
    if let Some((source, id)) = &plan.cast {
        let source = plan.nodes[*source].id.clone();
        truth.insert(id.clone(), Some(source.clone()));
        regime.insert(id.clone(), "cast".to_owned());
        extras.cast_from.insert(id.clone(), source);
    }
    if let Some((source, id)) = &plan.adapter
        && let Some(parent) = plan.nodes[*source].parent
    {
        let base = plan.nodes[parent].id.clone();
        truth.insert(id.clone(), Some(base.clone()));
        regime.insert(id.clone(), "adapter".to_owned());
        if spec.extras.declared {
            extras.declared.insert(id.clone(), base.clone());
        }
        extras.adapters.insert(
            id.clone(),
            AdapterTruth {
                base,
                merged_as: plan.nodes[*source].id.clone(),
            },
        );
    }
    Truth {
        format: FORMAT,
        spec: serde_json::to_value(spec).unwrap_or_default(),
        truth,
        regime,
        extras,
    }
}

/// Reads `truth.json` of a demo family.
pub fn read_truth(dir: &Path) -> Result<Truth, DemoError> {
    let path = dir.join("truth.json");
    let text = std::fs::read_to_string(&path).map_err(|e| DemoError::Truth {
        path: path.clone(),
        reason: format!("cannot read it ({e}); is this a folder written by `mother demo`?"),
    })?;
    serde_json::from_str(&text).map_err(|e| DemoError::Truth {
        path,
        reason: format!(
            "not a demo truth file ({e}); delete the folder and run `mother demo` again"
        ),
    })
}

/// The folder a spec's family is kept in: `<platform cache>/mother/demo-<spec fingerprint>`.
pub fn demo_dir_for(spec: &FamilySpec) -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "mother")?;
    Some(
        dirs.cache_dir()
            .join(format!("demo-{}", spec.fingerprint())),
    )
}

/// Where `mother demo` keeps the default family.
pub fn default_demo_dir() -> Option<PathBuf> {
    demo_dir_for(&FamilySpec::default_family())
}

/// True when `dir` holds a complete family made from `spec` by this version of the trainer.
pub fn is_complete(dir: &Path, spec: &FamilySpec) -> bool {
    match (read_truth(dir), serde_json::to_value(spec)) {
        (Ok(truth), Ok(wanted)) => truth.format == FORMAT && truth.spec == wanted,
        _ => false,
    }
}

/// `mother demo`: trains the family the arguments describe (or reuses a complete one of the same
/// spec in the default folder), prints where it is, and returns the folder.
pub fn run(args: &crate::cli::DemoArgs) -> anyhow::Result<PathBuf> {
    let spec = args.spec();
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => demo_dir_for(&spec).ok_or_else(|| {
            anyhow::anyhow!("no cache directory on this system: give a folder, `mother demo DIR`")
        })?,
    };
    if args.dir.is_none() && is_complete(&dir, &spec) {
        println!("{}", dir.display());
        return Ok(dir);
    }
    let terminal = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let show = |event: DemoProgress| {
        if !terminal {
            return;
        }
        let line = match event {
            DemoProgress::Training { done, total, model } => {
                format!("training {done:>4}/{total} {model}")
            }
            DemoProgress::Writing { done, total } => format!("writing  {done:>4}/{total}"),
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    };
    let demo = build_demo(&spec, &dir, &show)?;
    if terminal {
        eprintln!(
            "\r\x1b[2Ktrained {} models in {:.1} s",
            demo.truth.len(),
            started.elapsed().as_secs_f64()
        );
    }
    println!("{}", dir.display());
    Ok(dir)
}
