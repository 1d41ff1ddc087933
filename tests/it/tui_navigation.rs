//! Driving the explorer with synthetic events: search, jumping to parents, focus, mouse,
//! the export prompt's refusal to overwrite, rescans and quitting.

use crate::tui_fixture;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use mother::engine::ScanEvent;
use mother::tui::app::{Action, AppEvent, Focus};
use mother::tui::export_file::{ExportFileError, write_export};
use tui_fixture::Harness;

fn search(harness: &mut Harness, query: &str) {
    harness.char('/');
    harness.type_text(query);
    harness.key(KeyCode::Enter);
}

#[test]
fn the_tree_opens_by_itself_when_the_scan_finishes() {
    let mut harness = Harness::new(80, 24);
    assert!(harness.app.forest().is_none());
    harness.send(AppEvent::Scan(ScanEvent::Finished(Box::new(
        tui_fixture::report(),
    ))));
    assert!(harness.app.forest().is_some());
    assert_eq!(harness.app.selected_id(), Some("acme/base-mini"));
}

#[test]
fn search_is_incremental_and_escape_restores_the_selection() {
    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("acme/chat-mini");
    harness.char('/');
    harness.type_text("pyth");
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini-python"));
    harness.key(KeyCode::Esc);
    assert_eq!(harness.app.selected_id(), Some("acme/chat-mini"));
}

#[test]
fn next_and_previous_match_wrap_around() {
    let mut harness = Harness::with_forest(80, 24);
    search(&mut harness, "CHAT-mini");
    // Tree order: acme/chat-mini, acme/chat-mini-int8, acme/chat-mini-lora, mirror/chat-mini.
    assert_eq!(harness.app.selected_id(), Some("acme/chat-mini"));
    let forward: Vec<_> = (0..4)
        .map(|_| {
            harness.char('n');
            harness.app.selected_id().map(str::to_string)
        })
        .collect();
    assert_eq!(
        forward,
        [
            "acme/chat-mini-int8",
            "acme/chat-mini-lora",
            "mirror/chat-mini",
            "acme/chat-mini",
        ]
        .map(|id| Some(id.to_string()))
    );
    harness.char('N');
    assert_eq!(harness.app.selected_id(), Some("mirror/chat-mini"));
    assert!(
        harness
            .app
            .status()
            .is_some_and(|status| status.contains("match 4 of 4"))
    );
}

#[test]
fn a_search_without_matches_says_so() {
    let mut harness = Harness::with_forest(80, 24);
    search(&mut harness, "llama");
    assert_eq!(harness.app.selected_id(), Some("acme/base-mini"));
    assert!(harness.app.status().is_some_and(|s| s.contains("llama")));
    harness.char('n');
    assert_eq!(harness.app.selected_id(), Some("acme/base-mini"));
}

#[test]
fn p_walks_up_to_the_root_and_stops_there() {
    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("acme/code-mini-python");
    harness.char('p');
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini"));
    harness.char('p');
    assert_eq!(harness.app.selected_id(), Some("acme/base-mini"));
    harness.char('p');
    assert_eq!(harness.app.selected_id(), Some("acme/base-mini"));
    assert!(
        harness
            .app
            .status()
            .is_some_and(|status| status.contains("no parent"))
    );
}

#[test]
fn p_from_a_duplicate_goes_to_its_original_even_when_collapsed() {
    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("mirror/chat-mini");
    harness.char('p');
    assert_eq!(harness.app.selected_id(), Some("acme/chat-mini"));
    // Collapse the root, then search for a leaf: the path opens again.
    harness.char('g');
    harness.char('h');
    search(&mut harness, "int8");
    assert_eq!(harness.app.selected_id(), Some("acme/chat-mini-int8"));
    assert!(harness.screen().contains("acme/chat-mini-int8"));
}

#[test]
fn collapse_hides_children_and_left_goes_to_the_parent_row() {
    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("acme/chat-mini");
    harness.char('h');
    harness.key(KeyCode::Down);
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini"));
    // code-mini is open: the first ← closes it, the second goes up to its parent.
    harness.key(KeyCode::Left);
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini"));
    assert!(!harness.screen().contains("code-mini-python"));
    harness.key(KeyCode::Left);
    assert_eq!(harness.app.selected_id(), Some("acme/base-mini"));
    harness.char('l');
    harness.char('G');
    assert_eq!(
        harness.app.selected_id(),
        None,
        "the last row is a skipped file"
    );
}

#[test]
fn tab_cycles_the_focus_through_every_pane() {
    let mut harness = Harness::with_forest(100, 30);
    let mut seen = Vec::new();
    for _ in 0..4 {
        harness.key(KeyCode::Tab);
        seen.push(harness.app.focus());
    }
    assert_eq!(
        seen,
        [Focus::Evidence, Focus::Layers, Focus::Lineage, Focus::Tree]
    );
    harness.send(AppEvent::Key(KeyEvent::new(
        KeyCode::BackTab,
        KeyModifiers::SHIFT,
    )));
    assert_eq!(harness.app.focus(), Focus::Lineage);
}

