//! The machinery of `lineage::recover` on synthetic models, fingerprinted by the real fused pass:
//! families made by fine-tune-like steps (with weight decay, without it, low-rank), unrelated
//! models, duplicates, cast and quantised copies, adapters, storage in 16-bit dtypes, and odd
//! input. These check the machinery, not the method's accuracy on trained models
//! (`lineage_accuracy.rs` and `cargo run --release --example evaluate` do that).

use mother::lineage::{
    Direction, DirectionBasis, DirectionMode, EdgeKind, Level, LineageInput, LineageOptions,
    Method, Recovery, Regime, UNDECIDED_LINK, recover, recover_with,
};
use mother::measure::{Fingerprint, TensorAccumulator};
use mother::weights::FloatDtype;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, StudentT};

/// A model as named matrices (rows, cols, row-major values), and how it is stored.
#[derive(Clone)]
struct Model {
    matrices: Vec<(String, usize, usize, Vec<f32>)>,
    dtype: FloatDtype,
}

const SHAPES: [(&str, usize, usize); 6] = [
    ("a.weight", 96, 80),
    ("b.weight", 80, 80),
    ("c.weight", 80, 40),
    ("d.weight", 64, 64),
    ("e.weight", 120, 48),
    ("f.weight", 48, 96),
];

/// How far each matrix moves in a full fine-tune, relative to the step: layers of real models
/// move by different amounts, which is what tells a uniform rescaling from the update.
const MOVES: [f32; 6] = [0.5, 0.8, 1.0, 1.3, 1.7, 2.2];

fn root(rng: &mut ChaCha8Rng) -> Model {
    let heavy = StudentT::new(4.0).expect("valid degrees of freedom");
    Model {
        matrices: SHAPES
            .iter()
            .map(|&(name, r, c)| {
                let values = (0..r * c)
                    .map(|_| 0.05 * heavy.sample(rng) as f32)
                    .collect();
                (name.to_string(), r, c, values)
            })
            .collect(),
        dtype: FloatDtype::F32,
    }
}

/// A full fine-tune: every weight scaled by `keep` (weight decay when below 1) plus Gaussian
/// noise of relative size `step` (times the matrix's [`MOVES`]).
fn full(parent: &Model, step: f32, keep: f32, rng: &mut ChaCha8Rng) -> Model {
    let noise = Normal::new(0.0f32, 1.0).expect("valid normal");
    let mut child = parent.clone();
    for ((_, _, _, v), moves) in child.matrices.iter_mut().zip(MOVES) {
        let rms = (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
        for x in v.iter_mut() {
            *x = keep * *x + moves * step * rms * noise.sample(rng);
        }
    }
    child
}

/// A full fine-tune with weight decay: the child keeps 99.5% of its parent plus noise of about
/// 4%, so its energy falls.
fn decayed(parent: &Model, rng: &mut ChaCha8Rng) -> Model {
    full(parent, 0.04, 0.995, rng)
}

/// A LoRA-style update: `b.weight` += u v^T with `rank` columns; the rest untouched.
fn low_rank(parent: &Model, rank: usize, size: f32, rng: &mut ChaCha8Rng) -> Model {
    let mut child = parent.clone();
    let (_, r, c, values) = &mut child.matrices[1];
    let u: Vec<f32> = (0..*r * rank)
        .map(|_| rng.random_range(-size..size))
        .collect();
    let v: Vec<f32> = (0..rank * *c)
        .map(|_| rng.random_range(-size..size))
        .collect();
    for i in 0..*r {
        for j in 0..*c {
            values[i * *c + j] += (0..rank)
                .map(|k| u[i * rank + k] * v[k * *c + j])
                .sum::<f32>();
        }
    }
    child
}

/// Round every matrix to an int8 grid (per-row scale), as a quantised-then-dequantised copy.
fn quantize(model: &Model) -> Model {
    let mut copy = model.clone();
    for (_, _, c, v) in &mut copy.matrices {
        for row in v.chunks_mut(*c) {
            let scale = row.iter().fold(0.0f32, |m, x| m.max(x.abs())) / 127.0;
            row.iter_mut()
                .for_each(|x| *x = (*x / scale).round() * scale);
        }
    }
    copy
}

/// The same model stored in another dtype (its values rounded when the model is written).
fn stored(model: &Model, dtype: FloatDtype) -> Model {
    Model {
        dtype,
        ..model.clone()
    }
}

/// The fingerprint the fused pass gives the model's stored bytes.
fn fingerprint(model: &Model) -> Fingerprint {
    let tensors = model
        .matrices
        .iter()
        .map(|(name, r, c, v)| {
            let mut bytes = Vec::new();
            model.dtype.encode_into(v, &mut bytes);
            let mut accumulator = TensorAccumulator::new(model.dtype, *r, *c);
            accumulator.push_bytes(&bytes);
            accumulator.finish(name, &[*r, *c])
        })
        .collect();
    Fingerprint {
        tensors,
        params: model.matrices.iter().map(|m| (m.1 * m.2) as u64).sum(),
        bytes: 0,
        dtype: model.dtype.name().into(),
    }
}

struct Zoo {
    ids: Vec<String>,
    fingerprints: Vec<Fingerprint>,
    adapters: Vec<Option<String>>,
}

impl Zoo {
    fn new(models: &[Model]) -> Zoo {
        Zoo {
            ids: (0..models.len()).map(|i| format!("m{i}")).collect(),
            fingerprints: models.iter().map(fingerprint).collect(),
            adapters: vec![None; models.len()],
        }
    }

    fn inputs(&self) -> Vec<LineageInput<'_>> {
        (0..self.ids.len())
            .map(|i| LineageInput {
                id: &self.ids[i],
                fingerprint: &self.fingerprints[i],
                adapter_base: self.adapters[i].as_deref(),
                is_adapter: self.adapters[i].is_some(),
            })
            .collect()
    }

    fn recover(&self) -> Recovery {
        recover(&self.inputs(), &LineageOptions::default())
    }
}

fn pairs(recovery: &Recovery) -> Vec<(usize, usize)> {
    recovery.edges.iter().map(|e| (e.parent, e.child)).collect()
}

