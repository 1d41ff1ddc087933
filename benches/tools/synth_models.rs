//! Writes a Hugging Face hub cache of synthetic safetensors models, for measuring speed, memory
//! and scale only. The values are seeded random numbers, not trained weights: they say nothing
//! about whether recovery is right, only how fast and how lean it runs.
//!
//! Two kinds of cache:
//! - `--size-mb M` (default): every model holds Llama-like 2-D matrices (q/k/v/o `H x H`,
//!   gate/up `I x H`, down `H x I`, plus 1-D norms) of Gaussian values until it reaches about
//!   M megabytes. Written streaming: memory stays at one chunk, whatever the model's size.
//! - `--families F`: N tiny models (`--tensors K` matrices of `--side S` squared) in F
//!   random-walk families: each family's first model is random, every later one is a copy of
//!   a random earlier member plus a small Gaussian step, so families are near and each other far.
//!
//! Run: `cargo run --release --example synth_models -- DIR --models N --size-mb M --dtype f32`
//! or `... -- DIR --models 1000 --families 20 --tensors 8 --side 64`.

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use twox_hash::XxHash3_128;

#[derive(Debug, Parser)]
struct Args {
    /// Folder to write the hub cache into (created if missing).
    dir: PathBuf,
    #[arg(long)]
    models: usize,
    /// Approximate size of each model in megabytes (10^6 bytes), for the Llama-like layout.
    #[arg(long, default_value_t = 200)]
    size_mb: u64,
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    dtype: Dtype,
    /// Hidden size H of the Llama-like layout.
    #[arg(long, default_value_t = 2048)]
    hidden: usize,
    /// Intermediate size I of the Llama-like layout.
    #[arg(long, default_value_t = 5632)]
    intermediate: usize,
    /// Write tiny random-walk families instead of the Llama-like layout.
    #[arg(long)]
    families: Option<usize>,
    /// Matrices per tiny model.
    #[arg(long, default_value_t = 8)]
    tensors: usize,
    /// Side of each tiny model's square matrices.
    #[arg(long, default_value_t = 64)]
    side: usize,
    /// Size of a random-walk step relative to the weights' scale.
    #[arg(long, default_value_t = 0.02)]
    step: f32,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Dtype {
    F32,
    Bf16,
    F16,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::Bf16 | Dtype::F16 => 2,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::Bf16 => "BF16",
            Dtype::F16 => "F16",
        }
    }
}

/// Standard deviation of the random weights (a typical initialisation scale).
const WEIGHT_SCALE: f32 = 0.02;
/// Values generated and written per step while streaming a tensor.
const CHUNK_VALUES: usize = 1 << 18;

/// One tensor of a model: its name and shape.
struct Spec {
    name: String,
    shape: Vec<usize>,
}

impl Spec {
    fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.models == 0 {
        bail!("--models must be at least 1");
    }
    fs::create_dir_all(&args.dir)
        .with_context(|| format!("{}: cannot create the folder", args.dir.display()))?;
    match args.families {
        Some(0) => bail!("--families must be at least 1"),
        Some(families) => write_families(&args, families),
        None => write_llama_like(&args),
    }
}

