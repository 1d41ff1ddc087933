//! The forest pane: one line per shown row, with guide lines, a count on closed rows, search
//! matches underlined, and labels fitted to the pane. What says what an edge is (the confidence
//! and the badges) is never cut: the parameter count goes first, then the middle of the id.

use super::{App, Focus, Overlay};
use crate::tui::forest::{Filter, Forest, ModelLabel, NodeId, Row};
use crate::tui::theme::{Level, Theme};
use crate::tui::wrap::shorten_middle;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::scrollbar;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState};

/// The fewest characters of an id kept when a row is short of room.
const MIN_ID_WIDTH: usize = 12;

impl App {
    pub(super) fn draw_tree(&self, frame: &mut Frame, area: Rect, forest: &Forest) {
        let theme = self.config.theme;
        let view = self.tree.view;
        let mut block = self.pane_block(Focus::Tree).title_bottom(Span::styled(
            format!(" sort: {} (s) ", view.sort.word()),
            theme.muted(),
        ));
        if view.filter != Filter::All {
            block = block.title(Line::styled(" filtered: f, Esc ", theme.key()).right_aligned());
        }
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let rows = self.tree.rows(forest);
        let offset = self.tree.fit(&rows, inner);
        let overflows = rows.len() > usize::from(inner.height);
        // The scrollbar takes the last column only when there is something to scroll.
        let width = usize::from(inner.width) - usize::from(overflows && inner.width > 0);
        let query = match &self.overlay {
            Overlay::Search { query, .. } => query.as_str(),
            _ => self.last_query.as_str(),
        };
        let lines: Vec<Line> = rows
            .iter()
            .skip(offset)
            .take(usize::from(inner.height))
            .map(|row| {
                let line = row_line(forest, row, width, query, theme);
                if Some(row.node) == self.tree.selected {
                    let pad = width.saturating_sub(line.width());
                    let mut line = line;
                    line.spans.push(Span::raw(" ".repeat(pad)));
                    line.patch_style(theme.selected())
                } else {
                    line
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
        if overflows {
            let mut state =
                ScrollbarState::new(rows.len().saturating_sub(usize::from(inner.height)))
                    .position(offset);
            frame.render_stateful_widget(
                Scrollbar::new(ScrollbarOrientation::VerticalRight)
                    .symbols(scrollbar::VERTICAL)
                    .begin_symbol(None)
                    .end_symbol(None),
                inner,
                &mut state,
            );
        }
    }
}

/// One row, fitted to `width` columns.
pub fn row_line(
    forest: &Forest,
    row: &Row,
    width: usize,
    query: &str,
    theme: Theme,
) -> Line<'static> {
    let symbol = match (row.has_children, row.open, row.depth) {
        (true, true, _) => "▼ ",
        (true, false, _) => "▶ ",
        (false, _, 0) => "  ",
        (false, _, _) => "─ ",
    };
    let prefix = format!("{}{symbol}", row.guide);
    let mut spans = vec![Span::styled(prefix.clone(), theme.muted())];
    let room = width.saturating_sub(prefix.chars().count());
    let count = (row.has_children && !row.open).then(|| format!(" (+{})", row.descendants));
    let dim = !row.matches_filter;
    match row.node {
        NodeId::Model(model) => {
            if let Some(label) = forest.label(model) {
                spans.extend(model_spans(label, count, room, query, dim, theme));
            }
        }
        NodeId::Unrelated => spans.extend(group_spans(
            "Unrelated",
            &format!("{} linked to nothing", forest.unrelated_count()),
            count,
            room,
            theme,
        )),
        NodeId::Skipped => spans.extend(group_spans(
            "Skipped",
            &format!("{} could not be read", forest.report().skipped.len()),
            count,
            room,
            theme,
        )),
        NodeId::SkippedFile(file) => {
            let skipped = &forest.report().skipped[file];
            let text = format!("{}  {}", skipped.path.display(), skipped.reason);
            spans.push(Span::styled(cut_end(&text, room), theme.muted()));
        }
    }
    Line::from(spans)
}

fn group_spans(
    title: &str,
    note: &str,
    count: Option<String>,
    room: usize,
    theme: Theme,
) -> Vec<Span<'static>> {
    let count = count.unwrap_or_default();
    let note_room = room.saturating_sub(title.len() + count.len() + 2);
    let mut spans = vec![Span::styled(title.to_string(), theme.title())];
    if !count.is_empty() {
        spans.push(Span::styled(count, theme.muted()));
    }
    if note_room > 0 {
        spans.push(Span::styled(
            format!("  {}", cut_end(note, note_room)),
            theme.muted(),
        ));
    }
    spans
}

/// A model's row: id (shortened in the middle if need be), closed count, parameter count
/// (dropped first), confidence and badges (never cut).
fn model_spans(
    label: &ModelLabel,
    count: Option<String>,
    room: usize,
    query: &str,
    dim: bool,
    theme: Theme,
) -> Vec<Span<'static>> {
    let count = count.unwrap_or_default();
    let count_width = count.chars().count();
    let params = format!("  {}", label.params);
    let id_width = label.id.chars().count();
    // Full words when the whole id fits beside them, else the short forms: the id is what
    // the user reads the row by, so the words give way before any of it does.
    let full = tail_spans(label, false, theme);
    let fixed = |tail: &[Span]| tail.iter().map(Span::width).sum::<usize>() + count_width;
    let tail = if id_width + fixed(&full) <= room {
        full
    } else {
        tail_spans(label, true, theme)
    };
    let fixed = fixed(&tail);
    let show_params = id_width + fixed + params.len() <= room;
    let id_room = room
        .saturating_sub(fixed + if show_params { params.len() } else { 0 })
        .max(MIN_ID_WIDTH.min(id_width));
    let id = shorten_middle(&label.id, id_room);
    let id_style = if dim { theme.muted() } else { Style::new() };
    let mut spans = highlight(&id, query, id_style, theme);
    if !count.is_empty() {
        spans.push(Span::styled(count, theme.muted()));
    }
    if show_params {
        spans.push(Span::styled(params, theme.muted()));
    }
    spans.extend(tail);
    spans
}

