//! Each convolution of the paper's Table 3 networks (CIFAR-10, M = 32, full width) alone on the
//! CPU, through `ConvDevice` (the project's kernels): the forward pass, and the forward plus
//! backward pass. It reports milliseconds and GFLOP/s per layer, so that a step's time can be
//! traced to layers and passes. `benches/pytorch/conv_layers_vs_torch.py` runs it and times
//! the same layers in PyTorch, side by side.
//!
//! The layers, as the steps of `table3_step` run them:
//! - D's seven convolutions with their leaky ReLU (slope 0.1) on 128 images: the D step puts 64
//!   real and 64 fake images through D as one batch. The first layer computes no input
//!   gradient (`without_input_gradient`: its input is data).
//! - G's three transposed convolutions and its last convolution, with bias and no activation
//!   (batch norm and tanh follow, as separate ops), on 128 images: the G step's batch.
//!
//! Forward + backward: the input and the weight are traced, and the loss is `y.sum()`, whose
//! backward fills ∂y with ones (one pass over y; PyTorch's side does the same). The backward
//! pass's FLOPs are the weight gradient's plus, where computed, the input gradient's, each
//! as many as the forward's. Medians of `--reps` (default 10) after `--warmup` (default 2).
//!
//! `cargo run --release -p sngan-benches --bin conv_layers -- [--reps N] [--warmup N] [--json]
//! [--only NAME]`

// mimalloc, keeping freed memory for the next step: see `sngan::alloc`.
#[global_allocator]
static GLOBAL: sngan::alloc::MiMalloc = sngan::alloc::MiMalloc;

use dfdx::prelude::*;
use sngan::device::{on_kernel_threads, without_input_gradient, Dyn4};
use sngan::ConvDevice;
use sngan_benches::{median, secs};

/// One convolution: `transposed` with weight (C_in, C_out, K, K), otherwise (C_out, C_in, K, K).
#[derive(Clone, Copy, Debug)]
struct Layer {
    name: &'static str,
    transposed: bool,
    batch: usize,
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    pad: usize,
    /// Input height and width.
    hw: usize,
    /// The leaky ReLU fused after the convolution (D), or none (G).
    leaky: Option<f32>,
    /// Whether the backward pass computes the input gradient.
    input_grad: bool,
}

impl Layer {
    /// Output height and width.
    fn hw_out(&self) -> usize {
        if self.transposed {
            (self.hw - 1) * self.stride + self.k - 2 * self.pad
        } else {
            (self.hw + 2 * self.pad - self.k) / self.stride + 1
        }
    }

    /// Multiply-adds of the forward pass, times 2.
    fn forward_flops(&self) -> f64 {
        // A transposed convolution has the MACs of the convolution it is the adjoint of, whose
        // output is this layer's input.
        let positions = if self.transposed {
            self.hw * self.hw
        } else {
            self.hw_out() * self.hw_out()
        };
        2.0 * (self.batch * self.c_in * self.c_out * self.k * self.k * positions) as f64
    }

    /// FLOPs of the backward pass: the weight gradient, and the input gradient where computed.
    fn backward_flops(&self) -> f64 {
        self.forward_flops() * if self.input_grad { 2.0 } else { 1.0 }
    }

    fn weight_shape(&self) -> (usize, usize, usize, usize) {
        if self.transposed {
            (self.c_in, self.c_out, self.k, self.k)
        } else {
            (self.c_out, self.c_in, self.k, self.k)
        }
    }

    fn op<T: Tape<f32, Cpu>>(
        &self,
        x: Dyn4<Cpu, T>,
        w: Dyn4<Cpu, NoneTape>,
        b: &Tensor<(usize,), f32, Cpu>,
    ) -> Dyn4<Cpu, T> {
        let y = if self.transposed {
            <Cpu as ConvDevice>::conv_transpose2d(x, w, b, self.stride, self.pad)
        } else if let Some(slope) = self.leaky {
            <Cpu as ConvDevice>::conv2d_leaky_relu(x, w, b, self.stride, self.pad, slope)
        } else {
            <Cpu as ConvDevice>::conv2d(x, w, b, self.stride, self.pad)
        };
        y.expect("convolution")
    }
}

