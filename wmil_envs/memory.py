"""Episode memory: observations that show the last ``k`` observations of the episode, oldest first.

Every WMIL observation already shows the last action and its feedback, so ``k`` of them show the
last ``k - 1`` actions and what they got. An agent that reads them can answer a question again
without repeating a wrong answer (elimination), which one observation alone cannot tell it.

The observation is the ``k`` rows concatenated into one 1-D ``MultiDiscrete`` row of
``k * obs_len`` tokens (what Stable-Baselines3 and the agents read); rows before the episode's
first observation are all ``<pad>``. ``EpisodeMemory`` wraps a single env; ``VectorEpisodeMemory``
wraps a vector env in Gymnasium's ``SAME_STEP`` autoreset mode (the native WMIL vector env, or
``SyncVectorEnv`` with that mode), where ``infos["final_obs"]`` shows the finished episode's
memory and the returned observation the new episode's.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorWrapper

from wmil_envs import vocab
from wmil_envs.single_env import check_integer


def _check_k(k: Any) -> int:
    return check_integer("memory length k", k, 1)


def memory_space(space: spaces.Space, k: int) -> spaces.MultiDiscrete:
    """The 1-D ``MultiDiscrete`` of ``k`` observations of ``space`` side by side."""
    if not isinstance(space, spaces.MultiDiscrete) or len(space.shape) != 1:
        raise TypeError(f"episode memory needs a 1-D MultiDiscrete observation space, got {space}")
    return spaces.MultiDiscrete(np.tile(space.nvec, k), dtype=space.dtype)


def shift_in(memory: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """``memory`` (n, k * L) with its oldest row dropped and ``obs`` (n, L) appended."""
    width = obs.shape[-1]
    return np.concatenate([memory[:, width:], obs], axis=1)


def fresh(obs: np.ndarray, k: int) -> np.ndarray:
    """Memories (n, k * L) of episodes that just started at ``obs`` (n, L)."""
    pads = np.full((len(obs), (k - 1) * obs.shape[1]), vocab.PAD, dtype=obs.dtype)
    return np.concatenate([pads, obs], axis=1)


class EpisodeMemory(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A single env whose observation is the episode's last ``k`` observations."""

    def __init__(self, env: gym.Env, k: int):
        gym.utils.RecordConstructorArgs.__init__(self, k=k)
        gym.Wrapper.__init__(self, env)
        self.k = _check_k(k)
        self.observation_space = memory_space(env.observation_space, self.k)
        self._memory: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._memory = fresh(np.asarray(obs)[None], self.k)
        return self._memory[0].copy(), info

    def step(self, action: Any):
        if self._memory is None:
            raise RuntimeError("call reset() before step()")
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._memory = shift_in(self._memory, np.asarray(obs)[None])
        return self._memory[0].copy(), reward, terminated, truncated, info


class VectorEpisodeMemory(VectorWrapper):
    """A ``SAME_STEP`` vector env whose observations are each episode's last ``k``."""

    def __init__(self, env: gym.vector.VectorEnv, k: int):
        super().__init__(env)
        mode = env.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(
                f"VectorEpisodeMemory needs autoreset_mode SAME_STEP (the native WMIL vector env "
                f"or SyncVectorEnv(..., autoreset_mode=AutoresetMode.SAME_STEP)), got {mode}"
            )
        self.k = _check_k(k)
        self.single_observation_space = memory_space(env.single_observation_space, self.k)
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, self.num_envs
        )
        self._memory: np.ndarray | None = None

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        self._memory = fresh(np.asarray(obs), self.k)
        return self._memory.copy(), infos

    def step(self, actions: Any):
        if self._memory is None:
            raise RuntimeError("call reset() before step()")
        obs, rewards, terminated, truncated, infos = self.env.step(actions)
        obs = np.asarray(obs)
        done = np.asarray(terminated) | np.asarray(truncated)
        if not done.any():
            self._memory = shift_in(self._memory, obs)
            return self._memory.copy(), rewards, terminated, truncated, infos
        # The finished episodes' last observations are in final_obs; their memory ends there,
        # and the new episodes' memories start at the returned observation.
        final = infos["final_obs"]
        native = isinstance(final, np.ndarray) and final.dtype != object
        if native:  # (N, L): every env's observation right after its action
            last = np.where(done[:, None], final, obs)
        else:  # SyncVectorEnv: an object array, set where an episode ended
            last = obs.copy()
            for i in np.flatnonzero(done):
                last[i] = final[i]
        ended = shift_in(self._memory, last)
        self._memory = np.where(done[:, None], fresh(obs, self.k), ended)
        infos = dict(infos)
        if native:
            infos["final_obs"] = ended
        else:
            memories = np.empty(self.num_envs, dtype=object)
            for i in np.flatnonzero(done):
                memories[i] = ended[i]
            infos["final_obs"] = memories
        return self._memory.copy(), rewards, terminated, truncated, infos
