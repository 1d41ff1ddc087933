//! PyTorch checkpoints (`pytorch_model.bin`) in the zip layout `torch.save` has written since
//! torch 1.6: `ARCHIVE/data.pkl` (a pickle describing the state dict) beside `ARCHIVE/data/N`
//! (one entry per storage, stored uncompressed), plus small records such as `ARCHIVE/version`
//! and `ARCHIVE/byteorder`. The pickle is read by [`read_state_dict`], a restricted reader that
//! never runs it; each tensor's bytes are then a plain byte range inside its storage's zip entry,
//! streamed with positioned reads like a safetensors tensor. The legacy layout (a raw pickle
//! stream, before torch 1.6) is recognised and refused with the fix.

mod pickle;
mod zip;

pub use pickle::{
    MAX_CONTAINER, MAX_DIMS, MAX_MARK_DEPTH, MAX_MEMO, MAX_OBJECTS, MAX_OPCODES, MAX_PICKLE_BYTES,
    MAX_STACK, MAX_STRING_BYTES, PickledTensor, StateDict, Storage, StorageType, read_state_dict,
};
pub use zip::{MAX_CENTRAL_DIRECTORY, MAX_ENTRIES};

use super::error::{Limit, WeightsError, WeightsErrorKind as Kind};
use super::stream::{self, open_file};
use super::tensor::{RowOrder, TensorInfo};
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use zip::{Entry, Invalid};

/// What the legacy layout starts with: protocol 2, then torch's magic number as a LONG1.
const LEGACY_MAGIC: [u8; 14] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19,
];
/// The tensors of a file may view its storages more than once (tied weights view one storage
/// twice), but not without bound: their bytes may add up to at most this many times the file.
pub const MAX_VIEWS_PER_BYTE: u64 = 4;
/// Bytes read from the end of the file to find the end record: its 22 bytes and a comment of
/// up to 65535.
const TAIL_BYTES: u64 = 22 + 65_535;

/// An open, validated torch zip checkpoint. Holds the tensor list only; data is streamed on
/// demand.
#[derive(Debug)]
pub struct TorchFile {
    path: PathBuf,
    file: File,
    tensors: Vec<TensorInfo>,
}

impl TorchFile {
    /// Opens `path`, reads its zip directory and its pickle (without running it), and checks
    /// that every tensor lies inside its storage's entry.
    pub fn open(path: &Path) -> Result<Self, WeightsError> {
        let (file, file_len) = open_file(path)?;
        let tensors = read_tensors(&file, file_len)
            .map_err(|(kind, reason)| WeightsError::new(path, kind, reason))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            tensors,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state dict's tensors, sorted by name.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// Calls `each` with consecutive chunks of `tensor`'s stored bytes, as
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

fn read_at(file: &File, offset: u64, buffer: &mut [u8]) -> Result<(), Invalid> {
    file.read_exact_at(buffer, offset).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            (
                Kind::Shrank,
                "file shrank while being read — is a download still writing it? re-run once it is complete".to_string(),
            )
        } else {
            (Kind::Io, format!("cannot read: {e}"))
        }
    })
}

fn bad(what: String) -> Invalid {
    (Kind::BadArchive, format!("{what} — re-download it"))
}

