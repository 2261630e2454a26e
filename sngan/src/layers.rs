//! Layers with compile-time shapes: convolution, transposed convolution, dense, each optionally
//! spectrally normalized, and the spectral-normalization state they share.
//!
//! Shapes: batch is `usize`; channels and spatial sizes are `Const`. A layer's `forward` is
//! generic over its input size `H × W` and output size `HO × WO`; the relation between them is
//! checked at compile time by an associated-const `assert!` (dfdx's `same_numel.rs` idiom, which
//! works on stable), so a network whose sizes do not chain does not build.
//!
//! # Spectral normalization on the tape
//! [`SpectralNorm`] holds the persistent ũ (eq. 20–21) and v as detached tensors: saved with the
//! model, never trained. Power iteration runs only when the trainer calls
//! [`SpectralNorm::power_iteration`] (once per training update); every forward — training or
//! evaluation — computes σ̃ = ũᵀ W v from the stored vectors on the tape and uses W̄ = W / σ̃, so
//! autodiff yields eq. 12, and D(real) and D(fake) of one update see the same W̄.
//!
//! # Initialisation
//! Every weight is drawn from N(0, 0.02²) and every bias is zero (the reference code's
//! `Normal(0.02)` initializer); ũ is drawn from N(0, I) and normalized.

use dfdx::nn::tensor_collection::{ModuleVisitor, TensorCollection, TensorOptions};
use dfdx::prelude::*;
use rand_distr::Normal;

use crate::device::{ConvDevice, Dev};

/// Standard deviation of the weight initialisation, N(0, 0.02²).
pub const INIT_STD: f32 = 0.02;

/// ε of `x / max(‖x‖, ε)` in power iteration (PyTorch's convention and value).
pub const NORM_EPS: f32 = 1e-12;

/// `HO = (H + 2P − K)/S + 1` for a convolution, checked when `forward` is instantiated.
struct ConvOut<const H: usize, const HO: usize, const K: usize, const S: usize, const P: usize>;
impl<const H: usize, const HO: usize, const K: usize, const S: usize, const P: usize>
    ConvOut<H, HO, K, S, P>
{
    const OK: () = assert!(
        S > 0 && H + 2 * P >= K && (H + 2 * P - K) / S + 1 == HO,
        "convolution output size must be (H + 2P - K)/S + 1"
    );
}

/// `HO = (H − 1)·S − 2P + K` for a transposed convolution.
struct ConvTransOut<const H: usize, const HO: usize, const K: usize, const S: usize, const P: usize>;
impl<const H: usize, const HO: usize, const K: usize, const S: usize, const P: usize>
    ConvTransOut<H, HO, K, S, P>
{
    const OK: () = assert!(
        H >= 1 && (H - 1) * S + K == HO + 2 * P,
        "transposed-convolution output size must be (H - 1)S - 2P + K"
    );
}

/// `N = I·K·K`: the column count of a convolution weight seen as a matrix.
struct ConvCols<const I: usize, const K: usize, const N: usize>;
impl<const I: usize, const K: usize, const N: usize> ConvCols<I, K, N> {
    const OK: () = assert!(N == I * K * K, "N must equal d_in·k·k");
}

fn init_normal<S: Shape, D: Device<f32>>(t: &mut Tensor<S, f32, D>) -> Result<(), D::Err> {
    t.try_fill_with_distr(Normal::new(0.0, INIT_STD).expect("finite std"))
}

fn init_unit<const L: usize, D: Device<f32>>(
    t: &mut Tensor<Rank1<L>, f32, D>,
) -> Result<(), D::Err> {
    t.try_fill_with_distr(Normal::new(0.0f32, 1.0).expect("finite std"))?;
    // Device-side normalization: the reset hook only knows `Device<f32>`.
    let n = t.clone().try_square()?.try_sum::<Rank0, _>()?.try_sqrt()?;
    *t = t
        .clone()
        .try_div(n.try_clamp(NORM_EPS, f32::MAX)?.try_broadcast()?)?;
    Ok(())
}

