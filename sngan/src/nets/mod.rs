//! The paper's networks.

pub mod method;
pub mod resnet;
pub mod std_cnn;

use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::shapes::Const;
use dfdx::shapes::Rank0;
use dfdx::tensor::{NoneTape, OwnedTape, Tape, Tensor};

use crate::baselines::Method;

use crate::ConvDevice;
pub use std_cnn::Latent;

/// Dimension of z (all of the paper's experiments).
pub const Z_DIM: usize = 128;

/// A batch of RGB images `M × M`, NCHW, values in [−1, 1].
pub type Image<const M: usize, D, T> = Tensor<(usize, Const<3>, Const<M>, Const<M>), f32, D, T>;

/// One discriminator logit per image.
pub type Logits<D, T> = Tensor<(usize, Const<1>), f32, D, T>;

/// A batch of latent vectors z.
pub type Latents<D, T> = Tensor<(usize, Const<Z_DIM>), f32, D, T>;

/// A generator G: z ↦ image, with batch normalization (training and evaluation modes).
pub trait Generator<const M: usize, D: ConvDevice>:
    TensorCollection<f32, D> + Clone + Sized
{
    /// How z is drawn.
    const LATENT: Latent;
    /// Builds the network with its initialisation.
    ///
    /// # Errors
    /// The device's error.
    fn build(dev: &D) -> Result<Self, D::Err>;
    /// G(z) in training mode (BN batch statistics; running statistics updated).
    ///
    /// # Errors
    /// The device's error.
    fn forward_train(
        &mut self,
        z: Latents<D, OwnedTape<f32, D>>,
    ) -> Result<Image<M, D, OwnedTape<f32, D>>, D::Err>;
    /// G(z) in evaluation mode (BN running statistics).
    ///
    /// # Errors
    /// The device's error.
    fn forward_eval(&self, z: Latents<D, NoneTape>) -> Result<Image<M, D, NoneTape>, D::Err>;
}

/// A discriminator D: image ↦ logit, whose layers carry spectral-normalization state.
pub trait Discriminator<const M: usize, D: ConvDevice>:
    TensorCollection<f32, D> + Clone + Sized
{
    /// Layer names, in order, for σ reports.
    const LAYERS: &'static [&'static str];
    /// Whether the layers are spectrally normalized.
    const SPECTRAL_NORM: bool;
    /// Builds the network and runs `warmup` power-iteration rounds.
    ///
    /// # Errors
    /// The device's error.
    fn build(dev: &D, warmup: usize) -> Result<Self, D::Err>;
    /// Builds the network for a [`Method`] of Table 2. The default builds the spectrally
    /// normalized network with [`build`](Self::build) for [`Method::Sn`] and refuses the
    /// others.
    ///
    /// # Errors
    /// The device's error, or [`Error::Config`](crate::Error::Config) for a method the type
    /// does not implement.
    fn build_for(dev: &D, warmup: usize, method: Method) -> Result<Self, crate::Error> {
        if method != Method::Sn {
            return Err(crate::Error::Config(format!(
                "method {method}: {} implements spectral normalization only (--method sn)",
                std::any::type_name::<Self>()
            )));
        }
        Self::build(dev, warmup).map_err(D::into_error)
    }
    /// Runs after every discriminator update (weight clipping). The default does nothing.
    ///
    /// # Errors
    /// The device's error.
    fn after_update(&mut self) -> Result<(), D::Err> {
        Ok(())
    }
    /// A term added to the discriminator loss of an update with batches `real` and `fake`
    /// (a regularizer or a gradient penalty) on its own tape, or `None`; `seed` seeds any
    /// randomness it needs. The default is `None`.
    ///
    /// # Errors
    /// The device's error.
    fn loss_term(
        &self,
        real: &Image<M, D, NoneTape>,
        fake: &Image<M, D, NoneTape>,
        seed: u64,
    ) -> Result<Option<Tensor<Rank0, f32, D, OwnedTape<f32, D>>>, D::Err> {
        let _ = (real, fake, seed);
        Ok(None)
    }
    /// Whether D's logit for an image depends on that image alone (no statistics over the
    /// batch), so that D(real) and D(fake) may run as one forward of the two batches stacked.
    /// The default is `false`, the answer that is always safe.
    fn per_image(&self) -> bool {
        false
    }
    /// D(x): logits (W̄ from the stored ũ, v; no power iteration).
    ///
    /// # Errors
    /// The device's error.
    fn forward<T: Tape<f32, D>>(&self, x: Image<M, D, T>) -> Result<Logits<D, T>, D::Err>;
    /// D(x) for an `x` whose gradient nobody reads (the discriminator update's real and
    /// generated images): the logits and parameter gradients of [`forward`](Self::forward),
    /// where a network may leave out the work of x's own gradient (its first layer's input
    /// gradient, with [`without_input_gradient`](crate::device::without_input_gradient)), so
    /// that x's gradient is then zero. The default is `forward`.
    ///
    /// # Errors
    /// The device's error.
    fn forward_constant_input<T: Tape<f32, D>>(
        &self,
        x: Image<M, D, T>,
    ) -> Result<Logits<D, T>, D::Err> {
        self.forward(x)
    }
    /// `rounds` rounds of power iteration in every layer; σ̃ per layer.
    ///
    /// # Errors
    /// The device's error.
    fn power_iteration(&mut self, rounds: usize) -> Result<Vec<f32>, D::Err>;
    /// σ(W̄) = σ(W)/σ̃ per layer, σ(W) exact (the Fig. 9 measurement); for the baselines, the
    /// exact σ of the matrix each layer applies (see [`method`]).
    ///
    /// # Errors
    /// The device's or sn-core's error.
    fn sigmas_of_normalized(&self) -> Result<Vec<f64>, crate::Error>;
}
