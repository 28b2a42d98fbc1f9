"""Curriculum: the manager's rules and state, the wrappers over single, vector and SB3 envs, and
the difficulty tables in docs/curriculum.md.

Tried as a user would: the oracle policy (``env.unwrapped.oracle()`` / ``envs.call("oracle")``)
climbs to the top level of every task; a random policy stays at level 0; a policy that gets
worse is demoted when demotion is on. Everything is seeded.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers.vector import ClipReward, RecordEpisodeStatistics
from hypothesis import given, settings
from hypothesis import strategies as st

import wmil_envs
from wmil_envs.curriculum import CurriculumManager
from wmil_envs.difficulty import difficulty_configs, difficulty_settings
from wmil_envs.difficulty_tables import difficulty_table_markdown, render_doc_section
from wmil_envs.tasks import TASKS, SequenceNext
from wmil_envs.wrappers import CurriculumWrapper, SB3VecEnvCurriculum, VectorCurriculumWrapper

ENV_IDS = sorted(wmil_envs.ENV_IDS)
DOC = Path(__file__).resolve().parents[1] / "docs" / "curriculum.md"
NUM_ACTIONS = {  # large enough for every level of each task
    "WMIL/PatternEcho-v0": 16,
    "WMIL/SequenceNext-v0": 16,
    "WMIL/Conditional-v0": 16,
    "WMIL/NumericRelation-v0": 2,
    "WMIL/Counting-v0": 100,
    "WMIL/NumberWalk-v0": 6,
    "WMIL/ObjectEdit-v0": 6,
}
VECTOR_MODES = ["native", "sync", "sync_same_step"]


def top_level(env_id: str) -> int:
    return max(TASKS[wmil_envs.TASK_OF_ID[env_id]].levels)


def episode_steps(env_id: str, level: int) -> int:
    """Steps of an episode at ``level`` by default: one for a question, a world's horizon."""
    return TASKS[wmil_envs.TASK_OF_ID[env_id]].horizon(level) or 1


def make_vec(env_id: str, mode: str, num_envs: int = 8, **kwargs):
    kwargs.setdefault("num_actions", NUM_ACTIONS[env_id])
    if mode == "native":
        return gym.make_vec(env_id, num_envs=num_envs, **kwargs)
    vector_kwargs = {}
    if mode == "sync_same_step":
        vector_kwargs["autoreset_mode"] = AutoresetMode.SAME_STEP
    return gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode=mode.split("_")[0],
        vector_kwargs=vector_kwargs,
        **kwargs,
    )


# --- policies: (env, rng, t) -> action(s) ---
def oracle(env, rng, t):
    return env.unwrapped.oracle()


def random_single(env, rng, t):
    return int(rng.integers(env.action_space.n))


def vec_oracle(envs, rng, t):
    return np.asarray(envs.call("oracle"), dtype=np.int64)


def vec_random(envs, rng, t):
    n = envs.single_action_space.n
    return rng.integers(0, n, size=envs.num_envs)


def getting_worse(good, bad, switch):
    """The good policy for ``switch`` steps, then the bad one."""
    return lambda env, rng, t: (good if t < switch else bad)(env, rng, t)


