"""Episode memory: the last k observations of the episode, single and vector, and in training."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

from agents.config import Config
from agents.training_loop import Trainer
from wmil_envs import EpisodeMemory, VectorEpisodeMemory, vocab

IDS = ["WMIL/Conditional-v0", "WMIL/NumberWalk-v0"]


def rows(obs, k):
    return np.asarray(obs).reshape(k, -1)


@pytest.mark.parametrize("env_id", IDS)
def test_single_memory_pads_then_shifts_in_each_observation(env_id):
    k = 3
    plain = gym.make(env_id, episode_length=4)
    env = EpisodeMemory(gym.make(env_id, episode_length=4), k)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version")
        check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=5)
    seen = [plain.reset(seed=5)[0]]
    assert (rows(obs, k)[:-1] == vocab.PAD).all() and (rows(obs, k)[-1] == seen[0]).all()
    for action in [0, 1, 2, 3]:
        obs, reward, terminated, _, _ = env.step(action)
        seen.append(plain.step(action)[0])
        padded = [np.full_like(seen[0], vocab.PAD)] * k + seen
        assert (rows(obs, k) == np.stack(padded[-k:])).all()
    assert terminated
    obs, _ = env.reset()
    assert (rows(obs, k)[:-1] == vocab.PAD).all()  # a new episode forgets the last one


@pytest.mark.parametrize("env_id", IDS)
def test_vector_memory_across_autoresets_native_and_sync(env_id):
    k, n = 3, 4
    native = VectorEpisodeMemory(gym.make_vec(env_id, num_envs=n, episode_length=2), k)
    sync = VectorEpisodeMemory(
        gym.make_vec(
            env_id,
            num_envs=n,
            episode_length=2,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
        ),
        k,
    )
    assert native.single_observation_space == sync.single_observation_space
    width = gym.make(env_id).observation_space.shape[0]
    assert native.single_observation_space.shape == (k * width,)
    obs_native, _ = native.reset(seed=1)
    obs_sync, _ = sync.reset(seed=1)
    rng = np.random.default_rng(0)
    for _t in range(5):
        actions = rng.integers(0, native.single_action_space.n, n)
        before, before_sync = obs_native, obs_sync
        obs_native, _, terminated, _, infos = native.step(actions)
        obs_sync, _, _, _, sync_infos = sync.step(actions)
        assert obs_native.shape == obs_sync.shape == (n, native.single_observation_space.shape[0])
        if terminated.any():  # every episode is 2 steps: all end together
            assert terminated.all()
            final = infos["final_obs"]
            # the finished memory: the last one shifted by the terminal observation
            assert (final[:, :-width] == before[:, width:]).all()
            for i in range(n):
                assert (sync_infos["final_obs"][i][:-width] == before_sync[i, width:]).all()
            assert (obs_native[:, :-width] == vocab.PAD).all()
        else:
            assert (obs_native[:, :-width] == before[:, width:]).all()
        # native and sync episodes differ (one generator vs one per env), layouts do not
        both = [(o[:, :-width] == vocab.PAD).all() for o in (obs_sync, obs_native)]
        assert both[0] == both[1]


def test_vector_memory_refuses_next_step_autoreset():
    envs = gym.make_vec("WMIL/PatternEcho-v0", num_envs=2, vectorization_mode="sync")
    with pytest.raises(ValueError, match="SAME_STEP"):
        VectorEpisodeMemory(envs, 2)


@pytest.mark.parametrize("k", [0, -1, 1.5])
def test_bad_memory_length_is_a_clear_error(k):
    with pytest.raises((ValueError, TypeError), match="memory length k"):
        EpisodeMemory(gym.make("WMIL/PatternEcho-v0"), k)


def test_training_and_evaluation_read_the_memory(tmp_path):
    cfg = Config(
        task="conditional",
        difficulty=0,
        episode_length=2,
        episode_memory=2,
        algorithm="ppo",
        num_actions=4,
        num_envs=16,
        rollout_steps=2,
        max_steps=128,
        hidden_dim=32,
        eval_every=0,
        eval_episodes=32,
        checkpoint_every=64,
        progress=False,
        run_dir=str(tmp_path / "run"),
    )
    trainer = Trainer(cfg)
    assert trainer.model.obs_len == 2 * gym.make("WMIL/Conditional-v0").observation_space.shape[0]
    summary = trainer.train()
    assert summary["finished"] and summary["steps"] == 128
    final = summary["greedy_evals"][-1]
    assert final["step"] == 128 and 0.0 <= final["greedy_success"] <= 1.0
    # agents.evaluate rebuilds the model with the memory, and counts the tries
    from agents.evaluate import evaluate_checkpoint

    result = evaluate_checkpoint(tmp_path / "run", episodes=32)
    assert 0.0 <= result["success_rate"] <= 1.0
    assert 0.0 <= result["tries"]["first_try_success"] <= result["success_rate"]


class _Cycling:
    """Answers action ``t`` at the episode's step ``t``: never repeats an answer."""

    def __init__(self):
        self.calls = 0

    def act(self, obs, greedy=True):
        self.calls += 1
        return np.full(len(obs), (self.calls - 1) % 4)


class _Stubborn:
    def act(self, obs, greedy=True):
        return np.zeros(len(obs), dtype=np.int64)


def test_evaluation_counts_first_tries_and_repeated_failed_answers():
    """With four tries, an agent that always gives the same answer repeats every failed one;
    one that answers 0, 1, 2, 3 never does and succeeds exactly when the answer is among them."""
    from agents.config import Config
    from agents.scoring import make_eval_envs, run_episodes

    cfg = Config(task="conditional", difficulty=0, episode_length=4, rollout_steps=4)
    envs = make_eval_envs(cfg, 64)
    stubborn = run_episodes(envs, _Stubborn(), 64, seed=0)
    cycling = run_episodes(envs, _Cycling(), 64, seed=0)
    gold = stubborn["gold"]
    envs.close()
    first = stubborn["tries"]
    assert first["first_try_success"] == pytest.approx(np.mean(gold == 0))
    assert first["later_tries"] == 3 * int((gold != 0).sum()) > 0
    assert first["repeated_failed_answers"] == first["later_tries"]
    assert first["repeat_rate"] == 1.0
    assert cycling["tries"]["repeated_failed_answers"] == 0
    np.testing.assert_array_equal(cycling["success"], gold < 4)
