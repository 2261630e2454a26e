//! A direct f32 convolution forward for AVX-512 machines: no patch matrix, and no products on
//! the zero padding.
//!
//! # Why
//! The im2col route ([`super::conv`]) multiplies every patch row, padding included. On the
//! Table 3 D's deep layers (8 × 8 and 4 × 4 outputs) 12–31% of those products are on padding,
//! which PyTorch's channels_last (oneDNN) kernels skip; that is most of our gap to them there.
//!
//! # How
//! Output positions are grouped by *border class*: along each axis, the outputs whose kernel
//! taps fall inside the image form bands ([`bands`]), and a class (one band per axis) has one
//! list of inside taps. Each class's positions are cut into tiles of [`TILE_P`] positions; a
//! microkernel accumulates a tile's [`TILE_P`] × [`TILE_O`] outputs in 24 zmm registers over
//! the class's taps and the input channels, broadcasting x and loading 64 output channels of
//! the weight, kept as an (O/64, K, K, C, 64) copy so that a tile reads its weights as one
//! sequential run. Each parallel task takes a few whole images: it copies their x to NHWC (a
//! position's channels one contiguous run), writes its tiles' outputs as (position, channel)
//! rows, and transposes those into the NCHW output at the end in 16 × 16 blocks, applying the
//! bias, leaky ReLU and its gate.
//!
//! # Where it is used
//! Where [`applies`] holds: the forward pass ([`super::conv::forward`] and `forward_with`),
//! the stride-1 input gradient as the forward pass of the flipped convolution
//! ([`super::conv::backward`]), and so the transposed convolutions' input gradients (the
//! forward pass of their adjoint). In the Table 3 nets: D's c5 and c6, and the input gradient of
//! c6 and of G's first transposed convolution.
//!
//! # Determinism
//! Each output element is one sum over (tap, channel) in a fixed order that depends only on
//! its class, so the result does not depend on the thread count or the tiling.
//!
//! # Safety
//! The one `unsafe` block calls [`tile_avx512`], which reads through raw pointers with no bounds
//! tests. [`Plan::run_tile`] checks, for every tile, that each position's every tap and channel
//! lies inside `x` and that the tile's weight rows lie inside the weight copy, before the call;
//! and the call happens only when the CPU reports AVX-512F.

use std::cell::Cell;

use rayon::prelude::*;

use super::conv::{Epilogue, Geom};

thread_local! {
    /// The weight copy of the last call on this thread, reused. Allocated afresh for every
    /// call, its pages were faulted in and cleared by the kernel each time: page clearing was
    /// 13% of a profile of c6's forward and backward, part of it this copy and the task
    /// buffers below.
    static WEIGHT_COPY: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    /// A task's NHWC input copy and output rows, reused by the next task on this thread.
    static TASK_SCRATCH: Cell<(Vec<f32>, Vec<f32>)> = const { Cell::new((Vec::new(), Vec::new())) };
}

/// Output positions per microkernel tile.
const TILE_P: usize = 6;
/// Output channels per microkernel tile: 4 zmm registers of 16 f32 each.
const TILE_O: usize = 64;
/// Output positions a parallel task aims for (whole images; several tiles per weight block
/// read from L2).
const TASK_POSITIONS: usize = 96;

/// Whether [`forward`] takes geometry `g` on this machine: an x86-64 CPU with AVX-512F, output
/// channels a multiple of [`TILE_O`], at least 16 input channels (the first layer's 3 leave the
/// microkernel nothing to stream), and at least [`MIN_PADDING_SHARE`] of the patch route's
/// products on padding.
pub(crate) fn applies(g: &Geom) -> bool {
    g.c_out.is_multiple_of(TILE_O)
        && g.c_in >= 16
        && g.batch > 0
        && g.positions() > 0
        && padding_share(g) >= MIN_PADDING_SHARE
        && avx512()
}

/// The share of the patch route's products on padding from which the direct route is taken.
/// Measured per layer against the patch route (`benches/ab_conv_layers.py`, 6 alternated
/// rounds of 5 reps, forward medians, direct/patch), with every layer from 10% up taking it:
/// Table 3 D's c6 (31% on padding) 0.69×, c5 (23%) 0.74×, c4 (16%) 0.98× (its backward, with
/// the flipped direct ∂x, 1.04×), c3 (12%) 0.97×. An earlier build taking c1–c6 (6–31%) had
/// c1 1.37× and c2 1.56×: the layout copies in and out, per element, cost more than the
/// skipped padding saves where little of it is skipped.
const MIN_PADDING_SHARE: f64 = 0.20;

