"""Conditional: the correct action follows from nested rules over an object's attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from wmil_envs import vocab
from wmil_envs.tasks.base import Fields, Task

ATTRIBUTES = {
    "shape": vocab.SHAPES,
    "colour": vocab.COLOURS,
    "size": vocab.SIZES,
    "texture": vocab.TEXTURES,
}
RED, SMALL, STRIPED = vocab.COLOURS.index("red"), vocab.SIZES.index("small"), 1


class Conditional(Task):
    """State ``{shape, colour, size, texture}``, all four always shown (unused ones distract).

    The rule at each level (the plan's example, nested one step further per level):

    - level 0, one condition: action = shape (circle 0, square 1, triangle 2, star 3);
    - level 1, two conditions: add 4 if the colour is red;
    - level 2, three nested conditions: also add 8 if the size is large, except that for red
      objects the 8 is added when the size is small;
    - level 3, four nested conditions: as level 2, but a striped object counts its shape
      backwards (circle 3, square 2, triangle 1, star 0).

    Attributes are drawn uniformly and independently.
    """

    name = "conditional"
    question_len = 4
    levels = {
        0: {"conditions": 1, "answers": 4},
        1: {"conditions": 2, "answers": 8},
        2: {"conditions": 3, "answers": 16},
        3: {"conditions": 4, "answers": 16},
    }

    def min_actions(self, level: int) -> int:
        return self.levels[level]["answers"]

    def generate(self, rng: np.random.Generator, n: int, level: int) -> Fields:
        fields = {name: rng.integers(0, len(values), size=n) for name, values in ATTRIBUTES.items()}
        fields["conditions"] = np.full(n, self.levels[level]["conditions"])
        return fields

    def answer(self, fields: Fields) -> np.ndarray:
        conditions = fields["conditions"]
        shape, colour = fields["shape"], fields["colour"]
        red = colour == RED
        shape = np.where((conditions >= 4) & (fields["texture"] == STRIPED), 3 - shape, shape)
        size_bit = np.where(red, fields["size"] == SMALL, fields["size"] != SMALL)
        return shape + 4 * ((conditions >= 2) & red) + 8 * ((conditions >= 3) & size_bit)

    def question(self, fields: Fields) -> np.ndarray:
        return np.stack(
            [
                vocab.SHAPE + fields["shape"],
                vocab.COLOUR + fields["colour"],
                vocab.SIZE + fields["size"],
                vocab.TEXTURE + fields["texture"],
            ],
            axis=1,
        )

    def describe(self, fields: Mapping[str, Any]) -> str:
        words = [
            ATTRIBUTES[name][int(fields[name])] for name in ("size", "texture", "colour", "shape")
        ]
        return f"Which action for a {' '.join(words)}?"
