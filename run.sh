#!/usr/bin/env bash
# One entry point that sets everything up on a fresh machine, then runs a job:
#   ./run.sh mvp     the locked MVP (a tiny transformer learns PatternEcho)
#   ./run.sh test    lint and the test suite
# Both create (or reuse) .venv and install the project with its extras into it.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
VENV=".venv"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

# Reinstall only when pyproject.toml changed since the last install.
STAMP="$VENV/.wmil-installed"
if [ ! -f "$STAMP" ] || ! cmp -s pyproject.toml "$STAMP"; then
    "$PY" -m pip install --quiet --upgrade pip
    # torch first, pinned to the CPU build this project is tested with: an unpinned install
    # would pull several GB of CUDA packages. Users who have their own torch keep it.
    "$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install --quiet "torch==2.13.0"
    "$PY" -m pip install --quiet -e ".[dev,llm,bench,ray]"
    cp pyproject.toml "$STAMP"
fi

job="${1:-}"
shift || true
case "$job" in
    mvp)
        exec "$PY" -m agents.train --config configs/mvp.yaml "$@"
        ;;
    test)
        "$PY" -m ruff check .
        exec "$PY" -m pytest -q "$@"
        ;;
    *)
        echo "usage: ./run.sh mvp|test [extra arguments]" >&2
        exit 2
        ;;
esac
