//! Helpers shared by the benchmarks: seeded inputs, the memory-bound baselines, and an
//! interleaved timer that reports ratios measured side by side.

use std::hint::black_box;
use std::time::Instant;

use rand::{rngs::StdRng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// The weight shapes (d_out × d_in·kh·kw) of the Table 3 discriminator for CIFAR-10, in order:
/// seven convolutions and the final dense layer.
pub const TABLE3_D_SHAPES: [(usize, usize); 8] = [
    (64, 27),
    (64, 1024),
    (128, 576),
    (128, 2048),
    (256, 1152),
    (256, 4096),
    (512, 2304),
    (1, 8192),
];

/// `n` standard-normal f32 values from a fixed seed.
pub fn seeded_normal(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| StandardNormal.sample(&mut rng)).collect()
}

/// Reads every element of `w` twice, in two separate passes — the memory traffic of one
/// power-iteration round (Wᵀu, then Wv), with the least arithmetic that still uses each value.
pub fn stream_twice(w: &[f32]) -> f32 {
    sum(w) + sum(black_box(w))
}

fn sum(w: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut chunks = w.chunks_exact(8);
    for c in &mut chunks {
        for t in 0..8 {
            acc[t] += c[t];
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// Median wall time in nanoseconds of `a` and `b`, measured in alternation (a, b, a, b, ...)
/// so that machine noise hits both alike; each sample runs the closure enough times to take
/// about `sample_ms`.
pub fn interleaved_medians(
    mut a: impl FnMut(),
    mut b: impl FnMut(),
    samples: usize,
    sample_ms: f64,
) -> (f64, f64) {
    let iters = calibrate(&mut a, sample_ms).max(calibrate(&mut b, sample_ms));
    let mut ta = Vec::with_capacity(samples);
    let mut tb = Vec::with_capacity(samples);
    for _ in 0..samples {
        ta.push(time(&mut a, iters));
        tb.push(time(&mut b, iters));
    }
    (median(ta), median(tb))
}

fn calibrate(f: &mut impl FnMut(), sample_ms: f64) -> usize {
    f();
    let mut n = 1usize;
    loop {
        let t = time(f, n) * n as f64 / 1e6;
        if t >= sample_ms || n >= 1 << 24 {
            return n;
        }
        n *= 2;
    }
}

fn time(f: &mut impl FnMut(), iters: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed().as_nanos() as f64 / iters as f64
}

/// The median of `v` (the upper one for an even length).
///
/// # Panics
/// If `v` is empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Side-by-side timings of one weight shape (f32), in nanoseconds per call.
#[derive(Clone, Copy, Debug)]
pub struct ShapeTimes {
    /// Rows (d_out).
    pub rows: usize,
    /// Columns (d_in·kh·kw).
    pub cols: usize,
    /// One power-iteration round with its σ̃ (`SpectralNorm::power_iteration(w, 1)`).
    pub round_ns: f64,
    /// [`stream_twice`] over the same weight.
    pub stream_ns: f64,
    /// `SpectralNorm::normalize` (W/σ̃ into a buffer).
    pub normalize_ns: f64,
    /// Copying W into a buffer (one read and one write of W).
    pub copy_ns: f64,
}

impl ShapeTimes {
    /// Size of the weight in bytes.
    pub fn bytes(&self) -> usize {
        self.rows * self.cols * 4
    }
}

/// Measures one shape: a round against [`stream_twice`], and normalize against a copy, each
/// pair interleaved.
pub fn measure_shape<const M: usize, const N: usize>(samples: usize, sample_ms: f64) -> ShapeTimes {
    use sn_core::{Matrix, SpectralNorm};
    let w = seeded_normal(M * N, 0x5eed ^ (M * N) as u64);
    let m = Matrix::<f32, M, N>::new(&w).expect("length is M·N");
    let u0 = seeded_normal(M, 7);
    let mut sn = SpectralNorm::<f32, M, N>::from_fn(|i| u0[i]).expect("finite u0");
    sn.power_iteration(m, 1).expect("finite weight");
    let (round_ns, stream_ns) = interleaved_medians(
        || {
            black_box(sn.power_iteration(black_box(m), 1).expect("finite weight"));
        },
        || {
            black_box(stream_twice(black_box(&w)));
        },
        samples,
        sample_ms,
    );
    let mut out = vec![0.0f32; M * N];
    let mut copy = vec![0.0f32; M * N];
    let (normalize_ns, copy_ns) = interleaved_medians(
        || {
            sn.normalize(black_box(m), &mut out).expect("sigma > 0");
            black_box(&out);
        },
        || {
            copy.copy_from_slice(black_box(&w));
            black_box(&copy);
        },
        samples,
        sample_ms,
    );
    ShapeTimes {
        rows: M,
        cols: N,
        round_ns,
        stream_ns,
        normalize_ns,
        copy_ns,
    }
}

/// [`measure_shape`] for every shape of [`TABLE3_D_SHAPES`].
pub fn table3_times(samples: usize, sample_ms: f64) -> Vec<ShapeTimes> {
    vec![
        measure_shape::<64, 27>(samples, sample_ms),
        measure_shape::<64, 1024>(samples, sample_ms),
        measure_shape::<128, 576>(samples, sample_ms),
        measure_shape::<128, 2048>(samples, sample_ms),
        measure_shape::<256, 1152>(samples, sample_ms),
        measure_shape::<256, 4096>(samples, sample_ms),
        measure_shape::<512, 2304>(samples, sample_ms),
        measure_shape::<1, 8192>(samples, sample_ms),
    ]
}

/// The ratio table printed by the benchmarks: round / stream-twice (target ≤ 1.3 for weights
/// of 1 MiB and more) and normalize / copy.
pub fn ratio_table(times: &[ShapeTimes]) -> String {
    let mut s = String::from(
        "| shape | bytes | round (µs) | stream ×2 (µs) | round/stream | normalize (µs) | copy (µs) | normalize/copy |\n|---|---|---|---|---|---|---|---|\n",
    );
    for t in times {
        let target = if t.bytes() >= 1 << 20 {
            " (≤ 1.3)"
        } else {
            ""
        };
        s += &format!(
            "| {}×{} | {} | {:.2} | {:.2} | {:.2}{} | {:.2} | {:.2} | {:.2} |\n",
            t.rows,
            t.cols,
            t.bytes(),
            t.round_ns / 1e3,
            t.stream_ns / 1e3,
            t.round_ns / t.stream_ns,
            target,
            t.normalize_ns / 1e3,
            t.copy_ns / 1e3,
            t.normalize_ns / t.copy_ns
        );
    }
    s
}

/// Wall-clock seconds `f` takes.
pub fn secs(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}
