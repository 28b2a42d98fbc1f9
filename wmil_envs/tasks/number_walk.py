"""NumberWalk: reach a target number by arithmetic operations, the Concept Learner's relations
(successor, predecessor, add_2, tens) used as actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from wmil_envs import vocab
from wmil_envs.tasks.base import Fields, digits, integer_field
from wmil_envs.tasks.world import World

OPERATIONS = (1, -1, 2, -2, 10, -10)
"""What action ``k`` adds to the number; actions past these (``num_actions`` > 6) add 0."""
_ADDS = np.zeros(vocab.MAX_ACTIONS, dtype=np.int64)
_ADDS[: len(OPERATIONS)] = OPERATIONS


class NumberWalk(World):
    """Object: a number 0..99; action ``k`` adds ``OPERATIONS[k]`` (+1, -1, +2, -2, +10, -10);
    an operation that would leave 0..99 leaves the number unchanged.

    The next number is what a world model has to predict: successor, predecessor, add_2, and
    tens and ones with their carries and borrows (29 + 1 = 30, 40 - 2 = 38, 95 + 10 stays).

    Levels (starts and targets drawn from ``numbers``, at most ``max_distance`` steps apart
    with the level's first ``actions`` operations; ``horizon`` = that distance plus slack):

    - 0: numbers 0..9, +1 and -1, at most 3 steps, horizon 5;
    - 1: numbers 0..19, and +2 and -2, at most 4 steps, horizon 6;
    - 2: numbers 0..99, and +10 and -10, at most 5 steps, horizon 8;
    - 3: numbers 0..99, all six, at most 8 steps, horizon 12.

    Split: the pair (start ``s``, target ``t``) is held out (``test``) when ``(s + t) mod 5
    == 0``, a fifth of the pairs, spread over every number and distance.
    """

    name = "number_walk"
    env_id = "WMIL/NumberWalk-v0"
    env_doc = """Reach the target number by adding and subtracting.

    ## Description
    The observation shows the current number and the target number (0..99, two digit tokens
    each). Action ``k`` adds +1, -1, +2, -2, +10 or -10 (in that order); an operation that
    would leave 0..99 leaves the number unchanged. The agent acts until the horizon; once the
    target is reached the number is held there. ``split=`` picks the ``train`` (default),
    ``test`` (held-out start and target pairs) or ``all`` pairs.

    ## Action Space
    ``Discrete(num_actions)``, default 6; level 0 needs 2, level 1 needs 4, levels 2-3 need 6.

    ## Difficulty
    0: numbers 0..9, +1/-1, at most 3 steps apart, horizon 5. 1: 0..19, +2/-2 too, 4 steps,
    horizon 6. 2: 0..99, +10/-10 too, 5 steps, horizon 8. 3: 0..99, 8 steps, horizon 12.
"""
    question_len = 4
    object_fields = ("number",)
    action_names = ("+1", "-1", "+2", "-2", "+10", "-10")
    default_num_actions = len(OPERATIONS)
    num_objects = 100
    levels = {
        0: {"numbers": (0, 9), "actions": 2, "max_distance": 3, "horizon": 5},
        1: {"numbers": (0, 19), "actions": 4, "max_distance": 4, "horizon": 6},
        2: {"numbers": (0, 99), "actions": 6, "max_distance": 5, "horizon": 8},
        3: {"numbers": (0, 99), "actions": 6, "max_distance": 8, "horizon": 12},
    }

    def encode(self, obj: Fields) -> np.ndarray:
        return np.asarray(obj["number"], dtype=np.int64)

    def decode(self, ids: np.ndarray) -> Fields:
        return {"number": np.asarray(ids, dtype=np.int64)}

    def move(self, obj: Fields, actions: np.ndarray) -> Fields:
        number = obj["number"]
        moved = number + _ADDS[actions]
        return {"number": np.where((moved >= 0) & (moved <= 99), moved, number)}

    def object_tokens(self, obj: Fields) -> np.ndarray:
        return np.stack(digits(obj["number"]), axis=1)

    def describe_object(self, obj: Mapping[str, Any]) -> str:
        return str(int(obj["number"]))

    def test_pair(self, start: np.ndarray, target: np.ndarray) -> np.ndarray:
        return (start + target) % 5 == 0

    def level_objects(self, level: int) -> np.ndarray:
        low, high = self.levels[level]["numbers"]
        return np.arange(low, high + 1)

    def object_schema(self) -> dict[str, dict[str, Any]]:
        return {"number": integer_field(0, 99, "the number")}

    def field_schema(self, level: int) -> dict[str, dict[str, Any]]:
        low, high = self.levels[level]["numbers"]
        return {
            "number": integer_field(low, high, "the start number"),
            "target_number": integer_field(low, high, "the number to reach"),
        }
