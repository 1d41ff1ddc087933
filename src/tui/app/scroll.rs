//! One vertical scroll offset for a pane whose content can be taller than the pane: the keys move
//! the offset, and the draw learns how far it may go. Drawing takes `&self`, so the limit it
//! learns lives in a `Cell`; the offset itself only changes on input.

use std::cell::Cell;

#[derive(Debug, Default)]
pub struct VerticalScroll {
    offset: u16,
    /// The largest useful offset, as learnt at the last draw.
    max: Cell<u16>,
    /// The pane's height at the last draw, for paging.
    viewport: Cell<u16>,
}

impl VerticalScroll {
    pub fn new() -> Self {
        Self::default()
    }

    /// The offset to draw with, never past the end learnt at the last draw.
    pub fn offset(&self) -> u16 {
        self.offset.min(self.max.get())
    }

    /// How far the content reaches past the pane, learnt at the last draw.
    pub fn max(&self) -> u16 {
        self.max.get()
    }

    /// How many rows the pane showed at the last draw.
    pub fn viewport(&self) -> u16 {
        self.viewport.get()
    }

    /// Whether rows lie above the pane at the offset it is drawn with.
    pub fn more_above(&self) -> bool {
        self.offset() > 0
    }

    /// Whether rows lie below the pane at the offset it is drawn with.
    pub fn more_below(&self) -> bool {
        self.offset() < self.max.get()
    }

    /// What the pane's border says about the rows out of view, after the draw's [`fit`]:
    /// which way there is more to see, or nothing when all of it is shown.
    ///
    /// [`fit`]: VerticalScroll::fit
    pub fn more_hint(&self) -> Option<&'static str> {
        match (self.more_above(), self.more_below()) {
            (false, false) => None,
            (false, true) => Some("↓ for more"),
            (true, false) => Some("↑ for more above"),
            (true, true) => Some("↑ ↓ for more"),
        }
    }

    pub fn scroll_by(&mut self, delta: i32) {
        let moved = i32::from(self.offset()).saturating_add(delta);
        self.offset = u16::try_from(moved.max(0))
            .unwrap_or(u16::MAX)
            .min(self.max.get());
    }

    pub fn to_top(&mut self) {
        self.offset = 0;
    }

    pub fn to_bottom(&mut self) {
        self.offset = self.max.get();
    }

    /// Called by the draw: `content` rows shown in a pane `viewport` rows high. Returns the
    /// offset to draw with.
    pub fn fit(&self, content: usize, viewport: u16) -> u16 {
        let content = u16::try_from(content).unwrap_or(u16::MAX);
        self.viewport.set(viewport);
        self.max.set(content.saturating_sub(viewport));
        self.offset()
    }
}

#[cfg(test)]
mod tests {
    use super::VerticalScroll;

    #[test]
    fn stops_at_both_ends() {
        let mut scroll = VerticalScroll::new();
        assert_eq!(scroll.fit(30, 10), 0);
        scroll.scroll_by(-5);
        assert_eq!(scroll.offset(), 0);
        scroll.scroll_by(100);
        assert_eq!(scroll.offset(), 20);
        scroll.to_top();
        scroll.scroll_by(3);
        assert_eq!(scroll.offset(), 3);
        scroll.to_bottom();
        assert_eq!(scroll.offset(), 20);
    }

    #[test]
    fn a_taller_pane_pulls_the_offset_back() {
        let mut scroll = VerticalScroll::new();
        scroll.fit(30, 10);
        scroll.to_bottom();
        assert_eq!(scroll.fit(30, 25), 5);
        assert_eq!(scroll.fit(5, 25), 0);
        assert_eq!(scroll.more_hint(), None);
    }

    #[test]
    fn the_hint_says_which_way_there_is_more() {
        let mut scroll = VerticalScroll::new();
        scroll.fit(30, 10);
        assert!(!scroll.more_above() && scroll.more_below());
        assert_eq!(scroll.more_hint(), Some("↓ for more"));
        scroll.scroll_by(5);
        assert_eq!(scroll.more_hint(), Some("↑ ↓ for more"));
        scroll.to_bottom();
        assert!(scroll.more_above() && !scroll.more_below());
        assert_eq!(scroll.more_hint(), Some("↑ for more above"));
        // A taller pane at the same offset: nothing left below, nothing above either.
        scroll.fit(30, 30);
        assert_eq!(scroll.more_hint(), None);
    }
}
