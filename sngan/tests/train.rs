//! The training loop: determinism on the CPU, and what one update does.

mod common;

use dfdx::nn::SaveToSafetensors;
use dfdx::prelude::*;
use sngan::data::{digits, Batches};
use sngan::loss::Loss;
use sngan::nets::std_cnn::{StdCnnDiscriminator16Quarter, StdCnnGenerator16Quarter};
use sngan::settings::Setting;
use sngan::train::{TrainOptions, Trainer};

type T16 = Trainer<
    16,
    StdCnnGenerator16Quarter<f32, Cpu>,
    StdCnnDiscriminator16Quarter<true, f32, Cpu>,
    Cpu,
>;

fn options(n_dis: usize, loss: Loss) -> TrainOptions {
    let mut settings: sngan::settings::TrainSettings = Setting::A.into();
    settings.n_dis = n_dis;
    settings.batch_size = 16;
    settings.g_batch_size = 16;
    settings.loss = loss;
    TrainOptions {
        settings,
        total_steps: 10,
        ..Default::default()
    }
}

/// Every tensor of both networks (weights, biases, BN statistics, ũ and v), serialized.
fn snapshot(t: &T16, dir: &std::path::Path, name: &str) -> (Vec<u8>, Vec<u8>) {
    let (g, d) = (
        dir.join(format!("{name}_g.safetensors")),
        dir.join(format!("{name}_d.safetensors")),
    );
    t.g.save_safetensors(&g).unwrap();
    t.d.save_safetensors(&d).unwrap();
    (std::fs::read(g).unwrap(), std::fs::read(d).unwrap())
}

fn run(seed: u64, steps: usize, n_dis: usize) -> T16 {
    let mut t = T16::new(Cpu::seed_from_u64(seed), options(n_dis, Loss::Hinge)).unwrap();
    let mut data = Batches::new(digits::<16>(), seed).unwrap();
    for _ in 0..steps {
        let s = t.train_step(&mut data).unwrap();
        assert!(s.d_loss.is_finite() && s.g_loss.is_finite());
    }
    t
}

