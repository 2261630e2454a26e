//! Table 3 networks: parameter counts against hand-derived numbers, and every output shape.

use dfdx::nn::NumParams;
use dfdx::prelude::*;
use sngan::nets::std_cnn::*;
use sngan::nets::{Image, Latents};

/// Hand-derived trainable parameter counts (weights + biases, BN γ and β; SN's ũ, v and BN's
/// running statistics are state, not parameters):
///
/// Paper D, M = 32: conv 3→64 k3: 3·9·64 + 64 = 1,792; 64→64 k4: 64·16·64 + 64 = 65,600;
/// 64→128 k3: 73,856; 128→128 k4: 262,272; 128→256 k3: 295,168; 256→256 k4: 1,048,832;
/// 256→512 k3: 1,180,160; dense 512·4·4 → 1: 8,193. Total 2,935,873.
const D32: usize = 2_935_873;
/// Paper D, M = 48: the same convolutions, dense 512·6·6 → 1 = 18,433: 2,927,680 + 18,433.
const D48: usize = 2_946_113;
/// Reference D (channels 64-128-128-256-256-512-512), M = 32: 1,792 + 131,200 + 147,584 +
/// 524,544 + 590,080 + 2,097,664 + 2,359,808 + 8,193.
const D32_REF: usize = 5_860_865;
/// Reference D, M = 48: the M = 32 total with the dense layer 18,433 instead of 8,193.
const D48_REF: usize = 5_871_105;
/// Paper G, M = 32: dense 128 → 8192: 128·8192 + 8192 = 1,056,768; deconv 512→256 k4:
/// 512·256·16 + 256 = 2,097,408; BN 512; deconv 256→128: 524,416; BN 256; deconv 128→64:
/// 131,136; BN 128; conv 64→3 k3: 1,731. Total 3,812,355.
const G32: usize = 3_812_355;
/// Paper G, M = 48: dense 128 → 512·36 = 18,432: 128·18,432 + 18,432 = 2,377,728 instead of
/// 1,056,768.
const G48: usize = 5_133_315;
/// Reference G: the paper's plus BN(8192) after the dense layer (2·8192).
const G32_REF: usize = G32 + 16_384;
/// Reference G, M = 48: plus BN(18,432).
const G48_REF: usize = G48 + 36_864;
/// ¼ width, M = 32: D 448 + 4,112 + 4,640 + 16,416 + 18,496 + 65,600 + 73,856 + 2,049;
/// G 264,192 + 131,136 + 128 + 32,800 + 64 + 8,208 + 32 + 435.
const D32_QUARTER: usize = 185_617;
const G32_QUARTER: usize = 436_995;
/// ¼ width, M = 16: the dense layers shrink to (M/8)² = 4 positions: D's dense 128·4 + 1 = 513
/// instead of 2,049; G's dense 128 → 512: 128·512 + 512 = 66,048 instead of 264,192.
const D16_QUARTER: usize = D32_QUARTER - 2_049 + 513;
const G16_QUARTER: usize = G32_QUARTER - 264_192 + 66_048;

