"""Training throughput: env steps per CPU second of our trainer, how near it runs to the
machine's arithmetic limit, and against Stable-Baselines3 PPO.

Our rows: PPO with the heads off, PPO with the world-model head, and the locked MVP's REINFORCE
(``configs/mvp.yaml``). For each, the FLOPs of one env step are *counted* (PyTorch's
``FlopCounterMode`` over one rollout and its update: every matmul of acting, learning and the
backward pass), and the machine's limit is *measured*: one core's fp32 matmul rate
(``--matmul_size`` square matrices, one thread). The share of the limit is
``env steps/s x FLOPs per env step / matmul FLOP/s``: 100 % would be a trainer doing nothing but
its matmuls at the speed of a large one. Against SB3 the env steps/s ratio is printed too, but
SB3's MLP needs several times fewer FLOPs per step, so share of the limit is the measure of our
trainer's speed.

How near 100 % a trainer could get is measured too: the matmuls of that same rollout and update
(every kernel the counter counted, with its operands' shapes and strides) are replayed alone on
random inputs, in rounds alternating with the limit's matmul, and their share of the limit is
the median of the rounds (``its matmuls alone``). Small matrices (64 wide, a few hundred rows,
attention's 5 x 16 products) run below a large one's rate, so this is the most that removing
every other cost (elementwise ops, copies, the envs, Python) would give with these kernels.

Both train PPO on the same env with the same number of envs, rollout length, epochs, minibatch
size and learning settings, single-threaded torch on CPU; the networks are of comparable size
(ours: the transformer of ``--hidden_dim`` / ``--num_layers``; SB3: ``MlpPolicy`` with two
hidden layers of ``--hidden_dim`` for the policy and for the value, on SB3's one-hot encoding of
the ``MultiDiscrete`` observation). Parameter counts are printed. Timed: the training loop for
``--steps`` env steps after one warm-up update (rollouts and updates; no evaluation, no
logging), in CPU seconds of this process (one torch thread, so a loaded machine slows the wall
clock, not this). Ours is timed with the world-model and VQ heads off (the same algorithm as
SB3's) and with the world-model head on (what it costs).

With ``--device cuda`` (or ``mps``) our trainer runs its model on that device: the envs stay on
the CPU, so every step moves observations there and actions back, and each rollout is moved once
for its update. Then the timing is wall-clock seconds (after synchronising the device), the limit
is that device's fp32 matmul rate (``--matmul_size`` 4096 unless given), and SB3 is not run (its
row compares CPU trainers).

    python -m benchmarks.train_throughput [--env WMIL/PatternEcho-v0] [--steps 16384]
        [--num_envs 64] [--rollout_steps 16] [--device cpu] [--ceiling_seconds 0.25]
        [--json PATH]

Flags are spelt like the config keys of ``agents.train`` (``--num_envs``); the hyphen spelling
(``--num-envs``) is accepted too.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

import wmil_envs
from benchmarks import machine
from wmil_envs.files import atomic_write_text

MVP_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "mvp.yaml"


def clock(device: torch.device) -> float:
    """Seconds to time ``device``'s work by: this process's CPU time on the CPU (one thread, so
    other load on the machine does not count), else wall time once the device has finished."""
    if device.type == "cpu":
        return time.process_time()
    getattr(torch, device.type).synchronize()
    return time.perf_counter()


def flop_rate(step: Callable[[], object], flops: float, seconds: float, device) -> float:
    """FLOP/s of calling ``step`` (``flops`` each call) again and again for ``seconds``, after one
    warm-up call, by :func:`clock`."""
    device = torch.device(device)
    step()  # warm-up
    count, start = 0, clock(device)
    while count == 0 or clock(device) - start < seconds:
        step()
        count += 1
    return flops * count / (clock(device) - start)


def matmul_gflops(size: int = 512, seconds: float = 1.0, device: str = "cpu") -> float:
    """Sustained fp32 matmul rate (GFLOP/s) on ``size`` x ``size`` matrices: one thread's on the
    CPU, the device's otherwise."""
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    return flop_rate(lambda: a @ b, 2 * size**3, seconds, device) / 1e9


def counted_flops_per_step(trainer, matmuls: list | None = None) -> float:
    """FLOPs of one env step: one rollout and its update under ``FlopCounterMode``. With a list
    ``matmuls``, the counted kernels' calls are appended to it (see :class:`MatmulRecorder`)."""
    from agents.training_loop import rollout_to

    with FlopCounterMode(display=False) as counter, MatmulRecorder(counter, matmuls):
        batch, _ = trainer.collect()
        trainer.algo.update(rollout_to(batch, trainer.device))
    return counter.get_total_flops() / trainer.cfg.steps_per_update