/// `x / max(‖x‖₂, ε)`, host-side norm.
fn l2_normalize<const L: usize, D: ConvDevice>(
    x: Tensor<Rank1<L>, f32, D>,
) -> Result<Tensor<Rank1<L>, f32, D>, D::Err> {
    let n = x
        .clone()
        .try_square()?
        .try_sum::<Rank0, _>()?
        .try_sqrt()?
        .array();
    x.try_mul(1.0 / n.max(NORM_EPS))
}

/// Persistent spectral-normalization state of one weight seen as the matrix `O × N`
/// (d_out × d_in·kh·kw): ũ ∈ R^O and v ∈ R^N (Algorithm 1). Detached: never trained.
#[derive(Clone, Debug)]
pub struct SpectralNorm<const O: usize, const N: usize, E: Dtype = f32, D: Storage<E> = Dev> {
    /// The persistent left vector ũ (eq. 21), unit norm.
    pub u: Tensor<Rank1<O>, E, D>,
    /// The right vector v of the last round (eq. 20), unit norm after the first round.
    pub v: Tensor<Rank1<N>, E, D>,
}

impl<const O: usize, const N: usize, D: ConvDevice> SpectralNorm<O, N, f32, D> {
    /// Runs `rounds` rounds of eq. 20–21 on the persistent ũ against `weight` (any shape with
    /// O·N elements whose leading axis is d_out), then returns σ̃ = ũᵀ W v (eq. 22). No tape.
    ///
    /// # Errors
    /// The device's error.
    pub fn power_iteration<S: ConstShape>(
        &mut self,
        weight: &Tensor<S, f32, D>,
        rounds: usize,
    ) -> Result<f32, D::Err> {
        let wm = weight.clone().try_reshape::<Rank2<O, N>>()?;
        for _ in 0..rounds {
            let v = self
                .u
                .clone()
                .try_reshape::<Rank2<1, O>>()?
                .try_matmul(wm.clone())?
                .try_reshape::<Rank1<N>>()?;
            self.v = l2_normalize(v)?;
            let u = wm
                .clone()
                .try_matmul(self.v.clone().try_reshape::<Rank2<N, 1>>()?)?
                .try_reshape::<Rank1<O>>()?;
            self.u = l2_normalize(u)?;
        }
        Ok(self.sigma::<S, NoneTape>(weight)?.array())
    }

    /// σ̃ = ũᵀ W v (eq. 22) on the tape `T`, with ũ, v constants.
    ///
    /// # Errors
    /// The device's error.
    pub fn sigma<S: ConstShape, T: Tape<f32, D>>(
        &self,
        weight: &Tensor<S, f32, D>,
    ) -> Result<Tensor<Rank0, f32, D, T>, D::Err> {
        weight
            .retaped::<T>()
            .try_reshape::<Rank2<O, N>>()?
            .try_matmul(self.v.clone().try_reshape::<Rank2<N, 1>>()?)?
            .try_mul(self.u.clone().try_reshape::<Rank2<O, 1>>()?)?
            .try_sum::<Rank0, _>()
    }

    /// W̄ = W / σ̃ (eq. 8) on the tape `T`: autodiff of this is eq. 12.
    ///
    /// # Errors
    /// The device's error.
    pub fn normalize<S: ConstShape, T: Tape<f32, D>>(
        &self,
        weight: &Tensor<S, f32, D>,
    ) -> Result<Tensor<S, f32, D, T>, D::Err> {
        D::spectral_normalize::<O, N, S, T>(weight, &self.u, &self.v)
    }

    /// σ(W̄) = σ(W) / σ̃ with σ(W) computed exactly by sn-core (f64, relative tolerance 1e-6 on
    /// the singular vectors, so σ to about 1e-12): the Fig. 9 measurement. Copies W to the host.
    ///
    /// # Errors
    /// The device's error, or sn-core's (NaN/Inf in W, σ̃ = 0).
    pub fn sigma_of_normalized<S: ConstShape>(
        &self,
        weight: &Tensor<S, f32, D>,
    ) -> Result<f64, crate::Error> {
        let sigma_tilde = self
            .sigma::<S, NoneTape>(weight)
            .map_err(D::into_error)?
            .array() as f64;
        let w: Vec<f64> = weight.as_vec().into_iter().map(f64::from).collect();
        let u: Vec<f64> = self.u.as_vec().into_iter().map(f64::from).collect();
        let exact = sigma_exact_f64(&w, O, N, u)?;
        if sigma_tilde <= 0.0 {
            return Err(sn_core::Error::ZeroSigma.into());
        }
        Ok(exact / sigma_tilde)
    }
}