#[test]
fn parameter_counts_match_hand_derivation() {
    let dev = Cpu::seed_from_u64(0);
    assert_eq!(
        StdCnnDiscriminator32::<true, f32, Cpu>::new(&dev, 0)
            .unwrap()
            .num_trainable_params(),
        D32
    );
    assert_eq!(
        StdCnnDiscriminator48::<true, f32, Cpu>::new(&dev, 0)
            .unwrap()
            .num_trainable_params(),
        D48
    );
    assert_eq!(
        StdCnnDiscriminator32Ref::<true, f32, Cpu>::new(&dev, 0)
            .unwrap()
            .num_trainable_params(),
        D32_REF
    );
    assert_eq!(
        StdCnnDiscriminator48Ref::<true, f32, Cpu>::new(&dev, 0)
            .unwrap()
            .num_trainable_params(),
        D48_REF
    );
    assert_eq!(
        StdCnnDiscriminator32Quarter::<true, f32, Cpu>::new(&dev, 0)
            .unwrap()
            .num_trainable_params(),
        D32_QUARTER
    );
    assert_eq!(
        StdCnnDiscriminator16Quarter::<true, f32, Cpu>::new(&dev, 0)
            .unwrap()
            .num_trainable_params(),
        D16_QUARTER
    );
    // SN off has the same parameters.
    assert_eq!(
        StdCnnDiscriminator32::<false, f32, Cpu>::new(&dev, 0)
            .unwrap()
            .num_trainable_params(),
        D32
    );
    assert_eq!(
        StdCnnGenerator32::<f32, Cpu>::new(&dev)
            .unwrap()
            .num_trainable_params(),
        G32
    );
    assert_eq!(
        StdCnnGenerator48::<f32, Cpu>::new(&dev)
            .unwrap()
            .num_trainable_params(),
        G48
    );
    assert_eq!(
        StdCnnGenerator32Ref::<f32, Cpu>::new(&dev)
            .unwrap()
            .num_trainable_params(),
        G32_REF
    );
    assert_eq!(
        StdCnnGenerator48Ref::<f32, Cpu>::new(&dev)
            .unwrap()
            .num_trainable_params(),
        G48_REF
    );
    assert_eq!(
        StdCnnGenerator32Quarter::<f32, Cpu>::new(&dev)
            .unwrap()
            .num_trainable_params(),
        G32_QUARTER
    );
    assert_eq!(
        StdCnnGenerator16Quarter::<f32, Cpu>::new(&dev)
            .unwrap()
            .num_trainable_params(),
        G16_QUARTER
    );
}

#[test]
fn variants_are_the_published_ones() {
    assert_eq!(StdCnnDiscriminator32::<true, f32, Cpu>::SLOPE, 0.1);
    assert_eq!(StdCnnDiscriminator32Ref::<true, f32, Cpu>::SLOPE, 0.2);
    assert_eq!(
        StdCnnDiscriminator48Ref::<true, f32, Cpu>::VARIANT,
        Variant::Reference
    );
    assert_eq!(StdCnnGenerator32::<f32, Cpu>::LATENT, Latent::Normal);
    assert_eq!(StdCnnGenerator32Ref::<f32, Cpu>::LATENT, Latent::Uniform);
    assert_eq!(StdCnnGenerator48::<f32, Cpu>::M, 48);
}

macro_rules! check_pair {
    ($dev:expr, $g:ty, $d:ty, $m:literal) => {{
        let dev = $dev;
        let mut g = <$g>::new(&dev).unwrap();
        let d = <$d>::new(&dev, 1).unwrap();
        let z: Latents<Cpu, NoneTape> = dev.sample_normal_like(&(2, Const));
        let x: Image<$m, Cpu, NoneTape> = g.forward_eval(z.clone()).unwrap();
        assert_eq!(x.shape().concrete(), [2, 3, $m, $m]);
        let vals = x.as_vec();
        assert!(
            vals.iter().all(|v| v.abs() <= 1.0),
            "tanh output in [-1, 1]"
        );
        let xt: Image<$m, Cpu, OwnedTape<f32, Cpu>> =
            g.forward_train(z.traced(Gradients::leaky())).unwrap();
        assert_eq!(xt.shape().concrete(), [2, 3, $m, $m]);
        let logits = d.forward(xt).unwrap();
        assert_eq!(logits.shape().concrete(), [2, 1]);
        let grads = logits.sum::<Rank0, _>().backward();
        // Gradients reach G's first layer through D.
        assert!(grads.get(&g.l0.weight).as_vec().iter().any(|v| *v != 0.0));
        let logits = d.forward(x).unwrap();
        assert_eq!(logits.shape().concrete(), [2, 1]);
    }};
}

#[test]
fn output_shapes_full_width() {
    check_pair!(Cpu::seed_from_u64(1), StdCnnGenerator32<f32, Cpu>, StdCnnDiscriminator32<true, f32, Cpu>, 32);
    check_pair!(Cpu::seed_from_u64(2), StdCnnGenerator48<f32, Cpu>, StdCnnDiscriminator48<true, f32, Cpu>, 48);
    check_pair!(Cpu::seed_from_u64(3), StdCnnGenerator32Ref<f32, Cpu>, StdCnnDiscriminator32Ref<true, f32, Cpu>, 32);
    check_pair!(Cpu::seed_from_u64(4), StdCnnGenerator48Ref<f32, Cpu>, StdCnnDiscriminator48Ref<true, f32, Cpu>, 48);
}