def run_single(env, policy, steps, seed=0):
    """Step a single env with autoreset by hand; return the levels seen in info."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    levels = []
    for t in range(steps):
        _, _, terminated, truncated, info = env.step(policy(env, rng, t))
        levels.append(info["curriculum_level"])
        if terminated or truncated:
            env.reset()
    return levels


def run_vec(envs, policy, steps, seed=0):
    rng = np.random.default_rng(seed)
    envs.reset(seed=seed)
    levels = []
    for t in range(steps):
        *_, infos = envs.step(policy(envs, rng, t))
        levels.append(int(infos["curriculum_level"][0]))
    return levels


# --- the manager's rules ---
def test_promotes_on_a_full_window_at_the_threshold():
    manager = CurriculumManager("pattern_echo", window_size=10, mastery_threshold=0.8)
    assert manager.schedule == [0, 1, 2] and manager.level == 0
    assert not manager.update_many([True] * 9)  # window not full yet
    assert manager.update(True)
    assert manager.level == 1 and manager.window == ()
    assert not manager.update_many([True] * 7 + [False] * 2)
    assert manager.update(True)  # exactly 0.8 is mastery
    assert manager.level == 2 and manager.at_max
    assert not manager.update_many([True] * 30)  # nothing above the maximum
    assert manager.level == 2 and manager.success_rate == 1.0


def test_below_threshold_stays_and_the_window_slides():
    manager = CurriculumManager("pattern_echo", window_size=5)
    manager.update_many([False] * 5 + [True] * 3)
    assert manager.level == 0 and manager.window == (False, False, True, True, True)
    assert manager.update(True)  # last 5: F T T T T = 0.8


def test_explicit_schedule_and_max_level():
    manager = CurriculumManager("sequence_next", schedule=[0, 2, 3], window_size=1)
    assert [manager.level] + [manager.update(True) and manager.level for _ in range(3)] == [
        0,
        2,
        3,
        False,
    ]
    assert CurriculumManager("sequence_next", max_level=2).schedule == [0, 1, 2]
    assert CurriculumManager("sequence_next", schedule=[0, 2, 3], max_level=2).schedule == [0, 2]
    assert CurriculumManager("WMIL/Counting-v0", start_level=1).level == 1


def test_default_max_level_is_what_the_envs_num_actions_allows():
    assert CurriculumManager(SequenceNext(num_actions=8)).schedule == [0, 1]
    assert CurriculumManager(SequenceNext(num_actions=16)).schedule == [0, 1, 2, 3, 4]


def test_outcomes_from_another_level_are_ignored():
    manager = CurriculumManager("pattern_echo", window_size=2)
    manager.update_many([True, True])
    assert manager.level == 1
    assert not manager.update_many([True, True, True], episode_levels=[0, 0, 0])
    assert manager.window == () and manager.ignored_episodes == 3
    assert manager.update_many([True, True], episode_levels=[1, 1])


def test_min_episodes_per_level():
    manager = CurriculumManager("pattern_echo", window_size=3, min_episodes=5)
    manager.update_many([True] * 4)
    assert manager.level == 0
    assert manager.update(True)


def test_demotion_when_success_falls_well_below():
    manager = CurriculumManager(
        "pattern_echo", window_size=4, mastery_threshold=0.75, demotion_threshold=0.3
    )
    manager.update_many([True] * 8)
    assert manager.level == 2
    manager.update_many([True, False, False, False])  # 0.25 < 0.3
    assert manager.level == 1
    assert [h["reason"] for h in manager.history] == ["promoted", "promoted", "demoted"]
    manager.update_many([False] * 8)
    assert manager.level == 0
    manager.update_many([False] * 8)  # nothing below the first level
    assert manager.level == 0
    off = CurriculumManager("pattern_echo", window_size=4, mastery_threshold=0.75)
    off.update_many([True] * 4 + [False] * 20)
    assert off.level == 1  # demotion is off by default


def test_history_records_the_env_step_of_each_change():
    manager = CurriculumManager("pattern_echo", window_size=2)
    for _ in range(3):
        manager.advance(5)
        manager.update(True)
    manager.set_level(0)
    assert manager.history == [
        {
            "step": 10,
            "episode": 2,
            "from_level": 0,
            "to_level": 1,
            "reason": "promoted",
            "success_rate": 1.0,
        },
        {
            "step": 15,
            "episode": 3,
            "from_level": 1,
            "to_level": 0,
            "reason": "set",
            "success_rate": 1.0,
        },
    ]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"mastery_threshold": 0.0}, ValueError, r"mastery_threshold=0.0 .*\(0, 1\]"),
        ({"mastery_threshold": 1.2}, ValueError, r"mastery_threshold=1.2 .*\(0, 1\]"),
        ({"mastery_threshold": math.nan}, ValueError, r"mastery_threshold=nan"),
        ({"mastery_threshold": "high"}, TypeError, r"mastery_threshold must be a number"),
        ({"window_size": 0}, ValueError, r"window_size=0 must be >= 1"),
        ({"window_size": 2.5}, TypeError, r"window_size must be an integer"),
        ({"min_episodes": -1}, ValueError, r"min_episodes=-1 must be >= 0"),
        ({"max_level": 3}, ValueError, r"max_level=3 is not a level of pattern_echo.*0, 1, 2"),
        ({"schedule": [0, 5]}, ValueError, r"schedule\[1\]=5 is not a level of pattern_echo"),
        ({"schedule": []}, ValueError, r"at least one level"),
        ({"schedule": [0, 1, 0]}, ValueError, r"names a level twice"),
        ({"schedule": [0, 2], "max_level": 1}, ValueError, r"max_level=1 is not in the sched"),
        ({"start_level": 1, "schedule": [0, 2]}, ValueError, r"start_level=1 is not in the sc"),
        ({"demotion_threshold": 0.8}, ValueError, r"demotion_threshold=0.8 .*\(0, mastery_t"),
        ({"demotion_threshold": 0.0}, ValueError, r"demotion_threshold=0.0"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        CurriculumManager("pattern_echo", **kwargs)


def test_unknown_task_and_levels_the_env_cannot_hold():
    with pytest.raises(ValueError, match=r"unknown task 'chess'.*pattern_echo"):
        CurriculumManager("chess")
    with pytest.raises(ValueError, match=r"max_level=3 cannot be used here.*num_actions >= 13"):
        CurriculumManager(SequenceNext(num_actions=8), max_level=3)
    env = gym.make("WMIL/SequenceNext-v0", num_actions=8)
    with pytest.raises(ValueError, match=r"schedule\[1\]=2 cannot be used.*num_actions=8"):
        CurriculumWrapper(env, schedule=[0, 2])
    with pytest.raises(ValueError, match=r"num_actions >= 10; got num_actions=8"):
        CurriculumWrapper(env, manager=CurriculumManager("sequence_next", schedule=[0, 2]))
    with pytest.raises(ValueError, match=r"an episode outcome must be a bool"):
        CurriculumManager("pattern_echo").update(0.7)


# --- state ---
def test_state_dict_is_plain_data_and_loads_with_torch_weights_only(tmp_path):
    torch = pytest.importorskip("torch")
    manager = CurriculumManager("conditional", window_size=3, demotion_threshold=0.2)
    manager.advance(7)
    manager.update_many([True, True, True, False])
    state = manager.state_dict()
    assert json.loads(json.dumps(state)) == state
    torch.save({"curriculum": state}, tmp_path / "ck.pt")
    loaded = torch.load(tmp_path / "ck.pt", weights_only=True)["curriculum"]
    assert loaded == state
    again = CurriculumManager("conditional", window_size=3, demotion_threshold=0.2)
    again.load_state_dict(loaded)
    assert again.state_dict() == state and again.level == 1 and again.window == (False,)


def test_load_state_dict_rejects_other_settings_and_corrupt_states():
    state = CurriculumManager("pattern_echo", window_size=3).state_dict()
    with pytest.raises(ValueError, match=r"other settings \(window_size: saved 3, here 100\)"):
        CurriculumManager("pattern_echo").load_state_dict(state)
    assert CurriculumManager.from_state_dict(state, "pattern_echo").window_size == 3
    with pytest.raises(ValueError, match=r"not a curriculum state"):
        CurriculumManager("pattern_echo").load_state_dict({"level": 1})
    broken = dict(state, stage=7)
    with pytest.raises(ValueError, match=r"corrupt curriculum state.*stage=7"):
        CurriculumManager("pattern_echo", window_size=3).load_state_dict(broken)
    broken = dict(state, window=[1, 1, 1, 1])
    with pytest.raises(ValueError, match=r"corrupt curriculum state.*window holds 4"):
        CurriculumManager("pattern_echo", window_size=3).load_state_dict(broken)


@settings(derandomize=True, max_examples=60, deadline=None, database=None)
@given(
    outcomes=st.lists(st.booleans(), max_size=80),
    split=st.integers(0, 80),
    window=st.integers(1, 6),
    demote=st.booleans(),
)
def test_round_trip_continues_identically(outcomes, split, window, demote):
    kwargs = {"window_size": window, "demotion_threshold": 0.4 if demote else None}
    whole = CurriculumManager("sequence_next", **kwargs)
    first = CurriculumManager("sequence_next", **kwargs)
    split = min(split, len(outcomes))
    for manager, part in ((whole, outcomes), (first, outcomes[:split])):
        for success in part:
            manager.advance(3)
            manager.update(success)
    resumed = CurriculumManager("sequence_next", **kwargs)
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    for success in outcomes[split:]:
        resumed.advance(3)
        resumed.update(success)
    assert resumed.state_dict() == whole.state_dict()
    assert resumed.level in resumed.schedule
    steps = [h["step"] for h in whole.history]
    assert steps == sorted(steps) and all(s % 3 == 0 for s in steps)


def test_wrapper_round_trip_continues_identically():
    policy = getting_worse(oracle, random_single, 150)
    kwargs = {"window_size": 20, "demotion_threshold": 0.3}

    def wrapped(state=None, env=None):
        env = env or gym.make("WMIL/PatternEcho-v0", num_actions=16)
        wrapper = CurriculumWrapper(env, **kwargs)
        if state is not None:
            wrapper.load_state_dict(state)
        return wrapper

    whole = wrapped()
    levels = run_single(whole, policy, 300)

    first = wrapped()
    first_levels = run_single(first, policy, 120)
    state = json.loads(json.dumps(first.state_dict()))
    resumed = wrapped(state, first.env)  # the same underlying env, its generator included
    rng = np.random.default_rng(0)  # the policy's generator: unused before step 150
    later = []
    for t in range(120, 300):
        _, _, terminated, _, info = resumed.step(policy(resumed, rng, t))
        later.append(info["curriculum_level"])
        if terminated:
            resumed.reset()
    assert first_levels + later == levels
    assert resumed.state_dict() == whole.state_dict()
    assert [h["to_level"] for h in whole.manager.history] == [1, 2, 1, 0]


@pytest.mark.parametrize("mode", ["native", "sync"])
def test_vector_load_state_dict_sets_the_level_of_new_episodes(mode):
    trained = CurriculumManager("pattern_echo", window_size=4)
    trained.update_many([True] * 8)
    envs = VectorCurriculumWrapper(make_vec("WMIL/PatternEcho-v0", mode), window_size=4)
    envs.load_state_dict(trained.state_dict())
    _, infos = envs.reset(seed=0)
    assert list(infos["difficulty"]) == [2] * 8 and list(infos["curriculum_level"]) == [2] * 8


# --- the single-env wrapper ---
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_single_oracle_climbs_to_the_top_level(env_id):
    env = CurriculumWrapper(gym.make(env_id, num_actions=NUM_ACTIONS[env_id]))
    top = top_level(env_id)
    # a window of 100 episodes per level, each of its level's length
    promotions = np.cumsum([100 * episode_steps(env_id, k) for k in range(top)]).tolist()
    levels = run_single(env, oracle, promotions[-1] + 5 * episode_steps(env_id, top))
    assert env.curriculum_level == top == levels[-1]
    assert env.get_wrapper_attr("difficulty") == top  # the env's knob follows
    assert [h["step"] for h in env.manager.history] == promotions
    _, info = env.reset()
    _, _, _, _, info = env.step(env.unwrapped.oracle())
    assert info["difficulty"] == top  # new episodes are played at the new level


def test_single_random_policy_stays_at_level_0():
    env = CurriculumWrapper(gym.make("WMIL/PatternEcho-v0", num_actions=16))
    levels = run_single(env, random_single, 1000)
    assert set(levels) == {0} and env.manager.history == []
    assert env.manager.success_rate < 0.2


def test_single_policy_that_gets_worse_is_demoted():
    env = CurriculumWrapper(
        gym.make("WMIL/PatternEcho-v0", num_actions=16), window_size=50, demotion_threshold=0.3
    )
    levels = run_single(env, getting_worse(oracle, random_single, 120), 400)
    assert max(levels) == 2 and levels[-1] == 0
    assert [h["reason"] for h in env.manager.history] == [
        "promoted",
        "promoted",
        "demoted",
        "demoted",
    ]


def test_single_wrapper_with_longer_episodes():
    env = CurriculumWrapper(
        gym.make("WMIL/Conditional-v0", num_actions=16, episode_length=3), window_size=10
    )
    run_single(env, oracle, 3 * 10 * 3 + 3)
    assert env.curriculum_level == 3
    assert [h["step"] for h in env.manager.history] == [30, 60, 90]


def test_single_wrapper_names_a_missing_outcome_key():
    env = CurriculumWrapper(gym.make("WMIL/PatternEcho-v0", num_actions=16), success_key="won")
    env.reset(seed=0)
    with pytest.raises(KeyError, match="the episode ended but its info has no 'won'"):
        env.step(0)  # the default episode is one step long


# --- the vector wrapper ---
@pytest.mark.parametrize("mode", VECTOR_MODES)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_oracle_climbs_to_the_top_level(env_id, mode):
    envs = VectorCurriculumWrapper(make_vec(env_id, mode), window_size=40)
    top = top_level(env_id)
    per_level = 40 // 8 + 1 + (mode == "sync")  # one stale batch; NEXT_STEP's reset steps
    # sync (NEXT_STEP) spends one more step per episode on its reset
    steps = sum(per_level * (episode_steps(env_id, k) + (mode == "sync")) for k in range(top + 1))
    levels = run_vec(envs, vec_oracle, steps)
    assert envs.curriculum_level == top == levels[-1]
    assert envs.get_attr("difficulty") == (top,) * 8
    steps = [h["step"] for h in envs.manager.history]
    assert len(steps) == top and all(s % 8 == 0 for s in steps)
    envs.close()


@pytest.mark.parametrize("mode", VECTOR_MODES)
def test_vector_random_policy_stays_at_level_0(mode):
    envs = VectorCurriculumWrapper(make_vec("WMIL/PatternEcho-v0", mode))
    levels = run_vec(envs, vec_random, 150)
    assert set(levels) == {0} and envs.manager.episodes >= 600
    assert envs.manager.success_rate < 0.2


@pytest.mark.parametrize("mode", VECTOR_MODES)
def test_vector_policy_that_gets_worse_is_demoted(mode):
    envs = VectorCurriculumWrapper(
        make_vec("WMIL/PatternEcho-v0", mode), window_size=40, demotion_threshold=0.3
    )
    levels = run_vec(envs, getting_worse(vec_oracle, vec_random, 40), 120)
    assert max(levels) == 2 and levels[-1] == 0
    reasons = [h["reason"] for h in envs.manager.history]
    assert reasons == ["promoted", "promoted", "demoted", "demoted"]


def test_vector_stale_episodes_do_not_count_for_the_new_level():
    """SAME_STEP: the batch reset in the step that promotes started at the old level."""
    envs = VectorCurriculumWrapper(make_vec("WMIL/PatternEcho-v0", "native"), window_size=8)
    run_vec(envs, vec_oracle, 2)
    assert envs.curriculum_level == 1 and envs.manager.ignored_episodes == 8
    assert envs.manager.window == ()


def test_vector_wrapper_under_and_over_other_vector_wrappers():
    inner = RecordEpisodeStatistics(make_vec("WMIL/SequenceNext-v0", "native"))
    curriculum = VectorCurriculumWrapper(inner, window_size=8)
    envs = ClipReward(curriculum, 0.0, 1.0)
    envs.reset(seed=0)
    for _ in range(12):  # the wrapper passes call / get_attr through to the vector env
        *_, infos = envs.step(np.asarray(curriculum.call("oracle")))
    assert curriculum.curriculum_level == 4 and "episode" in infos
    assert curriculum.get_attr("difficulty") == (4,) * 8


def test_vector_wrapper_over_async():
    envs = VectorCurriculumWrapper(
        make_vec("WMIL/PatternEcho-v0", "async", num_envs=2), window_size=4
    )
    try:
        levels = run_vec(envs, vec_oracle, 12)
        assert levels[-1] == 2 and envs.get_attr("difficulty") == (2, 2)
    finally:
        envs.close()


# --- Stable-Baselines3 ---
def sb3_venv(env_id, manager, n_envs=4):
    """SB3's usual constructor, each env in a CurriculumWrapper sharing one manager."""
    from stable_baselines3.common.env_util import make_vec_env

    return make_vec_env(
        env_id,
        n_envs=n_envs,
        seed=0,
        # SB3 asks for render_mode="rgb_array" unless told; WMIL envs render "ansi" only
        env_kwargs={"num_actions": NUM_ACTIONS[env_id], "render_mode": None},
        wrapper_class=CurriculumWrapper,
        wrapper_kwargs={"manager": manager},
    )


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_oracle_climbs_to_the_top_level(env_id):
    pytest.importorskip("stable_baselines3")
    manager = CurriculumManager(wmil_envs.TASK_OF_ID[env_id], window_size=20)
    venv = sb3_venv(env_id, manager)
    venv.reset()
    top = top_level(env_id)
    steps = sum(8 * episode_steps(env_id, k) for k in range(top)) + 1
    for _ in range(steps):
        _, _, dones, infos = venv.step(np.asarray(venv.env_method("oracle")))
    assert manager.level == top and infos[0]["curriculum_level"] == top
    assert venv.env_method("get_wrapper_attr", "difficulty") == [top] * 4
    assert manager.env_steps == 4 * steps  # each wrapper counts its own steps