#[test]
fn a_click_selects_the_row_under_the_mouse() {
    let mut harness = Harness::with_forest(100, 30);
    let row = harness
        .screen()
        .lines()
        .position(|line| line.contains("other/bert-tiny"))
        .expect("the unrelated model is on screen");
    harness.click(10, row as u16);
    assert_eq!(harness.app.selected_id(), Some("other/bert-tiny"));
}

#[test]
fn key_releases_are_ignored() {
    let mut harness = Harness::with_forest(80, 24);
    let mut release = KeyEvent::new(KeyCode::Down, KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    harness.send(AppEvent::Key(release));
    assert_eq!(harness.app.selected_id(), Some("acme/base-mini"));
}

#[test]
fn export_refuses_to_overwrite_without_a_yes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("mother-tree.dot");
    std::fs::write(&target, "old").expect("seed file");
    let mut harness = Harness::with_export_dir(80, 24, dir.path());
    harness.send(AppEvent::Scan(ScanEvent::Finished(Box::new(
        tui_fixture::report(),
    ))));

    harness.char('e');
    harness.key(KeyCode::Enter);
    assert!(harness.screen().contains("Overwrite it?"));
    harness.char('n');
    assert_eq!(std::fs::read_to_string(&target).expect("read"), "old");
    assert!(harness.app.status().is_some_and(|s| s.contains("kept")));

    harness.char('e');
    harness.key(KeyCode::Enter);
    harness.char('y');
    assert_eq!(
        std::fs::read_to_string(&target).expect("read"),
        "digraph test { // 8 models }\n"
    );
    assert!(harness.app.status().is_some_and(|s| s.contains("wrote")));
}

#[test]
fn export_writes_a_new_name_and_reports_errors_with_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = Harness::with_export_dir(80, 24, dir.path());
    harness.send(AppEvent::Scan(ScanEvent::Finished(Box::new(
        tui_fixture::report(),
    ))));

    harness.char('e');
    harness.ctrl('u');
    harness.type_text("forest.dot");
    harness.key(KeyCode::Enter);
    let written = dir.path().join("forest.dot");
    assert!(written.exists());
    let status = harness.app.status().expect("a status line").to_string();
    assert!(status.contains(&written.display().to_string()), "{status}");

    harness.char('e');
    harness.ctrl('u');
    harness.type_text("missing/forest.dot");
    harness.key(KeyCode::Enter);
    let status = harness.app.status().expect("a status line").to_string();
    assert!(status.starts_with("cannot write"), "{status}");
    assert!(status.contains("missing/forest.dot"), "{status}");
}

#[test]
fn write_export_leaves_an_existing_file_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tree.dot");
    write_export(&path, "first", false).expect("a new file is written");
    let refused = write_export(&path, "second", false);
    assert!(matches!(refused, Err(ExportFileError::Exists { .. })));
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "first");
    write_export(&path, "third", true).expect("overwrite when asked");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "third");
}

#[test]
fn quit_and_rescan_are_reported_to_the_caller() {
    let mut scanning = Harness::new(80, 24);
    assert_eq!(scanning.char('q'), Action::Quit);

    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("acme/code-mini");
    assert_eq!(harness.char('r'), Action::Rescan);
    assert!(harness.app.forest().is_none(), "back to the scan view");
    assert!(harness.screen().contains("scanning /hub"));
    harness.send(AppEvent::Scan(ScanEvent::Finished(Box::new(
        tui_fixture::report(),
    ))));
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini"));
    assert_eq!(
        harness.key(KeyCode::Esc),
        Action::Continue,
        "Esc never quits"
    );
    assert_eq!(harness.char('q'), Action::Quit);
}

#[test]
fn a_failed_scan_is_shown_not_hidden() {
    let mut harness = Harness::new(80, 24);
    harness.send(AppEvent::ScanFailed(
        "/hub: permission denied; run as a user who can read it".to_string(),
    ));
    let screen = harness.screen();
    assert!(screen.contains("scan failed"), "{screen}");
    assert!(screen.contains("permission denied"), "{screen}");
}

