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
    weights = (q @ k.transpose(-1, -2) * (dim // heads) ** -0.5).softmax(-1)
    weights = F.dropout(weights, attn.dropout, layer.training)
    mixed = (weights @ v).transpose(1, 2).reshape(batch, x.shape[1], dim)
    x = x + layer.dropout1(attn.out_proj(mixed))
    hidden = layer.dropout(layer.activation(layer.linear1(layer.norm2(x))))
    return x + layer.dropout2(layer.linear2(hidden))
