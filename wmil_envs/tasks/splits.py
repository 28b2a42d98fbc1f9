"""The fixed train/test partitions of the numeric tasks, so evaluation can use unseen items.

Two held-out sets, both fixed forever for a ``-v0`` id:

- held-out *numbers*: ``HELD_OUT_NUMBERS``, ten numbers that between them use every tens digit
  and every ones digit once, so each is a new combination of digits the agent has seen;
- held-out *pairs*: about one in five ordered keys ``(x, y)`` (for NumericRelation ``(a, b)``,
  for Counting ``(question kind, n)``), those with ``pair_hash(x, y) % 5 == 0``, where
  ``pair_hash`` is Knuth's multiplicative hash of ``100 * x + y`` (see :func:`pair_hash`).

Splits: ``train`` = neither held-out pair nor held-out number; ``test`` = held-out pair with no
held-out number (pairs never trained on, made of numbers trained on); ``test_numbers`` = any
held-out number; ``all`` = everything.
"""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "test", "test_numbers", "all")
HELD_OUT_NUMBERS = (3, 17, 28, 34, 42, 59, 65, 76, 81, 90)
_held_out = np.zeros(100, dtype=bool)
_held_out[list(HELD_OUT_NUMBERS)] = True


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not one of {', '.join(SPLITS)}")
    return split


def pair_hash(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``((100 * x + y) * 2654435761 mod 2**32) >> 16``, a fixed, well-mixed integer per pair."""
    key = (100 * np.asarray(x, dtype=np.uint64) + np.asarray(y, dtype=np.uint64)) % 2**32
    return ((key * np.uint64(2654435761)) % np.uint64(2**32)) >> np.uint64(16)


def is_test_pair(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return pair_hash(x, y) % np.uint64(5) == 0


def is_held_out_number(numbers: np.ndarray) -> np.ndarray:
    """True for held-out numbers; numbers outside 0..99 are never held out."""
    numbers = np.asarray(numbers)
    inside = (numbers >= 0) & (numbers < 100)
    return inside & _held_out[np.clip(numbers, 0, 99)]


def in_split(
    split: str, pair: tuple[np.ndarray, np.ndarray], numbers: list[np.ndarray]
) -> np.ndarray:
    """Whether each item (its pair key and the numbers it shows or answers) is in ``split``."""
    if split == "all":
        return np.ones(np.shape(pair[0]), dtype=bool)
    any_held = np.zeros(np.shape(pair[0]), dtype=bool)
    for number in numbers:
        any_held |= is_held_out_number(number)
    if split == "test_numbers":
        return any_held
    test_pair = is_test_pair(*pair)
    return ~any_held & (test_pair if split == "test" else ~test_pair)
