"""The single env against the environment contract (DESIGN.md), over every registered id.

As MiniGrid's ``tests/test_envs.py``: checkers, a seeded determinism rollout, pickling and the
three vectorisation modes for each id; then the contract's details (types, horizon, info,
rendering, registration), the difficulty knob and bad input.
"""

from __future__ import annotations

import importlib
import pickle
import re
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, data_equivalence
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import wmil_envs
from wmil_envs import vocab
from wmil_envs.parent import DeterministicParent
from wmil_envs.state import StateBatch
from wmil_envs.tasks import TASKS

ENV_IDS = sorted(wmil_envs.ENV_IDS)
HELD = vocab.token_id("<held>")


def task_class(env_id: str):
    return TASKS[wmil_envs.TASK_OF_ID[env_id]]


def levels(env_id: str) -> list[int]:
    return sorted(task_class(env_id).levels)


ID_LEVELS = [(env_id, level) for env_id in ENV_IDS for level in levels(env_id)]


def is_world(env_id: str) -> bool:
    """Whether the id's actions change the state (NumberWalk, ObjectEdit)."""
    return task_class(env_id).has_dynamics


def rule_rewards(env: gym.Env) -> np.ndarray:
    """The rules' reward of every action in the single env's current state."""
    task, state = env.unwrapped.task, env.unwrapped.state
    n = task.num_actions
    fields = {name: np.full(n, value) for name, value in state.fields.items()}
    return task.reward(fields, np.arange(n))


def wrong_action(env: gym.Env) -> int:
    """The first action after the oracle's that the rules reward 0 now: a question's wrong
    answer (``oracle + 1``); in a world, a step that does not reach the goal."""
    n, oracle = env.action_space.n, env.unwrapped.oracle()
    rewards = rule_rewards(env)
    return next(a for a in ((oracle + k) % n for k in range(1, n)) if rewards[a] == 0.0)


def world_oracle_episode(env: gym.Env) -> int:
    """Play one episode of a reset world with the oracle and check the world's rule: reward 1.0
    on step ``optimal_steps`` only, then the goal is held (feedback ``<held>``, reward 0) until
    the horizon. Returns ``optimal_steps``."""
    horizon = env.unwrapped.episode_length
    for t in range(1, horizon + 1):
        obs, reward, terminated, truncated, info = env.step(env.unwrapped.oracle())
        optimal = info["optimal_steps"]
        assert 1 <= optimal < horizon
        assert reward == float(t == optimal) and info["success"] is (t == optimal)
        assert info["episode_success"] is (t >= optimal)
        assert info["steps_to_goal"] == (optimal if t >= optimal else 0)
        feedback = vocab.WRONG if t < optimal else vocab.CORRECT if t == optimal else HELD
        assert obs[-1] == feedback
        assert terminated is (t == horizon) and truncated is False
    return optimal


class GenericParent(DeterministicParent):
    """The rules, but not ``DeterministicParent`` itself: forces the env's Parent-protocol path."""


class FixedParent(DeterministicParent):
    """Generates the given instances in order (cycling), one batch call at a time."""

    def __init__(self, fields: dict[str, list]):
        self.fields = {name: np.asarray(values) for name, values in fields.items()}
        self.next = 0

    def generate(self, task, rng, n, level):
        size = len(next(iter(self.fields.values())))
        rows = (self.next + np.arange(n)) % size
        self.next += n
        return StateBatch.new(task, {name: v[rows] for name, v in self.fields.items()})


def rollout(env: gym.Env, seed: int, steps: int, action_seed: int = 0) -> list:
    """Reset with ``seed`` and take ``steps`` seeded random actions across episodes."""
    rng = np.random.default_rng(action_seed)
    obs, info = env.reset(seed=seed)
    trace: list = [("reset", obs.tolist(), info)]
    for _ in range(steps):
        action = int(rng.integers(env.action_space.n))
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append(("step", action, obs.tolist(), reward, terminated, truncated, info))
        if terminated or truncated:
            obs, info = env.reset()
            trace.append(("reset", obs.tolist(), info))
    return trace


# --- checkers -------------------------------------------------------------------------------


@pytest.mark.parametrize("render_mode", [None, "ansi"])
def test_gymnasium_check_env(env_id, render_mode, no_warnings):
    env = gym.make(env_id, render_mode=render_mode)
    check_env(env.unwrapped, skip_render_check=False)


@pytest.mark.parametrize("episode_length", [1, 3])
def test_gymnasium_check_env_generic_path(env_id, episode_length, no_warnings):
    env = gym.make(env_id, episode_length=episode_length, parent=GenericParent())
    check_env(env.unwrapped)


def test_sb3_check_env(env_id, no_warnings):
    sb3_check_env(gym.make(env_id).unwrapped, warn=True)
    sb3_check_env(gym.make(env_id, episode_length=3).unwrapped, warn=True)


