"""What the planner's search imagines, remembered for the weights it was imagined with.

A beam search asks its simulator for ``(state, action) -> (next state, reward)`` and its value
head for the value of each imagined state. Between two weight updates the answers cannot
change, and a search asks for the same ones again and again: the state an agent reaches was
usually imagined (and expanded) one step earlier, episodes share states, and a world whose goal
is reached repeats its state. In one greedy evaluation of 256 ObjectEdit 3 episodes (a trained
planner, beam 2 x 3), 85 % of the simulator's rows repeated an earlier one. So
:class:`Imagination` computes each distinct row once and looks the rest up; it forgets
everything when any weight changes (each call compares a copy of the weights).

It runs the model in eval mode (no dropout: a search over the same states must see the same
answers). Looked-up rows were computed in another batch, so a score can differ from a fresh
computation in the last float bits.
"""

from __future__ import annotations

import numpy as np
import torch

from agents.model import evaluating

MAX_ROWS = 1 << 18
"""Rows remembered per kind before the memory starts afresh (tens of MB at most)."""


class _Memory:
    """Outputs of a batched function of token rows, by row: ``lookup(rows, compute)``."""

    def __init__(self):
        self.index: dict[bytes, int] = {}
        self.outputs: list[torch.Tensor] = []  # one tensor per call with new rows, concatenated
        self.stored: torch.Tensor | None = None  # outputs, concatenated on demand

    def clear(self) -> None:
        self.index.clear()
        self.outputs.clear()
        self.stored = None

    def lookup(self, keys: torch.Tensor, compute) -> torch.Tensor:
        """``compute(positions)``'s outputs for every row of ``keys`` ((B, K) integers),
        computing only the distinct rows not yet remembered (``positions`` index ``keys``; both on
        ``keys``' device, the row bytes compared on the CPU)."""
        device = keys.device
        keys = keys.long().cpu().numpy()
        if len(self.index) + len(keys) > MAX_ROWS:
            self.clear()
        row_bytes = keys.shape[1] * keys.dtype.itemsize
        raw = np.ascontiguousarray(keys).view(np.dtype((np.void, row_bytes))).ravel().tolist()
        index, new, positions = self.index, {}, []  # new: distinct rows not remembered
        slots = np.empty(len(raw), dtype=np.int64)
        for i, key in enumerate(raw):
            slot = index.get(key)
            if slot is None:
                slot = new.get(key)
                if slot is None:
                    slot = new[key] = len(index) + len(new)
                    positions.append(i)
            slots[i] = slot
        if new:
            self.outputs.append(compute(torch.as_tensor(positions, device=device)))
            index.update(new)
            self.stored = None
        if self.stored is None:
            self.stored = torch.cat(self.outputs)
            self.outputs = [self.stored]
        return self.stored[torch.from_numpy(slots).to(device)]


class Imagination:
    """``step(obs, actions) -> (next obs, reward)`` through ``simulator`` and ``value(states)``
    through ``model``'s value head, each distinct row computed once per set of weights."""

    def __init__(self, model, simulator):
        self.model, self.simulator = model, simulator
        self.num_actions = model.num_actions
        self._steps, self._values = _Memory(), _Memory()
        self._weights: torch.Tensor | None = None  # a copy of the weights answered for

    def _check_weights(self) -> None:
        """Forget everything if a weight differs from the last call's (compared whole: an
        optimizer's fused kernel writes weights without counting it in ``Tensor._version``)."""
        weights = torch.cat([p.detach().reshape(-1) for p in self.model.parameters()])
        if self._weights is None or not torch.equal(weights, self._weights):
            self._steps.clear()
            self._values.clear()
            self._weights = weights

    @torch.no_grad()
    def step(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(next observation (B, L), predicted reward (B,)) for each (obs, action)."""
        self._check_weights()
        obs, actions = obs.long(), actions.long()
        length = obs.shape[1]

        def compute(at: torch.Tensor) -> torch.Tensor:  # next obs and reward in one row
            following, reward = self._eval(self.simulator.step, obs[at], actions[at])
            return torch.cat([following.float(), reward.float().unsqueeze(1)], dim=1)  # ids < 2**24

        keys = torch.cat([obs, actions.unsqueeze(1)], dim=1)
        out = self._steps.lookup(keys, compute)
        return out[:, :length].long(), out[:, length].float()

    @torch.no_grad()
    def value(self, states: torch.Tensor) -> torch.Tensor:
        """The value head's (B,) values of ``states`` (B, L)."""
        self._check_weights()
        states = states.long()
        return self._values.lookup(
            states, lambda at: self._eval(lambda s: self.model(s).value, states[at])
        )

    def _eval(self, function, *args):
        """``function(*args)`` with the model in eval mode."""
        with evaluating(self.model):
            return function(*args)
