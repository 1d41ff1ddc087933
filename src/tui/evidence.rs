//! The edge-evidence panel: why mother put the selected model under its parent, how sure it is,
//! what the metadata says, and a one-line verdict in plain English.

use super::forest::{Declared, Forest, NodeId};
use super::theme::{Level, Theme};
use crate::lineage::{Edge, EdgeKind};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// The panel's lines for a selected node.
pub fn lines(forest: &Forest, node: Option<NodeId>, theme: Theme) -> Vec<Line<'static>> {
    match node {
        None => vec![Line::styled("Nothing selected.", theme.muted())],
        Some(NodeId::Model(model)) => model_lines(forest, model, theme),
        Some(NodeId::Unrelated) => vec![Line::raw(
            "Models whose weights are not close to any other scanned model.",
        )],
        Some(NodeId::Skipped) => vec![Line::raw(
            "Files that could not be read as model weights, with the reason for each.",
        )],
        Some(NodeId::SkippedFile(index)) => {
            let Some(skipped) = forest.report().skipped.get(index) else {
                return Vec::new();
            };
            vec![
                field(
                    "file",
                    skipped.path.display().to_string(),
                    Style::new(),
                    theme,
                ),
                field("reason", skipped.reason.clone(), theme.error(), theme),
            ]
        }
    }
}

fn field(name: &str, value: String, style: Style, theme: Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<11}"), theme.muted()),
        Span::styled(value, style),
    ])
}

fn model_lines(forest: &Forest, model: usize, theme: Theme) -> Vec<Line<'static>> {
    let report = forest.report();
    let kurtosis = |index: usize| report.recovery.summary_kurtosis.get(index).copied();
    let mut lines = Vec::new();

    if let Some(edge) = forest.edge_into(model) {
        lines.push(Line::from(vec![
            Span::styled(forest.id(model).to_string(), theme.title()),
            Span::styled("  ←  ", theme.muted()),
            Span::styled(forest.id(edge.parent).to_string(), theme.title()),
        ]));
        lines.extend(edge_lines(forest, edge, theme));
    } else if let Some(original) = forest.original_of(model) {
        lines.push(Line::styled(forest.id(model).to_string(), theme.title()));
        lines.push(field(
            "copy of",
            forest.id(original).to_string(),
            Style::new(),
            theme,
        ));
        lines.push(Line::styled(
            "identical copy: same bytes in every tensor",
            theme.level(Level::High),
        ));
    } else {
        lines.push(Line::styled(forest.id(model).to_string(), theme.title()));
        let children = forest.children_count(model);
        let role = if children > 0 {
            format!("root: no scanned parent, {children} children")
        } else {
            "unrelated: close to no other scanned model".to_string()
        };
        lines.push(field("role", role, theme.accent(), theme));
        if let Some(value) = kurtosis(model) {
            lines.push(field(
                "kurtosis",
                format!("{value:.3} (summary, excess)"),
                Style::new(),
                theme,
            ));
        }
    }

    let scanned = &report.models[model];
    lines.push(field(
        "weights",
        format!(
            "{} params, {}, {} 2-D tensors",
            crate::units::si(scanned.fingerprint.params),
            scanned.fingerprint.dtype,
            scanned.fingerprint.tensors.len()
        ),
        Style::new(),
        theme,
    ));
    lines.push(declared_line(forest, model, theme));
    lines
}

