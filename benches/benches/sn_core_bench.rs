//! sn-core: one power-iteration round (Wᵀu, Wv, σ̃) per Table 3 discriminator shape against
//! streaming the same bytes twice, and `normalize` (W/σ̃) against a copy of W.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use sn_core::{Matrix, SpectralNorm};
use sngan_benches::{ratio_table, seeded_normal, stream_twice, table3_times};

fn shape<const M: usize, const N: usize>(c: &mut Criterion, normalize: bool) {
    let w = seeded_normal(M * N, 1);
    let m = Matrix::<f32, M, N>::new(&w).unwrap();
    let u0 = seeded_normal(M, 2);
    let mut sn = SpectralNorm::<f32, M, N>::from_fn(|i| u0[i]).unwrap();
    sn.power_iteration(m, 1).unwrap();
    let id = format!("{M}x{N}");
    if normalize {
        let mut g = c.benchmark_group("normalize");
        g.throughput(Throughput::Bytes((M * N * 4) as u64));
        let mut out = vec![0.0f32; M * N];
        g.bench_function(BenchmarkId::new("w_over_sigma", &id), |b| {
            b.iter(|| sn.normalize(black_box(m), &mut out).unwrap())
        });
        g.bench_function(BenchmarkId::new("copy", &id), |b| {
            b.iter(|| out.copy_from_slice(black_box(&w)))
        });
        g.finish();
    } else {
        let mut g = c.benchmark_group("power_iteration");
        g.throughput(Throughput::Bytes((2 * M * N * 4) as u64));
        g.bench_function(BenchmarkId::new("round", &id), |b| {
            b.iter(|| sn.power_iteration(black_box(m), 1).unwrap())
        });
        g.bench_function(BenchmarkId::new("stream_twice", &id), |b| {
            b.iter(|| stream_twice(black_box(&w)))
        });
        g.finish();
    }
}

macro_rules! table3 {
    ($c:expr, $normalize:expr) => {
        shape::<64, 27>($c, $normalize);
        shape::<64, 1024>($c, $normalize);
        shape::<128, 576>($c, $normalize);
        shape::<128, 2048>($c, $normalize);
        shape::<256, 1152>($c, $normalize);
        shape::<256, 4096>($c, $normalize);
        shape::<512, 2304>($c, $normalize);
        shape::<1, 8192>($c, $normalize);
    };
}

/// One round per shape against streaming the same bytes twice.
pub fn power_iteration(c: &mut Criterion) {
    table3!(c, false);
}

/// W/σ̃ per shape against a copy of W.
pub fn normalize(c: &mut Criterion) {
    table3!(c, true);
}

/// The side-by-side ratio table (interleaved timing, 31 samples of ~20 ms per side).
pub fn print_ratios() {
    println!("\nsn-core, f32, Table 3 discriminator shapes (medians, interleaved):\n");
    println!("{}", ratio_table(&table3_times(31, 20.0)));
}
