//! The edge-evidence panel: why mother put the selected model where it is, how sure it is, what
//! the metadata says, and a one-line verdict in plain English.
//!
//! Each kind of node has its own function listing exactly the fields that apply to it: a
//! fine-tune has a distance and a kurtosis change, an adapter has neither (its matrices are its
//! own low-rank factors, not the base's weights), a copy says what kind of copy it is, a
//! duplicate has nothing to compare. Numbers go through [`super::numbers`], so a confidence,
//! a kurtosis and a change print the same way in every field, and a change is always child
//! minus parent.

use super::forest::{Declared, Forest, NodeId};
use super::numbers;
use super::tensor_table::{self, TensorTable};
use super::theme::{Level, Theme};
use crate::discover::ModelKind;
use crate::lineage::{Edge, EdgeKind, MAX_OFF_LINE, Merge, UNDECIDED_LINK};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// The panel's lines for a selected node.
pub fn lines(forest: &Forest, node: Option<NodeId>, theme: Theme) -> Vec<Line<'static>> {
    match node {
        None => vec![Line::styled(
            "Nothing selected: move in the tree with ↑ ↓.",
            theme.muted(),
        )],
        Some(NodeId::Model(model)) => model_lines(forest, model, theme),
        Some(NodeId::Place(place)) => place_lines(forest, place, theme),
        Some(NodeId::Unrelated) => vec![Line::raw(
            "Models whose weights are not close to any other scanned model.",
        )],
        Some(NodeId::Skipped) => vec![Line::raw(
            "Files that could not be read as model weights, with the reason for each.",
        )],
        Some(NodeId::SkippedFile(index)) => skipped_file(forest, index, theme),
    }
}

fn model_lines(forest: &Forest, model: usize, theme: Theme) -> Vec<Line<'static>> {
    if let Some(edge) = forest.edge_into(model) {
        return match edge.kind {
            EdgeKind::Finetune => finetune_edge(forest, edge, theme),
            EdgeKind::Adapter => adapter_edge(forest, edge, theme),
            EdgeKind::Quantized => quantised_copy(forest, edge, theme),
            EdgeKind::Cast => cast_copy(forest, edge, theme),
        };
    }
    if let Some(merge) = forest.merge(model) {
        return merged(forest, merge, theme);
    }
    if let Some(original) = forest.original_of(model) {
        return duplicate(forest, model, original, theme);
    }
    if forest.children_count(model) > 0 {
        root(forest, model, theme)
    } else {
        unrelated(forest, model, theme)
    }
}

