"""Policies that evaluation plays, one interface ``act(obs, greedy) -> actions``.

- ``ModelPolicy``: the transformer's policy (greedy = argmax, else a sample).
- ``RandomPolicy``: uniform over the actions, the lower bound (``algorithm: random``).
- The RL-only baseline is the model with the world-model head off (``configs/rl_only.yaml``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.distributions import Categorical


class ModelPolicy:
    def __init__(self, model):
        self.model = model

    @torch.no_grad()
    def act(self, obs: np.ndarray, greedy: bool = True) -> np.ndarray:
        logits = self.model(torch.as_tensor(obs)).logits
        actions = logits.argmax(-1) if greedy else Categorical(logits=logits).sample()
        return actions.numpy()


class RandomPolicy:
    model = None  # its actions do not come from a network

    def __init__(self, num_actions: int, seed: int = 0):
        self.num_actions = num_actions
        # a stream of its own: seeding it like the env would replay the env's draws as actions
        self.rng = np.random.default_rng([seed, 0x5EED])

    def act(self, obs: np.ndarray, greedy: bool = True) -> np.ndarray:
        return self.rng.integers(0, self.num_actions, size=len(obs))
