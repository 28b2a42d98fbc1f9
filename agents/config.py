"""The training configuration: one flat dataclass (CleanRL style), its checks and its errors.

Each field's docstring is its documentation: ``python -m agents.train --help`` shows it, grouped by
the ``# --- section ---`` comments (``agents.cli`` reads both). ``config_from_dict`` builds a Config
from any mapping (a YAML file, flags, a checkpoint); an unknown key is an error that lists the valid
ones, and a bad value is an error naming the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from dataclasses import dataclass, fields
from typing import Any

import wmil_envs.tasks
from agents.algorithm import ALGORITHMS  # the registry: the allowed ``algorithm`` values
from wmil_envs.parent import parent_spec_problem

DEVICES = ("cpu", "cuda", "mps")
ACTION_HEADS = ("flat", "digits")
PLANNER_MODELS = ("learned", "rules")
# The task registry's live tables: a task registered at runtime is known here too.
TASKS = wmil_envs.tasks.TASKS  # task name -> task class
ENV_ID_OF_TASK = wmil_envs.tasks.ENV_ID_OF_TASK  # task name -> Gymnasium id
SPLIT_TASKS = wmil_envs.tasks.SPLIT_TASKS  # the tasks that take split=


class ConfigError(ValueError):
    """A bad configuration key, flag or value; the message says what is allowed."""


@dataclass
class Config:
    # --- environment ---
    task: str = "pattern_echo"
    """Task name (pattern_echo, sequence_next, conditional, numeric_relation, counting) or a
    registered env id such as WMIL/PatternEcho-v0."""
    num_actions: int | None = None
    """Action count; None uses the task's default."""
    difficulty: int = 0
    """Difficulty level of new episodes (the starting level when curriculum is on)."""
    episode_length: int | None = None
    """Steps per episode; episodes end only there. None: the task's own horizon (one step for
    the question tasks; each level's horizon for the worlds)."""
    parent: str = "deterministic"
    """deterministic, openai:MODEL, anthropic:MODEL or replay:PATH (passed to the env)."""
    max_fallback_rate: float | None = None
    """LLM parents: stop the run (after a checkpoint) once the parent has fallen back to the
    rules for more than this fraction of its answers, in [0, 1]; None = never stop (a warning
    is printed at the first fallback either way)."""
    relations: list[str] | None = None
    """numeric_relation only: the relations to ask about (None = all)."""
    split: str | None = None
    """numeric_relation / counting only: train, test, test_numbers or all (None = env default)."""
    curriculum: bool = False
    """Raise the difficulty with mastery (wmil_envs.CurriculumManager; docs/curriculum.md).
    Starts at ``difficulty``, which must be a level of the schedule."""
    curriculum_threshold: float = 0.8
    """Mastery threshold: promote when the training success rate over a full window of
    episodes at the current level is at least this; in (0, 1]. The plan: 0.8."""
    curriculum_window: int | None = None
    """Episodes in the curriculum's window; None = max(100, episodes per update), so one
    update's batch of episodes fits in it (see docs/curriculum.md)."""
    curriculum_demotion_threshold: float | None = None
    """Demote one level when the window's success rate is below this; in
    (0, curriculum_threshold). None = never demote."""
    curriculum_min_episodes: int = 0
    """Episodes to play at a level before it may change."""
    curriculum_schedule: list[int] | None = None
    """Levels to walk through in order, e.g. [0, 2, 3]; None = every level up to max."""
    curriculum_max_level: int | None = None
    """Last level; None = the top level the task's num_actions allows."""

    # --- run ---
    algorithm: str = "reinforce"
    """reinforce, ppo, planner (plans with a learned simulator, agents.planner), replay_q
    (model-free Q-learning on the planner's replay, agents.replay_q) or random (uniform
    actions, never updates)."""
    seed: int = 0
    """Seed of the envs, the model's initial weights and the sampled actions."""
    max_steps: int = 10_000
    """Total environment steps (summed over the vector envs)."""
    num_envs: int = 64
    """Environments stepped together (one native vector env)."""
    rollout_steps: int = 1
    """Vector steps per update; a multiple of the horizon (episodes end at update ends)."""
    device: str = "cpu"
    """cpu, cuda or mps (Apple GPUs); cuda and mps only where torch reports them available.
    The envs stay on the CPU; each rollout is moved to the device once, for the update (the
    replay agents keep their ring on the CPU and move each batch they draw)."""
    torch_threads: int = 1
    """torch.set_num_threads; tiny models are fastest single-threaded (0 = leave torch's)."""

    # --- model ---
    episode_memory: int = 1
    """Observations the model reads: the current one and the episode's ``episode_memory - 1``
    before it, oldest first (``wmil_envs.VectorEpisodeMemory``), so that with several tries it
    can see which answers already failed; 1 = the current observation only."""
    hidden_dim: int = 64
    """Transformer width."""
    num_layers: int = 2
    """Transformer layers."""
    num_heads: int = 4
    """Attention heads per layer; must divide hidden_dim."""
    ff_dim: int | None = None
    """Transformer feed-forward width; None = 4 * hidden_dim."""
    dropout: float = 0.0
    """Dropout in the transformer core; in [0, 1]."""
    world_model_head: bool = True
    """Predict the next observation from (state, action): an auxiliary loss."""
    simulator: bool = False
    """The world model as a simulator (agents.world_model): a small transformer of its own that
    predicts the next observation as a whole from (observation, action), then the reward from
    the predicted observation; the planner imagines with it (it needs it)."""
    value_head: bool = True
    """State-value head (PPO's critic; PPO needs it)."""
    vq_head: bool = True
    """Vector-quantise the summary token (codebook usage is logged); a probe of the summary that
    sends no gradient into the trunk unless vq_bottleneck is on."""
    vq_codes: int = 32
    """Codebook size of the VQ head."""
    vq_decay: float = 0.9
    """EMA decay of the codebook updates; in [0, 1]. Fast enough for the codes to follow a trunk
    that is still learning (each code then averages its inputs of the last ~10 batches)."""
    vq_commitment: float = 0.25
    """Weight of the VQ commitment loss (it reaches the trunk only with vq_bottleneck)."""
    vq_bottleneck: bool = False
    """Heads read the quantized summary (straight-through) instead of the continuous one, and the
    commitment loss pulls the trunk toward the codes."""
    vq_restart_after: int = 16
    """A VQ code not chosen in this many training batches restarts on the worst-fitted input."""
    action_head: str = "flat"
    """flat: one logit per action. digits: action k is the number k (at most 100 actions), chosen
    digit by digit, each answer digit a digit the question shows shifted by a learned amount
    (mod 10), so numbers never rewarded are answered the way the others were (Counting)."""
    digit_max_shift: int | None = None
    """digits head: an answer digit is a shown digit moved by at most this many steps (0..4);
    None: by any of the ten shifts."""

    # --- optimisation ---
    learning_rate: float = 2e-3
    """Adam(W) learning rate."""
    adam_eps: float = 1e-5
    """Adam epsilon."""
    weight_decay: float = 0.0
    """AdamW's decoupled weight decay; 0 = plain Adam."""
    anneal_lr: bool = False
    """Decay the learning rate linearly to 0 over max_steps."""
    max_grad_norm: float = 0.5
    """Gradient-norm clip; 0 disables."""
    entropy_coef: float = 0.01
    """Weight of the entropy bonus."""
    world_model_coef: float = 1.0
    """Weight of the world-model loss."""
    vq_coef: float = 1.0
    """Weight of the VQ loss."""
    value_coef: float = 0.5
    """Weight of the value loss."""
    gamma: float = 0.99
    """Discount factor; in [0, 1]."""

    # --- REINFORCE ---
    baseline_decay: float = 0.9
    """Running baseline: b <- decay * b + (1 - decay) * mean return."""

    # --- PPO ---
    gae_lambda: float = 0.95
    """GAE lambda; in [0, 1]."""
    clip_coef: float = 0.2
    """PPO's ratio clip."""
    clip_vloss: bool = True
    """Clip the value loss as PPO's policy loss is."""
    norm_adv: bool = True
    """Normalise advantages per minibatch."""
    update_epochs: int = 4
    """Passes over each rollout per update."""
    num_minibatches: int = 4
    """Minibatches per pass."""
    target_kl: float | None = None
    """Skip an update's remaining epochs once the approximate KL exceeds this; None = never."""

    # --- replay agents (algorithm: planner, replay_q) ---
    planner_model: str = "learned"
    """What the planner imagines with: ``learned`` (its simulator, trained from replay) or
    ``rules`` (the world's true rules, the upper bound of the same search and value learning;
    worlds only)."""
    planner_width: int = 4
    """Beam width: imagined states kept per depth (and env) in the search."""
    planner_depth: int = 4
    """Imagined steps searched ahead; the value head scores what lies beyond."""
    explore_epsilon: float = 0.1
    """The planner's and replay_q's exploration while training: a uniformly random action with
    this probability (greedy evaluation never explores); in [0, 1]."""
    replay_size: int = 50_000
    """Real transitions kept in the replay buffer (the oldest are dropped); in checkpoints."""
    replay_batch: int = 256
    """Transitions per gradient step on the replay buffer."""
    replay_rewarded_share: float = 0.25
    """Share of each replay batch drawn from the rewarded transitions (when there are any), so
    that the simulator learns the rare <correct> feedback; in [0, 1]."""
    model_updates: int = 8
    """Gradient steps on the replay buffer per update (per rollout of
    num_envs * rollout_steps env steps): the planner's simulator and value together, or
    replay_q's Q-learning."""
    value_batch: int = 32
    """Of each replay batch, how many states get a value backup through the simulator per
    gradient step (each costs num_actions imagined steps, the planner's largest cost)."""

    # --- rewards (the plan's RewardVector: goal, pred, cons) ---
    goal_weight: float = 1.0
    """Weight of the task's reward (the parent's verdict)."""
    pred_weight: float = 0.0
    """Intrinsic reward for a predictable next observation, exp(-world-model loss); 0 = off."""
    cons_weight: float = 0.0
    """Intrinsic reward when the whole next observation was predicted exactly; 0 = off."""

    # --- extras (off by default) ---
    grokfast: bool = False
    """GrokFast: amplify the slow (EMA) part of the gradient."""
    grokfast_alpha: float = 0.98
    """GrokFast's gradient EMA decay; in [0, 1)."""
    grokfast_lamb: float = 2.0
    """GrokFast's amplification of the slow gradient."""
    ema_decay: float = 0.0
    """EMA copy of the weights used for evaluation; 0 = off."""

    # --- logging, evaluation, checkpoints ---
    run_dir: str | None = None
    """Default: runs/<task>_<algorithm>_s<seed>_<time>."""
    eval_every: int = 500
    """Greedy evaluation every this many env steps (and at the end); 0 = only at the end."""
    eval_episodes: int = 512
    """Episodes per greedy evaluation."""
    stop_at_success: float | None = None
    """Stop training at the first greedy evaluation (every ``eval_every`` steps) whose success
    at the target level is at least this, in (0, 1]; summary.json's ``stopped_at_success``
    gives its step and seconds. None = run all ``max_steps``."""
    checkpoint_every: int = 5000
    """Checkpoint every this many env steps (and always at the end); 0 = only at the end."""
    keep_checkpoints: int = 2
    """Step checkpoints to keep under checkpoints/ (checkpoint.pt is always kept)."""
    success_window: int = 500
    """Training episodes in the rolling success rate."""
    log_every: int = 1
    """Write TensorBoard scalars every this many updates."""
    progress: bool = True
    """Show a tqdm progress bar."""

    # ------------------------------------------------------------------
    @property
    def env_id(self) -> str:
        return ENV_ID_OF_TASK[self.task_name]

    @property
    def task_name(self) -> str:
        if self.task in ENV_ID_OF_TASK:
            return self.task
        for name, env_id in ENV_ID_OF_TASK.items():
            if self.task in (env_id, env_id.split("/", 1)[1]):
                return name
        raise ConfigError(_choice_message("task", self.task, list(TASKS)))

    @property
    def steps_per_update(self) -> int:
        return self.num_envs * self.rollout_steps

    def env_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for gym.make / gym.make_vec (parent passed through as given)."""
        kwargs: dict[str, Any] = {
            "difficulty": self.difficulty,
            "parent": self.parent,
        }
        if self.episode_length is not None:
            kwargs["episode_length"] = self.episode_length
        if self.num_actions is not None:
            kwargs["num_actions"] = self.num_actions
        if self.relations is not None:
            kwargs["relations"] = list(self.relations)
        if self.split is not None:
            kwargs["split"] = self.split
        return kwargs

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def model_config(self):
        """The model's fields of this config, as an ``agents.model.ModelConfig``."""
        from agents.model import ModelConfig

        return ModelConfig(**{f.name: getattr(self, f.name) for f in fields(ModelConfig)})

    def horizon(self, level: int | None = None) -> int:
        """Steps per episode at ``level`` (default: ``difficulty``): ``episode_length``, or the
        task's horizon there."""
        if self.episode_length is not None:
            return self.episode_length
        task = TASKS[self.task_name]
        return task.horizon(self.difficulty if level is None else level) or 1

    def training_levels(self) -> list[int]:
        """The levels training episodes may be at: ``difficulty``, or the curriculum's."""
        if not self.curriculum:
            return [self.difficulty]
        return list(self.make_curriculum(self.task_name).schedule)

    @property
    def episodes_per_update(self) -> int:
        return self.num_envs * self.rollout_steps // self.horizon()

    def curriculum_kwargs(self) -> dict[str, Any]:
        """``CurriculumManager`` settings from the ``curriculum_*`` keys (window resolved)."""
        window = self.curriculum_window
        if window is None:
            window = max(100, self.episodes_per_update)
        schedule = self.curriculum_schedule
        return {
            "schedule": None if schedule is None else list(schedule),
            "max_level": self.curriculum_max_level,
            "mastery_threshold": self.curriculum_threshold,
            "window_size": window,
            "demotion_threshold": self.curriculum_demotion_threshold,
            "min_episodes": self.curriculum_min_episodes,
            "start_level": self.difficulty,
        }

    def make_curriculum(self, task: Any):
        """A ``CurriculumManager`` for ``task`` (the env's Task instance, or its name); a bad
        setting is a ConfigError naming the config key."""
        from wmil_envs.curriculum import CurriculumManager

        try:
            return CurriculumManager(task, **self.curriculum_kwargs())
        except (TypeError, ValueError) as error:
            text = str(error).replace("in the schedule", "in schedule")
            for arg, key in [
                ("schedule", "curriculum_schedule"),
                ("max_level", "curriculum_max_level"),
                ("start_level", "difficulty"),
            ]:
                text = re.sub(rf"\b{arg}\b", key, text)  # the manager's names -> config keys
            if "difficulty=" in text:
                text += " (with curriculum on, difficulty is the level it starts at)"
            raise ConfigError(f"bad curriculum setting: {text}") from None

    def _validate_curriculum(self) -> None:
        _need(
            0.0 < self.curriculum_threshold <= 1.0,
            f"curriculum_threshold={self.curriculum_threshold!r} (the mastery threshold) "
            "must be in (0, 1]",
        )
        _need(
            self.curriculum_window is None or self.curriculum_window >= 1,
            f"curriculum_window={self.curriculum_window!r} must be None or an integer >= 1",
        )
        demote = self.curriculum_demotion_threshold
        _need(
            demote is None or 0.0 < demote < self.curriculum_threshold,
            f"curriculum_demotion_threshold={demote!r} must be None or in "
            f"(0, curriculum_threshold={self.curriculum_threshold})",
        )
        _need(
            self.curriculum_min_episodes >= 0,
            f"curriculum_min_episodes={self.curriculum_min_episodes!r} must be an integer >= 0",
        )
        _need(
            self.curriculum_schedule is None or len(self.curriculum_schedule) > 0,
            "curriculum_schedule=[] must name at least one level (or be None for all levels)",
        )
        if self.curriculum:
            self.make_curriculum(self.task_name)  # levels exist, schedule, start level

    def validate(self) -> Config:
        """Check every value; raise ConfigError naming the value and what is allowed."""
        _check_types(self)
        task = self.task_name
        _need(
            self.algorithm in ALGORITHMS, _choice_message("algorithm", self.algorithm, ALGORITHMS)
        )
        _need(self.device in DEVICES, _choice_message("device", self.device, DEVICES))
        _need(
            self.action_head in ACTION_HEADS,
            _choice_message("action_head", self.action_head, ACTION_HEADS),
        )
        positive = [
            "max_steps", "num_envs", "rollout_steps", "episode_memory", "hidden_dim",
            "num_layers", "num_heads", "vq_codes", "update_epochs", "num_minibatches",
            "eval_episodes", "success_window", "log_every", "keep_checkpoints",
            "planner_width", "planner_depth", "replay_size", "replay_batch", "model_updates",
            "value_batch",
        ]  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            _need(value >= 1, f"{name}={value!r} must be an integer >= 1")
        for name in ["difficulty", "eval_every", "checkpoint_every", "torch_threads", "seed"]:
            value = getattr(self, name)
            _need(value >= 0, f"{name}={value!r} must be an integer >= 0")
        _need(
            self.digit_max_shift is None or 0 <= self.digit_max_shift <= 4,
            f"digit_max_shift={self.digit_max_shift!r} must be None or an integer in 0..4",
        )
        _need(
            self.ff_dim is None or self.ff_dim >= 1,
            f"ff_dim={self.ff_dim!r} must be None or an integer >= 1",
        )
        _need(
            self.hidden_dim % self.num_heads == 0,
            f"hidden_dim={self.hidden_dim} must be divisible by num_heads={self.num_heads}",
        )
        _need(
            self.episode_length is None or self.episode_length >= 1,
            f"episode_length={self.episode_length!r} must be None or an integer >= 1",
        )
        _need(
            self.learning_rate > 0 and math.isfinite(self.learning_rate),
            f"learning_rate={self.learning_rate!r} must be a finite number > 0",
        )
        unit = ["dropout", "gamma", "gae_lambda", "vq_decay", "explore_epsilon",
                "replay_rewarded_share"]  # fmt: skip
        for name in unit:
            value = getattr(self, name)
            _need(0.0 <= value <= 1.0, f"{name}={value!r} must be in [0, 1]")
        for name in ["baseline_decay", "ema_decay", "grokfast_alpha"]:
            value = getattr(self, name)
            _need(0.0 <= value < 1.0, f"{name}={value!r} must be in [0, 1)")
        nonnegative = [
            "adam_eps", "weight_decay", "max_grad_norm", "entropy_coef", "world_model_coef",
            "vq_coef", "value_coef", "vq_commitment", "clip_coef", "goal_weight", "pred_weight",
            "cons_weight", "grokfast_lamb",
        ]  # fmt: skip
        for name in nonnegative:
            value = getattr(self, name)
            _need(
                value >= 0 and math.isfinite(value),
                f"{name}={value!r} must be a finite number >= 0",
            )
        _need(
            self.stop_at_success is None or 0.0 < self.stop_at_success <= 1.0,
            f"stop_at_success={self.stop_at_success!r} must be None or in (0, 1]",
        )
        _need(
            self.stop_at_success is None or self.eval_every > 0,
            "stop_at_success is checked at the greedy evaluations: it needs eval_every > 0",
        )
        _need(
            self.target_kl is None or self.target_kl > 0,
            f"target_kl={self.target_kl!r} must be None or > 0",
        )
        if self.algorithm == "ppo":
            _need(self.value_head, "algorithm='ppo' needs value_head=true (GAE uses the values)")
            _need(
                self.steps_per_update >= self.num_minibatches,
                f"num_minibatches={self.num_minibatches} is more than the "
                f"{self.steps_per_update} samples per update (num_envs * rollout_steps)",
            )
        _need(
            self.planner_model in PLANNER_MODELS,
            _choice_message("planner_model", self.planner_model, PLANNER_MODELS),
        )
        if self.algorithm == "planner":
            _need(
                self.simulator or self.planner_model == "rules",
                "algorithm='planner' needs simulator=true (it plans with it), or "
                "planner_model='rules'",
            )
            _need(self.value_head, "algorithm='planner' needs value_head=true (leaf values)")
            if self.planner_model == "rules":
                _need(
                    TASKS[task].has_dynamics and self.episode_memory <= 1,
                    "planner_model='rules' steps a world's observations by its rules: it needs "
                    "a world (number_walk, object_edit) and episode_memory <= 1",
                )
        if self.algorithm == "replay_q":
            _need(
                self.action_head == "flat",
                "algorithm='replay_q' reads Q-values from the flat action head "
                "(action_head='flat')",
            )
        _need(
            not (self.pred_weight or self.cons_weight) or self.world_model_head,
            "pred_weight / cons_weight (intrinsic prediction rewards) need world_model_head=true",
        )
        _need(not self.vq_bottleneck or self.vq_head, "vq_bottleneck=true needs vq_head=true")
        if task not in SPLIT_TASKS:
            _need(self.split is None, f"split is only for {', '.join(SPLIT_TASKS)}, not {task}")
        if "relations" not in TASKS[task].option_names():
            takes = [name for name, cls in TASKS.items() if "relations" in cls.option_names()]
            _need(self.relations is None, f"relations is only for {', '.join(takes)}, not {task}")
        self._validate_curriculum()
        _check_ranges(self)  # after the specific checks above, whose messages say more
        for level in self.training_levels():
            horizon = self.horizon(level)
            what = (
                f"episode_length={horizon}"
                if self.episode_length is not None
                else f"the horizon {horizon} of {task} level {level}"
            )
            _need(
                self.rollout_steps % horizon == 0,
                f"rollout_steps={self.rollout_steps} must be a multiple of {what} (updates "
                "happen at episode ends)",
            )
        _need(
            isinstance(self.parent, str) and parent_spec_problem(self.parent) is None,
            f"parent={self.parent!r}: {parent_spec_problem(str(self.parent))}",
        )
        return self