def test_sb3_make_vec_env(env_id):
    """SB3's ``make_vec_env`` builds string ids with ``render_mode="rgb_array"`` and retries
    without it only on ``TypeError``: the env must still come up (the most common SB3 usage)."""
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(env_id, n_envs=2, seed=0)
    assert venv.reset().shape == (2, task_class(env_id)().obs_len)


def test_sb3_make_vec_env_without_render_mode(env_id):
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(env_id, n_envs=2, seed=0, env_kwargs={"render_mode": None})
    obs = venv.reset()
    horizon = task_class(env_id).horizon(0) or 1  # one step for a question
    for t in range(1, horizon + 1):
        obs, rewards, dones, infos = venv.step(np.zeros(2, dtype=np.int64))
        assert dones.tolist() == [t == horizon] * 2
    assert {"success", "difficulty", "reward_goal", "steps_to_goal"} <= set(infos[0])


# --- determinism and pickling ---------------------------------------------------------------


@pytest.mark.parametrize("parent", [None, GenericParent()], ids=["scalar", "generic"])
@pytest.mark.parametrize("episode_length", [1, 3])
def test_seeded_determinism(env_id, episode_length, parent):
    kwargs = {"episode_length": episode_length, "parent": parent}
    first = rollout(gym.make(env_id, **kwargs), seed=123, steps=300)
    second = rollout(gym.make(env_id, **kwargs), seed=123, steps=300)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert a[:-1] == b[:-1]
        assert data_equivalence(a[-1], b[-1], exact=True) and a[-1] == b[-1]
    episodes = [entry for entry in first if entry[0] == "reset"]
    assert len(episodes) >= 300 // episode_length  # many episodes, each from the same seed
    assert len({tuple(entry[1]) for entry in episodes}) > 1  # and they differ
    # the seed matters: another seed gives other questions
    other = rollout(gym.make(env_id, **kwargs), seed=124, steps=300)
    assert [e[1] for e in other if e[0] == "reset"] != [e[1] for e in episodes]


def test_reset_with_same_seed_repeats_the_episode(env_id):
    env = gym.make(env_id)
    firsts = []
    for _ in range(2):
        obs, _ = env.reset(seed=7)
        later = [env.reset()[0].tolist() for _ in range(200)]  # past one pre-drawn block
        firsts.append((obs.tolist(), later))
    assert firsts[0] == firsts[1]


@pytest.mark.parametrize("parent", [None, GenericParent()], ids=["scalar", "generic"])
def test_pickle_round_trip_continues_identically(env_id, parent):
    env = gym.make(env_id, episode_length=3, parent=parent).unwrapped
    env.reset(seed=5)
    env.step(0)
    clone = pickle.loads(pickle.dumps(env))
    rng = np.random.default_rng(1)
    for _ in range(400):  # several episodes, past the pre-drawn block of instances
        action = int(rng.integers(env.action_space.n))
        out, out_clone = env.step(action), clone.step(action)
        assert out[0].tolist() == out_clone[0].tolist()
        assert out[1:] == out_clone[1:]
        if out[2]:
            reset, reset_clone = env.reset(), clone.reset()
            assert reset[0].tolist() == reset_clone[0].tolist() and reset[1] == reset_clone[1]


def test_pickle_of_made_env(env_id):
    env = gym.make(env_id, episode_length=2)
    env.reset(seed=3)
    clone = pickle.loads(pickle.dumps(env))
    for action in (0, 1, 1, 0):
        out, out_clone = env.step(action), clone.step(action)
        assert out[0].tolist() == out_clone[0].tolist() and out[1:] == out_clone[1:]
        if out[2]:
            assert env.reset()[0].tolist() == clone.reset()[0].tolist()


# --- vectorisation --------------------------------------------------------------------------

SAME_STEP = {"autoreset_mode": AutoresetMode.SAME_STEP}


def make_vec(env_id: str, mode: str, num_envs: int = 3, **kwargs):
    vector_kwargs = {} if mode == "vector_entry_point" else {"vector_kwargs": SAME_STEP}
    return gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode=mode, **vector_kwargs, **kwargs
    )


def layout(info: dict) -> dict:
    """The info's structure: keys, mask values and (for nested dicts) the same, recursively."""
    out = {}
    for key, value in info.items():
        if isinstance(value, dict):
            out[key] = layout(value)
        elif key.startswith("_"):
            out[key] = np.asarray(value).tolist()
        else:
            out[key] = np.shape(value)[:1]
    return out


