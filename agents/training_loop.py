"""The trainer: collects rollouts from the native vector env, updates, logs, evaluates,
checkpoints and resumes exactly.

Rollouts. Every rollout starts with ``envs.reset()`` (seeded once, at the first update) and
runs ``rollout_steps`` vector steps, a multiple of ``episode_length``; all episodes have the same
fixed horizon, so every episode ends exactly at the end of its rollout. The state between updates
is then just the env's random generator (and difficulty), which checkpoints hold: a run stopped
and resumed at an update boundary continues exactly as if it had never stopped (CPU, same seed).
The world-model target is the raw next observation, ``infos["final_obs"]`` when an episode ends.

The algorithm is whichever class ``agents.algorithm`` registers under ``cfg.algorithm``; the
trainer knows it only through that contract. ``Trainer.update()`` is one rollout and one update,
``Trainer.iterate()`` yields after each (the benchmark runner evaluates between them), and
``Trainer.train()`` adds evaluation, logging, checkpoints and the summary on top.

Success rate (``charts/success_rate``) is the rolling rate over the last ``success_window``
training episodes (at the current level: the window is emptied when the curriculum changes it).
A greedy evaluation runs every ``eval_every`` steps on a fixed set of fresh episodes, and its
results go to ``summary.json`` (``greedy_evals``). With ``stop_at_success``, training stops at
the first of them at the target level that reaches it (``stopped_at_success`` in the summary:
its step, success and seconds); the run counts as finished.

Curriculum (``curriculum: true``): the vector env is wrapped in
``wmil_envs.VectorCurriculumWrapper``, whose ``CurriculumManager`` (settings: the config's
``curriculum_*`` keys) is fed every finished training episode and sets the level of the episodes
that follow. Its state is in every checkpoint; its level changes, with the env step, CPU and
wall seconds of each, go to ``summary.json`` (``curriculum.history``). At the end, a greedy
evaluation at the target level (the curriculum's top level, else ``difficulty``) gives
``target_greedy_success``.

Stops. Ctrl-C or SIGTERM (``_StopFlag``): the update finishes, a checkpoint is written, and
``stop_reason`` says why. An LLM parent that falls back to the rules for more than
``max_fallback_rate`` of its answers stops the run the same way (a warning is printed at the
first fallback in any case; its counters go to ``summary.json`` as ``parent``). A loss, logit or
weight that becomes NaN or infinite raises :class:`TrainingDiverged` before anything is saved,
so the last checkpoint stays the last good one.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import yaml
from torch.distributions import Categorical

import wmil_envs  # noqa: F401  (registers the ids)
from agents.algorithm import Rollout, algorithm_class, make_policy
from agents.checkpoint import atomic_write_text, restore_trainer, save_checkpoint, trainer_payload
from agents.config import Config, ConfigError, config_from_dict
from agents.model import AgentModel, parameter_count
from agents.mvp import mvp_criteria
from agents.optim import all_finite
from agents.rewards import RewardVector, prediction_rewards
from agents.scoring import greedy_success
from wmil_envs.memory import VectorEpisodeMemory
from wmil_envs.wrappers import VectorCurriculumWrapper

EVAL_SEED_OFFSET = 1_000_003
RESUME_OVERRIDABLE = (
    "max_steps", "eval_every", "eval_episodes", "checkpoint_every", "keep_checkpoints",
    "log_every", "progress", "torch_threads", "max_fallback_rate", "stop_at_success",
)  # fmt: skip


class TrainingDiverged(RuntimeError):
    """A loss, logit or weight became NaN or infinite; the message names the step and cause."""


def default_run_dir(cfg: Config) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{cfg.task_name}_{cfg.algorithm}_s{cfg.seed}_{stamp}"


def resolve_device(name: str) -> torch.device:
    """The torch device ``name`` (cpu, cuda or mps), or a ConfigError saying why it cannot be
    used here: torch does not report it available."""
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device='cuda' but torch reports no usable CUDA GPU (torch.cuda.is_available() is "
            f"False; torch {torch.__version__}, built for CUDA {torch.version.cuda}); use "
            "device=cpu, or a torch build for this machine's GPU"
        )
    mps = getattr(torch.backends, "mps", None)
    if name == "mps" and not (mps is not None and mps.is_available()):
        raise ConfigError(
            "device='mps' but torch reports no Apple GPU (torch.backends.mps.is_available() is "
            "False); use device=cpu"
        )
    return torch.device(name)


def build_model(cfg: Config, envs) -> AgentModel:
    try:
        return AgentModel(
            envs.single_observation_space, envs.single_action_space, cfg.model_config()
        )
    except ValueError as error:  # e.g. action_head='digits' with more than 100 actions
        raise ConfigError(str(error)) from None


@dataclass
class UpdateResult:
    """What one rollout and update (``Trainer.update``) did."""

    step: int
    """Env steps so far (after this update)."""
    metrics: dict[str, float]
    """The algorithm's update metrics (``losses/policy``, ...)."""
    rollout: dict[str, Any]
    """What the rollout saw (``Trainer.collect``): mean rewards, entropy, the finished
    episodes' ``successes`` and ``returns``, the parent's statistics."""
    success_rate: float
    """The rolling training success rate (``success_window`` episodes at the current level)."""
    seconds: float
    """Wall seconds of the rollout and the update."""


