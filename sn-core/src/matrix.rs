//! Matrix views over weight slices, and the matrix-vector kernels of power iteration.
//!
//! A weight is always seen as the matrix `d_out × d_in·kh·kw` of the paper (Sec. 4, footnote 3).
//! Internally a view is `blocks` row-major sub-matrices of `rows × cols/blocks`, stored one after
//! another: a dense or convolution weight is one block; a transposed-convolution weight
//! `(d_in, d_out, kh, kw)` is `d_in` blocks of `d_out × kh·kw`, so its output axis (dim 1) becomes
//! the rows without copying (the pitfall of pytorch/pytorch#7865). Element `(i, b·k + c)` lives at
//! `b·rows·k + i·k + c` with `k = cols / blocks`; every kernel walks memory in that order.

use crate::error::{Error, Result};
use crate::float::{Float, Pow2};

/// How each loaded weight element is transformed: unchanged, or multiplied by an exact power of
/// two (the rescaled path for weights whose norms would underflow or overflow).
pub(crate) trait Load<T>: Copy {
    fn load(self, x: T) -> T;
}

#[derive(Clone, Copy)]
pub(crate) struct Plain;

impl<T: Float> Load<T> for Plain {
    #[inline(always)]
    fn load(self, x: T) -> T {
        x
    }
}

impl<T: Float> Load<T> for Pow2<T> {
    #[inline(always)]
    fn load(self, x: T) -> T {
        self.apply(x)
    }
}

/// A weight seen as a matrix whose shape is known only at run time.
///
/// Use [`Matrix`] when the shape is known at compile time; `DynMatrix` is for generic code on
/// stable Rust, where `d_in·kh·kw` cannot be written as a const-generic argument.
///
/// ```
/// use sn_core::DynMatrix;
/// // A transposed-convolution weight (d_in = 2, d_out = 3, 1×1 kernel): rows are dim 1.
/// let w = [1.0_f64, 2.0, 3.0, /* d_in = 1: */ 4.0, 5.0, 6.0];
/// let m = DynMatrix::conv_transpose(&w, 2, 3, 1, 1).unwrap();
/// assert_eq!((m.rows(), m.cols()), (3, 2));
/// assert_eq!(m.get(2, 1), Some(6.0)); // W[d_in = 1, d_out = 2]
/// assert!(DynMatrix::new(&w, 4, 2).is_err()); // 6 elements cannot be 4×2
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DynMatrix<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    blocks: usize,
}

fn checked_len(rows: usize, cols: usize) -> Result<usize> {
    match rows.checked_mul(cols) {
        Some(n) if rows > 0 && cols > 0 => Ok(n),
        _ => Err(Error::InvalidShape { rows, cols }),
    }
}

fn product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

impl<'a, T: Float> DynMatrix<'a, T> {
    /// A row-major `rows × cols` matrix (a dense layer's `(d_out, d_in)` weight).
    ///
    /// # Errors
    /// [`Error::InvalidShape`] for a zero or overflowing shape, [`Error::LengthMismatch`] when
    /// `data.len() != rows·cols`.
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Result<Self> {
        Self::with_blocks(data, rows, cols, 1)
    }

    /// A convolution weight `(d_out, d_in, kh, kw)` seen as `d_out × d_in·kh·kw`.
    ///
    /// # Errors
    /// As [`DynMatrix::new`].
    pub fn conv(data: &'a [T], d_out: usize, d_in: usize, kh: usize, kw: usize) -> Result<Self> {
        let cols = product(&[d_in, kh, kw]).ok_or(Error::InvalidShape {
            rows: d_out,
            cols: usize::MAX,
        })?;
        Self::with_blocks(data, d_out, cols, 1)
    }

