//! Hostile PyTorch checkpoints: pickles that would run commands, evaluate code, climb attribute
//! chains or reach outside the archive if Python unpickled them, pickles built to exhaust a
//! reader, and zip archives built to mislead one (bombs, names with `../`). Each is refused
//! with its own reason; a marker file the payloads would create never appears (mother runs
//! nothing); and a counting allocator shows the memory each refusal takes stays small.

mod common;

use common::torch_writer::{
    PtTensor, Record, state_dict_pickle, storages, torch_records, zip_archive,
};
use mother::weights::torch::read_state_dict;
use mother::weights::{Limit, TorchFile, WeightsErrorKind};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the bytes allocated now and at most since the last reset.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// A global allocator is an unsafe trait; this test needs one to measure peak memory.
#[allow(unsafe_code)]
// SAFETY: every call is forwarded to the system allocator unchanged; the counters are only
// bookkeeping beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout, as the trait requires of the caller.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from `alloc` above with this layout.
        unsafe { System.dealloc(pointer, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests of this file measure memory one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `f` and returns its result with the most memory it held above what was held before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = f();
    (result, PEAK.load(Ordering::Relaxed).saturating_sub(before))
}

/// Memory a refusal may take beyond the file's own bytes, for a pickle that does not run into
/// a resource limit: the readers' small buffers.
const SMALL: usize = 4 << 20;
/// The most a pickle can make the reader hold by running into its limits (objects of 32 bytes,
/// containers, memo, stack), beyond the file's own bytes: the design says about 50 MB.
const LIMITS: usize = 64 << 20;

/// A checkpoint whose `data.pkl` is `pickle`, beside one genuine storage `0`.
fn archive(pickle: Vec<u8>) -> Vec<u8> {
    zip_archive(
        &torch_records("archive", pickle, &[("0".into(), vec![0u8; 64])]),
        false,
    )
}

/// A GLOBAL opcode.
fn global(module: &str, name: &str) -> Vec<u8> {
    [b"c", module.as_bytes(), b"\n", name.as_bytes(), b"\n"].concat()
}

fn unicode(text: &str) -> Vec<u8> {
    [
        b"X".as_slice(),
        &(text.len() as u32).to_le_bytes(),
        text.as_bytes(),
    ]
    .concat()
}

/// The command a payload would run: it creates the marker file.
fn touch(marker: &Path) -> String {
    format!("touch {}", marker.display())
}

struct Hostile {
    what: &'static str,
    bytes: Vec<u8>,
    kind: WeightsErrorKind,
    words: &'static [&'static str],
}

