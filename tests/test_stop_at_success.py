"""``stop_at_success``: training stops at the first greedy evaluation that reaches it, the run
is the same as without it up to there, and it is off by default (the locked MVP runs its
10,000 steps)."""

import pytest

from agents.cli import load_yaml
from agents.config import Config, ConfigError, config_from_dict
from agents.train import main as train_main
from agents.training_loop import Trainer

ECHO = dict(task="pattern_echo", num_actions=8, difficulty=2, num_envs=32, progress=False,
            eval_every=160, eval_episodes=256, torch_threads=1, max_steps=960,
            vq_head=False, value_head=False, checkpoint_every=0)  # fmt: skip


def train(tmp_path, name, **overrides):
    return Trainer(Config(**{**ECHO, **overrides}), tmp_path / name).train()


def test_stops_at_the_first_evaluation_that_reaches_it(tmp_path):
    full = train(tmp_path, "full")
    stopped = train(tmp_path, "stopped", stop_at_success=0.5)
    where = stopped["stopped_at_success"]
    assert where is not None and where["greedy_success"] >= 0.5
    assert stopped["steps"] == where["step"] < full["steps"] == 960
    assert stopped["finished"] and stopped["stop_reason"] is None
    assert where["train_seconds"] > 0 and where["cpu_seconds"] > 0
    # the same run up to there: the same evaluations, the first one at or above 0.5 the last
    assert stopped["greedy_evals"] == full["greedy_evals"][: len(stopped["greedy_evals"])]
    assert [e["greedy_success"] >= 0.5 for e in stopped["greedy_evals"]].index(True) == len(
        stopped["greedy_evals"]
    ) - 1
    assert stopped["target_greedy_success"] == where["greedy_success"]
    assert full["stopped_at_success"] is None and full["stop_at_success"] is None


def test_unreached_threshold_runs_every_step(tmp_path):
    summary = train(tmp_path, "run", max_steps=320, stop_at_success=1.0, eval_episodes=64,
                    learning_rate=1e-5)  # fmt: skip
    assert summary["steps"] == 320 and summary["finished"]
    assert summary["stopped_at_success"] is None


def test_command_line_flag_exits_cleanly(tmp_path, capsys):
    args = ["--task", "pattern_echo", "--num_actions", "8", "--difficulty", "2", "--num_envs",
            "32", "--progress", "false", "--eval_every", "160", "--eval_episodes", "256",
            "--max_steps", "3200", "--stop_at_success", "0.5", "--vq_head", "false",
            "--value_head", "false", "--run_dir", str(tmp_path / "run")]  # fmt: skip
    assert train_main(args) == 0
    assert "error" not in capsys.readouterr().err


def test_off_by_default_and_in_the_locked_mvp():
    assert Config().stop_at_success is None
    assert config_from_dict(load_yaml("configs/mvp.yaml")).validate().stop_at_success is None


@pytest.mark.parametrize(
    "values, message",
    [
        ({"stop_at_success": 0.0}, "stop_at_success=0.0 must be None or in (0, 1]"),
        ({"stop_at_success": 1.5}, "stop_at_success=1.5 must be None or in (0, 1]"),
        ({"stop_at_success": 0.9, "eval_every": 0}, "it needs eval_every > 0"),
    ],
)
def test_bad_values(values, message):
    with pytest.raises(ConfigError) as info:
        config_from_dict(values).validate()
    assert message in str(info.value)
