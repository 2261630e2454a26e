//! The GPU machine's checks of the Table 3 SN-GAN (CIFAR-10, M = 32, full width): CUDA against
//! the CPU, and CUDA step times (built with `--features cuda`; see `scripts/build-cuda.sh`).
//!
//! ```text
//! gpu_check parity [--batch N]              CPU vs CUDA: one JSON object on stdout
//! gpu_check speed  [--steps N] [--warmup N] one JSON line per measured config on stdout
//! ```
//!
//! **parity** builds G and D on the CPU (seeded), copies them to the GPU with dfdx's
//! `ToDevice` (weights, BN statistics, ũ and v alike) and runs, on both devices with the same
//! inputs: G's training-mode forward; D's forward on real images; the hinge discriminator loss
//! and its gradient for every D parameter; the generator loss −mean D(G(z)) and its gradient
//! for every G parameter; one power-iteration round (σ̃ of every layer, ũ and v after it).
//! Each comparison reports `max |cpu − cuda| / max |cpu|` over the tensor and passes when it is
//! within its tolerance:
//! - forward outputs, losses, σ̃, ũ, v: 1e-4. Both devices compute in f32; cuBLAS and dfdx's
//!   CPU GEMM sum in different orders, which moves results by a few ulps per layer (≈ 1e-6
//!   relative after the 8 layers of D); 1e-4 leaves room without hiding a wrong kernel (a wrong
//!   stride, padding or transposition changes outputs by O(1)).
//! - gradients: 1e-3. Weight gradients are sums over the batch and every output position (up
//!   to 64·32·32 = 65,536 terms per weight) in different orders on the two devices; with
//!   cancellation the relative rounding of such sums reaches 1e-4–1e-3 of the largest entry.
//!
//! The process exits with status 1 when a comparison fails.
//!
//! **speed** times, on CUDA: the D step (power iteration, 64 fakes from G without gradient,
//! D on 64 real + 64 fake, hinge, backward, Adam) with and without SN, and the G step (128
//! samples), as `benches/pytorch/table3_cuda.py` times the same steps in PyTorch; and the
//! seconds per 100 generator updates at n_dis = 5 (the paper's Fig. 10: ≈ 31 s on its 2018
//! GPU), on the digits upscaled to 32×32. GPU work is asynchronous: each timing covers a block
//! of steps and ends with a device-to-host read (which waits for all queued work); a step's
//! time is the block's time divided by its steps.

#[cfg(feature = "cuda")]
fn main() {
    if let Err(e) = cuda::main() {
        eprintln!("gpu_check: {e}");
        std::process::exit(2);
    }
}

#[cfg(not(feature = "cuda"))]
fn main() {
    eprintln!("gpu_check: built without the `cuda` feature (see scripts/build-cuda.sh)");
    std::process::exit(2);
}

#[cfg(feature = "cuda")]
mod cuda {
    use std::collections::BTreeMap;
    use std::time::Instant;

    use dfdx::nn::tensor_collection::{
        RecursiveWalker, TensorCollection, TensorOptions, TensorVisitor, ViewTensorName,
        ViewTensorRef,
    };
    use dfdx::nn::ToDevice;
    use dfdx::prelude::*;
    use sngan::checkpoint::named_tensors;
    use sngan::data::{digits, Batches};
    use sngan::loss::Loss;
    use sngan::nets::std_cnn::{StdCnnDiscriminator32, StdCnnGenerator32};
    use sngan::nets::{Discriminator, Generator, Image, Latents, Z_DIM};
    use sngan::settings::{Setting, TrainSettings};
    use sngan::train::{TrainOptions, Trainer};
    use sngan::ConvDevice;

    type G<D> = StdCnnGenerator32<f32, D>;
    type Dsc<const SN: bool, D> = StdCnnDiscriminator32<SN, f32, D>;

    type Named = BTreeMap<String, Vec<f32>>;

