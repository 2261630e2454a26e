"""Golden values for sngan's FID, IS and .npz code (sngan/tests/metrics.rs).

The references are the implementations the published numbers come from:
- FID: pytorch-fid's `calculate_frechet_distance` (scipy.linalg.sqrtm of Σ1Σ2; if that is not
  finite, 1e-6·I is added to both covariances; a negligible imaginary part is dropped), with
  `np.cov(rowvar=False)` (N−1) statistics, rewritten here from its documented behaviour.
- IS: the improved-GAN reference (Salimans et al. 2016): softmax, 10 splits taken as
  preds[i*N//10:(i+1)*N//10], exp(mean KL(p(y|x) || p(y))) per split, mean and population std.

Writes, into sngan/tests/fixtures/metrics/:
- features.npz (np.savez, stored entries): float64 feature sets and float32 logits;
- stats_a.npz (np.savez_compressed, deflated): pytorch-fid statistics {mu, sigma} of set a;
- golden.json: the expected FID and IS values.

Usage (numpy and scipy; no torch): python sngan/scripts/metrics_golden.py
"""

import json
import os

import numpy as np
from scipy import linalg

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "metrics")


def stats(x):
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance; also returns whether the offset was needed."""
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    offset_used = False
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
        offset_used = True
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("imaginary component")
        covmean = covmean.real
    tr_covmean = np.trace(covmean)
    value = diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean
    return float(value), offset_used


def inception_score(logits, splits=10):
    x = logits.astype(np.float64)
    x = x - x.max(axis=1, keepdims=True)
    p = np.exp(x)
    p /= p.sum(axis=1, keepdims=True)
    n = p.shape[0]
    scores = []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits, :]
        kl = part * (np.log(part) - np.log(np.mean(part, 0, keepdims=True)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return float(np.mean(scores)), float(np.std(scores))


def main():
    rng = np.random.default_rng(20180216)
    d = 16
    # Correlated, anisotropic features (a random linear map of Gaussians), offset means.
    mix = rng.normal(size=(d, d)) * np.linspace(0.2, 2.0, d)
    a = rng.normal(size=(60, d)) @ mix + 0.5
    b = rng.normal(size=(45, d)) @ (mix + 0.3 * rng.normal(size=(d, d))) - 0.2
    # Fewer samples than dimensions: rank-deficient covariances (rank 5 and 7 of 16).
    c = rng.normal(size=(6, d)) @ mix
    e = rng.normal(size=(8, d)) @ mix + 1.0
    # Logits: 53 images (uneven splits), 20 classes, some confident rows.
    logits = (rng.normal(size=(53, 20)) * np.linspace(0.5, 6.0, 53)[:, None]).astype(np.float32)

    os.makedirs(OUT, exist_ok=True)
    np.savez(os.path.join(OUT, "features.npz"), a=a, b=b, c=c, e=e, logits=logits)
    mu_a, sigma_a = stats(a)
    np.savez_compressed(os.path.join(OUT, "stats_a.npz"), mu=mu_a, sigma=sigma_a)

    golden = {"fid": {}, "is": {}}
    for name, (x, y) in {"a_b": (a, b), "c_e": (c, e), "a_c": (a, c), "a_a": (a, a)}.items():
        m1, s1 = stats(x)
        m2, s2 = stats(y)
        value, offset_used = frechet_distance(m1, s1, m2, s2)
        eps = np.eye(d) * 1e-6
        with_offset, _ = frechet_distance(m1, s1 + eps, m2, s2 + eps)
        # Report the fallback's value in terms of the original traces, as pytorch-fid does.
        with_offset -= 2 * np.trace(eps)
        golden["fid"][name] = {
            "value": value,
            "scipy_needed_offset": offset_used,
            "with_offset": float(with_offset),
        }
    mean, std = inception_score(logits, 10)
    golden["is"]["splits10"] = {"mean": mean, "std": std}
    mean, std = inception_score(logits, 1)
    golden["is"]["splits1"] = {"mean": mean, "std": std}
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(golden, indent=1))


if __name__ == "__main__":
    main()
