//! Spectrally normalized layers against sn-core, the independent implementation of the math.
//!
//! Tolerances: dfdx computes in f32; sn-core's reference runs in f64 on the same f32 data. Sums
//! here have at most a few hundred terms, so f32 results are good to ~1e-6 relative; the bounds
//! below (1e-4 relative to the largest element) leave a wide margin for that rounding and none
//! for a wrong formula, whose errors are O(1).

use dfdx::nn::BuildModule;
use dfdx::optim::{Adam, AdamConfig, Optimizer};
use dfdx::prelude::*;
use sn_core::{DynMatrix, DynSpectralNorm};
use sngan::layers::{SnConv2d, SnLinear};

type Conv = SnConv2d<3, 8, 3, 1, 1, 27, true, f32, Cpu>;
type PlainConv = SnConv2d<3, 8, 3, 1, 1, 27, false, f32, Cpu>;

fn to_f64(v: Vec<f32>) -> Vec<f64> {
    v.into_iter().map(f64::from).collect()
}

/// max_i |a_i − b_i| ≤ rel · max_i |b_i|, reporting the worst element.
#[track_caller]
fn assert_close_rel(what: &str, a: &[f64], b: &[f64], rel: f64) {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(scale > 0.0, "{what}: reference is all zero");
    let (i, d) = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .enumerate()
        .fold(
            (0, 0.0),
            |(bi, bd), (i, d)| if d > bd { (i, d) } else { (bi, bd) },
        );
    assert!(
        d <= rel * scale,
        "{what}: worst element {i}: {} vs {} (|diff| {d:e} > {rel:e}·{scale:e})",
        a[i],
        b[i]
    );
}

fn reference_state(layer: &Conv) -> DynSpectralNorm<f64, Vec<f64>> {
    let sigma = layer
        .sn
        .sigma::<_, NoneTape>(&layer.conv.weight)
        .unwrap()
        .array() as f64;
    DynSpectralNorm::from_parts(
        to_f64(layer.sn.u.as_vec()),
        to_f64(layer.sn.v.as_vec()),
        sigma,
    )
    .unwrap()
}

#[test]
fn power_iteration_matches_sn_core() {
    let dev = Cpu::seed_from_u64(1);
    let mut layer = Conv::build(&dev);
    let w = to_f64(layer.conv.weight.as_vec());
    let m = DynMatrix::conv(&w, 8, 3, 3, 3).unwrap();
    let mut reference = DynSpectralNorm::new(to_f64(layer.sn.u.as_vec()), vec![0.0; 27]).unwrap();
    for rounds in [1, 1, 3] {
        let ours = layer.power_iteration(rounds).unwrap() as f64;
        let theirs = reference.power_iteration(m, rounds).unwrap();
        assert!((ours - theirs).abs() <= 1e-5 * theirs, "{ours} vs {theirs}");
        assert_close_rel("u", &to_f64(layer.sn.u.as_vec()), reference.u(), 1e-5);
        assert_close_rel("v", &to_f64(layer.sn.v.as_vec()), reference.v(), 1e-5);
    }
}

/// The gradient dfdx computes for W through a whole SN convolution (input → conv(x, W/σ̃) + b →
/// ⟨R, y⟩) equals sn-core's eq. 12 applied to G = ∂L/∂W̄, where G is taken from the same
/// convolution with W̄ as a plain weight.
#[test]
fn gradient_through_sn_conv_equals_normalize_backward() {
    let dev = Cpu::seed_from_u64(2);
    let mut layer = Conv::build(&dev);
    layer.power_iteration(2).unwrap();
    let x: Tensor<(usize, Const<3>, Const<6>, Const<6>), f32, Cpu> =
        dev.sample_normal_like(&(4, Const, Const, Const));
    let r: Tensor<(usize, Const<8>, Const<6>, Const<6>), f32, Cpu> =
        dev.sample_normal_like(&(4, Const, Const, Const));

    // dfdx through SN.
    let y: Tensor<(usize, Const<8>, Const<6>, Const<6>), f32, Cpu, _> =
        layer.forward(x.clone().traced(Gradients::leaky())).unwrap();
    let grads = (y * r.clone()).sum::<Rank0, _>().backward();
    let ours = to_f64(grads.get(&layer.conv.weight).as_vec());

    // G = ∂L/∂W̄ from a plain convolution whose weight is W̄.
    let mut plain = PlainConv::build(&dev);
    let w_bar: Tensor<Rank4<8, 3, 3, 3>, f32, Cpu> = layer
        .sn
        .normalize::<_, NoneTape>(&layer.conv.weight)
        .unwrap();
    plain.conv.weight = w_bar;
    plain.conv.bias = layer.conv.bias.clone();
    let y2: Tensor<(usize, Const<8>, Const<6>, Const<6>), f32, Cpu, _> =
        plain.forward(x.traced(Gradients::leaky())).unwrap();
    let g = (y2 * r).sum::<Rank0, _>().backward();
    let g_bar = to_f64(g.get(&plain.conv.weight).as_vec());

    let w = to_f64(layer.conv.weight.as_vec());
    let mut expected = vec![0.0; w.len()];
    reference_state(&layer)
        .normalize_backward(
            DynMatrix::conv(&w, 8, 3, 3, 3).unwrap(),
            &g_bar,
            &mut expected,
        )
        .unwrap();
    assert_close_rel("dL/dW through SN conv", &ours, &expected, 1e-4);
    // The projection term matters: the plain gradient differs from eq. 12's.
    let plain_scaled: Vec<f64> = g_bar
        .iter()
        .map(|g| g / reference_state(&layer).sigma())
        .collect();
    let diff = plain_scaled
        .iter()
        .zip(&expected)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff > 1e-3 * expected.iter().fold(0.0f64, |m, x| m.max(x.abs())));
}

