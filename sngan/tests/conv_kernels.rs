//! The project's CPU convolution kernels (`ConvDevice` for `Cpu`) against dfdx's own kernels
//! (`sngan::device::reference`) on random shapes, strides and paddings: forward output, input
//! gradient and weight gradient; the fused convolution + leaky ReLU against the two ops it
//! replaces; the fused batch norm + ReLU against dfdx's `BatchNorm2D`; and the spectral
//! normalization op against dfdx's ops.
//!
//! Tolerance: every compared element is a sum of at most `n` products of N(0, 1) values, summed
//! in a different order by the two implementations. The typical f32 rounding difference of such
//! a sum is about √n · u · √n = n · u (u = 6e-8); the test allows 1e-5 · n, over 100× that, and
//! still thousands of times below the O(1) error any indexing mistake produces.

use dfdx::prelude::*;
use proptest::prelude::*;
use sngan::device::{
    freeing_output_gradients, on_kernel_threads, reference, without_input_gradient,
    without_weight_gradients, BatchNorm2d, Dyn4,
};
use sngan::ConvDevice;

type Conv = fn(
    Dyn4<Cpu, OwnedTape<f32, Cpu>>,
    Dyn4<Cpu, NoneTape>,
    &Tensor<(usize,), f32, Cpu>,
    usize,
    usize,
) -> Result<Dyn4<Cpu, OwnedTape<f32, Cpu>>, CpuError>;

/// A convolution's traced input, its bias, and what it returns.
type TapedX = Dyn4<Cpu, OwnedTape<f32, Cpu>>;
type Bias = Tensor<(usize,), f32, Cpu>;
type Conv4 = Result<TapedX, CpuError>;

type Taped1 = Tensor<(usize,), f32, Cpu, OwnedTape<f32, Cpu>>;
type LeakyRelu = fn(Taped1, f32) -> Result<Taped1, CpuError>;

/// y, ∂x, ∂W, ∂b of L = Σ y ⊙ r for a fixed random r and a random bias b.
fn run(
    conv: impl Fn(
        Dyn4<Cpu, OwnedTape<f32, Cpu>>,
        Dyn4<Cpu, NoneTape>,
        &Tensor<(usize,), f32, Cpu>,
        usize,
        usize,
    ) -> Result<Dyn4<Cpu, OwnedTape<f32, Cpu>>, CpuError>,
    x: &Dyn4<Cpu, NoneTape>,
    w: &Dyn4<Cpu, NoneTape>,
    c_out: usize,
    stride: usize,
    padding: usize,
    seed: u64,
) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let dev = Cpu::seed_from_u64(seed);
    let b: Tensor<(usize,), f32, Cpu> = dev.sample_normal_like(&(c_out,));
    let (xt, xtape) = x.clone().leaky_traced().split_tape();
    let (wt, wtape) = w.clone().leaky_traced().split_tape();
    let y = conv(xt.put_tape(xtape.merge(wtape)), wt, &b, stride, padding).expect("conv");
    let r: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(y.shape());
    let yv = y.as_vec();
    let grads = (y * r).sum::<Rank0, _>().backward();
    (
        yv,
        grads.get(x).as_vec(),
        grads.get(w).as_vec(),
        grads.get(&b).as_vec(),
    )
}

/// Compares (y, ∂x, ∂W, ∂b); `terms` = the most products summed into one element of each.
fn compare(
    ours: &(Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>),
    theirs: &(Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>),
    terms: [usize; 4],
) {
    assert_close("y", &ours.0, &theirs.0, terms[0]);
    assert_close("dL/dx", &ours.1, &theirs.1, terms[1]);
    assert_close("dL/dW", &ours.2, &theirs.2, terms[2]);
    assert_close("dL/db", &ours.3, &theirs.3, terms[3]);
}

fn assert_close(what: &str, ours: &[f32], reference: &[f32], terms: usize) {
    assert_eq!(ours.len(), reference.len(), "{what}: lengths");
    let tol = 1e-5 * terms as f32;
    let worst = ours
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((i, d)) = worst {
        assert!(
            d <= tol,
            "{what}: worst element {i}: {} vs dfdx {} (|diff| {d:e} > {tol:e}, {terms} terms)",
            ours[i],
            reference[i]
        );
    }
}

