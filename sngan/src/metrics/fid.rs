//! Fréchet Inception Distance (Heusel et al. 2017) as pytorch-fid computes it.
//!
//! # Math
//! FID = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½ over the 2048-d pool3 features
//! (SNGAN.md §7). Statistics are accumulated in f64; Σ uses N − 1 (`np.cov`).
//!
//! pytorch-fid takes `scipy.linalg.sqrtm(Σ₁Σ₂)` and keeps its trace. With any R such that
//! RRᵀ = Σ₁ (the Cholesky factor when Σ₁ is positive definite, else Σ₁^½), Σ₁Σ₂ is similar to
//! the symmetric positive semi-definite A = RᵀΣ₂R on the range of Σ₁, so tr (Σ₁Σ₂)^½ =
//! Σᵢ √λᵢ(A). This module computes R and the eigenvalues of A with nalgebra (Cholesky, symmetric
//! eigendecompositions), clamping the eigenvalues that rounding pushes below zero to
//! zero — the real part of their square roots, i.e. what pytorch-fid keeps when it drops a
//! negligible imaginary part. Like pytorch-fid, if the trace is not finite the computation is
//! repeated with 1e-6·I added to both covariances ([`Fid::offset_used`]).

use nalgebra::{DMatrix, SymmetricEigen};

use crate::Error;

/// pytorch-fid's fallback offset: 1e-6·I is added to both covariances.
pub const FID_EPS: f64 = 1e-6;

/// Mean and covariance (N − 1) of a feature set: what pytorch-fid's `.npz` files hold.
#[derive(Clone, Debug, PartialEq)]
pub struct FidStats {
    /// μ, length d.
    pub mu: Vec<f64>,
    /// Σ, d × d, row-major.
    pub sigma: Vec<f64>,
}

impl FidStats {
    /// The feature dimension d.
    pub fn dim(&self) -> usize {
        self.mu.len()
    }

    fn check(&self, what: &str) -> Result<(), Error> {
        let d = self.mu.len();
        if d == 0 || self.sigma.len() != d * d {
            return Err(Error::Data(format!(
                "{what}: expected mu of length d > 0 and sigma of d x d = {} values, found {} and {}",
                d * d,
                d,
                self.sigma.len()
            )));
        }
        if !self.mu.iter().chain(&self.sigma).all(|v| v.is_finite()) {
            return Err(Error::NonFinite(format!("{what}: mu or sigma")));
        }
        Ok(())
    }
}

/// Accumulates μ and Σ of feature vectors in f64, batch by batch.
///
/// Sums are taken about the first vector seen (a shift that keeps the f64 sums well
/// conditioned when the features' mean is large against their spread), and the outer products
/// of a batch go through one GEMM.
#[derive(Clone, Debug)]
pub struct StatsAccumulator {
    dim: usize,
    n: usize,
    shift: Vec<f64>,
    sum: Vec<f64>,
    outer: DMatrix<f64>,
}

impl StatsAccumulator {
    /// An empty accumulator of `dim`-dimensional features.
    pub fn new(dim: usize) -> Self {
        StatsAccumulator {
            dim,
            n: 0,
            shift: Vec::new(),
            sum: vec![0.0; dim],
            outer: DMatrix::zeros(dim, dim),
        }
    }

    /// Vectors seen so far.
    pub fn count(&self) -> usize {
        self.n
    }

    /// Adds the rows of `features` (row-major, `features.len() / dim` rows).
    ///
    /// # Errors
    /// [`Error::Config`] if the length is not a multiple of the dimension;
    /// [`Error::NonFinite`] if a value is NaN or infinite.
    pub fn add<F: Copy + Into<f64>>(&mut self, features: &[F]) -> Result<(), Error> {
        let d = self.dim;
        if d == 0 || !features.len().is_multiple_of(d) {
            return Err(Error::Config(format!(
                "features: {} values are not rows of dimension {d}",
                features.len()
            )));
        }
        let rows = features.len() / d;
        if rows == 0 {
            return Ok(());
        }
        if self.shift.is_empty() {
            self.shift = features[..d].iter().map(|&v| v.into()).collect();
        }
        // Both layouts, so that the product goes through `gemm` (matrixmultiply's blocked
        // kernel) rather than `gemm_tr`'s column dot products (~20x slower at d = 2048).
        let mut x = DMatrix::<f64>::zeros(rows, d);
        let mut xt = DMatrix::<f64>::zeros(d, rows);
        for r in 0..rows {
            for c in 0..d {
                let v: f64 = features[r * d + c].into();
                if !v.is_finite() {
                    return Err(Error::NonFinite(format!("feature {c} of row {r}")));
                }
                let v = v - self.shift[c];
                x[(r, c)] = v;
                xt[(c, r)] = v;
                self.sum[c] += v;
            }
        }
        self.outer.gemm(1.0, &xt, &x, 1.0);
        self.n += rows;
        Ok(())
    }

