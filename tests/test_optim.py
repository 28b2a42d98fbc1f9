"""agents.optim.AdamW: torch.optim.AdamW's steps and state dict, without importing torch._dynamo."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from agents.optim import AdamW, all_finite


def model_and_grads(seed: int):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.GELU(), torch.nn.Linear(8, 3))
    batches = [torch.randn(5, 6) for _ in range(6)]
    return model, batches


def train(model, optimizer, batches, skip_first_layer_at: int = 2):
    for t, x in enumerate(batches):
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        if t == skip_first_layer_at:  # a parameter without a gradient is left alone
            model[0].weight.grad = None
        optimizer.step()


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize("fused", [True, None])
def test_steps_are_torch_adamw_steps(fused):
    ours, batches = model_and_grads(0)
    theirs, _ = model_and_grads(0)
    settings = dict(lr=0.01, eps=1e-6, weight_decay=0.05, fused=fused)
    train(ours, AdamW(ours.parameters(), **settings), batches)
    train(theirs, torch.optim.AdamW(theirs.parameters(), **settings), batches)
    assert same_weights(ours, theirs)


@pytest.mark.parametrize("fused", [True, None])
def test_state_dicts_load_both_ways(fused):
    settings = dict(lr=0.01, eps=1e-6, weight_decay=0.05, fused=fused)
    first, second = [model_and_grads(1)[1][:3], model_and_grads(1)[1][3:]]
    reference, _ = model_and_grads(1)
    ref_opt = torch.optim.AdamW(reference.parameters(), **settings)
    train(reference, ref_opt, first + second, skip_first_layer_at=-1)

    # ours -> torch: half the steps with ours, then torch's optimizer from our state dict
    model, _ = model_and_grads(1)
    ours = AdamW(model.parameters(), **settings)
    train(model, ours, first, skip_first_layer_at=-1)
    theirs = torch.optim.AdamW(model.parameters(), **settings)
    theirs.load_state_dict(ours.state_dict())
    train(model, theirs, second, skip_first_layer_at=-1)
    assert same_weights(model, reference)

    # torch -> ours
    model, _ = model_and_grads(1)
    theirs = torch.optim.AdamW(model.parameters(), **settings)
    train(model, theirs, first, skip_first_layer_at=-1)
    ours = AdamW(model.parameters(), lr=1.0, eps=1.0, weight_decay=0.0, fused=fused)
    ours.load_state_dict(theirs.state_dict())  # the settings come with the state
    train(model, ours, second, skip_first_layer_at=-1)
    assert same_weights(model, reference)


def test_a_state_dict_of_another_model_is_refused():
    small = AdamW(torch.nn.Linear(2, 2).parameters(), lr=0.1, eps=1e-8, weight_decay=0.0)
    large = AdamW(model_and_grads(0)[0].parameters(), lr=0.1, eps=1e-8, weight_decay=0.0)
    with pytest.raises(ValueError, match="4 parameters in 1 group"):
        small.load_state_dict(large.state_dict())


def test_training_does_not_import_dynamo():
    """torch.optim's first call imports torch._dynamo (seconds of start-up); ours never does."""
    script = (
        "import os, sys; from agents.config import config_from_dict; "
        "from agents.training_loop import Trainer; "
        "cfg = config_from_dict({'task': 'pattern_echo', 'num_envs': 8, 'rollout_steps': 4, "
        "'hidden_dim': 16, 'num_layers': 1, 'num_heads': 2, 'max_steps': 64}); "
        "trainer = Trainer(cfg, run_dir=os.devnull); next(trainer.iterate()); "
        "print('torch._dynamo' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, check=True, timeout=120, cwd=Path(__file__).parents[1],
    )  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_all_finite_is_exact_despite_the_fused_norm():
    ones = [torch.ones(3, 4), torch.ones(5)]
    assert all_finite(ones) and all_finite([])
    huge = [torch.full((4,), 3e38), torch.ones(2)]  # finite, but their norm overflows
    assert all_finite(huge)
    for bad in (math.nan, math.inf, -math.inf):
        weights = [torch.ones(3, 4), torch.ones(5)]
        weights[1][2] = bad
        assert not all_finite(weights)
