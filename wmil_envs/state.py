"""States: what the agent observes (token rows) and what an LLM parent reads (text)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wmil_envs import vocab
from wmil_envs.tasks.base import Fields, Task

_ACTION_TOKENS = np.concatenate([[vocab.NONE], vocab.SYMBOL + np.arange(vocab.MAX_ACTIONS)])
"""Token of the last-action slot, indexed by ``last_action + 1`` (-1: no action yet)."""

FEEDBACK_WORDS = {vocab.NONE: "none", vocab.CORRECT: "correct", vocab.WRONG: "wrong"}
"""Feedback tokens as words; worlds add ``<held>`` (the goal was reached on an earlier step)."""


def feedback_word(token: int) -> str:
    """A feedback token as a word, for text (``correct``, ``held``...)."""
    return FEEDBACK_WORDS.get(int(token)) or vocab.token_name(token).strip("<>")


def observation(
    task: Task, question: np.ndarray, last_action: np.ndarray, feedback: np.ndarray
) -> np.ndarray:
    """Token rows ``[task, question..., last action, feedback]``, shape ``(n, task.obs_len)``."""
    n = len(question)
    obs = np.empty((n, task.obs_len), dtype=np.int64)
    obs[:, 0] = task.token
    if task.question_len > 1 and question.flags.c_contiguous and question.dtype == np.int64:
        # each row's tokens copied as one item of 8 * question_len bytes: numpy then runs one
        # loop over the rows, not a short loop per row (3x faster at 4096 rows)
        row = np.dtype((np.void, 8 * task.question_len))
        obs[:, 1:-2].view(row)[...] = question.view(row)
    else:  # one column, or position-major tokens (SequenceNext): numpy's own copy
        obs[:, 1:-2] = question
    obs[:, -2] = _ACTION_TOKENS[last_action + 1]
    obs[:, -1] = feedback
    return obs


@dataclass(frozen=True)
class StateBatch:
    """``n`` states of one task, batch-first; what parents generate and transform.

    ``fields`` are the instance attributes (the task's own names); ``question`` their tokens;
    ``answer`` the rule's correct action (kept so rewards need no recomputation);
    ``last_action`` is -1 before the first step; ``feedback`` is a token: NONE, CORRECT, WRONG.
    """

    task: Task
    fields: Fields
    question: np.ndarray
    answer: np.ndarray
    last_action: np.ndarray
    feedback: np.ndarray

    @classmethod
    def new(cls, task: Task, fields: Fields) -> StateBatch:
        """Fresh instances: nothing done yet."""
        n = len(next(iter(fields.values())))
        return cls(
            task,
            fields,
            task.question(fields),
            task.answer(fields),
            np.full(n, -1, dtype=np.int64),
            np.full(n, vocab.NONE, dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.answer)

    def __getitem__(self, i: int) -> State:
        return State(
            self.task,
            {name: values[i] for name, values in self.fields.items()},
            int(self.answer[i]),
            int(self.last_action[i]),
            int(self.feedback[i]),
        )

    def take(self, index: np.ndarray | slice) -> StateBatch:
        """The states at ``index`` (an index array, mask or slice), as a new batch."""
        return StateBatch(
            self.task,
            {name: values[index] for name, values in self.fields.items()},
            self.question[index],
            self.answer[index],
            self.last_action[index],
            self.feedback[index],
        )

    def put(self, index: np.ndarray, other: StateBatch) -> StateBatch:
        """A copy with the states at ``index`` replaced by ``other`` (same length as index)."""

        def replaced(mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
            out = mine.copy()
            out[index] = theirs
            return out

        return StateBatch(
            self.task,
            {name: replaced(v, other.fields[name]) for name, v in self.fields.items()},
            replaced(self.question, other.question),
            replaced(self.answer, other.answer),
            replaced(self.last_action, other.last_action),
            replaced(self.feedback, other.feedback),
        )

    def after(self, actions: np.ndarray, success: np.ndarray) -> StateBatch:
        """The states after ``actions``, given whether each succeeded: the task's transition,
        with ``actions`` as the last action and the task's feedback token. A question stays as
        it is (with its question tokens and answer); a world moves."""
        actions = np.asarray(actions, dtype=np.int64)
        feedback = self.task.feedback(self.fields, actions, success)
        if not self.task.has_dynamics:
            return StateBatch(self.task, self.fields, self.question, self.answer, actions, feedback)
        fields = self.task.transition(self.fields, actions)
        return StateBatch(
            self.task,
            fields,
            self.task.question(fields),
            self.task.answer(fields),
            actions,
            feedback,
        )

    def to_tensor(self) -> np.ndarray:
        """Observations, shape ``(n, task.obs_len)``, dtype int64."""
        return observation(self.task, self.question, self.last_action, self.feedback)


@dataclass(frozen=True)
class State:
    """One state: the instance attributes, the rule's answer, the last action and feedback."""

    task: Task
    fields: dict[str, Any]
    answer: int
    last_action: int = -1
    feedback: int = vocab.NONE

    def to_tensor(self) -> np.ndarray:
        """The token observation, shape ``(task.obs_len,)``, dtype int64."""
        one = {name: np.asarray(value)[None] for name, value in self.fields.items()}
        return observation(
            self.task,
            self.task.question(one),
            np.array([self.last_action]),
            np.array([self.feedback]),
        )[0]

    def sentence(self) -> str:
        """The question as a person would ask it."""
        return self.task.describe(self.fields)

    def to_prompt(self) -> str:
        """The state as text for an LLM parent: task, question, answer space, last action."""
        lines = [
            f"Task: {self.task.name}",
            f"Question: {self.sentence()}",
            f"Actions: {self.task.actions_text()}",
        ]
        if self.last_action >= 0:
            lines.append(
                f"Last action: {self.last_action} "
                f"(answer {self.task.describe_answer(self.last_action)}, "
                f"{feedback_word(self.feedback)})"
            )
        else:
            lines.append("Last action: none")
        return "\n".join(lines)
