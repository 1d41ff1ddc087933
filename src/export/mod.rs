//! Writers for the recovered forest: Graphviz DOT, JSON, and the readable text tree of
//! `mother scan`. All three are pure functions of a [`ScanReport`], so the same input always
//! gives byte-identical output.

mod dot;
mod json;
mod text;

pub use dot::to_dot;
pub use json::to_json;
pub use text::to_text;

use crate::engine::ScanReport;

/// What the model's metadata says about the recovered parent of `child`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declared {
    /// No parent declared in metadata.
    None,
    /// The declared parent is the recovered parent.
    Agrees,
    /// A parent is declared and it is not the recovered one.
    Disagrees,
}

/// Compares the declared parent of model `child` with the recovered one (`parent`, if any).
/// A declared id matches a model whose id equals it, or whose repo id (before `@`) equals it.
pub fn declared_status(report: &ScanReport, child: usize, parent: Option<usize>) -> Declared {
    let Some(declared) = &report.models[child].entry.declared_parent else {
        return Declared::None;
    };
    let matches = parent.is_some_and(|p| {
        let id = report.models[p].entry.id.as_str();
        id == declared.id || id.split('@').next() == Some(declared.id.as_str())
    });
    if matches {
        Declared::Agrees
    } else {
        Declared::Disagrees
    }
}

/// Parameter count in the short form people read: 22.7M, 1.1B, 950K.
pub fn human_count(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.1}B", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1}M", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1}K", n / 1e3)
    } else {
        format!("{n}")
    }
}

/// Byte size in base 1000, as `hf cache ls` prints it: 893.8M.
pub fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e12 {
        format!("{:.1}T", n / 1e12)
    } else if n >= 1e9 {
        format!("{:.1}G", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1}M", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1}K", n / 1e3)
    } else {
        format!("{n}")
    }
}
