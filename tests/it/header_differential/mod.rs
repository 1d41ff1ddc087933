//! mother's safetensors header validator (`weights/header.rs`, written by hand for its messages)
//! against the reference reader, the `safetensors` crate: every file the reference refuses,
//! mother refuses too, and where both read a file they see the same tensors, dtypes, shapes,
//! offsets and metadata. Where mother is stricter, [`Verdict::MotherStricter`] says why.

use mother::weights::{SafetensorsFile, WeightsErrorKind};
use safetensors::SafeTensors;
use std::collections::BTreeMap;
use std::path::Path;

/// How the two readers judged one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Both refuse the file (mother may open it to name a tensor of unknown dtype, and then
    /// leaves the model out: a refusal all the same).
    BothRefuse,
    BothRead,
    /// The reference reads the file and mother leaves it out, for one of these reasons.
    MotherStricter(Stricter),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stricter {
    /// A dtype mother does not know (the reference knows `F8_E4M3FNUZ` and `F8_E5M2FNUZ`):
    /// mother opens the file to name the tensor and the fix, and the measure layer then leaves
    /// the model out, since a fingerprint without that tensor would describe part of a model.
    UnknownDtype,
    /// `"__metadata__": null`: the reference takes it as no metadata; the format says the key
    /// maps strings to strings, and no writer produces null, so mother calls the file corrupt.
    NullMetadata,
}

/// A tensor as both readers describe it: name, dtype, shape and offsets in the data section.
type Entry = (String, String, Vec<usize>, (u64, u64));

/// Compares the two readers on the file at `path`, panicking where mother is more lenient
/// than the reference or where both read the file differently.
pub fn compare(path: &Path) -> Verdict {
    let bytes = std::fs::read(path).expect("read the file back");
    let reference = SafeTensors::read_metadata(&bytes);
    let ours = SafetensorsFile::open(path);
    match (reference, ours) {
        (Err(_), Err(_)) => Verdict::BothRefuse,
        (Err(reason), Ok(file)) => {
            assert!(
                !file.unreadable().is_empty(),
                "{}: the reference refuses it ({reason}) and mother reads it",
                path.display()
            );
            Verdict::BothRefuse
        }
        (Ok((_, metadata)), Err(error)) => {
            let null_metadata = error.kind == WeightsErrorKind::BadMetadata
                && metadata.metadata().is_none()
                && serde_json::from_slice::<serde_json::Value>(header_of(&bytes))
                    .is_ok_and(|header| header["__metadata__"].is_null());
            assert!(
                null_metadata,
                "{}: the reference reads it and mother refuses it: {error}",
                path.display()
            );
            Verdict::MotherStricter(Stricter::NullMetadata)
        }
        (Ok((_, metadata)), Ok(file)) => {
            if !file.unreadable().is_empty() {
                return Verdict::MotherStricter(Stricter::UnknownDtype);
            }
            let data_start = file.data_start();
            let mut ours: Vec<Entry> = file
                .tensors()
                .iter()
                .map(|t| {
                    (
                        t.name.clone(),
                        t.dtype.name().to_owned(),
                        t.shape.clone(),
                        (t.start - data_start, t.end - data_start),
                    )
                })
                .collect();
            let mut theirs: Vec<Entry> = metadata
                .tensors()
                .into_iter()
                .map(|(name, info)| {
                    (
                        name,
                        info.dtype.to_string(),
                        info.shape.clone(),
                        (info.data_offsets.0 as u64, info.data_offsets.1 as u64),
                    )
                })
                .collect();
            ours.sort();
            theirs.sort();
            assert_eq!(ours, theirs, "{}: the tensors differ", path.display());
            let their_metadata: BTreeMap<String, String> = metadata
                .metadata()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect();
            assert_eq!(
                file.metadata(),
                &their_metadata,
                "{}: __metadata__ differs",
                path.display()
            );
            Verdict::BothRead
        }
    }
}

/// The JSON header of a file whose header length the reference accepted.
fn header_of(bytes: &[u8]) -> &[u8] {
    let len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    &bytes[8..8 + len]
}
