"""LLM parents end to end: real openai / anthropic clients against a local fake server."""

from __future__ import annotations

import pickle

import gymnasium as gym
import llm_server
import numpy as np
import pytest

import wmil_envs
from teachers import (
    AnthropicParent,
    CacheMiss,
    OpenAIParent,
    ParentError,
    ReplayParent,
    make_parent,
)

PROVIDERS = {"openai": OpenAIParent, "anthropic": AnthropicParent}
SECRET = {"openai": "sk-test-SECRET-openai-123", "anthropic": "sk-ant-SECRET-456"}

llm_server_session = llm_server.llm_server_session  # the fixtures this module uses
server = llm_server.server


@pytest.fixture(params=["openai", "anthropic"])
def provider(request):
    return request.param


@pytest.fixture
def make(server, provider, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET["openai"])
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET["anthropic"])
    return llm_server.parent_builder(server, provider, tmp_path / "cache")


def run_episode(env, seed=0):
    obs, _ = env.reset(seed=seed)
    trace = [obs.tolist()]
    for k in range(env.unwrapped.episode_length):
        good = env.unwrapped.oracle()
        action = good if k == 0 else (good + 1) % env.action_space.n
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((obs.tolist(), reward, terminated, info["success"]))
    return trace, info


QUESTION_ENV_IDS = [
    env_id
    for env_id, name in wmil_envs.TASK_OF_ID.items()
    if not wmil_envs.tasks.TASKS[name].has_dynamics
]
"""The question tasks' ids; the worlds' episodes are tested in test_teachers_worlds.py."""


@pytest.mark.parametrize("env_id", QUESTION_ENV_IDS)
def test_episode_of_every_question_env(make, env_id):
    parent = make()
    env = gym.make(env_id, parent=parent, episode_length=2)
    trace, info = run_episode(env)
    assert [step[1] for step in trace[1:]] == [1.0, 0.0]
    assert trace[-1][2] is True
    stats = info["parent"]
    assert stats["calls"] == 5 and stats["fallbacks"] == 0 and stats["disagreements"] == 0
    assert stats["checked"] == 5 and stats["mean_latency_s"] > 0


