//! One model's matrices beside its parent's: the numbers the per-layer chart, the tensor view
//! and the evidence panel all read, computed in one place so the three never disagree.
//!
//! Excess kurtosis spans decades on real models (−2 for a uniform matrix, over 1,000 for an
//! embedding with outlier rows), so a raw difference says little on its own: a change of 5 is
//! noise at 1,700 and a lot at 3. Each change is therefore also read against how much that
//! tensor's kurtosis varies across the model's family, and values are placed on a symmetric
//! log scale. Tiny matrices (a 2×384 token-type embedding) have a kurtosis that is mostly
//! sampling noise; they are kept in the table, marked, and left out of the summaries.

use super::forest::Forest;
use crate::discover::ModelKind;
use crate::lineage::{EdgeKind, Naming};
use crate::measure::TensorFingerprint;
use std::collections::HashMap;

pub use crate::measure::{SMALL_SIDE, SMALL_VALUES};
/// The lowest excess kurtosis any sample can have (a two-point distribution).
pub const KURTOSIS_FLOOR: f64 = -2.0;

/// Symmetric log: `sign(x) · log10(1 + |x|)`, linear near zero and logarithmic in the tails.
pub fn symlog(x: f64) -> f64 {
    x.signum() * x.abs().ln_1p() / std::f64::consts::LN_10
}

/// The inverse of [`symlog`].
pub fn symlog_inverse(y: f64) -> f64 {
    y.signum() * (10f64.powf(y.abs()) - 1.0)
}

/// A tensor name short enough for a chart axis: `encoder.layer.3.attention.self.query.weight`
/// reads `L3.attn.q`, `model.layers.0.mlp.down_proj.weight` reads `L0.mlp.down`.
pub fn short_name(name: &str) -> String {
    let mut parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 1 && parts.last() == Some(&"weight") {
        parts.pop();
    }
    let mut out: Vec<String> = Vec::new();
    let rest = match parts.iter().position(|part| part.parse::<u32>().is_ok()) {
        Some(index) => {
            out.push(format!("L{}", parts[index]));
            &parts[index + 1..]
        }
        None => &parts[..],
    };
    for part in rest {
        let in_attention = out.iter().any(|word| word == "attn");
        let word = match *part {
            "attention" | "self_attn" | "attn" | "self_attention" => "attn",
            "self" | "dense" => continue,
            "query" | "q_proj" | "q_lin" => "q",
            "key" | "k_proj" | "k_lin" => "k",
            "value" | "v_proj" | "v_lin" => "v",
            "o_proj" | "out_proj" | "out_lin" | "c_proj" => "o",
            "output" if in_attention => "o",
            "output" => "mlp.down",
            "intermediate" => "mlp.up",
            "mlp" | "ffn" | "feed_forward" => "mlp",
            "up_proj" | "fc1" | "w1" | "c_fc" | "lin1" => "up",
            "down_proj" | "fc2" | "w2" | "lin2" => "down",
            "gate_proj" | "w3" => "gate",
            "embeddings" | "embed" => "emb",
            "word_embeddings" => "word",
            "position_embeddings" => "pos",
            "token_type_embeddings" => "type",
            "embed_tokens" | "wte" => "emb.tok",
            other => other,
        };
        // `mlp` followed by `mlp.up` would read twice.
        if out
            .last()
            .is_some_and(|last| word.starts_with(last.as_str()))
        {
            out.pop();
        }
        out.push(word.to_string());
    }
    if out.is_empty() {
        name.to_string()
    } else {
        out.join(".")
    }
}

/// One matrix of the model, with its parent's twin when the parent holds one.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRow {
    /// The name as the model stores it.
    pub name: String,
    /// A short name for charts, unique within the table.
    pub short: String,
    pub shape: Vec<usize>,
    pub kurtosis: f64,
    pub parent_kurtosis: Option<f64>,
    /// Frobenius norm.
    pub norm: f64,
    pub parent_norm: Option<f64>,
    /// Standard deviation of this matrix's kurtosis across the family (at least three models
    /// hold it), the yardstick its change is read against.
    pub spread: Option<f64>,
    /// Too small for its kurtosis to mean much ([`is_small`]).
    pub small: bool,
}

impl TensorRow {
    /// Kurtosis change, child minus parent.
    pub fn delta(&self) -> Option<f64> {
        self.parent_kurtosis.map(|parent| self.kurtosis - parent)
    }

    /// Kurtosis change in units of the family's spread for this matrix.
    pub fn scaled_delta(&self) -> Option<f64> {
        let spread = self.spread.filter(|spread| *spread > 0.0)?;
        self.delta().map(|delta| delta / spread)
    }

    /// Norm change relative to the parent's norm, child minus parent.
    pub fn norm_change(&self) -> Option<f64> {
        let parent = self.parent_norm.filter(|norm| *norm > 0.0)?;
        Some((self.norm - parent) / parent)
    }

    /// How much the matrix changed, for ordering: the scaled change when the family gives a
    /// yardstick, else the change on the symmetric log scale (relative for large values).
    pub fn change(&self) -> f64 {
        match (self.scaled_delta(), self.parent_kurtosis) {
            (Some(scaled), _) => scaled.abs(),
            (None, Some(parent)) => (symlog(self.kurtosis) - symlog(parent)).abs(),
            (None, None) => 0.0,
        }
    }
}

/// Why a model's matrices are not compared with its parent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoComparison {
    /// The model has no parent among the scanned models.
    NoParent,
    /// An adapter holds its own low-rank factors, not the base's matrices.
    Adapter,
}

