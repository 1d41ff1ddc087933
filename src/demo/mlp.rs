//! The demo model: a bag-of-tokens classifier (mean of token embeddings, then a ReLU MLP) with
//! its forward pass, cross-entropy loss and hand-written backward pass.
//!
//! Generic over the float type so the gradient check can run in f64 while training runs in f32.
//! Weights follow the PyTorch convention `[out, in]`, which is also how they are stored.

use ndarray::{Array1, Array2, Axis, LinalgScalar, ScalarOperand};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use std::fmt::Debug;
use std::ops::AddAssign;

/// The float operations the model needs beyond ndarray's arithmetic.
pub trait Real:
    LinalgScalar + ScalarOperand + PartialOrd + AddAssign + Debug + Send + Sync
{
    fn from_f64(value: f64) -> Self;
    fn to_f64(self) -> f64;
    fn sqrt(self) -> Self;
}

impl Real for f32 {
    fn from_f64(value: f64) -> Self {
        value as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
}

impl Real for f64 {
    fn from_f64(value: f64) -> Self {
        value
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
}

/// Sizes of one architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Shape {
    pub vocab: usize,
    pub embed: usize,
    /// Widths of the hidden layers, in order.
    pub hidden: [usize; 3],
    pub classes: usize,
}

impl Shape {
    /// `(out, in)` of every linear layer, first to last.
    pub fn layer_dims(&self) -> Vec<(usize, usize)> {
        let mut dims = Vec::with_capacity(self.hidden.len() + 1);
        let mut input = self.embed;
        for &width in &self.hidden {
            dims.push((width, input));
            input = width;
        }
        dims.push((self.classes, input));
        dims
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Linear<A> {
    /// `[out, in]`.
    pub weight: Array2<A>,
    pub bias: Array1<A>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mlp<A> {
    /// `[vocab, embed]`.
    pub embed: Array2<A>,
    pub layers: Vec<Linear<A>>,
}

/// Gradients of the loss, shaped like the parameters. `embed` is `None` when it was not asked for.
#[derive(Debug, Clone)]
pub struct Grads<A> {
    pub embed: Option<Array2<A>>,
    pub layers: Vec<Linear<A>>,
}

/// One training batch: `rows` examples of `context` token ids each, and their class labels.
#[derive(Debug, Clone)]
pub struct Batch {
    pub context: usize,
    /// Row-major `labels.len() * context` token ids.
    pub tokens: Vec<u32>,
    pub labels: Vec<usize>,
}

impl Batch {
    pub fn rows(&self) -> usize {
        self.labels.len()
    }
}

impl<A: Real> Mlp<A> {
    /// Random initialisation as PyTorch does it by default: embeddings N(0, 1), linear weights
    /// and biases uniform in +-1/sqrt(fan_in).
    pub fn init(shape: &Shape, rng: &mut impl Rng) -> Self {
        let embed = Array2::from_shape_simple_fn((shape.vocab, shape.embed), || {
            let z: f64 = StandardNormal.sample(rng);
            A::from_f64(z)
        });
        let layers = shape
            .layer_dims()
            .into_iter()
            .map(|(out, input)| {
                let bound = 1.0 / (input as f64).sqrt();
                let weight = Array2::from_shape_simple_fn((out, input), || {
                    A::from_f64(rng.random_range(-bound..bound))
                });
                let bias = Array1::from_shape_simple_fn(out, || {
                    A::from_f64(rng.random_range(-bound..bound))
                });
                Linear { weight, bias }
            })
            .collect();
        Mlp { embed, layers }
    }

    /// Mean of each example's token embeddings: `[rows, embed]`.
    fn pooled(&self, batch: &Batch) -> Array2<A> {
        let width = self.embed.ncols();
        let mut pooled = Array2::zeros((batch.rows(), width));
        let share = A::from_f64(1.0 / batch.context as f64);
        for (row, tokens) in pooled
            .rows_mut()
            .into_iter()
            .zip(batch.tokens.chunks_exact(batch.context))
        {
            let mut row = row;
            for &token in tokens {
                row.scaled_add(share, &self.embed.row(token as usize));
            }
        }
        pooled
    }

    /// Mean cross-entropy of the batch.
    pub fn loss(&self, batch: &Batch) -> f64 {
        self.loss_and_grads(batch, false).0
    }

    /// Mean cross-entropy of the batch and its gradient with respect to every parameter
    /// (the embedding table only when `embed_grad` is set, since frozen-embedding fine-tunes
    /// do not need it).
    pub fn loss_and_grads(&self, batch: &Batch, embed_grad: bool) -> (f64, Grads<A>) {
        let last = self.layers.len() - 1;
        // Inputs of every layer, kept for the backward pass; pre-activations are recovered from
        // the next layer's input, since ReLU passes exactly the positive ones.
        let mut inputs = Vec::with_capacity(self.layers.len());
        let mut x = self.pooled(batch);
        for (index, layer) in self.layers.iter().enumerate() {
            let mut z = x.dot(&layer.weight.t());
            z += &layer.bias;
            inputs.push(x);
            if index < last {
                z.mapv_inplace(|v| if v > A::zero() { v } else { A::zero() });
            }
            x = z;
        }
        let (loss, mut upstream) = softmax_cross_entropy(&x, &batch.labels);

        let mut layer_grads = Vec::with_capacity(self.layers.len());
        for (index, layer) in self.layers.iter().enumerate().rev() {
            let input = &inputs[index];
            let weight = upstream.t().dot(input);
            let bias = upstream.sum_axis(Axis(0));
            layer_grads.push(Linear { weight, bias });
            if index == 0 && !embed_grad {
                break;
            }
            let mut down = upstream.dot(&layer.weight);
            if index > 0 {
                // The input of this layer is the ReLU output of the previous one.
                ndarray::Zip::from(&mut down).and(input).for_each(|g, &a| {
                    if a <= A::zero() {
                        *g = A::zero();
                    }
                });
            }
            upstream = down;
        }
        layer_grads.reverse();

        let embed = embed_grad.then(|| {
            let mut grad = Array2::zeros(self.embed.raw_dim());
            let share = A::from_f64(1.0 / batch.context as f64);
            for (row, tokens) in upstream
                .rows()
                .into_iter()
                .zip(batch.tokens.chunks_exact(batch.context))
            {
                for &token in tokens {
                    grad.row_mut(token as usize).scaled_add(share, &row);
                }
            }
            grad
        });
        (
            loss,
            Grads {
                embed,
                layers: layer_grads,
            },
        )
    }

    /// Share of the batch whose highest logit is the label.
    pub fn accuracy(&self, batch: &Batch) -> f64 {
        let mut x = self.pooled(batch);
        let last = self.layers.len() - 1;
        for (index, layer) in self.layers.iter().enumerate() {
            let mut z = x.dot(&layer.weight.t());
            z += &layer.bias;
            if index < last {
                z.mapv_inplace(|v| if v > A::zero() { v } else { A::zero() });
            }
            x = z;
        }
        let right = x
            .rows()
            .into_iter()
            .zip(&batch.labels)
            .filter(|(row, label)| argmax(row.iter().copied()) == **label)
            .count();
        right as f64 / batch.rows().max(1) as f64
    }
}

fn argmax<A: PartialOrd>(values: impl Iterator<Item = A>) -> usize {
    let mut best: Option<(usize, A)> = None;
    for (index, value) in values.enumerate() {
        if best.as_ref().is_none_or(|(_, top)| value > *top) {
            best = Some((index, value));
        }
    }
    best.map_or(0, |(index, _)| index)
}

/// Mean cross-entropy of `logits` against `labels`, and its gradient with respect to the logits.
fn softmax_cross_entropy<A: Real>(logits: &Array2<A>, labels: &[usize]) -> (f64, Array2<A>) {
    let rows = logits.nrows();
    let mut grad = Array2::zeros(logits.raw_dim());
    let mut total = 0.0;
    let inv_rows = 1.0 / rows as f64;
    for ((row, mut out), &label) in logits.rows().into_iter().zip(grad.rows_mut()).zip(labels) {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v.to_f64()));
        let sum: f64 = row.iter().map(|v| (v.to_f64() - max).exp()).sum();
        total += sum.ln() + max - row[label].to_f64();
        for (index, (g, v)) in out.iter_mut().zip(row.iter()).enumerate() {
            let p = (v.to_f64() - max).exp() / sum;
            let target = if index == label { 1.0 } else { 0.0 };
            *g = A::from_f64((p - target) * inv_rows);
        }
    }
    (total * inv_rows, grad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::train::lora_factor_grads;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn tiny() -> (Mlp<f64>, Batch) {
        let shape = Shape {
            vocab: 7,
            embed: 3,
            hidden: [5, 4, 6],
            classes: 3,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let model = Mlp::<f64>::init(&shape, &mut rng);
        let batch = Batch {
            context: 3,
            tokens: vec![0, 1, 2, 3, 3, 6, 5, 0, 4, 1, 1, 2],
            labels: vec![0, 2, 1, 2],
        };
        (model, batch)
    }

    /// Central difference of the loss along one parameter, reached through `param`.
    fn numeric(model: &Mlp<f64>, batch: &Batch, param: impl Fn(&mut Mlp<f64>) -> &mut f64) -> f64 {
        let h = 1e-6;
        let mut plus = model.clone();
        *param(&mut plus) += h;
        let mut minus = model.clone();
        *param(&mut minus) -= h;
        (plus.loss(batch) - minus.loss(batch)) / (2.0 * h)
    }

    fn assert_close(analytic: f64, numeric: f64, what: &str) {
        let tolerance = 1e-6 * (1.0 + numeric.abs());
        assert!(
            (analytic - numeric).abs() < tolerance,
            "{what}: backward gives {analytic}, finite differences {numeric}"
        );
    }

    #[test]
    fn backward_matches_finite_differences() {
        let (model, batch) = tiny();
        let (_, grads) = model.loss_and_grads(&batch, true);
        let embed = grads
            .embed
            .as_ref()
            .expect("embedding gradient was asked for");
        // Every parameter of the tiny network, so no path of the backward pass is skipped.
        for ((row, col), &value) in embed.indexed_iter() {
            let n = numeric(&model, &batch, |m| &mut m.embed[[row, col]]);
            assert_close(value, n, &format!("embed[{row},{col}]"));
        }
        for (layer, grad) in grads.layers.iter().enumerate() {
            for ((row, col), &value) in grad.weight.indexed_iter() {
                let n = numeric(&model, &batch, |m| &mut m.layers[layer].weight[[row, col]]);
                assert_close(value, n, &format!("layers.{layer}.weight[{row},{col}]"));
            }
            for (row, &value) in grad.bias.indexed_iter() {
                let n = numeric(&model, &batch, |m| &mut m.layers[layer].bias[row]);
                assert_close(value, n, &format!("layers.{layer}.bias[{row}]"));
            }
        }
    }

    #[test]
    fn frozen_embedding_skips_only_its_gradient() {
        let (model, batch) = tiny();
        let (loss_all, all) = model.loss_and_grads(&batch, true);
        let (loss_frozen, frozen) = model.loss_and_grads(&batch, false);
        assert_eq!(loss_all, loss_frozen);
        assert!(frozen.embed.is_none());
        for (a, b) in all.layers.iter().zip(&frozen.layers) {
            assert_eq!(a.weight, b.weight);
            assert_eq!(a.bias, b.bias);
        }
    }

    #[test]
    fn lora_factor_gradients_match_finite_differences() {
        let (model, batch) = tiny();
        let layer = 1;
        let (out, input) = model.layers[layer].weight.dim();
        let rank = 2;
        let scale = 1.5;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let a = Array2::from_shape_simple_fn((rank, input), || rng.random_range(-1.0..1.0));
        let b = Array2::from_shape_simple_fn((out, rank), || rng.random_range(-1.0..1.0));
        let merged = |a: &Array2<f64>, b: &Array2<f64>| {
            let mut m = model.clone();
            m.layers[layer].weight = &model.layers[layer].weight + &(b.dot(a) * scale);
            m
        };
        let (_, grads) = merged(&a, &b).loss_and_grads(&batch, false);
        let (grad_a, grad_b) = lora_factor_grads(&grads.layers[layer].weight, &a, &b, scale);
        let h = 1e-6;
        for ((r, c), &value) in grad_a.indexed_iter() {
            let (mut plus, mut minus) = (a.clone(), a.clone());
            plus[[r, c]] += h;
            minus[[r, c]] -= h;
            let n = (merged(&plus, &b).loss(&batch) - merged(&minus, &b).loss(&batch)) / (2.0 * h);
            assert_close(value, n, &format!("lora_A[{r},{c}]"));
        }
        for ((r, c), &value) in grad_b.indexed_iter() {
            let (mut plus, mut minus) = (b.clone(), b.clone());
            plus[[r, c]] += h;
            minus[[r, c]] -= h;
            let n = (merged(&a, &plus).loss(&batch) - merged(&a, &minus).loss(&batch)) / (2.0 * h);
            assert_close(value, n, &format!("lora_B[{r},{c}]"));
        }
    }
}
