//! The bad-input corpus of issue #6, end to end through `engine::scan`: one hub repo per kind of
//! damage next to a few good models. Every damaged repo must be reported in `skipped` with a
//! reason that names the file and says what to do, the good models must all be kept, and the
//! forest over them must be the same as a scan of a cache that holds only the good models.
//! Nothing may be written inside the scanned tree, and no `.bin`/`.pt` beside safetensors
//! weights may be opened.

mod corpus;
mod scan;

use crate::header_differential;

use corpus::*;
use scan::{Forest, forest, run_scan, tree_digest};
use serde_json::json;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// One kind of damage: the repo that holds it, the file the message must name, and words the
/// reason must contain.
struct Case {
    what: &'static str,
    repo: PathBuf,
    file: &'static str,
    words: &'static [&'static str],
}

/// A valid header for one F32 4x4 tensor, for cases that damage only the data or the length.
const ONE_TENSOR: &str = r#"{"w":{"dtype":"F32","shape":[4,4],"data_offsets":[0,64]}}"#;

fn single_file_repo(cache: &Path, name: &str, bytes: Vec<u8>) -> PathBuf {
    hub_repo(cache, "bad", name, &[("model.safetensors".into(), bytes)]);
    repo_dir(cache, "bad", name)
}

/// Writes one repo per kind of damage into `cache`.
fn write_bad_cases(cache: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut case = |what, repo, file, words| {
        cases.push(Case {
            what,
            repo,
            file,
            words,
        })
    };

    let whole = safetensors(&matrix_tensors(&random_model(10)));
    let truncated = whole[..whole.len() / 2].to_vec();
    case(
        "truncated file",
        single_file_repo(cache, "truncated", truncated),
        "model.safetensors",
        &["truncated download?", "re-download bad/truncated"],
    );
    case(
        "header length beyond the file",
        single_file_repo(
            cache,
            "header-beyond-file",
            with_length_field(10_000, ONE_TENSOR.as_bytes(), &[0; 64]),
        ),
        "model.safetensors",
        &["header", "re-download"],
    );
    // The file is made sparse and longer than the claimed header, so that only the 100 MB cap
    // (not the file's end) can refuse it.
    let repo = single_file_repo(
        cache,
        "header-too-large",
        with_length_field(200_000_000, ONE_TENSOR.as_bytes(), &[0; 64]),
    );
    let blob = fs::read_dir(repo.join("blobs"))
        .expect("list blobs")
        .next()
        .expect("one blob")
        .expect("blob entry")
        .path();
    fs::OpenOptions::new()
        .write(true)
        .open(&blob)
        .and_then(|file| file.set_len(300_000_000))
        .expect("extend the blob");
    case(
        "header length above 100 MB",
        repo,
        "model.safetensors",
        &["header", "100"],
    );
    case(
        "header not JSON",
        single_file_repo(cache, "not-json", raw(r#"{"w": nope}"#, &[0; 64])),
        "model.safetensors",
        &["not valid JSON", "re-download"],
    );
    case(
        "header not UTF-8",
        single_file_repo(
            cache,
            "not-utf8",
            with_length_field(8, b"{\"\xff\xfe\":1}", &[0; 64]),
        ),
        "model.safetensors",
        &["not UTF-8", "re-download"],
    );
    case(
        "header root not an object",
        single_file_repo(cache, "not-object", raw("[1, 2, 3]", &[0; 64])),
        "model.safetensors",
        &[
            "holds an array where an object of tensors is expected",
            "re-download bad/not-object",
        ],
    );
    let two = |a: [u64; 2], b: [u64; 2]| {
        json!({
            "a": {"dtype": "F32", "shape": [16], "data_offsets": a},
            "b": {"dtype": "F32", "shape": [16], "data_offsets": b},
        })
        .to_string()
    };
    case(
        "overlapping offsets",
        single_file_repo(cache, "overlap", raw(&two([0, 64], [32, 96]), &[0; 96])),
        "model.safetensors",
        &["overlap"],
    );
    case(
        "gapped offsets",
        single_file_repo(cache, "gap", raw(&two([0, 64], [96, 160]), &[0; 160])),
        "model.safetensors",
        &["belong to no tensor"],
    );
    case(
        "offsets out of range",
        single_file_repo(cache, "out-of-range", raw(ONE_TENSOR, &[0; 32])),
        "model.safetensors",
        &["ends at byte 64", "holds only 32 bytes", "re-download"],
    );
    let mismatch = r#"{"w":{"dtype":"F32","shape":[4,4],"data_offsets":[0,32]}}"#;
    case(
        "shape and dtype do not match the byte length",
        single_file_repo(cache, "size-mismatch", raw(mismatch, &[0; 32])),
        "model.safetensors",
        &["64 bytes", "32"],
    );
    let mut unknown = matrix_tensors(&random_model(11));
    unknown.push(Tensor {
        name: "packed".into(),
        dtype: "Q4_K",
        shape: vec![4, 4],
        bytes: vec![0; 8],
    });
    case(
        "unknown dtype",
        single_file_repo(cache, "unknown-dtype", safetensors(&unknown)),
        "model.safetensors",
        &["Q4_K", "\"packed\"", "convert the tensor"],
    );
    let mut with_nan = random_model(12);
    with_nan[2][7] = f32::NAN;
    case(
        "NaN weights",
        single_file_repo(cache, "nan", safetensors(&matrix_tensors(&with_nan))),
        "model.safetensors",
        &["NaN or infinite", "layer0.v", "re-download"],
    );
    let mut with_inf = random_model(13);
    with_inf[0][0] = f32::INFINITY;
    case(
        "infinite weights",
        single_file_repo(cache, "inf", safetensors(&matrix_tensors(&with_inf))),
        "model.safetensors",
        &["NaN or infinite", "layer0.q"],
    );

    let mut sharded_nan = matrix_tensors(&random_model(16));
    sharded_nan[3].bytes[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
    let second = sharded_nan.split_off(2);
    hub_repo(
        cache,
        "bad",
        "nan-in-shard",
        &[
            (
                "model-00001-of-00002.safetensors".into(),
                safetensors(&sharded_nan),
            ),
            (
                "model-00002-of-00002.safetensors".into(),
                safetensors(&second),
            ),
            ("model.safetensors.index.json".into(), two_shard_index()),
        ],
    );
    case(
        "NaN weights in the second shard",
        repo_dir(cache, "bad", "nan-in-shard"),
        "model-00002-of-00002.safetensors",
        &[
            "NaN or infinite",
            "layer0.o",
            "re-download bad/nan-in-shard",
        ],
    );

    let shard = safetensors(&matrix_tensors(&random_model(14))[..2]);
    hub_repo(
        cache,
        "bad",
        "missing-shard",
        &[
            ("model-00001-of-00002.safetensors".into(), shard),
            ("model.safetensors.index.json".into(), two_shard_index()),
        ],
    );
    case(
        "shard named in the index but missing",
        repo_dir(cache, "bad", "missing-shard"),
        "model-00002-of-00002.safetensors",
        &["re-download"],
    );

    let snapshot = hub_repo(cache, "bad", "broken-link", &[]);
    link_into_blobs(&snapshot, "model.safetensors", "0123456789abcdef");
    case(
        "broken symlink",
        repo_dir(cache, "bad", "broken-link"),
        "model.safetensors",
        &["missing blob", "re-download bad/broken-link"],
    );

    let snapshot = hub_repo(cache, "bad", "link-loop", &[]);
    symlink("loop.safetensors", snapshot.join("model.safetensors")).expect("link");
    symlink("model.safetensors", snapshot.join("loop.safetensors")).expect("link");
    case(
        "symlink loop",
        repo_dir(cache, "bad", "link-loop"),
        "model.safetensors",
        &["link"],
    );

    hub_repo(
        cache,
        "bad",
        "incomplete",
        &[("config.json".into(), br#"{"model_type": "bert"}"#.to_vec())],
    );
    let repo = repo_dir(cache, "bad", "incomplete");
    fs::write(repo.join("blobs/a1b2c3d4.incomplete"), &whole[..100]).expect("write");
    case(
        ".incomplete download",
        repo,
        "a1b2c3d4.incomplete",
        &["download in progress or interrupted", "re-run the download"],
    );

    let repo = repo_dir(cache, "bad", "dangling-ref");
    fs::create_dir_all(repo.join("refs")).expect("create refs");
    fs::write(repo.join("refs/main"), "f".repeat(40)).expect("write ref");
    case(
        "ref pointing to a missing snapshot",
        repo,
        "main",
        &["no snapshot folder", "re-run the download"],
    );

    let snapshot = hub_repo(cache, "bad", "weights-fifo", &[]);
    fifo(&snapshot.join("model.safetensors"));
    case(
        "weights that are not a regular file (a FIFO: opening it would hang)",
        repo_dir(cache, "bad", "weights-fifo"),
        "model.safetensors",
        &["not a regular file"],
    );

    let snapshot = hub_repo(cache, "bad", "pickle-only", &[]);
    fifo(&snapshot.join("pytorch_model.bin"));
    fifo(&snapshot.join("model.pt"));
    case(
        "PyTorch pickle weights that are not a regular file (a FIFO: opening it would hang)",
        repo_dir(cache, "bad", "pickle-only"),
        "pytorch_model.bin",
        &["not a regular file"],
    );

    let name = OsStr::from_bytes(b"models--bad--caf\xe9");
    let repo = cache.join(name);
    let snapshot = repo.join("snapshots").join("e".repeat(40));
    fs::create_dir_all(&snapshot).expect("create snapshot");
    fs::write(
        snapshot.join("model.safetensors"),
        safetensors(&matrix_tensors(&random_model(15))),
    )
    .expect("write");
    case(
        "non-UTF-8 repo folder name",
        repo,
        "models--bad--caf",
        &["UTF-8"],
    );
    cases
}

/// The index of a model whose first two matrices are in shard 1 and the last two in shard 2.
fn two_shard_index() -> Vec<u8> {
    json!({"weight_map": {
        "layer0.q": "model-00001-of-00002.safetensors",
        "layer0.k": "model-00001-of-00002.safetensors",
        "layer0.v": "model-00002-of-00002.safetensors",
        "layer0.o": "model-00002-of-00002.safetensors",
    }})
    .to_string()
    .into_bytes()
}

/// Pickle files beside good safetensors models: they must be ignored, and never opened.
fn plant_fifos_beside_good_models(cache: &Path) {
    for (org, name, _) in good_models() {
        let snapshot = repo_dir(cache, org, name)
            .join("snapshots")
            .join(commit_of(org, name));
        fifo(&snapshot.join("pytorch_model.bin"));
    }
}

fn good_ids() -> Vec<String> {
    good_models()
        .iter()
        .map(|(org, name, _)| format!("{org}/{name}"))
        .collect()
}

#[test]
fn every_bad_case_is_skipped_with_its_file_and_fix_and_the_good_forest_does_not_move() {
    let bad = tempfile::tempdir().expect("tempdir");
    let clean = tempfile::tempdir().expect("tempdir");
    let cache_dir = tempfile::tempdir().expect("tempdir");
    write_good_models(bad.path());
    plant_fifos_beside_good_models(bad.path());
    let cases = write_bad_cases(bad.path());
    write_good_models(clean.path());

    let before = tree_digest(bad.path());
    let report = run_scan(bad.path(), Some(cache_dir.path()));
    assert_eq!(
        tree_digest(bad.path()),
        before,
        "the scan changed the scanned tree"
    );

    for skipped in &report.skipped {
        println!("{}\n    {}", skipped.path.display(), skipped.reason);
        // The line starts with the folder: a file in it is named relative to it.
        let folder = format!("{}/", skipped.path.display());
        assert!(
            !skipped.reason.contains(&folder),
            "the reason repeats the folder its line starts with: {}",
            skipped.reason
        );
    }
    for case in &cases {
        let found: Vec<_> = report
            .skipped
            .iter()
            .filter(|s| s.path.starts_with(&case.repo))
            .collect();
        assert!(
            !found.is_empty(),
            "{}: nothing under {} was reported as skipped",
            case.what,
            case.repo.display()
        );
        let fits = found.iter().any(|s| {
            let text = format!("{} {}", s.path.display(), s.reason);
            text.contains(case.file) && case.words.iter().all(|w| s.reason.contains(w))
        });
        assert!(
            fits,
            "{}: expected a reason naming {} with {:?}, got {:#?}",
            case.what, case.file, case.words, found
        );
    }
    let model_ids: Vec<&str> = report.models.iter().map(|m| m.entry.id.as_str()).collect();
    assert_eq!(model_ids, good_ids(), "exactly the good models are kept");
    let odd = &report.models[2];
    assert_eq!(odd.entry.id, "fam/tuned-b");
    assert_eq!(
        odd.fingerprint.params,
        (MATRICES.len() * SIDE * SIDE + 1 + SIDE) as u64,
        "the scalar and the 1-D tensor count, the zero-size one adds nothing"
    );
    assert!(
        report.models.iter().all(|m| !m.from_cache),
        "a fresh cache dir holds nothing"
    );

    let clean_report = run_scan(clean.path(), None);
    assert!(
        clean_report.skipped.is_empty(),
        "{:#?}",
        clean_report.skipped
    );
    let clean_forest = forest(&clean_report);
    assert_eq!(forest(&report), clean_forest);
    assert!(
        !clean_forest.edges.is_empty(),
        "the good models form at least one tree, so the comparison means something"
    );

    let again = run_scan(bad.path(), Some(cache_dir.path()));
    assert!(
        again.models.iter().all(|m| m.from_cache),
        "second scan reads from the cache"
    );
    assert_eq!(forest(&again), clean_forest);
    assert_eq!(again.skipped, report.skipped);
}

/// Every safetensors file of the corpus, damaged or good, through mother and the reference
/// reader (`safetensors`): mother refuses whatever the reference refuses, and both read the good
/// ones the same way.
#[test]
fn the_corpus_is_refused_wherever_the_reference_reader_refuses_it() {
    let cache = tempfile::tempdir().expect("tempdir");
    write_good_models(cache.path());
    let cases = write_bad_cases(cache.path());
    let mut files = Vec::new();
    let mut folders = vec![cache.path().to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("directory entry").path();
            let Ok(meta) = fs::metadata(&path) else {
                continue; // a dangling link, one of the cases
            };
            if meta.is_dir() && !fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink()) {
                folders.push(path);
            } else if meta.is_file()
                && path.extension().is_some_and(|ext| ext == "safetensors")
                // The 300 MB sparse file of the header cap: both readers refuse it by its first
                // eight bytes, but the reference wants the whole file in memory.
                && meta.len() < 64 << 20
                && fs::File::open(&path).is_ok()
            {
                files.push(path);
            }
        }
    }
    let mut verdicts = std::collections::BTreeMap::new();
    for path in &files {
        *verdicts
            .entry(header_differential::compare(path))
            .or_insert(0) += 1;
    }
    eprintln!(
        "bad_input: {} safetensors files against the reference reader: {verdicts:?}",
        files.len()
    );
    assert!(files.len() > cases.len() / 2, "{} files found", files.len());
    assert!(verdicts.contains_key(&header_differential::Verdict::BothRead));
    assert!(verdicts.contains_key(&header_differential::Verdict::BothRefuse));
}

/// The engine's report is empty and nothing is skipped; the binary turns that into exit status 4
/// and a message (tests/cli_headless.rs).
#[test]
fn an_empty_cache_gives_an_empty_report() {
    let cache = tempfile::tempdir().expect("tempdir");
    fs::write(cache.path().join("version.txt"), "1").expect("write");
    fs::create_dir(cache.path().join(".locks")).expect("create");
    let report = run_scan(cache.path(), None);
    assert!(report.models.is_empty());
    assert!(report.skipped.is_empty(), "{:#?}", report.skipped);
    assert_eq!(forest(&report), Forest::default());
}

#[test]
fn ten_thousand_small_files_beside_a_model_change_nothing() {
    let root = tempfile::tempdir().expect("tempdir");
    let model_dir = root.path().join("model");
    fs::create_dir(&model_dir).expect("create");
    fs::write(
        model_dir.join("model.safetensors"),
        safetensors(&matrix_tensors(&random_model(20))),
    )
    .expect("write");
    let clutter = root.path().join("clutter");
    fs::create_dir(&clutter).expect("create");
    // 100 files written, the other 9,900 hard links to them: the walker sees 10,000 small
    // regular files, and the test does not spend seconds writing them on a slow disk.
    for i in 0..10_000 {
        let path = clutter.join(format!("note-{i:05}.txt"));
        if i < 100 {
            fs::write(&path, i.to_string()).expect("write");
        } else {
            fs::hard_link(clutter.join(format!("note-{:05}.txt", i % 100)), &path).expect("link");
        }
    }
    let started = std::time::Instant::now();
    let report = run_scan(root.path(), None);
    println!("10,000-file tree scanned in {:?}", started.elapsed());
    let ids: Vec<&str> = report.models.iter().map(|m| m.entry.id.as_str()).collect();
    assert_eq!(ids, ["model"]);
    assert!(report.skipped.is_empty(), "{:#?}", report.skipped);
}

/// Permissions only bite for an unprivileged user: as root (CAP_DAC_OVERRIDE) a chmod 000 file
/// is still readable. So when the tests run as root, the binary is run as `nobody` through
/// `setpriv`, and the locked file and folder are then really unreadable to it.
#[test]
fn an_unreadable_file_and_folder_are_reported_and_the_rest_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().expect("tempdir");
    let open_to_all = |path: &Path| {
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod 755")
    };
    open_to_all(root.path());
    let model = |dir: &str, seed: u64| {
        let dir = root.path().join(dir);
        fs::create_dir(&dir).expect("create");
        open_to_all(&dir);
        let file = dir.join("model.safetensors");
        fs::write(&file, safetensors(&matrix_tensors(&random_model(seed)))).expect("write");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod 644");
        (dir, file)
    };
    model("good", 40);
    let (_, locked_file) = model("locked-file", 41);
    fs::set_permissions(&locked_file, fs::Permissions::from_mode(0o000)).expect("chmod 000");
    let (locked_folder, _) = model("locked-folder", 42);
    fs::set_permissions(&locked_folder, fs::Permissions::from_mode(0o000)).expect("chmod 000");

    let permissions_bite = fs::File::open(&locked_file).is_err();
    let mut command: Vec<&OsStr> = Vec::new();
    if !permissions_bite {
        assert!(
            Path::new("/usr/bin/setpriv").exists(),
            "running as root without setpriv: cannot drop privileges to test unreadable files"
        );
        command.extend(
            [
                "/usr/bin/setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ]
            .map(OsStr::new),
        );
        command.push(OsStr::new(env!("CARGO_BIN_EXE_mother")));
    }
    command.extend([
        OsStr::new("scan"),
        root.path().as_os_str(),
        OsStr::new("--json"),
        OsStr::new("--no-cache"),
    ]);
    let (code, stdout) = if permissions_bite {
        run_binary(&command)
    } else {
        run_program(&command)
    };
    fs::set_permissions(&locked_folder, fs::Permissions::from_mode(0o755)).expect("chmod back");

    assert_eq!(code, 3, "finished, something skipped");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    let ids: Vec<&str> = json["models"]
        .as_array()
        .expect("a models list")
        .iter()
        .map(|m| m["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids, ["good"]);
    let skipped = json["skipped"].as_array().expect("a skipped list");
    // A file's reason names it relative to the model folder on its line; a folder is the line.
    let reason_for = |needle: &Path| {
        skipped
            .iter()
            .find_map(|s| {
                let (path, reason) = (s["path"].as_str()?, s["reason"].as_str()?);
                let named = Path::new(path) == needle
                    || reason
                        .split(':')
                        .next()
                        .is_some_and(|file| Path::new(path).join(file) == needle);
                named.then(|| reason.to_string())
            })
            .unwrap_or_else(|| panic!("{} is not reported: {skipped:#?}", needle.display()))
    };
    let file_reason = reason_for(&locked_file);
    let folder_reason = reason_for(&locked_folder);
    println!("{file_reason}\n{folder_reason}");
    assert!(file_reason.contains("Permission denied") && file_reason.contains("chmod a+r"));
    assert!(folder_reason.contains("Permission denied") && folder_reason.contains("chmod a+rx"));
}

/// A weight file cut short while the engine streams it (positioned reads, never a mapping):
/// that model is skipped with a reason naming the file, the other model is kept, nothing hangs
/// and no SIGBUS kills the test.
#[test]
fn a_file_truncated_during_the_scan_fails_that_model_only() {
    use mother::engine::{Phase, ScanEvent, spawn_scan};
    let root = tempfile::tempdir().expect("tempdir");
    // 8 matrices of 2048 x 2048 F32 = 128 MB: far more than one progress step (4 MB), so the
    // file is cut while most of it is still unread.
    let big_dir = root.path().join("big");
    fs::create_dir(&big_dir).expect("create");
    // One random matrix stored eight times: the values do not matter here, only the size.
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(30);
    let matrix = random_matrix(&mut rng, 2048, 2048);
    let tensors: Vec<Tensor> = (0..8)
        .map(|i| Tensor::f32(&format!("m{i}"), &[2048, 2048], &matrix))
        .collect();
    let big_file = big_dir.join("model.safetensors");
    fs::write(&big_file, safetensors(&tensors)).expect("write");
    drop(tensors);
    let small_dir = root.path().join("small");
    fs::create_dir(&small_dir).expect("create");
    fs::write(
        small_dir.join("model.safetensors"),
        safetensors(&matrix_tensors(&random_model(31))),
    )
    .expect("write");

    let handle = spawn_scan(scan::options(root.path(), None));
    let mut big = None;
    let mut cut = false;
    let report = loop {
        let event = handle
            .events
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the scan hung after the file was cut");
        match event {
            ScanEvent::Discovered { models, .. } => {
                big = models.iter().position(|m| m.id == "big");
            }
            ScanEvent::Progress { model, .. } if Some(model) == big && !cut => {
                fs::OpenOptions::new()
                    .write(true)
                    .open(&big_file)
                    .and_then(|file| file.set_len(4096))
                    .expect("truncate the model file");
                cut = true;
            }
            ScanEvent::Phase {
                model,
                phase: Phase::Done,
            } if Some(model) == big && !cut => {
                panic!("the big model was read completely before it could be cut")
            }
            ScanEvent::Finished(report) => break *report,
            _ => {}
        }
    };
    assert!(cut, "no progress event came for the big model");
    let ids: Vec<&str> = report.models.iter().map(|m| m.entry.id.as_str()).collect();
    assert_eq!(ids, ["small"]);
    let [skipped] = report.skipped.as_slice() else {
        panic!("expected one skipped model, got {:#?}", report.skipped);
    };
    println!("{}", skipped.reason);
    assert_eq!(skipped.path, big_dir);
    assert!(skipped.reason.starts_with("model.safetensors: "));
    assert!(skipped.reason.contains("shrank while being read"));
}

/// Two scans at once on one cache directory (two threads, the same as two processes to the
/// cache's files): both reports and a third scan from the filled cache agree.
#[test]
fn two_scans_at_once_on_one_cache_agree() {
    let corpus = tempfile::tempdir().expect("tempdir");
    let cache_dir = tempfile::tempdir().expect("tempdir");
    write_good_models(corpus.path());
    let (first, second) = std::thread::scope(|scope| {
        let a = scope.spawn(|| run_scan(corpus.path(), Some(cache_dir.path())));
        let b = scope.spawn(|| run_scan(corpus.path(), Some(cache_dir.path())));
        (
            a.join().expect("first scan"),
            b.join().expect("second scan"),
        )
    });
    let third = run_scan(corpus.path(), Some(cache_dir.path()));
    assert!(third.models.iter().all(|m| m.from_cache));
    let fresh = run_scan(corpus.path(), None);
    for report in [&first, &second, &third] {
        assert_eq!(fingerprints(report), fingerprints(&fresh));
        assert_eq!(forest(report), forest(&fresh));
        assert!(report.skipped.is_empty(), "{:#?}", report.skipped);
    }
}

/// Every cache entry damaged (garbage, cut short, emptied) and unrelated garbage files beside
/// them: the scan reads the weights again and gets the same answer, and rewrites the entries.
#[test]
fn a_cache_full_of_garbage_still_gives_the_right_answer() {
    let corpus = tempfile::tempdir().expect("tempdir");
    let cache_dir = tempfile::tempdir().expect("tempdir");
    write_good_models(corpus.path());
    let fresh = run_scan(corpus.path(), None);
    run_scan(corpus.path(), Some(cache_dir.path()));

    let mut entries: Vec<PathBuf> = fs::read_dir(cache_dir.path())
        .expect("list the cache")
        .map(|entry| entry.expect("cache entry").path())
        .collect();
    entries.sort();
    assert_eq!(entries.len(), fresh.models.len(), "one entry per model");
    for (i, entry) in entries.iter().enumerate() {
        let bytes = fs::read(entry).expect("read entry");
        let damaged = match i % 4 {
            0 => b"not a fingerprint at all".repeat(40),
            1 => bytes[..bytes.len() / 2].to_vec(),
            2 => Vec::new(),
            _ => {
                let mut flipped = bytes.clone();
                let middle = flipped.len() / 2;
                flipped[middle] ^= 0x5a;
                flipped
            }
        };
        fs::write(entry, damaged).expect("damage entry");
    }
    for i in 0..50u8 {
        fs::write(cache_dir.path().join(format!("junk-{i}.fp")), [i; 300]).expect("write junk");
    }
    fs::create_dir(cache_dir.path().join("a-folder.fp")).expect("create");

    let rescanned = run_scan(corpus.path(), Some(cache_dir.path()));
    assert!(rescanned.models.iter().all(|m| !m.from_cache));
    assert_eq!(fingerprints(&rescanned), fingerprints(&fresh));
    assert_eq!(forest(&rescanned), forest(&fresh));
    assert!(rescanned.skipped.is_empty(), "{:#?}", rescanned.skipped);

    let from_cache = run_scan(corpus.path(), Some(cache_dir.path()));
    assert!(from_cache.models.iter().all(|m| m.from_cache));
    assert_eq!(fingerprints(&from_cache), fingerprints(&fresh));
}

fn fingerprints(
    report: &mother::engine::ScanReport,
) -> Vec<(String, mother::measure::Fingerprint)> {
    report
        .models
        .iter()
        .map(|m| (m.entry.id.clone(), m.fingerprint.clone()))
        .collect()
}

/// Runs the `mother` binary with `args` under the watchdog; returns its exit code and stdout.
fn run_binary(args: &[&OsStr]) -> (i32, String) {
    let mut command = vec![OsStr::new(env!("CARGO_BIN_EXE_mother"))];
    command.extend_from_slice(args);
    run_program(&command)
}

/// Runs `command` (program, then arguments) under the watchdog; returns its exit code and
/// stdout.
fn run_program(command: &[&OsStr]) -> (i32, String) {
    let args = &command[1..];
    let child = std::process::Command::new(command[0])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start mother");
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    let output = match receiver.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(output) => output.expect("wait for mother"),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
            panic!("mother {args:?} did not finish within 60 s");
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "mother panicked: {stderr}");
    let code = output
        .status
        .code()
        .expect("mother exited, not killed by a signal");
    (
        code,
        String::from_utf8(output.stdout).expect("UTF-8 stdout"),
    )
}

#[test]
fn the_binary_exits_3_with_the_skipped_list_on_bad_input_and_0_on_clean_input() {
    let bad = tempfile::tempdir().expect("tempdir");
    let clean = tempfile::tempdir().expect("tempdir");
    let cache_dir = tempfile::tempdir().expect("tempdir");
    write_good_models(bad.path());
    plant_fifos_beside_good_models(bad.path());
    let cases = write_bad_cases(bad.path());
    write_good_models(clean.path());
    let scan = |root: &Path| {
        run_binary(&[
            OsStr::new("scan"),
            root.as_os_str(),
            OsStr::new("--json"),
            OsStr::new("--cache-dir"),
            cache_dir.path().as_os_str(),
        ])
    };

    let (code, stdout) = scan(bad.path());
    assert_eq!(code, 3, "finished, something skipped");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    let skipped = json["skipped"].as_array().expect("a skipped list");
    for case in &cases {
        let repo = case.repo.to_string_lossy();
        assert!(
            skipped.iter().any(|s| {
                s["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(repo.as_ref()))
                    && s["reason"].as_str().is_some_and(|r| !r.is_empty())
            }),
            "{}: not in the JSON skipped list",
            case.what
        );
    }
    let ids: Vec<&str> = json["models"]
        .as_array()
        .expect("a models list")
        .iter()
        .map(|m| m["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids, good_ids());

    let (code, clean_stdout) = scan(clean.path());
    assert_eq!(code, 0, "all read");
    let clean_json: serde_json::Value =
        serde_json::from_str(&clean_stdout).expect("stdout is JSON");
    assert_eq!(clean_json["skipped"], json!([]));
    for key in ["edges", "roots", "unrelated", "duplicates"] {
        assert_eq!(json[key], clean_json[key], "{key} differ");
    }
}
