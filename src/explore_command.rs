//! The explorer as the command line opens it: `mother [PATH]` on a folder, on the Hugging Face
//! cache or, when that holds no models, on the demo family; `mother --bundle FILE` on bundles;
//! `mother demo` on the demo family. Every check whose message belongs in the shell runs before
//! the terminal is taken over.

use crate::cli::{DemoArgs, EngineArgs};
use crate::demo::DemoPlan;
use crate::discover::Discovery;
use crate::headless::{EXIT_NO_MODELS, check_cache_dir, no_models_message};
use crate::tui::TuiOptions;
use std::path::PathBuf;
use std::process::ExitCode;

/// `mother [PATH] [--bundle FILE ...]`: the explorer on PATH, on the bundles alone, or on the
/// default hub cache.
pub fn run(path: Option<PathBuf>, engine: &EngineArgs) -> anyhow::Result<ExitCode> {
    match path {
        None if !engine.bundles.is_empty() => {
            check_cache_dir(engine, None)?;
            let first = engine.bundles[0].clone();
            crate::tui::require_terminal(&format!(
                "use `mother scan --bundle {}` to print the forest (add --json for JSON)",
                first.display()
            ))?;
            let names: Vec<String> = engine
                .bundles
                .iter()
                .map(|b| b.display().to_string())
                .collect();
            crate::tui::run(TuiOptions {
                scan: engine.scan_options(first),
                banner: Some(format!(
                    "Bundles {} — fingerprints written by `mother export`; no weight file \
                     is read",
                    names.join(", ")
                )),
                demo: None,
                found: None,
                bundles: engine.bundles.clone(),
                bundles_only: true,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Some(path) => {
            // Both checks come before the terminal is touched, so that their messages are
            // plain lines in the shell and not flashes on an alternate screen.
            // Something to show is a model, or something skipped whose reason the user
            // should read; a root that cannot be read is an error with its reason.
            check_cache_dir(engine, Some(&path))?;
            let found = crate::discover::discover(&path)?;
            if found.models.is_empty() && found.skipped.is_empty() {
                eprintln!("mother: {}", no_models_message(&path));
                return Ok(ExitCode::from(EXIT_NO_MODELS));
            }
            crate::tui::require_terminal(&format!(
                "use `mother scan {}` to print the forest (add --json for JSON)",
                path.display()
            ))?;
            explore(path, engine, found)?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let cache = crate::discover::default_hub_cache();
            check_cache_dir(engine, cache.as_deref())?;
            explore_default(engine, cache)
        }
    }
}

/// `mother demo`: the explorer on the demo family, trained first when it is not built yet.
pub fn demo(args: &DemoArgs, engine: &EngineArgs) -> anyhow::Result<ExitCode> {
    crate::tui::require_terminal(
        "use `mother demo --no-tui` to train the family without the explorer, then \
         `mother scan DIR` on the folder it prints",
    )?;
    check_cache_dir(engine, None)?;
    let plan = crate::demo_command::plan(args)?;
    let banner = format!("Demo family in {}", plan.dir.display());
    explore_demo(plan, engine, banner)
}

/// `mother` alone: the hub cache when it holds models, else the demo family, trained first when
/// it is not built yet.
fn explore_default(engine: &EngineArgs, cache: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    crate::tui::require_terminal(
        "use `mother scan` to print the forest of your Hugging Face cache (add --json for JSON)",
    )?;
    if let Some(cache) = cache.as_deref()
        && let Ok(found) = crate::discover::discover(cache)
        && !found.models.is_empty()
    {
        explore(cache.to_path_buf(), engine, found)?;
        return Ok(ExitCode::SUCCESS);
    }
    let searched = cache.map_or_else(
        || "your Hugging Face cache (no location is set)".to_string(),
        |c| c.display().to_string(),
    );
    let plan = crate::demo_command::plan(&crate::cli::DemoArgs::default())?;
    let banner = format!(
        "No models in {searched} — showing the demo family; `mother PATH` opens a folder of \
         your own models"
    );
    explore_demo(plan, engine, banner)
}

/// The explorer on `root`, whose discovery `found` the caller has just made (to know there is
/// something to show); the first scan starts from it instead of walking the folder again.
fn explore(root: PathBuf, engine: &EngineArgs, found: Discovery) -> anyhow::Result<()> {
    crate::tui::run(TuiOptions {
        scan: engine.scan_options(root),
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
    crate::tui::run(TuiOptions {
        scan: engine.scan_options(root),
        banner: Some(banner),
        demo,
        found: None,
        bundles: Vec::new(),
        bundles_only: false,
    })?;
    Ok(ExitCode::SUCCESS)
}