/// The archive's tensors as byte ranges of the file.
fn read_tensors(file: &File, file_len: u64) -> Result<Vec<TensorInfo>, Invalid> {
    check_layout(file, file_len)?;
    let tail_start = file_len.saturating_sub(TAIL_BYTES);
    let mut tail = vec![0u8; (file_len - tail_start) as usize];
    read_at(file, tail_start, &mut tail)?;
    let directory = zip::find_directory(file, &tail, tail_start)?;
    let mut listing = vec![0u8; directory.size as usize];
    read_at(file, directory.offset, &mut listing)?;
    let entries = zip::parse_directory(&listing, directory.entries, file_len)?;
    drop(listing);
    let archive = Archive {
        file,
        entries,
        data_end: directory.offset,
    };

    let prefix = archive.prefix()?;
    archive.check_byteorder(&prefix)?;
    let pickle = archive.pickle(&prefix)?;
    let storage_entry = |key: &str| format!("{prefix}/data/{key}");
    let state = read_state_dict(&pickle, &|key| {
        archive.entries.contains_key(&storage_entry(key))
    })?;
    drop(pickle);

    let mut ranges = Vec::with_capacity(state.storages.len());
    for storage in &state.storages {
        let entry = &archive.entries[&storage_entry(&storage.key)];
        let (start, end) = archive.range(entry)?;
        let needed = storage.numel.checked_mul(storage.kind.size());
        if needed.is_none_or(|needed| needed > end - start) {
            return Err(bad(format!(
                "storage {:?} holds {} bytes, fewer than its {} elements of {} bytes need",
                storage.key,
                end - start,
                storage.numel,
                storage.kind.size()
            )));
        }
        ranges.push((start, end));
    }
    check_no_shared_bytes(&state.storages, &ranges)?;

    let mut tensors = Vec::with_capacity(state.tensors.len());
    let mut viewed = 0u64;
    for tensor in &state.tensors {
        let storage = &state.storages[tensor.storage];
        let (start, end) = place(tensor, storage, ranges[tensor.storage].0)?;
        viewed = viewed.saturating_add(end - start);
        if viewed > file_len.saturating_mul(MAX_VIEWS_PER_BYTE) {
            return Err((
                Kind::Limit(Limit::ViewedBytes),
                format!(
                    "its tensors view more than {MAX_VIEWS_PER_BYTE} times the file's bytes — refused; the file is corrupt or hostile"
                ),
            ));
        }
        tensors.push(TensorInfo {
            name: tensor.name.clone(),
            dtype: storage.kind.dtype(),
            shape: tensor.shape.iter().map(|&d| d as usize).collect(),
            start,
            end,
            row_order: RowOrder::AsStored,
        });
    }
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tensors)
}

/// Refuses what is not a zip archive, naming the legacy layout and its fix.
fn check_layout(file: &File, file_len: u64) -> Result<(), Invalid> {
    let mut head = [0u8; LEGACY_MAGIC.len()];
    let len = head.len().min(file_len as usize);
    read_at(file, 0, &mut head[..len])?;
    let head = &head[..len];
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Ok(());
    }
    let legacy = head == LEGACY_MAGIC || head.first() == Some(&0x80) || is_tar(file, file_len);
    if legacy {
        return Err((
            Kind::LegacyFormat,
            "is a legacy PyTorch file (the layout before torch 1.6, not a zip archive), which mother does not read — load it with torch.load and save it again with torch 1.6 or newer, or convert it to safetensors".to_string(),
        ));
    }
    Err((
        Kind::BadArchive,
        "is not a zip archive nor a legacy PyTorch file — not a PyTorch checkpoint, or corrupt; re-download it".to_string(),
    ))
}

/// The oldest torch files are tar archives (`ustar` at byte 257).
fn is_tar(file: &File, file_len: u64) -> bool {
    let mut magic = [0u8; 5];
    file_len >= 262 && file.read_exact_at(&mut magic, 257).is_ok() && &magic == b"ustar"
}

struct Archive<'f> {
    file: &'f File,
    entries: HashMap<String, Entry>,
    /// Where the central directory starts: every entry's bytes end before it.
    data_end: u64,
}

