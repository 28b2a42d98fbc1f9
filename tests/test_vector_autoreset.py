"""The native vector env in each Gymnasium autoreset mode, step for step against
``SyncVectorEnv`` in the same mode over the same instances; per-env seeds; episode statistics."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import wmil_envs
from wmil_envs.parent import DeterministicParent
from wmil_envs.state import StateBatch
from wmil_envs.tasks import TASKS

ENV_IDS = sorted(wmil_envs.ENV_IDS)
MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]
NUM_ENVS = 4
STEPS = 14


class LevelReplayParent(DeterministicParent):
    """Hands out given instances, one queue per level: the envs of a level get the same
    instances in the same order whether they are drawn one by one or in a batch."""

    def __init__(self, pools: dict[int, dict[str, np.ndarray]]):
        self.pools = pools
        self.next = dict.fromkeys(pools, 0)

    def generate(self, task, rng, n, level):
        fields = self.pools[level]
        size = len(next(iter(fields.values())))
        rows = (self.next[level] + np.arange(n)) % size
        self.next[level] += n
        return StateBatch.new(task, {name: values[rows] for name, values in fields.items()})


def pools(env_id: str, levels: list[int]) -> dict[int, dict[str, np.ndarray]]:
    out = {}
    for level in set(levels):
        envs = gym.make_vec(env_id, num_envs=64, vectorization_mode="vector_entry_point")
        envs.reset(seed=level, options={"difficulty": level})
        out[level] = envs.unwrapped.states.fields
    return out


def cases():
    """Question tasks with one-step and three-step episodes (all envs end together); worlds
    with a different level, hence horizon, per env (envs end at different steps)."""
    for env_id in ENV_IDS:
        task = TASKS[wmil_envs.TASK_OF_ID[env_id]]
        if task.has_dynamics:
            top = max(task.levels)
            yield env_id, None, [lv % (top + 1) for lv in range(NUM_ENVS)]
        else:
            yield env_id, None, [0] * NUM_ENVS
            yield env_id, 3, [max(task.levels)] * NUM_ENVS


def assert_infos_equal(native: dict, sync: dict, where: str) -> None:
    """Same keys and masks; the same values wherever a mask is set."""
    assert set(native) == set(sync), f"{where}: keys {sorted(native)} != {sorted(sync)}"
    for key, value in sync.items():
        if key.startswith("_"):
            assert native[key].tolist() == value.tolist(), f"{where}: mask {key}"
        elif isinstance(value, dict):
            assert_infos_equal(native[key], value, f"{where}[{key}]")
        else:
            mask = sync["_" + key]
            got = [np.asarray(v).tolist() for v in native[key][mask]]
            want = [np.asarray(v).tolist() for v in value[mask]]
            assert got == want, f"{where}: {key}"


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
@pytest.mark.parametrize("env_id, episode_length, levels", list(cases()))
def test_native_matches_sync_in_every_autoreset_mode(env_id, episode_length, levels, mode):
    kwargs = {"episode_length": episode_length, "parent": LevelReplayParent(pools(env_id, levels))}
    native = gym.make_vec(
        env_id, NUM_ENVS, vectorization_mode="vector_entry_point", autoreset_mode=mode, **kwargs
    )
    kwargs["parent"] = LevelReplayParent(kwargs["parent"].pools)
    sync = gym.make_vec(
        env_id,
        NUM_ENVS,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": mode},
        **kwargs,
    )
    assert native.autoreset_mode == sync.autoreset_mode == mode
    assert native.metadata["autoreset_mode"] == mode
    native.set_attr("difficulty", levels)
    sync.set_attr("difficulty", levels)

    native_obs, native_info = native.reset()
    sync_obs, sync_info = sync.reset()
    assert native_obs.tolist() == sync_obs.tolist()
    assert_infos_equal(native_info, sync_info, "reset")
    rng = np.random.default_rng(0)
    ended_at_once = 0
    for t in range(STEPS):
        oracle = native.call("oracle")
        actions = np.where(rng.random(NUM_ENVS) < 0.6, oracle, rng.integers(0, 2, NUM_ENVS))
        native_out = native.step(actions)
        sync_out = sync.step(actions)
        for name, a, b in zip(
            ("obs", "reward", "terminated", "truncated"), native_out[:4], sync_out[:4], strict=True
        ):
            assert a.tolist() == b.tolist(), f"step {t}: {name}"
        assert_infos_equal(native_out[4], sync_out[4], f"step {t}")
        terminated = native_out[2]
        if mode == AutoresetMode.DISABLED and terminated.any():
            # restart the ended envs in two reset calls, as a user of DISABLED may
            for part in (
                terminated & (np.arange(NUM_ENVS) % 2 == 0),
                terminated & (np.arange(NUM_ENVS) % 2 == 1),
            ):
                if part.any():
                    native_obs, native_info = native.reset(options={"reset_mask": part})
                    sync_obs, sync_info = sync.reset(options={"reset_mask": part.copy()})
                    assert native_obs[part].tolist() == sync_obs[part].tolist()
                    assert_infos_equal(native_info, sync_info, f"reset_mask at {t}")
        ended_at_once = max(ended_at_once, int(terminated.sum()))
    assert ended_at_once >= 1


def test_disabled_mode_refuses_to_step_an_ended_env():
    envs = gym.make_vec("WMIL/PatternEcho-v0", 2, autoreset_mode="disabled")
    envs.reset(seed=0)
    _, _, terminated, _, _ = envs.step(np.zeros(2, dtype=np.int64))
    assert terminated.all()
    with pytest.raises(RuntimeError, match="reset_mask"):
        envs.step(np.zeros(2, dtype=np.int64))
    envs.reset(options={"reset_mask": np.array([True, True])})
    envs.step(np.zeros(2, dtype=np.int64))


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("next_step", AutoresetMode.NEXT_STEP),
        ("SAME_STEP", AutoresetMode.SAME_STEP),
        ("Disabled", AutoresetMode.DISABLED),
        (AutoresetMode.NEXT_STEP, AutoresetMode.NEXT_STEP),
    ],
)
def test_autoreset_mode_spellings_and_the_attribute(mode, expected):
    envs = gym.make_vec("WMIL/PatternEcho-v0", 2, autoreset_mode=mode)
    assert envs.autoreset_mode is expected and envs.metadata["autoreset_mode"] is expected
    default = gym.make_vec("WMIL/PatternEcho-v0", 2)
    assert default.autoreset_mode is AutoresetMode.SAME_STEP  # our trainer's mode
    assert type(default.unwrapped).metadata["autoreset_mode"] is AutoresetMode.SAME_STEP


def test_bad_autoreset_mode_and_reset_mask_are_clear_errors():
    with pytest.raises(ValueError, match="autoreset_mode='later' is not one of"):
        gym.make_vec("WMIL/PatternEcho-v0", 2, autoreset_mode="later")
    envs = gym.make_vec("WMIL/PatternEcho-v0", 2, autoreset_mode="disabled")
    with pytest.raises(RuntimeError, match="without a reset_mask first"):
        envs.reset(options={"reset_mask": np.array([True, False])})
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="boolean numpy array of shape"):
        envs.reset(options={"reset_mask": [True, False]})
    with pytest.raises(ValueError, match="selects no env"):
        envs.reset(options={"reset_mask": np.zeros(2, dtype=bool)})


def test_gymnasium_vector_observation_wrappers_take_next_step_envs():
    envs = gym.make_vec("WMIL/PatternEcho-v0", 3, autoreset_mode="next_step")
    one_hot = gym.wrappers.vector.FlattenObservation(envs)  # MultiDiscrete -> one-hot
    obs, _ = one_hot.reset(seed=0)
    assert obs.shape == one_hot.observation_space.shape and set(np.unique(obs)) <= {0, 1}
    with pytest.raises(ValueError, match="NEXT_STEP or DISABLED"):
        gym.wrappers.vector.FlattenObservation(gym.make_vec("WMIL/PatternEcho-v0", 3))


# --- seeds ----------------------------------------------------------------------------------


def first_questions(seed, num_envs=3):
    envs = gym.make_vec("WMIL/NumericRelation-v0", num_envs)
    return envs.reset(seed=seed)[0].tolist()


def test_seed_lists_use_every_entry():
    assert first_questions([1, 2, 3]) == first_questions(1)  # Gymnasium's s, s+1, ... rule
    assert first_questions([1, 2, 4]) == first_questions([1, 2, 4])
    assert first_questions([1, 2, 4]) != first_questions([1, 2, 5])
    assert first_questions([1, 2, 4]) != first_questions([9, 2, 4])
    assert first_questions([7], num_envs=1) == first_questions(7, num_envs=1)
    first_questions([None, None, None])  # unseeded, like seed=None


@pytest.mark.parametrize(
    "seed, error, pattern",
    [
        ([], ValueError, "got 0 seeds for 3 envs"),
        ([1, 2], ValueError, "got 2 seeds for 3 envs"),
        ([1, -2, 3], ValueError, "non-negative"),
        ([1, "a", 3], TypeError, "non-negative integer or None"),
    ],
)
def test_bad_seed_lists_are_clear_errors(seed, error, pattern):
    with pytest.raises(error, match=pattern):
        first_questions(seed)


# --- episode statistics ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("env_id", ["WMIL/PatternEcho-v0", "WMIL/NumberWalk-v0"])
def test_native_episode_statistics_match_record_episode_statistics(env_id, mode):
    """Gymnasium 1.4's wrapper on SyncVectorEnv and the native ``episode_statistics=True``
    report the same returns and lengths; ``success`` is each ended episode's success."""
    levels = [0, 1, 2, 0]
    parent = LevelReplayParent(pools(env_id, levels))
    native = gym.make_vec(env_id, 4, autoreset_mode=mode, episode_statistics=True, parent=parent)
    sync = gym.make_vec(
        env_id,
        4,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": mode},
        parent=LevelReplayParent(parent.pools),
    )
    for envs in (native, sync):
        envs.set_attr("difficulty", levels)
    sync = gym.wrappers.vector.RecordEpisodeStatistics(sync)
    native.reset()
    sync.reset()
    rng = np.random.default_rng(1)
    episodes = 0
    for _ in range(30):
        actions = np.where(rng.random(4) < 0.5, native.call("oracle"), 0)
        *_, native_info = native.step(actions)
        *_, sync_info = sync.step(actions)
        assert ("episode" in native_info) == ("episode" in sync_info)
        if "episode" not in sync_info:
            continue
        ended = sync_info["_episode"]
        assert native_info["_episode"].tolist() == ended.tolist()
        for key in ("r", "l"):
            assert (
                native_info["episode"][key][ended].tolist()
                == sync_info["episode"][key][ended].tolist()
            )
        finished = native_info["final_info"] if mode == AutoresetMode.SAME_STEP else native_info
        success = native_info["episode"]["success"]
        assert success[ended].tolist() == finished["episode_success"][ended].tolist()
        episodes += int(ended.sum())
    assert episodes >= 4
