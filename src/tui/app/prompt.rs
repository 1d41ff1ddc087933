//! The search prompt: typing, accepting, cancelling and the match report.

use super::{App, Overlay};
use crate::tui::forest::NodeId;
use crate::tui::keys::Command;
use crossterm::event::{KeyEvent, KeyModifiers};

impl App {
    pub(super) fn handle_prompt(&mut self, command: Option<Command>, key: &KeyEvent) {
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
                    // The search moved the selection; Ctrl-o goes back to where it started.
                    if let Some(from) = before
                        && self.tree.selected != before
                    {
                        self.jump_list.push(from);
                    }
                    self.last_query = query;
                    self.report_matches();
                }
                Some(Command::Cancel) => {
                    self.tree.selected = before;
                }
                _ => {
                    edit(&mut query, command, typed);
                    let first = self
                        .forest
                        .as_ref()
                        .and_then(|forest| forest.search(&query, self.tree.view).first().copied());
                    match first {
                        Some(model) => self.select_node(NodeId::Model(model)),
                        None => self.tree.selected = before,
                    }
                    self.overlay = Overlay::Search { query, before };
                }
            },
            Overlay::Export { mut input, problem } => match command {
                Some(Command::Accept) => self.export(input),
                Some(Command::Cancel) => self.set_info("export cancelled".to_string()),
                _ => {
                    let before = input.clone();
                    edit(&mut input, command, typed);
                    // A problem with the name stays until the name changes.
                    let problem = problem.filter(|_| input == before);
                    self.overlay = Overlay::Export { input, problem };
                }
            },
            other => self.overlay = other,
        }
    }

    fn report_matches(&mut self) {
        let count = self.forest.as_ref().map_or(0, |forest| {
            forest.search(&self.last_query, self.tree.view).len()
        });
        if self.last_query.is_empty() {
            self.status = None;
        } else if count == 0 {
            self.set_error(format!(
                "no model id or folder contains \"{}\"",
                self.last_query
            ));
        } else {
            self.set_info(format!(
                "{count} match{} for \"{}\": n next, N previous, Esc clears",
                if count == 1 { "" } else { "es" },
                self.last_query
            ));
        }
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
