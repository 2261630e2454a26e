#!/usr/bin/env python3
"""SN-GAN training steps: sngan (dfdx, Rust) vs PyTorch, same machine, same threads.

--net table3 (default): the Table 3 standard CNN. Builds and runs the `table3_step` bin (ours)
and `benches/pytorch/table3_step.py` (PyTorch, in its default NCHW layout and in channels_last).

--net resnet: the Table 4 CIFAR-10 ResNet with the ResNet schedule's optimizer. Runs the
`resnet_step` bin and `benches/pytorch/resnet_step.py` (NCHW) with the same --batch-d/--batch-g
(default: the schedule's 64 and 128).

Each side runs as its own process, one after the other in this invocation; the script prints
ours / PyTorch per step, each process's peak memory (max RSS, from wait4) and the SN overhead
(D step with SN / without). Every process gets the same thread count (--threads, default: all
cores): RAYON_NUM_THREADS for ours, torch.set_num_threads for PyTorch.

Usage (workspace root):
    python3 benches/pytorch/table3_vs_torch.py [--steps N] [--warmup N] [--threads N] [--cache]
    python3 benches/pytorch/table3_vs_torch.py --net resnet [--batch-d N] [--batch-g N]
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
    ap.add_argument("--net", choices=["table3", "resnet"], default="table3")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--cache", action="store_true", help="table3: ours with dfdx's allocation cache on")
    ap.add_argument("--batch-d", type=int, default=64, help="resnet: images per D step")
    ap.add_argument("--batch-g", type=int, default=128, help="resnet: samples per G step")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    here = os.path.join(root, "benches", "pytorch")
    binary = "resnet_step" if args.net == "resnet" else "table3_step"
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "sngan-benches", "--bin", binary],
                   check=True, cwd=root)
    common = ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    ours_cmd = [os.path.join(root, "target", "release", binary), "--json"] + common
    ours_env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    if args.net == "resnet":
        batches = ["--batch-d", str(args.batch_d), "--batch-g", str(args.batch_g)]
        ours = run_json(ours_cmd + batches, env=ours_env)
        torch_runs = [("PyTorch NCHW", run_json(
            [sys.executable, os.path.join(here, "resnet_step.py"), "--json", "--threads",
             str(args.threads), "--sn"] + common + batches))]
        title = (f"ResNet SN-GAN (Table 4, CIFAR-10, full width), D batch {args.batch_d}, "
                 f"G batch {args.batch_g}")
    else:
        ours = run_json(ours_cmd + (["--cache"] if args.cache else []), env=ours_env)
        base = [sys.executable, os.path.join(here, "table3_step.py"), "--json", "--threads",
                str(args.threads), "--sn"] + common
        torch_runs = [("PyTorch NCHW", run_json(base)),
                      ("PyTorch channels_last", run_json(base + ["--channels-last"]))]
        title = "Table 3 SN-GAN (CIFAR-10, full width)" + (", ours with the dfdx cache" if args.cache else "")
    print(f"{title}, {args.threads} threads, medians of {args.steps} steps\n")
    print("| step | ours (s) |" + "".join(f" {n} (s) | ours/PyTorch |" for n, _ in torch_runs))
    print("|---|---|" + "---|---|" * len(torch_runs))
    (o_recs, o_mem) = ours
    for cfg, label in [("d_sn", "D step, SN"), ("d_plain", "D step, no SN"), ("g", "G step")]:
        o = o_recs[cfg]["median_s"]
        row = f"| {label} | {o:.3f} |"
        for _, (t, _) in torch_runs:
            row += f" {t[cfg]['median_s']:.3f} | {o / t[cfg]['median_s']:.2f} |"
        print(row)
    row = f"| peak memory (MiB, whole process) | {o_mem:.0f} |"
    for _, (_, mem) in torch_runs:
        row += f" {mem:.0f} | {o_mem / mem:.2f} |"
    print(row)
    overhead = lambda r: r["d_sn"]["median_s"] / r["d_plain"]["median_s"]
    print(f"\nSN overhead (D step SN / no SN): ours {overhead(o_recs):.3f}, "
          + ", ".join(f"{n} {overhead(t):.3f}" for n, (t, _) in torch_runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
