//! "Digits IS" and "digits FID": Inception score and FID for the embedded 16×16 digits, with a
//! small classifier the project trains itself in place of Inception-v3.
//!
//! Inception-v3 was trained on ImageNet photographs; on 16×16 grey digits its classes and
//! features say little (and it costs seconds per image on a CPU). The small-scale experiments
//! (`sngan paper robustness`, `docs/digits_metric.md`) need a score that a CPU computes in a
//! moment and that means for the digits what IS and FID mean for CIFAR-10: are the samples
//! recognisable digits (confident p(y|x)), of every class (broad p(y)), distributed like the
//! real ones (features). So the networks change and the formulas stay:
//!
//! # Math
//! - The classifier: the 16×16 image (mean of its three channels) → dense 256→128, ReLU →
//!   dense 128→64, ReLU (the 64-d *features*) → dense 64→10 (the *logits*). Trained with
//!   cross-entropy and Adam (α = 1e-3, β = (0.9, 0.999)), batch 50, [`EPOCHS`] epochs, on the
//!   digits whose index is not ≡ 5 (mod 6) (1,498 images), in a seeded order; the other 299
//!   are held out ([`DigitsClassifier::held_out_accuracy`]). Deterministic for a seed.
//! - Digits IS = exp(E_x KL(p(y|x) ‖ p(y))), p(y|x) the softmax of the 10 logits, p(y) their
//!   mean over the images, one split ([`crate::metrics::is::inception_score`]); 1 ≤ IS ≤ 10.
//! - Digits FID = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) of the 64-d features of the images
//!   and of all 1,797 real digits ([`crate::metrics::fid`], Σ with N − 1).
//!
//! Generated images of another side M are resized to 16×16 bilinearly first.

use std::path::Path;

use dfdx::nn::builders::{Linear, ReLU};
use dfdx::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::data::{bilinear, digits, DIGITS_COUNT};
use crate::metrics::fid::{frechet_distance, stats_of, FidStats};
use crate::metrics::is::inception_score;
use crate::Error;

/// Image side the classifier reads.
pub const SIDE: usize = 16;
/// Input values: one grey 16×16 plane.
pub const INPUT: usize = SIDE * SIDE;
/// The feature (penultimate layer) dimension: the FID space.
pub const FEATURES: usize = 64;
/// Digit classes: the upper bound of the digits IS.
pub const CLASSES: usize = 10;
/// Training epochs over the 1,498 training digits.
pub const EPOCHS: usize = 40;
/// Minibatch size of the classifier's training.
const BATCH: usize = 50;
/// The file name of cached weights; the version changes whenever the classifier does.
pub const CLASSIFIER_FILE: &str = "digits-classifier-v1-seed0.safetensors";
/// The seed of the classifier whose weights [`CLASSIFIER_FILE`] holds.
pub const CLASSIFIER_SEED: u64 = 0;

type FeaturesBuilder = ((Linear<INPUT, 128>, ReLU), (Linear<128, FEATURES>, ReLU));
type NetBuilder = (FeaturesBuilder, Linear<FEATURES, CLASSES>);
type Net = <NetBuilder as BuildOnDevice<Cpu, f32>>::Built;

/// Whether digit `i` is held out of the classifier's training.
fn held_out(i: usize) -> bool {
    i % 6 == 5
}

/// The small digits classifier behind digits IS and FID (see the module docs).
pub struct DigitsClassifier {
    dev: Cpu,
    net: Net,
}

impl std::fmt::Debug for DigitsClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigitsClassifier").finish_non_exhaustive()
    }
}

/// The real digits as grey 16×16 planes in [−1, 1], with their labels.
fn real_planes() -> (Vec<f32>, Vec<u8>) {
    let d = digits::<SIDE>();
    let labels = crate::data::digits_raw()
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    let mut planes = Vec::with_capacity(DIGITS_COUNT * INPUT);
    for i in 0..DIGITS_COUNT {
        // The three channels of an embedded digit are equal.
        planes.extend_from_slice(&d.image(i)[..INPUT]);
    }
    (planes, labels)
}

/// All 1,797 real digits as `3 × 16 × 16` images in [−1, 1] (what a digits run trains on).
pub fn real_images() -> Vec<f32> {
    let d = digits::<SIDE>();
    (0..DIGITS_COUNT)
        .flat_map(|i| d.image(i).to_vec())
        .collect()
}

