//! Power iteration (Algorithm 1, eq. 20–22), W̄ = W/σ̃ (eq. 8) and its gradient (eq. 12), on
//! slices; [`SpectralNorm`] and [`DynSpectralNorm`] hold the persistent state.

use crate::error::{Error, Result};
use crate::float::{ilog2_abs, sq_in_safe_range, Float, Pow2};
use crate::matrix::{check_len, max_abs, sum_sq, DynMatrix, Load, Matrix, Plain, LANES};

/// Scales `x` to unit length and returns its former norm; a zero vector stays zero and returns 0.
///
/// This is the `x / max(‖x‖₂, ε)` convention of PyTorch's `F.normalize` (not Chainer's
/// `x / (‖x‖₂ + ε)`), with ε reached only by an exactly-zero vector: when Σx² would underflow or
/// overflow, x is first rescaled by an exact power of two, so any non-zero finite x comes out
/// unit to rounding whatever its scale. The returned norm may be `inf` if it overflows.
pub(crate) fn normalize_vec<T: Float>(x: &mut [T]) -> T {
    let sq = sum_sq(x);
    if sq_in_safe_range(sq) {
        let n = sq.sqrt();
        let r = n.recip();
        x.iter_mut().for_each(|xi| *xi = *xi * r);
        return n;
    }
    let m = x.iter().fold(T::zero(), |m, xi| m.max(xi.abs()));
    if m == T::zero() || !m.is_finite() {
        x.iter_mut().for_each(|xi| *xi = T::zero());
        return T::zero();
    }
    let e = ilog2_abs(m);
    let down = Pow2::new(-e);
    x.iter_mut().for_each(|xi| *xi = down.apply(*xi));
    let n = sum_sq(x).sqrt();
    let r = n.recip();
    x.iter_mut().for_each(|xi| *xi = *xi * r);
    Pow2::new(e).apply(n)
}

/// The exact power-of-two rescaling that brings max|W| into [1, 2), with its inverse.
fn rescale_for(max_abs: impl Float) -> (i32, i32) {
    let e = ilog2_abs(max_abs);
    (-e, e)
}

/// One round of eq. 20–21 on `u` (persistent, d_out) and `v` (d_in·kh·kw); returns σ̃ = uᵀWv
/// (eq. 22), which equals ‖Wv‖ for the new u.
///
/// Fast path: two passes over W. When a norm leaves the safe range (σ̃ beyond ~1e±9 in f32,
/// a zero or orthogonal u, non-finite data), the round is redone on 2^k·W with k exact, which
/// costs one more pass to find max|W| (and reports NaN/Inf there).
pub(crate) fn round<T: Float>(w: DynMatrix<'_, T>, u: &mut [T], v: &mut [T]) -> Result<T> {
    w.mul_t(Plain, u, v);
    let sq = sum_sq(v);
    if !sq_in_safe_range(sq) {
        return round_rescaled(w, u, v, true);
    }
    let r = sq.sqrt().recip();
    v.iter_mut().for_each(|x| *x = *x * r);
    w.mul(Plain, v, u);
    let sq = sum_sq(u);
    if !sq_in_safe_range(sq) {
        return round_rescaled(w, u, v, false);
    }
    let sigma = sq.sqrt();
    let r = sigma.recip();
    u.iter_mut().for_each(|x| *x = *x * r);
    Ok(sigma)
}

/// The careful round: on W' = 2^k·W with max|W'| in [1, 2). `from_u`: redo eq. 20 as well
/// (false: v is already a valid unit vector and only eq. 21 is redone).
fn round_rescaled<T: Float>(
    w: DynMatrix<'_, T>,
    u: &mut [T],
    v: &mut [T],
    from_u: bool,
) -> Result<T> {
    let (m, at) = match w.max_abs() {
        Ok(found) => found,
        Err(e) => {
            // v holds Wᵀu of a non-finite W: clear it rather than leave NaN in the state.
            v.iter_mut().for_each(|x| *x = T::zero());
            return Err(e);
        }
    };
    if m == T::zero() {
        // σ(0) = 0: v becomes 0, u is kept, and normalize() maps the zero matrix to itself.
        v.iter_mut().for_each(|x| *x = T::zero());
        return Ok(T::zero());
    }
    let (k, k_inv) = rescale_for(m);
    let (up, down) = (Pow2::new(k), Pow2::new(k_inv));
    if from_u {
        w.mul_t(up, u, v);
        if normalize_vec(v) == T::zero() {
            // u is zero or orthogonal to every column: restart from the basis vector of the
            // row holding max|W|, for which Wᵀu ≠ 0.
            u.iter_mut().for_each(|x| *x = T::zero());
            u[w.row_of(at)] = T::one();
            w.mul_t(up, u, v);
            normalize_vec(v);
        }
    }
    w.mul(up, v, u);
    let n = normalize_vec(u);
    finite_or(down.apply(n), Error::Overflow { what: "sigma" })
}

