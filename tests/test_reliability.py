"""Hostile files, schedulers and inputs (issue 15): each case ends in a one-line error naming
the file, key or value and what to do, or in the documented recovery; no file of another run
ever changes. The LLM server cases are in test_teachers_faults.py."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from agents.cli import load_yaml
from agents.config import RANGES, Config, ConfigError
from agents.evaluate import main as evaluate_main
from agents.train import main as train_main
from agents.training_loop import Trainer, TrainingDiverged
from teachers.generate import main as generate_main
from teachers.replay import ReplayParent

TINY = ["--task", "pattern_echo", "--num_actions", "4", "--num_envs", "8", "--hidden_dim", "16",
        "--num_layers", "1", "--num_heads", "2", "--eval_every", "0", "--eval_episodes", "8",
        "--progress", "false", "--max_steps", "16"]  # fmt: skip
TINY_CONFIG = dict(task="pattern_echo", num_actions=4, num_envs=8, hidden_dim=16,
                   num_layers=1, num_heads=2, eval_every=0, eval_episodes=8, progress=False,
                   max_steps=16)  # fmt: skip


def train_tiny(run_dir: Path, *extra: str) -> None:
    assert train_main([*TINY, "--run_dir", str(run_dir), *extra]) == 0


def hashes(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` -> its SHA-256."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ------------------------------------------------------------------- 1. no data loss


def test_resume_from_a_loose_file_never_writes_into_its_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    train_tiny(run)
    (run / "notes").mkdir()
    shutil.copy(run / "checkpoint.pt", run / "notes" / "backup.pt")
    before = hashes(run)
    assert train_main(["--resume", str(run / "notes" / "backup.pt"), "--max_steps", "32"]) == 0
    assert hashes(run) == before
    assert "into runs" in capsys.readouterr().out
    (new,) = (tmp_path / "runs").iterdir()
    assert load_checkpoint(new)["step"] == 32

    other = tmp_path / "other"
    train_tiny(other)
    before_other = hashes(other)
    loose = str(run / "notes" / "backup.pt")
    assert train_main(["--resume", loose, "--run_dir", str(other)]) == 2
    err = capsys.readouterr().err
    assert f"run directory {str(other)!r} already holds a run" in err and "new or empty" in err
    assert hashes(other) == before_other and hashes(run) == before
    assert train_main(["--resume", loose, "--run_dir", str(tmp_path / "named")]) == 0
    assert load_checkpoint(tmp_path / "named")["step"] == 16


def test_a_directory_of_a_run_killed_before_its_first_checkpoint_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("task: pattern_echo\n")
    (run / "events.out.tfevents.1.host").write_bytes(b"\x00")
    before = hashes(run)
    assert train_main([*TINY, "--run_dir", str(run)]) == 2
    err = capsys.readouterr().err
    assert "already holds a run (config.yaml, events.out.tfevents.1.host)" in err
    assert f"--resume {run}" in err and hashes(run) == before


# ------------------------------------------------------------------- 2. silent corruption


def flip_a_tensor_byte(path: Path) -> None:
    """Flip one byte inside the largest tensor stored in the checkpoint's zip archive."""
    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if "/data/" in i.filename),
                   key=lambda i: i.file_size)  # fmt: skip
    data = bytearray(path.read_bytes())
    name_length = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_length = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_length + extra_length
    data[start + info.file_size // 2] ^= 0x40
    path.write_bytes(bytes(data))


def test_a_flipped_byte_fails_the_checksum_everywhere(tmp_path, capsys):
    run = tmp_path / "run"
    train_tiny(run)
    flip_a_tensor_byte(run / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="fails its checksum"):
        load_checkpoint(run)
    before = hashes(run)
    assert train_main(["--resume", str(run), "--max_steps", "32"]) == 2
    assert "fails its checksum" in capsys.readouterr().err
    assert evaluate_main(["--checkpoint", str(run), "--episodes", "4"]) == 2
    assert "fails its checksum" in capsys.readouterr().err
    assert hashes(run) == before


def edited(ck: dict, change) -> dict:
    payload = {k: v for k, v in ck.items() if k not in ("format", "version", "checksum", "path")}
    change(payload)
    return payload


@pytest.mark.parametrize(
    "case, change, message",
    [
        ("empty", None, "is empty (0 bytes)"),
        ("config", lambda p: p["config"].update(hidden_dim=32, num_heads=2), "does not fit"),
        ("missing", lambda p: p.pop("rng"), "lacks the key 'rng'"),
        ("rng", lambda p: p["rng"].update(torch=torch.zeros(3, dtype=torch.uint8)), "does not fit"),
        ("nan", lambda p: next(iter(p["model"].values())).fill_(float("nan")), "NaN or infinite"),
    ],
)
def test_bad_checkpoints_are_one_line_errors_on_resume(tmp_path, capsys, case, change, message):
    run = tmp_path / "run"
    train_tiny(run)
    if change is None:
        (run / "checkpoint.pt").write_bytes(b"")
    else:
        save_checkpoint(run / "checkpoint.pt", edited(load_checkpoint(run), change))
    assert train_main(["--resume", str(run), "--max_steps", "32"]) == 2
    err = capsys.readouterr().err
    assert message in err and str(run / "checkpoint.pt") in err and len(err.splitlines()) == 1
    if case == "nan":
        assert evaluate_main(["--checkpoint", str(run), "--episodes", "4"]) == 2
        assert "NaN or infinite weights" in capsys.readouterr().err


def test_leftover_temp_files_are_removed_on_the_next_save(tmp_path):
    stale = tmp_path / ".checkpoint.pt.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    save_checkpoint(tmp_path / "checkpoint.pt", {"config": {}, "model": {}, "step": 0})
    assert not stale.exists() and load_checkpoint(tmp_path)["step"] == 0


# ------------------------------------------------------------------- 3. SIGTERM


def test_sigterm_finishes_the_update_saves_and_exits_143(tmp_path):
    run = tmp_path / "run"
    argv = [*TINY[:-1], "1000000000", "--run_dir", str(run), "--checkpoint_every", "0"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "agents.train", *argv]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert "training in" in process.stdout.readline()
        deadline = time.monotonic() + 15
        while not list(run.glob("events.out.tfevents*")) and time.monotonic() < deadline:
            time.sleep(0.1)  # train() has started (its handlers are installed)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 143, out
    assert "SIGTERM: stopping at the end of this update and saving" in out
    assert "continue with: python -m agents.train --resume" in out
    summary = json.loads((run / "summary.json").read_text())
    assert summary["finished"] is False and summary["stop_reason"] == "received SIGTERM"
    assert load_checkpoint(run)["step"] == summary["steps"] > 0


# ------------------------------------------------------------------- 4. full disk, bad places


def test_a_full_disk_during_a_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    train_tiny(run)
    before = hashes(run)

    def no_space(obj, fh):
        fh.write(b"PK\x03\x04")
        raise RuntimeError("[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed")

    monkeypatch.setattr(torch, "save", no_space)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10, 10, 0))
    assert train_main(["--resume", str(run), "--max_steps", "32"]) == 1
    err = capsys.readouterr().err
    assert "cannot write checkpoint" in err and "the disk is full (0 MiB free)" in err
    monkeypatch.undo()
    assert load_checkpoint(run)["step"] == 16
    assert not list(run.rglob("*.tmp"))
    assert {k: v for k, v in hashes(run).items() if k.startswith("checkpoint")} == {
        k: v for k, v in before.items() if k.startswith("checkpoint")
    }