/// σ of a row-major `rows × cols` f64 matrix with sn-core (tolerance 1e-6 on the vectors, so σ
/// to about 1e-12), power iteration started from `u` (the layer's ũ: a few rounds suffice).
pub(crate) fn sigma_exact_f64(
    w: &[f64],
    rows: usize,
    cols: usize,
    mut u: Vec<f64>,
) -> Result<f64, crate::Error> {
    let m = sn_core::DynMatrix::new(w, rows, cols)?;
    let (mut v, mut work) = (vec![0.0; cols], vec![0.0; cols]);
    Ok(
        m.sigma_exact_from(1e-6, 100_000, &mut u, &mut v, &mut work)?
            .sigma,
    )
}

impl<const O: usize, const N: usize, D: Device<f32>> TensorCollection<f32, D>
    for SpectralNorm<O, N, f32, D>
{
    type To<E2: Dtype, D2: Device<E2>> = SpectralNorm<O, N, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor(
                    "u",
                    |s| &s.u,
                    |s| &mut s.u,
                    TensorOptions::detached(init_unit),
                ),
                Self::tensor(
                    "v",
                    |s| &s.v,
                    |s| &mut s.v,
                    TensorOptions::detached(|t| t.try_fill_with_zeros()),
                ),
            ),
            |(u, v)| SpectralNorm { u, v },
        )
    }
}

/// 2-D convolution `I → O` channels, kernel `K×K`, stride `S`, padding `P`, with bias.
/// Weight `(O, I, K, K)`.
#[derive(Clone, Debug)]
pub struct Conv2d<
    const I: usize,
    const O: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    E: Dtype = f32,
    D: Storage<E> = Dev,
> {
    /// `(O, I, K, K)`.
    pub weight: Tensor<Rank4<O, I, K, K>, E, D>,
    /// `(O,)`.
    pub bias: Tensor<Rank1<O>, E, D>,
}

impl<const I: usize, const O: usize, const K: usize, const S: usize, const P: usize, D>
    Conv2d<I, O, K, S, P, f32, D>
where
    D: ConvDevice,
{
    /// `y = conv(x, weight) + bias` with a weight that may carry a tape (W̄ of SN, or another
    /// normalized weight); shapes as [`Conv2d::forward`].
    ///
    /// # Errors
    /// The device's error.
    pub fn forward_with<const H: usize, const W: usize, const HO: usize, const WO: usize, T>(
        x: Tensor<(usize, Const<I>, Const<H>, Const<W>), f32, D, T>,
        weight: Tensor<Rank4<O, I, K, K>, f32, D, T>,
        bias: &Tensor<Rank1<O>, f32, D>,
    ) -> Result<Tensor<(usize, Const<O>, Const<HO>, Const<WO>), f32, D, T>, D::Err>
    where
        T: Tape<f32, D>,
    {
        Self::forward_with_activation(x, weight, bias, None)
    }

    /// [`Conv2d::forward_with`], followed by a leaky ReLU of slope `s` when `leaky = Some(s)`
    /// (through [`ConvDevice::conv2d_leaky_relu`]: one op on `Cpu`).
    ///
    /// # Errors
    /// The device's error.
    pub fn forward_with_activation<
        const H: usize,
        const W: usize,
        const HO: usize,
        const WO: usize,
        T,
    >(
        x: Tensor<(usize, Const<I>, Const<H>, Const<W>), f32, D, T>,
        weight: Tensor<Rank4<O, I, K, K>, f32, D, T>,
        bias: &Tensor<Rank1<O>, f32, D>,
        leaky: Option<f32>,
    ) -> Result<Tensor<(usize, Const<O>, Const<HO>, Const<WO>), f32, D, T>, D::Err>
    where
        T: Tape<f32, D>,
    {
        let () = ConvOut::<H, HO, K, S, P>::OK;
        let () = ConvOut::<W, WO, K, S, P>::OK;
        let batch = x.shape().0;
        let (w, wtape) = weight.split_tape();
        let (x, xtape) = x.split_tape();
        let x = x
            .put_tape(xtape.merge(wtape))
            .try_reshape_like(&(batch, I, H, W))?;
        let w = w.try_reshape_like(&(O, I, K, K))?;
        let b = bias.clone().try_reshape_like(&(O,))?;
        let y = match leaky {
            None => D::conv2d(x, w, &b, S, P)?,
            Some(slope) => D::conv2d_leaky_relu(x, w, &b, S, P, slope)?,
        };
        y.try_reshape_like(&(batch, Const::<O>, Const::<HO>, Const::<WO>))
    }

    /// `y = conv(x, W) + b`; `HO × WO` must be `((H + 2P − K)/S + 1) × ((W + 2P − K)/S + 1)`
    /// (checked at compile time).
    ///
    /// # Errors
    /// The device's error.
    pub fn forward<const H: usize, const W: usize, const HO: usize, const WO: usize, T>(
        &self,
        x: Tensor<(usize, Const<I>, Const<H>, Const<W>), f32, D, T>,
    ) -> Result<Tensor<(usize, Const<O>, Const<HO>, Const<WO>), f32, D, T>, D::Err>
    where
        T: Tape<f32, D>,
    {
        let () = ConvOut::<H, HO, K, S, P>::OK;
        let () = ConvOut::<W, WO, K, S, P>::OK;
        Self::forward_with(x, self.weight.retaped::<T>(), &self.bias)
    }
}