/// (batch, c_in, c_out, k, stride, padding, h, w) with the kernel fitting the padded input.
fn shapes() -> impl Strategy<Value = (usize, usize, usize, usize, usize, usize, usize, usize)> {
    (
        1usize..=3,
        1usize..=4,
        1usize..=4,
        1usize..=4,
        1usize..=3,
        0usize..=2,
    )
        .prop_flat_map(|(b, c, o, k, s, p)| {
            let lo = k.saturating_sub(2 * p).max(1);
            (
                Just(b),
                Just(c),
                Just(o),
                Just(k),
                Just(s),
                Just(p),
                lo..=9usize,
                lo..=9usize,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn conv2d_matches_dfdx((b, c, o, k, s, p, h, w) in shapes(), seed in any::<u64>()) {
        let dev = Cpu::seed_from_u64(seed);
        let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(b, c, h, w));
        let wt: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(o, c, k, k));
        let ours = run(<Cpu as ConvDevice>::conv2d, &x, &wt, o, s, p, seed ^ 1);
        let theirs = run(reference::conv2d, &x, &wt, o, s, p, seed ^ 1);
        let (ho, wo) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
        compare(&ours, &theirs, [c * k * k + 1, o * k * k, b * ho * wo, b * ho * wo]);
    }

    #[test]
    fn conv_transpose2d_matches_dfdx((b, c, o, k, s, p, h, w) in shapes(), seed in any::<u64>()) {
        // The transposed convolution of an h × w input: its output must be non-empty.
        prop_assume!((h - 1) * s + k > 2 * p && (w - 1) * s + k > 2 * p);
        let dev = Cpu::seed_from_u64(seed);
        let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(b, c, h, w));
        let wt: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(c, o, k, k));
        let ours = run(<Cpu as ConvDevice>::conv_transpose2d, &x, &wt, o, s, p, seed ^ 1);
        let theirs = run(reference::conv_transpose2d, &x, &wt, o, s, p, seed ^ 1);
        let (ho, wo) = ((h - 1) * s + k - 2 * p, (w - 1) * s + k - 2 * p);
        compare(&ours, &theirs, [c * k * k + 1, o * k * k, b * h * w, b * ho * wo]);
    }
}

/// A D-sized layer (many chunks, several weight-gradient groups, a ragged last chunk):
/// exercises the blocking that the small random shapes above do not reach.
#[test]
fn conv2d_matches_dfdx_on_a_table3_layer() {
    let dev = Cpu::seed_from_u64(7);
    let (b, c, o, k, s, p, h) = (19, 16, 24, 4, 2, 1, 8);
    let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(b, c, h, h));
    let w: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(o, c, k, k));
    let ours = run(<Cpu as ConvDevice>::conv2d, &x, &w, o, s, p, 3);
    let theirs = run(reference::conv2d, &x, &w, o, s, p, 3);
    compare(&ours, &theirs, [c * k * k + 1, o * k * k, b * 16, b * 16]);
}

/// Stride 1 on both weight-gradient routes: the generator's last layer (3 output channels,
/// 32 × 32: one image per chunk), whose weight gradient is computed directly from the padded
/// images, and a layer with more output channels than that route takes (a GEMM).
#[test]
fn conv2d_matches_dfdx_at_stride_1_on_both_weight_gradient_routes() {
    let dev = Cpu::seed_from_u64(12);
    for (b, c, o, h) in [(5, 16, 3, 32), (9, 6, 20, 8)] {
        let (k, s, p) = (3, 1, 1);
        let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(b, c, h, h));
        let w: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(o, c, k, k));
        let ours = run(<Cpu as ConvDevice>::conv2d, &x, &w, o, s, p, 5);
        let theirs = run(reference::conv2d, &x, &w, o, s, p, 5);
        compare(
            &ours,
            &theirs,
            [c * k * k + 1, o * k * k, b * h * h, b * h * h],
        );
    }
}

