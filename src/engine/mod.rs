//! Runs the stages in order — discover, fingerprint (in parallel, through the cache), recover —
//! and reports progress as [`ScanEvent`]s. The headless command and the TUI drive the same code.

pub mod bundle;
mod declared;

pub use bundle::{Bundle, BundleError, BundleSource, Shard};
pub use declared::{Declared, declared_status};

use crate::discover::{Discovery, ModelEntry, ModelKind, Skipped, discover};
use crate::lineage::{DirectionMode, LineageInput, LineageOptions, Recovery, recover};
use crate::measure::cache::{CacheKey, FingerprintCache};
use crate::measure::{Fingerprint, fingerprint_model};
use crate::weights::{Quantization, WeightSource};
use crossbeam_channel::{Receiver, Sender};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// What to scan: a hub cache, a Hugging Face home, or a folder tree.
    pub root: PathBuf,
    /// Reuse and store fingerprints in the cache.
    pub use_cache: bool,
    /// Where the fingerprint cache lives (default: the platform cache directory).
    pub cache_dir: Option<PathBuf>,
    pub direction: DirectionMode,
    pub bootstrap: usize,
    pub seed: u64,
}

/// Where a model is in the scan.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Queued,
    Reading,
    FromCache,
    /// Fingerprinted on another machine and read from a bundle (`mother scan --bundle`).
    FromBundle,
    Done,
    Skipped(String),
}

/// Progress reported while scanning. Indices point into the models of [`ScanEvent::Discovered`].
#[derive(Debug, Clone)]
pub enum ScanEvent {
    Discovered {
        models: Vec<ModelEntry>,
        skipped: Vec<Skipped>,
    },
    Phase {
        model: usize,
        phase: Phase,
    },
    /// Bytes read so far of this model's total.
    Progress {
        model: usize,
        bytes_done: u64,
    },
    /// The model's fingerprint is in (read or from the cache), and with it its format as
    /// [`ScannedModel::format_name`] gives it: a packed quantisation (`gptq`, ...) is known only
    /// now, from the tensors; until then the files' format is all there is.
    Format {
        model: usize,
        format: &'static str,
    },
    Recovering,
    Finished(Box<ScanReport>),
}

/// One model in the final report.
#[derive(Debug, Clone)]
pub struct ScannedModel {
    pub entry: ModelEntry,
    pub fingerprint: Fingerprint,
    pub from_cache: bool,
}

impl ScannedModel {
    /// The model's format as people name it: `safetensors`, `pickle` or `gguf` from its files,
    /// or the packing of a quantised checkpoint (`gptq`, `awq`, `bitsandbytes`).
    pub fn format_name(&self) -> &'static str {
        format_name(&self.entry, &self.fingerprint)
    }

    /// The format with the quantisation scheme when there is one: `gguf Q8_0`, `GPTQ-4bit` (a
    /// scheme that already names its format stands alone), `pickle`, `safetensors`.
    pub fn format_label(&self) -> String {
        let format = self.format_name();
        match self.fingerprint.quantization().map(|q| q.name()) {
            Some(scheme) if scheme.to_lowercase().starts_with(format) => scheme.to_string(),
            Some(scheme) => format!("{format} {scheme}"),
            None => format.to_string(),
        }
    }
}

fn format_name(entry: &ModelEntry, fingerprint: &Fingerprint) -> &'static str {
    match fingerprint.quantization() {
        Some(Quantization::Packed(scheme)) => scheme.family(),
        _ => entry.format.name(),
    }
}

/// The result of a scan: the models that were fingerprinted, what was skipped, and the forest.
/// Indices in `recovery` point into `models`.
#[derive(Debug, Clone)]
pub struct ScanReport {
    pub root: PathBuf,
    /// The bundles whose models were added, in the order given.
    pub bundles: Vec<BundleSource>,
    pub models: Vec<ScannedModel>,
    pub skipped: Vec<Skipped>,
    pub recovery: Recovery,
}

impl ScanReport {
    /// `models` (indices, such as the tops of the trees) by the folder each was found in
    /// ([`ModelEntry::found_in`]): folders in name order, each with its models in the order
    /// given. `None` when they all lie in one folder, as in a scan of one hub cache: a scan of a
    /// folder of several caches is read cache by cache, and one cache needs no heading.
    pub fn by_place(&self, models: &[usize]) -> Option<Vec<(&str, Vec<usize>)>> {
        let mut places: Vec<(&str, Vec<usize>)> = Vec::new();
        for &model in models {
            let place = self.models[model].entry.found_in.as_str();
            match places.binary_search_by(|(name, _)| (*name).cmp(place)) {
                Ok(index) => places[index].1.push(model),
                Err(index) => places.insert(index, (place, vec![model])),
            }
        }
        (places.len() > 1).then_some(places)
    }
}

