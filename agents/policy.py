"""Policies that evaluation plays, one interface ``act(obs, greedy) -> actions``.

- ``ModelPolicy``: the transformer's policy (greedy = argmax, else a sample).
- ``RandomPolicy``: uniform over the actions, the lower bound (``algorithm: random``).
- The RL-only baseline is the model with the world-model head off (``configs/rl_only.yaml``).

``SampledPolicyAlgorithm`` is what REINFORCE and PPO share: they act by sampling the model's
policy, evaluate greedily on it and take their gradient steps with one ``GradientStep``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.distributions import Categorical

from agents.model import device_of
from agents.optim import GradientStep


class ModelPolicy:
    """The model's own policy: greedy = argmax, else a sample."""

    def __init__(self, model):
        self.model = model

    @torch.no_grad()
    def act(self, obs: np.ndarray, greedy: bool = True) -> np.ndarray:
        logits = self.model(torch.as_tensor(obs).to(device_of(self.model))).logits
        actions = logits.argmax(-1) if greedy else Categorical(logits=logits).sample()
        return actions.cpu().numpy()


class RandomPolicy:
    """Uniform over the actions, from a generator of its own."""

    model = None  # its actions do not come from a network

    def __init__(self, num_actions: int, seed: int = 0):
        self.num_actions = num_actions
        # a stream of its own: seeding it like the env would replay the env's draws as actions
        self.rng = np.random.default_rng([seed, 0x5EED])

    def act(self, obs: np.ndarray, greedy: bool = True) -> np.ndarray:
        return self.rng.integers(0, self.num_actions, size=len(obs))


class SampledPolicyAlgorithm:
    """Base of the policy-gradient algorithms: sample to collect, the model's policy to evaluate."""

    def __init__(self, model, cfg):
        self.model, self.cfg = model, cfg
        self.optimizer = GradientStep(model, cfg)

    def act(self, obs, out) -> torch.Tensor:
        """Collection samples from the policy."""
        return Categorical(logits=out.logits).sample()

    @staticmethod
    def policy(model, seed: int, cfg=None) -> ModelPolicy:
        """Evaluation plays the model's policy."""
        return ModelPolicy(model)
