"""Time to solve the MVP task: wall seconds from process start to 95 % greedy success, ours vs
Stable-Baselines3's PPO with its defaults, each seed a fresh process (so imports count).

Ours: ``python -m agents.train --config configs/mvp.yaml --stop_at_success 0.95 --seed S``
(greedy evaluation every 500 env steps on 512 fresh episodes, as the MVP config says; at most
its 10,000 steps). SB3: ``PPO("MlpPolicy", env, seed=S, device="cpu")``, every other setting
its default (one env, n_steps 2048, batch 64, 10 epochs...), on the same env and level, with the
same greedy evaluation (same episodes, every 500 env steps) run by a callback; at most
``--sb3_max_steps``. SB3 runs only where ``stable_baselines3`` is importable. Both sides use one
torch thread; seeds alternate ours / SB3 so that both share the machine's load.

The time is from just before the process is launched to the moment its evaluation reached the
target (which the process writes down); the process then saves and exits, which is not counted.
The CPU seconds of each process to its exit are printed too: on a shared machine the load
inflates them less than wall time. Before each seed, a process that only runs ``import torch`` is
timed the same way: the floor under any PyTorch trainer's time to solve on this machine.

    python -m benchmarks.time_to_solve [--seeds 5] [--target 0.95] [--json PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import machine
from wmil_envs.files import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
MVP_CONFIG = ROOT / "configs" / "mvp.yaml"


def _launch(command: list[str], **kwargs) -> tuple[float, float, float]:
    """Run ``command`` from the repository root (importable there); its launch and exit
    ``time.time()`` and the CPU seconds it used (user + system: on a shared machine, what
    the load does not inflate as much as wall time)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    launched = time.time()
    subprocess.run(command, check=True, cwd=ROOT, env=env, **kwargs)
    exited = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return launched, exited, cpu


def _seconds_since(launched: float, reached: float | None) -> float | None:
    """Seconds from launch to the ``time.time()`` the target was reached (None: never)."""
    return None if reached is None else reached - launched


def run_ours(seed: int, target: float, workdir: Path) -> dict:
    """Our trainer on the MVP config in a fresh process, stopping at ``target``."""
    run_dir = workdir / f"ours_s{seed}"
    command = [sys.executable, "-m", "agents.train", "--config", str(MVP_CONFIG),
               "--stop_at_success", str(target), "--seed", str(seed), "--progress", "false",
               "--run_dir", str(run_dir)]  # fmt: skip
    launched, exited, cpu = _launch(command, stdout=subprocess.DEVNULL)
    summary = json.loads((run_dir / "summary.json").read_text())
    reached = summary["stopped_at_success"]
    return {
        "agent": "ours",
        "seed": seed,
        "seconds_to_solve": _seconds_since(launched, reached and reached["unix_time"]),
        "steps_to_solve": None if reached is None else reached["step"],
        "seconds_to_exit": exited - launched,
        "cpu_seconds_to_exit": cpu,
    }


def time_import_torch() -> float:
    """Wall seconds of a fresh process that only imports torch."""
    launched, exited, _ = _launch([sys.executable, "-c", "import torch"])
    return exited - launched


def run_sb3(seed: int, target: float, workdir: Path, max_steps: int) -> dict:
    """SB3 PPO (defaults) on the same task in a fresh process (``_sb3_worker``)."""
    out = workdir / f"sb3_s{seed}.json"
    command = [sys.executable, "-m", "benchmarks.time_to_solve", "--sb3_worker", str(seed),
               "--target", str(target), "--sb3_max_steps", str(max_steps),
               "--json", str(out)]  # fmt: skip
    launched, exited, cpu = _launch(command)
    reached = json.loads(out.read_text())
    return {
        "agent": "sb3_ppo",
        "seed": seed,
        "seconds_to_solve": _seconds_since(launched, reached["unix_time"]),
        "steps_to_solve": reached["step"],
        "seconds_to_exit": exited - launched,
        "cpu_seconds_to_exit": cpu,
    }


