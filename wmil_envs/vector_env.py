"""The native batched environment: many episodes stepped by one numpy call per rule.

Same task rules and parent protocol as the single env, so the two cannot drift apart. The
``autoreset_mode`` argument picks Gymnasium's autoreset mode, with the same observations,
rewards, flags, info keys and ``_key`` masks as ``SyncVectorEnv`` in that mode:

- ``SAME_STEP`` (default; our trainer's): an episode that ends is replaced in the same ``step``
  call; ``infos["final_obs"]`` (an ``(num_envs, obs_len)`` array) holds every env's observation
  after its action and ``infos["final_info"]`` the finished episodes' info.
- ``NEXT_STEP`` (what RLlib, TorchRL, CleanRL and Gymnasium's vector wrappers expect): the step
  that ends an episode returns its last observation; the next ``step`` ignores that env's action,
  starts a new episode and returns its first observation with reward 0.
- ``DISABLED``: ended envs wait until ``reset(options={"reset_mask": mask})`` restarts them.

A parent with ``stats()`` (an LLM parent's calls, cache hits, disagreements) reports them in
``infos["parent"]``, always at the top level since they are shared by all envs.
"""

from __future__ import annotations

import operator
import time
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
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        episode_statistics: bool = False,
        **task_kwargs: Any,
    ):
        """``episode_statistics=True`` adds ``infos["episode"]`` (return ``r``, length ``l``,
        seconds ``t``, ``success``) when episodes end, as ``RecordEpisodeStatistics`` does: use
        it instead of that wrapper with gymnasium < 1.4, whose wrapper misreads SAME_STEP envs."""
        try:
            num_envs = operator.index(num_envs)
        except TypeError:
            raise TypeError(f"num_envs must be an integer, got {num_envs!r}") from None
        if num_envs < 1:
            raise ValueError(f"num_envs={num_envs} must be >= 1")
        self.num_envs = num_envs
        self.autoreset_mode = _check_autoreset_mode(autoreset_mode)
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        self.episode_statistics = bool(episode_statistics)
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

    # --- seeds --------------------------------------------------------------------------------
    def _seed(self, seed: int | Sequence[int | None] | None) -> None:
        """Seed the one generator that draws every env's instances.

        ``seed=s`` and ``seed=[s, s + 1, ..., s + n - 1]`` are the same (as in ``SyncVectorEnv``);
        any other list of ``num_envs`` seeds seeds the generator from all its entries (a ``None``
        entry adds fresh entropy). The streams are not ``SyncVectorEnv``'s: there each env has its
        own generator, here env ``i``'s questions come from the shared one.
        """
        if seed is None:
            return
        if isinstance(seed, (list, tuple, np.ndarray)):
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"got {len(seeds)} seeds for {self.num_envs} envs")
            if all(s is None for s in seeds):
                return
            entropy = [_check_seed(s) for s in seeds]
            if entropy != list(range(entropy[0], entropy[0] + self.num_envs)):
                self.np_random = np.random.default_rng(np.random.SeedSequence(entropy))
                return
            seed = entropy[0]
        super().reset(seed=_check_seed(seed))

    # --- episodes -----------------------------------------------------------------------------
    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ):
        """Start new episodes: all envs, or those in ``options["reset_mask"]`` (a boolean array,
        as in Gymnasium; the way to restart ended envs when ``autoreset_mode`` is DISABLED)."""
        options = dict(options or {})
        reset_mask = _check_reset_mask(options.pop("reset_mask", None), self.num_envs)
        if reset_mask is not None and self._states is None:
            raise RuntimeError("call reset() without a reset_mask first")
        self._seed(seed)
        apply_reset_options(self, options)
        if reset_mask is None:
            n = self.num_envs
            self._states = None
            self._optimal: np.ndarray | None = None
            self._episode_levels = self._levels.copy()
            self._horizon = self._level_horizon[self._episode_levels]
            self._t = np.zeros(n, dtype=np.int64)
            self._episode_success = np.zeros(n, dtype=bool)
            self._steps_to_goal = np.zeros(n, dtype=np.int64)
            self._return = np.zeros(n, dtype=np.float64)
            self._started = np.zeros(n, dtype=np.float64)
            self._ended = np.zeros(n, dtype=bool)  # awaiting a reset (NEXT_STEP, DISABLED)
            reset_mask = np.ones(n, dtype=bool)
        self._restart(np.flatnonzero(reset_mask))
        info = {"step": self._t.copy(), "difficulty": self._episode_levels.copy()}
        return self._states.to_tensor(), _with_masks(info, reset_mask)

    def _restart(self, rows: np.ndarray) -> None:
        """New episodes in the envs at ``rows`` (indices in increasing order)."""
        whole = len(rows) == self.num_envs
        at = slice(None) if whole else rows  # a slice writes a whole batch far faster
        levels = self._levels[at]
        fresh = self._generate(levels)
        self._states = fresh if whole else self._states.put(rows, fresh)
        self._t[at] = 0
        self._episode_success[at] = False
        self._steps_to_goal[at] = 0
        self._return[at] = 0.0
        self._started[at] = time.perf_counter()
        self._ended[at] = False
        self._episode_levels[at] = levels
        self._horizon[at] = self._level_horizon[levels]
        optimal = self.task.optimal_steps(fresh.fields)
        if optimal is not None:
            if self._optimal is None:
                self._optimal = np.zeros(self.num_envs, dtype=np.int64)
            self._optimal[at] = optimal

    def _check_actions(self, actions: Any) -> np.ndarray:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or actions.dtype.kind not in "iu":
            raise ValueError(
                f"actions must be an integer array of shape ({self.num_envs},), "
                f"got shape {actions.shape} and dtype {actions.dtype}"
            )
        if actions.min() < 0 or actions.max() >= self.task.num_actions:  # two passes, no temps
            bad = (actions < 0) | (actions >= self.task.num_actions)
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"action {actions[i]} (env {i}) is outside the action space "
                f"Discrete({self.task.num_actions}): use integers in 0..{self.task.num_actions - 1}"
            )
        return actions.astype(np.int64, copy=False)

    def _advance(self, actions: np.ndarray, rows: np.ndarray | None):
        """Apply ``actions`` in the envs at ``rows`` (all when None). Returns their rewards,
        observations after the action, terminated flags and step info."""
        at = slice(None) if rows is None else rows
        states = self._states if rows is None else self._states.take(rows)
        actions = actions[at]
        rewards = np.asarray(self.parent.reward(states, actions), dtype=np.float64)
        if not (rewards.min() >= 0.0 and rewards.max() <= 1.0):  # a NaN fails too
            raise ValueError(f"parent {self.parent!r} gave rewards outside [0, 1]: {rewards}")
        after = self.parent.transition(states, actions, rewards)
        self._states = after if rows is None else self._states.put(rows, after)
        success = rewards > SUCCESS_THRESHOLD
        self._t[at] += 1
        t = self._t[at]
        first = success & ~self._episode_success[at]
        self._steps_to_goal[at] = np.where(first, t, self._steps_to_goal[at])
        self._episode_success[at] |= success
        self._return[at] += rewards
        info = {
            "success": success,
            "episode_success": self._episode_success[at].copy(),
            "steps_to_goal": self._steps_to_goal[at].copy(),
            "step": t.copy(),
            "difficulty": self._episode_levels[at].copy(),
            "reward_goal": rewards.copy(),
        }
        if self._optimal is not None:
            info["optimal_steps"] = self._optimal[at].copy()
        if hasattr(self.parent, "stats"):
            info["parent"] = self.parent.stats()
        return rewards, after.to_tensor(), t >= self._horizon[at], info

    def step(self, actions: Any):
        if self._states is None:
            raise RuntimeError("call reset() before step()")
        actions = self._check_actions(actions)
        truncated = np.zeros(self.num_envs, dtype=bool)
        if self._ended.any():
            if self.autoreset_mode == AutoresetMode.DISABLED:
                raise RuntimeError(
                    f"envs {np.flatnonzero(self._ended).tolist()} have ended; with "
                    "autoreset_mode=DISABLED restart them with "
                    "reset(options={'reset_mask': terminated}) before stepping"
                )
            obs, rewards, terminated, infos = self._step_next_to_resets(actions)
            return obs, rewards, terminated, truncated, infos
        rewards, next_obs, terminated, step_info = self._advance(actions, None)
        statistics = self._statistics(terminated)
        if not terminated.any() or self.autoreset_mode != AutoresetMode.SAME_STEP:
            self._ended = terminated.copy()
            infos = _with_masks(step_info, np.ones(self.num_envs, dtype=bool))
            return next_obs, rewards, terminated, truncated, {**infos, **statistics}

        # SAME_STEP: finished episodes start anew in this call; their info moves to final_info.
        running = ~terminated
        some_running = running.any()
        done = np.flatnonzero(terminated)
        self._restart(done)
        if some_running:
            obs = next_obs.copy()
            obs[done] = self._states.take(done).to_tensor()
        else:
            obs = self._states.to_tensor()
        # like SyncVectorEnv: finished envs report their new episode's reset info at top level
        infos = _with_masks(step_info, running) if some_running else {}
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
        return obs, rewards, terminated, truncated, {**infos, **statistics}

    def _step_next_to_resets(self, actions: np.ndarray):
        """NEXT_STEP autoreset: the envs that ended last step start anew (reward 0, their
        reset info, ``actions`` ignored there) while the others step."""
        resetting = self._ended.copy()
        stepping = np.flatnonzero(~resetting)
        obs = np.empty(self.observation_space.shape, dtype=np.int64)
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminated = np.zeros(self.num_envs, dtype=bool)
        infos: dict[str, Any] = {}
        statistics: dict[str, Any] = {}
        if stepping.size:
            step_rewards, step_obs, step_done, step_info = self._advance(actions, stepping)
            obs[stepping], rewards[stepping], terminated[stepping] = (
                step_obs,
                step_rewards,
                step_done,
            )
            statistics = self._statistics(terminated)
            infos = _with_masks(_scatter(step_info, stepping, self.num_envs), ~resetting)
        self._restart(np.flatnonzero(resetting))
        obs[resetting] = self._states.take(np.flatnonzero(resetting)).to_tensor()
        self._ended = terminated.copy()
        infos["step"] = self._t.copy()  # reset envs report step 0, like SyncVectorEnv
        infos["_step"] = np.ones(self.num_envs, dtype=bool)
        infos["difficulty"] = self._episode_levels.copy()
        infos["_difficulty"] = np.ones(self.num_envs, dtype=bool)
        return obs, rewards, terminated, {**infos, **statistics}

    def _statistics(self, terminated: np.ndarray) -> dict[str, Any]:
        """With ``episode_statistics=True``: the ended episodes' return, length, seconds and
        success where gymnasium's ``RecordEpisodeStatistics`` puts them (``infos["episode"]``,
        mask ``infos["_episode"]``), in every autoreset mode."""
        if not self.episode_statistics or not terminated.any():
            return {}
        elapsed = np.round(time.perf_counter() - self._started, 6)
        episode = {
            "r": np.where(terminated, self._return, 0.0),
            "l": np.where(terminated, self._t, 0),
            "t": np.where(terminated, elapsed, 0.0),
            "success": terminated & self._episode_success,
        }
        return {"episode": episode, "_episode": terminated.copy()}

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


