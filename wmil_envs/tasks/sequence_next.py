"""SequenceNext: answer with the next number of a pattern shown as symbols."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from wmil_envs import vocab
from wmil_envs.tasks.base import Fields, Task, enum_field, integer_field, numbered, symbols

PATTERNS = ("arithmetic", "alternating", "growing")
"""arithmetic: s, s+d, s+2d, ... ; alternating: a, b, a, b, ... (a != b);
growing: s, s+1, s+3, s+6, ... (the step grows by one each time)."""


def values_at(
    pattern: np.ndarray,
    start: np.ndarray,
    step: np.ndarray,
    other: np.ndarray,
    position: np.ndarray,
) -> np.ndarray:
    """Each pattern's value at ``position`` (0 is the start); ``position`` broadcasts against
    the batch: the ``(n,)`` lengths give the answers, ``arange(k)[:, None]`` the first ``k``
    values position-major, ``(k, n)``, so every numpy loop runs over the whole batch.

    Value = start + multiplier * term: arithmetic ``step * j``, alternating
    ``(other - start) * (j % 2)``, growing ``1 * j (j + 1) / 2`` (any pattern value but 0 and 1
    is growing).
    """
    if not pattern.any():  # all arithmetic (levels 0-3): skip choosing between patterns
        return start + step * position
    arithmetic, alternating = pattern == 0, pattern == 1
    multiplier = np.where(arithmetic, step, np.where(alternating, other - start, 1))
    term = np.where(
        arithmetic, position, np.where(alternating, position % 2, position * (position + 1) // 2)
    )
    return start + multiplier * term


def pattern_values(
    pattern: np.ndarray, start: np.ndarray, step: np.ndarray, other: np.ndarray, count: int
) -> np.ndarray:
    """The first ``count`` values of each pattern, shape ``(n, count)``; the rule, batched."""
    return values_at(pattern, start, step, other, np.arange(count)[:, None]).T


class SequenceNext(Task):
    """State ``{pattern, start, step, other, length}``: the first ``length`` elements of the
    pattern are shown and the correct action is the next element.

    Every element and the answer lie in ``0..num_actions-1``. Levels: ``length`` elements are
    shown; ``patterns`` are drawn uniformly; an arithmetic step is drawn from ``steps``.
    """

    name = "sequence_next"
    env_id = "WMIL/SequenceNext-v0"
    env_doc = """Answer with the next number of a pattern.

    ## Description
    The observation shows 2 to 4 elements of a pattern as symbols; the correct action is the
    next element. Every element and the answer lie in ``0..num_actions-1``.

    ## Action Space
    ``Discrete(num_actions)``, default 16 (level 3 and 4 need 13).

    ## Difficulty
    0: two elements, +1. 1: three elements, +1. 2: three elements, step 1..3. 3: four elements,
    step -3..3 (not 0). 4: four elements; arithmetic, alternating (a, b, a, b) or growing
    (s, s+1, s+3, s+6).
"""
    question_len = 4
    levels = {
        0: {"length": 2, "patterns": ("arithmetic",), "steps": (1,)},
        1: {"length": 3, "patterns": ("arithmetic",), "steps": (1,)},
        2: {"length": 3, "patterns": ("arithmetic",), "steps": (1, 2, 3)},
        3: {"length": 4, "patterns": ("arithmetic",), "steps": (-3, -2, -1, 1, 2, 3)},
        4: {"length": 4, "patterns": PATTERNS, "steps": (-3, -2, -1, 1, 2, 3)},
    }

    def _span(self, level: int, pattern: str) -> int:
        """Largest distance between two values of one sequence (answer included)."""
        length = self.levels[level]["length"]
        if pattern == "arithmetic":
            return length * max(abs(d) for d in self.levels[level]["steps"])
        if pattern == "alternating":
            return 1
        return length * (length + 1) // 2

    def min_actions(self, level: int) -> int:
        return 1 + max(self._span(level, p) for p in self.levels[level]["patterns"])

    def generate(self, rng: np.random.Generator, n: int, level: int) -> Fields:
        settings = self.levels[level]
        length, top = settings["length"], self.num_actions - 1
        # patterns[integers(...)] draws what rng.choice draws, without its argument checks
        patterns = np.array([PATTERNS.index(p) for p in settings["patterns"]])
        pattern = patterns[rng.integers(0, len(patterns), size=n)]
        steps = np.array(settings["steps"])
        step = steps[rng.integers(0, len(steps), size=n)]
        # from the start to the answer: arithmetic sequences rise by length*step, growing ones
        # by length*(length+1)/2, alternating ones by 0
        rise = length * step
        if pattern.any():
            rise = np.where(pattern == 2, length * (length + 1) // 2, rise)
            rise = np.where(pattern == 1, 0, rise)
        low = np.maximum(0, -rise)
        high = top - np.maximum(0, rise)
        if n and len(patterns) == len(steps) == 1:  # one rise, so one range for all (levels 0-1)
            # numpy draws the same numbers from scalar bounds as from arrays of them, 3x faster
            start = rng.integers(low[0], high[0] + 1, size=n)
        else:
            start = rng.integers(low, high + 1)
        other = rng.integers(0, top, size=n)
        other = other + (other >= start)  # alternating: a second value different from the first
        return {
            "pattern": pattern,
            "start": start,
            "step": step,
            "other": other,
            "length": np.full(n, length),
        }

    def sequence(self, fields: Fields) -> np.ndarray:
        """The shown elements and the answer, shape ``(n, max length + 1)``."""
        return pattern_values(
            fields["pattern"],
            fields["start"],
            fields["step"],
            fields["other"],
            self.question_len + 1,
        )

    def answer(self, fields: Fields) -> np.ndarray:
        return values_at(
            fields["pattern"], fields["start"], fields["step"], fields["other"], fields["length"]
        )

    def question(self, fields: Fields) -> np.ndarray:
        positions = np.arange(self.question_len)[:, None]
        values = values_at(
            fields["pattern"], fields["start"], fields["step"], fields["other"], positions
        )
        shown = positions < fields["length"]
        return np.where(shown, symbols(values), vocab.PAD).T  # (question_len, n) -> (n, ...)

    def describe(self, fields: Mapping[str, Any]) -> str:
        one = {k: np.asarray(v)[None] for k, v in fields.items()}
        values = self.sequence(one)[0, : int(fields["length"])]
        shown = ", ".join(str(int(v)) for v in values)
        return f"What comes next: {shown}, ?"

    def field_schema(self, level: int) -> dict[str, dict[str, Any]]:
        settings, top = self.levels[level], self.num_actions - 1
        return {
            "pattern": enum_field(
                [PATTERNS.index(p) for p in settings["patterns"]], numbered(PATTERNS)
            ),
            "start": integer_field(0, top, "first element"),
            "step": enum_field(settings["steps"], "step of an arithmetic sequence"),
            "other": integer_field(0, top, "second value of an alternating sequence (!= start)"),
            "length": enum_field([settings["length"]], "number of elements shown"),
        }

    def instance_problem(self, fields: Fields, level: int) -> str | None:
        values = self.sequence(fields)[0, : int(fields["length"][0]) + 1]
        if values.min() < 0 or values.max() >= self.num_actions:
            return f"sequence {values.tolist()} leaves 0..{self.num_actions - 1}"
        alternating = PATTERNS.index("alternating")
        if int(fields["pattern"][0]) == alternating and fields["other"][0] == fields["start"][0]:
            return "an alternating sequence needs other != start"
        return None