def test_output_places_are_checked_before_the_work(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert train_main([*TINY, "--run_dir", str(afile)]) == 2
    assert f"run directory {str(afile)!r} is a file" in capsys.readouterr().err
    run = tmp_path / "run"
    train_tiny(run)
    start = time.perf_counter()
    assert evaluate_main(["--checkpoint", str(run), "--json", str(tmp_path)]) == 2
    assert f"--json file {str(tmp_path)!r} is a directory" in capsys.readouterr().err
    assert time.perf_counter() - start < 5  # refused before evaluating
    argv = ["--task", "pattern_echo", "--count", "2", "--out", str(tmp_path), "--offline"]
    assert generate_main(argv) == 2
    assert f"--out file {str(tmp_path)!r} is a directory" in capsys.readouterr().err


# ------------------------------------------------------------------- 6. replay files


def instance_lines(tmp_path: Path, count: int = 3, num_actions: int = 8) -> list[str]:
    out = tmp_path / "made.jsonl"
    argv = ["--task", "pattern_echo", "--count", str(count), "--out", str(out), "--offline",
            "--num_actions", str(num_actions)]  # fmt: skip
    assert generate_main(argv) == 0
    return out.read_text().splitlines()


@pytest.mark.parametrize(
    "bad, message",
    [
        (b"5", "a line must be a JSON object (an instance), not 5"),
        (b"null", "a line must be a JSON object (an instance), not null"),
        (b'"text"', 'a line must be a JSON object (an instance), not "text"'),
        (b'{"task": "pattern_echo", \xff}', "not UTF-8 text (byte 25)"),
        (None, "format 'wmil-instances/99' is not 'wmil-instances/1'"),
    ],
)
def test_bad_replay_lines_name_the_file_and_line(tmp_path, bad, message):
    lines = instance_lines(tmp_path)
    if bad is None:
        bad = lines[1].replace("wmil-instances/1", "wmil-instances/99").encode()
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join([lines[0].encode(), bad, lines[2].encode()]) + b"\n")
    with pytest.raises(ValueError) as error:
        ReplayParent(path)
    assert str(error.value).startswith(f"{path}:2: ") and message in str(error.value)


