"""What every task provides: batched instance generation, the rule's answer, and question tokens.

A task's rules are written once, over numpy batches (leading dimension ``n``). The single env is
the batch of one and the native vector env is the batch of many, so the two cannot drift apart.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from wmil_envs import vocab

Fields = dict[str, np.ndarray]
"""An instance batch: attribute name -> array whose first dimension is the batch."""


class Task(ABC):
    """A family of one-question problems with a single correct action per instance.

    Subclasses set ``name``, ``question_len``, ``levels`` (the documented settings per
    difficulty level) and ``default_num_actions``, and implement the four batched rules below.
    """

    name: ClassVar[str]
    question_len: ClassVar[int]
    levels: ClassVar[Mapping[int, Mapping[str, Any]]]
    default_num_actions: ClassVar[int] = 16

    def __init__(self, num_actions: int | None = None):
        if num_actions is None:
            num_actions = self.default_num_actions
        try:
            num_actions = operator.index(num_actions)
        except TypeError:
            raise TypeError(f"num_actions must be an integer, got {num_actions!r}") from None
        smallest = min(self.min_actions(level) for level in self.levels)
        if not smallest <= num_actions <= vocab.MAX_ACTIONS:
            raise ValueError(
                f"num_actions={num_actions} is outside what {self.name} allows: "
                f"{smallest}..{vocab.MAX_ACTIONS}"
            )
        self.num_actions = num_actions

    @property
    def token(self) -> int:
        """The task token that starts every observation of this task."""
        return vocab.TASK + vocab.TASK_NAMES.index(self.name)

    @property
    def obs_len(self) -> int:
        """Observation length: task token, question, last action, feedback."""
        return self.question_len + 3

    def check_level(self, level: Any) -> int:
        """Return ``level`` as an int, or raise naming the level and what is allowed."""
        try:
            level = operator.index(level)
        except TypeError:
            raise TypeError(f"difficulty must be an integer, got {level!r}") from None
        if level not in self.levels:
            raise ValueError(
                f"difficulty={level} is not a level of {self.name}; levels are "
                f"{min(self.levels)}..{max(self.levels)}"
            )
        needed = self.min_actions(level)
        if self.num_actions < needed:
            raise ValueError(
                f"{self.name} difficulty {level} has answers up to {needed - 1}, so it needs "
                f"num_actions >= {needed}; got num_actions={self.num_actions}"
            )
        return level

    @property
    def max_level(self) -> int:
        return max(self.levels)

    @abstractmethod
    def min_actions(self, level: int) -> int:
        """Smallest action space that holds every answer at ``level``."""

    @abstractmethod
    def generate(self, rng: np.random.Generator, n: int, level: int) -> Fields:
        """Draw ``n`` instances at ``level``. The only random part of an episode."""

    @abstractmethod
    def answer(self, fields: Fields) -> np.ndarray:
        """The rule's correct action for each instance (the oracle), shape ``(n,)``."""

    @abstractmethod
    def question(self, fields: Fields) -> np.ndarray:
        """Question tokens, shape ``(n, question_len)``, padded with ``vocab.PAD``."""

    @abstractmethod
    def describe(self, fields: Mapping[str, Any]) -> str:
        """One instance as a human sentence, e.g. "Is 28 the predecessor of 29?"."""

    def describe_answer(self, action: int) -> str:
        """What an action means as an answer, for text ("yes", "35", "action 5")."""
        return f"action {action}"


def symbols(values: np.ndarray) -> np.ndarray:
    """Symbol tokens for integer values (echo targets, sequence elements)."""
    return vocab.SYMBOL + values


_TENS_TOKENS = vocab.DIGIT + np.arange(100) // 10
_ONES_TOKENS = vocab.DIGIT + np.arange(100) % 10


def digits(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Digit tokens ``(tens, ones)`` of each number 0..99, each shaped like ``numbers``."""
    numbers = np.asarray(numbers)
    if numbers.size and (numbers.min() < 0 or numbers.max() > 99):
        raise ValueError(f"numbers must lie in 0..99 to be shown as digits, got {numbers}")
    return _TENS_TOKENS[numbers], _ONES_TOKENS[numbers]
