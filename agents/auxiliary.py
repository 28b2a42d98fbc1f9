"""The auxiliary losses every algorithm adds to its own: the world model's cross-entropy on the
raw next observation (the plan's Fix 2) and the VQ head's commitment loss (a gradient into the
trunk only when the VQ is a bottleneck; as a probe it is the quantisation error, logged)."""

from __future__ import annotations

import torch

from agents.model import AgentModel, ModelOutput


def auxiliary_losses(
    model: AgentModel, out: ModelOutput, actions: torch.Tensor, next_obs: torch.Tensor, cfg
) -> tuple[torch.Tensor, dict[str, float]]:
    """``world_model_coef * world-model loss + vq_coef * VQ loss`` for the heads that are on
    (0 when none is), and their metrics named as logged.

    ``out``: the model on the observations (B, L); ``actions`` (B,) taken in them;
    ``next_obs`` (B, L) what followed; ``cfg``: the training config (the two coefficients).
    """
    loss = torch.zeros((), device=out.logits.device)
    metrics: dict[str, float] = {}
    if model.wm_head is not None:
        wm = model.world_model_stats(model.world_model_logits(out.hidden, actions), next_obs)
        loss = loss + cfg.world_model_coef * wm.loss
        metrics["losses/world_model"] = wm.loss.item()
        metrics["world_model/token_error"] = wm.token_error.item()
    if out.vq is not None:
        loss = loss + cfg.vq_coef * out.vq.loss
        metrics["losses/vq"] = out.vq.loss.item()
        metrics["vq/perplexity"] = out.vq.perplexity.item()
        metrics["vq/usage"] = out.vq.usage.item()
    return loss, metrics
