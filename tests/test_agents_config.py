"""Configuration: YAML, flags, precedence, and clear errors for unknown keys and bad values."""

import pytest

from agents.cli import load_yaml, parse_flags
from agents.config import Config, ConfigError, config_from_dict
from agents.train import main


def test_flags_override_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("num_envs: 8\nlearning_rate: 0.01\n")
    values, extra = parse_flags(
        ["--config", str(path), "--num_envs", "4", "--no-vq_head"], extra=("config", "resume")
    )
    cfg = config_from_dict(values, base=config_from_dict(load_yaml(extra["config"]))).validate()
    assert (cfg.num_envs, cfg.learning_rate, cfg.vq_head) == (4, 0.01, False)


def test_mvp_yaml_is_the_locked_mvp():
    cfg = config_from_dict(load_yaml("configs/mvp.yaml")).validate()
    assert (cfg.task, cfg.num_actions, cfg.hidden_dim, cfg.num_layers) == ("pattern_echo", 8, 64, 2)
    assert (cfg.algorithm, cfg.parent, cfg.episode_length, cfg.max_steps) == (
        "reinforce",
        "deterministic",
        1,
        10_000,
    )
    assert cfg.world_model_head and cfg.difficulty == 2


def test_unknown_key_lists_valid_keys():
    with pytest.raises(
        ConfigError,
        match=r"unknown config key 'lerning_rate' \(did you mean "
        r"'learning_rate'\?\); valid config keys are: task",
    ):
        config_from_dict({"lerning_rate": 0.1})


def test_unknown_flag_lists_valid_flags(capsys):
    assert main(["--hiden_dim", "32"]) == 2
    err = capsys.readouterr().err
    assert "unknown flag '--hiden_dim'" in err and "--hidden_dim" in err and "--resume" in err


@pytest.mark.parametrize(
    "values, message",
    [
        ({"algorithm": "dqn"}, "algorithm='dqn' is not allowed; choose one of: reinforce, ppo"),
        ({"task": "chess"}, "task='chess' is not allowed; choose one of: pattern_echo"),
        ({"num_envs": 0}, "num_envs=0 must be an integer >= 1"),
        ({"learning_rate": -1}, "learning_rate=-1.0 must be a finite number > 0"),
        ({"hidden_dim": "big"}, "hidden_dim='big' is not valid; expected an integer"),
        ({"gamma": 1.5}, "gamma=1.5 must be in [0, 1]"),
        ({"progress": "maybe"}, "progress='maybe' is not valid; expected true or false"),
        ({"hidden_dim": 30}, "hidden_dim=30 must be divisible by num_heads=4"),
        ({"episode_length": 2}, "rollout_steps=1 must be a multiple of episode_length=2"),
        ({"split": "test"}, "split is only for numeric_relation, counting"),
        ({"algorithm": "ppo", "value_head": False}, "needs value_head=true"),
        ({"action_head": "tree"}, "action_head='tree' is not allowed; choose one of: flat, digits"),
        ({"weight_decay": -0.1}, "weight_decay=-0.1 must be a finite number >= 0"),
        ({"digit_max_shift": 5}, "digit_max_shift=5 must be None or an integer in 0..4"),
    ],
)
def test_bad_values_name_the_value_and_what_is_allowed(values, message):
    with pytest.raises(ConfigError) as info:
        config_from_dict(values).validate()
    assert message in str(info.value)


def test_bad_value_on_the_command_line(capsys):
    assert main(["--algorithm", "dqn", "--progress", "false"]) == 2
    assert "algorithm='dqn' is not allowed" in capsys.readouterr().err


def test_task_accepts_env_ids():
    assert Config(task="WMIL/NumericRelation-v0").validate().task_name == "numeric_relation"


def test_missing_or_malformed_config_file(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    assert main(["--config", str(bad)]) == 2
    assert "must hold a mapping" in capsys.readouterr().err
