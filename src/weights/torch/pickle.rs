//! A restricted reader for the pickle programs `torch.save` writes (`data.pkl`). A pickle is a
//! small stack-machine program that can import and call anything, so it is never run: this
//! reader interprets the few opcodes a tensor checkpoint uses and builds plain values from them.
//! The only "callables" it knows are an allowlist of names that it interprets itself
//! (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, ...); naming anything else
//! refuses the file on the spot, before any later opcode is read. Persistent ids (how torch
//! points at tensor data) must name a storage entry of the same archive.
//!
//! Every resource has a hard limit (opcodes, objects, MARK depth, stack, memo, string length,
//! container size, dimensions), and each breach is its own error: hostile input costs bounded
//! memory and time, and never a panic.

use crate::weights::dtype::{Dtype, FloatDtype};
use crate::weights::error::{Limit, WeightsErrorKind as Kind};
use std::collections::HashMap;

/// Bytes of `data.pkl` read at most (a model with 30,000 tensors needs about 3 MB).
pub const MAX_PICKLE_BYTES: u64 = 16 << 20;
/// Opcodes interpreted at most.
pub const MAX_OPCODES: usize = 4 << 20;
/// Objects (strings, numbers, tuples, tensors, ...) built at most: 16 MB of them at worst,
/// enough for about 30,000 tensors.
pub const MAX_OBJECTS: usize = 1 << 19;
/// Nested MARKs (a checkpoint nests three or four).
pub const MAX_MARK_DEPTH: usize = 256;
/// Items on the stack (pickle batches dict items by the thousand).
pub const MAX_STACK: usize = 1 << 16;
/// Memo slots: the largest memo index is one less (torch memoizes about eight objects per
/// tensor).
pub const MAX_MEMO: u32 = 1 << 19;
/// Bytes of one string.
pub const MAX_STRING_BYTES: usize = 1 << 20;
/// Items of one tuple, list or dict.
pub const MAX_CONTAINER: usize = 1 << 19;
/// Dimensions of one tensor.
pub const MAX_DIMS: usize = 32;
/// Bytes of one line of a GLOBAL opcode (a module or a name).
const MAX_GLOBAL_LINE: usize = 256;
/// Bytes of a storage key (torch numbers them: `0`, `1`, ...).
const MAX_KEY_BYTES: usize = 64;

pub(super) type Invalid = (Kind, String);

/// The typed storage classes torch names in persistent ids, with the dtype of their elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageType {
    Float,
    Half,
    BFloat16,
    Double,
    Long,
    Int,
    Short,
    Char,
    Byte,
    Bool,
}

impl StorageType {
    const ALL: [StorageType; 10] = [
        Self::Float,
        Self::Half,
        Self::BFloat16,
        Self::Double,
        Self::Long,
        Self::Int,
        Self::Short,
        Self::Char,
        Self::Byte,
        Self::Bool,
    ];

    /// The class name in module `torch` (`FloatStorage`).
    pub fn class_name(self) -> &'static str {
        match self {
            Self::Float => "FloatStorage",
            Self::Half => "HalfStorage",
            Self::BFloat16 => "BFloat16Storage",
            Self::Double => "DoubleStorage",
            Self::Long => "LongStorage",
            Self::Int => "IntStorage",
            Self::Short => "ShortStorage",
            Self::Char => "CharStorage",
            Self::Byte => "ByteStorage",
            Self::Bool => "BoolStorage",
        }
    }

    fn from_class(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.class_name() == name)
    }

    /// The element type; integer storages are counted, never decoded.
    pub fn dtype(self) -> Dtype {
        let other = |name| Dtype::parse(name).unwrap_or(Dtype::Other { name, bits: 8 });
        match self {
            Self::Float => Dtype::Float(FloatDtype::F32),
            Self::Half => Dtype::Float(FloatDtype::F16),
            Self::BFloat16 => Dtype::Float(FloatDtype::BF16),
            Self::Double => Dtype::Float(FloatDtype::F64),
            Self::Long => other("I64"),
            Self::Int => other("I32"),
            Self::Short => other("I16"),
            Self::Char => other("I8"),
            Self::Byte => other("U8"),
            Self::Bool => other("BOOL"),
        }
    }

    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            Self::Double | Self::Long => 8,
            Self::Float | Self::Int => 4,
            Self::Half | Self::BFloat16 | Self::Short => 2,
            Self::Char | Self::Byte | Self::Bool => 1,
        }
    }
}

