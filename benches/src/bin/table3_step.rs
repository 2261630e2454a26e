//! One training step of the paper's Table 3 SN-GAN (CIFAR-10, M = 32, full width) on the CPU,
//! with and without spectral normalization, measured side by side in one run.
//!
//! The steps are defined as in `benches/pytorch/table3_step.py` (its PyTorch side):
//!
//! - D step: power iteration (SN only), G(z) for 64 fakes (no gradient), D on 64 real and 64
//!   fake images, hinge loss, backward, Adam(2e-4, 0.5, 0.999);
//! - G step: power iteration in D, 128 samples through G and the SN discriminator,
//!   −mean D(G(z)), backward, Adam on G.
//!
//! As on the PyTorch side, D(real) and D(fake) are one forward of the stacked 128-image batch,
//! and the G step computes no weight gradients in D's convolutions
//! (`sngan::device::without_weight_gradients`).
//!
//! `cargo run --release -p sngan-benches --bin table3_step -- [--steps N] [--warmup N] [--json]
//! [--only d_sn|d_plain|g] [--cache]`

// mimalloc, keeping freed memory for the next step: see `sngan::alloc`.
#[global_allocator]
static GLOBAL: sngan::alloc::MiMalloc = sngan::alloc::MiMalloc;

use dfdx::prelude::*;
use sngan::loss::Loss;
use sngan::nets::std_cnn::{StdCnnDiscriminator32, StdCnnGenerator32};
use sngan::nets::Image;
use sngan::settings::{Setting, TrainSettings};
use sngan::train::{TrainOptions, Trainer};
use sngan_benches::{median, secs};

type Sn = Trainer<32, StdCnnGenerator32<f32, Cpu>, StdCnnDiscriminator32<true, f32, Cpu>, Cpu>;
type Plain = Trainer<32, StdCnnGenerator32<f32, Cpu>, StdCnnDiscriminator32<false, f32, Cpu>, Cpu>;

fn options() -> TrainOptions {
    let mut settings: TrainSettings = Setting::C.into();
    settings.loss = Loss::Hinge;
    settings.batch_size = 64;
    settings.g_batch_size = 128;
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
    let arg = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map_or(default, |v| v.parse().expect("a number"))
    };
    let (steps, warmup) = (arg("--steps", 3), arg("--warmup", 1));
    let json = args.iter().any(|a| a == "--json");
    // `--only d_sn|d_plain|g`: run just that step (for profiling one step at a time).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let runs = |cfg: &str| only.as_deref().is_none_or(|o| o == cfg);

    let dev = Cpu::seed_from_u64(0);
    let real: Image<32, Cpu, NoneTape> = dev.sample_normal_like(&(64, Const, Const, Const));
    // `--cache`: dfdx's allocation cache on (`sngan train` leaves it off, see run.rs).
    let cached = |seed| {
        let d = Cpu::seed_from_u64(seed);
        if args.iter().any(|a| a == "--cache") {
            d.enable_cache();
        }
        d
    };
    let mut sn = Sn::new(cached(1), options())?;
    let mut plain = Plain::new(cached(1), options())?;

    let (mut d_sn, mut d_plain, mut g_sn) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..warmup + steps {
        // Interleaved, so that machine noise hits both alike.
        let a = secs(|| {
            if runs("d_sn") {
                sn.discriminator_update(real.clone()).expect("D step (SN)");
            }
        });
        let b = secs(|| {
            if runs("d_plain") {
                plain
                    .discriminator_update(real.clone())
                    .expect("D step (plain)");
            }
        });
        let c = secs(|| {
            if runs("g") {
                sn.generator_update().expect("G step");
            }
        });
        if i >= warmup {
            d_sn.push(a);
            d_plain.push(b);
            g_sn.push(c);
        }
    }
    // With `--only`, the steps not run are left out of the report.
    let steps_run: Vec<(&str, &str, Vec<f64>)> = [
        ("d_sn", "D step, SN", d_sn),
        ("d_plain", "D step, no SN", d_plain),
        ("g", "G step (batch 128)", g_sn),
    ]
    .into_iter()
    .filter(|(cfg, _, _)| runs(cfg))
    .collect();
    let threads = rayon_threads();
    if json {
        for (cfg, _, times) in &steps_run {
            let med = median(times.clone());
            println!(
                "{{\"bench\": \"table3_step\", \"impl\": \"sngan\", \"config\": \"{cfg}\", \"median_s\": {med:.4}, \"times_s\": {times:?}, \"threads\": {threads}}}"
            );
        }
    } else {
        println!("Table 3 SN-GAN step, CIFAR-10 M = 32, full width, CPU ({threads} threads), medians of {steps}:");
        println!("| step | median (s) |\n|---|---|");
        for (_, label, times) in &steps_run {
            println!("| {label} | {:.3} |", median(times.clone()));
        }
        let med = |cfg: &str| {
            let step = steps_run.iter().find(|(c, _, _)| *c == cfg);
            step.map(|(_, _, times)| median(times.clone()))
        };
        if let (Some(sn), Some(plain)) = (med("d_sn"), med("d_plain")) {
            println!("SN overhead (D step SN / no SN): {:.3}", sn / plain);
        }
    }
    Ok(())
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
