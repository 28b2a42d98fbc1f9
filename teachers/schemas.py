"""JSON schemas of every LLM answer, per-task instance schemas, and a small schema checker.

An instance's field schema and cross-field rules are declared by its task
(``Task.field_schema``, ``Task.instance_problem``), so a new task needs nothing here.

Every answer an LLM gives (from the network or from the cache) is checked against its schema by
:func:`schema_problem` before it is used. The checker covers the subset of JSON Schema these
schemas use: ``type`` (object, integer, number, boolean, string), ``enum``, ``minimum``,
``maximum``, ``properties``, ``required`` and ``additionalProperties: false``. The schemas are
also valid for OpenAI's strict structured outputs (every property required, no extras).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wmil_envs.tasks.base import Task, integer_field


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


REWARD_SCHEMA = _object(
    {"correct": {"type": "boolean", "description": "whether the agent's action is correct"}}
)
"""Reward of a question: ``{"correct": bool}``; reward 1.0 when correct, else 0.0."""

WORLD_REWARD_SCHEMA = _object(
    {
        "correct": {
            "type": "boolean",
            "description": "whether the action reaches the target now: the object after it "
            "equals the target, and the target had not been reached before (a held step is "
            "not correct)",
        }
    }
)
"""Reward of a world's step: ``{"correct": bool}``; 1.0 only on the step that reaches the
target, 0.0 on every other step (held steps included)."""


def reward_schema(task: Task) -> dict[str, Any]:
    """The reward answer's schema: a question's or a world's (same key, different meaning)."""
    return WORLD_REWARD_SCHEMA if task.has_dynamics else REWARD_SCHEMA


FEEDBACK_WORDS = ("correct", "wrong")
WORLD_FEEDBACK_WORDS = ("correct", "held", "wrong")
"""The feedback a world's next state may show: ``held`` once the target was reached earlier."""


def transition_schema(task: Task) -> dict[str, Any]:
    """Next state: the last action shown (must equal the action taken) and its feedback; for a
    world, also the next object (its fields over all objects, ``World.object_schema``)."""
    properties: dict[str, Any] = {
        "last_action": {"type": "integer", "minimum": 0, "maximum": task.num_actions - 1}
    }
    if task.has_dynamics:
        properties.update(task.object_schema())
    words = WORLD_FEEDBACK_WORDS if task.has_dynamics else FEEDBACK_WORDS
    properties["feedback"] = {"type": "string", "enum": list(words)}
    return _object(properties)


CRITIQUE_SCHEMA = _object(
    {
        "valid": {"type": "boolean", "description": "a valid instance at the requested level"},
        "answer": {"type": "integer", "description": "the correct action for the instance"},
        "reason": {"type": "string"},
    }
)
"""Critic pass of offline generation: ``{"valid": bool, "answer": int, "reason": str}``."""


def instance_fields(task: Task, level: int) -> dict[str, dict[str, Any]]:
    """Schema of each instance field of ``task`` at ``level``: the task's own ``field_schema``."""
    return task.field_schema(level)


def instance_schema(task: Task, level: int) -> dict[str, Any]:
    """A generated instance: the task's fields at ``level`` and the correct ``answer``."""
    properties = dict(instance_fields(task, level))
    properties["answer"] = integer_field(0, task.num_actions - 1, "the correct action")
    return _object(properties)


def instance_problem(task: Task, level: int, fields: dict[str, int]) -> str | None:
    """What makes a schema-valid instance invalid at ``level`` (cross-field rules), or None."""
    one = {k: np.asarray([int(v)]) for k, v in fields.items()}
    problem = task.instance_problem(one, level)
    if problem:
        return problem
    answer = int(task.answer(one)[0])
    if not 0 <= answer < task.num_actions:
        return f"the rule's answer {answer} is outside 0..{task.num_actions - 1}"
    return None


def schema_problem(value: Any, schema: dict[str, Any], where: str = "answer") -> str | None:
    """The first way ``value`` violates ``schema`` (a readable sentence), or None if it fits."""
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            return f"{where} must be an object, got {value!r}"
        properties = schema.get("properties", {})
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            return f"{where} is missing {missing}"
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(properties))
            if extra:
                return f"{where} has unexpected keys {extra}; allowed: {sorted(properties)}"
        for key, sub in properties.items():
            if key in value:
                problem = schema_problem(value[key], sub, f"{where}.{key}")
                if problem:
                    return problem
        return None
    checks = {
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "string": lambda v: isinstance(v, str),
    }
    if kind in checks and not checks[kind](value):
        return f"{where} must be of type {kind}, got {value!r}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where}={value!r} is not one of {schema['enum']}"
    if "minimum" in schema and value < schema["minimum"]:
        return f"{where}={value!r} is below the minimum {schema['minimum']}"
    if "maximum" in schema and value > schema["maximum"]:
        return f"{where}={value!r} is above the maximum {schema['maximum']}"
    return None
