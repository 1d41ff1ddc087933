//! The readable forest that `mother scan` prints without `--json`: one tree per root drawn with
//! box-drawing branches, each child with the confidence of the edge into it, and each merge
//! under its main source (with its own fine-tunes below it).

use crate::engine::{Declared, ScanReport, declared_status};
use crate::lineage::{DirectionBasis, Edge, EdgeKind, Level, Merge, printed_confidence};
use crate::units::{counted, si};
use std::fmt::Write;

/// The recovered forest as indented text; the first line names the folder scanned and any
/// bundles added to it.
pub fn to_text(report: &ScanReport) -> String {
    let mut place = report.root.display().to_string();
    if !report.bundles.is_empty() {
        let _ = write!(place, " and {}", bundle_list(report));
    }
    forest_text(report, &place)
}

/// [`to_text`] of a scan that read bundles alone: no folder was scanned here, so the first
/// line names the bundles.
pub fn to_text_of_bundles(report: &ScanReport) -> String {
    forest_text(report, &bundle_list(report))
}

/// "2 bundles (a.mfb, b.mfb)": the bundles that were read (one that could not be is among the
/// skipped), the first three by name. The explorer's header names a forest of bundles alone so.
pub fn bundle_list(report: &ScanReport) -> String {
    const NAMED: usize = 3;
    let mut names: Vec<String> = report
        .bundles
        .iter()
        .take(NAMED)
        .map(|b| b.path.display().to_string())
        .collect();
    if report.bundles.len() > NAMED {
        names.push(format!("{} more", report.bundles.len() - NAMED));
    }
    if names.is_empty() {
        return "no bundle that could be read".to_owned();
    }
    format!(
        "{} ({})",
        counted(report.bundles.len(), "bundle", "bundles"),
        names.join(", ")
    )
}