fn undirected(recovery: &Recovery) -> Vec<(usize, usize)> {
    let mut p: Vec<(usize, usize)> = pairs(recovery)
        .into_iter()
        .map(|(a, b)| (a.min(b), a.max(b)))
        .collect();
    p.sort_unstable();
    p
}

/// Two families of (root, 3 children, 2 grandchildren under each child), built from their own
/// random roots with `step`. Returns the models and the true (parent, child) edges.
fn two_families(
    rng: &mut ChaCha8Rng,
    step: impl Fn(&Model, &mut ChaCha8Rng) -> Model,
) -> (Vec<Model>, Vec<(usize, usize)>) {
    let mut models = Vec::new();
    let mut truth = Vec::new();
    for _ in 0..2 {
        let r = models.len();
        models.push(root(rng));
        for _ in 0..3 {
            let c = models.len();
            models.push(step(&models[r], rng));
            truth.push((r, c));
            for _ in 0..2 {
                let g = models.len();
                models.push(step(&models[c], rng));
                truth.push((c, g));
            }
        }
    }
    truth.sort_unstable();
    (models, truth)
}

#[test]
fn decayed_fine_tunes_are_recovered_with_their_direction() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (models, truth) = two_families(&mut rng, decayed);
    let recovery = Zoo::new(&models).recover();
    assert_eq!(pairs(&recovery), truth);
    assert_eq!(recovery.roots, vec![0, 10]);
    assert!(recovery.unrelated.is_empty() && recovery.duplicates.is_empty());
    for edge in &recovery.edges {
        assert_eq!((edge.kind, edge.regime), (EdgeKind::Finetune, Regime::Full));
        assert!(edge.distance > 0.02 && edge.distance < 0.2, "{edge:?}");
        // The child lost energy to a uniform shrink, in units of its update's energy.
        assert!(edge.growth.is_some_and(|g| g < -1.0), "{edge:?}");
        assert!(
            edge.shrink.is_some_and(|(kappa, _)| kappa > 0.6),
            "{edge:?}"
        );
        assert_eq!(edge.direction_basis, DirectionBasis::Growth, "{edge:?}");
        assert!(edge.confidence > 0.5, "confident on clean data: {edge:?}");
        assert!(
            edge.runner_up
                .as_ref()
                .is_some_and(|r| r.relative_gap >= 0.0)
        );
    }
}

#[test]
fn without_decay_a_full_fine_tune_leaves_its_direction_to_the_tree() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (models, truth) = two_families(&mut rng, |m, rng| full(m, 0.04, 1.0, rng));
    let recovery = Zoo::new(&models).recover();
    // An update independent of the weights grows them by its own energy whichever way round it
    // is read: no edge speaks, the centres (the true roots) are the roots, and nothing is sure.
    assert_eq!(pairs(&recovery), truth);
    for edge in &recovery.edges {
        assert!(
            edge.growth.is_some_and(|g| (g - 1.0).abs() < 0.6),
            "{edge:?}"
        );
        assert_eq!(edge.direction_basis, DirectionBasis::Prior, "{edge:?}");
        assert!(edge.level() < Level::High, "{edge:?}");
    }
}

#[test]
fn pretrain_mode_reads_weights_grown_along_themselves_the_other_way() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    // Continued pre-training grows the weights along themselves, which no fine-tune does: read
    // as fine-tuning, the grown model looks like the parent and the chain is upside down.
    let mut chain = vec![root(&mut rng)];
    for _ in 0..3 {
        let next = full(chain.last().expect("non-empty"), 0.04, 1.005, &mut rng);
        chain.push(next);
    }
    let zoo = Zoo::new(&chain);
    assert_eq!(pairs(&zoo.recover()), vec![(1, 0), (2, 1), (3, 2)]);
    let options = LineageOptions {
        direction: DirectionMode::Pretrain,
        ..LineageOptions::default()
    };
    let pretrain = recover(&zoo.inputs(), &options);
    assert_eq!(pairs(&pretrain), vec![(0, 1), (1, 2), (2, 3)]);
    assert_eq!(pretrain.roots, vec![0]);
}

#[test]
fn where_the_weights_say_nothing_the_centre_is_the_root_and_it_is_a_guess() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (models, truth) = two_families(&mut rng, decayed);
    let zoo = Zoo::new(&models);
    let blind = Method {
        direction: Direction::Evidence {
            centre_prior: 0.5,
            growth: false,
        },
        ..Method::default()
    };
    let recovery = recover_with(&zoo.inputs(), &LineageOptions::default(), &blind);
    assert_eq!(pairs(&recovery), truth);
    for edge in &recovery.edges {
        assert_eq!(edge.direction_basis, DirectionBasis::Prior, "{edge:?}");
        assert!(
            edge.level() < Level::High,
            "a guess is not shown as sure: {edge:?}"
        );
    }
}

#[test]
fn unrelated_random_models_stay_apart() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let models: Vec<Model> = (0..4).map(|_| root(&mut rng)).collect();
    let recovery = Zoo::new(&models).recover();
    assert!(recovery.edges.is_empty());
    assert!(recovery.roots.is_empty());
    assert_eq!(recovery.unrelated, vec![0, 1, 2, 3]);
}

#[test]
fn an_exact_copy_is_a_duplicate_not_a_child() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let parent = root(&mut rng);
    let child = decayed(&parent, &mut rng);
    let recovery = Zoo::new(&[parent.clone(), child, parent]).recover();
    assert_eq!(recovery.duplicates.len(), 1);
    assert_eq!(
        (recovery.duplicates[0].original, recovery.duplicates[0].copy),
        (0, 2)
    );
    assert_eq!(pairs(&recovery), vec![(0, 1)]);
    assert!(!recovery.unrelated.contains(&2));
}