fn avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Share of the patch route's products that fall on the padding.
fn padding_share(g: &Geom) -> f64 {
    let inside = |n: usize, m: usize| -> usize {
        bands(n, m, g.k, g.stride, g.pad)
            .iter()
            .map(|(o, t)| o.len() * t.len())
            .sum()
    };
    let all = (g.ho * g.k * g.wo * g.k) as f64;
    1.0 - (inside(g.h, g.ho) * inside(g.w, g.wo)) as f64 / all
}

/// Along one axis (input size `n`, output size `m`): consecutive output ranges with the same
/// range of kernel taps inside the input, `(outputs, taps)`. Output `o` reads inputs
/// `o·s − p + t` for taps `t < k`.
fn bands(
    n: usize,
    m: usize,
    k: usize,
    s: usize,
    p: usize,
) -> Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let mut out: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> = Vec::new();
    for o in 0..m {
        let start = o * s;
        let taps = p.saturating_sub(start).min(k)..k.min((n + p).saturating_sub(start));
        let taps = taps.start..taps.end.max(taps.start);
        match out.last_mut() {
            Some((os, ts)) if *ts == taps => os.end = o + 1,
            _ => out.push((o..o + 1, taps)),
        }
    }
    out
}

/// One border class: its output rectangle and its inside taps, each as (offset into an NHWC
/// x image relative to the position's corner `(oy·s, ox·s)`, offset of the tap's C × 64 block
/// within an output-channel block of the weight copy).
struct Class {
    oy: std::ops::Range<usize>,
    ox: std::ops::Range<usize>,
    taps: Vec<(isize, usize)>,
}

/// Everything a forward call shares across its tasks.
struct Plan<'a> {
    g: Geom,
    x: &'a [f32],
    /// The weight as (O/64, K, K, C, 64): each tile's 64-channel block one sequential run.
    wt: Vec<f32>,
    classes: Vec<Class>,
}

/// `y = epi(conv(x, w))`, or `y = conv(x, w)` / `y += conv(x, w)` without `epi`, by the direct
/// method. The caller checks [`applies`] first.
///
/// # Panics
/// If a slice length does not match `g`, or [`applies`] is false.
pub(crate) fn forward(
    g: &Geom,
    x: &[f32],
    w: &[f32],
    y: &mut [f32],
    accumulate: bool,
    epi: Option<Epilogue<f32>>,
) {
    assert!(
        applies(g),
        "direct conv forward: geometry {g:?} not supported here"
    );
    assert_eq!(x.len(), g.x_len(), "direct conv forward: x length");
    assert_eq!(w.len(), g.w_len(), "direct conv forward: weight length");
    assert_eq!(y.len(), g.y_len(), "direct conv forward: y length");
    let plan = Plan::new(g, x, w);
    let per_task = TASK_POSITIONS.div_ceil(g.positions()).clamp(1, g.batch);
    let span = per_task * g.y_image();
    let bias = epi.as_ref().map(|e| e.bias);
    if let Some(b) = bias {
        assert_eq!(b.len(), g.c_out, "direct conv forward: bias length");
    }
    let (slope, mask) = epi.and_then(|e| e.leaky).unzip();
    let masks: Vec<&mut [u8]> = match mask {
        Some(mask) => {
            assert_eq!(mask.len(), g.y_len(), "direct conv forward: mask length");
            mask.chunks_mut(span).collect()
        }
        None => y.chunks(span).map(|_| &mut [][..]).collect(),
    };
    y.par_chunks_mut(span)
        .zip(masks)
        .enumerate()
        .for_each(|(ti, (yc, mc))| {
            let out = Out {
                y: yc,
                mask: slope.map(|s| (s, mc)),
                bias,
                accumulate,
            };
            // Taken out of the cell while in use: nothing here re-enters, and if anything did
            // it would get empty buffers, not a conflict.
            let mut buf = TASK_SCRATCH.take();
            plan.run_task(ti * per_task, out, &mut buf);
            TASK_SCRATCH.set(buf);
        });
    WEIGHT_COPY.set(plan.wt);
}

