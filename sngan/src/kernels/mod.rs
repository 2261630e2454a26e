//! The project's own CPU convolution kernels, plugged into dfdx as differentiable ops.
//!
//! dfdx 0.13's CPU convolution walks the batch one image at a time with only its GEMMs
//! parallel; these kernels (see [`conv`]) im2col a chunk of images at once, run a
//! single-threaded GEMM per chunk and parallelize over chunks, and fuse the input- and
//! weight-gradient passes; the discriminator's convolution + leaky ReLU is one op (the ReLU's
//! gate kept as a byte per element and applied as the backward pass reads ∂y), and leaky ReLU
//! and the generator's batch norm + ReLU are parallel elementwise kernels. They are wired into
//! dfdx's tape with its public API only: the op copies its operands to host slices (kept for
//! its backward pass), computes the output, and records a backward closure that reads ∂y from
//! the tape's gradients and adds ∂x and ∂W into theirs.
//!
//! The Table 3 D's last two layers (and any convolution with ≥ 20% of its patch products on
//! padding, f32, on an AVX-512 CPU) take [`direct`], a direct convolution that skips the
//! padding, for the forward pass and, at stride 1, the input gradient.
//!
//! `unsafe` is confined to [`gemm`] (one call of `gemm::gemm` behind checked views) and to
//! [`direct`]'s AVX-512 microkernel (its call behind bounds checks of every tile).

pub(crate) mod conv;
pub(crate) mod direct;
#[allow(unsafe_code)]
pub(crate) mod gemm;

use dfdx::shapes::{HasShape, Shape};
use dfdx::tensor::{Cpu, CpuError, PutTape, SplitTape, Tape, Tensor, TensorFromVec};
use dfdx::tensor_ops::ReshapeTo;

use crate::device::Dyn4;
use conv::{Epilogue, Geom};
use rayon::prelude::*;
use std::cell::Cell;

thread_local! {
    /// Whether convolutions created on this thread record weight and bias gradients.
    static WEIGHT_GRADIENTS: Cell<bool> = const { Cell::new(true) };
    /// Whether `conv2d`s created on this thread compute their input gradient.
    static INPUT_GRADIENTS: Cell<bool> = const { Cell::new(true) };
    /// Whether the kernels' backward passes run on this thread give the gradient of their
    /// output back to the gradients once they have used it.
    static OUTPUT_GRADIENTS: Cell<bool> = const { Cell::new(true) };
}

fn weight_gradients_on() -> bool {
    WEIGHT_GRADIENTS.with(Cell::get)
}

fn input_gradients_on() -> bool {
    INPUT_GRADIENTS.with(Cell::get)
}

fn keep_output_gradients() -> bool {
    OUTPUT_GRADIENTS.with(Cell::get)
}

/// Runs `f` with `flag` set to false on this thread, restored when `f` returns or panics.
fn with_flag_off<R>(flag: &'static std::thread::LocalKey<Cell<bool>>, f: impl FnOnce() -> R) -> R {
    struct Restore(&'static std::thread::LocalKey<Cell<bool>>, bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            self.0.with(|c| c.set(self.1));
        }
    }
    let _restore = Restore(flag, flag.with(|c| c.replace(false)));
    f()
}

/// Runs `f` with the weight and bias gradients of the CPU convolutions it creates switched off;
/// see [`crate::device::without_weight_gradients`].
pub(crate) fn without_weight_gradients<R>(f: impl FnOnce() -> R) -> R {
    with_flag_off(&WEIGHT_GRADIENTS, f)
}

/// Runs `f` with the input gradient of the CPU `conv2d`s it creates switched off; see
/// [`crate::device::without_input_gradient`].
pub(crate) fn without_input_gradient<R>(f: impl FnOnce() -> R) -> R {
    with_flag_off(&INPUT_GRADIENTS, f)
}

/// Runs `f` with the kernels' backward passes freeing the gradient of their output; see
/// [`crate::device::freeing_output_gradients`].
pub(crate) fn freeing_output_gradients<R>(f: impl FnOnce() -> R) -> R {
    with_flag_off(&OUTPUT_GRADIENTS, f)
}

