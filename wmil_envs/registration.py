"""Registration of every ``WMIL/*`` id with Gymnasium, each with a native vector entry point.

Everything here is derived from the task registry (``wmil_envs.tasks``); ``register_task`` adds
a task defined anywhere (a test, a third-party package) in one call.
"""

from __future__ import annotations

import gymnasium as gym

from wmil_envs.tasks import TASKS, Task, add_task

ENV_IDS: dict[str, str] = {}
"""Registered id -> class name stem in ``wmil_envs.envs`` (``<stem>Env``, ``<stem>VectorEnv``)."""

TASK_OF_ID: dict[str, str] = {}
"""Registered id -> task name."""


def register_task(task_class: type[Task]) -> type[Task]:
    """Make ``task_class`` a WMIL environment: the registry, its env classes, its Gymnasium id.

    Its tokens are appended to the vocabulary, so no existing id's observations change. A
    repeat is harmless; returns the class, so it also works as a class decorator.
    """
    from wmil_envs.envs import env_classes  # envs imports the registry, not this module

    add_task(task_class)
    single, _ = env_classes(task_class)
    stem = single.__name__.removesuffix("Env")
    ENV_IDS[task_class.env_id] = stem
    TASK_OF_ID[task_class.env_id] = task_class.name
    if task_class.env_id not in gym.registry:
        gym.register(
            id=task_class.env_id,
            entry_point=f"wmil_envs.envs:{stem}Env",
            vector_entry_point=f"wmil_envs.envs:{stem}VectorEnv",
        )
    return task_class


def register_envs() -> None:
    """Register every task's id; ``import wmil_envs`` calls this, and a repeat is harmless."""
    for task_class in list(TASKS.values()):
        register_task(task_class)
