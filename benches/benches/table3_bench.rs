//! sngan: one discriminator step and one generator step of the paper's Table 3 SN-GAN
//! (CIFAR-10, full width, CPU), the D step with and without spectral normalization. Steps as
//! defined in `src/bin/table3_step.rs`, which also prints the SN-overhead ratio and feeds the
//! PyTorch comparison (`benches/pytorch/table3_vs_torch.py`).

use std::time::Duration;

use criterion::Criterion;
use dfdx::prelude::*;
use sngan::loss::Loss;
use sngan::nets::std_cnn::{StdCnnDiscriminator32, StdCnnGenerator32};
use sngan::nets::Image;
use sngan::settings::{Setting, TrainSettings};
use sngan::train::{TrainOptions, Trainer};

fn options() -> TrainOptions {
    let mut settings: TrainSettings = Setting::C.into();
    settings.loss = Loss::Hinge;
    settings.g_batch_size = 128;
    TrainOptions {
        settings,
        ..Default::default()
    }
}

/// D step with and without SN, and the G step; ten samples each (a step takes seconds).
pub fn steps(c: &mut Criterion) {
    let dev = Cpu::seed_from_u64(0);
    let real: Image<32, Cpu, NoneTape> = dev.sample_normal_like(&(64, Const, Const, Const));
    let mut g = c.benchmark_group("table3_step");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    let mut sn = Trainer::<
        32,
        StdCnnGenerator32<f32, Cpu>,
        StdCnnDiscriminator32<true, f32, Cpu>,
        Cpu,
    >::new(Cpu::seed_from_u64(1), options())
    .unwrap();
    let mut plain = Trainer::<
        32,
        StdCnnGenerator32<f32, Cpu>,
        StdCnnDiscriminator32<false, f32, Cpu>,
        Cpu,
    >::new(Cpu::seed_from_u64(1), options())
    .unwrap();
    g.bench_function("d_step_sn", |b| {
        b.iter(|| sn.discriminator_update(real.clone()).unwrap())
    });
    g.bench_function("d_step_plain", |b| {
        b.iter(|| plain.discriminator_update(real.clone()).unwrap())
    });
    g.bench_function("g_step", |b| b.iter(|| sn.generator_update().unwrap()));
    g.finish();
}