fn forest_text(report: &ScanReport, place: &str) -> String {
    let recovery = &report.recovery;
    let mut children: Vec<Vec<Branch>> = (0..report.models.len()).map(|_| Vec::new()).collect();
    for edge in &recovery.edges {
        children[edge.parent].push(Branch::Edge(edge));
    }
    for merge in &recovery.merges {
        children[merge.sources[0]].push(Branch::Merge(merge));
    }
    for list in &mut children {
        list.sort_by(|a, b| {
            report.models[a.child()]
                .entry
                .id
                .cmp(&report.models[b.child()].entry.id)
        });
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} in {}: {}, {} unrelated, {}, {} skipped",
        counted(report.models.len(), "model", "models"),
        place,
        counted(recovery.roots.len(), "tree", "trees"),
        recovery.unrelated.len(),
        counted(
            recovery.duplicates.len(),
            "duplicate copy",
            "duplicate copies"
        ),
        report.skipped.len()
    );
    // `place`: the cache the trees are listed under, when the scan read several; a model found
    // in another one says so.
    let trees = |roots: &[usize], place: Option<&str>| {
        let mut text = String::new();
        for &root in roots {
            text.push('\n');
            let _ = writeln!(text, "{}", node_line(report, root, place));
            write_children(report, &children, root, "", place, &mut text);
        }
        text
    };
    match report.by_place(&recovery.roots) {
        // A folder of several caches reads cache by cache, each under a heading.
        Some(places) => {
            for (place, roots) in places {
                let text = trees(&roots, Some(place));
                let models = text.lines().filter(|line| !line.is_empty()).count();
                let _ = write!(
                    out,
                    "\n── {}: {}, {} ──\n{text}",
                    crate::discover::place_label(place),
                    counted(roots.len(), "tree", "trees"),
                    counted(models, "model", "models"),
                );
            }
        }
        None => out.push_str(&trees(&recovery.roots, None)),
    }
    if !recovery.unrelated.is_empty() {
        out.push_str("\nUnrelated (linked to no other model):\n");
        for &model in &recovery.unrelated {
            let _ = writeln!(out, "  {}", node_line(report, model, None));
        }
    }
    if !recovery.duplicates.is_empty() {
        out.push_str("\nDuplicates (identical weights):\n");
        for d in &recovery.duplicates {
            let _ = writeln!(
                out,
                "  {} == {}",
                report.models[d.copy].entry.id, report.models[d.original].entry.id
            );
        }
    }
    let source_id = |s: usize| report.models[s].entry.id.clone();
    if !recovery.merges.is_empty() {
        out.push_str(
            "\nMerges (weights mixed from two or three models; each hangs under its main source):\n",
        );
        for m in &recovery.merges {
            let _ = writeln!(
                out,
                "  {} = {}  ({:.1}% off the {} them)",
                report.models[m.model].entry.id,
                m.formula(source_id),
                m.off_line * 100.0,
                if m.sources.len() == 2 {
                    "line between"
                } else {
                    "plane through"
                }
            );
        }
    }
    if !recovery.checkpoints_or_merges.is_empty() {
        out.push_str(
            "\nCheckpoints or merges (each lies on the line of a model and its own descendant: a \
             checkpoint of one training run between them, or their merge, such as WiSE-FT; the \
             tree keeps it as a checkpoint, and the links among them are guesses):\n",
        );
        for m in &recovery.checkpoints_or_merges {
            let _ = writeln!(
                out,
                "  {}  (or {}, {:.1}% off)",
                report.models[m.model].entry.id,
                m.formula(source_id),
                m.off_line * 100.0,
            );
        }
    }
    if !recovery.merge_hubs.is_empty() {
        out.push_str(
            "\nNearest a merge, above its sources (each is the merge's fine-tune, placed by the tree \
             where the sources meet, or their ancestor; the weights cannot say which, so its links \
             are guesses: the model card can):\n",
        );
        for h in &recovery.merge_hubs {
            let _ = writeln!(
                out,
                "  {}  (nearest {})",
                report.models[h.model].entry.id, report.models[h.merge].entry.id,
            );
        }
    }
    if !recovery.undecided_merges.is_empty() {
        out.push_str(
            "\nUndecided merges (four models on one plane: any one may be the merge of the other \
             three, as task arithmetic at weight 1 makes; the edges between them are guesses):\n",
        );
        for u in &recovery.undecided_merges {
            let ids: Vec<&str> = u
                .models
                .iter()
                .map(|&m| report.models[m].entry.id.as_str())
                .collect();
            let _ = writeln!(
                out,
                "  {}  ({:.1}% off the plane)",
                ids.join(", "),
                u.off_plane * 100.0
            );
        }
    }
    if !report.skipped.is_empty() {
        out.push_str("\nSkipped:\n");
        for s in &report.skipped {
            let _ = writeln!(out, "  {}: {}", s.path.display(), s.reason);
        }
    }
    out
}

fn node_line(report: &ScanReport, model: usize, place: Option<&str>) -> String {
    let m = &report.models[model];
    // The median over the matrices, as the explorer shows it: the sum the method reads grows
    // with the layer count and one outlier matrix can swamp it.
    let kurtosis = m
        .fingerprint
        .median_kurtosis()
        .map_or("median kurtosis n/a".to_string(), |k| {
            format!("median kurtosis {k:.3}")
        });
    let elsewhere = match place {
        Some(place) if place != m.entry.found_in => format!(
            ", found in {}",
            crate::discover::place_label(&m.entry.found_in)
        ),
        _ => String::new(),
    };
    format!(
        "{}  [{} params, {}, {}, {kurtosis}{elsewhere}]",
        m.entry.id,
        si(m.fingerprint.params),
        m.fingerprint.dtype,
        m.format_name(),
    )
}

/// A runner-up parent at most this much farther is a near tie worth naming.
const NEAR_TIE: f64 = 0.1;

