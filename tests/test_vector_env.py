"""The native vector env: the same rules and the same instance distribution as the single env,
oracle and random baselines on large seeded batches, the difficulty knob and bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import wmil_envs
from wmil_envs import vocab
from wmil_envs.parent import DeterministicParent
from wmil_envs.state import StateBatch, observation
from wmil_envs.tasks import TASKS
from wmil_envs.tasks.numeric_relation import near_miss

ENV_IDS = sorted(wmil_envs.ENV_IDS)


def task_class(env_id: str):
    return TASKS[wmil_envs.TASK_OF_ID[env_id]]


def levels(env_id: str) -> list[int]:
    return sorted(task_class(env_id).levels)


ID_LEVELS = [(env_id, level) for env_id in ENV_IDS for level in levels(env_id)]
QUESTION_ID_LEVELS = [(e, lv) for e, lv in ID_LEVELS if not task_class(e).has_dynamics]
"""The one-question tasks; the worlds' random-policy success is measured in test_worlds.py."""


def native(env_id: str, num_envs: int, **kwargs):
    return gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
    )


class GenericParent(DeterministicParent):
    """The rules, but not ``DeterministicParent`` itself: the single env's Parent-protocol path."""


class ReplayParent(DeterministicParent):
    """Generates given instances in order (cycling); records the levels it was asked for."""

    def __init__(self, fields: dict[str, np.ndarray]):
        self.fields = {name: np.asarray(values) for name, values in fields.items()}
        self.size = len(next(iter(self.fields.values())))
        self.next = 0
        self.levels: list[int] = []

    def generate(self, task, rng, n, level):
        rows = (self.next + np.arange(n)) % self.size
        self.next += n
        self.levels.append(level)
        return StateBatch.new(task, {name: v[rows] for name, v in self.fields.items()})


def mixed_actions(rng, answers: np.ndarray, num_actions: int) -> np.ndarray:
    """Right about half the time, else a random action (sometimes right by chance too)."""
    random = rng.integers(0, num_actions, size=len(answers))
    return np.where(rng.random(len(answers)) < 0.5, answers, random).astype(np.int64)


# --- same rules -----------------------------------------------------------------------------

EPISODE_LENGTH = 3


@pytest.mark.parametrize("env_id, level", ID_LEVELS)
def test_vector_states_replayed_through_both_single_paths(env_id, level):
    """Instances from the vector env, stepped with the same actions by (1) the vector env,
    (2) the DeterministicParent directly and (3) a single env on the generic Parent path."""
    n = 48
    envs = native(env_id, n, difficulty=level, episode_length=EPISODE_LENGTH)
    obs, info = envs.reset(seed=level)
    states = envs.unwrapped.states
    assert info["difficulty"].tolist() == [level] * n
    rng = np.random.default_rng(level)
    actions = np.stack(
        [mixed_actions(rng, states.answer, envs.single_action_space.n) for _ in range(3)], 1
    )
    vector_obs, vector_rewards = [], []
    for t in range(EPISODE_LENGTH):
        step_obs, rewards, terminated, truncated, infos = envs.step(actions[:, t])
        if t == EPISODE_LENGTH - 1:
            assert terminated.all()
            step_obs = infos["final_obs"]
        vector_obs.append(step_obs)
        vector_rewards.append(rewards)

    # (2) the parent's rules on the whole batch
    parent, current = DeterministicParent(), states
    assert (current.to_tensor() == obs).all()
    for t in range(EPISODE_LENGTH):
        rewards = parent.reward(current, actions[:, t])
        current = parent.transition(current, actions[:, t], rewards)
        assert (rewards == vector_rewards[t]).all()
        assert (current.to_tensor() == vector_obs[t]).all()

    # (3) the single env, generic path, one episode per instance
    replay = ReplayParent(states.fields)
    single = gym.make(env_id, difficulty=level, episode_length=EPISODE_LENGTH, parent=replay)
    for i in range(n):
        single_obs, _ = single.reset(seed=0) if i == 0 else single.reset()
        assert single_obs.tolist() == obs[i].tolist()
        for t in range(EPISODE_LENGTH):
            step_obs, reward, terminated, _, info = single.step(int(actions[i, t]))
            assert reward == vector_rewards[t][i]
            assert step_obs.tolist() == vector_obs[t][i].tolist()
            assert info["success"] == (reward == 1.0)
    assert set(replay.levels) == {level}


