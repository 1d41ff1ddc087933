//! `mother scan`: the engine without a terminal UI. Progress goes to stderr when stderr is a
//! terminal (one line per finished model and a live status line), results to stdout.

use crate::cli::{EngineArgs, ScanArgs};
use crate::discover::Discovery;
use crate::engine::{Phase, ScanEvent, ScanOptions, ScanReport, spawn_scan_with};
use crate::export::{to_dot, to_json, to_text, to_text_of_bundles};
use crate::units::{rate, size};
use anyhow::Context;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Exit code when the scan finished but something was skipped: distinct from failure (1) and
/// from a usage error (2, clap's).
pub const EXIT_SKIPPED: u8 = 3;

/// Exit code when the scan finished and found nothing at all: no model and nothing skipped.
/// It is distinct from success because a script that scans the wrong folder (a typo in a path
/// that exists, a cache the client has not filled yet) should notice, as `grep` and `rg` tell
/// "no match" apart from "error". The `--json` document is still printed (an empty report is a
/// valid one), so a script that only parses it keeps working.
pub const EXIT_NO_MODELS: u8 = 4;

/// What to say when `root` holds no model and nothing that was skipped.
pub fn no_models_message(root: &Path) -> String {
    format!(
        "no models found in {}: nothing there looks like model weights — point mother at a \
         Hugging Face cache or a folder of safetensors/pickle/GGUF models",
        root.display()
    )
}

/// Checks, before any weight is read, that `path` can take the output that `flag` names and
/// lies outside `root`, the folder being read: a scan of a large cache takes hours, and should
/// not end in "cannot write". The check creates nothing that stays: a probe file beside the
/// target is made and removed at once.
pub fn check_output_file(path: &Path, flag: &str, root: &Path) -> anyhow::Result<()> {
    refuse_inside(path, flag, root)?;
    let shown = path.display();
    if path.is_dir() {
        anyhow::bail!("{flag} {shown}: is a folder — pass a file name in it");
    }
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        anyhow::bail!(
            "{flag} {shown}: the folder {} does not exist — create it first, or pass a file in \
             a folder that exists",
            folder.display()
        );
    }
    if path.exists() {
        // An existing file is rewritten in place: the folder itself need not be writable.
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|error| {
                anyhow::anyhow!(
                    "{flag} {shown}: cannot write to it ({error}) — pass a file you may write"
                )
            })?;
        return Ok(());
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let probe = folder.join(format!(".{name}.{}.probe", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|error| {
            anyhow::anyhow!(
                "{flag} {shown}: cannot create files in {} ({error}) — pass a place you may write",
                folder.display()
            )
        })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// mother never writes inside the folder of models it reads (see
/// [`crate::discover::lies_inside`]): `target` is the file or folder `flag` names.
pub fn refuse_inside(target: &Path, flag: &str, root: &Path) -> anyhow::Result<()> {
    if crate::discover::lies_inside(target, root) {
        anyhow::bail!(
            "{flag} {}: inside {}, the folder being read — mother never writes there; pass \
             {flag} a path outside it",
            target.display(),
            root.display()
        );
    }
    Ok(())
}

/// Runs a scan, prints the result and says how it went through the exit code:
/// 0 all read, 3 finished but something was skipped, 4 nothing found, 1 failure (see
/// [`crate::cli::EXIT_STATUS`]).
pub fn run(args: &ScanArgs, options: ScanOptions, bundles: &[PathBuf]) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.dot {
        check_output_file(path, "--dot", &options.root)?;
    }
    let show_progress = std::io::stderr().is_terminal();
    // With bundles alone there is no folder to walk. Without PATH and without bundles, the
    // default hub cache is scanned, and the output names it like any folder.
    let bundles_only = args.path.is_none() && !bundles.is_empty();
    let found = bundles_only.then(Discovery::default);
    let handle = spawn_scan_with(options, found, bundles.to_vec());
    let mut progress = Progress::default();
    for event in handle.events.iter() {
        if show_progress {
            progress.show(&event);
        }
    }
    let report = handle
        .thread
        .join()
        .map_err(|_| anyhow::anyhow!("the scan thread panicked; please report this as a bug"))??;
    if show_progress {
        eprint!("\r\x1b[2K");
    }
    let Some(report) = report else {
        anyhow::bail!("scan cancelled");
    };
    if report.models.is_empty() && report.skipped.is_empty() {
        if args.json {
            write_outputs(args, &report, bundles_only)?;
        }
        let message = if bundles_only {
            let names: Vec<String> = bundles.iter().map(|b| b.display().to_string()).collect();
            format!(
                "no models found in {}: the bundles hold none (an export of a folder or shard \
                 without models) — export a folder that holds models",
                names.join(", ")
            )
        } else {
            no_models_message(&report.root)
        };
        eprintln!("mother: {message}");
        return Ok(ExitCode::from(EXIT_NO_MODELS));
    }
    write_outputs(args, &report, bundles_only)?;
    Ok(if report.skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SKIPPED)
    })
}