#[test]
fn output_shapes_quarter_width() {
    check_pair!(Cpu::seed_from_u64(5), StdCnnGenerator32Quarter<f32, Cpu>, StdCnnDiscriminator32Quarter<false, f32, Cpu>, 32);
    check_pair!(Cpu::seed_from_u64(6), StdCnnGenerator16Quarter<f32, Cpu>, StdCnnDiscriminator16Quarter<true, f32, Cpu>, 16);
}

// ---------------------------------------------------------------------------------------------
// The baselines of Table 2 on the run-time-method discriminator (`sngan::nets::method`).

mod baselines {
    use dfdx::prelude::*;
    use sngan::baselines::{effective_matrices, Method, BN_EPS, LN_EPS, ORTHO_BETA};
    use sngan::checkpoint::named_tensors;
    use sngan::nets::method::{effective_weight, StdCnnMethodDiscriminator16Quarter as MD};
    use sngan::nets::Image;

    fn d(method: Method, seed: u64) -> MD<f32, Cpu> {
        MD::new(&Cpu::seed_from_u64(seed), 15, method).unwrap()
    }

    /// A batch of `b` images in [−1, 1] from `seed`.
    fn images(b: usize, seed: u64) -> Image<16, Cpu, NoneTape> {
        let dev = Cpu::seed_from_u64(seed);
        let x: Tensor<(usize, Const<3>, Const<16>, Const<16>), f32, Cpu> =
            dev.sample_uniform_like(&(b, Const, Const, Const));
        x * 2.0 - 1.0
    }

    /// max |a − b| / max |b|: the error relative to the scale of the reference.
    fn rel_err(a: &[f32], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let worst = a
            .iter()
            .zip(b)
            .fold(0.0f64, |m, (x, y)| m.max((f64::from(*x) - y).abs()));
        worst / scale.max(f64::MIN_POSITIVE)
    }

    fn to64(v: &[f32]) -> Vec<f64> {
        v.iter().map(|&x| f64::from(x)).collect()
    }

    #[test]
    fn wn_effective_matrices_have_unit_rows_and_no_scale() {
        let mut net = d(Method::Wn, 1);
        let rows = |net: &MD<f32, Cpu>| -> Vec<f32> {
            effective_weight::<32, { 32 * 16 }, _, Cpu, NoneTape>(
                Method::Wn,
                &net.c3.conv.weight,
                &net.c3.sn,
                &net.gamma,
                3,
            )
            .unwrap()
            .as_vec()
        };
        let w = rows(&net);
        for row in w.chunks_exact(32 * 16) {
            let n: f32 = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            // f32 sums of 512 squares: relative rounding ≈ 512 · 6e-8.
            assert!((n - 1.0).abs() < 1e-5, "row norm {n}");
        }
        // No γ: scaling W by 3 leaves the applied matrix as it was.
        let scaled: Vec<f32> = net
            .c3
            .conv
            .weight
            .as_vec()
            .iter()
            .map(|x| 3.0 * x)
            .collect();
        net.c3.conv.weight.copy_from(&scaled);
        let w3 = rows(&net);
        assert!(rel_err(&w3, &to64(&w)) < 1e-6);
        // The host-side matrices (metrics, spectra) agree, every layer with unit rows.
        for m in effective_matrices(
            Method::Wn,
            &MD::<f32, Cpu>::LAYERS,
            &named_tensors(&net).unwrap(),
        )
        .unwrap()
        {
            for row in m.values.chunks_exact(m.cols) {
                let n = row.iter().map(|x| x * x).sum::<f64>().sqrt();
                assert!((n - 1.0).abs() < 1e-9, "{}: row norm {n}", m.name);
            }
        }
    }