#[test]
fn a_cast_copy_hangs_under_its_source_and_a_fine_tune_in_bf16_is_no_cast() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let base = root(&mut rng);
    let child = decayed(&base, &mut rng);
    let models = [
        base.clone(),
        child.clone(),
        stored(&child, FloatDtype::BF16),
        stored(&child, FloatDtype::F16),
        stored(&decayed(&child, &mut rng), FloatDtype::BF16),
    ];
    let recovery = Zoo::new(&models).recover();
    let edge_into = |c: usize| {
        recovery
            .edges
            .iter()
            .find(|e| e.child == c)
            .unwrap_or_else(|| panic!("no edge into {c}: {recovery:?}"))
    };
    for copy in [2, 3] {
        let edge = edge_into(copy);
        assert_eq!((edge.parent, edge.kind), (1, EdgeKind::Cast), "{edge:?}");
        assert_eq!(edge.confidence, 1.0);
        assert!(edge.distance < 2e-3, "rounding only: {edge:?}");
    }
    assert!(
        recovery
            .edges
            .iter()
            .all(|e| e.parent != 2 && e.parent != 3)
    );
    let grandchild = edge_into(4);
    assert_eq!(
        (grandchild.parent, grandchild.kind),
        (1, EdgeKind::Finetune)
    );
    assert_eq!((edge_into(1).parent, recovery.roots.clone()), (0, vec![0]));
}

#[test]
fn storage_dtype_is_not_lineage() {
    // A family of decayed full fine-tunes and low-rank updates, all in F32; then the same
    // models with every other one stored in BF16 or F16. The edges must not move.
    for seed in 0..6 {
        let mut rng = ChaCha8Rng::seed_from_u64(100 + seed);
        let mut models = vec![root(&mut rng)];
        for i in 1..10 {
            let parent = rng.random_range(0..i);
            let next = if rng.random_bool(0.5) {
                decayed(&models[parent], &mut rng)
            } else {
                low_rank(&models[parent], 4, 0.15, &mut rng)
            };
            models.push(next);
        }
        let plain = Zoo::new(&models).recover();
        assert_eq!(plain.edges.len(), 9, "seed {seed}: {plain:?}");
        let mixed: Vec<Model> = models
            .iter()
            .enumerate()
            .map(|(i, m)| match i % 3 {
                1 => stored(m, FloatDtype::BF16),
                2 => stored(m, FloatDtype::F16),
                _ => m.clone(),
            })
            .collect();
        let rounded = Zoo::new(&mixed).recover();
        assert_eq!(pairs(&rounded), pairs(&plain), "seed {seed}");
    }
}

#[test]
fn a_quantised_copy_is_a_leaf() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let parent = root(&mut rng);
    let child = decayed(&parent, &mut rng);
    let quantised = quantize(&child);
    let recovery = Zoo::new(&[parent, child, quantised]).recover();
    assert_eq!(pairs(&recovery), vec![(0, 1), (1, 2)]);
    assert_eq!(recovery.edges[1].kind, EdgeKind::Quantized);

    // Even a quantised copy of the root stays a leaf.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let base = root(&mut rng);
    let models = [quantize(&base), decayed(&base, &mut rng), base];
    let recovery = Zoo::new(&models).recover();
    assert!(recovery.edges.iter().all(|e| e.parent != 0));
    assert!(
        recovery
            .edges
            .iter()
            .any(|e| e.child == 0 && e.kind == EdgeKind::Quantized)
    );
}

#[test]
fn low_rank_updates_are_told_apart_ranked_and_oriented() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let base = root(&mut rng);
    let children: Vec<Model> = (0..3).map(|_| low_rank(&base, 2, 0.15, &mut rng)).collect();
    let mut models = vec![children[0].clone(), base];
    models.extend(children[1..].iter().cloned());
    let recovery = Zoo::new(&models).recover();
    assert_eq!(pairs(&recovery), vec![(1, 0), (1, 2), (1, 3)]);
    for edge in &recovery.edges {
        assert_eq!(
            (edge.regime, edge.rank),
            (Regime::LowRank, Some(2)),
            "{edge:?}"
        );
        assert!(edge.growth.is_some_and(|g| g > 0.5), "{edge:?}");
        assert_eq!(edge.direction_basis, DirectionBasis::Growth);
        // A resample of tensors that draws none of the one changed matrix sees no direction.
        assert!(edge.direction_confidence > 0.6, "{edge:?}");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let base = root(&mut rng);
    let recovery = Zoo::new(&[base.clone(), decayed(&base, &mut rng)]).recover();
    assert_eq!(
        (recovery.edges[0].regime, recovery.edges[0].rank),
        (Regime::Full, None)
    );
}

#[test]
fn low_rank_updates_survive_16_bit_storage() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let base = root(&mut rng);
    let child = low_rank(&base, 2, 0.15, &mut rng);
    for (parent_dtype, child_dtype) in [
        (FloatDtype::BF16, FloatDtype::BF16),
        (FloatDtype::F32, FloatDtype::BF16),
        (FloatDtype::F16, FloatDtype::BF16),
        (FloatDtype::F32, FloatDtype::F16),
    ] {
        let recovery =
            Zoo::new(&[stored(&child, child_dtype), stored(&base, parent_dtype)]).recover();
        assert_eq!(
            pairs(&recovery),
            vec![(1, 0)],
            "{parent_dtype:?} -> {child_dtype:?}"
        );
        let edge = &recovery.edges[0];
        assert_eq!(
            (edge.regime, edge.rank),
            (Regime::LowRank, Some(2)),
            "{edge:?}"
        );
    }
}

#[test]
fn a_change_within_storage_noise_is_faint() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let base = root(&mut rng);
    // A step far below BF16's spacing (2^-8 of each value), stored in BF16.
    let tiny = full(&base, 2e-4, 1.0, &mut rng);
    let recovery = Zoo::new(&[base, stored(&tiny, FloatDtype::BF16)]).recover();
    assert_eq!(recovery.edges.len(), 1);
    let edge = &recovery.edges[0];
    // Either the rounding swallowed the step (a cast) or what is left says nothing.
    assert!(
        edge.kind == EdgeKind::Cast || edge.regime == Regime::Faint,
        "{edge:?}"
    );
}

