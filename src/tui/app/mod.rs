//! The explorer's state and its two pure halves: [`App::handle`] changes the state for one event
//! and says what the caller must do; [`App::draw`] renders the state and changes nothing the user
//! can see. No terminal is needed to build or drive an `App`, so tests do both.

pub mod clipboard;
mod draw;
mod evidence_view;
mod export;
mod input;
mod prompt;
mod scroll;
mod tensor_view;
mod tree_nav;
mod tree_view;

pub use scroll::VerticalScroll;

use super::evidence;
use super::forest::{Forest, NodeId};
use super::keys::Context;
use super::scan_view::ScanProgress;
use super::theme::Theme;
use crate::engine::{ScanEvent, ScanReport};
use crossterm::event::{KeyEvent, KeyEventKind, MouseEvent};
use std::cell::Cell;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tree_nav::TreeNav;

/// File name the export prompt starts with.
pub const DEFAULT_EXPORT_NAME: &str = "mother-tree.dot";

/// The smallest screen the layout is drawn for; below it the screen says so instead.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// How long a message stays on the status line: long enough to read, short enough not to be
/// mistaken for news about the next key. Errors stay longer, since they ask for a fix.
pub const INFO_SHOWN_FOR: Duration = Duration::from_secs(5);
pub const ERROR_SHOWN_FOR: Duration = Duration::from_secs(15);

/// How many places `Ctrl-o` can go back to.
const JUMP_LIST_LENGTH: usize = 64;

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
    Help,
    Search {
        query: String,
        before: Option<NodeId>,
    },
    Export {
        input: String,
        /// Why the name last accepted names no file, shown in the prompt until it is edited.
        problem: Option<String>,
    },
    ConfirmOverwrite {
        path: PathBuf,
    },
}

/// Where a cycle of `f` started, so its "this tree" step offers the tree the user was on, not
/// wherever an earlier filter of the cycle moved the selection (or none, after an empty one).
#[derive(Debug, Clone, Copy)]
struct FilterOrigin {
    /// The selection before the cycle's first filter moved it.
    selected: NodeId,
    /// The selection the last filter of the cycle left; a different one means the user moved.
    left: Option<NodeId>,
}

struct Status {
    text: String,
    error: bool,
    /// When it was set, by the app's clock; it expires after [`INFO_SHOWN_FOR`].
    since: Instant,
}

/// Produces the DOT text of a report; [`crate::export::to_dot`] unless a test swaps it.
pub type DotWriter = fn(&ScanReport) -> String;

pub struct App {
    config: AppConfig,
    now: Instant,
    scan: ScanProgress,
    forest: Option<Forest>,
    tree: TreeNav,
    /// Where `p`, searches and tree jumps came from, newest last, for `Ctrl-o`.
    jump_list: Vec<NodeId>,
    focus: Focus,
    overlay: Overlay,
    last_query: String,
    /// Set while a filter chosen with `f` is on.
    filter_origin: Option<FilterOrigin>,
    status: Option<Status>,
    evidence_scroll: VerticalScroll,
    help_scroll: VerticalScroll,
    /// The tensor view over the body, with its scroll, while it is open (`t`).
    tensor_view: Option<VerticalScroll>,
    /// Rows of the scan table shown at the last draw; the scan view scrolls by it.
    scan_rows_visible: Cell<usize>,
    /// The terminal's size at the last draw or resize (none before either). Below
    /// [`MIN_WIDTH`]x[`MIN_HEIGHT`] the screen only says so, and keys must not move what it
    /// does not show.
    screen: Cell<Option<(u16, u16)>>,
    /// The id selected before a rescan, selected again when the new forest arrives.
    reselect: Option<String>,
    /// When the running rescan started, to say how long it took.
    rescan_started: Option<Instant>,
    /// Text asked to be copied and not yet handed to the terminal.
    clipboard: Option<String>,
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
            tree: TreeNav::default(),
            jump_list: Vec::new(),
            focus: Focus::Tree,
            overlay: Overlay::None,
            last_query: String::new(),
            filter_origin: None,
            status: None,
            evidence_scroll: VerticalScroll::new(),
            help_scroll: VerticalScroll::new(),
            tensor_view: None,
            scan_rows_visible: Cell::new(1),
            screen: Cell::new(None),
            reselect: None,
            rescan_started: None,
            clipboard: None,
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