    /// Per-group normalization on the host, f64: (h − mean)/sqrt(var + ε), var biased.
    fn normalize_groups(h: &[f32], groups: &[Vec<usize>], eps: f64) -> Vec<f64> {
        let mut out = vec![0.0; h.len()];
        for g in groups {
            let n = g.len() as f64;
            let mean = g.iter().map(|&i| f64::from(h[i])).sum::<f64>() / n;
            let var = g
                .iter()
                .map(|&i| (f64::from(h[i]) - mean).powi(2))
                .sum::<f64>()
                / n;
            for &i in g {
                out[i] = (f64::from(h[i]) - mean) / (var + eps).sqrt();
            }
        }
        out
    }

    #[test]
    fn bn_and_ln_have_no_gamma_and_normalize_as_defined() {
        let (b, c, hw) = (4, 16, 8 * 8); // c1: 16 channels at 8 × 8
        let x = images(b, 7);
        // The same seed gives the same weights: c1's input is c0's output, unnormalized in all.
        let plain = d(Method::Vanilla, 3).pre_activations(x.clone()).unwrap();
        for (method, eps) in [(Method::Bn, BN_EPS), (Method::Ln, LN_EPS)] {
            let net = d(method, 3);
            // No normalization parameters: the tensors are the vanilla network's.
            let names: Vec<String> = named_tensors(&net).unwrap().into_keys().collect();
            let plain_names: Vec<String> = named_tensors(&d(Method::Vanilla, 3))
                .unwrap()
                .into_keys()
                .collect();
            assert_eq!(names, plain_names);
            assert!(names.iter().all(|n| n.ends_with("weight")
                || n.ends_with("bias")
                || n.ends_with(".u")
                || n.ends_with(".v")
                || n == "gamma"));
            let h = net.pre_activations(x.clone()).unwrap();
            // c0 is not normalized.
            assert_eq!(h[0], plain[0]);
            // c1: its bias is 0 at initialisation, so h = normalize(conv(a0)) exactly.
            let idx = |bi: usize, ci: usize, p: usize| (bi * c + ci) * hw + p;
            let groups: Vec<Vec<usize>> = if method == Method::Bn {
                (0..c)
                    .map(|ci| {
                        (0..b)
                            .flat_map(|bi| (0..hw).map(move |p| idx(bi, ci, p)))
                            .collect()
                    })
                    .collect()
            } else {
                (0..b)
                    .map(|bi| {
                        (0..c)
                            .flat_map(|ci| (0..hw).map(move |p| idx(bi, ci, p)))
                            .collect()
                    })
                    .collect()
            };
            let want = normalize_groups(&plain[1], &groups, f64::from(eps));
            // f32 mean/variance over ≤ 1,024 values, against f64: a few 1e-6 on unit values.
            let err = rel_err(&h[1], &want);
            assert!(
                err < 1e-4,
                "{method}: c1 normalized with relative error {err}"
            );
        }
    }