/// Both layouts of the weight gradient's GEMM: ∂Wᵀ = col · ∂Yᵀ up to 128 output channels, and
/// ∂W = ∂Y · colᵀ above.
#[test]
fn conv2d_matches_dfdx_on_both_weight_gradient_layouts() {
    let dev = Cpu::seed_from_u64(15);
    for o in [24, 130] {
        let (b, c, k, s, p, h) = (6, 4, 4, 2, 1, 8);
        let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(b, c, h, h));
        let w: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(o, c, k, k));
        let ours = run(<Cpu as ConvDevice>::conv2d, &x, &w, o, s, p, 6);
        let theirs = run(reference::conv2d, &x, &w, o, s, p, 6);
        compare(&ours, &theirs, [c * k * k + 1, o * k * k, b * 16, b * 16]);
    }
}

/// The generator's 4 → 8 transposed convolution, batch large enough for several chunks.
#[test]
fn conv_transpose2d_matches_dfdx_on_a_table3_layer() {
    let dev = Cpu::seed_from_u64(8);
    let (b, c, o, k, s, p, h) = (37, 16, 8, 4, 2, 1, 4);
    let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(b, c, h, h));
    let w: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(c, o, k, k));
    let ours = run(<Cpu as ConvDevice>::conv_transpose2d, &x, &w, o, s, p, 4);
    let theirs = run(reference::conv_transpose2d, &x, &w, o, s, p, 4);
    compare(
        &ours,
        &theirs,
        [c * k * k + 1, o * k * k, b * h * h, b * 64],
    );
}

/// The ops under test with a leaky ReLU of slope `slope`: `conv2d_leaky_relu` as one op
/// (`fused = true`), or as the crate's two ops it fuses.
fn conv_lrelu(
    fused: bool,
    slope: f32,
) -> impl Fn(TapedX, Dyn4<Cpu, NoneTape>, &Bias, usize, usize) -> Conv4 {
    move |x, w, b, s, p| {
        if fused {
            <Cpu as ConvDevice>::conv2d_leaky_relu(x, w, b, s, p, slope)
        } else {
            <Cpu as ConvDevice>::leaky_relu(<Cpu as ConvDevice>::conv2d(x, w, b, s, p)?, slope)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The fused op computes exactly what the two ops compute: the same sums, the same
    /// activation and the same gated ∂y in the same order, so y, ∂x, ∂W and ∂b agree bit for
    /// bit (slope 0 included: ReLU).
    #[test]
    fn conv2d_leaky_relu_is_conv2d_then_leaky_relu(
        (b, c, o, k, s, p, h, w) in shapes(),
        slope in prop_oneof![Just(0.0f32), 0.0f32..1.0],
        seed in any::<u64>(),
    ) {
        let dev = Cpu::seed_from_u64(seed);
        let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(b, c, h, w));
        let wt: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(o, c, k, k));
        let one = run(conv_lrelu(true, slope), &x, &wt, o, s, p, seed ^ 1);
        let two = run(conv_lrelu(false, slope), &x, &wt, o, s, p, seed ^ 1);
        prop_assert_eq!(one, two);
    }
}

