"""Each task's difficulty levels as data.

The levels are the task classes' ``levels`` tables; this module only reads them, so nothing
here can drift from the code. :func:`resolve_task` finds the table for whatever names a task
(the :class:`~wmil_envs.curriculum.CurriculumManager` takes the same), and
:func:`difficulty_configs` returns every task's levels as plain data (the plan's
``DIFFICULTY_CONFIGS``). :mod:`wmil_envs.difficulty_tables` renders them for the docs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wmil_envs.registration import TASK_OF_ID
from wmil_envs.tasks import TASKS, Task

TaskLike = Task | type[Task] | str | Mapping[int, Any]
"""What names a task's levels: a Task instance or class, a task name, an env id, or a levels
table ``{level: settings}`` of another env."""


def plain_data(value: Any) -> Any:
    """JSON-able copy: tuples become lists, mappings dicts with the same keys."""
    if isinstance(value, Mapping):
        return {k: plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(v) for v in value]
    return value


def resolve_task(task: TaskLike) -> tuple[str, Mapping[int, Any], Task | None]:
    """``(name, levels, instance or None)`` for a task instance, class, name or env id.

    A mapping is taken as a levels table itself (for envs other than WMIL's).
    """
    if isinstance(task, Task):
        return task.name, task.levels, task
    if isinstance(task, type) and issubclass(task, Task):
        return task.name, task.levels, None
    if isinstance(task, str):
        env_id = task.split(":", 1)[1] if task.startswith("wmil_envs:") else task
        name = TASK_OF_ID.get(env_id, env_id)
        if name not in TASKS:
            raise ValueError(
                f"unknown task {task!r}; known tasks: {', '.join(TASKS)}; "
                f"or env ids: {', '.join(TASK_OF_ID)}"
            )
        return name, TASKS[name].levels, None
    if isinstance(task, Mapping):
        if not task:
            raise ValueError("a levels table must name at least one level")
        return "custom", task, None
    raise TypeError(
        f"task must be a Task, a Task class, a task name or env id, or a levels mapping; "
        f"got {task!r}"
    )


def difficulty_settings(task: TaskLike) -> dict[int, dict[str, Any]]:
    """The documented settings of each level of ``task`` as plain data (tuples as lists)."""
    _, levels, _ = resolve_task(task)
    return {int(level): plain_data(levels[level]) for level in sorted(levels)}


def difficulty_configs() -> dict[str, dict[int, dict[str, Any]]]:
    """Every task's levels: ``{task name: {level: settings}}``, the plan's DIFFICULTY_CONFIGS.

    Read from the task classes each call, so it cannot drift from the code.
    """
    return {name: difficulty_settings(cls) for name, cls in TASKS.items()}
