//! mother: recover the family tree of neural-network models from their weights alone.
//!
//! The data flows through one module per stage:
//! [`discover`] (where the models are) -> [`weights`] (safetensors headers and streaming reads)
//! -> [`measure`] (per-tensor statistics and the per-model fingerprint, cached on disk)
//! -> [`lineage`] (distances, direction, arborescence, confidence) -> [`export`] / [`tui`].
//! [`engine`] runs the stages in order and reports progress; [`demo`] trains the model
//! families that the tests and first-time users explore.

// Library code handles its errors; tests may unwrap (clippy.toml: allow-unwrap-in-tests).
#![deny(clippy::unwrap_used)]

pub mod cli;
pub mod demo;
pub mod demo_command;
pub mod discover;
pub mod engine;
pub mod evaluate;
pub mod explore_command;
pub mod export;
pub mod export_command;
pub mod headless;
pub mod lineage;
pub mod measure;
pub mod simd;
pub mod tui;
pub mod units;
pub mod weights;
