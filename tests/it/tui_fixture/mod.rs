//! Test data for rendering only: a small hand-made forest with made-up fingerprints, so the
//! explorer can be driven before the engine exists. Nothing here was measured; swap
//! `report()` for a real demo family scan once the engine lands.

#![allow(dead_code)] // each test module uses a different part of the harness

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use mother::discover::{DeclaredParent, ModelConfig, ModelEntry, ModelKind, Skipped};
use mother::engine::{ScanEvent, ScanReport, ScannedModel};
use mother::lineage::{DirectionBasis, Duplicate, Edge, EdgeKind, Recovery, Regime, RunnerUp};
use mother::measure::{Fingerprint, Moments, RoundedHashes, Sketch, TensorFingerprint};
use mother::tui::app::{Action, App, AppConfig, AppEvent};
use mother::tui::theme::Theme;
use mother::weights::FloatDtype;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Moments of a made-up sample of `count` values with variance `variance` and the given excess
/// kurtosis (m4 chosen so that n*m4/m2^2 - 3 equals it).
pub fn moments(excess_kurtosis: f64) -> Moments {
    let count = 4096_u64;
    let n = count as f64;
    let m2 = n * 0.02 * 0.02;
    Moments {
        count,
        mean: 0.0,
        m2,
        m3: 0.0,
        m4: (excess_kurtosis + 3.0) * m2 * m2 / n,
    }
}

const LAYERS: usize = 4;

/// Tensor names in sorted order, as a fingerprint keeps them.
fn tensor_names() -> Vec<String> {
    let mut names: Vec<String> = (0..LAYERS)
        .flat_map(|layer| {
            [
                format!("layers.{layer}.attn.o_proj.weight"),
                format!("layers.{layer}.mlp.down.weight"),
            ]
        })
        .collect();
    names.sort();
    names
}

/// A fingerprint whose per-tensor kurtosis is `base(i) - lowered(i)`.
fn fingerprint(params: u64, lowered: impl Fn(usize) -> f64) -> Fingerprint {
    let tensors = tensor_names()
        .into_iter()
        .enumerate()
        .map(|(index, name)| {
            let base = 3.0 + (index as f64 * 1.7).sin() * 1.5 + index as f64 * 0.4;
            TensorFingerprint {
                name,
                shape: vec![64, 64],
                dtype: FloatDtype::F32,
                quantized: None,
                moments: moments(base - lowered(index)),
                sum_sq: 1.0,
                content_hash: index as u64,
                rounded: RoundedHashes::default(),
                on_int8_grid: false,
                non_finite: 0,
                sketch: Sketch::default(),
                head: None,
            }
        })
        .collect();
    Fingerprint {
        tensors,
        params,
        bytes: params * 4,
        dtype: "F32".to_string(),
    }
}

fn entry(id: &str, bytes: u64, declared: Option<&str>, kind: ModelKind) -> ModelEntry {
    ModelEntry {
        id: id.to_string(),
        found_in: ".".to_string(),
        unqualified_id: None,
        dir: PathBuf::from("/hub").join(id),
        weight_files: Vec::new(),
        format: mother::weights::Format::Safetensors,
        kind,
        declared_parent: declared.map(|parent| DeclaredParent {
            id: parent.to_string(),
            relation: None,
            source: "README.md".to_string(),
        }),
        config: ModelConfig {
            architecture: Some("BertModel".to_string()),
            model_type: Some("bert".to_string()),
            dtype: Some("float32".to_string()),
        },
        total_bytes: bytes,
        revision: None,
        last_accessed: None,
    }
}