/// The fused op against dfdx's convolution and leaky ReLU on a D-sized layer (several chunks
/// and weight-gradient groups), with and without weight gradients. The seed is fixed and the
/// two convolutions' pre-activations have the same sign everywhere (checked: rounding could
/// flip one lying at 0 ± a few ulps), so both sides gate the same elements and the file's
/// tolerance applies as for the convolution alone.
#[test]
fn conv2d_leaky_relu_matches_dfdx_on_a_table3_layer() {
    let dev = Cpu::seed_from_u64(11);
    let (b, c, o, k, s, p, h, slope) = (19, 16, 24, 4, 2, 1, 8, 0.1);
    let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(b, c, h, h));
    let w: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(o, c, k, k));
    let terms = [c * k * k + 1, o * k * k, b * 16, b * 16];
    let pre = run(reference::conv2d, &x, &w, o, s, p, 3).0;
    let ours = run(<Cpu as ConvDevice>::conv2d, &x, &w, o, s, p, 3).0;
    assert!(pre.iter().zip(&ours).all(|(a, b)| (*a > 0.0) == (*b > 0.0)));
    let theirs = run(
        |x, w, b, s, p| reference::leaky_relu(reference::conv2d(x, w, b, s, p)?, slope),
        &x,
        &w,
        o,
        s,
        p,
        3,
    );
    compare(
        &run(conv_lrelu(true, slope), &x, &w, o, s, p, 3),
        &theirs,
        terms,
    );
    let frozen = without_weight_gradients(|| run(conv_lrelu(true, slope), &x, &w, o, s, p, 3));
    assert_eq!(frozen.1, run(conv_lrelu(true, slope), &x, &w, o, s, p, 3).1);
    assert!(frozen.2.iter().chain(&frozen.3).all(|v| *v == 0.0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Leaky ReLU (slope 0 is ReLU) on random lengths: y and ∂x are single products, so they
    /// must agree exactly. Exact zeros are mixed in for slope 0 only: there dfdx's `relu` has
    /// derivative 0 like the kernel, its `prelu` has 1 where the kernel (and PyTorch) has slope.
    #[test]
    fn leaky_relu_matches_dfdx(
        n in 1usize..70_000,
        slope in prop_oneof![Just(0.0f32), 0.0f32..1.0],
        seed in any::<u64>(),
    ) {
        let dev = Cpu::seed_from_u64(seed);
        let x: Tensor<(usize,), f32, Cpu> = dev.sample_normal_like(&(n,));
        let mut xv = x.as_vec();
        if slope == 0.0 {
            xv.iter_mut().step_by(7).for_each(|v| *v = 0.0);
        }
        let x = dev.tensor_from_vec(xv, (n,));
        let r: Tensor<(usize,), f32, Cpu> = dev.sample_normal_like(&(n,));
        let run = |f: LeakyRelu| {
            let y = f(x.leaky_trace(), slope).expect("leaky relu");
            let yv = y.as_vec();
            let g = (y * r.clone()).sum::<Rank0, _>().backward();
            (yv, g.get(&x).as_vec())
        };
        let ours = run(<Cpu as ConvDevice>::leaky_relu);
        let theirs = run(reference::leaky_relu);
        prop_assert_eq!(ours, theirs);
    }
}

/// Same inputs, same bits: the kernels' reductions do not depend on thread timing.
#[test]
fn kernels_are_bit_reproducible() {
    let dev = Cpu::seed_from_u64(9);
    let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(33, 8, 8, 8));
    let w: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(12, 8, 3, 3));
    let a = run(<Cpu as ConvDevice>::conv2d, &x, &w, 12, 1, 1, 5);
    for _ in 0..3 {
        assert_eq!(a, run(<Cpu as ConvDevice>::conv2d, &x, &w, 12, 1, 1, 5));
    }
}

/// `on_kernel_threads` runs its closure on a thread of rayon's pool (this test's thread is not
/// one), calls it directly when already there, gives a convolution's outputs and gradients bit
/// for bit as on the calling thread, and resumes a panic in the caller.
#[test]
fn on_kernel_threads_runs_the_closure_on_a_pool_thread() {
    assert_eq!(rayon::current_thread_index(), None);
    let (outer, inner) = on_kernel_threads(|| {
        let outer = rayon::current_thread_index();
        (outer, on_kernel_threads(rayon::current_thread_index))
    });
    assert!(outer.is_some(), "the closure ran on the calling thread");
    assert_eq!(inner, outer, "a nested call moved to another thread");

    let dev = Cpu::seed_from_u64(9);
    let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(33, 8, 8, 8));
    let w: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(12, 8, 3, 3));
    let here = run(<Cpu as ConvDevice>::conv2d, &x, &w, 12, 2, 1, 5);
    let there = on_kernel_threads(|| run(<Cpu as ConvDevice>::conv2d, &x, &w, 12, 2, 1, 5));
    assert_eq!(here, there);

    let caught = std::panic::catch_unwind(|| on_kernel_threads(|| panic!("in the closure")));
    let message = caught.expect_err("the panic was not resumed");
    assert_eq!(message.downcast_ref::<&str>(), Some(&"in the closure"));
}