class Trainer:
    def __init__(self, cfg: Config, run_dir: str | os.PathLike | None = None,
                 checkpoint: dict[str, Any] | None = None):  # fmt: skip
        self.cfg = cfg.validate()
        self.run_dir = Path(run_dir or cfg.run_dir or default_run_dir(cfg))
        self.resumed = checkpoint is not None
        if cfg.torch_threads > 0:
            torch.set_num_threads(cfg.torch_threads)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        self.device = resolve_device(cfg.device)

        self.envs = gym.make_vec(cfg.env_id, num_envs=cfg.num_envs, **cfg.env_kwargs())
        if cfg.episode_memory > 1:  # the model reads the episode's last observations
            self.envs = VectorEpisodeMemory(self.envs, cfg.episode_memory)
        self.curriculum = None
        if cfg.curriculum:
            # checks the levels against this env's task (e.g. its num_actions)
            self.curriculum = cfg.make_curriculum(self.envs.unwrapped.task)
            self.envs = VectorCurriculumWrapper(self.envs, manager=self.curriculum)
        self.num_actions = int(self.envs.single_action_space.n)
        # built on the CPU (the same initial weights on every device), then moved
        self.model = build_model(cfg, self.envs).to(self.device)
        self.algo = algorithm_class(cfg.algorithm)(self.model, cfg)
        self.weights = (cfg.goal_weight, cfg.pred_weight, cfg.cons_weight)
        self.intrinsic = cfg.pred_weight > 0 or cfg.cons_weight > 0

        # progress and history (all checkpointed)
        self.step = 0
        self.updates = 0
        self.window: deque[float] = deque(maxlen=cfg.success_window)
        self.history: dict[str, list[float]] = {
            k: []
            for k in (
                "step",
                "success_rate",
                "entropy",
                "world_model_loss",
                "world_model_token_error",
            )  # fmt: skip
        }
        self.greedy_evals: list[dict[str, Any]] = []
        self.level_times: list[dict[str, float]] = []
        """CPU and wall seconds of each curriculum level change (parallel to its history)."""
        self.elapsed = 0.0  # wall seconds of training, over all resumes
        self.cpu_seconds = 0.0  # CPU seconds of this process's training, over all resumes
        self._clock: tuple[float, float] | None = None  # (wall, cpu) at the start of train()
        self.stop_reason: str | None = None  # why train() stopped before max_steps
        self.stop_signal: int | None = None  # the signal that stopped it (SIGINT, SIGTERM)
        self.stopped_at_success: dict[str, Any] | None = None  # where stop_at_success was met
        self.parent_stats: dict[str, float] | None = None  # the LLM parent's last counters
        self._warned_fallback = False
        if checkpoint is not None:
            restore_trainer(self, checkpoint)

    @property
    def level(self) -> int:
        """The level of new training episodes."""
        return self.curriculum.level if self.curriculum is not None else self.cfg.difficulty

    @property
    def target_level(self) -> int:
        """The level the run is judged at: the curriculum's top level, else ``difficulty``."""
        return self.curriculum.max_level if self.curriculum is not None else self.cfg.difficulty

    def clocks(self) -> tuple[float, float]:
        """(wall seconds, CPU seconds) of training so far, over all resumes."""
        if self._clock is None:
            return self.elapsed, self.cpu_seconds
        wall, cpu = self._clock
        return (
            self.elapsed + time.perf_counter() - wall,
            self.cpu_seconds + time.process_time() - cpu,
        )

    # ------------------------------------------------------------------ state
    def save(self) -> Path:
        ckpt_dir = self.run_dir / "checkpoints"
        path = ckpt_dir / f"step_{self.step:09d}.pt"
        payload = trainer_payload(self)
        save_checkpoint(path, payload)
        save_checkpoint(self.run_dir / "checkpoint.pt", payload)
        old = sorted(ckpt_dir.glob("step_*.pt"))[: -self.cfg.keep_checkpoints]
        for stale in old:
            stale.unlink(missing_ok=True)
        return path

    # ------------------------------------------------------------------ rollout
    @torch.no_grad()
    def collect(self) -> tuple[Rollout, dict[str, Any]]:
        """One rollout of ``rollout_steps`` vector steps with the algorithm's actions, and what
        it saw (see ``UpdateResult.rollout``)."""
        cfg, T, N = self.cfg, self.cfg.rollout_steps, self.cfg.num_envs
        obs, _ = self.envs.reset(seed=cfg.seed if self.updates == 0 else None)
        buf = Rollout(
            obs=torch.zeros((T, N, obs.shape[1]), dtype=torch.long),
            next_obs=torch.zeros((T, N, obs.shape[1]), dtype=torch.long),
            actions=torch.zeros((T, N), dtype=torch.long),
            logprobs=torch.zeros((T, N)),
            values=torch.zeros((T, N)),
            rewards=torch.zeros((T, N)),
            dones=torch.zeros((T, N)),
            next_value=torch.zeros(N),
        )
        goal, pred, cons = torch.zeros((T, N)), torch.zeros((T, N)), torch.zeros((T, N))
        entropies, successes, returns, parent_stats = [], [], [], None
        episode_return = np.zeros(N)
        device = self.device  # the model's; the rollout is kept on the CPU, by the envs
        for t in range(T):
            obs_t = torch.as_tensor(obs)
            obs_on_device = obs_t.to(device)
            out = self.model(obs_on_device)
            if torch.isnan(out.logits).any():
                self._diverged("the policy's logits")
            dist = Categorical(logits=out.logits)
            actions = self.algo.act(obs_on_device, out).to(device)
            entropies.append(dist.entropy().mean().item())
            actions_cpu = actions.cpu()
            new_obs, reward, terminated, truncated, infos = self.envs.step(actions_cpu.numpy())
            next_obs = infos["final_obs"] if "final_obs" in infos else new_obs
            buf.obs[t] = obs_t
            buf.next_obs[t] = torch.as_tensor(next_obs)
            buf.actions[t] = actions_cpu
            buf.logprobs[t] = dist.log_prob(actions).cpu()
            if out.value is not None:
                buf.values[t] = out.value.cpu()
            goal[t] = torch.as_tensor(reward, dtype=torch.float32)
            if self.intrinsic:
                logits = self.model.world_model_logits(out.hidden, actions)
                wm = self.model.world_model_stats(logits, buf.next_obs[t].to(device))
                rewards_t = prediction_rewards(wm.sample_loss, wm.sample_exact)
                pred[t], cons[t] = (r.cpu() for r in rewards_t)
            done = terminated | truncated
            buf.dones[t] = torch.as_tensor(done, dtype=torch.float32)
            episode_return += reward
            if done.any():
                final = infos["final_info"]
                successes.extend(final["episode_success"][done].tolist())
                returns.extend(episode_return[done].tolist())
                episode_return[done] = 0.0
            stats = infos.get("parent")
            if stats is None and isinstance(infos.get("final_info"), dict):
                stats = infos["final_info"].get("parent")
            if isinstance(stats, dict):
                parent_stats = stats
            obs = new_obs
        rewards = RewardVector(goal, pred, cons)
        buf.rewards = rewards.total(self.weights)
        if out.value is not None:
            buf.next_value = self.model(torch.as_tensor(obs).to(device)).value.cpu()
        info = {
            "reward/goal": goal.mean().item(),
            "reward/pred": pred.mean().item(),
            "reward/cons": cons.mean().item(),
            "reward/total": buf.rewards.mean().item(),
            "entropy": float(np.mean(entropies)),
            "successes": successes,
            "returns": returns,
            "parent": parent_stats,
        }
        return buf, info

    # ------------------------------------------------------------------ evaluation
    def eval_model(self):
        """The model to evaluate: the EMA weights when on, else the live ones."""
        optimizer = self.algo.optimizer
        if optimizer is not None and optimizer.ema is not None:
            shadow = build_model(self.cfg, self.envs)
            shadow.load_state_dict(optimizer.ema.state_dict())
            return shadow
        return self.model

    def greedy_eval(self, milestone: int | None, level: int | None = None) -> dict[str, Any]:
        """Greedy success on ``eval_episodes`` fresh episodes at ``level`` (default: current)."""
        level = self.level if level is None else level
        seed = self.cfg.seed + EVAL_SEED_OFFSET
        policy = make_policy(self.cfg.algorithm, self.eval_model(), seed, self.cfg)
        rate = greedy_success(self.cfg, policy, self.cfg.eval_episodes, seed, level)
        record = {"milestone": milestone, "step": self.step, "greedy_success": rate,
                  "difficulty": level}  # fmt: skip
        return record

    # ------------------------------------------------------------------ iteration
    def update(self) -> UpdateResult:
        """One rollout and one update of the algorithm (the learning rate annealed first when
        ``anneal_lr``); advances ``step``, the success window and the history."""
        cfg = self.cfg
        start = time.perf_counter()
        if cfg.anneal_lr and self.algo.optimizer is not None:
            self.algo.optimizer.set_lr((1.0 - self.step / cfg.max_steps) * cfg.learning_rate)
        rollout, info = self.collect()
        metrics = self.algo.update(rollout_to(rollout, self.device))
        bad = [k for k, v in metrics.items() if k.startswith("losses/") and not math.isfinite(v)]
        if bad:
            self._diverged(f"the loss {bad[0]}")
        if not all_finite(list(self.model.parameters())):
            self._diverged("the weights")
        seconds = time.perf_counter() - start
        self.step += cfg.steps_per_update
        self.updates += 1
        if self._level_changed():  # the success window restarts at the new level
            self.window.clear()
        else:
            self.window.extend(float(s) for s in info["successes"])
        rate = float(np.mean(self.window)) if self.window else 0.0
        self.history["step"].append(self.step)
        self.history["success_rate"].append(rate)
        self.history["entropy"].append(metrics.get("losses/entropy", info["entropy"]))
        self.history["world_model_loss"].append(metrics.get("losses/world_model", math.nan))
        self.history["world_model_token_error"].append(
            metrics.get("world_model/token_error", math.nan)
        )
        return UpdateResult(self.step, metrics, info, rate, seconds)

    def _diverged(self, what: str) -> None:
        cfg = self.cfg
        raise TrainingDiverged(
            f"training diverged at step {self.step:,}: {what} became NaN or infinite; the "
            f"learning rate ({cfg.learning_rate:g}) is probably too high (or adam_eps "
            f"{cfg.adam_eps:g} too small, max_grad_norm {cfg.max_grad_norm:g} too large); "
            f"nothing was saved, so {self.run_dir / 'checkpoint.pt'} is the last good "
            "checkpoint; start again with a lower learning_rate"
        )

    def _watch_parent(self, stats: dict[str, Any] | None) -> str | None:
        """Warn once when the LLM parent falls back to the rules; the reason to stop when its
        fallback rate is above ``max_fallback_rate``."""
        if not isinstance(stats, dict) or "fallbacks" not in stats:
            return None
        self.parent_stats = dict(stats)
        fallbacks, asked = stats["fallbacks"], stats.get("asked", 0.0)
        if not fallbacks:
            return None
        rate = fallbacks / asked if asked else 1.0
        text = (
            f"the LLM parent ({self.cfg.parent}) fell back to the rules for {fallbacks:.0f} of "
            f"{asked:.0f} answers ({rate:.0%}; {stats.get('errors', 0):.0f} server errors, "
            f"{stats.get('invalid', 0):.0f} unusable answers)"
        )
        if not self._warned_fallback:
            self._warned_fallback = True
            print(f"\nwarning: {text}; the counters go to summary.json ('parent'); set "
                  "max_fallback_rate to stop such a run", file=sys.stderr, flush=True)  # fmt: skip
        limit = self.cfg.max_fallback_rate
        if limit is not None and rate > limit:
            return f"{text}, above max_fallback_rate={limit:g}; check the server, then resume"
        return None

    def iterate(self) -> Iterator[UpdateResult]:
        """Updates until ``max_steps``, yielding after each, so that a caller (the benchmark
        runner) evaluates or records between them; ``train()`` adds logging, evaluation,
        checkpoints and the summary."""
        while self.step < self.cfg.max_steps:
            yield self.update()

    # ------------------------------------------------------------------ main loop
    def train(self) -> dict[str, Any]:
        from torch.utils.tensorboard import SummaryWriter
        from tqdm import tqdm

        cfg = self.cfg
        self.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            self.run_dir / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False)
        )
        writer = SummaryWriter(str(self.run_dir), purge_step=self.step if self.resumed else None)
        if not self.resumed:
            writer.add_text("config", "```\n" + yaml.safe_dump(cfg.to_dict()) + "\n```")
        stop = _StopFlag()
        bar = tqdm(total=cfg.max_steps, initial=min(self.step, cfg.max_steps), unit="step",
                   disable=not cfg.progress, dynamic_ncols=True)  # fmt: skip
        spu = cfg.steps_per_update
        start_time, start_step = time.perf_counter(), self.step
        self._clock = (start_time, time.process_time())
        metrics: dict[str, float] = {}
        target: dict[str, Any] | None = None
        try:
            while self.step < cfg.max_steps and not stop.requested and stop.reason is None:
                self._maybe_eval(writer, spu)
                if self._reached_success():
                    break
                result = self.update()
                metrics = result.metrics
                stop.reason = self._watch_parent(result.rollout["parent"]) or stop.reason
                if self.updates % cfg.log_every == 0:
                    sps = (self.step - start_step) / max(time.perf_counter() - start_time, 1e-9)
                    self._log(writer, result, sps)
                bar.update(min(self.step, cfg.max_steps) - bar.n)
                entropy = self.history["entropy"][-1]
                bar.set_postfix(success=f"{result.success_rate:.3f}", entropy=f"{entropy:.3f}",
                                refresh=False)  # fmt: skip
                if (
                    cfg.checkpoint_every
                    and self.step // cfg.checkpoint_every
                    > (self.step - spu) // cfg.checkpoint_every
                    and self.step < cfg.max_steps
                ):
                    self.save()
        finally:
            bar.close()
            stop.restore()
        self.stop_reason, self.stop_signal = stop.reason, stop.signal
        finished = self.step >= cfg.max_steps or self.stopped_at_success is not None
        if self.stopped_at_success is not None:
            target = self.greedy_evals[-1]  # the evaluation that reached it, at the target level
        elif finished:
            every = cfg.eval_every
            final = self.greedy_eval(self.step if every and self.step % every == 0 else None)
            final["final"] = True
            if not self.greedy_evals or self.greedy_evals[-1]["step"] != self.step:
                self.greedy_evals.append(final)
            writer.add_scalar("eval/greedy_success", final["greedy_success"], self.step)
            target = final
            if final["difficulty"] != self.target_level:
                target = self.greedy_eval(None, self.target_level)
            writer.add_scalar("eval/target_greedy_success", target["greedy_success"], self.step)
        self.elapsed, self.cpu_seconds = self.clocks()
        self._clock = None
        self.save()
        writer.close()
        summary = self.summary(finished, metrics, target)
        atomic_write_text(self.run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
        self.envs.close()
        return summary

    def _log(self, writer, result: UpdateResult, sps: float) -> None:
        """TensorBoard scalars of one update, named as in CleanRL (docs: Agent conventions)."""
        info = result.rollout
        optimizer = self.algo.optimizer
        scalars = {
            "charts/success_rate": result.success_rate,
            "charts/SPS": sps,
            "curriculum/level": self.level,
            "reward/goal": info["reward/goal"],
            "reward/pred": info["reward/pred"],
            "reward/cons": info["reward/cons"],
            "reward/total": info["reward/total"],
            "charts/learning_rate": optimizer.lr if optimizer is not None else 0.0,
            **result.metrics,
        }
        if self.curriculum is not None:
            scalars["curriculum/window_success_rate"] = self.curriculum.success_rate
        if "losses/entropy" not in scalars:
            scalars["losses/entropy"] = info["entropy"]
        if info["returns"]:
            scalars["charts/episodic_return"] = float(np.mean(info["returns"]))
        for name, value in (info["parent"] or {}).items():
            if isinstance(value, (int, float)):
                scalars[f"parent/{name}"] = value
        for name, value in scalars.items():
            if value is not None and math.isfinite(value):
                writer.add_scalar(name, value, self.step)

    def _maybe_eval(self, writer, spu: int) -> None:
        """Greedy evaluation at every multiple of eval_every, run at the last update boundary
        at or before it (so 'greedy success at step 2,000' never uses more than 2,000 steps)."""
        every = self.cfg.eval_every
        if not every:
            return
        milestone = math.ceil(self.step / every) * every
        if milestone < self.step + spu and milestone <= self.cfg.max_steps:
            done = {e["milestone"] for e in self.greedy_evals}
            if milestone not in done:
                record = self.greedy_eval(milestone)
                self.greedy_evals.append(record)
                writer.add_scalar("eval/greedy_success", record["greedy_success"], self.step)

    def _reached_success(self) -> bool:
        """Whether ``stop_at_success`` is set and the evaluation just made (at this step, at
        the target level) reached it; if so, record where in ``stopped_at_success``."""
        threshold = self.cfg.stop_at_success
        last = self.greedy_evals[-1] if self.greedy_evals else None
        if (
            threshold is None
            or last is None
            or last["step"] != self.step
            or last["difficulty"] != self.target_level
            or last["greedy_success"] < threshold
        ):
            return False
        wall, cpu = self.clocks()
        self.stopped_at_success = {
            "step": self.step,
            "greedy_success": last["greedy_success"],
            "train_seconds": round(wall, 3),
            "cpu_seconds": round(cpu, 3),
            "unix_time": time.time(),  # so a caller can time it from its process's start
        }
        return True

    def _level_changed(self) -> bool:
        """Whether the curriculum changed level in the last rollout; if so, time the change
        (CPU and wall seconds, parallel to the manager's history)."""
        if self.curriculum is None or len(self.curriculum.history) == len(self.level_times):
            return False
        wall, cpu = self.clocks()
        for _ in self.curriculum.history[len(self.level_times) :]:
            self.level_times.append({"cpu_seconds": round(cpu, 3), "train_seconds": round(wall, 3)})
        return True

    def curriculum_summary(self) -> dict[str, Any] | None:
        """The curriculum's settings, level and history (each change with its env step and the
        CPU / wall seconds of training then), and the first step each level was reached."""
        if self.curriculum is None:
            return None
        manager = self.curriculum
        history = [
            {**entry, **times}
            for entry, times in zip(manager.history, self.level_times, strict=True)
        ]
        reached: dict[str, dict[str, Any]] = {
            str(self.cfg.difficulty): {"step": 0, "cpu_seconds": 0.0, "train_seconds": 0.0}
        }
        for entry in history:
            reached.setdefault(
                str(entry["to_level"]),
                {k: entry[k] for k in ("step", "cpu_seconds", "train_seconds")},
            )
        return {
            "settings": manager.settings(),
            "level": manager.level,
            "max_level": manager.max_level,
            "reached_max_level": str(manager.max_level) in reached,
            "level_reached": reached,
            "history": history,
            "episodes": manager.episodes,
            "ignored_episodes": manager.ignored_episodes,
        }

    # ------------------------------------------------------------------ summary
    def summary(self, finished: bool, last_metrics: dict[str, float],
                target: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        cfg = self.cfg
        criteria = mvp_criteria(self.history, self.num_actions, cfg)
        return {
            "run_dir": str(self.run_dir),
            "finished": finished,
            "task": cfg.task_name,
            "algorithm": cfg.algorithm,
            "seed": cfg.seed,
            "steps": self.step,
            "updates": self.updates,
            "parameters": parameter_count(self.model),
            "train_seconds": round(self.elapsed, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "success_rate_definition": (
                f"rolling success rate over the last {cfg.success_window} training episodes"
            ),
            "final_success_rate": self.history["success_rate"][-1] if self.updates else None,
            "greedy_evals": self.greedy_evals,
            "final_greedy_success": (
                self.greedy_evals[-1]["greedy_success"] if self.greedy_evals else None
            ),
            "criteria": criteria,
            "all_criteria_passed": all(c["passed"] is True for c in criteria),
            "target_level": self.target_level,
            "target_greedy_success": target["greedy_success"] if target else None,
            "target_eval_episodes": self.cfg.eval_episodes if target else None,
            "curriculum_level": self.level,
            "curriculum": self.curriculum_summary(),
            "last_metrics": {k: v for k, v in last_metrics.items() if math.isfinite(v)},
            "stop_reason": None if finished else self.stop_reason,
            "stop_at_success": cfg.stop_at_success,
            "stopped_at_success": self.stopped_at_success,
            "parent": self.parent_stats,
        }


# ---------------------------------------------------------------------------------- helpers


def rollout_to(rollout: Rollout, device: torch.device) -> Rollout:
    """The rollout on ``device``, moved once per rollout for the update (on the CPU nothing
    moves: ``Tensor.to`` returns the tensor itself)."""
    moved = {f.name: getattr(rollout, f.name).to(device) for f in dataclasses.fields(rollout)}
    return Rollout(**moved)


class _StopFlag:
    """First Ctrl-C or SIGTERM (what Slurm, Kubernetes and Ray send before killing a job):
    finish the current update, checkpoint and stop. A second Ctrl-C aborts; a second SIGTERM
    changes nothing (the save is under way). ``reason`` may also be set by the trainer."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = False
        self.signal: int | None = None
        self.reason: str | None = None
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)

    def _handle(self, signum, frame):
        if self.requested:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        self.requested, self.signal = True, signum
        name = signal.Signals(signum).name
        self.reason = f"received {name}"
        again = " (Ctrl-C again to abort)" if signum == signal.SIGINT else ""
        print(f"\n{name}: stopping at the end of this update and saving{again}...", flush=True)

    def restore(self):
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous = {}


def resume_config(checkpoint: dict[str, Any], overrides: dict[str, Any]) -> Config:
    """The checkpoint's config with the few overrides a resume may change."""
    bad = [k for k in overrides if k not in RESUME_OVERRIDABLE]
    if bad:
        raise ConfigError(
            f"cannot change {', '.join(bad)} when resuming (the run would no longer continue "
            f"exactly); flags allowed with --resume: {', '.join(RESUME_OVERRIDABLE)}"
        )
    cfg = config_from_dict(checkpoint["config"])
    return config_from_dict(overrides, base=cfg).validate()
