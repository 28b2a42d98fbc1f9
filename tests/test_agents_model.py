"""The agent's network: shapes, gradient flow to every parameter, size, switchable heads."""

import gymnasium as gym
import pytest
import torch

import wmil_envs
from agents.model import AgentModel, ModelConfig, VectorQuantizer, parameter_count
from wmil_envs import vocab


def make(env_id="WMIL/PatternEcho-v0", **model_kwargs):
    env = gym.make(env_id, num_actions=8) if "Pattern" in env_id else gym.make(env_id)
    model = AgentModel(env.observation_space, env.action_space, ModelConfig(**model_kwargs))
    return env, model


@pytest.mark.parametrize("env_id", sorted(wmil_envs.ENV_IDS))
def test_shapes_on_every_env(env_id):
    torch.manual_seed(0)
    env, model = make(env_id)
    obs, _ = env.reset(seed=0)
    batch = torch.as_tensor(obs).unsqueeze(0).repeat(5, 1)
    out = model(batch)
    n = env.action_space.n
    assert out["logits"].shape == (5, n)
    assert out["value"].shape == (5,)
    assert out["hidden"].shape == (5, len(obs) + 1, 64)
    wm = model.world_model_logits(out["hidden"], torch.zeros(5, dtype=torch.long))
    assert wm.shape == (5, len(obs), vocab.VOCAB_SIZE)
    assert out["vq_codes"].shape == (5,)


def test_gradient_reaches_every_parameter():
    torch.manual_seed(0)
    env, model = make(vq_bottleneck=True)
    envs = gym.make_vec("WMIL/PatternEcho-v0", num_envs=16, num_actions=8, difficulty=2)
    obs, _ = envs.reset(seed=0)
    actions = torch.randint(0, 8, (16,))
    _, _, _, _, infos = envs.step(actions.numpy())
    out = model(torch.as_tensor(obs))
    wm = model.world_model_stats(
        model.world_model_logits(out["hidden"], actions), torch.as_tensor(infos["final_obs"])
    )
    loss = out["logits"].logsumexp(-1).mean() + out["value"].mean() + wm["loss"] + out["vq_loss"]
    loss.backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert missing == []


def test_mvp_size_is_under_a_million_parameters():
    _, model = make(hidden_dim=64, num_layers=2)
    assert 10_000 < parameter_count(model) < 1_000_000


def test_heads_can_be_switched_off():
    _, model = make(world_model_head=False, value_head=False, vq_head=False)
    out = model(torch.full((2, 4), vocab.NONE))
    assert set(out) == {"hidden", "logits"}
    with pytest.raises(RuntimeError, match="world-model head is switched off"):
        model.world_model_logits(out["hidden"], torch.zeros(2, dtype=torch.long))


def test_model_rejects_foreign_spaces():
    with pytest.raises(TypeError, match="MultiDiscrete"):
        AgentModel(gym.spaces.Box(0, 1, (3,)), gym.spaces.Discrete(2))


def test_vq_restarts_dead_codes_and_reports_usage():
    torch.manual_seed(0)
    vq = VectorQuantizer(num_codes=16, dim=4, decay=0.5)
    z = torch.randn(64, 4) + 10.0  # far from every initial code: all but one go dead
    for _ in range(20):
        out = vq(z.requires_grad_())
    assert out["usage"] > 1 / 16  # dead codes were restarted on the data
    assert 1.0 <= out["perplexity"] <= 16.0
    out["loss"].backward()
    assert z.grad is not None
