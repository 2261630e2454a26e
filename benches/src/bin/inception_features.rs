//! Feature extraction of `sngan eval`: images per second through pytorch-fid's FID Inception
//! (resize 32×32 → 299×299, pool3 and logits) on the CPU. The PyTorch side is
//! `benches/pytorch/inception_vs_torch.py`, which runs this binary and the same network in
//! PyTorch with the same threads and batch, and prints the ratio.
//!
//! The weights are random (the speed does not depend on them) unless `--weights FILE` names
//! a converted weights file.
//!
//! `cargo run --release -p sngan-benches --bin inception_features -- [--batch N] [--iters N]
//! [--warmup N] [--weights FILE] [--json]`

// mimalloc, keeping freed memory for the next step: see `sngan::alloc`.
#[global_allocator]
static GLOBAL: sngan::alloc::MiMalloc = sngan::alloc::MiMalloc;

use std::time::Instant;

use rand::{Rng, SeedableRng};
use sngan::metrics::inception::{self, InceptionV3};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    sngan::alloc::keep_freed_memory();
    // On a thread of the kernels' pool, as `sngan eval` runs: see
    // `sngan::device::on_kernel_threads`.
    sngan::device::on_kernel_threads(run)
}

fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().collect();
    let batch: usize = arg(&args, "--batch").map_or(Ok(25), |v| v.parse())?;
    let iters: usize = arg(&args, "--iters").map_or(Ok(2), |v| v.parse())?;
    let warmup: usize = arg(&args, "--warmup").map_or(Ok(1), |v| v.parse())?;
    let json = args.iter().any(|a| a == "--json");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let net = match arg(&args, "--weights") {
        Some(path) => InceptionV3::load(std::path::Path::new(&path))?,
        None => {
            let tensors: Vec<_> = inception::tensor_shapes()
                .into_iter()
                .map(|(name, shape)| {
                    let n: usize = shape.iter().product();
                    let fan_in = shape.iter().skip(1).product::<usize>().max(1) as f32;
                    let a = (6.0 / fan_in).sqrt();
                    let v: Vec<f32> = if name.ends_with("running_var") {
                        vec![1.0; n]
                    } else {
                        (0..n).map(|_| rng.gen_range(-a..a)).collect()
                    };
                    (name, shape, v)
                })
                .collect();
            let path = std::env::temp_dir().join(format!(
                "sngan-inception-bench-{}.safetensors",
                std::process::id()
            ));
            inception::write_weights(&path, &tensors, &[])?;
            let net = InceptionV3::load(&path);
            let _ = std::fs::remove_file(&path);
            net?
        }
    };
    let images: Vec<f32> = (0..batch * 3 * 32 * 32)
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    for _ in 0..warmup {
        net.forward(&images, batch, 32, 32)?;
    }
    let mut secs = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        let f = net.forward(&images, batch, 32, 32)?;
        secs.push(t.elapsed().as_secs_f64());
        assert_eq!(f.pool3.len(), batch * inception::POOL3);
    }
    secs.sort_by(f64::total_cmp);
    let median = secs[secs.len() / 2];
    let rate = batch as f64 / median;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if json {
        println!(
            "{{\"config\": \"inception\", \"batch\": {batch}, \"median_s\": {median}, \"images_per_s\": {rate}, \"threads\": {threads}}}"
        );
    } else {
        println!(
            "FID Inception feature extraction (32x32 -> 299x299), batch {batch}, {threads} threads: {rate:.2} images/s (median of {iters})"
        );
    }
    Ok(())
}
