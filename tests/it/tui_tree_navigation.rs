//! The tree as a gitui or k9s user expects it: nothing cut without a sign, guide lines, counts on
//! closed rows, filters, sorts, paging, tree jumps, a jump list, copying, and keys that do not
//! surprise (Esc never quits, unknown keys say so, messages expire).

use crate::common;
use crate::tui_fixture;

use crossterm::event::KeyCode;
use insta::assert_snapshot;
use mother::engine::ScanEvent;
use mother::tui::app::clipboard::osc52;
use mother::tui::app::{Action, AppEvent};
use mother::tui::forest::{Filter, NodeId};
use std::time::Duration;
use tui_fixture::Harness;

/// The app after a real scan of the small demo family (as in `tui_demo.rs`).
fn demo(width: u16, height: u16) -> Harness {
    let family = common::small_family();
    let (_, events) = common::run_scan(&common::options(&family, None));
    Harness::replay(width, height, events)
}

/// Every model row on screen keeps its badges whole and its confidence (or its role).
fn assert_nothing_cut(screen: &str) {
    for line in screen.lines() {
        let opened = line.matches('[').count();
        let closed = line.matches(']').count();
        assert_eq!(opened, closed, "a badge is cut: {line}");
        // A tree row: guide or fold symbol, then an id.
        let tree_row = ["├", "└", "▼ ", "▶ "]
            .iter()
            .any(|mark| line.contains(mark))
            && line.contains("mother-");
        if tree_row {
            // From the id to the pane's right border.
            let from_id = &line[line.find("mother-").unwrap_or(0)..];
            let tree_part = from_id.split('│').next().unwrap_or(from_id);
            let has_role = ["root", "[dup]", "guess"]
                .iter()
                .any(|word| tree_part.contains(word))
                || tree_part
                    .split_whitespace()
                    .any(|word| word.len() == 4 && word.parse::<f64>().is_ok());
            assert!(has_role, "a row lost its confidence: {line}");
        }
    }
}

#[test]
fn demo_forest_at_three_sizes_cuts_no_badge() {
    for (width, height) in [(80, 24), (100, 30), (120, 40)] {
        let mut harness = demo(width, height);
        let name = format!("demo_forest_{width}x{height}");
        assert_nothing_cut(&harness.screen());
        assert_snapshot!(name, harness.screen());
        // And further down the forest, where the copies and quantised models are.
        for _ in 0..4 {
            harness.key(KeyCode::PageDown);
            assert_nothing_cut(&harness.screen());
        }
        let bar = harness
            .screen()
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        assert!(bar.contains("q quit"), "{bar}");
        assert!(bar.contains("? help"), "{bar}");
    }
}

/// The tree rows of a screen whose ids contain `part`.
fn tree_rows<'s>(screen: &'s str, part: &str) -> Vec<&'s str> {
    screen
        .lines()
        .filter(|line| {
            let tree_row = ["├", "└", "▼ ", "▶ "]
                .iter()
                .any(|mark| line.contains(mark));
            tree_row && line.contains(part)
        })
        .collect()
}

/// At 80 columns, rows many levels deep with long ids keep their confidence and whole badges;
/// the parameter count and the metadata badges go before the id is shortened, and the id is
/// shortened in its middle before the edge's badges go.
#[test]
fn deep_rows_with_long_ids_keep_the_id_and_the_confidence() {
    let mut harness = Harness::with_report(80, 24, tui_fixture::deep_chain_report(16));
    let top = harness.screen();
    harness.char('G');
    let bottom = harness.screen();
    let rows = [tree_rows(&top, "long"), tree_rows(&bottom, "long")].concat();
    assert!(rows.len() >= 12, "{top}{bottom}");
    for row in &rows {
        assert_eq!(row.matches('[').count(), row.matches(']').count(), "{row}");
        let root = row.contains("generation-00");
        assert!(
            root || row.contains("0.42"),
            "a row lost its confidence: {row}"
        );
    }
    // Near the top, the parameter count and the metadata badges went to keep the edge's badges
    // and all of the id's name but its organisation.
    let shallow = tree_rows(&top, "generation-01").concat();
    assert!(
        shallow.contains("…/generation-01-of-a-long-chain  0.42 guess [adapter] [r=8]"),
        "{shallow}"
    );
    assert!(
        rows.iter()
            .all(|row| !row.contains("22.7M") && !row.contains("decl")),
        "{top}{bottom}"
    );
    // Deepest down, the badges went too, and the id takes the room they leave.
    let deepest = tree_rows(&bottom, "-15-of-a-long-chain").concat();
    assert!(deepest.contains("…"), "{bottom}");
    assert!(deepest.contains("  0.42 guess"), "{bottom}");
    assert!(!deepest.contains('['), "{bottom}");
}

