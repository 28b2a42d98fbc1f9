"""The recipes of docs/integrations.md, one per RL library: the library's own env checker passes
and a few hundred steps run with rewards in [0, 1]; the ``slow`` versions assert learning.

Each test is skipped when its library is not installed; ``./run.sh test -m integration``
installs them all (``pip install 'wmil[integration]'``) but PufferLib, whose ``pufferlib-core``
pins its own torch.
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


@pytest.mark.slow
def test_sb3_contrib_trpo_learns_pattern_echo():
    pytest.importorskip("sb3_contrib")
    from sb3_contrib import TRPO
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env("WMIL/PatternEcho-v0", n_envs=8, env_kwargs={"render_mode": None})
    model = TRPO("MlpPolicy", venv, n_steps=128, batch_size=256, seed=0, device="cpu")
    model.learn(30_000)
    assert np.mean([ep["r"] for ep in model.ep_info_buffer]) > 0.9


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


def torchrl_ppo(total_frames: int) -> list[float]:
    """The docs' TorchRL recipe: TorchRL's collector, GAE and ``ClipPPOLoss`` on the native env
    (DISABLED autoreset, flattened to one-hot floats); returns each 512-step batch's mean
    reward, which with one-step episodes is its success rate."""
    from tensordict.nn import TensorDictModule
    from torchrl.collectors import Collector
    from torchrl.envs import GymWrapper
    from torchrl.modules import MLP, ProbabilisticActor, ValueOperator
    from torchrl.objectives import ClipPPOLoss
    from torchrl.objectives.value import GAE

    torch.manual_seed(0)
    envs = gym.make_vec("WMIL/PatternEcho-v0", num_envs=16, autoreset_mode="disabled")
    envs = gym.wrappers.vector.FlattenObservation(envs)
    envs = gym.wrappers.vector.DtypeObservation(envs, np.float32)
    env = GymWrapper(envs, categorical_action_encoding=True)
    env.set_seed(0)
    obs_dim, num_actions = envs.single_observation_space.shape[0], envs.single_action_space.n
    logits = MLP(in_features=obs_dim, out_features=num_actions, num_cells=[64])
    actor = ProbabilisticActor(
        TensorDictModule(logits, in_keys=["observation"], out_keys=["logits"]),
        in_keys=["logits"],
        distribution_class=torch.distributions.Categorical,
        return_log_prob=True,
        spec=env.action_spec,
    )
    critic = ValueOperator(
        MLP(in_features=obs_dim, out_features=1, num_cells=[64]), ["observation"]
    )
    loss = ClipPPOLoss(actor, critic, entropy_coeff=0.01)
    advantage = GAE(gamma=0.99, lmbda=0.95, value_network=critic)
    optimizer = torch.optim.Adam(loss.parameters(), lr=3e-3)
    collector = Collector(
        env,
        actor,
        frames_per_batch=512,
        total_frames=total_frames,
        auto_register_policy_transforms=False,
    )
    batch_rewards = []
    for batch in collector:
        advantage(batch)
        transitions = batch.reshape(-1)
        for _ in range(4):
            for indices in torch.randperm(len(transitions)).split(128):
                losses = loss(transitions[indices])
                total = losses["loss_objective"] + losses["loss_critic"] + losses["loss_entropy"]
                optimizer.zero_grad()
                total.backward()
                optimizer.step()
        batch_rewards.append(batch["next", "reward"].mean().item())
    collector.shutdown()
    return batch_rewards


def test_torchrl_ppo_runs():
    pytest.importorskip("torchrl")
    rewards = torchrl_ppo(512)
    assert len(rewards) == 1 and 0.0 <= rewards[0] <= 1.0


@pytest.mark.slow
def test_torchrl_ppo_learns_pattern_echo():
    pytest.importorskip("torchrl")
    assert torchrl_ppo(10_240)[-1] > 0.9


# --- Tianshou -------------------------------------------------------------------------------


def tianshou_ppo(epochs: int) -> float:
    """The docs' Tianshou recipe: Tianshou's PPO and on-policy trainer on flattened envs,
    ``epochs`` x 2048 steps; returns the mean return of 500 episodes of the trained policy."""
    from tianshou.algorithm import PPO
    from tianshou.algorithm.modelfree.reinforce import DiscreteActorPolicy
    from tianshou.algorithm.optim import AdamOptimizerFactory
    from tianshou.data import Collector, CollectStats, VectorReplayBuffer
    from tianshou.env import DummyVectorEnv
    from tianshou.trainer import OnPolicyTrainerParams
    from tianshou.utils.net.common import Net
    from tianshou.utils.net.discrete import DiscreteActor, DiscreteCritic

    torch.manual_seed(0)

    def make():
        return gym.wrappers.FlattenObservation(gym.make("WMIL/PatternEcho-v0"))

    envs = DummyVectorEnv([make] * 8)
    envs.seed(0)
    # Tianshou reads spaces from env.unwrapped (the token row): take the flattened size here.
    obs_dim, num_actions = make().observation_space.shape[0], envs.action_space[0].n
    actor = DiscreteActor(  # PPO's policy wants logits, not DiscreteActor's default softmax
        preprocess_net=Net(state_shape=obs_dim, hidden_sizes=[64]),
        action_shape=num_actions,
        softmax_output=False,
    )
    critic = DiscreteCritic(preprocess_net=Net(state_shape=obs_dim, hidden_sizes=[64]))
    policy = DiscreteActorPolicy(actor=actor, action_space=envs.action_space[0])
    algorithm = PPO(policy=policy, critic=critic, optim=AdamOptimizerFactory(lr=1e-3))
    training = Collector[CollectStats](algorithm, envs, VectorReplayBuffer(2048, 8))
    algorithm.run_training(
        OnPolicyTrainerParams(
            training_collector=training,
            max_epochs=epochs,
            epoch_num_steps=2048,
            collection_step_num_env_steps=1024,
            batch_size=256,
            update_step_num_repetitions=4,
            show_progress=False,
            verbose=False,
        )
    )
    evaluation = Collector[CollectStats](algorithm, envs)
    evaluation.reset()
    return float(evaluation.collect(n_episode=500).returns.mean())


def test_tianshou_ppo_runs_on_flattened_envs():
    pytest.importorskip("tianshou")
    from gymnasium.utils.env_checker import check_env

    for env_id in ENV_IDS:
        check_env(gym.make(env_id).unwrapped)
    assert 0.0 <= tianshou_ppo(epochs=1) <= 1.0


@pytest.mark.slow
def test_tianshou_ppo_learns_pattern_echo():
    pytest.importorskip("tianshou")
    assert tianshou_ppo(epochs=12) > 0.9


# --- PufferLib ------------------------------------------------------------------------------


def test_pufferlib_serial_vector_env_steps_flattened_envs():
    """``pufferlib-core`` (not in the ``integration`` extra: it pins its own torch) steps
    flattened WMIL envs; its vector env resets a finished env on the next step (reward 0)."""
    pytest.importorskip("pufferlib.emulation")
    import pufferlib.emulation
    import pufferlib.vector

    def make(buf=None, seed=0):
        return pufferlib.emulation.GymnasiumPufferEnv(
            env_creator=lambda: gym.wrappers.FlattenObservation(
                gym.make("WMIL/PatternEcho-v0", episode_length=3)
            ),
            buf=buf,
            seed=seed,
        )

    envs = pufferlib.vector.make(make, num_envs=4, backend=pufferlib.vector.Serial)
    observations, _ = envs.reset(seed=0)
    assert observations.shape == (4, 684)
    terminals = []
    for _ in range(8):
        _, rewards, terminated, _, _ = envs.step(envs.action_space.sample())
        assert ((rewards >= 0) & (rewards <= 1)).all()
        terminals.append(terminated.copy())
    # 3 steps, then the reset step: [F, F, T, F] per env
    assert np.array(terminals).T.tolist() == [[False, False, True, False] * 2] * 4


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


def rllib_ppo(iterations: int, **training) -> list[float]:
    """The docs' RLlib recipe (PPO, new API stack, ``FlattenObservations``), seeded, on a local
    one-CPU Ray; returns ``episode_return_mean`` (last 100 episodes) after each iteration."""
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.connectors.env_to_module import FlattenObservations

    config = (
        PPOConfig()
        .environment("wmil_envs:WMIL/PatternEcho-v0")
        .env_runners(
            num_env_runners=0,
            num_envs_per_env_runner=8,
            env_to_module_connector=lambda env, spaces=None, device=None: FlattenObservations(),
        )
        .training(**training)
        .debugging(seed=0)
    )
    ray.init(num_cpus=1, include_dashboard=False, ignore_reinit_error=True)
    try:
        algo = config.build_algo()
        returns = [algo.train()["env_runners"]["episode_return_mean"] for _ in range(iterations)]
        algo.stop()
    finally:
        ray.shutdown()
    return returns


def test_rllib_ppo_builds_and_trains_one_iteration():
    pytest.importorskip("ray.rllib")
    returns = rllib_ppo(1, train_batch_size_per_learner=256, minibatch_size=64, num_epochs=1)
    assert 0.0 <= returns[0] <= 1.0


@pytest.mark.slow
def test_rllib_ppo_learns_pattern_echo():
    pytest.importorskip("ray.rllib")
    returns = rllib_ppo(
        10, train_batch_size_per_learner=1024, minibatch_size=256, num_epochs=4, lr=1e-3
    )
    assert returns[-1] > 0.9


def test_rllib_vector_entry_point_with_next_step_records_whole_episodes():
    """With ``gym_env_vectorize_mode="vector_entry_point"`` RLlib assumes NEXT_STEP autoreset:
    passing it in ``env_config`` gives 3-step episodes for ``episode_length=3``, none dropped."""
    pytest.importorskip("ray.rllib")
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.connectors.env_to_module import FlattenObservations
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    config = (
        PPOConfig()
        .environment(
            "wmil_envs:WMIL/PatternEcho-v0",
            env_config={"episode_length": 3, "autoreset_mode": "next_step"},
        )
        .env_runners(
            num_env_runners=0,
            num_envs_per_env_runner=4,
            gym_env_vectorize_mode="vector_entry_point",
            env_to_module_connector=lambda env, spaces=None, device=None: FlattenObservations(),
        )
    )
    runner = SingleAgentEnvRunner(config=config)
    try:
        episodes = runner.sample(num_timesteps=60, random_actions=True)
    finally:
        runner.stop()
    assert [len(episode) for episode in episodes] == [3] * 20
    assert all(episode.is_done for episode in episodes)
    rewards = np.concatenate([episode.get_rewards() for episode in episodes])
    assert ((rewards >= 0) & (rewards <= 1)).all()