/// Runs a whole scan on the calling thread, sending progress to `events`. Fingerprinting runs on
/// rayon's pool, models and tensors in parallel. Returns `None` when `cancel` was set before the
/// scan finished; the cache only ever receives complete fingerprints.
pub fn scan(
    options: &ScanOptions,
    events: &Sender<ScanEvent>,
    cancel: &AtomicBool,
) -> anyhow::Result<Option<ScanReport>> {
    scan_found(discover(&options.root)?, options, events, cancel)
}

/// [`scan`] of what a discovery of `options.root` just found, for a caller that had to look
/// first (whether there is anything to show) and should not walk the cache twice.
pub fn scan_found(
    discovery: Discovery,
    options: &ScanOptions,
    events: &Sender<ScanEvent>,
    cancel: &AtomicBool,
) -> anyhow::Result<Option<ScanReport>> {
    scan_with(discovery, Vec::new(), Vec::new(), options, events, cancel)
}

/// [`scan_found`] with models fingerprinted elsewhere added before the forest is recovered
/// (their bundles' skipped entries come with them; a model already there is not added twice,
/// [`bundle::join`]). `sources` names the bundles in the report.
pub fn scan_with(
    discovery: Discovery,
    imported: Vec<Bundle>,
    sources: Vec<BundleSource>,
    options: &ScanOptions,
    events: &Sender<ScanEvent>,
    cancel: &AtomicBool,
) -> anyhow::Result<Option<ScanReport>> {
    let (imported, imported_skipped) = bundle::unpack(imported);
    let first_imported = discovery.models.len();
    let mut all_entries = discovery.models.clone();
    all_entries.extend(imported.iter().map(|(m, _)| m.entry.clone()));
    let mut all_skipped = discovery.skipped.clone();
    all_skipped.extend(imported_skipped.iter().cloned());
    let _ = events.send(ScanEvent::Discovered {
        models: all_entries,
        skipped: all_skipped,
    });
    for (offset, (model, _)) in imported.iter().enumerate() {
        let index = first_imported + offset;
        let _ = events.send(ScanEvent::Phase {
            model: index,
            phase: Phase::FromBundle,
        });
        let _ = events.send(ScanEvent::Progress {
            model: index,
            bytes_done: model.entry.total_bytes,
        });
        let _ = events.send(ScanEvent::Format {
            model: index,
            format: model.format_name(),
        });
    }
    let Some((mut models, mut skipped)) = fingerprint_all(discovery, options, events, cancel)
    else {
        return Ok(None);
    };
    if !imported.is_empty() {
        // Models in id order, as discovery lists a cache: how a cache was split into bundles
        // then changes nothing, not even which of two identical files is the original.
        models = bundle::join(models, imported);
        models.sort_by(|a, b| a.entry.id.cmp(&b.entry.id));
    }
    skipped.extend(imported_skipped);
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    let _ = events.send(ScanEvent::Recovering);
    let recovery = recover_models(&models, options);
    let report = ScanReport {
        root: options.root.clone(),
        bundles: sources,
        models,
        skipped,
        recovery,
    };
    let _ = events.send(ScanEvent::Finished(Box::new(report.clone())));
    Ok(Some(report))
}