#[test]
fn adapters_hang_under_a_present_base_and_are_unrelated_otherwise() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let base = root(&mut rng);
    let child = decayed(&base, &mut rng);
    let adapter = Model {
        matrices: vec![
            ("b.lora_A.weight".into(), 4, 80, vec![0.01; 320]),
            ("b.lora_B.weight".into(), 80, 4, vec![0.02; 320]),
        ],
        dtype: FloatDtype::F32,
    };
    let mut zoo = Zoo::new(&[base, child, adapter.clone(), adapter]);
    zoo.adapters[2] = Some("m1".into());
    zoo.adapters[3] = Some("somewhere/else".into());
    // The two adapters are byte-identical but declare different bases: not duplicates.
    zoo.fingerprints[3].params += 1;
    let recovery = zoo.recover();
    let adapter_edge = recovery
        .edges
        .iter()
        .find(|e| e.child == 2)
        .expect("adapter edge");
    assert_eq!(
        (adapter_edge.parent, adapter_edge.kind),
        (1, EdgeKind::Adapter)
    );
    assert_eq!((adapter_edge.confidence, adapter_edge.rank), (1.0, Some(4)));
    assert_eq!(recovery.unrelated, vec![3]);
    assert_eq!(pairs(&recovery), vec![(0, 1), (1, 2)]);
}

#[test]
fn same_input_same_output_and_the_seed_moves_only_confidences() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let (models, _) = two_families(&mut rng, decayed);
    let zoo = Zoo::new(&models);
    let inputs = zoo.inputs();
    let options = LineageOptions {
        bootstrap: 120,
        ..LineageOptions::default()
    };
    let first = recover(&inputs, &options);
    assert_eq!(first, recover(&inputs, &options));
    let other_seed = recover(
        &inputs,
        &LineageOptions {
            seed: 99,
            ..options
        },
    );
    assert_eq!(pairs(&first), pairs(&other_seed));
    for (a, b) in first.edges.iter().zip(&other_seed.edges) {
        assert!((a.confidence - b.confidence).abs() < 0.2, "{a:?} {b:?}");
    }
}

#[test]
fn odd_input_never_panics() {
    let options = LineageOptions::default();
    assert_eq!(recover(&[], &options), Recovery::default());

    let empty = Fingerprint {
        tensors: vec![],
        params: 0,
        bytes: 0,
        dtype: "F32".into(),
    };
    let one = |name: &str, rows: usize, cols: usize, values: Vec<f32>| {
        fingerprint(&Model {
            matrices: vec![(name.into(), rows, cols, values)],
            dtype: FloatDtype::F32,
        })
    };
    let tiny = one("t", 1, 1, vec![0.5]);
    let tiny_other = one("t", 1, 1, vec![0.25]);
    let constant = one("k", 4, 4, vec![1.0; 16]);
    let zeros = one("k", 4, 4, vec![0.0; 16]);
    let disjoint = one("other", 4, 4, vec![0.3; 16]);
    let mut broken_sketch = constant.clone();
    broken_sketch.tensors[0].sketch.values.truncate(3);
    broken_sketch.tensors[0].content_hash ^= 1;
    let all = [
        empty.clone(),
        empty,
        tiny,
        tiny_other,
        constant,
        zeros,
        disjoint,
        broken_sketch,
    ];
    let ids: Vec<String> = (0..all.len()).map(|i| format!("x{i}")).collect();
    let inputs: Vec<LineageInput<'_>> = all
        .iter()
        .zip(&ids)
        .map(|(fingerprint, id)| LineageInput::full(id, fingerprint))
        .collect();
    let alone = recover(&inputs[..1], &options);
    assert_eq!(alone.unrelated, vec![0]);
    let recovery = recover(&inputs, &options);
    assert_eq!(recovery.summary_kurtosis.len(), all.len());
    assert!(recovery.summary_kurtosis.iter().all(|k| k.is_finite()));
    for edge in &recovery.edges {
        assert!(edge.distance.is_finite() && edge.confidence.is_finite());
        assert!((0.0..=1.0).contains(&edge.confidence), "{edge:?}");
    }
    // Empty models are not duplicates of each other, and models sharing no tensor never link.
    assert!(recovery.duplicates.is_empty());
    assert!(recovery.unrelated.contains(&0) && recovery.unrelated.contains(&6));
    // The constant and the all-zero model share a tensor, but a zero model has no direction.
    assert!(recovery.unrelated.contains(&5));
}

#[test]
fn the_baseline_and_the_paper_are_selectable() {
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let (models, truth) = two_families(&mut rng, decayed);
    let zoo = Zoo::new(&models);
    let inputs = zoo.inputs();
    let options = LineageOptions::default();
    for method in [Method::baseline(), Method::paper()] {
        let recovery = recover_with(&inputs, &options, &method);
        assert_eq!(recovery.edges.len(), truth.len(), "{method:?}");
        assert_eq!(recovery.roots.len(), 2, "{method:?}");
        let same_tree = |p: usize, c: usize| (p < 10) == (c < 10);
        assert!(
            recovery.edges.iter().all(|e| same_tree(e.parent, e.child)),
            "{method:?}"
        );
    }
    let blind = Method {
        direction: Direction::Evidence {
            centre_prior: 0.0,
            growth: false,
        },
        ..Method::default()
    };
    let recovery = recover_with(&inputs, &options, &blind);
    assert_eq!(undirected(&recovery), truth);
}

#[test]
fn the_cosine_rule_links_far_fine_tunes_and_splits_unrelated_ones() {
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    let base = root(&mut rng);
    // Noise of 0.7 x RMS: relative distance ~0.7, cosine ~0.82 -> related.
    let far = full(&base, 0.7, 1.0, &mut rng);
    // Noise of 2 x RMS: cosine ~0.45 -> a different run as far as the rule can tell.
    let too_far = full(&base, 2.0, 1.0, &mut rng);
    let recovery = Zoo::new(&[base, far, too_far]).recover();
    assert_eq!(undirected(&recovery), vec![(0, 1)]);
    assert_eq!(recovery.unrelated, vec![2]);
}