#[test]
fn guides_show_who_hangs_from_whom() {
    let harness = Harness::with_forest(100, 30);
    let screen = harness.screen();
    assert!(screen.contains("│├▼ acme/chat-mini"), "{screen}");
    assert!(screen.contains("││  └─ mirror/chat-mini"), "{screen}");
    assert!(screen.contains("│└▼ acme/code-mini"), "{screen}");
    assert!(screen.contains("│   └─ acme/code-mini-python"), "{screen}");
}

#[test]
fn a_closed_row_counts_everything_below_it() {
    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("acme/chat-mini");
    harness.key(KeyCode::Left);
    assert!(harness.screen().contains("├▶ acme/chat-mini (+3)"));
    harness.char('-');
    assert!(harness.screen().contains("▶ acme/base-mini (+6)"));
    harness.char('+');
    assert!(harness.screen().contains("├▼ acme/chat-mini"));
}

#[test]
fn filter_keeps_doubtful_edges_and_esc_clears_it() {
    let mut harness = Harness::with_forest(100, 30);
    harness.char('f');
    let screen = harness.screen();
    assert!(screen.contains("filter: confidence below 0.90"), "{screen}");
    assert!(screen.contains("acme/code-mini"), "{screen}");
    assert!(!screen.contains("chat-mini-int8"), "{screen}");
    assert!(!screen.contains("bert-tiny"), "{screen}");
    harness.char('f');
    assert!(
        harness
            .screen()
            .contains("filter: declared parent disagrees")
    );
    assert_eq!(harness.key(KeyCode::Esc), Action::Continue);
    let screen = harness.screen();
    assert!(!screen.contains("filter:"), "{screen}");
    assert!(screen.contains("bert-tiny"), "{screen}");
}

/// The filter the tree shows now.
fn filter(harness: &Harness) -> Filter {
    harness.app.view().filter
}

#[test]
fn the_tree_filter_is_the_tree_the_cycle_started_on() {
    // bert-tiny is unrelated: the doubtful filter hides it and moves the selection to the
    // first tree, which must not become "this tree".
    let mut harness = Harness::with_forest(100, 30);
    harness.select_id("other/bert-tiny");
    harness.char('f');
    assert_eq!(filter(&harness), Filter::Doubtful);
    harness.char('f');
    assert_eq!(filter(&harness), Filter::Disagreeing);
    harness.char('f');
    assert_eq!(filter(&harness), Filter::Tree(NodeId::Unrelated));
    let screen = harness.screen();
    assert!(screen.contains("filter: unrelated models"), "{screen}");
    assert_eq!(harness.app.selected_id(), Some("other/bert-tiny"));
    harness.char('f');
    assert_eq!(filter(&harness), Filter::All);
    assert_eq!(harness.app.selected_id(), Some("other/bert-tiny"));
}

#[test]
fn an_empty_filter_does_not_skip_the_tree_filter() {
    // No declared parents: "declared parent disagrees" matches nothing and shows no row.
    let mut report = tui_fixture::report();
    for model in &mut report.models {
        model.entry.declared_parent = None;
    }
    let mut harness = Harness::new(100, 30);
    harness.send(AppEvent::Scan(ScanEvent::Finished(Box::new(report))));
    harness.select_id("acme/code-mini-python");
    harness.char('f');
    harness.char('f');
    assert_eq!(filter(&harness), Filter::Disagreeing);
    assert_eq!(harness.app.selected(), None, "no row is shown");
    harness.char('f');
    let base = harness.app.forest().map(|forest| forest.tops()[0]);
    assert_eq!(Some(filter(&harness)), base.map(Filter::Tree));
    assert!(harness.screen().contains("filter: tree of acme/base-mini"));
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini-python"));
}