@pytest.mark.parametrize("mode", ["sync", "async", "vector_entry_point"])
def test_make_vec_modes_run_with_the_same_spaces(env_id, mode):
    single = gym.make(env_id)
    envs = make_vec(env_id, mode, num_envs=3, episode_length=2)
    try:
        assert envs.num_envs == 3
        assert envs.single_observation_space == single.observation_space
        assert envs.single_action_space == single.action_space
        # the batched spaces are Gymnasium's batch of the single ones, in every mode
        assert envs.action_space == batch_space(single.action_space, 3)
        assert envs.observation_space == batch_space(single.observation_space, 3)
        assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
        obs, info = envs.reset(seed=0)
        assert obs in envs.observation_space
        for _ in range(5):
            obs, rewards, terminated, truncated, info = envs.step(envs.action_space.sample())
            assert obs in envs.observation_space
            assert rewards.shape == terminated.shape == truncated.shape == (3,)
            assert not truncated.any()
    finally:
        envs.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("episode_length", [1, 3])
def test_same_step_info_layout_matches_native(env_id, mode, episode_length):
    """Gymnasium's vector envs in SAME_STEP mode and the native env give the same info layout:
    same keys (incl. ``final_obs``/``final_info``) and the same ``_key`` masks, step by step."""
    envs = make_vec(env_id, mode, num_envs=3, episode_length=episode_length)
    native = make_vec(env_id, "vector_entry_point", num_envs=3, episode_length=episode_length)
    try:
        assert layout(envs.reset(seed=1)[1]) == layout(native.reset(seed=1)[1])
        for t in range(2 * episode_length):
            actions = np.array([0, 1, 0])
            *_, info = envs.step(actions)
            *_, native_info = native.step(actions)
            assert layout(info) == layout(native_info), f"step {t}"
            if "final_obs" in info:
                # the same final observations, stacked: native keeps them as one int array
                stacked = np.stack(list(info["final_obs"]))
                assert stacked.shape == native_info["final_obs"].shape
                assert native_info["final_obs"].dtype == stacked.dtype
    finally:
        envs.close()


def test_vector_oracle_through_every_mode(env_id):
    for mode in ("sync", "vector_entry_point"):
        if not is_world(env_id):
            envs = make_vec(env_id, mode, num_envs=4, episode_length=2)
            envs.reset(seed=0)
            for _ in range(4):
                actions = np.asarray(envs.call("oracle"))
                _, rewards, *_ = envs.step(actions)
                assert rewards.tolist() == [1.0] * 4, mode
            envs.close()
            continue
        # a world: each episode's return is 1, reached in exactly optimal_steps
        envs = make_vec(env_id, mode, num_envs=4)
        envs.reset(seed=0)
        horizon = task_class(env_id).horizon(0)
        returns = np.zeros(4)
        for t in range(1, horizon + 1):
            _, rewards, terminated, _, infos = envs.step(np.asarray(envs.call("oracle")))
            returns += rewards
            assert terminated.tolist() == [t == horizon] * 4, mode
        final = infos["final_info"]
        assert returns.tolist() == [1.0] * 4, mode
        assert final["episode_success"].all(), mode
        assert (final["steps_to_goal"] == final["optimal_steps"]).all(), mode
        envs.close()


# --- registration ---------------------------------------------------------------------------


def test_every_id_is_registered_with_a_native_vector_entry_point():
    for env_id in ENV_IDS:
        spec = gym.spec(env_id)
        assert isinstance(spec.entry_point, str) and spec.entry_point.startswith("wmil_envs.")
        assert isinstance(spec.vector_entry_point, str)
        assert spec.vector_entry_point.startswith("wmil_envs.")


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60
    )


