//! Writers for the recovered forest: Graphviz DOT and JSON.

use crate::engine::ScanReport;

/// The forest as Graphviz DOT: ids quoted and escaped, edges labelled with their confidence.
pub fn to_dot(report: &ScanReport) -> String {
    let _ = report;
    unimplemented!("export::to_dot: issue #2")
}

/// The JSON document of `mother scan --json`.
pub fn to_json(report: &ScanReport) -> serde_json::Value {
    let _ = report;
    unimplemented!("export::to_json: issue #2")
}