#[test]
fn a_move_during_the_cycle_picks_the_tree_and_esc_restores_the_place() {
    // The doubtful filter hides bert-tiny; the user then moves within the first tree, and
    // that tree, not the one the cycle started on, is "this tree".
    let mut harness = Harness::with_forest(100, 30);
    harness.select_id("other/bert-tiny");
    harness.char('f');
    harness.key(KeyCode::Down);
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini"));
    harness.char('f');
    harness.char('f');
    let base = harness.app.forest().map(|forest| forest.tops()[0]);
    assert_eq!(Some(filter(&harness)), base.map(Filter::Tree));

    // Esc after an empty filter puts the selection back where the user left it.
    let mut report = tui_fixture::report();
    for model in &mut report.models {
        model.entry.declared_parent = None;
    }
    let mut harness = Harness::new(100, 30);
    harness.send(AppEvent::Scan(ScanEvent::Finished(Box::new(report))));
    harness.select_id("acme/chat-mini-int8");
    harness.char('f');
    harness.char('f');
    assert_eq!(harness.app.selected(), None);
    harness.key(KeyCode::Esc);
    assert_eq!(filter(&harness), Filter::All);
    assert_eq!(harness.app.selected_id(), Some("acme/chat-mini-int8"));
}

#[test]
fn sort_cycles_and_says_so() {
    let mut harness = Harness::with_forest(100, 30);
    harness.char('s');
    let screen = harness.screen();
    assert!(
        screen.contains("sort: confidence (lowest first) (s)"),
        "{screen}"
    );
    // The medium edge now comes before the high one.
    let code = screen.find("acme/code-mini").expect("code-mini shown");
    let chat = screen.find("acme/chat-mini ").expect("chat-mini shown");
    assert!(code < chat, "{screen}");
    harness.char('s');
    assert!(harness.screen().contains("sort: size"));
    harness.char('s');
    assert!(harness.screen().contains("sort: name"));
}

#[test]
fn page_down_and_half_pages_move_by_the_pane() {
    let mut harness = Harness::with_forest(80, 24);
    harness.key(KeyCode::PageDown);
    let after_page = harness.app.selected();
    assert_ne!(after_page, None);
    assert_ne!(harness.app.selected_id(), Some("acme/base-mini"));
    harness.key(KeyCode::PageUp);
    assert_eq!(harness.app.selected_id(), Some("acme/base-mini"));
    harness.ctrl('d');
    let half = harness.app.selected_id().map(str::to_string);
    assert_ne!(half.as_deref(), Some("acme/base-mini"));
    harness.ctrl('u');
    assert_eq!(harness.app.selected_id(), Some("acme/base-mini"));
}

#[test]
fn tree_jumps_and_the_jump_list() {
    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("acme/code-mini-python");
    harness.char('p');
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini"));
    harness.char('p');
    assert_eq!(harness.app.selected_id(), Some("acme/base-mini"));
    harness.ctrl('o');
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini"));
    harness.key(KeyCode::Backspace);
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini-python"));
    harness.char(']');
    assert!(
        harness.app.selected_id().is_none(),
        "on the Unrelated group"
    );
    harness.char('[');
    assert_eq!(harness.app.selected_id(), Some("acme/base-mini"));
}

#[test]
fn esc_after_an_accepted_search_does_not_quit() {
    let mut harness = Harness::with_forest(80, 24);
    harness.char('/');
    harness.type_text("python");
    harness.key(KeyCode::Enter);
    assert_eq!(harness.key(KeyCode::Esc), Action::Continue);
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini-python"));
    assert_eq!(harness.key(KeyCode::Esc), Action::Continue);
    assert_eq!(harness.char('q'), Action::Quit);
}

#[test]
fn a_small_terminal_says_what_it_needs() {
    let harness = Harness::with_forest(60, 20);
    assert!(
        harness
            .screen()
            .contains("terminal too small (need 80x24, have 60x20)")
    );
}

