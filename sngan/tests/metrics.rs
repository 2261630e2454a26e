//! IS, FID and `.npz` against golden values from the reference implementations
//! (sngan/scripts/metrics_golden.py: scipy.linalg.sqrtm as pytorch-fid uses it, numpy's
//! improved-GAN Inception score), from committed fixtures only.

use std::path::{Path, PathBuf};

use sngan::metrics::npz::{self, NpyArray, NpyData};
use sngan::metrics::{self, fid, FidStats, Protocol};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/metrics")
        .join(name)
}

fn golden() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("golden.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The float arrays of features.npz (written by numpy's `np.savez`: stored entries).
fn features() -> Vec<(String, Vec<usize>, Vec<f64>)> {
    npz::read(&fixture("features.npz"))
        .unwrap()
        .into_iter()
        .map(|(k, a)| match a.data {
            NpyData::F64(v) => (k, a.shape, v),
            NpyData::Str(_) => panic!("{k} is a string array"),
        })
        .collect()
}

fn feature(name: &str) -> (Vec<usize>, Vec<f64>) {
    let (_, s, v) = features().into_iter().find(|(k, _, _)| k == name).unwrap();
    (s, v)
}

fn stats(name: &str) -> FidStats {
    let (shape, v) = feature(name);
    fid::stats_of(&v, shape[1]).unwrap()
}

/// Tolerance 1e-6 relative to the scale of the terms FID is a difference of (‖Δμ‖² + tr Σ₁ +
/// tr Σ₂), and to the value itself where it is not near zero: eigendecomposition and Schur
/// square root agree to ~1e-12 relative on well-conditioned data; rank-deficient covariances
/// (N < d) leave eigenvalues at the rounding level, whose square roots (~1e-8 × scale) are what
/// the two methods may legitimately disagree on.
fn check_fid(name: &str, got: f64, want: f64, a: &FidStats, b: &FidStats) {
    let d = a.dim();
    let tr = |s: &FidStats| (0..d).map(|i| s.sigma[i * d + i]).sum::<f64>();
    let dmu: f64 = a.mu.iter().zip(&b.mu).map(|(x, y)| (x - y).powi(2)).sum();
    let scale = dmu + tr(a) + tr(b);
    let err = (got - want).abs();
    eprintln!(
        "{name}: FID {got} vs scipy {want}: error {err:.2e}, {:.2e} x scale",
        err / scale
    );
    assert!(
        err <= 1e-6 * scale,
        "{name}: FID {got} vs scipy {want}: error {err:e} > 1e-6 x scale {scale}"
    );
    if want.abs() > 1e-3 * scale {
        assert!(
            err <= 1e-6 * want.abs(),
            "{name}: FID {got} vs scipy {want}: relative error {:e} > 1e-6",
            err / want.abs()
        );
    }
}

#[test]
fn statistics_match_numpy_cov() {
    // stats_a.npz: np.mean and np.cov(rowvar=False) of set a, written by np.savez_compressed
    // (deflated entries). Tolerance 1e-12 relative to max|Σ|: two f64 summation orders.
    let (reference, protocol) = metrics::read_stats(&fixture("stats_a.npz")).unwrap();
    assert!(protocol.is_none(), "numpy-written file has no sngan keys");
    let ours = stats("a");
    let scale = reference.sigma.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (x, y) in ours.mu.iter().zip(&reference.mu) {
        assert!((x - y).abs() <= 1e-12 * scale, "mu {x} vs {y}");
    }
    for (x, y) in ours.sigma.iter().zip(&reference.sigma) {
        assert!((x - y).abs() <= 1e-12 * scale, "sigma {x} vs {y}");
    }
}

#[test]
fn fid_matches_scipy_sqrtm() {
    let g = golden();
    for (name, x, y) in [
        ("a_b", "a", "b"),
        ("c_e", "c", "e"),
        ("a_c", "a", "c"),
        ("a_a", "a", "a"),
    ] {
        let (a, b) = (stats(x), stats(y));
        let want = &g["fid"][name];
        // The fixture records that scipy (like this crate) did not need the 1e-6·I fallback.
        assert_eq!(want["scipy_needed_offset"], false, "{name}");
        let got = metrics::frechet_distance(&a, &b).unwrap();
        assert!(!got.offset_used, "{name}");
        check_fid(name, got.value, want["value"].as_f64().unwrap(), &a, &b);
        // The fallback branch on its own: sqrtm((Σ1 + 1e-6 I)(Σ2 + 1e-6 I)).
        let off = fid::frechet_distance_with_offset(&a, &b, fid::FID_EPS).unwrap();
        check_fid(name, off, want["with_offset"].as_f64().unwrap(), &a, &b);
    }
}

#[test]
fn fid_rank_deficient_case_is_really_rank_deficient() {
    // c and e have 6 and 8 samples in 16 dimensions: the test above covers N < d only if so.
    assert_eq!(feature("c").0, vec![6, 16]);
    assert_eq!(feature("e").0, vec![8, 16]);
}

#[test]
fn inception_score_matches_numpy() {
    // Tolerance 1e-10 relative: both sides compute softmax, logs and means in f64 from the
    // same float32 logits; only summation order differs.
    let g = golden();
    let (shape, logits) = feature("logits");
    let logits: Vec<f32> = logits.iter().map(|&v| v as f32).collect();
    for (key, splits) in [("splits10", 10), ("splits1", 1)] {
        let s = metrics::inception_score(&logits, shape[1], splits).unwrap();
        let mean = g["is"][key]["mean"].as_f64().unwrap();
        let std = g["is"][key]["std"].as_f64().unwrap();
        assert!(
            (s.mean - mean).abs() <= 1e-10 * mean,
            "{key}: {} vs {mean}",
            s.mean
        );
        assert!(
            (s.std - std).abs() <= 1e-10 * mean,
            "{key}: {} vs {std}",
            s.std
        );
        assert_eq!(s.per_split.len(), splits);
    }
}

#[test]
fn stats_roundtrip_with_protocol() {
    let dir = std::env::temp_dir().join(format!("sngan-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("stats.npz");
    let s = stats("b");
    let p = Protocol {
        network: Protocol::NETWORK.into(),
        weights: "pt_inception.safetensors sha256 00ff".into(),
        resize: Protocol::RESIZE.into(),
        source: "cifar10 train".into(),
        n: 45,
    };
    metrics::write_stats(&path, &s, &p).unwrap();
    let (back, protocol) = metrics::read_stats(&path).unwrap();
    assert_eq!(back, s);
    assert_eq!(protocol, Some(p));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_stats_files_name_file_and_problem() {
    let dir = std::env::temp_dir().join(format!("sngan-metrics-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("nosigma.npz");
    npz::write(&path, &[("mu", NpyArray::f64(vec![2], vec![0.0, 1.0]))]).unwrap();
    let e = metrics::read_stats(&path).unwrap_err().to_string();
    assert!(e.contains("nosigma.npz") && e.contains("no 'sigma'"), "{e}");
    let path = dir.join("shape.npz");
    npz::write(
        &path,
        &[
            ("mu", NpyArray::f64(vec![2], vec![0.0, 1.0])),
            ("sigma", NpyArray::f64(vec![3, 3], vec![0.0; 9])),
        ],
    )
    .unwrap();
    let e = metrics::read_stats(&path).unwrap_err().to_string();
    assert!(e.contains("shape.npz") && e.contains("[3, 3]"), "{e}");
    let path = dir.join("text.npz");
    std::fs::write(&path, b"not a zip").unwrap();
    let e = metrics::read_stats(&path).unwrap_err().to_string();
    assert!(e.contains("text.npz") && e.contains("zip"), "{e}");
    let e = metrics::read_stats(&dir.join("missing.npz"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.npz"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
