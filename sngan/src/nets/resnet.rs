//! The paper's ResNet SN-GANs (Tables 4–5, Fig. 8) as named types with compile-time shapes.
//!
//! | CIFAR-10 G (Table 4) | CIFAR-10 D | STL-10 G (Table 5) | STL-10 D |
//! |---|---|---|---|
//! | z 128 → dense 4×4×256 | ResBlock down 128 | z 128 → dense 6×6×512 | ResBlock down 64 |
//! | ResBlock up 256 ×3 | ResBlock down 128 | ResBlock up 256 | ResBlock down 128 |
//! | BN, ReLU, conv3×3 → 3, tanh | ResBlock 128 ×2 | ResBlock up 128 | ResBlock down 256 |
//! | | ReLU, global sum pool, dense → 1 | ResBlock up 64 | ResBlock down 512 |
//! | | | BN, ReLU, conv3×3 → 3, tanh | ResBlock 1024; ReLU, sum pool, dense → 1 |
//!
//! The blocks are those of the reference code (pfnet-research/sngan_projection,
//! `gen_models/resblocks.py`, `dis_models/resblocks.py`):
//!
//! - [`GBlock`] (generator, up): BN → ReLU → nearest 2× upsample → conv3×3 → BN → ReLU →
//!   conv3×3; shortcut upsample → conv1×1. Hidden channels = output channels.
//! - [`DBlockFirst`] (the discriminator's first block): conv3×3 → ReLU → conv3×3 → avg-pool 2;
//!   shortcut avg-pool 2 → conv1×1. No ReLU before the first convolution (the input is the
//!   image).
//! - [`DBlock`] (learnable shortcut, channels or size change): ReLU → conv3×3 → ReLU → conv3×3
//!   (→ avg-pool 2 when `DOWN`); shortcut conv1×1 (→ avg-pool 2 when `DOWN`). Hidden channels =
//!   input channels, as in the reference code.
//! - [`DBlockPlain`] (same channels and size): the same residual, identity shortcut.
//!
//! No BN in the discriminator; every discriminator layer — each 3×3 and 1×1 convolution and the
//! final dense layer — is spectrally normalized when the type's `SN` parameter is `true` (the
//! default). The head is ReLU → global *sum* pooling over the spatial axes → dense → 1.
//!
//! A 1×1 convolution acts on each pixel alone and nearest upsampling and 2×2 average pooling are
//! linear maps that treat channels alike, so `conv1×1(up(x)) = up(conv1×1(x))` and
//! `pool(conv1×1(x)) = conv1×1(pool(x))` exactly (the bias too: the pool of a constant is the
//! constant). Every shortcut here therefore runs its 1×1 convolution at the lower resolution —
//! ¼ of the multiply-adds, the same function (a test checks it against the reference order).
//!
//! ```
//! use sngan::dfdx::prelude::*;
//! use sngan::nets::resnet::{ResNetDiscriminator16Quarter, ResNetGenerator16Quarter};
//!
//! let dev = Cpu::seed_from_u64(0);
//! let g = ResNetGenerator16Quarter::<f32, Cpu>::new(&dev)?;
//! let d = ResNetDiscriminator16Quarter::<true, f32, Cpu>::new(&dev, 15)?;
//! let z = dev.sample_normal_like(&(2, Const::<128>));
//! let x = g.forward_eval(z)?; // (2, 3, 16, 16), in [−1, 1]
//! assert_eq!(x.shape().concrete(), [2, 3, 16, 16]);
//! assert!(x.as_vec().iter().all(|v| v.abs() <= 1.0));
//! assert_eq!(d.forward(x)?.shape().concrete(), [2, 1]);
//! // After 15 warm-up rounds every SN layer's σ(W̄) is 1 within a few percent (Fig. 9).
//! let sigmas = d.sigmas_of_normalized().unwrap();
//! assert!(sigmas.iter().all(|s| (0.999..1.1).contains(s)), "{sigmas:?}");
//! # Ok::<(), dfdx::tensor::CpuError>(())
//! ```
//!
//! # Initialisation
//! As the reference code: every weight Glorot-uniform, `U(−b, b)` with
//! `b = gain · √(6 / (fan_in + fan_out))` (fan_in = d_in·k·k, fan_out = d_out·k·k; Chainer's
//! `GlorotUniform`), with gain √2 in the residual branches' 3×3 convolutions of every block
//! (G and D) and gain 1 elsewhere (the 1×1 shortcuts, G's dense layer and output convolution,
//! D's dense layer); biases 0; BN γ = 1, β = 0. [`glorot_bound`] gives `b`. Building a network
//! with [`BuildModule`] directly gives the crate's N(0, 0.02²) instead:
//! use the types' `new`.
//!
//! The generator's BN uses the reference code's ε = 2·10⁻⁵ (Chainer's default) and momentum
//! 0.1 (Chainer's decay 0.9). z ~ N(0, I).
//!
//! # Widths
//! The `resnet_*!` macros take the channel counts, so the same code builds the paper's widths
//! and the ¼-width networks of small experiments ([`ResNetGenerator16Quarter`] and
//! [`ResNetDiscriminator16Quarter`] train on the embedded 16×16 digits: M/8 = 2 at the
//! generator's bottom).

use dfdx::prelude::*;
use rand_distr::Uniform;

use crate::layers::{Conv2d, SnConv2d, SnLinear};
use crate::ConvDevice;

/// Gain of the Glorot initialisation of the residual branches' 3×3 convolutions (√2).
pub const RESIDUAL_GAIN: f32 = std::f32::consts::SQRT_2;

/// ε of the generator's batch normalization (Chainer's `BatchNormalization` default, the
/// reference code's).
pub const BN_EPS: f64 = 2e-5;

/// An NCHW batch with compile-time channels and size.
type T4<const C: usize, const H: usize, const W: usize, D, T> =
    Tensor<(usize, Const<C>, Const<H>, Const<W>), f32, D, T>;

/// `HO = H / 2` exactly (H even), checked when a pooling or upsampling is instantiated.
struct Half<const H: usize, const HO: usize>;
impl<const H: usize, const HO: usize> Half<H, HO> {
    const OK: () = assert!(
        H.is_multiple_of(2) && 2 * HO == H,
        "2x2 average pooling needs an even input size and output size H/2; nearest 2x upsampling \
         gives output size 2H"
    );
}

