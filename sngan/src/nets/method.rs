//! One standard-CNN discriminator per image size and width whose normalization is chosen at
//! run time: the baselines of Table 2 ([`Method`]).
//!
//! [`method_discriminator!`](crate::method_discriminator) defines the type: Table 3's layers
//! (`c0` … `c6`, `l7`, each with SN's ũ, v), a vector `gamma` of one scale per layer (used by
//! `sn-gamma` only) and the method. Per layer l the matrix applied is
//!
//! | method | weight used by layer l | after conv l (l ≥ 1) |
//! |---|---|---|
//! | `vanilla`, `clip`, `ortho`, `gan-gp`, `wgan-gp` | W | bias, leaky ReLU |
//! | `sn` | W / σ̃, σ̃ = ũᵀWv (eq. 8, 22) | bias, leaky ReLU |
//! | `sn-gamma` | γ_l · W / σ̃ (Appendix E) | bias, leaky ReLU |
//! | `wn` | W / ‖w_row‖ per output row of the d_out × (d_in·k·k) matrix | bias, leaky ReLU |
//! | `bn` | W | batch norm over (batch, H, W) per channel, then bias, leaky ReLU |
//! | `ln` | W | layer norm over (C, H, W) per sample, then bias, leaky ReLU |
//!
//! # Choices
//! - **No γ** in WN, LN and BN (the paper: γ would break the Lipschitz bound). The layer's bias
//!   is added *after* the normalization, so it plays the part of BN's and LN's β (chainer's
//!   `BatchNormalization(use_gamma=False)` keeps β); a bias before BN would cancel anyway.
//!   The normalizations sit after every convolution except the first and not after the
//!   dense layer, as in DCGAN-style discriminators (chainer-gan-lib's `DCGANDiscriminator`).
//! - **BN uses the statistics of the batch it is given**, always: D is only run while
//!   training (chainer's discriminators call BN in training mode), so there are no running
//!   statistics to save. D(real) and D(fake) are separate batches, as in the reference code.
//!   ε = [`BN_EPS`] (chainer's 2e-5), [`LN_EPS`] (chainer's 1e-6).
//! - **Orthonormal regularization**: β Σ_l ‖W_l W_lᵀ − I‖²_F with W_l the d_out × (d_in·k·k)
//!   matrix when d_out ≤ d_in·k·k, else ‖W_lᵀW_l − I‖²_F: the smaller Gram matrix, the one
//!   that can be the identity. The paper writes ‖WᵀW − I‖²_F; the two differ by the constant
//!   |d_in·k·k − d_out| (‖WᵀW‖_F = ‖WWᵀ‖_F), so their gradients are identical, and the
//!   smaller one is 0 at the orthonormal initialisation. β = [`ORTHO_BETA`] = 1e-4 (BigGAN's
//!   value for its variant; the paper does not state β). Every D weight is initialised
//!   orthonormal (QR of a Gaussian matrix: orthonormal rows when d_out ≤ d_in·k·k, else
//!   orthonormal columns), biases 0.
//! - **Weight clipping**: after every D update, every trainable tensor of D (weights, biases,
//!   and the unused `gamma`) is clamped to [−c, c], c = [`CLIP`] = 0.01 (WGAN). Adam with the
//!   run's setting, not WGAN's RMSProp: the paper compares the methods under Table 1's settings.
//! - **Gradient penalty** λ E[(‖∇_x̂ D(x̂)‖₂ − 1)²], λ = [`GP_LAMBDA`] = 10, x̂ = εx + (1−ε)x̃,
//!   ε ~ U[0, 1] per sample (drawn from the run's seed, step and draw, so resuming is exact),
//!   x real and x̃ fake; the norm is √(Σg² + 1e-12) so a zero gradient is not NaN. dfdx 0.13
//!   has no double backward, so ∇ₓD is built as a *forward* computation
//!   ([`input_gradient`](StdCnnMethodDiscriminator16Quarter::input_gradient)): D runs once
//!   without a tape to record its leaky-ReLU masks m_l, then
//!   ∇ₓD = c0ᵀ(m0 ⊙ c1ᵀ(m1 ⊙ … c6ᵀ(m6 ⊙ W₇ᵀ·1))), each cᵀ a transposed convolution with the
//!   layer's weight on the tape (the adjoint of a convolution with weight (O, I, k, k), stride
//!   s, padding p is the transposed convolution with the same tensor read as (C_in = O,
//!   C_out = I, k, k), stride s, padding p). Ordinary autodiff of that expression gives the
//!   penalty's gradient w.r.t. D's weights. The biases do not enter ∇ₓD (they only move the
//!   masks, whose derivative is 0 almost everywhere), so the penalty leaves them alone. GP
//!   methods run the vanilla D (no BN or LN, as WGAN-GP recommends).
//! - **SN-γ**: γ_l initialised to the exact σ of the initial W_l (sn-core), trained by Adam with
//!   the other parameters; one round of power iteration per update as for SN.
//!
//! # σ in `metrics.jsonl`
//! [`Discriminator::sigmas_of_normalized`] reports, for every method, the exact σ of the
//! matrix each layer applies ([`crate::baselines::effective_matrices`]): σ(W̄) for SN (as
//! for the product types), σ(γ·W̄) for SN-γ, σ(W/‖row‖) for WN, σ(W) otherwise (for BN and LN,
//! the weight's σ: the normalization's data-dependent scale is not part of it).

use dfdx::prelude::*;

