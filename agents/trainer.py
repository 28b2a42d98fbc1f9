"""The trainer: collects rollouts from the native vector env, updates, logs, evaluates,
checkpoints and resumes exactly.

Rollouts. Every rollout starts with ``envs.reset()`` (seeded once, at the first update) and
runs ``rollout_steps`` vector steps, a multiple of ``episode_length``; all episodes have the same
fixed horizon, so every episode ends exactly at the end of its rollout. The state between updates
is then just the env's random generator (and difficulty), which checkpoints hold: a run stopped
and resumed at an update boundary continues exactly as if it had never stopped (CPU, same seed).
The world-model target is the raw next observation, ``infos["final_obs"]`` when an episode ends.

Success rate (``charts/success_rate``) is the rolling rate over the last ``success_window``
training episodes (at the current level: the window is emptied when the curriculum changes it).
A greedy evaluation runs every ``eval_every`` steps on a fixed set of fresh episodes, and its
results go to ``summary.json`` (``greedy_evals``).

Curriculum (``curriculum: true``): the vector env is wrapped in
``wmil_envs.VectorCurriculumWrapper``, whose ``CurriculumManager`` (settings: the config's
``curriculum_*`` keys) is fed every finished training episode and sets the level of the episodes
that follow. Its state is in every checkpoint; its level changes, with the env step, CPU and
wall seconds of each, go to ``summary.json`` (``curriculum.history``). At the end, a greedy
evaluation at the target level (the curriculum's top level, else ``difficulty``) gives
``target_greedy_success``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import yaml
from torch.distributions import Categorical

import wmil_envs  # noqa: F401  (registers the ids)
from agents.baselines import make_agent
from agents.checkpoint import atomic_write_text, save_checkpoint
from agents.config import Config, ConfigError, config_from_dict
from agents.evaluation import greedy_success
from agents.model import AgentModel, parameter_count
from agents.ppo import PPO
from agents.reinforce import Reinforce
from agents.rewards import RewardVector, prediction_rewards
from wmil_envs.wrappers import VectorCurriculumWrapper

EVAL_SEED_OFFSET = 1_000_003
RESUME_OVERRIDABLE = (
    "max_steps", "eval_every", "eval_episodes", "checkpoint_every", "keep_checkpoints",
    "log_every", "progress", "torch_threads",
)  # fmt: skip


class NoOpAlgorithm:
    """``algorithm: random``: act uniformly, never update (the lower-bound baseline)."""

    name = "random"

    def update(self, batch):
        return {}

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


ALGORITHM_CLASSES = {"reinforce": Reinforce, "ppo": PPO}


def default_run_dir(cfg: Config) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{cfg.task_name}_{cfg.algorithm}_s{cfg.seed}_{stamp}"


def build_model(cfg: Config, envs) -> AgentModel:
    try:
        return AgentModel(envs.single_observation_space, envs.single_action_space, cfg)
    except ValueError as error:  # e.g. action_head='digits' with more than 100 actions
        raise ConfigError(str(error)) from None


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
        self.device = torch.device(cfg.device)
        if self.device.type != "cpu":
            raise ConfigError("this trainer runs on CPU only for now (device='cpu')")

        self.envs = gym.make_vec(cfg.env_id, num_envs=cfg.num_envs, **cfg.env_kwargs())
        self.curriculum = None
        if cfg.curriculum:
            # checks the levels against this env's task (e.g. its num_actions)
            self.curriculum = cfg.make_curriculum(self.envs.unwrapped.task)
            self.envs = VectorCurriculumWrapper(self.envs, manager=self.curriculum)
        self.num_actions = int(self.envs.single_action_space.n)
        self.model = build_model(cfg, self.envs)
        if cfg.algorithm == "random":
            self.algo = NoOpAlgorithm()
        else:
            self.algo = ALGORITHM_CLASSES[cfg.algorithm](self.model, cfg)
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
        if checkpoint is not None:
            self._restore(checkpoint)

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
    def _payload(self) -> dict[str, Any]:
        return {
            "config": self.cfg.to_dict(),
            "model": self.model.state_dict(),
            "algorithm": self.algo.state_dict(),
            "step": self.step,
            "updates": self.updates,
            "level": self.level,
            "rng": {
                "torch": torch.get_rng_state(),
                "env": self.envs.np_random.bit_generator.state,
                "numpy": _numpy_global_state(),
            },
            "window": list(self.window),
            "history": self.history,
            "greedy_evals": self.greedy_evals,
            "elapsed": self.clocks()[0],
            "cpu_seconds": self.clocks()[1],
            "curriculum": self.curriculum.state_dict() if self.curriculum is not None else None,
            "level_times": self.level_times,
        }

    def _restore(self, ck: dict[str, Any]) -> None:
        self.model.load_state_dict(ck["model"])
        self.algo.load_state_dict(ck["algorithm"])
        self.step, self.updates = int(ck["step"]), int(ck["updates"])
        torch.set_rng_state(ck["rng"]["torch"])
        self.envs.reset(seed=self.cfg.seed)  # builds the env's state; the generator follows
        self.envs.np_random.bit_generator.state = ck["rng"]["env"]
        if self.curriculum is not None:
            if not ck.get("curriculum"):
                raise ConfigError(
                    "this checkpoint has no curriculum state (written before the trainer used "
                    "wmil_envs' CurriculumManager); it cannot be resumed exactly with curriculum on"
                )
            self.envs.load_state_dict(ck["curriculum"])  # also sets the env's level
            self.level_times = [dict(t) for t in ck.get("level_times", [])]
        else:
            self.envs.set_attr("difficulty", int(ck["level"]))
        np.random.set_state(_numpy_from_state(ck["rng"]["numpy"]))
        self.window.extend(ck["window"])
        self.history = {k: list(v) for k, v in ck["history"].items()}
        self.greedy_evals = list(ck["greedy_evals"])
        self.elapsed = float(ck["elapsed"])
        self.cpu_seconds = float(ck.get("cpu_seconds", 0.0))

    def save(self) -> Path:
        ckpt_dir = self.run_dir / "checkpoints"
        path = ckpt_dir / f"step_{self.step:09d}.pt"
        payload = self._payload()
        save_checkpoint(path, payload)
        save_checkpoint(self.run_dir / "checkpoint.pt", payload)
        old = sorted(ckpt_dir.glob("step_*.pt"))[: -self.cfg.keep_checkpoints]
        for stale in old:
            stale.unlink(missing_ok=True)
        return path

    # ------------------------------------------------------------------ rollout
    @torch.no_grad()
    def collect(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        cfg, T, N = self.cfg, self.cfg.rollout_steps, self.cfg.num_envs
        obs, _ = self.envs.reset(seed=cfg.seed if self.updates == 0 else None)
        buf = {
            "obs": torch.zeros((T, N, obs.shape[1]), dtype=torch.long),
            "next_obs": torch.zeros((T, N, obs.shape[1]), dtype=torch.long),
            "actions": torch.zeros((T, N), dtype=torch.long),
            "logprobs": torch.zeros((T, N)),
            "values": torch.zeros((T, N)),
            "rewards": torch.zeros((T, N)),
            "dones": torch.zeros((T, N)),
        }
        goal, pred, cons = torch.zeros((T, N)), torch.zeros((T, N)), torch.zeros((T, N))
        entropies, successes, returns, parent_stats = [], [], [], None
        episode_return = np.zeros(N)
        for t in range(T):
            obs_t = torch.as_tensor(obs)
            out = self.model(obs_t)
            dist = Categorical(logits=out["logits"])
            if cfg.algorithm == "random":
                actions = torch.randint(0, self.num_actions, (N,))
            else:
                actions = dist.sample()
            entropies.append(dist.entropy().mean().item())
            new_obs, reward, terminated, truncated, infos = self.envs.step(actions.numpy())
            next_obs = infos["final_obs"] if "final_obs" in infos else new_obs
            buf["obs"][t] = obs_t
            buf["next_obs"][t] = torch.as_tensor(next_obs)
            buf["actions"][t] = actions
            buf["logprobs"][t] = dist.log_prob(actions)
            if "value" in out:
                buf["values"][t] = out["value"]
            goal[t] = torch.as_tensor(reward, dtype=torch.float32)
            if self.intrinsic:
                logits = self.model.world_model_logits(out["hidden"], actions)
                wm = self.model.world_model_stats(logits, buf["next_obs"][t])
                pred[t], cons[t] = prediction_rewards(wm["sample_loss"], wm["sample_exact"])
            done = terminated | truncated
            buf["dones"][t] = torch.as_tensor(done, dtype=torch.float32)
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
        buf["rewards"] = rewards.total(self.weights)
        if "value" in out:
            buf["next_value"] = self.model(torch.as_tensor(obs))["value"]
        else:
            buf["next_value"] = torch.zeros(N)
        info = {
            "reward/goal": goal.mean().item(),
            "reward/pred": pred.mean().item(),
            "reward/cons": cons.mean().item(),
            "reward/total": buf["rewards"].mean().item(),
            "entropy": float(np.mean(entropies)),
            "successes": successes,
            "returns": returns,
            "parent": parent_stats,
        }
        return buf, info

    # ------------------------------------------------------------------ evaluation
    def eval_model(self):
        """The model to evaluate: the EMA weights when on, else the live ones."""
        step = getattr(self.algo, "step", None)
        if step is not None and step.ema is not None:
            shadow = build_model(self.cfg, self.envs)
            shadow.load_state_dict(step.ema.state_dict())
            return shadow
        return self.model

    def greedy_eval(self, milestone: int | None, level: int | None = None) -> dict[str, Any]:
        """Greedy success on ``eval_episodes`` fresh episodes at ``level`` (default: current)."""
        level = self.level if level is None else level
        agent = make_agent(self.cfg.algorithm, self.eval_model(), self.cfg.seed + EVAL_SEED_OFFSET)
        rate = greedy_success(
            self.cfg, agent, self.cfg.eval_episodes, self.cfg.seed + EVAL_SEED_OFFSET, level
        )
        record = {"milestone": milestone, "step": self.step, "greedy_success": rate,
                  "difficulty": level}  # fmt: skip
        return record

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
            while self.step < cfg.max_steps and not stop.requested:
                self._maybe_eval(writer, spu)
                if cfg.anneal_lr and hasattr(self.algo, "step"):
                    frac = 1.0 - self.step / cfg.max_steps
                    self.algo.step.set_lr(frac * cfg.learning_rate)
                batch, info = self.collect()
                metrics = self.algo.update(batch)
                self.step += spu
                self.updates += 1
                if self._level_changed():  # the success window restarts at the new level
                    self.window.clear()
                else:
                    self.window.extend(float(s) for s in info["successes"])
                rate = float(np.mean(self.window)) if self.window else 0.0
                entropy = metrics.get("losses/entropy", info["entropy"])
                self.history["step"].append(self.step)
                self.history["success_rate"].append(rate)
                self.history["entropy"].append(entropy)
                self.history["world_model_loss"].append(metrics.get("losses/world_model", math.nan))
                self.history["world_model_token_error"].append(
                    metrics.get("world_model/token_error", math.nan)
                )
                elapsed = time.perf_counter() - start_time
                sps = (self.step - start_step) / max(elapsed, 1e-9)
                if self.updates % cfg.log_every == 0:
                    scalars = {
                        "charts/success_rate": rate,
                        "charts/SPS": sps,
                        "curriculum/level": self.level,
                        "reward/goal": info["reward/goal"],
                        "reward/pred": info["reward/pred"],
                        "reward/cons": info["reward/cons"],
                        "reward/total": info["reward/total"],
                        "charts/learning_rate": (
                            self.algo.step.optimizer.param_groups[0]["lr"]
                            if hasattr(self.algo, "step")
                            else 0.0
                        ),  # fmt: skip
                        **metrics,
                    }
                    if self.curriculum is not None:
                        scalars["curriculum/window_success_rate"] = self.curriculum.success_rate
                    if "losses/entropy" not in scalars:
                        scalars["losses/entropy"] = info["entropy"]
                    if info["returns"]:
                        scalars["charts/episodic_return"] = float(np.mean(info["returns"]))
                    for name, value in (info["parent"] or {}).items():
                        if isinstance(value, (int, float)):
                            scalars[f"teacher/{name}"] = value
                    for name, value in scalars.items():
                        if value is not None and math.isfinite(value):
                            writer.add_scalar(name, value, self.step)
                bar.update(min(self.step, cfg.max_steps) - bar.n)
                bar.set_postfix(success=f"{rate:.3f}", entropy=f"{entropy:.3f}", refresh=False)
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
        finished = self.step >= cfg.max_steps
        if finished:
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
        }


# ---------------------------------------------------------------------------------- criteria


def mvp_criteria(history: dict[str, list[float]], num_actions: int, cfg: Config) -> list[dict]:
    """The locked MVP's four success criteria, each with its measured value and PASS/FAIL."""
    steps = history["step"]
    if not steps:
        return []
    episodes_per_update = cfg.num_envs * cfg.rollout_steps / cfg.episode_length
    k = max(1, math.ceil(cfg.success_window / episodes_per_update))
    k = min(k, max(1, len(steps) // 2))
    chance = 1.0 / num_actions
    final = history["success_rate"][-1]
    by = min(5000, steps[-1])
    at = max(i for i, s in enumerate(steps) if s <= by) if steps[0] <= by else 0
    out = [
        {
            "name": f"success rate > {chance:.1%} (chance 1/{num_actions})",
            "value": final,
            "measured": f"{final:.1%} at step {steps[-1]:,}",
            "passed": final > chance,
        },
        {
            "name": "success rate > 50% by step 5,000",
            "value": history["success_rate"][at],
            "measured": f"{history['success_rate'][at]:.1%} at step {steps[at]:,}"
            + (" (run shorter than 5,000 steps)" if steps[-1] < 5000 else ""),
            "passed": history["success_rate"][at] > 0.5,
        },
    ]
    first_h, last_h = np.mean(history["entropy"][:k]), np.mean(history["entropy"][-k:])
    out.append({
        "name": "policy entropy falls over training",
        "value": [float(first_h), float(last_h)],
        "measured": f"{first_h:.3f} -> {last_h:.3f} nats (first vs last {k} updates)",
        "passed": bool(last_h < first_h),
    })  # fmt: skip
    wm = history["world_model_loss"]
    if wm and not math.isnan(wm[0]):
        first_w, last_w = np.mean(wm[:k]), np.mean(wm[-k:])
        err = history["world_model_token_error"]
        first_e, last_e = np.mean(err[:k]), np.mean(err[-k:])
        out.append({
            "name": "world-model error falls over training",
            "value": [float(first_w), float(last_w)],
            "measured": f"cross-entropy {first_w:.3f} -> {last_w:.4f}, next-token error "
            f"{first_e:.1%} -> {last_e:.2%} (first vs last {k} updates)",
            "passed": bool(last_w < first_w),
        })  # fmt: skip
    else:
        out.append({
            "name": "world-model error falls over training",
            "value": None,
            "measured": "not measured: the world-model head is off",
            "passed": None,
        })  # fmt: skip
    return out


def format_criteria(summary: dict[str, Any]) -> str:
    lines = [
        f"Success criteria of the locked MVP (success rate = {summary['success_rate_definition']}):"
    ]
    for i, c in enumerate(summary["criteria"], 1):
        verdict = {True: "PASS", False: "FAIL", None: "N/A"}[c["passed"]]
        lines.append(f"  {i}. {c['name']:<42} {c['measured']:<60} {verdict}")
    evals = summary["greedy_evals"]
    if evals:
        parts = [f"{e['step']:,}: {e['greedy_success']:.1%}" for e in evals]
        lines.append("Greedy success (step: rate): " + ", ".join(parts))
    verdict = "ALL PASS" if summary["all_criteria_passed"] else "NOT ALL PASSED"
    lines.append(
        f"{verdict}; {summary['steps']:,} steps in {summary['train_seconds']:.1f} s; "
        f"run directory {summary['run_dir']}"
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- helpers


class _StopFlag:
    """First Ctrl-C: finish the current update, checkpoint and stop. Second: abort."""

    def __init__(self):
        self.requested = False
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping at the end of this update (Ctrl-C again to abort)...", flush=True)

    def restore(self):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _numpy_global_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": torch.as_tensor(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}  # fmt: skip


def _numpy_from_state(state: dict[str, Any]):
    keys = state["keys"].numpy().astype(np.uint32)
    return (state["name"], keys, state["pos"], state["has_gauss"], state["cached"])


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
