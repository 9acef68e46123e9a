#!/usr/bin/env bash
# Run benchmarks/gpu_backends.py on the device machine (one H100/H200, no network), in one call.
#
# Here, first:   bash benchmarks/gpu/prepare_wheels.sh        (fills .whl/, ~39 MiB)
# Then the `run` tool call (docs/benchmarks/gpu.md gives it verbatim):
#   command:   bash benchmarks/gpu/run_on_device.sh
#   carry:     [".whl"]
#   timeout_s: 360
# It installs the wheels into /tmp/site (--no-deps: the image's torch 2.11, transformers 5.17,
# peft and accelerate stay), checks that trl and unsloth import, runs the transformers backend
# then the unsloth backend (each in its own process, at most CHILD_TIMEOUT s), and leaves in $OUT:
# gpu_backends.json, the printed table (table.txt), each backend's log and this script's log.
# About 5 minutes; with the machine's start (1-2 min) a 360 s call leaves room for one rerun in the
# 15 minutes of device time.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/run_on_device.log") 2>&1
CHILD_TIMEOUT=${CHILD_TIMEOUT:-150}
PY=${PYTHON:-python3}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
WHEELS=${WHEELS:-.whl}  # another folder only for a local rehearsal
ls "$WHEELS"/*.whl >/dev/null 2>&1 || { echo "no wheels in $WHEELS/: run benchmarks/gpu/prepare_wheels.sh here and carry .whl"; exit 3; }
t0=$(date +%s)
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl || exit 4
export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
echo "wheels installed in $(($(date +%s) - t0)) s"
"$PY" - <<'PY'
import importlib, importlib.metadata as md
for name in ("torch", "transformers", "peft", "accelerate", "trl", "datasets", "unsloth", "unsloth_zoo", "xformers", "math-verify"):
    try:
        print(f"{name:14s} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"{name:14s} MISSING")
import torch
print("cuda:", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
PY

"$PY" benchmarks/gpu_backends.py --json "$OUT/gpu_backends.json" --work-dir /tmp/gpu-backends-work \
    --child-timeout "$CHILD_TIMEOUT" "$@" | tee "$OUT/table.txt"
rc=${PIPESTATUS[0]}
for b in transformers unsloth; do
    [ -f "/tmp/gpu-backends-work/$b.log" ] && cp "/tmp/gpu-backends-work/$b.log" "$OUT/$b.log"
done
echo "gpu_backends.py exit status $rc; total $(($(date +%s) - t0)) s"
exit "$rc"
