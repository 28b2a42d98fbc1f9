"""The recipes of docs/integrations.md, one per RL library: the library's own env checker passes
and a few hundred steps run with rewards in [0, 1]; the ``slow`` versions assert learning.

Each test is skipped when its library is not installed; ``./run.sh test -m integration``
installs them all (``pip install 'wmil[integration]'``).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import wmil_envs

pytestmark = pytest.mark.integration
ENV_IDS = sorted(wmil_envs.ENV_IDS)


# --- Stable-Baselines3 and sb3-contrib ------------------------------------------------------


def test_sb3_checker_every_id_and_ppo_steps():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_checker import check_env
    from stable_baselines3.common.env_util import make_vec_env

    for env_id in ENV_IDS:
        check_env(gym.make(env_id), warn=True)
    venv = make_vec_env("WMIL/PatternEcho-v0", n_envs=4, env_kwargs={"render_mode": None})
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(256)
    rewards = [ep["r"] for ep in model.ep_info_buffer]
    assert rewards and all(0.0 <= r <= 1.0 for r in rewards)


def test_sb3_env_method_set_wrapper_attr_reaches_the_env_and_set_attr_does_not():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env("WMIL/Conditional-v0", n_envs=2, env_kwargs={"render_mode": None})
    venv.env_method("set_wrapper_attr", "difficulty", 2)
    assert [env.unwrapped.difficulty for env in venv.envs] == [2, 2]
    venv.set_attr("difficulty", 3)  # SB3 sets it on its Monitor wrapper: the env stays at 2
    assert [env.unwrapped.difficulty for env in venv.envs] == [2, 2]


@pytest.mark.slow
def test_sb3_ppo_learns_pattern_echo():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env("WMIL/PatternEcho-v0", n_envs=8, env_kwargs={"render_mode": None})
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=256, seed=0, device="cpu")
    model.learn(30_000)
    assert np.mean([ep["r"] for ep in model.ep_info_buffer]) > 0.9


def test_sb3_contrib_trpo_steps():
    pytest.importorskip("sb3_contrib")
    from sb3_contrib import TRPO
    from stable_baselines3.common.env_checker import check_env
    from stable_baselines3.common.env_util import make_vec_env

    check_env(gym.make("WMIL/PatternEcho-v0"))
    venv = make_vec_env("WMIL/PatternEcho-v0", n_envs=4, env_kwargs={"render_mode": None})
    model = TRPO("MlpPolicy", venv, n_steps=64, batch_size=64, seed=0, device="cpu")
    model.learn(256)
    assert all(0.0 <= ep["r"] <= 1.0 for ep in model.ep_info_buffer)


# --- TorchRL --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["same_step", "disabled"])
def test_torchrl_wraps_the_native_vector_env(mode):
    """TorchRL's ``GymWrapper`` reads the ``autoreset_mode`` attribute (SAME_STEP or DISABLED)."""
    pytest.importorskip("torchrl")
    from torchrl.envs import GymWrapper
    from torchrl.envs.utils import check_env_specs

    for env_id in ENV_IDS:
        env = GymWrapper(gym.make_vec(env_id, num_envs=4, autoreset_mode=mode))
        check_env_specs(env)
    rollout = env.rollout(100, break_when_any_done=False)
    rewards = rollout["next", "reward"]
    assert rollout.shape == (4, 100) and ((rewards >= 0) & (rewards <= 1)).all()
    assert rollout["next", "done"].any()


# --- Tianshou -------------------------------------------------------------------------------


def test_tianshou_collects_from_flattened_envs():
    pytest.importorskip("tianshou")
    from gymnasium.utils.env_checker import check_env
    from tianshou.data import Collector, CollectStats, VectorReplayBuffer
    from tianshou.env import DummyVectorEnv

    check_env(gym.make("WMIL/PatternEcho-v0").unwrapped)
    envs = DummyVectorEnv(
        [lambda: gym.wrappers.FlattenObservation(gym.make("WMIL/PatternEcho-v0"))] * 4
    )
    collector = Collector[CollectStats](
        _tianshou_random_policy(envs), envs, VectorReplayBuffer(400, 4)
    )
    collector.reset()
    stats = collector.collect(n_step=300, random=True)
    assert stats.n_collected_steps >= 300
    assert 0.0 <= stats.returns.mean() <= 1.0


def _tianshou_random_policy(envs):
    from tianshou.algorithm.modelfree.reinforce import DiscreteActorPolicy
    from tianshou.utils.net.common import Net
    from tianshou.utils.net.discrete import DiscreteActor

    obs_dim = envs.observation_space[0].shape[0]
    n = envs.action_space[0].n
    actor = DiscreteActor(
        preprocess_net=Net(state_shape=obs_dim, hidden_sizes=[16]), action_shape=n
    )
    return DiscreteActorPolicy(actor=actor, action_space=envs.action_space[0])


# --- CleanRL-style: the native vector env, NEXT_STEP, one-hot, RecordEpisodeStatistics -------


def cleanrl_style_policy_gradient(total_steps: int, num_envs: int = 16) -> list[float]:
    """The shortest CleanRL-style loop: a linear softmax policy on one-hot observations,
    trained by policy gradient; returns the episodic returns seen."""
    envs = gym.make_vec("WMIL/PatternEcho-v0", num_envs, autoreset_mode="next_step")
    envs = gym.wrappers.vector.FlattenObservation(envs)
    envs = gym.wrappers.vector.RecordEpisodeStatistics(envs)
    torch.manual_seed(0)
    policy = torch.nn.Linear(envs.single_observation_space.shape[0], envs.single_action_space.n)
    optimizer = torch.optim.Adam(policy.parameters(), lr=0.05)
    obs, _ = envs.reset(seed=0)
    returns: list[float] = []
    for _ in range(total_steps // num_envs):
        dist = torch.distributions.Categorical(logits=policy(torch.as_tensor(obs).float()))
        actions = dist.sample()
        obs, rewards, _, _, infos = envs.step(actions.numpy())
        advantage = torch.as_tensor(rewards).float() - 0.5
        loss = -(dist.log_prob(actions) * advantage).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if "episode" in infos:  # the key RecordEpisodeStatistics adds (not "episode_success")
            returns.extend(infos["episode"]["r"][infos["_episode"]].tolist())
    return returns


def test_cleanrl_style_loop_runs():
    returns = cleanrl_style_policy_gradient(400)
    assert returns and all(0.0 <= r <= 1.0 for r in returns)


@pytest.mark.slow
def test_cleanrl_style_loop_learns_pattern_echo():
    returns = cleanrl_style_policy_gradient(20_000)
    assert np.mean(returns[-200:]) > 0.9


# --- RLlib ----------------------------------------------------------------------------------


def test_rllib_ppo_builds_and_trains_one_iteration():
    pytest.importorskip("ray.rllib")
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.connectors.env_to_module import FlattenObservations

    config = (
        PPOConfig()
        .environment("wmil_envs:WMIL/PatternEcho-v0")
        .env_runners(
            num_env_runners=0,
            num_envs_per_env_runner=4,
            env_to_module_connector=lambda env, spaces=None, device=None: FlattenObservations(),
        )
        .training(train_batch_size_per_learner=256, minibatch_size=64, num_epochs=1)
    )
    ray.init(num_cpus=1, include_dashboard=False, ignore_reinit_error=True)
    try:
        algo = config.build_algo()
        result = algo.train()
        episode_return = result["env_runners"]["episode_return_mean"]
        assert 0.0 <= episode_return <= 1.0
        algo.stop()
    finally:
        ray.shutdown()
