//! The two kurtosis charts: per layer (parent against child along the 2-D tensors, so a person
//! sees where the two differ) and along the lineage (summary kurtosis from the root down).

use super::forest::Forest;
use super::theme::Theme;
use crate::measure::Fingerprint;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph};

/// Per-layer excess kurtosis of a model and, when it has one, its parent, on the tensors both hold.
pub struct LayerSeries {
    pub child: Vec<(f64, f64)>,
    pub parent: Option<Vec<(f64, f64)>>,
    /// Name of the tensor whose kurtosis dropped most from parent to child, and the drop.
    pub largest_drop: Option<(String, f64)>,
}

impl LayerSeries {
    pub fn of(child: &Fingerprint, parent: Option<&Fingerprint>) -> Self {
        let Some(parent) = parent else {
            let child = child
                .tensors
                .iter()
                .enumerate()
                .map(|(x, tensor)| (x as f64, tensor.moments.excess_kurtosis()))
                .collect();
            return Self {
                child,
                parent: None,
                largest_drop: None,
            };
        };
        let mut child_points = Vec::new();
        let mut parent_points = Vec::new();
        let mut largest_drop: Option<(String, f64)> = None;
        // Tensors are sorted by name in a fingerprint, so each lookup is a binary search.
        for tensor in &child.tensors {
            let Ok(found) = parent
                .tensors
                .binary_search_by(|candidate| candidate.name.as_str().cmp(&tensor.name))
            else {
                continue;
            };
            let x = child_points.len() as f64;
            let child_value = tensor.moments.excess_kurtosis();
            let parent_value = parent.tensors[found].moments.excess_kurtosis();
            child_points.push((x, child_value));
            parent_points.push((x, parent_value));
            let drop = parent_value - child_value;
            if largest_drop.as_ref().is_none_or(|(_, best)| drop > *best) {
                largest_drop = Some((tensor.name.clone(), drop));
            }
        }
        Self {
            child: child_points,
            parent: Some(parent_points),
            largest_drop,
        }
    }
}

/// Axis bounds with a margin, never empty (a flat series still gets a visible band).
fn bounds<'a>(points: impl Iterator<Item = &'a (f64, f64)>) -> [f64; 2] {
    let (low, high) = points
        .map(|point| point.1)
        .filter(|value| value.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| {
            (low.min(value), high.max(value))
        });
    if low > high {
        return [0.0, 1.0];
    }
    let margin = ((high - low) * 0.1).max(0.05);
    [low - margin, high + margin]
}

fn y_labels(bounds: [f64; 2]) -> Vec<Span<'static>> {
    vec![
        Span::raw(format!("{:.2}", bounds[0])),
        Span::raw(format!("{:.2}", bounds[1])),
    ]
}

fn empty(frame: &mut Frame, area: Rect, block: Block<'_>, text: &str, theme: Theme) {
    frame.render_widget(Paragraph::new(text).style(theme.muted()).block(block), area);
}

/// Draws the per-layer chart for `model` (its parent's line too when it has one).
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
            "Select a model to see its layers.",
            theme,
        );
    };
    let report = forest.report();
    let parent = forest.parent(model);
    let series = LayerSeries::of(
        &report.models[model].fingerprint,
        parent.map(|parent| &report.models[parent].fingerprint),
    );
    if series.child.is_empty() {
        return empty(frame, area, block, "No 2-D tensors in common.", theme);
    }
    let block = match &series.largest_drop {
        Some((name, drop)) => block.title_bottom(Line::from(vec![
            Span::styled(" largest drop ", theme.muted()),
            Span::raw(format!("{name} {drop:+.3} ")),
        ])),
        None if parent.is_none() => {
            block.title_bottom(Span::styled(" a root: its own layers ", theme.muted()))
        }
        None => block,
    };
    // The legend gets its own line above the plot so it never hides the data; distinct
    // markers keep the two lines apart without colour, and the legend repeats them.
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [legend_area, plot] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    let mut legend = Vec::new();
    let mut datasets = Vec::new();
    if let (Some(points), Some(parent)) = (&series.parent, parent) {
        legend.push(Span::styled(
            format!("• parent {}   ", forest.id(parent)),
            theme.parent_series(),
        ));
        datasets.push(
            Dataset::default()
                .marker(Marker::Dot)
                .graph_type(GraphType::Line)
                .style(theme.parent_series())
                .data(points),
        );
    }
    legend.push(Span::styled(
        format!("⠿ {}", forest.id(model)),
        theme.child_series(),
    ));
    frame.render_widget(Paragraph::new(Line::from(legend)), legend_area);
    datasets.push(
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.child_series())
            .data(&series.child),
    );
    let last = (series.child.len().saturating_sub(1)) as f64;
    let y = bounds(series.child.iter().chain(series.parent.iter().flatten()));
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([0.0, last.max(1.0)])
                .labels(vec![Span::raw("0"), Span::raw(format!("{last:.0}"))])
                .style(theme.muted()),
        )
        .y_axis(
            Axis::default()
                .bounds(y)
                .labels(y_labels(y))
                .style(theme.muted()),
        );
    frame.render_widget(chart, plot);
}

/// Draws summary kurtosis per generation from the root down to `model`.
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
            "Select a model to see its lineage.",
            theme,
        );
    };
    let kurtosis = &forest.report().recovery.summary_kurtosis;
    let chain = forest.lineage(model);
    let points: Vec<(f64, f64)> = chain
        .iter()
        .enumerate()
        .filter_map(|(x, &index)| kurtosis.get(index).map(|&value| (x as f64, value)))
        .collect();
    if points.is_empty() {
        return empty(
            frame,
            area,
            block,
            "No summary kurtosis for this model.",
            theme,
        );
    }
    let numbers = points
        .iter()
        .map(|(_, value)| format!("{value:.2}"))
        .collect::<Vec<_>>()
        .join(" → ");
    let block = block.title_bottom(Line::from(vec![
        Span::styled(" root ", theme.muted()),
        Span::raw(format!("{numbers} ")),
    ]));
    let last = (points.len() - 1) as f64;
    let y = bounds(points.iter());
    // The axis has room for two short labels: the repo names without their organisation.
    let short = |id: &str| id.rsplit('/').next().unwrap_or(id).to_string();
    let root_id = short(forest.id(chain[0]));
    let dataset = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(theme.child_series())
        .data(&points);
    let dots = Dataset::default()
        .marker(Marker::Dot)
        .graph_type(GraphType::Scatter)
        .style(Style::new())
        .data(&points);
    let x_labels = if points.len() > 1 {
        vec![Span::raw(root_id), Span::raw(short(forest.id(model)))]
    } else {
        vec![Span::raw(root_id)]
    };
    let chart = Chart::new(vec![dataset, dots])
        .block(block)
        .x_axis(
            Axis::default()
                .bounds([-0.2, last + 0.2])
                .labels(x_labels)
                .style(theme.muted()),
        )
        .y_axis(
            Axis::default()
                .bounds(y)
                .labels(y_labels(y))
                .style(theme.muted()),
        );
    frame.render_widget(chart, area);
}
