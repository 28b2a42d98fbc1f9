"""Parents: who generates instances, judges actions and gives the next state.

The environment asks its parent for all three, batch-first, so a rule-based parent and an LLM
parent are interchangeable. Parents given by name (``parent="openai:MODEL"``) are built by a
factory looked up by the name's prefix: the LLM parents' factories are import strings into the
optional ``teachers`` package, and ``register_parent`` adds others. The deterministic parent
applies the task's rules; it is the reference every LLM answer is checked against.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
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
    - reward: the task's rule (a question task: 1.0 when the action equals the rule's answer;
      a world: 1.0 on the step that reaches the goal);
    - transition: the task's rule (a question stays; a world moves), with the last action and
      its feedback shown. The next state is thus a deterministic function of (state, action),
      which a world model can learn exactly.
    """

    def generate(self, task: Task, rng: np.random.Generator, n: int, level: int) -> StateBatch:
        return StateBatch.new(task, task.generate(rng, n, level))

    def reward(self, states: StateBatch, actions: np.ndarray) -> np.ndarray:
        if states.task.has_dynamics:
            return states.task.reward(states.fields, np.asarray(actions))
        return (np.asarray(actions) == states.answer).astype(np.float64)

    def transition(
        self, states: StateBatch, actions: np.ndarray, rewards: np.ndarray
    ) -> StateBatch:
        return states.after(actions, np.asarray(rewards) > SUCCESS_THRESHOLD)

    def __repr__(self) -> str:
        return "DeterministicParent()"


PARENT_FACTORIES: dict[str, Callable[[str], Parent] | str] = {
    "openai": "teachers:make_parent",
    "anthropic": "teachers:make_parent",
    "replay": "teachers:make_parent",
}
"""Prefix of a parent name (``"openai"`` in ``"openai:MODEL"``) -> a factory, or the
``"module:attribute"`` import string of one, loaded only when a parent is built (as Gymnasium
loads entry points). The factory is called with the whole name, e.g. ``"openai:gpt-4o-mini"``."""

_EXTRAS = {"teachers": "pip install 'wmil[llm]'"}
"""Top-level package of a factory -> how to install it, for the error when it is missing."""


def register_parent(prefix: str, factory: Callable[[str], Parent] | str) -> None:
    """Let ``parent="PREFIX:..."`` build a parent with ``factory(name)``.

    ``factory`` is a callable or a ``"module:attribute"`` import string (loaded when first
    used, so registering costs no import). A third party adds a parent this way without editing
    ``wmil_envs``; registering a known prefix again replaces its factory.
    """
    if not isinstance(prefix, str) or not prefix or ":" in prefix or prefix == "deterministic":
        raise ValueError(f"parent prefix must be a non-empty name without ':', got {prefix!r}")
    if not (callable(factory) or (isinstance(factory, str) and ":" in factory)):
        raise TypeError(
            f"factory must be a callable or a 'module:attribute' string, got {factory!r}"
        )
    PARENT_FACTORIES[prefix] = factory


def parent_spec_problem(spec: str) -> str | None:
    """What is wrong with a parent name (without building the parent), or None if it is usable."""
    if spec == "deterministic":
        return None
    prefix, colon, rest = spec.partition(":") if isinstance(spec, str) else ("", "", "")
    if not colon or prefix not in PARENT_FACTORIES:
        known = ", ".join(f"'{p}:...'" for p in PARENT_FACTORIES)
        return f"unknown parent {spec!r}; use 'deterministic', {known} or a Parent instance"
    if not rest.strip():
        return f"parent {spec!r} needs a name after '{prefix}:' (a model name or a file path)"
    return None


def _factory(prefix: str, spec: str) -> Callable[[str], Parent]:
    factory = PARENT_FACTORIES[prefix]
    if callable(factory):
        return factory
    module_name, _, attribute = factory.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        package = module_name.split(".", 1)[0]
        hint = _EXTRAS.get(package, f"install the package that provides {module_name!r}")
        raise ImportError(f"parent={spec!r} needs {module_name!r}: {hint}") from error
    return getattr(module, attribute)


def resolve_parent(parent: Parent | str | None) -> Parent:
    """``None`` or ``"deterministic"`` -> the rules; a Parent passes through; a name
    ``"PREFIX:..."`` is built by the factory registered for PREFIX (``PARENT_FACTORIES``);
    anything else is a clear error.

    The LLM parents (``"openai:MODEL"``, ``"anthropic:MODEL"``, ``"replay:PATH"``) come from the
    optional ``teachers`` package, named only by import string and imported on first use.
    """
    if parent is None or parent == "deterministic":
        return DeterministicParent()
    if isinstance(parent, str):
        problem = parent_spec_problem(parent)
        if problem:
            raise ValueError(problem)
        prefix = parent.split(":", 1)[0]
        return _factory(prefix, parent)(parent)
    if not isinstance(parent, Parent):
        raise TypeError(f"parent must be a Parent (generate, reward, transition), got {parent!r}")
    return parent
