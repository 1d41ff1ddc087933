//! Fitting text into a pane's width. `shorten_middle` keeps the start and end of an id or path;
//! word wrapping for styled lines has a hanging indent: the evidence pane's `name  value` rows
//! wrap under their value, so a long reason or growth note is read whole instead of cut at the
//! border. ratatui's own wrapping cannot indent continuation rows, and the pane needs the wrapped
//! row count to scroll. `screen_rows` lays out a full screen around its wrapped banner.
//! `fit_message` shortens a one-line message by the middle of its path rather than its end.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

/// `line` broken at spaces into rows at most `width` columns wide; rows after the first start
/// with `indent` spaces. A word longer than a row is cut across rows.
pub fn wrap_line(line: &Line<'static>, width: usize, indent: usize) -> Vec<Line<'static>> {
    let width = width.max(indent + 8);
    if line.width() <= width {
        return vec![line.clone()];
    }
    let mut rows: Vec<Line<'static>> = Vec::new();
    let mut row: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for span in &line.spans {
        // Words keep their trailing space, so joining them gives back the text.
        for word in span.content.split_inclusive(' ') {
            let mut word = word.to_string();
            loop {
                let word_width = word.trim_end().width();
                if used + word_width <= width {
                    used += word.width();
                    row.push(Span::styled(word, span.style));
                    break;
                }
                if used > indent_of(&rows, indent) {
                    rows.push(Line::from(std::mem::take(&mut row)));
                    row.push(Span::raw(" ".repeat(indent)));
                    used = indent;
                    continue;
                }
                // Nothing but the indent on this row: the word itself is too long, cut it.
                let room = width - used;
                let (head, tail) = split_at_width(&word, room);
                row.push(Span::styled(head, span.style));
                rows.push(Line::from(std::mem::take(&mut row)));
                row.push(Span::raw(" ".repeat(indent)));
                used = indent;
                word = tail;
                if word.is_empty() {
                    break;
                }
            }
        }
    }
    if row.iter().any(|span| !span.content.trim().is_empty()) {
        rows.push(Line::from(row));
    }
    rows
}

/// A banner's rows: it wraps, up to three rows, rather than lose its end, which says what to do.
pub fn banner_lines(text: Option<&str>, width: u16, style: Style) -> Vec<Line<'static>> {
    text.iter()
        .flat_map(|text| {
            wrap_line(
                &Line::styled(text.to_string(), style),
                usize::from(width),
                0,
            )
        })
        .take(3)
        .collect()
}

/// The rows of a full screen: header, the banner (drawn here, and taking no row when there is
/// none), body, status line and key bar. The explorer and the first-run training screen share
/// them, so a banner reads the same on both.
pub fn screen_rows(frame: &mut Frame, area: Rect, banner: Option<&str>, style: Style) -> [Rect; 4] {
    let lines = banner_lines(banner, area.width, style);
    let banner_height = u16::try_from(lines.len()).unwrap_or(3);
    let [header, banner, body, status, bar] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_height),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    if !lines.is_empty() {
        frame.render_widget(Paragraph::new(lines), banner);
    }
    [header, body, status, bar]
}

/// Columns a row holds before any word: none on the first row, the indent after.
fn indent_of(rows: &[Line<'static>], indent: usize) -> usize {
    if rows.is_empty() { 0 } else { indent }
}

/// The longest prefix of `text` at most `columns` wide, and the rest.
fn split_at_width(text: &str, columns: usize) -> (String, String) {
    let mut used = 0;
    for (index, c) in text.char_indices() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > columns {
            return (text[..index].to_string(), text[index..].to_string());
        }
        used += w;
    }
    (text.to_string(), String::new())
}

/// `text` in `width` characters: whole if it fits, else its start, `…` and its end. An id keeps
/// its whole name (after the `/`) and as much of its organisation as fits; a path keeps its end.
pub fn shorten_middle(text: &str, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return text.to_string();
    }
    if width <= 1 {
        return "…".chars().take(width).collect();
    }
    let org = chars
        .iter()
        .position(|&c| c == '/')
        .map_or(0, |slash| slash + 1);
    // The name after the organisation tells models of one family apart, so it is kept whole
    // when it fits and the organisation gives up what does not; a name too long for the row
    // keeps its end.
    let name = chars.len() - org.saturating_sub(1);
    let head = if org > 0 && name + 2 <= width {
        width - 1 - name
    } else {
        0
    };
    let tail = width - 1 - head;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// A one-line message in `width` characters. Its longest word, as a rule the path or id it is
