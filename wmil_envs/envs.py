"""The registered environments: one single env and one native vector env per task.

The classes are built from the task registry (``wmil_envs.tasks``), one pair per task, named
``<TaskClass>Env`` and ``<TaskClass>VectorEnv`` and living in this module (so pickling,
``help(wmil_envs.envs.PatternEchoEnv)`` and ``"wmil_envs.envs:PatternEchoEnv"`` entry points
work). Each docstring is the task's ``env_doc`` followed by the sections every env shares.
"""

from __future__ import annotations

from wmil_envs.single_env import WMILEnv
from wmil_envs.tasks import TASKS, Task
from wmil_envs.vector_env import WMILVectorEnv

_COMMON = """
    ## Observation Space
    ``MultiDiscrete([vocab_size] * obs_len)``: tokens of the shared vocabulary
    (``wmil_envs.vocab``): ``[task, question..., last action, feedback]``. Before the first step
    the last two are ``<none>``; after it, the symbol of the action taken and ``<correct>`` or
    ``<wrong>``.

    ## Rewards
    1.0 for the correct action, else 0.0 (as judged by the parent). ``info`` has ``success``,
    ``episode_success``, ``steps_to_goal``, ``step``, ``difficulty`` and the reward component
    ``reward_goal``.

    ## Starting State
    A question drawn by the parent at the current ``difficulty``: the only random part.

    ## Transition
    The question stays; the last action and its feedback are shown. Deterministic given the
    state and action, so a world model can learn it exactly.

    ## Episode End
    Only at the horizon: after ``episode_length`` steps (default 1), ``terminated=True``.
    Success never ends an episode. With several steps the question stays: answer, see the
    feedback, answer again; ``info["steps_to_goal"]`` is the try that first succeeded (0
    before).

    ## Arguments
    ``num_actions``, ``difficulty`` (settable between episodes, e.g. by a curriculum),
    ``episode_length``, ``parent`` (``None``/"deterministic", a Parent, or an LLM parent name
    such as ``"openai:MODEL"`` with the ``llm`` extra), ``render_mode`` (``"ansi"``).

    ## Version History
    - v0: initial release.
"""


_WORLD_COMMON = """
    ## Observation Space
    ``MultiDiscrete([vocab_size] * obs_len)``: tokens of the shared vocabulary
    (``wmil_envs.vocab``): ``[task, object..., target..., last action, feedback]``. Before the
    first step the last two are ``<none>``; after it, the symbol of the action taken and
    ``<correct>`` (this step reached the target), ``<held>`` (the target was reached on an
    earlier step) or ``<wrong>`` (the target is not reached).

    ## Rewards
    1.0 on the step that reaches the target, else 0.0 (held steps included), as judged by the
    parent: an episode's return is 1 exactly when it succeeds. ``info`` has ``success`` (this
    step reached the target), ``episode_success``, ``steps_to_goal`` (the step that reached
    it; 0 before), ``optimal_steps`` (the shortest path from the start, by breadth-first search
    over the rules), ``step``, ``difficulty`` and the reward component ``reward_goal``.

    ## Starting State
    A start and a target object drawn by the parent from the level's pairs in ``split``: the
    only random part.

    ## Transition
    The action changes the object by the rules; once the target is reached the object is held
    there until the horizon. Deterministic given the state and action, so a world model can
    learn it exactly.

    ## Episode End
    Only at the horizon: the level's ``horizon`` steps (or ``episode_length`` when given),
    ``terminated=True``. Reaching the target never ends an episode.

    ## Arguments
    ``num_actions``, ``difficulty`` (settable between episodes, e.g. by a curriculum),
    ``split`` (``train``, ``test``, ``all``), ``episode_length`` (default: the level's horizon),
    ``parent`` (``None``/"deterministic", a Parent, or an LLM parent name such as
    ``"openai:MODEL"`` with the ``llm`` extra), ``render_mode`` (``"ansi"``).

    ## Version History
    - v0: initial release.
"""


def env_classes(task_class: type[Task]) -> tuple[type[WMILEnv], type[WMILVectorEnv]]:
    """The single and vector env classes of ``task_class``, built once and kept here."""
    made = []
    for base, suffix in ((WMILEnv, "Env"), (WMILVectorEnv, "VectorEnv")):
        name = f"{task_class.__name__}{suffix}"
        existing = globals().get(name)
        if existing is None:
            existing = type(
                name,
                (base,),
                {
                    "task_class": task_class,
                    "__doc__": task_class.env_doc
                    + (_WORLD_COMMON if task_class.has_dynamics else _COMMON),
                    "__module__": __name__,
                    "__qualname__": name,
                },
            )
            globals()[name] = existing
        elif getattr(existing, "task_class", None) is not task_class:
            raise ValueError(f"wmil_envs.envs.{name} already exists for another task")
        made.append(existing)
    return made[0], made[1]


for _task in TASKS.values():
    env_classes(_task)
