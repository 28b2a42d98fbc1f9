"""How well the simulator (``agents.world_model``) predicts transitions it was not trained on:
the world-model part of ``python -m agents.evaluate``.

From fresh evaluation episodes (the evaluation's seed, level and split: ``--split test`` gives
held-out start and goal pairs) the env is stepped ``k`` times with uniformly random actions
(right and wrong ones alike), and the simulator is compared with what happened:

- one step: each real (observation, action) -> predicted next observation; token accuracy and
  whole-observation exact match (with episode memory the tokens counted are the newest frame's,
  what the simulator predicts; the older frames are copied);
- k steps: ``imagine`` from the first observation through the same k actions, feeding back its
  own predictions; token accuracy and exact match at step k, and the share of starts whose
  whole imagined rollout is exact;
- reward: recall (and precision) of ``P(<correct>) > 0.5`` on the real transitions;
- action-conditional reward accuracy: on every visited state where some action is rewarded by
  the rules (the env's parent), whether the action of highest predicted reward is one of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.model import device_of

ROLLOUT_STEPS = 5
"""k of the k-step metrics (shortened to the episode's horizon)."""


def _ratio(hits: np.ndarray) -> float | None:
    return float(hits.mean()) if hits.size else None


@torch.no_grad()
def simulator_metrics(envs, simulator, seed: int, steps: int = ROLLOUT_STEPS) -> dict[str, Any]:
    """The metrics above on one episode per env of ``envs`` (a WMIL native vector env)."""
    env = envs.unwrapped
    n, num_actions = envs.num_envs, int(envs.single_action_space.n)
    rng = np.random.default_rng([seed, 0x517])
    obs, _ = envs.reset(seed=seed)
    k = max(1, min(steps, int(env.horizons.min())))
    actions = rng.integers(0, num_actions, size=(n, k))
    frames, rule_rewards, rewards = [obs], [], []
    for t in range(k):
        every = [env.parent.reward(env.states, np.full(n, a)) for a in range(num_actions)]
        rule_rewards.append(np.stack(every, axis=1))
        obs, reward, _, _, infos = envs.step(actions[:, t])
        frames.append(infos["final_obs"] if "final_obs" in infos else obs)
        rewards.append(reward)
    device = device_of(simulator)
    real = torch.as_tensor(np.stack(frames, axis=1)).to(device)  # (n, k + 1, L)
    taken = torch.as_tensor(actions).to(device)

    # one step from every real state
    states = real[:, :-1].reshape(n * k, -1)
    one = simulator(states, taken.reshape(-1))
    one_right = one.next_obs == real[:, 1:].reshape(n * k, -1)
    frame = slice(-getattr(simulator, "frame_len", one_right.shape[1]), None)  # what is predicted
    rewarded = np.stack(rewards, axis=1).reshape(-1) > 0
    predicted = (one.reward > 0.5).cpu().numpy()

    # k steps imagined from the first observation
    imagined, _ = simulator.imagine(real[:, 0], taken)
    right = imagined == real[:, 1:]  # (n, k, L)

    # action-conditional: the action of highest predicted reward vs the rules' rewarded ones
    every_action = torch.arange(num_actions, device=device).repeat(n * k)
    scores = simulator(states.repeat_interleave(num_actions, 0), every_action).reward
    choice = scores.view(n * k, num_actions).argmax(1).cpu().numpy()
    rules = np.stack(rule_rewards, axis=1).reshape(n * k, num_actions) > 0
    has_answer = rules.any(1)
    return {
        "starts": n,
        "rollout_steps": k,
        "one_step_token_accuracy": float(one_right[:, frame].float().mean()),
        "one_step_exact": float(one_right.all(1).float().mean()),
        "k_step_token_accuracy": float(right[:, -1, frame].float().mean()),
        "k_step_exact": float(right[:, -1].all(-1).float().mean()),
        "rollout_exact": float(right.all(-1).all(-1).float().mean()),
        "reward_recall": _ratio(predicted[rewarded]),
        "reward_precision": _ratio(rewarded[predicted]),
        "rewarded_transitions": int(rewarded.sum()),
        "action_reward_accuracy": _ratio(rules[has_answer, choice[has_answer]]),
        "action_reward_states": int(has_answer.sum()),
    }


def simulator_lines(result: dict[str, Any]) -> list[str]:
    """The metrics as report lines (none when the run has no simulator)."""
    m = result.get("simulator")
    if not m:
        return []

    def show(value):
        return "n/a" if value is None else f"{value:.4f}"

    return [
        f"Simulator on {m['starts']} held-out starts, random actions, k = {m['rollout_steps']}:",
        f"  one step: token accuracy {show(m['one_step_token_accuracy'])}, "
        f"exact {show(m['one_step_exact'])}",
        f"  {m['rollout_steps']} steps imagined: token accuracy "
        f"{show(m['k_step_token_accuracy'])}, exact {show(m['k_step_exact'])}, whole rollout "
        f"exact {show(m['rollout_exact'])}",
        f"  reward: recall {show(m['reward_recall'])}, precision {show(m['reward_precision'])} "
        f"({m['rewarded_transitions']} rewarded transitions); best predicted action rewarded "
        f"{show(m['action_reward_accuracy'])} ({m['action_reward_states']} states)",
    ]
