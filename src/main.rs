//! The `mother` binary: parse the arguments, choose the headless command or the explorer, run it,
//! and turn the outcome into an exit code.

#![deny(clippy::unwrap_used)]

use mother::cli::{Cli, Command, EngineArgs};
use mother::demo::DemoPlan;
use mother::discover::Discovery;
use mother::engine::ScanOptions;
use mother::headless::{EXIT_NO_MODELS, no_models_message};
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
            eprintln!("mother: {}", error_text(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, as `{:#}` writes them, leaving out a cause that an
/// outer message already quotes (an error that names its I/O failure in its own text also
/// carries it as its source, and the reader should not read it twice).
fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
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
            // With bundles alone, the first one names the scan in messages.
            let root = match (&args.path, cli.engine.bundles.first()) {
                (Some(path), _) => path.clone(),
                (None, Some(bundle)) => bundle.clone(),
                (None, None) => hub_cache("scan")?,
            };
            let models_root =
                (args.path.is_some() || cli.engine.bundles.is_empty()).then_some(&root);
            check_cache_dir(&cli.engine, models_root.map(PathBuf::as_path))?;
            let options = scan_options(root, &cli.engine);
            mother::headless::run(&args, options, &cli.engine.bundles)
        }
        Some(Command::Export(args)) => {
            if let Some(bundle) = cli.engine.bundles.first() {
                anyhow::bail!(
                    "--bundle {}: export reads a cache, not bundles — drop --bundle, or use \
                     `mother scan --bundle` to recover the forest of bundles",
                    bundle.display()
                );
            }
            let root = args.path.clone().map_or_else(|| hub_cache("export"), Ok)?;
            check_cache_dir(&cli.engine, Some(&root))?;
            mother::export_command::run(&args, scan_options(root, &cli.engine))
        }
        Some(Command::Demo(_)) if !cli.engine.bundles.is_empty() => anyhow::bail!(
            "--bundle {}: the demo shows its own family, not bundles — drop --bundle, or open \
             the bundles with `mother --bundle FILE`",
            cli.engine.bundles[0].display()
        ),
        Some(Command::Demo(args)) if args.no_tui => {
            check_cache_dir(&cli.engine, None)?;
            mother::demo_command::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Demo(args)) => {
            mother::tui::require_terminal(
                "use `mother demo --no-tui` to train the family without the explorer, then \
                 `mother scan DIR` on the folder it prints",
            )?;
            check_cache_dir(&cli.engine, None)?;
            let plan = mother::demo_command::plan(&args)?;
            let banner = format!("Demo family in {}", plan.dir.display());
            explore_demo(plan, &cli.engine, banner)
        }
        None => match cli.path.clone() {
            None if !cli.engine.bundles.is_empty() => {
                check_cache_dir(&cli.engine, None)?;
                let first = cli.engine.bundles[0].clone();
                mother::tui::require_terminal(&format!(
                    "use `mother scan --bundle {}` to print the forest (add --json for JSON)",
                    first.display()
                ))?;
                let names: Vec<String> = cli
                    .engine
                    .bundles
                    .iter()
                    .map(|b| b.display().to_string())
                    .collect();
                mother::tui::run(TuiOptions {
                    scan: scan_options(first, &cli.engine),
                    banner: Some(format!(
                        "Bundles {} — fingerprints written by `mother export`; no weight file \
                         is read",
                        names.join(", ")
                    )),
                    demo: None,
                    found: None,
                    bundles: cli.engine.bundles.clone(),
                    bundles_only: true,
                })?;
                Ok(ExitCode::SUCCESS)
            }
            Some(path) => {
                // Both checks come before the terminal is touched, so that their messages are
                // plain lines in the shell and not flashes on an alternate screen.
                // Something to show is a model, or something skipped whose reason the user
                // should read; a root that cannot be read is an error with its reason.
                check_cache_dir(&cli.engine, Some(&path))?;
                let found = mother::discover::discover(&path)?;
                if found.models.is_empty() && found.skipped.is_empty() {
                    eprintln!("mother: {}", no_models_message(&path));
                    return Ok(ExitCode::from(EXIT_NO_MODELS));
                }
                mother::tui::require_terminal(&format!(
                    "use `mother scan {}` to print the forest (add --json for JSON)",
                    path.display()
                ))?;
                explore(path, &cli.engine, found)?;
                Ok(ExitCode::SUCCESS)
            }
            None => {
                let cache = mother::discover::default_hub_cache();
                check_cache_dir(&cli.engine, cache.as_deref())?;
                explore_default(&cli.engine, cache)
            }
        },
    }
}

