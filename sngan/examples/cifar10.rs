//! Trains the paper's Table 3 SN-GAN on CIFAR-10 (the binary version: `data_batch_1.bin` ..
//! `data_batch_5.bin`), on the CPU, or on CUDA with `--features cuda`.
//!
//! ```text
//! cargo run --release -p sngan --example cifar10 -- /path/to/cifar-10-batches-bin [steps] [out]
//! CIFAR10_DIR=/path/to/cifar-10-batches-bin cargo run --release -p sngan --example cifar10
//! cargo run --release -p sngan --example cifar10 --features cuda -- /path/to/cifar-10-batches-bin
//! ```
//!
//! Setting C of Table 1 with the standard loss (the paper's standard-CNN defaults), batch 64,
//! one power-iteration round per pass through D. Prints losses and σ(W̄) every 100 steps,
//! writes sample grids and a checkpoint every 1,000 steps to `out` (default `runs/cifar10`).

// mimalloc, keeping freed memory for the next step: see `sngan::alloc`.
#[global_allocator]
static GLOBAL: sngan::alloc::MiMalloc = sngan::alloc::MiMalloc;

use std::path::PathBuf;
use std::time::Instant;

use sngan::checkpoint;
use sngan::data::Batches;
use sngan::datasets::{Cifar10, Cifar10Split};
use sngan::nets::std_cnn::{StdCnnDiscriminator32, StdCnnGenerator32};
use sngan::settings::Setting;
use sngan::train::{TrainOptions, Trainer};
use sngan::viz::save_grid;
use sngan::Dev;

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
    let dir = args
        .next()
        .or_else(|| std::env::var("CIFAR10_DIR").ok())
        .ok_or_else(|| {
            sngan::Error::Config(
                "give the CIFAR-10 binary directory (cifar-10-batches-bin) as the first argument \
                 or in CIFAR10_DIR"
                    .into(),
            )
        })?;
    let steps: usize = match args.next() {
        Some(s) => s
            .parse()
            .map_err(|_| sngan::Error::Config(format!("steps must be a number, got {s:?}")))?,
        None => 100_000,
    };
    let out = PathBuf::from(args.next().unwrap_or_else(|| "runs/cifar10".into()));
    std::fs::create_dir_all(&out)
        .map_err(|e| sngan::Error::Io(format!("{}: {e}", out.display())))?;

    let mut data = Batches::new(Cifar10::open(&dir, Cifar10Split::Train)?, 0)?;
    let options = TrainOptions {
        settings: Setting::C.into(),
        total_steps: steps,
        ..Default::default()
    };
    let mut t = Trainer::<
        32,
        StdCnnGenerator32<f32, Dev>,
        StdCnnDiscriminator32<true, f32, Dev>,
        Dev,
    >::new(Dev::seed_from_u64(0), options)?;
    let z = t.sample_z(100, 2018)?;
    let start = Instant::now();
    for _ in 0..steps {
        let s = t.train_step(&mut data)?;
        if s.step % 100 == 0 {
            let sig: Vec<String> = t
                .sigmas_of_normalized()?
                .iter()
                .map(|x| format!("{x:.3}"))
                .collect();
            println!(
                "step {:6}  d {:.4}  g {:.4}  sigma(W_bar) [{}]  {:.2} s/step",
                s.step,
                s.d_loss,
                s.g_loss,
                sig.join(" "),
                start.elapsed().as_secs_f64() / s.step as f64
            );
        }
        if s.step % 1000 == 0 || s.step == steps {
            let x =
                t.g.forward_eval(z.clone())
                    .map_err(<Dev as sngan::ConvDevice>::into_error)?;
            save_grid(
                &out.join(format!("samples_{:06}.png", s.step)),
                &x.as_vec(),
                32,
                10,
                2,
            )?;
            t.save_checkpoint(&checkpoint::path_for(&out, s.step), data.position())?;
            checkpoint::prune(&out, 3)?;
        }
    }
    Ok(())
}