    /// A transposed-convolution weight `(d_in, d_out, kh, kw)` — output channels on axis 1, as
    /// PyTorch and dfdx store it — seen as `d_out × d_in·kh·kw` without copying.
    ///
    /// # Errors
    /// As [`DynMatrix::new`].
    pub fn conv_transpose(
        data: &'a [T],
        d_in: usize,
        d_out: usize,
        kh: usize,
        kw: usize,
    ) -> Result<Self> {
        let cols = product(&[d_in, kh, kw]).ok_or(Error::InvalidShape {
            rows: d_out,
            cols: usize::MAX,
        })?;
        Self::with_blocks(data, d_out, cols, d_in)
    }

    fn with_blocks(data: &'a [T], rows: usize, cols: usize, blocks: usize) -> Result<Self> {
        let len = checked_len(rows, cols)?;
        if blocks == 0 || !cols.is_multiple_of(blocks) {
            return Err(Error::InvalidShape { rows, cols });
        }
        if data.len() != len {
            return Err(Error::LengthMismatch {
                what: "weight",
                expected: len,
                found: data.len(),
            });
        }
        Ok(DynMatrix {
            data,
            rows,
            cols,
            blocks,
        })
    }

    /// Rows: d_out.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns: d_in·kh·kw.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The underlying weight slice, in its storage layout.
    pub fn data(&self) -> &'a [T] {
        self.data
    }

    /// Element `(i, j)` of the matrix view, or `None` outside the shape.
    pub fn get(&self, i: usize, j: usize) -> Option<T> {
        (i < self.rows && j < self.cols).then(|| self.data[self.index(i, j)])
    }

    /// Storage index of matrix element `(i, j)`.
    pub(crate) fn index(&self, i: usize, j: usize) -> usize {
        let k = self.block_cols();
        (j / k) * self.rows * k + i * k + j % k
    }

    #[inline]
    pub(crate) fn block_cols(&self) -> usize {
        self.cols / self.blocks
    }

    /// Storage index → row.
    pub(crate) fn row_of(&self, index: usize) -> usize {
        let k = self.block_cols();
        (index % (self.rows * k)) / k
    }

    /// `y = W x`.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `x.len() != cols` or `y.len() != rows`.
    ///
    /// ```
    /// # use sn_core::DynMatrix;
    /// let w = [1.0_f32, 2.0, 3.0, 4.0];
    /// let mut y = [0.0; 2];
    /// DynMatrix::new(&w, 2, 2)?.mul_vec(&[1.0, 1.0], &mut y)?;
    /// assert_eq!(y, [3.0, 7.0]);
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    pub fn mul_vec(&self, x: &[T], y: &mut [T]) -> Result<()> {
        check_len("x", self.cols, x.len())?;
        check_len("y", self.rows, y.len())?;
        self.mul(Plain, x, y);
        Ok(())
    }

    /// `x = Wᵀ y`.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `y.len() != rows` or `x.len() != cols`.
    ///
    /// ```
    /// # use sn_core::DynMatrix;
    /// let w = [1.0_f32, 2.0, 3.0, 4.0];
    /// let mut x = [0.0; 2];
    /// DynMatrix::new(&w, 2, 2)?.mul_vec_transposed(&[1.0, 1.0], &mut x)?;
    /// assert_eq!(x, [4.0, 6.0]);
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    pub fn mul_vec_transposed(&self, y: &[T], x: &mut [T]) -> Result<()> {
        check_len("y", self.rows, y.len())?;
        check_len("x", self.cols, x.len())?;
        self.mul_t(Plain, y, x);
        Ok(())
    }

    /// `y = W x` (lengths already checked).
    pub(crate) fn mul<L: Load<T>>(&self, l: L, x: &[T], y: &mut [T]) {
        let k = self.block_cols();
        y.fill(T::zero());
        for (wb, xb) in self.data.chunks_exact(self.rows * k).zip(x.chunks_exact(k)) {
            gemv_acc(l, wb, k, xb, y);
        }
    }

    /// `x = Wᵀ y` (lengths already checked).
    pub(crate) fn mul_t<L: Load<T>>(&self, l: L, y: &[T], x: &mut [T]) {
        let k = self.block_cols();
        for (wb, xb) in self
            .data
            .chunks_exact(self.rows * k)
            .zip(x.chunks_exact_mut(k))
        {
            gemv_t(l, wb, k, y, xb);
        }
    }

    /// `uᵀ W v` without a buffer.
    pub(crate) fn bilinear<L: Load<T>>(&self, l: L, u: &[T], v: &[T]) -> T {
        let k = self.block_cols();
        let mut total = T::zero();
        for (wb, vb) in self.data.chunks_exact(self.rows * k).zip(v.chunks_exact(k)) {
            let mut quads = wb.chunks_exact(4 * k);
            let mut uq = u.chunks_exact(4);
            for (w4, u4) in (&mut quads).zip(&mut uq) {
                let d = dot4(l, w4, k, vb);
                total = total + (u4[0] * d[0] + u4[1] * d[1]) + (u4[2] * d[2] + u4[3] * d[3]);
            }
            for (row, &ui) in quads.remainder().chunks_exact(k).zip(uq.remainder()) {
                total = total + ui * dot(l, row, vb);
            }
        }
        total
    }

    /// Largest |W_ij| and the storage index where it sits.
    ///
    /// # Errors
    /// [`Error::NonFinite`] at the first NaN or Inf.
    pub(crate) fn max_abs(&self) -> Result<(T, usize)> {
        max_abs(self.data, "weight")
    }
}

