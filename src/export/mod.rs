//! Writers for the recovered forest: Graphviz DOT, JSON, and the readable text tree of
//! `mother scan`. All three are pure functions of a [`ScanReport`](crate::engine::ScanReport), so the same input always
//! gives byte-identical output.

mod dot;
mod json;
mod text;

pub use dot::to_dot;
pub use json::to_json;
pub use text::{bundle_list, to_text, to_text_of_bundles};