fn edge(parent: usize, child: usize, kind: EdgeKind, confidence: f64, direction: f64) -> Edge {
    Edge {
        parent,
        child,
        kind,
        distance: 0.0102,
        confidence,
        // The confidence is link x direction, so neither is below it.
        link_confidence: confidence / direction.max(confidence),
        direction_confidence: direction.max(confidence),
        direction_basis: DirectionBasis::Growth,
        growth: Some(-2.0),
        growth_sigma: Some(0.2),
        shrink: None,
        regime: Regime::Full,
        rank: None,
        kurtosis_drop: 0.0,
        breadth: None,
        runner_up: None,
        matching: Default::default(),
    }
}

/// The models of the fixture, in report order.
pub fn entries() -> Vec<ModelEntry> {
    let adapter = ModelKind::Adapter {
        base: Some("acme/chat-mini".to_string()),
        rank: Some(8),
    };
    vec![
        entry("acme/base-mini", 90_800_000, None, ModelKind::Full),
        entry(
            "acme/chat-mini",
            90_800_000,
            Some("acme/base-mini"),
            ModelKind::Full,
        ),
        entry(
            "acme/code-mini",
            90_800_000,
            Some("acme/chat-mini"),
            ModelKind::Full,
        ),
        entry(
            "acme/code-mini-python",
            90_800_000,
            Some("acme/code-mini"),
            ModelKind::Full,
        ),
        entry(
            "acme/chat-mini-int8",
            90_800_000,
            Some("acme/chat-mini"),
            ModelKind::Full,
        ),
        entry("mirror/chat-mini", 90_800_000, None, ModelKind::Full),
        entry(
            "acme/chat-mini-lora",
            1_200_000,
            Some("acme/chat-mini"),
            adapter,
        ),
        entry("other/bert-tiny", 17_600_000, None, ModelKind::Full),
    ]
}

pub fn skipped() -> Vec<Skipped> {
    vec![Skipped {
        path: PathBuf::from("broken/model.safetensors"),
        reason: "header says 1.2G but the file has 4.1K: download it again".to_string(),
    }]
}

/// A hand-made report: two trees' worth of edges of every kind, a duplicate, an unrelated
/// model and a skipped file.
pub fn report() -> ScanReport {
    let params = 22_700_000;
    let fingerprints = vec![
        fingerprint(params, |_| 0.0),
        fingerprint(params, |i| 0.05 + 0.02 * i as f64),
        fingerprint(params, |i| if i == 5 { 0.9 } else { 0.03 }),
        fingerprint(params, |i| if i == 5 { 1.1 } else { 0.08 }),
        fingerprint(params, |i| 0.05 + 0.02 * i as f64 + 0.001),
        fingerprint(params, |i| 0.05 + 0.02 * i as f64),
        fingerprint(300_000, |i| 0.06 + 0.02 * i as f64),
        fingerprint(4_400_000, |i| 2.0 - 0.3 * i as f64),
    ];
    let models: Vec<ScannedModel> = entries()
        .into_iter()
        .zip(fingerprints)
        .map(|(entry, fingerprint)| ScannedModel {
            entry,
            fingerprint,
            from_cache: false,
        })
        .collect();
    let summary_kurtosis: Vec<f64> = models
        .iter()
        .map(|model| {
            let tensors = &model.fingerprint.tensors;
            tensors
                .iter()
                .map(|tensor| tensor.moments.excess_kurtosis())
                .sum::<f64>()
                / tensors.len() as f64
        })
        .collect();

    let mut chat = edge(0, 1, EdgeKind::Finetune, 0.93, 0.88);
    chat.runner_up = Some(RunnerUp {
        parent: 2,
        relative_gap: 0.41,
        distance_gap: 0.41,
        merge_step_carried: None,
    });
    let mut code = edge(0, 2, EdgeKind::Finetune, 0.71, 0.55);
    code.regime = Regime::LowRank;
    code.rank = Some(8);
    code.distance = 0.0061;
    let mut python = edge(2, 3, EdgeKind::Finetune, 0.42, 0.81);
    python.runner_up = Some(RunnerUp {
        parent: 1,
        relative_gap: 0.03,
        distance_gap: 0.03,
        merge_step_carried: None,
    });
    let quantized = edge(1, 4, EdgeKind::Quantized, 0.97, 0.99);
    let adapter = edge(1, 6, EdgeKind::Adapter, 1.0, 1.0);
    let mut edges = vec![chat, code, python, quantized, adapter];
    for edge in &mut edges {
        edge.kurtosis_drop = summary_kurtosis[edge.parent] - summary_kurtosis[edge.child];
    }

    ScanReport {
        root: PathBuf::from("/hub"),
        bundles: Vec::new(),
        models,
        skipped: skipped(),
        recovery: Recovery {
            edges,
            roots: vec![0],
            unrelated: vec![7],
            duplicates: vec![Duplicate {
                original: 1,
                copy: 5,
            }],
            merges: Vec::new(),
            undecided_merges: Vec::new(),
            checkpoints_or_merges: Vec::new(),
            merge_hubs: Vec::new(),
            summary_kurtosis,
        },
    }
}

