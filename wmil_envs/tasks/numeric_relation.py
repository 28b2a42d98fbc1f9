"""NumericRelation: yes/no questions "is R(a, b)?" over whole numbers 0..99."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from wmil_envs import vocab
from wmil_envs.tasks.base import Fields, Task, digits
from wmil_envs.tasks.splits import check_split, in_split

NO, YES = 0, 1
RELATIONS = vocab.RELATIONS


def relation_holds(relation: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rule: whether ``R(a, b)`` is true, for relation ids into ``RELATIONS``; batched."""
    truths = np.stack(
        [
            a == b + 1,  # successor: a is the successor of b
            a == b - 1,  # predecessor: a is the predecessor of b
            a == b + 2,  # add_2: a equals b + 2
            a % 2 == b % 2,  # same_parity
            a // 10 == b // 10,  # same_tens
            a % 10 == b % 10,  # same_ones
            a % 10 + b % 10 == 10,  # makes_ten: the ones of a and b make ten
            a > b,  # greater
            a < b,  # smaller
        ]
    )
    return np.take_along_axis(truths, relation[None, :], axis=0)[0]


QUESTIONS = {
    "successor": "Is {a} the successor of {b}?",
    "predecessor": "Is {a} the predecessor of {b}?",
    "add_2": "Is {a} equal to {b} + 2?",
    "same_parity": "Do {a} and {b} have the same parity?",
    "same_tens": "Do {a} and {b} have the same tens digit?",
    "same_ones": "Do {a} and {b} have the same ones digit?",
    "makes_ten": "Do the ones of {a} and {b} make ten?",
    "greater": "Is {a} greater than {b}?",
    "smaller": "Is {a} smaller than {b}?",
}

# Hard negatives: b is drawn, then a = b + one of these offsets, so the pair just misses the
# relation (a = b + 2 for successor). Pairs that happen to satisfy it are redrawn.
_HARD_OFFSETS = {
    "successor": (2, 0, -1),
    "predecessor": (-2, 0, 1),
    "add_2": (1, 3, 0, -2),
    "same_parity": (1, -1, 3, -3),
    "same_tens": (10, -10, 1, -1),
    "same_ones": (1, -1, 11, -11),
    "makes_ten": (None,),  # handled below: ones of a and b add to 9 or 11
    "greater": (0, -1),
    "smaller": (0, 1),
}


class NumericRelation(Task):
    """State ``{relation, a, b}``; action 1 answers yes, action 0 no; other actions are wrong.

    Answers are balanced: yes with probability 1/2. Of the no-answers, a fraction
    ``hard_negatives`` are near misses (a = b + 2 for successor, the ones making 9 or 11 for
    makes_ten, a = b for greater). Relations are drawn uniformly from ``relations``.
    """

    name = "numeric_relation"
    question_len = 5  # relation, tens(a), ones(a), tens(b), ones(b)
    default_num_actions = 2
    levels = {
        0: {"max_number": 19, "hard_negatives": 0.0},
        1: {"max_number": 99, "hard_negatives": 0.0},
        2: {"max_number": 99, "hard_negatives": 0.5},
    }

    def __init__(
        self,
        num_actions: int | None = None,
        relations: Sequence[str] | None = None,
        split: str = "train",
    ):
        super().__init__(num_actions)
        if relations is None:
            relations = RELATIONS
        if isinstance(relations, str):
            relations = [relations]
        unknown = [r for r in relations if r not in RELATIONS]
        if unknown or not relations:
            raise ValueError(
                f"unknown relation(s) {unknown or relations!r}; choose from {', '.join(RELATIONS)}"
            )
        self.relations = tuple(dict.fromkeys(relations))
        self.relation_ids = np.array([RELATIONS.index(r) for r in self.relations])
        self.split = check_split(split)

    def min_actions(self, level: int) -> int:
        return 2

    def _propose(self, rng, relation, want_yes, hard, top):
        """Candidate pairs likely to have the wanted answer; the rule decides in the end."""
        n = len(relation)
        a = rng.integers(0, top + 1, size=n)
        b = rng.integers(0, top + 1, size=n)
        # positives built from b (or a) so that rare relations are not left to chance
        pos_offset = np.array([1, -1, 2])[np.minimum(relation, 2)]
        a = np.where(want_yes & (relation <= 2), b + pos_offset, a)
        b = np.where(want_yes & (relation == 3), b - (b - a) % 2, b)
        b = np.where(want_yes & (relation == 4), a // 10 * 10 + b % 10, b)
        b = np.where(want_yes & (relation == 5), b // 10 * 10 + a % 10, b)
        b = np.where(want_yes & (relation == 6), b // 10 * 10 + (10 - a % 10) % 10, b)
        swap = want_yes & (((relation == 7) & (a < b)) | ((relation == 8) & (a > b)))
        a, b = np.where(swap, b, a), np.where(swap, a, b)
        # hard negatives: a near miss of b
        for rid, name in enumerate(RELATIONS):
            rows = hard & (relation == rid)
            if not rows.any():
                continue
            if name == "makes_ten":
                ones = np.where(rng.random(n) < 0.5, 9, 11) - a % 10
                b = np.where(rows, b // 10 * 10 + ones % 10, b)
            else:
                offsets = np.array(_HARD_OFFSETS[name])
                a = np.where(rows, b + offsets[rng.integers(0, len(offsets), size=n)], a)
        return a, b

    def generate(self, rng: np.random.Generator, n: int, level: int) -> Fields:
        settings = self.levels[level]
        top = settings["max_number"]
        relation = self.relation_ids[rng.integers(0, len(self.relation_ids), size=n)]
        want_yes = rng.random(n) < 0.5
        hard = ~want_yes & (rng.random(n) < settings["hard_negatives"])
        a = np.zeros(n, dtype=np.int64)
        b = np.zeros(n, dtype=np.int64)
        todo = np.arange(n)
        for _ in range(1000):
            ca, cb = self._propose(rng, relation[todo], want_yes[todo], hard[todo], top)
            ok = (
                (ca >= 0)
                & (ca <= top)
                & (cb >= 0)
                & (cb <= top)
                & (relation_holds(relation[todo], ca, cb) == want_yes[todo])
                & in_split(self.split, (ca, cb), [ca, cb])
            )
            a[todo[ok]], b[todo[ok]] = ca[ok], cb[ok]
            todo = todo[~ok]
            if len(todo) == 0:
                return {"relation": relation, "a": a, "b": b}
        raise RuntimeError(  # only reachable with a split that excludes every pair of a relation
            f"could not draw {len(todo)} numeric_relation instances in split {self.split!r}"
        )

    def answer(self, fields: Fields) -> np.ndarray:
        holds = relation_holds(fields["relation"], fields["a"], fields["b"])
        return np.where(holds, YES, NO)

    def question(self, fields: Fields) -> np.ndarray:
        relation = (vocab.RELATION + fields["relation"])[:, None]
        return np.concatenate([relation, digits(fields["a"]), digits(fields["b"])], axis=1)

    def describe(self, fields: Mapping[str, Any]) -> str:
        template = QUESTIONS[RELATIONS[int(fields["relation"])]]
        return template.format(a=int(fields["a"]), b=int(fields["b"]))

    def describe_answer(self, action: int) -> str:
        return {NO: "no", YES: "yes"}.get(int(action), f"action {action} (neither yes nor no)")
