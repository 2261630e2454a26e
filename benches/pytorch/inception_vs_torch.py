#!/usr/bin/env python3
"""FID Inception feature extraction: sngan (dfdx, Rust) vs PyTorch, same machine, threads, batch.

Runs `cargo run --release -p sngan-benches --bin inception_features -- --json` (ours) and the
same network in PyTorch (sngan/scripts/fid_inception.py: pytorch-fid's FID Inception-v3 with
its resize, float32, eval mode, no_grad, random weights), one after the other, and prints
images/s of each and the ratio ours / PyTorch. Inputs: 32x32 images (CIFAR-10 size) resized
to 299x299, as `sngan eval` sees a Table 3 generator's samples.

Usage (workspace root): python3 benches/pytorch/inception_vs_torch.py [--batch N] [--iters N]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "sngan", "scripts"))
from fid_inception import FIDInceptionV3  # noqa: E402


def torch_rate(batch, iters, warmup, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = FIDInceptionV3().eval()
    x = torch.rand(batch, 3, 32, 32)
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        secs = []
        for _ in range(iters):
            t = time.perf_counter()
            model(x)
            secs.append(time.perf_counter() - t)
    secs.sort()
    return batch / secs[len(secs) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--iters", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    threads = os.cpu_count()
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "sngan-benches", "--bin",
         "inception_features", "--", "--json", "--batch", str(a.batch), "--iters", str(a.iters),
         "--warmup", str(a.warmup)],
        check=True, capture_output=True, text=True).stdout
    ours = next(json.loads(l) for l in out.splitlines() if l.startswith("{"))["images_per_s"]
    theirs = torch_rate(a.batch, a.iters, a.warmup, threads)
    print(f"FID Inception features (32x32 -> 299x299), batch {a.batch}, {threads} threads, "
          f"median of {a.iters}")
    print(f"sngan (dfdx CPU, im2col + GEMM): {ours:.2f} images/s")
    print(f"PyTorch {torch.__version__} (same network): {theirs:.2f} images/s")
    print(f"ours / PyTorch: {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
