//! The screen layout: header, body panes, status line and key bar.

use super::{App, Focus, MIN_HEIGHT, MIN_WIDTH, Overlay};
use crate::tui::forest::{Filter, Forest};
use crate::tui::help;
use crate::tui::wrap::fit_message;
use crate::units::counted;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

impl App {
    /// Renders the whole screen from the state.
    pub fn draw(&self, frame: &mut Frame) {
        let theme = self.config.theme;
        let screen = frame.area();
        self.screen.set(Some((screen.width, screen.height)));
        if screen.width < MIN_WIDTH || screen.height < MIN_HEIGHT {
            return self.draw_too_small(frame, screen);
        }
        let [header, body, status, bar] = crate::tui::wrap::screen_rows(
            frame,
            frame.area(),
            self.config.banner.as_deref(),
            theme.accent(),
        );
        frame.render_widget(Paragraph::new(self.header_line(header.width)), header);
        match &self.forest {
            None => {
                // Block border and column heading take three rows.
                self.scan_rows_visible
                    .set(usize::from(body.height.saturating_sub(3)).max(1));
                self.scan.draw(frame, body, &self.config.root, theme);
            }
            Some(forest) => self.draw_forest(frame, body, forest),
        }
        frame.render_widget(
            Paragraph::new(self.status_line(usize::from(status.width))),
            status,
        );
        frame.render_widget(
            Paragraph::new(help::bar(self.context(), theme, bar.width)),
            bar,
        );
        if let Overlay::Help = self.overlay {
            help::draw(frame, body, &self.help_scroll, theme);
        }
    }