pub use crate::baselines::{Method, BN_EPS, CLIP, GP_LAMBDA, LN_EPS, ORTHO_BETA, WN_EPS};
use crate::layers::SpectralNorm;
#[allow(unused_imports)]
use crate::nets::Discriminator;
use crate::ConvDevice;

/// Number of layers of the standard CNN's discriminator (seven convolutions and the dense
/// layer), the length of `gamma`.
pub const LAYERS: usize = 8;

/// The weight layer `l` applies under `method`, on the tape `T` (see the module table).
///
/// # Errors
/// The device's error.
pub fn effective_weight<const O: usize, const N: usize, S, D, T>(
    method: Method,
    weight: &Tensor<S, f32, D>,
    sn: &SpectralNorm<O, N, f32, D>,
    gamma: &Tensor<Rank1<LAYERS>, f32, D>,
    l: usize,
) -> Result<Tensor<S, f32, D, T>, D::Err>
where
    S: ConstShape,
    D: ConvDevice,
    T: Tape<f32, D>,
{
    match method {
        Method::Sn => sn.normalize::<S, T>(weight),
        Method::SnGamma => {
            let w = sn.normalize::<S, T>(weight)?;
            let mut onehot = [0.0f32; LAYERS];
            onehot[l] = 1.0;
            let onehot = gamma.device().try_tensor(onehot)?;
            let g = gamma
                .retaped::<T>()
                .try_mul(onehot)?
                .try_sum::<Rank0, _>()?;
            let shape = *w.shape();
            w.try_mul(g.try_broadcast_like(&shape)?)
        }
        Method::Wn => {
            let wm = weight.retaped::<T>().try_reshape::<Rank2<O, N>>()?;
            let norm = wm
                .with_empty_tape()
                .try_square()?
                .try_sum::<Rank1<O>, Axis<1>>()?
                .try_add(WN_EPS)?
                .try_sqrt()?;
            wm.try_div(norm.try_broadcast::<Rank2<O, N>, Axis<1>>()?)?
                .try_reshape::<S>()
        }
        _ => Ok(weight.retaped::<T>()),
    }
}

/// ‖W Wᵀ − I‖²_F for W = `weight` seen as O × N when O ≤ N, else ‖WᵀW − I‖²_F, on the tape
/// `T` (see the module documentation).
///
/// # Errors
/// The device's error.
pub fn orthonormality_defect<const O: usize, const N: usize, S, D, T>(
    weight: &Tensor<S, f32, D>,
) -> Result<Tensor<Rank0, f32, D, T>, D::Err>
where
    S: ConstShape,
    D: ConvDevice,
    T: Tape<f32, D>,
{
    let wm = weight.retaped::<T>().try_reshape::<Rank2<O, N>>()?;
    let n = O.min(N);
    let mut eye = vec![0.0f32; n * n];
    for i in 0..n {
        eye[i * n + i] = 1.0;
    }
    // dfdx's permute keeps the tensor's id, and a matmul of a tensor with itself would
    // borrow one gradient twice: the transpose is a scaled copy (×1) with an id of its own.
    if O <= N {
        let wt = wm
            .with_empty_tape()
            .try_permute::<Rank2<N, O>, _>()?
            .try_mul(1.0)?;
        let eye = weight
            .device()
            .try_tensor_from_vec(eye, (Const::<O>, Const::<O>))?;
        wm.try_matmul(wt)?
            .try_sub(eye)?
            .try_square()?
            .try_sum::<Rank0, _>()
    } else {
        let wt = wm
            .with_empty_tape()
            .try_permute::<Rank2<N, O>, _>()?
            .try_mul(1.0)?;
        let eye = weight
            .device()
            .try_tensor_from_vec(eye, (Const::<N>, Const::<N>))?;
        wt.try_matmul(wm)?
            .try_sub(eye)?
            .try_square()?
            .try_sum::<Rank0, _>()
    }
}

/// Overwrites `weight` (leading axis d_out) with an orthonormal matrix: QR of a Gaussian
/// matrix drawn from the device's RNG; orthonormal rows when d_out ≤ d_in·k·k, orthonormal
/// columns otherwise; signs fixed by R's diagonal so the draw is uniform (Haar).
///
/// # Errors
/// The device's error.
pub fn init_orthonormal<S: ConstShape, D: ConvDevice>(
    weight: &mut Tensor<S, f32, D>,
) -> Result<(), D::Err> {
    let rows = weight.shape().concrete().into_iter().next().unwrap_or(1);
    let cols = S::NUMEL / rows;
    let mut g = weight.clone();
    g.try_fill_with_distr(rand_distr::StandardNormal)?;
    let g: Vec<f64> = g.as_vec().into_iter().map(f64::from).collect();
    let tall = rows > cols;
    // A tall (k × n, k ≥ n) Gaussian matrix: Wᵀ when rows ≤ cols, W otherwise.
    let (k, n) = if tall { (rows, cols) } else { (cols, rows) };
    let a = if tall {
        nalgebra::DMatrix::from_row_slice(rows, cols, &g)
    } else {
        nalgebra::DMatrix::from_row_slice(rows, cols, &g).transpose()
    };
    let qr = a.qr();
    let (mut q, r) = (qr.q(), qr.r());
    for j in 0..n {
        if r[(j, j)] < 0.0 {
            q.column_mut(j).neg_mut();
        }
    }
    debug_assert_eq!(q.shape(), (k, n));
    let w = if tall { q } else { q.transpose() };
    let mut out = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        for j in 0..cols {
            out.push(w[(i, j)] as f32);
        }
    }
    weight.copy_from(&out);
    Ok(())
}

