//! GGUF, llama.cpp's format, versions 2 and 3: the header, the key-value metadata, the tensor
//! infos and the data offsets, each checked before it is trusted, with the limits of ggml's own
//! reader (`gguf.cpp`: at most 4 dimensions, names under 64 bytes, offsets that follow each
//! other at the file's alignment) and a few of its own on counts and lengths so a hostile header
//! cannot take unbounded memory or time. Only the few metadata values mother uses are kept;
//! the rest (the tokenizer's arrays, mostly) is skipped over.
//!
//! Tensors come back under their Hugging Face names ([`hf_name`]), with Hugging Face shapes
//! (GGUF lists dimensions innermost first), and with the rope permutation llama.cpp applied to
//! Llama's q and k projections noted in their [`RowOrder`] so the decoder can undo it.

mod names;
mod quant;

pub use names::hf_name;
pub use quant::QuantType;

use super::error::{Limit, WeightsError, WeightsErrorKind as Kind};
use super::stream::{self, open_file};
use super::tensor::{RowOrder, TensorInfo, Unreadable};
use names::Projection;
use quant::GgmlType;
use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

/// The file magic, `GGUF`.
const MAGIC: &[u8; 4] = b"GGUF";
/// Tensors in one file (the largest published models hold a few thousand).
pub const MAX_TENSORS: u64 = 1 << 16;
/// Key-value pairs in one header.
pub const MAX_KEYS: u64 = 1 << 16;
/// Bytes of one metadata key.
pub const MAX_KEY_BYTES: u64 = 256;
/// Bytes of one metadata string value (chat templates run to a few kB).
pub const MAX_STRING_BYTES: u64 = 16 << 20;
/// Items of one metadata array (vocabularies run to a few hundred thousand tokens).
pub const MAX_ARRAY_ITEMS: u64 = 1 << 24;
/// Bytes of a tensor name: ggml's `GGML_MAX_NAME` (64) less the terminating zero.
pub const MAX_NAME_BYTES: u64 = 63;
/// Dimensions of one tensor: ggml's `GGML_MAX_DIMS`.
pub const MAX_DIMS: u32 = 4;
/// Values of one head of a rope-permuted projection, which the decoder holds at once to put
/// its rows back in order (a 405B Llama needs 2 million).
pub const MAX_HEAD_VALUES: u64 = 1 << 24;
/// Alignment of the data section when the file does not set `general.alignment`.
const DEFAULT_ALIGNMENT: u64 = 32;

/// An open, validated GGUF file. Holds the header only; data is streamed on demand.
#[derive(Debug)]
pub struct GgufFile {
    path: PathBuf,
    file: File,
    version: u32,
    architecture: Option<String>,
    tensors: Vec<TensorInfo>,
    unreadable: Vec<Unreadable>,
}

type Invalid = (Kind, String);

/// The metadata values mother uses.
#[derive(Default)]
struct Metadata {
    architecture: Option<String>,
    alignment: Option<u64>,
    /// `(key, value)` of every `*.attention.head_count` and `*.attention.head_count_kv`.
    head_counts: Vec<(String, u64)>,
}

/// One tensor info as the file states it.
struct RawTensor {
    name: String,
    /// Innermost first, as GGUF lists them.
    dims: Vec<u64>,
    ggml: GgmlType,
    offset: u64,
    numel: u64,
}

