"""NumericRelation: yes/no questions "is R(a, b)?" over whole numbers 0..99."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from wmil_envs import vocab
from wmil_envs.tasks.base import Fields, Task, digits, enum_field, integer_field, numbered
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


def near_miss(relation: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs that only just miss the relation: the hard negatives (where it does not hold)."""
    d = a - b
    ones_sum = a % 10 + b % 10
    near = np.stack(
        [
            (d == 2) | (d == 0) | (d == -1),  # successor: a = b + 2, a = b, a = b - 1
            (d == -2) | (d == 0) | (d == 1),  # predecessor
            (d == 1) | (d == 3) | (d == 0),  # add_2
            (abs(d) == 1) | (abs(d) == 3),  # same_parity: neighbours
            abs(d) <= 10,  # same_tens: within ten of each other
            abs(a % 10 - b % 10) == 1,  # same_ones: ones one apart
            (ones_sum == 9) | (ones_sum == 11),  # makes_ten: ones make 9 or 11
            (d == 0) | (d == -1),  # greater: equal or one less
            (d == 0) | (d == 1),  # smaller: equal or one more
        ]
    )
    hit = np.take_along_axis(near, relation[None, :], axis=0)[0]
    return hit & ~relation_holds(relation, a, b)


YES_PAIRS, NO_PAIRS, NEAR_MISS_PAIRS = range(3)


@functools.lru_cache(maxsize=1)
def truth_table() -> np.ndarray:
    """``relation_holds`` for every relation and pair 0..99: ``table[r, 100 * a + b]``."""
    a, b = np.divmod(np.arange(100 * 100), 100)
    return np.stack([relation_holds(np.full(len(a), r), a, b) for r in range(len(RELATIONS))])