@pytest.mark.parametrize("env_id, level", ID_LEVELS)
def test_scalar_single_env_replayed_through_the_vector_env(env_id, level):
    """Instances from the single env's scalar fast path, replayed through the vector env and
    through the single env's generic path: same rewards and observations for the same actions."""
    n = 48
    single = gym.make(env_id, difficulty=level, episode_length=EPISODE_LENGTH)
    assert type(single.unwrapped.parent) is DeterministicParent  # the scalar path
    rng = np.random.default_rng(100 + level)
    fields: dict[str, list] = {}
    reset_obs, step_obs, step_rewards, actions = [], [], [], []
    for i in range(n):
        obs, _ = single.reset(seed=level) if i == 0 else single.reset()
        state = single.unwrapped.state
        for name, value in state.fields.items():
            fields.setdefault(name, []).append(value)
        reset_obs.append(obs)
        episode = mixed_actions(rng, np.full(EPISODE_LENGTH, state.answer), single.action_space.n)
        actions.append(episode)
        out = [single.step(int(a)) for a in episode]
        step_obs.append([o[0] for o in out])
        step_rewards.append([o[1] for o in out])
    actions = np.array(actions)
    step_obs, step_rewards = np.array(step_obs), np.array(step_rewards)
    fields = {name: np.array(values) for name, values in fields.items()}

    envs = native(
        env_id,
        n,
        difficulty=level,
        episode_length=EPISODE_LENGTH,
        parent=ReplayParent(fields),
    )
    obs, _ = envs.reset(seed=0)
    assert obs.tolist() == np.array(reset_obs).tolist()
    for t in range(EPISODE_LENGTH):
        next_obs, rewards, terminated, _, infos = envs.step(actions[:, t])
        if terminated.any():
            next_obs = infos["final_obs"]
        assert rewards.tolist() == step_rewards[:, t].tolist()
        assert next_obs.tolist() == step_obs[:, t].tolist()

    generic = gym.make(
        env_id, difficulty=level, episode_length=EPISODE_LENGTH, parent=ReplayParent(fields)
    )
    for i in range(n):
        obs, _ = generic.reset(seed=0) if i == 0 else generic.reset()
        assert obs.tolist() == reset_obs[i].tolist()
        for t in range(EPISODE_LENGTH):
            o, r, *_ = generic.step(int(actions[i, t]))
            assert r == step_rewards[i, t] and o.tolist() == step_obs[i, t].tolist()


# --- same distribution ----------------------------------------------------------------------


def features(env_id: str, fields: dict[str, np.ndarray], answers: np.ndarray) -> dict:
    """Categorical features of a sample of instances: every field (numbers binned by tens),
    the answer and, for NumericRelation, the near-miss indicator per relation."""
    out = {}
    for name, values in fields.items():
        values = np.asarray(values, dtype=np.int64)
        out[name] = values // 10 if name in ("a", "b", "n") else values
    out["answer"] = answers // 10 if env_id == "WMIL/Counting-v0" else answers
    task = task_class(env_id)()
    if task.has_dynamics:  # a world's levels differ in how far apart start and goal are
        out["optimal_steps"] = task.optimal_steps(fields)
    if env_id == "WMIL/NumericRelation-v0":
        near = near_miss(fields["relation"], fields["a"], fields["b"])
        out["near_miss"] = 2 * fields["relation"] + near
        out["difference"] = np.clip(fields["a"] - fields["b"], -4, 4)
    return out


