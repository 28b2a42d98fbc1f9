"""The registered environments: one single env and one native vector env per task.

Each class's docstring is its documentation, in Gymnasium's sections.
"""

from __future__ import annotations

from wmil_envs.env import WMILEnv
from wmil_envs.tasks import Conditional, Counting, NumericRelation, PatternEcho, SequenceNext
from wmil_envs.vector_env import WMILVectorEnv

_COMMON = """
    ## Observation Space
    ``MultiDiscrete([VOCAB_SIZE] * obs_len)``: tokens of the shared vocabulary
    (``wmil_envs.vocab``): ``[task, question..., last action, feedback]``. Before the first step
    the last two are ``<none>``; after it, the symbol of the action taken and ``<correct>`` or
    ``<wrong>``.

    ## Rewards
    1.0 for the correct action, else 0.0 (as judged by the parent). ``info`` has ``success``,
    ``episode_success``, ``step``, ``difficulty`` and the reward component ``reward_goal``.

    ## Starting State
    A question drawn by the parent at the current ``difficulty``: the only random part.

    ## Transition
    The question stays; the last action and its feedback are shown. Deterministic given the
    state and action, so a world model can learn it exactly.

    ## Episode End
    Only at the horizon: after ``episode_length`` steps (default 1), ``terminated=True``.
    Success never ends an episode.

    ## Arguments
    ``num_actions``, ``difficulty`` (settable between episodes, e.g. by a curriculum),
    ``episode_length``, ``parent`` (``None``/"deterministic", a Parent, or an LLM parent name
    such as ``"openai:MODEL"`` with the ``llm`` extra), ``render_mode`` (``"ansi"``).

    ## Version History
    - v0: initial release.
"""


def _document(cls, text: str):
    cls.__doc__ = text + _COMMON
    return cls


class PatternEchoEnv(WMILEnv):
    task_class = PatternEcho


class PatternEchoVectorEnv(WMILVectorEnv):
    task_class = PatternEcho


class SequenceNextEnv(WMILEnv):
    task_class = SequenceNext


class SequenceNextVectorEnv(WMILVectorEnv):
    task_class = SequenceNext


class ConditionalEnv(WMILEnv):
    task_class = Conditional


class ConditionalVectorEnv(WMILVectorEnv):
    task_class = Conditional


class NumericRelationEnv(WMILEnv):
    task_class = NumericRelation


class NumericRelationVectorEnv(WMILVectorEnv):
    task_class = NumericRelation


class CountingEnv(WMILEnv):
    task_class = Counting


class CountingVectorEnv(WMILVectorEnv):
    task_class = Counting


_DESCRIPTIONS = {
    PatternEcho: """Answer with the action whose symbol is shown.

    ## Description
    The simplest goal-directed task: the observation shows a target symbol ``t`` and the
    correct action is ``t``. Actions are arbitrary symbols whose meaning must be learned.

    ## Action Space
    ``Discrete(num_actions)``, default 16 (at least 4).

    ## Difficulty
    Level 0, 1, 2: the target is one of the first 1/4, 1/2, all of the ``num_actions`` symbols.
""",
    SequenceNext: """Answer with the next number of a pattern.

    ## Description
    The observation shows 2 to 4 elements of a pattern as symbols; the correct action is the
    next element. Every element and the answer lie in ``0..num_actions-1``.

    ## Action Space
    ``Discrete(num_actions)``, default 16 (level 3 and 4 need 13).

    ## Difficulty
    0: two elements, +1. 1: three elements, +1. 2: three elements, step 1..3. 3: four elements,
    step -3..3 (not 0). 4: four elements; arithmetic, alternating (a, b, a, b) or growing
    (s, s+1, s+3, s+6).
""",
    Conditional: """Answer by nested rules over an object's shape, colour, size and texture.

    ## Description
    All four attributes are always shown. One rule holds at every level: the shape gives 0..3
    (circle, square, triangle, star), counted backwards if striped; add 4 if red, except that
    large objects add 4 if *not* red; add 8 if large.

    ## Action Space
    ``Discrete(num_actions)``, default 16 (levels 2 and 3 need 16).

    ## Difficulty
    Levels add the attributes that vary; the others stay small, plain and not red, where the
    rule ignores them, so each level is a slice of the next. 0: the shape varies (one
    condition). 1: and the colour. 2: and the size. 3: and the texture.
""",
    NumericRelation: """Yes/no questions "is R(a, b)?" over whole numbers.

    ## Description
    Relations: successor (a = b + 1), predecessor (a = b - 1), add_2 (a = b + 2), same_parity,
    same_tens, same_ones, makes_ten (the ones of a and b add to ten), greater (a > b), smaller
    (a < b). Numbers are shown as digit tokens (tens, ones). Answers are yes about half the
    time; some no-answers are near misses. ``relations=`` picks a subset; ``split=`` one of
    ``train`` (default), ``test`` (held-out pairs), ``test_numbers`` (held-out numbers), ``all``
    (see ``wmil_envs.tasks.splits``).

    ## Action Space
    ``Discrete(num_actions)``, default 2: action 0 is no, 1 is yes; any other action is wrong.

    ## Difficulty
    0: numbers 0..19, no near misses. 1: numbers 0..99, no near misses. 2: numbers 0..99, half
    of the no-answers are near misses.
""",
    Counting: """What comes after n, before n, or between n and n + 2.

    ## Description
    Numbers 0..99 shown as digit tokens; the answer is a number given as the action. ``split=``
    as for NumericRelation, over (question kind, n) keys and the numbers shown or answered.

    ## Action Space
    ``Discrete(num_actions)``, default 100: action k answers the number k.

    ## Difficulty
    0: after. 1: after or before. 2: after, before or between.
""",
}

for _cls in (
    PatternEchoEnv,
    SequenceNextEnv,
    ConditionalEnv,
    NumericRelationEnv,
    CountingEnv,
    PatternEchoVectorEnv,
    SequenceNextVectorEnv,
    ConditionalVectorEnv,
    NumericRelationVectorEnv,
    CountingVectorEnv,
):
    _document(_cls, _DESCRIPTIONS[_cls.task_class])
