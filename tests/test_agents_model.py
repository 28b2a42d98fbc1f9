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
    model = AgentModel(
        env.observation_space, env.action_space, Config(**model_kwargs).model_config()
    )
    return env, model


@pytest.mark.parametrize("env_id", sorted(wmil_envs.ENV_IDS))
def test_shapes_on_every_env(env_id):
    torch.manual_seed(0)
    env, model = make(env_id)
    obs, _ = env.reset(seed=0)
    batch = torch.as_tensor(obs).unsqueeze(0).repeat(5, 1)
    out = model(batch)
    n = env.action_space.n
    assert out.logits.shape == (5, n)
    assert out.value.shape == (5,)
    assert out.hidden.shape == (5, len(obs) + 1, 64)
    wm = model.world_model_logits(out.hidden, torch.zeros(5, dtype=torch.long))
    assert wm.shape == (5, len(obs), env.unwrapped.task.vocab_size)
    assert out.vq.codes.shape == (5,)


def test_gradient_reaches_every_parameter():
    torch.manual_seed(0)
    env, model = make(vq_bottleneck=True)
    envs = gym.make_vec("WMIL/PatternEcho-v0", num_envs=16, num_actions=8, difficulty=2)
    obs, _ = envs.reset(seed=0)
    actions = torch.randint(0, 8, (16,))
    _, _, _, _, infos = envs.step(actions.numpy())
    out = model(torch.as_tensor(obs))
    wm = model.world_model_stats(
        model.world_model_logits(out.hidden, actions), torch.as_tensor(infos["final_obs"])
    )
    loss = out.logits.logsumexp(-1).mean() + out.value.mean() + wm.loss + out.vq.loss
    loss.backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert missing == []


def test_mvp_size_is_under_a_million_parameters():
    _, model = make(hidden_dim=64, num_layers=2)
    assert 10_000 < parameter_count(model) < 1_000_000


def test_heads_can_be_switched_off():
    _, model = make(world_model_head=False, value_head=False, vq_head=False)
    out = model(torch.full((2, 4), vocab.NONE))
    assert out.value is None and out.vq is None and out.logits.shape == (2, 8)
    with pytest.raises(RuntimeError, match="world-model head is switched off"):
        model.world_model_logits(out.hidden, torch.zeros(2, dtype=torch.long))


def test_model_rejects_foreign_spaces():
    with pytest.raises(TypeError, match="MultiDiscrete"):
        AgentModel(gym.spaces.Box(0, 1, (3,)), gym.spaces.Discrete(2))


def test_vq_restarts_dead_codes_and_reports_usage():
    torch.manual_seed(0)
    vq = VectorQuantizer(num_codes=16, dim=4, decay=0.5)
    z = torch.randn(64, 4) + 10.0  # far from every initial code: all but one go dead
    for _ in range(20):
        out = vq(z.requires_grad_())
    assert out.usage > 1 / 16  # dead codes were restarted on the data
    assert 1.0 <= out.perplexity <= 16.0
    out.loss.backward()
    assert z.grad is not None


def test_digit_action_head_scores_a_number_by_its_two_digits():
    torch.manual_seed(0)
    env, model = make("WMIL/Counting-v0", action_head="digits")
    obs, _ = env.reset(seed=0)
    logits = model(torch.as_tensor(obs).unsqueeze(0)).logits[0]
    assert logits.shape == (100,)
    table = logits.reshape(10, 10)  # [tens, ones]
    # additive in the digits: every row differs from row 0 by one constant (the tens logit)
    torch.testing.assert_close(table - table[:, :1], (table - table[:, :1])[:1].expand(10, 10))
    torch.testing.assert_close(table - table[:1], (table - table[:1])[:, :1].expand(10, 10))
    # and the logits are log-probabilities of the two digits: the 100 numbers sum to one
    torch.testing.assert_close(logits.exp().sum(), torch.tensor(1.0))


def test_digit_action_head_answers_with_shifts_of_the_digits_shown():
    """Each answer digit is a shown digit shifted: make both shifts 'add one' and after 19 the
    answer's digits can only be 1 + 1 or 9 + 1 (mod 10), whatever the pointer reads."""
    torch.manual_seed(0)
    env, model = make("WMIL/Counting-v0", action_head="digits")
    counting = vocab.TASK + vocab.TASK_NAMES.index("counting")
    after = vocab.COUNT_KIND + vocab.COUNT_KINDS.index("after")
    one, nine = vocab.DIGIT + 1, vocab.DIGIT + 9
    obs = [[counting, after, one, nine, vocab.PAD, vocab.PAD, vocab.NONE, vocab.NONE]]
    assert len(obs[0]) == env.observation_space.shape[0]
    with torch.no_grad():
        model.action_head.shift.weight.zero_()
        model.action_head.shift.bias.copy_(20.0 * torch.eye(10)[1].repeat(2))
        probs = model(torch.as_tensor(obs)).logits[0].exp().reshape(10, 10)
    assert probs[[2, 0]][:, [2, 0]].sum() > 0.999
    # a digit the question does not show cannot be read: PAD and the action tokens are skipped
    assert probs[1].sum() < 1e-3 and probs[:, 1].sum() < 1e-3
    # with no digit shown there is nothing to read: every number is equally likely
    obs[0][2:4] = [vocab.PAD, vocab.PAD]
    with torch.no_grad():
        probs = model(torch.as_tensor(obs)).logits[0].exp()
    torch.testing.assert_close(probs, torch.full((100,), 0.01))


def test_digit_action_head_moves_digits_at_most_max_shift_steps():
    torch.manual_seed(0)
    env, model = make("WMIL/Counting-v0", action_head="digits", digit_max_shift=1)
    counting = vocab.TASK + vocab.TASK_NAMES.index("counting")
    after = vocab.COUNT_KIND + vocab.COUNT_KINDS.index("after")
    obs = [[counting, after, vocab.DIGIT + 1, vocab.DIGIT + 5, 0, 0, vocab.NONE, vocab.NONE]]
    with torch.no_grad():
        probs = model(torch.as_tensor(obs)).logits[0].exp().reshape(10, 10)
    reachable = [0, 1, 2, 4, 5, 6]  # 1 and 5, each moved by -1, 0 or +1
    assert probs[reachable][:, reachable].sum() > 1 - 1e-6
    assert (probs[reachable][:, reachable] > 1e-4).all()  # and each of them can be chosen


def test_digit_action_head_learns_through_pointer_and_shift():
    torch.manual_seed(0)
    env, model = make("WMIL/Counting-v0", action_head="digits")
    envs = gym.make_vec("WMIL/Counting-v0", num_envs=16)
    obs, _ = envs.reset(seed=0)
    logits = model(torch.as_tensor(obs)).logits
    (-logits[:, 42].mean()).backward()
    head = dict(model.action_head.named_parameters())
    assert set(head) == {"pointer.weight", "pointer.bias", "shift.weight", "shift.bias"}
    assert all(p.grad is not None and p.grad.any() for p in head.values())


def test_digit_action_head_needs_at_most_100_actions():
    env = gym.make("WMIL/PatternEcho-v0", num_actions=128, difficulty=0)
    with pytest.raises(ValueError, match="numbers 0..99, but the action space has 128"):
        AgentModel(env.observation_space, env.action_space, Config(action_head="digits"))