def chi_square_rejects(x: np.ndarray, y: np.ndarray, z: float = 4.5) -> tuple[bool, float]:
    """Two-sample chi-square homogeneity test; rejects at about p < 3e-6 (Wilson-Hilferty)."""
    categories = np.union1d(x, y)
    cx = np.array([(x == c).sum() for c in categories], dtype=float)
    cy = np.array([(y == c).sum() for c in categories], dtype=float)
    keep = cx + cy >= 10
    if keep.sum() < 2:
        return False, 0.0
    cx, cy = cx[keep], cy[keep]
    total = cx + cy
    ex, ey = total * cx.sum() / total.sum(), total * cy.sum() / total.sum()
    stat = (((cx - ex) ** 2) / ex).sum() + (((cy - ey) ** 2) / ey).sum()
    df = len(cx) - 1
    critical = df * (1 - 2 / (9 * df) + z * np.sqrt(2 / (9 * df))) ** 3
    return bool(stat > critical), stat / critical


SAMPLE = 3000


def single_sample(env_id: str, level: int, seed: int) -> tuple[dict, np.ndarray]:
    env = gym.make(env_id, difficulty=level)
    fields: dict[str, list] = {}
    answers = []
    for i in range(SAMPLE):
        env.reset(seed=seed) if i == 0 else env.reset()
        state = env.unwrapped.state
        for name, value in state.fields.items():
            fields.setdefault(name, []).append(int(value))
        answers.append(state.answer)
        assert env.unwrapped.oracle() == state.answer
    return {k: np.array(v) for k, v in fields.items()}, np.array(answers)


def vector_sample(env_id: str, level: int, seed: int) -> tuple[dict, np.ndarray]:
    envs = native(env_id, SAMPLE, difficulty=level)
    envs.reset(seed=seed)
    states = envs.unwrapped.states
    assert (envs.call("oracle") == states.answer).all()
    return dict(states.fields), states.answer


def same_pairs(task, level: int, other: int) -> bool:
    """Whether two levels of a world draw from the same (start, goal) pairs."""
    return sorted(map(tuple, task.pairs(level))) == sorted(map(tuple, task.pairs(other)))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_single_and_vector_envs_draw_the_same_distribution(env_id):
    samples = {
        level: (single_sample(env_id, level, 1), vector_sample(env_id, level, 2))
        for level in levels(env_id)
    }
    for level, (single, vector) in samples.items():
        fs, fv = features(env_id, *single), features(env_id, *vector)
        assert fs.keys() == fv.keys()
        for name in fs:
            rejects, ratio = chi_square_rejects(fs[name], fv[name])
            assert not rejects, (level, name, ratio)
    # the test has power: the vector env at the next level is told apart from the single env
    task = task_class(env_id)()
    for level in levels(env_id)[:-1]:
        if task.has_dynamics and same_pairs(task, level, level + 1):
            continue  # (ObjectEdit 2 -> 3: the same pairs; the level adds an action, flip)
        fs = features(env_id, *samples[level][0])
        fv = features(env_id, *samples[level + 1][1])
        assert any(chi_square_rejects(fs[name], fv[name])[0] for name in fs), level


# --- oracle and random baselines ------------------------------------------------------------


@pytest.mark.parametrize("env_id, level", ID_LEVELS)
def test_oracle_through_call_scores_one(env_id, level):
    task = task_class(env_id)()
    for num_actions in sorted({task.num_actions, max(task.min_actions(level), 2), 128}):
        if num_actions < task.min_actions(level):
            continue
        if task.has_dynamics:
            world_oracle_episodes(env_id, level, num_actions)
            continue
        envs = native(env_id, 256, num_actions=num_actions, difficulty=level, episode_length=2)
        envs.reset(seed=level)
        for _ in range(6):
            oracle = envs.call("oracle")
            assert oracle.dtype.kind == "i" and oracle.shape == (256,)
            _, rewards, _, _, infos = envs.step(oracle)
            assert (rewards == 1.0).all(), num_actions
            success = infos["final_info"]["success"] if "final_info" in infos else infos["success"]
            assert success.all()


