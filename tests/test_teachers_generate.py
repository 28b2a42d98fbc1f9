"""Offline data generation (with and without an LLM) and training from the file (replay:PATH)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import llm_server
import numpy as np
import pytest

from teachers import ReplayParent
from teachers.generate import main

ROOT = Path(__file__).resolve().parents[1]

llm_server_session = llm_server.llm_server_session  # the fixtures this module uses
server = llm_server.server


def lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_offline_cli_writes_the_documented_format(tmp_path):
    out = tmp_path / "data" / "x.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "teachers.generate",
        "--task",
        "numeric_relation",
        "--count",
        "20",
        "--out",
        str(out),
        "--offline",
        "--level",
        "1",
    ]
    done = subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    records = lines(out)
    assert len(records) == 20
    first = records[0]
    assert first["format"] == "wmil-instances/1" and first["source"] == "rules"
    assert set(first) >= {"task", "level", "num_actions", "fields", "answer", "question", "checks"}
    assert all(r["answer"] == r["checks"]["rule_answer"] for r in records)


def test_bad_cli_input_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--task", "chess", "--count", "1", "--out", str(tmp_path / "x")])
    assert "invalid choice: 'chess'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--task", "counting", "--count", "1", "--out", str(tmp_path / "x"), "--level", "7"])
    assert "difficulty=7 is not a level of counting" in capsys.readouterr().err


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("lie", [False, True])
def test_llm_generation_with_critic(server, tmp_path, monkeypatch, provider, lie):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-x")
    url = server.openai_url if provider == "openai" else server.anthropic_url
    server.default = "lie" if lie else "ok"
    out = tmp_path / "llm.jsonl"
    argv = [
        "--task",
        "conditional",
        "--count",
        "6",
        "--out",
        str(out),
        "--level",
        "3",
        "--provider",
        provider,
        "--model",
        "fake",
        "--base-url",
        url,
        "--critic",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--concurrency",
        "3",
    ]
    assert main(argv) == 0
    records = lines(out)
    assert len(records) == 6
    assert all(r["answer"] == r["checks"]["rule_answer"] for r in records)  # strict
    if lie:  # wrong answers disagree with the rules; the critic rejects them all
        assert all(r["source"] == "rules" and r["checks"]["critic"] == "rejected" for r in records)
    else:
        assert all(r["source"] == "llm" and r["checks"]["critic"] == "accepted" for r in records)
        assert all(r["checks"]["agreed"] for r in records)
    # the file trains deterministically
    runs = []
    for _ in range(2):
        env = gym.make("WMIL/Conditional-v0", parent=f"replay:{out}", difficulty=3)
        obs = [env.reset(seed=s)[0].tolist() for s in range(5)]
        runs.append(obs)
    assert runs[0] == runs[1]


def test_replay_parent_episode_and_errors(tmp_path):
    out = tmp_path / "d.jsonl"
    main(["--task", "counting", "--count", "10", "--out", str(out), "--offline", "--level", "2"])
    envs = gym.make_vec("WMIL/Counting-v0", num_envs=4, parent=f"replay:{out}", difficulty=2)
    envs.reset(seed=0)
    _, rewards, *_, infos = envs.step(envs.unwrapped.oracle())
    assert rewards.tolist() == [1.0] * 4 and infos["parent"]["disagreements"] == 0
    with pytest.raises(ValueError, match=r"no counting instances at level 0.*\('counting', 2\)"):
        gym.make("WMIL/Counting-v0", parent=f"replay:{out}").reset(seed=0)
    records = lines(out)
    records[3]["fields"]["n"] = 250
    out.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(ValueError, match=r"d.jsonl:4: not a valid counting instance.*n=250"):
        ReplayParent(out).generate(envs.unwrapped.task, np.random.default_rng(0), 2, 2)
    out.write_text("{not json\n")
    with pytest.raises(ValueError, match="d.jsonl:1: not JSON"):
        ReplayParent(out)
