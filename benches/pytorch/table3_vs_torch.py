#!/usr/bin/env python3
"""Table 3 SN-GAN training steps: sngan (Rust) vs PyTorch, same machine, same threads.

Builds and runs the `table3_step` bin (ours) and `benches/pytorch/table3_step.py` (PyTorch, in
its default NCHW layout and in channels_last), one after the other in this invocation, each as
its own process, and prints ours / PyTorch per step, plus each process's peak memory (max RSS,
from wait4). Every process gets the same thread count (--threads, default: all cores):
RAYON_NUM_THREADS for ours, torch.set_num_threads for PyTorch.

Usage (workspace root): python3 benches/pytorch/table3_vs_torch.py [--steps N] [--warmup N]
    [--threads N] [--cache]
"""
import argparse
import json
import os
import subprocess
import sys


def run_json(cmd, env=None):
    """Runs cmd, returns ({config: record}, max RSS in MiB)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed with {proc.returncode}")
    recs = {r["config"]: r for r in (json.loads(l) for l in out.splitlines() if l.startswith("{"))}
    return recs, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--cache", action="store_true", help="ours with dfdx's allocation cache on")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "sngan-benches", "--bin", "table3_step"],
                   check=True, cwd=root)
    steps = ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    ours_cmd = [os.path.join(root, "target", "release", "table3_step"), "--json"] + steps
    if args.cache:
        ours_cmd.append("--cache")
    ours, ours_mem = run_json(ours_cmd, env=dict(os.environ, RAYON_NUM_THREADS=str(args.threads)))
    base = [sys.executable, os.path.join(root, "benches", "pytorch", "table3_step.py"), "--json",
            "--threads", str(args.threads), "--sn"] + steps
    torch_nchw, nchw_mem = run_json(base)
    torch_cl, cl_mem = run_json(base + ["--channels-last"])
    print(f"Table 3 SN-GAN (CIFAR-10, full width), {args.threads} threads, medians of {args.steps} steps"
          f"{', ours with the dfdx cache' if args.cache else ''}\n")
    print("| step | ours (s) | PyTorch NCHW (s) | ours/PyTorch | PyTorch channels_last (s) | ours/PyTorch |")
    print("|---|---|---|---|---|---|")
    for cfg, label in [("d_sn", "D step, SN"), ("d_plain", "D step, no SN"), ("g", "G step (128)")]:
        o, n, c = ours[cfg]["median_s"], torch_nchw[cfg]["median_s"], torch_cl[cfg]["median_s"]
        print(f"| {label} | {o:.3f} | {n:.3f} | {o / n:.2f} | {c:.3f} | {o / c:.2f} |")
    print(f"| peak memory (MiB, whole process) | {ours_mem:.0f} | {nchw_mem:.0f} | {ours_mem / nchw_mem:.2f} "
          f"| {cl_mem:.0f} | {ours_mem / cl_mem:.2f} |")
    print(f"\nSN overhead (D step SN / no SN): ours {ours['d_sn']['median_s'] / ours['d_plain']['median_s']:.3f}, "
          f"PyTorch NCHW {torch_nchw['d_sn']['median_s'] / torch_nchw['d_plain']['median_s']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
