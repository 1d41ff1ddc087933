//! The DOT export prompt and the overwrite question.

use super::{App, Overlay};
use crate::tui::export_file::{ExportFileError, export_target, write_export};
use crate::tui::keys::Command;
use std::path::PathBuf;

impl App {
    /// Enter at the export prompt: writes the file, or keeps the prompt open and says there why
    /// the name names no file.
    pub(super) fn export(&mut self, input: String) {
        match export_target(&self.config.export_dir, &self.config.root, &input) {
            Ok(path) => self.write_dot(path, false),
            Err(problem) => {
                self.overlay = Overlay::Export {
                    input,
                    problem: Some(problem.to_string()),
                }
            }
        }
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

    pub(super) fn handle_confirm(&mut self, command: Option<Command>) {
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
}
