//! The GPU machine's checks of the Table 3 SN-GAN (CIFAR-10, M = 32, full width): CUDA against
//! the CPU, and CUDA step times (built with `--features cuda`; see `scripts/build-cuda.sh`).
//!
//! ```text
//! gpu_check parity [--batch N]              CPU vs CUDA: one JSON object on stdout
//! gpu_check speed  [--steps N] [--warmup N] [--cache]
//!                                           one JSON line per measured config on stdout
//! ```
//!
//! **parity** builds G and D on the CPU (seeded), copies them to the GPU with dfdx's
//! `ToDevice` (weights, BN statistics, ũ and v alike) and runs, on both devices with the same
//! inputs: G's training-mode forward; D's forward on real images; the hinge discriminator loss
//! and its gradient for every D parameter; the generator loss −mean D(G(z)) and its gradient
//! for every G parameter; one power-iteration round (σ̃ of every layer, ũ and v after it).
//! D's update sees the same fake images on both devices (the CPU's G(z), copied), so that its
//! gradients compare D alone; G's outputs are compared on their own. Each comparison reports
//! `max |cpu − cuda| / max |cpu|` over the tensor and passes when it is within its tolerance:
//! - forward outputs, losses, σ̃, ũ, v: 1e-4. Both devices compute in f32; cuBLAS and dfdx's
//!   CPU GEMM sum in different orders, which moves results by a few ulps per layer (≈ 1e-6
//!   relative after the 8 layers of D); 1e-4 leaves room without hiding a wrong kernel (a wrong
//!   stride, padding or transposition changes outputs by O(1)).
//! - gradients: 1e-3. Weight gradients are sums over the batch and every output position (up
//!   to 64·32·32 = 65,536 terms per weight) in different orders on the two devices; with
//!   cancellation the relative rounding of such sums reaches 1e-4–1e-3 of the largest entry.
//! - the biases of G's transposed convolutions, each followed by batch normalization in training
//!   mode: their exact gradient is 0 (BN subtracts the per-channel mean, so a per-channel
//!   constant cannot change the loss), and what either device computes is rounding. They pass
//!   when `max |g|` on each device is within 1e-3 of the largest entry of the same layer's
//!   weight gradient, the gradients' tolerance in that layer's own scale.
//!
//! A leaky ReLU whose input lies within rounding of 0 can take the other slope on the other
//! device; that changes the gradient of every layer before it by a whole term, not by rounding.
//! The report counts, per D layer, the pre-activations whose sign differs between the devices
//! (for the same input), so that a gradient difference downstream of such a flip can be told
//! from a wrong kernel.
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

// mimalloc, keeping freed memory for the next step: see `sngan::alloc`.
#[global_allocator]
static GLOBAL: sngan::alloc::MiMalloc = sngan::alloc::MiMalloc;

