//! Scores the recovered forest of truth-labelled caches: per family and method, the true edges
//! recovered (directed and undirected, per regime), the copies placed, edges across trees, and
//! the reliability of the confidences (per bin: how many reported edges are right), pooled over
//! the families given. README's accuracy and reliability tables come from this tool.
//!
//! Run: `cargo run --release --example evaluate -- [--cache-dir DIR] [--methods LIST]
//! [--verbose] FAMILY...`, where each FAMILY folder holds `hub/` and `truth.json` (`mother demo
//! DIR` writes such folders; so do `benches/tools/bert_family.py` and the shared real-family
//! tool). LIST is comma-separated from: default, baseline, paper, no-prior, no-growth,
//! no-discount, no-bagging, no-breadth, and breadthP or breadthP-no-discount for a breadth power
//! P (default: default,baseline,paper). `--verbose` lists every edge; `--cues` prints the
//! direction readings of the true edges (the ranges `src/lineage/direction.rs` rests on).

use anyhow::Context;
use mother::discover::ModelKind;
use mother::engine::{ScanOptions, scan};
use mother::evaluate::{BINS, Judged, Score, Truth, reliability};
use mother::lineage::{
    Direction, DirectionMode, EdgeKind, LineageInput, LineageOptions, Method, Regime,
    nearest_lines, recover_with,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

const USAGE: &str = "usage: evaluate [--cache-dir DIR] [--methods LIST] [--verbose] [--cues] \
[--merges] FAMILY...  (each FAMILY folder holds hub/ and truth.json; LIST: default, baseline, paper, \
no-prior, no-growth, no-discount, no-bagging, no-breadth, no-merges, no-between, breadthP[-no-discount])";

fn method(name: &str) -> anyhow::Result<Method> {
    let default = Method::default();
    let evidence = |centre_prior, growth| Method {
        direction: Direction::Evidence {
            centre_prior,
            growth,
        },
        ..Method::default()
    };
    Ok(match name {
        "default" => default,
        "baseline" => Method::baseline(),
        "paper" => Method::paper(),
        "no-prior" => evidence(0.0, true),
        "no-growth" => evidence(0.5, false),
        "no-discount" => Method {
            low_rank_discount: 0.0,
            ..default
        },
        "no-bagging" => Method {
            bagged_structure: false,
            ..default
        },
        "no-breadth" => Method {
            breadth_power: 0.0,
            ..default
        },
        "no-merges" => Method {
            merges: false,
            ..default
        },
        "no-between" => Method {
            between_sources: false,
            ..default
        },
        other => match other.strip_prefix("breadth") {
            Some(power) => {
                let (power, discount) = match power.strip_suffix("-no-discount") {
                    Some(p) => (p, 0.0),
                    None => (power, default.low_rank_discount),
                };
                Method {
                    breadth_power: power.parse().context("breadthPOWER[-no-discount]")?,
                    low_rank_discount: discount,
                    ..default
                }
            }
            None => anyhow::bail!("unknown method {other:?}"),
        },
    })
}

fn main() -> anyhow::Result<()> {
    let mut cache_dir: Option<PathBuf> = None;
    let mut methods = vec!["default".to_owned(), "baseline".into(), "paper".into()];
    let mut verbose = false;
    let mut cues = false;
    let mut merges = false;
    let mut readings: Vec<(String, Regime, f64, Option<f64>)> = Vec::new();
    let mut families = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--cache-dir" => cache_dir = Some(args.next().context("--cache-dir DIR")?.into()),
            "--methods" => {
                methods = args
                    .next()
                    .context("--methods LIST")?
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            }
            "--verbose" => verbose = true,
            "--cues" => cues = true,
            "--merges" => merges = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            flag if flag.starts_with("--") => {
                anyhow::bail!("unknown option {flag:?} — {USAGE}")
            }
            _ => families.push(PathBuf::from(arg)),
        }
    }
    anyhow::ensure!(!families.is_empty(), "no FAMILY folder given — {USAGE}");
    let methods: Vec<(String, Method)> = methods
        .into_iter()
        .map(|name| method(&name).map(|m| (name, m)))
        .collect::<anyhow::Result<_>>()?;

    let mut pooled: Vec<Vec<Judged>> = vec![Vec::new(); methods.len()];
    println!(
        "family | method | directed full lora all | undirected all | cast quant dup adapter | cross-tree | right at >= 0.9"
    );
    for dir in &families {
        let (truth, ids, fingerprints, adapters) = load(dir, cache_dir.as_deref())?;
        let inputs: Vec<LineageInput<'_>> = (0..ids.len())
            .map(|i| LineageInput {
                id: &ids[i],
                fingerprint: &fingerprints[i],
                adapter_base: adapters[i].as_ref().and_then(|b| b.as_deref()),
                is_adapter: adapters[i].is_some(),
            })
            .collect();
        let name = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        if merges {
            print_merges(&name, &truth, &ids, &inputs);
        }
        for (m, (method_name, method)) in methods.iter().enumerate() {
            let recovery = recover_with(&inputs, &LineageOptions::default(), method);
            let score = Score::of(&truth, &ids, &recovery);
            let cell = |(r, t): (usize, usize)| {
                if t == 0 {
                    "-".to_owned()
                } else {
                    format!("{r}/{t}")
                }
            };
            println!(
                "{name} | {method_name} | {} {} {} | {} | {} {} {} {} | {} | {}",
                cell(score.directed_of(&["full"])),
                cell(score.directed_of(&["lora"])),
                cell(score.finetunes()),
                cell(score.undirected_of(&["full", "lora"])),
                cell(score.directed_of(&["cast"])),
                cell(score.directed_of(&["quantized"])),
                cell(score.directed_of(&["duplicate"])),
                cell(score.directed_of(&["adapter"])),
                score.cross_tree,
                cell(reliability(&score.edges)[0]),
            );
            if verbose {
                for j in &score.edges {
                    let e = &j.edge;
                    println!(
                        "    {} {:?} {} -> {} conf {:.2} = link {:.2} x dir {:.2} ({:?}) {:?} g {} shrink {} d {:.4} runner-up {} {}{}{}",
                        if j.right { "ok   " } else { "WRONG" },
                        e.kind,
                        j.parent,
                        j.child,
                        e.confidence,
                        e.link_confidence,
                        e.direction_confidence,
                        e.direction_basis,
                        e.regime,
                        match (e.growth, e.growth_sigma) {
                            (Some(g), Some(s)) => format!("{g:+.2}±{s:.2}"),
                            _ => "-".to_owned(),
                        },
                        e.shrink
                            .map_or("-".to_owned(), |(k, s)| format!("{k:+.2}±{s:.2}")),
                        e.distance,
                        e.runner_up
                            .as_ref()
                            .map_or("-".to_owned(), |r| format!("{:+.3}", r.relative_gap)),
                        j.runner_up.as_deref().unwrap_or("-"),
                        if j.reversed { " (reversed)" } else { "" },
                        match (&j.truth_parent, j.right) {
                            (Some(p), false) => format!(" (true parent {p})"),
                            _ => String::new(),
                        }
                    );
                }
            }
            if m == 0 {
                // The readings of every true edge the first method linked, oriented the true way.
                for j in score.edges.iter().filter(|j| j.right || j.reversed) {
                    let e = &j.edge;
                    let sign = if j.right { 1.0 } else { -1.0 };
                    if let (EdgeKind::Finetune, Some(g)) = (e.kind, e.growth) {
                        readings.push((
                            name.clone(),
                            e.regime,
                            sign * g,
                            e.shrink.map(|(k, _)| sign * k),
                        ));
                    }
                }
            }
            pooled[m].extend(score.edges);
        }
    }
    if cues {
        print_cues(&readings);
    }
    println!(
        "\nreliability over all families: reported edges right / reported, per confidence bin"
    );
    println!(
        "method | {}",
        BINS.iter()
            .map(|b| format!(">= {b:.1}"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    for ((name, _), edges) in methods.iter().zip(&pooled) {
        let bins = reliability(edges);
        println!(
            "{name} | {}",
            bins.iter()
                .map(|(r, t)| if *t == 0 {
                    "-".to_owned()
                } else {
                    format!("{r}/{t} ({:.0}%)", 100.0 * *r as f64 / *t as f64)
                })
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    Ok(())
}

/// The merges the default method finds, judged against the truth's; the models it reports as a
/// checkpoint or a merge; and how near a line between two others the models that are no merges
/// come (the share left off it, against the threshold `MAX_OFF_LINE`).
fn print_merges(name: &str, truth: &Truth, ids: &[String], inputs: &[LineageInput<'_>]) {
    let recovery = recover_with(inputs, &LineageOptions::default(), &Method::default());
    let mut right = 0;
    let mut wrong = Vec::new();
    for merge in &recovery.merges {
        // Right when all sources found are among the truth's (task arithmetic and TIES list
        // their base too, which is no source of the mix).
        let true_sources = truth.merges.get(&ids[merge.model]);
        let is_source = |s: &usize| true_sources.is_some_and(|list| list.contains(&ids[*s]));
        if merge.sources.iter().all(is_source) {
            right += 1;
        } else {
            wrong.push(ids[merge.model].clone());
        }
    }
    let nearest = nearest_lines(inputs, &Method::default())
        .into_iter()
        .flatten()
        .filter(|fit| !truth.merges.contains_key(&ids[fit.model]))
        .min_by(|x, y| x.off_line.total_cmp(&y.off_line));
    let doubted: Vec<&str> = recovery
        .checkpoints_or_merges
        .iter()
        .map(|m| ids[m.model].as_str())
        .collect();
    println!(
        "{name} | merges found {} | right (all sources among the truth's) {right} of {} true | wrong {wrong:?} | checkpoint or merge {doubted:?} | nearest line of a model that is no merge: {}",
        recovery.merges.len(),
        truth.merges.len(),
        nearest.map_or("-".to_owned(), |fit| format!(
            "{:.4} ({})",
            fit.off_line, ids[fit.model]
        )),
    );
}

/// Ranges of the direction readings on the true edges, per regime: what the evidence in
/// `direction.rs` is calibrated against.
fn print_cues(readings: &[(String, Regime, f64, Option<f64>)]) {
    let range = |values: &[f64]| {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("[{min:+.2}, {max:+.2}]")
    };
    println!("\ndirection readings of the true edges, oriented parent -> child");
    for regime in [Regime::LowRank, Regime::Full] {
        let growth: Vec<f64> = readings
            .iter()
            .filter(|r| r.1 == regime)
            .map(|r| r.2)
            .collect();
        if growth.is_empty() {
            continue;
        }
        println!(
            "{regime:?}: {} edges, growth in {}, negative on {}",
            growth.len(),
            range(&growth),
            growth.iter().filter(|g| **g < 0.0).count()
        );
        let shrink: Vec<f64> = readings
            .iter()
            .filter(|r| r.1 == regime)
            .filter_map(|r| r.3)
            .collect();
        if !shrink.is_empty() {
            println!(
                "  uniform rescaling (shrink, in update energies) in {}: below -0.6 on {}, within +-0.6 on {}, above 0.6 on {}",
                range(&shrink),
                shrink.iter().filter(|k| **k < -0.6).count(),
                shrink.iter().filter(|k| k.abs() <= 0.6).count(),
                shrink.iter().filter(|k| **k > 0.6).count()
            );
        }
    }
}

/// A family's truth and its scanned models: ids, fingerprints, and for adapters their declared
/// base (`Some(base)`; `None` for full models).
#[allow(clippy::type_complexity)]
fn load(
    dir: &Path,
    cache_dir: Option<&Path>,
) -> anyhow::Result<(
    Truth,
    Vec<String>,
    Vec<mother::measure::Fingerprint>,
    Vec<Option<Option<String>>>,
)> {
    let truth = Truth::read(dir)?;
    let (events, _keep) = crossbeam_channel::unbounded();
    let options = ScanOptions {
        root: dir.join("hub"),
        use_cache: cache_dir.is_some(),
        cache_dir: cache_dir.map(Path::to_path_buf),
        direction: DirectionMode::Finetune,
        bootstrap: 100,
        seed: 1,
    };
    let report =
        scan(&options, &events, &AtomicBool::new(false))?.context("the scan was cancelled")?;
    let mut ids = Vec::new();
    let mut fingerprints = Vec::new();
    let mut adapters = Vec::new();
    for model in report.models {
        adapters.push(match model.entry.kind {
            ModelKind::Full => None,
            ModelKind::Adapter { base, .. } => Some(base),
        });
        ids.push(model.entry.id);
        fingerprints.push(model.fingerprint);
    }
    Ok((truth, ids, fingerprints, adapters))
}
