"""Counting: "what comes after n / before n / between a and b", answered with the number."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from wmil_envs import vocab
from wmil_envs.tasks.base import Fields, Task, digits, enum_field, integer_field, numbered
from wmil_envs.tasks.splits import check_split, in_split

KINDS = vocab.COUNT_KINDS
AFTER, BEFORE, BETWEEN = range(3)


def _answer(kind: np.ndarray, number: np.ndarray) -> np.ndarray:
    return number + 1 - 2 * (kind == BEFORE)  # n - 1 before n, n + 1 otherwise


@functools.lru_cache(maxsize=8)
def question_table(split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every question of ``split`` as ``100 * kind + n``, grouped by kind: keys, offsets, counts.

    A question is in a split by its key ``(kind, n)`` and the numbers it shows or answers.
    """
    kind, number = np.divmod(np.arange(300), 100)
    low = np.where(kind == BEFORE, 1, 0)
    high = np.where(kind == BETWEEN, 97, np.where(kind == AFTER, 98, 99))
    shown = [number, _answer(kind, number), number + 2 * (kind == BETWEEN)]
    keep = (number >= low) & (number <= high) & in_split(split, (kind, number), shown)
    keys = 100 * kind[keep] + number[keep]
    counts = np.bincount(kind[keep], minlength=3)
    return keys, np.concatenate([[0], np.cumsum(counts)[:-1]]), counts


class Counting(Task):
    """State ``{kind, n}``; action ``k`` answers the number ``k``, so ``num_actions >= 100``.

    after n: n + 1 (n in 0..98); before n: n - 1 (n in 1..99); between n and n + 2: n + 1
    (n in 0..97). Levels add question kinds; the kind is drawn uniformly, then ``n`` uniformly
    among the questions of that kind in the split.
    """

    name = "counting"
    env_id = "WMIL/Counting-v0"
    categories = {"kind": KINDS}
    env_doc = """What comes after n, before n, or between n and n + 2.

    ## Description
    Numbers 0..99 shown as digit tokens; the answer is a number given as the action. ``split=``
    as for NumericRelation, over (question kind, n) keys and the numbers shown or answered.

    ## Action Space
    ``Discrete(num_actions)``, default 100: action k answers the number k.

    ## Difficulty
    0: after. 1: after or before. 2: after, before or between.
"""
    question_len = 5  # kind, tens(n), ones(n), tens(second), ones(second) (second: "between")
    default_num_actions = 100
    levels = {
        0: {"kinds": ("after",)},
        1: {"kinds": ("after", "before")},
        2: {"kinds": ("after", "before", "between")},
    }

    def __init__(self, num_actions: int | None = None, split: str = "train"):
        super().__init__(num_actions)
        self.split = check_split(split)

    def min_actions(self, level: int) -> int:
        return 100

    def generate(self, rng: np.random.Generator, n: int, level: int) -> Fields:
        keys, offsets, counts = question_table(self.split)
        kind_ids = np.array([KINDS.index(k) for k in self.levels[level]["kinds"]])
        kind = kind_ids[rng.integers(0, len(kind_ids), size=n)]
        index = offsets[kind] + (rng.random(n) * counts[kind]).astype(np.int64)
        return {"kind": kind, "n": keys[index] % 100}

    def answer(self, fields: Fields) -> np.ndarray:
        return _answer(fields["kind"], fields["n"])

    def question(self, fields: Fields) -> np.ndarray:
        kind, number = fields["kind"], fields["n"]
        # only "between" shows a second number (n + 2 may be 100 or 101 for the other kinds);
        # padding first fills the block in one pass rather than two columns row by row
        tokens = np.full((len(number), self.question_len), vocab.PAD, dtype=np.int64)
        tokens[:, 0] = vocab.COUNT_KIND + kind
        tokens[:, 1], tokens[:, 2] = digits(number)
        between = np.flatnonzero(kind == BETWEEN)
        if between.size:
            tokens[between, 3], tokens[between, 4] = digits(number[between] + 2)
        return tokens

    def describe(self, fields: Mapping[str, Any]) -> str:
        kind, number = int(fields["kind"]), int(fields["n"])
        if kind == BETWEEN:
            return f"What number comes between {number} and {number + 2}?"
        return f"What number comes {KINDS[kind]} {number}?"

    def describe_answer(self, action: int) -> str:
        return str(int(action))

    def field_schema(self, level: int) -> dict[str, dict[str, Any]]:
        kinds = [KINDS.index(k) for k in self.levels[level]["kinds"]]
        return {
            "kind": enum_field(kinds, numbered(KINDS)),
            "n": integer_field(0, 99, "the number asked about"),
        }

    def instance_problem(self, fields: Fields, level: int) -> str | None:
        kind, n = int(fields["kind"][0]), int(fields["n"][0])
        low, high = (1, 99) if kind == BEFORE else (0, 97 if kind == BETWEEN else 98)
        if not low <= n <= high:
            return f"n={n} is outside {low}..{high} for kind {KINDS[kind]}"
        shown = [fields["n"], self.answer(fields), fields["n"] + 2 * (kind == BETWEEN)]
        if not in_split(self.split, (fields["kind"], fields["n"]), shown)[0]:
            return f"question (kind={kind}, n={n}) is not in split {self.split!r}"
        return None
