//! Runs the stages in order — discover, fingerprint (in parallel, through the cache), recover —
//! and reports progress as [`ScanEvent`]s. The headless command and the TUI drive the same code.

use crate::discover::{ModelEntry, Skipped};
use crate::lineage::{DirectionMode, Recovery};
use crate::measure::Fingerprint;
use std::path::PathBuf;

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

/// The result of a scan: the models that were fingerprinted, what was skipped, and the forest.
/// Indices in `recovery` point into `models`.
#[derive(Debug, Clone)]
pub struct ScanReport {
    pub root: PathBuf,
    pub models: Vec<ScannedModel>,
    pub skipped: Vec<Skipped>,
    pub recovery: Recovery,
}

/// Runs a whole scan on the calling thread, sending progress to `events`. Fingerprinting runs on
/// rayon's pool. Returns `None` when `cancel` was set before the scan finished; nothing
/// half-done is left in the cache.
pub fn scan(
    options: &ScanOptions,
    events: &crossbeam_channel::Sender<ScanEvent>,
    cancel: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<Option<ScanReport>> {
    let _ = (options, events, cancel);
    unimplemented!("engine::scan: issue #2")
}

/// A scan running on a background thread.
pub struct ScanHandle {
    pub events: crossbeam_channel::Receiver<ScanEvent>,
    pub cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub thread: std::thread::JoinHandle<anyhow::Result<Option<ScanReport>>>,
}

/// Starts [`scan`] on a background thread; the final report also arrives as
/// [`ScanEvent::Finished`].
pub fn spawn_scan(options: ScanOptions) -> ScanHandle {
    let _ = options;
    unimplemented!("engine::spawn_scan: issue #2")
}
