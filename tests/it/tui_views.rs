//! Snapshots of every view and panel, driven by synthetic events on the fixture forest.

use crate::tui_fixture;

use crossterm::event::KeyCode;
use insta::assert_snapshot;
use mother::engine::{Phase, ScanEvent};
use mother::tui::app::AppEvent;
use mother::tui::keys::Context;
use std::time::Duration;
use tui_fixture::Harness;

#[test]
fn scan_view_mid_scan() {
    let mut harness = Harness::with_banner(
        80,
        24,
        "No models in ~/.cache/huggingface/hub — showing the demo family",
    );
    harness.send(AppEvent::Scan(ScanEvent::Discovered {
        models: tui_fixture::entries(),
        skipped: tui_fixture::skipped(),
    }));
    let phases = [
        (0, Phase::Done),
        (1, Phase::FromCache),
        (2, Phase::Reading),
        (3, Phase::Reading),
        (5, Phase::Skipped("header is not JSON".to_string())),
    ];
    for (model, phase) in phases {
        harness.send(AppEvent::Scan(ScanEvent::Phase { model, phase }));
    }
    harness.send(AppEvent::Scan(ScanEvent::Progress {
        model: 2,
        bytes_done: 45_400_000,
    }));
    harness.send(AppEvent::Scan(ScanEvent::Progress {
        model: 3,
        bytes_done: 9_080_000,
    }));
    harness.tick(Duration::from_secs(4));
    assert_snapshot!("scan_view_mid_scan", harness.screen());
}

/// On a cache with more models than the screen has rows, the ones being read are listed first,
/// so they are in view wherever their ids sort; finished ones go below the waiting ones.
#[test]
fn scan_view_keeps_the_models_being_read_in_view() {
    let template = tui_fixture::entries().remove(0);
    let models: Vec<_> = (0..40)
        .map(|index| {
            let mut entry = template.clone();
            entry.id = format!("acme/model-{index:02}");
            entry
        })
        .collect();
    let mut harness = Harness::new(80, 24);
    harness.send(AppEvent::Scan(ScanEvent::Discovered {
        models,
        skipped: Vec::new(),
    }));
    for model in 0..5 {
        harness.send(AppEvent::Scan(ScanEvent::Phase {
            model,
            phase: Phase::Done,
        }));
    }
    for model in [31, 37] {
        harness.send(AppEvent::Scan(ScanEvent::Phase {
            model,
            phase: Phase::Reading,
        }));
    }
    let screen = harness.screen();
    let row = |id: &str| screen.lines().position(|line| line.contains(id));
    let (first, second) = (row("acme/model-31"), row("acme/model-37"));
    assert!(first.is_some() && second.is_some(), "{screen}");
    assert!(first < second, "{screen}");
    assert!(
        first < row("acme/model-05"),
        "before the waiting ones: {screen}"
    );
    assert_eq!(
        row("acme/model-00"),
        None,
        "finished ones go last: {screen}"
    );
}

#[test]
fn tree_view_wide() {
    let harness = Harness::with_forest(100, 30);
    assert_snapshot!("tree_view_100x30", harness.screen());
}

#[test]
fn tree_view_wide_with_a_child_selected() {
    let mut harness = Harness::with_forest(100, 30);
    harness.select_id("acme/code-mini");
    assert_snapshot!("tree_view_100x30_child", harness.screen());
}

#[test]
fn tree_view_narrow() {
    let harness = Harness::with_forest(80, 24);
    assert_snapshot!("tree_view_80x24", harness.screen());
}

#[test]
fn evidence_panel_for_an_uncertain_edge() {
    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("acme/code-mini");
    harness.key(KeyCode::Tab);
    assert_snapshot!("panel_evidence", harness.screen());
}

#[test]
fn per_layer_chart_panel() {
    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("acme/code-mini");
    harness.key(KeyCode::Tab);
    harness.key(KeyCode::Tab);
    assert_snapshot!("panel_layers", harness.screen());
}

#[test]
fn lineage_chart_panel() {
    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("acme/code-mini-python");
    for _ in 0..3 {
        harness.key(KeyCode::Tab);
    }
    assert_snapshot!("panel_lineage", harness.screen());
}