/// `n` draws of ε ~ U[0, 1) from an RNG seeded by `seed` (the gradient penalty's mixing
/// weights).
pub fn uniform_eps(n: usize, seed: u64) -> Vec<f32> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen::<f32>()).collect()
}

/// Leaky ReLU of `h`, after pushing `h`'s values to `record` when there is one.
///
/// # Errors
/// The device's error.
pub fn record_and_activate<S: Shape, D: ConvDevice, T: Tape<f32, D>>(
    h: Tensor<S, f32, D, T>,
    slope: f32,
    record: &mut Option<&mut Vec<Vec<f32>>>,
) -> Result<Tensor<S, f32, D, T>, D::Err> {
    if let Some(r) = record.as_mut() {
        r.push(h.as_vec());
    }
    D::leaky_relu(h, slope)
}

/// Clamps every element of `t` to [−c, c] in place (the tensor keeps its identity, so the
/// gradients and Adam moments stay attached).
pub fn clamp_in_place<S: Shape, D: ConvDevice>(t: &mut Tensor<S, f32, D>, c: f32) {
    let v: Vec<f32> = t.as_vec().into_iter().map(|x| x.clamp(-c, c)).collect();
    t.copy_from(&v);
}

/// `x ⊙ m` for a mask `m` of slopes built on the host from the pre-activations `h`: 1 where
/// h > 0, `slope` elsewhere (the derivative of leaky ReLU, with the CPU kernel's convention
/// at 0).
///
/// # Errors
/// The device's error.
pub fn apply_mask<S: Shape, D: ConvDevice, T: Tape<f32, D>>(
    g: Tensor<S, f32, D, T>,
    h: &[f32],
    slope: f32,
) -> Result<Tensor<S, f32, D, T>, D::Err> {
    let m: Vec<f32> = h
        .iter()
        .map(|&v| if v > 0.0 { 1.0 } else { slope })
        .collect();
    let shape = *g.shape();
    let m = g.device().try_tensor_from_vec(m, shape)?;
    g.try_mul(m)
}

/// The adjoint of a convolution with weight `w` (O, I, K, K), stride S, padding P, applied
/// to `g` (B, O, HO, WO): the transposed convolution with the same weight, giving
/// (B, I, H, W). The weight's tape is merged into `g`'s.
///
/// # Errors
/// The device's error.
pub fn conv_adjoint<
    const I: usize,
    const O: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const HO: usize,
    const WO: usize,
    D: ConvDevice,
    T: Tape<f32, D>,
>(
    g: Tensor<(usize, Const<O>, Const<HO>, Const<WO>), f32, D, T>,
    w: Tensor<Rank4<O, I, K, K>, f32, D, T>,
) -> Result<Tensor<(usize, Const<I>, Const<H>, Const<W>), f32, D, T>, D::Err> {
    let batch = g.shape().0;
    let (w, wtape) = w.split_tape();
    let (g, gtape) = g.split_tape();
    let g = g
        .put_tape(gtape.merge(wtape))
        .try_reshape_like(&(batch, O, HO, WO))?;
    let w = w.try_reshape_like(&(O, I, K, K))?;
    let zero = w.device().try_zeros_like(&(I,))?;
    let y = D::conv_transpose2d(g, w, &zero, S, P)?;
    assert_eq!(
        crate::device::dims(y.shape()),
        vec![batch, I, H, W],
        "the adjoint of a convolution must restore its input size"
    );
    y.try_reshape_like(&(batch, Const::<I>, Const::<H>, Const::<W>))
}

