"""Every registered algorithm behind the one contract (``agents.algorithm``): a few updates on
PatternEcho through ``Trainer.iterate``, save, resume exactly, evaluate the checkpoint."""

import dataclasses
import json

import pytest
import torch

from agents.algorithm import ALGORITHMS, algorithm_class, make_policy
from agents.checkpoint import VERSION, load_checkpoint
from agents.config import Config
from agents.evaluate import main as evaluate_main
from agents.training_loop import Trainer, UpdateResult, resume_config

# every head on, GrokFast and EMA too, two-step episodes: all the state a resume must carry;
# evaluation only at the end (building the EMA copy to evaluate draws torch's generator)
SMALL = dict(task="pattern_echo", num_actions=8, difficulty=2, num_envs=16, rollout_steps=2,
             episode_length=2, hidden_dim=32, num_layers=1, progress=False, eval_every=0,
             eval_episodes=64, torch_threads=1, checkpoint_every=32, num_minibatches=2,
             pred_weight=0.1, grokfast=True, ema_decay=0.9, anneal_lr=True)  # fmt: skip
NEEDS = {
    "planner": dict(simulator=True, replay_size=40, replay_batch=16, model_updates=2),
    "replay_q": dict(replay_size=40, replay_batch=16, model_updates=2),
}
"""What an algorithm needs beyond SMALL (the planner: its simulator; both replay agents: a ring
that wraps)."""


def small(name: str, **values) -> Config:
    return Config(**SMALL, **NEEDS.get(name, {}), algorithm=name, **values)


def assert_same(a, b, where="state"):
    """Equal nested states: tensors exactly, floats exactly, the rest by ==."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b or (a != a and b != b), where  # NaN == NaN here


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_algorithm_meets_the_contract(name):
    cls = algorithm_class(name)
    assert cls.name == name
    trainer = Trainer(small(name, max_steps=96), run_dir="unused")
    algo = trainer.algo
    assert isinstance(algo, cls)
    assert algo.optimizer is None or algo.optimizer.lr == pytest.approx(2e-3)
    results = list(trainer.iterate())
    assert [r.step for r in results] == [32, 64, 96] and trainer.updates == 3
    for result in results:
        assert isinstance(result, UpdateResult) and 0.0 <= result.success_rate <= 1.0
        assert all(isinstance(v, float) for v in result.metrics.values())
        assert len(result.rollout["successes"]) == 16  # one episode per env per rollout
    # collection acts through the contract: N actions in the action space
    rollout, _ = trainer.collect()
    assert rollout.actions.shape == (2, 16)
    assert rollout.actions.min() >= 0 and rollout.actions.max() < 8
    # evaluation plays the algorithm's policy; only a model-driven one exposes its model
    policy = make_policy(name, trainer.model, seed=0)
    assert policy.act(rollout.obs[0].numpy()).shape == (16,)
    assert (policy.model is None) == (name == "random")
    if algo.optimizer is not None:  # annealed: 1 - 64/96 of the rate, set before update 3
        assert algo.optimizer.lr == pytest.approx(2e-3 * (1 - 64 / 96))
    trainer.envs.close()


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_algorithm_saves_resumes_exactly_and_evaluates(tmp_path, capsys, name):
    whole = Trainer(small(name, max_steps=96), tmp_path / "whole")
    whole.train()
    # stopped after two of the three updates (as Ctrl-C does), saved, resumed in a new trainer
    first = Trainer(small(name, max_steps=96), tmp_path / "parts")
    for update in first.iterate():
        if update.step == 64:
            break
    first.save()
    checkpoint = load_checkpoint(tmp_path / "parts")
    assert checkpoint["version"] == VERSION and checkpoint["step"] == 64
    resumed = Trainer(resume_config(checkpoint, {}), tmp_path / "parts", checkpoint=checkpoint)
    assert resumed.step == 64
    resumed.train()

    a, b = load_checkpoint(tmp_path / "whole"), load_checkpoint(tmp_path / "parts")
    assert a["step"] == b["step"] == 96
    # same weights, optimiser / baseline / EMA / GrokFast state, and random generators (so the
    # same actions from here on), and the same per-update history (so the same actions before)
    for key in ("model", "algorithm", "rng", "history", "window"):
        assert_same(a[key], b[key], key)
    if name == "random":
        assert_same(a["model"], whole.model.state_dict())  # it never updates

    out = tmp_path / "eval.json"
    assert evaluate_main(["--checkpoint", str(tmp_path / "parts"), "--episodes", "64",
                          "--samples", "1", "--json", str(out)]) == 0  # fmt: skip
    assert "Checkpoint" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["algorithm"] == name and result["checkpoint_step"] == 96
    assert 0.0 <= result["success_rate"] <= 1.0
    # model metrics only where the actions come from the model
    assert ("policy_entropy" in result) == (name != "random")
    # the planner's simulator: one- and k-step accuracy and reward metrics on held-out starts
    assert ("simulator" in result) == (name == "planner")
    if name == "planner":
        sim = result["simulator"]
        assert sim["rollout_steps"] == 2 and sim["starts"] == 64
        for key in ("one_step_exact", "k_step_token_accuracy", "rollout_exact"):
            assert 0.0 <= sim[key] <= 1.0


def test_version_1_checkpoint_resumes_and_evaluates_with_its_ema(tmp_path):
    """Version 1 kept an algorithm's optimiser state under "step"; it loads as "optimizer"."""
    trainer = Trainer(Config(**SMALL, algorithm="reinforce", max_steps=32), tmp_path / "run")
    trainer.train()
    data = load_checkpoint(tmp_path / "run")
    data["version"] = 1
    data["algorithm"]["step"] = data["algorithm"].pop("optimizer")
    torch.save(data, tmp_path / "old.pt")

    loaded = load_checkpoint(tmp_path / "old.pt")
    assert "step" not in loaded["algorithm"] and "ema" in loaded["algorithm"]["optimizer"]
    resumed = Trainer(resume_config(loaded, {"max_steps": 64}), tmp_path / "resumed",
                      checkpoint=loaded)  # fmt: skip
    assert_same(resumed.algo.state_dict(), loaded["algorithm"])
    assert resumed.train()["steps"] == 64


@pytest.mark.parametrize("name", ["reinforce", "ppo"])
def test_update_in_chunks_takes_the_same_step(monkeypatch, name):
    """A batch larger than ``UPDATE_CHUNK`` (REINFORCE's rollout, a PPO minibatch) accumulates
    its gradient chunk by chunk: the same step as one forward over it, up to float rounding."""
    import agents.optim

    cfg = dataclasses.replace(small(name), vq_head=False)  # its codes move per chunk
    weights = {}
    for chunk in (10**9, 5):  # batches of 32 (PPO: 16): one pass, then chunks of 5 and a rest
        monkeypatch.setattr(agents.optim, "UPDATE_CHUNK", chunk)
        trainer = Trainer(cfg)
        batch, _ = trainer.collect()
        metrics = trainer.algo.update(batch)
        weights[chunk] = (
            torch.cat([p.detach().flatten() for p in trainer.model.parameters()]),
            metrics,
        )
    (one, m1), (chunked, m2) = weights.values()
    assert torch.allclose(one, chunked, atol=1e-6)
    assert m1.keys() == m2.keys()
    for key in m1:
        assert m2[key] == pytest.approx(m1[key], rel=1e-4, abs=1e-6), key
