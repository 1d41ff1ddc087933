//! Copies, which are reported beside the forest and never become parents.
//!
//! - A **duplicate** holds the same set of 2-D tensors (names and shapes), every one with the same
//!   content hash, and the same total parameter count (which covers the 1-D tensors the
//!   fingerprint does not hash). The original is the smallest index; the copy is left out.
//! - A **cast copy** holds, tensor for tensor, exactly the values another model holds once those
//!   are rounded to the copy's coarser dtype (F32 -> BF16, F32 -> F16, F16 -> BF16, ...): the
//!   content hash of each of its tensors equals the other's rounded hash. It hangs as a leaf
//!   under that source, as a quantised copy does. When several models could be its source, the
//!   finest-stored one is (a cast loses precision, it never gains any), then the smallest index.
//!
//! A model without 2-D tensors has nothing to compare and is never called a copy. Names are
//! compared without wrapper prefixes (`names.rs`): the same weights saved by a task class are
//! still the same weights.

use super::names::{Matching, Naming};
use super::{DirectionBasis, spectrum::dot};
use super::{Duplicate, Edge, EdgeKind, LineageInput, Regime};
use crate::measure::TensorFingerprint;
use crate::weights::FloatDtype;
use std::collections::BTreeMap;

/// How a model copies another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    Duplicate,
    Cast,
}

/// The copies among the inputs.
pub struct Copies {
    /// For every model, the model it copies and how, if it is a copy.
    pub source: Vec<Option<(usize, CopyKind)>>,
    /// Every model's wrapper prefixes.
    naming: Vec<Naming>,
}

/// One tensor as a key part: name, shape, the dtype the hash is at, the hash.
type Part<'a> = (&'a str, &'a [usize], FloatDtype, u64);

