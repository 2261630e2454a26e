//! Whole-batch convolution kernels on host slices: forward, and one backward pass that yields
//! both the input gradient and the weight gradient.
//!
//! # Math
//! For an NCHW batch x (B, C, H, W) and a weight W (O, C, K, K), stride S, padding P:
//! y[b, o, i, j] = Σ_{c, u, v} W[o, c, u, v] · x[b, c, iS + u − P, jS + v − P] (zero outside),
//! i.e. per image Y_b = W · col(x_b) with W seen as O × CKK and col(x_b) the CKK × HO·WO matrix
//! of patches (im2col). The backward pass is ∂x_b = col⁻¹(Wᵀ · ∂Y_b) (col2im scatters each
//! patch back, adding overlaps) and ∂W = Σ_b ∂Y_b · col(x_b)ᵀ.
//!
//! A transposed convolution with weight (I, O, K, K) is the adjoint of the convolution from
//! O channels at HO × WO to I channels at H × W with the same weight: its forward is that
//! convolution's input gradient, its input gradient that convolution's forward, its weight
//! gradient that convolution's weight gradient with the roles of x and ∂y exchanged.
//!
//! The patch loops read a zero-padded copy of the chunk's images (and col2im adds into a
//! zero-padded buffer, then into ∂x), so they carry no bounds tests; they sweep each row of the
//! patch matrix across all the chunk's images at once.
//!
//! # Blocking and determinism
//! Images are processed in chunks of `images_per_chunk` (enough for ≈ 256 GEMM columns, so the
//! 4 × 4 layers still give the GEMM a usable width, while the chunk's patch matrix stays a few
//! MB). Chunks are independent for y and ∂x; for ∂W the batch is cut into at most
//! [`WEIGHT_GRAD_GROUPS`] fixed groups of chunks, each summing its chunks in order into its own
//! partial, and the partials are added in group order. Chunks and groups depend only on the
//! shapes, never on the thread count or on timing, so every result is bit-reproducible.

use rayon::prelude::*;

use super::direct;
use super::gemm::{gemm, Elem, MatMut, MatRef};

/// GEMM columns a chunk of images aims for.
const TARGET_COLS: usize = 256;

/// The row pitch, in elements, of a scratch matrix with `cols` columns: `cols`, plus one cache
/// line when a row spans a whole multiple of 4 KiB. Rows 4 KiB apart fall into the same L1
/// cache sets, and a GEMM streaming several of them at once slows down: the Table 3 D's first
/// layer's weight gradient (27 × 64, over 1,024 columns per image) ran at 15 GFLOP/s with a
/// pitch of 1,024 and at 66 with 1,040 (single-threaded, in isolation).
fn row_pitch<T>(cols: usize) -> usize {
    let size = core::mem::size_of::<T>();
    if cols > 0 && (cols * size).is_multiple_of(4096) {
        cols + 64 / size
    } else {
        cols
    }
}

/// Number of fixed batch groups the weight gradient is split into (each one partial sum):
/// enough to keep 2–8 threads busy, few enough that the partials stay small.
pub(crate) const WEIGHT_GRAD_GROUPS: usize = 8;

/// The sizes of one convolution: input `batch × c_in × h × w`, weight `c_out × c_in × k × k`,
/// output `batch × c_out × ho × wo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geom {
    pub(crate) batch: usize,
    pub(crate) c_in: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) c_out: usize,
    pub(crate) k: usize,
    pub(crate) stride: usize,
    pub(crate) pad: usize,
    pub(crate) ho: usize,
    pub(crate) wo: usize,
}

impl Geom {
    /// The geometry of a convolution, with `ho = (h + 2·pad − k)/stride + 1` (likewise `wo`);
    /// `None` when the kernel does not fit the padded input or the stride is 0.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn conv(
        batch: usize,
        c_in: usize,
        h: usize,
        w: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Option<Self> {
        if stride == 0 || k == 0 || h + 2 * pad < k || w + 2 * pad < k {
            return None;
        }
        Some(Self {
            batch,
            c_in,
            h,
            w,
            c_out,
            k,
            stride,
            pad,
            ho: (h + 2 * pad - k) / stride + 1,
            wo: (w + 2 * pad - k) / stride + 1,
        })
    }

    /// The convolution whose adjoint is the transposed convolution `c_in → c_out` (weight
    /// `(c_in, c_out, k, k)`) of an `h × w` input: from `c_out` channels at
    /// `(h − 1)·stride − 2·pad + k` to `c_in` channels at `h × w`. `None` if that size is not
    /// positive or the stride is 0.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn transposed(
        batch: usize,
        c_in: usize,
        h: usize,
        w: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Option<Self> {
        if stride == 0 || h == 0 || w == 0 {
            return None;
        }
        let full_h = (h - 1) * stride + k;
        let full_w = (w - 1) * stride + k;
        if full_h <= 2 * pad || full_w <= 2 * pad {
            return None;
        }
        let g = Self::conv(
            batch,
            c_out,
            full_h - 2 * pad,
            full_w - 2 * pad,
            c_in,
            k,
            stride,
            pad,
        )?;
        // (HO + 2P − K)/S + 1 = ((h − 1)S)/S + 1 = h exactly.
        debug_assert_eq!((g.ho, g.wo), (h, w));
        Some(g)
    }

    /// Rows of the patch matrix, C·K·K.
    pub(crate) fn rows(&self) -> usize {
        self.c_in * self.k * self.k
    }

    /// Output positions per image, HO·WO.
    pub(crate) fn positions(&self) -> usize {
        self.ho * self.wo
    }

    /// Elements of one input image.
    pub(crate) fn x_image(&self) -> usize {
        self.c_in * self.h * self.w
    }

    /// Elements of one output image.
    pub(crate) fn y_image(&self) -> usize {
        self.c_out * self.positions()
    }

    /// Elements of x.
    pub(crate) fn x_len(&self) -> usize {
        self.batch * self.x_image()
    }

    /// Elements of y.
    pub(crate) fn y_len(&self) -> usize {
        self.batch * self.y_image()
    }

    /// Elements of the weight.
    pub(crate) fn w_len(&self) -> usize {
        self.c_out * self.rows()
    }

    fn images_per_chunk(&self) -> usize {
        TARGET_COLS
            .div_ceil(self.positions().max(1))
            .clamp(1, self.batch.max(1))
    }

    /// Whether [`backward`] computes the weight gradient with [`weight_grad_direct`].
    fn direct_weight_grad(&self) -> bool {
        self.stride == 1 && self.c_out <= DIRECT_WEIGHT_GRAD_MAX_C_OUT
    }

    /// Whether [`backward`]'s GEMM route computes the weight gradient transposed, ∂Wᵀ = col ·
    /// ∂Yᵀ (C·K² × O), rather than ∂W = ∂Y · colᵀ: faster for up to
    /// [`WEIGHT_GRAD_TRANSPOSED_MAX_C_OUT`] output channels (measured on the Table 3 layers,
    /// 64–512 channels; above, the two routes measured the same once the transposed partials
    /// were summed before being transposed).
    fn weight_grad_transposed(&self) -> bool {
        self.c_out <= WEIGHT_GRAD_TRANSPOSED_MAX_C_OUT
    }