/// `freeing_output_gradients`: a convolution's output gradient is freed (an empty buffer) once
/// the convolution's backward pass has used it, and kept otherwise; ∂x, ∂W and ∂b are the
/// same bit for bit either way. The leaky ReLU after it frees its own output's gradient too.
#[test]
fn freeing_output_gradients_frees_the_outputs_gradient_only() {
    let dev = Cpu::seed_from_u64(4);
    let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(5, 6, 8, 8));
    let w: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(7, 6, 3, 3));
    let b: Bias = dev.sample_normal_like(&(7,));
    let run = |free: bool| {
        let (xt, xtape) = x.clone().leaky_traced().split_tape();
        let (wt, wtape) = w.clone().leaky_traced().split_tape();
        let y = <Cpu as ConvDevice>::conv2d(xt.put_tape(xtape.merge(wtape)), wt, &b, 1, 1).unwrap();
        let y_id = y.retaped::<NoneTape>();
        let z = <Cpu as ConvDevice>::leaky_relu(y, 0.2).unwrap();
        let z_id = z.retaped::<NoneTape>();
        let loss = (z * 0.5).sum::<Rank0, _>();
        let mut grads = if free {
            freeing_output_gradients(|| loss.backward())
        } else {
            loss.backward()
        };
        let len = |grads: &mut Gradients<f32, Cpu>, t: &Dyn4<Cpu, NoneTape>| {
            grads.get_or_alloc_mut(t).unwrap().len()
        };
        let sizes = (len(&mut grads, &y_id), len(&mut grads, &z_id));
        let of = |t: &Dyn4<Cpu, NoneTape>| grads.get(t).as_vec();
        (sizes, of(&x), of(&w), grads.get(&b).as_vec())
    };
    let (kept, freed) = (run(false), run(true));
    assert_eq!(kept.0, (5 * 7 * 64, 5 * 7 * 64), "without the switch");
    assert_eq!(freed.0, (0, 0), "with the switch");
    assert!(kept.1.iter().any(|v| *v != 0.0) && kept.3.iter().any(|v| *v != 0.0));
    assert_eq!((kept.1, kept.2, kept.3), (freed.1, freed.2, freed.3));
}

/// `without_weight_gradients`: the same input gradient, bit for bit, and zero weight and bias
/// gradients, for both kinds of convolution; the setting ends with the closure.
#[test]
fn without_weight_gradients_keeps_input_gradients_only() {
    let dev = Cpu::seed_from_u64(10);
    let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(5, 6, 8, 8));
    let w: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(6, 6, 4, 4));
    let o = 6;
    let convs: [Conv; 2] = [
        <Cpu as ConvDevice>::conv2d,
        <Cpu as ConvDevice>::conv_transpose2d,
    ];
    for conv in convs {
        let full = run(conv, &x, &w, o, 2, 1, 6);
        let frozen = without_weight_gradients(|| run(conv, &x, &w, o, 2, 1, 6));
        assert_eq!((&frozen.0, &frozen.1), (&full.0, &full.1));
        assert!(full.2.iter().any(|v| *v != 0.0) && full.3.iter().any(|v| *v != 0.0));
        assert!(frozen.2.iter().chain(&frozen.3).all(|v| *v == 0.0));
        assert_eq!(run(conv, &x, &w, o, 2, 1, 6), full);
    }
}

/// `without_input_gradient`: the same output, weight and bias gradients, bit for bit, and a
/// zero input gradient, with and without the leaky ReLU and with weight gradients off too;
/// transposed convolutions are unaffected; the setting ends with the closure.
#[test]
fn without_input_gradient_keeps_weight_gradients_only() {
    let dev = Cpu::seed_from_u64(11);
    let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(5, 6, 8, 8));
    let w: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(6, 6, 4, 4));
    let o = 6;
    let convs: [Conv; 2] = [<Cpu as ConvDevice>::conv2d, |x, w, b, s, p| {
        <Cpu as ConvDevice>::conv2d_leaky_relu(x, w, b, s, p, 0.1)
    }];
    for conv in convs {
        let full = run(conv, &x, &w, o, 2, 1, 6);
        let skipped = without_input_gradient(|| run(conv, &x, &w, o, 2, 1, 6));
        assert_eq!(skipped.0, full.0);
        assert!(full.1.iter().any(|v| *v != 0.0));
        assert!(skipped.1.iter().all(|v| *v == 0.0));
        assert_eq!((&skipped.2, &skipped.3), (&full.2, &full.3));
        let neither =
            without_input_gradient(|| without_weight_gradients(|| run(conv, &x, &w, o, 2, 1, 6)));
        assert_eq!(neither.0, full.0);
        assert!(neither
            .1
            .iter()
            .chain(&neither.2)
            .chain(&neither.3)
            .all(|v| *v == 0.0));
        assert_eq!(run(conv, &x, &w, o, 2, 1, 6), full);
    }
    let conv_t: Conv = <Cpu as ConvDevice>::conv_transpose2d;
    let full = run(conv_t, &x, &w, o, 2, 1, 6);
    assert_eq!(
        without_input_gradient(|| run(conv_t, &x, &w, o, 2, 1, 6)),
        full
    );
}

