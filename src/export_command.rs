//! `mother export`: fingerprint a cache, or one shard of it, into a bundle file
//! (`engine::bundle`) that `mother scan --bundle` recovers the forest from on any machine.

use crate::cli::ExportArgs;
use crate::discover::discover;
use crate::engine::bundle::{self, Bundle};
use crate::engine::{ScanOptions, ScannedModel, fingerprint_all};
use crate::headless::{EXIT_NO_MODELS, EXIT_SKIPPED, Progress};
use crate::units::size;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

/// Runs the export; the exit status says how it went (0, 3 something skipped, 4 no models in
/// this shard, 1 failure).
pub fn run(args: &ExportArgs, options: ScanOptions) -> anyhow::Result<ExitCode> {
    crate::headless::check_output_file(&args.out, "--out", &options.root)?;
    let mut found = discover(&options.root)?;
    let total = found.models.len();
    if let Some(shard) = args.shard {
        // Skipped entries have no id; each goes to the shard its path hashes to, so that the
        // bundles of all shards list it once.
        found.models.retain(|m| shard.holds(&m.id));
        found
            .skipped
            .retain(|s| shard.holds(&s.path.to_string_lossy()));
    }
    let show_progress = std::io::stderr().is_terminal();
    let (sender, events) = crossbeam_channel::unbounded();
    let worker = {
        let options = options.clone();
        std::thread::Builder::new()
            .name("mother-export".into())
            .spawn(move || {
                let _ = sender.send(crate::engine::ScanEvent::Discovered {
                    models: found.models.clone(),
                    skipped: found.skipped.clone(),
                });
                fingerprint_all(found, &options, &sender, &AtomicBool::new(false))
            })?
    };
    let mut progress = Progress::default();
    for event in events.iter() {
        if show_progress {
            progress.show(&event);
        }
    }
    let (models, skipped) = worker
        .join()
        .map_err(|_| anyhow::anyhow!("the export thread panicked; please report this as a bug"))?
        .ok_or_else(|| anyhow::anyhow!("export cancelled"))?;
    if show_progress {
        eprint!("\r\x1b[2K");
    }
    let bundle = Bundle {
        label: bundle::host_label(),
        root: options.root.clone(),
        models,
        skipped,
    };
    bundle::write(&args.out, &bundle)?;
    let part = args.shard.map_or(String::new(), |s| {
        format!(" (shard {}/{} of {total} models)", s.index + 1, s.count)
    });
    eprintln!(
        "wrote {}: {} models{part}, {}, {} skipped",
        args.out.display(),
        bundle.models.len(),
        weights_words(&bundle.models),
        bundle.skipped.len()
    );
    for s in &bundle.skipped {
        eprintln!("  skipped {}: {}", s.path.display(), s.reason);
    }
    Ok(if bundle.models.is_empty() && bundle.skipped.is_empty() {
        ExitCode::from(EXIT_NO_MODELS)
    } else if bundle.skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SKIPPED)
    })
}

/// How many bytes of weights the bundle stands for, and, when the fingerprint cache held some
/// of them, how much was really read: a second export of an unchanged cache reads nothing.
fn weights_words(models: &[ScannedModel]) -> String {
    let bytes = |from_cache: bool| -> u64 {
        models
            .iter()
            .filter(|m| m.from_cache == from_cache)
            .map(|m| m.entry.total_bytes)
            .sum()
    };
    let (read, cached) = (bytes(false), bytes(true));
    if cached == 0 {
        format!("{} of weights read", size(read))
    } else {
        format!(
            "{} of weights ({} read, {} from the fingerprint cache)",
            size(read + cached),
            size(read),
            size(cached)
        )
    }
}
