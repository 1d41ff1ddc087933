//! The few zip records a torch checkpoint needs, read without trusting them: the end of the
//! central directory (and its ZIP64 form), the central directory, and each used entry's local
//! header, which says where its bytes start. Nothing is ever inflated: torch stores its entries
//! uncompressed, so a compressed entry is refused rather than read, and every declared size is
//! checked against the file before anything is allocated or read for it.

use crate::weights::error::{Limit, WeightsErrorKind as Kind};
use std::collections::HashMap;
use std::fs::File;

/// Entries in one archive: one per storage, so a model with tens of thousands of tensors fits.
pub const MAX_ENTRIES: u64 = 1 << 18;
/// Bytes of the central directory (about 100 per entry), which is read whole.
pub const MAX_CENTRAL_DIRECTORY: u64 = 32 << 20;

const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_END: u32 = 0x0606_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
pub(super) const LOCAL_HEADER: u32 = 0x0403_4b50;
/// The end record's fixed part; a comment of up to 65535 bytes may follow it.
const END_LEN: u64 = 22;
const CENTRAL_LEN: usize = 46;
pub(super) const LOCAL_LEN: usize = 30;

pub(super) type Invalid = (Kind, String);

/// One central-directory entry.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub name: String,
    /// 0 = stored.
    pub method: u16,
    pub flags: u16,
    pub compressed_size: u64,
    pub size: u64,
    pub local_header: u64,
}

impl Entry {
    /// Why the entry cannot be read as it stands, if it cannot.
    pub fn unreadable(&self) -> Option<Invalid> {
        if self.flags & 1 != 0 {
            return Some((
                Kind::Compressed,
                format!(
                    "zip entry {:?} is encrypted — torch never encrypts its files; this is not a checkpoint mother can read",
                    self.name
                ),
            ));
        }
        if self.method != 0 {
            return Some((
                Kind::Compressed,
                format!(
                    "zip entry {:?} is compressed (method {}) — torch.save stores entries uncompressed, so the file was repacked; save it again with torch.save or convert it to safetensors",
                    self.name, self.method
                ),
            ));
        }
        if self.compressed_size != self.size {
            return Some(bad(format!(
                "zip entry {:?} is stored but declares {} bytes stored and {} bytes of data",
                self.name, self.compressed_size, self.size
            )));
        }
        None
    }
}

fn bad(what: String) -> Invalid {
    (
        Kind::BadArchive,
        format!("{what} — the zip archive is damaged; re-download it"),
    )
}

/// Reads little-endian fields from a byte slice, failing instead of panicking at its end.
struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }
}

/// Where the central directory is and how many entries it holds.
#[derive(Debug)]
pub(super) struct Directory {
    pub offset: u64,
    pub size: u64,
    pub entries: u64,
}