/// The Glorot-uniform bound `gain · √(6 / (fan_in + fan_out))` (Chainer's `GlorotUniform`).
pub fn glorot_bound(fan_in: usize, fan_out: usize, gain: f32) -> f32 {
    gain * (6.0 / (fan_in + fan_out) as f32).sqrt()
}

/// Fills `w` from `U(−b, b)`, `b =` [`glorot_bound`]`(fan_in, fan_out, gain)`.
fn glorot<S: Shape, D: Device<f32>>(
    w: &mut Tensor<S, f32, D>,
    fan_in: usize,
    fan_out: usize,
    gain: f32,
) -> Result<(), D::Err> {
    let b = glorot_bound(fan_in, fan_out, gain);
    w.try_fill_with_distr(Uniform::new_inclusive(-b, b))
}

/// Glorot-uniform init of a `K×K` convolution weight `(O, I, K, K)` and a zero bias.
fn glorot_conv<const O: usize, const I: usize, const K: usize, D: Device<f32>>(
    weight: &mut Tensor<Rank4<O, I, K, K>, f32, D>,
    bias: &mut Tensor<Rank1<O>, f32, D>,
    gain: f32,
) -> Result<(), D::Err> {
    glorot(weight, I * K * K, O * K * K, gain)?;
    bias.try_fill_with_zeros()
}

/// Glorot-uniform init of a dense weight `(O, I)` and a zero bias.
fn glorot_linear<const I: usize, const O: usize, const SN: bool, D: Device<f32>>(
    l: &mut SnLinear<I, O, SN, f32, D>,
    gain: f32,
) -> Result<(), D::Err> {
    glorot(&mut l.weight, I, O, gain)?;
    l.bias.try_fill_with_zeros()
}

/// 2×2 average pooling, stride 2: `y[b,c,i,j] = ¼ Σ_{di,dj ∈ {0,1}} x[b,c,2i+di,2j+dj]`.
///
/// Built from a reshape to `(B, C, H/2, 2, W/2, 2)` and a sum over the two window axes, so it
/// runs on every dfdx device with compile-time shapes. `HO = H/2`, `WO = W/2` (checked at
/// compile time).
///
/// ```
/// use sngan::dfdx::prelude::*;
/// use sngan::nets::resnet::{avg_pool2, upsample2};
///
/// let dev = Cpu::seed_from_u64(0);
/// let x: Tensor<(usize, Const<2>, Const<3>, Const<3>), f32, Cpu> =
///     dev.sample_normal_like(&(1, Const, Const, Const));
/// // Upsampling copies each pixel into a 2×2 block, which pooling averages back (up to the
/// // rounding of a 4-term sum: 1e-6 is a few ulps of N(0, 1) values).
/// let up: Tensor<(usize, Const<2>, Const<6>, Const<6>), f32, Cpu> = upsample2(x.clone())?;
/// let back: Tensor<(usize, Const<2>, Const<3>, Const<3>), f32, Cpu> = avg_pool2(up)?;
/// for (a, b) in back.as_vec().iter().zip(x.as_vec()) {
///     assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0));
/// }
/// # Ok::<(), dfdx::tensor::CpuError>(())
/// ```
///
/// # Errors
/// The device's error.
pub fn avg_pool2<
    const C: usize,
    const H: usize,
    const W: usize,
    const HO: usize,
    const WO: usize,
    D: Device<f32>,
    T: Tape<f32, D>,
>(
    x: T4<C, H, W, D, T>,
) -> Result<T4<C, HO, WO, D, T>, D::Err> {
    let () = Half::<H, HO>::OK;
    let () = Half::<W, WO>::OK;
    let b = x.shape().0;
    x.try_reshape_like(&(
        b,
        Const::<C>,
        Const::<HO>,
        Const::<2>,
        Const::<WO>,
        Const::<2>,
    ))?
    .try_sum::<_, Axes2<3, 5>>()?
    .try_mul(0.25)
}

/// Nearest-neighbour 2× upsampling: `y[b,c,i,j] = x[b,c,⌊i/2⌋,⌊j/2⌋]`.
///
/// Built from a broadcast to `(B, C, H, 2, W, 2)` and a reshape to `(B, C, 2H, 2W)`.
/// `HO = 2H`, `WO = 2W` (checked at compile time).
///
/// # Errors
/// The device's error.
pub fn upsample2<
    const C: usize,
    const H: usize,
    const W: usize,
    const HO: usize,
    const WO: usize,
    D: Device<f32>,
    T: Tape<f32, D>,
>(
    x: T4<C, H, W, D, T>,
) -> Result<T4<C, HO, WO, D, T>, D::Err> {
    let () = Half::<HO, H>::OK;
    let () = Half::<WO, W>::OK;
    let b = x.shape().0;
    x.try_broadcast_like::<_, Axes2<3, 5>>(&(
        b, Const::<C>, Const::<H>, Const::<2>, Const::<W>, Const::<2>,
    ))?
    .try_reshape_like(&(b, Const::<C>, Const::<HO>, Const::<WO>))
}

// ---------------------------------------------------------------------------------------------
// Generator block.

/// The generator's up-block `I → O` (Fig. 8): BN → ReLU → upsample 2× → conv3×3 `I → O` → BN →
/// ReLU → conv3×3 `O → O`, plus the shortcut upsample 2× → conv1×1 `I → O`.
#[derive(Clone, Debug)]
pub struct GBlock<const I: usize, const O: usize, E: Dtype = f32, D: Storage<E> = crate::Dev> {
    /// BN before the first ReLU.
    pub b1: dfdx::nn::modules::BatchNorm2D<I, E, D>,
    /// conv 3×3 `I → O` after the upsampling (Glorot gain √2).
    pub c1: Conv2d<I, O, 3, 1, 1, E, D>,
    /// BN before the second ReLU.
    pub b2: dfdx::nn::modules::BatchNorm2D<O, E, D>,
    /// conv 3×3 `O → O` (Glorot gain √2).
    pub c2: Conv2d<O, O, 3, 1, 1, E, D>,
    /// The learnable shortcut, conv 1×1 `I → O` (Glorot gain 1).
    pub sc: Conv2d<I, O, 1, 1, 0, E, D>,
}

