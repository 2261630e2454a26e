//! Degenerate and invalid input: zero matrices, zero u, subnormals, values near the float
//! maximum, NaN/Inf, wrong lengths. Nothing may panic and no NaN/Inf may come out.

mod common;

use common::{assert_close, norm};
use sn_core::{lipschitz_bound, DynMatrix, DynSpectralNorm, Error, Matrix, SpectralNorm};

fn all_finite<T: sn_core::Float>(x: &[T]) -> bool {
    x.iter().all(|v| v.is_finite())
}

#[test]
fn zero_matrix_gives_zero_sigma_and_zero_w_bar() {
    let w = [0.0f32; 12];
    let m = Matrix::<f32, 3, 4>::new(&w).unwrap();
    let mut sn = SpectralNorm::<f32, 3, 4>::new([1.0, 2.0, 2.0]).unwrap();
    let u_before = *sn.u();
    assert_eq!(sn.power_iteration(m, 3).unwrap(), 0.0);
    assert_eq!(sn.u(), &u_before, "u is kept for the zero matrix");
    assert!(all_finite(sn.v()));
    let mut out = [1.0f32; 12];
    sn.normalize(m, &mut out).unwrap();
    assert_eq!(out, [0.0; 12]);
    let mut y = [1.0f32; 3];
    sn.apply(m, &[1.0; 4], &mut y).unwrap();
    assert_eq!(y, [0.0; 3]);
    let mut g = [0.0f32; 12];
    assert_eq!(
        sn.normalize_backward(m, &[1.0; 12], &mut g),
        Err(Error::ZeroSigma)
    );
    let e = m.sigma_exact(1e-6, 100).unwrap();
    assert!(e.converged && e.sigma == 0.0);
}

#[test]
fn zero_u_is_replaced_deterministically() {
    let w = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
    let m = Matrix::<f64, 2, 3>::new(&w).unwrap();
    let mut a = SpectralNorm::<f64, 2, 3>::new([0.0, 0.0]).unwrap();
    let mut b = a.clone();
    let sa = a.power_iteration(m, 50).unwrap();
    let sb = b.power_iteration(m, 50).unwrap();
    assert_eq!(sa, sb, "same input, same result");
    let exact = m.sigma_exact(1e-12, 10_000).unwrap().sigma;
    assert!((sa - exact).abs() <= 1e-12 * exact);
    assert!((norm(a.u()) - 1.0).abs() < 1e-12);
}

#[test]
fn u_orthogonal_to_the_columns_is_replaced() {
    // Wᵀe₀ = 0: the first row is zero, so plain power iteration would stall at v = 0.
    let w = [0.0f64, 0.0, 0.0, 3.0, 0.0, 0.0];
    let m = Matrix::<f64, 2, 3>::new(&w).unwrap();
    let mut sn = SpectralNorm::<f64, 2, 3>::new([1.0, 0.0]).unwrap();
    assert_eq!(sn.power_iteration(m, 1).unwrap(), 3.0);
    assert_eq!(sn.u(), &[0.0, 1.0]);
}

#[test]
fn subnormal_weights_normalize_without_nan() {
    // Every entry is subnormal in f32; Σx² underflows to 0 on the fast path.
    let tiny = 1e-42f32;
    assert!(tiny != 0.0 && !tiny.is_normal());
    let w = [tiny; 16];
    let m = Matrix::<f32, 4, 4>::new(&w).unwrap();
    let mut sn = SpectralNorm::<f32, 4, 4>::new([1.0, 0.5, 0.25, 0.0]).unwrap();
    let s = sn.power_iteration(m, 2).unwrap();
    assert!(s > 0.0 && s.is_finite());
    // Rank one: σ = 4·w exactly, W̄ = 1/4.
    assert_eq!(s, 4.0 * tiny);
    let mut out = [0.0f32; 16];
    sn.normalize(m, &mut out).unwrap();
    assert_close(
        "W_bar of a subnormal matrix",
        &out,
        &[0.25f32; 16],
        0.0,
        1e-6,
    );
    assert!((norm(sn.u()) - 1.0).abs() < 1e-6 && (norm(sn.v()) - 1.0).abs() < 1e-6);

    let w64 = [5e-320f64, 0.0, 0.0, 1e-320];
    let m64 = Matrix::<f64, 2, 2>::new(&w64).unwrap();
    let mut sn64 = SpectralNorm::<f64, 2, 2>::new([1.0, 1.0]).unwrap();
    let s = sn64.power_iteration(m64, 5).unwrap();
    assert!(s > 0.0 && s.is_finite());
    let mut out = [0.0f64; 4];
    sn64.normalize(m64, &mut out).unwrap();
    assert!(all_finite(&out) && (out[0] - 1.0).abs() < 1e-3);
}

