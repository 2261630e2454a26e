//! The project's own CPU convolution kernels, plugged into dfdx as differentiable ops.
//!
//! dfdx 0.13's CPU convolution walks the batch one image at a time with only its GEMMs
//! parallel; these kernels (see [`conv`]) im2col a chunk of images at once, run a
//! single-threaded GEMM per chunk and parallelize over chunks, and fuse the input- and
//! weight-gradient passes. They are wired into dfdx's tape with its public API only: the op
//! copies its operands to host slices, computes the output, and records a backward closure that
//! reads ∂y from the tape's gradients and adds ∂x and ∂W into theirs.
//!
//! `unsafe` is confined to [`gemm`] (one call of `gemm::gemm` behind checked views).

pub(crate) mod conv;
#[allow(unsafe_code)]
pub(crate) mod gemm;

use dfdx::shapes::{HasShape, Shape};
use dfdx::tensor::{Cpu, CpuError, PutTape, SplitTape, Tape, Tensor, TensorFromVec};
use dfdx::tensor_ops::ReshapeTo;

use crate::device::Dyn4;
use conv::Geom;

/// The tensor's elements in row-major order (a copy: dfdx exposes no borrowed view). The
/// tensor must be contiguous (callers use `try_contiguous`, free when it already is).
fn host<S: Shape, T>(t: &Tensor<S, f32, Cpu, T>) -> Vec<f32> {
    let mut v = vec![0.0; t.shape().num_elements()];
    t.copy_into(&mut v);
    v
}

/// Moves the gradient buffer of `$t` out of `$grads` (allocating a zero one if absent), so that
/// the backward pass can hold several gradients at once through the public
/// `get_or_alloc_mut`. A macro: the ghost tensors' trait cannot be named outside dfdx.
macro_rules! take_grad {
    ($grads:expr, $t:expr) => {
        std::mem::take::<Vec<f32>>(&mut *$grads.get_or_alloc_mut($t)?)
    };
}

/// Gives a buffer taken with `take_grad!` back.
macro_rules! put_grad {
    ($grads:expr, $t:expr, $v:expr) => {
        **$grads.get_or_alloc_mut($t)? = $v
    };
}

/// `y = conv2d(x, w)` on the CPU with the project's kernels; see
/// [`ConvDevice::conv2d`](crate::ConvDevice::conv2d).
///
/// # Panics
/// If the channel counts disagree, the kernel is not square, or does not fit the padded input.
pub(crate) fn conv2d<T: Tape<f32, Cpu>>(
    x: Dyn4<Cpu, T>,
    w: Dyn4<Cpu, dfdx::tensor::NoneTape>,
    stride: usize,
    padding: usize,
) -> Result<Dyn4<Cpu, T>, CpuError> {
    let (x, w) = (x.try_contiguous()?, w.try_contiguous()?);
    let (b, c, h, wd) = *x.shape();
    let (o, wc, k, k2) = *w.shape();
    assert_eq!(c, wc, "conv2d: x has {c} channels, the weight expects {wc}");
    assert_eq!(k, k2, "conv2d: square kernels only, got {k}×{k2}");
    let g = Geom::conv(b, c, h, wd, o, k, stride, padding).unwrap_or_else(|| {
        panic!("conv2d: kernel {k} stride {stride} padding {padding} does not fit {h}×{wd}")
    });
    let (x, mut tape) = x.split_tape();
    let mut y = vec![0.0; g.y_len()];
    conv::forward(&g, &host(&x), &host(&w), &mut y, false);
    let y = x.device().try_tensor_from_vec(y, (b, o, g.ho, g.wo))?;
    let (xg, wg, yg) = (x.ghost(), w.ghost(), y.ghost());
    tape.add_backward_op(move |grads| {
        let gy = take_grad!(grads, &yg);
        let mut gw = take_grad!(grads, &wg);
        let (xs, ws) = (host(&x), host(&w));
        conv::backward(
            &g,
            &xs,
            &ws,
            &gy,
            Some(&mut grads.get_or_alloc_mut(&xg)?[..]),
            Some(&mut gw),
        );
        put_grad!(grads, &wg, gw);
        put_grad!(grads, &yg, gy);
        Ok(())
    });
    Ok(y.put_tape(tape))
}

/// `y = conv_transpose2d(x, w)` on the CPU with the project's kernels; see
/// [`ConvDevice::conv_transpose2d`](crate::ConvDevice::conv_transpose2d).
///
/// # Panics
/// If the channel counts disagree, the kernel is not square, or the output would be empty.
pub(crate) fn conv_transpose2d<T: Tape<f32, Cpu>>(
    x: Dyn4<Cpu, T>,
    w: Dyn4<Cpu, dfdx::tensor::NoneTape>,
    stride: usize,
    padding: usize,
) -> Result<Dyn4<Cpu, T>, CpuError> {
    let (x, w) = (x.try_contiguous()?, w.try_contiguous()?);
    let (b, c, h, wd) = *x.shape();
    let (wc, o, k, k2) = *w.shape();
    assert_eq!(
        c, wc,
        "conv_transpose2d: x has {c} channels, the weight expects {wc}"
    );
    assert_eq!(k, k2, "conv_transpose2d: square kernels only, got {k}×{k2}");
    let g = Geom::transposed(b, c, h, wd, o, k, stride, padding).unwrap_or_else(|| {
        panic!("conv_transpose2d: kernel {k} stride {stride} padding {padding} gives no output for {h}×{wd}")
    });
    let (x, mut tape) = x.split_tape();
    let mut y = vec![0.0; g.x_len()];
    conv::transposed_forward(&g, &host(&x), &host(&w), &mut y);
    let y = x.device().try_tensor_from_vec(y, (b, o, g.h, g.w))?;
    let (xg, wg, yg) = (x.ghost(), w.ghost(), y.ghost());
    tape.add_backward_op(move |grads| {
        let gy = take_grad!(grads, &yg);
        let mut gw = take_grad!(grads, &wg);
        let (xs, ws) = (host(&x), host(&w));
        conv::transposed_backward(
            &g,
            &xs,
            &ws,
            &gy,
            &mut grads.get_or_alloc_mut(&xg)?[..],
            &mut gw,
        );
        put_grad!(grads, &wg, gw);
        put_grad!(grads, &yg, gy);
        Ok(())
    });
    Ok(y.put_tape(tape))
}