/// about, gives up its middle first ([`shorten_middle`]: a path keeps its end, the file name;
/// an id its name), so the words that say what happened stay whole; a message that still does
/// not fit keeps its start and its end, where the fix is usually said.
pub fn fit_message(text: &str, width: usize) -> String {
    let length = text.chars().count();
    if length <= width {
        return text.to_string();
    }
    let over = length - width;
    let longest = text
        .split(' ')
        .max_by_key(|word| word.chars().count())
        .unwrap_or_default();
    let longest_length = longest.chars().count();
    if longest_length >= over + MIN_WORD_KEPT {
        let start = text.find(longest).unwrap_or(0);
        let shortened = shorten_middle(longest, longest_length - over);
        return format!(
            "{}{shortened}{}",
            &text[..start],
            &text[start + longest.len()..]
        );
    }
    let chars: Vec<char> = text.chars().collect();
    let head = width.saturating_sub(1) / 2;
    let tail = width.saturating_sub(1 + head);
    let mut out: String = chars[..head].iter().collect();
    if width > 0 {
        out.push('…');
    }
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// The fewest characters a shortened word keeps (with its `…`) before the whole message is cut
/// instead: fewer say too little of a path to be worth keeping.
const MIN_WORD_KEPT: usize = 12;

#[cfg(test)]
mod tests {
    use super::{fit_message, shorten_middle, wrap_line};
    use ratatui::text::{Line, Span};

    fn text(rows: &[Line<'static>]) -> Vec<String> {
        rows.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn short_lines_are_left_alone() {
        let line = Line::from("role       root");
        assert_eq!(text(&wrap_line(&line, 40, 11)), ["role       root"]);
    }

    #[test]
    fn long_values_wrap_under_the_value() {
        let line = Line::from(vec![
            Span::raw("growth     "),
            Span::raw("-2.11 ± 0.17: the child lost more than its update added"),
        ]);
        let rows = text(&wrap_line(&line, 40, 11));
        assert_eq!(
            rows,
            [
                "growth     -2.11 ± 0.17: the child lost ",
                "           more than its update added"
            ]
        );
        assert!(rows.iter().all(|row| row.trim_end().chars().count() <= 40));
    }

    #[test]
    fn a_word_longer_than_a_row_is_cut_across_rows() {
        let line = Line::from(format!("path       {}", "x".repeat(50)));
        let rows = text(&wrap_line(&line, 30, 11));
        assert!(rows.iter().all(|row| row.chars().count() <= 30), "{rows:?}");
        assert_eq!(rows.concat().matches('x').count(), 50);
    }

    #[test]
    fn long_ids_keep_their_whole_name_and_what_fits_of_their_org() {
        assert_eq!(
            shorten_middle("mother-demo/full0-c3-int8", 40),
            "mother-demo/full0-c3-int8"
        );
        assert_eq!(
            shorten_middle("mother-demo/full0-c3-int8", 20),
            "mothe…/full0-c3-int8"
        );
        assert_eq!(
            shorten_middle("organisation-with-a-long-name/model", 12),
            "organ…/model"
        );
    }

    #[test]
    fn a_long_message_gives_up_the_middle_of_its_path() {
        let path = "/home/ada/.cache/huggingface/hub/models--acme--chat/snapshots/0123abcd/model.safetensors";
        let message = format!("copied the path to the clipboard: {path}");
        assert_eq!(fit_message(&message, 200), message);
        let fitted = fit_message(&message, 60);
        assert_eq!(fitted.chars().count(), 60);
        assert!(
            fitted.starts_with("copied the path to the clipboard: …"),
            "{fitted}"
        );
        assert!(fitted.ends_with("abcd/model.safetensors"), "{fitted}");
    }

    #[test]
    fn a_message_of_short_words_keeps_its_start_and_end() {
        let message = "the quick brown fox jumps over the lazy dog: press q to quit";
        let fitted = fit_message(message, 30);
        assert_eq!(fitted.chars().count(), 30);
        assert!(fitted.starts_with("the quick"), "{fitted}");
        assert!(fitted.contains('…'), "{fitted}");
        assert!(fitted.ends_with("press q to quit"), "{fitted}");
    }
}