impl<const I: usize, const O: usize, D: ConvDevice> GBlock<I, O, f32, D> {
    /// The reference initialisation (see the [module documentation](self)) and BN ε.
    ///
    /// # Errors
    /// The device's error.
    pub fn init(&mut self) -> Result<(), D::Err> {
        glorot_conv(&mut self.c1.weight, &mut self.c1.bias, RESIDUAL_GAIN)?;
        glorot_conv(&mut self.c2.weight, &mut self.c2.bias, RESIDUAL_GAIN)?;
        glorot_conv(&mut self.sc.weight, &mut self.sc.bias, 1.0)?;
        self.b1.epsilon = BN_EPS;
        self.b2.epsilon = BN_EPS;
        Ok(())
    }

    /// The block in training mode (BN batch statistics; running statistics updated).
    /// `HO × WO = 2H × 2W` (checked at compile time).
    ///
    /// # Errors
    /// The device's error.
    pub fn forward_train<const H: usize, const W: usize, const HO: usize, const WO: usize>(
        &mut self,
        x: T4<I, H, W, D, OwnedTape<f32, D>>,
    ) -> Result<T4<O, HO, WO, D, OwnedTape<f32, D>>, D::Err> {
        let sc: T4<O, H, W, D, _> = self.sc.forward(x.with_empty_tape())?;
        let sc = upsample2::<O, H, W, HO, WO, D, _>(sc)?;
        let h = D::batch_norm2d_relu(&mut self.b1, x)?;
        let h = upsample2::<I, H, W, HO, WO, D, _>(h)?;
        let h: T4<O, HO, WO, D, _> = self.c1.forward(h)?;
        let h = D::batch_norm2d_relu(&mut self.b2, h)?;
        let h: T4<O, HO, WO, D, _> = self.c2.forward(h)?;
        h.try_add(sc)
    }

    /// The block in evaluation mode (BN running statistics; nothing updated).
    ///
    /// # Errors
    /// The device's error.
    pub fn forward_eval<const H: usize, const W: usize, const HO: usize, const WO: usize>(
        &self,
        x: T4<I, H, W, D, NoneTape>,
    ) -> Result<T4<O, HO, WO, D, NoneTape>, D::Err> {
        let sc: T4<O, H, W, D, _> = self.sc.forward(x.clone())?;
        let sc = upsample2::<O, H, W, HO, WO, D, _>(sc)?;
        let h = self.b1.try_forward(x)?.try_relu()?;
        let h = upsample2::<I, H, W, HO, WO, D, _>(h)?;
        let h: T4<O, HO, WO, D, _> = self.c1.forward(h)?;
        let h = self.b2.try_forward(h)?.try_relu()?;
        let h: T4<O, HO, WO, D, _> = self.c2.forward(h)?;
        h.try_add(sc)
    }
}

impl<const I: usize, const O: usize, D: Device<f32>> TensorCollection<f32, D>
    for GBlock<I, O, f32, D>
{
    type To<E2: Dtype, D2: Device<E2>> = GBlock<I, O, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("b1", |s| &s.b1, |s| &mut s.b1),
                Self::module("c1", |s| &s.c1, |s| &mut s.c1),
                Self::module("b2", |s| &s.b2, |s| &mut s.b2),
                Self::module("c2", |s| &s.c2, |s| &mut s.c2),
                Self::module("sc", |s| &s.sc, |s| &mut s.sc),
            ),
            |(b1, c1, b2, c2, sc)| GBlock { b1, c1, b2, c2, sc },
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Discriminator blocks.

/// The discriminator's first block `I → O` (the reference code's `OptimizedBlock`): conv3×3
/// `I → O` → ReLU → conv3×3 `O → O` → avg-pool 2, plus the shortcut avg-pool 2 → conv1×1
/// `I → O`. No ReLU before the first convolution. `N1 = I·9`, `N2 = O·9` (the weights' column
/// counts, checked at compile time).
#[derive(Clone, Debug)]
pub struct DBlockFirst<
    const I: usize,
    const O: usize,
    const N1: usize,
    const N2: usize,
    const SN: bool = true,
    E: Dtype = f32,
    D: Storage<E> = crate::Dev,
> {
    /// conv 3×3 `I → O` (Glorot gain √2).
    pub c1: SnConv2d<I, O, 3, 1, 1, N1, SN, E, D>,
    /// conv 3×3 `O → O` (Glorot gain √2).
    pub c2: SnConv2d<O, O, 3, 1, 1, N2, SN, E, D>,
    /// The shortcut's conv 1×1 `I → O`, after the pooling (Glorot gain 1).
    pub sc: SnConv2d<I, O, 1, 1, 0, I, SN, E, D>,
}

/// A discriminator block `I → O` with a learnable shortcut (used where the channels or the size
/// change): ReLU → conv3×3 `I → I` → ReLU → conv3×3 `I → O` (→ avg-pool 2 if `DOWN`), plus the
/// shortcut (avg-pool 2 if `DOWN` →) conv1×1 `I → O`. `N = I·9` (checked at compile time).
#[derive(Clone, Debug)]
pub struct DBlock<
    const I: usize,
    const O: usize,
    const N: usize,
    const DOWN: bool,
    const SN: bool = true,
    E: Dtype = f32,
    D: Storage<E> = crate::Dev,
> {
    /// conv 3×3 `I → I` (Glorot gain √2).
    pub c1: SnConv2d<I, I, 3, 1, 1, N, SN, E, D>,
    /// conv 3×3 `I → O` (Glorot gain √2).
    pub c2: SnConv2d<I, O, 3, 1, 1, N, SN, E, D>,
    /// The shortcut's conv 1×1 `I → O` (Glorot gain 1).
    pub sc: SnConv2d<I, O, 1, 1, 0, I, SN, E, D>,
}

/// A discriminator block `C → C` without resampling: ReLU → conv3×3 → ReLU → conv3×3, plus the
/// identity. `N = C·9` (checked at compile time).
#[derive(Clone, Debug)]
pub struct DBlockPlain<
    const C: usize,
    const N: usize,
    const SN: bool = true,
    E: Dtype = f32,
    D: Storage<E> = crate::Dev,
> {
    /// conv 3×3 `C → C` (Glorot gain √2).
    pub c1: SnConv2d<C, C, 3, 1, 1, N, SN, E, D>,
    /// conv 3×3 `C → C` (Glorot gain √2).
    pub c2: SnConv2d<C, C, 3, 1, 1, N, SN, E, D>,
}

/// Glorot init of an SN convolution's weight and bias (its ũ is left as it is).
macro_rules! glorot_sn {
    ($c:expr, $gain:expr) => {
        glorot_conv(&mut $c.conv.weight, &mut $c.conv.bias, $gain)
    };
}

