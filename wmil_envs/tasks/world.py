"""Worlds: tasks whose actions change the state, so the next observation is worth predicting.

A world is a finite set of objects (a number 0..99, an object with four attributes) and a batched
``move`` rule: what each action does to an object. An instance is an object and a target
object; the agent acts until the horizon. Everything else is derived from ``move``, once per
environment, as lookup tables over all objects:

- ``transition``: the object after each action, except that a reached target is *held*: from
  the step the target is reached to the horizon the object no longer changes;
- ``reward``: 1.0 on the step that reaches the target, 0.0 on every other step (held steps
  included), so an episode's return is 1 exactly when it succeeds;
- ``feedback``: the next observation's last token says ``<correct>`` on the step the target is
  reached, ``<held>`` on the steps after it, ``<wrong>`` while the target is not reached;
- ``answer`` (the oracle): the first action of a shortest path to the target (breadth-first
  search over ``move``; the lowest-numbered action among equally short ones);
- ``optimal_steps``: the length of that shortest path.

Levels are data: how many of the actions a level needs (``actions``; the env's ``num_actions``
may offer more), which objects starts and targets are drawn from, the largest shortest-path
distance between them (counted with the level's actions), and the horizon (that distance plus
slack). Start and target pairs are split by a fixed rule (``split``: ``train`` / ``test`` /
``all``), so a test pair is never seen in training.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from wmil_envs import vocab
from wmil_envs.tasks.base import Fields, Task

SPLITS = ("train", "test", "all")
UNREACHABLE = np.iinfo(np.int64).max // 4


def shortest_distances(next_state: np.ndarray) -> np.ndarray:
    """``dist[s, t]``: fewest steps from ``s`` to ``t`` under ``next_state[s, a]`` (S, A)
    (``UNREACHABLE`` where no path exists), by breadth-first relaxation over all pairs."""
    count = len(next_state)
    dist = np.full((count, count), UNREACHABLE, dtype=np.int64)
    np.fill_diagonal(dist, 0)
    for _ in range(count):
        through = dist[next_state].min(axis=1) + 1  # best first step, then the rest
        better = np.minimum(dist, through)
        if np.array_equal(better, dist):
            break
        dist = better
    return dist


class World(Task):
    """Base of the worlds; a subclass sets the class attributes and implements the object
    encoding, the ``move`` rule, the object tokens and text, and the split rule."""

    has_dynamics = True
    tokens: ClassVar[tuple[str, ...]] = ("<held>",)
    object_fields: ClassVar[tuple[str, ...]]
    """The object's field names; the target's are the same with ``target_`` in front."""
    action_names: ClassVar[tuple[str, ...]]
    """What each action does, in action order; ``default_num_actions`` is their number."""
    num_objects: ClassVar[int]
    """Objects are encoded as ``0..num_objects-1``."""

    def __init__(self, num_actions: int | None = None, split: str = "train"):
        if num_actions is None:
            num_actions = len(self.action_names)
        super().__init__(num_actions)
        if split not in SPLITS:
            raise ValueError(f"split={split!r} is not one of {list(SPLITS)}")
        self.split = split
        self.held = vocab.token_id("<held>")
        self._recent_ids: tuple = ((None, None), (None, None))
        # the rule, applied once to every (object, action): the tables every step reads
        self._next = self._move_table(self.num_actions)
        self._dist = shortest_distances(self._next)
        self._oracle = self._dist[self._next].argmin(axis=1)  # (S, T): first shortest step
        self._pairs = {level: self._level_pairs(level) for level in self.levels}
        # flat tables, read with ``take`` (several times faster than 2-D fancy indexing)
        every = np.arange(self.num_objects)
        self._columns = self.decode(every)  # each field of each object id
        shown = self.object_tokens(self._columns)  # (S, k): how each object is shown
        pairs = np.concatenate(
            [np.repeat(shown, self.num_objects, axis=0), np.tile(shown, (self.num_objects, 1))],
            axis=1,
        )
        self._pair_tokens = pairs  # (S * S, 2k): object s and target t, row s * S + t
        self._id_of_shown = {row.tobytes(): i for i, row in enumerate(shown.astype(np.int64))}
        self._next_flat = self._next.ravel()
        self._oracle_flat = self._oracle.ravel()
        self._dist_flat = self._dist.ravel()

    # --- what a subclass provides ---
    def encode(self, obj: Fields) -> np.ndarray:
        """Object fields -> object ids."""
        raise NotImplementedError

    def decode(self, ids: np.ndarray) -> Fields:
        """Object ids -> object fields (the inverse of ``encode``)."""
        raise NotImplementedError

    def move(self, obj: Fields, actions: np.ndarray) -> Fields:
        """The rule: the objects after ``actions`` (no holding here; ``transition`` holds)."""
        raise NotImplementedError

    def object_tokens(self, obj: Fields) -> np.ndarray:
        """Tokens showing each object, shape ``(n, question_len // 2)``."""
        raise NotImplementedError

    def describe_object(self, obj: Mapping[str, Any]) -> str:
        """One object as words ("23", "a small plain red circle")."""
        raise NotImplementedError

    def test_pair(self, start: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The split rule: whether each (start, target) pair of object ids is held out."""
        raise NotImplementedError

    def level_objects(self, level: int) -> np.ndarray:
        """Ids of the objects starts and targets are drawn from at ``level``."""
        raise NotImplementedError

    def object_schema(self) -> dict[str, dict[str, Any]]:
        """JSON schema of one object's fields over ALL objects (not one level's): what an LLM
        parent may give as the next object."""
        raise NotImplementedError

    # --- derived ---
    def min_actions(self, level: int) -> int:
        return self.levels[level]["actions"]

    def _move_table(self, num_actions: int) -> np.ndarray:
        """``next[s, a]``: the object id after action ``a`` on object ``s`` (no holding)."""
        objects = np.repeat(np.arange(self.num_objects), num_actions)
        actions = np.tile(np.arange(num_actions), self.num_objects)
        moved = self.encode(self.move(self.decode(objects), actions))
        return moved.reshape(self.num_objects, num_actions)

    def _level_pairs(self, level: int) -> np.ndarray:
        """The level's (start, target) id pairs in this task's split, shape (P, 2): distinct
        objects of the level at most ``max_distance`` apart with the level's actions."""
        objects = self.level_objects(level)
        dist = shortest_distances(self._move_table(self.min_actions(level)))
        start, target = np.meshgrid(objects, objects, indexing="ij")
        start, target = start.ravel(), target.ravel()
        d = dist[start, target]
        keep = (d >= 1) & (d <= self.levels[level]["max_distance"])
        if self.split != "all":
            keep &= self.test_pair(start, target) == (self.split == "test")
        return np.stack([start[keep], target[keep]], axis=1)

    def pairs(self, level: int) -> np.ndarray:
        """The (start, target) object-id pairs drawn at ``level`` in this split, (P, 2)."""
        return self._pairs[level]

    def split_fields(self, fields: Fields) -> tuple[Fields, Fields]:
        """(object fields, target fields) of an instance batch."""
        obj = {name: fields[name] for name in self.object_fields}
        target = {name: fields["target_" + name] for name in self.object_fields}
        return obj, target

    def ids(self, fields: Fields) -> tuple[np.ndarray, np.ndarray]:
        """(object ids, target ids) of an instance batch.

        One environment step asks for the ids of the same two field batches (the state and
        the next state) about five times, so the last two answers are kept, keyed by the
        batch itself (``is``: field batches are never changed in place). The pair is stored
        and read as one tuple, so threads calling concurrently cannot mix entries."""
        recent = self._recent_ids
        for known, answer in recent:
            if known is fields:
                return answer
        obj, target = self.split_fields(fields)
        answer = (self.encode(obj), self.encode(target))
        self._recent_ids = ((fields, answer), recent[0])
        return answer

    def instance(self, objects: np.ndarray, targets: np.ndarray) -> Fields:
        """Instance fields from object and target ids."""
        fields = {k: column.take(objects) for k, column in self._columns.items()}
        fields.update({"target_" + k: column.take(targets) for k, column in self._columns.items()})
        self._recent_ids = ((fields, (objects, targets)), self._recent_ids[0])
        return fields

    def generate(self, rng: np.random.Generator, n: int, level: int) -> Fields:
        pairs = self._pairs[level]
        pick = pairs.take(rng.integers(0, len(pairs), size=n), axis=0)  # 10x faster than [ ]
        return self.instance(pick[:, 0], pick[:, 1])

    def _step_ids(self, fields: Fields, actions: np.ndarray):
        now, target = self.ids(fields)
        held = now == target
        after = np.where(held, now, self._next_flat.take(now * self.num_actions + actions))
        return now, target, held, after

    def reward(self, fields: Fields, actions: np.ndarray) -> np.ndarray:
        _, target, held, after = self._step_ids(fields, np.asarray(actions))
        return ((after == target) & ~held).astype(np.float64)

    def transition(self, fields: Fields, actions: np.ndarray) -> Fields:
        _, target, _, after = self._step_ids(fields, np.asarray(actions))
        return self.instance(after, target)

    def feedback(self, fields: Fields, actions: np.ndarray, success: np.ndarray) -> np.ndarray:
        now, target = self.ids(fields)
        return np.where(now == target, self.held, np.where(success, vocab.CORRECT, vocab.WRONG))

    def answer(self, fields: Fields) -> np.ndarray:
        now, target = self.ids(fields)
        return self._oracle_flat.take(now * self.num_objects + target)

    def optimal_steps(self, fields: Fields) -> np.ndarray:
        now, target = self.ids(fields)
        return self._dist_flat.take(now * self.num_objects + target)

    def distance(self, start: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Fewest steps between object ids with this env's actions."""
        return self._dist[start, target]

    def question(self, fields: Fields) -> np.ndarray:
        now, target = self.ids(fields)
        return self._pair_tokens.take(now * self.num_objects + target, axis=0)

    def question_ids(self, question: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(object ids, target ids) that question token rows (n, 2k) show: the inverse of
        ``question``, so the true rules can step an observation (the planner's upper bound).
        A row that shows no object is a ``ValueError``."""
        rows = np.ascontiguousarray(question, dtype=np.int64)
        half = rows.shape[1] // 2
        try:
            ids = [
                [self._id_of_shown[row.tobytes()] for row in part]
                for part in (rows[:, :half], rows[:, half:])
            ]
        except KeyError:
            raise ValueError(f"a question row shows no {type(self).__name__} object") from None
        return np.asarray(ids[0], dtype=np.int64), np.asarray(ids[1], dtype=np.int64)

    def describe(self, fields: Mapping[str, Any]) -> str:
        obj = {k: fields[k] for k in self.object_fields}
        target = {k: fields["target_" + k] for k in self.object_fields}
        return f"Now {self.describe_object(obj)}; goal {self.describe_object(target)}."

    def describe_answer(self, action: int) -> str:
        """The action's name; actions past ``action_names`` (a larger ``num_actions``) do
        nothing."""
        return self.action_names[action] if action < len(self.action_names) else "no-op"

    def actions_text(self) -> str:
        return ", ".join(f"{a}={self.describe_answer(a)}" for a in range(self.num_actions))

    def instance_problem(self, fields: Fields, level: int) -> str | None:
        now, target = self.ids(fields)
        pairs = self._pairs[level]
        if not ((pairs[:, 0] == now[0]) & (pairs[:, 1] == target[0])).any():
            return (
                f"start {self.describe_object({k: fields[k][0] for k in self.object_fields})}"
                " and goal "
                + self.describe_object({k: fields["target_" + k][0] for k in self.object_fields})
                + f" are not a level-{level} pair of split {self.split!r} (distinct, at most "
                f"{self.levels[level]['max_distance']} steps apart with the level's actions)"
            )
        return None