/// A recovered fine-tune: the full evidence.
fn finetune_edge(forest: &Forest, edge: &Edge, theme: Theme) -> Vec<Line<'static>> {
    let declared = forest.declared(edge.child);
    // Models one of which may be a merge of the others: the link between them is a guess.
    let plane = forest.undecided_plane(edge.parent, edge.child);
    let doubt = forest.checkpoint_or_merge(edge.parent, edge.child);
    let hub = forest.merge_hub(edge.parent, edge.child);
    let mut lines = vec![
        edge_title(forest, edge, theme),
        // The verdict comes first and on a line of its own: it is what a person reads.
        Line::styled(
            if plane.is_some() {
                "a guess: one of these models is a merge of others, and the weights cannot say \
                 which"
            } else if doubt.is_some() {
                "a guess: a checkpoint of one training run, or a merge of the run's ends, and \
                 the weights cannot say which"
            } else if hub.is_some() {
                "a guess: a merge's fine-tune may have been placed where the merge's sources \
                 meet, and the weights cannot say whether it was"
            } else {
                finetune_verdict(edge, &declared)
            },
            theme.level(verdict_level(edge, &declared)),
        ),
        confidence_line(edge, theme),
    ];
    if let Some(plane) = plane {
        let ids: Vec<&str> = plane.models.iter().map(|&m| forest.id(m)).collect();
        lines.push(field(
            "merge?",
            format!(
                "{} lie on one plane: any one may be the merge of the other three (task \
                 arithmetic at weight 1 makes this), so the link is capped at {} — check the \
                 model cards",
                ids.join(", "),
                numbers::plain(UNDECIDED_LINK, 1)
            ),
            theme.level(Level::Low),
            theme,
        ));
    }
    if let Some(fit) = doubt {
        lines.push(field(
            "merge?",
            format!(
                "{} fits {} ({}% off), and one of those descends from another: it is a \
                 checkpoint of one run between them, or their merge (WiSE-FT mixes a model and \
                 its fine-tune). It is kept as a checkpoint, the link capped at {} — check the \
                 model cards",
                forest.id(fit.model),
                fit.formula(|s| forest.id(s).to_string()),
                numbers::plain(fit.off_line * 100.0, 1),
                numbers::plain(UNDECIDED_LINK, 1)
            ),
            theme.level(Level::Low),
            theme,
        ));
    }
    if let Some(hub) = hub {
        lines.push(field(
            "merge?",
            format!(
                "{} is nearest the merge {} but sits above its sources, and its edges' evidence \
                 does not settle it: it is the merge's fine-tune, which the tree made their \
                 hub, or their true ancestor. The link is capped at {} — check its model card \
                 (m jumps to the merge)",
                forest.id(hub.model),
                forest.id(hub.merge),
                numbers::plain(UNDECIDED_LINK, 1)
            ),
            theme.level(Level::Low),
            theme,
        ));
    }
    lines.push(field(
        "direction",
        edge.direction_basis.words().to_string(),
        theme.level(Level::of(edge.direction_confidence)),
        theme,
    ));
    if let (Some(growth), Some(sigma)) = (edge.growth, edge.growth_sigma) {
        let reading = if growth > 0.0 {
            "the child gained what its update added"
        } else {
            "the child lost more than its update added"
        };
        lines.push(field(
            "growth",
            format!(
                "{} ± {}: {reading}",
                numbers::signed(growth, 2),
                numbers::plain(sigma, 2)
            ),
            Style::new(),
            theme,
        ));
    }
    let kind = match edge.rank {
        Some(rank) => format!("{}, r={rank}", edge.regime.words()),
        None => edge.regime.words().to_string(),
    };
    lines.push(field("kind", kind, Style::new(), theme));
    lines.push(field(
        "distance",
        format!(
            "{}% of the parent's norm",
            numbers::plain(edge.distance * 100.0, 2)
        ),
        Style::new(),
        theme,
    ));
    if let Some(breadth) = edge.breadth {
        lines.push(field(
            "breadth",
            format!(
                "{} directions per changed matrix",
                numbers::plain(breadth, 1)
            ),
            Style::new(),
            theme,
        ));
    }
    let table = TensorTable::of(forest, edge.child);
    lines.extend(kurtosis_change(forest, &table, theme));
    // The matching is only known where matrices were compared.
    if edge.matching.shared > 0 {
        lines.push(field("tensors", edge.matching.words(), Style::new(), theme));
    }
    if let Some(runner_up) = &edge.runner_up
        && runner_up.parent < forest.report().models.len()
    {
        lines.push(field(
            "runner-up",
            format!(
                "{} ({})",
                forest.id(runner_up.parent),
                runner_up.gap_words()
            ),
            Style::new(),
            theme,
        ));
    }
    lines.extend(facts(forest, edge.child, theme));
    lines
}

/// A PEFT adapter: hung under the base its config names; its weights are its own factors.
fn adapter_edge(forest: &Forest, edge: &Edge, theme: Theme) -> Vec<Line<'static>> {
    let rank = match &forest.report().models[edge.child].entry.kind {
        ModelKind::Adapter {
            rank: Some(rank), ..
        } => format!("LoRA adapter, r={rank}"),
        _ => "adapter".to_string(),
    };
    vec![
        edge_title(forest, edge, theme),
        Line::styled(
            "adapter: hung under the base its adapter config names",
            theme.level(Level::High),
        ),
        field("kind", rank, Style::new(), theme),
        field(
            "link",
            "declared in adapter_config.json, not measured: an adapter holds its own \
             low-rank factors, so its weights are not compared with the base's"
                .to_string(),
            Style::new(),
            theme,
        ),
    ]
    .into_iter()
    .chain(facts(forest, edge.child, theme))
    .collect()
}

