//! The device alias and the one seam through which every convolution runs.

use dfdx::shapes::{Const, ConstShape, Dim, HasShape, Rank0, Rank1, Rank2, Shape};
use dfdx::tensor::{Cpu, OwnedTape, Tape, Tensor, TensorToArray};
use dfdx::tensor_ops::Device;

/// The device the crate's binaries and examples train on: `Cuda` with the `cuda` feature,
/// `Cpu` otherwise.
#[cfg(not(feature = "cuda"))]
pub type Dev = Cpu;
/// The device the crate's binaries and examples train on: `Cuda` with the `cuda` feature,
/// `Cpu` otherwise.
#[cfg(feature = "cuda")]
pub type Dev = dfdx::tensor::Cuda;

/// An NCHW image batch with every dimension known only at run time: the form the convolution
/// kernels take. Layers convert to and from their compile-time shapes around the call.
pub type Dyn4<D, T> = Tensor<(usize, usize, usize, usize), f32, D, T>;

/// A device that can run the project's convolutions (f32, NCHW, square kernels, no dilation,
/// one group).
///
/// On `Cpu` the convolutions (alone or with their leaky ReLU), [`ConvDevice::leaky_relu`],
/// [`ConvDevice::batch_norm2d_relu`] and [`ConvDevice::spectral_normalize`] run the project's
/// kernels (the private `kernels` module: im2col over chunks of images, parallel over the
/// chunks, bias fused, deterministic); on `Cuda` dfdx's ops (its convolutions un-gated for
/// stable Rust by `xtask`). dfdx's CPU versions stay available as [`mod@reference`]. Filters
/// and biases carry no tape: callers merge a traced filter's tape into the image's before the
/// call (see [`crate::layers`]); a bias is a leaf whose gradient is recorded under its id.
pub trait ConvDevice: Device<f32> + TensorToArray<Rank0, f32, Array = f32> {
    /// The device's error as the crate's [`Error`](crate::Error).
    fn into_error(e: Self::Err) -> crate::Error;

    /// `y = conv2d(x, w) + b`: x (B, C_in, H, W), w (C_out, C_in, K, K), b (C_out) →
    /// (B, C_out, (H + 2P − K)/S + 1, (W + 2P − K)/S + 1). The bias is a parameter (a leaf):
    /// its gradient is recorded under its id.
    ///
    /// # Errors
    /// The device's allocation error.
    fn conv2d<T: Tape<f32, Self>>(
        x: Dyn4<Self, T>,
        w: Tensor<(usize, usize, usize, usize), f32, Self>,
        b: &Tensor<(usize,), f32, Self>,
        stride: usize,
        padding: usize,
    ) -> Result<Dyn4<Self, T>, Self::Err>;

    /// `y = conv_transpose2d(x, w) + b`: x (B, C_in, H, W), w (C_in, C_out, K, K), b (C_out) →
    /// (B, C_out, (H − 1)·S − 2P + K, …). The bias as in [`ConvDevice::conv2d`].
    ///
    /// # Errors
    /// The device's allocation error.
    fn conv_transpose2d<T: Tape<f32, Self>>(
        x: Dyn4<Self, T>,
        w: Tensor<(usize, usize, usize, usize), f32, Self>,
        b: &Tensor<(usize,), f32, Self>,
        stride: usize,
        padding: usize,
    ) -> Result<Dyn4<Self, T>, Self::Err>;

    /// Leaky ReLU, `x` where `x > 0`, `slope · x` elsewhere (`slope = 0`: ReLU). The default is
    /// dfdx's `relu` for `slope = 0` and its `prelu` otherwise. At exactly 0 the derivative is
    /// `slope` on `Cpu` (PyTorch's convention, and dfdx's `relu`'s), 1 in dfdx's `prelu`.
    ///
    /// # Errors
    /// The device's allocation error.
    fn leaky_relu<S: Shape, T: Tape<f32, Self>>(
        x: Tensor<S, f32, Self, T>,
        slope: f32,
    ) -> Result<Tensor<S, f32, Self, T>, Self::Err> {
        use dfdx::tensor_ops::TryPReLU;
        if slope == 0.0 {
            x.try_relu()
        } else {
            x.try_prelu(slope)
        }
    }

