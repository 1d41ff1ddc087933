//! The shape of a demo family: which models exist, who is whose parent, how each one is made,
//! and which extras (copies, adapters, metadata) sit beside them.
//!
//! Every tree has a root pre-trained from its own seed, `children` fine-tunes of it, `children`
//! fine-tunes of each of those, and so on down to `depth`. Repo ids spell the truth for a person
//! exploring the cache (`mother-demo/full0-c2-g1` is grandchild 1 of child 2 of full tree 0);
//! tensor names never do.

use super::{DemoError, FamilySpec, StoredDtype};

pub const ORG: &str = "mother-demo";
/// The organisation the exact duplicate is re-uploaded under.
pub const MIRROR_ORG: &str = "mother-mirror";

/// How a model came to be from its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HowMade {
    /// Trained from a random init: a root.
    Pretrain,
    /// Every weight fine-tuned.
    Full,
    /// LoRA factors trained and merged into the weights.
    Lora,
}

impl HowMade {
    pub fn label(self) -> &'static str {
        match self {
            HowMade::Pretrain => "pretrain",
            HowMade::Full => "full",
            HowMade::Lora => "lora",
        }
    }
}

/// Which architecture a model has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Main,
    /// The narrower model of the `other_arch` extra.
    Other,
}

/// One trained model of the family.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    /// Index of the parent in the plan.
    pub parent: Option<usize>,
    pub how_made: HowMade,
    pub arch: Arch,
    pub depth: usize,
    /// Position among its parent's children (0 for roots).
    pub sibling: usize,
    pub seed: u64,
}

impl Node {
    /// How this model is stored under the family's `dtype`: under `mixed`, the first child of
    /// the first generation is F32 and each generation shifts the turn by one, so even a family
    /// of two children per model holds all three dtypes.
    pub fn dtype(&self, dtype: StoredDtype) -> StoredDtype {
        dtype.for_model(
            (self.sibling + self.depth).saturating_sub(1),
            self.parent.is_none(),
        )
    }
}

/// The trained models, parents always before their children, plus the extras to derive.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub nodes: Vec<Node>,
    /// Index of the model copied byte for byte, and the copy's repo id.
    pub duplicate: Option<(usize, String)>,
    /// Index of the model quantised to int8, and the copy's repo id.
    pub quantized: Option<(usize, String)>,
    /// Index of the F32-stored model cast to BF16, and the copy's repo id.
    pub cast: Option<(usize, String)>,
    /// Index of the LoRA fine-tune whose adapter is also published, and the adapter's repo id.
    pub adapter: Option<(usize, String)>,
    /// Indices of the models whose README declares their parent.
    pub declared: Vec<usize>,
    /// The two models mixed into a merge ([`MERGE_WEIGHT`] of the first), and its repo id.
    pub merge: Option<([usize; 2], String)>,
}

/// The share of the first source in the `merge` extra.
pub const MERGE_WEIGHT: f32 = 0.6;