/// A quantised copy: its format and quantisation, and what rebuilding it lost.
fn quantised_copy(forest: &Forest, edge: &Edge, theme: Theme) -> Vec<Line<'static>> {
    let scanned = &forest.report().models[edge.child];
    let what = match scanned.fingerprint.quantization() {
        Some(_) => format!("{} copy", scanned.format_label()),
        None => "quantised copy (values on an int8 grid)".to_string(),
    };
    let moved = format!(
        "{}% of the parent's norm differs after dequantising",
        numbers::plain(edge.distance * 100.0, 2)
    );
    let mut details = vec![field("rebuild", moved, Style::new(), theme)];
    if !edge.matching.is_plain() {
        details.push(field("tensors", edge.matching.words(), Style::new(), theme));
    }
    let what = format!("{what} of {}", forest.id(edge.parent));
    copy_lines(forest, edge, what, details, theme)
}

/// A cast copy: the parent's values rounded to a coarser dtype.
fn cast_copy(forest: &Forest, edge: &Edge, theme: Theme) -> Vec<Line<'static>> {
    let dtype = &forest.report().models[edge.child].fingerprint.dtype;
    let moved = format!(
        "{}% of the parent's norm, what rounding to {dtype} moves",
        numbers::plain(edge.distance * 100.0, 2)
    );
    let what = format!("cast copy of {} at {dtype}", forest.id(edge.parent));
    let details = vec![field("rounding", moved, Style::new(), theme)];
    copy_lines(forest, edge, what, details, theme)
}

/// The lines of a copy's edge: what the copy is, its confidence, the kind's own `details` (what
/// the conversion moved), its format and its declared parent.
fn copy_lines(
    forest: &Forest,
    edge: &Edge,
    what: String,
    details: Vec<Line<'static>>,
    theme: Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![
        edge_title(forest, edge, theme),
        Line::styled(what, theme.level(edge.level())),
        confidence_line(edge, theme),
    ];
    lines.extend(details);
    lines.extend(facts(forest, edge.child, theme));
    lines
}

/// An identical copy: nothing to compare, every tensor has the same bytes.
fn duplicate(forest: &Forest, model: usize, original: usize, theme: Theme) -> Vec<Line<'static>> {
    vec![
        Line::styled(forest.id(model).to_string(), theme.title()),
        Line::styled(
            format!(
                "identical copy of {}: same bytes in every tensor",
                forest.id(original)
            ),
            theme.level(Level::High),
        ),
    ]
    .into_iter()
    .chain(facts(forest, model, theme))
    .collect()
}

/// A merge: its sources, their weights and how exactly it sits among them.
fn merged(forest: &Forest, merge: &Merge, theme: Theme) -> Vec<Line<'static>> {
    let id = |s: usize| forest.id(s).to_string();
    let (among, shape) = match merge.sources.len() {
        2 => (": its weights lie between theirs", "the line between them"),
        // The summary says it: the base plus a share of each fine-tune's change.
        _ if merge.base().is_some() => ("", "their plane"),
        _ => (": its weights lie inside their triangle", "their plane"),
    };
    vec![
        Line::styled(forest.id(merge.model).to_string(), theme.title()),
        Line::styled(
            format!("{}{among}", merge.summary(id)),
            theme.level(Level::High),
        ),
        field("weights", merge.formula(id), Style::new(), theme),
        field(
            "fit",
            format!(
                "{}% of its squared distance to the nearest source lies off {shape} (a merge \
                 leaves next to nothing; above {}% it would be taken for a fine-tune)",
                numbers::plain(merge.off_line * 100.0, 1),
                numbers::plain(MAX_OFF_LINE * 100.0, 0)
            ),
            Style::new(),
            theme,
        ),
        Line::styled(
            format!(
                "it has {} parents, so no edge leads into it: it hangs under the source with \
                 the largest weight (m jumps to another), and only its own fine-tunes hang \
                 under it",
                merge.sources.len()
            ),
            theme.muted(),
        ),
    ]
    .into_iter()
    .chain(facts(forest, merge.model, theme))
    .collect()
}