#[test]
fn values_near_float_max() {
    // Σx² overflows in f32 on the fast path; the rescaled path gets σ = 4e30 right.
    let w = [1e30f32; 16];
    let m = Matrix::<f32, 4, 4>::new(&w).unwrap();
    let mut sn = SpectralNorm::<f32, 4, 4>::new([1.0, 0.0, 0.0, 0.0]).unwrap();
    let s = sn.power_iteration(m, 1).unwrap();
    assert!((s / 4e30 - 1.0).abs() < 1e-6, "sigma = {s}");
    let mut out = [0.0f32; 16];
    sn.normalize(m, &mut out).unwrap();
    assert_close("W_bar", &out, &[0.25f32; 16], 0.0, 1e-6);

    // A single f32::MAX: σ = f32::MAX is representable (to the 2 ulp of a square root and a
    // normalization).
    let mut w = [0.0f32; 4];
    w[3] = f32::MAX;
    let m = Matrix::<f32, 2, 2>::new(&w).unwrap();
    let mut sn = SpectralNorm::<f32, 2, 2>::new([1.0, 1.0]).unwrap();
    let s = sn.power_iteration(m, 1).unwrap();
    assert!(s.is_finite() && (s / f32::MAX - 1.0).abs() <= 2.0 * f32::EPSILON);
    let mut out = [0.0f32; 4];
    sn.normalize(m, &mut out).unwrap();
    assert_close(
        "W_bar",
        &out,
        &[0.0, 0.0, 0.0, 1.0],
        0.0,
        2.0 * f32::EPSILON as f64,
    );

    // σ = 3·(MAX/2) does not fit in f32: an error, not inf; u and v stay unit vectors.
    let w = [f32::MAX / 2.0; 9];
    let m = Matrix::<f32, 3, 3>::new(&w).unwrap();
    let mut sn = SpectralNorm::<f32, 3, 3>::new([1.0, 1.0, 1.0]).unwrap();
    assert_eq!(
        sn.power_iteration(m, 1),
        Err(Error::Overflow { what: "sigma" })
    );
    assert!((norm(sn.u()) - 1.0).abs() < 1e-6 && (norm(sn.v()) - 1.0).abs() < 1e-6);
    let e = m.sigma_exact(1e-6, 100);
    assert_eq!(e.map(|e| e.sigma), Err(Error::Overflow { what: "sigma" }));

    let w = [f64::MAX / 4.0, -f64::MAX / 4.0, f64::MAX / 8.0, 0.0];
    let m = Matrix::<f64, 2, 2>::new(&w).unwrap();
    let mut sn = SpectralNorm::<f64, 2, 2>::new([1.0, 0.0]).unwrap();
    let s = sn.power_iteration(m, 30).unwrap();
    let exact = m.sigma_exact(1e-12, 1000).unwrap().sigma;
    assert!(s.is_finite() && (s / exact - 1.0).abs() < 1e-12);
    let mut out = [0.0f64; 4];
    sn.normalize(m, &mut out).unwrap();
    assert!(all_finite(&out));
}

