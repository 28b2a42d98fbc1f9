"""``device``: cuda and mps are accepted where torch reports them available, with a clear error
where not; on the CPU the rollout is not copied. A short GPU run where a GPU is present."""

import pytest
import torch

from agents.algorithm import Rollout
from agents.config import Config, ConfigError
from agents.train import main as train_main
from agents.training_loop import Trainer, resolve_device, resume_config, rollout_to

ECHO = dict(task="pattern_echo", num_actions=8, difficulty=2, num_envs=32, progress=False,
            eval_every=0, eval_episodes=64, torch_threads=1)  # fmt: skip

cuda = torch.cuda.is_available()
mps_available = (
    getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present here")
def test_unavailable_cuda_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ConfigError, match=r"device='cuda' but torch reports no usable CUDA GPU"):
        Trainer(Config(**ECHO, device="cuda"), tmp_path / "run")
    assert train_main(["--device", "cuda", "--run_dir", str(tmp_path / "cli")]) == 2
    err = capsys.readouterr().err
    assert "torch.cuda.is_available() is False" in err and "use device=cpu" in err


@pytest.mark.skipif(mps_available, reason="an Apple GPU is present here")
def test_unavailable_mps_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"device='mps' but torch reports no Apple GPU"):
        resolve_device("mps")


def test_unknown_device_is_a_config_error():
    with pytest.raises(ConfigError, match="device='tpu' is not allowed; choose one of: cpu, cuda"):
        Config(device="tpu").validate()


def test_cpu_rollout_is_not_copied():
    rollout = Rollout(*(torch.zeros(2, 3) for _ in range(7)), next_value=torch.zeros(3))
    moved = rollout_to(rollout, torch.device("cpu"))
    assert all(
        getattr(moved, name) is getattr(rollout, name)
        for name in ("obs", "next_obs", "actions", "logprobs", "values", "rewards", "dones")
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("algorithm", ["reinforce", "ppo", "replay_q", "planner"])
def test_short_cuda_run_learns(tmp_path, algorithm):
    """On the CPU (seed 0): 1.00 for the planner, 0.875 for replay_q."""
    planner, replay = algorithm == "planner", algorithm in ("planner", "replay_q")
    cfg = Config(**ECHO, device="cuda", algorithm=algorithm, max_steps=1600, vq_head=False,
                 value_head=algorithm == "ppo" or planner, simulator=planner,
                 world_model_head=not replay, pred_weight=0.0 if replay else 0.1,
                 learning_rate=1e-3)  # fmt: skip
    trainer = Trainer(cfg, tmp_path / algorithm)
    assert next(trainer.model.parameters()).device.type == "cuda"
    summary = trainer.train()
    assert summary["finished"] and summary["final_greedy_success"] > 0.5  # chance is 1/8


@pytest.mark.parametrize(
    "device",
    ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not cuda, reason="needs a CUDA GPU"))],
)
def test_a_planner_saves_resumes_and_evaluates_on_its_device(tmp_path, device):
    """A checkpoint of a planner (its replay ring on the CPU, the model on ``device``) resumes
    there and is evaluated (GPU kernels are not bitwise repeatable, so no exactness here; the
    CPU's is in test_algorithms)."""
    from agents.checkpoint import load_checkpoint
    from agents.evaluate import evaluate_checkpoint

    cfg = Config(**ECHO, device=device, algorithm="planner", max_steps=128, vq_head=False,
                 value_head=True, simulator=True, world_model_head=False)  # fmt: skip
    first = Trainer(cfg, tmp_path / "run")
    for update in first.iterate():
        if update.step == 64:
            break
    first.save()
    checkpoint = load_checkpoint(tmp_path / "run")
    resumed = Trainer(resume_config(checkpoint, {}), tmp_path / "run", checkpoint=checkpoint)
    assert resumed.step == 64 and resumed.algo.replay.size == 64
    assert next(resumed.model.parameters()).device.type == device
    assert resumed.train()["steps"] == 128
    result = evaluate_checkpoint(tmp_path / "run", episodes=64, samples=0)
    assert 0.0 <= result["success_rate"] <= 1.0