impl<const I: usize, const O: usize, const N1: usize, const N2: usize, const SN: bool, D>
    DBlockFirst<I, O, N1, N2, SN, f32, D>
where
    D: ConvDevice,
{
    /// The block's SN layers, in order (σ reports name them `<block>.<layer>`).
    pub const LAYERS: [&'static str; 3] = ["c1", "c2", "sc"];

    /// The reference initialisation (see the [module documentation](self)).
    ///
    /// # Errors
    /// The device's error.
    pub fn init(&mut self) -> Result<(), D::Err> {
        glorot_sn!(self.c1, RESIDUAL_GAIN)?;
        glorot_sn!(self.c2, RESIDUAL_GAIN)?;
        glorot_sn!(self.sc, 1.0)
    }

    /// D's first block on the image (no leading ReLU). `HO × WO = H/2 × W/2` (checked at
    /// compile time).
    ///
    /// # Errors
    /// The device's error.
    pub fn forward<const H: usize, const W: usize, const HO: usize, const WO: usize, T>(
        &self,
        x: T4<I, H, W, D, T>,
    ) -> Result<T4<O, HO, WO, D, T>, D::Err>
    where
        T: Tape<f32, D>,
    {
        let sc = avg_pool2::<I, H, W, HO, WO, D, T>(x.with_empty_tape())?;
        let sc: T4<O, HO, WO, D, T> = self.sc.forward(sc)?;
        let h: T4<O, H, W, D, T> = self.c1.forward(x)?;
        let h: T4<O, H, W, D, T> = self.c2.forward(h.try_relu()?)?;
        avg_pool2::<O, H, W, HO, WO, D, T>(h)?.try_add(sc)
    }

    /// `rounds` power-iteration rounds in every layer; σ̃ per layer appended to `out`.
    ///
    /// # Errors
    /// The device's error.
    pub fn power_iteration(&mut self, rounds: usize, out: &mut Vec<f32>) -> Result<(), D::Err> {
        out.push(self.c1.power_iteration(rounds)?);
        out.push(self.c2.power_iteration(rounds)?);
        out.push(self.sc.power_iteration(rounds)?);
        Ok(())
    }

    /// σ(W̄) of every layer (exact, sn-core) appended to `out`.
    ///
    /// # Errors
    /// The device's or sn-core's error.
    pub fn sigmas_of_normalized(&self, out: &mut Vec<f64>) -> Result<(), crate::Error> {
        out.push(self.c1.sn.sigma_of_normalized(&self.c1.conv.weight)?);
        out.push(self.c2.sn.sigma_of_normalized(&self.c2.conv.weight)?);
        out.push(self.sc.sn.sigma_of_normalized(&self.sc.conv.weight)?);
        Ok(())
    }
}

impl<const I: usize, const O: usize, const N: usize, const DOWN: bool, const SN: bool, D>
    DBlock<I, O, N, DOWN, SN, f32, D>
where
    D: ConvDevice,
{
    /// The block's SN layers, in order.
    pub const LAYERS: [&'static str; 3] = ["c1", "c2", "sc"];

    /// The reference initialisation (see the [module documentation](self)).
    ///
    /// # Errors
    /// The device's error.
    pub fn init(&mut self) -> Result<(), D::Err> {
        glorot_sn!(self.c1, RESIDUAL_GAIN)?;
        glorot_sn!(self.c2, RESIDUAL_GAIN)?;
        glorot_sn!(self.sc, 1.0)
    }

    /// ReLU → conv3×3 → ReLU → conv3×3 at the input size.
    fn residual<const H: usize, const W: usize, T: Tape<f32, D>>(
        &self,
        x: T4<I, H, W, D, T>,
    ) -> Result<T4<O, H, W, D, T>, D::Err> {
        let h: T4<I, H, W, D, T> = self.c1.forward(x.try_relu()?)?;
        self.c2.forward(h.try_relu()?)
    }

    /// `rounds` power-iteration rounds in every layer; σ̃ per layer appended to `out`.
    ///
    /// # Errors
    /// The device's error.
    pub fn power_iteration(&mut self, rounds: usize, out: &mut Vec<f32>) -> Result<(), D::Err> {
        out.push(self.c1.power_iteration(rounds)?);
        out.push(self.c2.power_iteration(rounds)?);
        out.push(self.sc.power_iteration(rounds)?);
        Ok(())
    }

    /// σ(W̄) of every layer (exact, sn-core) appended to `out`.
    ///
    /// # Errors
    /// The device's or sn-core's error.
    pub fn sigmas_of_normalized(&self, out: &mut Vec<f64>) -> Result<(), crate::Error> {
        out.push(self.c1.sn.sigma_of_normalized(&self.c1.conv.weight)?);
        out.push(self.c2.sn.sigma_of_normalized(&self.c2.conv.weight)?);
        out.push(self.sc.sn.sigma_of_normalized(&self.sc.conv.weight)?);
        Ok(())
    }
}

impl<const I: usize, const O: usize, const N: usize, const SN: bool, D>
    DBlock<I, O, N, true, SN, f32, D>
where
    D: ConvDevice,
{
    /// The down-block: residual then avg-pool 2, shortcut avg-pool 2 then conv1×1.
    /// `HO × WO = H/2 × W/2` (checked at compile time).
    ///
    /// # Errors
    /// The device's error.
    pub fn forward<const H: usize, const W: usize, const HO: usize, const WO: usize, T>(
        &self,
        x: T4<I, H, W, D, T>,
    ) -> Result<T4<O, HO, WO, D, T>, D::Err>
    where
        T: Tape<f32, D>,
    {
        let sc = avg_pool2::<I, H, W, HO, WO, D, T>(x.with_empty_tape())?;
        let sc: T4<O, HO, WO, D, T> = self.sc.forward(sc)?;
        let h = self.residual::<H, W, T>(x)?;
        avg_pool2::<O, H, W, HO, WO, D, T>(h)?.try_add(sc)
    }
}

impl<const I: usize, const O: usize, const N: usize, const SN: bool, D>
    DBlock<I, O, N, false, SN, f32, D>
where
    D: ConvDevice,
{
    /// The block without resampling: residual plus conv1×1 of the input.
    ///
    /// # Errors
    /// The device's error.
    pub fn forward<const H: usize, const W: usize, T>(
        &self,
        x: T4<I, H, W, D, T>,
    ) -> Result<T4<O, H, W, D, T>, D::Err>
    where
        T: Tape<f32, D>,
    {
        let sc: T4<O, H, W, D, T> = self.sc.forward(x.with_empty_tape())?;
        self.residual::<H, W, T>(x)?.try_add(sc)
    }
}

impl<const C: usize, const N: usize, const SN: bool, D> DBlockPlain<C, N, SN, f32, D>
where
    D: ConvDevice,
{
    /// The block's SN layers, in order.
    pub const LAYERS: [&'static str; 2] = ["c1", "c2"];

    /// The reference initialisation (see the [module documentation](self)).
    ///
    /// # Errors
    /// The device's error.
    pub fn init(&mut self) -> Result<(), D::Err> {
        glorot_sn!(self.c1, RESIDUAL_GAIN)?;
        glorot_sn!(self.c2, RESIDUAL_GAIN)
    }

    /// ReLU → conv3×3 → ReLU → conv3×3, plus the input.
    ///
    /// # Errors
    /// The device's error.
    pub fn forward<const H: usize, const W: usize, T>(
        &self,
        x: T4<C, H, W, D, T>,
    ) -> Result<T4<C, H, W, D, T>, D::Err>
    where
        T: Tape<f32, D>,
    {
        let h: T4<C, H, W, D, T> = self.c1.forward(x.with_empty_tape().try_relu()?)?;
        let h: T4<C, H, W, D, T> = self.c2.forward(h.try_relu()?)?;
        h.try_add(x)
    }

    /// `rounds` power-iteration rounds in every layer; σ̃ per layer appended to `out`.
    ///
    /// # Errors
    /// The device's error.
    pub fn power_iteration(&mut self, rounds: usize, out: &mut Vec<f32>) -> Result<(), D::Err> {
        out.push(self.c1.power_iteration(rounds)?);
        out.push(self.c2.power_iteration(rounds)?);
        Ok(())
    }

    /// σ(W̄) of every layer (exact, sn-core) appended to `out`.
    ///
    /// # Errors
    /// The device's or sn-core's error.
    pub fn sigmas_of_normalized(&self, out: &mut Vec<f64>) -> Result<(), crate::Error> {
        out.push(self.c1.sn.sigma_of_normalized(&self.c1.conv.weight)?);
        out.push(self.c2.sn.sigma_of_normalized(&self.c2.conv.weight)?);
        Ok(())
    }
}

impl<const I: usize, const O: usize, const N1: usize, const N2: usize, const SN: bool, D>
    TensorCollection<f32, D> for DBlockFirst<I, O, N1, N2, SN, f32, D>
where
    D: Device<f32>,
{
    type To<E2: Dtype, D2: Device<E2>> = DBlockFirst<I, O, N1, N2, SN, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("c1", |s| &s.c1, |s| &mut s.c1),
                Self::module("c2", |s| &s.c2, |s| &mut s.c2),
                Self::module("sc", |s| &s.sc, |s| &mut s.sc),
            ),
            |(c1, c2, sc)| DBlockFirst { c1, c2, sc },
        )
    }
}

