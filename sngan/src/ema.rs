//! An exponential moving average (EMA) of the generator's weights.
//!
//! The paper evaluates the trained generator itself and keeps no average, so the EMA is off
//! unless [`RunConfig::ema_decay`](crate::config::RunConfig::ema_decay) is set. When it is on,
//! after every generator update:
//!
//! - every *trainable* tensor of the averaged copy moves towards the live generator:
//!   `ema ← decay · ema + (1 − decay) · p` (in f32, as PyTorch and StudioGAN do);
//! - every *non-trainable* tensor — batch normalization's running mean and variance, and the
//!   power-iteration vectors ũ, v of any spectrally normalized layer — is **copied** from the
//!   live generator, never averaged. This is StudioGAN's rule for buffers. Averaging BN
//!   statistics (as BigGAN-PyTorch does by averaging the whole state dict) mixes statistics of
//!   networks that no longer exist, and averaging ũ shrinks it (a mean of unit vectors pointing
//!   in slightly different directions is shorter than one), so σ̃ = ũᵀWv would be
//!   under-estimated and W̄ = W/σ̃ inflated. BigGAN's remedy for the BN mismatch, "standing
//!   statistics" recomputed from the EMA generator at sampling time, is not implemented.
//! - Before step `start` the average is a plain copy (decay 0), as in BigGAN's and StudioGAN's
//!   `ema_start`: the first weights of training are not worth remembering.
//!
//! `sngan sample` and `sngan eval` use the averaged generator when the run has one; training
//! also writes its sample grids (`samples/STEP-ema.png`). The average is saved in checkpoints
//! under the `ema.` prefix, so resuming is still exact.

use dfdx::nn::tensor_collection::{
    RecursiveWalker, TensorCollection, TensorOptions, TensorVisitor, ViewTensorMut, ViewTensorRef,
};
use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

/// When and how fast the average moves.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmaOptions {
    /// Weight of the old average per update, in [0, 1) (e.g. 0.999 or 0.9999).
    pub decay: f64,
    /// Generator updates before which the average is a copy of the live weights.
    pub start: usize,
}

/// A generator whose trainable weights are an exponential moving average of another's.
#[derive(Clone, Debug)]
pub struct Ema<G> {
    /// The averaged generator (use it like any other: `forward_eval`).
    pub g: G,
    /// Decay and start.
    pub options: EmaOptions,
}

impl<G: Clone> Ema<G> {
    /// An average that starts as a copy of `g`.
    pub fn new(g: &G, options: EmaOptions) -> Self {
        Ema {
            g: g.clone(),
            options,
        }
    }

    /// Moves the average towards `live` after generator update number `step` (1-based): the
    /// decay applies from `step > start`; before, the trainable weights are copied. Buffers
    /// (BN statistics, SN vectors) are always copied.
    ///
    /// # Errors
    /// The device's error.
    pub fn update<E: Dtype, D: Device<E>>(&mut self, live: &G, step: usize) -> Result<(), D::Err>
    where
        G: TensorCollection<E, D>,
    {
        let decay = if step > self.options.start {
            self.options.decay
        } else {
            0.0
        };
        G::iter_tensors(&mut RecursiveWalker {
            m: (&mut self.g, live),
            f: &mut Average { decay },
        })?;
        Ok(())
    }
}

struct Average {
    decay: f64,
}

impl<E: Dtype, D: Device<E>> TensorVisitor<E, D> for Average {
    type Viewer = (ViewTensorMut, ViewTensorRef);
    type Err = D::Err;
    type E2 = E;
    type D2 = D;

    fn visit<S: Shape>(
        &mut self,
        opts: TensorOptions<S, E, D>,
        (avg, live): (&mut Tensor<S, E, D>, &Tensor<S, E, D>),
    ) -> Result<Option<Tensor<S, E, D>>, Self::Err> {
        if opts.do_gradient_update && self.decay > 0.0 {
            avg.try_axpy(self.decay, live, 1.0 - self.decay)?;
        } else {
            *avg = live.clone();
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::std_cnn::StdCnnGenerator16Quarter;
    use crate::nets::{Generator, Z_DIM};
    use dfdx::nn::tensor_collection::ViewTensorName;

    type G = StdCnnGenerator16Quarter<f32, Cpu>;

    /// (name, trainable, values) of every tensor, in visiting order.
    fn tensors(g: &G) -> Vec<(String, bool, Vec<f32>)> {
        struct All(Vec<(String, bool, Vec<f32>)>);
        impl TensorVisitor<f32, Cpu> for All {
            type Viewer = (ViewTensorRef, ViewTensorName);
            type Err = <Cpu as HasErr>::Err;
            type E2 = f32;
            type D2 = Cpu;
            fn visit<S: Shape>(
                &mut self,
                opts: TensorOptions<S, f32, Cpu>,
                (t, name): (&Tensor<S, f32, Cpu>, String),
            ) -> Result<Option<Tensor<S, f32, Cpu>>, Self::Err> {
                self.0.push((name, opts.do_gradient_update, t.as_vec()));
                Ok(None)
            }
        }
        let mut v = All(Vec::new());
        G::iter_tensors(&mut RecursiveWalker {
            m: (g, String::new()),
            f: &mut v,
        })
        .unwrap();
        v.0
    }

    /// A generator whose BN running statistics moved away from their initial values.
    fn trained_once(dev: &Cpu) -> G {
        let mut g = <G as Generator<16, Cpu>>::build(dev).unwrap();
        let z = dev.sample_normal_like(&(4, Const::<Z_DIM>));
        let _ = g.forward_train(z.retaped()).unwrap();
        g
    }

    #[test]
    fn parameters_are_averaged_and_buffers_copied() {
        let dev = Cpu::seed_from_u64(1);
        let a = trained_once(&dev);
        let b = trained_once(&dev);
        let decay = 0.75;
        let mut ema = Ema::new(&a, EmaOptions { decay, start: 0 });
        ema.update(&b, 1).unwrap();
        let (ta, tb, te) = (tensors(&a), tensors(&b), tensors(&ema.g));
        let mut buffers = 0;
        for ((name, trainable, x), ((_, _, y), (_, _, e))) in ta.iter().zip(tb.iter().zip(&te)) {
            for ((x, y), e) in x.iter().zip(y).zip(e) {
                if *trainable {
                    // axpy computes decay·x + (1−decay)·y in f32: two roundings at most.
                    let want = decay as f32 * x + (1.0 - decay as f32) * y;
                    let tol = 2.0 * f32::EPSILON * (x.abs() + y.abs());
                    assert!((e - want).abs() <= tol, "{name}: {e} vs {want}");
                } else {
                    assert_eq!(e, y, "{name} is a buffer and must be copied");
                }
            }
            buffers += usize::from(!*trainable);
        }
        // The BN layers' running means and variances (4 BN layers, 2 buffers each).
        assert_eq!(buffers, 8);
        // The two generators differ, so averaging is visible.
        assert_ne!(ta, te);
    }

    #[test]
    fn before_start_the_average_is_a_copy() {
        let dev = Cpu::seed_from_u64(3);
        let a = trained_once(&dev);
        let b = trained_once(&dev);
        let mut ema = Ema::new(
            &a,
            EmaOptions {
                decay: 0.999,
                start: 5,
            },
        );
        ema.update(&b, 5).unwrap();
        assert_eq!(tensors(&ema.g), tensors(&b));
        // From step 6 on it averages.
        let c = trained_once(&dev);
        ema.update(&c, 6).unwrap();
        assert_ne!(tensors(&ema.g), tensors(&c));
    }
}
