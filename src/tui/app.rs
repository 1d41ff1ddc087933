//! The explorer's state and its two pure halves: [`App::handle`] changes the state for one event
//! and says what the caller must do; [`App::draw`] renders the state and changes nothing the user
//! can see. No terminal is needed to build or drive an `App`, so tests do both.

use super::evidence;
use super::export_file::{ExportFileError, write_export};
use super::forest::{Forest, NodeId};
use super::help;
use super::keys::{self, Command, Context};
use super::scan_view::ScanProgress;
use super::theme::Theme;
use crate::engine::{ScanEvent, ScanReport};
use crossterm::event::{
    KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::symbols::scrollbar;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Scrollbar, ScrollbarOrientation};
use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::time::Instant;
use tui_tree_widget::{Tree, TreeState};

/// File name the export prompt starts with.
pub const DEFAULT_EXPORT_NAME: &str = "mother-tree.dot";

/// What the explorer is started with.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The scanned root, shown in the header.
    pub root: PathBuf,
    /// A line shown on top (why this root, for example the demo fallback).
    pub banner: Option<String>,
    pub theme: Theme,
    /// When the first scan started.
    pub started: Instant,
    /// Relative export file names are resolved against this folder.
    pub export_dir: PathBuf,
}

/// Everything that can happen to the explorer, from the terminal, the clock or the engine.
#[derive(Debug, Clone)]
pub enum AppEvent {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The clock moved on (redraws throughput, elapsed time and ETA).
    Tick(Instant),
    Scan(ScanEvent),
    /// The scan thread ended with an error instead of a report.
    ScanFailed(String),
}

/// What the caller of [`App::handle`] must do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Continue,
    /// Cancel a running scan, wait for it, restore the terminal and leave.
    Quit,
    /// Start a new scan of the same root (the app has already reset its scan view).
    Rescan,
}

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Tree,
    Evidence,
    Layers,
    Lineage,
}

impl Focus {
    const ORDER: [Focus; 4] = [Focus::Tree, Focus::Evidence, Focus::Layers, Focus::Lineage];

    fn step(self, forward: bool) -> Self {
        let index = Self::ORDER
            .iter()
            .position(|&focus| focus == self)
            .unwrap_or(0);
        let count = Self::ORDER.len();
        let next = if forward {
            (index + 1) % count
        } else {
            (index + count - 1) % count
        };
        Self::ORDER[next]
    }

    fn title(self) -> &'static str {
        match self {
            Focus::Tree => "Forest",
            Focus::Evidence => "Edge evidence",
            Focus::Layers => "Kurtosis per layer",
            Focus::Lineage => "Kurtosis along the lineage",
        }
    }
}

enum Overlay {
    None,
    Help { scroll: u16 },
    Search { query: String, before: Vec<NodeId> },
    Export { input: String },
    ConfirmOverwrite { path: PathBuf },
}

struct Status {
    text: String,
    error: bool,
}

/// Produces the DOT text of a report; [`crate::export::to_dot`] unless a test swaps it.
pub type DotWriter = fn(&ScanReport) -> String;

pub struct App {
    config: AppConfig,
    now: Instant,
    scan: ScanProgress,
    forest: Option<Forest>,
    /// The tree widget keeps its scroll offset and click map in its state and needs `&mut` to
    /// render, while drawing takes `&self`: the cell confines that to the render.
    tree_state: RefCell<TreeState<NodeId>>,
    focus: Focus,
    overlay: Overlay,
    last_query: String,
    status: Option<Status>,
    evidence_scroll: u16,
    /// Limits learnt at the last draw, so scrolling stops at the end of what is shown.
    evidence_max_scroll: Cell<u16>,
    scan_rows_visible: Cell<usize>,
    help_max_scroll: Cell<u16>,
    /// The id selected before a rescan, selected again when the new forest arrives.
    reselect: Option<String>,
    dot_writer: DotWriter,
}

impl App {
    pub fn new(config: AppConfig) -> Self {
        let started = config.started;
        Self {
            config,
            now: started,
            scan: ScanProgress::new(started),
            forest: None,
            tree_state: RefCell::new(TreeState::default()),
            focus: Focus::Tree,
            overlay: Overlay::None,
            last_query: String::new(),
            status: None,
            evidence_scroll: 0,
            evidence_max_scroll: Cell::new(0),
            scan_rows_visible: Cell::new(1),
            help_max_scroll: Cell::new(0),
            reselect: None,
            dot_writer: crate::export::to_dot,
        }
    }

