//! Keys, mouse and the moves they make: selection, folding, jumps and scrolling.

use super::{Action, App, DEFAULT_EXPORT_NAME, Focus, Overlay};
use crate::tui::forest::NodeId;
use crate::tui::keys::{self, Command, Context};
use crate::tui::scan_view::ScanProgress;
use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Position;
use std::cell::RefCell;
use tui_tree_widget::TreeState;

impl App {
    pub(super) fn handle_key(&mut self, key: &KeyEvent) -> Action {
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
        let scroll = &mut self.help_scroll;
        match command {
            Some(Command::Up) => scroll.scroll_by(-1),
            Some(Command::Down) => scroll.scroll_by(1),
            Some(Command::First) => scroll.to_top(),
            Some(Command::Last) => scroll.to_bottom(),
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
            Some(Command::Help) => self.open_help(),
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
        if self.handle_tensor_view(command) {
            return Action::Continue;
        }
        let on_evidence = self.focus == Focus::Evidence;
        match command {
            Command::Up if on_evidence => self.scroll_evidence(-1),
            Command::Down if on_evidence => self.scroll_evidence(1),
            Command::First if on_evidence => self.evidence_scroll.to_top(),
            Command::Last if on_evidence => self.evidence_scroll.to_bottom(),
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
            Command::Help => self.open_help(),
            Command::Tensors => self.open_tensor_view(),
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

    fn scroll_evidence(&mut self, delta: i32) {
        self.evidence_scroll.scroll_by(delta);
    }

    fn open_help(&mut self) {
        self.help_scroll.to_top();
        self.overlay = Overlay::Help;
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
        self.evidence_scroll.to_top();
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
            self.evidence_scroll.to_top();
        }
    }

    fn collapse(&mut self) {
        let state = self.tree_state.get_mut();
        let selected = state.selected().to_vec();
        if !state.close(&selected) && selected.len() > 1 {
            state.select(selected[..selected.len() - 1].to_vec());
            self.evidence_scroll.to_top();
        }
    }

    /// Selects a node, opening every node above it so it is visible.
    pub(super) fn select_node(&mut self, node: NodeId) {
        let Some(path) = self.forest.as_ref().and_then(|forest| forest.path(node)) else {
            return;
        };
        let path = path.to_vec();
        let state = self.tree_state.get_mut();
        for depth in 1..path.len() {
            state.open(path[..depth].to_vec());
        }
        state.select(path);
        self.evidence_scroll.to_top();
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

    pub(super) fn handle_mouse(&mut self, mouse: MouseEvent) {
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
                    self.evidence_scroll.to_top();
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
            self.scroll_evidence(i32::try_from(delta).unwrap_or(0));
        } else {
            self.move_selection(delta);
        }
    }
}
