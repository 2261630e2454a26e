//! Trains the ¼-width Table 3 SN-GAN on the embedded 8×8 digits (upscaled to 16×16) on the CPU
//! and shows that it learns: losses, σ(W̄) of every discriminator layer (Fig. 9's measurement,
//! exact σ from sn-core) and sample grids from a fixed z.
//!
//! `cargo run --release -p sngan --example digits -- [steps] [out_dir]` (defaults: 1000,
//! `runs/digits`). Prints a line every 25 steps; writes `samples_STEP.png` every 100 steps and
//! at the end, and `sigma.csv` (step, losses, σ(W̄) per layer) every 25 steps.

// mimalloc, keeping freed memory for the next step: see `sngan::alloc`.
#[global_allocator]
static GLOBAL: sngan::alloc::MiMalloc = sngan::alloc::MiMalloc;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use dfdx::prelude::*;
use sngan::data::{digits, Batches};
use sngan::nets::std_cnn::{StdCnnDiscriminator16Quarter, StdCnnGenerator16Quarter};
use sngan::settings::Setting;
use sngan::train::{TrainOptions, Trainer};
use sngan::viz::save_grid;

type DigitsGan = Trainer<
    16,
    StdCnnGenerator16Quarter<f32, Cpu>,
    StdCnnDiscriminator16Quarter<true, f32, Cpu>,
    Cpu,
>;

/// Steps before which σ(W̄) is not held to the [0.99, 1.10] band (σ̃ is still catching up with
/// the first, largest weight changes).
const WARMUP_STEPS: usize = 50;

fn main() {
    sngan::alloc::keep_freed_memory();
    // On a thread of the kernels' pool: see `sngan::device::on_kernel_threads`.
    if let Err(e) = sngan::device::on_kernel_threads(run) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), sngan::Error> {
    let mut args = std::env::args().skip(1);
    let steps: usize = match args.next() {
        Some(s) => s
            .parse()
            .map_err(|_| sngan::Error::Config(format!("steps must be a number, got {s:?}")))?,
        None => 1000,
    };
    let out = PathBuf::from(args.next().unwrap_or_else(|| "runs/digits".into()));
    let io = |e: std::io::Error| sngan::Error::Io(format!("{}: {e}", out.display()));
    std::fs::create_dir_all(&out).map_err(io)?;

    let options = TrainOptions {
        settings: Setting::C.into(),
        total_steps: steps,
        ..Default::default()
    };
    let mut data = Batches::new(digits::<16>(), 0)?;
    let mut t = DigitsGan::new(Cpu::seed_from_u64(0), options)?;
    let z_fixed = t.sample_z(64, 2018)?;
    let mut csv = String::from("step,d_loss,g_loss");
    for l in StdCnnDiscriminator16Quarter::<true, f32, Cpu>::LAYERS {
        write!(csv, ",sigma_{l}").expect("writing to a String");
    }
    csv.push('\n');

    println!(
        "Table 3 SN-GAN at 1/4 width on the embedded digits (16x16), setting C, {steps} steps"
    );
    println!(" step  d_loss  g_loss  sigma(W_bar): c0    c1    c2    c3    c4    c5    c6    l7   s/step");
    let start = Instant::now();
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for _ in 0..steps {
        let s = t.train_step(&mut data)?;
        if s.step % 25 == 0 || s.step == steps {
            let sig = t.sigmas_of_normalized()?;
            if s.step > WARMUP_STEPS {
                lo = sig.iter().copied().fold(lo, f64::min);
                hi = sig.iter().copied().fold(hi, f64::max);
            }
            write!(csv, "{},{},{}", s.step, s.d_loss, s.g_loss).expect("writing to a String");
            for x in &sig {
                write!(csv, ",{x}").expect("writing to a String");
            }
            csv.push('\n');
            let sig: Vec<String> = sig.iter().map(|x| format!("{x:.3}")).collect();
            println!(
                "{:5} {:7.4} {:7.4}  {}  {:.2}",
                s.step,
                s.d_loss,
                s.g_loss,
                sig.join(" "),
                start.elapsed().as_secs_f64() / s.step as f64
            );
        }
        if s.step % 100 == 0 || s.step == steps {
            let x = t.g.forward_eval(z_fixed.clone())?;
            let path = out.join(format!("samples_{:06}.png", s.step));
            save_grid(&path, &x.as_vec(), 16, 8, 3)?;
        }
    }
    std::fs::write(out.join("sigma.csv"), csv).map_err(io)?;
    println!(
        "sigma(W_bar) of every layer after step {WARMUP_STEPS}: [{lo:.4}, {hi:.4}]; samples and sigma.csv in {}",
        out.display()
    );
    Ok(())
}
