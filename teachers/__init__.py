"""LLM parents for WMIL: parents backed by OpenAI-compatible or Anthropic models.

The package is called ``teachers``; the concept is everywhere called a *parent* (the env's
``parent=`` argument, ``OpenAIParent``, ``ParentError``).

``make_parent("openai:MODEL" | "anthropic:MODEL" | "replay:PATH", **settings)`` builds a
Parent; ``wmil_envs`` calls it for ``gym.make(..., parent="openai:gpt-4o-mini")``. See
:mod:`teachers.llm` for settings (and their ``WMIL_LLM_*`` environment variables), fault
outcomes and validator policies, :mod:`teachers.cache` for the cache, and
:mod:`teachers.generate` for offline data files.
"""

from __future__ import annotations

from typing import Any

from teachers import llm
from teachers.cache import MODES, CacheMiss, DiskCache
from teachers.llm import (
    POLICIES,
    AnthropicParent,
    InvalidAnswer,
    LLMParent,
    OpenAIParent,
    ParentError,
    Refusal,
)
from teachers.prompts import PROMPT_VERSION
from teachers.replay import ReplayParent


def __getattr__(name: str):
    """``TeacherError``: the old name of :class:`ParentError`, kept as a deprecated alias."""
    if name == "TeacherError":
        return llm.__getattr__(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


PROVIDERS = {"openai": OpenAIParent, "anthropic": AnthropicParent}


def make_parent(spec: str, **settings: Any):
    """A parent from ``"openai:MODEL"``, ``"anthropic:MODEL"`` or ``"replay:PATH"``.

    ``settings`` go to the parent's constructor (see :class:`teachers.llm.LLMParent`).
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(
            f"parent spec {spec!r} is not 'openai:MODEL', 'anthropic:MODEL' or 'replay:PATH'"
        )
    kind, rest = spec.split(":", 1)
    if not rest.strip():
        what = "a file path" if kind == "replay" else "a model name"
        raise ValueError(f"parent spec {spec!r} needs {what} after '{kind}:'")
    if kind == "replay":
        return ReplayParent(rest, **settings)
    if kind in PROVIDERS:
        return PROVIDERS[kind](model=rest, **settings)
    raise ValueError(
        f"unknown parent provider {kind!r} in {spec!r}; use openai, anthropic or replay"
    )


__all__ = [
    "MODES",
    "POLICIES",
    "PROMPT_VERSION",
    "AnthropicParent",
    "CacheMiss",
    "DiskCache",
    "InvalidAnswer",
    "LLMParent",
    "OpenAIParent",
    "Refusal",
    "ReplayParent",
    "ParentError",
    "make_parent",
]
