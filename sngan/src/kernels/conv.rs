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
//! # Blocking and determinism
//! Images are processed in chunks of `images_per_chunk` (enough for ≈ 256 GEMM columns, so the
//! 4 × 4 layers still give the GEMM a usable width, while the chunk's patch matrix stays a few
//! MB). Chunks are independent for y and ∂x; for ∂W the batch is cut into at most
//! [`WEIGHT_GRAD_GROUPS`] fixed groups of chunks, each summing its chunks in order into its own
//! partial, and the partials are added in group order. Chunks and groups depend only on the
//! shapes, never on the thread count or on timing, so every result is bit-reproducible.

use rayon::prelude::*;

use super::gemm::{gemm, Elem, MatMut, MatRef};

/// GEMM columns a chunk of images aims for.
const TARGET_COLS: usize = 256;

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

    /// `ox` (or `oy`) range whose input index `ox·S + kx − P` lies in `0..len`.
    fn valid(&self, kx: usize, len: usize, out: usize) -> (usize, usize) {
        let (s, p) = (self.stride, self.pad);
        let lo = if kx >= p { 0 } else { (p - kx).div_ceil(s) };
        let hi = if kx >= len + p {
            0
        } else {
            (len + p - kx).div_ceil(s).min(out)
        };
        (lo.min(hi), hi)
    }
}

/// Writes the patches of one image into columns `off..off + HO·WO` of the `rows × ld` matrix
/// `col`.
fn im2col<T: Elem>(g: &Geom, x: &[T], col: &mut [T], ld: usize, off: usize) {
    let (k, s, p) = (g.k, g.stride, g.pad);
    let n = g.positions();
    for c in 0..g.c_in {
        let xc = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for ky in 0..k {
            let (oy0, oy1) = g.valid(ky, g.h, g.ho);
            for kx in 0..k {
                let (ox0, ox1) = g.valid(kx, g.w, g.wo);
                let r = (c * k + ky) * k + kx;
                let row = &mut col[r * ld + off..r * ld + off + n];
                row[..oy0 * g.wo].fill(T::ZERO);
                row[oy1 * g.wo..].fill(T::ZERO);
                for oy in oy0..oy1 {
                    let seg = &mut row[oy * g.wo..(oy + 1) * g.wo];
                    seg[..ox0].fill(T::ZERO);
                    seg[ox1..].fill(T::ZERO);
                    let iy = oy * s + ky - p;
                    let xrow = &xc[iy * g.w..(iy + 1) * g.w];
                    let ix0 = ox0 * s + kx - p;
                    if s == 1 {
                        seg[ox0..ox1].copy_from_slice(&xrow[ix0..ix0 + (ox1 - ox0)]);
                    } else {
                        for (j, d) in seg[ox0..ox1].iter_mut().enumerate() {
                            *d = xrow[ix0 + j * s];
                        }
                    }
                }
            }
        }
    }
}

/// Adds columns `off..off + HO·WO` of the `rows × ld` matrix `col` back into one image
/// (the adjoint of [`im2col`]).
fn col2im<T: Elem>(g: &Geom, col: &[T], ld: usize, off: usize, x: &mut [T]) {
    let (k, s, p) = (g.k, g.stride, g.pad);
    let n = g.positions();
    for c in 0..g.c_in {
        let xc = &mut x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for ky in 0..k {
            let (oy0, oy1) = g.valid(ky, g.h, g.ho);
            for kx in 0..k {
                let (ox0, ox1) = g.valid(kx, g.w, g.wo);
                let r = (c * k + ky) * k + kx;
                let row = &col[r * ld + off..r * ld + off + n];
                for oy in oy0..oy1 {
                    let seg = &row[oy * g.wo..(oy + 1) * g.wo];
                    let iy = oy * s + ky - p;
                    let xrow = &mut xc[iy * g.w..(iy + 1) * g.w];
                    let ix0 = ox0 * s + kx - p;
                    if s == 1 {
                        for (d, v) in xrow[ix0..ix0 + (ox1 - ox0)].iter_mut().zip(&seg[ox0..ox1]) {
                            *d += *v;
                        }
                    } else {
                        for (j, v) in seg[ox0..ox1].iter().enumerate() {
                            xrow[ix0 + j * s] += *v;
                        }
                    }
                }
            }
        }
    }
}

/// `y = conv(x, w)` (`accumulate = false`) or `y += conv(x, w)`.
///
/// # Panics
/// If a slice length does not match `g`.
pub(crate) fn forward<T: Elem>(g: &Geom, x: &[T], w: &[T], y: &mut [T], accumulate: bool) {
    assert_eq!(x.len(), g.x_len(), "conv forward: x length");
    assert_eq!(w.len(), g.w_len(), "conv forward: weight length");
    assert_eq!(y.len(), g.y_len(), "conv forward: y length");
    if g.y_len() == 0 {
        return;
    }
    let (rows, n, o) = (g.rows(), g.positions(), g.c_out);
    let nb = g.images_per_chunk();
    let wm = MatRef::row_major(w, o, rows);
    y.par_chunks_mut(nb * g.y_image())
        .enumerate()
        .for_each_init(
            || (Vec::new(), Vec::new()),
            |(col, tmp): &mut (Vec<T>, Vec<T>), (ci, yc)| {
                let b0 = ci * nb;
                let imgs = yc.len() / g.y_image();
                let ld = imgs * n;
                col.resize(rows * ld, T::ZERO);
                for i in 0..imgs {
                    let xi = &x[(b0 + i) * g.x_image()..(b0 + i + 1) * g.x_image()];
                    im2col(g, xi, col, ld, i * n);
                }
                let cm = MatRef::row_major(&col[..rows * ld], rows, ld);
                if imgs == 1 {
                    gemm(MatMut::row_major(yc, o, n), accumulate, wm, cm);
                    return;
                }
                tmp.resize(o * ld, T::ZERO);
                gemm(MatMut::row_major(&mut tmp[..o * ld], o, ld), false, wm, cm);
                for i in 0..imgs {
                    for oc in 0..o {
                        let src = &tmp[oc * ld + i * n..oc * ld + (i + 1) * n];
                        let dst = &mut yc[(i * o + oc) * n..(i * o + oc + 1) * n];
                        if accumulate {
                            for (d, s) in dst.iter_mut().zip(src) {
                                *d += *s;
                            }
                        } else {
                            dst.copy_from_slice(src);
                        }
                    }
                }
            },
        );
}