class Operand(NamedTuple):
    """A recorded tensor argument: what :func:`replay` needs to make one like it."""

    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype
    device: torch.device


class MatmulRecorder(TorchDispatchMode):
    """Appends to ``calls`` each call of a kernel whose FLOPs ``counter`` counts (the matmuls):
    ``(op, arguments, keyword arguments)``, each tensor argument as an :class:`Operand`, so that
    :func:`replay` can run them again alone. With ``calls`` None it does nothing."""

    def __init__(self, counter: FlopCounterMode, calls: list | None):
        super().__init__()
        self.counted, self.calls = counter.flop_registry, calls

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.calls is not None and func.overloadpacket in self.counted:
            operands = [
                Operand(tuple(a.shape), a.stride(), a.dtype, a.device)
                if isinstance(a, torch.Tensor)
                else a
                for a in args
            ]
            self.calls.append((func, operands, kwargs))
        return func(*args, **kwargs)


def replay(calls: list) -> tuple[Callable[[], None], float]:
    """A function that runs the recorded ``calls`` again on random inputs of the same shapes and
    strides (one buffer per distinct operand), and the FLOPs of one run."""
    buffers: dict[Operand, torch.Tensor] = {}

    def tensor(op: Operand) -> torch.Tensor:
        if op not in buffers:  # storage just long enough (strides may overlap, as expand's do)
            extent = 1 + sum((n - 1) * s for n, s in zip(op.shape, op.stride, strict=True))
            storage = torch.randn(extent if all(op.shape) else 1, dtype=op.dtype, device=op.device)
            buffers[op] = storage.as_strided(op.shape, op.stride)
        return buffers[op]

    ops = [
        (func, [tensor(a) if isinstance(a, Operand) else a for a in args], kwargs)
        for func, args, kwargs in calls
    ]

    def run() -> None:
        for func, args, kwargs in ops:
            func(*args, **kwargs)

    with FlopCounterMode(display=False) as counter:
        run()
    return run, counter.get_total_flops()


def matmul_ceiling(calls: list, size: int, device: str, seconds: float, rounds: int = 5) -> float:
    """The share of the limit that the recorded matmuls ``calls`` reach alone: each round times
    them (:func:`replay`, repeated for ``seconds``), then the limit's ``size`` x ``size`` matmul
    for as long; the median of the rounds' ratios, so a change in the machine's speed during
    the run cancels out."""
    run, flops = replay(calls)
    ratios = [
        flop_rate(run, flops, seconds, device) / (matmul_gflops(size, seconds, device) * 1e9)
        for _ in range(rounds)
    ]
    return statistics.median(ratios)


def device_name(device: str) -> str:
    """The GPU's name, for the report's header."""
    if device == "cuda":
        return torch.cuda.get_device_name()
    return device


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
        device=args.device,
        progress=False,
        value_head=True,
        **heads,
    ).validate()


def mvp_config(args):
    """The locked MVP's config (REINFORCE, world-model head on), run for ``--steps``."""
    from agents.cli import load_yaml
    from agents.config import config_from_dict

    values = {**load_yaml(MVP_CONFIG), "max_steps": args.steps, "torch_threads": 1}
    values["device"] = args.device
    return config_from_dict({**values, "progress": False}).validate()


def ours(args, name: str, cfg) -> dict:
    """Env steps per CPU second of our trainer on ``cfg`` (collect and update, nothing else),
    its FLOPs per env step, and the share of the limit its matmuls reach alone."""
    from agents.model import parameter_count
    from agents.training_loop import Trainer, rollout_to

    trainer = Trainer(cfg, run_dir=os.devnull)
    matmuls: list = []
    flops = counted_flops_per_step(trainer, matmuls)  # also the warm-up
    steps, start = 0, clock(trainer.device)
    while steps < args.steps:
        batch, _ = trainer.collect()
        trainer.algo.update(rollout_to(batch, trainer.device))
        steps += cfg.steps_per_update
    seconds = clock(trainer.device) - start
    trainer.envs.close()
    size = args.matmul_size or default_matmul_size(args.device)
    return {
        "agent": name,
        "parameters": parameter_count(trainer.model),
        "steps": steps,
        "seconds": seconds,
        "steps_per_second": steps / seconds,
        "flops_per_step": flops,
        "matmuls_alone_share": matmul_ceiling(matmuls, size, args.device, args.ceiling_seconds),
    }