/// A model's matrices, in name order, each beside its parent's.
#[derive(Debug, Clone)]
pub struct TensorTable {
    pub model: usize,
    /// The parent the rows are compared with.
    pub parent: Option<usize>,
    pub no_comparison: Option<NoComparison>,
    pub rows: Vec<TensorRow>,
    /// Models of the family the spreads were read from.
    pub family: usize,
}

impl TensorTable {
    pub fn of(forest: &Forest, model: usize) -> Self {
        let report = forest.report();
        let is_adapter =
            |index: usize| matches!(report.models[index].entry.kind, ModelKind::Adapter { .. });
        let adapter_edge = forest
            .edge_into(model)
            .is_some_and(|edge| edge.kind == EdgeKind::Adapter);
        let (parent, no_comparison) = if is_adapter(model) || adapter_edge {
            (None, Some(NoComparison::Adapter))
        } else {
            match forest.parent(model) {
                Some(parent) => (Some(parent), None),
                None => (None, Some(NoComparison::NoParent)),
            }
        };

        let canonical_map = |index: usize| -> HashMap<String, &TensorFingerprint> {
            let fingerprint = &report.models[index].fingerprint;
            let naming = Naming::of(fingerprint);
            fingerprint
                .tensors
                .iter()
                .map(|tensor| (naming.canonical(&tensor.name).to_string(), tensor))
                .collect()
        };
        let parent_tensors = parent.map(canonical_map);

        // The family: every model of the same tree, adapters aside (their matrices are other).
        let family = forest.family(model);

        let fingerprint = &report.models[model].fingerprint;
        let naming = Naming::of(fingerprint);
        let mut rows: Vec<TensorRow> = fingerprint
            .tensors
            .iter()
            .map(|tensor| {
                let canonical = naming.canonical(&tensor.name);
                let twin = parent_tensors
                    .as_ref()
                    .and_then(|tensors| tensors.get(canonical))
                    .filter(|twin| twin.shape == tensor.shape);
                let family = family.map_or(&[][..], |f| f.kurtosis(canonical, &tensor.shape));
                TensorRow {
                    name: tensor.name.clone(),
                    short: short_name(canonical),
                    shape: tensor.shape.clone(),
                    kurtosis: tensor.moments.excess_kurtosis(),
                    parent_kurtosis: twin.map(|twin| twin.moments.excess_kurtosis()),
                    norm: tensor.sum_sq.max(0.0).sqrt(),
                    parent_norm: twin.map(|twin| twin.sum_sq.max(0.0).sqrt()),
                    spread: standard_deviation(family),
                    small: tensor.is_small(),
                }
            })
            .collect();
        // Two names may shorten alike (an encoder's and a decoder's layer 0): those keep
        // their full names.
        let mut seen: HashMap<String, usize> = HashMap::new();
        for row in &rows {
            *seen.entry(row.short.clone()).or_default() += 1;
        }
        for row in &mut rows {
            if seen.get(&row.short).copied().unwrap_or(0) > 1 {
                row.short = naming.canonical(&row.name).to_string();
            }
        }
        Self {
            model,
            parent,
            no_comparison,
            rows,
            family: family.map_or(0, |f| f.members),
        }
    }

    /// Rows with the largest change first; small matrices after every other, then by name.
    pub fn by_change(&self) -> Vec<&TensorRow> {
        let mut rows: Vec<&TensorRow> = self.rows.iter().collect();
        rows.sort_by(|a, b| {
            a.small
                .cmp(&b.small)
                .then(b.change().total_cmp(&a.change()))
                .then(a.name.cmp(&b.name))
        });
        rows
    }

    /// The matrix that changed most, small ones aside; `None` when nothing changed.
    pub fn largest_change(&self) -> Option<&TensorRow> {
        self.by_change()
            .into_iter()
            .find(|row| !row.small && row.delta().is_some_and(|delta| delta.abs() >= 0.0005))
    }

    /// How many matrices are small ([`is_small`]).
    pub fn small_count(&self) -> usize {
        self.rows.iter().filter(|row| row.small).count()
    }

    /// Whether the family is large enough to give the changes a yardstick.
    pub fn has_spread(&self) -> bool {
        self.rows.iter().any(|row| row.spread.is_some())
    }
}

/// Sample standard deviation of at least three values.
fn standard_deviation(values: &[f64]) -> Option<f64> {
    if values.len() < 3 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some(variance.sqrt())
}

#[cfg(test)]
mod tests {
    use super::{short_name, symlog, symlog_inverse};

    #[test]
    fn names_read_short() {
        assert_eq!(
            short_name("encoder.layer.3.attention.self.query.weight"),
            "L3.attn.q"
        );
        assert_eq!(
            short_name("encoder.layer.3.attention.output.dense.weight"),
            "L3.attn.o"
        );
        assert_eq!(
            short_name("encoder.layer.3.output.dense.weight"),
            "L3.mlp.down"
        );
        assert_eq!(
            short_name("encoder.layer.3.intermediate.dense.weight"),
            "L3.mlp.up"
        );
        assert_eq!(short_name("layers.0.mlp.down_proj.weight"), "L0.mlp.down");
        assert_eq!(
            short_name("embeddings.token_type_embeddings.weight"),
            "emb.type"
        );
        assert_eq!(short_name("layers.2.weight"), "L2");
        assert_eq!(short_name("embed.weight"), "emb");
    }

    #[test]
    fn symlog_round_trips() {
        for x in [-2.0, -0.5, 0.0, 0.3, 9.0, 1733.0] {
            assert!((symlog_inverse(symlog(x)) - x).abs() < 1e-9 * (1.0 + x.abs()));
        }
        assert!((symlog(9.0) - 1.0).abs() < 1e-12);
    }
}