impl<const I: usize, const O: usize, const K: usize, const S: usize, const P: usize, D>
    TensorCollection<f32, D> for Conv2d<I, O, K, S, P, f32, D>
where
    D: Device<f32>,
{
    type To<E2: Dtype, D2: Device<E2>> = Conv2d<I, O, K, S, P, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor(
                    "weight",
                    |s| &s.weight,
                    |s| &mut s.weight,
                    TensorOptions::reset_with(init_normal),
                ),
                Self::tensor(
                    "bias",
                    |s| &s.bias,
                    |s| &mut s.bias,
                    TensorOptions::reset_to_zeros(),
                ),
            ),
            |(weight, bias)| Conv2d { weight, bias },
        )
    }
}

/// A convolution whose weight is spectrally normalized when `SN` is true (`SN = false` gives the
/// same layer without normalization, for baselines and the SN-overhead benchmark). `N` is
/// `I·K·K`, checked at compile time: stable Rust cannot compute it in the type.
#[derive(Clone, Debug)]
pub struct SnConv2d<
    const I: usize,
    const O: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const N: usize,
    const SN: bool = true,
    E: Dtype = f32,
    D: Storage<E> = Dev,
> {
    /// The raw convolution (W is what the optimizer updates).
    pub conv: Conv2d<I, O, K, S, P, E, D>,
    /// ũ, v of W seen as `O × N`.
    pub sn: SpectralNorm<O, N, E, D>,
}

