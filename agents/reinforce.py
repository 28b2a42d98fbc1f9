"""REINFORCE with a running baseline and an entropy bonus (the plan's Fix 3), plus the
world-model and VQ losses. Read top to bottom: returns, advantages, losses, one gradient step.

The trainer hands over a rollout of ``T`` vector steps from ``N`` envs (episodes end at the end
of every rollout; see ``agents.trainer``) as tensors of shape (T, N, ...):
``obs``, ``actions``, ``rewards`` (the weighted RewardVector total), ``dones``, ``next_obs``.
"""

from __future__ import annotations

import torch
from torch.distributions import Categorical

from agents.optim import GradientStep


class Reinforce:
    name = "reinforce"

    def __init__(self, model, cfg):
        self.model, self.cfg = model, cfg
        self.step = GradientStep(model, cfg)
        self.baseline = 0.0  # running mean of the return, the plan's ``self.baseline``
        self.baseline_initialised = False

    def update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        cfg, model = self.cfg, self.model
        T, N = batch["actions"].shape

        # 1. Discounted return-to-go of every step, within its episode.
        returns = torch.zeros_like(batch["rewards"])
        future = torch.zeros(N)
        for t in reversed(range(T)):
            future = batch["rewards"][t] + cfg.gamma * future * (1.0 - batch["dones"][t])
            returns[t] = future

        # 2. Advantage against the running baseline (updated after use, so it stays unbiased).
        mean_return = returns.mean().item()
        if not self.baseline_initialised:
            self.baseline, self.baseline_initialised = mean_return, True
        advantages = returns - self.baseline
        self.baseline = cfg.baseline_decay * self.baseline + (1 - cfg.baseline_decay) * mean_return

        # 3. Forward pass on the whole rollout.
        obs = batch["obs"].reshape(T * N, -1)
        actions = batch["actions"].reshape(-1)
        out = model(obs)
        dist = Categorical(logits=out["logits"])
        log_probs = dist.log_prob(actions)
        entropy = dist.entropy().mean()

        # 4. Policy gradient, entropy bonus, auxiliary losses.
        policy_loss = -(log_probs * advantages.reshape(-1)).mean()
        loss = policy_loss - cfg.entropy_coef * entropy
        metrics = {"losses/policy": policy_loss.item(), "losses/entropy": entropy.item()}
        if model.wm_head is not None:
            wm_logits = model.world_model_logits(out["hidden"], actions)
            wm = model.world_model_stats(wm_logits, batch["next_obs"].reshape(T * N, -1))
            loss = loss + cfg.world_model_coef * wm["loss"]
            metrics["losses/world_model"] = wm["loss"].item()
            metrics["world_model/token_error"] = wm["token_error"].item()
        if model.value_head is not None:
            # The value head is not this algorithm's baseline; it is fitted alongside so that
            # it can be logged and reused (e.g. for a later switch to PPO).
            value_loss = 0.5 * (out["value"] - returns.reshape(-1)).pow(2).mean()
            loss = loss + cfg.value_coef * value_loss
            metrics["losses/value"] = value_loss.item()
        if model.vq is not None:
            loss = loss + cfg.vq_coef * out["vq_loss"]
            metrics["losses/vq"] = out["vq_loss"].item()
            metrics["vq/perplexity"] = out["vq_perplexity"].item()
            metrics["vq/usage"] = out["vq_usage"].item()

        # 5. One gradient step.
        metrics["losses/grad_norm"] = self.step(loss)
        metrics["losses/baseline"] = self.baseline
        return metrics

    def state_dict(self) -> dict:
        return {
            "step": self.step.state_dict(),
            "baseline": self.baseline,
            "baseline_initialised": self.baseline_initialised,
        }

    def load_state_dict(self, state: dict) -> None:
        self.step.load_state_dict(state["step"])
        self.baseline = float(state["baseline"])
        self.baseline_initialised = bool(state["baseline_initialised"])
