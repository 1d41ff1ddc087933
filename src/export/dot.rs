//! Graphviz DOT: one node per model (named by its quoted, escaped id), one edge per recovered
//! parent -> child link labelled with its confidence, and a legend.
//!
//! Line styles say how far to trust an edge at a glance, in black and white too: a high
//! confidence edge is solid black, a medium one solid grey, a low one (a guess) dashed red.
//! Exact links have their own: an adapter is dotted, a duplicate a thick grey line without an
//! arrow, a merge a dashed blue line from each of its two sources. The legend, a small cluster beside the forest, shows each style and the labels.

use crate::engine::{Declared, ScanReport, declared_status};
use crate::lineage::{EdgeKind, Level, Regime, printed_confidence};
use crate::units::si;
use std::fmt::Write;

/// A DOT quoted string: `"` and `\` are escaped and line breaks become `\n`, so any id (quotes,
/// backslashes, newlines, unicode) stays one valid token.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The forest as Graphviz DOT: ids quoted and escaped, edges labelled with their confidence.
pub fn to_dot(report: &ScanReport) -> String {
    let mut out = String::new();
    let recovery = &report.recovery;
    out.push_str("digraph mother {\n");
    out.push_str("  rankdir=TB;\n");
    out.push_str("  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
    // Inside a cache's box a label leaves out the cache its id is qualified with; the node's
    // name keeps the whole id.
    let node = |index: usize, in_place: bool| {
        let model = &report.models[index];
        let shown = if in_place {
            model.entry.bare_id()
        } else {
            &model.entry.id
        };
        let kurtosis = model
            .fingerprint
            .median_kurtosis()
            .map_or("median kurtosis n/a".to_string(), |k| {
                format!("median kurtosis {k:.3}")
            });
        let label = format!(
            "{shown}\n{} params, {kurtosis}",
            si(model.fingerprint.params)
        );
        let root = recovery.roots.contains(&index);
        format!(
            "{} [label={}{}];",
            quote(&model.entry.id),
            quote(&label),
            if root { ", penwidth=2" } else { "" }
        )
    };
    // A scan of several caches draws each cache's models in a box of its own.
    let everyone: Vec<usize> = (0..report.models.len()).collect();
    match report.by_place(&everyone) {
        Some(places) => {
            for (number, (place, models)) in places.into_iter().enumerate() {
                let _ = writeln!(
                    out,
                    "  subgraph cluster_place_{number} {{\n    label={}; fontname=\"Helvetica\"; \
                     style=dashed; color=gray60;",
                    quote(crate::discover::place_label(place))
                );
                for model in models {
                    let _ = writeln!(out, "    {}", node(model, true));
                }
                out.push_str("  }\n");
            }
        }
        None => {
            for model in everyone {
                let _ = writeln!(out, "  {}", node(model, false));
            }
        }
    }
    for edge in &recovery.edges {
        let mut label = match edge.kind {
            EdgeKind::Finetune => format!(
                "{} {}",
                printed_confidence(edge.confidence),
                edge.level().word()
            ),
            EdgeKind::Quantized => {
                format!(
                    "quantized {} {}",
                    printed_confidence(edge.confidence),
                    edge.level().word()
                )
            }
            EdgeKind::Cast => "cast".to_string(),
            EdgeKind::Adapter => "adapter".to_string(),
        };
        if edge.regime == Regime::LowRank {
            match edge.rank {
                Some(rank) => {
                    let _ = write!(label, "\nlow-rank r={rank}");
                }
                None => label.push_str("\nlow-rank"),
            }
        }
        if matches!(
            declared_status(report, edge.child, Some(edge.parent)),
            Declared::Disagrees | Declared::NotScanned
        ) {
            label.push_str("\nmetadata disagrees");
        }
        let style = match edge.kind {
            EdgeKind::Adapter => ADAPTER_STYLE,
            EdgeKind::Cast => "",
            EdgeKind::Finetune | EdgeKind::Quantized => level_style(edge.level()),
        };
        let _ = writeln!(
            out,
            "  {} -> {} [label={}{}];",
            quote(&report.models[edge.parent].entry.id),
            quote(&report.models[edge.child].entry.id),
            quote(&label),
            style
        );
    }
    for duplicate in &recovery.duplicates {
        let _ = writeln!(
            out,
            "  {} -> {} [label=\"duplicate\"{DUPLICATE_STYLE}];",
            quote(&report.models[duplicate.original].entry.id),
            quote(&report.models[duplicate.copy].entry.id),
        );
    }
    for merge in &recovery.merges {
        for (&source, weight) in merge.sources.iter().zip(&merge.weights) {
            let _ = writeln!(
                out,
                "  {} -> {} [label={}{MERGE_STYLE}];",
                quote(&report.models[source].entry.id),
                quote(&report.models[merge.model].entry.id),
                quote(&format!("merge {weight:.2}")),
            );
        }
    }
    write_legend(&mut out, !recovery.merges.is_empty());
    out.push_str("}\n");
    out
}

const ADAPTER_STYLE: &str = ", style=dotted";
const DUPLICATE_STYLE: &str = ", style=bold, penwidth=3, color=gray60, arrowhead=none";
const MERGE_STYLE: &str = ", style=dashed, color=blue, fontcolor=blue";

/// The line style of an inferred edge: the less sure, the less it looks like a fact.
fn level_style(level: Level) -> &'static str {
    match level {
        Level::High => "",
        Level::Medium => ", color=gray50, fontcolor=gray30",
        Level::Low => ", style=dashed, color=red, fontcolor=red",
    }
}

/// A cluster with one sample edge per line style and a note on the labels. Its node names
/// start with `legend:`, which sets them apart from model ids in practice (ids are quoted and
/// would have to be spelled exactly so to meet them).
/// The merge sample shows only when the graph has a merge.
fn write_legend(out: &mut String, merges: bool) {
    out.push_str("  subgraph cluster_legend {\n");
    out.push_str(
        "    label=\"Legend\"; fontname=\"Helvetica\"; fontsize=10; style=rounded; color=gray70;\n",
    );
    out.push_str("    node [shape=point, width=0.05, label=\"\"];\n");
    out.push_str("    edge [fontsize=9];\n");
    let samples = [
        ("high", "high (≥ 0.9)", level_style(Level::High)),
        ("medium", "medium (≥ 0.6)", level_style(Level::Medium)),
        ("low", "low, a guess (< 0.6)", level_style(Level::Low)),
        ("adapter", "adapter (declared)", ADAPTER_STYLE),
        ("duplicate", "duplicate (identical)", DUPLICATE_STYLE),
    ];
    let merge = ("merge", "merge (one per source, its weight)", MERGE_STYLE);
    for (name, label, style) in samples.into_iter().chain(merges.then_some(merge)) {
        let _ = writeln!(
            out,
            "    \"legend:{name}:parent\" -> \"legend:{name}:child\" [label={}{style}];",
            quote(label)
        );
    }
    let note = "edge labels: confidence and level;\n\
                quantized, cast, adapter: a copy of the parent;\n\
                low-rank r=N: a LoRA-style update;\n\
                metadata disagrees: the model names another parent;\n\
                thick border: a root";
    let _ = writeln!(
        out,
        "    \"legend:labels\" [shape=note, fontsize=9, width=0, label={}];",
        quote(note)
    );
    out.push_str("  }\n");
}
