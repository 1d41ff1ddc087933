//! `mother demo`: the command-line front end of [`crate::demo`]. It picks the folder, reuses a
//! complete family of the same spec, and shows training progress on stderr (with `--no-tui`; the
//! explorer trains it on its own screen); the demo itself knows nothing of the command line.

use crate::cli::DemoArgs;
use crate::demo::{DemoPlan, DemoProgress, build_demo, demo_dir_for, is_complete};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// The plan the arguments describe. A family in the default folder is reused when complete;
/// one in a folder the user named is always trained again, as that is what naming it asks for.
pub fn plan(args: &DemoArgs) -> anyhow::Result<DemoPlan> {
    let spec = args.spec();
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => demo_dir_for(&spec).ok_or_else(|| {
            anyhow::anyhow!("no cache directory on this system: give a folder, `mother demo DIR`")
        })?,
    };
    let complete = args.dir.is_none() && is_complete(&dir, &spec);
    Ok(DemoPlan {
        spec,
        dir,
        complete,
    })
}

/// `mother demo --no-tui`: trains the family the arguments describe (or reuses a complete one),
/// prints its folder on stdout for scripts, and returns the folder.
pub fn run(args: &DemoArgs) -> anyhow::Result<PathBuf> {
    let plan = plan(args)?;
    if plan.complete {
        writeln!(std::io::stdout(), "{}", plan.dir.display())?;
        return Ok(plan.dir);
    }
    let terminal = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let show = |event: DemoProgress| {
        if !terminal {
            return;
        }
        let line = match event {
            DemoProgress::Training { done, total, model } => {
                format!("training {done:>4}/{total} {model}")
            }
            DemoProgress::Writing { done, total } => format!("writing  {done:>4}/{total}"),
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    };
    let demo = build_demo(&plan.spec, &plan.dir, &show)?;
    if terminal {
        eprintln!(
            "\r\x1b[2Ktrained {} models in {:.1} s",
            demo.truth.len() + demo.merges.len(),
            started.elapsed().as_secs_f64()
        );
    }
    writeln!(std::io::stdout(), "{}", plan.dir.display())?;
    Ok(plan.dir)
}
