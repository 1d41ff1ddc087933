//! The two kurtosis charts.
//!
//! **Per layer**: one row per matrix, named (`L3.attn.q`), with the parent's kurtosis `○` and
//! the child's `●` on one symmetric-log axis (values span −2 … thousands on real models, so a
//! linear axis lets one outlier flatten the rest), and the change beside it, child minus
//! parent, in units of the family's spread when the family is large enough to give one. When
//! the rows do not fit, the ones that changed most are kept, in layer order. It is text, not a
//! canvas, so every mark sits on its row and reads without colour.
//!
//! **Along the lineage**: the median kurtosis (the summary the evidence panel prints) of every
//! model from the root down, numbered, with a key naming each number.

use super::forest::Forest;
use super::numbers;
use super::tensor_table::{self, KURTOSIS_FLOOR, NoComparison, TensorRow, TensorTable, symlog};
use super::theme::Theme;
use crate::discover::ModelKind;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

/// Marks of the parent's and the child's values.
pub const PARENT_MARK: char = '○';
pub const CHILD_MARK: char = '●';
/// Where the two fall in one column (the change column says by how much).
pub const BOTH_MARK: char = '◉';

/// A horizontal symmetric-log axis `width` columns wide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SymlogAxis {
    /// Ends of the axis on the symlog scale.
    pub low: f64,
    pub high: f64,
    pub width: usize,
}

impl SymlogAxis {
    /// An axis spanning `values`, never below the lowest possible excess kurtosis.
    pub fn spanning(values: impl Iterator<Item = f64>, width: usize) -> Self {
        let (low, high) = values
            .filter(|value| value.is_finite())
            .map(|value| symlog(value.max(KURTOSIS_FLOOR)))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| {
                (low.min(value), high.max(value))
            });
        let (low, high) = if low > high { (0.0, 1.0) } else { (low, high) };
        let margin = ((high - low) * 0.05).max(0.02);
        Self {
            low: (low - margin).max(symlog(KURTOSIS_FLOOR)),
            high: high + margin,
            width: width.max(1),
        }
    }

    /// The lowest and highest real values on the axis.
    pub fn bounds(&self) -> [f64; 2] {
        [
            tensor_table::symlog_inverse(self.low),
            tensor_table::symlog_inverse(self.high),
        ]
    }

    /// The column of a value.
    pub fn column(&self, value: f64) -> usize {
        let share = (symlog(value.max(KURTOSIS_FLOOR)) - self.low) / (self.high - self.low);
        let last = (self.width - 1) as f64;
        (share * last).round().clamp(0.0, last) as usize
    }

    /// Tick labels in real values, placed where they do not overlap: `(column, label)`.
    pub fn ticks(&self) -> Vec<(usize, String)> {
        let [low, high] = self.bounds();
        let mut candidates = vec![-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0];
        let mut decade = 10.0;
        while decade <= high {
            candidates.extend([decade, 2.0 * decade, 3.0 * decade, 5.0 * decade]);
            decade *= 10.0;
        }
        let inside: Vec<f64> = candidates
            .into_iter()
            .filter(|value| *value >= low && *value <= high)
            .collect();
        // Too narrow a range for round numbers: label its ends.
        let inside = if inside.len() < 2 {
            vec![low, high]
        } else {
            inside
        };
        let mut placed: Vec<(usize, String)> = Vec::new();
        let mut free_from = 0;
        for value in inside {
            let label = if value == value.round() || value.abs() >= 10.0 {
                numbers::tick(value)
            } else {
                numbers::plain(value, 1)
            };
            let length = label.chars().count();
            let column = self.column(value);
            let start = column.saturating_sub(length / 2);
            if start < free_from || start + length > self.width {
                continue;
            }
            free_from = start + length + 1;
            placed.push((column, label));
        }
        placed
    }

    /// The axis row: labels centred on their columns.
    pub fn label_row(&self) -> String {
        let mut row = vec![' '; self.width];
        for (column, label) in self.ticks() {
            let start = column.saturating_sub(label.chars().count() / 2);
            for (offset, c) in label.chars().enumerate() {
                if let Some(cell) = row.get_mut(start + offset) {
                    *cell = c;
                }
            }
        }
        row.into_iter().collect()
    }
}