/// Grey 16×16 planes of `images` (`3 × m × m` each, NCHW): the channel mean, resized.
fn to_planes(images: &[f32], m: usize) -> Result<Vec<f32>, Error> {
    let per = 3 * m * m;
    if m == 0 || images.is_empty() || !images.len().is_multiple_of(per) {
        return Err(Error::Config(format!(
            "digits metric: {} values are not whole 3x{m}x{m} images",
            images.len()
        )));
    }
    let mut out = Vec::with_capacity(images.len() / per * INPUT);
    for img in images.chunks_exact(per) {
        let plane: Vec<f32> = (0..m * m)
            .map(|p| (img[p] + img[m * m + p] + img[2 * m * m + p]) / 3.0)
            .collect();
        if m == SIDE {
            out.extend(plane);
        } else {
            out.extend(bilinear(&plane, m, SIDE));
        }
    }
    Ok(out)
}

impl DigitsClassifier {
    /// Trains the classifier from `seed` (initialisation and data order) on the training
    /// digits; about a second in a release build.
    ///
    /// # Errors
    /// [`Error::NonFinite`] if the loss becomes NaN (it does not for any seed tried).
    pub fn train(seed: u64) -> Result<Self, Error> {
        let dev = Cpu::seed_from_u64(seed);
        let mut net = dev.build_module::<NetBuilder, f32>();
        let mut grads = net.alloc_grads();
        let mut opt = dfdx::optim::Adam::new(
            &net,
            AdamConfig {
                lr: 1e-3,
                ..Default::default()
            },
        );
        let (planes, labels) = real_planes();
        let mut train: Vec<usize> = (0..DIGITS_COUNT).filter(|&i| !held_out(i)).collect();
        let mut rng = StdRng::seed_from_u64(seed ^ 0xD161_7500);
        for epoch in 0..EPOCHS {
            train.shuffle(&mut rng);
            for chunk in train.chunks(BATCH) {
                let n = chunk.len();
                let mut x = Vec::with_capacity(n * INPUT);
                let mut y = vec![0.0f32; n * CLASSES];
                for (k, &i) in chunk.iter().enumerate() {
                    x.extend_from_slice(&planes[i * INPUT..(i + 1) * INPUT]);
                    y[k * CLASSES + labels[i] as usize] = 1.0;
                }
                let x = dev.tensor_from_vec(x, (n, Const::<INPUT>));
                let y = dev.tensor_from_vec(y, (n, Const::<CLASSES>));
                let logits = net.forward_mut(x.traced(grads));
                let loss = cross_entropy_with_logits_loss(logits, y);
                let value = loss.array();
                if !value.is_finite() {
                    return Err(Error::NonFinite(format!(
                        "digits classifier loss in epoch {epoch}"
                    )));
                }
                grads = loss.backward();
                opt.update(&mut net, &grads)
                    .map_err(|e| Error::Device(format!("{e:?}")))?;
                net.zero_grads(&mut grads);
            }
        }
        Ok(DigitsClassifier { dev, net })
    }

    /// Loads the weights cached at `path`, or trains the classifier from [`CLASSIFIER_SEED`]
    /// and caches them there (atomically); returns it and whether it was trained now.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming a cached file that does not load (delete it to retrain);
    /// [`Error::Io`] naming a file that could not be written; [`DigitsClassifier::train`]'s.
    pub fn load_or_train(path: &Path) -> Result<(Self, bool), Error> {
        if path.exists() {
            let dev = Cpu::seed_from_u64(CLASSIFIER_SEED);
            let mut net = dev.build_module::<NetBuilder, f32>();
            net.load_safetensors(path).map_err(|e| {
                Error::Checkpoint(format!(
                    "{}: not the digits classifier's weights ({e:?}); delete it to retrain",
                    path.display()
                ))
            })?;
            return Ok((DigitsClassifier { dev, net }, false));
        }
        let c = Self::train(CLASSIFIER_SEED)?;
        c.save(path)?;
        Ok((c, true))
    }