impl<const I: usize, const O: usize, const N: usize, const DOWN: bool, const SN: bool, D>
    TensorCollection<f32, D> for DBlock<I, O, N, DOWN, SN, f32, D>
where
    D: Device<f32>,
{
    type To<E2: Dtype, D2: Device<E2>> = DBlock<I, O, N, DOWN, SN, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("c1", |s| &s.c1, |s| &mut s.c1),
                Self::module("c2", |s| &s.c2, |s| &mut s.c2),
                Self::module("sc", |s| &s.sc, |s| &mut s.sc),
            ),
            |(c1, c2, sc)| DBlock { c1, c2, sc },
        )
    }
}

impl<const C: usize, const N: usize, const SN: bool, D> TensorCollection<f32, D>
    for DBlockPlain<C, N, SN, f32, D>
where
    D: Device<f32>,
{
    type To<E2: Dtype, D2: Device<E2>> = DBlockPlain<C, N, SN, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("c1", |s| &s.c1, |s| &mut s.c1),
                Self::module("c2", |s| &s.c2, |s| &mut s.c2),
            ),
            |(c1, c2)| DBlockPlain { c1, c2 },
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The networks.

/// Defines a Table 4/5 generator type for images `m × m` (`m` divisible by 8) with channels
/// `ch` = (dense, block 2, block 3, block 4): z (128) → dense → `c0 × m/8 × m/8` → three
/// [`GBlock`]s up to `m × m` → BN → ReLU → conv3×3 → 3 → tanh.
#[macro_export]
macro_rules! resnet_generator {
    (
        $(#[$meta:meta])*
        $name:ident, m = $m:literal, ch = [$c0:literal, $c1:literal, $c2:literal, $c3:literal]
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name<
            E: $crate::dfdx::shapes::Dtype = f32,
            D: $crate::dfdx::tensor::Storage<E> = $crate::Dev,
        > {
            /// dense z (128) → c0·(M/8)² (Glorot gain 1).
            pub l1: $crate::layers::Linear<128, { $c0 * ($m / 8) * ($m / 8) }, E, D>,
            /// Up-block c0 → c1, M/8 → M/4.
            pub block2: $crate::nets::resnet::GBlock<$c0, $c1, E, D>,
            /// Up-block c1 → c2, M/4 → M/2.
            pub block3: $crate::nets::resnet::GBlock<$c1, $c2, E, D>,
            /// Up-block c2 → c3, M/2 → M.
            pub block4: $crate::nets::resnet::GBlock<$c2, $c3, E, D>,
            /// The final BN.
            pub b5: $crate::dfdx::nn::modules::BatchNorm2D<$c3, E, D>,
            /// conv 3×3 c3 → 3, then tanh (Glorot gain 1).
            pub c5: $crate::layers::Conv2d<$c3, 3, 3, 1, 1, E, D>,
        }

        impl<D: $crate::ConvDevice> $name<f32, D> {
            /// Image side M.
            pub const M: usize = $m;
            /// Channels (dense, block 2, block 3, block 4).
            pub const CHANNELS: [usize; 4] = [$c0, $c1, $c2, $c3];

            /// Builds the network on `dev` with the reference initialisation (Glorot uniform,
            /// gain √2 in the blocks' 3×3 convolutions, 1 elsewhere; biases 0; BN γ = 1, β = 0,
            /// ε = 2e-5).
            ///
            /// # Errors
            /// The device's error.
            pub fn new(dev: &D) -> Result<Self, D::Err> {
                let mut g = <Self as $crate::dfdx::nn::BuildModule<D, f32>>::try_build(dev)?;
                $crate::nets::resnet::init_dense(&mut g.l1, 1.0)?;
                g.block2.init()?;
                g.block3.init()?;
                g.block4.init()?;
                $crate::nets::resnet::init_conv(&mut g.c5.weight, &mut g.c5.bias, 1.0)?;
                g.b5.epsilon = $crate::nets::resnet::BN_EPS;
                Ok(g)
            }

            /// G(z) in training mode: batch statistics in BN (and running statistics updated).
            ///
            /// # Errors
            /// The device's error.
            pub fn forward_train(
                &mut self,
                z: $crate::nets::Latents<D, $crate::dfdx::tensor::OwnedTape<f32, D>>,
            ) -> Result<$crate::nets::Image<$m, D, $crate::dfdx::tensor::OwnedTape<f32, D>>, D::Err> {
                use $crate::dfdx::prelude::*;
                type T4<const C: usize, const H: usize, D> =
                    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, D, OwnedTape<f32, D>>;
                let h = self.l1.forward(z)?;
                let batch = h.shape().0;
                let h: T4<$c0, { $m / 8 }, D> = h.try_reshape_like(&(batch, Const, Const, Const))?;
                let h: T4<$c1, { $m / 4 }, D> = self.block2.forward_train(h)?;
                let h: T4<$c2, { $m / 2 }, D> = self.block3.forward_train(h)?;
                let h: T4<$c3, $m, D> = self.block4.forward_train(h)?;
                let h = D::batch_norm2d_relu(&mut self.b5, h)?;
                let h: T4<3, $m, D> = self.c5.forward(h)?;
                h.try_tanh()
            }

            /// G(z) in evaluation mode: BN uses its running statistics; nothing is updated.
            ///
            /// # Errors
            /// The device's error.
            pub fn forward_eval(
                &self,
                z: $crate::nets::Latents<D, $crate::dfdx::tensor::NoneTape>,
            ) -> Result<$crate::nets::Image<$m, D, $crate::dfdx::tensor::NoneTape>, D::Err> {
                use $crate::dfdx::prelude::*;
                type T4<const C: usize, const H: usize, D> =
                    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, D, NoneTape>;
                let h = self.l1.forward(z)?;
                let batch = h.shape().0;
                let h: T4<$c0, { $m / 8 }, D> = h.try_reshape_like(&(batch, Const, Const, Const))?;
                let h: T4<$c1, { $m / 4 }, D> = self.block2.forward_eval(h)?;
                let h: T4<$c2, { $m / 2 }, D> = self.block3.forward_eval(h)?;
                let h: T4<$c3, $m, D> = self.block4.forward_eval(h)?;
                let h = self.b5.try_forward(h)?.try_relu()?;
                let h: T4<3, $m, D> = self.c5.forward(h)?;
                h.try_tanh()
            }
        }

        impl<D: $crate::ConvDevice> $crate::nets::Generator<$m, D> for $name<f32, D> {
            const LATENT: $crate::nets::Latent = $crate::nets::Latent::Normal;

            fn build(dev: &D) -> Result<Self, D::Err> {
                Self::new(dev)
            }
            fn forward_train(
                &mut self,
                z: $crate::nets::Latents<D, $crate::dfdx::tensor::OwnedTape<f32, D>>,
            ) -> Result<$crate::nets::Image<$m, D, $crate::dfdx::tensor::OwnedTape<f32, D>>, D::Err> {
                $name::<f32, D>::forward_train(self, z)
            }
            fn forward_eval(
                &self,
                z: $crate::nets::Latents<D, $crate::dfdx::tensor::NoneTape>,
            ) -> Result<$crate::nets::Image<$m, D, $crate::dfdx::tensor::NoneTape>, D::Err> {
                $name::<f32, D>::forward_eval(self, z)
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
                visitor.visit_fields(
                    (
                        Self::module("l1", |s| &s.l1, |s| &mut s.l1),
                        Self::module("block2", |s| &s.block2, |s| &mut s.block2),
                        Self::module("block3", |s| &s.block3, |s| &mut s.block3),
                        Self::module("block4", |s| &s.block4, |s| &mut s.block4),
                        Self::module("b5", |s| &s.b5, |s| &mut s.b5),
                        Self::module("c5", |s| &s.c5, |s| &mut s.c5),
                    ),
                    |(l1, block2, block3, block4, b5, c5)| $name {
                        l1, block2, block3, block4, b5, c5,
                    },
                )
            }
        }
    };
}

/// The parts of a ResNet discriminator type that do not depend on its topology: `new`,
/// power iteration, σ reports, the [`Discriminator`](crate::nets::Discriminator) and
/// `TensorCollection` impls. `blocks` are the block fields in order, `head` the dense layer.
#[doc(hidden)]
#[macro_export]
macro_rules! resnet_discriminator_common {
    ($name:ident, m = $m:literal, blocks = [$($b:ident),+], head = $head:ident,
     layers = [$($layer:literal),+ $(,)?]) => {
        impl<const SN: bool, D: $crate::ConvDevice> $name<SN, f32, D> {
            /// Image side M.
            pub const M: usize = $m;
            /// SN layers in order, `<block>.<layer>` and the dense head (for σ reports and the
            /// σ columns of `metrics.jsonl`).
            pub const LAYERS: &'static [&'static str] = &[$($layer),+];

            /// Builds the network on `dev` with the reference initialisation (Glorot uniform,
            /// gain √2 in the blocks' 3×3 convolutions, 1 in the 1×1 shortcuts and the dense
            /// layer; biases 0; ũ random unit), then runs `warmup` power-iteration rounds so
            /// that σ̃ is sensible before training (PyTorch runs 15).
            ///
            /// # Errors
            /// The device's error.
            pub fn new(dev: &D, warmup: usize) -> Result<Self, D::Err> {
                let mut d = <Self as $crate::dfdx::nn::BuildModule<D, f32>>::try_build(dev)?;
                $(d.$b.init()?;)+
                $crate::nets::resnet::init_dense(&mut d.$head, 1.0)?;
                d.power_iteration(warmup)?;
                Ok(d)
            }

            /// Runs `rounds` power-iteration rounds in every layer; returns σ̃ per layer, in
            /// the order of [`LAYERS`](Self::LAYERS).
            ///
            /// # Errors
            /// The device's error.
            pub fn power_iteration(&mut self, rounds: usize) -> Result<Vec<f32>, D::Err> {
                let mut out = Vec::with_capacity(Self::LAYERS.len());
                $(self.$b.power_iteration(rounds, &mut out)?;)+
                out.push(self.$head.power_iteration(rounds)?);
                Ok(out)
            }

            /// σ(W̄) = σ(W)/σ̃ of every layer, σ(W) exact (sn-core): the Fig. 9 measurement.
            ///
            /// # Errors
            /// The device's error or sn-core's.
            pub fn sigmas_of_normalized(&self) -> Result<Vec<f64>, $crate::Error> {
                let mut out = Vec::with_capacity(Self::LAYERS.len());
                $(self.$b.sigmas_of_normalized(&mut out)?;)+
                out.push(self.$head.sn.sigma_of_normalized(&self.$head.weight)?);
                Ok(out)
            }
        }

        impl<const SN: bool, D: $crate::ConvDevice> $crate::nets::Discriminator<$m, D>
            for $name<SN, f32, D>
        {
            const LAYERS: &'static [&'static str] = Self::LAYERS;
            const SPECTRAL_NORM: bool = SN;

            fn build(dev: &D, warmup: usize) -> Result<Self, D::Err> {
                Self::new(dev, warmup)
            }
            fn forward<T: $crate::dfdx::tensor::Tape<f32, D>>(
                &self,
                x: $crate::nets::Image<$m, D, T>,
            ) -> Result<$crate::nets::Logits<D, T>, D::Err> {
                $name::<SN, f32, D>::forward(self, x)
            }
            fn power_iteration(&mut self, rounds: usize) -> Result<Vec<f32>, D::Err> {
                $name::<SN, f32, D>::power_iteration(self, rounds)
            }
            fn sigmas_of_normalized(&self) -> Result<Vec<f64>, $crate::Error> {
                $name::<SN, f32, D>::sigmas_of_normalized(self)
            }
            // Convolutions, leaky ReLU / ReLU and dense layers only: no batch statistics.
            fn per_image(&self) -> bool {
                true
            }
        }

        impl<const SN: bool, D: $crate::dfdx::tensor_ops::Device<f32>>
            $crate::dfdx::nn::tensor_collection::TensorCollection<f32, D> for $name<SN, f32, D>
        {
            type To<E2: $crate::dfdx::shapes::Dtype, D2: $crate::dfdx::tensor_ops::Device<E2>> =
                $name<SN, E2, D2>;

            fn iter_tensors<V: $crate::dfdx::nn::tensor_collection::ModuleVisitor<Self, f32, D>>(
                visitor: &mut V,
            ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
                visitor.visit_fields(
                    (
                        $(Self::module(stringify!($b), |s| &s.$b, |s| &mut s.$b),)+
                        Self::module(stringify!($head), |s| &s.$head, |s| &mut s.$head),
                    ),
                    |($($b,)+ $head)| $name { $($b,)+ $head },
                )
            }
        }
    };
}