/// σ̃ = uᵀ W v for the current (u, v) without iterating (evaluation mode).
pub(crate) fn bilinear<T: Float>(w: DynMatrix<'_, T>, u: &[T], v: &[T]) -> Result<T> {
    let s = w.bilinear(Plain, u, v);
    if s.is_finite() && (s == T::zero() || s.abs() >= T::min_positive_value().sqrt()) {
        return Ok(s);
    }
    let (m, _) = w.max_abs()?;
    if m == T::zero() {
        return Ok(T::zero());
    }
    let (k, k_inv) = rescale_for(m);
    let s = w.bilinear(Pow2::new(k), u, v);
    finite_or(Pow2::new(k_inv).apply(s), Error::Overflow { what: "sigma" })
}

fn finite_or<T: Float>(x: T, e: Error) -> Result<T> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(e)
    }
}

/// Multiplier or divisor for `x / sigma`: the reciprocal when it is a normal number (one
/// multiply per element), plain division otherwise (subnormal σ̃, whose reciprocal overflows).
#[derive(Clone, Copy)]
pub(crate) enum Divide<T> {
    ByRecip(T),
    By(T),
}

impl<T: Float> Load<T> for Divide<T> {
    #[inline(always)]
    fn load(self, x: T) -> T {
        self.apply(x)
    }
}

impl<T: Float> Divide<T> {
    fn new(sigma: T) -> Self {
        let r = sigma.recip();
        if r.is_normal() {
            Divide::ByRecip(r)
        } else {
            Divide::By(sigma)
        }
    }
    #[inline(always)]
    fn apply(self, x: T) -> T {
        match self {
            Divide::ByRecip(r) => x * r,
            Divide::By(s) => x / s,
        }
    }
}

/// `out[i] = f(src[i])`, returning whether every output is finite. The check is `y·0 == 0`
/// (NaN for NaN/Inf) summed in independent lanes, so it vectorizes with the map itself.
#[inline(always)]
fn map_finite<T: Float>(out: &mut [T], src: &[T], f: impl Fn(T) -> T) -> bool {
    let mut acc = [T::zero(); LANES];
    let mut oc = out.chunks_exact_mut(LANES);
    let mut sc = src.chunks_exact(LANES);
    for (o, s) in (&mut oc).zip(&mut sc) {
        for t in 0..LANES {
            let y = f(s[t]);
            o[t] = y;
            acc[t] = acc[t] + y * T::zero();
        }
    }
    for (o, &x) in oc.into_remainder().iter_mut().zip(sc.remainder()) {
        *o = f(x);
    }
    acc.iter().all(|&a| a == T::zero()) && out.iter().rev().take(LANES).all(|y| y.is_finite())
}

