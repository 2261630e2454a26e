#!/usr/bin/env python3
"""SN-GAN training steps: sngan (dfdx, Rust) vs PyTorch, same machine, same threads.

--net table3 (default): the Table 3 standard CNN. Runs `cargo run --release -p sngan-benches
--bin table3_step -- --json` (ours) and `benches/pytorch/table3_step.py --json` (PyTorch, NCHW
and channels_last).

--net resnet: the Table 4 CIFAR-10 ResNet with the ResNet schedule's optimizer. Runs the
`resnet_step` bin and `benches/pytorch/resnet_step.py` (NCHW) with the same --batch-d/--batch-g
(default: the schedule's 64 and 128).

Both sides run one after the other in this invocation and use every core of the machine
(dfdx's GEMMs use all cores via rayon; PyTorch is given the same thread count); the script
prints ours / PyTorch per step and the SN overhead (D step with SN / without) of each.

Usage (workspace root):
    python3 benches/pytorch/table3_vs_torch.py [--steps N] [--warmup N]
    python3 benches/pytorch/table3_vs_torch.py --net resnet [--batch-d N] [--batch-g N]
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
    ap.add_argument("--net", choices=["table3", "resnet"], default="table3")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch-d", type=int, default=64, help="resnet: images per D step")
    ap.add_argument("--batch-g", type=int, default=128, help="resnet: samples per G step")
    args = ap.parse_args()
    threads = os.cpu_count()
    here = os.path.dirname(os.path.abspath(__file__))
    common = ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    if args.net == "resnet":
        batches = ["--batch-d", str(args.batch_d), "--batch-g", str(args.batch_g)]
        ours = run_json(["cargo", "run", "--quiet", "--release", "-p", "sngan-benches", "--bin",
                         "resnet_step", "--", "--json"] + common + batches)
        torch_runs = [("PyTorch NCHW", run_json(
            [sys.executable, os.path.join(here, "resnet_step.py"), "--json", "--threads",
             str(threads), "--sn"] + common + batches))]
        title = (f"ResNet SN-GAN (Table 4, CIFAR-10, full width), D batch {args.batch_d}, "
                 f"G batch {args.batch_g}")
    else:
        ours = run_json(["cargo", "run", "--quiet", "--release", "-p", "sngan-benches", "--bin",
                         "table3_step", "--", "--json"] + common)
        base = [sys.executable, os.path.join(here, "table3_step.py"), "--json", "--threads",
                str(threads), "--sn"] + common
        torch_runs = [("PyTorch NCHW", run_json(base)),
                      ("PyTorch channels_last", run_json(base + ["--channels-last"]))]
        title = "Table 3 SN-GAN (CIFAR-10, full width)"
    print(f"{title}, {threads} threads, medians of {args.steps} steps\n")
    head = "| step | ours (s) |" + "".join(f" {n} (s) | ours/PyTorch |" for n, _ in torch_runs)
    print(head)
    print("|---|---|" + "---|---|" * len(torch_runs))
    for cfg, label in [("d_sn", "D step, SN"), ("d_plain", "D step, no SN"), ("g", "G step")]:
        o = ours[cfg]["median_s"]
        row = f"| {label} | {o:.3f} |"
        for _, t in torch_runs:
            row += f" {t[cfg]['median_s']:.3f} | {o / t[cfg]['median_s']:.2f} |"
        print(row)
    overhead = lambda r: r["d_sn"]["median_s"] / r["d_plain"]["median_s"]
    print(f"\nSN overhead (D step SN / no SN): ours {overhead(ours):.3f}, "
          + ", ".join(f"{n} {overhead(t):.3f}" for n, t in torch_runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
