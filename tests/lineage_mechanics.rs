//! The machinery of `lineage::recover` on synthetic fingerprints: families made by a random walk
//! (heavy-tailed roots, children = parent + Gaussian noise, which lowers kurtosis as fine-tuning
//! does), unrelated models, duplicates, quantised copies, low-rank updates, adapters, and odd
//! input. These check the machinery, not the method's accuracy on trained models.

mod reference;

use mother::lineage::{
    Aggregate, Combine, DirectionMode, EdgeKind, LineageInput, LineageOptions, Method, Recovery,
    Regime, recover, recover_with,
};
use mother::measure::{Fingerprint, Sketch, TensorFingerprint};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, StudentT};

/// A model as named matrices (rows, cols, row-major values).
#[derive(Clone)]
struct Model {
    matrices: Vec<(String, usize, usize, Vec<f32>)>,
}

const SHAPES: [(&str, usize, usize); 3] = [
    ("a.weight", 32, 24),
    ("b.weight", 24, 24),
    ("c.weight", 24, 8),
];

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
    }
}

/// A full fine-tune: Gaussian noise on every matrix (relative size `step`).
fn finetune(parent: &Model, step: f32, rng: &mut ChaCha8Rng) -> Model {
    let noise = Normal::new(0.0f32, 1.0).expect("valid normal");
    Model {
        matrices: parent
            .matrices
            .iter()
            .map(|(name, r, c, v)| {
                let rms = (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
                let values = v
                    .iter()
                    .map(|x| x + step * rms * noise.sample(rng))
                    .collect();
                (name.clone(), *r, *c, values)
            })
            .collect(),
    }
}

/// A LoRA-style update: `b.weight` += u v^T with `rank` columns; the rest untouched.
fn low_rank(parent: &Model, rank: usize, rng: &mut ChaCha8Rng) -> Model {
    low_rank_sized(parent, rank, 0.02, rng)
}

/// A LoRA-style update with factor entries uniform in (-size, size).
fn low_rank_sized(parent: &Model, rank: usize, size: f32, rng: &mut ChaCha8Rng) -> Model {
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

/// Round every matrix to an int8 grid (per-matrix scale), as a quantised-then-dequantised copy.
fn quantize(model: &Model) -> Model {
    Model {
        matrices: model
            .matrices
            .iter()
            .map(|(name, r, c, v)| {
                let scale = v.iter().fold(0.0f32, |m, x| m.max(x.abs())) / 127.0;
                let values = v.iter().map(|x| (x / scale).round() * scale).collect();
                (name.clone(), *r, *c, values)
            })
            .collect(),
    }
}

fn on_int8_grid(values: &[f32]) -> bool {
    let scale = values.iter().fold(0.0f32, |m, x| m.max(x.abs())) / 127.0;
    scale > 0.0
        && values
            .iter()
            .all(|x| ((x / scale) - (x / scale).round()).abs() < 1e-3)
}

fn fingerprint(model: &Model) -> Fingerprint {
    let tensors = model
        .matrices
        .iter()
        .map(|(name, r, c, v)| {
            let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            TensorFingerprint {
                name: name.clone(),
                shape: vec![*r, *c],
                dtype: "F32".into(),
                moments: reference::moments(v),
                sum_sq: v.iter().map(|&x| f64::from(x) * f64::from(x)).sum(),
                content_hash: twox_hash::XxHash3_64::oneshot(&bytes),
                on_int8_grid: on_int8_grid(v),
                non_finite: 0,
                // Matrices this small are sketched exactly (up to signs, which cancel here).
                sketch: Sketch {
                    rows: *r as u32,
                    cols: *c as u32,
                    values: v.clone(),
                },
            }
        })
        .collect();
    Fingerprint {
        tensors,
        params: model.matrices.iter().map(|m| (m.1 * m.2) as u64).sum(),
        bytes: 0,
        dtype: "F32".into(),
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
                declared_parent: None,
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

/// Two families of (root, 3 children, 2 grandchildren under each child), built from their own
/// random roots. Returns the models and the true (parent, child) edges.
fn two_families(rng: &mut ChaCha8Rng) -> (Vec<Model>, Vec<(usize, usize)>) {
    let mut models = Vec::new();
    let mut truth = Vec::new();
    for _ in 0..2 {
        let r = models.len();
        models.push(root(rng));
        for _ in 0..3 {
            let c = models.len();
            models.push(finetune(&models[r], 0.08, rng));
            truth.push((r, c));
            for _ in 0..2 {
                let g = models.len();
                models.push(finetune(&models[c], 0.08, rng));
                truth.push((c, g));
            }
        }
    }
    truth.sort_unstable();
    (models, truth)
}

#[test]
fn random_walk_families_are_recovered_as_two_trees() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (models, truth) = two_families(&mut rng);
    let zoo = Zoo::new(&models);
    let undirected = |r: &Recovery| {
        let mut p: Vec<(usize, usize)> = pairs(r)
            .into_iter()
            .map(|(a, b)| (a.min(b), a.max(b)))
            .collect();
        p.sort_unstable();
        p
    };
    // The default method finds the structure; with only three small matrices per model the
    // per-tensor trends it learns are too few to orient every tree.
    assert_eq!(undirected(&zoo.recover()), truth);
    // Noise on every matrix lowers the summed kurtosis, which the summed cue reads.
    let summed = Method {
        aggregate: Aggregate::Sum,
        combine: Combine::TieBreak { epsilon: 1e-3 },
        ..Method::default()
    };
    let recovery = recover_with(&zoo.inputs(), &LineageOptions::default(), &summed);
    assert_eq!(pairs(&recovery), truth);
    assert_eq!(recovery.roots, vec![0, 10]);
    assert!(recovery.unrelated.is_empty() && recovery.duplicates.is_empty());
    for edge in &recovery.edges {
        assert_eq!(edge.kind, EdgeKind::Finetune);
        assert_eq!(edge.regime, Regime::Full);
        assert!(
            edge.distance > 0.05 && edge.distance < 0.2,
            "distance {}",
            edge.distance
        );
        assert!((0.0..=1.0).contains(&edge.confidence));
        assert!(edge.confidence > 0.5, "confident on clean data: {edge:?}");
        assert!(
            edge.runner_up
                .as_ref()
                .is_some_and(|r| r.relative_gap >= 0.0)
        );
    }
}

#[test]
fn pretrain_mode_turns_a_chain_upside_down() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut chain = vec![root(&mut rng)];
    for _ in 0..3 {
        let next = finetune(chain.last().expect("non-empty"), 0.1, &mut rng);
        chain.push(next);
    }
    let zoo = Zoo::new(&chain);
    let inputs = zoo.inputs();
    let finetune_mode = recover(&inputs, &LineageOptions::default());
    assert_eq!(pairs(&finetune_mode), vec![(0, 1), (1, 2), (2, 3)]);
    let options = LineageOptions {
        direction: DirectionMode::Pretrain,
        ..LineageOptions::default()
    };
    let pretrain_mode = recover(&inputs, &options);
    assert_eq!(pairs(&pretrain_mode), vec![(1, 0), (2, 1), (3, 2)]);
    assert_eq!(pretrain_mode.roots, vec![3]);
}

#[test]
fn unrelated_random_models_stay_apart() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let models: Vec<Model> = (0..4).map(|_| root(&mut rng)).collect();
    let recovery = Zoo::new(&models).recover();
    assert!(recovery.edges.is_empty());
    assert!(recovery.roots.is_empty());
    assert_eq!(recovery.unrelated, vec![0, 1, 2, 3]);
}

#[test]
fn an_exact_copy_is_a_duplicate_not_a_child() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let parent = root(&mut rng);
    let child = finetune(&parent, 0.05, &mut rng);
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
fn a_quantised_copy_is_a_leaf_even_when_its_kurtosis_is_higher() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let parent = root(&mut rng);
    let child = finetune(&parent, 0.05, &mut rng);
    let quantised = quantize(&child);
    let zoo = Zoo::new(&[parent, child, quantised]);
    let recovery = zoo.recover();
    assert_eq!(pairs(&recovery), vec![(0, 1), (1, 2)]);
    let edge = &recovery.edges[1];
    assert_eq!(edge.kind, EdgeKind::Quantized);
    assert!(
        recovery.edges.iter().all(|e| e.parent != 2),
        "a quantised model has no children"
    );

    // Even a quantised copy of the root, which the kurtosis cue might call a parent, stays a leaf.
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let base = root(&mut rng);
    let models = [quantize(&base), finetune(&base, 0.05, &mut rng), base];
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
fn low_rank_updates_are_told_apart_and_ranked() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let base = root(&mut rng);
    let children: Vec<Model> = (0..3).map(|_| low_rank(&base, 2, &mut rng)).collect();
    let mut models = vec![base];
    models.extend(children);
    let recovery = Zoo::new(&models).recover();
    assert_eq!(recovery.edges.len(), 3);
    for edge in &recovery.edges {
        assert_eq!(edge.regime, Regime::LowRank, "{edge:?}");
        assert_eq!(edge.rank, Some(2));
    }
    // The full fine-tunes of the families above are not low-rank.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let base = root(&mut rng);
    let full = finetune(&base, 0.05, &mut rng);
    let recovery = Zoo::new(&[base, full]).recover();
    assert_eq!(recovery.edges[0].regime, Regime::Full);
    assert_eq!(recovery.edges[0].rank, None);
}