pub(crate) fn check_len(what: &'static str, expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            found,
        })
    }
}

/// Largest |x_i| and its index; the first non-finite element is an error.
pub(crate) fn max_abs<T: Float>(x: &[T], what: &'static str) -> Result<(T, usize)> {
    let mut best = (T::zero(), 0);
    for (i, &xi) in x.iter().enumerate() {
        if !xi.is_finite() {
            return Err(Error::NonFinite { what, index: i });
        }
        if xi.abs() > best.0 {
            best = (xi.abs(), i);
        }
    }
    Ok(best)
}

/// Accumulator width: 8 independent partial sums per row let LLVM vectorize the reduction
/// (floating-point addition is not reassociated on its own).
pub(crate) const LANES: usize = 8;

/// Σ x_i², vectorized.
pub(crate) fn sum_sq<T: Float>(x: &[T]) -> T {
    let mut acc = [T::zero(); LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for t in 0..LANES {
            acc[t] = acc[t] + c[t] * c[t];
        }
    }
    let mut s = reduce(acc);
    for &r in chunks.remainder() {
        s = s + r * r;
    }
    s
}

/// Σ x_i y_i, vectorized.
pub(crate) fn dot<T: Float, L: Load<T>>(l: L, w: &[T], x: &[T]) -> T {
    let mut acc = [T::zero(); LANES];
    let mut wc = w.chunks_exact(LANES);
    let mut xc = x.chunks_exact(LANES);
    for (a, b) in (&mut wc).zip(&mut xc) {
        for t in 0..LANES {
            acc[t] = acc[t] + l.load(a[t]) * b[t];
        }
    }
    let mut s = reduce(acc);
    for (&a, &b) in wc.remainder().iter().zip(xc.remainder()) {
        s = s + l.load(a) * b;
    }
    s
}