/// The screen's text, its rows trimmed and joined by spaces, as a wrapped message reads.
fn joined(screen: &str) -> String {
    screen
        .lines()
        .map(|line| line.trim_matches('"').trim())
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_small_terminal_message_wraps_to_the_screen() {
    let harness = Harness::with_forest(20, 12);
    assert_eq!(
        joined(&harness.screen()),
        "terminal too small (need 80x24, have 20x12): enlarge the window, or q to quit"
    );
    // Too short for all of it: the short words, whole.
    let harness = Harness::with_forest(24, 3);
    assert_eq!(
        joined(&harness.screen()),
        "need 80x24, have 24x3: enlarge, or q quits"
    );
}

/// While the screen is too small, keys and clicks change nothing the user would find moved
/// once it is big enough again; only quitting acts.
#[test]
fn keys_on_a_small_terminal_change_nothing_but_quit() {
    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("acme/chat-mini");
    let before = harness.screen();
    harness.terminal.backend_mut().resize(60, 20);
    harness.send(AppEvent::Resize(60, 20));
    assert_eq!(harness.app.context(), mother::tui::keys::Context::TooSmall);
    for key in [
        KeyCode::Down,
        KeyCode::Enter,
        KeyCode::Tab,
        KeyCode::Esc,
        KeyCode::End,
    ] {
        assert_eq!(harness.key(key), Action::Continue);
    }
    for c in ['j', 'G', 'h', '/', 'e', 'f', 's', '?', 't', 'r', 'y', 'x'] {
        assert_eq!(harness.char(c), Action::Continue, "{c}");
    }
    harness.click(5, 4);
    assert_eq!(harness.app.selected_id(), Some("acme/chat-mini"));
    assert_eq!(harness.app.take_clipboard(), None);
    harness.terminal.backend_mut().resize(80, 24);
    harness.send(AppEvent::Resize(80, 24));
    assert_eq!(harness.screen(), before);
    harness.terminal.backend_mut().resize(60, 20);
    harness.send(AppEvent::Resize(60, 20));
    assert_eq!(harness.char('q'), Action::Quit);
    assert_eq!(harness.ctrl('c'), Action::Quit);
}

#[test]
fn unknown_keys_point_to_help_and_messages_expire() {
    let mut harness = Harness::with_forest(80, 24);
    harness.char('x');
    assert_eq!(harness.app.status(), Some("x: not a key here — ? for help"));
    harness.tick(Duration::from_secs(6));
    assert_eq!(harness.app.status(), None);
}

#[test]
fn copy_hands_an_osc52_sequence_to_the_caller() {
    let mut harness = Harness::with_forest(80, 24);
    harness.char('y');
    assert_eq!(
        harness.app.status(),
        Some("copied the id to the clipboard: acme/base-mini")
    );
    let sequence = harness.app.take_clipboard().expect("a copy was asked for");
    assert_eq!(sequence, osc52("acme/base-mini"));
    assert_eq!(sequence, "\x1b]52;c;YWNtZS9iYXNlLW1pbmk=\x07");
    assert_eq!(harness.app.take_clipboard(), None, "handed over once");
    harness.char('Y');
    assert_eq!(
        harness.app.status(),
        Some("copied the folder of acme/base-mini to the clipboard: /hub/acme/base-mini")
    );
}

/// A copied path longer than the status line keeps the words saying what was copied and the
/// path's end, and gives up the path's middle.
#[test]
fn a_long_copied_path_keeps_its_end_on_the_status_line() {
    let mut report = tui_fixture::report();
    let snapshot = "/home/ada/.cache/huggingface/hub/models--acme--base-mini/snapshots/\
                    0123456789abcdef0123456789abcdef01234567";
    report.models[0].entry.dir = snapshot.into();
    let mut harness = Harness::with_report(80, 24, report);
    harness.char('Y');
    let screen = harness.screen();
    let status = screen.lines().rev().nth(1).unwrap_or_default();
    let status = status.trim_matches('"').trim_end();
    assert!(
        status.starts_with("copied the folder of acme/base-mini to the clipboard: …"),
        "{status}"
    );
    assert!(status.ends_with("0123456789abcdef01234567"), "{status}");
    assert_eq!(status.chars().count(), 80, "{status}");
    assert_eq!(
        harness.app.take_clipboard(),
        Some(osc52(snapshot)),
        "the whole path is copied"
    );
}

/// The overwrite question keeps its `y / n` however long the file's path is.
#[test]
fn the_overwrite_question_survives_a_long_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let deep = dir
        .path()
        .join("a-folder-with-a-rather-long-name")
        .join("and-another-one-below-it-just-as-long");
    std::fs::create_dir_all(&deep).expect("folders");
    std::fs::write(deep.join("mother-tree.dot"), "old").expect("seed file");
    let mut harness = Harness::with_export_dir(80, 24, &deep);
    harness.send(AppEvent::Scan(ScanEvent::Finished(Box::new(
        tui_fixture::report(),
    ))));
    harness.char('e');
    harness.key(KeyCode::Enter);
    let screen = harness.screen();
    let question = screen.lines().rev().nth(1).unwrap_or_default();
    let question = question.trim_matches('"').trim_end();
    assert!(
        question.ends_with("mother-tree.dot exists. Overwrite it? y / n"),
        "{question}"
    );
    assert!(question.contains('…'), "{question}");
}

