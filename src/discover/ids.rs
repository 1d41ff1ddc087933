//! Ids unique within one scan. Discovery names a model after its own location: `org/name`
//! (with `@commit` when several revisions are cached) relative to the hub cache that holds the
//! repo, or a folder path relative to the scanned root. One scan can meet a name twice: the same
//! repo in several hub caches (`gentle1001/hub`, `gentle1002/hub`), a plain folder `org/name`
//! beside a hub cache that holds `org/name`, or, rarely, two layouts that spell one name
//! (`models--gpt2` with a subfolder `x`, and `models--gpt2--x`).
//!
//! Only ids that would repeat change, so a scan of one hub cache keeps the ids it always had.
//! Every model of such a group is qualified with where it was found ([`ModelEntry::found_in`])
//! as `{place}:{id}`: `gentle1001/hub:mother-demo/full0-c0`, or `.:org/name` for a model named
//! relative to the scanned root itself. Why this form: the place is a path the user can go to,
//! relative to the PATH they gave, so the id says where to look; it comes first, so that the
//! copies of one repo sort by cache, and it reads like scp's `host:path`. `:` cannot occur in a
//! hub repo id (the Hub allows letters, digits, `-`, `_`, `.` and one `/`), so for hub repos the
//! qualifier is unmistakable, and `@` is taken already (a revision, a bundle's host).
//!
//! Two places are two different paths, so the qualified ids of one group differ. They can still
//! meet another id only when file names hold `:` themselves or one place spells a name twice (the
//! `gpt2/x` case); whatever repeats after qualifying is numbered `#2`, `#3`, ... in the order of
//! the models' folders, so that ids are unique in every case. Nothing depends on the order in
//! which directories were listed.

use std::collections::{HashMap, HashSet};

use super::ModelEntry;

/// Qualifies every id that more than one of `models` has, then numbers what still repeats.
/// `found_in` must be set.
pub(super) fn make_unique(models: &mut [ModelEntry]) {
    let mut uses: HashMap<String, usize> = HashMap::new();
    for model in models.iter() {
        *uses.entry(model.id.clone()).or_default() += 1;
    }
    for model in models.iter_mut() {
        if uses[&model.id] > 1 {
            let own = std::mem::take(&mut model.id);
            model.id = format!("{}:{own}", model.found_in);
            model.unqualified_id = Some(own);
        }
    }
    number_repeats(models);
}

/// The last resort for ids that qualifying left equal: the first model by folder keeps the id,
/// the others get the lowest free `#n`.
fn number_repeats(models: &mut [ModelEntry]) {
    let mut order: Vec<usize> = (0..models.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&models[a], &models[b]);
        let files = |model: &ModelEntry| {
            model
                .weight_files
                .iter()
                .map(|file| file.path.clone())
                .collect::<Vec<_>>()
        };
        a.id.cmp(&b.id)
            .then_with(|| a.dir.cmp(&b.dir))
            .then_with(|| files(a).cmp(&files(b)))
    });
    let mut taken: HashSet<String> = models.iter().map(|model| model.id.clone()).collect();
    let mut group: Option<String> = None;
    for index in order {
        let id = models[index].id.clone();
        if group.as_deref() != Some(id.as_str()) {
            group = Some(id);
            continue;
        }
        let numbered = (2..)
            .map(|n| format!("{id}#{n}"))
            .find(|candidate| !taken.contains(candidate))
            .expect("some number is free");
        taken.insert(numbered.clone());
        let model = &mut models[index];
        model.unqualified_id.get_or_insert(id);
        model.id = numbered;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::{ModelConfig, ModelKind};
    use crate::weights::Format;
    use std::path::PathBuf;

    fn model(id: &str, found_in: &str, dir: &str) -> ModelEntry {
        ModelEntry {
            id: id.to_string(),
            found_in: found_in.to_string(),
            unqualified_id: None,
            dir: PathBuf::from(dir),
            weight_files: Vec::new(),
            format: Format::Safetensors,
            kind: ModelKind::Full,
            declared_parent: None,
            config: ModelConfig::default(),
            total_bytes: 0,
            revision: None,
            last_accessed: None,
        }
    }

    fn ids(models: &[ModelEntry]) -> Vec<(&str, &str)> {
        let mut ids: Vec<(&str, &str)> = models
            .iter()
            .map(|model| (model.id.as_str(), model.bare_id()))
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn ids_that_do_not_repeat_stay_as_they_are() {
        let mut models = vec![
            model("org/a", ".", "/c/models--org--a/snapshots/1"),
            model("org/a@12345678", "hub", "/h/1"),
            model("weights/b", ".", "/r/weights/b"),
        ];
        let before = models.clone();
        make_unique(&mut models);
        assert_eq!(models, before);
    }

    #[test]
    fn a_repo_in_two_hub_caches_is_qualified_with_each_cache() {
        let mut models = vec![
            model("org/a", "x/hub", "/r/x/hub/a"),
            model("org/b", "x/hub", "/r/x/hub/b"),
            model("org/a", "y/hub", "/r/y/hub/a"),
            model("org/a", ".", "/r/org/a"),
        ];
        make_unique(&mut models);
        assert_eq!(
            ids(&models),
            [
                (".:org/a", "org/a"),
                ("org/b", "org/b"),
                ("x/hub:org/a", "org/a"),
                ("y/hub:org/a", "org/a"),
            ]
        );
    }

    #[test]
    fn what_qualifying_leaves_equal_is_numbered_whatever_the_order() {
        // `gpt2/x` twice in one cache, and a plain folder whose name is a qualified id.
        let models = vec![
            model("gpt2/x", ".", "/c/models--gpt2/snapshots/1/x"),
            model("gpt2/x", ".", "/c/models--gpt2--x/snapshots/1"),
            model(".:gpt2/x#2", ".", "/c/odd"),
        ];
        let expected = [
            (".:gpt2/x", "gpt2/x"),
            (".:gpt2/x#2", ".:gpt2/x#2"),
            (".:gpt2/x#3", "gpt2/x"),
        ];
        let mut forward = models.clone();
        make_unique(&mut forward);
        assert_eq!(ids(&forward), expected);
        let mut backward: Vec<ModelEntry> = models.into_iter().rev().collect();
        make_unique(&mut backward);
        assert_eq!(ids(&backward), expected);
        // The first folder by path keeps the qualified id.
        let kept = forward.iter().find(|m| m.id == ".:gpt2/x").unwrap();
        assert_eq!(kept.dir, PathBuf::from("/c/models--gpt2/snapshots/1/x"));
    }
}