/// The rows the per-layer chart shows in `rows` lines: all in layer order when they fit,
/// otherwise the ones that changed most, in layer order. Tiny matrices are left out.
pub fn chart_rows(table: &TensorTable, rows: usize) -> Vec<&TensorRow> {
    // With no parent there is no change to rank by: the highest kurtosis tells most.
    let mut ranked = table.by_change();
    if table.parent.is_none() {
        ranked.sort_by(|a, b| b.kurtosis.total_cmp(&a.kurtosis));
    }
    let mut chosen: Vec<&TensorRow> = ranked
        .into_iter()
        .filter(|row| !row.small)
        .take(rows)
        .collect();
    chosen.sort_by(|a, b| layer_order(&a.name).cmp(&layer_order(&b.name)));
    chosen
}

/// Layer number first (embeddings, which have none, before every layer), then the name.
fn layer_order(name: &str) -> (Option<u64>, &str) {
    let layer = name.split('.').find_map(|part| part.parse::<u64>().ok());
    (layer, name)
}

/// The lines of the per-layer chart for a pane `width` × `height` inside its border, and the
/// note for the bottom of the pane.
pub fn layer_lines(
    forest: &Forest,
    table: &TensorTable,
    width: u16,
    height: u16,
    theme: Theme,
) -> (Vec<Line<'static>>, String) {
    let width = usize::from(width);
    let room = usize::from(height).saturating_sub(2);
    let shown = chart_rows(table, room);
    let usable = table.rows.iter().filter(|row| !row.small).count();
    let short_id = |model: usize| forest.short_id(model);

    let mut legend = Vec::new();
    match (table.parent, table.no_comparison) {
        (Some(parent), _) => {
            legend.push(Span::styled(
                format!("{PARENT_MARK} {}  ", short_id(parent)),
                theme.parent_series(),
            ));
            legend.push(Span::styled(
                format!("{CHILD_MARK} {}  ", short_id(table.model)),
                theme.child_series(),
            ));
            legend.push(Span::styled(format!("{BOTH_MARK} both"), theme.muted()));
        }
        (None, reason) => {
            legend.push(Span::styled(
                format!("{CHILD_MARK} {}", short_id(table.model)),
                theme.child_series(),
            ));
            let why = match reason {
                Some(NoComparison::Adapter) => "  its own low-rank factors",
                _ => "  no parent to compare",
            };
            legend.push(Span::styled(why, theme.muted()));
        }
    }
    let scaled = table.has_spread();
    let delta_width = 8;
    let name_width = shown
        .iter()
        .map(|row| row.short.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(6, 16);
    let track = width.saturating_sub(name_width + delta_width + 2).max(8);
    let axis = SymlogAxis::spanning(
        shown
            .iter()
            .flat_map(|row| [Some(row.kurtosis), row.parent_kurtosis])
            .flatten(),
        track,
    );
    let delta_heading = match (table.parent, scaled) {
        (None, _) => "",
        (Some(_), true) => "Δ/σ",
        (Some(_), false) => "Δ",
    };
    let mut lines = vec![
        Line::from(legend),
        Line::from(vec![
            Span::styled(format!("{:<name_width$} ", "symlog"), theme.muted()),
            Span::styled(axis.label_row(), theme.muted()),
            Span::styled(format!(" {delta_heading:>delta_width$}"), theme.muted()),
        ]),
    ];
    for row in &shown {
        lines.push(chart_row(
            row,
            &axis,
            name_width,
            delta_width,
            scaled,
            theme,
        ));
    }

    // The note's parts, most important first; the pane's bottom border keeps as many as fit.
    let mut parts: Vec<(u8, String)> = Vec::new();
    if shown.len() < usable {
        let chosen_by = if table.parent.is_some() {
            "largest change"
        } else {
            "highest kurtosis"
        };
        parts.push((
            1,
            format!("{} of {usable} matrices, {chosen_by}", shown.len()),
        ));
    }
    if table.parent.is_some() {
        parts.push((0, "Δ: child − parent".to_string()));
    }
    let small = table.small_count();
    if small > 0 && small < table.rows.len() {
        parts.push((2, format!("{small} tiny left out")));
    }
    parts.push((3, "t: every tensor".to_string()));
    let joined = |parts: &[(u8, String)]| {
        let mut ordered: Vec<&(u8, String)> = parts.iter().collect();
        ordered.sort_by_key(|(order, _)| *order);
        let texts: Vec<&str> = ordered.iter().map(|(_, text)| text.as_str()).collect();
        format!(" {} ", texts.join(" · "))
    };
    while parts.len() > 1 && joined(&parts).chars().count() + 2 > width {
        parts.pop();
    }
    let note = joined(&parts);
    (lines, note)
}

fn chart_row(
    row: &TensorRow,
    axis: &SymlogAxis,
    name_width: usize,
    delta_width: usize,
    scaled: bool,
    theme: Theme,
) -> Line<'static> {
    let name: String = if row.short.chars().count() > name_width {
        let head: String = row.short.chars().take(name_width - 1).collect();
        format!("{head}…")
    } else {
        row.short.clone()
    };
    let child = axis.column(row.kurtosis);
    let mut cells: Vec<(char, Style)> = vec![(' ', Style::new()); axis.width];
    let mut delta = String::new();
    if let Some(parent_value) = row.parent_kurtosis {
        let parent = axis.column(parent_value);
        let (from, to) = (parent.min(child), parent.max(child));
        for cell in cells.iter_mut().take(to).skip(from + 1) {
            *cell = ('─', theme.muted());
        }
        cells[parent] = (PARENT_MARK, theme.parent_series());
        delta = match row.scaled_delta() {
            Some(value) if scaled => format!("{}σ", numbers::signed(value, 1)),
            _ => numbers::change(parent_value, row.kurtosis).2,
        };
    }
    cells[child] = if row.parent_kurtosis.is_some() && cells[child].0 == PARENT_MARK {
        (BOTH_MARK, theme.child_series())
    } else {
        (CHILD_MARK, theme.child_series())
    };
    let mut spans = vec![Span::raw(format!("{name:<name_width$} "))];
    spans.extend(
        cells
            .into_iter()
            .map(|(c, style)| Span::styled(c.to_string(), style)),
    );
    spans.push(Span::raw(format!(" {delta:>delta_width$}")));
    Line::from(spans)
}

