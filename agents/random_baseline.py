"""``algorithm: random``: act uniformly, never update (the lower-bound baseline)."""

from __future__ import annotations

import torch

from agents.policy import RandomPolicy


class RandomBaseline:
    name = "random"
    optimizer = None  # never updates

    def __init__(self, model, cfg):
        self.num_actions = model.num_actions

    def act(self, obs, out) -> torch.Tensor:
        return torch.randint(0, self.num_actions, (out.logits.shape[0],))

    def update(self, rollout) -> dict[str, float]:
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    @staticmethod
    def policy(model, seed: int, cfg=None) -> RandomPolicy:
        return RandomPolicy(model.num_actions, seed)
