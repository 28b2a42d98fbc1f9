"""One grid cell: train one agent on one env at one level with one seed, and measure it.

``run_cell(cell)`` returns one CSV row (a flat dict of strings and numbers; lists and dicts are
JSON). It is a plain top-level function of a plain dict, so a process pool or a Ray task runs
it unchanged, and the same cell gives the same numbers anywhere (CPU, ``torch_threads`` from
the config, seeds from the cell); only the timing columns (``TIMING_COLUMNS``) may differ.

Evaluation is bsuite's log-spaced logging: greedy success on ``eval_episodes`` fixed fresh
episodes at step 0 and at the first update boundary at or after each of ``log_points``
log-spaced steps between ``first_eval_step`` and ``max_steps``, and at the end. "Steps to X %"
is the first evaluated step whose greedy success is at least X (empty if never reached), so
its resolution is the log grid. ``train_seconds`` and ``env_steps_per_second`` count the
training loop only (rollouts and updates, not the evaluations or probes).
"""

from __future__ import annotations

import json
import math
import os
import time
import traceback
from collections import deque
from typing import Any

import numpy as np

from wmil_envs.tasks import TASKS

THRESHOLDS = (0.5, 0.9, 0.95)
WORLD_COLUMNS = ("final_test_success", "path_efficiency", "simulator_rollout_exact")
"""Worlds only (empty elsewhere): greedy success on held-out ``test`` start/goal pairs, the mean
``optimal_steps / steps_to_goal`` of the greedy episodes that reached the goal, and the share
of held-out starts whose 5-step imagined rollout (random actions) is exact (simulator only)."""
TRIES_COLUMNS = ("final_first_try_success", "final_repeat_rate")
"""Questions with several tries only (``episode_length`` > 1), at the end of training, greedy:
success at the first try (set against ``final_greedy_success``, success within the episode's
tries, it says how much answering again after a failure adds), and the share of later tries,
before the question was solved, that repeated an answer which had already failed in the episode
(0: every failed answer is eliminated; empty when no first try failed)."""
TIMING_COLUMNS = ("wall_seconds", "train_seconds", "cpu_seconds", "env_steps_per_second")
SUCCESS_WINDOW = 512
COLUMNS = (
    "cell_id",
    "cell_hash",
    "suite",
    "env_id",
    "task",
    "difficulty",
    "agent",
    "kind",
    "seed",
    "tags",
    "max_steps",
    "env_budget",
    "steps",
    "parameters",
    "status",
    "error",
    "final_greedy_success",
    "final_train_success",
    "auc_greedy_success",
    "steps_to_50",
    "steps_to_90",
    "steps_to_95",
    "curve_steps",
    "curve_greedy_success",
    "curve_train_success",
    "probes",
    "vq_codes_used",
    "vq_usage",
    "vq_perplexity",
    *WORLD_COLUMNS,
    *TRIES_COLUMNS,
    *TIMING_COLUMNS,
)


def eval_targets(first: int, last: int, points: int) -> list[int]:
    """Step 0, ``points`` log-spaced steps from ``first`` to ``last``, and ``last``."""
    first = max(1, min(first, last))
    grid = np.geomspace(first, last, max(points, 1)) if points > 1 else [last]
    return sorted({0, *(int(round(x)) for x in grid), last})


class _Curve:
    """Evaluations at the log-spaced targets: ``due(step)`` says when the next one is."""

    def __init__(self, targets: list[int]):
        self.targets = targets
        self.next = 0
        self.steps: list[int] = []
        self.greedy: list[float] = []
        self.train: list[float] = []

    def due(self, step: int) -> bool:
        return self.next < len(self.targets) and step >= self.targets[self.next]

    def record(self, step: int, greedy: float, train: float) -> None:
        while self.next < len(self.targets) and step >= self.targets[self.next]:
            self.next += 1
        if self.steps and self.steps[-1] == step:
            return
        self.steps.append(int(step))
        self.greedy.append(round(float(greedy), 6))
        self.train.append(round(float(train), 6))


def _set_threads(cfg) -> None:
    import torch

    if cfg.torch_threads > 0:
        torch.set_num_threads(cfg.torch_threads)


# ------------------------------------------------------------------------------------ agents


