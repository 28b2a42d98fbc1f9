"""Parents: who generates instances, judges actions and gives the next state.

The environment asks its parent for all three, batch-first, so a rule-based parent and an LLM
parent (package ``teachers``) are interchangeable. The deterministic parent applies the task's
rules; it is the reference every LLM answer is checked against.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from wmil_envs.state import StateBatch
from wmil_envs.tasks.base import Task

SUCCESS_THRESHOLD = 0.9
"""A step succeeds when its goal reward exceeds this (the plan: ``success = r_goal > 0.9``)."""


@runtime_checkable
class Parent(Protocol):
    """Instance generation, reward and transition, each over a batch of states."""

    def generate(self, task: Task, rng: np.random.Generator, n: int, level: int) -> StateBatch:
        """``n`` new instances of ``task`` at difficulty ``level``, drawn with ``rng``."""
        ...

    def reward(self, states: StateBatch, actions: np.ndarray) -> np.ndarray:
        """Goal reward in [0, 1] for taking ``actions`` in ``states``, shape ``(n,)``, float64."""
        ...

    def transition(
        self, states: StateBatch, actions: np.ndarray, rewards: np.ndarray
    ) -> StateBatch:
        """The states after ``actions`` (given the rewards just computed for them)."""
        ...


# A parent may also define ``stats() -> dict[str, float]`` (calls, cache hits, disagreements,
# latency...): the environments then add it to each step's ``info["parent"]``.


class DeterministicParent:
    """The task's rules, no randomness but the instance draw.

    - generate: the task's batched generator with the environment's RNG (the only random part);
    - reward: 1.0 when the action equals the rule's answer, else 0.0;
    - transition: the question stays; the last action and its feedback (correct / wrong) are
      shown. The next state is thus a deterministic function of (state, action), which a world
      model can learn exactly.
    """

    def generate(self, task: Task, rng: np.random.Generator, n: int, level: int) -> StateBatch:
        return StateBatch.new(task, task.generate(rng, n, level))

    def reward(self, states: StateBatch, actions: np.ndarray) -> np.ndarray:
        return (np.asarray(actions) == states.answer).astype(np.float64)

    def transition(
        self, states: StateBatch, actions: np.ndarray, rewards: np.ndarray
    ) -> StateBatch:
        return states.after(actions, np.asarray(rewards) > SUCCESS_THRESHOLD)

    def __repr__(self) -> str:
        return "DeterministicParent()"


def resolve_parent(parent: Parent | str | None) -> Parent:
    """``None`` or ``"deterministic"`` -> the rules; a Parent passes through; else a clear error.

    LLM parents given by name (``"openai:MODEL"``, ``"anthropic:MODEL"``, ``"replay:PATH"``) are
    built by the optional ``teachers`` package, which this package never imports at load time.
    """
    if parent is None or parent == "deterministic":
        return DeterministicParent()
    if isinstance(parent, str):
        provider = parent.split(":", 1)[0]
        if ":" in parent and provider in ("openai", "anthropic", "replay"):
            try:
                from teachers import make_parent  # optional extra
            except ImportError as error:
                raise ImportError(
                    f"parent={parent!r} needs the LLM teachers: pip install 'wmil[llm]'"
                ) from error
            return make_parent(parent)
        raise ValueError(
            f"unknown parent {parent!r}; use 'deterministic', 'openai:MODEL', "
            "'anthropic:MODEL', 'replay:PATH' or a Parent instance"
        )
    if not isinstance(parent, Parent):
        raise TypeError(f"parent must be a Parent (generate, reward, transition), got {parent!r}")
    return parent
