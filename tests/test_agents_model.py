"""The agent's network: shapes, gradient flow to every parameter, size, switchable heads."""

import gymnasium as gym
import pytest
import torch

import wmil_envs
from agents.config import Config
from agents.model import AgentModel, VectorQuantizer, parameter_count
from wmil_envs import vocab


def make(env_id="WMIL/PatternEcho-v0", **model_kwargs):
    env = gym.make(env_id, num_actions=8) if "Pattern" in env_id else gym.make(env_id)
    model = AgentModel(env.observation_space, env.action_space, Config(**model_kwargs))
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


def test_digit_action_head_scores_a_number_by_its_two_digits():
    torch.manual_seed(0)
    env, model = make("WMIL/Counting-v0", action_head="digits")
    obs, _ = env.reset(seed=0)
    logits = model(torch.as_tensor(obs).unsqueeze(0))["logits"][0]
    assert logits.shape == (100,)
    table = logits.reshape(10, 10)  # [tens, ones]
    # additive in the digits: every row differs from row 0 by one constant (the tens logit)
    torch.testing.assert_close(table - table[:, :1], (table - table[:, :1])[:1].expand(10, 10))
    torch.testing.assert_close(table - table[:1], (table - table[:1])[:, :1].expand(10, 10))
    # the digits are scored against the encoder's own digit-token embeddings (tied): moving
    # the embedding of a digit the question does not show moves only that digit's logits
    unseen = next(d for d in range(10) if vocab.DIGIT + d not in obs)
    with torch.no_grad():
        model.encoder.token.weight[vocab.DIGIT + unseen] += 1.0
        changed = (model(torch.as_tensor(obs).unsqueeze(0))["logits"][0] != logits).reshape(10, 10)
    expected = torch.zeros(10, 10, dtype=torch.bool)
    expected[unseen], expected[:, unseen] = True, True
    assert torch.equal(changed, expected)


def test_digit_action_head_needs_at_most_100_actions():
    env = gym.make("WMIL/PatternEcho-v0", num_actions=128, difficulty=0)
    with pytest.raises(ValueError, match="numbers 0..99, but the action space has 128"):
        AgentModel(env.observation_space, env.action_space, Config(action_head="digits"))