#[test]
fn non_finite_weights_are_errors_and_leave_no_nan() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut w = [1.0f32; 6];
        w[4] = bad;
        let m = Matrix::<f32, 2, 3>::new(&w).unwrap();
        let mut sn = SpectralNorm::<f32, 2, 3>::new([0.6, 0.8]).unwrap();
        assert_eq!(
            sn.power_iteration(m, 1),
            Err(Error::NonFinite {
                what: "weight",
                index: 4
            })
        );
        assert_eq!(sn.u(), &[0.6, 0.8], "u unchanged");
        assert!(all_finite(sn.v()), "v cleared, not NaN");
        assert!(matches!(
            m.sigma_exact(1e-6, 10),
            Err(Error::NonFinite { index: 4, .. })
        ));
        assert!(matches!(
            sn.power_iteration(m, 0),
            Err(Error::NonFinite { .. })
        ));
    }
    // normalize / backward with a NaN that appeared after the last round.
    let good = [1.0f64, 2.0, 3.0, 4.0];
    let mut sn = SpectralNorm::<f64, 2, 2>::new([1.0, 1.0]).unwrap();
    sn.power_iteration(Matrix::new(&good).unwrap(), 3).unwrap();
    let bad = [1.0f64, f64::NAN, 3.0, 4.0];
    let mb = Matrix::<f64, 2, 2>::new(&bad).unwrap();
    let mut out = [0.0; 4];
    assert!(matches!(
        sn.normalize(mb, &mut out),
        Err(Error::NonFinite { index: 1, .. })
    ));
    let mut y = [0.0; 2];
    assert!(matches!(
        sn.apply(mb, &[1.0, 1.0], &mut y),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        sn.normalize_backward(Matrix::new(&good).unwrap(), &bad, &mut out),
        Err(Error::NonFinite {
            what: "grad_wbar",
            ..
        })
    ));
    assert!(SpectralNorm::<f32, 2, 2>::new([f32::NAN, 0.0]).is_err());
    assert!(SpectralNorm::<f64, 2, 1>::from_parts([1.0, 0.0], [f64::INFINITY], 1.0).is_err());
    assert!(matches!(
        lipschitz_bound([1.0f64, f64::NAN]),
        Err(Error::NonFinite { index: 1, .. })
    ));
    assert!(matches!(
        lipschitz_bound([-1.0f64]),
        Err(Error::Negative { .. })
    ));
}

#[test]
fn wrong_lengths_are_errors_naming_expected_and_found() {
    let w = [0.0f32; 10];
    assert_eq!(
        Matrix::<f32, 3, 4>::new(&w).unwrap_err(),
        Error::LengthMismatch {
            what: "weight",
            expected: 12,
            found: 10
        }
    );
    assert_eq!(
        DynMatrix::new(&w, 0, 4).unwrap_err(),
        Error::InvalidShape { rows: 0, cols: 4 }
    );
    assert!(matches!(
        DynMatrix::new(&w, usize::MAX, 2),
        Err(Error::InvalidShape { .. })
    ));
    assert!(DynMatrix::conv(&w, 2, usize::MAX, 2, 2).is_err());
    let m = DynMatrix::new(&w, 2, 5).unwrap();
    let mut sn = DynSpectralNorm::new(vec![1.0f32; 3], vec![0.0f32; 5]).unwrap();
    assert_eq!(
        sn.power_iteration(m, 1),
        Err(Error::LengthMismatch {
            what: "u",
            expected: 2,
            found: 3
        })
    );
    let mut sn = DynSpectralNorm::new(vec![1.0f32; 2], vec![0.0f32; 5]).unwrap();
    let mut out = [0.0f32; 9];
    assert!(matches!(
        sn.normalize(m, &mut out),
        Err(Error::LengthMismatch {
            what: "out",
            expected: 10,
            found: 9
        })
    ));
    let mut y = [0.0f32; 2];
    assert!(m.mul_vec(&[0.0; 4], &mut y).is_err());
    assert!(sn.power_iteration(m, 1).is_ok());
    let e = Error::LengthMismatch {
        what: "weight",
        expected: 12,
        found: 10,
    };
    assert_eq!(
        e.to_string(),
        "weight: expected 12 elements for this shape, found 10"
    );
}