/// A file skipped inside a hub repo is named by the repo on its row, in the tree and in the
/// scan table, not by its path through `snapshots/<commit>`; the evidence keeps the whole path.
#[test]
fn skipped_hub_files_are_named_by_their_repo() {
    let snapshot = "/hub/models--acme--broken/snapshots/0123456789abcdef0123456789abcdef01234567";
    let skipped = vec![mother::discover::Skipped {
        path: format!("{snapshot}/model.safetensors").into(),
        reason: "header is not JSON — re-download acme/broken".to_string(),
    }];
    let mut report = tui_fixture::report();
    report.skipped = skipped.clone();
    let mut harness = Harness::with_report(100, 30, report);
    harness.char('G');
    let screen = harness.screen();
    assert!(
        screen.contains("└─ acme/broken/model.safetensors  header is…"),
        "{screen}"
    );
    let evidence = joined(&screen);
    assert!(
        evidence.contains("models--acme--broken/snapshots/"),
        "{screen}"
    );

    let mut scan = Harness::new(100, 30);
    scan.send(AppEvent::Scan(ScanEvent::Discovered {
        models: tui_fixture::entries(),
        skipped,
    }));
    let screen = scan.screen();
    assert!(screen.contains("acme/broken/model.safetenso"), "{screen}");
    assert!(!screen.contains("models--"), "{screen}");
}

#[test]
fn the_selection_stays_in_view_after_a_resize() {
    let mut harness = Harness::with_forest(80, 40);
    harness.char('G');
    harness.terminal.backend_mut().resize(80, 24);
    harness.send(AppEvent::Resize(80, 24));
    assert!(harness.screen().contains("broken/model.safetensors"));
}

#[test]
fn search_matches_are_marked_in_the_tree() {
    let mut harness = Harness::with_forest(80, 24);
    harness.char('/');
    harness.type_text("mini");
    let buffer = harness.terminal.backend().buffer().clone();
    let underlined = buffer
        .content()
        .iter()
        .filter(|cell| cell.modifier.contains(ratatui::style::Modifier::UNDERLINED))
        .count();
    assert!(underlined >= 4 * 5, "{underlined} cells marked");
}

#[test]
fn rows_below_a_qualified_top_drop_the_cache_they_share_with_it() {
    // A scan of several hub caches qualifies repeated ids with their cache; the tree names the
    // cache once, on the top row, and the rows below read as in a scan of that cache alone.
    let mut report = tui_fixture::report();
    tui_fixture::qualify(&mut report.models, "team-a/hub");
    let mut harness = Harness::new(120, 36);
    harness.send(AppEvent::Scan(ScanEvent::Finished(Box::new(report))));
    let screen = harness.screen();
    assert!(screen.contains("▼ team-a/hub:acme/base-mini "), "{screen}");
    assert!(screen.contains("├▼ acme/chat-mini "), "{screen}");
    assert!(!screen.contains("├▼ team-a/hub:acme/chat-mini"), "{screen}");
    // The selected model's whole id stays in the evidence panel.
    harness.select_id("team-a/hub:acme/chat-mini");
    assert!(
        harness
            .screen()
            .contains("team-a/hub:acme/chat-mini  ←  team-a/hub:acme/base-mini"),
        "{}",
        harness.screen()
    );
}

