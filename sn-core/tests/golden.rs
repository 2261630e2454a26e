//! Golden-value tests: σ₁, u₁, v₁ from sn-core against an independent SVD (LAPACK via scipy,
//! cross-checked in the generator by a second LAPACK driver and a 40-digit mpmath SVD).
//!
//! The fixture `golden/svd_f64.txt` is written by `golden/make_golden.py` (see
//! `golden/README.md`); it holds dense, convolution and transposed-convolution weights in their
//! storage layout, an ill-conditioned matrix with σ₂/σ₁ = 0.999, and matrices scaled by 1e±150.
//!
//! Run: `cargo test --release -p sn-core --test golden` (add `-- --nocapture` for the per-matrix
//! table of iterations and worst errors).

use sn_core::{DynMatrix, DynSpectralNorm, Matrix};

const FIXTURE: &str = include_str!("golden/svd_f64.txt");
/// Matrices the fixture must hold; a truncated or unparsed fixture fails instead of passing
/// vacuously.
const EXPECTED_CASES: usize = 12;

/// Tolerance of `sigma_exact` (estimated distance of v from v₁).
const EXACT_TOL: f64 = 1e-12;
const EXACT_MAX_ITER: usize = 200_000;
/// Relative error allowed on σ, and max-abs error allowed on the unit vectors u, v.
const SIGMA_RTOL: f64 = 1e-10;
const VEC_TOL: f64 = 1e-10;
/// Cap on power-iteration rounds in the `DynSpectralNorm` convergence test.
const MAX_ROUNDS: usize = 100_000;
/// Largest decrease of σ̃ from one round to the next, relative to σ, put down to rounding.
const MONOTONE_SLACK: f64 = 8.0 * f64::EPSILON;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Dense,
    Conv,
    ConvTranspose,
}

#[derive(Debug)]
struct Case {
    name: String,
    kind: Kind,
    /// Storage dims: dense (d_out, d_in); conv (d_out, d_in, kh, kw); conv_transpose
    /// (d_in, d_out, kh, kw).
    dims: Vec<usize>,
    rows: usize,
    cols: usize,
    data: Vec<f64>,
    sigma: f64,
    sigma2: f64,
    u: Vec<f64>,
    v: Vec<f64>,
}

fn floats(line_no: usize, s: &str) -> Vec<f64> {
    s.split_ascii_whitespace()
        .map(|t| {
            t.parse::<f64>()
                .unwrap_or_else(|e| panic!("fixture line {line_no}: bad float {t:?}: {e}"))
        })
        .collect()
}

fn one_float(line_no: usize, s: &str) -> f64 {
    let v = floats(line_no, s);
    assert_eq!(v.len(), 1, "fixture line {line_no}: expected one float");
    v[0]
}

fn one_usize(line_no: usize, s: &str) -> usize {
    s.trim()
        .parse()
        .unwrap_or_else(|e| panic!("fixture line {line_no}: bad integer {s:?}: {e}"))
}

