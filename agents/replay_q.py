"""``algorithm: replay_q``: model-free and value-based, on the planner's replay.

The control that separates what the planner's learned model adds from what reusing data adds:
the same replay buffer (:mod:`agents.replay`), the same gradient steps per update
(``model_updates`` of ``replay_batch``), the same exploration (``explore_epsilon``), and no
model. The action head's outputs are Q-values, learned by one-step Q-learning,

    Q(s, a) <- r + gamma * max_a' Q_frozen(s', a')     (no bootstrap past an episode's end),

with the targets read from the network as it was at the start of the update (a target network
refreshed every update). Acting is epsilon-greedy on Q; evaluation plays the model's own greedy
policy, argmax of its logits, which are the Q-values.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.func import functional_call

from agents.algorithm import Rollout
from agents.policy import ModelPolicy
from agents.replay import ReplayAgent


class ReplayQ(ReplayAgent):
    name = "replay_q"

    def act(self, obs: torch.Tensor, out) -> torch.Tensor:
        """argmax Q, or a uniform action with probability ``explore_epsilon``."""
        return self.explore(out.logits.argmax(1))

    def update(self, batch: Rollout) -> dict[str, float]:
        cfg, model, replay = self.cfg, self.model, self.replay
        self.remember(batch)
        frozen = self.frozen_weights()
        losses, q_means, grad_norms = [], [], []
        for _ in range(cfg.model_updates):
            rows = replay.sample_rows(cfg.replay_batch)
            obs, next_obs, actions, rewards, dones = self.on_device(
                replay.obs[rows].long(), replay.next_obs[rows].long(),
                replay.actions[rows].long(), replay.rewards[rows], replay.dones[rows],
            )  # fmt: skip
            with torch.no_grad():
                following = functional_call(model, frozen, (next_obs,)).logits.max(1).values
                target = rewards + cfg.gamma * (~dones) * following
            q = model(obs).logits.gather(1, actions.unsqueeze(1)).squeeze(1)
            loss = F.smooth_l1_loss(q, target)
            grad_norms.append(self.optimizer(loss))
            losses.append(loss.item())
            q_means.append(q.mean().item())
        return {
            "losses/q": sum(losses) / len(losses),
            "losses/grad_norm": sum(grad_norms) / len(grad_norms),
            "q/mean": sum(q_means) / len(q_means),
            "replay/size": float(replay.size),
        }

    @staticmethod
    def policy(model, seed: int, cfg=None) -> ModelPolicy:
        """Evaluation plays argmax Q."""
        return ModelPolicy(model)