/// y, ∂x, ∂γ, ∂β and the updated running mean and variance of `relu(bn(x))` in training mode,
/// L = Σ y ⊙ r, for a BN with random γ, β and running statistics.
fn bn_run<const C: usize>(
    fused: bool,
    x: &Tensor<(usize, Const<C>, usize, usize), f32, Cpu>,
    seed: u64,
) -> [Vec<f32>; 6] {
    let dev = Cpu::seed_from_u64(seed);
    let mut bn: BatchNorm2d<C, Cpu> = BuildModule::build(&dev);
    for t in [
        &mut bn.scale,
        &mut bn.bias,
        &mut bn.running_mean,
        &mut bn.running_var,
    ] {
        let v: Tensor<Rank1<C>, f32, Cpu> = dev.sample_normal();
        t.copy_from(&v.as_vec());
    }
    bn.running_var.copy_from(
        &bn.running_var
            .as_vec()
            .iter()
            .map(|v| v.abs())
            .collect::<Vec<_>>(),
    );
    let y = if fused {
        <Cpu as ConvDevice>::batch_norm2d_relu(&mut bn, x.leaky_trace()).expect("bn")
    } else {
        reference::batch_norm2d_relu(&mut bn, x.leaky_trace()).expect("bn")
    };
    let r: Tensor<(usize, Const<C>, usize, usize), f32, Cpu> = dev.sample_normal_like(y.shape());
    let yv = y.as_vec();
    let g = (y * r).sum::<Rank0, _>().backward();
    [
        yv,
        g.get(x).as_vec(),
        g.get(&bn.scale).as_vec(),
        g.get(&bn.bias).as_vec(),
        bn.running_mean.as_vec(),
        bn.running_var.as_vec(),
    ]
}

