//! The first-run screen: the demo family being trained before the explorer opens on it. A bar for
//! the models trained and one for the repos written, the elapsed time and an estimate of what is
//! left. Its state is fed by the trainer's progress messages and the clock; drawing changes
//! nothing.

use super::theme::Theme;
use crate::demo::DemoProgress;
use crate::units as format;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The keys of this screen, as the bar shows them.
const KEYS: [(&str, &str); 2] = [("q", "cancel"), ("Ctrl-c", "cancel")];

/// Whether `key` asks to stop training (`q` or `Ctrl-c`; `Esc` never quits, as elsewhere).
pub fn is_cancel(key: &KeyEvent) -> bool {
    if key.kind != KeyEventKind::Press {
        return false;
    }
    match key.code {
        KeyCode::Char('q') => true,
        KeyCode::Char('c') => key.modifiers.contains(KeyModifiers::CONTROL),
        _ => false,
    }
}

/// How far the training of the demo family has come.
pub struct TrainingProgress {
    /// Where the family is written, shown so the user knows what is kept.
    dir: PathBuf,
    /// Why the demo is shown (the first-run hint), on top.
    banner: Option<String>,
    started: Instant,
    now: Instant,
    /// Models trained, of how many; unknown until the trainer first reports.
    trained: Option<(usize, usize)>,
    last_model: Option<String>,
    /// Repos written, of how many, once writing has started.
    written: Option<(usize, usize)>,
    writing_started: Option<Instant>,
    cancelling: bool,
}

impl TrainingProgress {
    pub fn new(dir: PathBuf, banner: Option<String>, started: Instant) -> Self {
        Self {
            dir,
            banner,
            started,
            now: started,
            trained: None,
            last_model: None,
            written: None,
            writing_started: None,
            cancelling: false,
        }
    }

    pub fn tick(&mut self, now: Instant) {
        self.now = now.max(self.started);
    }

    pub fn apply(&mut self, event: DemoProgress) {
        match event {
            DemoProgress::Training { done, total, model } => {
                self.trained = Some((done, total));
                self.last_model = Some(model);
            }
            DemoProgress::Writing { done, total } => {
                self.writing_started.get_or_insert(self.now);
                self.written = Some((done, total));
            }
        }
    }

    /// Shows that the user asked to stop, for the last frame before the terminal is restored.
    pub fn cancel(&mut self) {
        self.cancelling = true;
    }

    pub fn elapsed(&self) -> Duration {
        self.now.duration_since(self.started)
    }

    /// What is left, from the pace so far: models trained per second while training (the
    /// models of a family cost about the same), repos written per second while writing.
    pub fn eta(&self) -> Option<Duration> {
        let left = |done: usize, total: usize, since: Instant| {
            let seconds = self.now.duration_since(since).as_secs_f64();
            (done > 0 && seconds > 0.0)
                .then(|| Duration::from_secs_f64(seconds / done as f64 * (total - done) as f64))
        };
        match (self.written, self.trained) {
            (Some((done, total)), _) => left(done, total.max(done), self.writing_started?),
            (None, Some((done, total))) => left(done, total.max(done), self.started),
            (None, None) => None,
        }
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let [header, body, status, bar] =
            crate::tui::wrap::screen_rows(frame, area, self.banner.as_deref(), theme.accent());
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(" mother ", theme.title()),
                Span::raw(" training the demo family before the explorer opens"),
            ])),
            header,
        );
        self.draw_body(frame, body, theme);
        let message = if self.cancelling {
            Span::styled(
                "cancelling: the family is left incomplete and trained again next time",
                theme.accent(),
            )
        } else {
            Span::styled(
                "trained once and kept: the next start opens the explorer at once",
                theme.muted(),
            )
        };
        frame.render_widget(Paragraph::new(Line::from(message)), status);
        let mut keys = Vec::new();
        for (key, what) in KEYS {
            keys.push(Span::styled(key, theme.key()));
            keys.push(Span::raw(format!(" {what}  ")));
        }
        frame.render_widget(Paragraph::new(Line::from(keys)), bar);
    }

    fn draw_body(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let block = Block::bordered().title(Span::styled(" Demo family ", theme.title()));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let about_text = format!(
            "Small models are trained here, in Rust, from each other, so that the explorer has a \
             family to show. They are written as a hub cache in {}",
            self.dir.display()
        );
        // As many rows as the text takes at this width, so the folder is never cut off.
        let about_rows = crate::tui::wrap::wrap_line(
            &Line::raw(about_text.clone()),
            usize::from(inner.width),
            0,
        )
        .len();
        let [about, _, training, writing, _, clock, last] = Layout::vertical([
            Constraint::Length(u16::try_from(about_rows).unwrap_or(4).min(4)),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(about_text).wrap(Wrap { trim: true }), about);
        self.draw_gauge(frame, training, "trained", self.trained, theme);
        self.draw_gauge(frame, writing, "written", self.written, theme);
        let mut times = vec![Span::raw(format!(
            "elapsed {}",
            format::clock(self.elapsed())
        ))];
        match self.eta() {
            Some(eta) => times.push(Span::raw(format!("   ETA {}", format::clock(eta)))),
            None => times.push(Span::styled("   ETA after the first model", theme.muted())),
        }
        frame.render_widget(Paragraph::new(Line::from(times)), clock);
        if let Some(model) = &self.last_model {
            frame.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled("last     ", theme.muted()),
                    Span::raw(model.as_str()),
                ])),
                last,
            );
        }
    }

    fn draw_gauge(
        &self,
        frame: &mut Frame,
        area: Rect,
        what: &str,
        count: Option<(usize, usize)>,
        theme: Theme,
    ) {
        let [label, gauge] =
            Layout::horizontal([Constraint::Length(24), Constraint::Fill(1)]).areas(area);
        let (text, ratio) = match count {
            Some((done, total)) => (
                format!("{what:<8} {done:>4} / {total:<4}"),
                if total == 0 {
                    1.0
                } else {
                    (done as f64 / total as f64).clamp(0.0, 1.0)
                },
            ),
            None => (format!("{what:<8}    … / …"), 0.0),
        };
        frame.render_widget(Paragraph::new(text), label);
        frame.render_widget(super::scan_view::progress_gauge(ratio, theme), gauge);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_follows_the_pace_of_training_then_of_writing() {
        let start = Instant::now();
        let mut view = TrainingProgress::new(PathBuf::from("/demo"), None, start);
        assert_eq!(view.eta(), None);
        view.tick(start + Duration::from_secs(10));
        view.apply(DemoProgress::Training {
            done: 10,
            total: 40,
            model: "m".into(),
        });
        assert_eq!(view.eta(), Some(Duration::from_secs(30)));
        view.apply(DemoProgress::Writing { done: 0, total: 8 });
        assert_eq!(view.eta(), None);
        view.tick(start + Duration::from_secs(12));
        view.apply(DemoProgress::Writing { done: 4, total: 8 });
        assert_eq!(view.eta(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn only_q_and_ctrl_c_cancel() {
        let press = |code, modifiers| KeyEvent::new(code, modifiers);
        assert!(is_cancel(&press(KeyCode::Char('q'), KeyModifiers::NONE)));
        assert!(is_cancel(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)));
        assert!(!is_cancel(&press(KeyCode::Char('c'), KeyModifiers::NONE)));
        assert!(!is_cancel(&press(KeyCode::Esc, KeyModifiers::NONE)));
    }
}