    /// `leaky_relu(conv2d(x, w) + b, slope)`: [`ConvDevice::conv2d`] followed by
    /// [`ConvDevice::leaky_relu`], which is the default. On `Cpu` (for `slope ≥ 0`) one op:
    /// bias and activation in one pass over the output, and a byte per element, not the
    /// output, kept for the backward pass (same results: `tests/conv_kernels.rs`).
    ///
    /// # Errors
    /// The device's allocation error.
    fn conv2d_leaky_relu<T: Tape<f32, Self>>(
        x: Dyn4<Self, T>,
        w: Tensor<(usize, usize, usize, usize), f32, Self>,
        b: &Tensor<(usize,), f32, Self>,
        stride: usize,
        padding: usize,
        slope: f32,
    ) -> Result<Dyn4<Self, T>, Self::Err> {
        Self::leaky_relu(Self::conv2d(x, w, b, stride, padding)?, slope)
    }

    /// W̄ = W/σ̃ with σ̃ = ũᵀ W v (eq. 8 and 22), on the tape `T`, ũ and v constants: the
    /// weight of a spectrally normalized layer, W any shape with `O·N` elements seen as the
    /// `O × N` matrix. Its gradient is eq. 12, ∂L/∂W = (G − ⟨G, W̄⟩·ũvᵀ)/σ̃ with G = ∂L/∂W̄.
    /// The default is dfdx's ops (a matrix product, a sum and a broadcast division, whose
    /// autodiff is eq. 12); on `Cpu` one parallel op with eq. 12 written out (same results
    /// within f32 rounding: `tests/conv_kernels.rs`).
    ///
    /// # Errors
    /// The device's allocation error.
    fn spectral_normalize<const O: usize, const N: usize, S: ConstShape, T: Tape<f32, Self>>(
        weight: &Tensor<S, f32, Self>,
        u: &Tensor<Rank1<O>, f32, Self>,
        v: &Tensor<Rank1<N>, f32, Self>,
    ) -> Result<Tensor<S, f32, Self, T>, Self::Err> {
        spectral_normalize_ops(weight, u, v)
    }

    /// `relu(bn(x))` with `bn` in training mode: batch statistics, running statistics
    /// updated, gradients into x, γ and β. The default is dfdx's `BatchNorm2D::try_forward_mut`
    /// then `relu`; on `Cpu` one fused parallel kernel (same results within f32 rounding:
    /// `tests/conv_kernels.rs`).
    ///
    /// # Errors
    /// The device's allocation error.
    fn batch_norm2d_relu<const C: usize, H: Dim, W: Dim>(
        bn: &mut BatchNorm2d<C, Self>,
        x: Tensor<(usize, Const<C>, H, W), f32, Self, OwnedTape<f32, Self>>,
    ) -> Result<Tensor<(usize, Const<C>, H, W), f32, Self, OwnedTape<f32, Self>>, Self::Err> {
        use dfdx::nn::ModuleMut;
        Self::leaky_relu(bn.try_forward_mut(x)?, 0.0)
    }
}

/// [`ConvDevice::spectral_normalize`] with dfdx's ops: σ̃ = Σ (W v) ⊙ ũ, then W / σ̃.
fn spectral_normalize_ops<const O: usize, const N: usize, S, D, T>(
    weight: &Tensor<S, f32, D>,
    u: &Tensor<Rank1<O>, f32, D>,
    v: &Tensor<Rank1<N>, f32, D>,
) -> Result<Tensor<S, f32, D, T>, D::Err>
where
    S: ConstShape,
    D: Device<f32>,
    T: Tape<f32, D>,
{
    use dfdx::tensor_ops::{BroadcastTo, ReshapeTo, SumTo, TryDiv, TryMatMul, TryMul};
    let sigma = weight
        .retaped::<T>()
        .try_reshape::<Rank2<O, N>>()?
        .try_matmul(v.clone().try_reshape::<Rank2<N, 1>>()?)?
        .try_mul(u.clone().try_reshape::<Rank2<O, 1>>()?)?
        .try_sum::<Rank0, _>()?;
    let shape = *weight.shape();
    weight
        .retaped::<T>()
        .try_div(sigma.try_broadcast_like(&shape)?)
}

/// The generator's batch normalization as its training forward runs it: see
/// [`ConvDevice::batch_norm2d_relu`].
pub type BatchNorm2d<const C: usize, D> = dfdx::nn::modules::BatchNorm2D<C, f32, D>;

/// `y + b` with b broadcast over batch and space, b's gradient recorded under its id.
fn add_bias<D: Device<f32>, T: Tape<f32, D>>(
    y: Dyn4<D, T>,
    b: &Tensor<(usize,), f32, D>,
) -> Result<Dyn4<D, T>, D::Err> {
    use dfdx::tensor_ops::{BroadcastTo, TryAdd};
    let shape = *y.shape();
    let b = b
        .clone()
        .retaped::<T>()
        .try_broadcast_like::<_, dfdx::shapes::Axes3<0, 2, 3>>(&shape)?;
    y.try_add(b)
}

