"""The simulator (``agents.world_model``) and the planner (``agents.planner``): imagination is
the simulator's step fed back, the search picks what the simulator rewards, the replay ring.
(Save / resume exactness of the planner, replay included, is in ``test_algorithms``.)"""

import pytest
import torch

import wmil_envs  # noqa: F401  (registers the ids)
from agents.config import Config, ConfigError
from agents.planner import ReplayBuffer, beam_search
from agents.training_loop import Trainer
from agents.world_model import Simulator
from wmil_envs import vocab


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


@pytest.mark.slow
def test_planner_learns_number_walk_level_0(tmp_path):
    """The measured run: with 32 simulator updates per rollout the planner passes 0.9 greedy
    success on NumberWalk level 0 within 2,000 env steps (seed 0; several CPU-minutes)."""
    from agents.cli import load_yaml
    from agents.config import config_from_dict

    cfg = config_from_dict(load_yaml("configs/numberwalk_model_based.yaml"))
    for key, value in {
        "difficulty": 0, "rollout_steps": 5, "max_steps": 2000, "eval_every": 500,
        "planner_depth": 3, "planner_width": 2, "hidden_dim": 32, "model_updates": 32,
        "learning_rate": 0.003, "progress": False, "run_dir": str(tmp_path / "run"),
    }.items():  # fmt: skip
        setattr(cfg, key, value)
    summary = Trainer(cfg).train()
    assert summary["greedy_evals"][-1]["greedy_success"] >= 0.9