/// The tensor's elements in row-major order (a copy: dfdx exposes no borrowed view). The
/// tensor must be contiguous (callers use `try_contiguous`, free when it already is).
fn host<S: Shape, T>(t: &Tensor<S, f32, Cpu, T>) -> Vec<f32> {
    let mut v = vec![0.0; t.shape().num_elements()];
    t.copy_into(&mut v);
    v
}

/// The bias as a host vector of `o` elements.
///
/// # Panics
/// If it has another length.
fn host_bias<T>(bias: &Tensor<(usize,), f32, Cpu, T>, o: usize) -> Vec<f32> {
    assert_eq!(
        bias.shape().0,
        o,
        "bias has {} elements, the layer {o} channels",
        bias.shape().0
    );
    host(bias)
}

/// Elements per parallel task of the elementwise kernels.
const ELEMENTWISE_CHUNK: usize = 1 << 15;

/// Whole planes per parallel task of the elementwise bias kernels: about
/// [`ELEMENTWISE_CHUNK`] elements, so small planes (4 × 4 at the end of D) are not one task
/// each.
fn planes_per_task(plane: usize) -> usize {
    (ELEMENTWISE_CHUNK / plane.max(1)).max(1)
}

/// `y[·, o, ·] += b[o]` on an NCHW buffer with `plane` = H·W.
fn add_bias(y: &mut [f32], b: &[f32], plane: usize) {
    if plane == 0 || b.is_empty() {
        return;
    }
    let per = planes_per_task(plane);
    y.par_chunks_mut(per * plane)
        .enumerate()
        .for_each(|(t, planes)| {
            for (i, p) in planes.chunks_mut(plane).enumerate() {
                let bias = b[(t * per + i) % b.len()];
                p.iter_mut().for_each(|v| *v += bias);
            }
        });
}

/// `gb[o] += Σ_{n, p} gy[n, o, p]`, each plane summed with [`conv::lane_sum`], then the
/// planes over the batch in order.
fn bias_grad(gy: &[f32], gb: &mut [f32], plane: usize) {
    let o = gb.len();
    if plane == 0 || o == 0 {
        return;
    }
    let sums: Vec<f32> = gy
        .par_chunks(planes_per_task(plane) * plane)
        .flat_map_iter(|planes| planes.chunks(plane).map(conv::lane_sum))
        .collect();
    for (i, s) in sums.into_iter().enumerate() {
        gb[i % o] += s;
    }
}

/// Moves the gradient buffer of `$t` out of `$grads` (allocating a zero one if absent), so that
/// the backward pass can hold several gradients at once through the public
/// `get_or_alloc_mut`. A macro: the ghost tensors' trait cannot be named outside dfdx.
macro_rules! take_grad {
    ($grads:expr, $t:expr) => {
        std::mem::take::<Vec<f32>>(&mut *$grads.get_or_alloc_mut($t)?)
    };
}

/// Ends an op's backward pass with the gradient of its output, taken with `take_grad!`: gives
/// it back, or, under [`freeing_output_gradients`], frees it (only an empty buffer stays under
/// the output's id).
macro_rules! done_grad {
    ($grads:expr, $t:expr, $v:expr) => {
        if keep_output_gradients() {
            **$grads.get_or_alloc_mut($t)? = $v
        } else {
            drop($v)
        }
    };
}

/// Gives a buffer taken with `take_grad!` back.
macro_rules! put_grad {
    ($grads:expr, $t:expr, $v:expr) => {
        **$grads.get_or_alloc_mut($t)? = $v
    };
}