/// `out[i] = f(a[i], b[i])`, returning whether every output is finite (as [`map_finite`]).
#[inline(always)]
fn map2_finite<T: Float>(out: &mut [T], a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> bool {
    let mut acc = [T::zero(); LANES];
    let mut oc = out.chunks_exact_mut(LANES);
    let mut ac = a.chunks_exact(LANES);
    let mut bc = b.chunks_exact(LANES);
    for ((o, x), y) in (&mut oc).zip(&mut ac).zip(&mut bc) {
        for t in 0..LANES {
            let r = f(x[t], y[t]);
            o[t] = r;
            acc[t] = acc[t] + r * T::zero();
        }
    }
    for ((o, &x), &y) in oc
        .into_remainder()
        .iter_mut()
        .zip(ac.remainder())
        .zip(bc.remainder())
    {
        *o = f(x, y);
    }
    acc.iter().all(|&v| v == T::zero()) && out.iter().rev().take(LANES).all(|r| r.is_finite())
}

/// `out = W / σ̃` (eq. 8), elementwise in W's storage layout.
pub(crate) fn normalize<T: Float>(w: DynMatrix<'_, T>, sigma: T, out: &mut [T]) -> Result<()> {
    let data = w.data();
    check_len("out", data.len(), out.len())?;
    if !sigma.is_finite() {
        return Err(Error::NonFinite {
            what: "sigma",
            index: 0,
        });
    }
    if sigma == T::zero() {
        max_abs(data, "weight")?;
        if data.iter().any(|&x| x != T::zero()) {
            return Err(Error::ZeroSigma);
        }
        out.iter_mut().for_each(|x| *x = T::zero());
        return Ok(());
    }
    let finite = match Divide::new(sigma) {
        Divide::ByRecip(r) => map_finite(out, data, |x| x * r),
        Divide::By(s) => map_finite(out, data, |x| x / s),
    };
    if finite {
        return Ok(());
    }
    max_abs(data, "weight")?;
    Err(Error::Overflow {
        what: "normalized weight",
    })
}

/// `y = W̄ x = (W x) / σ̃` without materializing W̄.
pub(crate) fn apply<T: Float>(w: DynMatrix<'_, T>, sigma: T, x: &[T], y: &mut [T]) -> Result<()> {
    check_len("x", w.cols(), x.len())?;
    check_len("y", w.rows(), y.len())?;
    if sigma == T::zero() {
        // As normalize(): the zero matrix maps to zero, any other W needs a round first.
        w.max_abs()?;
        if w.data().iter().any(|&a| a != T::zero()) {
            return Err(Error::ZeroSigma);
        }
        y.iter_mut().for_each(|yi| *yi = T::zero());
        return Ok(());
    }
    if !sigma.is_finite() || sigma < T::zero() {
        return Err(Error::NonFinite {
            what: "sigma (must be finite and > 0)",
            index: 0,
        });
    }
    if sigma >= T::min_positive_value().sqrt() && sigma <= T::max_value().sqrt() {
        w.mul(Plain, x, y);
        let d = Divide::new(sigma);
        y.iter_mut().for_each(|yi| *yi = d.apply(*yi));
        if y.iter().all(|yi| yi.is_finite()) {
            return Ok(());
        }
    }
    // Tiny or huge σ̃ (subnormal or near-MAX weights), or an overflow: W̄x = (2^k·W x)/(2^k·σ̃)
    // with max|2^k·W| in [1, 2), so neither the products nor σ̃ leave the normal range.
    max_abs(x, "x")?;
    let (m, _) = w.max_abs()?;
    if m == T::zero() {
        y.iter_mut().for_each(|yi| *yi = T::zero());
        return Ok(());
    }
    let (k, k_inv) = rescale_for(m);
    let up = Pow2::new(k);
    w.mul(up, x, y);
    let scaled_sigma = up.apply(sigma);
    if scaled_sigma.is_finite() {
        let d = Divide::new(scaled_sigma);
        y.iter_mut().for_each(|yi| *yi = d.apply(*yi));
    } else {
        // σ̃ far above σ(W) (a restored state): divide first, then undo the scaling.
        let (d, down) = (Divide::new(sigma), Pow2::new(k_inv));
        y.iter_mut().for_each(|yi| *yi = down.apply(d.apply(*yi)));
    }
    if y.iter().all(|yi| yi.is_finite()) {
        Ok(())
    } else {
        Err(Error::Overflow { what: "W̄x" })
    }
}

/// `grad_w = (G − ⟨G, W̄⟩ u vᵀ) / σ̃` (eq. 12) with u, v, σ̃ from the last round, G = ∂L/∂W̄ in
/// W's storage layout.
pub(crate) fn normalize_backward<T: Float>(
    w: DynMatrix<'_, T>,
    u: &[T],
    v: &[T],
    sigma: T,
    grad_wbar: &[T],
    grad_w: &mut [T],
) -> Result<()> {
    let data = w.data();
    check_len("grad_wbar", data.len(), grad_wbar.len())?;
    check_len("grad_w", data.len(), grad_w.len())?;
    if sigma == T::zero() {
        return Err(Error::ZeroSigma);
    }
    if !sigma.is_finite() || sigma < T::zero() {
        return Err(Error::NonFinite {
            what: "sigma (must be finite and > 0)",
            index: 0,
        });
    }
    let d = Divide::new(sigma);
    // ⟨G, W̄⟩ = Σ (W/σ̃)·G: dividing each W_ij first keeps the products in range when W is
    // near the float maximum (W_ij/σ̃ ≤ 1 after a converged round).
    let inner = crate::matrix::dot(d, data, grad_wbar);
    if !inner.is_finite() {
        max_abs(grad_wbar, "grad_wbar")?;
        w.max_abs()?;
        return Err(Error::Overflow {
            what: "<G, W̄> in normalize_backward",
        });
    }
    let (rows, k) = (w.rows(), w.block_cols());
    let mut finite = true;
    let blocks = grad_wbar
        .chunks_exact(rows * k)
        .zip(grad_w.chunks_exact_mut(rows * k))
        .zip(v.chunks_exact(k));
    for ((gb, ob), vb) in blocks {
        for ((g_row, o_row), &ui) in gb.chunks_exact(k).zip(ob.chunks_exact_mut(k)).zip(u) {
            let c = inner * ui;
            finite &= match d {
                Divide::ByRecip(r) => map2_finite(o_row, g_row, vb, |g, vj| (g - c * vj) * r),
                Divide::By(s) => map2_finite(o_row, g_row, vb, |g, vj| (g - c * vj) / s),
            };
        }
    }
    if finite {
        Ok(())
    } else {
        Err(Error::Overflow {
            what: "gradient of normalize",
        })
    }
}

/// Validates and normalizes a user-supplied start vector u₀ (a zero vector is allowed: the first
/// round replaces it).
pub(crate) fn init_u<T: Float>(u: &mut [T]) -> Result<()> {
    max_abs(u, "u")?;
    normalize_vec(u);
    Ok(())
}

/// Persistent spectral-normalization state of one `M × N` weight: the vectors ũ (eq. 20–21),
/// v, and the last σ̃ (eq. 22). Never trained; save it with the model.
///
/// # Math
/// Per training update, for `rounds ≥ 1` (Algorithm 1): `v ← Wᵀũ / ‖Wᵀũ‖₂` (eq. 20),
/// `ũ ← W v / ‖W v‖₂` (eq. 21), `σ̃ = ũᵀ W v` (eq. 22), then `W̄ = W / σ̃` (eq. 8). ũ is recycled
/// from one update to the next, which is why one round per update suffices.
///
/// ```
/// use sn_core::{Matrix, SpectralNorm};
/// let w = [3.0_f64, 0.0, 0.0, 0.0, 1.0, 0.0]; // σ = 3
/// let m = Matrix::<f64, 2, 3>::new(&w)?;
/// let mut sn = SpectralNorm::<f64, 2, 3>::new([1.0, 1.0])?;
/// let sigma = sn.power_iteration(m, 30)?;
/// assert!((sigma - 3.0).abs() < 1e-12);
/// let mut w_bar = [0.0; 6];
/// sn.normalize(m, &mut w_bar)?;
/// assert!((Matrix::<f64, 2, 3>::new(&w_bar)?.sigma_exact(1e-12, 1000)?.sigma - 1.0).abs() < 1e-12);
/// # Ok::<(), sn_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SpectralNorm<T, const M: usize, const N: usize> {
    u: [T; M],
    v: [T; N],
    sigma: T,
}

