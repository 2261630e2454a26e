//! The training loop of Algorithm 1 around a generator and a discriminator.
//!
//! One [`Trainer::train_step`] is one generator update: `n_dis` discriminator updates, each with
//! a fresh real batch and a fresh fake batch, then one generator update. Every training-mode
//! pass through D starts with `power_iterations` rounds (1 in the paper) in every SN layer:
//! once per discriminator update — D(real) and D(fake) of that update see the same ũ, v, so the
//! same W̄ (one forward of the stacked batch when D treats each image alone, two forwards when
//! it takes batch statistics) — and once in the generator update, whose D forward is a
//! training forward too (as in the reference code, where each training-mode call of an SN link
//! iterates, and in PyTorch). So a generator step runs `n_dis + 1` rounds per layer. Adam for
//! both networks with the settings' (α, β1, β2); α may decay linearly.
//!
//! Deterministic on the CPU: initialisation comes from the device's seed; every z is drawn from
//! an RNG seeded by `(seed, step, draw)` and the data order is a function of `(seed, epoch)`, so
//! the step counter and the data position are the whole random state (what makes resuming
//! from a checkpoint exact); and dfdx's CPU kernels do not reorder sums between runs. The same
//! seed and data give bit-identical weights (a test checks this).

use dfdx::nn::ZeroGrads;
use dfdx::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{StandardNormal, Uniform};

use crate::baselines::Method;
use crate::data::{Batches, ImageSource};
use crate::ema::{Ema, EmaOptions};
use crate::nets::{Discriminator, Generator, Image, Latent, Latents, Z_DIM};
use crate::optim::Adam;
use crate::settings::TrainSettings;
use crate::{ConvDevice, Error};

/// Options of a run beyond the paper's [`TrainSettings`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainOptions {
    /// The paper's hyperparameters (Adam, n_dis, batch, loss).
    pub settings: TrainSettings,
    /// Power-iteration rounds per discriminator update (1 in the paper).
    pub power_iterations: usize,
    /// Rounds run once when the discriminator is built, so that σ̃ is sensible before the first
    /// update (PyTorch runs 15).
    pub warmup_rounds: usize,
    /// Generator updates in the whole run (the horizon of linear α decay).
    pub total_steps: usize,
    /// Seed of every z drawn during training (the data order has its own seed).
    pub seed: u64,
    /// An exponential moving average of G's weights, if any (none in the paper).
    pub ema: Option<EmaOptions>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            settings: TrainSettings::default(),
            power_iterations: 1,
            warmup_rounds: 15,
            total_steps: 100_000,
            seed: 0,
            ema: None,
        }
    }
}

/// What one generator update did.
#[derive(Clone, Debug, PartialEq)]
pub struct StepStats {
    /// Generator updates done so far (this one included).
    pub step: usize,
    /// Discriminator loss, mean over the `n_dis` updates.
    pub d_loss: f32,
    /// Generator loss.
    pub g_loss: f32,
    /// σ̃ of every SN layer after the last power iteration.
    pub sigma_tilde: Vec<f32>,
    /// α used for this update.
    pub lr: f64,
}

/// A GAN being trained: both networks, their Adam states and the step counter.
pub struct Trainer<const M: usize, G, Dis, D>
where
    D: ConvDevice,
    G: Generator<M, D>,
    Dis: Discriminator<M, D>,
{
    /// The device everything lives on.
    pub dev: D,
    /// The generator.
    pub g: G,
    /// The discriminator.
    pub d: Dis,
    /// The moving average of G, when [`TrainOptions::ema`] asks for one (updated after every
    /// generator update).
    pub ema: Option<Ema<G>>,
    pub(crate) opt_g: Adam<D>,
    pub(crate) opt_d: Adam<D>,
    grads_g: Option<Gradients<f32, D>>,
    grads_d: Option<Gradients<f32, D>>,
    /// The run's options.
    pub options: TrainOptions,
    /// Generator updates done.
    pub step: usize,
    method: Method,
}

