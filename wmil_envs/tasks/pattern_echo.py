"""PatternEcho: answer with the action whose symbol is shown. The simplest goal-directed task."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from wmil_envs.tasks.base import Fields, Task, integer_field, symbols


class PatternEcho(Task):
    """State ``{"target": t}``; the correct action is ``t``.

    Levels (the plan's DIFFICULTY_CONFIGS, stated as fractions of ``num_actions`` so that every
    level exists for any action count): the target is drawn uniformly from the first
    ``int(target_fraction * num_actions)`` symbols; with 16 actions that is 4, 8 and 16 targets.
    """

    name = "pattern_echo"
    env_id = "WMIL/PatternEcho-v0"
    env_doc = """Answer with the action whose symbol is shown.

    ## Description
    The simplest goal-directed task: the observation shows a target symbol ``t`` and the
    correct action is ``t``. Actions are arbitrary symbols whose meaning must be learned.

    ## Action Space
    ``Discrete(num_actions)``, default 16 (at least 4).

    ## Difficulty
    Level 0, 1, 2: the target is one of the first 1/4, 1/2, all of the ``num_actions`` symbols.
"""
    question_len = 1
    levels = {
        0: {"target_fraction": 0.25},
        1: {"target_fraction": 0.5},
        2: {"target_fraction": 1.0},
    }

    def min_actions(self, level: int) -> int:
        return 4  # so that level 0 has at least one target and level 2 at least four

    def num_targets(self, level: int) -> int:
        return int(self.levels[level]["target_fraction"] * self.num_actions)

    def generate(self, rng: np.random.Generator, n: int, level: int) -> Fields:
        return {"target": rng.integers(0, self.num_targets(level), size=n)}

    def answer(self, fields: Fields) -> np.ndarray:
        return fields["target"]

    def question(self, fields: Fields) -> np.ndarray:
        return symbols(fields["target"])[:, None]

    def describe(self, fields: Mapping[str, Any]) -> str:
        return f"Echo the symbol {int(fields['target'])}."

    def field_schema(self, level: int) -> dict[str, dict[str, Any]]:
        return {"target": integer_field(0, self.num_targets(level) - 1, "the symbol to echo")}