def _scatter(info: dict[str, Any], rows: np.ndarray, num_envs: int) -> dict[str, Any]:
    """Info of the envs at ``rows`` spread over arrays for all envs (zeros elsewhere)."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        if isinstance(value, dict):
            out[key] = value
        else:
            out[key] = np.zeros((num_envs, *value.shape[1:]), dtype=value.dtype)
            out[key][rows] = value
    return out


def _check_seed(seed: Any) -> int:
    try:
        value = operator.index(seed)
    except TypeError:
        raise TypeError(f"a seed must be a non-negative integer or None, got {seed!r}") from None
    if value < 0:
        raise ValueError(f"a seed must be a non-negative integer, got {value}")
    return value


def _check_reset_mask(mask: Any, num_envs: int) -> np.ndarray | None:
    """``options["reset_mask"]`` as Gymnasium's ``SyncVectorEnv`` checks it."""
    if mask is None:
        return None
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (num_envs,):
        raise ValueError(
            f"options['reset_mask'] must be a boolean numpy array of shape ({num_envs},), "
            f"got {mask!r}"
        )
    if not mask.any():
        raise ValueError("options['reset_mask'] selects no env: set at least one True")
    return mask.copy()


def _check_autoreset_mode(mode: Any) -> AutoresetMode:
    """An ``AutoresetMode``, its value (``"NextStep"``) or its name in any case."""
    if isinstance(mode, AutoresetMode):
        return mode
    for member in AutoresetMode:
        if isinstance(mode, str) and mode.lower() in (member.name.lower(), member.value.lower()):
            return member
    names = [m.name.lower() for m in AutoresetMode]
    raise ValueError(f"autoreset_mode={mode!r} is not one of {names} (or an AutoresetMode)")


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