#[test]
fn gradient_through_sn_linear_equals_normalize_backward() {
    let dev = Cpu::seed_from_u64(3);
    let mut layer = SnLinear::<5, 4, true, f32, Cpu>::build(&dev);
    layer.power_iteration(1).unwrap();
    let x: Tensor<(usize, Const<5>), f32, Cpu> = dev.sample_normal_like(&(3, Const));
    let r: Tensor<(usize, Const<4>), f32, Cpu> = dev.sample_normal_like(&(3, Const));
    let y = layer.forward(x.clone().traced(Gradients::leaky())).unwrap();
    let grads = (y * r.clone()).sum::<Rank0, _>().backward();
    let ours = to_f64(grads.get(&layer.weight).as_vec());

    // ∂L/∂W̄ = Rᵀx for y = x W̄ᵀ + b.
    let (xv, rv) = (to_f64(x.as_vec()), to_f64(r.as_vec()));
    let mut g_bar = vec![0.0; 20];
    for b in 0..3 {
        for o in 0..4 {
            for i in 0..5 {
                g_bar[o * 5 + i] += rv[b * 4 + o] * xv[b * 5 + i];
            }
        }
    }
    let sigma = layer
        .sn
        .sigma::<_, NoneTape>(&layer.weight)
        .unwrap()
        .array() as f64;
    let state = DynSpectralNorm::from_parts(
        to_f64(layer.sn.u.as_vec()),
        to_f64(layer.sn.v.as_vec()),
        sigma,
    )
    .unwrap();
    let w = to_f64(layer.weight.as_vec());
    let mut expected = vec![0.0; 20];
    state
        .normalize_backward(DynMatrix::new(&w, 4, 5).unwrap(), &g_bar, &mut expected)
        .unwrap();
    assert_close_rel("dL/dW through SN linear", &ours, &expected, 1e-4);
}

/// ũ and v change only in power_iteration: not in forward, not in an optimizer step.
#[test]
fn u_is_persistent_and_never_trained() {
    let dev = Cpu::seed_from_u64(4);
    let mut layer = Conv::build(&dev);
    layer.power_iteration(1).unwrap();
    let (u0, v0, w0) = (
        layer.sn.u.as_vec(),
        layer.sn.v.as_vec(),
        layer.conv.weight.as_vec(),
    );
    let mut opt = Adam::new(
        &layer,
        AdamConfig {
            lr: 1e-2,
            ..Default::default()
        },
    );
    let x: Tensor<(usize, Const<3>, Const<4>, Const<4>), f32, Cpu> =
        dev.sample_normal_like(&(2, Const, Const, Const));
    let y: Tensor<(usize, Const<8>, Const<4>, Const<4>), f32, Cpu, _> =
        layer.forward(x.traced(Gradients::leaky())).unwrap();
    let grads = y.square().sum::<Rank0, _>().backward();
    opt.update(&mut layer, &grads).unwrap();
    assert_eq!(layer.sn.u.as_vec(), u0, "u changed by forward/update");
    assert_eq!(layer.sn.v.as_vec(), v0, "v changed by forward/update");
    assert_ne!(
        layer.conv.weight.as_vec(),
        w0,
        "the weight itself is trained"
    );
    layer.power_iteration(1).unwrap();
    assert_ne!(layer.sn.u.as_vec(), u0, "power iteration moves u");
}

/// A freshly built layer holds a unit ũ; after warm-up rounds σ(W̄) is close to 1.
#[test]
fn warm_up_gives_sigma_of_normalized_near_one() {
    let dev = Cpu::seed_from_u64(5);
    let mut layer = Conv::build(&dev);
    let u = to_f64(layer.sn.u.as_vec());
    let norm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "initial u not unit: {norm}");
    layer.power_iteration(15).unwrap();
    let s = layer.sn.sigma_of_normalized(&layer.conv.weight).unwrap();
    assert!(
        (1.0..1.05).contains(&s),
        "sigma(W_bar) after 15 rounds = {s}"
    );
}