/// Parses the fixture; any malformed, missing, duplicate or unknown field panics with its line.
fn parse(text: &str) -> Vec<Case> {
    #[derive(Default)]
    struct Partial {
        name: Option<String>,
        kind: Option<Kind>,
        dims: Option<Vec<usize>>,
        rows: Option<usize>,
        cols: Option<usize>,
        data: Option<Vec<f64>>,
        sigma: Option<f64>,
        sigma2: Option<f64>,
        u: Option<Vec<f64>>,
        v: Option<Vec<f64>>,
    }
    fn set<T>(slot: &mut Option<T>, value: T, key: &str, line_no: usize) {
        assert!(slot.is_none(), "fixture line {line_no}: duplicate {key:?}");
        *slot = Some(value);
    }
    let mut cases = Vec::new();
    let mut header_count = None;
    let mut cur: Option<Partial> = None;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(n) = comment.trim().strip_prefix("matrices ") {
                header_count = Some(one_usize(line_no, n));
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        if key == "name" {
            assert!(cur.is_none(), "fixture line {line_no}: 'name' before 'end'");
            cur = Some(Partial {
                name: Some(rest.trim().to_string()),
                ..Partial::default()
            });
            continue;
        }
        let p = cur
            .as_mut()
            .unwrap_or_else(|| panic!("fixture line {line_no}: {key:?} outside a block"));
        match key {
            "kind" => {
                let k = match rest.trim() {
                    "dense" => Kind::Dense,
                    "conv" => Kind::Conv,
                    "conv_transpose" => Kind::ConvTranspose,
                    other => panic!("fixture line {line_no}: unknown kind {other:?}"),
                };
                set(&mut p.kind, k, key, line_no);
            }
            "dims" => {
                let d = rest
                    .split_ascii_whitespace()
                    .map(|t| one_usize(line_no, t))
                    .collect();
                set(&mut p.dims, d, key, line_no);
            }
            "rows" => set(&mut p.rows, one_usize(line_no, rest), key, line_no),
            "cols" => set(&mut p.cols, one_usize(line_no, rest), key, line_no),
            "data" => set(&mut p.data, floats(line_no, rest), key, line_no),
            "sigma" => set(&mut p.sigma, one_float(line_no, rest), key, line_no),
            "sigma2" => set(&mut p.sigma2, one_float(line_no, rest), key, line_no),
            "u" => set(&mut p.u, floats(line_no, rest), key, line_no),
            "v" => set(&mut p.v, floats(line_no, rest), key, line_no),
            "end" => {
                let p = cur.take().unwrap();
                let missing = |f: &str| format!("fixture line {line_no}: block lacks {f:?}");
                let case = Case {
                    name: p.name.expect("name"),
                    kind: p.kind.unwrap_or_else(|| panic!("{}", missing("kind"))),
                    dims: p.dims.unwrap_or_else(|| panic!("{}", missing("dims"))),
                    rows: p.rows.unwrap_or_else(|| panic!("{}", missing("rows"))),
                    cols: p.cols.unwrap_or_else(|| panic!("{}", missing("cols"))),
                    data: p.data.unwrap_or_else(|| panic!("{}", missing("data"))),
                    sigma: p.sigma.unwrap_or_else(|| panic!("{}", missing("sigma"))),
                    sigma2: p.sigma2.unwrap_or_else(|| panic!("{}", missing("sigma2"))),
                    u: p.u.unwrap_or_else(|| panic!("{}", missing("u"))),
                    v: p.v.unwrap_or_else(|| panic!("{}", missing("v"))),
                };
                validate(&case);
                cases.push(case);
            }
            other => panic!("fixture line {line_no}: unknown key {other:?}"),
        }
    }
    assert!(cur.is_none(), "fixture ends inside a block (no 'end')");
    assert_eq!(
        header_count,
        Some(cases.len()),
        "fixture header '# matrices N' disagrees with the blocks parsed"
    );
    cases
}

/// Shape consistency of one parsed block.
fn validate(c: &Case) {
    let want_dims = match c.kind {
        Kind::Dense => 2,
        Kind::Conv | Kind::ConvTranspose => 4,
    };
    assert_eq!(c.dims.len(), want_dims, "{}: dims {:?}", c.name, c.dims);
    let (rows, cols) = match c.kind {
        Kind::Dense => (c.dims[0], c.dims[1]),
        Kind::Conv => (c.dims[0], c.dims[1] * c.dims[2] * c.dims[3]),
        Kind::ConvTranspose => (c.dims[1], c.dims[0] * c.dims[2] * c.dims[3]),
    };
    assert_eq!(
        (rows, cols),
        (c.rows, c.cols),
        "{}: rows/cols vs dims",
        c.name
    );
    assert_eq!(c.data.len(), rows * cols, "{}: data length", c.name);
    assert_eq!(c.u.len(), rows, "{}: u length", c.name);
    assert_eq!(c.v.len(), cols, "{}: v length", c.name);
    assert!(
        c.sigma.is_finite() && c.sigma > 0.0 && c.sigma2 >= 0.0 && c.sigma2 < c.sigma,
        "{}: sigma {} sigma2 {}",
        c.name,
        c.sigma,
        c.sigma2
    );
}

fn cases() -> Vec<Case> {
    let cases = parse(FIXTURE);
    assert_eq!(
        cases.len(),
        EXPECTED_CASES,
        "fixture parsed to {} matrices, expected {EXPECTED_CASES}",
        cases.len()
    );
    cases
}

