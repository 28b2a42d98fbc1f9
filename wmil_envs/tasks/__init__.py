"""The task registry: every task the project knows, and the tables derived from it.

Adding a task is its task file plus one line at the end of ``REGISTRY`` below (tasks are
registered in this order, and a task's tokens are appended to the vocabulary when it is). Env
classes and Gymnasium ids (``wmil_envs.envs``, ``wmil_envs.registration``), the training
config's task names and checks, the LLM parents' schemas and the reports' order are all read
from here. A task defined outside
this package is added with ``wmil_envs.register_task(cls)``.
"""

from __future__ import annotations

import importlib
import inspect

from wmil_envs import vocab
from wmil_envs.tasks.base import Task
from wmil_envs.tasks.conditional import Conditional
from wmil_envs.tasks.counting import Counting
from wmil_envs.tasks.numeric_relation import NumericRelation
from wmil_envs.tasks.pattern_echo import PatternEcho
from wmil_envs.tasks.sequence_next import SequenceNext

TASKS: dict[str, type[Task]] = {}
"""Task name -> task class, in registration order (the reports' order)."""
ENV_ID_OF_TASK: dict[str, str] = {}
"""Task name -> Gymnasium id."""
SPLIT_TASKS: dict[str, type[Task]] = {}
"""The tasks whose constructor takes a ``split`` (train / test / held-out numbers)."""
CATEGORY_FIELDS: dict[str, tuple[str, ...]] = {}
"""Instance field -> names of its values, over every task's ``categories`` (for evaluation)."""

_REQUIRED = ("name", "env_id", "env_doc", "question_len", "levels")


def add_task(cls: type[Task]) -> type[Task]:
    """Add ``cls`` to the tables above and its tokens to the vocabulary; checked, idempotent.

    This is the task side of registration only; ``wmil_envs.register_task`` also builds the
    env classes and registers the Gymnasium id.
    """
    if not (inspect.isclass(cls) and issubclass(cls, Task)) or inspect.isabstract(cls):
        raise TypeError(f"a task must be a concrete subclass of wmil_envs.tasks.Task, got {cls!r}")
    missing = [attr for attr in _REQUIRED if not hasattr(cls, attr)]
    if missing:
        raise TypeError(f"task class {cls.__name__} does not set {', '.join(missing)}")
    known = TASKS.get(cls.name)
    if known is cls:
        return cls
    if known is not None:
        raise ValueError(f"task name {cls.name!r} is taken by {known.__qualname__}")
    taken = {env_id: name for name, env_id in ENV_ID_OF_TASK.items()}
    if cls.env_id in taken:
        raise ValueError(f"env id {cls.env_id!r} is taken by task {taken[cls.env_id]!r}")
    vocab.add_task_tokens(cls.name, cls.tokens)
    TASKS[cls.name] = cls
    ENV_ID_OF_TASK[cls.name] = cls.env_id
    if "split" in cls.option_names():
        SPLIT_TASKS[cls.name] = cls
    CATEGORY_FIELDS.update(cls.categories)
    return cls


REGISTRY = (
    "wmil_envs.tasks.pattern_echo:PatternEcho",
    "wmil_envs.tasks.sequence_next:SequenceNext",
    "wmil_envs.tasks.conditional:Conditional",
    "wmil_envs.tasks.numeric_relation:NumericRelation",
    "wmil_envs.tasks.counting:Counting",
    "wmil_envs.tasks.number_walk:NumberWalk",
    "wmil_envs.tasks.object_edit:ObjectEdit",
    # a new task: "wmil_envs.tasks.<module>:<Class>", appended here, never inserted above
)
"""The built-in tasks, as ``module:Class`` import strings, in registration order."""


def load(import_string: str):
    """The object named by ``"package.module:attribute"`` (how Gymnasium loads entry points)."""
    module_name, _, attribute = import_string.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


for _entry in REGISTRY:
    add_task(load(_entry))


def task_of(name_or_env_id: str) -> type[Task]:
    """The task class for a task name or env id (with or without ``WMIL/``), or a clear error."""
    if name_or_env_id in TASKS:
        return TASKS[name_or_env_id]
    for name, env_id in ENV_ID_OF_TASK.items():
        if name_or_env_id in (env_id, env_id.split("/", 1)[-1]):
            return TASKS[name]
    raise ValueError(f"unknown task {name_or_env_id!r}; known tasks: {', '.join(TASKS)}")


def make_task(name: str, **kwargs) -> Task:
    """Build a task by name (``pattern_echo``, ...), or raise naming the known ones."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[name](**kwargs)


__all__ = [
    "CATEGORY_FIELDS",
    "ENV_ID_OF_TASK",
    "REGISTRY",
    "SPLIT_TASKS",
    "TASKS",
    "Task",
    "add_task",
    "load",
    "make_task",
    "task_of",
    "Conditional",
    "Counting",
    "NumericRelation",
    "PatternEcho",
    "SequenceNext",
]