def world_oracle_episodes(env_id: str, level: int, num_actions: int) -> None:
    """Two batches of a world's episodes played by the oracle: each reaches its goal on step
    ``optimal_steps`` (reward 1.0 then only), then holds it to the horizon; return 1."""
    envs = native(env_id, 256, num_actions=num_actions, difficulty=level)
    horizon = task_class(env_id).horizon(level)
    envs.reset(seed=level)
    for _ in range(2):
        optimal = envs.unwrapped.task.optimal_steps(envs.unwrapped.states.fields)
        returns = np.zeros(256)
        for t in range(1, horizon + 1):
            oracle = envs.call("oracle")
            assert oracle.dtype.kind == "i" and oracle.shape == (256,)
            _, rewards, terminated, _, infos = envs.step(oracle)
            assert (rewards == (optimal == t)).all(), num_actions
            returns += rewards
            info = infos["final_info"] if terminated.any() else infos
            assert (info["steps_to_goal"] == np.where(t >= optimal, optimal, 0)).all()
            assert (info["optimal_steps"] == optimal).all()
        assert terminated.all() and (returns == 1.0).all()


@pytest.mark.parametrize("env_id, level", QUESTION_ID_LEVELS)
def test_random_policy_scores_one_over_num_actions(env_id, level):
    n, steps = 4096, 6
    envs = native(env_id, n, difficulty=level, episode_length=3)
    envs.reset(seed=level)
    envs.action_space.seed(1000 + level)  # not the env seed: the streams would correlate
    total = 0.0
    for _ in range(steps):
        _, rewards, *_ = envs.step(envs.action_space.sample())
        total += rewards.sum()
    rate = total / (n * steps)
    expected = 1 / envs.single_action_space.n
    tolerance = 5 * np.sqrt(expected * (1 - expected) / (n * steps))
    assert abs(rate - expected) < tolerance, (rate, expected)


def test_random_policy_on_numeric_relation_is_about_one_half():
    envs = native("WMIL/NumericRelation-v0", 8192, difficulty=2)
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    rewards = np.concatenate([envs.step(rng.integers(0, 2, 8192))[1] for _ in range(4)])
    assert abs(rewards.mean() - 0.5) < 0.015
    # always answering "yes" is no better: answers are balanced
    always_yes = np.concatenate([envs.step(np.ones(8192, dtype=np.int64))[1] for _ in range(4)])
    assert abs(always_yes.mean() - 0.5) < 0.015


# --- the step contract, batched -------------------------------------------------------------


def test_native_step_types_and_fresh_arrays(env_id):
    envs = native(env_id, 5, episode_length=2)
    obs0, _ = envs.reset(seed=0)
    assert obs0.dtype == np.int64 and obs0.shape == envs.observation_space.shape
    previous = [obs0]
    for t in range(4):
        obs, rewards, terminated, truncated, infos = envs.step(np.zeros(5, dtype=np.int64))
        assert rewards.dtype == np.float64 and terminated.dtype == bool == truncated.dtype
        assert terminated.tolist() == [t % 2 == 1] * 5 and not truncated.any()
        assert all(not np.shares_memory(obs, old) for old in previous)
        previous.append(obs)
        for key, value in infos.items():
            if isinstance(value, np.ndarray):
                assert all(not np.shares_memory(value, old) for old in previous), key