#[test]
fn families_that_share_only_an_embedding_stay_apart() {
    // Two families from their own random roots, whose roots were both given one embedding
    // matrix (a vocabulary embedding taken from a common ancestor, as the MiniLM sentence
    // encoders took BERT's), large enough to hold two thirds of the energy: the pooled cosine of
    // any cross-family pair is then about 0.65, above the 0.5 threshold, while every other
    // matrix is unrelated. Fine-tunes leave the embedding as it is (`full` moves the first six
    // matrices), as a frozen embedding stays.
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let heavy = StudentT::new(4.0).expect("valid degrees of freedom");
    let embedding: Vec<f32> = (0..1000 * 64)
        .map(|_| 0.05 * heavy.sample(&mut rng) as f32)
        .collect();
    let mut models = Vec::new();
    let mut truth = Vec::new();
    for _ in 0..2 {
        let r = models.len();
        let mut base = root(&mut rng);
        base.matrices
            .push(("embedding.weight".to_string(), 1000, 64, embedding.clone()));
        models.push(base);
        for _ in 0..3 {
            let c = models.len();
            models.push(decayed(&models[r], &mut rng));
            truth.push((r, c));
        }
    }
    truth.sort_unstable();
    let recovery = Zoo::new(&models).recover();
    let mut found = pairs(&recovery);
    found.sort_unstable();
    assert_eq!(found, truth, "no edge joins the two families");
    assert_eq!(recovery.roots, vec![0, 4]);
}

#[test]
fn low_rank_trees_keep_their_shape_and_direction() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let mut models = vec![root(&mut rng)];
    let mut truth = Vec::new();
    for _ in 0..3 {
        let c = models.len();
        models.push(low_rank(&models[0], 2, 0.15, &mut rng));
        truth.push((0, c));
        for _ in 0..2 {
            let g = models.len();
            models.push(low_rank(&models[c], 2, 0.15, &mut rng));
            truth.push((c, g));
        }
    }
    truth.sort_unstable();
    let recovery = Zoo::new(&models).recover();
    assert_eq!(pairs(&recovery), truth);
    assert!(
        recovery
            .edges
            .iter()
            .all(|e| e.regime == Regime::LowRank && e.rank == Some(2))
    );
}

/// `t` of `a` plus `1 - t` of `b`, matrix by matrix (mergekit's linear merge).
fn linear_merge(a: &Model, b: &Model, t: f32) -> Model {
    let mut merged = a.clone();
    for ((_, _, _, v), (_, _, _, w)) in merged.matrices.iter_mut().zip(&b.matrices) {
        for (x, y) in v.iter_mut().zip(w) {
            *x = t * *x + (1.0 - t) * y;
        }
    }
    merged
}

#[test]
fn a_merge_of_two_siblings_is_reported_as_such_and_does_not_rewire_the_tree() {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let (mut models, truth) = two_families(&mut rng, decayed);
    // Children 1 and 4 of the first family's root mixed 60/40; children 7 and 4 mixed 70/30
    // and stored in BF16. Both sit between their sources, as close to the root as to either.
    let merged = models.len();
    models.push(linear_merge(&models[1], &models[4], 0.6));
    models.push(stored(
        &linear_merge(&models[7], &models[4], 0.7),
        FloatDtype::BF16,
    ));
    let recovery = Zoo::new(&models).recover();

    let found: Vec<(usize, Vec<usize>)> = recovery
        .merges
        .iter()
        .map(|m| (m.model, m.sources.clone()))
        .collect();
    assert_eq!(found, vec![(merged, vec![1, 4]), (merged + 1, vec![7, 4])]);
    let weights = &recovery.merges[0].weights;
    assert!(
        (weights[0] - 0.6).abs() < 0.02 && (weights[1] - 0.4).abs() < 0.02,
        "{weights:?}"
    );
    assert!(
        recovery.merges.iter().all(|m| m.off_line < 0.01),
        "{:?}",
        recovery.merges
    );
    // Neither merge is in the tree, and the tree is the one without them.
    assert_eq!(pairs(&recovery), truth);
    assert!(!recovery.unrelated.contains(&merged));
    assert!(!recovery.unrelated.contains(&(merged + 1)));
}

/// A model on the line between a model and its own fine-tune. Exactly on it, it is their merge
/// (WiSE-FT mixes a model and its fine-tune), found as such. Near it but not on it (here a
/// 3% share of a sibling's change added, 0.4% of the squared distance off the line), it is what
/// a checkpoint halfway through the fine-tune would be, or a merge, and the distances cannot
/// say which: it is reported as either, kept in the tree between the two, and its links are
/// guesses.
#[test]
fn a_model_between_a_model_and_its_fine_tune_is_a_merge_or_a_checkpoint() {
    let mut rng = ChaCha8Rng::seed_from_u64(33);
    let (mut models, truth) = two_families(&mut rng, decayed);
    let between = models.len();
    models.push(linear_merge(&models[1], &models[2], 0.5));
    let recovery = Zoo::new(&models).recover();
    assert!(recovery.checkpoints_or_merges.is_empty());
    let found: Vec<(usize, Vec<usize>)> = recovery
        .merges
        .iter()
        .map(|m| (m.model, m.sources.clone()))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, between);
    assert_eq!(pairs(&recovery), truth);

    models[between] = weighted_merge(&[(&models[1], 0.47), (&models[2], 0.5), (&models[3], 0.03)]);
    let recovery = Zoo::new(&models).recover();
    assert!(recovery.merges.is_empty(), "{:?}", recovery.merges);
    let found: Vec<(usize, Vec<usize>, f64)> = recovery
        .checkpoints_or_merges
        .iter()
        .map(|m| {
            let mut sources = m.sources.clone();
            sources.sort_unstable();
            (m.model, sources, m.off_line)
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].0, &found[0].1),
        (between, &vec![1, 2]),
        "{found:?}"
    );
    // In the tree, between the two; everything else as it was.
    let mut expected: Vec<(usize, usize)> =
        truth.iter().copied().filter(|&e| e != (1, 2)).collect();
    expected.extend([(1, between), (2, between)]);
    expected.sort_unstable();
    assert_eq!(undirected(&recovery), expected);
    for edge in &recovery.edges {
        if edge.parent == between || edge.child == between {
            assert!(edge.link_confidence <= UNDECIDED_LINK, "{edge:?}");
        }
    }
}

