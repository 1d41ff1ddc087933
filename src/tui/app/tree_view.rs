//! The forest pane: one line per shown row, with guide lines, a count on closed rows, search
//! matches underlined, and labels fitted to the pane. A row short of room gives up whole parts,
//! never half a badge: the parameter count, the long words and the metadata badges go while the
//! id is whole; then the id's middle, the count, and the edge's badges; the id (at least its
//! ellipsis) and the confidence go last.

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
        // The summary counts what a closed row hides, so the row needs no `(+N)`.
        NodeId::Place(place) => spans.extend(group_spans(
            forest.place_name(place),
            &forest.place_summary(place),
            None,
            room,
            theme,
        )),
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
            // The evidence panel has the whole path; the row has room for a name.
            let report = forest.report();
            let skipped = &report.skipped[file];
            let name = crate::discover::name_under_root(&report.root, &skipped.path);
            let text = format!("{name}  {}", skipped.reason);
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

/// What a model's row shows besides its id. A row short of room gives these up one at a time,
/// in [`WHOLE_ID`] and then [`SHORT_ID`] order, so what tells the user which model it is and
/// how sure the edge is (the id and the confidence) goes last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts {
    /// `high` and `medium` after the confidence, and the badges' long forms.
    words: bool,
    params: bool,
    /// The format and declared-parent badges, which the evidence panel repeats.
    metadata_badges: bool,
    /// The `(+4)` of a closed row; its `▶` still says there is more below.
    count: bool,
    /// The badges that say what the edge is (`adapter`, `quant`, `r=8`, ...).
    badges: bool,
    /// `guess` after a low confidence; the number's colour still says it.
    guess: bool,
}

const EVERY_PART: Parts = Parts {
    words: true,
    params: true,
    metadata_badges: true,
    count: true,
    badges: true,
    guess: true,
};

/// While the whole id fits: the parameter count goes first, then the long words give way to
/// their short forms (the number and its colour say what `high` says), then the metadata
/// badges go.
const WHOLE_ID: [Parts; 4] = [
    EVERY_PART,
    Parts {
        params: false,
        ..EVERY_PART
    },
    Parts {
        params: false,
        words: false,
        ..EVERY_PART
    },
    Parts {
        params: false,
        words: false,
        metadata_badges: false,
        ..EVERY_PART
    },
];

/// Once the id is shortened to [`MIN_ID_WIDTH`]: the count, then the edge's badges, then the
/// word `guess`. Below that, the id gives up the rest of its middle.
const SHORT_ID: [Parts; 4] = [
    WHOLE_ID[3],
    Parts {
        count: false,
        ..WHOLE_ID[3]
    },
    Parts {
        count: false,
        badges: false,
        ..WHOLE_ID[3]
    },
    Parts {
        count: false,
        badges: false,
        guess: false,
        ..WHOLE_ID[3]
    },
];

/// A model's row in `room` columns: the id (shortened in its middle when it must be), then the
/// closed count, parameter count, confidence and badges that fit beside it.
fn model_spans(
    label: &ModelLabel,
    count: Option<String>,
    room: usize,
    query: &str,
    dim: bool,
    theme: Theme,
) -> Vec<Span<'static>> {
    let id_width = label.id.chars().count();
    let shortest_id = MIN_ID_WIDTH.min(id_width);
    let tail_width = |parts: Parts| {
        let count_width = count
            .as_ref()
            .filter(|_| parts.count)
            .map_or(0, |count| count.chars().count());
        tail_spans(label, parts, theme)
            .iter()
            .map(Span::width)
            .sum::<usize>()
            + count_width
    };
    let barest = SHORT_ID[SHORT_ID.len() - 1];
    let parts = WHOLE_ID
        .iter()
        .map(|&parts| (parts, id_width))
        .chain(SHORT_ID.iter().map(|&parts| (parts, shortest_id)))
        .find(|&(parts, id)| id + tail_width(parts) <= room)
        .map_or(barest, |(parts, _)| parts);
    // The id takes all the room the other parts leave (at least its ellipsis).
    let id_room = room.saturating_sub(tail_width(parts)).max(1);
    let id = shorten_middle(&label.id, id_room);
    let id_style = if dim { theme.muted() } else { Style::new() };
    let mut spans = highlight(&id, query, id_style, theme);
    if let Some(count) = count.filter(|_| parts.count) {
        spans.push(Span::styled(count, theme.muted()));
    }
    spans.extend(tail_spans(label, parts, theme));
    spans
}

