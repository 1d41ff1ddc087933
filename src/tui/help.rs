//! The help screen and the bottom help bar, both generated from the key table; the help screen
//! also explains the tree's badges, colours and confidence levels, from the code's own numbers.

use super::app::VerticalScroll;
use super::keys::{self, Context};
use super::theme::{Level, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// Bar words that stay when the bar is too narrow for all: a way to learn the rest and a way out.
const KEPT_IN_BAR: [keys::Command; 3] = [
    keys::Command::Help,
    keys::Command::Quit,
    keys::Command::CloseHelp,
];

/// The help bar for a context: the rows that have a bar word, `key word` pairs, as many as fit
/// in `width` columns, always keeping help and quit.
pub fn bar(context: Context, theme: Theme, width: u16) -> Line<'static> {
    let entries: Vec<(String, &'static str, bool)> = keys::bindings(context)
        .filter_map(|binding| {
            let word = binding.bar?;
            let key = binding
                .keys
                .first()
                .map(keys::Key::label)
                .unwrap_or_default();
            Some((key, word, KEPT_IN_BAR.contains(&binding.action)))
        })
        .collect();
    let cost = |(key, word, _): &(String, &str, bool)| key.chars().count() + 1 + word.len() + 2;
    let mut budget = usize::from(width);
    budget = budget.saturating_sub(entries.iter().filter(|e| e.2).map(cost).sum());
    let mut spans = Vec::new();
    for entry in &entries {
        if !entry.2 {
            if cost(entry) > budget {
                continue;
            }
            budget -= cost(entry);
        }
        if !spans.is_empty() {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(entry.0.clone(), theme.key()));
        spans.push(Span::styled(format!(" {}", entry.1), theme.muted()));
    }
    Line::from(spans)
}

/// Columns of the first cell of a row (a key, a badge, a symbol); its meaning starts after it.
const TERM_WIDTH: usize = 18;
/// Where a row's meaning starts, and where its continuation rows start when it wraps.
const MEANING_COLUMN: usize = 2 + TERM_WIDTH;

/// One row of the help: `term` in its column, styled, and what it means.
fn row(term: &str, style: Style, meaning: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("  {term:<TERM_WIDTH$}"), style),
        Span::raw(meaning.into()),
    ])
}

/// Every row of the key table, grouped under the first context it applies in, then what the
/// mouse does and the legend.
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
            lines.push(row(&keys::keys_label(binding), theme.key(), binding.help));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Mouse", theme.title()));
    for (action, meaning) in keys::MOUSE {
        lines.push(row(action, theme.key(), *meaning));
    }
    lines.push(Line::raw(""));
    lines.extend(legend(theme));
    lines
}

/// What the tree's numbers, words, colours and badges mean.
fn legend(theme: Theme) -> Vec<Line<'static>> {
    let level = |level: Level, word: &str, rule: String| row(word, theme.level(level), rule);
    let badge = |badge: &str, meaning: &str| row(badge, theme.badge(), meaning);
    let symbol = |symbol: &str, meaning: &str| row(symbol, Style::new(), meaning);
    vec![
        Line::styled("Confidence of the edge into a model", theme.title()),
        level(
            Level::High,
            "0.97 high",
            format!("at least {:.2} (green)", Level::HIGH),
        ),
        level(
            Level::Medium,
            "0.71 medium",
            format!("at least {:.2} (yellow)", Level::MEDIUM),
        ),
        level(
            Level::Low,
            "0.42 guess",
            format!("below {:.2} (red): low, a guess", Level::MEDIUM),
        ),
        row("root", theme.accent(), "the top of a recovered tree (cyan)"),
        Line::raw(""),
        Line::styled("Badges", theme.title()),
        badge("[dup]", "an identical copy, under its original"),
        badge("[cast]", "the parent's values at a coarser dtype"),
        badge("[quant]", "an int8 or GGUF-quantised copy of the parent"),
        badge("[adapter]", "a PEFT adapter"),
        badge("[low-rank r=8]", "a low-rank (LoRA-style) update, its rank"),
        badge(
            "[merge]",
            "mixed from two or three models, under its main source",
        ),
        badge(
            "[merge?]",
            "a checkpoint or a merge, or a merge's fine-tune (m)",
        ),
        badge("[declared ✓]", "the model's metadata names the same parent"),
        badge("[declared ✗]", "the model's metadata names another parent"),
        badge(
            "[gguf Q8_0]",
            "the file format when not safetensors, and its scheme",
        ),
        badge(
            "[decl ✓] [r=8]",
            "the same badges, shortened where the pane is narrow",
        ),
        Line::raw(""),
        Line::styled("Tree", theme.title()),
        symbol(
            "├ └ │",
            "guide lines: a row hangs from the row its line leads up to",
        ),
        symbol("▶ (+4)", "a closed row and how many rows are below it"),
        symbol(
            "…",
            "part of a long id left out: the name is kept, the org gives way",
        ),
    ]
}

