"""LLM parents in the worlds (NumberWalk, ObjectEdit): real openai / anthropic clients against
the local server, whose answers (true or lying) are checked by the worlds' rules."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import gymnasium as gym
import llm_server
import numpy as np
import pytest

from teachers import AnthropicParent, OpenAIParent, ParentError, prompts
from teachers.generate import main as generate_main
from wmil_envs import DeterministicParent, StateBatch, make_task, vocab

PROVIDERS = {"openai": OpenAIParent, "anthropic": AnthropicParent}
WORLDS = ["WMIL/NumberWalk-v0", "WMIL/ObjectEdit-v0"]
HELD = vocab.token_id("<held>")

llm_server_session = llm_server.llm_server_session  # the fixtures this module uses
server = llm_server.server


@pytest.fixture(params=list(PROVIDERS))
def make(request, server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    return llm_server.parent_builder(server, request.param, tmp_path / "cache")


def start_states(env) -> StateBatch:
    """The episode's start as a fresh batch of one (what the parent generated)."""
    state = env.unwrapped.state
    return StateBatch.new(env.unwrapped.task, {k: np.asarray([v]) for k, v in state.fields.items()})


def play(env, actions_of, seed=0):
    """A full-horizon episode next to the deterministic parent started from the same state:
    [(obs, reward, rule's obs, rule's reward)] per step, and the last info."""
    env.reset(seed=seed)
    rules = DeterministicParent()
    reference = start_states(env)
    steps = []
    for t in range(env.unwrapped.episode_length):
        action = actions_of(t, env)
        obs, reward, terminated, _, info = env.step(action)
        actions = np.array([action])
        rule_reward = rules.reward(reference, actions)
        reference = rules.transition(reference, actions, rule_reward)
        steps.append((obs.tolist(), reward, reference.to_tensor()[0].tolist(), rule_reward[0]))
    assert terminated
    return steps, info


def oracle(t, env):
    return env.unwrapped.oracle()


@pytest.mark.parametrize("env_id", WORLDS)
def test_truthful_llm_episode_equals_the_rules_step_for_step(make, env_id):
    env = gym.make(env_id, parent=make(), difficulty=2)
    steps, info = play(env, oracle)
    assert [s[0] for s in steps] == [s[2] for s in steps]
    assert [s[1] for s in steps] == [s[3] for s in steps]
    # the oracle reaches the goal once, then the object is held to the horizon
    assert sum(s[1] for s in steps) == 1.0 and info["steps_to_goal"] == info["optimal_steps"]
    assert [s[0][-1] for s in steps][info["steps_to_goal"] :] == (
        [HELD] * (len(steps) - info["steps_to_goal"])
    )
    stats = info["parent"]
    assert stats["disagreements"] == 0 and stats["fallbacks"] == 0 and stats["invalid"] == 0
    assert stats["checked"] == 1 + 2 * len(steps)  # instance, then reward and transition


@pytest.mark.parametrize("env_id", WORLDS)
def test_truthful_llm_with_wandering_actions(make, env_id):
    """Actions off the shortest path (including blocked and conditional edits) still match."""
    rng = np.random.default_rng(5)
    env = gym.make(env_id, parent=make(), difficulty=3)
    steps, info = play(env, lambda t, env: int(rng.integers(env.action_space.n)), seed=2)
    assert [s[0] for s in steps] == [s[2] for s in steps]
    assert [s[1] for s in steps] == [s[3] for s in steps]
    assert info["parent"]["disagreements"] == 0


@pytest.mark.parametrize("env_id", WORLDS)
@pytest.mark.parametrize("lie", ["lie", "lie_feedback"])
def test_lying_transitions_rejected_and_counted_under_strict(make, server, env_id, lie):
    server.default = lie
    env = gym.make(env_id, parent=make(roles="transition"), difficulty=2)
    steps, info = play(env, oracle)
    assert [s[0] for s in steps] == [s[2] for s in steps]  # the rules' next states
    stats = info["parent"]  # every next object ("lie") or every feedback is wrong: all counted
    assert stats["checked"] == len(steps) and stats["disagreements"] == len(steps)


