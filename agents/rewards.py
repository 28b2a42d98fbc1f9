"""The plan's RewardVector: the goal reward and two optional intrinsic prediction rewards.

- ``goal``: the environment's (parent's) reward.
- ``pred``: how well the world model predicted the next observation, ``exp(-cross-entropy)``
  per sample, in (0, 1]; high when the agent's action had a predictable outcome.
- ``cons``: 1 when the whole next observation was predicted exactly (consistency), else 0.

The policy is trained on ``total = goal_weight * goal + pred_weight * pred + cons_weight * cons``;
each component is logged on its own (``reward/goal``, ``reward/pred``, ``reward/cons``,
``reward/total``), the plan's Fix 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class RewardVector:
    goal: torch.Tensor
    pred: torch.Tensor
    cons: torch.Tensor

    def total(self, weights: tuple[float, float, float]) -> torch.Tensor:
        return weights[0] * self.goal + weights[1] * self.pred + weights[2] * self.cons


def prediction_rewards(sample_loss: torch.Tensor, sample_exact: torch.Tensor):
    """(pred, cons) from the world model's per-sample loss and exact-match flags."""
    return torch.exp(-sample_loss), sample_exact