    /// Replaces the DOT writer (tests use one that does not need the real exporter).
    pub fn set_dot_writer(&mut self, writer: DotWriter) {
        self.dot_writer = writer;
    }

    pub fn forest(&self) -> Option<&Forest> {
        self.forest.as_ref()
    }

    pub fn focus(&self) -> Focus {
        self.focus
    }

    pub fn status(&self) -> Option<&str> {
        self.status.as_ref().map(|status| status.text.as_str())
    }

    pub fn selected(&self) -> Option<NodeId> {
        self.tree_state.borrow().selected().last().copied()
    }

    pub fn selected_model(&self) -> Option<usize> {
        match self.selected() {
            Some(NodeId::Model(model)) => Some(model),
            _ => None,
        }
    }

    /// The id of the selected model, if a model is selected.
    pub fn selected_id(&self) -> Option<&str> {
        let forest = self.forest.as_ref()?;
        self.selected_model().map(|model| forest.id(model))
    }

    /// The key context the next key press is read in.
    pub fn context(&self) -> Context {
        match self.overlay {
            Overlay::Help { .. } => Context::Help,
            Overlay::Search { .. } | Overlay::Export { .. } => Context::Prompt,
            Overlay::ConfirmOverwrite { .. } => Context::Confirm,
            Overlay::None if self.forest.is_none() => Context::Scan,
            Overlay::None if self.focus == Focus::Tree => Context::Tree,
            Overlay::None => Context::Panels,
        }
    }

    pub fn handle(&mut self, event: AppEvent) -> Action {
        match event {
            AppEvent::Key(key) if key.kind != KeyEventKind::Release => self.handle_key(&key),
            AppEvent::Key(_) | AppEvent::Resize(..) => Action::Continue,
            AppEvent::Mouse(mouse) => {
                self.handle_mouse(mouse);
                Action::Continue
            }
            AppEvent::Tick(now) => {
                self.now = now;
                self.scan.tick(now);
                Action::Continue
            }
            AppEvent::Scan(event) => {
                self.handle_scan(event);
                Action::Continue
            }
            AppEvent::ScanFailed(reason) => {
                self.set_error(format!("scan failed: {reason}"));
                self.scan.fail(reason);
                Action::Continue
            }
        }
    }

    fn handle_scan(&mut self, event: ScanEvent) {
        self.scan.apply(&event);
        let ScanEvent::Finished(report) = event else {
            return;
        };
        match Forest::new(*report, self.config.theme) {
            Ok(forest) => self.open_forest(forest),
            Err(error) => self.set_error(error.to_string()),
        }
    }

    fn open_forest(&mut self, forest: Forest) {
        let mut state = TreeState::default();
        for path in forest.branch_paths() {
            state.open(path.to_vec());
        }
        let reselect = self.reselect.take().and_then(|id| {
            forest
                .order()
                .iter()
                .copied()
                .find(|&model| forest.id(model) == id)
        });
        let first = reselect
            .and_then(|model| forest.path(NodeId::Model(model)))
            .map(<[NodeId]>::to_vec)
            .or_else(|| forest.items().first().map(|item| vec![*item.identifier()]));
        if let Some(path) = first {
            state.select(path);
        }
        self.tree_state = RefCell::new(state);
        self.forest = Some(forest);
        self.focus = Focus::Tree;
        self.evidence_scroll = 0;
        if self.status.as_ref().is_some_and(|status| !status.error) {
            self.status = None;
        }
    }

    fn handle_key(&mut self, key: &KeyEvent) -> Action {
        let context = self.context();
        let command = keys::command_for(context, key);
        match context {
            Context::Prompt => {
                self.handle_prompt(command, key);
                Action::Continue
            }
            Context::Confirm => {
                self.handle_confirm(command);
                Action::Continue
            }
            Context::Help => {
                self.handle_help(command);
                Action::Continue
            }
            Context::Scan => self.handle_scan_key(command),
            Context::Tree | Context::Panels => self.handle_browse(command),
        }
    }