    #[test]
    fn ortho_initial_matrices_are_orthonormal_and_the_regularizer_gradient_matches() {
        let net = d(Method::Ortho, 5);
        let tensors = named_tensors(&net).unwrap();
        for m in effective_matrices(Method::Ortho, &MD::<f32, Cpu>::LAYERS, &tensors).unwrap() {
            let (r, c) = (m.rows, m.cols);
            let k = r.min(c);
            let mut worst = 0.0f64;
            for i in 0..k {
                for j in 0..k {
                    // WWᵀ (rows orthonormal) when r ≤ c, WᵀW otherwise.
                    let dot: f64 = if r <= c {
                        (0..c)
                            .map(|t| m.values[i * c + t] * m.values[j * c + t])
                            .sum()
                    } else {
                        (0..r)
                            .map(|t| m.values[t * c + i] * m.values[t * c + j])
                            .sum()
                    };
                    worst = worst.max((dot - if i == j { 1.0 } else { 0.0 }).abs());
                }
            }
            // f32 storage of an exact orthonormal matrix: each dot product is off by about
            // sqrt(n) · 6e-8.
            assert!(worst < 1e-5, "{}: |WWᵀ − I| up to {worst}", m.name);
        }
        let r0 = net.orthonormal_regularizer::<NoneTape>().unwrap().array();
        assert!(r0.abs() < 1e-8, "regularizer at the orthonormal init: {r0}");

        // Gradient at a non-orthonormal point (the N(0, 0.02²) weights) against central finite
        // differences of the same regularizer computed in f64 on the host.
        let plain = d(Method::Vanilla, 5);
        let reg = plain
            .orthonormal_regularizer::<OwnedTape<f32, Cpu>>()
            .unwrap();
        let grads = reg.backward();
        let g = grads.get(&plain.c3.conv.weight).as_vec();
        let w: Vec<f64> = to64(&plain.c3.conv.weight.as_vec());
        let (o, n) = (32usize, 32 * 16usize); // c3: 32 × (32·4·4)
        let defect = |w: &[f64]| -> f64 {
            let mut s = 0.0;
            for i in 0..o {
                for j in 0..o {
                    let dot: f64 = (0..n).map(|t| w[i * n + t] * w[j * n + t]).sum();
                    s += (dot - if i == j { 1.0 } else { 0.0 }).powi(2);
                }
            }
            f64::from(ORTHO_BETA) * s
        };
        let h = 1e-6;
        let mut checked = 0;
        for idx in [0usize, 1, 257, 4000, 8191] {
            let (mut wp, mut wm) = (w.clone(), w.clone());
            wp[idx] += h;
            wm[idx] -= h;
            let fd = (defect(&wp) - defect(&wm)) / (2.0 * h);
            // Autodiff in f32 of a sum of 1,024 squared terms: relative 1e-3 is generous.
            let tol = 1e-3 * fd.abs() + 1e-9;
            assert!(
                (f64::from(g[idx]) - fd).abs() <= tol,
                "c3.weight[{idx}]: autodiff {} vs finite difference {fd}",
                g[idx]
            );
            checked += 1;
        }
        assert_eq!(checked, 5);
    }

    #[test]
    fn sn_gamma_starts_at_the_exact_sigma_of_w() {
        let net = d(Method::SnGamma, 9);
        let sigmas: Vec<f64> = effective_matrices(
            Method::Vanilla,
            &MD::<f32, Cpu>::LAYERS,
            &named_tensors(&net).unwrap(),
        )
        .unwrap()
        .iter()
        .map(|m| m.sigma().unwrap())
        .collect();
        let gamma = net.gamma.as_vec();
        for (l, (g, s)) in gamma.iter().zip(&sigmas).enumerate() {
            // γ is σ rounded to f32.
            assert!(
                (f64::from(*g) / s - 1.0).abs() < 1e-6,
                "layer {l}: γ {g}, σ(W) {s}"
            );
        }
        // So γ·W̄ ≈ W: the applied σ is γ·σ(W)/σ̃ with σ̃ ≤ σ(W) (power iteration
        // underestimates), close to σ(W) after the warm-up.
        let applied = net.sigmas_of_normalized().unwrap();
        for (a, s) in applied.iter().zip(&sigmas) {
            assert!(
                *a >= s * (1.0 - 1e-6) && *a < 1.5 * s,
                "σ(γW̄) {a} vs σ(W) {s}"
            );
        }
    }

    /// dfdx's own input gradient: backward of Σ_b D(x)_b with respect to x.
    fn autodiff_input_gradient(net: &MD<f32, Cpu>, x: &Image<16, Cpu, NoneTape>) -> Vec<f32> {
        let xt = x.clone().leaky_trace();
        let y = net.forward(xt).unwrap();
        let grads = y.sum::<Rank0, _>().backward();
        grads.get(x).as_vec()
    }