/// Where a task's outputs go: its images' slice of y (and of the gate), and the epilogue.
struct Out<'a> {
    y: &'a mut [f32],
    mask: Option<(f32, &'a mut [u8])>,
    bias: Option<&'a [f32]>,
    accumulate: bool,
}

impl<'a> Plan<'a> {
    fn new(g: &Geom, x: &'a [f32], w: &[f32]) -> Self {
        let (c, kk) = (g.c_in, g.k * g.k);
        // wt[((ob·K² + tap)·C + c)·64 + j] = w[((ob·64 + j)·C + c)·K² + tap], in parallel
        // over (ob, tap, c) rows.
        let mut wt = WEIGHT_COPY.take();
        // Every element is written below.
        wt.truncate(w.len());
        wt.resize(w.len(), 0.0);
        wt.par_chunks_mut(TILE_O).enumerate().for_each(|(r, row)| {
            let (ob, tap, ci) = (r / (kk * c), (r / c) % kk, r % c);
            for (j, v) in row.iter_mut().enumerate() {
                *v = w[((ob * TILE_O + j) * c + ci) * kk + tap];
            }
        });
        let ww = g.w as isize;
        let mut classes = Vec::new();
        for (oy, ty) in bands(g.h, g.ho, g.k, g.stride, g.pad) {
            for (ox, tx) in bands(g.w, g.wo, g.k, g.stride, g.pad) {
                let mut taps = Vec::with_capacity(ty.len() * tx.len());
                for ky in ty.clone() {
                    for kx in tx.clone() {
                        let off = ((ky as isize - g.pad as isize) * ww
                            + (kx as isize - g.pad as isize))
                            * c as isize;
                        taps.push((off, (ky * g.k + kx) * c * TILE_O));
                    }
                }
                classes.push(Class {
                    oy: oy.clone(),
                    ox,
                    taps,
                });
            }
        }
        Self {
            g: *g,
            x,
            wt,
            classes,
        }
    }

    /// All outputs of the images `b0..` that `out.y` holds, with `buf` as scratch: the
    /// images' x copied to NHWC (`buf.0`), then their outputs as (image, position, channel)
    /// (`buf.1`), transposed into y with the epilogue at the end.
    fn run_task(&self, b0: usize, mut out: Out<'_>, buf: &mut (Vec<f32>, Vec<f32>)) {
        let g = &self.g;
        let (c, hw, p, o) = (g.c_in, g.h * g.w, g.positions(), g.c_out);
        let imgs = out.y.len() / g.y_image();
        let (xl, yl) = buf;
        xl.resize(imgs * hw * c, 0.0);
        yl.resize(imgs * p * o, 0.0);
        for (b, dst) in xl.chunks_exact_mut(hw * c).enumerate() {
            let src = &self.x[(b0 + b) * c * hw..(b0 + b + 1) * c * hw];
            transpose(src, c, hw, dst);
        }
        let mut pos: Vec<(usize, usize, usize)> = Vec::new();
        let mut acc = [[0.0f32; TILE_O]; TILE_P];
        for ob in 0..o / TILE_O {
            for class in &self.classes {
                pos.clear();
                for b in 0..imgs {
                    for oy in class.oy.clone() {
                        for ox in class.ox.clone() {
                            pos.push((b, oy, ox));
                        }
                    }
                }
                for tile in pos.chunks(TILE_P) {
                    self.run_tile(xl, tile, class, ob, &mut acc);
                    for (&(b, oy, ox), a) in tile.iter().zip(&acc) {
                        let at = (b * p + oy * g.wo + ox) * o + ob * TILE_O;
                        yl[at..at + TILE_O].copy_from_slice(a);
                    }
                }
            }
        }
        for (b, (yb, src)) in out
            .y
            .chunks_exact_mut(o * p)
            .zip(yl.chunks_exact(p * o))
            .enumerate()
        {
            let mask = out
                .mask
                .as_mut()
                .map(|(s, m)| (*s, &mut m[b * o * p..(b + 1) * o * p]));
            finish(src, p, o, yb, out.bias, mask, out.accumulate);
        }
    }

