#!/usr/bin/env bash
# Download the wheels the GPU machine lacks into .whl/ (ignored through .git/info/exclude), for
# its Python 3.12 on x86-64 Linux, and print their total size against the 64 MiB carry limit.
#
# The device image has torch 2.11, transformers 5.17.0, peft, accelerate, tokenizers, safetensors,
# huggingface-hub, pyarrow, pandas, sympy, pluggy, regex, matplotlib, pyyaml (docs: KINDS.md). It
# lacks trl and unsloth and what they and grpo-rewards need beyond that image. Versions are pinned
# to the ones the Unsloth test environment here (../venv-unsloth) runs: trl 1.15.0 is the newest
# unsloth 2026.10.9 accepts, and BOTH backends run on it, so the comparison is one TRL.
#
# xformers 0.0.35 is carried (3 MiB; it needs torch >= 2.10, the device has 2.11): Unsloth's
# attention uses it when it imports, else falls back to PyTorch SDPA.
# Left out on purpose (Unsloth imports each inside try/except and carries on without it):
#   bitsandbytes  -> only 4-bit QLoRA needs it (unsloth/device_type.py, unsloth/kernels/utils.py);
#                    the benchmark trains 16-bit LoRA, and its wheel alone (0.50.2) is 41 MiB,
#                    which with the rest would exceed the 64 MiB carry limit
#   hf_transfer, diffusers, pydantic, structlog, json5, nest-asyncio -> not imported on this path
#
# Usage: bash benchmarks/gpu/prepare_wheels.sh [--full]
#   --full  also fetch bitsandbytes into .whl-full/ (NOT carried), to measure the complete set.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/work/venv/bin/python}
DEST=.whl
grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >>.git/info/exclude
mkdir -p "$DEST"

COMMON=(  # both backends: TRL and what grpo-rewards' default rewards import
    trl==1.15.0 datasets==4.8.5 dill==0.4.1 multiprocess==0.70.19
    math-verify==0.9.0 latex2sympy2_extended==1.11.0 antlr4-python3-runtime==4.13.2
    jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1
)
UNSLOTH=(  # the unsloth backend
    unsloth==2026.10.9 unsloth_zoo==2026.10.9 torchao==0.18.0 cut_cross_entropy==25.1.1
    tyro==1.0.17 docstring-parser==0.18.0 typeguard==4.6.1 msgspec==0.22.0 xformers==0.0.35
)
pkgs=("${COMMON[@]}" "${UNSLOTH[@]}")
if [ "${1:-}" = "--full" ]; then
    DEST=.whl-full
    grep -qxF '/.whl-full/' .git/info/exclude || echo '/.whl-full/' >>.git/info/exclude
    mkdir -p "$DEST"
    pkgs+=(bitsandbytes==0.50.2)
fi
platforms=()
for n in 17 24 27 28 31 34 35; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
platforms+=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform linux_x86_64)
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" -d "$DEST" "${pkgs[@]}" 2> >(grep -v "is ignored: it is neither" >&2)

total=$(du -cb "$DEST"/*.whl | tail -1 | cut -f1)
ls -l "$DEST" | awk 'NR > 1 {printf "%10d  %s\n", $5, $9}'
awk -v t="$total" 'BEGIN {printf "total: %.1f MiB of wheels in '"$DEST"'/ (carry limit 64 MiB for wheels AND the working tree)\n", t / 1048576}'
