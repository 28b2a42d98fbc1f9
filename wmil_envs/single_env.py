"""The single-environment base class: one task, one parent, Gymnasium's ``Env`` API."""

from __future__ import annotations

import operator
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from wmil_envs import vocab
from wmil_envs.parent import SUCCESS_THRESHOLD, DeterministicParent, Parent, resolve_parent
from wmil_envs.state import State, StateBatch, feedback_word
from wmil_envs.tasks.base import Task

_BLOCK = 128
"""Instances drawn per call to the parent's generator; amortises numpy's per-call cost."""


def check_integer(name: str, value: Any, low: int) -> int:
    """``value`` as an int >= ``low``, or an error naming ``name`` and what is allowed."""
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if number < low:
        raise ValueError(f"{name}={number} must be >= {low}")
    return number


def check_episode_length(episode_length: Any) -> int | None:
    """``episode_length`` as an int >= 1, or None (each level's own horizon)."""
    return None if episode_length is None else check_integer("episode_length", episode_length, 1)


class RenderModeError(ValueError, TypeError):
    """An unsupported ``render_mode``. Also a ``TypeError`` because Stable-Baselines3's
    ``make_vec_env`` first tries ``render_mode="rgb_array"`` and retries without it only on a
    ``TypeError``."""


def check_render_mode(render_mode: str | None, allowed: list[str]) -> str | None:
    if render_mode is not None and render_mode not in allowed:
        raise RenderModeError(
            f"render_mode={render_mode!r} is not supported; use None or one of {allowed}"
        )
    return render_mode


def apply_reset_options(env: Any, options: dict[str, Any] | None) -> None:
    """``reset(options={"difficulty": k})`` sets the difficulty attribute; nothing else."""
    if options is not None and not isinstance(options, dict):
        raise TypeError(
            f"reset options must be a dict such as {{'difficulty': 1}} or None, got {options!r}"
        )
    if not options:
        return
    unknown = set(options) - {"difficulty"}
    if unknown:
        raise ValueError(f"unknown reset option(s) {sorted(unknown)}; allowed: ['difficulty']")
    env.difficulty = options["difficulty"]


def action_error(action: Any, num_actions: int) -> ValueError:
    return ValueError(
        f"action {action!r} is outside the action space Discrete({num_actions}): "
        f"use an integer in 0..{num_actions - 1}"
    )


def observation_space(task: Task) -> spaces.MultiDiscrete:
    """Every position holds a token of the shared vocabulary (as it stood for this task)."""
    return spaces.MultiDiscrete(np.full(task.obs_len, task.vocab_size, dtype=np.int64))


