#!/usr/bin/env python3
"""Generate sn-core/tests/golden/svd_f64.txt: golden top singular triplets (sigma_1, u_1, v_1)
of a fixed set of f64 weight matrices, computed by LAPACK (scipy.linalg.svd, gesdd) and checked
against a second LAPACK driver (gesvd) and, when mpmath is installed, a 40-digit mpmath SVD.

Rerun from the workspace root (deterministic: the output is byte-identical on every run with the
same numpy/scipy):

    python3 sn-core/tests/golden/make_golden.py

The fixture is consumed by sn-core/tests/golden.rs (include_str!).

What is generated (seed SEED, numpy PCG64 standard normals):
  * dense weights (d_out, d_in): 1x1, 1x7, 7x1, 3x5, 16x16, 64x27, 10x40;
  * a convolution weight (d_out=8, d_in=3, kh=3, kw=3), matrix 8x27 = W.reshape(8, 27);
  * a transposed-convolution weight stored (d_in=4, d_out=6, kh=2, kw=2), matrix 6x16 =
    W.transpose(1, 0, 2, 3).reshape(6, 16) (rows are dim 1, the output channels);
  * an ill-conditioned 20x12 matrix U diag(s) V^T with s = [10, 9.99, 1e-3, 1e-4, ..., 1e-12]
    (sigma_2/sigma_1 = 0.999, condition number 1e13);
  * a 9x13 random matrix scaled by 1e150 and a 13x9 one scaled by 1e-150.
Random matrices whose relative gap (sigma_1 - sigma_2)/sigma_1 is below 1e-3, or whose u_1 has
two entries of nearly equal magnitude (the sign convention below would be ambiguous), are
redrawn. The references are the SVD of the stored (rounded) data, not of the prescribed factors.

Sign convention: u_1's largest-|.| entry is positive; v_1 is flipped together with u_1.

Format: '#' lines are comments; each matrix is a block of lines
    name <name>
    kind dense|conv|conv_transpose
    dims <storage dims>      dense: d_out d_in; conv: d_out d_in kh kw;
                             conv_transpose: d_in d_out kh kw (storage order)
    rows <r>                 matrix rows (d_out)
    cols <c>                 matrix cols (d_in*kh*kw)
    data <floats>            weight in storage order (row-major over dims)
    sigma <float>            sigma_1
    sigma2 <float>           sigma_2 (0 when min(rows, cols) = 1)
    u <floats>               u_1 (length rows)
    v <floats>               v_1 (length cols)
    end
Floats are Python repr() of f64 (shortest round-trip form), so they parse back exactly.
"""

import os
import sys

import numpy as np
import scipy
import scipy.linalg

SEED = 20180216  # ICLR 2018 submission date of the SN-GAN paper
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "svd_f64.txt")

MIN_REL_GAP = 1e-3  # (sigma1 - sigma2) / sigma1 below this: redraw
MIN_SIGN_MARGIN = 1e-6  # |u|_(1) - |u|_(2) below this: redraw (ambiguous sign convention)


def top_triplet(a):
    """sigma1, sigma2, u1, v1 of a (2-D float64), sign-normalized, via scipy gesdd."""
    u, s, vt = scipy.linalg.svd(a, full_matrices=False, lapack_driver="gesdd")
    u1, v1 = u[:, 0].copy(), vt[0, :].copy()
    k = int(np.argmax(np.abs(u1)))
    if u1[k] < 0:
        u1, v1 = -u1, -v1
    s2 = float(s[1]) if len(s) > 1 else 0.0
    return float(s[0]), s2, u1, v1


def sign_margin(u1):
    if len(u1) < 2:
        return np.inf
    m = np.sort(np.abs(u1))[::-1]
    return float(m[0] - m[1])


def acceptable(mat):
    s1, s2, u1, _ = top_triplet(mat)
    return (s1 - s2) / s1 >= MIN_REL_GAP and sign_margin(u1) >= MIN_SIGN_MARGIN


def draw(rng, shape, to_matrix, scale=1.0):
    """Standard-normal storage array of `shape` (times `scale`), redrawn until acceptable."""
    while True:
        w = rng.standard_normal(shape) * scale
        if acceptable(to_matrix(w)):
            return w


