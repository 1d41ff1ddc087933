//! Times one scan through the engine, split into its stages: discovery and fingerprinting
//! (until the engine says it is recovering) and recovery (until the report arrives). Prints one
//! tab-separated line: models, edges, fingerprint seconds, recovery seconds, total seconds.
//!
//! Run: `cargo run --release --example scan_timing -- DIR [--cache-dir DIR]` (without
//! `--cache-dir` every model is read again).

use anyhow::Context;
use mother::engine::{ScanEvent, ScanOptions, spawn_scan};
use mother::lineage::DirectionMode;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let root = PathBuf::from(
        args.next()
            .context("usage: scan_timing DIR [--cache-dir DIR]")?,
    );
    let cache_dir = match (args.next(), args.next()) {
        (Some(flag), Some(dir)) if flag == "--cache-dir" => Some(PathBuf::from(dir)),
        (None, None) => None,
        _ => anyhow::bail!("usage: scan_timing DIR [--cache-dir DIR]"),
    };
    let options = ScanOptions {
        root,
        use_cache: cache_dir.is_some(),
        cache_dir,
        direction: DirectionMode::Finetune,
        bootstrap: 200,
        seed: 0x6d6f74686572,
    };
    let started = Instant::now();
    let handle = spawn_scan(options);
    let mut recovering_at = None;
    for event in handle.events.iter() {
        if let ScanEvent::Recovering = event {
            recovering_at = Some(started.elapsed());
        }
    }
    let report = handle
        .thread
        .join()
        .map_err(|_| anyhow::anyhow!("the scan thread panicked"))??
        .context("the scan was cancelled")?;
    let total = started.elapsed();
    let fingerprinting = recovering_at.unwrap_or(total);
    println!(
        "{}\t{}\t{:.3}\t{:.3}\t{:.3}",
        report.models.len(),
        report.recovery.edges.len(),
        fingerprinting.as_secs_f64(),
        (total - fingerprinting).as_secs_f64(),
        total.as_secs_f64()
    );
    Ok(())
}
