//! One training step of the paper's CIFAR-10 ResNet SN-GAN (Table 4, M = 32, full width) on the
//! CPU, with and without spectral normalization, measured side by side in one run.
//!
//! The steps are those of `benches/pytorch/resnet_step.py` (its PyTorch side), with the ResNet
//! schedule's optimizer (Adam α = 2e-4, β = (0, 0.9), hinge loss):
//!
//! - D step: power iteration (SN only), G(z) for `--batch-d` fakes (training mode, no
//!   gradient), D on `--batch-d` real and as many fake images, hinge loss, backward, Adam;
//! - G step: power iteration in D, `--batch-g` samples through G and the SN discriminator,
//!   −mean D(G(z)), backward, Adam on G.
//!
//! The schedule's batches are 64 (D) and 128 (G), the defaults. As on the PyTorch side, D(real)
//! and D(fake) are one forward of the stacked batch, and the G step computes no weight
//! gradients in D's convolutions (`sngan::device::without_weight_gradients`; PyTorch sets
//! requires_grad = False).
//!
//! `cargo run --release -p sngan-benches --bin resnet_step -- [--steps N] [--warmup N]
//! [--batch-d N] [--batch-g N] [--json]`

// mimalloc, keeping freed memory for the next step: see `sngan::alloc`.
#[global_allocator]
static GLOBAL: sngan::alloc::MiMalloc = sngan::alloc::MiMalloc;

use dfdx::prelude::*;
use sngan::nets::resnet::{ResNetDiscriminator32, ResNetGenerator32};
use sngan::nets::Image;
use sngan::settings::{Setting, TrainSettings};
use sngan::train::{TrainOptions, Trainer};
use sngan_benches::{median, secs};

type Sn = Trainer<32, ResNetGenerator32<f32, Cpu>, ResNetDiscriminator32<true, f32, Cpu>, Cpu>;
type Plain = Trainer<32, ResNetGenerator32<f32, Cpu>, ResNetDiscriminator32<false, f32, Cpu>, Cpu>;

fn options(batch_d: usize, batch_g: usize) -> TrainOptions {
    let mut settings: TrainSettings = Setting::ResNet.into();
    settings.batch_size = batch_d;
    settings.g_batch_size = batch_g;
    TrainOptions {
        settings,
        ..Default::default()
    }
}

fn main() -> Result<(), sngan::Error> {
    sngan::alloc::keep_freed_memory();
    // On a thread of the kernels' pool, as `sngan train` runs: see
    // `sngan::device::on_kernel_threads`.
    sngan::device::on_kernel_threads(run)
}

fn run() -> Result<(), sngan::Error> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| -> Result<usize, sngan::Error> {
        match args.iter().position(|a| a == name) {
            None => Ok(default),
            Some(i) => args
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .filter(|&n: &usize| n > 0 || name == "--warmup")
                .ok_or_else(|| sngan::Error::Config(format!("{name} needs a positive number"))),
        }
    };
    let (steps, warmup) = (arg("--steps", 3)?, arg("--warmup", 1)?);
    let (batch_d, batch_g) = (arg("--batch-d", 64)?, arg("--batch-g", 128)?);
    let json = args.iter().any(|a| a == "--json");

    let dev = Cpu::seed_from_u64(0);
    let real: Image<32, Cpu, NoneTape> = dev.sample_normal_like(&(batch_d, Const, Const, Const));
    let mut sn = Sn::new(Cpu::seed_from_u64(1), options(batch_d, batch_g))?;
    let mut plain = Plain::new(Cpu::seed_from_u64(1), options(batch_d, batch_g))?;

    let (mut d_sn, mut d_plain, mut g_sn) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..warmup + steps {
        // Interleaved, so that machine noise hits both alike.
        let a = secs(|| {
            sn.discriminator_update(real.clone()).expect("D step (SN)");
        });
        let b = secs(|| {
            plain
                .discriminator_update(real.clone())
                .expect("D step (plain)");
        });
        let c = secs(|| {
            sn.generator_update().expect("G step");
        });
        if i >= warmup {
            d_sn.push(a);
            d_plain.push(b);
            g_sn.push(c);
        }
    }
    let (ds, dp, g) = (
        median(d_sn.clone()),
        median(d_plain.clone()),
        median(g_sn.clone()),
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if json {
        for (cfg, med, times) in [
            ("d_sn", ds, &d_sn),
            ("d_plain", dp, &d_plain),
            ("g", g, &g_sn),
        ] {
            println!(
                "{{\"bench\": \"resnet_step\", \"impl\": \"sngan-dfdx\", \"config\": \"{cfg}\", \"median_s\": {med:.4}, \"times_s\": {times:?}, \"threads\": {threads}, \"batch_d\": {batch_d}, \"batch_g\": {batch_g}}}"
            );
        }
    } else {
        println!(
            "ResNet SN-GAN step (Table 4), CIFAR-10 M = 32, full width, CPU ({threads} threads), \
             D batch {batch_d}, G batch {batch_g}, medians of {steps}:"
        );
        println!("| step | median (s) |\n|---|---|");
        println!("| D step, SN | {ds:.3} |\n| D step, no SN | {dp:.3} |\n| G step | {g:.3} |");
        println!("SN overhead (D step SN / no SN): {:.3}", ds / dp);
    }
    Ok(())
}
