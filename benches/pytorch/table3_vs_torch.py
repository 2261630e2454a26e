#!/usr/bin/env python3
"""Table 3 SN-GAN training steps: sngan (dfdx, Rust) vs PyTorch, same machine, same threads.

Runs `cargo run --release -p sngan-benches --bin table3_step -- --json` (ours) and
`benches/pytorch/table3_step.py --json` (PyTorch, NCHW and channels_last), one after the other
in this invocation, and prints ours / PyTorch per step. Both use every core of the machine
(dfdx's GEMMs use all cores via rayon; PyTorch is given the same thread count).

Usage (workspace root): python3 benches/pytorch/table3_vs_torch.py [--steps N] [--warmup N]
"""
import argparse
import json
import os
import subprocess
import sys


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {r["config"]: r for r in (json.loads(l) for l in out.splitlines() if l.startswith("{"))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    threads = os.cpu_count()
    ours = run_json(["cargo", "run", "--quiet", "--release", "-p", "sngan-benches", "--bin", "table3_step",
                     "--", "--json", "--steps", str(args.steps), "--warmup", str(args.warmup)])
    here = os.path.dirname(os.path.abspath(__file__))
    base = [sys.executable, os.path.join(here, "table3_step.py"), "--json", "--threads", str(threads),
            "--steps", str(args.steps), "--warmup", str(args.warmup), "--sn"]
    torch_nchw = run_json(base)
    torch_cl = run_json(base + ["--channels-last"])
    print(f"Table 3 SN-GAN (CIFAR-10, full width), {threads} threads, medians of {args.steps} steps\n")
    print("| step | ours (s) | PyTorch NCHW (s) | ours/PyTorch | PyTorch channels_last (s) | ours/PyTorch |")
    print("|---|---|---|---|---|---|")
    for cfg, label in [("d_sn", "D step, SN"), ("d_plain", "D step, no SN"), ("g", "G step (128)")]:
        o, n, c = ours[cfg]["median_s"], torch_nchw[cfg]["median_s"], torch_cl[cfg]["median_s"]
        print(f"| {label} | {o:.3f} | {n:.3f} | {o / n:.2f} | {c:.3f} | {o / c:.2f} |")
    print(f"\nSN overhead (D step SN / no SN): ours {ours['d_sn']['median_s'] / ours['d_plain']['median_s']:.3f}, "
          f"PyTorch NCHW {torch_nchw['d_sn']['median_s'] / torch_nchw['d_plain']['median_s']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