#[test]
fn low_rank_updates_survive_16_bit_storage() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let base = root(&mut rng);
    let child = low_rank_sized(&base, 2, 0.05, &mut rng);
    let to_bf16 = |m: &Model| Model {
        matrices: m
            .matrices
            .iter()
            .map(|(name, r, c, v)| {
                let rounded = v
                    .iter()
                    .map(|&x| half::bf16::from_f32(x).to_f32())
                    .collect();
                (name.clone(), *r, *c, rounded)
            })
            .collect(),
    };
    let mut zoo = Zoo::new(&[to_bf16(&base), to_bf16(&child)]);
    for fp in &mut zoo.fingerprints {
        fp.tensors.iter_mut().for_each(|t| t.dtype = "BF16".into());
    }
    let recovery = zoo.recover();
    assert_eq!(recovery.edges.len(), 1);
    assert_eq!(
        (recovery.edges[0].regime, recovery.edges[0].rank),
        (Regime::LowRank, Some(2))
    );
    // Told it was stored in full precision, the same rounding noise reads as a full-rank change.
    for fp in &mut zoo.fingerprints {
        fp.tensors.iter_mut().for_each(|t| t.dtype = "F32".into());
    }
    assert_eq!(zoo.recover().edges[0].regime, Regime::Full);
}

