"""The world model as a simulator: the next observation as a whole from (observation, action),
the reward read from that predicted observation, and ``imagine`` to roll it forward k steps.

Every WMIL observation is ``[task, question..., last action, feedback]``, and the reward is 1
exactly when the feedback token says ``<correct>``. Whether it does is a fact about the *next*
observation (is the next number the target?), so a head that predicts every token
independently from (s, a) learns the transitions and misses the reward (a probe: token
accuracy 1.00, reward recall 0.02). The simulator therefore predicts in two passes of one small
transformer over the sequence ``[observation; action; next observation]``:

1. the next observation is all ``MASK``: predict its state tokens (all but the feedback);
2. the next observation is the predicted one with the feedback slot ``MASK``: predict the
   feedback token, reading the current observation, the action and the predicted next state.

In training, pass 2 reads the true next observation (teacher forcing) and both passes share one
batched forward. The reward is ``P(feedback = <correct>)``; ``<held>`` (the goal was reached
earlier) and ``<wrong>`` give none.

With episode memory (``episode_memory: K``) the observation is the episode's last K frames
(:mod:`wmil_envs.memory`). What the world does is the newest frame; the rest of the next
observation is the agent's own memory shifted by one, which the simulator does not guess but
copies. So it predicts one frame (``frame_len`` tokens) from ``[memory; action; next frame]``:
on Conditional with K = 4, 36 tokens in place of 57.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from agents.transformer import encode
from wmil_envs import vocab


@dataclass
class Prediction:
    """The simulator on a batch of (obs, action) pairs (B, L)."""

    state_logits: torch.Tensor
    """(B, frame_len - 1, vocab) logits of the next frame's tokens before the feedback."""
    feedback_logits: torch.Tensor
    """(B, vocab) logits of the next observation's feedback token (pass 2)."""
    kept: torch.Tensor
    """(B, L - frame_len) the memory's frames carried into the next observation (none
    without episode memory)."""

    @property
    def next_obs(self) -> torch.Tensor:
        """(B, L) the most likely next observation."""
        state = self.state_logits.argmax(-1)
        feedback = self.feedback_logits.argmax(-1, keepdim=True)
        return torch.cat([self.kept, state, feedback], dim=1)

    @property
    def reward(self) -> torch.Tensor:
        """(B,) the predicted reward, ``P(feedback = <correct>)``."""
        return self.feedback_logits.softmax(-1)[:, vocab.CORRECT]


