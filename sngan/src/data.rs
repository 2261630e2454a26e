//! Training data: image sources, seeded shuffled minibatches, and the embedded default dataset
//! (scikit-learn's 8×8 digits).
//!
//! An [`ImageSource`] serves image `i` as `3·M·M` values in [−1, 1] (NCHW). [`Batches`] walks a
//! source in a fresh permutation each epoch. The permutation of epoch `e` is a pure function of
//! `(seed, e)`, so the position `(epoch, index)` is the whole state of the data stream: a
//! resumed run continues exactly where it stopped.

use dfdx::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::nets::Image;
use crate::Error;

/// The embedded digits: see `sngan/data/README.md` (UCI Optical Recognition of Handwritten
/// Digits, CC BY 4.0, via scikit-learn).
const DIGITS_GZ: &[u8] = include_bytes!("../data/digits.u8.gz");
/// Records in the embedded digits.
pub const DIGITS_COUNT: usize = 1797;

/// A finite set of `3 × M × M` images in [−1, 1].
pub trait ImageSource<const M: usize> {
    /// Number of images.
    fn len(&self) -> usize;
    /// Whether there are no images.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Writes image `i` (`i < len()`) into `out` (`3·M·M` values, NCHW, in [−1, 1]).
    ///
    /// # Errors
    /// A source that reads lazily (a memory-mapped file) reports read failures here.
    fn read(&self, i: usize, out: &mut [f32]) -> Result<(), Error>;
}

/// Images held in memory as `f32`.
#[derive(Clone, Debug)]
pub struct InMemory<const M: usize> {
    pixels: Vec<f32>,
}

impl<const M: usize> InMemory<M> {
    /// Values per image.
    pub const IMAGE_LEN: usize = 3 * M * M;

    /// Wraps `pixels`: N images of `3·M·M` values, NCHW, in [−1, 1].
    ///
    /// # Errors
    /// [`Error::Data`] if `pixels` is empty or not a whole number of images.
    pub fn new(pixels: Vec<f32>) -> Result<Self, Error> {
        if pixels.is_empty() || !pixels.len().is_multiple_of(Self::IMAGE_LEN) {
            return Err(Error::Data(format!(
                "{} values are not a whole, non-zero number of 3x{M}x{M} images ({} values each)",
                pixels.len(),
                Self::IMAGE_LEN
            )));
        }
        Ok(InMemory { pixels })
    }

    /// Image `i` as `3·M·M` values.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.pixels[i * Self::IMAGE_LEN..(i + 1) * Self::IMAGE_LEN]
    }
}

impl<const M: usize> ImageSource<M> for InMemory<M> {
    fn len(&self) -> usize {
        self.pixels.len() / Self::IMAGE_LEN
    }
    fn read(&self, i: usize, out: &mut [f32]) -> Result<(), Error> {
        out.copy_from_slice(self.image(i));
        Ok(())
    }
}

/// Where a [`Batches`] stream stands: the epoch and the next index within its permutation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Position {
    /// Epochs completed.
    pub epoch: u64,
    /// Images of the current epoch already served.
    pub index: usize,
}

/// Shuffled minibatches over a source: every image once per epoch, in a permutation drawn from
/// `(seed, epoch)`.
#[derive(Clone, Debug)]
pub struct Batches<const M: usize, S> {
    source: S,
    seed: u64,
    position: Position,
    order: Vec<usize>,
}

impl<const M: usize, S: ImageSource<M>> Batches<M, S> {
    /// A stream over `source` starting at epoch 0.
    ///
    /// # Errors
    /// [`Error::Data`] for an empty source.
    pub fn new(source: S, seed: u64) -> Result<Self, Error> {
        Self::at(source, seed, Position::default())
    }

    /// A stream over `source` resuming at `position`.
    ///
    /// # Errors
    /// [`Error::Data`] for an empty source or a position past the end of the epoch.
    pub fn at(source: S, seed: u64, position: Position) -> Result<Self, Error> {
        if source.is_empty() {
            return Err(Error::Data("the dataset has no images".into()));
        }
        if position.index > source.len() {
            return Err(Error::Data(format!(
                "resume position {} is past the dataset's {} images",
                position.index,
                source.len()
            )));
        }
        let order = permutation(source.len(), seed, position.epoch);
        Ok(Batches {
            source,
            seed,
            position,
            order,
        })
    }