/// The fixture's models twice, as a scan of a folder holding two hub caches with the same repos
/// finds them: every id qualified with its cache, one tree and one unrelated model per cache.
pub fn two_cache_report() -> ScanReport {
    let second = report();
    let mut report = report();
    let offset = report.models.len();
    let shift = |index: usize| index + offset;
    qualify(&mut report.models, "team-a/hub");
    let mut models = second.models;
    qualify(&mut models, "team-b/hub");
    report.models.extend(models);
    let (recovery, into) = (second.recovery, &mut report.recovery);
    into.edges
        .extend(recovery.edges.into_iter().map(|mut edge| {
            (edge.parent, edge.child) = (shift(edge.parent), shift(edge.child));
            if let Some(runner_up) = &mut edge.runner_up {
                runner_up.parent = shift(runner_up.parent);
            }
            edge
        }));
    into.roots.extend(recovery.roots.into_iter().map(shift));
    into.unrelated
        .extend(recovery.unrelated.into_iter().map(shift));
    into.duplicates
        .extend(recovery.duplicates.into_iter().map(|pair| Duplicate {
            original: shift(pair.original),
            copy: shift(pair.copy),
        }));
    into.summary_kurtosis.extend(recovery.summary_kurtosis);
    report
}

/// Qualifies every model's id with `place`, as discovery does for ids that several hub caches
/// under one PATH repeat, and moves its folder into that place (`/hub/{place}/{id}`).
pub fn qualify(models: &mut [ScannedModel], place: &str) {
    for model in models {
        let bare = model.entry.id.clone();
        model.entry.dir = PathBuf::from("/hub").join(place).join(&bare);
        model.entry.id = format!("{place}:{bare}");
        model.entry.found_in = place.to_string();
        model.entry.unqualified_id = Some(bare);
    }
}

/// A single line of descent `depth` models deep, with long ids, each a low-rank adapter of the
/// one before whose metadata names that parent: the deepest rows have the least room and the
/// most to show.
pub fn deep_chain_report(depth: usize) -> ScanReport {
    let id = |index: usize| {
        format!("an-organisation-with-a-long-name/generation-{index:02}-of-a-long-chain")
    };
    let models: Vec<ScannedModel> = (0..depth)
        .map(|index| {
            let declared = index.checked_sub(1).map(id);
            let kind = ModelKind::Adapter {
                base: declared.clone(),
                rank: Some(8),
            };
            ScannedModel {
                entry: entry(&id(index), 90_800_000, declared.as_deref(), kind),
                fingerprint: fingerprint(22_700_000, |i| 0.01 * (index + i) as f64),
                from_cache: false,
            }
        })
        .collect();
    let edges = (1..depth)
        .map(|child| {
            let mut edge = edge(child - 1, child, EdgeKind::Adapter, 0.42, 0.81);
            edge.regime = Regime::LowRank;
            edge.rank = Some(8);
            edge
        })
        .collect();
    ScanReport {
        root: PathBuf::from("/hub"),
        bundles: Vec::new(),
        models,
        skipped: Vec::new(),
        recovery: Recovery {
            edges,
            roots: vec![0],
            summary_kurtosis: vec![3.0; depth],
            ..Recovery::default()
        },
    }
}

