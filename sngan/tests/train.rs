//! The training loop: determinism on the CPU, and what one update does.

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
