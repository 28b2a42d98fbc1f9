"""The simulator (``agents.world_model``) and the planner (``agents.planner``): imagination
matches the env once trained, the search plans on it, the replay ring, the evaluation report.
(Save / resume exactness of the planner, replay included, is in ``test_algorithms``.)"""

import gymnasium as gym
import numpy as np
import pytest
import torch

import wmil_envs  # noqa: F401  (registers the ids)
from agents.config import Config, ConfigError
from agents.planner import ReplayBuffer, beam_search
from agents.training_loop import Trainer
from agents.world_model import Simulator
from agents.world_model_eval import simulator_lines, simulator_metrics
from wmil_envs import vocab


def random_transitions(env_id: str, steps: int, num_envs: int = 64, **kwargs):
    """(obs, actions, next_obs, rewards) of uniformly random play, seeded."""
    envs = gym.make_vec(env_id, num_envs=num_envs, **kwargs)
    rng = np.random.default_rng(0)
    obs, _ = envs.reset(seed=0)
    rows = ([], [], [], [])
    for _ in range(steps):
        actions = rng.integers(0, envs.single_action_space.n, num_envs)
        new_obs, reward, _, _, infos = envs.step(actions)
        following = infos["final_obs"] if "final_obs" in infos else new_obs
        for row, value in zip(rows, (obs, actions, following, reward), strict=True):
            row.append(value)
        obs = new_obs
    envs.close()
    return [torch.as_tensor(np.concatenate(row)) for row in rows]


def trained_simulator(env_id: str, updates: int, **kwargs) -> Simulator:
    torch.manual_seed(0)
    obs, actions, following, rewards = random_transitions(env_id, 40, **kwargs)
    envs = gym.make_vec(env_id, num_envs=1, **kwargs)
    sim = Simulator(obs.shape[1], int(envs.single_observation_space.nvec.max()),
                    int(envs.single_action_space.n), 32, 2, 4)  # fmt: skip
    envs.close()
    replay = ReplayBuffer(len(actions), obs.shape[1], rewarded_share=0.25)
    replay.add(obs, actions, following, rewards)
    optimizer = torch.optim.AdamW(sim.parameters(), lr=3e-3)
    for _ in range(updates):
        loss, _ = sim.loss(*replay.sample(128))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return sim


def test_imagine_is_step_fed_back_and_reward_reads_the_feedback():
    torch.manual_seed(0)
    sim = Simulator(obs_len=4, vocab_size=20, num_actions=3, hidden_dim=16, num_layers=1,
                    num_heads=2)  # fmt: skip
    obs = torch.randint(0, 20, (5, 4))
    actions = torch.randint(0, 3, (5, 3))
    frames, rewards = sim.imagine(obs, actions)
    assert frames.shape == (5, 3, 4) and rewards.shape == (5, 3)
    current = obs
    for t in range(3):
        current, reward = sim.step(current, actions[:, t])
        assert torch.equal(frames[:, t], current) and torch.allclose(rewards[:, t], reward)
    pred = sim(obs, actions[:, 0])
    assert torch.allclose(pred.reward, pred.feedback_logits.softmax(-1)[:, vocab.CORRECT])


@pytest.mark.slow
def test_trained_simulator_imagines_pattern_echo_exactly():
    """After a short training on random play, the imagined next observation and its reward
    match the env on fresh episodes, and the best predicted action is the rewarded one."""
    kwargs = dict(num_actions=4, difficulty=1, episode_length=1)
    sim = trained_simulator("WMIL/PatternEcho-v0", 250, **kwargs)
    envs = gym.make_vec("WMIL/PatternEcho-v0", num_envs=256, **kwargs)
    metrics = simulator_metrics(envs, sim, seed=7)
    envs.close()
    assert metrics["rollout_steps"] == 1
    assert metrics["rollout_exact"] == 1.0 and metrics["one_step_exact"] == 1.0
    assert metrics["reward_recall"] == 1.0 and metrics["action_reward_accuracy"] == 1.0
    assert any(
        "whole rollout exact 1.0000" in line for line in simulator_lines({"simulator": metrics})
    )


def test_beam_search_prefers_the_action_the_simulator_rewards():
    """With a simulator whose feedback says <correct> only after action 2, the search picks 2
    at every width and depth."""
    torch.manual_seed(0)
    cfg = Config(task="number_walk", algorithm="planner", simulator=True, hidden_dim=16,
                 num_layers=1, vq_head=False, num_envs=4, rollout_steps=5, max_steps=20,
                 progress=False, eval_every=0)  # fmt: skip
    trainer = Trainer(cfg, run_dir="unused")
    model = trainer.model
    sim = model.simulator

    def rewarding(obs, actions, next_obs=None):
        pred = Simulator.forward(sim, obs, actions, next_obs)
        pred.feedback_logits = torch.full_like(pred.feedback_logits, -10.0)
        pred.feedback_logits[:, vocab.WRONG] = 0.0
        pred.feedback_logits[actions == 2, vocab.CORRECT] = 10.0
        return pred

    sim.forward = rewarding
    obs, _ = trainer.envs.reset(seed=0)
    for width, depth in [(1, 1), (2, 3), (4, 2)]:
        scores = beam_search(model, torch.as_tensor(obs), width, depth, 0.9)
        assert scores.shape == (4, 6) and (scores.argmax(1) == 2).all()
    trainer.envs.close()


def test_replay_ring_keeps_the_newest_and_oversamples_rewarded():
    replay = ReplayBuffer(capacity=5, obs_len=2, rewarded_share=0.5)
    obs = torch.arange(14).view(7, 2)
    replay.add(obs, torch.arange(7), obs + 1, torch.tensor([0, 0, 0, 0, 0, 0, 1.0]))
    assert replay.size == 5 and replay.cursor == 2
    assert sorted(replay.actions.tolist()) == [2, 3, 4, 5, 6]
    torch.manual_seed(0)
    _, actions, _ = replay.sample(8)
    assert (actions[:4] == 6).all()  # the rewarded share: the one rewarded transition
    state = replay.state_dict()
    again = ReplayBuffer(capacity=5, obs_len=2, rewarded_share=0.5)
    again.load_state_dict(state)
    assert torch.equal(again.obs, replay.obs) and again.cursor == replay.cursor


def test_planner_needs_its_simulator_and_value():
    with pytest.raises(ConfigError, match="simulator=true"):
        Config(algorithm="planner").validate()
    with pytest.raises(ConfigError, match="value_head=true"):
        Config(algorithm="planner", simulator=True, value_head=False).validate()
