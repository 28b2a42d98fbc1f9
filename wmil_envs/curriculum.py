"""Curriculum learning: a manager that raises (and optionally lowers) the difficulty level.

The manager only counts: it is fed the outcome of each finished episode (``episode_success``)
and says which level new episodes should use. The wrappers in :mod:`wmil_envs.wrappers` feed it
from an env's ``info`` and set the env's ``difficulty`` attribute; a trainer can also feed it
directly. Its state is plain Python data (``state_dict()`` / ``load_state_dict()``), so it fits
in a checkpoint loaded with ``torch.load(weights_only=True)`` and in ``summary.json``.

The levels themselves are data, the task classes' ``levels`` tables, read by
:mod:`wmil_envs.difficulty` and rendered for the docs by :mod:`wmil_envs.difficulty_tables`.
"""

from __future__ import annotations

import math
import operator
import sys
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from wmil_envs.difficulty import TaskLike, plain_data, resolve_task
from wmil_envs.tasks import Task

STATE_FORMAT = "wmil-curriculum/1"
"""Tag of the dict returned by :meth:`CurriculumManager.state_dict`."""


def _as_int(name: str, value: Any, kind: str = "an integer") -> int:
    """``value`` as a Python int (numpy integers too), or a TypeError naming ``name``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be {kind}, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be {kind}, got {value!r}") from None


def _check_int(name: str, value: Any, low: int) -> int:
    value = _as_int(name, value)
    if value < low:
        raise ValueError(f"{name}={value} must be >= {low}")
    return value


def _check_fraction(name: str, value: Any, allowed: str, ok) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)  # numpy scalars
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number in {allowed}, got {value!r}") from None
    value = float(value)
    if math.isnan(value) or not ok(value):
        raise ValueError(f"{name}={value} is outside the allowed range {allowed}")
    return value


def _check_success(success: Any) -> bool:
    if isinstance(success, bool):
        return success
    try:
        value = float(success)  # numpy bools, 0/1 integers
    except (TypeError, ValueError):
        value = math.nan
    if value not in (0.0, 1.0):
        raise ValueError(f"an episode outcome must be a bool (or 0/1), got {success!r}")
    return value == 1.0


class CurriculumManager:
    """Walks a schedule of difficulty levels by the success rate over a window of episodes.

    Args:
        task: a Task instance (levels are then checked against its ``num_actions``), a Task
            class, a task name (``"pattern_echo"``), an env id (``"WMIL/PatternEcho-v0"``), or
            a levels mapping ``{level: settings}`` for another env.
        schedule: the levels to walk through in order, e.g. ``[0, 2, 3]``; default: every level
            from the lowest up to ``max_level``.
        max_level: the last level; default the task's top level (for a Task instance, the top
            level its ``num_actions`` allows). With a ``schedule``, the schedule is cut after it.
        mastery_threshold: promote when the success rate over a full window is at least this;
            in (0, 1]. The plan: 0.8.
        window_size: episodes in the window (>= 1). The plan: 100. The window is emptied at each
            level change, so every decision is made on episodes played at the current level.
        demotion_threshold: if set, demote one step when the success rate over a full window is
            below it; in (0, mastery_threshold). Default ``None``: never demote.
        min_episodes: episodes to play at a level before it may change (default 0; the window
            already requires ``window_size``).
        start_level: the level to start at (a level of the schedule); default the first.

    Feed it with :meth:`update` (one finished episode) or :meth:`update_many`, advance its
    step clock with :meth:`advance`, read :attr:`level`. Outcomes of episodes played at a level
    other than the current one (``episode_level``) are ignored: after a change, episodes
    already under way at the old level do not count for the new one.
    """

    def __init__(
        self,
        task: TaskLike,
        *,
        schedule: Sequence[int] | None = None,
        max_level: int | None = None,
        mastery_threshold: float = 0.8,
        window_size: int = 100,
        demotion_threshold: float | None = None,
        min_episodes: int = 0,
        start_level: int | None = None,
    ):
        self.task_name, levels, instance = resolve_task(task)
        self.mastery_threshold = _check_fraction(
            "mastery_threshold", mastery_threshold, "(0, 1]", lambda v: 0.0 < v <= 1.0
        )
        self.window_size = _check_int("window_size", window_size, 1)
        self.min_episodes = _check_int("min_episodes", min_episodes, 0)
        if demotion_threshold is not None:
            demotion_threshold = _check_fraction(
                "demotion_threshold",
                demotion_threshold,
                f"(0, mastery_threshold={self.mastery_threshold})",
                lambda v: 0.0 < v < self.mastery_threshold,
            )
        self.demotion_threshold = demotion_threshold
        self.schedule = self._build_schedule(levels, instance, schedule, max_level)
        if start_level is None:
            self._stage = 0
        else:
            start_level = _check_int("start_level", start_level, -sys.maxsize)
            if start_level not in self.schedule:
                raise ValueError(
                    f"start_level={start_level} is not in the schedule {self.schedule}"
                )
            self._stage = self.schedule.index(start_level)
        self._window: deque[bool] = deque(maxlen=self.window_size)
        self.episodes_at_level = 0
        self.episodes = 0
        self.ignored_episodes = 0
        self.env_steps = 0
        self.history: list[dict[str, Any]] = []

    def _check_level(self, levels, instance: Task | None, level: Any, what: str) -> int:
        level = _as_int(what, level, "an integer level")
        if level not in levels:
            raise ValueError(
                f"{what}={level} is not a level of {self.task_name}; its levels are "
                f"{', '.join(str(lv) for lv in sorted(levels))}"
            )
        if instance is not None:
            try:
                instance.check_level(level)  # num_actions large enough, split has pairs, ...
            except ValueError as error:
                raise ValueError(f"{what}={level} cannot be used here: {error}") from None
        return level

    def _build_schedule(self, levels, instance, schedule, max_level) -> list[int]:
        if max_level is not None:
            max_level = self._check_level(levels, instance, max_level, "max_level")
        if schedule is None:
            ordered = sorted(levels)
            if max_level is not None:
                return ordered[: ordered.index(max_level) + 1]
            usable = []
            for level in ordered:  # the levels this instance allows (e.g. by num_actions)
                try:
                    usable.append(self._check_level(levels, instance, level, "level"))
                except ValueError:
                    break
            if not usable:
                raise ValueError(f"no level of {self.task_name} can be used here")
            return usable
        if isinstance(schedule, (str, bytes)) or not isinstance(schedule, Iterable):
            raise TypeError(f"schedule must be a list of levels, got {schedule!r}")
        schedule = list(schedule)
        if not schedule:
            raise ValueError("schedule must name at least one level, got []")
        checked = [
            self._check_level(levels, instance, level, f"schedule[{i}]")
            for i, level in enumerate(schedule)
        ]
        if len(set(checked)) != len(checked):
            raise ValueError(f"schedule {checked} names a level twice; each level once")
        if max_level is not None:
            if max_level not in checked:
                raise ValueError(f"max_level={max_level} is not in the schedule {checked}")
            checked = checked[: checked.index(max_level) + 1]
        return checked

    # --- reading ---
    @property
    def level(self) -> int:
        """The level new episodes should use."""
        return self.schedule[self._stage]

    @property
    def stage(self) -> int:
        """Index of :attr:`level` in :attr:`schedule`."""
        return self._stage

    @property
    def max_level(self) -> int:
        return self.schedule[-1]

    @property
    def at_max(self) -> bool:
        return self._stage == len(self.schedule) - 1

    @property
    def window(self) -> tuple[bool, ...]:
        """Outcomes of the latest episodes at this level, oldest first."""
        return tuple(self._window)

    @property
    def success_rate(self) -> float | None:
        """Success rate over the window, or ``None`` when it is empty."""
        return sum(self._window) / len(self._window) if self._window else None

    def __repr__(self) -> str:
        return (
            f"CurriculumManager({self.task_name!r}, level={self.level}, "
            f"schedule={self.schedule}, window={len(self._window)}/{self.window_size})"
        )

    # --- feeding ---
    def advance(self, env_steps: int = 1) -> None:
        """Advance the step clock (env steps, summed over vector envs) that history records."""
        self.env_steps += _check_int("env_steps", env_steps, 0)

    def update(self, success: Any, episode_level: int | None = None) -> bool:
        """Record one finished episode; return whether the level changed.

        ``episode_level`` is the level the episode was played at (``info["difficulty"]``); an
        episode from another level than the current one is ignored.
        """
        success = _check_success(success)
        if episode_level is not None and int(episode_level) != self.level:
            self.ignored_episodes += 1
            return False
        self._window.append(success)
        self.episodes += 1
        self.episodes_at_level += 1
        if len(self._window) < self.window_size or self.episodes_at_level < self.min_episodes:
            return False
        rate = sum(self._window) / len(self._window)
        if rate >= self.mastery_threshold and not self.at_max:
            self._change(+1, "promoted", rate)
            return True
        if self.demotion_threshold is not None and rate < self.demotion_threshold:
            if self._stage > 0:
                self._change(-1, "demoted", rate)
                return True
        return False

    def update_many(
        self, successes: Iterable[Any], episode_levels: Iterable[int | None] | None = None
    ) -> bool:
        """Record several finished episodes in order; return whether the level changed."""
        successes = list(successes)
        levels = [None] * len(successes) if episode_levels is None else list(episode_levels)
        if len(levels) != len(successes):
            raise ValueError(f"got {len(successes)} outcomes but {len(levels)} episode levels")
        changed = False
        for success, level in zip(successes, levels, strict=True):
            changed |= self.update(success, level)
        return changed

    def set_level(self, level: int) -> None:
        """Jump to a level of the schedule by hand (recorded in history as ``"set"``)."""
        level = _check_int("level", level, -sys.maxsize)
        if level not in self.schedule:
            raise ValueError(f"level={level} is not in the schedule {self.schedule}")
        if level != self.level:
            self._change(self.schedule.index(level) - self._stage, "set", self.success_rate)

    def _change(self, delta: int, reason: str, rate: float | None) -> None:
        old = self.level
        self._stage += delta
        self.history.append(
            {
                "step": self.env_steps,
                "episode": self.episodes,
                "from_level": old,
                "to_level": self.level,
                "reason": reason,
                "success_rate": rate,
            }
        )
        self._window.clear()
        self.episodes_at_level = 0

    # --- saving ---
    def settings(self) -> dict[str, Any]:
        return {
            "task": self.task_name,
            "schedule": list(self.schedule),
            "mastery_threshold": self.mastery_threshold,
            "window_size": self.window_size,
            "demotion_threshold": self.demotion_threshold,
            "min_episodes": self.min_episodes,
        }

    def state_dict(self) -> dict[str, Any]:
        """The settings and the state, as plain JSON-able Python types."""
        return {
            "format": STATE_FORMAT,
            "settings": self.settings(),
            "level": self.level,
            "stage": self._stage,
            "window": [int(s) for s in self._window],
            "episodes_at_level": self.episodes_at_level,
            "episodes": self.episodes,
            "ignored_episodes": self.ignored_episodes,
            "env_steps": self.env_steps,
            "history": [dict(entry) for entry in self.history],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`; the settings must equal this manager's."""
        if not isinstance(state, Mapping) or state.get("format") != STATE_FORMAT:
            raise ValueError(
                f"not a curriculum state (expected a dict with format={STATE_FORMAT!r}), "
                f"got {str(state)[:100]!r}"
            )
        saved = state.get("settings")
        mine = self.settings()
        if not isinstance(saved, Mapping):
            raise ValueError("corrupt curriculum state: 'settings' is missing")
        differ = {k: (saved.get(k), v) for k, v in mine.items() if plain_data(saved.get(k)) != v}
        if differ:
            text = ", ".join(f"{k}: saved {a!r}, here {b!r}" for k, (a, b) in differ.items())
            raise ValueError(
                f"the curriculum state was saved with other settings ({text}); build the "
                f"manager with CurriculumManager.from_state_dict(state, task) to use the saved ones"
            )
        try:
            stage = _check_int("stage", state["stage"], 0)
            if stage >= len(self.schedule) or self.schedule[stage] != state["level"]:
                raise ValueError(
                    f"stage={stage} and level={state['level']!r} disagree with the schedule "
                    f"{self.schedule}"
                )
            window = [_check_success(s) for s in state["window"]]
            if len(window) > self.window_size:
                raise ValueError(f"window holds {len(window)} > window_size episodes")
            counts = {
                name: _check_int(name, state[name], 0)
                for name in ("episodes_at_level", "episodes", "ignored_episodes", "env_steps")
            }
            history = [dict(entry) for entry in state["history"]]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"corrupt curriculum state: {error!r}") from None
        self._stage = stage
        self._window = deque(window, maxlen=self.window_size)
        self.episodes_at_level = counts["episodes_at_level"]
        self.episodes = counts["episodes"]
        self.ignored_episodes = counts["ignored_episodes"]
        self.env_steps = counts["env_steps"]
        self.history = history

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any], task: TaskLike) -> CurriculumManager:
        """A manager with the saved settings and state (``task`` checks the levels)."""
        settings = state.get("settings") if isinstance(state, Mapping) else None
        if not isinstance(settings, Mapping):
            raise ValueError("not a curriculum state: 'settings' is missing")
        manager = cls(
            task,
            schedule=settings["schedule"],
            mastery_threshold=settings["mastery_threshold"],
            window_size=settings["window_size"],
            demotion_threshold=settings["demotion_threshold"],
            min_episodes=settings["min_episodes"],
        )
        manager.load_state_dict(state)
        return manager
