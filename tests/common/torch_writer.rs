//! A writer of PyTorch checkpoints laid out exactly as `torch.save(state_dict, path)` lays
//! them out (torch 2.x, pickle protocol 2): a zip archive of stored entries, each entry's data
//! aligned to 64 bytes by an `FB` padding field in its local header, holding
//! `ARCHIVE/data.pkl`, `.format_version`, `.storage_alignment`, `byteorder`, one `data/KEY` per
//! storage (keys in order of first use, records in sorted key order), then `version` and
//! `.data/serialization_id`. The pickle is the one Python's pickler writes for a state dict:
//! an `OrderedDict` filled with `SETITEMS`, each tensor a `_rebuild_tensor_v2` call whose
//! storage is a persistent id, and the `_metadata` attribute set with `BUILD`.
//!
//! The pieces (the pickler, the zip writer) are public so hostile tests can build files torch
//! never would.

use std::collections::HashMap;

/// torch aligns every record's data to this many bytes.
pub const ALIGNMENT: usize = 64;

/// A tensor to save: a contiguous view of a storage.
#[derive(Debug, Clone)]
pub struct PtTensor {
    pub name: String,
    /// The storage class in module `torch` (`FloatStorage`, `HalfStorage`, ...).
    pub class: &'static str,
    pub shape: Vec<usize>,
    /// The storage's bytes (little-endian elements). Tensors naming the same `storage` share
    /// it; the bytes of the first one are written.
    pub bytes: Vec<u8>,
    /// Tensors with the same label share one storage (tied weights); `None` is a storage of
    /// its own.
    pub storage: Option<&'static str>,
    /// First element of the view in its storage.
    pub offset: usize,
}

impl PtTensor {
    pub fn f32(name: &str, shape: &[usize], values: &[f32]) -> Self {
        Self::raw(
            name,
            "FloatStorage",
            shape,
            values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        )
    }

    pub fn f16(name: &str, shape: &[usize], values: &[f32]) -> Self {
        let bytes = values
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect();
        Self::raw(name, "HalfStorage", shape, bytes)
    }

    pub fn bf16(name: &str, shape: &[usize], values: &[f32]) -> Self {
        let bytes = values
            .iter()
            .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
            .collect();
        Self::raw(name, "BFloat16Storage", shape, bytes)
    }

    pub fn raw(name: &str, class: &'static str, shape: &[usize], bytes: Vec<u8>) -> Self {
        Self {
            name: name.to_string(),
            class,
            shape: shape.to_vec(),
            bytes,
            storage: None,
            offset: 0,
        }
    }

    fn element_size(&self) -> usize {
        match self.class {
            "DoubleStorage" | "LongStorage" => 8,
            "FloatStorage" | "IntStorage" => 4,
            "HalfStorage" | "BFloat16Storage" | "ShortStorage" => 2,
            _ => 1,
        }
    }
}

/// Writes pickle opcodes with the memo bookkeeping of Python's pickler: strings, globals and
/// tuples are memoized (BINPUT) the first time and fetched (BINGET) after that.
#[derive(Default)]
pub struct Pickler {
    pub out: Vec<u8>,
    memo: HashMap<String, u32>,
    next: u32,
}

impl Pickler {
    pub fn proto(&mut self, version: u8) {
        self.out.extend([0x80, version]);
    }

    /// BINPUT or LONG_BINPUT of the next memo slot.
    pub fn put(&mut self) -> u32 {
        let index = self.next;
        self.next += 1;
        if index < 256 {
            self.out.extend([b'q', index as u8]);
        } else {
            self.out.push(b'r');
            self.out.extend(index.to_le_bytes());
        }
        index
    }

    pub fn get(&mut self, index: u32) {
        if index < 256 {
            self.out.extend([b'h', index as u8]);
        } else {
            self.out.push(b'j');
            self.out.extend(index.to_le_bytes());
        }
    }

    /// A memoized object written by `write` the first time `key` is seen.
    fn memoized(&mut self, key: String, write: impl FnOnce(&mut Self)) {
        if let Some(&index) = self.memo.get(&key) {
            self.get(index);
        } else {
            write(self);
            let index = self.put();
            self.memo.insert(key, index);
        }
    }

    pub fn string(&mut self, text: &str) {
        self.memoized(format!("s:{text}"), |p| {
            p.out.push(b'X');
            p.out.extend((text.len() as u32).to_le_bytes());
            p.out.extend(text.as_bytes());
        });
    }

    pub fn global(&mut self, module: &str, name: &str) {
        self.memoized(format!("g:{module}.{name}"), |p| {
            p.out.push(b'c');
            p.out.extend(module.as_bytes());
            p.out.push(b'\n');
            p.out.extend(name.as_bytes());
            p.out.push(b'\n');
        });
    }

