#!/usr/bin/env bash
# The cuDNN part of a GPU report: --conv cudnn against the CPU (selftest) and beside the kernels (bench).
# cuDNN 9 comes from the machine's PyTorch wheels (nvidia-cudnn-cu12/-cu13 or torch/lib), or CUDNN_DIR.
# Use: native-tests/cudnn-report.sh [JAR] [OUT_DIR]   (JAR default target/gpu-lenet.jar, OUT_DIR default .)
# Environment: CUDNN_DIR (the folder holding libcudnn.so.9; default: found through python3), JAVA (default java),
# BATCHES (default 64,256,1024).
set -uo pipefail
jar=${1:-target/gpu-lenet.jar}
out=${2:-.}
java=${JAVA:-java}
batches=${BATCHES:-64,256,1024}
mkdir -p "$out"
if [ -z "${CUDNN_DIR:-}" ]; then
  CUDNN_DIR=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
roots = site.getsitepackages() + [site.getusersitepackages()]
found = [p for r in roots for p in glob.glob(os.path.join(r, "nvidia", "**", "libcudnn.so.9"), recursive=True)]
try:
    import torch
    found += glob.glob(os.path.join(os.path.dirname(torch.__file__), "lib", "libcudnn.so.9"))
except ImportError:
    pass
print(os.path.dirname(found[0]) if found else "")
PY
)
fi
if [ -z "$CUDNN_DIR" ] || [ ! -e "$CUDNN_DIR/libcudnn.so.9" ]; then
  echo "cudnn-report: no libcudnn.so.9 found (set CUDNN_DIR, or pip install nvidia-cudnn-cu12)" >&2
  exit 2
fi
export LD_LIBRARY_PATH="$CUDNN_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "cudnn-report: libcudnn.so.9 from $CUDNN_DIR"
status=0
"$java" -jar "$jar" info | tee "$out/cudnn-info.txt" || status=1
grep -q '^cuDNN: [0-9]' "$out/cudnn-info.txt" || { echo "cudnn-report: cuDNN did not load" >&2; exit 1; }
"$java" -jar "$jar" selftest --conv cudnn | tee "$out/cudnn-selftest.txt" || status=1
"$java" -jar "$jar" bench --devices cuda,cuda-cudnn --batch-sizes "$batches" --json "$out/cudnn-bench.json" \
  | tee "$out/cudnn-bench.txt" || status=1
exit $status