    /// What a screen below the smallest layout shows: what size is needed and the way out,
    /// wrapped to the screen's width, in shorter words when the long ones do not fit its height.
    fn draw_too_small(&self, frame: &mut Frame, screen: Rect) {
        let style = self.config.theme.error();
        let (width, height) = (screen.width, screen.height);
        let messages = [
            format!(
                "terminal too small (need {MIN_WIDTH}x{MIN_HEIGHT}, have {width}x{height}): \
                 enlarge the window, or q to quit"
            ),
            format!("need {MIN_WIDTH}x{MIN_HEIGHT}, have {width}x{height}: enlarge, or q quits"),
        ];
        let wrapped = |text: &String| -> Vec<Line<'static>> {
            crate::tui::wrap::wrap_line(&Line::raw(text.clone()), usize::from(width), 0)
                .iter()
                .map(|line| Line::styled(line.to_string().trim_end().to_string(), style))
                .collect()
        };
        let lines = messages
            .iter()
            .map(wrapped)
            .find(|lines| lines.len() <= usize::from(height))
            .unwrap_or_else(|| wrapped(&messages[messages.len() - 1]));
        let rows = u16::try_from(lines.len()).unwrap_or(u16::MAX);
        let [_, middle, _] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(rows),
            Constraint::Fill(1),
        ])
        .areas(screen);
        frame.render_widget(Paragraph::new(lines).centered(), middle);
    }

    /// The header, fitted to `width`: counts in shorter words first, then the root path
    /// shortened in its middle; words are never cut.
    fn header_line(&self, width: u16) -> Line<'static> {
        let theme = self.config.theme;
        let width = usize::from(width);
        let title = " mother ";
        let mut spans = vec![Span::styled(title, theme.selected()), Span::raw(" ")];
        let (root, counts) = match &self.forest {
            None => {
                let progress = self.scan.header(theme);
                let root = format!("scanning {}", self.config.root.display());
                let room = width.saturating_sub(title.len() + 1 + 2 + progress.width());
                spans.push(Span::styled(shorten_path(&root, room), theme.muted()));
                spans.push(Span::raw("  "));
                spans.extend(progress.spans);
                return Line::from(spans);
            }
            Some(forest) => {
                let report = forest.report();
                // With bundles alone the scan is named by its first bundle; the header names
                // them all, as the text output does.
                let bundles_only = report
                    .bundles
                    .first()
                    .is_some_and(|b| b.path == report.root);
                let root = if bundles_only {
                    crate::export::bundle_list(report)
                } else {
                    report.root.display().to_string()
                };
                (root, header_counts(forest))
            }
        };
        let filter = self.forest.as_ref().and_then(|forest| {
            (self.tree.view.filter != Filter::All)
                .then(|| format!("  filter: {}", self.tree.view.filter.describe(forest)))
        });
        let filter_width = filter.as_ref().map_or(0, |text| text.chars().count());
        let fixed = title.len() + 1 + 2 + filter_width;
        // The fullest counts that leave the whole root path; failing that, the fullest that
        // leave a useful part of it. Zero counts go before any of the path does.
        let fits =
            |text: &String, root_width: usize| fixed + text.chars().count() + root_width <= width;
        let counts = counts
            .iter()
            .find(|text| fits(text, root.chars().count()))
            .or_else(|| {
                counts
                    .iter()
                    .find(|text| fits(text, MIN_ROOT_WIDTH.min(root.chars().count())))
            })
            .unwrap_or(&counts[counts.len() - 1])
            .clone();
        let room = width.saturating_sub(fixed + counts.chars().count());
        if room >= MIN_ROOT_WIDTH.min(root.chars().count()) {
            spans.push(Span::styled(shorten_path(&root, room), theme.muted()));
            spans.push(Span::raw("  "));
        }
        spans.push(Span::raw(counts));
        if let Some(filter) = filter {
            spans.push(Span::styled(filter, theme.key()));
        }
        Line::from(spans)
    }

    /// The status line in `width` columns: a prompt, the overwrite question or the message. What
    /// does not fit gives up the middle of its path, never the question or the fix at its end.
    fn status_line(&self, width: usize) -> Line<'static> {
        let theme = self.config.theme;
        match &self.overlay {
            Overlay::Search { query, .. } => {
                let count = self
                    .forest
                    .as_ref()
                    .map_or(0, |forest| forest.search(query, self.tree.view).len());
                let note = match (query.is_empty(), count) {
                    (true, _) => "type part of a model id".to_string(),
                    (false, 0) => "no match".to_string(),
                    (false, 1) => "1 match".to_string(),
                    (false, count) => format!("{count} matches"),
                };
                Line::from(vec![
                    Span::styled("/", theme.key()),
                    Span::raw(format!("{query}▏")),
                    Span::styled(format!("  {note}"), theme.muted()),
                ])
            }
            Overlay::Export { input, problem } => {
                let label = "Export DOT to: ";
                let typed = format!("{input}▏");
                let room = width.saturating_sub(label.len() + typed.chars().count());
                let note = match problem {
                    Some(problem) => {
                        Span::styled(fit_message(&format!("  {problem}"), room), theme.error())
                    }
                    None => Span::styled(
                        fit_message(&format!("  in {}", self.config.export_dir.display()), room),
                        theme.muted(),
                    ),
                };
                Line::from(vec![
                    Span::styled(label, theme.key()),
                    Span::raw(typed),
                    note,
                ])
            }
            Overlay::ConfirmOverwrite { path } => {
                let question = "Overwrite it? y / n";
                let exists = fit_message(
                    &format!("{} exists. ", path.display()),
                    width.saturating_sub(question.len()),
                );
                Line::from(vec![
                    Span::styled(exists, theme.error()),
                    Span::styled(question, theme.key()),
                ])
            }
            Overlay::None | Overlay::Help => match (self.status(), &self.status) {
                (Some(text), Some(status)) if status.error => {
                    Line::styled(fit_message(text, width), theme.error())
                }
                (Some(text), _) => Line::raw(fit_message(text, width)),
                (None, _) => Line::raw(""),
            },
        }
    }

    pub(super) fn pane_block(&self, pane: Focus) -> Block<'static> {
        let theme = self.config.theme;
        let focused = self.focus == pane;
        let title = if focused {
            format!(" {} ◆ ", pane.title())
        } else {
            format!(" {} ", pane.title())
        };
        let block = Block::bordered().title(Span::styled(title, theme.title()));
        if focused {
            block.border_style(theme.focused_border())
        } else {
            block.border_style(theme.muted())
        }
    }

    fn draw_forest(&self, frame: &mut Frame, area: Rect, forest: &Forest) {
        if let Some(scroll) = &self.tensor_view {
            return self.draw_tensor_view(frame, area, forest, scroll);
        }
        let theme = self.config.theme;
        let wide = area.width >= 100 && area.height >= 18;
        if !wide {
            // Narrow: the tree on top and one panel below, the focused one (evidence when the
            // tree has focus); its title lists the others so Tab's cycle is visible.
            let [tree, panel] =
                Layout::vertical([Constraint::Percentage(50), Constraint::Fill(1)]).areas(area);
            self.draw_tree(frame, tree, forest);
            let shown = if self.focus == Focus::Tree {
                Focus::Evidence
            } else {
                self.focus
            };
            let hint = Line::styled(" Tab: next panel ", theme.muted()).right_aligned();
            let block = self.pane_block(shown).title(hint);
            return self.draw_pane_in(frame, panel, forest, shown, block);
        }
        let [tree, side] =
            Layout::horizontal([Constraint::Percentage(46), Constraint::Fill(1)]).areas(area);
        self.draw_tree(frame, tree, forest);
        // The evidence gets what its fields need on a tall screen and under half the column
        // on a short one; the charts get the rest, which keeps the per-layer chart at least
        // a few matrices high even at 100x24.
        let evidence_height = (side.height * 45 / 100).clamp(8, 16);
        let [evidence, charts] =
            Layout::vertical([Constraint::Length(evidence_height), Constraint::Fill(1)])
                .areas(side);
        self.draw_pane(frame, evidence, forest, Focus::Evidence);
        if charts.height >= STACKED_CHARTS {
            let [layers, lineage] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(LINEAGE_HEIGHT)])
                    .areas(charts);
            self.draw_pane(frame, layers, forest, Focus::Layers);
            self.draw_pane(frame, lineage, forest, Focus::Lineage);
        } else {
            // Too short for both: the charts share the space as tabs, the lineage shown while
            // it has focus.
            let (shown, other) = if self.focus == Focus::Lineage {
                (Focus::Lineage, "layers")
            } else {
                (Focus::Layers, "lineage")
            };
            let hint = Line::styled(format!(" Tab: {other} "), theme.muted()).right_aligned();
            let block = self.pane_block(shown).title(hint);
            self.draw_pane_in(frame, charts, forest, shown, block);
        }
    }

    fn draw_pane(&self, frame: &mut Frame, area: Rect, forest: &Forest, pane: Focus) {
        let block = self.pane_block(pane);
        self.draw_pane_in(frame, area, forest, pane, block);
    }

    fn draw_pane_in(
        &self,
        frame: &mut Frame,
        area: Rect,
        forest: &Forest,
        pane: Focus,
        block: Block<'static>,
    ) {
        let theme = self.config.theme;
        let model = self.selected_model();
        match pane {
            Focus::Tree => self.draw_tree(frame, area, forest),
            Focus::Evidence => self.draw_evidence(frame, area, forest, block),
            Focus::Layers => {
                crate::tui::charts::draw_layers(frame, area, forest, model, block, theme)
            }
            Focus::Lineage => {
                crate::tui::charts::draw_lineage(frame, area, forest, model, block, theme)
            }
        }
    }
}

