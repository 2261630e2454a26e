#!/usr/bin/env bash
# The GPU machine's run of issue 7, from the bundle scripts/build-cuda.sh makes (dist/cuda/):
#   bash dist/cuda/gpu-check.sh OUT_DIR [TRAIN_SECONDS]
#   bash dist/cuda/gpu-check.sh --pack OUT_DIR   (packs again what a killed run left)
# Works in a scratch folder and leaves at most 8 files in OUT_DIR (the device tool's limit):
#   summary.txt       nvidia-smi, driver, the bundle's commit, ldd of the binaries, the step log
#                     and the tail of every step's stderr
#   parity.json       CPU vs CUDA: G/D outputs, losses, every gradient, σ̃, ũ, v (gpu_check parity)
#   speed.md          ours vs PyTorch on the same GPU (f32, and TF32 allowed), Fig. 10's seconds
#                     per 100 G updates at n_dis = 5
#   speed.jsonl       the raw timings behind speed.md (ours, PyTorch f32, PyTorch TF32)
#   train.log         TRAIN_SECONDS (default 110) of `sngan train --device cuda` on the embedded
#                     digits, then the cifar10 example and a ResNet run (short smoke runs)
#   results.tar.gz    everything, with run/ (samples/*.png, metrics.jsonl, plots/*.png)
# Each step runs under its own time limit and even if an earlier one failed; the exit status is
# the first failure's.
set -uo pipefail
D=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: gpu-check.sh OUT_DIR [TRAIN_SECONDS]}
SECS=${2:-110}
W=${GPU_CHECK_WORK:-/tmp/gpu-check}
status=0
note() { echo "== $(date +%T) $*" | tee -a "$W/log.txt" >&2; }
keep() { local rc=$1; [ "$rc" -eq 0 ] || { [ "$status" -ne 0 ] || status=$rc; note "failed with status $rc"; }; }
pack() {
  {
    cat "$W/system.txt" 2>/dev/null
    echo; echo "## step log"; cat "$W/log.txt" 2>/dev/null
    for f in "$W"/*.err; do [ -s "$f" ] && { echo; echo "## tail of $(basename "$f")"; tail -n 40 "$f"; }; done
  } >"$OUT/summary.txt"
  cp "$W/parity.json" "$W/speed.md" "$W/train.log" "$OUT/" 2>/dev/null
  cat "$W"/speed_*.jsonl >"$OUT/speed.jsonl" 2>/dev/null
  rm -f "$W"/run/ckpt-*.safetensors "$W"/cifar/*.safetensors "$W"/resnet/ckpt-*.safetensors
  rm -rf "$W/cifar-data"
  tar -C "$W" -czf "$OUT/results.tar.gz" . 2>/dev/null
}
if [ "$OUT" = --pack ]; then OUT=${2:?usage: gpu-check.sh --pack OUT_DIR}; pack; exit 0; fi
rm -rf "$W"
mkdir -p "$OUT" "$W"
trap pack EXIT

# shellcheck source=/dev/null
source "$D/env.sh" 2>"$W/env.err" || { keep 2; exit 2; }
{
  date -u; uname -a; nvidia-smi
  nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv
  cat "$D/paths.txt"; echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; echo "PY=$PY"
  ldd --version | head -1
  for b in sngan gpu_check cifar10; do echo "-- ldd $b"; ldd "$D/$b"; done
  "$PY" -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))'
} >"$W/system.txt" 2>&1

note "1. parity"
timeout 100 "$D/gpu_check" parity --batch 16 >"$W/parity.json" 2>"$W/parity.err"
keep $?

note "2. speed"
timeout 100 "$D/gpu_check" speed --steps 10 --warmup 3 >"$W/speed_rust.jsonl" 2>"$W/speed_rust.err"
keep $?
timeout 60 "$PY" "$D/pytorch/table3_cuda.py" --steps 10 --warmup 3 >"$W/speed_torch.jsonl" 2>"$W/speed_torch.err"
keep $?
timeout 60 "$PY" "$D/pytorch/table3_cuda.py" --steps 10 --warmup 3 --tf32 >"$W/speed_torch_tf32.jsonl" 2>>"$W/speed_torch.err"
keep $?
"$PY" - "$W" <<'PY' >"$W/speed.md" 2>>"$W/speed_torch.err"
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
  --sigma-every 100 --checkpoint-every 1000 --keep-last 1 --out "$W/run" -q >"$W/train.log" 2>&1
rc=$?
# 124: the time limit ended the run, as intended.
[ "$rc" -eq 124 ] || [ "$rc" -eq 130 ] || keep $rc
timeout 20 "$D/sngan" plot "$W/run" >>"$W/train.log" 2>&1
keep $?

note "4. the cifar10 example, 200 steps on random images in CIFAR-10's binary format"
"$PY" - "$W/cifar-data" <<'PY' 2>"$W/cifar.err"
import os, sys
import numpy as np
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(0)
for i in range(1, 6):
    rec = rng.integers(0, 256, size=(10000, 3073), dtype=np.uint8)
    rec[:, 0] = np.arange(10000) % 10  # the label byte
    rec.tofile(os.path.join(d, f"data_batch_{i}.bin"))
PY
keep $?
{ echo; echo "## examples/cifar10"; } >>"$W/train.log"
timeout 70 "$D/cifar10" "$W/cifar-data" 200 "$W/cifar" >>"$W/train.log" 2>>"$W/cifar.err"
keep $?

note "5. ResNet (Table 4) on CUDA, 30 s"
{ echo; echo "## sngan train --arch resnet"; } >>"$W/train.log"
timeout --signal=INT 30 "$D/sngan" train --device cuda --arch resnet --steps 20000 --sample-every 100 \
  --sigma-every 20 --checkpoint-every 1000 --keep-last 1 --out "$W/resnet" -q >>"$W/train.log" 2>"$W/resnet.err"
rc=$?
[ "$rc" -eq 124 ] || [ "$rc" -eq 130 ] || keep $rc
note "done, status $status"
exit $status
