"""The VQ head: codes start on the data, idle codes restart, a probe VQ sends no gradient into
the trunk (and leaves a seeded run unchanged), a bottleneck VQ does, and a short PatternEcho run
uses most of the codebook with codes that separate the answer."""

import gymnasium as gym
import numpy as np
import torch

from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.concept_tables import code_purity
from agents.config import Config
from agents.model import AgentModel, VectorQuantizer
from agents.training_loop import Trainer, resume_config

ECHO = dict(task="pattern_echo", num_actions=8, difficulty=2, num_envs=32, progress=False,
            eval_every=0, eval_episodes=64, torch_threads=1, algorithm="ppo",
            learning_rate=1e-3)  # fmt: skip


def clusters(centres: torch.Tensor, per_cluster: int, seed: int = 0):
    """``per_cluster`` points around each centre (spread 0.1); (points, cluster of each)."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(len(centres)).repeat_interleave(per_cluster)
    points = centres[labels] + 0.1 * torch.randn(len(labels), centres.shape[1], generator=gen)
    return points, labels


def far_centres(k: int, dim: int = 16, seed: int = 0) -> torch.Tensor:
    """``k`` centres of norm ~8, the scale of a LayerNorm'd summary of width 64."""
    gen = torch.Generator().manual_seed(seed)
    return 2.0 * torch.randn(k, dim, generator=gen)


def test_codes_start_on_the_data():
    centres = far_centres(8)
    points, labels = clusters(centres, 16)
    vq = VectorQuantizer(num_codes=8, dim=16)
    out = vq(points)  # the first batch sets the codes
    assert out.usage == 1.0  # every cluster has a code of its own
    assert code_purity(out.codes.numpy(), labels.numpy())[0] == 1.0
    assert torch.cdist(vq.codebook, centres).min(dim=1).values.max() < 1.0


def test_a_code_unused_for_the_window_restarts_on_the_inputs():
    centres = far_centres(4)
    start, _ = clusters(centres, 8)
    vq = VectorQuantizer(num_codes=4, dim=16, restart_after=3)
    vq.train()
    vq(start)
    only_two, _ = clusters(centres[:2], 8, seed=1)  # clusters 2 and 3 disappear
    idle = torch.cdist(vq.codebook, centres[2:]).min(dim=1).values < 1.0  # their codes
    assert idle.sum() == 2
    for _ in range(2):
        vq(only_two.clone().requires_grad_())
    assert torch.cdist(vq.codebook[idle], centres[2:]).min(dim=1).values.max() < 1.0  # not yet
    out = vq(only_two.clone().requires_grad_())  # third batch without them: restarted
    moved = torch.cdist(vq.codebook[idle], only_two).min(dim=1).values
    assert moved.max() < 1e-4  # each now sits on an input of the batch
    assert (vq.idle_batches[idle] == 0).all()
    assert out.usage == 0.5  # the restart comes after this batch's codes were chosen
    assert vq(only_two).usage > 0.5  # and the restarted codes are chosen


def test_vq_does_not_restart_while_acting_or_evaluating():
    points, _ = clusters(far_centres(4), 8)
    vq = VectorQuantizer(num_codes=8, dim=16, restart_after=1)
    vq(points)
    before = vq.codebook.clone()
    vq.eval()
    vq(points[:8])
    vq.train()
    with torch.no_grad():
        vq(points[:8])
    assert torch.equal(vq.codebook, before)


def model_and_batch(**config):
    env = gym.make("WMIL/PatternEcho-v0", num_actions=8)
    model = AgentModel(env.observation_space, env.action_space, Config(**config).model_config())
    envs = gym.make_vec("WMIL/PatternEcho-v0", num_envs=32, num_actions=8, difficulty=2)
    obs, _ = envs.reset(seed=0)
    return model, torch.as_tensor(obs)


def trunk_gradients(model, obs) -> list[torch.Tensor]:
    """Gradients of the VQ loss alone on the encoder and core (zero where it sends none)."""
    model.train()
    out = model(obs)
    model.zero_grad()
    (out.vq.loss + 0.0 * out.hidden.sum()).backward()  # the zero term makes every grad exist
    trunk = [*model.encoder.parameters(), *model.core.parameters()]
    return [p.grad for p in trunk]


def test_probe_vq_sends_no_gradient_into_the_trunk():
    torch.manual_seed(0)
    model, obs = model_and_batch(vq_bottleneck=False)
    assert all(not g.any() for g in trunk_gradients(model, obs))


def test_bottleneck_vq_pulls_the_trunk():
    torch.manual_seed(0)
    model, obs = model_and_batch(vq_bottleneck=True)
    assert any(g.any() for g in trunk_gradients(model, obs))


def test_probe_vq_leaves_a_seeded_run_unchanged(tmp_path):
    weights = {}
    for vq_head in (False, True):
        trainer = Trainer(Config(**ECHO, max_steps=192, vq_head=vq_head), tmp_path / str(vq_head))
        trainer.train()
        weights[vq_head] = {
            k: v for k, v in trainer.model.state_dict().items() if not k.startswith("vq.")
        }
    assert weights[True].keys() == weights[False].keys()
    assert all(torch.equal(weights[True][k], weights[False][k]) for k in weights[False])


def test_checkpoints_from_before_the_restart_window_load():
    vq = VectorQuantizer(num_codes=4, dim=16)
    vq(clusters(far_centres(4), 8)[0])
    old = {k: v for k, v in vq.state_dict().items() if k != "idle_batches"}
    fresh = VectorQuantizer(num_codes=4, dim=16)
    fresh.load_state_dict(old)
    assert fresh.started and torch.equal(fresh.codebook, vq.codebook)
    assert (fresh.idle_batches == 0).all()


def test_a_run_from_before_the_restart_window_resumes(tmp_path):
    """Its checkpoint has no ``vq.idle_batches``, neither in the weights nor in their EMA."""
    trainer = Trainer(Config(**ECHO, max_steps=64, ema_decay=0.9), tmp_path / "run")
    trainer.train()
    data = load_checkpoint(tmp_path / "run")
    del data["path"]
    del data["model"]["vq.idle_batches"], data["algorithm"]["optimizer"]["ema"]["vq.idle_batches"]
    save_checkpoint(tmp_path / "old.pt", data)
    old = load_checkpoint(tmp_path / "old.pt")
    resumed = Trainer(resume_config(old, {"max_steps": 128}), tmp_path / "resumed", checkpoint=old)
    assert torch.equal(resumed.model.vq.codebook, data["model"]["vq.codebook"])
    assert resumed.train()["steps"] == 128


def test_pattern_echo_run_uses_most_codes_and_they_separate_the_answer(tmp_path):
    cfg = Config(**{**ECHO, "num_actions": 16, "num_envs": 64}, max_steps=1280, vq_codes=16)
    trainer = Trainer(cfg, tmp_path / "run")
    trainer.train()
    envs = gym.make_vec(cfg.env_id, num_envs=256, **cfg.env_kwargs())
    obs, _ = envs.reset(seed=123)
    answers = np.asarray(envs.call("oracle"))
    trainer.model.eval()
    with torch.no_grad():
        codes = trainer.model(torch.as_tensor(obs)).vq.codes.numpy()
    assert len(np.unique(codes)) > cfg.vq_codes // 2
    assert code_purity(codes, answers)[0] > 0.9