def _train_trainer(cell, cfg, curve: _Curve) -> dict[str, Any]:
    """Any registered algorithm (REINFORCE, PPO, random, ...) through ``Trainer.iterate``."""
    from agents.algorithm import make_policy
    from agents.training_loop import EVAL_SEED_OFFSET, Trainer

    trainer = Trainer(cfg, run_dir=os.devnull)
    window: deque[float] = deque(maxlen=SUCCESS_WINDOW)
    train_s = 0.0

    def rate() -> float:
        return float(np.mean(window)) if window else math.nan

    curve.record(0, trainer.greedy_eval(None)["greedy_success"], math.nan)
    for update in trainer.iterate():
        train_s += update.seconds
        window.extend(float(s) for s in update.rollout["successes"])
        if curve.due(update.step) or update.step >= cfg.max_steps:
            curve.record(update.step, trainer.greedy_eval(None)["greedy_success"], rate())
    trainer.envs.close()
    model = trainer.eval_model()
    policy = make_policy(cfg.algorithm, model, cfg.seed + EVAL_SEED_OFFSET, cfg)
    return {"model": model, "policy": policy, "steps": trainer.step, "train_seconds": train_s}


def _train_distill(cell, cfg, curve: _Curve) -> dict[str, Any]:
    """The same model trained by cross-entropy to the parent's correct action (upper reference).

    Each update plays ``num_envs * rollout_steps`` env steps with the model's own sampled
    actions (the rollout pays the same env cost as the RL agents) and fits every visited
    observation to ``envs.call("oracle")``, the rule's answer in that state.
    """
    import gymnasium as gym
    import torch
    import torch.nn.functional as F
    from torch.distributions import Categorical

    from agents.optim import GradientStep
    from agents.policy import ModelPolicy
    from agents.scoring import greedy_success
    from agents.training_loop import EVAL_SEED_OFFSET, build_model
    from wmil_envs.memory import VectorEpisodeMemory

    torch.manual_seed(cfg.seed)
    envs = gym.make_vec(cfg.env_id, num_envs=cfg.num_envs, **cfg.env_kwargs())
    if cfg.episode_memory > 1:  # the model reads the episode's last observations
        envs = VectorEpisodeMemory(envs, cfg.episode_memory)
    model = build_model(cfg, envs)
    optimizer = GradientStep(model, cfg)
    agent = ModelPolicy(model)
    window: deque[float] = deque(maxlen=SUCCESS_WINDOW)
    eval_seed = cfg.seed + EVAL_SEED_OFFSET

    def evaluate() -> float:
        return greedy_success(cfg, agent, cfg.eval_episodes, eval_seed)

    curve.record(0, evaluate(), math.nan)
    step, train_s = 0, 0.0
    obs, _ = envs.reset(seed=cfg.seed)
    while step < cfg.max_steps:
        t = time.perf_counter()
        rows, targets = [], []
        for _ in range(cfg.rollout_steps):
            oracle = np.asarray(envs.unwrapped.call("oracle"))
            with torch.no_grad():
                logits = model(torch.as_tensor(obs)).logits
                actions = Categorical(logits=logits).sample().numpy()
            rows.append(obs)
            targets.append(oracle)
            obs, _r, terminated, truncated, infos = envs.step(actions)
            done = terminated | truncated
            if done.any():
                window.extend(infos["final_info"]["episode_success"][done].astype(float))
        out = model(torch.as_tensor(np.concatenate(rows)))
        loss = F.cross_entropy(out.logits, torch.as_tensor(np.concatenate(targets)))
        if out.vq is not None:
            loss = loss + cfg.vq_coef * out.vq.loss
        optimizer(loss)
        train_s += time.perf_counter() - t
        step += cfg.steps_per_update
        if curve.due(step) or step >= cfg.max_steps:
            rate = float(np.mean(window)) if window else math.nan
            curve.record(step, evaluate(), rate)
    envs.close()
    return {"model": model, "policy": agent, "steps": step, "train_seconds": train_s}


class SB3Agent:
    """An SB3 policy behind the ``act(obs, greedy)`` interface of ``agents.policy``."""

    def __init__(self, model):
        self.model = model

    def act(self, obs: np.ndarray, greedy: bool = True) -> np.ndarray:
        return self.model.predict(obs, deterministic=greedy)[0]


