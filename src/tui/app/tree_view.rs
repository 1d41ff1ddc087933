//! The forest pane: the tree widget over the recovered forest.

use super::{App, Focus};
use crate::tui::forest::Forest;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::symbols::scrollbar;
use ratatui::widgets::{Paragraph, Scrollbar, ScrollbarOrientation};
use tui_tree_widget::Tree;

impl App {
    pub(super) fn draw_tree(&self, frame: &mut Frame, area: Rect, forest: &Forest) {
        let theme = self.config.theme;
        let block = self.pane_block(Focus::Tree);
        let Ok(tree) = Tree::new(forest.items()) else {
            frame.render_widget(
                Paragraph::new("the forest has two rows with one id").block(block),
                area,
            );
            return;
        };
        let tree = tree
            .block(block)
            .highlight_style(theme.selected())
            .experimental_scrollbar(Some(
                Scrollbar::new(ScrollbarOrientation::VerticalRight)
                    .symbols(scrollbar::VERTICAL)
                    .begin_symbol(None)
                    .end_symbol(None),
            ));
        frame.render_stateful_widget(tree, area, &mut self.tree_state.borrow_mut());
    }
}
