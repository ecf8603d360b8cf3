#!/usr/bin/env bash
# fxsim's one entry point on a fresh machine.
#   ./run.sh            the main job on built-in defaults (creates .venv on first use)
#   ./run.sh test       the whole test suite
#   ./run.sh <cmd> ...  any fxsim command, e.g. ./run.sh evaluate --help
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
STAMP="$VENV/.fxsim-installed"

pick_python() {
  for py in python3.11 python3 python; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$py"; return 0
    fi
  done
  echo "fxsim needs Python 3.11 (the pinned TensorFlow 2.15 / QKeras / hls4ml stack)" >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ] || [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  PY=$(pick_python)
  echo "[fxsim] creating $VENV with $($PY --version) and installing the pinned stack ..." >&2
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
  touch "$STAMP"
fi

cmd="${1:-demo}"
[ $# -gt 0 ] && shift
case "$cmd" in
  test) exec "$VENV/bin/python" -m pytest -n 2 --dist loadfile "$@" ;;
  *)    exec "$VENV/bin/fxsim" "$cmd" "$@" ;;
esac