/// The fewest characters of the root path worth showing.
const MIN_ROOT_WIDTH: usize = 12;

/// The forest's counts, from the fullest wording to the shortest.
fn header_counts(forest: &Forest) -> [String; 3] {
    let report = forest.report();
    let models = counted(report.models.len(), "model", "models");
    let mut trees = counted(forest.tree_count(), "tree", "trees");
    if forest.place_count() > 1 {
        trees.push_str(&format!(" in {} folders", forest.place_count()));
    }
    let (unrelated, skipped, duplicates) = (
        forest.unrelated_count(),
        report.skipped.len(),
        report.recovery.duplicates.len(),
    );
    let merges = report.recovery.merges.len();
    let mut full = format!(
        "{models} · {trees} · {unrelated} unrelated · {skipped} skipped · {}",
        counted(duplicates, "duplicate", "duplicates")
    );
    // Merges are rare, so their count shows only when there are some.
    if merges > 0 {
        full.push_str(&format!(" · {}", counted(merges, "merge", "merges")));
    }
    // Shorter: the zero counts say nothing, so they go.
    let mut parts = vec![models.clone(), trees.clone()];
    for (count, word) in [(unrelated, "unrelated"), (skipped, "skipped")] {
        if count > 0 {
            parts.push(format!("{count} {word}"));
        }
    }
    if duplicates > 0 {
        parts.push(counted(duplicates, "duplicate", "duplicates"));
    }
    if merges > 0 {
        parts.push(counted(merges, "merge", "merges"));
    }
    let compact = parts.join(" · ");
    // Shortest: abbreviated words.
    let mut short = vec![
        format!("{} mod", report.models.len()),
        format!("{} tr", forest.tree_count()),
    ];
    for (count, word) in [
        (unrelated, "unrel"),
        (skipped, "skip"),
        (duplicates, "dup"),
        (merges, "merge"),
    ] {
        if count > 0 {
            short.push(format!("{count} {word}"));
        }
    }
    [full, compact, short.join(" · ")]
}

/// A path in `width` characters: whole, or with its middle left out (`/home/…/hub`).
fn shorten_path(path: &str, width: usize) -> String {
    crate::tui::wrap::shorten_middle(path, width)
}

/// Below this many rows the two charts take turns in one pane.
const STACKED_CHARTS: u16 = 20;
/// Rows of the lineage chart when both charts are shown.
const LINEAGE_HEIGHT: u16 = 9;