impl Archive<'_> {
    /// The archive's folder: torch names every record `ARCHIVE/...`, and the pickle is
    /// `ARCHIVE/data.pkl`.
    fn prefix(&self) -> Result<String, Invalid> {
        let mut pickles = self
            .entries
            .keys()
            .filter_map(|name| name.strip_suffix("/data.pkl"))
            .filter(|prefix| !prefix.contains('/'));
        match (pickles.next(), pickles.next()) {
            (Some(prefix), None) => Ok(prefix.to_string()),
            (None, _) => Err((
                Kind::BadArchive,
                "is a zip archive without a data.pkl — not a PyTorch checkpoint; convert the model to safetensors".into(),
            )),
            (Some(_), Some(_)) => Err(bad(
                "is a zip archive with several data.pkl records, so which one torch would read is unclear".into(),
            )),
        }
    }

    fn check_byteorder(&self, prefix: &str) -> Result<(), Invalid> {
        let Some(entry) = self.entries.get(&format!("{prefix}/byteorder")) else {
            return Ok(());
        };
        let (start, end) = self.range(entry)?;
        if end - start > 16 {
            return Err(bad("its byteorder record is longer than a word".into()));
        }
        let mut order = vec![0u8; (end - start) as usize];
        read_at(self.file, start, &mut order)?;
        if order != b"little" {
            return Err((
                Kind::BadArchive,
                format!(
                    "stores its tensors in {:?} byte order; mother reads little-endian checkpoints — convert it to safetensors on the machine that wrote it",
                    String::from_utf8_lossy(&order)
                ),
            ));
        }
        Ok(())
    }

    /// The bytes of `ARCHIVE/data.pkl`.
    fn pickle(&self, prefix: &str) -> Result<Vec<u8>, Invalid> {
        let entry = &self.entries[&format!("{prefix}/data.pkl")];
        if entry.size > MAX_PICKLE_BYTES {
            return Err((
                Kind::Limit(Limit::PickleBytes),
                format!(
                    "its data.pkl is {} bytes, above the limit of {MAX_PICKLE_BYTES} — the file is corrupt or hostile",
                    entry.size
                ),
            ));
        }
        let (start, end) = self.range(entry)?;
        let mut bytes = vec![0u8; (end - start) as usize];
        read_at(self.file, start, &mut bytes)?;
        Ok(bytes)
    }

    /// The file range of a stored entry's bytes, read from its local header and checked to lie
    /// before the central directory.
    fn range(&self, entry: &Entry) -> Result<(u64, u64), Invalid> {
        if let Some(problem) = entry.unreadable() {
            return Err(problem);
        }
        let needed = zip::LOCAL_LEN as u64 + entry.name.len() as u64;
        if entry
            .local_header
            .checked_add(needed)
            .is_none_or(|end| end > self.data_end)
        {
            return Err(bad(format!(
                "zip entry {:?} has its local header outside the file's data",
                entry.name
            )));
        }
        let mut header = vec![0u8; needed as usize];
        read_at(self.file, entry.local_header, &mut header)?;
        let start = zip::data_start(entry, &header)?;
        match start.checked_add(entry.size) {
            Some(end) if end <= self.data_end => Ok((start, end)),
            _ => Err(bad(format!(
                "zip entry {:?} runs past the start of the central directory (a truncated download?)",
                entry.name
            ))),
        }
    }
}

/// Storage entries never share bytes in a file torch wrote; entries that do are the shape of
/// a zip bomb (one block of bytes read over and over under many names).
fn check_no_shared_bytes(storages: &[Storage], ranges: &[(u64, u64)]) -> Result<(), Invalid> {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by_key(|&i| ranges[i]);
    for pair in order.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if ranges[b].0 < ranges[a].1 {
            return Err((
                Kind::BadArchive,
                format!(
                    "zip entries of storages {:?} and {:?} share bytes — refused (a zip bomb, or a damaged file); re-download it",
                    storages[a].key, storages[b].key
                ),
            ));
        }
    }
    Ok(())
}

/// The byte range of a tensor: contiguous, row-major, inside its storage.
fn place(
    tensor: &PickledTensor,
    storage: &Storage,
    storage_start: u64,
) -> Result<(u64, u64), Invalid> {
    let numel = tensor
        .shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            bad(format!(
                "tensor {:?} has more elements than fit in 64 bits",
                tensor.name
            ))
        })?;
    if numel > 0 && !is_contiguous(&tensor.shape, &tensor.stride) {
        return Err((
            Kind::NonContiguous,
            format!(
                "tensor {:?} has strides {:?} for shape {:?}, not a contiguous row-major layout — mother reads contiguous tensors only; save {{k: v.contiguous() for k, v in state_dict.items()}} instead, or convert to safetensors",
                tensor.name, tensor.stride, tensor.shape
            ),
        ));
    }
    let last = tensor.offset.checked_add(numel);
    if last.is_none_or(|last| last > storage.numel) {
        return Err(bad(format!(
            "tensor {:?} views elements {}..{} of storage {:?}, which holds {}",
            tensor.name,
            tensor.offset,
            tensor.offset.saturating_add(numel),
            storage.key,
            storage.numel
        )));
    }
    // Both products are at most the storage's byte length, checked against the file.
    let size = storage.kind.size();
    let start = storage_start + tensor.offset * size;
    Ok((start, start + numel * size))
}

/// Row-major strides; dimensions of size 1 may carry any stride (torch leaves them as they
/// fall), as a view of the same bytes.
fn is_contiguous(shape: &[u64], stride: &[u64]) -> bool {
    let mut expected = 1u64;
    for (&size, &step) in shape.iter().zip(stride).rev() {
        if size != 1 && step != expected {
            return false;
        }
        expected = expected.saturating_mul(size);
    }
    true
}
