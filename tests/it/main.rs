//! The integration tests, one module per former test file, built as one test binary: the crate
//! and its dependencies are linked once instead of once per file (most of `cargo test`'s
//! compile time was spent linking and optimising the same code 39 times). Run one file's tests
//! with its module name as the filter, e.g. `cargo test --release --test it sketch_accuracy`.
//!
//! Four files stay binaries of their own, beside this folder: `weights_pickle_hostile` (its
//! counting global allocator would count every other test's memory), and the pseudo-terminal
//! tests `tui_pty`, `tui_pty_keys` and `demo_training_screen` (they drive the real binary with
//! timeouts, and are not to share the cores with this binary's training and scanning).

#[path = "../common/mod.rs"]
mod common;
mod header_differential;
mod reference;
mod simd_twin;
mod tui_fixture;

mod bad_input;
mod cli_exit;
mod cli_headless;
mod cli_outputs;
mod demo_cli;
mod demo_kurtosis;
mod demo_layout;
mod discover_env;
mod discover_folders;
mod discover_hub;
mod discover_single_repo;
mod engine_bundle;
mod engine_ids;
mod engine_scan;
mod export_dot_legend;
mod export_escape;
mod export_text;
mod formats_recovery;
mod formats_scan;
mod fuzz_gguf;
mod fuzz_header;
mod fuzz_pickle;
mod layering;
mod lineage_accuracy;
mod lineage_mechanics;
mod measure_cache;
mod measure_fingerprint;
mod measure_grid;
mod measure_moments;
mod measure_sketch;
mod scan_table_format;
mod sketch_accuracy;
mod tui_demo;
mod tui_keys;
mod tui_navigation;
mod tui_panels;
mod tui_tree_navigation;
mod tui_views;
mod weights_gguf;
mod weights_packed;
mod weights_pickle;
mod weights_validation;