    /// Where the stream stands.
    pub fn position(&self) -> Position {
        self.position
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The next `n` images as a tensor on `dev`, moving into a new epoch as needed.
    ///
    /// # Errors
    /// The source's or the device's error.
    pub fn next_batch<D: crate::ConvDevice>(
        &mut self,
        dev: &D,
        n: usize,
    ) -> Result<Image<M, D, NoneTape>, Error> {
        let len = 3 * M * M;
        let mut buf = vec![0.0f32; n * len];
        for chunk in buf.chunks_exact_mut(len) {
            if self.position.index == self.order.len() {
                self.position = Position {
                    epoch: self.position.epoch + 1,
                    index: 0,
                };
                self.order = permutation(self.order.len(), self.seed, self.position.epoch);
            }
            self.source.read(self.order[self.position.index], chunk)?;
            self.position.index += 1;
        }
        dev.try_tensor_from_vec(buf, (n, Const, Const, Const))
            .map_err(D::into_error)
    }
}

/// The permutation of `0..n` for `epoch`: a pure function of `(seed, epoch)`.
fn permutation(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mixed = seed ^ epoch.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    order.shuffle(&mut StdRng::seed_from_u64(mixed));
    order
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
pub fn digits<const M: usize>() -> InMemory<M> {
    let mut pixels = Vec::with_capacity(DIGITS_COUNT * 3 * M * M);
    for (px, _) in digits_raw() {
        let src: Vec<f32> = px.iter().map(|&v| f32::from(v) / 8.0 - 1.0).collect();
        let plane = bilinear(&src, 8, M);
        for _ in 0..3 {
            pixels.extend_from_slice(&plane);
        }
    }
    InMemory::new(pixels).expect("1,797 whole images")
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
    fn batches_are_seeded_cover_each_epoch_and_resume_exactly() {
        let dev = Cpu::default();
        let mut a = Batches::new(digits::<16>(), 7).unwrap();
        let mut b = Batches::new(digits::<16>(), 7).unwrap();
        let xa = a.next_batch(&dev, 5).unwrap().as_vec();
        assert_eq!(xa, b.next_batch(&dev, 5).unwrap().as_vec());
        assert!(xa.iter().all(|v| (-1.0..=1.0).contains(v)));
        let mut c = Batches::new(digits::<16>(), 8).unwrap();
        assert_ne!(xa, c.next_batch(&dev, 5).unwrap().as_vec());

        // One epoch visits every image once; the next epoch is a different permutation.
        let n = 50;
        let ids = InMemory::<1>::new((0..n * 3).map(|i| (i / 3) as f32).collect()).unwrap();
        let mut d = Batches::new(ids.clone(), 1).unwrap();
        let first: Vec<f32> = d
            .next_batch(&dev, n)
            .unwrap()
            .as_vec()
            .into_iter()
            .step_by(3)
            .collect();
        let mut seen = first.clone();
        seen.sort_by(f32::total_cmp);
        assert_eq!(seen, (0..n).map(|i| i as f32).collect::<Vec<_>>());
        let second: Vec<f32> = d
            .next_batch(&dev, n)
            .unwrap()
            .as_vec()
            .into_iter()
            .step_by(3)
            .collect();
        assert_ne!(first, second);

        // Resuming at a saved position continues the same stream.
        let mut e = Batches::new(ids.clone(), 1).unwrap();
        e.next_batch(&dev, 37).unwrap();
        let pos = e.position();
        let rest = e.next_batch(&dev, 40).unwrap().as_vec();
        let mut f = Batches::at(ids, 1, pos).unwrap();
        assert_eq!(f.next_batch(&dev, 40).unwrap().as_vec(), rest);
    }

    #[test]
    fn bad_sources_are_errors() {
        assert!(InMemory::<2>::new(vec![]).is_err());
        assert!(InMemory::<2>::new(vec![0.0; 13]).is_err());
        let one = InMemory::<1>::new(vec![0.0; 3]).unwrap();
        assert!(Batches::at(one, 0, Position { epoch: 0, index: 2 }).is_err());
    }
}
