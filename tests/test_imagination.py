"""``agents.imagination``: the search's memory of what it imagined gives the simulator's and
the value head's own answers, computes each distinct row once, and forgets when a weight
changes (an optimizer's fused step too)."""

import torch

from agents.config import Config
from agents.imagination import Imagination
from agents.optim import GradientStep
from agents.training_loop import Trainer


def _planner_model():
    torch.manual_seed(0)
    cfg = Config(task="object_edit", algorithm="planner", simulator=True, hidden_dim=16,
                 num_layers=1, vq_head=False, value_head=True, num_envs=8, rollout_steps=8,
                 max_steps=64, progress=False, eval_every=0)  # fmt: skip
    trainer = Trainer(cfg, run_dir="unused")
    obs, _ = trainer.envs.reset(seed=0)
    trainer.envs.close()
    return trainer.model, torch.as_tensor(obs), cfg


class CountingSimulator:
    """The model's simulator, counting the rows it is asked to step."""

    def __init__(self, simulator):
        self.simulator, self.rows = simulator, 0

    def step(self, obs, actions):
        self.rows += len(obs)
        return self.simulator.step(obs, actions)


def _fresh(model, obs, actions):
    """The simulator's and value head's answers computed directly, in eval mode."""
    model.eval()
    try:
        following, reward = model.simulator.step(obs, actions)
        return following, reward, model(following).value
    finally:
        model.train()


def test_remembered_answers_are_the_models_own_and_each_row_is_computed_once():
    model, obs, _ = _planner_model()
    counting = CountingSimulator(model.simulator)
    imagination = Imagination(model, counting)
    rows = obs.repeat(3, 1)  # every row three times
    actions = (torch.arange(len(obs)) % model.num_actions).repeat(3)
    following, reward = imagination.step(rows, actions)
    values = imagination.value(following)
    want_following, want_reward, want_values = _fresh(model, rows, actions)
    assert torch.equal(following, want_following)
    torch.testing.assert_close(reward, want_reward)
    torch.testing.assert_close(values, want_values)
    distinct = len(torch.unique(torch.cat([rows, actions[:, None]], 1), dim=0))
    assert counting.rows == distinct < len(rows)
    imagination.step(rows, actions)  # asked again: nothing new to compute
    assert counting.rows == distinct
    assert model.training  # the mode it was in


def test_a_weight_change_forgets_what_was_imagined():
    model, obs, cfg = _planner_model()
    counting = CountingSimulator(model.simulator)
    imagination = Imagination(model, counting)
    actions = torch.zeros(len(obs), dtype=torch.long)
    before, _ = imagination.step(obs, actions)
    optimizer = GradientStep(model, cfg)  # AdamW's fused kernel: no Tensor._version bump
    optimizer(model(obs).value.sum() + model.simulator(obs, actions).reward.sum())
    rows = counting.rows
    following, reward = imagination.step(obs, actions)
    assert counting.rows == 2 * rows  # computed again, with the new weights
    want_following, want_reward, _ = _fresh(model, obs, actions)
    assert torch.equal(following, want_following)
    torch.testing.assert_close(reward, want_reward)


def test_a_full_memory_starts_afresh_and_still_answers_right(monkeypatch):
    import agents.imagination

    monkeypatch.setattr(agents.imagination, "MAX_ROWS", 10)
    model, obs, _ = _planner_model()
    imagination = Imagination(model, model.simulator)
    for action in range(3):  # 8 rows a call: the second call finds the memory full
        actions = torch.full((len(obs),), action)
        following, reward = imagination.step(obs, actions)
        want_following, want_reward, _ = _fresh(model, obs, actions)
        assert torch.equal(following, want_following)
        torch.testing.assert_close(reward, want_reward)
        assert len(imagination._steps.index) <= 10