    /// As Python picks the opcode for an int: BININT1, BININT2, BININT, else LONG1.
    pub fn int(&mut self, value: i64) {
        if (0..256).contains(&value) {
            self.out.extend([b'K', value as u8]);
        } else if (0..65536).contains(&value) {
            self.out.push(b'M');
            self.out.extend((value as u16).to_le_bytes());
        } else if i32::try_from(value).is_ok() {
            self.out.push(b'J');
            self.out.extend((value as i32).to_le_bytes());
        } else {
            let bytes = value.to_le_bytes();
            // The shortest two's-complement form, as Python's encode_long.
            let mut len = 8;
            while len > 1 {
                let top = bytes[len - 1];
                let next_sign = bytes[len - 2] & 0x80;
                if (top == 0 && next_sign == 0) || (top == 0xff && next_sign != 0) {
                    len -= 1;
                } else {
                    break;
                }
            }
            self.out.extend([0x8a, len as u8]);
            self.out.extend(&bytes[..len]);
        }
    }

    /// A tuple of ints, as protocol 2 writes one (TUPLE1-3 up to three items), memoized.
    pub fn int_tuple(&mut self, values: &[usize]) {
        if values.is_empty() {
            self.out.push(b')');
            return;
        }
        if values.len() > 3 {
            self.out.push(b'(');
        }
        for &v in values {
            self.int(v as i64);
        }
        match values.len() {
            1 => self.out.push(0x85),
            2 => self.out.push(0x86),
            3 => self.out.push(0x87),
            _ => self.out.push(b't'),
        }
        self.put();
    }

    pub fn op(&mut self, op: u8) {
        self.out.push(op);
    }
}

/// The pickle `torch.save` writes for a state dict of `tensors`, with the storage key of
/// each tensor (in order of first use) returned beside it.
pub fn state_dict_pickle(tensors: &[PtTensor]) -> (Vec<u8>, Vec<String>) {
    let mut p = Pickler::default();
    let mut keys: HashMap<String, String> = HashMap::new();
    let mut tensor_keys = Vec::new();
    p.proto(2);
    p.global("collections", "OrderedDict");
    p.op(b')');
    p.op(b'R');
    p.put();
    // One batch of SETITEMS for up to 1000 items, as Python's _batch_setitems.
    for batch in tensors.chunks(1000) {
        if batch.len() > 1 {
            p.op(b'(');
        }
        for tensor in batch {
            p.string(&tensor.name);
            p.global("torch._utils", "_rebuild_tensor_v2");
            p.op(b'(');
            let label = tensor
                .storage
                .map_or_else(|| format!("own:{}", tensor.name), |s| s.to_string());
            let next_key = keys.len().to_string();
            let key = keys.entry(label).or_insert(next_key).clone();
            tensor_keys.push(key.clone());
            // The persistent id ('storage', torch.XStorage, key, 'cpu', numel).
            p.op(b'(');
            p.string("storage");
            p.global("torch", tensor.class);
            p.string(&key);
            p.string("cpu");
            p.int((tensor.bytes.len() / tensor.element_size()) as i64);
            p.op(b't');
            p.put();
            p.op(b'Q');
            p.int(tensor.offset as i64);
            p.int_tuple(&tensor.shape);
            p.int_tuple(&contiguous_strides(&tensor.shape));
            p.op(0x89);
            p.global("collections", "OrderedDict");
            p.op(b')');
            p.op(b'R');
            p.put();
            p.op(b't');
            p.put();
            p.op(b'R');
            p.put();
        }
        p.op(if batch.len() > 1 { b'u' } else { b's' });
    }
    // state = {'_metadata': OrderedDict([('', {'version': 1})])}
    p.op(b'}');
    p.put();
    p.string("_metadata");
    p.global("collections", "OrderedDict");
    p.op(b')');
    p.op(b'R');
    p.put();
    p.string("");
    p.op(b'}');
    p.put();
    p.string("version");
    p.int(1);
    p.op(b's');
    p.op(b's');
    p.op(b's');
    p.op(b'b');
    p.op(b'.');
    (p.out, tensor_keys)
}

pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}

/// One record of a zip archive.
#[derive(Debug, Clone)]
pub struct Record {
    pub name: String,
    pub data: Vec<u8>,
    /// The compression method written in the headers (the data is written as given).
    pub method: u16,
    /// General-purpose flags (bit 0: encrypted).
    pub flags: u16,
}

impl Record {
    pub fn stored(name: &str, data: Vec<u8>) -> Self {
        Self {
            name: name.to_string(),
            data,
            method: 0,
            flags: 0,
        }
    }
}