    /// The status message, while it has not expired.
    pub fn status(&self) -> Option<&str> {
        let status = self.status.as_ref()?;
        let shown_for = if status.error {
            ERROR_SHOWN_FOR
        } else {
            INFO_SHOWN_FOR
        };
        (self.now.saturating_duration_since(status.since) < shown_for)
            .then_some(status.text.as_str())
    }

    pub fn selected(&self) -> Option<NodeId> {
        self.tree.selected
    }

    /// The tree's filter and sort.
    pub fn view(&self) -> crate::tui::forest::View {
        self.tree.view
    }

    /// The OSC 52 escape sequence that puts the last copied text on the clipboard, once. The
    /// caller writes it to the terminal; the app itself never writes anywhere.
    pub fn take_clipboard(&mut self) -> Option<String> {
        self.clipboard.take().map(|text| clipboard::osc52(&text))
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

    /// Whether the screen is too small for the layout, by its size at the last draw or resize.
    fn too_small(&self) -> bool {
        self.screen
            .get()
            .is_some_and(|(width, height)| width < MIN_WIDTH || height < MIN_HEIGHT)
    }

    /// The key context the next key press is read in.
    pub fn context(&self) -> Context {
        if self.too_small() {
            return Context::TooSmall;
        }
        match self.overlay {
            Overlay::Help => Context::Help,
            Overlay::Search { .. } | Overlay::Export { .. } => Context::Prompt,
            Overlay::ConfirmOverwrite { .. } => Context::Confirm,
            Overlay::None if self.forest.is_none() => Context::Scan,
            Overlay::None if self.tensor_view.is_some() => Context::Tensors,
            Overlay::None if self.focus == Focus::Tree => Context::Tree,
            Overlay::None => Context::Panels,
        }
    }

    pub fn handle(&mut self, event: AppEvent) -> Action {
        match event {
            AppEvent::Key(key) if key.kind != KeyEventKind::Release => self.handle_key(&key),
            AppEvent::Key(_) => Action::Continue,
            AppEvent::Resize(width, height) => {
                self.screen.set(Some((width, height)));
                Action::Continue
            }
            AppEvent::Mouse(_) if self.too_small() => Action::Continue,
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
        self.open_forest(Forest::new(*report));
    }

    fn open_forest(&mut self, forest: Forest) {
        let view = self.tree.view;
        let reselect = self.reselect.take().and_then(|id| {
            forest
                .order(view)
                .into_iter()
                .find(|&model| forest.id(model) == id)
        });
        // A one-tree filter names a row of the old forest; the others carry over.
        let mut view = view;
        if matches!(view.filter, crate::tui::forest::Filter::Tree(_)) {
            view.filter = crate::tui::forest::Filter::All;
        }
        let mut tree = TreeNav {
            open: forest.branches().collect(),
            view,
            ..TreeNav::default()
        };
        tree.selected = reselect
            .map(NodeId::Model)
            .or_else(|| forest.tops().first().copied());
        self.tree = tree;
        self.jump_list.clear();
        self.filter_origin = None;
        let models = forest.report().models.len();
        self.forest = Some(forest);
        self.focus = Focus::Tree;
        self.evidence_scroll.to_top();
        if let Some(started) = self.rescan_started.take() {
            let seconds = self.now.saturating_duration_since(started).as_secs_f64();
            self.set_info(format!("rescanned: {models} models in {seconds:.1} s"));
        } else if self.status.as_ref().is_some_and(|status| !status.error) {
            self.status = None;
        }
    }

    pub(super) fn set_info(&mut self, text: String) {
        self.status = Some(Status {
            text,
            error: false,
            since: self.now,
        });
    }

    pub(super) fn set_error(&mut self, text: String) {
        self.status = Some(Status {
            text,
            error: true,
            since: self.now,
        });
    }
}