impl<T: Float, const M: usize, const N: usize> SpectralNorm<T, M, N> {
    /// State with start vector ũ₀ (normalized here; v = 0 and σ̃ = 0 until the first round).
    /// Draw ũ₀ from an isotropic distribution with your own RNG, e.g.
    /// `SpectralNorm::from_fn(|_| normal.sample(&mut rng))`. A zero ũ₀ is accepted: the first
    /// round replaces it deterministically.
    ///
    /// ```
    /// # use sn_core::SpectralNorm;
    /// let sn = SpectralNorm::<f32, 2, 5>::new([3.0, 4.0])?;
    /// assert_eq!(sn.u(), &[0.6, 0.8]);
    /// assert!(SpectralNorm::<f32, 2, 5>::new([f32::NAN, 1.0]).is_err());
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NonFinite`] if ũ₀ holds NaN or Inf.
    pub fn new(mut u0: [T; M]) -> Result<Self> {
        init_u(&mut u0)?;
        Ok(SpectralNorm {
            u: u0,
            v: [T::zero(); N],
            sigma: T::zero(),
        })
    }

    /// [`SpectralNorm::new`] with `ũ₀[i] = f(i)`: pass a closure over your RNG, so sn-core
    /// stays free of global state and of any RNG crate.
    ///
    /// ```
    /// # use sn_core::SpectralNorm;
    /// let sn = SpectralNorm::<f64, 4, 3>::from_fn(|i| if i == 2 { 5.0 } else { 0.0 })?;
    /// assert_eq!(sn.u(), &[0.0, 0.0, 1.0, 0.0]);
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`SpectralNorm::new`].
    pub fn from_fn(f: impl FnMut(usize) -> T) -> Result<Self> {
        Self::new(core::array::from_fn(f))
    }

    /// Restores saved state (from a checkpoint): ũ and v are taken as they are after checking
    /// that they are finite and (for ũ) unit or zero within 1e-3.
    ///
    /// ```
    /// # use sn_core::SpectralNorm;
    /// let sn = SpectralNorm::<f64, 2, 1>::from_parts([0.0, 1.0], [1.0], 2.5)?;
    /// assert_eq!(sn.sigma(), 2.5);
    /// assert!(SpectralNorm::<f64, 2, 1>::from_parts([0.0, 2.0], [1.0], 2.5).is_err());
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NonFinite`] for NaN/Inf (or a ũ that is neither unit nor zero: `index` is then
    /// `M`).
    pub fn from_parts(u: [T; M], v: [T; N], sigma: T) -> Result<Self> {
        check_saved(&u, &v, sigma)?;
        Ok(SpectralNorm { u, v, sigma })
    }

    /// The persistent left vector ũ (length d_out).
    pub fn u(&self) -> &[T; M] {
        &self.u
    }

    /// The right vector v of the last round (length d_in·kh·kw).
    pub fn v(&self) -> &[T; N] {
        &self.v
    }

    /// σ̃ from the last call of [`power_iteration`](Self::power_iteration).
    pub fn sigma(&self) -> T {
        self.sigma
    }

    /// Runs `rounds` rounds of eq. 20–21 on the persistent ũ, then stores and returns
    /// σ̃ = ũᵀ W v (eq. 22). With `rounds = 0` (evaluation), ũ and v are left alone and
    /// σ̃ = ũᵀ W v is recomputed for the current W, as PyTorch does in eval mode.
    ///
    /// One round is two passes over W. σ̃ ≤ σ(W), and σ̃ never decreases from round to round
    /// for a fixed W (both in exact arithmetic; in floating point, to within a few ulp). The zero
    /// matrix gives σ̃ = 0 (v = 0, ũ kept).
    ///
    /// ```
    /// # use sn_core::{Matrix, SpectralNorm};
    /// let w = [1.0_f32, 2.0, 3.0, 4.0];
    /// let m = Matrix::<f32, 2, 2>::new(&w)?;
    /// let mut sn = SpectralNorm::new([1.0, 0.0])?;
    /// let one = sn.power_iteration(m, 1)?;
    /// let many = sn.power_iteration(m, 20)?;
    /// assert!(one <= many && (many - 5.4649857).abs() < 1e-5);
    /// assert_eq!(sn.power_iteration(m, 0)?, sn.sigma());
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NonFinite`] if W holds NaN/Inf (ũ and σ̃ unchanged, v cleared),
    /// [`Error::Overflow`] if σ̃ is
    /// not representable (ũ, v are updated, σ̃ is not).
    pub fn power_iteration(&mut self, w: Matrix<'_, T, M, N>, rounds: usize) -> Result<T> {
        self.sigma = iterate(w.as_dyn(), &mut self.u, &mut self.v, rounds)?;
        Ok(self.sigma)
    }

    /// Writes W̄ = W / σ̃ (eq. 8) into `out`, in W's storage layout. The zero matrix maps to
    /// itself.
    ///
    /// Layers that only need W̄x can skip this pass: see [`apply`](Self::apply).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `out.len() != M·N`; [`Error::ZeroSigma`] for a non-zero W
    /// before any round; [`Error::NonFinite`] for NaN/Inf in W; [`Error::Overflow`] if W/σ̃
    /// overflows.
    ///
    /// ```
    /// # use sn_core::{Matrix, SpectralNorm};
    /// let w = [2.0_f64, 0.0, 0.0, 1.0];
    /// let m = Matrix::<f64, 2, 2>::new(&w)?;
    /// let mut sn = SpectralNorm::new([1.0, 1.0])?;
    /// sn.power_iteration(m, 40)?;
    /// let mut out = [0.0; 4];
    /// sn.normalize(m, &mut out)?;
    /// assert!((out[0] - 1.0).abs() < 1e-12 && (out[3] - 0.5).abs() < 1e-12);
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    pub fn normalize(&self, w: Matrix<'_, T, M, N>, out: &mut [T]) -> Result<()> {
        normalize(w.as_dyn(), self.sigma, out)
    }

    /// `y = W̄ x = (W x) / σ̃`, without materializing W̄ (saves the W/σ̃ pass).
    ///
    /// ```
    /// # use sn_core::{Matrix, SpectralNorm};
    /// let w = [2.0_f64, 0.0, 0.0, 1.0];
    /// let m = Matrix::<f64, 2, 2>::new(&w)?;
    /// let mut sn = SpectralNorm::new([1.0, 1.0])?;
    /// sn.power_iteration(m, 40)?;
    /// let mut y = [0.0; 2];
    /// sn.apply(m, &[1.0, 1.0], &mut y)?;
    /// assert!((y[0] - 1.0).abs() < 1e-12 && (y[1] - 0.5).abs() < 1e-12);
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ZeroSigma`] for a non-zero W before any round (the zero matrix gives y = 0);
    /// [`Error::NonFinite`]/[`Error::Overflow`] as [`normalize`](Self::normalize).
    pub fn apply(&self, w: Matrix<'_, T, M, N>, x: &[T; N], y: &mut [T; M]) -> Result<()> {
        apply(w.as_dyn(), self.sigma, x, y)
    }

    /// Gradient of a loss through W̄ = W/σ̃ (eq. 12), with ũ, v (and so σ̃ = ũᵀWv) held fixed:
    ///
    /// `∂L/∂W = (G − ⟨G, W̄⟩_F ũ vᵀ) / σ̃`, where `G = ∂L/∂W̄` (`grad_wbar`, W's layout).
    ///
    /// This is exactly what autodiff of `W / (ũᵀ W v)` with ũ, v detached yields; it removes
    /// from G its component along the first singular direction, scaled by λ = ⟨G, W̄⟩.
    ///
    /// ```
    /// # use sn_core::{Matrix, SpectralNorm};
    /// let w = [2.0_f64, 0.0, 0.0, 1.0];
    /// let m = Matrix::<f64, 2, 2>::new(&w)?;
    /// let mut sn = SpectralNorm::new([1.0, 0.0])?;
    /// sn.power_iteration(m, 1)?; // ũ = e₀, v = e₀, σ̃ = 2
    /// let mut g = [0.0; 4];
    /// // L = Σ W̄: G = 1; ⟨G, W̄⟩ = 1.5; ∂L/∂W = (1 − 1.5·e₀e₀ᵀ)/2.
    /// sn.normalize_backward(m, &[1.0; 4], &mut g)?;
    /// assert_eq!(g, [-0.25, 0.5, 0.5, 0.5]);
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] for wrong slice lengths, [`Error::ZeroSigma`] before any round
    /// (W/σ is not differentiable at σ = 0), [`Error::NonFinite`]/[`Error::Overflow`] for
    /// non-finite inputs or results.
    pub fn normalize_backward(
        &self,
        w: Matrix<'_, T, M, N>,
        grad_wbar: &[T],
        grad_w: &mut [T],
    ) -> Result<()> {
        normalize_backward(w.as_dyn(), &self.u, &self.v, self.sigma, grad_wbar, grad_w)
    }

    /// The Lipschitz constant of x ↦ W̄x, σ(W)/σ̃: 1 when σ̃ has converged, ≥ 1 after one round
    /// (σ̃ under-estimates σ). Multiply these over a network with
    /// [`lipschitz_bound`](crate::lipschitz_bound). σ(W) is computed with
    /// [`Matrix::sigma_exact`] to relative tolerance `tol`.
    ///
    /// ```
    /// # use sn_core::{Matrix, SpectralNorm};
    /// let w = [1.0_f64, 2.0, 3.0, 4.0];
    /// let m = Matrix::<f64, 2, 2>::new(&w)?;
    /// let mut sn = SpectralNorm::new([1.0, -1.0])?;
    /// sn.power_iteration(m, 1)?;
    /// assert!(sn.lipschitz_constant(m, 1e-12, 10_000)? >= 1.0);
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ZeroSigma`] before any round, errors of [`Matrix::sigma_exact`].
    pub fn lipschitz_constant(&self, w: Matrix<'_, T, M, N>, tol: T, max_iter: usize) -> Result<T> {
        lipschitz_constant(w.as_dyn(), self.sigma, w.sigma_exact(tol, max_iter)?.sigma)
    }
}

pub(crate) fn lipschitz_constant<T: Float>(w: DynMatrix<'_, T>, sigma: T, exact: T) -> Result<T> {
    if !exact.is_finite() {
        return Err(Error::NonFinite {
            what: "sigma_exact",
            index: 0,
        });
    }
    if exact < T::zero() {
        return Err(Error::Negative {
            what: "sigma_exact",
            index: 0,
        });
    }
    if sigma < T::zero() {
        // Only after `power_iteration(w, 0)` on vectors from another W: σ̃ = ũᵀWv < 0.
        return Err(Error::Negative {
            what: "sigma estimate (run a power-iteration round)",
            index: 0,
        });
    }
    if sigma == T::zero() {
        return if w.data().iter().all(|&x| x == T::zero()) {
            Ok(T::zero())
        } else {
            Err(Error::ZeroSigma)
        };
    }
    finite_or(
        exact / sigma,
        Error::Overflow {
            what: "lipschitz constant",
        },
    )
}

pub(crate) fn iterate<T: Float>(
    w: DynMatrix<'_, T>,
    u: &mut [T],
    v: &mut [T],
    rounds: usize,
) -> Result<T> {
    if rounds == 0 {
        return bilinear(w, u, v);
    }
    let mut sigma = T::zero();
    for _ in 0..rounds {
        sigma = round(w, u, v)?;
    }
    Ok(sigma)
}

fn check_saved<T: Float>(u: &[T], v: &[T], sigma: T) -> Result<()> {
    max_abs(u, "u")?;
    max_abs(v, "v")?;
    if !sigma.is_finite() {
        return Err(Error::NonFinite {
            what: "sigma",
            index: 0,
        });
    }
    // ‖u‖ computed as m·‖u/m‖ so that a tiny non-unit u cannot pass as zero.
    let (m, _) = max_abs(u, "u")?;
    let n = if m == T::zero() {
        T::zero()
    } else {
        u.iter().map(|&x| (x / m) * (x / m)).sum::<T>().sqrt() * m
    };
    let tol = T::lit(1e-3);
    if n != T::zero() && (n - T::one()).abs() > tol {
        return Err(Error::NonFinite {
            what: "u (not a unit vector)",
            index: u.len(),
        });
    }
    Ok(())
}

/// [`SpectralNorm`] for a shape known only at run time, over any storage (`Vec<T>`, `&mut [T]`,
/// arrays): for generic layer code on stable Rust, where `d_in·kh·kw` cannot be a const-generic
/// argument. Same math, same methods.
///
/// ```
/// use sn_core::{DynMatrix, DynSpectralNorm};
/// let w = [3.0_f32, 0.0, 0.0, 0.0, 1.0, 0.0];
/// let m = DynMatrix::new(&w, 2, 3)?;
/// let mut sn = DynSpectralNorm::new([1.0_f32, 1.0], [0.0_f32; 3])?;
/// assert!((sn.power_iteration(m, 20)? - 3.0).abs() < 1e-5);
/// # Ok::<(), sn_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DynSpectralNorm<T, U, V = U> {
    u: U,
    v: V,
    sigma: T,
}

