//! Times what the explorer's panels rebuild on every frame: the tensor table of the selected
//! model beside its parent and its family (`TensorTable::of`, built up to three times per frame,
//! once per panel that shows it). Scans DIR once, then builds the table for every model and
//! prints one tab-separated line: models, the largest family, the median and the largest time
//! of one build in microseconds, and the time to build the explorer's forest in milliseconds
//! (which gathers each family's kurtosis once).
//!
//! Run: `cargo run --release --example panel_timing -- DIR [--cache-dir DIR]`.

use anyhow::Context;
use mother::engine::{ScanOptions, spawn_scan};
use mother::lineage::DirectionMode;
use mother::tui::forest::Forest;
use mother::tui::tensor_table::TensorTable;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let usage = "usage: panel_timing DIR [--cache-dir DIR]";
    let mut args = std::env::args_os().skip(1);
    let root = PathBuf::from(args.next().context(usage)?);
    let cache_dir = match (args.next(), args.next()) {
        (Some(flag), Some(dir)) if flag == "--cache-dir" => Some(PathBuf::from(dir)),
        (None, None) => None,
        _ => anyhow::bail!(usage),
    };
    let options = ScanOptions {
        root,
        use_cache: cache_dir.is_some(),
        cache_dir,
        direction: DirectionMode::Finetune,
        bootstrap: 200,
        seed: 0x6d6f74686572,
    };
    let handle = spawn_scan(options);
    for _ in handle.events.iter() {}
    let report = handle
        .thread
        .join()
        .map_err(|_| anyhow::anyhow!("the scan thread panicked"))??
        .context("the scan was cancelled")?;
    let building = Instant::now();
    let forest = Forest::new(report);
    let built = building.elapsed().as_secs_f64() * 1e3;
    let models = forest.report().models.len();
    let mut micros = Vec::with_capacity(models);
    let mut largest_family = 0;
    for model in 0..models {
        let started = Instant::now();
        let table = TensorTable::of(&forest, model);
        micros.push(started.elapsed().as_secs_f64() * 1e6);
        largest_family = largest_family.max(table.family);
    }
    micros.sort_by(f64::total_cmp);
    println!(
        "{models}\t{largest_family}\t{:.0}\t{:.0}\t{built:.1}",
        micros.get(micros.len() / 2).copied().unwrap_or(0.0),
        micros.last().copied().unwrap_or(0.0)
    );
    Ok(())
}