    /// μ and Σ (N − 1) of the vectors seen.
    ///
    /// # Errors
    /// [`Error::Config`] with fewer than two vectors (Σ needs N − 1 > 0).
    pub fn finish(&self) -> Result<FidStats, Error> {
        let (n, d) = (self.n, self.dim);
        if n < 2 {
            return Err(Error::Config(format!(
                "FID statistics need at least 2 feature vectors, found {n}"
            )));
        }
        let nf = n as f64;
        let mean_c: Vec<f64> = self.sum.iter().map(|s| s / nf).collect();
        let mu = mean_c.iter().zip(&self.shift).map(|(m, s)| m + s).collect();
        let mut sigma = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                sigma[i * d + j] = (self.outer[(i, j)] - nf * mean_c[i] * mean_c[j]) / (nf - 1.0);
            }
        }
        Ok(FidStats { mu, sigma })
    }
}

/// μ and Σ of `features` (row-major rows of length `dim`).
///
/// # Errors
/// As [`StatsAccumulator::add`] and [`StatsAccumulator::finish`].
pub fn stats_of<F: Copy + Into<f64>>(features: &[F], dim: usize) -> Result<FidStats, Error> {
    let mut acc = StatsAccumulator::new(dim);
    acc.add(features)?;
    acc.finish()
}

/// A Fréchet distance and how it was obtained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fid {
    /// The distance.
    pub value: f64,
    /// Whether pytorch-fid's fallback (1e-6·I added to both covariances) was needed.
    pub offset_used: bool,
}

/// The Fréchet distance between two Gaussians, as pytorch-fid's `calculate_frechet_distance`.
///
/// # Errors
/// [`Error::Data`] if the statistics' dimensions differ or do not fit;
/// [`Error::NonFinite`] if an input or the result is not finite;
/// [`Error::Device`] if an eigendecomposition does not converge.
pub fn frechet_distance(a: &FidStats, b: &FidStats) -> Result<Fid, Error> {
    a.check("first FID statistics")?;
    b.check("second FID statistics")?;
    if a.dim() != b.dim() {
        return Err(Error::Data(format!(
            "FID statistics of different dimensions: {} and {}",
            a.dim(),
            b.dim()
        )));
    }
    let first = frechet_distance_with_offset(a, b, 0.0)?;
    if first.is_finite() {
        return Ok(Fid {
            value: first,
            offset_used: false,
        });
    }
    let value = frechet_distance_with_offset(a, b, FID_EPS)?;
    if !value.is_finite() {
        return Err(Error::NonFinite("FID even with 1e-6·I added".into()));
    }
    Ok(Fid {
        value,
        offset_used: true,
    })
}

/// ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr ((Σ₁ + εI)(Σ₂ + εI))^½: pytorch-fid's formula with its
/// fallback offset ε made explicit (ε = 0 is the first attempt, [`FID_EPS`] the fallback; the
/// traces of Σ₁ and Σ₂ are those without the offset, as in pytorch-fid).
///
/// # Errors
/// [`Error::Device`] if an eigendecomposition does not converge. Inputs are not checked (see
/// [`frechet_distance`]).
pub fn frechet_distance_with_offset(a: &FidStats, b: &FidStats, eps: f64) -> Result<f64, Error> {
    let d = a.dim();
    let diff: f64 = a.mu.iter().zip(&b.mu).map(|(x, y)| (x - y) * (x - y)).sum();
    let trace = |s: &[f64]| (0..d).map(|i| s[i * d + i]).sum::<f64>();
    let with_eps = |s: &[f64]| {
        let mut m = DMatrix::from_row_slice(d, d, s);
        for i in 0..d {
            m[(i, i)] += eps;
        }
        // Symmetrize: statistics read from a file may carry rounding asymmetry.
        (&m + m.transpose()) * 0.5
    };
    let tr_covmean = trace_sqrt_product(with_eps(&a.sigma), with_eps(&b.sigma))?;
    Ok(diff + trace(&a.sigma) + trace(&b.sigma) - 2.0 * tr_covmean)
}