    /// For stride 1 with `pad < k`, the convolution whose forward pass is this one's input
    /// gradient: from `c_out` channels at `ho × wo` to `c_in` channels at `h × w`, padding
    /// `k − 1 − pad`, with the kernel flipped in both axes and its channel axes exchanged
    /// ([`flip_kernel`]): ∂x[c, i, j] = Σ_{o, u, v} W[o, c, u, v] · ∂y[o, i + pad − u, j + pad − v]
    /// = Σ_{o, u', v'} W[o, c, k−1−u', k−1−v'] · ∂y[o, i + u' − (k−1−pad), j + v' − (k−1−pad)].
    ///
    /// Used with fewer output than input channels (the G's last layer, 64 → 3): its patch
    /// matrix has C_out·K² rows where the patch route's ∂col has C_in·K², and measured on the
    /// Table 3 D's 3 × 3 layers (C_out = 2·C_in) the flipped patch route was 2–6% slower over
    /// the whole D step (the patch matrix to build and pack is twice as tall). Used as well
    /// for f32 data (`f32`) where the flipped convolution takes the direct route
    /// ([`direct::applies`]), which builds no patch matrix. `None` otherwise, or when that
    /// geometry has no output (h or w = 0).
    fn flipped(&self, f32: bool) -> Option<Self> {
        if self.stride != 1 || self.pad >= self.k {
            return None;
        }
        let f = Self::conv(
            self.batch,
            self.c_out,
            self.ho,
            self.wo,
            self.c_in,
            self.k,
            1,
            self.k - 1 - self.pad,
        )?;
        debug_assert_eq!((f.ho, f.wo), (self.h, self.w));
        (self.c_out < self.c_in || (f32 && direct::applies(&f))).then_some(f)
    }

    /// The padded input size, `(h + 2·pad, w + 2·pad)`.
    fn padded_size(&self) -> (usize, usize) {
        (self.h + 2 * self.pad, self.w + 2 * self.pad)
    }
}

/// Where column `x` of a padded row lands in the buffers of [`im2col`] and [`col2im`]: in
/// place for stride 1; for stride 2, each row holds its even columns first (`⌈wp/2⌉` of
/// them), then its odd ones, so that the taps of a stride-2 patch row, every second column,
/// are one contiguous run.
fn phase_col(g: &Geom, x: usize) -> usize {
    let wp = g.padded_size().1;
    if g.stride == 2 {
        (x & 1) * wp.div_ceil(2) + (x >> 1)
    } else {
        x
    }
}

/// The runs of a stride-2 padded row (laid out as [`phase_col`] says) that hold the row's
/// data at even and at odd data columns xx (padded column xx + pad): element t of the first
/// run is xx = 2t, of the second xx = 2t + 1.
fn parity_runs<T>(row: &mut [T], pad: usize, wp: usize) -> (&mut [T], &mut [T]) {
    let (ev, od) = row.split_at_mut(wp.div_ceil(2));
    if pad.is_multiple_of(2) {
        (&mut ev[pad / 2..], &mut od[pad / 2..])
    } else {
        (&mut od[pad / 2..], &mut ev[pad.div_ceil(2)..])
    }
}

/// [`parity_runs`] of a row read only.
fn parity_runs_ref<T>(row: &[T], pad: usize, wp: usize) -> (&[T], &[T]) {
    let (ev, od) = row.split_at(wp.div_ceil(2));
    if pad.is_multiple_of(2) {
        (&ev[pad / 2..], &od[pad / 2..])
    } else {
        (&od[pad / 2..], &ev[pad.div_ceil(2)..])
    }
}

/// Scratch space for [`padded`]: the padded images of one geometry. Their zero borders are
/// written when the buffer is first used for that geometry; later calls write the images'
/// interiors only, where the whole buffer used to be cleared for every chunk.
#[derive(Debug)]
struct PadBuf<T> {
    data: Vec<T>,
    geom: Option<Geom>,
}

impl<T> PadBuf<T> {
    fn new() -> Self {
        Self {
            data: Vec::new(),
            geom: None,
        }
    }
}

/// The `imgs` images of `x` (each `c_in × h × w`) zero-padded by `pad` on every side (each
/// `c_in × hp × wp`; for stride 2 each row's columns split by parity, see [`phase_col`]): the
/// patch loops need no bounds tests.
fn padded<'a, T: Elem>(g: &Geom, x: &[T], imgs: usize, buf: &'a mut PadBuf<T>) -> &'a [T] {
    let (hp, wp) = g.padded_size();
    if buf.geom != Some(*g) {
        buf.data.clear();
        buf.geom = Some(*g);
    }
    // Shrinking keeps the first images as they are (zero borders included); growing appends
    // zeros. Only interior elements are written below, so every border element stays zero.
    buf.data.resize(imgs * g.c_in * hp * wp, T::ZERO);
    let buf = &mut buf.data;
    // `max(1)`: an empty image (h or w = 0, possible with padding) has no rows to copy, and its
    // padded planes stay zero (hp, wp ≥ k ≥ 1).
    let plane = (g.h * g.w).max(1);
    for (xc, bc) in x.chunks_exact(plane).zip(buf.chunks_exact_mut(hp * wp)) {
        for (xr, br) in xc
            .chunks_exact(g.w.max(1))
            .zip(bc[g.pad * wp..].chunks_exact_mut(wp))
        {
            if g.stride == 2 {
                let (lo, hi) = parity_runs(br, g.pad, wp);
                let pairs = xr.chunks_exact(2);
                if let [v] = pairs.remainder() {
                    lo[xr.len() / 2] = *v;
                }
                for ((l, h), p) in lo.iter_mut().zip(hi.iter_mut()).zip(pairs) {
                    *l = p[0];
                    *h = p[1];
                }
            } else {
                br[g.pad..g.pad + g.w].copy_from_slice(xr);
            }
        }
    }
    buf
}

/// `dst[r·N..(r + 1)·N] = src[r·pitch..r·pitch + N]` for every row r of `dst`: a patch row's
/// runs, at a width known to the compiler (moves in registers, no `memcpy` call per run).
fn copy_rows_n<T: Copy, const N: usize>(dst: &mut [T], src: &[T], pitch: usize) {
    for (r, d) in dst.chunks_exact_mut(N).enumerate() {
        let d: &mut [T; N] = d.try_into().expect("chunks_exact yields N elements");
        *d = src[r * pitch..r * pitch + N]
            .try_into()
            .expect("a slice of N elements");
    }
}

/// `dst[r·wo..(r + 1)·wo] = src[r·pitch..r·pitch + wo]` for every row r of `dst`.
fn copy_rows<T: Copy>(dst: &mut [T], src: &[T], wo: usize, pitch: usize) {
    match wo {
        4 => copy_rows_n::<T, 4>(dst, src, pitch),
        8 => copy_rows_n::<T, 8>(dst, src, pitch),
        16 => copy_rows_n::<T, 16>(dst, src, pitch),
        32 => copy_rows_n::<T, 32>(dst, src, pitch),
        _ => {
            for (r, d) in dst.chunks_exact_mut(wo).enumerate() {
                d.copy_from_slice(&src[r * pitch..r * pitch + wo]);
            }
        }
    }
}

