//! The paper's networks.

pub mod std_cnn;

use dfdx::shapes::Const;
use dfdx::tensor::Tensor;

/// Dimension of z (all of the paper's experiments).
pub const Z_DIM: usize = 128;

/// A batch of RGB images `M × M`, NCHW, values in [−1, 1].
pub type Image<const M: usize, D, T> = Tensor<(usize, Const<3>, Const<M>, Const<M>), f32, D, T>;

/// One discriminator logit per image.
pub type Logits<D, T> = Tensor<(usize, Const<1>), f32, D, T>;

/// A batch of latent vectors z.
pub type Latents<D, T> = Tensor<(usize, Const<Z_DIM>), f32, D, T>;