    #[test]
    fn explicit_input_gradient_equals_autodiff() {
        let x = images(3, 11);
        for method in [
            Method::Vanilla,
            Method::GanGp,
            Method::Sn,
            Method::SnGamma,
            Method::Wn,
        ] {
            let net = d(method, 13);
            let ours = net.input_gradient::<NoneTape>(x.clone()).unwrap().as_vec();
            let want = to64(&autodiff_input_gradient(&net, &x));
            // Both are f32 sums of the same products in other orders (transposed convolutions
            // vs the convolutions' backward): agreement to ~1e-6 of the largest entry; 1e-4
            // leaves room and still catches any wrong transpose, stride or mask (O(1) errors).
            let err = rel_err(&ours, &want);
            assert!(err < 1e-4, "{method}: relative error {err}");
        }
    }

    // ---- f64 reference of the gradient penalty for the ¼-width 16 × 16 discriminator ----

    /// Layer geometry: (in, out, kernel, stride, input side).
    const GEOM: [(usize, usize, usize, usize, usize); 7] = [
        (3, 16, 3, 1, 16),
        (16, 16, 4, 2, 16),
        (16, 32, 3, 1, 8),
        (32, 32, 4, 2, 8),
        (32, 64, 3, 1, 4),
        (64, 64, 4, 2, 4),
        (64, 128, 3, 1, 2),
    ];

    /// Convolution, padding 1, f64, NCHW, one image.
    fn conv(x: &[f64], w: &[f64], b: &[f64], l: usize) -> Vec<f64> {
        let (ci, co, k, s, h) = GEOM[l];
        let ho = (h + 2 - k) / s + 1;
        let mut y = vec![0.0; co * ho * ho];
        for o in 0..co {
            for i in 0..ho {
                for j in 0..ho {
                    let mut acc = b[o];
                    for c in 0..ci {
                        for p in 0..k {
                            for q in 0..k {
                                let (yi, xj) = ((i * s + p) as isize - 1, (j * s + q) as isize - 1);
                                if yi >= 0 && xj >= 0 && (yi as usize) < h && (xj as usize) < h {
                                    acc += w[((o * ci + c) * k + p) * k + q]
                                        * x[(c * h + yi as usize) * h + xj as usize];
                                }
                            }
                        }
                    }
                    y[(o * ho + i) * ho + j] = acc;
                }
            }
        }
        y
    }

    /// The adjoint of `conv` (no bias): scatter each output gradient back.
    fn conv_t(g: &[f64], w: &[f64], l: usize) -> Vec<f64> {
        let (ci, co, k, s, h) = GEOM[l];
        let ho = (h + 2 - k) / s + 1;
        let mut x = vec![0.0; ci * h * h];
        for o in 0..co {
            for i in 0..ho {
                for j in 0..ho {
                    let gv = g[(o * ho + i) * ho + j];
                    for c in 0..ci {
                        for p in 0..k {
                            for q in 0..k {
                                let (yi, xj) = ((i * s + p) as isize - 1, (j * s + q) as isize - 1);
                                if yi >= 0 && xj >= 0 && (yi as usize) < h && (xj as usize) < h {
                                    x[(c * h + yi as usize) * h + xj as usize] +=
                                        w[((o * ci + c) * k + p) * k + q] * gv;
                                }
                            }
                        }
                    }
                }
            }
        }
        x
    }

    /// λ mean_b (‖∇ₓD(x̂_b)‖ − 1)² in f64, weights `w[0..8]`, biases `b[0..7]`, images `xs`.
    fn penalty_f64(w: &[Vec<f64>], b: &[Vec<f64>], xs: &[Vec<f64>], slope: f64) -> f64 {
        let mut total = 0.0;
        for x in xs {
            let mut masks = Vec::new();
            let mut a = x.clone();
            for l in 0..7 {
                let h = conv(&a, &w[l], &b[l], l);
                masks.push(
                    h.iter()
                        .map(|&v| if v > 0.0 { 1.0 } else { slope })
                        .collect::<Vec<_>>(),
                );
                a = h
                    .iter()
                    .map(|&v| if v > 0.0 { v } else { slope * v })
                    .collect();
            }
            let mut g: Vec<f64> = w[7].clone();
            for l in (0..7).rev() {
                g.iter_mut().zip(&masks[l]).for_each(|(gv, m)| *gv *= m);
                g = conv_t(&g, &w[l], l);
            }
            let norm = (g.iter().map(|v| v * v).sum::<f64>() + 1e-12).sqrt();
            total += (norm - 1.0).powi(2);
        }
        f64::from(sngan::baselines::GP_LAMBDA) * total / xs.len() as f64
    }