fn hostile_pickles(marker: &Path) -> Vec<Hostile> {
    let command = touch(marker);
    let mut cases = Vec::new();
    let mut add = |what, pickle: Vec<u8>, kind, words| {
        cases.push(Hostile {
            what,
            bytes: archive(pickle),
            kind,
            words,
        })
    };
    let call = |module: &str, name: &str, argument: &str| {
        [
            b"\x80\x02".as_slice(),
            &global(module, name),
            &unicode(argument),
            b"\x85R.",
        ]
        .concat()
    };
    add(
        "posix.system",
        call("posix", "system", &command),
        WeightsErrorKind::Refused,
        &["pickle calls posix.system — refused; nothing was run"],
    );
    add(
        "os.system",
        call("os", "system", &command),
        WeightsErrorKind::Refused,
        &["pickle calls os.system — refused"],
    );
    add(
        "builtins.eval",
        call(
            "builtins",
            "eval",
            &format!("__import__('os').system('{command}')"),
        ),
        WeightsErrorKind::Refused,
        &["pickle calls builtins.eval"],
    );
    add(
        "builtins.exec",
        call(
            "builtins",
            "exec",
            &format!("import os; os.system('{command}')"),
        ),
        WeightsErrorKind::Refused,
        &["pickle calls builtins.exec"],
    );
    // getattr(__import__('os'), 'system')('touch ...'), the chain a scanner of names misses.
    let chain = [
        b"\x80\x02".as_slice(),
        &global("builtins", "getattr"),
        &global("builtins", "__import__"),
        &unicode("os"),
        b"\x85R",
        &unicode("system"),
        b"\x86R",
        &unicode(&command),
        b"\x85R.",
    ]
    .concat();
    add(
        "a getattr chain",
        chain,
        WeightsErrorKind::Refused,
        &["pickle calls builtins.getattr"],
    );
    // Protocol 4 resolves dotted names through getattr: an allowlisted module is no way in.
    let dotted = [
        b"\x80\x04".as_slice(),
        &unicode("collections"),
        &unicode("OrderedDict.__init__.__globals__"),
        b"\x93.",
    ]
    .concat();
    add(
        "STACK_GLOBAL of a dotted attribute chain",
        dotted,
        WeightsErrorKind::Refused,
        &["pickle calls collections.OrderedDict.__init__.__globals__"],
    );
    add(
        "REDUCE on a storage class",
        [
            b"\x80\x02".as_slice(),
            &global("torch", "FloatStorage"),
            b")R.",
        ]
        .concat(),
        WeightsErrorKind::Refused,
        &["calls torch.FloatStorage"],
    );
    add(
        "REDUCE on a string",
        [b"\x80\x02".as_slice(), &unicode("posix.system"), b")R."].concat(),
        WeightsErrorKind::Refused,
        &["REDUCE to a string"],
    );
    add(
        "BUILD on a list",
        b"\x80\x02]}b.".to_vec(),
        WeightsErrorKind::Refused,
        &["BUILD to a list"],
    );
    add(
        "INST, the protocol-0 way to call a class",
        [b"(".as_slice(), b"iposix\nsystem\n."].concat(),
        WeightsErrorKind::Refused,
        &["opcode INST"],
    );
    add(
        "NEWOBJ",
        [
            b"\x80\x02".as_slice(),
            &global("collections", "OrderedDict"),
            b")\x81.",
        ]
        .concat(),
        WeightsErrorKind::Refused,
        &["opcode NEWOBJ"],
    );
    add(
        "EXT1, the extension registry",
        b"\x80\x02\x82\x01.".to_vec(),
        WeightsErrorKind::Refused,
        &["opcode EXT1"],
    );
    let persistent = |key: &str| {
        [
            b"\x80\x02(".as_slice(),
            &unicode("storage"),
            &global("torch", "FloatStorage"),
            &unicode(key),
            &unicode("cpu"),
            b"K\x10tQ.",
        ]
        .concat()
    };
    add(
        "a persistent id reaching outside the archive",
        persistent("../../../etc/passwd"),
        WeightsErrorKind::Refused,
        &["not an entry of this archive"],
    );
    add(
        "a persistent id naming a storage the archive lacks",
        persistent("7"),
        WeightsErrorKind::Refused,
        &["storage \"7\""],
    );
    add(
        "a persistent id of another kind",
        [b"\x80\x02".as_slice(), &unicode("module"), b"\x85Q."].concat(),
        WeightsErrorKind::Refused,
        &["persistent id \"module\""],
    );
    add(
        "PERSID, the text form of a persistent id",
        b"Pfile:///etc/passwd\n.".to_vec(),
        WeightsErrorKind::Refused,
        &["opcode PERSID"],
    );
    cases
}

fn limit_pickles() -> Vec<(&'static str, Vec<u8>, Limit)> {
    vec![
        ("a million MARKs", vec![b'('; 1 << 20], Limit::MarkDepth),
        (
            "a memo index of four billion",
            [b"\x80\x02N".as_slice(), b"r\xf0\xff\xff\xff."].concat(),
            Limit::Memo,
        ),
        (
            "a string of 2^60 bytes",
            [b"\x80\x04\x8d".as_slice(), &(1u64 << 60).to_le_bytes()].concat(),
            Limit::StringLength,
        ),
        (
            "a string of 2 GB in a small file",
            [b"X".as_slice(), &0x7fff_ffffu32.to_le_bytes()].concat(),
            Limit::StringLength,
        ),
        (
            "70,000 Nones on the stack",
            vec![b'N'; 70_000],
            Limit::StackDepth,
        ),
        (
            "five million PROTO opcodes",
            b"\x80\x02".repeat(5 << 20),
            Limit::Opcodes,
        ),
        (
            "a list of a million new objects",
            [b"]".as_slice(), &b"K\x01a".repeat(1 << 20)].concat(),
            Limit::Objects,
        ),
        (
            "a list of a million copies of one object",
            [b"K\x01q\x00]".as_slice(), &b"h\x00a".repeat(1 << 20)].concat(),
            Limit::ContainerSize,
        ),
        (
            "a tensor of 40 dimensions",
            [
                b"\x80\x02".as_slice(),
                &global("torch._utils", "_rebuild_tensor"),
                b"((",
                &unicode("storage"),
                &global("torch", "FloatStorage"),
                &unicode("0"),
                &unicode("cpu"),
                b"K\x10tQK\x00(",
                &b"K\x01".repeat(40),
                b"t(",
                &b"K\x01".repeat(40),
                b"ttR.",
            ]
            .concat(),
            Limit::Dimensions,
        ),
    ]
}

