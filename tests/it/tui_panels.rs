//! The panels beside the tree: the evidence never contradicts itself for any kind of node, the
//! chart scales stay within what kurtosis can be, and the tensor view sorts and scrolls. On the
//! hand-made fixture forest (every node kind, no training) and one real demo family scan.

use crate::common;
use crate::tui_fixture;

use crossterm::event::KeyCode;
use insta::assert_snapshot;
use mother::tui::charts::{SymlogAxis, value_bounds};
use mother::tui::evidence;
use mother::tui::forest::{Forest, NodeId};
use mother::tui::keys::Context;
use mother::tui::numbers;
use mother::tui::tensor_table::TensorTable;
use mother::tui::theme::Theme;
use tui_fixture::Harness;

fn fixture_forest() -> Forest {
    Forest::new(tui_fixture::report())
}

fn model(forest: &Forest, id: &str) -> usize {
    (0..forest.report().models.len())
        .find(|&index| forest.id(index) == id)
        .unwrap_or_else(|| panic!("{id} is in the fixture"))
}

/// The evidence panel of a node as plain text, one line each.
fn evidence_text(forest: &Forest, node: NodeId) -> String {
    evidence::lines(forest, Some(node), Theme::new(false))
        .iter()
        .map(|line| {
            line.spans
                .iter()
                .map(|span| span.content.as_ref())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn model_evidence(forest: &Forest, id: &str) -> String {
    evidence_text(forest, NodeId::Model(model(forest, id)))
}

/// Checks every panel must pass: no negative zero, and a printed confidence's word is the
/// word of the printed number.
fn assert_consistent(text: &str) {
    assert!(!text.contains("-0.000"), "negative zero in:\n{text}");
    for line in text.lines().filter(|line| line.starts_with("confidence")) {
        let mut words = line.split_whitespace().skip(1);
        let value: f64 = words
            .next()
            .and_then(|word| word.parse().ok())
            .unwrap_or_else(|| panic!("a number in {line:?}"));
        let word = words.next().unwrap_or_default();
        let expected = mother::lineage::Level::of(value).word();
        assert_eq!(word, expected, "{line:?}");
    }
}

#[test]
fn every_model_panel_is_consistent() {
    let forest = fixture_forest();
    for index in 0..forest.report().models.len() {
        assert_consistent(&evidence_text(&forest, NodeId::Model(index)));
    }
}

#[test]
fn a_finetune_prints_its_change_as_child_minus_parent() {
    let forest = fixture_forest();
    let text = model_evidence(&forest, "acme/code-mini");
    let kurtosis = text
        .lines()
        .find(|line| line.starts_with("kurtosis"))
        .expect("a kurtosis line");
    // `median P → C  Δ D`: D must equal C − P as printed.
    let numbers: Vec<f64> = kurtosis
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .filter_map(|word| word.parse().ok())
        .collect();
    let [parent, child, delta] = numbers[..] else {
        panic!("three numbers in {kurtosis:?}");
    };
    assert!((child - parent - delta).abs() < 1e-9, "{kurtosis}");
    // The most-moved matrix of this fixture lost kurtosis: its change reads negative too.
    let moved = text
        .lines()
        .find(|line| line.starts_with("most moved"))
        .expect("a most-moved line");
    assert!(moved.contains("L2.mlp.down"), "{moved}");
    assert!(moved.contains("Δ -0.900"), "{moved}");
    assert!(text.contains("format     safetensors"), "{text}");
}

#[test]
fn an_adapter_has_no_distance_kurtosis_or_resamples() {
    let forest = fixture_forest();
    let text = model_evidence(&forest, "acme/chat-mini-lora");
    assert!(text.contains("LoRA adapter, r=8"), "{text}");
    assert!(text.contains("declared in adapter_config.json"), "{text}");
    for absent in ["distance", "kurtosis", "resamples", "Δ", "most moved"] {
        assert!(
            !text.contains(absent),
            "adapter evidence shows {absent}:\n{text}"
        );
    }
    let adapter = model(&forest, "acme/chat-mini-lora");
    let (points, adapters) = mother::tui::charts::lineage_points(&forest, adapter);
    assert_eq!(adapters, 1, "the adapter's own factors are left out");
    assert!(points.iter().all(|&(index, _)| index != adapter));
}

#[test]
fn a_quantised_copy_says_what_copy_it_is() {
    let forest = fixture_forest();
    let text = model_evidence(&forest, "acme/chat-mini-int8");
    assert!(
        text.contains("quantised copy (values on an int8 grid) of acme/chat-mini"),
        "{text}"
    );
    assert!(text.contains("rebuild"), "{text}");
    assert!(!text.contains("fine-tune"), "{text}");
}

#[test]
fn a_duplicate_and_an_unrelated_model_print_only_what_applies() {
    let forest = fixture_forest();
    let duplicate = model_evidence(&forest, "mirror/chat-mini");
    assert!(duplicate.contains("identical copy of acme/chat-mini"));
    assert!(!duplicate.contains("most moved") && !duplicate.contains('Δ'));
    let unrelated = model_evidence(&forest, "other/bert-tiny");
    assert!(unrelated.contains("unrelated: no scanned model is close"));
    assert!(!unrelated.contains("root"), "{unrelated}");
    let skipped = evidence_text(&forest, NodeId::SkippedFile(0));
    assert!(skipped.contains("download it again"), "{skipped}");
}

#[test]
fn numbers_follow_one_rule() {
    assert_eq!(numbers::confidence(0.8349).0, "0.83");
    assert_eq!(numbers::confidence(0.8349).1.word(), "medium");
    assert_eq!(numbers::signed(-0.00001, 3), "0.000");
    let (parent, child, delta) = numbers::change(9.795, 9.857);
    assert_eq!((parent.as_str(), child.as_str()), ("9.795", "9.857"));
    assert_eq!(delta, "+0.062");
}

#[test]
fn the_symlog_axis_stays_above_minus_two_and_labels_real_values() {
    // A real BERT's spread: one outlier at 1,733 and a uniform-like matrix at -1.9.
    let axis = SymlogAxis::spanning([-1.9, 0.4, 2.5, 8.0, 1733.0].into_iter(), 50);
    let [low, high] = axis.bounds();
    assert!(low >= -2.0, "lower bound {low}");
    assert!(high >= 1733.0);
    let labels: Vec<String> = axis.ticks().into_iter().map(|(_, label)| label).collect();
    assert!(labels.contains(&"0".to_string()), "{labels:?}");
    assert!(
        labels.iter().any(|label| label.ends_with('k')),
        "{labels:?}"
    );
    // Mid-scale values get room: 2.5 and 8 are more than a few columns apart.
    assert!(axis.column(8.0) > axis.column(2.5) + 4);
    let ticks = axis.ticks();
    assert!(ticks.windows(2).all(|pair| pair[0].0 < pair[1].0));
    let bounds = value_bounds([-1.99, -1.5].into_iter());
    assert!(bounds[0] >= -2.0, "{bounds:?}");
}

#[test]
fn the_tensor_table_sorts_by_change() {
    let forest = fixture_forest();
    let table = TensorTable::of(&forest, model(&forest, "acme/code-mini-python"));
    let changes: Vec<f64> = table.by_change().iter().map(|row| row.change()).collect();
    assert!(
        changes.windows(2).all(|pair| pair[0] >= pair[1]),
        "{changes:?}"
    );
    // Changes are read against the family's spread, so the first row is the largest in σ.
    let first = table.by_change()[0];
    assert_eq!(table.largest_change(), Some(first));
    assert!(
        first.scaled_delta().is_some(),
        "the fixture family has a yardstick"
    );
}

#[test]
fn the_tensor_view_opens_scrolls_and_closes() {
    // The smallest screen mother draws, so the fixture's matrices overflow it.
    let mut harness = Harness::with_forest(80, 24);
    harness.select_id("acme/code-mini");
    harness.char('t');
    // The view has its own keys: the tree's do not reach the model behind it.
    assert_eq!(harness.app.context(), Context::Tensors);
    let top = harness.screen();
    assert!(top.contains("Tensors of code-mini"), "{top}");
    // 80 columns: names that do not fit take their short form.
    assert!(top.contains("L2.mlp.down"), "largest change first:\n{top}");
    // Every matrix of the fixture fits at 80x24: j has nothing to scroll and moves nothing.
    for _ in 0..10 {
        harness.char('j');
    }
    assert_eq!(top, harness.screen(), "j stops at the end of the table");
    // Nor does a click where the hidden tree's rows were.
    for row in 2..12 {
        harness.click(10, row);
    }
    assert_eq!(top, harness.screen(), "a click does not reach the tree");
    assert!(!top.contains("for more"), "nothing out of view:\n{top}");
    harness.key(KeyCode::Esc);
    assert!(
        !harness.screen().contains("Tensors of"),
        "Esc closes the view"
    );
    assert_eq!(harness.app.selected_id(), Some("acme/code-mini"));
    assert_eq!(harness.app.context(), Context::Tree);
}

#[test]
fn panels_at_100x30_and_120x40() {
    let mut harness = Harness::with_forest(100, 30);
    harness.select_id("acme/code-mini-python");
    assert_snapshot!("fixture_python_100x30", harness.screen());
    let mut harness = Harness::with_forest(120, 40);
    harness.select_id("acme/code-mini-python");
    assert_snapshot!("fixture_python_120x40", harness.screen());
    harness.char('t');
    assert_snapshot!("fixture_tensor_view_120x40", harness.screen());
}

#[test]
fn demo_family_panels_at_120x40() {
    let family = common::small_family();
    let (_, events) = common::run_scan(&common::options(&family, None));
    let mut harness = Harness::replay(120, 40, events);
    harness.char('/');
    harness.type_text("full1-c1-g0");
    harness.key(KeyCode::Enter);
    let screen = harness.screen();
    assert!(!screen.contains("-0.000"));
    assert_snapshot!("demo_grandchild_120x40", screen);
}

/// Caps at 0.5 the links among models 0..=`last`, as recovery does for the models of one guess.
fn cap_links_up_to(report: &mut mother::engine::ScanReport, last: usize) {
    for edge in &mut report.recovery.edges {
        if edge.parent <= last && edge.child <= last {
            edge.link_confidence = edge.link_confidence.min(0.5);
            edge.confidence = edge.link_confidence * edge.direction_confidence;
        }
    }
}

/// An edge between two corners of an undecided plane (task arithmetic at weight 1) says so in
/// words, names the four models, and is read as a guess; other edges say nothing of it.
#[test]
fn an_edge_inside_an_undecided_plane_says_why_it_is_a_guess() {
    let mut report = tui_fixture::report();
    report.recovery.undecided_merges = vec![mother::lineage::Undecided {
        models: vec![0, 1, 2, 3],
        off_plane: 0.0,
    }];
    cap_links_up_to(&mut report, 3);
    let forest = Forest::new(report);
    let inside = model_evidence(&forest, "acme/chat-mini");
    assert_consistent(&inside);
    assert!(
        inside.contains("a guess: one of these models is a merge of others"),
        "{inside}"
    );
    assert!(inside.contains("merge?"), "{inside}");
    assert!(inside.contains("acme/base-mini"), "{inside}");
    let outside = model_evidence(&fixture_forest(), "acme/chat-mini");
    assert!(!outside.contains("merge?"), "{outside}");
}

/// An edge into a model that lies near the line of its parent and its own child says that the
/// model may be a checkpoint between them or their merge, names them, and is read as a guess.
#[test]
fn an_edge_of_a_checkpoint_or_merge_says_why_it_is_a_guess() {
    let mut report = tui_fixture::report();
    report.recovery.checkpoints_or_merges = vec![mother::lineage::Merge {
        model: 1,
        sources: vec![0, 2],
        weights: vec![0.6, 0.4],
        off_line: 0.004,
    }];
    cap_links_up_to(&mut report, 2);
    let forest = Forest::new(report);
    let inside = model_evidence(&forest, "acme/chat-mini");
    assert_consistent(&inside);
    assert!(
        inside.contains("a guess: a checkpoint of one training run, or a merge"),
        "{inside}"
    );
    assert!(inside.contains("merge?"), "{inside}");
    assert!(inside.contains("checkpoint"), "{inside}");
    assert!(inside.contains("0.40 x acme/code-mini"), "{inside}");
    // Its row in the tree carries the doubt too.
    let badges = &forest.label(1).expect("a row").badges;
    assert!(badges.iter().any(|b| b == "merge?"), "{badges:?}");
    let outside = model_evidence(&fixture_forest(), "acme/chat-mini");
    assert!(!outside.contains("merge?"), "{outside}");
}

/// An edge into a model that is nearest a merge but sits above some of the merge's sources
/// says it may be the merge's fine-tune made their hub, names the merge, and is read as a
/// guess; its row carries the doubt too.
#[test]
fn an_edge_into_a_possible_merge_hub_says_why_it_is_a_guess() {
    let mut report = tui_fixture::report();
    let merge = 3;
    report.recovery.merge_hubs = vec![mother::lineage::MergeHub {
        model: 1,
        merge,
        edges: vec![(0, 1)],
    }];
    cap_links_up_to(&mut report, 1);
    let forest = Forest::new(report);
    let merge_id = forest.id(merge).to_string();
    let inside = model_evidence(&forest, "acme/chat-mini");
    assert_consistent(&inside);
    assert!(
        inside.contains("a guess: a merge's fine-tune may have been placed"),
        "{inside}"
    );
    assert!(inside.contains("merge?"), "{inside}");
    assert!(
        inside.contains(&format!("nearest the merge {merge_id}")),
        "{inside}"
    );
    let badges = &forest.label(1).expect("a row").badges;
    assert!(badges.iter().any(|b| b == "merge?"), "{badges:?}");
    let outside = model_evidence(&fixture_forest(), "acme/chat-mini");
    assert!(!outside.contains("merge?"), "{outside}");
}

/// A family whose matrices barely differ: a change of about a thousandth in a kurtosis above
/// ten (printed with two decimals) is printed with the decimals that show it, never as `Δ 0.00`
/// beside a standardised change that is not zero.
#[test]
fn a_tiny_kurtosis_change_is_not_printed_as_zero() {
    let mut report = tui_fixture::report();
    for (index, model) in report.models.iter_mut().enumerate() {
        for (tensor, fingerprint) in model.fingerprint.tensors.iter_mut().enumerate() {
            let kurtosis = 12.0 + 0.3 * tensor as f64 + 0.0006 * index as f64;
            fingerprint.moments = tui_fixture::moments(kurtosis);
        }
    }
    let forest = Forest::new(report.clone());
    let text = model_evidence(&forest, "acme/code-mini");
    assert_consistent(&text);
    let line = |name: &str| {
        let found = text.lines().find(|line| line.starts_with(name));
        found.unwrap_or_else(|| panic!("a {name} line in:\n{text}"))
    };
    let moved = line("most moved");
    assert!(moved.contains("σ)"), "{moved}");
    assert!(moved.contains("Δ +0.001 "), "{moved}");
    assert!(line("kurtosis").ends_with("Δ +0.001"), "{text}");
    // The tensor view prints the model's kurtosis at the precision of its change, too.
    let mut harness = Harness::with_report(120, 40, report);
    harness.select_id("acme/code-mini");
    harness.char('t');
    let screen = harness.screen();
    let row = screen
        .lines()
        .find(|line| line.contains("layers.0.mlp.down"));
    let row = row.unwrap_or_default();
    assert!(row.contains("12.301    12.300   +0.001"), "{screen}");
}

/// A merge hangs under its main source only; the panel of each of its sources says what it
/// was merged into, with its weight, and the merge's own panel says `m` reaches the others.
#[test]
fn a_merges_sources_say_what_they_were_merged_into() {
    let mut report = tui_fixture::report();
    let merge = 3;
    report.recovery.edges.retain(|e| e.child != merge);
    report.recovery.merges = vec![mother::lineage::Merge {
        model: merge,
        sources: vec![2, 1],
        weights: vec![0.6, 0.4],
        off_line: 0.0,
    }];
    let forest = Forest::new(report);
    let other = model_evidence(&forest, "acme/chat-mini");
    assert_consistent(&other);
    assert!(
        other.contains("merged     into acme/code-mini-python (0.40 of it) · m jumps there"),
        "{other}"
    );
    let main = model_evidence(&forest, "acme/code-mini");
    assert!(main.contains("(0.60 of it)"), "{main}");
    let merged = model_evidence(&forest, "acme/code-mini-python");
    assert!(merged.contains("m jumps to another"), "{merged}");
    let unmerged = model_evidence(&forest, "acme/base-mini");
    assert!(!unmerged.contains("merged "), "{unmerged}");
}
