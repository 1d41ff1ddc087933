//! The layers point one way. Inside one crate nothing stops a lower stage from importing a higher
//! one, so this test reads `src/**/*.rs` and checks every `crate::<module>` path against the table
//! below: the data path (find, read, measure, recover, present) from the bottom up, the demo on
//! the side, and the command-line front ends on top. It also keeps clap inside `cli.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may name. A module may only name modules listed
/// above it, so the table itself has no cycle (checked below). `weights` sits below `discover`:
/// the weights layer reads any file it is given, and discovery names what it finds with the
/// weights layer's [`Format`](mother::weights::Format).
const LAYERS: &[(&str, &[&str])] = &[
    ("units", &[]),
    ("simd", &[]),
    ("weights", &["units", "simd"]),
    ("discover", &["units", "weights"]),
    ("measure", &["units", "simd", "weights", "discover"]),
    // The demo trains and writes models: it may use the weights codecs and the statistics,
    // never the recovery it is meant to test. The explorer trains it on first run.
    ("demo", &["units", "weights", "measure"]),
    (
        "lineage",
        &["units", "simd", "weights", "discover", "measure"],
    ),
    (
        "engine",
        &["units", "weights", "discover", "measure", "lineage"],
    ),
    ("evaluate", &["units", "lineage"]),
    (
        "export",
        &[
            "units", "weights", "discover", "measure", "lineage", "engine",
        ],
    ),
    (
        "tui",
        &[
            "units", "weights", "discover", "measure", "lineage", "engine", "export", "demo",
        ],
    ),
    // The command line parses a shard (`--shard K/N`) into the engine's type.
    ("cli", &["lineage", "demo", "engine"]),
    // It also checks that a `--cache-dir` opens as a fingerprint cache before a scan starts.
    (
        "headless",
        &["units", "discover", "measure", "engine", "export", "cli"],
    ),
    ("demo_command", &["demo", "cli"]),
    // `mother [PATH]` and `mother demo` open the explorer after the checks `mother scan` makes.
    (
        "explore_command",
        &["discover", "demo", "tui", "cli", "headless", "demo_command"],
    ),
    // `mother export` shows its progress as `mother scan` does.
    (
        "export_command",
        &["units", "discover", "engine", "cli", "headless"],
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The file's code without `//` comments (doc links may name any module; they build nothing).
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a piece of code names through `crate::x` or `crate::{x, y}`.
fn named_modules(code: &str) -> BTreeSet<String> {
    let ident = |text: &str| -> String {
        text.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut named = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group: split at commas outside nested braces.
            let mut depth = 0usize;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        named.insert(ident(group[start..i].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        named.insert(ident(group[start..i].trim()));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            named.insert(ident(rest));
        }
    }
    named.remove("");
    named
}

/// The top-level module a file under `src/` belongs to (`None` for the crate root and `main.rs`).
fn module_of(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(src()).expect("a file under src/");
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => None,
        Some(stem) => Some(stem.to_owned()),
        None => Some(first.to_owned()),
    }
}

#[test]
fn the_layer_table_has_no_cycle_and_covers_every_module() {
    for (index, (module, allowed)) in LAYERS.iter().enumerate() {
        let above: BTreeSet<&str> = LAYERS[..index].iter().map(|(m, _)| *m).collect();
        for dependency in *allowed {
            assert!(
                above.contains(dependency),
                "{module} may name {dependency}, which is not listed above it: the table has a cycle"
            );
        }
    }
    let lib = code_of(&src().join("lib.rs"));
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub mod "))
        .map(|rest| rest.trim_end_matches(';'))
        .collect();
    let listed: BTreeSet<&str> = LAYERS.iter().map(|(m, _)| *m).collect();
    assert_eq!(
        declared, listed,
        "every module in lib.rs needs a row in LAYERS (and no row without a module)"
    );
}

#[test]
fn every_module_names_only_the_layers_below_it() {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut upward = Vec::new();
    for path in &files {
        let Some(module) = module_of(path) else {
            continue;
        };
        let may = allowed
            .get(module.as_str())
            .unwrap_or_else(|| panic!("{}: module {module} is not in LAYERS", path.display()));
        for named in named_modules(&code_of(path)) {
            if named != module && !may.contains(&named.as_str()) {
                upward.push(format!("{} names crate::{named}", path.display()));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layers:\n{}",
        upward.join("\n")
    );
}

#[test]
fn clap_is_named_in_cli_rs_only() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let cli = src().join("cli.rs");
    let offenders: Vec<String> = files
        .iter()
        .filter(|path| **path != cli)
        .filter(|path| {
            let code = code_of(path);
            code.contains("clap::") || code.contains("use clap")
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "clap outside cli.rs: {offenders:?}");
}

#[test]
fn the_import_scanner_sees_plain_and_grouped_paths() {
    let code = "use crate::weights::Format;\nuse crate::{engine::{A, B}, units,};\n";
    let named: Vec<String> = named_modules(code).into_iter().collect();
    assert_eq!(named, ["engine", "units", "weights"]);
}