/// An app and a test terminal, driven by synthetic events at a fixed clock.
pub struct Harness {
    pub app: App,
    pub terminal: Terminal<TestBackend>,
    pub started: Instant,
}

impl Harness {
    pub fn new(width: u16, height: u16) -> Self {
        Self::with_export_dir(width, height, Path::new("/work"))
    }

    pub fn with_export_dir(width: u16, height: u16, export_dir: &Path) -> Self {
        Self::with_config(width, height, export_dir, None)
    }

    pub fn with_banner(width: u16, height: u16, banner: &str) -> Self {
        Self::with_config(width, height, Path::new("/work"), Some(banner.to_string()))
    }

    fn with_config(width: u16, height: u16, export_dir: &Path, banner: Option<String>) -> Self {
        let started = Instant::now();
        let mut app = App::new(AppConfig {
            root: PathBuf::from("/hub"),
            banner,
            theme: Theme::new(false),
            started,
            export_dir: export_dir.to_path_buf(),
        });
        app.set_dot_writer(|report| {
            format!("digraph test {{ // {} models }}\n", report.models.len())
        });
        let terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
        Self {
            app,
            terminal,
            started,
        }
    }

    /// A harness whose scan has finished with the fixture report (the tree view is open).
    pub fn with_forest(width: u16, height: u16) -> Self {
        Self::with_report(width, height, report())
    }

    /// A harness whose scan has finished with `report`.
    pub fn with_report(width: u16, height: u16, report: ScanReport) -> Self {
        let mut harness = Self::new(width, height);
        harness.send(AppEvent::Scan(ScanEvent::Finished(Box::new(report))));
        harness
    }

    /// A harness that was sent the events of a real scan, in order. The report's folder
    /// depends on the checkout, so the header shows a fixed one instead (`/demo/hub`).
    pub fn replay(width: u16, height: u16, events: Vec<ScanEvent>) -> Self {
        let mut harness = Self::new(width, height);
        for mut event in events {
            if let ScanEvent::Finished(report) = &mut event {
                report.root = PathBuf::from("/demo/hub");
            }
            harness.send(AppEvent::Scan(event));
        }
        harness
    }

    pub fn send(&mut self, event: AppEvent) -> Action {
        let action = self.app.handle(event);
        self.draw();
        action
    }

    pub fn key(&mut self, code: KeyCode) -> Action {
        self.send(AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    pub fn char(&mut self, c: char) -> Action {
        let modifiers = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        self.send(AppEvent::Key(KeyEvent::new(KeyCode::Char(c), modifiers)))
    }

    pub fn ctrl(&mut self, c: char) -> Action {
        self.send(AppEvent::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )))
    }

    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.char(c);
        }
    }

    pub fn click(&mut self, column: u16, row: u16) -> Action {
        self.send(AppEvent::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }))
    }

    pub fn tick(&mut self, after: Duration) {
        self.send(AppEvent::Tick(self.started + after));
    }

    pub fn draw(&mut self) {
        let app = &self.app;
        self.terminal
            .draw(|frame| app.draw(frame))
            .expect("drawing into a test backend");
    }

    /// The screen as text, one quoted line per row.
    pub fn screen(&self) -> String {
        self.terminal.backend().to_string()
    }

    /// Selects the model with this id by walking the tree with ↓ from the top.
    pub fn select_id(&mut self, id: &str) {
        self.char('g');
        for _ in 0..64 {
            if self.app.selected_id() == Some(id) {
                return;
            }
            self.key(KeyCode::Down);
        }
        panic!("{id} is not reachable in the tree");
    }
}
