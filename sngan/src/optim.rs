//! Adam whose state can be saved and restored exactly (dfdx's keeps its moments private).
//!
//! The update is Adam as in PyTorch and dfdx (Kingma & Ba, Algorithm 1, no weight decay):
//! `m ← β1 m + (1−β1) g`, `v ← β2 v + (1−β2) g²`, `p ← p − α · m̂ / (√v̂ + ε)` with
//! `m̂ = m / (1−β1ᵗ)`, `v̂ = v / (1−β2ᵗ)`. Moments are kept per parameter, keyed by the
//! parameter's path in the model (`c1.conv.weight`), so a checkpoint stores them by name.
//! Tensors whose [`TensorOptions`] say `do_gradient_update = false` (SN's ũ and v, BN's running
//! statistics) are never touched.

use std::collections::BTreeMap;

use dfdx::nn::tensor_collection::{
    RecursiveWalker, TensorCollection, TensorOptions, TensorVisitor, ViewTensorMut, ViewTensorName,
};
use dfdx::prelude::*;

use crate::settings::AdamParams;

/// First and second moments of one parameter, flattened.
pub type Moments<D> = (Tensor<(usize,), f32, D>, Tensor<(usize,), f32, D>);

/// Adam with named, exportable moments.
#[derive(Clone, Debug)]
pub struct Adam<D: Device<f32>> {
    /// Step size α (may be changed between updates, e.g. by linear decay).
    pub lr: f64,
    /// β1.
    pub beta1: f64,
    /// β2.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    t: u64,
    moments: BTreeMap<String, Moments<D>>,
}

impl<D: Device<f32>> Adam<D> {
    /// A fresh optimizer (t = 0, no moments yet) with the paper's (α, β1, β2) and
    /// ε = [`AdamParams::EPS`].
    pub fn new(p: AdamParams) -> Self {
        Adam {
            lr: p.alpha,
            beta1: p.beta1,
            beta2: p.beta2,
            eps: AdamParams::EPS,
            t: 0,
            moments: BTreeMap::new(),
        }
    }

    /// Updates done so far.
    pub fn t(&self) -> u64 {
        self.t
    }

    /// The moments by parameter path.
    pub fn moments(&self) -> &BTreeMap<String, Moments<D>> {
        &self.moments
    }

    /// Restores a saved state.
    pub fn restore(&mut self, t: u64, moments: BTreeMap<String, Moments<D>>) {
        self.t = t;
        self.moments = moments;
    }

    /// One Adam step on every trainable tensor of `model` with `grads`.
    ///
    /// # Errors
    /// The device's error.
    pub fn update<M: TensorCollection<f32, D>>(
        &mut self,
        model: &mut M,
        grads: &Gradients<f32, D>,
    ) -> Result<(), D::Err> {
        self.t += 1;
        let mut visitor = Step { adam: self, grads };
        M::iter_tensors(&mut RecursiveWalker {
            m: (model, String::new()),
            f: &mut visitor,
        })?;
        Ok(())
    }
}

struct Step<'a, D: Device<f32>> {
    adam: &'a mut Adam<D>,
    grads: &'a Gradients<f32, D>,
}

impl<D: Device<f32>> TensorVisitor<f32, D> for Step<'_, D> {
    type Viewer = (ViewTensorMut, ViewTensorName);
    type Err = D::Err;
    type E2 = f32;
    type D2 = D;

    fn visit<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, D>,
        (p, name): (&mut Tensor<S, f32, D>, String),
    ) -> Result<Option<Tensor<S, f32, D>>, Self::Err> {
        if !opts.do_gradient_update {
            return Ok(None);
        }
        let a = &mut *self.adam;
        let shape = *p.shape();
        let n = shape.num_elements();
        let g = self.grads.get(&*p).try_reshape_like(&(n,))?;
        let (m, v) = match a.moments.remove(&name) {
            Some(mv) => mv,
            None => (
                p.device().try_zeros_like(&(n,))?,
                p.device().try_zeros_like(&(n,))?,
            ),
        };
        let (b1, b2) = (a.beta1 as f32, a.beta2 as f32);
        let m = m.try_mul(b1)?.try_add(g.clone().try_mul(1.0 - b1)?)?;
        let v = v.try_mul(b2)?.try_add(g.try_square()?.try_mul(1.0 - b2)?)?;
        let bias1 = 1.0 - a.beta1.powi(a.t as i32);
        let bias2 = 1.0 - a.beta2.powi(a.t as i32);
        let denom = v
            .clone()
            .try_mul((1.0 / bias2) as f32)?
            .try_sqrt()?
            .try_add(a.eps as f32)?;
        let step = m.clone().try_mul((a.lr / bias1) as f32)?.try_div(denom)?;
        // In place, keeping the parameter's tensor id (gradients are keyed by it).
        p.try_axpy(1.0, &step.try_reshape_like(&shape)?, -1.0)?;
        a.moments.insert(name, (m, v));
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::SnLinear;
    use dfdx::nn::{BuildModule, ZeroGrads};
    use dfdx::optim::Optimizer;

    /// Three steps on the same model and gradients: our Adam and dfdx's agree to f32 rounding
    /// (the formulas are the same; only the order of a few multiplications differs), and ũ, v
    /// are not updated.
    #[test]
    fn matches_dfdx_adam_and_skips_detached_tensors() {
        let dev = Cpu::seed_from_u64(0);
        let mut ours = SnLinear::<6, 4, true, f32, Cpu>::build(&dev);
        ours.power_iteration(1).unwrap();
        let mut theirs = ours.clone();
        let p = AdamParams {
            alpha: 1e-2,
            beta1: 0.5,
            beta2: 0.9,
        };
        let mut a = Adam::new(p);
        let mut b = dfdx::optim::Adam::new(&theirs, p.into());
        let u0 = ours.sn.u.as_vec();
        for step in 0..3 {
            let x: Tensor<(usize, Const<6>), f32, Cpu> = dev.sample_normal_like(&(5, Const));
            let grads_a = ours
                .forward(x.clone().traced(ours.alloc_grads()))
                .unwrap()
                .square()
                .sum::<Rank0, _>()
                .backward();
            let grads_b = theirs
                .forward(x.traced(theirs.alloc_grads()))
                .unwrap()
                .square()
                .sum::<Rank0, _>()
                .backward();
            a.update(&mut ours, &grads_a).unwrap();
            b.update(&mut theirs, &grads_b).unwrap();
            for (x, y) in ours.weight.as_vec().iter().zip(theirs.weight.as_vec()) {
                assert!(
                    (x - y).abs() <= 1e-5 * y.abs().max(1e-2),
                    "step {step}: {x} vs {y}"
                );
            }
        }
        assert_eq!(a.t(), 3);
        assert_eq!(ours.sn.u.as_vec(), u0);
        assert_eq!(a.moments().len(), 2, "weight and bias only");
    }
}