/// The sum of `weight` times each model, matrix by matrix (mergekit's linear merge of several
/// models; task arithmetic is one with a negative weight on the base).
fn weighted_merge(parts: &[(&Model, f32)]) -> Model {
    let mut merged = parts[0].0.clone();
    for (i, (_, _, _, values)) in merged.matrices.iter_mut().enumerate() {
        for (j, x) in values.iter_mut().enumerate() {
            *x = parts.iter().map(|(m, w)| w * m.matrices[i].3[j]).sum();
        }
    }
    merged
}

#[test]
fn merges_of_three_are_found_with_their_weights_and_leave_the_tree_alone() {
    let mut rng = ChaCha8Rng::seed_from_u64(33);
    let (mut models, truth) = two_families(&mut rng, decayed);
    // A soup of the first root's three children, and task arithmetic on the second root: the
    // root plus 0.7 of each of two children's changes, 0.7 c1 + 0.7 c2 - 0.4 root, in BF16.
    let third = 1.0_f32 / 3.0;
    let (soup, task) = (models.len(), models.len() + 1);
    models.push(weighted_merge(&[
        (&models[1], third),
        (&models[4], third),
        (&models[7], third),
    ]));
    models.push(stored(
        &weighted_merge(&[(&models[11], 0.7), (&models[14], 0.7), (&models[10], -0.4)]),
        FloatDtype::BF16,
    ));
    let recovery = Zoo::new(&models).recover();

    assert_eq!(recovery.merges.len(), 2, "{:?}", recovery.merges);
    let (found_soup, found_task) = (&recovery.merges[0], &recovery.merges[1]);
    assert_eq!(found_soup.model, soup);
    let mut sources = found_soup.sources.clone();
    sources.sort_unstable();
    assert_eq!(sources, [1, 4, 7]);
    assert!(
        found_soup
            .weights
            .iter()
            .all(|w| (w - f64::from(third)).abs() < 0.02),
        "{found_soup:?}"
    );
    assert_eq!(found_task.model, task);
    assert_eq!(found_task.base(), Some(10));
    assert_eq!(found_task.sources[2], 10, "{found_task:?}");
    let expected = [0.7, 0.7, -0.4];
    assert!(
        found_task
            .weights
            .iter()
            .zip(expected)
            .all(|(w, e)| (w - e).abs() < 0.02),
        "{found_task:?}"
    );
    assert!(recovery.merges.iter().all(|m| m.off_line < 0.01));
    assert_eq!(pairs(&recovery), truth);
}

/// Every edge not in `truth` is shown below `bound`.
fn assert_wrong_edges_below(recovery: &Recovery, truth: &[(usize, usize)], bound: f64, seed: u64) {
    for edge in &recovery.edges {
        if !truth.contains(&(edge.parent, edge.child)) {
            assert!(
                edge.confidence < bound,
                "seed {seed}: wrong at {:.2}: {} -> {}",
                edge.confidence,
                edge.parent,
                edge.child
            );
        }
    }
}

/// A fine-tune of a soup of siblings sits where they meet, so the tree built without the soup
/// may make it their hub (real weights: `l3-soups2`, round 9). Wherever it lands, no edge is
/// wrong at high confidence: under the soup, or its placement is a guess.
#[test]
fn a_fine_tune_of_a_soup_is_never_wrong_with_confidence() {
    for seed in [35, 36, 37] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut models, mut truth) = two_families(&mut rng, decayed);
        let third = 1.0_f32 / 3.0;
        let soup = models.len();
        models.push(weighted_merge(&[
            (&models[1], third),
            (&models[4], third),
            (&models[7], third),
        ]));
        let tune = models.len();
        models.push(decayed(&models[soup], &mut rng));
        truth.push((soup, tune));
        let recovery = Zoo::new(&models).recover();
        assert_eq!(
            recovery.merges.len(),
            1,
            "seed {seed}: {:?}",
            recovery.merges
        );
        assert_wrong_edges_below(&recovery, &truth, 0.9, seed);
        // Not under the soup, it is named as a possible hub, with its edges as guesses.
        let adopted = recovery
            .edges
            .iter()
            .any(|e| (e.parent, e.child) == (soup, tune));
        if !adopted {
            let hub = recovery
                .merge_hubs
                .iter()
                .find(|h| h.model == tune)
                .unwrap_or_else(|| panic!("seed {seed}: {:?}", recovery.merge_hubs));
            assert_eq!(hub.merge, soup, "seed {seed}");
            for &(parent, child) in &hub.edges {
                let edge = recovery
                    .edges
                    .iter()
                    .find(|e| (e.parent, e.child) == (parent, child))
                    .expect("a guessed edge is an edge");
                assert!(
                    edge.link_confidence <= UNDECIDED_LINK,
                    "seed {seed}: {edge:?}"
                );
            }
        }
        assert!(
            recovery.merge_hubs.iter().all(|h| h.merge == soup),
            "seed {seed}: {:?}",
            recovery.merge_hubs
        );
    }
}

/// Two families of decayed fine-tunes, a linear merge (weight `t`) of the first family's
/// children 1 and 4, and a fine-tune of the merge (`step`, `keep` as in [`full`]): the models,
/// the true edges with the fine-tune's, the merge, the fine-tune and the generator.
fn sibling_merge_with_fine_tune(
    seed: u64,
    t: f32,
    step: f32,
    keep: f32,
) -> (Vec<Model>, Vec<(usize, usize)>, usize, usize, ChaCha8Rng) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut models, mut truth) = two_families(&mut rng, decayed);
    let merged = models.len();
    models.push(linear_merge(&models[1], &models[4], t));
    let tuned = models.len();
    models.push(full(&models[merged], step, keep, &mut rng));
    truth.push((merged, tuned));
    (models, truth, merged, tuned, rng)
}

