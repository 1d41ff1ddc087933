//! Tensor names across saving conventions.
//!
//! The same weights carry different names depending on the class that saved them: a
//! `BertForSequenceClassification` checkpoint stores `bert.encoder.layer.0...` where the
//! `BertModel` it was fine-tuned from stores `encoder.layer.0...`; a causal LM stores
//! `model.layers.0...` where its backbone stores `layers.0...`; PEFT wraps everything in
//! `base_model.model.`, `torch.compile` in `_orig_mod.`, `DataParallel` in `module.`. Each model
//! is read under its canonical names: a known wrapper prefix is dropped when it starts at least
//! half of the model's matrices (so a prefix that only names one part of a model, such as a
//! `transformer.` block beside other parts, stays), repeatedly, outermost first. A task head
//! (`classifier.weight`), an untied output embedding (`lm_head.weight`) or any other tensor only
//! one of two models holds is simply not matched; a tensor both hold under one name with
//! different row counts (a vocabulary extended with new rows) is compared on the rows both
//! have (`pairs.rs`, head views), or counted as resized when they share none that were sketched.
//!
//! Only known wrappers are dropped: stripping any common first component would turn BERT's
//! `encoder.` (most of its matrices) into a different name space than its task model's.

use crate::measure::Fingerprint;
use serde::Serialize;

/// Wrapper prefixes the model classes of common libraries add around a backbone.
const WRAPPERS: &[&str] = &[
    "base_model.model.",
    "_orig_mod.",
    "module.",
    "model.",
    "transformer.",
    "bert.",
    "roberta.",
    "xlm_roberta.",
    "distilbert.",
    "electra.",
    "deberta.",
    "albert.",
    "mpnet.",
    "gpt_neox.",
    "backbone.",
];

/// The wrapper prefixes dropped from one model's tensor names, outermost first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Naming {
    pub wrappers: Vec<&'static str>,
}

impl Naming {
    /// The wrappers of a model: each one starts at least half of its (already unwrapped) matrix
    /// names.
    pub fn of(fingerprint: &Fingerprint) -> Naming {
        let names: Vec<&str> = fingerprint
            .tensors
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        Naming::of_names(&names)
    }

    pub fn of_names(names: &[&str]) -> Naming {
        let mut naming = Naming::default();
        if names.is_empty() {
            return naming;
        }
        // Each round drops one wrapper; at most one per known wrapper, so this ends.
        for _ in 0..WRAPPERS.len() {
            let next = WRAPPERS.iter().find(|&&wrapper| {
                let starting = names
                    .iter()
                    .filter(|name| {
                        let name = naming.canonical(name);
                        name.len() > wrapper.len() && name.starts_with(wrapper)
                    })
                    .count();
                starting * 2 >= names.len()
            });
            match next {
                Some(wrapper) => naming.wrappers.push(wrapper),
                None => break,
            }
        }
        naming
    }

    /// `name` with this model's wrappers dropped where it carries them.
    pub fn canonical<'n>(&self, name: &'n str) -> &'n str {
        self.wrappers
            .iter()
            .fold(name, |name, wrapper| match name.strip_prefix(wrapper) {
                Some(rest) if !rest.is_empty() => rest,
                _ => name,
            })
    }

    /// The dropped wrappers as one prefix, `""` when none.
    pub fn prefix(&self) -> String {
        self.wrappers.concat()
    }
}

/// How two models' matrices were matched, for the evidence of an edge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Matching {
    /// Matrices compared: the same canonical name and shape in both.
    pub shared: usize,
    /// Matrices only the parent holds (a task head it has and the child lost, ...).
    pub parent_only: usize,
    /// Matrices only the child holds (a new task head, an untied output embedding, ...).
    pub child_only: usize,
    /// Matrices both hold under one name with different row counts (an extended vocabulary),
    /// compared on the rows they share.
    pub shared_rows: usize,
    /// Matrices both hold under one name with shapes that share no comparable rows, not
    /// compared.
    pub resized: usize,
    /// The wrapper prefix dropped from the parent's names (`""` when none).
    pub parent_prefix: String,
    /// The wrapper prefix dropped from the child's names.
    pub child_prefix: String,
}

impl Matching {
    /// Whether the two models' matrices matched one for one under their stored names.
    pub fn is_plain(&self) -> bool {
        self.parent_only == 0
            && self.child_only == 0
            && self.shared_rows == 0
            && self.resized == 0
            && self.parent_prefix == self.child_prefix
    }

    /// The matching in words, for people.
    pub fn words(&self) -> String {
        let mut parts = vec![format!("{} matrices compared", self.shared)];
        if self.parent_prefix != self.child_prefix {
            let shown = |prefix: &str| {
                if prefix.is_empty() {
                    "no prefix".to_string()
                } else {
                    format!("{prefix:?}")
                }
            };
            parts.push(format!(
                "names matched after dropping {} (parent) and {} (child)",
                shown(&self.parent_prefix),
                shown(&self.child_prefix)
            ));
        }
        if self.child_only > 0 {
            parts.push(format!("{} only in the child", self.child_only));
        }
        if self.parent_only > 0 {
            parts.push(format!("{} only in the parent", self.parent_only));
        }
        if self.shared_rows > 0 {
            parts.push(format!(
                "{} resized (a grown vocabulary), compared on shared rows",
                self.shared_rows
            ));
        }
        if self.resized > 0 {
            parts.push(format!("{} resized, not compared", self.resized));
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(names: &[&str]) -> Vec<String> {
        let naming = Naming::of_names(names);
        names
            .iter()
            .map(|n| naming.canonical(n).to_string())
            .collect()
    }

    #[test]
    fn a_task_model_reads_under_its_backbone_names() {
        assert_eq!(
            canonical(&[
                "bert.embeddings.word_embeddings.weight",
                "bert.encoder.layer.0.attention.self.query.weight",
                "bert.pooler.dense.weight",
                "classifier.weight",
            ]),
            [
                "embeddings.word_embeddings.weight",
                "encoder.layer.0.attention.self.query.weight",
                "pooler.dense.weight",
                "classifier.weight",
            ]
        );
    }

    #[test]
    fn nested_wrappers_drop_outermost_first_and_heads_keep_their_names() {
        assert_eq!(
            canonical(&[
                "base_model.model.model.layers.0.self_attn.q_proj.weight",
                "base_model.model.model.layers.0.mlp.up_proj.weight",
                "base_model.model.lm_head.weight",
            ]),
            [
                "layers.0.self_attn.q_proj.weight",
                "layers.0.mlp.up_proj.weight",
                "lm_head.weight",
            ]
        );
    }

    #[test]
    fn a_backbone_without_wrappers_and_a_minority_prefix_stay_as_they_are() {
        let plain = [
            "embeddings.weight",
            "encoder.layer.0.weight",
            "pooler.weight",
        ];
        assert_eq!(Naming::of_names(&plain), Naming::default());
        // `model.` names one part of three: it is structure, not a wrapper.
        let parts = ["model.a.weight", "vision.b.weight", "text.c.weight"];
        assert_eq!(Naming::of_names(&parts), Naming::default());
        // A name that is only the wrapper is never emptied.
        assert_eq!(
            Naming::of_names(&["model.", "model.x"]).canonical("model."),
            "model."
        );
    }
}