/// Finds the central directory of `file` from its end. `tail` is the file's last bytes (up
/// to 64 kB + 22), starting at file offset `tail_start`.
pub(super) fn find_directory(
    file: &File,
    tail: &[u8],
    tail_start: u64,
) -> Result<Directory, Invalid> {
    let file_len = tail_start + tail.len() as u64;
    // The last end record whose comment reaches exactly to the end of the file.
    let end_at = (0..tail.len().saturating_sub(END_LEN as usize - 1))
        .rev()
        .find(|&at| {
            tail[at..at + 4] == END_OF_CENTRAL_DIRECTORY.to_le_bytes()
                && at as u64 + END_LEN + u64::from(u16::from_le_bytes([tail[at + 20], tail[at + 21]]))
                    == tail.len() as u64
        })
        .ok_or_else(|| {
            (
                Kind::BadArchive,
                "is not a zip archive (no end-of-central-directory record) — not a torch checkpoint, or a truncated download; re-download it".to_string(),
            )
        })?;
    let mut fields = Fields {
        bytes: &tail[end_at + 4..],
        at: 0,
    };
    let short = || bad("the end-of-central-directory record is cut short".into());
    let disk = fields.u16().ok_or_else(short)?;
    let directory_disk = fields.u16().ok_or_else(short)?;
    let _entries_here = fields.u16().ok_or_else(short)?;
    let entries = fields.u16().ok_or_else(short)?;
    let size = fields.u32().ok_or_else(short)?;
    let offset = fields.u32().ok_or_else(short)?;
    if disk != 0 || directory_disk != 0 {
        return Err(bad("the archive spans several disks".into()));
    }
    let end_offset = tail_start + end_at as u64;
    let mut directory = Directory {
        offset: u64::from(offset),
        size: u64::from(size),
        entries: u64::from(entries),
    };
    let mut directory_end = end_offset;
    // A ZIP64 locator sits just before the end record when the archive needs 64-bit fields.
    if end_offset >= 20 {
        let mut locator = [0u8; 20];
        super::read_at(file, end_offset - 20, &mut locator)?;
        if locator[..4] == ZIP64_LOCATOR.to_le_bytes() {
            let mut fields = Fields {
                bytes: &locator[4..],
                at: 0,
            };
            let _disk = fields.u32().ok_or_else(short)?;
            let zip64_end = fields.u64().ok_or_else(short)?;
            if zip64_end
                .checked_add(56)
                .is_none_or(|end| end > end_offset - 20)
            {
                return Err(bad("the ZIP64 end record lies outside the file".into()));
            }
            let mut record = [0u8; 56];
            super::read_at(file, zip64_end, &mut record)?;
            let mut fields = Fields {
                bytes: &record,
                at: 0,
            };
            if fields.u32() != Some(ZIP64_END) {
                return Err(bad("the ZIP64 end record has a wrong signature".into()));
            }
            fields.take(20).ok_or_else(short)?;
            let _entries_here = fields.u64().ok_or_else(short)?;
            directory.entries = fields.u64().ok_or_else(short)?;
            directory.size = fields.u64().ok_or_else(short)?;
            directory.offset = fields.u64().ok_or_else(short)?;
            directory_end = zip64_end;
        }
    }
    if directory.entries > MAX_ENTRIES || directory.size > MAX_CENTRAL_DIRECTORY {
        return Err((
            Kind::Limit(Limit::ZipEntries),
            format!(
                "the zip archive declares {} entries in a {}-byte directory, above the limits of {MAX_ENTRIES} entries and {MAX_CENTRAL_DIRECTORY} bytes — the file is corrupt or hostile",
                directory.entries, directory.size
            ),
        ));
    }
    let fits = directory
        .offset
        .checked_add(directory.size)
        .is_some_and(|end| end <= directory_end && end <= file_len);
    if !fits || directory.entries.saturating_mul(CENTRAL_LEN as u64) > directory.size {
        return Err(bad(format!(
            "the central directory ({} entries, {} bytes at offset {}) does not fit in the file",
            directory.entries, directory.size, directory.offset
        )));
    }
    Ok(directory)
}

/// Parses the central directory's bytes into entries, refusing names that could escape the
/// archive, duplicate names, and sizes larger than the file.
pub(super) fn parse_directory(
    bytes: &[u8],
    entries: u64,
    file_len: u64,
) -> Result<HashMap<String, Entry>, Invalid> {
    let mut fields = Fields { bytes, at: 0 };
    let mut found: HashMap<String, Entry> = HashMap::with_capacity(entries as usize);
    for index in 0..entries {
        let short = || bad(format!("central directory entry {index} is cut short"));
        if fields.u32() != Some(CENTRAL_HEADER) {
            return Err(bad(format!(
                "central directory entry {index} has a wrong signature"
            )));
        }
        fields.take(4).ok_or_else(short)?;
        let flags = fields.u16().ok_or_else(short)?;
        let method = fields.u16().ok_or_else(short)?;
        fields.take(8).ok_or_else(short)?;
        let compressed = fields.u32().ok_or_else(short)?;
        let size = fields.u32().ok_or_else(short)?;
        let name_len = fields.u16().ok_or_else(short)?;
        let extra_len = fields.u16().ok_or_else(short)?;
        let comment_len = fields.u16().ok_or_else(short)?;
        fields.take(8).ok_or_else(short)?;
        let local = fields.u32().ok_or_else(short)?;
        let name = fields.take(name_len.into()).ok_or_else(short)?;
        let extra = fields.take(extra_len.into()).ok_or_else(short)?;
        fields.take(comment_len.into()).ok_or_else(short)?;

        let name = String::from_utf8(name.to_vec()).map_err(|_| {
            (
                Kind::UnsafeEntryName,
                format!(
                    "zip entry name {:?} is not UTF-8 — refused; nothing was read from it",
                    String::from_utf8_lossy(name)
                ),
            )
        })?;
        check_entry_name(&name)?;
        let mut entry = Entry {
            name,
            method,
            flags,
            compressed_size: u64::from(compressed),
            size: u64::from(size),
            local_header: u64::from(local),
        };
        apply_zip64(&mut entry, extra)?;
        if entry.compressed_size > file_len || (entry.method == 0 && entry.size > file_len) {
            return Err((
                Kind::BadArchive,
                format!(
                    "zip entry {:?} declares {} bytes in a file of {file_len} bytes — refused (a zip bomb, or a damaged file)",
                    entry.name,
                    entry.size.max(entry.compressed_size)
                ),
            ));
        }
        if found.contains_key(&entry.name) {
            return Err(bad(format!("zip entry {:?} appears twice", entry.name)));
        }
        found.insert(entry.name.clone(), entry);
    }
    Ok(found)
}