/// `y = conv2d(x, w) + b`, followed by a leaky ReLU of slope `s` when `leaky = Some(s)`, on
/// the CPU with the project's kernels; see [`ConvDevice::conv2d`](crate::ConvDevice::conv2d)
/// and [`ConvDevice::conv2d_leaky_relu`](crate::ConvDevice::conv2d_leaky_relu).
///
/// The op keeps, for its backward pass, the host copies of x (only when weight gradients are
/// recorded) and of w that its forward made. With the activation, one byte per output element
/// marks the ReLU's pass-through set, and the backward pass applies it to ∂y chunk by chunk
/// as the convolution's backward reads it (∂y's buffer on the tape is left as it is).
///
/// # Panics
/// If the channel counts disagree, the kernel is not square, does not fit the padded input,
/// or `s` is negative or NaN.
pub(crate) fn conv2d<T: Tape<f32, Cpu>>(
    x: Dyn4<Cpu, T>,
    w: Dyn4<Cpu, dfdx::tensor::NoneTape>,
    bias: &Tensor<(usize,), f32, Cpu>,
    stride: usize,
    padding: usize,
    leaky: Option<f32>,
) -> Result<Dyn4<Cpu, T>, CpuError> {
    if let Some(slope) = leaky {
        assert!(
            slope >= 0.0,
            "conv2d kernel: leaky-ReLU slope {slope} must be ≥ 0"
        );
    }
    let (x, w) = (x.try_contiguous()?, w.try_contiguous()?);
    let (n, c, h, wd) = *x.shape();
    let (o, wc, k, k2) = *w.shape();
    assert_eq!(c, wc, "conv2d: x has {c} channels, the weight expects {wc}");
    assert_eq!(k, k2, "conv2d: square kernels only, got {k}×{k2}");
    let g = Geom::conv(n, c, h, wd, o, k, stride, padding).unwrap_or_else(|| {
        panic!("conv2d: kernel {k} stride {stride} padding {padding} does not fit {h}×{wd}")
    });
    let (x, mut tape) = x.split_tape();
    let (xs, ws, bs) = (host(&x), host(&w), host_bias(bias, o));
    let mut y = vec![0.0; g.y_len()];
    let gate = match leaky {
        Some(slope) => {
            let mut mask = vec![0u8; y.len()];
            let leaky = Some((slope, &mut mask[..]));
            conv::forward_with(&g, &xs, &ws, &mut y, Epilogue { bias: &bs, leaky });
            Some((mask, slope))
        }
        None => {
            let epi = Epilogue {
                bias: &bs,
                leaky: None,
            };
            conv::forward_with(&g, &xs, &ws, &mut y, epi);
            None
        }
    };
    let y = x.device().try_tensor_from_vec(y, (n, o, g.ho, g.wo))?;
    let (xg, wg, yg, bg) = (x.ghost(), w.ghost(), y.ghost(), bias.ghost());
    drop((x, w));
    let weight_grads = weight_gradients_on();
    let input_grad = input_gradients_on();
    // x is read only for the weight gradient, w only for the input gradient.
    let xs = weight_grads.then_some(xs);
    let ws = if input_grad { ws } else { Vec::new() };
    tape.add_backward_op(move |grads| {
        let gy = take_grad!(grads, &yg);
        let gate = gate.as_ref().map(|(m, s)| (&m[..], *s));
        // A switched-off gradient is present and zero, as documented.
        let mut gx = if input_grad {
            Some(take_grad!(grads, &xg))
        } else {
            grads.try_alloc_for(&xg)?;
            None
        };
        if let Some(xs) = &xs {
            let mut gw = take_grad!(grads, &wg);
            let mut gb = take_grad!(grads, &bg);
            conv::backward(
                &g,
                xs,
                &ws,
                &gy,
                gate,
                gx.as_deref_mut(),
                Some(&mut gw),
                Some(&mut gb),
            );
            put_grad!(grads, &wg, gw);
            put_grad!(grads, &bg, gb);
        } else {
            grads.try_alloc_for(&wg)?;
            grads.try_alloc_for(&bg)?;
            conv::backward(&g, &[], &ws, &gy, gate, gx.as_deref_mut(), None, None);
        }
        if let Some(gx) = gx {
            put_grad!(grads, &xg, gx);
        }
        done_grad!(grads, &yg, gy);
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
    bias: &Tensor<(usize,), f32, Cpu>,
    stride: usize,
    padding: usize,
) -> Result<Dyn4<Cpu, T>, CpuError> {
    let (x, w) = (x.try_contiguous()?, w.try_contiguous()?);
    let (n, c, h, wd) = *x.shape();
    let (wc, o, k, k2) = *w.shape();
    assert_eq!(
        c, wc,
        "conv_transpose2d: x has {c} channels, the weight expects {wc}"
    );
    assert_eq!(k, k2, "conv_transpose2d: square kernels only, got {k}×{k2}");
    let g = Geom::transposed(n, c, h, wd, o, k, stride, padding).unwrap_or_else(|| {
        panic!("conv_transpose2d: kernel {k} stride {stride} padding {padding} gives no output for {h}×{wd}")
    });
    let (x, mut tape) = x.split_tape();
    let (xs, ws) = (host(&x), host(&w));
    let mut y = vec![0.0; g.x_len()];
    conv::transposed_forward(&g, &xs, &ws, &mut y);
    add_bias(&mut y, &host_bias(bias, o), g.h * g.w);
    let y = x.device().try_tensor_from_vec(y, (n, o, g.h, g.w))?;
    let (xg, wg, yg, bg) = (x.ghost(), w.ghost(), y.ghost(), bias.ghost());
    drop((x, w));
    let weight_grads = weight_gradients_on();
    // As in `conv2d`: the forward's host copies serve the backward pass.
    let xs = weight_grads.then_some(xs);
    tape.add_backward_op(move |grads| {
        let gy = take_grad!(grads, &yg);
        if let Some(xs) = &xs {
            bias_grad(&gy, &mut grads.get_or_alloc_mut(&bg)?[..], g.h * g.w);
            let mut gw = take_grad!(grads, &wg);
            let gx = &mut grads.get_or_alloc_mut(&xg)?[..];
            conv::transposed_backward(&g, xs, &ws, &gy, Some(gx), Some(&mut gw));
            put_grad!(grads, &wg, gw);
        } else {
            // Present and zero, as documented.
            grads.try_alloc_for(&wg)?;
            grads.try_alloc_for(&bg)?;
            let gx = &mut grads.get_or_alloc_mut(&xg)?[..];
            conv::transposed_backward(&g, &[], &ws, &gy, Some(gx), None);
        }
        done_grad!(grads, &yg, gy);
        Ok(())
    });
    Ok(y.put_tape(tape))
}

/// Leaky ReLU on the CPU, parallel: see
/// [`ConvDevice::leaky_relu`](crate::ConvDevice::leaky_relu). The backward pass reads the
/// sign from the output (`y > 0` exactly where `x > 0`, as `slope ≥ 0`), so the op keeps its
/// output alive (the next layer holds it anyway) and not its input.
///
/// # Panics
/// If `slope` is negative or NaN.
pub(crate) fn leaky_relu<S: Shape, T: Tape<f32, Cpu>>(
    x: Tensor<S, f32, Cpu, T>,
    slope: f32,
) -> Result<Tensor<S, f32, Cpu, T>, CpuError> {
    assert!(slope >= 0.0, "leaky_relu kernel: slope {slope} must be ≥ 0");
    let x = x.try_contiguous()?;
    let shape = *x.shape();
    let (x, mut tape) = x.split_tape();
    let mut y = host(&x);
    y.par_chunks_mut(ELEMENTWISE_CHUNK).for_each(|c| {
        c.iter_mut().for_each(|v| {
            if *v <= 0.0 {
                *v *= slope;
            }
        })
    });
    let y = x.device().try_tensor_from_vec(y, shape)?;
    let (xg, yg, y_saved) = (x.ghost(), y.ghost(), y.clone());
    drop(x);
    tape.add_backward_op(move |grads| {
        let gy = take_grad!(grads, &yg);
        let ys = host(&y_saved);
        grads
            .get_or_alloc_mut(&xg)?
            .par_chunks_mut(ELEMENTWISE_CHUNK)
            .zip(
                gy.par_chunks(ELEMENTWISE_CHUNK)
                    .zip(ys.par_chunks(ELEMENTWISE_CHUNK)),
            )
            .for_each(|(gx, (gy, y))| {
                for ((gx, gy), y) in gx.iter_mut().zip(gy).zip(y) {
                    *gx += if *y > 0.0 { *gy } else { slope * *gy };
                }
            });
        done_grad!(grads, &yg, gy);
        Ok(())
    });
    Ok(y.put_tape(tape))
}

/// Elements per parallel task of the spectral normalization's reductions and updates: a
/// fixed size, so the sums' order does not depend on the thread count.
const SN_CHUNK: usize = 1 << 14;

/// W̄ = W/σ̃, σ̃ = ũᵀ W v, on the CPU as one op; see
/// [`ConvDevice::spectral_normalize`](crate::ConvDevice::spectral_normalize). σ̃ is summed in
/// f64 (each row of W v, then over the rows in order). The backward pass is eq. 12 written
/// out, `∂W += G/σ̃ − (⟨G, W⟩/σ̃²)·ũvᵀ`, with ⟨G, W⟩ summed in f64 over fixed chunks in order;
/// under [`without_weight_gradients`] it records a zero ∂W and computes nothing.
///
/// # Panics
/// If W does not have `ũ.len() · v.len()` elements.
pub(crate) fn spectral_normalize<S: Shape, U: Shape, V: Shape, T: Tape<f32, Cpu>>(
    weight: &Tensor<S, f32, Cpu>,
    u: &Tensor<U, f32, Cpu>,
    v: &Tensor<V, f32, Cpu>,
) -> Result<Tensor<S, f32, Cpu, T>, CpuError> {
    let (mut ws, us, vs) = (host(weight), host(u), host(v));
    let n = vs.len();
    assert_eq!(
        ws.len(),
        us.len() * n,
        "spectral_normalize: W has {} elements, not {} × {n}",
        ws.len(),
        us.len()
    );
    let sigma: f64 = if n == 0 {
        0.0
    } else {
        let rows: Vec<f64> = ws
            .par_chunks(n)
            .map(|r| {
                r.iter()
                    .zip(&vs)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum()
            })
            .collect();
        rows.iter().zip(&us).map(|(r, &u)| r * f64::from(u)).sum()
    };
    let sigma = sigma as f32;
    // W is read again only by the backward pass; without it, W̄ is computed in W's copy.
    let weight_grads = weight_gradients_on();
    let mut y = if weight_grads {
        ws.clone()
    } else {
        std::mem::take(&mut ws)
    };
    y.par_chunks_mut(SN_CHUNK)
        .for_each(|c| c.iter_mut().for_each(|w| *w /= sigma));
    let (w, mut tape) = weight.retaped::<T>().split_tape();
    let y = w.device().try_tensor_from_vec(y, *w.shape())?;
    let (wg, yg) = (w.ghost(), y.ghost());
    drop(w);
    if weight_grads {
        tape.add_backward_op(move |grads| {
            let gy = take_grad!(grads, &yg);
            let dot: f64 = gy
                .par_chunks(SN_CHUNK)
                .zip(ws.par_chunks(SN_CHUNK))
                .map(|(g, w)| {
                    g.iter()
                        .zip(w)
                        .map(|(&g, &w)| f64::from(g) * f64::from(w))
                        .sum::<f64>()
                })
                .collect::<Vec<f64>>()
                .into_iter()
                .sum();
            let coef = (dot / (f64::from(sigma) * f64::from(sigma))) as f32;
            grads
                .get_or_alloc_mut(&wg)?
                .par_chunks_mut(n.max(1))
                .zip(gy.par_chunks(n.max(1)))
                .zip(us.par_iter())
                .for_each(|((gw, g), &ui)| {
                    let cu = coef * ui;
                    for ((d, &g), &vj) in gw.iter_mut().zip(g).zip(&vs) {
                        *d += g / sigma - cu * vj;
                    }
                });
            done_grad!(grads, &yg, gy);
            Ok(())
        });
    } else {
        tape.add_backward_op(move |grads| grads.try_alloc_for(&wg));
    }
    Ok(y.put_tape(tape))
}

/// Lanes of the batch norm's f64 sums (a 512-bit vector of f64).
const F64_LANES: usize = 8;

/// `Σ_i f(x[i], y[i])` for the two components of `f`, in f64, summed in [`F64_LANES`]
/// interleaved partial sums (then those in order, then the tail): a fixed order that
/// vectorizes. `x` and `y` have the same length.
fn lane_sums2(x: &[f32], y: &[f32], f: impl Fn(f32, f32) -> (f64, f64)) -> (f64, f64) {
    debug_assert_eq!(x.len(), y.len());
    let (mut a, mut b) = ([0.0f64; F64_LANES], [0.0f64; F64_LANES]);
    let split = x.len() - x.len() % F64_LANES;
    for (xc, yc) in x[..split]
        .chunks_exact(F64_LANES)
        .zip(y[..split].chunks_exact(F64_LANES))
    {
        for l in 0..F64_LANES {
            let (fa, fb) = f(xc[l], yc[l]);
            a[l] += fa;
            b[l] += fb;
        }
    }
    let (mut sa, mut sb) = (0.0, 0.0);
    for l in 0..F64_LANES {
        sa += a[l];
        sb += b[l];
    }
    for (&xv, &yv) in x[split..].iter().zip(&y[split..]) {
        let (fa, fb) = f(xv, yv);
        sa += fa;
        sb += fb;
    }
    (sa, sb)
}

/// Per-channel batch statistics of an NCHW buffer with `c` channels and `plane` = H·W: the
/// mean and the biased variance (two passes, f64 sums per plane with [`lane_sums2`], each
/// channel's planes in batch order).
fn channel_stats(x: &[f32], c: usize, plane: usize) -> Vec<(f64, f64)> {
    let images = x.len() / (c * plane).max(1);
    let count = (images * plane) as f64;
    (0..c)
        .into_par_iter()
        .map(|ch| {
            let planes = || (0..images).map(move |b| &x[(b * c + ch) * plane..][..plane]);
            let sum: f64 = planes()
                .map(|p| lane_sums2(p, p, |v, _| (f64::from(v), 0.0)).0)
                .sum();
            let mean = sum / count;
            let sq: f64 = planes()
                .map(|p| lane_sums2(p, p, |v, _| ((f64::from(v) - mean).powi(2), 0.0)).0)
                .sum();
            (mean, sq / count)
        })
        .collect()
}

/// One channel's batch normalization: μ, 1/√(σ² + ε), and `scale`, `shift` with
/// γ·(x − μ)/√(σ² + ε) + β = x·scale + shift.
#[derive(Clone, Copy)]
struct ChannelNorm {
    mu: f32,
    inv: f32,
    scale: f32,
    shift: f32,
}

/// Training-mode batch normalization followed by ReLU, `y = max(0, γ·(x − μ)/√(σ² + ε) + β)`
/// with the batch's per-channel mean μ and biased variance σ², as one parallel op; see
/// [`ConvDevice::batch_norm2d_relu`](crate::ConvDevice::batch_norm2d_relu). Updates the running
/// statistics as dfdx's `BatchNorm2D` does (momentum m: `r ← (1 − m)·r + m·μ`, and for the
/// variance `m·σ²·n/(n − 1)` with n = B·H·W). The backward pass is the full batch-norm
/// gradient (through μ and σ²) into x, γ and β, recomputing x̂ from the saved input.
pub(crate) fn batch_norm2d_relu<const C: usize, H, W, T>(
    bn: &mut crate::device::BatchNorm2d<C, Cpu>,
    x: Tensor<(usize, dfdx::shapes::Const<C>, H, W), f32, Cpu, T>,
) -> Result<Tensor<(usize, dfdx::shapes::Const<C>, H, W), f32, Cpu, T>, CpuError>
where
    H: dfdx::shapes::Dim,
    W: dfdx::shapes::Dim,
    T: Tape<f32, Cpu>,
{
    let x = x.try_contiguous()?;
    let shape = *x.shape();
    let plane = shape.2.size() * shape.3.size();
    let count = shape.0 * plane;
    let (x, mut tape) = x.split_tape();
    let xs = host(&x);
    let stats = channel_stats(&xs, C, plane);

    let (m, n) = (bn.momentum, count as f64);
    let blend = |old: f32, stat: f64| ((1.0 - m) * f64::from(old) + m * stat) as f32;
    let (old_mean, old_var) = (host(&bn.running_mean), host(&bn.running_var));
    let new_mean: Vec<f32> = (0..C).map(|c| blend(old_mean[c], stats[c].0)).collect();
    // n = 1 would divide by 0, as in dfdx (a batch of one pixel has no variance estimate).
    let new_var: Vec<f32> = (0..C)
        .map(|c| blend(old_var[c], stats[c].1 * n / (n - 1.0)))
        .collect();
    bn.running_mean.copy_from(&new_mean);
    bn.running_var.copy_from(&new_var);

    let (gamma, beta) = (host(&bn.scale), host(&bn.bias));
    let eps = bn.epsilon;
    // Per channel, in f32 as the forward and the backward use them: μ, 1/√(σ² + ε), and the
    // affine map x ↦ x·scale + shift that is γ·x̂ + β.
    let norm: Vec<ChannelNorm> = stats
        .iter()
        .zip(gamma.iter().zip(&beta))
        .map(|(&(mean, var), (&g, &b))| {
            let (mu, inv) = (mean as f32, (1.0 / (var + eps).sqrt()) as f32);
            ChannelNorm {
                mu,
                inv,
                scale: g * inv,
                shift: b - g * inv * mu,
            }
        })
        .collect();
    let mut y = vec![0.0; xs.len()];
    // Whole planes per task (`plane1`: a plane of no pixels has no elements to visit).
    let (plane1, per) = (plane.max(1), planes_per_task(plane));
    y.par_chunks_mut(per * plane1)
        .zip(xs.par_chunks(per * plane1))
        .enumerate()
        .for_each(|(t, (yt, xt))| {
            for (i, (yp, xp)) in yt.chunks_mut(plane1).zip(xt.chunks(plane1)).enumerate() {
                let cn = norm[(t * per + i) % C];
                for (y, &x) in yp.iter_mut().zip(xp) {
                    *y = (x * cn.scale + cn.shift).max(0.0);
                }
            }
        });
    let y = x.device().try_tensor_from_vec(y, shape)?;
    let (xg, yg, sg, bg) = (x.ghost(), y.ghost(), bn.scale.ghost(), bn.bias.ghost());
    drop(x);
    tape.add_backward_op(move |grads| {
        let gy = take_grad!(grads, &yg);
        // Per channel, over the ReLU's pass-through set: Σ ∂y and Σ ∂y·x̂ (f64, per plane
        // with `lane_sums2`, then the planes in batch order).
        let sums: Vec<(f64, f64)> = (0..C)
            .into_par_iter()
            .map(|c| {
                let cn = norm[c];
                let (mut s, mut sx) = (0.0f64, 0.0f64);
                for b in 0..shape.0 {
                    let at = (b * C + c) * plane;
                    let (xp, gp) = (&xs[at..at + plane], &gy[at..at + plane]);
                    let (ps, psx) = lane_sums2(xp, gp, |x, g| {
                        let g = if x * cn.scale + cn.shift > 0.0 {
                            f64::from(g)
                        } else {
                            0.0
                        };
                        (g, g * f64::from((x - cn.mu) * cn.inv))
                    });
                    s += ps;
                    sx += psx;
                }
                (s, sx)
            })
            .collect();
        {
            let gb = &mut grads.get_or_alloc_mut(&bg)?[..];
            for c in 0..C {
                gb[c] += sums[c].0 as f32;
            }
        }
        {
            let gs = &mut grads.get_or_alloc_mut(&sg)?[..];
            for c in 0..C {
                gs[c] += sums[c].1 as f32;
            }
        }
        // ∂x = γ/√(σ² + ε) · (∂ŷ − mean ∂ŷ − x̂·mean ∂ŷx̂), ∂ŷ the ReLU-masked ∂y.
        let gx = &mut grads.get_or_alloc_mut(&xg)?[..];
        gx.par_chunks_mut(per * plane1)
            .enumerate()
            .for_each(|(t, gxt)| {
                for (j, gxp) in gxt.chunks_mut(plane1).enumerate() {
                    let i = t * per + j;
                    let c = i % C;
                    let cn = norm[c];
                    let (s, sx) = ((sums[c].0 / n) as f32, (sums[c].1 / n) as f32);
                    let at = i * plane;
                    let (xp, gp) = (&xs[at..at + gxp.len()], &gy[at..at + gxp.len()]);
                    for ((d, &x), &g) in gxp.iter_mut().zip(xp).zip(gp) {
                        let xhat = (x - cn.mu) * cn.inv;
                        let g = if x * cn.scale + cn.shift > 0.0 {
                            g
                        } else {
                            0.0
                        };
                        *d += cn.scale * (g - s - xhat * sx);
                    }
                }
            });
        done_grad!(grads, &yg, gy);
        Ok(())
    });
    Ok(y.put_tape(tape))
}
