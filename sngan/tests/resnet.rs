//! Tables 4–5 ResNets: parameter counts against hand-derived numbers, every block's output
//! shape, the resampling ops against direct loops, the shortcut reordering, gradients through
//! both branches of every block, the Glorot initialisation, and the outputs of tiny networks
//! against an independent PyTorch implementation on the same weights (`tests/golden/`).

mod common;

use dfdx::nn::NumParams;
use dfdx::prelude::*;
use sngan::device::dims;
use sngan::nets::resnet::*;
use sngan::nets::{Image, Latents};

/// Hand-derived trainable parameter counts (weights + biases, BN γ and β; SN's ũ, v and BN's
/// running statistics are state, not parameters). A 3×3 conv `I → O` has 9·I·O + O, a 1×1
/// conv I·O + O, BN(C) 2C.
///
/// CIFAR G (Table 4), M = 32, 256 channels: dense 128 → 256·4·4 = 4096: 128·4096 + 4096 =
/// 528,384. Each up-block 256 → 256: BN 512 + conv 590,080 + BN 512 + conv 590,080 + shortcut
/// 65,792 = 1,246,976, three of them 3,740,928. Final BN 512, conv 256 → 3: 6,915.
/// Total 528,384 + 3,740,928 + 512 + 6,915 = 4,276,739.
const G32: usize = 4_276_739;
/// CIFAR D (Table 4), 128 channels: block 1: conv 3 → 128 3,584 + conv 128 → 128 147,584 +
/// shortcut 3 → 128 512 = 151,680; block 2 (down, learnable shortcut): 147,584·2 + 16,512 =
/// 311,680; blocks 3 and 4 (identity shortcut): 295,168 each; dense 128 → 1: 129.
/// Total 151,680 + 311,680 + 2·295,168 + 129 = 1,053,825.
const D32: usize = 1_053_825;
/// STL G (Table 5), M = 48: dense 128 → 512·6·6 = 18,432: 2,377,728. Up-block 512 → 256: BN
/// 1,024 + conv 1,179,904 + BN 512 + conv 590,080 + shortcut 131,328 = 1,902,848; 256 → 128:
/// 512 + 295,040 + 256 + 147,584 + 32,896 = 476,288; 128 → 64: 256 + 73,792 + 128 + 36,928 +
/// 8,256 = 119,360. Final BN 128, conv 64 → 3: 1,731.
/// Total 2,377,728 + 1,902,848 + 476,288 + 119,360 + 128 + 1,731 = 4,878,083.
const G48: usize = 4_878_083;
/// STL D (Table 5), hidden channels = input channels (reference code): block 1 3 → 64: 1,792 +
/// 36,928 + 256 = 38,976; block 2 64 → 128: 36,928 + 73,856 + 8,320 = 119,104; block 3
/// 128 → 256: 147,584 + 295,168 + 33,024 = 475,776; block 4 256 → 512: 590,080 + 1,180,160 +
/// 131,584 = 1,901,824; block 5 512 → 1024: 2,359,808 + 4,719,616 + 525,312 = 7,604,736;
/// dense 1024 → 1: 1,025. Total 10,141,441.
const D48: usize = 10_141_441;
/// ¼ width, 64-channel G at M = 16: dense 128 → 64·2·2: 33,024; up-block 64 → 64: 128 +
/// 36,928 + 128 + 36,928 + 4,160 = 78,272, three 234,816; BN 128; conv 64 → 3: 1,731.
const G16_QUARTER: usize = 33_024 + 234_816 + 128 + 1_731;
/// The same at M = 32: the dense layer 128 → 64·4·4: 132,096.
const G32_QUARTER: usize = 132_096 + 234_816 + 128 + 1_731;
/// ¼ width, 32-channel D (any M: the head sums over space): block 1 896 + 9,248 + 128; block 2
/// 9,248·2 + 1,056; blocks 3, 4 9,248·2 each; dense 33.
const D_QUARTER: usize = 10_272 + 19_552 + 2 * 18_496 + 33;