/// The sn-core view of a case, built from its storage data with the constructor for its kind.
fn view(c: &Case) -> DynMatrix<'_, f64> {
    let d = &c.dims;
    let m = match c.kind {
        Kind::Dense => DynMatrix::new(&c.data, d[0], d[1]),
        Kind::Conv => DynMatrix::conv(&c.data, d[0], d[1], d[2], d[3]),
        Kind::ConvTranspose => DynMatrix::conv_transpose(&c.data, d[0], d[1], d[2], d[3]),
    }
    .unwrap_or_else(|e| panic!("{}: building the view: {e}", c.name));
    assert_eq!(
        (m.rows(), m.cols()),
        (c.rows, c.cols),
        "{}: view shape",
        c.name
    );
    m
}

/// Matrix element (i, j) straight from the storage dims (independent of sn-core's indexing):
/// column j = (ci·kh + y)·kw + x; conv_transpose stores W[ci, i, y, x].
fn element(c: &Case, i: usize, j: usize) -> f64 {
    match c.kind {
        Kind::Dense | Kind::Conv => c.data[i * c.cols + j],
        Kind::ConvTranspose => {
            let (d_out, kh, kw) = (c.dims[1], c.dims[2], c.dims[3]);
            let (ci, y, x) = (j / (kh * kw), (j / kw) % kh, j % kw);
            c.data[((ci * d_out + i) * kh + y) * kw + x]
        }
    }
}

/// Flips u and v together so that u's largest-|.| entry (first on ties) is positive.
fn sign_normalize(u: &mut [f64], v: &mut [f64]) {
    let mut k = 0;
    for i in 1..u.len() {
        if u[i].abs() > u[k].abs() {
            k = i;
        }
    }
    if u[k] < 0.0 {
        u.iter_mut().for_each(|x| *x = -*x);
        v.iter_mut().for_each(|x| *x = -*x);
    }
}

/// Max-abs distance between `got` and `want`: `Ok(worst)` within `tol`, otherwise an error
/// naming the worst element, both values and the tolerance.
fn check_close(what: &str, got: &[f64], want: &[f64], tol: f64) -> Result<f64, String> {
    if got.len() != want.len() {
        return Err(format!("{what}: length {} != {}", got.len(), want.len()));
    }
    let (mut worst, mut at) = (0.0_f64, 0);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let e = (g - w).abs();
        // A NaN error counts as worse than anything.
        if e.is_nan() || e > worst {
            worst = e;
            at = i;
            if e.is_nan() {
                break;
            }
        }
    }
    if worst <= tol {
        Ok(worst)
    } else {
        let (g, w) = (got[at], want[at]);
        Err(format!(
            "{what}: max |got - want| = {worst:.3e} > tol {tol:.1e} at index {at}: \
             got {g:e}, want {w:e}"
        ))
    }
}

/// Relative error of a scalar, as `check_close` does for vectors.
fn check_rel(what: &str, got: f64, want: f64, rtol: f64) -> Result<f64, String> {
    let e = (got - want).abs() / want.abs();
    if e <= rtol {
        Ok(e)
    } else {
        Err(format!(
            "{what}: |got - want|/|want| = {e:.3e} > rtol {rtol:.1e}: got {got:e}, want {want:e}"
        ))
    }
}

#[track_caller]
fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    if let Err(msg) = check_close(what, got, want, tol) {
        panic!("{msg}");
    }
}

/// Collects every case's failures so that one run reports all of them.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn note<T>(&mut self, case: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(x) => Some(x),
            Err(msg) => {
                self.0.push(format!("{case}: {msg}"));
                None
            }
        }
    }
    fn fail(&mut self, case: &str, msg: String) {
        self.0.push(format!("{case}: {msg}"));
    }
    #[track_caller]
    fn finish(self, checked: usize) {
        assert_eq!(
            checked, EXPECTED_CASES,
            "not every fixture case was checked"
        );
        assert!(
            self.0.is_empty(),
            "{} failure(s):\n  {}",
            self.0.len(),
            self.0.join("\n  ")
        );
    }
}