/// Defines a Table 3 discriminator type whose method is chosen at run time, for images
/// `m × m` with conv channels `ch` and leaky-ReLU slope `slope` (see the
/// [module documentation](crate::nets::method)).
#[macro_export]
macro_rules! method_discriminator {
    (
        $(#[$meta:meta])*
        $name:ident, m = $m:literal, ch = [$d0:literal, $d1:literal, $d2:literal, $d3:literal,
        $d4:literal, $d5:literal, $d6:literal], slope = $slope:literal
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name<
            E: $crate::dfdx::shapes::Dtype = f32,
            D: $crate::dfdx::tensor::Storage<E> = $crate::Dev,
        > {
            /// conv 3×3 stride 1, 3 → d0, at M × M.
            pub c0: $crate::layers::SnConv2d<3, $d0, 3, 1, 1, { 3 * 9 }, false, E, D>,
            /// conv 4×4 stride 2, d0 → d1, M → M/2.
            pub c1: $crate::layers::SnConv2d<$d0, $d1, 4, 2, 1, { $d0 * 16 }, false, E, D>,
            /// conv 3×3 stride 1, d1 → d2.
            pub c2: $crate::layers::SnConv2d<$d1, $d2, 3, 1, 1, { $d1 * 9 }, false, E, D>,
            /// conv 4×4 stride 2, d2 → d3, M/2 → M/4.
            pub c3: $crate::layers::SnConv2d<$d2, $d3, 4, 2, 1, { $d2 * 16 }, false, E, D>,
            /// conv 3×3 stride 1, d3 → d4.
            pub c4: $crate::layers::SnConv2d<$d3, $d4, 3, 1, 1, { $d3 * 9 }, false, E, D>,
            /// conv 4×4 stride 2, d4 → d5, M/4 → M/8.
            pub c5: $crate::layers::SnConv2d<$d4, $d5, 4, 2, 1, { $d4 * 16 }, false, E, D>,
            /// conv 3×3 stride 1, d5 → d6.
            pub c6: $crate::layers::SnConv2d<$d5, $d6, 3, 1, 1, { $d5 * 9 }, false, E, D>,
            /// dense d6·(M/8)² → 1.
            pub l7: $crate::layers::SnLinear<{ $d6 * ($m / 8) * ($m / 8) }, 1, false, E, D>,
            /// SN-γ's scale of every layer, in layer order (trained by `sn-gamma` only).
            pub gamma: $crate::dfdx::tensor::Tensor<$crate::dfdx::shapes::Rank1<8>, E, D>,
            method: $crate::baselines::Method,
        }

        impl<D: $crate::ConvDevice> $name<f32, D> {
            /// Image side M.
            pub const M: usize = $m;
            /// Leaky-ReLU slope.
            pub const SLOPE: f32 = $slope;
            /// Layer names, in order (for σ reports).
            pub const LAYERS: [&'static str; 8] = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "l7"];

            /// Builds the network for `method` on `dev`: weights N(0, 0.02²) (orthonormal for
            /// `ortho`), biases 0, ũ random unit with `warmup` power-iteration rounds (`sn`,
            /// `sn-gamma`), γ_l = σ(W_l) exact (`sn-gamma`; 1 otherwise).
            ///
            /// # Errors
            /// The device's error or sn-core's.
            pub fn new(
                dev: &D,
                warmup: usize,
                method: $crate::baselines::Method,
            ) -> Result<Self, $crate::Error> {
                use $crate::baselines::Method;
                let e = D::into_error;
                let mut d = <Self as $crate::dfdx::nn::BuildModule<D, f32>>::try_build(dev)
                    .map_err(e)?;
                d.method = method;
                if method == Method::Ortho {
                    use $crate::nets::method::init_orthonormal as o;
                    o(&mut d.c0.conv.weight).map_err(e)?;
                    o(&mut d.c1.conv.weight).map_err(e)?;
                    o(&mut d.c2.conv.weight).map_err(e)?;
                    o(&mut d.c3.conv.weight).map_err(e)?;
                    o(&mut d.c4.conv.weight).map_err(e)?;
                    o(&mut d.c5.conv.weight).map_err(e)?;
                    o(&mut d.c6.conv.weight).map_err(e)?;
                    o(&mut d.l7.weight).map_err(e)?;
                }
                d.power_iteration(warmup).map_err(e)?;
                if method == Method::SnGamma {
                    let sigmas = $crate::baselines::effective_matrices(
                        Method::Vanilla,
                        &Self::LAYERS,
                        &$crate::checkpoint::named_tensors(&d).map_err(e)?,
                    )?
                    .iter()
                    .map(|m| m.sigma().map(|s| s as f32))
                    .collect::<Result<Vec<f32>, _>>()?;
                    d.gamma.copy_from(&sigmas);
                }
                Ok(d)
            }

            /// The method this discriminator was built for.
            pub fn method(&self) -> $crate::baselines::Method {
                self.method
            }

            fn weights<T: $crate::dfdx::tensor::Tape<f32, D>>(
                &self,
            ) -> Result<
                (
                    $crate::dfdx::tensor::Tensor<$crate::dfdx::shapes::Rank4<$d0, 3, 3, 3>, f32, D, T>,
                    $crate::dfdx::tensor::Tensor<$crate::dfdx::shapes::Rank4<$d1, $d0, 4, 4>, f32, D, T>,
                    $crate::dfdx::tensor::Tensor<$crate::dfdx::shapes::Rank4<$d2, $d1, 3, 3>, f32, D, T>,
                    $crate::dfdx::tensor::Tensor<$crate::dfdx::shapes::Rank4<$d3, $d2, 4, 4>, f32, D, T>,
                    $crate::dfdx::tensor::Tensor<$crate::dfdx::shapes::Rank4<$d4, $d3, 3, 3>, f32, D, T>,
                    $crate::dfdx::tensor::Tensor<$crate::dfdx::shapes::Rank4<$d5, $d4, 4, 4>, f32, D, T>,
                    $crate::dfdx::tensor::Tensor<$crate::dfdx::shapes::Rank4<$d6, $d5, 3, 3>, f32, D, T>,
                    $crate::dfdx::tensor::Tensor<
                        $crate::dfdx::shapes::Rank2<1, { $d6 * ($m / 8) * ($m / 8) }>, f32, D, T>,
                ),
                D::Err,
            > {
                use $crate::nets::method::effective_weight as w;
                let (m, g) = (self.method, &self.gamma);
                Ok((
                    w(m, &self.c0.conv.weight, &self.c0.sn, g, 0)?,
                    w(m, &self.c1.conv.weight, &self.c1.sn, g, 1)?,
                    w(m, &self.c2.conv.weight, &self.c2.sn, g, 2)?,
                    w(m, &self.c3.conv.weight, &self.c3.sn, g, 3)?,
                    w(m, &self.c4.conv.weight, &self.c4.sn, g, 4)?,
                    w(m, &self.c5.conv.weight, &self.c5.sn, g, 5)?,
                    w(m, &self.c6.conv.weight, &self.c6.sn, g, 6)?,
                    w(m, &self.l7.weight, &self.l7.sn, g, 7)?,
                ))
            }

            /// Conv `l` with the effective weight `w`, then (for `bn`, `ln` and `norm`) the
            /// normalization, then the bias.
            #[allow(clippy::too_many_arguments)]
            fn conv<
                const I: usize, const O: usize, const K: usize, const S: usize,
                const H: usize, const HO: usize, T: $crate::dfdx::tensor::Tape<f32, D>,
            >(
                &self,
                x: $crate::dfdx::tensor::Tensor<
                    (usize, $crate::dfdx::shapes::Const<I>, $crate::dfdx::shapes::Const<H>,
                     $crate::dfdx::shapes::Const<H>), f32, D, T>,
                w: $crate::dfdx::tensor::Tensor<$crate::dfdx::shapes::Rank4<O, I, K, K>, f32, D, T>,
                bias: &$crate::dfdx::tensor::Tensor<$crate::dfdx::shapes::Rank1<O>, f32, D>,
                norm: bool,
            ) -> Result<
                $crate::dfdx::tensor::Tensor<
                    (usize, $crate::dfdx::shapes::Const<O>, $crate::dfdx::shapes::Const<HO>,
                     $crate::dfdx::shapes::Const<HO>), f32, D, T>,
                D::Err,
            > {
                use $crate::baselines::Method;
                use $crate::dfdx::prelude::*;
                type C<const I: usize, const O: usize, const K: usize, const S: usize, D> =
                    $crate::layers::Conv2d<I, O, K, S, 1, f32, D>;
                match (norm, self.method) {
                    (true, Method::Bn | Method::Ln) => {
                        let zero = bias.clone().try_mul(0.0)?;
                        let y = C::<I, O, K, S, D>::forward_with::<H, H, HO, HO, T>(x, w, &zero)?;
                        let y = if self.method == Method::Bn {
                            y.try_normalize::<Axes3<0, 2, 3>>($crate::baselines::BN_EPS)?
                        } else {
                            y.try_normalize::<Axes3<1, 2, 3>>($crate::baselines::LN_EPS)?
                        };
                        let shape = *y.shape();
                        let b = bias.retaped::<T>().try_broadcast_like::<_, Axes3<0, 2, 3>>(&shape)?;
                        y.try_add(b)
                    }
                    _ => C::<I, O, K, S, D>::forward_with::<H, H, HO, HO, T>(x, w, bias),
                }
            }

            /// Every layer's pre-activation (after the convolution, normalization and bias,
            /// before the leaky ReLU), for c0 … c6, and the logits.
            fn forward_parts<T: $crate::dfdx::tensor::Tape<f32, D>>(
                &self,
                x: $crate::nets::Image<$m, D, T>,
                mut record: Option<&mut Vec<Vec<f32>>>,
            ) -> Result<$crate::nets::Logits<D, T>, D::Err> {
                use $crate::dfdx::prelude::*;
                use $crate::nets::method::record_and_activate as act;
                let s = Self::SLOPE;
                let (w0, w1, w2, w3, w4, w5, w6, w7) = self.weights::<T>()?;
                let h = self.conv::<3, $d0, 3, 1, $m, $m, T>(x, w0, &self.c0.conv.bias, false)?;
                let h = self.conv::<$d0, $d1, 4, 2, $m, { $m / 2 }, T>(act(h, s, &mut record)?, w1, &self.c1.conv.bias, true)?;
                let h = self.conv::<$d1, $d2, 3, 1, { $m / 2 }, { $m / 2 }, T>(act(h, s, &mut record)?, w2, &self.c2.conv.bias, true)?;
                let h = self.conv::<$d2, $d3, 4, 2, { $m / 2 }, { $m / 4 }, T>(act(h, s, &mut record)?, w3, &self.c3.conv.bias, true)?;
                let h = self.conv::<$d3, $d4, 3, 1, { $m / 4 }, { $m / 4 }, T>(act(h, s, &mut record)?, w4, &self.c4.conv.bias, true)?;
                let h = self.conv::<$d4, $d5, 4, 2, { $m / 4 }, { $m / 8 }, T>(act(h, s, &mut record)?, w5, &self.c5.conv.bias, true)?;
                let h = self.conv::<$d5, $d6, 3, 1, { $m / 8 }, { $m / 8 }, T>(act(h, s, &mut record)?, w6, &self.c6.conv.bias, true)?;
                let h = act(h, s, &mut record)?;
                let batch = h.shape().0;
                let flat = h.try_reshape_like(&(batch, Const::<{ $d6 * ($m / 8) * ($m / 8) }>))?;
                let y = flat.try_matmul(w7.try_permute::<Rank2<{ $d6 * ($m / 8) * ($m / 8) }, 1>, _>()?)?;
                let shape = *y.shape();
                let b = self.l7.bias.retaped::<T>().try_broadcast_like::<_, Axis<0>>(&shape)?;
                y.try_add(b)
            }

            /// D(x): logits before any sigmoid, one per image.
            ///
            /// # Errors
            /// The device's error.
            pub fn forward<T: $crate::dfdx::tensor::Tape<f32, D>>(
                &self,
                x: $crate::nets::Image<$m, D, T>,
            ) -> Result<$crate::nets::Logits<D, T>, D::Err> {
                self.forward_parts(x, None)
            }

            /// The pre-activations of c0 … c6 for `x` (after normalization and bias, before
            /// the leaky ReLU), each flattened NCHW.
            ///
            /// # Errors
            /// The device's error.
            pub fn pre_activations(
                &self,
                x: $crate::nets::Image<$m, D, $crate::dfdx::tensor::NoneTape>,
            ) -> Result<Vec<Vec<f32>>, D::Err> {
                let mut out = Vec::with_capacity(7);
                self.forward_parts(x, Some(&mut out))?;
                Ok(out)
            }

            /// ∇ₓ Σ_b D(x)_b, built as a forward computation on the tape `T` whose only
            /// traced inputs are D's weights: c0ᵀ(m0 ⊙ c1ᵀ(m1 ⊙ … c6ᵀ(m6 ⊙ W₇ᵀ·1))) with the
            /// masks m_l recorded by a tape-free forward of `x` (see the
            /// [module documentation](crate::nets::method)).
            ///
            /// # Errors
            /// The device's error.
            ///
            /// # Panics
            /// For `bn` and `ln`, whose normalizations are not part of this expression.
            pub fn input_gradient<T: $crate::dfdx::tensor::Tape<f32, D>>(
                &self,
                x: $crate::nets::Image<$m, D, $crate::dfdx::tensor::NoneTape>,
            ) -> Result<$crate::nets::Image<$m, D, T>, D::Err> {
                use $crate::dfdx::prelude::*;
                use $crate::nets::method::{apply_mask as mask, conv_adjoint as adj};
                assert!(
                    !matches!(self.method, $crate::baselines::Method::Bn | $crate::baselines::Method::Ln),
                    "the explicit input gradient covers discriminators without BN or LN"
                );
                let batch = x.shape().0;
                let h = self.pre_activations(x)?;
                let s = Self::SLOPE;
                let (w0, w1, w2, w3, w4, w5, w6, w7) = self.weights::<T>()?;
                const N7: usize = $d6 * ($m / 8) * ($m / 8);
                let g = w7
                    .try_reshape::<Rank1<N7>>()?
                    .try_broadcast_like::<_, Axis<0>>(&(batch, Const::<N7>))?
                    .try_reshape_like(&(batch, Const::<$d6>, Const::<{ $m / 8 }>, Const::<{ $m / 8 }>))?;
                let g = mask(g, &h[6], s)?;
                let g = adj::<$d5, $d6, 3, 1, 1, { $m / 8 }, { $m / 8 }, { $m / 8 }, { $m / 8 }, D, T>(g, w6)?;
                let g = mask(g, &h[5], s)?;
                let g = adj::<$d4, $d5, 4, 2, 1, { $m / 4 }, { $m / 4 }, { $m / 8 }, { $m / 8 }, D, T>(g, w5)?;
                let g = mask(g, &h[4], s)?;
                let g = adj::<$d3, $d4, 3, 1, 1, { $m / 4 }, { $m / 4 }, { $m / 4 }, { $m / 4 }, D, T>(g, w4)?;
                let g = mask(g, &h[3], s)?;
                let g = adj::<$d2, $d3, 4, 2, 1, { $m / 2 }, { $m / 2 }, { $m / 4 }, { $m / 4 }, D, T>(g, w3)?;
                let g = mask(g, &h[2], s)?;
                let g = adj::<$d1, $d2, 3, 1, 1, { $m / 2 }, { $m / 2 }, { $m / 2 }, { $m / 2 }, D, T>(g, w2)?;
                let g = mask(g, &h[1], s)?;
                let g = adj::<$d0, $d1, 4, 2, 1, $m, $m, { $m / 2 }, { $m / 2 }, D, T>(g, w1)?;
                let g = mask(g, &h[0], s)?;
                adj::<3, $d0, 3, 1, 1, $m, $m, $m, $m, D, T>(g, w0)
            }

            /// The gradient penalty λ·mean_b (‖∇ₓD(x̂_b)‖₂ − 1)² at x̂ = εx + (1 − ε)x̃, with
            /// `eps` (one per sample, in [0, 1]), `real` = x and `fake` = x̃; on a fresh
            /// [`OwnedTape`](dfdx::tensor::OwnedTape) reaching D's weights.
            ///
            /// # Errors
            /// The device's error.
            pub fn gradient_penalty(
                &self,
                real: &$crate::nets::Image<$m, D, $crate::dfdx::tensor::NoneTape>,
                fake: &$crate::nets::Image<$m, D, $crate::dfdx::tensor::NoneTape>,
                eps: &[f32],
            ) -> Result<
                $crate::dfdx::tensor::Tensor<$crate::dfdx::shapes::Rank0, f32, D,
                    $crate::dfdx::tensor::OwnedTape<f32, D>>,
                D::Err,
            > {
                use $crate::dfdx::prelude::*;
                let shape = *real.shape();
                let batch = shape.0;
                let e = real.device().try_tensor_from_vec(eps.to_vec(), (batch,))?;
                let e = e.try_broadcast_like::<_, Axes3<1, 2, 3>>(&shape)?;
                let one_minus = e.clone().try_negate()?.try_add(1.0)?;
                let x_hat = real.clone().try_mul(e)?.try_add(fake.clone().try_mul(one_minus)?)?;
                let g = self.input_gradient::<OwnedTape<f32, D>>(x_hat)?;
                g.try_square()?
                    .try_sum::<(usize,), Axes3<1, 2, 3>>()?
                    .try_add(1e-12)?
                    .try_sqrt()?
                    .try_sub(1.0)?
                    .try_square()?
                    .try_mean::<Rank0, _>()?
                    .try_mul($crate::baselines::GP_LAMBDA)
            }

            /// β Σ_l ‖W_l W_lᵀ − I‖²_F (the smaller Gram matrix of each layer), on a fresh
            /// tape reaching the weights.
            ///
            /// # Errors
            /// The device's error.
            pub fn orthonormal_regularizer<T: $crate::dfdx::tensor::Tape<f32, D>>(
                &self,
            ) -> Result<$crate::dfdx::tensor::Tensor<$crate::dfdx::shapes::Rank0, f32, D, T>, D::Err> {
                use $crate::dfdx::prelude::*;
                use $crate::nets::method::orthonormality_defect as o;
                let r = o::<$d0, { 3 * 9 }, _, D, T>(&self.c0.conv.weight)?;
                let r = r.try_add(o::<$d1, { $d0 * 16 }, _, D, T>(&self.c1.conv.weight)?)?;
                let r = r.try_add(o::<$d2, { $d1 * 9 }, _, D, T>(&self.c2.conv.weight)?)?;
                let r = r.try_add(o::<$d3, { $d2 * 16 }, _, D, T>(&self.c3.conv.weight)?)?;
                let r = r.try_add(o::<$d4, { $d3 * 9 }, _, D, T>(&self.c4.conv.weight)?)?;
                let r = r.try_add(o::<$d5, { $d4 * 16 }, _, D, T>(&self.c5.conv.weight)?)?;
                let r = r.try_add(o::<$d6, { $d5 * 9 }, _, D, T>(&self.c6.conv.weight)?)?;
                let r = r.try_add(o::<1, { $d6 * ($m / 8) * ($m / 8) }, _, D, T>(&self.l7.weight)?)?;
                r.try_mul($crate::baselines::ORTHO_BETA)
            }

            /// `rounds` power-iteration rounds in every layer for `sn` and `sn-gamma` (σ̃ per
            /// layer); nothing (and no σ̃) for the other methods.
            ///
            /// # Errors
            /// The device's error.
            pub fn power_iteration(&mut self, rounds: usize) -> Result<Vec<f32>, D::Err> {
                if !self.method.spectrally_normalized() {
                    return Ok(Vec::new());
                }
                Ok(vec![
                    self.c0.power_iteration(rounds)?,
                    self.c1.power_iteration(rounds)?,
                    self.c2.power_iteration(rounds)?,
                    self.c3.power_iteration(rounds)?,
                    self.c4.power_iteration(rounds)?,
                    self.c5.power_iteration(rounds)?,
                    self.c6.power_iteration(rounds)?,
                    self.l7.power_iteration(rounds)?,
                ])
            }

            /// The exact σ of the matrix every layer applies (see the
            /// [module documentation](crate::nets::method)).
            ///
            /// # Errors
            /// The device's error or sn-core's.
            pub fn sigmas_of_normalized(&self) -> Result<Vec<f64>, $crate::Error> {
                let tensors = $crate::checkpoint::named_tensors(self).map_err(D::into_error)?;
                $crate::baselines::effective_matrices(self.method, &Self::LAYERS, &tensors)?
                    .iter()
                    .map(|m| m.sigma())
                    .collect()
            }
        }

        impl<D: $crate::ConvDevice> $crate::nets::Discriminator<$m, D> for $name<f32, D> {
            const LAYERS: &'static [&'static str] = &Self::LAYERS;
            // Power iteration is asked for every update; it does nothing unless the method is
            // `sn` or `sn-gamma`.
            const SPECTRAL_NORM: bool = true;

            fn build(dev: &D, warmup: usize) -> Result<Self, D::Err> {
                let mut d = <Self as $crate::dfdx::nn::BuildModule<D, f32>>::try_build(dev)?;
                d.method = $crate::baselines::Method::Sn;
                d.power_iteration(warmup)?;
                Ok(d)
            }
            fn build_for(
                dev: &D,
                warmup: usize,
                method: $crate::baselines::Method,
            ) -> Result<Self, $crate::Error> {
                Self::new(dev, warmup, method)
            }
            fn forward<T: $crate::dfdx::tensor::Tape<f32, D>>(
                &self,
                x: $crate::nets::Image<$m, D, T>,
            ) -> Result<$crate::nets::Logits<D, T>, D::Err> {
                $name::<f32, D>::forward(self, x)
            }
            fn power_iteration(&mut self, rounds: usize) -> Result<Vec<f32>, D::Err> {
                $name::<f32, D>::power_iteration(self, rounds)
            }
            fn sigmas_of_normalized(&self) -> Result<Vec<f64>, $crate::Error> {
                $name::<f32, D>::sigmas_of_normalized(self)
            }
            // Batch normalization takes its statistics over the batch it is given; every
            // other method's D treats each image alone.
            fn per_image(&self) -> bool {
                self.method != $crate::baselines::Method::Bn
            }
            fn after_update(&mut self) -> Result<(), D::Err> {
                if self.method == $crate::baselines::Method::Clip {
                    use $crate::nets::method::clamp_in_place as c;
                    let k = $crate::baselines::CLIP;
                    c(&mut self.c0.conv.weight, k); c(&mut self.c0.conv.bias, k);
                    c(&mut self.c1.conv.weight, k); c(&mut self.c1.conv.bias, k);
                    c(&mut self.c2.conv.weight, k); c(&mut self.c2.conv.bias, k);
                    c(&mut self.c3.conv.weight, k); c(&mut self.c3.conv.bias, k);
                    c(&mut self.c4.conv.weight, k); c(&mut self.c4.conv.bias, k);
                    c(&mut self.c5.conv.weight, k); c(&mut self.c5.conv.bias, k);
                    c(&mut self.c6.conv.weight, k); c(&mut self.c6.conv.bias, k);
                    c(&mut self.l7.weight, k); c(&mut self.l7.bias, k);
                    c(&mut self.gamma, k);
                }
                Ok(())
            }
            fn loss_term(
                &self,
                real: &$crate::nets::Image<$m, D, $crate::dfdx::tensor::NoneTape>,
                fake: &$crate::nets::Image<$m, D, $crate::dfdx::tensor::NoneTape>,
                seed: u64,
            ) -> Result<
                Option<$crate::dfdx::tensor::Tensor<$crate::dfdx::shapes::Rank0, f32, D,
                    $crate::dfdx::tensor::OwnedTape<f32, D>>>,
                D::Err,
            > {
                use $crate::baselines::Method;
                match self.method {
                    Method::Ortho => self.orthonormal_regularizer().map(Some),
                    Method::GanGp | Method::WganGp => {
                        let eps = $crate::nets::method::uniform_eps(real.shape().0, seed);
                        self.gradient_penalty(real, fake, &eps).map(Some)
                    }
                    _ => Ok(None),
                }
            }
        }

        impl<D: $crate::dfdx::tensor_ops::Device<f32>>
            $crate::dfdx::nn::tensor_collection::TensorCollection<f32, D> for $name<f32, D>
        {
            type To<E2: $crate::dfdx::shapes::Dtype, D2: $crate::dfdx::tensor_ops::Device<E2>> =
                $name<E2, D2>;

            fn iter_tensors<V: $crate::dfdx::nn::tensor_collection::ModuleVisitor<Self, f32, D>>(
                visitor: &mut V,
            ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
                use $crate::dfdx::nn::tensor_collection::TensorOptions;
                visitor.visit_fields(
                    (
                        (
                            Self::module("c0", |s| &s.c0, |s| &mut s.c0),
                            Self::module("c1", |s| &s.c1, |s| &mut s.c1),
                            Self::module("c2", |s| &s.c2, |s| &mut s.c2),
                            Self::module("c3", |s| &s.c3, |s| &mut s.c3),
                        ),
                        (
                            Self::module("c4", |s| &s.c4, |s| &mut s.c4),
                            Self::module("c5", |s| &s.c5, |s| &mut s.c5),
                            Self::module("c6", |s| &s.c6, |s| &mut s.c6),
                            Self::module("l7", |s| &s.l7, |s| &mut s.l7),
                        ),
                        Self::tensor(
                            "gamma",
                            |s| &s.gamma,
                            |s| &mut s.gamma,
                            TensorOptions::reset_to_ones(),
                        ),
                    ),
                    // The method is set by `new` after the tensors are built.
                    |((c0, c1, c2, c3), (c4, c5, c6, l7), gamma)| $name {
                        c0, c1, c2, c3, c4, c5, c6, l7, gamma,
                        method: $crate::baselines::Method::Sn,
                    },
                )
            }
        }
    };
}

crate::method_discriminator!(
    /// Table 3's paper discriminator at ¼ width for 16 × 16 images (the embedded digits), any
    /// [`Method`].
    StdCnnMethodDiscriminator16Quarter, m = 16, ch = [16, 16, 32, 32, 64, 64, 128], slope = 0.1
);
crate::method_discriminator!(
    /// Table 3's paper discriminator for CIFAR-10 (M = 32), any [`Method`].
    StdCnnMethodDiscriminator32, m = 32, ch = [64, 64, 128, 128, 256, 256, 512], slope = 0.1
);
crate::method_discriminator!(
    /// Table 3's paper discriminator at ¼ width (M = 32), any [`Method`].
    StdCnnMethodDiscriminator32Quarter, m = 32, ch = [16, 16, 32, 32, 64, 64, 128], slope = 0.1
);
crate::method_discriminator!(
    /// Table 3's paper discriminator for STL-10 (M = 48), any [`Method`].
    StdCnnMethodDiscriminator48, m = 48, ch = [64, 64, 128, 128, 256, 256, 512], slope = 0.1
);
crate::method_discriminator!(
    /// Table 3's paper discriminator at ¼ width (M = 48), any [`Method`].
    StdCnnMethodDiscriminator48Quarter, m = 48, ch = [16, 16, 32, 32, 64, 64, 128], slope = 0.1
);
crate::method_discriminator!(
    /// chainer-gan-lib's discriminator (M = 32), any [`Method`].
    StdCnnMethodDiscriminator32Ref, m = 32, ch = [64, 128, 128, 256, 256, 512, 512], slope = 0.2
);
crate::method_discriminator!(
    /// chainer-gan-lib's discriminator at ¼ width (M = 32), any [`Method`].
    StdCnnMethodDiscriminator32RefQuarter, m = 32, ch = [16, 32, 32, 64, 64, 128, 128], slope = 0.2
);
crate::method_discriminator!(
    /// chainer-gan-lib's discriminator (M = 48), any [`Method`].
    StdCnnMethodDiscriminator48Ref, m = 48, ch = [64, 128, 128, 256, 256, 512, 512], slope = 0.2
);
crate::method_discriminator!(
    /// chainer-gan-lib's discriminator at ¼ width (M = 48), any [`Method`].
    StdCnnMethodDiscriminator48RefQuarter, m = 48, ch = [16, 32, 32, 64, 64, 128, 128], slope = 0.2
);
