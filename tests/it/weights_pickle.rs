//! The PyTorch reader on checkpoints laid out exactly as `torch.save` writes them (see
//! `common/torch_writer.rs`): what it lists, that a pickle and a safetensors copy of one model
//! fingerprint alike, sharded checkpoints, and the files it refuses with a reason (the legacy
//! layout, compressed or encrypted records, big-endian data, non-contiguous tensors, archives
//! cut short).

use crate::common;

use common::formats::{
    f32_bytes, fingerprint, fingerprint_file, values, weight_file, write_safetensors,
};
use common::torch_writer::{
    PtTensor, Record, contiguous_strides, state_dict_pickle, storages, torch_records, torch_save,
    zip_archive,
};
use mother::discover::discover;
use mother::weights::{Dtype, FloatDtype, Format, TorchFile, WeightsError, WeightsErrorKind};
use std::fs;
use std::path::Path;

fn open_bytes(dir: &Path, bytes: &[u8]) -> Result<TorchFile, WeightsError> {
    let path = dir.join("pytorch_model.bin");
    fs::write(&path, bytes).unwrap();
    TorchFile::open(&path)
}

fn stored_bytes(file: &TorchFile, name: &str) -> Vec<u8> {
    let tensor = file
        .tensors()
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} not listed"));
    let mut out = Vec::new();
    let mut buffer = Vec::new();
    file.for_each_chunk(tensor, &mut buffer, |chunk| -> Result<(), WeightsError> {
        out.extend_from_slice(chunk);
        Ok(())
    })
    .unwrap();
    out
}

/// A small model: two matrices, a bias, a tied head that shares the embedding's storage, and
/// an integer buffer, as a transformers state dict holds them.
fn small_model() -> Vec<PtTensor> {
    let mut embed = PtTensor::f32("model.embed_tokens.weight", &[16, 8], &values(128, 1));
    embed.storage = Some("embed");
    let mut head = embed.clone();
    head.name = "lm_head.weight".into();
    vec![
        embed,
        PtTensor::f32(
            "model.layers.0.mlp.up_proj.weight",
            &[24, 8],
            &values(192, 2),
        ),
        PtTensor::f32("model.layers.0.mlp.up_proj.bias", &[24], &values(24, 3)),
        head,
        PtTensor::raw(
            "model.position_ids",
            "LongStorage",
            &[1, 16],
            (0..16i64).flat_map(|i| i.to_le_bytes()).collect(),
        ),
    ]
}

#[test]
fn a_torch_save_state_dict_lists_every_tensor_with_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model();
    let file = open_bytes(dir.path(), &torch_save("pytorch_model", &model)).expect("opens");

    let names: Vec<&str> = file.tensors().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "lm_head.weight",
            "model.embed_tokens.weight",
            "model.layers.0.mlp.up_proj.bias",
            "model.layers.0.mlp.up_proj.weight",
            "model.position_ids",
        ]
    );
    for tensor in &model {
        let listed = file
            .tensors()
            .iter()
            .find(|t| t.name == tensor.name)
            .unwrap();
        assert_eq!(listed.shape, tensor.shape, "{}", tensor.name);
        assert_eq!(
            stored_bytes(&file, &tensor.name),
            tensor.bytes,
            "{}",
            tensor.name
        );
    }
    let embed = &file.tensors()[1];
    let head = &file.tensors()[0];
    assert_eq!(embed.dtype, Dtype::Float(FloatDtype::F32));
    assert_eq!(
        (head.start, head.end),
        (embed.start, embed.end),
        "tied weights share bytes"
    );
    assert_eq!(embed.start % 64, 0, "torch aligns storages to 64 bytes");
    assert_eq!(file.tensors()[4].dtype.name(), "I64");
}

#[test]
fn pickle_and_safetensors_copies_fingerprint_alike_in_f32_f16_and_bf16() {
    let dir = tempfile::tempdir().unwrap();
    // 300 x 260 spans several read chunks and sketch folds; the 1-D bias is counted only.
    let w = values(300 * 260, 11);
    let v = values(64 * 300, 12);
    let bias = values(260, 13);
    for (class, dtype) in [
        ("F32", safetensors::Dtype::F32),
        ("F16", safetensors::Dtype::F16),
        ("BF16", safetensors::Dtype::BF16),
    ] {
        let tensor = |name: &str, shape: &[usize], values: &[f32]| match class {
            "F32" => PtTensor::f32(name, shape, values),
            "F16" => PtTensor::f16(name, shape, values),
            _ => PtTensor::bf16(name, shape, values),
        };
        let model = [
            tensor("layers.0.w", &[300, 260], &w),
            tensor("layers.0.v", &[64, 300], &v),
            tensor("layers.0.bias", &[260], &bias),
        ];
        let pickle = dir.path().join(format!("{class}.bin"));
        fs::write(&pickle, torch_save(class, &model)).unwrap();
        let twin = dir.path().join(format!("{class}.safetensors"));
        let entries: Vec<_> = model
            .iter()
            .map(|t| (t.name.as_str(), dtype, t.shape.clone(), t.bytes.clone()))
            .collect();
        write_safetensors(&twin, &entries);

        let from_pickle = fingerprint_file(&pickle, Format::Pickle);
        let from_safetensors = fingerprint_file(&twin, Format::Safetensors);
        assert_eq!(
            from_pickle, from_safetensors,
            "{class}: the whole fingerprint"
        );
        assert_eq!(from_pickle.tensors.len(), 2);
        assert_eq!(from_pickle.dtype, class);
    }
}