/// tr (Σ₁Σ₂)^½ = Σᵢ √λᵢ(RᵀΣ₂R) for any R with RRᵀ = Σ₁: the Cholesky factor L when Σ₁ is
/// numerically positive definite (one eigenvalue-only decomposition, ~8 s at d = 2048), else
/// the PSD square root (a decomposition with eigenvectors first, ~3x slower). RᵀΣ₂R is
/// similar to Σ₁Σ₂ = R(RᵀΣ₂R)R⁻¹ on the range of Σ₁, and symmetric PSD.
fn trace_sqrt_product(s1: DMatrix<f64>, s2: DMatrix<f64>) -> Result<f64, Error> {
    let root = match s1.clone().cholesky() {
        Some(ch) => ch.l(),
        None => psd_sqrt(s1)?,
    };
    let inner = root.transpose() * s2 * &root;
    let inner = (&inner + inner.transpose()) * 0.5;
    if !inner.iter().all(|v| v.is_finite()) {
        return Ok(f64::NAN);
    }
    // Finite and symmetric: the implicit QR iteration converges.
    let eigenvalues = inner.symmetric_eigenvalues();
    Ok(eigenvalues.iter().map(|&l| l.max(0.0).sqrt()).sum())
}

fn symmetric_eigen(m: DMatrix<f64>) -> Result<SymmetricEigen<f64, nalgebra::Dyn>, Error> {
    let n = m.nrows();
    if !m.iter().all(|v| v.is_finite()) {
        return Err(Error::NonFinite("FID: a covariance product".into()));
    }
    SymmetricEigen::try_new(m, f64::EPSILON, 1000 * n.max(1)).ok_or_else(|| {
        Error::Device(format!(
            "FID: the symmetric eigendecomposition of a {n}x{n} matrix did not converge"
        ))
    })
}

/// The PSD square root V diag(√max(λ, 0)) Vᵀ of a symmetric matrix.
fn psd_sqrt(m: DMatrix<f64>) -> Result<DMatrix<f64>, Error> {
    let eig = symmetric_eigen(m)?;
    let v = eig.eigenvectors;
    let mut vs = v.clone();
    for (j, l) in eig.eigenvalues.iter().enumerate() {
        let r = l.max(0.0).sqrt();
        vs.column_mut(j).scale_mut(r);
    }
    Ok(vs * v.transpose())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_dimensional_closed_form() {
        // d = 1: (μ1 − μ2)² + (σ1 − σ2)² with variances σ².
        let a = FidStats {
            mu: vec![1.0],
            sigma: vec![4.0],
        };
        let b = FidStats {
            mu: vec![-2.0],
            sigma: vec![9.0],
        };
        let f = frechet_distance(&a, &b).unwrap();
        assert!((f.value - (9.0 + 1.0)).abs() < 1e-12, "{f:?}");
        assert!(!f.offset_used);
    }

    #[test]
    fn accumulator_matches_two_pass_covariance() {
        let x: Vec<f64> = (0..30)
            .map(|i| ((i * 7919) % 31) as f64 * 0.1 + 1e3)
            .collect();
        let s = stats_of(&x, 3).unwrap();
        let n = 10.0;
        for i in 0..3 {
            let mi: f64 = (0..10).map(|r| x[r * 3 + i]).sum::<f64>() / n;
            assert!((s.mu[i] - mi).abs() < 1e-9);
            for j in 0..3 {
                let mj: f64 = (0..10).map(|r| x[r * 3 + j]).sum::<f64>() / n;
                let c: f64 = (0..10)
                    .map(|r| (x[r * 3 + i] - mi) * (x[r * 3 + j] - mj))
                    .sum::<f64>()
                    / (n - 1.0);
                assert!((s.sigma[i * 3 + j] - c).abs() < 1e-9, "{i} {j}");
            }
        }
        assert!(stats_of(&x[..3], 3).is_err());
        assert!(stats_of(&x[..4], 3).is_err());
    }
}
