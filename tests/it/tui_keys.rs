//! The key table: complete, unambiguous, and the same table the help screen shows.

use crate::tui_fixture;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mother::tui::keys::{self, Command, Context, KEYS};
use std::collections::HashSet;
use tui_fixture::Harness;

/// Every command; the match has no wildcard, so a new command fails to compile until it is
/// listed here (and so checked below).
fn all_commands() -> Vec<Command> {
    let all = vec![
        Command::Up,
        Command::Down,
        Command::Collapse,
        Command::Expand,
        Command::Toggle,
        Command::First,
        Command::Last,
        Command::Search,
        Command::NextMatch,
        Command::PreviousMatch,
        Command::JumpToParent,
        Command::Tensors,
        Command::CloseTensors,
        Command::FocusNext,
        Command::FocusPrevious,
        Command::Export,
        Command::Rescan,
        Command::Help,
        Command::Quit,
        Command::CloseHelp,
        Command::Accept,
        Command::Cancel,
        Command::DeleteChar,
        Command::ClearInput,
        Command::Overwrite,
        Command::KeepFile,
        Command::PageUp,
        Command::PageDown,
        Command::HalfPageUp,
        Command::HalfPageDown,
        Command::NextTree,
        Command::PreviousTree,
        Command::CollapseAll,
        Command::ExpandAll,
        Command::JumpAlongMerge,
        Command::JumpBack,
        Command::Filter,
        Command::Sort,
        Command::CopyId,
        Command::CopyPath,
        Command::Back,
    ];
    for command in &all {
        match command {
            Command::Up
            | Command::Down
            | Command::Collapse
            | Command::Expand
            | Command::Toggle
            | Command::First
            | Command::Last
            | Command::Search
            | Command::NextMatch
            | Command::PreviousMatch
            | Command::JumpToParent
            | Command::JumpAlongMerge
            | Command::Tensors
            | Command::CloseTensors
            | Command::FocusNext
            | Command::FocusPrevious
            | Command::Export
            | Command::Rescan
            | Command::Help
            | Command::Quit
            | Command::CloseHelp
            | Command::Accept
            | Command::Cancel
            | Command::DeleteChar
            | Command::ClearInput
            | Command::Overwrite
            | Command::KeepFile
            | Command::PageUp
            | Command::PageDown
            | Command::HalfPageUp
            | Command::HalfPageDown
            | Command::NextTree
            | Command::PreviousTree
            | Command::CollapseAll
            | Command::ExpandAll
            | Command::JumpBack
            | Command::Filter
            | Command::Sort
            | Command::CopyId
            | Command::CopyPath
            | Command::Back => {}
        }
    }
    all
}

#[test]
fn every_command_has_a_key_and_a_help_line() {
    for command in all_commands() {
        let rows: Vec<_> = KEYS.iter().filter(|row| row.action == command).collect();
        assert!(!rows.is_empty(), "{command:?} has no key");
        for row in rows {
            assert!(!row.help.trim().is_empty(), "{command:?} has no help line");
            assert!(!row.keys.is_empty(), "{command:?} row lists no keys");
            assert!(!row.contexts.is_empty(), "{command:?} row applies nowhere");
        }
    }
}

#[test]
fn no_key_is_bound_twice_in_one_context() {
    for context in Context::ALL {
        let mut seen = HashSet::new();
        for row in keys::bindings(context) {
            for key in row.keys {
                assert!(
                    seen.insert(*key),
                    "{} is bound twice in {context:?}",
                    key.label()
                );
            }
        }
    }
}

#[test]
fn every_context_has_a_way_out() {
    // Esc backs out and never quits; q quits where there is nothing open to close.
    let quit = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    for context in [Context::Scan, Context::Tree, Context::Panels] {
        assert_eq!(
            keys::command_for(context, &quit),
            Some(Command::Quit),
            "{context:?}"
        );
    }
    let exits = [
        (Context::Scan, Command::Back),
        (Context::Tree, Command::Back),
        (Context::Panels, Command::Back),
        (Context::Help, Command::CloseHelp),
        (Context::Prompt, Command::Cancel),
        (Context::Confirm, Command::KeepFile),
    ];
    for (context, command) in exits {
        let escape = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
        assert_eq!(
            keys::command_for(context, &escape),
            Some(command),
            "{context:?}"
        );
    }
}

#[test]
fn shifted_keys_match_their_table_rows() {
    let last = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
    assert_eq!(keys::command_for(Context::Tree, &last), Some(Command::Last));
    let back = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(
        keys::command_for(Context::Tree, &back),
        Some(Command::FocusPrevious)
    );
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(
        keys::command_for(Context::Scan, &ctrl_c),
        Some(Command::Quit)
    );
    let plain_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE);
    assert_eq!(keys::command_for(Context::Scan, &plain_c), None);
}

#[test]
fn the_help_screen_shows_every_row_of_the_table() {
    let mut harness = Harness::with_forest(100, 60);
    harness.char('?');
    // The help is taller than the screen: read it page by page.
    let mut screen = harness.screen();
    for _ in 0..5 {
        harness.key(KeyCode::PageDown);
        screen.push_str(&harness.screen());
    }
    for row in KEYS {
        assert!(
            screen.contains(row.help),
            "help screen lacks {:?}",
            row.help
        );
        assert!(
            screen.contains(&keys::keys_label(row)),
            "help screen lacks the keys {:?}",
            keys::keys_label(row)
        );
    }
}

#[test]
fn the_help_bar_only_names_keys_of_the_current_context() {
    let harness = Harness::with_forest(120, 30);
    let screen = harness.screen();
    let bar = screen.lines().last().expect("a help bar line");
    for row in KEYS {
        let Some(word) = row.bar else { continue };
        let shown = bar.contains(&format!("{} {word}", row.keys[0].label()));
        let applies = row.contexts.contains(&Context::Tree);
        assert_eq!(shown, applies, "bar and table disagree on {word:?}: {bar}");
    }
}
