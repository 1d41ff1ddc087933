//! The files of one demo repo: `model.safetensors` in the chosen dtype, `config.json`, the
//! optional `README.md` that declares a parent, and the PEFT adapter files.

use super::DemoError;
use super::family::Arch;
use super::mlp::{Mlp, Shape};
use super::train::LoraAdapter;
use crate::weights::FloatDtype;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::Path;

/// How the weights of a model are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoredDtype {
    F32,
    F16,
    Bf16,
    /// Roots in f32; the other models take f32, bf16 and f16 in turn, so a tree mixes 32- and
    /// 16-bit parents with 16- and 32-bit children, as a real cache does.
    Mixed,
}

impl StoredDtype {
    /// The dtype of a model whose turn is `turn`, or of a root.
    pub fn for_model(self, turn: usize, root: bool) -> StoredDtype {
        match self {
            StoredDtype::Mixed if root => StoredDtype::F32,
            StoredDtype::Mixed => [StoredDtype::F32, StoredDtype::Bf16, StoredDtype::F16][turn % 3],
            single => single,
        }
    }

    /// The dtype as the weights layer names it (`Mixed` is per model, never one dtype).
    fn float(self) -> FloatDtype {
        match self {
            StoredDtype::F32 | StoredDtype::Mixed => FloatDtype::F32,
            StoredDtype::F16 => FloatDtype::F16,
            StoredDtype::Bf16 => FloatDtype::BF16,
        }
    }

    /// `values` as storing them in this dtype leaves them (what a child trained from the
    /// published file starts from).
    pub fn round(self, values: &mut [f32]) {
        let dtype = self.float();
        let mut bytes = Vec::with_capacity(values.len() * dtype.size());
        dtype.encode_into(values, &mut bytes);
        let mut decoded = Vec::with_capacity(values.len());
        dtype.decode_into(&bytes, &mut decoded);
        values.copy_from_slice(&decoded);
    }

    fn torch_name(self) -> &'static str {
        match self {
            StoredDtype::F32 | StoredDtype::Mixed => "float32",
            StoredDtype::F16 => "float16",
            StoredDtype::Bf16 => "bfloat16",
        }
    }

    fn encode(self, values: &[f32]) -> (Dtype, Vec<u8>) {
        let dtype = self.float();
        let mut bytes = Vec::with_capacity(values.len() * dtype.size());
        dtype.encode_into(values, &mut bytes);
        let stored = match dtype {
            FloatDtype::F16 => Dtype::F16,
            FloatDtype::BF16 => Dtype::BF16,
            FloatDtype::F32 | FloatDtype::F64 => Dtype::F32,
        };
        (stored, bytes)
    }
}

/// Named tensors, in f32, ready to be stored.
pub type NamedTensors = Vec<(String, Vec<usize>, Vec<f32>)>;

/// The tensors of a model under PyTorch-style names: `embed.weight`, `layers.{i}.weight`,
/// `layers.{i}.bias`.
pub fn model_tensors(model: &Mlp<f32>) -> NamedTensors {
    let mut tensors = vec![(
        "embed.weight".to_owned(),
        model.embed.shape().to_vec(),
        model.embed.iter().copied().collect(),
    )];
    for (index, layer) in model.layers.iter().enumerate() {
        tensors.push((
            format!("layers.{index}.weight"),
            layer.weight.shape().to_vec(),
            layer.weight.iter().copied().collect(),
        ));
        tensors.push((
            format!("layers.{index}.bias"),
            layer.bias.shape().to_vec(),
            layer.bias.iter().copied().collect(),
        ));
    }
    tensors
}

/// The adapter's factors under PEFT's names:
/// `base_model.model.layers.{i}.lora_A.weight` `[r, in]` and `...lora_B.weight` `[out, r]`.
pub fn adapter_tensors(adapter: &LoraAdapter) -> NamedTensors {
    let mut tensors = Vec::new();
    for factors in &adapter.factors {
        let module = format!("base_model.model.layers.{}", factors.layer);
        for (kind, matrix) in [("lora_A", &factors.a), ("lora_B", &factors.b)] {
            tensors.push((
                format!("{module}.{kind}.weight"),
                matrix.shape().to_vec(),
                matrix.iter().copied().collect(),
            ));
        }
    }
    tensors
}