#[test]
fn conv_transpose_view_equals_the_permuted_matrix() {
    // (d_in = 3, d_out = 2, kh = 2, kw = 1) stored as PyTorch/dfdx store ConvTranspose2d.
    let (d_in, d_out, k) = (3, 2, 2);
    let w: Vec<f64> = (0..d_in * d_out * k)
        .map(|i| (i as f64 * 0.7).sin())
        .collect();
    let view = DynMatrix::conv_transpose(&w, d_in, d_out, 2, 1).unwrap();
    // Explicit permutation to (d_out, d_in, kh, kw), row-major d_out × d_in·k.
    let mut permuted = vec![0.0; w.len()];
    for i in 0..d_in {
        for o in 0..d_out {
            for c in 0..k {
                permuted[o * d_in * k + i * k + c] = w[i * d_out * k + o * k + c];
            }
        }
    }
    let dense = DynMatrix::new(&permuted, d_out, d_in * k).unwrap();
    for i in 0..d_out {
        for j in 0..d_in * k {
            assert_eq!(view.get(i, j), dense.get(i, j));
        }
    }
    let u0 = vec![0.3, -0.8];
    let mut a = DynSpectralNorm::new(u0.clone(), vec![0.0; 6]).unwrap();
    let mut b = DynSpectralNorm::new(u0, vec![0.0; 6]).unwrap();
    let (sa, sb) = (
        a.power_iteration(view, 2).unwrap(),
        b.power_iteration(dense, 2).unwrap(),
    );
    assert!((sa - sb).abs() <= 1e-14 * sb);
    assert_close("u", a.u(), b.u(), 1e-14, 0.0);
    let mut ga = vec![0.0; 12];
    let mut gb = vec![0.0; 12];
    let g: Vec<f64> = (0..12).map(|i| i as f64 - 5.5).collect();
    let mut g_perm = vec![0.0; 12];
    for i in 0..d_in {
        for o in 0..d_out {
            for c in 0..k {
                g_perm[o * d_in * k + i * k + c] = g[i * d_out * k + o * k + c];
            }
        }
    }
    a.normalize_backward(view, &g, &mut ga).unwrap();
    b.normalize_backward(dense, &g_perm, &mut gb).unwrap();
    for i in 0..d_in {
        for o in 0..d_out {
            for c in 0..k {
                let (x, y) = (ga[i * d_out * k + o * k + c], gb[o * d_in * k + i * k + c]);
                assert!((x - y).abs() <= 1e-14, "{x} vs {y}");
            }
        }
    }
}

/// Found by the fuzz target: `apply` on subnormal weights must rescale like `normalize`.
#[test]
fn apply_rescales_subnormal_weights() {
    let w = [3.0 * f32::from_bits(1)];
    let m = Matrix::<f32, 1, 1>::new(&w).unwrap();
    let mut sn = SpectralNorm::<f32, 1, 1>::new([1.0]).unwrap();
    sn.power_iteration(m, 1).unwrap();
    let mut y = [0.0f32];
    sn.apply(m, &[0.1], &mut y).unwrap();
    assert!((y[0] - 0.1).abs() <= 1e-6, "W̄x = {}", y[0]);
}

/// Found by the fuzz target: weights near f32::MAX are not an overflow for `apply` and
/// `normalize_backward` (W̄ itself is O(1)).
#[test]
fn apply_and_backward_near_float_max() {
    let w = [3e38f32];
    let m = Matrix::<f32, 1, 1>::new(&w).unwrap();
    let mut sn = SpectralNorm::<f32, 1, 1>::new([1.0]).unwrap();
    sn.power_iteration(m, 1).unwrap();
    let mut y = [0.0f32];
    sn.apply(m, &[2.0], &mut y).unwrap();
    assert!((y[0] - 2.0).abs() <= 1e-6, "W̄x = {}", y[0]);
    let mut g = [1.0f32];
    sn.normalize_backward(m, &[2.0], &mut g).unwrap();
    // W/σ(W) of a 1×1 W is its sign: the gradient is exactly 0.
    assert_eq!(g, [0.0]);
}