#[test]
fn parameter_counts_match_hand_derivation() {
    let dev = Cpu::seed_from_u64(0);
    let n = |p: usize, want: usize, what: &str| assert_eq!(p, want, "{what}");
    n(
        ResNetGenerator32::<f32, Cpu>::new(&dev)
            .unwrap()
            .num_trainable_params(),
        G32,
        "G32",
    );
    n(
        ResNetDiscriminator32::<true, f32, Cpu>::new(&dev, 0)
            .unwrap()
            .num_trainable_params(),
        D32,
        "D32",
    );
    n(
        ResNetDiscriminator32::<false, f32, Cpu>::new(&dev, 0)
            .unwrap()
            .num_trainable_params(),
        D32,
        "D32 without SN",
    );
    n(
        ResNetGenerator48::<f32, Cpu>::new(&dev)
            .unwrap()
            .num_trainable_params(),
        G48,
        "G48",
    );
    n(
        ResNetDiscriminator48::<true, f32, Cpu>::new(&dev, 0)
            .unwrap()
            .num_trainable_params(),
        D48,
        "D48",
    );
    n(
        ResNetGenerator16Quarter::<f32, Cpu>::new(&dev)
            .unwrap()
            .num_trainable_params(),
        G16_QUARTER,
        "G16 quarter",
    );
    n(
        ResNetGenerator32Quarter::<f32, Cpu>::new(&dev)
            .unwrap()
            .num_trainable_params(),
        G32_QUARTER,
        "G32 quarter",
    );
    for p in [
        ResNetDiscriminator16Quarter::<true, f32, Cpu>::new(&dev, 0)
            .unwrap()
            .num_trainable_params(),
        ResNetDiscriminator32Quarter::<true, f32, Cpu>::new(&dev, 0)
            .unwrap()
            .num_trainable_params(),
    ] {
        n(p, D_QUARTER, "D quarter");
    }
    // The layer lists name every SN layer once: 3 per block with a 1×1 shortcut, 2 per
    // identity block, and the head.
    assert_eq!(
        ResNetDiscriminator32::<true, f32, Cpu>::LAYERS.len(),
        3 + 3 + 2 + 2 + 1
    );
    assert_eq!(
        ResNetDiscriminator48::<true, f32, Cpu>::LAYERS.len(),
        5 * 3 + 1
    );
}