fn write_outputs(args: &ScanArgs, report: &ScanReport, bundles_only: bool) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let mut document = to_json(report);
        if bundles_only {
            // Bundles alone: no folder was scanned here (`bundles` says where each came from).
            document["root"] = serde_json::Value::Null;
        }
        let text = serde_json::to_string_pretty(&document)?;
        writeln!(stdout, "{text}")?;
    } else {
        let text = if bundles_only {
            to_text_of_bundles(report)
        } else {
            to_text(report)
        };
        write!(stdout, "{text}")?;
    }
    // Flushed here, so that a reader that went away shows as an error (which main turns into
    // a clean exit) instead of a write lost at exit.
    stdout.flush()?;
    if let Some(path) = &args.dot {
        std::fs::write(path, to_dot(report)).with_context(|| {
            format!(
                "--dot {}: cannot write the DOT file — pass a file in a folder you may write",
                path.display()
            )
        })?;
        if std::io::stderr().is_terminal() {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// The stderr progress display (also `mother export`'s).
#[derive(Default)]
pub(crate) struct Progress {
    started: Option<Instant>,
    ids: Vec<String>,
    totals: Vec<u64>,
    done: Vec<u64>,
    finished: usize,
}

impl Progress {
    pub(crate) fn show(&mut self, event: &ScanEvent) {
        let started = *self.started.get_or_insert_with(Instant::now);
        match event {
            ScanEvent::Discovered { models, skipped } => {
                self.ids = models.iter().map(|m| m.id.clone()).collect();
                self.totals = models.iter().map(|m| m.total_bytes).collect();
                self.done = vec![0; models.len()];
                eprintln!(
                    "found {} models ({}) and {} skipped entries",
                    models.len(),
                    size(self.totals.iter().sum()),
                    skipped.len()
                );
            }
            ScanEvent::Progress { model, bytes_done } => {
                if let Some(done) = self.done.get_mut(*model) {
                    *done = *bytes_done;
                }
            }
            ScanEvent::Phase { model, phase } => {
                let id = self.ids.get(*model).map(String::as_str).unwrap_or("?");
                let line = match phase {
                    Phase::Done => Some(format!("  read        {id}")),
                    Phase::FromCache => Some(format!("  from cache  {id}")),
                    Phase::FromBundle => Some(format!("  from bundle {id}")),
                    Phase::Skipped(reason) => Some(format!("  skipped     {id}: {reason}")),
                    Phase::Queued | Phase::Reading => None,
                };
                if let Some(line) = line {
                    self.finished += 1;
                    eprintln!("\r\x1b[2K{line}");
                }
            }
            ScanEvent::Recovering => {
                eprint!("\r\x1b[2Krecovering the forest…");
                return;
            }
            ScanEvent::Format { .. } | ScanEvent::Finished(_) => return,
        }
        let done: u64 = self.done.iter().sum();
        let total: u64 = self.totals.iter().sum();
        let seconds = started.elapsed().as_secs_f64().max(1e-3);
        eprint!(
            "\r\x1b[2K[{}/{}] {} of {}  {}",
            self.finished,
            self.ids.len(),
            size(done),
            size(total),
            rate(done as f64 / seconds)
        );
        let _ = std::io::stderr().flush();
    }
}

/// The hub cache `mother COMMAND` reads when no path is given.
pub fn hub_cache(command: &str) -> anyhow::Result<PathBuf> {
    let cache = crate::discover::default_hub_cache().ok_or_else(|| {
        anyhow::anyhow!(
            "no Hugging Face hub cache found (HF_HUB_CACHE, HF_HOME and ~/.cache/huggingface/hub \
             are all unset or missing) — pass a folder: mother {command} PATH"
        )
    })?;
    if !cache.exists() {
        // The user gave no path: say where this one came from.
        let source = match crate::discover::hub_cache_variable(|name| std::env::var_os(name)) {
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

/// A fingerprint cache the user named must be usable: the scan would otherwise go on without
/// it, and the next one read every model again with no word why.
/// An explicit `--cache-dir` must be a folder mother may create and write, and lie outside
/// `models_root`, the folder of models the command reads (none for the demo and bundles).
pub fn check_cache_dir(engine: &EngineArgs, models_root: Option<&Path>) -> anyhow::Result<()> {
    if let (Some(dir), Some(root), false) = (&engine.cache_dir, models_root, engine.no_cache) {
        refuse_inside(dir, "--cache-dir", root)?;
    }
    match &engine.cache_dir {
        Some(dir) if dir.exists() && !dir.is_dir() && !engine.no_cache => anyhow::bail!(
            "--cache-dir {}: is a file, not a folder — pass a folder for the fingerprint cache, \
             or --no-cache",
            dir.display()
        ),
        Some(dir) if !engine.no_cache => crate::measure::cache::FingerprintCache::open(dir)
            .map(|_| ())
            .map_err(|error| anyhow::anyhow!("--cache-dir {error}")),
        _ => Ok(()),
    }
}