/// The Table 3 layers, in network order: D's (batch 128), then G's (batch 128). The columns
/// are those of `LAYERS` in `benches/pytorch/conv_layers_vs_torch.py`.
fn layers() -> Vec<Layer> {
    let layer = |name, transposed, c_in, c_out, k, stride, hw, leaky, input_grad| Layer {
        name,
        transposed,
        batch: 128,
        c_in,
        c_out,
        k,
        stride,
        pad: 1,
        hw,
        leaky,
        input_grad,
    };
    let lrelu = Some(0.1);
    vec![
        layer("D c0 3→64 3×3", false, 3, 64, 3, 1, 32, lrelu, false),
        layer("D c1 64→64 4×4/2", false, 64, 64, 4, 2, 32, lrelu, true),
        layer("D c2 64→128 3×3", false, 64, 128, 3, 1, 16, lrelu, true),
        layer("D c3 128→128 4×4/2", false, 128, 128, 4, 2, 16, lrelu, true),
        layer("D c4 128→256 3×3", false, 128, 256, 3, 1, 8, lrelu, true),
        layer("D c5 256→256 4×4/2", false, 256, 256, 4, 2, 8, lrelu, true),
        layer("D c6 256→512 3×3", false, 256, 512, 3, 1, 4, lrelu, true),
        layer("G t1 512→256 4×4/2", true, 512, 256, 4, 2, 4, None, true),
        layer("G t2 256→128 4×4/2", true, 256, 128, 4, 2, 8, None, true),
        layer("G t3 128→64 4×4/2", true, 128, 64, 4, 2, 16, None, true),
        layer("G c 64→3 3×3", false, 64, 3, 3, 1, 32, None, true),
    ]
}

fn main() {
    sngan::alloc::keep_freed_memory();
    // On a thread of the kernels' pool, as `sngan train` runs.
    on_kernel_threads(run);
}

fn run() {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let number = |name: &str, default: usize| {
        value(name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, got {v:?}"))
        })
    };
    let (reps, warmup) = (number("--reps", 10).max(1), number("--warmup", 2));
    let json = args.iter().any(|a| a == "--json");
    let only = value("--only");
    // The pool's size, as rayon sets it (`RAYON_NUM_THREADS`, else all cores).
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

    let dev = Cpu::seed_from_u64(0);
    if !json {
        println!("Table 3 convolutions alone, CPU ({threads} threads), medians of {reps}:");
        println!("| layer | forward (ms) | GFLOP/s | forward + backward (ms) | backward GFLOP/s |");
        println!("|---|---|---|---|---|");
    }
    for l in layers() {
        if only.is_some_and(|o| o != l.name) {
            continue;
        }
        let x: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&(l.batch, l.c_in, l.hw, l.hw));
        let w: Dyn4<Cpu, NoneTape> = dev.sample_normal_like(&l.weight_shape());
        let b: Tensor<(usize,), f32, Cpu> = dev.sample_normal_like(&(l.c_out,));
        let forward = || {
            let y = l.op(x.clone(), w.clone(), &b);
            std::hint::black_box(y);
        };
        let both = || {
            let (xt, xtape) = x.clone().leaky_traced().split_tape();
            let (wt, wtape) = w.clone().leaky_traced().split_tape();
            let xt = xt.put_tape(xtape.merge(wtape));
            let y = if l.input_grad {
                l.op(xt, wt, &b)
            } else {
                without_input_gradient(|| l.op(xt, wt, &b))
            };
            let grads = y.sum::<Rank0, _>().backward();
            std::hint::black_box(grads);
        };
        let (mut tf, mut tb) = (Vec::new(), Vec::new());
        for i in 0..warmup + reps {
            // Alternated, so that machine noise hits both alike.
            let (f, fb) = (secs(forward), secs(both));
            if i >= warmup {
                tf.push(f);
                tb.push(fb);
            }
        }
        let (f, fb) = (median(tf.clone()), median(tb.clone()));
        let gflops = |flops: f64, s: f64| flops / s / 1e9;
        let backward = (fb - f).max(f64::MIN_POSITIVE);
        if json {
            println!(
                "{{\"bench\": \"conv_layers\", \"impl\": \"sngan\", \"layer\": \"{}\", \"forward_s\": {f:.6}, \"both_s\": {fb:.6}, \"forward_flops\": {:.0}, \"backward_flops\": {:.0}, \"threads\": {threads}}}",
                l.name,
                l.forward_flops(),
                l.backward_flops()
            );
        } else {
            println!(
                "| {} | {:.2} | {:.0} | {:.2} | {:.0} |",
                l.name,
                f * 1e3,
                gflops(l.forward_flops(), f),
                fb * 1e3,
                gflops(l.backward_flops(), backward)
            );
        }
    }
}
