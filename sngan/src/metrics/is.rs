//! Inception score (Salimans et al. 2016) as its reference implementation computes it.
//!
//! # Math
//! IS = exp(E_x KL(p(y|x) ‖ p(y))) with p(y|x) the softmax of the Inception logits (all 1008 of
//! the 2015-12-05 graph; `sngan eval` passes pool3·W without the fc bias, as the original TF code
//! computes them — [`Features::logits_unbiased`](crate::metrics::Features::logits_unbiased)) and p(y) the mean of p(y|x) over a split. The N images are cut into
//! `splits` consecutive parts `[i·N/splits, (i+1)·N/splits)` (10 in the paper, SNGAN.md §7);
//! the score is the mean ± population standard deviation of the per-split scores.

use crate::Error;

/// The paper's number of splits.
pub const IS_SPLITS: usize = 10;

/// An Inception score over splits.
#[derive(Clone, Debug, PartialEq)]
pub struct InceptionScore {
    /// Mean of the per-split scores.
    pub mean: f64,
    /// Population standard deviation of the per-split scores.
    pub std: f64,
    /// The per-split scores.
    pub per_split: Vec<f64>,
}

/// The Inception score of `logits` (row-major, `classes` per image) over `splits` splits.
///
/// Softmax and logarithms are taken in f64 from the logits (log-softmax, so a probability that
/// underflows contributes 0·log 0 = 0 rather than NaN).
///
/// # Errors
/// [`Error::Config`] if `logits.len()` is not a multiple of `classes` or there are fewer
/// images than splits; [`Error::NonFinite`] for a NaN or infinite logit.
pub fn inception_score(
    logits: &[f32],
    classes: usize,
    splits: usize,
) -> Result<InceptionScore, Error> {
    if classes == 0 || !logits.len().is_multiple_of(classes) {
        return Err(Error::Config(format!(
            "Inception score: {} logits are not rows of {classes} classes",
            logits.len()
        )));
    }
    let n = logits.len() / classes;
    if splits == 0 || n < splits {
        return Err(Error::Config(format!(
            "Inception score: {n} images cannot be cut into {splits} splits"
        )));
    }
    if let Some(i) = logits.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite(format!(
            "Inception logit {} of image {}",
            i % classes,
            i / classes
        )));
    }
    // log p(y|x) by log-softmax.
    let mut logp = vec![0.0f64; logits.len()];
    for (row, out) in logits
        .chunks_exact(classes)
        .zip(logp.chunks_exact_mut(classes))
    {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        let lse = max
            + row
                .iter()
                .map(|&v| (v as f64 - max).exp())
                .sum::<f64>()
                .ln();
        for (o, &v) in out.iter_mut().zip(row) {
            *o = v as f64 - lse;
        }
    }
    let mut per_split = Vec::with_capacity(splits);
    for s in 0..splits {
        let (lo, hi) = (s * n / splits, (s + 1) * n / splits);
        let part = &logp[lo * classes..hi * classes];
        let m = (hi - lo) as f64;
        let mut py = vec![0.0f64; classes];
        for row in part.chunks_exact(classes) {
            for (p, &l) in py.iter_mut().zip(row) {
                *p += l.exp() / m;
            }
        }
        let log_py: Vec<f64> = py.iter().map(|p| p.ln()).collect();
        let mut kl = 0.0;
        for row in part.chunks_exact(classes) {
            for (&l, &lpy) in row.iter().zip(&log_py) {
                let p = l.exp();
                if p > 0.0 {
                    kl += p * (l - lpy);
                }
            }
        }
        per_split.push((kl / m).exp());
    }
    let k = splits as f64;
    let mean = per_split.iter().sum::<f64>() / k;
    let std = (per_split.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / k).sqrt();
    Ok(InceptionScore {
        mean,
        std,
        per_split,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        // Identical rows: p(y|x) = p(y), KL = 0, IS = 1.
        let same = [0.3f32, -1.0, 2.0].repeat(20);
        let s = inception_score(&same, 3, 10).unwrap();
        assert!((s.mean - 1.0).abs() < 1e-12 && s.std < 1e-12, "{s:?}");
        // One-hot rows spread evenly over C classes: IS = C.
        let mut onehot = vec![-1000.0f32; 40 * 4];
        for i in 0..40 {
            onehot[i * 4 + i % 4] = 1000.0;
        }
        let s = inception_score(&onehot, 4, 10).unwrap();
        assert!((s.mean - 4.0).abs() < 1e-9, "{s:?}");
        assert!(inception_score(&onehot, 4, 41).is_err());
        assert!(inception_score(&onehot[..5], 4, 1).is_err());
    }
}
