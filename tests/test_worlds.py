"""The worlds (NumberWalk, ObjectEdit): the rules by hand, the levels as data, the oracle as a
planner over every pair of every level, random-policy success, transitions the rules forbid,
held-out goals, and the text an agent's user or an LLM parent reads.

The move rules are restated here from the documentation (``number_after``, ``object_after``),
apart from the code's tables, so the env is checked against what the docs promise.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from wmil_envs import vocab
from wmil_envs.parent import DeterministicParent
from wmil_envs.state import StateBatch
from wmil_envs.tasks.number_walk import NumberWalk
from wmil_envs.tasks.object_edit import ObjectEdit

WORLDS = {"WMIL/NumberWalk-v0": NumberWalk, "WMIL/ObjectEdit-v0": ObjectEdit}
WORLD_LEVELS = [(env_id, level) for env_id, world in WORLDS.items() for level in world.levels]
HELD = vocab.token_id("<held>")


def native(env_id: str, num_envs: int, **kwargs):
    return gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
    )


class PairsParent(DeterministicParent):
    """Generates the given (start, goal) object-id pairs in order, cycling."""

    def __init__(self, pairs: np.ndarray):
        self.pairs = pairs
        self.next = 0

    def generate(self, task, rng, n, level):
        rows = self.pairs[(self.next + np.arange(n)) % len(self.pairs)]
        self.next += n
        return StateBatch.new(task, task.instance(rows[:, 0], rows[:, 1]))


# --- the rules, restated from the docs ------------------------------------------------------

OPERATIONS = (1, -1, 2, -2, 10, -10)


def number_after(number: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """NumberWalk's documented rule: add the action's operation; leaving 0..99 changes nothing;
    actions past the six operations change nothing."""
    adds = np.array(OPERATIONS + (0,))[np.minimum(actions, len(OPERATIONS))]
    moved = number + adds
    return np.where((moved >= 0) & (moved <= 99), moved, number)


def object_after(obj: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """ObjectEdit's documented rule on rows ``(shape, colour, size, texture)``."""
    shape, colour, size, texture = obj.T.copy()
    striped, round_shape = texture == 1, shape <= 1  # circle, square
    shape = np.where(actions == 0, (shape + 1) % 4, shape)
    colour = np.where((actions == 1) & ~striped, (colour + 1) % 4, colour)
    size = np.where(actions == 2, 1, np.where(actions == 3, 0, size))
    texture = np.where(actions == 4, 1 - texture, texture)
    colour = np.where((actions == 5) & round_shape, (colour - 1) % 4, colour)
    size = np.where((actions == 5) & ~round_shape, 1 - size, size)
    return np.stack([shape, colour, size, texture], axis=1)


