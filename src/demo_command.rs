//! `mother demo`: the command-line front end of [`crate::demo`]. It picks the folder, reuses a
//! complete family of the same spec, and shows training progress on stderr; the demo itself
//! knows nothing of the command line.

use crate::cli::DemoArgs;
use crate::demo::{DemoProgress, build_demo, demo_dir_for, is_complete};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// `mother demo`: trains the family the arguments describe (or reuses a complete one of the same
/// spec in the default folder), prints where it is, and returns the folder.
pub fn run(args: &DemoArgs) -> anyhow::Result<PathBuf> {
    let spec = args.spec();
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => demo_dir_for(&spec).ok_or_else(|| {
            anyhow::anyhow!("no cache directory on this system: give a folder, `mother demo DIR`")
        })?,
    };
    if args.dir.is_none() && is_complete(&dir, &spec) {
        writeln!(std::io::stdout(), "{}", dir.display())?;
        return Ok(dir);
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
    let demo = build_demo(&spec, &dir, &show)?;
    if terminal {
        eprintln!(
            "\r\x1b[2Ktrained {} models in {:.1} s",
            demo.truth.len(),
            started.elapsed().as_secs_f64()
        );
    }
    writeln!(std::io::stdout(), "{}", dir.display())?;
    Ok(dir)
}