/// Finds the duplicates and cast copies among `models` (adapters are compared only with
/// adapters, for duplicates).
pub fn find(models: &[LineageInput<'_>]) -> Copies {
    let n = models.len();
    let naming: Vec<Naming> = models.iter().map(|m| Naming::of(m.fingerprint)).collect();
    let mut source: Vec<Option<(usize, CopyKind)>> = vec![None; n];
    let mut first: BTreeMap<(bool, u64, Vec<Part<'_>>), usize> = BTreeMap::new();
    for (index, model) in models.iter().enumerate() {
        let Some(key) = stored_key(model, &naming[index]) else {
            continue;
        };
        let original = *first
            .entry((model.is_adapter, model.fingerprint.params, key))
            .or_insert(index);
        if original != index {
            source[index] = Some((original, CopyKind::Duplicate));
        }
    }

    // Every original full model, indexed by what it stores; then every model's values rounded
    // to each coarser dtype are looked up in that index.
    let mut stored: BTreeMap<(u64, Vec<Part<'_>>), usize> = BTreeMap::new();
    for (index, model) in models.iter().enumerate() {
        if model.is_adapter || source[index].is_some() {
            continue;
        }
        if let Some(key) = stored_key(model, &naming[index]) {
            stored.insert((model.fingerprint.params, key), index);
        }
    }
    let mut cast_of: Vec<Option<usize>> = vec![None; n];
    for (index, model) in models.iter().enumerate() {
        if model.is_adapter || source[index].is_some() {
            continue;
        }
        for precision in [FloatDtype::F16, FloatDtype::BF16] {
            let Some(key) = rounded_key(model, &naming[index], precision) else {
                continue;
            };
            let Some(&copy) = stored.get(&(model.fingerprint.params, key)) else {
                continue;
            };
            if copy == index {
                continue;
            }
            let better = match cast_of[copy] {
                None => true,
                Some(current) => {
                    (finest(&models[index]), std::cmp::Reverse(index))
                        > (finest(&models[current]), std::cmp::Reverse(current))
                }
            };
            if better {
                cast_of[copy] = Some(index);
            }
        }
    }
    // A cast of a model that is itself a cast copy hangs under the first source: copies are
    // never parents.
    for copy in 0..n {
        let mut from = cast_of[copy];
        for _ in 0..n {
            match from.and_then(|f| cast_of[f]) {
                Some(earlier) => from = Some(earlier),
                None => break,
            }
        }
        if let Some(from) = from {
            source[copy] = Some((from, CopyKind::Cast));
        }
    }
    Copies { source, naming }
}

impl Copies {
    /// For every model, the index it stands for in the forest: itself, or the original it
    /// duplicates.
    pub fn stands_for(&self) -> Vec<usize> {
        self.source
            .iter()
            .enumerate()
            .map(|(index, source)| match source {
                Some((original, CopyKind::Duplicate)) => *original,
                _ => index,
            })
            .collect()
    }

    pub fn duplicates(&self) -> Vec<Duplicate> {
        self.source
            .iter()
            .enumerate()
            .filter_map(|(copy, source)| match source {
                Some((original, CopyKind::Duplicate)) => Some(Duplicate {
                    original: *original,
                    copy,
                }),
                _ => None,
            })
            .collect()
    }

    /// One edge per cast copy, from its source.
    pub fn edges(&self, models: &[LineageInput<'_>], summary: &[f64]) -> Vec<Edge> {
        self.source
            .iter()
            .enumerate()
            .filter_map(|(child, source)| match source {
                Some((parent, CopyKind::Cast)) => Some(Edge {
                    parent: *parent,
                    child,
                    kind: EdgeKind::Cast,
                    distance: self.distance(models, *parent, child),
                    confidence: 1.0,
                    link_confidence: 1.0,
                    direction_confidence: 1.0,
                    direction_basis: DirectionBasis::Copy,
                    growth: None,
                    growth_sigma: None,
                    shrink: None,
                    regime: Regime::Faint,
                    rank: None,
                    kurtosis_drop: summary[*parent] - summary[child],
                    breadth: None,
                    runner_up: None,
                    matching: Matching {
                        shared: models[child].fingerprint.tensors.len(),
                        parent_prefix: self.naming[*parent].prefix(),
                        child_prefix: self.naming[child].prefix(),
                        ..Matching::default()
                    },
                }),
                _ => None,
            })
            .collect()
    }

    /// Relative distance of a copy from its source over their sketches (the two hold the same
    /// tensors under their canonical names).
    fn distance(&self, models: &[LineageInput<'_>], source: usize, copy: usize) -> f64 {
        let copy_tensors: BTreeMap<(&str, &[usize]), &TensorFingerprint> = models[copy]
            .fingerprint
            .tensors
            .iter()
            .map(|t| {
                (
                    (self.naming[copy].canonical(&t.name), t.shape.as_slice()),
                    t,
                )
            })
            .collect();
        let (mut diff, mut norm) = (0.0, 0.0);
        for a in &models[source].fingerprint.tensors {
            let name = self.naming[source].canonical(&a.name);
            if let Some(b) = copy_tensors.get(&(name, a.shape.as_slice()))
                && a.sketch.values.len() == b.sketch.values.len()
            {
                let d: Vec<f64> = a
                    .sketch
                    .values
                    .iter()
                    .zip(&b.sketch.values)
                    .map(|(&x, &y)| f64::from(x) - f64::from(y))
                    .collect();
                diff += dot(&d, &d);
            }
            norm += a.sum_sq;
        }
        if norm > 0.0 {
            (diff / norm).sqrt()
        } else {
            0.0
        }
    }
}

/// What a model stores, tensor by tensor, sorted; `None` without 2-D tensors.
fn stored_key<'a>(model: &LineageInput<'a>, naming: &Naming) -> Option<Vec<Part<'a>>> {
    let tensors = &model.fingerprint.tensors;
    if tensors.is_empty() {
        return None;
    }
    let mut key: Vec<Part<'a>> = tensors
        .iter()
        .map(|t| {
            let name = naming.canonical(&t.name);
            (name, t.shape.as_slice(), t.dtype, t.content_hash)
        })
        .collect();
    key.sort_unstable();
    Some(key)
}

/// What a cast of the model to `precision` would store; `None` when no tensor is finer than
/// `precision` (no cast there) or some tensor cannot be rounded there.
fn rounded_key<'a>(
    model: &LineageInput<'a>,
    naming: &Naming,
    precision: FloatDtype,
) -> Option<Vec<Part<'a>>> {
    let tensors = &model.fingerprint.tensors;
    if !tensors
        .iter()
        .any(|t| t.dtype.coarser(precision) != t.dtype)
    {
        return None;
    }
    let mut key = tensors
        .iter()
        .map(|t| {
            let at = t.dtype.coarser(precision);
            let name = naming.canonical(&t.name);
            Some((name, t.shape.as_slice(), at, t.hash_at(at)?))
        })
        .collect::<Option<Vec<Part<'a>>>>()?;
    key.sort_unstable();
    Some(key)
}

/// Mantissa bits of the model's finest matrix.
fn finest(model: &LineageInput<'_>) -> i32 {
    model
        .fingerprint
        .tensors
        .iter()
        .map(|t| t.dtype.mantissa_bits())
        .max()
        .unwrap_or(0)
}
