"""Benchmark suites: an experiment is an env plus a settings sweep (bsuite's shape).

A suite file (``configs/suite_NAME.yaml``) names environments with their levels and step budgets,
the agents, the seeds and the evaluation settings. ``cells(suite)`` expands it into the grid of
(environment, difficulty, agent, seed) runs; each cell is a plain dict, so it pickles to a
process pool worker or a Ray task unchanged.

    name: smoke
    seeds: [0, 1]
    eval_episodes: 256          # greedy episodes per evaluation
    log_points: 10              # log-spaced evaluations between first_eval_step and max_steps
    first_eval_step: 128
    probe_states: 512           # fresh states for the linear probes (train and test sets each)
    common: {hidden_dim: 64, num_envs: 128, torch_threads: 1}   # agents.config.Config keys
    envs:
      - {task: pattern_echo, levels: [2], max_steps: 1024, config: {num_actions: 8}}
    agents:
      random: {kind: trainer, config: {algorithm: random}}
      rl_only: {kind: trainer, config: {algorithm: reinforce, world_model_head: false}}
      sb3_ppo: {kind: sb3, steps_fraction: 0.5, config: {algorithm: ppo}}

Top-level keys that start with ``x-`` are ignored: YAML anchors of settings that several agents
share (``x-ppo: &ppo {...}``, then ``config: {<<: *ppo, num_envs: 16}``).
An env may name the ``agents`` that run on it (default: all of the suite's), e.g. an agent that
needs a world's rules. Several entries may share a task (one per level, each with its config);
entries of one task at the same level with different settings need a ``name`` each, the label
that stands for the task in cell ids, ``--tasks`` filters and reports (default: the task).
An env's ``steps_fraction`` (``{agent: fraction}``) overrides those agents' own on that env,
for an agent that converges there in far fewer steps than its fraction gives it, and its
``log_points`` the suite's, for a finer grid of evaluations where steps to a threshold are read.

Agent kinds: ``trainer`` (``agents.training_loop.Trainer`` with any registered algorithm:
REINFORCE, PPO or ``random``, uniform actions, with the config's heads), ``distill`` (the same
model trained by cross-entropy to the parent's correct action, ``envs.call("oracle")``: the
upper reference) and ``sb3`` (Stable-Baselines3 PPO, ``MlpPolicy``, on the same env).
``tags`` are free labels for reports.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agents.config import ConfigError, config_from_dict

KINDS = ("trainer", "distill", "sb3")
"""Agent kinds; ``benchmarks.cell.TRAIN`` has one training function per kind."""
SUITE_KEYS = {
    "name",
    "description",
    "seeds",
    "eval_episodes",
    "log_points",
    "first_eval_step",
    "probe_states",
    "common",
    "envs",
    "agents",
}
ENV_KEYS = {
    "task", "name", "levels", "max_steps", "config", "tags", "agents", "steps_fraction",
    "log_points",
}  # fmt: skip
AGENT_KEYS = {"kind", "config", "steps_fraction", "tags", "description"}
CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


class SuiteError(ValueError):
    """A bad suite file; the message names the bad key or value and what is allowed."""


@dataclass
class Suite:
    name: str
    seeds: list[int]
    envs: list[dict[str, Any]]
    agents: dict[str, dict[str, Any]]
    common: dict[str, Any] = field(default_factory=dict)
    eval_episodes: int = 256
    log_points: int = 10
    first_eval_step: int = 128
    probe_states: int = 512
    description: str = ""
    path: str | None = None


def suite_path(name_or_path: str) -> Path:
    """``smoke`` -> configs/suite_smoke.yaml; a path is taken as it is."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return CONFIG_DIR / f"suite_{name_or_path}.yaml"


def available_suites() -> list[str]:
    return sorted(p.stem.removeprefix("suite_") for p in CONFIG_DIR.glob("suite_*.yaml"))


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise SuiteError(message)


def _fraction(value: Any, where: str) -> float:
    """A share of an env's step budget, in (0, 1]; else a ``SuiteError`` naming ``where``."""
    _need(
        isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1,
        f"{where}={value!r} must be a number in (0, 1]",
    )
    return float(value)