@pytest.mark.parametrize("env_id", WORLDS)
def test_lying_transitions_used_under_advisory(make, server, env_id):
    server.default = "lie"
    env = gym.make(env_id, parent=make(roles="transition", policy="advisory"), difficulty=2)
    env.reset(seed=0)
    task = env.unwrapped.task
    before = start_states(env)
    action = np.array([env.unwrapped.oracle()])
    obs, *_, info = env.step(int(action[0]))
    rule_next, target = task.ids(task.transition(before.fields, action))
    lied = task.instance((rule_next + 1) % task.num_objects, target)
    assert obs[1:-2].tolist() == task.question(lied)[0].tolist()  # the LLM's object is shown
    now = {k: np.asarray([v]) for k, v in env.unwrapped.state.fields.items()}
    assert task.ids(now)[0][0] == (rule_next[0] + 1) % task.num_objects
    assert info["parent"]["disagreements"] == 1 and info["parent"]["checked"] == 1


@pytest.mark.parametrize("env_id", WORLDS)
def test_lying_rewards_rejected_under_strict(make, server, env_id):
    server.default = "lie"
    env = gym.make(env_id, parent=make(roles="reward"), difficulty=1)
    steps, info = play(env, oracle)
    assert [s[1] for s in steps] == [s[3] for s in steps] and sum(s[1] for s in steps) == 1.0
    assert info["parent"]["disagreements"] == len(steps)


@pytest.mark.parametrize(
    ("env_id", "level", "fault", "problem"),
    [
        ("WMIL/NumberWalk-v0", 0, "off_level", "above the maximum 9|not a level-0 pair"),
        ("WMIL/NumberWalk-v0", 2, "off_level", "not a level-2 pair of split 'train'"),
        ("WMIL/NumberWalk-v0", 2, "off_split", "not a level-2 pair of split 'train'"),
        ("WMIL/ObjectEdit-v0", 0, "off_level", "is not one of \\[0\\]"),
        ("WMIL/ObjectEdit-v0", 3, "off_split", "not a level-3 pair of split 'train'"),
    ],
)
def test_instance_outside_the_level_or_split_is_rejected(
    make, server, env_id, level, fault, problem
):
    server.default = fault
    parent = make(roles="generate")
    env = gym.make(env_id, parent=parent, difficulty=level)
    obs, _ = env.reset(seed=1)
    reference, _ = gym.make(env_id, difficulty=level).reset(seed=1)
    assert obs.tolist() == reference.tolist()  # the rules' own draw replaced it
    stats = parent.stats()
    assert stats["invalid"] == 2 and stats["fallbacks"] == 1  # asked, re-asked, fell back
    with pytest.raises(ParentError, match=problem):
        gym.make(env_id, parent=make(roles="generate", on_error="raise"), difficulty=level).reset(
            seed=1
        )


def test_world_prompts_explain_actions_and_the_held_rule():
    task = make_task("number_walk")
    held = StateBatch.new(task, {"number": np.array([7]), "target_number": np.array([7])})
    held = held.after(np.array([0]), np.array([False]))  # a step after the goal: held
    system, user = prompts.transition_prompt(held[0], 2, 0.0)
    assert "0=+1, 1=-1, 2=+2, 3=-2, 4=+10, 5=-10" in user and prompts.HELD_RULE in user
    assert "leaves the number unchanged" in user  # the env doc's boundary rule
    assert json.loads(llm_server._block("state_json", user))["feedback"] == "held"
    assert "'held'" in system
    _, user = prompts.reward_prompt(held[0], 2)
    assert "action 2 is: +2" in user


