"""The replay buffer of the replay agents (``planner`` and ``replay_q``), and their shared base:
the same real transitions, sampled the same way, the same exploration and checkpoint state, so
that a comparison of the two separates what the learned model adds from what reusing data
adds. The buffer and its draws stay on the CPU (the same random streams on every device); a
batch moves to the model's device when it is drawn."""

from __future__ import annotations

from typing import Any

import torch


class ReplayBuffer:
    """The last ``capacity`` real transitions, a ring, sampled with torch's generator (in the
    checkpoint, like the buffer itself).

    Rewarded transitions are rare early on (under 1 % of random steps on NumberWalk level 3),
    and without them the simulator never learns when the feedback says ``<correct>``; so a
    share of every batch (``rewarded_share``) is drawn from the rewarded ones when there are
    any, the rest uniformly."""

    def __init__(self, capacity: int, obs_len: int, rewarded_share: float = 0.0):
        self.capacity, self.rewarded_share = capacity, rewarded_share
        self.obs = torch.zeros((capacity, obs_len), dtype=torch.int16)
        self.next_obs = torch.zeros((capacity, obs_len), dtype=torch.int16)
        self.actions = torch.zeros(capacity, dtype=torch.int16)
        self.rewards = torch.zeros(capacity)
        self.dones = torch.zeros(capacity, dtype=torch.bool)
        self.size = 0
        self.cursor = 0  # where the next transition goes

    def add(self, obs: torch.Tensor, actions: torch.Tensor, next_obs: torch.Tensor,
            rewards: torch.Tensor, dones: torch.Tensor | None = None) -> None:  # fmt: skip
        if dones is None:
            dones = torch.zeros(len(actions), dtype=torch.bool)
        for start in range(0, len(actions), self.capacity):  # a batch larger than the ring
            chunk = slice(start, start + self.capacity)
            rows = (self.cursor + torch.arange(len(actions[chunk]))) % self.capacity
            self.obs[rows] = obs[chunk].to(torch.int16)
            self.next_obs[rows] = next_obs[chunk].to(torch.int16)
            self.actions[rows] = actions[chunk].to(torch.int16)
            self.rewards[rows] = rewards[chunk].float()
            self.dones[rows] = dones[chunk].bool()
            self.cursor = int(rows[-1] + 1) % self.capacity
            self.size = min(self.capacity, self.size + len(rows))

    def sample_rows(self, batch: int) -> torch.Tensor:
        """Indices of ``batch`` transitions drawn with replacement, the rewarded share first."""
        rows = torch.randint(0, self.size, (batch,))
        rewarded = (self.rewards[: self.size] > 0).nonzero().squeeze(1)
        share = int(batch * self.rewarded_share)
        if share and len(rewarded):
            rows[:share] = rewarded[torch.randint(0, len(rewarded), (share,))]
        return rows

    def sample(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(obs, actions, next_obs) of ``batch`` transitions (``sample_rows``)."""
        rows = self.sample_rows(batch)
        return self.obs[rows].long(), self.actions[rows].long(), self.next_obs[rows].long()

    def state_dict(self) -> dict[str, Any]:
        filled = slice(0, self.size)
        return {"obs": self.obs[filled].clone(), "next_obs": self.next_obs[filled].clone(),
                "actions": self.actions[filled].clone(), "rewards": self.rewards[filled].clone(),
                "dones": self.dones[filled].clone(), "cursor": self.cursor}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.size = len(state["actions"])
        self.obs[: self.size] = state["obs"]
        self.next_obs[: self.size] = state["next_obs"]
        self.actions[: self.size] = state["actions"]
        if "rewards" in state:
            self.rewards[: self.size] = state["rewards"]
            self.dones[: self.size] = state["dones"]
        else:  # a checkpoint of before rewards and dones were kept: what it had
            self.rewards[: self.size] = state["rewarded"].float()
        self.cursor = int(state["cursor"])


class ReplayAgent:
    """Base of the replay agents: optimiser, replay ring, epsilon-greedy exploration, a frozen
    copy of the weights for targets, and the checkpoint state (optimiser and ring)."""

    def __init__(self, model, cfg):
        from agents.model import device_of
        from agents.optim import GradientStep

        self.model, self.cfg = model, cfg
        self.device = device_of(model)
        self.optimizer = GradientStep(model, cfg)
        self.replay = ReplayBuffer(cfg.replay_size, model.obs_len, cfg.replay_rewarded_share)

    def on_device(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``tensors`` (drawn from the ring, on the CPU) on the model's device."""
        return tuple(t.to(self.device) for t in tensors)

    def explore(self, greedy: torch.Tensor) -> torch.Tensor:
        """``greedy`` actions (N,), each replaced by a uniform one with probability
        ``explore_epsilon`` (drawn on the CPU, like the ring's draws)."""
        n = len(greedy)
        explore = torch.rand(n) < self.cfg.explore_epsilon
        random = torch.randint(0, self.model.num_actions, (n,))
        return torch.where(explore.to(greedy.device), random.to(greedy.device), greedy)

    def remember(self, batch) -> None:
        """Every transition of a rollout (``agents.algorithm.Rollout``) into the ring."""
        self.replay.add(
            batch.obs.flatten(0, 1).cpu(),
            batch.actions.flatten().cpu(),
            batch.next_obs.flatten(0, 1).cpu(),
            batch.rewards.flatten().cpu(),
            batch.dones.flatten().cpu(),
        )

    def frozen_weights(self) -> dict[str, torch.Tensor]:
        """The weights now, for targets read with ``torch.func.functional_call`` during an
        update (a target network refreshed every update)."""
        return {name: value.detach().clone() for name, value in self.model.state_dict().items()}

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "replay": self.replay.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.replay.load_state_dict(state["replay"])
