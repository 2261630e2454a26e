#!/usr/bin/env python3
"""sn-core vs PyTorch's spectral_norm on the Table 3 discriminator weight shapes.

What is compared, per shape (f32, one weight d_out x d_in*kh*kw):
  ours    = SpectralNorm::power_iteration(w, 1) + SpectralNorm::normalize(w, out)
            (one round of eq. 20-21, sigma of eq. 22, W_bar = W / sigma materialized)
  PyTorch = reading `.weight` of an nn.Linear under
            torch.nn.utils.parametrizations.spectral_norm(n_power_iterations=1) in training
            mode: the same round, sigma = u^T W v, and W / sigma. Timed under torch.no_grad()
            (no autograd bookkeeping: the setting most favourable to PyTorch).

Both are measured on this machine in one invocation of this script; ours is single-threaded,
PyTorch is timed with 1 thread and with its default thread count.

Usage (from the workspace root):
    python3 benches/pytorch/sn_core_vs_torch.py            # builds and runs `sn_times`
Requires torch (pip install torch); without it the script says so and exits 0.
"""
import json
import subprocess
import sys
import time


def ours():
    cmd = ["cargo", "run", "--quiet", "--release", "-p", "sngan-benches", "--bin", "sn_times", "--", "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def torch_time(torch, rows, cols, threads, samples=21, sample_s=0.02):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    layer = torch.nn.Linear(cols, rows, bias=False)
    layer = torch.nn.utils.parametrizations.spectral_norm(layer, n_power_iterations=1)
    layer.train()
    with torch.no_grad():
        _ = layer.weight
        # calibrate
        n = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(n):
                _ = layer.weight
            if time.perf_counter() - t0 >= sample_s or n >= 1 << 20:
                break
            n *= 2
        times = []
        for _ in range(samples):
            t0 = time.perf_counter()
            for _ in range(n):
                _ = layer.weight
            times.append((time.perf_counter() - t0) / n * 1e9)
    times.sort()
    return times[len(times) // 2]


def main():
    try:
        import torch
    except ImportError:
        print("torch is not installed: `pip install torch` to run this comparison")
        return 0
    default_threads = torch.get_num_threads()
    rows = ours()
    print(f"torch {torch.__version__}, default threads {default_threads}; ours single-threaded\n")
    print("| shape | ours (µs) | torch 1 thread (µs) | ours/torch | torch %d threads (µs) | ours/torch |" % default_threads)
    print("|---|---|---|---|---|---|")
    for r in rows:
        o = (r["round_ns"] + r["normalize_ns"])
        t1 = torch_time(torch, r["rows"], r["cols"], 1)
        tn = torch_time(torch, r["rows"], r["cols"], default_threads)
        print(f"| {r['rows']}×{r['cols']} | {o/1e3:.2f} | {t1/1e3:.2f} | {o/t1:.2f} | {tn/1e3:.2f} | {o/tn:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
