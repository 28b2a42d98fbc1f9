"""PPO (clipped surrogate, GAE, value loss, entropy bonus, gradient clipping, minibatch epochs),
after CleanRL's ``ppo.py``, plus the world-model and VQ losses. Read top to bottom.

The trainer hands over an ``agents.algorithm.Rollout`` of ``T`` vector steps from ``N`` envs:
``obs``, ``actions``, ``logprobs``, ``values``, ``rewards``, ``dones``, ``next_obs`` and
``next_value`` (N,), the value of the observation after the rollout.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.distributions import Categorical

from agents.algorithm import Rollout
from agents.auxiliary import auxiliary_losses
from agents.policy import SampledPolicyAlgorithm


class PPO(SampledPolicyAlgorithm):
    name = "ppo"

    def update(self, batch: Rollout) -> dict[str, float]:
        cfg = self.cfg
        T, N = batch.actions.shape

        # 1. Generalised advantage estimation (dones[t]: the episode ended after step t).
        advantages = torch.zeros_like(batch.rewards)
        last_gae = torch.zeros_like(batch.rewards[0])  # (N,), on the rollout's device
        for t in reversed(range(T)):
            next_value = batch.next_value if t == T - 1 else batch.values[t + 1]
            not_done = 1.0 - batch.dones[t]
            delta = batch.rewards[t] + cfg.gamma * next_value * not_done - batch.values[t]
            last_gae = delta + cfg.gamma * cfg.gae_lambda * not_done * last_gae
            advantages[t] = last_gae
        returns = advantages + batch.values

        # 2. Flatten the rollout.
        b_obs = batch.obs.reshape(T * N, -1)
        b_next_obs = batch.next_obs.reshape(T * N, -1)
        b_actions = batch.actions.reshape(-1)
        b_logprobs = batch.logprobs.reshape(-1)
        b_values = batch.values.reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        flat = (b_obs, b_next_obs, b_actions, b_logprobs, b_values, b_returns)

        # 3. Minibatch epochs of the clipped objective.
        batch_size = T * N
        minibatch_size = batch_size // cfg.num_minibatches
        clip_fracs, sums, count = [], {}, 0
        for _epoch in range(cfg.update_epochs):
            order = torch.randperm(batch_size).to(b_obs.device)  # drawn on the CPU generator
            for start in range(0, minibatch_size * cfg.num_minibatches, minibatch_size):
                mb = order[start : start + minibatch_size]
                mb_adv = b_advantages[mb]
                if cfg.norm_adv and len(mb) > 1:
                    mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                # one step, its gradient accumulated over chunks of a large minibatch
                parts = self.optimizer.chunked(
                    len(mb),
                    lambda rows: self.loss(mb[rows], mb_adv[rows], flat),  # noqa: B023
                )
                clip_fracs.append(parts.pop("losses/clipfrac"))
                approx_kl = parts["losses/approx_kl"]
                for key, value in parts.items():
                    sums[key] = sums.get(key, 0.0) + value
                count += 1
            if cfg.target_kl is not None and approx_kl > cfg.target_kl:
                break

        # 4. Averages over the minibatches, and how well the value function explains returns.
        metrics = {key: value / count for key, value in sums.items()}
        metrics["losses/clipfrac"] = float(np.mean(clip_fracs))
        var_y = b_returns.var().item() if batch_size > 1 else 0.0
        if var_y > 0:  # undefined when every return is the same (e.g. every episode succeeded)
            metrics["losses/explained_variance"] = 1 - (b_returns - b_values).var().item() / var_y
        return metrics

    def loss(self, mb: torch.Tensor, mb_adv: torch.Tensor, flat) -> tuple[torch.Tensor, dict]:
        """The clipped objective on the samples ``mb`` (indices into the flattened rollout
        ``flat``) with their advantages ``mb_adv``, and its metrics."""
        cfg, model = self.cfg, self.model
        b_obs, b_next_obs, b_actions, b_logprobs, b_values, b_returns = flat
        out = model(b_obs[mb])
        dist = Categorical(logits=out.logits)
        new_logprob = dist.log_prob(b_actions[mb])
        entropy = dist.entropy().mean()
        log_ratio = new_logprob - b_logprobs[mb]
        ratio = log_ratio.exp()
        with torch.no_grad():
            approx_kl = ((ratio - 1) - log_ratio).mean()
            clip_frac = ((ratio - 1.0).abs() > cfg.clip_coef).float().mean()

        pg_loss1 = -mb_adv * ratio
        pg_loss2 = -mb_adv * torch.clamp(ratio, 1 - cfg.clip_coef, 1 + cfg.clip_coef)
        policy_loss = torch.max(pg_loss1, pg_loss2).mean()

        new_value = out.value
        if cfg.clip_vloss:
            v_unclipped = (new_value - b_returns[mb]) ** 2
            v_clipped = b_values[mb] + torch.clamp(
                new_value - b_values[mb], -cfg.clip_coef, cfg.clip_coef
            )
            v_loss = 0.5 * torch.max(v_unclipped, (v_clipped - b_returns[mb]) ** 2).mean()
        else:
            v_loss = 0.5 * ((new_value - b_returns[mb]) ** 2).mean()

        loss = policy_loss - cfg.entropy_coef * entropy + cfg.value_coef * v_loss
        parts = {
            "losses/policy": policy_loss.item(),
            "losses/value": v_loss.item(),
            "losses/entropy": entropy.item(),
            "losses/approx_kl": approx_kl.item(),
            "losses/clipfrac": clip_frac.item(),
        }
        aux_loss, aux_metrics = auxiliary_losses(model, out, b_actions[mb], b_next_obs[mb], cfg)
        parts.update(aux_metrics)
        return loss + aux_loss, parts

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
