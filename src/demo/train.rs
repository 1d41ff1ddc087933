//! The three ways a demo model comes to be: pre-training from a random init, full fine-tuning
//! (every weight moves) and LoRA fine-tuning (low-rank factors on some matrices, merged in).

use super::adam::Adam;
use super::mlp::{Linear, Mlp, Real, Shape};
use super::task::{Teacher, Zipf};
use ndarray::{Array2, ArrayBase, DataMut, Dimension};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// How long and how hard to train.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Recipe {
    pub steps: usize,
    pub lr: f64,
    pub batch: usize,
}

/// The data every model of a family sees: bags of `context` Zipf-distributed tokens.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TaskSpec {
    pub context: usize,
    pub zipf_exponent: f64,
    /// Share of strong (token, class) pairs in a teacher.
    pub teacher_density: f64,
    /// Teachers taken in turn, one per step, during pre-training.
    pub pretrain_teachers: usize,
}

/// LoRA factors of one matrix: `a` is `[rank, in]`, `b` is `[out, rank]`; the merged weight is
/// `W + scale * b a` with `scale = alpha / rank`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraFactors {
    /// Index of the linear layer in [`Mlp::layers`].
    pub layer: usize,
    pub a: Array2<f32>,
    pub b: Array2<f32>,
}

/// The trained factors of a LoRA fine-tune.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraAdapter {
    pub rank: usize,
    pub alpha: f64,
    pub factors: Vec<LoraFactors>,
}

fn flat<S: DataMut, D: Dimension>(array: &mut ArrayBase<S, D>) -> &mut [S::Elem] {
    array
        .as_slice_memory_order_mut()
        .expect("parameters and gradients are allocated contiguous")
}

fn flat_ref<S: ndarray::Data, D: Dimension>(array: &ArrayBase<S, D>) -> &[S::Elem] {
    array
        .as_slice_memory_order()
        .expect("parameters and gradients are allocated contiguous")
}

fn layer_lengths(model: &Mlp<f32>) -> Vec<usize> {
    model
        .layers
        .iter()
        .flat_map(|layer| [layer.weight.len(), layer.bias.len()])
        .collect()
}

/// Pre-trains a fresh model from the random init given by `seed`, on `task.pretrain_teachers`
/// teachers taken in turn.
pub fn pretrain(shape: &Shape, task: &TaskSpec, recipe: &Recipe, seed: u64) -> Mlp<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut model = Mlp::<f32>::init(shape, &mut rng);
    let zipf = Zipf::new(shape.vocab, task.zipf_exponent);
    let teachers: Vec<Teacher> = (0..task.pretrain_teachers.max(1))
        .map(|_| Teacher::new(shape.vocab, shape.classes, task.teacher_density, &mut rng))
        .collect();
    train_all(&mut model, &teachers, &zipf, task, recipe, &mut rng);
    model
}

/// Fine-tunes every weight of a copy of `parent` on one new teacher drawn from `seed`.
pub fn finetune_full(
    parent: &Mlp<f32>,
    shape: &Shape,
    task: &TaskSpec,
    recipe: &Recipe,
    seed: u64,
) -> Mlp<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut model = parent.clone();
    let zipf = Zipf::new(shape.vocab, task.zipf_exponent);
    let teacher = Teacher::new(shape.vocab, shape.classes, task.teacher_density, &mut rng);
    train_all(&mut model, &[teacher], &zipf, task, recipe, &mut rng);
    model
}

fn train_all(
    model: &mut Mlp<f32>,
    teachers: &[Teacher],
    zipf: &Zipf,
    task: &TaskSpec,
    recipe: &Recipe,
    rng: &mut ChaCha8Rng,
) {
    let mut lengths = vec![model.embed.len()];
    lengths.extend(layer_lengths(model));
    let mut adam = Adam::new(recipe.lr, &lengths);
    for step in 0..recipe.steps {
        let teacher = &teachers[step % teachers.len()];
        let batch = teacher.batch(zipf, recipe.batch, task.context, rng);
        let (_, mut grads) = model.loss_and_grads(&batch, true);
        let mut params: Vec<&mut [f32]> = vec![flat(&mut model.embed)];
        for layer in &mut model.layers {
            params.push(flat(&mut layer.weight));
            params.push(flat(&mut layer.bias));
        }
        let mut grad_slices: Vec<&[f32]> = Vec::with_capacity(params.len());
        if let Some(embed) = grads.embed.as_mut() {
            grad_slices.push(flat(embed));
        }
        for layer in &grads.layers {
            grad_slices.push(flat_ref(&layer.weight));
            grad_slices.push(flat_ref(&layer.bias));
        }
        adam.update(params, grad_slices);
    }
}

