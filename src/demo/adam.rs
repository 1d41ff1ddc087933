//! Adam (Kingma & Ba), with bias correction and no weight decay, over a fixed list of
//! parameter slices.

use super::mlp::Real;

#[derive(Debug, Clone)]
pub struct Adam<A> {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    step: i32,
    /// First and second moment estimates, one buffer per parameter slice.
    moments: Vec<(Vec<A>, Vec<A>)>,
}

impl<A: Real> Adam<A> {
    /// An optimiser for parameters of the given lengths, with the usual betas (0.9, 0.999).
    pub fn new(lr: f64, lengths: &[usize]) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step: 0,
            moments: lengths
                .iter()
                .map(|&n| (vec![A::zero(); n], vec![A::zero(); n]))
                .collect(),
        }
    }

    /// One update. `params` and `grads` pair up in the order given to [`Adam::new`].
    pub fn update(&mut self, params: Vec<&mut [A]>, grads: Vec<&[A]>) {
        debug_assert_eq!(params.len(), self.moments.len());
        self.step += 1;
        let b1 = A::from_f64(self.beta1);
        let b2 = A::from_f64(self.beta2);
        let one_minus_b1 = A::from_f64(1.0 - self.beta1);
        let one_minus_b2 = A::from_f64(1.0 - self.beta2);
        // Bias correction folded into the step size, as in the paper's efficient form.
        let correction1 = 1.0 - self.beta1.powi(self.step);
        let correction2 = 1.0 - self.beta2.powi(self.step);
        let step_size = A::from_f64(self.lr * correction2.sqrt() / correction1);
        let eps = A::from_f64(self.eps * correction2.sqrt());
        for ((param, grad), (m, v)) in params.into_iter().zip(grads).zip(&mut self.moments) {
            for (((p, &g), m), v) in param.iter_mut().zip(grad).zip(m).zip(v) {
                *m = b1 * *m + one_minus_b1 * g;
                *v = b2 * *v + one_minus_b2 * g * g;
                *p = *p - step_size * *m / (v.sqrt() + eps);
            }
        }
    }
}