/// The Llama-like layout, layer after layer, cut where the size budget runs out (at least one
/// matrix is always kept).
fn llama_like_specs(args: &Args) -> Vec<Spec> {
    let budget = args.size_mb * 1_000_000;
    let (h, i) = (args.hidden, args.intermediate);
    let mut specs = Vec::new();
    let mut bytes = 0u64;
    for layer in 0.. {
        let prefix = format!("model.layers.{layer}");
        let layer_specs = [
            (format!("{prefix}.input_layernorm.weight"), vec![h]),
            (format!("{prefix}.self_attn.q_proj.weight"), vec![h, h]),
            (format!("{prefix}.self_attn.k_proj.weight"), vec![h, h]),
            (format!("{prefix}.self_attn.v_proj.weight"), vec![h, h]),
            (format!("{prefix}.self_attn.o_proj.weight"), vec![h, h]),
            (format!("{prefix}.post_attention_layernorm.weight"), vec![h]),
            (format!("{prefix}.mlp.gate_proj.weight"), vec![i, h]),
            (format!("{prefix}.mlp.up_proj.weight"), vec![i, h]),
            (format!("{prefix}.mlp.down_proj.weight"), vec![h, i]),
        ];
        for (name, shape) in layer_specs {
            let spec = Spec { name, shape };
            let size = (spec.numel() * args.dtype.size()) as u64;
            if bytes + size > budget && specs.iter().any(|s: &Spec| s.shape.len() == 2) {
                return specs;
            }
            bytes += size;
            specs.push(spec);
        }
    }
    specs
}

fn write_llama_like(args: &Args) -> anyhow::Result<()> {
    let specs = llama_like_specs(args);
    let total: usize = specs.iter().map(|s| s.numel() * args.dtype.size()).sum();
    for model in 0..args.models {
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
        rng.set_stream(model as u64);
        let mut fill = |_: usize, out: &mut [f32]| {
            for v in out.iter_mut() {
                *v = WEIGHT_SCALE * rng.sample::<f32, _>(StandardNormal);
            }
        };
        let repo = format!("synth--llama-like-{model:04}");
        write_model(&args.dir, &repo, &specs, args.dtype, &mut fill)?;
    }
    eprintln!(
        "wrote {} models of {:.1} MB ({} tensors, {}) under {}",
        args.models,
        total as f64 / 1e6,
        specs.len(),
        args.dtype.name(),
        args.dir.display()
    );
    Ok(())
}