/// Draws the help screen centred over `area`, scrolled as far as `scroll` says (and learning
/// from this draw how far it can go).
pub fn draw(frame: &mut Frame, area: Rect, scroll: &VerticalScroll, theme: Theme) {
    let popup = area.centered(
        Constraint::Max(78),
        Constraint::Max(area.height.saturating_sub(2)),
    );
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .border_style(theme.focused_border())
        .title(Span::styled(" Keys ", theme.title()));
    let inner = block.inner(popup);
    // Long rows wrap under their meaning.
    let lines: Vec<Line<'static>> = lines(theme)
        .iter()
        .flat_map(|line| {
            crate::tui::wrap::wrap_line(line, usize::from(inner.width), MEANING_COLUMN)
        })
        .collect();
    let offset = scroll.fit(lines.len(), inner.height);
    // The scroll keys are named only when there is something to scroll to.
    let hint = match scroll.more_hint() {
        Some(more) => format!(" {more}: ↑↓ PgUp PgDn · ? or Esc closes "),
        None => " ? or Esc closes ".to_string(),
    };
    let block = block.title_bottom(Span::styled(hint, theme.muted()));
    frame.render_widget(
        Paragraph::new(lines).block(block).scroll((offset, 0)),
        popup,
    );
}

#[cfg(test)]
mod tests {
    use super::{MEANING_COLUMN, lines};
    use crate::tui::theme::Theme;
    use unicode_width::UnicodeWidthStr;

    /// Every row (keys, mouse, confidence words, badges, tree symbols) starts its meaning in the
    /// same column, with a space before it.
    #[test]
    fn every_row_starts_its_meaning_in_one_column() {
        let rows: Vec<String> = lines(Theme::new(false))
            .iter()
            .map(ToString::to_string)
            .filter(|line| line.starts_with("  "))
            .collect();
        assert!(rows.len() > 40, "{rows:?}");
        for row in &rows {
            let term: String = row
                .chars()
                .scan(0, |width, c| {
                    *width += c.to_string().width();
                    (*width <= MEANING_COLUMN).then_some(c)
                })
                .collect();
            let meaning = &row[term.len()..];
            assert_eq!(term.width(), MEANING_COLUMN, "{row}");
            assert!(term.ends_with(' '), "no space before the meaning: {row}");
            assert!(!meaning.starts_with(' '), "the meaning starts late: {row}");
        }
    }

    #[test]
    fn the_mouse_has_its_own_rows() {
        let text: Vec<String> = lines(Theme::new(false))
            .iter()
            .map(ToString::to_string)
            .collect();
        let mouse = text.iter().position(|line| line == "Mouse");
        let mouse = mouse.expect("a Mouse section");
        assert!(text[mouse + 1].starts_with("  click"), "{text:?}");
        assert!(text[mouse + 2].starts_with("  wheel"), "{text:?}");
    }
}