/// Defines a Table 4 (CIFAR-10) discriminator type for images `m × m` (`m` divisible by 4)
/// with `ch` channels: [`DBlockFirst`] down → [`DBlock`] down → two [`DBlockPlain`] → ReLU →
/// global sum pool → SN dense → 1.
#[macro_export]
macro_rules! resnet_discriminator_cifar {
    ($(#[$meta:meta])* $name:ident, m = $m:literal, ch = $c:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name<
            const SN: bool = true,
            E: $crate::dfdx::shapes::Dtype = f32,
            D: $crate::dfdx::tensor::Storage<E> = $crate::Dev,
        > {
            /// First block 3 → ch, M → M/2.
            pub block1: $crate::nets::resnet::DBlockFirst<3, $c, 27, { $c * 9 }, SN, E, D>,
            /// Down-block ch → ch, M/2 → M/4.
            pub block2: $crate::nets::resnet::DBlock<$c, $c, { $c * 9 }, true, SN, E, D>,
            /// Block ch → ch at M/4.
            pub block3: $crate::nets::resnet::DBlockPlain<$c, { $c * 9 }, SN, E, D>,
            /// Block ch → ch at M/4.
            pub block4: $crate::nets::resnet::DBlockPlain<$c, { $c * 9 }, SN, E, D>,
            /// dense ch → 1 after ReLU and global sum pooling.
            pub l5: $crate::layers::SnLinear<$c, 1, SN, E, D>,
        }

        impl<const SN: bool, D: $crate::ConvDevice> $name<SN, f32, D> {
            /// D(x): logits before any sigmoid, one per image.
            ///
            /// # Errors
            /// The device's error.
            pub fn forward<T: $crate::dfdx::tensor::Tape<f32, D>>(
                &self,
                x: $crate::nets::Image<$m, D, T>,
            ) -> Result<$crate::nets::Logits<D, T>, D::Err> {
                use $crate::dfdx::prelude::*;
                type T4<const C: usize, const H: usize, D, T> =
                    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, D, T>;
                let h: T4<$c, { $m / 2 }, D, T> = self.block1.forward(x)?;
                let h: T4<$c, { $m / 4 }, D, T> = self.block2.forward(h)?;
                let h: T4<$c, { $m / 4 }, D, T> = self.block3.forward(h)?;
                let h: T4<$c, { $m / 4 }, D, T> = self.block4.forward(h)?;
                let h = h.try_relu()?.try_sum::<(usize, Const<$c>), Axes2<2, 3>>()?;
                self.l5.forward(h)
            }
        }

        $crate::resnet_discriminator_common!($name, m = $m,
            blocks = [block1, block2, block3, block4], head = l5,
            layers = ["block1.c1", "block1.c2", "block1.sc", "block2.c1", "block2.c2",
                "block2.sc", "block3.c1", "block3.c2", "block4.c1", "block4.c2", "l5"]);
    };
}

/// Defines a Table 5 (STL-10) discriminator type for images `m × m` (`m` divisible by 16) with
/// channels `ch`: [`DBlockFirst`] 3 → c0 down, [`DBlock`]s c0 → c1, c1 → c2, c2 → c3 down,
/// [`DBlock`] c3 → c4 (no resampling) → ReLU → global sum pool → SN dense → 1.
#[macro_export]
macro_rules! resnet_discriminator_stl {
    ($(#[$meta:meta])* $name:ident, m = $m:literal,
     ch = [$c0:literal, $c1:literal, $c2:literal, $c3:literal, $c4:literal]) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name<
            const SN: bool = true,
            E: $crate::dfdx::shapes::Dtype = f32,
            D: $crate::dfdx::tensor::Storage<E> = $crate::Dev,
        > {
            /// First block 3 → c0, M → M/2.
            pub block1: $crate::nets::resnet::DBlockFirst<3, $c0, 27, { $c0 * 9 }, SN, E, D>,
            /// Down-block c0 → c1, M/2 → M/4.
            pub block2: $crate::nets::resnet::DBlock<$c0, $c1, { $c0 * 9 }, true, SN, E, D>,
            /// Down-block c1 → c2, M/4 → M/8.
            pub block3: $crate::nets::resnet::DBlock<$c1, $c2, { $c1 * 9 }, true, SN, E, D>,
            /// Down-block c2 → c3, M/8 → M/16.
            pub block4: $crate::nets::resnet::DBlock<$c2, $c3, { $c2 * 9 }, true, SN, E, D>,
            /// Block c3 → c4 at M/16 (learnable shortcut: the channels change).
            pub block5: $crate::nets::resnet::DBlock<$c3, $c4, { $c3 * 9 }, false, SN, E, D>,
            /// dense c4 → 1 after ReLU and global sum pooling.
            pub l6: $crate::layers::SnLinear<$c4, 1, SN, E, D>,
        }

        impl<const SN: bool, D: $crate::ConvDevice> $name<SN, f32, D> {
            /// D(x): logits before any sigmoid, one per image.
            ///
            /// # Errors
            /// The device's error.
            pub fn forward<T: $crate::dfdx::tensor::Tape<f32, D>>(
                &self,
                x: $crate::nets::Image<$m, D, T>,
            ) -> Result<$crate::nets::Logits<D, T>, D::Err> {
                use $crate::dfdx::prelude::*;
                type T4<const C: usize, const H: usize, D, T> =
                    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, D, T>;
                let h: T4<$c0, { $m / 2 }, D, T> = self.block1.forward(x)?;
                let h: T4<$c1, { $m / 4 }, D, T> = self.block2.forward(h)?;
                let h: T4<$c2, { $m / 8 }, D, T> = self.block3.forward(h)?;
                let h: T4<$c3, { $m / 16 }, D, T> = self.block4.forward(h)?;
                let h: T4<$c4, { $m / 16 }, D, T> = self.block5.forward(h)?;
                let h = h.try_relu()?.try_sum::<(usize, Const<$c4>), Axes2<2, 3>>()?;
                self.l6.forward(h)
            }
        }

        $crate::resnet_discriminator_common!($name, m = $m,
            blocks = [block1, block2, block3, block4, block5], head = l6,
            layers = ["block1.c1", "block1.c2", "block1.sc", "block2.c1", "block2.c2",
                "block2.sc", "block3.c1", "block3.c2", "block3.sc", "block4.c1", "block4.c2",
                "block4.sc", "block5.c1", "block5.c2", "block5.sc", "l6"]);
    };
}

/// Glorot-uniform init of a dense layer `(O, I)` (bias 0): used by the network macros.
///
/// # Errors
/// The device's error.
#[doc(hidden)]
pub fn init_dense<const I: usize, const O: usize, const SN: bool, D: Device<f32>>(
    l: &mut SnLinear<I, O, SN, f32, D>,
    gain: f32,
) -> Result<(), D::Err> {
    glorot_linear(l, gain)
}

/// Glorot-uniform init of a convolution `(O, I, K, K)` (bias 0): used by the network macros.
///
/// # Errors
/// The device's error.
#[doc(hidden)]
pub fn init_conv<const O: usize, const I: usize, const K: usize, D: Device<f32>>(
    weight: &mut Tensor<Rank4<O, I, K, K>, f32, D>,
    bias: &mut Tensor<Rank1<O>, f32, D>,
    gain: f32,
) -> Result<(), D::Err> {
    glorot_conv(weight, bias, gain)
}

resnet_generator!(
    /// Table 4 generator for CIFAR-10 (M = 32): dense 4×4×256, three up-blocks of 256.
    ResNetGenerator32, m = 32, ch = [256, 256, 256, 256]
);
resnet_generator!(
    /// Table 5 generator for STL-10 (M = 48): dense 6×6×512, up-blocks 256, 128, 64.
    ResNetGenerator48, m = 48, ch = [512, 256, 128, 64]
);
resnet_generator!(
    /// Table 4 generator at ¼ width (64 channels) for CIFAR-sized images (M = 32).
    ResNetGenerator32Quarter, m = 32, ch = [64, 64, 64, 64]
);
resnet_generator!(
    /// Table 5 generator at ¼ width (128, 64, 32, 16) for STL-sized images (M = 48).
    ResNetGenerator48Quarter, m = 48, ch = [128, 64, 32, 16]
);
resnet_generator!(
    /// Table 4 generator at ¼ width for 16 × 16 images (the embedded digits): dense 2×2×64.
    ResNetGenerator16Quarter, m = 16, ch = [64, 64, 64, 64]
);

resnet_discriminator_cifar!(
    /// Table 4 discriminator for CIFAR-10 (M = 32): 128 channels throughout.
    ResNetDiscriminator32, m = 32, ch = 128
);
resnet_discriminator_stl!(
    /// Table 5 discriminator for STL-10 (M = 48): 64, 128, 256, 512, 1024 channels.
    ResNetDiscriminator48, m = 48, ch = [64, 128, 256, 512, 1024]
);
resnet_discriminator_cifar!(
    /// Table 4 discriminator at ¼ width (32 channels) for CIFAR-sized images (M = 32).
    ResNetDiscriminator32Quarter, m = 32, ch = 32
);
resnet_discriminator_stl!(
    /// Table 5 discriminator at ¼ width (16, 32, 64, 128, 256) for STL-sized images (M = 48).
    ResNetDiscriminator48Quarter, m = 48, ch = [16, 32, 64, 128, 256]
);
resnet_discriminator_cifar!(
    /// Table 4 discriminator at ¼ width for 16 × 16 images (the embedded digits).
    ResNetDiscriminator16Quarter, m = 16, ch = 32
);
