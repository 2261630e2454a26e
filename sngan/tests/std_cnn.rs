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