fn fmt_err(x: Option<f64>) -> String {
    x.map_or_else(|| "FAIL".to_string(), |e| format!("{e:.2e}"))
}

/// A fixed start vector (xorshift64*, entries in [-1, 1); `DynSpectralNorm::new` normalizes
/// it), unrelated to the fixture's singular vectors and to sn-core's own start vector.
fn start_u(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let r = s.wrapping_mul(0x2545_F491_4F6C_DD1D);
            (r >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

#[test]
fn fixture_is_complete_and_consistent() {
    let cases = cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "duplicate case names");
    for kind in [Kind::Dense, Kind::Conv, Kind::ConvTranspose] {
        assert!(cases.iter().any(|c| c.kind == kind), "no {kind:?} case");
    }
    // The cases the generator promises: 1×1, 1×7, 7×1, huge and tiny scales, a near-tie gap.
    for (r, c) in [(1, 1), (1, 7), (7, 1), (3, 5), (16, 16), (64, 27), (10, 40)] {
        assert!(
            cases
                .iter()
                .any(|k| k.kind == Kind::Dense && (k.rows, k.cols) == (r, c)),
            "no dense {r}x{c} case"
        );
    }
    assert!(cases.iter().any(|c| c.sigma > 1e140), "no huge-scale case");
    assert!(cases.iter().any(|c| c.sigma < 1e-140), "no tiny-scale case");
    assert!(
        cases.iter().any(|c| c.sigma2 / c.sigma > 0.998),
        "no case with sigma2/sigma1 close to 1"
    );

    let mut checked = 0;
    for c in &cases {
        let m = view(c);
        // The sn-core view agrees element by element with the storage layout read directly.
        for i in 0..c.rows {
            for j in 0..c.cols {
                assert_eq!(
                    m.get(i, j),
                    Some(element(c, i, j)),
                    "{}: element ({i}, {j})",
                    c.name
                );
            }
        }
        // The reference is a singular triplet of the matrix read this way (naive sums, no
        // sn-core kernel): W v = σ u and Wᵀ u = σ v, and u, v are unit.
        let wv: Vec<f64> = (0..c.rows)
            .map(|i| (0..c.cols).map(|j| element(c, i, j) * c.v[j]).sum::<f64>() / c.sigma)
            .collect();
        let wtu: Vec<f64> = (0..c.cols)
            .map(|j| (0..c.rows).map(|i| element(c, i, j) * c.u[i]).sum::<f64>() / c.sigma)
            .collect();
        assert_close(
            &format!("{}: W v_ref / sigma_ref vs u_ref", c.name),
            &wv,
            &c.u,
            1e-13,
        );
        assert_close(
            &format!("{}: W^T u_ref / sigma_ref vs v_ref", c.name),
            &wtu,
            &c.v,
            1e-13,
        );
        let nu = c.u.iter().map(|x| x * x).sum::<f64>().sqrt();
        let nv = c.v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!(
            (nu - 1.0).abs() < 1e-14 && (nv - 1.0).abs() < 1e-14,
            "{}: norms",
            c.name
        );
        // The reference already follows the sign convention.
        let (mut u, mut v) = (c.u.clone(), c.v.clone());
        sign_normalize(&mut u, &mut v);
        assert_eq!(
            (&u, &v),
            (&c.u, &c.v),
            "{}: reference sign convention",
            c.name
        );
        checked += 1;
    }
    assert_eq!(checked, EXPECTED_CASES);
}

#[test]
fn sigma_exact_matches_svd() {
    let cases = cases();
    let mut failures = Failures::default();
    let mut checked = 0;
    println!(
        "{:24} {:>7} {:>10} {:>6} {:>9} {:>9} {:>9}",
        "sigma_exact", "shape", "s2/s1", "iters", "sigma", "u", "v"
    );
    for c in &cases {
        let m = view(c);
        let (mut u, mut v, mut work) = (vec![0.0; c.rows], vec![0.0; c.cols], vec![0.0; c.cols]);
        let conv = match m.sigma_exact(EXACT_TOL, EXACT_MAX_ITER, &mut u, &mut v, &mut work) {
            Ok(conv) => conv,
            Err(e) => {
                failures.fail(&c.name, format!("sigma_exact returned {e}"));
                checked += 1;
                continue;
            }
        };
        if !conv.converged {
            failures.fail(
                &c.name,
                format!("not converged after {} iterations", conv.iterations),
            );
        }
        let es = failures.note(&c.name, check_rel("sigma", conv.sigma, c.sigma, SIGMA_RTOL));
        sign_normalize(&mut u, &mut v);
        let eu = failures.note(&c.name, check_close("u", &u, &c.u, VEC_TOL));
        let ev = failures.note(&c.name, check_close("v", &v, &c.v, VEC_TOL));
        println!(
            "{:24} {:>7} {:>10.6} {:>6} {:>9} {:>9} {:>9}",
            c.name,
            format!("{}x{}", c.rows, c.cols),
            c.sigma2 / c.sigma,
            conv.iterations,
            fmt_err(es),
            fmt_err(eu),
            fmt_err(ev)
        );
        checked += 1;
    }
    failures.finish(checked);
}

#[test]
fn power_iteration_one_round_and_fixed_point() {
    let cases = cases();
    let mut failures = Failures::default();
    let mut checked = 0;
    println!(
        "{:24} {:>10} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "power_iteration", "1-round", "rounds(s)", "rounds(uv)", "max drop", "sigma", "u", "v"
    );
    for (n, c) in cases.iter().enumerate() {
        let m = view(c);
        let u0 = start_u(c.rows, 0x5EED_0000 + n as u64);
        let mut sn = DynSpectralNorm::new(u0, vec![0.0; c.cols]).unwrap();
        let upper = c.sigma * (1.0 + 1e-12);

        // One round (eq. 20–22) under-estimates σ.
        let one = match sn.power_iteration(m, 1) {
            Ok(s) => s,
            Err(e) => {
                failures.fail(&c.name, format!("power_iteration returned {e}"));
                checked += 1;
                continue;
            }
        };
        if !(one > 0.0 && one <= upper) {
            failures.fail(
                &c.name,
                format!("one-round sigma {one:e} not in (0, sigma_ref (1 + 1e-12)] = {upper:e}"),
            );
        }

        // Recycling ũ: σ̃ stays below σ and reaches it; then u, v reach u₁, v₁.
        let (mut rounds_sigma, mut rounds_vec) = (None, None);
        let mut last = one;
        let mut rounds = 1;
        let mut bad_bound = None;
        let mut max_drop = 0.0_f64;
        while rounds < MAX_ROUNDS {
            let close_s = (last - c.sigma).abs() <= SIGMA_RTOL * c.sigma;
            if close_s && rounds_sigma.is_none() {
                rounds_sigma = Some(rounds);
            }
            if close_s {
                let (mut u, mut v) = (sn.u().to_vec(), sn.v().to_vec());
                sign_normalize(&mut u, &mut v);
                if check_close("u", &u, &c.u, VEC_TOL).is_ok()
                    && check_close("v", &v, &c.v, VEC_TOL).is_ok()
                {
                    rounds_vec = Some(rounds);
                    break;
                }
            }
            let prev = last;
            last = sn.power_iteration(m, 1).unwrap();
            rounds += 1;
            max_drop = max_drop.max((prev - last) / c.sigma);
            if last > upper && bad_bound.is_none() {
                bad_bound = Some((rounds, last));
            }
        }
        if let Some((r, s)) = bad_bound {
            failures.fail(
                &c.name,
                format!("round {r}: sigma {s:e} above sigma_ref (1 + 1e-12) = {upper:e}"),
            );
        }
        if rounds_sigma.is_none() {
            failures.fail(
                &c.name,
                format!("sigma not within {SIGMA_RTOL:e} after {MAX_ROUNDS} rounds: {last:e}"),
            );
        }
        // Final state against the reference, with the worst element on failure.
        let es = failures.note(&c.name, check_rel("sigma", last, c.sigma, SIGMA_RTOL));
        let (mut u, mut v) = (sn.u().to_vec(), sn.v().to_vec());
        sign_normalize(&mut u, &mut v);
        let eu = failures.note(&c.name, check_close("u (power)", &u, &c.u, VEC_TOL));
        let ev = failures.note(&c.name, check_close("v (power)", &v, &c.v, VEC_TOL));
        // The stored σ̃ and eval-mode σ̃ = ũᵀWv (0 rounds) agree with the last round.
        assert_eq!(sn.sigma(), last, "{}: stored sigma", c.name);
        let eval = sn.power_iteration(m, 0).unwrap();
        failures.note(
            &c.name,
            check_rel("eval-mode sigma", eval, c.sigma, SIGMA_RTOL),
        );
        // σ̃ never decreases in exact arithmetic; allow a few ulps of rounding.
        if max_drop > MONOTONE_SLACK {
            failures.fail(
                &c.name,
                format!(
                    "sigma decreased by {max_drop:e}·sigma_ref between rounds \
                     (> {MONOTONE_SLACK:e})"
                ),
            );
        }
        println!(
            "{:24} {:>10.3e} {:>9} {:>10} {:>9.2e} {:>9} {:>9} {:>9}",
            c.name,
            (c.sigma - one) / c.sigma,
            rounds_sigma.map_or("-".into(), |r| r.to_string()),
            rounds_vec.map_or("-".into(), |r| r.to_string()),
            max_drop,
            fmt_err(es),
            fmt_err(eu),
            fmt_err(ev)
        );
        checked += 1;
    }
    failures.finish(checked);
}

/// The const-generic `Matrix` constructors of the convolution layouts give the same triplet.
#[test]
fn const_generic_conv_views_match_svd() {
    let cases = cases();
    let find = |name: &str| {
        cases
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("fixture lacks {name}"))
    };
    let conv = find("conv_8x3x3x3");
    let m = Matrix::<f64, 8, 27>::conv::<3, 3, 3>(&conv.data).unwrap();
    let mut e = m.sigma_exact(EXACT_TOL, EXACT_MAX_ITER).unwrap();
    assert!(e.converged, "conv: not converged");
    check_rel("conv sigma", e.sigma, conv.sigma, SIGMA_RTOL).unwrap();
    sign_normalize(&mut e.u, &mut e.v);
    assert_close("conv u", &e.u, &conv.u, VEC_TOL);
    assert_close("conv v", &e.v, &conv.v, VEC_TOL);

    let convt = find("conv_transpose_4x6x2x2");
    let m = Matrix::<f64, 6, 16>::conv_transpose::<4, 2, 2>(&convt.data).unwrap();
    let mut e = m.sigma_exact(EXACT_TOL, EXACT_MAX_ITER).unwrap();
    assert!(e.converged, "conv_transpose: not converged");
    check_rel("conv_transpose sigma", e.sigma, convt.sigma, SIGMA_RTOL).unwrap();
    sign_normalize(&mut e.u, &mut e.v);
    assert_close("conv_transpose u", &e.u, &convt.u, VEC_TOL);
    assert_close("conv_transpose v", &e.v, &convt.v, VEC_TOL);
}

