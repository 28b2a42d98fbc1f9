"""The agent's network: token encoder -> transformer core -> action, world-model, value, VQ heads.

The model reads only the Gymnasium spaces (a ``MultiDiscrete`` row of tokens and a ``Discrete``
action space), so one class plays every WMIL environment; the ``digits`` action head also uses
the shared vocabulary's digit tokens (``wmil_envs.vocab.DIGIT``).

- Encoder: token embeddings plus learned position embeddings, with a learned summary token
  (``[CLS]``) in front; the core's output at that position summarises the observation.
- Action head: logits over actions from the summary (the policy). ``flat``: one logit per
  action. ``digits``: action ``k`` is the number ``k``, chosen as two digits, each a digit the
  observation shows (picked by a learned pointer over its positions) shifted by a learned
  amount mod 10 (see :class:`DigitActionHead`), so a number never rewarded is reached like
  those that were.
- World-model head (the plan's Fix 2, raw target): for every observation position, logits over
  the vocabulary for the token of the *next observation* given the action taken, trained with a
  cross-entropy. Its error is the fraction of next-observation tokens predicted wrong.
- Simulator (``simulator: true``): the world model used as a simulator, a small transformer of
  its own that predicts the next observation as a whole and reads the reward from it
  (:mod:`agents.world_model`); what the planner imagines with.
- Value head: V(s) from the summary (PPO's critic).
- VQ head: the summary quantized by an EMA codebook started on the data, with a restart of
  codes left unused; reports codebook perplexity and usage. By default a probe of the summary
  (it reads a detached copy, so it never changes what the agent learns); with
  ``vq_bottleneck`` the other heads read the codes and a commitment loss pulls the trunk
  toward them.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from agents.transformer import encode
from agents.world_model import Simulator
from wmil_envs import vocab


@dataclass(frozen=True)
class ModelConfig:
    """The model's settings: exactly the model fields of ``agents.config.Config``, which holds
    their defaults and documentation (build one with ``Config.model_config()``)."""

    hidden_dim: int
    num_layers: int
    num_heads: int
    ff_dim: int | None
    dropout: float
    world_model_head: bool
    simulator: bool
    value_head: bool
    vq_head: bool
    vq_codes: int
    vq_decay: float
    vq_commitment: float
    vq_bottleneck: bool
    vq_restart_after: int
    action_head: str
    digit_max_shift: int | None
    episode_memory: int


@dataclass
class VQOutput:
    """The VQ head on a batch of summaries (B, d)."""

    quantized: torch.Tensor
    """(B, d) the codes' vectors, with a straight-through gradient to the summaries."""
    codes: torch.Tensor
    """(B,) the code of each summary."""
    loss: torch.Tensor
    """The commitment loss (already scaled by ``vq_commitment``); it has a gradient only into
    an input that was not detached."""
    perplexity: torch.Tensor
    """Codebook perplexity over the batch (no gradient)."""
    usage: torch.Tensor
    """Share of the codebook used by the batch (no gradient)."""


@dataclass
class ModelOutput:
    """The model on a batch of observations (B, L)."""

    logits: torch.Tensor
    """(B, num_actions) policy logits."""
    hidden: torch.Tensor
    """(B, L + 1, d) core outputs; position 0 is the summary (before the VQ). Without the
    world-model head, (B, 1, d): the summary only."""
    value: torch.Tensor | None = None
    """(B,) V(s), or None when the value head is off."""
    vq: VQOutput | None = None
    """The VQ head's output, or None when it is off."""


@dataclass
class WorldModelStats:
    """How well the world model predicted next observations (B, L)."""

    loss: torch.Tensor
    """Mean cross-entropy over tokens and samples (the training loss)."""
    sample_loss: torch.Tensor
    """(B,) mean cross-entropy of each sample."""
    token_error: torch.Tensor
    """Share of tokens whose argmax prediction is wrong."""
    sample_exact: torch.Tensor
    """(B,) 1.0 where the whole next observation was predicted exactly."""


def space_sizes(
    observation_space: spaces.Space, action_space: spaces.Space
) -> tuple[int, int, int]:
    """(observation length, vocabulary size, number of actions) from single-env spaces."""
    if not isinstance(observation_space, spaces.MultiDiscrete) or len(observation_space.shape) != 1:
        raise TypeError(
            f"the agent needs a 1-D MultiDiscrete observation space, got {observation_space}"
        )
    if not isinstance(action_space, spaces.Discrete):
        raise TypeError(f"the agent needs a Discrete action space, got {action_space}")
    return (
        int(observation_space.shape[0]),
        int(observation_space.nvec.max()),
        int(action_space.n),
    )


