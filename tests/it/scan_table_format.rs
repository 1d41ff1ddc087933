//! The live scan table names each model's format: the files' format from the moment the model is
//! found, refined to the packing of a quantised checkpoint (`gptq`, ...) once its fingerprint
//! is in. At 80 columns every column still fits.

use crate::tui_fixture;

use mother::engine::{Phase, ScanEvent};
use mother::tui::app::AppEvent;
use tui_fixture::Harness;

fn row<'a>(screen: &'a str, id: &str) -> &'a str {
    screen
        .lines()
        .find(|line| line.contains(id))
        .unwrap_or_else(|| panic!("no row for {id} in\n{screen}"))
}

#[test]
fn every_row_shows_its_format_and_a_packing_refines_it() {
    let mut harness = Harness::new(80, 24);
    let entries = tui_fixture::entries();
    harness.send(AppEvent::Scan(ScanEvent::Discovered {
        models: entries.clone(),
        skipped: Vec::new(),
    }));
    harness.draw();
    let screen = harness.screen();
    let heading = screen
        .lines()
        .find(|line| line.contains("MODEL"))
        .expect("a heading");
    for title in ["SIZE", "DTYPE", "FORMAT", "PROGRESS", "PHASE"] {
        assert!(heading.contains(title), "no {title} in {heading:?}");
    }
    for entry in &entries {
        assert!(
            row(&screen, &entry.id).contains(entry.format.name()),
            "{}: no format in\n{screen}",
            entry.id
        );
    }

    harness.send(AppEvent::Scan(ScanEvent::Phase {
        model: 4,
        phase: Phase::Done,
    }));
    harness.send(AppEvent::Scan(ScanEvent::Format {
        model: 4,
        format: "bitsandbytes",
    }));
    harness.draw();
    let screen = harness.screen();
    let refined = row(&screen, &entries[4].id);
    assert!(refined.contains("bitsandbytes"), "{refined}");
    assert!(refined.contains("done"), "the phase still fits: {refined}");
    assert!(refined.contains("100%"), "the bar still fits: {refined}");
}