/// `mother` alone: the hub cache when it holds models, else the demo family, trained first when
/// it is not built yet.
fn explore_default(engine: &EngineArgs, cache: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    mother::tui::require_terminal(
        "use `mother scan` to print the forest of your Hugging Face cache (add --json for JSON)",
    )?;
    if let Some(cache) = cache.as_deref()
        && let Ok(found) = mother::discover::discover(cache)
        && !found.models.is_empty()
    {
        explore(cache.to_path_buf(), engine, found)?;
        return Ok(ExitCode::SUCCESS);
    }
    let searched = cache.map_or_else(
        || "your Hugging Face cache (no location is set)".to_string(),
        |c| c.display().to_string(),
    );
    let plan = mother::demo_command::plan(&mother::cli::DemoArgs::default())?;
    let banner = format!(
        "No models in {searched} — showing the demo family; `mother PATH` opens a folder of \
         your own models"
    );
    explore_demo(plan, engine, banner)
}

/// The hub cache `mother COMMAND` reads when no path is given.
fn hub_cache(command: &str) -> anyhow::Result<PathBuf> {
    let cache = mother::discover::default_hub_cache().ok_or_else(|| {
        anyhow::anyhow!(
            "no Hugging Face hub cache found (HF_HUB_CACHE, HF_HOME and ~/.cache/huggingface/hub \
             are all unset or missing) — pass a folder: mother {command} PATH"
        )
    })?;
    if !cache.exists() {
        // The user gave no path: say where this one came from.
        let source = match mother::discover::hub_cache_variable(|name| std::env::var_os(name)) {
            Some(variable) => format!("set by {variable}"),
            None => "the default".to_owned(),
        };
        anyhow::bail!(
            "{}: no Hugging Face hub cache there ({source}) — pass a folder: mother {command} PATH",
            cache.display()
        );
    }
    Ok(cache)
}

/// The explorer on `root`, whose discovery `found` the caller has just made (to know there is
/// something to show); the first scan starts from it instead of walking the folder again.
fn explore(root: PathBuf, engine: &EngineArgs, found: Discovery) -> anyhow::Result<()> {
    mother::tui::run(TuiOptions {
        scan: scan_options(root, engine),
        banner: None,
        demo: None,
        found: Some(found),
        bundles: engine.bundles.clone(),
        bundles_only: false,
    })
}

/// The explorer on a demo family, trained inside it first when it is not complete.
fn explore_demo(plan: DemoPlan, engine: &EngineArgs, banner: String) -> anyhow::Result<ExitCode> {
    let root = plan.dir.clone();
    let demo = (!plan.complete).then_some(plan);
    mother::tui::run(TuiOptions {
        scan: scan_options(root, engine),
        banner: Some(banner),
        demo,
        found: None,
        bundles: Vec::new(),
        bundles_only: false,
    })?;
    Ok(ExitCode::SUCCESS)
}

/// A fingerprint cache the user named must be usable: the scan would otherwise go on without
/// it, and the next one read every model again with no word why.
/// An explicit `--cache-dir` must be a folder mother may create and write, and lie outside
/// `models_root`, the folder of models the command reads (none for the demo and bundles).
fn check_cache_dir(engine: &EngineArgs, models_root: Option<&Path>) -> anyhow::Result<()> {
    if let (Some(dir), Some(root), false) = (&engine.cache_dir, models_root, engine.no_cache) {
        mother::headless::refuse_inside(dir, "--cache-dir", root)?;
    }
    match &engine.cache_dir {
        Some(dir) if dir.exists() && !dir.is_dir() && !engine.no_cache => anyhow::bail!(
            "--cache-dir {}: is a file, not a folder — pass a folder for the fingerprint cache, \
             or --no-cache",
            dir.display()
        ),
        Some(dir) if !engine.no_cache => mother::measure::cache::FingerprintCache::open(dir)
            .map(|_| ())
            .map_err(|error| anyhow::anyhow!("--cache-dir {error}")),
        _ => Ok(()),
    }
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

#[cfg(test)]
mod tests {
    use super::error_text;

    #[test]
    fn an_error_names_a_cause_it_already_quotes_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let quoted = format!("x.mfb: cannot write the bundle: {io} — pass --out a writable place");
        let error = anyhow::Error::new(io).context(quoted.clone());
        assert_eq!(error_text(&error), quoted);
        let plain = anyhow::anyhow!("disk full").context("x.dot: cannot write");
        assert_eq!(error_text(&plain), "x.dot: cannot write: disk full");
    }
}