    #[test]
    fn gradient_penalty_parameter_gradient_matches_f64_finite_differences() {
        // The networks are f32-only (ConvDevice is `Device<f32>`; the CPU kernels are f32), so
        // the f64 side is an independent host implementation of the same penalty (naive
        // convolutions and their adjoints), evaluated at the network's weights; dfdx's
        // autodiff of `gradient_penalty` (f32) is checked against its central differences.
        let net = d(Method::WganGp, 17);
        let (real, fake) = (images(2, 19), images(2, 23));
        let eps = [0.3f32, 0.8];
        let p = net.gradient_penalty(&real, &fake, &eps).unwrap();
        let value = p.array();
        let grads = p.backward();

        let mut w: Vec<Vec<f64>> = vec![
            to64(&net.c0.conv.weight.as_vec()),
            to64(&net.c1.conv.weight.as_vec()),
            to64(&net.c2.conv.weight.as_vec()),
            to64(&net.c3.conv.weight.as_vec()),
            to64(&net.c4.conv.weight.as_vec()),
            to64(&net.c5.conv.weight.as_vec()),
            to64(&net.c6.conv.weight.as_vec()),
            to64(&net.l7.weight.as_vec()),
        ];
        let b: Vec<Vec<f64>> = vec![
            to64(&net.c0.conv.bias.as_vec()),
            to64(&net.c1.conv.bias.as_vec()),
            to64(&net.c2.conv.bias.as_vec()),
            to64(&net.c3.conv.bias.as_vec()),
            to64(&net.c4.conv.bias.as_vec()),
            to64(&net.c5.conv.bias.as_vec()),
            to64(&net.c6.conv.bias.as_vec()),
        ];
        let per = 3 * 16 * 16;
        let (r, f) = (real.as_vec(), fake.as_vec());
        let xs: Vec<Vec<f64>> = (0..2)
            .map(|i| {
                (0..per)
                    .map(|j| {
                        let e = f64::from(eps[i]);
                        e * f64::from(r[i * per + j]) + (1.0 - e) * f64::from(f[i * per + j])
                    })
                    .collect()
            })
            .collect();
        let slope = 0.1;
        let p64 = penalty_f64(&w, &b, &xs, slope);
        assert!(
            (f64::from(value) - p64).abs() < 1e-5 * p64,
            "penalty {value} vs f64 {p64}"
        );

        let autodiff: Vec<Vec<f32>> = vec![
            grads.get(&net.c0.conv.weight).as_vec(),
            grads.get(&net.c3.conv.weight).as_vec(),
            grads.get(&net.l7.weight).as_vec(),
        ];
        let h = 1e-6;
        for (k, layer) in [0usize, 3, 7].into_iter().enumerate() {
            let g = &autodiff[k];
            // The largest entry and two fixed ones.
            let top = (0..g.len())
                .max_by(|&i, &j| g[i].abs().total_cmp(&g[j].abs()))
                .unwrap();
            let scale = f64::from(g[top].abs());
            assert!(scale > 0.0, "layer {layer}: zero gradient");
            for idx in [top, 0, g.len() / 2] {
                let orig = w[layer][idx];
                w[layer][idx] = orig + h;
                let up = penalty_f64(&w, &b, &xs, slope);
                w[layer][idx] = orig - h;
                let down = penalty_f64(&w, &b, &xs, slope);
                w[layer][idx] = orig;
                let fd = (up - down) / (2.0 * h);
                // f32 autodiff through 8 layers vs f64: 1e-3 of the layer's largest gradient.
                // (Central differences with h = 1e-6 in f64 are exact to ~1e-9 here.)
                assert!(
                    (f64::from(g[idx]) - fd).abs() <= 1e-3 * scale,
                    "layer {layer}[{idx}]: autodiff {} vs f64 finite difference {fd}",
                    g[idx]
                );
            }
        }
    }
}