def _sb3_worker(seed: int, target: float, max_steps: int, out: str) -> None:
    """Train SB3 PPO with its defaults until greedy success reaches ``target``; write when."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    from agents.cli import load_yaml
    from agents.config import config_from_dict
    from agents.scoring import greedy_success
    from agents.training_loop import EVAL_SEED_OFFSET

    cfg = config_from_dict({**load_yaml(MVP_CONFIG), "seed": seed}).validate()
    torch.set_num_threads(cfg.torch_threads)
    reached: dict = {"step": None, "unix_time": None, "greedy_evals": []}

    class GreedyPolicy:
        """Our evaluation's interface over SB3's deterministic action."""

        def __init__(self, model):
            self.model = model

        def act(self, obs, greedy=True):
            return self.model.predict(obs, deterministic=greedy)[0]

    class StopAtSuccess(BaseCallback):
        """Greedy evaluation every ``eval_every`` env steps; stop at ``target``."""

        def _on_step(self) -> bool:
            if self.num_timesteps % cfg.eval_every:
                return True
            rate = greedy_success(cfg, GreedyPolicy(self.model), cfg.eval_episodes,
                                  cfg.seed + EVAL_SEED_OFFSET)  # fmt: skip
            reached["greedy_evals"].append([self.num_timesteps, rate])
            if rate >= target:
                reached.update(step=self.num_timesteps, unix_time=time.time())
                return False
            return True

    kwargs = {**cfg.env_kwargs(), "render_mode": None}  # SB3 would ask for rgb_array
    env = make_vec_env(cfg.env_id, n_envs=1, seed=seed, env_kwargs=kwargs)
    model = PPO("MlpPolicy", env, seed=seed, device="cpu")
    model.learn(max_steps, callback=StopAtSuccess())
    atomic_write_text(out, json.dumps(reached))


def median_seconds(rows: list[dict]) -> float:
    """Median seconds to solve; a run that never solved counts as infinitely slow."""
    return statistics.median(
        math.inf if r["seconds_to_solve"] is None else r["seconds_to_solve"] for r in rows
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.time_to_solve", description=__doc__.splitlines()[0]
    )
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 for each agent")
    p.add_argument("--target", type=float, default=0.95, help="greedy success to reach")
    p.add_argument(
        "--sb3_max_steps", "--sb3-max-steps", type=int, default=200_000, help="SB3's step budget"
    )
    p.add_argument("--no_sb3", "--no-sb3", action="store_true", help="time ours only")
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON here")
    p.add_argument("--sb3_worker", "--sb3-worker", type=int, metavar="SEED", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.sb3_worker is not None:
        _sb3_worker(args.sb3_worker, args.target, args.sb3_max_steps, args.json)
        return
    with_sb3 = not args.no_sb3 and importlib.util.find_spec("stable_baselines3") is not None
    print(
        f"# time from process start to {args.target:.0%} greedy success on the MVP task "
        f"({MVP_CONFIG.name}), {args.seeds} seeds, {machine.describe()}"
        + ("" if with_sb3 else "; stable_baselines3 is not importable: ours only"),
        flush=True,
    )
    rows, import_seconds = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            import_seconds.append(time_import_torch())
            print(f"import torch alone: {import_seconds[-1]:6.2f} s", flush=True)
            runs = [lambda s=seed: run_ours(s, args.target, Path(tmp))]
            if with_sb3:
                runs.append(lambda s=seed: run_sb3(s, args.target, Path(tmp), args.sb3_max_steps))
            for run in runs:
                row = run()
                rows.append(row)
                solved = row["seconds_to_solve"]
                print(
                    f"{row['agent']:<8} seed {row['seed']}: "
                    + ("not reached" if solved is None else f"{solved:6.2f} s")
                    + f" at step {row['steps_to_solve']}, "
                    f"exit after {row['seconds_to_exit']:.2f} s "
                    f"({row['cpu_seconds_to_exit']:.2f} CPU s)",
                    flush=True,
                )
    for agent in dict.fromkeys(r["agent"] for r in rows):
        mine = [r for r in rows if r["agent"] == agent]
        steps = [r["steps_to_solve"] for r in mine if r["steps_to_solve"] is not None]
        print(
            f"# {agent}: median {median_seconds(mine):.2f} s to solve "
            f"({len(steps)}/{len(mine)} solved; median step "
            f"{statistics.median(steps) if steps else 'n/a'}; median "
            f"{statistics.median(r['cpu_seconds_to_exit'] for r in mine):.2f} CPU s to exit)"
        )
    print(
        f"# import torch alone: median {statistics.median(import_seconds):.2f} s "
        "(the floor under any PyTorch trainer here)"
    )
    if args.json:
        meta = {"target": args.target, "seeds": args.seeds, "cpu": machine.cpu_model(),
                "cores": os.cpu_count(), "python": sys.version.split()[0]}  # fmt: skip
        result = {"meta": meta, "rows": rows, "import_torch_seconds": import_seconds}
        atomic_write_text(args.json, json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