def default_matmul_size(device: str) -> int:
    """The limit's matrix size: 512 on the CPU, 4096 on a GPU."""
    return 512 if device == "cpu" else 4096


def sb3(args) -> dict:
    from benchmarks.cell import sb3_ppo, sb3_vec_env

    cfg = _config(args, world_model_head=False, vq_head=False)
    venv = sb3_vec_env(cfg)
    model = sb3_ppo(cfg, venv)
    model.learn(cfg.steps_per_update)  # warm-up: one rollout and update
    start = time.process_time()
    model.learn(args.steps, reset_num_timesteps=False)
    seconds = time.process_time() - start
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
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "mps"))
    p.add_argument(
        "--matmul_size", "--matmul-size", type=int, help="default 512 on the CPU, 4096 on a GPU"
    )
    p.add_argument(
        "--ceiling_seconds", "--ceiling-seconds", type=float, default=0.25,
        help="seconds per timing of the matmuls-alone ceiling (5 rounds, paired with the limit)",
    )  # fmt: skip
    p.add_argument("--json", metavar="PATH")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from agents.config import ConfigError
    from agents.training_loop import resolve_device

    try:
        resolve_device(args.device)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    on_cpu = args.device == "cpu"
    heads_off, world_model = (
        _config(args, world_model_head=wm, vq_head=False) for wm in (False, True)
    )
    where = "1 thread" if on_cpu else f"{args.device}: {device_name(args.device)}"
    print(
        f"# training throughput on {args.env}: {args.num_envs} envs x {args.rollout_steps} "
        f"steps per update, {args.update_epochs} epochs x {args.num_minibatches} minibatches, "
        f"{args.steps:,} timed steps, torch {torch.__version__} ({where}), "
        f"{machine.describe()}, torch's CPU kernels: {torch.backends.cpu.get_cpu_capability()}",
        flush=True,
    )
    size = args.matmul_size or default_matmul_size(args.device)
    gflops = matmul_gflops(size, device=args.device)
    whose = "one thread's" if on_cpu else f"the {args.device} device's"
    print(f"limit: {whose} fp32 matmul ({size}^2): {gflops:,.1f} GFLOP/s")
    measures = {
        "ppo": lambda: ours(args, "ours: PPO (heads off)", heads_off),
        "sb3": lambda: sb3(args),
        "ppo_wm": lambda: ours(args, "ours: PPO + world-model head", world_model),
        "mvp": lambda: ours(args, "ours: REINFORCE (the MVP's config)", mvp_config(args)),
    }
    if not on_cpu:
        del measures["sb3"]
        print("(SB3 is timed only with --device cpu: its row compares CPU trainers)")
    elif importlib.util.find_spec("stable_baselines3") is None:
        del measures["sb3"]
        print("(no SB3 row: stable_baselines3 is not installed; pip install 'wmil[bench]')")
    rows = {}
    for key, measure in measures.items():
        row = rows[key] = measure()
        line = f"{row['agent']:<36} {row['parameters']:>9,} params "
        line += f"{row['steps_per_second']:>9,.0f} env steps/s"
        if "flops_per_step" in row:
            row["share_of_limit"] = row["steps_per_second"] * row["flops_per_step"] / (gflops * 1e9)
            line += f" {row['flops_per_step'] / 1e6:>7.2f} MFLOP/step"
            line += f" {row['share_of_limit']:>6.1%} of the limit"
            line += f" (its matmuls alone: {row['matmuls_alone_share']:.1%})"
        print(line, flush=True)
    ratio = ratio_wm = None
    if "sb3" in rows:
        ratio = rows["ppo"]["steps_per_second"] / rows["sb3"]["steps_per_second"]
        ratio_wm = rows["ppo_wm"]["steps_per_second"] / rows["sb3"]["steps_per_second"]
        print(
            f"ratio ours / SB3 (same algorithm): {ratio:.2f}x; with the world-model head: "
            f"{ratio_wm:.2f}x"
        )
    if args.json:
        result = {
            "args": vars(args),
            "cpu": machine.cpu_model(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cores": os.cpu_count(),
            "matmul_gflops": gflops,
            "rows": list(rows.values()),
            "ratio": ratio,
            "ratio_world_model": ratio_wm,
        }
        atomic_write_text(args.json, json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