/// The parameter count, confidence and badges of a row, as far as `parts` keeps them.
fn tail_spans(label: &ModelLabel, parts: Parts, theme: Theme) -> Vec<Span<'static>> {
    let mut tail = Vec::new();
    if parts.params {
        tail.push(Span::styled(format!("  {}", label.params), theme.muted()));
    }
    match &label.confidence {
        Some((confidence, level, word)) if parts.words || (parts.guess && *level == Level::Low) => {
            tail.push(Span::styled(
                format!("  {confidence} {word}"),
                theme.level(*level),
            ))
        }
        Some((confidence, level, _)) => {
            tail.push(Span::styled(format!("  {confidence}"), theme.level(*level)))
        }
        None if label.root => tail.push(Span::styled("  root", theme.accent())),
        None => {}
    }
    let badges = label.badges.iter().filter(|_| parts.badges);
    let metadata = label
        .metadata_badges
        .iter()
        .filter(|_| parts.metadata_badges);
    for badge in badges.chain(metadata) {
        let text = if parts.words {
            badge.clone()
        } else {
            short_badge(badge)
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

#[cfg(test)]
mod tests {
    use super::{MIN_ID_WIDTH, model_spans};
    use crate::tui::forest::ModelLabel;
    use crate::tui::theme::{Level, Theme};

    fn label() -> ModelLabel {
        ModelLabel {
            id: "organisation-with-a-long-name/model-with-an-even-longer-name-v2".to_string(),
            params: "1.2B".to_string(),
            confidence: Some(("0.42".to_string(), Level::Low, "guess")),
            root: false,
            badges: vec!["adapter".to_string(), "low-rank r=8".to_string()],
            metadata_badges: vec!["gguf Q8_0".to_string(), "declared ✗".to_string()],
        }
    }

    /// Whether a row shows one of its parts.
    type Shows = fn(&str) -> bool;

    fn row(room: usize) -> String {
        let count = Some(" (+3)".to_string());
        model_spans(&label(), count, room, "", false, Theme::new(false))
            .iter()
            .map(|span| span.content.as_ref())
            .collect()
    }

    /// From a roomy row down to a cramped one, each part goes at one width and does not come
    /// back, in the order the parts matter least; the id and the confidence are always there.
    #[test]
    fn a_narrow_row_gives_up_its_parts_in_order() {
        let id = label().id;
        let id_width = id.chars().count();
        let parts: [(&str, Shows); 7] = [
            ("parameter count", |row| row.contains("1.2B")),
            ("long words", |row| row.contains("[low-rank r=8]")),
            ("metadata badges", |row| {
                row.contains("[gguf Q8_0]") || row.contains("[decl ✗]")
            }),
            ("whole id", |row| {
                row.contains("organisation-with-a-long-name/")
            }),
            ("closed count", |row| row.contains("(+3)")),
            ("edge badges", |row| {
                row.contains("[adapter]") || row.contains("[r=8]")
            }),
            ("word guess", |row| row.contains("guess")),
        ];
        let mut gone_below = vec![None; parts.len()];
        for room in (8..=140).rev() {
            let row = row(room);
            let width = row.chars().count();
            assert!(width <= room, "{width} columns in a room of {room}: {row}");
            assert!(
                row.contains("0.42"),
                "the confidence is cut at {room}: {row}"
            );
            assert_eq!(row.matches('[').count(), row.matches(']').count(), "{row}");
            let shown_id = row
                .split("  ")
                .next()
                .unwrap_or_default()
                .trim_end_matches(" (+3)");
            if row.contains("[adapter]") || row.contains("[r=8]") {
                assert!(
                    shown_id.chars().count() >= MIN_ID_WIDTH.min(id_width),
                    "{row}"
                );
            }
            for (index, (name, shown)) in parts.iter().enumerate() {
                match (shown(&row), gone_below[index]) {
                    (false, None) => gone_below[index] = Some(room),
                    (true, Some(gone)) => {
                        panic!("{name} came back at {room} after going at {gone}")
                    }
                    _ => {}
                }
            }
        }
        let gone: Vec<usize> = gone_below
            .iter()
            .zip(&parts)
            .map(|(room, (name, _))| room.unwrap_or_else(|| panic!("{name} never went")))
            .collect();
        assert!(
            gone.windows(2).all(|pair| pair[0] > pair[1]),
            "parts went in another order: {gone:?}"
        );
        assert_eq!(
            row(200),
            format!(
                "{id} (+3)  1.2B  0.42 guess [adapter] [low-rank r=8] [gguf Q8_0] [declared ✗]"
            )
        );
    }
}
