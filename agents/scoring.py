"""Greedy evaluation on fresh episodes: success overall, per difficulty, per relation / kind,
policy entropy, world-model error, VQ usage and sample episodes rendered as text.

The numeric tasks' extra tables in the Concept Learner's form live in
:mod:`agents.concept_tables`."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch.distributions import Categorical

import wmil_envs  # noqa: F401  (registers the ids)
from agents.concept_tables import answer_lines, code_purity, concept_details, vq_lines
from agents.model import device_of, evaluating
from agents.world_model_eval import simulator_lines, simulator_metrics
from wmil_envs.memory import VectorEpisodeMemory
from wmil_envs.state import feedback_word

MAX_EVAL_ENVS = 1024
CATEGORY_FIELDS = wmil_envs.tasks.CATEGORY_FIELDS  # field -> value names, from the task registry
"""Instance fields that name a category, and the names of their values."""


def make_eval_envs(cfg, num_envs: int, difficulty: int | None = None, split: str | None = None):
    kwargs = cfg.env_kwargs()
    if difficulty is not None:
        kwargs["difficulty"] = difficulty
    if split is not None:
        kwargs["split"] = split
    envs = gym.make_vec(cfg.env_id, num_envs=num_envs, render_mode="ansi", **kwargs)
    return VectorEpisodeMemory(envs, cfg.episode_memory) if cfg.episode_memory > 1 else envs


def valid_levels(envs) -> list[int]:
    task = envs.unwrapped.task
    levels = []
    for level in sorted(task.levels):
        try:
            task.check_level(level)
        except ValueError:
            continue
        levels.append(level)
    return levels


def run_episodes(envs, agent, episodes: int, seed: int, greedy: bool = True, samples: int = 0):
    """Play ``episodes`` episodes; return per-episode success and category, transitions, texts."""
    n = envs.num_envs
    success, categories, texts = [], [], []
    obs_rows, action_rows, next_rows = [], [], []
    first_obs, first_actions, golds, field_rows = [], [], [], []
    efficiency = []  # worlds: optimal_steps / steps_to_goal of each episode (NaN: not reached)
    tries = TriesCount()  # questions with several tries: does the agent eliminate answers?
    rounds = math.ceil(episodes / n)
    for r in range(rounds):
        obs, _ = envs.reset(seed=seed if r == 0 else None)
        fields = {name: np.array(values) for name, values in envs.unwrapped.states.fields.items()}
        field_rows.append(fields)
        golds.append(envs.unwrapped.states.answer.copy())
        first_obs.append(obs.copy())
        category = next((k for k in CATEGORY_FIELDS if k in fields), None)
        lines = [[line] for line in envs.render()] if len(texts) < samples else None
        episode_success = np.zeros(n, dtype=bool)
        horizon = int(envs.unwrapped.horizons.max())
        with_tries = not envs.unwrapped.task.has_dynamics and horizon > 1
        failed = np.zeros((n, int(envs.single_action_space.n)), dtype=bool)  # answers that failed
        for _t in range(horizon):
            actions = np.asarray(agent.act(obs, greedy=greedy), dtype=np.int64)
            new_obs, _rew, terminated, _trunc, infos = envs.step(actions)
            next_obs = infos["final_obs"] if "final_obs" in infos else new_obs
            obs_rows.append(obs)
            action_rows.append(actions)
            if _t == 0:
                first_actions.append(actions)
            next_rows.append(next_obs)
            step_info = infos["final_info"] if terminated.all() else infos
            if with_tries:
                tries.record(_t, actions, step_info["success"], episode_success, failed)
            episode_success |= (
                step_info["episode_success"] if terminated.all() else (step_info["success"])
            )
            if lines is not None:
                for i, line in enumerate(lines):
                    line.append(_describe_step(envs, actions[i], next_obs[i]))
            if terminated.all() and "optimal_steps" in infos["final_info"]:
                final = infos["final_info"]
                reached = final["episode_success"] & (final["steps_to_goal"] > 0)
                taken = np.maximum(final["steps_to_goal"], 1)
                efficiency.append(np.where(reached, final["optimal_steps"] / taken, np.nan))
            obs = new_obs
        success.append(episode_success)
        if category:
            names = CATEGORY_FIELDS[category]
            categories.extend(names[int(c)] for c in fields[category])
        if lines is not None:
            texts.extend(" ".join(line) for line in lines[: samples - len(texts)])
    take = episodes
    return {
        "success": np.concatenate(success)[:take],
        "categories": categories[:take] if categories else None,
        "category_field": category if categories else None,
        "obs": np.concatenate(obs_rows),
        "actions": np.concatenate(action_rows),
        "next_obs": np.concatenate(next_rows),
        "texts": texts,
        # per episode: the first observation and action, the rule's answer, the instance fields
        "first_obs": np.concatenate(first_obs)[:take],
        "first_actions": np.concatenate(first_actions)[:take],
        "gold": np.concatenate(golds)[:take],
        "fields": {k: np.concatenate([f[k] for f in field_rows])[:take] for k in field_rows[0]},
        "path_efficiency": np.concatenate(efficiency)[:take] if efficiency else None,
        "tries": tries.summary(take) if with_tries else None,
    }


class TriesCount:
    """With several tries at one question (``episode_length > 1``): first-try success, and how
    often a later try, before the question is solved, repeats an answer that already failed in
    the episode (an agent that eliminates answers never does)."""

    def __init__(self):
        self.first: list[np.ndarray] = []
        self.later = 0  # tries after a failed first one, before the question was solved
        self.repeats = 0  # of them, answers that had already failed in the episode

    def record(self, t: int, actions: np.ndarray, success: np.ndarray, solved: np.ndarray,
               failed: np.ndarray) -> None:  # fmt: skip
        rows = np.arange(len(actions))
        if t == 0:
            self.first.append(np.asarray(success, dtype=bool))
        else:
            self.later += int((~solved).sum())
            self.repeats += int((failed[rows, actions] & ~solved).sum())
        failed[rows, actions] |= ~np.asarray(success, dtype=bool)

    def summary(self, episodes: int) -> dict[str, float | int | None]:
        first = np.concatenate(self.first)[:episodes] if self.first else None
        return {
            "first_try_success": float(first.mean()) if first is not None else None,
            "later_tries": self.later,
            "repeated_failed_answers": self.repeats,
            "repeat_rate": self.repeats / self.later if self.later else None,
        }


def _describe_step(envs, action: int, next_obs: np.ndarray) -> str:
    feedback = feedback_word(int(next_obs[-1]))  # correct, wrong, held (worlds)
    answer = envs.unwrapped.task.describe_answer(int(action))
    return f"A: {answer} ({feedback})"


def greedy_success(cfg, agent, episodes: int, seed: int, difficulty: int | None = None) -> float:
    envs = make_eval_envs(cfg, min(episodes, MAX_EVAL_ENVS), difficulty)
    try:
        return float(run_episodes(envs, agent, episodes, seed)["success"].mean())
    finally:
        envs.close()


@torch.no_grad()
def model_metrics(model, obs: np.ndarray, actions: np.ndarray, next_obs: np.ndarray) -> dict:
    """Policy entropy, world-model loss / token error / exact rate, VQ usage on transitions."""
    device = device_of(model)
    obs, actions, next_obs = (torch.as_tensor(x).to(device) for x in (obs, actions, next_obs))
    with evaluating(model):
        out = model(obs)
        metrics: dict[str, Any] = {
            "policy_entropy": float(Categorical(logits=out.logits).entropy().mean())
        }
        if model.wm_head is not None:
            logits = model.world_model_logits(out.hidden, actions)
            wm = model.world_model_stats(logits, next_obs)
            metrics["world_model_loss"] = float(wm.loss)
            metrics["world_model_token_error"] = float(wm.token_error)
            metrics["world_model_obs_error"] = float(1 - wm.sample_exact.mean())
        if model.vq is not None:
            codes = out.vq.codes
            counts = torch.bincount(codes, minlength=model.vq.num_codes).float()
            probs = counts / counts.sum()
            metrics["vq_usage"] = float((counts > 0).float().mean())
            metrics["vq_codes_used"] = int((counts > 0).sum())
            metrics["vq_perplexity"] = float(torch.exp(-(probs * torch.log(probs + 1e-10)).sum()))
        return metrics


@torch.no_grad()
def vq_answer_purity(model, first_obs: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    """How purely the VQ codes of the episodes' first observations separate the rules' answer:
    (the share of episodes whose code's most common answer is their own, that share with a
    single code for all)."""
    with evaluating(model):
        codes = model(torch.as_tensor(first_obs)).vq.codes.numpy()
    return code_purity(codes, gold)


def full_evaluation(cfg, model, agent, episodes: int, seed: int, split: str | None = None,
                    samples: int = 5, difficulty: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Everything ``python -m agents.evaluate`` reports, as a JSON-ready dict."""
    num_envs = min(episodes, MAX_EVAL_ENVS)
    main_level = cfg.difficulty if difficulty is None else difficulty
    envs = make_eval_envs(cfg, num_envs, main_level, split)
    try:
        levels = valid_levels(envs)
        main = run_episodes(envs, agent, episodes, seed, samples=samples)
        # the world model under uniformly random actions (right and wrong answers alike)
        rng = np.random.default_rng(seed + 1)
        random_agent = _Uniform(envs.single_action_space.n, rng)
        rand = run_episodes(envs, random_agent, min(episodes, 1024), seed + 1)
    finally:
        envs.close()
    result: dict[str, Any] = {
        "task": cfg.task_name,
        "difficulty": main_level,
        "split": split if split is not None else cfg.split,
        "episodes": int(len(main["success"])),
        "success_rate": float(main["success"].mean()),
        "per_difficulty": {},
        **({"tries": main["tries"]} if main["tries"] else {}),
        "samples": main["texts"],
    }
    if main["categories"] is not None:
        table: dict[str, dict[str, float]] = {}
        order = CATEGORY_FIELDS[main["category_field"]]  # the vocabulary's order
        for name in [n for n in order if n in set(main["categories"])]:
            mask = np.array([c == name for c in main["categories"]])
            correct = int(main["success"][mask].sum())
            table[name] = {"correct": correct, "total": int(mask.sum()),
                           "accuracy": correct / int(mask.sum())}  # fmt: skip
        result["per_category_field"] = main["category_field"]
        result["per_category"] = table
    if difficulty is None:
        for level in levels:
            if level == main_level:
                rate = result["success_rate"]
            else:
                envs = make_eval_envs(cfg, num_envs, level, split)
                try:
                    rate = float(run_episodes(envs, agent, episodes, seed)["success"].mean())
                finally:
                    envs.close()
            result["per_difficulty"][str(level)] = rate
    else:
        result["per_difficulty"][str(main_level)] = result["success_rate"]
    result.update(concept_details(cfg.task_name, envs.unwrapped.task, model, main, samples))
    if model is not None:
        result.update(model_metrics(model, main["obs"], main["actions"], main["next_obs"]))
        if model.vq is not None:
            purity = vq_answer_purity(model, main["first_obs"], main["gold"])
            result["vq_answer_purity"], result["vq_answer_purity_chance"] = purity
        if model.wm_head is not None:
            rnd = model_metrics(model, rand["obs"], rand["actions"], rand["next_obs"])
            result["world_model_random_actions"] = {
                k: rnd[k] for k in rnd if k.startswith("world_model")
            }
        if getattr(model, "simulator", None) is not None:
            envs = make_eval_envs(cfg, num_envs, main_level, split)
            try:
                result["simulator"] = simulator_metrics(envs, model.simulator, seed + 2)
            finally:
                envs.close()
    return result


