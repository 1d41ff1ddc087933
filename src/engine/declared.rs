//! Whether a model's declared parent (from its README or config) matches the recovered one: one
//! verdict shared by every writer and the explorer, so they never disagree about it. Also which
//! scanned model a name in metadata means, for that verdict and for an adapter's base.

use super::{ScanReport, ScannedModel};

/// How a model's declared parent (from its metadata) compares with the recovered one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declared {
    /// No parent in the metadata.
    None,
    /// The metadata names the recovered parent.
    Agrees,
    /// The metadata names another scanned model (or names one while none was recovered).
    Disagrees,
    /// The metadata names a model that was not scanned, so the weights cannot check it.
    NotScanned,
}

/// Hub ids carry `@revision` when several revisions are cached; metadata names the repo only.
fn repo_of(id: &str) -> &str {
    id.split_once('@').map_or(id, |(repo, _)| repo)
}

/// The scanned models a parent named in the metadata of model `from` can be. Metadata names a
/// repo (`org/name`, as a card's `base_model` or an adapter's base writes it), never a revision
/// and never one copy of it on disk, so every model whose own id ([`ModelEntry::bare_id`], without
/// `@revision`) is that repo is one. When the scan found several, those in the same place as
/// `from` (the same hub cache, [`ModelEntry::found_in`]) are kept if there are any: a model
/// downloaded into one cache beside its base was most likely made from that copy, and a copy
/// in another cache may be another training run under the same name.
///
/// [`ModelEntry::bare_id`]: crate::discover::ModelEntry::bare_id
/// [`ModelEntry::found_in`]: crate::discover::ModelEntry::found_in
pub fn models_named(models: &[ScannedModel], name: &str, from: usize) -> Vec<usize> {
    prefer_place_of(models, from, repo_named(models, name))
}

/// Every model whose own id, without `@revision`, is the repo `name`.
fn repo_named(models: &[ScannedModel], name: &str) -> Vec<usize> {
    let name = repo_of(name.trim());
    (0..models.len())
        .filter(|&index| repo_of(models[index].entry.bare_id()) == name)
        .collect()
}

/// Those of several `named` models found in the same place as model `from`, if any.
fn prefer_place_of(models: &[ScannedModel], from: usize, named: Vec<usize>) -> Vec<usize> {
    if named.len() < 2 {
        return named;
    }
    let place = &models[from].entry.found_in;
    let beside: Vec<usize> = named
        .iter()
        .copied()
        .filter(|&index| &models[index].entry.found_in == place)
        .collect();
    if beside.is_empty() { named } else { beside }
}

/// The one scanned model an adapter's declared base means, if the name decides it: the only
/// model [`models_named`] gives; else the one whose id is exactly the name (a bundle's model of
/// the same repo with other weights is kept as `id@host`, and the base is the one without);
/// else, when all of them hold the same weights, the first (copies are one model, and the
/// forest makes one of them the original anyway). Anything else is ambiguous (several copies
/// of the repo with other weights, none beside the adapter), and the adapter is left unattached
/// rather than hung under a guess.
pub fn adapter_base(models: &[ScannedModel], name: &str, adapter: usize) -> Option<usize> {
    let mut named = repo_named(models, name);
    named.retain(|&index| index != adapter);
    let named = prefer_place_of(models, adapter, named);
    match named.as_slice() {
        [] => None,
        [only] => Some(*only),
        [first, rest @ ..] => named
            .iter()
            .copied()
            .find(|&index| models[index].entry.id == name.trim())
            .or_else(|| {
                let same = |&index: &usize| models[index].fingerprint == models[*first].fingerprint;
                rest.iter().all(same).then_some(*first)
            }),
    }
}

/// Compares the declared parent of model `child` with the recovered one (`parent`, if any).
pub fn declared_status(report: &ScanReport, child: usize, parent: Option<usize>) -> Declared {
    let Some(declared) = &report.models[child].entry.declared_parent else {
        return Declared::None;
    };
    let named = models_named(&report.models, &declared.id, child);
    if named.is_empty() {
        Declared::NotScanned
    } else if parent.is_some_and(|parent| named.contains(&parent)) {
        Declared::Agrees
    } else {
        Declared::Disagrees
    }
}