#[test]
fn same_seed_and_data_give_bit_identical_weights() {
    let dir = std::env::temp_dir().join(format!("sngan-determinism-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = snapshot(&run(11, 3, 2), &dir, "a");
    let b = snapshot(&run(11, 3, 2), &dir, "b");
    assert!(
        a.0 == b.0,
        "generator weights differ between identical runs"
    );
    assert!(
        a.1 == b.1,
        "discriminator weights differ between identical runs"
    );
    let c = snapshot(&run(12, 3, 2), &dir, "c");
    assert!(
        a.0 != c.0 && a.1 != c.1,
        "a different seed must give different weights"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_step_runs_n_dis_power_iterations_and_updates_both_networks() {
    let mut t = T16::new(Cpu::seed_from_u64(3), options(3, Loss::Standard)).unwrap();
    let mut data = Batches::new(digits::<16>(), 3).unwrap();
    let (u0, w0, g0) = (
        t.d.c1.sn.u.as_vec(),
        t.d.c1.conv.weight.as_vec(),
        t.g.l0.weight.as_vec(),
    );
    let s = t.train_step(&mut data).unwrap();
    assert_eq!(s.step, 1);
    assert_eq!(s.sigma_tilde.len(), 8);
    assert!(s.sigma_tilde.iter().all(|x| x.is_finite() && *x > 0.0));
    assert_ne!(t.d.c1.sn.u.as_vec(), u0);
    assert_ne!(t.d.c1.conv.weight.as_vec(), w0);
    assert_ne!(t.g.l0.weight.as_vec(), g0);
    // Standard loss of an undecided D is 2·ln 2 ≈ 1.386; after three updates it is near that.
    assert!((0.5..3.0).contains(&s.d_loss), "d_loss {}", s.d_loss);
}

mod baselines {
    use dfdx::prelude::*;
    use sngan::baselines::{Method, CLIP};
    use sngan::config::{Dataset, RunConfig};
    use sngan::data::{digits, Batches};
    use sngan::nets::method::StdCnnMethodDiscriminator16Quarter;
    use sngan::nets::std_cnn::StdCnnGenerator16Quarter;
    use sngan::run::{self, RunOptions};
    use sngan::train::Trainer;

    type TM = Trainer<
        16,
        StdCnnGenerator16Quarter<f32, Cpu>,
        StdCnnMethodDiscriminator16Quarter<f32, Cpu>,
        Cpu,
    >;

    fn trainer(method: Method) -> TM {
        let mut o = super::options(1, method.default_loss().into());
        o.settings.batch_size = 8;
        o.settings.g_batch_size = 8;
        TM::with_method(Cpu::seed_from_u64(4), o, method).unwrap()
    }

    #[test]
    fn clip_keeps_every_d_parameter_in_the_box_after_an_update() {
        let mut t = trainer(Method::Clip);
        let mut data = Batches::new(digits::<16>(), 4).unwrap();
        let before = t.d.c3.conv.weight.as_vec();
        // Initial N(0, 0.02²) weights exceed 0.01 often: clipping has work to do.
        assert!(before.iter().any(|w| w.abs() > CLIP));
        t.train_step(&mut data).unwrap();
        let named = sngan::checkpoint::named_tensors(&t.d).unwrap();
        let mut n = 0;
        for (name, (_, v)) in &named {
            if name.ends_with(".u") || name.ends_with(".v") {
                continue; // SN state, not parameters
            }
            assert!(v.iter().all(|x| x.abs() <= CLIP), "{name} leaves [−c, c]");
            n += 1;
        }
        assert_eq!(n, 17, "8 weights, 8 biases and gamma");
        assert!(t.d.c3.conv.weight.as_vec().iter().any(|w| w.abs() == CLIP));
    }

    #[test]
    fn sn_gamma_is_trained() {
        let mut t = trainer(Method::SnGamma);
        let mut data = Batches::new(digits::<16>(), 4).unwrap();
        let g0 = t.d.gamma.as_vec();
        let s = t.train_step(&mut data).unwrap();
        assert_eq!(s.sigma_tilde.len(), 8, "SN-γ iterates ũ like SN");
        let g1 = t.d.gamma.as_vec();
        assert!(g0.iter().zip(&g1).all(|(a, b)| a != b), "{g0:?} -> {g1:?}");
    }

    #[test]
    fn every_method_trains_on_the_digits_and_reports_its_spectra() {
        let root = std::env::temp_dir().join(format!("sngan-methods-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for method in Method::ALL {
            let mut c = RunConfig::for_dataset(Dataset::Digits);
            c.method = method;
            c.loss = method.default_loss();
            c.steps = 2;
            c.batch = Some(8);
            c.sigma_every = 1;
            c.sample_every = 2;
            c.checkpoint_every = 2;
            c.warmup_rounds = 3;
            let dir = root.join(method.name());
            let s = run::train(&c, &dir, RunOptions::default()).unwrap();
            let last = s.last.unwrap();
            assert!(
                last.d_loss.is_finite() && last.g_loss.is_finite(),
                "{method}: {last:?}"
            );
            let m = run::read_metrics(&dir).unwrap();
            assert_eq!(m.len(), 2, "{method}");
            let sigma = &m[1].sigma;
            assert_eq!(sigma.len(), 8);
            assert!(
                sigma.iter().all(|s| s.is_finite() && *s > 0.0),
                "{method}: {sigma:?}"
            );
            let spectra = run::spectra(&dir).unwrap();
            assert_eq!(spectra.len(), 8);
            for (sp, s) in spectra.iter().zip(sigma) {
                let v = &sp.singular_values;
                assert!(
                    v.windows(2).all(|p| p[0] >= p[1]),
                    "{method} {}: not descending",
                    sp.name
                );
                // SVD and sn-core's power iteration on the same matrix agree to ~1e-12; for SN
                // the metrics' σ̃ is computed in f32 on the device, the spectra's in f64.
                assert!(
                    (v[0] / s - 1.0).abs() < 1e-4,
                    "{method} {}: {} vs {s}",
                    sp.name,
                    v[0]
                );
            }
            // c0: 16 × 27 → 16 singular values; l7: 1 × 512 → 1.
            assert_eq!(
                (
                    spectra[0].singular_values.len(),
                    spectra[7].singular_values.len()
                ),
                (16, 1)
            );
            if method == Method::Wn {
                // Unit rows: σ ≥ 1 and Σσ² = number of rows.
                let ss: f64 = spectra[3].singular_values.iter().map(|x| x * x).sum();
                assert!((ss - 32.0).abs() < 1e-6, "wn c3: Σσ² = {ss}");
            }
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn methods_are_refused_for_the_resnets() {
        let mut c = RunConfig::for_dataset(Dataset::Digits);
        c.arch = sngan::config::Arch::ResNet;
        c.method = Method::Bn;
        let dir = std::env::temp_dir().join(format!("sngan-resnet-bn-{}", std::process::id()));
        let e = run::train(&c, &dir, RunOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--method bn") && e.contains("standard CNN"),
            "{e}"
        );
        assert!(!dir.exists());
    }
}

/// `per_image()` is the licence for the trainer's stacked D(real), D(fake) forward: where a
/// discriminator claims it, D of the stacked batch equals the two separate forwards; where it
/// does not (batch normalization in D), stacking changes the logits.
mod stacked_forward {
    use super::common::param_grads;
    use dfdx::prelude::*;
    use sngan::baselines::Method;
    use sngan::nets::method::StdCnnMethodDiscriminator16Quarter;
    use sngan::nets::resnet::ResNetDiscriminator16Quarter;
    use sngan::nets::std_cnn::StdCnnDiscriminator16Quarter;
    use sngan::nets::{Discriminator, Image};

    /// Largest |stacked − separate| over the largest |separate| logit.
    fn stacked_vs_separate<D: Discriminator<16, Cpu>>(d: &D, dev: &Cpu) -> f32 {
        let real: Image<16, Cpu, NoneTape> = dev.sample_normal_like(&(6, Const, Const, Const));
        // A batch with other statistics, so that batch normalization would tell them apart.
        let fake: Image<16, Cpu, NoneTape> =
            dev.sample_normal_like(&(6, Const, Const, Const)) * 0.3 + 0.5;
        let both = (real.clone(), fake.clone()).concat_along(Axis::<0>);
        let stacked = d.forward(both).unwrap().as_vec();
        let mut separate = d.forward(real).unwrap().as_vec();
        separate.extend(d.forward(fake).unwrap().as_vec());
        let scale = separate.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let diff = stacked
            .iter()
            .zip(&separate)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        diff / scale
    }

    // f32 sums over ≤ 2,304 terms whose order the GEMM's blocking may change with the batch
    // width: rounding only, far below 1e-5 of the logits' scale.
    const ROUNDING: f32 = 1e-5;

    #[test]
    fn per_image_discriminators_give_the_stacked_batch_the_separate_logits() {
        let dev = Cpu::seed_from_u64(5);
        let std_cnn = StdCnnDiscriminator16Quarter::<true, f32, Cpu>::new(&dev, 1).unwrap();
        assert!(std_cnn.per_image());
        let e = stacked_vs_separate(&std_cnn, &dev);
        assert!(e <= ROUNDING, "std CNN: {e}");
        let resnet = ResNetDiscriminator16Quarter::<true, f32, Cpu>::new(&dev, 1).unwrap();
        assert!(resnet.per_image());
        let e = stacked_vs_separate(&resnet, &dev);
        assert!(e <= ROUNDING, "ResNet: {e}");
        for method in [Method::Sn, Method::Ln, Method::WganGp] {
            let d =
                StdCnnMethodDiscriminator16Quarter::<f32, Cpu>::build_for(&dev, 1, method).unwrap();
            assert!(d.per_image(), "{method}");
            let e = stacked_vs_separate(&d, &dev);
            assert!(e <= ROUNDING, "{method}: {e}");
        }
    }

    /// `forward_constant_input` (the D step's forward): the logits and every parameter
    /// gradient of `forward`, bit for bit, and a zero gradient for the images.
    #[test]
    fn constant_input_forward_gives_forwards_parameter_gradients() {
        let dev = Cpu::seed_from_u64(6);
        let d = StdCnnDiscriminator16Quarter::<true, f32, Cpu>::new(&dev, 1).unwrap();
        let x: Image<16, Cpu, NoneTape> = dev.sample_normal_like(&(5, Const, Const, Const));
        let run = |constant: bool| {
            // Leaky: every gradient is kept, the images' included (`alloc_grads` keeps D's only).
            let xt = x.clone().traced(Gradients::leaky());
            let logits = if constant {
                d.forward_constant_input(xt).unwrap()
            } else {
                d.forward(xt).unwrap()
            };
            let l = logits.as_vec();
            let grads = (logits * 0.5).sum::<Rank0, _>().backward();
            (l, param_grads(&d, &grads), grads.get(&x).as_vec())
        };
        let (full, constant) = (run(false), run(true));
        assert_eq!(constant.0, full.0, "logits");
        assert_eq!(constant.1.len(), full.1.len());
        for ((name, g), (_, h)) in constant.1.iter().zip(&full.1) {
            assert!(
                h.iter().any(|v| *v != 0.0),
                "{name}: no gradient to compare"
            );
            assert_eq!(g, h, "{name}");
        }
        assert!(full.2.iter().any(|v| *v != 0.0));
        assert!(constant.2.iter().all(|v| *v == 0.0));
    }

    /// `freeing_output_gradients` around the G step's backward pass (G in training mode, then
    /// D with SN, as `Trainer::generator_update` runs them; ResNet G and D too): every
    /// parameter gradient of both networks, bit for bit, as when the pass keeps all gradients.
    #[test]
    fn freeing_output_gradients_keeps_every_parameter_gradient() {
        use sngan::device::freeing_output_gradients;
        use sngan::nets::resnet::ResNetGenerator16Quarter;
        use sngan::nets::std_cnn::StdCnnGenerator16Quarter;
        use sngan::nets::Generator;

        fn check<G: Generator<16, Cpu>, D: Discriminator<16, Cpu>>(g: &G, d: &D, dev: &Cpu) {
            let z: Tensor<(usize, Const<128>), f32, Cpu> = dev.sample_normal_like(&(6, Const));
            let run = |free: bool| {
                // Leaky: the gradients of both networks are kept (`alloc_grads` keeps one's).
                let mut g = g.clone();
                let fake = g
                    .forward_train(z.clone().traced(Gradients::leaky()))
                    .unwrap();
                let loss = (d.forward(fake).unwrap() * 0.5).sum::<Rank0, _>();
                let grads = if free {
                    freeing_output_gradients(|| loss.backward())
                } else {
                    loss.backward()
                };
                (param_grads(&g, &grads), param_grads(d, &grads))
            };
            let (kept, freed) = (run(false), run(true));
            for (k, f) in [(&kept.0, &freed.0), (&kept.1, &freed.1)] {
                assert_eq!(k.len(), f.len());
                for ((name, a), (_, b)) in k.iter().zip(f) {
                    assert!(
                        a.iter().any(|v| *v != 0.0),
                        "{name}: no gradient to compare"
                    );
                    assert_eq!(a, b, "{name}");
                }
            }
        }
        let dev = Cpu::seed_from_u64(8);
        let g = <StdCnnGenerator16Quarter<f32, Cpu> as Generator<16, Cpu>>::build(&dev).unwrap();
        let d = StdCnnDiscriminator16Quarter::<true, f32, Cpu>::new(&dev, 1).unwrap();
        check(&g, &d, &dev);
        let g = <ResNetGenerator16Quarter<f32, Cpu> as Generator<16, Cpu>>::build(&dev).unwrap();
        let d = ResNetDiscriminator16Quarter::<true, f32, Cpu>::new(&dev, 1).unwrap();
        check(&g, &d, &dev);
    }

    #[test]
    fn batch_norm_in_d_is_not_per_image() {
        let dev = Cpu::seed_from_u64(5);
        let d =
            StdCnnMethodDiscriminator16Quarter::<f32, Cpu>::build_for(&dev, 1, Method::Bn).unwrap();
        assert!(!d.per_image());
        // Batch statistics of the stacked batch differ from each half's: so do the logits.
        let e = stacked_vs_separate(&d, &dev);
        assert!(e > 1e-3, "BN: stacking changed the logits by only {e}");
    }
}