impl GgufFile {
    /// Opens and validates `path`. Reads only the header.
    pub fn open(path: &Path) -> Result<Self, WeightsError> {
        let (file, file_len) = open_file(path)?;
        let parsed = parse(&file, file_len)
            .map_err(|(kind, reason)| WeightsError::new(path, kind, reason))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            version: parsed.version,
            architecture: parsed.metadata.architecture,
            tensors: parsed.tensors,
            unreadable: parsed.unreadable,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// 2 or 3.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// `general.architecture` (`llama`, `qwen2`, ...), when the file names one.
    pub fn architecture(&self) -> Option<&str> {
        self.architecture.as_deref()
    }

    /// Tensors of a type mother reads or counts, sorted by (Hugging Face) name.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// Tensors of a quant type mother does not decode (not listed in [`Self::tensors`]).
    pub fn unreadable(&self) -> &[Unreadable] {
        &self.unreadable
    }

    /// Whether any tensor is stored in a block-quantised type: the file is a lossy copy.
    pub fn is_quantized(&self) -> bool {
        !self.unreadable.is_empty()
            || self
                .tensors
                .iter()
                .any(|t| matches!(t.dtype, super::Dtype::Quantized(_)))
    }

    /// Calls `each` with consecutive chunks of `tensor`'s stored bytes (whole blocks), as
    /// [`super::SafetensorsFile::for_each_chunk`] does.
    pub fn for_each_chunk<E: From<WeightsError>>(
        &self,
        tensor: &TensorInfo,
        buffer: &mut Vec<u8>,
        each: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        stream::for_each_chunk(&self.file, &self.path, tensor, buffer, each)
    }
}

struct Parsed {
    version: u32,
    metadata: Metadata,
    tensors: Vec<TensorInfo>,
    unreadable: Vec<Unreadable>,
}

fn parse(file: &File, file_len: u64) -> Result<Parsed, Invalid> {
    let mut reader = Reader {
        inner: BufReader::with_capacity(64 << 10, file),
        pos: 0,
        len: file_len,
    };
    let magic: [u8; 4] = reader.array("the magic")?;
    if &magic != MAGIC {
        return Err((
            Kind::Malformed,
            format!(
                "starts with {:?}, not the GGUF magic — not a GGUF file, or corrupt; re-download it",
                String::from_utf8_lossy(&magic)
            ),
        ));
    }
    let version = reader.u32("the version")?;
    match version {
        2 | 3 => {}
        1 => {
            return Err((
                Kind::UnsupportedVersion,
                "is GGUF version 1, which ggml no longer reads either — convert the model again with a current llama.cpp".into(),
            ));
        }
        other => {
            return Err((
                Kind::UnsupportedVersion,
                format!(
                    "is GGUF version {other}; mother reads versions 2 and 3 — the file is corrupt, big-endian, or newer than mother (update mother)"
                ),
            ));
        }
    }
    let tensor_count = reader.u64("the tensor count")?;
    if tensor_count > MAX_TENSORS {
        return Err(limit(
            Limit::TensorCount,
            format!("declares {tensor_count} tensors, above the limit of {MAX_TENSORS}"),
        ));
    }
    let key_count = reader.u64("the key-value count")?;
    if key_count > MAX_KEYS {
        return Err(limit(
            Limit::KeyCount,
            format!("declares {key_count} metadata keys, above the limit of {MAX_KEYS}"),
        ));
    }
    let metadata = read_metadata(&mut reader, key_count)?;
    let raw = read_tensor_infos(&mut reader, tensor_count)?;
    let alignment = metadata.alignment.unwrap_or(DEFAULT_ALIGNMENT);
    let data_start = reader
        .pos
        .checked_next_multiple_of(alignment)
        .ok_or_else(|| malformed("the data section starts past 2^64".into()))?;
    let placed = place(&raw, data_start, alignment, file_len)?;
    let arch = metadata.architecture.as_deref().unwrap_or("");
    let mut tensors = Vec::with_capacity(raw.len());
    let mut unreadable = Vec::new();
    let mut names = HashSet::with_capacity(raw.len());
    for (tensor, (start, end)) in raw.into_iter().zip(placed) {
        let name = hf_name(arch, &tensor.name);
        if !names.insert(name.clone()) {
            return Err(malformed(format!(
                "holds two tensors named {name:?} (after mapping {:?} to its Hugging Face name)",
                tensor.name
            )));
        }
        let Some(dtype) = tensor.ggml.dtype.clone() else {
            let quant = tensor.ggml.name;
            unreadable.push(Unreadable {
                name,
                reason: format!(
                    "is stored as {quant}: quant type {quant} is not read — the model is left out; use a GGUF of it in F16, BF16, F32, Q8_0, Q6_K, Q5_K, Q4_K, Q5_0, Q5_1, Q4_0 or Q4_1"
                ),
            });
            continue;
        };
        let shape: Vec<usize> = tensor.dims.iter().rev().map(|&d| d as usize).collect();
        let row_order = match names::rope_permuted(arch, &tensor.name) {
            Some(projection) if shape.len() == 2 => {
                rope_order(&metadata, arch, projection, &tensor.name, &shape)?
            }
            _ => RowOrder::AsStored,
        };
        tensors.push(TensorInfo {
            name,
            dtype,
            shape,
            start,
            end,
            row_order,
        });
    }
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Parsed {
        version,
        metadata,
        tensors,
        unreadable,
    })
}

