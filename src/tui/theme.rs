//! Colours, and their absence: with `NO_COLOR` set every style drops its colour and keeps only
//! bold / reversed, because the words on screen (badges, "high"/"low") already carry the meaning.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    color: bool,
}

pub use crate::lineage::Level;

impl Theme {
    pub fn new(color: bool) -> Self {
        Self { color }
    }

    /// Colour unless `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
    pub fn from_env() -> Self {
        Self::new(std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()))
    }

    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub fn level(self, level: Level) -> Style {
        match level {
            Level::High => self.fg(Color::Green),
            Level::Medium => self.fg(Color::Yellow),
            Level::Low => self.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    pub fn accent(self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn muted(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    pub fn badge(self) -> Style {
        self.fg(Color::Magenta)
    }

    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn key(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// The part of an id a search matched: underlined, so it reads without colour too.
    pub fn matched(self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    /// The selected row: reversed works on every terminal, coloured or not.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn focused_border(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// The parent's line in charts.
    pub fn parent_series(self) -> Style {
        self.fg(Color::Yellow)
    }

    /// The child's (or the selected model's) line in charts.
    pub fn child_series(self) -> Style {
        self.fg(Color::Cyan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_keeps_modifiers_and_drops_every_colour() {
        let plain = Theme::new(false);
        let styles = [
            plain.level(Level::High),
            plain.level(Level::Medium),
            plain.level(Level::Low),
            plain.accent(),
            plain.muted(),
            plain.badge(),
            plain.error(),
            plain.key(),
            plain.matched(),
            plain.selected(),
            plain.focused_border(),
            plain.parent_series(),
            plain.child_series(),
        ];
        for style in styles {
            assert_eq!((style.fg, style.bg), (None, None), "{style:?}");
        }
        assert!(plain.selected().add_modifier.contains(Modifier::REVERSED));
        assert!(Theme::new(true).level(Level::High).fg.is_some());
    }
}