/// Direct loops for the resampling ops, on a `(b, c, h, w)` row-major buffer.
fn pool_direct(x: &[f32], (b, c, h, w): (usize, usize, usize, usize)) -> Vec<f32> {
    let mut y = vec![0.0; b * c * (h / 2) * (w / 2)];
    for n in 0..b * c {
        for i in 0..h / 2 {
            for j in 0..w / 2 {
                let at = |di: usize, dj: usize| x[n * h * w + (2 * i + di) * w + 2 * j + dj];
                y[n * (h / 2) * (w / 2) + i * (w / 2) + j] =
                    (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4.0;
            }
        }
    }
    y
}

fn upsample_direct(x: &[f32], (b, c, h, w): (usize, usize, usize, usize)) -> Vec<f32> {
    let mut y = vec![0.0; b * c * 4 * h * w];
    for n in 0..b * c {
        for i in 0..2 * h {
            for j in 0..2 * w {
                y[n * 4 * h * w + i * 2 * w + j] = x[n * h * w + (i / 2) * w + j / 2];
            }
        }
    }
    y
}

/// Largest |a − b| over two equally long slices.
fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn resampling_matches_direct_loops_forward_and_backward() {
    let dev = Cpu::seed_from_u64(3);
    let x: Tensor<(usize, Const<3>, Const<6>, Const<4>), f32, Cpu> =
        dev.sample_normal_like(&(2, Const, Const, Const));
    let xv = x.as_vec();

    // Pooling: each output is the mean of 4 inputs, so the sum order is the only difference
    // from the loop: 1e-6 is a few ulps of values of order 1.
    let y: Tensor<(usize, Const<3>, Const<3>, Const<2>), f32, Cpu, _> =
        avg_pool2(x.leaky_trace()).unwrap();
    assert_eq!(dims(y.shape()), [2, 3, 3, 2]);
    assert!(max_abs_diff(&y.as_vec(), &pool_direct(&xv, (2, 3, 6, 4))) < 1e-6);
    // d(Σ y·g)/dx = g[parent]/4 = the upsampled g over 4.
    let g: Tensor<(usize, Const<3>, Const<3>, Const<2>), f32, Cpu> =
        dev.sample_normal_like(&(2, Const, Const, Const));
    let grads = (y * g.clone()).sum::<Rank0, _>().backward();
    let want: Vec<f32> = upsample_direct(&g.as_vec(), (2, 3, 3, 2))
        .iter()
        .map(|v| v / 4.0)
        .collect();
    assert!(max_abs_diff(&grads.get(&x).as_vec(), &want) < 1e-6);

    // Upsampling copies values exactly; its gradient sums the 4 children (1e-6 as above).
    let y: Tensor<(usize, Const<3>, Const<12>, Const<8>), f32, Cpu, _> =
        upsample2(x.leaky_trace()).unwrap();
    assert_eq!(dims(y.shape()), [2, 3, 12, 8]);
    assert_eq!(y.as_vec(), upsample_direct(&xv, (2, 3, 6, 4)));
    let g: Tensor<(usize, Const<3>, Const<12>, Const<8>), f32, Cpu> =
        dev.sample_normal_like(&(2, Const, Const, Const));
    let grads = (y * g.clone()).sum::<Rank0, _>().backward();
    let want: Vec<f32> = pool_direct(&g.as_vec(), (2, 3, 12, 8))
        .iter()
        .map(|v| v * 4.0)
        .collect();
    assert!(max_abs_diff(&grads.get(&x).as_vec(), &want) < 1e-5);
}

#[test]
fn shortcut_convolution_commutes_with_resampling() {
    // The blocks run their 1×1 shortcut at the lower resolution; the reference code upsamples
    // before it (G) and pools after it (D's later blocks). Same function up to float rounding
    // (the conv sums 16 products of values of order 1: 1e-5 is a few ulps of the outputs).
    let dev = Cpu::seed_from_u64(4);
    let d = ResNetDiscriminator32Quarter::<true, f32, Cpu>::new(&dev, 1).unwrap();
    let sc = &d.block2.sc;
    let x: Tensor<(usize, Const<32>, Const<8>, Const<8>), f32, Cpu> =
        dev.sample_normal_like(&(2, Const, Const, Const));
    let pooled: Tensor<(usize, Const<32>, Const<4>, Const<4>), f32, Cpu> =
        avg_pool2(x.clone()).unwrap();
    let a: Tensor<(usize, Const<32>, Const<4>, Const<4>), f32, Cpu> = sc.forward(pooled).unwrap();
    let full: Tensor<(usize, Const<32>, Const<8>, Const<8>), f32, Cpu> =
        sc.forward(x.clone()).unwrap();
    let b: Tensor<(usize, Const<32>, Const<4>, Const<4>), f32, Cpu> = avg_pool2(full).unwrap();
    assert!(max_abs_diff(&a.as_vec(), &b.as_vec()) < 1e-5);

    let g = ResNetGenerator32Quarter::<f32, Cpu>::new(&dev).unwrap();
    let sc = &g.block2.sc;
    let a: Tensor<(usize, Const<64>, Const<8>, Const<8>), f32, Cpu> = {
        let x: Tensor<(usize, Const<64>, Const<4>, Const<4>), f32, Cpu> =
            dev.sample_normal_like(&(2, Const, Const, Const));
        let lo: Tensor<(usize, Const<64>, Const<4>, Const<4>), f32, Cpu> =
            sc.forward(x.clone()).unwrap();
        let up: Tensor<(usize, Const<64>, Const<8>, Const<8>), f32, Cpu> = upsample2(x).unwrap();
        let b: Tensor<(usize, Const<64>, Const<8>, Const<8>), f32, Cpu> = sc.forward(up).unwrap();
        let a = upsample2(lo).unwrap();
        assert!(max_abs_diff(&a.as_vec(), &b.as_vec()) < 1e-5);
        a
    };
    assert_eq!(dims(a.shape()), [2, 64, 8, 8]);
}

#[test]
fn every_block_shape_cifar() {
    let dev = Cpu::seed_from_u64(5);
    let mut g = ResNetGenerator32Quarter::<f32, Cpu>::new(&dev).unwrap();
    let z: Latents<Cpu, NoneTape> = dev.sample_normal_like(&(3, Const));
    let h = g.l1.forward(z.clone()).unwrap();
    assert_eq!(dims(h.shape()), [3, 64 * 16]);
    let h: Tensor<(usize, Const<64>, Const<4>, Const<4>), f32, Cpu> =
        h.reshape_like(&(3, Const, Const, Const));
    let h: Tensor<(usize, Const<64>, Const<8>, Const<8>), f32, Cpu> =
        g.block2.forward_eval(h).unwrap();
    assert_eq!(dims(h.shape()), [3, 64, 8, 8]);
    let h: Tensor<(usize, Const<64>, Const<16>, Const<16>), f32, Cpu> =
        g.block3.forward_eval(h).unwrap();
    assert_eq!(dims(h.shape()), [3, 64, 16, 16]);
    let h: Tensor<(usize, Const<64>, Const<32>, Const<32>), f32, Cpu> =
        g.block4.forward_eval(h).unwrap();
    assert_eq!(dims(h.shape()), [3, 64, 32, 32]);
    let x = g.forward_train(z.leaky_trace()).unwrap();
    assert_eq!(dims(x.shape()), [3, 3, 32, 32]);
    assert!(x.as_vec().iter().all(|v| v.abs() <= 1.0), "tanh output");

    let d = ResNetDiscriminator32Quarter::<true, f32, Cpu>::new(&dev, 1).unwrap();
    let x: Image<32, Cpu, NoneTape> = dev.sample_normal_like(&(3, Const, Const, Const));
    let h: Tensor<(usize, Const<32>, Const<16>, Const<16>), f32, Cpu> =
        d.block1.forward(x.clone()).unwrap();
    assert_eq!(dims(h.shape()), [3, 32, 16, 16]);
    let h: Tensor<(usize, Const<32>, Const<8>, Const<8>), f32, Cpu> = d.block2.forward(h).unwrap();
    assert_eq!(dims(h.shape()), [3, 32, 8, 8]);
    let h = d.block3.forward(h).unwrap();
    assert_eq!(dims(h.shape()), [3, 32, 8, 8]);
    let h = d.block4.forward(h).unwrap();
    assert_eq!(dims(h.shape()), [3, 32, 8, 8]);
    assert_eq!(dims(d.forward(x).unwrap().shape()), [3, 1]);
}

#[test]
fn every_block_shape_stl() {
    let dev = Cpu::seed_from_u64(6);
    let g = ResNetGenerator48Quarter::<f32, Cpu>::new(&dev).unwrap();
    let z: Latents<Cpu, NoneTape> = dev.sample_normal_like(&(2, Const));
    let h: Tensor<(usize, Const<128>, Const<6>, Const<6>), f32, Cpu> =
        g.l1.forward(z.clone())
            .unwrap()
            .reshape_like(&(2, Const, Const, Const));
    let h: Tensor<(usize, Const<64>, Const<12>, Const<12>), f32, Cpu> =
        g.block2.forward_eval(h).unwrap();
    assert_eq!(dims(h.shape()), [2, 64, 12, 12]);
    let h: Tensor<(usize, Const<32>, Const<24>, Const<24>), f32, Cpu> =
        g.block3.forward_eval(h).unwrap();
    assert_eq!(dims(h.shape()), [2, 32, 24, 24]);
    let h: Tensor<(usize, Const<16>, Const<48>, Const<48>), f32, Cpu> =
        g.block4.forward_eval(h).unwrap();
    assert_eq!(dims(h.shape()), [2, 16, 48, 48]);
    let x = g.forward_eval(z).unwrap();
    assert_eq!(dims(x.shape()), [2, 3, 48, 48]);

    let d = ResNetDiscriminator48Quarter::<true, f32, Cpu>::new(&dev, 1).unwrap();
    let h: Tensor<(usize, Const<16>, Const<24>, Const<24>), f32, Cpu> =
        d.block1.forward(x.clone()).unwrap();
    assert_eq!(dims(h.shape()), [2, 16, 24, 24]);
    let h: Tensor<(usize, Const<32>, Const<12>, Const<12>), f32, Cpu> =
        d.block2.forward(h).unwrap();
    assert_eq!(dims(h.shape()), [2, 32, 12, 12]);
    let h: Tensor<(usize, Const<64>, Const<6>, Const<6>), f32, Cpu> = d.block3.forward(h).unwrap();
    assert_eq!(dims(h.shape()), [2, 64, 6, 6]);
    let h: Tensor<(usize, Const<128>, Const<3>, Const<3>), f32, Cpu> = d.block4.forward(h).unwrap();
    assert_eq!(dims(h.shape()), [2, 128, 3, 3]);
    let h: Tensor<(usize, Const<256>, Const<3>, Const<3>), f32, Cpu> = d.block5.forward(h).unwrap();
    assert_eq!(dims(h.shape()), [2, 256, 3, 3]);
    assert_eq!(dims(d.forward(x).unwrap().shape()), [2, 1]);
}

#[test]
fn full_width_networks_run() {
    let dev = Cpu::seed_from_u64(7);
    let g = ResNetGenerator32::<f32, Cpu>::new(&dev).unwrap();
    let d = ResNetDiscriminator32::<true, f32, Cpu>::new(&dev, 1).unwrap();
    let z: Latents<Cpu, NoneTape> = dev.sample_normal_like(&(1, Const));
    let x = g.forward_eval(z).unwrap();
    assert_eq!(dims(x.shape()), [1, 3, 32, 32]);
    assert_eq!(dims(d.forward(x).unwrap().shape()), [1, 1]);
    let g = ResNetGenerator48::<f32, Cpu>::new(&dev).unwrap();
    let d = ResNetDiscriminator48::<true, f32, Cpu>::new(&dev, 1).unwrap();
    let z: Latents<Cpu, NoneTape> = dev.sample_normal_like(&(1, Const));
    let x = g.forward_eval(z).unwrap();
    assert_eq!(dims(x.shape()), [1, 3, 48, 48]);
    assert_eq!(dims(d.forward(x).unwrap().shape()), [1, 1]);
}

/// Every trainable tensor of a network has a nonzero gradient somewhere (the shortcut and the
/// residual branch both reach the loss).
fn all_nonzero<M: TensorCollection<f32, Cpu>>(m: &M, grads: &Gradients<f32, Cpu>) -> Vec<String> {
    common::param_grads(m, grads)
        .into_iter()
        .filter(|(_, g)| g.iter().all(|v| *v == 0.0))
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn gradients_reach_every_parameter_of_both_networks() {
    let dev = Cpu::seed_from_u64(8);
    let mut g = ResNetGenerator16Quarter::<f32, Cpu>::new(&dev).unwrap();
    let d = ResNetDiscriminator16Quarter::<true, f32, Cpu>::new(&dev, 1).unwrap();
    let z: Latents<Cpu, NoneTape> = dev.sample_normal_like(&(4, Const));
    let gg = g.alloc_grads();
    let x = g.forward_train(z.traced(gg)).unwrap();
    let logits = d.forward(x).unwrap();
    let grads = logits.sum::<Rank0, _>().backward();
    assert_eq!(all_nonzero(&g, &grads), Vec::<String>::new(), "G");
    let x: Image<16, Cpu, NoneTape> = dev.sample_normal_like(&(4, Const, Const, Const));
    let grads = d
        .forward(x.traced(d.alloc_grads()))
        .unwrap()
        .sum::<Rank0, _>()
        .backward();
    assert_eq!(all_nonzero(&d, &grads), Vec::<String>::new(), "D");
}

/// Checks that every value of a weight lies in [−b, b], and that the sample reaches the
/// bound and has the standard deviation of U(−b, b), b/√3: with n ≥ 6,000 values the sample
/// std is within 3% of it (for a uniform its relative standard error is √(0.8/n)/2 ≤ 0.6%, so
/// 3% is five of them), and the largest |w| is above 0.99·b (the chance that n values all miss
/// the top 1% is 0.99ⁿ < 1e-26).
fn check_glorot(w: &[f32], fan_in: usize, fan_out: usize, gain: f32, what: &str) {
    let b = glorot_bound(fan_in, fan_out, gain);
    assert!(w.len() >= 6_000, "{what}: too few values to test");
    let max = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(max <= b, "{what}: |w| = {max} above the bound {b}");
    assert!(
        max > 0.99 * b,
        "{what}: |w| ≤ {max}, far below the bound {b}"
    );
    let n = w.len() as f64;
    let mean = w.iter().map(|&v| v as f64).sum::<f64>() / n;
    let std = (w.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    let want = b as f64 / 3f64.sqrt();
    assert!(
        (std / want - 1.0).abs() < 0.03,
        "{what}: std {std}, want {want}"
    );
}

#[test]
fn initialisation_is_glorot_uniform_with_the_reference_gains() {
    let dev = Cpu::seed_from_u64(9);
    let d = ResNetDiscriminator32::<true, f32, Cpu>::new(&dev, 0).unwrap();
    let r2 = std::f32::consts::SQRT_2;
    assert_eq!(RESIDUAL_GAIN, r2);
    // 3×3 residual convolutions, gain √2: fan_in = fan_out = 128·9.
    check_glorot(
        &d.block2.c1.conv.weight.as_vec(),
        1152,
        1152,
        r2,
        "D block2.c1",
    );
    check_glorot(
        &d.block4.c2.conv.weight.as_vec(),
        1152,
        1152,
        r2,
        "D block4.c2",
    );
    check_glorot(
        &d.block1.c2.conv.weight.as_vec(),
        1152,
        1152,
        r2,
        "D block1.c2",
    );
    // The 1×1 shortcut, gain 1: fan_in = fan_out = 128.
    check_glorot(
        &d.block2.sc.conv.weight.as_vec(),
        128,
        128,
        1.0,
        "D block2.sc",
    );
    // Too small for the statistics (384 and 128 values): the bound alone.
    for (w, fi, fo, gain) in [
        (d.block1.c1.conv.weight.as_vec(), 27, 1152, r2),
        (d.block1.sc.conv.weight.as_vec(), 3, 128, 1.0),
        (d.l5.weight.as_vec(), 128, 1, 1.0),
    ] {
        let b = glorot_bound(fi, fo, gain);
        assert!(w.iter().all(|v| v.abs() <= b) && w.iter().any(|v| v.abs() > 0.5 * b));
    }
    for bias in [d.block1.c1.conv.bias.as_vec(), d.l5.bias.as_vec()] {
        assert!(bias.iter().all(|v| *v == 0.0));
    }

    let g = ResNetGenerator32::<f32, Cpu>::new(&dev).unwrap();
    check_glorot(&g.l1.weight.as_vec(), 128, 4096, 1.0, "G l1");
    check_glorot(&g.block3.c1.weight.as_vec(), 2304, 2304, r2, "G block3.c1");
    check_glorot(&g.block2.sc.weight.as_vec(), 256, 256, 1.0, "G block2.sc");
    check_glorot(&g.c5.weight.as_vec(), 2304, 27, 1.0, "G c5");
    assert_eq!((g.b5.epsilon, g.block2.b1.epsilon), (BN_EPS, BN_EPS));
    assert!(g.block2.b1.scale.as_vec().iter().all(|v| *v == 1.0));
}

#[test]
fn sigma_reports_cover_every_layer_after_warm_up() {
    // 50 warm-up rounds: σ̃ converges to σ at the rate (σ₂/σ₁)^(2k); for these random
    // Glorot matrices σ(W̄) is then 1 within 5%, the Fig. 9 band the training run is held to.
    // σ(W̄) ≥ 1 in exact arithmetic (σ̃ underestimates σ); 1e-6 allows σ̃'s f32 rounding.
    let dev = Cpu::seed_from_u64(10);
    let mut d = ResNetDiscriminator16Quarter::<true, f32, Cpu>::new(&dev, 50).unwrap();
    let s = d.sigmas_of_normalized().unwrap();
    assert_eq!(
        s.len(),
        ResNetDiscriminator16Quarter::<true, f32, Cpu>::LAYERS.len()
    );
    for (name, s) in ResNetDiscriminator16Quarter::<true, f32, Cpu>::LAYERS
        .iter()
        .zip(&s)
    {
        assert!((1.0 - 1e-6..1.05).contains(s), "{name}: σ(W̄) = {s}");
    }
    assert_eq!(d.power_iteration(1).unwrap().len(), s.len());
}

sngan::resnet_generator!(
    /// A tiny Table 4 generator for the golden test: dense 8×2×2, three up-blocks of 8.
    TinyG, m = 16, ch = [8, 8, 8, 8]
);
sngan::resnet_discriminator_cifar!(
    /// A tiny Table 4 discriminator for the golden test (8 channels).
    TinyDCifar, m = 16, ch = 8
);
sngan::resnet_discriminator_stl!(
    /// A tiny Table 5 discriminator for the golden test: four down-blocks to 1×1, then a block
    /// that changes the channels.
    TinyDStl, m = 16, ch = [4, 8, 8, 8, 16]
);

/// Copies every tensor named in `values` into `m` by its path; returns the names of `m`'s
/// tensors that `values` lacks (SN's ũ, v excepted: the golden networks have no SN).
fn load_named<M: TensorCollection<f32, Cpu>>(
    m: &mut M,
    values: &serde_json::Map<String, serde_json::Value>,
) -> (Vec<String>, usize) {
    use dfdx::nn::tensor_collection::{RecursiveWalker, TensorOptions, TensorVisitor};
    use dfdx::nn::tensor_collection::{ViewTensorMut, ViewTensorName};
    struct L<'a>(
        &'a serde_json::Map<String, serde_json::Value>,
        Vec<String>,
        usize,
    );
    impl TensorVisitor<f32, Cpu> for L<'_> {
        type Viewer = (ViewTensorMut, ViewTensorName);
        type Err = CpuError;
        type E2 = f32;
        type D2 = Cpu;
        fn visit<S: Shape>(
            &mut self,
            _: TensorOptions<S, f32, Cpu>,
            (t, name): (&mut Tensor<S, f32, Cpu>, String),
        ) -> Result<Option<Tensor<S, f32, Cpu>>, CpuError> {
            match self.0.get(&name) {
                Some(v) => {
                    let v = as_f32(v);
                    assert_eq!(v.len(), t.shape().num_elements(), "{name}");
                    t.copy_from(&v);
                    self.2 += 1;
                }
                None if name.ends_with(".sn.u") || name.ends_with(".sn.v") => {}
                None => self.1.push(name),
            }
            Ok(None)
        }
    }
    let mut l = L(values, Vec::new(), 0);
    M::iter_tensors(&mut RecursiveWalker {
        m: (m, String::new()),
        f: &mut l,
    })
    .unwrap();
    (l.1, l.2)
}

fn as_f32(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .expect("an array of numbers")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}

/// Largest |a − b| / max(1, |b|).
fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f32::max)
}

