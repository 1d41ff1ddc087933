//! The command-line surface.

use crate::demo::{Extras, FamilySpec, StoredDtype};
use crate::engine::{ScanOptions, Shard};
use crate::lineage::DirectionMode;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// What the exit status means, shown under `--help`; README's table says the same.
pub const EXIT_STATUS: &str = "\
Exit status:
  0  finished, every model read (also when stdout was closed early, as by `| head`)
  1  failed (the message says what to do)
  2  usage error (unknown option or bad value)
  3  finished, but something was skipped (`mother scan` lists what and why)
  4  finished, but no models were found there (`--json` still prints the empty report)";

#[derive(Debug, Parser)]
#[command(
    name = "mother",
    version,
    about = "Recover the family tree of neural-network models from their weights alone",
    after_help = EXIT_STATUS
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Open the explorer on this hub cache or folder (default: the Hugging Face hub cache).
    pub path: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

impl Cli {
    /// The arguments of this process. On a usage error clap prints it and exits with status 2.
    pub fn from_env() -> Self {
        Self::parse()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan without the terminal UI and print the recovered forest.
    #[command(after_help = EXIT_STATUS)]
    Scan(ScanArgs),
    /// Train the demo model family, write it as a hub cache and open the explorer on it.
    Demo(DemoArgs),
    /// Fingerprint a cache (or one shard of it) into a bundle file that `mother scan --bundle`
    /// reads on any machine: split the reading of a large cache between machines.
    #[command(after_help = EXPORT_HELP)]
    Export(ExportArgs),
}

const EXPORT_HELP: &str = "\
Reading every weight is the slow part of a scan; a bundle holds only the fingerprints (a few
hundred KB per model). On each of N machines that see the cache (or each hold part of it):
  mother export /shared/hub --shard K/N --out part-K.mfb
then, on any machine, one forest from all of them:
  mother scan --bundle part-1.mfb --bundle part-2.mfb ... [--json] [--dot FILE]

Exit status:
  0  finished, every model read
  1  failed (the message says what to do)
  2  usage error (unknown option or bad value)
  3  finished, but something was skipped (it is listed on stderr and kept in the bundle)
  4  finished, but this shard holds no models (the bundle is still written)";

/// [`DirectionMode`] as a command-line value (kept here so that `lineage` does not depend on
/// clap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// Fine-tuning: an update never grows the weights along themselves (it adds energy
    /// independently, or weight decay shrinks them), so the shrunk model is the child.
    Finetune,
    /// Continued pre-training: the weights grow along themselves, so a model that grew by more
    /// than its update's energy is the child.
    Pretrain,
}

impl From<DirectionArg> for DirectionMode {
    fn from(arg: DirectionArg) -> Self {
        match arg {
            DirectionArg::Finetune => DirectionMode::Finetune,
            DirectionArg::Pretrain => DirectionMode::Pretrain,
        }
    }
}

/// [`StoredDtype`] as a command-line value (kept here so that `demo` does not depend on clap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DtypeArg {
    F32,
    F16,
    Bf16,
    /// Roots in f32; the other models take f32, bf16 and f16 in turn, so a tree mixes 32- and
    /// 16-bit parents with 16- and 32-bit children, as a real cache does.
    Mixed,
}

impl From<DtypeArg> for StoredDtype {
    fn from(arg: DtypeArg) -> Self {
        match arg {
            DtypeArg::F32 => StoredDtype::F32,
            DtypeArg::F16 => StoredDtype::F16,
            DtypeArg::Bf16 => StoredDtype::Bf16,
            DtypeArg::Mixed => StoredDtype::Mixed,
        }
    }
}

