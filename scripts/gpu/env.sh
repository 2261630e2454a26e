# Sourced by gpu-check.sh on the GPU machine (no cargo there): recreates the two include
# directories dfdx's run-time NVRTC kernels name (fixed at build time), and puts the CUDA 13
# libraries (libcublas.so.13, libcublasLt.so.13, libnvrtc.so.13) of the machine's PyTorch
# environment on LD_LIBRARY_PATH. Override with NVLIB=dir1:dir2.
D=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
source "$D/paths.txt"
mkdir -p "$CUDA_INCLUDE_DIR" "$DFDX_OUT_DIR"
for h in "$D"/nvrtc-inc/cuda_fp16.h*; do
  [ -e "$CUDA_INCLUDE_DIR/$(basename "$h")" ] || cp "$h" "$CUDA_INCLUDE_DIR/"
done
cp -f "$D"/nvrtc-inc/*.cuh "$DFDX_OUT_DIR/"
if [ -z "${NVLIB:-}" ]; then
  for so in libcublas.so.13 libcublasLt.so.13 libnvrtc.so.13; do
    f=$(ls /opt/torch/.venv/lib/python3*/site-packages/nvidia/*/lib/$so 2>/dev/null | head -1 || true)
    [ -n "$f" ] || f=$(python3 -c "import nvidia, glob, os; print(next(iter(glob.glob(os.path.join(os.path.dirname(nvidia.__path__[0]), 'nvidia', '*', 'lib', '$so'))), ''))" 2>/dev/null || true)
    [ -n "$f" ] || f=$(find / \( -path /proc -o -path /sys \) -prune -o -name "$so" -print 2>/dev/null | head -1)
    if [ -z "$f" ]; then echo "env.sh: cannot find $so (set NVLIB)" >&2; return 1; fi
    case ":${NVLIB:-}:" in *":$(dirname "$f"):"*) ;; *) NVLIB="${NVLIB:+$NVLIB:}$(dirname "$f")" ;; esac
  done
fi
export LD_LIBRARY_PATH="$NVLIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
PY=${PY:-$(ls /opt/torch/.venv/bin/python 2>/dev/null || command -v python3)}
echo "env.sh: CUDA libraries from $NVLIB; python $PY" >&2
