"""Property-based tests: over seeds, difficulties, horizons and action sequences, observations stay
in the observation space, rewards in [0, 1], and every episode lasts exactly its horizon; the
same for the native vector env, with mixed levels per env.

A question's reward is 1.0 exactly for its answer and the question stays; a world's reward is
1.0 exactly on the step that reaches the goal, the object moves by the world's ``move`` rule
(stated here once more, apart from the env's tables) and is held once the goal is reached."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import wmil_envs
from wmil_envs import vocab
from wmil_envs.parent import DeterministicParent
from wmil_envs.tasks import TASKS

ENV_IDS = sorted(wmil_envs.ENV_IDS)
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True)
HELD = vocab.token_id("<held>")


def world_step(task, fields: dict, actions: np.ndarray):
    """What a world's step must do, from its ``move`` rule alone: (reward, question tokens after
    the step, feedback token) of each instance of ``fields``."""
    objects = {name: np.asarray(fields[name]) for name in task.object_fields}
    goal = {name: np.asarray(fields["target_" + name]) for name in task.object_fields}
    held = np.all([objects[name] == goal[name] for name in task.object_fields], axis=0)
    moved = task.move(objects, actions)
    after = {name: np.where(held, objects[name], moved[name]) for name in task.object_fields}
    reached = np.all([after[name] == goal[name] for name in task.object_fields], axis=0)
    reward = (reached & ~held).astype(float)
    question = np.concatenate([task.object_tokens(after), task.object_tokens(goal)], axis=1)
    feedback = np.where(held, HELD, np.where(reached, vocab.CORRECT, vocab.WRONG))
    return reward, question, feedback


class GenericParent(DeterministicParent):
    """Forces the single env's Parent-protocol path."""


def level_strategy(env_id: str) -> st.SearchStrategy[int]:
    return st.sampled_from(sorted(TASKS[wmil_envs.TASK_OF_ID[env_id]].levels))


@st.composite
def single_cases(draw):
    env_id = draw(st.sampled_from(ENV_IDS))
    task = TASKS[wmil_envs.TASK_OF_ID[env_id]]
    level = draw(level_strategy(env_id))
    num_actions = draw(
        st.sampled_from(sorted({task().num_actions, max(task(128).min_actions(level), 2), 128}))
    )
    horizon = draw(st.integers(1, 4))
    episodes = draw(st.integers(1, 3))
    actions = draw(
        st.lists(
            st.integers(0, num_actions - 1),
            min_size=horizon * episodes,
            max_size=horizon * episodes,
        )
    )
    seed = draw(st.integers(0, 2**32 - 1))
    generic = draw(st.booleans())
    return env_id, level, num_actions, horizon, episodes, actions, seed, generic


@PROPERTY
@given(single_cases())
def test_single_env_properties(case):
    env_id, level, num_actions, horizon, episodes, actions, seed, generic = case
    env = gym.make(
        env_id,
        num_actions=num_actions,
        difficulty=level,
        episode_length=horizon,
        parent=GenericParent() if generic else None,
    ).unwrapped
    actions = iter(actions)
    for episode in range(episodes):
        obs, info = env.reset(seed=seed) if episode == 0 else env.reset()
        assert obs in env.observation_space
        assert info["difficulty"] == level and info["step"] == 0
        question = obs[:-2].copy()
        answer = env.oracle()
        assert 0 <= answer < num_actions
        steps, terminated, hits, first_hit = 0, False, 0, 0
        while not terminated:
            action = next(actions)
            before = {k: np.asarray(v)[None] for k, v in env.state.fields.items()}
            obs, reward, terminated, truncated, info = env.step(action)
            steps += 1
            assert obs in env.observation_space
            assert type(reward) is float and 0.0 <= reward <= 1.0
            assert truncated is False
            assert obs[-2] == vocab.SYMBOL + action
            if env.task.has_dynamics:
                rule_reward, rule_question, rule_feedback = world_step(
                    env.task, before, np.array([action])
                )
                assert reward == rule_reward[0]
                assert obs[1:-2].tolist() == rule_question[0].tolist()
                assert obs[-1] == rule_feedback[0]
                assert 0 <= env.oracle() < num_actions
            else:
                assert reward == (1.0 if action == answer else 0.0)
                assert (obs[:-2] == question).all()  # the question stays
                assert obs[-1] == (vocab.CORRECT if reward == 1.0 else vocab.WRONG)
                assert env.oracle() == answer
            hits += reward == 1.0
            first_hit = first_hit or (steps if reward == 1.0 else 0)
            assert info["step"] == steps and info["difficulty"] == level
            assert info["episode_success"] == (hits > 0)
            assert info["steps_to_goal"] == first_hit  # 0 until the first success
        assert steps == horizon
        if env.task.has_dynamics:
            assert hits <= 1  # a reached goal is held: no second reward


@st.composite
def vector_cases(draw):
    env_id = draw(st.sampled_from(ENV_IDS))
    num_envs = draw(st.integers(1, 8))
    per_env = draw(st.booleans())
    if per_env:
        difficulty = draw(st.lists(level_strategy(env_id), min_size=num_envs, max_size=num_envs))
    else:
        difficulty = draw(level_strategy(env_id))
    horizon = draw(st.integers(1, 4))
    steps = draw(st.integers(1, 3 * horizon))
    action_seed = draw(st.integers(0, 2**16))
    seed = draw(st.integers(0, 2**32 - 1))
    return env_id, num_envs, difficulty, horizon, steps, action_seed, seed


@PROPERTY
@given(vector_cases())
def test_native_vector_env_properties(case):
    env_id, num_envs, difficulty, horizon, steps, action_seed, seed = case
    envs = gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        difficulty=difficulty,
        episode_length=horizon,
    )
    levels = np.broadcast_to(np.asarray(difficulty), (num_envs,)).tolist()
    obs, info = envs.reset(seed=seed)
    assert obs in envs.observation_space
    assert info["difficulty"].tolist() == levels
    rng = np.random.default_rng(action_seed)
    n = envs.single_action_space.n
    task = envs.unwrapped.task
    for t in range(1, steps + 1):
        answers = envs.call("oracle")
        assert ((answers >= 0) & (answers < n)).all()
        actions = np.where(rng.random(num_envs) < 0.5, answers, rng.integers(0, n, num_envs))
        before = envs.unwrapped.states.fields
        obs, rewards, terminated, truncated, infos = envs.step(actions)
        assert obs in envs.observation_space
        assert ((rewards >= 0.0) & (rewards <= 1.0)).all()
        if task.has_dynamics:
            rule_reward, rule_question, rule_feedback = world_step(task, before, actions)
            shown = infos["final_obs"] if terminated.any() else obs
            assert (rewards == rule_reward).all()
            assert (shown[:, 1:-2] == rule_question).all()
            assert (shown[:, -1] == rule_feedback).all()
        else:
            assert (rewards == (actions == answers)).all()
        assert terminated.tolist() == [t % horizon == 0] * num_envs  # exactly at the horizon
        assert not truncated.any()
        assert infos["difficulty"].tolist() == levels
        if terminated.any():
            final = infos["final_obs"]
            assert all(row in envs.single_observation_space for row in final)
            assert (final[:, -2] == vocab.SYMBOL + actions).all()
            assert infos["final_info"]["step"].tolist() == [horizon] * num_envs
            assert infos["step"].tolist() == [0] * num_envs
            assert (obs[:, -2:] == vocab.NONE).all()
        else:
            assert infos["step"].tolist() == [t % horizon] * num_envs
            assert (obs[:, -2] == vocab.SYMBOL + actions).all()