#[test]
fn sharded_pickles_found_through_their_index_fingerprint_like_the_whole_model() {
    let root = tempfile::tempdir().unwrap();
    let model = small_model();
    let (first, second) = model.split_at(3);
    // The tied head sits in the second shard: a storage is written into every shard that
    // uses it, as transformers does when it shards a state dict.
    let folder = root.path().join("sharded");
    fs::create_dir_all(&folder).unwrap();
    let shard_names = [
        "pytorch_model-00001-of-00002.bin",
        "pytorch_model-00002-of-00002.bin",
    ];
    let mut weight_map = serde_json::Map::new();
    for (shard, tensors) in shard_names.iter().zip([first, second]) {
        let archive = shard.trim_end_matches(".bin");
        fs::write(folder.join(shard), torch_save(archive, tensors)).unwrap();
        for tensor in tensors {
            weight_map.insert(tensor.name.clone(), (*shard).into());
        }
    }
    fs::write(
        folder.join("pytorch_model.bin.index.json"),
        serde_json::json!({"metadata": {"total_size": 1}, "weight_map": weight_map}).to_string(),
    )
    .unwrap();
    let whole = root.path().join("whole");
    fs::create_dir_all(&whole).unwrap();
    fs::write(
        whole.join("pytorch_model.bin"),
        torch_save("pytorch_model", &model),
    )
    .unwrap();

    let found = discover(root.path()).unwrap();

    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    let ids: Vec<&str> = found.models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["sharded", "whole"]);
    assert!(found.models.iter().all(|m| m.format == Format::Pickle));
    assert_eq!(found.models[0].weight_files.len(), 2);
    assert_eq!(
        fingerprint(&found.models[0].weight_files),
        fingerprint(&found.models[1].weight_files)
    );
}

#[test]
fn a_state_dict_of_more_than_a_thousand_tensors_is_read_across_setitems_batches() {
    let dir = tempfile::tempdir().unwrap();
    let model: Vec<PtTensor> = (0..1_100)
        .map(|i| PtTensor::f32(&format!("layers.{i}.weight"), &[2, 2], &values(4, i)))
        .collect();
    let file = open_bytes(dir.path(), &torch_save("archive", &model)).expect("opens");
    assert_eq!(file.tensors().len(), 1_100);
    assert_eq!(
        stored_bytes(&file, "layers.1099.weight"),
        f32_bytes(&values(4, 1099))
    );
}

#[test]
fn zip64_records_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model();
    let (pickle, keys) = state_dict_pickle(&model);
    let bytes = zip_archive(
        &torch_records("archive", pickle, &storages(&model, &keys)),
        true,
    );
    let file = open_bytes(dir.path(), &bytes).expect("a ZIP64 archive opens");
    assert_eq!(file.tensors().len(), model.len());
    assert_eq!(stored_bytes(&file, "lm_head.weight"), model[0].bytes);
}

#[test]
fn a_view_at_an_offset_of_a_shared_storage_reads_its_own_elements() {
    let dir = tempfile::tempdir().unwrap();
    let storage = values(40, 5);
    let mut first = PtTensor::f32("q.weight", &[4, 5], &storage);
    first.storage = Some("qk");
    let mut second = first.clone();
    second.name = "k.weight".into();
    second.offset = 20;
    let file = open_bytes(dir.path(), &torch_save("archive", &[first, second])).expect("opens");
    assert_eq!(stored_bytes(&file, "q.weight"), f32_bytes(&storage[..20]));
    assert_eq!(stored_bytes(&file, "k.weight"), f32_bytes(&storage[20..]));
}

fn refusal(bytes: &[u8]) -> WeightsError {
    let dir = tempfile::tempdir().unwrap();
    let error = open_bytes(dir.path(), bytes).expect_err("refused");
    println!("{error}");
    error
}

#[test]
fn the_legacy_layout_is_refused_with_the_fix() {
    // What torch < 1.6 wrote: the magic number pickled with protocol 2, then more pickles.
    let mut legacy = vec![
        0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, b'.',
    ];
    legacy.extend([0x80, 0x02, b'M', 0xe9, 0x03, b'.']);
    legacy.resize(200, 0);
    let error = refusal(&legacy);
    assert_eq!(error.kind, WeightsErrorKind::LegacyFormat);
    assert!(error.reason.contains("before torch 1.6"), "{error}");
    assert!(error.reason.contains("save it again"), "{error}");
    assert!(error.reason.contains("safetensors"), "{error}");

    let error = refusal(b"not a checkpoint at all, just some text of some length");
    assert_eq!(error.kind, WeightsErrorKind::BadArchive);
}

