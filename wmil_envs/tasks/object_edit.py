"""ObjectEdit: edit an object (shape, colour, size, texture) into a target object, with edits
whose effect depends on the object (the Conditional task's attributes, now editable)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from wmil_envs import vocab
from wmil_envs.tasks.base import Fields, enum_field, numbered
from wmil_envs.tasks.conditional import (
    ATTRIBUTES,
    LARGE,
    STRIPED,
    attribute_tokens,
    object_words,
)
from wmil_envs.tasks.world import World

NEXT_SHAPE, PAINT, GROW, SHRINK, TOGGLE_TEXTURE, FLIP = range(6)
TRIANGLE = vocab.SHAPES.index("triangle")


class ObjectEdit(World):
    """Object: ``{shape, colour, size, texture}`` (4 x 4 x 2 x 2 = 64 objects). Actions:

    0. next shape: circle -> square -> triangle -> star -> circle;
    1. paint: the next colour (red -> green -> blue -> yellow -> red), except that paint does
       nothing to a striped object;
    2. grow: small -> large (a large object stays large);
    3. shrink: large -> small (a small object stays small);
    4. toggle texture: plain <-> striped;
    5. flip, whose effect depends on the shape: a circle or a square takes the previous colour
       (striped or not), a triangle or a star toggles its size.

    Levels add the attributes that vary between start and target (the others stay small and
    plain) and the actions that edit them; every pair of distinct objects of the level is drawn
    (levels 0, 1 and 3: ``max_distance`` is the longest shortest path among them, with the
    level's actions):

    - 0: shape and colour vary; next shape and paint; at most 6 steps, horizon 8;
    - 1: and the size; grow and shrink; at most 7 steps, horizon 9;
    - 2: and the texture; toggle texture, with paint blocked on striped objects; pairs at most
      6 steps apart (of the 9 the longest take), horizon 8;
    - 3: all four; flip, the shape-dependent edit; at most 7 steps, horizon 10.

    Split: the pair (start ``s``, target ``t``) of object ids (``((shape * 4 + colour) * 2 +
    size) * 2 + texture``) is held out (``test``) when ``(s + t) mod 5 == 0``.
    """

    name = "object_edit"
    env_id = "WMIL/ObjectEdit-v0"
    env_doc = """Edit an object into the target object.

    ## Description
    The observation shows an object (shape, colour, size, texture) and the target object.
    Actions: 0 next shape, 1 paint (the next colour; does nothing to a striped object), 2 grow
    (large stays large), 3 shrink, 4 toggle texture, 5 flip (a circle or square takes the
    previous colour, a triangle or star toggles its size). The agent acts until the horizon;
    once the target is reached the object is held. ``split=`` picks the ``train`` (default),
    ``test`` (held-out start and target pairs) or ``all`` pairs.

    ## Action Space
    ``Discrete(num_actions)``, default 6; level 0 needs 2, level 1 needs 4, level 2 needs 5,
    level 3 needs 6.

    ## Difficulty
    0: shape and colour vary, horizon 8. 1: and size, horizon 9. 2: and texture (paint is
    blocked on striped objects), pairs at most 6 steps apart, horizon 8. 3: every pair, and
    flip, the shape-dependent edit, horizon 10.
"""
    question_len = 8
    object_fields = ("shape", "colour", "size", "texture")
    action_names = ("next shape", "paint", "grow", "shrink", "toggle texture", "flip")
    default_num_actions = 6
    num_objects = 64
    levels = {
        0: {"varying": ("shape", "colour"), "actions": 2, "max_distance": 6, "horizon": 8},
        1: {"varying": ("shape", "colour", "size"), "actions": 4, "max_distance": 7, "horizon": 9},
        2: {"varying": ("shape", "colour", "size", "texture"), "actions": 5, "max_distance": 6,
            "horizon": 8},
        3: {"varying": ("shape", "colour", "size", "texture"), "actions": 6, "max_distance": 7,
            "horizon": 10},
    }  # fmt: skip

    def encode(self, obj: Fields) -> np.ndarray:
        return ((obj["shape"] * 4 + obj["colour"]) * 2 + obj["size"]) * 2 + obj["texture"]

    def decode(self, ids: np.ndarray) -> Fields:
        ids = np.asarray(ids, dtype=np.int64)
        return {
            "shape": ids // 16,
            "colour": ids // 4 % 4,
            "size": ids // 2 % 2,
            "texture": ids % 2,
        }

    def move(self, obj: Fields, actions: np.ndarray) -> Fields:
        shape, colour, size, texture = (obj[k] for k in self.object_fields)
        striped = texture == STRIPED
        round_shape = shape < TRIANGLE  # circle or square
        flip = actions == FLIP
        return {
            "shape": np.where(actions == NEXT_SHAPE, (shape + 1) % 4, shape),
            "colour": np.where(
                (actions == PAINT) & ~striped,
                (colour + 1) % 4,
                np.where(flip & round_shape, (colour - 1) % 4, colour),
            ),
            "size": np.where(
                actions == GROW,
                LARGE,
                np.where(
                    actions == SHRINK,
                    1 - LARGE,
                    np.where(flip & ~round_shape, 1 - size, size),
                ),
            ),
            "texture": np.where(actions == TOGGLE_TEXTURE, 1 - texture, texture),
        }

    def object_tokens(self, obj: Fields) -> np.ndarray:
        return attribute_tokens(obj)

    def describe_object(self, obj: Mapping[str, Any]) -> str:
        return object_words(obj)

    def test_pair(self, start: np.ndarray, target: np.ndarray) -> np.ndarray:
        return (start + target) % 5 == 0

    def level_objects(self, level: int) -> np.ndarray:
        varying = self.levels[level]["varying"]
        ids = np.arange(self.num_objects)
        obj = self.decode(ids)
        keep = np.ones(len(ids), dtype=bool)
        for name in self.object_fields:
            if name not in varying:
                keep &= obj[name] == 0  # small, plain
        return ids[keep]

    def object_schema(self) -> dict[str, dict[str, Any]]:
        return {
            name: enum_field(range(len(values)), f"the object's {name}: {numbered(values)}")
            for name, values in ATTRIBUTES.items()
        }

    def field_schema(self, level: int) -> dict[str, dict[str, Any]]:
        varying = self.levels[level]["varying"]
        schema = {}
        for prefix, what in (("", "the start object's"), ("target_", "the target object's")):
            for name, values in ATTRIBUTES.items():
                allowed = range(len(values)) if name in varying else [0]
                schema[prefix + name] = enum_field(allowed, f"{what} {name}: {numbered(values)}")
        return schema