def test_spec_string_through_gym_make(server, provider, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "x")
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.anthropic_url)
    monkeypatch.setenv("WMIL_LLM_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("WMIL_LLM_POLICY", "advisory")
    env = gym.make("WMIL/NumericRelation-v0", parent=f"{provider}:fake-model")
    parent = env.unwrapped.parent
    assert isinstance(parent, PROVIDERS[provider]) and parent.policy == "advisory"
    _, info = run_episode(env)
    assert info["parent"]["calls"] == 3


def test_vector_env_calls_concurrently_within_limit(make, server):
    server.delay = 0.15
    envs = gym.make_vec("WMIL/PatternEcho-v0", num_envs=8, parent=make(concurrency=4))
    envs.reset(seed=0)
    _, rewards, *_, infos = envs.step(envs.unwrapped.oracle())
    assert rewards.tolist() == [1.0] * 8
    assert 2 <= server.max_inflight <= 4
    assert infos["parent"]["calls"] + infos["parent"]["cache_hits"] == 24  # repeats hit


def test_record_then_replay_is_identical_and_offline(make, server, tmp_path):
    env = gym.make("WMIL/Conditional-v0", parent=make(), episode_length=2, difficulty=3)
    recorded, _ = run_episode(env, seed=7)
    seen = len(server.requests)
    replay = make(mode="replay")  # the recording's server: answers are per server
    env = gym.make("WMIL/Conditional-v0", parent=replay, episode_length=2, difficulty=3)
    replayed, info = run_episode(env, seed=7)
    assert replayed == recorded and len(server.requests) == seen  # offline: no request
    assert info["parent"]["cache_hits"] == 5 and info["parent"]["calls"] == 0
    with pytest.raises(CacheMiss, match="replay mode: no cached 'instance' answer"):
        env.reset(seed=8)


def test_record_mode_reuses_cache(make, server):
    for _ in range(2):
        env = gym.make("WMIL/PatternEcho-v0", parent=make())
        run_episode(env, seed=3)
    assert len(server.requests) == 3


def test_live_mode_never_touches_cache(make, tmp_path):
    env = gym.make("WMIL/PatternEcho-v0", parent=make(mode="live"))
    run_episode(env)
    assert not (tmp_path / "cache").exists()


def test_keys_and_urls_never_reach_cache_or_repr(make, server, tmp_path, provider):
    parent = make()
    env = gym.make("WMIL/Counting-v0", parent=parent, episode_length=2)
    run_episode(env)
    files = list((tmp_path / "cache").rglob("*"))
    assert files
    text = "".join(f.read_text() for f in files if f.is_file()) + repr(parent)
    text += str(parent.stats())
    for needle in (*SECRET.values(), f"127.0.0.1:{server.port}"):
        assert needle not in text
    assert not any(s.encode() in pickle.dumps(parent) for s in SECRET.values())


@pytest.mark.parametrize("policy", ["strict", "advisory", "off"])
def test_validator_policies_with_a_lying_server(make, server, policy):
    server.default = "lie"
    parent = make(policy=policy)
    env = gym.make("WMIL/NumericRelation-v0", parent=parent, episode_length=2)
    env.reset(seed=1)
    state = env.unwrapped.state
    rule_answer = int(state.task.answer({k: np.asarray([v]) for k, v in state.fields.items()})[0])
    oracle = env.unwrapped.oracle()
    _, reward, _, _, info = env.step(rule_answer)
    stats = info["parent"]
    if policy == "strict":
        assert oracle == rule_answer and reward == 1.0
        assert stats["disagreements"] == 3 and stats["disagreement_rate"] == 1.0
        assert env.unwrapped.state.feedback == wmil_envs.vocab.CORRECT
    elif policy == "advisory":
        # the lying instance's answer is the LLM's; judged by the (lying) LLM, then fed back
        assert oracle != rule_answer
        assert stats["disagreements"] == 3 and stats["checked"] == 3
    else:
        assert stats["checked"] == 0 and stats["disagreement_rate"] == 0.0


def test_roles_limit_which_calls_go_to_the_llm(make, server):
    env = gym.make("WMIL/PatternEcho-v0", parent=make(roles="reward"))
    _, info = run_episode(env)
    assert info["parent"]["calls"] == 1
    assert [
        r["body"].get("tools", [{}])[0].get("name")
        or r["body"]["response_format"]["json_schema"]["name"]
        for r in server.requests
    ] == ["reward"]


def test_pickle_round_trip(make):
    parent = pickle.loads(pickle.dumps(make()))
    env = gym.make("WMIL/PatternEcho-v0", parent=parent)
    _, info = run_episode(env)
    assert info["parent"]["calls"] == 3


def test_bad_settings_name_value_and_allowed(tmp_path):
    with pytest.raises(ValueError, match="mode='fast'.*live, record, replay"):
        OpenAIParent("m", mode="fast", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="policy='lenient'.*strict, advisory, off"):
        AnthropicParent("m", policy="lenient", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="concurrency=0 must be >= 1"):
        OpenAIParent("m", concurrency=0, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="role='judge'"):
        OpenAIParent("m", roles="judge", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="model must be a non-empty string"):
        OpenAIParent("", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown parent provider 'gemini'"):
        make_parent("gemini:pro")
    with pytest.raises(ValueError, match="needs a model name"):
        make_parent("openai:")
    with pytest.raises(FileNotFoundError, match="teachers.generate"):
        make_parent("replay:/nonexistent/x.jsonl")
    with pytest.raises(ValueError, match="unknown parent 'openai'"):
        gym.make("WMIL/PatternEcho-v0", parent="openai")


def test_missing_key_is_a_clear_error(server, tmp_path, monkeypatch, provider):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    parent = PROVIDERS[provider]("m", base_url=server.openai_url, cache_dir=tmp_path)
    env = gym.make("WMIL/PatternEcho-v0", parent=parent)
    with pytest.raises(ParentError, match=f"{provider.upper()}_API_KEY is not set"):
        env.reset(seed=0)


def test_make_parent_replay(tmp_path):
    from teachers.generate import main

    out = tmp_path / "d.jsonl"
    assert main(["--task", "pattern_echo", "--count", "5", "--out", str(out), "--offline"]) == 0
    assert isinstance(make_parent(f"replay:{out}"), ReplayParent)
    np.testing.assert_equal(len(out.read_text().splitlines()), 5)