class Simulator(nn.Module):
    """(obs, action) -> next observation, then its feedback; see the module docstring."""

    def __init__(self, obs_len: int, vocab_size: int, num_actions: int, hidden_dim: int,
                 num_layers: int, num_heads: int, ff_dim: int | None = None,
                 frame_len: int | None = None):  # fmt: skip
        super().__init__()
        self.obs_len, self.vocab_size, self.num_actions = obs_len, vocab_size, num_actions
        self.frame_len = frame_len or obs_len
        """Tokens of the newest frame, what is predicted (``obs_len / episode_memory``)."""
        if obs_len % self.frame_len:
            raise ValueError(f"frame_len {self.frame_len} does not divide obs_len {obs_len}")
        self.mask = vocab_size  # one token id past the vocabulary: "to predict"
        self.token = nn.Embedding(vocab_size + 1, hidden_dim)
        self.action = nn.Embedding(num_actions, hidden_dim)
        self.position = nn.Parameter(torch.randn(obs_len + 1 + self.frame_len, hidden_dim) * 0.02)
        layer = nn.TransformerEncoderLayer(
            d_model=hidden_dim,
            nhead=num_heads,
            dim_feedforward=ff_dim or 4 * hidden_dim,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.core = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(hidden_dim), enable_nested_tensor=False
        )
        self.out = nn.Linear(hidden_dim, vocab_size)

    def _next_states(self, obs: torch.Tensor, actions: torch.Tensor,
                     frame: torch.Tensor) -> torch.Tensor:  # fmt: skip
        """Core outputs (B, frame_len, d) at the next frame's positions of ``[obs; a; frame]``."""
        x = torch.cat(
            [self.token(obs), self.action(actions).unsqueeze(1), self.token(frame)], dim=1
        )
        return encode(self.core, x + self.position, slice(self.obs_len + 1, None))

    def _all_masked(self, batch: int, device: torch.device) -> torch.Tensor:
        """Pass 1's next frame: every token to predict."""
        return torch.full((batch, self.frame_len), self.mask, dtype=torch.long, device=device)

    def _feedback_masked(self, frame: torch.Tensor) -> torch.Tensor:
        """Pass 2's next frame: its state tokens, the feedback to predict."""
        masked = frame.long().clone()
        masked[:, -1] = self.mask
        return masked

    def forward(self, obs: torch.Tensor, actions: torch.Tensor,
                next_obs: torch.Tensor | None = None) -> Prediction:  # fmt: skip
        """Both passes; pass 2 reads ``next_obs`` when given (training), else pass 1's argmax."""
        obs, actions = obs.long(), actions.long()
        batch = obs.shape[0]
        kept = obs[:, self.frame_len :]
        if next_obs is not None:  # both passes in one forward
            frame = next_obs[:, -self.frame_len :]
            both = self._next_states(
                obs.repeat(2, 1),
                actions.repeat(2),
                torch.cat([self._all_masked(batch, obs.device), self._feedback_masked(frame)]),
            )
            state_logits = self.out(both[:batch, :-1])
            feedback_logits = self.out(both[batch:, -1])
            return Prediction(state_logits, feedback_logits, kept)
        first = self._next_states(obs, actions, self._all_masked(batch, obs.device))
        state_logits = self.out(first[:, :-1])
        guess = torch.cat([state_logits.argmax(-1), obs[:, -1:]], dim=1)  # feedback: masked
        second = self._next_states(obs, actions, self._feedback_masked(guess))
        return Prediction(state_logits, self.out(second[:, -1]), kept)

    def loss(self, obs: torch.Tensor, actions: torch.Tensor,
             next_obs: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:  # fmt: skip
        """Cross-entropy of the next frame's tokens (each pass's targets weighted alike) and its
        metrics named as logged."""
        pred = self(obs, actions, next_obs)
        target = next_obs[:, -self.frame_len :].long()
        state = F.cross_entropy(pred.state_logits.transpose(1, 2), target[:, :-1])
        feedback = F.cross_entropy(pred.feedback_logits, target[:, -1])
        with torch.no_grad():
            wrong = pred.state_logits.argmax(-1) != target[:, :-1]
            rewarded = target[:, -1] == vocab.CORRECT
            hit = pred.feedback_logits.argmax(-1) == vocab.CORRECT
        metrics = {
            "losses/simulator_state": state.item(),
            "losses/simulator_feedback": feedback.item(),
            "simulator/token_error": wrong.float().mean().item(),
            "simulator/feedback_error": (pred.feedback_logits.argmax(-1) != target[:, -1])
            .float()
            .mean()
            .item(),
        }
        if rewarded.any():
            metrics["simulator/reward_recall"] = hit[rewarded].float().mean().item()
        return state + feedback, metrics

    @torch.no_grad()
    def step(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(next observation (B, L), predicted reward (B,)) for each (obs, action)."""
        pred = self(obs, actions)
        return pred.next_obs, pred.reward

    @torch.no_grad()
    def imagine(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Roll forward from ``obs`` (B, L) through ``actions`` (B, k), feeding back its own
        most likely observations: (observations (B, k, L), rewards (B, k)) after each action."""
        frames, rewards = [], []
        current = obs.long()
        for t in range(actions.shape[1]):
            current, reward = self.step(current, actions[:, t])
            frames.append(current)
            rewards.append(reward)
        return torch.stack(frames, dim=1), torch.stack(rewards, dim=1)