fn edge_note(report: &ScanReport, edge: &Edge) -> String {
    let level = edge.level();
    let mut note = match edge.kind {
        EdgeKind::Adapter => "adapter (declared in its config)".to_string(),
        EdgeKind::Cast => format!(
            "cast copy: the parent's values rounded to {}",
            report.models[edge.child].fingerprint.dtype
        ),
        EdgeKind::Quantized => format!(
            "quantised copy ({}), confidence {} {}",
            report.models[edge.child]
                .fingerprint
                .quantization()
                .map_or("values on an int8 grid", |q| q.name()),
            printed_confidence(edge.confidence),
            level.word()
        ),
        EdgeKind::Finetune => {
            let mut note = format!(
                "confidence {} {}",
                printed_confidence(edge.confidence),
                level.word()
            );
            if level == Level::Low {
                note.push_str(" (a guess)");
            }
            let _ = write!(note, ", {}", edge.regime.words());
            if let Some(rank) = edge.rank {
                let _ = write!(note, " r={rank}");
            }
            let _ = write!(note, ", distance {:.2}%", edge.distance * 100.0);
            let direction = match edge.direction_basis {
                DirectionBasis::Growth => "direction from its growth",
                DirectionBasis::Tree => "direction from its tree",
                DirectionBasis::Prior => "direction guessed",
                DirectionBasis::Copy => "direction from the copy",
                DirectionBasis::Merge => "direction from the merge",
            };
            let _ = write!(
                note,
                ", {direction} {}",
                printed_confidence(edge.direction_confidence)
            );
            if let Some(runner_up) = &edge.runner_up
                && runner_up.relative_gap < NEAR_TIE
            {
                let _ = write!(
                    note,
                    ", near tie: runner-up parent {} {}",
                    report.models[runner_up.parent].entry.id,
                    runner_up.gap_and_cost_words()
                );
            }
            note
        }
    };
    if !edge.matching.is_plain() {
        let _ = write!(note, " [{}]", edge.matching.words());
    }
    match declared_status(report, edge.child, Some(edge.parent)) {
        Declared::None => {}
        Declared::Agrees => note.push_str(", metadata agrees"),
        Declared::Disagrees | Declared::NotScanned => note.push_str(", metadata DISAGREES"),
    }
    note
}

/// What hangs under a model in the text tree: a child by its edge, or a merge it is the main
/// source of.
enum Branch<'a> {
    Edge(&'a Edge),
    Merge(&'a Merge),
}

impl Branch<'_> {
    fn child(&self) -> usize {
        match self {
            Branch::Edge(edge) => edge.child,
            Branch::Merge(merge) => merge.model,
        }
    }
}

fn write_children(
    report: &ScanReport,
    children: &[Vec<Branch>],
    parent: usize,
    prefix: &str,
    place: Option<&str>,
    out: &mut String,
) {
    let list = &children[parent];
    for (position, branch) in list.iter().enumerate() {
        let last = position + 1 == list.len();
        let note = match branch {
            Branch::Edge(edge) => edge_note(report, edge),
            Branch::Merge(merge) if merge.base().is_some() => {
                format!(
                    "merge: {}",
                    merge.summary(|s| report.models[s].entry.id.clone())
                )
            }
            Branch::Merge(merge) => {
                let parts: Vec<String> = merge
                    .sources
                    .iter()
                    .zip(&merge.weights)
                    .enumerate()
                    .map(|(i, (&s, w))| match i {
                        0 => format!("{w:.2} of this parent"),
                        _ => format!("{w:.2} of {}", report.models[s].entry.id),
                    })
                    .collect();
                match parts.split_last() {
                    Some((last, rest)) => format!("merge: {} and {last}", rest.join(", ")),
                    None => "merge".to_owned(),
                }
            }
        };
        let _ = writeln!(
            out,
            "{prefix}{} {}  ({note})",
            if last { "└──" } else { "├──" },
            node_line(report, branch.child(), place),
        );
        let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
        write_children(report, children, branch.child(), &deeper, place, out);
    }
}