impl<
        const I: usize,
        const O: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const N: usize,
        const SN: bool,
        D: ConvDevice,
    > SnConv2d<I, O, K, S, P, N, SN, f32, D>
{
    /// `y = conv(x, W̄) + b` with W̄ = W/σ̃ (σ̃ = ũᵀWv from the stored vectors), or W when
    /// `SN = false`. Shapes as [`Conv2d::forward`].
    ///
    /// # Errors
    /// The device's error.
    pub fn forward<const H: usize, const W: usize, const HO: usize, const WO: usize, T>(
        &self,
        x: Tensor<(usize, Const<I>, Const<H>, Const<W>), f32, D, T>,
    ) -> Result<Tensor<(usize, Const<O>, Const<HO>, Const<WO>), f32, D, T>, D::Err>
    where
        T: Tape<f32, D>,
    {
        let () = ConvCols::<I, K, N>::OK;
        let () = ConvOut::<H, HO, K, S, P>::OK;
        let () = ConvOut::<W, WO, K, S, P>::OK;
        self.forward_with_activation(x, None)
    }

    /// `leaky_relu(conv(x, W̄) + b, slope)`, as [`SnConv2d::forward`] followed by
    /// [`ConvDevice::leaky_relu`] (one op on `Cpu`: [`ConvDevice::conv2d_leaky_relu`]).
    ///
    /// # Errors
    /// The device's error.
    pub fn forward_leaky_relu<const H: usize, const W: usize, const HO: usize, const WO: usize, T>(
        &self,
        x: Tensor<(usize, Const<I>, Const<H>, Const<W>), f32, D, T>,
        slope: f32,
    ) -> Result<Tensor<(usize, Const<O>, Const<HO>, Const<WO>), f32, D, T>, D::Err>
    where
        T: Tape<f32, D>,
    {
        let () = ConvCols::<I, K, N>::OK;
        let () = ConvOut::<H, HO, K, S, P>::OK;
        let () = ConvOut::<W, WO, K, S, P>::OK;
        self.forward_with_activation(x, Some(slope))
    }

    fn forward_with_activation<
        const H: usize,
        const W: usize,
        const HO: usize,
        const WO: usize,
        T,
    >(
        &self,
        x: Tensor<(usize, Const<I>, Const<H>, Const<W>), f32, D, T>,
        leaky: Option<f32>,
    ) -> Result<Tensor<(usize, Const<O>, Const<HO>, Const<WO>), f32, D, T>, D::Err>
    where
        T: Tape<f32, D>,
    {
        // Shapes checked at compile time by the public callers (use-site notes point there).
        let w = if SN {
            self.sn.normalize::<_, T>(&self.conv.weight)?
        } else {
            self.conv.weight.retaped::<T>()
        };
        Conv2d::<I, O, K, S, P, f32, D>::forward_with_activation(x, w, &self.conv.bias, leaky)
    }

    /// Power iteration on this layer's weight (see [`SpectralNorm::power_iteration`]).
    ///
    /// # Errors
    /// The device's error.
    pub fn power_iteration(&mut self, rounds: usize) -> Result<f32, D::Err> {
        let () = ConvCols::<I, K, N>::OK;
        self.sn.power_iteration(&self.conv.weight, rounds)
    }
}

impl<
        const I: usize,
        const O: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const N: usize,
        const SN: bool,
        D: Device<f32>,
    > TensorCollection<f32, D> for SnConv2d<I, O, K, S, P, N, SN, f32, D>
{
    type To<E2: Dtype, D2: Device<E2>> = SnConv2d<I, O, K, S, P, N, SN, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("conv", |s| &s.conv, |s| &mut s.conv),
                Self::module("sn", |s| &s.sn, |s| &mut s.sn),
            ),
            |(conv, sn)| SnConv2d { conv, sn },
        )
    }
}

/// Transposed convolution `I → O` channels (the generator's "deconv"), kernel `K×K`, stride `S`,
/// padding `P`, with bias. Weight `(I, O, K, K)`: the output axis is dim 1, as in PyTorch.
#[derive(Clone, Debug)]
pub struct ConvTrans2d<
    const I: usize,
    const O: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    E: Dtype = f32,
    D: Storage<E> = Dev,
> {
    /// `(I, O, K, K)`.
    pub weight: Tensor<Rank4<I, O, K, K>, E, D>,
    /// `(O,)`.
    pub bias: Tensor<Rank1<O>, E, D>,
}

impl<const I: usize, const O: usize, const K: usize, const S: usize, const P: usize, D>
    ConvTrans2d<I, O, K, S, P, f32, D>
where
    D: ConvDevice,
{
    /// `y = conv_transpose(x, W) + b`; `HO = (H − 1)·S − 2P + K` (checked at compile time).
    ///
    /// # Errors
    /// The device's error.
    pub fn forward<const H: usize, const W: usize, const HO: usize, const WO: usize, T>(
        &self,
        x: Tensor<(usize, Const<I>, Const<H>, Const<W>), f32, D, T>,
    ) -> Result<Tensor<(usize, Const<O>, Const<HO>, Const<WO>), f32, D, T>, D::Err>
    where
        T: Tape<f32, D>,
    {
        let () = ConvTransOut::<H, HO, K, S, P>::OK;
        let () = ConvTransOut::<W, WO, K, S, P>::OK;
        let batch = x.shape().0;
        let x = x.try_reshape_like(&(batch, I, H, W))?;
        let w = self.weight.clone().try_reshape_like(&(I, O, K, K))?;
        let b = self.bias.clone().try_reshape_like(&(O,))?;
        let y = D::conv_transpose2d(x, w, &b, S, P)?;
        y.try_reshape_like(&(batch, Const::<O>, Const::<HO>, Const::<WO>))
    }
}