#[test]
fn adapters_hang_under_a_present_base_and_are_unrelated_otherwise() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let base = root(&mut rng);
    let child = finetune(&base, 0.05, &mut rng);
    let adapter = Model {
        matrices: vec![
            ("b.lora_A.weight".into(), 4, 24, vec![0.01; 96]),
            ("b.lora_B.weight".into(), 24, 4, vec![0.02; 96]),
        ],
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
fn same_input_same_output_and_confidence_depends_on_the_seed_only() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let (models, _) = two_families(&mut rng);
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
    let tiny = fingerprint(&Model {
        matrices: vec![("t".into(), 1, 1, vec![0.5])],
    });
    let tiny_other = fingerprint(&Model {
        matrices: vec![("t".into(), 1, 1, vec![0.25])],
    });
    let constant = fingerprint(&Model {
        matrices: vec![("k".into(), 4, 4, vec![1.0; 16])],
    });
    let zeros = fingerprint(&Model {
        matrices: vec![("k".into(), 4, 4, vec![0.0; 16])],
    });
    let disjoint = fingerprint(&Model {
        matrices: vec![("other".into(), 4, 4, vec![0.3; 16])],
    });
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
    let one = recover(&inputs[..1], &options);
    assert_eq!(one.unrelated, vec![0]);
    let recovery = recover(&inputs, &options);
    assert_eq!(recovery.summary_kurtosis.len(), all.len());
    assert!(recovery.summary_kurtosis.iter().all(|k| k.is_finite()));
    for edge in &recovery.edges {
        assert!(edge.distance.is_finite() && edge.confidence.is_finite());
    }
    // Empty models are not duplicates of each other, and models sharing no tensor never link.
    assert!(recovery.duplicates.is_empty());
    assert!(recovery.unrelated.contains(&0) && recovery.unrelated.contains(&6));
    // The constant and the all-zero model share a tensor, but a zero model has no direction.
    assert!(recovery.unrelated.contains(&5));
}

#[test]
fn the_baseline_and_the_penalty_are_selectable() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (models, truth) = two_families(&mut rng);
    let zoo = Zoo::new(&models);
    let inputs = zoo.inputs();
    let options = LineageOptions::default();
    for combine in [Combine::Baseline, Combine::Penalty { lambda: 0.3 }] {
        let method = Method {
            combine,
            ..Method::default()
        };
        let recovery = recover_with(&inputs, &options, &method);
        assert_eq!(recovery.edges.len(), truth.len(), "{combine:?}");
        assert_eq!(recovery.roots.len(), 2, "{combine:?}");
        let same_tree = |p: usize, c: usize| (p < 10) == (c < 10);
        assert!(
            recovery.edges.iter().all(|e| same_tree(e.parent, e.child)),
            "{combine:?}"
        );
    }
}

#[test]
fn the_cosine_rule_links_far_fine_tunes_and_splits_unrelated_ones() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let base = root(&mut rng);
    // Noise of 0.7 x RMS: relative distance ~0.7, cosine ~0.82 -> related.
    let far = finetune(&base, 0.7, &mut rng);
    // Noise of 2 x RMS: cosine ~0.45 -> a different run as far as the rule can tell.
    let too_far = finetune(&base, 2.0, &mut rng);
    let recovery = Zoo::new(&[base, far, too_far]).recover();
    let linked: Vec<(usize, usize)> = pairs(&recovery)
        .into_iter()
        .map(|(p, c)| (p.min(c), p.max(c)))
        .collect();
    assert_eq!(linked, vec![(0, 1)]);
    assert_eq!(recovery.unrelated, vec![2]);
}

#[test]
fn low_rank_trees_follow_the_rank_distance() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut models = vec![root(&mut rng)];
    let mut truth = Vec::new();
    for _ in 0..3 {
        let c = models.len();
        models.push(low_rank(&models[0], 2, &mut rng));
        truth.push((0, c));
        for _ in 0..2 {
            let g = models.len();
            models.push(low_rank(&models[c], 2, &mut rng));
            truth.push((c, g));
        }
    }
    let recovery = Zoo::new(&models).recover();
    let mut undirected: Vec<(usize, usize)> = pairs(&recovery)
        .into_iter()
        .map(|(p, c)| (p.min(c), p.max(c)))
        .collect();
    undirected.sort_unstable();
    truth.sort_unstable();
    assert_eq!(undirected, truth);
    assert!(
        recovery
            .edges
            .iter()
            .all(|e| e.regime == Regime::LowRank && e.rank == Some(2))
    );
}
