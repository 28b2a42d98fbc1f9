"""JSON schemas of every LLM answer, per-task instance schemas, and a small schema checker.

Every answer an LLM gives (from the network or from the cache) is checked against its schema by
:func:`schema_problem` before it is used. The checker covers the subset of JSON Schema these
schemas use: ``type`` (object, integer, number, boolean, string), ``enum``, ``minimum``,
``maximum``, ``properties``, ``required`` and ``additionalProperties: false``. The schemas are
also valid for OpenAI's strict structured outputs (every property required, no extras).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wmil_envs import vocab
from wmil_envs.tasks.base import Task
from wmil_envs.tasks.splits import in_split


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
"""Reward: ``{"correct": bool}``; reward 1.0 when correct, else 0.0."""


def transition_schema(task: Task) -> dict[str, Any]:
    """Next state: the last action shown (must equal the action taken) and its feedback."""
    return _object(
        {
            "last_action": {"type": "integer", "minimum": 0, "maximum": task.num_actions - 1},
            "feedback": {"type": "string", "enum": ["correct", "wrong"]},
        }
    )


CRITIQUE_SCHEMA = _object(
    {
        "valid": {"type": "boolean", "description": "a valid instance at the requested level"},
        "answer": {"type": "integer", "description": "the correct action for the instance"},
        "reason": {"type": "string"},
    }
)
"""Critic pass of offline generation: ``{"valid": bool, "answer": int, "reason": str}``."""


def _ints(lo: int, hi: int, text: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": int(lo), "maximum": int(hi), "description": text}


def _enum(values, text: str) -> dict[str, Any]:
    return {"type": "integer", "enum": sorted(int(v) for v in values), "description": text}


def _names(names) -> str:
    return ", ".join(f"{i}={name}" for i, name in enumerate(names))


def instance_fields(task: Task, level: int) -> dict[str, dict[str, Any]]:
    """Schema of each instance field of ``task`` at ``level`` (the level's allowed values)."""
    name, top = task.name, task.num_actions - 1
    settings = task.levels[level]
    if name == "pattern_echo":
        return {"target": _ints(0, task.num_targets(level) - 1, "the symbol to echo")}
    if name == "sequence_next":
        from wmil_envs.tasks.sequence_next import PATTERNS

        return {
            "pattern": _enum([PATTERNS.index(p) for p in settings["patterns"]], _names(PATTERNS)),
            "start": _ints(0, top, "first element"),
            "step": _enum(settings["steps"], "step of an arithmetic sequence"),
            "other": _ints(0, top, "second value of an alternating sequence (!= start)"),
            "length": _enum([settings["length"]], "number of elements shown"),
        }
    if name == "conditional":
        from wmil_envs.tasks.conditional import PLAIN, RED, SMALL

        varying = settings["varying"]
        non_red = [c for c in range(len(vocab.COLOURS)) if c != RED]

        def attribute(key: str, values: tuple[str, ...], fixed: list[int]) -> dict:
            if key in varying:
                return _ints(0, len(values) - 1, _names(values))
            return _enum(fixed, f"{_names(values)}; fixed at this level")

        return {
            "shape": _ints(0, len(vocab.SHAPES) - 1, _names(vocab.SHAPES)),
            "colour": attribute("colour", vocab.COLOURS, non_red),
            "size": attribute("size", vocab.SIZES, [SMALL]),
            "texture": attribute("texture", vocab.TEXTURES, [PLAIN]),
        }
    if name == "numeric_relation":
        return {
            "relation": _enum(task.relation_ids, _names(vocab.RELATIONS)),
            "a": _ints(0, settings["max_number"], "first number"),
            "b": _ints(0, settings["max_number"], "second number"),
        }
    if name == "counting":
        kinds = [vocab.COUNT_KINDS.index(k) for k in settings["kinds"]]
        return {
            "kind": _enum(kinds, _names(vocab.COUNT_KINDS)),
            "n": _ints(0, 99, "the number asked about"),
        }
    # A task this package does not know: integer fields named as the task's generator names them.
    sample = task.generate(np.random.default_rng(0), 1, level)
    return {field: {"type": "integer"} for field in sample}


def instance_schema(task: Task, level: int) -> dict[str, Any]:
    """A generated instance: the task's fields at ``level`` and the correct ``answer``."""
    properties = dict(instance_fields(task, level))
    properties["answer"] = _ints(0, task.num_actions - 1, "the correct action")
    return _object(properties)


def instance_problem(task: Task, level: int, fields: dict[str, int]) -> str | None:
    """What makes a schema-valid instance invalid at ``level`` (cross-field rules), or None."""
    one = {k: np.asarray([int(v)]) for k, v in fields.items()}
    name = task.name
    if name == "sequence_next":
        values = task.sequence(one)[0, : int(fields["length"]) + 1]
        if values.min() < 0 or values.max() >= task.num_actions:
            return f"sequence {values.tolist()} leaves 0..{task.num_actions - 1}"
        if int(fields["pattern"]) == 1 and int(fields["other"]) == int(fields["start"]):
            return "an alternating sequence needs other != start"
    if name == "numeric_relation":
        if not in_split(task.split, (one["a"], one["b"]), [one["a"], one["b"]])[0]:
            return f"pair (a={fields['a']}, b={fields['b']}) is not in split {task.split!r}"
    if name == "counting":
        kind, n = int(fields["kind"]), int(fields["n"])
        low, high = (1, 99) if kind == 1 else (0, 97 if kind == 2 else 98)
        if not low <= n <= high:
            return f"n={n} is outside {low}..{high} for kind {vocab.COUNT_KINDS[kind]}"
        shown = [one["n"], task.answer(one), one["n"] + 2 * (kind == 2)]
        if not in_split(task.split, (one["kind"], one["n"]), shown)[0]:
            return f"question (kind={kind}, n={n}) is not in split {task.split!r}"
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