fn with_pickle_record(model: &[PtTensor], change: impl Fn(&mut Record)) -> Vec<u8> {
    let (pickle, keys) = state_dict_pickle(model);
    let mut records = torch_records("archive", pickle, &storages(model, &keys));
    for record in &mut records {
        change(record);
    }
    zip_archive(&records, false)
}

#[test]
fn compressed_and_encrypted_records_are_refused_unread() {
    let model = small_model();
    let compressed = with_pickle_record(&model, |r| {
        if r.name.ends_with("data/0") {
            r.method = 8;
        }
    });
    let error = refusal(&compressed);
    assert_eq!(error.kind, WeightsErrorKind::Compressed);
    assert!(error.reason.contains("compressed (method 8)"), "{error}");

    let encrypted = with_pickle_record(&model, |r| {
        if r.name.ends_with("data.pkl") {
            r.flags = 1;
        }
    });
    assert_eq!(refusal(&encrypted).kind, WeightsErrorKind::Compressed);

    // A record torch does not need may be compressed: it is never read.
    let odd = with_pickle_record(&model, |r| {
        if r.name.ends_with("/version") {
            r.method = 8;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    assert!(open_bytes(dir.path(), &odd).is_ok());
}

#[test]
fn big_endian_checkpoints_are_refused() {
    let bytes = with_pickle_record(&small_model(), |r| {
        if r.name.ends_with("byteorder") {
            r.data = b"big".to_vec();
        }
    });
    let error = refusal(&bytes);
    assert!(error.reason.contains("\"big\" byte order"), "{error}");
}

#[test]
fn non_contiguous_tensors_are_refused_with_the_fix() {
    // A transposed view: shape [4, 5] with strides (1, 4) instead of (5, 1).
    let tensor = PtTensor::f32("w", &[4, 5], &values(20, 1));
    let (mut pickle, keys) = state_dict_pickle(std::slice::from_ref(&tensor));
    let contiguous = [b'K', 5, b'K', 1, 0x86];
    let transposed = [b'K', 1, b'K', 4, 0x86];
    let at = pickle
        .windows(5)
        .position(|w| w == contiguous)
        .expect("the stride tuple");
    assert_eq!(contiguous_strides(&[4, 5]), [5, 1]);
    pickle[at..at + 5].copy_from_slice(&transposed);
    let bytes = zip_archive(
        &torch_records("archive", pickle, &storages(&[tensor], &keys)),
        false,
    );
    let error = refusal(&bytes);
    assert_eq!(error.kind, WeightsErrorKind::NonContiguous);
    assert!(error.reason.contains("[1, 4]"), "{error}");
    assert!(error.reason.contains(".contiguous()"), "{error}");
}

#[test]
fn archives_cut_short_or_missing_records_give_specific_errors() {
    let whole = torch_save("archive", &small_model());
    let error = refusal(&whole[..whole.len() - 30]);
    assert_eq!(error.kind, WeightsErrorKind::BadArchive);

    let no_pickle = with_pickle_record(&small_model(), |r| {
        if r.name.ends_with("data.pkl") {
            r.name = "archive/other.pkl".into();
        }
    });
    let error = refusal(&no_pickle);
    assert!(error.reason.contains("without a data.pkl"), "{error}");

    let no_storage = with_pickle_record(&small_model(), |r| {
        if r.name.ends_with("data/1") {
            r.name = "archive/data/77".into();
        }
    });
    let error = refusal(&no_storage);
    assert_eq!(error.kind, WeightsErrorKind::Refused);
    assert!(error.reason.contains("storage \"1\""), "{error}");

    let short_storage = with_pickle_record(&small_model(), |r| {
        if r.name.ends_with("data/1") {
            r.data.truncate(8);
        }
    });
    let error = refusal(&short_storage);
    assert!(error.reason.contains("fewer than its"), "{error}");
}

#[test]
fn a_checkpoint_cut_while_it_is_read_reports_that_it_shrank() {
    let dir = tempfile::tempdir().unwrap();
    let model = [PtTensor::f32("w", &[512, 1024], &values(512 * 1024, 9))];
    let path = dir.path().join("pytorch_model.bin");
    fs::write(&path, torch_save("archive", &model)).unwrap();
    let file = TorchFile::open(&path).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(4096))
        .unwrap();
    let mut buffer = Vec::new();
    let error = file
        .for_each_chunk(
            &file.tensors()[0],
            &mut buffer,
            |_| -> Result<(), WeightsError> { Ok(()) },
        )
        .expect_err("the file shrank");
    assert_eq!(error.kind, WeightsErrorKind::Shrank);
    assert_eq!(
        weight_file(&path, Format::Pickle).format,
        Format::Pickle,
        "weight files keep their format"
    );
}