def test_make_without_import_line_in_a_fresh_process():
    code = (
        "import sys\n"
        "import gymnasium as gym\n"
        "assert 'wmil_envs' not in sys.modules\n"
        "env = gym.make('wmil_envs:WMIL/PatternEcho-v0')\n"
        "obs, info = env.reset(seed=0)\n"
        "obs, reward, terminated, truncated, info = env.step(int(env.unwrapped.oracle()))\n"
        "assert reward == 1.0 and terminated and not truncated\n"
        "print(type(env.unwrapped).__name__)\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "PatternEchoEnv"
    assert result.stderr == ""


def test_importing_twice_does_not_reregister_or_warn():
    code = (
        "import importlib\n"
        "import gymnasium as gym\n"
        "import wmil_envs\n"
        "before = {k: v.entry_point for k, v in gym.registry.items()}\n"
        "importlib.reload(wmil_envs)\n"
        "wmil_envs.register_envs()\n"
        "import wmil_envs\n"
        "assert {k: v.entry_point for k, v in gym.registry.items()} == before\n"
        "gym.make('wmil_envs:WMIL/Counting-v0')\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_register_envs_again_in_process_is_silent():
    ids = set(gym.registry)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wmil_envs.register_envs()
    assert set(gym.registry) == ids


# --- the step contract ----------------------------------------------------------------------


@pytest.mark.parametrize("parent", [None, GenericParent()], ids=["scalar", "generic"])
def test_step_types_and_fresh_arrays(env_id, parent):
    env = gym.make(env_id, episode_length=3, parent=parent).unwrapped
    twin = gym.make(env_id, episode_length=3, parent=parent).unwrapped  # never mutated
    obs0, info = env.reset(seed=0)
    assert obs0.dtype == np.int64 and obs0.shape == env.observation_space.shape
    assert type(info["step"]) is int and type(info["difficulty"]) is int
    seen = [obs0]
    for t in range(1, 4):
        obs, reward, terminated, truncated, info = env.step(t % 2)
        assert type(reward) is float
        assert type(terminated) is bool and type(truncated) is bool
        assert type(info["success"]) is bool and type(info["episode_success"]) is bool
        assert type(info["reward_goal"]) is float and type(info["step"]) is int
        assert type(info["steps_to_goal"]) is int
        assert type(info.get("optimal_steps", 0)) is int
        assert all(not np.shares_memory(obs, old) for old in seen)
        seen.append(obs)
    # mutating what was returned changes nothing the env keeps
    obs, _ = env.reset(seed=0)
    assert obs.tolist() == obs0.tolist() == twin.reset(seed=0)[0].tolist()
    obs[:] = 0
    obs1, *_ = env.step(1)
    assert obs1.tolist() == twin.step(1)[0].tolist()
    if not is_world(env_id):
        assert obs1[:-2].tolist() == obs0[:-2].tolist()
    obs1[:] = 0
    obs2, *_ = env.step(1)
    assert obs2.tolist() == twin.step(1)[0].tolist()
    if not is_world(env_id):
        assert obs2[:-2].tolist() == obs0[:-2].tolist()
    assert env.reset(seed=0)[0].tolist() == obs0.tolist()


@pytest.mark.parametrize("parent", [None, GenericParent()], ids=["scalar", "generic"])
@pytest.mark.parametrize("episode_length", [1, 3])
def test_terminated_only_at_the_horizon(env_id, episode_length, parent):
    env = gym.make(env_id, episode_length=episode_length, parent=parent)
    for episode in range(4):
        obs, info = env.reset(seed=episode)
        assert info["step"] == 0 and info["difficulty"] == 0
        for t in range(1, episode_length + 1):
            # the correct answer first: success never ends an episode early
            action = env.unwrapped.oracle() if episode % 2 == 0 else 0
            obs, reward, terminated, truncated, info = env.step(action)
            assert terminated is (t == episode_length)
            assert truncated is False
            assert {"success", "episode_success", "step", "difficulty", "reward_goal"} <= set(info)
            assert info["step"] == t and info["difficulty"] == 0
            assert info["reward_goal"] == reward
            assert info["success"] is (reward == 1.0)
        with pytest.raises(RuntimeError, match="reset"):
            env.unwrapped.step(0)


def test_episode_success_accumulates(env_id):
    if is_world(env_id):  # the goal, once reached, is held: success once, then held steps
        env = gym.make(env_id)
        for seed in range(20):
            env.reset(seed=seed)
            world_oracle_episode(env)
        env.reset()
        assert env.step(wrong_action(env))[-1]["episode_success"] is False
        return
    env = gym.make(env_id, episode_length=3).unwrapped
    env.reset(seed=0)
    wrong = (env.oracle() + 1) % env.action_space.n
    infos = [env.step(a)[-1] for a in (wrong, env.oracle(), wrong)]
    assert [i["success"] for i in infos] == [False, True, False]
    assert [i["episode_success"] for i in infos] == [False, True, True]
    env.reset()
    assert env.step((env.oracle() + 1) % env.action_space.n)[-1]["episode_success"] is False


@pytest.mark.parametrize("parent", [None, GenericParent()], ids=["scalar", "generic"])
def test_observation_shows_last_action_and_feedback(env_id, parent):
    episode_length = None if is_world(env_id) else 3  # a world: its level's horizon
    env = gym.make(env_id, episode_length=episode_length, parent=parent).unwrapped
    obs, _ = env.reset(seed=2)
    assert obs[0] == env.task.token
    assert obs[-2:].tolist() == [vocab.NONE, vocab.NONE]
    answer = env.oracle()
    wrong = wrong_action(env)
    fields = {name: np.asarray(value)[None] for name, value in env.state.fields.items()}
    obs1, *_ = env.step(wrong)
    if is_world(env_id):  # the world moves: the object changes by the rule, the goal stays
        moved = env.task.question(env.task.transition(fields, np.array([wrong])))[0]
        assert obs1[1:-2].tolist() == moved.tolist()
        goal = slice(1 + env.task.question_len // 2, -2)
        assert obs1[goal].tolist() == obs[goal].tolist()
    else:
        assert obs1[:-2].tolist() == obs[:-2].tolist()  # the question stays
    assert obs1[-2:].tolist() == [vocab.SYMBOL + wrong, vocab.WRONG]
    assert env.state.last_action == wrong and env.state.feedback == vocab.WRONG
    if is_world(env_id):  # a fresh episode, walked by the oracle to one step before the goal
        env.reset(seed=2)
        while rule_rewards(env)[env.oracle()] == 0.0:
            env.step(env.oracle())
        answer = env.oracle()
    obs2, *_ = env.step(answer)
    assert obs2[-2:].tolist() == [vocab.SYMBOL + answer, vocab.CORRECT]
    assert env.state.to_tensor().tolist() == obs2.tolist()
    if is_world(env_id):  # after the goal, the object is held and the feedback says so
        obs3, reward, *_ = env.step(wrong)
        assert reward == 0.0 and obs3[:-2].tolist() == obs2[:-2].tolist()
        assert obs3[-2:].tolist() == [vocab.SYMBOL + wrong, HELD]
        assert env.state.feedback == HELD


def test_step_before_reset_is_an_error(env_id):
    env = gym.make(env_id).unwrapped
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    with pytest.raises(RuntimeError, match="reset"):
        env.oracle()


# --- oracle ---------------------------------------------------------------------------------


def oracle_return(env_id: str, level: int, num_actions: int | None, parent=None) -> list[float]:
    env = gym.make(
        env_id, num_actions=num_actions, difficulty=level, episode_length=2, parent=parent
    )
    env.reset(seed=level)
    rewards = []
    for _ in range(150):
        for _ in range(2):
            obs, reward, terminated, _, info = env.step(env.unwrapped.oracle())
            rewards.append(reward)
            assert info["success"] and info["episode_success"]
        assert terminated
        env.reset()
    return rewards


@pytest.mark.parametrize("env_id, level", ID_LEVELS)
def test_oracle_scores_one_at_every_level(env_id, level):
    task = task_class(env_id)()
    sizes = {task.num_actions, task.min_actions(level), 128}
    if task.min_actions(level) > task.num_actions:  # (none today: every default fits)
        sizes.discard(task.num_actions)
    if task.has_dynamics:  # a world: the goal in exactly optimal_steps, then held
        for num_actions, parent in [(n, None) for n in sorted(sizes)] + [(None, GenericParent())]:
            env = gym.make(env_id, num_actions=num_actions, difficulty=level, parent=parent)
            optimal = []
            for episode in range(40):
                env.reset(seed=level) if episode == 0 else env.reset()
                optimal.append(world_oracle_episode(env))
            assert max(optimal) <= task.levels[level]["max_distance"], num_actions
        return
    for num_actions in sorted(sizes):
        assert set(oracle_return(env_id, level, num_actions)) == {1.0}, num_actions
    assert set(oracle_return(env_id, level, None, parent=GenericParent())) == {1.0}


# --- rendering ------------------------------------------------------------------------------

SENTENCES = {
    "WMIL/PatternEcho-v0": r"Echo the symbol \d+\.",
    "WMIL/SequenceNext-v0": r"What comes next: \d+(, \d+)+, \?",
    "WMIL/Conditional-v0": r"Which action for a (small|large) (plain|striped) \w+ \w+\?",
    "WMIL/NumericRelation-v0": r"(Is|Do) .*\d+.*\?",
    "WMIL/Counting-v0": r"What number comes (after|before|between) \d+( and \d+)?\?",
    "WMIL/NumberWalk-v0": r"Now \d+; goal \d+\.",
    "WMIL/ObjectEdit-v0": r"Now a (small|large) (plain|striped) \w+ \w+; "
    r"goal a (small|large) (plain|striped) \w+ \w+\.",
}
ACTION_WORDS = {  # what each action shows as an answer, by id (questions: "yes", "35"...)
    "WMIL/NumberWalk-v0": ("+1", "-1", "+2", "-2", "+10", "-10"),
    "WMIL/ObjectEdit-v0": ("next shape", "paint", "grow", "shrink", "toggle texture", "flip"),
}


def test_render_ansi_is_a_sentence(env_id):
    env = gym.make(env_id, render_mode="ansi", difficulty=max(levels(env_id)), episode_length=2)
    for seed in range(20):
        env.reset(seed=seed)
        text = env.render()
        assert re.fullmatch("Q: " + SENTENCES[env_id], text), text
        assert text == "Q: " + env.unwrapped.state.sentence()
        oracle = env.unwrapped.oracle()
        answer = env.unwrapped.task.describe_answer(oracle)
        _, reward, *_ = env.step(oracle)
        if is_world(env_id):  # the world moved: the new state, the action's name, feedback
            assert answer == ACTION_WORDS[env_id][oracle]
            word = "correct" if reward == 1.0 else "wrong"
            now = env.unwrapped.state.sentence()
            assert env.render() == f"Q: {now} A: {answer} ({word})"
            assert re.fullmatch(
                "Q: " + SENTENCES[env_id] + r" A: [^()]+ \((correct|wrong)\)", env.render()
            )
            continue
        assert env.render() == f"{text} A: {answer} (correct)"
    assert gym.make(env_id).unwrapped.render() is None  # no render_mode, nothing drawn


@pytest.mark.parametrize(
    "env_id, fields, question, answers",
    [
        (
            "WMIL/NumericRelation-v0",
            {"relation": [1], "a": [28], "b": [29]},
            "Q: Is 28 the predecessor of 29?",
            (1, "yes", 0, "no"),
        ),
        (
            "WMIL/NumericRelation-v0",
            {"relation": [6], "a": [37], "b": [43]},
            "Q: Do the ones of 37 and 43 make ten?",
            (1, "yes", 0, "no"),
        ),
        (
            "WMIL/Counting-v0",
            {"kind": [2], "n": [41]},
            "Q: What number comes between 41 and 43?",
            (42, "42", 41, "41"),
        ),
        (
            "WMIL/PatternEcho-v0",
            {"target": [5]},
            "Q: Echo the symbol 5.",
            (5, "action 5", 6, "action 6"),
        ),
        (
            "WMIL/Conditional-v0",
            {"shape": [2], "colour": [0], "size": [1], "texture": [1]},
            "Q: Which action for a large striped red triangle?",
            (9, "action 9", 2, "action 2"),
        ),
        (
            "WMIL/SequenceNext-v0",
            {"pattern": [0], "start": [3], "step": [2], "other": [0], "length": [3]},
            "Q: What comes next: 3, 5, 7, ?",
            (9, "action 9", 8, "action 8"),
        ),
    ],
)
def test_render_exact_sentences(env_id, fields, question, answers):
    right, right_word, wrong, wrong_word = answers
    env = gym.make(env_id, render_mode="ansi", episode_length=2, parent=FixedParent(fields))
    env.reset(seed=0)
    assert env.render() == question
    assert env.unwrapped.oracle() == right
    env.step(wrong)
    assert env.render() == f"{question} A: {wrong_word} (wrong)"
    env.step(right)
    assert env.render() == f"{question} A: {right_word} (correct)"


def test_render_scalar_path_matches_sentence():
    env = gym.make("WMIL/NumericRelation-v0", render_mode="ansi", difficulty=1)
    env.reset(seed=0)
    state = env.unwrapped.state
    a, b = int(state.fields["a"]), int(state.fields["b"])
    assert str(a) in env.render() and str(b) in env.render()
    assert env.render().startswith("Q: ") and env.render().endswith("?")


# --- difficulty -----------------------------------------------------------------------------


def targets_after(env, resets: int) -> set[int]:
    """The PatternEcho targets of the next ``resets`` episodes."""
    targets = set()
    for _ in range(resets):
        env.reset()
        targets.add(int(env.unwrapped.state.fields["target"]))
    return targets


def test_difficulty_attribute_reaches_new_episodes_and_drops_predrawn_instances():
    env = gym.make("WMIL/PatternEcho-v0", num_actions=16, difficulty=2)
    env.reset(seed=0)  # pre-draws instances at level 2
    assert max(targets_after(env, 100)) >= 8
    env.unwrapped.difficulty = 0
    _, info = env.reset()
    assert info["difficulty"] == 0
    assert int(env.unwrapped.state.fields["target"]) < 4
    assert max(targets_after(env, 300)) < 4  # nothing left over from level 2
    env.set_wrapper_attr("difficulty", 1)
    assert env.get_wrapper_attr("difficulty") == 1 == env.unwrapped.difficulty
    assert env.reset()[1]["difficulty"] == 1
    assert 4 <= max(targets_after(env, 300)) < 8
    _, info = env.reset(options={"difficulty": 2})
    assert info["difficulty"] == 2 and env.unwrapped.difficulty == 2
    assert env.reset()[1]["difficulty"] == 2  # an option sets the level for later episodes too
    assert max(targets_after(env, 300)) >= 8


@pytest.mark.parametrize("parent", [None, GenericParent()], ids=["scalar", "generic"])
def test_info_reports_the_level_of_the_episode(env_id, parent):
    top = max(levels(env_id))
    env = gym.make(env_id, episode_length=2, parent=parent)
    env.reset(seed=0)
    env.unwrapped.difficulty = top  # mid-episode: this episode keeps its level
    assert env.step(0)[-1]["difficulty"] == 0
    assert env.step(0)[-1]["difficulty"] == 0
    _, info = env.reset()
    assert info["difficulty"] == top
    assert env.step(0)[-1]["difficulty"] == top


def test_set_attr_and_call_reach_difficulty_in_sync_vector_env(env_id):
    top = max(levels(env_id))
    envs = make_vec(env_id, "sync", num_envs=2, episode_length=1)
    envs.reset(seed=0)
    envs.set_attr("difficulty", top)
    assert envs.get_attr("difficulty") == (top, top)
    assert envs.call("difficulty") == (top, top)
    *_, info = envs.step(np.zeros(2, dtype=np.int64))  # autoreset starts episodes at `top`
    assert info["final_info"]["difficulty"].tolist() == [0, 0]
    assert info["difficulty"].tolist() == [top, top]
    assert envs.reset()[1]["difficulty"].tolist() == [top, top]
    with pytest.raises(ValueError, match=f"difficulty={top + 1}"):
        envs.set_attr("difficulty", top + 1)


def test_sb3_env_method_reaches_difficulty(env_id):
    from stable_baselines3.common.vec_env import DummyVecEnv

    top = max(levels(env_id))
    venv = DummyVecEnv([lambda: gym.make(env_id)] * 2)
    venv.env_method("set_wrapper_attr", "difficulty", top)
    assert venv.get_attr("difficulty") == [top, top]
    assert [env.unwrapped.difficulty for env in venv.envs] == [top, top]
    venv.reset()
    assert [info["difficulty"] for info in venv.reset_infos] == [top, top]


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("parent", [None, GenericParent()], ids=["scalar", "generic"])
@pytest.mark.parametrize(
    "action", [-1, "n", 1.0, 2.5, np.float64(1.0), np.array([0, 1]), np.array([1.0]), None]
)
def test_bad_action_is_a_clear_error(env_id, action, parent):
    env = gym.make(env_id, parent=parent)
    env.reset(seed=0)
    n = env.action_space.n
    for bad in (action, n, np.int64(n)) if isinstance(action, int) else (action,):
        with pytest.raises(ValueError) as error:
            env.step(bad)
        message = str(error.value)
        assert repr(bad) in message and f"Discrete({n})" in message and f"0..{n - 1}" in message
    if is_world(env_id):  # the env is still usable: the oracle reaches the goal
        world_oracle_episode(env)
        return
    obs, reward, *_ = env.step(env.unwrapped.oracle())  # the env is still usable
    assert reward == 1.0


@pytest.mark.parametrize("action", [np.int64(1), np.int32(1), np.array(1), np.array([1])])
def test_integer_like_actions_are_accepted(action):
    env = gym.make("WMIL/PatternEcho-v0", num_actions=4)
    env.reset(seed=0)
    _, reward, *_ = env.step(action)
    assert type(reward) is float


@pytest.mark.parametrize(
    "env_id, level", [(e, max(levels(e)) + 1) for e in ENV_IDS] + [("WMIL/PatternEcho-v0", -1)]
)
def test_bad_difficulty_is_a_clear_error_everywhere(env_id, level):
    top = max(levels(env_id))
    allowed = f"0..{top}"
    with pytest.raises(ValueError, match=rf"difficulty={level}\b.*{allowed}"):
        gym.make(env_id, difficulty=level)
    env = gym.make(env_id)
    with pytest.raises(ValueError, match=rf"difficulty={level}\b.*{allowed}"):
        env.unwrapped.difficulty = level
    with pytest.raises(ValueError, match=rf"difficulty={level}\b.*{allowed}"):
        env.set_wrapper_attr("difficulty", level)
    with pytest.raises(ValueError, match=rf"difficulty={level}\b.*{allowed}"):
        env.reset(seed=0, options={"difficulty": level})
    assert env.unwrapped.difficulty == 0  # nothing clamped, nothing changed
    with pytest.raises(TypeError, match=r"difficulty must be an integer, got 1\.0"):
        env.unwrapped.difficulty = 1.0
    with pytest.raises(ValueError, match=r"unknown reset option.*'level'.*difficulty"):
        env.reset(options={"level": 1})


@pytest.mark.parametrize(
    "env_id, kwargs, pattern",
    [
        (
            "WMIL/Conditional-v0",
            {"num_actions": 8, "difficulty": 2},
            r"conditional difficulty 2 .*num_actions >= 16; got num_actions=8",
        ),
        ("WMIL/Counting-v0", {"num_actions": 50}, r"num_actions=50 .*counting.*100\.\.128"),
        ("WMIL/NumericRelation-v0", {"num_actions": 1}, r"num_actions=1 .*2\.\.128"),
        ("WMIL/PatternEcho-v0", {"num_actions": 129}, r"num_actions=129 .*4\.\.128"),
        (
            "WMIL/SequenceNext-v0",
            {"num_actions": 12, "difficulty": 3},
            r"sequence_next difficulty 3 .*num_actions >= 13; got num_actions=12",
        ),
        ("WMIL/NumericRelation-v0", {"split": "validation"}, r"split='validation'.*train"),
        ("WMIL/Counting-v0", {"split": "Train"}, r"split='Train'.*test_numbers"),
        (
            "WMIL/NumericRelation-v0",
            {"relations": ["successor", "bigger"]},
            r"'bigger'.*successor.*makes_ten.*smaller",
        ),
        ("WMIL/PatternEcho-v0", {"episode_length": 0}, r"episode_length=0 .*>= 1"),
        ("WMIL/PatternEcho-v0", {"render_mode": "human"}, r"render_mode='human'.*'ansi'"),
        ("WMIL/PatternEcho-v0", {"parent": "oracle"}, r"unknown parent 'oracle'.*deterministic"),
    ],
)
def test_bad_constructor_arguments_are_clear_errors(env_id, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        gym.make(env_id, **kwargs)


def test_conditional_with_too_few_actions_for_a_later_level():
    """8 actions is fine at level 1, but moving to level 2 is refused, not clamped."""
    env = gym.make("WMIL/Conditional-v0", num_actions=8, difficulty=1)
    with pytest.raises(ValueError, match=r"num_actions >= 16; got num_actions=8"):
        env.unwrapped.difficulty = 2
    assert env.unwrapped.difficulty == 1


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"episode_length": 1.5}, r"episode_length must be an integer, got 1\.5"),
        ({"num_actions": 4.0}, r"num_actions must be an integer, got 4\.0"),
        ({"difficulty": "1"}, r"difficulty must be an integer, got '1'"),
        ({"unknown_argument": 1}, r"unknown_argument"),
    ],
)
def test_wrongly_typed_arguments(kwargs, pattern):
    with pytest.raises(TypeError, match=pattern):
        gym.make("WMIL/PatternEcho-v0", **kwargs)


