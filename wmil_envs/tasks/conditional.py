"""Conditional: the correct action follows from nested rules over an object's attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from wmil_envs import vocab
from wmil_envs.tasks.base import Fields, Task, enum_field, integer_field, numbered

ATTRIBUTES = {
    "shape": vocab.SHAPES,
    "colour": vocab.COLOURS,
    "size": vocab.SIZES,
    "texture": vocab.TEXTURES,
}
RED = vocab.COLOURS.index("red")
LARGE = vocab.SIZES.index("large")
STRIPED = vocab.TEXTURES.index("striped")
SMALL, PLAIN = 1 - LARGE, 1 - STRIPED
NON_RED = np.array([c for c in range(len(vocab.COLOURS)) if c != RED])
"""The colours the rule treats alike (every colour but red)."""

_FIRST_TOKENS = {
    "shape": vocab.SHAPE,
    "colour": vocab.COLOUR,
    "size": vocab.SIZE,
    "texture": vocab.TEXTURE,
}
"""Each attribute's first token, in the order the question shows them."""


def attribute_tokens(fields: Fields) -> np.ndarray:
    """Tokens of objects' shape, colour, size and texture, shape ``(n, 4)``."""
    tokens = np.empty((len(fields["shape"]), len(_FIRST_TOKENS)), dtype=np.int64)
    for column, (name, first) in enumerate(_FIRST_TOKENS.items()):
        np.add(first, fields[name], out=tokens[:, column])  # into place: no stacked temporaries
    return tokens


def object_words(fields: Mapping[str, Any]) -> str:
    """One object as words: "a small plain red circle"."""
    names = ("size", "texture", "colour", "shape")
    return "a " + " ".join(ATTRIBUTES[name][int(fields[name])] for name in names)


class Conditional(Task):
    """State ``{shape, colour, size, texture}``, all four always shown.

    One rule, the same at every level (so what is learned at a level stays right above it):

    - the shape gives 0..3 (circle, square, triangle, star), counted backwards (3 - shape) when
      the object is striped;
    - add 4 if the object is red, except that for large objects the colour rule flips: add 4
      if it is *not* red;
    - add 8 if the object is large.

    Levels decide which attributes vary; the others hold a value that leaves the rule's other
    conditions inert (small, plain, and a non-red colour):

    - level 0, one condition: the shape varies (colour drawn from the non-red ones, a distractor);
    - level 1, two conditions: the colour varies too (red adds 4);
    - level 2, three nested conditions: the size varies too (large adds 8 and flips the colour);
    - level 3, four nested conditions: the texture varies too (striped counts shapes backwards).

    Varying attributes are drawn uniformly and independently.
    """

    name = "conditional"
    env_id = "WMIL/Conditional-v0"
    env_doc = """Answer by nested rules over an object's shape, colour, size and texture.

    ## Description
    All four attributes are always shown. One rule holds at every level: the shape gives 0..3
    (circle, square, triangle, star), counted backwards if striped; add 4 if red, except that
    large objects add 4 if *not* red; add 8 if large.

    ## Action Space
    ``Discrete(num_actions)``, default 16 (levels 2 and 3 need 16).

    ## Difficulty
    Levels add the attributes that vary; the others stay small, plain and not red, where the
    rule ignores them, so each level is a slice of the next. 0: the shape varies (one
    condition). 1: and the colour. 2: and the size. 3: and the texture.
"""
    question_len = 4
    levels = {
        0: {"varying": ("shape",), "answers": 4},
        1: {"varying": ("shape", "colour"), "answers": 8},
        2: {"varying": ("shape", "colour", "size"), "answers": 16},
        3: {"varying": ("shape", "colour", "size", "texture"), "answers": 16},
    }

    def min_actions(self, level: int) -> int:
        return self.levels[level]["answers"]

    def generate(self, rng: np.random.Generator, n: int, level: int) -> Fields:
        varying = self.levels[level]["varying"]
        u = rng.random((4, n))
        return {
            "shape": (u[0] * len(vocab.SHAPES)).astype(np.int64),
            "colour": (u[1] * len(vocab.COLOURS)).astype(np.int64)
            if "colour" in varying
            else NON_RED[(u[1] * len(NON_RED)).astype(np.int64)],
            "size": (u[2] * 2).astype(np.int64) if "size" in varying else np.full(n, SMALL),
            "texture": (u[3] * 2).astype(np.int64) if "texture" in varying else np.full(n, PLAIN),
        }

    def answer(self, fields: Fields) -> np.ndarray:
        striped = fields["texture"] == STRIPED
        red = fields["colour"] == RED
        large = fields["size"] == LARGE
        shape = np.where(striped, 3 - fields["shape"], fields["shape"])
        return shape + 4 * (red != large) + 8 * large

    def question(self, fields: Fields) -> np.ndarray:
        return attribute_tokens(fields)

    def describe(self, fields: Mapping[str, Any]) -> str:
        return f"Which action for {object_words(fields)}?"

    def field_schema(self, level: int) -> dict[str, dict[str, Any]]:
        varying = self.levels[level]["varying"]

        def attribute(key: str, fixed: list[int]) -> dict[str, Any]:
            values = ATTRIBUTES[key]
            if key in varying:
                return integer_field(0, len(values) - 1, numbered(values))
            return enum_field(fixed, f"{numbered(values)}; fixed at this level")

        return {
            "shape": integer_field(0, len(vocab.SHAPES) - 1, numbered(vocab.SHAPES)),
            "colour": attribute("colour", NON_RED.tolist()),
            "size": attribute("size", [SMALL]),
            "texture": attribute("texture", [PLAIN]),
        }
