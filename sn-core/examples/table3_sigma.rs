//! σ̃ and σ(W̄) for the weight shapes of the paper's Table 3 discriminator (CIFAR-10), with
//! random weights: how far one power-iteration round is from σ, and how recycling ũ across
//! training steps (Algorithm 1) keeps σ(W̄) near 1 — the mechanism behind Fig. 9.
//!
//! `cargo run --release -p sn-core --example table3_sigma`

use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::StandardNormal;
use sn_core::{lipschitz_bound, DynMatrix, DynSpectralNorm};

/// (name, d_out, d_in, kh, kw) of Table 3's discriminator, M = 32.
const LAYERS: [(&str, usize, usize, usize, usize); 8] = [
    ("conv0 3x3 3->64", 64, 3, 3, 3),
    ("conv1 4x4 64->64", 64, 64, 4, 4),
    ("conv2 3x3 64->128", 128, 64, 3, 3),
    ("conv3 4x4 128->128", 128, 128, 4, 4),
    ("conv4 3x3 128->256", 256, 128, 3, 3),
    ("conv5 4x4 256->256", 256, 256, 4, 4),
    ("conv6 3x3 256->512", 512, 256, 3, 3),
    ("dense 8192->1", 1, 512 * 4 * 4, 1, 1),
];

/// Simulated training: steps, and the relative size of each step's weight change.
const STEPS: usize = 200;
const STEP_SIZE: f32 = 1e-3;

fn main() -> Result<(), sn_core::Error> {
    let mut rng = StdRng::seed_from_u64(2018);
    println!("Table 3 discriminator (CIFAR-10), weights ~ N(0, 0.02²), f32; one round per step.\n");
    println!(
        "| layer | matrix | σ(W) | σ̃ 1 round / σ | σ(W̄) after 1 round | σ(W̄) range over {STEPS} steps (1 round each) |"
    );
    println!("|---|---|---|---|---|---|");
    let (mut after_one, mut after_steps) = (Vec::new(), Vec::new());
    for (name, d_out, d_in, kh, kw) in LAYERS {
        let cols = d_in * kh * kw;
        let mut w: Vec<f32> = (0..d_out * cols)
            .map(|_| 0.02 * rng.sample::<f32, _>(StandardNormal))
            .collect();
        let u0: Vec<f32> = (0..d_out).map(|_| rng.sample(StandardNormal)).collect();
        let mut sn = DynSpectralNorm::new(u0, vec![0.0f32; cols])?;
        let (mut u, mut v, mut work) = (vec![0.0; d_out], vec![0.0; cols], vec![0.0; cols]);
        let mut w_bar = vec![0.0f32; w.len()];

        let m = DynMatrix::conv(&w, d_out, d_in, kh, kw)?;
        let exact = m
            .sigma_exact(1e-4, 100_000, &mut u, &mut v, &mut work)?
            .sigma;
        let est = sn.power_iteration(m, 1)?;
        sn.normalize(m, &mut w_bar)?;
        let bar = DynMatrix::conv(&w_bar, d_out, d_in, kh, kw)?;
        let first = bar
            .sigma_exact(1e-4, 100_000, &mut u, &mut v, &mut work)?
            .sigma;
        after_one.push(first);

        // Each "training step" nudges W, then runs one round from the recycled ũ.
        let (mut lo, mut hi) = (f32::INFINITY, 0.0f32);
        for step in 0..STEPS {
            for x in w.iter_mut() {
                *x += STEP_SIZE * 0.02 * rng.sample::<f32, _>(StandardNormal);
            }
            let m = DynMatrix::conv(&w, d_out, d_in, kh, kw)?;
            sn.power_iteration(m, 1)?;
            if step % 20 == 19 {
                sn.normalize(m, &mut w_bar)?;
                let bar = DynMatrix::conv(&w_bar, d_out, d_in, kh, kw)?;
                let s = bar
                    .sigma_exact(1e-4, 100_000, &mut u, &mut v, &mut work)?
                    .sigma;
                lo = lo.min(s);
                hi = hi.max(s);
            }
        }
        after_steps.push(hi);
        println!(
            "| {name} | {d_out}×{cols} | {exact:.4} | {:.4} | {first:.4} | [{lo:.4}, {hi:.4}] |",
            est / exact
        );
    }
    println!(
        "\nLipschitz bound ∏σ(W̄) of the normalized network: {:.3} after one round, {:.4} after {STEPS} steps (1 = exact normalization).",
        lipschitz_bound(after_one.iter().copied())?,
        lipschitz_bound(after_steps.iter().copied())?
    );
    Ok(())
}