/// A storage named by a persistent id: the archive entry `data/{key}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    pub key: String,
    pub kind: StorageType,
    /// Elements the storage holds, as the persistent id declares.
    pub numel: u64,
}

/// One tensor of the state dict: a strided view of a storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickledTensor {
    pub name: String,
    /// Index into [`StateDict::storages`].
    pub storage: usize,
    /// First element, counted in elements of the storage.
    pub offset: u64,
    pub shape: Vec<u64>,
    pub stride: Vec<u64>,
}

/// What a `data.pkl` describes: the tensors of a state dict and the storages they view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateDict {
    pub storages: Vec<Storage>,
    /// In the order of the dict.
    pub tensors: Vec<PickledTensor>,
}

/// Reads the state dict that the pickle `program` describes, without running anything.
/// `has_storage(key)` tells whether the archive holds the entry for storage `key`.
pub fn read_state_dict(
    program: &[u8],
    has_storage: &dyn Fn(&str) -> bool,
) -> Result<StateDict, Invalid> {
    let mut machine = Machine {
        program,
        pos: 0,
        objects: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Vec::new(),
        memo_len: 0,
        storages: Vec::new(),
        storage_keys: HashMap::new(),
        has_storage,
    };
    let root = machine.run()?;
    machine.state_dict(root)
}

type Id = usize;

/// An unset memo slot (object ids stay below [`MAX_OBJECTS`]).
const NO_OBJECT: u32 = u32::MAX;

