//! σ(W) to a stated tolerance, for monitoring (Fig. 9) and for tests.

use crate::error::{Error, Result};
use crate::float::Float;
use crate::matrix::{check_len, DynMatrix, Matrix};
use crate::power::{init_u, round};

/// How [`Matrix::sigma_exact`] / [`DynMatrix::sigma_exact`] ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Convergence<T> {
    /// σ(W), the largest singular value (a lower bound on it if not converged).
    pub sigma: T,
    /// Power-iteration rounds run.
    pub iterations: usize,
    /// Whether the tolerance was met within the iteration cap.
    pub converged: bool,
}

/// σ(W) with its singular vectors, from [`Matrix::sigma_exact`].
#[derive(Clone, Debug, PartialEq)]
pub struct ExactSigma<T, const M: usize, const N: usize> {
    /// σ(W), the largest singular value (a lower bound on it if not converged).
    pub sigma: T,
    /// The first left singular vector (unit; zero for the zero matrix).
    pub u: [T; M],
    /// The first right singular vector (unit; zero for the zero matrix).
    pub v: [T; N],
    /// Power-iteration rounds run.
    pub iterations: usize,
    /// Whether the tolerance was met within the iteration cap.
    pub converged: bool,
}

/// A fixed, structure-free start vector (splitmix64 of the index, in [-1, 1]), so that results
/// are reproducible and a start orthogonal to the top singular vector is as unlikely as for a
/// random one.
fn start_vector<T: Float>(u: &mut [T]) {
    for (i, ui) in u.iter_mut().enumerate() {
        let mut z = (i as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        *ui = T::lit((z >> 11) as f64 / (1u64 << 52) as f64 - 1.0);
    }
}

pub(crate) fn sigma_exact<T: Float>(
    w: DynMatrix<'_, T>,
    tol: T,
    max_iter: usize,
    u: &mut [T],
    v: &mut [T],
    prev: &mut [T],
    warm_start: bool,
) -> Result<Convergence<T>> {
    if !(tol.is_finite() && tol > T::zero()) {
        return Err(Error::NonFinite {
            what: "tol (must be finite and > 0)",
            index: 0,
        });
    }
    if warm_start && u.iter().any(|&x| x != T::zero()) {
        init_u(u)?;
    } else {
        start_vector(u);
        init_u(u)?;
    }
    v.iter_mut().for_each(|x| *x = T::zero());
    // Rounding noise of a unit vector computed through sums of up to max(M, N) terms.
    let dim = T::lit(w.rows().max(w.cols()) as f64);
    let noise = T::lit(16.0) * T::epsilon() * dim.sqrt();
    let mut sigma = T::zero();
    let mut d_prev = T::infinity();
    for it in 1..=max_iter.max(1) {
        prev.copy_from_slice(v);
        sigma = round(w, u, v)?;
        if sigma == T::zero() {
            return Ok(Convergence {
                sigma,
                iterations: it,
                converged: true,
            });
        }
        if it == 1 {
            continue;
        }
        let d = v
            .iter()
            .zip(prev.iter())
            .map(|(&a, &b)| (a - b) * (a - b))
            .sum::<T>()
            .sqrt();
        // v converges geometrically with ratio q = (σ₂/σ₁)²; the distance still to go is
        // about d·q/(1−q), with q estimated from successive steps.
        let q = d / d_prev;
        let remaining = d * q / (T::one() - q);
        if d <= noise || (d_prev.is_finite() && q < T::one() && remaining <= tol) {
            return Ok(Convergence {
                sigma,
                iterations: it,
                converged: true,
            });
        }
        d_prev = d;
    }
    Ok(Convergence {
        sigma,
        iterations: max_iter.max(1),
        converged: false,
    })
}

impl<'a, T: Float> DynMatrix<'a, T> {
    /// σ(W), the largest singular value, by power iteration run to convergence (for
    /// monitoring: eq. 7's σ, not the one-round estimate σ̃ of eq. 22).
    ///
    /// # Tolerance
    /// Stops when the estimated distance of v from the top right singular vector is at most
    /// `tol` (extrapolating the geometric convergence of successive v's, ratio q = (σ₂/σ₁)²), or
    /// when successive v's differ by no more than rounding noise (16ε·√max(M, N)). In the second
    /// case the vectors are as accurate as floating point allows, about 16ε·√n·q/(1−q): above
    /// `tol` only when σ₂ is within about ε/tol of σ₁, where the singular vectors are themselves
    /// ill-determined. σ's relative error is about the square of the vector error, and σ is
    /// never above the true value by more than rounding. `converged` reports whether either
    /// happened within `max_iter` rounds; slow convergence means σ₂ ≈ σ₁.
    ///
    /// `u` (rows), `v` (cols) and `work` (cols) are scratch space; on return `u`, `v` hold the
    /// singular vectors.
    ///
    /// ```
    /// # use sn_core::DynMatrix;
    /// let w = [0.0_f64, 2.0, 1.0, 0.0]; // σ = 2
    /// let (mut u, mut v, mut work) = ([0.0; 2], [0.0; 2], [0.0; 2]);
    /// let c = DynMatrix::new(&w, 2, 2)?.sigma_exact(1e-12, 100, &mut u, &mut v, &mut work)?;
    /// assert!(c.converged && (c.sigma - 2.0).abs() < 1e-12);
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] for wrong buffer lengths; [`Error::NonFinite`] for NaN/Inf in
    /// W or a `tol` that is not finite and positive; [`Error::Overflow`] if σ is not
    /// representable.
    pub fn sigma_exact(
        &self,
        tol: T,
        max_iter: usize,
        u: &mut [T],
        v: &mut [T],
        work: &mut [T],
    ) -> Result<Convergence<T>> {
        self.checked_sigma_exact(tol, max_iter, u, v, work, false)
    }

    /// [`sigma_exact`](Self::sigma_exact) starting from the vector in `u` (when it is non-zero)
    /// instead of a fixed one: with a spectral-normalization state's ũ, which already points
    /// near the top singular vector, it converges in a few rounds (monitoring during training).
    ///
    /// ```
    /// # use sn_core::DynMatrix;
    /// let w = [3.0_f64, 0.0, 0.0, 1.0];
    /// let (mut u, mut v, mut work) = ([1.0, 0.1], [0.0; 2], [0.0; 2]);
    /// let c = DynMatrix::new(&w, 2, 2)?.sigma_exact_from(1e-12, 100, &mut u, &mut v, &mut work)?;
    /// assert!(c.converged && (c.sigma - 3.0).abs() < 1e-12);
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`sigma_exact`](Self::sigma_exact); also [`Error::NonFinite`] for NaN/Inf in `u`.
    pub fn sigma_exact_from(
        &self,
        tol: T,
        max_iter: usize,
        u: &mut [T],
        v: &mut [T],
        work: &mut [T],
    ) -> Result<Convergence<T>> {
        self.checked_sigma_exact(tol, max_iter, u, v, work, true)
    }

    fn checked_sigma_exact(
        &self,
        tol: T,
        max_iter: usize,
        u: &mut [T],
        v: &mut [T],
        work: &mut [T],
        warm_start: bool,
    ) -> Result<Convergence<T>> {
        check_len("u", self.rows(), u.len())?;
        check_len("v", self.cols(), v.len())?;
        check_len("work", self.cols(), work.len())?;
        sigma_exact(*self, tol, max_iter, u, v, work, warm_start)
    }
}