/// Refuses names that could point outside the archive's folder if the archive were unpacked.
fn check_entry_name(name: &str) -> Result<(), Invalid> {
    let escapes = name.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.as_bytes().get(1) == Some(&b':')
        || name.split('/').any(|part| part == "..");
    if escapes {
        return Err((
            Kind::UnsafeEntryName,
            format!(
                "zip entry name {name:?} points outside the archive — refused; a torch checkpoint never holds such names, so the file is hostile or damaged"
            ),
        ));
    }
    Ok(())
}

/// The ZIP64 extra field (id 1) holds, in this order, the sizes and offset whose 32-bit fields
/// are all ones.
fn apply_zip64(entry: &mut Entry, extra: &[u8]) -> Result<(), Invalid> {
    const SATURATED: u64 = u32::MAX as u64;
    let needs = [entry.size, entry.compressed_size, entry.local_header].contains(&SATURATED);
    if !needs {
        return Ok(());
    }
    let mut fields = Fields {
        bytes: extra,
        at: 0,
    };
    while let (Some(id), Some(len)) = (fields.u16(), fields.u16()) {
        let data = fields
            .take(len.into())
            .ok_or_else(|| bad(format!("zip entry {:?} has a cut extra field", entry.name)))?;
        if id != 1 {
            continue;
        }
        let mut values = Fields { bytes: data, at: 0 };
        let missing = || {
            bad(format!(
                "zip entry {:?} has a short ZIP64 field",
                entry.name
            ))
        };
        if entry.size == SATURATED {
            entry.size = values.u64().ok_or_else(missing)?;
        }
        if entry.compressed_size == SATURATED {
            entry.compressed_size = values.u64().ok_or_else(missing)?;
        }
        if entry.local_header == SATURATED {
            entry.local_header = values.u64().ok_or_else(missing)?;
        }
        return Ok(());
    }
    Err(bad(format!(
        "zip entry {:?} needs a ZIP64 field and has none",
        entry.name
    )))
}

/// Where an entry's bytes start, from its local header (`header`: the 30 fixed bytes and the
/// name that follows them).
pub(super) fn data_start(entry: &Entry, header: &[u8]) -> Result<u64, Invalid> {
    let mut fields = Fields {
        bytes: header,
        at: 0,
    };
    if fields.u32() != Some(LOCAL_HEADER) {
        return Err(bad(format!(
            "zip entry {:?} has no local header where the directory says",
            entry.name
        )));
    }
    fields.take(22);
    let name_len = fields.u16().unwrap_or(0);
    let extra_len = fields.u16().unwrap_or(0);
    if fields.take(name_len.into()) != Some(entry.name.as_bytes()) {
        return Err(bad(format!(
            "zip entry {:?} has another name in its local header",
            entry.name
        )));
    }
    Ok(entry.local_header + LOCAL_LEN as u64 + u64::from(name_len) + u64::from(extra_len))
}