impl<const I: usize, const O: usize, const K: usize, const S: usize, const P: usize, D>
    TensorCollection<f32, D> for ConvTrans2d<I, O, K, S, P, f32, D>
where
    D: Device<f32>,
{
    type To<E2: Dtype, D2: Device<E2>> = ConvTrans2d<I, O, K, S, P, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor(
                    "weight",
                    |s| &s.weight,
                    |s| &mut s.weight,
                    TensorOptions::reset_with(init_normal),
                ),
                Self::tensor(
                    "bias",
                    |s| &s.bias,
                    |s| &mut s.bias,
                    TensorOptions::reset_to_zeros(),
                ),
            ),
            |(weight, bias)| ConvTrans2d { weight, bias },
        )
    }
}

/// Dense layer `I → O` with bias, weight `(O, I)`, spectrally normalized when `SN` is true.
#[derive(Clone, Debug)]
pub struct SnLinear<
    const I: usize,
    const O: usize,
    const SN: bool = true,
    E: Dtype = f32,
    D: Storage<E> = Dev,
> {
    /// `(O, I)`.
    pub weight: Tensor<Rank2<O, I>, E, D>,
    /// `(O,)`.
    pub bias: Tensor<Rank1<O>, E, D>,
    /// ũ, v of W (`O × I`).
    pub sn: SpectralNorm<O, I, E, D>,
}

impl<const I: usize, const O: usize, const SN: bool, D: ConvDevice> SnLinear<I, O, SN, f32, D> {
    /// `y = x W̄ᵀ + b` (W̄ = W/σ̃, or W when `SN = false`).
    ///
    /// # Errors
    /// The device's error.
    pub fn forward<T: Tape<f32, D>>(
        &self,
        x: Tensor<(usize, Const<I>), f32, D, T>,
    ) -> Result<Tensor<(usize, Const<O>), f32, D, T>, D::Err> {
        let w = if SN {
            self.sn.normalize::<_, T>(&self.weight)?
        } else {
            self.weight.retaped::<T>()
        };
        let y = x.try_matmul(w.try_permute::<Rank2<I, O>, _>()?)?;
        let shape = *y.shape();
        let b = self
            .bias
            .retaped::<T>()
            .try_broadcast_like::<_, Axis<0>>(&shape)?;
        y.try_add(b)
    }

    /// Power iteration on this layer's weight (see [`SpectralNorm::power_iteration`]).
    ///
    /// # Errors
    /// The device's error.
    pub fn power_iteration(&mut self, rounds: usize) -> Result<f32, D::Err> {
        self.sn.power_iteration(&self.weight, rounds)
    }
}

impl<const I: usize, const O: usize, const SN: bool, D: Device<f32>> TensorCollection<f32, D>
    for SnLinear<I, O, SN, f32, D>
{
    type To<E2: Dtype, D2: Device<E2>> = SnLinear<I, O, SN, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor(
                    "weight",
                    |s| &s.weight,
                    |s| &mut s.weight,
                    TensorOptions::reset_with(init_normal),
                ),
                Self::tensor(
                    "bias",
                    |s| &s.bias,
                    |s| &mut s.bias,
                    TensorOptions::reset_to_zeros(),
                ),
                Self::module("sn", |s| &s.sn, |s| &mut s.sn),
            ),
            |(weight, bias, sn)| SnLinear { weight, bias, sn },
        )
    }
}

/// Dense layer `I → O` with bias (the generator's first layer), initialised N(0, 0.02²). Its
/// ũ, v exist but are unused (`SN = false`).
pub type Linear<const I: usize, const O: usize, E = f32, D = Dev> = SnLinear<I, O, false, E, D>;