#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Read every model again instead of reusing cached fingerprints.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Where fingerprints are cached (default: the platform cache directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// How the models were trained from each other, which sets how weight growth reads:
    /// `finetune` (the usual case) or `pretrain` (continued pre-training).
    #[arg(long, global = true, value_enum, default_value_t = DirectionArg::Finetune)]
    pub direction: DirectionArg,
    /// Bootstrap resamples over tensors: the tree is the one they agree on most, and each edge's
    /// confidence says how many of them keep it (100 to 10,000; each costs about one recovery of
    /// the tree).
    #[arg(long, global = true, default_value_t = 200, value_parser = clap::value_parser!(u64).range(100..=10_000))]
    pub bootstrap: u64,
    /// Add the models of a bundle written by `mother export` (repeat for several), to the
    /// explorer or `mother scan`. Without PATH, only the bundles are read.
    #[arg(long = "bundle", global = true, value_name = "FILE")]
    pub bundles: Vec<PathBuf>,
}

impl EngineArgs {
    /// What the engine is asked to do with these options on the models under `root`.
    pub fn scan_options(&self, root: PathBuf) -> ScanOptions {
        ScanOptions {
            root,
            use_cache: !self.no_cache,
            cache_dir: self.cache_dir.clone(),
            direction: self.direction.into(),
            bootstrap: self.bootstrap as usize,
            seed: crate::lineage::LineageOptions::default().seed,
        }
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// A hub cache, a Hugging Face home, or a folder tree of models (safetensors, PyTorch, GGUF).
    pub path: Option<PathBuf>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write the forest as Graphviz DOT to this file.
    #[arg(long, value_name = "FILE")]
    pub dot: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A hub cache, a Hugging Face home, or a folder tree of models (default: the Hugging Face
    /// hub cache).
    pub path: Option<PathBuf>,
    /// The bundle file to write (outside the scanned folder).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Only part K of N of the models (1 <= K <= N), chosen by a hash of each model's id, so
    /// that N machines each export one part and no model is read twice.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
}

#[derive(Debug, Default, Args)]
pub struct DemoArgs {
    /// Where to write the demo cache (default: the platform cache directory, reused later).
    pub dir: Option<PathBuf>,
    /// Stop after writing; do not open the explorer.
    #[arg(long)]
    pub no_tui: bool,
    /// Start from the quick test family (2 full trees, 1 LoRA tree, 2 children, no extras).
    #[arg(long)]
    pub small: bool,
    /// Trees whose models are fully fine-tuned.
    #[arg(long, value_name = "N")]
    pub full_trees: Option<usize>,
    /// Trees whose models are LoRA fine-tunes, merged into the weights.
    #[arg(long, value_name = "N")]
    pub lora_trees: Option<usize>,
    /// Fine-tunes of each model, per generation.
    #[arg(long, value_name = "N")]
    pub children: Option<usize>,
    /// Generations below each root.
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
    /// Rank of the LoRA factors.
    #[arg(long, value_name = "R")]
    pub lora_rank: Option<usize>,
    /// How weights are stored: f32, f16, bf16, or mixed (f32 roots; the rest take f32, bf16
    /// and f16 in turn; the default).
    #[arg(long, value_enum)]
    pub dtype: Option<DtypeArg>,
    /// Fine-tune gently (lr 1e-4 instead of 3e-4): the new task's structure then raises the
    /// kurtosis of the weights instead of lowering it.
    #[arg(long)]
    pub gentle: bool,
    /// Seed of the whole family.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Leave out the extras (duplicate, quantised and cast copies, adapter, other architecture,
    /// README parents, a linear merge).
    #[arg(long)]
    pub no_extras: bool,
}

impl DemoArgs {
    /// The family these options describe.
    pub fn spec(&self) -> FamilySpec {
        let mut spec = if self.small {
            FamilySpec::small()
        } else {
            FamilySpec::default_family()
        };
        if let Some(n) = self.full_trees {
            spec.full_trees = n;
        }
        if let Some(n) = self.lora_trees {
            spec.lora_trees = n;
        }
        if let Some(n) = self.children {
            spec.children = n;
        }
        if let Some(n) = self.depth {
            spec.depth = n;
        }
        if let Some(r) = self.lora_rank {
            spec.lora_rank = r;
        }
        if let Some(dtype) = self.dtype {
            spec.dtype = dtype.into();
        }
        if let Some(seed) = self.seed {
            spec.seed = seed;
        }
        if self.no_extras {
            spec.extras = Extras::none();
        }
        if self.gentle {
            spec.finetune.lr = 1e-4;
        }
        spec
    }
}