/// The top of a tree.
fn root(forest: &Forest, model: usize, theme: Theme) -> Vec<Line<'static>> {
    let children = forest.children_count(model);
    let noun = if children == 1 { "child" } else { "children" };
    parentless(
        forest,
        model,
        format!("root: no scanned parent, {children} {noun}"),
        theme,
    )
}

/// A model close to no other scanned model.
fn unrelated(forest: &Forest, model: usize, theme: Theme) -> Vec<Line<'static>> {
    parentless(
        forest,
        model,
        "unrelated: no scanned model is close to its weights".to_string(),
        theme,
    )
}

/// A model with no edge into it: its role, its own kurtosis, format and declared parent.
fn parentless(forest: &Forest, model: usize, role: String, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::styled(forest.id(model).to_string(), theme.title()),
        field("role", role, theme.accent(), theme),
    ];
    lines.extend(own_kurtosis(forest, model, theme));
    lines.extend(facts(forest, model, theme));
    lines
}

/// A folder the scan found trees in: where it is and what it holds.
fn place_lines(forest: &Forest, place: usize, theme: Theme) -> Vec<Line<'static>> {
    vec![
        Line::styled(forest.place_name(place).to_string(), theme.title()),
        match forest.place_path(place) {
            Some(path) => field("folder", path.display().to_string(), Style::new(), theme),
            None => field(
                "folder",
                "not known here: its models came from a bundle".to_string(),
                theme.muted(),
                theme,
            ),
        },
        field("holds", forest.place_summary(place), Style::new(), theme),
        field(
            "ids",
            format!(
                "rows below leave out {}: — the panels, y and exports keep whole ids",
                forest.place_name(place)
            ),
            theme.muted(),
            theme,
        ),
    ]
}

/// A file that could not be read, and what to do about it.
fn skipped_file(forest: &Forest, index: usize, theme: Theme) -> Vec<Line<'static>> {
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

fn field(name: &str, value: String, style: Style, theme: Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<11}"), theme.muted()),
        Span::styled(value, style),
    ])
}

fn edge_title(forest: &Forest, edge: &Edge, theme: Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(forest.id(edge.child).to_string(), theme.title()),
        Span::styled("  ←  ", theme.muted()),
        Span::styled(forest.id(edge.parent).to_string(), theme.title()),
    ])
}

fn confidence_line(edge: &Edge, theme: Theme) -> Line<'static> {
    let (text, level) = numbers::confidence(edge.confidence);
    let (link, _) = numbers::confidence(edge.link_confidence);
    let (direction, _) = numbers::confidence(edge.direction_confidence);
    field(
        "confidence",
        format!(
            "{text} {}  (link {link} × direction {direction})",
            level.word()
        ),
        theme.level(level),
        theme,
    )
}

/// The median kurtosis of parent and child, and the matrix that changed most.
fn kurtosis_change(forest: &Forest, table: &TensorTable, theme: Theme) -> Vec<Line<'static>> {
    let report = forest.report();
    let mut lines = Vec::new();
    let Some(parent) = table.parent else {
        return lines;
    };
    let parent_median = report.models[parent].fingerprint.median_kurtosis();
    let child_median = report.models[table.model].fingerprint.median_kurtosis();
    if let (Some(parent_median), Some(child_median)) = (parent_median, child_median) {
        let (before, after, delta) = numbers::change(parent_median, child_median);
        lines.push(field(
            "kurtosis",
            format!("median {before} → {after}  Δ {delta}"),
            Style::new(),
            theme,
        ));
    }
    match table.largest_change() {
        Some(row) => {
            let (before, after, delta) =
                numbers::change(row.parent_kurtosis.unwrap_or(0.0), row.kurtosis);
            let scaled = row.scaled_delta().map_or(String::new(), |scaled| {
                format!(" ({}σ)", numbers::signed(scaled, 1))
            });
            lines.push(field(
                "most moved",
                format!("{} {before} → {after}  Δ {delta}{scaled}", row.short),
                Style::new(),
                theme,
            ));
        }
        None => lines.push(field(
            "most moved",
            "no matrix's kurtosis changed".to_string(),
            theme.muted(),
            theme,
        )),
    }
    lines.extend(small_note(table, theme));
    lines
}

