//! Helpers shared by the discovery tests (`discover_folders`, `discover_hub`).

use mother::discover::Discovery;
use std::path::Path;

/// A tiny but valid safetensors file: one F32 tensor of two elements.
pub fn safetensors_bytes() -> Vec<u8> {
    let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0u8; 8]);
    bytes
}

/// The ids of the models found, in discovery order.
pub fn ids(found: &Discovery) -> Vec<&str> {
    found.models.iter().map(|model| model.id.as_str()).collect()
}

/// Why `path` was skipped; panics (listing what was skipped) when it was not.
pub fn reason_for<'a>(found: &'a Discovery, path: &Path) -> &'a str {
    found
        .skipped
        .iter()
        .find(|skipped| skipped.path == path)
        .map(|skipped| skipped.reason.as_str())
        .unwrap_or_else(|| panic!("{} not skipped: {:?}", path.display(), found.skipped))
}
