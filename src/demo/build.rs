//! Building a family: train the plan generation by generation, assemble each repo's files
//! (models, copies, the adapter), write them as a hub cache, and write `truth.json` last.

use super::error::DemoError;
use super::family::{self, Arch, HowMade, MERGE_WEIGHT, Plan};
use super::files::{self, NamedTensors, StoredDtype};
use super::hub;
use super::mlp::Mlp;
use super::spec::FamilySpec;
use super::train::{self, LoraAdapter};
use super::truth::truth_of;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

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
    /// Every repo id and its parent (`None` for roots), merges aside.
    pub truth: BTreeMap<String, Option<String>>,
    /// Every merge and its two sources (a merge has two parents, so it is not in `truth`).
    pub merges: BTreeMap<String, Vec<String>>,
    /// Repos holding full weights (`model.safetensors`), copies included.
    pub models: usize,
    /// Repos holding a PEFT adapter.
    pub adapters: usize,
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
        merges: truth.merges,
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
                let model = match (parent, node.how_made) {
                    (None, _) => Trained {
                        model: train::pretrain(shape, &spec.task, &spec.pretrain, node.seed),
                        adapter: None,
                    },
                    (Some(parent), HowMade::Lora) => {
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
    if let Some(([first, second], id)) = &plan.merge {
        let (a, b) = (
            files::model_tensors(&trained[*first].model),
            files::model_tensors(&trained[*second].model),
        );
        // What mergekit's linear merge does with the two files: a weighted sum, tensor by
        // tensor, of the values they store.
        let merged = a
            .into_iter()
            .zip(b)
            .map(|((name, shape, x), (_, _, y))| {
                let values = x
                    .iter()
                    .zip(&y)
                    .map(|(&p, &q)| MERGE_WEIGHT * p + (1.0 - MERGE_WEIGHT) * q)
                    .collect();
                (name, shape, values)
            })
            .collect();
        repos.push(RepoContent {
            id: id.clone(),
            is_adapter: false,
            weights: ("model.safetensors", merged, StoredDtype::F32),
            texts: vec![(
                "config.json",
                files::config_json(plan.nodes[*first].arch, &spec.shape, StoredDtype::F32),
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