/// The backward pass of `y = conv(x, w)` given `gy = ∂L/∂y`: adds ∂L/∂x into `gx` and
/// ∂L/∂W into `gw`, each only when given (`x` is read only for `gw`, `w` only for `gx`).
///
/// # Panics
/// If a slice length does not match `g`.
pub(crate) fn backward<T: Elem>(
    g: &Geom,
    x: &[T],
    w: &[T],
    gy: &[T],
    gx: Option<&mut [T]>,
    gw: Option<&mut [T]>,
) {
    assert_eq!(gy.len(), g.y_len(), "conv backward: gy length");
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
    // An empty image (no channels or no pixels) has no input gradient to add.
    let gx = gx.filter(|s| !s.is_empty());
    if g.batch == 0 || (gx.is_none() && gw.is_none()) {
        return;
    }
    let (rows, n, o) = (g.rows(), g.positions(), g.c_out);
    let nb = g.images_per_chunk();
    let chunks = g.batch.div_ceil(nb);
    let groups = chunks.min(WEIGHT_GRAD_GROUPS);
    let per_group = chunks.div_ceil(groups);
    let want_gw = gw.is_some();

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

    let partials: Vec<Option<Vec<T>>> = tasks
        .into_par_iter()
        .map(|(c0, nc, mut gx_group)| {
            let mut partial = want_gw.then(|| vec![T::ZERO; o * rows]);
            let (mut col, mut gyc) = (Vec::new(), Vec::new());
            for chunk in c0..c0 + nc {
                let b0 = chunk * nb;
                let imgs = nb.min(g.batch - b0);
                let ld = imgs * n;
                // ∂Y of the chunk as an O × ld matrix (a view when the chunk is one image).
                let gy_chunk = &gy[b0 * g.y_image()..(b0 + imgs) * g.y_image()];
                let gym = if imgs == 1 {
                    MatRef::row_major(gy_chunk, o, n)
                } else {
                    gyc.resize(o * ld, T::ZERO);
                    for i in 0..imgs {
                        for oc in 0..o {
                            gyc[oc * ld + i * n..oc * ld + (i + 1) * n]
                                .copy_from_slice(&gy_chunk[(i * o + oc) * n..(i * o + oc + 1) * n]);
                        }
                    }
                    MatRef::row_major(&gyc[..o * ld], o, ld)
                };
                col.resize(rows * ld, T::ZERO);
                if let Some(p) = partial.as_mut() {
                    for i in 0..imgs {
                        let xi = &x[(b0 + i) * g.x_image()..(b0 + i + 1) * g.x_image()];
                        im2col(g, xi, &mut col, ld, i * n);
                    }
                    // ∂W += ∂Y · colᵀ, chunks in order.
                    gemm(
                        MatMut::row_major(p, o, rows),
                        chunk > c0,
                        gym,
                        MatRef::row_major(&col[..rows * ld], rows, ld).t(),
                    );
                }
                if let Some(gxg) = gx_group.as_deref_mut() {
                    // ∂col = Wᵀ · ∂Y, then scatter-add into each image.
                    gemm(
                        MatMut::row_major(&mut col[..rows * ld], rows, ld),
                        false,
                        MatRef::row_major(w, o, rows).t(),
                        gym,
                    );
                    for i in 0..imgs {
                        let at = (b0 - c0 * nb + i) * g.x_image();
                        col2im(g, &col, ld, i * n, &mut gxg[at..at + g.x_image()]);
                    }
                }
            }
            partial
        })
        .collect();

    if let Some(gw) = gw {
        for p in partials.into_iter().flatten() {
            for (d, s) in gw.iter_mut().zip(&p) {
                *d += *s;
            }
        }
    }
}

/// `y = conv_transpose(x, w)` (`accumulate = false`: y is overwritten) for the transposed
/// convolution whose adjoint convolution is `g` (see [`Geom::transposed`]): x has `g`'s output
/// shape, y its input shape.
pub(crate) fn transposed_forward<T: Elem>(g: &Geom, x: &[T], w: &[T], y: &mut [T]) {
    y.fill(T::ZERO);
    backward(g, &[], w, x, Some(y), None);
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
        backward(g, gy, &[], x, None, Some(gw));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random values in [−1, 1).
    fn values(n: usize, seed: u64) -> Vec<f64> {
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
    fn direct(g: &Geom, x: &[f64], w: &[f64]) -> Vec<f64> {
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
    /// 16 images per chunk would be 1 chunk; 12 × 12 outputs: 2 images per chunk, 3 chunks).
    fn geometries() -> Vec<Geom> {
        [
            (2, 3, 5, 5, 4, 3, 1, 1),
            (5, 2, 8, 8, 3, 4, 2, 1),
            (3, 2, 7, 6, 2, 3, 3, 2),
            (5, 1, 12, 12, 2, 1, 1, 0),
            (1, 2, 2, 3, 3, 4, 1, 2),
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
            backward(&g, &x, &w, &r, Some(&mut gx), Some(&mut gw));
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