/// A zip archive of `records` in the order given, as PyTorch's writer makes one: stored
/// records, data aligned to [`ALIGNMENT`], CRC-32s, and ZIP64 records when `zip64` is set (torch
/// writes them for files over 4 GB; here they can be forced to test the reader).
pub fn zip_archive(records: &[Record], zip64: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for record in records {
        let offset = out.len();
        let name = record.name.as_bytes();
        let crc = crc32(&record.data);
        let size = record.data.len() as u64;
        // Local header, then an FB padding field sized so that the data lands aligned.
        let zip64_extra = if zip64 { 4 + 16 } else { 0 };
        let start = offset + 30 + name.len() + 4 + zip64_extra;
        let padding = (ALIGNMENT - start % ALIGNMENT) % ALIGNMENT;
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend(if zip64 { 45u16 } else { 20u16 }.to_le_bytes());
        out.extend(record.flags.to_le_bytes());
        out.extend(record.method.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(0x0021u16.to_le_bytes());
        out.extend(crc.to_le_bytes());
        let field = if zip64 { u32::MAX } else { size as u32 };
        out.extend(field.to_le_bytes());
        out.extend(field.to_le_bytes());
        out.extend((name.len() as u16).to_le_bytes());
        out.extend(((4 + padding + zip64_extra) as u16).to_le_bytes());
        out.extend(name);
        if zip64 {
            out.extend(1u16.to_le_bytes());
            out.extend(16u16.to_le_bytes());
            out.extend(size.to_le_bytes());
            out.extend(size.to_le_bytes());
        }
        out.extend(b"FB");
        out.extend((padding as u16).to_le_bytes());
        out.extend(std::iter::repeat_n(b'Z', padding));
        assert_eq!(out.len() % ALIGNMENT, 0);
        out.extend(&record.data);

        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(if zip64 { 45u16 } else { 20u16 }.to_le_bytes());
        central.extend(if zip64 { 45u16 } else { 20u16 }.to_le_bytes());
        central.extend(record.flags.to_le_bytes());
        central.extend(record.method.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0x0021u16.to_le_bytes());
        central.extend(crc.to_le_bytes());
        central.extend(field.to_le_bytes());
        central.extend(field.to_le_bytes());
        central.extend((name.len() as u16).to_le_bytes());
        central.extend((if zip64 { 28u16 } else { 0 }).to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0u32.to_le_bytes());
        let offset_field = if zip64 { u32::MAX } else { offset as u32 };
        central.extend(offset_field.to_le_bytes());
        central.extend(name);
        if zip64 {
            central.extend(1u16.to_le_bytes());
            central.extend(24u16.to_le_bytes());
            central.extend(size.to_le_bytes());
            central.extend(size.to_le_bytes());
            central.extend((offset as u64).to_le_bytes());
        }
    }
    let directory_offset = out.len() as u64;
    let directory_size = central.len() as u64;
    out.extend(central);
    let count = records.len() as u64;
    if zip64 {
        let zip64_end = out.len() as u64;
        out.extend(0x0606_4b50u32.to_le_bytes());
        out.extend(44u64.to_le_bytes());
        out.extend(45u16.to_le_bytes());
        out.extend(45u16.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(directory_size.to_le_bytes());
        out.extend(directory_offset.to_le_bytes());
        out.extend(0x0706_4b50u32.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(zip64_end.to_le_bytes());
        out.extend(1u32.to_le_bytes());
    }
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    let short_count = if zip64 { u16::MAX } else { count as u16 };
    out.extend(short_count.to_le_bytes());
    out.extend(short_count.to_le_bytes());
    let (size_field, offset_field) = if zip64 {
        (u32::MAX, u32::MAX)
    } else {
        (directory_size as u32, directory_offset as u32)
    };
    out.extend(size_field.to_le_bytes());
    out.extend(offset_field.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// The records of a torch.save archive named `archive` around `pickle` and `storages`
/// (`(key, bytes)`), in torch's order.
pub fn torch_records(
    archive: &str,
    pickle: Vec<u8>,
    storages: &[(String, Vec<u8>)],
) -> Vec<Record> {
    let mut records = vec![
        Record::stored(&format!("{archive}/data.pkl"), pickle),
        Record::stored(&format!("{archive}/.format_version"), b"1".to_vec()),
        Record::stored(&format!("{archive}/.storage_alignment"), b"64".to_vec()),
        Record::stored(&format!("{archive}/byteorder"), b"little".to_vec()),
    ];
    let mut sorted: Vec<&(String, Vec<u8>)> = storages.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, bytes) in sorted {
        records.push(Record::stored(
            &format!("{archive}/data/{key}"),
            bytes.clone(),
        ));
    }
    records.push(Record::stored(
        &format!("{archive}/version"),
        b"3\n".to_vec(),
    ));
    records.push(Record::stored(
        &format!("{archive}/.data/serialization_id"),
        b"1234567890123456789012345678901234567890".to_vec(),
    ));
    records
}

/// The storages of `tensors`, keyed as `state_dict_pickle` keyed them.
pub fn storages(tensors: &[PtTensor], keys: &[String]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for (tensor, key) in tensors.iter().zip(keys) {
        if !out.iter().any(|(k, _)| k == key) {
            out.push((key.clone(), tensor.bytes.clone()));
        }
    }
    out
}

/// The bytes `torch.save(state_dict, "ARCHIVE.bin")` writes for `tensors`.
pub fn torch_save(archive: &str, tensors: &[PtTensor]) -> Vec<u8> {
    let (pickle, keys) = state_dict_pickle(tensors);
    zip_archive(
        &torch_records(archive, pickle, &storages(tensors, &keys)),
        false,
    )
}

/// CRC-32 (IEEE), bit by bit: slow and obvious.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
