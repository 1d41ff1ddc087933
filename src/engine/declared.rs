//! Whether a model's declared parent (from its README or config) matches the recovered one: one
//! verdict shared by every writer and the explorer, so they never disagree about it.

use super::ScanReport;

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

/// Compares the declared parent of model `child` with the recovered one (`parent`, if any).
pub fn declared_status(report: &ScanReport, child: usize, parent: Option<usize>) -> Declared {
    let Some(declared) = &report.models[child].entry.declared_parent else {
        return Declared::None;
    };
    let named = repo_of(declared.id.trim());
    let matches = |candidate: usize| repo_of(&report.models[candidate].entry.id) == named;
    if parent.is_some_and(matches) {
        Declared::Agrees
    } else if (0..report.models.len()).any(matches) {
        Declared::Disagrees
    } else {
        Declared::NotScanned
    }
}