    fn handle_help(&mut self, command: Option<Command>) {
        let Overlay::Help { scroll } = &mut self.overlay else {
            return;
        };
        let last = self.help_max_scroll.get();
        match command {
            Some(Command::Up) => *scroll = scroll.saturating_sub(1),
            Some(Command::Down) => *scroll = (*scroll + 1).min(last),
            Some(Command::First) => *scroll = 0,
            Some(Command::Last) => *scroll = last,
            Some(Command::CloseHelp) => self.overlay = Overlay::None,
            _ => {}
        }
    }

    fn handle_scan_key(&mut self, command: Option<Command>) -> Action {
        let visible = self.scan_rows_visible.get();
        match command {
            Some(Command::Up) => self.scan.scroll(-1, visible),
            Some(Command::Down) => self.scan.scroll(1, visible),
            Some(Command::First) => self.scan.scroll_to(true, visible),
            Some(Command::Last) => self.scan.scroll_to(false, visible),
            Some(Command::Help) => self.overlay = Overlay::Help { scroll: 0 },
            Some(Command::Quit) => {
                self.set_info("cancelling the scan…".to_string());
                return Action::Quit;
            }
            _ => {}
        }
        Action::Continue
    }

    fn handle_browse(&mut self, command: Option<Command>) -> Action {
        let Some(command) = command else {
            return Action::Continue;
        };
        let on_evidence = self.focus == Focus::Evidence;
        match command {
            Command::Up if on_evidence => self.scroll_evidence(-1),
            Command::Down if on_evidence => self.scroll_evidence(1),
            Command::First if on_evidence => self.evidence_scroll = 0,
            Command::Last if on_evidence => self.evidence_scroll = self.evidence_max_scroll.get(),
            Command::Up => self.move_selection(-1),
            Command::Down => self.move_selection(1),
            Command::First => self.move_to_end(true),
            Command::Last => self.move_to_end(false),
            Command::Collapse => self.collapse(),
            Command::Expand => {
                let selected = self.tree_state.borrow().selected().to_vec();
                self.tree_state.get_mut().open(selected);
            }
            Command::Toggle => {
                self.tree_state.get_mut().toggle_selected();
            }
            Command::Search => {
                let before = self.tree_state.borrow().selected().to_vec();
                self.overlay = Overlay::Search {
                    query: String::new(),
                    before,
                };
            }
            Command::NextMatch => self.jump_to_match(true),
            Command::PreviousMatch => self.jump_to_match(false),
            Command::JumpToParent => self.jump_to_parent(),
            Command::FocusNext => self.focus = self.focus.step(true),
            Command::FocusPrevious => self.focus = self.focus.step(false),
            Command::Export => {
                self.overlay = Overlay::Export {
                    input: DEFAULT_EXPORT_NAME.to_string(),
                }
            }
            Command::Rescan => {
                self.reselect = self.selected_id().map(str::to_string);
                self.forest = None;
                self.tree_state = RefCell::new(TreeState::default());
                self.scan = ScanProgress::new(self.now);
                self.focus = Focus::Tree;
                self.set_info(format!("scanning {} again", self.config.root.display()));
                return Action::Rescan;
            }
            Command::Help => self.overlay = Overlay::Help { scroll: 0 },
            Command::Quit => return Action::Quit,
            Command::CloseHelp
            | Command::Accept
            | Command::Cancel
            | Command::DeleteChar
            | Command::ClearInput
            | Command::Overwrite
            | Command::KeepFile => {}
        }
        Action::Continue
    }

    fn scroll_evidence(&mut self, delta: i16) {
        self.evidence_scroll = self
            .evidence_scroll
            .saturating_add_signed(delta)
            .min(self.evidence_max_scroll.get());
    }

    /// Moves the selection over the rows as they are open now (not as last drawn), so keys
    /// work the same whether or not a frame was drawn in between.
    fn move_selection(&mut self, delta: isize) {
        let Some(forest) = &self.forest else { return };
        let state = self.tree_state.get_mut();
        let visible = state.flatten(forest.items());
        if visible.is_empty() {
            return;
        }
        let current = visible
            .iter()
            .position(|row| row.identifier == state.selected());
        let next = match current {
            Some(index) => index.saturating_add_signed(delta).min(visible.len() - 1),
            None => 0,
        };
        let identifier = visible[next].identifier.clone();
        state.select(identifier);
        self.evidence_scroll = 0;
    }

    fn move_to_end(&mut self, first: bool) {
        let Some(forest) = &self.forest else { return };
        let state = self.tree_state.get_mut();
        let visible = state.flatten(forest.items());
        let row = if first {
            visible.first()
        } else {
            visible.last()
        };
        if let Some(row) = row {
            let identifier = row.identifier.clone();
            state.select(identifier);
            self.evidence_scroll = 0;
        }
    }