class TokenEncoder(nn.Module):
    """Token ids (B, L) -> embeddings (B, L + 1, d) with a summary token at position 0."""

    def __init__(self, vocab_size: int, obs_len: int, hidden_dim: int):
        super().__init__()
        self.token = nn.Embedding(vocab_size, hidden_dim)
        self.position = nn.Parameter(torch.randn(obs_len + 1, hidden_dim) * 0.02)
        self.summary = nn.Parameter(torch.randn(hidden_dim) * 0.02)
        nn.init.normal_(self.token.weight, std=0.5)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = self.token(obs)
        summary = self.summary.expand(x.shape[0], 1, -1)
        return torch.cat([summary, x], dim=1) + self.position


class VectorQuantizer(nn.Module):
    """EMA codebook (van den Oord et al. 2017, appendix) started on the data, a restart of codes
    left unused, and a commitment loss.

    - Start: the first batch the quantizer sees sets the codes, by farthest-point picks among
      its inputs (:func:`farthest_points`), so they start on the data and at its scale.
    - Training: the codebook is a buffer moved by exponential moving averages (in training mode
      with gradients on), so the only gradient is the commitment loss into the input; the model
      detaches the input when the VQ is a probe rather than a bottleneck.
    - Restart: a code not chosen in the last ``restart_after`` training batches moves onto the
      input of the current batch that the codebook represents worst (farthest-point again).

    Both picks are deterministic: the quantizer draws no random numbers, so a probe VQ leaves
    every other number of a seeded run as it was without it.
    """

    def __init__(self, num_codes: int, dim: int, decay: float = 0.9, commitment: float = 0.25,
                 restart_after: int = 16, eps: float = 1e-5):  # fmt: skip
        super().__init__()
        self.num_codes, self.decay, self.commitment = num_codes, decay, commitment
        self.restart_after, self.eps = restart_after, eps
        self.register_buffer("codebook", torch.zeros(num_codes, dim))
        self.register_buffer("cluster_size", torch.zeros(num_codes))  # all 0: not started yet
        self.register_buffer("embed_sum", torch.zeros(num_codes, dim))
        # training batches since each code was last chosen
        self.register_buffer("idle_batches", torch.zeros(num_codes, dtype=torch.long))

    @property
    def started(self) -> bool:
        """Whether the codes were set from data (checkpoints of the random start count too)."""
        return bool(self.cluster_size.sum() > 0)

    def forward(self, z: torch.Tensor) -> VQOutput:
        flat = z.detach()
        if not self.started:
            self._set_codes(torch.ones(self.num_codes, dtype=torch.bool), flat)
        codes = torch.cdist(flat, self.codebook).argmin(dim=1)
        onehot = F.one_hot(codes, self.num_codes).type(flat.dtype)
        if self.training and torch.is_grad_enabled():  # not while acting or evaluating
            self._update(flat, codes, onehot)
        quantized = self.codebook[codes]
        commit = F.mse_loss(z, quantized.detach())
        probs = onehot.mean(0)
        perplexity = torch.exp(-(probs * torch.log(probs + 1e-10)).sum())
        return VQOutput(
            quantized=z + (quantized - z).detach(),  # straight-through
            codes=codes,
            loss=self.commitment * commit,
            perplexity=perplexity.detach(),
            usage=(probs > 0).float().mean().detach(),
        )

    @torch.no_grad()
    def _update(self, flat: torch.Tensor, codes: torch.Tensor, onehot: torch.Tensor) -> None:
        """One EMA step of the codebook, then the restart of the codes idle too long."""
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(onehot.t() @ flat, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        size = (self.cluster_size + self.eps) / (n + self.num_codes * self.eps) * n
        self.codebook.copy_(self.embed_sum / size.unsqueeze(1))
        self.idle_batches.add_(1)
        self.idle_batches[codes] = 0
        idle = self.idle_batches >= self.restart_after
        if idle.any():
            self._set_codes(idle, flat)

    def _set_codes(self, which: torch.Tensor, flat: torch.Tensor) -> None:
        """Put the codes ``which`` (a mask) on the inputs the other codes represent worst."""
        picks = farthest_points(flat, self.codebook[~which], int(which.sum()))
        self.codebook[which] = picks
        self.embed_sum[which] = picks
        self.cluster_size[which] = 1.0
        self.idle_batches[which] = 0

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # checkpoints from before the restart window have no idle counts: start them at zero
        state_dict.setdefault(prefix + "idle_batches", torch.zeros_like(self.idle_batches))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def farthest_points(points: torch.Tensor, centres: torch.Tensor, k: int) -> torch.Tensor:
    """``k`` rows of ``points`` (B, d), each the one farthest from ``centres`` (C, d) and from
    the rows picked before it (farthest-first traversal, the greedy k-centre start). Once every
    point is picked, the picks repeat from the first."""
    if len(centres):
        gap = torch.cdist(points, centres).min(dim=1).values
    else:
        gap = torch.full((len(points),), math.inf, device=points.device)
    picks: list[int] = []
    while len(picks) < k and gap.max() > 0:
        i = int(gap.argmax())
        picks.append(i)
        gap = torch.minimum(gap, (points - points[i]).norm(dim=1))
    if not picks:  # every point already sits on a centre
        picks = [0]
    return points[[picks[j % len(picks)] for j in range(k)]]


class DigitActionHead(nn.Module):
    """Answers a number digit by digit, each answer digit a shown digit shifted (mod 10).

    Action ``k`` is the number ``k``; its logit is ``log p_tens(k // 10) + log p_ones(k % 10)``,
    where for each answer digit

        p(d) = sum over positions t of  pointer(t) * shift((d - x_t) mod 10)

    ``pointer``: a distribution over the observation's positions that hold a digit token (``x_t``
    is the digit at position t), i.e. which shown digit to read; ``shift``: a distribution over
    the shifts (all ten, 9 being -1, or ``-max_shift..max_shift``), i.e. what to do to it; both
    from the summary, one per answer digit.
    The pointer chooses positions, not digit values, so where to read cannot depend on which
    digits happen to be there except through the summary.

    Only the order of the ten digits is built in. Which digit to read, which shift each question
    needs and when the tens digit shifts as well (the carry: after 19 is 20) are learned from
    reward, and because a shift acts alike on every digit, an answer whose digits never
    appeared together in training is reached the same way as the ones that did.
    """

    def __init__(
        self, hidden_dim: int, obs_len: int, num_actions: int, max_shift: int | None = None
    ):
        """``max_shift``: shifts allowed, ``-max_shift..max_shift`` (0..4); None: all ten."""
        super().__init__()
        if num_actions > 100:
            raise ValueError(
                f"action_head='digits' reads actions as the numbers 0..99, but the action space "
                f"has {num_actions} actions"
            )
        shifts = range(10) if max_shift is None else range(-max_shift, max_shift + 1)
        self.register_buffer("shifts", torch.tensor(shifts) % 10, persistent=False)
        self.pointer = nn.Linear(hidden_dim, 2 * obs_len)  # tens, then ones: where to read
        self.shift = nn.Linear(hidden_dim, 2 * len(shifts))
        number = torch.arange(num_actions)
        self.register_buffer("tens", number // 10, persistent=False)
        self.register_buffer("ones", number % 10, persistent=False)

    def digit_log_probs(self, summary: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """``summary`` (B, d) of the observation ``obs`` (B, L) -> log-probabilities (B, 2, 10)
        of the tens and ones digit of the answer."""
        batch = obs.shape[0]
        digit = obs.long() - vocab.DIGIT
        is_digit = (digit >= 0) & (digit < 10)
        scores = self.pointer(summary).view(batch, 2, -1)
        # only digit tokens can be read; with none shown, every position reads "any digit"
        pointer = scores.masked_fill(~is_digit.unsqueeze(1), -1e9).log_softmax(-1)  # (B, 2, L)
        allowed = self.shift(summary).view(batch, 2, -1).log_softmax(-1)
        shift = allowed.new_full((batch, 2, 10), -1e9).index_copy(2, self.shifts, allowed)
        needed = (torch.arange(10, device=obs.device) - digit.unsqueeze(-1)) % 10  # (B, L, 10)
        read = shift.gather(2, needed.flatten(1).unsqueeze(1).expand(-1, 2, -1))
        read = read.view(batch, 2, *needed.shape[1:])  # (B, 2, L, 10): shift giving d from x_t
        read = read.masked_fill(~is_digit[:, None, :, None], -math.log(10))
        return (pointer.unsqueeze(-1) + read).logsumexp(2)

    def forward(self, summary: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_actions): the log-probability of each number's two digits."""
        log_p = self.digit_log_probs(summary, obs)
        return log_p[:, 0, self.tens] + log_p[:, 1, self.ones]


class AgentModel(nn.Module):
    """Encoder, transformer core and the heads; see the module docstring."""

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: ModelConfig | None = None,
    ):
        """``config``: the model's settings (None: the defaults of ``agents.config.Config``)."""
        super().__init__()
        if config is None:
            from agents.config import Config  # the one place the defaults are written

            config = Config().model_config()
        cfg = self.config = config
        self.obs_len, self.vocab_size, self.num_actions = space_sizes(
            observation_space, action_space
        )
        d = cfg.hidden_dim
        self.encoder = TokenEncoder(self.vocab_size, self.obs_len, d)
        layer = nn.TransformerEncoderLayer(
            d_model=d,
            nhead=cfg.num_heads,
            dim_feedforward=cfg.ff_dim or 4 * d,
            dropout=cfg.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.core = nn.TransformerEncoder(
            layer, cfg.num_layers, norm=nn.LayerNorm(d), enable_nested_tensor=False
        )
        if cfg.action_head == "digits":
            if self.vocab_size < vocab.DIGIT + 10:
                raise ValueError(
                    f"action_head='digits' reads the digit tokens of the observation, but its "
                    f"vocabulary has only {self.vocab_size} tokens (no digit tokens)"
                )
            self.action_head = DigitActionHead(
                d, self.obs_len, self.num_actions, cfg.digit_max_shift
            )
        elif cfg.action_head == "flat":
            self.action_head = nn.Linear(d, self.num_actions)
            nn.init.normal_(self.action_head.weight, std=0.01)
            nn.init.zeros_(self.action_head.bias)
        else:
            raise ValueError(f"action_head={cfg.action_head!r} must be 'flat' or 'digits'")
        self.value_head = (
            nn.Sequential(nn.Linear(d, d), nn.Tanh(), nn.Linear(d, 1)) if cfg.value_head else None
        )
        if cfg.world_model_head:
            self.wm_action = nn.Embedding(self.num_actions, d)
            self.wm_head = nn.Sequential(
                nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, self.vocab_size)
            )
        else:
            self.wm_action = self.wm_head = None
        self.vq = (
            VectorQuantizer(cfg.vq_codes, d, cfg.vq_decay, cfg.vq_commitment, cfg.vq_restart_after)
            if cfg.vq_head
            else None
        )
        # built last, so that the other modules' initial weights do not depend on it
        sizes = (self.obs_len, self.vocab_size, self.num_actions)
        frame_len = self.obs_len // cfg.episode_memory
        self.simulator = (
            Simulator(*sizes, d, cfg.num_layers, cfg.num_heads, cfg.ff_dim, frame_len=frame_len)
            if cfg.simulator
            else None
        )

    # --- trunk ---
    def trunk(self, obs: torch.Tensor, summary_only: bool = False) -> torch.Tensor:
        """Token ids (B, L) -> core outputs (B, L + 1, d); position 0 is the summary. With
        ``summary_only``, (B, 1, d): the summary alone, the last layer computed there only."""
        return encode(
            self.core, self.encoder(obs.long()), slice(0, 1) if summary_only else slice(None)
        )

    def forward(self, obs: torch.Tensor) -> ModelOutput:
        """Policy logits, the core states, value (if on) and VQ output (if on). Without the
        world-model head nothing reads the other positions, so ``hidden`` is the summary alone."""
        h = self.trunk(obs, summary_only=self.wm_head is None)
        summary = h[:, 0]
        vq = None
        if self.vq is not None and self.config.vq_bottleneck:
            vq = self.vq(summary)  # the heads read the codes; the commitment loss shapes the trunk
            summary = vq.quantized
        elif self.vq is not None:
            vq = self.vq(summary.detach())  # a probe of the summary: no gradient into the trunk
        if isinstance(self.action_head, DigitActionHead):
            logits = self.action_head(summary, obs)
        else:
            logits = self.action_head(summary)
        value = self.value_head(summary).squeeze(-1) if self.value_head is not None else None
        return ModelOutput(logits=logits, hidden=h, value=value, vq=vq)

    # --- world model ---
    def world_model_logits(self, hidden: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Logits (B, L, vocab) for each token of the next observation after ``actions``."""
        if self.wm_head is None:
            raise RuntimeError("the world-model head is switched off (world_model_head=false)")
        x = hidden[:, 1:] + self.wm_action(actions.long()).unsqueeze(1)
        return self.wm_head(x)

    @staticmethod
    def world_model_stats(logits: torch.Tensor, next_obs: torch.Tensor) -> WorldModelStats:
        """Cross-entropy loss, per-sample loss, token error rate and exact-match per sample."""
        target = next_obs.long()
        per_token = F.cross_entropy(logits.transpose(1, 2), target, reduction="none")
        wrong = logits.argmax(-1) != target
        return WorldModelStats(
            loss=per_token.mean(),
            sample_loss=per_token.mean(1),
            token_error=wrong.float().mean(),
            sample_exact=(~wrong.any(1)).float(),
        )


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def device_of(module: nn.Module) -> torch.device:
    """Where ``module``'s weights are (the config's device): inputs go there."""
    return next(module.parameters()).device


@contextmanager
def evaluating(model: nn.Module):
    """``model`` in eval mode for the block (no dropout; in inference its transformer layers run
    PyTorch's fused kernel, faster on large batches), its mode restored after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
