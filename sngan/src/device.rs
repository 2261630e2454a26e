//! The device alias and the one seam through which every convolution runs.

use dfdx::shapes::{Rank0, Shape};
use dfdx::tensor::{Cpu, Tape, Tensor, TensorToArray};
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
/// On `Cpu` both methods run the project's kernels (`sngan::kernels`, private: whole-batch im2col,
/// parallel over image chunks, deterministic); on `Cuda` dfdx's (un-gated for stable Rust by
/// `xtask`). dfdx's CPU kernels stay available as [`reference`]. Filters carry no tape: callers merge a traced filter's tape into the image's
/// before the call (see [`crate::layers`]).
pub trait ConvDevice: Device<f32> + TensorToArray<Rank0, f32, Array = f32> {
    /// The device's error as the crate's [`Error`](crate::Error).
    fn into_error(e: Self::Err) -> crate::Error;

    /// `y = conv2d(x, w)`: x (B, C_in, H, W), w (C_out, C_in, K, K) →
    /// (B, C_out, (H + 2P − K)/S + 1, (W + 2P − K)/S + 1).
    ///
    /// # Errors
    /// The device's allocation error.
    fn conv2d<T: Tape<f32, Self>>(
        x: Dyn4<Self, T>,
        w: Tensor<(usize, usize, usize, usize), f32, Self>,
        stride: usize,
        padding: usize,
    ) -> Result<Dyn4<Self, T>, Self::Err>;

    /// `y = conv_transpose2d(x, w)`: x (B, C_in, H, W), w (C_in, C_out, K, K) →
    /// (B, C_out, (H − 1)·S − 2P + K, …).
    ///
    /// # Errors
    /// The device's allocation error.
    fn conv_transpose2d<T: Tape<f32, Self>>(
        x: Dyn4<Self, T>,
        w: Tensor<(usize, usize, usize, usize), f32, Self>,
        stride: usize,
        padding: usize,
    ) -> Result<Dyn4<Self, T>, Self::Err>;
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
                stride: usize,
                padding: usize,
            ) -> Result<Dyn4<Self, T>, Self::Err> {
                use dfdx::tensor_ops::TryConv2D;
                (x, w).try_conv2d(stride, padding, 1usize, 1usize)
            }

            fn conv_transpose2d<T: Tape<f32, Self>>(
                x: Dyn4<Self, T>,
                w: Tensor<(usize, usize, usize, usize), f32, Self>,
                stride: usize,
                padding: usize,
            ) -> Result<Dyn4<Self, T>, Self::Err> {
                use dfdx::tensor_ops::TryConvTrans2D;
                (x, w).try_convtrans2d(stride, padding, 1usize, 1usize)
            }
        }
    };
}

impl ConvDevice for Cpu {
    fn into_error(e: Self::Err) -> crate::Error {
        e.into()
    }

    /// The project's kernels (`sngan::kernels`, private); [`reference::conv2d`] is dfdx's.
    fn conv2d<T: Tape<f32, Self>>(
        x: Dyn4<Self, T>,
        w: Tensor<(usize, usize, usize, usize), f32, Self>,
        stride: usize,
        padding: usize,
    ) -> Result<Dyn4<Self, T>, Self::Err> {
        crate::kernels::conv2d(x, w, stride, padding)
    }

    /// The project's kernels (`sngan::kernels`, private); [`reference::conv_transpose2d`] is dfdx's.
    fn conv_transpose2d<T: Tape<f32, Self>>(
        x: Dyn4<Self, T>,
        w: Tensor<(usize, usize, usize, usize), f32, Self>,
        stride: usize,
        padding: usize,
    ) -> Result<Dyn4<Self, T>, Self::Err> {
        crate::kernels::conv_transpose2d(x, w, stride, padding)
    }
}

/// dfdx 0.13's own CPU convolutions, with the signatures of [`ConvDevice`]: the reference the
/// project's kernels are tested against (`tests/conv_kernels.rs`), and the baseline of the
/// `conv_kernels` benchmark.
pub mod reference {
    use super::Dyn4;
    use dfdx::tensor::{Cpu, CpuError, NoneTape, Tape};
    use dfdx::tensor_ops::{TryConv2D, TryConvTrans2D};

    /// dfdx's `conv2d` (see [`ConvDevice::conv2d`](super::ConvDevice::conv2d)).
    ///
    /// # Errors
    /// The device's allocation error.
    pub fn conv2d<T: Tape<f32, Cpu>>(
        x: Dyn4<Cpu, T>,
        w: Dyn4<Cpu, NoneTape>,
        stride: usize,
        padding: usize,
    ) -> Result<Dyn4<Cpu, T>, CpuError> {
        (x, w).try_conv2d(stride, padding, 1usize, 1usize)
    }

    /// dfdx's `convtrans2d` (see
    /// [`ConvDevice::conv_transpose2d`](super::ConvDevice::conv_transpose2d)).
    ///
    /// # Errors
    /// The device's allocation error.
    pub fn conv_transpose2d<T: Tape<f32, Cpu>>(
        x: Dyn4<Cpu, T>,
        w: Dyn4<Cpu, NoneTape>,
        stride: usize,
        padding: usize,
    ) -> Result<Dyn4<Cpu, T>, CpuError> {
        (x, w).try_convtrans2d(stride, padding, 1usize, 1usize)
    }
}

#[cfg(feature = "cuda")]
dfdx_conv_device!(dfdx::tensor::Cuda);

/// Dimensions of a shape as a `Vec` (for messages and tests).
pub fn dims<S: Shape>(s: &S) -> Vec<usize> {
    s.concrete().into_iter().collect()
}
