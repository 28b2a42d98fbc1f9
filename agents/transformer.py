"""The transformer core's forward pass, written for WMIL's short token rows.

The weights live in a ``torch.nn.TransformerEncoder`` (pre-norm layers, no mask), so initial
weights and checkpoints are those of the stock module; :func:`encode` runs them. Why not the
stock forward: its kernels are built for long sequences. Over 5-13 tokens with a head size of 8,
CPU scaled-dot-product attention (what training runs) spends most of its time on overheads,
where one batched matmul per attention product is cheaper; and the stock module
computes every position of the last layer, while the heads read only some (the policy and value
only the summary token, the simulator only the next observation). :func:`encode` computes the
last layer's attention queries, feed-forward and norm at the positions it is asked for only.
In inference (eval mode, no gradient) the layers before the last run the stock forward: its
fused inference kernel is faster than ours on batches of thousands of rows (as in a search).
Outputs match the stock forward to float rounding (``tests/test_transformer.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def encode(core: nn.TransformerEncoder, x: torch.Tensor, keep: slice = slice(None)) -> torch.Tensor:
    """``core``'s output (B, T', d) for the input ``x`` (B, T, d) at the positions ``keep``
    (all by default): the same numbers as ``core(x)[:, keep]``, with the last layer computed at
    those positions alone."""
    *first, last = core.layers
    inference = not (torch.is_grad_enabled() or core.training)
    for layer in first:  # in inference the stock fused kernel wins on large batches
        x = layer(x) if inference else _layer(layer, x, slice(None))
    x = _layer(last, x, keep)
    return core.norm(x) if core.norm is not None else x


def _layer(layer: nn.TransformerEncoderLayer, x: torch.Tensor, keep: slice) -> torch.Tensor:
    """One pre-norm encoder layer: ``x + attention(norm1(x))``, then ``x + ff(norm2(x))``, with
    the queries (and so the outputs) only at ``keep``."""
    if not layer.norm_first:
        raise ValueError("encode() runs pre-norm layers (norm_first=True) only")
    attn = layer.self_attn
    batch, length, dim = x.shape
    heads = attn.num_heads
    qkv = F.linear(layer.norm1(x), attn.in_proj_weight, attn.in_proj_bias)
    # (3, B, heads, T, head size), one copy into the layout batched matmuls read
    q, k, v = qkv.view(batch, length, 3, heads, dim // heads).permute(2, 0, 3, 1, 4).contiguous()
    q, x = q[:, :, keep], x[:, keep]
    weights = attention_weights(q @ k.transpose(-1, -2) * (dim // heads) ** -0.5)
    weights = F.dropout(weights, attn.dropout, layer.training)
    mixed = (weights @ v).transpose(1, 2).reshape(batch, x.shape[1], dim)
    x = x + layer.dropout1(attn.out_proj(mixed))
    hidden = layer.dropout(layer.activation(layer.linear1(layer.norm2(x))))
    return x + layer.dropout2(layer.linear2(hidden))


SHORT_ROW = 16
"""Rows shorter than this are softmaxed by :class:`_ShortRowSoftmax` on the CPU."""


def attention_weights(scores: torch.Tensor) -> torch.Tensor:
    """Softmax of attention ``scores`` over the keys (the last dim).

    PyTorch's CPU softmax is 4-12x slower per element on rows of fewer than 16 entries than on
    rows of 16 (measured on 256 x 4 heads x T x T scores: 3.1 ms at T = 15, 0.26 ms at T = 16),
    and every question observation is 5-13 tokens; there an exp and two row reductions do it
    (:class:`_ShortRowSoftmax`), equal to float rounding."""
    if scores.shape[-1] >= SHORT_ROW or scores.device.type != "cpu":
        return scores.softmax(-1)
    return _ShortRowSoftmax.apply(scores)


class _ShortRowSoftmax(torch.autograd.Function):
    """``softmax(x, -1)`` as ``exp(x - max) / sum``, with its backward
    ``y * (grad - sum(grad * y))``: one saved tensor, five kernels forward and four backward."""

    @staticmethod
    def forward(ctx, scores: torch.Tensor) -> torch.Tensor:
        weights = (scores - scores.amax(-1, keepdim=True)).exp_()
        weights = weights.div_(weights.sum(-1, keepdim=True))
        ctx.save_for_backward(weights)
        return weights

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (weights,) = ctx.saved_tensors
        return weights * (grad - (grad * weights).sum(-1, keepdim=True))
