//! The help screen and the bottom help bar, both generated from the key table.

use super::keys::{self, Context};
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// The help bar for a context: the rows that have a bar word, `key word` pairs.
pub fn bar(context: Context, theme: Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for binding in keys::bindings(context) {
        let Some(word) = binding.bar else { continue };
        if !spans.is_empty() {
            spans.push(Span::raw("  "));
        }
        let key = binding
            .keys
            .first()
            .map(keys::Key::label)
            .unwrap_or_default();
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::styled(format!(" {word}"), theme.muted()));
    }
    Line::from(spans)
}

/// Every row of the key table, grouped under the first context it applies in.
pub fn lines(theme: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for context in Context::ALL {
        let rows: Vec<_> = keys::KEYS
            .iter()
            .filter(|binding| binding.contexts.first() == Some(&context))
            .collect();
        if rows.is_empty() {
            continue;
        }
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(context.title(), theme.title()));
        for binding in rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<18}", keys::keys_label(binding)), theme.key()),
                Span::raw(binding.help),
            ]));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Mouse: a click selects a row, a second click opens or closes it; the wheel scrolls.",
        theme.muted(),
    ));
    lines
}

/// Draws the help screen centred over `area`, scrolled by `scroll` lines (at most as far as the
/// last line). Returns how far it can scroll at this size.
pub fn draw(frame: &mut Frame, area: Rect, scroll: u16, theme: Theme) -> u16 {
    let popup = area.centered(
        Constraint::Max(78),
        Constraint::Max(area.height.saturating_sub(2)),
    );
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .border_style(theme.focused_border())
        .title(Span::styled(" Keys ", theme.title()))
        .title_bottom(Span::styled(" ↑↓ scroll · ? or Esc closes ", theme.muted()));
    let lines = lines(theme);
    let max_scroll = (lines.len() as u16).saturating_sub(block.inner(popup).height);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((scroll.min(max_scroll), 0)),
        popup,
    );
    max_scroll
}
