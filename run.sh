#!/usr/bin/env bash
# One entry point that sets everything up on a fresh machine, then runs a job:
#   ./run.sh mvp                  the locked MVP (a tiny transformer learns PatternEcho);
#                                 installs only what it needs (no Ray, no SB3)
#   ./run.sh test [pytest args]   lint and the test suite, with the dev extras
#   ./run.sh test -m integration  the RL-library recipes of docs/integrations.md, with those
#                                 libraries installed in their own .venv-integration
#   ./run.sh package              build the wheel and sdist, install each in a fresh venv and
#                                 run a smoke test
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"

# setup VENV EXTRAS: create VENV if needed and install the project with EXTRAS ("" for none);
# reinstalls only when pyproject.toml or the extras changed since the last install.
setup() {
    local venv="$1" extras="$2"
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    PY="$venv/bin/python"
    local stamp="$venv/.wmil-installed"
    if [ ! -f "$stamp" ] || ! cmp -s <(cat pyproject.toml; echo "$extras") "$stamp"; then
        "$PY" -m pip install --quiet --upgrade pip
        # torch first, pinned to the CPU build this project is tested with: an unpinned install
        # would pull several GB of CUDA packages. Users who have their own torch keep it.
        "$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install --quiet "torch==2.13.0"
        "$PY" -m pip install --quiet -e ".${extras:+[$extras]}"
        { cat pyproject.toml; echo "$extras"; } > "$stamp"
    fi
}

# What an installed wheel must do: register the ids, step single and native vector envs, build
# the agent's model on an env's spaces.
SMOKE='
import gymnasium as gym, numpy as np, wmil_envs
from agents.model import AgentModel
env = gym.make("WMIL/PatternEcho-v0")
obs, _ = env.reset(seed=0)
assert env.step(env.unwrapped.oracle())[1] == 1.0
envs = gym.make_vec("WMIL/NumberWalk-v0", 4, autoreset_mode="next_step")
envs.reset(seed=0)
envs.step(envs.call("oracle"))
AgentModel(env.observation_space, env.action_space)
print("smoke ok:", sorted(wmil_envs.ENV_IDS))
'

job="${1:-}"
shift || true
case "$job" in
    mvp)
        setup .venv ""
        exec "$PY" -m agents.train --config configs/mvp.yaml "$@"
        ;;
    test)
        if [[ " $* " == *" integration"* ]]; then
            setup .venv-integration "dev,integration"
        else
            setup .venv "dev,ray"
        fi
        "$PY" -m ruff check .
        exec "$PY" -m pytest -q "$@"
        ;;
    package)
        setup .venv "dev,ray"
        rm -rf dist
        "$PY" -m build --outdir dist . >/dev/null
        for artifact in dist/*.whl dist/*.tar.gz; do
            fresh="$(mktemp -d)/venv"
            "$PYTHON" -m venv "$fresh"
            "$fresh/bin/python" -m pip install --quiet "torch==2.13.0"
            "$fresh/bin/python" -m pip install --quiet "$artifact"
            # outside the checkout, so the installed package is the one imported
            (cd "$(dirname "$fresh")" && "$fresh/bin/python" -c "$SMOKE")
            echo "ok: $artifact"
        done
        ;;
    *)
        echo "usage: ./run.sh mvp|test|package [extra arguments]" >&2
        exit 2
        ;;
esac
