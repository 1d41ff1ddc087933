//! Keys, mouse and the moves they make: selection, folding, jumps and scrolling.

use super::{Action, App, DEFAULT_EXPORT_NAME, FilterOrigin, Focus, JUMP_LIST_LENGTH, Overlay};
use crate::tui::forest::{Filter, NodeId};
use crate::tui::keys::{self, Command, Context};
use crate::tui::scan_view::ScanProgress;
use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};

/// What Esc says when there is nothing to back out of.
const ESC_HINT: &str = "Esc backs out of searches, prompts, help and filters: q quits";

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
            Context::Scan => self.handle_scan_key(command, key),
            Context::Tree | Context::Panels => self.handle_browse(command, key),
            Context::Tensors => self.handle_tensor_keys(command, key),
            // Only quitting acts: the keys would move a selection the user cannot see.
            Context::TooSmall if command == Some(Command::Quit) => self.quit(),
            Context::TooSmall => Action::Continue,
        }
    }

    fn handle_help(&mut self, command: Option<Command>) {
        let scroll = &mut self.help_scroll;
        let page = i32::from(scroll.viewport().max(1));
        match command {
            Some(Command::Up) => scroll.scroll_by(-1),
            Some(Command::Down) => scroll.scroll_by(1),
            Some(Command::PageUp) => scroll.scroll_by(-page),
            Some(Command::PageDown) => scroll.scroll_by(page),
            Some(Command::HalfPageUp) => scroll.scroll_by(-page / 2),
            Some(Command::HalfPageDown) => scroll.scroll_by(page / 2),
            Some(Command::First) => scroll.to_top(),
            Some(Command::Last) => scroll.to_bottom(),
            Some(Command::CloseHelp) => self.overlay = Overlay::None,
            _ => {}
        }
    }

    fn handle_scan_key(&mut self, command: Option<Command>, key: &KeyEvent) -> Action {
        let visible = self.scan_rows_visible.get();
        match command {
            Some(Command::Up) => self.scan.scroll(-1, visible),
            Some(Command::Down) => self.scan.scroll(1, visible),
            Some(Command::First) => self.scan.scroll_to(true, visible),
            Some(Command::Last) => self.scan.scroll_to(false, visible),
            Some(Command::Help) => self.open_help(),
            Some(Command::Back) => self.set_info(ESC_HINT.to_string()),
            Some(Command::Quit) => return self.quit(),
            _ => self.unknown_key(key),
        }
        Action::Continue
    }

    /// Leaves the explorer; the last frame says a running scan is being cancelled.
    fn quit(&mut self) -> Action {
        if self.forest.is_none() {
            self.set_info("cancelling the scan…".to_string());
        }
        Action::Quit
    }

    fn handle_tensor_keys(&mut self, command: Option<Command>, key: &KeyEvent) -> Action {
        match command {
            Some(Command::Quit) => return Action::Quit,
            Some(Command::Help) => self.open_help(),
            Some(command) => self.handle_tensor_view(command),
            None => self.unknown_key(key),
        }
        Action::Continue
    }

    pub(super) fn unknown_key(&mut self, key: &KeyEvent) {
        let label = keys::Key::from_event(key).label();
        self.set_info(format!("{label}: not a key here — ? for help"));
    }

    fn handle_browse(&mut self, command: Option<Command>, key: &KeyEvent) -> Action {
        let Some(command) = command else {
            self.unknown_key(key);
            return Action::Continue;
        };
        let on_evidence = self.focus == Focus::Evidence;
        let tree_page = isize::try_from(self.tree.page()).unwrap_or(1);
        let evidence_page = i32::from(self.evidence_scroll.viewport().max(1));
        match command {
            Command::Up if on_evidence => self.scroll_evidence(-1),
            Command::Down if on_evidence => self.scroll_evidence(1),
            Command::PageUp if on_evidence => self.scroll_evidence(-evidence_page),
            Command::PageDown if on_evidence => self.scroll_evidence(evidence_page),
            Command::HalfPageUp if on_evidence => self.scroll_evidence(-evidence_page / 2),
            Command::HalfPageDown if on_evidence => self.scroll_evidence(evidence_page / 2),
            Command::First if on_evidence => self.evidence_scroll.to_top(),
            Command::Last if on_evidence => self.evidence_scroll.to_bottom(),
            Command::Up => self.move_selection(-1),
            Command::Down => self.move_selection(1),
            Command::PageUp => self.move_selection(-tree_page),
            Command::PageDown => self.move_selection(tree_page),
            Command::HalfPageUp => self.move_selection(-(tree_page / 2).max(1)),
            Command::HalfPageDown => self.move_selection((tree_page / 2).max(1)),
            Command::First => self.move_to_end(true),
            Command::Last => self.move_to_end(false),
            Command::Collapse => self.collapse(),
            Command::Expand => {
                if let Some(node) = self.tree.selected {
                    self.tree.open.insert(node);
                }
            }
            Command::Toggle => {
                if let Some(node) = self.tree.selected
                    && !self.tree.open.remove(&node)
                {
                    self.tree.open.insert(node);
                }
            }
            Command::CollapseAll => {
                self.tree.open.clear();
                if let Some(forest) = &self.forest {
                    self.tree.keep_selection_shown(forest);
                }
                self.set_info("collapsed every tree: + expands all".to_string());
            }
            Command::ExpandAll => {
                if let Some(forest) = &self.forest {
                    self.tree.open = forest.branches().collect();
                }
            }
            Command::NextTree => self.jump_to_tree(true),
            Command::PreviousTree => self.jump_to_tree(false),
            Command::Search => {
                self.overlay = Overlay::Search {
                    query: String::new(),
                    before: self.tree.selected,
                };
            }
            Command::NextMatch => self.jump_to_match(true),
            Command::PreviousMatch => self.jump_to_match(false),
            Command::JumpToParent => self.jump_to_parent(),
            Command::JumpAlongMerge => self.jump_along_merge(),
            Command::JumpBack => self.jump_back(),
            Command::Filter => self.next_filter(),
            Command::Sort => {
                self.tree.view.sort = self.tree.view.sort.next();
                self.set_info(format!(
                    "sorted by {}: s for the next order",
                    self.tree.view.sort.word()
                ));
            }
            Command::CopyId => self.copy(false),
            Command::CopyPath => self.copy(true),
            Command::Back => self.back(),
            Command::FocusNext => self.focus = self.focus.step(true),
            Command::FocusPrevious => self.focus = self.focus.step(false),
            Command::Export => {
                self.overlay = Overlay::Export {
                    input: DEFAULT_EXPORT_NAME.to_string(),
                    problem: None,
                }
            }
            Command::Rescan => {
                self.reselect = self.selected_id().map(str::to_string);
                self.forest = None;
                self.scan = ScanProgress::new(self.now);
                self.focus = Focus::Tree;
                self.rescan_started = Some(self.now);
                self.set_info(format!("scanning {} again", self.config.root.display()));
                return Action::Rescan;
            }
            Command::Help => self.open_help(),
            Command::Tensors => self.open_tensor_view(),
            Command::Quit => return Action::Quit,
            Command::CloseHelp
            | Command::CloseTensors
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

    /// Esc outside a prompt: undoes the last narrowing (a filter, then a search highlight).
    fn back(&mut self) {
        if self.tree.view.filter != Filter::All {
            let selected = self.selection_before_filters();
            self.tree.view.filter = Filter::All;
            self.filter_origin = None;
            self.tree.selected = selected;
            if let Some(forest) = &self.forest {
                self.tree.keep_selection_shown(forest);
            }
            self.set_info("filter cleared: every model is shown".to_string());
        } else if !self.last_query.is_empty() {
            let text = format!("search \"{}\" cleared", self.last_query);
            self.last_query.clear();
            self.set_info(text);
        } else {
            self.set_info(ESC_HINT.to_string());
        }
    }

    /// The row the user chose before the filters of this `f` cycle moved the selection: the
    /// selection now, unless it is still where the last filter put it.
    fn selection_before_filters(&self) -> Option<NodeId> {
        match self.filter_origin {
            Some(origin)
                if self.tree.view.filter != Filter::All && self.tree.selected == origin.left =>
            {
                Some(origin.selected)
            }
            _ => self.tree.selected,
        }
    }

    /// `f`: all → below high confidence → declared parent disagrees → this tree → all. "This
    /// tree" is the tree of the row the user chose, even when an earlier filter of the cycle
    /// hid that row and moved the selection elsewhere or cleared it.
    fn next_filter(&mut self) {
        let Some(forest) = &self.forest else { return };
        let chosen = self.selection_before_filters();
        let this_tree = chosen.map(|node| Filter::Tree(forest.top_of(node)));
        let next = match self.tree.view.filter {
            Filter::All => Some(Filter::Doubtful),
            Filter::Doubtful => Some(Filter::Disagreeing),
            Filter::Disagreeing => this_tree,
            Filter::Tree(_) => None,
        }
        .unwrap_or(Filter::All);
        self.tree.view.filter = next;
        // Each filter starts from the row the user chose, so one that hides it does not lose
        // the place for the next one (or for "filter off").
        let before = self.tree.selected;
        self.tree.selected = chosen;
        self.tree.keep_selection_shown(forest);
        if self.tree.selected != before {
            self.evidence_scroll.to_top();
        }
        self.filter_origin = chosen
            .filter(|_| next != Filter::All)
            .map(|selected| FilterOrigin {
                selected,
                left: self.tree.selected,
            });
        let shown = forest.rows(
            self.tree.view,
            &forest.branches().collect::<std::collections::HashSet<_>>(),
        );
        let matching = shown.iter().filter(|row| row.matches_filter).count();
        let text = match next {
            Filter::All => "filter off: every model is shown".to_string(),
            Filter::Tree(_) => format!("filter: {}; f for all, Esc clears", next.describe(forest)),
            _ if matching == 0 => format!(
                "filter: {}: no model matches; f for the next filter, Esc clears",
                next.describe(forest)
            ),
            _ => format!(
                "filter: {} ({matching} shown with their ancestors); f next, Esc clears",
                next.describe(forest)
            ),
        };
        self.set_info(text);
    }

    /// `y` and `Y`: the selected model's id or folder, or a skipped file's path, to the
    /// clipboard; the status line says what was copied, a long path shortened in its middle.
    fn copy(&mut self, path: bool) {
        let Some(forest) = &self.forest else { return };
        let (text, message) = match (self.tree.selected, path) {
            (Some(NodeId::Model(model)), false) => {
                let id = forest.id(model).to_string();
                (id.clone(), format!("copied the id to the clipboard: {id}"))
            }
            (Some(NodeId::Model(model)), true) => {
                let folder = forest.report().models[model]
                    .entry
                    .dir
                    .display()
                    .to_string();
                let message = format!(
                    "copied the folder of {} to the clipboard: {folder}",
                    forest.id(model)
                );
                (folder, message)
            }
            (Some(NodeId::Place(place)), _) => match forest.place_path(place) {
                Some(path) => {
                    let folder = path.display().to_string();
                    let message = format!("copied the folder to the clipboard: {folder}");
                    (folder, message)
                }
                None => {
                    self.set_info(format!(
                        "{}: its folder is not known here (its models came from a bundle); \
                         select a model and Y copies the folder it had",
                        forest.place_name(place)
                    ));
                    return;
                }
            },
            (Some(NodeId::SkippedFile(file)), _) => {
                let path = forest.report().skipped[file].path.display().to_string();
                (
                    path.clone(),
                    format!("copied the path to the clipboard: {path}"),
                )
            }
            _ => {
                self.set_info("select a model to copy its id (y) or folder (Y)".to_string());
                return;
            }
        };
        self.set_info(message);
        self.clipboard = Some(text);
    }

    fn move_selection(&mut self, delta: isize) {
        let Some(forest) = &self.forest else { return };
        if self.tree.move_by(forest, delta) {
            self.evidence_scroll.to_top();
        }
    }

    fn move_to_end(&mut self, first: bool) {
        let Some(forest) = &self.forest else { return };
        if self.tree.move_to_end(forest, first) {
            self.evidence_scroll.to_top();
        }
    }

    fn collapse(&mut self) {
        let Some(forest) = &self.forest else { return };
        let Some(node) = self.tree.selected else {
            return;
        };
        if !self.tree.open.remove(&node) {
            let path = forest.path(node);
            if path.len() > 1 {
                self.tree.selected = Some(path[path.len() - 2]);
                self.evidence_scroll.to_top();
            }
        }
    }

    /// Selects a node, opening every node above it so it is visible; a filter that would hide
    /// it is lifted.
    pub(super) fn select_node(&mut self, node: NodeId) {
        let Some(forest) = &self.forest else { return };
        self.tree.reveal(forest, node);
        if !self.tree.rows(forest).iter().any(|row| row.node == node) {
            self.tree.view.filter = Filter::All;
        }
        self.evidence_scroll.to_top();
    }

    /// Goes to `node`, remembering where it came from for `Ctrl-o`.
    pub(super) fn jump_to(&mut self, node: NodeId) {
        if let Some(from) = self.tree.selected
            && from != node
        {
            if self.jump_list.len() == JUMP_LIST_LENGTH {
                self.jump_list.remove(0);
            }
            self.jump_list.push(from);
        }
        self.select_node(node);
    }

    fn jump_back(&mut self) {
        let Some(node) = self.jump_list.pop() else {
            self.set_info(
                "nothing to go back to: p, / and ] remember where they came from".to_string(),
            );
            return;
        };
        self.select_node(node);
        if let (Some(forest), NodeId::Model(model)) = (&self.forest, node) {
            let text = format!("back to {}", forest.id(model));
            self.set_info(text);
        }
    }

    fn jump_to_tree(&mut self, forward: bool) {
        let Some(forest) = &self.forest else { return };
        let Some(selected) = self.tree.selected else {
            return;
        };
        let rows = self.tree.rows(forest);
        let Some(here) = rows.iter().position(|row| row.node == selected) else {
            return;
        };
        // A tree's rows follow its top, so the top of the selected row's tree is the last top
        // above it, and the next tree is the first top below it (place rows are skipped: they
        // hold trees).
        let is_top = |row: &&crate::tui::forest::Row| forest.is_tree_top(row.node);
        let target = if forward {
            rows[here + 1..].iter().find(is_top)
        } else {
            rows[..here].iter().rev().find(is_top)
        };
        match target.map(|row| row.node) {
            Some(top) => self.jump_to(top),
            None if forward => self.set_info("this is the last tree".to_string()),
            None => self.set_info("this is the first tree".to_string()),
        }
    }

    fn jump_to_parent(&mut self) {
        let Some(forest) = &self.forest else { return };
        let Some(model) = self.selected_model() else {
            self.set_info("select a model to jump to its parent".to_string());
            return;
        };
        match forest.parent(model) {
            Some(parent) => {
                let text = format!(
                    "parent of {}: {} (Ctrl-o goes back)",
                    forest.id(model),
                    forest.id(parent)
                );
                self.jump_to(NodeId::Model(parent));
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

    /// A merge hangs under one source only; `m` reaches the others, the merges a model was
    /// mixed into, and the merge a possible merge hub is nearest.
    fn jump_along_merge(&mut self) {
        let Some(forest) = &self.forest else { return };
        let Some(model) = self.selected_model() else {
            self.set_info("select a model to jump along a merge".to_string());
            return;
        };
        let id = |m: usize| forest.id(m).to_string();
        let merged_into = forest.merges_made_from(model);
        let (target, text) = if let Some(merge) = forest.merge(model) {
            let sources: Vec<String> = merge
                .sources
                .iter()
                .zip(&merge.weights)
                .map(|(&s, w)| format!("{} ({w:.2})", id(s)))
                .collect();
            // It hangs under its main source; the first other one is where `m` leads.
            let placed = forest.parent(model);
            let target = merge
                .sources
                .iter()
                .copied()
                .find(|&s| Some(s) != placed)
                .unwrap_or(merge.sources[0]);
            let text = format!(
                "{} is a merge of {}: at {} (Ctrl-o goes back)",
                id(model),
                sources.join(", "),
                id(target)
            );
            (target, text)
        } else if let Some(merge) = merged_into.first() {
            let all: Vec<String> = merged_into.iter().map(|m| id(m.model)).collect();
            let text = format!(
                "{} was merged into {}: at {} (Ctrl-o goes back)",
                id(model),
                all.join(", "),
                id(merge.model)
            );
            (merge.model, text)
        } else if let Some(merge) = forest.merge_nearest(model) {
            let text = format!(
                "{} is nearest the merge {}, above its sources (Ctrl-o goes back)",
                id(model),
                id(merge)
            );
            (merge, text)
        } else {
            let text = format!(
                "{} is no merge, was merged into none, and is nearest none: m leads nowhere",
                id(model)
            );
            self.set_info(text);
            return;
        };
        self.jump_to(NodeId::Model(target));
        self.set_info(text);
    }

    fn jump_to_match(&mut self, forward: bool) {
        let Some(forest) = &self.forest else { return };
        if self.last_query.is_empty() {
            self.set_info("no search yet: press / to search by id".to_string());
            return;
        }
        let matches = forest.search(&self.last_query, self.tree.view);
        if matches.is_empty() {
            self.set_error(format!(
                "no model id or folder contains \"{}\"",
                self.last_query
            ));
            return;
        }
        // Position of the selection in tree order; a group row counts as before everything.
        let order = forest.order(self.tree.view);
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
        self.jump_to(NodeId::Model(target));
        self.set_info(text);
    }

    pub(super) fn handle_mouse(&mut self, mouse: MouseEvent) {
        if !matches!(self.overlay, Overlay::None) {
            return;
        }
        match mouse.kind {
            // The tensor view covers the tree, whose rows were where the click is.
            MouseEventKind::Down(MouseButton::Left) if self.tensor_view.is_some() => {}
            MouseEventKind::Down(MouseButton::Left) => {
                let Some(forest) = &self.forest else { return };
                let Some(node) = self.tree.row_at(forest, mouse.column, mouse.row) else {
                    return;
                };
                self.focus = Focus::Tree;
                if self.tree.selected == Some(node) {
                    if !self.tree.open.remove(&node) {
                        self.tree.open.insert(node);
                    }
                } else {
                    self.tree.selected = Some(node);
                    self.evidence_scroll.to_top();
                }
            }
            MouseEventKind::ScrollUp => self.scroll_by_wheel(-1),
            MouseEventKind::ScrollDown => self.scroll_by_wheel(1),
            _ => {}
        }
    }

    fn scroll_by_wheel(&mut self, delta: isize) {
        if let Some(scroll) = &mut self.tensor_view {
            scroll.scroll_by(i32::try_from(delta).unwrap_or(0));
        } else if self.forest.is_none() {
            self.scan.scroll(delta, self.scan_rows_visible.get());
        } else if self.focus == Focus::Evidence {
            self.scroll_evidence(i32::try_from(delta).unwrap_or(0));
        } else {
            self.move_selection(delta);
        }
    }
}
