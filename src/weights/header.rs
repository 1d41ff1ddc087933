//! Opening a safetensors file: the header length, the JSON header, and every check that the
//! entries describe the data section exactly. Each failure names what is wrong and what to do.

use super::dtype::Dtype;
use super::error::{WeightsError, WeightsErrorKind as Kind};
use super::stream::open_file;
use super::tensor::{RowOrder, TensorInfo, Unreadable};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The largest header accepted, as in the reference reader: a larger length is corruption.
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// An open, validated safetensors file. Holds the header only; data is streamed on demand.
#[derive(Debug)]
pub struct SafetensorsFile {
    pub(super) path: PathBuf,
    pub(super) file: File,
    file_len: u64,
    data_start: u64,
    tensors: Vec<TensorInfo>,
    metadata: BTreeMap<String, String>,
    unreadable: Vec<Unreadable>,
}

/// A header entry before the offsets are checked against each other.
struct Span {
    name: String,
    start: u64,
    end: u64,
}

impl SafetensorsFile {
    /// Opens and validates `path`. Reads only the header.
    pub fn open(path: &Path) -> Result<Self, WeightsError> {
        let fail = |kind, reason: String| WeightsError::new(path, kind, reason);
        let (file, file_len) = open_file(path)?;
        if file_len < 8 {
            return Err(fail(
                Kind::TooShort,
                format!(
                    "file is {file_len} bytes, too short to be safetensors — truncated download? re-download it"
                ),
            ));
        }
        let mut len_bytes = [0u8; 8];
        file.read_exact_at(&mut len_bytes, 0)
            .map_err(|e| fail(Kind::Io, format!("cannot read the header length: {e}")))?;
        let header_len = u64::from_le_bytes(len_bytes);
        if header_len > file_len - 8 {
            return Err(fail(
                Kind::HeaderBeyondFile,
                format!(
                    "header claims {}, file is {} — truncated download? re-download it",
                    crate::units::human_bytes(header_len),
                    crate::units::human_bytes(file_len)
                ),
            ));
        }
        if header_len > MAX_HEADER_BYTES {
            return Err(fail(
                Kind::HeaderTooLarge,
                format!(
                    "header claims {}, above the {} limit — the file is corrupt or not safetensors; re-download it",
                    crate::units::human_bytes(header_len),
                    crate::units::human_bytes(MAX_HEADER_BYTES)
                ),
            ));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact_at(&mut header, 8).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                fail(Kind::Shrank, "file shrank while being read — is a download still writing it? re-run once it is complete".into())
            } else {
                fail(Kind::Io, format!("cannot read the header: {e}"))
            }
        })?;
        let data_start = 8 + header_len;
        let mut parsed = parse_header(&header).map_err(|(kind, reason)| fail(kind, reason))?;
        check_spans(&parsed.spans, file_len - data_start)
            .map_err(|(kind, reason)| fail(kind, reason))?;
        for tensor in &mut parsed.tensors {
            tensor.start += data_start;
            tensor.end += data_start;
        }
        parsed.tensors.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            path: path.to_path_buf(),
            file,
            file_len,
            data_start,
            tensors: parsed.tensors,
            metadata: parsed.metadata,
            unreadable: parsed.unreadable,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// File size in bytes when it was opened.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Offset of the data section (8 + header length).
    pub fn data_start(&self) -> u64 {
        self.data_start
    }

    /// Tensors of known dtype, sorted by name.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The `__metadata__` map (empty when absent).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Tensors whose dtype is unknown (not listed in [`Self::tensors`]).
    pub fn unreadable(&self) -> &[Unreadable] {
        &self.unreadable
    }
}

struct ParsedHeader {
    tensors: Vec<TensorInfo>,
    spans: Vec<Span>,
    metadata: BTreeMap<String, String>,
    unreadable: Vec<Unreadable>,
}

type Invalid = (Kind, String);

fn parse_header(bytes: &[u8]) -> Result<ParsedHeader, Invalid> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        (
            Kind::NotUtf8,
            format!(
                "header is not UTF-8 text (bad byte at {}) — not a safetensors file, or corrupt; re-download it",
                e.valid_up_to()
            ),
        )
    })?;
    let root: Value = serde_json::from_str(text).map_err(|e| {
        (
            Kind::NotJson,
            format!("header is not valid JSON ({e}) — not a safetensors file, or corrupt; re-download it"),
        )
    })?;
    let Value::Object(entries) = root else {
        return Err((
            Kind::NotObject,
            format!(
                "header holds {} where an object of tensors is expected — not a safetensors file, or corrupt; re-download it",
                json_kind(&root)
            ),
        ));
    };
    let mut parsed = ParsedHeader {
        tensors: Vec::new(),
        spans: Vec::new(),
        metadata: BTreeMap::new(),
        unreadable: Vec::new(),
    };
    for (name, entry) in &entries {
        if name == "__metadata__" {
            parsed.metadata = parse_metadata(entry)?;
            continue;
        }
        let Value::Object(fields) = entry else {
            return Err(bad_entry(
                name,
                format!("is JSON {}, not an object", json_kind(entry)),
            ));
        };
        let dtype_name = match fields.get("dtype") {
            Some(Value::String(s)) => s.as_str(),
            _ => return Err(bad_entry(name, "has no \"dtype\" string".into())),
        };
        let shape = parse_shape(name, fields)?;
        let (start, end) = parse_offsets(name, fields)?;
        parsed.spans.push(Span {
            name: name.clone(),
            start,
            end,
        });
        let Some(dtype) = Dtype::parse(dtype_name) else {
            parsed.unreadable.push(Unreadable {
                name: name.clone(),
                reason: format!(
                    "has unknown dtype {dtype_name:?} — mother cannot read it, so the model is left out; convert the tensor to F32, F16 or BF16 (or update mother if this is a newer safetensors dtype)"
                ),
            });
            continue;
        };
        check_size(name, &dtype, &shape, end - start)?;
        parsed.tensors.push(TensorInfo {
            name: name.clone(),
            dtype,
            shape,
            start,
            end,
            row_order: RowOrder::AsStored,
        });
    }
    Ok(parsed)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn bad_entry(name: &str, what: String) -> Invalid {
    (
        Kind::BadEntry,
        format!("header entry {name:?} {what} — the file is corrupt; re-download it"),
    )
}