#[inline(always)]
fn reduce<T: Float>(acc: [T; LANES]) -> T {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// Four dot products of consecutive rows `w4 = [r0 r1 r2 r3]` (each of length k) with x,
/// sharing every load of x.
#[inline(always)]
fn dot4<T: Float, L: Load<T>>(l: L, w4: &[T], k: usize, x: &[T]) -> [T; 4] {
    let (r0, rest) = w4.split_at(k);
    let (r1, rest) = rest.split_at(k);
    let (r2, r3) = rest.split_at(k);
    let mut a0 = [T::zero(); LANES];
    let mut a1 = [T::zero(); LANES];
    let mut a2 = [T::zero(); LANES];
    let mut a3 = [T::zero(); LANES];
    let n = k / LANES * LANES;
    for ((((xc, c0), c1), c2), c3) in x[..n]
        .chunks_exact(LANES)
        .zip(r0[..n].chunks_exact(LANES))
        .zip(r1[..n].chunks_exact(LANES))
        .zip(r2[..n].chunks_exact(LANES))
        .zip(r3[..n].chunks_exact(LANES))
    {
        for t in 0..LANES {
            a0[t] = a0[t] + l.load(c0[t]) * xc[t];
            a1[t] = a1[t] + l.load(c1[t]) * xc[t];
            a2[t] = a2[t] + l.load(c2[t]) * xc[t];
            a3[t] = a3[t] + l.load(c3[t]) * xc[t];
        }
    }
    let mut d = [reduce(a0), reduce(a1), reduce(a2), reduce(a3)];
    for j in n..k {
        d[0] = d[0] + l.load(r0[j]) * x[j];
        d[1] = d[1] + l.load(r1[j]) * x[j];
        d[2] = d[2] + l.load(r2[j]) * x[j];
        d[3] = d[3] + l.load(r3[j]) * x[j];
    }
    d
}

/// `y += W x` for one row-major block `W` of `y.len() × k`.
fn gemv_acc<T: Float, L: Load<T>>(l: L, w: &[T], k: usize, x: &[T], y: &mut [T]) {
    let mut quads = w.chunks_exact(4 * k);
    let mut yq = y.chunks_exact_mut(4);
    for (w4, y4) in (&mut quads).zip(&mut yq) {
        let d = dot4(l, w4, k, x);
        for q in 0..4 {
            y4[q] = y4[q] + d[q];
        }
    }
    for (row, yi) in quads
        .remainder()
        .chunks_exact(k)
        .zip(yq.into_remainder().iter_mut())
    {
        *yi = *yi + dot(l, row, x);
    }
}

/// `x = Wᵀ y` for one row-major block `W` of `y.len() × x.len()`: four rows per sweep over x,
/// so x is read and written once per four rows of W.
fn gemv_t<T: Float, L: Load<T>>(l: L, w: &[T], k: usize, y: &[T], x: &mut [T]) {
    x.fill(T::zero());
    let mut quads = w.chunks_exact(4 * k);
    let mut yq = y.chunks_exact(4);
    for (w4, y4) in (&mut quads).zip(&mut yq) {
        let (r0, rest) = w4.split_at(k);
        let (r1, rest) = rest.split_at(k);
        let (r2, r3) = rest.split_at(k);
        let (s0, s1, s2, s3) = (y4[0], y4[1], y4[2], y4[3]);
        for ((((xj, &a), &b), &c), &d) in x.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            *xj = *xj + ((l.load(a) * s0 + l.load(b) * s1) + (l.load(c) * s2 + l.load(d) * s3));
        }
    }
    for (row, &s) in quads.remainder().chunks_exact(k).zip(yq.remainder()) {
        for (xj, &a) in x.iter_mut().zip(row) {
            *xj = *xj + l.load(a) * s;
        }
    }
}

/// A weight seen as an `M × N` matrix (`M` = d_out rows, `N` = d_in·kh·kw columns), with the
/// shape checked at compile time where it can be and the slice length at run time.
///
/// ```
/// use sn_core::Matrix;
/// // A 3×3 convolution from 2 to 4 channels: N = 2·3·3 = 18.
/// let w = [0.5_f32; 4 * 18];
/// let m = Matrix::<f32, 4, 18>::conv::<2, 3, 3>(&w)?;
/// assert_eq!(m.get(3, 17), Some(0.5));
/// // The wrong length is an error value, never a panic:
/// assert!(Matrix::<f32, 4, 18>::new(&w[1..]).is_err());
/// # Ok::<(), sn_core::Error>(())
/// ```
///
/// A kernel that does not multiply out to `N` is rejected at compile time:
///
/// ```compile_fail
/// # use sn_core::Matrix;
/// let w = [0.5_f32; 4 * 18];
/// let m = Matrix::<f32, 4, 18>::conv::<2, 4, 4>(&w); // 2·4·4 = 32 ≠ 18
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Matrix<'a, T, const M: usize, const N: usize> {
    raw: DynMatrix<'a, T>,
}

