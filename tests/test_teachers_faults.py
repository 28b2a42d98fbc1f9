"""Every fault, for both SDKs, ends in its documented outcome (see teachers.llm)."""

from __future__ import annotations

import errno
import json
import socket
import time

import gymnasium as gym
import llm_server
import pytest
from gymnasium.utils.seeding import np_random

from teachers import CacheMiss, DiskCache, ParentError
from wmil_envs import StateBatch

llm_server_session = llm_server.llm_server_session  # the fixtures this module uses
server = llm_server.server


@pytest.fixture(params=["openai", "anthropic"])
def make(request, server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    provider = request.param
    build = llm_server.parent_builder(
        server, provider, tmp_path / "cache", max_retries=1, timeout=0.3, roles="reward"
    )
    build.provider = provider
    return build


def one_reward(parent, tmp_path):
    """One rewarded step (only the reward goes to the LLM): the agent answers correctly."""
    env = gym.make("WMIL/PatternEcho-v0", parent=parent)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(env.unwrapped.oracle())
    cached = list((tmp_path / "cache").rglob("*.json"))
    return reward, info["parent"], cached


@pytest.mark.parametrize("fault", ["429", "500", "timeout"])
def test_transient_fault_is_retried_by_the_sdk(make, server, tmp_path, fault):
    server.script.extend([fault])
    reward, stats, cached = one_reward(make(), tmp_path)
    assert reward == 1.0 and stats["fallbacks"] == 0 and stats["errors"] == 0
    assert len(server.requests) == 2 and len(cached) == 1


@pytest.mark.parametrize("fault", ["429", "500", "timeout"])
def test_persistent_transient_fault_falls_back_or_raises(make, server, tmp_path, fault):
    server.default = fault
    reward, stats, cached = one_reward(make(max_retries=0), tmp_path)
    assert reward == 1.0  # the rule's answer
    assert stats["fallbacks"] == 1 and stats["errors"] == 1 and cached == []
    with pytest.raises(ParentError, match="no usable 'reward' answer"):
        one_reward(make(max_retries=0, on_error="raise"), tmp_path)


def test_refused_connection(make, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    url = f"http://127.0.0.1:{port}" + ("/v1" if make.provider == "openai" else "")
    reward, stats, cached = one_reward(make(base_url=url, max_retries=0), tmp_path)
    assert reward == 1.0 and stats["fallbacks"] == 1 and stats["errors"] == 1
    with pytest.raises(ParentError, match="APIConnectionError"):
        one_reward(make(base_url=url, max_retries=0, on_error="raise"), tmp_path)


@pytest.mark.parametrize(
    "fault", ["nonjson", "wrong_shape", "schema", "content_nonjson", "refusal"]
)
def test_unusable_answer_is_reasked_then_falls_back(make, server, tmp_path, fault):
    counter = "refusals" if fault == "refusal" else "invalid"
    server.script.extend([fault])
    reward, stats, cached = one_reward(make(), tmp_path)
    assert reward == 1.0 and stats[counter] == 1 and stats["fallbacks"] == 0
    assert len(cached) == 1  # the good second answer

    server.reset()
    server.default = fault
    (tmp_path / "cache").exists() and __import__("shutil").rmtree(tmp_path / "cache")
    reward, stats, cached = one_reward(make(), tmp_path)
    assert reward == 1.0 and stats[counter] == 2 and stats["fallbacks"] == 1
    assert cached == []  # fallbacks are never cached
    with pytest.raises(ParentError, match="no usable 'reward' answer"):
        one_reward(make(on_error="raise"), tmp_path)


@pytest.mark.parametrize("fault", ["400", "401", "404"])
def test_configuration_errors_raise_even_with_fallback(make, server, tmp_path, fault):
    server.default = fault
    with pytest.raises(ParentError, match=f"refused the request with status {fault}"):
        one_reward(make(on_error="fallback"), tmp_path)
    assert len(server.requests) == 1  # not retried


def test_generation_fault_falls_back_to_the_rules_draw(make, server, tmp_path):
    server.default = "schema"
    parent = make(roles="generate,reward,transition")
    env = gym.make("WMIL/Counting-v0", parent=parent)
    obs, _ = env.reset(seed=4)
    task = env.unwrapped.task
    expected = StateBatch.new(task, task.generate(np_random(4)[0], 1, 0)).to_tensor()[0]
    assert parent.stats()["fallbacks"] == 1 and obs.tolist() == expected.tolist()


# --------------------------------------------------------------- misbehaving servers (issue 15)

DEADLINE = 1.0
"""The total deadline per call in these tests; a case may overrun it by the SLACK below."""
SLACK = 1.5


def bounded(make, **kwargs):
    """A parent with a 1 s deadline and 0.05 s retry waits, its SDK already imported."""
    parent = make(deadline=DEADLINE, max_retry_wait=0.05, **kwargs)
    parent._get_client()  # the SDK's import is not the server's fault
    return parent


@pytest.mark.parametrize(
    "fault, message",
    [
        ("bad_utf8", "InvalidAnswer: the reply is not UTF-8 text"),
        ("slow_headers", "no reply within the total deadline of 1 s per call"),
        ("slow_body", "no reply within the total deadline of 1 s per call"),
        ("huge_body", "the reply is larger than the cap of 1,000,000 bytes"),
        ("retry_after", "RateLimitError"),
    ],
)
def test_misbehaving_servers_end_in_fallback_within_the_deadline(make, server, tmp_path,
                                                                 fault, message):  # fmt: skip
    server.default = fault
    start = time.perf_counter()
    reward, stats, cached = one_reward(bounded(make), tmp_path)
    assert time.perf_counter() - start < DEADLINE + SLACK
    assert reward == 1.0 and stats["fallbacks"] == 1 and cached == []  # the rule's answer
    start = time.perf_counter()
    with pytest.raises(ParentError, match="no usable 'reward' answer") as error:
        one_reward(bounded(make, on_error="raise"), tmp_path)
    assert time.perf_counter() - start < DEADLINE + SLACK
    assert message in str(error.value) and f"127.0.0.1:{server.port}" in str(error.value)


def test_retry_after_is_capped_and_retried(make, server, tmp_path):
    server.script.extend(["retry_after"])  # Retry-After: 55, then a good answer
    start = time.perf_counter()
    reward, stats, cached = one_reward(bounded(make), tmp_path)
    assert time.perf_counter() - start < 1.0
    assert reward == 1.0 and stats["fallbacks"] == 0 and len(server.requests) == 2


@pytest.mark.parametrize("setting", ["timeout", "temperature", "deadline", "max_retry_wait"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_settings_are_refused(make, setting, value):
    with pytest.raises(ValueError, match=f"{setting}={value!r} must be a finite number"):
        make(**{setting: value})


def test_a_run_whose_parent_always_falls_back_says_so_and_stops(server, tmp_path, monkeypatch,
                                                                capsys):  # fmt: skip
    from agents.train import main as train_main

    server.default = "429"
    for name, value in {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.openai_url,
                        "WMIL_LLM_CACHE_DIR": str(tmp_path / "cache"), "WMIL_LLM_ROLES": "reward",
                        "WMIL_LLM_MAX_RETRIES": "0"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    run = tmp_path / "run"
    argv = ["--task", "pattern_echo", "--num_actions", "4", "--num_envs", "4", "--hidden_dim",
            "16", "--num_layers", "1", "--num_heads", "2", "--eval_every", "0",
            "--eval_episodes", "4", "--progress", "false", "--max_steps", "64",
            "--parent", "openai:fake-model", "--run_dir", str(run),
            "--max_fallback_rate", "0.5"]  # fmt: skip
    assert train_main(argv) == 1
    err = capsys.readouterr().err
    assert "warning: the LLM parent (openai:fake-model) fell back to the rules for 4 of 4" in err
    assert "above max_fallback_rate=0.5; check the server, then resume" in err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["finished"] is False and summary["steps"] == 4
    assert summary["parent"]["fallbacks"] == summary["parent"]["asked"] == 4
    assert summary["parent"]["fallback_rate"] == 1.0


def test_two_servers_with_the_same_model_never_share_answers(make, server, tmp_path):
    one_reward(make(), tmp_path)  # recorded at 127.0.0.1
    other = server.openai_url if make.provider == "openai" else server.anthropic_url
    other = other.replace("127.0.0.1", "localhost")
    with pytest.raises(CacheMiss, match="replay mode: no cached 'reward' answer"):
        one_reward(make(mode="replay", base_url=other), tmp_path)
    reward, stats, _ = one_reward(make(mode="replay"), tmp_path)  # the same server replays
    assert reward == 1.0 and stats["cache_hits"] == 1
    assert all("127.0.0.1" not in p.read_text() for p in (tmp_path / "cache").rglob("*.json"))


def test_a_corrupt_cache_file_is_named_in_replay_and_rewritten_in_record(make, server, tmp_path):
    one_reward(make(), tmp_path)
    (entry,) = (tmp_path / "cache").rglob("*.json")
    entry.write_bytes(b"\xff{not json")
    with pytest.raises(CacheMiss, match=f"cache file {str(entry)!r} is corrupt"):
        one_reward(make(mode="replay"), tmp_path)
    reward, stats, _ = one_reward(make(), tmp_path)  # record mode asks again
    assert reward == 1.0 and stats["calls"] == 1 and json.loads(entry.read_text())["answer"]


def test_an_unwritable_cache_is_refused_before_any_call_and_a_full_one_keeps_answers(
    make, server, tmp_path, monkeypatch, capsys
):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ValueError, match=r"cannot write to LLM cache directory .*Not a directory"):
        make(cache_dir=afile)
    assert server.requests == []

    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(DiskCache, "put", disk_full)
    parent = make()
    reward, stats, cached = one_reward(parent, tmp_path)
    one_reward(parent, tmp_path)
    assert reward == 1.0 and stats["fallbacks"] == 0 and cached == []  # the LLM's answer
    err = capsys.readouterr().err
    assert err.count("warning: cannot write the LLM cache") == 1 and "No space left" in err