@functools.lru_cache(maxsize=64)
def pair_tables(
    max_number: int, split: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of ``0..max_number`` in ``split``, grouped by (relation, kind of answer).

    Returns ``(a, b, offsets, counts)``: group ``(r, k)`` (k: yes, no, near miss) is the pairs
    ``(a[i], b[i])`` for ``i`` in ``offsets[r, k] : offsets[r, k] + counts[r, k]``. Drawing an
    index uniformly inside a group is then one vectorised step with no rejection.
    """
    a, b = np.divmod(np.arange(100 * 100), 100)
    keep = (a <= max_number) & (b <= max_number) & in_split(split, (a, b), [a, b])
    a, b = a[keep], b[keep]
    groups = []
    for rid in range(len(RELATIONS)):
        relation = np.full(len(a), rid)
        holds = relation_holds(relation, a, b)
        near = near_miss(relation, a, b)
        groups += [holds, ~holds, near]
    counts = np.array([g.sum() for g in groups]).reshape(len(RELATIONS), 3)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).reshape(len(RELATIONS), 3)
    return (np.concatenate([a[g] for g in groups]), np.concatenate([b[g] for g in groups]),
            offsets, counts)  # fmt: skip


class NumericRelation(Task):
    """State ``{relation, a, b}``; action 1 answers yes, action 0 no; other actions are wrong.

    The relation is drawn uniformly from ``relations``; the answer is yes with probability 1/2.
    A yes-pair is drawn uniformly from all pairs of the split where the relation holds; a
    no-pair, with probability ``hard_negatives``, uniformly from the near misses
    (:func:`near_miss`: a = b + 2 for successor, ones making 9 or 11 for makes_ten, a = b for
    greater), otherwise uniformly from all pairs where it does not hold.
    """

    name = "numeric_relation"
    env_id = "WMIL/NumericRelation-v0"
    categories = {"relation": RELATIONS}
    env_doc = """Yes/no questions "is R(a, b)?" over whole numbers.

    ## Description
    Relations: successor (a = b + 1), predecessor (a = b - 1), add_2 (a = b + 2), same_parity,
    same_tens, same_ones, makes_ten (the ones of a and b add to ten), greater (a > b), smaller
    (a < b). Numbers are shown as digit tokens (tens, ones). Answers are yes about half the
    time; some no-answers are near misses. ``relations=`` picks a subset; ``split=`` one of
    ``train`` (default), ``test`` (held-out pairs), ``test_numbers`` (held-out numbers), ``all``
    (see ``wmil_envs.tasks.splits``).

    ## Action Space
    ``Discrete(num_actions)``, default 2: action 0 is no, 1 is yes; any other action is wrong.

    ## Difficulty
    0: numbers 0..19, no near misses. 1: numbers 0..99, no near misses. 2: numbers 0..99, half
    of the no-answers are near misses.
"""
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
        if not relations:
            raise ValueError(
                f"relations={relations!r} is empty; choose at least one of {', '.join(RELATIONS)} "
                "(or None for all)"
            )
        unknown = [r for r in relations if r not in RELATIONS]
        if unknown:
            raise ValueError(f"unknown relation(s) {unknown!r}; choose from {', '.join(RELATIONS)}")
        self.relations = tuple(dict.fromkeys(relations))
        self.relation_ids = np.array([RELATIONS.index(r) for r in self.relations])
        self.split = check_split(split)

    def min_actions(self, level: int) -> int:
        return 2

    def check_level(self, level: Any) -> int:
        level = super().check_level(level)
        settings = self.levels[level]
        *_, counts = pair_tables(settings["max_number"], self.split)
        kinds = [YES_PAIRS, NO_PAIRS] + ([NEAR_MISS_PAIRS] if settings["hard_negatives"] else [])
        for rid in self.relation_ids:
            for kind in kinds:
                if counts[rid, kind] == 0:
                    raise ValueError(
                        f"split {self.split!r} at difficulty {level} has no "
                        f"{('yes', 'no', 'near-miss')[kind]} pairs for {RELATIONS[rid]}"
                    )
        return level

    def generate(self, rng: np.random.Generator, n: int, level: int) -> Fields:
        settings = self.levels[level]
        a, b, offsets, counts = pair_tables(settings["max_number"], self.split)
        # four uniform draws per instance, in this order: relation, yes/no, near miss or not,
        # which pair (drawn one at a time, each dropped once used: a smaller peak of memory)
        relation = self.relation_ids[(rng.random(n) * len(self.relation_ids)).astype(np.int64)]
        # yes below 1/2; else no, or a near miss (NO_PAIRS + 1) below hard_negatives
        yes_no = rng.random(n)
        kind = (yes_no >= 0.5) * (NO_PAIRS + (rng.random(n) < settings["hard_negatives"]))
        group = relation * 3 + kind
        index = offsets.ravel()[group] + (rng.random(n) * counts.ravel()[group]).astype(np.int64)
        return {"relation": relation, "a": a[index], "b": b[index]}

    def answer(self, fields: Fields) -> np.ndarray:
        a, b = fields["a"], fields["b"]
        # every pair in 0..99 (four reductions, no temporaries): the rule, looked up from its
        # table over every pair (flat: faster)
        if a.size == 0 or (min(a.min(), b.min()) >= 0 and max(a.max(), b.max()) < 100):
            index = fields["relation"] * (100 * 100) + 100 * a + b
            return truth_table().ravel().take(index).astype(np.int64)
        return np.where(relation_holds(fields["relation"], a, b), YES, NO)

    def question(self, fields: Fields) -> np.ndarray:
        tokens = np.empty((len(fields["a"]), self.question_len), dtype=np.int64)
        tokens[:, 0] = vocab.RELATION + fields["relation"]
        tokens[:, 1], tokens[:, 2] = digits(fields["a"])
        tokens[:, 3], tokens[:, 4] = digits(fields["b"])
        return tokens

    def describe(self, fields: Mapping[str, Any]) -> str:
        template = QUESTIONS[RELATIONS[int(fields["relation"])]]
        return template.format(a=int(fields["a"]), b=int(fields["b"]))

    def describe_answer(self, action: int) -> str:
        return {NO: "no", YES: "yes"}.get(int(action), f"action {action} (neither yes nor no)")

    def field_schema(self, level: int) -> dict[str, dict[str, Any]]:
        top = self.levels[level]["max_number"]
        return {
            "relation": enum_field(self.relation_ids, numbered(RELATIONS)),
            "a": integer_field(0, top, "first number"),
            "b": integer_field(0, top, "second number"),
        }

    def instance_problem(self, fields: Fields, level: int) -> str | None:
        a, b = fields["a"], fields["b"]
        if not in_split(self.split, (a, b), [a, b])[0]:
            return f"pair (a={int(a[0])}, b={int(b[0])}) is not in split {self.split!r}"
        return None
