//! The JSON document of `mother scan --json`. Keys come out sorted (serde_json's map is ordered
//! by key) and numbers in their shortest round-trip form, so equal input gives equal bytes.

use crate::discover::ModelKind;
use crate::engine::{Declared, ScanReport, declared_status};
use crate::lineage::Merge;
use serde_json::{Value, json};

/// The JSON document of `mother scan --json`:
/// `{"models": [...], "edges": [...], "roots": [...], "unrelated": [...], "duplicates": [...],
/// "merges": [...], "skipped": [...]}`. Models and edges refer to each other by model id. A
/// merge has several parents, so it is not an edge: `merges` lists each with its two or three
/// sources and their weights, the largest first (a task-arithmetic merge's base comes last,
/// with a negative weight). `undecided_merges` lists planes of four models any one of which may
/// be the others' merge (task arithmetic at weight 1); they stay in `edges`, as guesses.
/// `checkpoints_or_merges` lists models on the line of a model and its own descendant, each a
/// checkpoint between them or their merge (WiSE-FT), with the fit a merge would have; they too
/// stay in `edges`, as checkpoints, and the links among each one's models are guesses.
/// `merge_hubs` lists models nearest a merge that the tree placed above some of its sources (the
/// merge's fine-tune made their hub, or their ancestor) with the `edges` that are guesses for it.
/// `root` is the folder scanned; `bundles` lists the bundles whose models were added (each
/// with its file, the host that wrote it, the folder it scanned there and its model count).
pub fn to_json(report: &ScanReport) -> Value {
    let recovery = &report.recovery;
    let id = |index: usize| report.models[index].entry.id.clone();
    let models: Vec<Value> = report
        .models
        .iter()
        .enumerate()
        .map(|(index, model)| {
            let entry = &model.entry;
            let tensors: Vec<Value> = model
                .fingerprint
                .tensors
                .iter()
                .map(|t| {
                    json!({
                        "name": t.name,
                        "shape": t.shape,
                        "dtype": t.quantized.map_or(t.dtype.name(), |q| q.name()),
                        "kurtosis": t.moments.excess_kurtosis(),
                        "norm": t.sum_sq.sqrt(),
                        "non_finite": t.non_finite,
                    })
                })
                .collect();
            let (kind, adapter_base, adapter_rank) = match &entry.kind {
                ModelKind::Full => ("full", None, None),
                ModelKind::Adapter { base, rank } => ("adapter", base.clone(), *rank),
            };
            json!({
                "id": entry.id,
                // The cache (or `.`, the scanned folder) the model was found in, so scripts can
                // group a scan of several caches without parsing ids, most of which are not
                // qualified.
                "found_in": entry.found_in,
                "path": entry.dir.to_string_lossy(),
                "kind": kind,
                "format": model.format_name(),
                "quantization": model.fingerprint.quantization().map(|q| q.name()),
                "adapter_base": adapter_base,
                "adapter_rank": adapter_rank,
                "revision": entry.revision,
                "architecture": entry.config.architecture,
                "dtype": model.fingerprint.dtype,
                "params": model.fingerprint.params,
                "bytes": entry.total_bytes,
                "kurtosis": recovery.summary_kurtosis.get(index).copied(),
                "median_kurtosis": model.fingerprint.median_kurtosis(),
                "declared_parent": entry.declared_parent.as_ref().map(|d| json!({
                    "id": d.id,
                    "relation": d.relation,
                    "source": d.source,
                })),
                "tensors": tensors,
            })
        })
        .collect();
    let edges: Vec<Value> = recovery
        .edges
        .iter()
        .map(|edge| {
            let declared = report.models[edge.child]
                .entry
                .declared_parent
                .as_ref()
                .map(|d| d.id.clone());
            let agrees = match declared_status(report, edge.child, Some(edge.parent)) {
                Declared::None => Value::Null,
                Declared::Agrees => Value::Bool(true),
                Declared::Disagrees | Declared::NotScanned => Value::Bool(false),
            };
            json!({
                "parent": id(edge.parent),
                "child": id(edge.child),
                "kind": edge.kind,
                "distance": edge.distance,
                "confidence": edge.confidence,
                "level": edge.level(),
                "link_confidence": edge.link_confidence,
                "direction_confidence": edge.direction_confidence,
                "direction_basis": edge.direction_basis,
                "growth": edge.growth,
                "growth_sigma": edge.growth_sigma,
                "regime": edge.regime,
                "rank": edge.rank,
                "kurtosis_drop": edge.kurtosis_drop,
                "breadth": edge.breadth,
                "runner_up": edge.runner_up.as_ref().map(|r| json!({
                    "parent": id(r.parent),
                    "relative_gap": r.relative_gap,
                    "distance_gap": r.distance_gap,
                })),
                "matching": edge.matching,
                "declared_parent": declared,
                "declared_agrees": agrees,
            })
        })
        .collect();
    let duplicates: Vec<Value> = recovery
        .duplicates
        .iter()
        .map(|d| json!({"original": id(d.original), "copy": id(d.copy)}))
        .collect();
    let fit = |m: &Merge| {
        json!({
            "model": id(m.model),
            "sources": m.sources.iter().map(|&s| id(s)).collect::<Vec<_>>(),
            "weights": m.weights,
            "off_line": m.off_line,
        })
    };
    let merges: Vec<Value> = recovery.merges.iter().map(fit).collect();
    let checkpoints_or_merges: Vec<Value> =
        recovery.checkpoints_or_merges.iter().map(fit).collect();
    let undecided: Vec<Value> = recovery
        .undecided_merges
        .iter()
        .map(|u| {
            json!({
                "models": u.models.iter().map(|&m| id(m)).collect::<Vec<_>>(),
                "off_plane": u.off_plane,
            })
        })
        .collect();
    let merge_hubs: Vec<Value> = recovery
        .merge_hubs
        .iter()
        .map(|h| {
            json!({
                "model": id(h.model),
                "merge": id(h.merge),
                "edges": h.edges.iter().map(|&(p, c)| [id(p), id(c)]).collect::<Vec<_>>(),
            })
        })
        .collect();
    let skipped: Vec<Value> = report
        .skipped
        .iter()
        .map(|s| json!({"path": s.path.to_string_lossy(), "reason": s.reason}))
        .collect();
    json!({
        "root": report.root.to_string_lossy(),
        "bundles": report.bundles,
        "models": models,
        "edges": edges,
        "roots": recovery.roots.iter().map(|&r| id(r)).collect::<Vec<_>>(),
        "unrelated": recovery.unrelated.iter().map(|&r| id(r)).collect::<Vec<_>>(),
        "duplicates": duplicates,
        "merges": merges,
        "undecided_merges": undecided,
        "checkpoints_or_merges": checkpoints_or_merges,
        "merge_hubs": merge_hubs,
        "skipped": skipped,
    })
}