QUESTION_CACHE_KEYS = {
    "WMIL/PatternEcho-v0": "d1faee5edf6ffd0e",
    "WMIL/SequenceNext-v0": "f75576f74fb3d93f",
    "WMIL/Conditional-v0": "3330b544d490dce4",
    "WMIL/NumericRelation-v0": "c83d0e71edc44a64",
    "WMIL/Counting-v0": "2d1fd40732ecb552",
}
"""A digest of the cache keys of one recorded question episode (openai, seed 0, level 1), taken
before the worlds existed: the question tasks' prompts and schemas are unchanged byte for
byte, so existing recordings still replay."""


@pytest.mark.parametrize("env_id", list(QUESTION_CACHE_KEYS))
def test_question_task_cache_keys_are_unchanged(server, tmp_path, monkeypatch, env_id):
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    parent = OpenAIParent(
        "fake-model", base_url=server.openai_url, cache_dir=tmp_path, max_retries=0
    )
    env = gym.make(env_id, parent=parent, episode_length=2, difficulty=1)
    env.reset(seed=0)
    env.step(env.unwrapped.oracle())
    env.step(0)
    keys = sorted(f.stem for f in Path(tmp_path).rglob("*.json"))
    assert hashlib.sha256(" ".join(keys).encode()).hexdigest()[:16] == QUESTION_CACHE_KEYS[env_id]


@pytest.mark.parametrize("task", ["number_walk", "object_edit"])
def test_offline_file_replays_worlds(tmp_path, task):
    out = tmp_path / f"{task}.jsonl"
    argv = ["--task", task, "--count", "8", "--out", str(out), "--offline", "--level", "1"]
    assert generate_main(argv) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["task_options"] == {"split": "train"} for r in records)
    env_id = make_task(task).env_id
    env = gym.make(env_id, parent=f"replay:{out}", difficulty=1)
    steps, info = play(env, oracle, seed=3)
    assert [s[0] for s in steps] == [s[2] for s in steps] and info["episode_success"]
    assert info["parent"]["disagreements"] == 0
    for seed in range(5):  # every start and target comes from the file
        env.reset(seed=seed)
        fields = {k: int(v) for k, v in env.unwrapped.state.fields.items()}
        assert fields in [r["fields"] for r in records]


@pytest.mark.parametrize("lie", [False, True])
def test_llm_generated_world_file_with_critic(server, tmp_path, monkeypatch, lie):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    server.default = "lie" if lie else "ok"
    out = tmp_path / "walk.jsonl"
    argv = ["--task", "number_walk", "--count", "6", "--out", str(out), "--level", "2"]
    argv += ["--model", "fake", "--base_url", server.openai_url, "--critic"]
    argv += ["--cache_dir", str(tmp_path / "cache")]
    assert generate_main(argv) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    task = make_task("number_walk")
    pairs = {tuple(p) for p in task.pairs(2).tolist()}
    fields = [r["fields"] for r in records]
    assert all((f["number"], f["target_number"]) in pairs for f in fields)  # level 2, train
    assert all(r["answer"] == r["checks"]["rule_answer"] for r in records)
    sources = {r["source"] for r in records}
    assert sources == ({"rules"} if lie else {"llm"})


def test_held_out_file_replays_only_in_the_test_split(tmp_path, capsys):
    out = tmp_path / "held_out.jsonl"
    argv = ["--task", "object_edit", "--split", "test", "--count", "6", "--out", str(out)]
    assert generate_main([*argv, "--offline", "--level", "2"]) == 0
    test_env = gym.make("WMIL/ObjectEdit-v0", parent=f"replay:{out}", split="test", difficulty=2)
    steps, info = play(test_env, oracle)
    assert [s[0] for s in steps] == [s[2] for s in steps] and info["episode_success"]
    train_env = gym.make("WMIL/ObjectEdit-v0", parent=f"replay:{out}", difficulty=2)
    with pytest.raises(ValueError, match="not a level-2 pair of split 'train'"):
        train_env.reset(seed=0)
    with pytest.raises(SystemExit):
        generate_main(["--task", "pattern_echo", "--split", "test", "--count", "1", "--out", "x"])
    assert "task 'pattern_echo' has no split" in capsys.readouterr().err
