"""LLM teachers for WMIL: parents backed by OpenAI-compatible or Anthropic models.

``make_parent("openai:MODEL" | "anthropic:MODEL" | "replay:PATH", **settings)`` builds a
Parent; ``wmil_envs`` calls it for ``gym.make(..., parent="openai:gpt-4o-mini")``. See
:mod:`teachers.llm` for settings (and their ``WMIL_LLM_*`` environment variables), fault
outcomes and validator policies, :mod:`teachers.cache` for the cache, and
:mod:`teachers.generate` for offline data files.
"""

from __future__ import annotations

from typing import Any

from teachers.cache import MODES, CacheMiss, DiskCache
from teachers.llm import (
    POLICIES,
    AnthropicParent,
    InvalidAnswer,
    LLMParent,
    OpenAIParent,
    Refusal,
    TeacherError,
)
from teachers.prompts import PROMPT_VERSION
from teachers.replay import ReplayParent

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
    "TeacherError",
    "make_parent",
]
