//! The phenomenon the MoTHer paper reads, measured straight from the files of the small family:
//! pre-training makes weights heavy-tailed, and fine-tuning lowers their excess kurtosis from
//! parent to child. Models are stored in mixed dtypes, so every kurtosis is taken at BF16
//! precision (each value rounded as a cast to BF16 would), where all of them can be compared.

use crate::common;

use mother::demo::read_truth;
use mother::weights::FloatDtype;
use safetensors::SafeTensors;
use std::collections::BTreeMap;
use std::path::Path;

/// Excess kurtosis with biased moments (scipy's default), in f64.
fn excess_kurtosis(values: &[f32]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let (mut m2, mut m4) = (0.0, 0.0);
    for &v in values {
        let d = f64::from(v) - mean;
        m2 += d * d;
        m4 += d * d * d * d;
    }
    n * m4 / (m2 * m2) - 3.0
}

/// Excess kurtosis of every 2-D tensor of a model in the hub cache, by tensor name.
fn kurtosis_of(hub: &Path, id: &str) -> BTreeMap<String, f64> {
    let bytes = common::snapshot_file(hub, id, "model.safetensors");
    let file = SafeTensors::deserialize(&bytes).expect("safetensors");
    file.tensors()
        .into_iter()
        .filter(|(_, view)| view.shape().len() == 2)
        .map(|(name, view)| {
            let mut values = common::stored_values(&view);
            let mut bf16 = Vec::new();
            FloatDtype::BF16.encode_into(&values, &mut bf16);
            FloatDtype::BF16.decode_into(&bf16, &mut values);
            (name, excess_kurtosis(&values))
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    falls: usize,
    edges: usize,
}

impl Tally {
    fn add(&mut self, falls: bool) {
        self.edges += 1;
        self.falls += usize::from(falls);
    }
    fn share(&self) -> f64 {
        self.falls as f64 / self.edges.max(1) as f64
    }
}

#[test]
fn fine_tuning_lowers_kurtosis_in_the_small_family() {
    let dir = common::small_family();
    let truth = read_truth(&dir).expect("truth");
    let hub = dir.join("hub");
    let kurtosis: BTreeMap<&String, BTreeMap<String, f64>> = truth
        .truth
        .keys()
        .map(|id| (id, kurtosis_of(&hub, id)))
        .collect();
    let summed = |id: &String| kurtosis[id].values().sum::<f64>();

    // Pre-training made heavy tails: the roots' summed kurtosis is far above a Gaussian's 0.
    for (id, parent) in &truth.truth {
        if parent.is_none() {
            println!("root {id}: {:?}", kurtosis[id]);
            assert!(
                summed(id) > 3.0,
                "{id} stayed near Gaussian: {:?}",
                kurtosis[id]
            );
        }
    }

    // Per regime and depth: mean summed kurtosis of each generation.
    let mut generations: BTreeMap<(String, usize), Vec<f64>> = BTreeMap::new();
    for id in truth.truth.keys() {
        let mut depth = 0;
        let mut at = id;
        while let Some(Some(parent)) = truth.truth.get(at) {
            depth += 1;
            at = parent;
        }
        let tree_regime = if at.contains("/lora") { "lora" } else { "full" };
        generations
            .entry((tree_regime.to_owned(), depth))
            .or_default()
            .push(summed(id));
    }
    for ((regime, depth), values) in &generations {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        println!(
            "{regime} generation {depth}: mean summed kurtosis {mean:.3} over {} models",
            values.len()
        );
    }

    let mut per_model: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut per_tensor: BTreeMap<(&str, String), Tally> = BTreeMap::new();
    for (child, parent) in &truth.truth {
        let Some(parent) = parent else { continue };
        let regime = truth.regime[child].as_str();
        per_model
            .entry(regime)
            .or_default()
            .add(summed(child) < summed(parent));
        for (name, &value) in &kurtosis[child] {
            per_tensor
                .entry((regime, name.clone()))
                .or_default()
                .add(value < kurtosis[parent][name]);
        }
    }
    for (regime, tally) in &per_model {
        println!(
            "{regime}: summed kurtosis falls on {}/{} edges ({:.0}%)",
            tally.falls,
            tally.edges,
            100.0 * tally.share()
        );
    }
    for ((regime, name), tally) in &per_tensor {
        println!(
            "{regime} {name}: falls on {}/{} edges ({:.0}%)",
            tally.falls,
            tally.edges,
            100.0 * tally.share()
        );
    }
    // LoRA leaves the frozen embedding as the parent had it, up to its storage rounding (F16
    // rounded again to BF16 can land one step off a direct rounding).
    for (child, regime) in &truth.regime {
        if regime == "lora"
            && let Some(Some(parent)) = truth.truth.get(child)
        {
            let (a, b) = (
                kurtosis[child]["embed.weight"],
                kurtosis[parent]["embed.weight"],
            );
            assert!((a - b).abs() < 1e-4, "{child}: the frozen embedding moved");
        }
    }

    let full = &per_model["full"];
    assert!(full.edges >= 12);
    assert!(
        full.share() >= 0.9,
        "kurtosis fell on only {}/{} full fine-tune edges",
        full.falls,
        full.edges
    );
}