# ----------------------------------------------------------------------------------------------
# Types and coercion (shared by YAML files, flags and checkpoints)


INT_LIST = list[int]
"""The kind of list-of-integer fields (``curriculum_schedule``), told apart from ``list``."""


def _field_types() -> dict[str, tuple[type, bool]]:
    """field name -> (base type, optional); from the annotations (strings, PEP 604)."""
    out = {}
    for f in fields(Config):
        text = str(f.type).replace(" ", "")
        optional = text.endswith("|None")
        base = text.removesuffix("|None")
        kind = {"int": int, "float": float, "bool": bool, "str": str, "list[str]": list,
                "list[int]": INT_LIST}[base]  # fmt: skip
        out[f.name] = (kind, optional)
    return out


FIELD_TYPES = _field_types()
FIELD_NAMES = tuple(FIELD_TYPES)


# ----------------------------------------------------------------------------------------------
# Sane ranges: beyond them a run exhausts memory or never ends (``--help`` shows them)

RANGES: dict[str, tuple[float, float]] = {
    # environment
    "num_actions": (2, 100_000), "difficulty": (0, 1_000), "episode_length": (1, 10_000),
    "max_fallback_rate": (0.0, 1.0), "curriculum_window": (1, 10_000_000),
    "curriculum_min_episodes": (0, 10**9), "curriculum_max_level": (0, 1_000),
    # run
    "seed": (0, 2**32 - 1), "max_steps": (1, 10**12), "num_envs": (1, 65_536),
    "rollout_steps": (1, 100_000), "torch_threads": (0, 1_024),
    # model
    "hidden_dim": (1, 8_192), "num_layers": (1, 128), "num_heads": (1, 1_024),
    "ff_dim": (1, 65_536), "vq_codes": (1, 65_536), "vq_commitment": (0.0, 1e6),
    "vq_restart_after": (1, 10**9),
    "episode_memory": (1, 256),
    # planner
    "planner_width": (1, 4_096), "planner_depth": (1, 256), "replay_size": (1, 10**8),
    "replay_batch": (1, 1_000_000), "model_updates": (1, 10_000),
    "value_batch": (1, 1_000_000),
    # optimisation
    "learning_rate": (0.0, 10.0), "adam_eps": (0.0, 1.0), "weight_decay": (0.0, 1e3),
    "max_grad_norm": (0.0, 1e6), "entropy_coef": (0.0, 1e6), "world_model_coef": (0.0, 1e6),
    "vq_coef": (0.0, 1e6), "value_coef": (0.0, 1e6), "clip_coef": (0.0, 1e6),
    "update_epochs": (1, 1_000), "num_minibatches": (1, 1_000_000), "target_kl": (0.0, 1e6),
    "goal_weight": (0.0, 1e6), "pred_weight": (0.0, 1e6), "cons_weight": (0.0, 1e6),
    "grokfast_lamb": (0.0, 1e6),
    # logging, evaluation, checkpoints
    "eval_every": (0, 10**12), "eval_episodes": (1, 1_000_000), "checkpoint_every": (0, 10**12),
    "keep_checkpoints": (1, 1_000), "success_window": (1, 10_000_000), "log_every": (1, 10**9),
}  # fmt: skip
"""key -> (lowest, highest) allowed value; keys in [0, 1] and the like are checked in
``Config.validate`` directly."""

