"""``algorithm: planner``: a model-based agent that learns a simulator of its world from
interaction only and acts by searching over imagined futures. Read top to bottom.

- Replay: every real transition (obs, action, next obs) goes into a ring buffer
  (``replay_size``); each update takes ``model_updates`` gradient steps on ``replay_batch``
  samples from it (data reuse is where a model pays). The buffer is in the checkpoint, so a
  resumed run continues exactly.
- Learning, per gradient step: the simulator's cross-entropy on the sampled next observations
  (:mod:`agents.world_model`), and the value head regressed on a one-step backup through the
  simulator, ``V(s) <- max_a [r^(s, a) + gamma * V(s^')]`` (``V(s')`` from the weights at the
  start of the update, a target network), on ``value_batch`` of the batch's
  uniformly drawn states (a backup costs an imagined step per action): value iteration on the
  states the agent has seen, never on every state of the world.
- Acting: a beam search (:func:`beam_search`) ``planner_depth`` imagined steps deep, keeping the
  ``planner_width`` best distinct imagined states per depth; a path is scored by its predicted
  rewards plus the discounted value of where it ends, and the agent takes the first action of
  the best one. While training it explores with probability ``explore_epsilon``; evaluation is
  greedy. What the search imagines is remembered until the weights change
  (:mod:`agents.imagination`). The rules and the oracle are never read.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from agents.algorithm import Rollout
from agents.imagination import Imagination
from agents.model import device_of, evaluating
from agents.replay import ReplayAgent


@torch.no_grad()
def beam_search(imagination: Imagination, obs: torch.Tensor, width: int, depth: int,
                gamma: float) -> torch.Tensor:  # fmt: skip
    """The best imagined score (N, A) of each first action from each observation (N, L),
    imagining with ``imagination`` (its simulator's ``step(obs, actions) -> (next obs,
    reward)``, its model's value head scoring the leaves).

    Each depth expands every kept state by every action through the simulator; a path's score
    is its discounted predicted rewards plus ``gamma ** steps * V`` of its last state, and every
    path prefix counts as a leaf. The ``width`` best distinct next states (token rows compared
    whole) are kept for the next depth. Cost: at most ``A + (depth - 1) * width * A``
    simulator and value evaluations per observation, whatever the size of the world.
    """
    n, length = obs.shape
    num_actions, device = imagination.num_actions, obs.device
    states = obs.long().unsqueeze(1)  # (N, K, L), K = 1 at the root
    returns = torch.zeros(n, 1, device=device)
    # the first action of each path
    roots = torch.arange(num_actions, device=device).expand(n, 1, num_actions)
    best = torch.full((n, num_actions), -torch.inf, device=device)
    for d in range(depth):
        k = states.shape[1]
        flat = states.unsqueeze(2).expand(n, k, num_actions, length).reshape(-1, length)
        actions = torch.arange(num_actions, device=device).repeat(n * k)
        following, reward = imagination.step(flat, actions)
        ret = returns.unsqueeze(2) + gamma**d * reward.view(n, k, num_actions)
        score = ret + gamma ** (d + 1) * imagination.value(following).view(n, k, num_actions)
        root = roots.expand(n, k, num_actions).reshape(n, -1)
        best = best.scatter_reduce(1, root, score.reshape(n, -1), "amax")
        if d == depth - 1:
            break
        # the beam: the best distinct next states (a repeat of a better one is dropped)
        following = following.view(n, k * num_actions, length)
        order = score.reshape(n, -1).argsort(dim=1, descending=True, stable=True)
        rows = following.gather(1, order.unsqueeze(-1).expand(-1, -1, length))
        same = (rows.unsqueeze(2) == rows.unsqueeze(1)).all(-1)  # (N, M, M)
        earlier = torch.ones_like(same[0]).tril(-1)
        repeat = (same & earlier).any(-1)
        ranked = score.reshape(n, -1).gather(1, order).masked_fill(repeat, -torch.inf)
        pick = order.gather(1, ranked.topk(min(width, ranked.shape[1]), dim=1).indices)
        states = following.gather(1, pick.unsqueeze(-1).expand(-1, -1, length))
        returns = ret.reshape(n, -1).gather(1, pick)
        roots = root.gather(1, pick).unsqueeze(-1)
    return best


def simulator_of(model, cfg):
    """What the planner imagines with: the model's learned simulator, or the true rules
    (``planner_model: rules``, the upper bound)."""
    if cfg.planner_model == "rules":
        from agents.rules_simulator import RulesSimulator

        return RulesSimulator.of_config(cfg)
    return model.simulator


class PlannerPolicy:
    """Evaluation's planner: the first action of the best imagined path (greedy), or with
    probability ``explore_epsilon`` a uniform one (``greedy=False``)."""

    def __init__(self, model, cfg, seed: int = 0):
        self.model, self.cfg = model, cfg
        self.imagination = Imagination(model, simulator_of(model, cfg))
        self.rng = np.random.default_rng([seed, 0x91A7])

    @torch.no_grad()
    def act(self, obs: np.ndarray, greedy: bool = True) -> np.ndarray:
        cfg = self.cfg
        obs = torch.as_tensor(obs).to(device_of(self.model))
        scores = beam_search(self.imagination, obs, cfg.planner_width, cfg.planner_depth, cfg.gamma)
        actions = scores.argmax(1).cpu().numpy()
        if not greedy:
            explore = self.rng.random(len(obs)) < cfg.explore_epsilon
            random = self.rng.integers(0, self.model.num_actions, size=len(obs))
            actions = np.where(explore, random, actions)
        return actions


class Planner(ReplayAgent):
    name = "planner"

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.simulator = simulator_of(model, cfg)
        self.imagination = Imagination(model, self.simulator)
        self.learns_simulator = cfg.planner_model == "learned"

    def act(self, obs: torch.Tensor, out) -> torch.Tensor:
        """The best imagined first action, or a uniform one with probability epsilon."""
        cfg = self.cfg
        scores = beam_search(self.imagination, obs, cfg.planner_width, cfg.planner_depth, cfg.gamma)
        return self.explore(scores.argmax(1))

    def value_targets(self, obs: torch.Tensor, frozen: dict[str, torch.Tensor]) -> torch.Tensor:
        """``max_a [r^(s, a) + gamma * V_frozen(s^')]`` through the simulator, for each obs
        (B, L). ``V_frozen`` is the value head as it was at the start of the update (a target
        network): bootstrapping from the values being fitted, through a max over imagined
        actions, ran away (values of 1.3 where no return exceeds 1, and the search with it)."""
        num_actions = self.model.num_actions
        with torch.no_grad(), evaluating(self.model):
            every_action = torch.arange(num_actions, device=obs.device).repeat(len(obs))
            following, reward = self.simulator.step(
                obs.repeat_interleave(num_actions, 0), every_action
            )
            value = functional_call(self.model, frozen, (following,)).value
            backup = reward + self.cfg.gamma * value
        return backup.view(-1, num_actions).max(1).values

    def update(self, batch: Rollout) -> dict[str, float]:
        cfg, model = self.cfg, self.model
        self.remember(batch)
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}  # reward recall only where a sample was rewarded
        frozen = self.frozen_weights()
        for _ in range(cfg.model_updates):
            obs, actions, next_obs = self.on_device(*self.replay.sample(cfg.replay_batch))
            if self.learns_simulator:
                sim_loss, parts = model.simulator.loss(obs, actions, next_obs)
            else:  # the rules: nothing to learn but the value
                sim_loss, parts = torch.zeros((), device=obs.device), {}
            states = obs[-cfg.value_batch :]  # the uniform draws (the rewarded ones lead)
            values = model(states).value
            value_loss = 0.5 * F.mse_loss(values, self.value_targets(states, frozen))
            parts["losses/value"] = value_loss.item()
            parts["values/mean"] = values.mean().item()
            parts["losses/grad_norm"] = self.optimizer(sim_loss + cfg.value_coef * value_loss)
            for key, value in parts.items():
                sums[key] = sums.get(key, 0.0) + value
                counts[key] = counts.get(key, 0) + 1
        metrics = {key: value / counts[key] for key, value in sums.items()}
        metrics["replay/size"] = float(self.replay.size)
        return metrics

    @staticmethod
    def policy(model, seed: int, cfg) -> PlannerPolicy:
        return PlannerPolicy(model, cfg, seed)