fn parse_metadata(entry: &Value) -> Result<BTreeMap<String, String>, Invalid> {
    let bad = |what: String| {
        (
            Kind::BadMetadata,
            format!(
                "__metadata__ {what}, it must map strings to strings — the file is corrupt; re-download it"
            ),
        )
    };
    let Value::Object(map) = entry else {
        return Err(bad(format!("is JSON {}", json_kind(entry))));
    };
    map.iter()
        .map(|(key, value)| match value {
            Value::String(s) => Ok((key.clone(), s.clone())),
            other => Err(bad(format!("has {key:?} = JSON {}", json_kind(other)))),
        })
        .collect()
}

fn parse_shape(name: &str, fields: &Map<String, Value>) -> Result<Vec<usize>, Invalid> {
    let Some(Value::Array(dims)) = fields.get("shape") else {
        return Err(bad_entry(name, "has no \"shape\" array".into()));
    };
    dims.iter()
        .map(|d| {
            d.as_u64()
                .and_then(|d| usize::try_from(d).ok())
                .ok_or_else(|| {
                    bad_entry(
                        name,
                        format!("has shape dimension {d}, not a non-negative integer"),
                    )
                })
        })
        .collect()
}

fn parse_offsets(name: &str, fields: &Map<String, Value>) -> Result<(u64, u64), Invalid> {
    let offsets = match fields.get("data_offsets") {
        Some(Value::Array(pair)) if pair.len() == 2 => (pair[0].as_u64(), pair[1].as_u64()),
        _ => {
            return Err(bad_entry(
                name,
                "has no \"data_offsets\" pair [begin, end]".into(),
            ));
        }
    };
    match offsets {
        (Some(start), Some(end)) if start <= end => Ok((start, end)),
        (Some(start), Some(end)) => Err(bad_entry(
            name,
            format!("has data_offsets [{start}, {end}] that end before they begin"),
        )),
        _ => Err(bad_entry(
            name,
            "has data_offsets that are not non-negative integers".into(),
        )),
    }
}

fn check_size(name: &str, dtype: &Dtype, shape: &[usize], byte_len: u64) -> Result<(), Invalid> {
    let bits = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .and_then(|numel| dtype.bits_for(numel));
    let matches = bits.is_some_and(|bits| bits % 8 == 0 && bits / 8 == byte_len);
    if matches {
        return Ok(());
    }
    let expected = match bits {
        Some(bits) => format!("{} bytes", bits.div_ceil(8)),
        None => "more bytes than fit in 64 bits".into(),
    };
    Err((
        Kind::SizeMismatch,
        format!(
            "tensor {name:?} is {} {shape:?}, which needs {expected}, but its data_offsets span {byte_len} bytes — the file is corrupt; re-download it",
            dtype.name()
        ),
    ))
}

/// The tensors, in offset order, must tile the data section exactly: no gap, no overlap,
/// nothing outside it, nothing left over.
fn check_spans(spans: &[Span], data_len: u64) -> Result<(), Invalid> {
    let mut order: Vec<&Span> = spans.iter().collect();
    order.sort_by_key(|s| (s.start, s.end));
    let mut covered = 0u64;
    let mut previous: Option<&Span> = None;
    for span in order {
        if span.end > data_len {
            return Err((
                Kind::OutOfRange,
                format!(
                    "tensor {:?} ends at byte {} of the data section, which holds only {data_len} bytes — truncated download? re-download it",
                    span.name, span.end
                ),
            ));
        }
        if span.start < covered {
            let other = previous.map_or("?", |p| p.name.as_str());
            return Err((
                Kind::Overlap,
                format!(
                    "tensors {other:?} and {:?} share bytes {}..{} — the file is corrupt; re-download it",
                    span.name, span.start, covered
                ),
            ));
        }
        if span.start > covered {
            return Err((
                Kind::Gap,
                format!(
                    "bytes {covered}..{} of the data section belong to no tensor (before {:?}) — the file is corrupt; re-download it",
                    span.start, span.name
                ),
            ));
        }
        covered = span.end;
        previous = Some(span);
    }
    if covered != data_len {
        return Err((
            Kind::TrailingData,
            format!(
                "the data section has {} bytes after the last tensor — the file is corrupt or was written by a broken tool; re-download it",
                data_len - covered
            ),
        ));
    }
    Ok(())
}