fn edge_lines(forest: &Forest, edge: &Edge, theme: Theme) -> Vec<Line<'static>> {
    let report = forest.report();
    let level = edge.level();
    let kurtosis = |index: usize| {
        report
            .recovery
            .summary_kurtosis
            .get(index)
            .map_or_else(|| "?".to_string(), |value| format!("{value:.3}"))
    };
    let declared = forest.declared(edge.child);
    let mut lines = vec![
        // The verdict comes first and on a line of its own: it is what a person reads.
        Line::styled(
            verdict(edge, &declared),
            theme.level(verdict_level(edge, &declared)),
        ),
        field(
            "confidence",
            format!(
                "{:.2} {}  (link {:.2} × direction {:.2})",
                edge.confidence,
                level.word(),
                edge.link_confidence,
                edge.direction_confidence
            ),
            theme.level(level),
            theme,
        ),
        field(
            "direction",
            edge.direction_basis.words().to_string(),
            theme.level(Level::of(edge.direction_confidence)),
            theme,
        ),
    ];
    if let (Some(growth), Some(sigma)) = (edge.growth, edge.growth_sigma) {
        let reading = if growth > 0.0 {
            "the child gained what its update added"
        } else {
            "the child lost more than its update added"
        };
        lines.push(field(
            "growth",
            format!("{growth:+.2} ± {sigma:.2}: {reading}"),
            Style::new(),
            theme,
        ));
    }
    let kind = match (edge.kind, edge.rank) {
        (EdgeKind::Finetune, Some(rank)) => format!("{}, r={rank}", edge.regime.words()),
        (EdgeKind::Finetune, None) => edge.regime.words().to_string(),
        (kind, _) => kind.words().to_string(),
    };
    lines.push(field("kind", kind, Style::new(), theme));
    lines.push(field(
        "distance",
        format!("{:.2}% of the parent's norm", edge.distance * 100.0),
        Style::new(),
        theme,
    ));
    lines.push(field(
        "Δ kurtosis",
        format!(
            "{:+.3}  ({} → {}, parent minus child)",
            edge.kurtosis_drop,
            kurtosis(edge.parent),
            kurtosis(edge.child)
        ),
        Style::new(),
        theme,
    ));
    // Adapters and copies carry no comparison of matrices to describe.
    if edge.matching.shared > 0 {
        lines.push(field("tensors", edge.matching.words(), Style::new(), theme));
    }
    if let Some(runner_up) = &edge.runner_up
        && runner_up.parent < report.models.len()
    {
        lines.push(field(
            "runner-up",
            format!(
                "{} ({:+.1}% farther)",
                forest.id(runner_up.parent),
                runner_up.relative_gap * 100.0
            ),
            Style::new(),
            theme,
        ));
    }
    lines
}

fn declared_line(forest: &Forest, model: usize, theme: Theme) -> Line<'static> {
    let entry = &forest.report().models[model].entry;
    let Some(declared) = &entry.declared_parent else {
        return field(
            "declared",
            "no parent in the metadata".to_string(),
            theme.muted(),
            theme,
        );
    };
    let (word, style) = match forest.declared(model) {
        Declared::Agrees => ("✓ agrees", theme.level(Level::High)),
        Declared::Disagrees => ("✗ disagrees", theme.level(Level::Low)),
        Declared::NotScanned => ("not scanned", theme.muted()),
        Declared::None => ("", Style::new()),
    };
    Line::from(vec![
        Span::styled(format!("{:<11}", "declared"), theme.muted()),
        Span::raw(format!("{} ({}) ", declared.id, declared.source)),
        Span::styled(word, style),
    ])
}

/// The one-line reading of an edge's evidence.
pub fn verdict(edge: &Edge, declared: &Declared) -> &'static str {
    match edge.kind {
        EdgeKind::Quantized => "quantised copy of its parent: its values sit on an int8 grid",
        EdgeKind::Cast => "cast copy of its parent: the same values at a coarser dtype",
        EdgeKind::Adapter => "adapter: hung under the base its config names",
        EdgeKind::Finetune if *declared == Declared::Disagrees => {
            "weights and metadata disagree: check the declared parent"
        }
        EdgeKind::Finetune if edge.link_confidence < Level::MEDIUM => {
            "a guess: another parent fits nearly as well"
        }
        EdgeKind::Finetune if edge.direction_confidence < Level::MEDIUM => {
            "a guess: the weights barely say which of the two is the parent"
        }
        EdgeKind::Finetune => match edge.level() {
            Level::High => "confident",
            Level::Medium => "probable: parent and direction hold, with some doubt",
            Level::Low => "a guess: parent and direction are both in doubt",
        },
    }
}

fn verdict_level(edge: &Edge, declared: &Declared) -> Level {
    match edge.kind {
        EdgeKind::Finetune if *declared == Declared::Disagrees => Level::Low,
        _ => edge.level(),
    }
}
