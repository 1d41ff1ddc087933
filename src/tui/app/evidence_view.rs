//! The edge-evidence pane: the lines of [`evidence::lines`] in a scrolling paragraph, with a hint
//! on the bottom border when there is more above or below.

use super::{App, Focus, evidence};
use crate::tui::forest::Forest;
use crate::tui::wrap::wrap_line;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Paragraph};

/// Columns of the field names in front of each evidence value (`distance   `).
const EVIDENCE_NAME_WIDTH: usize = 11;

impl App {
    pub(super) fn draw_evidence(
        &self,
        frame: &mut Frame,
        area: Rect,
        forest: &Forest,
        block: Block<'static>,
    ) {
        let theme = self.config.theme;
        let inner = block.inner(area);
        // Rows wrap under their value (the names take 11 columns), so nothing is cut at the
        // border; the scroll counts the wrapped rows.
        let lines: Vec<_> = evidence::lines(forest, self.selected(), theme)
            .iter()
            .flat_map(|line| wrap_line(line, usize::from(inner.width), EVIDENCE_NAME_WIDTH))
            .collect();
        let offset = self.evidence_scroll.fit(lines.len(), inner.height);
        // Which way there is more, and Tab to reach it when another pane has the keys.
        let hint = self.evidence_scroll.more_hint().map(|more| {
            if self.focus == Focus::Evidence {
                format!(" {more} ")
            } else {
                format!(" Tab, {more} ")
            }
        });
        let block = match hint {
            Some(hint) => block.title_bottom(Span::styled(hint, theme.muted())),
            None => block,
        };
        frame.render_widget(Paragraph::new(lines).block(block).scroll((offset, 0)), area);
    }
}
