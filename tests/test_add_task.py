"""Adding a task: a task defined here, registered with one call, works everywhere.

Gymnasium's and SB3's env checkers, the native vector env against Gymnasium's sync one, an LLM
parent episode against the local fake server, and a short training run, all on a task that the
packages have never heard of. Registering it must not move any existing token or observation
(``test_vocab_golden.py`` runs in the same session).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import llm_server
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import wmil_envs
from teachers import OpenAIParent
from wmil_envs import vocab
from wmil_envs.parent import DeterministicParent
from wmil_envs.state import StateBatch
from wmil_envs.tasks.base import Fields, Task, integer_field, symbols

llm_server_session = llm_server.llm_server_session  # the fixtures this module uses
server = llm_server.server

ENV_ID = "WMIL/NextSymbol-v0"


class NextSymbol(Task):
    """State ``{"target": t}``; the correct action is ``(t + 1) % num_actions``."""

    name = "next_symbol"
    env_id = ENV_ID
    env_doc = """Answer with the symbol after the one shown.

    ## Description
    A test task: the observation shows a target symbol ``t``; the answer is ``t + 1``, wrapping.

    ## Action Space
    ``Discrete(num_actions)``, default 4.

    ## Difficulty
    0: the first two targets. 1: any target.
"""
    question_len = 2
    default_num_actions = 4
    levels = {0: {"targets": 2}, 1: {"targets": None}}
    tokens = ("<probe:next>",)

    def min_actions(self, level: int) -> int:
        return 2

    def num_targets(self, level: int) -> int:
        return self.levels[level]["targets"] or self.num_actions

    def generate(self, rng: np.random.Generator, n: int, level: int) -> Fields:
        return {"target": rng.integers(0, self.num_targets(level), size=n)}

    def answer(self, fields: Fields) -> np.ndarray:
        return (fields["target"] + 1) % self.num_actions

    def question(self, fields: Fields) -> np.ndarray:
        probe = np.full(len(fields["target"]), vocab.token_id("<probe:next>"))
        return np.stack([probe, symbols(fields["target"])], axis=1)

    def describe(self, fields: Mapping[str, Any]) -> str:
        return f"Which symbol comes after {int(fields['target'])}?"

    def field_schema(self, level: int) -> dict[str, dict[str, Any]]:
        return {"target": integer_field(0, self.num_targets(level) - 1, "the symbol shown")}


@pytest.fixture(scope="module")
def registered():
    """Register the task once for this module, checking what registration appends."""
    echo = gym.make("WMIL/PatternEcho-v0")
    echo_before = echo.reset(seed=3)[0].tolist()
    size_before = vocab.VOCAB_SIZE
    assert wmil_envs.register_task(NextSymbol) is NextSymbol
    wmil_envs.register_task(NextSymbol)  # a repeat is harmless
    assert vocab.token_id("<task:next_symbol>") == size_before
    assert vocab.token_id("<probe:next>") == size_before + 1
    assert vocab.VOCAB_SIZE == size_before + 2
    echo_after = gym.make("WMIL/PatternEcho-v0")
    assert echo_after.reset(seed=3)[0].tolist() == echo_before
    assert echo_after.observation_space == echo.observation_space  # sized by its own task
    assert set(gym.make(ENV_ID).observation_space.nvec.tolist()) == {size_before + 2}
    yield NextSymbol
    _forget(NextSymbol)


def _forget(task_class) -> None:
    """Take the test task out of every table again, so later tests (the docs generator, the
    per-id suites) see only the real tasks. Its tokens stay: ids are never reused."""
    from wmil_envs import envs, tasks

    for table in (tasks.TASKS, tasks.ENV_ID_OF_TASK, tasks.SPLIT_TASKS):
        table.pop(task_class.name, None)
    for table in (wmil_envs.ENV_IDS, wmil_envs.TASK_OF_ID, gym.registry):
        table.pop(task_class.env_id, None)
    for suffix in ("Env", "VectorEnv"):
        delattr(envs, task_class.__name__ + suffix)


def test_registration_derives_every_table(registered):
    from wmil_envs import envs

    assert wmil_envs.ENV_IDS[ENV_ID] == "NextSymbol"
    assert wmil_envs.TASK_OF_ID[ENV_ID] == "next_symbol"
    assert wmil_envs.TASKS["next_symbol"] is NextSymbol
    assert envs.NextSymbolEnv.task_class is NextSymbol
    assert envs.NextSymbolEnv.__module__ == "wmil_envs.envs"
    assert envs.NextSymbolEnv.__doc__.startswith("Answer with the symbol after the one shown.")
    assert "## Episode End" in envs.NextSymbolVectorEnv.__doc__
    env = gym.make(ENV_ID, render_mode="ansi")
    obs, _ = env.reset(seed=0)
    assert obs[0] == vocab.token_id("<task:next_symbol>")
    assert obs[1] == vocab.token_id("<probe:next>")
    assert env.render() == f"Q: Which symbol comes after {obs[2] - vocab.SYMBOL}?"


def test_clashing_registrations_are_clear_errors(registered):
    class Impostor(NextSymbol):
        pass

    with pytest.raises(ValueError, match="task name 'next_symbol' is taken by NextSymbol"):
        wmil_envs.register_task(Impostor)

    class SameId(NextSymbol):
        name = "same_id"

    with pytest.raises(ValueError, match="env id 'WMIL/NextSymbol-v0' is taken"):
        wmil_envs.register_task(SameId)
    with pytest.raises(TypeError, match="concrete subclass"):
        wmil_envs.register_task(Task)


def test_env_checkers(registered, no_warnings):
    check_env(gym.make(ENV_ID, render_mode="ansi").unwrapped, skip_render_check=False)
    check_env(gym.make(ENV_ID, episode_length=3, parent=_RulesAgain()).unwrapped)
    sb3_check_env(gym.make(ENV_ID, difficulty=1).unwrapped, warn=True)


class _RulesAgain(DeterministicParent):
    """The rules through the Parent protocol (the single env's generic path)."""


class _Instances(DeterministicParent):
    """Generates the given instances in order, so two vector envs see the same questions."""

    def __init__(self, fields: Fields):
        self.fields, self.next = fields, 0

    def generate(self, task, rng, n, level):
        rows = np.arange(self.next, self.next + n) % len(self.fields["target"])
        self.next += n
        return StateBatch.new(task, {k: v[rows] for k, v in self.fields.items()})


def test_native_vector_env_matches_sync(registered):
    n, steps = 4, 3
    native = gym.make_vec(
        ENV_ID, num_envs=n, vectorization_mode="vector_entry_point", episode_length=steps
    )
    native_obs, _ = native.reset(seed=0)
    instances = _Instances(native.unwrapped.states.fields)
    sync = gym.make_vec(
        ENV_ID, num_envs=n, vectorization_mode="sync", episode_length=steps, parent=instances
    )
    sync_obs, _ = sync.reset(seed=0)
    np.testing.assert_array_equal(native_obs, sync_obs)
    rng = np.random.default_rng(0)
    for t in range(steps):
        actions = rng.integers(0, 4, size=n)
        native_obs, native_rewards, native_done, _, infos = native.step(actions)
        sync_obs, sync_rewards, sync_done, _, _ = sync.step(actions)
        if t == steps - 1:  # SAME_STEP autoreset: the native env shows the next episode
            native_obs = infos["final_obs"]
        np.testing.assert_array_equal(native_obs, sync_obs)
        np.testing.assert_array_equal(native_rewards, sync_rewards)
        np.testing.assert_array_equal(native_done, sync_done)
    assert native_done.all()


def test_llm_parent_episode(registered, server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    parent = OpenAIParent(
        "fake-model", base_url=server.openai_url, cache_dir=tmp_path, max_retries=0, timeout=5.0
    )
    env = gym.make(ENV_ID, parent=parent, episode_length=2)
    env.reset(seed=0)
    good = env.unwrapped.oracle()
    rewards = [env.step(good)[1], env.step((good + 1) % 4)[1]]
    assert rewards == [1.0, 0.0]
    stats = env.unwrapped.parent.stats()
    assert stats["calls"] == 5 and stats["fallbacks"] == 0 and stats["disagreements"] == 0


def test_short_training_run(registered, tmp_path):
    from agents.config import Config
    from agents.training_loop import Trainer

    cfg = Config(
        task=ENV_ID,
        difficulty=1,
        max_steps=256,
        num_envs=16,
        eval_every=0,
        eval_episodes=32,
        progress=False,
        torch_threads=1,
    ).validate()
    assert cfg.task_name == "next_symbol"
    summary = Trainer(cfg, tmp_path / "run").train()
    written = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert written["final_greedy_success"] == summary["final_greedy_success"]
    assert 0.0 <= summary["final_greedy_success"] <= 1.0
