//! Scratch experiment (session 11, not part of any crate): a direct NHWC convolution forward
//! over the taps inside the image only, with an AVX-512 register-blocked microkernel (6 output
//! positions × 64 output channels, 24 zmm accumulators), to measure what such a kernel reaches
//! on this machine against the im2col + gemm route of `sngan/src/kernels/conv.rs`.
//!
//! Build and run (no dependencies; needs an AVX-512 CPU):
//!     rustc --edition 2021 -C opt-level=3 -C codegen-units=1 direct_conv_forward.rs -o /tmp/dc
//!     /tmp/dc H C O K S THREADS      # e.g. /tmp/dc 4 256 512 3 1 2 (Table 3 D's c6)
//! Batch 128, padding 1. x is NHWC, W is (K, K, C, O), y is NHWC; the layout conversions from
//! and to NCHW, the bias and the activation are not included. Output positions are grouped by
//! border class (the same taps inside the image); threads split the output-channel blocks.
//! Prints the median of 7 calls (after one untimed), GFLOP/s over the inside taps' products and counted as im2col's
//! (padding included, as `conv_layers` and PyTorch's comparison count), and the largest error
//! of four outputs against the definition.
use std::arch::x86_64::*;
use std::time::Instant;

struct Cfg { b: usize, h: usize, w: usize, c: usize, o: usize, k: usize, s: usize, p: usize }

fn bands(n: usize, m: usize, k: usize, s: usize, p: usize) -> Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let mut out: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> = Vec::new();
    for o in 0..m {
        let st = o * s;
        let t = p.saturating_sub(st)..k.min((n + p).saturating_sub(st));
        match out.last_mut() { Some(b) if b.1 == t => b.0.end = o + 1, _ => out.push((o..o + 1, t)) }
    }
    out
}

