//! The help screen and the bottom help bar, both generated from the key table; the help screen
//! also explains the tree's badges, colours and confidence levels, from the code's own numbers.

use super::app::VerticalScroll;
use super::keys::{self, Context};
use super::theme::{Level, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
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

/// Every row of the key table, grouped under the first context it applies in, then the legend.
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
        "Mouse: a click selects a row, a second opens or closes it; the wheel scrolls.",
        theme.muted(),
    ));
    lines.push(Line::raw(""));
    lines.extend(legend(theme));
    lines
}

/// What the tree's numbers, words, colours and badges mean.
fn legend(theme: Theme) -> Vec<Line<'static>> {
    let level = |level: Level, word: &str, rule: String| {
        Line::from(vec![
            Span::styled(format!("  {word:<18}"), theme.level(level)),
            Span::raw(rule),
        ])
    };
    let badge = |badge: &str, meaning: &str| {
        Line::from(vec![
            Span::styled(format!("  {badge:<18}"), theme.badge()),
            Span::raw(meaning.to_string()),
        ])
    };
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
        Line::from(vec![
            Span::styled(format!("  {:<18}", "root"), theme.accent()),
            Span::raw("the top of a recovered tree (cyan)"),
        ]),
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
            "a checkpoint between two models, or their merge",
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
        Line::raw("  ├ └ │     guide lines: a row hangs from the row its line leads up to"),
        Line::raw("  ▶ (+4)    a closed row and how many rows are below it"),
        Line::raw("  …         part of a long id left out: the name is kept, the org gives way"),
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
    // Long rows wrap under their description (keys and words take 20 columns).
    let lines: Vec<Line<'static>> = lines(theme)
        .iter()
        .flat_map(|line| crate::tui::wrap::wrap_line(line, usize::from(inner.width), 20))
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