#[cfg(feature = "cuda")]
fn main() {
    sngan::alloc::keep_freed_memory();
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
        /// (what, max relative error, tolerance, why it is only reported, if it is)
        rows: Vec<(String, f64, f64, Option<String>)>,
    }

    impl Report {
        fn check(&mut self, what: &str, a: &[f32], b: &[f32], tol: f64) {
            self.rows.push((what.to_string(), rel(a, b), tol, None));
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
                .all(|(_, e, tol, exempt)| exempt.is_some() || (e.is_finite() && e <= tol))
        }
    }

    /// Everything one device computes in the parity check.
    struct Pass {
        pre: Vec<Vec<f32>>,
        pre_g: Vec<Vec<f32>>,
        fake: Vec<f32>,
        logits: Vec<f32>,
        d_loss: f32,
        d_grads: Named,
        g_loss: f32,
        g_grads: Named,
        sigma_tilde: Vec<f32>,
        d_after: Named,
    }

    /// D's pre-activations (the outputs of c0..c6, before each leaky ReLU) for `x`.
    fn pre_activations<D: ConvDevice>(
        d: &Dsc<true, D>,
        x: Image<32, D, NoneTape>,
    ) -> Result<Vec<Vec<f32>>, D::Err> {
        type T4<const C: usize, const H: usize, D> =
            Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, D>;
        let s = Dsc::<true, D>::SLOPE;
        let mut out = Vec::new();
        let h: T4<64, 32, D> = d.c0.forward(x)?;
        out.push(h.as_vec());
        let h: T4<64, 16, D> = d.c1.forward(D::leaky_relu(h, s)?)?;
        out.push(h.as_vec());
        let h: T4<128, 16, D> = d.c2.forward(D::leaky_relu(h, s)?)?;
        out.push(h.as_vec());
        let h: T4<128, 8, D> = d.c3.forward(D::leaky_relu(h, s)?)?;
        out.push(h.as_vec());
        let h: T4<256, 8, D> = d.c4.forward(D::leaky_relu(h, s)?)?;
        out.push(h.as_vec());
        let h: T4<256, 4, D> = d.c5.forward(D::leaky_relu(h, s)?)?;
        out.push(h.as_vec());
        let h: T4<512, 4, D> = d.c6.forward(D::leaky_relu(h, s)?)?;
        out.push(h.as_vec());
        Ok(out)
    }

    /// `fake_for_d`: the images D's update sees as fakes (the CPU's, for the CUDA pass); `None`:
    /// this device's own G(z).
    #[allow(clippy::too_many_arguments)]
    fn pass<D: ConvDevice>(
        dev: &D,
        mut g: G<D>,
        mut d: Dsc<true, D>,
        z: &[f32],
        x: &[f32],
        fake_for_d: Option<&[f32]>,
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
        let fake_d: Image<32, D, NoneTape> = match fake_for_d {
            Some(f) => dev
                .try_tensor_from_vec(f.to_vec(), (n, Const, Const, Const))
                .map_err(e)?,
            None => fake.clone(),
        };
        let mut both = x.as_vec();
        both.extend(fake_d.as_vec());
        let pre = pre_activations(
            &d,
            dev.try_tensor_from_vec(both, (2 * n, Const, Const, Const))
                .map_err(e)?,
        )
        .map_err(e)?;
        let gd = d.try_alloc_grads().map_err(e)?;
        let l_real = d.forward(x.clone().traced(gd)).map_err(e)?;
        let l_fake = d.forward(fake_d.retaped()).map_err(e)?;
        let loss = Loss::Hinge.discriminator(l_real, l_fake);
        let d_loss = loss.array();
        let gd = loss.backward();
        let logits = d.forward(x).map_err(e)?.as_vec();
        let d_grads = grads_by_name(&d, &gd);
        // G update: −mean D(G(z)), D on this device's own G(z).
        let pre_g = pre_activations(&d, fake.clone()).map_err(e)?;
        let gg = g.try_alloc_grads().map_err(e)?;
        let out = g.forward_train(z.traced(gg)).map_err(e)?;
        let loss = Loss::Hinge.generator(d.forward(out).map_err(e)?);
        let g_loss = loss.array();
        let gg = loss.backward();
        let g_grads = grads_by_name(&g, &gg);
        let sigma_tilde = d.power_iteration(1).map_err(e)?;
        Ok(Pass {
            pre,
            pre_g,
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

    /// A layer's result on one device: output, input gradient, parameter gradients.
    type LayerOut = (Vec<f32>, Vec<f32>, Named);

    /// N(0, 1) values from a seeded host RNG: the same inputs on both devices.
    fn host_normal(len: usize, seed: u64) -> Vec<f32> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..len)
            .map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal))
            .collect()
    }

    /// One layer's forward and backward for input `x` and the fixed upstream gradient
    /// `r_i = sin(0.37·i + 0.1)` (loss = Σ r ⊙ layer(x)).
    /// With `params`, also every parameter gradient of `m` (which `f` must then use). The
    /// gradients are "leaky" (dfdx keeps every one, the input's included).
    fn layer_pass<D, M, Si, So, F>(
        dev: &D,
        m: &mut M,
        x: &[f32],
        shape: Si,
        params: bool,
        f: F,
    ) -> Result<LayerOut, D::Err>
    where
        D: ConvDevice,
        M: TensorCollection<f32, D>,
        Si: Shape,
        So: Shape,
        F: FnOnce(
            &mut M,
            Tensor<Si, f32, D, OwnedTape<f32, D>>,
        ) -> Result<Tensor<So, f32, D, OwnedTape<f32, D>>, D::Err>,
    {
        let x = dev.try_tensor_from_vec(x.to_vec(), shape)?;
        let y = f(m, x.clone().traced(Gradients::leaky()))?;
        let out = y.as_vec();
        let r: Vec<f32> = (0..out.len())
            .map(|i| (0.37 * i as f32 + 0.1).sin())
            .collect();
        let r = dev.try_tensor_from_vec(r, *y.shape())?;
        let g = y.try_mul(r)?.try_sum::<Rank0, _>()?.backward();
        let params = if params {
            grads_by_name(m, &g)
        } else {
            Named::new()
        };
        Ok((out, g.get(&x).as_vec(), params))
    }

    /// Every layer of G and D (and D's leaky ReLU) on its own, with the same input and upstream
    /// gradient on both devices: a kernel comparison no activation flip can disturb.
    fn layers<D: ConvDevice>(
        dev: &D,
        g: &mut G<D>,
        d: &mut Dsc<true, D>,
        n: usize,
    ) -> Result<Vec<(&'static str, LayerOut)>, D::Err> {
        type T4<const C: usize, const H: usize, D> =
            Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, D, OwnedTape<f32, D>>;
        type T2<const C: usize, D> = Tensor<(usize, Const<C>), f32, D, OwnedTape<f32, D>>;
        macro_rules! x4 {
            ($c:literal, $h:literal, $seed:literal) => {
                (
                    host_normal(n * $c * $h * $h, $seed),
                    (n, Const::<$c>, Const::<$h>, Const::<$h>),
                )
            };
        }
        let mut v = Vec::new();
        let (x, s) = x4!(3, 32, 1);
        v.push((
            "D.c0",
            layer_pass(
                dev,
                &mut d.c0,
                &x,
                s,
                true,
                |m, x| -> Result<T4<64, 32, D>, _> { m.forward(x) },
            )?,
        ));
        let (x, s) = x4!(64, 32, 2);
        v.push((
            "D.c1",
            layer_pass(
                dev,
                &mut d.c1,
                &x,
                s,
                true,
                |m, x| -> Result<T4<64, 16, D>, _> { m.forward(x) },
            )?,
        ));
        let (x, s) = x4!(64, 16, 3);
        v.push((
            "D.c2",
            layer_pass(
                dev,
                &mut d.c2,
                &x,
                s,
                true,
                |m, x| -> Result<T4<128, 16, D>, _> { m.forward(x) },
            )?,
        ));
        let (x, s) = x4!(128, 16, 4);
        v.push((
            "D.c3",
            layer_pass(
                dev,
                &mut d.c3,
                &x,
                s,
                true,
                |m, x| -> Result<T4<128, 8, D>, _> { m.forward(x) },
            )?,
        ));
        let (x, s) = x4!(128, 8, 5);
        v.push((
            "D.c4",
            layer_pass(
                dev,
                &mut d.c4,
                &x,
                s,
                true,
                |m, x| -> Result<T4<256, 8, D>, _> { m.forward(x) },
            )?,
        ));
        let (x, s) = x4!(256, 8, 6);
        v.push((
            "D.c5",
            layer_pass(
                dev,
                &mut d.c5,
                &x,
                s,
                true,
                |m, x| -> Result<T4<256, 4, D>, _> { m.forward(x) },
            )?,
        ));
        let (x, s) = x4!(256, 4, 7);
        v.push((
            "D.c6",
            layer_pass(
                dev,
                &mut d.c6,
                &x,
                s,
                true,
                |m, x| -> Result<T4<512, 4, D>, _> { m.forward(x) },
            )?,
        ));
        let x = host_normal(n * 8192, 8);
        v.push((
            "D.l7",
            layer_pass(
                dev,
                &mut d.l7,
                &x,
                (n, Const::<8192>),
                true,
                |m, x| -> Result<T2<1, D>, _> { m.forward(x) },
            )?,
        ));
        let (x, s) = x4!(64, 32, 9);
        let slope = Dsc::<true, D>::SLOPE;
        v.push((
            "D leaky ReLU",
            layer_pass(dev, &mut d.c0, &x, s, false, |_, x| D::leaky_relu(x, slope))?,
        ));
        let x = host_normal(n * Z_DIM, 10);
        v.push((
            "G.l0",
            layer_pass(
                dev,
                &mut g.l0,
                &x,
                (n, Const::<Z_DIM>),
                true,
                |m, x| -> Result<T2<8192, D>, _> { m.forward(x) },
            )?,
        ));
        let (x, s) = x4!(512, 4, 11);
        v.push((
            "G.dc1",
            layer_pass(
                dev,
                &mut g.dc1,
                &x,
                s,
                true,
                |m, x| -> Result<T4<256, 8, D>, _> { m.forward(x) },
            )?,
        ));
        let (x, s) = x4!(256, 8, 12);
        v.push((
            "G.bn1 (training mode)",
            layer_pass(dev, &mut g.bn1, &x, s, true, |m, x| m.try_forward_mut(x))?,
        ));
        let (x, s) = x4!(256, 8, 13);
        v.push((
            "G.dc2",
            layer_pass(
                dev,
                &mut g.dc2,
                &x,
                s,
                true,
                |m, x| -> Result<T4<128, 16, D>, _> { m.forward(x) },
            )?,
        ));
        let (x, s) = x4!(128, 16, 14);
        v.push((
            "G.bn2 (training mode)",
            layer_pass(dev, &mut g.bn2, &x, s, true, |m, x| m.try_forward_mut(x))?,
        ));
        let (x, s) = x4!(128, 16, 15);
        v.push((
            "G.dc3",
            layer_pass(
                dev,
                &mut g.dc3,
                &x,
                s,
                true,
                |m, x| -> Result<T4<64, 32, D>, _> { m.forward(x) },
            )?,
        ));
        let (x, s) = x4!(64, 32, 16);
        v.push((
            "G.bn3 (training mode)",
            layer_pass(dev, &mut g.bn3, &x, s, true, |m, x| m.try_forward_mut(x))?,
        ));
        let (x, s) = x4!(64, 32, 17);
        v.push((
            "G.c4",
            layer_pass(
                dev,
                &mut g.c4,
                &x,
                s,
                true,
                |m, x| -> Result<T4<3, 32, D>, _> { m.forward(x) },
            )?,
        ));
        Ok(v)
    }

    fn parity(n: usize) -> Result<bool, sngan::Error> {
        let cpu = Cpu::seed_from_u64(0);
        let g = <G<Cpu> as Generator<32, Cpu>>::build(&cpu).map_err(Cpu::into_error)?;
        let d =
            <Dsc<true, Cpu> as Discriminator<32, Cpu>>::build(&cpu, 15).map_err(Cpu::into_error)?;
        let layers_cpu =
            layers(&cpu, &mut g.clone(), &mut d.clone(), n).map_err(Cpu::into_error)?;
        let cuda = Cuda::try_seed_from_u64(0).map_err(Cuda::into_error)?;
        let (g_gpu, d_gpu) = (g.to_device(&cuda), d.to_device(&cuda));
        let layers_cuda =
            layers(&cuda, &mut g_gpu.clone(), &mut d_gpu.clone(), n).map_err(Cuda::into_error)?;
        let z: Vec<f32> = cpu.sample_normal_like(&(n, Const::<Z_DIM>)).as_vec();
        let x: Vec<f32> = cpu
            .sample_normal_like(&(n, Const::<3>, Const::<32>, Const::<32>))
            .as_vec();
        let t = Instant::now();
        let a = pass(&cpu, g, d, &z, &x, None, n)?;
        let cpu_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let b = pass(&cuda, g_gpu, d_gpu, &z, &x, Some(&a.fake), n)?;
        let cuda_s = t.elapsed().as_secs_f64();

        let mut r = Report { rows: Vec::new() };
        r.check("G(z) training mode", &a.fake, &b.fake, 1e-4);
        r.check("D(x) logits", &a.logits, &b.logits, 1e-4);
        r.check("D hinge loss", &[a.d_loss], &[b.d_loss], 1e-4);
        r.check("G loss", &[a.g_loss], &[b.g_loss], 1e-4);
        r.check("sigma_tilde", &a.sigma_tilde, &b.sigma_tilde, 1e-4);
        let count = |pa: &[Vec<f32>], pb: &[Vec<f32>]| -> Vec<usize> {
            pa.iter()
                .zip(pb)
                .map(|(x, y)| {
                    x.iter()
                        .zip(y)
                        .filter(|(p, q)| (**p > 0.0) != (**q > 0.0))
                        .count()
                })
                .collect()
        };
        let (flips_d, flips_g) = (count(&a.pre, &b.pre), count(&a.pre_g, &b.pre_g));
        // D's update: a flip after layer cK changes the gradient of c0..cK by whole terms.
        let last_flip = flips_d.iter().rposition(|&f| f > 0);
        for (k, va) in &a.d_grads {
            let layer: Option<usize> = k
                .strip_prefix('c')
                .and_then(|t| t.split('.').next()?.parse().ok());
            let exempt = match (layer, last_flip) {
                (Some(l), Some(f)) if l <= f => Some(format!(
                    "reported only: upstream of {} leaky-ReLU sign flip(s) after c{f} (see leaky_relu_inputs)",
                    flips_d[f]
                )),
                _ => None,
            };
            r.rows
                .push((format!("grad D.{k}"), rel(va, &b.d_grads[k]), 1e-3, exempt));
        }
        // Biases followed by BN: exact gradient 0 (see the module docs).
        let zero_grad = |k: &String| k.starts_with("dc") && k.ends_with(".bias");
        let split = |m: &Named| -> (Named, Named) {
            m.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .partition(|(k, _)| !zero_grad(k))
        };
        let ((ag, az), (bg, bz)) = (split(&a.g_grads), split(&b.g_grads));
        let g_flips: usize = flips_g.iter().sum();
        for (k, va) in &ag {
            let exempt = (g_flips > 0).then(|| {
                format!("reported only: D's leaky ReLUs on G(z) differ in sign in {g_flips} place(s) between the devices")
            });
            r.rows
                .push((format!("grad G.{k}"), rel(va, &bg[k]), 1e-3, exempt));
        }
        for (k, va) in &az {
            let w = &a.g_grads[&k.replace(".bias", ".weight")];
            let scale = w.iter().fold(0f64, |m, x| m.max(x.abs() as f64));
            let top = |v: &[f32]| v.iter().fold(0f64, |m, x| m.max(x.abs() as f64));
            let worst = top(va).max(top(&bz[k]));
            r.rows.push((
                format!("grad G.{k} (exactly 0: BN follows), max |g| / max |grad weight|"),
                if scale == 0.0 { worst } else { worst / scale },
                1e-3,
                None,
            ));
        }
        let flips: Vec<String> = flips_d
            .iter()
            .zip(&flips_g)
            .zip(&a.pre)
            .enumerate()
            .map(|(l, ((fd, fg), pa))| {
                format!("{{\"layer\": \"c{l}\", \"values\": {}, \"sign_flips_d_update\": {fd}, \"sign_flips_g_update\": {fg}}}", pa.len())
            })
            .collect();
        for ((name, (ya, dxa, pa)), (_, (yb, dxb, pb))) in layers_cpu.iter().zip(&layers_cuda) {
            r.check(&format!("layer {name}: output"), ya, yb, 1e-4);
            r.check(&format!("layer {name}: input gradient"), dxa, dxb, 1e-3);
            if dxa.iter().all(|v| *v == 0.0) {
                // A zero reference would make the comparison vacuous.
                r.rows.push((
                    format!("layer {name}: input gradient is not all zero"),
                    f64::INFINITY,
                    0.0,
                    None,
                ));
            }
            r.check_all(&format!("layer {name}: grad"), pa, pb, 1e-3);
        }
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
            .map(|(w, e, tol, exempt)| match exempt {
                None => format!(
                    "{{\"what\": {w:?}, \"max_rel_err\": {e:e}, \"tolerance\": {tol:e}, \"ok\": {}}}",
                    e <= tol
                ),
                Some(why) => format!(
                    "{{\"what\": {w:?}, \"max_rel_err\": {e:e}, \"tolerance\": {tol:e}, \"ok\": null, \"exempt\": {why:?}}}"
                ),
            })
            .collect();
        let worst =
            r.rows
                .iter()
                .filter(|row| row.3.is_none())
                .fold(
                    ("", 0f64),
                    |m, (w, e, _, _)| if *e > m.1 { (w, *e) } else { m },
                );
        println!(
            "{{\"check\": \"parity\", \"batch\": {n}, \"passed\": {passed}, \"worst\": [{:?}, {:e}], \"cpu_s\": {cpu_s:.3}, \"cuda_s\": {cuda_s:.3}, \"leaky_relu_inputs\": [\n  {}\n], \"comparisons\": [\n  {}\n]}}",
            worst.0,
            worst.1,
            flips.join(",\n  "),
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

    /// `cache`: dfdx's allocation cache on (every tensor otherwise is a fresh device
    /// allocation, freed when dropped).
    fn speed(steps: usize, warmup: usize, cache: bool) -> Result<(), sngan::Error> {
        type Sn = Trainer<32, G<Cuda>, Dsc<true, Cuda>, Cuda>;
        type Plain = Trainer<32, G<Cuda>, Dsc<false, Cuda>, Cuda>;
        let e = Cuda::into_error;
        let dev = Cuda::try_seed_from_u64(0).map_err(e)?;
        if cache {
            dev.enable_cache();
        }
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
                "{{\"bench\": \"table3_step\", \"impl\": \"sngan-dfdx-cuda\", \"config\": \"{cfg}\", \"cache\": {cache}, \"median_s\": {s:.6}}}"
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
            "{{\"bench\": \"fig10\", \"impl\": \"sngan-dfdx-cuda\", \"config\": \"sn_ndis5\", \"cache\": {cache}, \"seconds_per_100_g_updates\": {s100:.3}}}"
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
            Some("speed") => speed(
                arg("--steps", 10)?,
                arg("--warmup", 3)?,
                args.iter().any(|a| a == "--cache"),
            ),
            _ => Err(sngan::Error::Config(
                "usage: gpu_check parity [--batch N] | speed [--steps N] [--warmup N] [--cache]"
                    .into(),
            )),
        }
    }
}
