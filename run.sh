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

# The core's tests that import neither TensorFlow nor QKeras: they run in both environments.
# (.venv runs every kernel test; here a sample that proves numba/numpy 2 on the newer Python.)
CORE_TESTS=(
  tests/test_precision.py tests/kernels/test_lut.py tests/kernels/test_activations.py
  tests/analysis/test_select.py tests/analysis/test_space.py
)

# The Keras 3 / PyTorch front-ends' tests: .venv-keras3 only.
KERAS3_TESTS=(tests/frontends/test_torch.py tests/frontends/test_torch_states.py tests/frontends/test_torch_cli.py
              tests/frontends/test_keras3.py)

cmd="${1:-demo}"
[ $# -gt 0 ] && shift
case "$cmd" in
  test)
    # lint, then both test runs; all three run even when one fails, and any failure fails the command
    rc=0
    echo "[fxsim] lint (ruff, configured in pyproject.toml)" >&2
    "$VENV/bin/ruff" check . || rc=$?
    echo "[fxsim] tests in $VENV (Keras 2 / QKeras, core)" >&2
    "$VENV/bin/python" -m pytest -n 2 --dist loadfile -m "not keras3 and not torch" \
      "${KERAS3_TESTS[@]/#/--ignore=}" "$@" || rc=$?
    echo "[fxsim] tests in $VENV3 (Keras 3, PyTorch, core)" >&2
    KERAS_BACKEND=torch "$VENV3/bin/python" -m pytest -n 2 --dist loadfile -m "not keras2" \
      "${CORE_TESTS[@]}" "${KERAS3_TESTS[@]}" tests/frontends/test_envs.py "$@" || rc=$?
    exit "$rc" ;;
  *)    exec "$VENV/bin/fxsim" "$cmd" "$@" ;;
esac