impl<const M: usize, G, Dis, D> Trainer<M, G, Dis, D>
where
    D: ConvDevice,
    G: Generator<M, D>,
    Dis: Discriminator<M, D>,
{
    /// Builds both networks on `dev` (whose RNG seeds the initialisation) and their optimizers,
    /// with spectral normalization ([`Method::Sn`]).
    ///
    /// # Errors
    /// The device's error, or a `z_dim` other than the networks' 128.
    pub fn new(dev: D, options: TrainOptions) -> Result<Self, Error> {
        Self::with_method(dev, options, Method::Sn)
    }

    /// As [`new`](Self::new), with the discriminator built for `method` (Table 2's
    /// baselines, [`crate::baselines`]): its after-update hook runs after every D update and
    /// its loss term joins every D loss.
    ///
    /// # Errors
    /// As [`new`](Self::new), and [`Error::Config`] for a method the discriminator type does
    /// not implement.
    pub fn with_method(dev: D, options: TrainOptions, method: Method) -> Result<Self, Error> {
        if options.settings.z_dim != Z_DIM {
            return Err(Error::Config(format!(
                "z_dim {} is not supported: the networks take z in R^{Z_DIM}",
                options.settings.z_dim
            )));
        }
        let g = G::build(&dev).map_err(D::into_error)?;
        let d = Dis::build_for(&dev, options.warmup_rounds, method)?;
        let opt_g = Adam::new(options.settings.adam);
        let opt_d = Adam::new(options.settings.adam);
        let grads_g = Some(g.try_alloc_grads().map_err(D::into_error)?);
        let grads_d = Some(d.try_alloc_grads().map_err(D::into_error)?);
        let ema = options.ema.map(|o| Ema::new(&g, o));
        Ok(Trainer {
            dev,
            g,
            d,
            ema,
            opt_g,
            opt_d,
            grads_g,
            grads_d,
            options,
            step: 0,
            method,
        })
    }

    /// The discriminator-side method of the run.
    pub fn method(&self) -> Method {
        self.method
    }

    /// `n` latent vectors, N(0, I) or U[−1, 1] as the generator's variant asks, from an RNG
    /// seeded by `seed` alone (for a fixed z across a run, e.g. sample grids).
    ///
    /// # Errors
    /// The device's error.
    pub fn sample_z(&self, n: usize, seed: u64) -> Result<Latents<D, NoneTape>, Error> {
        let mut rng = StdRng::seed_from_u64(seed);
        let values: Vec<f32> = match G::LATENT {
            Latent::Normal => (0..n * Z_DIM).map(|_| rng.sample(StandardNormal)).collect(),
            Latent::Uniform => {
                let u = Uniform::new(-1.0f32, 1.0);
                (0..n * Z_DIM).map(|_| rng.sample(u)).collect()
            }
        };
        self.dev
            .try_tensor_from_vec(values, (n, Const::<Z_DIM>))
            .map_err(D::into_error)
    }

    /// z for draw `draw` of the current step: seeded by `(options.seed, step, draw)`.
    fn training_z(&self, n: usize, draw: usize) -> Result<Latents<D, NoneTape>, Error> {
        self.sample_z(n, self.draw_seed(draw))
    }

    /// The seed of draw `draw` of the current step, from `(options.seed, step, draw)`.
    fn draw_seed(&self, draw: usize) -> u64 {
        let mut h = self.options.seed ^ 0x5EED_F5A6;
        for x in [self.step as u64, draw as u64] {
            h = (h ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
        }
        h
    }

    /// One generator update (preceded by `n_dis` discriminator updates) on batches drawn from
    /// `data`.
    ///
    /// # Errors
    /// The device's error, or [`Error::NonFinite`] if a loss is NaN or infinite (the networks
    /// are then left as they were before the failing update).
    pub fn train_step<S: ImageSource<M>>(
        &mut self,
        data: &mut Batches<M, S>,
    ) -> Result<StepStats, Error> {
        let s = self.options.settings;
        let lr = s.alpha_at(self.step, self.options.total_steps);
        self.opt_g.lr = lr;
        self.opt_d.lr = lr;
        let mut d_loss_sum = 0.0;
        let mut sigma_tilde = Vec::new();
        for k in 0..s.n_dis {
            let real = data.next_batch(&self.dev, s.batch_size)?;
            let (loss, sigmas) = self.discriminator_update_with(real, k)?;
            d_loss_sum += loss;
            sigma_tilde = sigmas;
        }
        let g_loss = self.generator_update()?;
        self.step += 1;
        Ok(StepStats {
            step: self.step,
            d_loss: d_loss_sum / s.n_dis as f32,
            g_loss,
            sigma_tilde,
            lr,
        })
    }

    /// One discriminator update on `real`: power iteration in every SN layer, as many fresh
    /// fakes from G (training mode, no gradient), D(real) and D(fake) with the same W̄, the
    /// loss, backward, Adam. Returns the loss and σ̃ per layer (empty without SN).
    ///
    /// # Errors
    /// As [`train_step`](Self::train_step).
    pub fn discriminator_update(
        &mut self,
        real: Image<M, D, NoneTape>,
    ) -> Result<(f32, Vec<f32>), Error> {
        self.discriminator_update_with(real, 0)
    }

    fn discriminator_update_with(
        &mut self,
        real: Image<M, D, NoneTape>,
        draw: usize,
    ) -> Result<(f32, Vec<f32>), Error> {
        let sigma_tilde = if Dis::SPECTRAL_NORM {
            self.d
                .power_iteration(self.options.power_iterations)
                .map_err(D::into_error)?
        } else {
            Vec::new()
        };
        let z = self.training_z(real.shape().0, draw)?;
        let fake = self.generate_for_d(z)?;
        // The loss term's randomness (the penalty's ε) has a seed of its own per draw.
        let seed = self.draw_seed(draw) ^ 0xD1B5_4A32_D192_ED03;
        Ok((self.d_update(real, fake, seed)?, sigma_tilde))
    }

    /// One generator update with `g_batch_size` samples: power iteration in every SN layer of D,
    /// G (training mode) → D → loss → backward → Adam on G only. Returns the loss.
    ///
    /// # Errors
    /// As [`train_step`](Self::train_step).
    pub fn generator_update(&mut self) -> Result<f32, Error> {
        if Dis::SPECTRAL_NORM {
            self.d
                .power_iteration(self.options.power_iterations)
                .map_err(D::into_error)?;
        }
        self.g_update(self.options.settings.g_batch_size)
    }

    /// G(z) for a discriminator update: G in training mode (BN batch statistics, as in the
    /// reference code), its tape dropped.
    fn generate_for_d(&mut self, z: Latents<D, NoneTape>) -> Result<Image<M, D, NoneTape>, Error> {
        let fake = self
            .g
            .forward_train(z.retaped::<OwnedTape<f32, D>>())
            .map_err(D::into_error)?;
        let (fake, _tape) = fake.split_tape();
        Ok(fake)
    }

    fn d_update(
        &mut self,
        real: Image<M, D, NoneTape>,
        fake: Image<M, D, NoneTape>,
        seed: u64,
    ) -> Result<f32, Error> {
        let term = self
            .d
            .loss_term(&real, &fake, seed)
            .map_err(D::into_error)?;
        let grads = self
            .grads_d
            .take()
            .expect("gradients are returned after every update");
        let n = real.shape().0;
        let (l_real, l_fake) = if self.d.per_image() && fake.shape().0 == n {
            // One forward of the stacked batch [real; fake]: the logits of two forwards (D
            // treats each image alone) for one pass through every layer's W̄.
            let both = (real, fake)
                .try_concat_along(Axis::<0>)
                .map_err(D::into_error)?;
            let logits = self
                .d
                .forward_constant_input(both.traced(grads))
                .map_err(D::into_error)?;
            let l_fake = logits
                .retaped::<OwnedTape<f32, D>>()
                .try_slice((n.., ..))
                .map_err(D::into_error)?;
            let l_real = logits.try_slice((..n, ..)).map_err(D::into_error)?;
            (l_real, l_fake)
        } else {
            let l_real = self
                .d
                .forward_constant_input(real.traced(grads))
                .map_err(D::into_error)?;
            let l_fake = self
                .d
                .forward_constant_input(fake.retaped::<OwnedTape<f32, D>>())
                .map_err(D::into_error)?;
            (l_real, l_fake)
        };
        let loss = self.options.settings.loss.discriminator(l_real, l_fake);
        let loss = match term {
            Some(t) => loss + t,
            None => loss,
        };
        let value = loss.array();
        // Only the parameters' gradients are read: the kernels free the others as they go.
        let mut grads = crate::device::freeing_output_gradients(|| loss.backward());
        if !value.is_finite() {
            self.d.zero_grads(&mut grads);
            self.grads_d = Some(grads);
            return Err(Error::NonFinite(format!(
                "discriminator loss is {value} at generator step {}",
                self.step + 1
            )));
        }
        self.opt_d
            .update(&mut self.d, &grads)
            .map_err(D::into_error)?;
        self.d.after_update().map_err(D::into_error)?;
        self.d.try_zero_grads(&mut grads).map_err(D::into_error)?;
        self.grads_d = Some(grads);
        Ok(value)
    }

    fn g_update(&mut self, n: usize) -> Result<f32, Error> {
        let grads = self
            .grads_g
            .take()
            .expect("gradients are returned after every update");
        let z = self.training_z(n, self.options.settings.n_dis)?;
        let fake = self
            .g
            .forward_train(z.traced(grads))
            .map_err(D::into_error)?;
        // Only G is trained here: D's convolutions skip their weight gradients.
        let d = &self.d;
        let logits =
            crate::device::without_weight_gradients(|| d.forward(fake)).map_err(D::into_error)?;
        let loss = self.options.settings.loss.generator(logits);
        let value = loss.array();
        // Only the parameters' gradients are read: the kernels free the others as they go.
        let mut grads = crate::device::freeing_output_gradients(|| loss.backward());
        if !value.is_finite() {
            self.g.zero_grads(&mut grads);
            self.grads_g = Some(grads);
            return Err(Error::NonFinite(format!(
                "generator loss is {value} at generator step {}",
                self.step + 1
            )));
        }
        self.opt_g
            .update(&mut self.g, &grads)
            .map_err(D::into_error)?;
        self.g.try_zero_grads(&mut grads).map_err(D::into_error)?;
        self.grads_g = Some(grads);
        if let Some(ema) = &mut self.ema {
            ema.update(&self.g, self.step + 1).map_err(D::into_error)?;
        }
        Ok(value)
    }

    /// The generator to sample and evaluate with: the moving average when the run keeps one,
    /// else G itself.
    pub fn g_for_eval(&self) -> &G {
        self.ema.as_ref().map_or(&self.g, |e| &e.g)
    }

    /// σ(W̄) of every discriminator layer, exact (the Fig. 9 measurement).
    ///
    /// # Errors
    /// The device's or sn-core's error.
    pub fn sigmas_of_normalized(&self) -> Result<Vec<f64>, Error> {
        self.d.sigmas_of_normalized()
    }
}
