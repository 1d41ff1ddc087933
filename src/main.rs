//! The `mother` binary: parse the arguments, choose the headless command or the explorer, run it,
//! and turn the outcome into an exit code.

#![deny(clippy::unwrap_used)]

use mother::cli::{Cli, Command};
use mother::headless::{check_cache_dir, hub_cache};
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
            check_cache_dir(&cli.engine, models_root.map(std::path::PathBuf::as_path))?;
            let options = cli.engine.scan_options(root);
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
            mother::export_command::run(&args, cli.engine.scan_options(root))
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
        Some(Command::Demo(args)) => mother::explore_command::demo(&args, &cli.engine),
        None => mother::explore_command::run(cli.path.clone(), &cli.engine),
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
