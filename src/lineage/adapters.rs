//! PEFT adapters. An adapter holds only its low-rank factors, which match no tensor of a full
//! model, so it never enters the distance computations: it hangs under the base its metadata
//! declares, when that base is among the inputs. Such an edge is declared, not measured: its
//! confidence is 1 and its distance and kurtosis drop are 0. An adapter whose base is absent is
//! unrelated.

use super::names::Matching;
use super::{DirectionBasis, Edge, EdgeKind, LineageInput, Regime};

/// The adapter edges, given for every model the index it stands for (duplicates resolved).
pub fn edges(models: &[LineageInput<'_>], stands_for: &[usize]) -> Vec<Edge> {
    models
        .iter()
        .enumerate()
        .filter(|&(index, model)| model.is_adapter && stands_for[index] == index)
        .filter_map(|(child, model)| {
            let base = model.adapter_base?;
            let found = models
                .iter()
                .enumerate()
                .position(|(i, m)| i != child && m.id == base)?;
            let parent = stands_for[found];
            (parent != child).then(|| Edge {
                parent,
                child,
                kind: EdgeKind::Adapter,
                distance: 0.0,
                confidence: 1.0,
                link_confidence: 1.0,
                direction_confidence: 1.0,
                direction_basis: DirectionBasis::Copy,
                growth: None,
                growth_sigma: None,
                shrink: None,
                regime: Regime::LowRank,
                rank: declared_rank(model),
                kurtosis_drop: 0.0,
                breadth: None,
                runner_up: None,
                matching: Matching::default(),
            })
        })
        .collect()
}

/// The LoRA rank read from the adapter's own factors: `lora_A` is [r, in]; the median over them.
fn declared_rank(model: &LineageInput<'_>) -> Option<u32> {
    let mut ranks: Vec<u32> = model
        .fingerprint
        .tensors
        .iter()
        .filter(|t| t.name.contains("lora_A") && t.shape.len() == 2)
        .filter_map(|t| u32::try_from(t.shape[0]).ok())
        .collect();
    ranks.sort_unstable();
    ranks.get(ranks.len() / 2).copied()
}