/// LoRA fine-tune of `parent` on one new teacher drawn from `seed`: factors of rank `rank` on
/// the layers listed in `targets`, everything else frozen. Returns the merged model and the
/// trained factors.
#[allow(clippy::too_many_arguments)]
pub fn finetune_lora(
    parent: &Mlp<f32>,
    shape: &Shape,
    task: &TaskSpec,
    recipe: &Recipe,
    targets: &[usize],
    rank: usize,
    alpha: f64,
    seed: u64,
) -> (Mlp<f32>, LoraAdapter) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let zipf = Zipf::new(shape.vocab, task.zipf_exponent);
    let teacher = Teacher::new(shape.vocab, shape.classes, task.teacher_density, &mut rng);
    let scale = (alpha / rank as f64) as f32;
    // As PEFT does: A uniform in +-1/sqrt(in) (Kaiming-uniform with a = sqrt 5), B zero, so the
    // fine-tune starts exactly at the parent.
    let mut factors: Vec<LoraFactors> = targets
        .iter()
        .map(|&layer| {
            let (out, input) = parent.layers[layer].weight.dim();
            let bound = 1.0 / (input as f32).sqrt();
            let a = Array2::from_shape_simple_fn((rank, input), || {
                rand::Rng::random_range(&mut rng, -bound..bound)
            });
            LoraFactors {
                layer,
                a,
                b: Array2::zeros((out, rank)),
            }
        })
        .collect();
    let lengths: Vec<usize> = factors
        .iter()
        .flat_map(|f| [f.a.len(), f.b.len()])
        .collect();
    let mut adam = Adam::new(recipe.lr, &lengths);
    let mut model = parent.clone();
    for _ in 0..recipe.steps {
        merge(&mut model, parent, &factors, scale);
        let batch = teacher.batch(&zipf, recipe.batch, task.context, &mut rng);
        let (_, grads) = model.loss_and_grads(&batch, false);
        let mut factor_grads: Vec<Array2<f32>> = Vec::with_capacity(lengths.len());
        for f in &factors {
            let (grad_a, grad_b) =
                lora_factor_grads(&grads.layers[f.layer].weight, &f.a, &f.b, scale);
            factor_grads.push(grad_a);
            factor_grads.push(grad_b);
        }
        let mut params: Vec<&mut [f32]> = Vec::with_capacity(lengths.len());
        for f in &mut factors {
            params.push(flat(&mut f.a));
            params.push(flat(&mut f.b));
        }
        adam.update(params, factor_grads.iter().map(flat_ref).collect());
    }
    merge(&mut model, parent, &factors, scale);
    (
        model,
        LoraAdapter {
            rank,
            alpha,
            factors,
        },
    )
}

/// Gradients of the factors from the gradient of the merged weight, by the chain rule through
/// `W_eff = W + s B A`: `dA = s B^T dW`, `dB = s dW A^T`.
pub fn lora_factor_grads<A: Real>(
    weight_grad: &Array2<A>,
    a: &Array2<A>,
    b: &Array2<A>,
    scale: A,
) -> (Array2<A>, Array2<A>) {
    (
        b.t().dot(weight_grad) * scale,
        weight_grad.dot(&a.t()) * scale,
    )
}

/// Sets each target layer of `model` to the parent's weight plus `scale * b a`.
fn merge(model: &mut Mlp<f32>, parent: &Mlp<f32>, factors: &[LoraFactors], scale: f32) {
    for f in factors {
        let Linear { weight, .. } = &mut model.layers[f.layer];
        weight.assign(&parent.layers[f.layer].weight);
        ndarray::linalg::general_mat_mul(scale, &f.b, &f.a, 1.0, weight);
    }
}
