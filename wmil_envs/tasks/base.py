"""What every task provides: its registry record, batched rules, question tokens and text.

A task's rules are written once, over numpy batches (leading dimension ``n``). The single env is
the batch of one and the native vector env is the batch of many, so the two cannot drift apart.

A task class is also its own registry record: it declares everything the rest of the project
derives from it (env id, env documentation, tokens, LLM field schema, evaluation categories,
constructor options), so adding a task is its task file plus one line in ``wmil_envs.tasks``.
"""

from __future__ import annotations

import inspect
import operator
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from wmil_envs import vocab

Fields = dict[str, np.ndarray]
"""An instance batch: attribute name -> array whose first dimension is the batch."""


class Task(ABC):
    """A family of problems, each instance with a correct action given by the task's rules.

    Subclasses set the class attributes below and implement the batched rules (``generate``,
    ``answer``, ``question``), the text (``describe``) and the LLM field schema
    (``field_schema``). Constructor keywords other than ``num_actions`` are the task's options
    (e.g. ``split``); each is kept as the attribute of the same name.
    """

    name: ClassVar[str]
    """Short name used in configs and prompts, e.g. ``"pattern_echo"``."""
    env_id: ClassVar[str]
    """Gymnasium id, e.g. ``"WMIL/PatternEcho-v0"``; the env classes are ``<ClassName>Env``
    and ``<ClassName>VectorEnv`` in ``wmil_envs.envs``."""
    env_doc: ClassVar[str]
    """The env's documentation: a summary line, then Gymnasium's Description, Action Space and
    Difficulty sections (the sections every WMIL env shares are added after it)."""
    question_len: ClassVar[int]
    levels: ClassVar[Mapping[int, Mapping[str, Any]]]
    """The documented settings of each difficulty level."""
    default_num_actions: ClassVar[int] = 16
    tokens: ClassVar[tuple[str, ...]] = ()
    """Token names this task adds to the vocabulary (appended at the end when registered, after
    the task token ``<task:NAME>``); existing names (digits, symbols...) are simply reused."""
    has_dynamics: ClassVar[bool] = False
    """False for the question tasks (the action never changes the question, so ``transition``
    is the identity and the state keeps its question and answer); True for worlds whose
    actions change the state (``wmil_envs.tasks.world.World``)."""
    categories: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    """Instance fields whose values are categories to score separately in evaluation:
    field name -> the name of each value (e.g. ``{"kind": ("after", "before", "between")}``)."""

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

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """The task's constructor options besides ``num_actions`` (e.g. ``("split",)``)."""
        parameters = inspect.signature(cls.__init__).parameters
        return tuple(name for name in parameters if name not in ("self", "num_actions"))

    def options(self) -> dict[str, Any]:
        """This task's option values, as plain JSON values (they rebuild it with make_task)."""
        values = {name: getattr(self, name) for name in self.option_names()}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    @property
    def token(self) -> int:
        """The task token that starts every observation of this task."""
        return vocab.token_id(vocab.task_token_name(self.name))

    @property
    def vocab_size(self) -> int:
        """Vocabulary size of this task's observations (fixed when the task is registered)."""
        return vocab.size_for_task(self.name)

    @property
    def obs_len(self) -> int:
        """Observation length: task token, question, last action, feedback."""
        return self.question_len + 3

    def check_level(self, level: Any) -> int:
        """Return ``level`` as an int, or raise naming the level and what is allowed."""
        try:
            if isinstance(level, (bool, np.bool_)):
                raise TypeError
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

    # --- dynamics: the defaults are the question tasks' (one question, one answer) ---
    def reward(self, fields: Fields, actions: np.ndarray) -> np.ndarray:
        """Goal reward in [0, 1] of each action, shape ``(n,)``: 1.0 for the rule's answer."""
        return (np.asarray(actions) == self.answer(fields)).astype(np.float64)

    def transition(self, fields: Fields, actions: np.ndarray) -> Fields:
        """The instance fields after ``actions``; a question stays as it is."""
        return fields

    def feedback(self, fields: Fields, actions: np.ndarray, success: np.ndarray) -> np.ndarray:
        """The feedback token the next observation shows: ``<correct>`` or ``<wrong>``."""
        return np.where(success, vocab.CORRECT, vocab.WRONG)

    @classmethod
    def horizon(cls, level: int) -> int | None:
        """Steps per episode at ``level`` when the env is given no ``episode_length``; None:
        one step (a question tasks' default). Worlds set a horizon per level."""
        return cls.levels[level].get("horizon")

    def optimal_steps(self, fields: Fields) -> np.ndarray | None:
        """Fewest steps that reach each instance's goal (worlds), or None (question tasks)."""
        return None

    def actions_text(self) -> str:
        """The action space as an LLM parent reads it."""
        return f"integers 0..{self.num_actions - 1}"

    def describe_answer(self, action: int) -> str:
        """What an action means as an answer, for text ("yes", "35", "action 5")."""
        return f"action {action}"

    @abstractmethod
    def field_schema(self, level: int) -> dict[str, dict[str, Any]]:
        """JSON schema of each instance field at ``level``: what an LLM parent may generate.

        Integer fields only (see :func:`integer_field` and :func:`enum_field`); the values
        allowed should be exactly those ``generate`` can draw at ``level``.
        """

    def instance_problem(self, fields: Fields, level: int) -> str | None:
        """What makes one schema-valid instance (a batch of one) invalid across fields, or None.

        For rules a per-field schema cannot state (a sequence leaving the action range, a pair
        outside the split...). The answer's range is checked by the caller.
        """
        return None


def integer_field(low: int, high: int, text: str) -> dict[str, Any]:
    """Schema of an integer field in ``low..high``."""
    return {"type": "integer", "minimum": int(low), "maximum": int(high), "description": text}


def enum_field(values, text: str) -> dict[str, Any]:
    """Schema of an integer field taking one of ``values``."""
    return {"type": "integer", "enum": sorted(int(v) for v in values), "description": text}


def numbered(names) -> str:
    """``"0=circle, 1=square, ..."``: what each integer value of a category field means."""
    return ", ".join(f"{i}={name}" for i, name in enumerate(names))


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
