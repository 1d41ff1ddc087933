//! The DOT export read as a picture: how sure each edge is shows in its line style (solid, grey,
//! dashed red), and a legend beside the forest says so.

use std::path::Path;
use std::process::Command;

fn write_model(root: &Path, name: &str, seed: f32) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("model folder");
    let bytes: Vec<u8> = (0..32 * 32)
        .flat_map(|i| (((i as f32 * 0.37 + seed).sin() * 1e3).fract()).to_le_bytes())
        .collect();
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![32, 32], &bytes)
        .expect("tensor view");
    safetensors::serialize_to_file([("w", view)], None, &dir.join("model.safetensors"))
        .expect("write model.safetensors");
}

#[test]
fn the_dot_file_carries_a_legend_of_line_styles_and_labels() {
    let root = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    write_model(root.path(), "a", 1.0);
    write_model(root.path(), "b", 1.0);
    let dot_path = out.path().join("forest.dot");
    let status = Command::new(env!("CARGO_BIN_EXE_mother"))
        .arg("scan")
        .arg(root.path())
        .arg("--dot")
        .arg(&dot_path)
        .arg("--no-cache")
        .output()
        .expect("run mother");
    assert_eq!(status.status.code(), Some(0), "{status:?}");
    let dot = std::fs::read_to_string(&dot_path).expect("read the DOT file");
    assert!(dot.contains("subgraph cluster_legend"), "{dot}");
    for (sample, style) in [
        ("high (≥ 0.9)", "\"];"),
        ("medium (≥ 0.6)", "color=gray50"),
        ("low, a guess (< 0.6)", "style=dashed, color=red"),
        ("adapter (declared)", "style=dotted"),
        ("duplicate (identical)", "arrowhead=none"),
    ] {
        let line = dot
            .lines()
            .find(|l| l.contains(&format!("label=\"{sample}\"")))
            .unwrap_or_else(|| panic!("no legend sample {sample:?} in\n{dot}"));
        assert!(line.contains(style), "{sample}: {line}");
    }
    assert!(dot.contains("thick border: a root"), "{dot}");
    // The two identical models are drawn as a duplicate, in the duplicate's style.
    assert!(
        dot.lines()
            .any(|l| l.contains("label=\"duplicate\"") && l.contains("arrowhead=none")),
        "{dot}"
    );
    assert!(dot.trim_end().ends_with('}'));
}