def test_writing_into_a_returned_observation_leaves_the_env_alone(env_id):
    """Observations are the caller's to modify (the env keeps its own rows, from which a
    question's next observation is derived)."""
    envs = native(env_id, 3, episode_length=3)
    obs, _ = envs.reset(seed=0)
    for _ in range(4):
        obs[:] = -1
        obs, _, _, _, infos = envs.step(np.zeros(3, dtype=np.int64))
        states = envs.unwrapped.states
        rebuilt = observation(states.task, states.question, states.last_action, states.feedback)
        assert (obs == rebuilt).all()
        if "final_obs" in infos:
            infos["final_obs"][:] = -1


def test_native_final_obs_and_autoreset(env_id):
    if task_class(env_id).has_dynamics:
        world_final_obs_and_autoreset(env_id)
        return
    envs = native(env_id, 4, episode_length=2)
    obs, _ = envs.reset(seed=3)
    answers = envs.call("oracle")
    envs.step(answers)
    wrong = (answers + 1) % envs.single_action_space.n
    next_obs, rewards, terminated, _, infos = envs.step(wrong)
    assert terminated.all() and (rewards == 0.0).all()
    final = infos["final_obs"]
    assert (final[:, :-2] == obs[:, :-2]).all()  # the old question, with the last action shown
    assert (final[:, -2] == vocab.SYMBOL + wrong).all() and (final[:, -1] == vocab.WRONG).all()
    assert (next_obs[:, -2:] == vocab.NONE).all()  # new episodes, nothing done yet
    assert infos["final_info"]["episode_success"].all()  # right at the first step
    assert infos["final_info"]["step"].tolist() == [2] * 4
    assert infos["step"].tolist() == [0] * 4
    assert (envs.call("oracle") == envs.unwrapped.states.answer).all()


