"""The native batched environment: many episodes stepped by one numpy call per rule.

Same task rules and parent protocol as the single env, so the two cannot drift apart. Autoreset
is Gymnasium's ``SAME_STEP`` mode: an episode that ends is replaced in the same ``step`` call;
``infos["final_obs"]`` (an ``(num_envs, obs_len)`` array) holds every env's observation after
its action (terminal ones included) and ``infos["final_info"]`` the finished episodes' info,
with the same keys and ``_key`` masks as Gymnasium's ``SyncVectorEnv`` in that mode. A parent
with ``stats()`` (an LLM parent's calls, cache hits, disagreements) reports them in
``infos["parent"]``, always at the top level since they are shared by all envs.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from wmil_envs.parent import SUCCESS_THRESHOLD, Parent, resolve_parent
from wmil_envs.single_env import (
    apply_reset_options,
    check_episode_length,
    check_render_mode,
    observation_space,
)
from wmil_envs.state import StateBatch, feedback_word
from wmil_envs.tasks.base import Task


class WMILVectorEnv(VectorEnv):
    """Base class of the WMIL native vector envs; a subclass names its ``task_class``."""

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["ansi"],
        "autoreset_mode": AutoresetMode.SAME_STEP,
    }
    task_class: ClassVar[type[Task]]

    def __init__(
        self,
        num_envs: int = 1,
        num_actions: int | None = None,
        difficulty: int | Sequence[int] = 0,
        episode_length: int | None = None,
        parent: Parent | str | None = None,
        render_mode: str | None = None,
        **task_kwargs: Any,
    ):
        try:
            num_envs = operator.index(num_envs)
        except TypeError:
            raise TypeError(f"num_envs must be an integer, got {num_envs!r}") from None
        if num_envs < 1:
            raise ValueError(f"num_envs={num_envs} must be >= 1")
        self.num_envs = num_envs
        self.task = self.task_class(num_actions=num_actions, **task_kwargs)
        self.parent = resolve_parent(parent)
        self._fixed_length = check_episode_length(episode_length)
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.single_action_space = spaces.Discrete(self.task.num_actions)
        self.single_observation_space = observation_space(self.task)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self._levels = self._check_levels(difficulty)
        self._level_horizon = np.zeros(self.task.max_level + 1, dtype=np.int64)
        for level in self.task.levels:
            self._level_horizon[level] = self.horizon(level)
        self._states: StateBatch | None = None

    # --- difficulty: one level per env, reached by set_attr / call like SyncVectorEnv's ---
    def _check_levels(self, difficulty: int | Sequence[int]) -> np.ndarray:
        values = [difficulty] * self.num_envs if np.ndim(difficulty) == 0 else list(difficulty)
        if len(values) != self.num_envs:
            raise ValueError(f"got {len(values)} difficulties for {self.num_envs} envs")
        return np.array([self.task.check_level(v) for v in values], dtype=np.int64)

    @property
    def difficulty(self) -> tuple[int, ...]:
        """Level of each env's next episode."""
        return tuple(int(v) for v in self._levels)

    @difficulty.setter
    def difficulty(self, levels: int | Sequence[int]) -> None:
        self._levels = self._check_levels(levels)

    def horizon(self, level: int) -> int:
        """Steps per episode at ``level``: ``episode_length`` if given, else the level's."""
        return self._fixed_length or self.task.horizon(level) or 1

    @property
    def episode_length(self) -> int:
        """Steps per episode: the one given, else the longest horizon of the envs' levels."""
        return int(self._level_horizon[self._levels].max())

    def get_attr(self, name: str) -> tuple[Any, ...]:
        if name == "difficulty":
            return self.difficulty
        return (getattr(self, name),) * self.num_envs

    def set_attr(self, name: str, values: Any) -> None:
        if name != "difficulty":
            raise AttributeError(f"set_attr supports 'difficulty' only, not {name!r}")
        self.difficulty = values

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``call("oracle")`` gives the correct actions; other names are methods or attributes."""
        attribute = getattr(self, name)
        return attribute(*args, **kwargs) if callable(attribute) else attribute

    # --- episodes ---
    def _generate(self, levels: np.ndarray) -> StateBatch:
        """New instances, one per entry of ``levels`` (one parent call per distinct level)."""
        if (levels == levels[0]).all():
            return self.parent.generate(self.task, self.np_random, len(levels), int(levels[0]))
        distinct = np.unique(levels)
        parts = [
            self.parent.generate(self.task, self.np_random, int((levels == lv).sum()), int(lv))
            for lv in distinct
        ]
        order = np.argsort(levels, kind="stable")  # rows of the concatenated parts, by level
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return _concatenate(parts).take(inverse)

    def reset(
        self, *, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None
    ):
        if isinstance(seed, (list, tuple)):
            seed = seed[0]  # one generator drives the whole batch
        super().reset(seed=seed)
        apply_reset_options(self, options)
        self._states = self._generate(self._levels)
        self._episode_levels = self._levels.copy()
        self._horizon = self._level_horizon[self._episode_levels]
        self._t = np.zeros(self.num_envs, dtype=np.int64)
        self._episode_success = np.zeros(self.num_envs, dtype=bool)
        self._steps_to_goal = np.zeros(self.num_envs, dtype=np.int64)
        self._optimal = self.task.optimal_steps(self._states.fields)
        all_envs = np.ones(self.num_envs, dtype=bool)
        info = {
            "step": self._t.copy(),
            "_step": all_envs,
            "difficulty": self._episode_levels.copy(),
            "_difficulty": all_envs.copy(),
        }
        return self._states.to_tensor(), info

    def _check_actions(self, actions: Any) -> np.ndarray:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or actions.dtype.kind not in "iu":
            raise ValueError(
                f"actions must be an integer array of shape ({self.num_envs},), "
                f"got shape {actions.shape} and dtype {actions.dtype}"
            )
        bad = (actions < 0) | (actions >= self.task.num_actions)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"action {actions[i]} (env {i}) is outside the action space "
                f"Discrete({self.task.num_actions}): use integers in 0..{self.task.num_actions - 1}"
            )
        return actions.astype(np.int64, copy=False)

    def step(self, actions: Any):
        if self._states is None:
            raise RuntimeError("call reset() before step()")
        actions = self._check_actions(actions)
        rewards = np.asarray(self.parent.reward(self._states, actions), dtype=np.float64)
        if not ((rewards >= 0.0) & (rewards <= 1.0)).all():
            raise ValueError(f"parent {self.parent!r} gave rewards outside [0, 1]: {rewards}")
        states = self.parent.transition(self._states, actions, rewards)
        success = rewards > SUCCESS_THRESHOLD
        self._t += 1
        first = success & ~self._episode_success
        self._steps_to_goal[first] = self._t[first]
        self._episode_success |= success
        step_info = {
            "success": success,
            "episode_success": self._episode_success.copy(),
            "steps_to_goal": self._steps_to_goal.copy(),
            "step": self._t.copy(),
            "difficulty": self._episode_levels.copy(),
            "reward_goal": rewards.copy(),
        }
        if self._optimal is not None:
            step_info["optimal_steps"] = self._optimal.copy()
        if hasattr(self.parent, "stats"):
            step_info["parent"] = self.parent.stats()
        terminated = self._t >= self._horizon
        next_obs = states.to_tensor()
        if not terminated.any():
            self._states = states
            infos = _with_masks(step_info, np.ones(self.num_envs, dtype=bool))
            return next_obs, rewards, terminated, np.zeros(self.num_envs, dtype=bool), infos

        # Autoreset (same step): finished episodes start anew; their info moves to final_info.
        running = ~terminated
        if not running.any():
            done = slice(None)
            self._states = self._generate(self._levels)
            obs = self._states.to_tensor()
        else:
            done = np.flatnonzero(terminated)
            fresh = self._generate(self._levels[done])
            self._states = states.put(done, fresh)
            obs = next_obs.copy()
            obs[done] = fresh.to_tensor()
        self._t[done] = 0
        self._episode_success[done] = False
        self._steps_to_goal[done] = 0
        self._episode_levels[done] = self._levels[done]
        self._horizon[done] = self._level_horizon[self._episode_levels[done]]
        if self._optimal is not None:
            self._optimal[done] = self.task.optimal_steps(self._states.take(done).fields)
        # like SyncVectorEnv: finished envs report their new episode's reset info at top level
        infos = _with_masks(step_info, running) if running.any() else {}
        infos["step"] = self._t.copy()  # reset envs report step 0, like SyncVectorEnv
        infos["_step"] = np.ones(self.num_envs, dtype=bool)
        infos["difficulty"] = self._episode_levels.copy()
        infos["_difficulty"] = np.ones(self.num_envs, dtype=bool)
        if "parent" in step_info:  # the parent's counters are global: always at top level
            infos["parent"] = step_info["parent"]
        infos["final_obs"] = next_obs
        infos["_final_obs"] = terminated.copy()
        infos["final_info"] = _with_masks(step_info, terminated)
        infos["_final_info"] = terminated.copy()
        return obs, rewards, terminated, np.zeros(self.num_envs, dtype=bool), infos

    @property
    def horizons(self) -> np.ndarray:
        """Steps of each env's current episode (``episode_length``, or its level's horizon)."""
        return self._horizon.copy()

    def oracle(self) -> np.ndarray:
        """The correct action of every env in its current state, by the task's rules."""
        if self._states is None:
            raise RuntimeError("call reset() first")
        return self._states.answer.copy()

    @property
    def states(self) -> StateBatch:
        if self._states is None:
            raise RuntimeError("call reset() first")
        return self._states

    def render(self) -> tuple[str, ...] | None:
        if self.render_mode != "ansi" or self._states is None:
            return None
        lines = []
        for i in range(self.num_envs):
            state = self._states[i]
            text = f"Q: {state.sentence()}"
            if state.last_action >= 0:
                text += (
                    f" A: {self.task.describe_answer(state.last_action)}"
                    f" ({feedback_word(state.feedback)})"
                )
            lines.append(text)
        return tuple(lines)


def _with_masks(info: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    """Gymnasium's vector info layout: every key ``k`` comes with a boolean mask ``_k``."""
    out: dict[str, np.ndarray] = {}
    for key, value in info.items():
        out[key] = value
        if not isinstance(value, dict):  # "parent": the parent's counters, shared by all envs
            out["_" + key] = mask.copy()
    return out


def _concatenate(batches: list[StateBatch]) -> StateBatch:
    first = batches[0]
    return StateBatch(
        first.task,
        {name: np.concatenate([b.fields[name] for b in batches]) for name in first.fields},
        np.concatenate([b.question for b in batches]),
        np.concatenate([b.answer for b in batches]),
        np.concatenate([b.last_action for b in batches]),
        np.concatenate([b.feedback for b in batches]),
    )
