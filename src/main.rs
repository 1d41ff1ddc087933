//! The `mother` binary: parse the arguments, choose the headless command or the explorer, run it,
//! and turn the outcome into an exit code.

#![deny(clippy::unwrap_used)]

use mother::cli::{Cli, Command, EngineArgs};
use mother::engine::ScanOptions;
use mother::tui::TuiOptions;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::from_env();
    match run(cli) {
        Ok(code) => code,
        // A reader that stopped early (`mother scan | head`) is not a failure: nothing more
        // is wanted, so the exit is quiet and clean, as ripgrep's.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mother: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Scan(args)) => {
            let root = args.path.clone().map_or_else(hub_cache, Ok)?;
            mother::headless::run(&args, scan_options(root, &cli.engine))
        }
        Some(Command::Demo(args)) => {
            let dir = mother::demo_command::run(&args)?;
            if !args.no_tui {
                let banner = format!("Demo family in {}", dir.display());
                explore(dir, &cli.engine, Some(banner))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            if let Some(path) = cli.path.clone() {
                explore(path, &cli.engine, None)?;
                return Ok(ExitCode::SUCCESS);
            }
            let cache = mother::discover::default_hub_cache();
            match cache.as_deref().filter(|c| has_models(c)) {
                Some(cache) => explore(cache.to_path_buf(), &cli.engine, None)?,
                None => {
                    let searched =
                        cache.map_or("no hub cache location".into(), |c| c.display().to_string());
                    eprintln!(
                        "No models in {searched}: opening the demo family instead \
                         (mother scan {searched} lists what it skipped there)."
                    );
                    let dir = mother::demo_command::run(&mother::cli::DemoArgs::default())?;
                    let banner = format!("No models in {searched} — showing the demo family");
                    explore(dir, &cli.engine, Some(banner))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn hub_cache() -> anyhow::Result<PathBuf> {
    mother::discover::default_hub_cache().ok_or_else(|| {
        anyhow::anyhow!(
            "no Hugging Face hub cache found (HF_HUB_CACHE, HF_HOME and ~/.cache/huggingface/hub \
             are all unset or missing) — pass a folder: mother scan PATH"
        )
    })
}

fn has_models(cache: &Path) -> bool {
    mother::discover::discover(cache).is_ok_and(|d| !d.models.is_empty())
}

fn explore(root: PathBuf, engine: &EngineArgs, banner: Option<String>) -> anyhow::Result<()> {
    mother::tui::run(TuiOptions {
        scan: scan_options(root, engine),
        banner,
    })
}

fn scan_options(root: PathBuf, engine: &EngineArgs) -> ScanOptions {
    ScanOptions {
        root,
        use_cache: !engine.no_cache,
        cache_dir: engine.cache_dir.clone(),
        direction: engine.direction.into(),
        bootstrap: engine.bootstrap as usize,
        seed: mother::lineage::LineageOptions::default().seed,
    }
}