/// The helpers themselves can fail (so a passing run is not vacuous).
#[test]
fn helpers_detect_mismatches() {
    let err = check_close("x", &[1.0, 2.0, 3.0], &[1.0, 2.5, 3.0], 1e-10).unwrap_err();
    assert!(
        err.contains("index 1") && err.contains("tol 1.0e-10"),
        "{err}"
    );
    assert!(check_close("x", &[f64::NAN], &[0.0], 1.0).is_err());
    assert!(check_close("x", &[0.0], &[0.0, 1.0], 1.0).is_err());
    assert!(check_rel("s", 1.0 + 1e-9, 1.0, 1e-10).is_err());
    assert!(check_rel("s", 1.0 + 1e-11, 1.0, 1e-10).is_ok());
    let (mut u, mut v) = (vec![0.5, -0.9], vec![1.0, -2.0]);
    sign_normalize(&mut u, &mut v);
    assert_eq!((u, v), (vec![-0.5, 0.9], vec![-1.0, 2.0]));
}

#[test]
#[should_panic(expected = "block lacks")]
fn parser_rejects_incomplete_block() {
    parse("# matrices 1\nname x\nkind dense\nend\n");
}

#[test]
#[should_panic(expected = "disagrees with the blocks parsed")]
fn parser_rejects_missing_blocks() {
    parse("# matrices 1\n");
}