impl<T, U, V> DynSpectralNorm<T, U, V>
where
    T: Float,
    U: AsRef<[T]> + AsMut<[T]>,
    V: AsRef<[T]> + AsMut<[T]>,
{
    /// State with start vector ũ₀ (normalized here) and a v buffer of length d_in·kh·kw (its
    /// contents are overwritten by the first round).
    ///
    /// # Errors
    /// [`Error::NonFinite`] if ũ₀ holds NaN or Inf.
    pub fn new(mut u0: U, mut v: V) -> Result<Self> {
        init_u(u0.as_mut())?;
        v.as_mut().iter_mut().for_each(|x| *x = T::zero());
        Ok(DynSpectralNorm {
            u: u0,
            v,
            sigma: T::zero(),
        })
    }

    /// Restores saved state, as [`SpectralNorm::from_parts`].
    ///
    /// # Errors
    /// As [`SpectralNorm::from_parts`].
    pub fn from_parts(u: U, v: V, sigma: T) -> Result<Self> {
        check_saved(u.as_ref(), v.as_ref(), sigma)?;
        Ok(DynSpectralNorm { u, v, sigma })
    }

    /// The persistent left vector ũ.
    pub fn u(&self) -> &[T] {
        self.u.as_ref()
    }

    /// The right vector v of the last round.
    pub fn v(&self) -> &[T] {
        self.v.as_ref()
    }

    /// σ̃ from the last call of [`power_iteration`](Self::power_iteration).
    pub fn sigma(&self) -> T {
        self.sigma
    }

    fn check_shape(&self, w: &DynMatrix<'_, T>) -> Result<()> {
        check_len("u", w.rows(), self.u.as_ref().len())?;
        check_len("v", w.cols(), self.v.as_ref().len())
    }

    /// As [`SpectralNorm::power_iteration`].
    ///
    /// # Errors
    /// As [`SpectralNorm::power_iteration`], plus [`Error::LengthMismatch`] if ũ or v do not
    /// match W's shape.
    pub fn power_iteration(&mut self, w: DynMatrix<'_, T>, rounds: usize) -> Result<T> {
        self.check_shape(&w)?;
        self.sigma = iterate(w, self.u.as_mut(), self.v.as_mut(), rounds)?;
        Ok(self.sigma)
    }

    /// As [`SpectralNorm::normalize`].
    ///
    /// # Errors
    /// As [`SpectralNorm::normalize`].
    pub fn normalize(&self, w: DynMatrix<'_, T>, out: &mut [T]) -> Result<()> {
        self.check_shape(&w)?;
        normalize(w, self.sigma, out)
    }

    /// As [`SpectralNorm::apply`].
    ///
    /// # Errors
    /// As [`SpectralNorm::apply`], plus [`Error::LengthMismatch`].
    pub fn apply(&self, w: DynMatrix<'_, T>, x: &[T], y: &mut [T]) -> Result<()> {
        self.check_shape(&w)?;
        apply(w, self.sigma, x, y)
    }

    /// As [`SpectralNorm::normalize_backward`] (eq. 12).
    ///
    /// # Errors
    /// As [`SpectralNorm::normalize_backward`].
    pub fn normalize_backward(
        &self,
        w: DynMatrix<'_, T>,
        grad_wbar: &[T],
        grad_w: &mut [T],
    ) -> Result<()> {
        self.check_shape(&w)?;
        normalize_backward(
            w,
            self.u.as_ref(),
            self.v.as_ref(),
            self.sigma,
            grad_wbar,
            grad_w,
        )
    }

    /// As [`SpectralNorm::lipschitz_constant`], with σ(W) supplied by the caller (for example
    /// from [`DynMatrix::sigma_exact`]).
    ///
    /// # Errors
    /// [`Error::ZeroSigma`] before any round; [`Error::Overflow`].
    pub fn lipschitz_constant(&self, w: DynMatrix<'_, T>, sigma_exact: T) -> Result<T> {
        self.check_shape(&w)?;
        lipschitz_constant(w, self.sigma, sigma_exact)
    }
}
