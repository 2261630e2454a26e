#!/usr/bin/env python3
"""Two builds of the `conv_layers` bin, alternated: per layer, which one is faster.

Single runs on these shared machines vary by 10-30%, more than most kernel changes move a
layer; alternating the two binaries round after round lets the noise hit both alike. Build
each variant's `conv_layers` (`cargo build --release -p sngan-benches --bin conv_layers`) and
copy the binary aside, then:

    python3 benches/ab_conv_layers.py ROUNDS REPS BIN_A BIN_B ["LAYER NAME" ...]

Each round runs both binaries (in alternating order) with `--json --reps REPS`, per layer when
layer names are given (as `conv_layers` prints them, e.g. "D c6 256→512 3×3"), otherwise on
all layers. Prints per layer the median over rounds of the forward time and of the backward
time (forward + backward − forward) for A and B, and B/A.
"""
import json
import statistics
import subprocess
import sys


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    rounds, reps, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    layers = sys.argv[5:] or [None]
    times = {}  # (layer, binary) -> [(forward s, backward s)]
    order = []
    for r in range(rounds):
        for binary in (a, b) if r % 2 == 0 else (b, a):
            for layer in layers:
                cmd = [binary, "--json", "--reps", reps] + (["--only", layer] if layer else [])
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                for line in out.splitlines():
                    d = json.loads(line)
                    if d["layer"] not in order:
                        order.append(d["layer"])
                    times.setdefault((d["layer"], binary), []).append(
                        (d["forward_s"], d["both_s"] - d["forward_s"]))
    print(f"{rounds} rounds, A = {a}, B = {b}; medians in ms\n")
    print("| layer | forward A | forward B | B/A | backward A | backward B | B/A |")
    print("|---|---|---|---|---|---|---|")
    total = {a: [0.0, 0.0], b: [0.0, 0.0]}
    for layer in order:
        med = {x: [statistics.median(t[i] for t in times[(layer, x)]) for i in (0, 1)]
               for x in (a, b)}
        for x in (a, b):
            total[x][0] += med[x][0]
            total[x][1] += med[x][1]
        fa, ba = med[a]
        fb, bb = med[b]
        print(f"| {layer} | {fa * 1e3:.1f} | {fb * 1e3:.1f} | {fb / fa:.2f} "
              f"| {ba * 1e3:.1f} | {bb * 1e3:.1f} | {bb / ba:.2f} |")
    (fa, ba), (fb, bb) = total[a], total[b]
    print(f"| sum | {fa * 1e3:.1f} | {fb * 1e3:.1f} | {fb / fa:.2f} "
          f"| {ba * 1e3:.1f} | {bb * 1e3:.1f} | {bb / ba:.2f} |")


if __name__ == "__main__":
    main()
