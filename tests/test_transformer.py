"""``agents.transformer.encode`` against the stock ``nn.TransformerEncoder`` forward it replaces."""

import gymnasium as gym
import pytest
import torch
from torch import nn

import wmil_envs  # noqa: F401  (registers the envs)
from agents.model import AgentModel
from agents.transformer import encode


def stock_core(dim=32, heads=4, layers=2, dropout=0.0):
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        dim, heads, 4 * dim, dropout, "gelu", batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(dim), enable_nested_tensor=False)


@pytest.mark.parametrize("keep", [slice(None), slice(0, 1), slice(6, None)])
@pytest.mark.parametrize("training", [True, False])
def test_encode_matches_stock_forward_and_gradients(keep, training):
    core = stock_core().train(training)
    x = torch.randn(64, 11, 32, requires_grad=True)
    ours = encode(core, x, keep)
    ref = core(x)[:, keep]
    assert ours.shape == ref.shape
    assert torch.allclose(ours, ref, atol=1e-5)
    grads = torch.autograd.grad(ours.square().sum(), [x, *core.parameters()])
    ref_grads = torch.autograd.grad(ref.square().sum(), [x, *core.parameters()])
    for g, r in zip(grads, ref_grads, strict=True):
        assert torch.allclose(g, r, atol=1e-4, rtol=1e-4)


def test_encode_inference_matches_the_fused_path():
    core = stock_core().eval()
    x = torch.randn(300, 5, 32)
    with torch.no_grad():  # the stock module takes its fused fast path here
        assert torch.allclose(encode(core, x), core(x), atol=1e-5)


def test_encode_applies_dropout_only_in_training():
    core = stock_core(dropout=0.5)
    x = torch.randn(8, 5, 32)
    torch.manual_seed(1)
    a, b = encode(core, x), encode(core, x)
    assert not torch.allclose(a, b)  # dropout draws differ
    core.eval()
    assert torch.allclose(encode(core, x), core(x), atol=1e-5)


def test_encode_refuses_post_norm_layers():
    layer = nn.TransformerEncoderLayer(16, 2, 32, 0.0, batch_first=True, norm_first=False)
    core = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
    with pytest.raises(ValueError, match="pre-norm"):
        encode(core, torch.randn(2, 3, 16))


@pytest.mark.parametrize("world_model_head", [True, False])
def test_agent_model_reads_the_summary_as_the_stock_core_gives_it(world_model_head):
    from agents.config import Config

    envs = gym.make_vec("WMIL/Conditional-v0", num_envs=4, difficulty=3)
    cfg = Config(world_model_head=world_model_head).model_config()
    torch.manual_seed(0)
    model = AgentModel(envs.single_observation_space, envs.single_action_space, cfg)
    obs, _ = envs.reset(seed=0)
    obs = torch.as_tensor(obs)
    out = model(obs)
    stock = model.core(model.encoder(obs.long()))
    assert out.hidden.shape[1] == (stock.shape[1] if world_model_head else 1)
    assert torch.allclose(out.hidden, stock[:, : out.hidden.shape[1]], atol=1e-5)
    assert torch.allclose(out.logits, model.action_head(stock[:, 0]), atol=1e-5)


@pytest.mark.parametrize("keys", [1, 5, 13, 15, 16, 36])
def test_attention_weights_are_the_softmax_with_its_gradient(keys):
    """Short rows take our exp-and-sum path, long ones PyTorch's kernel; both are the softmax."""
    from agents.transformer import attention_weights

    torch.manual_seed(keys)
    scores = (4 * torch.randn(32, 4, 7, keys)).requires_grad_()
    ours, ref = attention_weights(scores), scores.softmax(-1)
    assert torch.allclose(ours, ref, atol=1e-6)
    upstream = torch.randn_like(ref)
    (grad,) = torch.autograd.grad(ours, scores, upstream)
    (ref_grad,) = torch.autograd.grad(ref, scores, upstream)
    assert torch.allclose(grad, ref_grad, atol=1e-6)