class _Uniform:
    def __init__(self, n: int, rng: np.random.Generator):
        self.n, self.rng = n, rng

    def act(self, obs, greedy=True):
        return self.rng.integers(0, self.n, size=len(obs))


def format_report(result: dict[str, Any]) -> str:
    """The evaluation as text, with the per-relation table in the Concept Learner's form."""
    lines = [
        f"Task {result['task']} (difficulty {result['difficulty']}"
        + (f", split {result['split']}" if result.get("split") else "")
        + ")",
        f"Eval accuracy over {result['episodes']} examples: {result['success_rate']:.4f}",
    ]
    if result.get("per_category"):
        label = "relation" if result.get("per_category_field") == "relation" else "kind"
        lines.append(f"Per-{label} accuracy:")
        width = max(len(name) for name in result["per_category"])
        for name, row in result["per_category"].items():
            lines.append(
                f"{name:<{width}} : {row['correct']}/{row['total']} = {row['accuracy']:.3f}"
            )
    lines.extend(answer_lines(result))
    tries = result.get("tries")
    if tries:
        rate = tries["repeat_rate"]
        lines.append(
            f"Tries: first-try success {tries['first_try_success']:.4f}, episode success "
            f"{result['success_rate']:.4f}; {tries['repeated_failed_answers']} of "
            f"{tries['later_tries']} later tries repeated an answer that had already failed"
            + (f" ({rate:.3f})" if rate is not None else "")
        )
    if result.get("per_difficulty"):
        lines.append("Per-difficulty accuracy (greedy):")
        for level, rate in result["per_difficulty"].items():
            lines.append(f"level {level} : {rate:.3f}")
    if "policy_entropy" in result:
        lines.append(f"Policy entropy (nats): {result['policy_entropy']:.4f}")
    if "world_model_loss" in result:
        lines.append(
            "World model on greedy actions: token error "
            f"{result['world_model_token_error']:.4f}, observation error "
            f"{result['world_model_obs_error']:.4f}, cross-entropy {result['world_model_loss']:.4f}"
        )
        rnd = result.get("world_model_random_actions")
        if rnd:
            lines.append(
                "World model on random actions: token error "
                f"{rnd['world_model_token_error']:.4f}, observation error "
                f"{rnd['world_model_obs_error']:.4f}, cross-entropy {rnd['world_model_loss']:.4f}"
            )
    if "vq_usage" in result:
        lines.append(
            f"VQ: {result['vq_codes_used']} codes used ({result['vq_usage']:.3f} of the codebook), "
            f"perplexity {result['vq_perplexity']:.2f}"
            + (
                f", answer purity {result['vq_answer_purity']:.3f} "
                f"(one code: {result['vq_answer_purity_chance']:.3f})"
                if "vq_answer_purity" in result
                else ""
            )
        )
    lines.extend(simulator_lines(result))
    lines.extend(vq_lines(result))
    if result.get("samples"):
        lines.append("Sample episodes:")
        lines.extend(f"  {text}" for text in result["samples"])
    return "\n".join(lines)