/// Writes `tensors` as a safetensors file in `dtype`.
pub fn write_safetensors(
    tensors: &NamedTensors,
    dtype: StoredDtype,
    path: &Path,
) -> Result<(), DemoError> {
    let encoded: Vec<(&str, &[usize], Dtype, Vec<u8>)> = tensors
        .iter()
        .map(|(name, shape, values)| {
            let (dtype, bytes) = dtype.encode(values);
            (name.as_str(), shape.as_slice(), dtype, bytes)
        })
        .collect();
    let mut views = Vec::with_capacity(encoded.len());
    for (name, shape, dtype, bytes) in &encoded {
        let view = TensorView::new(*dtype, shape.to_vec(), bytes)
            .map_err(|e| DemoError::safetensors(path, e))?;
        views.push((*name, view));
    }
    // A single metadata entry keeps the header byte-identical from run to run.
    let metadata = HashMap::from([("format".to_owned(), "pt".to_owned())]);
    safetensors::tensor::serialize_to_file(views, Some(metadata), path)
        .map_err(|e| DemoError::safetensors(path, e))
}

/// Each row of a 2-D weight rounded to 255 levels (int8, scale = max|row| / 127) and stored
/// back as f32: the quantised copy. Other tensors are left as they are.
pub fn quantize_int8(tensors: &NamedTensors) -> NamedTensors {
    tensors
        .iter()
        .map(|(name, shape, values)| {
            if shape.len() != 2 || !name.ends_with(".weight") {
                return (name.clone(), shape.clone(), values.clone());
            }
            let mut rounded = values.clone();
            for row in rounded.chunks_mut(shape[1].max(1)) {
                let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                if max > 0.0 {
                    let scale = max / 127.0;
                    for v in row.iter_mut() {
                        *v = (*v / scale).round().clamp(-127.0, 127.0) * scale;
                    }
                }
            }
            (name.clone(), shape.clone(), rounded)
        })
        .collect()
}

/// `config.json` of a model.
pub fn config_json(arch: Arch, shape: &Shape, dtype: StoredDtype) -> String {
    let (architecture, model_type) = match arch {
        Arch::Main => ("ZipfMlp", "zipf-mlp"),
        Arch::Other => ("ZipfMlpNarrow", "zipf-mlp-narrow"),
    };
    let config = serde_json::json!({
        "architectures": [architecture],
        "model_type": model_type,
        "vocab_size": shape.vocab,
        "embedding_size": shape.embed,
        "hidden_size": shape.hidden[0],
        "num_hidden_layers": shape.hidden.len(),
        "num_labels": shape.classes,
        "torch_dtype": dtype.torch_name(),
    });
    pretty(&config)
}

/// `README.md` with YAML front matter naming the parent and how the model relates to it.
pub fn readme(id: &str, base: &str, relation: &str) -> String {
    format!(
        "---\nbase_model: {base}\nbase_model_relation: {relation}\nlibrary_name: mother\n---\n\n\
         # {id}\n\nA model of the mother demo family ({relation} of `{base}`).\n"
    )
}

/// `adapter_config.json` of a PEFT LoRA adapter.
pub fn adapter_config_json(adapter: &LoraAdapter, base: &str) -> String {
    let modules: Vec<String> = adapter
        .factors
        .iter()
        .map(|f| format!("layers.{}", f.layer))
        .collect();
    let config = serde_json::json!({
        "base_model_name_or_path": base,
        "peft_type": "LORA",
        "task_type": "SEQ_CLS",
        "r": adapter.rank,
        "lora_alpha": adapter.alpha,
        "lora_dropout": 0.0,
        "bias": "none",
        "target_modules": modules,
        "fan_in_fan_out": false,
        "inference_mode": true,
    });
    pretty(&config)
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