    fn collapse(&mut self) {
        let state = self.tree_state.get_mut();
        let selected = state.selected().to_vec();
        if !state.close(&selected) && selected.len() > 1 {
            state.select(selected[..selected.len() - 1].to_vec());
            self.evidence_scroll = 0;
        }
    }

    /// Selects a node, opening every node above it so it is visible.
    fn select_node(&mut self, node: NodeId) {
        let Some(path) = self.forest.as_ref().and_then(|forest| forest.path(node)) else {
            return;
        };
        let path = path.to_vec();
        let state = self.tree_state.get_mut();
        for depth in 1..path.len() {
            state.open(path[..depth].to_vec());
        }
        state.select(path);
        self.evidence_scroll = 0;
    }

    fn jump_to_parent(&mut self) {
        let Some(forest) = &self.forest else { return };
        let Some(model) = self.selected_model() else {
            self.set_info("select a model to jump to its parent".to_string());
            return;
        };
        match forest.parent(model) {
            Some(parent) => {
                let text = format!("parent of {}: {}", forest.id(model), forest.id(parent));
                self.select_node(NodeId::Model(parent));
                self.set_info(text);
            }
            None => {
                let text = format!(
                    "{} has no parent among the scanned models",
                    forest.id(model)
                );
                self.set_info(text);
            }
        }
    }

    fn jump_to_match(&mut self, forward: bool) {
        let Some(forest) = &self.forest else { return };
        if self.last_query.is_empty() {
            self.set_info("no search yet: press / to search by id".to_string());
            return;
        }
        let matches = forest.search(&self.last_query);
        if matches.is_empty() {
            self.set_error(format!("no model id contains \"{}\"", self.last_query));
            return;
        }
        // Position of the selection in tree order; a group row counts as before everything.
        let order = forest.order();
        let here = self
            .selected_model()
            .and_then(|model| order.iter().position(|&other| other == model));
        let rank = |model: usize| order.iter().position(|&other| other == model);
        let target = if forward {
            matches
                .iter()
                .copied()
                .find(|&model| here.is_none_or(|here| rank(model) > Some(here)))
                .unwrap_or(matches[0])
        } else {
            matches
                .iter()
                .rev()
                .copied()
                .find(|&model| here.is_some_and(|here| rank(model) < Some(here)))
                .unwrap_or(matches[matches.len() - 1])
        };
        let number = matches
            .iter()
            .position(|&model| model == target)
            .unwrap_or(0)
            + 1;
        let text = format!(
            "match {number} of {} for \"{}\"",
            matches.len(),
            self.last_query
        );
        self.select_node(NodeId::Model(target));
        self.set_info(text);
    }

    fn handle_prompt(&mut self, command: Option<Command>, key: &KeyEvent) {
        let typed = match key.code {
            crossterm::event::KeyCode::Char(c)
                if command.is_none() && !key.modifiers.contains(KeyModifiers::CONTROL) =>
            {
                Some(c)
            }
            _ => None,
        };
        let overlay = std::mem::replace(&mut self.overlay, Overlay::None);
        match overlay {
            Overlay::Search { mut query, before } => match command {
                Some(Command::Accept) => {
                    self.last_query = query;
                    self.report_matches();
                }
                Some(Command::Cancel) => {
                    self.tree_state.get_mut().select(before);
                }
                _ => {
                    edit(&mut query, command, typed);
                    let first = self
                        .forest
                        .as_ref()
                        .and_then(|forest| forest.search(&query).first().copied());
                    match first {
                        Some(model) => self.select_node(NodeId::Model(model)),
                        None => {
                            self.tree_state.get_mut().select(before.clone());
                        }
                    }
                    self.overlay = Overlay::Search { query, before };
                }
            },
            Overlay::Export { mut input } => match command {
                Some(Command::Accept) => self.export(&input),
                Some(Command::Cancel) => self.set_info("export cancelled".to_string()),
                _ => {
                    edit(&mut input, command, typed);
                    self.overlay = Overlay::Export { input };
                }
            },
            other => self.overlay = other,
        }
    }