#[cfg(feature = "cuda")]
macro_rules! dfdx_conv_device {
    ($dev:ty) => {
        impl ConvDevice for $dev {
            fn into_error(e: Self::Err) -> crate::Error {
                e.into()
            }

            fn conv2d<T: Tape<f32, Self>>(
                x: Dyn4<Self, T>,
                w: Tensor<(usize, usize, usize, usize), f32, Self>,
                b: &Tensor<(usize,), f32, Self>,
                stride: usize,
                padding: usize,
            ) -> Result<Dyn4<Self, T>, Self::Err> {
                use dfdx::tensor_ops::TryConv2D;
                add_bias((x, w).try_conv2d(stride, padding, 1usize, 1usize)?, b)
            }

            fn conv_transpose2d<T: Tape<f32, Self>>(
                x: Dyn4<Self, T>,
                w: Tensor<(usize, usize, usize, usize), f32, Self>,
                b: &Tensor<(usize,), f32, Self>,
                stride: usize,
                padding: usize,
            ) -> Result<Dyn4<Self, T>, Self::Err> {
                use dfdx::tensor_ops::TryConvTrans2D;
                add_bias((x, w).try_convtrans2d(stride, padding, 1usize, 1usize)?, b)
            }
        }
    };
}

impl ConvDevice for Cpu {
    fn into_error(e: Self::Err) -> crate::Error {
        e.into()
    }

    /// The project's kernels; [`reference::conv2d`] is dfdx's.
    fn conv2d<T: Tape<f32, Self>>(
        x: Dyn4<Self, T>,
        w: Tensor<(usize, usize, usize, usize), f32, Self>,
        b: &Tensor<(usize,), f32, Self>,
        stride: usize,
        padding: usize,
    ) -> Result<Dyn4<Self, T>, Self::Err> {
        crate::kernels::conv2d(x, w, b, stride, padding, None)
    }

    /// One op of the project's kernels for `slope ≥ 0`; the default pair otherwise.
    fn conv2d_leaky_relu<T: Tape<f32, Self>>(
        x: Dyn4<Self, T>,
        w: Tensor<(usize, usize, usize, usize), f32, Self>,
        b: &Tensor<(usize,), f32, Self>,
        stride: usize,
        padding: usize,
        slope: f32,
    ) -> Result<Dyn4<Self, T>, Self::Err> {
        if slope >= 0.0 {
            crate::kernels::conv2d(x, w, b, stride, padding, Some(slope))
        } else {
            Self::leaky_relu(Self::conv2d(x, w, b, stride, padding)?, slope)
        }
    }

    /// The project's kernels; [`reference::conv_transpose2d`] is dfdx's.
    fn conv_transpose2d<T: Tape<f32, Self>>(
        x: Dyn4<Self, T>,
        w: Tensor<(usize, usize, usize, usize), f32, Self>,
        b: &Tensor<(usize,), f32, Self>,
        stride: usize,
        padding: usize,
    ) -> Result<Dyn4<Self, T>, Self::Err> {
        crate::kernels::conv_transpose2d(x, w, b, stride, padding)
    }

    /// One parallel op; [`reference::spectral_normalize`] is dfdx's ops.
    fn spectral_normalize<const O: usize, const N: usize, S: ConstShape, T: Tape<f32, Self>>(
        weight: &Tensor<S, f32, Self>,
        u: &Tensor<Rank1<O>, f32, Self>,
        v: &Tensor<Rank1<N>, f32, Self>,
    ) -> Result<Tensor<S, f32, Self, T>, Self::Err> {
        crate::kernels::spectral_normalize(weight, u, v)
    }

    /// One fused parallel kernel; [`reference::batch_norm2d_relu`] is dfdx's.
    fn batch_norm2d_relu<const C: usize, H: Dim, W: Dim>(
        bn: &mut BatchNorm2d<C, Self>,
        x: Tensor<(usize, Const<C>, H, W), f32, Self, OwnedTape<f32, Self>>,
    ) -> Result<Tensor<(usize, Const<C>, H, W), f32, Self, OwnedTape<f32, Self>>, Self::Err> {
        crate::kernels::batch_norm2d_relu(bn, x)
    }

