//! The tensor view (`t`): every matrix of the selected model beside its parent's, the largest
//! change first, over the whole body. It scrolls with the usual keys; `t` or `Esc` close
//! it.

use super::{App, VerticalScroll};
use crate::tui::forest::Forest;
use crate::tui::keys::Command;
use crate::tui::numbers;
use crate::tui::tensor_table::{self, NoComparison, TensorRow, TensorTable};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// Widths of the number columns: shape, kurtosis, parent, Δ, Δ/σ, norm, Δ norm.
const COLUMNS: [(&str, usize); 7] = [
    ("shape", 11),
    ("kurtosis", 9),
    ("parent", 9),
    ("Δ", 8),
    ("Δ/σ", 7),
    ("norm", 9),
    ("Δ norm", 8),
];
/// Index of the absolute norm in [`COLUMNS`], the column a narrow screen leaves out.
const NORM_COLUMN: usize = 5;
/// Inner width from which every column is shown.
const WIDE_TENSOR_VIEW: u16 = 96;

impl App {
    pub(super) fn open_tensor_view(&mut self) {
        if self.selected_model().is_some() {
            self.tensor_view = Some(VerticalScroll::new());
        } else {
            self.set_info("select a model to see its tensors".to_string());
        }
    }

    /// Moves and closes the tensor view (its own key context: the tree's keys do not reach
    /// the model behind it).
    pub(super) fn handle_tensor_view(&mut self, command: Command) {
        let Some(scroll) = &mut self.tensor_view else {
            return;
        };
        let page = i32::from(scroll.viewport().max(1));
        match command {
            Command::Up => scroll.scroll_by(-1),
            Command::Down => scroll.scroll_by(1),
            Command::PageUp => scroll.scroll_by(-page),
            Command::PageDown => scroll.scroll_by(page),
            Command::HalfPageUp => scroll.scroll_by(-page / 2),
            Command::HalfPageDown => scroll.scroll_by(page / 2),
            Command::First => scroll.to_top(),
            Command::Last => scroll.to_bottom(),
            // Esc backs out of the view, as out of every other; `q` and Ctrl-c still quit.
            Command::CloseTensors => self.tensor_view = None,
            _ => {}
        }
    }

    pub(super) fn draw_tensor_view(
        &self,
        frame: &mut Frame,
        area: Rect,
        forest: &Forest,
        scroll: &VerticalScroll,
    ) {
        let theme = self.config.theme;
        let Some(model) = self.selected_model() else {
            return;
        };
        let table = TensorTable::of(forest, model);
        let against = match (table.parent, table.no_comparison) {
            (Some(parent), _) => format!("against {}", forest.short_id(parent)),
            (None, Some(NoComparison::Adapter)) => "an adapter's own factors".to_string(),
            (None, _) => "no parent to compare".to_string(),
        };
        let title = format!(
            " Tensors of {} · {against} · largest change first ◆ ",
            forest.short_id(model)
        );
        let block = Block::bordered()
            .title(Span::styled(title, theme.title()))
            .border_style(theme.focused_border());
        let inner = block.inner(area);
        // Narrow screens drop the absolute norm (its change stays) to leave the names room.
        let shown: Vec<usize> = (0..COLUMNS.len())
            .filter(|&column| inner.width >= WIDE_TENSOR_VIEW || column != NORM_COLUMN)
            .collect();
        let name_width = usize::from(inner.width)
            .saturating_sub(
                shown
                    .iter()
                    .map(|&column| COLUMNS[column].1 + 1)
                    .sum::<usize>(),
            )
            .max(8);
        let rows = table.by_change();
        let offset = scroll.fit(rows.len(), inner.height.saturating_sub(1));
        let hint = bottom_hint(
            table.small_count(),
            scroll.more_hint(),
            usize::from(inner.width),
        );
        let block = block.title_bottom(Span::styled(hint, theme.muted()));
        let mut lines = vec![header(name_width, &shown, theme)];
        lines.extend(
            rows.iter()
                .skip(usize::from(offset))
                .map(|row| row_line(row, name_width, &shown, theme)),
        );
        frame.render_widget(Clear, area);
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }
}