/// Found by the fuzz target: a ũ whose Σu² underflows is not mistaken for the zero vector.
#[test]
fn from_parts_rejects_tiny_non_unit_u() {
    assert!(SpectralNorm::<f32, 2, 1>::from_parts([1e-30, 0.0], [1.0], 1.0).is_err());
    assert!(SpectralNorm::<f32, 2, 1>::from_parts([0.0, 0.0], [1.0], 1.0).is_ok());
    assert!(SpectralNorm::<f32, 2, 1>::from_parts([0.6, 0.8], [1.0], 1.0).is_ok());
}

#[test]
fn lipschitz_constant_checks_shape_and_sign() {
    let w = [1.0f64, 0.0, 0.0, 2.0];
    let m = DynMatrix::new(&w, 2, 2).unwrap();
    let sn = DynSpectralNorm::from_parts(vec![1.0f64], vec![1.0, 0.0], 2.5).unwrap();
    assert!(matches!(
        sn.lipschitz_constant(m, 2.0),
        Err(Error::LengthMismatch { what: "u", .. })
    ));
    // A restored state whose vectors point against W gives σ̃ = ũᵀWv < 0 in evaluation mode.
    let mut sn = DynSpectralNorm::from_parts(vec![1.0f64, 0.0], vec![-1.0, 0.0], 1.0).unwrap();
    assert!(sn.power_iteration(m, 0).unwrap() < 0.0);
    assert!(matches!(
        sn.lipschitz_constant(m, 2.0),
        Err(Error::Negative { .. })
    ));
}

/// Found by the fuzz target: restored states with a σ̃ far from σ(W).
#[test]
fn apply_with_restored_sigma_far_from_sigma() {
    // Zero W with a tiny σ̃: W̄x = 0, no panic in the rescaled path.
    let w = [0.0f32];
    let m = Matrix::<f32, 1, 1>::new(&w).unwrap();
    let sn = SpectralNorm::<f32, 1, 1>::from_parts([1.0], [1.0], 1e-30).unwrap();
    let mut y = [1.0f32];
    sn.apply(m, &[1.0], &mut y).unwrap();
    assert_eq!(y, [0.0]);
    // σ̃ = 1e31 for W = 1e-8: W̄x = 1e-8·1e32/1e31 = 1e-7, not 0.
    let w = [1e-8f32];
    let m = Matrix::<f32, 1, 1>::new(&w).unwrap();
    let sn = SpectralNorm::<f32, 1, 1>::from_parts([1.0], [1.0], 1e31).unwrap();
    sn.apply(m, &[1e32], &mut y).unwrap();
    assert!((y[0] / 1e-7 - 1.0).abs() < 1e-5, "W̄x = {}", y[0]);
}

#[test]
fn lipschitz_constant_rejects_invalid_sigma_exact() {
    let w = [2.0f64];
    let m = Matrix::<f64, 1, 1>::new(&w).unwrap();
    let mut sn = SpectralNorm::<f64, 1, 1>::new([1.0]).unwrap();
    sn.power_iteration(m, 1).unwrap();
    let dm = m.as_dyn();
    let dsn = DynSpectralNorm::from_parts(vec![1.0], vec![1.0], 2.0).unwrap();
    assert!(matches!(
        dsn.lipschitz_constant(dm, -2.0),
        Err(Error::Negative { .. })
    ));
    assert!(matches!(
        dsn.lipschitz_constant(dm, f64::NAN),
        Err(Error::NonFinite { .. })
    ));
    assert_eq!(dsn.lipschitz_constant(dm, 2.0).unwrap(), 1.0);
}