#[target_feature(enable = "avx512f")]
unsafe fn tile6(x: *const f32, bases: &[usize; 6], taps: &[(usize, usize)], wt: *const f32, c: usize, o: usize, y: *mut f32, outs: &[usize; 6], n: usize) {
    let mut acc = [[_mm512_setzero_ps(); 4]; 6];
    for &(toff_x, toff_w) in taps {
        let wp = wt.add(toff_w);
        let xp: [*const f32; 6] = core::array::from_fn(|i| x.add(bases[i] + toff_x));
        for ci in 0..c {
            let w0 = _mm512_loadu_ps(wp.add(ci * o));
            let w1 = _mm512_loadu_ps(wp.add(ci * o + 16));
            let w2 = _mm512_loadu_ps(wp.add(ci * o + 32));
            let w3 = _mm512_loadu_ps(wp.add(ci * o + 48));
            for i in 0..6 {
                let xb = _mm512_set1_ps(*xp[i].add(ci));
                acc[i][0] = _mm512_fmadd_ps(xb, w0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(xb, w1, acc[i][1]);
                acc[i][2] = _mm512_fmadd_ps(xb, w2, acc[i][2]);
                acc[i][3] = _mm512_fmadd_ps(xb, w3, acc[i][3]);
            }
        }
    }
    for i in 0..n {
        for j in 0..4 { _mm512_storeu_ps(y.add(outs[i] + j * 16), acc[i][j]); }
    }
}

fn main() {
    let a: Vec<usize> = std::env::args().skip(1).map(|v| v.parse().expect("usage: H C O K S THREADS (integers)")).collect();
    assert_eq!(a.len(), 6, "usage: H C O K S THREADS");
    let cfg = Cfg { b: 128, h: a[0], w: a[0], c: a[1], o: a[2], k: a[3], s: a[4], p: 1 };
    let threads = a[5];
    assert!(is_x86_feature_detected!("avx512f"), "needs a CPU with AVX-512F");
    assert!(cfg.o % 64 == 0 && threads > 0, "O must be a multiple of 64 (the tile's output channels)");
    let (ho, wo) = ((cfg.h + 2 * cfg.p - cfg.k) / cfg.s + 1, (cfg.w + 2 * cfg.p - cfg.k) / cfg.s + 1);
    let x: Vec<f32> = (0..cfg.b * cfg.h * cfg.w * cfg.c).map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5).collect();
    let wt: Vec<f32> = (0..cfg.k * cfg.k * cfg.c * cfg.o).map(|i| ((i * 104729) % 1000) as f32 * 1e-3 - 0.5).collect();
    let mut y = vec![0f32; cfg.b * ho * wo * cfg.o];
    // classes and their positions over the batch
    let ys = bands(cfg.h, ho, cfg.k, cfg.s, cfg.p);
    let xs = bands(cfg.w, wo, cfg.k, cfg.s, cfg.p);
    let mut classes = Vec::new();
    let mut inside_flops = 0f64;
    for (oyr, tyr) in &ys { for (oxr, txr) in &xs {
        let mut pos = Vec::new(); // (image, oy, ox) of every output position of the class
        for b in 0..cfg.b { for oy in oyr.clone() { for ox in oxr.clone() {
            pos.push((b, oy, ox));
        }}}
        let taps: Vec<(usize, usize)> = tyr.clone().flat_map(|ky| txr.clone().map(move |kx| (ky, kx))).collect();
        inside_flops += 2.0 * (pos.len() * taps.len() * cfg.c * cfg.o) as f64;
        classes.push((pos, taps));
    }}
    let full = 2.0 * (cfg.b * ho * wo * cfg.k * cfg.k * cfg.c * cfg.o) as f64;
    // Work items: (class, o-block, tile range) split over threads by o-block.
    let ob_n = cfg.o / 64;
    let run = |y: &mut [f32]| {
        let yp = y.as_mut_ptr() as usize;
        std::thread::scope(|sc| {
            for t in 0..threads {
                let classes = &classes; let x = &x; let wt = &wt; let cfg = &cfg;
                sc.spawn(move || {
                    for (pos, taps) in classes.iter() {
                        // taps: offset into x relative to the position's (iy0, ix0) and into wt
                        for ob in (t..ob_n).step_by(threads) {
                            for tile in pos.chunks(6) {
                                let n = tile.len();
                                let mut bases = [0usize; 6]; let mut outs = [0usize; 6];
                                for i in 0..6 { let (b, oy, ox) = tile[i.min(n - 1)];
                                    // x index of (iy, ix) = (oy*s - p + ky, ox*s - p + kx): base = ((b*h + oy*s)*w + ox*s)*c minus p offsets folded in taps
                                    bases[i] = ((b * cfg.h + oy * cfg.s) * cfg.w + ox * cfg.s) * cfg.c;
                                    outs[i] = ((b * ho + oy) * wo + ox) * cfg.o + ob * 64; }
                                // tap offsets: (ky - p)*w*c + (kx - p)*c, may be negative relative; add via wrapping
                                let tv: Vec<(usize, usize)> = taps.iter().map(|&(ky, kx)| {
                                    let off = ((ky as isize - cfg.p as isize) * cfg.w as isize + (kx as isize - cfg.p as isize)) * cfg.c as isize;
                                    (off as usize, (ky * cfg.k + kx) * cfg.c * cfg.o + ob * 64)
                                }).collect();
                                unsafe { tile6(x.as_ptr(), &bases, &tv, wt.as_ptr(), cfg.c, cfg.o, yp as *mut f32, &outs, n); }
                            }
                        }
                    }
                });
            }
        });
    };
    run(&mut y);
    let mut times: Vec<f64> = (0..7).map(|_| { let t = Instant::now(); run(&mut y); t.elapsed().as_secs_f64() }).collect();
    times.sort_by(f64::total_cmp);
    let med = times[times.len() / 2]; // the median, as `conv_layers` reports
    // check a few outputs against the definition
    let mut maxerr = 0f32;
    for &(b, oy, ox, oc) in &[(0usize, 0usize, 0usize, 0usize), (5, ho - 1, wo - 1, cfg.o - 1), (77, ho / 2, 0, cfg.o / 2 + 3), (127, 1, wo - 1, 63)] {
        let mut acc = 0f32;
        for ky in 0..cfg.k { for kx in 0..cfg.k {
            let iy = (oy * cfg.s + ky) as isize - cfg.p as isize; let ix = (ox * cfg.s + kx) as isize - cfg.p as isize;
            if iy < 0 || ix < 0 || iy >= cfg.h as isize || ix >= cfg.w as isize { continue; }
            for c in 0..cfg.c { acc += x[((b * cfg.h + iy as usize) * cfg.w + ix as usize) * cfg.c + c] * wt[((ky * cfg.k + kx) * cfg.c + c) * cfg.o + oc]; }
        }}
        maxerr = maxerr.max((acc - y[((b * ho + oy) * wo + ox) * cfg.o + oc]).abs());
    }
    println!("h {} c {} o {} k {} s {} threads {}: {:.2} ms, {:.0} GFLOP/s on the inside taps ({:.0}% of im2col's products), {:.0} GFLOP/s counted as im2col's; max err {:.1e}",
        cfg.h, cfg.c, cfg.o, cfg.k, cfg.s, threads, med * 1e3, inside_flops / med / 1e9, 100.0 * inside_flops / full, full / med / 1e9, maxerr);
}
