//! The device alias and the one seam through which every convolution runs.

use dfdx::shapes::{Rank0, Shape};
use dfdx::tensor::{Cpu, Tape, Tensor, TensorToArray};
use dfdx::tensor_ops::{Device, TryConv2D, TryConvTrans2D};

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
/// This is the seam the CPU-speed work replaces: today both methods call dfdx's kernels
/// (un-gated for stable Rust by `xtask`); a device-specific implementation only has to keep the
/// signatures. Filters carry no tape: callers merge a traced filter's tape into the image's
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
                (x, w).try_conv2d(stride, padding, 1usize, 1usize)
            }

            fn conv_transpose2d<T: Tape<f32, Self>>(
                x: Dyn4<Self, T>,
                w: Tensor<(usize, usize, usize, usize), f32, Self>,
                stride: usize,
                padding: usize,
            ) -> Result<Dyn4<Self, T>, Self::Err> {
                (x, w).try_convtrans2d(stride, padding, 1usize, 1usize)
            }
        }
    };
}

dfdx_conv_device!(Cpu);
#[cfg(feature = "cuda")]
dfdx_conv_device!(dfdx::tensor::Cuda);

/// Dimensions of a shape as a `Vec` (for messages and tests).
pub fn dims<S: Shape>(s: &S) -> Vec<usize> {
    s.concrete().into_iter().collect()
}