/// Fingerprints every model of `discovery` (in parallel, through the cache), reporting
/// progress with the models' discovery indices, without recovering anything: the models read
/// and what was skipped (discovery's and the models that failed), or `None` when cancelled.
/// `mother export` stops here and writes a bundle.
pub fn fingerprint_all(
    discovery: Discovery,
    options: &ScanOptions,
    events: &Sender<ScanEvent>,
    cancel: &AtomicBool,
) -> Option<(Vec<ScannedModel>, Vec<Skipped>)> {
    let cache = open_cache(options);
    let outcomes: Vec<Outcome> = discovery
        .models
        .par_iter()
        .enumerate()
        .map(|(index, entry)| {
            let outcome = fingerprint_one(index, entry, cache.as_ref(), events, cancel);
            if let Outcome::Measured { fingerprint, .. } = &outcome {
                let _ = events.send(ScanEvent::Format {
                    model: index,
                    format: format_name(entry, fingerprint),
                });
            }
            outcome
        })
        .collect();
    if cancel.load(Ordering::Relaxed) {
        return None;
    }
    let mut models = Vec::new();
    let mut skipped = discovery.skipped;
    for (entry, outcome) in discovery.models.into_iter().zip(outcomes) {
        match outcome {
            Outcome::Measured {
                fingerprint,
                from_cache,
            } => models.push(ScannedModel {
                entry,
                fingerprint,
                from_cache,
            }),
            Outcome::Failed(reason) => skipped.push(Skipped {
                path: entry.dir.clone(),
                reason,
            }),
            Outcome::Cancelled => return None,
        }
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Some((models, skipped))
}

/// The forest of `models`.
fn recover_models(models: &[ScannedModel], options: &ScanOptions) -> Recovery {
    let inputs: Vec<LineageInput<'_>> = models
        .iter()
        .enumerate()
        .map(|(index, model)| {
            // The base as the scan names it: metadata names a repo, which several hub caches
            // may hold under qualified ids.
            let adapter_base = match &model.entry.kind {
                ModelKind::Adapter {
                    base: Some(base), ..
                } => declared::adapter_base(models, base, index)
                    .map(|base| models[base].entry.id.as_str()),
                _ => None,
            };
            LineageInput {
                id: &model.entry.id,
                fingerprint: &model.fingerprint,
                adapter_base,
                is_adapter: matches!(model.entry.kind, ModelKind::Adapter { .. }),
            }
        })
        .collect();
    let lineage_options = LineageOptions {
        direction: options.direction,
        bootstrap: options.bootstrap,
        seed: options.seed,
    };
    recover(&inputs, &lineage_options)
}

/// What happened to one model.
enum Outcome {
    Measured {
        fingerprint: Fingerprint,
        from_cache: bool,
    },
    Failed(String),
    Cancelled,
}

/// The cache, when it is wanted and can be opened. A cache that cannot be opened only costs
/// speed, so the scan goes on without it.
fn open_cache(options: &ScanOptions) -> Option<FingerprintCache> {
    if !options.use_cache {
        return None;
    }
    let dir = options
        .cache_dir
        .clone()
        .or_else(FingerprintCache::default_dir)?;
    FingerprintCache::open(&dir).ok()
}

/// A reader's error as the skipped list shows it, beside the model's folder: the file named
/// relative to that folder (the full path is already on the line), and a hub model's repo
/// named where the reader could only say "re-download it".
fn skip_reason(entry: &ModelEntry, reason: String) -> String {
    let folder = format!("{}{}", entry.dir.display(), std::path::MAIN_SEPARATOR);
    let reason = reason.replace(&folder, "");
    match crate::discover::hub_repo_of_dir(&entry.dir) {
        Some(repo) => reason.replace("re-download it", &format!("re-download {repo}")),
        None => reason,
    }
}

/// Bytes between two progress events of one model: often enough for a smooth bar, rarely enough
/// not to flood the channel.
const PROGRESS_STEP: u64 = 4 << 20;

fn fingerprint_one(
    index: usize,
    entry: &ModelEntry,
    cache: Option<&FingerprintCache>,
    events: &Sender<ScanEvent>,
    cancel: &AtomicBool,
) -> Outcome {
    if cancel.load(Ordering::Relaxed) {
        return Outcome::Cancelled;
    }
    let key = CacheKey::for_files(&entry.weight_files);
    if let Some(fingerprint) = cache.and_then(|c| c.get(&key)) {
        let _ = events.send(ScanEvent::Phase {
            model: index,
            phase: Phase::FromCache,
        });
        let _ = events.send(ScanEvent::Progress {
            model: index,
            bytes_done: entry.total_bytes,
        });
        return Outcome::Measured {
            fingerprint,
            from_cache: true,
        };
    }
    let _ = events.send(ScanEvent::Phase {
        model: index,
        phase: Phase::Reading,
    });
    let done = AtomicU64::new(0);
    let reported = AtomicU64::new(0);
    let on_bytes = |n: u64| {
        let now = done.fetch_add(n, Ordering::Relaxed) + n;
        let last = reported.load(Ordering::Relaxed);
        if now >= last + PROGRESS_STEP
            && reported
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let _ = events.send(ScanEvent::Progress {
                model: index,
                bytes_done: now,
            });
        }
    };
    match fingerprint_model(&entry.weight_files, &on_bytes, cancel)
        .map_err(|e| e.to_string())
        .and_then(|fingerprint| reject_non_finite(fingerprint, entry))
        .map_err(|reason| skip_reason(entry, reason))
    {
        Ok(fingerprint) => {
            if let Some(cache) = cache {
                // A failed cache write only costs speed next time.
                let _ = cache.put(&key, &fingerprint);
            }
            let _ = events.send(ScanEvent::Progress {
                model: index,
                bytes_done: done.load(Ordering::Relaxed).max(entry.total_bytes),
            });
            let _ = events.send(ScanEvent::Phase {
                model: index,
                phase: Phase::Done,
            });
            Outcome::Measured {
                fingerprint,
                from_cache: false,
            }
        }
        Err(_) if cancel.load(Ordering::Relaxed) => Outcome::Cancelled,
        Err(reason) => {
            let _ = events.send(ScanEvent::Phase {
                model: index,
                phase: Phase::Skipped(reason.clone()),
            });
            Outcome::Failed(reason)
        }
    }
}

