//! The fingerprint cache: round trip, invalidation by size and mtime, damaged entries, and
//! concurrent writers.

use mother::discover::WeightFile;
use mother::measure::{
    CacheKey, Fingerprint, FingerprintCache, Moments, RoundedHashes, Sketch, TensorFingerprint,
    TensorHead,
};
use mother::weights::FloatDtype;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

fn file(size: u64, mtime_secs: u64) -> WeightFile {
    WeightFile {
        path: PathBuf::from("/models/m/model.safetensors"),
        resolved: PathBuf::from("/models/blobs/abc"),
        bytes: size,
        modified: Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(mtime_secs * 1_000_000_007)),
        format: mother::weights::Format::Safetensors,
    }
}

fn fingerprint(seed: f32) -> Fingerprint {
    let tensor = |name: &str, rows: u32, cols: u32| TensorFingerprint {
        name: name.into(),
        shape: vec![rows as usize * 3, cols as usize * 5],
        dtype: FloatDtype::BF16,
        quantized: None,
        moments: Moments {
            count: 12345,
            mean: -0.001 * seed as f64,
            m2: 3.25,
            m3: -0.5,
            m4: 17.0 + seed as f64,
        },
        sum_sq: 3.5,
        content_hash: 0xdead_beef_0123_4567,
        rounded: RoundedHashes {
            bf16: None,
            f16: (seed > 1.0).then_some(0x0123_4567_89ab_cdef),
        },
        on_int8_grid: seed > 1.0,
        non_finite: 2,
        sketch: Sketch {
            rows,
            cols,
            values: (0..rows * cols).map(|i| i as f32 * seed - 0.5).collect(),
        },
        head: (rows == 64).then(|| TensorHead {
            rows: 128,
            moments: Moments {
                count: 640,
                mean: 0.25,
                m2: 1.5,
                m3: 0.125,
                m4: 9.0 * seed as f64,
            },
            sum_sq: 2.75,
            sketch: Sketch {
                rows,
                cols,
                values: (0..rows * cols).map(|i| i as f32 * seed + 0.5).collect(),
            },
        }),
    };
    Fingerprint {
        tensors: vec![tensor("a.weight", 64, 64), tensor("b.weight", 3, 7)],
        params: 987_654_321,
        bytes: 1_975_308_642,
        dtype: "BF16".into(),
    }
}

#[test]
fn round_trip_returns_the_same_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FingerprintCache::open(&dir.path().join("nested/fingerprints")).unwrap();
    let key = CacheKey::for_files(&[file(100, 5)]);
    assert_eq!(cache.get(&key), None);
    cache.put(&key, &fingerprint(1.5)).unwrap();
    assert_eq!(cache.get(&key), Some(fingerprint(1.5)));
    cache.put(&key, &fingerprint(0.5)).unwrap();
    assert_eq!(cache.get(&key), Some(fingerprint(0.5)), "put replaces");
    let entries = std::fs::read_dir(cache.dir()).unwrap().count();
    assert_eq!(entries, 1, "no temporary files are left behind");
}

#[test]
fn changed_size_mtime_or_file_list_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FingerprintCache::open(dir.path()).unwrap();
    cache
        .put(&CacheKey::for_files(&[file(100, 5)]), &fingerprint(1.0))
        .unwrap();
    assert!(cache.get(&CacheKey::for_files(&[file(100, 5)])).is_some());
    assert!(
        cache.get(&CacheKey::for_files(&[file(101, 5)])).is_none(),
        "size"
    );
    assert!(
        cache.get(&CacheKey::for_files(&[file(100, 6)])).is_none(),
        "mtime"
    );
    let mut nudged = file(100, 5);
    nudged.modified = nudged.modified.map(|t| t + Duration::from_nanos(1));
    assert!(
        cache.get(&CacheKey::for_files(&[nudged])).is_none(),
        "one nanosecond"
    );
    let mut moved = file(100, 5);
    moved.resolved = PathBuf::from("/models/blobs/abd");
    assert!(cache.get(&CacheKey::for_files(&[moved])).is_none(), "path");
    assert!(
        cache
            .get(&CacheKey::for_files(&[file(100, 5), file(7, 1)]))
            .is_none(),
        "shards"
    );
}

