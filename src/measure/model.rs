//! The fingerprint of a whole model: open and validate every file (safetensors, PyTorch pickle
//! or GGUF, through one [`WeightSource`]), then run the fused pass over every 2-D tensor whose
//! values are read, in parallel (across tensors and files), with progress and cancellation.

use super::tensor::TensorAccumulator;
use super::{Fingerprint, MeasureError, TensorFingerprint};
use crate::discover::WeightFile;
use crate::weights::{Dtype, FloatDtype, RowOrder, TensorInfo, ValueDecoder, WeightSource};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

/// Fingerprints the model made of `files` (one file, or the shards of one model).
///
/// Calls `on_bytes(n)` as `n` bytes of tensor data are done (tensors that are not read, such as
/// 1-D ones, are reported at once), so the calls add up to [`Fingerprint::bytes`]. Returns
/// [`MeasureError::Cancelled`] soon after `cancel` is set (checked between chunks).
pub fn fingerprint_model(
    files: &[WeightFile],
    on_bytes: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Fingerprint, MeasureError> {
    let opened = files
        .iter()
        .map(|f| {
            WeightSource::open(&f.resolved, f.format).map_err(|mut e| {
                e.path = f.path.clone();
                e
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_unique_names(&opened, files)?;
    check_known_dtypes(&opened, files)?;

    let mut params = 0u64;
    let mut bytes = 0u64;
    let mut params_by_dtype: HashMap<&str, u64> = HashMap::new();
    let mut jobs: Vec<(usize, &TensorInfo, FloatDtype)> = Vec::new();
    for (index, file) in opened.iter().enumerate() {
        for tensor in file.tensors() {
            params += tensor.numel();
            bytes += tensor.byte_len();
            *params_by_dtype.entry(tensor.dtype.name()).or_default() += tensor.numel();
            match fingerprinted_dtype(tensor) {
                Some(dtype) => jobs.push((index, tensor, dtype)),
                None => on_bytes(tensor.byte_len()),
            }
        }
    }
    // Largest first, so the long tensors start early and the small ones fill in behind them.
    jobs.sort_by_key(|(_, t, _)| std::cmp::Reverse(t.byte_len()));

    let mut tensors = jobs
        .par_iter()
        .map_init(Vec::new, |buffer, &(index, tensor, dtype)| {
            let file = &opened[index];
            fingerprint_tensor(file, tensor, dtype, buffer, on_bytes, cancel).map_err(|e| match e {
                MeasureError::Weights(mut w) => {
                    w.path = files[index].path.clone();
                    MeasureError::Weights(w)
                }
                other => other,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    tensors.sort_by(|a, b| a.name.cmp(&b.name));

    let dtype = params_by_dtype
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map_or_else(|| "none".to_string(), |(name, _)| name.to_string());
    Ok(Fingerprint {
        tensors,
        params,
        bytes,
        dtype,
    })
}

/// Only 2-D tensors whose values are read (floats, and GGUF block types) carry a fingerprint;
/// the rest count to the totals. The dtype is the precision of the values once decoded.
fn fingerprinted_dtype(tensor: &TensorInfo) -> Option<FloatDtype> {
    if tensor.shape.len() == 2 {
        tensor.dtype.value_dtype()
    } else {
        None
    }
}

fn check_unique_names(opened: &[WeightSource], files: &[WeightFile]) -> Result<(), MeasureError> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, file) in opened.iter().enumerate() {
        let names = file
            .tensors()
            .iter()
            .map(|t| t.name.as_str())
            .chain(file.unreadable().iter().map(|u| u.name.as_str()));
        for name in names {
            if let Some(&first) = seen.get(name) {
                return Err(MeasureError::DuplicateTensor {
                    name: name.to_string(),
                    first: files[first].path.clone(),
                    second: files[index].path.clone(),
                });
            }
            seen.insert(name, index);
        }
    }
    Ok(())
}

fn check_known_dtypes(opened: &[WeightSource], files: &[WeightFile]) -> Result<(), MeasureError> {
    for (file, weight_file) in opened.iter().zip(files) {
        if let Some(unreadable) = file.unreadable().first() {
            return Err(MeasureError::UnknownDtype {
                path: weight_file.path.clone(),
                tensor: unreadable.name.clone(),
                reason: unreadable.reason.clone(),
            });
        }
    }
    Ok(())
}

/// Streams one 2-D tensor through the fused pass: plain floats stored in order are decoded by
/// the pass itself; block types and re-ordered rows go through a [`ValueDecoder`], and the
/// content hash still covers the stored bytes.
fn fingerprint_tensor(
    file: &WeightSource,
    tensor: &TensorInfo,
    dtype: FloatDtype,
    buffer: &mut Vec<u8>,
    on_bytes: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<TensorFingerprint, MeasureError> {
    let (rows, cols) = (tensor.shape[0], tensor.shape[1]);
    let mut accumulator = TensorAccumulator::new(dtype, rows, cols);
    let in_order = tensor.dtype.float().is_some() && tensor.row_order == RowOrder::AsStored;
    let mut decoder = if in_order {
        None
    } else {
        if let Dtype::Quantized(quantized) = tensor.dtype {
            accumulator = accumulator.quantized_from(quantized);
        }
        Some(ValueDecoder::new(tensor))
    };
    file.for_each_chunk(tensor, buffer, |chunk| {
        if cancel.load(Ordering::Relaxed) {
            return Err(MeasureError::Cancelled);
        }
        match &mut decoder {
            None => accumulator.push_bytes(chunk),
            Some(decoder) => {
                accumulator.hash_stored(chunk);
                decoder.push(chunk, &mut |values: &[f32]| accumulator.push_values(values));
            }
        }
        on_bytes(chunk.len() as u64);
        Ok(())
    })?;
    if let Some(decoder) = &mut decoder {
        decoder.finish(&mut |values: &[f32]| accumulator.push_values(values));
    }
    Ok(accumulator.finish(&tensor.name, &tensor.shape))
}
