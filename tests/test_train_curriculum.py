"""Training with a curriculum (``--curriculum``): the trainer drives wmil_envs'
CurriculumManager through VectorCurriculumWrapper, logs the level, writes the level history to
summary.json, checkpoints the manager and resumes exactly. Short seeded runs on PatternEcho,
whose levels are easy (targets from the first 1/4, 1/2, then all of the actions)."""

import json

import pytest
import torch

from agents.checkpoint import load_checkpoint
from agents.cli import parse_flags
from agents.config import Config, ConfigError, config_from_dict
from agents.train import main as train_main
from agents.training_loop import Trainer
from wmil_envs.wrappers import VectorCurriculumWrapper

# A small, fast learner: it masters each PatternEcho level in a few hundred steps.
EASY = dict(task="pattern_echo", num_actions=8, num_envs=32, progress=False, eval_every=0,
            eval_episodes=256, torch_threads=1, curriculum=True, curriculum_window=64,
            learning_rate=0.005, world_model_head=False, vq_head=False, value_head=False,
            hidden_dim=32, num_layers=1)  # fmt: skip
EASY_FLAGS = [f"--{k}={v}" for k, v in EASY.items()]
HISTORY_KEYS = ("step", "episode", "from_level", "to_level", "reason", "success_rate")


def run(tmp_path, name="run", **overrides):
    trainer = Trainer(Config(**{**EASY, **overrides}), tmp_path / name)
    return trainer, trainer.train()


def test_curriculum_climbs_to_the_top_level_and_writes_the_history(tmp_path):
    trainer, summary = run(tmp_path, max_steps=2560)
    assert isinstance(trainer.envs, VectorCurriculumWrapper)
    cur = summary["curriculum"]
    assert cur["settings"]["schedule"] == [0, 1, 2] and cur["settings"]["window_size"] == 64
    assert cur["settings"]["mastery_threshold"] == 0.8
    assert cur["level"] == cur["max_level"] == 2 and cur["reached_max_level"]
    assert [(h["from_level"], h["to_level"], h["reason"]) for h in cur["history"]] == [
        (0, 1, "promoted"),
        (1, 2, "promoted"),
    ]
    steps = [h["step"] for h in cur["history"]]
    assert 0 < steps[0] < steps[1] <= 2560 and all(s % 32 == 0 for s in steps)
    for entry in cur["history"]:
        assert entry["success_rate"] >= 0.8 and entry["cpu_seconds"] >= 0
    assert list(cur["level_reached"]) == ["0", "1", "2"]
    assert cur["level_reached"]["2"]["step"] == steps[1]
    # the final greedy evaluation is at the top level, and the summary says so
    assert summary["target_level"] == 2 and summary["target_greedy_success"] is not None
    assert summary["greedy_evals"][-1]["difficulty"] == 2
    assert summary["cpu_seconds"] > 0
    assert load_checkpoint(tmp_path / "run")["level"] == 2

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    levels = EventAccumulator(str(tmp_path / "run")).Reload().Scalars("curriculum/level")
    assert [e.value for e in levels][0] == 0 and max(e.value for e in levels) == 2
    change = next(e.step for e in levels if e.value == 1)
    assert change == steps[0]  # logged at the update in which the level changed


def test_target_level_is_evaluated_when_the_curriculum_has_not_reached_it(tmp_path):
    _, summary = run(tmp_path, max_steps=320)
    assert summary["curriculum"]["level"] < 2 and not summary["curriculum"]["reached_max_level"]
    assert summary["greedy_evals"][-1]["difficulty"] == summary["curriculum"]["level"]
    assert summary["target_level"] == 2 and 0 <= summary["target_greedy_success"] <= 1


def test_without_curriculum_the_target_is_the_difficulty(tmp_path):
    _, summary = run(tmp_path, max_steps=64, curriculum=False, difficulty=1)
    assert summary["curriculum"] is None
    assert summary["target_level"] == 1
    assert summary["target_greedy_success"] == summary["final_greedy_success"]


def test_schedule_and_max_level(tmp_path):
    _, summary = run(tmp_path, max_steps=1600, curriculum_schedule=[0, 2])
    cur = summary["curriculum"]
    assert cur["settings"]["schedule"] == [0, 2] and cur["history"][0]["to_level"] == 2
    _, summary = run(tmp_path, "capped", max_steps=64, curriculum_max_level=1)
    assert summary["curriculum"]["settings"]["schedule"] == [0, 1]
    assert summary["target_level"] == 1


def test_resume_with_curriculum_is_exact(tmp_path):
    whole, _ = run(tmp_path, "whole", max_steps=1920, checkpoint_every=960)
    # the parts: 960 steps (one level change before the stop), then resumed to 1920
    assert train_main([*EASY_FLAGS, "--max_steps", "960", "--checkpoint_every", "960",
                       "--run_dir", str(tmp_path / "parts")]) == 0  # fmt: skip
    middle = load_checkpoint(tmp_path / "parts")
    assert middle["curriculum"]["level"] == 1 and len(middle["curriculum"]["history"]) == 1
    assert train_main(["--resume", str(tmp_path / "parts"), "--max_steps", "1920"]) == 0
    a, b = load_checkpoint(tmp_path / "whole"), load_checkpoint(tmp_path / "parts")
    assert a["step"] == b["step"] == 1920
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert a["curriculum"] == b["curriculum"]
    assert len(a["curriculum"]["history"]) == 2  # the second change came after the resume
    summaries = [
        json.loads((tmp_path / n / "summary.json").read_text()) for n in ("whole", "parts")
    ]
    histories = [[{k: h[k] for k in HISTORY_KEYS} for h in s["curriculum"]["history"]]
                 for s in summaries]  # fmt: skip
    assert histories[0] == histories[1]
    assert summaries[0]["target_greedy_success"] == summaries[1]["target_greedy_success"]
    assert summaries[1]["cpu_seconds"] > middle["cpu_seconds"] > 0