def check(name, mat, s1, s2, u1, v1):
    """Independent checks of the reference; raise on disagreement."""
    # Residuals of the singular triplet.
    r1 = np.linalg.norm(mat @ v1 - s1 * u1) / s1
    r2 = np.linalg.norm(mat.T @ u1 - s1 * v1) / s1
    assert r1 < 1e-13 and r2 < 1e-13, (name, r1, r2)
    assert abs(np.linalg.norm(u1) - 1) < 1e-14 and abs(np.linalg.norm(v1) - 1) < 1e-14, name
    # A second LAPACK driver (bidiagonal QR iteration instead of divide and conquer).
    u, s, vt = scipy.linalg.svd(mat, full_matrices=False, lapack_driver="gesvd")
    g_u, g_v = u[:, 0], vt[0, :]
    k = int(np.argmax(np.abs(u1)))
    if g_u[k] < 0:
        g_u, g_v = -g_u, -g_v
    gap = (s1 - s2) / s1
    vec_tol = 1e-13 / gap + 1e-14
    assert abs(s[0] - s1) <= 1e-14 * s1, (name, s[0], s1)
    assert np.max(np.abs(g_u - u1)) <= vec_tol and np.max(np.abs(g_v - v1)) <= vec_tol, name
    # 40-digit mpmath SVD of the same stored data, when available.
    try:
        import mpmath as mp
    except ImportError:
        return "gesvd"
    mp.mp.dps = 40
    # Scale by an exact power of two so mpmath works near 1 (its own range is unlimited anyway).
    e = int(np.frexp(np.max(np.abs(mat)))[1])
    am = mp.matrix([[mp.ldexp(mp.mpf(float(x)), -e) for x in row] for row in mat])
    mu, ms, mv = mp.svd_r(am)
    i = max(range(len(ms)), key=lambda j: ms[j])
    m_s1 = float(mp.ldexp(ms[i], e))
    m_u = np.array([float(mu[r, i]) for r in range(mat.shape[0])])
    m_v = np.array([float(mv[i, c]) for c in range(mat.shape[1])])
    if m_u[k] < 0:
        m_u, m_v = -m_u, -m_v
    assert abs(m_s1 - s1) <= 1e-14 * s1, (name, m_s1, s1)
    assert np.max(np.abs(m_u - u1)) <= vec_tol and np.max(np.abs(m_v - v1)) <= vec_tol, name
    return "gesvd+mpmath"


def fmt(xs):
    return " ".join(repr(float(x)) for x in np.asarray(xs, dtype=np.float64).ravel())


def main():
    rng = np.random.default_rng(SEED)
    cases = []  # (name, kind, dims, storage array, matrix view)

    ident = lambda w: w  # noqa: E731
    for r, c in [(1, 1), (1, 7), (7, 1), (3, 5), (16, 16), (64, 27), (10, 40)]:
        w = draw(rng, (r, c), ident)
        cases.append((f"dense_{r}x{c}", "dense", (r, c), w, w))

    conv_mat = lambda w: w.reshape(w.shape[0], -1)  # noqa: E731
    w = draw(rng, (8, 3, 3, 3), conv_mat)
    cases.append(("conv_8x3x3x3", "conv", w.shape, w, conv_mat(w)))

    convt_mat = lambda w: w.transpose(1, 0, 2, 3).reshape(w.shape[1], -1)  # noqa: E731
    w = draw(rng, (4, 6, 2, 2), convt_mat)
    cases.append(("conv_transpose_4x6x2x2", "conv_transpose", w.shape, w, convt_mat(w)))

    # Ill-conditioned: prescribed singular values, random orthogonal factors.
    m, n = 20, 12
    s = np.array([10.0, 9.99] + [10.0 ** -k for k in range(3, 13)])
    qu, _ = np.linalg.qr(rng.standard_normal((m, n)))
    qv, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w = (qu * s) @ qv.T
    cases.append(("ill_conditioned_20x12", "dense", w.shape, w, w))

    w = draw(rng, (9, 13), ident, scale=1e150)
    cases.append(("huge_9x13_e150", "dense", w.shape, w, w))
    w = draw(rng, (13, 9), ident, scale=1e-150)
    cases.append(("tiny_13x9_em150", "dense", w.shape, w, w))

    lines = [
        "# Golden top singular triplets for sn-core/tests/golden.rs.",
        "# Generated by sn-core/tests/golden/make_golden.py (do not edit by hand);",
        "# rerun: python3 sn-core/tests/golden/make_golden.py",
        f"# seed {SEED}; numpy {np.__version__}; scipy {scipy.__version__}",
        f"# matrices {len(cases)}",
    ]
    report = []
    for name, kind, dims, w, mat in cases:
        mat = np.ascontiguousarray(mat, dtype=np.float64)
        s1, s2, u1, v1 = top_triplet(mat)
        gap = (s1 - s2) / s1
        # The prescribed ill-conditioned gap is 1e-3 up to rounding of the stored data.
        assert gap >= MIN_REL_GAP * (1 - 1e-9), (name, gap)
        assert sign_margin(u1) >= MIN_SIGN_MARGIN, name
        how = check(name, mat, s1, s2, u1, v1)
        r, c = mat.shape
        lines += [
            f"name {name}",
            f"kind {kind}",
            "dims " + " ".join(str(d) for d in dims),
            f"rows {r}",
            f"cols {c}",
            "data " + fmt(w),
            f"sigma {s1!r}",
            f"sigma2 {s2!r}",
            "u " + fmt(u1),
            "v " + fmt(v1),
            "end",
        ]
        report.append(f"{name:24s} {r:3d}x{c:<3d} sigma1={s1:.6e} gap={gap:.3e} checked:{how}")
    with open(OUT, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(report), file=sys.stderr)
    print(f"wrote {len(cases)} matrices to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
