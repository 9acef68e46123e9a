#!/usr/bin/env bash
# Install everything the tests need into ./.venv (fresh machine: Python 3.11 + pip), then run the
# linters, the type checker and the full test suite. CI runs this exact script (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=$(realpath -m "${VENV:-.venv}")
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip
# torch first, pinned to the CPU build on this machine's disk: anything that depends on torch
# installed before it would pull a multi-GB CUDA build.
$PIP install -q "torch==2.13.0"
$PIP install -q -e ".[all,ray,serve,zh]"  # ray: tests/executors; serve: tests/server; zh: repetition's jieba segmenter
# The plugins under plugins/ are installed from their folders, as a user installs them (not on PyPI).
$PIP install -q "plugins/grpo-rewards-reasoning-gym[test]" "plugins/grpo-rewards-judge[reward-model,test]"

# Unsloth pulls its own torch (2.14.1, a CUDA build of about 6 GB), so it lives in a venv of its
# own; tests/trainer/test_unsloth.py runs grpo-train's unsloth backend there through
# GRPO_REWARDS_UNSLOTH_PYTHON. Set GRPO_REWARDS_SKIP_UNSLOTH=1 to skip it (those tests then skip
# with a reason). About 10 minutes the first time.
if [ "${GRPO_REWARDS_SKIP_UNSLOTH:-0}" != "1" ]; then
    UVENV=$(realpath -m "${UNSLOTH_VENV:-.venv-unsloth}")
    if ! [ -x "$UVENV/bin/python" ] || ! "$UVENV/bin/python" -c "import importlib.util as u, sys; sys.exit(u.find_spec('unsloth') is None)"; then
        "$PY" -m venv "$UVENV"
        "$UVENV/bin/python" -m pip install -q --upgrade pip
        "$UVENV/bin/python" -m pip install -q unsloth
    fi
    "$UVENV/bin/python" -m pip install -q -e ".[train]"
    export GRPO_REWARDS_UNSLOTH_PYTHON="$UVENV/bin/python"
fi

# Ray picks this machine's non-loopback address as its node IP; tests/executors keep every Ray
# process on 127.0.0.1 with this (tests/executors/conftest.py sets it too). Never set by the library.
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0

echo "== ruff"
"$VENV/bin/ruff" format --check .
"$VENV/bin/ruff" check .
echo "== mypy"
"$VENV/bin/mypy"
echo "== pytest"
run_pytest() {  # pytest's exit code 5 (no tests collected) is a failure here
    local rc=0
    "${VENV}/bin/python" -m pytest -q -rs -p no:cacheprovider "$@" || rc=$?
    if [ "$rc" -eq 5 ]; then echo "pytest collected no tests in $PWD" >&2; return 1; fi
    return "$rc"
}
status=0
run_pytest "$@" || status=1
for plugin in plugins/grpo-rewards-*/; do
    echo "== pytest $plugin (the plugin's own tests)"
    (cd "$plugin" && run_pytest) || status=1
done
exit "$status"