def load_suite(name_or_path: str) -> Suite:
    path = suite_path(name_or_path)
    if not path.exists():
        raise SuiteError(
            f"suite {name_or_path!r} not found ({path}); available: {', '.join(available_suites())}"
        )
    data = yaml.safe_load(path.read_text()) or {}
    _need(isinstance(data, dict), f"{path}: a suite must be a mapping")
    unknown = {key for key in data if not str(key).startswith("x-")} - SUITE_KEYS
    _need(
        not unknown,
        f"{path}: unknown suite key(s) {sorted(unknown)}; allowed: {sorted(SUITE_KEYS)}",
    )
    for key in ("name", "seeds", "envs", "agents"):
        _need(key in data, f"{path}: missing key {key!r}")
    suite = Suite(
        name=str(data["name"]),
        seeds=[int(s) for s in data["seeds"]],
        envs=list(data["envs"]),
        agents=dict(data["agents"]),
        common=dict(data.get("common") or {}),
        eval_episodes=int(data.get("eval_episodes", 256)),
        log_points=int(data.get("log_points", 10)),
        first_eval_step=int(data.get("first_eval_step", 128)),
        probe_states=int(data.get("probe_states", 512)),
        description=str(data.get("description", "")),
        path=str(path),
    )
    _need(
        len(suite.seeds) >= 1 and len(set(suite.seeds)) == len(suite.seeds),
        f"{path}: seeds must be a non-empty list of distinct integers",
    )
    for env in suite.envs:
        unknown = set(env) - ENV_KEYS
        _need(
            not unknown,
            f"{path}: env {env.get('task')!r}: unknown key(s) {sorted(unknown)}; "
            f"allowed: {sorted(ENV_KEYS)}",
        )
        _need("task" in env and "max_steps" in env, f"{path}: every env needs task and max_steps")
        env.setdefault("config", {})
        env.setdefault("tags", [])
        unknown = set(env.get("agents") or []) - set(suite.agents)
        _need(
            not unknown,
            f"{path}: env {env['task']!r}: agents {sorted(unknown)} are not in the suite's agents",
        )
        points = env.setdefault("log_points", suite.log_points)
        _need(
            isinstance(points, int) and points >= 1,
            f"{path}: env {env['task']!r}: log_points={points!r} must be an integer >= 1",
        )
        fractions = env.setdefault("steps_fraction", {})
        _need(
            isinstance(fractions, dict) and not set(fractions) - set(suite.agents),
            f"{path}: env {env['task']!r}: steps_fraction must map the suite's agents to "
            f"fractions, got {fractions!r}",
        )
        for name, frac in fractions.items():
            where = f"{path}: env {env['task']!r}: steps_fraction of {name!r}"
            fractions[name] = _fraction(frac, where)
    for name, agent in suite.agents.items():
        unknown = set(agent) - AGENT_KEYS
        _need(
            not unknown,
            f"{path}: agent {name!r}: unknown key(s) {sorted(unknown)}; "
            f"allowed: {sorted(AGENT_KEYS)}",
        )
        _need(
            agent.get("kind") in KINDS,
            f"{path}: agent {name!r}: kind={agent.get('kind')!r}; choose one of {KINDS}",
        )
        agent.setdefault("config", {})
        agent.setdefault("tags", [])
        where = f"{path}: agent {name!r}: steps_fraction"
        agent["steps_fraction"] = _fraction(agent.get("steps_fraction", 1.0), where)
    # every cell's config must be valid before anything runs
    try:
        grid = cells(suite)
    except (ConfigError, ValueError) as error:
        raise SuiteError(f"{path}: {error}") from None
    ids = [cell["cell_id"] for cell in grid]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    _need(
        not repeated,
        f"{path}: cells {repeated[:3]} come from more than one env entry; give the entries of "
        "one task and level different names (name: ...)",
    )
    for cell in grid:
        try:
            cell_config(cell)
        except ConfigError as error:
            raise SuiteError(f"{path}: {cell['cell_id']}: {error}") from None
    return suite


def _levels(env: dict[str, Any]) -> list[int]:
    levels = env.get("levels")
    if levels in (None, "all"):
        import gymnasium as gym

        import wmil_envs  # noqa: F401

        cfg = config_from_dict({"task": env["task"], **env["config"]})
        probe = gym.make_vec(
            cfg.env_id,
            num_envs=1,
            **{k: v for k, v in cfg.env_kwargs().items() if k != "difficulty"},
        )
        from agents.scoring import valid_levels

        levels = valid_levels(probe)
        probe.close()
    return [int(v) for v in levels]


def cells(suite: Suite) -> list[dict[str, Any]]:
    """The grid, env-major then level, agent, seed: one plain dict per run."""
    out = []
    for env in suite.envs:
        for level in _levels(env):
            for agent_name, agent in suite.agents.items():
                if agent_name not in (env.get("agents") or suite.agents):
                    continue
                fraction = env["steps_fraction"].get(agent_name, agent["steps_fraction"])
                max_steps = max(1, int(round(int(env["max_steps"]) * fraction)))
                for seed in suite.seeds:
                    config = {
                        **suite.common,
                        **agent["config"],
                        **env["config"],
                        "task": env["task"],
                        "difficulty": level,
                        "seed": seed,
                        "max_steps": max_steps,
                        "eval_episodes": suite.eval_episodes,
                        "progress": False,
                    }
                    label = env.get("name", env["task"])
                    cell = {
                        "suite": suite.name,
                        "task": label,
                        "difficulty": level,
                        "agent": agent_name,
                        "kind": agent["kind"],
                        "seed": seed,
                        "max_steps": max_steps,
                        "env_budget": int(env["max_steps"]),
                        "config": config,
                        "log_points": env["log_points"],
                        "first_eval_step": suite.first_eval_step,
                        "probe_states": suite.probe_states,
                        "tags": sorted(set(env["tags"]) | set(agent["tags"])),
                    }
                    cell["cell_id"] = f"{label}/L{level}/{agent_name}/s{seed}"
                    cell["cell_hash"] = cell_hash(cell)
                    out.append(cell)
    return out


def cell_hash(cell: dict[str, Any]) -> str:
    """A short hash of everything that determines a run's numbers (not its timing)."""
    keys = (
        "task",
        "difficulty",
        "kind",
        "seed",
        "max_steps",
        "config",
        "log_points",
        "first_eval_step",
        "probe_states",
    )
    text = json.dumps({k: cell[k] for k in keys}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cell_config(cell: dict[str, Any]):
    """The validated ``agents.config.Config`` of a cell."""
    return config_from_dict(dict(cell["config"])).validate()
