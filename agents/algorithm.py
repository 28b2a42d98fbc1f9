"""The algorithm contract: what the trainer, the benchmark runner and evaluation may ask of an
algorithm, and the registry of algorithms (the single source of the config's ``algorithm``).

Adding an algorithm: write its module (a class with the members of :class:`Algorithm`) and add
one line to ``ALGORITHMS``. This module imports no torch, so the config can read the names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    import torch

    from agents.model import AgentModel, ModelOutput
    from agents.optim import GradientStep

ALGORITHMS: dict[str, str] = {
    "reinforce": "agents.reinforce:Reinforce",
    "ppo": "agents.ppo:PPO",
    "planner": "agents.planner:Planner",
    "replay_q": "agents.replay_q:ReplayQ",
    "random": "agents.random_baseline:RandomBaseline",
}
"""Algorithm name (the config's ``algorithm``) -> ``module:Class`` import string."""


@dataclass
class Rollout:
    """``T`` vector steps of ``N`` envs, as the trainer collects them; tensors are (T, N, ...).
    Every episode ends by the end of the rollout (see ``agents.training_loop``)."""

    obs: torch.Tensor
    """(T, N, L) token ids the actions were chosen on."""
    next_obs: torch.Tensor
    """(T, N, L) the observation after each action (an episode's final one where it ended):
    the world-model target."""
    actions: torch.Tensor
    """(T, N) actions taken."""
    logprobs: torch.Tensor
    """(T, N) log-probability of each action under the policy that collected it."""
    values: torch.Tensor
    """(T, N) the value head's estimate of ``obs`` (zeros without a value head)."""
    rewards: torch.Tensor
    """(T, N) the weighted RewardVector total."""
    dones: torch.Tensor
    """(T, N) 1.0 where the episode ended after the step."""
    next_value: torch.Tensor
    """(N,) the value of the observation after the rollout (zeros without a value head)."""


class Policy(Protocol):
    """What evaluation plays: actions for a batch of observations."""

    model: AgentModel | None
    """The network behind the actions (for model metrics: entropy, world model, VQ), or None
    when the actions do not come from it."""

    def act(self, obs: np.ndarray, greedy: bool = True) -> np.ndarray: ...


class Algorithm(Protocol):
    """An algorithm built as ``cls(model, cfg)`` on the trainer's model and ``Config``."""

    name: str
    optimizer: GradientStep | None
    """The one thing the trainer reads: the learning rate (annealing, logging) and the EMA
    weights for evaluation (``optimizer.ema``). None for an algorithm that never updates."""

    def act(self, obs: torch.Tensor, out: ModelOutput) -> torch.Tensor:
        """Actions (N,) to play during collection on ``obs`` (N, L), given the model's output
        on them (a planner imagines from the tokens; the policy-gradient algorithms sample
        ``out.logits``)."""

    def update(self, rollout: Rollout) -> dict[str, float]:
        """Learn from one rollout; returns metrics named as logged (``losses/policy``, ...)."""

    def state_dict(self) -> dict[str, Any]:
        """Everything beyond the model's weights needed to resume exactly."""

    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    @staticmethod
    def policy(model: AgentModel, seed: int, cfg: Any) -> Policy:
        """The policy greedy evaluation plays for this algorithm (``seed``: its own stream;
        ``cfg``: the run's ``Config``, for settings such as the planner's)."""


def algorithm_class(name: str) -> type[Algorithm]:
    """The class registered as ``name`` (imported on first use)."""
    if name not in ALGORITHMS:
        raise ValueError(
            f"algorithm={name!r} is not registered; choose one of: {', '.join(ALGORITHMS)}"
        )
    module, _, attribute = ALGORITHMS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def make_policy(algorithm: str, model: AgentModel, seed: int = 0, cfg: Any = None) -> Policy:
    """The evaluation policy of a run trained with ``algorithm`` on ``model`` (``cfg``: the
    run's config; None: the defaults)."""
    if cfg is None:
        from agents.config import Config

        cfg = Config(algorithm=algorithm)
    return algorithm_class(algorithm).policy(model, seed, cfg)
