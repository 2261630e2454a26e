//! The FID Inception network against PyTorch, without the real weights: both sides fill
//! pytorch-fid's architecture with the same formula weights (sngan/scripts/fid_inception.py,
//! `formula_tensor`), and sngan/scripts/inception_fixtures.py committed PyTorch's pool3
//! features and logits (computed in float64) for formula-defined images.

use std::path::{Path, PathBuf};

use sngan::metrics::inception::{self, InceptionV3, LOGITS, POOL3};
use sngan::metrics::npz::{self, NpyData};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inception")
        .join(name)
}

fn fnv1a64(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// fid_inception.py's `hash_uniform`: values in [−1, 1), multiples of 2^-23.
fn hash_uniform(name: &str, count: usize) -> Vec<f64> {
    let key = fnv1a64(name);
    (0..count as u64)
        .map(|i| {
            let mut z = key ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 40) as f64 / (1u64 << 23) as f64 - 1.0
        })
        .collect()
}

/// fid_inception.py's `formula_tensor`.
fn formula_tensor(name: &str, shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let u = hash_uniform(name, n);
    let map = |f: &dyn Fn(f64) -> f64| u.iter().map(|&x| f(x) as f32).collect();
    if name.ends_with("conv.weight") {
        let fan_in: usize = shape[1..].iter().product();
        let a = (6.0 / fan_in as f64).sqrt();
        map(&|x| x * a)
    } else if name.ends_with("bn.weight") {
        map(&|x| 1.0 + 0.25 * x)
    } else if name.ends_with("bn.running_var") {
        map(&|x| 1.0 + 0.5 * x)
    } else if name.ends_with("bn.bias") || name.ends_with("bn.running_mean") || name == "fc.bias" {
        map(&|x| 0.1 * x)
    } else if name == "fc.weight" {
        let a = (3.0 / shape[1] as f64).sqrt();
        map(&|x| x * a)
    } else {
        panic!("no formula for {name}")
    }
}

fn expected(key: &str) -> Vec<f64> {
    let entries = npz::read(&fixture("expected.npz")).unwrap();
    match &entries.iter().find(|(k, _)| k == key).unwrap().1.data {
        NpyData::F64(v) => v.clone(),
        NpyData::Str(_) => panic!("{key} is text"),
    }
}

fn formula_weights() -> Vec<(String, Vec<usize>, Vec<f32>)> {
    inception::tensor_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let v = formula_tensor(&name, &shape);
            (name, shape, v)
        })
        .collect()
}

/// Tolerance: |got − want| ≤ 1e-4 · (|want| + rms(want)), per element. The reference is
/// PyTorch in float64; this network runs in float32 through 94 convolutions whose dot products
/// have up to 2,048·9 terms, where accumulated f32 rounding is ~1e-6 relative. The rms term keeps
/// elements near zero (small logits, pool3 channels that ReLU mostly zeroes) from demanding
/// more than the vector's own precision.
fn assert_close(what: &str, got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let rms = (want.iter().map(|w| w * w).sum::<f64>() / want.len() as f64).sqrt();
    let (mut worst, mut at) = (0.0f64, 0);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let r = (g as f64 - w).abs() / (w.abs() + rms);
        if r > worst {
            (worst, at) = (r, i);
        }
    }
    eprintln!("{what}: worst relative error {worst:.2e} at {at}");
    assert!(
        worst <= 1e-4,
        "{what}: element {at}: {} vs PyTorch {}: relative error {worst:e} > 1e-4",
        got[at],
        want[at]
    );
}

#[test]
fn formula_weights_match_the_python_script() {
    let sums: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("checksums.json")).unwrap()).unwrap();
    let weights = formula_weights();
    // Same tensor names as PyTorch's state dict of the architecture (no more, no fewer).
    let names: std::collections::BTreeSet<&str> =
        weights.iter().map(|(n, _, _)| n.as_str()).collect();
    let py: std::collections::BTreeSet<&str> = sums["sums"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, py);
    for (name, _, v) in &weights {
        // Sums of up to 1.2M float32 values in f64 (exact products of f32): summation order
        // alone, ≤ 1e-9 of the sum of magnitudes.
        let want = sums["sums"][name].as_f64().unwrap();
        let got: f64 = v.iter().map(|&x| x as f64).sum();
        let mag: f64 = v.iter().map(|&x| (x as f64).abs()).sum();
        assert!(
            (got - want).abs() <= 1e-9 * mag,
            "{name}: sum {got} vs {want}"
        );
        if let Some(first) = sums["first"][name].as_array() {
            // Exact in float32 (serde_json's default parser may be 1 ulp off in f64).
            for (g, w) in v.iter().zip(first) {
                assert_eq!(*g, w.as_f64().unwrap() as f32, "{name}");
            }
        }
    }
}

#[test]
fn network_matches_pytorch_fid_architecture() {
    let dir = std::env::temp_dir().join(format!("sngan-inception-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("formula.safetensors");
    inception::write_weights(&path, &formula_weights(), &[("format", "test")]).unwrap();
    let net = InceptionV3::load(&path).unwrap();
    assert_eq!(net.sha256().len(), 64);
    std::fs::remove_dir_all(&dir).unwrap();
    for (batch, n, h, w) in [("a", 1, 299, 299), ("b", 2, 32, 32), ("c", 1, 331, 307)] {
        let x: Vec<f32> = hash_uniform(&format!("input_{batch}"), n * 3 * h * w)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        let t = std::time::Instant::now();
        let f = net.forward(&x, n, h, w).unwrap();
        eprintln!("batch {batch}: {n} images in {:.2?}", t.elapsed());
        assert_eq!(f.pool3.len(), n * POOL3);
        assert_eq!(f.logits.len(), n * LOGITS);
        assert_close(
            &format!("pool3 {batch}"),
            &f.pool3,
            &expected(&format!("pool3_{batch}")),
        );
        assert_close(
            &format!("logits {batch}"),
            &f.logits,
            &expected(&format!("logits_{batch}")),
        );
        // The Inception score's logits are the same without fc's bias (exactly: one f32 add).
        let bias = formula_tensor("fc.bias", &[LOGITS]);
        for (i, (u, l)) in f.logits_unbiased.iter().zip(&f.logits).enumerate() {
            assert_eq!(u + bias[i % LOGITS], *l, "logit {i} of batch {batch}");
        }
    }
}

#[test]
fn bad_weights_files_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("sngan-inception-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("pt_inception.safetensors");
    let e = InceptionV3::load(&missing).unwrap_err().to_string();
    assert!(
        e.contains("pt_inception.safetensors") && e.contains("convert_fid_weights.py"),
        "{e}"
    );
    let mut weights = formula_weights();
    // A 1x7 kernel stored as 7x1.
    let at = weights
        .iter()
        .position(|(n, _, _)| n == "Mixed_6b.branch7x7_2.conv.weight")
        .unwrap();
    weights[at].1 = vec![128, 128, 7, 1];
    let path = dir.join("bad.safetensors");
    inception::write_weights(&path, &weights, &[]).unwrap();
    let e = InceptionV3::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("bad.safetensors")
            && e.contains("Mixed_6b.branch7x7_2.conv.weight")
            && e.contains("[128, 128, 7, 1]")
            && e.contains("[128, 128, 1, 7]"),
        "{e}"
    );
    weights.remove(at);
    inception::write_weights(&path, &weights, &[]).unwrap();
    let e = InceptionV3::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("no tensor Mixed_6b.branch7x7_2.conv.weight"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