    fn report_matches(&mut self) {
        let count = self
            .forest
            .as_ref()
            .map_or(0, |forest| forest.search(&self.last_query).len());
        if self.last_query.is_empty() {
            self.status = None;
        } else if count == 0 {
            self.set_error(format!("no model id contains \"{}\"", self.last_query));
        } else {
            self.set_info(format!(
                "{count} match{} for \"{}\": n next, N previous",
                if count == 1 { "" } else { "es" },
                self.last_query
            ));
        }
    }

    fn export(&mut self, input: &str) {
        let name = input.trim();
        if name.is_empty() {
            self.set_error("export needs a file name".to_string());
            self.overlay = Overlay::Export {
                input: input.to_string(),
            };
            return;
        }
        let path = self.config.export_dir.join(name);
        self.write_dot(path, false);
    }

    fn write_dot(&mut self, path: PathBuf, overwrite: bool) {
        let Some(forest) = &self.forest else { return };
        let dot = (self.dot_writer)(forest.report());
        match write_export(&path, &dot, overwrite) {
            Ok(()) => self.set_info(format!("wrote the forest to {}", path.display())),
            Err(ExportFileError::Exists { path }) => {
                self.overlay = Overlay::ConfirmOverwrite { path };
            }
            Err(error) => self.set_error(error.to_string()),
        }
    }

    fn handle_confirm(&mut self, command: Option<Command>) {
        let Overlay::ConfirmOverwrite { path } = &self.overlay else {
            return;
        };
        let path = path.clone();
        match command {
            Some(Command::Overwrite) => {
                self.overlay = Overlay::None;
                self.write_dot(path, true);
            }
            Some(Command::KeepFile) => {
                self.overlay = Overlay::None;
                self.set_info(format!("kept {}; nothing written", path.display()));
            }
            _ => {}
        }
    }

