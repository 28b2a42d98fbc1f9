"""The world's own rules in the learned simulator's place: the planner's upper bound.

``planner_model: rules`` plans with this instead of :class:`agents.world_model.Simulator`, with
everything else the same (search, value learning, replay), so the gap between the two runs is
what the learned model costs. It reads an observation's question back to (object, target) ids
(``World.question_ids``) and applies the task's batched ``transition``, ``reward`` and
``feedback``; it has no parameters and learns nothing.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from wmil_envs.state import observation


class RulesSimulator:
    """``step(obs, actions) -> (next_obs, reward)``, as ``Simulator.step``, from the rules."""

    def __init__(self, task):
        if not getattr(task, "has_dynamics", False):
            raise ValueError(
                f"planner_model='rules' needs a world (a task whose actions change the state); "
                f"{type(task).__name__} has none"
            )
        self.task = task

    @classmethod
    def of_config(cls, cfg) -> RulesSimulator:
        """The rules of the run's env (its task, actions and split)."""
        env = gym.make(cfg.env_id, **cfg.env_kwargs())
        try:
            return cls(env.unwrapped.task)
        finally:
            env.close()

    @torch.no_grad()
    def step(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        task = self.task
        rows = obs.cpu().numpy()
        taken = actions.cpu().numpy().astype(np.int64)
        fields = task.instance(*task.question_ids(rows[:, 1:-2]))
        reward = task.reward(fields, taken)
        following = task.transition(fields, taken)
        feedback = task.feedback(fields, taken, reward > 0)
        next_obs = observation(task, task.question(following), taken, feedback)
        back = obs.device  # the model's: the search's tensors stay there
        return torch.from_numpy(next_obs).to(back), torch.from_numpy(reward).float().to(back)