def shown_objects(env_id: str, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(object, goal) read back from observation tokens: numbers (n,) or attributes (n, 4)."""
    if env_id == "WMIL/NumberWalk-v0":
        digits = obs[:, 1:5] - vocab.DIGIT
        assert ((digits >= 0) & (digits <= 9)).all()  # numbers stay in 0..99
        return digits[:, 0] * 10 + digits[:, 1], digits[:, 2] * 10 + digits[:, 3]
    bases = np.array([vocab.SHAPE, vocab.COLOUR, vocab.SIZE, vocab.TEXTURE])
    sizes = np.array([4, 4, 2, 2])
    obj, goal = obs[:, 1:5] - bases, obs[:, 5:9] - bases
    assert ((obj >= 0) & (obj < sizes)).all() and ((goal >= 0) & (goal < sizes)).all()
    return obj, goal


def rule_after(env_id: str, obj: np.ndarray, actions: np.ndarray) -> np.ndarray:
    return (number_after if env_id == "WMIL/NumberWalk-v0" else object_after)(obj, actions)


def same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a == b if a.ndim == 1 else (a == b).all(axis=1)


@pytest.mark.parametrize(
    "number, action, after",
    [(29, 0, 30), (40, 3, 38), (95, 4, 95), (5, 5, 5), (0, 1, 0), (98, 2, 98),
     (99, 0, 99), (10, 5, 0), (37, 4, 47), (7, 6, 7), (7, 127, 7)],
)  # fmt: skip
def test_number_walk_rule_by_hand(number, action, after):
    task = NumberWalk(num_actions=128)
    moved = task.move({"number": np.array([number])}, np.array([action]))
    assert moved["number"].tolist() == [after]
    assert number_after(np.array([number]), np.array([action])).tolist() == [after]


@pytest.mark.parametrize(
    "obj, action, after",
    [
        ((0, 0, 0, 0), 0, (1, 0, 0, 0)),  # next shape
        ((3, 0, 0, 0), 0, (0, 0, 0, 0)),  # star -> circle
        ((0, 3, 0, 0), 1, (0, 0, 0, 0)),  # paint: yellow -> red
        ((0, 1, 0, 1), 1, (0, 1, 0, 1)),  # paint does nothing to a striped object
        ((0, 0, 1, 0), 2, (0, 0, 1, 0)),  # growing a large object does nothing
        ((0, 0, 0, 0), 2, (0, 0, 1, 0)),
        ((0, 0, 1, 0), 3, (0, 0, 0, 0)),
        ((0, 0, 0, 0), 3, (0, 0, 0, 0)),  # a small object stays small
        ((2, 2, 0, 0), 4, (2, 2, 0, 1)),
        ((1, 0, 0, 1), 5, (1, 3, 0, 1)),  # flip a square: the previous colour, striped or not
        ((2, 0, 0, 0), 5, (2, 0, 1, 0)),  # flip a triangle: its size
        ((3, 2, 1, 1), 5, (3, 2, 0, 1)),
    ],
)
def test_object_edit_rule_by_hand(obj, action, after):
    task = ObjectEdit()
    fields = {name: np.array([v]) for name, v in zip(task.object_fields, obj, strict=True)}
    moved = task.move(fields, np.array([action]))
    assert tuple(int(moved[name][0]) for name in task.object_fields) == after
    assert object_after(np.array([obj]), np.array([action]))[0].tolist() == list(after)


# --- levels as data -------------------------------------------------------------------------


def distances_by_hand(env_id: str, num_actions: int) -> np.ndarray:
    """All-pairs shortest path lengths over object ids by breadth-first search, one start at a
    time, with the documented rule (-1: unreachable)."""
    task = WORLDS[env_id]()
    ids = np.arange(task.num_objects)
    objects = task.decode(ids)
    rows = (
        objects["number"]
        if env_id == "WMIL/NumberWalk-v0"
        else np.stack([objects[name] for name in task.object_fields], axis=1)
    )
    successors = []
    for action in range(num_actions):
        moved = rule_after(env_id, rows, np.full(len(ids), action))
        if moved.ndim == 1:
            fields = {"number": moved}
        else:
            fields = dict(zip(task.object_fields, moved.T, strict=True))
        successors.append(task.encode(fields))
    successors = np.stack(successors, axis=1)
    dist = np.full((len(ids), len(ids)), -1)
    for start in ids:
        dist[start, start], frontier, d = 0, [start], 0
        while frontier:
            d += 1
            reached = {int(s) for s in successors[frontier].ravel() if dist[start, s] < 0}
            for s in reached:
                dist[start, s] = d
            frontier = sorted(reached)
    return dist


@pytest.mark.parametrize("env_id", WORLDS)
def test_levels_are_data_that_match_their_pairs(env_id):
    world = WORLDS[env_id]
    for level, settings in world.levels.items():
        task = world(split="all")
        dist = distances_by_hand(env_id, settings["actions"])
        pairs = task.pairs(level)
        objects = task.level_objects(level)
        expected = {
            (int(s), int(t))
            for s in objects
            for t in objects
            if 1 <= dist[s, t] <= settings["max_distance"]
        }
        assert set(map(tuple, pairs.tolist())) == expected, level
        # max_distance is the longest shortest path among the pairs, with the level's actions
        assert dist[pairs[:, 0], pairs[:, 1]].max() == settings["max_distance"], level
        assert settings["horizon"] >= settings["max_distance"] + 2, level
        assert world.horizon(level) == settings["horizon"]
        assert task.min_actions(level) == settings["actions"]
        # the env's optimal_steps: the same search with the env's (here all six) actions
        fields = task.instance(pairs[:, 0], pairs[:, 1])
        full = distances_by_hand(env_id, task.num_actions)
        assert (task.optimal_steps(fields) == full[pairs[:, 0], pairs[:, 1]]).all(), level


@pytest.mark.parametrize("env_id", WORLDS)
def test_too_few_actions_for_a_level_is_a_clear_error(env_id):
    world = WORLDS[env_id]
    for level, settings in world.levels.items():
        needed = settings["actions"]
        if needed > 2:
            with pytest.raises(
                ValueError, match=rf"needs num_actions >= {needed}; got num_actions=2"
            ):
                gym.make(env_id, num_actions=2, difficulty=level)
        gym.make(env_id, num_actions=needed, difficulty=level)  # enough
    with pytest.raises(ValueError, match=rf"num_actions=1 .*{world.name}.*2\.\.128"):
        gym.make(env_id, num_actions=1)
    with pytest.raises(ValueError, match=r"split='dev'.*train.*test.*all"):
        gym.make(env_id, split="dev")


# --- the oracle is a planner ----------------------------------------------------------------


def oracle_episodes(env_id: str, level: int, num_actions: int, split: str) -> dict:
    """Every (start, goal) pair of the level and split, one env each, played by the oracle for
    the level's horizon; checks each reaches its goal in exactly ``optimal_steps``."""
    pairs = WORLDS[env_id](num_actions, split=split).pairs(level)
    n = len(pairs)
    envs = native(
        env_id, n, num_actions=num_actions, difficulty=level, split=split,
        parent=PairsParent(pairs),
    )  # fmt: skip
    envs.reset(seed=0)
    states = envs.unwrapped.states
    assert (states.task.ids(states.fields)[0] == pairs[:, 0]).all()
    optimal = states.task.optimal_steps(states.fields)
    horizon = WORLDS[env_id].horizon(level)
    returns = np.zeros(n)
    for t in range(1, horizon + 1):
        _, rewards, terminated, _, infos = envs.step(envs.call("oracle"))
        assert (rewards == (optimal == t)).all(), t
        returns += rewards
    final = infos["final_info"]
    assert terminated.all() and (returns == 1.0).all()
    assert (final["steps_to_goal"] == optimal).all()
    assert (final["optimal_steps"] == optimal).all()
    return {"pairs": n, "optimal": optimal, "success": float(final["episode_success"].mean())}


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("env_id, level", WORLD_LEVELS)
def test_oracle_reaches_every_goal_in_optimal_steps(env_id, level, split):
    settings = WORLDS[env_id].levels[level]
    for num_actions in sorted({settings["actions"], 6}):
        result = oracle_episodes(env_id, level, num_actions, split)
        assert result["success"] == 1.0
        assert result["optimal"].min() >= 1
        assert result["optimal"].max() <= settings["max_distance"]


# --- random policy --------------------------------------------------------------------------


def random_success(env_id: str, level: int, num_actions: int, n: int = 4096) -> float:
    """Success of uniformly random actions over one episode of each of ``n`` envs."""
    envs = native(env_id, n, num_actions=num_actions, difficulty=level)
    envs.reset(seed=level)
    rng = np.random.default_rng(1000 + level)
    for _ in range(WORLDS[env_id].horizon(level)):
        _, _, terminated, _, infos = envs.step(rng.integers(0, num_actions, n))
    assert terminated.all()
    return float(infos["final_info"]["episode_success"].mean())


def test_random_policy_success_per_level_is_well_below_one(record_property):
    """The per-level table: with the level's own actions and with all six (the default);
    run with ``-s`` to see it."""
    lines = ["env | level | num_actions | horizon | optimal steps (mean, max) | random | oracle"]
    for env_id, level in WORLD_LEVELS:
        for num_actions in sorted({WORLDS[env_id].levels[level]["actions"], 6}):
            oracle = oracle_episodes(env_id, level, num_actions, "train")
            random = random_success(env_id, level, num_actions)
            assert random < 0.6, (env_id, level, num_actions, random)
            assert random < oracle["success"] == 1.0
            record_property(f"{env_id} level {level} num_actions {num_actions} random", random)
            lines.append(
                f"{env_id} | {level} | {num_actions} | {WORLDS[env_id].horizon(level)} | "
                f"{oracle['optimal'].mean():.2f}, {oracle['optimal'].max()} | {random:.3f} | "
                f"{oracle['success']:.3f}"
            )
    print("\n" + "\n".join(lines))


# --- transitions the rules forbid never happen ----------------------------------------------


@pytest.mark.parametrize("env_id", WORLDS)
def test_random_rollouts_follow_the_rules(env_id):
    """Every observed (observation, action, next observation) matches the documented rule: the
    object moves by the rule, a held (reached) object never changes, the goal never changes,
    reward 1.0 only on the step that reaches the goal, feedback ``<correct>``/``<held>``/
    ``<wrong>`` as documented."""
    n = 512
    envs = native(env_id, n, difficulty=[level % 4 for level in range(n)], split="all")
    obs, _ = envs.reset(seed=0)
    rng = np.random.default_rng(0)
    reached = 0
    for _ in range(150):
        actions = rng.integers(0, envs.single_action_space.n, n)
        next_obs, rewards, terminated, _, infos = envs.step(actions)
        after = infos["final_obs"] if terminated.any() else next_obs
        obj, goal = shown_objects(env_id, obs)
        obj_after, goal_after = shown_objects(env_id, after)
        held = same(obj, goal)
        expected = rule_after(env_id, obj, actions)
        expected = np.where(held[:, None] if obj.ndim > 1 else held, obj, expected)
        assert (obj_after == expected).all()
        assert (goal_after == goal).all()
        reaches = same(obj_after, goal) & ~held
        assert (rewards == reaches).all()
        feedback = np.where(held, HELD, np.where(reaches, vocab.CORRECT, vocab.WRONG))
        assert (after[:, -1] == feedback).all() and (after[:, -2] == vocab.SYMBOL + actions).all()
        reached += reaches.sum()
        obs = next_obs
    assert reached > 0  # the random walk does reach goals, so the reward branch is exercised


# --- held-out goals -------------------------------------------------------------------------


@pytest.mark.parametrize("env_id, level", WORLD_LEVELS)
def test_train_and_test_pairs_partition_the_level(env_id, level):
    world = WORLDS[env_id]
    train, test, every = (set(map(tuple, world(split=s).pairs(level).tolist())) for s in
                          ("train", "test", "all"))  # fmt: skip
    assert train and test and not train & test
    assert train | test == every
    assert all((s + t) % 5 == 0 for s, t in test)  # the documented rule
    assert 0.1 < len(test) / len(every) < 0.3  # about a fifth


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("env_id", WORLDS)
def test_a_split_env_only_draws_its_own_pairs(env_id, split):
    world = WORLDS[env_id]
    for level in world.levels:
        allowed = set(map(tuple, world(split=split).pairs(level).tolist()))
        envs = native(env_id, 2048, difficulty=level, split=split)
        envs.reset(seed=level)
        states = envs.unwrapped.states
        start, goal = states.task.ids(states.fields)
        drawn = set(zip(start.tolist(), goal.tolist(), strict=True))
        assert drawn <= allowed
        assert len(drawn) > min(len(allowed) // 2, 100)  # and they cover the split
        single = gym.make(env_id, difficulty=level, split=split).unwrapped
        for i in range(50):
            single.reset(seed=i)
            one = {k: np.asarray(v)[None] for k, v in single.state.fields.items()}
            assert tuple(int(x[0]) for x in single.task.ids(one)) in allowed


# --- info, text ------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", WORLDS)
def test_info_reports_optimal_steps_and_steps_to_goal(env_id):
    env = gym.make(env_id, difficulty=1)
    env.reset(seed=0)
    task = env.unwrapped.task
    one = {k: np.asarray(v)[None] for k, v in env.unwrapped.state.fields.items()}
    start, goal = (int(x[0]) for x in task.ids(one))
    optimal = int(distances_by_hand(env_id, task.num_actions)[start, goal])
    first_success = 0
    for t in range(1, env.unwrapped.episode_length + 1):
        oracle = env.unwrapped.oracle()
        action = oracle if t > 1 else (oracle + 1) % task.num_actions  # a detour, then plan
        _, reward, terminated, _, info = env.step(action)
        assert info["optimal_steps"] == optimal  # of the episode's start, fixed
        first_success = first_success or (t if reward == 1.0 else 0)
        assert info["steps_to_goal"] == first_success  # 0 until the goal is reached
    assert terminated and info["steps_to_goal"] in (0, *range(optimal, t + 1))


def test_render_ansi_sentences_by_hand():
    parent = PairsParent(np.array([[23, 25]]))
    env = gym.make("WMIL/NumberWalk-v0", render_mode="ansi", difficulty=3, parent=parent)
    env.reset(seed=0)
    assert env.render() == "Q: Now 23; goal 25."
    env.step(1)
    assert env.render() == "Q: Now 22; goal 25. A: -1 (wrong)"
    env.step(4)
    assert env.render() == "Q: Now 32; goal 25. A: +10 (wrong)"
    env.step(5)
    env.step(2)
    assert env.render() == "Q: Now 24; goal 25. A: +2 (wrong)"
    env.step(0)
    assert env.render() == "Q: Now 25; goal 25. A: +1 (correct)"
    env.step(3)
    assert env.render() == "Q: Now 25; goal 25. A: -2 (held)"

    task = ObjectEdit()
    red_striped_circle = task.encode({"shape": 0, "colour": 0, "size": 0, "texture": 1})
    green_striped_circle = task.encode({"shape": 0, "colour": 1, "size": 0, "texture": 1})
    parent = PairsParent(np.array([[red_striped_circle, green_striped_circle]]))
    env = gym.make("WMIL/ObjectEdit-v0", render_mode="ansi", difficulty=2, parent=parent)
    env.reset(seed=0)
    question = "Q: Now a small striped red circle; goal a small striped green circle."
    assert env.render() == question
    env.step(1)  # paint does nothing to a striped object
    assert env.render() == question + " A: paint (wrong)"
    for action in (4, 1):
        env.step(action)
    assert env.render() == (
        "Q: Now a small plain green circle; goal a small striped green circle. A: paint (wrong)"
    )
    env.step(4)
    assert env.render() == (
        "Q: Now a small striped green circle; goal a small striped green circle. "
        "A: toggle texture (correct)"
    )


@pytest.mark.parametrize("env_id", WORLDS)
def test_state_to_prompt_lists_the_actions_meanings(env_id):
    env = gym.make(env_id, num_actions=7)
    env.reset(seed=0)
    prompt = env.unwrapped.state.to_prompt()
    names = WORLDS[env_id].action_names
    meanings = ", ".join(f"{a}={name}" for a, name in enumerate(names)) + ", 6=no-op"
    assert f"Actions: {meanings}" in prompt
    assert f"Question: {env.unwrapped.state.sentence()}" in prompt
    assert "Last action: none" in prompt
    env.step(0)
    prompt = env.unwrapped.state.to_prompt()
    assert f"Last action: 0 (answer {names[0]}, " in prompt