#[test]
fn the_scan_list_scrolls_when_models_outnumber_rows() {
    let mut harness = Harness::new(80, 24);
    let template = tui_fixture::entries().remove(0);
    let models: Vec<_> = (0..40)
        .map(|index| {
            let mut entry = template.clone();
            entry.id = format!("zoo/model-{index:02}");
            entry
        })
        .collect();
    harness.send(AppEvent::Scan(ScanEvent::Discovered {
        models,
        skipped: Vec::new(),
    }));
    assert!(harness.screen().contains("zoo/model-00"));
    assert!(!harness.screen().contains("zoo/model-39"));
    harness.char('G');
    assert!(harness.screen().contains("zoo/model-39"));
    assert!(!harness.screen().contains("zoo/model-00"));
    harness.key(KeyCode::Up);
    harness.char('g');
    assert!(harness.screen().contains("zoo/model-00"));
}

#[test]
fn evidence_scrolls_only_as_far_as_its_text() {
    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("acme/code-mini");
    harness.key(KeyCode::Tab);
    assert!(!harness.screen().contains("declared   acme/chat-mini"));
    for _ in 0..10 {
        harness.key(KeyCode::Down);
    }
    assert!(
        harness
            .screen()
            .contains("declared   acme/chat-mini (README.md) ✗ disagrees")
    );
    harness.key(KeyCode::Up);
    harness.key(KeyCode::Up);
    assert!(!harness.screen().contains("declared   acme/chat-mini"));
}

#[test]
fn the_evidence_hint_says_which_way_there_is_more() {
    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("acme/code-mini");
    let screen = harness.screen();
    assert!(screen.contains("Tab, ↓ for more"), "{screen}");
    assert!(!screen.contains("for more above"), "{screen}");
    harness.key(KeyCode::Tab);
    harness.key(KeyCode::Down);
    let screen = harness.screen();
    assert!(screen.contains("↑ ↓ for more"), "{screen}");
    harness.char('G');
    let screen = harness.screen();
    assert!(screen.contains("↑ for more above"), "{screen}");
    assert!(!screen.contains("↓ for more"), "at the bottom:\n{screen}");
    harness.char('g');
    let screen = harness.screen();
    assert!(screen.contains(" ↓ for more "), "{screen}");
    assert!(!screen.contains("↑ ↓ for more"), "at the top:\n{screen}");
    assert!(!screen.contains("for more above"), "at the top:\n{screen}");
}

#[test]
fn search_finds_models_by_the_cache_folder_they_were_found_in() {
    // In a scan of several hub caches only repeated ids name their cache; the search still
    // finds every model of a cache by its folder.
    let mut report = tui_fixture::report();
    for model in &mut report.models {
        if model.entry.id.starts_with("acme/code-mini") {
            model.entry.found_in = "team-b/hub".to_string();
        }
    }
    let mut harness = Harness::new(80, 24);
    harness.send(AppEvent::Scan(ScanEvent::Finished(Box::new(report))));
    search(&mut harness, "team-b");
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini"));
    assert!(harness.screen().contains("2 matches for \"team-b\""));
    search(&mut harness, "nowhere");
    assert!(
        harness
            .screen()
            .contains("no model id or folder contains \"nowhere\"")
    );
}

/// A merge hangs under one of its sources only: `m` reaches the other one, leads from a source
/// to the merge made from it, from a possible merge hub to the merge it is nearest, and says
/// so where it leads nowhere; `Ctrl-o` comes back.
#[test]
fn m_jumps_along_a_merge_and_ctrl_o_comes_back() {
    let mut report = tui_fixture::report();
    let (main, other, merge, hub) = (2, 1, 3, 0);
    report.recovery.edges.retain(|e| e.child != merge);
    report.recovery.merges = vec![mother::lineage::Merge {
        model: merge,
        sources: vec![main, other],
        weights: vec![0.6, 0.4],
        off_line: 0.0,
    }];
    report.recovery.merge_hubs = vec![mother::lineage::MergeHub {
        model: hub,
        merge,
        edges: vec![(hub, other)],
    }];
    let mut harness = Harness::with_report(120, 40, report);

    harness.select_id("acme/code-mini-python");
    harness.char('m');
    assert_eq!(harness.app.selected_id(), Some("acme/chat-mini"));
    let screen = harness.screen();
    assert!(
        screen.contains(
            "acme/code-mini-python is a merge of acme/code-mini (0.60), acme/chat-mini (0.40)"
        ),
        "{screen}"
    );
    harness.ctrl('o');
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini-python"));

    for (from, to, says) in [
        (
            "acme/chat-mini",
            "acme/code-mini-python",
            "acme/chat-mini was merged into acme/code-mini-python",
        ),
        (
            "acme/base-mini",
            "acme/code-mini-python",
            "acme/base-mini is nearest the merge acme/code-mini-python",
        ),
        (
            "acme/chat-mini-int8",
            "acme/chat-mini-int8",
            "m leads nowhere",
        ),
    ] {
        harness.select_id(from);
        harness.char('m');
        assert_eq!(harness.app.selected_id(), Some(to), "from {from}");
        let screen = harness.screen();
        assert!(screen.contains(says), "from {from}: {screen}");
    }
}
