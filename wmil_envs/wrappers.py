"""Curriculum wrappers: feed finished episodes to a :class:`CurriculumManager` and set the
env's ``difficulty`` attribute to the manager's level.

- :class:`CurriculumWrapper` wraps one env (``gymnasium.Wrapper``); it also works inside
  Stable-Baselines3's ``DummyVecEnv`` / ``make_vec_env(wrapper_class=...)``.
- :class:`VectorCurriculumWrapper` wraps a vector env (``gymnasium.vector.VectorWrapper``):
  gymnasium's ``SyncVectorEnv`` / ``AsyncVectorEnv`` (any autoreset mode) and the native
  batched WMIL env (``gym.make_vec("WMIL/...")``).
- :class:`SB3VecEnvCurriculum` drives a curriculum from outside a Stable-Baselines3 ``VecEnv``
  (e.g. in a callback), reaching the envs through ``env_method``; for ``SubprocVecEnv``.

A new level applies to episodes that start after it is set (autoresets call ``reset()``
without options, so the attribute carries it). Each wrapper puts the manager's level in
``info["curriculum_level"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper

from wmil_envs.curriculum import CurriculumManager

LEVEL_KEY = "curriculum_level"


def _manager(task: Any, manager: CurriculumManager | None, kwargs: dict) -> CurriculumManager:
    if manager is None:
        return CurriculumManager(task, **kwargs)
    if kwargs:
        raise TypeError(
            f"give either a manager or manager settings, not both (got {sorted(kwargs)})"
        )
    if not isinstance(manager, CurriculumManager):
        raise TypeError(f"manager must be a CurriculumManager, got {manager!r}")
    if hasattr(task, "check_level"):
        for level in manager.schedule:
            task.check_level(level)  # the env must support every level of the schedule
    return manager


class _FollowsManager:
    """What every curriculum wrapper shares: a manager, and the env's difficulty set to the
    manager's level once per change, by :meth:`_set_difficulty` (one per kind of env)."""

    manager: CurriculumManager
    success_key: str
    _applied: int | None = None  # the level last set on the env; None before the first set

    @property
    def curriculum_level(self) -> int:
        """The manager's level: the level of episodes that start from now on."""
        return self.manager.level

    def _set_difficulty(self, level: int) -> None:
        raise NotImplementedError

    def _apply(self) -> None:
        level = self.manager.level
        if level != self._applied:
            self._set_difficulty(level)
            self._applied = level

    def _record_episode(self, info: dict[str, Any], which: str = "the episode") -> None:
        """Feed one finished episode's outcome and level (from its last ``info``) to the
        manager."""
        if self.success_key not in info:
            raise KeyError(
                f"{which} ended but its info has no {self.success_key!r} (keys: "
                f"{sorted(info)}); pass success_key= the key of the episode outcome"
            )
        self.manager.update(info[self.success_key], info.get("difficulty"))

    def state_dict(self) -> dict[str, Any]:
        return self.manager.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the manager; episodes that start after this use the restored level."""
        self.manager.load_state_dict(state)
        self._apply()


class CurriculumWrapper(_FollowsManager, gym.Wrapper):
    """One env with a curriculum.

    Args:
        env: an env with a ``difficulty`` attribute (any WMIL env, however wrapped).
        manager: a :class:`CurriculumManager` (may be shared by several wrapped envs in one
            process); default: a new one for the env's task built from ``manager_kwargs``.
        success_key: the ``info`` key of the episode outcome at the episode's last step.
        **manager_kwargs: ``CurriculumManager`` settings (``mastery_threshold``,
            ``window_size``, ``schedule``, ``max_level``, ``demotion_threshold``, ...).

    At the end of each episode the outcome ``info[success_key]`` and the episode's level
    ``info["difficulty"]`` go to the manager; when its level differs from the env's, the
    wrapper sets the env's ``difficulty`` (through ``set_wrapper_attr``), so the next episode
    uses it; the manager's first level is set at the first ``reset`` or ``step``, so a state
    loaded before then is applied once. Every ``info`` gets ``info["curriculum_level"]``.
    """

    def __init__(
        self,
        env: gym.Env,
        manager: CurriculumManager | None = None,
        *,
        success_key: str = "episode_success",
        **manager_kwargs: Any,
    ):
        super().__init__(env)
        task = _get_task(lambda: env.get_wrapper_attr("task"), manager)
        self.manager = _manager(task, manager, manager_kwargs)
        self.success_key = success_key

    def _set_difficulty(self, level: int) -> None:
        self.env.set_wrapper_attr("difficulty", level)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._apply()  # e.g. after load_state_dict, or a change made through a shared manager
        obs, info = self.env.reset(seed=seed, options=options)
        info[LEVEL_KEY] = self.manager.level
        return obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.manager.advance(1)
        if terminated or truncated:
            self._record_episode(info)
        self._apply()
        info[LEVEL_KEY] = self.manager.level
        return obs, reward, terminated, truncated, info


def _get_task(get, manager):
    try:
        return get()
    except AttributeError:
        if manager is None:
            raise AttributeError(
                "the env has no 'task' attribute to build a curriculum for; "
                "pass manager=CurriculumManager(levels_table, ...)"
            ) from None
        return None


def _attr_env(env: Any) -> Any:
    """The outermost env in a vector wrapper chain that has ``set_attr`` (VectorWrapper lacks
    ``get_attr`` / ``set_attr`` / ``call`` in gymnasium 1.x)."""
    while not hasattr(env, "set_attr"):
        if not hasattr(env, "env"):
            raise AttributeError(f"{env!r} has no set_attr to set the difficulty with")
        env = env.env
    return env


def _masked(info: dict[str, Any], key: str, mask: np.ndarray) -> np.ndarray:
    """Indices where ``mask`` holds, checked to have a value of ``key``."""
    if key not in info:
        raise KeyError(
            f"an episode ended but its info has no {key!r} (keys: {sorted(info)}); "
            f"pass success_key= the key of the episode outcome"
        )
    present = np.asarray(info.get("_" + key, np.ones(len(mask), dtype=bool)), dtype=bool)
    missing = mask & ~present
    if missing.any():
        raise KeyError(f"env {int(np.flatnonzero(missing)[0])} ended without {key!r} in its info")
    return np.flatnonzero(mask)


class VectorCurriculumWrapper(_FollowsManager, VectorWrapper):
    """A vector env with one curriculum for all its envs.

    Args:
        env: a vector env whose sub-envs have a ``difficulty`` attribute, reached with
            ``set_attr``: ``gym.make_vec("WMIL/...")`` (native batched env, or
            ``vectorization_mode="sync"/"async"``), possibly under other vector wrappers.
        manager, success_key, **manager_kwargs: as for :class:`CurriculumWrapper`.

    Finished episodes are read from ``infos["final_info"]`` (``SAME_STEP`` autoreset: the native
    env, or Sync/Async built with it) or from the top level of ``infos`` in the step they end
    (``NEXT_STEP``, gymnasium's default, and ``DISABLED``), in env order. The manager's step
    clock advances by ``num_envs`` per step (CleanRL's ``global_step``). ``infos`` gets
    ``curriculum_level`` (one entry per env, with its ``_curriculum_level`` mask).
    ``get_attr`` / ``set_attr`` / ``call`` pass through (e.g. ``envs.call("oracle")``).
    """

    def __init__(
        self,
        env: VectorEnv,
        manager: CurriculumManager | None = None,
        *,
        success_key: str = "episode_success",
        **manager_kwargs: Any,
    ):
        super().__init__(env)
        self._target = _attr_env(env)
        task = _get_task(lambda: self._target.get_attr("task")[0], manager)
        self.manager = _manager(task, manager, manager_kwargs)
        self.success_key = success_key
        mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        self.autoreset_mode = mode if isinstance(mode, AutoresetMode) else AutoresetMode(mode)

    def _set_difficulty(self, level: int) -> None:
        self._target.set_attr("difficulty", level)

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return self._target.get_attr(name)

    def set_attr(self, name: str, values: Any) -> None:
        self._target.set_attr(name, values)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._target.call(name, *args, **kwargs)

    def reset(
        self, *, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None
    ):
        self._apply()
        obs, infos = self.env.reset(seed=seed, options=options)
        return obs, self._add_level(infos)

    def step(self, actions: Any):
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        self.manager.advance(self.num_envs)
        done = np.logical_or(terminations, truncations)
        if done.any():
            if self.autoreset_mode == AutoresetMode.SAME_STEP:
                if "final_info" not in infos:
                    raise KeyError(
                        "episodes ended but infos has no 'final_info' although the env's "
                        "autoreset_mode is SAME_STEP"
                    )
                final = infos["final_info"]
                mask = done & np.asarray(infos.get("_final_info", done), dtype=bool)
            else:
                final, mask = infos, done
            self._record(final, mask)
        self._apply()
        return obs, rewards, terminations, truncations, self._add_level(infos)

    def _record(self, info: dict[str, Any], mask: np.ndarray) -> None:
        rows = _masked(info, self.success_key, mask)
        successes = np.asarray(info[self.success_key])[rows]
        if "difficulty" in info:
            levels = [int(v) for v in np.asarray(info["difficulty"])[rows]]
        else:
            levels = None
        self.manager.update_many(successes, levels)

    def _add_level(self, infos: dict[str, Any]) -> dict[str, Any]:
        infos[LEVEL_KEY] = np.full(self.num_envs, self.manager.level, dtype=np.int64)
        infos["_" + LEVEL_KEY] = np.ones(self.num_envs, dtype=bool)
        return infos


class SB3VecEnvCurriculum(_FollowsManager):
    """A curriculum over a Stable-Baselines3 ``VecEnv`` of WMIL envs, driven from outside.

    SB3's ``VecEnv.set_attr`` sets an attribute on the outermost gymnasium wrapper, which does
    not reach the env's ``difficulty``; this class sets it with
    ``venv.env_method("set_wrapper_attr", "difficulty", level)``, which does (also across
    ``SubprocVecEnv`` processes). Call :meth:`on_step` with each step's ``dones`` and ``infos``,
    e.g. from a callback's ``_on_step``::

        curriculum = SB3VecEnvCurriculum(model.get_env(), CurriculumManager("pattern_echo"))
        class Curriculum(BaseCallback):
            def _on_step(self):
                curriculum.on_step(self.locals["dones"], self.locals["infos"])
                self.logger.record("curriculum/level", curriculum.manager.level)
                return True

    In one process (``DummyVecEnv``) wrapping each env in :class:`CurriculumWrapper` with one
    shared manager does the same with no callback.
    """

    def __init__(
        self,
        venv: Any,
        manager: CurriculumManager,
        *,
        success_key: str = "episode_success",
    ):
        if not hasattr(venv, "env_method"):
            raise TypeError(
                f"venv must be a Stable-Baselines3 VecEnv (with env_method), got {venv!r}"
            )
        self.venv = venv
        self.manager = manager
        self.success_key = success_key
        for task in venv.get_attr("task"):
            for level in manager.schedule:
                task.check_level(level)
        self._apply()

    def _set_difficulty(self, level: int) -> None:
        self.venv.env_method("set_wrapper_attr", "difficulty", level)

    def on_step(self, dones: Sequence[bool], infos: Sequence[dict[str, Any]]) -> bool:
        """Record the episodes that ended in this step; return whether the level changed."""
        before = self.manager.level
        self.manager.advance(len(dones))
        for i, (done, info) in enumerate(zip(dones, infos, strict=True)):
            if done:
                self._record_episode(info, f"env {i}")
        self._apply()
        return self.manager.level != before