/// `dst[r·pitch + j] += src[r·N + j]` for every row r of `src` and j < N (see [`copy_rows_n`]).
fn add_rows_n<T: Elem, const N: usize>(dst: &mut [T], src: &[T], pitch: usize) {
    for (r, s) in src.chunks_exact(N).enumerate() {
        let d: &mut [T; N] = (&mut dst[r * pitch..r * pitch + N])
            .try_into()
            .expect("a slice of N elements");
        for (d, s) in d.iter_mut().zip(s) {
            *d += *s;
        }
    }
}

/// `dst[r·pitch + j] += src[r·wo + j]` for every row r of `src` and j < wo.
fn add_rows<T: Elem>(dst: &mut [T], src: &[T], wo: usize, pitch: usize) {
    match wo {
        4 => add_rows_n::<T, 4>(dst, src, pitch),
        8 => add_rows_n::<T, 8>(dst, src, pitch),
        16 => add_rows_n::<T, 16>(dst, src, pitch),
        32 => add_rows_n::<T, 32>(dst, src, pitch),
        _ => {
            for (r, s) in src.chunks_exact(wo).enumerate() {
                for (d, s) in dst[r * pitch..r * pitch + wo].iter_mut().zip(s) {
                    *d += *s;
                }
            }
        }
    }
}

