//! The tree pane's state: which rows are open, which one is selected, the filter and sort, and
//! the scroll offset the draw keeps around the selection. Moves are computed over the rows as
//! they are open now, not as last drawn, so keys work the same whether or not a frame was drawn.

use crate::tui::forest::{Forest, NodeId, Row, View};
use ratatui::layout::Rect;
use std::cell::Cell;
use std::collections::HashSet;

#[derive(Debug, Default)]
pub struct TreeNav {
    pub open: HashSet<NodeId>,
    pub selected: Option<NodeId>,
    pub view: View,
    /// The first row drawn. The draw moves it so the selection stays in view, also after a
    /// resize, so it lives in a `Cell`.
    pub offset: Cell<usize>,
    /// Rows the pane showed at the last draw; paging moves by it.
    pub height: Cell<usize>,
    /// Where the rows were drawn at the last draw, for mouse clicks.
    pub area: Cell<Rect>,
}

impl TreeNav {
    pub fn rows(&self, forest: &Forest) -> Vec<Row> {
        forest.rows(self.view, &self.open)
    }

    fn index(&self, rows: &[Row]) -> Option<usize> {
        rows.iter().position(|row| Some(row.node) == self.selected)
    }

    /// Rows in a page, as last drawn (at least one).
    pub fn page(&self) -> usize {
        self.height.get().max(1)
    }

    /// Moves by `delta` rows, stopping at both ends. Returns whether the selection changed.
    pub fn move_by(&mut self, forest: &Forest, delta: isize) -> bool {
        let rows = self.rows(forest);
        if rows.is_empty() {
            return false;
        }
        let next = match self.index(&rows) {
            Some(index) => index.saturating_add_signed(delta).min(rows.len() - 1),
            None => 0,
        };
        self.select(rows[next].node)
    }

    pub fn move_to_end(&mut self, forest: &Forest, first: bool) -> bool {
        let rows = self.rows(forest);
        let row = if first { rows.first() } else { rows.last() };
        match row {
            Some(row) => self.select(row.node),
            None => false,
        }
    }

    fn select(&mut self, node: NodeId) -> bool {
        let changed = self.selected != Some(node);
        self.selected = Some(node);
        changed
    }

    /// Selects a row, opening every row above it so it is visible.
    pub fn reveal(&mut self, forest: &Forest, node: NodeId) {
        let path = forest.path(node);
        for above in &path[..path.len().saturating_sub(1)] {
            self.open.insert(*above);
        }
        self.selected = Some(node);
    }

    /// Keeps the selection on a shown row after the rows changed (a filter, a fold): the
    /// nearest row above it that is still shown, else the first row.
    pub fn keep_selection_shown(&mut self, forest: &Forest) {
        let rows = self.rows(forest);
        if self.index(&rows).is_some() {
            return;
        }
        let shown: HashSet<NodeId> = rows.iter().map(|row| row.node).collect();
        let above = self.selected.and_then(|node| {
            forest
                .path(node)
                .into_iter()
                .rev()
                .find(|row| shown.contains(row))
        });
        self.selected = above.or_else(|| rows.first().map(|row| row.node));
    }

    /// The offset to draw `rows` from in a pane `height` rows high, keeping the selection in
    /// view; remembered for the next draw, paging and clicks.
    pub fn fit(&self, rows: &[Row], area: Rect) -> usize {
        let height = usize::from(area.height);
        self.height.set(height);
        self.area.set(area);
        let mut offset = self.offset.get();
        if let Some(index) = self.index(rows) {
            if index < offset {
                offset = index;
            } else if index >= offset + height {
                offset = index + 1 - height.max(1);
            }
        }
        offset = offset.min(rows.len().saturating_sub(height));
        self.offset.set(offset);
        offset
    }

    /// The row drawn at a screen position at the last draw.
    pub fn row_at(&self, forest: &Forest, column: u16, row: u16) -> Option<NodeId> {
        let area = self.area.get();
        let inside = column >= area.x
            && column < area.x + area.width
            && row >= area.y
            && row < area.y + area.height;
        if !inside {
            return None;
        }
        let index = self.offset.get() + usize::from(row - area.y);
        self.rows(forest).get(index).map(|row| row.node)
    }
}