fn check_refused(
    dir: &Path,
    what: &str,
    bytes: &[u8],
    bound: usize,
    check: impl Fn(&mother::weights::WeightsError),
) {
    let path = dir.join("pytorch_model.bin");
    std::fs::write(&path, bytes).unwrap();
    let (result, peak) = peak_during(|| TorchFile::open(&path));
    let error = result.expect_err(what);
    println!("{what}: {error} ({peak} bytes)");
    check(&error);
    assert!(
        peak < bound + bytes.len(),
        "{what}: took {peak} bytes for a {}-byte file",
        bytes.len()
    );
}

#[test]
fn hostile_pickles_are_refused_each_with_its_reason_and_nothing_runs() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let cases = hostile_pickles(&marker);
    assert!(cases.len() >= 15);
    for case in &cases {
        check_refused(dir.path(), case.what, &case.bytes, SMALL, |error| {
            assert_eq!(error.kind, case.kind, "{}: {error}", case.what);
            for word in case.words {
                assert!(error.reason.contains(word), "{}: {error}", case.what);
            }
            if case.kind == WeightsErrorKind::Refused {
                assert!(error.reason.contains("nothing was run"), "{}", case.what);
            }
        });
    }
    assert!(!marker.exists(), "a payload ran");
}

#[test]
fn pickles_built_to_exhaust_the_reader_hit_their_own_limit_in_bounded_memory() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    for (what, pickle, limit) in limit_pickles() {
        check_refused(
            dir.path(),
            what,
            &archive(pickle.clone()),
            LIMITS,
            |error| {
                assert_eq!(
                    error.kind,
                    WeightsErrorKind::Limit(limit),
                    "{what}: {error}"
                );
            },
        );
        // The pickle reader alone, without the archive, stops at the same limit.
        let (result, peak) = peak_during(|| read_state_dict(&pickle, &|_| true));
        let (kind, _) = result.expect_err(what);
        assert_eq!(kind, WeightsErrorKind::Limit(limit), "{what}");
        assert!(peak < LIMITS, "{what}: {peak} bytes");
    }
}

/// A valid checkpoint's records, changed by `change`.
fn records(change: impl Fn(&mut Vec<Record>)) -> Vec<Record> {
    let model = [PtTensor::f32("w", &[4, 4], &[0.5; 16])];
    let (pickle, keys) = state_dict_pickle(&model);
    let mut records = torch_records("archive", pickle, &storages(&model, &keys));
    change(&mut records);
    records
}

/// Sets the size fields of the entry called `name` in the central directory of `zip`.
fn declare_size(zip: &mut [u8], name: &str, size: u32) {
    let mut at = 0;
    while let Some(found) = zip[at..]
        .windows(4)
        .position(|w| w == 0x0201_4b50u32.to_le_bytes())
    {
        let start = at + found;
        let name_len = u16::from_le_bytes([zip[start + 28], zip[start + 29]]) as usize;
        if &zip[start + 46..start + 46 + name_len] == name.as_bytes() {
            zip[start + 20..start + 24].copy_from_slice(&size.to_le_bytes());
            zip[start + 24..start + 28].copy_from_slice(&size.to_le_bytes());
            return;
        }
        at = start + 4;
    }
    panic!("{name} not in the directory");
}