/// A model with NaN or infinite weights is left out of the forest: its statistics would describe
/// a damaged checkpoint, not a relative of anything. The reason names the first such tensor
/// and the file that holds it.
fn reject_non_finite(fingerprint: Fingerprint, entry: &ModelEntry) -> Result<Fingerprint, String> {
    let damaged: Vec<_> = fingerprint
        .tensors
        .iter()
        .filter(|t| t.non_finite > 0)
        .collect();
    match damaged.first() {
        None => Ok(fingerprint),
        Some(first) => Err(format!(
            "{}: {} NaN or infinite values in {} tensor(s), first {:?} — the checkpoint is damaged \
             (a diverged run or a bad conversion); re-export or re-download it",
            file_holding(entry, &first.name).display(),
            damaged.iter().map(|t| t.non_finite).sum::<u64>(),
            damaged.len(),
            first.name
        )),
    }
}

/// The weight file of `entry` that holds `tensor`: the only one, or the shard whose header lists
/// it (headers are small, and this runs only for a damaged model); the model folder when no
/// header can tell.
fn file_holding<'a>(entry: &'a ModelEntry, tensor: &str) -> &'a Path {
    match entry.weight_files.as_slice() {
        [only] => &only.path,
        shards => shards
            .iter()
            .find(|shard| {
                WeightSource::open(&shard.resolved, shard.format)
                    .is_ok_and(|file| file.tensors().iter().any(|t| t.name == tensor))
            })
            .map_or(&entry.dir, |shard| &shard.path),
    }
}

/// A scan running on a background thread.
pub struct ScanHandle {
    pub events: Receiver<ScanEvent>,
    pub cancel: Arc<AtomicBool>,
    pub thread: std::thread::JoinHandle<anyhow::Result<Option<ScanReport>>>,
}

/// Starts [`scan`] on a background thread; the final report also arrives as
/// [`ScanEvent::Finished`].
pub fn spawn_scan(options: ScanOptions) -> ScanHandle {
    spawn_scan_with(options, None, Vec::new())
}

/// [`spawn_scan`], starting from `found` when it is given (see [`scan_found`]), with the
/// models of the bundle files `bundles` added (see [`scan_with`]). A bundle that cannot be read
/// is skipped with its reason, as a damaged model is, and hides none of the others.
pub fn spawn_scan_with(
    options: ScanOptions,
    found: Option<Discovery>,
    bundles: Vec<PathBuf>,
) -> ScanHandle {
    let (sender, events) = crossbeam_channel::unbounded();
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let thread = std::thread::Builder::new()
        .name("mother-scan".into())
        .spawn(move || {
            let mut discovery = match found {
                Some(discovery) => discovery,
                None => discover(&options.root)?,
            };
            let (mut read, mut sources) = (Vec::new(), Vec::new());
            for path in bundles {
                match bundle::read(&path) {
                    Ok(bundle) => {
                        sources.push(bundle.source(&path));
                        read.push(bundle);
                    }
                    Err(error) => discovery.skipped.push(Skipped {
                        path,
                        reason: error.reason(),
                    }),
                }
            }
            scan_with(discovery, read, sources, &options, &sender, &flag)
        })
        .expect("the operating system refused to start the scan thread");
    ScanHandle {
        events,
        cancel,
        thread,
    }
}