    /// The project's parallel kernel for `slope ≥ 0`, dfdx's `prelu` otherwise.
    fn leaky_relu<S: Shape, T: Tape<f32, Self>>(
        x: Tensor<S, f32, Self, T>,
        slope: f32,
    ) -> Result<Tensor<S, f32, Self, T>, Self::Err> {
        if slope >= 0.0 {
            crate::kernels::leaky_relu(x, slope)
        } else {
            use dfdx::tensor_ops::TryPReLU;
            x.try_prelu(slope)
        }
    }
}

/// dfdx 0.13's own CPU convolutions, with the signatures of [`ConvDevice`]: the reference the
/// project's kernels are tested against (`tests/conv_kernels.rs`), and the baseline of the
/// `conv_kernels` benchmark.
pub mod reference {
    use super::Dyn4;
    use dfdx::tensor::{Cpu, CpuError, NoneTape, OwnedTape, Tape, Tensor};
    use dfdx::tensor_ops::{TryConv2D, TryConvTrans2D};

    /// [`ConvDevice::spectral_normalize`](super::ConvDevice::spectral_normalize) with dfdx's
    /// ops (the trait's default).
    ///
    /// # Errors
    /// The device's allocation error.
    pub fn spectral_normalize<const O: usize, const N: usize, S, T>(
        weight: &Tensor<S, f32, Cpu>,
        u: &Tensor<dfdx::shapes::Rank1<O>, f32, Cpu>,
        v: &Tensor<dfdx::shapes::Rank1<N>, f32, Cpu>,
    ) -> Result<Tensor<S, f32, Cpu, T>, CpuError>
    where
        S: dfdx::shapes::ConstShape,
        T: Tape<f32, Cpu>,
    {
        super::spectral_normalize_ops(weight, u, v)
    }

    /// dfdx's `conv2d` (see [`ConvDevice::conv2d`](super::ConvDevice::conv2d)).
    ///
    /// # Errors
    /// The device's allocation error.
    pub fn conv2d<T: Tape<f32, Cpu>>(
        x: Dyn4<Cpu, T>,
        w: Dyn4<Cpu, NoneTape>,
        b: &Tensor<(usize,), f32, Cpu>,
        stride: usize,
        padding: usize,
    ) -> Result<Dyn4<Cpu, T>, CpuError> {
        super::add_bias((x, w).try_conv2d(stride, padding, 1usize, 1usize)?, b)
    }

    /// dfdx's `convtrans2d` (see
    /// [`ConvDevice::conv_transpose2d`](super::ConvDevice::conv_transpose2d)).
    ///
    /// # Errors
    /// The device's allocation error.
    pub fn conv_transpose2d<T: Tape<f32, Cpu>>(
        x: Dyn4<Cpu, T>,
        w: Dyn4<Cpu, NoneTape>,
        b: &Tensor<(usize,), f32, Cpu>,
        stride: usize,
        padding: usize,
    ) -> Result<Dyn4<Cpu, T>, CpuError> {
        super::add_bias((x, w).try_convtrans2d(stride, padding, 1usize, 1usize)?, b)
    }

    /// dfdx's `BatchNorm2D` (training mode) then `relu` (see
    /// [`ConvDevice::batch_norm2d_relu`](super::ConvDevice::batch_norm2d_relu)).
    ///
    /// # Errors
    /// The device's allocation error.
    pub fn batch_norm2d_relu<const C: usize, H: dfdx::shapes::Dim, W: dfdx::shapes::Dim>(
        bn: &mut super::BatchNorm2d<C, Cpu>,
        x: Tensor<(usize, dfdx::shapes::Const<C>, H, W), f32, Cpu, OwnedTape<f32, Cpu>>,
    ) -> Result<
        Tensor<(usize, dfdx::shapes::Const<C>, H, W), f32, Cpu, OwnedTape<f32, Cpu>>,
        CpuError,
    > {
        use dfdx::nn::ModuleMut;
        bn.try_forward_mut(x)?.try_relu()
    }

    /// dfdx's `relu` (`slope = 0`) or `prelu` (see
    /// [`ConvDevice::leaky_relu`](super::ConvDevice::leaky_relu)).
    ///
    /// # Errors
    /// The device's allocation error.
    pub fn leaky_relu<S: dfdx::shapes::Shape, T: Tape<f32, Cpu>>(
        x: dfdx::tensor::Tensor<S, f32, Cpu, T>,
        slope: f32,
    ) -> Result<dfdx::tensor::Tensor<S, f32, Cpu, T>, CpuError> {
        use dfdx::tensor_ops::TryPReLU;
        if slope == 0.0 {
            x.try_relu()
        } else {
            x.try_prelu(slope)
        }
    }
}