class WMILEnv(gym.Env):
    """Base class of the WMIL single envs; a subclass names its ``task_class``.

    An episode lasts ``episode_length`` steps (default: the level's horizon, one step for a
    question task). Each step the agent acts; the reward is the parent's judgement; the next
    observation shows the state after the action (the same question, or a world that moved)
    with the action taken and the feedback. Episodes end only at the horizon, with
    ``terminated=True`` (success never ends an episode).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    task_class: ClassVar[type[Task]]

    def __init__(
        self,
        num_actions: int | None = None,
        difficulty: int = 0,
        episode_length: int | None = None,
        parent: Parent | str | None = None,
        render_mode: str | None = None,
        **task_kwargs: Any,
    ):
        self.task = self.task_class(num_actions=num_actions, **task_kwargs)
        self.parent = resolve_parent(parent)
        self._fixed_length = check_episode_length(episode_length)
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.action_space = spaces.Discrete(self.task.num_actions)
        self.observation_space = observation_space(self.task)
        self._difficulty = self.task.check_level(difficulty)
        # The deterministic parent's reward and transition are applied to scalars directly
        # (the same rule as DeterministicParent, which tests compare against); any other
        # parent goes through the Parent protocol with a batch of one.
        rules = type(self.parent) is DeterministicParent
        self._scalar_rules = rules and not self.task.has_dynamics
        self._block = _BLOCK if rules else 1
        self._instances: StateBatch | None = None
        self._next_instance = 0
        self._state: StateBatch | None = None  # the current state, generic path only
        self._fresh_obs: np.ndarray | None = None

    def horizon(self, level: int) -> int:
        """Steps per episode at ``level``: ``episode_length`` if given, else the level's."""
        return self._fixed_length or self.task.horizon(level) or 1

    @property
    def episode_length(self) -> int:
        """Steps per episode at the current difficulty (given, or the level's horizon)."""
        return self.horizon(self._difficulty)

    @property
    def difficulty(self) -> int:
        """Level used for the next episode; settable between episodes (curriculum)."""
        return self._difficulty

    @difficulty.setter
    def difficulty(self, level: int) -> None:
        level = self.task.check_level(level)
        if level != self._difficulty:
            self._instances = None  # drawn at the old level
        self._difficulty = level

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        apply_reset_options(self, options)
        if (
            seed is not None
            or self._instances is None
            or self._next_instance >= len(self._instances)
        ):
            self._instances = self.parent.generate(
                self.task, self.np_random, self._block, self._difficulty
            )
            self._instance_obs = self._instances.to_tensor()
            self._instance_answers = self._instances.answer.tolist()
            self._next_instance = 0
        i = self._next_instance
        self._next_instance += 1
        self._row = i
        self._fresh_obs = self._instance_obs[i]
        self._answer = self._instance_answers[i]
        self._state = None if self._scalar_rules else self._instances.take(slice(i, i + 1))
        self._last_action, self._feedback = -1, vocab.NONE
        self._episode_level = self._difficulty
        self._horizon = self.horizon(self._difficulty)
        self._t = 0
        self._episode_success = False
        self._steps_to_goal = 0
        self._optimal_steps = None
        if self.task.has_dynamics:
            self._optimal_steps = int(self.task.optimal_steps(self._state.fields)[0])
        return self._fresh_obs.copy(), {"step": 0, "difficulty": self._episode_level}

    def step(self, action: Any):
        if self._fresh_obs is None:
            raise RuntimeError("call reset() before step()")
        if self._t >= self._horizon:
            raise RuntimeError("the episode has ended; call reset() before step()")
        try:
            a = None if isinstance(action, (bool, np.bool_)) else operator.index(action)
        except TypeError:
            a = None
            if (
                isinstance(action, np.ndarray)
                and action.size == 1
                and action.ndim <= 1
                and action.dtype.kind in "iu"
            ):
                a = int(action.reshape(()))
        if a is None or not 0 <= a < self.task.num_actions:
            raise action_error(action, self.task.num_actions)

        if self._scalar_rules:
            success = a == self._answer
            reward = 1.0 if success else 0.0
            self._last_action = a
            self._feedback = vocab.CORRECT if success else vocab.WRONG
            obs = self._fresh_obs.copy()
            obs[-2] = vocab.SYMBOL + a
            obs[-1] = self._feedback
        else:
            actions = np.array([a])
            rewards = np.asarray(self.parent.reward(self._state, actions), dtype=np.float64)
            reward = float(rewards[0])
            if not 0.0 <= reward <= 1.0:
                raise ValueError(f"parent {self.parent!r} gave reward {reward}, outside [0, 1]")
            success = reward > SUCCESS_THRESHOLD
            self._state = self.parent.transition(self._state, actions, rewards)
            self._last_action, self._feedback = a, int(self._state.feedback[0])
            self._answer = int(self._state.answer[0])
            obs = self._state.to_tensor()[0]

        self._t += 1
        if success and not self._episode_success:
            self._steps_to_goal = self._t
        self._episode_success = self._episode_success or success
        info = {
            "success": success,
            "episode_success": self._episode_success,
            "steps_to_goal": self._steps_to_goal,
            "step": self._t,
            "difficulty": self._episode_level,
            "reward_goal": reward,
        }
        if self._optimal_steps is not None:
            info["optimal_steps"] = self._optimal_steps
        if not self._scalar_rules and hasattr(self.parent, "stats"):
            info["parent"] = self.parent.stats()
        return obs, reward, self._t >= self._horizon, False, info

    @property
    def state(self) -> State:
        """The current state (question, rule's answer, last action, feedback)."""
        if self._fresh_obs is None:
            raise RuntimeError("call reset() first")
        one = self._instances[self._row] if self._state is None else self._state[0]
        return State(self.task, one.fields, one.answer, self._last_action, self._feedback)

    def oracle(self) -> int:
        """The correct action in the current state, by the task's rules (in a world: the first
        step of a shortest path to the goal)."""
        if self._fresh_obs is None:
            raise RuntimeError("call reset() first")
        return self._answer

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self._fresh_obs is None:
            return None
        state = self.state
        text = f"Q: {state.sentence()}"
        if state.last_action >= 0:
            answer = self.task.describe_answer(state.last_action)
            text += f" A: {answer} ({feedback_word(state.feedback)})"
        return text