#[test]
fn garbage_and_truncated_entries_are_misses_and_get_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FingerprintCache::open(dir.path()).unwrap();
    let key = CacheKey::for_files(&[file(100, 5)]);
    let entry = cache.entry_path(&key);

    std::fs::write(&entry, b"not a cache entry at all").unwrap();
    assert_eq!(cache.get(&key), None);
    cache.put(&key, &fingerprint(2.0)).unwrap();
    assert_eq!(cache.get(&key), Some(fingerprint(2.0)));

    let whole = std::fs::read(&entry).unwrap();
    for cut in [0, 7, 12, 40, whole.len() / 2, whole.len() - 1] {
        std::fs::write(&entry, &whole[..cut]).unwrap();
        assert_eq!(cache.get(&key), None, "truncated to {cut} bytes");
    }
    let mut flipped = whole.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    std::fs::write(&entry, &flipped).unwrap();
    assert_eq!(cache.get(&key), None, "checksum catches a flipped bit");
    let mut other_version = whole.clone();
    other_version[8] = other_version[8].wrapping_add(1);
    std::fs::write(&entry, &other_version).unwrap();
    assert_eq!(cache.get(&key), None, "another format version");

    cache.put(&key, &fingerprint(3.0)).unwrap();
    assert_eq!(cache.get(&key), Some(fingerprint(3.0)));
}

#[test]
fn an_entry_stored_under_another_key_is_not_returned() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FingerprintCache::open(dir.path()).unwrap();
    let key = CacheKey::for_files(&[file(100, 5)]);
    let other = CacheKey::for_files(&[file(200, 9)]);
    cache.put(&other, &fingerprint(1.0)).unwrap();
    // Simulate a file-name hash collision: the other key's entry sits at this key's name.
    std::fs::rename(cache.entry_path(&other), cache.entry_path(&key)).unwrap();
    assert_eq!(cache.get(&key), None);
}

#[test]
fn concurrent_puts_leave_one_whole_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FingerprintCache::open(dir.path()).unwrap();
    let key = CacheKey::for_files(&[file(100, 5)]);
    std::thread::scope(|scope| {
        for writer in 0..8 {
            let (cache, key) = (&cache, &key);
            scope.spawn(move || {
                for round in 0..20 {
                    cache
                        .put(key, &fingerprint((writer * 20 + round) as f32))
                        .unwrap();
                    assert!(cache.get(key).is_some(), "readers always see a whole entry");
                }
            });
        }
    });
    let got = cache.get(&key).expect("a whole entry survives");
    let seed = (got.tensors[0].moments.m4 - 17.0) as f32;
    assert_eq!(got, fingerprint(seed));
    assert_eq!(std::fs::read_dir(cache.dir()).unwrap().count(), 1);
}

/// Without `--cache-dir` the binary keeps fingerprints in `mother/fingerprints` under the
/// platform cache directory: `$XDG_CACHE_HOME`, else `$HOME/.cache` (Linux). Both are set here,
/// so the test checks where the entries land whatever the environment it runs in.
#[test]
#[cfg(target_os = "linux")]
fn the_default_dir_is_mother_fingerprints_in_the_platform_cache() {
    let models = tempfile::tempdir().unwrap();
    let dir = models.path().join("m");
    std::fs::create_dir_all(&dir).unwrap();
    let bytes: Vec<u8> = (0..32 * 32)
        .flat_map(|i| ((i as f32 * 0.61).sin()).to_le_bytes())
        .collect();
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![32, 32], &bytes)
        .unwrap();
    safetensors::serialize_to_file([("w", view)], None, &dir.join("model.safetensors")).unwrap();

    let entries = |dir: &std::path::Path| std::fs::read_dir(dir).map_or(0, |d| d.count());
    let home = tempfile::tempdir().unwrap();
    let xdg = tempfile::tempdir().unwrap();
    for (xdg_cache_home, expected) in [
        (None, home.path().join(".cache/mother/fingerprints")),
        (Some(xdg.path()), xdg.path().join("mother/fingerprints")),
    ] {
        let mut scan = std::process::Command::new(env!("CARGO_BIN_EXE_mother"));
        scan.arg("scan").arg(models.path()).arg("--json");
        scan.env("HOME", home.path()).env_remove("XDG_CACHE_HOME");
        if let Some(path) = xdg_cache_home {
            scan.env("XDG_CACHE_HOME", path);
        }
        let output = scan.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        assert!(
            entries(&expected) > 0,
            "no fingerprint in {} (XDG_CACHE_HOME {xdg_cache_home:?})",
            expected.display()
        );
    }
}
