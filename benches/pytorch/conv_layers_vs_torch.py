#!/usr/bin/env python3
"""Each convolution of the Table 3 networks alone: sngan's CPU kernels vs PyTorch, same machine,
same threads.

Builds and runs the `conv_layers` bin (ours, --json), then times the same layers in PyTorch in
this process, in its default NCHW layout and in channels_last, and prints per layer and pass
the milliseconds and ours / PyTorch. It tells which layers and passes a step's ratio
(benches/pytorch/table3_vs_torch.py) comes from.

The layers and passes are defined in benches/src/bin/conv_layers.rs and mirrored here:
  - D's seven convolutions, each followed by LeakyReLU(0.1), batch 128 (the D step's stacked
    real and fake batch); the first layer's input needs no gradient.
  - G's three transposed convolutions (4x4, stride 2, padding 1) and its last 3x3 convolution,
    with bias and no activation, batch 128 (the G step's batch).
  - forward: under torch.no_grad(). forward + backward: input (except D's first layer),
    weight and bias require gradients; loss = y.sum(); backward.
  Every weight and input is N(0, 1) (timings do not depend on values). --warmup untimed
  repetitions, then --reps timed ones, forward and forward + backward alternated; medians.

Usage (workspace root):
    python3 benches/pytorch/conv_layers_vs_torch.py [--reps N] [--warmup N] [--threads N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

# (name, transposed, c_in, c_out, k, stride, input size, leaky slope or None, input gradient)
# Names as the Rust side prints them.
LAYERS = [
    ("D c0 3→64 3×3", False, 3, 64, 3, 1, 32, 0.1, False),
    ("D c1 64→64 4×4/2", False, 64, 64, 4, 2, 32, 0.1, True),
    ("D c2 64→128 3×3", False, 64, 128, 3, 1, 16, 0.1, True),
    ("D c3 128→128 4×4/2", False, 128, 128, 4, 2, 16, 0.1, True),
    ("D c4 128→256 3×3", False, 128, 256, 3, 1, 8, 0.1, True),
    ("D c5 256→256 4×4/2", False, 256, 256, 4, 2, 8, 0.1, True),
    ("D c6 256→512 3×3", False, 256, 512, 3, 1, 4, 0.1, True),
    ("G t1 512→256 4×4/2", True, 512, 256, 4, 2, 4, None, True),
    ("G t2 256→128 4×4/2", True, 256, 128, 4, 2, 8, None, True),
    ("G t3 128→64 4×4/2", True, 128, 64, 4, 2, 16, None, True),
    ("G c 64→3 3×3", False, 64, 3, 3, 1, 32, None, True),
]
BATCH = 128
PAD = 1


def layer_flops(layer):
    """(forward, backward) FLOPs: 2 per product of the patch matrix (a transposed convolution has
    those of the convolution it is the adjoint of, whose output is its input); the backward pass
    has the weight gradient's and, where computed, the input gradient's."""
    _, transposed, c_in, c_out, k, stride, hw, _, input_grad = layer
    out = hw if transposed else (hw + 2 * PAD - k) // stride + 1
    forward = 2 * BATCH * c_in * c_out * k * k * out * out
    return forward, forward * (2 if input_grad else 1)


def time_torch(layer, channels_last, reps, warmup):
    """(forward median s, forward + backward median s) of one layer in PyTorch."""
    name, transposed, c_in, c_out, k, stride, hw, leaky, input_grad = layer
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(BATCH, c_in, hw, hw).contiguous(memory_format=fmt)
    wshape = (c_in, c_out, k, k) if transposed else (c_out, c_in, k, k)
    w = torch.randn(*wshape).contiguous(memory_format=fmt)
    b = torch.randn(c_out)

    def op(x, w, b):
        if transposed:
            y = F.conv_transpose2d(x, w, b, stride=stride, padding=PAD)
        else:
            y = F.conv2d(x, w, b, stride=stride, padding=PAD)
        return F.leaky_relu(y, leaky) if leaky is not None else y

    def forward():
        with torch.no_grad():
            return op(x, w, b)

    def both():
        xt = x.detach().requires_grad_(input_grad)
        wt = w.detach().requires_grad_(True)
        bt = b.detach().requires_grad_(True)
        op(xt, wt, bt).sum().backward()
        return wt.grad

    tf, tb = [], []
    for i in range(warmup + reps):
        t0 = time.perf_counter()
        forward()
        t1 = time.perf_counter()
        both()
        t2 = time.perf_counter()
        if i >= warmup:
            tf.append(t1 - t0)
            tb.append(t2 - t1)
    return statistics.median(tf), statistics.median(tb)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "sngan-benches", "--bin",
                    "conv_layers"], check=True, cwd=root)
    out = subprocess.run(
        [os.path.join(root, "target", "release", "conv_layers"), "--json", "--reps",
         str(args.reps), "--warmup", str(args.warmup)],
        check=True, capture_output=True, text=True,
        env=dict(os.environ, RAYON_NUM_THREADS=str(args.threads))).stdout
    ours = {r["layer"]: r for r in (json.loads(l) for l in out.splitlines() if l.startswith("{"))}
    if [l[0] for l in LAYERS] != list(ours):
        raise SystemExit(f"the layers differ: ours {list(ours)}")
    for layer in LAYERS:
        o = ours[layer[0]]
        if layer_flops(layer) != (o["forward_flops"], o["backward_flops"]):
            raise SystemExit(f"{layer[0]}: ours counts {o['forward_flops']:.0f} and "
                             f"{o['backward_flops']:.0f} FLOPs, this script {layer_flops(layer)}: "
                             "the two sides define the layer differently")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"Table 3 convolutions alone (batch {BATCH}), {args.threads} threads, medians of "
          f"{args.reps}; PyTorch {torch.__version__}\n")
    print("| layer | pass | ours (ms) | ours GFLOP/s | PyTorch NCHW (ms) | ours/NCHW "
          "| PyTorch channels_last (ms) | ours/channels_last |")
    print("|---|---|---|---|---|---|---|---|")
    totals = {}
    for layer in LAYERS:
        o = ours[layer[0]]
        o_f, o_b = o["forward_s"], o["both_s"] - o["forward_s"]
        nchw = time_torch(layer, False, args.reps, args.warmup)
        cl = time_torch(layer, True, args.reps, args.warmup)
        for pass_, ours_s, flops, t_n, t_c in [
            ("forward", o_f, o["forward_flops"], nchw[0], cl[0]),
            ("backward", o_b, o["backward_flops"], nchw[1] - nchw[0], cl[1] - cl[0]),
        ]:
            print(f"| {layer[0]} | {pass_} | {ours_s * 1e3:.2f} | {flops / ours_s / 1e9:.0f} "
                  f"| {t_n * 1e3:.2f} | {ours_s / t_n:.2f} | {t_c * 1e3:.2f} | {ours_s / t_c:.2f} |")
            net = layer[0][0]
            acc = totals.setdefault((net, pass_), [0.0, 0.0, 0.0])
            acc[0] += ours_s
            acc[1] += t_n
            acc[2] += t_c
    print("\n| net | pass | ours (ms) | PyTorch NCHW (ms) | ours/NCHW | PyTorch channels_last (ms) "
          "| ours/channels_last |")
    print("|---|---|---|---|---|---|---|")
    for (net, pass_), (o, n, c) in totals.items():
        print(f"| {net} | {pass_} | {o * 1e3:.1f} | {n * 1e3:.1f} | {o / n:.2f} | {c * 1e3:.1f} "
              f"| {o / c:.2f} |")
    print("\nbackward = (forward + backward) − forward, each a median; y.sum()'s backward (a fill "
          "of ∂y) is in both sides' backward.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