def test_a_replay_file_for_other_num_actions_is_refused(tmp_path):
    path = tmp_path / "eight.jsonl"
    path.write_text("\n".join(instance_lines(tmp_path, num_actions=8)) + "\n")
    env = gym.make("WMIL/PatternEcho-v0", parent=f"replay:{path}", num_actions=16)
    with pytest.raises(ValueError, match=r"eight.jsonl:1: written for num_actions=8, but the env"):
        env.reset(seed=0)


# ------------------------------------------------------------------- 7. config bounds


@pytest.mark.parametrize(
    "key, value",
    [("num_envs", 10**9), ("hidden_dim", 10**6), ("ff_dim", 10**9), ("vq_codes", 10**9),
     ("episode_length", 10**9), ("torch_threads", 100_000), ("num_layers", 10**5),
     ("eval_episodes", 10**9), ("update_epochs", 10**9), ("max_steps", 10**21),
     ("seed", 10**29), ("adam_eps", 1e300), ("learning_rate", 1e6)],
)  # fmt: skip
def test_numeric_keys_have_ranges(key, value, capsys):
    with pytest.raises(ConfigError) as error:
        Config(**{key: value}).validate()
    low, high = RANGES[key]
    assert str(error.value).startswith(f"{key}={value!r} is outside its allowed range")
    assert f"{low:,}..{high:,}" in str(error.value)
    assert train_main(["--task", "pattern_echo", f"--{key}", str(value)]) == 2
    assert f"{key}=" in capsys.readouterr().err


def test_a_model_too_large_for_memory_is_refused():
    with pytest.raises(ConfigError, match="the model would have about .* parameters"):
        Config(hidden_dim=8192, num_layers=64, num_heads=8).validate()


def test_a_diverging_run_stops_naming_the_step_and_keeps_the_last_checkpoint(tmp_path):
    cfg = Config(**{**TINY_CONFIG, "max_steps": 64, "checkpoint_every": 16})
    trainer = Trainer(cfg, tmp_path / "run")
    original = trainer.algo.update

    def diverging(rollout):
        metrics = original(rollout)
        if trainer.step >= 24:  # the update that ends at step 32
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(float("inf"))
        return metrics

    trainer.algo.update = diverging
    with pytest.raises(TrainingDiverged) as error:
        trainer.train()
    message = str(error.value)
    assert message.startswith("training diverged at step 24: the weights became NaN or infinite")
    assert "learning rate (0.002) is probably too high" in message
    assert load_checkpoint(tmp_path / "run")["step"] == 16  # the last good one


# ------------------------------------------------------------------- 8. small leniencies


def test_env_inputs_are_checked_strictly():
    env = gym.make("WMIL/PatternEcho-v0", num_actions=4)
    env.reset(seed=0)
    for action in (True, np.bool_(True), np.array([[3]])):
        with pytest.raises(ValueError, match="outside the action space Discrete"):
            env.step(action)
    with pytest.raises(TypeError, match="difficulty must be an integer, got True"):
        gym.make("WMIL/PatternEcho-v0", difficulty=True)
    for options in (5, "junk"):
        with pytest.raises(TypeError, match="reset options must be a dict"):
            env.reset(options=options)
    with pytest.raises(ValueError, match=r"relations=\[\] is empty; choose at least one"):
        gym.make("WMIL/NumericRelation-v0", relations=[])


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is not UTF-8 text"),
        (b"seed: 1\nseed: 2\n", "duplicate key 'seed' (it is given twice)"),
        (b"", "is empty; give it config keys, or leave out --config"),
    ],
)
def test_config_files_that_would_mislead(tmp_path, content, message, capsys):
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=f"config file {str(path)!r}"):
        load_yaml(path)
    assert train_main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1


def test_llm_configuration_errors_are_one_line_in_the_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("WMIL_LLM_CACHE_DIR", str(tmp_path / "cache"))
    argv = [*TINY, "--parent", "openai:some-model", "--run_dir", str(tmp_path / "a")]
    assert train_main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: OPENAI_API_KEY is not set") and len(err.splitlines()) == 1
    monkeypatch.setenv("WMIL_LLM_MODE", "replay")
    argv = [*TINY, "--parent", "openai:some-model", "--run_dir", str(tmp_path / "b")]
    assert train_main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: replay mode: no cached") and len(err.splitlines()) == 1
