"""REINFORCE with a running baseline and an entropy bonus (the plan's Fix 3), plus the
world-model and VQ losses. Read top to bottom: returns, advantages, losses, one gradient step (its
gradient accumulated over chunks of ``agents.optim.UPDATE_CHUNK`` samples when the rollout is
larger).

The trainer hands over an ``agents.algorithm.Rollout`` of ``T`` vector steps from ``N`` envs
(episodes end at the end of every rollout; see ``agents.training_loop``); this algorithm reads its
``obs``, ``actions``, ``rewards`` (the weighted RewardVector total), ``dones`` and ``next_obs``.
"""

from __future__ import annotations

import torch
from torch.distributions import Categorical

from agents.algorithm import Rollout
from agents.auxiliary import auxiliary_losses
from agents.policy import SampledPolicyAlgorithm


class Reinforce(SampledPolicyAlgorithm):
    name = "reinforce"

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.baseline = 0.0  # running mean of the return, the plan's ``self.baseline``
        self.baseline_initialised = False

    def update(self, batch: Rollout) -> dict[str, float]:
        cfg = self.cfg
        T, N = batch.actions.shape

        # 1. Discounted return-to-go of every step, within its episode.
        returns = torch.zeros_like(batch.rewards)
        future = torch.zeros_like(batch.rewards[0])  # (N,), on the rollout's device
        for t in reversed(range(T)):
            future = batch.rewards[t] + cfg.gamma * future * (1.0 - batch.dones[t])
            returns[t] = future

        # 2. Advantage against the running baseline (updated after use, so it stays unbiased).
        mean_return = returns.mean().item()
        if not self.baseline_initialised:
            self.baseline, self.baseline_initialised = mean_return, True
        advantages = returns - self.baseline
        self.baseline = cfg.baseline_decay * self.baseline + (1 - cfg.baseline_decay) * mean_return

        # 3-5. Losses and one gradient step, accumulated over chunks of the rollout.
        obs = batch.obs.reshape(T * N, -1)
        flat = (
            batch.actions.reshape(-1),
            advantages.reshape(-1),
            returns.reshape(-1),
            batch.next_obs.reshape(T * N, -1),
        )
        metrics = self.optimizer.chunked(
            len(obs), lambda rows: self.loss(obs[rows], *(x[rows] for x in flat))
        )
        metrics["losses/baseline"] = self.baseline
        return metrics

    def loss(self, obs, actions, advantages, returns, next_obs) -> tuple[torch.Tensor, dict]:
        """The loss on (a chunk of) the rollout, flattened to (B, ...), and its metrics."""
        cfg, model = self.cfg, self.model
        out = model(obs)
        dist = Categorical(logits=out.logits)
        log_probs = dist.log_prob(actions)
        entropy = dist.entropy().mean()

        # Policy gradient, entropy bonus, auxiliary losses.
        policy_loss = -(log_probs * advantages).mean()
        loss = policy_loss - cfg.entropy_coef * entropy
        metrics = {"losses/policy": policy_loss.item(), "losses/entropy": entropy.item()}
        if out.value is not None:
            # The value head is not this algorithm's baseline; it is fitted alongside so that
            # it can be logged and reused (e.g. for a later switch to PPO).
            value_loss = 0.5 * (out.value - returns).pow(2).mean()
            loss = loss + cfg.value_coef * value_loss
            metrics["losses/value"] = value_loss.item()
        aux_loss, aux_metrics = auxiliary_losses(model, out, actions, next_obs, cfg)
        metrics.update(aux_metrics)
        return loss + aux_loss, metrics

    def state_dict(self) -> dict:
        return {
            "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline,
            "baseline_initialised": self.baseline_initialised,
        }

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = float(state["baseline"])
        self.baseline_initialised = bool(state["baseline_initialised"])
