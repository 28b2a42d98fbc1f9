"""One gradient step shared by the algorithms: optional GrokFast filter, clipping, AdamW, EMA.

- GrokFast (Lee et al. 2024, the EMA filter): ``ema <- alpha * ema + (1 - alpha) * grad``, then
  ``grad <- grad + lamb * ema``; amplifies the slow gradient component. Off by default.
- EMA weights: a copy ``w_ema <- d * w_ema + (1 - d) * w`` used for evaluation. Off by default.
"""

from __future__ import annotations

import torch
from torch import nn

UPDATE_CHUNK = 4096
"""Samples per forward pass in an update. A larger batch (REINFORCE's rollout, a PPO minibatch)
accumulates its gradient over chunks of this size before one step: the same gradient up to float
rounding, at a lower cost per sample (measured on a CPU core: REINFORCE 263 vs 135 us per sample
on 65k samples, unchunked vs chunked). With a VQ head, its codebook moves once per chunk."""


class GrokFast:
    def __init__(self, model: nn.Module, alpha: float = 0.98, lamb: float = 2.0):
        self.model, self.alpha, self.lamb = model, alpha, lamb
        self.ema: dict[str, torch.Tensor] = {}

    def filter(self) -> None:
        for name, p in self.model.named_parameters():
            if p.grad is None:
                continue
            if name not in self.ema:
                self.ema[name] = p.grad.detach().clone()
            else:
                self.ema[name].mul_(self.alpha).add_(p.grad.detach(), alpha=1 - self.alpha)
            p.grad.add_(self.ema[name], alpha=self.lamb)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.ema)

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.ema = {k: v.clone() for k, v in state.items()}


class EmaWeights:
    """Exponential moving average of the model's parameters and buffers."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for k, v in model.state_dict().items():
            if k not in self.shadow:  # a buffer newer than the checkpoint this run resumed
                self.shadow[k] = v.detach().clone()
            if v.dtype.is_floating_point:
                self.shadow[k].mul_(self.decay).add_(v, alpha=1 - self.decay)
            else:
                self.shadow[k].copy_(v)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.shadow)

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.shadow = {k: v.clone() for k, v in state.items()}


class GradientStep:
    """zero_grad, backward, [GrokFast], clip, optimizer step, [EMA update]; returns grad norm.
    ``chunked`` takes one step on a large batch, its gradient accumulated chunk by chunk."""

    def __init__(self, model: nn.Module, cfg):
        self.model = model
        # the fused kernel: one pass over all parameters (7 % more PPO env steps/s on CPU)
        fused = all(p.device.type in ("cpu", "cuda") for p in model.parameters()) or None
        self.optimizer = torch.optim.AdamW(
            model.parameters(), lr=cfg.learning_rate, eps=cfg.adam_eps,
            weight_decay=cfg.weight_decay, fused=fused,
        )  # fmt: skip
        self.max_grad_norm = cfg.max_grad_norm
        self.grokfast = (
            GrokFast(model, cfg.grokfast_alpha, cfg.grokfast_lamb) if cfg.grokfast else None
        )
        self.ema = EmaWeights(model, cfg.ema_decay) if cfg.ema_decay > 0 else None

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def __call__(self, loss: torch.Tensor) -> float:
        self.zero_grad()
        loss.backward()
        return self.step()

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def step(self) -> float:
        """The step on the gradients already accumulated (after ``zero_grad`` and backward
        passes); returns the gradient norm before clipping."""
        if self.grokfast is not None:
            self.grokfast.filter()
        params = [p for p in self.model.parameters() if p.grad is not None]
        if self.max_grad_norm > 0:
            norm = nn.utils.clip_grad_norm_(params, self.max_grad_norm)
        else:
            norm = torch.norm(torch.stack([p.grad.norm() for p in params]))
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.model)
        return float(norm)

    def chunked(self, size: int, loss_of) -> dict[str, float]:
        """One step on a batch of ``size`` samples whose loss is a mean, its gradient accumulated
        over chunks of ``UPDATE_CHUNK``: ``loss_of(rows)`` gives a chunk's (mean loss, metrics)
        for the slice ``rows``. Returns the metrics weighted by each chunk's share of the batch,
        and ``losses/grad_norm``."""
        self.zero_grad()
        metrics: dict[str, float] = {}
        for first in range(0, size, UPDATE_CHUNK):
            rows = slice(first, min(first + UPDATE_CHUNK, size))
            share = (rows.stop - rows.start) / size
            loss, parts = loss_of(rows)
            (loss * share).backward()
            for key, value in parts.items():
                metrics[key] = metrics.get(key, 0.0) + share * value
        metrics["losses/grad_norm"] = self.step()
        return metrics

    def state_dict(self) -> dict:
        state = {"optimizer": self.optimizer.state_dict()}
        if self.grokfast is not None:
            state["grokfast"] = self.grokfast.state_dict()
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if self.grokfast is not None and "grokfast" in state:
            self.grokfast.load_state_dict(state["grokfast"])
        if self.ema is not None and "ema" in state:
            self.ema.load_state_dict(state["ema"])
