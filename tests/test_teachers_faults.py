"""Every fault, for both SDKs, ends in its documented outcome (see teachers.llm)."""

from __future__ import annotations

import socket

import gymnasium as gym
import llm_server
import pytest
from gymnasium.utils.seeding import np_random

from teachers import AnthropicParent, OpenAIParent, ParentError
from wmil_envs import StateBatch

PROVIDERS = {"openai": OpenAIParent, "anthropic": AnthropicParent}

llm_server_session = llm_server.llm_server_session  # the fixtures this module uses
server = llm_server.server


@pytest.fixture(params=["openai", "anthropic"])
def make(request, server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    provider = request.param

    def build(**kwargs):
        url = server.openai_url if provider == "openai" else server.anthropic_url
        settings = {
            "base_url": url,
            "cache_dir": tmp_path / "cache",
            "max_retries": 1,
            "timeout": 0.3,
            "mode": "record",
            "roles": "reward",
        }
        settings.update(kwargs)
        return PROVIDERS[provider](model="fake-model", **settings)

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
