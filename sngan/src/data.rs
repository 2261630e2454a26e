//! Training data held in memory, and the embedded default: scikit-learn's 8×8 digits.

use dfdx::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::nets::Image;

/// The embedded digits: see `sngan/data/README.md` (UCI Optical Recognition of Handwritten
/// Digits, CC BY 4.0, via scikit-learn).
const DIGITS_GZ: &[u8] = include_bytes!("../data/digits.u8.gz");
/// Records in the embedded digits.
pub const DIGITS_COUNT: usize = 1797;

/// Images `3 × M × M` in [−1, 1], NCHW, in memory, served in shuffled minibatches: every image
/// once per epoch, a fresh seeded permutation per epoch (deterministic for a given seed).
#[derive(Clone, Debug)]
pub struct InMemory<const M: usize> {
    pixels: Vec<f32>,
    order: Vec<usize>,
    next: usize,
    rng: StdRng,
}

impl<const M: usize> InMemory<M> {
    /// Values per image.
    pub const IMAGE_LEN: usize = 3 * M * M;

    /// Wraps `pixels` (N images of `3·M·M` values, NCHW, in [−1, 1]) with a shuffling order
    /// drawn from `seed`.
    ///
    /// # Panics
    /// If `pixels` is empty or not a whole number of images (a programming error: loaders
    /// check file sizes and report those as errors).
    pub fn new(pixels: Vec<f32>, seed: u64) -> Self {
        assert!(
            !pixels.is_empty() && pixels.len() % Self::IMAGE_LEN == 0,
            "{} values are not a whole number of 3x{M}x{M} images",
            pixels.len()
        );
        let n = pixels.len() / Self::IMAGE_LEN;
        let mut d = InMemory {
            pixels,
            order: (0..n).collect(),
            next: n,
            rng: StdRng::seed_from_u64(seed),
        };
        d.reshuffle();
        d
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Always false (construction rejects an empty set).
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Image `i` as `3·M·M` values.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.pixels[i * Self::IMAGE_LEN..(i + 1) * Self::IMAGE_LEN]
    }

    fn reshuffle(&mut self) {
        self.order.shuffle(&mut self.rng);
        self.next = 0;
    }

    /// The next `n` images as a tensor on `dev` (wrapping into a new epoch as needed).
    ///
    /// # Errors
    /// The device's error.
    pub fn next_batch<D: Device<f32>>(
        &mut self,
        dev: &D,
        n: usize,
    ) -> Result<Image<M, D, NoneTape>, D::Err> {
        let mut buf = Vec::with_capacity(n * Self::IMAGE_LEN);
        for _ in 0..n {
            if self.next == self.order.len() {
                self.reshuffle();
            }
            let i = self.order[self.next];
            self.next += 1;
            buf.extend_from_slice(self.image(i));
        }
        dev.try_tensor_from_vec(buf, (n, Const, Const, Const))
    }
}

/// The 1,797 embedded 8×8 digits with their labels: `(pixels, label)`, pixels 0..16 row-major.
pub fn digits_raw() -> Vec<([u8; 64], u8)> {
    use std::io::Read;
    let mut raw = Vec::with_capacity(DIGITS_COUNT * 65);
    flate2::read::GzDecoder::new(DIGITS_GZ)
        .read_to_end(&mut raw)
        .expect("the embedded digits are a valid gzip stream (checked by tests)");
    raw.chunks_exact(65)
        .map(|r| {
            let mut px = [0u8; 64];
            px.copy_from_slice(&r[1..]);
            (px, r[0])
        })
        .collect()
}

/// The embedded digits as `3 × M × M` RGB images in [−1, 1] (strokes white on black, the same
/// value in all three channels), upscaled from 8 × 8 by bilinear interpolation with PyTorch's
/// `align_corners = False` convention. `M` must be at least 8.
pub fn digits<const M: usize>(seed: u64) -> InMemory<M> {
    let mut pixels = Vec::with_capacity(DIGITS_COUNT * 3 * M * M);
    for (px, _) in digits_raw() {
        let src: Vec<f32> = px.iter().map(|&v| f32::from(v) / 8.0 - 1.0).collect();
        let plane = bilinear(&src, 8, M);
        for _ in 0..3 {
            pixels.extend_from_slice(&plane);
        }
    }
    InMemory::new(pixels, seed)
}

/// Bilinear resize of a square `n × n` plane to `m × m` (align_corners = False: output pixel
/// centres map to `(i + 0.5)·n/m − 0.5`, clamped at the border).
pub fn bilinear(src: &[f32], n: usize, m: usize) -> Vec<f32> {
    let scale = n as f32 / m as f32;
    let coord = |i: usize| {
        let x = ((i as f32 + 0.5) * scale - 0.5).max(0.0);
        let x0 = (x.floor() as usize).min(n - 1);
        let x1 = (x0 + 1).min(n - 1);
        (x0, x1, x - x0 as f32)
    };
    let mut out = Vec::with_capacity(m * m);
    for i in 0..m {
        let (y0, y1, fy) = coord(i);
        for j in 0..m {
            let (x0, x1, fx) = coord(j);
            let top = src[y0 * n + x0] * (1.0 - fx) + src[y0 * n + x1] * fx;
            let bottom = src[y1 * n + x0] * (1.0 - fx) + src[y1 * n + x1] * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_digits_decode() {
        let d = digits_raw();
        assert_eq!(d.len(), DIGITS_COUNT);
        assert!(d
            .iter()
            .all(|(px, l)| *l <= 9 && px.iter().all(|&v| v <= 16)));
        // Every class is present, roughly 180 each.
        for c in 0..10u8 {
            let n = d.iter().filter(|(_, l)| *l == c).count();
            assert!((170..=190).contains(&n), "class {c}: {n}");
        }
    }

    #[test]
    fn bilinear_preserves_constants_and_exact_upscale_points() {
        let src = vec![0.25f32; 64];
        assert!(bilinear(&src, 8, 16)
            .iter()
            .all(|&v| (v - 0.25).abs() < 1e-6));
        // A horizontal ramp stays a ramp: 2x upscaling of column values 0..7.
        let ramp: Vec<f32> = (0..64).map(|i| (i % 8) as f32).collect();
        let up = bilinear(&ramp, 8, 16);
        // Output column j samples x = (j + 0.5)/2 − 0.5, clamped to [0, 7].
        for j in 0..16 {
            let x = ((j as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, 7.0);
            assert!((up[j] - x).abs() < 1e-6, "col {j}: {} vs {x}", up[j]);
        }
    }

    #[test]
    fn batches_cover_an_epoch_and_are_seeded() {
        let dev = Cpu::default();
        let mut a = digits::<16>(7);
        let mut b = digits::<16>(7);
        let xa = a.next_batch(&dev, 5).unwrap().as_vec();
        assert_eq!(xa, b.next_batch(&dev, 5).unwrap().as_vec());
        assert!(xa.iter().all(|v| (-1.0..=1.0).contains(v)));
        let mut c = digits::<16>(8);
        assert_ne!(xa, c.next_batch(&dev, 5).unwrap().as_vec());
        // One epoch visits every image once.
        let mut seen = vec![0usize; a.len()];
        let mut d = InMemory::<1>::new((0..a.len() * 3).map(|i| (i / 3) as f32).collect(), 1);
        for _ in 0..d.len() {
            let v = d.next_batch(&dev, 1).unwrap().as_vec();
            seen[v[0] as usize] += 1;
        }
        assert!(seen.iter().all(|&s| s == 1));
    }
}