/// The bottom border: the greyed tiny matrices (in fewer words if the whole does not fit),
/// which way there are more rows, and how to close.
fn bottom_hint(small: usize, more: Option<&str>, width: usize) -> String {
    let join = |tiny: Option<String>| {
        let parts: Vec<String> = tiny
            .into_iter()
            .chain(more.map(str::to_string))
            .chain(["t Esc close".to_string()])
            .collect();
        format!(" {} ", parts.join(" · "))
    };
    if small == 0 {
        return join(None);
    }
    let full = join(Some(format!(
        "{small} tiny (< {} values or a side < {}) greyed, last",
        tensor_table::SMALL_VALUES,
        tensor_table::SMALL_SIDE
    )));
    if full.chars().count() <= width {
        full
    } else {
        join(Some(format!("{small} tiny greyed, last")))
    }
}

fn header(name_width: usize, shown: &[usize], theme: Theme) -> Line<'static> {
    let mut text = format!("{:<name_width$}", "tensor");
    for &column in shown {
        let (title, width) = COLUMNS[column];
        text.push_str(&format!(" {title:>width$}"));
    }
    Line::styled(text, theme.muted())
}

fn row_line(row: &TensorRow, name_width: usize, shown: &[usize], theme: Theme) -> Line<'static> {
    // A narrow screen gets the short name (`L2.mlp.down`) before anything is cut.
    let name = if row.name.chars().count() <= name_width {
        row.name.clone()
    } else {
        fit(&tensor_table::short_name(&row.name), name_width)
    };
    let shape = row
        .shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("×");
    // With a parent, the model's kurtosis is printed at the precision of its change.
    let (kurtosis, parent, delta) = match row.parent_kurtosis {
        Some(parent) => {
            let (parent, kurtosis, delta) = numbers::change(parent, row.kurtosis);
            (kurtosis, parent, delta)
        }
        None => (
            numbers::kurtosis(row.kurtosis),
            "–".to_string(),
            "–".to_string(),
        ),
    };
    let scaled = row.scaled_delta().map_or("–".to_string(), |value| {
        format!("{}σ", numbers::signed(value, 1))
    });
    let norm_change = row.norm_change().map_or("–".to_string(), |value| {
        format!("{}%", numbers::signed(value * 100.0, 2))
    });
    let cells = [
        shape,
        kurtosis,
        parent,
        delta,
        scaled,
        format!("{:.4}", row.norm),
        norm_change,
    ];
    let mut text = format!("{name:<name_width$}");
    for &column in shown {
        let width = COLUMNS[column].1;
        text.push_str(&format!(" {:>width$}", cells[column]));
    }
    let style = if row.small {
        theme.muted()
    } else {
        Style::new()
    };
    Line::styled(text, style)
}

/// `name` in `width` columns, cut in the middle so the layer and the tail both stay.
fn fit(name: &str, width: usize) -> String {
    let length = name.chars().count();
    if length <= width {
        return name.to_string();
    }
    let tail = (width - 1) / 2;
    let head = width - 1 - tail;
    let start: String = name.chars().take(head).collect();
    let end: String = name.chars().skip(length - tail).collect();
    format!("{start}…{end}")
}

#[cfg(test)]
mod tests {
    use super::bottom_hint;

    #[test]
    fn the_bottom_hint_names_the_scroll_and_shortens_the_tiny_note() {
        assert_eq!(bottom_hint(0, None, 78), " t Esc close ");
        assert_eq!(
            bottom_hint(0, Some("↓ for more"), 78),
            " ↓ for more · t Esc close "
        );
        assert_eq!(
            bottom_hint(2, Some("↑ for more above"), 120),
            " 2 tiny (< 4096 values or a side < 8) greyed, last · ↑ for more above · t Esc close "
        );
        assert_eq!(
            bottom_hint(2, Some("↑ for more above"), 78),
            " 2 tiny greyed, last · ↑ for more above · t Esc close "
        );
    }
}