/// The confidence and badges of a row; `short` drops the words `high` and `medium` (the number
/// and colour carry them; `guess` stays) and uses the badges' short forms.
fn tail_spans(label: &ModelLabel, short: bool, theme: Theme) -> Vec<Span<'static>> {
    let mut tail = Vec::new();
    match &label.confidence {
        Some((confidence, level, _)) if short && *level != Level::Low => {
            tail.push(Span::styled(format!("  {confidence}"), theme.level(*level)))
        }
        Some((confidence, level, word)) => tail.push(Span::styled(
            format!("  {confidence} {word}"),
            theme.level(*level),
        )),
        None if label.root => tail.push(Span::styled("  root", theme.accent())),
        None => {}
    }
    for badge in &label.badges {
        let text = if short {
            short_badge(badge)
        } else {
            badge.clone()
        };
        tail.push(Span::styled(format!(" [{text}]"), theme.badge()));
    }
    tail
}

/// The short form of a badge, for narrow panes: `decl ✓`, `r=8`.
pub fn short_badge(badge: &str) -> String {
    if let Some(mark) = badge.strip_prefix("declared ") {
        format!("decl {mark}")
    } else if let Some(rank) = badge.strip_prefix("low-rank ") {
        rank.to_string()
    } else {
        badge.to_string()
    }
}

/// `text` in `width` characters, ending in `…` when cut.
fn cut_end(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        out.push('…');
    }
    out
}

/// `text` with every case-insensitive occurrence of `query` in the match style.
fn highlight(text: &str, query: &str, style: Style, theme: Theme) -> Vec<Span<'static>> {
    let fold = |c: char| c.to_lowercase().next().unwrap_or(c);
    let chars: Vec<char> = text.chars().collect();
    let needle: Vec<char> = query.chars().map(fold).collect();
    if needle.is_empty() || needle.len() > chars.len() {
        return vec![Span::styled(text.to_string(), style)];
    }
    let mut spans = Vec::new();
    let mut plain = String::new();
    let mut index = 0;
    while index < chars.len() {
        let hit = index + needle.len() <= chars.len()
            && chars[index..index + needle.len()]
                .iter()
                .zip(&needle)
                .all(|(&c, &n)| fold(c) == n);
        if hit {
            if !plain.is_empty() {
                spans.push(Span::styled(std::mem::take(&mut plain), style));
            }
            let matched: String = chars[index..index + needle.len()].iter().collect();
            spans.push(Span::styled(matched, theme.matched()));
            index += needle.len();
        } else {
            plain.push(chars[index]);
            index += 1;
        }
    }
    if !plain.is_empty() {
        spans.push(Span::styled(plain, style));
    }
    spans
}