/// The fused kernel against dfdx's BN then ReLU. Each compared value depends on per-channel
/// sums of n = B·H·W terms (the batch mean and variance, and in the backward pass the sums
/// of ∂y and ∂y·x̂), which the two implementations round differently (dfdx in f32, the kernel
/// in f64), so the tolerance is the file's 1e-5 per summed term, with n terms.
fn bn_matches_dfdx<const C: usize>(b: usize, h: usize, w: usize, seed: u64) {
    let dev = Cpu::seed_from_u64(seed);
    let x: Tensor<(usize, Const<C>, usize, usize), f32, Cpu> =
        dev.sample_normal_like(&(b, Const, h, w));
    let ours = bn_run(true, &x, seed ^ 1);
    let theirs = bn_run(false, &x, seed ^ 1);
    let n = b * h * w;
    for (i, what) in [
        "y",
        "dL/dx",
        "dL/dgamma",
        "dL/dbeta",
        "running mean",
        "running var",
    ]
    .into_iter()
    .enumerate()
    {
        assert_close(what, &ours[i], &theirs[i], n);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random batch and image sizes (at least 2 values per channel: the running variance's
    /// n/(n − 1)), for 1, 3 and 16 channels.
    #[test]
    fn batch_norm2d_relu_matches_dfdx(
        (b, h, w) in (1usize..9, 1usize..9, 1usize..9).prop_filter("n ≥ 2", |(b, h, w)| b * h * w >= 2),
        seed in any::<u64>(),
    ) {
        bn_matches_dfdx::<1>(b, h, w, seed);
        bn_matches_dfdx::<3>(b, h, w, seed);
        bn_matches_dfdx::<16>(b, h, w, seed);
    }
}

/// A Table 3 generator layer's shape (BN after the second deconvolution, at batch 16).
#[test]
fn batch_norm2d_relu_matches_dfdx_on_a_table3_layer() {
    bn_matches_dfdx::<128>(16, 16, 16, 3);
}

/// `spectral_normalize` for an `O × N` weight.
type SpectralNormalize<const O: usize, const N: usize> = fn(
    &Tensor<Rank2<O, N>, f32, Cpu>,
    &Tensor<Rank1<O>, f32, Cpu>,
    &Tensor<Rank1<N>, f32, Cpu>,
) -> Result<Taped2<O, N>, CpuError>;
type Taped2<const O: usize, const N: usize> = Tensor<Rank2<O, N>, f32, Cpu, OwnedTape<f32, Cpu>>;

/// W̄ and ∂L/∂W (L = Σ W̄ ⊙ r) of `spectral_normalize`: `(W̄, ∂W)`.
fn sn_run<const O: usize, const N: usize>(
    f: SpectralNormalize<O, N>,
    w: &Tensor<Rank2<O, N>, f32, Cpu>,
    u: &Tensor<Rank1<O>, f32, Cpu>,
    v: &Tensor<Rank1<N>, f32, Cpu>,
    r: &Tensor<Rank2<O, N>, f32, Cpu>,
) -> (Vec<f32>, Vec<f32>) {
    let wbar = f(w, u, v).expect("spectral_normalize");
    let values = wbar.as_vec();
    let grads = (wbar * r.clone()).sum::<Rank0, _>().backward();
    (values, grads.get(w).as_vec())
}

/// The largest |ours − reference| relative to the largest |reference|.
fn max_rel_diff(ours: &[f32], reference: &[f32]) -> f32 {
    assert_eq!(ours.len(), reference.len());
    let scale = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let diff = ours
        .iter()
        .zip(reference)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    diff / scale
}

fn sn_matches_dfdx<const O: usize, const N: usize>(seed: u64) {
    let dev = Cpu::seed_from_u64(seed);
    let w: Tensor<Rank2<O, N>, f32, Cpu> = dev.sample_normal();
    let v: Tensor<Rank1<N>, f32, Cpu> = dev.sample_normal();
    // ũ along W v, so that σ̃ = ‖W v‖ is well away from 0, as after power iteration.
    let wv: Vec<f32> = w
        .as_vec()
        .chunks(N)
        .map(|row| row.iter().zip(v.as_vec()).map(|(a, b)| a * b).sum())
        .collect();
    let norm = wv.iter().map(|x| x * x).sum::<f32>().sqrt();
    let u: Tensor<Rank1<O>, f32, Cpu> =
        dev.tensor_from_vec(wv.iter().map(|x| x / norm).collect(), (Const::<O>,));
    let r: Tensor<Rank2<O, N>, f32, Cpu> = dev.sample_normal();
    let ours = sn_run(<Cpu as ConvDevice>::spectral_normalize, &w, &u, &v, &r);
    let theirs = sn_run(reference::spectral_normalize, &w, &u, &v, &r);
    // Both sides compute W/σ̃ and eq. 12 from the same inputs; they differ only in how the
    // sums σ̃ = ũᵀWv and ⟨G, W⟩ round (f64 here, f32 products in dfdx's): a relative
    // difference of about √(O·N)·6e-8 ≤ 1e-5, while a wrong term in eq. 12 is O(1).
    assert!(max_rel_diff(&ours.0, &theirs.0) < 1e-5, "W̄");
    assert!(max_rel_diff(&ours.1, &theirs.1) < 1e-5, "dL/dW");
    // The gradient is not just G/σ̃: the ũvᵀ term matters at this size.
    let plain: Vec<f32> = r
        .as_vec()
        .iter()
        .map(|g| g * ours.0[0] / w.as_vec()[0])
        .collect();
    assert!(max_rel_diff(&plain, &theirs.1) > 1e-3);
    // Without weight gradients: W̄ alike, ∂W present and zero.
    let frozen = without_weight_gradients(|| {
        sn_run(<Cpu as ConvDevice>::spectral_normalize, &w, &u, &v, &r)
    });
    assert_eq!(frozen.0, ours.0);
    assert!(frozen.1.iter().all(|g| *g == 0.0));
}

/// The CPU spectral normalization against dfdx's ops, on a Table 3 layer's matrix
/// (64 × 576: c2's W seen as d_out × d_in·k²) and a small one.
#[test]
fn spectral_normalize_matches_dfdx() {
    sn_matches_dfdx::<64, 576>(13);
    sn_matches_dfdx::<3, 5>(14);
}
