"""Registration of every ``WMIL/*`` id with Gymnasium, each with a native vector entry point."""

from __future__ import annotations

import gymnasium as gym

ENV_IDS = {
    "WMIL/PatternEcho-v0": "PatternEcho",
    "WMIL/SequenceNext-v0": "SequenceNext",
    "WMIL/Conditional-v0": "Conditional",
    "WMIL/NumericRelation-v0": "NumericRelation",
    "WMIL/Counting-v0": "Counting",
}
"""Registered id -> class name stem in ``wmil_envs.envs`` (``<stem>Env``, ``<stem>VectorEnv``)."""

TASK_OF_ID = {
    "WMIL/PatternEcho-v0": "pattern_echo",
    "WMIL/SequenceNext-v0": "sequence_next",
    "WMIL/Conditional-v0": "conditional",
    "WMIL/NumericRelation-v0": "numeric_relation",
    "WMIL/Counting-v0": "counting",
}


def register_envs() -> None:
    """Register every id once; importing ``wmil_envs`` calls this, so a repeat is harmless."""
    for env_id, stem in ENV_IDS.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=f"wmil_envs.envs:{stem}Env",
            vector_entry_point=f"wmil_envs.envs:{stem}VectorEnv",
        )
