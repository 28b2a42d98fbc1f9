"""Counting: "what comes after n / before n / between a and b", answered with the number."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from wmil_envs import vocab
from wmil_envs.tasks.base import Fields, Task, digits
from wmil_envs.tasks.splits import check_split, in_split

KINDS = vocab.COUNT_KINDS
AFTER, BEFORE, BETWEEN = range(3)


class Counting(Task):
    """State ``{kind, n}``; action ``k`` answers the number ``k``, so ``num_actions >= 100``.

    after n: n + 1 (n in 0..98); before n: n - 1 (n in 1..99); between n and n + 2: n + 1
    (n in 0..97). Levels add question kinds; kinds are drawn uniformly.
    """

    name = "counting"
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
        kind_ids = np.array([KINDS.index(k) for k in self.levels[level]["kinds"]])
        kind = np.zeros(n, dtype=np.int64)
        number = np.zeros(n, dtype=np.int64)
        todo = np.arange(n)
        for _ in range(1000):
            ck = kind_ids[rng.integers(0, len(kind_ids), size=len(todo))]
            low = np.where(ck == BEFORE, 1, 0)
            high = np.where(ck == BETWEEN, 97, np.where(ck == AFTER, 98, 99))
            cn = rng.integers(low, high + 1)
            candidate = {"kind": ck, "n": cn}
            shown = [cn, self.answer(candidate), cn + 2 * (ck == BETWEEN)]
            ok = in_split(self.split, (ck, cn), shown)
            kind[todo[ok]], number[todo[ok]] = ck[ok], cn[ok]
            todo = todo[~ok]
            if len(todo) == 0:
                return {"kind": kind, "n": number}
        raise RuntimeError(f"could not draw {len(todo)} counting instances in split {self.split!r}")

    def answer(self, fields: Fields) -> np.ndarray:
        kind, number = fields["kind"], fields["n"]
        return np.where(kind == BEFORE, number - 1, number + 1)

    def question(self, fields: Fields) -> np.ndarray:
        kind, number = fields["kind"], fields["n"]
        second = np.where((kind == BETWEEN)[:, None], digits(number + 2), vocab.PAD)
        return np.concatenate([(vocab.COUNT_KIND + kind)[:, None], digits(number), second], axis=1)

    def describe(self, fields: Mapping[str, Any]) -> str:
        kind, number = int(fields["kind"]), int(fields["n"])
        if kind == BETWEEN:
            return f"What number comes between {number} and {number + 2}?"
        return f"What number comes {KINDS[kind]} {number}?"

    def describe_answer(self, action: int) -> str:
        return str(int(action))
