//! Trains the ¼-width Table 3 SN-GAN on the embedded 8×8 digits (upscaled to 16×16) on the CPU
//! and shows that it learns: losses, σ(W̄) of every discriminator layer (Fig. 9's measurement)
//! and sample grids from a fixed z.
//!
//! `cargo run --release -p sngan --example digits -- [steps] [out_dir]` (defaults: 300, `runs/digits`)

use std::path::PathBuf;
use std::time::Instant;

use dfdx::prelude::*;
use sngan::data::digits;
use sngan::nets::std_cnn::{StdCnnDiscriminator16Quarter, StdCnnGenerator16Quarter};
use sngan::settings::Setting;
use sngan::train::{TrainOptions, Trainer};
use sngan::viz::save_grid;

fn main() -> Result<(), sngan::Error> {
    let mut args = std::env::args().skip(1);
    let steps: usize = args
        .next()
        .map_or(300, |s| s.parse().expect("steps: a number"));
    let out = PathBuf::from(args.next().unwrap_or_else(|| "runs/digits".into()));
    std::fs::create_dir_all(&out)
        .map_err(|e| sngan::Error::Io(format!("{}: {e}", out.display())))?;

    let options = TrainOptions {
        settings: Setting::C.into(),
        total_steps: steps,
        ..Default::default()
    };
    let dev = Cpu::seed_from_u64(0);
    let mut data = digits::<16>(0);
    let mut t = Trainer::<
        16,
        StdCnnGenerator16Quarter<f32, Cpu>,
        StdCnnDiscriminator16Quarter<true, f32, Cpu>,
        Cpu,
    >::new(dev, options)?;
    let z_fixed = t.sample_z(64)?;
    println!("step  d_loss  g_loss  sigma(W_bar) per layer (c0..c6, l7)  s/step");
    let start = Instant::now();
    let mut sigma_min = f64::INFINITY;
    let mut sigma_max: f64 = 0.0;
    for _ in 0..steps {
        let s = t.train_step(&mut data)?;
        if s.step % 25 == 0 || s.step == steps {
            let sig = t.sigmas_of_normalized()?;
            if s.step >= 50 {
                sigma_min = sig.iter().copied().fold(sigma_min, f64::min);
                sigma_max = sig.iter().copied().fold(sigma_max, f64::max);
            }
            let sig: Vec<String> = sig.iter().map(|x| format!("{x:.3}")).collect();
            println!(
                "{:5} {:7.4} {:7.4}  [{}]  {:.2}",
                s.step,
                s.d_loss,
                s.g_loss,
                sig.join(" "),
                start.elapsed().as_secs_f64() / s.step as f64
            );
            let x =
                t.g.forward_eval(z_fixed.clone())
                    .map_err(sngan::Error::from)?;
            save_grid(
                &out.join(format!("samples_{:06}.png", s.step)),
                &x.as_vec(),
                16,
                8,
                3,
            )?;
        }
    }
    println!("sigma(W_bar) over all layers from step 50 on: [{sigma_min:.4}, {sigma_max:.4}]");
    Ok(())
}