/// Writes the patches of the `imgs` images in `x` (consecutive in the batch) into the
/// `rows × imgs·HO·WO` matrix `col` with row pitch `ld`, image i in columns `i·HO·WO..(i + 1)·HO·WO`; `buf` is scratch
/// space for the padded images. Row by row over all the images, so that each
/// row of `col` is written in one contiguous sweep.
fn im2col<T: Elem>(g: &Geom, x: &[T], imgs: usize, col: &mut [T], ld: usize, buf: &mut PadBuf<T>) {
    let (k, s, wo) = (g.k, g.stride, g.wo);
    let (hp, wp) = g.padded_size();
    let n = g.positions();
    let xp = padded(g, x, imgs, buf);
    for c in 0..g.c_in {
        for ky in 0..k {
            for kx in 0..k {
                let r = (c * k + ky) * k + kx;
                let row = &mut col[r * ld..r * ld + imgs * n];
                for (i, img) in row.chunks_exact_mut(n).enumerate() {
                    let xc = &xp[(i * g.c_in + c) * hp * wp..];
                    if s <= 2 {
                        // Stride 1, or stride 2 with the columns split by parity: each
                        // output row's taps are a contiguous run of `wo`.
                        copy_rows(img, &xc[ky * wp + phase_col(g, kx)..], wo, s * wp);
                    } else {
                        for (oy, seg) in img.chunks_exact_mut(wo).enumerate() {
                            let at = (oy * s + ky) * wp + kx;
                            let src = &xc[at..at + (wo - 1) * s + 1];
                            for (d, v) in seg.iter_mut().zip(src.iter().step_by(s)) {
                                *d = *v;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Adds the columns of the `rows × imgs·HO·WO` matrix `col` (row pitch `ld`) back into the `imgs` images of `x` (the
/// adjoint of [`im2col`]); `buf` is scratch space for the padded gradients (laid out as
/// [`padded`]'s).
fn col2im<T: Elem>(g: &Geom, col: &[T], ld: usize, x: &mut [T], imgs: usize, buf: &mut Vec<T>) {
    let (k, s, wo, p) = (g.k, g.stride, g.wo, g.pad);
    let (hp, wp) = g.padded_size();
    let (n, plane) = (g.positions(), (g.h * g.w).max(1));
    buf.clear();
    buf.resize(imgs * g.c_in * hp * wp, T::ZERO);
    for c in 0..g.c_in {
        for ky in 0..k {
            for kx in 0..k {
                let r = (c * k + ky) * k + kx;
                let row = &col[r * ld..r * ld + imgs * n];
                for (i, img) in row.chunks_exact(n).enumerate() {
                    let bc = &mut buf[(i * g.c_in + c) * hp * wp..];
                    if s <= 2 {
                        add_rows(&mut bc[ky * wp + phase_col(g, kx)..], img, wo, s * wp);
                    } else {
                        for (oy, seg) in img.chunks_exact(wo).enumerate() {
                            let at = (oy * s + ky) * wp + kx;
                            let dst = &mut bc[at..at + (wo - 1) * s + 1];
                            for (d, v) in dst.iter_mut().step_by(s).zip(seg) {
                                *d += *v;
                            }
                        }
                    }
                }
            }
        }
    }
    for (xc, bc) in x.chunks_exact_mut(plane).zip(buf.chunks_exact(hp * wp)) {
        for (xr, br) in xc
            .chunks_exact_mut(g.w.max(1))
            .zip(bc[p * wp..].chunks_exact(wp))
        {
            if s == 2 {
                let (lo, hi) = parity_runs_ref(br, p, wp);
                let pairs = xr.chunks_exact_mut(2);
                let w = g.w;
                for ((l, h), d) in lo.iter().zip(hi).zip(pairs) {
                    d[0] += *l;
                    d[1] += *h;
                }
                if w % 2 == 1 {
                    xr[w - 1] += lo[w / 2];
                }
            } else {
                for (d, v) in xr.iter_mut().zip(&br[p..p + g.w]) {
                    *d += *v;
                }
            }
        }
    }
}

/// Output channels up to which a stride-1 weight gradient is computed directly from the
/// padded images (see [`weight_grad_direct`]) rather than as a GEMM over the patch matrix.
const DIRECT_WEIGHT_GRAD_MAX_C_OUT: usize = 16;

/// Output channels up to which the GEMM route computes the weight gradient transposed (see
/// [`Geom::weight_grad_transposed`]).
const WEIGHT_GRAD_TRANSPOSED_MAX_C_OUT: usize = 128;

/// Lanes of the direct weight gradient's accumulators (a 512-bit vector of f32).
const LANES: usize = 16;

/// `gw[o, c, ky, kx] += Σ_{i, oy, ox} gy[o·ld + i·HO·WO + oy·WO + ox] · x_i[c, oy + ky − P, ox + kx − P]`
/// for stride 1, straight from the zero-padded `imgs` images `x` (`gy` is the chunk's
/// `c_out × imgs·HO·WO` matrix with row pitch `ld`, image i in columns `i·HO·WO..`). For a few output channels
/// (the generator's last layer: 3) the GEMM of the patch route would have 3 rows against a
/// patch matrix of C·K² rows per pixel, all memory traffic; here each (image, channel) plane
/// stays in cache and the products accumulate in `LANES`-wide vectors, each summed once per
/// (image, o, c, ky, kx) in a fixed order.
fn weight_grad_direct<T: Elem>(
    g: &Geom,
    x: &[T],
    imgs: usize,
    gy: &[T],
    ld: usize,
    gw: &mut [T],
    buf: &mut PadBuf<T>,
) {
    debug_assert_eq!(g.stride, 1);
    let (k, wo, ho, n) = (g.k, g.wo, g.ho, g.positions());
    let (hp, wp) = g.padded_size();
    let xp = padded(g, x, imgs, buf);
    let split = wo - wo % LANES;
    for i in 0..imgs {
        for c in 0..g.c_in {
            let xc = &xp[(i * g.c_in + c) * hp * wp..][..hp * wp];
            for oc in 0..g.c_out {
                let gyo = &gy[oc * ld + i * n..][..n];
                let gwo = &mut gw[(oc * g.c_in + c) * k * k..][..k * k];
                for ky in 0..k {
                    for kx in 0..k {
                        let mut acc = [T::ZERO; LANES];
                        let mut tail = T::ZERO;
                        for oy in 0..ho {
                            let gr = &gyo[oy * wo..][..wo];
                            let xr = &xc[(oy + ky) * wp + kx..][..wo];
                            for (gv, xv) in gr[..split]
                                .chunks_exact(LANES)
                                .zip(xr[..split].chunks_exact(LANES))
                            {
                                for l in 0..LANES {
                                    acc[l] += gv[l] * xv[l];
                                }
                            }
                            for (gv, xv) in gr[split..].iter().zip(&xr[split..]) {
                                tail += *gv * *xv;
                            }
                        }
                        let mut sum = tail;
                        for a in acc {
                            sum += a;
                        }
                        gwo[ky * k + kx] += sum;
                    }
                }
            }
        }
    }
}

/// What [`forward_with`] applies to every output element as it leaves the GEMM: the bias of
/// its channel and, with `leaky = Some((slope, mask))`, a leaky ReLU whose pass-through set it
/// records in `mask` (one byte per element of y: 1 where the biased value was positive).
pub(crate) struct Epilogue<'a, T> {
    /// One value per output channel.
    pub(crate) bias: &'a [T],
    /// The ReLU's slope for negative values, and the gate it writes.
    pub(crate) leaky: Option<(T, &'a mut [u8])>,
}

/// The kernel of [`Geom::flipped`]: `wf[c, o, u, v] = w[o, c, k−1−u, k−1−v]`.
fn flip_kernel<T: Elem>(g: &Geom, w: &[T]) -> Vec<T> {
    let (k, kk) = (g.k, g.k * g.k);
    let mut wf = vec![T::ZERO; w.len()];
    for (oc, wo) in w.chunks_exact(g.c_in * kk).enumerate() {
        for (c, wc) in wo.chunks_exact(kk).enumerate() {
            let dst = &mut wf[(c * g.c_out + oc) * kk..][..kk];
            for u in 0..k {
                for v in 0..k {
                    dst[u * k + v] = wc[(k - 1 - u) * k + (k - 1 - v)];
                }
            }
        }
    }
    wf
}

/// `y = conv(x, w)` (`accumulate = false`) or `y += conv(x, w)`.
///
/// # Panics
/// If a slice length does not match `g`.
pub(crate) fn forward<T: Elem>(g: &Geom, x: &[T], w: &[T], y: &mut [T], accumulate: bool) {
    forward_impl(g, x, w, y, accumulate, None);
}

/// `y = epi(conv(x, w))`: the convolution with its bias (and leaky ReLU) applied to each
/// chunk's output while it is still in cache.
///
/// # Panics
/// If a slice length does not match `g`, or the bias has not `c_out` elements.
pub(crate) fn forward_with<T: Elem>(g: &Geom, x: &[T], w: &[T], y: &mut [T], epi: Epilogue<T>) {
    assert_eq!(epi.bias.len(), g.c_out, "conv forward: bias length");
    if let Some((_, mask)) = &epi.leaky {
        assert_eq!(mask.len(), g.y_len(), "conv forward: mask length");
    }
    forward_impl(g, x, w, y, false, Some(epi));
}

/// One output plane leaving the GEMM: `dst = src + b` (`src = None`: `dst += b` in place),
/// then, with `leaky`, the leaky ReLU and its gate. Without `bias` (plain [`forward`]),
/// `dst = src` or, with `accumulate`, `dst += src`.
fn finish_plane<T: Elem>(
    dst: &mut [T],
    src: Option<&[T]>,
    bias: Option<T>,
    leaky: Option<(T, &mut [u8])>,
    accumulate: bool,
) {
    let lrelu = |t: T, slope: T, m: &mut u8| {
        let keep = t > T::ZERO;
        *m = u8::from(keep);
        if keep {
            t
        } else {
            t * slope
        }
    };
    match (src, bias, leaky) {
        (Some(src), None, _) if accumulate => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d += *s;
            }
        }
        (Some(src), None, _) => dst.copy_from_slice(src),
        (None, None, _) => {}
        (Some(src), Some(b), None) => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s + b;
            }
        }
        (None, Some(b), None) => {
            for d in dst.iter_mut() {
                *d += b;
            }
        }
        (Some(src), Some(b), Some((slope, mask))) => {
            for ((d, s), m) in dst.iter_mut().zip(src).zip(mask.iter_mut()) {
                *d = lrelu(*s + b, slope, m);
            }
        }
        (None, Some(b), Some((slope, mask))) => {
            for (d, m) in dst.iter_mut().zip(mask.iter_mut()) {
                *d = lrelu(*d + b, slope, m);
            }
        }
    }
}

fn forward_impl<T: Elem>(
    g: &Geom,
    x: &[T],
    w: &[T],
    y: &mut [T],
    accumulate: bool,
    epi: Option<Epilogue<T>>,
) {
    assert_eq!(x.len(), g.x_len(), "conv forward: x length");
    assert_eq!(w.len(), g.w_len(), "conv forward: weight length");
    assert_eq!(y.len(), g.y_len(), "conv forward: y length");
    if g.y_len() == 0 {
        return;
    }
    let epi = match direct_route(g, x, w, y, accumulate, epi) {
        Ok(()) => return,
        Err(epi) => epi,
    };
    let (rows, n, o) = (g.rows(), g.positions(), g.c_out);
    let nb = g.images_per_chunk();
    let span = nb * g.y_image();
    let wm = MatRef::row_major(w, o, rows);
    let bias = epi.as_ref().map(|e| e.bias);
    let (slope, mask) = epi.and_then(|e| e.leaky).unzip();
    // One gate slice per chunk of y (empty ones without a leaky ReLU, so the zip below runs).
    let masks: Vec<&mut [u8]> = match mask {
        Some(mask) => mask.chunks_mut(span).collect(),
        None => y.chunks(span).map(|_| &mut [][..]).collect(),
    };
    y.par_chunks_mut(span).zip(masks).enumerate().for_each_init(
        || (Vec::new(), Vec::new(), PadBuf::new()),
        |(col, tmp, buf): &mut (Vec<T>, Vec<T>, PadBuf<T>), (ci, (yc, mc))| {
            let b0 = ci * nb;
            let imgs = yc.len() / g.y_image();
            let ld = imgs * n;
            let lp = row_pitch::<T>(ld);
            col.resize(rows * lp, T::ZERO);
            im2col(
                g,
                &x[b0 * g.x_image()..(b0 + imgs) * g.x_image()],
                imgs,
                col,
                lp,
                buf,
            );
            let cm = MatRef::new(&col[..rows * lp], rows, ld, lp, 1);
            // Each (image, channel) plane of the chunk: its GEMM output, its gate.
            let mut planes = mc.chunks_mut(n);
            let mut gate = || slope.zip(planes.next());
            if imgs == 1 {
                gemm(MatMut::row_major(yc, o, n), accumulate, wm, cm);
                if bias.is_some() {
                    for (oc, dst) in yc.chunks_exact_mut(n).enumerate() {
                        finish_plane(dst, None, bias.map(|b| b[oc]), gate(), false);
                    }
                }
                return;
            }
            tmp.resize(o * lp, T::ZERO);
            gemm(MatMut::new(&mut tmp[..o * lp], o, ld, lp), false, wm, cm);
            for i in 0..imgs {
                for oc in 0..o {
                    let src = &tmp[oc * lp + i * n..oc * lp + (i + 1) * n];
                    let dst = &mut yc[(i * o + oc) * n..(i * o + oc + 1) * n];
                    finish_plane(dst, Some(src), bias.map(|b| b[oc]), gate(), accumulate);
                }
            }
        },
    );
}

/// The forward pass by [`direct::forward`] where it applies (f32, AVX-512, the geometries of
/// [`direct::applies`]); otherwise the epilogue back, for the patch route.
fn direct_route<'a, T: Elem>(
    g: &Geom,
    x: &[T],
    w: &[T],
    y: &mut [T],
    accumulate: bool,
    epi: Option<Epilogue<'a, T>>,
) -> Result<(), Option<Epilogue<'a, T>>> {
    if !direct::applies(g) {
        return Err(epi);
    }
    let (Some(xf), Some(wf), Some(yf)) = (T::as_f32s(x), T::as_f32s(w), T::as_f32s_mut(y)) else {
        return Err(epi);
    };
    let epi = epi.map(|e| Epilogue {
        bias: T::as_f32s(e.bias).expect("f32 bias with f32 data"),
        leaky: e
            .leaky
            .map(|(s, m)| (s.as_f32().expect("f32 slope with f32 data"), m)),
    });
    direct::forward(g, xf, wf, yf, accumulate, epi);
    Ok(())
}

/// `Σ s`, summed in `LANES` interleaved partial sums (then those in order, then the tail):
/// a fixed order that vectorizes.
pub(crate) fn lane_sum<T: Elem>(s: &[T]) -> T {
    let mut acc = [T::ZERO; LANES];
    let split = s.len() - s.len() % LANES;
    for c in s[..split].chunks_exact(LANES) {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    let mut sum = T::ZERO;
    for a in acc {
        sum += a;
    }
    for v in &s[split..] {
        sum += *v;
    }
    sum
}

/// The backward pass of `y = conv(x, w) + b` given `gy = ∂L/∂y`: adds ∂L/∂x into `gx`,
/// ∂L/∂W into `gw` and ∂L/∂b into `gb`, each only when given (`x` is read only for `gw`, `w`
/// only for `gx`; `gb` only with `gw`, summed per plane with [`lane_sum`] as ∂y is read).
///
/// With `gate = Some((mask, slope))`, the gradient used is that of a leaky ReLU applied after
/// the convolution: element i of `gy` counts in full where `mask[i] ≠ 0` and times `slope`
/// elsewhere (applied as each chunk of `gy` is read; `gy` itself is not changed).
///
/// # Panics
/// If a slice length does not match `g`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<T: Elem>(
    g: &Geom,
    x: &[T],
    w: &[T],
    gy: &[T],
    gate: Option<(&[u8], T)>,
    gx: Option<&mut [T]>,
    gw: Option<&mut [T]>,
    gb: Option<&mut [T]>,
) {
    assert_eq!(gy.len(), g.y_len(), "conv backward: gy length");
    if let Some((mask, _)) = gate {
        assert_eq!(mask.len(), g.y_len(), "conv backward: mask length");
    }
    if gw.is_some() {
        assert_eq!(x.len(), g.x_len(), "conv backward: x length");
    }
    if gx.is_some() {
        assert_eq!(w.len(), g.w_len(), "conv backward: weight length");
    }
    if let Some(gx) = &gx {
        assert_eq!(gx.len(), g.x_len(), "conv backward: gx length");
    }
    if let Some(gw) = &gw {
        assert_eq!(gw.len(), g.w_len(), "conv backward: gw length");
    }
    if let Some(gb) = &gb {
        assert!(gw.is_some(), "conv backward: gb only with gw");
        assert_eq!(gb.len(), g.c_out, "conv backward: gb length");
    }
    // An empty image (no channels or no pixels) has no input gradient to add.
    let mut gx = gx.filter(|s| !s.is_empty());
    if g.batch == 0 || (gx.is_none() && gw.is_none()) {
        return;
    }
    let flipped = g
        .flipped(T::as_f32(T::ZERO).is_some())
        .filter(|_| gx.is_some());
    // The flipped route reads ∂y whole: gate it once, and the weight gradient below reads the
    // gated copy ungated.
    let gated: Vec<T>;
    let (gy, gate) = match (&flipped, gate) {
        (Some(_), Some((mask, slope))) => {
            gated = gy
                .par_iter()
                .zip(mask.par_iter())
                .map(|(&v, &keep)| if keep != 0 { v } else { v * slope })
                .collect();
            (&gated[..], None)
        }
        (_, gate) => (gy, gate),
    };
    if let Some(flipped) = flipped {
        if let Some(gx) = gx.take() {
            // ∂x = conv(∂y, W flipped) (see `Geom::flipped`): a GEMM with C_out·K² deep
            // products and an im2col, where the patch route has C_out-deep products and a
            // scatter-add (col2im).
            forward(&flipped, gy, &flip_kernel(g, w), gx, true);
        }
        if gw.is_none() {
            return;
        }
    }
    let (rows, n, o) = (g.rows(), g.positions(), g.c_out);
    let nb = g.images_per_chunk();
    let chunks = g.batch.div_ceil(nb);
    let groups = chunks.min(WEIGHT_GRAD_GROUPS);
    let per_group = chunks.div_ceil(groups);
    let want_gw = gw.is_some();
    let want_gb = gb.is_some();
    // Wᵀ stored row-major for the ∂col product: the GEMM then reads it in place, where the
    // transposed view of W made it pack W for every chunk (4–6% of a D step).
    let mut wt: Vec<T> = Vec::new();
    if gx.is_some() {
        wt.resize(w.len(), T::ZERO);
        transpose_into(w, o, rows, &mut wt, false);
    }

    // One task per group: (first chunk, chunk count, its slice of gx).
    let mut tasks: Vec<(usize, usize, Option<&mut [T]>)> = Vec::with_capacity(groups);
    match gx {
        Some(gx) => {
            for (gi, s) in gx.chunks_mut(per_group * nb * g.x_image()).enumerate() {
                let c0 = gi * per_group;
                tasks.push((c0, per_group.min(chunks - c0), Some(s)));
            }
        }
        None => {
            for gi in 0..chunks.div_ceil(per_group) {
                let c0 = gi * per_group;
                tasks.push((c0, per_group.min(chunks - c0), None));
            }
        }
    }

    let partials: Vec<(Option<Vec<T>>, Vec<T>)> = tasks
        .into_par_iter()
        .map(|(c0, nc, mut gx_group)| {
            let mut partial = want_gw.then(|| vec![T::ZERO; o * rows]);
            let mut partial_b = vec![T::ZERO; if want_gb { o } else { 0 }];
            let (mut col, mut gyc, mut buf) = (Vec::new(), Vec::new(), PadBuf::new());
            let mut acc = Vec::new();
            for chunk in c0..c0 + nc {
                let b0 = chunk * nb;
                let imgs = nb.min(g.batch - b0);
                let ld = imgs * n;
                let lp = row_pitch::<T>(ld);
                // ∂Y of the chunk as an O × ld matrix with row pitch `gp` (a view, pitch ld,
                // when the chunk is one image).
                let span = b0 * g.y_image()..(b0 + imgs) * g.y_image();
                let gy_chunk = &gy[span.clone()];
                let (gy_rows, gp): (&[T], usize) = if imgs == 1 && gate.is_none() {
                    if want_gb {
                        for (b, p) in partial_b.iter_mut().zip(gy_chunk.chunks_exact(n)) {
                            *b += lane_sum(p);
                        }
                    }
                    (gy_chunk, ld)
                } else {
                    gyc.resize(o * lp, T::ZERO);
                    for i in 0..imgs {
                        for oc in 0..o {
                            let src = (i * o + oc) * n..(i * o + oc + 1) * n;
                            let dst = &mut gyc[oc * lp + i * n..oc * lp + (i + 1) * n];
                            match gate {
                                None => dst.copy_from_slice(&gy_chunk[src]),
                                Some((mask, slope)) => {
                                    let m = &mask[span.start + src.start..span.start + src.end];
                                    for ((d, &v), &keep) in
                                        dst.iter_mut().zip(&gy_chunk[src]).zip(m)
                                    {
                                        *d = if keep != 0 { v } else { v * slope };
                                    }
                                }
                            }
                            if want_gb {
                                partial_b[oc] += lane_sum(dst);
                            }
                        }
                    }
                    (&gyc[..o * lp], lp)
                };
                let gym = MatRef::new(gy_rows, o, ld, gp, 1);
                if !g.direct_weight_grad() || gx_group.is_some() {
                    col.resize(rows * lp, T::ZERO);
                }
                if let Some(p) = partial.as_mut() {
                    let xs = &x[b0 * g.x_image()..(b0 + imgs) * g.x_image()];
                    if g.direct_weight_grad() {
                        weight_grad_direct(g, xs, imgs, gy_rows, gp, p, &mut buf);
                    } else {
                        im2col(g, xs, imgs, &mut col, lp, &mut buf);
                        let colm = MatRef::new(&col[..rows * lp], rows, ld, lp, 1);
                        // ∂W += ∂Y · colᵀ (or ∂Wᵀ += col · ∂Yᵀ), chunks in order.
                        if g.weight_grad_transposed() {
                            gemm(MatMut::row_major(p, rows, o), chunk > c0, colm, gym.t());
                        } else {
                            gemm(MatMut::row_major(p, o, rows), chunk > c0, gym, colm.t());
                        }
                    }
                }
                if let Some(gxg) = gx_group.as_deref_mut() {
                    // ∂col = Wᵀ · ∂Y, then scatter-add into each image.
                    gemm(
                        MatMut::new(&mut col[..rows * lp], rows, ld, lp),
                        false,
                        MatRef::row_major(&wt, rows, o),
                        gym,
                    );
                    let at = (b0 - c0 * nb) * g.x_image();
                    col2im(
                        g,
                        &col,
                        lp,
                        &mut gxg[at..at + imgs * g.x_image()],
                        imgs,
                        &mut acc,
                    );
                }
            }
            (partial, partial_b)
        })
        .collect();

    if let Some(gb) = gb {
        for (_, pb) in &partials {
            for (d, s) in gb.iter_mut().zip(pb) {
                *d += *s;
            }
        }
    }
    if let Some(gw) = gw {
        // In parallel over fixed slices of gw, each adding the partials in group order.
        const SLICE: usize = 1 << 14;
        let partials: Vec<Vec<T>> = partials.into_iter().filter_map(|(p, _)| p).collect();
        if g.weight_grad_transposed() && !g.direct_weight_grad() {
            // The partials hold ∂Wᵀ (C·K² × O): summed in group order into the first, in
            // parallel over fixed slices, then added into gw transposed.
            let mut partials = partials;
            let (first, rest) = partials.split_first_mut().expect("at least one group");
            first.par_chunks_mut(SLICE).enumerate().for_each(|(i, d)| {
                for p in rest.iter() {
                    for (d, s) in d.iter_mut().zip(&p[i * SLICE..]) {
                        *d += *s;
                    }
                }
            });
            transpose_into(first, rows, o, gw, true);
        } else {
            gw.par_chunks_mut(SLICE).enumerate().for_each(|(i, d)| {
                for p in &partials {
                    for (d, s) in d.iter_mut().zip(&p[i * SLICE..]) {
                        *d += *s;
                    }
                }
            });
        }
    }
}

/// Writes (`add = false`) or adds (`add = true`) the transpose of the row-major `r × c` matrix
/// `a` into the row-major `c × r` matrix `t`, in parallel over blocks of `t`'s rows.
///
/// # Panics
/// If `a` or `t` has not `r·c` elements.
fn transpose_into<T: Elem>(a: &[T], r: usize, c: usize, t: &mut [T], add: bool) {
    const B: usize = 32;
    assert_eq!(a.len(), r * c, "transpose: source length");
    assert_eq!(t.len(), r * c, "transpose: destination length");
    if r == 0 || c == 0 {
        return;
    }
    t.par_chunks_mut(B * r).enumerate().for_each(|(bi, dst)| {
        let j0 = bi * B;
        let nj = dst.len() / r;
        for i in 0..r {
            let src = &a[i * c + j0..i * c + j0 + nj];
            for (jj, v) in src.iter().enumerate() {
                let d = &mut dst[jj * r + i];
                *d = if add { *d + *v } else { *v };
            }
        }
    });
}

/// `y = conv_transpose(x, w)` (`accumulate = false`: y is overwritten) for the transposed
/// convolution whose adjoint convolution is `g` (see [`Geom::transposed`]): x has `g`'s output
/// shape, y its input shape.
pub(crate) fn transposed_forward<T: Elem>(g: &Geom, x: &[T], w: &[T], y: &mut [T]) {
    y.fill(T::ZERO);
    backward(g, &[], w, x, None, Some(y), None, None);
}

/// The backward pass of [`transposed_forward`]: adds ∂L/∂x = conv(∂y, w) into `gx` and
/// ∂L/∂W into `gw`, each only when given (`x` is read only for `gw`).
pub(crate) fn transposed_backward<T: Elem>(
    g: &Geom,
    x: &[T],
    w: &[T],
    gy: &[T],
    gx: Option<&mut [T]>,
    gw: Option<&mut [T]>,
) {
    if let Some(gx) = gx {
        forward(g, gy, w, gx, true);
    }
    if let Some(gw) = gw {
        backward(g, gy, &[], x, None, None, Some(gw), None);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Deterministic pseudo-random values in [−1, 1).
    pub(crate) fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
            })
            .collect()
    }

    /// The definition, y[b, o, i, j] = Σ W[o, c, u, v] · x[b, c, iS + u − P, jS + v − P].
    pub(crate) fn direct(g: &Geom, x: &[f64], w: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; g.y_len()];
        for b in 0..g.batch {
            for o in 0..g.c_out {
                for i in 0..g.ho {
                    for j in 0..g.wo {
                        let mut acc = 0.0;
                        for c in 0..g.c_in {
                            for u in 0..g.k {
                                for v in 0..g.k {
                                    let (iy, ix) = (i * g.stride + u, j * g.stride + v);
                                    if iy < g.pad || ix < g.pad {
                                        continue;
                                    }
                                    let (iy, ix) = (iy - g.pad, ix - g.pad);
                                    if iy >= g.h || ix >= g.w {
                                        continue;
                                    }
                                    acc += w[((o * g.c_in + c) * g.k + u) * g.k + v]
                                        * x[((b * g.c_in + c) * g.h + iy) * g.w + ix];
                                }
                            }
                        }
                        y[((b * g.c_out + o) * g.ho + i) * g.wo + j] = acc;
                    }
                }
            }
        }
        y
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(a, b)| a * b).sum()
    }

    /// Geometries covering stride 1–3, padding 0–2, ragged chunks (batch 5 with 4 × 4 outputs:
    /// 16 images per chunk would be 1 chunk; 12 × 12 outputs: 2 images per chunk, 3 chunks),
    /// both weight-gradient routes at stride 1 (direct for few output channels, GEMM), and both
    /// layouts of the GEMM route (∂Wᵀ up to 128 output channels, ∂W above).
    fn geometries() -> Vec<Geom> {
        [
            (2, 3, 5, 5, 4, 3, 1, 1),
            (5, 2, 8, 8, 3, 4, 2, 1),
            (3, 2, 7, 6, 2, 3, 3, 2),
            (5, 1, 12, 12, 2, 1, 1, 0),
            (1, 2, 2, 3, 3, 4, 1, 2),
            // More output channels than the direct weight gradient takes, at stride 1.
            (2, 2, 5, 5, DIRECT_WEIGHT_GRAD_MAX_C_OUT + 1, 3, 1, 1),
            // More than the transposed weight-gradient GEMM takes: ∂W = ∂Y · colᵀ.
            (2, 1, 4, 4, WEIGHT_GRAD_TRANSPOSED_MAX_C_OUT + 1, 2, 2, 0),
            // Fewer output than input channels at stride 1: ∂x by the flipped convolution
            // (`Geom::flipped`), with symmetric padding 1 and with padding 2 for a 4 × 4 kernel.
            (2, 4, 5, 6, 2, 3, 1, 1),
            (2, 3, 4, 5, 1, 4, 1, 2),
            // Empty images (h = 0): the output is all padding, every gradient zero.
            (2, 2, 0, 3, 3, 2, 1, 1),
            // Stride 2 (columns split by parity in the padded buffers) over ragged chunks:
            // 12 × 12 and 12 × 13 outputs, 2 images per chunk, with padding 0 and with
            // padding 2 and an odd width; and an empty image (w = 0).
            (5, 2, 24, 24, 3, 2, 2, 0),
            (3, 1, 21, 23, 2, 3, 2, 2),
            (2, 1, 3, 0, 2, 2, 2, 1),
            // 16 × 32 outputs, one image per chunk: 512 f64 columns, 4 KiB, so the scratch
            // matrices get a padded row pitch (`row_pitch`); with the direct weight gradient
            // and with the GEMM one.
            (2, 1, 16, 32, 2, 3, 1, 1),
            (1, 1, 16, 32, DIRECT_WEIGHT_GRAD_MAX_C_OUT + 1, 3, 1, 1),
        ]
        .into_iter()
        .map(|(b, c, h, w, o, k, s, p)| Geom::conv(b, c, h, w, o, k, s, p).expect("valid"))
        .collect()
    }

    #[test]
    fn forward_matches_the_definition() {
        for (n, g) in geometries().into_iter().enumerate() {
            let x = values(g.x_len(), 1 + n as u64);
            let w = values(g.w_len(), 100 + n as u64);
            let mut y = vec![0.5; g.y_len()];
            forward(&g, &x, &w, &mut y, false);
            let want = direct(&g, &x, &w);
            for (a, b) in y.iter().zip(&want) {
                // f64 sums of ≤ 36 products of values in [−1, 1): 1e-12 is ~ 1000 ulps.
                assert!((a - b).abs() < 1e-12, "{g:?}: {a} vs {b}");
            }
            // accumulate = true adds onto y.
            forward(&g, &x, &w, &mut y, true);
            for (a, b) in y.iter().zip(&want) {
                assert!(
                    (a - 2.0 * b).abs() < 1e-12,
                    "{g:?}: accumulate {a} vs 2·{b}"
                );
            }
        }
    }

    /// ∂L/∂x and ∂L/∂W of L = Σ y ⊙ r against central finite differences of L in f64, for every
    /// coordinate. L is bilinear in (x, W), so the central difference is exact up to rounding:
    /// with step h = 1e-4 the error is about u·|L|/h ≈ 1e-11, and the tolerance 1e-8 is far
    /// below any real error (≥ the O(0.1) size of a single product term).
    #[test]
    fn gradients_match_central_finite_differences() {
        const H: f64 = 1e-4;
        for (n, g) in geometries().into_iter().enumerate() {
            let x = values(g.x_len(), 11 + n as u64);
            let w = values(g.w_len(), 111 + n as u64);
            let r = values(g.y_len(), 211 + n as u64);
            let loss = |x: &[f64], w: &[f64]| {
                let mut y = vec![0.0; g.y_len()];
                forward(&g, x, w, &mut y, false);
                dot(&y, &r)
            };
            // Pre-filled gradients: the kernel must add to them.
            let (mut gx, mut gw) = (vec![1.0; g.x_len()], vec![-1.0; g.w_len()]);
            backward(&g, &x, &w, &r, None, Some(&mut gx), Some(&mut gw), None);
            for i in 0..x.len() {
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[i] += H;
                xm[i] -= H;
                let fd = (loss(&xp, &w) - loss(&xm, &w)) / (2.0 * H);
                assert!(
                    (gx[i] - 1.0 - fd).abs() < 1e-8,
                    "{g:?} dL/dx[{i}]: {} vs {fd}",
                    gx[i] - 1.0
                );
            }
            for i in 0..w.len() {
                let (mut wp, mut wm) = (w.clone(), w.clone());
                wp[i] += H;
                wm[i] -= H;
                let fd = (loss(&x, &wp) - loss(&x, &wm)) / (2.0 * H);
                assert!(
                    (gw[i] + 1.0 - fd).abs() < 1e-8,
                    "{g:?} dL/dW[{i}]: {} vs {fd}",
                    gw[i] + 1.0
                );
            }
        }
    }

    #[test]
    fn transpose_into_writes_and_adds_every_element() {
        // Around the 32-row blocks of the transpose: partial blocks, a single row or column, empty.
        for (r, c) in [
            (1, 1),
            (3, 70),
            (70, 3),
            (33, 65),
            (64, 32),
            (1, 40),
            (0, 5),
        ] {
            let a: Vec<f64> = (0..r * c).map(|i| i as f64).collect();
            let mut t = vec![-1.0; r * c];
            transpose_into(&a, r, c, &mut t, false);
            let mut sum = vec![0.5; r * c];
            transpose_into(&a, r, c, &mut sum, true);
            for i in 0..r {
                for j in 0..c {
                    assert_eq!(t[j * r + i], a[i * c + j], "{r}×{c} at ({i}, {j})");
                    assert_eq!(sum[j * r + i], a[i * c + j] + 0.5, "{r}×{c} at ({i}, {j})");
                }
            }
        }
    }

    /// A gate (mask, slope) gives exactly the gradients of the pre-gated ∂y: the same products
    /// in the same order.
    #[test]
    fn gated_backward_is_backward_of_the_gated_gradient() {
        for (n, g) in geometries().into_iter().enumerate() {
            let x = values(g.x_len(), 31 + n as u64);
            let w = values(g.w_len(), 131 + n as u64);
            let gy = values(g.y_len(), 231 + n as u64);
            let mask: Vec<u8> = values(g.y_len(), 331 + n as u64)
                .iter()
                .map(|v| u8::from(*v > 0.0))
                .collect();
            let gated: Vec<f64> = gy
                .iter()
                .zip(&mask)
                .map(|(&v, &m)| if m != 0 { v } else { v * 0.2 })
                .collect();
            let (mut gx1, mut gw1) = (vec![0.5; g.x_len()], vec![0.5; g.w_len()]);
            let mut gb1 = vec![0.5; g.c_out];
            let (mut gx2, mut gw2, mut gb2) = (gx1.clone(), gw1.clone(), gb1.clone());
            backward(
                &g,
                &x,
                &w,
                &gy,
                Some((&mask, 0.2)),
                Some(&mut gx1),
                Some(&mut gw1),
                Some(&mut gb1),
            );
            backward(
                &g,
                &x,
                &w,
                &gated,
                None,
                Some(&mut gx2),
                Some(&mut gw2),
                Some(&mut gb2),
            );
            assert_eq!((gx1, gw1, &gb1), (gx2, gw2, &gb2), "{g:?}");
            // ∂b[o] = Σ over images and positions of the gated ∂y of channel o, added to the
            // 0.5 already there; f64 sums of ≤ 10³ terms in [−1, 1]: 1e-12 is rounding only.
            for (oc, got) in gb1.iter().enumerate() {
                let want = 0.5
                    + (0..g.batch)
                        .map(|b| {
                            let at = (b * g.c_out + oc) * g.positions();
                            gated[at..at + g.positions()].iter().sum::<f64>()
                        })
                        .sum::<f64>();
                assert!(
                    (got - want).abs() <= 1e-12,
                    "{g:?} ∂b[{oc}]: {got} vs {want}"
                );
            }
        }
    }

    /// The fused epilogue (bias, then leaky ReLU with its gate) gives bit for bit the plain
    /// forward followed by those two steps, and the gate marks the positive biased values.
    #[test]
    fn forward_epilogue_is_bias_then_leaky_relu() {
        for (n, g) in geometries().into_iter().enumerate() {
            let x = values(g.x_len(), 41 + n as u64);
            let w = values(g.w_len(), 141 + n as u64);
            let bias = values(g.c_out, 241 + n as u64);
            let mut plain = vec![0.0; g.y_len()];
            forward(&g, &x, &w, &mut plain, false);
            let biased: Vec<f64> = plain
                .iter()
                .enumerate()
                .map(|(i, v)| v + bias[(i / g.positions().max(1)) % g.c_out])
                .collect();
            let mut y = vec![7.0; g.y_len()];
            let epi = Epilogue {
                bias: &bias,
                leaky: None,
            };
            forward_with(&g, &x, &w, &mut y, epi);
            assert_eq!(y, biased, "{g:?} bias");
            let (mut y, mut mask) = (vec![7.0; g.y_len()], vec![9u8; g.y_len()]);
            let leaky = Some((0.2, &mut mask[..]));
            forward_with(&g, &x, &w, &mut y, Epilogue { bias: &bias, leaky });
            let want: Vec<f64> = biased
                .iter()
                .map(|&t| if t > 0.0 { t } else { t * 0.2 })
                .collect();
            let want_mask: Vec<u8> = biased.iter().map(|&t| u8::from(t > 0.0)).collect();
            assert_eq!((y, mask), (want, want_mask), "{g:?} leaky ReLU");
        }
    }

    /// The transposed convolution is the adjoint of the convolution: ⟨convT(x), z⟩ = ⟨x,
    /// conv(z)⟩, and its gradients match central finite differences as above.
    #[test]
    fn transposed_is_the_adjoint_and_its_gradients_match_finite_differences() {
        const H: f64 = 1e-4;
        for (n, g) in geometries().into_iter().enumerate() {
            // x of the transposed convolution has the convolution's output shape.
            let x = values(g.y_len(), 21 + n as u64);
            let w = values(g.w_len(), 121 + n as u64);
            let z = values(g.x_len(), 221 + n as u64);
            let mut y = vec![7.0; g.x_len()];
            transposed_forward(&g, &x, &w, &mut y);
            let mut cz = vec![0.0; g.y_len()];
            forward(&g, &z, &w, &mut cz, false);
            assert!((dot(&y, &z) - dot(&x, &cz)).abs() < 1e-10, "{g:?}: adjoint");

            let loss = |x: &[f64], w: &[f64]| {
                let mut y = vec![0.0; g.x_len()];
                transposed_forward(&g, x, w, &mut y);
                dot(&y, &z)
            };
            let (mut gx, mut gw) = (vec![0.0; g.y_len()], vec![0.0; g.w_len()]);
            transposed_backward(&g, &x, &w, &z, Some(&mut gx), Some(&mut gw));
            for i in 0..x.len() {
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[i] += H;
                xm[i] -= H;
                let fd = (loss(&xp, &w) - loss(&xm, &w)) / (2.0 * H);
                assert!(
                    (gx[i] - fd).abs() < 1e-8,
                    "{g:?} convT dL/dx[{i}]: {} vs {fd}",
                    gx[i]
                );
            }
            for i in 0..w.len() {
                let (mut wp, mut wm) = (w.clone(), w.clone());
                wp[i] += H;
                wm[i] -= H;
                let fd = (loss(&x, &wp) - loss(&x, &wm)) / (2.0 * H);
                assert!(
                    (gw[i] - fd).abs() < 1e-8,
                    "{g:?} convT dL/dW[{i}]: {} vs {fd}",
                    gw[i]
                );
            }
        }
    }

    #[test]
    fn transposed_geometry_inverts_the_output_size() {
        // The generator's deconvolution: 4 × 4 → 8 × 8 with K = 4, S = 2, P = 1.
        let g = Geom::transposed(2, 512, 4, 4, 256, 4, 2, 1).expect("valid");
        assert_eq!(
            (g.c_in, g.h, g.w, g.c_out, g.ho, g.wo),
            (256, 8, 8, 512, 4, 4)
        );
        assert_eq!(Geom::transposed(1, 1, 1, 1, 1, 2, 1, 1), None);
        assert_eq!(Geom::conv(1, 1, 2, 2, 1, 5, 1, 1), None);
    }
}