    /// The gradient of every trainable tensor of `m`, by path.
    fn grads_by_name<M: TensorCollection<f32, D>, D: Device<f32>>(
        m: &M,
        grads: &Gradients<f32, D>,
    ) -> Named {
        struct V<'a, D: Device<f32>>(Named, &'a Gradients<f32, D>);
        impl<D: Device<f32>> TensorVisitor<f32, D> for V<'_, D> {
            type Viewer = (ViewTensorRef, ViewTensorName);
            type Err = D::Err;
            type E2 = f32;
            type D2 = D;
            fn visit<S: Shape>(
                &mut self,
                opts: TensorOptions<S, f32, D>,
                (t, name): (&Tensor<S, f32, D>, String),
            ) -> Result<Option<Tensor<S, f32, D>>, Self::Err> {
                if opts.do_gradient_update {
                    self.0.insert(name, self.1.get(t).as_vec());
                }
                Ok(None)
            }
        }
        let mut v = V(Named::new(), grads);
        M::iter_tensors(&mut RecursiveWalker {
            m: (m, String::new()),
            f: &mut v,
        })
        .expect("reading gradients");
        v.0
    }

    /// `max |a − b| / max |a|` (0 for two zero tensors).
    fn rel(a: &[f32], b: &[f32]) -> f64 {
        assert_eq!(a.len(), b.len(), "compared tensors differ in length");
        let scale = a.iter().fold(0f64, |m, x| m.max(x.abs() as f64));
        let diff = a
            .iter()
            .zip(b)
            .fold(0f64, |m, (x, y)| m.max((*x as f64 - *y as f64).abs()));
        if scale == 0.0 {
            diff
        } else {
            diff / scale
        }
    }

    struct Report {
        rows: Vec<(String, f64, f64)>,
    }

    impl Report {
        fn check(&mut self, what: &str, a: &[f32], b: &[f32], tol: f64) {
            self.rows.push((what.to_string(), rel(a, b), tol));
        }
        fn check_all(&mut self, prefix: &str, a: &Named, b: &Named, tol: f64) {
            assert_eq!(
                a.keys().collect::<Vec<_>>(),
                b.keys().collect::<Vec<_>>(),
                "{prefix}: the devices hold different tensors"
            );
            for (k, v) in a {
                self.check(&format!("{prefix}.{k}"), v, &b[k], tol);
            }
        }
        fn passed(&self) -> bool {
            self.rows
                .iter()
                .all(|(_, e, tol)| e.is_finite() && e <= tol)
        }
    }

    /// Everything one device computes in the parity check.
    struct Pass {
        fake: Vec<f32>,
        logits: Vec<f32>,
        d_loss: f32,
        d_grads: Named,
        g_loss: f32,
        g_grads: Named,
        sigma_tilde: Vec<f32>,
        d_after: Named,
    }

    fn pass<D: ConvDevice>(
        dev: &D,
        mut g: G<D>,
        mut d: Dsc<true, D>,
        z: &[f32],
        x: &[f32],
        n: usize,
    ) -> Result<Pass, sngan::Error> {
        let e = D::into_error;
        let z: Latents<D, NoneTape> = dev
            .try_tensor_from_vec(z.to_vec(), (n, Const::<Z_DIM>))
            .map_err(e)?;
        let x: Image<32, D, NoneTape> = dev
            .try_tensor_from_vec(x.to_vec(), (n, Const, Const, Const))
            .map_err(e)?;
        // D update: G in training mode without gradient, D on real and fake, hinge.
        let fake = g.forward_train(z.clone().retaped()).map_err(e)?;
        let (fake, _) = fake.split_tape();
        let gd = d.try_alloc_grads().map_err(e)?;
        let l_real = d.forward(x.clone().traced(gd)).map_err(e)?;
        let l_fake = d.forward(fake.clone().retaped()).map_err(e)?;
        let loss = Loss::Hinge.discriminator(l_real, l_fake);
        let d_loss = loss.array();
        let gd = loss.backward();
        let logits = d.forward(x).map_err(e)?.as_vec();
        let d_grads = grads_by_name(&d, &gd);
        // G update: −mean D(G(z)).
        let gg = g.try_alloc_grads().map_err(e)?;
        let out = g.forward_train(z.traced(gg)).map_err(e)?;
        let loss = Loss::Hinge.generator(d.forward(out).map_err(e)?);
        let g_loss = loss.array();
        let gg = loss.backward();
        let g_grads = grads_by_name(&g, &gg);
        let sigma_tilde = d.power_iteration(1).map_err(e)?;
        Ok(Pass {
            fake: fake.as_vec(),
            logits,
            d_loss,
            d_grads,
            g_loss,
            g_grads,
            sigma_tilde: sigma_tilde.to_vec(),
            d_after: named_tensors(&d)
                .map_err(e)?
                .into_iter()
                .map(|(k, (_, v))| (k, v))
                .collect(),
        })
    }

    fn parity(n: usize) -> Result<bool, sngan::Error> {
        let cpu = Cpu::seed_from_u64(0);
        let cuda = Cuda::try_seed_from_u64(0).map_err(Cuda::into_error)?;
        let g = <G<Cpu> as Generator<32, Cpu>>::build(&cpu).map_err(Cpu::into_error)?;
        let d =
            <Dsc<true, Cpu> as Discriminator<32, Cpu>>::build(&cpu, 15).map_err(Cpu::into_error)?;
        let (g_gpu, d_gpu) = (g.to_device(&cuda), d.to_device(&cuda));
        let z: Vec<f32> = cpu.sample_normal_like(&(n, Const::<Z_DIM>)).as_vec();
        let x: Vec<f32> = cpu
            .sample_normal_like(&(n, Const::<3>, Const::<32>, Const::<32>))
            .as_vec();
        let t = Instant::now();
        let a = pass(&cpu, g, d, &z, &x, n)?;
        let cpu_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let b = pass(&cuda, g_gpu, d_gpu, &z, &x, n)?;
        let cuda_s = t.elapsed().as_secs_f64();

        let mut r = Report { rows: Vec::new() };
        r.check("G(z) training mode", &a.fake, &b.fake, 1e-4);
        r.check("D(x) logits", &a.logits, &b.logits, 1e-4);
        r.check("D hinge loss", &[a.d_loss], &[b.d_loss], 1e-4);
        r.check("G loss", &[a.g_loss], &[b.g_loss], 1e-4);
        r.check("sigma_tilde", &a.sigma_tilde, &b.sigma_tilde, 1e-4);
        r.check_all("grad D", &a.d_grads, &b.d_grads, 1e-3);
        r.check_all("grad G", &a.g_grads, &b.g_grads, 1e-3);
        let sn_vectors = |m: &Named| -> Named {
            m.iter()
                .filter(|(k, _)| k.ends_with(".u") || k.ends_with(".v"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        r.check_all(
            "after power iteration",
            &sn_vectors(&a.d_after),
            &sn_vectors(&b.d_after),
            1e-4,
        );
        let passed = r.passed();
        let rows: Vec<String> = r
            .rows
            .iter()
            .map(|(w, e, tol)| {
                format!(
                    "{{\"what\": {w:?}, \"max_rel_err\": {e:e}, \"tolerance\": {tol:e}, \"ok\": {}}}",
                    e <= tol
                )
            })
            .collect();
        let worst = r.rows.iter().fold(
            ("", 0f64),
            |m, (w, e, _)| if *e > m.1 { (w, *e) } else { m },
        );
        println!(
            "{{\"check\": \"parity\", \"batch\": {n}, \"passed\": {passed}, \"worst\": [{:?}, {:e}], \"cpu_s\": {cpu_s:.3}, \"cuda_s\": {cuda_s:.3}, \"comparisons\": [\n  {}\n]}}",
            worst.0,
            worst.1,
            rows.join(",\n  ")
        );
        Ok(passed)
    }

    fn options(n_dis: usize) -> TrainOptions {
        let mut settings: TrainSettings = Setting::C.into();
        settings.loss = Loss::Hinge;
        settings.batch_size = 64;
        settings.g_batch_size = 128;
        settings.n_dis = n_dis;
        TrainOptions {
            settings,
            ..Default::default()
        }
    }

    /// Seconds per call of `step`, from `blocks` blocks of `per` calls each (median block).
    fn per_step(
        blocks: usize,
        per: usize,
        mut step: impl FnMut() -> Result<(), sngan::Error>,
        mut sync: impl FnMut() -> Result<(), sngan::Error>,
    ) -> Result<f64, sngan::Error> {
        let mut times = Vec::new();
        for _ in 0..blocks {
            sync()?;
            let t = Instant::now();
            for _ in 0..per {
                step()?;
            }
            sync()?;
            times.push(t.elapsed().as_secs_f64() / per as f64);
        }
        times.sort_by(f64::total_cmp);
        Ok(times[times.len() / 2])
    }

    fn speed(steps: usize, warmup: usize) -> Result<(), sngan::Error> {
        type Sn = Trainer<32, G<Cuda>, Dsc<true, Cuda>, Cuda>;
        type Plain = Trainer<32, G<Cuda>, Dsc<false, Cuda>, Cuda>;
        let e = Cuda::into_error;
        let dev = Cuda::try_seed_from_u64(0).map_err(e)?;
        let real: Image<32, Cuda, NoneTape> = dev.sample_normal_like(&(64, Const, Const, Const));
        let mut sn = Sn::new(dev.clone(), options(1))?;
        let mut plain = Plain::new(dev.clone(), options(1))?;
        // A device-to-host read waits for every queued kernel.
        let sync_dev = dev.clone();
        let sync = move || -> Result<(), sngan::Error> {
            let probe: Tensor<Rank1<1>, f32, Cuda> = sync_dev.try_zeros().map_err(e)?;
            probe.as_vec();
            Ok(())
        };
        let per = steps.max(1);
        for _ in 0..warmup {
            sn.discriminator_update(real.clone())?;
            plain.discriminator_update(real.clone())?;
            sn.generator_update()?;
        }
        let mut lines = Vec::new();
        let blocks = 5;
        let d_sn = per_step(
            blocks,
            per,
            || sn.discriminator_update(real.clone()).map(|_| ()),
            sync.clone(),
        )?;
        let d_plain = per_step(
            blocks,
            per,
            || plain.discriminator_update(real.clone()).map(|_| ()),
            sync.clone(),
        )?;
        let g = per_step(
            blocks,
            per,
            || sn.generator_update().map(|_| ()),
            sync.clone(),
        )?;
        for (cfg, s) in [("d_sn", d_sn), ("d_plain", d_plain), ("g", g)] {
            lines.push(format!(
                "{{\"bench\": \"table3_step\", \"impl\": \"sngan-dfdx-cuda\", \"config\": \"{cfg}\", \"median_s\": {s:.6}}}"
            ));
        }
        // Fig. 10: 100 generator updates at n_dis = 5 (600 updates), real data.
        let mut t5 = Sn::new(dev.clone(), options(5))?;
        let mut data = Batches::new(digits::<32>(), 0)?;
        for _ in 0..warmup {
            t5.train_step(&mut data)?;
        }
        sync()?;
        let t = Instant::now();
        for _ in 0..100 {
            t5.train_step(&mut data)?;
        }
        sync()?;
        let s100 = t.elapsed().as_secs_f64();
        lines.push(format!(
            "{{\"bench\": \"fig10\", \"impl\": \"sngan-dfdx-cuda\", \"config\": \"sn_ndis5\", \"seconds_per_100_g_updates\": {s100:.3}}}"
        ));
        for l in lines {
            println!("{l}");
        }
        Ok(())
    }

    pub fn main() -> Result<(), sngan::Error> {
        let args: Vec<String> = std::env::args().collect();
        let arg = |name: &str, default: usize| -> Result<usize, sngan::Error> {
            match args.iter().position(|a| a == name) {
                None => Ok(default),
                Some(i) => args
                    .get(i + 1)
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| sngan::Error::Config(format!("{name} needs a number"))),
            }
        };
        match args.get(1).map(String::as_str) {
            Some("parity") => {
                if !parity(arg("--batch", 16)?)? {
                    std::process::exit(1);
                }
                Ok(())
            }
            Some("speed") => speed(arg("--steps", 10)?, arg("--warmup", 3)?),
            _ => Err(sngan::Error::Config(
                "usage: gpu_check parity [--batch N] | speed [--steps N] [--warmup N]".into(),
            )),
        }
    }
}
