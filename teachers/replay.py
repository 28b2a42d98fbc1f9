"""``ReplayParent``: instances from a data file (``teachers.generate``), rules for the rest.

The file is JSON Lines, one instance per line (see :mod:`teachers.generate` for every key);
the parent uses ``format`` (``wmil-instances/1``), ``task``, ``level``, ``num_actions``,
``fields`` and ``answer``. ``generate``
draws lines of the requested task and level with the environment's RNG, so a seeded run is
deterministic; ``reward`` and ``transition`` are the rules. Every line is checked against the
level's schema and rules when first used, and a line written for another ``num_actions`` than
the env's is refused; a bad line (not UTF-8, not a JSON object, another format) is an error
naming the file and line.
Policy ``strict`` (default) uses the rule's answer for the file's instance and counts a file
answer that disagrees; ``advisory`` uses the file's answer.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from teachers.generate import FORMAT
from teachers.schemas import instance_problem, instance_schema, schema_problem
from wmil_envs.parent import DeterministicParent
from wmil_envs.state import StateBatch
from wmil_envs.tasks.base import Task

REPLAY_POLICIES = ("strict", "advisory")


class ReplayParent(DeterministicParent):
    """Instances from ``path``; rewards and transitions by the rules."""

    def __init__(self, path: str | os.PathLike, policy: str = "strict"):
        self.path = Path(path)
        if policy not in REPLAY_POLICIES:
            raise ValueError(f"policy={policy!r} is not allowed; use one of strict, advisory")
        self.policy = policy
        if not self.path.is_file():
            raise FileNotFoundError(
                f"replay file {str(self.path)!r} does not exist; make one with "
                "python -m teachers.generate --task TASK --count N --out PATH [--offline]"
            )
        self.records: list[tuple[int, dict[str, Any]]] = []
        with open(self.path, "rb") as f:
            for number, raw in enumerate(f, 1):
                record = self._parse(number, raw)
                if record is not None:
                    self.records.append((number, record))
        if not self.records:
            raise ValueError(f"replay file {str(self.path)!r} has no instances")
        self._pools: dict[tuple, tuple[dict[str, np.ndarray], np.ndarray]] = {}
        self._lock = threading.Lock()
        self._stats = {"instances": 0.0, "checked": 0.0, "disagreements": 0.0}

    def _parse(self, number: int, raw: bytes) -> dict[str, Any] | None:
        """The record on line ``number`` (None for a blank line); ValueError naming file:line."""
        where = f"{self.path}:{number}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"{where}: not UTF-8 text (byte {error.start})") from None
        if not line.strip():
            return None
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: not JSON ({error})") from None
        if not isinstance(record, dict):
            raise ValueError(
                f"{where}: a line must be a JSON object (an instance), not {line.strip()[:40]}"
            )
        if record.get("format", FORMAT) != FORMAT:
            raise ValueError(
                f"{where}: format {record['format']!r} is not {FORMAT!r}, the one this code "
                "reads; write the file again with python -m teachers.generate"
            )
        missing = [k for k in ("task", "level", "fields", "answer") if k not in record]
        if missing:
            raise ValueError(f"{where}: missing keys {missing}")
        return record

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_lock")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _pool(self, task: Task, level: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        key = (
            task.name,
            task.num_actions,
            level,
            getattr(task, "split", None),
            tuple(getattr(task, "relations", ())),
        )
        if key in self._pools:
            return self._pools[key]
        lines = [(n, r) for n, r in self.records if r["task"] == task.name and r["level"] == level]
        if not lines:
            have = sorted({(r["task"], r["level"]) for _, r in self.records})
            raise ValueError(
                f"replay file {str(self.path)!r} has no {task.name} instances at level {level}; "
                f"it has (task, level): {have}"
            )
        schema = instance_schema(task, level)
        rows: dict[str, list[int]] = {}
        answers = []
        for number, record in lines:
            written_for = record.get("num_actions", task.num_actions)
            if written_for != task.num_actions:
                raise ValueError(
                    f"{self.path}:{number}: written for num_actions={written_for!r}, but the "
                    f"env has num_actions={task.num_actions}; generate a file for this env "
                    f"(teachers.generate --num_actions {task.num_actions}) or set num_actions"
                )
            instance = dict(record["fields"]) if isinstance(record["fields"], dict) else {}
            instance["answer"] = record["answer"]
            problem = schema_problem(instance, schema, "instance")
            if problem is None:
                problem = instance_problem(task, level, record["fields"])
            if problem:
                raise ValueError(
                    f"{self.path}:{number}: not a valid {task.name} instance at level {level} "
                    f"with num_actions={task.num_actions}: {problem}"
                )
            for name, value in record["fields"].items():
                rows.setdefault(name, []).append(int(value))
            answers.append(int(record["answer"]))
        pool = (
            {k: np.array(v, dtype=np.int64) for k, v in rows.items()},
            np.array(answers, dtype=np.int64),
        )
        self._pools[key] = pool
        return pool

    def generate(self, task: Task, rng: np.random.Generator, n: int, level: int) -> StateBatch:
        level = task.check_level(level)
        fields, answers = self._pool(task, level)
        index = rng.integers(0, len(answers), size=n)
        batch = StateBatch.new(task, {k: v[index] for k, v in fields.items()})
        disagree = int((batch.answer != answers[index]).sum())
        with self._lock:
            self._stats["instances"] += n
            self._stats["checked"] += n
            self._stats["disagreements"] += disagree
        if self.policy == "advisory":
            batch = dataclasses.replace(batch, answer=answers[index])
        return batch

    def stats(self) -> dict[str, float]:
        with self._lock:
            out = dict(self._stats)
        out["disagreement_rate"] = out["disagreements"] / out["checked"] if out["checked"] else 0.0
        return out

    def __repr__(self) -> str:
        return f"ReplayParent({str(self.path)!r}, policy={self.policy!r})"