fn write_families(args: &Args, families: usize) -> anyhow::Result<()> {
    let side = args.side;
    let specs: Vec<Spec> = (0..args.tensors)
        .map(|t| Spec {
            name: format!("layers.{t}.weight"),
            shape: vec![side, side],
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    for family in 0..families {
        // Members of this family: models family, family + F, family + 2F, ...
        let members: Vec<usize> = (family..args.models).step_by(families).collect();
        let mut weights: Vec<Vec<Vec<f32>>> = Vec::with_capacity(members.len());
        for (rank, &model) in members.iter().enumerate() {
            let own: Vec<Vec<f32>> = if rank == 0 {
                specs
                    .iter()
                    .map(|s| gaussian(&mut rng, s.numel(), WEIGHT_SCALE))
                    .collect()
            } else {
                let parent = &weights[rng.random_range(0..rank)];
                parent
                    .iter()
                    .map(|tensor| {
                        let step = gaussian(&mut rng, tensor.len(), WEIGHT_SCALE * args.step);
                        tensor.iter().zip(step).map(|(w, d)| w + d).collect()
                    })
                    .collect()
            };
            let mut fill = |tensor: usize, out: &mut [f32]| {
                out.copy_from_slice(&own[tensor]);
            };
            let repo = format!("synth--family-{family:03}-model-{model:05}");
            write_model(&args.dir, &repo, &specs, args.dtype, &mut fill)?;
            weights.push(own);
        }
    }
    eprintln!(
        "wrote {} tiny models ({} tensors of {side}x{side}, {}) in {families} families under {}",
        args.models,
        args.tensors,
        args.dtype.name(),
        args.dir.display()
    );
    Ok(())
}

fn gaussian(rng: &mut ChaCha8Rng, count: usize, scale: f32) -> Vec<f32> {
    (0..count)
        .map(|_| scale * rng.sample::<f32, _>(StandardNormal))
        .collect()
}

/// Writes one model as the hub client lays it out: the safetensors file in `blobs/` under the
/// hash of its bytes, `refs/main` holding a commit id, and `snapshots/<commit>/` linking to it.
/// `fill(tensor, out)` supplies the next `out.len()` values of tensor `tensor`, in order.
fn write_model(
    root: &Path,
    repo: &str,
    specs: &[Spec],
    dtype: Dtype,
    fill: &mut dyn FnMut(usize, &mut [f32]),
) -> anyhow::Result<()> {
    let repo_dir = root.join(format!("models--{repo}"));
    let blobs = repo_dir.join("blobs");
    fs::create_dir_all(&blobs)
        .with_context(|| format!("{}: cannot create the folder", blobs.display()))?;
    let partial = blobs.join("weights.incomplete");
    let mut hasher = XxHash3_128::new();
    {
        let file = File::create(&partial)
            .with_context(|| format!("{}: cannot create the file", partial.display()))?;
        let mut out = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            hasher: &mut hasher,
        };
        let header = header_bytes(specs, dtype);
        out.write_all(&(header.len() as u64).to_le_bytes())?;
        out.write_all(&header)?;
        let mut values = vec![0f32; CHUNK_VALUES];
        let mut bytes = Vec::with_capacity(CHUNK_VALUES * dtype.size());
        for (index, spec) in specs.iter().enumerate() {
            let mut left = spec.numel();
            while left > 0 {
                let take = left.min(CHUNK_VALUES);
                fill(index, &mut values[..take]);
                bytes.clear();
                for &v in &values[..take] {
                    match dtype {
                        Dtype::F32 => bytes.extend_from_slice(&v.to_le_bytes()),
                        Dtype::Bf16 => {
                            bytes.extend_from_slice(&half::bf16::from_f32(v).to_le_bytes())
                        }
                        Dtype::F16 => {
                            bytes.extend_from_slice(&half::f16::from_f32(v).to_le_bytes())
                        }
                    }
                }
                out.write_all(&bytes)?;
                left -= take;
            }
        }
        out.inner
            .flush()
            .with_context(|| format!("{}: cannot write the file", partial.display()))?;
    }
    let digest = hasher.finish_128();
    let blob_name = format!("{digest:032x}");
    fs::rename(&partial, blobs.join(&blob_name))
        .with_context(|| format!("{}: cannot rename the blob", partial.display()))?;

    let commit = format!("{:040x}", digest >> 8);
    let refs = repo_dir.join("refs");
    fs::create_dir_all(&refs)?;
    fs::write(refs.join("main"), &commit)?;
    let snapshot = repo_dir.join("snapshots").join(&commit);
    fs::create_dir_all(&snapshot)?;
    let link = snapshot.join("model.safetensors");
    if link.symlink_metadata().is_ok() {
        fs::remove_file(&link)?;
    }
    std::os::unix::fs::symlink(format!("../../blobs/{blob_name}"), &link)
        .with_context(|| format!("{}: cannot create the link", link.display()))?;
    let config = serde_json::json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "torch_dtype": match dtype {
            Dtype::F32 => "float32",
            Dtype::Bf16 => "bfloat16",
            Dtype::F16 => "float16",
        },
    });
    fs::write(snapshot.join("config.json"), config.to_string())?;
    Ok(())
}

/// The safetensors header: tensors in the order their data is written, padded with spaces so
/// the data starts 8-byte aligned.
fn header_bytes(specs: &[Spec], dtype: Dtype) -> Vec<u8> {
    let mut map = serde_json::Map::new();
    let mut offset = 0usize;
    for spec in specs {
        let end = offset + spec.numel() * dtype.size();
        map.insert(
            spec.name.clone(),
            serde_json::json!({
                "dtype": dtype.name(),
                "shape": spec.shape,
                "data_offsets": [offset, end],
            }),
        );
        offset = end;
    }
    let mut header = serde_json::Value::Object(map).to_string().into_bytes();
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    header
}

/// Hashes everything written through it, so the blob can be named by its content.
struct HashingWriter<'a, W: Write> {
    inner: W,
    hasher: &'a mut XxHash3_128,
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.write(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