def test_resume_refuses_to_change_the_curriculum(tmp_path, capsys):
    run(tmp_path, max_steps=64)
    assert train_main(["--resume", str(tmp_path / "run"), "--curriculum_threshold", "0.5"]) == 2
    assert "cannot change curriculum_threshold when resuming" in capsys.readouterr().err
    assert train_main(["--resume", str(tmp_path / "run"), "--no-curriculum"]) == 2
    assert "cannot change curriculum when resuming" in capsys.readouterr().err


def test_window_defaults_to_one_update_of_episodes():
    assert Config(curriculum=True).validate().curriculum_kwargs()["window_size"] == 100
    cfg = Config(curriculum=True, num_envs=256, rollout_steps=2).validate()
    assert cfg.curriculum_kwargs()["window_size"] == 512
    assert Config(curriculum_window=7).validate().curriculum_kwargs()["window_size"] == 7


def test_curriculum_flags_and_yaml_values():
    values, _ = parse_flags(["--curriculum", "--curriculum_schedule", "0,2,3",
                             "--curriculum_demotion_threshold", "0.3"])  # fmt: skip
    cfg = config_from_dict({**values, "task": "sequence_next"}).validate()
    assert cfg.curriculum and cfg.curriculum_schedule == [0, 2, 3]
    assert cfg.curriculum_demotion_threshold == 0.3
    cfg = config_from_dict({"curriculum": True, "curriculum_schedule": [0, 1]}).validate()
    assert cfg.curriculum_schedule == [0, 1]


@pytest.mark.parametrize(
    "values, message",
    [
        (
            {"curriculum_threshold": 0},
            "curriculum_threshold=0.0 (the mastery threshold) must be in (0, 1]",
        ),  # fmt: skip
        ({"curriculum_threshold": 1.5}, "curriculum_threshold=1.5"),
        ({"curriculum_window": 0}, "curriculum_window=0 must be None or an integer >= 1"),
        (
            {"curriculum_demotion_threshold": 0.8},
            "curriculum_demotion_threshold=0.8 must be None or in (0, curriculum_threshold=0.8)",
        ),
        ({"curriculum_min_episodes": -1}, "curriculum_min_episodes=-1 must be an integer >= 0"),
        ({"curriculum_schedule": []}, "curriculum_schedule=[] must name at least one level"),
        (
            {"curriculum_schedule": "0,x"},
            "curriculum_schedule='0,x' is not valid; expected a list of integers",
        ),  # fmt: skip
        ({"curriculum_schedule": [0, 1.5]}, "expected a list of integers"),
        (
            {"curriculum_schedule": [0, 7]},
            "curriculum_schedule[1]=7 is not a level of pattern_echo; its levels are 0, 1, 2",
        ),
        ({"curriculum_schedule": [0, 1, 1]}, "curriculum_schedule [0, 1, 1] names a level twice"),
        (
            {"curriculum_schedule": [1, 2]},
            "difficulty=0 is not in curriculum_schedule [1, 2] (with curriculum on, difficulty is "
            "the level it starts at)",
        ),
        (
            {"curriculum_max_level": 5},
            "curriculum_max_level=5 is not a level of pattern_echo; its levels are 0, 1, 2",
        ),
        (
            {"curriculum_schedule": [0, 2], "curriculum_max_level": 1},
            "curriculum_max_level=1 is not in curriculum_schedule [0, 2]",
        ),
    ],
)
def test_bad_curriculum_settings_name_the_key(values, message):
    with pytest.raises(ConfigError) as info:
        config_from_dict({"curriculum": True, **values}).validate()
    assert message in str(info.value)


def test_levels_the_action_space_cannot_hold_are_refused(capsys):
    # SequenceNext with 8 actions has levels 0 and 1 only (level 2's answers need 10 actions)
    cfg = Config(task="sequence_next", num_actions=8, curriculum=True, curriculum_max_level=2,
                 progress=False)  # fmt: skip
    with pytest.raises(ConfigError, match="curriculum_max_level=2 cannot be used here"):
        Trainer(cfg, "unused")
    assert train_main(["--task", "sequence_next", "--num_actions", "8", "--curriculum",
                       "--curriculum_max_level", "2", "--progress", "false"]) == 2  # fmt: skip
    assert "curriculum_max_level=2 cannot be used here" in capsys.readouterr().err
    # without an explicit max level, the top level is the highest that fits
    trainer = Trainer(Config(task="sequence_next", num_actions=8, curriculum=True), "unused")
    assert trainer.target_level == 1
    trainer.envs.close()


@pytest.mark.parametrize(
    "path, task, top", [("configs/curriculum_sequence_next.yaml", "sequence_next", 4),
                        ("configs/curriculum_conditional.yaml", "conditional", 3)],
)  # fmt: skip
def test_shipped_curriculum_configs(path, task, top):
    from agents.cli import load_yaml

    cfg = config_from_dict(load_yaml(path)).validate()
    assert (cfg.task, cfg.num_actions, cfg.curriculum, cfg.difficulty) == (task, 16, True, 0)
    assert cfg.curriculum_threshold == 0.8 and cfg.torch_threads == 1
    trainer = Trainer(cfg, "unused")
    assert trainer.curriculum.schedule == list(range(top + 1)) and trainer.target_level == top
    trainer.envs.close()
