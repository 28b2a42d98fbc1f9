"""Training: REINFORCE and PPO learn PatternEcho, baselines, exact resume, checkpoint errors,
evaluation CLI. Short seeded runs on CPU."""

import json

import pytest
import torch

from agents.checkpoint import CheckpointError, load_checkpoint
from agents.config import Config
from agents.evaluate import main as evaluate_main
from agents.train import main as train_main
from agents.training_loop import Trainer

ECHO = dict(task="pattern_echo", num_actions=8, difficulty=2, num_envs=32, progress=False,
            eval_every=0, eval_episodes=256, torch_threads=1)  # fmt: skip


def run(tmp_path, name="run", **overrides):
    cfg = Config(**{**ECHO, **overrides})
    trainer = Trainer(cfg, tmp_path / name)
    return trainer, trainer.train()


def test_reinforce_learns_pattern_echo(tmp_path):
    _, summary = run(tmp_path, algorithm="reinforce", max_steps=1600, vq_head=False,
                     value_head=False)  # fmt: skip
    assert summary["final_greedy_success"] > 0.8  # chance is 1/8
    assert summary["final_success_rate"] > 0.5


def test_ppo_learns_pattern_echo(tmp_path):
    _, summary = run(tmp_path, algorithm="ppo", max_steps=1600, learning_rate=1e-3,
                     num_minibatches=2)  # fmt: skip
    assert summary["final_greedy_success"] > 0.5  # chance is 1/8
    assert summary["last_metrics"]["losses/value"] >= 0


def test_random_baseline_stays_at_chance(tmp_path):
    _, summary = run(tmp_path, algorithm="random", max_steps=640, world_model_head=False)
    assert 0.05 < summary["final_success_rate"] < 0.25
    assert 0.05 < summary["final_greedy_success"] < 0.25


def test_intrinsic_rewards_are_logged_and_grokfast_ema_run(tmp_path):
    _, summary = run(tmp_path, max_steps=320, pred_weight=0.1, cons_weight=0.1, grokfast=True,
                     ema_decay=0.9, rollout_steps=2, episode_length=2)  # fmt: skip
    assert summary["steps"] == 320 and summary["finished"]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "run")).Reload()
    tags = set(events.Tags()["scalars"])
    for tag in ["charts/success_rate", "charts/episodic_return", "charts/SPS", "reward/goal",
                "reward/pred", "reward/cons", "reward/total", "losses/policy",
                "losses/world_model", "losses/value", "losses/entropy", "vq/perplexity",
                "vq/usage", "curriculum/level"]:  # fmt: skip
        assert tag in tags, tag
    assert 0 < events.Scalars("reward/pred")[-1].value <= 1


def test_resume_is_exact(tmp_path):
    common = dict(max_steps=640, vq_head=True, value_head=True, checkpoint_every=320)
    whole, _ = run(tmp_path, "whole", **common)
    assert train_main(["--task", "pattern_echo", "--num_actions", "8", "--difficulty", "2",
                       "--num_envs", "32", "--progress", "false", "--eval_every", "0",
                       "--eval_episodes", "256", "--max_steps", "320", "--vq_head", "true",
                       "--checkpoint_every", "320",
                       "--run_dir", str(tmp_path / "parts")]) == 0  # fmt: skip
    assert train_main(["--resume", str(tmp_path / "parts"), "--max_steps", "640"]) == 0
    a = load_checkpoint(tmp_path / "whole")
    b = load_checkpoint(tmp_path / "parts")
    assert a["step"] == b["step"] == 640
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert a["algorithm"]["baseline"] == b["algorithm"]["baseline"]
    summary = json.loads((tmp_path / "parts" / "summary.json").read_text())
    assert summary["steps"] == 640 and summary["updates"] == 20


def test_resume_refuses_changes_that_break_exactness(tmp_path, capsys):
    run(tmp_path, max_steps=64)
    assert train_main(["--resume", str(tmp_path / "run"), "--learning_rate", "0.1"]) == 2
    assert "cannot change learning_rate when resuming" in capsys.readouterr().err


def test_digit_action_head_on_too_many_actions_is_a_config_error(tmp_path, capsys):
    args = ["--task", "pattern_echo", "--num_actions", "128", "--action_head", "digits",
            "--run_dir", str(tmp_path / "run"), "--progress", "false"]  # fmt: skip
    assert train_main(args) == 2
    assert "numbers 0..99, but the action space has 128 actions" in capsys.readouterr().err


def test_existing_run_dir_is_not_overwritten(tmp_path, capsys):
    run(tmp_path, max_steps=64)
    assert train_main(["--run_dir", str(tmp_path / "run"), "--max_steps", "64"]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_corrupt_and_foreign_checkpoints_give_clear_errors(tmp_path, capsys):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt or was not written by agents.train"):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    with pytest.raises(CheckpointError, match="not a WMIL agent checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    assert evaluate_main(["--checkpoint", str(corrupt)]) == 2
    assert "corrupt" in capsys.readouterr().err
    assert train_main(["--resume", str(foreign)]) == 2
    assert "not a WMIL agent checkpoint" in capsys.readouterr().err


def test_truncated_checkpoint(tmp_path):
    run(tmp_path, max_steps=64)
    data = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(tmp_path / "cut.pt")


def test_run_directory_contents(tmp_path):
    run(tmp_path, max_steps=128, checkpoint_every=64, keep_checkpoints=1)
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"config.yaml", "summary.json", "checkpoint.pt", "checkpoints"} <= names
    assert any(n.startswith("events.out.tfevents") for n in names)
    assert [p.name for p in (tmp_path / "run" / "checkpoints").iterdir()] == ["step_000000128.pt"]


def test_evaluate_numeric_relation_per_relation_table(tmp_path, capsys):
    run(tmp_path, task="numeric_relation", num_actions=None, difficulty=0, max_steps=128)
    out_json = tmp_path / "eval.json"
    assert evaluate_main(["--checkpoint", str(tmp_path / "run"), "--episodes", "300",
                          "--split", "test", "--json", str(out_json)]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "Eval accuracy over 300 examples" in text and "Per-relation accuracy:" in text
    assert "successor" in text and "Sample episodes:" in text and "Q: " in text
    result = json.loads(out_json.read_text())
    assert result["split"] == "test" and len(result["per_category"]) == 9
    assert set(result["per_difficulty"]) == {"0", "1", "2"}
    assert "world_model_token_error" in result and "vq_usage" in result


def test_evaluate_rejects_split_for_pattern_echo(tmp_path, capsys):
    run(tmp_path, max_steps=64)
    assert evaluate_main(["--checkpoint", str(tmp_path / "run"), "--split", "test"]) == 2
    assert "--split is only for" in capsys.readouterr().err
