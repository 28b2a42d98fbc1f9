"""Environment steps per second for every WMIL id, as gymnax and PufferLib quote it.

For each id: one env through ``gym.make``, Gymnasium's ``SyncVectorEnv`` of 16, and the native
vector env at 1, 64, 1024 and 4096 envs. Actions are uniformly random (drawn in advance, so
the policy costs nothing); episodes have their default length (one step for the question
tasks, so every step also resets; the level-0 horizon for the worlds).

As a yardstick, Gymnasium's own numpy-batched CartPole (``CartPoleVectorEnv``) is timed at
4096 envs in alternating blocks with each id's native 4096-env run (``PAIRED_ROUNDS`` rounds of
one block each), and the median of the rounds' ratios is printed: a load that comes and goes
on a shared machine hits both sides of a round alike.

    python -m benchmarks.throughput [--seconds 1.0] [--ids WMIL/PatternEcho-v0 ...] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import gymnasium as gym
import numpy as np

import wmil_envs
from benchmarks import machine
from wmil_envs.files import atomic_write_text

NATIVE_SIZES = (1, 64, 1024, 4096)
SYNC_SIZE = 16
REFERENCE_ID = "CartPole-v1"
REFERENCE_SIZE = 4096
PAIRED_ROUNDS = 8


def _timed(step, budget_s: float) -> float:
    """Call ``step`` (which returns the env steps it made) until ``budget_s``; steps/second."""
    step()  # warm-up: first-call checks, caches
    steps, start = 0, time.perf_counter()
    while True:
        for _ in range(16):
            steps += step()
        elapsed = time.perf_counter() - start
        if elapsed >= budget_s:
            return steps / elapsed


def single_env_sps(env_id: str, budget_s: float) -> float:
    env = gym.make(env_id)
    env.reset(seed=0)
    n = env.action_space.n
    actions = np.random.default_rng(0).integers(0, n, size=4096).tolist()
    cursor = [0]

    def run() -> int:
        i = cursor[0]
        for k in range(64):
            _, _, terminated, truncated, _ = env.step(actions[(i + k) % 4096])
            if terminated or truncated:
                env.reset()
        cursor[0] = i + 64
        return 64

    return _timed(run, budget_s)


def _stepper(envs: gym.vector.VectorEnv):
    """A function that steps ``envs`` once with random actions and returns the env steps."""
    envs.reset(seed=0)
    n = envs.single_action_space.n
    actions = np.random.default_rng(0).integers(0, n, size=(8, envs.num_envs))
    cursor = [0]

    def run() -> int:
        envs.step(actions[cursor[0] % 8])
        cursor[0] += 1
        return envs.num_envs

    return run


def vector_env_sps(envs: gym.vector.VectorEnv, budget_s: float) -> float:
    return _timed(_stepper(envs), budget_s)


def reference_env() -> gym.vector.VectorEnv:
    """Gymnasium's numpy-batched CartPole at ``REFERENCE_SIZE`` envs."""
    return gym.make_vec(
        REFERENCE_ID, num_envs=REFERENCE_SIZE, vectorization_mode="vector_entry_point"
    )


def paired_sps(envs: gym.vector.VectorEnv, budget_s: float) -> dict[str, float]:
    """``envs`` and the reference timed in ``PAIRED_ROUNDS`` alternating blocks (``budget_s``
    in all): the medians of each side's steps/second and of the rounds' ratios."""
    ours, theirs = _stepper(envs), _stepper(reference_env())
    block = budget_s / (2 * PAIRED_ROUNDS)
    rounds = [(_timed(theirs, block), _timed(ours, block)) for _ in range(PAIRED_ROUNDS)]
    return {
        "steps_per_second": float(np.median([o for _, o in rounds])),
        "reference_steps_per_second": float(np.median([t for t, _ in rounds])),
        "ratio_to_reference": float(np.median([o / t for t, o in rounds])),
    }


def ratio_to_reference(row: dict) -> float:
    """A native row's steps/second over CartPole's: the median ratio of the paired rounds."""
    return row["ratio_to_reference"]


def measure(env_ids: list[str], budget_s: float) -> list[dict]:
    rows = []
    for env_id in env_ids:
        rows.append(
            {
                "env_id": env_id,
                "mode": "gym.make",
                "num_envs": 1,
                "steps_per_second": single_env_sps(env_id, budget_s),
            }
        )
        sync = gym.make_vec(env_id, num_envs=SYNC_SIZE, vectorization_mode="sync")
        rows.append(
            {
                "env_id": env_id,
                "mode": "SyncVectorEnv",
                "num_envs": SYNC_SIZE,
                "steps_per_second": vector_env_sps(sync, budget_s),
            }
        )
        for size in NATIVE_SIZES:
            row = {"env_id": env_id, "mode": "native", "num_envs": size}
            native = gym.make_vec(env_id, num_envs=size, vectorization_mode="vector_entry_point")
            if size == REFERENCE_SIZE:  # twice the budget: half of it goes to the reference
                row.update(paired_sps(native, 2 * budget_s))
            else:
                row["steps_per_second"] = vector_env_sps(native, budget_s)
            rows.append(row)
        for row in rows[-(2 + len(NATIVE_SIZES)) :]:
            line = (
                f"{row['env_id']:<26} {row['mode']:<14} {row['num_envs']:>5} envs "
                f"{row['steps_per_second']:>14,.0f} steps/s"
            )
            if "reference_steps_per_second" in row:
                line += (
                    f"  {ratio_to_reference(row):.2f}x {REFERENCE_ID} "
                    f"({row['reference_steps_per_second']:,.0f} steps/s)"
                )
            print(line, flush=True)
    return rows


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.throughput", description=__doc__.splitlines()[0]
    )
    p.add_argument("--seconds", type=float, default=1.0, help="time budget per measurement")
    p.add_argument(
        "--ids",
        nargs="*",
        default=list(wmil_envs.ENV_IDS),
        help="env ids to measure (default: all)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON here")
    return p


def main(argv: list[str] | None = None) -> None:
    cli = parser()
    args = cli.parse_args(argv)
    unknown = [i for i in args.ids if i not in wmil_envs.ENV_IDS]
    if unknown:
        cli.error(f"unknown env id(s) {unknown}; known: {', '.join(wmil_envs.ENV_IDS)}")
    print(
        f"# WMIL env throughput: {machine.describe()}, numpy {np.__version__}, "
        f"gymnasium {gym.__version__}, "
        "random actions, default episode lengths (question tasks: 1 step, every step resets); "
        f"ratios at {REFERENCE_SIZE} envs are to Gymnasium's {REFERENCE_ID} vector env"
    )
    rows = measure(args.ids, args.seconds)
    ratios = [
        f"{row['env_id'].removeprefix('WMIL/')} {ratio_to_reference(row):.2f}x"
        for row in rows
        if "reference_steps_per_second" in row
    ]
    print(f"# native at {REFERENCE_SIZE} envs / {REFERENCE_ID}: " + ", ".join(ratios))
    if args.json:
        meta = {
            "python": platform.python_version(),
            "cpu": machine.cpu_model(),
            "numpy": np.__version__,
            "gymnasium": gym.__version__,
            "cores": os.cpu_count(),
            "seconds_per_measurement": args.seconds,
        }
        atomic_write_text(args.json, json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
