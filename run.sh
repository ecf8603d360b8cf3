#!/usr/bin/env bash
# fxsim's one entry point on a fresh machine.
#   ./run.sh            the main job on built-in defaults (creates both environments on first use)
#   ./run.sh test       the test suites of both environments
#   ./run.sh <cmd> ...  any fxsim command, e.g. ./run.sh evaluate --help
#
# Two environments, as hls4ml keeps them (its testing-keras2 / testing-keras3):
#   .venv         Python 3.11, the pinned TensorFlow 2.15 / QKeras stack (Keras 2 front-end);
#                 the main job and the fxsim command run here
#   .venv-keras3  Python 3.13 (or 3.12), Keras >= 3.10 on the torch backend and PyTorch
#                 (Keras 3 and PyTorch front-ends); the core runs in both
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
VENV3=.venv-keras3

# python3.X on PATH, else pyenv's copy (pyenv's shims refuse versions that aren't 'global')
find_python() {
  local minor=$1 py
  for py in "python3.$minor" "$HOME/.pyenv/versions/3.$minor"*/bin/"python3.$minor"; do
    if "$py" -c "import sys; sys.exit(sys.version_info[:2] != (3, $minor))" >/dev/null 2>&1; then
      command -v "$py"; return 0
    fi
  done
  return 1
}

# ensure_env DIR EXTRAS PYTHON... : (re)install DIR when missing or older than pyproject.toml
ensure_env() {
  local dir=$1 extras=$2 py="" minor
  shift 2
  local stamp="$dir/.fxsim-installed"
  if [ -x "$dir/bin/python" ] && [ -f "$stamp" ] && [ ! pyproject.toml -nt "$stamp" ]; then
    return 0
  fi
  for minor in "$@"; do
    py=$(find_python "$minor") && break
  done
  if [ -z "$py" ]; then
    echo "fxsim: $dir needs Python 3.${*// /, 3.} (none found on PATH or in ~/.pyenv/versions)" >&2
    return 1
  fi
  echo "[fxsim] creating $dir with $("$py" --version) and installing .[$extras] ..." >&2
  "$py" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --upgrade pip
  "$dir/bin/python" -m pip install --quiet -e ".[$extras]"
  touch "$stamp"
}

ensure_env "$VENV" "qkeras,data,dev" 11
ensure_env "$VENV3" "keras3,torch,dev" 13 12

# Which tests run where is decided by their markers (tests/conftest.py, docs/environments.md):
# each test module's pytestmark says core (both environments) or what it needs (keras2, keras3,
# torch, data). --fxsim-env names what an environment provides; the tests needing more are not
# collected there, and a provided need whose packages are missing is an error, not a quiet skip.
ENV_NEEDS=keras2,data
ENV3_NEEDS=keras3,torch

cmd="${1:-demo}"
[ $# -gt 0 ] && shift
case "$cmd" in
  test)
    # lint, then both test runs; all three run even when one fails, and any failure fails the command
    # (with test paths given, a run that collects none of them, status 5, is no failure)
    rc=0
    accept() { local r=$1; [ "$r" -eq 5 ] && [ $# -gt 1 ] && return 0; rc=$r; }
    echo "[fxsim] lint (ruff, configured in pyproject.toml)" >&2
    "$VENV/bin/ruff" check . || rc=$?
    echo "[fxsim] tests in $VENV (core, Keras 2 / QKeras, data)" >&2
    "$VENV/bin/python" -m pytest -n 2 --dist loadfile --fxsim-env "$ENV_NEEDS" "$@" || accept $? "$@"
    echo "[fxsim] tests in $VENV3 (core, Keras 3, PyTorch)" >&2
    KERAS_BACKEND=torch "$VENV3/bin/python" -m pytest -n 2 --dist loadfile --fxsim-env "$ENV3_NEEDS" "$@" \
      || accept $? "$@"
    exit "$rc" ;;
  *)    exec "$VENV/bin/fxsim" "$cmd" "$@" ;;
esac