#[test]
fn matches_pytorch_on_the_same_weights() {
    // tests/golden/make_resnet_golden.py: the reference blocks in PyTorch (2.x, CPU, f32).
    // Both sides compute in f32 with different summation orders over at most 8·9·4 products
    // per layer through ~12 layers; 1e-4 relative (to max(1, |y|)) is ~1000 ulps of outputs of
    // order 1, and a wrong block (a missing ReLU, a shortcut in the wrong place, pooling
    // before instead of after a 3×3 conv) moves the outputs by 1e-2 or more.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/resnet_tiny.json"
    ))
    .unwrap();
    let fx: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dev = Cpu::seed_from_u64(11);
    let map = |k: &str| fx[k].as_object().expect("a map of tensors");

    let mut g = TinyG::<f32, Cpu>::new(&dev).unwrap();
    let (missing, used) = load_named(&mut g, map("g"));
    assert_eq!((missing, used), (vec![], map("g").len()), "G tensors");
    let z: Latents<Cpu, NoneTape> = dev.tensor_from_vec(as_f32(&fx["z"]), (3, Const));
    let out = g.forward_eval(z).unwrap().as_vec();
    let err = max_rel_diff(&out, &as_f32(&fx["g_out"]));
    assert!(err < 1e-4, "G: {err}");

    let x: Image<16, Cpu, NoneTape> =
        dev.tensor_from_vec(as_f32(&fx["x"]), (3, Const, Const, Const));
    let mut d = TinyDCifar::<false, f32, Cpu>::new(&dev, 0).unwrap();
    let (missing, used) = load_named(&mut d, map("d_cifar"));
    assert_eq!(
        (missing, used),
        (vec![], map("d_cifar").len()),
        "D (Table 4)"
    );
    let out = d.forward(x.clone()).unwrap().as_vec();
    let err = max_rel_diff(&out, &as_f32(&fx["d_cifar_out"]));
    assert!(err < 1e-4, "D (Table 4): {err}: {out:?}");

    let mut d = TinyDStl::<false, f32, Cpu>::new(&dev, 0).unwrap();
    let (missing, used) = load_named(&mut d, map("d_stl"));
    assert_eq!((missing, used), (vec![], map("d_stl").len()), "D (Table 5)");
    let out = d.forward(x).unwrap().as_vec();
    let err = max_rel_diff(&out, &as_f32(&fx["d_stl_out"]));
    assert!(err < 1e-4, "D (Table 5): {err}: {out:?}");
}