#[cfg(feature = "cuda")]
dfdx_conv_device!(dfdx::tensor::Cuda);

/// Runs `f` with the weight and bias gradients of the CPU convolutions it creates switched
/// off: their backward passes compute only the input gradient, and the weights' gradients
/// stay zero. For the generator update, which trains G only and needs D's input gradients, not
/// its weight gradients (PyTorch's `requires_grad = False` on D's parameters). The setting is
/// per thread, read when each convolution is created, and restored when `f` returns or
/// panics. Other devices and ops are unaffected.
pub fn without_weight_gradients<R>(f: impl FnOnce() -> R) -> R {
    crate::kernels::without_weight_gradients(f)
}

/// Runs `f` with the input gradient of the CPU `conv2d`s it creates switched off: their
/// backward passes compute the weight and bias gradients only, and the input's gradient stays
/// zero. For a network's first layer when its input needs no gradient (the discriminator
/// update's real and generated images, which PyTorch does not differentiate either); it must
/// not wrap a convolution whose input depends on parameters, whose gradients would then stop
/// there. Per thread, read when each convolution is created, restored when `f` returns or
/// panics. Other devices, transposed convolutions and other ops are unaffected.
pub fn without_input_gradient<R>(f: impl FnOnce() -> R) -> R {
    crate::kernels::without_input_gradient(f)
}

/// Runs `f`, a backward pass, with the CPU kernels' backward ops (convolutions, transposed
/// convolutions, leaky ReLU, batch norm + ReLU, spectral normalization) freeing the gradient
/// of their output once they have used it, as PyTorch frees the gradients of intermediate
/// tensors. Nothing reads that gradient after the op that made the tensor (dfdx runs the ops
/// in reverse order of creation, so every consumer has added to it before), and dfdx drops
/// it when the pass ends anyway unless the gradients are [`Gradients::leaky`]; freeing it
/// as the pass goes lowers the peak memory of a training step. Only an empty buffer is left
/// under the output's id, so with [`Gradients::leaky`] this is not for a pass after which an
/// intermediate tensor's gradient is read, or whose gradients are reused for another pass
/// through the same tensor; gradients from `alloc_grads` (dfdx's `ZeroGrads`), as the
/// [`Trainer`](crate::train::Trainer) uses them, drop those entries when the pass ends. Per
/// thread, read as each backward op runs, restored when `f` returns or panics; dfdx's own ops
/// are unaffected.
///
/// [`Gradients::leaky`]: dfdx::tensor::Gradients::leaky
pub fn freeing_output_gradients<R>(f: impl FnOnce() -> R) -> R {
    crate::kernels::freeing_output_gradients(f)
}

/// The stack of the kernel threads that [`on_kernel_threads`] starts: Linux's default for a
/// main thread, since the code moved onto them was written for one.
const KERNEL_THREAD_STACK: usize = 8 << 20;

/// Runs `f` on one of the threads of rayon's global pool, the pool whose threads run the CPU
/// kernels' parallel loops, and returns its result; the calling thread waits meanwhile. A
/// program's serial code (the layers' glue, dfdx's elementwise ops and Adam) then runs on one
/// of those threads, so that N pool threads are all the busy threads there are. Called from
/// an ordinary thread, each parallel loop wakes the pool from outside while a third thread
/// competes for the cores; on 2 cores `table3_step` measured 5% off the Table 3 D step and 4%
/// off its G step this way (see the README's "Benchmarks").
///
/// The first call starts the global pool, if nothing has started it yet, with
/// `RAYON_NUM_THREADS` threads (all cores by default) of 8 MiB stack. Within a pool thread it
/// simply calls `f`. The per-thread switches ([`without_weight_gradients`],
/// [`without_input_gradient`]) apply on the thread that sets them: set them inside `f`. A
/// panic in `f` is resumed in the caller.
pub fn on_kernel_threads<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_none() {
        // Err means the pool was started already (by an earlier call or a parallel loop); it
        // keeps its settings, which is all this call needs.
        let _ = rayon::ThreadPoolBuilder::new()
            .stack_size(KERNEL_THREAD_STACK)
            .build_global();
    }
    rayon::scope(|_| f())
}

/// Dimensions of a shape as a `Vec` (for messages and tests).
pub fn dims<S: Shape>(s: &S) -> Vec<usize> {
    s.concrete().into_iter().collect()
}