/// [`sibling_merge_with_fine_tune`] with a fine-tune of the merge's fine-tune (same `step` and
/// `keep`): the models, the true edges, the merge and the merge's fine-tune.
fn sibling_merge_with_chain(
    seed: u64,
    t: f32,
    step: f32,
    keep: f32,
) -> (Vec<Model>, Vec<(usize, usize)>, usize, usize) {
    let (mut models, mut truth, merged, tuned, mut rng) =
        sibling_merge_with_fine_tune(seed, t, step, keep);
    let next = models.len();
    models.push(full(&models[tuned], step, keep, &mut rng));
    truth.push((tuned, next));
    truth.sort_unstable();
    (models, truth, merged, tuned)
}

/// The merge is found, the tree is the true one, no model is left a possible merge hub, and
/// the merge's fine-tune hangs under it by the merge's own placing.
fn assert_under_its_merge(
    recovery: &Recovery,
    truth: &[(usize, usize)],
    merged: usize,
    tuned: usize,
    seed: u64,
) {
    let found: Vec<usize> = recovery.merges.iter().map(|m| m.model).collect();
    assert_eq!(found, vec![merged], "seed {seed}");
    assert_eq!(pairs(recovery), truth, "seed {seed}");
    assert!(
        recovery.merge_hubs.is_empty(),
        "seed {seed}: {:?}",
        recovery.merge_hubs
    );
    let adopted = recovery
        .edges
        .iter()
        .find(|e| e.child == tuned)
        .expect("an edge into the merge's fine-tune");
    assert_eq!(
        (adopted.parent, adopted.direction_basis),
        (merged, DirectionBasis::Merge),
        "seed {seed}"
    );
}

/// A short fine-tune of a merge of two siblings sits nearer their parent than either sibling
/// does, and with the merge kept out of the tree it becomes the hub that the siblings and
/// their parent hang from, rooting the family at a sibling (real `l3-kin`, round 17). Weight
/// decay shrank it from both of its neighbours, so one edge of that hub runs against its own
/// evidence: it is taken out, the tree is solved again, and it hangs under its merge with its
/// own fine-tune, while the parent, as near the merge, stays the root (round 18).
#[test]
fn a_merges_fine_tune_that_the_tree_made_a_hub_goes_under_its_merge() {
    for seed in [55, 56, 57] {
        // Its own fine-tune follows it out of the tree and back under it.
        let (models, truth, merged, tuned) = sibling_merge_with_chain(seed, 0.6, 0.015, 0.995);

        let recovery = Zoo::new(&models).recover();
        assert_under_its_merge(&recovery, &truth, merged, tuned, seed);
        assert_eq!(recovery.roots, vec![0, 10], "seed {seed}");
    }
}

/// A short fine-tune without weight decay of a merge of two siblings (trained with decay) sits
/// between them, shrunk from their parent as they are, and the tree makes it the hub above
/// both. Its edges down to them are silent: it cannot be told from their parent (real
/// `l3-kin2`, round 18: three wrong edges at 0.80-0.86). Taken for their ancestor only when an
/// edge below it says so, it is named as a possible hub, and every wrong edge around it is a
/// guess (round 19). Round 23 reads where such a fine-tune lies, between its sources, and keeps
/// it out of the tree from the start (the next test); without that, round 19 is what stands.
#[test]
fn a_merges_fine_tune_above_both_sources_without_evidence_is_a_guess() {
    let without_round_23 = Method {
        between_sources: false,
        ..Method::default()
    };
    let mut named = 0;
    for seed in [61, 62, 63, 64] {
        let (models, truth, merged, tuned, _) = sibling_merge_with_fine_tune(seed, 0.5, 0.01, 1.0);

        let zoo = Zoo::new(&models);
        let recovery = recover_with(&zoo.inputs(), &LineageOptions::default(), &without_round_23);
        assert_wrong_edges_below(&recovery, &truth, UNDECIDED_LINK + 1e-9, seed);
        let adopted = recovery
            .edges
            .iter()
            .any(|e| (e.parent, e.child) == (merged, tuned));
        if !adopted {
            assert!(
                recovery.merge_hubs.iter().any(|h| h.model == tuned),
                "seed {seed}: {:?}",
                recovery.merge_hubs
            );
            named += 1;
        }
    }
    assert!(named > 0, "the case this test is about never came up");
}

/// The same short fine-tunes without decay of a merge of two siblings: their edges are silent,
/// but seen from each, the merge's sources lie on opposite sides, as they do from no parent of
/// theirs. Kept out of the tree from the start with their merge, they hang under it, and the
/// family comes out whole (round 23, real `l3-kin4`); so does a short fine-tune of theirs,
/// still between the sources (real `l3-kin5`).
#[test]
fn a_merges_fine_tune_between_its_sources_goes_under_its_merge() {
    for seed in [61, 62, 63, 64] {
        let (models, truth, merged, tuned) = sibling_merge_with_chain(seed, 0.5, 0.01, 1.0);

        let recovery = Zoo::new(&models).recover();
        assert_under_its_merge(&recovery, &truth, merged, tuned, seed);
    }
}

/// A short fine-tune of a merge of two siblings, with a little weight decay of its own, holds
/// its sources' decay too, so its edges down to them are silent; but against the merge itself
/// it is plainly shrunk: younger than the merge. The tree makes it the hub above both sources;
/// it is taken out and hangs under its merge (round 21, real `l3-kin2`), while the sources'
/// parent, older than the merge, stays the root.
#[test]
fn a_merges_fine_tune_younger_than_the_merge_goes_under_it() {
    for seed in [71, 72, 73] {
        let (models, mut truth, _, _, _) = sibling_merge_with_fine_tune(seed, 0.5, 0.01, 0.999);
        truth.sort_unstable();

        let recovery = Zoo::new(&models).recover();
        assert_eq!(pairs(&recovery), truth, "seed {seed}");
        assert_eq!(recovery.roots, vec![0, 10], "seed {seed}");
        assert!(
            recovery.merge_hubs.is_empty(),
            "seed {seed}: {:?}",
            recovery.merge_hubs
        );
    }
}

