//! The fingerprint of a whole model: open and validate every file (safetensors, PyTorch pickle
//! or GGUF, through one [`WeightSource`]), then run the fused pass over every 2-D tensor whose
//! values are read, in parallel (across tensors and files), with progress and cancellation.
//! A layer packed by a quantisation (GPTQ, AWQ, bitsandbytes: `weights::packed`) is rebuilt
//! from its parts and measured as the matrix it stands for.

use super::tensor::TensorAccumulator;
use super::{Fingerprint, MeasureError, TensorFingerprint};
use crate::discover::WeightFile;
use crate::weights::packed::{self, MAX_PACKED_BYTES, PackedProblem};
use crate::weights::{
    Dtype, FloatDtype, PackedMatrix, Quantization, RowOrder, TensorInfo, ValueDecoder, WeightSource,
};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
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

    let listed: Vec<&[TensorInfo]> = opened.iter().map(WeightSource::tensors).collect();
    let packed = packed::find(&listed).map_err(|p| packing_error(p, &opened, files))?;
    let consumed: HashSet<(usize, &str)> = packed
        .consumed
        .iter()
        .map(|(file, name)| (*file, name.as_str()))
        .collect();
    check_unknown_packing(&opened, files, &consumed)?;

    let mut params = 0u64;
    let mut bytes = 0u64;
    let mut params_by_dtype: HashMap<&str, u64> = HashMap::new();
    let mut jobs: Vec<Job> = Vec::new();
    for (index, file) in opened.iter().enumerate() {
        for tensor in file.tensors() {
            bytes += tensor.byte_len();
            if consumed.contains(&(index, tensor.name.as_str())) {
                // Counted once rebuilt, as the matrix it stands for.
                continue;
            }
            params += tensor.numel();
            *params_by_dtype.entry(tensor.dtype.name()).or_default() += tensor.numel();
            match fingerprinted_dtype(tensor) {
                Some(dtype) => jobs.push(Job::Stored {
                    file: index,
                    tensor,
                    dtype,
                }),
                None => on_bytes(tensor.byte_len()),
            }
        }
    }
    jobs.extend(packed.matrices.iter().map(Job::Packed));
    // Largest first, so the long tensors start early and the small ones fill in behind them.
    jobs.sort_by_key(|job| std::cmp::Reverse(job.byte_len()));

    let mut tensors = jobs
        .par_iter()
        .map_init(Vec::new, |buffer, job| match *job {
            Job::Stored {
                file: index,
                tensor,
                dtype,
            } => fingerprint_tensor(&opened[index], tensor, dtype, buffer, on_bytes, cancel)
                .map_err(|e| match e {
                    MeasureError::Weights(mut w) => {
                        w.path = files[index].path.clone();
                        MeasureError::Weights(w)
                    }
                    other => other,
                }),
            Job::Packed(matrix) => {
                fingerprint_packed(&opened, files, matrix, buffer, on_bytes, cancel)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    for t in &tensors {
        if let Some(Quantization::Packed(scheme)) = t.quantized {
            let numel: u64 = t.shape.iter().map(|&d| d as u64).product();
            params += numel;
            *params_by_dtype.entry(scheme.name()).or_default() += numel;
        }
    }

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

/// One matrix to measure: a stored tensor, or a packed layer rebuilt from its parts.
enum Job<'a> {
    Stored {
        file: usize,
        tensor: &'a TensorInfo,
        dtype: FloatDtype,
    },
    Packed(&'a PackedMatrix),
}

impl Job<'_> {
    fn byte_len(&self) -> u64 {
        match self {
            Job::Stored { tensor, .. } => tensor.byte_len(),
            Job::Packed(matrix) => matrix.parts.iter().map(|p| p.tensor.byte_len()).sum(),
        }
    }
}

/// The file that holds `tensor`, for an error about it.
fn holder(tensor: &str, opened: &[WeightSource], files: &[WeightFile]) -> std::path::PathBuf {
    opened
        .iter()
        .position(|f| f.tensors().iter().any(|t| t.name == tensor))
        .map_or_else(|| files[0].path.clone(), |i| files[i].path.clone())
}

fn packing_error(
    problem: PackedProblem,
    opened: &[WeightSource],
    files: &[WeightFile],
) -> MeasureError {
    MeasureError::Packing {
        path: holder(&problem.tensor, opened, files),
        tensor: problem.tensor,
        reason: problem.reason,
    }
}

/// Refuses a model whose matrices are mostly integers of a packing mother does not recognise
/// (compressed-tensors, HQQ, EXL2, ...): measuring only its float tensors (its scales, say)
/// would describe something else than its weights.
fn check_unknown_packing(
    opened: &[WeightSource],
    files: &[WeightFile],
    consumed: &HashSet<(usize, &str)>,
) -> Result<(), MeasureError> {
    let (mut integer, mut total) = (0u64, 0u64);
    let mut largest: Option<&TensorInfo> = None;
    for (index, file) in opened.iter().enumerate() {
        for t in file.tensors() {
            total += t.byte_len();
            let is_integer = matches!(t.dtype, Dtype::Other { name, .. } if name.starts_with('I') || name.starts_with('U'));
            if is_integer && t.shape.len() == 2 && !consumed.contains(&(index, t.name.as_str())) {
                integer += t.byte_len();
                if largest.is_none_or(|l| l.byte_len() < t.byte_len()) {
                    largest = Some(t);
                }
            }
        }
    }
    match largest {
        Some(t) if integer * 2 > total => Err(MeasureError::Packing {
            path: holder(&t.name, opened, files),
            tensor: t.name.clone(),
            reason: format!(
                "is one of the {} integer matrices that hold most of this model — a quantisation packing mother does not read (it reads GPTQ, AWQ, bitsandbytes and GGUF); keep the unquantised model beside it",
                t.dtype.name()
            ),
        }),
        _ => Ok(()),
    }
}

/// Reads the stored parts of a packed layer (at most [`MAX_PACKED_BYTES`]), rebuilds its
/// matrix and runs the fused pass over it. The content hash covers every part's bytes.
fn fingerprint_packed(
    opened: &[WeightSource],
    files: &[WeightFile],
    matrix: &PackedMatrix,
    buffer: &mut Vec<u8>,
    on_bytes: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<TensorFingerprint, MeasureError> {
    let total: u64 = matrix.parts.iter().map(|p| p.tensor.byte_len()).sum();
    let path = |file: usize| files[file].path.clone();
    if total > MAX_PACKED_BYTES {
        return Err(MeasureError::Packing {
            path: path(matrix.parts[0].file),
            tensor: matrix.name.clone(),
            reason: format!(
                "is a packed layer of {} stored bytes, over the {} one matrix may take — the file is damaged or not a real layer",
                total, MAX_PACKED_BYTES
            ),
        });
    }
    let mut parts: Vec<Vec<u8>> = Vec::with_capacity(matrix.parts.len());
    for part in &matrix.parts {
        let mut data = Vec::with_capacity(part.tensor.byte_len() as usize);
        opened[part.file]
            .for_each_chunk(&part.tensor, buffer, |chunk| {
                if cancel.load(Ordering::Relaxed) {
                    return Err(MeasureError::Cancelled);
                }
                data.extend_from_slice(chunk);
                on_bytes(chunk.len() as u64);
                Ok(())
            })
            .map_err(|e| match e {
                MeasureError::Weights(mut w) => {
                    w.path = path(part.file);
                    MeasureError::Weights(w)
                }
                other => other,
            })?;
        parts.push(data);
    }
    let problem = |p: PackedProblem| MeasureError::Packing {
        path: path(matrix.parts[0].file),
        tensor: p.tensor,
        reason: p.reason,
    };
    packed::check_lengths(matrix, &parts).map_err(problem)?;
    let decoded = matrix.decode(&parts).map_err(problem)?;
    let mut accumulator = TensorAccumulator::new(decoded.dtype, decoded.rows, decoded.cols)
        .quantized_from(Quantization::Packed(matrix.scheme));
    for data in &parts {
        accumulator.hash_stored(data);
    }
    decoded.for_each_piece(&mut |values| accumulator.push_values(values));
    Ok(accumulator.finish(&matrix.name, &[decoded.rows, decoded.cols]))
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
            accumulator = accumulator.quantized_from(Quantization::Block(quantized));
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