impl<'a, T: Float, const M: usize, const N: usize> Matrix<'a, T, M, N> {
    const NON_EMPTY: () = assert!(M > 0 && N > 0, "a weight matrix needs M > 0 and N > 0");

    /// A row-major `M × N` matrix (a dense layer's `(d_out, d_in)` weight).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `data.len() != M·N`.
    pub fn new(data: &'a [T]) -> Result<Self> {
        let () = Self::NON_EMPTY;
        DynMatrix::new(data, M, N).map(|raw| Matrix { raw })
    }

    /// A convolution weight `(M = d_out, D_IN, KH, KW)`; `N == D_IN·KH·KW` is checked at
    /// compile time.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `data.len() != M·N`.
    pub fn conv<const D_IN: usize, const KH: usize, const KW: usize>(
        data: &'a [T],
    ) -> Result<Self> {
        let () = Self::NON_EMPTY;
        const { assert!(N == D_IN * KH * KW, "N must equal d_in·kh·kw") };
        DynMatrix::conv(data, M, D_IN, KH, KW).map(|raw| Matrix { raw })
    }

    /// A transposed-convolution weight `(D_IN, M = d_out, KH, KW)` (output channels on axis 1),
    /// seen as `M × D_IN·KH·KW`; `N == D_IN·KH·KW` is checked at compile time.
    ///
    /// ```
    /// # use sn_core::Matrix;
    /// let w = [1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0]; // (d_in = 2, d_out = 3, 1, 1)
    /// let m = Matrix::<f64, 3, 2>::conv_transpose::<2, 1, 1>(&w)?;
    /// assert_eq!(m.get(0, 1), Some(4.0)); // W[d_in = 1, d_out = 0]
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `data.len() != M·N`.
    pub fn conv_transpose<const D_IN: usize, const KH: usize, const KW: usize>(
        data: &'a [T],
    ) -> Result<Self> {
        let () = Self::NON_EMPTY;
        const { assert!(N == D_IN * KH * KW, "N must equal d_in·kh·kw") };
        DynMatrix::conv_transpose(data, D_IN, M, KH, KW).map(|raw| Matrix { raw })
    }

    /// The same view with its shape known only at run time.
    pub fn as_dyn(&self) -> DynMatrix<'a, T> {
        self.raw
    }

    /// Element `(i, j)`, or `None` outside `M × N`.
    pub fn get(&self, i: usize, j: usize) -> Option<T> {
        self.raw.get(i, j)
    }

    /// `y = W x`.
    ///
    /// ```
    /// # use sn_core::Matrix;
    /// let w = [1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0];
    /// let mut y = [0.0; 2];
    /// Matrix::<f64, 2, 3>::new(&w)?.mul_vec(&[1.0, 0.0, -1.0], &mut y);
    /// assert_eq!(y, [-2.0, -2.0]);
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    pub fn mul_vec(&self, x: &[T; N], y: &mut [T; M]) {
        self.raw.mul(Plain, x, y);
    }

    /// `x = Wᵀ y`.
    ///
    /// ```
    /// # use sn_core::Matrix;
    /// let w = [1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0];
    /// let mut x = [0.0; 3];
    /// Matrix::<f64, 2, 3>::new(&w)?.mul_vec_transposed(&[1.0, -1.0], &mut x);
    /// assert_eq!(x, [-3.0, -3.0, -3.0]);
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    pub fn mul_vec_transposed(&self, y: &[T; M], x: &mut [T; N]) {
        self.raw.mul_t(Plain, y, x);
    }
}
