//! Exact duplicates: two models with the same set of 2-D tensors (names and shapes), every
//! one with the same content hash, and the same total parameter count (which covers the 1-D
//! tensors the fingerprint does not hash). The copy is not a child of the original: it is
//! reported beside the forest and left out of it, and the original (the smallest index) stays.
//! A model without 2-D tensors has nothing to compare and is never called a duplicate.

use super::{Duplicate, LineageInput};
use std::collections::BTreeMap;

/// The duplicates among `models`, sorted by copy, and for every model the index it stands for
/// (itself, or its original).
pub fn find(models: &[LineageInput<'_>]) -> (Vec<Duplicate>, Vec<usize>) {
    type Signature<'a> = (bool, u64, Vec<(&'a str, &'a [usize], u64)>);
    let mut first: BTreeMap<Signature<'_>, usize> = BTreeMap::new();
    let mut stands_for: Vec<usize> = (0..models.len()).collect();
    let mut duplicates = Vec::new();
    for (index, model) in models.iter().enumerate() {
        let fp = model.fingerprint;
        if fp.tensors.is_empty() {
            continue;
        }
        let mut tensors: Vec<(&str, &[usize], u64)> = fp
            .tensors
            .iter()
            .map(|t| (t.name.as_str(), t.shape.as_slice(), t.content_hash))
            .collect();
        tensors.sort_unstable();
        let original = *first
            .entry((model.is_adapter, fp.params, tensors))
            .or_insert(index);
        if original != index {
            stands_for[index] = original;
            duplicates.push(Duplicate {
                original,
                copy: index,
            });
        }
    }
    (duplicates, stands_for)
}
