//! The demo zoo: model families made by real training, written as a Hugging Face hub cache.
//!
//! Every model is trained here, in Rust, from a seeded random init: roots are pre-trained on a
//! Zipf bag-of-tokens task ([`task`]), which makes their weights heavy-tailed; children are
//! fine-tuned from their parent on a new teacher, either fully or with LoRA ([`train`]). The
//! family's shape and extras are in [`family`], the hub layout in [`hub`]. The same
//! [`FamilySpec`] always gives byte-identical files.
//!
//! Training: a full fine-tune trains every tensor; a LoRA fine-tune trains rank-`r` factors on
//! `lora_targets` (by default all four linear layers, `layers.0`..`layers.3`) with the
//! embedding and biases frozen, and stores the merged `W + (alpha / r) B A`. On the small family
//! full fine-tunes lower the summed excess kurtosis of the 2-D tensors on 11 of 12 edges, and
//! LoRA fine-tunes on none of 6 (a low-rank update is itself heavy-tailed), so the direction cue
//! depends on how a model was made (`cargo test --release --test it demo_kurtosis --
//! --nocapture` prints these counts).
//!
//! ## Layout
//! `DIR` is laid out as a Hugging Face home: the models are a hub cache in `DIR/hub`
//! (`models--mother-demo--full0-root/...`), and the answer key is `DIR/truth.json`. The key
//! sits outside the cache because the official cache scanner warns about any stray file there.
//!
//! The files: what decides a family is [`spec`]; [`build`] trains it and writes the repos;
//! [`truth`] is the answer key `truth.json` (its format is described there); [`error`] is the one
//! error type.

pub mod adam;
pub mod family;
pub mod files;
pub mod hub;
pub mod mlp;
pub mod task;
pub mod train;

mod build;
mod error;
mod spec;
mod truth;

pub use build::{Demo, DemoProgress, build_demo};
pub use error::DemoError;
pub use files::StoredDtype;
pub use spec::{DemoPlan, Extras, FamilySpec, default_demo_dir, demo_dir_for};
pub use truth::{AdapterTruth, Truth, TruthExtras, is_complete, read_truth};

/// Bumped whenever the same spec would produce different files, so old demos are not reused.
const FORMAT: u32 = 3;