fn limit(which: Limit, what: String) -> Invalid {
    (
        Kind::Limit(which),
        format!("{what} — the file is corrupt or hostile; re-download it from a source you trust"),
    )
}

fn malformed(what: String) -> Invalid {
    (
        Kind::Malformed,
        format!("{what} — the file is corrupt; re-download it"),
    )
}

/// GGUF value types, by their id.
const STRING: u32 = 8;
const ARRAY: u32 = 9;

/// Bytes of a fixed-size value type, `None` for strings, arrays and unknown ids.
fn fixed_size(value_type: u32) -> Option<u64> {
    match value_type {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

fn read_metadata(reader: &mut Reader<'_>, key_count: u64) -> Result<Metadata, Invalid> {
    let mut metadata = Metadata::default();
    let mut keys: BTreeSet<Vec<u8>> = BTreeSet::new();
    for index in 0..key_count {
        let key = reader.string(MAX_KEY_BYTES, "a metadata key")?;
        if !keys.insert(key.clone()) {
            return Err(malformed(format!(
                "repeats metadata key {:?}",
                String::from_utf8_lossy(&key)
            )));
        }
        let key = String::from_utf8(key)
            .map_err(|_| malformed(format!("metadata key {index} is not UTF-8")))?;
        let value_type = reader.u32("a metadata value type")?;
        match value_type {
            ARRAY => skip_array(reader, &key)?,
            STRING if key == "general.architecture" => {
                let value = reader.string(MAX_KEY_BYTES, "general.architecture")?;
                metadata.architecture = Some(String::from_utf8_lossy(&value).into_owned());
            }
            STRING => reader.skip_string(MAX_STRING_BYTES, "a metadata string")?,
            _ => {
                let size = fixed_size(value_type).ok_or_else(|| {
                    malformed(format!(
                        "metadata key {key:?} has unknown value type {value_type}"
                    ))
                })?;
                let mut bytes = [0u8; 8];
                reader.fill(&mut bytes[..size as usize], "a metadata value")?;
                let value = u64::from_le_bytes(bytes);
                if key == "general.alignment" {
                    if value_type != 4 {
                        return Err(malformed(format!(
                            "general.alignment has value type {value_type}, not u32"
                        )));
                    }
                    if value == 0 || !value.is_power_of_two() {
                        return Err(malformed(format!(
                            "general.alignment is {value}, not a power of 2"
                        )));
                    }
                    metadata.alignment = Some(value);
                } else if is_head_count(&key) && matches!(value_type, 4 | 10) {
                    metadata.head_counts.push((key, value));
                }
            }
        }
    }
    Ok(metadata)
}

fn is_head_count(key: &str) -> bool {
    key.ends_with(".attention.head_count") || key.ends_with(".attention.head_count_kv")
}

/// Passes over an array value, checking every length in it against the limits and the file.
fn skip_array(reader: &mut Reader<'_>, key: &str) -> Result<(), Invalid> {
    let item_type = reader.u32("an array item type")?;
    let count = reader.u64("an array length")?;
    if count > MAX_ARRAY_ITEMS {
        return Err(limit(
            Limit::ContainerSize,
            format!(
                "metadata array {key:?} declares {count} items, above the limit of {MAX_ARRAY_ITEMS}"
            ),
        ));
    }
    match item_type {
        STRING => {
            for _ in 0..count {
                reader.skip_string(MAX_STRING_BYTES, "a string in a metadata array")?;
            }
            Ok(())
        }
        ARRAY => Err(malformed(format!(
            "metadata array {key:?} holds arrays, which GGUF readers do not accept"
        ))),
        _ => {
            let size = fixed_size(item_type).ok_or_else(|| {
                malformed(format!(
                    "metadata array {key:?} has unknown item type {item_type}"
                ))
            })?;
            reader.skip(count * size, "a metadata array")
        }
    }
}

fn read_tensor_infos(reader: &mut Reader<'_>, count: u64) -> Result<Vec<RawTensor>, Invalid> {
    // Every tensor info takes at least 24 bytes, so a count the file cannot hold is refused
    // before anything is allocated for it.
    if count.saturating_mul(24) > reader.len - reader.pos {
        return Err(too_short(&format!("the infos of {count} tensors")));
    }
    let mut tensors: Vec<RawTensor> = Vec::with_capacity(count as usize);
    let mut names = HashSet::with_capacity(count as usize);
    for _ in 0..count {
        let name = reader.string(MAX_NAME_BYTES, "a tensor name")?;
        let name = String::from_utf8(name)
            .map_err(|e| malformed(format!("tensor name {:?} is not UTF-8", e.as_bytes())))?;
        if !names.insert(name.clone()) {
            return Err(malformed(format!("holds two tensors named {name:?}")));
        }
        let n_dims = reader.u32("a tensor's dimension count")?;
        if n_dims > MAX_DIMS {
            return Err(limit(
                Limit::Dimensions,
                format!(
                    "tensor {name:?} has {n_dims} dimensions, above ggml's limit of {MAX_DIMS}"
                ),
            ));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(reader.u64("a tensor dimension")?);
        }
        let numel = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or_else(|| {
                malformed(format!(
                    "tensor {name:?} has dimensions {dims:?}, more elements than ggml can count"
                ))
            })?;
        let type_id = reader.u32("a tensor type")?;
        let ggml = GgmlType::from_id(type_id).ok_or_else(|| {
            malformed(format!(
                "tensor {name:?} has ggml type {type_id}, which ggml does not define (or no longer reads)"
            ))
        })?;
        let row = dims.first().copied().unwrap_or(1);
        if row % ggml.block_len != 0 {
            return Err(malformed(format!(
                "tensor {name:?} is {} with rows of {row} values, not a multiple of its block of {}",
                ggml.name, ggml.block_len
            )));
        }
        let offset = reader.u64("a tensor offset")?;
        tensors.push(RawTensor {
            name,
            dims,
            ggml,
            offset,
            numel,
        });
    }
    Ok(tensors)
}

/// The absolute byte range of every tensor: each must start where the one before it ends,
/// padded to `alignment` (as ggml requires), and end inside the file.
fn place(
    tensors: &[RawTensor],
    data_start: u64,
    alignment: u64,
    file_len: u64,
) -> Result<Vec<(u64, u64)>, Invalid> {
    let mut expected = 0u64;
    let mut ranges = Vec::with_capacity(tensors.len());
    for tensor in tensors {
        // The row length is a whole number of blocks (checked when read), so the count is too.
        let bytes = (tensor.numel / tensor.ggml.block_len).checked_mul(tensor.ggml.block_bytes);
        let bytes = bytes.ok_or_else(|| {
            malformed(format!(
                "tensor {:?} takes more than 2^64 bytes",
                tensor.name
            ))
        })?;
        if tensor.offset != expected {
            return Err((
                Kind::BadLayout,
                format!(
                    "tensor {:?} starts at offset {} of the data section where {expected} is expected (tensors follow each other at {alignment}-byte alignment) — the file is corrupt; re-download it",
                    tensor.name, tensor.offset
                ),
            ));
        }
        let start = data_start.checked_add(tensor.offset);
        let end = start.and_then(|s| s.checked_add(bytes));
        match (start, end) {
            (Some(start), Some(end)) if end <= file_len => ranges.push((start, end)),
            _ => {
                return Err((
                    Kind::OutOfRange,
                    format!(
                        "tensor {:?} ends past the end of the file ({file_len} bytes) — truncated download? re-download it",
                        tensor.name
                    ),
                ));
            }
        }
        expected = bytes
            .checked_next_multiple_of(alignment)
            .and_then(|padded| expected.checked_add(padded))
            .ok_or_else(|| malformed("the data section is larger than 2^64 bytes".into()))?;
    }
    Ok(ranges)
}

/// The row order of a q or k projection that llama.cpp permuted: the head count comes from
/// `{arch}.attention.head_count` (and `_kv` for k, grouped-query attention).
fn rope_order(
    metadata: &Metadata,
    arch: &str,
    projection: Projection,
    name: &str,
    shape: &[usize],
) -> Result<RowOrder, Invalid> {
    let find = |key: String| {
        metadata
            .head_counts
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    };
    let heads = find(format!("{arch}.attention.head_count"));
    let heads = match projection {
        Projection::Query => heads,
        Projection::Key => find(format!("{arch}.attention.head_count_kv")).or(heads),
    };
    let Some(heads) = heads else {
        return Err(malformed(format!(
            "tensor {name:?} was permuted by llama.cpp for its rope, but the file has no {arch}.attention.head_count to undo it"
        )));
    };
    let rows = shape[0] as u64;
    if heads == 0 || !rows.is_multiple_of(2 * heads) {
        return Err((
            Kind::BadLayout,
            format!(
                "tensor {name:?} has {rows} rows, not a whole number of {heads} heads of an even size — the file's metadata does not match its tensors; re-download it"
            ),
        ));
    }
    let head_values = (rows / heads).saturating_mul(shape[1] as u64);
    if head_values > MAX_HEAD_VALUES {
        return Err(limit(
            Limit::ContainerSize,
            format!(
                "tensor {name:?} has heads of {head_values} values, above the limit of {MAX_HEAD_VALUES}"
            ),
        ));
    }
    Ok(RowOrder::RopeInterleaved {
        heads: heads as usize,
    })
}

fn too_short(what: &str) -> Invalid {
    (
        Kind::TooShort,
        format!("the file ends before {what} — truncated download? re-download it"),
    )
}

/// Reads the header front to back through a buffer, never past the end of the file as it was
/// when opened.
struct Reader<'f> {
    inner: BufReader<&'f File>,
    pos: u64,
    len: u64,
}

impl Reader<'_> {
    fn fill(&mut self, buffer: &mut [u8], what: &str) -> Result<(), Invalid> {
        if buffer.len() as u64 > self.len - self.pos {
            return Err(too_short(what));
        }
        self.inner
            .read_exact(buffer)
            .map_err(|e| io_error(e, what))?;
        self.pos += buffer.len() as u64;
        Ok(())
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Invalid> {
        let mut bytes = [0u8; N];
        self.fill(&mut bytes, what)?;
        Ok(bytes)
    }

    fn u32(&mut self, what: &str) -> Result<u32, Invalid> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64, Invalid> {
        self.array(what).map(u64::from_le_bytes)
    }

    fn skip(&mut self, len: u64, what: &str) -> Result<(), Invalid> {
        if len > self.len - self.pos {
            return Err(too_short(what));
        }
        let offset = i64::try_from(len).map_err(|_| too_short(what))?;
        self.inner
            .seek_relative(offset)
            .map_err(|e| io_error(e, what))?;
        self.pos += len;
        Ok(())
    }

    /// The length of a string of at most `max` bytes that the file can hold.
    fn string_len(&mut self, max: u64, what: &str) -> Result<u64, Invalid> {
        let len = self.u64(what)?;
        if len > max {
            return Err(limit(
                Limit::StringLength,
                format!("{what} is {len} bytes long, above the limit of {max}"),
            ));
        }
        if len > self.len - self.pos {
            return Err(too_short(what));
        }
        Ok(len)
    }

    /// A length-prefixed string of at most `max` bytes.
    fn string(&mut self, max: u64, what: &str) -> Result<Vec<u8>, Invalid> {
        let len = self.string_len(max, what)?;
        let mut bytes = vec![0u8; len as usize];
        self.fill(&mut bytes, what)?;
        Ok(bytes)
    }

    /// Passes over a length-prefixed string of at most `max` bytes.
    fn skip_string(&mut self, max: u64, what: &str) -> Result<(), Invalid> {
        let len = self.string_len(max, what)?;
        self.skip(len, what)
    }
}

fn io_error(error: std::io::Error, what: &str) -> Invalid {
    if error.kind() == ErrorKind::UnexpectedEof {
        (
            Kind::Shrank,
            format!(
                "file shrank while being read ({what}) — is a download or another program rewriting it? re-run once it is complete"
            ),
        )
    } else {
        (Kind::Io, format!("cannot read {what}: {error}"))
    }
}