/// A model's own kurtosis, for nodes without a parent to compare with.
fn own_kurtosis(forest: &Forest, model: usize, theme: Theme) -> Vec<Line<'static>> {
    let fingerprint = &forest.report().models[model].fingerprint;
    let Some(median) = fingerprint.median_kurtosis() else {
        return Vec::new();
    };
    let mut lines = vec![field(
        "kurtosis",
        format!(
            "median {} over its matrices (excess)",
            numbers::kurtosis(median)
        ),
        Style::new(),
        theme,
    )];
    lines.extend(small_note(&TensorTable::of(forest, model), theme));
    lines
}

fn small_note(table: &TensorTable, theme: Theme) -> Option<Line<'static>> {
    let small = table.small_count();
    (small > 0 && small < table.rows.len()).then(|| {
        field(
            "left out",
            format!(
                "{small} tiny {} (< {} values or a side < {}): their kurtosis is noise",
                if small == 1 { "matrix" } else { "matrices" },
                tensor_table::SMALL_VALUES,
                tensor_table::SMALL_SIDE
            ),
            theme.muted(),
            theme,
        )
    })
}

/// The model's storage: format, quantisation, dtype, size.
/// What every model's panel ends with: its format, the cache it was found in (when the scan
/// read several), and its declared parent.
fn facts(forest: &Forest, model: usize, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = vec![format_line(forest, model, theme)];
    // A merge hangs under its main source only: from its other sources it is out of sight.
    let merges = forest.merges_made_from(model);
    if !merges.is_empty() {
        let into: Vec<String> = merges
            .iter()
            .filter_map(|merge| {
                let at = merge.sources.iter().position(|&s| s == model)?;
                Some(format!(
                    "{} ({} of it)",
                    forest.id(merge.model),
                    numbers::plain(merge.weights[at], 2)
                ))
            })
            .collect();
        lines.push(field(
            "merged",
            format!("into {} · m jumps there", into.join(", ")),
            Style::new(),
            theme,
        ));
    }
    let found_in = &forest.report().models[model].entry.found_in;
    if forest.place_count() > 0 && !found_in.is_empty() {
        lines.push(field(
            "found in",
            crate::discover::place_label(found_in).to_string(),
            Style::new(),
            theme,
        ));
    }
    lines.push(declared_line(forest, model, theme));
    lines
}

fn format_line(forest: &Forest, model: usize, theme: Theme) -> Line<'static> {
    let scanned = &forest.report().models[model];
    let fingerprint = &scanned.fingerprint;
    let mut parts = vec![scanned.format_name().to_string()];
    if let Some(quantization) = fingerprint.quantization() {
        parts.push(quantization.name().to_string());
    }
    parts.push(fingerprint.dtype.clone());
    parts.push(format!("{} params", crate::units::si(fingerprint.params)));
    let count = fingerprint.tensors.len();
    parts.push(format!(
        "{count} {}",
        if count == 1 { "matrix" } else { "matrices" }
    ));
    field("format", parts.join(" · "), Style::new(), theme)
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

/// The one-line reading of a fine-tune edge's evidence, its level read from the confidence as
/// printed.
fn finetune_verdict(edge: &Edge, declared: &Declared) -> &'static str {
    if *declared == Declared::Disagrees {
        return "weights and metadata disagree: check the declared parent";
    }
    if Level::of(edge.link_confidence) == Level::Low {
        return "a guess: another parent fits nearly as well";
    }
    if Level::of(edge.direction_confidence) == Level::Low {
        return "a guess: the weights barely say which of the two is the parent";
    }
    match edge.level() {
        Level::High => "confident",
        Level::Medium => "probable: parent and direction hold, with some doubt",
        Level::Low => "a guess: parent and direction are both in doubt",
    }
}

fn verdict_level(edge: &Edge, declared: &Declared) -> Level {
    if *declared == Declared::Disagrees {
        Level::Low
    } else {
        edge.level()
    }
}
