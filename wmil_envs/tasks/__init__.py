"""The tasks: each one's rules, batched over numpy arrays, with its documented levels."""

from wmil_envs.tasks.base import Task
from wmil_envs.tasks.conditional import Conditional
from wmil_envs.tasks.counting import Counting
from wmil_envs.tasks.numeric_relation import NumericRelation
from wmil_envs.tasks.pattern_echo import PatternEcho
from wmil_envs.tasks.sequence_next import SequenceNext

TASKS: dict[str, type[Task]] = {
    task.name: task for task in (PatternEcho, SequenceNext, Conditional, NumericRelation, Counting)
}


def make_task(name: str, **kwargs) -> Task:
    """Build a task by name (``pattern_echo``, ...), or raise naming the known ones."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[name](**kwargs)


__all__ = [
    "TASKS",
    "Task",
    "make_task",
    "Conditional",
    "Counting",
    "NumericRelation",
    "PatternEcho",
    "SequenceNext",
]