#[test]
fn a_scan_of_several_caches_lists_each_caches_trees_under_a_row_of_its_own() {
    let mut harness = Harness::with_report(120, 40, tui_fixture::two_cache_report());
    let screen = harness.screen();
    assert!(screen.contains("2 trees in 2 folders"), "{screen}");
    assert!(
        screen.contains("▼ team-a/hub  1 tree · 7 models"),
        "{screen}"
    );
    assert!(
        screen.contains("▼ team-b/hub  1 tree · 7 models"),
        "{screen}"
    );
    // Below its cache's row a tree reads as a scan of that cache alone.
    assert!(screen.contains("└▼ acme/base-mini "), "{screen}");
    assert!(!screen.contains("▼ team-a/hub:acme/base-mini"), "{screen}");
    // The cache's own row says where it is and what the shortened ids leave out.
    assert_eq!(harness.app.selected(), Some(NodeId::Place(0)));
    let screen = harness.screen();
    assert!(screen.contains("folder     /hub/team-a/hub"), "{screen}");
    assert!(
        screen.contains("rows below leave out team-a/hub:"),
        "{screen}"
    );
    harness.char('y');
    assert!(
        harness
            .screen()
            .contains("copied the folder to the clipboard: /hub/team-a/hub"),
        "{}",
        harness.screen()
    );
    // Closed, a cache's row keeps its summary and needs no count of hidden rows.
    harness.key(KeyCode::Left);
    let screen = harness.screen();
    assert!(
        screen.contains("▶ team-a/hub  1 tree · 7 models"),
        "{screen}"
    );
    harness.key(KeyCode::Right);
    // A model's panel says which cache it was found in.
    harness.select_id("team-b/hub:acme/code-mini");
    let screen = harness.screen();
    assert!(screen.contains("found in   team-b/hub"), "{screen}");
    // The unrelated models of both caches share one group and keep their whole ids.
    harness.char('G');
    let screen = harness.screen();
    assert!(screen.contains("team-b/hub:other/bert-tiny"), "{screen}");

    // `]` goes from tree to tree, past the row of the next cache.
    harness.char('g');
    harness.char(']');
    assert_eq!(harness.app.selected_id(), Some("team-a/hub:acme/base-mini"));
    harness.char(']');
    assert_eq!(harness.app.selected_id(), Some("team-b/hub:acme/base-mini"));
    harness.char('[');
    assert_eq!(harness.app.selected_id(), Some("team-a/hub:acme/base-mini"));

    // "This tree" on a cache's row keeps that cache's trees.
    harness.char('g');
    for _ in 0..3 {
        harness.char('f');
    }
    assert_eq!(harness.app.view().filter, Filter::Tree(NodeId::Place(0)));
    let screen = harness.screen();
    assert!(screen.contains("trees found in team-a/hub"), "{screen}");
    assert!(!screen.contains("team-b/hub"), "{screen}");
}

#[test]
fn a_cache_whose_folder_its_models_do_not_show_says_so() {
    // Models from a bundle keep the folders they had on the machine that read them; a cache
    // whose folder none of them shows has no folder to name or copy.
    let mut report = tui_fixture::two_cache_report();
    for model in &mut report.models {
        if model.entry.found_in == "team-b/hub" {
            model.entry.dir = std::path::PathBuf::from("/srv/models").join(&model.entry.id);
        }
    }
    let mut harness = Harness::with_report(120, 40, report);
    // Only the top rows: the two caches, Unrelated, Skipped.
    harness.char('-');
    harness.char('g');
    harness.key(KeyCode::Down);
    assert_eq!(harness.app.selected(), Some(NodeId::Place(1)));
    let screen = harness.screen();
    assert!(
        screen.contains("folder     not known here: its models came from a bundle"),
        "{screen}"
    );
    harness.char('y');
    assert!(
        harness
            .screen()
            .contains("team-b/hub: its folder is not known here"),
        "{}",
        harness.screen()
    );
}
