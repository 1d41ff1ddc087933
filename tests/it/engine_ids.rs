//! A PATH that holds several hub caches with the same repos (one folder per family, as an
//! evaluation keeps them): every model gets an id of its own, and every writer refers to it by
//! that id, so no edge is ambiguous.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use crate::common;

fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

#[test]
fn two_copies_of_a_family_keep_their_models_apart_in_every_output() {
    let family = common::small_family();
    let root = tempfile::tempdir().unwrap();
    for name in ["a", "b"] {
        std::fs::create_dir_all(root.path().join(name)).unwrap();
        copy_tree(&family.join("hub"), &root.path().join(name).join("hub"));
    }
    let (alone, _) = common::run_scan(&common::options(&family.join("hub"), None));
    let (both, _) = common::run_scan(&common::options(root.path(), None));

    assert_eq!(both.models.len(), 2 * alone.models.len());
    let ids: HashSet<&str> = both.models.iter().map(|m| m.entry.id.as_str()).collect();
    assert_eq!(ids.len(), both.models.len(), "every id is unique");
    for model in &alone.models {
        for place in ["a/hub", "b/hub"] {
            let qualified = format!("{place}:{}", model.entry.id);
            assert!(ids.contains(qualified.as_str()), "{qualified} is missing");
        }
    }

    // The JSON names each edge's ends by those ids. Each copy in `b` is byte-identical to its
    // namesake in `a`, so it is that model's duplicate, and the tree is drawn once, in `a`.
    let json = mother::export::to_json(&both);
    for model in json["models"].as_array().unwrap() {
        let (id, place) = (
            model["id"].as_str().unwrap(),
            model["found_in"].as_str().unwrap(),
        );
        assert!(id.starts_with(&format!("{place}:")), "{id} in {place}");
    }
    let edges = json["edges"].as_array().unwrap();
    assert_eq!(edges.len(), alone.recovery.edges.len());
    for edge in edges {
        let (parent, child) = (
            edge["parent"].as_str().unwrap(),
            edge["child"].as_str().unwrap(),
        );
        assert!(
            ids.contains(parent) && ids.contains(child),
            "{parent} -> {child}"
        );
        assert!(
            parent.starts_with("a/hub:") && child.starts_with("a/hub:"),
            "{parent} -> {child}"
        );
    }
    let copies: HashSet<&str> = json["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|pair| assert!(pair["original"].as_str().unwrap().starts_with("a/hub:")))
        .map(|pair| pair["copy"].as_str().unwrap())
        .collect();
    assert!(
        ids.iter()
            .filter(|id| id.starts_with("b/hub:"))
            .all(|id| copies.contains(id))
    );
}