MAX_PARAMETERS = 200_000_000
"""The largest model ``validate`` accepts (about 3 GB with Adam's state, in float32)."""


def _check_ranges(cfg: Config) -> None:
    for name, (low, high) in RANGES.items():
        value = getattr(cfg, name)
        if value is not None and not (low <= value <= high and math.isfinite(value)):
            raise ConfigError(
                f"{name}={value!r} is outside its allowed range {low:,}..{high:,} (beyond it "
                "a run exhausts memory, never ends or diverges; see --help)"
            )
    h, ff = cfg.hidden_dim, cfg.ff_dim or 4 * cfg.hidden_dim
    estimate = cfg.num_layers * (4 * h * h + 2 * h * ff) + cfg.vq_codes * h
    _need(
        estimate <= MAX_PARAMETERS,
        f"the model would have about {estimate:,} parameters (hidden_dim={h}, ff_dim={ff}, "
        f"num_layers={cfg.num_layers}, vq_codes={cfg.vq_codes}), more than the "
        f"{MAX_PARAMETERS:,} this trainer allows; make it smaller",
    )


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _choice_message(name: str, value: Any, allowed: Any) -> str:
    return f"{name}={value!r} is not allowed; choose one of: {', '.join(map(str, allowed))}"


def unknown_message(kind: str, names: list[str], valid: list[str]) -> str:
    """The error for unknown names: each with its closest valid one ("did you mean"), then all."""
    parts = []
    for name in names:
        close = difflib.get_close_matches(name, valid, n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"unknown {kind} {', '.join(parts)}; valid {kind}s are: {', '.join(valid)}"


def coerce(name: str, value: Any) -> Any:
    """A YAML or flag value converted to the field's type, or a ConfigError."""
    kind, optional = FIELD_TYPES[name]
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
        if optional:
            return None
        raise ConfigError(f"{name}=None is not allowed; give a {kind.__name__}")
    allowed = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
               list: "a list of strings (comma-separated on the command line)",
               INT_LIST: "a list of integers (comma-separated on the command line)",
               }[kind]  # fmt: skip
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("false", "no", "0", "off"):
                return False
            raise ValueError
        if kind is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                return int(value)
            return int(str(value).replace("_", ""))
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind is str:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError
            return str(value)
        if kind is INT_LIST:
            items = value
            if isinstance(value, str):
                items = [v.strip() for v in value.strip("[]").split(",") if v.strip()]
            if not isinstance(items, (list, tuple)):
                raise ValueError
            out = []
            for v in items:
                if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
                    raise ValueError
                out.append(int(v))
            return out
        if kind is list:
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ValueError
            return list(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r} is not valid; expected {allowed}") from None
    raise AssertionError(kind)


def config_from_dict(values: dict[str, Any], base: Config | None = None) -> Config:
    """``base`` (or the defaults) updated with ``values``; unknown keys are an error."""
    if not isinstance(values, dict):
        raise ConfigError(
            f"a config must be a mapping of keys to values, got {type(values).__name__}"
        )
    unknown = [k for k in values if k not in FIELD_TYPES]
    if unknown:
        raise ConfigError(unknown_message("config key", unknown, list(FIELD_NAMES)))
    cfg = dataclasses.replace(base) if base is not None else Config()
    for key, value in values.items():
        setattr(cfg, key, coerce(key, value))
    return cfg


def _check_types(cfg: Config) -> None:
    for name in FIELD_NAMES:
        setattr(cfg, name, coerce(name, getattr(cfg, name)))


__all__ = [
    "ACTION_HEADS",
    "RANGES",
    "ALGORITHMS",
    "Config",
    "ConfigError",
    "FIELD_NAMES",
    "FIELD_TYPES",
    "INT_LIST",
    "coerce",
    "config_from_dict",
    "unknown_message",
]
