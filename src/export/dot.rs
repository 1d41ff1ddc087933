//! Graphviz DOT: one node per model (named by its quoted, escaped id), one edge per recovered
//! parent -> child link labelled with its confidence, duplicates as dashed edges.

use crate::engine::{Declared, ScanReport, declared_status};
use crate::lineage::{EdgeKind, Level, Regime};
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
    for (index, model) in report.models.iter().enumerate() {
        let kurtosis = recovery.summary_kurtosis.get(index).copied().unwrap_or(0.0);
        let label = format!(
            "{}\n{} params, kurtosis {:.3}",
            model.entry.id,
            si(model.fingerprint.params),
            kurtosis
        );
        let root = recovery.roots.contains(&index);
        let _ = writeln!(
            out,
            "  {} [label={}{}];",
            quote(&model.entry.id),
            quote(&label),
            if root { ", penwidth=2" } else { "" }
        );
    }
    for edge in &recovery.edges {
        let mut label = match edge.kind {
            EdgeKind::Finetune => format!("{:.2}", edge.confidence),
            EdgeKind::Quantized => format!("quantized {:.2}", edge.confidence),
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
            EdgeKind::Adapter => ", style=dotted",
            _ if edge.level() == Level::Low => ", style=dashed, color=red",
            _ => "",
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
            "  {} -> {} [label=\"duplicate\", style=dashed, arrowhead=none];",
            quote(&report.models[duplicate.original].entry.id),
            quote(&report.models[duplicate.copy].entry.id),
        );
    }
    out.push_str("}\n");
    out
}