    /// Writes the weights to `path` (safetensors), atomically.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Io(format!("create {}: {e}", dir.display())))?;
        }
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        self.net
            .save_safetensors(&tmp)
            .map_err(|e| Error::Io(format!("{}: cannot write: {e:?}", tmp.display())))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| Error::Io(format!("{}: cannot write: {e}", path.display())))
    }

    /// Features (64 per image) and logits (10 per image) of grey 16×16 `planes`.
    fn forward_planes(&self, planes: Vec<f32>) -> (Vec<f32>, Vec<f32>) {
        let n = planes.len() / INPUT;
        let x = self.dev.tensor_from_vec(planes, (n, Const::<INPUT>));
        let f = self.net.0.forward(x);
        let logits = self.net.1.forward(f.clone());
        (f.as_vec(), logits.as_vec())
    }

    /// Features (64 per image) and logits (10 per image) of `images` (`3 × m × m` each, NCHW,
    /// [−1, 1]), resized to 16×16 if `m` is not 16.
    ///
    /// # Errors
    /// [`Error::Config`] if `images` is not whole images.
    pub fn forward(&self, images: &[f32], m: usize) -> Result<(Vec<f32>, Vec<f32>), Error> {
        Ok(self.forward_planes(to_planes(images, m)?))
    }

    /// The fraction of the 299 held-out digits classified correctly.
    pub fn held_out_accuracy(&self) -> f64 {
        let (planes, labels) = real_planes();
        let ids: Vec<usize> = (0..DIGITS_COUNT).filter(|&i| held_out(i)).collect();
        let x: Vec<f32> = ids
            .iter()
            .flat_map(|&i| planes[i * INPUT..(i + 1) * INPUT].to_vec())
            .collect();
        let (_, logits) = self.forward_planes(x);
        let right = ids
            .iter()
            .zip(logits.chunks_exact(CLASSES))
            .filter(|(&i, row)| argmax(row) == labels[i] as usize)
            .count();
        right as f64 / ids.len() as f64
    }
}

fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv {
                (i, v)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// Digits IS and FID of a set of images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DigitsScore {
    /// Digits IS: exp E KL(p(y|x) ‖ p(y)), in [1, 10]; higher is better.
    pub is: f64,
    /// Digits FID against all 1,797 real digits; lower is better.
    pub fid: f64,
    /// Images scored.
    pub n: usize,
}

/// The digits metric: the classifier and the real digits' feature statistics.
#[derive(Debug)]
pub struct DigitsMetric {
    classifier: DigitsClassifier,
    real: FidStats,
}

impl DigitsMetric {
    /// The metric of `classifier`, against all 1,797 real digits.
    ///
    /// # Errors
    /// [`crate::metrics::fid::stats_of`]'s.
    pub fn new(classifier: DigitsClassifier) -> Result<Self, Error> {
        let (planes, _) = real_planes();
        let (features, _) = classifier.forward_planes(planes);
        let real = stats_of(&features, FEATURES)?;
        Ok(DigitsMetric { classifier, real })
    }

    /// The metric with the classifier cached at `path` ([`DigitsClassifier::load_or_train`]).
    ///
    /// # Errors
    /// As [`DigitsClassifier::load_or_train`] and [`DigitsMetric::new`].
    pub fn cached(path: &Path) -> Result<Self, Error> {
        Self::new(DigitsClassifier::load_or_train(path)?.0)
    }

    /// The classifier.
    pub fn classifier(&self) -> &DigitsClassifier {
        &self.classifier
    }

    /// Digits IS and FID of `images` (`3 × m × m` each, NCHW, [−1, 1]).
    ///
    /// # Errors
    /// [`Error::Config`] for fewer than 2 images or a length that is not whole images;
    /// [`Error::NonFinite`] for a NaN image value; the FID's errors.
    pub fn score(&self, images: &[f32], m: usize) -> Result<DigitsScore, Error> {
        let (features, logits) = self.classifier.forward(images, m)?;
        let n = logits.len() / CLASSES;
        if n < 2 {
            return Err(Error::Config(format!(
                "the digits metric needs at least 2 images, found {n}"
            )));
        }
        let is = inception_score(&logits, CLASSES, 1)?.mean;
        let fid = frechet_distance(&stats_of(&features, FEATURES)?, &self.real)?.value;
        Ok(DigitsScore { is, fid, n })
    }
}