#[test]
fn zip_bombs_and_escaping_names_are_refused_unread() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();

    let mut huge = zip_archive(&records(|_| {}), false);
    declare_size(&mut huge, "archive/data/0", u32::MAX - 1);
    check_refused(dir.path(), "an entry declaring 4 GB", &huge, SMALL, |e| {
        assert!(e.reason.contains("zip bomb"), "{e}");
    });

    let mut big_pickle = zip_archive(&records(|_| {}), false);
    let len = big_pickle.len() as u32;
    declare_size(&mut big_pickle, "archive/data.pkl", len - 100);
    let what = "a data.pkl running into the directory";
    check_refused(dir.path(), what, &big_pickle, SMALL, |e| {
        assert_eq!(e.kind, WeightsErrorKind::BadArchive, "{e}");
    });

    let deflated = zip_archive(
        &records(|records| {
            for record in records.iter_mut() {
                if record.name.ends_with("data.pkl") {
                    record.method = 8;
                }
            }
        }),
        false,
    );
    check_refused(dir.path(), "a deflated data.pkl", &deflated, SMALL, |e| {
        assert_eq!(e.kind, WeightsErrorKind::Compressed, "{e}");
    });

    for name in [
        "archive/../../evil",
        "/etc/cron.d/evil",
        "archive\\..\\evil",
        "C:/evil",
    ] {
        let bytes = zip_archive(
            &records(|records| records.push(Record::stored(name, b"payload".to_vec()))),
            false,
        );
        check_refused(dir.path(), name, &bytes, SMALL, |e| {
            assert_eq!(e.kind, WeightsErrorKind::UnsafeEntryName, "{e}");
            assert!(e.reason.contains("points outside the archive"), "{e}");
        });
    }

    let mut many = zip_archive(&records(|_| {}), true);
    let end = many
        .windows(4)
        .rposition(|w| w == 0x0606_4b50u32.to_le_bytes())
        .expect("a ZIP64 end record");
    for field in [end + 24, end + 32] {
        many[field..field + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    }
    check_refused(
        dir.path(),
        "a directory of 2^40 entries",
        &many,
        SMALL,
        |e| {
            assert_eq!(e.kind, WeightsErrorKind::Limit(Limit::ZipEntries), "{e}");
        },
    );

    // One storage viewed over and over: reading it would cost far more than the file.
    let views: Vec<PtTensor> = (0..40)
        .map(|i| {
            let mut view = PtTensor::f32(&format!("view{i}"), &[256], &[0.5; 256]);
            view.storage = Some("one");
            view
        })
        .collect();
    let bytes = common::torch_writer::torch_save("archive", &views);
    check_refused(dir.path(), "40 views of one storage", &bytes, SMALL, |e| {
        assert_eq!(e.kind, WeightsErrorKind::Limit(Limit::ViewedBytes), "{e}");
    });

    // The overlapping-files bomb: storage 0's entry quotes storage 1's whole local record, so
    // both name the same bytes; two tensors read them.
    let model = [
        PtTensor::f32("a", &[4, 4], &[0.5; 16]),
        PtTensor::f32("b", &[4, 4], &[0.25; 16]),
    ];
    let (pickle, keys) = state_dict_pickle(&model);
    let honest = zip_archive(
        &torch_records("archive", pickle, &storages(&model, &keys)),
        false,
    );
    let bomb = quote_next_record(&honest, "archive/data/0", "archive/data/1");
    check_refused(dir.path(), "overlapping entries", &bomb, SMALL, |e| {
        assert!(e.reason.contains("share bytes"), "{e}");
    });
}

/// Grows entry `outer`'s declared size so that its data runs over the local record of `inner`
/// that follows it (the data is already there: the records are adjacent).
fn quote_next_record(zip: &[u8], outer: &str, inner: &str) -> Vec<u8> {
    let find_local = |name: &str| {
        let mut at = 0;
        loop {
            let start = at
                + zip[at..]
                    .windows(4)
                    .position(|w| w == 0x0403_4b50u32.to_le_bytes())
                    .expect("local header");
            let name_len = u16::from_le_bytes([zip[start + 26], zip[start + 27]]) as usize;
            let extra_len = u16::from_le_bytes([zip[start + 28], zip[start + 29]]) as usize;
            if &zip[start + 30..start + 30 + name_len] == name.as_bytes() {
                return (start, start + 30 + name_len + extra_len);
            }
            at = start + 4;
        }
    };
    let (_, outer_data) = find_local(outer);
    let (inner_header, inner_data) = find_local(inner);
    let inner_size = 64;
    let quoted = (inner_data + inner_size - outer_data) as u32;
    let mut bomb = zip.to_vec();
    assert!(inner_header > outer_data);
    declare_size(&mut bomb, outer, quoted);
    bomb
}
