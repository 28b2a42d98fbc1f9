"""Training throughput: env steps per second of our trainer against Stable-Baselines3 PPO.

Both train PPO on the same env with the same number of envs, rollout length, epochs, minibatch
size and learning settings, single-threaded torch on CPU; the networks are of comparable size
(ours: the transformer of ``--hidden_dim`` / ``--num_layers``; SB3: ``MlpPolicy`` with two
hidden layers of ``--hidden_dim`` for the policy and for the value, on SB3's one-hot encoding of
the ``MultiDiscrete`` observation). Parameter counts are printed. Timed: the training loop for
``--steps`` env steps after one warm-up update (rollouts and updates; no evaluation, no
logging). Ours is timed with the world-model and VQ heads off (the same algorithm as SB3's) and
with the world-model head on (what it costs).

    python -m benchmarks.train_throughput [--env WMIL/PatternEcho-v0] [--steps 16384]
        [--num_envs 64] [--rollout_steps 16] [--json PATH]

Flags are spelt like the config keys of ``agents.train`` (``--num_envs``); the hyphen spelling
(``--num-envs``) is accepted too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

import wmil_envs
from wmil_envs.files import atomic_write_text


def _config(args, **heads):
    from agents.config import Config

    return Config(
        task=args.env,
        algorithm="ppo",
        num_envs=args.num_envs,
        rollout_steps=args.rollout_steps,
        update_epochs=args.update_epochs,
        num_minibatches=args.num_minibatches,
        hidden_dim=args.hidden_dim,
        num_layers=args.num_layers,
        learning_rate=1e-3,
        max_steps=args.steps,
        torch_threads=1,
        progress=False,
        value_head=True,
        **heads,
    ).validate()


def ours(args, world_model: bool) -> dict:
    from agents.model import parameter_count
    from agents.training_loop import Trainer

    cfg = _config(args, world_model_head=world_model, vq_head=False)
    trainer = Trainer(cfg, run_dir=os.devnull)
    batch, _ = trainer.collect()  # warm-up
    trainer.algo.update(batch)
    steps, start = 0, time.perf_counter()
    while steps < args.steps:
        batch, _ = trainer.collect()
        trainer.algo.update(batch)
        steps += cfg.steps_per_update
    seconds = time.perf_counter() - start
    trainer.envs.close()
    name = "ours: PPO + world-model head" if world_model else "ours: PPO (heads off)"
    return {
        "agent": name,
        "parameters": parameter_count(trainer.model),
        "steps": steps,
        "seconds": seconds,
        "steps_per_second": steps / seconds,
    }


def sb3(args) -> dict:
    from benchmarks.cell import sb3_ppo, sb3_vec_env

    cfg = _config(args, world_model_head=False, vq_head=False)
    venv = sb3_vec_env(cfg)
    model = sb3_ppo(cfg, venv)
    model.learn(cfg.steps_per_update)  # warm-up: one rollout and update
    start = time.perf_counter()
    model.learn(args.steps, reset_num_timesteps=False)
    seconds = time.perf_counter() - start
    steps = model.num_timesteps - cfg.steps_per_update
    venv.close()
    return {
        "agent": "Stable-Baselines3 PPO (MlpPolicy)",
        "parameters": sum(p.numel() for p in model.policy.parameters()),
        "steps": steps,
        "seconds": seconds,
        "steps_per_second": steps / seconds,
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.train_throughput", description=__doc__.splitlines()[0]
    )
    p.add_argument("--env", default="WMIL/PatternEcho-v0", choices=wmil_envs.ENV_IDS)
    p.add_argument("--steps", type=int, default=16384)
    p.add_argument("--num_envs", "--num-envs", type=int, default=64)
    p.add_argument("--rollout_steps", "--rollout-steps", type=int, default=16)
    p.add_argument("--update_epochs", "--update-epochs", type=int, default=4)
    p.add_argument("--num_minibatches", "--num-minibatches", type=int, default=4)
    p.add_argument("--hidden_dim", "--hidden-dim", type=int, default=64)
    p.add_argument("--num_layers", "--num-layers", type=int, default=2)
    p.add_argument("--json", metavar="PATH")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    torch.set_num_threads(1)
    print(
        f"# training throughput on {args.env}: {args.num_envs} envs x {args.rollout_steps} "
        f"steps per update, {args.update_epochs} epochs x {args.num_minibatches} minibatches, "
        f"{args.steps:,} timed steps, torch {torch.__version__} (1 thread), "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        flush=True,
    )
    rows = []
    for measure in (lambda: ours(args, False), lambda: sb3(args), lambda: ours(args, True)):
        row = measure()
        rows.append(row)
        print(
            f"{row['agent']:<36} {row['parameters']:>9,} params "
            f"{row['steps_per_second']:>10,.0f} env steps/s",
            flush=True,
        )
    ratio = rows[0]["steps_per_second"] / rows[1]["steps_per_second"]
    ratio_wm = rows[2]["steps_per_second"] / rows[1]["steps_per_second"]
    print(
        f"ratio ours / SB3 (same algorithm): {ratio:.2f}x; with the world-model head: "
        f"{ratio_wm:.2f}x"
    )
    if args.json:
        result = {"args": vars(args), "rows": rows, "ratio": ratio, "ratio_world_model": ratio_wm}
        atomic_write_text(args.json, json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