/// Task arithmetic at weight 1, M = c1 + c2 - root, puts the four at the corners of a
/// parallelogram: each is the others' merge with weights 1, 1, -1, so none is taken out of the
/// tree (the root least of all), the four are reported as undecided, and every edge between two
/// of them is a guess.
#[test]
fn task_arithmetic_at_weight_one_is_undecided_and_its_edges_are_guesses() {
    let mut rng = ChaCha8Rng::seed_from_u64(34);
    let (mut models, _) = two_families(&mut rng, decayed);
    let merge = models.len();
    models.push(weighted_merge(&[
        (&models[11], 1.0),
        (&models[14], 1.0),
        (&models[10], -1.0),
    ]));
    let recovery = Zoo::new(&models).recover();

    assert!(recovery.merges.is_empty(), "{:?}", recovery.merges);
    let planes: Vec<Vec<usize>> = recovery
        .undecided_merges
        .iter()
        .map(|u| u.models.clone())
        .collect();
    assert_eq!(planes, vec![vec![10, 11, 14, merge]]);
    assert!(recovery.roots.contains(&0), "{:?}", recovery.roots);
    let corners = &planes[0];
    let inside: Vec<_> = recovery
        .edges
        .iter()
        .filter(|e| corners.contains(&e.parent) && corners.contains(&e.child))
        .collect();
    assert!(!inside.is_empty());
    for edge in inside {
        assert!(edge.link_confidence <= UNDECIDED_LINK, "{edge:?}");
        assert!(edge.confidence <= UNDECIDED_LINK, "{edge:?}");
    }
    // Below weight 1 the merge is the only corner with the weights of one.
    models[merge] = weighted_merge(&[(&models[11], 0.9), (&models[14], 0.9), (&models[10], -0.8)]);
    let recovery = Zoo::new(&models).recover();
    assert!(recovery.undecided_merges.is_empty());
    assert_eq!(recovery.merges.len(), 1, "{:?}", recovery.merges);
    assert_eq!(recovery.merges[0].model, merge);
    assert_eq!(recovery.merges[0].base(), Some(10));
}

#[test]
fn fine_tunes_chains_and_siblings_are_no_merges() {
    let mut rng = ChaCha8Rng::seed_from_u64(32);
    let (mut models, _) = two_families(&mut rng, decayed);
    // A chain of three generations, and a LoRA-style pair of siblings.
    let deep = models.len();
    models.push(decayed(&models[2], &mut rng));
    models.push(decayed(&models[deep], &mut rng));
    models.push(low_rank(&models[0], 4, 0.05, &mut rng));
    models.push(low_rank(&models[0], 4, 0.05, &mut rng));
    let recovery = Zoo::new(&models).recover();
    assert!(recovery.merges.is_empty(), "{:?}", recovery.merges);
}

#[test]
fn a_fine_tune_of_a_merge_hangs_under_the_merge() {
    for seed in [41, 42, 43] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut models, mut truth) = two_families(&mut rng, decayed);
        // A merge of two siblings, a fine-tune of the merge and a fine-tune of that.
        let merged = models.len();
        models.push(linear_merge(&models[1], &models[4], 0.5));
        let tuned = models.len();
        models.push(decayed(&models[merged], &mut rng));
        models.push(decayed(&models[tuned], &mut rng));
        truth.extend([(merged, tuned), (tuned, tuned + 1)]);
        truth.sort_unstable();
        let recovery = Zoo::new(&models).recover();
        assert_eq!(
            recovery.merges.len(),
            1,
            "seed {seed}: {:?}",
            recovery.merges
        );
        assert_eq!(recovery.merges[0].model, merged);
        assert_eq!(pairs(&recovery), truth, "seed {seed}");
        let adopted = recovery
            .edges
            .iter()
            .find(|e| e.child == tuned)
            .expect("edge");
        assert_eq!(adopted.direction_basis, DirectionBasis::Merge);
        assert!(adopted.confidence >= 0.9, "seed {seed}: {adopted:?}");
        // The merge hangs under its sources, not at the top of a tree of its own.
        assert!(!recovery.roots.contains(&merged));
    }
}

/// A child of a merge's source that undid part of its parent's training: the demo's gentle
/// fine-tunes of a fine-tune do (gentle 1411, round 16). Moved 0.4 of the way back towards the
/// root, it is nearer a 70/30 merge of its parent and that parent's sibling than its parent,
/// yet it carries nothing of the sibling: it stays under its parent, with the merge named as
/// the nearer runner-up and why it lost. A fine-tune of the merge carries the merge's whole
/// step and still moves under it.
#[test]
fn a_child_of_a_merges_source_that_moved_back_stays_under_its_source() {
    for seed in [51, 52, 53] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut models, mut truth) = two_families(&mut rng, decayed);
        let (root, source, other) = (0, 1, 4);
        let merged = models.len();
        models.push(linear_merge(&models[source], &models[other], 0.7));
        let back = models.len();
        let halfway_back = linear_merge(&models[source], &models[root], 0.6);
        models.push(decayed(&halfway_back, &mut rng));
        let tuned = models.len();
        models.push(decayed(&models[merged], &mut rng));
        truth.extend([(source, back), (merged, tuned)]);
        truth.sort_unstable();

        let recovery = Zoo::new(&models).recover();
        let found: Vec<usize> = recovery.merges.iter().map(|m| m.model).collect();
        assert_eq!(found, vec![merged], "seed {seed}");
        assert_eq!(pairs(&recovery), truth, "seed {seed}");
        let kept = recovery
            .edges
            .iter()
            .find(|e| e.child == back)
            .expect("an edge into the child that moved back");
        let runner_up = kept.runner_up.as_ref().expect("a runner-up");
        assert_eq!(runner_up.parent, merged, "seed {seed}: {kept:?}");
        assert!(runner_up.distance_gap < 0.0, "seed {seed}: {kept:?}");
        assert!(
            runner_up.merge_step_carried.is_some_and(|s| s.abs() < 0.25),
            "seed {seed}: {kept:?}"
        );
        let adopted = recovery
            .edges
            .iter()
            .find(|e| e.child == tuned)
            .expect("an edge into the merge's fine-tune");
        assert_eq!(adopted.direction_basis, DirectionBasis::Merge);
    }
}