#[test]
fn root_panels_show_its_own_layers() {
    let harness = Harness::with_forest(120, 34);
    assert_snapshot!("tree_view_root_120x34", harness.screen());
}

#[test]
fn help_screen() {
    let mut harness = Harness::with_forest(80, 24);
    harness.char('?');
    assert_snapshot!("help_screen", harness.screen());
}

#[test]
fn help_screen_scrolls_to_its_last_line() {
    let mut harness = Harness::with_forest(80, 24);
    harness.char('?');
    for _ in 0..100 {
        harness.char('j');
    }
    assert_snapshot!("help_screen_end", harness.screen());
    harness.key(KeyCode::Esc);
    assert!(!harness.screen().contains("Keys"));
}

#[test]
fn search_prompt() {
    let mut harness = Harness::with_forest(80, 24);
    harness.char('/');
    harness.type_text("code");
    assert_snapshot!("search_prompt", harness.screen());
}

#[test]
fn export_prompt_and_overwrite_confirmation() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("mother-tree.dot"), "old").expect("seed file");
    let mut harness = Harness::with_export_dir(80, 24, dir.path());
    harness.send(AppEvent::Scan(ScanEvent::Finished(Box::new(
        tui_fixture::report(),
    ))));
    harness.char('e');
    let prompt = harness
        .screen()
        .replace(&dir.path().display().to_string(), "[TEMP]");
    assert_snapshot!("export_prompt", prompt);
    harness.key(KeyCode::Enter);
    let confirm = harness
        .screen()
        .replace(&dir.path().display().to_string(), "[TEMP]");
    assert_snapshot!("export_overwrite_confirmation", confirm);
}

/// Enter with no name, or with a folder's name, writes nothing: the prompt stays open and says
/// what is wrong and what to type, until the name is edited.
#[test]
fn export_prompt_refuses_an_empty_name_and_a_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("graphs")).expect("a folder");
    let mut harness = Harness::with_export_dir(80, 24, dir.path());
    harness.send(AppEvent::Scan(ScanEvent::Finished(Box::new(
        tui_fixture::report(),
    ))));
    let status = |harness: &Harness| {
        let screen = harness.screen();
        screen.lines().rev().nth(1).unwrap_or_default().to_string()
    };
    harness.char('e');
    harness.ctrl('u');
    harness.key(KeyCode::Enter);
    assert_eq!(harness.app.context(), Context::Prompt);
    assert!(
        status(&harness).contains("Export DOT to: ▏  type a file name for the DOT export"),
        "{}",
        harness.screen()
    );
    harness.type_text("graphs");
    assert!(!status(&harness).contains("type a file name"), "edited");
    harness.key(KeyCode::Enter);
    assert_eq!(
        harness.app.context(),
        Context::Prompt,
        "no overwrite question"
    );
    assert!(
        status(&harness).contains("graphs is a folder — type a file name in it"),
        "{}",
        harness.screen()
    );
    let written = |dir: &std::path::Path| std::fs::read_dir(dir).expect("readable").count();
    assert_eq!(written(&dir.path().join("graphs")), 0);
    assert_eq!(written(dir.path()), 1, "only the folder");
    harness.type_text("/tree.dot");
    harness.key(KeyCode::Enter);
    assert_eq!(harness.app.context(), Context::Tree);
    assert!(dir.path().join("graphs/tree.dot").is_file());
}

#[test]
fn a_forest_of_bundles_alone_names_its_bundles_in_the_header() {
    let mut report = tui_fixture::report();
    let bundle = |path: &str| mother::engine::BundleSource {
        path: std::path::PathBuf::from(path),
        host: "gpu-1".to_string(),
        root: std::path::PathBuf::from("/data/hub"),
        models: 4,
    };
    report.bundles = vec![bundle("part-1.mfb"), bundle("part-2.mfb")];
    report.root = std::path::PathBuf::from("part-1.mfb");
    let mut harness = Harness::new(120, 30);
    harness.send(AppEvent::Scan(ScanEvent::Finished(Box::new(report))));
    let header = harness
        .screen()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        header.contains("2 bundles (part-1.mfb, part-2.mfb)"),
        "{header}"
    );
}
