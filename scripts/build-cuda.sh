#!/usr/bin/env bash
# Builds sngan's `cuda` feature on a machine WITHOUT a GPU or a CUDA toolkit, from pinned
# CUDA 13.0 wheels on PyPI, and bundles what a GPU machine without cargo needs into dist/cuda/.
#
#   bash scripts/build-cuda.sh            # then take dist/cuda/ to the GPU machine and run
#                                         #   bash dist/cuda/gpu-check.sh OUT_DIR
#
# With a real CUDA toolkit and a GPU, none of this is needed:
#   cargo xtask prepare && cargo run --release --example cifar10 --features cuda -- DATA_DIR
#
# What it does (the facts behind each step are in the README, "CUDA"):
# 1. the same dfdx preparation as the CPU build (cargo xtask prepare);
# 2. CUDA 13.0 wheels, pinned (nvcc 13.0.88: newer nvcc writes PTX a driver-580 libcuda
#    rejects), laid out as a toolkit root with unversioned .so links and lib64 -> lib;
# 3. a fake nvidia-smi (dfdx's build script runs it before it reads CUDA_COMPUTE_CAP) and
#    CUDA_COMPUTE_CAP (default 90: H100; set SNGAN_CUDA_COMPUTE_CAP for another GPU);
# 4. a link-only stub libcuda.so (SONAME libcuda.so.1) whose every function fails; the GPU
#    machine's driver provides the real one at run time;
# 5. cargo build --features cuda into target/cuda (the CPU build in target/ is untouched);
# 6. dist/cuda/: the binaries (sngan, the cifar10 example, gpu_check), the headers NVRTC needs
#    at run time (dfdx compiles some kernels at run time with two include paths fixed at build
#    time; NVRTC 13 has no built-in cuda_fp16.h), the PyTorch comparison scripts, env.sh and
#    gpu-check.sh.
# Environment: SNGAN_CUDA_WORK (wheel cache and toolkit, default target/cuda-toolkit),
# SNGAN_CUDA_COMPUTE_CAP (default 90).
set -euo pipefail
ROOT=${SNGAN_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT"
WORK=${SNGAN_CUDA_WORK:-$ROOT/target/cuda-toolkit}
CAP=${SNGAN_CUDA_COMPUTE_CAP:-90}
CUDA=$WORK/cuda13
WHEELS=$WORK/wheels
TARGET=$ROOT/target/cuda
DIST=$ROOT/dist/cuda
mkdir -p "$WORK" "$WHEELS"

say() { printf '== %s\n' "$*" >&2; }

say "1. dfdx preparation"
cargo xtask prepare

say "2. CUDA 13.0 wheels -> $CUDA"
pip download -q --no-deps -d "$WHEELS" \
  nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
  nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 \
  nvidia-cuda-nvrtc==13.0.88 nvidia-cublas==13.0.2.14
if [ ! -x "$CUDA/bin/nvcc" ]; then
  rm -rf "$WORK/unz" "$CUDA"
  mkdir -p "$WORK/unz"
  for w in "$WHEELS"/*.whl; do python3 -m zipfile -e "$w" "$WORK/unz"; done
  mv "$WORK/unz/nvidia/cu13" "$CUDA"
  rm -rf "$WORK/unz"
  chmod +x "$CUDA"/bin/* "$CUDA"/nvvm/bin/* 2>/dev/null || true
fi
(cd "$CUDA/lib" && for f in libcublas.so.13 libcublasLt.so.13 libcudart.so.13 libnvrtc.so.13; do
  ln -sf "$f" "${f%.so.*}.so"
done)
ln -sfn lib "$CUDA/lib64"

say "3. fake nvidia-smi, compute capability $CAP"
mkdir -p "$WORK/fakebin"
cat >"$WORK/fakebin/nvidia-smi" <<EOF
#!/bin/sh
echo compute_cap; echo "${CAP:0:${#CAP}-1}.${CAP: -1}"
EOF
chmod +x "$WORK/fakebin/nvidia-smi"

say "4. link-only libcuda stub"
CUDARC=$(cargo metadata -q --format-version 1 --features sngan/cuda |
  python3 -c 'import json,sys,os; d=json.load(sys.stdin); print(os.path.dirname(next(p["manifest_path"] for p in d["packages"] if p["name"]=="cudarc")))')
mkdir -p "$CUDA/lib/stubs"
grep -E '^\s*pub fn ' "$CUDARC/src/driver/sys.rs" |
  sed -E 's/^\s*pub fn ([A-Za-z0-9_]+).*/int \1(void){return 34;}/' | sort -u >"$WORK/libcuda_stub.c"
gcc -shared -fPIC -o "$CUDA/lib/stubs/libcuda.so" -Wl,-soname,libcuda.so.1 "$WORK/libcuda_stub.c"

say "5. cargo build --features cuda -> $TARGET"
export PATH="$WORK/fakebin:$CUDA/bin:$PATH" CUDA_ROOT="$CUDA" CUDA_COMPUTE_CAP="$CAP"
export CARGO_TARGET_DIR="$TARGET"
# One invocation, so that features unify and every binary links the same dfdx build (whose
# OUT_DIR the binaries name for NVRTC's includes).
cargo build --release -p sngan -p sngan-benches --features sngan/cuda,sngan-benches/cuda \
  --bin sngan --bin gpu_check --example cifar10

say "6. bundle -> $DIST"
rm -rf "$DIST"
mkdir -p "$DIST/nvrtc-inc" "$DIST/pytorch"
BINS=("$TARGET/release/sngan" "$TARGET/release/examples/cifar10" "$TARGET/release/gpu_check")
OUTDIRS=$(for b in "${BINS[@]}"; do grep -a -o "$TARGET/release/build/dfdx-[0-9a-f]*/out" "$b" || true; done | sort -u)
if [ "$(printf '%s\n' "$OUTDIRS" | grep -c .)" -ne 1 ]; then
  echo "expected one dfdx OUT_DIR compiled into the binaries, found: $OUTDIRS" >&2
  exit 1
fi
for b in "${BINS[@]}"; do
  cp "$b" "$DIST/"
  strip --strip-debug "$DIST/$(basename "$b")"
done
cp "$CUDA/include/cuda_fp16.h" "$CUDA/include/cuda_fp16.hpp" "$OUTDIRS"/*.cuh "$DIST/nvrtc-inc/" 2>/dev/null ||
  cp "$CUDA/include/cuda_fp16.h" "$OUTDIRS"/*.cuh "$DIST/nvrtc-inc/"
cp benches/pytorch/table3_step.py benches/pytorch/table3_cuda.py "$DIST/pytorch/"
cp scripts/gpu/env.sh scripts/gpu/gpu-check.sh "$DIST/"
printf 'CUDA_INCLUDE_DIR=%s\nDFDX_OUT_DIR=%s\nCOMPUTE_CAP=%s\nGIT_COMMIT=%s\n' \
  "$CUDA/include" "$OUTDIRS" "$CAP" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" >"$DIST/paths.txt"
for b in "${BINS[@]}"; do
  n=$(basename "$b")
  printf '%s needs: %s\n' "$n" "$(readelf -d "$DIST/$n" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')" >&2
done
du -sh "$DIST" >&2
say "done: take $DIST to the GPU machine and run: bash dist/cuda/gpu-check.sh OUT_DIR"