def test_sb3_policy_that_gets_worse_is_demoted_and_random_stays_at_0():
    pytest.importorskip("stable_baselines3")
    manager = CurriculumManager("conditional", window_size=20, demotion_threshold=0.3)
    venv = sb3_venv("WMIL/Conditional-v0", manager)
    venv.reset()
    for _ in range(30):  # oracle: climbs to the top
        venv.step(np.asarray(venv.env_method("oracle")))
    assert manager.level == 3
    rng = np.random.default_rng(0)
    for _ in range(60):  # random: demoted to the bottom, and stays there
        venv.step(rng.integers(0, 16, size=4))
    assert manager.level == 0
    assert [h["reason"] for h in manager.history] == ["promoted"] * 3 + ["demoted"] * 3
    for _ in range(100):
        venv.step(rng.integers(0, 16, size=4))
    assert manager.level == 0 and len(manager.history) == 6


def test_sb3_env_checker_accepts_the_wrapped_env(no_warnings):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_checker import check_env

    check_env(CurriculumWrapper(gym.make("WMIL/NumericRelation-v0")))


def test_sb3_random_stays_at_level_0_and_training_loop_runs():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(
        "WMIL/PatternEcho-v0", n_envs=2, seed=0, env_kwargs={"num_actions": 16, "render_mode": None}
    )
    curriculum = SB3VecEnvCurriculum(venv, CurriculumManager("pattern_echo", window_size=20))
    seen = []

    class Curriculum(BaseCallback):
        def _on_step(self) -> bool:
            curriculum.on_step(self.locals["dones"], self.locals["infos"])
            seen.append(curriculum.manager.level)
            return True

    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(64, callback=Curriculum())
    assert len(seen) == 32 and curriculum.manager.env_steps == 64
    assert curriculum.manager.level == 0  # an untrained policy is near random

    curriculum.manager.set_level(2)  # the level reaches the envs through env_method
    curriculum.on_step([False, False], [{}, {}])
    assert venv.env_method("get_wrapper_attr", "difficulty") == [2, 2]
    for _ in range(25):
        _, _, dones, infos = venv.step(np.asarray(venv.env_method("oracle")))
        curriculum.on_step(dones, infos)
    assert curriculum.manager.level == 2 and infos[0]["difficulty"] == 2


# --- difficulty settings as data, and the doc ---
def test_difficulty_configs_are_the_tasks_levels_as_plain_data():
    configs = difficulty_configs()
    assert set(configs) == set(TASKS)
    assert json.loads(json.dumps(configs)) == {
        name: {str(k): v for k, v in levels.items()} for name, levels in configs.items()
    }
    assert configs["sequence_next"][3]["steps"] == [-3, -2, -1, 1, 2, 3]
    assert difficulty_settings("WMIL/PatternEcho-v0") == {
        0: {"target_fraction": 0.25},
        1: {"target_fraction": 0.5},
        2: {"target_fraction": 1.0},
    }
    assert "| 2 | shape, colour, size | 16 | 16 |" in difficulty_table_markdown("conditional")


def test_doc_tables_match_the_code():
    text = DOC.read_text(encoding="utf-8")
    assert render_doc_section(text) == text, (
        "docs/curriculum.md is out of date: "
        "run `python -m wmil_envs.difficulty_tables docs/curriculum.md`"
    )
    for name in TASKS:
        assert f"### `{name}`" in text