/// The allowlisted globals, each interpreted by this reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Callable {
    OrderedDict,
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`
    RebuildTensorV2,
    /// `torch._utils._rebuild_tensor(storage, offset, size, stride)`, the older form.
    RebuildTensor,
    /// `torch._utils._rebuild_parameter(tensor, requires_grad, hooks)`
    RebuildParameter,
    StorageClass(StorageType),
}

impl Callable {
    fn lookup(module: &str, name: &str) -> Option<Self> {
        Some(match (module, name) {
            ("collections", "OrderedDict") => Self::OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2") => Self::RebuildTensorV2,
            ("torch._utils", "_rebuild_tensor") => Self::RebuildTensor,
            ("torch._utils", "_rebuild_parameter") => Self::RebuildParameter,
            ("torch", class) => Self::StorageClass(StorageType::from_class(class)?),
            _ => return None,
        })
    }

    fn name(self) -> String {
        match self {
            Self::OrderedDict => "collections.OrderedDict".into(),
            Self::RebuildTensorV2 => "torch._utils._rebuild_tensor_v2".into(),
            Self::RebuildTensor => "torch._utils._rebuild_tensor".into(),
            Self::RebuildParameter => "torch._utils._rebuild_parameter".into(),
            Self::StorageClass(kind) => format!("torch.{}", kind.class_name()),
        }
    }
}

#[derive(Debug)]
struct TensorRecord {
    storage: usize,
    offset: u64,
    shape: Vec<u64>,
    stride: Vec<u64>,
}

#[derive(Debug)]
enum Object {
    None,
    Bool,
    Int(i64),
    Float,
    Str(String),
    Tuple(Vec<Id>),
    List(Vec<Id>),
    /// `ordered`: made by `OrderedDict()`, the one class whose instances accept BUILD.
    Dict {
        items: Vec<(Id, Id)>,
        ordered: bool,
    },
    Callable(Callable),
    Storage(usize),
    /// Boxed: every object pays for the largest variant, and objects are many.
    Tensor(Box<TensorRecord>),
}

impl Object {
    fn kind(&self) -> String {
        match self {
            Self::None => "None".into(),
            Self::Bool => "bool".into(),
            Self::Int(_) => "int".into(),
            Self::Float => "float".into(),
            Self::Str(_) => "string".into(),
            Self::Tuple(_) => "tuple".into(),
            Self::List(_) => "list".into(),
            Self::Dict { .. } => "dict".into(),
            Self::Callable(callable) => callable.name(),
            Self::Storage(_) => "storage".into(),
            Self::Tensor(_) => "tensor".into(),
        }
    }
}

struct Machine<'p> {
    program: &'p [u8],
    pos: usize,
    objects: Vec<Object>,
    stack: Vec<Id>,
    marks: Vec<usize>,
    /// Object by memo slot, [`NO_OBJECT`] where unset; slots stay below [`MAX_MEMO`].
    memo: Vec<u32>,
    /// Slots set, the index MEMOIZE uses next.
    memo_len: u32,
    storages: Vec<Storage>,
    storage_keys: HashMap<String, usize>,
    has_storage: &'p dyn Fn(&str) -> bool,
}

/// The name of every pickle opcode, for the message that refuses one.
fn opcode_name(op: u8) -> &'static str {
    match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'L' => "LONG",
        b'M' => "BININT2",
        b'N' => "NONE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'R' => "REDUCE",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'a' => "APPEND",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'}' => "EMPTY_DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'h' => "BINGET",
        b'i' => "INST",
        b'j' => "LONG_BINGET",
        b'l' => "LIST",
        b']' => "EMPTY_LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b's' => "SETITEM",
        b't' => "TUPLE",
        b')' => "EMPTY_TUPLE",
        b'u' => "SETITEMS",
        b'G' => "BINFLOAT",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x80 => "PROTO",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        0x8a => "LONG1",
        0x8b => "LONG4",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "an unknown opcode",
    }
}

fn limit(which: Limit, what: String) -> Invalid {
    (
        Kind::Limit(which),
        format!(
            "data.pkl {what} — refused before it could take unbounded memory or time; the file is corrupt or hostile"
        ),
    )
}

fn refused(what: String) -> Invalid {
    (
        Kind::Refused,
        format!(
            "{what} — refused; nothing was run (mother reads only the plain tensors torch.save writes; convert the checkpoint to safetensors on a machine where you trust it)"
        ),
    )
}

impl Machine<'_> {
    fn malformed(&self, what: &str) -> Invalid {
        (
            Kind::Malformed,
            format!(
                "data.pkl is malformed: {what} (at byte {}) — the file is corrupt; re-download it",
                self.pos
            ),
        )
    }

    /// Interprets opcodes up to STOP and returns the object left on the stack.
    fn run(&mut self) -> Result<Id, Invalid> {
        for _ in 0..MAX_OPCODES {
            let op = self.byte()?;
            match op {
                0x80 => {
                    let version = self.byte()?;
                    if version > 5 {
                        return Err(self.malformed(&format!("pickle protocol {version}")));
                    }
                }
                0x95 => {
                    self.take(8)?;
                }
                b'}' => self.push(Object::Dict {
                    items: Vec::new(),
                    ordered: false,
                })?,
                b']' => self.push(Object::List(Vec::new()))?,
                b')' => self.push(Object::Tuple(Vec::new()))?,
                b'(' => {
                    if self.marks.len() >= MAX_MARK_DEPTH {
                        return Err(limit(
                            Limit::MarkDepth,
                            format!("nests MARKs deeper than {MAX_MARK_DEPTH}"),
                        ));
                    }
                    self.marks.push(self.stack.len());
                }
                b'X' => {
                    let len = self.u32()? as usize;
                    self.string(len)?;
                }
                0x8c => {
                    let len = self.byte()? as usize;
                    self.string(len)?;
                }
                0x8d => {
                    let len = usize::try_from(self.u64()?).unwrap_or(usize::MAX);
                    self.string(len)?;
                }
                b'J' => {
                    let bytes = self.take(4)?;
                    let value = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                    self.push(Object::Int(value.into()))?;
                }
                b'K' => {
                    let value = self.byte()?;
                    self.push(Object::Int(value.into()))?;
                }
                b'M' => {
                    let bytes = self.take(2)?;
                    let value = u16::from_le_bytes([bytes[0], bytes[1]]);
                    self.push(Object::Int(value.into()))?;
                }
                0x8a => {
                    let value = self.long1()?;
                    self.push(Object::Int(value))?;
                }
                b'G' => {
                    self.take(8)?;
                    self.push(Object::Float)?;
                }
                0x88 | 0x89 => self.push(Object::Bool)?,
                b'N' => self.push(Object::None)?,
                0x85..=0x87 => {
                    let count = usize::from(op - 0x84);
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() < floor + count {
                        return Err(self.malformed(
                            "a TUPLE opcode with too few items on the stack above the last MARK",
                        ));
                    }
                    let items = self.stack.split_off(self.stack.len() - count);
                    self.push(Object::Tuple(items))?;
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Object::Tuple(items))?;
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.extend_dict(vec![key, value])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.extend_dict(items)?;
                }
                b'a' => {
                    let value = self.pop()?;
                    self.extend_list(vec![value])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.extend_list(items)?;
                }
                b'q' => {
                    let index = self.byte()?.into();
                    self.memoize(index)?;
                }
                b'r' => {
                    let index = self.u32()?;
                    self.memoize(index)?;
                }
                0x94 => {
                    self.memoize(self.memo_len)?;
                }
                b'h' => {
                    let index = self.byte()?.into();
                    self.recall(index)?;
                }
                b'j' => {
                    let index = self.u32()?;
                    self.recall(index)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.global(&module, &name)?;
                }
                0x93 => {
                    let name = self.pop_string("STACK_GLOBAL's name")?;
                    let module = self.pop_string("STACK_GLOBAL's module")?;
                    self.global(&module, &name)?;
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let result = self.reduce(callable, args)?;
                    self.push_id(result)?;
                }
                b'b' => {
                    let state = self.pop()?;
                    self.build(state)?;
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let storage = self.persistent_load(pid)?;
                    self.push(Object::Storage(storage))?;
                }
                b'.' => return self.pop(),
                other => {
                    self.pos -= 1;
                    return Err(refused(format!(
                        "data.pkl uses opcode {} (0x{other:02x}) at byte {}, which a tensor checkpoint does not need",
                        opcode_name(other),
                        self.pos
                    )));
                }
            }
        }
        Err(limit(
            Limit::Opcodes,
            format!("runs more than {MAX_OPCODES} opcodes"),
        ))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], Invalid> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.program.len())
            .ok_or_else(|| {
                self.malformed("the program ends in the middle of an opcode, before STOP")
            })?;
        let bytes = &self.program[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, Invalid> {
        self.take(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Result<u32, Invalid> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, Invalid> {
        self.take(8)
            .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// LONG1: a little-endian two's-complement integer of up to 255 bytes; sizes and offsets
    /// fit in 8.
    fn long1(&mut self) -> Result<i64, Invalid> {
        let len = self.byte()? as usize;
        if len > 8 {
            return Err(self.malformed(&format!("an integer of {len} bytes")));
        }
        let bytes = self.take(len)?;
        let mut wide = [0u8; 8];
        wide[..len].copy_from_slice(bytes);
        if bytes.last().is_some_and(|&b| b & 0x80 != 0) {
            wide[len..].fill(0xff);
        }
        Ok(i64::from_le_bytes(wide))
    }

    fn string(&mut self, len: usize) -> Result<(), Invalid> {
        if len > MAX_STRING_BYTES {
            return Err(limit(
                Limit::StringLength,
                format!("holds a string of {len} bytes, above the limit of {MAX_STRING_BYTES}"),
            ));
        }
        let bytes = self.take(len)?;
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ())
            .map(str::to_owned);
        match text {
            Ok(text) => self.push(Object::Str(text)),
            Err(()) => Err(self.malformed("a string that is not UTF-8")),
        }
    }

    /// A GLOBAL line (a module or a name), up to the newline.
    fn line(&mut self) -> Result<String, Invalid> {
        let rest = &self.program[self.pos..];
        let len = rest
            .iter()
            .take(MAX_GLOBAL_LINE + 1)
            .position(|&b| b == b'\n');
        let Some(len) = len else {
            if rest.len() > MAX_GLOBAL_LINE {
                return Err(limit(
                    Limit::StringLength,
                    format!("names a global longer than {MAX_GLOBAL_LINE} bytes"),
                ));
            }
            return Err(self.malformed("a GLOBAL opcode cut off by the end of the program"));
        };
        let line = String::from_utf8(rest[..len].to_vec())
            .map_err(|_| self.malformed("a GLOBAL name that is not UTF-8"))?;
        self.pos += len + 1;
        Ok(line)
    }

    /// Adds an object to the arena (not to the stack).
    fn alloc(&mut self, object: Object) -> Result<Id, Invalid> {
        if self.objects.len() >= MAX_OBJECTS {
            return Err(limit(
                Limit::Objects,
                format!("builds more than {MAX_OBJECTS} objects"),
            ));
        }
        self.objects.push(object);
        Ok(self.objects.len() - 1)
    }

    fn push_id(&mut self, id: Id) -> Result<(), Invalid> {
        if self.stack.len() >= MAX_STACK {
            return Err(limit(
                Limit::StackDepth,
                format!("puts more than {MAX_STACK} items on its stack"),
            ));
        }
        self.stack.push(id);
        Ok(())
    }

    fn push(&mut self, object: Object) -> Result<(), Invalid> {
        let id = self.alloc(object)?;
        self.push_id(id)
    }

    fn pop(&mut self) -> Result<Id, Invalid> {
        if self
            .marks
            .last()
            .is_some_and(|&mark| mark >= self.stack.len())
        {
            return Err(self.malformed("an opcode takes an item from below the last MARK"));
        }
        self.stack
            .pop()
            .ok_or_else(|| self.malformed("an opcode takes an item from an empty stack"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Id>, Invalid> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.malformed("an opcode needs a MARK and there is none"))?;
        Ok(self.stack.split_off(mark))
    }

    fn pop_string(&mut self, what: &str) -> Result<String, Invalid> {
        let id = self.pop()?;
        match &self.objects[id] {
            Object::Str(text) => Ok(text.clone()),
            other => Err(self.malformed(&format!("{what} is a {}, not a string", other.kind()))),
        }
    }

    fn top(&self) -> Result<Id, Invalid> {
        match (self.stack.last(), self.marks.last()) {
            (Some(_), Some(&mark)) if mark >= self.stack.len() => {
                Err(self.malformed("an opcode needs an item below the last MARK"))
            }
            (Some(&id), _) => Ok(id),
            (None, _) => Err(self.malformed("an opcode needs an item on an empty stack")),
        }
    }

    fn extend_dict(&mut self, items: Vec<Id>) -> Result<(), Invalid> {
        if !items.len().is_multiple_of(2) {
            return Err(self.malformed("SETITEMS with a key and no value"));
        }
        let target = self.top()?;
        let kind = self.objects[target].kind();
        let Object::Dict { items: entries, .. } = &mut self.objects[target] else {
            return Err(self.malformed(&format!("SETITEM on a {kind}, not a dict")));
        };
        if entries.len() + items.len() / 2 > MAX_CONTAINER {
            return Err(limit(
                Limit::ContainerSize,
                format!("builds a dict of more than {MAX_CONTAINER} items"),
            ));
        }
        entries.extend(items.chunks_exact(2).map(|pair| (pair[0], pair[1])));
        Ok(())
    }

    fn extend_list(&mut self, items: Vec<Id>) -> Result<(), Invalid> {
        let target = self.top()?;
        let kind = self.objects[target].kind();
        let Object::List(entries) = &mut self.objects[target] else {
            return Err(self.malformed(&format!("APPEND on a {kind}, not a list")));
        };
        if entries.len() + items.len() > MAX_CONTAINER {
            return Err(limit(
                Limit::ContainerSize,
                format!("builds a list of more than {MAX_CONTAINER} items"),
            ));
        }
        entries.extend(items);
        Ok(())
    }

    fn memoize(&mut self, index: u32) -> Result<(), Invalid> {
        if index >= MAX_MEMO {
            return Err(limit(
                Limit::Memo,
                format!("uses memo slot {index}, above the limit of {MAX_MEMO} slots"),
            ));
        }
        let top = self.top()? as u32;
        let slot = index as usize;
        if slot >= self.memo.len() {
            self.memo.resize(slot + 1, NO_OBJECT);
        }
        if self.memo[slot] == NO_OBJECT {
            self.memo_len += 1;
        }
        self.memo[slot] = top;
        Ok(())
    }

    fn recall(&mut self, index: u32) -> Result<(), Invalid> {
        let id = self
            .memo
            .get(index as usize)
            .copied()
            .filter(|&id| id != NO_OBJECT)
            .ok_or_else(|| self.malformed(&format!("BINGET of memo slot {index}, never set")))?;
        self.push_id(id as Id)
    }

    /// GLOBAL and STACK_GLOBAL: only allowlisted names are accepted; any other name refuses
    /// the whole file before the next opcode is read.
    fn global(&mut self, module: &str, name: &str) -> Result<(), Invalid> {
        match Callable::lookup(module, name) {
            Some(callable) => self.push(Object::Callable(callable)),
            None => Err(refused(format!(
                "pickle calls {}.{}",
                module.escape_debug(),
                name.escape_debug()
            ))),
        }
    }

    /// REDUCE: only an allowlisted callable is "called", by interpreting its arguments here.
    fn reduce(&mut self, callable: Id, args: Id) -> Result<Id, Invalid> {
        let callable = match &self.objects[callable] {
            Object::Callable(callable) => *callable,
            other => {
                return Err(refused(format!(
                    "data.pkl applies REDUCE to a {}, not an allowlisted callable",
                    other.kind()
                )));
            }
        };
        let args = match &self.objects[args] {
            Object::Tuple(items) => items.clone(),
            other => {
                return Err(self.malformed(&format!(
                    "REDUCE of {} with a {} for arguments",
                    callable.name(),
                    other.kind()
                )));
            }
        };
        let wrong_args = || {
            self.malformed(&format!(
                "{} called with {} arguments",
                callable.name(),
                args.len()
            ))
        };
        match callable {
            Callable::OrderedDict if args.is_empty() => self.alloc(Object::Dict {
                items: Vec::new(),
                ordered: true,
            }),
            Callable::RebuildTensorV2 if (6..=7).contains(&args.len()) => self.tensor(&args[..4]),
            Callable::RebuildTensor if args.len() == 4 => self.tensor(&args),
            Callable::RebuildParameter if args.len() == 3 => match self.objects[args[0]] {
                Object::Tensor(_) => Ok(args[0]),
                _ => Err(self.malformed("_rebuild_parameter of something that is not a tensor")),
            },
            Callable::StorageClass(_) => Err(refused(format!(
                "data.pkl calls {} (storages come only from persistent ids)",
                callable.name()
            ))),
            _ => Err(wrong_args()),
        }
    }

    /// `(storage, storage_offset, size, stride)` into a tensor object.
    fn tensor(&mut self, args: &[Id]) -> Result<Id, Invalid> {
        let Object::Storage(storage) = self.objects[args[0]] else {
            return Err(self.malformed(&format!(
                "a tensor rebuilt from a {}, not a storage",
                self.objects[args[0]].kind()
            )));
        };
        let offset = self.count(args[1], "a storage offset")?;
        let shape = self.counts(args[2], "a size")?;
        let stride = self.counts(args[3], "a stride")?;
        if shape.len() != stride.len() {
            return Err(self.malformed("a tensor whose size and stride differ in length"));
        }
        self.alloc(Object::Tensor(Box::new(TensorRecord {
            storage,
            offset,
            shape,
            stride,
        })))
    }

    fn count(&self, id: Id, what: &str) -> Result<u64, Invalid> {
        match self.objects[id] {
            Object::Int(value) if value >= 0 => Ok(value as u64),
            Object::Int(value) => Err(self.malformed(&format!("{what} of {value}"))),
            ref other => Err(self.malformed(&format!("{what} that is a {}", other.kind()))),
        }
    }

    fn counts(&self, id: Id, what: &str) -> Result<Vec<u64>, Invalid> {
        let Object::Tuple(items) = &self.objects[id] else {
            return Err(self.malformed(&format!(
                "{what} that is a {}, not a tuple",
                self.objects[id].kind()
            )));
        };
        if items.len() > MAX_DIMS {
            return Err(limit(
                Limit::Dimensions,
                format!(
                    "describes a tensor of {} dimensions, above the limit of {MAX_DIMS}",
                    items.len()
                ),
            ));
        }
        items.iter().map(|&item| self.count(item, what)).collect()
    }

    /// BUILD sets the state of an instance; the only instances here are OrderedDicts, whose
    /// state (torch's `_metadata` of module versions) mother does not need.
    fn build(&mut self, state: Id) -> Result<(), Invalid> {
        let target = self.top()?;
        let state_ok = matches!(self.objects[state], Object::Dict { .. } | Object::None);
        match &self.objects[target] {
            Object::Dict { ordered: true, .. } if state_ok => Ok(()),
            Object::Dict { ordered: true, .. } => Err(self.malformed(&format!(
                "BUILD of an OrderedDict with a {} for state",
                self.objects[state].kind()
            ))),
            other => Err(refused(format!(
                "data.pkl applies BUILD to a {}, not an instance of an allowlisted class",
                other.kind()
            ))),
        }
    }

    /// BINPERSID: `('storage', torch.XStorage, key, location, numel)`, with `key` an entry of
    /// this archive's `data/` folder.
    fn persistent_load(&mut self, pid: Id) -> Result<usize, Invalid> {
        let Object::Tuple(fields) = &self.objects[pid] else {
            return Err(refused(format!(
                "data.pkl has a persistent id that is a {}, not a storage record",
                self.objects[pid].kind()
            )));
        };
        let fields: Vec<&Object> = fields.iter().map(|&id| &self.objects[id]).collect();
        let [
            Object::Str(tag),
            Object::Callable(Callable::StorageClass(kind)),
            Object::Str(key),
            Object::Str(_location),
            Object::Int(numel),
        ] = fields.as_slice()
        else {
            let tag = match fields.first() {
                Some(Object::Str(tag)) => format!("{:?}", tag),
                _ => "of another shape".into(),
            };
            return Err(refused(format!(
                "data.pkl has a persistent id {tag} that is not a ('storage', type, key, location, size) record of this archive"
            )));
        };
        if tag != "storage" {
            return Err(refused(format!(
                "data.pkl has a persistent id of kind {tag:?}, not a storage"
            )));
        }
        let plain = !key.is_empty()
            && key.len() <= MAX_KEY_BYTES
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !plain || !(self.has_storage)(key) {
            return Err(refused(format!(
                "data.pkl points at storage {:?}, which is not an entry of this archive's data/ folder",
                key.escape_debug().to_string()
            )));
        }
        let numel = u64::try_from(*numel)
            .map_err(|_| self.malformed(&format!("storage {key:?} of {numel} elements")))?;
        let (kind, key) = (*kind, key.clone());
        if let Some(&index) = self.storage_keys.get(&key) {
            let known = &self.storages[index];
            if known.kind != kind || known.numel != numel {
                return Err(self.malformed(&format!(
                    "storage {key:?} declared twice with different types or sizes"
                )));
            }
            return Ok(index);
        }
        self.storages.push(Storage {
            key: key.clone(),
            kind,
            numel,
        });
        self.storage_keys.insert(key, self.storages.len() - 1);
        Ok(self.storages.len() - 1)
    }

    /// The tensors of the dict `root`, under their keys; other values (version numbers and the
    /// like) are passed over.
    fn state_dict(mut self, root: Id) -> Result<StateDict, Invalid> {
        let Object::Dict { items, .. } = &self.objects[root] else {
            return Err((
                Kind::Malformed,
                format!(
                    "data.pkl holds a {}, not a dict of tensors — not a state dict (save model.state_dict(), or convert to safetensors)",
                    self.objects[root].kind()
                ),
            ));
        };
        let mut tensors = Vec::new();
        let mut seen = HashMap::new();
        for &(key, value) in items {
            let Object::Tensor(record) = &self.objects[value] else {
                continue;
            };
            let Object::Str(name) = &self.objects[key] else {
                return Err(self.malformed(&format!(
                    "a tensor under a {} key, not a string",
                    self.objects[key].kind()
                )));
            };
            if seen.insert(name.clone(), ()).is_some() {
                return Err(self.malformed(&format!("tensor {name:?} appears twice")));
            }
            tensors.push(PickledTensor {
                name: name.clone(),
                storage: record.storage,
                offset: record.offset,
                shape: record.shape.clone(),
                stride: record.stride.clone(),
            });
        }
        Ok(StateDict {
            storages: std::mem::take(&mut self.storages),
            tensors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tuple_opcode_cannot_take_items_from_below_a_mark() {
        // Found by fuzz_pickle: TUPLE2 with one item above the MARK and one below.
        let (kind, reason) = read_state_dict(b"N(N\x86t.", &|_| false).unwrap_err();
        assert_eq!(kind, Kind::Malformed, "{reason}");
    }

    #[test]
    fn objects_stay_small_because_many_are_allowed() {
        assert_eq!(std::mem::size_of::<Object>(), 32);
    }
}