    /// Computes the tile's outputs for output channels `ob·64..(ob+1)·64` into `acc`, reading
    /// the task's NHWC copy `xl`.
    fn run_tile(
        &self,
        xl: &[f32],
        tile: &[(usize, usize, usize)],
        class: &Class,
        ob: usize,
        acc: &mut [[f32; TILE_O]; TILE_P],
    ) {
        let g = &self.g;
        let c = g.c_in;
        let wblock = ob * g.k * g.k * c * TILE_O;
        // The xl offset of each position's corner; a short tile repeats its last position.
        let mut bases = [0isize; TILE_P];
        for (i, base) in bases.iter_mut().enumerate() {
            let (b, oy, ox) = tile[i.min(tile.len() - 1)];
            *base = (((b * g.h + oy * g.stride) * g.w + ox * g.stride) * c) as isize;
        }
        // Bounds, for the unsafe reads below: every (position, tap) and its C channels inside
        // xl (the tap inside the image, so in its own image), every tap's weight rows inside
        // wt.
        for &(off, woff) in &class.taps {
            for &base in &bases {
                let lo = base + off;
                assert!(
                    lo >= 0 && lo as usize + c <= xl.len(),
                    "direct conv: tap outside x"
                );
            }
            assert!(
                wblock + woff + c * TILE_O <= self.wt.len(),
                "direct conv: weight rows outside the copy"
            );
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512F is present (`applies`, asserted by `forward`). Every read is of
        // xl[base_i + off + ci] for ci < C, or of wt[wblock + woff + ci·64 + 0..64], all checked
        // in bounds just above; `acc` is TILE_P × 64 f32 written through `&mut`.
        #[allow(unsafe_code)]
        unsafe {
            tile_avx512(
                xl.as_ptr(),
                &bases,
                &class.taps,
                self.wt.as_ptr().add(wblock),
                c,
                acc,
            );
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("direct conv without AVX-512");
    }
}

/// `dst = srcᵀ` for a row-major `r × c` `src`, by 16 × 16 blocks ([`runs`]).
fn transpose(src: &[f32], r: usize, c: usize, dst: &mut [f32]) {
    runs(src, r, c, |at, _, s| {
        dst[at..at + s.len()].copy_from_slice(s)
    });
}

/// One image's outputs from (position, channel) `src` to NCHW `dst`, with the epilogue:
/// `dst = src + bias` (and the leaky ReLU and its gate), or without bias `dst = src` /
/// `dst += src`.
fn finish(
    src: &[f32],
    p: usize,
    o: usize,
    dst: &mut [f32],
    bias: Option<&[f32]>,
    mask: Option<(f32, &mut [u8])>,
    accumulate: bool,
) {
    match (bias, mask) {
        (None, _) if accumulate => runs(src, p, o, |at, _, s| {
            for (d, v) in dst[at..at + s.len()].iter_mut().zip(s) {
                *d += *v;
            }
        }),
        (None, _) => runs(src, p, o, |at, _, s| {
            dst[at..at + s.len()].copy_from_slice(s);
        }),
        (Some(bias), None) => runs(src, p, o, |at, oc, s| {
            let b = bias[oc];
            for (d, v) in dst[at..at + s.len()].iter_mut().zip(s) {
                *d = *v + b;
            }
        }),
        (Some(bias), Some((slope, m))) => runs(src, p, o, |at, oc, s| {
            let b = bias[oc];
            let d = &mut dst[at..at + s.len()];
            let m = &mut m[at..at + s.len()];
            for ((d, m), v) in d.iter_mut().zip(m.iter_mut()).zip(s) {
                let t = *v + b;
                let keep = t > 0.0;
                *m = u8::from(keep);
                *d = if keep { t } else { t * slope };
            }
        }),
    }
}

/// Transposes the (position, channel) matrix `src` (`p × o`) in 16 × 16 blocks and calls
/// `f(at, oc, run)` with each block's run of ≤ 16 consecutive positions of channel `oc`,
/// `at = oc·p + q0` its first NCHW index, so `f` writes contiguous runs.
#[inline(always)]
fn runs(src: &[f32], p: usize, o: usize, mut f: impl FnMut(usize, usize, &[f32])) {
    const B: usize = 16;
    let mut t = [[0.0f32; B]; B];
    for o0 in (0..o).step_by(B) {
        let ob = B.min(o - o0);
        for q0 in (0..p).step_by(B) {
            let qb = B.min(p - q0);
            for k in 0..qb {
                let row = &src[(q0 + k) * o + o0..][..ob];
                for (j, &v) in row.iter().enumerate() {
                    t[j][k] = v;
                }
            }
            for (j, tj) in t.iter().enumerate().take(ob) {
                f((o0 + j) * p + q0, o0 + j, &tj[..qb]);
            }
        }
    }
}

/// `acc[i][j] = Σ_{(off, woff) ∈ taps} Σ_{ci < c} x[bases[i] + off + ci] · w[woff + ci·64 + j]`
/// for `i < 6`, `j < 64`.
///
/// # Safety
/// The CPU supports AVX-512F; every x index above is in bounds of the allocation `x` points
/// into, and so is every `w[woff + ci·64 + j]`.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code, clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
unsafe fn tile_avx512(
    x: *const f32,
    bases: &[isize; TILE_P],
    taps: &[(isize, usize)],
    w: *const f32,
    c: usize,
    acc: &mut [[f32; TILE_O]; TILE_P],
) {
    use std::arch::x86_64::*;
    let mut a = [[_mm512_setzero_ps(); 4]; TILE_P];
    for &(off, woff) in taps {
        let xp: [*const f32; TILE_P] = core::array::from_fn(|i| x.offset(bases[i] + off));
        let mut wp = w.add(woff);
        for ci in 0..c {
            let w0 = _mm512_loadu_ps(wp);
            let w1 = _mm512_loadu_ps(wp.add(16));
            let w2 = _mm512_loadu_ps(wp.add(32));
            let w3 = _mm512_loadu_ps(wp.add(48));
            for i in 0..TILE_P {
                let xb = _mm512_set1_ps(*xp[i].add(ci));
                a[i][0] = _mm512_fmadd_ps(xb, w0, a[i][0]);
                a[i][1] = _mm512_fmadd_ps(xb, w1, a[i][1]);
                a[i][2] = _mm512_fmadd_ps(xb, w2, a[i][2]);
                a[i][3] = _mm512_fmadd_ps(xb, w3, a[i][3]);
            }
            wp = wp.add(TILE_O);
        }
    }
    for (dst, src) in acc.iter_mut().zip(&a) {
        for (q, v) in src.iter().enumerate() {
            _mm512_storeu_ps(dst.as_mut_ptr().add(q * 16), *v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv;

    /// Deterministic pseudo-random values in [−1, 1) ([`conv::tests::values`], as f32).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        conv::tests::values(n, seed)
            .into_iter()
            .map(|v| v as f32)
            .collect()
    }

    /// The definition in f64 over the f32 inputs ([`conv::tests::direct`]), and Σ|x·w| of
    /// each output (the definition over |x| and |w|), for the error bound.
    fn reference(g: &Geom, x: &[f32], w: &[f32]) -> (Vec<f64>, Vec<f64>) {
        let wide = |s: &[f32], abs: bool| -> Vec<f64> {
            s.iter()
                .map(|&v| {
                    if abs {
                        f64::from(v.abs())
                    } else {
                        f64::from(v)
                    }
                })
                .collect()
        };
        (
            conv::tests::direct(g, &wide(x, false), &wide(w, false)),
            conv::tests::direct(g, &wide(x, true), &wide(w, true)),
        )
    }

    /// The rounding-error bound of an f32 sum of `n` products (each rounded, then summed in
    /// any order by FMA): |fl − exact| ≤ γ_n · Σ|x·w| with γ_n = n·u/(1 − n·u), u = 2⁻²⁴.
    fn bound(g: &Geom, mag: f64) -> f64 {
        let n = (g.c_in * g.k * g.k + 1) as f64;
        let u = f64::from(f32::EPSILON) / 2.0;
        n * u / (1.0 - n * u) * mag
    }

    /// Geometries the direct route takes: strides 1 and 2, kernels 3 and 4, padding 1 and 2,
    /// non-square images, 64–512 output channels, positions per image not a multiple of the
    /// tile (so tiles straddle images and classes end on short tiles), and the Table 3 D's c5
    /// and c6 shapes at batch 2.
    fn geometries() -> Vec<Geom> {
        [
            (3, 16, 5, 7, 64, 3, 1, 1),
            (2, 17, 9, 6, 128, 4, 2, 1),
            (2, 16, 6, 6, 64, 4, 1, 2),
            (5, 16, 3, 3, 64, 3, 1, 1),
            (1, 20, 11, 4, 64, 3, 2, 2),
            (2, 128, 5, 5, 128, 3, 1, 1),
            (2, 64, 6, 6, 64, 4, 2, 1),
            (2, 256, 8, 8, 256, 4, 2, 1),
            (2, 256, 4, 4, 512, 3, 1, 1),
        ]
        .into_iter()
        .map(|(b, c, h, w, o, k, s, p)| Geom::conv(b, c, h, w, o, k, s, p).expect("valid"))
        .collect()
    }

    fn skip_without_avx512() -> bool {
        if avx512() {
            return false;
        }
        eprintln!("skipped: this CPU has no AVX-512F, the direct route is never taken");
        true
    }

    #[test]
    fn bands_hold_exactly_the_taps_inside_the_input() {
        for n in 1..9 {
            for k in 1..5 {
                for s in 1..4 {
                    for p in 0..3 {
                        if n + 2 * p < k {
                            continue;
                        }
                        let m = (n + 2 * p - k) / s + 1;
                        let bands = bands(n, m, k, s, p);
                        let mut next = 0;
                        for (outs, taps) in &bands {
                            assert_eq!(outs.start, next, "bands are consecutive");
                            next = outs.end;
                            for o in outs.clone() {
                                let inside: Vec<usize> = (0..k)
                                    .filter(|&t| (o * s + t >= p) && (o * s + t - p < n))
                                    .collect();
                                let got: Vec<usize> = taps.clone().collect();
                                assert_eq!(got, inside, "n {n} k {k} s {s} p {p} output {o}");
                            }
                        }
                        assert_eq!(next, m, "bands cover every output");
                    }
                }
            }
        }
    }

    #[test]
    fn the_table_3_discriminators_last_two_layers_take_the_direct_route() {
        if skip_without_avx512() {
            return;
        }
        let layer = |c, h, o, k, s| Geom::conv(64, c, h, h, o, k, s, 1).expect("valid");
        // c5 and c6 of Table 3's D (23% and 31% of the patch products on padding) take it;
        // c1–c4 (6–16%) stay on the patch route, measured faster there.
        for g in [layer(256, 8, 256, 4, 2), layer(256, 4, 512, 3, 1)] {
            assert!(applies(&g), "{g:?}");
        }
        for g in [
            layer(64, 32, 64, 4, 2),
            layer(64, 16, 128, 3, 1),
            layer(128, 16, 128, 4, 2),
            layer(128, 8, 256, 3, 1),
        ] {
            assert!(!applies(&g), "{g:?}");
        }
        // The first layer (3 input channels), too few output channels for a tile, no padding.
        assert!(!applies(&layer(3, 32, 64, 3, 1)));
        assert!(!applies(&layer(64, 8, 32, 3, 1)));
        assert!(!applies(
            &Geom::conv(2, 64, 8, 8, 64, 3, 1, 0).expect("valid")
        ));
    }

    #[test]
    fn forward_matches_the_definition_within_f32_rounding() {
        if skip_without_avx512() {
            return;
        }
        for (n, g) in geometries().into_iter().enumerate() {
            assert!(applies(&g), "{g:?}");
            let x = values(g.x_len(), 1 + n as u64);
            let w = values(g.w_len(), 100 + n as u64);
            let (want, mag) = reference(&g, &x, &w);
            // NaN first: an output the kernel did not write fails the comparison.
            let mut y = vec![f32::NAN; g.y_len()];
            forward(&g, &x, &w, &mut y, false, None);
            for ((a, b), m) in y.iter().zip(&want).zip(&mag) {
                let err = (f64::from(*a) - b).abs();
                assert!(err <= bound(&g, *m), "{g:?}: {a} vs {b}");
            }
            // accumulate = true adds onto y: y = 2·conv.
            forward(&g, &x, &w, &mut y, true, None);
            for ((a, b), m) in y.iter().zip(&want).zip(&mag) {
                let err = (f64::from(*a) - 2.0 * b).abs();
                assert!(err <= 2.0 * bound(&g, *m) + 1e-30, "{g:?}: {a} vs 2·{b}");
            }
        }
    }

    #[test]
    fn forward_epilogue_is_bias_then_leaky_relu_with_its_gate() {
        if skip_without_avx512() {
            return;
        }
        let slope = 0.1f32;
        for (n, g) in geometries().into_iter().enumerate() {
            let x = values(g.x_len(), 7 + n as u64);
            let w = values(g.w_len(), 70 + n as u64);
            let bias = values(g.c_out, 700 + n as u64);
            let (want, mag) = reference(&g, &x, &w);
            let mut y = vec![f32::NAN; g.y_len()];
            let mut mask = vec![7u8; g.y_len()];
            let epi = Epilogue {
                bias: &bias,
                leaky: Some((slope, &mut mask)),
            };
            forward(&g, &x, &w, &mut y, false, Some(epi));
            let p = g.positions();
            for (i, ((a, b), m)) in y.iter().zip(&want).zip(&mag).enumerate() {
                let t = b + f64::from(bias[(i / p) % g.c_out]);
                // The bias adds one more rounding, of a value ≤ |t| + bound.
                let tol = bound(&g, *m) + f64::from(f32::EPSILON) * (t.abs() + bound(&g, *m));
                if t.abs() > tol {
                    assert_eq!(mask[i], u8::from(t > 0.0), "{g:?} gate at {i}");
                }
                let expect = if mask[i] != 0 {
                    t
                } else {
                    t * f64::from(slope)
                };
                assert!(mask[i] <= 1, "{g:?}: gate {}", mask[i]);
                assert!(
                    (f64::from(*a) - expect).abs() <= tol,
                    "{g:?}: {a} vs {expect}"
                );
            }
        }
    }

    #[test]
    fn input_gradient_by_the_flipped_direct_route_matches_the_patch_route() {
        if skip_without_avx512() {
            return;
        }
        // Stride 1 with at least as many output as input channels: f32 data takes the flipped
        // direct route for ∂x, f64 data the patch route (col2im), the reference here.
        let flips = |g: &Geom| {
            let f = Geom::conv(
                g.batch,
                g.c_out,
                g.ho,
                g.wo,
                g.c_in,
                g.k,
                1,
                g.k - 1 - g.pad,
            );
            g.stride == 1 && f.is_some_and(|f| applies(&f))
        };
        let mut gs: Vec<Geom> = geometries().into_iter().filter(flips).collect();
        gs.push(Geom::conv(3, 64, 5, 7, 64, 3, 1, 1).expect("valid"));
        gs.push(Geom::conv(2, 64, 4, 5, 128, 4, 1, 2).expect("valid"));
        assert!(gs.len() >= 4 && gs.iter().all(flips), "{gs:?}");
        for (n, g) in gs.into_iter().enumerate() {
            let w = values(g.w_len(), 30 + n as u64);
            let gy = values(g.y_len(), 300 + n as u64);
            // Half the run through a leaky ReLU's gate (slope 0.2), half without.
            let mask: Vec<u8> = values(g.y_len(), 3000 + n as u64)
                .iter()
                .map(|&v| u8::from(v > 0.0))
                .collect();
            let gated = n % 2 == 0;
            let mut gx = vec![0.25f32; g.x_len()];
            let gate = gated.then_some((&mask[..], 0.2f32));
            conv::backward(&g, &[], &w, &gy, gate, Some(&mut gx), None, None);
            let w64: Vec<f64> = w.iter().map(|&v| f64::from(v)).collect();
            let gy64: Vec<f64> = gy.iter().map(|&v| f64::from(v)).collect();
            let mut want = vec![0.25f64; g.x_len()];
            let gate = gated.then_some((&mask[..], f64::from(0.2f32)));
            conv::backward(&g, &[], &w64, &gy64, gate, Some(&mut want), None, None);
            // Each ∂x element sums ≤ O·K² products of values in [−1, 1): the f32 error is at
            // most γ_n·O·K² with n = O·K² + 1 (and |values| < 1), plus the rounding of adding
            // onto 0.25.
            let terms = (g.c_out * g.k * g.k) as f64;
            let u = f64::from(f32::EPSILON) / 2.0;
            let tol = (terms + 1.0) * u * (terms + 1.0);
            for (a, b) in gx.iter().zip(&want) {
                assert!((f64::from(*a) - b).abs() <= tol, "{g:?}: {a} vs {b}");
            }
        }
    }
}
