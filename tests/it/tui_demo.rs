//! The explorer on a real trained demo family: the scan's own events drive the app, then
//! synthetic keys walk the recovered forest. Snapshots of what a person sees.

use crate::common;
use crate::tui_fixture;

use crossterm::event::KeyCode;
use insta::assert_snapshot;
use mother::engine::{Phase, ScanEvent};
use mother::tui::app::AppEvent;
use tui_fixture::Harness;

/// The app after a real scan of the small demo family, every event replayed in order.
fn explored(width: u16, height: u16) -> Harness {
    let family = common::small_family();
    let (_, events) = common::run_scan(&common::options(&family, None));
    Harness::replay(width, height, events)
}

#[test]
fn demo_forest_opens_on_the_first_root() {
    let harness = explored(120, 36);
    assert!(
        harness.app.forest().is_some(),
        "the tree view opened by itself"
    );
    assert_snapshot!("demo_tree_120x36", harness.screen());
}

#[test]
fn demo_walk_to_a_grandchild_and_back_to_its_parent() {
    let mut harness = explored(120, 36);
    harness.char('/');
    harness.type_text("full1-c1-g0");
    harness.key(KeyCode::Enter);
    assert_eq!(harness.app.selected_id(), Some("mother-demo/full1-c1-g0"));
    assert_snapshot!("demo_grandchild_120x36", harness.screen());
    harness.char('p');
    let parent = harness.app.selected_id().map(str::to_string);
    assert_ne!(
        parent.as_deref(),
        Some("mother-demo/full1-c1-g0"),
        "p moved to the parent"
    );
    assert_snapshot!("demo_parent_120x36", harness.screen());
}

#[test]
fn demo_help_and_export_prompt_at_80x24() {
    let mut harness = explored(80, 24);
    harness.char('?');
    assert_snapshot!("demo_help_80x24", harness.screen());
    harness.key(KeyCode::Esc);
    harness.char('e');
    assert_snapshot!("demo_export_prompt_80x24", harness.screen());
}

#[test]
fn demo_scan_view_mid_scan() {
    let family = common::small_family();
    let (report, _) = common::run_scan(&common::options(&family, None));
    let models: Vec<_> = report.models.iter().map(|m| m.entry.clone()).collect();
    let totals: Vec<u64> = models.iter().map(|m| m.total_bytes).collect();
    let mut harness = Harness::new(100, 30);
    harness.send(AppEvent::Scan(ScanEvent::Discovered {
        models,
        skipped: Vec::new(),
    }));
    // A moment in a scan: the first few models done or from the cache, two being read.
    for (model, &bytes_done) in totals.iter().enumerate().take(4) {
        let phase = if model % 2 == 0 {
            Phase::Done
        } else {
            Phase::FromCache
        };
        harness.send(AppEvent::Scan(ScanEvent::Phase { model, phase }));
        harness.send(AppEvent::Scan(ScanEvent::Progress { model, bytes_done }));
    }
    for (model, share) in [(4, 3), (5, 1)] {
        harness.send(AppEvent::Scan(ScanEvent::Phase {
            model,
            phase: Phase::Reading,
        }));
        let bytes_done = totals[model] * share / 4;
        harness.send(AppEvent::Scan(ScanEvent::Progress { model, bytes_done }));
    }
    harness.tick(std::time::Duration::from_secs(2));
    assert_snapshot!("demo_scan_mid_scan_100x30", harness.screen());
}