impl DigitsMetric {
    /// Digits FID between two sets of images (e.g. two halves of the real digits).
    ///
    /// # Errors
    /// As [`DigitsMetric::score`].
    pub fn fid_between(&self, a: &[f32], b: &[f32], m: usize) -> Result<f64, Error> {
        let (fa, _) = self.classifier.forward(a, m)?;
        let (fb, _) = self.classifier.forward(b, m)?;
        Ok(frechet_distance(&stats_of(&fa, FEATURES)?, &stats_of(&fb, FEATURES)?)?.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use std::sync::OnceLock;

    fn metric() -> &'static DigitsMetric {
        static M: OnceLock<DigitsMetric> = OnceLock::new();
        M.get_or_init(|| {
            DigitsMetric::new(DigitsClassifier::train(CLASSIFIER_SEED).unwrap()).unwrap()
        })
    }

    #[test]
    fn classifier_recognises_held_out_digits() {
        let acc = metric().classifier().held_out_accuracy();
        assert!(acc >= 0.9, "held-out accuracy {acc}");
    }

    #[test]
    fn real_digits_score_better_than_noise_and_a_collapsed_generator() {
        let m = metric();
        let real = real_images();
        let r = m.score(&real, SIDE).unwrap();
        // Real digits: confident and balanced, so close to the bound of 10; the FID of the
        // reference against itself is 0 up to the matrix square root's rounding.
        assert!(r.is > 8.0 && r.is <= CLASSES as f64 + 1e-9, "{r:?}");
        assert!(r.fid.abs() < 1e-3, "{r:?}");
        // Real vs real: two disjoint halves.
        let half = DIGITS_COUNT / 2 * 3 * INPUT;
        let a = m.score(&real[..half], SIDE).unwrap();
        let b = m.score(&real[half..], SIDE).unwrap();
        // Uniform noise in [-1, 1].
        let mut rng = StdRng::seed_from_u64(1);
        let noise: Vec<f32> = (0..1000 * 3 * INPUT)
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let z = m.score(&noise, SIDE).unwrap();
        // A collapsed generator: one real digit, repeated.
        let one: Vec<f32> = real[..3 * INPUT].repeat(1000);
        let c = m.score(&one, SIDE).unwrap();
        for s in [a, b, z, c] {
            assert!(
                (1.0 - 1e-9..=CLASSES as f64 + 1e-9).contains(&s.is),
                "{s:?}"
            );
        }
        assert!(a.is > 8.0 && b.is > 8.0, "{a:?} {b:?}");
        assert!(z.is < a.is.min(b.is) && c.is < 1.0 + 1e-3, "{z:?} {c:?}");
        let real_fid = a.fid.max(b.fid);
        assert!(
            z.fid > 10.0 * real_fid && c.fid > 10.0 * real_fid,
            "{a:?} {b:?} {z:?} {c:?}"
        );
        // Images of another size are resized: the digits at 32x32 still score as digits.
        let d32: Vec<f32> = real
            .chunks_exact(3 * INPUT)
            .flat_map(|img| {
                let up = bilinear(&img[..INPUT], SIDE, 32);
                [up.clone(), up.clone(), up].concat()
            })
            .collect();
        let r32 = m.score(&d32, 32).unwrap();
        assert!(r32.is > 8.0 && r32.fid < real_fid.max(1.0) * 5.0, "{r32:?}");
        assert!(m.score(&real[..10], SIDE).is_err());
    }

    #[test]
    fn training_is_deterministic_and_the_cache_round_trips() {
        let a = DigitsClassifier::train(3).unwrap();
        let b = DigitsClassifier::train(3).unwrap();
        let real = real_images();
        let (fa, la) = a.forward(&real, SIDE).unwrap();
        let (fb, lb) = b.forward(&real, SIDE).unwrap();
        assert_eq!((fa, la.clone()), (fb, lb));
        let dir = std::env::temp_dir().join(format!("sngan-digits-{}", std::process::id()));
        let path = dir.join("c.safetensors");
        a.save(&path).unwrap();
        let (c, trained) = DigitsClassifier::load_or_train(&path).unwrap();
        assert!(!trained);
        assert_eq!(c.forward(&real, SIDE).unwrap().1, la);
        std::fs::write(&path, b"not safetensors").unwrap();
        let e = DigitsClassifier::load_or_train(&path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.safetensors"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
