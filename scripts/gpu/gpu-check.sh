#!/usr/bin/env bash
# The GPU machine's run of issue 7, from the bundle scripts/build-cuda.sh makes (dist/cuda/):
#   bash dist/cuda/gpu-check.sh OUT_DIR [TRAIN_SECONDS]
# writes into OUT_DIR:
#   system.txt           nvidia-smi, driver, the bundle's commit
#   parity.json          CPU vs CUDA: G/D outputs, losses, every gradient, σ̃, ũ, v (gpu_check parity)
#   speed_rust.jsonl     D step (SN / plain) and G step on CUDA; s per 100 G updates at n_dis = 5
#   speed_torch.jsonl    the same steps in PyTorch on the same GPU (f32, TF32 off)
#   speed_torch_tf32.jsonl  PyTorch with TF32 allowed (its default for cuDNN convolutions)
#   speed.md             the side-by-side table with ours/PyTorch
#   run/                 TRAIN_SECONDS (default 180) of `sngan train --device cuda` on the
#                        embedded digits: samples/*.png, metrics.jsonl, plots/*.png
# Each step runs even if an earlier one failed; the exit status is the first failure's.
set -uo pipefail
D=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: gpu-check.sh OUT_DIR [TRAIN_SECONDS]}
SECS=${2:-180}
mkdir -p "$OUT"
# shellcheck source=/dev/null
source "$D/env.sh" || exit 2
status=0
note() { echo "== $*" | tee -a "$OUT/log.txt" >&2; }
keep() { local rc=$1; [ "$rc" -eq 0 ] || { [ "$status" -ne 0 ] || status=$rc; note "failed with status $rc"; }; }

{ nvidia-smi; nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv; cat "$D/paths.txt"; } >"$OUT/system.txt" 2>&1

note "1. parity"
"$D/gpu_check" parity --batch 16 >"$OUT/parity.json" 2>"$OUT/parity.err"
keep $?

note "2. speed"
"$D/gpu_check" speed --steps 10 --warmup 3 >"$OUT/speed_rust.jsonl" 2>"$OUT/speed_rust.err"
keep $?
"$PY" "$D/pytorch/table3_cuda.py" --steps 10 --warmup 3 >"$OUT/speed_torch.jsonl" 2>"$OUT/speed_torch.err"
keep $?
"$PY" "$D/pytorch/table3_cuda.py" --steps 10 --warmup 3 --tf32 >"$OUT/speed_torch_tf32.jsonl" 2>>"$OUT/speed_torch.err"
keep $?
"$PY" - "$OUT" <<'PY' >"$OUT/speed.md" 2>>"$OUT/speed_torch.err"
import json, sys, os
out = sys.argv[1]
def load(name):
    p = os.path.join(out, name)
    rows = [json.loads(l) for l in open(p) if l.strip()] if os.path.exists(p) else []
    return {r["config"]: r for r in rows}
rust, torch, tf32 = load("speed_rust.jsonl"), load("speed_torch.jsonl"), load("speed_torch_tf32.jsonl")
gpu = next(iter(torch.values()), {}).get("gpu", "?")
print(f"Table 3 SN-GAN (CIFAR-10, M = 32, full width) on {gpu}; medians, seconds per step\n")
print("| step | sngan (dfdx CUDA) | PyTorch f32 | ours/PyTorch | PyTorch TF32 | ours/PyTorch TF32 |")
print("|---|---|---|---|---|---|")
for cfg, name in [("d_sn", "D step, SN (64+64)"), ("d_plain", "D step, no SN"), ("g", "G step (128)")]:
    r, t, f = rust.get(cfg, {}).get("median_s"), torch.get(cfg, {}).get("median_s"), tf32.get(cfg, {}).get("median_s")
    fmt = lambda x: f"{x:.5f}" if x else "-"
    ratio = lambda a, b: f"{a / b:.2f}" if a and b else "-"
    print(f"| {name} | {fmt(r)} | {fmt(t)} | {ratio(r, t)} | {fmt(f)} | {ratio(r, f)} |")
if rust.get("d_sn") and rust.get("d_plain"):
    print(f"\nSN overhead, D step SN / no SN: ours {rust['d_sn']['median_s'] / rust['d_plain']['median_s']:.3f}"
          + (f", PyTorch {torch['d_sn']['median_s'] / torch['d_plain']['median_s']:.3f}" if torch.get('d_sn') and torch.get('d_plain') else ""))
f10 = rust.get("sn_ndis5", {}).get("seconds_per_100_g_updates")
if f10:
    print(f"\nSeconds per 100 generator updates at n_dis = 5 (Fig. 10; the paper: about 31 s on its 2018 GPU): {f10:.2f}")
PY
keep $?

note "3. training for ${SECS} s"
timeout --signal=INT "$SECS" "$D/sngan" train --device cuda --steps 20000 --sample-every 500 \
  --sigma-every 100 --checkpoint-every 1000 --keep-last 1 --out "$OUT/run" -q >"$OUT/train.log" 2>&1
rc=$?
# 124: the time limit ended the run, as intended.
[ "$rc" -eq 124 ] || [ "$rc" -eq 130 ] || keep $rc
"$D/sngan" plot "$OUT/run" >>"$OUT/train.log" 2>&1
keep $?
rm -f "$OUT"/run/ckpt-*.safetensors
ls -R "$OUT" >&2
exit $status
