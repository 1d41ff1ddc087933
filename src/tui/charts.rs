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
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Wrap};

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
    let mut chosen: Vec<&TensorRow> = table
        .by_change()
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
    let short_id = |model: usize| short_id(forest.id(model));

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

    let mut note = String::new();
    if table.parent.is_some() {
        note.push_str(" Δ: child − parent ·");
    }
    if shown.len() < usable {
        note.push_str(&format!(
            " {} of {usable} matrices, largest change ·",
            shown.len()
        ));
    }
    let small = table.small_count();
    if small > 0 && small < table.rows.len() {
        note.push_str(&format!(" {small} tiny left out ·"));
    }
    note.push_str(" t: every tensor ");
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

/// A repo id without its organisation: `mother-demo/full1-c1` reads `full1-c1`.
pub fn short_id(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_string()
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
        if let Some(median) = tensor_table::median_kurtosis(&scanned.fingerprint) {
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
    frame.render_widget(block, area);

    let key: Vec<Span<'static>> = chain
        .iter()
        .enumerate()
        .flat_map(|(number, &(index, _))| {
            let style = if index == model {
                theme.child_series()
            } else {
                Style::new()
            };
            [
                Span::styled(format!("{} ", number + 1), theme.key()),
                Span::styled(format!("{}  ", short_id(forest.id(index))), style),
            ]
        })
        .collect();
    let key_text: usize = key.iter().map(|span| span.content.chars().count()).sum();
    let key_rows = u16::try_from(key_text.div_ceil(usize::from(inner.width.max(1))))
        .unwrap_or(1)
        .clamp(1, 3);
    let [plot, key_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(key_rows)]).areas(inner);
    frame.render_widget(
        Paragraph::new(Line::from(key)).wrap(Wrap { trim: true }),
        key_area,
    );

    let points: Vec<(f64, f64)> = chain
        .iter()
        .enumerate()
        .map(|(x, &(_, value))| (x as f64, value))
        .collect();
    let y = value_bounds(points.iter().map(|point| point.1));
    let last = (points.len() - 1) as f64;
    // Numbered ticks: ratatui spreads labels evenly over the axis, and the points sit at
    // 0, 1, … n-1 on it, so label i lands under point i.
    let x_bounds = if points.len() > 1 {
        [0.0, last]
    } else {
        [-1.0, 1.0]
    };
    let x_labels: Vec<Span<'static>> = if points.len() > 1 {
        (1..=points.len())
            .map(|number| Span::raw(number.to_string()))
            .collect()
    } else {
        vec![Span::raw(""), Span::raw("1"), Span::raw("")]
    };
    // Line and marks share the cell-sized dot grid, so every mark sits on the line.
    let line = Dataset::default()
        .marker(Marker::Dot)
        .graph_type(GraphType::Line)
        .style(theme.muted())
        .data(&points);
    let marks = Dataset::default()
        .marker(Marker::Block)
        .graph_type(GraphType::Scatter)
        .style(theme.child_series())
        .data(&points);
    let chart = Chart::new(vec![line, marks])
        .x_axis(
            Axis::default()
                .bounds(x_bounds)
                .labels(x_labels)
                .style(theme.muted()),
        )
        .y_axis(
            Axis::default()
                .bounds(y)
                .labels(vec![
                    Span::raw(numbers::kurtosis(y[0])),
                    Span::raw(numbers::kurtosis(y[1])),
                ])
                .style(theme.muted()),
        );
    frame.render_widget(chart, plot);
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