def sb3_ppo(cfg, venv):
    """Stable-Baselines3 PPO with our PPO's settings (rollout, epochs, minibatches, clip...)."""
    from stable_baselines3 import PPO

    return PPO(
        "MlpPolicy",
        venv,
        learning_rate=cfg.learning_rate,
        n_steps=cfg.rollout_steps,
        batch_size=max(1, cfg.steps_per_update // cfg.num_minibatches),
        n_epochs=cfg.update_epochs,
        gamma=cfg.gamma,
        gae_lambda=cfg.gae_lambda,
        clip_range=cfg.clip_coef,
        ent_coef=cfg.entropy_coef,
        vf_coef=cfg.value_coef,
        max_grad_norm=cfg.max_grad_norm,
        normalize_advantage=cfg.norm_adv,
        target_kl=cfg.target_kl,
        policy_kwargs={"net_arch": {"pi": [cfg.hidden_dim] * 2, "vf": [cfg.hidden_dim] * 2}},
        seed=cfg.seed,
        device="cpu",
        verbose=0,
    )


def sb3_vec_env(cfg):
    """What ``make_vec_env(env_id, n_envs, seed=...)`` builds (``DummyVecEnv`` of ``Monitor``-ed
    envs), without its ``render_mode="rgb_array"`` first try and the warning it prints."""
    import gymnasium as gym
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    kwargs = cfg.env_kwargs()
    venv = DummyVecEnv([lambda: Monitor(gym.make(cfg.env_id, **kwargs))] * cfg.num_envs)
    venv.seed(cfg.seed)
    return venv


def _train_sb3(cell, cfg, curve: _Curve) -> dict[str, Any]:
    from stable_baselines3.common.callbacks import BaseCallback

    from agents.scoring import greedy_success
    from agents.training_loop import EVAL_SEED_OFFSET

    venv = sb3_vec_env(cfg)
    model = sb3_ppo(cfg, venv)
    agent = SB3Agent(model)
    window: deque[float] = deque(maxlen=SUCCESS_WINDOW)
    eval_seconds = [0.0]

    def evaluate(step: int) -> None:
        t = time.perf_counter()
        rate = float(np.mean(window)) if window else math.nan
        curve.record(
            step, greedy_success(cfg, agent, cfg.eval_episodes, cfg.seed + EVAL_SEED_OFFSET), rate
        )
        eval_seconds[0] += time.perf_counter() - t

    class LogSpaced(BaseCallback):
        def _on_rollout_start(self) -> None:  # the policy after the last update
            if self.num_timesteps == 0 or curve.due(self.num_timesteps):
                evaluate(self.num_timesteps)

        def _on_step(self) -> bool:
            for info, done in zip(self.locals["infos"], self.locals["dones"], strict=True):
                if done:
                    window.append(float(info["episode_success"]))
            return True

    t = time.perf_counter()
    model.learn(cfg.max_steps, callback=LogSpaced())
    train_s = time.perf_counter() - t - eval_seconds[0]
    evaluate(model.num_timesteps)
    venv.close()
    params = sum(p.numel() for p in model.policy.parameters())
    return {
        "model": None,
        "steps": int(model.num_timesteps),
        "train_seconds": train_s,
        "parameters": params,
    }


TRAIN = {
    "trainer": _train_trainer,
    "distill": _train_distill,
    "sb3": _train_sb3,
}


# ------------------------------------------------------------------------------------ a cell


def final_scores(cfg, policy, model, episodes: int) -> dict[str, float | None]:
    """The trained agent's ``WORLD_COLUMNS`` on a world (its level; train and test splits), or
    its ``TRIES_COLUMNS`` on a question with several tries; nothing on a one-try question.
    None: not defined for this run (no failed first try to repeat)."""
    from agents.scoring import MAX_EVAL_ENVS, make_eval_envs, run_episodes
    from agents.training_loop import EVAL_SEED_OFFSET
    from agents.world_model_eval import simulator_metrics

    world = TASKS[cfg.task_name].has_dynamics
    if not world and (cfg.episode_length or 1) <= 1:
        return {}
    seed, n = cfg.seed + EVAL_SEED_OFFSET, min(episodes, MAX_EVAL_ENVS)

    def play(split: str | None) -> dict[str, Any]:
        envs = make_eval_envs(cfg, n, split=split)
        try:
            return run_episodes(envs, policy, episodes, seed)
        finally:
            envs.close()

    played = play("train" if world else None)  # a question: the final greedy eval's episodes
    if not world:
        tries = played["tries"]  # repeat_rate is None where no first try failed
        return {
            "final_first_try_success": tries["first_try_success"],
            "final_repeat_rate": tries["repeat_rate"],
        }
    efficiency = played["path_efficiency"]
    reached = efficiency[~np.isnan(efficiency)]
    scores = {
        "path_efficiency": float(reached.mean()) if reached.size else math.nan,
        "final_test_success": float(play("test")["success"].mean()),
    }
    if getattr(model, "simulator", None) is not None:
        envs = make_eval_envs(cfg, n, split="test")
        try:
            found = simulator_metrics(envs, model.simulator, seed + 2)
        finally:
            envs.close()
        scores["simulator_rollout_exact"] = found["rollout_exact"]
    return scores


def steps_to(steps: list[int], values: list[float], threshold: float) -> int | None:
    for s, v in zip(steps, values, strict=True):
        if v >= threshold - 1e-12:
            return s
    return None


def log_auc(steps: list[int], values: list[float]) -> float:
    """Mean greedy success over the logged points after step 0 (log-spaced, so each octave of
    training counts about equally, as in bsuite's summaries)."""
    vals = [v for s, v in zip(steps, values, strict=True) if s > 0]
    return float(np.mean(vals)) if vals else math.nan


def run_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Run one cell and return its CSV row (errors become ``status=error`` rows)."""
    from benchmarks.suite import cell_config

    wall0, cpu0 = time.perf_counter(), time.process_time()
    row: dict[str, Any] = {k: "" for k in COLUMNS}
    row.update(
        {
            k: cell[k]
            for k in (
                "cell_id",
                "cell_hash",
                "suite",
                "task",
                "difficulty",
                "agent",
                "kind",
                "seed",
                "max_steps",
                "env_budget",
            )
        }
    )
    row["tags"] = ";".join(cell.get("tags", []))
    try:
        cfg = cell_config(cell)
        row["env_id"] = cfg.env_id
        _set_threads(cfg)
        curve = _Curve(eval_targets(cell["first_eval_step"], cfg.max_steps, cell["log_points"]))
        result = TRAIN[cell["kind"]](cell, cfg, curve)
        model = result["model"]
        row["steps"] = result["steps"]
        if model is not None:
            from agents.model import parameter_count

            row["parameters"] = parameter_count(model)
        else:
            row["parameters"] = result.get("parameters", "")
        row["final_greedy_success"] = curve.greedy[-1]
        row["final_train_success"] = curve.train[-1]
        row["auc_greedy_success"] = round(log_auc(curve.steps, curve.greedy), 6)
        for th in THRESHOLDS:
            hit = steps_to(curve.steps, curve.greedy, th)
            row[f"steps_to_{round(th * 100)}"] = "" if hit is None else hit
        row["curve_steps"] = json.dumps(curve.steps)
        row["curve_greedy_success"] = json.dumps(curve.greedy)
        row["curve_train_success"] = json.dumps([None if math.isnan(v) else v for v in curve.train])
        if model is not None and cell.get("probe_states", 0) > 0:
            from benchmarks.probes import probe_model

            probes = probe_model(model, cfg, int(cell["probe_states"]), cfg.seed)
            for key in ("vq_codes_used", "vq_usage", "vq_perplexity"):
                if key in probes:
                    row[key] = round(probes.pop(key), 6)
            row["probes"] = json.dumps(_rounded(probes), sort_keys=True)
        if result.get("policy") is not None:
            scores = final_scores(cfg, result["policy"], model, cfg.eval_episodes)
            row.update({k: "" if v is None else round(v, 6) for k, v in scores.items()})
        row["train_seconds"] = round(result["train_seconds"], 3)
        row["env_steps_per_second"] = round(result["steps"] / max(result["train_seconds"], 1e-9), 1)
        row["status"] = "ok"
    except Exception as error:  # one bad cell must not stop a sweep; the row says what failed
        row["status"] = "error"
        row["error"] = f"{type(error).__name__}: {error}"[:500]
        row["error"] += " | " + traceback.format_exc(limit=3).replace("\n", " ")[-800:]
    row["wall_seconds"] = round(time.perf_counter() - wall0, 3)
    row["cpu_seconds"] = round(time.process_time() - cpu0, 3)
    return row


def _rounded(obj):
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, float):
        return round(obj, 6)
    return obj