    fn handle_mouse(&mut self, mouse: MouseEvent) {
        if !matches!(self.overlay, Overlay::None) {
            return;
        }
        let position = Position::new(mouse.column, mouse.row);
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) if self.forest.is_some() => {
                let state = self.tree_state.get_mut();
                if state.rendered_at(position).is_some() {
                    state.click_at(position);
                    self.focus = Focus::Tree;
                    self.evidence_scroll = 0;
                }
            }
            MouseEventKind::ScrollUp => self.scroll_by_wheel(-1),
            MouseEventKind::ScrollDown => self.scroll_by_wheel(1),
            _ => {}
        }
    }

    fn scroll_by_wheel(&mut self, delta: isize) {
        if self.forest.is_none() {
            self.scan.scroll(delta, self.scan_rows_visible.get());
        } else if self.focus == Focus::Evidence {
            self.scroll_evidence(delta as i16);
        } else {
            self.move_selection(delta);
        }
    }

    fn set_info(&mut self, text: String) {
        self.status = Some(Status { text, error: false });
    }

    fn set_error(&mut self, text: String) {
        self.status = Some(Status { text, error: true });
    }

    /// Renders the whole screen from the state.
    pub fn draw(&self, frame: &mut Frame) {
        let theme = self.config.theme;
        let banner_height = u16::from(self.config.banner.is_some());
        let [header, banner, body, status, bar] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(banner_height),
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(frame.area());

        frame.render_widget(Paragraph::new(self.header_line()), header);
        if let Some(text) = &self.config.banner {
            frame.render_widget(Paragraph::new(text.as_str()).style(theme.accent()), banner);
        }
        match &self.forest {
            None => {
                // Block border and column heading take three rows.
                self.scan_rows_visible
                    .set(usize::from(body.height.saturating_sub(3)).max(1));
                self.scan.draw(frame, body, theme);
            }
            Some(forest) => self.draw_forest(frame, body, forest),
        }
        frame.render_widget(Paragraph::new(self.status_line()), status);
        frame.render_widget(Paragraph::new(help::bar(self.context(), theme)), bar);
        if let Overlay::Help { scroll } = self.overlay {
            self.help_max_scroll
                .set(help::draw(frame, body, scroll, theme));
        }
    }

    fn header_line(&self) -> Line<'static> {
        let theme = self.config.theme;
        let mut spans = vec![Span::styled(" mother ", theme.selected()), Span::raw(" ")];
        match &self.forest {
            None => {
                spans.push(Span::styled(
                    format!("scanning {}  ", self.config.root.display()),
                    theme.muted(),
                ));
                spans.extend(self.scan.header(theme).spans);
            }
            Some(forest) => {
                let report = forest.report();
                spans.push(Span::styled(
                    format!("{}  ", report.root.display()),
                    theme.muted(),
                ));
                spans.push(Span::raw(format!(
                    "{} · {} · {} unrelated · {} skipped · {}",
                    counted(report.models.len(), "model"),
                    counted(forest.tree_count(), "tree"),
                    forest.unrelated_count(),
                    report.skipped.len(),
                    counted(report.recovery.duplicates.len(), "duplicate"),
                )));
            }
        }
        Line::from(spans)
    }

    fn status_line(&self) -> Line<'static> {
        let theme = self.config.theme;
        match &self.overlay {
            Overlay::Search { query, .. } => {
                let count = self
                    .forest
                    .as_ref()
                    .map_or(0, |forest| forest.search(query).len());
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
            Overlay::Export { input } => Line::from(vec![
                Span::styled("Export DOT to: ", theme.key()),
                Span::raw(format!("{input}▏")),
                Span::styled(
                    format!("  in {}", self.config.export_dir.display()),
                    theme.muted(),
                ),
            ]),
            Overlay::ConfirmOverwrite { path } => Line::from(vec![
                Span::styled(format!("{} exists. ", path.display()), theme.error()),
                Span::styled("Overwrite it? y / n", theme.key()),
            ]),
            Overlay::None | Overlay::Help { .. } => match &self.status {
                Some(status) if status.error => Line::styled(status.text.clone(), theme.error()),
                Some(status) => Line::raw(status.text.clone()),
                None => Line::raw(""),
            },
        }
    }

    fn pane_block(&self, pane: Focus) -> Block<'static> {
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
        let wide = area.width >= 100 && area.height >= 18;
        if wide {
            let [tree, side] =
                Layout::horizontal([Constraint::Percentage(46), Constraint::Fill(1)]).areas(area);
            let [evidence, charts] =
                Layout::vertical([Constraint::Length(12), Constraint::Fill(1)]).areas(side);
            self.draw_tree(frame, tree, forest);
            self.draw_pane(frame, evidence, forest, Focus::Evidence);
            if charts.width >= 90 {
                let [layers, lineage] =
                    Layout::horizontal([Constraint::Fill(3), Constraint::Fill(2)]).areas(charts);
                self.draw_pane(frame, layers, forest, Focus::Layers);
                self.draw_pane(frame, lineage, forest, Focus::Lineage);
            } else {
                let [layers, lineage] =
                    Layout::vertical([Constraint::Fill(3), Constraint::Fill(2)]).areas(charts);
                self.draw_pane(frame, layers, forest, Focus::Layers);
                self.draw_pane(frame, lineage, forest, Focus::Lineage);
            }
        } else {
            let theme = self.config.theme;
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
            self.draw_pane_in(frame, panel, forest, shown, block);
        }
    }

    fn draw_tree(&self, frame: &mut Frame, area: Rect, forest: &Forest) {
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
            Focus::Evidence => {
                let lines = evidence::lines(forest, self.selected(), theme);
                let inner_height = block.inner(area).height;
                let max_scroll = (lines.len() as u16).saturating_sub(inner_height);
                self.evidence_max_scroll.set(max_scroll);
                let hint = match (max_scroll > 0, self.focus == Focus::Evidence) {
                    (false, _) => None,
                    (true, true) => Some(" ↓ for more "),
                    (true, false) => Some(" Tab, ↓ for more "),
                };
                let block = match hint {
                    Some(hint) => block.title_bottom(Span::styled(hint, theme.muted())),
                    None => block,
                };
                frame.render_widget(
                    Paragraph::new(lines)
                        .block(block)
                        .scroll((self.evidence_scroll.min(max_scroll), 0)),
                    area,
                );
            }
            Focus::Layers => super::charts::draw_layers(frame, area, forest, model, block, theme),
            Focus::Lineage => super::charts::draw_lineage(frame, area, forest, model, block, theme),
        }
    }
}

/// `1 tree`, `3 trees`.
fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Applies one editing key to a prompt's text.
fn edit(text: &mut String, command: Option<Command>, typed: Option<char>) {
    match (command, typed) {
        (Some(Command::DeleteChar), _) => {
            text.pop();
        }
        (Some(Command::ClearInput), _) => text.clear(),
        (_, Some(c)) => text.push(c),
        _ => {}
    }
}