fn empty(frame: &mut Frame, area: Rect, block: Block<'_>, text: &str, theme: Theme) {
    frame.render_widget(
        Paragraph::new(text)
            .style(theme.muted())
            .wrap(Wrap { trim: true })
            .block(block),
        area,
    );
}

/// Draws the per-layer chart for `model` against its parent.
pub fn draw_layers(
    frame: &mut Frame,
    area: Rect,
    forest: &Forest,
    model: Option<usize>,
    block: Block<'_>,
    theme: Theme,
) {
    let Some(model) = model else {
        return empty(
            frame,
            area,
            block,
            "Select a model in the tree to see its matrices.",
            theme,
        );
    };
    let table = TensorTable::of(forest, model);
    if table.rows.is_empty() {
        return empty(
            frame,
            area,
            block,
            "This model has no 2-D tensors to chart.",
            theme,
        );
    }
    let inner = block.inner(area);
    let (lines, note) = layer_lines(forest, &table, inner.width, inner.height, theme);
    let block = block.title_bottom(Span::styled(note, theme.muted()));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The models from the root down to `model` that have a comparable kurtosis, numbered from 1,
/// with their median kurtosis; and how many adapters were left out.
pub fn lineage_points(forest: &Forest, model: usize) -> (Vec<(usize, f64)>, usize) {
    let chain = match forest.original_of(model) {
        Some(original) => {
            let mut chain = forest.lineage(original);
            chain.push(model);
            chain
        }
        None => forest.lineage(model),
    };
    let report = forest.report();
    let mut adapters = 0;
    let mut points = Vec::new();
    for index in chain {
        let scanned = &report.models[index];
        if matches!(scanned.entry.kind, ModelKind::Adapter { .. }) {
            adapters += 1;
            continue;
        }
        if let Some(median) = scanned.fingerprint.median_kurtosis() {
            points.push((index, median));
        }
    }
    (points, adapters)
}

/// Draws the median kurtosis of every generation from the root down to `model`.
pub fn draw_lineage(
    frame: &mut Frame,
    area: Rect,
    forest: &Forest,
    model: Option<usize>,
    block: Block<'_>,
    theme: Theme,
) {
    let Some(model) = model else {
        return empty(
            frame,
            area,
            block,
            "Select a model in the tree to see its lineage.",
            theme,
        );
    };
    let (chain, adapters) = lineage_points(forest, model);
    if chain.is_empty() {
        return empty(
            frame,
            area,
            block,
            "An adapter holds only its own low-rank factors: select its base to see the \
             lineage's kurtosis.",
            theme,
        );
    }
    let note = if adapters > 0 {
        " median kurtosis · the adapter's own factors left out "
    } else {
        " median kurtosis per generation "
    };
    let block = block.title_bottom(Span::styled(note, theme.muted()));
    let inner = block.inner(area);
    let lines = lineage_lines(forest, model, &chain, inner, theme);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The lineage as rows, one per generation from the root down: its number, the model, its
/// median kurtosis, and a mark on a shared axis, joined to the previous generation's mark so the
/// path reads as a line. Rows rather than a plotted chart keep every model named and every mark
/// on its own row; when the chain is taller than the pane, the generations nearest the selected
/// model are kept.
pub fn lineage_lines(
    forest: &Forest,
    model: usize,
    chain: &[(usize, f64)],
    inner: Rect,
    theme: Theme,
) -> Vec<Line<'static>> {
    let names: Vec<String> = chain
        .iter()
        .map(|&(index, _)| forest.short_id(index))
        .collect();
    let values: Vec<String> = chain
        .iter()
        .map(|&(_, value)| numbers::kurtosis(value))
        .collect();
    let width = usize::from(inner.width);
    let number_width = chain.len().to_string().len();
    let value_width = values.iter().map(String::len).max().unwrap_or(1);
    let name_width = names
        .iter()
        .map(|name| name.chars().count())
        .max()
        .unwrap_or(1)
        .min(width.saturating_sub(number_width + value_width + 14).max(6));
    let plot_width = width.saturating_sub(number_width + name_width + value_width + 4);
    let [low, high] = value_bounds(chain.iter().map(|point| point.1));
    let column = |value: f64| -> usize {
        let share = ((value - low) / (high - low)).clamp(0.0, 1.0);
        (share * (plot_width.saturating_sub(1)) as f64).round() as usize
    };
    let rows_available = usize::from(inner.height).saturating_sub(1).max(1);
    let skipped = chain.len().saturating_sub(rows_available);

    let low_label = numbers::kurtosis(low);
    let high_label = numbers::kurtosis(high);
    let gap = plot_width.saturating_sub(low_label.len() + high_label.len());
    let lead = number_width + name_width + value_width + 3;
    let mut lines = vec![Line::styled(
        if skipped > 0 {
            format!(
                "{:<lead$} {low_label}{}{high_label}",
                format!("{skipped} earlier above"),
                " ".repeat(gap)
            )
        } else {
            format!("{:<lead$} {low_label}{}{high_label}", "", " ".repeat(gap))
        },
        theme.muted(),
    )];
    let mut previous = chain
        .get(skipped.wrapping_sub(1))
        .filter(|_| skipped > 0)
        .map(|point| column(point.1));
    for (position, (&(index, value), (name, printed))) in chain
        .iter()
        .zip(names.iter().zip(&values))
        .enumerate()
        .skip(skipped)
    {
        let here = column(value);
        let mut plot: Vec<char> = vec![' '; plot_width];
        if let Some(previous) = previous {
            let (from, to) = (previous.min(here), previous.max(here));
            for cell in plot.iter_mut().take(to + 1).skip(from) {
                *cell = '─';
            }
        }
        if let Some(cell) = plot.get_mut(here) {
            *cell = CHILD_MARK;
        }
        previous = Some(here);
        let style = if index == model {
            theme.child_series()
        } else {
            Style::new()
        };
        let name = super::wrap::shorten_middle(name, name_width);
        lines.push(Line::from(vec![
            Span::styled(format!("{:>number_width$} ", position + 1), theme.key()),
            Span::styled(format!("{name:<name_width$} "), style),
            Span::styled(format!("{printed:>value_width$}  "), style),
            Span::styled(plot.into_iter().collect::<String>(), style),
        ]));
    }
    lines
}

/// Linear bounds around `values` with a margin, never below the lowest possible excess
/// kurtosis, and never empty.
pub fn value_bounds(values: impl Iterator<Item = f64>) -> [f64; 2] {
    let (low, high) = values
        .filter(|value| value.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| {
            (low.min(value), high.max(value))
        });
    if low > high {
        return [0.0, 1.0];
    }
    let margin = ((high - low) * 0.15).max(0.01 * high.abs().max(1.0));
    [(low - margin).max(KURTOSIS_FLOOR), high + margin]
}
