use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = mother::cli::Cli::parse();
    let _ = cli;
    Ok(())
}