/// Mixes the family seed with a model's index (SplitMix64), so every model has its own stream.
pub fn model_seed(family_seed: u64, index: u64) -> u64 {
    let mut z = family_seed
        .wrapping_add(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(index.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Lays out the family a spec asks for, or says what in the spec cannot work.
pub fn plan(spec: &FamilySpec) -> Result<Plan, DemoError> {
    spec.validate()?;
    let mut nodes = Vec::new();
    let mut add_tree =
        |prefix: String, children: usize, depth: usize, how_made: HowMade, arch: Arch| {
            let root = nodes.len();
            nodes.push(Node {
                id: format!("{ORG}/{prefix}-root"),
                parent: None,
                how_made: HowMade::Pretrain,
                arch,
                depth: 0,
                sibling: 0,
                seed: 0,
            });
            // Breadth first, so a generation is a contiguous run of the plan. Children are named
            // after the tree (`full0-c2`), grandchildren after their parent (`full0-c2-g1`).
            let mut generation = vec![(root, prefix)];
            for level in 1..=depth {
                let mut next = Vec::new();
                for (parent, name) in generation {
                    for child in 0..children {
                        let letter = if level == 1 { 'c' } else { 'g' };
                        let child_name = format!("{name}-{letter}{child}");
                        next.push((nodes.len(), child_name.clone()));
                        nodes.push(Node {
                            id: format!("{ORG}/{child_name}"),
                            parent: Some(parent),
                            how_made,
                            arch,
                            depth: level,
                            sibling: child,
                            seed: 0,
                        });
                    }
                }
                generation = next;
            }
            root
        };
    let mut full_roots = Vec::new();
    for tree in 0..spec.full_trees {
        full_roots.push(add_tree(
            format!("full{tree}"),
            spec.children,
            spec.depth,
            HowMade::Full,
            Arch::Main,
        ));
    }
    let mut lora_roots = Vec::new();
    for tree in 0..spec.lora_trees {
        lora_roots.push(add_tree(
            format!("lora{tree}"),
            spec.children,
            spec.depth,
            HowMade::Lora,
            Arch::Main,
        ));
    }
    if spec.extras.other_arch {
        add_tree("narrow0".to_owned(), 2, 1, HowMade::Full, Arch::Other);
    }
    for (index, node) in nodes.iter_mut().enumerate() {
        node.seed = model_seed(spec.seed, index as u64);
    }

    let children_of = |parent: usize| -> Vec<usize> {
        nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.parent == Some(parent))
            .map(|(i, _)| i)
            .collect()
    };
    let first_full_children = full_roots
        .first()
        .map(|&r| children_of(r))
        .unwrap_or_default();
    let first_lora_children = lora_roots
        .first()
        .map(|&r| children_of(r))
        .unwrap_or_default();
    let short_name = |index: usize| {
        nodes[index]
            .id
            .trim_start_matches(&format!("{ORG}/"))
            .to_owned()
    };

    let duplicate = match (spec.extras.duplicate, first_full_children.first()) {
        (false, _) => None,
        (true, Some(&source)) => Some((source, format!("{MIRROR_ORG}/{}", short_name(source)))),
        (true, None) => return Err(needs("duplicate", "a full tree with children")),
    };
    let quantized = match (spec.extras.quantized, first_full_children.last()) {
        (false, _) => None,
        (true, Some(&source)) => Some((source, format!("{ORG}/{}-int8", short_name(source)))),
        (true, None) => return Err(needs("quantized", "a full tree with children")),
    };
    // The first child of a parent is stored as the spec says (F32 under `mixed`), so a cast
    // to BF16 exists unless the whole family is BF16.
    let cast = match (spec.extras.cast, first_full_children.first()) {
        (false, _) => None,
        (true, _) if spec.dtype == StoredDtype::Bf16 => {
            return Err(DemoError::Spec(
                "the `cast` extra casts a model to BF16, and every model is BF16 already: use --dtype f32, f16 or mixed, or turn the extra off".to_owned(),
            ));
        }
        (true, Some(&source)) => Some((source, format!("{ORG}/{}-bf16", short_name(source)))),
        (true, None) => return Err(needs("cast", "a full tree with children")),
    };
    let adapter = match (spec.extras.adapter, first_lora_children.first()) {
        (false, _) => None,
        (true, Some(&source)) => Some((source, format!("{ORG}/{}-adapter", short_name(source)))),
        (true, None) => return Err(needs("adapter", "a LoRA tree with children")),
    };
    let merge = match (spec.extras.merge, first_full_children.as_slice()) {
        (false, _) => None,
        (true, [.., first, second]) => Some((
            [*first, *second],
            format!("{ORG}/{}-merge", short_name(*first)),
        )),
        (true, _) => return Err(needs("merge", "a full tree with two children or more")),
    };
    let declared = if spec.extras.declared {
        if first_full_children.is_empty() {
            return Err(needs("declared", "a full tree with children"));
        }
        first_full_children
    } else {
        Vec::new()
    };
    Ok(Plan {
        nodes,
        duplicate,
        quantized,
        cast,
        adapter,
        declared,
        merge,
    })
}

fn needs(extra: &str, what: &str) -> DemoError {
    DemoError::Spec(format!(
        "the `{extra}` extra needs {what}; add trees and children (--children 1 or more), or turn the extra off"
    ))
}
