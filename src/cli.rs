//! The command-line surface.

use crate::lineage::DirectionMode;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "mother",
    version,
    about = "Recover the family tree of neural-network models from their weights alone"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Open the explorer on this hub cache or folder (default: the Hugging Face hub cache).
    pub path: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan without the terminal UI and print the recovered forest.
    Scan(ScanArgs),
    /// Train the demo model family, write it as a hub cache and open the explorer on it.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Read every model again instead of reusing cached fingerprints.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Where fingerprints are cached (default: the platform cache directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Which way kurtosis points: `finetune` (parents have higher kurtosis) or `pretrain`.
    #[arg(long, global = true, value_enum, default_value_t = DirectionMode::Finetune)]
    pub direction: DirectionMode,
    /// Bootstrap resamples for the edge confidences.
    #[arg(long, global = true, default_value_t = 200, value_parser = clap::value_parser!(u64).range(100..))]
    pub bootstrap: u64,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// A hub cache, a Hugging Face home, or a folder tree of safetensors models.
    pub path: Option<PathBuf>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write the forest as Graphviz DOT to this file.
    #[arg(long, value_name = "FILE")]
    pub dot: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the demo cache (default: the platform cache directory, reused later).
    pub dir: Option<PathBuf>,
    /// Stop after writing; do not open the explorer.
    #[arg(long)]
    pub no_tui: bool,
}