impl<'a, T: Float, const M: usize, const N: usize> Matrix<'a, T, M, N> {
    /// σ(W) and its singular vectors, to tolerance `tol` within `max_iter` rounds; see
    /// [`DynMatrix::sigma_exact`] for the stopping rule.
    ///
    /// ```
    /// # use sn_core::Matrix;
    /// let w = [1.0_f64, 2.0, 3.0, 4.0];
    /// let s = Matrix::<f64, 2, 2>::new(&w)?.sigma_exact(1e-12, 1000)?;
    /// // σ₁ of [[1, 2], [3, 4]] is √(15 + √221).
    /// assert!(s.converged && (s.sigma - (15.0 + 221f64.sqrt()).sqrt()).abs() < 1e-12);
    /// # Ok::<(), sn_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`DynMatrix::sigma_exact`].
    pub fn sigma_exact(&self, tol: T, max_iter: usize) -> Result<ExactSigma<T, M, N>> {
        let mut u = [T::zero(); M];
        let mut v = [T::zero(); N];
        let mut work = [T::zero(); N];
        let c = sigma_exact(
            self.as_dyn(),
            tol,
            max_iter,
            &mut u,
            &mut v,
            &mut work,
            false,
        )?;
        Ok(ExactSigma {
            sigma: c.sigma,
            u,
            v,
            iterations: c.iterations,
            converged: c.converged,
        })
    }
}