def world_final_obs_and_autoreset(env_id: str) -> None:
    """A world's last step: ``final_obs`` shows the state after the action (here the held
    goal), ``final_info`` the finished episode; the new episodes start fresh."""
    envs = native(env_id, 4)
    obs, _ = envs.reset(seed=3)
    horizon = int(envs.unwrapped.horizons[0])
    goal = slice(1 + envs.unwrapped.task.question_len // 2, -2)
    for _ in range(horizon - 1):  # the oracle reaches every goal before the last step
        envs.step(envs.call("oracle"))
    answers = envs.call("oracle")
    next_obs, rewards, terminated, _, infos = envs.step(answers)
    assert terminated.all() and (rewards == 0.0).all()  # held: no reward after the goal
    final = infos["final_obs"]
    assert (final[:, goal] == obs[:, goal]).all()  # the old goal...
    target = final[:, goal.start : -2]
    assert (final[:, 1 : goal.start] == target).all()  # ...reached and held
    assert (final[:, -2] == vocab.SYMBOL + answers).all()
    assert (final[:, -1] == vocab.token_id("<held>")).all()
    assert (next_obs[:, -2:] == vocab.NONE).all()  # new episodes, nothing done yet
    assert infos["final_info"]["episode_success"].all()
    assert infos["final_info"]["step"].tolist() == [horizon] * 4
    steps = infos["final_info"]["steps_to_goal"]
    assert (steps == infos["final_info"]["optimal_steps"]).all() and (steps >= 1).all()
    assert infos["step"].tolist() == [0] * 4
    assert (envs.call("oracle") == envs.unwrapped.states.answer).all()


def test_native_determinism_and_seed_lists(env_id):
    def trace(seed):
        envs = native(env_id, 6, episode_length=2)
        rng = np.random.default_rng(0)
        out = [envs.reset(seed=seed)[0].tolist()]
        for _ in range(7):
            actions = rng.integers(0, envs.single_action_space.n, size=6)
            obs, rewards, terminated, _, infos = envs.step(actions)
            out.append((obs.tolist(), rewards.tolist(), terminated.tolist()))
        return out

    assert trace(11) == trace(11)
    assert trace(11) == trace([11, 12, 13, 14, 15, 16])  # one generator drives the batch
    assert trace(11) != trace(12)


def test_native_render_ansi():
    envs = native("WMIL/NumericRelation-v0", 3, render_mode="ansi", episode_length=2)
    assert envs.render() is None  # nothing to show before reset
    envs.reset(seed=0)
    lines = envs.render()
    assert isinstance(lines, tuple) and len(lines) == 3
    states = envs.unwrapped.states
    for i, line in enumerate(lines):
        assert line == "Q: " + states[i].sentence() and line.endswith("?")
    envs.step(envs.call("oracle"))
    assert all(line.endswith("(correct)") for line in envs.render())


# --- difficulty -----------------------------------------------------------------------------


def test_set_attr_get_attr_and_call_reach_difficulty(env_id):
    top = max(levels(env_id))
    envs = native(env_id, 4, episode_length=1)
    envs.reset(seed=0)
    envs.set_attr("difficulty", top)
    assert envs.get_attr("difficulty") == (top,) * 4
    assert envs.call("difficulty") == (top,) * 4
    # the next autoreset starts episodes at the new level; the finished ones report the old
    _, _, _, _, infos = envs.step(np.zeros(4, dtype=np.int64))
    assert infos["final_info"]["difficulty"].tolist() == [0] * 4
    assert infos["difficulty"].tolist() == [top] * 4
    _, _, _, _, infos = envs.step(np.zeros(4, dtype=np.int64))
    assert infos["final_info"]["difficulty"].tolist() == [top] * 4
    envs.set_attr("difficulty", [0, top, 0, top])
    assert envs.reset()[1]["difficulty"].tolist() == [0, top, 0, top]
    _, info = envs.reset(options={"difficulty": 0})
    assert info["difficulty"].tolist() == [0] * 4 and envs.get_attr("difficulty") == (0,) * 4


def fits_level(env_id: str, task, fields: dict, level: int) -> bool:
    """Whether one instance could only come from ``level`` or below (per task)."""
    settings = task.levels[level]
    if env_id == "WMIL/PatternEcho-v0":
        return int(fields["target"]) < task.num_targets(level)
    if env_id == "WMIL/SequenceNext-v0":
        return int(fields["length"]) == settings["length"]
    if env_id == "WMIL/Conditional-v0":
        fixed = {"size": 0, "texture": 0}  # small, plain below the levels that vary them
        return all(
            name in settings["varying"] or int(fields[name]) == value
            for name, value in fixed.items()
        ) and ("colour" in settings["varying"] or int(fields["colour"]) != 0)
    if env_id == "WMIL/NumericRelation-v0":
        return max(int(fields["a"]), int(fields["b"])) <= settings["max_number"]
    if task.has_dynamics:  # a world: the (start, goal) pair is one of the level's or below
        one = {name: np.asarray(value)[None] for name, value in fields.items()}
        start, goal = (int(i[0]) for i in task.ids(one))
        return any(
            ((pairs[:, 0] == start) & (pairs[:, 1] == goal)).any()
            for pairs in (task.pairs(lv) for lv in range(level + 1))
        )
    return vocab.COUNT_KINDS[int(fields["kind"])] in settings["kinds"]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_per_env_levels_reach_their_own_env(env_id):
    """Mixed levels in one batch: each env's instances come from its own level."""
    top = max(levels(env_id))
    pattern = [0, top, 0, 0, top, top, 0, top]
    envs = native(env_id, 8, difficulty=pattern, episode_length=1)
    envs.reset(seed=0)
    task = envs.unwrapped.task
    beyond_level_0 = 0
    for _ in range(40):
        states = envs.unwrapped.states
        for i, level in enumerate(pattern):
            assert fits_level(env_id, task, states[i].fields, level), (i, states[i].fields)
            beyond_level_0 += not fits_level(env_id, task, states[i].fields, 0)
        _, _, _, _, infos = envs.step(envs.call("oracle"))
        assert infos["difficulty"].tolist() == pattern
        assert infos["final_info"]["difficulty"].tolist() == pattern
    assert beyond_level_0 > 0  # the top-level envs really draw from the top level


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "actions, pattern",
    [
        (np.array([0, 1, 2]), r"action 2 \(env 2\) is outside .*Discrete\(2\).*0\.\.1"),
        (np.array([0, -1, 0]), r"action -1 \(env 1\) is outside .*Discrete\(2\)"),
        (np.array([0.0, 1.0, 0.0]), r"integer array of shape \(3,\).*float64"),
        (np.array([0, 1]), r"shape \(3,\).*got shape \(2,\)"),
        (np.zeros((3, 1), dtype=np.int64), r"shape \(3,\).*got shape \(3, 1\)"),
        (1, r"shape \(3,\).*got shape \(\)"),
    ],
)
def test_bad_vector_actions_are_clear_errors(actions, pattern):
    envs = native("WMIL/NumericRelation-v0", 3)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=pattern):
        envs.step(actions)
    _, rewards, *_ = envs.step(envs.call("oracle"))  # still usable
    assert (rewards == 1.0).all()


