//! Helpers shared by sn-core's integration tests.
#![allow(dead_code)]

use proptest::prelude::*;
use sn_core::{DynMatrix, DynSpectralNorm, Float};

/// Asserts `|a_i − b_i| ≤ abs + rel·max(|a_i|, |b_i|)` for every i, reporting the worst element.
#[track_caller]
pub fn assert_close<T: Float>(what: &str, a: &[T], b: &[T], abs: f64, rel: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let (x, y) = (x.to_f64().unwrap(), y.to_f64().unwrap());
        let tol = abs + rel * x.abs().max(y.abs());
        let diff = (x - y).abs();
        let excess = if diff == 0.0 { 0.0 } else { diff / tol };
        // NaN never passes: `excess <= 1.0` is false for it.
        let fails = excess.is_nan() || excess > 1.0;
        if fails && worst.is_none_or(|(_, e)| excess > e || e.is_nan()) {
            worst = Some((i, excess));
        }
    }
    if let Some((i, _)) = worst {
        panic!(
            "{what}: worst element {i}: {:?} vs {:?} (|diff| = {:e}, tolerance abs {abs:e} + rel {rel:e})",
            a[i],
            b[i],
            (a[i] - b[i]).abs().to_f64().unwrap()
        );
    }
}

/// Storage layout of a generated weight.
#[derive(Clone, Copy, Debug)]
pub enum Layout {
    /// `(d_out, d_in)` row-major.
    Dense,
    /// `(d_out, d_in, kh, kw)`.
    Conv,
    /// `(d_in, d_out, kh, kw)`: output channels on axis 1.
    ConvTranspose,
}

/// A generated weight: its storage, layout and dims.
#[derive(Clone, Debug)]
pub struct Weight {
    pub layout: Layout,
    pub d_out: usize,
    pub d_in: usize,
    pub kh: usize,
    pub kw: usize,
    pub data: Vec<f64>,
}

impl Weight {
    pub fn rows(&self) -> usize {
        self.d_out
    }
    pub fn cols(&self) -> usize {
        self.d_in * self.kh * self.kw
    }
    pub fn view<'a, T: Float>(&self, data: &'a [T]) -> DynMatrix<'a, T> {
        match self.layout {
            Layout::Dense => DynMatrix::new(data, self.d_out, self.d_in),
            Layout::Conv => DynMatrix::conv(data, self.d_out, self.d_in, self.kh, self.kw),
            Layout::ConvTranspose => {
                DynMatrix::conv_transpose(data, self.d_in, self.d_out, self.kh, self.kw)
            }
        }
        .expect("generated shapes are valid")
    }
    pub fn f32(&self) -> Vec<f32> {
        self.data.iter().map(|&x| x as f32).collect()
    }
    /// The matrix view as a dense row-major `rows × cols` array, via `get`.
    pub fn dense<T: Float>(m: &DynMatrix<'_, T>) -> Vec<Vec<T>> {
        (0..m.rows())
            .map(|i| (0..m.cols()).map(|j| m.get(i, j).unwrap()).collect())
            .collect()
    }
}

/// Weights of every layout, 1–12 rows, 1–12·(kernel) columns, entries uniform in ±`scale`.
pub fn weight(scale: f64) -> impl Strategy<Value = Weight> {
    (0..3u8, 1..=12usize, 1..=6usize, 1..=3usize, 1..=2usize)
        .prop_flat_map(move |(l, d_out, d_in, kh, kw)| {
            let layout = match l {
                0 => Layout::Dense,
                1 => Layout::Conv,
                _ => Layout::ConvTranspose,
            };
            let (d_in, kh, kw) = match layout {
                Layout::Dense => (d_in * 2, 1, 1),
                _ => (d_in, kh, kw),
            };
            let n = d_out * d_in * kh * kw;
            proptest::collection::vec(-scale..scale, n).prop_map(move |data| Weight {
                layout,
                d_out,
                d_in,
                kh,
                kw,
                data,
            })
        })
        .prop_filter("non-zero weight", |w| w.data.iter().any(|&x| x != 0.0))
}

/// A random start vector of length n (not all zero).
pub fn start_vector(n: usize) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(-1.0..1.0f64, n).prop_filter("non-zero u", |u| {
        u.iter().map(|x| x * x).sum::<f64>() > 1e-6
    })
}

pub fn norm<T: Float>(x: &[T]) -> f64 {
    x.iter()
        .map(|&a| a.to_f64().unwrap().powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Runs power iteration until σ̃ is stable to 1e-15 relative over 25 rounds (at most 100,000
/// rounds) and returns the rounds used, or `None` if it never settled.
pub fn converge(sn: &mut DynSpectralNorm<f64, Vec<f64>>, w: DynMatrix<'_, f64>) -> Option<usize> {
    let mut last = sn.power_iteration(w, 1).unwrap();
    for batch in 1..4000 {
        let s = sn.power_iteration(w, 25).unwrap();
        if (s - last).abs() <= 1e-15 * s {
            return Some(batch * 25 + 1);
        }
        last = s;
    }
    None
}

/// σ(W) to tolerance 1e-12 (vector) ⇒ about 1e-24 relative (σ), rounding-limited.
pub fn sigma_exact(w: DynMatrix<'_, f64>) -> f64 {
    let (mut u, mut v, mut work) = (
        vec![0.0; w.rows()],
        vec![0.0; w.cols()],
        vec![0.0; w.cols()],
    );
    let c = w
        .sigma_exact(1e-12, 200_000, &mut u, &mut v, &mut work)
        .unwrap();
    assert!(
        c.converged,
        "sigma_exact did not converge in {} rounds",
        c.iterations
    );
    c.sigma
}