# --- documentation --------------------------------------------------------------------------


def test_each_env_class_is_documented(env_id):
    spec = gym.spec(env_id)
    for entry_point in (spec.entry_point, spec.vector_entry_point):
        module, name = entry_point.split(":")
        cls = getattr(importlib.import_module(module), name)
        for section in (
            "## Description",
            "## Action Space",
            "## Observation Space",
            "## Rewards",
            "## Episode End",
            "## Arguments",
            "## Version History",
        ):
            assert section in cls.__doc__, (name, section)


# --- the question tasks with several tries (episode_length > 1) -----------------------------

QUESTION_IDS = [env_id for env_id in ENV_IDS if not is_world(env_id)]


@pytest.mark.parametrize("parent", [None, GenericParent()], ids=["scalar", "generic"])
@pytest.mark.parametrize("env_id", QUESTION_IDS)
def test_several_tries_answer_see_the_feedback_answer_again(env_id, parent):
    """``episode_length > 1`` on a question: the same question each try, the feedback of the
    last try shown, a reward per try; ``steps_to_goal`` is the first successful try (0 until
    then) and stays there."""
    env = gym.make(env_id, episode_length=4, parent=parent).unwrapped
    for seed, tries in ((0, ("wrong", "wrong", "right", "wrong")), (1, ("right", "wrong") * 2)):
        obs, _ = env.reset(seed=seed)
        question = obs[:-2].tolist()
        first = tries.index("right") + 1
        for t, how in enumerate(tries, start=1):
            action = env.oracle() if how == "right" else wrong_action(env)
            obs, reward, terminated, _, info = env.step(action)
            assert obs[:-2].tolist() == question  # the same question, answered again
            feedback = vocab.CORRECT if how == "right" else vocab.WRONG
            assert obs[-2:].tolist() == [vocab.SYMBOL + action, feedback]
            assert reward == (1.0 if how == "right" else 0.0)  # each try is rewarded
            assert info["steps_to_goal"] == (first if t >= first else 0)
            assert info["episode_success"] is (t >= first)
            assert terminated is (t == 4)


@pytest.mark.parametrize("env_id", QUESTION_IDS)
def test_several_tries_in_the_vector_env_report_the_first_success(env_id):
    envs = gym.make_vec(
        env_id, num_envs=3, vectorization_mode="vector_entry_point", episode_length=3
    )
    envs.reset(seed=0)
    n = envs.single_action_space.n
    plan = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 1]])  # 1: the right answer this try
    for t in range(3):
        answers = envs.call("oracle")
        actions = np.where(plan[:, t] == 1, answers, (answers + 1) % n)
        _, rewards, terminated, _, infos = envs.step(actions)
        assert rewards.tolist() == plan[:, t].tolist()
    assert terminated.all()
    assert infos["final_info"]["steps_to_goal"].tolist() == [3, 1, 2]
    assert infos["final_info"]["episode_success"].all()