def test_bad_vector_difficulty_is_a_clear_error(env_id):
    top = max(levels(env_id))
    bad = top + 1
    message = rf"difficulty={bad}\b.*0\.\.{top}"
    with pytest.raises(ValueError, match=message):
        native(env_id, 2, difficulty=bad)
    with pytest.raises(ValueError, match=message):
        native(env_id, 2, difficulty=[0, bad])
    envs = native(env_id, 2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        envs.set_attr("difficulty", bad)
    with pytest.raises(ValueError, match=message):
        envs.set_attr("difficulty", [bad, 0])
    with pytest.raises(ValueError, match=message):
        envs.reset(options={"difficulty": bad})
    with pytest.raises(ValueError, match=r"got 3 difficulties for 2 envs"):
        envs.set_attr("difficulty", [0, 0, 0])
    with pytest.raises(TypeError, match=r"difficulty must be an integer, got 0\.5"):
        envs.set_attr("difficulty", 0.5)
    assert envs.get_attr("difficulty") == (0, 0)  # nothing clamped, nothing changed
    with pytest.raises(ValueError, match=r"unknown reset option.*'levels'"):
        envs.reset(options={"levels": 1})
    with pytest.raises(AttributeError, match=r"'episode_length'"):
        envs.set_attr("episode_length", 3)


@pytest.mark.parametrize(
    "env_id, kwargs, error, pattern",
    [
        ("WMIL/PatternEcho-v0", {"num_envs": 0}, ValueError, r"num_envs=0 must be >= 1"),
        ("WMIL/PatternEcho-v0", {"episode_length": 0}, ValueError, r"episode_length=0"),
        ("WMIL/PatternEcho-v0", {"render_mode": "rgb_array"}, ValueError, r"'rgb_array'"),
        ("WMIL/Counting-v0", {"num_actions": 50}, ValueError, r"num_actions=50 .*100\.\.128"),
        (
            "WMIL/Conditional-v0",
            {"num_actions": 8, "difficulty": 3},
            ValueError,
            r"difficulty 3 .*num_actions >= 16; got num_actions=8",
        ),
        ("WMIL/NumericRelation-v0", {"relations": ["odd"]}, ValueError, r"'odd'.*successor"),
        ("WMIL/NumericRelation-v0", {"split": "dev"}, ValueError, r"split='dev'.*train"),
    ],
)
def test_bad_vector_constructor_arguments(env_id, kwargs, error, pattern):
    kwargs = {"num_envs": 2, **kwargs}
    with pytest.raises(error, match=pattern):
        gym.make_vec(env_id, vectorization_mode="vector_entry_point", **kwargs)


def test_step_before_reset_is_an_error():
    envs = native("WMIL/PatternEcho-v0", 2)
    with pytest.raises(RuntimeError, match="reset"):
        envs.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(RuntimeError, match="reset"):
        envs.call("oracle")
